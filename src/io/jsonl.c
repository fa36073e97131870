/* jsonl.c - the one line-by-line JSONL reader behind sample sets, scored items, labels and
 * datasets, and the JSON parser behind it and the whole-file readers: any line length, blank
 * lines skipped, and every failure told apart (a read error, out of memory, nesting beyond
 * cJSON's limit, a NUL character, malformed JSON), with file, line and column or field. */
#define _POSIX_C_SOURCE 200809L
#include "io/jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* The field whose string holds byte `at` of a JSON text ("samples[1].text"), from the keys
 * and indices of the containers around it. Returns 0 when `at` is not in a string. */
static int field_at(const char *s, size_t at, char *out, size_t cap) {
    enum { SHOWN = 16 };
    struct {
        char open;
        size_t index;
        const char *key;
        int key_len;
    } fr[SHOWN];
    size_t depth = 0;
    int in_string = 0, is_key = 0, want_key = 0;
    const char *start = s;
    for (size_t i = 0; i < at; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"') {
                in_string = 0;
                if (is_key && depth && depth <= SHOWN) {
                    fr[depth - 1].key = start;
                    fr[depth - 1].key_len = (int)(s + i - start);
                }
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
            is_key = want_key;
            want_key = 0;
            start = s + i + 1;
        } else if (c == '{' || c == '[') {
            if (depth < SHOWN)
                fr[depth].open = c, fr[depth].index = 0, fr[depth].key = NULL;
            depth++;
            want_key = c == '{';
        } else if (c == '}' || c == ']') {
            depth -= depth > 0;
        } else if (c == ',' && depth && depth <= SHOWN) {
            if (fr[depth - 1].open == '[')
                fr[depth - 1].index++;
            else
                want_key = 1;
        }
    }
    size_t len = 0;
    out[0] = '\0';
    if (!in_string)
        return 0;
    for (size_t d = 0; d < depth && d < SHOWN && len < cap; d++) {
        if (fr[d].open == '[')
            len += (size_t)snprintf(out + len, cap - len, "[%zu]", fr[d].index);
        else if (fr[d].key && !(is_key && d + 1 == depth))
            len += (size_t)snprintf(out + len, cap - len, "%s%.*s", len ? "." : "", fr[d].key_len,
                                    fr[d].key);
    }
    if (len < cap && depth > SHOWN)
        len += (size_t)snprintf(out + len, cap - len, "...");
    if (len < cap && is_key)
        snprintf(out + len, cap - len, "%sa key", out[0] ? ": " : "");
    else if (!out[0])
        snprintf(out, cap, "json");
    return 1;
}

/* The first NUL character in a JSON text: a raw 0 byte, or a \u0000 escape in a string. */
static const char *find_nul(const char *s, size_t len) {
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0')
            return s + i;
        if (!in_string) {
            in_string = s[i] == '"';
        } else if (s[i] == '"') {
            in_string = 0;
        } else if (s[i] == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4))
                return s + i;
            i++;
        }
    }
    return NULL;
}

/* How many containers are open just before `at` (what cJSON's depth counts). */
static size_t depth_at(const char *s, size_t at) {
    size_t depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < at; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && depth) {
            depth--;
        }
    }
    return depth;
}

cJSON *umpire_json_parse(const char *text, size_t len, const char *path, size_t line, char *err,
                         int *rc) {
    const char *nul = find_nul(text, len);
    /* where a problem is: the line, or the document's line and column for a whole file */
    const char *at = nul, *line_start = text;
    size_t where = line;
    cJSON *value = NULL;
    if (!nul) {
        /* cJSON gives no reason for a failure; its allocations go through malloc, which sets
         * errno to ENOMEM when it fails, and nothing else in a parse does */
        errno = 0;
        value = cJSON_ParseWithLength(text, len);
        if (value)
            return value;
        int oom = errno == ENOMEM;
        at = cJSON_GetErrorPtr();
        if (!at || at < text || at > text + len)
            at = text + len;
        if (oom) {
            *rc = line ? umpire_fail(err, UMPIRE_ENOMEM, "%s:%zu: out of memory", path, line)
                       : umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory", path);
            return NULL;
        }
    }
    if (!line) {
        where = 1;
        for (const char *p = text; p < at; p++)
            if (*p == '\n')
                where++, line_start = p + 1;
    }
    long col = (long)(at - line_start) + 1;
    char field[160];
    if (nul && field_at(text, (size_t)(nul - text), field, sizeof field)) {
        *rc =
            umpire_fail(err, UMPIRE_EINVAL,
                        "%s:%zu: %s: a NUL character (%s at column %ld) would cut the string short",
                        path, where, field, *nul ? "\\u0000" : "a 0 byte", col);
    } else if (nul) {
        *rc = umpire_fail(err, UMPIRE_EINVAL,
                          "%s:%zu: json: a 0 byte at column %ld (not JSON text)", path, where, col);
    } else if (at < text + len && (*at == '[' || *at == '{') &&
               depth_at(text, (size_t)(at - text)) >= CJSON_NESTING_LIMIT) {
        *rc = umpire_fail(err, UMPIRE_EINVAL,
                          "%s:%zu: json: nested more than %d levels deep at column %ld", path,
                          where, CJSON_NESTING_LIMIT, col);
    } else {
        *rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: json: malformed JSON near column %ld", path,
                          where, col);
    }
    return NULL;
}

int umpire_jsonl_each(const char *path, umpire_jsonl_fn fn, void *ctx, size_t *n_lines, char *err) {
    FILE *f = fopen(path, "r");
    if (!f)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open for reading", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0, seen = 0;
    ssize_t len;
    int rc = UMPIRE_OK;
    for (;;) {
        errno = 0;
        if ((len = getline(&line, &cap, f)) == -1)
            break;
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue;
        seen++;
        cJSON *value = umpire_json_parse(line, (size_t)len, path, lineno, err, &rc);
        if (!value)
            break;
        rc = fn(value, lineno, ctx);
        cJSON_Delete(value);
        if (rc != UMPIRE_OK)
            break;
    }
    /* getline's -1 is the end of the file only when feof says so: a line it could not hold
     * (ENOMEM, with no error flag set) or a failed read is an error, never a shorter file */
    if (rc == UMPIRE_OK && (ferror(f) || !feof(f)))
        rc = errno == ENOMEM
                 ? umpire_fail(err, UMPIRE_ENOMEM, "%s:%zu: out of memory reading the line", path,
                               lineno + 1)
                 : umpire_fail(err, UMPIRE_EIO, "%s:%zu: read error (%s)", path, lineno + 1,
                               strerror(errno ? errno : EIO));
    free(line);
    fclose(f);
    if (n_lines)
        *n_lines = seen;
    return rc;
}
