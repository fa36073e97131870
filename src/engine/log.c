/* log.c - llama.cpp's and libmtmd's log lines. By default umpire leaves their callback as the
 * host set it; asked to (umpire_set_llama_log), it installs its own, which keeps the first error
 * line since the last clear so that a failed load can say why (the lines after it are its
 * consequences: "failed to load model"), and prints nothing, or everything to stderr. */
#include "engine/log.h"

#include <stdio.h>
#include <string.h>

#include <llama.h>
#include <mtmd-helper.h>

static char last_error[UMPIRE_ERR_LEN];
static int verbose, installed;
static ggml_log_callback host_cb; /* what the host had before umpire installed its own */
static void *host_data;

static void sink(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (verbose)
        fputs(text, stderr);
    if (level == GGML_LOG_LEVEL_ERROR && !last_error[0]) {
        snprintf(last_error, sizeof last_error, "%s", text);
        size_t n = strlen(last_error);
        while (n && (last_error[n - 1] == '\n' || last_error[n - 1] == ' '))
            last_error[--n] = '\0';
    }
}

void umpire_set_llama_log(enum umpire_llama_log mode) {
    if (mode == UMPIRE_LLAMA_LOG_HOST) {
        if (installed) {
            llama_log_set(host_cb, host_data);
            mtmd_helper_log_set(NULL, NULL); /* libmtmd's own default */
            installed = 0;
        }
        return;
    }
    verbose = mode == UMPIRE_LLAMA_LOG_STDERR;
    if (!installed) {
        llama_log_get(&host_cb, &host_data);
        llama_log_set(sink, NULL);
        mtmd_helper_log_set(sink, NULL);
        installed = 1;
    }
}

const char *umpire_log_last_error(void) { return last_error[0] ? last_error : "no details"; }

void umpire_log_clear(void) { last_error[0] = '\0'; }
