/* engine.c - a loaded model (and projector): the chat-templated prompt of a query, its media
 * files, and the per-token statistics everything reads. The prefill (prefill.c) puts the prompt
 * in the KV cache; sampling (sample.c) and teacher forcing (force.c) go on from there. */
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtmd-helper.h>

#include "core/hash.h"
#include "core/image_noise.h"
#include "core/logprob.h"
#include "core/status.h"
#include "core/utf8.h"
#include "engine/gguf_check.h"
#include "engine/log.h"
#include "io/path.h"

struct umpire_engine_params umpire_engine_default_params(void) {
    return (struct umpire_engine_params){.model_path = NULL,
                                         .mmproj_path = NULL,
                                         .n_ctx = 4096,
                                         .n_batch = 512,
                                         .prefill_block = 0,
                                         .n_threads = 0,
                                         .n_gpu_layers = -1,
                                         .k_max = 16,
                                         .reuse_prefix = 1,
                                         .n_slots = 1};
}

/* ggml's graph callback: hands over the middle layer's output while that capture is on, and the
 * final norm's last row ("result_norm", the hidden state llama.cpp's embeddings read) while the
 * prefill asks for it. */
static bool middle_cb(struct ggml_tensor *t, bool ask, void *user) {
    struct umpire_engine *e = user;
    int is_final = e->final_on && !strcmp(t->name, "result_norm");
    if (!is_final && (!e->middle.on || strcmp(t->name, e->middle.name) != 0))
        return false;
    if (ask)
        return true;
    int rows = (int)ggml_nrows(t);
    if (is_final) { /* the outputs' rows: the prompt's last token's is the last */
        if (t->type == GGML_TYPE_F32 && t->ne[0] == e->n_embd && ggml_is_contiguous(t) && rows >= 1) {
            ggml_backend_tensor_get(t, e->prompt_phi, (size_t)(rows - 1) * (size_t)e->n_embd * sizeof(float),
                                    (size_t)e->n_embd * sizeof(float));
            e->final_got = 1;
        }
        return true;
    }
    if (t->type != GGML_TYPE_F32 || t->ne[0] != e->n_embd || !ggml_is_contiguous(t) || rows > (int)e->middle.cap_rows) {
        e->middle.failed = 1;
        return true;
    }
    ggml_backend_tensor_get(t, e->middle.rows, 0, (size_t)rows * (size_t)e->n_embd * sizeof(float));
    e->middle.n_rows = rows;
    return true;
}

int umpire_engine_middle_layer(const struct umpire_engine *e) {
    int il = (e->n_layer + 1) / 2 - 1;
    return il < 0 ? 0 : il;
}

int umpire_engine_middle_reserve(struct umpire_engine *e, int rows, char *err) {
    if ((size_t)rows <= e->middle.cap_rows)
        return UMPIRE_OK;
    float *g = realloc(e->middle.rows, (size_t)rows * (size_t)e->n_embd * sizeof *g);
    if (!g)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    e->middle.rows = g;
    e->middle.cap_rows = (size_t)rows;
    return UMPIRE_OK;
}

int umpire_engine_middle_capture(struct umpire_engine *e, int on, int rows, char *err) {
    e->middle.on = 0;
    e->middle.n_rows = 0;
    e->middle.failed = 0;
    if (!on)
        return UMPIRE_OK;
    if (umpire_engine_middle_reserve(e, rows, err) != UMPIRE_OK)
        return UMPIRE_ENOMEM;
    if (!e->prompt_mid && !(e->prompt_mid = malloc((size_t)e->n_embd * sizeof *e->prompt_mid)))
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    e->middle.il = umpire_engine_middle_layer(e);
    snprintf(e->middle.name, sizeof e->middle.name, "l_out-%d", e->middle.il);
    e->middle.on = 1;
    return UMPIRE_OK;
}

int umpire_engine_open(const struct umpire_engine_params *p, struct umpire_engine **out, char *err) {
    *out = NULL;
    if (!p->model_path)
        return umpire_fail(err, UMPIRE_EINVAL, "no model given");
    if (p->k_max < 1 || p->k_max > UMPIRE_K_MAX)
        return umpire_fail(err, UMPIRE_EINVAL, "k_max must be in 1..%d", UMPIRE_K_MAX);
    if (p->reuse_prefix < 0 || p->reuse_prefix > 2)
        return umpire_fail(err, UMPIRE_EINVAL, "reuse_prefix = %d: 0 (off), 1 (in prefill blocks) or 2 (token by token)",
                           p->reuse_prefix);
    if (p->n_slots < 1 || p->n_slots * (p->k_max + 1) > 256)
        return umpire_fail(err, UMPIRE_EINVAL, "n_slots = %d with k_max = %d: need 1 <= n_slots and n_slots * (k_max + 1)"
                           " <= 256 (llama.cpp's sequences)", p->n_slots, p->k_max);
    if (p->n_batch < 1 || p->prefill_block < 0 || p->prefill_block > p->n_batch)
        return umpire_fail(err, UMPIRE_EINVAL, "n_batch = %d, prefill_block = %d: need 0 <= prefill_block <= n_batch",
                           p->n_batch, p->prefill_block);
    int rc = umpire_gguf_check_model(p->model_path, err);
    if (rc != UMPIRE_OK ||
        (p->mmproj_path && (rc = umpire_gguf_check_projector(p->mmproj_path, err)) != UMPIRE_OK))
        return rc;
    umpire_log_clear();
    llama_backend_init();
    struct umpire_engine *e = calloc(1, sizeof *e);
    if (!e)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    e->params = *p;
    struct llama_model_params mp = llama_model_default_params();
    if (p->n_gpu_layers >= 0)
        mp.n_gpu_layers = p->n_gpu_layers;
    e->model = llama_model_load_from_file(p->model_path, mp);
    if (!e->model) {
        free(e);
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not a model llama.cpp can load (%s)", p->model_path,
                           umpire_log_last_error());
    }
    e->vocab = llama_model_get_vocab(e->model);
    e->n_vocab = llama_vocab_n_tokens(e->vocab);
    e->n_embd = llama_model_n_embd(e->model);
    e->n_layer = llama_model_n_layer(e->model);
    e->n_slots = p->n_slots;
    e->final_off = getenv("UMPIRE_PREFILL_EMBEDDINGS") != NULL;
    /* The prefill's plan: the CPU's batch-invariant one where every device is a CPU (another
     * backend's kernels, or a GPU that ggml hands large batches to, may round a row by its
     * batch's size), room for two batches of 64; else blocks of 64 positions (prefill.c). */
    int cpu_only = 1;
    for (size_t d = 0; d < ggml_backend_dev_count(); d++)
        cpu_only &= ggml_backend_dev_type(ggml_backend_dev_get(d)) == GGML_BACKEND_DEVICE_TYPE_CPU;
    e->invariant = p->prefill_block == 0 && cpu_only && p->n_batch >= 128;
    e->block = p->prefill_block ? p->prefill_block : p->n_batch < 64 ? p->n_batch : 64;
    e->slot = calloc((size_t)p->n_slots, sizeof *e->slot);
    e->batch = llama_batch_init(p->n_slots * (p->k_max + 1), 0, 1);
    if (!(e->prompt_phi = malloc((size_t)e->n_embd * sizeof *e->prompt_phi)) || !e->slot || !e->batch.token) {
        umpire_engine_close(e);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)p->n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t)p->n_batch;
    cp.n_seq_max = (uint32_t)(p->n_slots * (p->k_max + 1)); /* per slot: k samples and the low-temperature answer */
    cp.kv_unified = true;                  /* the prompt's cells are shared, not copied */
    cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
    cp.embeddings = false; /* turned on after the prefill: else every prompt token is an output */
    cp.cb_eval = middle_cb; /* inert until a middle-layer capture is asked for */
    cp.cb_eval_user_data = e;
    if (p->n_threads > 0)
        cp.n_threads = cp.n_threads_batch = p->n_threads;
    e->ctx = llama_init_from_model(e->model, cp);
    if (!e->ctx) {
        umpire_engine_close(e);
        return umpire_fail(err, UMPIRE_EINVAL, "%s: cannot create a context of %d tokens (%s)", p->model_path,
                           p->n_ctx, umpire_log_last_error());
    }
    if (p->mmproj_path) {
        struct mtmd_context_params mcp = mtmd_context_params_default();
        mcp.use_gpu = p->n_gpu_layers != 0;
        mcp.print_timings = false;
        mcp.warmup = false;
        if (p->n_threads > 0)
            mcp.n_threads = p->n_threads;
        umpire_log_clear();
        e->mctx = mtmd_init_from_file(p->mmproj_path, e->model, mcp);
        if (!e->mctx) {
            umpire_engine_close(e);
            return umpire_fail(err, UMPIRE_EINVAL, "%s: projector does not load with %s (%s)", p->mmproj_path,
                               p->model_path, umpire_log_last_error());
        }
    }
    *out = e;
    return UMPIRE_OK;
}

void umpire_engine_close(struct umpire_engine *e) {
    if (!e)
        return;
    if (e->mctx)
        mtmd_free(e->mctx);
    if (e->ctx)
        llama_free(e->ctx);
    if (e->model)
        llama_model_free(e->model);
    free(e->prompt_phi);
    free(e->prompt_mid);
    for (int i = 0; e->slot && i < e->n_slots; i++)
        free(e->slot[i].cache.u);
    free(e->slot);
    if (e->batch.token)
        llama_batch_free(e->batch);
    free(e->middle.rows);
    for (size_t i = 0; i < UMPIRE_ENDS_MEMO; i++) {
        free(e->ends_memo[i].msgs);
        free(e->ends_memo[i].toks);
        free(e->ends_memo[i].n_toks);
    }
    free(e);
}

int umpire_engine_token_piece(const struct umpire_engine *e, int32_t token, char *buf, size_t cap) {
    if (token < 0 || token >= e->n_vocab || cap > INT32_MAX)
        return -1;
    return llama_token_to_piece(e->vocab, token, buf, (int32_t)cap, 0, false);
}

int umpire_engine_n_embd(const struct umpire_engine *e) { return e->n_embd; }

const char *umpire_prompt_style_name(enum umpire_prompt_style st) {
    return st == UMPIRE_PROMPT_REFERENCE ? "reference" : "suffix";
}

int umpire_prompt_style_parse(const char *name, enum umpire_prompt_style *st) {
    if (!strcmp(name, "suffix"))
        *st = UMPIRE_PROMPT_SUFFIX;
    else if (!strcmp(name, "reference"))
        *st = UMPIRE_PROMPT_REFERENCE;
    else
        return -1;
    return 0;
}

/* The user turn: one media marker per file, then the question and the instruction in the
 * query's style. */
static char *user_content(const struct umpire_query *q, size_t n_media) {
    const char *instr = q->instruction ? q->instruction : UMPIRE_DEFAULT_INSTRUCTION;
    const char *marker = mtmd_default_marker();
    size_t n = strlen(q->question) + strlen(instr) + n_media * (strlen(marker) + 1) + 4;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n_media; i++) {
        strcat(s, marker);
        strcat(s, "\n");
    }
    if (q->style == UMPIRE_PROMPT_REFERENCE && instr[0]) {
        strcat(s, instr);
        strcat(s, " ");
    }
    strcat(s, q->question);
    if (q->style != UMPIRE_PROMPT_REFERENCE && instr[0]) {
        strcat(s, "\n");
        strcat(s, instr);
    }
    return s;
}

/* The plain prompt of a model without a (known) chat template: the system text, each earlier
 * turn on a line of its own ("User: ..." / "Assistant: ..."), the user turn, then the answer
 * prefix or "Answer:". */
static char *plain_prompt(const struct umpire_query *q, const char *user) {
    const char *prefix = q->answer_prefix ? q->answer_prefix : "Answer:";
    size_t m = strlen(user) + (q->system ? strlen(q->system) : 0) + strlen(prefix) + 32;
    for (size_t i = 0; i < q->n_history; i++)
        m += strlen(q->history[i].content) + 16;
    char *out = malloc(m);
    if (!out)
        return NULL;
    size_t at = (size_t)snprintf(out, m, "%s%s", q->system ? q->system : "", q->system ? "\n\n" : "");
    for (size_t i = 0; i < q->n_history; i++)
        at += (size_t)snprintf(out + at, m - at, "%s: %s\n", strcmp(q->history[i].role, "assistant") ? "User" : "Assistant",
                               q->history[i].content);
    snprintf(out + at, m - at, "%s\n%s", user, prefix);
    return out;
}

/* The query's messages for the chat template: system, the conversation so far, the user's
 * (user: its content); how many. */
static size_t messages(const struct umpire_query *q, const char *user, struct llama_chat_message *msgs) {
    size_t n = 0;
    if (q->system && q->system[0])
        msgs[n++] = (struct llama_chat_message){"system", q->system};
    for (size_t i = 0; i < q->n_history; i++) /* the conversation so far, oldest first */
        msgs[n++] = (struct llama_chat_message){q->history[i].role, q->history[i].content};
    msgs[n++] = (struct llama_chat_message){"user", user};
    return n;
}

/* The template's tokens for the first k messages: how many (-1: the template or the tokenizer
 * failed) and their hash. *text and *toks are scratch buffers. */
static int message_tokens(struct umpire_engine *e, const char *tmpl, const struct llama_chat_message *msgs, size_t k,
                          char **text, llama_token **toks, int *cap_toks, uint64_t *hash) {
    int len = llama_chat_apply_template(tmpl, msgs, k, false, NULL, 0);
    char *t = len > 0 ? realloc(*text, (size_t)len + 1) : NULL;
    if (!t)
        return -1;
    *text = t;
    llama_chat_apply_template(tmpl, msgs, k, false, t, len + 1);
    int m = llama_tokenize(e->vocab, t, len, *toks, *cap_toks, true, true);
    if (m < 0) { /* more than the buffer holds: once more with room */
        llama_token *g = realloc(*toks, (size_t)-m * sizeof *g);
        if (!g)
            return -1;
        *toks = g;
        *cap_toks = -m;
        m = llama_tokenize(e->vocab, t, len, *toks, *cap_toks, true, true);
    }
    if (m <= 0)
        return -1;
    *hash = umpire_fnv1a_bytes(UMPIRE_FNV1A_INIT, *toks, (size_t)m * sizeof **toks);
    return m;
}

/* A memo entry holding n messages' results. */
static int memo_room(struct umpire_ends_memo *memo, size_t n) {
    if (n <= memo->cap)
        return 0;
    uint64_t *h = realloc(memo->msgs, n * sizeof *h), *th = h ? realloc(memo->toks, n * sizeof *th) : NULL;
    if (h)
        memo->msgs = h;
    if (th)
        memo->toks = th;
    int *m = th ? realloc(memo->n_toks, n * sizeof *m) : NULL;
    if (!m)
        return -1;
    memo->n_toks = m;
    memo->cap = n;
    return 0;
}

size_t umpire_engine_message_ends(struct umpire_engine *e, const struct umpire_query *q, size_t n_media,
                                  const llama_token *lead, size_t n_lead, size_t *ends, size_t cap) {
    const char *tmpl = llama_model_chat_template(e->model, NULL);
    char *user = tmpl ? user_content(q, n_media) : NULL;
    struct llama_chat_message *msgs = user ? malloc((q->n_history + 2) * sizeof *msgs) : NULL;
    size_t n = msgs ? messages(q, user, msgs) : 0, got = 0;
    uint64_t *chain = n ? malloc(n * sizeof *chain) : NULL, *lead_h = chain ? malloc((n_lead + 1) * sizeof *lead_h) : NULL;
    if (!lead_h)
        n = 0;
    /* chain[k - 1]: the first k messages' roles and texts; lead_h[m]: the prompt's first m tokens */
    for (size_t k = 1; k < n; k++) {
        uint64_t h = umpire_fnv1a_str(k > 1 ? chain[k - 2] : UMPIRE_FNV1A_INIT, msgs[k - 1].role);
        h = umpire_fnv1a_bytes(h, "\x1f", 1);
        chain[k - 1] = umpire_fnv1a_bytes(umpire_fnv1a_str(h, msgs[k - 1].content), "\x1e", 1);
    }
    for (size_t i = 0; lead_h && i <= n_lead; i++)
        lead_h[i] = i ? umpire_fnv1a_bytes(lead_h[i - 1], &lead[i - 1], sizeof *lead) : UMPIRE_FNV1A_INIT;
    /* the memo entry of a recent query sharing the most first messages (a conversation's turn
       before), its results for them kept; else the least recently used, emptied */
    struct umpire_ends_memo *memo = &e->ends_memo[0];
    size_t shared = 0;
    for (size_t i = 0; i < UMPIRE_ENDS_MEMO; i++) {
        struct umpire_ends_memo *c = &e->ends_memo[i];
        size_t s = 0;
        while (s + 1 < n && s < c->n && c->msgs[s] == chain[s])
            s++;
        if (s > shared || (s == shared && !shared && c->used < memo->used)) {
            memo = c;
            shared = s;
        }
    }
    memo->n = shared;
    memo->used = ++e->ends_clock;
    if (n && memo_room(memo, n - 1) != 0)
        n = 0;
    char *text = NULL;
    llama_token *toks = NULL;
    int cap_toks = 0;
    /* the first k messages, no assistant turn opened: every message but the question's own (its end
     * would cost every prompt a decode step of its own for the few tokens that open the answer);
     * the last cap of a long conversation. A memo entry's results are only used where they are the
     * prompt's own first tokens (their hash), as a fresh tokenization's are */
    for (size_t k = n > cap + 1 ? n - cap : 1; k < n && got < cap; k++) {
        uint64_t hash = 0;
        int m = k <= shared ? memo->n_toks[k - 1] : -2;
        if (m == -2) { /* not in the memo: rendered and tokenized */
            m = message_tokens(e, tmpl, msgs, k, &text, &toks, &cap_toks, &hash);
            for (size_t j = memo->n; j + 1 < k; j++) /* messages skipped (beyond cap) */
                memo->msgs[j] = chain[j], memo->n_toks[j] = -2;
            memo->msgs[k - 1] = chain[k - 1];
            memo->n_toks[k - 1] = m;
            memo->toks[k - 1] = hash;
            memo->n = memo->n > k ? memo->n : k;
        } else
            hash = memo->toks[k - 1];
        if (m < 0 || (size_t)m > n_lead) /* the template failed, or more tokens than the prompt's: */
            break;                       /* so will the next */
        if (lead_h[m] == hash) /* the prompt's own tokens end there */
            ends[got++] = (size_t)m;
    }
    free(toks);
    free(text);
    free(lead_h);
    free(chain);
    free(msgs);
    free(user);
    return got;
}

char *umpire_engine_prompt_text(struct umpire_engine *e, const struct umpire_query *q, size_t n_media) {
    char *user = user_content(q, n_media);
    struct llama_chat_message *msgs = malloc((q->n_history + 2) * sizeof *msgs);
    if (!user || !msgs) {
        free(user);
        free(msgs);
        return NULL;
    }
    size_t n = messages(q, user, msgs);
    const char *tmpl = llama_model_chat_template(e->model, NULL);
    const char *prefix = q->answer_prefix ? q->answer_prefix : "";
    int len = tmpl ? llama_chat_apply_template(tmpl, msgs, n, true, NULL, 0) : -1;
    char *out = NULL;
    if (len >= 0 && (out = malloc((size_t)len + strlen(prefix) + 1))) {
        llama_chat_apply_template(tmpl, msgs, n, true, out, len + 1);
        strcpy(out + len, prefix);
    } else if (len < 0) /* no template, or one llama.cpp does not know: a plain prompt */
        out = plain_prompt(q, user);
    free(user);
    free(msgs);
    return out;
}

/* Replace image i's bitmap by a copy with the query's pixel noise; its id names the noise, so that
 * the prefix cache never takes one noisy image for another. 0, or -1 (out of memory). */
static int noisy(mtmd_bitmap **bm, const struct umpire_query *q, size_t i) {
    const uint32_t nx = mtmd_bitmap_get_nx(*bm), ny = mtmd_bitmap_get_ny(*bm);
    const size_t n = (size_t)nx * ny * 3;
    unsigned char *pix = malloc(n ? n : 1);
    if (!pix)
        return -1;
    memcpy(pix, mtmd_bitmap_get_data(*bm), n);
    const uint64_t seed = umpire_fnv1a_bytes(q->image_noise_seed, &i, sizeof i);
    umpire_image_add_noise(pix, n, q->image_noise, seed);
    mtmd_bitmap *out = mtmd_bitmap_init(nx, ny, pix);
    free(pix);
    if (!out)
        return -1;
    char id[256];
    const char *orig = mtmd_bitmap_get_id(*bm);
    snprintf(id, sizeof id, "%.160s+noise:%.17g:%016llx", orig ? orig : "", q->image_noise, (unsigned long long)seed);
    mtmd_bitmap_set_id(out, id);
    mtmd_bitmap_free(*bm);
    *bm = out;
    return 0;
}

/* Load the query's media as bitmaps, images then audio, each checked to be what its flag says. */
int umpire_engine_load_media(struct umpire_engine *e, const struct umpire_query *q, mtmd_bitmap **bitmaps, char *err) {
    size_t n = 0;
    for (size_t kind = 0; kind < 2; kind++) {
        const char *const *files = kind ? q->audio : q->images;
        size_t count = kind ? q->n_audio : q->n_images;
        for (size_t i = 0; i < count; i++) {
            int rc = umpire_regular_file(files[i], kind ? "audio" : "image", err);
            if (rc != UMPIRE_OK)
                return rc;
            umpire_log_clear();
            struct mtmd_helper_bitmap_wrapper w =
                mtmd_helper_bitmap_init_from_file(e->mctx, files[i], false, mtmd_helper_init_opt_default());
            if (!w.bitmap)
                return umpire_fail(err, UMPIRE_EINVAL, "%s: not a readable %s (%s)", files[i],
                                   kind ? "audio file (WAV, MP3, FLAC)" : "image (PNG, JPEG, BMP, GIF...)",
                                   umpire_log_last_error());
            bitmaps[n++] = w.bitmap;
            if (mtmd_bitmap_is_audio(w.bitmap) != (kind == 1))
                return umpire_fail(err, UMPIRE_EINVAL, "%s: is %s, given as %s", files[i],
                                   kind ? "an image" : "audio", kind ? "--audio" : "--image");
            if (kind == 0 && q->image_noise > 0 && noisy(&bitmaps[n - 1], q, i) != 0)
                return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        }
    }
    return 0;
}


int umpire_engine_media_ok(const struct umpire_engine *e, const struct umpire_query *q, char *err) {
    if ((q->n_images || q->n_audio) && !e->mctx)
        return umpire_fail(err, UMPIRE_EINVAL, "%s given, but %s is a text-only model here (add --mmproj)",
                           q->n_images ? "an image" : "audio", e->params.model_path);
    if (q->n_images && !mtmd_support_vision(e->mctx))
        return umpire_fail(err, UMPIRE_EINVAL, "%s reads no images", e->params.mmproj_path);
    if (q->n_audio && !mtmd_support_audio(e->mctx))
        return umpire_fail(err, UMPIRE_EINVAL, "%s reads no audio", e->params.mmproj_path);
    return UMPIRE_OK;
}

int umpire_engine_tokenize_media(struct umpire_engine *e, const struct umpire_query *q, const char *text,
                                 mtmd_input_chunks **out, char *err) {
    const size_t n_media = q->n_images + q->n_audio;
    mtmd_bitmap **bitmaps = calloc(n_media ? n_media : 1, sizeof *bitmaps);
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    int rc = bitmaps && chunks ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK && (rc = umpire_engine_load_media(e, q, bitmaps, err)) == UMPIRE_OK) {
        mtmd_input_text in = {text, strlen(text), true, true};
        umpire_log_clear();
        if (mtmd_tokenize(e->mctx, chunks, &in, (const mtmd_bitmap **)bitmaps, n_media) != 0)
            rc = umpire_fail(err, UMPIRE_EINVAL, "the prompt and its media do not tokenize (%s)",
                             umpire_log_last_error());
    }
    for (size_t i = 0; i < n_media && bitmaps; i++) /* the chunks hold what they need of them */
        if (bitmaps[i])
            mtmd_bitmap_free(bitmaps[i]);
    free(bitmaps);
    if (rc != UMPIRE_OK && chunks) {
        mtmd_input_chunks_free(chunks);
        chunks = NULL;
    }
    *out = chunks;
    return rc;
}

void umpire_logits_stats(const float *logits, int n_vocab, struct umpire_logits_stats *st) {
    struct umpire_softmax s;
    umpire_softmax_row_f32(logits, (size_t)n_vocab, &s);
    st->max = s.max;
    st->logz = s.logz;
    st->entropy = s.entropy;
}

void umpire_next_token_stats(const float *logits, int n_vocab, llama_token tok, double *logprob, double *entropy) {
    struct umpire_logits_stats st;
    umpire_logits_stats(logits, n_vocab, &st);
    *logprob = logits[tok] - st.max - st.logz;
    *entropy = st.entropy;
}

char *umpire_clean_text(const char *t) {
    t = t ? t : "";
    size_t a = strspn(t, " \t\r\n"), b = strlen(t);
    while (b > a && strchr(" \t\r\n", t[b - 1]))
        b--;
    return umpire_utf8_repair(t + a, b - a, NULL);
}
