/* test_engine.c - k answers from one prefill, on the generated test models: determinism,
 * what each sample carries, agreement between sampling and teacher forcing (the black-box
 * proxy), image and audio input, and every bad input named in the engine issue.
 * Usage: test_engine MODELS_DIR WORK_DIR */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/draw.h"
#include "engine/engine.h"
#include "umpire.h"

#define CLOSE_TO(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static const char *models_dir, *work_dir;
static struct umpire_engine *text_engine; /* tiny.gguf, text only, shared by the text tests */

static const char *path_in(const char *dir, const char *name) {
    static char buf[8][4096];
    static int slot;
    slot = (slot + 1) % 8;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
    return buf[slot];
}

/* The tests' engine parameters: the model (and projector) in the models folder, 2 threads. */
static struct umpire_engine_params test_params(const char *model, const char *mmproj, int n_ctx, int k_max) {
    struct umpire_engine_params p = umpire_engine_default_params();
    p.model_path = path_in(models_dir, model);
    p.mmproj_path = mmproj ? path_in(models_dir, mmproj) : NULL;
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    p.k_max = k_max;
    return p;
}

static struct umpire_engine *open_params(const struct umpire_engine_params *p) {
    struct umpire_engine *e = NULL;
    char err[UMPIRE_ERR_LEN];
    if (umpire_engine_open(p, &e, err) != 0)
        fprintf(stderr, "open: %s\n", err);
    return e;
}

static struct umpire_engine *open_engine(const char *model, const char *mmproj, int n_ctx, int k_max) {
    struct umpire_engine_params p = test_params(model, mmproj, n_ctx, k_max);
    return open_params(&p);
}

/* An engine with n_slots slots and the prefix cache reuse_prefix (0, 1 exact, 2 token by token). */
static struct umpire_engine *open_slots(const char *model, int n_ctx, int k_max, int n_slots, int reuse_prefix) {
    struct umpire_engine_params p = test_params(model, NULL, n_ctx, k_max);
    p.n_slots = n_slots;
    p.reuse_prefix = reuse_prefix;
    return open_params(&p);
}

/* An engine with the prefill plan prefill_block (0: the CPU's batch-invariant one; n: blocks of n). */
static struct umpire_engine *open_plan(const char *model, int n_ctx, int k_max, int prefill_block) {
    struct umpire_engine_params p = test_params(model, NULL, n_ctx, k_max);
    p.prefill_block = prefill_block;
    return open_params(&p);
}

/* A document of n - 1 bytes: one sentence over and over. */
static void river_doc(char *doc, size_t n) {
    memset(doc, 0, n);
    for (size_t i = 0; i + 40 < n; i += 40)
        memcpy(doc + i, "The river runs north past the old mill. ", 40);
}

static int ask(struct umpire_engine *e, const struct umpire_query *q, int k, uint64_t seed, struct umpire_item *it,
               char *err) {
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = k;
    sp.seed = seed;
    sp.max_tokens = 16;
    return umpire_engine_ask(e, q, &sp, it, err);
}

static int same_answer(const struct umpire_answer *a, const struct umpire_answer *b, size_t dim) {
    return a->n_tokens == b->n_tokens && !memcmp(a->tokens, b->tokens, a->n_tokens * sizeof *a->tokens) &&
           !memcmp(a->logprobs, b->logprobs, a->n_tokens * sizeof *a->logprobs) &&
           !memcmp(a->embedding, b->embedding, dim * sizeof *a->embedding) && !strcmp(a->text, b->text);
}

/* The header's version macros are the library's version. */
static void test_version(void **state) {
    (void)state;
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", UMPIRE_VERSION_MAJOR, UMPIRE_VERSION_MINOR, UMPIRE_VERSION_PATCH);
    assert_string_equal(umpire_version(), v);
}

static void test_same_seed_same_output(void **state) {
    (void)state;
    struct umpire_query q = {.question = "What is the capital of France?"};
    struct umpire_item a, b;
    assert_int_equal(ask(text_engine, &q, 6, 7, &a, NULL), 0);
    assert_int_equal(ask(text_engine, &q, 6, 7, &b, NULL), 0);
    for (size_t i = 0; i < a.k; i++)
        assert_true(same_answer(&a.samples[i], &b.samples[i], a.dim));
    assert_true(same_answer(&a.greedy, &b.greedy, a.dim));
    umpire_item_free(&a);
    umpire_item_free(&b);
}

static void test_seeds_give_distinct_samples(void **state) {
    (void)state;
    struct umpire_query q = {.question = "What is the capital of France?"};
    struct umpire_item a, b;
    assert_int_equal(ask(text_engine, &q, 8, 7, &a, NULL), 0);
    assert_int_equal(ask(text_engine, &q, 8, 8, &b, NULL), 0);
    int differ_across = 0, distinct_within = 0;
    for (size_t i = 0; i < a.k; i++) {
        differ_across += !same_answer(&a.samples[i], &b.samples[i], a.dim);
        distinct_within += i > 0 && !same_answer(&a.samples[i], &a.samples[0], a.dim);
    }
    assert_true(differ_across >= 6);   /* another seed: (nearly) all samples change */
    assert_true(distinct_within >= 4); /* one seed: the k samples are not one answer k times */
    /* nor is seed 8's answer i seed 7's answer i + 1 (seeds are hashed, not offset) */
    int shifted = 0;
    for (size_t i = 0; i + 1 < a.k; i++)
        shifted += same_answer(&b.samples[i], &a.samples[i + 1], a.dim);
    assert_true(shifted < 3);
    umpire_item_free(&a);
    umpire_item_free(&b);
}

static void test_sample_contents(void **state) {
    (void)state;
    struct umpire_query q = {.question = "Name a colour.", .system = "You are terse."};
    struct umpire_item it;
    assert_int_equal(ask(text_engine, &q, 8, 3, &it, NULL), 0);
    assert_int_equal(it.k, 8);
    assert_int_equal(it.dim, umpire_engine_n_embd(text_engine));
    assert_int_equal(it.dim, 16);
    assert_non_null(it.greedy.logprobs);
    int ended_by_eos = 0;
    for (size_t i = 0; i <= it.k; i++) {
        const struct umpire_answer *a = i < it.k ? &it.samples[i] : &it.greedy;
        assert_true(a->n_tokens >= 1 && a->n_tokens <= 16);
        double norm = 0;
        for (size_t t = 0; t < a->n_tokens; t++) {
            assert_true(isfinite(a->logprobs[t]) && a->logprobs[t] <= 0);
            assert_true(a->entropies[t] >= 0 && a->entropies[t] <= log(32064.0) + 1e-9);
        }
        for (size_t d = 0; d < it.dim; d++) {
            assert_true(isfinite(a->embedding[d]));
            norm += a->embedding[d] * a->embedding[d];
        }
        assert_true(norm > 0);
        /* an answer shorter than max_tokens ended at EOS, which is kept as its last token */
        if (a->n_tokens < 16) {
            assert_int_equal(a->tokens[a->n_tokens - 1], 32000);
            ended_by_eos++;
        }
    }
    assert_true(ended_by_eos >= 3); /* the test model has an EOS bias: most answers end */
    umpire_item_free(&it);
}

static double cosine(const float *a, const float *b, size_t d) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < d; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    return dot / sqrt(na * nb);
}

/* Teacher-forcing the engine's own samples, each cut where it was cut, reproduces their tokens,
 * raw log-probs, entropies, phi and middle states (within what batched vs. separate decoding
 * allows), and so every score computed from raw log-probs. */
static void test_proxy_reproduces_sampling(void **state) {
    (void)state;
    struct umpire_query q = {.question = "Who wrote Hamlet?"};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 8;
    sp.seed = 11;
    sp.max_tokens = 16;
    sp.middle = 1;
    struct umpire_item s, f;
    assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &s, NULL), 0);
    assert_int_equal(s.probs, UMPIRE_PROBS_SAMPLER);
    const int32_t *toks[8];
    size_t lens[8];
    enum umpire_finish fin[8];
    int cut = 0;
    for (size_t i = 0; i < s.k; i++) {
        toks[i] = s.samples[i].tokens;
        lens[i] = s.samples[i].n_tokens;
        fin[i] = s.samples[i].finish;
        assert_true(fin[i] == UMPIRE_FINISH_EOS || fin[i] == UMPIRE_FINISH_LENGTH);
        assert_int_equal(fin[i] == UMPIRE_FINISH_EOS, s.samples[i].tokens[lens[i] - 1] == 32000);
        cut += fin[i] == UMPIRE_FINISH_LENGTH;
    }
    char err[UMPIRE_ERR_LEN];
    struct umpire_force_params fp = {.finish = fin, .middle = 1};
    assert_int_equal(umpire_engine_force_tokens(text_engine, &q, toks, lens, s.k, &fp, &f, err), 0);
    assert_int_equal(f.k, s.k);
    assert_int_equal(f.probs, UMPIRE_PROBS_RAW);
    assert_int_equal(f.dim_middle, s.dim_middle);
    double worst = 0;
    for (size_t i = 0; i < s.k; i++) {
        const struct umpire_answer *a = &s.samples[i], *b = &f.samples[i];
        assert_int_equal(b->n_tokens, a->n_tokens); /* nothing appended: each cut where it was cut */
        assert_int_equal(b->finish, a->finish);
        for (size_t t = 0; t < a->n_tokens; t++) {
            assert_int_equal(b->tokens[t], a->tokens[t]);
            worst = fmax(worst, fabs(a->raw_logprobs[t] - b->logprobs[t]));
            assert_true(fabs(a->raw_entropies[t] - b->entropies[t]) < 1e-3);
        }
        assert_true(cosine(a->embedding, b->embedding, s.dim) > 0.9999);
        assert_true(cosine(a->middle, b->middle, s.dim) > 0.9999);
        assert_string_equal(a->text, b->text);
    }
    assert_true(worst < 1e-3);
    /* the proxy's scores are the sampled answers' scored on their raw log-probs */
    struct umpire_score_params raw = umpire_score_default_params(), own = raw;
    raw.probs = UMPIRE_PROBS_RAW;
    size_t ne;
    umpire_estimators(&ne);
    for (size_t e = 0; e < ne; e++) {
        double a = umpire_score_item(&s, e, 1.0, &raw), b = umpire_score_item(&f, e, 1.0, &own);
        if (e == (size_t)umpire_estimator_index("sequence_probability") || e == (size_t)umpire_estimator_index("perplexity") ||
            e == (size_t)umpire_estimator_index("mean_token_entropy"))
            continue; /* the forced item has no greedy answer */
        assert_true(isnan(a) == isnan(b));
        assert_true(isnan(a) || fabs(a - b) <= 1e-3 * fmax(1.0, fabs(a)));
    }
    umpire_item_free(&s);
    umpire_item_free(&f);
}

/* phi is the state of the decode that drew the answer's last token: with one token per answer,
 * every answer's phi is the prompt's last position, whatever was drawn there; and the middle
 * state of an answer that ended at EOS is that of the decode that drew its last other token. */
static void test_phi_reference_step(void **state) {
    (void)state;
    struct umpire_query q = {.question = "Name a river."};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 6;
    sp.seed = 3;
    sp.max_tokens = 1;
    sp.middle = 1;
    struct umpire_item it;
    assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &it, NULL), 0);
    int distinct = 0;
    for (size_t i = 0; i <= it.k; i++) {
        const struct umpire_answer *a = i < it.k ? &it.samples[i] : &it.greedy;
        assert_int_equal(a->n_tokens, 1);
        assert_true(!memcmp(a->embedding, it.samples[0].embedding, it.dim * sizeof(float)));
        if (i < it.k) {
            assert_true(!memcmp(a->middle, it.samples[0].middle, it.dim * sizeof(float)));
            distinct += a->tokens[0] != it.samples[0].tokens[0];
        }
    }
    assert_true(distinct >= 1); /* different tokens drawn, one state */
    /* an answer that ended at EOS after n - 1 other tokens: its middle state is where token n - 2
     * was drawn, i.e. the state of the same answer cut before its EOS */
    sp.max_tokens = 16;
    sp.k = 8;
    struct umpire_item s, f;
    assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &s, NULL), 0);
    size_t i = 0;
    while (i < s.k && !(s.samples[i].finish == UMPIRE_FINISH_EOS && s.samples[i].n_tokens >= 3))
        i++;
    assert_true(i < s.k);
    const int32_t *toks[1] = {s.samples[i].tokens};
    size_t len[1] = {s.samples[i].n_tokens - 1};
    enum umpire_finish fin[1] = {UMPIRE_FINISH_LENGTH};
    struct umpire_force_params fp = {.finish = fin, .middle = 1};
    assert_int_equal(umpire_engine_force_tokens(text_engine, &q, toks, len, 1, &fp, &f, NULL), 0);
    assert_true(cosine(s.samples[i].middle, f.samples[0].middle, s.dim) > 0.9999);
    assert_true(cosine(s.samples[i].embedding, f.samples[0].embedding, s.dim) < 0.9999); /* phi: one step on */
    umpire_item_free(&it);
    umpire_item_free(&s);
    umpire_item_free(&f);
}

/* A stop string ends an answer before it: none of its tokens is kept, and the answer's tokens,
 * log-probs and phi are what it had up to there (teacher forcing the kept tokens, cut at the stop
 * string, gives the same). */
static void test_stop_strings(void **state) {
    (void)state;
    struct umpire_query q = {.question = "Tell me a story."};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 1;
    sp.with_greedy = 0; /* one sequence: the same draws with and without the stop string */
    sp.max_tokens = 16;
    int tested = 0;
    for (uint64_t seed = 1; seed < 60 && tested < 3; seed++) {
        struct umpire_item a, b, c, f;
        sp.seed = seed;
        sp.stop = NULL;
        sp.n_stop = 0;
        assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &a, NULL), 0);
        /* a letter first seen at index >= 2 of the answer's text: a one-character stop string */
        const char *t = a.samples[0].text;
        char stop[2] = "";
        for (size_t i = 2; i < strlen(t) && !stop[0]; i++)
            if (((t[i] | 32) >= 'a' && (t[i] | 32) <= 'z') && !memchr(t, t[i], i))
                stop[0] = t[i];
        if (!stop[0]) {
            umpire_item_free(&a);
            continue;
        }
        const char *stops[1] = {stop};
        sp.stop = stops;
        sp.n_stop = 1;
        assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &b, NULL), 0);
        const struct umpire_answer *x = &a.samples[0], *y = &b.samples[0];
        size_t m = y->n_tokens;
        assert_int_equal(y->finish, UMPIRE_FINISH_STOP);
        assert_true(m >= 1 && m < x->n_tokens);
        assert_true(!memcmp(y->tokens, x->tokens, m * sizeof *x->tokens));
        assert_true(!memcmp(y->logprobs, x->logprobs, m * sizeof *x->logprobs));
        assert_null(strchr(y->text, stop[0])); /* the kept text stops before it */
        /* token m brings the stop string: the same answer cut one token later shows it */
        sp.stop = NULL;
        sp.n_stop = 0;
        sp.max_tokens = (int)m + 1;
        assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &c, NULL), 0);
        assert_non_null(strchr(c.samples[0].text, stop[0]));
        sp.max_tokens = 16;
        /* phi: the state that drew the last kept token, as teacher forcing finds it */
        const int32_t *toks[1] = {y->tokens};
        enum umpire_finish fin[1] = {UMPIRE_FINISH_STOP};
        struct umpire_force_params fp = {.finish = fin};
        assert_int_equal(umpire_engine_force_tokens(text_engine, &q, toks, &m, 1, &fp, &f, NULL), 0);
        assert_int_equal(f.samples[0].n_tokens, m);
        assert_true(cosine(f.samples[0].embedding, y->embedding, b.dim) > 0.9999);
        for (size_t j = 0; j < m; j++)
            assert_true(fabs(f.samples[0].logprobs[j] - y->raw_logprobs[j]) < 1e-3);
        umpire_item_free(&a);
        umpire_item_free(&b);
        umpire_item_free(&c);
        umpire_item_free(&f);
        tested++;
    }
    assert_int_equal(tested, 3);
}

static void test_proxy_texts(void **state) {
    (void)state;
    struct umpire_query q = {.question = "What is the capital of France?"};
    const char *answers[3] = {"Paris", "Lyon", "The city of Paris"};
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_engine_force_texts(text_engine, &q, answers, 3, NULL, &it, err), 0);
    assert_int_equal(it.k, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(it.samples[i].text, answers[i]);
        int32_t end = it.samples[i].tokens[it.samples[i].n_tokens - 1];
        assert_true(end == 32007 || end == 32000); /* phi-3's end of turn (or EOS) appended */
        double joint = 0;
        for (size_t t = 0; t < it.samples[i].n_tokens; t++)
            joint += it.samples[i].logprobs[t];
        assert_true(joint < 0 && isfinite(joint));
    }
    assert_true(it.samples[2].n_tokens > it.samples[0].n_tokens);
    umpire_item_free(&it);
}

static void test_sampler_probs(void **state) {
    (void)state;
    /* top-p renormalises over a subset: each token is at least as likely under the sampler as
     * under the raw distribution (temperature 1); the same seed draws the same tokens, and a
     * sampler-probs item carries the raw ones too */
    struct umpire_query q = {.question = "Name a city."};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 4;
    sp.seed = 5;
    sp.max_tokens = 8;
    sp.sampler_probs = 0;
    struct umpire_item raw, smp;
    assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &raw, NULL), 0);
    assert_int_equal(raw.probs, UMPIRE_PROBS_RAW);
    sp.sampler_probs = 1;
    assert_int_equal(umpire_engine_ask(text_engine, &q, &sp, &smp, NULL), 0);
    assert_int_equal(smp.probs, UMPIRE_PROBS_SAMPLER);
    int higher = 0;
    for (size_t i = 0; i < raw.k; i++) {
        assert_int_equal(raw.samples[i].n_tokens, smp.samples[i].n_tokens);
        assert_null(raw.samples[i].raw_logprobs);
        for (size_t t = 0; t < raw.samples[i].n_tokens; t++) {
            assert_int_equal(raw.samples[i].tokens[t], smp.samples[i].tokens[t]);
            assert_true(smp.samples[i].raw_logprobs[t] == raw.samples[i].logprobs[t]);
            assert_true(smp.samples[i].raw_entropies[t] == raw.samples[i].entropies[t]);
            assert_true(smp.samples[i].logprobs[t] >= raw.samples[i].logprobs[t] - 1e-6);
            assert_true(smp.samples[i].entropies[t] <= raw.samples[i].entropies[t] + 1e-6);
            higher += smp.samples[i].logprobs[t] > raw.samples[i].logprobs[t] + 1e-4;
        }
    }
    assert_true(higher > 0);
    /* the low-temperature answer under its own sampler: (nearly) certain, its raw probability not */
    assert_true(smp.greedy.logprobs[0] > -1e-3);
    assert_true(smp.greedy.raw_logprobs[0] < smp.greedy.logprobs[0]);
    umpire_item_free(&raw);
    umpire_item_free(&smp);
}

/* A 28 x 28 binary PPM (stb_image reads PNM) whose pixels depend on `shade`. */
static const char *write_image(const char *name, int shade) {
    const char *p = path_in(work_dir, name);
    FILE *f = fopen(p, "wb");
    fprintf(f, "P6\n28 28\n255\n");
    for (int i = 0; i < 28 * 28 * 3; i++)
        fputc((i * shade) % 256, f);
    fclose(f);
    return p;
}

static void put16(FILE *f, unsigned v) {
    fputc((int)(v & 255), f);
    fputc((int)(v >> 8), f);
}
static void put32(FILE *f, unsigned v) {
    put16(f, v & 0xffff);
    put16(f, v >> 16);
}

/* One second of a 440 Hz tone, 16-bit PCM mono at 16 kHz. */
/* A one-second 16 kHz mono WAV of a sine at hz. */
static const char *write_wav_tone(const char *name, double hz) {
    const char *p = path_in(work_dir, name);
    FILE *f = fopen(p, "wb");
    fwrite("RIFF", 1, 4, f);
    put32(f, 36 + 32000);
    fwrite("WAVEfmt ", 1, 8, f);
    put32(f, 16);
    put16(f, 1);
    put16(f, 1);
    put32(f, 16000);
    put32(f, 32000);
    put16(f, 2);
    put16(f, 16);
    fwrite("data", 1, 4, f);
    put32(f, 32000);
    for (int i = 0; i < 16000; i++)
        put16(f, (unsigned)(int16_t)(8000 * sin(2 * 3.14159265358979 * hz * i / 16000.0)) & 0xffff);
    fclose(f);
    return p;
}

static const char *write_wav(const char *name) { return write_wav_tone(name, 440); }

static int same_item(const struct umpire_item *a, const struct umpire_item *b) {
    if (a->k != b->k || a->dim != b->dim)
        return 0;
    for (size_t i = 0; i <= a->k; i++) {
        const struct umpire_answer *x = i < a->k ? &a->samples[i] : &a->greedy, *y = i < a->k ? &b->samples[i] : &b->greedy;
        if (!same_answer(x, y, a->dim) || memcmp(x->raw_logprobs, y->raw_logprobs, x->n_tokens * sizeof(double)) ||
            memcmp(x->entropies, y->entropies, x->n_tokens * sizeof(double)))
            return 0;
    }
    return 1;
}

/* The prefix cache: a question after another that shares its system prompt and document (or
 * image) prefills only what differs, and gives bit for bit what a cold prefill gives; a prompt
 * asked twice, one after a judging pass, and a shorter one, too. */
static void test_prefix_reuse(void **state) {
    (void)state;
    static char doc[6000];
    river_doc(doc, sizeof doc);
    struct umpire_engine *warm = open_engine("tiny.gguf", "tiny-mmproj.gguf", 4096, 4);
    struct umpire_engine *cold = open_engine("tiny.gguf", "tiny-mmproj.gguf", 4096, 4);
    assert_non_null(warm);
    assert_non_null(cold);
    char img_path[4096];
    snprintf(img_path, sizeof img_path, "%s", write_image("reuse.ppm", 33)); /* path_in's buffers rotate */
    const char *img = img_path;
    const char *questions[] = {"Where does the river run?", "What is by the river?", "Where does the river run?",
                               "Where?"};
    struct umpire_engine_stats st;
    for (int with_image = 0; with_image < 2; with_image++)
        for (size_t i = 0; i < 4; i++) {
            struct umpire_query q = {.question = questions[i], .system = doc};
            if (with_image) {
                q.images = &img;
                q.n_images = 1;
            }
            struct umpire_item a, b;
            struct umpire_engine_stats before;
            umpire_engine_stats(warm, &before);
            char err[UMPIRE_ERR_LEN] = "";
            int rc = ask(warm, &q, 3, 5, &a, err);
            if (rc)
                fprintf(stderr, "prefix reuse: %s\n", err);
            assert_int_equal(rc, 0);
            umpire_engine_stats(warm, &st);
            if (i == 1 || i == 3) { /* the system prompt and document (and image) were in the KV already: */
                uint64_t asked = st.prompt_tokens - before.prompt_tokens, reused = st.reused_tokens - before.reused_tokens;
                assert_true(reused > 1000); /* decoded again: at most a block (64) and the new question */
                assert_true(asked - reused <= 64 + 24);
            }
            if (i == 2) /* after the judging pass: nothing to reuse */
                assert_true(st.reused_tokens == before.reused_tokens);
            struct umpire_engine *fresh = open_engine("tiny.gguf", "tiny-mmproj.gguf", 4096, 4);
            assert_int_equal(ask(fresh, &q, 3, 5, &b, NULL), 0);
            umpire_engine_close(fresh);
            assert_true(same_item(&a, &b));
            umpire_item_free(&a);
            umpire_item_free(&b);
            if (i == 1) { /* a judging pass puts other prompts in the KV: the cache forgets */
                struct umpire_item j;
                struct umpire_judge_params jp = {.entailment = 1};
                struct umpire_query short_q = {.question = questions[i]};
                assert_int_equal(ask(warm, &short_q, 3, 5, &j, NULL), 0);
                assert_int_equal(umpire_engine_judge(warm, &short_q, &jp, &j, NULL), 0);
                umpire_item_free(&j);
            }
        }
    (void)cold;
    umpire_engine_close(warm);
    umpire_engine_close(cold);
}

/* The same on a 60M model, whose kernels round a batch differently by its size (the tiny one's
 * do not): a prefix cache that restarted off the cold prefill's batch bounds would show here;
 * with the CPU's batch-invariant plan and with blocks of 64 (every other backend's). */
static void test_prefix_reuse_batches(void **state) {
    (void)state;
    static char doc[2400];
    river_doc(doc, sizeof doc);
    for (int block = 0; block <= 64; block += 64) {
        struct umpire_engine *warm = open_plan("m60.gguf", 2048, 2, block);
        assert_non_null(warm);
        const char *questions[] = {"Where does the river run?", "What is by the old mill on the river?"};
        struct umpire_item a, b;
        for (size_t i = 0; i < 2; i++) {
            struct umpire_query q = {.question = questions[i], .system = doc};
            assert_int_equal(ask(warm, &q, 2, 9, &a, NULL), 0);
            if (i == 0)
                umpire_item_free(&a);
        }
        struct umpire_engine_stats st;
        umpire_engine_stats(warm, &st);
        assert_true(st.reused_tokens > 400);
        umpire_engine_close(warm);
        struct umpire_engine *fresh = open_plan("m60.gguf", 2048, 2, block);
        struct umpire_query q = {.question = questions[1], .system = doc};
        assert_int_equal(ask(fresh, &q, 2, 9, &b, NULL), 0);
        umpire_engine_close(fresh);
        assert_true(same_item(&a, &b));
        umpire_item_free(&a);
        umpire_item_free(&b);
    }
}

/* The CPU's batch-invariant plan (prefill_block 0, the default where every device is a CPU): a
 * restart may fall inside a message, on a fourth token from the message's start that leaves its
 * last 64 tokens (4 in a message under 64 tokens) to decode, and the numbers are still a cold
 * prefill's (a fresh engine's) bit for bit: on the F32 model, whose flash attention takes rows
 * one by one under 64 and whose matrix products take another kernel for a single row, and on
 * the Q4_K_M one, whose repacked weights take rows 4 at a time and the rest one by one. A long
 * message (a document and a question) decodes its last 64 tokens and at most 3 more, a short one
 * what differs and at most 3 more, where blocks of 64 decode from the message's start. */
static void test_prefix_reuse_invariant(void **state) {
    (void)state;
    static char doc[2400], longq[2][2600];
    river_doc(doc, sizeof doc);
    snprintf(longq[0], sizeof longq[0], "%s\n\nWhere does the river run?", doc);
    snprintf(longq[1], sizeof longq[1], "%s\n\nWhat is by the old mill on the river?", doc);
    const char *shortq[3] = {"Say which colour the sky over the old mill by the river is on a clear summer morning: blue",
                             "Say which colour the sky over the old mill by the river is on a clear summer morning: grey",
                             "Say which colour the sky over the old mill by the river is on a clear summer evening"};
    const char *models[3] = {"m60.gguf", "m60-q4k.gguf", "tiny.gguf"};
    for (int m = 0; m < 3; m++)
        for (int c = 0; c < 3; c++) {
            /* c 0: a long message after another sharing all but its question; 1, 2: a short one
               after another sharing all but its last word or two */
            const char *first = c == 0 ? longq[0] : shortq[0], *second = c == 0 ? longq[1] : shortq[c];
            struct umpire_engine *warm = open_plan(models[m], 2048, 2, 0);
            assert_non_null(warm);
            struct umpire_item a, b;
            struct umpire_query q0 = {.question = first, .instruction = ""}, q1 = {.question = second, .instruction = ""};
            assert_int_equal(ask(warm, &q0, 2, 9, &a, NULL), 0);
            umpire_item_free(&a);
            struct umpire_engine_stats s0, s1;
            umpire_engine_stats(warm, &s0);
            assert_int_equal(ask(warm, &q1, 2, 9, &a, NULL), 0);
            umpire_engine_stats(warm, &s1);
            umpire_engine_close(warm);
            struct umpire_engine *fresh = open_plan(models[m], 2048, 2, 0);
            assert_int_equal(ask(fresh, &q1, 2, 9, &b, NULL), 0);
            umpire_engine_close(fresh);
            uint64_t asked = s1.prompt_tokens - s0.prompt_tokens, decoded = asked - (s1.reused_tokens - s0.reused_tokens);
            fprintf(stderr, "invariant plan %s, case %d: %llu of %llu prompt tokens decoded, the same numbers: %d\n",
                    models[m], c, (unsigned long long)decoded, (unsigned long long)asked, same_item(&a, &b));
            assert_true(same_item(&a, &b));
            /* what differs: the question and the template's end (16 tokens) in the long message, the
               last word or two and the template's end in the short one (5 to 8) */
            assert_true(c == 0 ? asked > 500 && decoded >= 64 && decoded <= 67 : decoded >= 4 && decoded <= 11);
            umpire_item_free(&a);
            umpire_item_free(&b);
        }
}

/* The largest difference between two items' numbers, relative to their size; -1 when their
 * tokens differ. */
static double item_distance(const struct umpire_item *a, const struct umpire_item *b) {
    double worst = 0;
    for (size_t i = 0; i <= a->k; i++) {
        const struct umpire_answer *x = i < a->k ? &a->samples[i] : &a->greedy, *y = i < a->k ? &b->samples[i] : &b->greedy;
        if (x->n_tokens != y->n_tokens || memcmp(x->tokens, y->tokens, x->n_tokens * sizeof *x->tokens))
            return -1;
        for (size_t t = 0; t < x->n_tokens; t++) {
            worst = fmax(worst, fabs(x->raw_logprobs[t] - y->raw_logprobs[t]) / fmax(1, fabs(x->raw_logprobs[t])));
            worst = fmax(worst, fabs(x->entropies[t] - y->entropies[t]) / fmax(1, x->entropies[t]));
        }
        double n2 = 0, d2 = 0, m2 = 0, dm2 = 0;
        for (size_t d = 0; d < a->dim; d++) {
            n2 += x->embedding[d] * x->embedding[d];
            d2 += (x->embedding[d] - y->embedding[d]) * (x->embedding[d] - y->embedding[d]);
            if (x->middle) {
                m2 += x->middle[d] * x->middle[d];
                dm2 += (x->middle[d] - y->middle[d]) * (x->middle[d] - y->middle[d]);
            }
        }
        worst = fmax(worst, sqrt(d2 / n2));
        if (x->middle)
            worst = fmax(worst, sqrt(dm2 / m2));
    }
    return worst;
}

/* The prompt's last hidden state is read from the final norm's output through the graph
 * callback (so that the prefill's last batch computes one row of logits, not one per token): the
 * same state as llama.cpp's embeddings give (UMPIRE_PREFILL_EMBEDDINGS, the fallback for a
 * graph without "result_norm"), for an image prompt too; the tiny model's argmax answers end at
 * once, so their phi is that state. */
static void test_prompt_state(void **state) {
    (void)state;
    const char *img = write_image("state.ppm", 77);
    const char *models[2] = {"tiny.gguf", "m60.gguf"};
    for (int m = 0; m < 2; m++) {
        struct umpire_engine *cb = open_engine(models[m], m ? NULL : "tiny-mmproj.gguf", 2048, 2);
        setenv("UMPIRE_PREFILL_EMBEDDINGS", "1", 1);
        struct umpire_engine *emb = open_engine(models[m], m ? NULL : "tiny-mmproj.gguf", 2048, 2);
        unsetenv("UMPIRE_PREFILL_EMBEDDINGS");
        assert_non_null(cb);
        assert_non_null(emb);
        struct umpire_query q = {.question = "Name a large city."};
        if (!m) {
            q.images = &img;
            q.n_images = 1;
        }
        struct umpire_sample_params sp = umpire_sample_default_params();
        sp.k = 2;
        sp.seed = 3;
        sp.max_tokens = 4;
        sp.greedy_temp = 0;
        sp.middle = 1;
        struct umpire_item a, b;
        assert_int_equal(umpire_engine_ask(cb, &q, &sp, &a, NULL), 0);
        assert_int_equal(umpire_engine_ask(emb, &q, &sp, &b, NULL), 0);
        double dist = item_distance(&a, &b);
        fprintf(stderr, "prompt state %s: the graph callback's and llama.cpp's embeddings within %.2g (greedy answer: "
                "%zu tokens)\n", models[m], dist, a.greedy.n_tokens);
        assert_true(dist >= 0 && dist <= 1e-5);
        if (!m)
            assert_int_equal(a.greedy.n_tokens, 1); /* phi is the prompt's state itself */
        struct umpire_engine_stats sa, sb;
        umpire_engine_stats(cb, &sa);
        umpire_engine_stats(emb, &sb);
        assert_int_equal(sa.prompt_redecoded, 0); /* the callback found the state */
        assert_int_equal(sb.prompt_redecoded, 1);
        umpire_item_free(&a);
        umpire_item_free(&b);
        umpire_engine_close(cb);
        umpire_engine_close(emb);
    }
}

/* Token-by-token reuse (reuse_prefix 2): only what differs from the
 * previous prompt is decoded, the answers those of a cold prefill (the numbers to rounding: its
 * batches of n_batch end where the cold plan's do not, and the CPU's flash attention rounds the
 * queries of a batch under 64 rows to F16, measured 6.4e-4 on the 60M model). */
static void test_prefix_reuse_tokens(void **state) {
    (void)state;
    static char doc[2400];
    river_doc(doc, sizeof doc);
    const char *models[2] = {"tiny.gguf", "m60.gguf"};
    for (int m = 0; m < 2; m++) {
        struct umpire_engine *warm = open_slots(models[m], 2048, 2, 1, 2), *cold = open_slots(models[m], 2048, 2, 1, 0);
        assert_non_null(warm);
        assert_non_null(cold);
        const char *questions[] = {"Where does the river run?", "What is by the old mill on the river?"};
        struct umpire_item a, b;
        struct umpire_engine_stats s0, s1;
        for (size_t i = 0; i < 2; i++) {
            struct umpire_query q = {.question = questions[i], .system = doc};
            umpire_engine_stats(warm, &s0);
            assert_int_equal(ask(warm, &q, 2, 9, &a, NULL), 0);
            umpire_engine_stats(warm, &s1);
            assert_int_equal(ask(cold, &q, 2, 9, &b, NULL), 0);
            double dist = item_distance(&a, &b);
            uint64_t asked = s1.prompt_tokens - s0.prompt_tokens, reused = s1.reused_tokens - s0.reused_tokens;
            fprintf(stderr, "token-by-token reuse %s: %llu of %llu prompt tokens reused, numbers within %.2g of a cold prefill\n",
                    models[m], (unsigned long long)reused, (unsigned long long)asked, dist);
            /* the second decodes only its question, the instruction and the template's end (28
               tokens; block reuse restarts at 512 here, 58 tokens) */
            assert_true(i == 0 ? reused == 0 : reused > 400 && asked - reused <= 32);
            assert_true(dist >= 0 && dist <= 2e-3);
            umpire_item_free(&a);
            umpire_item_free(&b);
        }
        umpire_engine_close(warm);
        umpire_engine_close(cold);
    }
}

/* The exact cache's steps also end where the prompt's messages end (the chat template's system turn,
 * each earlier turn; not the question's own): a question after another with the same system
 * prompt decodes only its own turn, and a conversation's next turn its last two turns and the
 * new one, the numbers bit for bit a cold prefill's (a fresh engine's; on the 60M model, whose
 * kernels round a row by its batch's size, a restart off the cold plan's steps would show). */
static void test_prefix_reuse_messages(void **state) {
    (void)state;
    static char doc[2400];
    river_doc(doc, sizeof doc);
    const char *models[2] = {"tiny.gguf", "m60.gguf"};
    struct umpire_turn turns[2] = {{"user", "Where does the river run?"}, {"assistant", "North."}};
    /* no instruction after the question: the conversation's earlier user turn is then the text
       the first prompt's user turn was */
    struct umpire_query qs[3] = {
        {.question = "Where does the river run?", .system = doc, .instruction = ""},
        {.question = "What is by the old mill on the river?", .system = doc, .instruction = ""},
        {.question = "And the market?", .system = doc, .instruction = "", .history = turns, .n_history = 2}};
    for (int m = 0; m < 2; m++) {
        struct umpire_engine *warm = open_slots(models[m], 2048, 2, 1, 1);
        assert_non_null(warm);
        for (int i = 0; i < 3; i++) {
            /* 1: after 0, the same system prompt; 2: after 0, its conversation's next turn */
            if (i == 2) {
                struct umpire_item z;
                assert_int_equal(ask(warm, &qs[0], 2, 9, &z, NULL), 0);
                umpire_item_free(&z);
            }
            struct umpire_engine_stats s0, s1;
            struct umpire_item a, b;
            umpire_engine_stats(warm, &s0);
            assert_int_equal(ask(warm, &qs[i], 2, 9, &a, NULL), 0);
            umpire_engine_stats(warm, &s1);
            uint64_t asked = s1.prompt_tokens - s0.prompt_tokens, reused = s1.reused_tokens - s0.reused_tokens;
            struct umpire_engine *cold = open_slots(models[m], 2048, 2, 1, 1);
            assert_int_equal(ask(cold, &qs[i], 2, 9, &b, NULL), 0);
            umpire_engine_close(cold);
            fprintf(stderr, "message steps %s, prompt %d: %llu of %llu prompt tokens reused, the same numbers: %d\n",
                    models[m], i, (unsigned long long)reused, (unsigned long long)asked, same_item(&a, &b));
            /* decoded again: the new user's turn and the template's end (the conversation: the
               earlier user's and the assistant's turns too); with the blocks of 64 alone up to
               63 more tokens */
            if (i > 0)
                assert_true(reused > 530 && asked - reused <= (i == 2 ? 40 : 24));
            assert_true(same_item(&a, &b));
            umpire_item_free(&a);
            umpire_item_free(&b);
        }
        umpire_engine_close(warm);
    }
}

/* The prompt's message ends (where the exact cache's steps end) for q on engine e: how many. */
static size_t ends_of(struct umpire_engine *e, const struct umpire_query *q, size_t *ends) {
    char *text = umpire_engine_prompt_text(e, q, 0);
    assert_non_null(text);
    int n = -llama_tokenize(e->vocab, text, (int)strlen(text), NULL, 0, true, true);
    llama_token *toks = malloc((size_t)n * sizeof *toks);
    assert_int_equal(llama_tokenize(e->vocab, text, (int)strlen(text), toks, n, true, true), n);
    size_t got = umpire_engine_message_ends(e, q, 0, toks, (size_t)n, ends, 64);
    free(toks);
    free(text);
    return got;
}

/* A conversation's message ends are remembered for its next turn (only the new messages are
 * rendered and tokenized: a 60-message conversation's ends took 200 ms a question): turn by
 * turn, with another conversation in between and a conversation that changes an earlier
 * message, and past the 64 ends kept, they are the ends a fresh engine finds. */
static void test_message_ends_memo(void **state) {
    (void)state;
    struct umpire_engine *warm = open_engine("tiny.gguf", NULL, 8192, 2);
    assert_non_null(warm);
    enum { TURNS = 80 };
    static struct umpire_turn turns[TURNS], other[TURNS];
    static char texts[TURNS][48];
    for (int i = 0; i < TURNS; i++) {
        snprintf(texts[i], sizeof texts[i], "turn %d: the river runs north.", i);
        turns[i] = (struct umpire_turn){i % 2 ? "assistant" : "user", texts[i]};
        other[i] = (struct umpire_turn){i % 2 ? "assistant" : "user", i == 3 ? "a changed turn." : texts[i]};
    }
    size_t checked = 0, ends_total = 0;
    for (int t = 0; t <= TURNS; t += t < 10 ? 2 : 14) {
        for (int c = 0; c < 3; c++) { /* this conversation, another system prompt, an earlier turn changed */
            struct umpire_query q = {.question = "And then?", .system = c == 1 ? "Be brief." : "You are helpful.",
                                     .history = c == 2 ? other : turns, .n_history = (size_t)t};
            size_t a[64], b[64];
            size_t na = ends_of(warm, &q, a);
            struct umpire_engine *fresh = open_engine("tiny.gguf", NULL, 8192, 2);
            size_t nb = ends_of(fresh, &q, b);
            umpire_engine_close(fresh);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na * sizeof *a);
            assert_int_equal(nb, t + 1 < 64 ? t + 1 : 64); /* the system message and each earlier turn */
            checked++;
            ends_total += na;
        }
    }
    fprintf(stderr, "message ends memo: %zu prompts, %zu ends, each as a fresh engine's\n", checked, ends_total);
    umpire_engine_close(warm);
}

/* A row of n logits: kind 0 flat (a random-weight model's), 1 peaked (a trained one's: a few
 * tokens far above the rest), 2 on a grid of quarters (many exact ties). */
static void draw_test_row(float *l, int n, int kind, uint64_t *rng) {
    for (int v = 0; v < n; v++) {
        double u1, u2; /* Box-Muller from xorshift64 */
        *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
        u1 = ((double)(*rng >> 11) + 1.0) / 9007199254740993.0;
        *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
        u2 = (double)(*rng >> 11) / 9007199254740992.0;
        double g = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
        l[v] = kind == 0 ? (float)(0.5 * g) : kind == 1 ? (float)(3 * g) : (float)(round(8 * g) / 4);
    }
    if (kind == 1)
        for (int j = 0; j < 3; j++)
            l[(int)(*rng % (uint64_t)n)] += 12.0f - 3.0f * (float)j;
}

/* Answers that read one row share its truncation (draw.c): every draw is the full llama.cpp
 * chain's (temp -> top-k -> top-p -> dist, over the whole vocabulary, one chain per answer),
 * token for token and log-prob for log-prob, row after row as the random states advance; on
 * rows with exact ties, a tied token of the same logit and probability. */
static void test_draw_shares_truncation(void **state) {
    (void)state;
    enum { N_VOCAB = 32000, N_ANS = 5, ROWS = 30 };
    const float temps[] = {1.0f, 0.1f, 0.7f, 0.0f}, top_ps[] = {0.9f, 1.0f};
    const int top_ks[] = {0, 40};
    float *l = malloc(N_VOCAB * sizeof *l);
    llama_token_data *cand = malloc(N_VOCAB * sizeof *cand);
    struct umpire_draw d;
    assert_int_equal(umpire_draw_init(&d, N_VOCAB), 0);
    uint64_t rng = 88172645463325252ULL;
    int draws = 0, tied = 0;
    for (size_t ti = 0; ti < sizeof temps / sizeof *temps; ti++)
        for (size_t pi = 0; pi < 2; pi++)
            for (size_t ki = 0; ki < 2; ki++) {
                float temp = temps[ti], top_p = top_ps[pi];
                int top_k = top_ks[ki];
                struct umpire_draw_class c;
                assert_int_equal(umpire_draw_class_init(&c, temp, top_k, top_p), 0);
                struct llama_sampler *chain[N_ANS], *dist[N_ANS];
                for (int i = 0; i < N_ANS; i++) {
                    uint32_t seed = 1000u * (uint32_t)ti + 100u * (uint32_t)pi + 10u * (uint32_t)ki + (uint32_t)i;
                    chain[i] = llama_sampler_chain_init(llama_sampler_chain_default_params());
                    if (temp > 0) {
                        llama_sampler_chain_add(chain[i], llama_sampler_init_temp(temp));
                        if (top_k > 0)
                            llama_sampler_chain_add(chain[i], llama_sampler_init_top_k(top_k));
                        if (top_p < 1.0f)
                            llama_sampler_chain_add(chain[i], llama_sampler_init_top_p(top_p, 1));
                        llama_sampler_chain_add(chain[i], llama_sampler_init_dist(seed));
                    } else {
                        llama_sampler_chain_add(chain[i], llama_sampler_init_greedy());
                    }
                    dist[i] = temp > 0 ? umpire_draw_sampler(seed) : NULL;
                }
                for (int r = 0; r < ROWS; r++) {
                    int kind = r % 3;
                    draw_test_row(l, N_VOCAB, kind, &rng);
                    struct umpire_drawn got[N_ANS];
                    umpire_draw_row(&d, l, &c, dist, N_ANS, got);
                    for (int i = 0; i < N_ANS; i++) {
                        for (int v = 0; v < N_VOCAB; v++)
                            cand[v] = (llama_token_data){v, l[v], 0.0f};
                        llama_token_data_array a = {cand, N_VOCAB, -1, false};
                        llama_sampler_apply(chain[i], &a);
                        llama_token want = a.data[a.selected].id;
                        llama_sampler_accept(chain[i], want);
                        double lp = temp > 0 ? log(a.data[a.selected].p) : 0.0, ent = 0.0;
                        for (size_t j = 0; temp > 0 && j < a.size; j++)
                            if (a.data[j].p > 0)
                                ent -= a.data[j].p * log(a.data[j].p);
                        draws++;
                        if (got[i].tok != want) { /* only a tie may be ordered differently */
                            tied++;
                            assert_int_equal(kind, 2);
                            assert_true(l[got[i].tok] == l[want]);
                        }
                        assert_true(got[i].logprob == lp);
                        assert_true(fabs(got[i].entropy - ent) <= 1e-12 * (1 + ent));
                        if (kind != 2)
                            assert_true(got[i].entropy == ent);
                    }
                }
                for (int i = 0; i < N_ANS; i++) {
                    llama_sampler_free(chain[i]);
                    if (dist[i])
                        llama_sampler_free(dist[i]);
                }
                umpire_draw_class_free(&c);
            }
    fprintf(stderr, "draw: %d draws equal to the full chain's, %d a different token of a tie\n", draws, tied);
    umpire_draw_free(&d);
    free(l);
    free(cand);
}

/* Answers that are the same so far share a row: the same samples for the same seed, with
 * fewer rows decoded when answers agree. The numbers agree to rounding, not to the bit: ggml's
 * CPU matrix kernels for a batch of one row (GEMV) and of many (llamafile's sgemm; the Q4_K
 * repacked GEMM) round differently, and deduplication changes how many rows a batch has. */
static void test_dedup_identical(void **state) {
    (void)state;
    const char *models[3] = {"tiny.gguf", "m60.gguf", "m60-q4k.gguf"};
    const double tolerance[3] = {1e-4, 1e-4, 2e-2};
    for (int m = 0; m < 3; m++) {
        struct umpire_engine *e = open_engine(models[m], NULL, 2048, 8);
        assert_non_null(e);
        for (int agree = 0; agree < 2; agree++) {
            if (m == 2 && !agree)
                continue; /* at T = 1 its larger rounding can move a draw across a token boundary */
            struct umpire_query q = {.question = "Name a large city."};
            struct umpire_sample_params sp = umpire_sample_default_params();
            sp.k = 8;
            sp.seed = 9;
            sp.max_tokens = m ? 6 : 12;
            sp.middle = 1;
            sp.temp = agree ? 0.02f : 1.0f;
            struct umpire_item a, b;
            struct umpire_engine_stats s0, s1, s2;
            umpire_engine_stats(e, &s0);
            sp.dedup = 0;
            assert_int_equal(umpire_engine_ask(e, &q, &sp, &a, NULL), 0);
            umpire_engine_stats(e, &s1);
            sp.dedup = 1;
            assert_int_equal(umpire_engine_ask(e, &q, &sp, &b, NULL), 0);
            umpire_engine_stats(e, &s2);
            double dist = item_distance(&a, &b);
            fprintf(stderr, "dedup %s T=%g: %llu rows for %llu answer tokens (%llu without), numbers within %.2g\n",
                    models[m], sp.temp, (unsigned long long)(s2.decoded_rows - s1.decoded_rows),
                    (unsigned long long)(s2.answer_tokens - s1.answer_tokens),
                    (unsigned long long)(s1.decoded_rows - s0.decoded_rows), dist);
            assert_true(dist >= 0 && dist <= tolerance[m]); /* the same tokens, the numbers to rounding */
            /* without dedup every answer token is a row; with it, fewer when answers agree */
            assert_true(s1.decoded_rows - s0.decoded_rows == s1.answer_tokens - s0.answer_tokens);
            assert_true(s2.answer_tokens - s1.answer_tokens == s1.answer_tokens - s0.answer_tokens);
            if (agree && m > 0) /* (the tiny model's EOS bias ends its argmax answers at once) */
                assert_true(2 * (s2.decoded_rows - s1.decoded_rows) < s2.answer_tokens - s1.answer_tokens);
            umpire_item_free(&a);
            umpire_item_free(&b);
        }
        umpire_engine_close(e);
    }
}

static void test_image_query(void **state) {
    (void)state;
    struct umpire_engine *e = open_engine("tiny.gguf", "tiny-mmproj.gguf", 1024, 4);
    assert_non_null(e);
    const char *img1 = write_image("a.ppm", 7), *img2 = write_image("b.ppm", 101);
    struct umpire_query q = {.question = "What is in the image?", .images = &img1, .n_images = 1};
    struct umpire_item a, b;
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(ask(e, &q, 4, 1, &a, err), 0);
    q.images = &img2;
    assert_int_equal(ask(e, &q, 4, 1, &b, err), 0);
    assert_int_equal(a.k, 4);
    /* the model reads the image: another image changes the first token's distribution */
    assert_true(fabs(a.samples[0].entropies[0] - b.samples[0].entropies[0]) > 1e-6);
    umpire_item_free(&a);
    umpire_item_free(&b);
    /* a WAV given as an image, and an image the decoder cannot read */
    const char *wav = write_wav("tone.wav");
    q.images = &wav;
    assert_int_equal(ask(e, &q, 2, 1, &a, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "tone.wav: not a readable image")); /* this projector reads no audio */
    const char *junk = path_in(work_dir, "junk.png");
    FILE *f = fopen(junk, "wb");
    fputs("this is not a PNG", f);
    fclose(f);
    q.images = &junk;
    assert_int_equal(ask(e, &q, 2, 1, &a, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "junk.png: not a readable image"));
    const char *missing = path_in(work_dir, "missing.png");
    q.images = &missing;
    assert_int_equal(ask(e, &q, 2, 1, &a, err), UMPIRE_EIO);
    assert_non_null(strstr(err, "missing.png: cannot open image file"));
    /* audio on a vision-only projector */
    q.images = NULL;
    q.n_images = 0;
    q.audio = &wav;
    q.n_audio = 1;
    assert_int_equal(ask(e, &q, 2, 1, &a, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "reads no audio"));
    umpire_engine_close(e);
}

/* Gradient scores on media (engine/gradients.c): the projector's rows enter the own graph in
 * place of token embeddings. The check is llama.cpp itself: one answer teacher-forced after
 * two different images (and two audio clips) has a mean NLL under llama.cpp + libmtmd that the
 * own graph (the unweighted loss) reproduces within 1e-3 and within a tenth of the gap between
 * the two media's NLLs (a graph that ignored the media rows could not match both). */
static void test_gradients_media(void **state) {
    (void)state;
    struct umpire_grad_model *g = NULL;
    char err[UMPIRE_ERR_LEN] = "";
    assert_int_equal(umpire_grad_model_load(path_in(models_dir, "tiny.gguf"), 2, &g, err), 0);
    for (int audio = 0; audio < 2; audio++) {
        struct umpire_engine *e = open_engine("tiny.gguf", audio ? "tiny-audio.gguf" : "tiny-mmproj.gguf", 2048, 2);
        assert_non_null(e);
        char m1[4096], m2[4096];
        snprintf(m1, sizeof m1, "%s", audio ? write_wav("grad1.wav") : write_image("grad1.ppm", 7));
        snprintf(m2, sizeof m2, "%s", audio ? write_wav_tone("grad2.wav", 2500) : write_image("grad2.ppm", 101));
        const char *media[2] = {m1, m2};
        struct umpire_query q = {.question = "Describe it."};
        struct umpire_sample_params sp = umpire_sample_default_params();
        sp.k = 1, sp.greedy_temp = 0, sp.max_tokens = 6;
        struct umpire_item it;
        if (audio)
            q.audio = &media[0], q.n_audio = 1;
        else
            q.images = &media[0], q.n_images = 1;
        assert_int_equal(umpire_engine_ask(e, &q, &sp, &it, err), 0);
        const int32_t *ans = it.greedy.tokens;
        size_t n_ans = it.greedy.n_tokens;
        double nll[2], own[2];
        for (int m = 0; m < 2; m++) {
            if (audio)
                q.audio = &media[m];
            else
                q.images = &media[m];
            struct umpire_item forced;
            assert_int_equal(umpire_engine_force_tokens(e, &q, &ans, &n_ans, 1, NULL, &forced, err), 0);
            nll[m] = 0;
            for (size_t t = 0; t < n_ans; t++)
                nll[m] -= forced.samples[0].logprobs[t] / (double)n_ans;
            struct umpire_grad_params gp = umpire_grad_default_params();
            gp.weighted = 0;
            struct umpire_grad_scores s;
            int rc = umpire_engine_gradient_scores(e, g, &q, &forced.samples[0], &gp, &s, err);
            if (rc)
                fprintf(stderr, "gradients on media: %s\n", err);
            assert_int_equal(rc, 0);
            fprintf(stderr, "gradients on %s %d: mean NLL llama.cpp %.6f, own graph %.6f; SemGrad %.3g\n",
                    audio ? "audio" : "image", m + 1, nll[m], s.loss, s.semgrad);
            assert_true(fabs(s.loss - nll[m]) < 1e-3);
            assert_true(isfinite(s.semgrad) && s.semgrad > 0);
            own[m] = s.loss;
            umpire_item_free(&forced);
        }
        /* each within a tenth of the two media's gap: the own graph reads the media, as llama.cpp does */
        for (int m = 0; m < 2; m++)
            assert_true(fabs(own[m] - nll[m]) < fabs(nll[0] - nll[1]) / 10);
        umpire_item_free(&it);
        umpire_engine_close(e);
    }
    umpire_grad_model_free(g);
}

static void test_audio_query(void **state) {
    (void)state;
    struct umpire_engine *e = open_engine("tiny.gguf", "tiny-audio.gguf", 2048, 3);
    assert_non_null(e);
    const char *wav = write_wav("tone2.wav");
    struct umpire_query q = {.question = "What is this sound?", .audio = &wav, .n_audio = 1};
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(ask(e, &q, 3, 1, &it, err), 0);
    assert_int_equal(it.k, 3);
    assert_int_equal(it.dim, 16);
    umpire_item_free(&it);
    const char *broken = path_in(work_dir, "broken.wav"); /* a WAV header and nothing after */
    FILE *f = fopen(broken, "wb");
    fwrite("RIFF\x24\x00\x00\x00WAVEfmt ", 1, 16, f);
    fclose(f);
    q.audio = &broken;
    assert_int_equal(ask(e, &q, 2, 1, &it, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "broken.wav: not a readable audio file"));
    const char *img = write_image("d.ppm", 5); /* an image given as audio */
    q.audio = &img;
    assert_int_equal(ask(e, &q, 2, 1, &it, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "d.ppm: is an image, given as --audio"));
    umpire_engine_close(e);
}

static void test_judge_passes(void **state) {
    (void)state;
    struct umpire_query q = {.question = "What is the capital of France?"};
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(ask(text_engine, &q, 6, 21, &it, err), 0);
    /* two samples with the same text: they entail each other without a pass */
    free(it.samples[5].text);
    it.samples[5].text = strdup(it.samples[4].text);
    struct umpire_judge_params jp = {.p_true = 1, .verbalised = 1, .entailment = 1};
    assert_int_equal(umpire_engine_judge(text_engine, &q, &jp, &it, err), 0);
    assert_true(it.extras & UMPIRE_HAS_P_TRUE);
    assert_true(it.p_true > 0 && it.p_true < 1);
    if (it.extras & UMPIRE_HAS_VERBALISED) /* a random model rarely states a number */
        assert_true(it.verbalised >= 0 && it.verbalised <= 1);
    assert_true(it.extras & UMPIRE_HAS_ENTAILMENT);
    for (size_t i = 0; i < it.k; i++)
        for (size_t j = 0; j < it.k; j++) {
            double v = it.entailment[i * it.k + j];
            assert_true(v >= 0 && v <= 1);
            if (i == j || (i >= 4 && j >= 4))
                assert_true(v == 1.0);
        }
    /* the entailment estimators are now defined, the others unchanged */
    struct umpire_score_params p = umpire_score_default_params();
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    for (size_t e = 0; e < ne; e++) {
        double v = umpire_score_item(&it, e, 1.0, &p);
        if (reg[e].needs & (UMPIRE_NEEDS_ENTAILMENT | UMPIRE_NEEDS_P_TRUE))
            assert_true(isfinite(v));
    }
    CLOSE_TO(umpire_score_item(&it, (size_t)umpire_estimator_index("p_true"), 1.0, &p), 1 - it.p_true);
    /* a second pass gives the same judgements: deterministic */
    double first = it.p_true, e01 = it.entailment[1];
    assert_int_equal(umpire_engine_judge(text_engine, &q, &jp, &it, err), 0);
    assert_true(it.p_true == first && it.entailment[1] == e01);
    umpire_item_free(&it);
}

static void test_multiple_choice(void **state) {
    (void)state;
    struct umpire_query q = {.question = "Which city is the capital of France?"};
    const char *options[3] = {"Paris", "Lyon", "Rome"};
    struct umpire_choice a, b;
    char err[UMPIRE_ERR_LEN];
    float *logits = malloc(32064 * sizeof *logits);
    assert_int_equal(umpire_engine_choose(text_engine, &q, options, 3, 1.0, &a, logits, err), 0);
    assert_int_equal(umpire_engine_choose(text_engine, &q, options, 3, 10.0, &b, NULL, err), 0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.choice, b.choice); /* greedy decoding does not depend on the temperature */
    assert_int_equal(a.step, b.step);
    if (a.choice < a.n) {
        /* the confidence is the chosen token's full-vocabulary softmax at T, the largest there */
        assert_true(a.confidence > 0 && a.confidence <= 1 && a.p[a.choice] == a.confidence);
        double mx = logits[0], z = 0;
        for (int v = 1; v < 32064; v++)
            mx = fmax(mx, logits[v]);
        for (int v = 0; v < 32064; v++)
            z += exp(logits[v] - mx);
        assert_true(fabs(a.confidence - 1.0 / z) < 1e-6); /* the argmax token's probability */
        assert_true(a.confidence != b.confidence);
    } else {
        assert_true(a.confidence == 0 && a.step == 0);
    }
    free(logits);
    assert_int_equal(umpire_engine_choose(text_engine, &q, options, 1, 1.0, &a, NULL, err), UMPIRE_EINVAL);
}

static void test_bad_input(void **state) {
    (void)state;
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    struct umpire_query q = {.question = "  \n"};
    assert_int_equal(ask(text_engine, &q, 2, 1, &it, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "the question is empty"));
    q.question = "Hello?";
    struct umpire_sample_params none = umpire_sample_default_params();
    none.k = 0;
    none.with_greedy = 0; /* no answer at all (k = 0 with the low-temperature one is fine) */
    assert_int_equal(umpire_engine_ask(text_engine, &q, &none, &it, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "k = 0; it must be in 1..64"));
    assert_int_equal(ask(text_engine, &q, 65, 1, &it, err), UMPIRE_EINVAL);
    assert_int_equal(ask(text_engine, &q, 9, 1, &it, err), UMPIRE_EINVAL); /* opened for k <= 8 */
    const char *img = write_image("c.ppm", 3);
    q.images = &img;
    q.n_images = 1;
    assert_int_equal(ask(text_engine, &q, 2, 1, &it, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "text-only model here (add --mmproj)"));
    /* a prompt that does not fit the context */
    struct umpire_engine *small = open_engine("tiny.gguf", NULL, 256, 2);
    assert_non_null(small);
    static char long_q[8192];
    for (size_t i = 0; i + 6 < sizeof long_q; i += 6)
        memcpy(long_q + i, "words ", 6);
    struct umpire_query lq = {.question = long_q};
    assert_int_equal(ask(small, &lq, 2, 1, &it, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "do not fit the context of 256 tokens"));
    umpire_engine_close(small);
    /* models and projectors that do not load */
    struct umpire_engine_params p = umpire_engine_default_params();
    struct umpire_engine *e = NULL;
    p.model_path = path_in(work_dir, "no-such.gguf");
    assert_int_equal(umpire_engine_open(&p, &e, err), UMPIRE_EIO);
    assert_non_null(strstr(err, "no-such.gguf: cannot open model file"));
    p.model_path = img; /* a file that is not a GGUF */
    assert_int_equal(umpire_engine_open(&p, &e, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "not a model llama.cpp can load"));
    p.model_path = path_in(models_dir, "m60.gguf");
    p.mmproj_path = path_in(models_dir, "tiny-mmproj.gguf");
    assert_int_equal(umpire_engine_open(&p, &e, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "projector does not load"));
    assert_null(e);
}

/* A conversation's earlier turns go through the chat template (tiny.gguf's is Phi-3's: "<|role|>\n
 * content<|end|>\n" a turn) after the system turn and before the question's user turn, in order;
 * the same query answered with them differs from it answered without. */
static void test_history_prompt(void **state) {
    (void)state;
    const struct umpire_turn turns[] = {{"user", "Name a city."}, {"assistant", "Lyon"}};
    struct umpire_query q = {.question = "And its river?", .system = "Be brief.", .instruction = "",
                             .history = turns, .n_history = 2};
    char *text = umpire_engine_prompt_text(text_engine, &q, 0);
    assert_non_null(text);
    assert_string_equal(text, "<|system|>\nBe brief.<|end|>\n<|user|>\nName a city.<|end|>\n"
                              "<|assistant|>\nLyon<|end|>\n<|user|>\nAnd its river?<|end|>\n<|assistant|>\n");
    free(text);
    q.n_history = 0; /* the count rules, not the pointer */
    text = umpire_engine_prompt_text(text_engine, &q, 0);
    assert_string_equal(text, "<|system|>\nBe brief.<|end|>\n<|user|>\nAnd its river?<|end|>\n<|assistant|>\n");
    free(text);
    struct umpire_item with = {0}, without = {0};
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(ask(text_engine, &q, 2, 7, &without, err), 0);
    q.n_history = 2;
    assert_int_equal(ask(text_engine, &q, 2, 7, &with, err), 0);
    int differ = with.greedy.n_tokens != without.greedy.n_tokens ||
                 memcmp(with.greedy.tokens, without.greedy.tokens, with.greedy.n_tokens * sizeof *with.greedy.tokens) ||
                 memcmp(with.greedy.embedding, without.greedy.embedding, with.dim * sizeof *with.greedy.embedding);
    assert_true(differ);
    umpire_item_free(&with);
    umpire_item_free(&without);
}

/* The engine's text cleaner, which every answer passes (a token can end inside a character):
 * white space trimmed; overlongs, surrogates, code points above U+10FFFF and cut sequences
 * replaced by U+FFFD (one per maximal ill-formed part), well-formed 4-byte characters kept */
static void test_clean_text(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"  Paris \n", "Paris"},
        {"\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok"},           /* U+1F600 kept */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},                 /* U+10FFFF kept */
        {"a\300\257b", "a\357\277\275\357\277\275b"},             /* overlong '/' */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"x\xed\xa0\x80", "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},               /* U+D800 */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* U+110000 */
        {"caf\xc3", "caf\xef\xbf\xbd"},   /* cut at the end */
        {"\xe2\x82 x", "\xef\xbf\xbd x"}, /* cut, then more */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = umpire_clean_text(cases[i].in);
        assert_non_null(t);
        if (strcmp(t, cases[i].out))
            fail_msg("case %zu: got \"%s\"", i, t);
        free(t);
    }
    char *t = umpire_clean_text(NULL);
    assert_string_equal(t, "");
    free(t);
}

static int stop_after(void *ud, const char *text, size_t len, int ended) {
    (void)text;
    (void)len;
    (void)ended;
    return --*(int *)ud <= 0;
}

/* Continuous batching: queries begun in slots, one joining while the others decode, give the
 * answers each gives alone: the same tokens, the numbers to rounding as with dedup (attention
 * over a KV that holds other queries' cells rounds a little differently: 4e-7 measured on the
 * tiny model); a full engine says EBUSY, a lone ask is refused while
 * queries run, one query's cancellation ends only it, and a slot reuses its prompt's prefix. */
static void test_continuous_batching(void **state) {
    (void)state;
    static char doc[1600];
    river_doc(doc, sizeof doc);
    const char *models[2] = {"tiny.gguf", "m60.gguf"};
    for (int m = 0; m < 2; m++) {
        struct umpire_engine *e = open_slots(models[m], 4096, 4, 3, 1), *lone = open_slots(models[m], 4096, 4, 1, 1);
        assert_non_null(e);
        assert_non_null(lone);
        const char *stop[] = {"e"};
        struct umpire_query q[4] = {{.question = "Name a large city."},
                                    {.question = "Where does the river run?", .system = doc},
                                    {.question = "What is by the river?", .system = doc},
                                    {.question = "Name a colour."}};
        struct umpire_sample_params sp[4];
        for (int i = 0; i < 4; i++) {
            sp[i] = umpire_sample_default_params();
            sp[i].k = 4 - (i & 1);
            sp[i].seed = 11 + (uint64_t)i;
            sp[i].max_tokens = 10 + 2 * i;
            /* the 60M random model's flat distributions put a draw at T = 1 within 1e-4 of a token
               boundary often enough for rounding to move it (measured): its answers at T = 0.2 */
            sp[i].temp = m ? 0.2f : 1.0f;
        }
        sp[1].stop = stop;
        sp[1].n_stop = 1;
        sp[2].middle = 1;
        struct umpire_item it[4], ref;
        char err[UMPIRE_ERR_LEN] = "";
        int slot[4] = {-1, -1, -1, -1}, left = 2, steps = 0, ended[4] = {0};
        slot[0] = umpire_engine_begin(e, &q[0], &sp[0], NULL, NULL, &it[0], err);
        slot[1] = umpire_engine_begin(e, &q[1], &sp[1], NULL, NULL, &it[1], err);
        assert_true(slot[0] >= 0 && slot[1] >= 0 && slot[0] != slot[1]);
        assert_int_equal(umpire_engine_running(e), 2);
        assert_int_equal(umpire_engine_ask(e, &q[3], &sp[3], &ref, err), UMPIRE_EINVAL); /* not while they run */
        struct umpire_finished done[3];
        for (; left > 0; steps++) {
            if (steps == 2) { /* a third joins the running batch; a fourth finds no slot free */
                struct umpire_engine_stats before, after;
                umpire_engine_stats(e, &before);
                slot[2] = umpire_engine_begin(e, &q[2], &sp[2], NULL, NULL, &it[2], err);
                umpire_engine_stats(e, &after);
                assert_true(slot[2] >= 0);
                uint64_t reused = after.reused_tokens - before.reused_tokens;
                /* it shares the doc with query 1: reused when it took query 1's slot (query 1 done) */
                assert_true(slot[2] == slot[1] ? ended[1] && reused > 300 : reused == 0);
                left++;
            }
            int n = umpire_engine_step(e, done, 3);
            for (int j = 0; j < n; j++) {
                int who = done[j].slot == slot[2] ? 2 : done[j].slot == slot[0] ? 0 : 1; /* slot 2 may be 1's */
                if (done[j].rc)
                    fprintf(stderr, "continuous batching: %s\n", done[j].err);
                assert_int_equal(done[j].rc, 0);
                assert_false(ended[who]);
                ended[who] = 1;
                left--;
            }
        }
        assert_int_equal(umpire_engine_running(e), 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(umpire_engine_ask(lone, &q[i], &sp[i], &ref, err), 0);
            double dist = item_distance(&it[i], &ref);
            fprintf(stderr, "continuous batching %s query %d: numbers within %.2g of a lone ask\n", models[m], i, dist);
            /* the same tokens; the numbers to rounding (phi and the middle state within 6e-5 on both
               models; a low-temperature entropy of the random 60M model within 1e-2) */
            assert_true(dist >= 0 && dist <= (m ? 2e-2 : 1e-4));
            umpire_item_free(&ref);
            umpire_item_free(&it[i]);
        }
        /* a query sharing the doc with a finished one reuses that slot's prefix */
        struct umpire_engine_stats before, after;
        umpire_engine_stats(e, &before);
        slot[3] = umpire_engine_begin(e, &q[2], &sp[2], NULL, NULL, &it[2], err);
        umpire_engine_stats(e, &after);
        assert_true(slot[3] == slot[1] || slot[3] == slot[2]);
        assert_true(after.reused_tokens - before.reused_tokens > 300);
        /* cancelled by its callback after 2 steps: only it ends, with ECANCELED and an empty item */
        int budget = 2;
        int c = umpire_engine_begin(e, &q[0], &sp[0], stop_after, &budget, &it[0], err);
        assert_true(c >= 0 && c != slot[3]);
        int d = umpire_engine_begin(e, &q[3], &sp[3], NULL, NULL, &it[3], err); /* the third slot */
        assert_true(d >= 0 && d != c && d != slot[3]);
        struct umpire_item spare;
        assert_int_equal(umpire_engine_begin(e, &q[3], &sp[3], NULL, NULL, &spare, err), UMPIRE_EBUSY);
        int got_cancel = 0, got_other = 0;
        while (umpire_engine_running(e) > 0) {
            int n = umpire_engine_step(e, done, 3);
            for (int j = 0; j < n; j++) {
                if (done[j].slot == c) {
                    assert_int_equal(done[j].rc, UMPIRE_ECANCELED);
                    assert_null(it[0].samples);
                    got_cancel = 1;
                } else {
                    assert_int_equal(done[j].rc, 0);
                    got_other = 1;
                }
            }
        }
        assert_true(got_cancel && got_other);
        for (int i = 2; i < 4; i++) {
            assert_int_equal(umpire_engine_ask(lone, &q[i], &sp[i], &ref, err), 0);
            assert_true(item_distance(&it[i], &ref) >= 0 && item_distance(&it[i], &ref) <= (m ? 2e-2 : 1e-4));
            umpire_item_free(&ref);
            umpire_item_free(&it[i]);
        }
        umpire_engine_close(e);
        umpire_engine_close(lone);
    }
    /* two queries that fit the context each alone but not together: the second waits its turn */
    struct umpire_engine *e = open_slots("tiny.gguf", 256, 4, 2, 1);
    assert_non_null(e);
    struct umpire_query q = {.question = "Name a large city."};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 4;
    sp.max_tokens = 30; /* 5 x 30 cells and the prompt: over half of 256 */
    struct umpire_item a, b;
    char err[UMPIRE_ERR_LEN] = "";
    assert_true(umpire_engine_begin(e, &q, &sp, NULL, NULL, &a, err) >= 0);
    assert_int_equal(umpire_engine_begin(e, &q, &sp, NULL, NULL, &b, err), UMPIRE_EBUSY);
    assert_non_null(strstr(err, "try again"));
    struct umpire_finished done[2];
    while (umpire_engine_running(e) > 0)
        umpire_engine_step(e, done, 2);
    assert_true(umpire_engine_begin(e, &q, &sp, NULL, NULL, &b, err) >= 0);
    while (umpire_engine_running(e) > 0)
        umpire_engine_step(e, done, 2);
    assert_true(same_item(&a, &b));
    umpire_item_free(&a);
    umpire_item_free(&b);
    umpire_engine_close(e);
}

int main(int argc, char **argv) {
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE);
    if (argc != 3) {
        fprintf(stderr, "usage: test_engine MODELS_DIR WORK_DIR\n");
        return 2;
    }
    models_dir = argv[1];
    work_dir = argv[2];
    text_engine = open_engine("tiny.gguf", NULL, 2048, 8);
    if (!text_engine)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_same_seed_same_output), cmocka_unit_test(test_seeds_give_distinct_samples),
        cmocka_unit_test(test_sample_contents),       cmocka_unit_test(test_proxy_reproduces_sampling),
        cmocka_unit_test(test_proxy_texts),           cmocka_unit_test(test_sampler_probs),
        cmocka_unit_test(test_phi_reference_step),    cmocka_unit_test(test_stop_strings),
        cmocka_unit_test(test_prefix_reuse),          cmocka_unit_test(test_prefix_reuse_batches),
        cmocka_unit_test(test_dedup_identical),       cmocka_unit_test(test_draw_shares_truncation),
        cmocka_unit_test(test_continuous_batching),   cmocka_unit_test(test_prefix_reuse_tokens), cmocka_unit_test(test_prefix_reuse_messages),
        cmocka_unit_test(test_prefix_reuse_invariant),  cmocka_unit_test(test_message_ends_memo),
        cmocka_unit_test(test_prompt_state),
        cmocka_unit_test(test_image_query),           cmocka_unit_test(test_audio_query),
        cmocka_unit_test(test_gradients_media),
        cmocka_unit_test(test_judge_passes),          cmocka_unit_test(test_multiple_choice),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_clean_text),
        cmocka_unit_test(test_history_prompt),
    };
    if (getenv("UMPIRE_TEST_FILTER")) /* one test while working on it: UMPIRE_TEST_FILTER=test_stop_strings */
        cmocka_set_test_filter(getenv("UMPIRE_TEST_FILTER"));
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    umpire_engine_close(text_engine);
    return rc;
}
