/* scorer.h - scoring one item with many estimators (scorer.c), each through its row of the
 * registry (registry.c), and every intermediate they share built once per item. */
#ifndef UMPIRE_CORE_SCORER_H
#define UMPIRE_CORE_SCORER_H

#include "umpire.h"

/* Score one item with the estimators of the registry that `selected` marks (selected[e] != 0;
 * NULL: every one) into out[e] (umpire_estimators' count of slots): NaN for those not selected,
 * those the item lacks the inputs of, and those undefined on it. alpha is V's weight. The item
 * may have any k (k < 2: only the single-answer estimators). Returns 0, or UMPIRE_ENOMEM with
 * err filled (out then holds nothing of use). */
int umpire_score_item_all(const struct umpire_item *item, const struct umpire_score_params *p, double alpha,
                          const int *selected, double *out, char *err);

/* ---- what the registry's rows are made of */

/* The pairwise similarity W (k x k, symmetric, values in [0, 1]) a graph estimator is computed
 * on. */
enum umpire_similarity {
    UMPIRE_SIM_NONE,       /* not a graph estimator */
    UMPIRE_SIM_COSINE,     /* max(0, cosine) of the embeddings phi */
    UMPIRE_SIM_LEXICAL,    /* ROUGE-L of the answers' texts */
    UMPIRE_SIM_ENTAILMENT, /* (E + E^T) / 2, E_ij = P(answer i entails answer j) */
    UMPIRE_N_SIM
};

/* One item's intermediates, each built on first use (scorer.c). */
struct umpire_scorer;

/* What an estimator's function reads: the item, the parameters, its answers with the
 * log-probabilities it reads (the raw model's for a *_raw estimator, else those asked for) and
 * the similarity its row names; the shared intermediates come from the scorer. */
struct umpire_estimator_input {
    const struct umpire_item *item;
    const struct umpire_score_params *p;
    double alpha;
    const struct umpire_answer *answers; /* k samples */
    const struct umpire_answer *greedy;  /* the low-temperature answer */
    size_t k;
    enum umpire_similarity sim;
};

/* How an estimator of the registry is computed; umpire_estimator_defs()[e] goes with
 * umpire_estimators()[e]. */
struct umpire_estimator_def {
    enum umpire_similarity sim; /* the similarity it reads, or UMPIRE_SIM_NONE */
    int single;                 /* defined by the low-temperature answer or the extra passes
                                   alone (an item without samples) */
    double (*score)(struct umpire_scorer *s, const struct umpire_estimator_input *in);
};
const struct umpire_estimator_def *umpire_estimator_defs(void);

/* The intermediates (NULL when the item lacks the input, or memory ran out: the scorer
 * remembers which). */
struct umpire_scorer_eigen {
    double *values;  /* ascending */
    double *vectors; /* k x k, column j: eigenvector j */
};
/* The k x dim embeddings phi L2-normalised (a zero row stays zero); *bad_row receives the first
 * row of zero norm, or k. */
const double *umpire_scorer_unit_rows(struct umpire_scorer *s, size_t *bad_row);
/* Their Gram matrix Phi Phi^T, k x k. */
const double *umpire_scorer_gram(struct umpire_scorer *s);
const double *umpire_scorer_similarity(struct umpire_scorer *s, enum umpire_similarity sim);
/* Connected components of W > p->cluster_threshold: cluster[k] ids (umpire_cluster); *n the
 * count. */
const size_t *umpire_scorer_clusters(struct umpire_scorer *s, enum umpire_similarity sim, size_t *n);
/* The eigen-decomposition of W's normalised Laplacian I - D^-1/2 W D^-1/2. */
const struct umpire_scorer_eigen *umpire_scorer_laplacian(struct umpire_scorer *s, enum umpire_similarity sim);
/* Estimator e's score on this item (computed once). */
double umpire_scorer_score(struct umpire_scorer *s, size_t e);
/* An estimator's own allocation failed: the item's scoring fails with UMPIRE_ENOMEM. Returns
 * NaN, for the estimator to return. */
double umpire_scorer_nomem(struct umpire_scorer *s);

#endif
