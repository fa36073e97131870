/* linalg.c - Gram matrices, log-determinants and symmetric eigen-decompositions of the small
 * k x k matrices umpire needs (k answers: 2..64 or so), in plain C.
 *
 * Not LAPACK's dpotrf / dsyevd and CBLAS's dsyrk, as before: OpenBLAS works in a buffer it
 * reserves per thread (128 MB of address space here), for its worker threads as soon as it is
 * loaded and for the caller's at its first level-2/3 call, and when a reservation fails it
 * retries forever. Under a memory limit (ulimit -v) every umpire command hung, --version
 * included. On k x k matrices Cholesky and Jacobi cost microseconds and need only a malloc,
 * whose failure is reported. */
#include "core/linalg.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* x . y over d, in eight running sums: independent, so the compiler can keep them in SIMD
 * registers (no reassociation: the same bits every time, on every machine) */
static double dot(const double *x, const double *y, size_t d) {
    double s[8] = {0};
    size_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (size_t u = 0; u < 8; u++)
            s[u] += x[j + u] * y[j + u];
    for (; j < d; j++)
        s[0] += x[j] * y[j];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void umpire_gram(const double *x, size_t n, size_t d, double *g) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            g[i * n + j] = g[j * n + i] = dot(x + i * d, x + j * d, d);
}

/* Cyclic Jacobi (Golub & Van Loan, Matrix Computations, 4th ed., algorithms 8.5.2-8.5.3): a
 * sweep zeroes each off-diagonal a_pq in turn with the rotation J = [c s; -s c] in rows and
 * columns p, q (A <- J^T A J, V <- V J): tau = (a_qq - a_pp) / 2 a_pq, t the smaller root of
 * t^2 + 2 tau t - 1 = 0, c = 1 / sqrt(1 + t^2), s = t c; then a_pp -= t a_pq, a_qq += t a_pq.
 * Converges quadratically; done when the off-diagonal mass is below rounding of the whole. */
#define JACOBI_SWEEPS 100

int umpire_eigh(const double *a, size_t n, double *values, double *vecs) {
    double *m = malloc(n * n * sizeof *m), *v = vecs ? malloc(n * n * sizeof *v) : NULL;
    size_t *order = malloc(n * sizeof *order);
    if (!m || !order || (vecs && !v)) {
        free(m);
        free(v);
        free(order);
        return -1;
    }
    memcpy(m, a, n * n * sizeof *m);
    for (size_t i = 0; v && i < n * n; i++)
        v[i] = i / n == i % n;
    double total = 0.0;
    for (size_t i = 0; i < n * n; i++)
        total += m[i] * m[i];
    int converged = isfinite(total) ? 0 : -1;
    for (int sweep = 0; !converged && sweep < JACOBI_SWEEPS; sweep++) {
        double off = 0.0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++)
                off += 2.0 * m[p * n + q] * m[p * n + q];
        if (off <= DBL_EPSILON * DBL_EPSILON * total) {
            converged = 1;
            break;
        }
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = m[p * n + q];
                if (apq == 0.0)
                    continue;
                double tau = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                m[p * n + p] -= t * apq;
                m[q * n + q] += t * apq;
                m[p * n + q] = m[q * n + p] = 0.0;
                for (size_t k = 0; k < n; k++) {
                    if (k == p || k == q)
                        continue;
                    double akp = m[k * n + p], akq = m[k * n + q];
                    m[k * n + p] = m[p * n + k] = c * akp - s * akq;
                    m[k * n + q] = m[q * n + k] = s * akp + c * akq;
                }
                for (size_t k = 0; v && k < n; k++) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    if (converged == 1) { /* ascending, each eigenvector its column */
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = 1; i < n; i++) /* insertion sort: stable, n <= k */
            for (size_t j = i;
                 j > 0 && m[order[j] * n + order[j]] < m[order[j - 1] * n + order[j - 1]]; j--) {
                size_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (size_t i = 0; i < n; i++) {
            values[i] = m[order[i] * n + order[i]];
            for (size_t k = 0; v && k < n; k++)
                vecs[k * n + i] = v[k * n + order[i]];
        }
    }
    free(m);
    free(v);
    free(order);
    return converged == 1 ? 0 : -1;
}

/* log det = 2 sum log L_jj for the Cholesky factor L of A + jitter I (L L^T, row by row:
 * L_jj = sqrt(a_jj - sum_k<j L_jk^2), L_ij = (a_ij - sum_k<j L_ik L_jk) / L_jj). Returns 0, or
 * -1 when a pivot is not positive (not numerically positive definite). */
static int cholesky_logdet(const double *a, size_t n, double jitter, double *l, double *logdet) {
    double s = 0.0;
    for (size_t j = 0; j < n; j++) {
        double d = a[j * n + j] + jitter;
        for (size_t k = 0; k < j; k++)
            d -= l[j * n + k] * l[j * n + k];
        if (!(d > 0))
            return -1;
        l[j * n + j] = sqrt(d);
        s += log(l[j * n + j]);
        for (size_t i = j + 1; i < n; i++) {
            double x = a[i * n + j];
            for (size_t k = 0; k < j; k++)
                x -= l[i * n + k] * l[j * n + k];
            l[i * n + j] = x / l[j * n + j];
        }
    }
    *logdet = 2.0 * s;
    return 0;
}

int umpire_logdet_psd(const double *a, size_t n, double jitter, double *logdet) {
    double *m = malloc(n * n * sizeof *m);
    if (!m)
        return -1;
    int rc = cholesky_logdet(a, n, jitter, m, logdet);
    free(m);
    if (rc == 0)
        return 0;
    /* not numerically positive definite: the eigenvalues of A are >= 0 in exact arithmetic, so
     * those of A + jitter I are >= jitter; clamp the rounding noise there */
    double *w = malloc(n * sizeof *w);
    rc = w ? umpire_eigh(a, n, w, NULL) : -1;
    if (rc == 0) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += log(fmax(w[i] + jitter, jitter));
        *logdet = s;
    }
    free(w);
    return rc;
}
