/* merge.c - the shards of one evaluation (umpire eval --shard i/n) into one run: every shard
 * once, one configuration, no id twice, the dataset's order restored, the multiple-choice
 * logits files copied along. No llama.cpp here.
 *
 * Linear in items, and memory for the ids and 16 bytes an item, not for the items: each shard's
 * lines, checked and printed as umpire prints them, go to a spool file in OUT_DIR (unlinked at
 * once: nothing is left behind, whatever ends the process), and are read back from it in the
 * dataset's order. An item of a 13B model's run with k = 10 is about a megabyte of text.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The merge's spool: every shard's lines, one after another. */
struct spool {
    FILE *f;
    uint64_t at;     /* bytes written */
    size_t longest;  /* the longest line's length */
    const char *dir; /* for messages */
};

/* One shard's lines (where they are in the spool) and the letter-step logits files they name. */
struct shard_lines {
    uint64_t *at;  /* line j: spool bytes at[j] .. at[j] + len[j] */
    size_t *len;
    size_t n, cap;
    struct spool *spool;
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
        uint64_t *at = realloc(s->at, cap * sizeof *at);
        if (at)
            s->at = at;
        size_t *len = at ? realloc(s->len, cap * sizeof *len) : NULL;
        if (len)
            s->len = len;
        char **g = len ? realloc(s->logits, cap * sizeof *g) : NULL;
        if (!g)
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->logits = g;
        s->cap = cap;
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
    char *text = copy ? cJSON_PrintUnformatted(copy) : NULL;
    cJSON_Delete(copy);
    if (!text)
        return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
    size_t len = strlen(text);
    struct spool *sp = s->spool;
    int wrote = fwrite(text, 1, len, sp->f) == len;
    free(text);
    if (!wrote)
        return umpire_fail(s->err, UMPIRE_EIO, "%s: the merge's spool file: write failed (%s)", sp->dir,
                           strerror(errno));
    s->at[s->n] = sp->at;
    s->len[s->n] = len;
    sp->at += len;
    if (len > sp->longest)
        sp->longest = len;
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
    return umpire_output_copy(from, to, err);
}

struct shard_of_run {
    unsigned long shard; /* i of i/n */
    size_t run;          /* its position among the directories given */
};

/* The spool's bytes at .. at + len into buf. */
static int read_spool(const struct spool *sp, uint64_t at, size_t len, char *buf, char *err) {
    for (size_t got = 0; got < len;) {
        ssize_t r = pread(fileno(sp->f), buf + got, len - got, (off_t)(at + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return umpire_fail(err, UMPIRE_EIO, "%s: the merge's spool file: read failed (%s)", sp->dir,
                               r < 0 ? strerror(errno) : "it is shorter than written");
        got += (size_t)r;
    }
    return UMPIRE_OK;
}

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
    struct spool sp = {.dir = out_dir};
    if (rc == UMPIRE_OK) { /* the spool: a hidden file in OUT_DIR, unlinked as soon as it is open */
        snprintf(path, sizeof path, "%s/.umpire-merge-XXXXXX", out_dir);
        int fd = mkstemp(path);
        if (fd >= 0)
            unlink(path);
        if (fd < 0 || !(sp.f = fdopen(fd, "w+")))
            rc = umpire_fail(err, UMPIRE_EIO, "%s: the merge's spool file: cannot create (%s)", out_dir,
                             strerror(errno));
        if (fd >= 0 && !sp.f)
            close(fd);
    }
    snprintf(path, sizeof path, "%s/items.jsonl", out_dir);
    struct umpire_idset ids = {0};
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        snprintf(in, sizeof in, "%s/items.jsonl", runs[run_of[i]]);
        sl[i] = (struct shard_lines){.ids = &ids, .spool = &sp, .path = in, .err = err};
        rc = umpire_jsonl_each(in, keep_line, &sl[i], NULL, err);
    }
    if (rc == UMPIRE_OK && fflush(sp.f) != 0)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: the merge's spool file: write failed (%s)", out_dir, strerror(errno));
    char *line = rc == UMPIRE_OK ? malloc(sp.longest + 1) : NULL;
    if (rc == UMPIRE_OK && !line)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    /* the letter-step logits the items name, copied beside them before the items are written */
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++)
        for (size_t j = 0; j < sl[i].n_logits && rc == UMPIRE_OK; j++)
            rc = copy_file(runs[run_of[i]], out_dir, sl[i].logits[j], err);
    /* shard i holds items i, i + n, i + 2n, ... in order: round-robin restores the dataset's */
    if (rc == UMPIRE_OK && (rc = umpire_output_open(&items, path, err)) == UMPIRE_OK) {
        for (size_t j = 0, left = 1; left && rc == UMPIRE_OK; j++) {
            left = 0;
            for (size_t i = 0; i < n && rc == UMPIRE_OK; i++)
                if (j < sl[i].n) {
                    left = 1;
                    if ((rc = read_spool(&sp, sl[i].at[j], sl[i].len[j], line, err)) != UMPIRE_OK)
                        break;
                    fwrite(line, 1, sl[i].len[j], items.f); /* a failed write shows at the close */
                    fputc('\n', items.f);
                }
        }
        rc = umpire_output_close(&items, rc, err);
    }
    free(line);
    if (sp.f)
        fclose(sp.f);
    for (size_t i = 0; sl && i < n; i++) {
        for (size_t j = 0; j < sl[i].n_logits; j++)
            free(sl[i].logits[j]);
        free(sl[i].at);
        free(sl[i].len);
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
