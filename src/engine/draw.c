/* draw.c - the next token of several answers that read the same output row (draw.h).
 *
 * llama.cpp's temp, top-k and top-p samplers keep no state: the truncated, sorted row they
 * leave is the same for every answer that reads the row at that temperature, so it is made once
 * and each answer's dist sampler (its own random state) draws from its own copy of it. Applying
 * the samplers one by one is what llama.cpp's chain does, so the draws are the chain's.
 *
 * Before the truncation, tokens whose probability at the temperature is exactly 0 in float are
 * left out. llama.cpp computes that probability as expf(l / temp - max) (float), and expf
 * returns 0 below log(2^-150) = -103.97: a token with l / temp - max < -104 adds exactly 0 to
 * every sum over the row (top-p's, the draw's), so the sums and the top-p cut are unchanged; at a
 * low temperature that is most of the vocabulary, which then need not be sorted. What can change
 * is only the order of exactly tied logits in the top-p set, which a sort of fewer elements may
 * leave differently. */
#include "engine/draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int umpire_draw_init(struct umpire_draw *d, int n_vocab) {
    d->n_vocab = n_vocab;
    d->kept = malloc((size_t)n_vocab * sizeof *d->kept);
    d->each = malloc((size_t)n_vocab * sizeof *d->each);
    if (d->kept && d->each)
        return 0;
    umpire_draw_free(d);
    return -1;
}

void umpire_draw_free(struct umpire_draw *d) {
    free(d->kept);
    free(d->each);
    d->kept = d->each = NULL;
}

int umpire_draw_class_init(struct umpire_draw_class *c, float temp, int top_k, float top_p) {
    *c = (struct umpire_draw_class){.temp = temp, .top_p = top_p, .top_k = top_k, .trunc = NULL};
    if (temp <= 0)
        return 0;
    struct llama_sampler_chain_params cp = llama_sampler_chain_default_params();
    cp.no_perf = true;
    if (!(c->trunc = llama_sampler_chain_init(cp)))
        return -1;
    llama_sampler_chain_add(c->trunc, llama_sampler_init_temp(temp));
    if (top_k > 0)
        llama_sampler_chain_add(c->trunc, llama_sampler_init_top_k(top_k));
    if (top_p < 1.0f)
        llama_sampler_chain_add(c->trunc, llama_sampler_init_top_p(top_p, 1));
    return 0;
}

void umpire_draw_class_free(struct umpire_draw_class *c) {
    if (c->trunc)
        llama_sampler_free(c->trunc);
    c->trunc = NULL;
}

struct llama_sampler *umpire_draw_sampler(uint32_t seed) { return llama_sampler_init_dist(seed); }

/* The row as candidates, without tokens of probability exactly 0 at temperature temp (top-k
 * off; with it, every token, as top-k's sort sees them). llama.cpp's temp sampler divides in
 * float, and the largest l / temp is (max l) / temp; a token is left out when
 * (max l - l) / temp > 105, whose rounded value is then surely below -104 (the margin covers the
 * roundings while |max l / temp| < 1e6; beyond that nothing is left out). Returns how many. */
static size_t candidates(const float *logits, int n_vocab, float temp, int top_k, llama_token_data *out) {
    float max = logits[0], min = logits[0];
    for (int v = 1; v < n_vocab; v++) {
        max = logits[v] > max ? logits[v] : max;
        min = logits[v] < min ? logits[v] : min;
    }
    double below = (double)max - 105.0 * (double)temp;
    size_t m = 0;
    if (top_k > 0 || !((double)min < below) || !(fabs((double)max / temp) < 1e6)) {
        for (int v = 0; v < n_vocab; v++)
            out[v] = (llama_token_data){v, logits[v], 0.0f};
        return (size_t)n_vocab;
    }
    for (int v = 0; v < n_vocab; v++)
        if (!((double)logits[v] < below))
            out[m++] = (llama_token_data){v, logits[v], 0.0f};
    return m;
}

void umpire_draw_row(struct umpire_draw *d, const float *logits, const struct umpire_draw_class *c,
                     struct llama_sampler *const *dist, int n, struct umpire_drawn *out) {
    if (!c->trunc) { /* llama.cpp's greedy sampler: the first of the largest logits */
        int best = 0;
        for (int v = 1; v < d->n_vocab; v++)
            if (logits[v] > logits[best])
                best = v;
        for (int i = 0; i < n; i++)
            out[i] = (struct umpire_drawn){best, 0.0, 0.0};
        return;
    }
    size_t m = candidates(logits, d->n_vocab, c->temp, c->top_k, d->kept);
    llama_token_data_array kept = {d->kept, m, -1, false};
    llama_sampler_apply(c->trunc, &kept);
    double entropy = 0.0;
    for (int i = 0; i < n; i++) {
        llama_token_data_array a = kept; /* the last draw may normalise the truncated row itself */
        if (i < n - 1) {
            memcpy(d->each, kept.data, kept.size * sizeof *d->each);
            a.data = d->each;
        }
        llama_sampler_apply(dist[i], &a);
        llama_sampler_accept(dist[i], a.data[a.selected].id);
        if (i == 0) /* the normalised probabilities are the same in every copy */
            for (size_t j = 0; j < a.size; j++)
                if (a.data[j].p > 0)
                    entropy -= a.data[j].p * log(a.data[j].p);
        out[i] = (struct umpire_drawn){a.data[a.selected].id, log(a.data[a.selected].p), entropy};
    }
}
