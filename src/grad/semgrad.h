/* semgrad.h - SemGrad, ExGrad and HybridGrad of one answer through the own graph (model.h).
 *
 * One forward pass over [prompt ; answer] gives the answer's logits and final hidden states;
 * the loss's gradient with respect to the logits is analytic (core/gradscore.h), and one
 * backward pass from it gives the gradients with respect to the selected layers' outputs at one
 * prompt position (SemGrad). ExGrad is analytic from the same logits and hidden states. */
#ifndef UMPIRE_GRAD_SEMGRAD_H
#define UMPIRE_GRAD_SEMGRAD_H

#include <stdint.h>

#include "grad/model.h"

struct grad_item_params {
    int position;    /* the prompt position whose hidden states SemGrad reads (0 <= position <
                        n_prompt) */
    int weighted;    /* 1: the entropy-weighted loss (the reference's SemGrad); 0: the plain NLL */
    int layer_first; /* the layer outputs read, l_out-<il> for il in [layer_first, layer_last]; */
    int layer_last;  /* -1 and -1: the reference's later half (umpire_grad_layers) */
    int exgrad_autodiff; /* also differentiate W_out by autodiff (a check of the analytic form) */
    /* media: where embd_at[i] is set, row i's input is embd[i * n_embd ..] (an image's or a
     * clip's embedding from the projector) instead of token i's embedding; NULL: tokens only */
    const float *embd;
    const unsigned char *embd_at;
};

struct grad_item_params grad_item_default_params(void);

struct grad_item_result {
    double loss, mean_entropy;
    double semgrad, exgrad, hybridgrad;
    double exgrad_autodiff; /* NaN unless asked for */
    int layer_first, layer_last;
    float *
        hidden_grad; /* dL/dh at the position, (layer_last - layer_first + 1) x n_embd; free() it */
};

/* Score the answer tok[n_prompt..n) after the prompt tok[0..n_prompt). Returns 0, or a negative
 * umpire status with err naming what is wrong (an empty answer or prompt, a position outside
 * the prompt, layers outside the model, out of memory). */
int grad_item_score(const struct grad_model *m, const int32_t *tok, int n, int n_prompt,
                    const struct grad_item_params *p, struct grad_item_result *r, char *err);

#endif
