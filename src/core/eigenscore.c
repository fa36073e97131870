/* eigenscore.c - EigenScore (Chen et al., "INSIDE", ICLR 2024), as its reference code
 * computes it (func/metric.py, getEigenIndicator_v0):
 *
 *   Sigma = cov(Z)     k x k; Z = the k answer embeddings as rows, each centred over its
 *                      features, divided by d - 1 (numpy / torch cov of rows)
 *   E = mean_j log10(lambda_j(Sigma + jitter I))      (the singular values of a PSD matrix)
 *
 * INSIDE: Z = the middle layer's hidden states, jitter 1e-3. UMPIRE's baseline
 * (modules/logdet_utils.py, compute_eigenscore, called with the pipeline's jitter 1e-8): Z = the
 * L2-normalised last-layer states phi.
 */
#include <math.h>
#include <stdlib.h>

#include "core/baselines.h"
#include "core/linalg.h"

double umpire_eigenscore(const float *embeddings, size_t k, size_t d, int normalise, double jitter) {
    if (k == 0 || d < 2)
        return NAN;
    double *z = malloc(k * d * sizeof *z), v = NAN;
    int ok = z != NULL;
    if (ok) {
        if (normalise) /* a zero row has no direction: undefined, as in the reference (0 / 0) */
            ok = umpire_rows_normalise(embeddings, k, d, z, NULL) == k;
        else
            for (size_t i = 0; i < k * d; i++)
                z[i] = embeddings[i];
    }
    if (ok)
        v = umpire_eigenscore_rows(z, k, d, jitter);
    free(z);
    return v;
}

double umpire_eigenscore_rows(double *z, size_t k, size_t d, double jitter) {
    if (k == 0 || d < 2)
        return NAN;
    double *g = malloc(k * k * sizeof *g), logdet = NAN;
    if (g) {
        for (size_t i = 0; i < k; i++) {
            double mean = 0.0;
            for (size_t j = 0; j < d; j++)
                mean += z[i * d + j];
            mean /= (double)d;
            for (size_t j = 0; j < d; j++)
                z[i * d + j] -= mean;
        }
        umpire_gram(z, k, d, g);
        for (size_t i = 0; i < k * k; i++)
            g[i] /= (double)(d - 1);
        if (umpire_logdet_psd(g, k, jitter, &logdet) != 0)
            logdet = NAN;
    }
    free(g);
    return logdet / ((double)k * log(10.0));
}
