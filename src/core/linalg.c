/* linalg.c - Gram matrices, log-determinants and symmetric eigen-decompositions.
 * No hand-rolled factorisations: LAPACKE's dpotrf / dsyevd and CBLAS's dsyrk do the work. */
#include "core/linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void umpire_set_blas_threads(int n) { openblas_set_num_threads(n > 0 ? n : 1); }

size_t umpire_rows_normalise(const float *e, size_t k, size_t d, double *out, double *bad_norm) {
    size_t first_bad = k;
    for (size_t i = 0; i < k; i++) {
        double norm = 0.0;
        for (size_t j = 0; j < d; j++)
            norm += (double)e[i * d + j] * e[i * d + j];
        norm = sqrt(norm);
        int ok = norm > 0 && isfinite(norm);
        if (!ok && first_bad == k) {
            first_bad = i;
            if (bad_norm)
                *bad_norm = norm;
        }
        for (size_t j = 0; j < d; j++)
            out[i * d + j] = ok ? e[i * d + j] / norm : 0.0;
    }
    return first_bad;
}

void umpire_gram(const double *x, size_t n, size_t d, double *g) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0, x, (int)d, 0.0, g,
                (int)n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            g[i * n + j] = g[j * n + i];
}

int umpire_eigh(const double *a, size_t n, double *values, double *vecs) {
    double *m = vecs ? vecs : malloc(n * n * sizeof *m);
    if (!m)
        return -1;
    memcpy(m, a, n * n * sizeof *m);
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vecs ? 'V' : 'N', 'U', (lapack_int)n, m,
                                     (lapack_int)n, values);
    if (!vecs)
        free(m);
    return info == 0 ? 0 : -1;
}

int umpire_logdet_psd(const double *a, size_t n, double jitter, double *logdet) {
    double *m = malloc(n * n * sizeof *m);
    if (!m)
        return -1;
    memcpy(m, a, n * n * sizeof *m);
    for (size_t i = 0; i < n; i++)
        m[i * n + i] += jitter;
    /* log det = 2 sum log L_ii for the Cholesky factor L */
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, m, (lapack_int)n);
    if (info == 0) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += log(m[i * n + i]);
        free(m);
        *logdet = 2.0 * s;
        return 0;
    }
    /* not numerically positive definite: the eigenvalues of A are >= 0 in exact arithmetic, so
     * those of A + jitter I are >= jitter; clamp the rounding noise there */
    double *w = malloc(n * sizeof *w);
    int rc = w ? umpire_eigh(a, n, w, NULL) : -1;
    if (rc == 0) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += log(fmax(w[i] + jitter, jitter));
        *logdet = s;
    }
    free(w);
    free(m);
    return rc;
}
