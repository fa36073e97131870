/* engine.c - a loaded model (and projector), and the shared first half of every query: the
 * chat-templated prompt with its media, prefilled once as sequence 0 and copied to the
 * other sequences. Sampling (sample.c) and teacher forcing (force.c) go on from there. */
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtmd-helper.h>

#include "core/status.h"
#include "engine/gguf_check.h"
#include "engine/log.h"
#include "io/path.h"

struct umpire_engine_params umpire_engine_default_params(void) {
    return (struct umpire_engine_params){.model_path = NULL,
                                         .mmproj_path = NULL,
                                         .n_ctx = 4096,
                                         .n_batch = 512,
                                         .n_threads = 0,
                                         .n_gpu_layers = -1,
                                         .k_max = 16,
                                         .verbose = 0};
}

int umpire_engine_open(const struct umpire_engine_params *p, struct umpire_engine **out, char *err) {
    *out = NULL;
    if (!p->model_path)
        return umpire_fail(err, UMPIRE_EINVAL, "no model given");
    if (p->k_max < 1 || p->k_max > UMPIRE_K_MAX)
        return umpire_fail(err, UMPIRE_EINVAL, "k_max must be in 1..%d", UMPIRE_K_MAX);
    umpire_set_verbose(p->verbose); /* routes the logs of the checks too */
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
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)p->n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t)p->n_batch;
    cp.n_seq_max = (uint32_t)p->k_max + 1; /* k samples and the low-temperature answer */
    cp.kv_unified = true;                  /* the prompt's cells are shared, not copied */
    cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
    cp.embeddings = false; /* turned on after the prefill: else every prompt token is an output */
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
    free(e);
}

int umpire_engine_n_embd(const struct umpire_engine *e) { return e->n_embd; }

/* The user turn: one media marker per file, then the question and the instruction. */
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
    strcat(s, q->question);
    if (instr[0]) {
        strcat(s, "\n");
        strcat(s, instr);
    }
    return s;
}

char *umpire_engine_prompt_text(struct umpire_engine *e, const struct umpire_query *q, size_t n_media) {
    char *user = user_content(q, n_media);
    if (!user)
        return NULL;
    struct llama_chat_message msgs[2];
    size_t n = 0;
    if (q->system && q->system[0])
        msgs[n++] = (struct llama_chat_message){"system", q->system};
    msgs[n++] = (struct llama_chat_message){"user", user};
    const char *tmpl = llama_model_chat_template(e->model, NULL);
    const char *prefix = q->answer_prefix ? q->answer_prefix : "";
    int len = tmpl ? llama_chat_apply_template(tmpl, msgs, n, true, NULL, 0) : -1;
    char *out = NULL;
    if (len >= 0 && (out = malloc((size_t)len + strlen(prefix) + 1))) {
        llama_chat_apply_template(tmpl, msgs, n, true, out, len + 1);
        strcpy(out + len, prefix);
    } else if (len < 0) { /* no template, or one llama.cpp does not know: a plain prompt */
        size_t m = strlen(user) + (q->system ? strlen(q->system) : 0) + strlen(prefix) + 32;
        if ((out = malloc(m)))
            snprintf(out, m, "%s%s%s\n%s", q->system ? q->system : "", q->system ? "\n\n" : "", user,
                     q->answer_prefix ? prefix : "Answer:");
    }
    free(user);
    return out;
}

/* Load the query's media as bitmaps, images then audio, each checked to be what its flag says. */
static int load_media(struct umpire_engine *e, const struct umpire_query *q, mtmd_bitmap **bitmaps, char *err) {
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
        }
    }
    return 0;
}

int umpire_engine_prefill(struct umpire_engine *e, const struct umpire_query *q, int n_seq, int cells_after,
                          int *n_prompt, char *err) {
    if (!q->question || !q->question[strspn(q->question, " \t\r\n")])
        return umpire_fail(err, UMPIRE_EINVAL, "the question is empty");
    size_t n_media = q->n_images + q->n_audio;
    if (n_media && !e->mctx)
        return umpire_fail(err, UMPIRE_EINVAL, "%s given, but %s is a text-only model here (add --mmproj)",
                           q->n_images ? "an image" : "audio", e->params.model_path);
    if (q->n_images && !mtmd_support_vision(e->mctx))
        return umpire_fail(err, UMPIRE_EINVAL, "%s reads no images", e->params.mmproj_path);
    if (q->n_audio && !mtmd_support_audio(e->mctx))
        return umpire_fail(err, UMPIRE_EINVAL, "%s reads no audio", e->params.mmproj_path);
    if (n_seq < 1 || n_seq > e->params.k_max + 1)
        return umpire_fail(err, UMPIRE_EINVAL, "%d sequences asked for, the engine was opened for %d", n_seq,
                           e->params.k_max + 1);
    char *text = umpire_engine_prompt_text(e, q, n_media);
    mtmd_bitmap **bitmaps = calloc(n_media ? n_media : 1, sizeof *bitmaps);
    mtmd_input_chunks *chunks = NULL;
    llama_token *toks = NULL;
    int rc = !text || !bitmaps ? umpire_fail(err, UMPIRE_ENOMEM, "out of memory") : UMPIRE_OK;
    int n = 0;
    if (rc == UMPIRE_OK && e->mctx) {
        if ((rc = load_media(e, q, bitmaps, err)) == UMPIRE_OK) {
            chunks = mtmd_input_chunks_init();
            mtmd_input_text in = {text, strlen(text), true, true};
            umpire_log_clear();
            if (mtmd_tokenize(e->mctx, chunks, &in, (const mtmd_bitmap **)bitmaps, n_media) != 0)
                rc = umpire_fail(err, UMPIRE_EINVAL, "the prompt and its media do not tokenize (%s)",
                                 umpire_log_last_error());
            else
                n = (int)mtmd_helper_get_n_tokens(chunks); /* KV cells; positions come back from the prefill */
        }
    } else if (rc == UMPIRE_OK) {
        int len = (int)strlen(text);
        n = -llama_tokenize(e->vocab, text, len, NULL, 0, true, true);
        if (n <= 0 || !(toks = malloc((size_t)n * sizeof *toks)) ||
            llama_tokenize(e->vocab, text, len, toks, n, true, true) != n)
            rc = umpire_fail(err, UMPIRE_EINVAL, "the prompt does not tokenize");
    }
    if (rc == UMPIRE_OK && n + cells_after > (int)llama_n_ctx(e->ctx))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "the prompt (%d tokens) and the answers (%d more) do not fit the context of %u tokens;"
                         " raise --ctx-size or lower -k / --max-tokens",
                         n, cells_after, llama_n_ctx(e->ctx));
    if (rc == UMPIRE_OK) {
        llama_memory_clear(llama_get_memory(e->ctx), true);
        llama_set_embeddings(e->ctx, false);
        umpire_log_clear();
        llama_pos n_past = 0;
        if (chunks) {
            if (mtmd_helper_eval_chunks(e->mctx, e->ctx, chunks, 0, 0, e->params.n_batch, true, &n_past) != 0)
                rc = umpire_fail(err, UMPIRE_EINVAL, "prefill failed (%s)", umpire_log_last_error());
        } else {
            for (int i = 0; i < n && rc == UMPIRE_OK; i += e->params.n_batch) {
                int m = n - i < e->params.n_batch ? n - i : e->params.n_batch;
                struct llama_batch b = llama_batch_get_one(toks + i, m);
                if (llama_decode(e->ctx, b) != 0) /* get_one: the last token's logits only */
                    rc = umpire_fail(err, UMPIRE_EINVAL, "prefill failed (%s)", umpire_log_last_error());
            }
            n_past = n;
        }
        *n_prompt = (int)n_past;
    }
    if (rc == UMPIRE_OK)
        for (int s = 1; s < n_seq; s++)
            llama_memory_seq_cp(llama_get_memory(e->ctx), 0, s, -1, -1);
    for (size_t i = 0; i < n_media && bitmaps; i++)
        if (bitmaps[i])
            mtmd_bitmap_free(bitmaps[i]);
    free(bitmaps);
    if (chunks)
        mtmd_input_chunks_free(chunks);
    free(toks);
    free(text);
    return rc;
}

void umpire_next_token_stats(const float *logits, int n_vocab, llama_token tok, double *logprob, double *entropy) {
    double mx = logits[0];
    for (int v = 1; v < n_vocab; v++)
        mx = logits[v] > mx ? logits[v] : mx;
    double z = 0.0, s = 0.0; /* z = sum e^(l - mx), s = sum e^(l - mx) (l - mx) */
    for (int v = 0; v < n_vocab; v++) {
        double d = logits[v] - mx, ex = exp(d);
        z += ex;
        s += ex * d;
    }
    double logz = log(z);
    *logprob = logits[tok] - mx - logz;
    *entropy = logz - s / z; /* -sum p log p with log p = d - log z */
}

/* Length of the valid UTF-8 character at s (1-4), or 0 when the bytes are not one. */
static size_t utf8_len(const unsigned char *s, size_t left) {
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || n > left || (n == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

char *umpire_clean_text(const char *t) {
    t = t ? t : "";
    size_t a = strspn(t, " \t\r\n"), b = strlen(t);
    while (b > a && strchr(" \t\r\n", t[b - 1]))
        b--;
    char *out = malloc(3 * (b - a) + 1), *o = out;
    for (size_t i = a; out && i < b;) {
        size_t n = utf8_len((const unsigned char *)t + i, b - i);
        if (n) {
            memcpy(o, t + i, n);
            o += n;
            i += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    if (out)
        *o = '\0';
    return out;
}
