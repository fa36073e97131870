/* prefill.c - the shared first half of every query: the chat-templated prompt with its media,
 * prefilled once as sequence 0 and copied to the other sequences; and the prefix cache that
 * keeps the previous prompt's KV, so that a question sharing a system prompt, a document or an
 * image with the one before prefills only what differs.
 *
 * A prompt is a list of units: text tokens, and media chunks (an image or a clip, one unit,
 * known by the id libmtmd gives it, a hash of the file's bytes). It is decoded in steps: each
 * media chunk; text in batches that end where the chat template's messages end (every message
 * but the question's own) and, by the plan (umpire_engine_params.prefill_block):
 * - the CPU's batch-invariant plan (the default where every device is a CPU): batches of at most
 *   n_batch, each at least 64 tokens where the message has 64 (plan.c: ggml's CPU
 *   kernels then give a row the same numbers whatever batch it is in);
 * - blocks: at the multiples of prefill_block (64) in position (any backend).
 * The last step outputs the last token's logits, hidden state and (when asked) the middle
 * layer's. With the exact prefix cache (reuse_prefix 1, the default), decoding restarts inside
 * the common prefix where the new prompt's rows from there take the kernels a cold prefill's
 * take, after removing every sequence's cells from there on: the same positions, the same KV
 * cells, the same numbers. The CPU's plan restarts on a fourth token from the message's start
 * that leaves its last 64 tokens (4 under 64) to decode; blocks restart at the last step that
 * begins inside the common prefix and that the cached prompt's plan had too (each unit
 * remembers whether a step began there). A prompt that shares whole messages with the one before
 * decodes only the rest, one that shares part of a message at most 67 tokens (a block) of the
 * shared part again. With reuse_prefix 2 the restart is where the prompts part, token by token:
 * only the new text is decoded, in batches of n_batch (as llama.cpp's server), so the numbers
 * equal a cold prefill's to rounding (a batch of one token, or under 64, takes other kernels).
 */
#include <stdlib.h>
#include <string.h>

#include <mtmd-helper.h>

#include "core/status.h"
#include "engine/engine.h"
#include "engine/plan.h"
#include "core/hash.h"
#include "engine/log.h"

/* FNV-1a of a media chunk's id (0 is reserved for text and for media without an id). */
static uint64_t media_key(const mtmd_input_chunk *c) {
    const char *id = mtmd_input_chunk_get_id(c);
    if (!id || !id[0])
        return 0;
    uint64_t h = umpire_fnv1a_str(UMPIRE_FNV1A_INIT, id);
    return h ? h : 1;
}

static int add_unit(struct umpire_prompt *p, size_t *cap, struct umpire_prompt_unit u, const mtmd_input_chunk *c) {
    if (p->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        struct umpire_prompt_unit *g = realloc(p->u, *cap * sizeof *g);
        if (g)
            p->u = g;
        const mtmd_input_chunk **h = g ? realloc(p->chunk, *cap * sizeof *h) : NULL;
        if (h)
            p->chunk = h;
        if (!h)
            return -1;
    }
    p->u[p->n] = u;
    p->chunk[p->n++] = c;
    return 0;
}

static int units_of(mtmd_input_chunks *chunks, const llama_token *toks, int n_toks, struct umpire_prompt *p) {
    size_t cap = 0;
    if (!chunks) {
        for (int i = 0; i < n_toks; i++)
            if (add_unit(p, &cap, (struct umpire_prompt_unit){.tok = toks[i], .n_pos = 1, .n_tokens = 1}, NULL))
                return -1;
        p->n_cells = n_toks;
        return 0;
    }
    for (size_t c = 0; c < mtmd_input_chunks_size(chunks); c++) {
        const mtmd_input_chunk *ch = mtmd_input_chunks_get(chunks, c);
        if (mtmd_input_chunk_get_type(ch) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            size_t n = 0;
            const llama_token *t = mtmd_input_chunk_get_tokens_text(ch, &n);
            for (size_t i = 0; i < n; i++)
                if (add_unit(p, &cap, (struct umpire_prompt_unit){.tok = t[i], .n_pos = 1, .n_tokens = 1}, NULL))
                    return -1;
        } else {
            struct umpire_prompt_unit u = {.media = media_key(ch),
                                           .n_pos = (int)mtmd_input_chunk_get_n_pos(ch),
                                           .n_tokens = (int)mtmd_input_chunk_get_n_tokens(ch)};
            if (add_unit(p, &cap, u, ch))
                return -1;
        }
    }
    p->n_cells = (int)mtmd_helper_get_n_tokens(chunks);
    return 0;
}

static int same_unit(const struct umpire_prompt_unit *a, const struct umpire_prompt_unit *b) {
    if (a->media || b->media)
        return a->media && a->media == b->media && a->n_pos == b->n_pos && a->n_tokens == b->n_tokens;
    return a->tok == b->tok;
}

void umpire_engine_forget(struct umpire_engine *e) {
    for (int i = 0; i < e->n_slots; i++) {
        e->slot[i].cache.n = 0;
        e->slot[i].cells = 0;
    }
}

int umpire_engine_alone(const struct umpire_engine *e, const char *what, char *err) {
    if (e->running)
        return umpire_fail(err, UMPIRE_EINVAL, "%s needs the engine alone, and %d quer%s decoding (umpire_engine_begin)",
                           what, e->running, e->running == 1 ? "y is" : "ies are");
    return UMPIRE_OK;
}

/* How many of the prompt's first units the slot's cached prompt holds already: the same units,
 * and for the exact cache rows decoded as the new prompt's plan decodes them (the CPU's plan:
 * the same row classes, the same kernels; blocks: the same steps, the very batches). */
static size_t common_prefix(const struct umpire_engine *e, int slot, const struct umpire_prompt *p) {
    const struct umpire_slot *sl = &e->slot[slot];
    const int exact = e->params.reuse_prefix == 1;
    size_t common = 0;
    while (e->params.reuse_prefix && common < sl->cache.n && common + 1 < p->n &&
           same_unit(&sl->cache.u[common], &p->u[common]) &&
           (!exact || (e->invariant ? sl->cache.u[common].cls == p->u[common].cls
                                    : sl->cache.u[common].step == p->u[common].step)))
        common++;
    return common;
}

/* Choose the slot for a prompt needing `need` cells (when *slot < 0: the free one that shares
 * the most with it) and make room: the running queries' cells are theirs, free slots' cached
 * prompts give theirs up, fewest shared units first. 0, or UMPIRE_EBUSY. */
static int take_slot(struct umpire_engine *e, const struct umpire_prompt *p, int need, int *slot) {
    if (*slot < 0) {
        size_t best = 0;
        for (int i = 0; i < e->n_slots; i++) {
            size_t c = e->slot[i].ask ? 0 : common_prefix(e, i, p);
            if (!e->slot[i].ask && (*slot < 0 || c > best)) {
                *slot = i;
                best = c;
            }
        }
        if (*slot < 0)
            return UMPIRE_EBUSY;
    }
    int used = 0; /* by the other slots */
    for (int i = 0; i < e->n_slots; i++)
        used += i == *slot ? 0 : e->slot[i].cells;
    while (need + used > (int)llama_n_ctx(e->ctx)) {
        int victim = -1;
        for (int i = 0; i < e->n_slots; i++)
            if (i != *slot && !e->slot[i].ask && e->slot[i].cells > 0 &&
                (victim < 0 || common_prefix(e, i, p) < common_prefix(e, victim, p)))
                victim = i;
        if (victim < 0)
            return UMPIRE_EBUSY;
        for (int s = 0; s <= e->params.k_max; s++)
            llama_memory_seq_rm(llama_get_memory(e->ctx), umpire_slot_seq(e, victim) + s, -1, -1);
        used -= e->slot[victim].cells;
        e->slot[victim].cells = 0;
        e->slot[victim].cache.n = 0;
    }
    return UMPIRE_OK;
}

int umpire_engine_prefill(struct umpire_engine *e, const struct umpire_query *q, int n_seq, int cells_after,
                          int *slot, int *n_prompt, char *err) {
    if (!q->question || !q->question[strspn(q->question, " \t\r\n")])
        return umpire_fail(err, UMPIRE_EINVAL, "the question is empty");
    size_t n_media = q->n_images + q->n_audio;
    int rc = *slot >= 0 ? umpire_engine_alone(e, "a prefill into a chosen slot", err) : UMPIRE_OK;
    if (rc == UMPIRE_OK)
        rc = umpire_engine_media_ok(e, q, err);
    if (rc != UMPIRE_OK)
        return rc;
    if (n_seq < 1 || n_seq > e->params.k_max + 1)
        return umpire_fail(err, UMPIRE_EINVAL, "%d sequences asked for, the engine was opened for %d", n_seq,
                           e->params.k_max + 1);
    char *text = umpire_engine_prompt_text(e, q, n_media);
    mtmd_input_chunks *chunks = NULL;
    llama_token *toks = NULL;
    struct umpire_prompt p = {0};
    size_t *steps = NULL;
    rc = !text ? umpire_fail(err, UMPIRE_ENOMEM, "out of memory") : UMPIRE_OK;
    int n = 0;
    if (rc == UMPIRE_OK && e->mctx) {
        rc = umpire_engine_tokenize_media(e, q, text, &chunks, err);
    } else if (rc == UMPIRE_OK) {
        int len = (int)strlen(text);
        n = -llama_tokenize(e->vocab, text, len, NULL, 0, true, true);
        if (n <= 0 || !(toks = malloc((size_t)n * sizeof *toks)) ||
            llama_tokenize(e->vocab, text, len, toks, n, true, true) != n)
            rc = umpire_fail(err, UMPIRE_EINVAL, "the prompt does not tokenize");
    }
    if (rc == UMPIRE_OK && units_of(chunks, toks, n, &p) != 0)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK && (p.n == 0 || p.u[p.n - 1].media))
        rc = umpire_fail(err, UMPIRE_EINVAL, "the prompt does not end with text");
    if (rc == UMPIRE_OK && p.n_cells + cells_after > (int)llama_n_ctx(e->ctx))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "the prompt (%d tokens) and the answers (%d more) do not fit the context of %u tokens;"
                         " raise --ctx-size or lower -k / --max-tokens",
                         p.n_cells, cells_after, llama_n_ctx(e->ctx));
    if (rc == UMPIRE_OK && !(steps = malloc(p.n * sizeof *steps)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    size_t n_steps = 0, ends[64], n_ends = 0;
    if (rc == UMPIRE_OK) { /* the plan: before choosing a slot, whose cache is compared step by step */
        if (e->params.reuse_prefix != 2) { /* the exact cache (and off, its cold prefill): steps end where messages end */
            size_t n_lead = 0;
            while (n_lead < p.n && !p.u[n_lead].media)
                n_lead++;
            llama_token *lead = malloc((n_lead ? n_lead : 1) * sizeof *lead);
            for (size_t i = 0; lead && i < n_lead; i++)
                lead[i] = p.u[i].tok;
            n_ends = lead ? umpire_engine_message_ends(e, q, n_media, lead, n_lead, ends, sizeof ends / sizeof *ends) : 0;
            free(lead);
        }
        if (e->invariant && e->params.reuse_prefix != 2)
            n_steps = umpire_plan_invariant(&p, e->params.n_batch, ends, n_ends, 0, steps);
        else /* token by token, a restart need not fall on a block bound: whole batches, as llama.cpp's own */
            n_steps = umpire_plan_blocks(&p, e->params.reuse_prefix == 2 ? e->params.n_batch : e->block, ends, n_ends,
                                         steps);
    }
    if (rc == UMPIRE_OK && take_slot(e, &p, p.n_cells + cells_after, slot) != UMPIRE_OK)
        rc = umpire_fail(err, UMPIRE_EBUSY, "every slot is taken, or the context has no room for %d more cells next "
                         "to the running queries' (try again when one ends)", p.n_cells + cells_after);
    const int seq0 = rc == UMPIRE_OK ? umpire_slot_seq(e, *slot) : 0;
    struct umpire_slot *sl = rc == UMPIRE_OK ? &e->slot[*slot] : NULL;
    if (rc == UMPIRE_OK) {
        llama_memory_t mem = llama_get_memory(e->ctx);
        /* the prefix the KV holds already: decoding restarts at the last step that starts in it
         * (for the exact cache, exactly at its end only where the cached prompt's step started
         * there too, or ended) */
        size_t common = common_prefix(e, *slot, &p), first = 0;
        const int exact = e->params.reuse_prefix == 1;
        if (exact && e->invariant) { /* the batches from the restart (the cold plan's again if they would
                                        not give the rows from there the cold plan's classes) */
            size_t r = common ? umpire_plan_restart(&p, common, ends, n_ends) : 0;
            size_t warm = r ? umpire_plan_invariant(&p, e->params.n_batch, ends, n_ends, r, steps) : 0;
            n_steps = warm ? warm : r ? umpire_plan_invariant(&p, e->params.n_batch, ends, n_ends, 0, steps) : n_steps;
        } else {
            while (first + 1 < n_steps &&
                   (steps[first + 1] < common ||
                    (steps[first + 1] == common && (!exact || common == sl->cache.n || sl->cache.u[common].step))))
                first++;
        }
        if (e->params.reuse_prefix == 2) /* token by token: that step starts where the prompts part */
            steps[first] = common;
        llama_pos restart = 0;
        for (size_t i = 0; i < steps[first]; i++)
            restart += p.u[i].n_pos;
        sl->cache.n = 0; /* valid again only when this prefill completes */
        /* alone, the whole KV is the slot's (-1: every sequence; a clear when nothing is kept: of
           the cells, not their data, which zeroing cost a cold prefill more than the organism's
           whole prompt at n_ctx 8192; a cell left over is masked, its weight an exact 0) */
        const int alone = e->n_slots == 1;
        if (restart == 0 || !llama_memory_seq_rm(mem, alone ? -1 : seq0, restart, -1)) {
            if (alone)
                llama_memory_clear(mem, false);
            else
                llama_memory_seq_rm(mem, seq0, -1, -1);
            first = 0;
            restart = 0;
        }
        for (int s = 1; s <= e->params.k_max; s++) /* the other sequences shared the prompt's cells */
            llama_memory_seq_rm(mem, seq0 + s, -1, -1);
        sl->cells = p.n_cells + cells_after;
        e->stats.prompt_tokens += (uint64_t)p.n_cells;
        for (size_t i = 0; i < steps[first]; i++)
            e->stats.reused_tokens += (uint64_t)p.u[i].n_tokens;
        llama_set_embeddings(e->ctx, false);
        int middle = e->middle.on;
        e->middle.on = 0; /* only the last position's middle state is wanted */
        umpire_log_clear();
        llama_pos n_past = restart;
        struct llama_batch b = llama_batch_init(e->params.n_batch, 0, 1);
        for (size_t k = first; k < n_steps && rc == UMPIRE_OK; k++) {
            size_t u0 = steps[k], u1 = k + 1 < n_steps ? steps[k + 1] : p.n;
            if (p.u[u0].media) {
                if (mtmd_helper_eval_chunk_single(e->mctx, e->ctx, p.chunk[u0], n_past, seq0, e->params.n_batch, false,
                                                  &n_past) != 0)
                    rc = umpire_fail(err, UMPIRE_EINVAL, "prefill failed (%s)", umpire_log_last_error());
                continue;
            }
            int last = u1 == p.n; /* the step of the prompt's last token: its logits and states */
            llama_pos step_pos = n_past;
            if (last) { /* its hidden state through the graph callback (embeddings: every token an output) */
                e->final_on = !e->final_off;
                e->final_got = 0;
                e->middle.on = middle;
                if (middle && umpire_engine_middle_reserve(e, (int)(u1 - u0), err) != UMPIRE_OK) {
                    rc = UMPIRE_ENOMEM;
                    break;
                }
            }
            b.n_tokens = 0;
            for (size_t i = u0; i < u1; i++) {
                int j = b.n_tokens++;
                b.token[j] = p.u[i].tok;
                b.pos[j] = n_past++;
                b.n_seq_id[j] = 1;
                b.seq_id[j][0] = seq0;
                b.logits[j] = last && i + 1 == u1;
            }
            if (llama_decode(e->ctx, b) != 0)
                rc = umpire_fail(err, UMPIRE_EINVAL, "prefill failed (%s)", umpire_log_last_error());
            e->final_on = 0;
            if (last && rc == UMPIRE_OK && !e->final_got) { /* a graph without "result_norm": the step again, */
                llama_memory_seq_rm(mem, seq0, step_pos, -1);   /* with llama.cpp's embeddings */
                llama_set_embeddings(e->ctx, true);
                e->stats.prompt_redecoded++;
                if (llama_decode(e->ctx, b) != 0)
                    rc = umpire_fail(err, UMPIRE_EINVAL, "prefill failed (%s)", umpire_log_last_error());
                else
                    memcpy(e->prompt_phi, llama_get_embeddings_ith(e->ctx, -1), (size_t)e->n_embd * sizeof(float));
            }
        }
        llama_batch_free(b);
        if (rc == UMPIRE_OK) {
            if (middle && (e->middle.failed || e->middle.n_rows < 1))
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no layer output named %s in the graph: the middle-layer "
                                 "state is not available for this model", e->params.model_path, e->middle.name);
            else if (middle) /* the last row: the prompt's last token */
                memcpy(e->prompt_mid, e->middle.rows + (size_t)(e->middle.n_rows - 1) * (size_t)e->n_embd,
                       (size_t)e->n_embd * sizeof(float));
        }
        llama_set_embeddings(e->ctx, false);
        e->middle.on = middle;
        *n_prompt = (int)n_past;
        if (rc == UMPIRE_OK && p.n <= sl->cache.cap) { /* remember the prompt (the units only) */
            memcpy(sl->cache.u, p.u, p.n * sizeof *p.u);
            sl->cache.n = p.n;
        } else if (rc == UMPIRE_OK) {
            struct umpire_prompt_unit *g = realloc(sl->cache.u, p.n * sizeof *g);
            if (g) {
                sl->cache.u = g;
                sl->cache.cap = p.n;
                memcpy(g, p.u, p.n * sizeof *p.u);
                sl->cache.n = p.n;
            }
        }
        if (rc != UMPIRE_OK) { /* what it decoded is nobody's */
            llama_memory_seq_rm(mem, seq0, -1, -1);
            sl->cells = 0;
        }
    }
    if (rc == UMPIRE_OK)
        for (int s = 1; s < n_seq; s++)
            llama_memory_seq_cp(llama_get_memory(e->ctx), seq0, seq0 + s, -1, -1);
    if (chunks)
        mtmd_input_chunks_free(chunks);
    free(toks);
    free(text);
    free(p.u);
    free(p.chunk);
    free(steps);
    return rc;
}

void umpire_engine_stats(const struct umpire_engine *e, struct umpire_engine_stats *out) { *out = e->stats; }
