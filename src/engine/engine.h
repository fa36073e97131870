/* engine.h - what engine.c, sample.c and force.c share inside the library. */
#ifndef UMPIRE_ENGINE_ENGINE_H
#define UMPIRE_ENGINE_ENGINE_H

#include <llama.h>
#include <mtmd.h>

#include "umpire.h"

#define UMPIRE_K_MAX 64

struct umpire_engine {
    struct umpire_engine_params params;
    struct llama_model *model;
    struct llama_context *ctx;
    mtmd_context *mctx; /* NULL without a projector */
    const struct llama_vocab *vocab;
    int n_vocab, n_embd;
};

/* Build the query's prompt (chat template, media markers), check that it and cells_after
 * more tokens fit the context, prefill it as sequence 0 (embeddings off, the last token's
 * logits kept), and copy it to sequences 1..n_seq-1. *n_prompt receives the next position.
 * Returns 0, or a negative status with err naming the problem (empty question, media on a
 * text-only model, unreadable or mistyped media file, context too small...). */
int umpire_engine_prefill(struct umpire_engine *e, const struct umpire_query *q, int n_seq, int cells_after,
                          int *n_prompt, char *err);

/* The prompt text of a query through the model's chat template (or a plain one when it has
 * none), with n_media media markers, then its answer_prefix. A new string, NULL when out of
 * memory. */
char *umpire_engine_prompt_text(struct umpire_engine *e, const struct umpire_query *q, size_t n_media);

/* Log-probability of tok and the entropy of the full distribution softmax(logits). */
void umpire_next_token_stats(const float *logits, int n_vocab, llama_token tok, double *logprob,
                             double *entropy);

/* An answer's text without surrounding white space, as a new string in which every ill-formed
 * UTF-8 part (a token cut inside a character; an overlong, a surrogate, a code point above
 * U+10FFFF) became U+FFFD, so that every output is valid JSON for strict decoders. NULL when
 * out of memory. */
char *umpire_clean_text(const char *t);

#endif
