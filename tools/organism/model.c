/* model.c - the organism's weights, forward graph and GGUF export (see model.h). */
#define _POSIX_C_SOURCE 200809L
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ggml-alloc.h>
#include <ggml-cpu.h>
#include <gguf.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/output.h"

static struct ggml_tensor *weight(struct organism_model *m, const char *name, int64_t ne0, int64_t ne1) {
    struct ggml_tensor *t = ne1 ? ggml_new_tensor_2d(m->ctx, GGML_TYPE_F32, ne0, ne1)
                                : ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, ne0);
    ggml_set_name(t, name);
    ggml_set_param(t);
    m->all[m->n_all++] = t;
    return t;
}

int model_init(struct organism_model *m, struct llama_shape s, int n_vocab, uint64_t seed, int n_threads) {
    memset(m, 0, sizeof *m);
    m->s = s;
    m->n_vocab = n_vocab;
    if (s.n_embd % s.n_head || s.n_head != s.n_head_kv || (s.n_embd / s.n_head) % 2)
        return -1;
    int n_max = 3 + 9 * s.n_layer;
    m->all = calloc((size_t)n_max, sizeof *m->all);
    m->layers = calloc((size_t)s.n_layer, sizeof *m->layers);
    struct ggml_init_params p = {.mem_size = (size_t)(n_max + 8) * ggml_tensor_overhead(), .no_alloc = true};
    if (!m->all || !m->layers || !(m->ctx = ggml_init(p)) || !(m->backend = ggml_backend_cpu_init()))
        return model_free(m), -1;
    ggml_backend_cpu_set_n_threads(m->backend, n_threads);
    char name[64];
    m->tok_embd = weight(m, "token_embd.weight", s.n_embd, n_vocab);
    for (int il = 0; il < s.n_layer; il++) {
        struct layer *L = &m->layers[il];
#define N(fmt) (snprintf(name, sizeof name, "blk.%d." fmt, il), name)
        L->attn_norm = weight(m, N("attn_norm.weight"), s.n_embd, 0);
        L->wq = weight(m, N("attn_q.weight"), s.n_embd, s.n_embd);
        L->wk = weight(m, N("attn_k.weight"), s.n_embd, s.n_embd);
        L->wv = weight(m, N("attn_v.weight"), s.n_embd, s.n_embd);
        L->wo = weight(m, N("attn_output.weight"), s.n_embd, s.n_embd);
        L->ffn_norm = weight(m, N("ffn_norm.weight"), s.n_embd, 0);
        L->gate = weight(m, N("ffn_gate.weight"), s.n_embd, s.n_ff);
        L->up = weight(m, N("ffn_up.weight"), s.n_embd, s.n_ff);
        L->down = weight(m, N("ffn_down.weight"), s.n_ff, s.n_embd);
#undef N
    }
    m->out_norm = weight(m, "output_norm.weight", s.n_embd, 0);
    m->output = weight(m, "output.weight", s.n_embd, n_vocab);
    if (!(m->buf = ggml_backend_alloc_ctx_tensors(m->ctx, m->backend)))
        return model_free(m), -1;
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
    if (m->buf)
        ggml_backend_buffer_free(m->buf);
    if (m->ctx)
        ggml_free(m->ctx);
    if (m->backend)
        ggml_backend_free(m->backend);
    free(m->layers);
    free(m->all);
    memset(m, 0, sizeof *m);
}

static struct ggml_tensor *norm(struct ggml_context *ctx, struct ggml_tensor *x, struct ggml_tensor *w) {
    return ggml_mul(ctx, ggml_rms_norm(ctx, x, LLAMA_GGUF_RMS_EPS), w);
}

/* [n_embd, T*B] -> heads [d, T, n_head, B] with RoPE applied (rope: 1) */
static struct ggml_tensor *heads(struct ggml_context *ctx, struct ggml_tensor *x, struct ggml_tensor *pos, int d,
                                 int n_head, int T, int B, int n_ctx, int rope) {
    x = ggml_reshape_3d(ctx, x, d, n_head, (int64_t)T * B);
    if (rope)
        x = ggml_rope_ext(ctx, x, pos, NULL, d, 0, n_ctx, LLAMA_GGUF_ROPE_BASE, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
    x = ggml_reshape_4d(ctx, x, d, n_head, T, B);
    return ggml_cont(ctx, ggml_permute(ctx, x, 0, 2, 1, 3));
}

struct ggml_tensor *model_forward(struct ggml_context *ctx, const struct organism_model *m, struct ggml_tensor *tokens,
                                  struct ggml_tensor *pos, struct ggml_tensor *mask, struct ggml_tensor *sel, int T,
                                  int B) {
    const struct llama_shape s = m->s;
    const int d = s.n_embd / s.n_head;
    struct ggml_tensor *x = ggml_get_rows(ctx, m->tok_embd, tokens); /* [n_embd, T*B] */
    for (int il = 0; il < s.n_layer; il++) {
        const struct layer *L = &m->layers[il];
        struct ggml_tensor *h = norm(ctx, x, L->attn_norm);
        struct ggml_tensor *q = heads(ctx, ggml_mul_mat(ctx, L->wq, h), pos, d, s.n_head, T, B, s.n_ctx, 1);
        struct ggml_tensor *k = heads(ctx, ggml_mul_mat(ctx, L->wk, h), pos, d, s.n_head, T, B, s.n_ctx, 1);
        struct ggml_tensor *v = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L->wv, h), d, s.n_head, T, B);
        v = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3)); /* [T, d, n_head, B] */
        struct ggml_tensor *kq = ggml_mul_mat(ctx, k, q);    /* [T_k, T_q, n_head, B] */
        kq = ggml_soft_max_ext(ctx, kq, mask, 1.0f / sqrtf((float)d), 0.0f);
        struct ggml_tensor *o = ggml_mul_mat(ctx, v, kq); /* [d, T_q, n_head, B] */
        o = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));
        o = ggml_reshape_2d(ctx, o, s.n_embd, (int64_t)T * B);
        x = ggml_add(ctx, x, ggml_mul_mat(ctx, L->wo, o));
        h = norm(ctx, x, L->ffn_norm);
        struct ggml_tensor *f = ggml_mul(ctx, ggml_silu(ctx, ggml_mul_mat(ctx, L->gate, h)), ggml_mul_mat(ctx, L->up, h));
        x = ggml_add(ctx, x, ggml_mul_mat(ctx, L->down, f));
    }
    x = norm(ctx, x, m->out_norm);
    if (sel)
        x = ggml_get_rows(ctx, x, sel);
    return ggml_mul_mat(ctx, m->output, x);
}

int model_logprobs(const struct organism_model *m, const int32_t *tok, int n, float *out) {
    struct ggml_init_params p = {.mem_size = 1024 * ggml_tensor_overhead() + ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *ctx = ggml_init(p);
    if (!ctx)
        return -1;
    struct ggml_tensor *tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    struct ggml_tensor *pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    struct ggml_tensor *mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n, n, 1, 1);
    struct ggml_tensor *lp = ggml_log(ctx, ggml_soft_max(ctx, model_forward(ctx, m, tokens, pos, mask, NULL, n, 1)));
    struct ggml_cgraph *gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, lp);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, m->backend);
    int rc = -1;
    int32_t *ip = malloc((size_t)n * sizeof *ip);
    float *mk = malloc((size_t)n * n * sizeof *mk);
    if (buf && ip && mk) {
        for (int i = 0; i < n; i++) {
            ip[i] = i;
            for (int j = 0; j < n; j++)
                mk[(size_t)i * n + j] = j <= i ? 0.0f : -INFINITY;
        }
        ggml_backend_tensor_set(tokens, tok, 0, ggml_nbytes(tokens));
        ggml_backend_tensor_set(pos, ip, 0, ggml_nbytes(pos));
        ggml_backend_tensor_set(mask, mk, 0, ggml_nbytes(mask));
        if (ggml_backend_graph_compute(m->backend, gf) == GGML_STATUS_SUCCESS) {
            ggml_backend_tensor_get(lp, out, 0, ggml_nbytes(lp));
            rc = 0;
        }
    }
    free(ip);
    free(mk);
    if (buf)
        ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    return rc;
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
