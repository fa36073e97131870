/* logprob.h - probabilities in log space, computed in one place (logprob.c) for the core and
 * the engine alike: the softmax of a row of logits at a temperature, an answer's joint
 * log-probability, and 1 - p for p = exp(x) (-expm1(x): no cancellation when p is near 1). */
#ifndef UMPIRE_CORE_LOGPROB_H
#define UMPIRE_CORE_LOGPROB_H

#include <math.h>
#include <stddef.h>

#include "umpire.h"

/* p(v) = exp(z_v / t) / sum_w exp(z_w / t) over n logits z, with the largest term taken out
 * (no overflow): log p(v) = z_v / t - max - logz, logsumexp(z / t) = max + logz. */
struct umpire_softmax {
    double max;     /* max_v z_v / t */
    double sum;     /* sum_v exp(z_v / t - max), in [1, n] */
    double logz;    /* log sum */
    double entropy; /* -sum_v p(v) log p(v) */
    double mean;    /* E_p[z] = d logsumexp(z / t) / d(1 / t): the *_mean functions (else NaN) */
};
/* The softmax of float logits (a model's output row) and of double ones, at temperature t > 0
 * (t = inf: the uniform distribution). n >= 1. */
void umpire_softmax_f32(const float *z, size_t n, double t, struct umpire_softmax *s);
void umpire_softmax_f64(const double *z, size_t n, double t, struct umpire_softmax *s);
/* The same and E_p[z] (temperature fitting: one more product a logit). */
void umpire_softmax_mean_f32(const float *z, size_t n, double t, struct umpire_softmax *s);
void umpire_softmax_mean_f64(const double *z, size_t n, double t, struct umpire_softmax *s);

/* The softmax of a model's output row at t = 1, as umpire_softmax_f32 but vectorised with e^x
 * in single precision (softmax_row.c): logz and entropy within 1e-7 of it; mean NaN. The
 * engine's per-token raw statistics. n >= 1. */
void umpire_softmax_row_f32(const float *z, size_t n, struct umpire_softmax *s);

/* 1 - exp(x) for a log-probability x, without cancellation when exp(x) is near 1; 0 (not -0)
 * at x = 0. */
static inline double umpire_one_minus_exp(double x) { return 0.0 - expm1(x); }

/* log p(answer) = sum_t log p(y_t) over its n_tokens log-probs (EOS included). */
double umpire_answer_logprob(const struct umpire_answer *a);

#endif
