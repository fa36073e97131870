/* model.h - the organism: a llama-architecture transformer whose forward graph is written
 * here in ggml (so that autodiff reaches every weight: llama.cpp's own training path leaves
 * the embeddings, attn_k and attn_v untouched) and saved as a standard llama GGUF.
 *
 * The graph is the one llama.cpp runs for the "llama" architecture: token embeddings, per
 * layer RMS norm -> attention (RoPE mode 0 on q and k, softmax(qk / sqrt(d)) with a causal
 * mask) -> residual -> RMS norm -> SwiGLU FFN -> residual, a final RMS norm and an untied
 * output matrix. A test checks that llama.cpp gives the same log-probabilities. */
#ifndef UMPIRE_ORGANISM_MODEL_H
#define UMPIRE_ORGANISM_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include <ggml-backend.h>
#include <ggml.h>

#include "common/llama_gguf.h"
#include "vocab.h"

struct layer {
    struct ggml_tensor *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *gate, *up, *down;
};

struct organism_model {
    struct llama_shape s;
    int n_vocab;
    ggml_backend_t backend;
    struct ggml_context *ctx;
    ggml_backend_buffer_t buf;
    struct ggml_tensor *tok_embd, *out_norm, *output;
    struct layer *layers;
    struct ggml_tensor **all; /* every weight tensor, in GGUF order */
    int n_all;
};

/* Random initialisation (N(0, 0.02^2) matrices, unit norms), deterministic from seed. */
int model_init(struct organism_model *m, struct llama_shape s, int n_vocab, uint64_t seed, int n_threads);
void model_free(struct organism_model *m);

/* The forward graph over B packed rows of T tokens: tokens and pos are I32 [T*B], mask is
 * F32 [T, T, 1, B] (0 where a query may attend, -inf elsewhere), sel (I32 [n_sel]) picks the
 * positions whose next-token logits are wanted. Returns logits [n_vocab, n_sel]. */
struct ggml_tensor *model_forward(struct ggml_context *ctx, const struct organism_model *m, struct ggml_tensor *tokens,
                                  struct ggml_tensor *pos, struct ggml_tensor *mask, struct ggml_tensor *sel, int T,
                                  int B);

/* log-probabilities of every next token after each position of one sequence: out[i * n_vocab
 * + v] = log p(v | tok[0..i]). The training graph, evaluated without gradients. */
int model_logprobs(const struct organism_model *m, const int32_t *tok, int n, float *out);

/* Save as a llama-architecture GGUF with the vocabulary, through io/output.h (whole or not at
 * all). Returns 0, or a negative status with err naming the file. */
int model_write_gguf(const struct organism_model *m, const struct vocab *v, const char *path, const char *name,
                     char *err);

#endif
