/* volume.c - UMPIRE: semantic volume U, incoherence Q, and the adaptive weight alpha.
 *
 *   U = logdet(Phi Phi^T + eps I) / (2k)    Phi: the k L2-normalised answer embeddings (rows)
 *   Q = (1/k) sum_i (1 - p_i)               p_i = exp(sum_t log p(y_it)), EOS included
 *   V = U + alpha Q                         alpha = |median(U) / median(Q)| on a dev split
 *
 * U measures the volume the answers span in the model's own hidden space (global semantic
 * diversity); Q the model's own doubt about each answer (local incoherence).
 */
#include <math.h>
#include <stdlib.h>

#include "core/baselines.h"
#include "core/linalg.h"
#include "core/logprob.h"
#include "core/stats.h"
#include "core/status.h"

int umpire_semantic_volume(const float *embeddings, size_t k, size_t d, double eps, double *u,
                           char *err) {
    if (k == 0 || d == 0)
        return umpire_fail(err, UMPIRE_EINVAL, "semantic volume needs k >= 1 embeddings of width >= 1");
    if (!(eps > 0))
        return umpire_fail(err, UMPIRE_EINVAL, "semantic volume needs eps > 0 (got %g)", eps);
    double *phi = malloc(k * d * sizeof *phi), *g = malloc(k * k * sizeof *g);
    if (!phi || !g) {
        free(phi);
        free(g);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    int rc = UMPIRE_OK;
    double bad_norm = 0.0;
    size_t bad = umpire_rows_normalise(embeddings, k, d, phi, &bad_norm);
    if (bad < k) /* a zero row has no direction: the volume is undefined, not small */
        rc = umpire_fail(err, UMPIRE_EINVAL, "embedding %zu has norm %g", bad, bad_norm);
    double v = NAN;
    if (rc == UMPIRE_OK) {
        umpire_gram(phi, k, d, g);
        if (isnan(v = umpire_volume_of_gram(g, k, eps)))
            rc = umpire_fail(err, UMPIRE_ENUM, "log-determinant failed (k=%zu, d=%zu)", k, d);
    }
    free(phi);
    free(g);
    if (rc == UMPIRE_OK)
        *u = v;
    return rc;
}

double umpire_volume_of_gram(const double *gram, size_t k, double eps) {
    double logdet;
    return umpire_logdet_psd(gram, k, eps, &logdet) == 0 ? logdet / (2.0 * (double)k) : NAN;
}

double umpire_incoherence(const struct umpire_answer *samples, size_t k, int length_normalised) {
    double q = 0.0;
    for (size_t i = 0; i < k; i++) {
        double s = umpire_answer_logprob(&samples[i]);
        if (length_normalised && samples[i].n_tokens > 0)
            s /= (double)samples[i].n_tokens;
        q += umpire_one_minus_exp(s); /* 1 - p_i */
    }
    return q / (double)k;
}

double umpire_alpha(const double *u, const double *q, size_t n) {
    double mu = umpire_median(u, n), mq = umpire_median(q, n);
    if (mq == 0.0) {
        mu = umpire_mean(u, n);
        mq = umpire_mean(q, n);
    }
    return mq == 0.0 ? 0.0 : fabs(mu / mq);
}
