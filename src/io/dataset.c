/* dataset.c - read an evaluation dataset (DESIGN.md): one question a line,
 *   {"id", "question", "image"?: path or [paths], "audio"?: path or [paths], "description"?: text,
 *    "history"?: [{"role": "user", "content": text}, {"role": "assistant", ...}, ...],
 *    "video"?: path (a clip or a folder of frames), "frames"?: 1..64 (default 8),
 *    "answers": [accepted answers], "choices"?: {"A": "...", "B": "..."}, "answerable"?: bool}
 * with media paths relative to the dataset file. An unanswerable question ("answerable": false)
 * is answered right by declining: in free form with an answer umpire_is_refusal recognises, in
 * multiple choice with its "I don't know" option (which it must have). Problems are "FILE:LINE: field: problem".
 * Every string must be well-formed UTF-8: a dataset is what the model is asked and what the
 * run's files repeat, so an ill-formed one is refused rather than guessed at. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/utf8.h"
#include "video/video.h"
#include "io/idset.h"
#include "io/jsonl.h"
#include "umpire.h"

struct load {
    const char *path, *group_field;
    char *err;
    char dir[4096];
    struct umpire_dataset *out;
    size_t alloc;
    struct umpire_idset ids; /* the ids so far, with their lines */
};

static int fail(struct load *l, size_t line, const char *field, const char *what) {
    return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: %s: %s", l->path, line, field, what);
}

static int oom(struct load *l, size_t line) {
    return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
}

/* 0 for a well-formed UTF-8 string, or the error naming the field */
static int utf8(struct load *l, size_t line, const char *field, const char *s) {
    size_t bad;
    if (umpire_utf8_valid(s, &bad))
        return 0;
    return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: %s: not valid UTF-8 (byte %zu)", l->path,
                       line, field, bad);
}

/* A string or an array of strings into a new array (paths made relative to the file's dir). */
static int strings(struct load *l, size_t line, const cJSON *v, const char *field, int is_path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    size_t m = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return fail(l, line, field, "expected a string or an array of strings");
    *out = calloc(m ? m : 1, sizeof **out);
    if (!*out)
        return oom(l, line);
    for (size_t i = 0; i < m; i++) {
        const cJSON *x = cJSON_IsString(v) ? v : cJSON_GetArrayItem(v, (int)i);
        if (!cJSON_IsString(x))
            return fail(l, line, field, "every element must be a string");
        const char *s = x->valuestring;
        char where[48];
        snprintf(where, sizeof where, cJSON_IsString(v) ? "%s" : "%s[%zu]", field, i);
        int rc = utf8(l, line, where, s);
        if (rc)
            return rc;
        size_t len = strlen(s) + (is_path && s[0] != '/' ? strlen(l->dir) + 2 : 1);
        if (!((*out)[i] = malloc(len)))
            return oom(l, line);
        if (is_path && s[0] != '/')
            snprintf((*out)[i], len, "%s/%s", l->dir, s);
        else
            snprintf((*out)[i], len, "%s", s);
        (*n)++;
    }
    return 0;
}

/* "history": the conversation before the question, user and assistant turns in alternation
 * from the user's (the question is the next user turn). */
static int history(struct load *l, size_t line, const cJSON *v, struct umpire_dataset_item *it) {
    if (!v || cJSON_IsNull(v))
        return 0;
    int m = cJSON_GetArraySize(v);
    if (!cJSON_IsArray(v) || m % 2)
        return fail(l, line, "history", "expected an array of turns, user then assistant, in pairs "
                                        "({\"role\": \"user\", \"content\": \"...\"}, {\"role\": \"assistant\", ...})");
    if (m && !(it->history = calloc((size_t)m, sizeof *it->history)))
        return oom(l, line);
    char field[48];
    for (const cJSON *t = v->child; t; t = t->next) {
        size_t i = it->n_history;
        const char *want = i % 2 ? "assistant" : "user";
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(t, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(t, "content");
        snprintf(field, sizeof field, "history[%zu].role", i);
        if (!cJSON_IsString(role) || strcmp(role->valuestring, want))
            return fail(l, line, field, i % 2 ? "expected \"assistant\" (turns alternate, from the user's)"
                                              : "expected \"user\" (turns alternate, from the user's)");
        snprintf(field, sizeof field, "history[%zu].content", i);
        if (!cJSON_IsString(content))
            return fail(l, line, field, "expected a string");
        int rc = utf8(l, line, field, content->valuestring);
        if (rc)
            return rc;
        char *c = strdup(content->valuestring);
        if (!c)
            return oom(l, line);
        it->history[it->n_history++] = (struct umpire_turn){want, c};
    }
    return 0;
}

static int add(const cJSON *o, size_t line, void *ctx) {
    struct load *l = ctx;
    struct umpire_dataset *d = l->out;
    if (!cJSON_IsObject(o))
        return fail(l, line, "item", "expected a JSON object");
    if (d->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 64;
        struct umpire_dataset_item *g = realloc(d->items, l->alloc * sizeof *g);
        if (!g)
            return oom(l, line);
        d->items = g;
    }
    struct umpire_dataset_item *it = &d->items[d->n++];
    memset(it, 0, sizeof *it);
    it->line = line;
    it->answerable = 1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char buf[96];
    if (cJSON_IsString(id) && id->valuestring[0])
        it->id = strdup(id->valuestring);
    else if (cJSON_IsNumber(id))
        snprintf(buf, sizeof buf, "%.17g", id->valuedouble), it->id = strdup(buf);
    else if (!id)
        snprintf(buf, sizeof buf, "line%zu", line), it->id = strdup(buf);
    else
        return fail(l, line, "id", "expected a non-empty string or a number");
    if (!it->id)
        return oom(l, line);
    int rc;
    if ((rc = utf8(l, line, "id", it->id)))
        return rc;
    const cJSON *g = l->group_field ? cJSON_GetObjectItemCaseSensitive(o, l->group_field) : NULL;
    if (g && !cJSON_IsNull(g)) {
        if (cJSON_IsString(g)) {
            if ((rc = utf8(l, line, l->group_field, g->valuestring)))
                return rc;
            it->group = strdup(g->valuestring);
        } else if (cJSON_IsBool(g)) {
            it->group = strdup(cJSON_IsTrue(g) ? "true" : "false");
        } else if (cJSON_IsNumber(g)) {
            snprintf(buf, sizeof buf, "%.17g", g->valuedouble);
            it->group = strdup(buf);
        } else {
            return fail(l, line, l->group_field, "expected a string, a number or true/false to group by");
        }
        if (!it->group)
            return oom(l, line);
    }
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "question");
    if (!cJSON_IsString(q) || !q->valuestring[q ? strspn(q->valuestring, " \t\r\n") : 0])
        return fail(l, line, "question", q ? "expected a non-empty string" : "missing");
    if ((rc = utf8(l, line, "question", q->valuestring)))
        return rc;
    if (!(it->question = strdup(q->valuestring)))
        return oom(l, line);
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(o, "description");
    if (desc && !cJSON_IsNull(desc)) {
        if (!cJSON_IsString(desc))
            return fail(l, line, "description", "expected a string");
        if ((rc = utf8(l, line, "description", desc->valuestring)))
            return rc;
        if (desc->valuestring[0] && !(it->description = strdup(desc->valuestring)))
            return oom(l, line);
    }
    if ((rc = history(l, line, cJSON_GetObjectItemCaseSensitive(o, "history"), it)))
        return rc;
    if ((rc = strings(l, line, cJSON_GetObjectItemCaseSensitive(o, "image"), "image", 1, &it->images, &it->n_images)) ||
        (rc = strings(l, line, cJSON_GetObjectItemCaseSensitive(o, "audio"), "audio", 1, &it->audio, &it->n_audio)) ||
        (rc = strings(l, line, cJSON_GetObjectItemCaseSensitive(o, "answers"), "answers", 0, &it->answers, &it->n_answers)))
        return rc;
    char **video = NULL;
    size_t n_video = 0;
    const cJSON *vid = cJSON_GetObjectItemCaseSensitive(o, "video");
    if (vid && !cJSON_IsNull(vid) && !cJSON_IsString(vid))
        return fail(l, line, "video", "expected a path (a clip or a folder of frames)");
    if ((rc = strings(l, line, vid, "video", 1, &video, &n_video)))
        return free(video), rc;
    it->video = n_video ? video[0] : NULL;
    free(video);
    it->frames = UMPIRE_VIDEO_DEFAULT_FRAMES;
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(o, "frames");
    if (fr && !cJSON_IsNull(fr)) {
        if (!it->video)
            return fail(l, line, "frames", "given without a \"video\"");
        if (!cJSON_IsNumber(fr) || !(fr->valuedouble >= 1 && fr->valuedouble <= UMPIRE_VIDEO_MAX_FRAMES) ||
            fr->valuedouble != (double)(int)fr->valuedouble)
            return fail(l, line, "frames", "expected a whole number 1..64");
        it->frames = fr->valueint;
    }
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(o, "answerable");
    if (ans && !cJSON_IsNull(ans)) {
        if (!cJSON_IsBool(ans))
            return fail(l, line, "answerable", "expected true or false");
        it->answerable = cJSON_IsTrue(ans);
    }
    if (it->answerable && it->n_answers == 0)
        return fail(l, line, "answers", "needs at least one accepted answer (or \"answerable\": false)");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choices");
    if (ch && !cJSON_IsNull(ch)) {
        size_t m = cJSON_IsObject(ch) ? (size_t)cJSON_GetArraySize(ch) : 0;
        if (m < 2 || m > 26)
            return fail(l, line, "choices", "expected an object of 2..26 options {\"A\": \"...\", \"B\": \"...\"}");
        if (!(it->choices = calloc(m, sizeof *it->choices)))
            return oom(l, line);
        for (size_t i = 0; i < m; i++) {
            char key[2] = {(char)('A' + i), '\0'}, field[32];
            const cJSON *opt = cJSON_GetObjectItemCaseSensitive(ch, key);
            snprintf(field, sizeof field, "choices.%s", key);
            if (!cJSON_IsString(opt))
                return fail(l, line, field, "missing: options are labelled A, B, C, ... in order");
            if ((rc = utf8(l, line, field, opt->valuestring)))
                return rc;
            if (!(it->choices[it->n_choices++] = strdup(opt->valuestring)))
                return oom(l, line);
        }
        int idk = 0; /* an unanswerable question's right choice is its "I don't know" option */
        for (size_t i = 0; i < it->n_choices; i++)
            idk |= umpire_is_refusal(it->choices[i]);
        if (!it->answerable && !idk)
            return fail(l, line, "choices",
                        "\"answerable\": false needs an option that declines (e.g. \"I don't know\"): no choice could be right");
    }
    size_t first; /* ids name items in a run: they must be unique */
    int seen = umpire_idset_add(&l->ids, it->id, line, &first);
    if (seen < 0)
        return oom(l, line);
    if (seen) {
        snprintf(buf, sizeof buf, "'%.40s' again (line %zu has it)", it->id, first);
        return fail(l, line, "id", buf);
    }
    return 0;
}

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void umpire_dataset_free(struct umpire_dataset *d) {
    for (size_t i = 0; i < d->n; i++) {
        struct umpire_dataset_item *it = &d->items[i];
        free(it->id);
        free(it->question);
        free(it->description);
        for (size_t j = 0; j < it->n_history; j++)
            free((char *)it->history[j].content);
        free(it->history);
        free(it->video);
        free(it->group);
        strv_free(it->images, it->n_images);
        strv_free(it->audio, it->n_audio);
        strv_free(it->answers, it->n_answers);
        strv_free(it->choices, it->n_choices);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

int umpire_dataset_read(const char *path, struct umpire_dataset *out, char *err) {
    return umpire_dataset_read_grouped(path, NULL, out, err);
}

int umpire_dataset_read_grouped(const char *path, const char *field, struct umpire_dataset *out, char *err) {
    memset(out, 0, sizeof *out);
    struct load l = {.path = path, .group_field = field, .err = err, .out = out};
    snprintf(l.dir, sizeof l.dir, "%s", path);
    char *slash = strrchr(l.dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(l.dir, sizeof l.dir, ".");
    int rc = umpire_jsonl_each(path, add, &l, NULL, err);
    umpire_idset_free(&l.ids);
    if (rc == UMPIRE_OK && out->n == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no items (the file is empty)", path);
    if (rc != UMPIRE_OK)
        umpire_dataset_free(out);
    return rc;
}
