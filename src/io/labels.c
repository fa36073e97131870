/* labels.c - correctness labels kept apart from the scores: a JSONL of {"id", "correct"}
 * lines, matched to scored items by id (sorted once, then binary search). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/jsonl.h"
#include "io/scores_json.h"

struct label {
    char *id;
    int correct;
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

static int add_label(const cJSON *o, size_t line, void *ctx) {
    struct labels *l = ctx;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "correct");
    if (!cJSON_IsString(id))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: id: missing or not a string", l->path, line);
    if (!cJSON_IsBool(c))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: correct: expected true or false", l->path, line);
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 64;
        struct label *g = realloc(l->v, l->alloc * sizeof *g);
        if (!g)
            return umpire_fail(l->err, UMPIRE_ENOMEM, "out of memory");
        l->v = g;
    }
    if (!(l->v[l->n].id = strdup(id->valuestring)))
        return umpire_fail(l->err, UMPIRE_ENOMEM, "out of memory");
    l->v[l->n++].correct = cJSON_IsTrue(c);
    return 0;
}

int umpire_scored_apply_labels(struct umpire_scored_file *f, const char *path, char *err) {
    struct labels l = {.path = path, .err = err};
    int rc = umpire_jsonl_each(path, add_label, &l, NULL, err);
    int matched = 0;
    if (rc == UMPIRE_OK) {
        qsort(l.v, l.n, sizeof *l.v, by_id);
        for (size_t i = 0; i < f->n; i++) {
            struct label key = {f->ids[i], 0}, *hit = bsearch(&key, l.v, l.n, sizeof key, by_id);
            f->correct[i] = hit ? hit->correct : -1;
            matched += hit != NULL;
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].id);
    free(l.v);
    return rc == UMPIRE_OK ? matched : rc;
}
