/* linalg.h - the few dense linear-algebra steps the estimators need, on k x k matrices. */
#ifndef UMPIRE_CORE_LINALG_H
#define UMPIRE_CORE_LINALG_H

#include <stddef.h>

/* out (k x d, row-major) = the rows of the k x d embeddings e scaled to unit L2 norm; a row
 * whose norm is 0 or not finite is left as zeros. Returns the first such row (its norm in
 * *bad_norm when not NULL), or k when every row was normalised. */
size_t umpire_rows_normalise(const float *e, size_t k, size_t d, double *out, double *bad_norm);

/* G = X X^T for the n x d row-major X; G is n x n row-major (both triangles filled). */
void umpire_gram(const double *x, size_t n, size_t d, double *g);

/* log det(A + jitter I) of a symmetric positive semi-definite n x n matrix A (row-major, not
 * modified). Cholesky first; when A + jitter I is not numerically positive definite, the
 * eigenvalues (umpire_eigh) clamped below at jitter. jitter > 0. Returns 0, or -1 when the
 * eigenvalues do not converge or memory runs out. */
int umpire_logdet_psd(const double *a, size_t n, double jitter, double *logdet);

/* Eigenvalues (ascending) of the symmetric n x n matrix A (cyclic Jacobi), and its
 * eigenvectors when vecs is not NULL (column j of the row-major vecs is eigenvector j).
 * Returns 0, or -1 when A is not finite, memory runs out or the sweeps do not converge. */
int umpire_eigh(const double *a, size_t n, double *values, double *vecs);

#endif
