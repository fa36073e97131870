/* force.c - the black-box proxy: answers produced elsewhere (a remote API, a larger model)
 * are teacher-forced through the local model after the same prompt, all in one batch, to get
 * each token's log-probability, the entropy it was drawn against, and phi, so that they are
 * scored exactly like sampled answers.
 *
 * Answer i's token j is scored by the logits of the position before it: for j = 0 the
 * prefill's last position, after that the output of token j - 1. phi is the hidden state of
 * that output for the answer's last token (as when sampling: the decode that drew it), the
 * middle state that of its last token before EOS. An answer that ended by itself gets an
 * end-of-generation token appended when it lacks one; one cut at a stop string or a length
 * limit is forced as given. The log-probs are the model's raw distribution (probs = raw): the
 * answers were not drawn from a sampler of this model.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "engine/engine.h"
#include "engine/log.h"

struct umpire_force_params umpire_force_default_params(void) {
    return (struct umpire_force_params){.finish = NULL, .middle = 0};
}

static llama_token end_token(const struct llama_vocab *vocab) {
    llama_token t = llama_vocab_eot(vocab);
    return t != LLAMA_TOKEN_NULL ? t : llama_vocab_eos(vocab);
}

static char *detokenize(const struct llama_vocab *vocab, const int32_t *toks, size_t n) {
    size_t cap = 16 * n + 16, len = 0;
    char *s = malloc(cap);
    for (size_t i = 0; s && i < n; i++) {
        if (llama_vocab_is_eog(vocab, toks[i]))
            continue;
        if (len + 256 > cap) {
            char *g = realloc(s, cap *= 2);
            if (!g) {
                free(s);
                return NULL;
            }
            s = g;
        }
        int m = llama_token_to_piece(vocab, toks[i], s + len, (int32_t)(cap - len - 1), 0, false);
        len += m > 0 ? (size_t)m : 0;
    }
    if (!s)
        return NULL;
    s[len] = '\0';
    char *clean = umpire_clean_text(s);
    free(s);
    return clean;
}

/* Where answer a's states come from: the token drawn by the output of position j - 1. */
static size_t phi_token(const struct umpire_answer *a) { return a->n_tokens - 1; }
static size_t mid_token(const struct umpire_answer *a) {
    return a->finish == UMPIRE_FINISH_EOS && a->n_tokens >= 2 ? a->n_tokens - 2 : a->n_tokens - 1;
}

int umpire_engine_force_tokens(struct umpire_engine *e, const struct umpire_query *q, const int32_t *const *tokens,
                               const size_t *n_tokens, size_t n, const struct umpire_force_params *fp,
                               struct umpire_item *item, char *err) {
    memset(item, 0, sizeof *item);
    item->correct = -1;
    item->middle_layer = -1;
    const int middle = fp && fp->middle;
    const size_t d = (size_t)e->n_embd;
    if (n < 1 || (int)n > e->params.k_max + 1)
        return umpire_fail(err, UMPIRE_EINVAL, "%zu answers; the engine takes 1..%d", n, e->params.k_max + 1);
    /* the answers (with their end token when they ended by themselves), and the cells they need */
    struct umpire_answer *a = calloc(n, sizeof *a);
    if (!a)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc = UMPIRE_OK, cells = 0;
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        size_t m = n_tokens[i];
        enum umpire_finish why = fp && fp->finish ? fp->finish[i] : UMPIRE_FINISH_EOS;
        int cut = why == UMPIRE_FINISH_STOP || why == UMPIRE_FINISH_LENGTH;
        int has_end = m > 0 && llama_vocab_is_eog(e->vocab, tokens[i][m - 1]);
        if (cut && (m == 0 || has_end)) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "answer %zu: cut at a %s, but %s", i,
                             why == UMPIRE_FINISH_STOP ? "stop string" : "length limit",
                             m == 0 ? "it has no tokens" : "it ends with an end-of-generation token");
            break;
        }
        a[i].finish = cut ? why : UMPIRE_FINISH_EOS;
        a[i].n_tokens = m + (!cut && !has_end);
        a[i].tokens = malloc(a[i].n_tokens * sizeof *a[i].tokens);
        a[i].logprobs = malloc(a[i].n_tokens * sizeof *a[i].logprobs);
        a[i].entropies = malloc(a[i].n_tokens * sizeof *a[i].entropies);
        a[i].embedding = malloc(d * sizeof *a[i].embedding);
        if (middle)
            a[i].middle = malloc(d * sizeof *a[i].middle);
        if (!a[i].tokens || !a[i].logprobs || !a[i].entropies || !a[i].embedding || (middle && !a[i].middle)) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        for (size_t j = 0; j < m; j++) {
            if (tokens[i][j] < 0 || tokens[i][j] >= e->n_vocab)
                rc = umpire_fail(err, UMPIRE_EINVAL, "answer %zu: token %zu (%d) is not in the vocabulary", i, j,
                                 tokens[i][j]);
            a[i].tokens[j] = tokens[i][j];
        }
        if (a[i].n_tokens > m)
            a[i].tokens[m] = end_token(e->vocab);
        cells += (int)a[i].n_tokens;
    }
    int pos0 = 0, slot = 0;
    if (rc == UMPIRE_OK)
        rc = umpire_engine_middle_capture(e, middle, e->params.n_batch, err);
    if (rc == UMPIRE_OK)
        rc = umpire_engine_prefill(e, q, (int)n, cells, &slot, &pos0, err);
    if (rc == UMPIRE_OK) {
        const float *last = llama_get_logits_ith(e->ctx, -1);
        for (size_t i = 0; i < n; i++) { /* token 0 of every answer: drawn by the prompt's last position */
            umpire_next_token_stats(last, e->n_vocab, a[i].tokens[0], &a[i].logprobs[0], &a[i].entropies[0]);
            if (phi_token(&a[i]) == 0)
                memcpy(a[i].embedding, e->prompt_phi, d * sizeof(float));
            if (middle && mid_token(&a[i]) == 0)
                memcpy(a[i].middle, e->prompt_mid, d * sizeof(float));
        }
        llama_set_embeddings(e->ctx, true);
        /* tokens 0 .. n - 2 of every answer, in batches of at most n_batch, outputs read after
         * each: the output of token j draws token j + 1 (the last token needs no decode) */
        const int cap = e->params.n_batch;
        struct llama_batch b = llama_batch_init(cap, 0, 1);
        size_t *who = malloc((size_t)cap * sizeof *who), *at = malloc((size_t)cap * sizeof *at);
        size_t i = 0, j = 0;
        if (!who || !at)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        while (rc == UMPIRE_OK && i < n) {
            b.n_tokens = 0;
            for (; i < n && b.n_tokens < cap; j = 0, i++) {
                for (; j + 1 < a[i].n_tokens && b.n_tokens < cap; j++) {
                    int k = b.n_tokens++;
                    b.token[k] = a[i].tokens[j];
                    b.pos[k] = pos0 + (llama_pos)j;
                    b.n_seq_id[k] = 1;
                    b.seq_id[k][0] = (llama_seq_id)i;
                    b.logits[k] = 1;
                    who[k] = i;
                    at[k] = j;
                }
                if (j + 1 < a[i].n_tokens)
                    break; /* the batch is full inside answer i: go on from token j */
            }
            if (b.n_tokens == 0)
                break;
            umpire_log_clear();
            e->middle.n_rows = 0;
            if (llama_decode(e->ctx, b) != 0) {
                rc = umpire_fail(err, UMPIRE_EINVAL, "decode failed (%s)", umpire_log_last_error());
                break;
            }
            if (middle && (e->middle.failed || e->middle.n_rows != b.n_tokens)) {
                rc = umpire_fail(err, UMPIRE_EINVAL, "the middle layer's output (%s) is not available for this model",
                                 e->middle.name);
                break;
            }
            for (int k = 0; k < b.n_tokens; k++) {
                struct umpire_answer *ak = &a[who[k]];
                size_t t = at[k] + 1; /* the token this output draws */
                umpire_next_token_stats(llama_get_logits_ith(e->ctx, k), e->n_vocab, ak->tokens[t], &ak->logprobs[t],
                                        &ak->entropies[t]);
                if (t == phi_token(ak))
                    memcpy(ak->embedding, llama_get_embeddings_ith(e->ctx, k), d * sizeof(float));
                if (middle && t == mid_token(ak))
                    memcpy(ak->middle, e->middle.rows + (size_t)k * d, d * sizeof(float));
            }
        }
        llama_set_embeddings(e->ctx, false);
        llama_batch_free(b);
        free(who);
        free(at);
    }
    umpire_engine_middle_capture(e, 0, 0, NULL);
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++)
        if (!(a[i].text = detokenize(e->vocab, a[i].tokens, a[i].n_tokens)))
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc != UMPIRE_OK) {
        struct umpire_item tmp = {.samples = a, .k = n};
        umpire_item_free(&tmp);
        return rc;
    }
    item->samples = a;
    item->k = n;
    item->dim = d;
    item->probs = UMPIRE_PROBS_RAW;
    if (middle) {
        item->dim_middle = d;
        item->middle_layer = umpire_engine_middle_layer(e);
    }
    return UMPIRE_OK;
}

int umpire_engine_force_texts(struct umpire_engine *e, const struct umpire_query *q, const char *const *texts,
                              size_t n, const struct umpire_force_params *fp, struct umpire_item *item, char *err) {
    int32_t **toks = calloc(n ? n : 1, sizeof *toks);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    int rc = toks && lens ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        int len = (int)strlen(texts[i]);
        int m = -llama_tokenize(e->vocab, texts[i], len, NULL, 0, false, false);
        if (m < 0)
            m = 0;
        toks[i] = malloc(((size_t)m + 1) * sizeof **toks);
        if (!toks[i] || (m > 0 && llama_tokenize(e->vocab, texts[i], len, toks[i], m, false, false) != m))
            rc = umpire_fail(err, UMPIRE_EINVAL, "answer %zu does not tokenize", i);
        lens[i] = (size_t)m;
    }
    if (rc == UMPIRE_OK)
        rc = umpire_engine_force_tokens(e, q, (const int32_t *const *)toks, lens, n, fp, item, err);
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) { /* keep the caller's text, not the detokenised one */
        char *t = strdup(texts[i]);
        if (t) {
            free(item->samples[i].text);
            item->samples[i].text = t;
        }
    }
    for (size_t i = 0; toks && i < n; i++)
        free(toks[i]);
    free(toks);
    free(lens);
    return rc;
}
