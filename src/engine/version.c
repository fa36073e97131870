/* version.c - what umpire is, and which llama.cpp / ggml it was built against. */
#include "umpire.h"

#include <ggml.h>

const char *umpire_version(void) { return UMPIRE_VERSION_STRING; }

const char *umpire_llama_tag(void) { return UMPIRE_LLAMA_TAG; }

const char *umpire_ggml_version(void) { return ggml_version(); }
