/* vit.c - the vision transformer and its MLP projector as a ggml graph (see vit.h). */
#define _POSIX_C_SOURCE 200809L
#include "grad/vit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ggml-alloc.h>
#include <gguf.h>

#include "core/rng.h"

struct vit_hparams vit_default_hparams(void) {
    return (struct vit_hparams){.image = 64,
                                .patch = 32,
                                .n_embd = 64,
                                .n_head = 4,
                                .n_ff = 128,
                                .n_layer = 2,
                                .n_out = 64,
                                .eps = 1e-5f,
                                .mean = {0.48145466f, 0.4578275f, 0.40821073f},
                                .std = {0.26862954f, 0.26130258f, 0.27577711f}};
}

int vit_n_patches(const struct vit_hparams *hp) { return (hp->image / hp->patch) * (hp->image / hp->patch); }

static struct ggml_tensor *fresh(struct vit_model *m, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                                 int64_t ne3) {
    struct ggml_tensor *t = !ne1   ? ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, ne0)
                            : !ne2 ? ggml_new_tensor_2d(m->ctx, GGML_TYPE_F32, ne0, ne1)
                                   : ggml_new_tensor_4d(m->ctx, GGML_TYPE_F32, ne0, ne1, ne2, ne3);
    ggml_set_name(t, name);
    ggml_set_param(t);
    m->all[m->n_all++] = t;
    return t;
}

int vit_create(struct vit_model *m, struct vit_hparams hp, ggml_backend_t backend, uint64_t seed) {
    memset(m, 0, sizeof *m);
    if (hp.patch <= 0 || hp.image % hp.patch || hp.n_head <= 0 || hp.n_embd % hp.n_head || hp.n_layer < 1 ||
        hp.n_ff == hp.n_embd) /* clip swaps ffn_up and ffn_down of "mlp" projectors when n_ff == n_embd */
        return -1;
    m->hp = hp;
    const int n_max = 9 + 15 * hp.n_layer;
    struct ggml_init_params p = {.mem_size = (size_t)(n_max + 8) * ggml_tensor_overhead(), .no_alloc = true};
    m->all = calloc((size_t)n_max, sizeof *m->all);
    m->layers = calloc((size_t)hp.n_layer, sizeof *m->layers);
    if (!m->all || !m->layers || !(m->ctx = ggml_init(p)))
        return vit_free(m), -1;
    const int E = hp.n_embd;
    char name[64];
    m->patch_w = fresh(m, "v.patch_embd.weight", hp.patch, hp.patch, 3, E);
    m->patch_b = fresh(m, "v.patch_embd.bias", E, 0, 0, 0);
    m->pos = fresh(m, "v.position_embd.weight", E, vit_n_patches(&hp), 0, 0);
    m->pre_ln_w = fresh(m, "v.pre_ln.weight", E, 0, 0, 0);
    m->pre_ln_b = fresh(m, "v.pre_ln.bias", E, 0, 0, 0);
    for (int il = 0; il < hp.n_layer; il++) {
        struct vit_layer *L = &m->layers[il];
#define N(fmt) (snprintf(name, sizeof name, "v.blk.%d." fmt, il), name)
        L->ln1_w = fresh(m, N("ln1.weight"), E, 0, 0, 0);
        L->ln1_b = fresh(m, N("ln1.bias"), E, 0, 0, 0);
        L->q_w = fresh(m, N("attn_q.weight"), E, E, 0, 0);
        L->q_b = fresh(m, N("attn_q.bias"), E, 0, 0, 0);
        L->k_w = fresh(m, N("attn_k.weight"), E, E, 0, 0);
        L->v_w = fresh(m, N("attn_v.weight"), E, E, 0, 0);
        L->v_b = fresh(m, N("attn_v.bias"), E, 0, 0, 0);
        L->o_w = fresh(m, N("attn_out.weight"), E, E, 0, 0);
        L->o_b = fresh(m, N("attn_out.bias"), E, 0, 0, 0);
        L->ln2_w = fresh(m, N("ln2.weight"), E, 0, 0, 0);
        L->ln2_b = fresh(m, N("ln2.bias"), E, 0, 0, 0);
        L->up_w = fresh(m, N("ffn_up.weight"), E, hp.n_ff, 0, 0);
        L->up_b = fresh(m, N("ffn_up.bias"), hp.n_ff, 0, 0, 0);
        L->down_w = fresh(m, N("ffn_down.weight"), hp.n_ff, E, 0, 0);
        L->down_b = fresh(m, N("ffn_down.bias"), E, 0, 0, 0);
#undef N
    }
    m->mm0_w = fresh(m, "mm.0.weight", E, hp.n_out, 0, 0);
    m->mm0_b = fresh(m, "mm.0.bias", hp.n_out, 0, 0, 0);
    m->mm2_w = fresh(m, "mm.2.weight", hp.n_out, hp.n_out, 0, 0);
    m->mm2_b = fresh(m, "mm.2.bias", hp.n_out, 0, 0, 0);
    if (!(m->buf = ggml_backend_alloc_ctx_tensors(m->ctx, backend)))
        return vit_free(m), -1;
    struct umpire_rng g;
    umpire_rng_seed(&g, seed ^ 0x7669736f6e766974ULL);
    for (int i = 0; i < m->n_all; i++) {
        struct ggml_tensor *t = m->all[i];
        int64_t n = ggml_nelements(t);
        float *d = malloc((size_t)n * sizeof *d);
        if (!d)
            return vit_free(m), -1;
        const char *nm = t->name;
        int is_bias = strstr(nm, ".bias") != NULL, is_norm = strstr(nm, "ln") && !is_bias;
        for (int64_t j = 0; j < n; j++)
            d[j] = is_norm ? 1.0f : is_bias ? 0.0f : 0.02f * (float)umpire_rng_normal(&g);
        ggml_backend_tensor_set(t, d, 0, ggml_nbytes(t));
        free(d);
    }
    return 0;
}

void vit_free(struct vit_model *m) {
    if (m->buf)
        ggml_backend_buffer_free(m->buf);
    if (m->ctx)
        ggml_free(m->ctx);
    free(m->layers);
    free(m->all);
    memset(m, 0, sizeof *m);
}

void vit_preprocess(const struct vit_hparams *hp, const uint8_t *rgb, int n, float *out) {
    const size_t side = (size_t)hp->image, plane = side * side;
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) {
                float x = (float)rgb[((size_t)k * plane + i) * 3 + c] / 255.0f; /* clip's from_u8 */
                out[((size_t)k * 3 + c) * plane + i] = (x - hp->mean[c]) / hp->std[c];
            }
}

/* layer norm with weight and bias: ggml_norm (inference), or rms_norm of the centred x (training:
 * the same formula, through ops with a backward; centring is a product with I - 1/n) */
static struct ggml_tensor *layer_norm(struct ggml_context *ctx, struct ggml_tensor *x, struct ggml_tensor *w,
                                      struct ggml_tensor *b, float eps, int train) {
    if (train) {
        const int64_t n = x->ne[0];
        struct ggml_tensor *xc = ggml_sub(ctx, x, ggml_repeat(ctx, ggml_scale(ctx, ggml_sum_rows(ctx, x), 1.0f / (float)n), x));
        x = ggml_rms_norm(ctx, xc, eps);
    } else {
        x = ggml_norm(ctx, x, eps);
    }
    return ggml_add(ctx, ggml_mul(ctx, x, w), b);
}

/* gelu, tanh form: ggml_gelu (inference), or 0.5 x (1 + tanh u) with tanh u = sgn(u) (1 - e) /
 * (1 + e), e = exp(-2 |u|) <= 1 (training: no overflow, every op has a backward) */
static struct ggml_tensor *gelu(struct ggml_context *ctx, struct ggml_tensor *x, int train) {
    if (!train)
        return ggml_gelu(ctx, x);
    struct ggml_tensor *x3 = ggml_mul(ctx, ggml_sqr(ctx, x), x);
    struct ggml_tensor *u = ggml_scale(ctx, ggml_add(ctx, x, ggml_scale(ctx, x3, 0.044715f)), 0.7978845608028654f);
    struct ggml_tensor *e = ggml_exp(ctx, ggml_scale(ctx, ggml_abs(ctx, u), -2.0f));
    struct ggml_tensor *t = ggml_mul(ctx, ggml_sgn(ctx, u), ggml_div(ctx, ggml_scale_bias(ctx, e, -1.0f, 1.0f),
                                                                     ggml_scale_bias(ctx, e, 1.0f, 1.0f)));
    return ggml_mul(ctx, ggml_scale(ctx, x, 0.5f), ggml_scale_bias(ctx, t, 1.0f, 1.0f));
}

struct ggml_tensor *vit_build(struct ggml_context *ctx, const struct vit_model *m, struct ggml_tensor *pixels,
                              int train) {
    const struct vit_hparams *hp = &m->hp;
    const int E = hp->n_embd, H = hp->n_head, d = E / H, P = vit_n_patches(hp);
    const int64_t N = pixels->ne[3];
    const float kq_scale = 1.0f / sqrtf((float)d);
    /* clip's build_inp: conv -> [n_patches, n_embd, N] -> transposed, + bias */
    struct ggml_tensor *x = ggml_conv_2d(ctx, m->patch_w, pixels, hp->patch, hp->patch, 0, 0, 1, 1);
    x = ggml_reshape_3d(ctx, x, P, E, N);
    x = ggml_cont(ctx, ggml_permute(ctx, x, 1, 0, 2, 3)); /* [n_embd, n_patches, N] */
    x = ggml_add(ctx, x, m->patch_b);
    x = ggml_add(ctx, x, m->pos); /* positions 0 .. n_patches - 1: the table itself */
    x = layer_norm(ctx, x, m->pre_ln_w, m->pre_ln_b, hp->eps, train);
    for (int il = 0; il < hp->n_layer; il++) {
        const struct vit_layer *L = &m->layers[il];
        struct ggml_tensor *h = layer_norm(ctx, x, L->ln1_w, L->ln1_b, hp->eps, train);
        struct ggml_tensor *q = ggml_add(ctx, ggml_mul_mat(ctx, L->q_w, h), L->q_b);
        struct ggml_tensor *k = ggml_mul_mat(ctx, L->k_w, h); /* no bias: it would shift a query's scores alike */
        struct ggml_tensor *v = ggml_add(ctx, ggml_mul_mat(ctx, L->v_w, h), L->v_b);
        q = ggml_permute(ctx, ggml_reshape_4d(ctx, q, d, H, P, N), 0, 2, 1, 3); /* [d, P, H, N] */
        k = ggml_permute(ctx, ggml_reshape_4d(ctx, k, d, H, P, N), 0, 2, 1, 3);
        struct ggml_tensor *o;
        if (train) { /* softmax(k.q / sqrt(d)) v in F32 */
            v = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, d, H, P, N), 1, 2, 0, 3)); /* [P, d, H, N] */
            struct ggml_tensor *kq = ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, ggml_cont(ctx, k), ggml_cont(ctx, q)),
                                                       NULL, kq_scale, 0.0f);
            o = ggml_permute(ctx, ggml_mul_mat(ctx, v, kq), 0, 2, 1, 3); /* [d, H, P, N] */
            o = ggml_cont_2d(ctx, o, E, P * N);
        } else { /* libmtmd's default on the CPU: flash attention, K and V in F16, F32 accumulation */
            v = ggml_permute(ctx, ggml_reshape_4d(ctx, v, d, H, P, N), 0, 2, 1, 3);
            o = ggml_flash_attn_ext(ctx, q, ggml_cast(ctx, k, GGML_TYPE_F16), ggml_cast(ctx, v, GGML_TYPE_F16), NULL,
                                    kq_scale, 0.0f, 0.0f);
            ggml_prec_set_acc(o, GGML_PREC_F32);
            o = ggml_reshape_2d(ctx, o, E, P * N);
        }
        o = ggml_add(ctx, ggml_mul_mat(ctx, L->o_w, o), L->o_b);
        x = ggml_add(ctx, ggml_reshape_3d(ctx, o, E, P, N), x);
        h = layer_norm(ctx, x, L->ln2_w, L->ln2_b, hp->eps, train);
        h = ggml_silu(ctx, ggml_add(ctx, ggml_mul_mat(ctx, L->up_w, h), L->up_b));
        h = ggml_add(ctx, ggml_mul_mat(ctx, L->down_w, h), L->down_b);
        x = ggml_add(ctx, x, h);
    }
    /* the llava projector */
    x = ggml_reshape_2d(ctx, x, E, P * N);
    x = gelu(ctx, ggml_add(ctx, ggml_mul_mat(ctx, m->mm0_w, x), m->mm0_b), train);
    return ggml_add(ctx, ggml_mul_mat(ctx, m->mm2_w, x), m->mm2_b);
}

void vit_write_gguf_keys(const struct vit_model *m, struct gguf_context *g, const char *name) {
    const struct vit_hparams *hp = &m->hp;
    gguf_set_val_str(g, "general.architecture", "clip");
    gguf_set_val_str(g, "general.name", name);
    gguf_set_val_u32(g, "general.file_type", 0);
    gguf_set_val_str(g, "clip.projector_type", "mlp");
    gguf_set_val_bool(g, "clip.has_vision_encoder", true);
    gguf_set_val_bool(g, "clip.use_silu", true);
    gguf_set_val_u32(g, "clip.vision.image_size", (uint32_t)hp->image);
    gguf_set_val_u32(g, "clip.vision.patch_size", (uint32_t)hp->patch);
    gguf_set_val_u32(g, "clip.vision.embedding_length", (uint32_t)hp->n_embd);
    gguf_set_val_u32(g, "clip.vision.feed_forward_length", (uint32_t)hp->n_ff);
    gguf_set_val_u32(g, "clip.vision.projection_dim", (uint32_t)hp->n_out);
    gguf_set_val_u32(g, "clip.vision.attention.head_count", (uint32_t)hp->n_head);
    gguf_set_val_f32(g, "clip.vision.attention.layer_norm_epsilon", hp->eps);
    gguf_set_val_u32(g, "clip.vision.block_count", (uint32_t)hp->n_layer);
    /* llava's default feature layer is the second to last block: the last one's output is ours */
    const int32_t feature = hp->n_layer;
    gguf_set_arr_data(g, "clip.vision.feature_layer", GGUF_TYPE_INT32, &feature, 1);
    gguf_set_arr_data(g, "clip.vision.image_mean", GGUF_TYPE_FLOAT32, hp->mean, 3);
    gguf_set_arr_data(g, "clip.vision.image_std", GGUF_TYPE_FLOAT32, hp->std, 3);
}
