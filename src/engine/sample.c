/* sample.c - k answers and the low-temperature one from one prefill, decoded together.
 *
 * After the prompt is prefilled once and copied to k + 1 sequences (engine.c), each decode
 * step takes one token per unfinished sequence in a single batch. Each sequence has its own
 * sampler chain, temperature -> top-k -> top-p -> draw (HF generate's order, as the papers'
 * code), seeded from (seed, i) by a hash, so that no two queries' seeds share samples. An
 * answer ends at an end-of-generation token (kept, with its
 * log-probability: EOS is part of the sequence probability), at a stop string, or after
 * max_tokens; its last token is fed once more, and the hidden state of that step (after the
 * final norm) is phi. Logits and hidden states come from the same decode.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "engine/engine.h"
#include "engine/log.h"

struct umpire_sample_params umpire_sample_default_params(void) {
    return (struct umpire_sample_params){.k = 5,
                                         .seed = 0,
                                         .max_tokens = 32,
                                         .temp = 1.0f,
                                         .top_p = 0.9f,
                                         .top_k = 0,
                                         .greedy_temp = 0.1f,
                                         .stop = NULL,
                                         .n_stop = 0,
                                         .sampler_probs = 0,
                                         .with_greedy = 1};
}

enum { SAMPLING, ENDING, DONE };

struct seq {
    struct llama_sampler *chain;
    int argmax; /* temperature 0: the chain is a plain argmax */
    struct umpire_answer a;
    char *text;
    size_t text_len;
    int state, batch_idx;
};

static struct llama_sampler *make_chain(float temp, const struct umpire_sample_params *p, uint32_t seed) {
    struct llama_sampler_chain_params cp = llama_sampler_chain_default_params();
    cp.no_perf = true;
    struct llama_sampler *c = llama_sampler_chain_init(cp);
    if (temp <= 0) {
        llama_sampler_chain_add(c, llama_sampler_init_greedy());
        return c;
    }
    llama_sampler_chain_add(c, llama_sampler_init_temp(temp));
    if (p->top_k > 0)
        llama_sampler_chain_add(c, llama_sampler_init_top_k(p->top_k));
    if (p->top_p < 1.0f)
        llama_sampler_chain_add(c, llama_sampler_init_top_p(p->top_p, 1));
    llama_sampler_chain_add(c, llama_sampler_init_dist(seed));
    return c;
}

/* Append a token's text; end the answer when a stop string appears (cut before it). */
static int append_piece(struct umpire_engine *e, struct seq *s, llama_token tok, const struct umpire_sample_params *p) {
    char piece[256];
    int n = llama_token_to_piece(e->vocab, tok, piece, sizeof piece, 0, false);
    if (n <= 0)
        return 0;
    char *grown = realloc(s->text, s->text_len + (size_t)n + 1);
    if (!grown)
        return -1;
    s->text = grown;
    memcpy(s->text + s->text_len, piece, (size_t)n);
    s->text_len += (size_t)n;
    s->text[s->text_len] = '\0';
    for (size_t i = 0; i < p->n_stop; i++) {
        size_t ls = strlen(p->stop[i]);
        if (!ls)
            continue;
        size_t from = s->text_len > (size_t)n + ls ? s->text_len - (size_t)n - ls : 0;
        char *hit = strstr(s->text + from, p->stop[i]);
        if (hit) {
            *hit = '\0';
            s->text_len = (size_t)(hit - s->text);
            s->state = ENDING;
        }
    }
    return 0;
}

/* Sequence i's sampler seed: splitmix64 of (seed, i). */
static uint32_t seq_seed(uint64_t seed, int i) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

int umpire_engine_ask(struct umpire_engine *e, const struct umpire_query *q, const struct umpire_sample_params *p,
                      struct umpire_item *item, char *err) {
    memset(item, 0, sizeof *item);
    item->correct = -1;
    if (p->k < (p->with_greedy ? 0 : 1) || p->k > UMPIRE_K_MAX)
        return umpire_fail(err, UMPIRE_EINVAL, "k = %d; it must be in 1..%d", p->k, UMPIRE_K_MAX);
    if (p->k > e->params.k_max)
        return umpire_fail(err, UMPIRE_EINVAL, "k = %d, but the engine was opened for k <= %d", p->k, e->params.k_max);
    if (p->max_tokens < 1)
        return umpire_fail(err, UMPIRE_EINVAL, "max_tokens must be >= 1");
    if (!(p->temp > 0) || !(p->top_p > 0 && p->top_p <= 1) || p->greedy_temp < 0)
        return umpire_fail(err, UMPIRE_EINVAL, "need temp > 0, 0 < top_p <= 1, greedy_temp >= 0");
    const int n_seq = p->k + (p->with_greedy != 0), n_vocab = e->n_vocab, max = p->max_tokens;
    int pos0 = 0;
    int rc = umpire_engine_prefill(e, q, n_seq, n_seq * max, &pos0, err);
    if (rc != UMPIRE_OK)
        return rc;

    struct seq *seqs = calloc((size_t)n_seq, sizeof *seqs);
    llama_token_data *cand = malloc((size_t)n_vocab * sizeof *cand);
    struct llama_batch batch = llama_batch_init(n_seq, 0, 1);
    if (!seqs || !cand)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (int s = 0; s < n_seq && rc == UMPIRE_OK; s++) {
        float temp = s < p->k ? p->temp : p->greedy_temp;
        seqs[s].chain = make_chain(temp, p, seq_seed(p->seed, s));
        seqs[s].argmax = temp <= 0;
        seqs[s].a.tokens = malloc((size_t)max * sizeof(int32_t));
        seqs[s].a.logprobs = malloc((size_t)max * sizeof(double));
        seqs[s].a.entropies = malloc((size_t)max * sizeof(double));
        seqs[s].a.embedding = malloc((size_t)e->n_embd * sizeof(float));
        if (!seqs[s].a.tokens || !seqs[s].a.logprobs || !seqs[s].a.entropies || !seqs[s].a.embedding)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    if (rc == UMPIRE_OK)
        llama_set_embeddings(e->ctx, true);
    for (int step = 0, live = n_seq; rc == UMPIRE_OK && live > 0; step++) {
        batch.n_tokens = 0;
        for (int s = 0; s < n_seq && rc == UMPIRE_OK; s++) {
            struct seq *sq = &seqs[s];
            if (sq->state != SAMPLING)
                continue;
            const float *logits = llama_get_logits_ith(e->ctx, step == 0 ? -1 : sq->batch_idx);
            for (int v = 0; v < n_vocab; v++)
                cand[v] = (llama_token_data){v, logits[v], 0.0f};
            llama_token_data_array arr = {cand, (size_t)n_vocab, -1, false};
            llama_sampler_apply(sq->chain, &arr);
            llama_token tok = arr.data[arr.selected].id;
            llama_sampler_accept(sq->chain, tok);
            double lp, ent;
            umpire_next_token_stats(logits, n_vocab, tok, &lp, &ent);
            if (p->sampler_probs) { /* the distribution the token was drawn from */
                lp = 0.0;
                ent = 0.0;
                if (!sq->argmax) {
                    lp = log(arr.data[arr.selected].p);
                    for (size_t i = 0; i < arr.size; i++)
                        if (arr.data[i].p > 0)
                            ent -= arr.data[i].p * log(arr.data[i].p);
                }
            }
            size_t n = sq->a.n_tokens++;
            sq->a.tokens[n] = tok;
            sq->a.logprobs[n] = lp;
            sq->a.entropies[n] = ent;
            if (llama_vocab_is_eog(e->vocab, tok))
                sq->state = ENDING;
            else if (append_piece(e, sq, tok, p) != 0)
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            if ((int)sq->a.n_tokens == max)
                sq->state = ENDING;
            /* feed the token: its logits sample the next one, or its hidden state is phi */
            int b = batch.n_tokens++;
            batch.token[b] = tok;
            batch.pos[b] = pos0 + (llama_pos)n;
            batch.n_seq_id[b] = 1;
            batch.seq_id[b][0] = s;
            batch.logits[b] = 1;
            sq->batch_idx = b;
        }
        if (rc != UMPIRE_OK)
            break;
        umpire_log_clear();
        if (llama_decode(e->ctx, batch) != 0) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "decode failed at step %d (%s)", step, umpire_log_last_error());
            break;
        }
        for (int s = 0; s < n_seq; s++)
            if (seqs[s].state == ENDING) {
                memcpy(seqs[s].a.embedding, llama_get_embeddings_ith(e->ctx, seqs[s].batch_idx),
                       (size_t)e->n_embd * sizeof(float));
                seqs[s].state = DONE;
                live--;
            }
    }
    llama_set_embeddings(e->ctx, false);
    if (rc == UMPIRE_OK && !(item->samples = calloc(p->k ? (size_t)p->k : 1, sizeof *item->samples)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (int s = 0; s < n_seq && seqs; s++) {
        if (rc == UMPIRE_OK) {
            seqs[s].a.text = umpire_clean_text(seqs[s].text);
            *(s < p->k ? &item->samples[s] : &item->greedy) = seqs[s].a;
        } else {
            free(seqs[s].a.tokens);
            free(seqs[s].a.logprobs);
            free(seqs[s].a.entropies);
            free(seqs[s].a.embedding);
        }
        free(seqs[s].text);
        if (seqs[s].chain)
            llama_sampler_free(seqs[s].chain);
    }
    if (rc == UMPIRE_OK) {
        item->k = (size_t)p->k;
        item->dim = (size_t)e->n_embd;
    }
    llama_batch_free(batch);
    free(cand);
    free(seqs);
    return rc;
}
