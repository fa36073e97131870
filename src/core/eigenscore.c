/* eigenscore.c - EigenScore (Chen et al., "INSIDE", ICLR 2024):
 *
 *   Sigma = Z^T J_d Z   (K x K; Z = d x K answer embeddings, J_d = I - 11^T / d centres
 *                        each embedding over its features)
 *   E = (1/K) logdet(Sigma + a I) = (1/K) sum_i log(lambda_i + a),   a = 1e-3
 */
#include <math.h>
#include <stdlib.h>

#include "core/baselines.h"
#include "core/linalg.h"

#define EIGENSCORE_JITTER 1e-3

double umpire_eigenscore(const float *embeddings, size_t k, size_t d) {
    double *z = malloc(k * d * sizeof *z), *g = malloc(k * k * sizeof *g), logdet = NAN;
    if (z && g) {
        for (size_t i = 0; i < k; i++) {
            double mean = 0.0;
            for (size_t j = 0; j < d; j++)
                mean += embeddings[i * d + j];
            mean /= (double)d;
            for (size_t j = 0; j < d; j++)
                z[i * d + j] = embeddings[i * d + j] - mean;
        }
        umpire_gram(z, k, d, g);
        if (umpire_logdet_psd(g, k, EIGENSCORE_JITTER, &logdet) != 0)
            logdet = NAN;
    }
    free(z);
    free(g);
    return logdet / (double)k;
}
