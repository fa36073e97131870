/* gradscore.c - the gradient scores' loss, ExGrad and HybridGrad on plain arrays (see
 * gradscore.h for the formulas and the reference). */
#include "core/gradscore.h"

#include <math.h>
#include <stdlib.h>

#include "core/logprob.h"

double umpire_grad_entropy(const float *z, size_t n) {
    struct umpire_softmax s;
    umpire_softmax_f32(z, n, 1.0, &s);
    const double floor_log = log(UMPIRE_GRAD_ENTROPY_FLOOR);
    double h = 0;
    for (size_t v = 0; v < n; v++) {
        double lp = (double)z[v] - s.max - s.logz, p = exp(lp);
        h -= p * (lp > floor_log ? lp : floor_log);
    }
    return h;
}

int umpire_grad_loss(const float *z, const int32_t *y, size_t T, size_t V, int weighted, float *dz,
                     struct umpire_grad_loss *out) {
    if (T == 0)
        return -1;
    double loss = 0, ent = 0;
    for (size_t t = 0; t < T; t++) {
        if (y[t] < 0 || (size_t)y[t] >= V)
            return -1;
        const float *zt = z + t * V;
        struct umpire_softmax s;
        umpire_softmax_f32(zt, V, 1.0, &s);
        const double H = umpire_grad_entropy(zt, V), w = weighted ? H : 1.0;
        ent += H;
        loss -= w * ((double)zt[y[t]] - s.max - s.logz);
        if (dz) {
            const double c = w / (double)T;
            for (size_t v = 0; v < V; v++)
                dz[t * V + v] = (float)(c * exp((double)zt[v] - s.max - s.logz));
            dz[t * V + (size_t)y[t]] = (float)(c * (exp((double)zt[y[t]] - s.max - s.logz) - 1.0));
        }
    }
    out->loss = loss / (double)T;
    out->mean_entropy = ent / (double)T;
    return 0;
}

double umpire_grad_exgrad(const float *dz, const float *h, size_t T, size_t V, size_t d,
                          const int32_t *tok, const float *embd, size_t n_embd_rows) {
    double *row = malloc(d * sizeof *row);
    /* the input positions of each token, as linked lists: first[v], then next[i] */
    long *first = embd ? malloc(V * sizeof *first) : NULL,
         *next = embd ? malloc((n_embd_rows + 1) * sizeof *next) : NULL;
    if (!row || (embd && (!first || !next))) {
        free(row);
        free(first);
        free(next);
        return NAN;
    }
    for (size_t v = 0; embd && v < V; v++)
        first[v] = -1;
    for (size_t i = 0; embd && i < n_embd_rows; i++)
        if (tok[i] >= 0 && (size_t)tok[i] < V) {
            next[i] = first[tok[i]];
            first[tok[i]] = (long)i;
        }
    double total = 0;
    for (size_t v = 0; v < V; v++) { /* row v of dL/dW_out = sum_t dz_t[v] h_t (+ E[v]) */
        for (size_t j = 0; j < d; j++)
            row[j] = 0;
        for (size_t t = 0; t < T; t++) {
            const double g = dz[t * V + v];
            const float *ht = h + t * d;
            for (size_t j = 0; j < d; j++)
                row[j] += g * ht[j];
        }
        for (long i = embd ? first[v] : -1; i >= 0; i = next[i])
            for (size_t j = 0; j < d; j++)
                row[j] += embd[(size_t)i * d + j];
        for (size_t j = 0; j < d; j++)
            total += fabs(row[j]);
    }
    free(row);
    free(first);
    free(next);
    return total / ((double)V * (double)d);
}

double umpire_grad_mean_abs(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)g[i]);
    return n ? s / (double)n : NAN;
}

double umpire_grad_hybrid(double exgrad, double semgrad, double mean_entropy) {
    const double a = exp(-mean_entropy);
    return a * exgrad + (1 - a) * semgrad;
}

int umpire_grad_layers(int n_layer, int *first, int *last) {
    const int keep = n_layer / 2;
    if (keep < 1)
        return 0;
    *first = n_layer - keep - 1;
    *last = n_layer - 2;
    return keep;
}
