/* info.c - `umpire info`: describe a GGUF model and its projector. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "umpire.h"

static void usage(FILE *f) {
    fprintf(f, "usage: umpire info -m MODEL.gguf [--mmproj PROJECTOR.gguf] [--verbose]\n\n"
               "Load a model (and projector) with llama.cpp and describe it: architecture, size,\n"
               "embedding width, chat template, and which media the projector reads.\n\n"
               "example:\n"
               "  umpire info -m llava-v1.5-7b.Q4_K_M.gguf --mmproj mmproj-model-f16.gguf\n");
}

int cmd_info(int argc, char **argv) {
    const char *model = NULL, *mmproj = NULL;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"mmproj", required_argument, 0, 'p'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': mmproj = optarg; break;
        case 'v': umpire_set_llama_log(UMPIRE_LLAMA_LOG_STDERR); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!model || optind != argc) {
        fprintf(stderr, "umpire info: %s\n", model ? "unexpected argument" : "-m MODEL is required");
        usage(stderr);
        return 2;
    }
    struct umpire_model_info info;
    char err[UMPIRE_ERR_LEN];
    if (umpire_model_info(model, mmproj, &info, err) != 0) {
        fprintf(stderr, "umpire info: %s\n", err);
        return 1;
    }
    printf("model          %s\n", model);
    printf("description    %s\n", info.description);
    printf("architecture   %s\n", info.architecture);
    printf("parameters     %.2fM (%.1f MiB)\n", info.n_params / 1e6, info.size_bytes / 1048576.0);
    printf("layers         %d\n", info.n_layer);
    printf("embedding      %d (the width of UMPIRE's phi)\n", info.n_embd);
    printf("vocabulary     %d tokens\n", info.n_vocab);
    printf("context        %d tokens (training)\n", info.n_ctx_train);
    printf("chat template  %s\n", info.has_chat_template ? "yes" : "no (a plain prompt is used)");
    if (mmproj)
        printf("projector      %s: %s%s%s\n", mmproj, info.vision ? "images" : "",
               info.vision && info.audio ? " and " : "", info.audio ? "audio" : "");
    return 0;
}
