/* convert.c - datasets in the formats users already have, into umpire's dataset JSONL:
 *
 *   vqa         VQAv2 / OK-VQA / AdVQA: questions JSON {"questions": [{"question_id",
 *               "image_id", "question"}]} and annotations JSON {"annotations": [{"question_id",
 *               "answers": [{"answer"} x 10], "multiple_choice_answer"}]}; an answer is accepted
 *               when at least 3 of the annotators gave it (VQA accuracy 1), and the consensus
 *               answer always; images named by a pattern (COCO's by default)
 *   mmbench     MMBench TSV: index, question, hint, A..D, answer, image (base64): multiple
 *               choice; the images are decoded into files beside the output
 *   truthfulqa  TruthfulQA CSV: Question, Best Answer, Correct Answers ("; "-separated)
 *   sciq        SciQ JSON: [{"question", "correct_answer", "distractor1..3"}]: multiple choice,
 *               the options in a seeded order (the same on every run)
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/atomic.h"
#include "io/convert.h"
#include "io/output.h"

static int emit(FILE *out, cJSON *item) {
    char *s = cJSON_PrintUnformatted(item);
    cJSON_Delete(item);
    if (!s)
        return UMPIRE_ENOMEM;
    fputs(s, out);
    fputc('\n', out);
    free(s);
    return UMPIRE_OK;
}

/* ---------------------------------------------------------------- VQA */

static int vqa(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    if (!p->annotations)
        return umpire_fail(err, UMPIRE_EINVAL, "vqa needs --annotations FILE as well as the questions");
    cJSON *qs = umpire_read_json(p->inputs[0], err, &rc), *as = qs ? umpire_read_json(p->annotations, err, &rc) : NULL;
    const cJSON *qa = cJSON_GetObjectItemCaseSensitive(qs, "questions");
    const cJSON *aa = cJSON_GetObjectItemCaseSensitive(as, "annotations");
    if (rc == UMPIRE_OK && !cJSON_IsArray(qa))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: questions: missing (not a VQA questions file)", p->inputs[0]);
    if (rc == UMPIRE_OK && !cJSON_IsArray(aa))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: annotations: missing (not a VQA annotations file)", p->annotations);
    const char *pattern = p->image_pattern ? p->image_pattern : "COCO_val2014_%012lld.jpg";
    size_t i = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, qa) {
        if (rc != UMPIRE_OK)
            break;
        const cJSON *qid = cJSON_GetObjectItemCaseSensitive(q, "question_id");
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(q, "image_id");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(q, "question");
        if (!cJSON_IsNumber(qid) || !cJSON_IsNumber(img) || !cJSON_IsString(text)) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: questions[%zu]: needs question_id, image_id and question",
                             p->inputs[0], i);
            break;
        }
        const cJSON *ann = NULL, *a; /* its annotation */
        cJSON_ArrayForEach(a, aa) {
            const cJSON *aq = cJSON_GetObjectItemCaseSensitive(a, "question_id");
            if (cJSON_IsNumber(aq) && aq->valuedouble == qid->valuedouble) {
                ann = a;
                break;
            }
        }
        if (!ann) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no annotation for question_id %.0f", p->annotations,
                             qid->valuedouble);
            break;
        }
        cJSON *item = cJSON_CreateObject(), *answers = cJSON_CreateArray();
        char id[32], file[512], path[1100];
        snprintf(id, sizeof id, "%.0f", qid->valuedouble);
        snprintf(file, sizeof file, pattern, (long long)img->valuedouble);
        snprintf(path, sizeof path, "%s%s%s", p->image_dir ? p->image_dir : "", p->image_dir ? "/" : "", file);
        cJSON_AddStringToObject(item, "id", id);
        cJSON_AddStringToObject(item, "question", text->valuestring);
        cJSON_AddStringToObject(item, "image", path);
        const cJSON *mc = cJSON_GetObjectItemCaseSensitive(ann, "multiple_choice_answer");
        if (cJSON_IsString(mc))
            cJSON_AddItemToArray(answers, cJSON_CreateString(mc->valuestring));
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(ann, "answers"), *x, *y;
        cJSON_ArrayForEach(x, list) {
            const cJSON *ax = cJSON_GetObjectItemCaseSensitive(x, "answer");
            if (!cJSON_IsString(ax))
                continue;
            int count = 0, listed = 0;
            cJSON_ArrayForEach(y, list) {
                const cJSON *ay = cJSON_GetObjectItemCaseSensitive(y, "answer");
                count += cJSON_IsString(ay) && !strcmp(ay->valuestring, ax->valuestring);
            }
            cJSON_ArrayForEach(y, answers) listed |= !strcmp(y->valuestring, ax->valuestring);
            if (count >= 3 && !listed)
                cJSON_AddItemToArray(answers, cJSON_CreateString(ax->valuestring));
        }
        cJSON_AddItemToObject(item, "answers", answers);
        rc = emit(out, item);
        (*n_out)++;
        i++;
    }
    cJSON_Delete(qs);
    cJSON_Delete(as);
    return rc;
}

/* ---------------------------------------------------------------- delimited text */

/* Split text into records of fields: sep-separated; with quotes, RFC 4180 ("" inside quotes,
 * separators and newlines allowed inside). Fields point into text, which is modified. */
struct table {
    char ***rows;
    size_t *n_fields, n_rows;
};

static int split_table(char *text, char sep, int quotes, struct table *t) {
    size_t cap = 0;
    char *p = text;
    memset(t, 0, sizeof *t);
    while (*p) {
        if (t->n_rows == cap) {
            cap = cap ? 2 * cap : 256;
            char ***r = realloc(t->rows, cap * sizeof *r);
            size_t *nf = realloc(t->n_fields, cap * sizeof *nf);
            if (r)
                t->rows = r;
            if (nf)
                t->n_fields = nf;
            if (!r || !nf)
                return -1;
        }
        size_t fcap = 16, nf = 0;
        char **fields = malloc(fcap * sizeof *fields);
        if (!fields)
            return -1;
        for (;;) {
            if (nf == fcap) {
                char **g = realloc(fields, (fcap *= 2) * sizeof *g);
                if (!g) {
                    free(fields);
                    return -1;
                }
                fields = g;
            }
            char *w = p;
            fields[nf++] = w;
            if (quotes && *p == '"') { /* quoted: copy in place, "" -> " */
                p++;
                while (*p && !(*p == '"' && p[1] != '"')) {
                    if (*p == '"')
                        p++;
                    *w++ = *p++;
                }
                if (*p == '"')
                    p++;
                while (*p && *p != sep && *p != '\n' && *p != '\r')
                    *w++ = *p++;
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
            }
            break;
        }
        t->rows[t->n_rows] = fields;
        t->n_fields[t->n_rows++] = nf;
    }
    return 0;
}

static void table_free(struct table *t) {
    for (size_t i = 0; i < t->n_rows; i++)
        free(t->rows[i]);
    free(t->rows);
    free(t->n_fields);
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

/* ---------------------------------------------------------------- MMBench */

static int b64(int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 (white space ignored) into out (at least 3/4 of the input); -1 when invalid. */
static long b64_decode(const char *in, unsigned char *out) {
    long n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        if (*in == ' ' || *in == '\n' || *in == '\r')
            continue;
        int v = b64((unsigned char)*in);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static int mmbench(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    char *text = umpire_read_file(p->inputs[0], NULL, err, &rc);
    if (!text)
        return rc;
    struct table t;
    if (split_table(text, '\t', 1, &t) != 0) { /* pandas quotes fields with quotes or newlines */
        free(text);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    int ci = column(&t, "index"), cq = column(&t, "question"), ch = column(&t, "hint"), ca = column(&t, "answer"),
        cimg = column(&t, "image");
    if (ci < 0 || cq < 0 || ca < 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s:1: header: needs the columns index, question, A, B, answer (MMBench TSV)",
                         p->inputs[0]);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s-images", p->output);
    if (rc == UMPIRE_OK && cimg >= 0 && !strcmp(p->output, "-"))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: the images go beside the dataset (DATASET.jsonl-images/): give it"
                         " a file name, not -", p->inputs[0]);
    if (rc == UMPIRE_OK && cimg >= 0 && mkdir(dir, 0777) != 0 && errno != EEXIST)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create", dir);
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        if (t.n_fields[r] < 2)
            continue; /* a blank line */
        cJSON *item = cJSON_CreateObject(), *choices = cJSON_CreateObject(), *answers = cJSON_CreateArray();
        cJSON_AddStringToObject(item, "id", cell(&t, r, ci));
        const char *hint = cell(&t, r, ch);
        size_t qlen = strlen(hint) + strlen(cell(&t, r, cq)) + 2;
        char *q = malloc(qlen);
        snprintf(q, qlen, "%s%s%s", hint[0] && strcmp(hint, "nan") ? hint : "", hint[0] && strcmp(hint, "nan") ? "\n" : "",
                 cell(&t, r, cq));
        cJSON_AddStringToObject(item, "question", q);
        free(q);
        int n_opt = 0;
        for (char L = 'A'; L <= 'Z'; L++) {
            char name[2] = {L, '\0'};
            const char *v = cell(&t, r, column(&t, name));
            if (!v[0] || !strcmp(v, "nan"))
                break;
            cJSON_AddStringToObject(choices, name, v);
            n_opt++;
        }
        if (n_opt < 2) {
            cJSON_Delete(item);
            cJSON_Delete(choices);
            cJSON_Delete(answers);
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: A, B: fewer than two options", p->inputs[0], r + 1);
            break;
        }
        cJSON_AddItemToObject(item, "choices", choices);
        cJSON_AddItemToArray(answers, cJSON_CreateString(cell(&t, r, ca)));
        cJSON_AddItemToObject(item, "answers", answers);
        const char *img = cell(&t, r, cimg);
        if (img[0]) {
            unsigned char *bytes = malloc(strlen(img) * 3 / 4 + 4);
            long nb = bytes ? b64_decode(img, bytes) : -1;
            if (nb < 4) {
                free(bytes);
                cJSON_Delete(item);
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: image: not base64 image data", p->inputs[0], r + 1);
                break;
            }
            const char *ext = bytes[0] == 0x89 && bytes[1] == 'P' ? "png" : bytes[0] == 0xff && bytes[1] == 0xd8 ? "jpg" : "img";
            const char *id = cell(&t, r, ci);
            char file[4400], rel[4400];
            snprintf(file, sizeof file, "%s/%s.%s", dir, id, ext);
            const char *slash = strrchr(dir, '/');
            snprintf(rel, sizeof rel, "%s/%s.%s", slash ? slash + 1 : dir, id, ext);
            struct umpire_output o;
            if (!id[0] || strchr(id, '/') || strlen(id) > 200) /* the image's file name, inside dir */
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: index: '%.60s' cannot name an image file", p->inputs[0],
                                 r + 1, id);
            else if ((rc = umpire_output_check(file, p->inputs[0], err)) == UMPIRE_OK &&
                     (rc = umpire_output_open(&o, file, err)) == UMPIRE_OK) {
                if (fwrite(bytes, 1, (size_t)nb, o.f) != (size_t)nb)
                    rc = umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", file, strerror(errno));
                rc = umpire_output_close(&o, rc, err);
            }
            free(bytes);
            cJSON_AddStringToObject(item, "image", rel); /* relative to the output file */
        }
        if (rc == UMPIRE_OK) {
            rc = emit(out, item);
            (*n_out)++;
        } else {
            cJSON_Delete(item);
        }
    }
    table_free(&t);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- TruthfulQA */

static int truthfulqa(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    char *text = umpire_read_file(p->inputs[0], NULL, err, &rc);
    if (!text)
        return rc;
    struct table t;
    if (split_table(text, ',', 1, &t) != 0) {
        free(text);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    int cq = column(&t, "Question"), cb = column(&t, "Best Answer"), cc = column(&t, "Correct Answers");
    if (cq < 0 || cb < 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s:1: header: needs the columns Question and Best Answer (TruthfulQA CSV)",
                         p->inputs[0]);
    for (size_t r = 1; r < t.n_rows && rc == UMPIRE_OK; r++) {
        if (!cell(&t, r, cq)[0])
            continue;
        cJSON *item = cJSON_CreateObject(), *answers = cJSON_CreateArray();
        char id[32];
        snprintf(id, sizeof id, "tqa%zu", r);
        cJSON_AddStringToObject(item, "id", id);
        cJSON_AddStringToObject(item, "question", cell(&t, r, cq));
        cJSON_AddItemToArray(answers, cJSON_CreateString(cell(&t, r, cb)));
        char *correct = strdup(cell(&t, r, cc)), *save = NULL;
        for (char *a = correct ? strtok_r(correct, ";", &save) : NULL; a; a = strtok_r(NULL, ";", &save)) {
            while (*a == ' ')
                a++;
            if (*a && strcmp(a, cell(&t, r, cb)))
                cJSON_AddItemToArray(answers, cJSON_CreateString(a));
        }
        free(correct);
        cJSON_AddItemToObject(item, "answers", answers);
        rc = emit(out, item);
        (*n_out)++;
    }
    table_free(&t);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- SciQ */

static int sciq(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    cJSON *arr = umpire_read_json(p->inputs[0], err, &rc);
    if (arr && !cJSON_IsArray(arr))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: expected an array of SciQ questions", p->inputs[0]);
    struct umpire_rng rng;
    umpire_rng_seed(&rng, p->seed);
    size_t i = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, arr) {
        if (rc != UMPIRE_OK)
            break;
        const char *names[4] = {"correct_answer", "distractor1", "distractor2", "distractor3"};
        const cJSON *v[4];
        for (int k = 0; k < 4; k++)
            v[k] = cJSON_GetObjectItemCaseSensitive(q, names[k]);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(q, "question");
        if (!cJSON_IsString(text) || !cJSON_IsString(v[0]) || !cJSON_IsString(v[1]) || !cJSON_IsString(v[2]) ||
            !cJSON_IsString(v[3])) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: needs question, correct_answer and distractor1..3",
                             p->inputs[0], i);
            break;
        }
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
        cJSON_AddStringToObject(item, "question", text->valuestring);
        for (int k = 0; k < 4; k++) {
            char name[2] = {(char)('A' + k), '\0'};
            cJSON_AddStringToObject(choices, name, v[order[k]]->valuestring);
            if (order[k] == 0)
                cJSON_AddItemToArray(answers, cJSON_CreateString(name));
        }
        cJSON_AddItemToObject(item, "choices", choices);
        cJSON_AddItemToObject(item, "answers", answers);
        rc = emit(out, item);
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
    } formats[] = {{"vqa", vqa}, {"mmbench", mmbench}, {"truthfulqa", truthfulqa}, {"sciq", sciq}};
    *n_items = 0;
    size_t f = 0;
    while (f < 4 && strcmp(formats[f].name, p->format))
        f++;
    if (f == 4)
        return umpire_fail(err, UMPIRE_EINVAL, "'%s' is not a format umpire converts (vqa, mmbench, truthfulqa, sciq)",
                           p->format);
    int rc = umpire_output_check(p->output, p->inputs[0], err);
    if (rc == UMPIRE_OK && p->annotations)
        rc = umpire_output_check(p->output, p->annotations, err);
    struct umpire_output out;
    if (rc == UMPIRE_OK)
        rc = umpire_output_open(&out, p->output, err);
    return rc ? rc : umpire_output_close(&out, formats[f].run(p, out.f, n_items, err), err);
}
