/* estimators.c - the registry of estimators and scoring of a whole sample set: every item,
 * every estimator, and UMPIRE's adaptive alpha fitted on an unlabelled dev split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/baselines.h"
#include "core/status.h"

enum {
    E_UMPIRE, E_VOLUME, E_INCOHERENCE, E_PE, E_LNPE, E_LNE, E_SEQPROB, E_PPL, E_MTE,
    E_PE_RAW, E_LNPE_RAW, E_LNE_RAW, E_SEQPROB_RAW, E_PPL_RAW, E_MTE_RAW,
    E_LEXSIM, E_EIGENSCORE, E_EIGENSCORE_UMPIRE,
    E_NUMSETS_COS, E_SE_COS, E_EIGV_COS, E_DEGREE_COS, E_ECC_COS, E_KLE_COS,
    E_NUMSETS_LEX, E_SE_LEX, E_EIGV_LEX, E_DEGREE_LEX, E_ECC_LEX, E_KLE_LEX,
    E_PTRUE, E_VERBAL, E_CHOICE,
    E_NUMSETS_NLI, E_SE_NLI, E_SEW_NLI, E_SES_NLI, E_EIGV_NLI, E_DEGREE_NLI, E_ECC_NLI, E_KLE_NLI, E_COUNT
};

/* The similarity a graph estimator is computed on. */
enum similarity { SIM_NONE, SIM_COS, SIM_LEX, SIM_NLI };

#define EMB UMPIRE_NEEDS_EMBEDDING
#define NLI UMPIRE_NEEDS_ENTAILMENT
#define RAW UMPIRE_NEEDS_RAW
#define GRD UMPIRE_NEEDS_GREEDY
static const struct umpire_estimator registry[E_COUNT] = {
    [E_UMPIRE] = {"umpire", "V = U + alpha Q", EMB},
    [E_VOLUME] = {"semantic_volume", "U = logdet(Phi Phi^T + eps I) / 2k", EMB},
    [E_INCOHERENCE] = {"incoherence", "Q = mean_i (1 - p_i)", 0},
    [E_PE] = {"predictive_entropy", "-mean_i log p_i", 0},
    [E_LNPE] = {"ln_predictive_entropy", "-mean_i (1/T_i) log p_i (Malinin & Gales)", 0},
    [E_LNE] = {"ln_entropy", "mean_i (1/T_i) sum_t -p_t log p_t (UMPIRE's LN-Entropy)", 0},
    [E_SEQPROB] = {"sequence_probability", "1 - p(greedy)", GRD},
    [E_PPL] = {"perplexity", "exp(-(1/T) log p(greedy))", GRD},
    [E_MTE] = {"mean_token_entropy", "mean_t H_t", UMPIRE_NEEDS_ENTROPIES},
    [E_PE_RAW] = {"predictive_entropy_raw", "predictive_entropy, raw model log-probs", RAW},
    [E_LNPE_RAW] = {"ln_predictive_entropy_raw", "ln_predictive_entropy, raw model log-probs", RAW},
    [E_LNE_RAW] = {"ln_entropy_raw", "ln_entropy, raw model log-probs", RAW},
    [E_SEQPROB_RAW] = {"sequence_probability_raw", "1 - p(greedy), raw model log-probs", RAW | GRD},
    [E_PPL_RAW] = {"perplexity_raw", "perplexity, raw model log-probs", RAW | GRD},
    [E_MTE_RAW] = {"mean_token_entropy_raw", "mean_t H_t of the raw distribution", RAW | UMPIRE_NEEDS_ENTROPIES},
    [E_LEXSIM] = {"lexical_similarity", "1 - mean_{i<j} ROUGE-L(y_i, y_j)", 0},
    [E_EIGENSCORE] = {"eigenscore", "mean log10 eig(cov(middle states) + 1e-3 I) (INSIDE)", UMPIRE_NEEDS_MIDDLE},
    [E_EIGENSCORE_UMPIRE] = {"eigenscore_umpire", "mean log10 eig(cov(phi / |phi|) + 1e-8 I) (UMPIRE's)", EMB},
    [E_NUMSETS_COS] = {"numsets_cos", "#clusters, cosine > t", EMB},
    [E_SE_COS] = {"semantic_entropy_cos", "-sum_c (|c|/k) log(|c|/k), cosine", EMB},
    [E_EIGV_COS] = {"eigv_cos", "sum_j max(0, 1 - lambda_j(L)), cosine", EMB},
    [E_DEGREE_COS] = {"degree_cos", "1 - mean W, cosine", EMB},
    [E_ECC_COS] = {"eccentricity_cos", "||v_j - mean v||, cosine", EMB},
    [E_KLE_COS] = {"kle_cos", "VNE(heat kernel exp(-tL)), cosine", EMB},
    [E_NUMSETS_LEX] = {"numsets_lex", "#clusters, ROUGE-L > t", 0},
    [E_SE_LEX] = {"semantic_entropy_lex", "-sum_c (|c|/k) log(|c|/k), ROUGE-L", 0},
    [E_EIGV_LEX] = {"eigv_lex", "sum_j max(0, 1 - lambda_j(L)), ROUGE-L", 0},
    [E_DEGREE_LEX] = {"degree_lex", "1 - mean W, ROUGE-L", 0},
    [E_ECC_LEX] = {"eccentricity_lex", "||v_j - mean v||, ROUGE-L", 0},
    [E_KLE_LEX] = {"kle_lex", "VNE(heat kernel exp(-tL)), ROUGE-L", 0},
    [E_PTRUE] = {"p_true", "1 - P(True) (Kadavath et al. 2022)", UMPIRE_NEEDS_P_TRUE},
    [E_VERBAL] = {"verbalised", "1 - stated confidence (Tian et al. 2023)", UMPIRE_NEEDS_VERBALISED},
    [E_CHOICE] = {"choice_confidence", "1 - P(chosen option letter) (Calibration-MLLM)", UMPIRE_NEEDS_CHOICE},
    [E_NUMSETS_NLI] = {"numsets_nli", "#clusters, entailment > t", NLI},
    [E_SE_NLI] = {"semantic_entropy_nli", "-sum_c (|c|/k) log(|c|/k), entailment", NLI},
    [E_SEW_NLI] = {"semantic_entropy_weighted_nli", "-sum_c p(c) log p(c), p(c) ~ sum of distinct answers' p", NLI},
    [E_SES_NLI] = {"semantic_entropy_strict_nli", "-sum_c p(c) log p(c), strict bidirectional clusters (Kuhn et al.; UMPIRE's SE)", NLI},
    [E_EIGV_NLI] = {"eigv_nli", "sum_j max(0, 1 - lambda_j(L)), entailment", NLI},
    [E_DEGREE_NLI] = {"degree_nli", "1 - mean W, entailment", NLI},
    [E_ECC_NLI] = {"eccentricity_nli", "||v_j - mean v||, entailment", NLI},
    [E_KLE_NLI] = {"kle_nli", "VNE(heat kernel exp(-tL)), entailment", NLI},
};
static const enum similarity similarity_of[E_COUNT] = {
    [E_LEXSIM] = SIM_LEX,
    [E_NUMSETS_COS] = SIM_COS,
    [E_SE_COS] = SIM_COS,
    [E_EIGV_COS] = SIM_COS,
    [E_DEGREE_COS] = SIM_COS,
    [E_ECC_COS] = SIM_COS,
    [E_KLE_COS] = SIM_COS,
    [E_NUMSETS_LEX] = SIM_LEX,
    [E_SE_LEX] = SIM_LEX,
    [E_EIGV_LEX] = SIM_LEX,
    [E_DEGREE_LEX] = SIM_LEX,
    [E_ECC_LEX] = SIM_LEX,
    [E_KLE_LEX] = SIM_LEX,
    [E_NUMSETS_NLI] = SIM_NLI,
    [E_SE_NLI] = SIM_NLI,
    [E_SEW_NLI] = SIM_NLI,
    [E_SES_NLI] = SIM_NLI,
    [E_EIGV_NLI] = SIM_NLI,
    [E_DEGREE_NLI] = SIM_NLI,
    [E_ECC_NLI] = SIM_NLI,
    [E_KLE_NLI] = SIM_NLI,
};
#undef EMB
#undef NLI
#undef RAW
#undef GRD

const struct umpire_estimator *umpire_estimators(size_t *n) {
    *n = E_COUNT;
    return registry;
}

int umpire_estimator_index(const char *name) {
    for (int e = 0; e < E_COUNT; e++)
        if (!strcmp(registry[e].name, name))
            return e;
    return -1;
}

struct umpire_score_params umpire_score_default_params(void) {
    return (struct umpire_score_params){.eps = UMPIRE_DEFAULT_EPS,
                                        .alpha = -1.0,
                                        .dev_fraction = 0.10,
                                        .split = UMPIRE_SPLIT_UMPIRE,
                                        .seed = 0,
                                        .length_normalised = 0,
                                        .probs = UMPIRE_PROBS_UNSPECIFIED,
                                        .cluster_threshold = 0.5,
                                        .kle_t = 0.3};
}

static const char *const probs_names[] = {"unspecified", "raw", "sampler"};

const char *umpire_probs_name(enum umpire_probs p) { return p <= UMPIRE_PROBS_SAMPLER ? probs_names[p] : "?"; }

int umpire_probs_parse(const char *name, enum umpire_probs *p) {
    for (int i = 0; i <= UMPIRE_PROBS_SAMPLER; i++)
        if (!strcmp(name, probs_names[i])) {
            *p = (enum umpire_probs)i;
            return 0;
        }
    return -1;
}

const char *umpire_finish_name(enum umpire_finish f) {
    static const char *const n[] = {"", "eos", "stop", "length"};
    return f <= UMPIRE_FINISH_LENGTH ? n[f] : "";
}

/* The embeddings of an item (phi, or the middle layer's), k x width contiguous (caller frees);
 * NULL when a sample lacks one or memory runs out. */
static float *stack(const struct umpire_item *it, int middle) {
    size_t w = middle ? it->dim_middle : it->dim;
    if (w == 0)
        return NULL;
    for (size_t i = 0; i < it->k; i++)
        if (!(middle ? it->samples[i].middle : it->samples[i].embedding))
            return NULL;
    float *e = malloc(it->k * w * sizeof *e);
    for (size_t i = 0; e && i < it->k; i++)
        memcpy(e + i * w, middle ? it->samples[i].middle : it->samples[i].embedding, w * sizeof *e);
    return e;
}

static double graph_score(size_t e, const double *w, size_t k, const struct umpire_score_params *p) {
    switch (e) {
    case E_NUMSETS_COS: case E_NUMSETS_LEX: case E_NUMSETS_NLI: return umpire_num_sets(w, k, p->cluster_threshold);
    case E_SE_COS: case E_SE_LEX: case E_SE_NLI: return umpire_discrete_semantic_entropy(w, k, p->cluster_threshold);
    case E_EIGV_COS: case E_EIGV_LEX: case E_EIGV_NLI: return umpire_eigv(w, k);
    case E_DEGREE_COS: case E_DEGREE_LEX: case E_DEGREE_NLI: return umpire_degree(w, k);
    case E_ECC_COS: case E_ECC_LEX: case E_ECC_NLI: return umpire_eccentricity(w, k);
    default: return umpire_kernel_language_entropy(w, k, p->kle_t);
    }
}

/* What several estimators of one item share, computed once, on first use. */
struct item_cache {
    float *emb;                   /* k x dim, contiguous */
    double *w[SIM_NLI + 1];       /* k x k similarities by kind: cosine, ROUGE-L, (E + E^T) / 2 */
    struct umpire_answer *swap;   /* k samples + greedy, raw log-probs in the logprobs fields */
};

static void cache_free(struct item_cache *c) {
    free(c->emb);
    for (int s = 0; s <= SIM_NLI; s++)
        free(c->w[s]);
    free(c->swap);
}

/* The item's answers (k samples, then the greedy one at [k]) with the log-probs the
 * estimators read: the raw model's when raw, else the item's own. NULL when the item does not
 * carry raw ones besides its own (raw) or memory runs out. */
static const struct umpire_answer *answers(const struct umpire_item *it, int raw, struct item_cache *c,
                                           const struct umpire_answer **greedy) {
    *greedy = &it->greedy;
    if (!raw || it->probs == UMPIRE_PROBS_RAW)
        return it->samples;
    if (it->probs != UMPIRE_PROBS_SAMPLER)
        return NULL;
    if (!c->swap && (c->swap = malloc((it->k + 1) * sizeof *c->swap))) {
        for (size_t i = 0; i <= it->k; i++) {
            const struct umpire_answer *a = i < it->k ? &it->samples[i] : &it->greedy;
            c->swap[i] = *a;
            c->swap[i].logprobs = a->raw_logprobs;
            c->swap[i].entropies = a->raw_entropies;
            if (a->logprobs && !a->raw_logprobs) { /* sampler log-probs without the raw ones */
                free(c->swap);
                c->swap = NULL;
                return NULL;
            }
        }
    }
    if (c->swap)
        *greedy = &c->swap[it->k];
    return c->swap;
}

/* The k x k similarity of kind s, or NULL. */
static const double *similarity(const struct umpire_item *it, enum similarity s, struct item_cache *c) {
    const size_t k = it->k;
    if (c->w[s])
        return c->w[s];
    if (s == SIM_COS && !c->emb && !(c->emb = stack(it, 0)))
        return NULL;
    double *w = malloc(k * k * sizeof *w);
    if (!w)
        return NULL;
    if (s == SIM_COS)
        umpire_similarity_cosine(c->emb, k, it->dim, w);
    else if (s == SIM_LEX)
        umpire_similarity_lexical(it->samples, k, w);
    else
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) /* Lin et al.: the mean of both directions */
                w[i * k + j] = 0.5 * (it->entailment[i * k + j] + it->entailment[j * k + i]);
    return c->w[s] = w;
}

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
    if ((needs & UMPIRE_NEEDS_ENTAILMENT) && !((it->extras & UMPIRE_HAS_ENTAILMENT) && it->entailment))
        return 0;
    return 1;
}

int umpire_estimator_applies(const struct umpire_item *it, size_t e, enum umpire_probs probs) {
    if (e >= E_COUNT || !has(it, registry[e].needs))
        return 0;
    /* no samples (ask -k 0): only what the low-temperature answer and the extra passes tell */
    static const unsigned char one_answer[E_COUNT] = {[E_SEQPROB] = 1, [E_PPL] = 1, [E_MTE] = 1, [E_SEQPROB_RAW] = 1,
                                                      [E_PPL_RAW] = 1, [E_MTE_RAW] = 1, [E_PTRUE] = 1,
                                                      [E_VERBAL] = 1, [E_CHOICE] = 1};
    if (it->k == 0 && !one_answer[e])
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

static double score_cached(const struct umpire_item *it, size_t e, double alpha,
                           const struct umpire_score_params *p, struct item_cache *c) {
    const size_t k = it->k;
    enum umpire_probs used = p->probs == UMPIRE_PROBS_RAW ? UMPIRE_PROBS_RAW : it->probs;
    if (!umpire_estimator_applies(it, e, used))
        return NAN;
    /* which log-probs: the *_raw estimators the raw model's; the others those asked for */
    int raw_column = (registry[e].needs & UMPIRE_NEEDS_RAW) != 0;
    const struct umpire_answer *g, *s = answers(it, raw_column || p->probs == UMPIRE_PROBS_RAW, c, &g);
    if (!s)
        return NAN;
    switch (e) {
    case E_PTRUE: return 1.0 - it->p_true;
    case E_VERBAL: return 1.0 - it->verbalised;
    case E_CHOICE: return 1.0 - it->choice.confidence;
    case E_INCOHERENCE: return umpire_incoherence(s, k, p->length_normalised);
    case E_PE: case E_PE_RAW: return umpire_predictive_entropy(s, k);
    case E_LNPE: case E_LNPE_RAW: return umpire_ln_predictive_entropy(s, k);
    case E_LNE: case E_LNE_RAW: return umpire_ln_entropy(s, k);
    case E_SEQPROB: case E_SEQPROB_RAW: return umpire_sequence_probability(g);
    case E_PPL: case E_PPL_RAW: return umpire_perplexity(g);
    case E_MTE: case E_MTE_RAW: return umpire_mean_token_entropy(g, s, k);
    case E_EIGENSCORE: case E_EIGENSCORE_UMPIRE: {
        int middle = e == E_EIGENSCORE;
        float *m = stack(it, middle);
        double v = m ? umpire_eigenscore(m, k, middle ? it->dim_middle : it->dim, !middle, middle ? 1e-3 : 1e-8)
                     : NAN;
        free(m);
        return v;
    }
    case E_UMPIRE: case E_VOLUME: {
        double u;
        if ((!c->emb && !(c->emb = stack(it, 0))) || umpire_semantic_volume(c->emb, k, it->dim, p->eps, &u, NULL) != 0)
            return NAN;
        return e == E_VOLUME ? u : u + alpha * umpire_incoherence(s, k, p->length_normalised);
    }
    default: break;
    }
    const double *w = similarity(it, similarity_of[e], c);
    if (!w)
        return NAN;
    if (e == E_LEXSIM) { /* 1 - mean over pairs i < j */
        double sum = 0.0;
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++)
                sum += w[i * k + j];
        return 1.0 - sum / (double)(k * (k - 1) / 2);
    }
    if (e == E_SEW_NLI)
        return umpire_semantic_entropy_weighted(w, s, k, p->cluster_threshold);
    if (e == E_SES_NLI)
        return umpire_semantic_entropy_strict(it->entailment, s, k, p->cluster_threshold);
    return graph_score(e, w, k, p);
}

double umpire_score_item(const struct umpire_item *it, size_t e, double alpha,
                         const struct umpire_score_params *p) {
    struct item_cache c = {0};
    double v = score_cached(it, e, alpha, p, &c);
    cache_free(&c);
    return v;
}

void umpire_scores_free(struct umpire_scores *s) {
    free(s->scores);
    free(s->dev_idx);
    memset(s, 0, sizeof *s);
}

/* The distribution every item's log-probs are of; mixing them is refused. */
static int set_probs(const struct umpire_sampleset *set, const struct umpire_score_params *p, enum umpire_probs *out,
                     char *err) {
    for (size_t i = 0; i < set->n; i++) {
        const struct umpire_item *a = &set->items[0], *b = &set->items[i];
        if (b->probs != a->probs)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "item %s (line %zu) holds %s log-probabilities, item %s (line %zu) %s ones: scores "
                               "of different distributions do not mix; score them apart",
                               a->id ? a->id : "?", a->line, umpire_probs_name(a->probs), b->id ? b->id : "?",
                               b->line, umpire_probs_name(b->probs));
    }
    enum umpire_probs held = set->n ? set->items[0].probs : UMPIRE_PROBS_UNSPECIFIED;
    if (p->probs == UMPIRE_PROBS_RAW && held != UMPIRE_PROBS_RAW && held != UMPIRE_PROBS_SAMPLER)
        return umpire_fail(err, UMPIRE_EINVAL, "raw log-probabilities asked for, but the items do not say which ones "
                                               "they hold (no \"probs\" field)");
    if (p->probs == UMPIRE_PROBS_SAMPLER && held != UMPIRE_PROBS_SAMPLER)
        return umpire_fail(err, UMPIRE_EINVAL, "sampler log-probabilities asked for, but the items hold %s ones",
                           umpire_probs_name(held));
    *out = p->probs == UMPIRE_PROBS_RAW ? UMPIRE_PROBS_RAW : held;
    return UMPIRE_OK;
}

int umpire_score_set(const struct umpire_sampleset *set, const struct umpire_score_params *p,
                     struct umpire_scores *out, char *err) {
    memset(out, 0, sizeof *out);
    const size_t n = set->n;
    out->n = n;
    out->n_estimators = E_COUNT;
    int rc = set_probs(set, p, &out->probs, err);
    if (rc != UMPIRE_OK)
        return rc;
    out->scores = malloc((n ? n : 1) * E_COUNT * sizeof *out->scores);
    out->dev_idx = malloc((n ? n : 1) * sizeof *out->dev_idx);
    if (!out->scores || !out->dev_idx) {
        umpire_scores_free(out);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory scoring %zu items", n);
    }
    /* every estimator but V first: V needs alpha, which needs U and Q of the dev items */
    for (size_t i = 0; i < n; i++) {
        const struct umpire_item *it = &set->items[i];
        if (it->k < 2) {
            umpire_scores_free(out);
            return umpire_fail(err, UMPIRE_EINVAL, "item %s: k = %zu, scoring needs at least 2 samples",
                               it->id ? it->id : "?", it->k);
        }
        struct item_cache c = {0};
        for (size_t e = 1; e < E_COUNT; e++)
            out->scores[i * E_COUNT + e] = score_cached(it, e, 0.0, p, &c);
        cache_free(&c);
    }
    if (p->alpha >= 0) {
        out->alpha = p->alpha;
    } else if (n > 0) {
        if ((rc = umpire_split_draw(n, p->dev_fraction, p->seed, p->split, out->dev_idx, &out->n_dev, err)) != 0) {
            umpire_scores_free(out);
            return rc;
        }
        size_t cap = out->n_dev ? out->n_dev : 1, m = 0;
        double *u = malloc(cap * sizeof *u), *q = malloc(cap * sizeof *q);
        if (!u || !q) {
            free(u);
            free(q);
            umpire_scores_free(out);
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        }
        for (size_t j = 0; j < out->n_dev; j++) {
            const double *row = out->scores + out->dev_idx[j] * E_COUNT;
            if (isfinite(row[E_VOLUME])) {
                u[m] = row[E_VOLUME];
                q[m++] = row[E_INCOHERENCE];
            }
        }
        /* no dev item with a volume (an empty numpy split, or no embeddings): alpha undefined */
        out->alpha = m ? umpire_alpha(u, q, m) : NAN;
        free(u);
        free(q);
    }
    for (size_t i = 0; i < n; i++) {
        double *row = out->scores + i * E_COUNT;
        row[E_UMPIRE] = row[E_VOLUME] + out->alpha * row[E_INCOHERENCE];
    }
    return UMPIRE_OK;
}
