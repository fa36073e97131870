#define _POSIX_C_SOURCE 200809L /* mkstemp, close */
/* test_calibration.c - calibration maps, risk control and temperature scaling against
 * hand-worked values, closed forms and first-order optimality conditions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "umpire.h"

#define CLOSE(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void test_isotonic_pav(void **state) {
    (void)state;
    /* 0 1 0 1 1 0: pool (1, 0) -> .5 .5; then 1 1 0 -> 2/3 (it violates .5 < 1 -> pooled) */
    double s[] = {1, 2, 3, 4, 5, 6};
    int w[] = {0, 1, 0, 1, 1, 0};
    struct umpire_calibration c;
    assert_int_equal(umpire_calibration_fit(s, w, 6, UMPIRE_CAL_ISOTONIC, 0, &c, NULL), 0);
    double want[] = {0, .5, .5, 2.0 / 3, 2.0 / 3, 2.0 / 3};
    assert_int_equal(c.n_points, 6);
    for (int i = 0; i < 6; i++)
        CLOSE(c.y[i], want[i], 1e-12);
    CLOSE(umpire_calibration_apply(&c, 2.5), 0.5, 1e-12);
    CLOSE(umpire_calibration_apply(&c, 3.5), (0.5 + 2.0 / 3) / 2, 1e-12); /* linear between */
    CLOSE(umpire_calibration_apply(&c, -10), 0.0, 0);                      /* clipped */
    CLOSE(umpire_calibration_apply(&c, 10), 2.0 / 3, 1e-12);
    assert_true(isnan(umpire_calibration_apply(&c, NAN)));
    umpire_calibration_free(&c);
    /* tied scores are one point with their error rate */
    double t[] = {1, 1, 2};
    int tw[] = {1, 0, 1};
    assert_int_equal(umpire_calibration_fit(t, tw, 3, UMPIRE_CAL_ISOTONIC, 0, &c, NULL), 0);
    assert_int_equal(c.n_points, 2);
    CLOSE(c.y[0], 0.5, 1e-12);
    CLOSE(c.y[1], 1.0, 1e-12);
    umpire_calibration_free(&c);
}

static void test_platt_optimality(void **state) {
    (void)state;
    double s[40];
    int w[40], pos = 0;
    for (int i = 0; i < 40; i++) {
        s[i] = i / 10.0;
        w[i] = (i * 7) % 11 < i / 4; /* errors grow with the score, not separable */
        pos += w[i];
    }
    struct umpire_calibration c;
    assert_int_equal(umpire_calibration_fit(s, w, 40, UMPIRE_CAL_PLATT, 0, &c, NULL), 0);
    assert_true(c.a > 0);
    /* the likelihood's gradient vanishes: sum (p - t) = 0 and sum (p - t) s = 0 */
    double tp = (pos + 1.0) / (pos + 2.0), tn = 1.0 / (40 - pos + 2.0), g0 = 0, g1 = 0;
    for (int i = 0; i < 40; i++) {
        double r = umpire_calibration_apply(&c, s[i]) - (w[i] ? tp : tn);
        g0 += r;
        g1 += r * s[i];
    }
    CLOSE(g0, 0, 1e-9);
    CLOSE(g1, 0, 1e-9);
    umpire_calibration_free(&c);
}

static void test_histogram_and_minmax(void **state) {
    (void)state;
    double s[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    int w[10] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    struct umpire_calibration c;
    assert_int_equal(umpire_calibration_fit(s, w, 10, UMPIRE_CAL_HISTOGRAM, 2, &c, NULL), 0);
    assert_int_equal(c.n_points, 2);
    CLOSE(c.x[0], 5, 0);
    CLOSE(c.y[0], 0.2, 1e-12); /* {1..5}: one wrong of five */
    CLOSE(c.y[1], 1.0, 1e-12);
    CLOSE(umpire_calibration_apply(&c, 3), 0.2, 1e-12);
    CLOSE(umpire_calibration_apply(&c, 100), 1.0, 1e-12);
    umpire_calibration_free(&c);
    assert_int_equal(umpire_calibration_fit(s, w, 10, UMPIRE_CAL_MINMAX, 0, &c, NULL), 0);
    CLOSE(umpire_calibration_apply(&c, 5.5), 0.5, 1e-12);
    CLOSE(umpire_calibration_apply(&c, 0), 0.0, 0);
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_calibration_fit(s, w, 1, UMPIRE_CAL_MINMAX, 0, &c, err), UMPIRE_EINVAL);
}

/* P(X <= e) by the direct sum: independent of the incomplete beta function */
static double binom_cdf_sum(int e, int m, double p) {
    double total = 0;
    for (int i = 0; i <= e; i++)
        total += exp(lgamma(m + 1.0) - lgamma(i + 1.0) - lgamma(m - i + 1.0) + i * log(p) + (m - i) * log1p(-p));
    return total;
}

static void test_clopper_pearson(void **state) {
    (void)state;
    CLOSE(umpire_binomial_cdf(7, 20, 0.3), binom_cdf_sum(7, 20, 0.3), 1e-12);
    CLOSE(umpire_binomial_cdf(40, 200, 0.25), binom_cdf_sum(40, 200, 0.25), 1e-12);
    /* e = 0: (1 - u)^m = delta; e = m - 1: 1 - u^m = delta */
    CLOSE(umpire_clopper_pearson_upper(0, 10, 0.05), 1 - pow(0.05, 0.1), 1e-12);
    CLOSE(umpire_clopper_pearson_upper(9, 10, 0.05), pow(0.95, 0.1), 1e-12);
    CLOSE(umpire_clopper_pearson_upper(10, 10, 0.05), 1.0, 0);
    double u = umpire_clopper_pearson_upper(12, 100, 0.05);
    CLOSE(binom_cdf_sum(12, 100, u), 0.05, 1e-9);
}

static void test_risk_threshold(void **state) {
    (void)state;
    /* scores 1..100, wrong iff > 50; risk .1, delta .05: 7 tests at .05/7. Answering the 50
     * right ones passes (u = 1 - (.05/7)^(1/50) = .094); 51..56 answered have 1..6 wrong, and
     * their bounds exceed .1 */
    double s[100];
    int w[100];
    for (int i = 0; i < 100; i++) {
        s[i] = 100 - i; /* in any order */
        w[i] = s[i] > 50;
    }
    struct umpire_calibration c = {0};
    assert_int_equal(umpire_risk_threshold(s, w, 100, 0.1, 0.05, &c, NULL), 0);
    assert_int_equal(c.n_answered, 50);
    CLOSE(c.threshold, 50, 0);
    CLOSE(c.risk_bound, 1 - pow(0.05 / 7, 1.0 / 50), 1e-12);
    for (int a = 51; a <= 56; a++)
        assert_true(umpire_clopper_pearson_upper((size_t)(a - 50), (size_t)a, 0.05 / 7) > 0.1);
    /* an unreachable target: escalate everything */
    assert_int_equal(umpire_risk_threshold(s, w, 100, 0.01, 0.05, &c, NULL), 0);
    assert_int_equal(c.n_answered, 0);
    assert_true(isinf(c.threshold) && c.threshold < 0);
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_risk_threshold(s, w, 100, 1.5, 0.05, &c, err), UMPIRE_EINVAL);
}

static void test_temperature(void **state) {
    (void)state;
    /* two options, logits (0, 1), option 1 right 3 times of 4: sigmoid(beta) = 3/4 */
    double z[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    int y[4] = {1, 1, 1, 0};
    double t;
    assert_int_equal(umpire_temperature_fit(z, y, 4, 2, &t, NULL), 0);
    CLOSE(t, 1 / log(3.0), 1e-9);
    assert_true(umpire_temperature_nll(z, y, 4, 2, t) < umpire_temperature_nll(z, y, 4, 2, 1.0));
    CLOSE(umpire_softmax_top(z, 2, t, NULL), 0.75, 1e-9);
    char err[UMPIRE_ERR_LEN];
    int all_right[4] = {1, 1, 1, 1}; /* the NLL falls as T -> 0: no optimum */
    assert_int_equal(umpire_temperature_fit(z, all_right, 4, 2, &t, err), UMPIRE_EINVAL);
    int worse[4] = {0, 0, 0, 1}; /* worse than uniform: T -> inf */
    assert_int_equal(umpire_temperature_fit(z, worse, 4, 2, &t, err), UMPIRE_EINVAL);
    int bad[4] = {1, 2, 1, 0};
    assert_int_equal(umpire_temperature_fit(z, bad, 4, 2, &t, err), UMPIRE_EINVAL);
}

/* The NLL depends on z / T only: logits scaled by s give T scaled by s, at any finite
 * magnitude (the fit once returned 3e60 for logits of +-1e300, its bisection stopped at 200
 * halvings of beta); a label tied first everywhere has no optimum either. */
static void test_temperature_extremes(void **state) {
    (void)state;
    int y[4] = {1, 1, 1, 0};
    double t_unit, t;
    double unit[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    assert_int_equal(umpire_temperature_fit(unit, y, 4, 2, &t_unit, NULL), 0);
    const double scales[] = {1e300, -1e300 /* the logits flipped: labels flipped below */, 1e-300,
                             1e150, 1.7e308};
    for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
        double z[8], s = fabs(scales[k]);
        int yk[4];
        for (int i = 0; i < 4; i++) {
            z[2 * i] = scales[k] < 0 ? s : 0; /* (s, 0) with the labels swapped is (0, s) */
            z[2 * i + 1] = scales[k] < 0 ? 0 : s;
            yk[i] = scales[k] < 0 ? 1 - y[i] : y[i];
        }
        assert_int_equal(umpire_temperature_fit(z, yk, 4, 2, &t, NULL), 0);
        CLOSE(t / s, t_unit, 1e-9 * t_unit);
    }
    /* logits of +-1e300 in three options */
    double big[9] = {1e300, -1e300, 0, -1e300, 1e300, 0, 1e300, 0, -1e300};
    int yb[3] = {0, 1, 1};
    assert_int_equal(umpire_temperature_fit(big, yb, 3, 3, &t, NULL), 0);
    double small[9];
    for (int i = 0; i < 9; i++)
        small[i] = big[i] / 1e300;
    double t_small;
    assert_int_equal(umpire_temperature_fit(small, yb, 3, 3, &t_small, NULL), 0);
    CLOSE(t / 1e300, t_small, 1e-9 * t_small);
    /* the fitted T is a stationary point of the NLL: the NLL is higher on both sides */
    double nll = umpire_temperature_nll(big, yb, 3, 3, t);
    assert_true(nll < umpire_temperature_nll(big, yb, 3, 3, t * 1.001));
    assert_true(nll < umpire_temperature_nll(big, yb, 3, 3, t / 1.001));
    char err[UMPIRE_ERR_LEN];
    /* the label tied first in one row and strictly first in the others: T -> 0, no optimum */
    double tied[6] = {1, 1, 0, 1, 0, 1};
    int yt[3] = {0, 1, 1};
    assert_int_equal(umpire_temperature_fit(tied, yt, 3, 2, &t, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "T -> 0"));
    double inf[2] = {0, INFINITY};
    int y1[1] = {1};
    assert_int_equal(umpire_temperature_fit(inf, y1, 1, 2, &t, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "item 0: logit 1 is not a finite number"));
    double zero[4] = {0, 0, 0, 0};
    int y2[2] = {0, 1};
    assert_int_equal(umpire_temperature_fit(zero, y2, 2, 2, &t, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "do not beat a uniform guess"));
}

static void test_save_load_roundtrip(void **state) {
    (void)state;
    double s[] = {0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.05};
    int w[] = {0, 1, 0, 1, 0, 1, 1, 0};
    char path[] = "/tmp/umpire-cal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (int m = UMPIRE_CAL_MINMAX; m <= UMPIRE_CAL_HISTOGRAM; m++) {
        struct umpire_calibration c, d;
        char err[UMPIRE_ERR_LEN];
        assert_int_equal(umpire_calibration_fit(s, w, 8, (enum umpire_calibration_method)m, 3, &c, err), 0);
        snprintf(c.estimator, sizeof c.estimator, "umpire");
        assert_int_equal(umpire_risk_threshold(s, w, 8, 0.5, 0.2, &c, err), 0);
        assert_int_equal(umpire_calibration_save(path, &c, err), 0);
        assert_int_equal(umpire_calibration_load(path, &d, err), 0);
        assert_int_equal(d.method, m);
        assert_string_equal(d.estimator, "umpire");
        assert_int_equal(d.n_answered, c.n_answered);
        assert_true(d.threshold == c.threshold);
        for (double x = 0; x <= 1.0; x += 0.05)
            assert_true(umpire_calibration_apply(&d, x) == umpire_calibration_apply(&c, x));
        umpire_calibration_free(&c);
        umpire_calibration_free(&d);
    }
    /* a broken file: the field is named */
    FILE *f = fopen(path, "w");
    fputs("{\"estimator\": \"umpire\", \"method\": \"isotonic\", \"n\": 2, \"score_range\": [0, 1],"
          " \"points\": {\"x\": [0, 0.5, 0.4], \"y\": [0, 0.2, 0.3]}}", f);
    fclose(f);
    struct umpire_calibration d;
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_calibration_load(path, &d, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "points[2]: x must increase"));
    f = fopen(path, "w");
    fputs("{\"estimator\": \"umpire\", \"method\": \"spline\"}", f);
    fclose(f);
    assert_int_equal(umpire_calibration_load(path, &d, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "method: one of"));
    /* found by fuzz_calibration: a count of 1e300 (no size_t holds it), a range upside down */
    const char *bad[][2] = {
        {"\"n\": 1e300, \"score_range\": [0, 1]", "n: needs a whole number >= 0"},
        {"\"n\": 2.5, \"score_range\": [0, 1]", "n: needs a whole number >= 0"},
        {"\"n\": 2, \"score_range\": [1, 0]", "score_range: needs [min, max], finite, min <= max"},
        {"\"n\": 2, \"score_range\": [0, 1e999]",
         "score_range: needs [min, max], finite, min <= max"},
        {"\"n\": 2, \"score_range\": [0, 1], \"risk_control\": {\"risk\": 0.1, \"delta\": 0.1, "
         "\"threshold\": 0.5,"
         " \"answered\": -1e300}",
         "answered: needs a whole number >= 0"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f = fopen(path, "w");
        fprintf(f, "{\"estimator\": \"umpire\", \"method\": \"minmax\", %s}", bad[i][0]);
        fclose(f);
        assert_int_equal(umpire_calibration_load(path, &d, err), UMPIRE_EINVAL);
        assert_non_null(strstr(err, bad[i][1]));
    }
    close(fd);
    remove(path);
}

/* Found by fuzz_calibration: cJSON writes a double with 15 digits when they agree with it to
 * within an epsilon, so isotonic points 1 ulp apart were saved equal and the map no longer
 * loaded ("x must increase"); every number is now written to read back exactly. */
static void test_save_load_exact(void **state) {
    (void)state;
    double x0 = 0.8888888888888888, x1 = nextafter(x0, 1.0), y1 = nextafter(0.5, 1.0);
    struct umpire_calibration c = {.method = UMPIRE_CAL_ISOTONIC,
                                   .n = 4,
                                   .lo = x0,
                                   .hi = x1,
                                   .n_points = 2,
                                   .threshold = NAN,
                                   .risk_bound = NAN};
    double xs[2] = {x0, x1}, ys[2] = {0.5, y1};
    c.x = xs;
    c.y = ys;
    snprintf(c.estimator, sizeof c.estimator, "umpire");
    char path[] = "/tmp/umpire-cal-XXXXXX", err[UMPIRE_ERR_LEN];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(umpire_calibration_save(path, &c, err), 0);
    struct umpire_calibration d;
    assert_int_equal(umpire_calibration_load(path, &d, err), 0);
    assert_int_equal(d.n_points, 2);
    assert_true(d.x[0] == x0 && d.x[1] == x1 && d.y[0] == 0.5 && d.y[1] == y1 && d.lo == x0 &&
                d.hi == x1);
    umpire_calibration_free(&d);
    close(fd);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isotonic_pav),         cmocka_unit_test(test_platt_optimality),
        cmocka_unit_test(test_histogram_and_minmax), cmocka_unit_test(test_clopper_pearson),
        cmocka_unit_test(test_risk_threshold),       cmocka_unit_test(test_temperature),
        cmocka_unit_test(test_temperature_extremes), cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_save_load_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
