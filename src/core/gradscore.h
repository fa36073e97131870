/* gradscore.h - the math of the gradient scores (SemGrad, ExGrad, HybridGrad), on plain arrays:
 * no model, no llama.cpp. The model's side (logits, hidden states, the backward pass) is in
 * src/grad; this is what both the own graph and a logits-only path share.
 *
 * Reference: "Gradients with Respect to Semantics Preserving Embeddings Tell the Uncertainty of
 * Large Language Models" (ICML 2026), code mingdali6717/SemGrad (loss_function, run_gradient.py).
 *
 * One answer y_1..y_T after a prompt; z_t the logits of the position that predicts y_t,
 * p_t = softmax(z_t), h_t that position's final normed hidden state.
 *   H_t = -sum_v p_t(v) log max(p_t(v), 1e-15)          full-vocabulary entropy, a constant
 *   L   = -(1/T) sum_t w_t log p_t(y_t),  w_t = H_t     (w_t = 1: the unweighted NLL)
 *   dL/dz_t = (w_t / T) (p_t - e_{y_t})                 (H_t is not differentiated)
 *   ExGrad = mean_{v,j} |dL/dW_out[v, j]|,  dL/dW_out = sum_t (dL/dz_t) h_t^T
 *   HybridGrad = a ExGrad + (1 - a) SemGrad,  a = exp(-mean_t H_t) */
#ifndef UMPIRE_CORE_GRADSCORE_H
#define UMPIRE_CORE_GRADSCORE_H

#include <stddef.h>
#include <stdint.h>

/* The reference's entropy: probabilities clamped at 1e-15 inside the log. */
#define UMPIRE_GRAD_ENTROPY_FLOOR 1e-15

/* H of softmax(z) over n logits, with the floor above. */
double umpire_grad_entropy(const float *z, size_t n);

struct umpire_grad_loss {
    double loss;         /* L */
    double mean_entropy; /* mean_t H_t (kept also when unweighted) */
};

/* The loss over T rows of V logits (z[t * V + v]) and their labels y[t] (0 <= y < V), weighted
 * by the entropies (weighted != 0) or not; dz (T * V floats, or NULL) receives dL/dz. Returns 0,
 * or -1 when T = 0 or a label is out of range. */
int umpire_grad_loss(const float *z, const int32_t *y, size_t T, size_t V, int weighted, float *dz,
                     struct umpire_grad_loss *out);

/* ExGrad = mean |sum_t dz_t h_t^T + E| over the V x d entries, from dz (T x V) and the final
 * hidden states h (T x d). E is zero, or (tied embeddings: W_out is the token embedding matrix,
 * so the reference's gradient of W_out also has the input path) row tok[i] of E is the sum of
 * embd[i] (the gradient with respect to input position i's embedding, d values) over the
 * n_embd_rows positions i with that token; embd NULL: none. NaN when out of memory. */
double umpire_grad_exgrad(const float *dz, const float *h, size_t T, size_t V, size_t d,
                          const int32_t *tok, const float *embd, size_t n_embd_rows);

/* mean |g| over n values (SemGrad over the selected hidden states' gradient) */
double umpire_grad_mean_abs(const float *g, size_t n);

/* a ExGrad + (1 - a) SemGrad with a = exp(-mean_entropy) */
double umpire_grad_hybrid(double exgrad, double semgrad, double mean_entropy);

/* The hidden states SemGrad reads (the reference's selection): of HF's hidden_states (the
 * embeddings, the outputs of layers 0..n_layer-2, and the final normed state), the last one is
 * dropped and the last floor(n_layer / 2) of the others are kept: layer outputs (llama.cpp's
 * l_out-<il>) il = n_layer - floor(n_layer/2) - 1 .. n_layer - 2. Sets *first and *last;
 * returns their count, or 0 when n_layer < 2 (the reference would then read the embeddings). */
int umpire_grad_layers(int n_layer, int *first, int *last);

#endif
