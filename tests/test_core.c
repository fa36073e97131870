/* test_core.c - the core math against hand-worked values and properties a wrong
 * implementation would break. (The full estimator set is also checked against an
 * independent numpy reference: tests/ref/scores_ref.py.) */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/baselines.h"
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

static void test_dev_split(void **state) {
    (void)state;
    size_t a[100], b[100], c[100];
    size_t na = umpire_dev_split(100, 0.1, 7, a), nb = umpire_dev_split(100, 0.1, 7, b);
    size_t nc = umpire_dev_split(100, 0.1, 8, c);
    assert_int_equal(na, 10);
    assert_int_equal(nb, 10);
    assert_memory_equal(a, b, 10 * sizeof a[0]); /* same seed, same split */
    assert_int_equal(nc, 10);
    assert_true(memcmp(a, c, 10 * sizeof a[0]) != 0);
    for (size_t i = 1; i < na; i++)
        assert_true(a[i - 1] < a[i] && a[i] < 100); /* sorted, distinct */
    assert_int_equal(umpire_dev_split(5, 0.1, 1, a), 1); /* at least one item */
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
    /* ROC points (0, .5) (.5, .5) (.5, 1) (1, 1): at FPR .1 -> TPR .5 */
    CLOSE(umpire_tpr_at_fpr(s, w, 4, 0.10), 0.5, 1e-12);
    double s2[] = {0.9, 0.8, 0.7, 0.6, 0.5};
    int w2[] = {1, 0, 1, 0, 0}; /* points (0,.5) (1/3,.5) (1/3,1) ...: FPR .1 -> .5 */
    CLOSE(umpire_tpr_at_fpr(s2, w2, 5, 0.10), 0.5, 1e-12);
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
    CLOSE(r.value[UMPIRE_M_AURAC], (0.5 + 2.0 / 3 + 1 + 1) / 4, 1e-12);
    int rev[] = {0, 0, 1, 1}; /* the worst order: PRR < 0 */
    assert_int_equal(umpire_metrics_compute(s, rev, 4, &p, &r, NULL), 0);
    assert_true(r.value[UMPIRE_M_PRR] < 0);
    double tied[] = {1, 1, 1, 1}; /* constant score = random rejection: PRR 0 */
    assert_int_equal(umpire_metrics_compute(tied, w, 4, &p, &r, NULL), 0);
    CLOSE(r.value[UMPIRE_M_PRR], 0.0, 1e-12);
    assert_true(isnan(r.value[UMPIRE_M_CPC])); /* one bin: no correlation */
}

static void test_cpc_and_ece(void **state) {
    (void)state;
    /* scores 0..3 evenly: min-max p = 0, 1/3, 2/3, 1; wrong = 0 0 1 1 */
    double s[] = {0, 1, 2, 3};
    int w[] = {0, 0, 1, 1};
    double p[] = {0, 1.0 / 3, 2.0 / 3, 1};
    /* equal-width 10 bins, one answer each: |0-0| + |1/3-0| + |2/3-1| + |1-1|, over 4 */
    CLOSE(umpire_ece(p, w, 4, 10, 0), (1.0 / 3 + 1.0 / 3) / 4, 1e-12);
    /* equal mass, 2 bins: {0, 1/3} vs {0, 0}, {2/3, 1} vs {1, 1} */
    CLOSE(umpire_ece(p, w, 4, 2, 1), (1.0 / 3 + 1.0 / 3) / 4, 1e-12);
    /* CPC with 3 bins over (-1e-5, 3]: width (3 + 1e-5) / 3; bins {0}, {1, 2}? no: 1 <= w */
    double width = (3 + 1e-5) / 3, lo = -1e-5;
    /* 0 -> bin 0, 1 -> bin 0 (1 <= lo + w), 2 -> bin 1 (2 <= lo + 2w), 3 -> bin 2 */
    double edges[] = {lo, lo + width, lo + 2 * width}, rates[] = {0, 1, 1};
    double mx = (edges[0] + edges[1] + edges[2]) / 3, my = 2.0 / 3, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 3; i++) {
        sxy += (edges[i] - mx) * (rates[i] - my);
        sxx += (edges[i] - mx) * (edges[i] - mx);
        syy += (rates[i] - my) * (rates[i] - my);
    }
    CLOSE(umpire_cpc(s, w, 4, 3), sxy / sqrt(sxx * syy), 1e-12);
}

static void test_rouge_l(void **state) {
    (void)state;
    CLOSE(umpire_rouge_l("The cat sat.", "the cat sat down"), 2 * 0.75 / 1.75, 1e-12);
    CLOSE(umpire_rouge_l("a b c", "c b a"), 1.0 / 3, 1e-12);
    CLOSE(umpire_rouge_l("Paris", "paris!"), 1.0, 0);
    CLOSE(umpire_rouge_l("", ""), 1.0, 0);
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

static void test_mean_token_entropy(void **state) {
    (void)state;
    double lp[] = {-0.1, -0.2}, h0[] = {1.0, 3.0}, h1[] = {0.5, 0.5}, hg[] = {4.0, 0.0};
    struct umpire_answer s[2] = {{.text = "a", .logprobs = lp, .n_tokens = 2, .entropies = h0},
                                 {.text = "b", .logprobs = lp, .n_tokens = 2, .entropies = h1}};
    struct umpire_item it = {.id = "x", .samples = s, .k = 2, .correct = -1};
    /* no greedy: the samples' means 2 and 0.5, averaged */
    CLOSE(umpire_mean_token_entropy(&it), 1.25, 1e-12);
    /* a greedy answer without entropies does not count */
    it.greedy = (struct umpire_answer){.text = "a", .logprobs = lp, .n_tokens = 2};
    CLOSE(umpire_mean_token_entropy(&it), 1.25, 1e-12);
    /* with entropies, the greedy answer's own mean */
    it.greedy.entropies = hg;
    CLOSE(umpire_mean_token_entropy(&it), 2.0, 1e-12);
    s[0].entropies = s[1].entropies = NULL;
    it.greedy.entropies = NULL;
    assert_true(isnan(umpire_mean_token_entropy(&it)));
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
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volume_identical_samples),
        cmocka_unit_test(test_volume_eigen_fallback),
        cmocka_unit_test(test_volume_orthogonal_and_scale_invariant),
        cmocka_unit_test(test_volume_order_invariant_and_bounded),
        cmocka_unit_test(test_volume_errors),
        cmocka_unit_test(test_incoherence_and_alpha),
        cmocka_unit_test(test_dev_split),
        cmocka_unit_test(test_auroc),
        cmocka_unit_test(test_auprc_and_tpr),
        cmocka_unit_test(test_rejection_metrics),
        cmocka_unit_test(test_cpc_and_ece),
        cmocka_unit_test(test_rouge_l),
        cmocka_unit_test(test_graph_extremes),
        cmocka_unit_test(test_score_item_needs),
        cmocka_unit_test(test_mean_token_entropy),
        cmocka_unit_test(test_parse_confidence),
        cmocka_unit_test(test_correctness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
