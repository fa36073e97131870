/* model.c - the organism's weights, forward graph and GGUF export (see model.h). */
#define _POSIX_C_SOURCE 200809L
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gguf.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/output.h"

int model_init(struct organism_model *m, struct llama_shape s, int n_vocab, uint64_t seed, int n_threads) {
    memset(m, 0, sizeof *m);
    m->s = s;
    m->n_vocab = n_vocab;
    if (s.n_embd % s.n_head || s.n_head != s.n_head_kv || (s.n_embd / s.n_head) % 2)
        return -1;
    struct grad_hparams hp = {.arch = GRAD_ARCH_LLAMA,
                              .n_embd = s.n_embd,
                              .n_layer = s.n_layer,
                              .n_head = s.n_head,
                              .n_head_kv = s.n_head_kv,
                              .n_ff = s.n_ff,
                              .n_vocab = n_vocab,
                              .n_ctx = s.n_ctx,
                              .rope_base = LLAMA_GGUF_ROPE_BASE,
                              .rope_scale = 1.0f,
                              .rms_eps = LLAMA_GGUF_RMS_EPS};
    if (grad_model_create(&m->g, hp, n_threads) != 0)
        return -1;
    m->all = m->g.all;
    m->n_all = m->g.n_all;
    /* GPT-2 style: N(0, 0.02^2), residual projections scaled by 1/sqrt(2 n_layer), norms 1 */
    struct umpire_rng g;
    umpire_rng_seed(&g, seed ^ 0x6f7267616e69736dULL);
    for (int i = 0; i < m->n_all; i++) {
        struct ggml_tensor *t = m->all[i];
        int64_t n = ggml_nelements(t);
        float *d = malloc((size_t)n * sizeof *d);
        if (!d)
            return model_free(m), -1;
        int is_norm = ggml_n_dims(t) == 1;
        int is_resid = strstr(t->name, "attn_output") || strstr(t->name, "ffn_down");
        float std = 0.02f / (is_resid ? sqrtf(2.0f * s.n_layer) : 1.0f);
        for (int64_t j = 0; j < n; j++)
            d[j] = is_norm ? 1.0f : std * (float)umpire_rng_normal(&g);
        ggml_backend_tensor_set(t, d, 0, ggml_nbytes(t));
        free(d);
    }
    return 0;
}

void model_free(struct organism_model *m) {
    grad_model_free(&m->g);
    memset(m, 0, sizeof *m);
}

int model_logprobs(const struct organism_model *m, const int32_t *tok, int n, float *out) {
    return grad_model_logprobs(&m->g, tok, n, out);
}

int model_write_gguf(const struct organism_model *m, const struct vocab *v, const char *path, const char *name,
                     char *err) {
    size_t bytes = 0;
    for (int i = 0; i < m->n_all; i++)
        bytes += ggml_nbytes(m->all[i]) + 256;
    struct ggml_init_params p = {.mem_size = bytes + (size_t)(m->n_all + 8) * ggml_tensor_overhead(), .no_alloc = false};
    struct ggml_context *host = ggml_init(p);
    struct gguf_context *g = gguf_init_empty();
    if (!host || !g) {
        if (host)
            ggml_free(host);
        if (g)
            gguf_free(g);
        return umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory", path);
    }
    llama_gguf_set_hparams(g, name, m->s, m->n_vocab);
    vocab_write_gguf(v, g);
    for (int i = 0; i < m->n_all; i++) {
        struct ggml_tensor *t = ggml_dup_tensor(host, m->all[i]);
        ggml_set_name(t, m->all[i]->name);
        ggml_backend_tensor_get(m->all[i], t->data, 0, ggml_nbytes(t));
        gguf_add_tensor(g, t);
    }
    struct umpire_output o;
    int rc = umpire_output_open(&o, path, err);
    if (rc == UMPIRE_OK) {
        int ok = gguf_write_to_file(g, umpire_output_file(&o), false);
        rc = umpire_output_close(&o, ok ? UMPIRE_OK : umpire_fail(err, UMPIRE_EIO, "%s: write failed", path), err);
    }
    gguf_free(g);
    ggml_free(host);
    return rc;
}
