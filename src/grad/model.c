/* model.c - the own llama-family graph: weights (fresh, or mapped from a GGUF) and the forward
 * graph (see model.h). */
#define _POSIX_C_SOURCE 200809L
#include "grad/model.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ggml-alloc.h>
#include <ggml-cpu.h>
#include <gguf.h>

#include "core/logprob.h"
#include "core/status.h"

/* ------------------------------------------------------------------ weights */

static int alloc_arrays(struct grad_model *m, int n_max) {
    m->all = calloc((size_t)n_max, sizeof *m->all);
    m->layers = calloc((size_t)(m->hp.n_layer > 0 ? m->hp.n_layer : 1), sizeof *m->layers);
    return m->all && m->layers ? 0 : -1;
}

static struct ggml_tensor *fresh(struct grad_model *m, const char *name, int64_t ne0, int64_t ne1) {
    struct ggml_tensor *t = ne1 ? ggml_new_tensor_2d(m->ctx, GGML_TYPE_F32, ne0, ne1)
                                : ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, ne0);
    ggml_set_name(t, name);
    ggml_set_param(t);
    m->all[m->n_all++] = t;
    return t;
}

int grad_model_create(struct grad_model *m, struct grad_hparams hp, int n_threads) {
    memset(m, 0, sizeof *m);
    if (hp.arch != GRAD_ARCH_LLAMA || hp.n_head <= 0 || hp.n_embd % hp.n_head || hp.n_head_kv <= 0 ||
        hp.n_head % hp.n_head_kv || hp.n_layer < 1)
        return -1;
    hp.head_dim = hp.n_embd / hp.n_head;
    m->hp = hp;
    const int n_max = 3 + 9 * hp.n_layer;
    struct ggml_init_params p = {.mem_size = (size_t)(n_max + 8) * ggml_tensor_overhead(), .no_alloc = true};
    if (alloc_arrays(m, n_max) != 0 || !(m->ctx = ggml_init(p)) || !(m->backend = ggml_backend_cpu_init()))
        return grad_model_free(m), -1;
    ggml_backend_cpu_set_n_threads(m->backend, n_threads);
    const int64_t n_kv = (int64_t)hp.head_dim * hp.n_head_kv;
    char name[64];
    m->tok_embd = fresh(m, "token_embd.weight", hp.n_embd, hp.n_vocab);
    for (int il = 0; il < hp.n_layer; il++) {
        struct grad_layer *L = &m->layers[il];
#define N(fmt) (snprintf(name, sizeof name, "blk.%d." fmt, il), name)
        L->attn_norm = fresh(m, N("attn_norm.weight"), hp.n_embd, 0);
        L->wq = fresh(m, N("attn_q.weight"), hp.n_embd, hp.n_embd);
        L->wk = fresh(m, N("attn_k.weight"), hp.n_embd, n_kv);
        L->wv = fresh(m, N("attn_v.weight"), hp.n_embd, n_kv);
        L->wo = fresh(m, N("attn_output.weight"), hp.n_embd, hp.n_embd);
        L->ffn_norm = fresh(m, N("ffn_norm.weight"), hp.n_embd, 0);
        L->gate = fresh(m, N("ffn_gate.weight"), hp.n_embd, hp.n_ff);
        L->up = fresh(m, N("ffn_up.weight"), hp.n_embd, hp.n_ff);
        L->down = fresh(m, N("ffn_down.weight"), hp.n_ff, hp.n_embd);
#undef N
    }
    m->out_norm = fresh(m, "output_norm.weight", hp.n_embd, 0);
    m->output = fresh(m, "output.weight", hp.n_embd, hp.n_vocab);
    if (!(m->buf = ggml_backend_alloc_ctx_tensors(m->ctx, m->backend)))
        return grad_model_free(m), -1;
    return 0;
}

void grad_model_free(struct grad_model *m) {
    if (m->buf)
        ggml_backend_buffer_free(m->buf);
    if (m->ctx)
        ggml_free(m->ctx);
    if (m->backend)
        ggml_backend_free(m->backend);
    if (m->map)
        munmap(m->map, m->map_size);
    free(m->layers);
    free(m->all);
    memset(m, 0, sizeof *m);
}

/* An integer hyperparameter "<arch>.<key>": def when absent, -2 when present but not a scalar
 * integer (a per-layer array: not supported). */
static long kv_int(const struct gguf_context *g, const char *arch, const char *key, long def) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    int64_t id = gguf_find_key(g, full);
    if (id < 0)
        return def;
    switch (gguf_get_kv_type(g, id)) {
    case GGUF_TYPE_UINT32: return (long)gguf_get_val_u32(g, id);
    case GGUF_TYPE_INT32: return (long)gguf_get_val_i32(g, id);
    case GGUF_TYPE_UINT64: return (long)gguf_get_val_u64(g, id);
    case GGUF_TYPE_INT64: return (long)gguf_get_val_i64(g, id);
    case GGUF_TYPE_UINT16: return (long)gguf_get_val_u16(g, id);
    default: return -2;
    }
}

static float kv_float(const struct gguf_context *g, const char *arch, const char *key, float def) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    int64_t id = gguf_find_key(g, full);
    if (id < 0 || gguf_get_kv_type(g, id) != GGUF_TYPE_FLOAT32)
        return def;
    return gguf_get_val_f32(g, id);
}

static const char *kv_str(const struct gguf_context *g, const char *arch, const char *key) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    int64_t id = gguf_find_key(g, full);
    return id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_STRING ? gguf_get_val_str(g, id) : NULL;
}

/* Point a weight's slot at a GGUF tensor by name; 0, or -1 when the name is not one the graph
 * reads. */
static int bind(struct grad_model *m, struct ggml_tensor *t) {
    const char *n = t->name;
    if (!strcmp(n, "token_embd.weight"))
        return m->tok_embd = t, 0;
    if (!strcmp(n, "output_norm.weight"))
        return m->out_norm = t, 0;
    if (!strcmp(n, "output.weight"))
        return m->output = t, 0;
    if (!strcmp(n, "rope_freqs.weight"))
        return m->rope_freqs = t, 0;
    int il, used = 0;
    char rest[64];
    if (sscanf(n, "blk.%d.%63s%n", &il, rest, &used) != 2 || il < 0 || il >= m->hp.n_layer)
        return -1;
    struct grad_layer *L = &m->layers[il];
    static const struct {
        const char *name;
        size_t off;
    } slots[] = {
        {"attn_norm.weight", offsetof(struct grad_layer, attn_norm)},
        {"attn_q.weight", offsetof(struct grad_layer, wq)},
        {"attn_k.weight", offsetof(struct grad_layer, wk)},
        {"attn_v.weight", offsetof(struct grad_layer, wv)},
        {"attn_output.weight", offsetof(struct grad_layer, wo)},
        {"attn_q.bias", offsetof(struct grad_layer, bq)},
        {"attn_k.bias", offsetof(struct grad_layer, bk)},
        {"attn_v.bias", offsetof(struct grad_layer, bv)},
        {"attn_q_norm.weight", offsetof(struct grad_layer, q_norm)},
        {"attn_k_norm.weight", offsetof(struct grad_layer, k_norm)},
        {"ffn_norm.weight", offsetof(struct grad_layer, ffn_norm)},
        {"ffn_gate.weight", offsetof(struct grad_layer, gate)},
        {"ffn_up.weight", offsetof(struct grad_layer, up)},
        {"ffn_down.weight", offsetof(struct grad_layer, down)},
    };
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++)
        if (!strcmp(rest, slots[i].name)) {
            *(struct ggml_tensor **)((char *)L + slots[i].off) = t;
            return 0;
        }
    return -1;
}

static int load_fail(struct grad_model *m, struct gguf_context *g, char *err, int status, const char *path,
                     const char *what) {
    if (g)
        gguf_free(g);
    grad_model_free(m);
    return umpire_fail(err, status, "%s: %s", path, what);
}

int grad_model_load(struct grad_model *m, const char *path, int n_threads, char *err) {
    memset(m, 0, sizeof *m);
    char what[200];
    struct gguf_init_params gp = {.no_alloc = true, .ctx = &m->ctx};
    struct gguf_context *g = gguf_init_from_file(path, gp);
    if (!g)
        return load_fail(m, NULL, err, UMPIRE_EIO, path, "cannot be read as a GGUF file");
    int64_t id = gguf_find_key(g, "general.architecture");
    const char *arch = id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_STRING ? gguf_get_val_str(g, id) : "";
    struct grad_hparams *hp = &m->hp;
    if (!strcmp(arch, "llama"))
        hp->arch = GRAD_ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2"))
        hp->arch = GRAD_ARCH_QWEN2;
    else if (!strcmp(arch, "qwen3"))
        hp->arch = GRAD_ARCH_QWEN3;
    else {
        snprintf(what, sizeof what,
                 "architecture '%s' is not one the gradient graph runs (llama, mistral, qwen2, qwen3)", arch);
        return load_fail(m, g, err, UMPIRE_EINVAL, path, what);
    }
    hp->n_embd = (int)kv_int(g, arch, "embedding_length", -1);
    hp->n_layer = (int)kv_int(g, arch, "block_count", -1);
    hp->n_head = (int)kv_int(g, arch, "attention.head_count", -1);
    hp->n_head_kv = (int)kv_int(g, arch, "attention.head_count_kv", hp->n_head);
    hp->n_ff = (int)kv_int(g, arch, "feed_forward_length", -1);
    hp->n_ctx = (int)kv_int(g, arch, "context_length", 2048);
    long key_len = kv_int(g, arch, "attention.key_length", hp->n_head > 0 ? hp->n_embd / hp->n_head : -1);
    long val_len = kv_int(g, arch, "attention.value_length", key_len);
    long n_rot = kv_int(g, arch, "rope.dimension_count", key_len);
    hp->head_dim = (int)key_len;
    hp->rope_base = kv_float(g, arch, "rope.freq_base", 10000.0f);
    hp->rms_eps = kv_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5f);
    hp->rope_scale = 1.0f;
    const char *scaling = kv_str(g, arch, "rope.scaling.type");
    if (scaling && !strcmp(scaling, "linear")) {
        float factor = kv_float(g, arch, "rope.scaling.factor", 1.0f);
        hp->rope_scale = factor > 0 ? 1.0f / factor : 1.0f;
    } else if (scaling && strcmp(scaling, "none")) {
        snprintf(what, sizeof what, "RoPE scaling '%s' is not supported by the gradient graph", scaling);
        return load_fail(m, g, err, UMPIRE_EINVAL, path, what);
    }
    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 || hp->n_ff <= 0 ||
        key_len <= 0 || hp->n_head % hp->n_head_kv)
        return load_fail(m, g, err, UMPIRE_EINVAL, path,
                         "hyperparameters missing, or per layer (the gradient graph needs one value for all)");
    if (kv_int(g, arch, "expert_count", 0) > 0)
        return load_fail(m, g, err, UMPIRE_EINVAL, path, "mixture-of-experts models are not supported by the gradient graph");
    if (val_len != key_len || n_rot != key_len)
        return load_fail(m, g, err, UMPIRE_EINVAL, path,
                         "partial RoPE or unequal key and value sizes are not supported by the gradient graph");
    const int64_t n_tensors = gguf_get_n_tensors(g);
    if (alloc_arrays(m, (int)n_tensors + 1) != 0)
        return load_fail(m, g, err, UMPIRE_ENOMEM, path, "out of memory");
    for (int64_t i = 0; i < n_tensors; i++) {
        struct ggml_tensor *t = ggml_get_tensor(m->ctx, gguf_get_tensor_name(g, i));
        if (!t || bind(m, t) != 0) {
            snprintf(what, sizeof what, "tensor '%s' is not one the gradient graph knows (another variant of %s?)",
                     gguf_get_tensor_name(g, i), arch);
            return load_fail(m, g, err, UMPIRE_EINVAL, path, what);
        }
        if (t->type == GGML_TYPE_BF16) {
            snprintf(what, sizeof what,
                     "tensor '%s' is BF16: ggml's CPU backward has no BF16 kernel (convert the model to F16 or F32)",
                     t->name);
            return load_fail(m, g, err, UMPIRE_EINVAL, path, what);
        }
        m->all[m->n_all++] = t;
    }
    if (!m->output)
        m->output = m->tok_embd; /* tied embeddings */
    int ok = m->tok_embd && m->out_norm;
    for (int il = 0; ok && il < hp->n_layer; il++) {
        const struct grad_layer *L = &m->layers[il];
        ok = L->attn_norm && L->wq && L->wk && L->wv && L->wo && L->ffn_norm && L->gate && L->up && L->down &&
             (hp->arch != GRAD_ARCH_QWEN3 || (L->q_norm && L->k_norm));
    }
    if (!ok)
        return load_fail(m, g, err, UMPIRE_EINVAL, path, "a weight the graph needs is missing");
    hp->n_vocab = (int)m->tok_embd->ne[1];

    /* map the file; the tensors point into the mapping */
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return load_fail(m, g, err, UMPIRE_EIO, path, "cannot be opened");
    }
    m->map_size = (size_t)st.st_size;
    void *map = mmap(NULL, m->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return load_fail(m, g, err, UMPIRE_EIO, path, "cannot be mapped");
    m->map = map;
    const size_t data = gguf_get_data_offset(g);
    if (data > m->map_size ||
        !(m->buf = ggml_backend_cpu_buffer_from_ptr((char *)map + data, m->map_size - data)) ||
        !(m->backend = ggml_backend_cpu_init()))
        return load_fail(m, g, err, UMPIRE_ENOMEM, path, "out of memory");
    for (int64_t i = 0; i < n_tensors; i++) {
        struct ggml_tensor *t = ggml_get_tensor(m->ctx, gguf_get_tensor_name(g, i));
        size_t off = gguf_get_tensor_offset(g, i);
        if (off + ggml_nbytes(t) > m->map_size - data)
            return load_fail(m, g, err, UMPIRE_EINVAL, path, "a tensor extends past the end of the file");
        if (ggml_backend_tensor_alloc(m->buf, t, (char *)map + data + off) != GGML_STATUS_SUCCESS)
            return load_fail(m, g, err, UMPIRE_ENOMEM, path, "out of memory");
    }
    ggml_backend_cpu_set_n_threads(m->backend, n_threads);
    gguf_free(g);
    return 0;
}

/* ------------------------------------------------------------------ the forward graph */

static struct ggml_tensor *norm(struct ggml_context *ctx, struct ggml_tensor *x, struct ggml_tensor *w, float eps) {
    return ggml_mul(ctx, ggml_rms_norm(ctx, x, eps), w);
}

/* [n_head * d, T*B] -> heads [d, T, n_head, B], per-head RMS norm (qwen3) and RoPE applied */
static struct ggml_tensor *heads(struct ggml_context *ctx, const struct grad_model *m, struct ggml_tensor *x,
                                 struct ggml_tensor *bias, struct ggml_tensor *head_norm, struct ggml_tensor *pos,
                                 int n_head, int T, int B, int rope) {
    const struct grad_hparams *hp = &m->hp;
    const int d = hp->head_dim;
    if (bias)
        x = ggml_add(ctx, x, bias);
    x = ggml_reshape_3d(ctx, x, d, n_head, (int64_t)T * B);
    if (head_norm)
        x = norm(ctx, x, head_norm, hp->rms_eps);
    if (rope) {
        const int mode = hp->arch == GRAD_ARCH_LLAMA ? 0 : GGML_ROPE_TYPE_NEOX;
        x = ggml_rope_ext(ctx, x, pos, m->rope_freqs, d, mode, hp->n_ctx, hp->rope_base, hp->rope_scale, 0.0f, 1.0f,
                          32.0f, 1.0f);
    }
    x = ggml_reshape_4d(ctx, x, d, n_head, T, B);
    return ggml_cont(ctx, ggml_permute(ctx, x, 0, 2, 1, 3));
}

struct ggml_tensor *grad_forward_build(struct ggml_context *ctx, const struct grad_model *m, struct grad_forward *f) {
    const struct grad_hparams *hp = &m->hp;
    const int d = hp->head_dim, T = f->T, B = f->B;
    struct ggml_tensor *x = ggml_get_rows(ctx, m->tok_embd, f->tokens); /* [n_embd, T*B] */
    if (f->probe_embd)
        x = ggml_add(ctx, x, f->probe_embd);
    for (int il = 0; il < hp->n_layer; il++) {
        const struct grad_layer *L = &m->layers[il];
        struct ggml_tensor *h = norm(ctx, x, L->attn_norm, hp->rms_eps);
        struct ggml_tensor *q = heads(ctx, m, ggml_mul_mat(ctx, L->wq, h), L->bq, L->q_norm, f->pos, hp->n_head, T, B, 1);
        struct ggml_tensor *k =
            heads(ctx, m, ggml_mul_mat(ctx, L->wk, h), L->bk, L->k_norm, f->pos, hp->n_head_kv, T, B, 1);
        struct ggml_tensor *v = ggml_mul_mat(ctx, L->wv, h);
        if (L->bv)
            v = ggml_add(ctx, v, L->bv);
        v = ggml_reshape_4d(ctx, v, d, hp->n_head_kv, T, B);
        v = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3)); /* [T, d, n_head_kv, B] */
        struct ggml_tensor *kq = ggml_mul_mat(ctx, k, q);    /* [T_k, T_q, n_head, B] */
        kq = ggml_soft_max_ext(ctx, kq, f->mask, 1.0f / sqrtf((float)d), 0.0f);
        struct ggml_tensor *o = ggml_mul_mat(ctx, v, kq); /* [d, T_q, n_head, B] */
        o = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));
        o = ggml_reshape_2d(ctx, o, (int64_t)d * hp->n_head, (int64_t)T * B);
        x = ggml_add(ctx, x, ggml_mul_mat(ctx, L->wo, o));
        h = norm(ctx, x, L->ffn_norm, hp->rms_eps);
        struct ggml_tensor *ff = ggml_mul(ctx, ggml_silu(ctx, ggml_mul_mat(ctx, L->gate, h)), ggml_mul_mat(ctx, L->up, h));
        x = ggml_add(ctx, x, ggml_mul_mat(ctx, L->down, ff));
        if (f->probe && f->probe[il])
            x = ggml_add(ctx, x, f->probe[il]);
        if (f->layer_out)
            f->layer_out[il] = x;
    }
    x = norm(ctx, x, m->out_norm, hp->rms_eps);
    if (f->sel)
        x = ggml_get_rows(ctx, x, f->sel);
    f->hidden = x;
    f->logits = ggml_mul_mat(ctx, m->output, x);
    return f->logits;
}

void grad_forward_fill_causal(const struct grad_forward *f, const int32_t *tok, int32_t *pos_buf, float *mask_buf) {
    const int n = f->T;
    for (int i = 0; i < n; i++) {
        pos_buf[i] = i;
        for (int j = 0; j < n; j++)
            mask_buf[(size_t)i * n + j] = j <= i ? 0.0f : -INFINITY;
    }
    ggml_backend_tensor_set(f->tokens, tok, 0, ggml_nbytes(f->tokens));
    ggml_backend_tensor_set(f->pos, pos_buf, 0, ggml_nbytes(f->pos));
    ggml_backend_tensor_set(f->mask, mask_buf, 0, ggml_nbytes(f->mask));
}

int grad_model_logprobs(const struct grad_model *m, const int32_t *tok, int n, float *out) {
    struct ggml_init_params p = {.mem_size = 4096 * ggml_tensor_overhead() + ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *ctx = ggml_init(p);
    if (!ctx)
        return -1;
    struct grad_forward f = {.T = n, .B = 1};
    f.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n, n, 1, 1);
    struct ggml_tensor *logits = grad_forward_build(ctx, m, &f);
    struct ggml_cgraph *gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, logits);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, m->backend);
    int rc = -1;
    int32_t *ip = malloc((size_t)n * sizeof *ip);
    float *mk = malloc((size_t)n * n * sizeof *mk);
    if (buf && ip && mk) {
        grad_forward_fill_causal(&f, tok, ip, mk);
        if (ggml_backend_graph_compute(m->backend, gf) == GGML_STATUS_SUCCESS) {
            ggml_backend_tensor_get(logits, out, 0, ggml_nbytes(logits));
            const size_t V = (size_t)m->hp.n_vocab;
            for (int i = 0; i < n; i++) { /* log p = z - logsumexp(z), in double */
                struct umpire_softmax s;
                umpire_softmax_f32(out + i * V, V, 1.0, &s);
                for (size_t v = 0; v < V; v++)
                    out[i * V + v] = (float)((double)out[i * V + v] - s.max - s.logz);
            }
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
