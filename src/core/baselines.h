/* baselines.h - the baseline estimators (entropy.c, rouge.c, eigenscore.c, graph.c).
 * Higher = more uncertain throughout. */
#ifndef UMPIRE_CORE_BASELINES_H
#define UMPIRE_CORE_BASELINES_H

#include "umpire.h"

double umpire_predictive_entropy(const struct umpire_answer *s, size_t k);
double umpire_ln_predictive_entropy(const struct umpire_answer *s, size_t k);
double umpire_sequence_probability(const struct umpire_answer *greedy);
double umpire_perplexity(const struct umpire_answer *greedy);
double umpire_mean_token_entropy(const struct umpire_item *item);
double umpire_eigenscore(const float *embeddings, size_t k, size_t d);

/* similarity matrices (k x k, symmetric, unit diagonal, values in [0, 1]) */
void umpire_similarity_cosine(const float *embeddings, size_t k, size_t d, double *w);
void umpire_similarity_lexical(const struct umpire_answer *s, size_t k, double *w);

/* Clusters = connected components of the graph W_ij > threshold (order-invariant). Writes
 * cluster ids (numbered by first member) to cluster[k]; returns the number of clusters. */
size_t umpire_cluster(const double *w, size_t k, double threshold, size_t *cluster);
double umpire_num_sets(const double *w, size_t k, double threshold);
double umpire_discrete_semantic_entropy(const double *w, size_t k, double threshold);
/* Probability-weighted semantic entropy (Kuhn et al. 2023): clusters as above, p(c) the
 * normalised sum of the joint probabilities of the distinct answers in c. */
double umpire_semantic_entropy_weighted(const double *w, const struct umpire_answer *s, size_t k, double threshold);
double umpire_eigv(const double *w, size_t k);
double umpire_degree(const double *w, size_t k);
double umpire_eccentricity(const double *w, size_t k);
double umpire_kernel_language_entropy(const double *w, size_t k, double t);

#endif
