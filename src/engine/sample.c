/* sample.c - k answers and the low-temperature one from one prefill, decoded together.
 *
 * After the prompt is prefilled once and copied to k + 1 sequences (engine.c), each decode
 * step takes one token per unfinished sequence in a single batch. Each sequence has its own
 * sampler chain, temperature -> top-k -> top-p -> draw (HF generate's order, as the papers'
 * code), its draw seeded from (seed, i) by a hash, so that no two queries' seeds share samples;
 * answers that read the same row at the same temperature share the truncation (draw.c).
 *
 * An answer ends at an end-of-generation token (kept, with its log-probability: EOS is part of
 * the sequence probability), at a stop string (none of its tokens is kept: the answer is the
 * tokens whose text lies wholly before it; a first token that already starts it is kept, as
 * the reference does, since an answer has at least one token), or after max_tokens.
 *
 * Answers that are the same so far share one row of the batch (dedup): a confident question, whose
 * samples agree token for token, costs about one answer; they part where they draw different
 * tokens, each part then decoded in its own KV sequence from the shared cells.
 *
 * phi is the hidden state (after the final norm) of the decode whose logits drew the answer's
 * last kept token, as the reference takes hidden_states of HF generate's last step: its input is
 * the token before (the prompt's last position for the first token). The middle layer's state
 * (INSIDE's EigenScore) is that of the decode that drew the last token before EOS. Log-probs
 * and entropies are those of the distribution the token was drawn from (sampler_probs) and of
 * the model's raw one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "engine/draw.h"
#include "engine/engine.h"
#include "engine/log.h"

struct umpire_sample_params umpire_sample_default_params(void) {
    return (struct umpire_sample_params){.k = 5,
                                         .seed = 0,
                                         .max_tokens = 256,
                                         .temp = 1.0f,
                                         .top_p = 0.9f,
                                         .top_k = 0,
                                         .greedy_temp = 0.1f,
                                         .stop = NULL,
                                         .n_stop = 0,
                                         .sampler_probs = 1,
                                         .middle = 0,
                                         .dedup = 1,
                                         .with_greedy = 1};
}

struct seq {
    struct llama_sampler *dist; /* its draw (NULL for the argmax) */
    int cls;                    /* its temperature's truncation: 0 the samples', 1 the low-temperature answer's */
    int drawn;                  /* the step whose token it has drawn */
    struct umpire_answer a;
    double *lp_raw, *ent_raw;
    char *text;
    size_t text_len, *ends; /* ends[t]: the text's length after token t */
    /* the states of the decode that drew token t, in slot t % slots (every token's when stop
     * strings can cut back, else the last two) */
    float *phi, *mid;
    size_t slots;
    int done, batch_idx;
    int rep; /* the KV sequence that holds this answer's history (its group's first member) */
};

/* Append token t's text. Returns the byte offset where a stop string starts in the text (the
 * answer ends there), SIZE_MAX when none does, or SIZE_MAX - 1 when out of memory. */
static size_t append_piece(struct umpire_engine *e, struct seq *s, llama_token tok, size_t t,
                           const struct umpire_sample_params *p) {
    char piece[256];
    int n = llama_token_to_piece(e->vocab, tok, piece, sizeof piece, 0, false);
    n = n > 0 ? n : 0;
    char *grown = realloc(s->text, s->text_len + (size_t)n + 1);
    if (!grown)
        return SIZE_MAX - 1;
    s->text = grown;
    memcpy(s->text + s->text_len, piece, (size_t)n);
    s->text_len += (size_t)n;
    s->text[s->text_len] = '\0';
    s->ends[t] = s->text_len;
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < p->n_stop; i++) {
        size_t ls = strlen(p->stop[i]);
        if (!ls)
            continue;
        size_t from = s->text_len > (size_t)n + ls ? s->text_len - (size_t)n - ls : 0;
        char *hit = strstr(s->text + from, p->stop[i]);
        if (hit && (size_t)(hit - s->text) < at)
            at = (size_t)(hit - s->text);
    }
    return at;
}

/* End the answer with its first n tokens (and text of `text_len` bytes): phi is the state that
 * drew token n - 1, the middle state the one that drew the last token before EOS. */
static void finish(struct umpire_engine *e, struct seq *s, size_t n, size_t text_len, enum umpire_finish why) {
    s->a.n_tokens = n;
    s->a.finish = why;
    s->text_len = text_len;
    s->text[text_len] = '\0';
    size_t d = (size_t)e->n_embd, last = n - 1;
    memcpy(s->a.embedding, s->phi + (last % s->slots) * d, d * sizeof(float));
    if (s->a.middle) {
        size_t content = why == UMPIRE_FINISH_EOS && n >= 2 ? n - 2 : last;
        memcpy(s->a.middle, s->mid + (content % s->slots) * d, d * sizeof(float));
    }
    s->done = 1;
}

/* Sequence i's sampler seed: splitmix64 of (seed, i). */
static uint32_t seq_seed(uint64_t seed, int i) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static int seq_alloc(struct seq *s, const struct umpire_sample_params *p, size_t d) {
    size_t max = (size_t)p->max_tokens;
    s->slots = p->n_stop ? max : 2;
    s->a.tokens = malloc(max * sizeof *s->a.tokens);
    s->a.logprobs = malloc(max * sizeof *s->a.logprobs);
    s->a.entropies = malloc(max * sizeof *s->a.entropies);
    s->lp_raw = malloc(max * sizeof *s->lp_raw);
    s->ent_raw = malloc(max * sizeof *s->ent_raw);
    s->ends = malloc(max * sizeof *s->ends);
    s->a.embedding = malloc(d * sizeof *s->a.embedding);
    s->phi = malloc(s->slots * d * sizeof *s->phi);
    s->text = calloc(1, 1);
    int ok = s->a.tokens && s->a.logprobs && s->a.entropies && s->lp_raw && s->ent_raw && s->ends && s->a.embedding &&
             s->phi && s->text;
    if (ok && p->middle)
        ok = (s->mid = malloc(s->slots * d * sizeof *s->mid)) && (s->a.middle = malloc(d * sizeof *s->a.middle));
    return ok ? 0 : -1;
}

/* Hand the answer over to `to` (the item's), with its text cleaned and the kind of log-probs
 * asked for; free the rest. */
static int seq_take(struct seq *s, const struct umpire_sample_params *p, struct umpire_answer *to) {
    struct umpire_answer *a = &s->a;
    if (!(a->text = umpire_clean_text(s->text)))
        return -1;
    if (p->sampler_probs) {
        a->raw_logprobs = s->lp_raw;
        a->raw_entropies = s->ent_raw;
    } else { /* the raw ones are the answer's own */
        free(a->logprobs);
        free(a->entropies);
        a->logprobs = s->lp_raw;
        a->entropies = s->ent_raw;
    }
    s->lp_raw = s->ent_raw = NULL;
    *to = *a;
    memset(a, 0, sizeof *a);
    return 0;
}

static void seq_free(struct seq *s) {
    free(s->a.text);
    free(s->a.tokens);
    free(s->a.logprobs);
    free(s->a.entropies);
    free(s->a.embedding);
    free(s->a.middle);
    free(s->lp_raw);
    free(s->ent_raw);
    free(s->ends);
    free(s->phi);
    free(s->mid);
    free(s->text);
    if (s->dist)
        llama_sampler_free(s->dist);
}

/* Take the sequence's next token, drawn from the output at (logits, phi, mid) whose full softmax
 * is raw, and end the answer when it ends there. Returns 0, or UMPIRE_ENOMEM. */
static int step_seq(struct umpire_engine *e, struct seq *sq, const struct umpire_drawn *drawn, const float *logits,
                    const struct umpire_logits_stats *raw, const float *phi, const float *mid,
                    const struct umpire_sample_params *p) {
    const size_t d = (size_t)e->n_embd, t = sq->a.n_tokens;
    llama_token tok = drawn->tok;
    sq->lp_raw[t] = logits[tok] - raw->max - raw->logz;
    sq->ent_raw[t] = raw->entropy;
    double lp = drawn->logprob, ent = drawn->entropy; /* of the distribution it was drawn from */
    sq->a.tokens[t] = tok;
    sq->a.logprobs[t] = lp;
    sq->a.entropies[t] = ent;
    sq->a.n_tokens = t + 1;
    memcpy(sq->phi + (t % sq->slots) * d, phi, d * sizeof(float));
    if (mid)
        memcpy(sq->mid + (t % sq->slots) * d, mid, d * sizeof(float));
    if (llama_vocab_is_eog(e->vocab, tok)) {
        sq->ends[t] = sq->text_len;
        finish(e, sq, t + 1, sq->text_len, UMPIRE_FINISH_EOS);
        return UMPIRE_OK;
    }
    size_t stop = append_piece(e, sq, tok, t, p);
    if (stop == SIZE_MAX - 1)
        return UMPIRE_ENOMEM;
    if (stop != SIZE_MAX) { /* keep the tokens wholly before the stop string (at least one) */
        size_t m = 0;
        while (m <= t && sq->ends[m] <= stop)
            m++;
        m = m ? m : 1;
        finish(e, sq, m, sq->ends[m - 1] < stop ? sq->ends[m - 1] : stop, UMPIRE_FINISH_STOP);
        return UMPIRE_OK;
    }
    if ((int)(t + 1) == p->max_tokens)
        finish(e, sq, t + 1, sq->text_len, UMPIRE_FINISH_LENGTH);
    return UMPIRE_OK;
}

/* One query's answers while they decode: its k + 1 sequences in its slot's KV sequences
 * seq0 .. seq0 + n_seq - 1, its rows of the step's batch row0 .. row0 + n_rows - 1. */
struct umpire_asking {
    struct umpire_sample_params p;
    umpire_progress_fn progress;
    void *ud;
    struct umpire_item *item;
    int slot, seq0, n_seq, pos0, step, live, row0, rc;
    char err[UMPIRE_ERR_LEN];
    struct seq *seqs;
    int *prev;
    /* the answers that read one row at one temperature: the members, their draws, what they drew */
    int *group;
    struct llama_sampler **dists;
    struct umpire_drawn *drawn;
    /* each output row's full softmax, once per step however many answers share the row (slot 0:
     * the prompt's last position) */
    struct umpire_logits_stats *raw;
    int *raw_step;
    struct umpire_draw draw;
    struct umpire_draw_class cls[2];
};

/* Feed every live sequence's last token into the batch. Sequences whose answers are the same so
 * far are one group: one row holds them all (its logits, states), decoded in the KV sequence of
 * the group's first member. A group that splits gives each new part's first member the shared
 * history (its cells, not a copy of their data) before that member decodes on its own. */
static void feed(struct umpire_engine *e, struct umpire_asking *a, struct llama_batch *batch) {
    struct seq *seqs = a->seqs;
    int *prev = a->prev;
    const int n_seq = a->n_seq, pos0 = a->pos0;
    a->row0 = batch->n_tokens;
    for (int s = 0; s < n_seq; s++)
        prev[s] = seqs[s].rep;
    for (int s = 0; s < n_seq; s++) {
        struct seq *sq = &seqs[s];
        if (sq->done)
            continue;
        size_t t = sq->a.n_tokens - 1; /* the token just drawn, at position pos0 + t */
        int joined = 0;
        for (int o = 0; a->p.dedup && o < s && !joined; o++)
            if (!seqs[o].done && prev[o] == prev[s] && seqs[o].a.tokens[seqs[o].a.n_tokens - 1] == sq->a.tokens[t]) {
                sq->rep = seqs[o].rep;
                sq->batch_idx = seqs[o].batch_idx;
                joined = 1;
            }
        e->stats.answer_tokens++;
        if (joined)
            continue;
        if (prev[s] != s && t > 0) /* the first of a new part: the group's history, from its old host */
            llama_memory_seq_cp(llama_get_memory(e->ctx), a->seq0 + prev[s], a->seq0 + s, pos0, pos0 + (llama_pos)t);
        sq->rep = s;
        int b = batch->n_tokens++;
        batch->token[b] = sq->a.tokens[t];
        batch->pos[b] = pos0 + (llama_pos)t;
        batch->n_seq_id[b] = 1;
        batch->seq_id[b][0] = a->seq0 + s;
        batch->logits[b] = 1;
        sq->batch_idx = b;
    }
    e->stats.decoded_rows += (uint64_t)(batch->n_tokens - a->row0);
}

/* Every live sequence draws from the last decode's output: the prompt's last position at step
 * 0 (e->prompt_phi / prompt_mid), its group's row of the batch after that; then the progress
 * callback. Sets a->rc (and a->err) on failure. */
static void draw_step(struct umpire_engine *e, struct umpire_asking *a) {
    const struct umpire_sample_params *p = &a->p;
    const size_t d = (size_t)e->n_embd;
    const int step = a->step, n_seq = a->n_seq;
    struct seq *seqs = a->seqs;
    for (int s = 0; s < n_seq && a->rc == UMPIRE_OK; s++) {
        if (seqs[s].done || seqs[s].drawn == step)
            continue;
        int row = step == 0 ? -1 : seqs[s].batch_idx, c = seqs[s].cls, n = 0;
        int slot = step == 0 ? 0 : row - a->row0 + 1; /* the row's place in raw[] */
        const float *phi = step == 0 ? e->prompt_phi : llama_get_embeddings_ith(e->ctx, row);
        const float *mid = !p->middle ? NULL : step == 0 ? e->prompt_mid : e->middle.rows + (size_t)row * d;
        const float *logits = llama_get_logits_ith(e->ctx, row);
        if (a->raw_step[slot] != step) {
            umpire_logits_stats(logits, e->n_vocab, &a->raw[slot]);
            a->raw_step[slot] = step;
        }
        for (int o = s; o < n_seq; o++) {
            struct seq *so = &seqs[o];
            if (!so->done && so->drawn != step && so->cls == c && (step == 0 ? -1 : so->batch_idx) == row) {
                a->group[n] = o;
                a->dists[n++] = so->dist;
            }
        }
        umpire_draw_row(&a->draw, logits, &a->cls[c], a->dists, n, a->drawn);
        for (int i = 0; i < n && a->rc == UMPIRE_OK; i++) {
            struct seq *so = &seqs[a->group[i]];
            so->drawn = step;
            if (step_seq(e, so, &a->drawn[i], logits, &a->raw[slot], phi, mid, p) != 0)
                a->rc = umpire_fail(a->err, UMPIRE_ENOMEM, "out of memory");
            a->live -= so->done;
        }
    }
    if (a->rc == UMPIRE_OK && a->progress) {
        const struct seq *shown = &seqs[p->with_greedy ? p->k : 0];
        if (a->progress(a->ud, shown->text ? shown->text : "", shown->text_len, shown->done))
            a->rc = umpire_fail(a->err, UMPIRE_ECANCELED, "cancelled at step %d", step);
    }
    a->step++;
}

/* Whether a running query wants the middle layer's states (the capture stays on for it). */
static int running_middle(const struct umpire_engine *e) {
    for (int i = 0; i < e->n_slots; i++)
        if (e->slot[i].ask && e->slot[i].ask->p.middle)
            return 1;
    return 0;
}

/* Hand the answers to the query's item (or free them on failure), free the rest, give the
 * slot's answer cells back (its prompt stays, for the prefix cache), and stop the middle
 * capture when no other running query wants it. Returns the query's status. */
static int end_asking(struct umpire_engine *e, struct umpire_asking *a, char *err) {
    const struct umpire_sample_params *p = &a->p;
    struct umpire_item *item = a->item;
    int rc = a->rc;
    if (rc == UMPIRE_OK && !(item->samples = calloc(p->k ? (size_t)p->k : 1, sizeof *item->samples)))
        rc = umpire_fail(a->err, UMPIRE_ENOMEM, "out of memory");
    item->k = rc == UMPIRE_OK ? (size_t)p->k : 0; /* what umpire_item_free frees */
    for (int s = 0; s < a->n_seq && a->seqs && rc == UMPIRE_OK; s++)
        if (seq_take(&a->seqs[s], p, s < p->k ? &item->samples[s] : &item->greedy) != 0)
            rc = umpire_fail(a->err, UMPIRE_ENOMEM, "out of memory");
    for (int s = 0; s < a->n_seq && a->seqs; s++)
        seq_free(&a->seqs[s]);
    if (rc == UMPIRE_OK) {
        item->dim = (size_t)e->n_embd;
        item->probs = p->sampler_probs ? UMPIRE_PROBS_SAMPLER : UMPIRE_PROBS_RAW;
        if (p->middle) {
            item->dim_middle = (size_t)e->n_embd;
            item->middle_layer = umpire_engine_middle_layer(e);
        }
    } else {
        umpire_item_free(item);
    }
    if (a->slot >= 0) {
        struct umpire_slot *sl = &e->slot[a->slot];
        if (e->n_slots > 1) { /* the answers' cells go back to the others; alone, the next prefill clears them */
            llama_memory_t mem = llama_get_memory(e->ctx);
            llama_memory_seq_rm(mem, a->seq0, a->pos0, -1);
            for (int s = 1; s < a->n_seq; s++)
                llama_memory_seq_rm(mem, a->seq0 + s, -1, -1);
        }
        sl->cells -= a->n_seq * a->p.max_tokens; /* what the prefill reserved for the answers */
        sl->ask = NULL;
        e->running--;
    }
    if (!running_middle(e))
        umpire_engine_middle_capture(e, 0, 0, NULL);
    if (!e->running)
        llama_set_embeddings(e->ctx, false);
    umpire_draw_free(&a->draw);
    umpire_draw_class_free(&a->cls[0]);
    umpire_draw_class_free(&a->cls[1]);
    free(a->group);
    free(a->dists);
    free(a->drawn);
    free(a->raw);
    free(a->raw_step);
    free(a->seqs);
    free(a->prev);
    if (err)
        memcpy(err, a->err, UMPIRE_ERR_LEN);
    free(a);
    return rc;
}

/* Check the parameters, prefill the query in a slot (slot -1: any free one), set its answers up
 * and draw their first tokens. Returns 0 with *out (it may have ended already), or a negative
 * status with err (nothing left behind). */
static int start_asking(struct umpire_engine *e, const struct umpire_query *q, const struct umpire_sample_params *p,
                        umpire_progress_fn progress, void *ud, struct umpire_item *item, int slot,
                        struct umpire_asking **out, char *err) {
    *out = NULL;
    memset(item, 0, sizeof *item);
    item->correct = -1;
    item->middle_layer = -1;
    if (p->k < (p->with_greedy ? 0 : 1) || p->k > UMPIRE_K_MAX)
        return umpire_fail(err, UMPIRE_EINVAL, "k = %d; it must be in 1..%d", p->k, UMPIRE_K_MAX);
    if (p->k > e->params.k_max)
        return umpire_fail(err, UMPIRE_EINVAL, "k = %d, but the engine was opened for k <= %d", p->k, e->params.k_max);
    if (p->max_tokens < 1)
        return umpire_fail(err, UMPIRE_EINVAL, "max_tokens must be >= 1");
    if (!(p->temp > 0) || !(p->top_p > 0 && p->top_p <= 1) || p->greedy_temp < 0)
        return umpire_fail(err, UMPIRE_EINVAL, "need temp > 0, 0 < top_p <= 1, greedy_temp >= 0");
    const int n_seq = p->k + (p->with_greedy != 0), max = p->max_tokens;
    const size_t d = (size_t)e->n_embd;
    struct umpire_asking *a = calloc(1, sizeof *a);
    if (!a)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    a->p = *p;
    a->progress = progress;
    a->ud = ud;
    a->item = item;
    a->n_seq = a->live = n_seq;
    a->slot = -1;
    int rows = e->n_slots * (e->params.k_max + 1); /* a decode's rows, at most */
    int rc = umpire_engine_middle_capture(e, p->middle || e->middle.on, rows, err);
    if (rc == UMPIRE_OK)
        rc = umpire_engine_prefill(e, q, n_seq, n_seq * max, &slot, &a->pos0, err);
    if (rc != UMPIRE_OK) {
        umpire_engine_middle_capture(e, running_middle(e), rows, NULL);
        free(a);
        return rc;
    }
    a->slot = slot;
    a->seq0 = umpire_slot_seq(e, slot);
    e->slot[slot].ask = a;
    e->running++;
    a->seqs = calloc((size_t)n_seq, sizeof *a->seqs);
    a->prev = malloc((size_t)n_seq * sizeof *a->prev);
    a->group = malloc((size_t)n_seq * sizeof *a->group);
    a->dists = malloc((size_t)n_seq * sizeof *a->dists);
    a->drawn = malloc((size_t)n_seq * sizeof *a->drawn);
    a->raw = malloc(((size_t)n_seq + 1) * sizeof *a->raw);
    a->raw_step = malloc(((size_t)n_seq + 1) * sizeof *a->raw_step);
    if (!a->seqs || !a->prev || !a->group || !a->dists || !a->drawn || !a->raw || !a->raw_step ||
        umpire_draw_init(&a->draw, e->n_vocab) != 0 ||
        umpire_draw_class_init(&a->cls[0], p->temp, p->top_k, p->top_p) != 0 ||
        umpire_draw_class_init(&a->cls[1], p->greedy_temp, p->top_k, p->top_p) != 0)
        a->rc = umpire_fail(a->err, UMPIRE_ENOMEM, "out of memory");
    for (int r = 0; a->raw_step && r <= n_seq; r++)
        a->raw_step[r] = -1;
    for (int s = 0; a->seqs && s < n_seq && a->rc == UMPIRE_OK; s++) {
        struct seq *sq = &a->seqs[s];
        sq->rep = 0; /* before the first token every answer is the same: the prompt, in every sequence */
        sq->cls = s < p->k ? 0 : 1;
        sq->drawn = -1;
        if (a->cls[sq->cls].trunc && !(sq->dist = umpire_draw_sampler(seq_seed(p->seed, s))))
            a->rc = umpire_fail(a->err, UMPIRE_ENOMEM, "out of memory");
        if (seq_alloc(sq, p, d) != 0)
            a->rc = umpire_fail(a->err, UMPIRE_ENOMEM, "out of memory");
    }
    if (a->rc == UMPIRE_OK) {
        llama_set_embeddings(e->ctx, true);
        draw_step(e, a);
    }
    *out = a;
    return UMPIRE_OK;
}

int umpire_engine_begin(struct umpire_engine *e, const struct umpire_query *q, const struct umpire_sample_params *p,
                        umpire_progress_fn progress, void *ud, struct umpire_item *item, char *err) {
    struct umpire_asking *a;
    int rc = start_asking(e, q, p, progress, ud, item, -1, &a, err);
    return rc == UMPIRE_OK ? a->slot : rc;
}

int umpire_engine_running(const struct umpire_engine *e) { return e->running; }

int umpire_engine_step(struct umpire_engine *e, struct umpire_finished *done, int cap) {
    int n_done = 0, live = 0, middle = 0;
    struct llama_batch *batch = &e->batch;
    batch->n_tokens = 0;
    for (int i = 0; i < e->n_slots; i++) { /* who ended at the last step; who goes on */
        struct umpire_asking *a = e->slot[i].ask;
        if (a && (a->rc != UMPIRE_OK || a->live == 0) && n_done < cap) {
            done[n_done].slot = i;
            done[n_done].rc = end_asking(e, a, done[n_done].err);
            n_done++;
        } else if (a && a->rc == UMPIRE_OK && a->live > 0) {
            feed(e, a, batch);
            middle |= a->p.middle;
            live++;
        }
    }
    if (!live)
        return n_done;
    umpire_log_clear();
    e->middle.n_rows = 0;
    llama_set_embeddings(e->ctx, true);
    int failed = llama_decode(e->ctx, *batch) != 0;
    int mid_failed = !failed && middle && (e->middle.failed || e->middle.n_rows != batch->n_tokens);
    for (int i = 0; i < e->n_slots; i++) {
        struct umpire_asking *a = e->slot[i].ask;
        if (!a || a->rc != UMPIRE_OK || a->live == 0)
            continue;
        if (failed)
            a->rc = umpire_fail(a->err, UMPIRE_EINVAL, "decode failed at step %d (%s)", a->step - 1,
                                umpire_log_last_error());
        else if (mid_failed)
            a->rc = umpire_fail(a->err, UMPIRE_EINVAL,
                                "the middle layer's output (%s) came back with %d rows for %d tokens", e->middle.name,
                                e->middle.n_rows, batch->n_tokens);
        else
            draw_step(e, a);
    }
    return n_done;
}

int umpire_engine_ask(struct umpire_engine *e, const struct umpire_query *q, const struct umpire_sample_params *p,
                      struct umpire_item *item, char *err) {
    return umpire_engine_ask_progress(e, q, p, NULL, NULL, item, err);
}

int umpire_engine_ask_progress(struct umpire_engine *e, const struct umpire_query *q,
                               const struct umpire_sample_params *p, umpire_progress_fn progress, void *ud,
                               struct umpire_item *item, char *err) {
    struct umpire_asking *a;
    int rc = umpire_engine_alone(e, "umpire_engine_ask", err);
    if (rc == UMPIRE_OK)
        rc = start_asking(e, q, p, progress, ud, item, 0, &a, err);
    struct umpire_finished done[1];
    while (rc == UMPIRE_OK && umpire_engine_step(e, done, 1) == 0)
        ;
    if (rc == UMPIRE_OK && (rc = done[0].rc) != UMPIRE_OK && err)
        memcpy(err, done[0].err, UMPIRE_ERR_LEN);
    return rc;
}
