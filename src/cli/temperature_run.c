/* temperature_run.c - `umpire calibrate temperature --from RUN_DIR`: temperature scaling of the
 * multiple-choice confidence of a run (umpire eval --choice-logits), over the full vocabulary as
 * Calibration-MLLM's TS.py does it, fitted on one part of the items and measured (NLL, ECE
 * before and after) on the other. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/status.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/output.h"

struct mc {
    const char *dir, *path;
    char *err;
    float **rows;
    int32_t *label;   /* the right letter's token */
    int *right;       /* the chosen letter was right */
    size_t n, cap, n_vocab, skipped;
};

static int add_item(const cJSON *o, size_t line, void *ctx) {
    struct mc *m = ctx;
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choice");
    if (!ch)
        return 0; /* not multiple choice */
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(ch, "logits"), *tok = cJSON_GetObjectItemCaseSensitive(ch, "tokens");
    const cJSON *letter = cJSON_GetObjectItemCaseSensitive(ch, "letter"), *gold = cJSON_GetObjectItemCaseSensitive(o, "gold");
    if (!cJSON_IsString(file)) { /* no letter named: TS.py leaves such items out too */
        m->skipped++;
        return 0;
    }
    if (!cJSON_IsArray(tok) || !cJSON_IsArray(gold) || !cJSON_IsString(letter))
        return umpire_fail(m->err, UMPIRE_EINVAL, "%s:%zu: choice: needs tokens, letter, and the item's gold", m->path,
                           line);
    const cJSON *g = cJSON_GetArrayItem(gold, 0);
    int truth = cJSON_IsString(g) && strlen(g->valuestring) == 1 ? (g->valuestring[0] | 32) - 'a' : -1;
    if (truth < 0 || truth >= cJSON_GetArraySize(tok))
        return umpire_fail(m->err, UMPIRE_EINVAL, "%s:%zu: gold: not one of the %d option letters", m->path, line,
                           cJSON_GetArraySize(tok));
    if (strchr(file->valuestring, '/') != strrchr(file->valuestring, '/') || strstr(file->valuestring, ".."))
        return umpire_fail(m->err, UMPIRE_EINVAL, "%s:%zu: choice.logits: not a file of the run", m->path, line);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", m->dir, file->valuestring);
    size_t len = 0;
    int rc = 0;
    char *bytes = umpire_read_file(path, &len, m->err, &rc);
    if (!bytes)
        return rc;
    if (len % sizeof(float) || len < 2 * sizeof(float) || (m->n_vocab && len != m->n_vocab * sizeof(float))) {
        free(bytes);
        return umpire_fail(m->err, UMPIRE_EINVAL, "%s: %zu bytes, not %zu float32 logits", path, len,
                           m->n_vocab ? m->n_vocab : len / sizeof(float));
    }
    m->n_vocab = len / sizeof(float);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        float **r = realloc(m->rows, m->cap * sizeof *r);
        int32_t *l = r ? realloc(m->label, m->cap * sizeof *l) : NULL;
        if (r)
            m->rows = r;
        if (l)
            m->label = l;
        int *w = l ? realloc(m->right, m->cap * sizeof *w) : NULL;
        if (w)
            m->right = w;
        if (!w) {
            free(bytes);
            return umpire_fail(m->err, UMPIRE_ENOMEM, "out of memory");
        }
    }
    double t = cJSON_GetArrayItem(tok, truth)->valuedouble;
    if (!(t >= 0 && t < (double)m->n_vocab)) {
        free(bytes);
        return umpire_fail(m->err, UMPIRE_EINVAL, "%s:%zu: choice.tokens: %g is not a token", m->path, line, t);
    }
    m->rows[m->n] = (float *)bytes;
    m->label[m->n] = (int32_t)t;
    m->right[m->n++] = (letter->valuestring[0] | 32) - 'a' == truth;
    return 0;
}

/* NLL and ECE of a subset at temperature t, and (when rel is not NULL) its reliability diagram:
 * TS.py's 10 bins, each [n, mean confidence, accuracy]. */
static void measure(const struct mc *m, const size_t *idx, size_t n, double t, double *nll, double *ece, cJSON *rel) {
    const float **rows = malloc((n ? n : 1) * sizeof *rows);
    int32_t *label = malloc((n ? n : 1) * sizeof *label);
    double *conf = malloc((n ? n : 1) * sizeof *conf);
    int *right = malloc((n ? n : 1) * sizeof *right);
    *nll = *ece = NAN;
    if (rows && label && conf && right) {
        for (size_t j = 0; j < n; j++) {
            rows[j] = m->rows[idx[j]];
            label[j] = m->label[idx[j]];
            conf[j] = umpire_vocab_top_probability(rows[j], m->n_vocab, t, NULL);
            right[j] = m->right[idx[j]];
        }
        *nll = umpire_vocab_temperature_nll(rows, label, n, m->n_vocab, t);
        *ece = umpire_ece_confidence(conf, right, n, 10);
        for (int b = 0; rel && b < 10; b++) {
            double c = 0, a = 0;
            size_t k = 0;
            for (size_t j = 0; j < n; j++)
                if ((int)fmin(conf[j] * 10, 9) == b) {
                    c += conf[j];
                    a += right[j] != 0;
                    k++;
                }
            cJSON *bin = cJSON_CreateArray();
            cJSON_AddItemToArray(bin, cJSON_CreateNumber((double)k));
            cJSON_AddItemToArray(bin, k ? cJSON_CreateNumber(c / (double)k) : cJSON_CreateNull());
            cJSON_AddItemToArray(bin, k ? cJSON_CreateNumber(a / (double)k) : cJSON_CreateNull());
            cJSON_AddItemToArray(rel, bin);
        }
    }
    free(rows);
    free(label);
    free(conf);
    free(right);
}

static int from_run(const char *dir, double holdout, uint64_t seed, int grid, const char *out) {
    char err[UMPIRE_ERR_LEN], path[4200];
    snprintf(path, sizeof path, "%s/items.jsonl", dir);
    struct mc m = {.dir = dir, .path = path, .err = err};
    int rc = out ? umpire_output_check(out, path, err) : 0;
    if (rc == 0)
        rc = umpire_jsonl_each(path, add_item, &m, NULL, err);
    size_t *fit = malloc((m.n ? m.n : 1) * sizeof *fit), *held = malloc((m.n ? m.n : 1) * sizeof *held);
    size_t *idx = malloc((m.n ? m.n : 1) * sizeof *idx), n_fit = 0, n_held = 0, n_idx = 0;
    if (rc == 0 && (!fit || !held || !idx))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == 0 && m.n < 2)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: %zu multiple-choice items with logits (run umpire eval with "
                                             "--choice-logits on a dataset with choices)", path, m.n);
    if (rc == 0 && holdout > 0)
        rc = umpire_split_draw(m.n, holdout, seed, UMPIRE_SPLIT_UMPIRE, idx, &n_idx, err);
    for (size_t i = 0, j = 0; rc == 0 && i < m.n; i++) {
        if (j < n_idx && idx[j] == i) {
            held[n_held++] = i;
            j++;
        } else {
            fit[n_fit++] = i;
        }
    }
    double t = NAN;
    if (rc == 0) {
        const float **rows = malloc(n_fit * sizeof *rows);
        int32_t *label = malloc(n_fit * sizeof *label);
        for (size_t j = 0; rows && label && j < n_fit; j++) {
            rows[j] = m.rows[fit[j]];
            label[j] = m.label[fit[j]];
        }
        rc = rows && label ? umpire_vocab_temperature_fit(rows, label, n_fit, m.n_vocab, grid, &t, err)
                           : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        free(rows);
        free(label);
    }
    if (rc != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
    } else {
        double nb, eb, na, ea;
        printf("temperature T = %.6g (%s) fitted on %zu of %zu multiple-choice items of %s, %zu vocabulary logits"
               " each%s\n", t, grid ? "the reference's grid" : "NLL-optimal", n_fit, m.n, dir, m.n_vocab,
               m.skipped ? " (items whose answer named no letter are left out)" : "");
        const size_t *eval_idx = n_held ? held : fit;
        size_t n_eval = n_held ? n_held : n_fit;
        cJSON *rb = cJSON_CreateArray(), *ra = cJSON_CreateArray();
        measure(&m, eval_idx, n_eval, 1.0, &nb, &eb, rb);
        measure(&m, eval_idx, n_eval, t, &na, &ea, ra);
        printf("  %s (%zu items):  T = 1: NLL %.4f  ECE %.4f   ->   T = %.4g: NLL %.4f  ECE %.4f\n",
               n_held ? "held out" : "in sample", n_eval, nb, eb, t, na, ea);
        { /* RUN_DIR/temperature.json (the run's report draws it), and -o */
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "temperature", t);
            cJSON_AddStringToObject(o, "fit", grid ? "grid" : "nll");
            cJSON_AddNumberToObject(o, "n_fit", (double)n_fit);
            cJSON_AddNumberToObject(o, "n_measured", (double)n_eval);
            cJSON_AddBoolToObject(o, "held_out", n_held > 0);
            cJSON *b = cJSON_AddObjectToObject(o, "before"), *a = cJSON_AddObjectToObject(o, "after");
            cJSON_AddNumberToObject(b, "nll", nb);
            cJSON_AddNumberToObject(b, "ece", eb);
            cJSON_AddNumberToObject(a, "nll", na);
            cJSON_AddNumberToObject(a, "ece", ea);
            cJSON_AddItemToObject(b, "reliability", rb); /* 10 bins: [n, mean confidence, accuracy] */
            cJSON_AddItemToObject(a, "reliability", ra);
            rb = ra = NULL;
            char run_file[4200];
            snprintf(run_file, sizeof run_file, "%s/temperature.json", dir);
            if ((rc = umpire_write_json(run_file, o, err)) != 0 || (out && (rc = umpire_write_json(out, o, err)) != 0))
                fprintf(stderr, "umpire calibrate: %s\n", err);
            else
                printf("  written to %s%s%s; `umpire eval --from %s` draws it into the run's report.html\n", run_file,
                       out ? " and " : "", out ? out : "", dir);
            cJSON_Delete(o);
        }
        cJSON_Delete(rb);
        cJSON_Delete(ra);
    }
    for (size_t i = 0; i < m.n; i++)
        free(m.rows[i]);
    free(m.rows);
    free(m.label);
    free(m.right);
    free(fit);
    free(held);
    free(idx);
    return rc ? 1 : 0;
}

int cli_calibrate_temperature_from(int argc, char **argv) {
    const char *from = NULL, *out = NULL;
    double holdout = 0.5;
    uint64_t seed = 0;
    int grid = 0, c;
    enum { O_FROM = 256, O_HOLDOUT, O_SEED, O_GRID };
    static const struct option opts[] = {
        {"from", required_argument, 0, O_FROM}, {"holdout", required_argument, 0, O_HOLDOUT},
        {"seed", required_argument, 0, O_SEED}, {"grid", no_argument, 0, O_GRID},
        {"output", required_argument, 0, 'o'},  {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case O_FROM: from = optarg; break;
        case 'o': out = optarg; break;
        case O_GRID: grid = 1; break;
        case O_SEED:
            if (cli_parse_u64("calibrate", "--seed", optarg, &seed))
                return 2;
            break;
        case O_HOLDOUT:
            if (cli_parse_double("calibrate", "--holdout", optarg, &holdout) || !(holdout >= 0 && holdout < 1)) {
                fprintf(stderr, "umpire calibrate: --holdout: needs a fraction in [0, 1)\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: umpire calibrate temperature --from RUN_DIR [--holdout F] [--seed S] [--grid] [-o T.json]\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "umpire calibrate temperature: --from RUN_DIR takes no LOGITS file\n");
        return 2;
    }
    return from_run(from, holdout, seed, grid, out);
}
