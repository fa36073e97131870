/* request.c - an OpenAI chat-completions body into one umpire query (request.h). */
#define _POSIX_C_SOURCE 200809L
#include "serve/request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "io/base64.h"
#include "io/jsonl.h"
#include "umpire.h"

int serve_error_set(struct serve_error *e, int status, const char *type, const char *param,
                    const char *code, const char *fmt, ...) {
    e->status = status;
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

#define BAD(param, ...) serve_error_set(e, 400, "invalid_request_error", param, NULL, __VA_ARGS__)

void serve_request_free(struct serve_request *r) {
    free(r->model);
    free(r->system);
    free(r->question);
    for (size_t i = 0; i < r->n_history; i++)
        free((char *)r->history[i].content);
    free(r->history);
    for (size_t i = 0; i < r->n_media; i++) {
        free(r->media[i].data);
        free(r->media[i].url);
    }
    free(r->media);
    for (size_t i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    free(r->stop);
    for (size_t i = 0; i < r->n_answers; i++)
        free(r->answers[i]);
    free(r->answers);
    free(r->body_messages);
    memset(r, 0, sizeof *r);
}

/* s += sep + t (s may be NULL; *len its length, kept up to date: appending many parts is linear,
 * not quadratic, in the body's size). Returns 0, or -1 when out of memory. */
static int append(char **s, size_t *len, const char *sep, const char *t) {
    size_t a = *s ? *len : 0, b = strlen(t), c = *s && a ? strlen(sep) : 0;
    char *n = realloc(*s, a + c + b + 1);
    if (!n)
        return -1;
    memcpy(n + a, sep, c);
    memcpy(n + a + c, t, b + 1);
    *s = n;
    *len = a + c + b;
    return 0;
}

static int oom(struct serve_error *e) {
    return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* The image type from a data: URI's media type, or from the bytes' magic. */
const char *serve_image_ext(const char *mime, const unsigned char *d, size_t n) {
    if (n >= 8 && !memcmp(d, "\x89PNG", 4))
        return "png";
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8)
        return "jpg";
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
        return "gif";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M')
        return "bmp";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
        return "webp";
    return strstr(mime, "png") ? "png" : "jpg";
}

/* Decode base64 text (NUL-terminated) into m. Returns 0, or -1 with e (param names the field). */
static int decode_media(const char *b64, const char *param, const struct serve_limits *lim,
                        struct serve_media *m, struct serve_error *e) {
    long n = umpire_base64_decode(b64, NULL);
    if (n < 0)
        return BAD(param, "%s: not base64 data", param);
    if (n == 0)
        return BAD(param, "%s: empty media data", param);
    if ((size_t)n > lim->max_media_bytes)
        return serve_error_set(e, 413, "invalid_request_error", param, "media_too_large",
                               "%s: %ld bytes of media, at most %zu (--max-media-bytes)", param, n,
                               lim->max_media_bytes);
    if (!(m->data = malloc((size_t)n)))
        return oom(e);
    m->len = (size_t)umpire_base64_decode(b64, m->data);
    return 0;
}

static int push_media(struct serve_request *r, const struct serve_media *m,
                      const struct serve_limits *lim, const char *param, struct serve_error *e) {
    if (r->n_media >= lim->max_media) {
        free(m->data);
        free(m->url);
        return BAD(param, "%s: more than %zu media parts in one request", param, lim->max_media);
    }
    struct serve_media *g = realloc(r->media, (r->n_media + 1) * sizeof *g);
    if (!g) {
        free(m->data);
        free(m->url);
        return oom(e);
    }
    r->media = g;
    r->media[r->n_media++] = *m;
    return 0;
}

/* One content part of the user message: text, image_url, input_audio. */
static int read_part(const cJSON *part, const char *param, const struct serve_limits *lim,
                     struct serve_request *r, struct serve_error *e) {
    char p[128];
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
    if (!cJSON_IsObject(part) || !cJSON_IsString(type))
        return BAD(param, "%s: a content part is an object with a \"type\"", param);
    if (!strcmp(type->valuestring, "text")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        snprintf(p, sizeof p, "%s.text", param);
        if (!cJSON_IsString(t))
            return BAD(p, "%s: a string is required", p);
        return append(&r->question, &r->question_len, "\n", t->valuestring) ? oom(e) : 0;
    }
    if (!strcmp(type->valuestring, "image_url")) {
        const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
        const cJSON *url = cJSON_IsObject(iu) ? cJSON_GetObjectItemCaseSensitive(iu, "url") : iu;
        snprintf(p, sizeof p, "%s.image_url", param);
        if (!cJSON_IsString(url))
            return BAD(p, "%s: {\"url\": \"data:image/...;base64,...\"} is required", p);
        const char *u = url->valuestring;
        if (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) {
            if (!lim->allow_remote_media)
                return BAD(p, "%s: remote image URLs are not fetched (the server's "
                              "--allow-remote-media); send the image as a data: URI", p);
            struct serve_media m = {.url = strdup(u)};
            if (!m.url)
                return oom(e);
            return push_media(r, &m, lim, p, e); /* fetched by the server (serve_fetch) */
        }
        const char *comma = strchr(u, ',');
        if (strncmp(u, "data:", 5) || !comma || (size_t)(comma - u) < 7 ||
            strncmp(comma - 7, ";base64", 7))
            return BAD(p, "%s: not a base64 data: URI (data:image/png;base64,...)", p);
        if (strncmp(u + 5, "image/", 6))
            return BAD(p, "%s: the data: URI's media type is not image/*", p);
        struct serve_media m = {0};
        if (decode_media(comma + 1, p, lim, &m, e))
            return -1;
        snprintf(m.ext, sizeof m.ext, "%s", serve_image_ext(u, m.data, m.len));
        return push_media(r, &m, lim, p, e);
    }
    if (!strcmp(type->valuestring, "input_audio")) {
        const cJSON *ia = cJSON_GetObjectItemCaseSensitive(part, "input_audio");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(ia, "data");
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(ia, "format");
        snprintf(p, sizeof p, "%s.input_audio", param);
        if (!cJSON_IsObject(ia) || !cJSON_IsString(data))
            return BAD(p, "%s: {\"data\": base64, \"format\": \"wav\"} is required", p);
        const char *f = cJSON_IsString(fmt) ? fmt->valuestring : "wav";
        if (strcmp(f, "wav") && strcmp(f, "mp3") && strcmp(f, "flac"))
            return BAD(p, "%s.format: \"wav\", \"mp3\" or \"flac\", got \"%.20s\"", p, f);
        struct serve_media m = {.audio = 1};
        if (decode_media(data->valuestring, p, lim, &m, e))
            return -1;
        snprintf(m.ext, sizeof m.ext, "%s", f);
        return push_media(r, &m, lim, p, e);
    }
    snprintf(p, sizeof p, "%s.type", param);
    return BAD(p, "%s: \"%.40s\" is not a content type umpire reads (text, image_url, input_audio)",
               p, type->valuestring);
}

/* A message's content as text (string, or text parts only), for system messages. */
static int text_content(const cJSON *c, const char *param, char **out, size_t *out_len,
                        struct serve_error *e) {
    if (cJSON_IsString(c))
        return append(out, out_len, "\n", c->valuestring) ? oom(e) : 0;
    if (!cJSON_IsArray(c))
        return BAD(param, "%s: a string or an array of text parts is required", param);
    int i = 0;
    for (const cJSON *part = c->child; part; part = part->next, i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "text"))
            return BAD(param,
                       "%s[%d]: a %.40s part: images and audio are read in the last user "
                       "message only (earlier turns and system messages are text)",
                       param, i, type->valuestring);
        if (!cJSON_IsString(t))
            return BAD(param, "%s[%d]: only text parts are read here", param, i);
        if (append(out, out_len, "\n", t->valuestring))
            return oom(e);
    }
    return 0;
}

/* An earlier turn (role "user" or "assistant"; its text) onto r->history. */
static int push_turn(struct serve_request *r, const char *role, const cJSON *content,
                     const char *param, struct serve_error *e) {
    char *text = NULL;
    size_t len = 0;
    if (text_content(content, param, &text, &len, e)) {
        free(text);
        return -1;
    }
    if (!text && !(text = strdup("")))
        return oom(e);
    struct umpire_turn *g = realloc(r->history, (r->n_history + 1) * sizeof *g);
    if (!g) {
        free(text);
        return oom(e);
    }
    r->history = g;
    r->history[r->n_history++] = (struct umpire_turn){role, text};
    return 0;
}

/* The conversation: system (and developer) messages first, then user and assistant turns in
 * alternation, the last one the user's: the question, with its media; the earlier turns are
 * text, put through the chat template before it. */
static int read_messages(const cJSON *msgs, const struct serve_limits *lim, struct serve_request *r,
                         struct serve_error *e) {
    if (!cJSON_IsArray(msgs) || !msgs->child)
        return BAD("messages", "messages: a non-empty array is required");
    int i = 0, users = 0, asked = 0;
    const char *prev = NULL; /* the previous turn's role ("user", "assistant"), NULL before any */
    char p[96];
    for (const cJSON *m = msgs->child; m; m = m->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        snprintf(p, sizeof p, "messages[%d]", i);
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return BAD(p, "%s: an object with a \"role\" is required", p);
        snprintf(p, sizeof p, "messages[%d].content", i);
        const char *ro = role->valuestring;
        if (!strcmp(ro, "system") || !strcmp(ro, "developer")) {
            if (prev)
                return BAD(p,
                           "messages[%d]: a system message after the conversation's turns is not "
                           "supported (put it first)",
                           i);
            if (text_content(content, p, &r->system, &r->system_len, e))
                return -1;
        } else if (!strcmp(ro, "user") && !m->next) { /* the question */
            if (prev && strcmp(prev, "assistant"))
                return BAD("messages",
                           "messages[%d]: two user messages in a row (turns alternate "
                           "user, assistant, ..., user)",
                           i);
            users++;
            asked = 1;
            if (cJSON_IsString(content)) {
                if (append(&r->question, &r->question_len, "\n", content->valuestring))
                    return oom(e);
            } else if (cJSON_IsArray(content)) {
                int j = 0;
                for (const cJSON *part = content->child; part; part = part->next, j++) {
                    char pp[112];
                    snprintf(pp, sizeof pp, "%s[%d]", p, j);
                    if (read_part(part, pp, lim, r, e))
                        return -1;
                }
            } else
                return BAD(p, "%s: a string or an array of content parts is required", p);
        } else if (!strcmp(ro, "user") || !strcmp(ro, "assistant")) { /* an earlier turn */
            int user = ro[0] == 'u';
            if (user ? prev && strcmp(prev, "assistant") : !prev || strcmp(prev, "user"))
                return BAD("messages",
                           "messages[%d]: %s (turns alternate user, assistant, ..., user)", i,
                           user ? "two user messages in a row"
                                : "an assistant message that does not follow a user's");
            users += user;
            prev = user ? "user" : "assistant";
            if (!user && cJSON_IsNull(content))
                return BAD(p,
                           "%s: an assistant turn with text is required (tool calls are not "
                           "supported)",
                           p);
            if (push_turn(r, prev, content, p, e))
                return -1;
        } else if (!strcmp(ro, "tool") || !strcmp(ro, "function")) {
            return BAD("messages", "messages[%d]: role \"%s\": tool turns are not supported", i,
                       ro);
        } else {
            snprintf(p, sizeof p, "messages[%d].role", i);
            return BAD(p, "%s: \"%.40s\" is not a role (system, developer, user, assistant)", p,
                       ro);
        }
    }
    if (!users)
        return BAD("messages", "messages: a user message is required");
    if (!asked)
        return BAD("messages", "messages: the last message must be the user's (the question)");
    if (!r->question && !r->n_media)
        return BAD("messages", "messages: the user message is empty");
    if (!r->question && !(r->question = strdup("")))
        return oom(e);
    /* the engine orders media as images, then audio */
    for (size_t a = 0, b = 0; b < r->n_media; b++)
        if (!r->media[b].audio) {
            struct serve_media t = r->media[b];
            memmove(r->media + a + 1, r->media + a, (b - a) * sizeof t);
            r->media[a++] = t;
        }
    return 0;
}

/* An integer field in [lo, hi]. */
static int int_field(const cJSON *v, const char *name, long lo, long hi, long *out,
                     struct serve_error *e) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return BAD(name, "%s: an integer is required", name);
    if (!(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi))
        return BAD(name, "%s: must be in [%ld, %ld], got %.17g", name, lo, hi, v->valuedouble);
    *out = (long)v->valuedouble;
    return 0;
}

static int num_field(const cJSON *v, const char *name, double lo, double hi, double *out,
                     struct serve_error *e) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return BAD(name, "%s: a number in [%g, %g] is required", name, lo, hi);
    *out = v->valuedouble;
    return 0;
}

static int bool_field(const cJSON *v, const char *name, int *out, struct serve_error *e) {
    if (!v || cJSON_IsNull(v))
        return *out = 0, 0;
    if (!cJSON_IsBool(v))
        return BAD(name, "%s: true or false is required", name);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* An array of strings (or one string) into *out. */
static int strings(const cJSON *v, const char *name, size_t max, char ***out, size_t *n,
                   struct serve_error *e) {
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        if (!(*out = malloc(sizeof **out)) || !((*out)[0] = strdup(v->valuestring)))
            return oom(e);
        *n = 1;
        return 0;
    }
    int m = cJSON_GetArraySize(v);
    if (!cJSON_IsArray(v) || m < 0 || (size_t)m > max)
        return BAD(name, "%s: an array of at most %zu strings is required", name, max);
    if (m && !(*out = calloc((size_t)m, sizeof **out)))
        return oom(e);
    for (const cJSON *s = v ? v->child : NULL; s; s = s->next) {
        if (!cJSON_IsString(s))
            return BAD(name, "%s[%zu]: a string is required", name, *n);
        if (!((*out)[*n] = strdup(s->valuestring)))
            return oom(e);
        ++*n;
    }
    return 0;
}

/* Fields read, and those accepted and ignored (what OpenAI clients send that does not apply). */
static const char *const known[] = {"model",
                                    "messages",
                                    "n",
                                    "k",
                                    "temperature",
                                    "top_p",
                                    "max_tokens",
                                    "max_completion_tokens",
                                    "seed",
                                    "stream",
                                    "stream_options",
                                    "logprobs",
                                    "top_logprobs",
                                    "stop",
                                    "answers",
                                    "user",
                                    "metadata",
                                    "store",
                                    "frequency_penalty",
                                    "presence_penalty",
                                    "logit_bias",
                                    "parallel_tool_calls",
                                    "response_format",
                                    "service_tier",
                                    NULL};

int serve_request_parse(const char *body, size_t len, enum serve_kind kind,
                        const struct serve_limits *lim, struct serve_request *r,
                        struct serve_error *e) {
    memset(r, 0, sizeof *r);
    r->n = 1;
    r->k = -1;
    r->temperature = r->top_p = NAN;
    char err[UMPIRE_ERR_LEN];
    int rc = 0;
    cJSON *o = umpire_json_parse(body, len, "request body", 0, err, &rc);
    if (!o)
        return rc == UMPIRE_ENOMEM ? oom(e) : BAD(NULL, "%s", err);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return BAD(NULL, "request body: a JSON object is required");
    }
    size_t at = 0;
    if (!umpire_utf8_valid(body, &at)) {
        cJSON_Delete(o);
        return BAD(NULL, "request body: not well-formed UTF-8 (byte %zu)", at + 1);
    }
    int bad = 0;
    for (const cJSON *f = o->child; f && !bad; f = f->next) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], f->string))
            i++;
        if (!known[i] || (kind == SERVE_CHAT && !strcmp(f->string, "answers")))
            bad = BAD(f->string, "%.60s: unknown field", f->string);
    }
    const cJSON *v;
    long l = 0;
    double d = 0;
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "model")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v))
            bad = BAD("model", "model: a string is required");
        else if (!(r->model = strdup(v->valuestring)))
            bad = oom(e);
    }
    if (!bad)
        bad = read_messages(cJSON_GetObjectItemCaseSensitive(o, "messages"), lim, r, e);
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "k")) && !cJSON_IsNull(v) &&
        !(bad = int_field(v, "k", kind == SERVE_CHAT ? 0 : 2, lim->k_max, &l, e)))
        r->k = (int)l;
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "n")) && !cJSON_IsNull(v) &&
        !(bad = int_field(v, "n", 1, lim->k_max + 1, &l, e)))
        r->n = (int)l;
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "temperature")) && !cJSON_IsNull(v) &&
        !(bad = num_field(v, "temperature", 0, 2, &d, e)))
        r->temperature = d;
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "top_p")) && !cJSON_IsNull(v) &&
        !(bad = num_field(v, "top_p", 0, 1, &d, e)))
        r->top_p = d > 0 ? d : 1e-6;
    for (int m = 0; m < 2 && !bad; m++) {
        const char *name = m ? "max_completion_tokens" : "max_tokens";
        if ((v = cJSON_GetObjectItemCaseSensitive(o, name)) && !cJSON_IsNull(v) &&
            !(bad = int_field(v, name, 1, lim->max_tokens, &l, e)))
            r->max_tokens = (int)l;
    }
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "seed")) && !cJSON_IsNull(v) &&
        !(bad = int_field(v, "seed", 0, 9007199254740991L, &l, e)))
        r->has_seed = 1, r->seed = (uint64_t)l;
    if (!bad)
        bad = bool_field(cJSON_GetObjectItemCaseSensitive(o, "stream"), "stream", &r->stream, e);
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "stream_options")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v))
            bad = BAD("stream_options", "stream_options: an object is required");
        else
            bad = bool_field(cJSON_GetObjectItemCaseSensitive(v, "include_usage"),
                             "stream_options.include_usage", &r->include_usage, e);
    }
    if (!bad)
        bad = bool_field(cJSON_GetObjectItemCaseSensitive(o, "logprobs"), "logprobs", &r->logprobs,
                         e);
    if (!bad && (v = cJSON_GetObjectItemCaseSensitive(o, "top_logprobs")) && !cJSON_IsNull(v))
        bad = int_field(v, "top_logprobs", 0, 0, &l, e); /* alternatives are not kept: only 0 */
    if (!bad)
        bad = strings(cJSON_GetObjectItemCaseSensitive(o, "stop"), "stop", 4, &r->stop, &r->n_stop,
                      e);
    for (size_t i = 0; !bad && i < r->n_stop; i++) /* "" would stop every answer before it began */
        if (!r->stop[i][0])
            bad = BAD("stop", "stop[%zu]: an empty string stops nothing; leave it out", i);
    if (!bad && kind == SERVE_UNCERTAINTY) {
        v = cJSON_GetObjectItemCaseSensitive(o, "answers");
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 2)
            bad = BAD("answers", "answers: an array of at least 2 answers (strings) is required");
        else
            bad = strings(v, "answers", lim->max_answers, &r->answers, &r->n_answers, e);
        if (!bad && r->stream)
            bad = BAD("stream", "stream: /v1/uncertainty does not stream");
    }
    if (!bad && (r->body_messages = cJSON_PrintUnformatted(
                     cJSON_GetObjectItemCaseSensitive(o, "messages"))) == NULL)
        bad = oom(e);
    cJSON_Delete(o);
    if (bad)
        serve_request_free(r);
    return bad ? -1 : 0;
}
