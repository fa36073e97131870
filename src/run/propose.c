/* propose.c - the prompt optimiser's proposers (optimise.h): where new candidate prompts come
 * from. PT.py asks gpt-3.5-turbo for m sentences "similar to" each kept prompt, separated by
 * '<sx>', and cleans each part; here the same request goes to any OpenAI-compatible endpoint
 * (net/http.c), to a local GGUF model, or is answered from a file (offline, deterministic). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "core/status.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/path.h"
#include "net/http.h"
#include "run/optimise.h"

#define SYSTEM_PROMPT "You are a helpful assistant."

void umpire_proposer_free(struct umpire_proposer *p) {
    if (p->free)
        p->free(p->ctx);
    free(p->name);
    memset(p, 0, sizeof *p);
}

char *umpire_proposer_prompt(const char *prompt, size_t m) {
    static const char fmt[] =
        "Given sentence: \"%s\", please generate %zu sentences similar to the given sentence, "
        "separate each sentence with '<sx>', be careful not to output anything except for "
        "the sentence.";
    size_t n = sizeof fmt + strlen(prompt) + 24;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, prompt, m);
    return s;
}

static void free_strings(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int push(char ***v, size_t *n, const char *s, size_t len) {
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return UMPIRE_ENOMEM;
    *v = nv;
    if (!(nv[*n] = malloc(len + 1)))
        return UMPIRE_ENOMEM;
    memcpy(nv[*n], s, len);
    nv[(*n)++][len] = '\0';
    return UMPIRE_OK;
}

/* One part as PT.py cleans it: re.sub(r'^\d+\.\s*', '', part.strip().rstrip('.').strip('"')). */
static int clean_part(const char *s, size_t len, char ***out, size_t *n) {
    static const char ws[] = " \t\n\r\v\f";
    while (len && strchr(ws, *s))
        s++, len--;
    while (len && strchr(ws, s[len - 1]))
        len--;
    while (len && s[len - 1] == '.')
        len--;
    while (len && *s == '"')
        s++, len--;
    while (len && s[len - 1] == '"')
        len--;
    size_t d = 0;
    while (d < len && isdigit((unsigned char)s[d]))
        d++;
    if (d > 0 && d < len && s[d] == '.') {
        d++;
        while (d < len && strchr(ws, s[d]))
            d++;
        s += d;
        len -= d;
    }
    return push(out, n, s, len);
}

int umpire_paraphrases_parse(const char *reply, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    for (const char *at = reply;;) {
        const char *sep = strstr(at, "<sx>");
        size_t len = sep ? (size_t)(sep - at) : strlen(at);
        if (clean_part(at, len, out, n) != UMPIRE_OK) {
            free_strings(*out, *n);
            *out = NULL;
            *n = 0;
            return UMPIRE_ENOMEM;
        }
        if (!sep)
            return UMPIRE_OK;
        at = sep + 4;
    }
}

/* ---------------------------------------------------------------- a file of candidates */

struct cand_entry {
    char *prompt;
    char **paraphrases;
    size_t n, line;
    int from_reply; /* a reply: every part is taken, as PT.py takes them */
};
struct cand_file {
    const char *path;
    struct cand_entry *e;
    size_t n;
};

static void cand_free(void *ctx) {
    struct cand_file *c = ctx;
    for (size_t i = 0; c && i < c->n; i++) {
        free(c->e[i].prompt);
        free_strings(c->e[i].paraphrases, c->e[i].n);
    }
    if (c)
        free(c->e);
    free(c);
}

static int cand_string(const cJSON *v, const char *path, size_t line, const char *field,
                       char *err) {
    size_t bad;
    if (!cJSON_IsString(v))
        return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: %s: %s", path, line, field,
                           v ? "not a string" : "missing");
    if (!umpire_utf8_valid(v->valuestring, &bad))
        return umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: %s: ill-formed UTF-8 at byte %zu", path,
                           line, field, bad);
    return UMPIRE_OK;
}

struct cand_walk {
    struct cand_file *c;
    char *err;
};

static int cand_walk_line(const cJSON *v, size_t line, void *ctx) {
    struct cand_walk *w = ctx;
    struct cand_file *c = w->c;
    const char *path = c->path;
    if (!cJSON_IsObject(v))
        return umpire_fail(w->err, UMPIRE_EINVAL,
                           "%s:%zu: not a JSON object ({\"prompt\": ..., \"paraphrases\": [...]})",
                           path, line);
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(v, "prompt");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(v, "paraphrases");
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(v, "reply");
    int rc = cand_string(prompt, path, line, "prompt", w->err);
    if (rc != UMPIRE_OK)
        return rc;
    if (!prompt->valuestring[0])
        return umpire_fail(w->err, UMPIRE_EINVAL, "%s:%zu: prompt: empty", path, line);
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].prompt, prompt->valuestring))
            return umpire_fail(w->err, UMPIRE_EINVAL,
                               "%s:%zu: prompt: \"%s\" is listed on line %zu already", path, line,
                               prompt->valuestring, c->e[i].line);
    if (!list == !reply)
        return umpire_fail(w->err, UMPIRE_EINVAL, "%s:%zu: %s", path, line,
                           list ? "both paraphrases and reply: give one of them"
                                : "paraphrases: missing (or a proposer's \"reply\")");
    struct cand_entry e = {.line = line, .from_reply = reply != NULL};
    if (reply) {
        if ((rc = cand_string(reply, path, line, "reply", w->err)) != UMPIRE_OK)
            return rc;
        if (umpire_paraphrases_parse(reply->valuestring, &e.paraphrases, &e.n) != UMPIRE_OK)
            return umpire_fail(w->err, UMPIRE_ENOMEM, "out of memory");
    } else {
        if (!cJSON_IsArray(list))
            return umpire_fail(w->err, UMPIRE_EINVAL,
                               "%s:%zu: paraphrases: not an array of strings", path, line);
        size_t i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, list) {
            char field[48];
            snprintf(field, sizeof field, "paraphrases[%zu]", i++);
            if ((rc = cand_string(x, path, line, field, w->err)) == UMPIRE_OK && !x->valuestring[0])
                rc = umpire_fail(w->err, UMPIRE_EINVAL, "%s:%zu: %s: empty", path, line, field);
            if (rc == UMPIRE_OK &&
                push(&e.paraphrases, &e.n, x->valuestring, strlen(x->valuestring)) != UMPIRE_OK)
                rc = umpire_fail(w->err, UMPIRE_ENOMEM, "out of memory");
            if (rc != UMPIRE_OK) {
                free_strings(e.paraphrases, e.n);
                return rc;
            }
        }
    }
    struct cand_entry *ne = realloc(c->e, (c->n + 1) * sizeof *ne);
    if (!ne || !(e.prompt = strdup(prompt->valuestring))) {
        if (ne)
            c->e = ne;
        free_strings(e.paraphrases, e.n);
        return umpire_fail(w->err, UMPIRE_ENOMEM, "out of memory");
    }
    c->e = ne;
    c->e[c->n++] = e;
    return 0;
}

static int cand_propose(void *ctx, const char *prompt, size_t m, size_t round, char ***out,
                        size_t *n, char *err) {
    (void)round;
    struct cand_file *c = ctx;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].prompt, prompt))
            continue;
        size_t take = c->e[i].from_reply || c->e[i].n < m ? c->e[i].n : m;
        for (size_t j = 0; j < take; j++)
            if (push(out, n, c->e[i].paraphrases[j], strlen(c->e[i].paraphrases[j])) != UMPIRE_OK) {
                free_strings(*out, *n);
                *out = NULL;
                *n = 0;
                return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            }
    }
    return UMPIRE_OK;
}

int umpire_proposer_candidates(const char *path, struct umpire_proposer *out, char *err) {
    memset(out, 0, sizeof *out);
    int rc = umpire_regular_file(path, "candidates", err);
    if (rc != UMPIRE_OK)
        return rc;
    struct cand_file *c = calloc(1, sizeof *c);
    if (!c)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    c->path = path;
    struct cand_walk w = {.c = c, .err = err};
    size_t lines = 0;
    rc = umpire_jsonl_each(path, cand_walk_line, &w, &lines, err);
    if (rc == UMPIRE_OK && lines == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: no candidates (one JSON object a line: {\"prompt\": ..., "
                         "\"paraphrases\": [...]})",
                         path);
    size_t nlen = strlen(path) + 16;
    if (rc == UMPIRE_OK && !(out->name = malloc(nlen)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc != UMPIRE_OK) {
        cand_free(c);
        free(out->name);
        out->name = NULL;
        return rc;
    }
    snprintf(out->name, nlen, "candidates %s", path);
    out->propose = cand_propose;
    out->free = cand_free;
    out->ctx = c;
    return UMPIRE_OK;
}

/* ---------------------------------------------------------------- an OpenAI-compatible endpoint */

struct url_proposer {
    struct umpire_url_proposer_params p;
    char *endpoint, *headers;
};

static void url_free(void *ctx) {
    struct url_proposer *u = ctx;
    if (!u)
        return;
    free(u->endpoint);
    free(u->headers);
    free(u);
}

/* The reply's choices[0].message.content, or an error saying what the reply lacks. */
static int reply_content(const struct umpire_http_response *r, const char *url, char **content,
                         char *err) {
    int rc = UMPIRE_OK;
    char where[64];
    snprintf(where, sizeof where, "%s reply", url);
    cJSON *v =
        memchr(r->body, '\0', r->len) ? NULL : umpire_json_parse(r->body, r->len, url, 0, err, &rc);
    if (!v && rc == UMPIRE_OK)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: the reply holds a 0 byte: not JSON", url);
    if (!v) {
        char inner[UMPIRE_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", err);
        return umpire_fail(err, UMPIRE_EINVAL, "malformed reply: %s", inner);
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(v, "choices");
    const cJSON *first = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    const cJSON *msg = first ? cJSON_GetObjectItemCaseSensitive(first, "message") : NULL;
    const cJSON *text = msg ? cJSON_GetObjectItemCaseSensitive(msg, "content") : NULL;
    size_t bad;
    if (!cJSON_IsString(text))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: malformed reply: %s", url,
                         !cJSON_IsObject(v)        ? "not a JSON object"
                         : !cJSON_IsArray(choices) ? "no \"choices\" array"
                         : !first                  ? "\"choices\" is empty"
                         : !cJSON_IsObject(msg)    ? "choices[0].message: missing"
                                                   : "choices[0].message.content: not a string");
    else if (!umpire_utf8_valid(text->valuestring, &bad))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: malformed reply: choices[0].message.content: ill-formed UTF-8 at "
                         "byte %zu",
                         url, bad);
    else if (!(*content = strdup(text->valuestring)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    cJSON_Delete(v);
    return rc;
}

static int url_propose(void *ctx, const char *prompt, size_t m, size_t round, char ***out,
                       size_t *n, char *err) {
    (void)round;
    struct url_proposer *u = ctx;
    *out = NULL;
    *n = 0;
    char *ask = umpire_proposer_prompt(prompt, m), *body = NULL;
    cJSON *req = cJSON_CreateObject(), *msgs = req ? cJSON_AddArrayToObject(req, "messages") : NULL;
    cJSON *sys = cJSON_CreateObject(), *user = cJSON_CreateObject();
    if (req && msgs && sys && user && ask) {
        cJSON_AddStringToObject(req, "model", u->p.model);
        cJSON_AddStringToObject(sys, "role", "system");
        cJSON_AddStringToObject(sys, "content", SYSTEM_PROMPT);
        cJSON_AddStringToObject(user, "role", "user");
        cJSON_AddStringToObject(user, "content", ask);
        cJSON_AddItemToArray(msgs, sys);
        cJSON_AddItemToArray(msgs, user);
        sys = user = NULL;
        cJSON_AddNumberToObject(req, "temperature", 0.7);
        cJSON_AddNumberToObject(req, "top_p", 0.95);
        cJSON_AddNumberToObject(req, "max_tokens", 1000);
        body = cJSON_PrintUnformatted(req);
    }
    cJSON_Delete(req);
    cJSON_Delete(sys);
    cJSON_Delete(user);
    free(ask);
    if (!body)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc = UMPIRE_OK;
    char *content = NULL;
    for (int attempt = 0; attempt <= u->p.retries; attempt++) {
        if (attempt) {
            struct timespec second = {1, 0};
            nanosleep(&second, NULL);
        }
        struct umpire_http_response r;
        rc = umpire_http_post(u->endpoint, u->headers, "application/json", body, strlen(body),
                              u->p.timeout_ms, u->p.max_bytes, &r, err);
        if (rc == UMPIRE_ENOMEM)
            break;
        if (rc != UMPIRE_OK)
            continue; /* transport: try again */
        if (r.status != 200) {
            char snippet[96];
            size_t k = 0;
            for (size_t i = 0; i < r.len && k + 1 < sizeof snippet; i++)
                snippet[k++] = isprint((unsigned char)r.body[i]) ? r.body[i] : ' ';
            snippet[k] = '\0';
            rc = umpire_fail(err, UMPIRE_EIO, "%s: HTTP %d (%s)", u->endpoint, r.status, snippet);
            int again = r.status == 429 || r.status >= 500;
            umpire_http_response_free(&r);
            if (again)
                continue;
            break;
        }
        rc = reply_content(&r, u->endpoint, &content, err);
        umpire_http_response_free(&r);
        break; /* a malformed reply is not retried: it would be malformed again */
    }
    free(body);
    if (rc == UMPIRE_OK) {
        if (umpire_paraphrases_parse(content, out, n) != UMPIRE_OK)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    free(content);
    return rc;
}

int umpire_proposer_url(const struct umpire_url_proposer_params *p, struct umpire_proposer *out,
                        char *err) {
    memset(out, 0, sizeof *out);
    struct umpire_url parsed;
    int rc = umpire_url_parse(p->url, &parsed, err);
    if (rc != UMPIRE_OK)
        return rc;
    if (!p->model || !p->model[0] || p->timeout_ms <= 0 || p->retries < 0 || p->max_bytes == 0)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "the proposer needs a model name, a timeout > 0, retries >= 0");
    if (p->api_key && strpbrk(p->api_key, "\r\n"))
        return umpire_fail(err, UMPIRE_EINVAL, "the API key holds a line break");
    struct url_proposer *u = calloc(1, sizeof *u);
    if (!u)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    u->p = *p;
    /* the endpoint: given whole, or its base (".../v1", or the server's root) */
    size_t len = strlen(p->url);
    const char *suffix = "";
    if (len >= 17 && !strcmp(p->url + len - 17, "/chat/completions"))
        suffix = "";
    else if (len >= 3 && !strcmp(p->url + len - 3, "/v1"))
        suffix = "/chat/completions";
    else if (len >= 4 && !strcmp(p->url + len - 4, "/v1/"))
        suffix = "chat/completions";
    else
        suffix = p->url[len - 1] == '/' ? "v1/chat/completions" : "/v1/chat/completions";
    size_t elen = len + strlen(suffix) + 1, hlen = (p->api_key ? strlen(p->api_key) : 0) + 32;
    u->endpoint = malloc(elen);
    u->headers = malloc(hlen);
    out->name = malloc(elen + strlen(p->model) + 16);
    if (!u->endpoint || !u->headers || !out->name) {
        url_free(u);
        free(out->name);
        out->name = NULL;
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    snprintf(u->endpoint, elen, "%s%s", p->url, suffix);
    if (p->api_key && p->api_key[0])
        snprintf(u->headers, hlen, "Authorization: Bearer %s\r\n", p->api_key);
    else
        u->headers[0] = '\0';
    snprintf(out->name, elen + strlen(p->model) + 16, "url %s %s", u->endpoint, p->model);
    out->propose = url_propose;
    out->free = url_free;
    out->ctx = u;
    return UMPIRE_OK;
}

/* ---------------------------------------------------------------- a local GGUF model */

struct engine_proposer {
    struct umpire_engine *e;
    uint64_t seed;
    int max_tokens;
};

static int engine_propose(void *ctx, const char *prompt, size_t m, size_t round, char ***out,
                          size_t *n, char *err) {
    struct engine_proposer *g = ctx;
    *out = NULL;
    *n = 0;
    char *ask = umpire_proposer_prompt(prompt, m);
    if (!ask)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    /* the seed: FNV-1a over (seed, round, prompt), so that a resumed run asks as the first did */
    uint64_t words[2] = {g->seed, (uint64_t)round};
    uint64_t h = umpire_fnv1a_str(umpire_fnv1a_bytes(UMPIRE_FNV1A_INIT, words, sizeof words), prompt);
    struct umpire_query q = {.question = ask, .system = SYSTEM_PROMPT, .instruction = ""};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 1;
    sp.with_greedy = 0;
    sp.temp = 0.7f;
    sp.top_p = 0.95f;
    sp.seed = h;
    sp.max_tokens = g->max_tokens;
    struct umpire_item it;
    int rc = umpire_engine_ask(g->e, &q, &sp, &it, err);
    free(ask);
    if (rc != UMPIRE_OK)
        return rc;
    if (umpire_paraphrases_parse(it.samples[0].text ? it.samples[0].text : "", out, n) != UMPIRE_OK)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    umpire_item_free(&it);
    return rc;
}

int umpire_proposer_engine(struct umpire_engine *e, const char *model_path, uint64_t seed,
                           int max_tokens, struct umpire_proposer *out, char *err) {
    memset(out, 0, sizeof *out);
    struct engine_proposer *g = calloc(1, sizeof *g);
    size_t len = strlen(model_path) + 64;
    out->name = malloc(len);
    if (!g || !out->name) {
        free(g);
        free(out->name);
        out->name = NULL;
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    *g = (struct engine_proposer){.e = e, .seed = seed, .max_tokens = max_tokens};
    snprintf(out->name, len, "model %s seed %llu max-tokens %d", model_path,
             (unsigned long long)seed, max_tokens);
    out->propose = engine_propose;
    out->free = free;
    out->ctx = g;
    return UMPIRE_OK;
}
