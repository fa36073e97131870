/* entropy.c - the probability baselines: predictive entropy (and two length-normalised forms),
 * the greedy answer's sequence probability and perplexity, and mean token entropy.
 * Each reads only log-probabilities (of whichever distribution the caller hands in: the
 * sampler's or the raw model's); higher = more uncertain. */
#include "core/baselines.h"

#include <math.h>

#include "core/logprob.h"

/* PE = -(1/k) sum_i log p(y_i)   (Monte-Carlo estimate of H(Y | x); Kadavath et al. 2022) */
double umpire_predictive_entropy(const struct umpire_answer *s, size_t k) {
    double h = 0.0;
    for (size_t i = 0; i < k; i++)
        h -= umpire_answer_logprob(&s[i]);
    return h / (double)k;
}

/* LN-PE = -(1/k) sum_i (1/T_i) log p(y_i)   (Malinin & Gales 2021) */
double umpire_ln_predictive_entropy(const struct umpire_answer *s, size_t k) {
    double h = 0.0;
    for (size_t i = 0; i < k; i++)
        h -= s[i].n_tokens ? umpire_answer_logprob(&s[i]) / (double)s[i].n_tokens : 0.0;
    return h / (double)k;
}

/* LN-Entropy as UMPIRE's baseline computes it (modules/logdet_utils.py,
 * get_normalized_entropy): mean_i (1/T_i) sum_t -p_it log p_it, p_it = exp(log-prob of the
 * sampled token t): only the drawn tokens' terms of an entropy, not the full distribution's. */
double umpire_ln_entropy(const struct umpire_answer *s, size_t k) {
    double h = 0.0;
    for (size_t i = 0; i < k; i++) {
        double hi = 0.0;
        for (size_t t = 0; t < s[i].n_tokens; t++)
            hi -= exp(s[i].logprobs[t]) * s[i].logprobs[t];
        h += s[i].n_tokens ? hi / (double)s[i].n_tokens : 0.0;
    }
    return h / (double)k;
}

/* 1 - p(greedy) with p = exp(sum_t log p(y_t)): ranks as LM-Polygraph's MSP. */
double umpire_sequence_probability(const struct umpire_answer *greedy) {
    return umpire_one_minus_exp(umpire_answer_logprob(greedy));
}

/* PPL = exp(-(1/T) sum_t log p(y_t)) of the greedy answer. */
double umpire_perplexity(const struct umpire_answer *greedy) {
    return greedy->n_tokens ? exp(-umpire_answer_logprob(greedy) / (double)greedy->n_tokens) : 1.0;
}

/* (1/T) sum_t H_t of one answer; NaN when it carries no entropies. */
static double answer_mean_entropy(const struct umpire_answer *a) {
    if (!a->entropies || !a->n_tokens)
        return NAN;
    double h = 0.0;
    for (size_t t = 0; t < a->n_tokens; t++)
        h += a->entropies[t];
    return h / (double)a->n_tokens;
}

/* Mean token entropy (1/T) sum_t H_t of the greedy answer when it carries entropies, else
 * averaged over the samples that do; NaN when none does. greedy may be NULL. */
double umpire_mean_token_entropy(const struct umpire_answer *greedy, const struct umpire_answer *s, size_t k) {
    double g = greedy && greedy->logprobs ? answer_mean_entropy(greedy) : NAN;
    if (!isnan(g))
        return g;
    double total = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        double h = answer_mean_entropy(&s[i]);
        if (!isnan(h)) {
            total += h;
            m++;
        }
    }
    return m ? total / (double)m : NAN;
}
