/* jsonl.h - walk a JSONL file one parsed object at a time. */
#ifndef UMPIRE_IO_JSONL_H
#define UMPIRE_IO_JSONL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Called for each non-blank line with its parsed JSON (freed after the call) and its 1-based
 * line number; a non-zero return stops the walk and is returned. */
typedef int (*umpire_jsonl_fn)(const cJSON *value, size_t line, void *ctx);

/* Open PATH and call fn on every non-blank line. Returns 0, fn's first non-zero return, or
 * UMPIRE_EIO / UMPIRE_EINVAL with "PATH: cannot open" / "PATH:LINE: json: malformed JSON near
 * column C" in err. *n_lines (may be NULL) receives the number of non-blank lines seen. */
int umpire_jsonl_each(const char *path, umpire_jsonl_fn fn, void *ctx, size_t *n_lines, char *err);

#endif
