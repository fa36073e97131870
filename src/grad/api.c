/* api.c - the gradient scores' public face (umpire.h): a loaded model and one answer's scores
 * over grad/model.h and grad/semgrad.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gradscore.h"
#include "core/status.h"
#include "grad/api.h"
#include "grad/model.h"
#include "grad/semgrad.h"
#include "umpire.h"

int umpire_grad_model_load(const char *path, int n_threads, struct umpire_grad_model **out,
                           char *err) {
    *out = NULL;
    struct umpire_grad_model *g = malloc(sizeof *g);
    if (!g)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (n_threads <= 0) { /* 0: all cores, as the engine's */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    int rc = grad_model_load(&g->m, path, n_threads, err);
    if (rc != UMPIRE_OK) {
        free(g);
        return rc;
    }
    *out = g;
    return UMPIRE_OK;
}

void umpire_grad_model_free(struct umpire_grad_model *m) {
    if (!m)
        return;
    grad_model_free(&m->m);
    free(m);
}

int umpire_grad_model_n_layer(const struct umpire_grad_model *m) { return m->m.hp.n_layer; }

void umpire_grad_model_layers(const struct umpire_grad_model *m, int *first, int *last) {
    if (umpire_grad_layers(m->m.hp.n_layer, first, last) == 0)
        *first = *last = -1;
}

struct umpire_grad_params umpire_grad_default_params(void) {
    return (struct umpire_grad_params){
        .position = 0, .weighted = 1, .layer_first = -1, .layer_last = -1};
}

int umpire_grad_template_position(const char *t) {
    static const struct {
        const char *marker;
        int position;
    } families[] = {
        {"<|start_header_id|>", -4}, {"<|im_start|>", -3}, {"[/INST]", -2}, {"<|assistant|>", -2}};
    for (size_t i = 0; t && i < sizeof families / sizeof *families; i++)
        if (strstr(t, families[i].marker))
            return families[i].position;
    return -1;
}

int grad_score_inputs(const struct umpire_grad_model *m, const int32_t *tokens, size_t n, size_t n_prompt,
                      const float *embd, const unsigned char *embd_at, const struct umpire_grad_params *p,
                      struct umpire_grad_scores *out, char *err) {
    memset(out, 0, sizeof *out);
    if (n_prompt > n || n > INT32_MAX)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores: %zu tokens, of which %zu the prompt", n, n_prompt);
    const int offset = p->position ? p->position : -1;
    struct grad_item_params ip = grad_item_default_params();
    ip.position = (int)n_prompt + offset;
    ip.weighted = p->weighted;
    ip.layer_first = p->layer_first;
    ip.layer_last = p->layer_last;
    ip.embd = embd;
    ip.embd_at = embd_at;
    struct grad_item_result r;
    int rc = grad_item_score(&m->m, tokens, (int)n, (int)n_prompt, &ip, &r, err);
    if (rc != UMPIRE_OK)
        return rc;
    free(r.hidden_grad);
    *out = (struct umpire_grad_scores){.semgrad = r.semgrad,
                                       .exgrad = r.exgrad,
                                       .hybridgrad = r.hybridgrad,
                                       .loss = r.loss,
                                       .mean_entropy = r.mean_entropy};
    return UMPIRE_OK;
}

int umpire_grad_score(const struct umpire_grad_model *m, const int32_t *tokens, size_t n, size_t n_prompt,
                      const struct umpire_grad_params *p, struct umpire_grad_scores *out, char *err) {
    return grad_score_inputs(m, tokens, n, n_prompt, NULL, NULL, p, out, err);
}
