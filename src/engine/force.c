/* force.c - the black-box proxy: answers produced elsewhere (a remote API, a larger model)
 * are teacher-forced through the local model after the same prompt, all in one batch, to get
 * each token's log-probability, the entropy it was drawn against, and phi at the EOS step,
 * so that they are scored exactly like sampled answers.
 *
 * Answer i's token j is scored by the logits of the position before it: for j = 0 the
 * prefill's last logits (read before any later decode overwrites them), after that the output
 * of token j - 1. An end-of-generation token is appended when an answer lacks one, and phi is
 * the hidden state where it is the input, as when sampling.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "engine/engine.h"
#include "engine/log.h"

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

int umpire_engine_force_tokens(struct umpire_engine *e, const struct umpire_query *q, const int32_t *const *tokens,
                               const size_t *n_tokens, size_t n, struct umpire_item *item, char *err) {
    memset(item, 0, sizeof *item);
    item->correct = -1;
    if (n < 1 || (int)n > e->params.k_max + 1)
        return umpire_fail(err, UMPIRE_EINVAL, "%zu answers; the engine takes 1..%d", n, e->params.k_max + 1);
    /* the answers with their end token, and the cells they need */
    struct umpire_answer *a = calloc(n, sizeof *a);
    if (!a)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc = UMPIRE_OK, cells = 0;
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        size_t m = n_tokens[i];
        int has_end = m > 0 && llama_vocab_is_eog(e->vocab, tokens[i][m - 1]);
        a[i].n_tokens = m + !has_end;
        a[i].tokens = malloc(a[i].n_tokens * sizeof *a[i].tokens);
        a[i].logprobs = malloc(a[i].n_tokens * sizeof *a[i].logprobs);
        a[i].entropies = malloc(a[i].n_tokens * sizeof *a[i].entropies);
        a[i].embedding = malloc((size_t)e->n_embd * sizeof *a[i].embedding);
        if (!a[i].tokens || !a[i].logprobs || !a[i].entropies || !a[i].embedding) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        for (size_t j = 0; j < m; j++) {
            if (tokens[i][j] < 0 || tokens[i][j] >= e->n_vocab)
                rc = umpire_fail(err, UMPIRE_EINVAL, "answer %zu: token %zu (%d) is not in the vocabulary", i, j,
                                 tokens[i][j]);
            a[i].tokens[j] = tokens[i][j];
        }
        if (!has_end)
            a[i].tokens[m] = end_token(e->vocab);
        cells += (int)a[i].n_tokens;
    }
    int pos0 = 0;
    if (rc == UMPIRE_OK)
        rc = umpire_engine_prefill(e, q, (int)n, cells, &pos0, err);
    if (rc == UMPIRE_OK) {
        const float *last = llama_get_logits_ith(e->ctx, -1);
        for (size_t i = 0; i < n; i++)
            umpire_next_token_stats(last, e->n_vocab, a[i].tokens[0], &a[i].logprobs[0], &a[i].entropies[0]);
        llama_set_embeddings(e->ctx, true);
        /* every token of every answer, in batches of at most n_batch, outputs read after each */
        const int cap = e->params.n_batch;
        struct llama_batch b = llama_batch_init(cap, 0, 1);
        size_t *who = malloc((size_t)cap * sizeof *who), *at = malloc((size_t)cap * sizeof *at);
        size_t i = 0, j = 0;
        if (!who || !at)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        while (rc == UMPIRE_OK && i < n) {
            b.n_tokens = 0;
            for (; i < n && b.n_tokens < cap; j = 0, i++) {
                for (; j < a[i].n_tokens && b.n_tokens < cap; j++) {
                    int k = b.n_tokens++;
                    b.token[k] = a[i].tokens[j];
                    b.pos[k] = pos0 + (llama_pos)j;
                    b.n_seq_id[k] = 1;
                    b.seq_id[k][0] = (llama_seq_id)i;
                    b.logits[k] = 1;
                    who[k] = i;
                    at[k] = j;
                }
                if (j < a[i].n_tokens)
                    break; /* the batch is full inside answer i: go on from token j */
            }
            umpire_log_clear();
            if (llama_decode(e->ctx, b) != 0) {
                rc = umpire_fail(err, UMPIRE_EINVAL, "decode failed (%s)", umpire_log_last_error());
                break;
            }
            for (int k = 0; k < b.n_tokens; k++) {
                struct umpire_answer *ak = &a[who[k]];
                size_t t = at[k];
                if (t + 1 < ak->n_tokens)
                    umpire_next_token_stats(llama_get_logits_ith(e->ctx, k), e->n_vocab, ak->tokens[t + 1],
                                            &ak->logprobs[t + 1], &ak->entropies[t + 1]);
                else /* the end token is the input: phi */
                    memcpy(ak->embedding, llama_get_embeddings_ith(e->ctx, k), (size_t)e->n_embd * sizeof(float));
            }
        }
        llama_set_embeddings(e->ctx, false);
        llama_batch_free(b);
        free(who);
        free(at);
    }
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
    item->dim = (size_t)e->n_embd;
    return UMPIRE_OK;
}

int umpire_engine_force_texts(struct umpire_engine *e, const struct umpire_query *q, const char *const *texts,
                              size_t n, struct umpire_item *item, char *err) {
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
        rc = umpire_engine_force_tokens(e, q, (const int32_t *const *)toks, lens, n, item, err);
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
