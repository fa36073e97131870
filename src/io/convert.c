/* convert.c - datasets in the formats users already have, into umpire's dataset JSONL:
 *
 *   vqa         VQAv2 / OK-VQA / AdVQA: questions JSON {"questions": [{"question_id",
 *               "image_id", "question"}]} and annotations JSON {"annotations": [{"question_id",
 *               "answers": [{"answer"} x 10], "multiple_choice_answer"}]}; the answers are every
 *               annotator's, repeats kept (UMPIRE's preprocessing; the judges count or match
 *               them); images named by a template with one {id} (by default COCO's,
 *               COCO_<data_subtype>_{id:012}.jpg, as UMPIRE names them)
 *   mmbench     MMBench TSV: index, question, hint, A..D, answer, image (base64, or as in
 *               VLMEvalKit the index of another row with the same image): multiple choice;
 *               the images are decoded into files beside the output, named by the index
 *   truthfulqa  TruthfulQA CSV: Question, Best Answer, Correct Answers ("; "-separated)
 *   sciq        SciQ JSON: [{"question", "correct_answer", "distractor1..3"}]: multiple choice,
 *               the options in a seeded order (the same on every run)
 *   conversations  LLaVA-style multiple choice (Calibration-MLLM's data): convert_conversations.c
 *
 * Input is checked as it is read, and the first problem stops the conversion (nothing is
 * written) with "FILE:LINE: field: problem" (TSV, CSV) or "FILE: questions[i]: field: problem"
 * (JSON): text that is not UTF-8 or holds a NUL byte, a row with another number of fields than
 * the header, a quoted field left open, an empty question, an answer that is not one of the
 * options, options that repeat, an id that is not a whole number or not a safe file name, an
 * id twice, no question at all. Blank lines of a TSV or CSV are not rows and are passed over.
 */
#define _POSIX_C_SOURCE 200809L
#include "io/convert.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/atomic.h"
#include "io/base64.h"
#include "io/convert.h"
#include "io/output.h"
#include "io/idset.h"
#include "io/path.h"

static int emit(FILE *out, cJSON *item, char *err) {
    int rc = umpire_put_json(out, item, 1, err);
    cJSON_Delete(item);
    return rc;
}

/* The 1-based line of position at in text. */
static size_t line_of(const char *text, const char *at) {
    size_t line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

/* The length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static int utf8_length(const unsigned char *p) {
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
            : p[0] >= 0xe0 && p[0] <= 0xef ? 3
            : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                           : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
        return 0; /* overlong, a surrogate, or above U+10FFFF */
    return n;
}

/* A whole input file as text: a regular file, UTF-8, no NUL byte. NULL with err and *rc set. */
static char *read_text(const char *path, char *err, int *rc) {
    if ((*rc = umpire_regular_file(path, "input", err)) != UMPIRE_OK)
        return NULL;
    size_t len;
    char *text = umpire_read_file(path, &len, err, rc);
    if (!text)
        return NULL;
    const char *p = text;
    int n = 1;
    while (p < text + len && *p && (n = utf8_length((const unsigned char *)p)) > 0)
        p += n;
    if (p < text + len) {
        *rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: %s at byte %zu: not UTF-8 text", path,
                          line_of(text, p), *p ? "a byte that is not UTF-8" : "a NUL byte",
                          (size_t)(p - text));
        free(text);
        return NULL;
    }
    return text;
}

static cJSON *read_json(const char *path, char *err, int *rc) {
    char *text = read_text(path, err, rc);
    if (!text)
        return NULL;
    free(text);
    return umpire_read_json(path, err, rc);
}

int umpire_convert_emit(FILE *out, cJSON *item, char *err) { return emit(out, item, err); }
cJSON *umpire_convert_read_json(const char *path, char *err, int *rc) { return read_json(path, err, rc); }

/* An id given as a JSON number: a whole number 0..2^53 (larger ones are not exact in JSON). */
static int id_number(const cJSON *v, uint64_t *id) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0) ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    *id = (uint64_t)v->valuedouble;
    return 0;
}

/* ---------------------------------------------------------------- VQA */

int umpire_image_name(const char *pattern, uint64_t id, char *out, size_t len, char *err) {
    const char *open = strchr(pattern, '{');
    int width = 0, used = 0;
    if (open && !strncmp(open, "{id}", 4)) {
        used = 4;
    } else if (open && !strncmp(open, "{id:0", 5) && open[5] >= '1' && open[5] <= '9') {
        char *end;
        long w = strtol(open + 5, &end, 10);
        if (*end == '}' && w <= 20) {
            width = (int)w;
            used = (int)(end + 1 - open);
        }
    }
    if (!used || strchr(open + used, '{') || strchr(open + used, '}') ||
        memchr(pattern, '}', (size_t)(open - pattern)))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "--image-pattern '%s': needs exactly one {id} or {id:0N} (N digits, "
                           "zero-padded, N <= 20), "
                           "and no other braces",
                           pattern);
    int n = snprintf(out, len, "%.*s%0*" PRIu64 "%s", (int)(open - pattern), pattern, width, id,
                     open + used);
    if (n < 0 || (size_t)n >= len)
        return umpire_fail(err, UMPIRE_EINVAL, "--image-pattern '%s': the file name is too long",
                           pattern);
    return UMPIRE_OK;
}

struct annotation {
    uint64_t question_id;
    size_t pos; /* in the annotations array, for messages */
    const cJSON *a;
};

static int by_question_id(const void *a, const void *b) {
    uint64_t x = ((const struct annotation *)a)->question_id,
             y = ((const struct annotation *)b)->question_id;
    return (x > y) - (x < y);
}

/* The annotations sorted by question_id (the lookup is n log n, not n^2), each checked: a
 * whole question_id, once. */
static int index_annotations(const char *path, const cJSON *aa, struct annotation **sorted,
                             size_t *n, char *err) {
    *n = (size_t)cJSON_GetArraySize(aa);
    if (!(*sorted = malloc((*n ? *n : 1) * sizeof **sorted)))
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, aa) {
        struct annotation *x = &(*sorted)[i];
        if (id_number(cJSON_GetObjectItemCaseSensitive(a, "question_id"), &x->question_id) != 0)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "%s: annotations[%zu]: question_id: needs a whole number >= 0", path,
                               i);
        x->pos = i++;
        x->a = a;
    }
    qsort(*sorted, *n, sizeof **sorted, by_question_id);
    for (i = 1; i < *n; i++)
        if ((*sorted)[i - 1].question_id == (*sorted)[i].question_id)
            return umpire_fail(
                err, UMPIRE_EINVAL,
                "%s: annotations[%zu]: question_id: %" PRIu64 " again (annotations[%zu] has it)",
                path, (*sorted)[i].pos, (*sorted)[i].question_id, (*sorted)[i - 1].pos);
    return UMPIRE_OK;
}

/* The answers of annotation number ai: every annotator's, in their order, repeats kept, as
 * UMPIRE's preprocessing (vqa_preprocess_data.py) keeps them: the `vqa` judge counts them
 * (soft accuracy), `rouge` and `exact` accept any of them. Without annotators' answers, the
 * consensus (multiple_choice_answer). */
static int vqa_answers(const char *path, size_t ai, const cJSON *ann, cJSON *answers, char *err) {
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(ann, "multiple_choice_answer");
    if (mc && !cJSON_IsString(mc))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s: annotations[%zu]: multiple_choice_answer: not a string", path, ai);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ann, "answers"), *x;
    if (list && !cJSON_IsArray(list))
        return umpire_fail(err, UMPIRE_EINVAL, "%s: annotations[%zu]: answers: not an array", path,
                           ai);
    size_t j = 0;
    cJSON_ArrayForEach(x, list) {
        const cJSON *ax = cJSON_GetObjectItemCaseSensitive(x, "answer");
        if (!cJSON_IsString(ax))
            return umpire_fail(err, UMPIRE_EINVAL,
                               "%s: annotations[%zu].answers[%zu]: answer: not a string", path, ai, j);
        if (ax->valuestring[0] && !cJSON_AddItemToArray(answers, cJSON_CreateString(ax->valuestring)))
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        j++;
    }
    if (cJSON_GetArraySize(answers) == 0 && mc && mc->valuestring[0] &&
        !cJSON_AddItemToArray(answers, cJSON_CreateString(mc->valuestring)))
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (cJSON_GetArraySize(answers) == 0)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s: annotations[%zu]: no answer: no annotator's answer and no "
                           "multiple_choice_answer",
                           path, ai);
    return UMPIRE_OK;
}

static int vqa(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    if (!p->annotations)
        return umpire_fail(err, UMPIRE_EINVAL, "vqa needs --annotations FILE as well as the questions");
    char file[512], path[1100], pattern_buf[256];
    const char *pattern = p->image_pattern ? p->image_pattern : UMPIRE_VQA_IMAGE_PATTERN;
    if ((rc = umpire_image_name(pattern, 0, file, sizeof file, err)) != UMPIRE_OK)
        return rc;
    cJSON *qs = read_json(p->inputs[0], err, &rc),
          *as = qs ? read_json(p->annotations, err, &rc) : NULL;
    /* as UMPIRE's preprocessing names COCO images: COCO_<the file's data_subtype>_<12 digits> */
    const cJSON *subtype = cJSON_GetObjectItemCaseSensitive(qs, "data_subtype");
    if (!p->image_pattern && cJSON_IsString(subtype) && umpire_safe_file_name(subtype->valuestring) &&
        strlen(subtype->valuestring) < 64) {
        snprintf(pattern_buf, sizeof pattern_buf, "COCO_%s_{id:012}.jpg", subtype->valuestring);
        pattern = pattern_buf;
    }
    const cJSON *qa = cJSON_GetObjectItemCaseSensitive(qs, "questions");
    const cJSON *aa = cJSON_GetObjectItemCaseSensitive(as, "annotations");
    if (rc == UMPIRE_OK && !cJSON_IsArray(qa))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: questions: missing (not a VQA questions file)", p->inputs[0]);
    if (rc == UMPIRE_OK && !cJSON_IsArray(aa))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: annotations: missing (not a VQA annotations file)", p->annotations);
    struct annotation *sorted = NULL;
    size_t n_ann = 0;
    if (rc == UMPIRE_OK)
        rc = index_annotations(p->annotations, aa, &sorted, &n_ann, err);
    struct umpire_idset ids = {0};
    size_t i = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, qa) {
        if (rc != UMPIRE_OK)
            break;
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(q, "question");
        uint64_t qid = 0, img = 0;
        size_t first;
        char id[32];
        if (id_number(cJSON_GetObjectItemCaseSensitive(q, "question_id"), &qid) != 0) {
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: questions[%zu]: question_id: needs a whole number >= 0",
                             p->inputs[0], i);
            break;
        }
        snprintf(id, sizeof id, "%" PRIu64, qid);
        if (id_number(cJSON_GetObjectItemCaseSensitive(q, "image_id"), &img) != 0)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: questions[%zu]: image_id: needs a whole number >= 0",
                             p->inputs[0], i);
        else if (!cJSON_IsString(text) || !text->valuestring[strspn(text->valuestring, " \t\r\n")])
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: questions[%zu]: question: needs a non-empty string", p->inputs[0],
                             i);
        else if ((rc = umpire_idset_add(&ids, id, i, &first)) == 1)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: questions[%zu]: question_id: %s again (questions[%zu] has it)",
                             p->inputs[0], i, id, first);
        else if (rc < 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        if (rc != UMPIRE_OK)
            break;
        struct annotation key = {.question_id = qid};
        const struct annotation *found =
            bsearch(&key, sorted, n_ann, sizeof *sorted, by_question_id);
        if (!found) {
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: no annotation for question_id %s (questions[%zu] of %s)",
                             p->annotations, id, i, p->inputs[0]);
            break;
        }
        cJSON *item = cJSON_CreateObject(), *answers = cJSON_CreateArray();
        if ((rc = vqa_answers(p->annotations, found->pos, found->a, answers, err)) == UMPIRE_OK &&
            (rc = umpire_image_name(pattern, img, file, sizeof file, err)) == UMPIRE_OK) {
            snprintf(path, sizeof path, "%s%s%s", p->image_dir ? p->image_dir : "",
                     p->image_dir ? "/" : "", file);
            cJSON_AddStringToObject(item, "id", id);
            cJSON_AddStringToObject(item, "question", text->valuestring);
            cJSON_AddStringToObject(item, "image", path);
            cJSON_AddItemToObject(item, "answers", answers);
            rc = emit(out, item, err);
            (*n_out)++;
        } else {
            cJSON_Delete(answers);
            cJSON_Delete(item);
        }
        i++;
    }
    umpire_idset_free(&ids);
    free(sorted);
    cJSON_Delete(qs);
    cJSON_Delete(as);
    return rc;
}

/* ---------------------------------------------------------------- delimited text */

/* Records of fields: sep-separated; with quotes, RFC 4180 ("" inside quotes, separators and
 * newlines allowed inside; nothing after the closing quote but a separator or the end of the
 * line). Fields point into text, which is modified. line[r] is the line record r starts on. */
struct table {
    char ***rows;
    size_t *n_fields, *line, n_rows;
};

static int table_push(struct table *t, size_t *cap, char **fields, size_t nf, size_t line) {
    if (t->n_rows == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        char ***r = realloc(t->rows, c * sizeof *r);
        if (r)
            t->rows = r;
        size_t *f = realloc(t->n_fields, c * sizeof *f);
        if (f)
            t->n_fields = f;
        size_t *l = realloc(t->line, c * sizeof *l);
        if (l)
            t->line = l;
        if (!r || !f || !l)
            return UMPIRE_ENOMEM;
        *cap = c;
    }
    t->rows[t->n_rows] = fields;
    t->n_fields[t->n_rows] = nf;
    t->line[t->n_rows++] = line;
    return 0;
}

static int split_table(const char *path, char *text, char sep, int quotes, struct table *t,
                       char *err) {
    size_t cap = 0, line = 1;
    char *p = text;
    memset(t, 0, sizeof *t);
    while (*p) {
        size_t fcap = 16, nf = 0, start = line;
        char **fields = malloc(fcap * sizeof *fields);
        if (!fields)
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        for (;;) {
            if (nf == fcap) {
                char **g = realloc(fields, (fcap *= 2) * sizeof *g);
                if (!g) {
                    free(fields);
                    return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
                }
                fields = g;
            }
            char *w = p;
            fields[nf++] = w;
            if (quotes && *p == '"') { /* quoted: copy in place, "" -> " */
                size_t opened = line;
                p++;
                while (*p && !(*p == '"' && p[1] != '"')) {
                    if (*p == '"')
                        p++;
                    line += *p == '\n';
                    *w++ = *p++;
                }
                if (!*p) {
                    free(fields);
                    return umpire_fail(err, UMPIRE_EINVAL,
                                       "%s:%zu: field %zu: a quote opened here is never closed",
                                       path, opened, nf);
                }
                p++;
                if (*p && *p != sep && *p != '\n' && *p != '\r') {
                    free(fields);
                    return umpire_fail(
                        err, UMPIRE_EINVAL,
                        "%s:%zu: field %zu: text after the closing quote (quote the whole field,"
                        " and double the quotes inside)",
                        path, line, nf);
                }
            } else {
                while (*p && *p != sep && *p != '\n' && *p != '\r')
                    p++;
                w = p;
            }
            char end = *p;
            *w = '\0';
            if (end == sep) {
                if (w != p)
                    *p = '\0';
                p++;
                continue;
            }
            /* the end of the record: step over \r\n or \n (already overwritten when w == p) */
            if (end == '\r' || end == '\n') {
                *p++ = '\0';
                if (end == '\r' && *p == '\n')
                    *p++ = '\0';
                line++;
            }
            break;
        }
        if (table_push(t, &cap, fields, nf, start) != 0) {
            free(fields);
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        }
    }
    return 0;
}

static void table_free(struct table *t) {
    for (size_t i = 0; i < t->n_rows; i++)
        free(t->rows[i]);
    free(t->rows);
    free(t->n_fields);
    free(t->line);
}

static int column(const struct table *t, const char *name) {
    for (size_t j = 0; t->n_rows && j < t->n_fields[0]; j++)
        if (!strcmp(t->rows[0][j], name))
            return (int)j;
    return -1;
}

static const char *cell(const struct table *t, size_t row, int col) {
    return col >= 0 && (size_t)col < t->n_fields[row] ? t->rows[row][col] : "";
}

static int blank_row(const struct table *t, size_t r) {
    return t->n_fields[r] == 1 && !t->rows[r][0][0];
}

/* Read a TSV or CSV file into a table, and check that every row has the header's fields. */
static int read_table(const char *path, char sep, char **text, struct table *t, char *err) {
    int rc;
    memset(t, 0, sizeof *t);
    if (!(*text = read_text(path, err, &rc)))
        return rc;
    if ((rc = split_table(path, *text, sep, 1, t, err)) != UMPIRE_OK)
        return rc;
    if (t->n_rows == 0)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: empty (no header)", path);
    for (size_t r = 1; r < t->n_rows; r++)
        if (!blank_row(t, r) && t->n_fields[r] != t->n_fields[0])
            return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: %zu fields, the header has %zu", path,
                               t->line[r], t->n_fields[r], t->n_fields[0]);
    return UMPIRE_OK;
}

/* ---------------------------------------------------------------- MMBench */

static int is_nan_cell(const char *v) { return !v[0] || !strcmp(v, "nan"); }

/* An image cell of up to 64 digits is, as in VLMEvalKit, the index of another row whose
 * image this row shares. */
static int image_reference(const char *v) {
    return v[0] && strlen(v) <= 64 && strspn(v, "0123456789") == strlen(v);
}

/* Decode row r's image into DIR/INDEX.EXT; *rel receives its path relative to the output. */
static int write_image(const char *path, const struct table *t, size_t r, const char *img,
                       const char *dir, const char *index, char *rel, size_t rel_len, char *err) {
    unsigned char *bytes = malloc(strlen(img) * 3 / 4 + 4);
    if (!bytes)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    long nb = umpire_base64_decode(img, bytes);
    if (nb < 4) {
        free(bytes);
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s:%zu: image: not base64 image data (nor the index of another row)",
                           path, t->line[r]);
    }
    const char *ext = bytes[0] == 0x89 && bytes[1] == 'P'    ? "png"
                      : bytes[0] == 0xff && bytes[1] == 0xd8 ? "jpg"
                                                             : "img";
    char file[4400];
    const char *slash = strrchr(dir, '/');
    snprintf(file, sizeof file, "%s/%s.%s", dir, index, ext);
    snprintf(rel, rel_len, "%s/%s.%s", slash ? slash + 1 : dir, index, ext);
    struct umpire_output o;
    int rc = umpire_output_check(file, path, err);
    if (rc == UMPIRE_OK && (rc = umpire_output_open(&o, file, err)) == UMPIRE_OK) {
        if (fwrite(bytes, 1, (size_t)nb, o.f) != (size_t)nb)
            rc = umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", file, strerror(errno));
        rc = umpire_output_close(&o, rc, err);
    }
    free(bytes);
    return rc;
}

/* Row r as a multiple-choice item: hint + question, options A.. (the first empty one ends
 * them), the answer one of their letters. */
static int mmbench_item(const char *path, const struct table *t, size_t r, const int *col,
                        cJSON *item, char *err) {
    enum { I, Q, H, ANS };
    const char *question = cell(t, r, col[Q]), *hint = cell(t, r, col[H]),
               *answer = cell(t, r, col[ANS]);
    if (!question[strspn(question, " \t")])
        return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: question: empty", path, t->line[r]);
    int has_hint = !is_nan_cell(hint);
    size_t qlen = strlen(hint) + strlen(question) + 2;
    char *q = malloc(qlen);
    if (!q)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    snprintf(q, qlen, "%s%s%s", has_hint ? hint : "", has_hint ? "\n" : "", question);
    cJSON_AddStringToObject(item, "question", q);
    free(q);
    cJSON *choices = cJSON_AddObjectToObject(item, "choices");
    int n_opt = 0;
    for (char L = 'A'; L <= 'Z'; L++) {
        char name[2] = {L, '\0'};
        int c = column(t, name);
        const char *v = cell(t, r, c);
        if (c >= 0 && !is_nan_cell(v) && n_opt < L - 'A')
            return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: %s: an option after the empty %c", path,
                               t->line[r], name, (char)('A' + n_opt));
        if (c < 0 || is_nan_cell(v))
            continue;
        const cJSON *x;
        cJSON_ArrayForEach(x, choices) {
            if (!strcmp(x->valuestring, v))
                return umpire_fail(err, UMPIRE_EINVAL,
                                   "%s:%zu: %s: the same text as option %s ('%.40s')", path,
                                   t->line[r], name, x->string, v);
        }
        cJSON_AddStringToObject(choices, name, v);
        n_opt++;
    }
    if (n_opt < 2)
        return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: A, B: fewer than two options", path,
                           t->line[r]);
    if (strlen(answer) != 1 || answer[0] < 'A' || answer[0] >= 'A' + n_opt)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s:%zu: answer: '%.40s' is not one of the options A..%c", path,
                           t->line[r], answer, (char)('A' + n_opt - 1));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(item, "answers"), cJSON_CreateString(answer));
    return UMPIRE_OK;
}

/* Row r's image: its own (base64), or that of the row whose index it holds (*from = that
 * row); checked before any file is written. */
static int mmbench_image(const char *path, const struct table *t, size_t r, int cimg,
                         const struct umpire_idset *ids, size_t *from, char *err) {
    const char *img = cell(t, r, cimg);
    *from = r;
    if (image_reference(img) && !umpire_idset_has(ids, img, from))
        return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: image: index %s is not in the file", path,
                           t->line[r], img);
    const char *data = cell(t, *from, cimg);
    if (*from != r && (!data[0] || image_reference(data)))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s:%zu: image: the row of index %s has no image data of its own", path,
                           t->line[r], img);
    if (data[0] && umpire_base64_decode(data, NULL) < 4)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s:%zu: image: not base64 image data (nor the index of another row)",
                           path, t->line[*from]);
    return UMPIRE_OK;
}

static int mmbench(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    const char *path = p->inputs[0];
    char *text = NULL;
    struct table t;
    int rc =
        read_table(path, '\t', &text, &t, err); /* pandas quotes fields with quotes or newlines */
    int col[4] = {column(&t, "index"), column(&t, "question"), column(&t, "hint"),
                  column(&t, "answer")};
    int cimg = column(&t, "image");
    if (rc == UMPIRE_OK &&
        (col[0] < 0 || col[1] < 0 || col[3] < 0 || column(&t, "A") < 0 || column(&t, "B") < 0))
        rc = umpire_fail(
            err, UMPIRE_EINVAL,
            "%s:1: header: needs the columns index, question, A, B, answer (MMBench TSV)", path);
    char dir[4200];
    int len = snprintf(dir, sizeof dir, "%s-images", p->output);
    if (rc == UMPIRE_OK && (len < 0 || (size_t)len >= sizeof dir))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: the output path is too long", p->output);
    if (rc == UMPIRE_OK && cimg >= 0 && !strcmp(p->output, "-"))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: the images go beside the dataset (DATASET.jsonl-images/): give it a file name, not -",
                         path);
    /* the indices name the items and their images: safe file names, each once (the set maps
     * each to its row) */
    struct umpire_idset ids = {0};
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        const char *index = cell(&t, r, col[0]);
        size_t first;
        int added;
        if (blank_row(&t, r))
            continue;
        if (!umpire_safe_file_name(index))
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: index: '%.40s' is not a safe file name (1..128 letters, "
                             "digits, '.', '_', '-';"
                             " not starting with '.')",
                             path, t.line[r], index);
        else if ((added = umpire_idset_add(&ids, index, r, &first)) == 1)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: index: %s again (line %zu has it)", path,
                             t.line[r], index, t.line[first]);
        else if (added < 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    /* every row checked and made an item before any image is written */
    cJSON **items = calloc(t.n_rows ? t.n_rows : 1, sizeof *items);
    size_t *image_row = calloc(t.n_rows ? t.n_rows : 1, sizeof *image_row);
    if (rc == UMPIRE_OK && (!items || !image_row))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        if (blank_row(&t, r))
            continue;
        if (!(items[r] = cJSON_CreateObject())) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        cJSON_AddStringToObject(items[r], "id", cell(&t, r, col[0]));
        if ((rc = mmbench_item(path, &t, r, col, items[r], err)) == UMPIRE_OK)
            rc = mmbench_image(path, &t, r, cimg, &ids, &image_row[r], err);
    }
    if (rc == UMPIRE_OK && cimg >= 0 && mkdir(dir, 0777) != 0 && errno != EEXIST)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", dir, strerror(errno));
    /* each image once, from the row that holds its data; then every row that names it */
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        char rel[4400];
        if (items[r] && image_row[r] == r && cell(&t, r, cimg)[0] &&
            (rc = write_image(path, &t, r, cell(&t, r, cimg), dir, cell(&t, r, col[0]), rel,
                              sizeof rel, err)) == UMPIRE_OK)
            cJSON_AddStringToObject(items[r], "image", rel); /* relative to the output file */
    }
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        if (!items[r])
            continue;
        const cJSON *image = cJSON_GetObjectItemCaseSensitive(items[image_row[r]], "image");
        if (image_row[r] != r && image)
            cJSON_AddStringToObject(items[r], "image", image->valuestring);
    }
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        if (items[r] && (rc = umpire_put_json(out, items[r], 1, err)) == UMPIRE_OK)
            (*n_out)++;
    }
    for (size_t r = 0; items && r < t.n_rows; r++)
        cJSON_Delete(items[r]);
    free(items);
    free(image_row);
    umpire_idset_free(&ids);
    table_free(&t);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- TruthfulQA */

static int truthfulqa(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    const char *path = p->inputs[0];
    char *text = NULL;
    struct table t;
    int rc = read_table(path, ',', &text, &t, err);
    int cq = column(&t, "Question"), cb = column(&t, "Best Answer"), cc = column(&t, "Correct Answers");
    if (rc == UMPIRE_OK && (cq < 0 || cb < 0))
        rc = umpire_fail(
            err, UMPIRE_EINVAL,
            "%s:1: header: needs the columns Question and Best Answer (TruthfulQA CSV)", path);
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        if (blank_row(&t, r))
            continue;
        const char *question = cell(&t, r, cq), *best = cell(&t, r, cb);
        if (!question[strspn(question, " \t")]) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: Question: empty", path, t.line[r]);
            break;
        }
        if (!best[strspn(best, " \t")]) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: Best Answer: empty", path, t.line[r]);
            break;
        }
        cJSON *item = cJSON_CreateObject(), *answers = cJSON_CreateArray();
        char id[32];
        snprintf(id, sizeof id, "tqa%zu", r);
        cJSON_AddStringToObject(item, "id", id);
        cJSON_AddStringToObject(item, "question", question);
        cJSON_AddItemToArray(answers, cJSON_CreateString(best));
        char *correct = strdup(cell(&t, r, cc)), *save = NULL;
        if (!correct) {
            cJSON_Delete(answers);
            cJSON_Delete(item);
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        for (char *a = strtok_r(correct, ";", &save); a; a = strtok_r(NULL, ";", &save)) {
            while (*a == ' ')
                a++;
            if (*a && strcmp(a, best))
                cJSON_AddItemToArray(answers, cJSON_CreateString(a));
        }
        free(correct);
        cJSON_AddItemToObject(item, "answers", answers);
        rc = emit(out, item, err);
        (*n_out)++;
    }
    table_free(&t);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- SciQ */

static int sciq(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    const char *path = p->inputs[0];
    cJSON *arr = read_json(path, err, &rc);
    if (arr && !cJSON_IsArray(arr))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: expected an array of SciQ questions", path);
    struct umpire_rng rng;
    umpire_rng_seed(&rng, p->seed);
    size_t i = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, arr) {
        if (rc != UMPIRE_OK)
            break;
        const char *names[5] = {"correct_answer", "distractor1", "distractor2", "distractor3",
                                "question"};
        const cJSON *v[5];
        for (int k = 0; k < 5 && rc == UMPIRE_OK; k++) {
            v[k] = cJSON_GetObjectItemCaseSensitive(q, names[k]);
            if (!cJSON_IsString(v[k]) || !v[k]->valuestring[strspn(v[k]->valuestring, " \t\r\n")])
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: %s: needs a non-empty string",
                                 path, i, names[k]);
            for (int j = 0; j < k && k < 4 && rc == UMPIRE_OK; j++)
                if (!strcmp(v[j]->valuestring, v[k]->valuestring))
                    rc = umpire_fail(err, UMPIRE_EINVAL,
                                     "%s: [%zu]: %s: the same text as %s ('%.40s')", path, i,
                                     names[k], names[j], v[k]->valuestring);
        }
        if (rc != UMPIRE_OK)
            break;
        int order[4] = {0, 1, 2, 3};
        for (int k = 3; k > 0; k--) { /* Fisher-Yates with the seeded generator */
            int j = (int)umpire_rng_below(&rng, (uint64_t)k + 1), tmp = order[k];
            order[k] = order[j];
            order[j] = tmp;
        }
        cJSON *item = cJSON_CreateObject(), *choices = cJSON_CreateObject(), *answers = cJSON_CreateArray();
        char id[32];
        snprintf(id, sizeof id, "sciq%zu", i);
        cJSON_AddStringToObject(item, "id", id);
        cJSON_AddStringToObject(item, "question", v[4]->valuestring);
        for (int k = 0; k < 4; k++) {
            char name[2] = {(char)('A' + k), '\0'};
            cJSON_AddStringToObject(choices, name, v[order[k]]->valuestring);
            if (order[k] == 0)
                cJSON_AddItemToArray(answers, cJSON_CreateString(name));
        }
        cJSON_AddItemToObject(item, "choices", choices);
        cJSON_AddItemToObject(item, "answers", answers);
        rc = emit(out, item, err);
        (*n_out)++;
        i++;
    }
    cJSON_Delete(arr);
    return rc;
}

int umpire_convert(const struct umpire_convert_params *p, size_t *n_items, char *err) {
    static const struct {
        const char *name;
        int (*run)(const struct umpire_convert_params *, FILE *, size_t *, char *);
    } formats[] = {{"vqa", vqa},   {"mmbench", mmbench}, {"truthfulqa", truthfulqa},
                   {"sciq", sciq}, {"conversations", umpire_convert_conversations}};
    const size_t n_formats = sizeof formats / sizeof formats[0];
    *n_items = 0;
    size_t f = 0;
    while (f < n_formats && strcmp(formats[f].name, p->format))
        f++;
    if (f == n_formats)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "'%s' is not a format umpire converts (vqa, mmbench, truthfulqa, sciq, conversations)",
                           p->format);
    int rc = umpire_output_check(p->output, p->inputs[0], err);
    if (rc == UMPIRE_OK && p->annotations)
        rc = umpire_output_check(p->output, p->annotations, err);
    struct umpire_output out;
    if (rc == UMPIRE_OK)
        rc = umpire_output_open(&out, p->output, err);
    if (rc != UMPIRE_OK)
        return rc;
    rc = formats[f].run(p, out.f, n_items, err);
    if (rc == UMPIRE_OK && *n_items == 0) /* a dataset has at least one question */
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no questions in it", p->inputs[0]);
    return umpire_output_close(&out, rc, err);
}
