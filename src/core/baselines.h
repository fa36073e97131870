/* baselines.h - the baseline estimators (entropy.c, rouge.c, eigenscore.c, graph.c).
 * Higher = more uncertain throughout. */
#ifndef UMPIRE_CORE_BASELINES_H
#define UMPIRE_CORE_BASELINES_H

#include "umpire.h"

double umpire_predictive_entropy(const struct umpire_answer *s, size_t k);
double umpire_ln_predictive_entropy(const struct umpire_answer *s, size_t k);
double umpire_ln_entropy(const struct umpire_answer *s, size_t k);
double umpire_sequence_probability(const struct umpire_answer *greedy);
double umpire_perplexity(const struct umpire_answer *greedy);
double umpire_mean_token_entropy(const struct umpire_answer *greedy, const struct umpire_answer *s, size_t k);
/* EigenScore: mean log10 eigenvalue of cov(rows of the k x d embeddings) + jitter I, rows
 * first L2-normalised when `normalise` (eigenscore.c). NaN when d < 2, a row to normalise has
 * no direction, or the log-determinant fails. */
double umpire_eigenscore(const float *embeddings, size_t k, size_t d, int normalise, double jitter);
/* The same of the k x d rows z as they are (z is overwritten: each row centred). */
double umpire_eigenscore_rows(double *z, size_t k, size_t d, double jitter);
/* U = logdet(G + eps I) / 2k of the Gram matrix G = Phi Phi^T of k unit rows (volume.c); NaN
 * when the log-determinant fails. */
double umpire_volume_of_gram(const double *gram, size_t k, double eps);

/* similarity matrices (k x k, symmetric, unit diagonal, values in [0, 1]) */
void umpire_similarity_cosine(const float *embeddings, size_t k, size_t d, double *w);
/* max(0, cosine) from the Gram matrix g of the L2-normalised embeddings (w may be g) */
void umpire_similarity_cosine_gram(const double *g, size_t k, double *w);
void umpire_similarity_lexical(const struct umpire_answer *s, size_t k, double *w);

/* Clusters = connected components of the graph W_ij > threshold (order-invariant). Writes
 * cluster ids (numbered by first member) to cluster[k]; returns the number of clusters. */
size_t umpire_cluster(const double *w, size_t k, double threshold, size_t *cluster);
double umpire_num_sets(const double *w, size_t k, double threshold);
double umpire_discrete_semantic_entropy(const double *w, size_t k, double threshold);
/* The same of n clusters already drawn (cluster[k] as umpire_cluster writes it). */
double umpire_cluster_entropy(const size_t *cluster, size_t n, size_t k);
/* Probability-weighted semantic entropy, umpire's variant: clusters as above, p(c) the
 * normalised sum of the joint probabilities of the distinct answers in c. */
double umpire_semantic_entropy_weighted(const double *w, const struct umpire_answer *s, size_t k, double threshold);
double umpire_cluster_entropy_weighted(const size_t *cluster, size_t n, const struct umpire_answer *s, size_t k);
/* Clusters as the semantic-entropy reference code draws them (get_semantic_ids with
 * strict_entailment): each answer not yet in a cluster founds one, and every later answer j
 * with E_ij > t and E_ji > t (entailment both ways with the founder) joins it, even one that
 * an earlier founder took. E: k x k, E_ij = P(i entails j). Returns the number of clusters. */
size_t umpire_cluster_strict(const double *e, size_t k, double threshold, size_t *cluster);
/* Semantic entropy as UMPIRE's reference computes it (Farquhar et al. 2024's code): strict
 * clusters, log p(c) = logsumexp of its members' sequence log-likelihoods minus that of all k
 * (duplicates included), -sum_c p(c) log p(c). */
double umpire_semantic_entropy_strict(const double *e, const struct umpire_answer *s, size_t k, double threshold);
double umpire_eigv(const double *w, size_t k);
double umpire_degree(const double *w, size_t k);
double umpire_eccentricity(const double *w, size_t k);
double umpire_kernel_language_entropy(const double *w, size_t k, double t);
/* L = I - D^-1/2 W D^-1/2 into l (k x k); EigV and Eccentricity of its eigenvalues lam
 * (ascending) and eigenvectors vec (column j: eigenvector j), as umpire_eigh returns them. */
void umpire_laplacian_normalised(const double *w, size_t k, double *l);
double umpire_eigv_of(const double *lam, size_t k);
double umpire_eccentricity_of(const double *lam, const double *vec, size_t k);

#endif
