/* test_image_noise.c - umpire_image_add_noise (core/image_noise.h): nothing at sigma 0, the
 * same draws for the same seed and others for another, clamping, and the noise's moments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/image_noise.h"

#define N 200000

static void test_sigma_zero_is_identity(void **state) {
    (void)state;
    uint8_t a[256], b[256];
    for (int i = 0; i < 256; i++)
        a[i] = b[i] = (uint8_t)i;
    umpire_image_add_noise(a, 256, 0.0, 1);
    umpire_image_add_noise(a, 256, -1.0, 1);
    assert_memory_equal(a, b, 256);
}

static void test_seeded(void **state) {
    (void)state;
    uint8_t *a = malloc(N), *b = malloc(N), *c = malloc(N);
    memset(a, 128, N);
    memset(b, 128, N);
    memset(c, 128, N);
    umpire_image_add_noise(a, N, 0.1, 42);
    umpire_image_add_noise(b, N, 0.1, 42);
    umpire_image_add_noise(c, N, 0.1, 43);
    assert_memory_equal(a, b, N);
    assert_true(memcmp(a, c, N) != 0);
    /* mid-grey + N(0, 25.5^2): mean 128 and standard deviation 25.5 (no clamping 5 sigmas away;
     * rounding adds 1/12 to the variance), to sampling error (about 0.06 and 0.04 here) */
    double s = 0, s2 = 0;
    for (size_t i = 0; i < N; i++) {
        s += a[i];
        s2 += (double)a[i] * a[i];
    }
    const double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    assert_true(fabs(mean - 128.0) < 0.3);
    assert_true(fabs(sd - sqrt(25.5 * 25.5 + 1.0 / 12)) < 0.2);
    free(a);
    free(b);
    free(c);
}

/* black and white pixels with large noise: clamped to [0, 255], about half of them moved */
static void test_clamped(void **state) {
    (void)state;
    uint8_t *a = malloc(N);
    for (size_t i = 0; i < N; i++)
        a[i] = i % 2 ? 255 : 0;
    umpire_image_add_noise(a, N, 2.0, 7);
    size_t at_zero = 0, at_max = 0;
    for (size_t i = 0; i < N; i++) {
        at_zero += a[i] == 0;
        at_max += a[i] == 255;
    }
    /* P(clamped) per pixel: P(noise pushes past its own bound) = 1/2, plus P(past the other) ~ 0.4 */
    assert_true(at_zero > N / 4 && at_max > N / 4);
    assert_true(at_zero + at_max < N);
    free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigma_zero_is_identity),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
