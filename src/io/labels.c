/* labels.c - correctness labels kept apart from the scores: a JSONL of {"id", "correct"}
 * lines, matched to scored items by id (sorted once, then binary search). An id may come
 * again with the same label (files concatenated), never with the other one. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/scores_json.h"

struct label {
    char *id;
    int correct;
    size_t line;
};

struct labels {
    const char *path;
    char *err;
    struct label *v;
    size_t n, alloc;
};

static int by_id(const void *a, const void *b) {
    return strcmp(((const struct label *)a)->id, ((const struct label *)b)->id);
}

/* by id, then by line: the same order whatever qsort does with ties */
static int by_id_line(const void *a, const void *b) {
    const struct label *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int add_label(const cJSON *o, size_t line, void *ctx) {
    struct labels *l = ctx;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "correct");
    size_t bad;
    if (!cJSON_IsString(id))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: id: missing or not a string", l->path, line);
    if (!umpire_utf8_valid(id->valuestring, &bad))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: id: not valid UTF-8 (byte %zu)", l->path,
                           line, bad);
    if (!cJSON_IsBool(c))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: correct: expected true or false", l->path, line);
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 64;
        struct label *g = realloc(l->v, l->alloc * sizeof *g);
        if (!g)
            return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
        l->v = g;
    }
    if (!(l->v[l->n].id = strdup(id->valuestring)))
        return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
    l->v[l->n].line = line;
    l->v[l->n++].correct = cJSON_IsTrue(c);
    return 0;
}

int umpire_scored_apply_labels(struct umpire_scored_file *f, const char *path, char *err) {
    struct labels l = {.path = path, .err = err};
    int rc = umpire_jsonl_each(path, add_label, &l, NULL, err);
    int matched = 0;
    if (rc == UMPIRE_OK)
        qsort(l.v, l.n, sizeof *l.v, by_id_line);
    for (size_t i = 1; rc == UMPIRE_OK && i < l.n; i++)
        if (!strcmp(l.v[i - 1].id, l.v[i].id) && l.v[i - 1].correct != l.v[i].correct)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: correct: id '%.60s' is %s here but %s on line %zu", path,
                             l.v[i].line, l.v[i].id, l.v[i].correct ? "true" : "false",
                             l.v[i - 1].correct ? "true" : "false", l.v[i - 1].line);
    if (rc == UMPIRE_OK) {
        for (size_t i = 0; i < f->n; i++) {
            struct label key = {.id = f->ids[i]}, *hit = bsearch(&key, l.v, l.n, sizeof key, by_id);
            f->correct[i] = hit ? hit->correct : -1;
            matched += hit != NULL;
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].id);
    free(l.v);
    return rc == UMPIRE_OK ? matched : rc;
}
