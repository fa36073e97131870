/* sps.c - the semantic preservation score (SPS): which hidden states keep a question's meaning
 * and drop its wording. For prompts grouped by meaning (paraphrases of one question), each
 * layer's output at each position near the prompt's end is compared by cosine similarity:
 *   SPS(l, o) = mean cos(h_l,o(a), h_l,o(b)) over pairs of paraphrases of one question
 *             - mean cos(h_l,o(a), h_l,o(b)) over pairs of different questions
 * (o counted from the prompt's end, -1 its last token). A state that encodes the meaning is
 * close for paraphrases and far for other questions; the SemGrad paper reads its gradients
 * there. The states come from the own graph's forward pass (grad/model.h), which test_grad
 * checks against llama.cpp's. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ggml-alloc.h>

#include "core/status.h"
#include "grad/model.h"
#include "umpire.h"

/* Every layer's output at the last n_off positions of one prompt, L2-normalised, into
 * h[(il * n_off + j) * d] (j = 0: the last token). */
static int prompt_states(const struct grad_model *m, const int32_t *tok, int n, int n_off,
                         float *h) {
    const int L = m->hp.n_layer, d = m->hp.n_embd;
    const size_t graph_size = (size_t)64 * L + 256;
    struct ggml_init_params ip = {.mem_size = graph_size * ggml_tensor_overhead() +
                                              ggml_graph_overhead_custom(graph_size, false),
                                  .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_tensor **outs = calloc((size_t)L, sizeof *outs);
    int32_t *pos = malloc((size_t)n * sizeof *pos);
    float *mask = malloc((size_t)n * n * sizeof *mask);
    ggml_backend_buffer_t buf = NULL;
    int rc = -1;
    if (!ctx || !outs || !pos || !mask)
        goto out;
    struct grad_forward f = {.T = n, .B = 1, .layer_out = outs};
    f.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    f.mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n, n, 1, 1);
    grad_forward_build(ctx, m, &f);
    struct ggml_cgraph *gf = ggml_new_graph_custom(ctx, graph_size, false);
    for (int il = 0; il < L; il++)
        ggml_build_forward_expand(gf, outs[il]);
    if (!(buf = ggml_backend_alloc_ctx_tensors(ctx, m->backend)))
        goto out;
    grad_forward_fill_causal(&f, tok, pos, mask);
    if (ggml_backend_graph_compute(m->backend, gf) != GGML_STATUS_SUCCESS)
        goto out;
    for (int il = 0; il < L; il++)
        for (int j = 0; j < n_off; j++) {
            float *row = h + ((size_t)il * n_off + j) * d;
            ggml_backend_tensor_get(outs[il], row, (size_t)(n - 1 - j) * d * sizeof(float),
                                    (size_t)d * sizeof(float));
            double s = 0;
            for (int k = 0; k < d; k++)
                s += (double)row[k] * row[k];
            const double inv = s > 0 ? 1 / sqrt(s) : 0;
            for (int k = 0; k < d; k++)
                row[k] = (float)(row[k] * inv);
        }
    rc = 0;
out:
    if (buf)
        ggml_backend_buffer_free(buf);
    if (ctx)
        ggml_free(ctx);
    free(outs);
    free(pos);
    free(mask);
    return rc;
}

int umpire_grad_sps(const struct umpire_grad_model *g, const int32_t *const *prompts,
                    const size_t *n_tokens, const size_t *group, size_t n, int n_offsets,
                    double *sps, char *err) {
    const struct grad_model *m = &g->m;
    const int L = m->hp.n_layer, d = m->hp.n_embd;
    if (n_offsets < 1)
        return umpire_fail(err, UMPIRE_EINVAL, "sps: at least one position");
    for (size_t i = 0; i < n; i++)
        if (n_tokens[i] < (size_t)n_offsets)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "sps: prompt %zu has %zu tokens, fewer than the %d positions", i,
                               n_tokens[i], n_offsets);
    size_t n_intra = 0, n_inter = 0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            group[a] == group[b] ? n_intra++ : n_inter++;
    if (!n_intra || !n_inter)
        return umpire_fail(
            err, UMPIRE_EINVAL,
            "sps: needs two paraphrases of one question and two different questions (%zu same, %zu "
            "different pairs)",
            n_intra, n_inter);
    const size_t per = (size_t)L * n_offsets * d;
    float *h = malloc(n * per * sizeof *h);
    if (!h)
        return umpire_fail(err, UMPIRE_ENOMEM, "sps: out of memory (%zu prompts)", n);
    for (size_t i = 0; i < n; i++)
        if (prompt_states(m, prompts[i], (int)n_tokens[i], n_offsets, h + i * per) != 0) {
            free(h);
            return umpire_fail(err, UMPIRE_ENOMEM,
                               "sps: prompt %zu: the forward pass failed (out of memory?)", i);
        }
    for (int il = 0; il < L; il++)
        for (int j = 0; j < n_offsets; j++) {
            double intra = 0, inter = 0;
            const size_t at = ((size_t)il * n_offsets + j) * d;
            for (size_t a = 0; a < n; a++)
                for (size_t b = a + 1; b < n; b++) {
                    double c = 0;
                    for (int k = 0; k < d; k++)
                        c += (double)h[a * per + at + k] * h[b * per + at + k];
                    if (group[a] == group[b])
                        intra += c;
                    else
                        inter += c;
                }
            sps[(size_t)il * n_offsets + j] = intra / n_intra - inter / n_inter;
        }
    free(h);
    return UMPIRE_OK;
}
