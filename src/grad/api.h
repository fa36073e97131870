/* api.h - what the engine asks of the gradient graph beyond umpire.h (api.c). */
#ifndef UMPIRE_GRAD_API_H
#define UMPIRE_GRAD_API_H

#include <stddef.h>
#include <stdint.h>

#include "umpire.h"

/* umpire_grad_score with media rows: where embd_at[i] is set (embd_at NULL: nowhere), row i's
 * input is embd[i * n_embd ..], the projector's embedding of an image or audio position, in
 * place of token i's embedding (tokens[i] is then a placeholder, any token). */
int grad_score_inputs(const struct umpire_grad_model *m, const int32_t *tokens, size_t n, size_t n_prompt,
                      const float *embd, const unsigned char *embd_at, const struct umpire_grad_params *p,
                      struct umpire_grad_scores *out, char *err);

#endif
