/* draw.h - the next token of several answers that read the same output row (draw.c).
 *
 * An answer's sampler is HF generate's chain, temperature -> top-k -> top-p -> draw, as
 * llama.cpp's samplers compute it. The first three are functions of the row alone, so answers
 * that read the same row at the same temperature (identical answers so far, decoded once) run
 * them once and only the draw, with each answer's own random state, apart. */
#ifndef UMPIRE_ENGINE_DRAW_H
#define UMPIRE_ENGINE_DRAW_H

#include <llama.h>

/* The truncation every answer of one temperature shares (temp <= 0: the argmax). */
struct umpire_draw_class {
    float temp, top_p;
    int top_k;
    struct llama_sampler *trunc; /* temp -> top-k -> top-p (stateless); NULL for the argmax */
};

/* Scratch for the rows of one vocabulary. */
struct umpire_draw {
    int n_vocab;
    llama_token_data *kept, *each; /* the truncated row; one answer's copy that its draw normalises */
};

struct umpire_drawn {
    llama_token tok;
    double logprob, entropy; /* of the distribution the token was drawn from (argmax: 0, 0) */
};

/* 0, or -1 when out of memory. */
int umpire_draw_init(struct umpire_draw *d, int n_vocab);
void umpire_draw_free(struct umpire_draw *d);

/* The class's truncation chain; 0, or -1 when out of memory. */
int umpire_draw_class_init(struct umpire_draw_class *c, float temp, int top_k, float top_p);
void umpire_draw_class_free(struct umpire_draw_class *c);

/* The draw of one answer: llama.cpp's dist sampler, seeded. */
struct llama_sampler *umpire_draw_sampler(uint32_t seed);

/* Draw the next token of n answers from the row `logits` through the class's truncation and
 * each answer's dist[i] (unused for the argmax): out[i] is what the full chain temp -> top-k ->
 * top-p -> dist[i] would draw. Tokens whose probability at the class's temperature is exactly 0
 * in single precision are left out before the truncation (they cannot be drawn, and add
 * nothing to any sum): the result is the chain's, except that the order of exactly tied logits
 * inside the top-p set may differ from the one the full vocabulary's sort gives. */
void umpire_draw_row(struct umpire_draw *d, const float *logits, const struct umpire_draw_class *c,
                     struct llama_sampler *const *dist, int n, struct umpire_drawn *out);

#endif
