/* engine.h - what engine.c, sample.c and force.c share inside the library. */
#ifndef UMPIRE_ENGINE_ENGINE_H
#define UMPIRE_ENGINE_ENGINE_H

#include <llama.h>
#include <mtmd.h>

#include "umpire.h"

#define UMPIRE_K_MAX 64

/* A unit of a prompt in the KV cache (prefill.c): a text token, or a media chunk. */
struct umpire_prompt_unit {
    llama_token tok;
    uint64_t media; /* 0: a text token; else the media chunk's id hash */
    int n_pos, n_tokens;
    int step; /* a prefill step (a batch, or a media chunk) starts here */
    int cls;  /* the batch-invariant plan: the kernels its row took (plan.c's row_class) */
};

/* What umpire_engine_message_ends found for a recent query (engine.c), so that a conversation's
 * next turn renders and tokenizes only its new messages: for its first k messages (msgs[k - 1],
 * a chain hash of their roles and texts), the chat template's tokens for them: how many
 * (n_toks[k - 1]; -1: the template or tokenizer failed, -2: not computed) and their hash. */
#define UMPIRE_ENDS_MEMO 4
struct umpire_ends_memo {
    uint64_t *msgs, *toks;
    int *n_toks;
    size_t n, cap;
    uint64_t used; /* when last used (ends_clock) */
};

struct umpire_engine {
    struct umpire_engine_params params;
    struct llama_model *model;
    struct llama_context *ctx;
    mtmd_context *mctx; /* NULL without a projector */
    const struct llama_vocab *vocab;
    int n_vocab, n_embd, n_layer;
    /* The prefill's last position: its hidden state (after the final norm) and, when
     * middle.on, the middle layer's: the states where an answer's first token is drawn. */
    float *prompt_phi, *prompt_mid;
    /* While final_on, the graph callback copies the final norm's last row into prompt_phi and
     * sets final_got (the prefill's last step: llama.cpp's embeddings would make every token
     * of that step an output, each with its vocabulary projection). */
    int final_on, final_got;
    int final_off; /* UMPIRE_PREFILL_EMBEDDINGS set at open: always llama.cpp's embeddings (tests) */
    /* The prefill's plan (plan.c): invariant, the CPU's (batches of n_batch, a restart at
     * any fourth token); else blocks of `block` positions */
    int invariant, block;
    struct umpire_ends_memo ends_memo[UMPIRE_ENDS_MEMO];
    uint64_t ends_clock;
    /* The middle layer's output ("l_out-<il>", INSIDE's layer) of every decode while on:
     * rows[r * n_embd ..] for the decode's row r (cb_eval; engine.c). */
    struct {
        int on, il, n_rows, failed;
        char name[32];
        float *rows;
        size_t cap_rows;
    } middle;
    /* Slots: the queries decoded together (params.n_slots; 1 unless a server batches them).
     * Slot i owns the KV sequences i * (k_max + 1) .. (i + 1) * (k_max + 1) - 1. */
    struct umpire_slot *slot;
    int n_slots, running;      /* running: slots with a query decoding (sample.c) */
    struct llama_batch batch;  /* one decode step of every running query's answers */
    struct umpire_engine_stats stats;
};

struct umpire_asking; /* sample.c: one query's answers while they decode */

struct umpire_slot {
    /* The prompt the slot's first sequence holds (its first units, up to the last prefill's
     * prompt), for the prefix cache; n = 0 when nothing is known about the KV's content. */
    struct {
        struct umpire_prompt_unit *u;
        size_t n, cap;
    } cache;
    int cells;                 /* KV cells it holds or has reserved: its prompt's, and while a
                                  query decodes there, room for every answer's tokens */
    struct umpire_asking *ask; /* the query decoding there, or NULL */
};

/* The first KV sequence of slot i. */
static inline int umpire_slot_seq(const struct umpire_engine *e, int slot) { return slot * (e->params.k_max + 1); }

/* Forget what the KV holds (after a decode that put other prompts there). */
void umpire_engine_forget(struct umpire_engine *e);
/* UMPIRE_EINVAL with err unless no query is decoding: calls that use the whole KV (teacher
 * forcing, the judges) run alone. */
int umpire_engine_alone(const struct umpire_engine *e, const char *what, char *err);
/* Load the query's media as bitmaps, images then audio, each checked to be what its flag says. */
int umpire_engine_load_media(struct umpire_engine *e, const struct umpire_query *q, mtmd_bitmap **bitmaps, char *err);
/* Whether the engine can read the query's media: a projector, for images one that reads them,
 * for audio one that reads it. 0, or UMPIRE_EINVAL with err. */
int umpire_engine_media_ok(const struct umpire_engine *e, const struct umpire_query *q, char *err);
/* The prompt text with the query's media (loaded here, freed here: the chunks keep what they
 * need) through libmtmd's tokenizer: 0 and *out (free with mtmd_input_chunks_free), or a
 * negative status with err (*out NULL). For the prefill and the gradient graph's input rows. */
int umpire_engine_tokenize_media(struct umpire_engine *e, const struct umpire_query *q, const char *text,
                                 mtmd_input_chunks **out, char *err);

/* INSIDE's middle layer of an n_layer model: HF's hidden_states[(n_layer + 1) / 2], the output
 * of block (n_layer + 1) / 2 - 1 (0-based). */
int umpire_engine_middle_layer(const struct umpire_engine *e);
/* Room for `rows` rows of middle-layer states. Returns 0, or UMPIRE_ENOMEM with err. */
int umpire_engine_middle_reserve(struct umpire_engine *e, int rows, char *err);
/* Capture the middle layer's rows on the following decodes (up to `rows` rows each), or stop.
 * Returns 0, or UMPIRE_ENOMEM. */
int umpire_engine_middle_capture(struct umpire_engine *e, int on, int rows, char *err);

/* Build the query's prompt (chat template, media markers), check that it and cells_after
 * more tokens fit the context, prefill it as the slot's first sequence and copy it to the
 * slot's next n_seq - 1. *slot: the slot to use, or -1 for the free one whose cached prompt
 * shares the most with this one (set on return). After it, the last decode's output is the
 * prompt's last position (its logits at -1) and e->prompt_phi (and, while the middle capture
 * is on, e->prompt_mid) hold its states; embeddings are off. *n_prompt receives the next
 * position. Returns 0, UMPIRE_EBUSY when no slot is free or the context cannot hold the
 * prompt and answers next to the running queries' (it could alone), or another negative
 * status with err naming the problem (empty question, media on a text-only model, unreadable
 * or mistyped media file, context too small...). */
int umpire_engine_prefill(struct umpire_engine *e, const struct umpire_query *q, int n_seq, int cells_after,
                          int *slot, int *n_prompt, char *err);

/* The prompt text of a query through the model's chat template (or a plain one when it has
 * none), with n_media media markers, then its answer_prefix. A new string, NULL when out of
 * memory. */
char *umpire_engine_prompt_text(struct umpire_engine *e, const struct umpire_query *q, size_t n_media);
/* Where the query's messages end in its prompt: for the first k messages (k = 1 .. all but the
 * question's own turn; the chat template without the assistant's turn opened), how many tokens
 * they take, when those tokens
 * are the first ones of lead (the prompt's leading text tokens, n_lead of them). Those of the
 * last cap messages at most, ascending, in ends; how many. None without a chat template. */
size_t umpire_engine_message_ends(struct umpire_engine *e, const struct umpire_query *q, size_t n_media,
                                  const llama_token *lead, size_t n_lead, size_t *ends, size_t cap);

/* softmax(logits) in one pass: log p(v) = logits[v] - max - logz; entropy = -sum p log p. */
struct umpire_logits_stats {
    double max, logz, entropy;
};
void umpire_logits_stats(const float *logits, int n_vocab, struct umpire_logits_stats *st);

/* Log-probability of tok and the entropy of the full distribution softmax(logits). */
void umpire_next_token_stats(const float *logits, int n_vocab, llama_token tok, double *logprob,
                             double *entropy);

/* An answer's text without surrounding white space, as a new string in which every ill-formed
 * UTF-8 part (a token cut inside a character; an overlong, a surrogate, a code point above
 * U+10FFFF) became U+FFFD, so that every output is valid JSON for strict decoders. NULL when
 * out of memory. */
char *umpire_clean_text(const char *t);

#endif
