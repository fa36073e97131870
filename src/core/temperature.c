/* temperature.c - temperature scaling of a multiple-choice answer's confidence over the full
 * vocabulary, as Calibration-MLLM's TS.py fits and measures it:
 *
 *   p_T(v) = softmax(z / T)[v] over every token v of the step where the option letter is read
 *   NLL(T) = mean_i -log p_T(y_i), y_i the right letter's token          (fitted on a split)
 *   ECE    = sum_b (n_b / n) |accuracy_b - mean confidence_b|, confidence = max_v p_T(v),
 *            10 bins of min(int(10 conf), 9)                              (TS.py's calculate_ece)
 *
 * NLL is convex in beta = 1 / T: d NLL / d beta = mean_i (E_{p_T}[z_i] - z_i,y). fit finds its
 * root by bisection; the reference's grid (T = 0.01, 0.02, ..., 9.99, the first minimum) is
 * the other way.
 */
#include <math.h>
#include <stdlib.h>

#include "core/logprob.h"
#include "core/status.h"

double umpire_vocab_temperature_nll(const float *const *rows, const int32_t *label, size_t n, size_t v, double t) {
    double nll = 0;
    for (size_t i = 0; i < n; i++) {
        struct umpire_softmax s;
        umpire_softmax_f32(rows[i], v, t, &s);
        nll += s.max + s.logz - rows[i][label[i]] / t; /* logsumexp(z / T) - z_y / T */
    }
    return n ? nll / (double)n : NAN;
}

static double slope(const float *const *rows, const int32_t *label, size_t n, size_t v, double beta) {
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        struct umpire_softmax s;
        umpire_softmax_mean_f32(rows[i], v, beta > 0 ? 1.0 / beta : INFINITY, &s);
        d += s.mean - rows[i][label[i]];
    }
    return d / (double)n;
}

int umpire_vocab_temperature_fit(const float *const *rows, const int32_t *label, size_t n, size_t v, int grid,
                                 double *t, char *err) {
    if (n == 0 || v < 2)
        return umpire_fail(err, UMPIRE_EINVAL, "temperature scaling needs items with >= 2 logits");
    for (size_t i = 0; i < n; i++) {
        if (label[i] < 0 || (size_t)label[i] >= v)
            return umpire_fail(err, UMPIRE_EINVAL, "item %zu: label token %d is not in the vocabulary", i, label[i]);
        for (size_t j = 0; j < v; j++)
            if (!isfinite(rows[i][j]))
                return umpire_fail(err, UMPIRE_EINVAL, "item %zu: logit %zu is not finite", i, j);
    }
    if (grid) { /* TS.py: range(1000) / 100, the first strict minimum (T = 0 is no temperature) */
        double best = INFINITY;
        *t = NAN;
        for (int k = 1; k < 1000; k++) {
            double nll = umpire_vocab_temperature_nll(rows, label, n, v, k / 100.0);
            if (nll < best) {
                best = nll;
                *t = k / 100.0;
            }
        }
        return isfinite(best) ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENUM, "the NLL is not finite on the grid");
    }
    if (slope(rows, label, n, v, 0.0) >= 0)
        return umpire_fail(err, UMPIRE_EINVAL, "the logits do not beat a uniform guess: no finite temperature");
    double lo = 0.0, hi = 1.0;
    while (slope(rows, label, n, v, hi) < 0) {
        if (hi > 1e8)
            return umpire_fail(err, UMPIRE_EINVAL, "the NLL keeps falling as T -> 0 (every label is its row's "
                                                   "most likely token): no finite temperature");
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (slope(rows, label, n, v, mid) < 0)
            lo = mid;
        else
            hi = mid;
    }
    *t = 2.0 / (lo + hi);
    return UMPIRE_OK;
}

double umpire_vocab_top_probability(const float *z, size_t v, double t, size_t *top) {
    size_t k = 0;
    for (size_t j = 1; j < v; j++)
        if (z[j] > z[k])
            k = j;
    struct umpire_softmax s;
    umpire_softmax_f32(z, v, t, &s);
    if (top)
        *top = k;
    return exp(z[k] / t - s.max - s.logz);
}

double umpire_ece_confidence(const double *conf, const int *right, size_t n, size_t bins) {
    if (n == 0 || bins == 0)
        return NAN;
    double *sc = calloc(bins, sizeof *sc), *sr = calloc(bins, sizeof *sr), ece = 0;
    if (!sc || !sr) {
        free(sc);
        free(sr);
        return NAN;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(conf[i] >= 0 && conf[i] <= 1)) {
            free(sc);
            free(sr);
            return NAN;
        }
        size_t b = (size_t)(conf[i] * (double)bins); /* min(int(conf * bins), bins - 1) */
        b = b < bins ? b : bins - 1;
        sc[b] += conf[i];
        sr[b] += right[i] != 0;
    }
    for (size_t b = 0; b < bins; b++)
        ece += fabs(sr[b] - sc[b]) / (double)n;
    free(sc);
    free(sr);
    return ece;
}
