/* vltrain.c - joint training of the ViT, projector and llama (see vltrain.h). */
#define _POSIX_C_SOURCE 200809L
#include "vltrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ggml-cpu.h>

#define GRAPH_SIZE 32768
#define ANSWER_MAX 8 /* answer tokens (and the end) per row */

struct vl_train_params vl_train_default_params(void) {
    return (struct vl_train_params){.rows = 32,
                                    .row_len = 64,
                                    .steps = 3000,
                                    .lr = 6e-4f,
                                    .lr_min = 0.05f,
                                    .warmup = 0.05f,
                                    .beta1 = 0.9f,
                                    .beta2 = 0.99f,
                                    .wd = 0.0f,
                                    .clip_share = 0.375f};
}

struct graph {
    struct ggml_context *ctx, *ctx_opt;
    ggml_backend_buffer_t buf, buf_opt;
    struct ggml_cgraph *gb;
    struct ggml_tensor *tokens, *pos, *mask, *sel, *labels, *pixels, *idx, *on, *loss, *adamw;
    int n_sel;
};

static void graph_free(struct graph *g) {
    if (g->buf)
        ggml_backend_buffer_free(g->buf);
    if (g->buf_opt)
        ggml_backend_buffer_free(g->buf_opt);
    if (g->ctx)
        ggml_free(g->ctx);
    if (g->ctx_opt)
        ggml_free(g->ctx_opt);
}

static int graph_build(struct graph *g, struct vl_model *m, const struct vl_train_params *p) {
    memset(g, 0, sizeof *g);
    const int T = p->row_len, B = p->rows, side = m->vit.hp.image;
    g->n_sel = B * ANSWER_MAX;
    struct ggml_init_params ip = {.mem_size = GRAPH_SIZE * ggml_tensor_overhead() + ggml_graph_overhead_custom(GRAPH_SIZE, true),
                                  .no_alloc = true};
    struct ggml_init_params op = {.mem_size = (size_t)(2 * m->n_all + 4) * ggml_tensor_overhead(), .no_alloc = true};
    if (!(g->ctx = ggml_init(ip)) || !(g->ctx_opt = ggml_init(op)))
        return -1;
    struct ggml_context *ctx = g->ctx;
    g->tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t)T * B);
    g->pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t)T * B);
    g->mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, T, T, 1, B);
    g->sel = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, g->n_sel);
    g->labels = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, m->lm.n_vocab, g->n_sel);
    g->pixels = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, side, side, 3, (int64_t)B * CLIP_FRAMES); /* a clip's slots a row */
    g->idx = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t)T * B);
    g->on = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, (int64_t)T * B);
    struct ggml_tensor *in[] = {g->tokens, g->pos, g->mask, g->sel, g->labels, g->pixels, g->idx, g->on};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        ggml_set_input(in[i]);
    struct grad_forward f = {.tokens = g->tokens, .pos = g->pos, .mask = g->mask, .sel = g->sel, .T = T, .B = B};
    struct ggml_tensor *img = vit_build(ctx, &m->vit, g->pixels, 1);
    f.probe_embd = vl_probe_embd(ctx, m, g->tokens, img, g->idx, g->on);
    struct ggml_tensor *logits = grad_forward_build(ctx, &m->lm.g, &f);
    g->loss = ggml_cross_entropy_loss(ctx, logits, g->labels);
    ggml_set_loss(g->loss);
    ggml_set_output(g->loss);
    g->gb = ggml_new_graph_custom(ctx, GRAPH_SIZE, true);
    ggml_build_forward_expand(g->gb, g->loss);
    ggml_build_backward_expand(ctx, g->gb, NULL);
    g->adamw = ggml_new_tensor_1d(g->ctx_opt, GGML_TYPE_F32, 7);
    for (int i = 0; i < m->n_all; i++) {
        struct ggml_tensor *w = m->all[i], *grad = ggml_graph_get_grad(g->gb, w);
        if (!grad)
            return -1;
        struct ggml_tensor *mo = ggml_dup_tensor(g->ctx_opt, w), *vo = ggml_dup_tensor(g->ctx_opt, w);
        ggml_build_forward_expand(g->gb, ggml_opt_step_adamw(ctx, w, grad, mo, vo, g->adamw));
    }
    if (!(g->buf_opt = ggml_backend_alloc_ctx_tensors(g->ctx_opt, m->lm.g.backend)) ||
        !(g->buf = ggml_backend_alloc_ctx_tensors(ctx, m->lm.g.backend)))
        return -1;
    ggml_backend_buffer_clear(g->buf_opt, 0);
    ggml_graph_reset(g->gb); /* the loss's gradient: 1 */
    return 0;
}

struct host {
    int32_t *tok, *pos, *sel, *idx;
    float *mask, *labels, *on, *pixels;
    uint8_t *rgb;
};

/* Fill one step's inputs from its examples; returns the number of answer tokens, or -1 when a
 * sequence does not fit its row (a message on progress). */
static int fill(struct graph *g, const struct vl_model *m, const struct vl_train_params *p, struct corpus *c,
                const struct scene_world *w, const struct scene_example *ex, struct host *h) {
    const int T = p->row_len, B = p->rows, P = vit_n_patches(&m->vit.hp), side = m->vit.hp.image;
    const size_t V = (size_t)m->lm.n_vocab;
    memset(h->tok, 0, sizeof *h->tok * (size_t)T * B);
    memset(h->sel, 0, sizeof *h->sel * (size_t)g->n_sel);
    memset(h->idx, 0, sizeof *h->idx * (size_t)T * B);
    memset(h->on, 0, sizeof *h->on * (size_t)T * B);
    memset(h->labels, 0, sizeof *h->labels * V * g->n_sel);
    int n_sel = 0;
    for (int r = 0; r < B; r++) {
        struct vl_seq s;
        const int n_img = ex[r].n_frames ? ex[r].n_frames : 1;
        char question[1024]; /* a description before the question, as the engine asks it */
        snprintf(question, sizeof question, "%s%s%s", ex[r].description ? ex[r].description : "",
                 ex[r].description ? "\n" : "", ex[r].question);
        int bad = vl_tokenize(c, P, n_img, question, ex[r].answer, &s);
        if (bad != 0 || s.n > T || s.n - s.n_prompt > ANSWER_MAX) {
            if (p->progress)
                fprintf(p->progress, "vlorganism: '%s' -> '%s' does not fit a row of %d tokens\n", ex[r].question,
                        ex[r].answer, T);
            vl_seq_free(&s);
            return -1;
        }
        for (int f = 0; f < n_img; f++)
            scene_render(w, ex[r].n_frames ? &ex[r].frame[f] : &ex[r].s,
                         h->rgb + ((size_t)r * CLIP_FRAMES + f) * side * side * 3);
        for (int t = 0; t < T; t++) {
            const size_t at = (size_t)r * T + t;
            h->tok[at] = t < s.n ? s.tok[t] : 0;
            h->pos[at] = t < s.n ? t : 0;
            for (int f = 0; f < n_img; f++)
                if (t >= s.img_at[f] && t < s.img_at[f] + P) {
                    h->idx[at] = (r * CLIP_FRAMES + f) * P + (t - s.img_at[f]);
                    h->on[at] = 1.0f;
                }
            if (t + 1 >= s.n_prompt && t + 1 < s.n) { /* predicts an answer token */
                h->sel[n_sel] = (int32_t)at;
                h->labels[(size_t)n_sel++ * V + s.tok[t + 1]] = 1.0f;
            }
            for (int k = 0; k < T; k++) /* causal within the sequence; padding sees only itself */
                h->mask[at * T + k] = (t < s.n ? k <= t : k == t) ? 0.0f : -INFINITY;
        }
        vl_seq_free(&s);
    }
    vit_preprocess(&m->vit.hp, h->rgb, B * CLIP_FRAMES, h->pixels);
    ggml_backend_tensor_set(g->tokens, h->tok, 0, ggml_nbytes(g->tokens));
    ggml_backend_tensor_set(g->pos, h->pos, 0, ggml_nbytes(g->pos));
    ggml_backend_tensor_set(g->mask, h->mask, 0, ggml_nbytes(g->mask));
    ggml_backend_tensor_set(g->sel, h->sel, 0, ggml_nbytes(g->sel));
    ggml_backend_tensor_set(g->labels, h->labels, 0, ggml_nbytes(g->labels));
    ggml_backend_tensor_set(g->pixels, h->pixels, 0, ggml_nbytes(g->pixels));
    ggml_backend_tensor_set(g->idx, h->idx, 0, ggml_nbytes(g->idx));
    ggml_backend_tensor_set(g->on, h->on, 0, ggml_nbytes(g->on));
    return n_sel;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double vl_train(struct vl_model *m, const struct scene_world *w, struct corpus *c, const struct vl_train_params *p) {
    const int T = p->row_len, B = p->rows, side = m->vit.hp.image;
    struct graph g;
    struct host h = {0};
    double result = -1, tail_loss = 0;
    long tail_tok = 0;
    if (graph_build(&g, m, p) != 0) {
        if (p->progress)
            fprintf(p->progress, "vlorganism: cannot build the training graph (out of memory?)\n");
        goto out;
    }
    h.tok = malloc(sizeof *h.tok * (size_t)T * B);
    h.pos = malloc(sizeof *h.pos * (size_t)T * B);
    h.idx = malloc(sizeof *h.idx * (size_t)T * B);
    h.sel = malloc(sizeof *h.sel * (size_t)g.n_sel);
    h.mask = malloc(sizeof *h.mask * (size_t)T * T * B);
    h.on = malloc(sizeof *h.on * (size_t)T * B);
    h.labels = malloc(sizeof *h.labels * (size_t)m->lm.n_vocab * g.n_sel);
    h.pixels = malloc(sizeof *h.pixels * (size_t)side * side * 3 * B * CLIP_FRAMES);
    h.rgb = malloc((size_t)side * side * 3 * B * CLIP_FRAMES); /* a picture's row leaves its other slots unread */
    if (!h.tok || !h.pos || !h.idx || !h.sel || !h.mask || !h.on || !h.labels || !h.pixels || !h.rgb)
        goto out;
    const long warm = (long)(p->warmup * p->steps) > 0 ? (long)(p->warmup * p->steps) : 1;
    const double t0 = now();
    double window = 0;
    long window_tok = 0;
    for (long step = 0; step < p->steps; step++) {
        struct scene_example *ex, *clips = NULL;
        /* a curriculum: one object per picture in the first 40 % of the steps (where colour,
         * shape, size and place are learnt: with 1 to 3 objects from the start the joint model
         * stayed at the blind prior for 1500 steps), then 1 to 3; a quarter of the rows are
         * clips (clip_share) after the first fifth */
        const int n_clips = step >= p->steps / 5 ? (int)(B * p->clip_share) : 0;
        if (scene_training(w, (uint64_t)step, (size_t)B, step < p->steps * 2 / 5 ? 1 : 3, &ex) != 0)
            goto out;
        if (n_clips && scene_clips(w, (uint64_t)step, (size_t)n_clips, &clips) != 0) {
            scene_examples_free(ex, (size_t)B);
            goto out;
        }
        for (int r = 0; r < n_clips; r++) { /* the last rows: clips */
            struct scene_example *e = &ex[B - 1 - r];
            free(e->question);
            free(e->answer);
            free(e->description);
            *e = clips[r];
        }
        free(clips); /* its strings now belong to ex */
        int n = fill(&g, m, p, c, w, ex, &h);
        scene_examples_free(ex, (size_t)B);
        if (n < 0)
            goto out;
        double lr = step < warm ? p->lr * (step + 1.0) / warm
                                : p->lr * (p->lr_min + (1 - p->lr_min) * 0.5 *
                                                           (1 + cos(3.14159265358979323846 * (step - warm) /
                                                                    (double)(p->steps - warm))));
        float ap[7] = {(float)lr, p->beta1, p->beta2, 1e-8f, p->wd, (float)(1.0 / (1.0 - pow(p->beta1, step + 1.0))),
                       (float)(1.0 / (1.0 - pow(p->beta2, step + 1.0)))};
        ggml_backend_tensor_set(g.adamw, ap, 0, sizeof ap);
        if (ggml_backend_graph_compute(m->lm.g.backend, g.gb) != GGML_STATUS_SUCCESS)
            goto out;
        float loss;
        ggml_backend_tensor_get(g.loss, &loss, 0, sizeof loss);
        double per_token = n ? (double)loss * g.n_sel / n : 0;
        if (!isfinite(per_token)) {
            if (p->progress)
                fprintf(p->progress, "vlorganism: the loss diverged at step %ld (lr %.2g)\n", step, lr);
            goto out;
        }
        if (p->curve)
            fprintf(p->curve, "%ld\t%.6g\t%.6f\n", step, lr, per_token);
        window += per_token * n;
        window_tok += n;
        if (step >= p->steps - p->steps / 10 - 1) {
            tail_loss += per_token * n;
            tail_tok += n;
        }
        if (p->progress && ((step + 1) % 100 == 0 || step + 1 == p->steps)) {
            fprintf(p->progress, "  step %ld/%d  loss %.4f  lr %.2e  %.0f s\n", step + 1, p->steps,
                    window_tok ? window / window_tok : 0, lr, now() - t0);
            window = 0;
            window_tok = 0;
        }
    }
    result = tail_tok ? tail_loss / tail_tok : 0;
out:
    free(h.tok);
    free(h.pos);
    free(h.idx);
    free(h.sel);
    free(h.mask);
    free(h.on);
    free(h.labels);
    free(h.pixels);
    free(h.rgb);
    graph_free(&g);
    return result;
}
