/* model.h - the organism: a llama-architecture transformer trained from scratch and saved as a
 * standard llama GGUF. Its forward graph is the library's own (src/grad/model.h: ggml, so that
 * autodiff reaches every weight; llama.cpp's own training path leaves the embeddings, attn_k and
 * attn_v untouched), the same graph the gradient scores run. A test checks that llama.cpp gives
 * the same log-probabilities. */
#ifndef UMPIRE_ORGANISM_MODEL_H
#define UMPIRE_ORGANISM_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include <ggml-backend.h>
#include <ggml.h>

#include "common/llama_gguf.h"
#include "grad/model.h"
#include "vocab.h"

struct organism_model {
    struct llama_shape s;
    int n_vocab;
    struct grad_model g;      /* the weights (ggml parameters) and the graph's backend */
    struct ggml_tensor **all; /* g.all: every weight tensor, in GGUF order */
    int n_all;
};

/* Random initialisation (N(0, 0.02^2) matrices, unit norms), deterministic from seed. */
int model_init(struct organism_model *m, struct llama_shape s, int n_vocab, uint64_t seed, int n_threads);
void model_free(struct organism_model *m);

/* log-probabilities of every next token after each position of one sequence: out[i * n_vocab
 * + v] = log p(v | tok[0..i]). The training graph (grad_model_logprobs), without gradients. */
int model_logprobs(const struct organism_model *m, const int32_t *tok, int n, float *out);

/* Save as a llama-architecture GGUF with the vocabulary, through io/output.h (whole or not at
 * all). Returns 0, or a negative status with err naming the file. */
int model_write_gguf(const struct organism_model *m, const struct vocab *v, const char *path, const char *name,
                     char *err);

#endif
