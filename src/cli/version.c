/* version.c - `umpire version` / `umpire --version`. */
#include <stdio.h>

#include "cli/cli.h"
#include "umpire.h"

int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("umpire %s\nllama.cpp %s\nggml %s\n", umpire_version(), umpire_llama_tag(),
           umpire_ggml_version());
    return 0;
}
