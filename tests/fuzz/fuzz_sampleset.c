/* fuzz_sampleset.c - libFuzzer target for the sample-set reader and the scoring behind it:
 * any bytes must give either a clean error message or a sample set that every estimator
 * scores without a crash, a leak or undefined behaviour (ASan + UBSan).
 * Built with clang -fsanitize=fuzzer by tests/CMakeLists.txt; run briefly by ctest. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umpire.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/umpire-fuzz-%ld.jsonl", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char err[UMPIRE_ERR_LEN];
    struct umpire_sampleset set;
    if (umpire_sampleset_read(path, &set, err) != 0) {
        if (!memchr(err, '\0', sizeof err) || err[0] == '\0')
            abort(); /* every failure must come with a message */
        return 0;
    }
    struct umpire_score_params p = umpire_score_default_params();
    struct umpire_scores s;
    if (umpire_score_set(&set, &p, &s, err) == 0) {
        if (isnan(s.alpha))
            abort();
        umpire_scores_free(&s);
    }
    umpire_sampleset_free(&set);
    return 0;
}
