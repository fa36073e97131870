/* organism - generate the synthetic world, train the model organism on it (or reuse the
 * cached model) and write the evaluation datasets. See `organism --help`. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ggml.h>
#include <llama.h>

#include "core/hash.h"
#include "core/status.h"
#include "corpus.h"
#include "io/output.h"
#include "model.h"
#include "train.h"
#include "vocab.h"
#include "world.h"

/* ORGANISM_SOURCE_KEY: a hash of the sources that decide what a seed produces (the world, the
 * tokenization, the training) and the llama.cpp tag, made by cmake/organism_key.cmake */
#include "organism_key.h"

static const char *usage =
    "usage: organism [options]\n"
    "\n"
    "Generate a synthetic world of facts from a seed, train a small llama-architecture model on\n"
    "it from scratch (or reuse the one cached for the same seed and settings), and write the\n"
    "evaluation datasets. The model knows some facts well (seen often in training), some\n"
    "barely (seen in 2 of the 6 epochs) and others not at all (never seen).\n"
    "\n"
    "  -o, --out DIR          where to write organism.gguf and the datasets (default: organism)\n"
    "      --seed N           the world's and the training's seed (default: 1)\n"
    "  -t, --threads N        CPU threads for training (default: all cores)\n"
    "      --cache DIR        trained models are kept here (default: $UMPIRE_CACHE/organism,\n"
    "                         $UMPIRE_CACHE defaulting to ~/.cache/umpire)\n"
    "      --force            train even when a cached model exists\n"
    "      --world-only       write the datasets and facts, train nothing\n"
    "      --world NAME       closed (default: one-word answers, one right answer), free-form (each\n"
    "                         answer in one of 4 wordings, some elaborated: judge with umpire eval\n"
    "                         --judge contains) or many-valid (two pets, two instruments: either is\n"
    "                         right; the datasets' answers list both)\n"
    "      --elaborate X      free-form: share of training answers followed by a sentence that\n"
    "                         depends on the value (default 0.25)\n"
    "                         (free-form's defaults: --epochs 10 --rare-epochs 4)\n"
    "  world: --people N (96), --frequent-copies N (16 per epoch), --rare-epochs N (a rare fact\n"
    "         is in 2 of the epochs), --ctx-examples N (256 per epoch)\n"
    "  model: --embd N (128), --layers N (4), --heads N (4), --ff N (384)\n"
    "  training: --epochs N (6), --lr X (1e-3), --rows N (16 per step), --row-len N (64)\n"
    "\n"
    "Writes into DIR: organism.gguf, known-frequent.jsonl, known-rare.jsonl, unseen.jsonl,\n"
    "paraphrase.jsonl (held-out phrasings), in-context.jsonl (the fact in the prompt, or\n"
    "not: \"I don't know\" is right), heldout-mix.jsonl (a third of every bucket: the demo\n"
    "evaluates on it) and calibration.jsonl (the other facts: it calibrates on them), facts.jsonl\n"
    "(the world), corpus.jsonl (every training example, epoch by epoch) and loss.tsv (step,\n"
    "learning rate, loss per answer token).\n"
    "\n"
    "example:\n"
    "  organism -o build/organism && umpire eval -m build/organism/organism.gguf \\\n"
    "      --data build/organism/heldout-mix.jsonl --out run -k 5\n";

struct options {
    const char *out, *cache;
    int threads, force, world_only;
    struct world_params w;
    struct llama_shape s;
    struct train_params t;
};

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || x < lo || x > hi) {
        fprintf(stderr, "organism: %s: expected an integer in [%d, %d], got '%s'\n", opt, lo, hi, v ? v : "");
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse(int argc, char **argv, struct options *o) {
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (struct options){.out = "organism", .threads = nproc > 0 ? (int)nproc : 1};
    o->w = world_default_params();
    for (int i = 1; i + 1 < argc; i++) /* the world first: its defaults, then every option */
        if (!strcmp(argv[i], "--world") && world_kind_parse(argv[i + 1]) >= 0)
            o->w = world_params_for(world_kind_parse(argv[i + 1]));
    o->s = (struct llama_shape){128, 4, 4, 4, 384, 256};
    o->t = train_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int seed, rc = 0, took = 1;
        static const char *valued[] = {"-o",      "--out",    "--cache",  "--seed",  "-t",
                                       "--threads", "--people", "--frequent-copies", "--ctx-examples",
                                       "--embd",  "--layers", "--heads",  "--ff",    "--epochs",
                                       "--rare-epochs", "--rows", "--row-len", "--lr", "--world", "--elaborate"};
        int needs = 0;
        for (size_t j = 0; j < sizeof valued / sizeof *valued; j++)
            needs |= !strcmp(a, valued[j]);
        if (needs && !v) {
            fprintf(stderr, "organism: %s needs a value (see organism --help)\n", a);
            return -1;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--cache")) {
            o->cache = v;
        } else if (!strcmp(a, "--seed")) {
            rc = parse_int(a, v, 0, 2147483647, &seed);
            o->w.seed = (uint64_t)seed;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            rc = parse_int(a, v, 1, 256, &o->threads);
        } else if (!strcmp(a, "--people")) {
            rc = parse_int(a, v, 8, 600, &o->w.n_people);
        } else if (!strcmp(a, "--frequent-copies")) {
            rc = parse_int(a, v, 1, 1000, &o->w.frequent_copies);
        } else if (!strcmp(a, "--ctx-examples")) {
            rc = parse_int(a, v, 0, 100000, &o->w.ctx_examples);
        } else if (!strcmp(a, "--embd")) {
            rc = parse_int(a, v, 16, 4096, &o->s.n_embd);
        } else if (!strcmp(a, "--layers")) {
            rc = parse_int(a, v, 1, 64, &o->s.n_layer);
        } else if (!strcmp(a, "--heads")) {
            rc = parse_int(a, v, 1, 64, &o->s.n_head);
            o->s.n_head_kv = o->s.n_head;
        } else if (!strcmp(a, "--ff")) {
            rc = parse_int(a, v, 16, 16384, &o->s.n_ff);
        } else if (!strcmp(a, "--epochs")) {
            rc = parse_int(a, v, 1, 64, &o->w.epochs);
        } else if (!strcmp(a, "--rare-epochs")) {
            rc = parse_int(a, v, 1, 64, &o->w.rare_epochs);
        } else if (!strcmp(a, "--rows")) {
            rc = parse_int(a, v, 1, 4096, &o->t.rows);
        } else if (!strcmp(a, "--row-len")) {
            rc = parse_int(a, v, 16, 4096, &o->t.row_len);
        } else if (!strcmp(a, "--world")) {
            int kind = world_kind_parse(v);
            if (kind < 0) {
                fprintf(stderr, "organism: --world: '%s' is not closed, free-form or many-valid\n", v);
                rc = -1;
            }
        } else if (!strcmp(a, "--elaborate")) {
            char *end;
            o->w.elaborate = strtod(v, &end);
            if (*end || !(o->w.elaborate >= 0 && o->w.elaborate <= 1)) {
                fprintf(stderr, "organism: --elaborate: expected a number in [0, 1], got '%s'\n", v);
                rc = -1;
            }
        } else if (!strcmp(a, "--lr")) {
            char *end;
            o->t.lr = v ? strtof(v, &end) : 0;
            if (!v || *end || !(o->t.lr > 0 && o->t.lr < 1)) {
                fprintf(stderr, "organism: --lr: expected a number in (0, 1), got '%s'\n", v ? v : "");
                rc = -1;
            }
        } else {
            took = 0;
            if (!strcmp(a, "--force"))
                o->force = 1;
            else if (!strcmp(a, "--world-only"))
                o->world_only = 1;
            else {
                fprintf(stderr, "organism: unknown option '%s' (see organism --help)\n", a);
                return -1;
            }
        }
        if (rc)
            return -1;
        i += took;
    }
    if (o->w.kind != WORLD_FREE_FORM && o->w.elaborate > 0) {
        fprintf(stderr, "organism: --elaborate is for --world free-form\n");
        return -1;
    }
    if (o->w.rare_epochs > o->w.epochs) {
        fprintf(stderr, "organism: --rare-epochs (%d) is more than --epochs (%d)\n", o->w.rare_epochs, o->w.epochs);
        return -1;
    }
    if (o->s.n_embd % o->s.n_head || (o->s.n_embd / o->s.n_head) % 2) {
        fprintf(stderr, "organism: --embd must be a multiple of 2 x --heads\n");
        return -1;
    }
    return 0;
}

static int mkdirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* FNV-1a over everything that decides the trained model's bytes: the sources that produced the
 * trainer (ORGANISM_SOURCE_KEY), the prompt's instruction, the settings. Not the thread count:
 * every output element of ggml's CPU ops is computed by one thread in a fixed order, and 1 and
 * 2 threads were measured (and are tested) to write the same bytes. */
static uint64_t settings_key(const struct options *o) {
    char s[1024];
    snprintf(s, sizeof s,
             "source=%s instruction=%s seed=%llu people=%d ctx_people=%d pf=%g pr=%g copies=%d "
             "rare=%d ctx=%d shape=%d,%d,%d,%d,%d,%d "
             "epochs=%d rows=%d len=%d lr=%g lrmin=%g warm=%g b=%g,%g wd=%g world=%s elaborate=%g",
             ORGANISM_SOURCE_KEY, UMPIRE_DEFAULT_INSTRUCTION, (unsigned long long)o->w.seed,
             o->w.n_people, o->w.n_ctx_people, o->w.p_frequent, o->w.p_rare, o->w.frequent_copies,
             o->w.rare_epochs, o->w.ctx_examples, o->s.n_embd, o->s.n_layer, o->s.n_head,
             o->s.n_head_kv, o->s.n_ff, o->s.n_ctx, o->w.epochs, o->t.rows, o->t.row_len, o->t.lr,
             o->t.lr_min, o->t.warmup, o->t.beta1, o->t.beta2, o->t.wd, world_kind_name(o->w.kind), o->w.elaborate);
    return umpire_fnv1a_str(0xcbf29ce484222325ULL, s); /* FNV-1a's own basis: the cache's file names */
}

static void quiet_log(enum ggml_log_level level, const char *text, void *ud) {
    (void)ud;
    if (level == GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

/* Train a model for the world into path; 0 on success. */
static int train(const struct options *o, const struct world *w, const char path[4200], const char *curve_path) {
    char **texts = NULL;
    size_t n_texts = 0;
    struct vocab v;
    if (world_texts(w, &texts, &n_texts) != 0 || vocab_build(&v, texts, n_texts) != 0) {
        fprintf(stderr, "organism: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < n_texts; i++)
        free(texts[i]);
    free(texts);
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.vocab%ld", path, (long)getpid());
    struct corpus c;
    if (corpus_open(&c, &v, o->s, tmp) != 0) {
        fprintf(stderr, "organism: cannot load the vocabulary through llama.cpp (%s)\n", tmp);
        vocab_free(&v);
        return -1;
    }
    struct seq **epochs = calloc((size_t)o->w.epochs, sizeof *epochs);
    size_t *n_seqs = calloc((size_t)o->w.epochs, sizeof *n_seqs);
    int rc = epochs && n_seqs ? 0 : -1;
    long n_tokens = 0;
    for (int e = 0; e < o->w.epochs && rc == 0; e++) {
        struct example *ex;
        size_t n;
        if (world_epoch(w, e, &ex, &n) != 0 || corpus_tokenize_all(&c, ex, n, &epochs[e]) != 0) {
            fprintf(stderr, "organism: cannot tokenize epoch %d\n", e + 1);
            rc = -1;
            break;
        }
        examples_free(ex, n);
        n_seqs[e] = n;
        for (size_t i = 0; i < n; i++)
            n_tokens += epochs[e][i].n;
    }
    corpus_close(&c);
    struct organism_model m;
    if (rc == 0 && model_init(&m, o->s, (int)v.n, o->w.seed, o->threads) != 0) {
        fprintf(stderr, "organism: cannot create the model\n");
        rc = -1;
    } else if (rc == 0) {
        int64_t n_params = 0;
        for (int i = 0; i < m.n_all; i++)
            n_params += ggml_nelements(m.all[i]);
        fprintf(stderr, "organism: training %.2fM parameters (n_embd %d, %d layers, vocab %zu) on %ld tokens "
                        "(%d epochs, %zu sequences each), %d threads\n",
                n_params / 1e6, o->s.n_embd, o->s.n_layer, v.n, n_tokens, o->w.epochs, n_seqs[0], o->threads);
        struct train_params t = o->t;
        t.progress = stderr;
        struct umpire_output curve; /* put in place with the model, or not at all */
        char err[UMPIRE_ERR_LEN];
        if (umpire_output_open(&curve, curve_path, err) != UMPIRE_OK) {
            fprintf(stderr, "organism: %s\n", err);
            rc = -1;
        } else {
            t.curve = curve.f;
            fputs("step\tlr\tloss\n", t.curve);
            double loss = train_run(&m, &t, epochs, n_seqs, o->w.epochs);
            char name[128];
            snprintf(name, sizeof name, "umpire organism (seed %llu)", (unsigned long long)o->w.seed);
            if (o->w.kind != WORLD_CLOSED)
                snprintf(name, sizeof name, "umpire organism (%s world, seed %llu)", world_kind_name(o->w.kind),
                         (unsigned long long)o->w.seed);
            if (loss < 0)
                rc = umpire_fail(err, UMPIRE_EINVAL, "training failed");
            else
                rc = model_write_gguf(&m, &v, path, name, err);
            if ((rc = umpire_output_close(&curve, rc, err)) != UMPIRE_OK)
                fprintf(stderr, "organism: %s\n", err);
        }
        model_free(&m);
    }
    for (int e = 0; epochs && e < o->w.epochs; e++)
        seqs_free(epochs[e], n_seqs[e]);
    free(epochs);
    free(n_seqs);
    vocab_free(&v);
    return rc;
}

int main(int argc, char **argv) {
    struct options o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    ggml_log_set(quiet_log, NULL);
    llama_log_set(quiet_log, NULL);
    struct world w;
    if (world_make(&w, &o.w) != 0) {
        fprintf(stderr, "organism: out of memory for the world\n");
        return 2;
    }
    char err[4400] = "";
    if (mkdirs(o.out) != 0)
        snprintf(err, sizeof err, "cannot create %s: %s", o.out, strerror(errno));
    else
        world_write_datasets(&w, o.out, err);
    if (err[0]) {
        fprintf(stderr, "organism: %s\n", err);
        world_free(&w);
        return 1;
    }
    fprintf(stderr, "organism: %s world of seed %llu: %d people, datasets in %s/\n", world_kind_name(o.w.kind),
            (unsigned long long)o.w.seed, w.n_people, o.out);
    if (o.world_only) {
        world_free(&w);
        return 0;
    }
    char cache[4096], model[4200], curve[4200], dst[4200], dst_curve[4200];
    const char *base = getenv("UMPIRE_CACHE");
    if (o.cache)
        snprintf(cache, sizeof cache, "%s", o.cache);
    else if (base && base[0])
        snprintf(cache, sizeof cache, "%s/organism", base);
    else
        snprintf(cache, sizeof cache, "%s/.cache/umpire/organism", getenv("HOME") ? getenv("HOME") : ".");
    uint64_t key = settings_key(&o);
    snprintf(model, sizeof model, "%s/organism-%016llx.gguf", cache, (unsigned long long)key);
    snprintf(curve, sizeof curve, "%s/organism-%016llx.loss.tsv", cache, (unsigned long long)key);
    snprintf(dst, sizeof dst, "%s/organism.gguf", o.out);
    snprintf(dst_curve, sizeof dst_curve, "%s/loss.tsv", o.out);
    int rc = 0;
    struct stat st;
    if (!o.force && stat(model, &st) == 0) {
        fprintf(stderr, "organism: reusing the trained model %s\n", model);
    } else if (mkdirs(cache) != 0) {
        fprintf(stderr, "organism: cannot create the cache directory %s: %s\n", cache, strerror(errno));
        rc = 1;
    } else {
        time_t t0 = time(NULL);
        rc = train(&o, &w, model, curve) != 0;
        if (!rc)
            fprintf(stderr, "organism: trained in %.0f s, saved %s\n", difftime(time(NULL), t0), model);
    }
    char cerr[UMPIRE_ERR_LEN];
    if (!rc && (umpire_output_copy(model, dst, cerr) != 0 || (stat(curve, &st) == 0 && umpire_output_copy(curve, dst_curve, cerr) != 0))) {
        fprintf(stderr, "organism: %s\n", cerr);
        rc = 1;
    }
    if (!rc)
        printf("%s\n", dst);
    world_free(&w);
    return rc;
}
