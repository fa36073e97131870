/* paraphrases.h - paraphrase sets for `umpire sps`: JSONL, one question a line with its
 * phrasings, {"id": "q1", "paraphrases": ["What is ...?", "Which ...?", ...]} (two or more
 * non-empty, well-formed UTF-8 strings). */
#ifndef UMPIRE_IO_PARAPHRASES_H
#define UMPIRE_IO_PARAPHRASES_H

#include <stddef.h>

struct umpire_paraphrases {
    char **text;   /* every phrasing, question after question */
    size_t *group; /* text[i] phrases question group[i] (0-based line of the question) */
    size_t n, n_groups;
};

/* Read PATH. Returns 0, or a negative status with err naming the file, line and field. */
int umpire_paraphrases_read(const char *path, struct umpire_paraphrases *out, char *err);
void umpire_paraphrases_free(struct umpire_paraphrases *p);

#endif
