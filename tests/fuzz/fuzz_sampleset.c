/* fuzz_sampleset.c - libFuzzer target for the readers of user files and the scoring behind
 * them: any bytes, read as a sample set, a dataset, a calibration file or scored items, must
 * give either a clean error message or data that every estimator scores without a crash, a
 * leak or undefined behaviour (ASan + UBSan).
 * Built with clang -fsanitize=fuzzer by tests/CMakeLists.txt; run briefly by ctest. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/scores_json.h"
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
    struct umpire_dataset ds;
    if (umpire_dataset_read(path, &ds, err) == 0)
        umpire_dataset_free(&ds);
    if (umpire_dataset_read_grouped(path, "bucket", &ds, err) == 0)
        umpire_dataset_free(&ds);
    else if (!err[0])
        abort();
    struct umpire_calibration cal;
    if (umpire_calibration_load(path, &cal, err) == 0) {
        (void)umpire_calibration_apply(&cal, 0.5);
        umpire_calibration_free(&cal);
    } else if (!err[0]) {
        abort();
    }
    struct umpire_scored_file sf;
    if (umpire_scored_read(path, &sf, err) == 0)
        umpire_scored_free(&sf);
    else if (!err[0])
        abort();
    struct umpire_sampleset set;
    if (umpire_sampleset_read(path, &set, err) != 0) {
        if (!memchr(err, '\0', sizeof err) || err[0] == '\0')
            abort(); /* every failure must come with a message */
        return 0;
    }
    struct umpire_score_params p = umpire_score_default_params();
    struct umpire_scores s;
    if (umpire_score_set(&set, &p, &s, err) == 0) {
        /* alpha is undefined only when no dev item has a semantic volume */
        int iv = umpire_estimator_index("semantic_volume");
        size_t finite = 0;
        for (size_t j = 0; j < s.n_dev; j++)
            finite += isfinite(s.scores[s.dev_idx[j] * s.n_estimators + (size_t)iv]) != 0;
        if (isnan(s.alpha) != (finite == 0))
            abort();
        umpire_scores_free(&s);
    }
    umpire_sampleset_free(&set);
    return 0;
}
