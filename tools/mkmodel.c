/* mkmodel.c - write random-weight GGUF models for tests and benchmarks.
 *
 * No model weights can be downloaded where umpire is built, so tests make their own: a
 * llama-architecture text model with random weights and a real tokenizer and chat template,
 * copied from a vocab-only GGUF in llama.cpp's models/ directory (by default phi-3's: a
 * 32k SentencePiece vocabulary with a chat template). Optionally a quantised copy, written by
 * llama.cpp's own quantiser, and a matching vision projector (mmproj) for libmtmd.
 *
 *   mkmodel --vocab ggml-vocab-phi-3.gguf -o tiny.gguf --preset tiny
 *   mkmodel --vocab ggml-vocab-phi-3.gguf -o m60.gguf --preset 60m --quantize m60-q4k.gguf
 *   mkmodel --vocab ggml-vocab-phi-3.gguf -o vl.gguf --mmproj vl-mmproj.gguf
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ggml.h>
#include <gguf.h>
#include <llama.h>

#include "common/llama_gguf.h"
#include "core/rng.h"
#include "core/status.h"
#include "io/output.h"


static const struct {
    const char *name;
    struct llama_shape s;
} presets[] = {
    /* parameter counts for the 32k phi-3 vocabulary (embeddings and output dominate) */
    {"tiny", {16, 2, 2, 2, 32, 512}},       /* ~1.0M */
    {"small", {64, 2, 4, 2, 128, 1024}},    /* ~4.2M */
    {"medium", {256, 4, 4, 4, 704, 2048}},  /* ~19M */
    {"60m", {512, 8, 8, 4, 1408, 2048}},    /* ~59M */
};

/* A small, seeded generator (src/core/rng.h): the same seed writes the same file. */
static struct umpire_rng rng;
static float rng_normal(void) { return (float)umpire_rng_normal(&rng); }

struct writer {
    struct ggml_context *ctx;
    struct gguf_context *gguf;
};

/* Add an F32 tensor: ones (norm weights) when std < 0, else N(0, std^2). Returns its data. */
static float *add_tensor(struct writer *w, const char *name, int64_t ne0, int64_t ne1, float std) {
    struct ggml_tensor *t = ne1 > 0 ? ggml_new_tensor_2d(w->ctx, GGML_TYPE_F32, ne0, ne1)
                                    : ggml_new_tensor_1d(w->ctx, GGML_TYPE_F32, ne0);
    ggml_set_name(t, name);
    float *d = (float *)t->data;
    for (int64_t i = 0; i < ggml_nelements(t); i++)
        d[i] = std < 0 ? 1.0f : std * rng_normal();
    gguf_add_tensor(w->gguf, t);
    return d;
}

static void add_tensor_4d(struct writer *w, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                          int64_t ne3, float std) {
    struct ggml_tensor *t = ggml_new_tensor_4d(w->ctx, GGML_TYPE_F32, ne0, ne1, ne2, ne3);
    ggml_set_name(t, name);
    float *d = (float *)t->data;
    for (int64_t i = 0; i < ggml_nelements(t); i++)
        d[i] = std * rng_normal();
    gguf_add_tensor(w->gguf, t);
}

static int writer_open(struct writer *w, size_t bytes) {
    struct ggml_init_params p = {.mem_size = bytes + 16 * 1024 * 1024, .mem_buffer = NULL, .no_alloc = false};
    w->ctx = ggml_init(p);
    w->gguf = gguf_init_empty();
    return w->ctx && w->gguf ? 0 : -1;
}

/* Write the GGUF to path through io/output.h (whole or not at all). */
static int writer_close(struct writer *w, const char *path) {
    char err[UMPIRE_ERR_LEN];
    struct umpire_output o;
    int rc = umpire_output_open(&o, path, err);
    if (rc == 0) {
        bool ok = gguf_write_to_file(w->gguf, umpire_output_file(&o), false);
        rc = umpire_output_close(&o, ok ? 0 : umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", path, strerror(errno)),
                                 err);
    }
    gguf_free(w->gguf);
    ggml_free(w->ctx);
    if (rc != 0) {
        fprintf(stderr, "mkmodel: %s\n", err);
        return -1;
    }
    return 0;
}

/* eos_bias > 0: every token embedding gets eos_bias in dimension 0, which the residual
 * stream carries to the output, and the EOS row of the output matrix reads that dimension:
 * answers then end after a few tokens, as a trained model's do, instead of never. */
/* letter_bias > 0: the same through dimension 1 for the tokens that spell the letters A..D
 * (with or without a leading space marker), weighted 1, .95, .9, .85: a model that answers
 * multiple-choice questions with a letter, more or less sure of it. */
static int write_text_model(const char *vocab_path, const char *out, struct llama_shape s, float eos_bias,
                            float letter_bias) {
    struct gguf_init_params vp = {.no_alloc = true, .ctx = NULL};
    struct gguf_context *vocab = gguf_init_from_file(vocab_path, vp);
    if (!vocab) {
        fprintf(stderr, "mkmodel: %s is not a readable GGUF file\n", vocab_path);
        return -1;
    }
    int64_t tok = gguf_find_key(vocab, "tokenizer.ggml.tokens");
    if (tok < 0) {
        fprintf(stderr, "mkmodel: %s has no tokenizer.ggml.tokens\n", vocab_path);
        gguf_free(vocab);
        return -1;
    }
    const int64_t n_vocab = (int64_t)gguf_get_arr_n(vocab, tok);
    int64_t eos_key = gguf_find_key(vocab, "tokenizer.ggml.eos_token_id");
    int64_t eos = eos_key >= 0 ? (int64_t)gguf_get_val_u32(vocab, eos_key) : -1;
    if (eos_bias > 0 && (eos < 0 || eos >= n_vocab)) {
        fprintf(stderr, "mkmodel: --eos-bias: %s names no EOS token\n", vocab_path);
        gguf_free(vocab);
        return -1;
    }
    const int head_dim = s.n_embd / s.n_head;
    const int64_t n_params = 2 * n_vocab * s.n_embd + (int64_t)s.n_layer *
        (2LL * s.n_embd * s.n_embd + 2LL * s.n_embd * head_dim * s.n_head_kv + 3LL * s.n_embd * s.n_ff + 2 * s.n_embd) + s.n_embd;

    struct writer w;
    if (writer_open(&w, (size_t)n_params * sizeof(float) + 1024 * 1024 * (size_t)(s.n_layer + 4)) != 0) {
        fprintf(stderr, "mkmodel: out of memory for %lld parameters\n", (long long)n_params);
        gguf_free(vocab);
        return -1;
    }
    /* the tokenizer and chat template, nothing else, from the vocab file */
    for (int64_t i = 0; i < gguf_get_n_kv(vocab); i++) {
        const char *key = gguf_get_key(vocab, i);
        if (strncmp(key, "tokenizer.", 10) != 0)
            continue;
        enum gguf_type type = gguf_get_kv_type(vocab, i);
        if (type == GGUF_TYPE_STRING) {
            gguf_set_val_str(w.gguf, key, gguf_get_val_str(vocab, i));
        } else if (type == GGUF_TYPE_ARRAY) {
            enum gguf_type at = gguf_get_arr_type(vocab, i);
            size_t n = gguf_get_arr_n(vocab, i);
            if (at == GGUF_TYPE_STRING) {
                const char **strs = malloc(n * sizeof *strs);
                for (size_t j = 0; j < n; j++)
                    strs[j] = gguf_get_arr_str(vocab, i, j);
                gguf_set_arr_str(w.gguf, key, strs, n);
                free(strs);
            } else {
                gguf_set_arr_data(w.gguf, key, at, gguf_get_arr_data(vocab, i), n);
            }
        } else if (type == GGUF_TYPE_UINT32) {
            gguf_set_val_u32(w.gguf, key, gguf_get_val_u32(vocab, i));
        } else if (type == GGUF_TYPE_INT32) {
            gguf_set_val_i32(w.gguf, key, gguf_get_val_i32(vocab, i));
        } else if (type == GGUF_TYPE_BOOL) {
            gguf_set_val_bool(w.gguf, key, gguf_get_val_bool(vocab, i));
        } else if (type == GGUF_TYPE_FLOAT32) {
            gguf_set_val_f32(w.gguf, key, gguf_get_val_f32(vocab, i));
        }
    }
    int64_t letters[16];
    float letter_w[16];
    int n_letters = 0;
    for (int64_t v = 0; letter_bias > 0 && v < n_vocab && n_letters < 16; v++) {
        const char *t = gguf_get_arr_str(vocab, tok, (size_t)v);
        if (!strncmp(t, "\xe2\x96\x81", 3) || !strncmp(t, "\xc4\xa0", 2)) /* SentencePiece / GPT-2 space */
            t += t[0] == '\xe2' ? 3 : 2;
        else if (t[0] == ' ')
            t++;
        if (t[0] >= 'A' && t[0] <= 'D' && !t[1]) {
            letters[n_letters] = v;
            letter_w[n_letters++] = 1.0f - 0.05f * (float)(t[0] - 'A');
        }
    }
    gguf_free(vocab);

    llama_gguf_set_hparams(w.gguf, "umpire synthetic test model (random weights)", s, n_vocab);

    /* GPT-2 style initialisation: N(0, 0.02^2); embeddings larger so logits are not flat */
    const float std = 0.02f;
    char name[64];
    float *embd = add_tensor(&w, "token_embd.weight", s.n_embd, n_vocab, 1.0f);
    for (int il = 0; il < s.n_layer; il++) {
#define T(fmt) (snprintf(name, sizeof name, "blk.%d." fmt, il), name)
        add_tensor(&w, T("attn_norm.weight"), s.n_embd, 0, -1);
        add_tensor(&w, T("attn_q.weight"), s.n_embd, s.n_embd, std);
        add_tensor(&w, T("attn_k.weight"), s.n_embd, (int64_t)head_dim * s.n_head_kv, std);
        add_tensor(&w, T("attn_v.weight"), s.n_embd, (int64_t)head_dim * s.n_head_kv, std);
        add_tensor(&w, T("attn_output.weight"), s.n_embd, s.n_embd, std);
        add_tensor(&w, T("ffn_norm.weight"), s.n_embd, 0, -1);
        add_tensor(&w, T("ffn_gate.weight"), s.n_embd, s.n_ff, std);
        add_tensor(&w, T("ffn_up.weight"), s.n_embd, s.n_ff, std);
        add_tensor(&w, T("ffn_down.weight"), s.n_ff, s.n_embd, std);
#undef T
    }
    add_tensor(&w, "output_norm.weight", s.n_embd, 0, -1);
    float *outw = add_tensor(&w, "output.weight", s.n_embd, n_vocab, 1.0f / sqrtf((float)s.n_embd) * 4.0f);
    if (eos_bias > 0) {
        for (int64_t v = 0; v < n_vocab; v++)
            embd[v * s.n_embd] = eos_bias;
        outw[eos * s.n_embd] = eos_bias;
    }
    if (letter_bias > 0) {
        for (int64_t v = 0; v < n_vocab; v++)
            embd[v * s.n_embd + 1] = letter_bias;
        for (int i = 0; i < n_letters; i++)
            outw[letters[i] * s.n_embd + 1] = letter_bias * letter_w[i];
    }
    if (writer_close(&w, out) != 0)
        return -1;
    fprintf(stderr, "mkmodel: wrote %s (llama, %lld parameters, n_embd %d, %d layers, vocab %lld)\n", out,
            (long long)n_params, s.n_embd, s.n_layer, (long long)n_vocab);
    return 0;
}

/* One pre-norm transformer block of a projector's encoder (clip's tensor names under prefix
 * "v" or "a"): layer norms with biases, attention with biases (attn_k's only when k_bias),
 * a GELU FFN. */
static void add_encoder_block(struct writer *w, const char *prefix, int il, int n_embd, int n_ff, float std, int k_bias) {
    char name[64];
#define T(fmt) (snprintf(name, sizeof name, "%s.blk.%d." fmt, prefix, il), name)
    add_tensor(w, T("ln1.weight"), n_embd, 0, -1);
    add_tensor(w, T("ln1.bias"), n_embd, 0, 0.0f);
    add_tensor(w, T("attn_q.weight"), n_embd, n_embd, std);
    add_tensor(w, T("attn_q.bias"), n_embd, 0, 0.0f);
    add_tensor(w, T("attn_k.weight"), n_embd, n_embd, std);
    if (k_bias)
        add_tensor(w, T("attn_k.bias"), n_embd, 0, 0.0f);
    add_tensor(w, T("attn_v.weight"), n_embd, n_embd, std);
    add_tensor(w, T("attn_v.bias"), n_embd, 0, 0.0f);
    add_tensor(w, T("attn_out.weight"), n_embd, n_embd, std);
    add_tensor(w, T("attn_out.bias"), n_embd, 0, 0.0f);
    add_tensor(w, T("ln2.weight"), n_embd, 0, -1);
    add_tensor(w, T("ln2.bias"), n_embd, 0, 0.0f);
    add_tensor(w, T("ffn_up.weight"), n_embd, n_ff, std);
    add_tensor(w, T("ffn_up.bias"), n_ff, 0, 0.0f);
    add_tensor(w, T("ffn_down.weight"), n_ff, n_embd, std);
    add_tensor(w, T("ffn_down.bias"), n_embd, 0, 0.0f);
#undef T
}

/* A llava-style vision projector (PROJECTOR_TYPE_MLP): a small ViT over 14x14 patches of an
 * image x image picture ((image / 14)^2 tokens in the prompt) and a two-layer MLP into the text
 * model's embedding space. */
static int write_mmproj(const char *out, int n_embd_text, int image) {
    const int n_embd = 32, n_head = 2, n_ff = 64, n_layer = 2, patch = 14;
    const int n_pos = (image / patch) * (image / patch) + 1; /* + class token */
    struct writer w;
    if (writer_open(&w, 16 * 1024 * 1024 + (size_t)n_embd_text * n_ff * 8) != 0)
        return -1;
    gguf_set_val_str(w.gguf, "general.architecture", "clip");
    gguf_set_val_str(w.gguf, "general.name", "umpire synthetic vision projector (random weights)");
    gguf_set_val_u32(w.gguf, "general.file_type", 0);
    gguf_set_val_str(w.gguf, "clip.projector_type", "mlp");
    gguf_set_val_bool(w.gguf, "clip.has_vision_encoder", true);
    gguf_set_val_bool(w.gguf, "clip.use_gelu", true);
    gguf_set_val_u32(w.gguf, "clip.vision.image_size", (uint32_t)image);
    gguf_set_val_u32(w.gguf, "clip.vision.patch_size", (uint32_t)patch);
    gguf_set_val_u32(w.gguf, "clip.vision.embedding_length", (uint32_t)n_embd);
    gguf_set_val_u32(w.gguf, "clip.vision.feed_forward_length", (uint32_t)n_ff);
    gguf_set_val_u32(w.gguf, "clip.vision.projection_dim", (uint32_t)n_embd_text);
    gguf_set_val_u32(w.gguf, "clip.vision.attention.head_count", (uint32_t)n_head);
    gguf_set_val_f32(w.gguf, "clip.vision.attention.layer_norm_epsilon", 1e-6f);
    gguf_set_val_u32(w.gguf, "clip.vision.block_count", (uint32_t)n_layer);
    const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    const float stdv[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    gguf_set_arr_data(w.gguf, "clip.vision.image_mean", GGUF_TYPE_FLOAT32, mean, 3);
    gguf_set_arr_data(w.gguf, "clip.vision.image_std", GGUF_TYPE_FLOAT32, stdv, 3);

    const float std = 0.02f;
    add_tensor_4d(&w, "v.patch_embd.weight", patch, patch, 3, n_embd, std);
    add_tensor(&w, "v.class_embd", n_embd, 0, std);
    add_tensor(&w, "v.position_embd.weight", n_embd, n_pos, std);
    add_tensor(&w, "v.pre_ln.weight", n_embd, 0, -1);
    add_tensor(&w, "v.pre_ln.bias", n_embd, 0, 0.0f);
    for (int il = 0; il < n_layer; il++)
        add_encoder_block(&w, "v", il, n_embd, n_ff, std, 1);
    add_tensor(&w, "mm.0.weight", n_embd, n_embd_text, std);
    add_tensor(&w, "mm.0.bias", n_embd_text, 0, 0.0f);
    add_tensor(&w, "mm.2.weight", n_embd_text, n_embd_text, std);
    add_tensor(&w, "mm.2.bias", n_embd_text, 0, 0.0f);
    if (writer_close(&w, out) != 0)
        return -1;
    fprintf(stderr, "mkmodel: wrote %s (clip mlp projector, %dx%d image, output %d)\n", out, image,
            image, n_embd_text);
    return 0;
}

/* A Qwen2-Audio-style audio projector (PROJECTOR_TYPE_QWEN2A): a small Whisper encoder over
 * 128-bin log-mel frames (two 1-D convolutions, the second with stride 2; a transformer whose
 * attn_k has no bias, as Whisper's), average-pooled by 2 in libmtmd, and one linear layer into
 * the text model's embedding space. A 30 s chunk becomes 750 text-model tokens. */
static int write_audio_mmproj(const char *out, int n_embd_text) {
    const int n_embd = 32, n_head = 2, n_ff = 64, n_layer = 2, n_mel = 128, n_pos = 1500;
    struct writer w;
    if (writer_open(&w, 16 * 1024 * 1024 + (size_t)n_embd_text * n_embd * 8) != 0)
        return -1;
    gguf_set_val_str(w.gguf, "general.architecture", "clip");
    gguf_set_val_str(w.gguf, "general.name", "umpire synthetic audio projector (random weights)");
    gguf_set_val_u32(w.gguf, "general.file_type", 0);
    gguf_set_val_str(w.gguf, "clip.projector_type", "qwen2a");
    gguf_set_val_bool(w.gguf, "clip.has_audio_encoder", true);
    gguf_set_val_u32(w.gguf, "clip.audio.embedding_length", (uint32_t)n_embd);
    gguf_set_val_u32(w.gguf, "clip.audio.feed_forward_length", (uint32_t)n_ff);
    gguf_set_val_u32(w.gguf, "clip.audio.projection_dim", (uint32_t)n_embd_text);
    gguf_set_val_u32(w.gguf, "clip.audio.attention.head_count", (uint32_t)n_head);
    gguf_set_val_f32(w.gguf, "clip.audio.attention.layer_norm_epsilon", 1e-5f);
    gguf_set_val_u32(w.gguf, "clip.audio.block_count", (uint32_t)n_layer);
    gguf_set_val_u32(w.gguf, "clip.audio.num_mel_bins", (uint32_t)n_mel);

    const float std = 0.02f;
    add_tensor_4d(&w, "a.conv1d.1.weight", 3, n_mel, n_embd, 1, std);
    add_tensor(&w, "a.conv1d.1.bias", 1, n_embd, 0.0f);
    add_tensor_4d(&w, "a.conv1d.2.weight", 3, n_embd, n_embd, 1, std);
    add_tensor(&w, "a.conv1d.2.bias", 1, n_embd, 0.0f);
    add_tensor(&w, "a.position_embd.weight", n_embd, n_pos, std);
    for (int il = 0; il < n_layer; il++) /* Whisper's attn_k has no bias */
        add_encoder_block(&w, "a", il, n_embd, n_ff, std, 0);
    add_tensor(&w, "a.post_ln.weight", n_embd, 0, -1);
    add_tensor(&w, "a.post_ln.bias", n_embd, 0, 0.0f);
    add_tensor(&w, "mm.a.fc.weight", n_embd, n_embd_text, std);
    add_tensor(&w, "mm.a.fc.bias", n_embd_text, 0, 0.0f);
    if (writer_close(&w, out) != 0)
        return -1;
    fprintf(stderr, "mkmodel: wrote %s (qwen2a audio projector, %d mel bins, output %d)\n", out, n_mel,
            n_embd_text);
    return 0;
}

static int quantize(const char *in, const char *out) {
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M;
    p.nthread = 2;
    char err[UMPIRE_ERR_LEN];
    struct umpire_output o;
    int rc = umpire_output_check(out, in, err);
    if (rc == 0 && (rc = umpire_output_open(&o, out, err)) == 0) {
        int q = llama_model_quantize(in, umpire_output_file(&o), &p);
        rc = umpire_output_close(&o, q == 0 ? 0 : umpire_fail(err, UMPIRE_EIO, "quantising %s to %s failed", in, out), err);
    }
    if (rc != 0) {
        fprintf(stderr, "mkmodel: %s\n", err);
        return -1;
    }
    fprintf(stderr, "mkmodel: wrote %s (Q4_K_M)\n", out);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: mkmodel -o OUT.gguf [--vocab VOCAB.gguf] [options]\n\n"
            "Write a llama-architecture GGUF with random weights and VOCAB's tokenizer and chat\n"
            "template (a vocab-only GGUF from llama.cpp's models/ directory).\n\n"
            "options:\n"
            "  --vocab FILE       tokenizer source (default: " UMPIRE_DEFAULT_VOCAB ")\n"
            "  --preset NAME      tiny (~1M params), small (~4M), medium (~19M), 60m (~59M); default tiny\n"
            "  --n-embd N --n-layer N --n-head N --n-head-kv N --n-ff N --ctx N   override the preset\n"
            "  --seed S           weights' seed (default 1)\n"
            "  --eos-bias X       make EOS likely (answers end after a few tokens); e.g. 5\n"
            "  --letter-bias X    make the letters A..D likely (it answers multiple choice); e.g. 4\n"
            "  --quantize FILE    also write a Q4_K_M copy to FILE\n"
            "  --mmproj FILE      also write a matching vision projector (llava MLP) to FILE\n"
            "  --image-size N     its images' side in pixels, a multiple of 14: (N/14)^2 image tokens\n"
            "                     (default 28: 4 tokens; 336: 576, as llava-1.5)\n"
            "  --mmproj-audio FILE  also write a matching audio projector (Qwen2-Audio) to FILE\n\n"
            "example:\n"
            "  mkmodel -o tiny.gguf --mmproj tiny-mmproj.gguf\n"
            "  mkmodel --vocab llama.cpp/models/ggml-vocab-qwen2.gguf --preset 60m -o m60.gguf --quantize m60-q4k.gguf\n");
}

static int parse_int(const char *flag, const char *v, int *out) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || x <= 0 || x > 1 << 20) {
        fprintf(stderr, "mkmodel: %s needs a positive integer, got '%s'\n", flag, v ? v : "");
        return -1;
    }
    *out = (int)x;
    return 0;
}

int main(int argc, char **argv) {
    const char *vocab = UMPIRE_DEFAULT_VOCAB, *out = NULL, *qout = NULL, *mmproj = NULL, *audio = NULL;
    struct llama_shape s = presets[0].s;
    int seed = 1, image_size = 28;
    double eos_bias = 0, letter_bias = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *target = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--vocab") && v) {
            vocab = v;
        } else if (!strcmp(a, "-o") && v) {
            out = v;
        } else if (!strcmp(a, "--quantize") && v) {
            qout = v;
        } else if (!strcmp(a, "--mmproj") && v) {
            mmproj = v;
        } else if (!strcmp(a, "--mmproj-audio") && v) {
            audio = v;
        } else if (!strcmp(a, "--preset") && v) {
            size_t k = 0, n = sizeof presets / sizeof presets[0];
            while (k < n && strcmp(presets[k].name, v))
                k++;
            if (k == n) {
                fprintf(stderr, "mkmodel: unknown preset '%s' (tiny, small, medium, 60m)\n", v);
                return 2;
            }
            s = presets[k].s;
        } else if ((!strcmp(a, "--eos-bias") || !strcmp(a, "--letter-bias")) && v) {
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x >= 0 && x < 1000)) {
                fprintf(stderr, "mkmodel: %s needs a number in [0, 1000), got '%s'\n", a, v);
                return 2;
            }
            *(!strcmp(a, "--eos-bias") ? &eos_bias : &letter_bias) = x;
        } else if (!strcmp(a, "--n-embd")) {
            target = &s.n_embd;
        } else if (!strcmp(a, "--n-layer")) {
            target = &s.n_layer;
        } else if (!strcmp(a, "--n-head")) {
            target = &s.n_head;
        } else if (!strcmp(a, "--n-head-kv")) {
            target = &s.n_head_kv;
        } else if (!strcmp(a, "--n-ff")) {
            target = &s.n_ff;
        } else if (!strcmp(a, "--ctx")) {
            target = &s.n_ctx;
        } else if (!strcmp(a, "--seed")) {
            target = &seed;
        } else if (!strcmp(a, "--image-size")) {
            target = &image_size;
        } else {
            fprintf(stderr, "mkmodel: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (target && parse_int(a, v, target) != 0)
            return 2;
        i++;
    }
    if (!out) {
        usage(stderr);
        return 2;
    }
    if (s.n_embd % s.n_head || s.n_head % s.n_head_kv || (s.n_embd / s.n_head) % 2) {
        fprintf(stderr, "mkmodel: n_embd must be a multiple of n_head, n_head of n_head_kv, head size even\n");
        return 2;
    }
    if (image_size < 14 || image_size > 1008 || image_size % 14) {
        fprintf(stderr, "mkmodel: --image-size must be a multiple of 14 in [14, 1008], got %d\n", image_size);
        return 2;
    }
    umpire_rng_seed(&rng, (uint64_t)seed);
    if (write_text_model(vocab, out, s, (float)eos_bias, (float)letter_bias) != 0)
        return 1;
    if (mmproj && write_mmproj(mmproj, s.n_embd, image_size) != 0)
        return 1;
    if (audio && write_audio_mmproj(audio, s.n_embd) != 0)
        return 1;
    if (qout) {
        llama_backend_init();
        int rc = quantize(out, qout);
        llama_backend_free();
        if (rc != 0)
            return 1;
    }
    return 0;
}
