/* scorer.c - one item scored with every estimator of the registry (or a chosen few), through
 * one scorer that builds each intermediate the estimators share once, on first use:
 *
 *   unit rows      phi_i / |phi_i|                semantic volume, cosine, EigenScore (UMPIRE's)
 *   Gram matrix    Phi Phi^T of the unit rows     semantic volume, cosine
 *   similarities   W per kind (cosine, ROUGE-L,   the graph family, lexical similarity
 *                  entailment)
 *   clusters       components of W > threshold    NumSets, semantic entropies
 *   Laplacian      eigen-decomposition of         EigV, Eccentricity
 *                  I - D^-1/2 W D^-1/2
 *   raw answers    the answers with the raw       the *_raw estimators, --probs raw
 *                  model's log-probs
 *   scores         each estimator's, once         UMPIRE's V = U + alpha Q
 *
 * Every value is computed by the same code, in the same order, as when each estimator built its
 * inputs itself: only the repetition is gone.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/baselines.h"
#include "core/linalg.h"
#include "core/scorer.h"
#include "core/status.h"

enum built { B_UNIT = 1, B_GRAM = 2, B_RAW = 4 };

struct umpire_scorer {
    const struct umpire_item *it;
    const struct umpire_score_params *p;
    double alpha;
    size_t n_estimators;
    int nomem;      /* an allocation failed: the item's scoring fails */
    unsigned tried; /* enum built: attempted (the result may be NULL) */
    double *unit;   /* k x dim */
    size_t bad_row;
    double *gram;              /* k x k */
    struct umpire_answer *raw; /* k samples + greedy, the raw log-probs in the logprobs fields */
    struct {
        int tried_w, tried_clusters, tried_laplacian;
        double *w;
        size_t *cluster, n_clusters;
        struct umpire_scorer_eigen laplacian;
        int has_laplacian;
    } sim[UMPIRE_N_SIM];
    double *score;         /* n_estimators: each estimator's score, once computed */
    unsigned char *scored; /* which */
};

static void *alloc(struct umpire_scorer *s, size_t n) {
    void *x = malloc(n ? n : 1);
    if (!x)
        s->nomem = 1;
    return x;
}

double umpire_scorer_nomem(struct umpire_scorer *s) {
    s->nomem = 1;
    return NAN;
}

static int scorer_init(struct umpire_scorer *s, const struct umpire_item *it, const struct umpire_score_params *p,
                       double alpha) {
    memset(s, 0, sizeof *s);
    s->it = it;
    s->p = p;
    s->alpha = alpha;
    umpire_estimators(&s->n_estimators);
    s->score = malloc(s->n_estimators * sizeof *s->score);
    s->scored = calloc(s->n_estimators, 1);
    return s->score && s->scored ? 0 : -1;
}

static void scorer_free(struct umpire_scorer *s) {
    free(s->unit);
    free(s->gram);
    free(s->raw);
    for (int k = 0; k < UMPIRE_N_SIM; k++) {
        free(s->sim[k].w);
        free(s->sim[k].cluster);
        free(s->sim[k].laplacian.values);
        free(s->sim[k].laplacian.vectors);
    }
    free(s->score);
    free(s->scored);
}

const double *umpire_scorer_unit_rows(struct umpire_scorer *s, size_t *bad_row) {
    const struct umpire_item *it = s->it;
    const size_t k = it->k, d = it->dim;
    if (!(s->tried & B_UNIT)) {
        s->tried |= B_UNIT;
        int all = d > 0;
        for (size_t i = 0; all && i < k; i++)
            all = it->samples[i].embedding != NULL;
        if (all && (s->unit = alloc(s, k * d * sizeof *s->unit))) {
            s->bad_row = k;
            for (size_t i = 0; i < k; i++) /* row by row: a zero row stays zero */
                if (umpire_rows_normalise(it->samples[i].embedding, 1, d, s->unit + i * d, NULL) == 0 &&
                    s->bad_row == k)
                    s->bad_row = i;
        }
    }
    *bad_row = s->bad_row;
    return s->unit;
}

const double *umpire_scorer_gram(struct umpire_scorer *s) {
    size_t bad;
    if (!(s->tried & B_GRAM)) {
        s->tried |= B_GRAM;
        const double *x = umpire_scorer_unit_rows(s, &bad);
        if (x && (s->gram = alloc(s, s->it->k * s->it->k * sizeof *s->gram)))
            umpire_gram(x, s->it->k, s->it->dim, s->gram);
    }
    return s->gram;
}

const double *umpire_scorer_similarity(struct umpire_scorer *s, enum umpire_similarity sim) {
    const struct umpire_item *it = s->it;
    const size_t k = it->k;
    if (sim <= UMPIRE_SIM_NONE || sim >= UMPIRE_N_SIM)
        return NULL;
    if (s->sim[sim].tried_w)
        return s->sim[sim].w;
    s->sim[sim].tried_w = 1;
    const double *g = sim == UMPIRE_SIM_COSINE ? umpire_scorer_gram(s) : NULL;
    if ((sim == UMPIRE_SIM_COSINE && !g) || (sim == UMPIRE_SIM_ENTAILMENT && !it->entailment))
        return NULL;
    double *w = alloc(s, k * k * sizeof *w);
    if (!w)
        return NULL;
    if (sim == UMPIRE_SIM_COSINE)
        umpire_similarity_cosine_gram(g, k, w);
    else if (sim == UMPIRE_SIM_LEXICAL)
        umpire_similarity_lexical(it->samples, k, w);
    else
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) /* Lin et al.: the mean of both directions */
                w[i * k + j] = 0.5 * (it->entailment[i * k + j] + it->entailment[j * k + i]);
    return s->sim[sim].w = w;
}

const size_t *umpire_scorer_clusters(struct umpire_scorer *s, enum umpire_similarity sim, size_t *n) {
    const double *w = umpire_scorer_similarity(s, sim);
    *n = 0;
    if (!w)
        return NULL;
    if (!s->sim[sim].tried_clusters) {
        s->sim[sim].tried_clusters = 1;
        size_t *c = alloc(s, s->it->k * sizeof *c);
        size_t m = c ? umpire_cluster(w, s->it->k, s->p->cluster_threshold, c) : 0;
        if (c && m == 0) { /* k >= 1 answers form at least one cluster: its memory ran out */
            s->nomem = 1;
            free(c);
            c = NULL;
        }
        s->sim[sim].cluster = c;
        s->sim[sim].n_clusters = m;
    }
    *n = s->sim[sim].n_clusters;
    return s->sim[sim].cluster;
}

const struct umpire_scorer_eigen *umpire_scorer_laplacian(struct umpire_scorer *s, enum umpire_similarity sim) {
    const double *w = umpire_scorer_similarity(s, sim);
    const size_t k = s->it->k;
    if (!w)
        return NULL;
    if (!s->sim[sim].tried_laplacian) {
        s->sim[sim].tried_laplacian = 1;
        struct umpire_scorer_eigen *e = &s->sim[sim].laplacian;
        double *l = alloc(s, k * k * sizeof *l);
        e->values = alloc(s, k * sizeof *e->values);
        e->vectors = alloc(s, k * k * sizeof *e->vectors);
        if (l && e->values && e->vectors) {
            umpire_laplacian_normalised(w, k, l);
            /* the eigenvalues are the same bits with or without the vectors */
            s->sim[sim].has_laplacian = umpire_eigh(l, k, e->values, e->vectors) == 0;
        }
        free(l);
    }
    return s->sim[sim].has_laplacian ? &s->sim[sim].laplacian : NULL;
}

/* The item's answers (k samples, then the greedy one) with the log-probs an estimator reads:
 * the raw model's when raw, else the item's own. NULL when the item does not carry raw ones
 * besides its own (raw), or memory runs out. */
static const struct umpire_answer *answers(struct umpire_scorer *s, int raw, const struct umpire_answer **greedy) {
    const struct umpire_item *it = s->it;
    *greedy = &it->greedy;
    if (!raw || it->probs == UMPIRE_PROBS_RAW)
        return it->samples;
    if (it->probs != UMPIRE_PROBS_SAMPLER)
        return NULL;
    if (!(s->tried & B_RAW)) {
        s->tried |= B_RAW;
        int all = 1;
        for (size_t i = 0; i <= it->k; i++) { /* sampler log-probs without the raw ones: none */
            const struct umpire_answer *a = i < it->k ? &it->samples[i] : &it->greedy;
            all &= !a->logprobs || a->raw_logprobs;
        }
        if (all && (s->raw = alloc(s, (it->k + 1) * sizeof *s->raw)))
            for (size_t i = 0; i <= it->k; i++) {
                const struct umpire_answer *a = i < it->k ? &it->samples[i] : &it->greedy;
                s->raw[i] = *a;
                s->raw[i].logprobs = a->raw_logprobs;
                s->raw[i].entropies = a->raw_entropies;
            }
    }
    if (s->raw)
        *greedy = &s->raw[it->k];
    return s->raw;
}

double umpire_scorer_score(struct umpire_scorer *s, size_t e) {
    if (e >= s->n_estimators)
        return NAN;
    if (s->scored[e])
        return s->score[e];
    const struct umpire_item *it = s->it;
    const struct umpire_score_params *p = s->p;
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    const struct umpire_estimator_def *def = &umpire_estimator_defs()[e];
    enum umpire_probs used = p->probs == UMPIRE_PROBS_RAW ? UMPIRE_PROBS_RAW : it->probs;
    double v = NAN;
    if (umpire_estimator_applies(it, e, used)) {
        /* which log-probs: the *_raw estimators the raw model's; the others those asked for */
        int raw = (reg[e].needs & UMPIRE_NEEDS_RAW) || p->probs == UMPIRE_PROBS_RAW;
        struct umpire_estimator_input in = {.item = it, .p = p, .alpha = s->alpha, .k = it->k, .sim = def->sim};
        if ((in.answers = answers(s, raw, &in.greedy)))
            v = def->score(s, &in);
    }
    s->scored[e] = 1;
    return s->score[e] = v;
}

int umpire_score_item_all(const struct umpire_item *it, const struct umpire_score_params *p, double alpha,
                          const int *selected, double *out, char *err) {
    struct umpire_scorer s;
    int rc = scorer_init(&s, it, p, alpha);
    for (size_t e = 0; rc == 0 && e < s.n_estimators; e++)
        out[e] = !selected || selected[e] ? umpire_scorer_score(&s, e) : NAN;
    rc = rc != 0 || s.nomem ? umpire_fail(err, UMPIRE_ENOMEM, "out of memory scoring item %s", it->id ? it->id : "?")
                            : UMPIRE_OK;
    scorer_free(&s);
    return rc;
}

double umpire_score_item(const struct umpire_item *it, size_t e, double alpha, const struct umpire_score_params *p) {
    struct umpire_scorer s;
    double v = scorer_init(&s, it, p, alpha) == 0 ? umpire_scorer_score(&s, e) : NAN;
    scorer_free(&s);
    return v;
}
