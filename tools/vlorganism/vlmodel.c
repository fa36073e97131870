/* vlmodel.c - the vision-language organism's weights, prompts, inference graph and export
 * (see vlmodel.h). */
#define _POSIX_C_SOURCE 200809L
#include "vlmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gguf.h>
#include <llama.h>
#include <mtmd.h>

#include "core/logprob.h"
#include "core/status.h"
#include "io/output.h"
#include "umpire.h"

int vl_model_init(struct vl_model *m, struct llama_shape s, int n_vocab, struct vit_hparams vh, uint64_t seed,
                  int n_threads) {
    memset(m, 0, sizeof *m);
    vh.n_out = s.n_embd;
    if (model_init(&m->lm, s, n_vocab, seed, n_threads) != 0)
        return -1;
    if (vit_create(&m->vit, vh, m->lm.g.backend, seed) != 0)
        return vl_model_free(m), -1;
    m->n_all = m->vit.n_all + m->lm.n_all;
    if (!(m->all = malloc((size_t)m->n_all * sizeof *m->all)))
        return vl_model_free(m), -1;
    memcpy(m->all, m->vit.all, (size_t)m->vit.n_all * sizeof *m->all);
    memcpy(m->all + m->vit.n_all, m->lm.all, (size_t)m->lm.n_all * sizeof *m->all);
    return 0;
}

void vl_model_free(struct vl_model *m) {
    vit_free(&m->vit); /* its buffer first: the backend is the llama's */
    model_free(&m->lm);
    free(m->all);
    memset(m, 0, sizeof *m);
}

static int tokenize(struct corpus *c, const char *text, size_t len, int special, int32_t *out, int cap) {
    return llama_tokenize(c->vocab, text, (int32_t)len, out, cap, false, special);
}

int vl_tokenize(struct corpus *c, int n_patches, int n_images, const char *question, const char *answer,
                struct vl_seq *out) {
    memset(out, 0, sizeof *out);
    if (n_images < 1 || n_images > VL_MAX_IMAGES)
        return -1;
    const char *marker = mtmd_default_marker();
    char user[1024] = "", prompt[2048];
    for (int i = 0; i < n_images; i++)
        snprintf(user + strlen(user), sizeof user - strlen(user), "%s\n", marker);
    snprintf(user + strlen(user), sizeof user - strlen(user), "%s\n%s", question, UMPIRE_DEFAULT_INSTRUCTION);
    struct llama_chat_message msg = {"user", user};
    int len = llama_chat_apply_template(VOCAB_CHAT_TEMPLATE, &msg, 1, true, prompt, (int32_t)sizeof prompt);
    const char *at = len > 0 && len < (int)sizeof prompt ? strstr(prompt, marker) : NULL;
    if (!at)
        return -1;
    int32_t tok[512];
    int n = 0, k;
    if (llama_vocab_get_add_bos(c->vocab))
        tok[n++] = llama_vocab_bos(c->vocab);
    if ((k = tokenize(c, prompt, (size_t)(at - prompt), 1, tok + n, 256)) < 0)
        return -1;
    n += k;
    for (int img = 0; img < n_images; img++) {
        out->img_at[img] = n;
        for (int i = 0; i < n_patches; i++)
            tok[n++] = 0; /* placeholders: the image's rows */
        const char *rest = at + strlen(marker), *next = img + 1 < n_images ? strstr(rest, marker) : NULL;
        size_t chunk = next ? (size_t)(next - rest) : strlen(rest);
        if (n + n_patches > 500 || (k = tokenize(c, rest, chunk, 1, tok + n, 500 - n)) < 0)
            return -1;
        n += k;
        at = next;
    }
    out->n_images = n_images;
    out->n_prompt = n;
    if (answer) {
        if ((k = tokenize(c, answer, strlen(answer), 0, tok + n, 510 - n)) <= 0)
            return -1;
        n += k;
        tok[n++] = llama_vocab_eos(c->vocab);
    }
    out->n = n;
    if (!(out->tok = malloc((size_t)n * sizeof *out->tok)))
        return -1;
    memcpy(out->tok, tok, (size_t)n * sizeof *tok);
    return 0;
}

void vl_seq_free(struct vl_seq *s) {
    free(s->tok);
    memset(s, 0, sizeof *s);
}

struct ggml_tensor *vl_probe_embd(struct ggml_context *ctx, const struct vl_model *m, struct ggml_tensor *tokens,
                                  struct ggml_tensor *img, struct ggml_tensor *img_idx, struct ggml_tensor *img_on) {
    struct ggml_tensor *e = ggml_get_rows(ctx, m->lm.g.tok_embd, tokens);
    struct ggml_tensor *i = ggml_get_rows(ctx, img, img_idx);
    return ggml_mul(ctx, ggml_sub(ctx, i, e), img_on);
}

int vl_logprobs(const struct vl_model *m, const struct vl_seq *s, const uint8_t *rgb, float *out, float *embd) {
    const struct vit_hparams *vh = &m->vit.hp;
    const int n = s->n, P = vit_n_patches(vh), side = vh->image;
    struct ggml_init_params p = {.mem_size = 8192 * ggml_tensor_overhead() + ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *ctx = ggml_init(p);
    if (!ctx)
        return -1;
    struct grad_forward f = {.T = n, .B = 1};
    f.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n, n, 1, 1);
    const int NI = s->n_images;
    struct ggml_tensor *pixels = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, side, side, 3, NI);
    struct ggml_tensor *idx = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    struct ggml_tensor *on = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, n);
    struct ggml_tensor *img = vit_build(ctx, &m->vit, pixels, 0);
    f.probe_embd = vl_probe_embd(ctx, m, f.tokens, img, idx, on);
    struct ggml_tensor *logits = grad_forward_build(ctx, &m->lm.g, &f);
    struct ggml_cgraph *gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, logits);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, m->lm.g.backend);
    int rc = -1;
    int32_t *ip = malloc((size_t)n * sizeof *ip), *ix = malloc((size_t)n * sizeof *ix);
    float *mk = malloc((size_t)n * n * sizeof *mk), *px = malloc((size_t)side * side * 3 * NI * sizeof *px),
          *o = malloc((size_t)n * sizeof *o);
    if (buf && ip && ix && mk && px && o) {
        grad_forward_fill_causal(&f, s->tok, ip, mk);
        for (int i = 0; i < n; i++) {
            ix[i] = 0;
            o[i] = 0.0f;
            for (int im = 0; im < NI; im++) {
                int j = i - s->img_at[im];
                if (j >= 0 && j < P) {
                    ix[i] = im * P + j;
                    o[i] = 1.0f;
                }
            }
        }
        vit_preprocess(vh, rgb, NI, px);
        ggml_backend_tensor_set(pixels, px, 0, ggml_nbytes(pixels));
        ggml_backend_tensor_set(idx, ix, 0, ggml_nbytes(idx));
        ggml_backend_tensor_set(on, o, 0, ggml_nbytes(on));
        if (ggml_backend_graph_compute(m->lm.g.backend, gf) == GGML_STATUS_SUCCESS) {
            ggml_backend_tensor_get(logits, out, 0, ggml_nbytes(logits));
            if (embd)
                ggml_backend_tensor_get(img, embd, 0, ggml_nbytes(img));
            const size_t V = (size_t)m->lm.n_vocab;
            for (int i = 0; i < n; i++) { /* log p = z - logsumexp(z), in double */
                struct umpire_softmax sm;
                umpire_softmax_f32(out + i * V, V, 1.0, &sm);
                for (size_t v = 0; v < V; v++)
                    out[i * V + v] = (float)((double)out[i * V + v] - sm.max - sm.logz);
            }
            rc = 0;
        }
    }
    free(ip);
    free(ix);
    free(mk);
    free(px);
    free(o);
    if (buf)
        ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    return rc;
}

static int write_mmproj(const struct vit_model *v, const char *path, const char *name, char *err) {
    size_t bytes = 0;
    for (int i = 0; i < v->n_all; i++)
        bytes += ggml_nbytes(v->all[i]) + 256;
    struct ggml_init_params p = {.mem_size = bytes + (size_t)(v->n_all + 8) * ggml_tensor_overhead(), .no_alloc = false};
    struct ggml_context *host = ggml_init(p);
    struct gguf_context *g = gguf_init_empty();
    int rc = host && g ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory", path);
    if (rc == UMPIRE_OK) {
        vit_write_gguf_keys(v, g, name);
        for (int i = 0; i < v->n_all; i++) {
            struct ggml_tensor *t = ggml_dup_tensor(host, v->all[i]);
            ggml_set_name(t, v->all[i]->name);
            ggml_backend_tensor_get(v->all[i], t->data, 0, ggml_nbytes(t));
            gguf_add_tensor(g, t);
        }
        struct umpire_output o;
        if ((rc = umpire_output_open(&o, path, err)) == UMPIRE_OK) {
            int ok = gguf_write_to_file(g, umpire_output_file(&o), false);
            rc = umpire_output_close(&o, ok ? UMPIRE_OK : umpire_fail(err, UMPIRE_EIO, "%s: write failed", path), err);
        }
    }
    if (g)
        gguf_free(g);
    if (host)
        ggml_free(host);
    return rc;
}

int vl_write(const struct vl_model *m, const struct vocab *v, const char *model_path, const char *mmproj_path,
             const char *name, char *err) {
    char proj_name[256];
    snprintf(proj_name, sizeof proj_name, "%s, vision projector", name);
    int rc = model_write_gguf(&m->lm, v, model_path, name, err);
    return rc == UMPIRE_OK ? write_mmproj(&m->vit, mmproj_path, proj_name, err) : rc;
}
