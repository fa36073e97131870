/* llama_gguf.h - the llama-architecture hyperparameters that llama.cpp reads from a GGUF file,
 * written the same way by mkmodel (random weights) and organism (trained weights). */
#ifndef UMPIRE_TOOLS_LLAMA_GGUF_H
#define UMPIRE_TOOLS_LLAMA_GGUF_H

#include <stdint.h>

#include <gguf.h>

struct llama_shape {
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
};

#define LLAMA_GGUF_ROPE_BASE 10000.0f
#define LLAMA_GGUF_RMS_EPS 1e-5f

static inline void llama_gguf_set_hparams(struct gguf_context *g, const char *name, struct llama_shape s,
                                          int64_t n_vocab) {
    gguf_set_val_str(g, "general.architecture", "llama");
    gguf_set_val_str(g, "general.name", name);
    gguf_set_val_u32(g, "general.file_type", 0); /* all F32 */
    gguf_set_val_u32(g, "llama.context_length", (uint32_t)s.n_ctx);
    gguf_set_val_u32(g, "llama.embedding_length", (uint32_t)s.n_embd);
    gguf_set_val_u32(g, "llama.block_count", (uint32_t)s.n_layer);
    gguf_set_val_u32(g, "llama.feed_forward_length", (uint32_t)s.n_ff);
    gguf_set_val_u32(g, "llama.attention.head_count", (uint32_t)s.n_head);
    gguf_set_val_u32(g, "llama.attention.head_count_kv", (uint32_t)s.n_head_kv);
    gguf_set_val_u32(g, "llama.rope.dimension_count", (uint32_t)(s.n_embd / s.n_head));
    gguf_set_val_f32(g, "llama.rope.freq_base", LLAMA_GGUF_ROPE_BASE);
    gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", LLAMA_GGUF_RMS_EPS);
    gguf_set_val_u32(g, "llama.vocab_size", (uint32_t)n_vocab);
}

#endif
