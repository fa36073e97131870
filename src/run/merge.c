/* merge.c - the shards of one evaluation (umpire eval --shard i/n) into one run: every shard
 * once, one configuration, no id twice, the dataset's order restored, the multiple-choice
 * logits files copied along. No llama.cpp here.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "io/atomic.h"
#include "io/idset.h"
#include "io/item_json.h"
#include "io/jsonl.h"
#include "io/output.h"
#include "run/run.h"

/* One shard's lines, kept in memory for the merge, and the letter-step logits files they name. */
struct shard_lines {
    char **lines;
    size_t n, cap;
    char **logits; /* "choice_logits/<16 hex>.f32", relative to the shard's directory */
    size_t n_logits;
    struct umpire_idset *ids; /* all ids seen, across shards */
    const char *path;
    char *err;
};

static int keep_line(const cJSON *o, size_t line, void *vctx) {
    struct shard_lines *s = vctx;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(id))
        return umpire_fail(s->err, UMPIRE_EINVAL, "%s:%zu: id: missing", s->path, line);
    size_t first = 0;
    int added = umpire_idset_add(s->ids, id->valuestring, line, &first);
    if (added < 0)
        return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
    if (added == 1) /* shards split the ids: none may come twice */
        return umpire_fail(s->err, UMPIRE_EINVAL,
                           "%s:%zu: id: %s is in two shards (it was on line %zu of one)", s->path,
                           line, id->valuestring, first);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **g = realloc(s->lines, cap * sizeof *g);
        if (!g)
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->lines = g;
        s->cap = cap;
        if (!(g = realloc(s->logits, cap * sizeof *g)))
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->logits = g;
    }
    const cJSON *lf = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "choice"), "logits");
    if (lf) { /* only a name umpire eval writes: a file in the run's choice_logits/ */
        const char *v = cJSON_IsString(lf) ? lf->valuestring : "";
        if (strlen(v) != 34 || strncmp(v, "choice_logits/", 14) || strspn(v + 14, "0123456789abcdef") != 16 ||
            strcmp(v + 30, ".f32"))
            return umpire_fail(s->err, UMPIRE_EINVAL,
                               "%s:%zu: choice.logits: not a file umpire eval names (choice_logits/<16 hex digits>.f32)",
                               s->path, line);
        if (!(s->logits[s->n_logits] = strdup(v)))
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->n_logits++;
    }
    cJSON *copy = cJSON_Duplicate(o, 1); /* printed as umpire prints it: the same bytes as read */
    umpire_json_exact(copy);
    s->lines[s->n] = copy ? cJSON_PrintUnformatted(copy) : NULL;
    cJSON_Delete(copy);
    if (!s->lines[s->n])
        return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
    s->n++;
    return 0;
}

/* FROM_DIR/name copied to TO_DIR/name (its folder created). */
static int copy_file(const char *from_dir, const char *to_dir, const char *name, char *err) {
    char from[4300], to[4300];
    snprintf(from, sizeof from, "%s/%s", from_dir, name);
    snprintf(to, sizeof to, "%s/%.*s", to_dir, (int)(strchr(name, '/') - name), name);
    if (mkdir(to, 0777) != 0 && errno != EEXIST)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", to, strerror(errno));
    snprintf(to, sizeof to, "%s/%s", to_dir, name);
    size_t len = 0;
    int rc = UMPIRE_OK;
    char *data = umpire_read_file(from, &len, err, &rc);
    struct umpire_output o;
    if (data && (rc = umpire_output_open(&o, to, err)) == UMPIRE_OK)
        rc = umpire_output_close(&o, fwrite(data, 1, len, o.f) == len ? UMPIRE_OK
                                     : umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", to, strerror(errno)),
                                 err);
    free(data);
    return rc;
}

struct shard_of_run {
    unsigned long shard; /* i of i/n */
    size_t run;          /* its position among the directories given */
};

static int by_shard(const void *a, const void *b) {
    const struct shard_of_run *x = a, *y = b;
    if (x->shard != y->shard)
        return (x->shard > y->shard) - (x->shard < y->shard);
    return (x->run > y->run) - (x->run < y->run);
}

/* Read every run's config.json: each must be shard i/n of one configuration, every i once.
 * Returns the shared configuration (without "shard") in *first, and run_of[i - 1] = the run
 * holding shard i. */
static int check_shards(const char *const *runs, size_t n, size_t *run_of, cJSON **first,
                        char *err) {
    int rc = UMPIRE_OK;
    struct shard_of_run *shard = calloc(n, sizeof *shard);
    unsigned long shards = 0;
    if (!shard)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t r = 0; r < n && rc == UMPIRE_OK; r++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/config.json", runs[r]);
        cJSON *cfg = umpire_read_json(path, err, &rc);
        if (!cfg)
            break;
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(cfg, "shard");
        unsigned long a = 0, b = 0;
        if (!cJSON_IsString(sh) || sscanf(sh->valuestring, "%lu/%lu", &a, &b) != 2 || a < 1 || a > b)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: shard: not a shard of a run (umpire eval --shard i/n)", path);
        else if (shards && b != shards)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: shard %s, but the others are of %lu", path,
                             sh->valuestring, shards);
        shards = b;
        shard[r] = (struct shard_of_run){a, r};
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "shard");
        if (rc == UMPIRE_OK && *first && !cJSON_Compare(*first, cfg, true))
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: configured differently from %s/config.json", path, runs[0]);
        if (rc == UMPIRE_OK && !*first)
            *first = cfg;
        else
            cJSON_Delete(cfg);
    }
    if (rc == UMPIRE_OK) { /* sorted, a shard given twice is next to itself: n log n for n shards */
        qsort(shard, n, sizeof *shard, by_shard);
        for (size_t r = 1; r < n && rc == UMPIRE_OK; r++)
            if (shard[r].shard == shard[r - 1].shard)
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s/config.json: shard %lu/%lu is given twice (%s has it too)",
                                 runs[shard[r].run], shard[r].shard, shards, runs[shard[r - 1].run]);
    }
    if (rc == UMPIRE_OK) {
        for (size_t r = 0; r < n; r++)
            if (shard[r].shard <= n) /* the shards are distinct and at most n of them are <= n */
                run_of[shard[r].shard - 1] = shard[r].run;
        unsigned long missing = 1; /* the first number not among the sorted, distinct shards */
        for (size_t r = 0; r < n && shard[r].shard == missing; r++)
            missing++;
        if (missing <= shards)
            rc = umpire_fail(err, UMPIRE_EINVAL, "shard %lu/%lu is missing", missing, shards);
    }
    free(shard);
    return rc;
}

int umpire_eval_merge(const char *out_dir, const char *const *runs, size_t n, char *err) {
    if (n < 1)
        return umpire_fail(err, UMPIRE_EINVAL, "no run directories to merge");
    cJSON *first = NULL;
    size_t *run_of = calloc(n, sizeof *run_of); /* shard index -> run */
    struct shard_lines *sl = calloc(n, sizeof *sl);
    int rc = run_of && sl ? check_shards(runs, n, run_of, &first, err)
                          : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    char path[4200], in[4200];
    /* the merged run goes elsewhere: into a shard's directory it would write over that shard */
    for (size_t r = 0; r < n && rc == UMPIRE_OK; r++) {
        if (umpire_same_file(out_dir, runs[r]))
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s is the shard %s; merge into a new directory", out_dir, runs[r]);
        snprintf(in, sizeof in, "%s/items.jsonl", runs[r]);
        if (rc == UMPIRE_OK)
            rc = umpire_eval_check_input(out_dir, in, err);
        snprintf(in, sizeof in, "%s/config.json", runs[r]);
        if (rc == UMPIRE_OK)
            rc = umpire_eval_check_input(out_dir, in, err);
    }
    if (rc == UMPIRE_OK && mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", out_dir, strerror(errno));
    struct umpire_output items;
    snprintf(path, sizeof path, "%s/items.jsonl", out_dir);
    struct umpire_idset ids = {0};
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        snprintf(in, sizeof in, "%s/items.jsonl", runs[run_of[i]]);
        sl[i] = (struct shard_lines){.ids = &ids, .path = in, .err = err};
        rc = umpire_jsonl_each(in, keep_line, &sl[i], NULL, err);
    }
    /* the letter-step logits the items name, copied beside them before the items are written */
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++)
        for (size_t j = 0; j < sl[i].n_logits && rc == UMPIRE_OK; j++)
            rc = copy_file(runs[run_of[i]], out_dir, sl[i].logits[j], err);
    /* shard i holds items i, i + n, i + 2n, ... in order: round-robin restores the dataset's */
    if (rc == UMPIRE_OK && (rc = umpire_output_open(&items, path, err)) == UMPIRE_OK) {
        for (size_t j = 0, left = 1; left; j++) {
            left = 0;
            for (size_t i = 0; i < n; i++)
                if (j < sl[i].n) {
                    fputs(sl[i].lines[j], items.f);
                    fputc('\n', items.f);
                    left = 1;
                }
        }
        rc = umpire_output_close(&items, rc, err);
    }
    for (size_t i = 0; sl && i < n; i++) {
        for (size_t j = 0; j < sl[i].n; j++)
            free(sl[i].lines[j]);
        for (size_t j = 0; j < sl[i].n_logits; j++)
            free(sl[i].logits[j]);
        free(sl[i].lines);
        free(sl[i].logits);
    }
    free(sl);
    umpire_idset_free(&ids);
    snprintf(path, sizeof path, "%s/config.json", out_dir);
    if (rc == UMPIRE_OK)
        rc = umpire_write_json(path, first, err);
    cJSON_Delete(first);
    free(run_of);
    return rc;
}
