/* atomic.c - whole-file writes that either complete or leave the old file as it was, and
 * whole-file reads. */
#include "io/atomic.h"

#include <stdlib.h>

#include "core/status.h"

int umpire_atomic_open(struct umpire_atomic_file *a, const char *path, char *err) {
    if ((size_t)snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path) >= sizeof a->tmp)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: path too long", path);
    if (!(a->f = fopen(a->tmp, "w")))
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open for writing", a->tmp);
    return UMPIRE_OK;
}

int umpire_atomic_close(struct umpire_atomic_file *a, const char *path, int rc, char *err) {
    int bad = ferror(a->f) != 0;
    bad |= fclose(a->f) != 0;
    if (rc == UMPIRE_OK && !bad && rename(a->tmp, path) == 0)
        return UMPIRE_OK;
    remove(a->tmp);
    return rc != UMPIRE_OK ? rc : umpire_fail(err, UMPIRE_EIO, "%s: write failed", path);
}

int umpire_put_json(FILE *f, const cJSON *v, int compact, char *err) {
    char *text = compact ? cJSON_PrintUnformatted(v) : cJSON_Print(v);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return UMPIRE_OK;
}

int umpire_write_json(const char *path, const cJSON *v, char *err) {
    struct umpire_atomic_file a;
    int rc = umpire_atomic_open(&a, path, err);
    return rc ? rc : umpire_atomic_close(&a, path, umpire_put_json(a.f, v, 0, err), err);
}

char *umpire_read_file(const char *path, size_t *len, char *err, int *rc) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *g = realloc(buf, cap *= 2);
            if (!g)
                free(buf);
            buf = g;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        *rc = bad ? umpire_fail(err, UMPIRE_EIO, "%s: read error", path) : umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

cJSON *umpire_read_json(const char *path, char *err, int *rc) {
    char *text = umpire_read_file(path, NULL, err, rc);
    if (!text)
        return NULL;
    cJSON *o = cJSON_Parse(text);
    if (!o) {
        const char *at = cJSON_GetErrorPtr();
        long line = 1;
        for (const char *p = text; at && p < at; p++)
            line += *p == '\n';
        *rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%ld: json: malformed JSON", path, line);
    }
    free(text);
    return o;
}
