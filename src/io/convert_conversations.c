/* convert_conversations.c - `umpire convert conversations`: multiple-choice questions in the
 * LLaVA conversation layout that Calibration-MLLM's code reads (temperature_scaling/TS.py,
 * prompt_tuning/PT.py; their IDK study's data):
 *
 *   [{"id"?, "image"?: "file.jpg", "conversations": [{"from": "human", "value": PROMPT},
 *                                                    {"from": "gpt", "value": "B"}]}, ...]
 *
 * PROMPT holds the question and its options, one a line ("A. red", "(B) blue", "C: green";
 * LLaVA's "<image>" marker is dropped); the answer is the option letter its reply starts with
 * (TS.py compares the reply with the letter, PT.py its first character). A question whose right
 * option declines ("I don't know", umpire_is_refusal) is one the model cannot know: it becomes
 * "answerable": false, right exactly when the model picks that option (eval's IDK rates).
 * Problems stop the conversion: "FILE: [i]: field: problem".
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/convert.h"
#include "io/idset.h"
#include "umpire.h"

/* "A. text", "A) text", "(A) text", "A: text" with letter want: the text after it, or NULL */
static const char *option_text(const char *line, char want) {
    const char *p = line + strspn(line, " \t");
    int paren = *p == '(';
    p += paren;
    if (*p != want)
        return NULL;
    p++;
    if (paren ? *p != ')' : !(*p == '.' || *p == ')' || *p == ':'))
        return NULL;
    p++;
    if (*p != ' ' && *p != '\t')
        return NULL;
    return p + strspn(p, " \t");
}

/* Split PROMPT (modified) into the question (the lines that are not options, joined by
 * newlines, into q) and the options A, B, ... (pointers into prompt, up to 26). Returns the
 * number of options. */
static size_t split_prompt(char *prompt, char *q, const char **opt) {
    size_t n = 0, qlen = 0;
    q[0] = '\0';
    for (char *line = prompt, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        for (char *m = strstr(line, "<image>"); m; m = strstr(line, "<image>")) /* LLaVA's marker */
            memmove(m, m + 7, strlen(m + 7) + 1);
        const char *text = n < 26 ? option_text(line, (char)('A' + n)) : NULL;
        if (text && *text) {
            opt[n++] = text;
            continue;
        }
        const char *t = line + strspn(line, " \t");
        if (!*t)
            continue;
        if (qlen)
            q[qlen++] = '\n';
        size_t tl = strlen(t);
        memcpy(q + qlen, t, tl);
        qlen += tl;
        q[qlen] = '\0';
    }
    return n;
}

static const char *string_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int umpire_convert_conversations(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err) {
    int rc = UMPIRE_OK;
    const char *path = p->inputs[0];
    cJSON *arr = umpire_convert_read_json(path, err, &rc);
    if (arr && !cJSON_IsArray(arr))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: expected an array of conversations (LLaVA layout)", path);
    struct umpire_idset ids = {0};
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (rc != UMPIRE_OK)
            break;
        const cJSON *conv = cJSON_GetObjectItemCaseSensitive(it, "conversations");
        const char *prompt_in = NULL, *reply = NULL;
        if (!cJSON_IsObject(it)) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: expected an object", path, i);
            break;
        }
        if (!cJSON_IsArray(conv) || cJSON_GetArraySize(conv) < 2 ||
            !(prompt_in = string_of(cJSON_GetArrayItem(conv, 0), "value")) ||
            !(reply = string_of(cJSON_GetArrayItem(conv, 1), "value"))) {
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: [%zu]: conversations: needs the question and the answer, "
                             "[{\"value\": \"...\"}, {\"value\": \"A\"}]",
                             path, i);
            break;
        }
        /* the id: the item's own (a string or a whole number), else its position */
        char id[64];
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (cJSON_IsString(idv) && idv->valuestring[0] && strlen(idv->valuestring) < sizeof id)
            snprintf(id, sizeof id, "%s", idv->valuestring);
        else if (cJSON_IsNumber(idv) && idv->valuedouble >= 0 && idv->valuedouble < 9007199254740992.0 &&
                 idv->valuedouble == (double)(long long)idv->valuedouble)
            snprintf(id, sizeof id, "%lld", (long long)idv->valuedouble);
        else if (!idv || cJSON_IsNull(idv))
            snprintf(id, sizeof id, "conv%zu", i);
        else {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: id: expected a non-empty string (< 64 bytes) or a whole number",
                             path, i);
            break;
        }
        size_t first;
        int seen = umpire_idset_add(&ids, id, i, &first);
        if (seen != 0) {
            rc = seen < 0 ? umpire_fail(err, UMPIRE_ENOMEM, "out of memory")
                          : umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: id: '%s' again ([%zu] has it)", path, i, id, first);
            break;
        }
        size_t len = strlen(prompt_in);
        char *prompt = strdup(prompt_in), *q = malloc(len + 1);
        const char *opt[26];
        if (!prompt || !q) {
            free(prompt);
            free(q);
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        size_t n_opt = split_prompt(prompt, q, opt);
        /* the reply's letter: "B", "(B", "B. blue", " B" */
        const char *r = reply + strspn(reply, " \t\r\n(");
        char letter = *r;
        int is_letter = letter >= 'A' && letter < 'A' + (char)n_opt && !isalnum((unsigned char)r[1]);
        if (n_opt < 2)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: [%zu]: conversations[0].value: fewer than 2 options (lines \"A. ...\", \"B. ...\")",
                             path, i);
        else if (!q[0])
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: conversations[0].value: no question before the options",
                             path, i);
        else if (!is_letter)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: [%zu]: conversations[1].value: '%.20s' is not one of the option letters A..%c", path,
                             i, reply, (char)('A' + n_opt - 1));
        for (size_t a = 0; rc == UMPIRE_OK && a < n_opt; a++)
            for (size_t b = 0; b < a && rc == UMPIRE_OK; b++)
                if (!strcmp(opt[a], opt[b]))
                    rc = umpire_fail(err, UMPIRE_EINVAL, "%s: [%zu]: option %c: the same text as option %c ('%.40s')",
                                     path, i, (char)('A' + a), (char)('A' + b), opt[a]);
        if (rc == UMPIRE_OK) {
            cJSON *item = cJSON_CreateObject(), *choices = cJSON_CreateObject(), *answers = cJSON_CreateArray();
            cJSON_AddStringToObject(item, "id", id);
            cJSON_AddStringToObject(item, "question", q);
            const char *image = string_of(it, "image");
            if (image && image[0]) {
                char *full = NULL;
                if (p->image_dir && (full = malloc(strlen(p->image_dir) + strlen(image) + 2)))
                    sprintf(full, "%s/%s", p->image_dir, image);
                cJSON_AddStringToObject(item, "image", full ? full : image);
                free(full);
            }
            for (size_t a = 0; a < n_opt; a++) {
                char name[2] = {(char)('A' + a), '\0'};
                cJSON_AddStringToObject(choices, name, opt[a]);
            }
            cJSON_AddItemToObject(item, "choices", choices);
            char name[2] = {letter, '\0'};
            if (umpire_is_refusal(opt[letter - 'A'])) /* the right answer is to decline */
                cJSON_AddFalseToObject(item, "answerable");
            else
                cJSON_AddItemToArray(answers, cJSON_CreateString(name));
            cJSON_AddItemToObject(item, "answers", answers);
            rc = umpire_convert_emit(out, item, err);
            (*n_out)++;
        }
        free(prompt);
        free(q);
        i++;
    }
    umpire_idset_free(&ids);
    cJSON_Delete(arr);
    return rc;
}
