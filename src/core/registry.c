/* registry.c - every estimator umpire computes, one row each, in report order: its name and
 * formula (as tables and --help show them), what it needs from an item, the similarity it is
 * computed on, whether one answer defines it, and its function, which reads the item's shared
 * intermediates from the scorer (scorer.c). Adding an estimator is a row here and its function;
 * a graph estimator on a new similarity is a row naming that similarity. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/baselines.h"
#include "core/scorer.h"

#define EMB UMPIRE_NEEDS_EMBEDDING
#define GRD UMPIRE_NEEDS_GREEDY
#define ENT UMPIRE_NEEDS_ENTROPIES
#define MID UMPIRE_NEEDS_MIDDLE
#define NLI UMPIRE_NEEDS_ENTAILMENT
#define RAW UMPIRE_NEEDS_RAW
#define GRAD UMPIRE_NEEDS_GRADIENTS
#define COS UMPIRE_SIM_COSINE
#define LEX UMPIRE_SIM_LEXICAL
#define ENTAIL UMPIRE_SIM_ENTAILMENT
#define NONE UMPIRE_SIM_NONE

/* X(ID, name, formula, needs, similarity, single, function) */
// clang-format off
#define ESTIMATORS(X) \
    X(UMPIRE, "umpire", "V = U + alpha Q", EMB, NONE, 0, umpire_v) \
    X(VOLUME, "semantic_volume", "U = logdet(Phi Phi^T + eps I) / 2k", EMB, NONE, 0, volume) \
    X(INCOHERENCE, "incoherence", "Q = mean_i (1 - p_i)", 0, NONE, 0, incoherence) \
    X(PE, "predictive_entropy", "-mean_i log p_i", 0, NONE, 0, predictive_entropy) \
    X(LNPE, "ln_predictive_entropy", "-mean_i (1/T_i) log p_i (Malinin & Gales)", 0, NONE, 0, ln_predictive_entropy) \
    X(LNE, "ln_entropy", "mean_i (1/T_i) sum_t -p_t log p_t (UMPIRE's LN-Entropy)", 0, NONE, 0, ln_entropy) \
    X(SEQPROB, "sequence_probability", "1 - p(greedy)", GRD, NONE, 1, sequence_probability) \
    X(PPL, "perplexity", "exp(-(1/T) log p(greedy))", GRD, NONE, 1, perplexity) \
    X(MTE, "mean_token_entropy", "mean_t H_t", ENT, NONE, 1, mean_token_entropy) \
    X(PE_RAW, "predictive_entropy_raw", "predictive_entropy, raw model log-probs", RAW, NONE, 0, predictive_entropy) \
    X(LNPE_RAW, "ln_predictive_entropy_raw", "ln_predictive_entropy, raw model log-probs", RAW, NONE, 0, ln_predictive_entropy) \
    X(LNE_RAW, "ln_entropy_raw", "ln_entropy, raw model log-probs", RAW, NONE, 0, ln_entropy) \
    X(SEQPROB_RAW, "sequence_probability_raw", "1 - p(greedy), raw model log-probs", RAW | GRD, NONE, 1, sequence_probability) \
    X(PPL_RAW, "perplexity_raw", "perplexity, raw model log-probs", RAW | GRD, NONE, 1, perplexity) \
    X(MTE_RAW, "mean_token_entropy_raw", "mean_t H_t of the raw distribution", RAW | ENT, NONE, 1, mean_token_entropy) \
    X(LEXSIM, "lexical_similarity", "1 - mean_{i<j} ROUGE-L(y_i, y_j)", 0, LEX, 0, lexical_similarity) \
    X(EIGENSCORE, "eigenscore", "mean log10 eig(cov(middle states) + 1e-3 I) (INSIDE)", MID, NONE, 0, eigenscore) \
    X(EIGENSCORE_UMPIRE, "eigenscore_umpire", "mean log10 eig(cov(phi / |phi|) + 1e-8 I) (UMPIRE's)", EMB, NONE, 0, eigenscore_umpire) \
    X(NUMSETS_COS, "numsets_cos", "#clusters, cosine > t", EMB, COS, 0, numsets) \
    X(SE_COS, "semantic_entropy_cos", "-sum_c (|c|/k) log(|c|/k), cosine", EMB, COS, 0, semantic_entropy) \
    X(EIGV_COS, "eigv_cos", "sum_j max(0, 1 - lambda_j(L)), cosine", EMB, COS, 0, eigv) \
    X(DEGREE_COS, "degree_cos", "1 - mean W, cosine", EMB, COS, 0, degree) \
    X(ECC_COS, "eccentricity_cos", "||v_j - mean v||, cosine", EMB, COS, 0, eccentricity) \
    X(KLE_COS, "kle_cos", "VNE(heat kernel exp(-tL)), cosine", EMB, COS, 0, kle) \
    X(NUMSETS_LEX, "numsets_lex", "#clusters, ROUGE-L > t", 0, LEX, 0, numsets) \
    X(SE_LEX, "semantic_entropy_lex", "-sum_c (|c|/k) log(|c|/k), ROUGE-L", 0, LEX, 0, semantic_entropy) \
    X(EIGV_LEX, "eigv_lex", "sum_j max(0, 1 - lambda_j(L)), ROUGE-L", 0, LEX, 0, eigv) \
    X(DEGREE_LEX, "degree_lex", "1 - mean W, ROUGE-L", 0, LEX, 0, degree) \
    X(ECC_LEX, "eccentricity_lex", "||v_j - mean v||, ROUGE-L", 0, LEX, 0, eccentricity) \
    X(KLE_LEX, "kle_lex", "VNE(heat kernel exp(-tL)), ROUGE-L", 0, LEX, 0, kle) \
    X(PTRUE, "p_true", "1 - P(True) (Kadavath et al. 2022)", UMPIRE_NEEDS_P_TRUE, NONE, 1, p_true) \
    X(VERBAL, "verbalised", "1 - stated confidence (Tian et al. 2023)", UMPIRE_NEEDS_VERBALISED, NONE, 1, verbalised) \
    X(CHOICE, "choice_confidence", "1 - P(chosen option letter) (Calibration-MLLM)", UMPIRE_NEEDS_CHOICE, NONE, 1, choice_confidence) \
    X(SEMGRAD, "semgrad", "mean |dL/dh|, later half of the layers, one prompt token (SemGrad)", GRAD, NONE, 1, semgrad) \
    X(EXGRAD, "exgrad", "mean |dL/dW_out| (SemGrad's ExGrad)", GRAD, NONE, 1, exgrad) \
    X(HYBRIDGRAD, "hybridgrad", "a ExGrad + (1 - a) SemGrad, a = exp(-mean_t H_t)", GRAD, NONE, 1, hybridgrad) \
    X(NUMSETS_NLI, "numsets_nli", "#clusters, entailment > t", NLI, ENTAIL, 0, numsets) \
    X(SE_NLI, "semantic_entropy_nli", "-sum_c (|c|/k) log(|c|/k), entailment", NLI, ENTAIL, 0, semantic_entropy) \
    X(SEW_NLI, "semantic_entropy_weighted_nli", "-sum_c p(c) log p(c), p(c) ~ sum of distinct answers' p", NLI, ENTAIL, 0, semantic_entropy_weighted) \
    X(SES_NLI, "semantic_entropy_strict_nli", "-sum_c p(c) log p(c), strict bidirectional clusters (Kuhn et al.; UMPIRE's SE)", NLI, ENTAIL, 0, semantic_entropy_strict) \
    X(EIGV_NLI, "eigv_nli", "sum_j max(0, 1 - lambda_j(L)), entailment", NLI, ENTAIL, 0, eigv) \
    X(DEGREE_NLI, "degree_nli", "1 - mean W, entailment", NLI, ENTAIL, 0, degree) \
    X(ECC_NLI, "eccentricity_nli", "||v_j - mean v||, entailment", NLI, ENTAIL, 0, eccentricity) \
    X(KLE_NLI, "kle_nli", "VNE(heat kernel exp(-tL)), entailment", NLI, ENTAIL, 0, kle)
// clang-format on

#define AS_ENUM(id, name, formula, needs, sim, single, fn) E_##id,
enum { ESTIMATORS(AS_ENUM) E_COUNT };

typedef struct umpire_scorer scorer;
typedef struct umpire_estimator_input input;

/* ---- the estimators' functions (the formulas: volume.c, entropy.c, eigenscore.c, graph.c) */

static double umpire_v(scorer *s, const input *in) {
    return umpire_scorer_score(s, E_VOLUME) + in->alpha * umpire_scorer_score(s, E_INCOHERENCE);
}

static double volume(scorer *s, const input *in) {
    size_t bad;
    if (!umpire_scorer_unit_rows(s, &bad) || bad < in->k || !(in->p->eps > 0))
        return NAN; /* a row of zero norm has no direction: U is undefined */
    const double *g = umpire_scorer_gram(s);
    return g ? umpire_volume_of_gram(g, in->k, in->p->eps) : NAN;
}

static double incoherence(scorer *s, const input *in) {
    (void)s;
    return umpire_incoherence(in->answers, in->k, in->p->length_normalised);
}

static double predictive_entropy(scorer *s, const input *in) {
    (void)s;
    return umpire_predictive_entropy(in->answers, in->k);
}

static double ln_predictive_entropy(scorer *s, const input *in) {
    (void)s;
    return umpire_ln_predictive_entropy(in->answers, in->k);
}

static double ln_entropy(scorer *s, const input *in) {
    (void)s;
    return umpire_ln_entropy(in->answers, in->k);
}

static double sequence_probability(scorer *s, const input *in) {
    (void)s;
    return umpire_sequence_probability(in->greedy);
}

static double perplexity(scorer *s, const input *in) {
    (void)s;
    return umpire_perplexity(in->greedy);
}

static double mean_token_entropy(scorer *s, const input *in) {
    (void)s;
    return umpire_mean_token_entropy(in->greedy, in->answers, in->k);
}

/* 1 - mean over pairs i < j */
static double lexical_similarity(scorer *s, const input *in) {
    const double *w = umpire_scorer_similarity(s, in->sim);
    if (!w)
        return NAN;
    const size_t k = in->k;
    double sum = 0.0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            sum += w[i * k + j];
    return 1.0 - sum / (double)(k * (k - 1) / 2);
}

/* INSIDE's EigenScore: on the middle layer's states as they are, jitter 1e-3 */
static double eigenscore(scorer *s, const input *in) {
    const struct umpire_item *it = in->item;
    for (size_t i = 0; i < in->k; i++)
        if (!it->samples[i].middle)
            return NAN;
    float *m = malloc(in->k * it->dim_middle * sizeof *m);
    if (!m)
        return umpire_scorer_nomem(s);
    for (size_t i = 0; i < in->k; i++)
        memcpy(m + i * it->dim_middle, it->samples[i].middle, it->dim_middle * sizeof *m);
    double v = umpire_eigenscore(m, in->k, it->dim_middle, 0, 1e-3);
    free(m);
    return v;
}

/* UMPIRE's EigenScore: on the L2-normalised phi, jitter 1e-8 (undefined with a zero row) */
static double eigenscore_umpire(scorer *s, const input *in) {
    const size_t k = in->k, d = in->item->dim;
    size_t bad;
    const double *unit = umpire_scorer_unit_rows(s, &bad);
    if (!unit || bad < k || d < 2)
        return NAN;
    double *z = malloc(k * d * sizeof *z);
    if (!z)
        return umpire_scorer_nomem(s);
    memcpy(z, unit, k * d * sizeof *z);
    double v = umpire_eigenscore_rows(z, k, d, 1e-8);
    free(z);
    return v;
}

static double numsets(scorer *s, const input *in) {
    size_t n;
    return umpire_scorer_clusters(s, in->sim, &n) ? (double)n : NAN;
}

static double semantic_entropy(scorer *s, const input *in) {
    size_t n;
    const size_t *c = umpire_scorer_clusters(s, in->sim, &n);
    return c ? umpire_cluster_entropy(c, n, in->k) : NAN;
}

static double semantic_entropy_weighted(scorer *s, const input *in) {
    size_t n;
    const size_t *c = umpire_scorer_clusters(s, in->sim, &n);
    return c ? umpire_cluster_entropy_weighted(c, n, in->answers, in->k) : NAN;
}

/* the reference's clusters are drawn on E itself, not on the symmetrised W */
static double semantic_entropy_strict(scorer *s, const input *in) {
    (void)s;
    return umpire_semantic_entropy_strict(in->item->entailment, in->answers, in->k, in->p->cluster_threshold);
}

static double eigv(scorer *s, const input *in) {
    const struct umpire_scorer_eigen *l = umpire_scorer_laplacian(s, in->sim);
    return l ? umpire_eigv_of(l->values, in->k) : NAN;
}

static double degree(scorer *s, const input *in) {
    const double *w = umpire_scorer_similarity(s, in->sim);
    return w ? umpire_degree(w, in->k) : NAN;
}

static double eccentricity(scorer *s, const input *in) {
    const struct umpire_scorer_eigen *l = umpire_scorer_laplacian(s, in->sim);
    return l ? umpire_eccentricity_of(l->values, l->vectors, in->k) : NAN;
}

static double kle(scorer *s, const input *in) {
    const double *w = umpire_scorer_similarity(s, in->sim);
    return w ? umpire_kernel_language_entropy(w, in->k, in->p->kle_t) : NAN;
}

/* the gradient scores, computed by the engine (src/grad) and carried by the item */
static double semgrad(scorer *s, const input *in) {
    (void)s;
    return in->item->semgrad;
}

static double exgrad(scorer *s, const input *in) {
    (void)s;
    return in->item->exgrad;
}

static double hybridgrad(scorer *s, const input *in) {
    (void)s;
    return in->item->hybridgrad;
}

static double p_true(scorer *s, const input *in) {
    (void)s;
    return 1.0 - in->item->p_true;
}

static double verbalised(scorer *s, const input *in) {
    (void)s;
    return 1.0 - in->item->verbalised;
}

static double choice_confidence(scorer *s, const input *in) {
    (void)s;
    return 1.0 - in->item->choice.confidence;
}

/* ---- the tables */

#define AS_PUBLIC(id, name, formula, needs, sim, single, fn) {name, formula, needs},
static const struct umpire_estimator registry[E_COUNT] = {ESTIMATORS(AS_PUBLIC)};

#define AS_DEF(id, name, formula, needs, sim, single, fn) {sim, single, fn},
static const struct umpire_estimator_def defs[E_COUNT] = {ESTIMATORS(AS_DEF)};

const struct umpire_estimator *umpire_estimators(size_t *n) {
    *n = E_COUNT;
    return registry;
}

const struct umpire_estimator_def *umpire_estimator_defs(void) { return defs; }

int umpire_estimator_index(const char *name) {
    for (int e = 0; e < E_COUNT; e++)
        if (!strcmp(registry[e].name, name))
            return e;
    return -1;
}

/* 1 when the item holds what `needs` asks for */
static int has(const struct umpire_item *it, unsigned needs) {
    if ((needs & UMPIRE_NEEDS_EMBEDDING) && it->dim == 0)
        return 0;
    if ((needs & UMPIRE_NEEDS_MIDDLE) && it->dim_middle == 0)
        return 0;
    if ((needs & UMPIRE_NEEDS_GREEDY) && !it->greedy.logprobs)
        return 0;
    if ((needs & UMPIRE_NEEDS_P_TRUE) && !(it->extras & UMPIRE_HAS_P_TRUE))
        return 0;
    if ((needs & UMPIRE_NEEDS_VERBALISED) && !(it->extras & UMPIRE_HAS_VERBALISED))
        return 0;
    if ((needs & UMPIRE_NEEDS_CHOICE) && !(it->extras & UMPIRE_HAS_CHOICE))
        return 0;
    if ((needs & UMPIRE_NEEDS_GRADIENTS) && !(it->extras & UMPIRE_HAS_GRADIENTS))
        return 0;
    if ((needs & UMPIRE_NEEDS_ENTAILMENT) && !((it->extras & UMPIRE_HAS_ENTAILMENT) && it->entailment))
        return 0;
    return 1;
}

int umpire_estimator_applies(const struct umpire_item *it, size_t e, enum umpire_probs probs) {
    if (e >= E_COUNT || !has(it, registry[e].needs))
        return 0;
    /* fewer than two samples (ask -k 0, or one): no spread to measure; only what the
     * low-temperature answer and the extra passes tell */
    if (it->k < 2 && !defs[e].single)
        return 0;
    /* the *_raw estimators read the raw model's log-probs beside the sampler's: none where the
     * estimators read raw ones already */
    if ((registry[e].needs & UMPIRE_NEEDS_RAW) && (probs == UMPIRE_PROBS_RAW || it->probs != UMPIRE_PROBS_SAMPLER))
        return 0;
    if (registry[e].needs & UMPIRE_NEEDS_ENTROPIES) { /* the greedy answer's, else a sample's */
        int raw = (registry[e].needs & UMPIRE_NEEDS_RAW) || (probs == UMPIRE_PROBS_RAW && it->probs == UMPIRE_PROBS_SAMPLER);
        int any = (raw ? it->greedy.raw_entropies : it->greedy.entropies) != NULL;
        for (size_t i = 0; i < it->k; i++)
            any |= (raw ? it->samples[i].raw_entropies : it->samples[i].entropies) != NULL;
        if (!any)
            return 0;
    }
    return 1;
}
