/* logprob.c - the one softmax and the one answer log-probability (logprob.h).
 *
 *   m = max_v z_v / t,  d_v = z_v / t - m,  S = sum_v e^{d_v}
 *   log p(v) = d_v - log S,   H = -sum_v p(v) log p(v) = log S - sum_v e^{d_v} d_v / S,
 *   E_p[z] = sum_v e^{d_v} z_v / S
 *
 * One pass for the maximum, one for the sums: the engine runs this over the whole vocabulary
 * for every decoded row. */
#include "core/logprob.h"

#include <math.h>

static inline double logit(const void *z, int f64, size_t v) {
    return f64 ? ((const double *)z)[v] : (double)((const float *)z)[v];
}

/* Inlined into each caller below with f64, with_mean and (for t = 1) t constant: the element
 * type, the division by 1 and the mean cost nothing in the loops that do not need them. */
static inline void softmax(const void *z, int f64, size_t n, double t, int with_mean, struct umpire_softmax *s) {
    double m = -INFINITY;
    for (size_t v = 0; v < n; v++) {
        double x = logit(z, f64, v) / t;
        m = x > m ? x : m;
    }
    double sum = 0.0, sum_d = 0.0, sum_z = 0.0;
    for (size_t v = 0; v < n; v++) {
        double x = logit(z, f64, v), d = x / t - m, e = exp(d);
        sum += e;
        sum_d += e * d;
        if (with_mean)
            sum_z += e * x;
    }
    s->max = m;
    s->sum = sum;
    s->logz = log(sum);
    s->entropy = s->logz - sum_d / sum;
    s->mean = with_mean ? sum_z / sum : NAN;
}

void umpire_softmax_f32(const float *z, size_t n, double t, struct umpire_softmax *s) {
    if (t == 1.0) /* the engine's rows */
        softmax(z, 0, n, 1.0, 0, s);
    else
        softmax(z, 0, n, t, 0, s);
}

void umpire_softmax_f64(const double *z, size_t n, double t, struct umpire_softmax *s) { softmax(z, 1, n, t, 0, s); }

void umpire_softmax_mean_f32(const float *z, size_t n, double t, struct umpire_softmax *s) {
    softmax(z, 0, n, t, 1, s);
}

void umpire_softmax_mean_f64(const double *z, size_t n, double t, struct umpire_softmax *s) {
    softmax(z, 1, n, t, 1, s);
}

double umpire_answer_logprob(const struct umpire_answer *a) {
    double s = 0.0;
    for (size_t t = 0; t < a->n_tokens; t++)
        s += a->logprobs[t];
    return s;
}
