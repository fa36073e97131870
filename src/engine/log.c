/* log.c - route llama.cpp's and libmtmd's log lines: silent by default (the library never
 * prints), the first error line since the last clear kept so that a failed load can say
 * why (the lines after it are its consequences: "failed to load model"). */
#include "engine/log.h"

#include <stdio.h>
#include <string.h>

#include <llama.h>
#include <mtmd-helper.h>

static char last_error[UMPIRE_ERR_LEN];
static int verbose;

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

void umpire_log_install(void) {
    llama_log_set(sink, NULL);
    mtmd_helper_log_set(sink, NULL);
}

void umpire_set_verbose(int on) {
    verbose = on;
    umpire_log_install();
}

const char *umpire_log_last_error(void) { return last_error[0] ? last_error : "no details"; }

void umpire_log_clear(void) { last_error[0] = '\0'; }
