/* atomic.c - whole-file reads. */
#include "io/atomic.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/status.h"

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
