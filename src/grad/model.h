/* model.h - umpire's own llama-family forward graph in ggml, with autodiff.
 *
 * llama.cpp runs a model but exposes no backward pass. This graph computes what llama.cpp
 * computes for the llama-family architectures (llama and mistral's GGUFs, qwen2 with its QKV
 * bias, qwen3 with its per-head q/k RMS norms) from the same weights, as a ggml graph that
 * ggml's autodiff can differentiate. It has two users: the gradient scores (src/grad/semgrad.c:
 * gradients with respect to hidden states, weights read-only from the user's GGUF) and the
 * model organism's trainer (tools/organism: fresh F32 weights that are parameters).
 *
 * Weights read from a GGUF are not copied: the file is mapped read-only and ggml's tensors point
 * into the mapping, in their own type (F32, F16 or quantised). ggml's CPU backend differentiates
 * activations through F32, F16 and every quantised type (ggml_out_prod dequantises a row at a
 * time); BF16 has no backward there, and such a model is refused by name.
 *
 * Per layer (pre-norm transformer): h = rms_norm(x) * attn_norm; q, k, v = W h (+ bias);
 * [qwen3: q, k = rms_norm per head * q_norm, k_norm]; RoPE on q and k (llama: adjacent pairs,
 * qwen: halves); softmax(k.q / sqrt(d) + causal mask) v -> W_o; x += attention;
 * x += W_down (silu(W_gate h') * W_up h') with h' = rms_norm(x) * ffn_norm. Then
 * rms_norm(x) * output_norm and logits = W_out h (W_out = token_embd when tied). */
#ifndef UMPIRE_GRAD_MODEL_H
#define UMPIRE_GRAD_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <ggml-backend.h>
#include <ggml.h>

enum grad_arch { GRAD_ARCH_LLAMA, GRAD_ARCH_QWEN2, GRAD_ARCH_QWEN3 };

struct grad_hparams {
    enum grad_arch arch;
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    int head_dim;     /* n_embd / n_head unless the GGUF says otherwise (qwen3) */
    float rope_base;  /* rope.freq_base */
    float rope_scale; /* 1 / rope.scaling.factor for linear scaling, else 1 */
    float rms_eps;
};

struct grad_layer {
    struct ggml_tensor *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *q_norm, *k_norm;
    struct ggml_tensor *ffn_norm, *gate, *up, *down;
};

struct grad_model {
    struct grad_hparams hp;
    ggml_backend_t backend;
    struct ggml_context *ctx; /* the weights' tensors */
    ggml_backend_buffer_t buf;
    struct ggml_tensor *tok_embd, *out_norm, *output, *rope_freqs; /* output: token_embd when tied */
    struct grad_layer *layers;
    struct ggml_tensor **all; /* every weight tensor, in GGUF order */
    int n_all;
    void *map; /* the GGUF's read-only mapping (NULL for fresh weights) */
    size_t map_size;
};

/* umpire.h's opaque handle: the loaded model */
struct umpire_grad_model {
    struct grad_model m;
};

/* Fresh F32 weights for the llama architecture, every one a ggml parameter (autodiff computes
 * its gradient), uninitialised, named as in a llama GGUF. For training (the organism).
 * Returns 0, or -1 (out of memory, or a shape the graph cannot run: n_embd % n_head != 0). */
int grad_model_create(struct grad_model *m, struct grad_hparams hp, int n_threads);

/* The weights of a llama-family GGUF, mapped read-only (no copy, any type but BF16). Returns 0,
 * or a negative umpire status with err (UMPIRE_ERR_LEN) naming the file and what is not
 * supported (another architecture, BF16 weights, mixture of experts, partial RoPE, ...). */
int grad_model_load(struct grad_model *m, const char *path, int n_threads, char *err);

void grad_model_free(struct grad_model *m);

/* The graph's inputs and what it hands back. B packed rows of T tokens: tokens and pos are I32
 * [T*B]; mask F32 [T, T, 1, B] (0 where a query may attend, -inf elsewhere); sel (I32 [n_sel],
 * or NULL: every position) picks the rows whose logits are wanted. */
struct grad_forward {
    struct ggml_tensor *tokens, *pos, *mask, *sel;
    int T, B;
    /* in: probe[il], when given (F32 [n_embd, T*B]), is added to layer il's output (llama.cpp's
     * l_out-<il>): its gradient is the loss's gradient with respect to that hidden state. */
    struct ggml_tensor **probe;
    struct ggml_tensor *probe_embd; /* in, when given: the same for the token embeddings' rows */
    /* out, when given (n_layer slots): each layer's output [n_embd, T*B] (after any probe) */
    struct ggml_tensor **layer_out;
    /* out: the final normed hidden states of the selected rows [n_embd, n_sel] and the logits
     * [n_vocab, n_sel] */
    struct ggml_tensor *hidden, *logits;
};

/* Build the forward graph's tensors in ctx (no_alloc). Returns f->logits. */
struct ggml_tensor *grad_forward_build(struct ggml_context *ctx, const struct grad_model *m, struct grad_forward *f);

/* Fill one sequence's inputs (T tokens, B = 1): positions 0..T-1 and the causal mask. */
void grad_forward_fill_causal(const struct grad_forward *f, const int32_t *tok, int32_t *pos_buf, float *mask_buf);

/* log-probabilities of every next token after each position of one sequence: out[i * n_vocab
 * + v] = log p(v | tok[0..i]), computed by this graph. Returns 0, or -1 (out of memory). */
int grad_model_logprobs(const struct grad_model *m, const int32_t *tok, int n, float *out);

#endif
