/* jsonl.h - walk a JSONL file one parsed object at a time; parse one JSON text. */
#ifndef UMPIRE_IO_JSONL_H
#define UMPIRE_IO_JSONL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Called for each non-blank line with its parsed JSON (freed after the call) and its 1-based
 * line number; a non-zero return stops the walk and is returned. */
typedef int (*umpire_jsonl_fn)(const cJSON *value, size_t line, void *ctx);

/* Open PATH and call fn on every non-blank line. Returns 0, fn's first non-zero return, or a
 * negative status with err filled: UMPIRE_EIO "PATH: cannot open" / "PATH:LINE: read error",
 * UMPIRE_ENOMEM "PATH:LINE: out of memory ...", or umpire_json_parse's errors. A line that
 * cannot be read is an error, never the end of the file. *n_lines (may be NULL) receives the
 * number of non-blank lines seen. */
int umpire_jsonl_each(const char *path, umpire_jsonl_fn fn, void *ctx, size_t *n_lines, char *err);

/* Parse text[0..len) (no NUL needed after it) as one JSON value: line LINE of the JSONL file
 * PATH, or with LINE 0 the whole of PATH (its line and column then counted in the text).
 * Returns the value (free with cJSON_Delete), or NULL with *rc and err set:
 *   UMPIRE_ENOMEM "PATH:LINE: out of memory" ("PATH: out of memory" for a whole file)
 *   UMPIRE_EINVAL "PATH:LINE: json: malformed JSON near column C",
 *                 "PATH:LINE: json: nested more than 1000 levels deep at column C"
 *                 (cJSON's CJSON_NESTING_LIMIT),
 *                 "PATH:LINE: FIELD: a NUL character (\u0000 at column C) would cut the string
 *                 short" (raw or escaped: cJSON's C strings would end there unseen),
 *                 "PATH:LINE: json: a 0 byte at column C (not JSON text)" outside strings. */
cJSON *umpire_json_parse(const char *text, size_t len, const char *path, size_t line, char *err,
                         int *rc);

#endif
