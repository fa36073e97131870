/* test_core.c - the core math against hand-worked values and properties a wrong
 * implementation would break. (The full estimator set is also checked against an
 * independent numpy reference: tests/ref/scores_ref.py.) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/baselines.h"
#include "core/curves.h"
#include "core/linalg.h"
#include "core/logprob.h"
#include "core/scorer.h"
#include "core/utf8.h"
#include "umpire.h"

#define CLOSE(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void test_volume_identical_samples(void **state) {
    (void)state;
    /* Gram = all-ones: eigenvalues k (once) and 0; with eps: log(k + eps) + (k-1) log eps */
    float e[5 * 3];
    for (int i = 0; i < 5; i++) {
        e[i * 3 + 0] = 3.0f;
        e[i * 3 + 1] = -1.0f;
        e[i * 3 + 2] = 2.0f;
    }
    double u, eps = 1e-8;
    assert_int_equal(umpire_semantic_volume(e, 5, 3, eps, &u, NULL), 0);
    CLOSE(u, (log(5 + eps) + 4 * log(eps)) / 10.0, 1e-6);
    assert_true(isfinite(u));
}

static void test_volume_eigen_fallback(void **state) {
    (void)state;
    /* eps = 1e-20 is below double rounding at 1: all-ones + eps I is singular in floating point
     * and its zero eigenvalues are known only to ~1e-16. U must still be finite, between the
     * exact value and the one with eps at the rounding level (never NaN or -inf) */
    float e[4 * 2];
    for (int i = 0; i < 4; i++) {
        e[i * 2] = 0.6f;
        e[i * 2 + 1] = 0.8f;
    }
    double u;
    assert_int_equal(umpire_semantic_volume(e, 4, 2, 1e-20, &u, NULL), 0);
    assert_true(isfinite(u));
    assert_true(u >= (log(4.0) + 3 * log(1e-20)) / 8.0 - 1e-9);
    assert_true(u <= (log(4.0) + 3 * log(1e-15)) / 8.0);
}

static void test_volume_orthogonal_and_scale_invariant(void **state) {
    (void)state;
    /* orthogonal rows of any length: Phi Phi^T = I, U = k log(1 + eps) / 2k */
    float e[3 * 4] = {2, 0, 0, 0, 0, -5, 0, 0, 0, 0, 0.5f, 0};
    double u;
    assert_int_equal(umpire_semantic_volume(e, 3, 4, 1e-8, &u, NULL), 0);
    CLOSE(u, 0.5 * log(1 + 1e-8), 1e-12);
    /* two unit vectors at angle theta: det = 1 - cos^2 (+ eps terms) */
    float f[2 * 2] = {1, 0, 0.6f, 0.8f};
    assert_int_equal(umpire_semantic_volume(f, 2, 2, 1e-8, &u, NULL), 0);
    CLOSE(u, log((1 + 1e-8) * (1 + 1e-8) - 0.36) / 4.0, 1e-6);
}

static void test_volume_order_invariant_and_bounded(void **state) {
    (void)state;
    float e[4 * 6], r[4 * 6];
    for (int i = 0; i < 24; i++)
        e[i] = (float)((i * 7919 % 101) / 50.0 - 1.0); /* generic: full rank */
    int perm[4] = {2, 0, 3, 1};
    for (int i = 0; i < 4; i++)
        memcpy(r + i * 6, e + perm[i] * 6, 6 * sizeof(float));
    double a, b;
    assert_int_equal(umpire_semantic_volume(e, 4, 6, 1e-8, &a, NULL), 0);
    assert_int_equal(umpire_semantic_volume(r, 4, 6, 1e-8, &b, NULL), 0);
    CLOSE(a, b, 1e-9);
    assert_true(a <= 0.5 * log(1 + 1e-8)); /* unit rows: det(Gram) <= 1 (Hadamard) */
}

static void test_volume_errors(void **state) {
    (void)state;
    float e[2 * 2] = {1, 0, 0, 0};
    double u = 42;
    char err[UMPIRE_ERR_LEN] = "";
    assert_int_equal(umpire_semantic_volume(e, 2, 2, 1e-8, &u, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "embedding 1 has norm 0"));
    assert_int_equal(u, 42);
    assert_int_equal(umpire_semantic_volume(e, 2, 2, 0.0, &u, err), UMPIRE_EINVAL);
}

static void test_incoherence_and_alpha(void **state) {
    (void)state;
    double lp0[] = {log(0.5), log(0.5)}, lp1[] = {log(0.9)};
    struct umpire_answer s[2] = {{.logprobs = lp0, .n_tokens = 2}, {.logprobs = lp1, .n_tokens = 1}};
    /* p = 0.25 and 0.9: Q = ((1 - .25) + (1 - .9)) / 2 */
    CLOSE(umpire_incoherence(s, 2, 0), 0.425, 1e-12);
    /* length-normalised: p = 0.5 and 0.9 */
    CLOSE(umpire_incoherence(s, 2, 1), 0.3, 1e-12);
    double u[] = {-4, -2, -3, -10}, q[] = {0.5, 0.1, 0.2, 0.3};
    CLOSE(umpire_alpha(u, q, 4), 3.5 / 0.25, 1e-12); /* medians -3.5 and 0.25 */
    double q0[] = {0, 0, 0, 0};
    CLOSE(umpire_alpha(u, q0, 4), 0.0, 0);
}

/* 1 - p for p near 1 (an answer the model is sure of): 1 - exp(x) loses all but a few digits
 * to cancellation, -expm1(x) none. x = -1e-12: 1 - p = 1e-12 - 5e-25 + ... */
static void test_one_minus_p_near_one(void **state) {
    (void)state;
    double lp[] = {-4e-13, -6e-13};
    struct umpire_answer s[2] = {{.logprobs = lp, .n_tokens = 2}, {.logprobs = lp, .n_tokens = 2}};
    double want = 1e-12 - 0.5e-24;
    assert_true(fabs(umpire_incoherence(s, 2, 0) - want) <= 1e-15 * want);
    assert_true(fabs(umpire_sequence_probability(&s[0]) - want) <= 1e-15 * want);
    assert_true(fabs(umpire_answer_logprob(&s[0]) - -1e-12) <= 1e-27);
    /* p = 1 exactly: 0, never -0 (which the files would show as "-0") */
    double zero[] = {0.0};
    struct umpire_answer sure = {.logprobs = zero, .n_tokens = 1};
    assert_true(umpire_sequence_probability(&sure) == 0 && !signbit(umpire_sequence_probability(&sure)));
    assert_true(!signbit(umpire_incoherence(&sure, 1, 0)));
}

/* The one softmax: p = (1, 2, 3) / 6 from logits log 1, log 2, log 3 (and their square roots,
 * normalised, at T = 2); uniform at T = inf; no overflow at +-1e300; float and double alike. */
static void test_softmax(void **state) {
    (void)state;
    double z[3] = {log(1.0), log(2.0), log(3.0)};
    float zf[3] = {(float)z[0], (float)z[1], (float)z[2]};
    struct umpire_softmax s, f;
    umpire_softmax_mean_f64(z, 3, 1.0, &s);
    double p[3] = {1.0 / 6, 2.0 / 6, 3.0 / 6}, h = 0, mean = 0;
    for (int v = 0; v < 3; v++) {
        CLOSE(exp(z[v] - s.max - s.logz), p[v], 1e-15);
        h -= p[v] * log(p[v]);
        mean += p[v] * z[v];
    }
    CLOSE(s.max, log(3.0), 0);
    CLOSE(s.max + s.logz, log(6.0), 1e-15); /* logsumexp */
    CLOSE(s.entropy, h, 1e-15);
    CLOSE(s.mean, mean, 1e-15);
    umpire_softmax_f32(zf, 3, 1.0, &f);
    CLOSE(f.logz, s.logz, 1e-7);
    CLOSE(f.entropy, s.entropy, 1e-7);
    assert_true(isnan(f.mean)); /* asked for only by the *_mean functions */
    umpire_softmax_f64(z, 3, 2.0, &s); /* p ~ sqrt(1, 2, 3) */
    double r = 1 + sqrt(2.0) + sqrt(3.0);
    CLOSE(exp(z[0] / 2 - s.max - s.logz), 1 / r, 1e-15);
    umpire_softmax_mean_f64(z, 3, INFINITY, &s); /* T = inf: uniform */
    CLOSE(s.logz, log(3.0), 1e-15);
    CLOSE(s.entropy, log(3.0), 1e-15);
    CLOSE(s.mean, (z[0] + z[1] + z[2]) / 3, 1e-15);
    double big[3] = {1e300, -1e300, 1e300};
    umpire_softmax_mean_f64(big, 3, 1.0, &s); /* two tokens at 1/2 each */
    CLOSE(s.logz, log(2.0), 0);
    CLOSE(s.entropy, log(2.0), 1e-15);
    CLOSE(s.mean, 1e300, 1e285);
}

/* The engine's vectorised row softmax (softmax_row.c) against the double one: the same max to
 * the bit, logz and entropy within 1e-7, on rows of every length around its lanes and chunks,
 * flat, peaked and wide (terms far below e^-87); p = (1, 2, 3) / 6 by hand; a -inf logit adds
 * nothing. */
static void test_softmax_row(void **state) {
    (void)state;
    float zf[3] = {(float)log(1.0), (float)log(2.0), (float)log(3.0)};
    struct umpire_softmax s, f;
    umpire_softmax_row_f32(zf, 3, &f);
    CLOSE(f.max + f.logz, log(6.0), 1e-7);
    CLOSE(f.entropy, -(1.0 / 6 * log(1.0 / 6) + 2.0 / 6 * log(2.0 / 6) + 3.0 / 6 * log(3.0 / 6)), 1e-7);
    assert_true(isnan(f.mean));
    const size_t lens[] = {1, 7, 8, 9, 511, 512, 513, 4099, 32000, 151936};
    float *z = malloc(151936 * sizeof *z);
    assert_non_null(z);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    double worst = 0;
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (int kind = 0; kind < 3; kind++) {
            size_t n = lens[li];
            for (size_t v = 0; v < n; v++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                double u = (double)(x >> 11) / 9007199254740992.0 - 0.5; /* uniform in [-0.5, 0.5) */
                z[v] = (float)(kind == 0 ? u : kind == 1 ? 8 * u : 400 * u);
            }
            if (kind == 1)
                z[n / 2] += 20.0f;
            umpire_softmax_f32(z, n, 1.0, &s);
            umpire_softmax_row_f32(z, n, &f);
            assert_true(f.max == s.max);
            worst = fmax(worst, fmax(fabs(f.logz - s.logz), fabs(f.entropy - s.entropy)));
        }
    assert_true(worst <= 1e-7);
    z[0] = 1.0f, z[1] = 1.0f, z[2] = -INFINITY;
    umpire_softmax_row_f32(z, 3, &f);
    CLOSE(f.logz, log(2.0), 1e-7);
    CLOSE(f.entropy, log(2.0), 1e-7);
    fprintf(stderr, "softmax_row: within %.2g of the double softmax\n", worst);
    free(z);
}

static void test_dev_split(void **state) {
    (void)state;
    size_t a[100], b[100], c[100], na, nb, nc;
    assert_int_equal(umpire_split_draw(100, 0.1, 7, UMPIRE_SPLIT_UMPIRE, a, &na, NULL), 0);
    assert_int_equal(umpire_split_draw(100, 0.1, 7, UMPIRE_SPLIT_UMPIRE, b, &nb, NULL), 0);
    assert_int_equal(umpire_split_draw(100, 0.1, 8, UMPIRE_SPLIT_UMPIRE, c, &nc, NULL), 0);
    assert_int_equal(na, 10);
    assert_int_equal(nb, 10);
    assert_memory_equal(a, b, 10 * sizeof a[0]); /* same seed, same split */
    assert_int_equal(nc, 10);
    assert_true(memcmp(a, c, 10 * sizeof a[0]) != 0);
    for (size_t i = 1; i < na; i++)
        assert_true(a[i - 1] < a[i] && a[i] < 100); /* sorted, distinct */
    assert_int_equal(umpire_split_draw(5, 0.1, 1, UMPIRE_SPLIT_UMPIRE, a, &na, NULL), 0);
    assert_int_equal(na, 1); /* at least one item */
    /* numpy's: int(n f) items, none for 5 x 0.1 */
    assert_int_equal(umpire_split_draw(5, 0.1, 10, UMPIRE_SPLIT_NUMPY, a, &na, NULL), 0);
    assert_int_equal(na, 0);
    assert_int_equal(umpire_split_draw(100, 0.1, 10, UMPIRE_SPLIT_NUMPY, a, &na, NULL), 0);
    assert_int_equal(na, 10);
    assert_int_equal(umpire_split_draw(100, 0.1, 1ULL << 32, UMPIRE_SPLIT_NUMPY, a, &na, NULL), UMPIRE_EINVAL);
    /* a permutation: every index once */
    size_t perm[100], seen[100] = {0};
    assert_int_equal(umpire_numpy_permutation(100, 10, perm), 0);
    for (size_t i = 0; i < 100; i++)
        seen[perm[i]]++;
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
}

static void test_auroc(void **state) {
    (void)state;
    double s[] = {0.1, 0.4, 0.35, 0.8};
    int w[] = {0, 0, 1, 1};
    CLOSE(umpire_auroc(s, w, 4), 0.75, 1e-12); /* pairs: (.35>.1) (.8>.1) (.8>.4) of 4 */
    int perfect[] = {0, 1, 0, 1};
    CLOSE(umpire_auroc(s, perfect, 4), 1.0, 1e-12);
    int reverse[] = {1, 0, 1, 0};
    CLOSE(umpire_auroc(s, reverse, 4), 0.0, 1e-12);
    double tied[] = {1, 1, 1, 1};
    CLOSE(umpire_auroc(tied, w, 4), 0.5, 1e-12);
    double t2[] = {0.2, 0.5, 0.5, 0.9};
    int w2[] = {0, 1, 0, 1}; /* pos {.5,.9} vs neg {.2,.5}: 1 + .5 + 1 + 1 of 4 */
    CLOSE(umpire_auroc(t2, w2, 4), 0.875, 1e-12);
    int one_class[] = {1, 1, 1, 1};
    assert_true(isnan(umpire_auroc(s, one_class, 4)));
}

static void test_auprc_and_tpr(void **state) {
    (void)state;
    double s[] = {0.1, 0.4, 0.35, 0.8};
    int w[] = {0, 0, 1, 1};
    /* descending: .8(w) .4 .35(w) .1 -> AP = .5 * 1 + .5 * 2/3 */
    CLOSE(umpire_auprc(s, w, 4), 0.5 + 1.0 / 3.0, 1e-12);
    /* ROC points (0, 0) (0, .5) (.5, .5) (.5, 1) (1, 1): interpolated at FPR .1 -> TPR .5; the
     * reference's nearest point to FPR .1 is the first of (0, 0) and (0, .5): TPR 0 */
    CLOSE(umpire_tpr_at_fpr(s, w, 4, 0.10, 1), 0.5, 1e-12);
    CLOSE(umpire_tpr_at_fpr(s, w, 4, 0.10, 0), 0.0, 1e-12);
    CLOSE(umpire_tpr_at_fpr(s, w, 4, 0.40, 0), 0.5, 1e-12); /* nearest: (.5, .5) */
    /* 3 wrong, 10 right, a wrong and a right answer tied at each of the 3 highest scores: ROC
     * points (.1, 1/3) (.2, 2/3) (.3, 1) (.4, 1) ... (1, 1). sklearn drops the collinear (.2, 2/3)
     * and (.4, 1) ... (.9, 1): the nearest kept point to FPR .2 is then (.1, 1/3) (first of two
     * at distance .1); interpolated, (.2, 2/3) itself */
    double s4[] = {10, 10, 9, 9, 8, 8, 7, 6, 5, 4, 3, 2, 1};
    int w4[] = {1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    CLOSE(umpire_tpr_at_fpr(s4, w4, 13, 0.19, 0), 1.0 / 3, 1e-12);
    CLOSE(umpire_tpr_at_fpr(s4, w4, 13, 0.2, 0), 1.0, 1e-12); /* |.3 - .2| < |.1 - .2| in doubles, as in numpy */
    CLOSE(umpire_tpr_at_fpr(s4, w4, 13, 0.2, 1), 2.0 / 3, 1e-12);
    CLOSE(umpire_tpr_at_fpr(s4, w4, 13, 0.29, 0), 1.0, 1e-12);
}

static void test_rejection_metrics(void **state) {
    (void)state;
    struct umpire_metric_params p = umpire_metric_default_params();
    p.bootstrap = 0;
    struct umpire_metric_report r;
    double s[] = {0.9, 0.8, 0.2, 0.1};
    int w[] = {1, 1, 0, 0}; /* oracle order */
    assert_int_equal(umpire_metrics_compute(s, w, 4, &p, &r, NULL), 0);
    CLOSE(r.value[UMPIRE_M_PRR], 1.0, 1e-12);
    /* kept accuracy after rejecting 0..3: 2/4, 2/3, 2/2, 1/1 */
    CLOSE(r.value[UMPIRE_M_AURAC_EXPECTED], (0.5 + 2.0 / 3 + 1 + 1) / 4, 1e-12);
    /* the reference's: those accuracies over x = 1/4 .. 4/4, trapezoids */
    CLOSE(r.value[UMPIRE_M_AURAC], 0.25 * ((0.5 + 2.0 / 3) / 2 + (2.0 / 3 + 1) / 2 + 1), 1e-12);
    CLOSE(umpire_aurac(s, w, 4), r.value[UMPIRE_M_AURAC], 0);
    assert_int_equal(r.n_metrics, umpire_metric_count());
    umpire_metric_report_free(&r);
    assert_null(r.value);
    /* ties: the reference keeps item order within a tie (most uncertain first, stable) */
    double t[] = {0.5, 0.5, 0.1};
    int wt[] = {0, 1, 0}; /* order: right, wrong, right -> acc 2/3, 1/2, 1 */
    CLOSE(umpire_aurac(t, wt, 3), (1.0 / 3) * ((2.0 / 3 + 0.5) / 2 + (0.5 + 1) / 2), 1e-12);
    int rev[] = {0, 0, 1, 1}; /* the worst order: PRR < 0 */
    assert_int_equal(umpire_metrics_compute(s, rev, 4, &p, &r, NULL), 0);
    assert_true(r.value[UMPIRE_M_PRR] < 0);
    umpire_metric_report_free(&r);
    double tied[] = {1, 1, 1, 1}; /* a constant score ranks and calibrates nothing: every metric undefined */
    assert_int_equal(umpire_metrics_compute(tied, w, 4, &p, &r, NULL), 0);
    for (int m = 0; m < UMPIRE_N_METRICS; m++)
        assert_true(isnan(r.value[m]));
    assert_int_equal(r.n, 4);
    umpire_metric_report_free(&r);
}

/* "I don't know" rates, worked by hand: 4 answerable (right, wrong, declined, unlabelled), 3
 * unanswerable (declined, declined, answered). */
static void test_idk_rates(void **state) {
    (void)state;
    const int answerable[] = {1, 1, 1, 1, 0, 0, 0}, declined[] = {0, 0, 1, 0, 1, 1, 0},
              correct[] = {1, 0, 0, -1, 1, 1, 0};
    struct umpire_idk k;
    umpire_idk_rates(answerable, declined, correct, 7, &k);
    assert_int_equal(k.n_answerable, 4);
    assert_int_equal(k.n_unanswerable, 3);
    CLOSE(k.accuracy_answerable, 1.0 / 3, 1e-15); /* 1 right of the 3 labelled */
    CLOSE(k.over_refusal, 1.0 / 4, 1e-15);
    CLOSE(k.refusal_recall, 2.0 / 3, 1e-15);
    CLOSE(k.over_answering, 1.0 / 3, 1e-15);
    /* the exact intervals: at hi, P(X <= k) = 0.025 for X ~ Binomial(n, hi), summed directly;
     * at lo, P(X >= k) = 0.025; a rate and its complement mirror each other */
    const struct {
        double v, lo, hi;
        int k, n;
    } r[] = {{k.accuracy_answerable, k.accuracy_answerable_ci[0], k.accuracy_answerable_ci[1], 1, 3},
             {k.over_refusal, k.over_refusal_ci[0], k.over_refusal_ci[1], 1, 4},
             {k.refusal_recall, k.refusal_recall_ci[0], k.refusal_recall_ci[1], 2, 3}};
    for (size_t i = 0; i < 3; i++) {
        double below_hi = 0, above_lo = 0, c = 1;
        for (int j = 0; j <= r[i].n; j++) {
            if (j > 0)
                c = c * (r[i].n - j + 1) / j; /* C(n, j) */
            if (j <= r[i].k)
                below_hi += c * pow(r[i].hi, j) * pow(1 - r[i].hi, r[i].n - j);
            if (j >= r[i].k)
                above_lo += c * pow(r[i].lo, j) * pow(1 - r[i].lo, r[i].n - j);
        }
        CLOSE(below_hi, 0.025, 1e-9);
        CLOSE(above_lo, 0.025, 1e-9);
        assert_true(r[i].lo < r[i].v && r[i].v < r[i].hi);
    }
    CLOSE(k.over_answering_ci[0], 1 - k.refusal_recall_ci[1], 1e-12);
    CLOSE(k.over_answering_ci[1], 1 - k.refusal_recall_ci[0], 1e-12);
    umpire_idk_rates(answerable, declined, correct, 4, &k); /* no unanswerable question */
    assert_true(isnan(k.refusal_recall) && isnan(k.over_answering) && isnan(k.refusal_recall_ci[0]));
    const int all[] = {1, 1, 1}, none[] = {0, 0, 0}, right[] = {1, 1, 1};
    umpire_idk_rates(all, none, right, 3, &k); /* 0 of 3 declined, 3 of 3 right: closed forms */
    CLOSE(k.over_refusal_ci[0], 0, 1e-15);
    CLOSE(k.over_refusal_ci[1], 1 - pow(0.025, 1.0 / 3), 1e-9);
    CLOSE(k.accuracy_answerable_ci[0], pow(0.025, 1.0 / 3), 1e-9);
    CLOSE(k.accuracy_answerable_ci[1], 1, 1e-15);
}

/* A paired comparison: each side is exactly umpire_metrics_compute's report on its scores with
 * the other side's NaNs added (values and intervals: the same resamples), diff is b - a; a side compared with itself differs by 0 with a [0, 0] interval. */
static void test_metrics_compare(void **state) {
    (void)state;
    struct umpire_metric_params p = umpire_metric_default_params();
    p.bootstrap = 200;
    p.seed = 11;
    enum { N = 40 };
    double sa[N], sb[N], ka[N], kb[N];
    int wa[N], wb[N], kwa[N], kwb[N];
    size_t m = 0;
    for (int i = 0; i < N; i++) {
        wa[i] = (i * 7) % 5 < 2;
        wb[i] = (i * 3) % 4 == 0;
        sa[i] = i == 5 ? NAN : 0.3 * wa[i] + 0.01 * ((i * 13) % 17);
        sb[i] = i == 9 ? NAN : 0.2 * wb[i] + 0.01 * ((i * 11) % 19);
        /* each side with the other's NaNs: the answers it is compared on */
        int both = isfinite(sa[i]) && isfinite(sb[i]);
        ka[i] = both ? sa[i] : NAN, kb[i] = both ? sb[i] : NAN, kwa[i] = wa[i], kwb[i] = wb[i];
        m += both;
    }
    struct umpire_comparison c;
    struct umpire_metric_report ra, rb;
    assert_int_equal(umpire_metrics_compare(sa, wa, sb, wb, N, &p, &c, NULL), 0);
    assert_int_equal(umpire_metrics_compute(ka, kwa, N, &p, &ra, NULL), 0);
    assert_int_equal(umpire_metrics_compute(kb, kwb, N, &p, &rb, NULL), 0);
    assert_int_equal(c.n, m);
    assert_int_equal(c.a.n, m);
    assert_int_equal(m, N - 2);
    for (int k = 0; k < UMPIRE_N_METRICS; k++) {
        const double got[] = {c.a.value[k], c.a.lo[k], c.a.hi[k], c.b.value[k], c.b.lo[k], c.b.hi[k]};
        const double want[] = {ra.value[k], ra.lo[k], ra.hi[k], rb.value[k], rb.lo[k], rb.hi[k]};
        for (int j = 0; j < 6; j++)
            assert_true((isnan(got[j]) && isnan(want[j])) || got[j] == want[j]);
        if (isfinite(ra.value[k]) && isfinite(rb.value[k]))
            assert_true(c.diff.value[k] == rb.value[k] - ra.value[k]);
    }
    assert_true(isfinite(c.diff.lo[UMPIRE_M_AUROC]) && c.diff.lo[UMPIRE_M_AUROC] <= c.diff.hi[UMPIRE_M_AUROC]);
    CLOSE(c.accuracy_a, 1.0 - (double)ra.n_wrong / (double)m, 1e-15);
    CLOSE(c.accuracy_b, 1.0 - (double)rb.n_wrong / (double)m, 1e-15);
    umpire_comparison_free(&c);
    assert_null(c.a.value);
    umpire_metric_report_free(&ra);
    umpire_metric_report_free(&rb);
    /* a side against itself */
    assert_int_equal(umpire_metrics_compare(sa, wa, sa, wa, N, &p, &c, NULL), 0);
    for (int k = 0; k < UMPIRE_N_METRICS; k++)
        if (isfinite(c.a.value[k])) {
            assert_true(c.diff.value[k] == 0);
            assert_true(isnan(c.diff.lo[k]) || (c.diff.lo[k] == 0 && c.diff.hi[k] == 0));
        }
    assert_true(c.accuracy_diff_lo == 0 && c.accuracy_diff_hi == 0);
    umpire_comparison_free(&c);
}

/* The curves a report draws are the metrics' own: with ties (a group of two right and two wrong
 * answers, drawn as one diagonal ROC step; rejected in item order, as AURAC does), the trapezoid
 * area under the ROC curve is AUROC, under the rejection curve AURAC, and the reliability bins
 * give ECE. Drawing the tie as a staircase in item order would lose 0.08 of ROC area. */
static void test_curves_match_metrics(void **state) {
    (void)state;
    double s[] = {0.9, 0.7, 0.7, 0.7, 0.7, 0.4, 0.4, 0.2, 0.2, 0.1};
    int w[] = {1, 0, 0, 1, 1, 1, 0, 0, 1, 0};
    struct umpire_curves c;
    assert_int_equal(umpire_curves_compute(s, w, 10, 10, &c, NULL), 0);
    /* ROC: (0,0) (0,.2) (.4,.6) (.6,.8) (.8,1) (1,1); area by hand 0.68 */
    assert_int_equal(c.roc.n, 6);
    double rx[] = {0, 0, .4, .6, .8, 1}, ry[] = {0, .2, .6, .8, 1, 1};
    for (size_t i = 0; i < 6; i++) {
        CLOSE(c.roc.x[i], rx[i], 1e-15);
        CLOSE(c.roc.y[i], ry[i], 1e-15);
    }
    CLOSE(umpire_auroc(s, w, 10), 0.68, 1e-15);
    CLOSE(umpire_trapezoid(c.roc.x, c.roc.y, c.roc.n), umpire_auroc(s, w, 10), 1e-15);
    /* rejection: x = (i + 1) / 10; accuracy of the 10 - i kept, ties in item order (the right
     * answers 1 and 2 before the wrong 3 and 4): 5/10 5/9 4/8 3/7 3/6 3/5 3/4 2/3 1/2 1/1 */
    double acc[] = {.5, 5.0 / 9, .5, 3.0 / 7, .5, .6, .75, 2.0 / 3, .5, 1};
    assert_int_equal(c.rejection.n, 10);
    for (size_t i = 0; i < 10; i++) {
        CLOSE(c.rejection.x[i], (i + 1) / 10.0, 1e-15);
        CLOSE(c.rejection.y[i], acc[i], 1e-15);
    }
    assert_true(umpire_trapezoid(c.rejection.x, c.rejection.y, 10) == umpire_aurac(s, w, 10));
    /* the oracle rejects the five wrong answers first */
    CLOSE(c.oracle.y[5], 1.0, 0);
    CLOSE(c.oracle.y[4], 5.0 / 6, 1e-15);
    /* reliability: p = (s - .1) / .8; ECE = sum_b (n_b / n) |mean p_b - error rate_b| */
    double ece = 0, p[10];
    umpire_minmax_scores(s, 10, p);
    for (size_t b = 0; b < c.bins; b++)
        if (c.bin_count[b])
            ece += (double)c.bin_count[b] / 10 * fabs(c.bin_p[b] - c.bin_error[b]);
    CLOSE(ece, umpire_ece(p, w, 10, 10, 0), 1e-15);
    assert_int_equal(c.bin_count[9], 1); /* p = 1 closes the last bin */
    assert_int_equal(c.bin_count[7], 4); /* p = .75 four times */
    umpire_curves_free(&c);
    /* one class: no ROC curve, the rejection curve flat */
    int all_wrong[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(umpire_curves_compute(s, all_wrong, 10, 10, &c, NULL), 0);
    assert_int_equal(c.roc.n, 0);
    CLOSE(c.rejection.y[3], 0, 0);
    umpire_curves_free(&c);
}

static void test_cpc_and_ece(void **state) {
    (void)state;
    /* scores 0..3 evenly: min-max p = 0, 1/3, 2/3, 1; wrong = 0 0 1 1 */
    double p[] = {0, 1.0 / 3, 2.0 / 3, 1};
    int w[] = {0, 0, 1, 1};
    /* equal-width 10 bins, one answer each: |0-0| + |1/3-0| + |2/3-1| + |1-1|, over 4 */
    CLOSE(umpire_ece(p, w, 4, 10, 0), (1.0 / 3 + 1.0 / 3) / 4, 1e-12);
    /* equal mass, 2 bins: {0, 1/3} vs {0, 0}, {2/3, 1} vs {1, 1} */
    CLOSE(umpire_ece(p, w, 4, 2, 1), (1.0 / 3 + 1.0 / 3) / 4, 1e-12);
    double outside[] = {0, 1.5, 0.2, 0.3};
    assert_true(isnan(umpire_ece(outside, w, 4, 10, 0))); /* not a probability: undefined */
    /* CPC, 3 bins over [0, 3]: the reference's edges 0, 1, 2, 3 with only the first lower edge
     * moved to -1e-5. 1.000005 lies above the edge 1, so it is in bin 1 (umpire's old edges,
     * all shifted by 1e-5 (1 - b/3), put it in bin 0); 2 is on an upper edge: bin 1. */
    double s[] = {0, 1.000005, 2, 3};
    int w2[] = {0, 1, 0, 1};
    double edges[] = {-1e-5, 1, 2}, rates[] = {0, 0.5, 1};
    double mx = (edges[0] + edges[1] + edges[2]) / 3, my = 0.5, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 3; i++) {
        sxy += (edges[i] - mx) * (rates[i] - my);
        sxx += (edges[i] - mx) * (edges[i] - mx);
        syy += (rates[i] - my) * (rates[i] - my);
    }
    CLOSE(umpire_cpc(s, w2, 4, 3), sxy / sqrt(sxx * syy), 1e-12);
    /* constant scores of any size: one bin, no correlation (no division by a zero width) */
    double big[] = {1e12, 1e12, 1e12, 1e12};
    assert_true(isnan(umpire_cpc(big, w2, 4, 50)));
    /* the reference's cECE ECE: top label of [1 - q, q]; q = .8 right -> bin of .8 with a hit;
     * q = .3 wrong -> top label 0 ("wrong") with .7: a hit; q = 1 right -> bin 10 (its own) */
    double q[] = {0.8, 0.3, 1.0};
    int right[] = {1, 0, 1};
    CLOSE(umpire_ece_top_label(q, right, 3, 10), (fabs(1 - 0.8) + fabs(1 - 0.7) + fabs(1 - 1.0)) / 3, 1e-12);
    int right2[] = {0, 0, 1}; /* q = .8 wrong: a miss at .8 */
    CLOSE(umpire_ece_top_label(q, right2, 3, 10), (0.8 + 0.3 + 0) / 3, 1e-12);
}

static void test_rouge_l(void **state) {
    (void)state;
    CLOSE(umpire_rouge_l("The cat sat.", "the cat sat down"), 2 * 0.75 / 1.75, 1e-12);
    CLOSE(umpire_rouge_l("a b c", "c b a"), 1.0 / 3, 1e-12);
    CLOSE(umpire_rouge_l("Paris", "paris!"), 1.0, 0);
    CLOSE(umpire_rouge_l("", ""), 0.0, 0); /* rouge_score: no tokens, no score */
    CLOSE(umpire_rouge_l("café", "caf"), 1.0, 0); /* [a-z0-9] tokens only, as rouge_score */
    CLOSE(umpire_rouge_l("x", ""), 0.0, 0);
}

static void test_graph_extremes(void **state) {
    (void)state;
    enum { K = 4 };
    double ones[K * K], eye[K * K];
    for (int i = 0; i < K * K; i++) {
        ones[i] = 1.0;
        eye[i] = i % (K + 1) == 0;
    }
    /* all answers agree: one set, no entropy, L = I - W/k has eigenvalues 0, 1, 1, 1 */
    CLOSE(umpire_num_sets(ones, K, 0.5), 1, 0);
    CLOSE(umpire_discrete_semantic_entropy(ones, K, 0.5), 0, 1e-12);
    CLOSE(umpire_degree(ones, K), 0, 1e-12);
    CLOSE(umpire_eigv(ones, K), 1, 1e-9);
    /* all differ: k sets, entropy log k, L = 0, heat kernel = I / k */
    CLOSE(umpire_num_sets(eye, K, 0.5), K, 0);
    CLOSE(umpire_discrete_semantic_entropy(eye, K, 0.5), log(K), 1e-12);
    CLOSE(umpire_degree(eye, K), 1 - 1.0 / K, 1e-12);
    CLOSE(umpire_eigv(eye, K), K, 1e-9);
    CLOSE(umpire_kernel_language_entropy(eye, K, 0.3), log(K), 1e-9);
    assert_true(umpire_kernel_language_entropy(ones, K, 0.3) < log(K));
    assert_true(umpire_eccentricity(eye, K) > umpire_eccentricity(ones, K));
}

static void test_score_item_needs(void **state) {
    (void)state;
    double lp[] = {-0.1, -0.2};
    struct umpire_answer s[2] = {{.text = "a", .logprobs = lp, .n_tokens = 2},
                                 {.text = "b", .logprobs = lp, .n_tokens = 2}};
    struct umpire_item it = {.id = "x", .samples = s, .k = 2, .correct = -1};
    struct umpire_score_params p = umpire_score_default_params();
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    for (size_t e = 0; e < ne; e++) {
        double v = umpire_score_item(&it, e, 1.0, &p);
        /* NaN exactly where the item lacks what the estimator needs */
        assert_int_equal(isnan(v), reg[e].needs != 0);
    }
}

/* The one entry point: hand-worked values on three answers whose embeddings point two ways
 * (phi_0 and phi_1 along x, phi_2 along y), every estimator's score the same as when it is
 * computed alone (sharing an intermediate changes no value), and the selection honoured. */
static void test_score_item_all(void **state) {
    (void)state;
    double lp0[] = {-0.1, -0.2}, lp1[] = {-0.5}, lp2[] = {-0.05, -0.3, -0.4}, h[] = {0.3, 0.2, 0.1};
    float e0[] = {1, 0, 0}, e1[] = {2, 0, 0}, e2[] = {0, 3, 0};
    double ent[9] = {1, 0.9, 0.1, 0.8, 1, 0.2, 0.7, 0.3, 1};
    struct umpire_answer s[3] = {
        {.text = "the capital paris", .logprobs = lp0, .n_tokens = 2, .embedding = e0, .entropies = h},
        {.text = "paris", .logprobs = lp1, .n_tokens = 1, .embedding = e1, .entropies = h},
        {.text = "rome", .logprobs = lp2, .n_tokens = 3, .embedding = e2, .entropies = h}};
    struct umpire_item it = {.id = "x", .samples = s, .k = 3, .dim = 3, .correct = -1,
                             .greedy = {.text = "paris", .logprobs = lp0, .n_tokens = 2},
                             .extras = UMPIRE_HAS_ENTAILMENT | UMPIRE_HAS_P_TRUE, .entailment = ent, .p_true = 0.75};
    struct umpire_score_params p = umpire_score_default_params();
    size_t ne;
    umpire_estimators(&ne);
    double *all = malloc(ne * sizeof *all), *some = malloc(ne * sizeof *some);
    int *selected = calloc(ne, sizeof *selected);
    assert_non_null(all);
    assert_non_null(some);
    assert_non_null(selected);
    const double alpha = 0.7;
    assert_int_equal(umpire_score_item_all(&it, &p, alpha, NULL, all, NULL), 0);
#define SCORE(name) all[umpire_estimator_index(name)]
    /* cosine W = [[1 1 0] [1 1 0] [0 0 1]]: eigenvalues of Phi Phi^T 2, 1, 0 */
    double u = (log(2 + 1e-8) + log(1 + 1e-8) + log(1e-8)) / 6;
    CLOSE(SCORE("semantic_volume"), u, 1e-8); /* the pivot (1 + eps) - 1 / (1 + eps) ~ 2 eps */
    double q = (-expm1(-0.3) - expm1(-0.5) - expm1(-0.75)) / 3;
    CLOSE(SCORE("incoherence"), q, 1e-15);
    assert_true(SCORE("umpire") == SCORE("semantic_volume") + alpha * SCORE("incoherence"));
    CLOSE(SCORE("numsets_cos"), 2, 0);
    CLOSE(SCORE("semantic_entropy_cos"), -(2.0 / 3) * log(2.0 / 3) - (1.0 / 3) * log(1.0 / 3), 1e-15);
    CLOSE(SCORE("degree_cos"), 4.0 / 9, 1e-15);
    /* ROUGE-L: "the capital paris" ~ "paris" 2 (1/3) / (1 + 1/3) = 0.5, the others 0 */
    CLOSE(SCORE("lexical_similarity"), 1 - 0.5 / 3, 1e-15);
    CLOSE(SCORE("numsets_lex"), 3, 0); /* 0.5 is not above the threshold 0.5 */
    CLOSE(SCORE("p_true"), 0.25, 0);
    /* entailment (E + E^T) / 2: 0.85 between 0 and 1, 0.4 and 0.25 to 2: two clusters */
    CLOSE(SCORE("numsets_nli"), 2, 0);
    for (size_t e = 0; e < ne; e++) { /* alone: the same bits */
        double v = umpire_score_item(&it, e, alpha, &p);
        assert_true((isnan(v) && isnan(all[e])) || v == all[e]);
        selected[e] = e % 3 == 1;
    }
    /* a selection: those and no others */
    assert_int_equal(umpire_score_item_all(&it, &p, alpha, selected, some, NULL), 0);
    for (size_t e = 0; e < ne; e++)
        assert_true(selected[e] ? (isnan(some[e]) && isnan(all[e])) || some[e] == all[e] : isnan(some[e]));
    /* no samples: only what one answer and the extra passes tell */
    it.k = 0;
    assert_int_equal(umpire_score_item_all(&it, &p, alpha, NULL, all, NULL), 0);
    CLOSE(SCORE("p_true"), 0.25, 0);
    CLOSE(SCORE("sequence_probability"), -expm1(-0.3), 1e-15);
    assert_true(isnan(SCORE("semantic_volume")) && isnan(SCORE("lexical_similarity")) && isnan(SCORE("degree_cos")));
#undef SCORE
    free(all);
    free(some);
    free(selected);
}

/* The registry names each graph estimator's similarity as data: the suffix of its name, and
 * what that similarity needs; every name once. */
static void test_registry_similarity(void **state) {
    (void)state;
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    const struct umpire_estimator_def *def = umpire_estimator_defs();
    size_t per_sim[UMPIRE_N_SIM] = {0};
    for (size_t e = 0; e < ne; e++) {
        const char *name = reg[e].name, *us = strrchr(name, '_');
        enum umpire_similarity want = !strcmp(name, "lexical_similarity") ? UMPIRE_SIM_LEXICAL
                                      : !us                               ? UMPIRE_SIM_NONE
                                      : !strcmp(us, "_cos")               ? UMPIRE_SIM_COSINE
                                      : !strcmp(us, "_lex")               ? UMPIRE_SIM_LEXICAL
                                      : !strcmp(us, "_nli")               ? UMPIRE_SIM_ENTAILMENT
                                                                          : UMPIRE_SIM_NONE;
        assert_int_equal(def[e].sim, want);
        per_sim[want]++;
        if (want == UMPIRE_SIM_COSINE)
            assert_true(reg[e].needs & UMPIRE_NEEDS_EMBEDDING);
        if (want == UMPIRE_SIM_ENTAILMENT)
            assert_true(reg[e].needs & UMPIRE_NEEDS_ENTAILMENT);
        assert_non_null(def[e].score);
        assert_int_equal(umpire_estimator_index(name), (int)e);
    }
    assert_int_equal(per_sim[UMPIRE_SIM_COSINE], 6);
    assert_int_equal(per_sim[UMPIRE_SIM_LEXICAL], 7);
    assert_int_equal(per_sim[UMPIRE_SIM_ENTAILMENT], 8);
}

static void test_mean_token_entropy(void **state) {
    (void)state;
    double lp[] = {-0.1, -0.2}, h0[] = {1.0, 3.0}, h1[] = {0.5, 0.5}, hg[] = {4.0, 0.0};
    struct umpire_answer s[2] = {{.text = "a", .logprobs = lp, .n_tokens = 2, .entropies = h0},
                                 {.text = "b", .logprobs = lp, .n_tokens = 2, .entropies = h1}};
    struct umpire_item it = {.id = "x", .samples = s, .k = 2, .correct = -1};
    /* no greedy: the samples' means 2 and 0.5, averaged */
    CLOSE(umpire_mean_token_entropy(NULL, s, 2), 1.25, 1e-12);
    /* a greedy answer without entropies does not count */
    it.greedy = (struct umpire_answer){.text = "a", .logprobs = lp, .n_tokens = 2};
    CLOSE(umpire_mean_token_entropy(&it.greedy, s, 2), 1.25, 1e-12);
    /* with entropies, the greedy answer's own mean */
    it.greedy.entropies = hg;
    CLOSE(umpire_mean_token_entropy(&it.greedy, s, 2), 2.0, 1e-12);
    s[0].entropies = s[1].entropies = NULL;
    it.greedy.entropies = NULL;
    assert_true(isnan(umpire_mean_token_entropy(&it.greedy, s, 2)));
}

static void test_parse_confidence(void **state) {
    (void)state;
    CLOSE(umpire_parse_confidence("0.85"), 0.85, 1e-12);
    CLOSE(umpire_parse_confidence("I'd say 85% sure."), 0.85, 1e-12);
    CLOSE(umpire_parse_confidence("85"), 0.85, 1e-12);
    CLOSE(umpire_parse_confidence("about .9"), 0.9, 1e-12);
    CLOSE(umpire_parse_confidence("1"), 1.0, 0);
    CLOSE(umpire_parse_confidence("Probability: 0"), 0.0, 0);
    CLOSE(umpire_parse_confidence("100 %"), 1.0, 1e-12);
    assert_true(isnan(umpire_parse_confidence("very likely")));
    assert_true(isnan(umpire_parse_confidence("250")));
    assert_true(isnan(umpire_parse_confidence("")));
    /* numbers above 1 are percentages only with "%" or as integers 2..100 (see verbal.c) */
    assert_true(isnan(umpire_parse_confidence("1.5")));  /* not 0.015 */
    assert_true(isnan(umpire_parse_confidence("85.5"))); /* a decimal above 1 needs its "%" */
    CLOSE(umpire_parse_confidence("85.5 %"), 0.855, 1e-12);
    CLOSE(umpire_parse_confidence("Confidence: 1.5%."), 0.015, 1e-12);
    CLOSE(umpire_parse_confidence("2"), 0.02, 1e-12);
    CLOSE(umpire_parse_confidence("1.0"), 1.0, 0);
    CLOSE(umpire_parse_confidence("0.85."), 0.85, 1e-12);
    CLOSE(umpire_parse_confidence("I'm 90% sure, 0.3"), 0.9, 1e-12); /* the first number */
    assert_true(isnan(umpire_parse_confidence("100.5")));
    assert_true(isnan(umpire_parse_confidence("101%")));
    assert_true(isnan(umpire_parse_confidence("-0.2")));
    assert_true(isnan(umpire_parse_confidence("1e-3"))); /* not 1 */
}

static void norm_is(const char *in, const char *want) {
    char out[128];
    umpire_normalise_answer(in, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_correctness(void **state) {
    (void)state;
    norm_is("The Eiffel Tower.", "eiffel tower");
    norm_is("  Two   cats!", "2 cats");
    norm_is("3.5 meters", "3.5 meters");
    norm_is("1,000 people", "1000 people");
    norm_is("an apple, a pear", "apple pear");
    norm_is("TWENTY-one", "20 1");
    const char *paris[] = {"Paris", "paris, france"};
    assert_int_equal(umpire_judge_answer("paris.", paris, 2, 1, UMPIRE_JUDGE_EXACT), 1);
    assert_int_equal(umpire_judge_answer("The city of Paris", paris, 2, 1, UMPIRE_JUDGE_EXACT), 0);
    /* ROUGE-L: "paris france" vs "paris": F = 2/3 < 0.8; vs "paris, france": 1 */
    assert_int_equal(umpire_judge_answer("Paris, France", paris, 1, 1, UMPIRE_JUDGE_ROUGE), 0);
    assert_int_equal(umpire_judge_answer("Paris, France", paris, 2, 1, UMPIRE_JUDGE_ROUGE), 1);
    const char *two[] = {"two"};
    assert_int_equal(umpire_judge_answer("2", two, 1, 1, UMPIRE_JUDGE_EXACT), 1);
    /* refusals: right only for unanswerable questions */
    assert_true(umpire_is_refusal("I don\xe2\x80\x99t know."));
    assert_true(umpire_is_refusal("It cannot be determined from the image"));
    assert_false(umpire_is_refusal("Paris"));
    assert_int_equal(umpire_judge_answer("I don't know", paris, 2, 0, UMPIRE_JUDGE_AUTO), 1);
    assert_int_equal(umpire_judge_answer("Paris", paris, 2, 0, UMPIRE_JUDGE_AUTO), 0);
    assert_int_equal(umpire_judge_answer("I don't know", paris, 2, 1, UMPIRE_JUDGE_ROUGE), 0);
    const char *letters[] = {"b"};
    assert_int_equal(umpire_judge_letter('B', letters, 1), 1);
    assert_int_equal(umpire_judge_letter('A', letters, 1), 0);
    enum umpire_judge j;
    assert_int_equal(umpire_judge_parse("rouge", &j), 0);
    assert_int_equal(j, UMPIRE_JUDGE_ROUGE);
    assert_int_equal(umpire_judge_parse("llm", &j), 0);
    assert_int_equal(j, UMPIRE_JUDGE_LLM);
    assert_int_equal(umpire_judge_parse("gpt", &j), -1);
    assert_int_equal(umpire_judge_parse("contains", &j), 0);
    assert_int_equal(j, UMPIRE_JUDGE_CONTAINS);
    assert_string_equal(umpire_judge_name(UMPIRE_JUDGE_CONTAINS), "contains");
}

/* the judge by meaning: an accepted answer's words, in a row, among the answer's words */
static void test_correctness_contains(void **state) {
    (void)state;
    const char *oslo[] = {"Oslo"}, *kong[] = {"Hong Kong"}, *pets[] = {"cat", "dog"};
    static const char *const right[] = {"Oslo", "in Oslo", "Zaki Bor lives in Oslo.", "OSLO!",
                                        "The home of Zaki Bor is in Oslo. It is in Norway.", "oslo,lima"};
    for (size_t i = 0; i < sizeof right / sizeof *right; i++)
        assert_int_equal(umpire_judge_answer(right[i], oslo, 1, 1, UMPIRE_JUDGE_CONTAINS), 1);
    /* another value, a longer word that begins or ends with it, a part of it, nothing */
    static const char *const wrong[] = {"Lima", "in Lima", "Osloville", "Nosl oslon", "Osl", "", "."};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++)
        assert_int_equal(umpire_judge_answer(wrong[i], oslo, 1, 1, UMPIRE_JUDGE_CONTAINS), 0);
    /* several words: all of them, in order, next to each other */
    assert_int_equal(umpire_judge_answer("She lives in Hong Kong.", kong, 1, 1, UMPIRE_JUDGE_CONTAINS), 1);
    assert_int_equal(umpire_judge_answer("Kong Hong", kong, 1, 1, UMPIRE_JUDGE_CONTAINS), 0);
    assert_int_equal(umpire_judge_answer("Hong and Kong", kong, 1, 1, UMPIRE_JUDGE_CONTAINS), 0);
    /* a set of valid answers: any member; the articles go on both sides */
    assert_int_equal(umpire_judge_answer("A dog.", pets, 2, 1, UMPIRE_JUDGE_CONTAINS), 1);
    assert_int_equal(umpire_judge_answer("She has a cat", pets, 2, 1, UMPIRE_JUDGE_CONTAINS), 1);
    assert_int_equal(umpire_judge_answer("a catfish", pets, 2, 1, UMPIRE_JUDGE_CONTAINS), 0);
    /* an accepted answer that normalises to nothing matches nothing */
    const char *empty[] = {"the"};
    assert_int_equal(umpire_judge_answer("the cat", empty, 1, 1, UMPIRE_JUDGE_CONTAINS), 0);
    /* declining: wrong when answerable, right when not */
    assert_int_equal(umpire_judge_answer("I don't know Oslo", oslo, 1, 1, UMPIRE_JUDGE_CONTAINS), 0);
    assert_int_equal(umpire_judge_answer("I don't know", oslo, 1, 0, UMPIRE_JUDGE_CONTAINS), 1);
    /* exact is stricter: the sentence is not the value */
    assert_int_equal(umpire_judge_answer("in Oslo", oslo, 1, 1, UMPIRE_JUDGE_EXACT), 0);
}

/* Unicode's table 3-7, at its edges: what is well-formed, and how long each ill-formed part is
 * (one U+FFFD per maximal part, as the Unicode and WHATWG decoders count them) */
static void test_utf8(void **state) {
    (void)state;
    static const struct {
        const char *s;
        size_t len; /* of the first character, 0: ill-formed */
    } cases[] = {
        {"A", 1},
        {"\xc2\x80", 2},         /* U+0080, the first 2-byte */
        {"\xdf\xbf", 2},         /* U+07FF */
        {"\xe0\xa0\x80", 3},     /* U+0800 */
        {"\xed\x9f\xbf", 3},     /* U+D7FF, just below the surrogates */
        {"\xee\x80\x80", 3},     /* U+E000, just above */
        {"\xef\xbf\xbd", 3},     /* U+FFFD */
        {"\xf0\x90\x80\x80", 4}, /* U+10000 */
        {"\xf0\x9f\x98\x80", 4}, /* U+1F600, an emoji */
        {"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF, the last */
        {"\xc0\xaf", 0},         /* overlong '/' */
        {"\xc1\xbf", 0},         /* overlong U+007F */
        {"\xe0\x80\xaf", 0},     /* overlong '/' in 3 bytes */
        {"\xe0\x9f\xbf", 0},     /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 0}, /* overlong '/' in 4 bytes */
        {"\xf0\x8f\xbf\xbf", 0}, /* overlong U+FFFF */
        {"\xed\xa0\x80", 0},     /* U+D800, a surrogate */
        {"\xed\xbf\xbf", 0},     /* U+DFFF */
        {"\xf4\x90\x80\x80", 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 0}, /* beyond */
        {"\xff", 0},
        {"\x80", 0},      /* a stray continuation byte */
        {"\xe2\x82", 0},  /* truncated (the euro sign's first 2 bytes) */
        {"\342\202A", 0}, /* the same, then a letter */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const unsigned char *u = (const unsigned char *)cases[i].s;
        size_t n = umpire_utf8_char(u, strlen(cases[i].s)), bad = 99;
        if (n != cases[i].len)
            fail_msg("case %zu: length %zu, expected %zu", i, n, cases[i].len);
        assert_int_equal(umpire_utf8_valid(cases[i].s, &bad), cases[i].len == strlen(cases[i].s));
        if (!cases[i].len)
            assert_int_equal(bad, 0);
    }
    size_t bad = 99;
    assert_false(umpire_utf8_valid("ok \xe2\x82\xac then \xed\xa0\x80", &bad));
    /* the surrogate's first byte: 3 + 3 (the euro sign) + 6 bytes before it */
    assert_int_equal(bad, 12);
    assert_true(umpire_utf8_valid("", NULL));
    /* repair: a maximal ill-formed part is one U+FFFD; a bad second byte starts anew */
    static const struct {
        const char *in, *out;
        size_t n_bad;
    } fix[] = {
        {"caf\xc3\xa9", "caf\xc3\xa9", 0},
        {"a\xe2\x82", "a\xef\xbf\xbd", 1}, /* cut inside the euro sign */
        {"\342\202A", "\357\277\275A", 1},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 2},                   /* C0 is never a lead byte */
        {"\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx", 3}, /* A0 is not after ED */
        {"\xf0\x9f\x98", "\xef\xbf\xbd", 1},                           /* an emoji cut short */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4},
    };
    for (size_t i = 0; i < sizeof fix / sizeof fix[0]; i++) {
        size_t n_bad = 99;
        char *o = umpire_utf8_repair(fix[i].in, strlen(fix[i].in), &n_bad);
        assert_non_null(o);
        assert_string_equal(o, fix[i].out);
        assert_int_equal(n_bad, fix[i].n_bad);
        assert_true(umpire_utf8_valid(o, NULL));
        free(o);
    }
}

/* The k x k linear algebra against values worked out by hand */
static void test_linalg(void **state) {
    (void)state;
    /* [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1) / sqrt 2 and (1, 1) / sqrt 2 */
    double a[4] = {2, 1, 1, 2}, w[3], v[9];
    assert_int_equal(umpire_eigh(a, 2, w, v), 0);
    CLOSE(w[0], 1.0, 1e-14);
    CLOSE(w[1], 3.0, 1e-14);
    CLOSE(fabs(v[0 * 2 + 0]), sqrt(0.5), 1e-14); /* column 0 */
    CLOSE(v[0 * 2 + 0], -v[1 * 2 + 0], 1e-14);
    CLOSE(v[0 * 2 + 1], v[1 * 2 + 1], 1e-14); /* column 1 */
    /* a 3 x 3 path-graph Laplacian [[1,-1,0],[-1,2,-1],[0,-1,1]]: 0, 1, 3; A v = lambda v */
    double l[9] = {1, -1, 0, -1, 2, -1, 0, -1, 1};
    assert_int_equal(umpire_eigh(l, 3, w, v), 0);
    CLOSE(w[0], 0.0, 1e-14);
    CLOSE(w[1], 1.0, 1e-14);
    CLOSE(w[2], 3.0, 1e-14);
    for (size_t c = 0; c < 3; c++)
        for (size_t i = 0; i < 3; i++)
            CLOSE(l[i * 3] * v[c] + l[i * 3 + 1] * v[3 + c] + l[i * 3 + 2] * v[6 + c],
                  w[c] * v[i * 3 + c], 1e-13);
    double diag[9] = {5, 0, 0, 0, -1, 0, 0, 0, 2}; /* already diagonal: sorted, not rotated */
    assert_int_equal(umpire_eigh(diag, 3, w, NULL), 0);
    CLOSE(w[0], -1.0, 0);
    CLOSE(w[1], 2.0, 0);
    CLOSE(w[2], 5.0, 0);
    double nan_m[4] = {1, NAN, NAN, 1};
    assert_int_equal(umpire_eigh(nan_m, 2, w, NULL), -1);
    /* log det([[4, 2], [2, 3]] + 0 I) = log 8 by Cholesky; the all-ones matrix is singular and
     * goes to the eigenvalues: log(2 + j) + log(j) */
    double b[4] = {4, 2, 2, 3}, ones[4] = {1, 1, 1, 1}, logdet;
    assert_int_equal(umpire_logdet_psd(b, 2, 1e-300, &logdet), 0);
    CLOSE(logdet, log(8.0), 1e-14);
    assert_int_equal(umpire_logdet_psd(ones, 2, 1e-20, &logdet), 0);
    CLOSE(logdet, log(2.0) + log(1e-20), 1e-9);
    /* Gram: rows (1, 2, 3) and (4, 5, 6): 14, 32, 77 */
    double x[6] = {1, 2, 3, 4, 5, 6}, g[4];
    umpire_gram(x, 2, 3, g);
    CLOSE(g[0], 14, 0);
    CLOSE(g[1], 32, 0);
    CLOSE(g[2], 32, 0);
    CLOSE(g[3], 77, 0);
}

/* The public writer of the interchange format: what it writes, umpire_sampleset_read reads back
 * exactly (numbers to the last bit, a UTF-8 id, the greedy answer, the label), and writing what
 * was read gives the same bytes. */
static void test_sampleset_write_roundtrip(void **state) {
    (void)state;
    enum { K = 3, T = 2, D = 4 };
    struct umpire_answer a[K];
    int32_t tok[K][T];
    double lp[K][T], ent[K][T];
    float emb[K][D];
    for (int i = 0; i < K; i++) {
        for (int t = 0; t < T; t++) {
            tok[i][t] = 100 * i + t;
            lp[i][t] = -0.1 * (i + 1) - 1e-17 * t - 1.0 / 3.0; /* digits cJSON's own printing would lose */
            ent[i][t] = 0.7 + 0.01 * i + t / 7.0;
        }
        for (int j = 0; j < D; j++)
            emb[i][j] = (float)((i + 1) * (j - 1.5)) / 3.0f;
        a[i] = (struct umpire_answer){.text = i ? "Paris" : "paris, France", .tokens = tok[i], .logprobs = lp[i],
                                      .n_tokens = T, .entropies = ent[i], .embedding = emb[i],
                                      .finish = UMPIRE_FINISH_EOS};
    }
    struct umpire_item it = {.id = "q\xc3\xa9-1", .samples = a, .k = K, .dim = D, .probs = UMPIRE_PROBS_RAW,
                             .greedy = a[1], .correct = 1, .middle_layer = -1};
    struct umpire_sampleset set = {.items = &it, .n = 1};
    char dir[] = "/tmp/umpire-write-XXXXXX", path[64], path2[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.jsonl", dir);
    snprintf(path2, sizeof path2, "%s/b.jsonl", dir);
    char err[UMPIRE_ERR_LEN] = "";
    assert_int_equal(umpire_sampleset_write(path, &set, err), 0);
    struct umpire_sampleset back;
    assert_int_equal(umpire_sampleset_read(path, &back, err), 0);
    assert_int_equal(back.n, 1);
    const struct umpire_item *b = &back.items[0];
    assert_string_equal(b->id, it.id);
    assert_int_equal(b->k, K);
    assert_int_equal(b->dim, D);
    assert_int_equal(b->correct, 1);
    assert_int_equal(b->probs, UMPIRE_PROBS_RAW);
    for (int i = 0; i < K; i++) {
        assert_string_equal(b->samples[i].text, a[i].text);
        assert_int_equal(b->samples[i].n_tokens, T);
        assert_memory_equal(b->samples[i].tokens, tok[i], sizeof tok[i]);
        assert_memory_equal(b->samples[i].logprobs, lp[i], sizeof lp[i]); /* bit for bit */
        assert_memory_equal(b->samples[i].entropies, ent[i], sizeof ent[i]);
        assert_memory_equal(b->samples[i].embedding, emb[i], sizeof emb[i]);
    }
    assert_string_equal(b->greedy.text, "Paris");
    assert_memory_equal(b->greedy.logprobs, lp[1], sizeof lp[1]);
    assert_int_equal(umpire_sampleset_write(path2, &back, err), 0);
    FILE *f1 = fopen(path, "rb"), *f2 = fopen(path2, "rb");
    char x[4096], y[4096];
    size_t n1 = fread(x, 1, sizeof x, f1), n2 = fread(y, 1, sizeof y, f2);
    fclose(f1);
    fclose(f2);
    if (n1 != n2 || memcmp(x, y, n1))
        fprintf(stderr, "written:   %.*s\nrewritten: %.*s\n", (int)n1, x, (int)n2, y);
    assert_int_equal(n1, n2);
    assert_memory_equal(x, y, n1);
    char *line = umpire_item_to_jsonl(&it); /* the file's line, without its newline */
    assert_non_null(line);
    assert_int_equal(strlen(line) + 1, n1);
    assert_memory_equal(line, x, n1 - 1);
    umpire_free(line);
    umpire_sampleset_free(&back);
    remove(path);
    remove(path2);
    remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampleset_write_roundtrip),
        cmocka_unit_test(test_metrics_compare),
        cmocka_unit_test(test_idk_rates),
        cmocka_unit_test(test_volume_identical_samples),
        cmocka_unit_test(test_volume_eigen_fallback),
        cmocka_unit_test(test_volume_orthogonal_and_scale_invariant),
        cmocka_unit_test(test_volume_order_invariant_and_bounded),
        cmocka_unit_test(test_volume_errors),
        cmocka_unit_test(test_incoherence_and_alpha),
        cmocka_unit_test(test_one_minus_p_near_one),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_softmax_row),
        cmocka_unit_test(test_dev_split),
        cmocka_unit_test(test_auroc),
        cmocka_unit_test(test_auprc_and_tpr),
        cmocka_unit_test(test_rejection_metrics),
        cmocka_unit_test(test_curves_match_metrics),
        cmocka_unit_test(test_cpc_and_ece),
        cmocka_unit_test(test_rouge_l),
        cmocka_unit_test(test_graph_extremes),
        cmocka_unit_test(test_score_item_needs),
        cmocka_unit_test(test_score_item_all),
        cmocka_unit_test(test_registry_similarity),
        cmocka_unit_test(test_mean_token_entropy),
        cmocka_unit_test(test_parse_confidence),
        cmocka_unit_test(test_correctness),
        cmocka_unit_test(test_correctness_contains),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_linalg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
