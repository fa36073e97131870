/* semgrad.c - one answer's gradient scores through the own graph (see semgrad.h).
 *
 * The graph is built once per item (its length is the item's): forward to the answer rows'
 * logits z, then S = sum(z * G) with G an input. Autodiff of S with G = dL/dz (computed from
 * the forward's z, core/gradscore.c) is the gradient of L, with H_t held constant as the
 * reference holds it. The forward nodes run first, G is filled in, then only the backward nodes
 * run (every tensor keeps its own memory, so the forward's values are still there). */
#define _POSIX_C_SOURCE 200809L
#include "grad/semgrad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ggml-alloc.h>

#include "core/gradscore.h"
#include "core/status.h"

struct grad_item_params grad_item_default_params(void) {
    return (struct grad_item_params){
        .position = 0, .weighted = 1, .layer_first = -1, .layer_last = -1, .embd = NULL, .embd_at = NULL};
}

/* The input rows' offsets from the token embeddings that make media rows the given embeddings:
 * delta[i] = embd[i] - token_embd[tok[i]] where embd_at[i] (the graph adds it to the row it
 * looks up, so the row is embd[i] to a rounding), 0 elsewhere. The looked-up row is
 * dequantised as ggml's get_rows dequantises it. Returns 0, UMPIRE_EINVAL (a type without a
 * conversion to float) or UMPIRE_ENOMEM. */
static int media_offsets(const struct grad_model *m, const int32_t *tok, int n, const struct grad_item_params *p,
                         float *delta) {
    const struct ggml_tensor *w = m->tok_embd;
    const size_t d = (size_t)m->hp.n_embd, nb = w->nb[1];
    const struct ggml_type_traits *tt = ggml_get_type_traits(w->type);
    void *raw = malloc(nb);
    float *row = malloc(d * sizeof *row);
    int rc = w->type != GGML_TYPE_F32 && !tt->to_float ? UMPIRE_EINVAL : raw && row ? UMPIRE_OK : UMPIRE_ENOMEM;
    for (int i = 0; i < n && rc == UMPIRE_OK; i++) {
        float *out = delta + (size_t)i * d;
        if (!p->embd_at[i]) {
            memset(out, 0, d * sizeof *out);
            continue;
        }
        ggml_backend_tensor_get((struct ggml_tensor *)w, raw, (size_t)tok[i] * nb, nb);
        if (w->type == GGML_TYPE_F32)
            memcpy(row, raw, d * sizeof *row);
        else
            tt->to_float(raw, row, (int64_t)d);
        for (size_t j = 0; j < d; j++)
            out[j] = p->embd[(size_t)i * d + j] - row[j];
    }
    free(raw);
    free(row);
    return rc;
}

int grad_item_score(const struct grad_model *m, const int32_t *tok, int n, int n_prompt,
                    const struct grad_item_params *p, struct grad_item_result *r, char *err) {
    memset(r, 0, sizeof *r);
    r->exgrad_autodiff = NAN;
    const struct grad_hparams *hp = &m->hp;
    const int n_ans = n - n_prompt;
    if (n_prompt < 1 || n_ans < 1)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores: need a prompt and an answer of at least one token");
    if (p->position < 0 || p->position >= n_prompt)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores: position %d is outside the prompt (0..%d)",
                           p->position, n_prompt - 1);
    int first = p->layer_first, last = p->layer_last;
    if (first < 0 && last < 0 && umpire_grad_layers(hp->n_layer, &first, &last) == 0)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores: the model has %d layer(s); SemGrad needs 2 or more",
                           hp->n_layer);
    if (first < 0 || last < first || last >= hp->n_layer)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores: layers %d..%d are outside the model's 0..%d", first,
                           last, hp->n_layer - 1);
    r->layer_first = first;
    r->layer_last = last;
    for (int i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= hp->n_vocab)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "gradient scores: token %d (%d) is outside the vocabulary", i,
                               (int)tok[i]);

    const size_t graph_size = (size_t)160 * hp->n_layer + 1024;
    struct ggml_init_params ip = {.mem_size = 3 * graph_size * ggml_tensor_overhead() +
                                              ggml_graph_overhead_custom(graph_size, true) +
                                              2 * ggml_graph_overhead_custom(graph_size, false),
                                  .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_tensor **probe = calloc((size_t)hp->n_layer, sizeof *probe);
    const size_t V = (size_t)hp->n_vocab, d = (size_t)hp->n_embd,
                 n_sel_layers = (size_t)(last - first + 1);
    int32_t *pos = malloc((size_t)n * sizeof *pos), *sel = malloc((size_t)n_ans * sizeof *sel);
    float *mask = malloc((size_t)n * n * sizeof *mask);
    float *z = malloc(V * n_ans * sizeof *z), *dz = malloc(V * n_ans * sizeof *dz);
    float *h = malloc(d * n_ans * sizeof *h), *row = malloc(d * sizeof *row);
    float *ge = m->output == m->tok_embd ? malloc(d * (size_t)n * sizeof *ge) : NULL;
    float *delta = p->embd ? malloc(d * (size_t)n * sizeof *delta) : NULL;
    r->hidden_grad = malloc(n_sel_layers * d * sizeof *r->hidden_grad);
    ggml_backend_buffer_t buf = NULL;
    int rc = UMPIRE_ENOMEM;
    if (!ctx || !probe || !pos || !sel || !mask || !z || !dz || !h || !row || !r->hidden_grad ||
        (m->output == m->tok_embd && !ge) || (p->embd && !delta))
        goto out;

    struct grad_forward f = {.T = n, .B = 1, .probe = probe};
    f.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n, n, 1, 1);
    f.sel = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_ans);
    for (int il = first; il <= last; il++) {
        probe[il] = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp->n_embd, n);
        ggml_set_param(probe[il]);
    }
    /* tied embeddings: W_out is token_embd, and the reference's gradient of it (autograd of
     * the one shared tensor) also holds the path through the input embeddings */
    const int tied = m->output == m->tok_embd;
    if (tied || p->embd) { /* media rows enter as offsets from their placeholder tokens' rows */
        f.probe_embd = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp->n_embd, n);
        if (tied)
            ggml_set_param(f.probe_embd);
    }
    struct ggml_tensor *G = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp->n_vocab, n_ans);
    struct ggml_tensor *logits = grad_forward_build(ctx, m, &f);
    struct ggml_tensor *S = ggml_sum(ctx, ggml_mul(ctx, logits, G));
    ggml_set_loss(S);
    /* the output matrix as a parameter for the autodiff check; its flag is put back at once */
    struct ggml_tensor *w_out = m->output;
    const int32_t out_flags = w_out->flags;
    if (p->exgrad_autodiff)
        ggml_set_param(w_out);
    struct ggml_cgraph *gf = ggml_new_graph_custom(ctx, graph_size, false);
    ggml_build_forward_expand(gf, S);
    ggml_build_forward_expand(gf, f.hidden);
    struct ggml_cgraph *gb = ggml_new_graph_custom(ctx, graph_size, true);
    ggml_build_forward_expand(gb, S);
    ggml_build_forward_expand(gb, f.hidden);
    const int n_forward = ggml_graph_n_nodes(gb);
    ggml_build_backward_expand(ctx, gb, NULL);
    w_out->flags = out_flags;
    struct ggml_cgraph *gback = ggml_new_graph_custom(ctx, graph_size, false);
    for (int i = n_forward; i < ggml_graph_n_nodes(gb); i++)
        ggml_graph_add_node(gback, ggml_graph_node(gb, i));
    if (!(buf = ggml_backend_alloc_ctx_tensors(ctx, m->backend)))
        goto out;
    ggml_backend_buffer_clear(buf, 0); /* probes: 0 */
    ggml_graph_reset(gb);              /* dS/dS = 1 */
    if (p->embd) { /* (a gradient does not depend on the point an addend is at) */
        if ((rc = media_offsets(m, tok, n, p, delta)) != UMPIRE_OK)
            goto out;
        ggml_backend_tensor_set(f.probe_embd, delta, 0, ggml_nbytes(f.probe_embd));
    }
    for (int i = 0; i < n_ans; i++)
        sel[i] = n_prompt - 1 + i;
    ggml_backend_tensor_set(f.sel, sel, 0, ggml_nbytes(f.sel));
    grad_forward_fill_causal(&f, tok, pos, mask);
    rc = UMPIRE_ENUM;
    if (ggml_backend_graph_compute(m->backend, gf) != GGML_STATUS_SUCCESS)
        goto out;
    ggml_backend_tensor_get(logits, z, 0, ggml_nbytes(logits));
    ggml_backend_tensor_get(f.hidden, h, 0, ggml_nbytes(f.hidden));
    struct umpire_grad_loss L;
    if (umpire_grad_loss(z, tok + n_prompt, (size_t)n_ans, V, p->weighted, dz, &L) != 0)
        goto out;
    r->loss = L.loss;
    r->mean_entropy = L.mean_entropy;
    ggml_backend_tensor_set(G, dz, 0, ggml_nbytes(G));
    if (ggml_backend_graph_compute(m->backend, gback) != GGML_STATUS_SUCCESS)
        goto out;
    for (int il = first; il <= last; il++) {
        struct ggml_tensor *g = ggml_graph_get_grad(gb, probe[il]);
        if (!g)
            goto out;
        ggml_backend_tensor_get(g, r->hidden_grad + (size_t)(il - first) * d,
                                (size_t)p->position * d * sizeof(float), d * sizeof(float));
    }
    r->semgrad = umpire_grad_mean_abs(r->hidden_grad, n_sel_layers * d);
    if (tied) {
        struct ggml_tensor *g = ggml_graph_get_grad(gb, f.probe_embd);
        if (!g)
            goto out;
        ggml_backend_tensor_get(g, ge, 0, ggml_nbytes(g));
        for (int i = 0; p->embd && i < n; i++) /* a media row is no token's: no part of W_out's gradient */
            if (p->embd_at[i])
                memset(ge + (size_t)i * d, 0, d * sizeof *ge);
    }
    r->exgrad = umpire_grad_exgrad(dz, h, (size_t)n_ans, V, d, tok, ge, tied ? (size_t)n : 0);
    r->hybridgrad = umpire_grad_hybrid(r->exgrad, r->semgrad, r->mean_entropy);
    if (p->exgrad_autodiff) {
        struct ggml_tensor *g = ggml_graph_get_grad(gb, w_out);
        if (!g)
            goto out;
        double s = 0;
        for (size_t v = 0; v < V; v++) {
            ggml_backend_tensor_get(g, row, v * d * sizeof(float), d * sizeof(float));
            s += umpire_grad_mean_abs(row, d) * (double)d;
        }
        r->exgrad_autodiff = s / ((double)V * (double)d);
    }
    rc = isfinite(r->semgrad) && isfinite(r->exgrad) ? UMPIRE_OK : UMPIRE_ENUM;
out:
    if (rc != UMPIRE_OK) {
        free(r->hidden_grad);
        r->hidden_grad = NULL;
        if (rc == UMPIRE_ENOMEM)
            umpire_fail(err, rc, "gradient scores: out of memory (%d tokens)", n);
        else if (rc == UMPIRE_EINVAL)
            umpire_fail(err, rc, "gradient scores: the token embeddings' type (%s) cannot be read back for media rows",
                        ggml_type_name(m->tok_embd->type));
        else
            umpire_fail(err, rc, "gradient scores: the graph could not be computed");
    }
    if (buf)
        ggml_backend_buffer_free(buf);
    if (ctx)
        ggml_free(ctx);
    free(probe);
    free(pos);
    free(sel);
    free(mask);
    free(z);
    free(dz);
    free(h);
    free(row);
    free(ge);
    free(delta);
    return rc;
}
