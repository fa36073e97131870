/* train.c - AdamW training of the organism on packed rows (see train.h). */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ggml-cpu.h>

#define GRAPH_SIZE 16384

struct train_params train_default_params(void) {
    return (struct train_params){.rows = 16,
                                 .row_len = 64,
                                 .lr = 1e-3f,
                                 .lr_min = 0.1f,
                                 .warmup = 0.05f,
                                 .beta1 = 0.9f,
                                 .beta2 = 0.99f,
                                 .wd = 0.0f};
}

/* a batch: rows of whole sequences; row r holds seqs first[r] .. first[r+1]-1 */
struct batch {
    size_t *first; /* rows + 1 entries, indices into the epoch's sequences */
    int n_rows;
};

/* Greedy packing in order; returns the number of batches, their rows in *out. */
static int pack(const struct train_params *p, const struct seq *s, size_t n, struct batch **out) {
    size_t cap_rows = n + 1, n_rows = 0;
    size_t *row_start = malloc((cap_rows + 1) * sizeof *row_start);
    if (!row_start)
        return -1;
    int used = p->row_len, labels = 0; /* a row holds at most row_len / 4 answer tokens */
    for (size_t i = 0; i < n; i++) {
        int n_labels = s[i].n - s[i].n_prompt;
        if (s[i].n > p->row_len || n_labels > p->row_len / 4) {
            free(row_start);
            return -2;
        }
        if (used + s[i].n > p->row_len || labels + n_labels > p->row_len / 4) {
            row_start[n_rows++] = i;
            used = labels = 0;
        }
        used += s[i].n;
        labels += n_labels;
    }
    row_start[n_rows] = n;
    int n_batches = (int)((n_rows + (size_t)p->rows - 1) / (size_t)p->rows);
    struct batch *b = calloc((size_t)n_batches + 1, sizeof *b);
    if (!b) {
        free(row_start);
        return -1;
    }
    for (int k = 0; k < n_batches; k++) {
        size_t r0 = (size_t)k * (size_t)p->rows, r1 = r0 + (size_t)p->rows < n_rows ? r0 + (size_t)p->rows : n_rows;
        b[k].n_rows = (int)(r1 - r0);
        if (!(b[k].first = malloc((r1 - r0 + 1) * sizeof *b[k].first))) {
            for (int j = 0; j < k; j++)
                free(b[j].first);
            free(b);
            free(row_start);
            return -1;
        }
        memcpy(b[k].first, row_start + r0, (r1 - r0 + 1) * sizeof *row_start);
    }
    free(row_start);
    *out = b;
    return n_batches;
}

struct graph {
    struct ggml_context *ctx, *ctx_opt;
    ggml_backend_buffer_t buf, buf_opt;
    struct ggml_cgraph *gb;
    struct ggml_tensor *tokens, *pos, *mask, *sel, *labels, *loss, *adamw;
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

static int graph_build(struct graph *g, struct organism_model *m, const struct train_params *p) {
    memset(g, 0, sizeof *g);
    const int T = p->row_len, B = p->rows;
    g->n_sel = B * (T / 4);
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
    g->labels = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, m->n_vocab, g->n_sel);
    struct ggml_tensor *in[] = {g->tokens, g->pos, g->mask, g->sel, g->labels};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        ggml_set_input(in[i]);
    struct grad_forward f = {.tokens = g->tokens, .pos = g->pos, .mask = g->mask, .sel = g->sel, .T = T, .B = B};
    struct ggml_tensor *logits = grad_forward_build(ctx, &m->g, &f);
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
    if (!(g->buf_opt = ggml_backend_alloc_ctx_tensors(g->ctx_opt, m->g.backend)) ||
        !(g->buf = ggml_backend_alloc_ctx_tensors(ctx, m->g.backend)))
        return -1;
    ggml_backend_buffer_clear(g->buf_opt, 0);
    ggml_graph_reset(g->gb); /* the loss's gradient: 1 */
    return 0;
}

/* Fill the inputs for one batch; returns the number of answer tokens in it. */
static int fill(struct graph *g, const struct organism_model *m, const struct train_params *p, const struct seq *s,
                const struct batch *b, int32_t *tok, int32_t *pos, float *mask, int32_t *sel, float *labels, int *seg) {
    const int T = p->row_len, B = p->rows;
    memset(tok, 0, sizeof *tok * (size_t)T * B);
    memset(sel, 0, sizeof *sel * (size_t)g->n_sel);
    memset(labels, 0, sizeof *labels * (size_t)m->n_vocab * g->n_sel);
    int n_sel = 0;
    for (int r = 0; r < B; r++) {
        int at = 0;
        for (size_t i = r < b->n_rows ? b->first[r] : 0; r < b->n_rows && i < b->first[r + 1]; i++) {
            for (int t = 0; t < s[i].n; t++) {
                tok[r * T + at + t] = s[i].tok[t];
                pos[r * T + at + t] = t;
                seg[at + t] = (int)i;
                if (t + 1 >= s[i].n_prompt && t + 1 < s[i].n) { /* predicts an answer token */
                    sel[n_sel] = r * T + at + t;
                    labels[(size_t)n_sel++ * m->n_vocab + s[i].tok[t + 1]] = 1.0f;
                }
            }
            at += s[i].n;
        }
        for (int t = at; t < T; t++)
            pos[r * T + t] = 0, seg[t] = -1 - t; /* padding attends only to itself */
        for (int qi = 0; qi < T; qi++)
            for (int kj = 0; kj < T; kj++)
                mask[((size_t)r * T + qi) * T + kj] = kj <= qi && seg[kj] == seg[qi] ? 0.0f : -INFINITY;
    }
    ggml_backend_tensor_set(g->tokens, tok, 0, ggml_nbytes(g->tokens));
    ggml_backend_tensor_set(g->pos, pos, 0, ggml_nbytes(g->pos));
    ggml_backend_tensor_set(g->mask, mask, 0, ggml_nbytes(g->mask));
    ggml_backend_tensor_set(g->sel, sel, 0, ggml_nbytes(g->sel));
    ggml_backend_tensor_set(g->labels, labels, 0, ggml_nbytes(g->labels));
    return n_sel;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double train_run(struct organism_model *m, const struct train_params *p, struct seq **epochs, const size_t *n_seqs,
                 int n_epochs) {
    struct batch **batches = calloc((size_t)n_epochs, sizeof *batches);
    int *n_batches = calloc((size_t)n_epochs, sizeof *n_batches);
    long total = 0;
    double result = -1;
    struct graph g;
    memset(&g, 0, sizeof g);
    const int T = p->row_len, B = p->rows;
    int32_t *tok = NULL, *pos = NULL, *sel = NULL;
    float *mask = NULL, *labels = NULL;
    int *seg = NULL;
    if (!batches || !n_batches)
        goto out;
    for (int e = 0; e < n_epochs; e++) {
        if ((n_batches[e] = pack(p, epochs[e], n_seqs[e], &batches[e])) < 0) {
            if (n_batches[e] == -2 && p->progress)
                fprintf(p->progress, "organism: a training sequence does not fit a row of %d tokens\n", T);
            goto out;
        }
        total += n_batches[e];
    }
    if (graph_build(&g, m, p) != 0) {
        if (p->progress)
            fprintf(p->progress, "organism: cannot build the training graph (out of memory?)\n");
        goto out;
    }
    tok = malloc(sizeof *tok * (size_t)T * B);
    pos = malloc(sizeof *pos * (size_t)T * B);
    sel = malloc(sizeof *sel * (size_t)g.n_sel);
    mask = malloc(sizeof *mask * (size_t)T * T * B);
    labels = malloc(sizeof *labels * (size_t)m->n_vocab * g.n_sel);
    seg = malloc(sizeof *seg * (size_t)T);
    if (!tok || !pos || !sel || !mask || !labels || !seg)
        goto out;
    const int tty = p->progress && isatty(fileno(p->progress));
    const long warm = (long)(p->warmup * total) > 0 ? (long)(p->warmup * total) : 1;
    long step = 0;
    double t0 = now(), epoch_loss = 0;
    for (int e = 0; e < n_epochs; e++) {
        double loss_sum = 0;
        long n_tok = 0;
        for (int k = 0; k < n_batches[e]; k++, step++) {
            int n = fill(&g, m, p, epochs[e], &batches[e][k], tok, pos, mask, sel, labels, seg);
            double lr = step < warm ? p->lr * (step + 1.0) / warm
                                    : p->lr * (p->lr_min + (1 - p->lr_min) * 0.5 *
                                                               (1 + cos(3.14159265358979323846 * (step - warm) / (double)(total - warm))));
            float ap[7] = {(float)lr, p->beta1, p->beta2, 1e-8f, p->wd,
                           (float)(1.0 / (1.0 - pow(p->beta1, step + 1.0))),
                           (float)(1.0 / (1.0 - pow(p->beta2, step + 1.0)))};
            ggml_backend_tensor_set(g.adamw, ap, 0, sizeof ap);
            if (ggml_backend_graph_compute(m->g.backend, g.gb) != GGML_STATUS_SUCCESS)
                goto out;
            float loss;
            ggml_backend_tensor_get(g.loss, &loss, 0, sizeof loss);
            double per_token = n ? (double)loss * g.n_sel / n : 0;
            if (!isfinite(per_token)) {
                if (p->progress)
                    fprintf(p->progress, "organism: the loss diverged at step %ld (lr %.2g)\n", step, lr);
                goto out;
            }
            loss_sum += per_token * n;
            n_tok += n;
            if (p->curve)
                fprintf(p->curve, "%ld\t%.6g\t%.6f\n", step, lr, per_token);
            if (tty)
                fprintf(p->progress, "\r  epoch %d/%d  step %ld/%ld  loss %.4f  lr %.2e  %4.0f s ", e + 1, n_epochs,
                        step + 1, total, per_token, lr, now() - t0);
        }
        epoch_loss = n_tok ? loss_sum / n_tok : 0;
        if (p->progress)
            fprintf(p->progress, "%s  epoch %d/%d  loss %.4f  (%ld steps, %.0f s)%s\n", tty ? "\r" : "", e + 1,
                    n_epochs, epoch_loss, step, now() - t0, tty ? "            " : "");
    }
    result = epoch_loss;
out:
    for (int e = 0; batches && e < n_epochs; e++) {
        for (int k = 0; batches[e] && k < n_batches[e]; k++)
            free(batches[e][k].first);
        free(batches[e]);
    }
    free(batches);
    free(n_batches);
    free(tok);
    free(pos);
    free(sel);
    free(mask);
    free(labels);
    free(seg);
    graph_free(&g);
    return result;
}
