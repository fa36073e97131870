/* vlorganism - draw the shapes world, train the vision-language organism on it (or reuse the
 * cached one) and write the evaluation datasets with their images. See `vlorganism --help`. */
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
#include "io/output.h"
#include "scene.h"
#include "vlmodel.h"
#include "vltrain.h"

/* VLORGANISM_SOURCE_KEY: a hash of the sources that decide what a seed produces and the
 * llama.cpp tag, made by cmake/vlorganism_key.cmake */
#include "vlorganism_key.h"

static const char *usage =
    "usage: vlorganism [options]\n"
    "\n"
    "Draw a world of pictures of shapes from a seed, train a small vision-language model on it\n"
    "from scratch (a ViT and a llava MLP projector feeding a llama, trained jointly; or reuse the\n"
    "one cached for the same seed and settings), and write the evaluation datasets. Some\n"
    "(shape, colour) pairs are frequent in training, some rare, some never shown; four shapes\n"
    "are never shown at once; some pictures have a background never shown; some questions ask\n"
    "about what is not in the picture (the right answer: \"I don't know\").\n"
    "\n"
    "  -o, --out DIR       where to write the model and the datasets (default: vlorganism)\n"
    "      --seed N        the world's and the training's seed (default: 1)\n"
    "  -t, --threads N     CPU threads for training (default: all cores)\n"
    "      --cache DIR     trained models are kept here (default: $UMPIRE_CACHE/vlorganism,\n"
    "                      $UMPIRE_CACHE defaulting to ~/.cache/umpire)\n"
    "      --force         train even when a cached model exists\n"
    "      --world-only    write the datasets and images, train nothing\n"
    "      --items N       evaluation items per bucket (default 60)\n"
    "      --steps N       training steps of 32 examples (default 3000)\n"
    "      --lr X          peak learning rate (default 6e-4)\n"
    "\n"
    "Writes into DIR: vlorganism.gguf and vlorganism-mmproj.gguf (load them with umpire -m ...\n"
    "--mmproj ...), known.jsonl, rare.jsonl, unseen.jsonl, ood.jsonl, idk.jsonl (one bucket each),\n"
    "heldout-mix.jsonl (a third of every bucket) and calibration.jsonl (the rest), images/*.ppm,\n"
    "video.jsonl (clips: a shape moving left or right, appearing or vanishing; clips/*/ holds each\n"
    "clip's frames) and video-1frame.jsonl (the same asked with the first frame alone),\n"
    "describe.jsonl (the known questions with 0..3 true sentences of description),\n"
    "pairs.jsonl (each pair's bucket) and loss.tsv (step, learning rate, loss per answer token).\n"
    "\n"
    "example:\n"
    "  vlorganism -o build/vl && umpire eval -m build/vl/vlorganism.gguf \\\n"
    "      --mmproj build/vl/vlorganism-mmproj.gguf --data build/vl/heldout-mix.jsonl --out run -k 5\n";

struct options {
    const char *out, *cache;
    int threads, force, world_only, items, seed;
    struct llama_shape s;
    struct vit_hparams vh;
    struct vl_train_params t;
};

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || x < lo || x > hi) {
        fprintf(stderr, "vlorganism: %s: expected an integer in [%d, %d], got '%s'\n", opt, lo, hi, v ? v : "");
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse(int argc, char **argv, struct options *o) {
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (struct options){.out = "vlorganism", .threads = nproc > 0 ? (int)nproc : 1, .items = 60, .seed = 1};
    o->s = (struct llama_shape){96, 3, 4, 4, 256, 128};
    o->vh = vit_default_hparams();
    o->t = vl_train_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(a, "--force")) {
            o->force = 1;
            continue;
        } else if (!strcmp(a, "--world-only")) {
            o->world_only = 1;
            continue;
        } else if (!v && (a[0] == '-')) {
            fprintf(stderr, "vlorganism: %s needs a value or is unknown (see vlorganism --help)\n", a);
            return -1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--cache")) {
            o->cache = v;
        } else if (!strcmp(a, "--seed")) {
            rc = parse_int(a, v, 0, 2147483647, &o->seed);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            rc = parse_int(a, v, 1, 256, &o->threads);
        } else if (!strcmp(a, "--items")) {
            rc = parse_int(a, v, 3, 100000, &o->items);
        } else if (!strcmp(a, "--steps")) {
            rc = parse_int(a, v, 10, 1000000, &o->t.steps);
        } else if (!strcmp(a, "--lr")) {
            char *end;
            o->t.lr = strtof(v, &end);
            if (*end || !(o->t.lr > 0 && o->t.lr < 1)) {
                fprintf(stderr, "vlorganism: --lr: expected a number in (0, 1), got '%s'\n", v);
                rc = -1;
            }
        } else {
            fprintf(stderr, "vlorganism: unknown option '%s' (see vlorganism --help)\n", a);
            return -1;
        }
        if (rc)
            return -1;
        i++;
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

/* FNV-1a over what decides the trained model's bytes (not the thread count: ggml's CPU ops
 * give every output element to one thread, in a fixed order). */
static uint64_t settings_key(const struct options *o) {
    char s[1024];
    snprintf(s, sizeof s,
             "source=%s instruction=%s seed=%d shape=%d,%d,%d,%d,%d,%d vit=%d,%d,%d,%d,%d,%d,%g "
             "steps=%d rows=%d len=%d lr=%g lrmin=%g warm=%g b=%g,%g wd=%g",
             VLORGANISM_SOURCE_KEY, UMPIRE_DEFAULT_INSTRUCTION, o->seed, o->s.n_embd, o->s.n_layer, o->s.n_head,
             o->s.n_head_kv, o->s.n_ff, o->s.n_ctx, o->vh.image, o->vh.patch, o->vh.n_embd, o->vh.n_head, o->vh.n_ff,
             o->vh.n_layer, o->vh.eps, o->t.steps, o->t.rows, o->t.row_len, o->t.lr, o->t.lr_min, o->t.warmup,
             o->t.beta1, o->t.beta2, o->t.wd);
    return umpire_fnv1a_str(0xcbf29ce484222325ULL, s); /* FNV-1a's own basis: the cache's file names */
}

static void quiet_log(enum ggml_log_level level, const char *text, void *ud) {
    (void)ud;
    if (level == GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

/* Train into the cache's model and projector paths; 0 on success. */
static int train(const struct options *o, const struct scene_world *w, const char *model, const char *mmproj,
                 const char *curve_path) {
    char **texts = NULL;
    size_t n_texts = 0;
    struct vocab v;
    if (scene_texts(&texts, &n_texts) != 0 || vocab_build(&v, texts, n_texts) != 0) {
        fprintf(stderr, "vlorganism: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < n_texts; i++)
        free(texts[i]);
    free(texts);
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.vocab%ld", model, (long)getpid());
    struct corpus c;
    if (corpus_open(&c, &v, o->s, tmp) != 0) {
        fprintf(stderr, "vlorganism: cannot load the vocabulary through llama.cpp (%s)\n", tmp);
        vocab_free(&v);
        return -1;
    }
    struct vl_model m;
    int rc = 0;
    if (vl_model_init(&m, o->s, (int)v.n, o->vh, (uint64_t)o->seed, o->threads) != 0) {
        fprintf(stderr, "vlorganism: cannot create the model\n");
        rc = -1;
    } else {
        int64_t n_vit = 0, n_lm = 0;
        for (int i = 0; i < m.n_all; i++)
            *(i < m.vit.n_all ? &n_vit : &n_lm) += ggml_nelements(m.all[i]);
        fprintf(stderr,
                "vlorganism: training %.2fM parameters (ViT + projector %.2fM: %dx%d image, %d patches; llama "
                "%.2fM, vocab %zu) for %d steps of %d examples, %d threads\n",
                (n_vit + n_lm) / 1e6, n_vit / 1e6, o->vh.image, o->vh.image, vit_n_patches(&o->vh), n_lm / 1e6, v.n,
                o->t.steps, o->t.rows, o->threads);
        struct vl_train_params t = o->t;
        t.progress = stderr;
        struct umpire_output curve;
        char err[UMPIRE_ERR_LEN];
        if (umpire_output_open(&curve, curve_path, err) != UMPIRE_OK) {
            fprintf(stderr, "vlorganism: %s\n", err);
            rc = -1;
        } else {
            t.curve = curve.f;
            fputs("step\tlr\tloss\n", t.curve);
            double loss = vl_train(&m, w, &c, &t);
            char name[128];
            snprintf(name, sizeof name, "umpire vision-language organism (seed %d)", o->seed);
            rc = loss < 0 ? umpire_fail(err, UMPIRE_EINVAL, "training failed") : vl_write(&m, &v, model, mmproj, name, err);
            if ((rc = umpire_output_close(&curve, rc, err)) != UMPIRE_OK)
                fprintf(stderr, "vlorganism: %s\n", err);
            else
                fprintf(stderr, "vlorganism: final loss %.4f per answer token\n", loss);
        }
        vl_model_free(&m);
    }
    corpus_close(&c);
    vocab_free(&v);
    return rc;
}

int main(int argc, char **argv) {
    struct options o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    ggml_log_set(quiet_log, NULL);
    llama_log_set(quiet_log, NULL);
    struct scene_world w;
    scene_world_make(&w, (uint64_t)o.seed, o.vh.image);
    char err[UMPIRE_ERR_LEN + 4400] = "";
    if (mkdirs(o.out) != 0)
        snprintf(err, sizeof err, "cannot create %s: %s", o.out, strerror(errno));
    else
        scene_write_datasets(&w, o.out, (size_t)o.items, err);
    if (err[0]) {
        fprintf(stderr, "vlorganism: %s\n", err);
        return 1;
    }
    fprintf(stderr, "vlorganism: shapes world of seed %d: %d items per bucket, datasets in %s/\n", o.seed, o.items,
            o.out);
    if (o.world_only)
        return 0;
    char cache[4096], model[4200], mmproj[4200], curve[4200], dst[4200], dst_mmproj[4200], dst_curve[4200];
    const char *base = getenv("UMPIRE_CACHE");
    if (o.cache)
        snprintf(cache, sizeof cache, "%s", o.cache);
    else if (base && base[0])
        snprintf(cache, sizeof cache, "%s/vlorganism", base);
    else
        snprintf(cache, sizeof cache, "%s/.cache/umpire/vlorganism", getenv("HOME") ? getenv("HOME") : ".");
    unsigned long long key = (unsigned long long)settings_key(&o);
    snprintf(model, sizeof model, "%s/vlorganism-%016llx.gguf", cache, key);
    snprintf(mmproj, sizeof mmproj, "%s/vlorganism-%016llx-mmproj.gguf", cache, key);
    snprintf(curve, sizeof curve, "%s/vlorganism-%016llx.loss.tsv", cache, key);
    snprintf(dst, sizeof dst, "%s/vlorganism.gguf", o.out);
    snprintf(dst_mmproj, sizeof dst_mmproj, "%s/vlorganism-mmproj.gguf", o.out);
    snprintf(dst_curve, sizeof dst_curve, "%s/loss.tsv", o.out);
    int rc = 0;
    struct stat st;
    if (!o.force && stat(model, &st) == 0 && stat(mmproj, &st) == 0) {
        fprintf(stderr, "vlorganism: reusing the trained model %s\n", model);
    } else if (mkdirs(cache) != 0) {
        fprintf(stderr, "vlorganism: cannot create the cache directory %s: %s\n", cache, strerror(errno));
        rc = 1;
    } else {
        time_t t0 = time(NULL);
        rc = train(&o, &w, model, mmproj, curve) != 0;
        if (!rc)
            fprintf(stderr, "vlorganism: trained in %.0f s, saved %s\n", difftime(time(NULL), t0), model);
    }
    char cerr[UMPIRE_ERR_LEN];
    if (!rc && (umpire_output_copy(model, dst, cerr) != 0 || umpire_output_copy(mmproj, dst_mmproj, cerr) != 0 ||
                (stat(curve, &st) == 0 && umpire_output_copy(curve, dst_curve, cerr) != 0))) {
        fprintf(stderr, "vlorganism: %s\n", cerr);
        rc = 1;
    }
    if (!rc)
        printf("%s\n%s\n", dst, dst_mmproj);
    return rc;
}
