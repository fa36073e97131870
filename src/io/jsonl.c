/* jsonl.c - the one line-by-line JSONL reader behind sample sets, scored items and labels:
 * any line length, blank lines skipped, malformed JSON reported with file, line and column. */
#define _POSIX_C_SOURCE 200809L
#include "io/jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int umpire_jsonl_each(const char *path, umpire_jsonl_fn fn, void *ctx, size_t *n_lines, char *err) {
    FILE *f = fopen(path, "r");
    if (!f)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open for reading", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0, seen = 0;
    ssize_t len;
    int rc = UMPIRE_OK;
    while (rc == UMPIRE_OK && (len = getline(&line, &cap, f)) != -1) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue;
        seen++;
        cJSON *value = cJSON_ParseWithLength(line, (size_t)len);
        if (!value) {
            const char *at = cJSON_GetErrorPtr();
            long col = at && at >= line && at <= line + len ? (long)(at - line) + 1 : 0;
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: json: malformed JSON near column %ld", path,
                             lineno, col);
            break;
        }
        rc = fn(value, lineno, ctx);
        cJSON_Delete(value);
    }
    if (rc == UMPIRE_OK && ferror(f))
        rc = umpire_fail(err, UMPIRE_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    if (n_lines)
        *n_lines = seen;
    return rc;
}
