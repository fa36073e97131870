/* test_organism.c - the model organism's training path on a small world and model:
 * every weight tensor moves, the saved GGUF gives through llama.cpp the log-probabilities of
 * the training graph, training is deterministic, the corpus is tokenized and prompted as
 * umpire's engine prompts, and the world is what its description says.
 * Usage: test_organism WORK_DIR */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <llama.h>

#include "corpus.h"
#include "engine/engine.h"
#include "model.h"
#include "train.h"
#include "umpire.h"
#include "vocab.h"
#include "world.h"

static const char *work_dir;

static const char *path_in(const char *name) {
    static char buf[4][4096];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", work_dir, name);
    return buf[slot];
}

static const struct llama_shape small_shape = {32, 2, 2, 2, 64, 256};

/* A small world, its vocabulary and two epochs of tokenized examples. */
struct fixture {
    struct world w;
    struct vocab v;
    struct seq *epochs[2];
    size_t n[2];
};

static void fixture_make(struct fixture *f) {
    memset(f, 0, sizeof *f);
    struct world_params wp = world_default_params();
    wp.n_people = 12;
    wp.n_ctx_people = 4;
    wp.frequent_copies = 2;
    wp.ctx_examples = 8;
    assert_int_equal(world_make(&f->w, &wp), 0);
    char **texts;
    size_t n_texts;
    assert_int_equal(world_texts(&f->w, &texts, &n_texts), 0);
    assert_int_equal(vocab_build(&f->v, texts, n_texts), 0);
    for (size_t i = 0; i < n_texts; i++)
        free(texts[i]);
    free(texts);
    struct corpus c;
    assert_int_equal(corpus_open(&c, &f->v, small_shape, path_in("vocab.gguf")), 0);
    for (int e = 0; e < 2; e++) {
        struct example *ex;
        assert_int_equal(world_epoch(&f->w, e, &ex, &f->n[e]), 0);
        assert_int_equal(corpus_tokenize_all(&c, ex, f->n[e], &f->epochs[e]), 0);
        examples_free(ex, f->n[e]);
    }
    corpus_close(&c);
}

static void fixture_free(struct fixture *f) {
    for (int e = 0; e < 2; e++)
        seqs_free(f->epochs[e], f->n[e]);
    vocab_free(&f->v);
    world_free(&f->w);
}

static struct train_params quick_params(void) {
    struct train_params t = train_default_params();
    t.rows = 4;
    t.lr = 3e-3f;
    return t;
}

static void test_every_weight_moves(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f);
    struct organism_model m;
    assert_int_equal(model_init(&m, small_shape, (int)f.v.n, 7, 2), 0);
    assert_int_equal(m.n_all, 3 + 9 * small_shape.n_layer);
    float **before = calloc((size_t)m.n_all, sizeof *before);
    for (int i = 0; i < m.n_all; i++) {
        before[i] = malloc(ggml_nbytes(m.all[i]));
        ggml_backend_tensor_get(m.all[i], before[i], 0, ggml_nbytes(m.all[i]));
    }
    struct train_params t = quick_params();
    double loss0 = train_run(&m, &t, f.epochs, f.n, 1);
    assert_true(loss0 > 0);
    for (int i = 0; i < m.n_all; i++) {
        int64_t n = ggml_nelements(m.all[i]);
        float *after = malloc(ggml_nbytes(m.all[i]));
        ggml_backend_tensor_get(m.all[i], after, 0, ggml_nbytes(m.all[i]));
        double change = 0;
        for (int64_t j = 0; j < n; j++)
            change += fabs((double)after[j] - before[i][j]);
        change /= (double)n;
        if (!(change > 1e-5))
            fail_msg("%s did not change in training (mean |change| %g)", m.all[i]->name, change);
        free(after);
        free(before[i]);
    }
    free(before);
    model_free(&m);
    fixture_free(&f);
}

/* the saved model through llama.cpp == the training graph, on training sequences */
static void test_gguf_matches_graph(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f);
    struct organism_model m;
    assert_int_equal(model_init(&m, small_shape, (int)f.v.n, 3, 2), 0);
    struct train_params t = quick_params();
    assert_true(train_run(&m, &t, f.epochs, f.n, 2) > 0); /* trained weights, not the init */
    const char *path = path_in("small.gguf");
    assert_int_equal(model_write_gguf(&m, &f.v, path, "test", NULL), 0);

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *lm = llama_model_load_from_file(path, mp);
    assert_non_null(lm);
    assert_int_equal(llama_vocab_n_tokens(llama_model_get_vocab(lm)), (int)f.v.n);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_threads = 2;
    struct llama_context *lc = llama_init_from_model(lm, cp);
    assert_non_null(lc);
    double worst = 0;
    for (size_t s = 0; s < 4; s++) {
        const struct seq *q = &f.epochs[0][s * 7 % f.n[0]];
        float *ours = malloc((size_t)q->n * f.v.n * sizeof *ours);
        assert_int_equal(model_logprobs(&m, q->tok, q->n, ours), 0);
        llama_memory_clear(llama_get_memory(lc), true);
        struct llama_batch b = llama_batch_init(q->n, 0, 1);
        for (int i = 0; i < q->n; i++) {
            b.token[i] = q->tok[i];
            b.pos[i] = i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        b.n_tokens = q->n;
        assert_int_equal(llama_decode(lc, b), 0);
        for (int i = 0; i < q->n; i++) {
            const float *lg = llama_get_logits_ith(lc, i);
            double mx = -INFINITY, z = 0;
            for (size_t v = 0; v < f.v.n; v++)
                mx = fmax(mx, lg[v]);
            for (size_t v = 0; v < f.v.n; v++)
                z += exp(lg[v] - mx);
            for (size_t v = 0; v < f.v.n; v++) {
                double d = fabs((lg[v] - mx - log(z)) - ours[(size_t)i * f.v.n + v]);
                worst = fmax(worst, d);
            }
        }
        llama_batch_free(b);
        free(ours);
    }
    print_message("  largest |log p(llama.cpp) - log p(training graph)| over 4 sequences: %.2e\n", worst);
    assert_true(worst < 1e-3);
    llama_free(lc);
    llama_model_free(lm);
    model_free(&m);
    fixture_free(&f);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

static void train_to(struct fixture *f, uint64_t seed, int threads, const char *path) {
    struct organism_model m;
    assert_int_equal(model_init(&m, small_shape, (int)f->v.n, seed, threads), 0);
    struct train_params t = quick_params();
    assert_true(train_run(&m, &t, f->epochs, f->n, 2) > 0);
    assert_int_equal(model_write_gguf(&m, &f->v, path, "test", NULL), 0);
    model_free(&m);
}

static void test_deterministic(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f);
    train_to(&f, 5, 2, path_in("a.gguf"));
    train_to(&f, 5, 2, path_in("b.gguf"));
    train_to(&f, 6, 2, path_in("c.gguf"));
    train_to(&f, 5, 1, path_in("d.gguf"));
    size_t na, nb, nc, nd;
    unsigned char *a = slurp(path_in("a.gguf"), &na), *b = slurp(path_in("b.gguf"), &nb),
                  *c = slurp(path_in("c.gguf"), &nc), *d = slurp(path_in("d.gguf"), &nd);
    /* another thread count may sum in another order: reported, not required (the cache key
       of `organism` includes the thread count) */
    print_message("  1 thread vs 2 threads: %s\n", na == nd && !memcmp(a, d, na) ? "the same bytes" : "different bytes");
    free(d);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);     /* same seed, same threads: the same bytes */
    assert_true(na != nc || memcmp(a, c, na) != 0); /* another seed: another model */
    free(a);
    free(b);
    free(c);
    fixture_free(&f);
}

/* The training prompts are the engine's prompts, token for token. */
static void test_prompts_match_engine(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f);
    struct organism_model m;
    assert_int_equal(model_init(&m, small_shape, (int)f.v.n, 1, 2), 0);
    assert_int_equal(model_write_gguf(&m, &f.v, path_in("prompt.gguf"), "test", NULL), 0);
    model_free(&m);
    struct umpire_engine_params p = umpire_engine_default_params();
    p.model_path = path_in("prompt.gguf");
    p.n_ctx = 256;
    p.n_threads = 2;
    p.k_max = 2;
    struct umpire_engine *e;
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_engine_open(&p, &e, err), 0);
    struct example *ex;
    size_t n;
    assert_int_equal(world_epoch(&f.w, 0, &ex, &n), 0);
    for (size_t i = 0; i < n; i += 5) {
        struct umpire_query q = {.question = ex[i].question};
        char *engine_text = umpire_engine_prompt_text(e, &q, 0), ours[4096];
        assert_non_null(engine_text);
        assert_true(corpus_prompt(ex[i].question, ours, sizeof ours) > 0);
        assert_string_equal(engine_text, ours);
        free(engine_text);
    }
    /* and a word-level vocabulary: a question is a handful of tokens, none unknown */
    struct corpus c;
    assert_int_equal(corpus_open(&c, &f.v, small_shape, path_in("vocab2.gguf")), 0);
    struct seq s;
    char question[128];
    snprintf(question, sizeof question, "Where does %s live?", f.w.people[0].name);
    assert_int_equal(corpus_tokenize(&c, question, "Lisbon", &s), 0);
    int unknown = 0;
    for (int i = 0; i < s.n; i++)
        unknown += s.tok[i] == VOCAB_UNK;
    assert_int_equal(unknown, 0);
    assert_int_equal(s.n - s.n_prompt, 2); /* "Lisbon", <|im_end|> */
    assert_int_equal(s.tok[s.n - 1], VOCAB_IM_END);
    /* <|im_start|> user \n Where does First Last live ? \n + 11 instruction tokens
       + <|im_end|> \n <|im_start|> assistant \n */
    assert_int_equal(s.n_prompt, 3 + 6 + 1 + 11 + 5);
    free(s.tok);
    corpus_close(&c);
    examples_free(ex, n);
    umpire_engine_close(e);
    fixture_free(&f);
}

/* whether text has word as a whole word */
static int has_word(const char *text, const char *word) {
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        if ((p == text || !isalpha((unsigned char)p[-1])) && !isalpha((unsigned char)p[n]))
            return 1;
    return 0;
}

/* The world: buckets in their shares; frequent facts F times every epoch, rare ones in
 * rare_epochs epochs, unseen never; in-context examples about nobody of the world. */
static void test_world(void **state) {
    (void)state;
    struct world_params wp = world_default_params();
    struct world w;
    assert_int_equal(world_make(&w, &wp), 0);
    int count[N_BUCKETS] = {0};
    for (int i = 0; i < w.n_people; i++)
        for (int r = 0; r < N_RELATIONS; r++)
            count[w.people[i].bucket[r]]++;
    int per = w.n_people;
    assert_int_equal(count[B_FREQUENT], N_RELATIONS * (int)(wp.p_frequent * per + 0.5));
    assert_int_equal(count[B_RARE], N_RELATIONS * (int)(wp.p_rare * per + 0.5));
    /* over all epochs, each fact is asked frequent_copies x epochs times (frequent),
       rare_epochs times (rare) or never (unseen), in the training phrasings only and with its
       true answer; never in the held-out paraphrase */
    struct example *ex[64];
    size_t n[64];
    for (int e = 0; e < wp.epochs; e++)
        assert_int_equal(world_epoch(&w, e, &ex[e], &n[e]), 0);
    for (int i = 0; i < w.n_people; i++)
        for (int r = 0; r < N_RELATIONS; r++) {
            int asked = 0, held_out = 0;
            char *q[3];
            for (int ph = 0; ph < 3; ph++)
                q[ph] = world_question(r, ph, w.people[i].name);
            for (int e = 0; e < wp.epochs; e++)
                for (size_t j = 0; j < n[e]; j++) {
                    if (!strcmp(ex[e][j].question, q[0]) || !strcmp(ex[e][j].question, q[1])) {
                        asked++;
                        assert_string_equal(ex[e][j].answer, world_value(r, w.people[i].value[r]));
                    }
                    held_out += !strcmp(ex[e][j].question, q[2]);
                }
            int b = w.people[i].bucket[r];
            assert_int_equal(asked, b == B_FREQUENT ? wp.frequent_copies * wp.epochs : b == B_RARE ? wp.rare_epochs : 0);
            assert_int_equal(held_out, 0);
            for (int ph = 0; ph < 3; ph++)
                free(q[ph]);
        }
    size_t total = 0, with_context = 0;
    for (int e = 0; e < wp.epochs; e++) {
        total += n[e];
        for (size_t j = 0; j < n[e]; j++) {
            if (strncmp(ex[e][j].question, "Context: ", 9) != 0)
                continue;
            with_context++;
            for (int i = 0; i < w.n_people + w.n_ctx_people; i++) { /* no name word of the world */
                char first[48];
                snprintf(first, sizeof first, "%s", w.people[i].name);
                char *last = strchr(first, ' ');
                *last++ = '\0';
                assert_false(has_word(ex[e][j].question, first));
                assert_false(has_word(ex[e][j].question, last));
            }
        }
    }
    assert_int_equal(with_context, (size_t)wp.epochs * (size_t)wp.ctx_examples);
    assert_int_equal(total, (size_t)wp.epochs * (size_t)(count[B_FREQUENT] * wp.frequent_copies + wp.ctx_examples) +
                                (size_t)count[B_RARE] * (size_t)wp.rare_epochs);
    /* same seed, same world; another seed, another */
    struct world w2, w3;
    assert_int_equal(world_make(&w2, &wp), 0);
    wp.seed = 2;
    assert_int_equal(world_make(&w3, &wp), 0);
    assert_memory_equal(w.people, w2.people, sizeof *w.people * (size_t)(w.n_people + w.n_ctx_people));
    assert_true(memcmp(w.people, w3.people, sizeof *w.people * (size_t)w.n_people) != 0);
    for (int e = 0; e < wp.epochs; e++)
        examples_free(ex[e], n[e]);
    world_free(&w);
    world_free(&w2);
    world_free(&w3);
}

/* The other worlds (README, "Worlds"): the closed world's people, first values and buckets
 * for the same seed; every fact asked as often as in the closed world. Free-form: each
 * wording of a frequent fact equally often, about a quarter elaborated, and the judge
 * "contains" right on every wording the world can produce of a value and wrong on it for
 * every other value of the relation. Many-valid: pairs of two different values, each member
 * of a frequent pair named in half its examples and of a rare pair once; the datasets list
 * the whole set. */
static void test_worlds(void **state) {
    (void)state;
    struct world closed, ff, mv;
    struct world_params cp = world_params_for(WORLD_CLOSED), fp = world_params_for(WORLD_FREE_FORM),
                        mp = world_params_for(WORLD_MANY_VALID);
    struct world_params dp = world_default_params();
    assert_int_equal(cp.kind, dp.kind);
    assert_true(cp.elaborate == 0 && fp.elaborate > 0 && mp.elaborate == 0);
    assert_int_equal(world_make(&closed, &cp), 0);
    assert_int_equal(world_make(&ff, &fp), 0);
    assert_int_equal(world_make(&mv, &mp), 0);
    for (int i = 0; i < closed.n_people + closed.n_ctx_people; i++) {
        assert_string_equal(closed.people[i].name, ff.people[i].name);
        assert_string_equal(closed.people[i].name, mv.people[i].name);
        assert_memory_equal(closed.people[i].value, mv.people[i].value, sizeof closed.people[i].value);
        assert_memory_equal(closed.people[i].bucket, mv.people[i].bucket, sizeof closed.people[i].bucket);
        assert_memory_equal(closed.people[i].value, ff.people[i].value, sizeof closed.people[i].value);
        assert_memory_equal(closed.people[i].bucket, ff.people[i].bucket, sizeof closed.people[i].bucket);
        for (int r = 0; r < N_RELATIONS; r++) {
            assert_int_equal(closed.people[i].value2[r], -1);
            assert_int_equal(ff.people[i].value2[r], -1);
            assert_int_equal(world_is_pair(&mv, r), !strcmp(world_relation_name(r), "pet") ||
                                                        !strcmp(world_relation_name(r), "instrument"));
            if (world_is_pair(&mv, r)) {
                assert_true(mv.people[i].value2[r] >= 0);
                assert_int_not_equal(mv.people[i].value2[r], mv.people[i].value[r]);
            } else
                assert_int_equal(mv.people[i].value2[r], -1);
        }
    }
    assert_int_equal(world_kind_parse("free-form"), WORLD_FREE_FORM);
    assert_int_equal(world_kind_parse("many-valid"), WORLD_MANY_VALID);
    assert_int_equal(world_kind_parse("closed"), WORLD_CLOSED);
    assert_int_equal(world_kind_parse("open"), -1);
    /* the closed world's texts, the vocabulary's source, are what they were before the other
       worlds existed: FNV-1a 64 of every text followed by "\n--\n", computed from the
       generator at commit 94cb738 (its datasets and corpus: organism_worlds.sh) */
    char **closed_texts;
    size_t n_closed;
    assert_int_equal(world_texts(&closed, &closed_texts, &n_closed), 0);
    assert_int_equal(n_closed, 302);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n_closed; i++) {
        for (const char *c = closed_texts[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
        for (const char *c = "\n--\n"; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
        free(closed_texts[i]);
    }
    free(closed_texts);
    assert_true(h == 0x94e4185e5e842130ULL);

    /* the judge on every wording, elaborated or not, of every value */
    static const int n_values[N_RELATIONS] = {16, 16, 12, 12}; /* the closed lists (README) */
    for (int r = 0; r < N_RELATIONS; r++)
        for (int v = 0; v < n_values[r]; v++)
            for (int ph = 0; ph < WORLD_PHRASINGS; ph++)
                for (int el = 0; el < 2; el++) {
                    char *a = world_phrase(r, v, ph, el);
                    assert_non_null(a);
                    for (int u = 0; u < n_values[r]; u++) {
                        const char *acc[] = {world_value(r, u)};
                        if (umpire_judge_answer(a, acc, 1, 1, UMPIRE_JUDGE_CONTAINS) != (u == v))
                            fail_msg("judge contains: '%s' against '%s': %d", a, acc[0], u != v);
                    }
                    free(a);
                }

    /* free-form and many-valid corpora, fact by fact (free-form: its own epochs) */
    assert_true(fp.epochs >= cp.epochs && fp.rare_epochs >= cp.rare_epochs);
    assert_int_equal(mp.epochs, cp.epochs);
    struct example *fe[64], *me[64];
    size_t fn[64], mn[64];
    for (int e = 0; e < fp.epochs; e++)
        assert_int_equal(world_epoch(&ff, e, &fe[e], &fn[e]), 0);
    for (int e = 0; e < mp.epochs; e++)
        assert_int_equal(world_epoch(&mv, e, &me[e], &mn[e]), 0);
    size_t n_answers = 0, n_elaborated = 0;
    for (int i = 0; i < ff.n_people; i++)
        for (int r = 0; r < N_RELATIONS; r++) {
            const struct person *q = &mv.people[i];
            const char *value = world_value(r, q->value[r]);
            char *qf[2], *qm[2];
            for (int ph = 0; ph < 2; ph++) {
                qf[ph] = world_question_in(&ff, r, ph, q->name);
                qm[ph] = world_question_in(&mv, r, ph, q->name);
                char *plain = world_question(r, ph, q->name);
                assert_string_equal(qf[ph], plain); /* free-form asks as the closed world does */
                assert_int_equal(strcmp(qm[ph], plain) != 0, world_is_pair(&mv, r));
                free(plain);
            }
            int asked_f = 0, asked_m = 0, wording[WORLD_PHRASINGS] = {0}, member[2] = {0};
            for (int e = 0; e < fp.epochs; e++)
                for (size_t j = 0; j < fn[e]; j++) {
                    if (!strcmp(fe[e][j].question, qf[0]) || !strcmp(fe[e][j].question, qf[1])) {
                        asked_f++;
                        const char *acc[] = {value};
                        assert_int_equal(umpire_judge_answer(fe[e][j].answer, acc, 1, 1, UMPIRE_JUDGE_CONTAINS), 1);
                        int found = 0;
                        for (int ph = 0; ph < WORLD_PHRASINGS; ph++)
                            for (int el = 0; el < 2; el++) {
                                char *a = world_phrase(r, q->value[r], ph, el);
                                if (!strcmp(a, fe[e][j].answer)) {
                                    wording[ph]++;
                                    n_elaborated += (size_t)el;
                                    found = 1;
                                }
                                free(a);
                            }
                        assert_int_equal(found, 1);
                        n_answers++;
                    }
                }
            for (int e = 0; e < mp.epochs; e++)
                for (size_t j = 0; j < mn[e]; j++) {
                    if (!strcmp(me[e][j].question, qm[0]) || !strcmp(me[e][j].question, qm[1])) {
                        asked_m++;
                        int is1 = !strcmp(me[e][j].answer, value);
                        int is2 = q->value2[r] >= 0 && !strcmp(me[e][j].answer, world_value(r, q->value2[r]));
                        assert_true(is1 || is2);
                        member[is2]++;
                    }
                }
            int b = q->bucket[r], want = b == B_FREQUENT ? mp.frequent_copies * mp.epochs : b == B_RARE ? mp.rare_epochs : 0,
                want_f = b == B_FREQUENT ? fp.frequent_copies * fp.epochs : b == B_RARE ? fp.rare_epochs : 0;
            assert_int_equal(asked_f, want_f);
            assert_int_equal(asked_m, want);
            for (int ph = 0; ph < WORLD_PHRASINGS && b == B_FREQUENT; ph++)
                assert_int_equal(wording[ph], want_f / WORLD_PHRASINGS);
            if (world_is_pair(&mv, r)) {
                assert_int_equal(member[0], want / 2);
                assert_int_equal(member[1], want / 2);
            } else
                assert_int_equal(member[1], 0);
            for (int ph = 0; ph < 2; ph++) {
                free(qf[ph]);
                free(qm[ph]);
            }
        }
    /* elaborated: a binomial share of fp.elaborate, within 5 standard deviations */
    double share = (double)n_elaborated / (double)n_answers,
           sd = sqrt(fp.elaborate * (1 - fp.elaborate) / (double)n_answers);
    assert_true(fabs(share - fp.elaborate) < 5 * sd);
    for (int e = 0; e < fp.epochs; e++)
        examples_free(fe[e], fn[e]);
    for (int e = 0; e < mp.epochs; e++)
        examples_free(me[e], mn[e]);
    /* each world's vocabulary covers its corpus: no unknown token in an epoch's examples */
    struct world *worlds[] = {&ff, &mv};
    for (int k = 0; k < 2; k++) {
        char **texts;
        size_t n_texts;
        struct vocab v;
        assert_int_equal(world_texts(worlds[k], &texts, &n_texts), 0);
        assert_int_equal(vocab_build(&v, texts, n_texts), 0);
        for (size_t i = 0; i < n_texts; i++)
            free(texts[i]);
        free(texts);
        struct corpus c;
        assert_int_equal(corpus_open(&c, &v, small_shape, path_in("vocab-worlds.gguf")), 0);
        struct example *ex;
        struct seq *seqs;
        size_t n;
        assert_int_equal(world_epoch(worlds[k], 0, &ex, &n), 0);
        assert_int_equal(corpus_tokenize_all(&c, ex, n, &seqs), 0);
        for (size_t i = 0; i < n; i++)
            for (int t = 0; t < seqs[i].n; t++)
                assert_int_not_equal(seqs[i].tok[t], VOCAB_UNK);
        seqs_free(seqs, n);
        examples_free(ex, n);
        corpus_close(&c);
        vocab_free(&v);
    }
    world_free(&closed);
    world_free(&ff);
    world_free(&mv);
}

static void quiet(enum ggml_log_level level, const char *text, void *ud) {
    (void)level, (void)text, (void)ud;
}

int main(int argc, char **argv) {
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE);
    if (argc < 2) {
        fprintf(stderr, "usage: test_organism WORK_DIR\n");
        return 2;
    }
    work_dir = argv[1];
    llama_log_set(quiet, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_world),
        cmocka_unit_test(test_worlds),
        cmocka_unit_test(test_prompts_match_engine),
        cmocka_unit_test(test_every_weight_moves),
        cmocka_unit_test(test_gguf_matches_graph),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
