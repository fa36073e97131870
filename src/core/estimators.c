/* estimators.c - the registry of estimators and scoring of a whole sample set: every item,
 * every estimator, and UMPIRE's adaptive alpha fitted on an unlabelled dev split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/baselines.h"
#include "core/status.h"

enum {
    E_UMPIRE, E_VOLUME, E_INCOHERENCE, E_PE, E_LNPE, E_SEQPROB, E_PPL, E_MTE, E_LEXSIM, E_EIGENSCORE,
    E_NUMSETS_COS, E_SE_COS, E_EIGV_COS, E_DEGREE_COS, E_ECC_COS, E_KLE_COS,
    E_NUMSETS_LEX, E_SE_LEX, E_EIGV_LEX, E_DEGREE_LEX, E_ECC_LEX, E_KLE_LEX,
    E_PTRUE, E_VERBAL,
    E_NUMSETS_NLI, E_SE_NLI, E_SEW_NLI, E_EIGV_NLI, E_DEGREE_NLI, E_ECC_NLI, E_KLE_NLI, E_COUNT
};

#define EMB UMPIRE_NEEDS_EMBEDDING
#define NLI UMPIRE_NEEDS_ENTAILMENT
static const struct umpire_estimator registry[E_COUNT] = {
    [E_UMPIRE] = {"umpire", "V = U + alpha Q", EMB},
    [E_VOLUME] = {"semantic_volume", "U = logdet(Phi Phi^T + eps I) / 2k", EMB},
    [E_INCOHERENCE] = {"incoherence", "Q = mean_i (1 - p_i)", 0},
    [E_PE] = {"predictive_entropy", "-mean_i log p_i", 0},
    [E_LNPE] = {"ln_predictive_entropy", "-mean_i (1/T_i) log p_i", 0},
    [E_SEQPROB] = {"sequence_probability", "1 - p(greedy)", UMPIRE_NEEDS_GREEDY},
    [E_PPL] = {"perplexity", "exp(-(1/T) log p(greedy))", UMPIRE_NEEDS_GREEDY},
    [E_MTE] = {"mean_token_entropy", "mean_t H_t", UMPIRE_NEEDS_ENTROPIES},
    [E_LEXSIM] = {"lexical_similarity", "1 - mean_{i<j} ROUGE-L(y_i, y_j)", 0}, /* Fomicheva et al. 2020 */
    [E_EIGENSCORE] = {"eigenscore", "(1/k) logdet(Z^T J Z + 1e-3 I)", EMB},
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
    [E_NUMSETS_NLI] = {"numsets_nli", "#clusters, entailment > t", NLI},
    [E_SE_NLI] = {"semantic_entropy_nli", "-sum_c (|c|/k) log(|c|/k), entailment", NLI},
    [E_SEW_NLI] = {"semantic_entropy_weighted_nli", "-sum_c p(c) log p(c), p(c) ~ sum_{y in c} p(y)", NLI},
    [E_EIGV_NLI] = {"eigv_nli", "sum_j max(0, 1 - lambda_j(L)), entailment", NLI},
    [E_DEGREE_NLI] = {"degree_nli", "1 - mean W, entailment", NLI},
    [E_ECC_NLI] = {"eccentricity_nli", "||v_j - mean v||, entailment", NLI},
    [E_KLE_NLI] = {"kle_nli", "VNE(heat kernel exp(-tL)), entailment", NLI},
};
#undef EMB
#undef NLI

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
                                        .seed = 0,
                                        .length_normalised = 0,
                                        .cluster_threshold = 0.5,
                                        .kle_t = 0.3};
}

static int has_embeddings(const struct umpire_item *it) {
    if (it->dim == 0)
        return 0;
    for (size_t i = 0; i < it->k; i++)
        if (!it->samples[i].embedding)
            return 0;
    return 1;
}

/* The k x dim embeddings of an item, contiguous (caller frees), or NULL. */
static float *stack_embeddings(const struct umpire_item *it) {
    float *e = malloc(it->k * it->dim * sizeof *e);
    if (e)
        for (size_t i = 0; i < it->k; i++)
            memcpy(e + i * it->dim, it->samples[i].embedding, it->dim * sizeof *e);
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
    float *emb;   /* k x dim, contiguous */
    double *wcos; /* k x k cosine similarity */
    double *wlex; /* k x k ROUGE-L similarity */
    double *wnli; /* k x k entailment similarity (E + E^T) / 2 */
};

static void cache_free(struct item_cache *c) {
    free(c->emb);
    free(c->wcos);
    free(c->wlex);
    free(c->wnli);
}

static double score_cached(const struct umpire_item *it, size_t e, double alpha,
                           const struct umpire_score_params *p, struct item_cache *c) {
    const size_t k = it->k;
    if (e >= E_COUNT || k == 0)
        return NAN;
    if ((registry[e].needs & UMPIRE_NEEDS_EMBEDDING) && !has_embeddings(it))
        return NAN;
    if ((registry[e].needs & UMPIRE_NEEDS_GREEDY) && !it->greedy.logprobs)
        return NAN;
    if (((registry[e].needs & UMPIRE_NEEDS_P_TRUE) && !(it->extras & UMPIRE_HAS_P_TRUE)) ||
        ((registry[e].needs & UMPIRE_NEEDS_VERBALISED) && !(it->extras & UMPIRE_HAS_VERBALISED)) ||
        ((registry[e].needs & UMPIRE_NEEDS_ENTAILMENT) && !((it->extras & UMPIRE_HAS_ENTAILMENT) && it->entailment)))
        return NAN;
    switch (e) {
    case E_PTRUE: return 1.0 - it->p_true;
    case E_VERBAL: return 1.0 - it->verbalised;
    case E_INCOHERENCE: return umpire_incoherence(it->samples, k, p->length_normalised);
    case E_PE: return umpire_predictive_entropy(it->samples, k);
    case E_LNPE: return umpire_ln_predictive_entropy(it->samples, k);
    case E_SEQPROB: return umpire_sequence_probability(&it->greedy);
    case E_PPL: return umpire_perplexity(&it->greedy);
    case E_MTE: return umpire_mean_token_entropy(it);
    default: break;
    }
    if (e >= E_NUMSETS_NLI) {
        if (!c->wnli && (c->wnli = malloc(k * k * sizeof *c->wnli)))
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++) /* Lin et al.: the mean of both directions */
                    c->wnli[i * k + j] = 0.5 * (it->entailment[i * k + j] + it->entailment[j * k + i]);
        if (!c->wnli)
            return NAN;
        if (e == E_SEW_NLI)
            return umpire_semantic_entropy_weighted(c->wnli, it->samples, k, p->cluster_threshold);
        return graph_score(e, c->wnli, k, p);
    }
    if (e == E_LEXSIM || e >= E_NUMSETS_LEX) {
        if (!c->wlex && (c->wlex = malloc(k * k * sizeof *c->wlex)))
            umpire_similarity_lexical(it->samples, k, c->wlex);
        if (!c->wlex)
            return NAN;
        if (e == E_LEXSIM) { /* 1 - mean over pairs i < j */
            double sum = 0.0;
            for (size_t i = 0; i < k; i++)
                for (size_t j = i + 1; j < k; j++)
                    sum += c->wlex[i * k + j];
            return 1.0 - sum / (double)(k * (k - 1) / 2);
        }
        return graph_score(e, c->wlex, k, p);
    }
    if (!c->emb && !(c->emb = stack_embeddings(it)))
        return NAN;
    if (e == E_UMPIRE || e == E_VOLUME) {
        double u;
        if (umpire_semantic_volume(c->emb, k, it->dim, p->eps, &u, NULL) != 0)
            return NAN;
        return e == E_VOLUME ? u : u + alpha * umpire_incoherence(it->samples, k, p->length_normalised);
    }
    if (e == E_EIGENSCORE)
        return umpire_eigenscore(c->emb, k, it->dim);
    if (!c->wcos && (c->wcos = malloc(k * k * sizeof *c->wcos)))
        umpire_similarity_cosine(c->emb, k, it->dim, c->wcos);
    return c->wcos ? graph_score(e, c->wcos, k, p) : NAN;
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

int umpire_score_set(const struct umpire_sampleset *set, const struct umpire_score_params *p,
                     struct umpire_scores *out, char *err) {
    memset(out, 0, sizeof *out);
    const size_t n = set->n;
    out->n = n;
    out->n_estimators = E_COUNT;
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
        out->n_dev = umpire_dev_split(n, p->dev_fraction, p->seed, out->dev_idx);
        double *u = malloc(out->n_dev * sizeof *u), *q = malloc(out->n_dev * sizeof *q);
        if (!u || !q) {
            free(u);
            free(q);
            umpire_scores_free(out);
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        }
        size_t m = 0;
        for (size_t j = 0; j < out->n_dev; j++) {
            const double *row = out->scores + out->dev_idx[j] * E_COUNT;
            if (isfinite(row[E_VOLUME])) {
                u[m] = row[E_VOLUME];
                q[m++] = row[E_INCOHERENCE];
            }
        }
        out->alpha = m ? umpire_alpha(u, q, m) : 0.0;
        free(u);
        free(q);
    }
    for (size_t i = 0; i < n; i++) {
        double *row = out->scores + i * E_COUNT;
        row[E_UMPIRE] = row[E_VOLUME] + out->alpha * row[E_INCOHERENCE];
    }
    return UMPIRE_OK;
}
