/* fuzz_calibration.c - libFuzzer target for the calibration-file reader: any bytes must give
 * either a clean error message or a calibration that maps every score to NaN or a probability
 * in [0, 1], is non-decreasing for the monotone maps, and survives a save and a load unchanged;
 * never a crash, a leak or undefined behaviour (an out-of-range float -> integer conversion
 * included).
 * Built with clang -fsanitize=fuzzer by tests/CMakeLists.txt; run briefly by ctest. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umpire.h"

static char path[64], copy[64];

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/umpire-fuzz-cal-%ld.json", (long)getpid());
        snprintf(copy, sizeof copy, "/tmp/umpire-fuzz-cal-%ld-copy.json", (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char err[UMPIRE_ERR_LEN] = "";
    struct umpire_calibration cal, again;
    if (umpire_calibration_load(path, &cal, err) != 0) {
        if (!err[0])
            abort();
        return 0;
    }
    const double probes[] = {-INFINITY, -1e300, -1, 0,     1e-300,   0.25,
                             0.5,       1,      3,  1e300, INFINITY, NAN};
    const size_t n_probes = sizeof probes / sizeof *probes;
    double p[sizeof probes / sizeof *probes];
    for (size_t i = 0; i < n_probes; i++) {
        p[i] = umpire_calibration_apply(&cal, probes[i]);
        if (!isnan(p[i]) && !(p[i] >= 0 && p[i] <= 1))
            abort();
    }
    int monotone = cal.method == UMPIRE_CAL_ISOTONIC || cal.method == UMPIRE_CAL_MINMAX ||
                   (cal.method == UMPIRE_CAL_PLATT && cal.a >= 0);
    for (size_t i = 1; monotone && i + 1 < n_probes; i++)
        if (!isnan(p[i - 1]) && !isnan(p[i]) && p[i] < p[i - 1])
            abort();
    if (umpire_calibration_save(copy, &cal, err) != 0) {
        if (!err[0])
            abort();
    } else {
        if (umpire_calibration_load(copy, &again, err) != 0) {
            fprintf(stderr, "saved, but does not load back: %s\n", err);
            abort();
        }
        if (again.method != cal.method || strcmp(again.estimator, cal.estimator) ||
            again.n != cal.n || again.n_points != cal.n_points ||
            !same(again.threshold, cal.threshold) || again.n_answered != cal.n_answered)
            abort();
        for (size_t i = 0; i < n_probes; i++)
            if (!same(umpire_calibration_apply(&again, probes[i]), p[i]))
                abort();
        umpire_calibration_free(&again);
    }
    unlink(copy);
    umpire_calibration_free(&cal);
    return 0;
}
