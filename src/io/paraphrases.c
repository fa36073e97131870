/* paraphrases.c - read paraphrase sets (see paraphrases.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/paraphrases.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/status.h"
#include "core/utf8.h"
#include "io/jsonl.h"

struct reading {
    const char *path;
    struct umpire_paraphrases *p;
    size_t cap;
    char *err;
};

static int one_line(const cJSON *o, size_t line, void *ctx) {
    struct reading *r = ctx;
    const cJSON *a = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "paraphrases") : NULL;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 2)
        return umpire_fail(r->err, UMPIRE_EINVAL,
                           "%s:%zu: paraphrases: expected an array of two or more strings", r->path,
                           line);
    const cJSON *s;
    cJSON_ArrayForEach(s, a) {
        if (!cJSON_IsString(s) || !s->valuestring[strspn(s->valuestring, " \t\r\n")] ||
            !umpire_utf8_valid(s->valuestring, NULL))
            return umpire_fail(r->err, UMPIRE_EINVAL,
                               "%s:%zu: paraphrases: expected non-empty UTF-8 strings", r->path,
                               line);
        struct umpire_paraphrases *p = r->p;
        if (p->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 16;
            char **t = realloc(p->text, cap * sizeof *t);
            if (t)
                p->text = t;
            size_t *g = realloc(p->group, cap * sizeof *g);
            if (g)
                p->group = g;
            if (!t || !g)
                return umpire_fail(r->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", r->path, line);
            r->cap = cap;
        }
        if (!(p->text[p->n] = strdup(s->valuestring)))
            return umpire_fail(r->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", r->path, line);
        p->group[p->n++] = p->n_groups;
    }
    r->p->n_groups++;
    return 0;
}

int umpire_paraphrases_read(const char *path, struct umpire_paraphrases *out, char *err) {
    memset(out, 0, sizeof *out);
    struct reading r = {.path = path, .p = out, .err = err};
    int rc = umpire_jsonl_each(path, one_line, &r, NULL, err);
    if (rc == 0 && out->n_groups < 2)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: %zu question(s); SPS compares two or more", path,
                         out->n_groups);
    if (rc != 0)
        umpire_paraphrases_free(out);
    return rc;
}

void umpire_paraphrases_free(struct umpire_paraphrases *p) {
    for (size_t i = 0; i < p->n; i++)
        free(p->text[i]);
    free(p->text);
    free(p->group);
    memset(p, 0, sizeof *p);
}
