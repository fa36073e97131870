/* server.c - the HTTP side of `umpire serve` (server.h): routes, limits, auth, the three
 * modes, responses in OpenAI's shapes, SSE streaming, drain on SIGTERM. */
#define _GNU_SOURCE
#include "serve/server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/scorer.h"
#include "core/utf8.h"
#include "io/item_json.h"
#include "io/output.h"
#include "serve/escalate.h"
#include "serve/header_timeout.h"
#include "serve/metrics.h"
#include "serve/pool.h"
#include "serve/upstream.h"
#include "serve/worker.h"

void serve_config_defaults(struct serve_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->model_name = "umpire";
    c->sample = umpire_sample_default_params();
    c->judge = umpire_judge_default_params();
    c->score = umpire_score_default_params();
    c->score.alpha = 1;
    c->lim = (struct serve_limits){.max_media_bytes = 8u << 20,
                                   .max_media = 8,
                                   .k_max = 16,
                                   .max_tokens = 256,
                                   .max_answers = 16};
    c->max_body = 12u << 20;
    c->max_connections = 64;
    c->max_queue = 16;
    c->parallel = 4;
    c->timeout = 300;
    c->idle_timeout = 15;
    c->body_timeout = 30;
    c->header_timeout = 10;
    c->drain_timeout = 60;
    c->upstream_timeout_ms = 60000;
    c->upstream_retries = 2;
    c->health_ms = 2000;
}

/* ---------------------------------------------------------------- the server's state */

static struct {
    struct serve_config *c;
    struct serve_worker *w;
    char **keys;
    size_t n_keys;
    char media_dir[4096];
    struct serve_pool up, esc; /* --upstream, --escalate-url: one or more endpoints each */
    int has_up, has_esc;
    struct serve_escalation_log log;
    int has_log;
    struct serve_hdr_watch *hw; /* --header-timeout */
    atomic_int draining;
    atomic_int drain_over; /* --drain-timeout passed: requests still waiting are answered 503 */
    atomic_ulong next_id;
    size_t n_est;
    const struct umpire_estimator *est;
} S;

/* Per request: the route, the body as it arrives, and (streaming) what is left to send. */
struct conn {
    enum serve_route route;
    double t0;
    char *body;
    size_t len, cap;
    int too_big, counted, responded;
    struct MHD_Connection *mc;
    /* a streamed chat completion */
    struct chat *chat;
    char *out;
    size_t out_len, out_pos;
    int phase;       /* 0: the role chunk next; 1: the answer as it grows; 2: the rest is in out */
    int incremental; /* the answer streams as it is decoded (else it comes whole at the end) */
    char *sent;      /* the answer's text sent so far (trimmed as the final answer is) */
    size_t sent_len, raw_seen;
    size_t *ends; /* with stop strings: the answer's lengths seen after decoding steps (each a
                     token's end: the engine cuts a stopped answer at one) */
    size_t n_ends;
};

/* ---------------------------------------------------------------- responses */

static enum MHD_Result send_text(struct conn *cs, int status, const char *ctype, const char *text,
                                 size_t len, const char *retry_after) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(cs->mc, (unsigned)status, r);
    MHD_destroy_response(r);
    if (!cs->responded) {
        cs->responded = 1;
        serve_metrics_request(cs->route, status, serve_now() - cs->t0);
    }
    return rc;
}

static cJSON *error_json(const struct serve_error *e) {
    cJSON *o = cJSON_CreateObject(), *in = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(in, "message", e->message);
    cJSON_AddStringToObject(in, "type", e->type);
    e->param[0] ? (void)cJSON_AddStringToObject(in, "param", e->param)
                : (void)cJSON_AddNullToObject(in, "param");
    e->code[0] ? (void)cJSON_AddStringToObject(in, "code", e->code)
               : (void)cJSON_AddNullToObject(in, "code");
    return o;
}

static enum MHD_Result send_json(struct conn *cs, int status, cJSON *o, const char *retry_after) {
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!t)
        return send_text(
            cs, 500, "application/json",
            "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
            "\"code\":null}}",
            93, NULL);
    enum MHD_Result rc = send_text(cs, status, "application/json", t, strlen(t), retry_after);
    free(t);
    return rc;
}

static enum MHD_Result send_error(struct conn *cs, const struct serve_error *e) {
    return send_json(cs, e->status, error_json(e),
                     e->status == 429 || e->status == 503 ? "1" : NULL);
}

static enum MHD_Result fail(struct conn *cs, int status, const char *type, const char *param,
                            const char *code, const char *fmt, ...) {
    struct serve_error e;
    char msg[sizeof e.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    serve_error_set(&e, status, type, param, code, "%s", msg);
    return send_error(cs, &e);
}

/* ---------------------------------------------------------------- auth */

static int load_keys(const char *path, char *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, UMPIRE_ERR_LEN, "%s: cannot open the keys file (%s)", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) != -1) {
        while (n && strchr(" \t\r\n", line[n - 1]))
            line[--n] = '\0';
        char *k = line + strspn(line, " \t");
        if (!*k || *k == '#')
            continue;
        char **g = realloc(S.keys, (S.n_keys + 1) * sizeof *g);
        if (!g || !(g[S.n_keys] = strdup(k))) {
            S.keys = g ? g : S.keys;
            break;
        }
        S.keys = g;
        S.n_keys++;
    }
    free(line);
    fclose(f);
    if (!S.n_keys) {
        snprintf(err, UMPIRE_ERR_LEN, "%s: no keys in it (one bearer token a line)", path);
        return -1;
    }
    return 0;
}

/* Compare without stopping at the first difference. */
static int same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned d = (unsigned)(la ^ lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)a[i] ^ (unsigned char)b[i < lb ? i : 0];
    return d == 0;
}

static int authorised(struct MHD_Connection *mc) {
    if (!S.n_keys)
        return 1;
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    int ok = 0;
    for (size_t i = 0; i < S.n_keys; i++)
        ok |= same_secret(h + 7, S.keys[i]);
    return ok;
}

/* ---------------------------------------------------------------- one chat completion */

struct chat {
    struct serve_request req;
    enum serve_kind kind;
    char **paths; /* the media as temporary files */
    const char **images, **audio;
    size_t n_images, n_audio;
    struct serve_job job;
    int submitted;
    char id[48];
    long created;
    /* black-box: the upstream's answers */
    char **answers;
    size_t n_answers;
    char *upstream_model;
};

static void chat_free(struct chat *ch) {
    if (!ch)
        return;
    for (size_t i = 0; ch->paths && i < ch->req.n_media; i++)
        if (ch->paths[i]) {
            unlink(ch->paths[i]);
            free(ch->paths[i]);
        }
    free(ch->paths);
    free(ch->images);
    free(ch->audio);
    for (size_t i = 0; i < ch->n_answers; i++)
        free(ch->answers[i]);
    free(ch->answers);
    free(ch->upstream_model);
    umpire_item_free(&ch->job.item);
    serve_job_clear(&ch->job);
    serve_request_free(&ch->req);
    free(ch);
}

/* Write the request's media to temporary files, in the engine's order. */
static int write_media(struct chat *ch, struct serve_error *e) {
    size_t n = ch->req.n_media;
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) { /* remote images (--allow-remote-media) */
        struct serve_media *m = &ch->req.media[i];
        char msg[UMPIRE_ERR_LEN];
        if (!m->url)
            continue;
        if (serve_fetch(m->url, S.c->lim.max_media_bytes, 10000, &m->data, &m->len, msg, sizeof msg))
            return serve_error_set(e, 400, "invalid_request_error", "messages", "media_fetch_failed",
                                   "%.200s: cannot fetch the image (%s)", m->url, msg);
        snprintf(m->ext, sizeof m->ext, "%s", serve_image_ext("", m->data, m->len));
    }
    ch->paths = calloc(n, sizeof *ch->paths);
    ch->images = calloc(n, sizeof *ch->images);
    ch->audio = calloc(n, sizeof *ch->audio);
    if (!ch->paths || !ch->images || !ch->audio)
        return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct serve_media *m = &ch->req.media[i];
        if (asprintf(&ch->paths[i], "%s/m-XXXXXX.%s", S.media_dir, m->ext) < 0) {
            ch->paths[i] = NULL;
            return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        }
        int fd = mkstemps(ch->paths[i], (int)strlen(m->ext) + 1);
        int ok = fd >= 0 && write(fd, m->data, m->len) == (ssize_t)m->len;
        if (fd >= 0)
            close(fd);
        if (!ok)
            return serve_error_set(e, 500, "server_error", NULL, NULL,
                                   "cannot write the media to %s (%s)", S.media_dir,
                                   strerror(errno));
        if (m->audio)
            ch->audio[ch->n_audio++] = ch->paths[i];
        else
            ch->images[ch->n_images++] = ch->paths[i];
    }
    return 0;
}

/* The OpenAI completion's message content of a choice, from an upstream reply. */
static const char *choice_text(const cJSON *choice) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(choice, "message"), "content");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* An upstream's reply (freed here) as JSON, its ill-formed UTF-8 bytes made U+FFFD: what we
 * relay (answers, model, an escalation's whole reply) stays well-formed. NULL when not JSON. */
static cJSON *parse_upstream(char *resp) {
    char *clean = resp ? umpire_utf8_repair(resp, strlen(resp), NULL) : NULL;
    free(resp);
    cJSON *o = clean ? cJSON_Parse(clean) : NULL;
    free(clean);
    return o;
}

/* POST request b (deleted here) to a pool and parse its reply: 0 with *o (NULL when it is not
 * JSON) and the HTTP *status; -1 with e set when every endpoint failed (code and "what: ..."). */
static int post_pool(struct serve_pool *pool, cJSON *b, const char *code, const char *what, cJSON **o, long *status,
                     struct serve_error *e) {
    char *body = cJSON_PrintUnformatted(b), *resp = NULL, msg[UMPIRE_ERR_LEN];
    cJSON_Delete(b);
    *status = 0;
    int rc = body ? serve_pool_post(pool, body, &resp, status, msg, sizeof msg) : -1;
    free(body);
    if (rc != 0 && !body)
        snprintf(msg, sizeof msg, "out of memory");
    if (rc != 0 && *status < 500)
        *status = 502;
    if (rc != 0)
        return serve_error_set(e, (int)*status, "upstream_error", NULL, code, "%s: %s", what, msg);
    *o = parse_upstream(resp);
    return 0;
}

/* Black-box: ask the upstream for k answers (n = k; more calls when it returns fewer). */
static int ask_upstream(struct chat *ch, int k, struct serve_error *e) {
    if (!(ch->answers = calloc((size_t)k, sizeof *ch->answers)))
        return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    for (int call = 0; (int)ch->n_answers < k && call < k; call++) {
        cJSON *b = cJSON_CreateObject();
        const char *model = S.c->upstream_model ? S.c->upstream_model : ch->req.model;
        if (model)
            cJSON_AddStringToObject(b, "model", model);
        cJSON_AddItemToObject(b, "messages", cJSON_Parse(ch->req.body_messages));
        cJSON_AddNumberToObject(b, "n", k - (int)ch->n_answers);
        cJSON_AddNumberToObject(b, "temperature", S.c->sample.temp);
        cJSON_AddNumberToObject(b, "max_tokens",
                                ch->req.max_tokens ? ch->req.max_tokens : S.c->sample.max_tokens);
        if (ch->req.has_seed)
            cJSON_AddNumberToObject(b, "seed", (double)(ch->req.seed + (uint64_t)call));
        cJSON *o = NULL;
        long status;
        if (post_pool(&S.up, b, "upstream_unavailable", "upstream", &o, &status, e))
            return -1;
        const cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
        if (status != 200 || !cJSON_IsArray(choices) || !choices->child) {
            cJSON_Delete(o);
            return serve_error_set(e, 502, "upstream_error", NULL, "bad_upstream_response",
                                   "upstream: HTTP %ld, not a chat completion with choices",
                                   status);
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
        if (!ch->upstream_model && cJSON_IsString(m))
            ch->upstream_model = strdup(m->valuestring);
        for (const cJSON *c = choices->child; c && (int)ch->n_answers < k; c = c->next) {
            const char *t = choice_text(c);
            if (t && !(ch->answers[ch->n_answers++] = strdup(t))) {
                cJSON_Delete(o);
                return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
            }
        }
        cJSON_Delete(o);
    }
    if ((int)ch->n_answers < 2)
        return serve_error_set(e, 502, "upstream_error", NULL, "bad_upstream_response",
                               "upstream: %zu answers with text, at least 2 needed to score",
                               ch->n_answers);
    return 0;
}

/* Parse, prepare and queue a chat completion (or an uncertainty request). Returns 0, or -1 with e.
 */
static int chat_start(struct conn *cs, enum serve_kind kind, struct serve_error *e) {
    struct chat *ch = calloc(1, sizeof *ch);
    if (!ch)
        return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    cs->chat = ch;
    ch->kind = kind;
    if (serve_request_parse(cs->body ? cs->body : "", cs->len, kind, &S.c->lim, &ch->req, e))
        return -1;
    if (serve_worker_queued(S.w) >= S.c->max_queue) /* before fetching media or calling upstream */
        return serve_error_set(
            e, 429, "rate_limit_error", NULL, "queue_full",
            "%d requests are already waiting for the model (--max-queue); retry later",
            S.c->max_queue);
    snprintf(ch->id, sizeof ch->id, "chatcmpl-umpire-%lx-%lu", (unsigned long)time(NULL),
             (unsigned long)atomic_fetch_add(&S.next_id, 1));
    ch->created = (long)time(NULL);
    if (write_media(ch, e))
        return -1;
    struct serve_request *r = &ch->req;
    struct serve_job *j = &ch->job;
    j->q = S.c->query;
    j->q.question = r->question;
    j->q.history = r->history;
    j->q.n_history = r->n_history;
    if (r->system)
        j->q.system = r->system;
    j->q.images = ch->images;
    j->q.n_images = ch->n_images;
    j->q.audio = ch->audio;
    j->q.n_audio = ch->n_audio;
    j->sp = S.c->sample;
    j->judge = S.c->judge;
    int k = r->k >= 0 ? r->k : S.c->sample.k;
    if (r->n > k + 1)
        k = r->n - 1;
    if (k > S.c->lim.k_max)
        return serve_error_set(e, 400, "invalid_request_error", "n", NULL,
                               "n: %d choices need k = %d samples, at most %d", r->n, r->n - 1,
                               S.c->lim.k_max);
    j->sp.k = k;
    if (r->has_seed)
        j->sp.seed = r->seed;
    if (r->max_tokens)
        j->sp.max_tokens = r->max_tokens;
    if (!isnan(r->temperature))
        j->sp.greedy_temp = (float)r->temperature;
    if (!isnan(r->top_p))
        j->sp.top_p = (float)r->top_p;
    if (r->n_stop) {
        j->sp.stop = (const char *const *)r->stop;
        j->sp.n_stop = r->n_stop;
    }
    if (kind == SERVE_UNCERTAINTY) {
        j->kind = JOB_FORCE;
        j->answers = (const char *const *)r->answers;
        j->n_answers = r->n_answers;
    } else if (S.has_up) {
        if (r->n_media)
            return serve_error_set(
                e, 400, "invalid_request_error", "messages", NULL,
                "messages: media are not forwarded to the upstream in black-box mode");
        if (k < 2)
            return serve_error_set(e, 400, "invalid_request_error", "k", NULL,
                                   "k: black-box scoring needs at least 2 upstream answers");
        if (ask_upstream(ch, k, e))
            return -1;
        j->kind = JOB_FORCE;
        j->answers = (const char *const *)ch->answers;
        j->n_answers = ch->n_answers;
    } else
        j->kind = JOB_ASK;
    if (atomic_load(&S.draining))
        return serve_error_set(e, 503, "server_error", NULL, "shutting_down",
                               "the server is shutting down");
    if (serve_worker_submit(S.w, j))
        return serve_error_set(
            e, 429, "rate_limit_error", NULL, "queue_full",
            "%d requests are already waiting for the model (--max-queue); retry later",
            S.c->max_queue);
    ch->submitted = 1;
    return 0;
}

/* The client closed its end (poll the socket; no data is read). */
static int client_gone(void *ud) {
    struct MHD_Connection *mc = ud;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Stop waiting for the engine: the client left, or the drain's time is over. */
static int gone_or_drained(void *ud) { return atomic_load(&S.drain_over) || client_gone(ud); }

static const char *finish_reason(enum umpire_finish f) {
    return f == UMPIRE_FINISH_LENGTH ? "length" : "stop";
}

/* A choice's logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": []}]}, without
 * the end-of-generation token. */
static cJSON *logprobs_json(const struct umpire_answer *a) {
    cJSON *o = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(o, "content");
    size_t n = a->n_tokens;
    if (n && a->finish == UMPIRE_FINISH_EOS)
        n--;
    const double *lp = a->raw_logprobs ? a->raw_logprobs : a->logprobs;
    for (size_t i = 0; a->tokens && i < n; i++) {
        char piece[256];
        int len = umpire_engine_token_piece(S.c->engine, a->tokens[i], piece, sizeof piece - 1);
        if (len < 0)
            len = 0;
        piece[len] = '\0';
        cJSON *t = cJSON_CreateObject(), *bytes = cJSON_CreateArray();
        char *clean = umpire_utf8_repair(piece, (size_t)len, NULL);
        cJSON_AddStringToObject(t, "token", clean ? clean : "");
        free(clean);
        cJSON_AddItemToObject(t, "logprob", umpire_json_number(lp ? lp[i] : NAN));
        for (int b = 0; b < len; b++)
            cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)piece[b]));
        cJSON_AddItemToObject(t, "bytes", bytes);
        cJSON_AddArrayToObject(t, "top_logprobs");
        cJSON_AddItemToArray(content, t);
    }
    return o;
}

/* The scores, p_error and verdict of a finished job. */
struct verdict {
    double *scores;
    double p_error, s_cal;
    const char *verdict; /* NULL without a calibration */
};

static int judge(struct chat *ch, struct verdict *v, struct serve_error *e) {
    char err[UMPIRE_ERR_LEN];
    v->p_error = v->s_cal = NAN;
    v->verdict = NULL;
    if (!(v->scores = calloc(S.n_est, sizeof *v->scores)))
        return serve_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    if (umpire_score_item_all(&ch->job.item, &S.c->score, S.c->score.alpha, NULL, v->scores, err) !=
        0)
        return serve_error_set(e, 500, "server_error", NULL, NULL, "scoring: %s", err);
    const struct umpire_calibration *cal = S.c->cal;
    if (cal) {
        v->s_cal = v->scores[umpire_estimator_index(cal->estimator)];
        v->p_error = umpire_calibration_apply(cal, v->s_cal);
        if (!isnan(cal->threshold)) {
            v->verdict = isfinite(v->s_cal) && v->s_cal <= cal->threshold ? "answer" : "escalate";
            serve_metrics_verdict(!strcmp(v->verdict, "answer") ? VERDICT_ANSWER
                                                                : VERDICT_ESCALATE);
        }
    }
    return 0;
}

static cJSON *uncertainty_json(const struct chat *ch, const struct verdict *v) {
    cJSON *u = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(u, "scores");
    for (size_t i = 0; i < S.n_est; i++)
        cJSON_AddItemToObject(s, S.est[i].name, umpire_json_number(v->scores[i]));
    if (S.c->cal) {
        cJSON_AddStringToObject(u, "estimator", S.c->cal->estimator);
        cJSON_AddItemToObject(u, "p_error", umpire_json_number(v->p_error));
        v->verdict ? (void)cJSON_AddStringToObject(u, "verdict", v->verdict)
                   : (void)cJSON_AddNullToObject(u, "verdict");
        cJSON_AddItemToObject(u, "threshold", umpire_json_number(S.c->cal->threshold));
    } else {
        cJSON_AddNullToObject(u, "p_error");
        cJSON_AddNullToObject(u, "verdict");
    }
    cJSON_AddItemToObject(u, "alpha", umpire_json_number(S.c->score.alpha));
    cJSON_AddNumberToObject(u, "k", (double)ch->job.item.k);
    cJSON_AddStringToObject(u, "probs", umpire_probs_name(ch->job.item.probs));
    return u;
}

/* Escalation: re-ask escalate_url (its choices replace ours) or append to the log. Returns the
 * escalated completion (or NULL when the log took it), or -1 with e. */
static int escalate(struct chat *ch, cJSON *u, cJSON **replacement, struct serve_error *e) {
    *replacement = NULL;
    if (S.has_esc) {
        cJSON *b = cJSON_CreateObject();
        const char *model = S.c->escalate_model ? S.c->escalate_model : ch->req.model;
        if (model)
            cJSON_AddStringToObject(b, "model", model);
        cJSON_AddItemToObject(b, "messages", cJSON_Parse(ch->req.body_messages));
        cJSON_AddNumberToObject(b, "n", ch->req.n);
        if (ch->req.max_tokens)
            cJSON_AddNumberToObject(b, "max_tokens", ch->req.max_tokens);
        if (!isnan(ch->req.temperature))
            cJSON_AddNumberToObject(b, "temperature", ch->req.temperature);
        if (ch->req.has_seed)
            cJSON_AddNumberToObject(b, "seed", (double)ch->req.seed);
        cJSON *o = NULL;
        long status;
        if (post_pool(&S.esc, b, "escalation_failed", "escalation", &o, &status, e))
            return -1;
        if (status != 200 || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "choices"))) {
            cJSON_Delete(o);
            return serve_error_set(e, 502, "upstream_error", NULL, "escalation_failed",
                                   "escalation: HTTP %ld, not a chat completion", status);
        }
        serve_metrics_escalation(0);
        cJSON_AddStringToObject(u, "escalated", "url");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
        cJSON_AddStringToObject(u, "escalated_model", cJSON_IsString(m) ? m->valuestring : "");
        *replacement = o;
        return 0;
    }
    if (S.has_log) {
        cJSON *l = cJSON_CreateObject();
        char when[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        cJSON_AddStringToObject(l, "id", ch->id);
        cJSON_AddStringToObject(l, "time", when);
        cJSON_AddStringToObject(l, "model", S.c->model_name);
        cJSON_AddItemToObject(l, "messages", cJSON_Parse(ch->req.body_messages));
        cJSON_AddNumberToObject(l, "media", (double)ch->req.n_media);
        const struct umpire_item *it = &ch->job.item;
        const char *answer = ch->n_answers     ? ch->answers[0]
                             : it->greedy.text ? it->greedy.text
                                               : "";
        cJSON_AddStringToObject(l, "answer", answer);
        cJSON_AddItemToObject(l, "uncertainty", cJSON_Duplicate(u, 1));
        char *line = cJSON_PrintUnformatted(l), msg[UMPIRE_ERR_LEN];
        cJSON_Delete(l);
        int rc = line ? serve_escalation_append(&S.log, line, msg, sizeof msg) : -1;
        free(line);
        if (rc != 0)
            return serve_error_set(e, 500, "server_error", NULL, "escalation_log",
                                   "escalation log: %s", line ? msg : "out of memory");
        serve_metrics_escalation(1);
        cJSON_AddStringToObject(u, "escalated", "queue");
    }
    return 0;
}

/* The completion object of a finished job (choices, usage, uncertainty), or NULL with e. */
static cJSON *chat_result(struct chat *ch, int wait_rc, struct serve_error *e) {
    struct serve_job *j = &ch->job;
    if (wait_rc == 1) {
        serve_error_set(e, 504, "server_error", NULL, "timeout",
                        "no answer within %g s (--timeout)", S.c->timeout);
        return NULL;
    }
    if (wait_rc == 2 && atomic_load(&S.drain_over)) {
        serve_error_set(e, 503, "server_error", NULL, "shutting_down",
                        "the server is shutting down: not answered within --drain-timeout %g s",
                        S.c->drain_timeout);
        return NULL;
    }
    if (wait_rc == 2) {
        serve_error_set(e, 499, "server_error", NULL, "client_closed",
                        "the client closed the connection");
        return NULL;
    }
    if (j->rc != 0) {
        int user = j->rc == UMPIRE_EINVAL;
        serve_error_set(e, user ? 400 : 500, user ? "invalid_request_error" : "server_error", NULL,
                        NULL, "%s", j->err);
        return NULL;
    }
    struct verdict v;
    if (judge(ch, &v, e)) {
        free(v.scores);
        return NULL;
    }
    const struct umpire_item *it = &j->item;
    cJSON *u = uncertainty_json(ch, &v), *replacement = NULL;
    if (v.verdict && !strcmp(v.verdict, "escalate") && ch->kind == SERVE_CHAT &&
        escalate(ch, u, &replacement, e)) {
        free(v.scores);
        cJSON_Delete(u);
        return NULL;
    }
    free(v.scores);
    if (ch->kind == SERVE_UNCERTAINTY) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "uncertainty");
        cJSON_AddStringToObject(o, "model", S.c->model_name);
        cJSON_AddItemToObject(o, "uncertainty", u);
        return o;
    }
    cJSON *o = replacement ? replacement : cJSON_CreateObject();
    if (!replacement) {
        cJSON_AddStringToObject(o, "id", ch->id);
        cJSON_AddStringToObject(o, "object", "chat.completion");
        cJSON_AddNumberToObject(o, "created", (double)ch->created);
        cJSON_AddStringToObject(o, "model",
                                ch->upstream_model ? ch->upstream_model : S.c->model_name);
        cJSON *choices = cJSON_AddArrayToObject(o, "choices");
        size_t completion = 0;
        for (int i = 0; i < ch->req.n; i++) {
            /* choice 0: the answer (the low-temperature one, or the upstream's first); then samples
             */
            const struct umpire_answer *a = ch->n_answers ? &it->samples[i]
                                            : i == 0      ? &it->greedy
                                                          : &it->samples[i - 1];
            if (ch->n_answers && (size_t)i >= it->k)
                break;
            cJSON *c = cJSON_CreateObject(), *m = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "index", i);
            cJSON_AddStringToObject(m, "role", "assistant");
            cJSON_AddStringToObject(m, "content",
                                    ch->n_answers ? ch->answers[i]
                                    : a->text     ? a->text
                                                  : "");
            cJSON_AddNullToObject(m, "refusal");
            cJSON_AddItemToObject(c, "message", m);
            cJSON_AddItemToObject(c, "logprobs",
                                  ch->req.logprobs ? logprobs_json(a) : cJSON_CreateNull());
            cJSON_AddStringToObject(c, "finish_reason",
                                    ch->n_answers ? "stop" : finish_reason(a->finish));
            cJSON_AddItemToArray(choices, c);
            completion += a->n_tokens;
        }
        cJSON *us = cJSON_AddObjectToObject(o, "usage");
        /* completion: the returned choices' tokens (end-of-generation included) */
        cJSON_AddNumberToObject(us, "prompt_tokens", (double)j->prompt_tokens);
        cJSON_AddNumberToObject(us, "completion_tokens", (double)completion);
        cJSON_AddNumberToObject(us, "total_tokens", (double)(j->prompt_tokens + completion));
    }
    /* ours, not the escalation's own (an umpire upstream has one): one key, read by streams too */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "uncertainty");
    cJSON_AddItemToObject(o, "uncertainty", u);
    return o;
}

/* ---------------------------------------------------------------- streaming (SSE) */

static void out_add(struct conn *cs, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *g = realloc(cs->out, cs->out_len + (size_t)n + 1);
    if (g) {
        memcpy(g + cs->out_len, s, (size_t)n + 1);
        cs->out = g;
        cs->out_len += (size_t)n;
    }
    free(s);
}

static void out_json(struct conn *cs, cJSON *o) {
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (t)
        out_add(cs, "data: %s\n\n", t);
    free(t);
}

static cJSON *chunk(const struct chat *ch, const char *model) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ch->id);
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddNumberToObject(o, "created", (double)ch->created);
    cJSON_AddStringToObject(o, "model", model);
    return o;
}

/* The chunks after the role: the answer (a chunk per token piece, in order), then a chunk with
 * finish_reason and the uncertainty, usage when asked for, and [DONE]. */
static void stream_rest(struct conn *cs, int wait_rc) {
    struct chat *ch = cs->chat;
    struct serve_error e;
    cJSON *res = chat_result(ch, wait_rc, &e);
    if (!res) {
        out_json(cs, error_json(&e));
        out_add(cs, "data: [DONE]\n\n");
        return;
    }
    const char *model = S.c->model_name;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(res, "model");
    if (cJSON_IsString(m))
        model = m->valuestring;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(res, "choices");
    int idx = 0;
    for (const cJSON *c = choices ? choices->child : NULL; c; c = c->next, idx++) {
        const char *text = choice_text(c);
        if (idx == 0 && text && cs->sent_len && !strncmp(text, cs->sent, cs->sent_len))
            text += cs->sent_len; /* the part streamed already */
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
        /* the text in pieces of up to 16 bytes, cut at UTF-8 character starts */
        for (size_t at = 0, n = text ? strlen(text) : 0; at < n;) {
            size_t len = n - at < 16 ? n - at : 16;
            while (at + len < n && ((unsigned char)text[at + len] & 0xc0) == 0x80)
                len++;
            char *piece = strndup(text + at, len);
            cJSON *o = chunk(ch, model), *cs_ = cJSON_AddArrayToObject(o, "choices"),
                  *cc = cJSON_CreateObject();
            cJSON_AddNumberToObject(cc, "index", idx);
            cJSON *d = cJSON_AddObjectToObject(cc, "delta");
            cJSON_AddStringToObject(d, "content", piece ? piece : "");
            cJSON_AddNullToObject(cc, "logprobs");
            cJSON_AddNullToObject(cc, "finish_reason");
            cJSON_AddItemToArray(cs_, cc);
            out_json(cs, o);
            free(piece);
            at += len;
        }
        cJSON *o = chunk(ch, model), *cs_ = cJSON_AddArrayToObject(o, "choices"),
              *cc = cJSON_CreateObject();
        cJSON_AddNumberToObject(cc, "index", idx);
        cJSON_AddObjectToObject(cc, "delta");
        cJSON *lp = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "logprobs"), 1);
        cJSON_AddItemToObject(cc, "logprobs", lp ? lp : cJSON_CreateNull());
        cJSON_AddStringToObject(cc, "finish_reason", cJSON_IsString(fr) ? fr->valuestring : "stop");
        cJSON_AddItemToArray(cs_, cc);
        if (!c->next) /* the last chunk of the answer carries the uncertainty */
            cJSON_AddItemToObject(
                o, "uncertainty",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(res, "uncertainty"), 1));
        out_json(cs, o);
    }
    if (ch->req.include_usage) {
        cJSON *o = chunk(ch, model);
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(res, "usage"), 1));
        out_json(cs, o);
    }
    cJSON_Delete(res);
    out_add(cs, "data: [DONE]\n\n");
}

/* A content chunk of choice idx. */
static void out_delta(struct conn *cs, int idx, const char *text, size_t len) {
    char *piece = strndup(text, len);
    cJSON *o = chunk(cs->chat, S.c->model_name), *a = cJSON_AddArrayToObject(o, "choices"),
          *cc = cJSON_CreateObject();
    cJSON_AddNumberToObject(cc, "index", idx);
    cJSON *d = cJSON_AddObjectToObject(cc, "delta");
    cJSON_AddStringToObject(d, "content", piece ? piece : "");
    cJSON_AddNullToObject(cc, "logprobs");
    cJSON_AddNullToObject(cc, "finish_reason");
    cJSON_AddItemToArray(a, cc);
    out_json(cs, o);
    free(piece);
}

/* Where a stop string may begin in raw[0..len): the first position whose rest is a stop string's
 * beginning, or holds one whole; len when none. Never moves back as the text grows. */
static size_t stop_start(const char *raw, size_t len, char *const *stop, size_t n_stop) {
    size_t at = len;
    for (size_t i = 0; i < n_stop; i++) {
        size_t ls = strlen(stop[i]);
        const char *hit = strstr(raw, stop[i]);
        if (hit && (size_t)(hit - raw) < at)
            at = (size_t)(hit - raw);
        for (size_t p = len > ls ? len - ls + 1 : 0; p < at; p++)
            if (!memcmp(raw + p, stop[i], len - p)) {
                at = p;
                break;
            }
    }
    return at;
}

/* With stop strings, how much of the raw text is final: the engine ends a stopped answer with
 * the tokens wholly before the stop string, so the text may be sent up to the end of the last
 * token that ends at or before where a stop string may begin (the lengths seen after each step
 * are token ends; one missed only makes this more careful). */
static size_t stop_safe(struct conn *cs, const char *raw, size_t len) {
    const struct serve_request *r = &cs->chat->req;
    size_t *g = realloc(cs->ends, (cs->n_ends + 1) * sizeof *g);
    if (!g)
        return cs->n_ends ? cs->ends[0] : 0;
    cs->ends = g;
    g[cs->n_ends++] = len;
    size_t s = stop_start(raw, len, r->stop, r->n_stop), safe = 0;
    for (size_t i = 0; i < cs->n_ends && g[i] <= s; i++)
        safe = g[i];
    return safe;
}

/* The answer's raw text so far -> what of it can be sent now: trimmed as the final answer will
 * be (no leading or trailing white space yet), whole UTF-8 characters only, and nothing that a
 * stop string may still cut off. */
static void stream_grow(struct conn *cs, const char *raw, size_t len) {
    if (cs->chat->req.n_stop)
        len = stop_safe(cs, raw, len);
    size_t a = strspn(raw, " \t\r\n"), b = len;
    if (a > len)
        a = len;
    while (b > a && strchr(" \t\r\n", raw[b - 1]))
        b--;
    size_t lead = b; /* cut a character that is not complete yet */
    while (lead > a && ((unsigned char)raw[lead - 1] & 0xc0) == 0x80 && b - lead < 3)
        lead--;
    if (lead > a && (unsigned char)raw[lead - 1] >= 0xc0) {
        unsigned char c = (unsigned char)raw[lead - 1];
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (b - (lead - 1) < need)
            b = lead - 1;
    }
    if (b <= a)
        return;
    /* ill-formed bytes become U+FFFD, as in the final answer (umpire_clean_text): what is sent
     * stays a prefix of it, and the stream stays well-formed UTF-8 */
    char *clean = umpire_utf8_repair(raw + a, b - a, NULL);
    size_t cl = clean ? strlen(clean) : 0;
    if (!clean || cl <= cs->sent_len || strncmp(clean, cs->sent ? cs->sent : "", cs->sent_len)) {
        free(clean);
        return;
    }
    size_t n = cl - cs->sent_len;
    char *g = realloc(cs->sent, cl + 1);
    if (!g) {
        free(clean);
        return;
    }
    memcpy(g + cs->sent_len, clean + cs->sent_len, n);
    out_delta(cs, 0, clean + cs->sent_len, n);
    cs->sent = g;
    cs->sent_len += n;
    g[cs->sent_len] = '\0';
    free(clean);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    struct conn *cs = cls;
    struct chat *ch = cs->chat;
    if (cs->phase == 0) { /* the role chunk at once: the client sees the stream start */
        cJSON *o = chunk(ch, S.c->model_name), *a = cJSON_AddArrayToObject(o, "choices"),
              *cc = cJSON_CreateObject();
        cJSON_AddNumberToObject(cc, "index", 0);
        cJSON *d = cJSON_AddObjectToObject(cc, "delta");
        cJSON_AddStringToObject(d, "role", "assistant");
        cJSON_AddStringToObject(d, "content", "");
        cJSON_AddNullToObject(cc, "finish_reason");
        cJSON_AddItemToArray(a, cc);
        out_json(cs, o);
        cs->phase = 1;
    }
    double deadline = cs->t0 + S.c->timeout;
    while (cs->phase == 1 && cs->out_pos == cs->out_len) {
        int rc;
        if (cs->incremental) {
            char *text = NULL;
            size_t len = 0;
            rc = serve_worker_next(S.w, &ch->job, cs->raw_seen, deadline, gone_or_drained, cs->mc,
                                   &text, &len);
            if (rc == 0) {
                cs->raw_seen = len;
                stream_grow(cs, text, len);
                free(text);
                continue;
            }
            rc = rc == 1 ? 0 : rc - 1;
        } else
            rc = serve_worker_wait(S.w, &ch->job, deadline, gone_or_drained, cs->mc);
        ch->submitted = 0;
        if (rc == 2 && !atomic_load(&S.drain_over))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        stream_rest(cs, rc);
        cs->phase = 2;
    }
    if (cs->out_pos == cs->out_len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = cs->out_len - cs->out_pos < max ? cs->out_len - cs->out_pos : max;
    memcpy(buf, cs->out + cs->out_pos, n);
    cs->out_pos += n;
    return (ssize_t)n;
}

/* ---------------------------------------------------------------- routes */

static enum MHD_Result chat_route(struct conn *cs, enum serve_kind kind) {
    struct serve_error e;
    if (chat_start(cs, kind, &e))
        return send_error(cs, &e);
    struct chat *ch = cs->chat;
    if (ch->req.stream) {
        /* the answer as it is decoded (with stop strings, all but what one may still cut off),
         * unless it may still change: an escalation can replace it, black-box answers come whole */
        cs->incremental = ch->job.kind == JOB_ASK && !S.has_esc;
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, cs, NULL);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        enum MHD_Result rc = MHD_queue_response(cs->mc, 200, r);
        MHD_destroy_response(r);
        return rc;
    }
    int rc = serve_worker_wait(S.w, &ch->job, serve_now() + S.c->timeout, gone_or_drained, cs->mc);
    ch->submitted = 0;
    cJSON *o = chat_result(ch, rc, &e);
    return o ? send_json(cs, 200, o, NULL) : send_error(cs, &e);
}

static enum MHD_Result get_route(struct conn *cs, const char *url) {
    if (cs->route == ROUTE_HEALTH) {
        int d = atomic_load(&S.draining);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", d ? "draining" : "ok");
        cJSON_AddNumberToObject(o, "queue", serve_worker_queued(S.w));
        return send_json(cs, d ? 503 : 200, o, NULL);
    }
    if (cs->route == ROUTE_METRICS) {
        char *t = serve_metrics_text();
        if (!t)
            return fail(cs, 500, "server_error", NULL, NULL, "out of memory");
        enum MHD_Result rc = send_text(cs, 200, "text/plain; version=0.0.4", t, strlen(t), NULL);
        free(t);
        return rc;
    }
    (void)url;
    cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data"),
          *m = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON_AddStringToObject(m, "id", S.c->model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "umpire");
    cJSON_AddItemToArray(data, m);
    return send_json(cs, 200, o, NULL);
}

static enum serve_route route_of(const char *url) {
    return !strcmp(url, "/v1/chat/completions") ? ROUTE_CHAT
           : !strcmp(url, "/v1/uncertainty")    ? ROUTE_UNCERTAINTY
           : !strcmp(url, "/v1/models")         ? ROUTE_MODELS
           : !strcmp(url, "/health")            ? ROUTE_HEALTH
           : !strcmp(url, "/metrics")           ? ROUTE_METRICS
                                                : ROUTE_OTHER;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *mc, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls) {
    (void)cls;
    (void)version;
    struct conn *cs = *con_cls;
    if (!cs) { /* the head: everything that can be refused before the body */
        const union MHD_ConnectionInfo *sc =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        serve_hdr_watch_mark(S.hw, sc ? sc->socket_context : NULL, 1); /* the headers are in */
        if (!(cs = calloc(1, sizeof *cs)))
            return MHD_NO;
        *con_cls = cs;
        cs->mc = mc;
        cs->t0 = serve_now();
        cs->route = route_of(url);
        serve_metrics_inflight(1);
        cs->counted = 1;
        int post = !strcmp(method, "POST"), get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
        int wants_post = cs->route == ROUTE_CHAT || cs->route == ROUTE_UNCERTAINTY;
        if (cs->route == ROUTE_OTHER)
            return fail(cs, 404, "invalid_request_error", NULL, "not_found",
                        "%s %.200s: no such route", method, url);
        if (wants_post ? !post : !get)
            return fail(cs, 405, "invalid_request_error", NULL, "method_not_allowed",
                        "%s %s: use %s", method, url, wants_post ? "POST" : "GET");
        if (cs->route != ROUTE_HEALTH && !authorised(mc))
            return fail(cs, 401, "invalid_request_error", NULL, "invalid_api_key",
                        "a valid API key is required (Authorization: Bearer KEY)");
        if (wants_post) {
            const char *ct = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
            if (!ct || strncasecmp(ct, "application/json", 16) ||
                (ct[16] && ct[16] != ';' && ct[16] != ' '))
                return fail(cs, 415, "invalid_request_error", NULL, "unsupported_media_type",
                            "Content-Type: application/json is required, got %.80s",
                            ct ? ct : "none");
            const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > S.c->max_body)
                return fail(cs, 413, "invalid_request_error", NULL, "body_too_large",
                            "the request body is %s bytes, at most %zu (--max-body)", cl,
                            S.c->max_body);
        }
        return MHD_YES;
    }
    if (cs->responded || cs->chat)
        return MHD_YES; /* answered already */
    if (*upload_size) {
        /* libmicrohttpd takes no response while a body is arriving: a body too large is read
         * and dropped, and answered 413 when it ends (closed at once beyond twice the limit);
         * one that takes longer than --body-timeout is closed */
        if (serve_now() - cs->t0 > S.c->body_timeout)
            return MHD_NO;
        if (cs->too_big || cs->len + *upload_size > S.c->max_body) {
            cs->too_big = 1;
            cs->len += *upload_size;
            *upload_size = 0;
            return cs->len > 2 * S.c->max_body ? MHD_NO : MHD_YES;
        }
        if (cs->len + *upload_size + 1 > cs->cap) {
            size_t cap = (cs->len + *upload_size + 1) * 2;
            if (cap > S.c->max_body + 1)
                cap = S.c->max_body + 1;
            char *g = realloc(cs->body, cap);
            if (!g)
                return MHD_NO;
            cs->body = g;
            cs->cap = cap;
        }
        memcpy(cs->body + cs->len, upload, *upload_size);
        cs->len += *upload_size;
        cs->body[cs->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    if (cs->too_big)
        return fail(cs, 413, "invalid_request_error", NULL, "body_too_large",
                    "the request body is more than %zu bytes (--max-body)", S.c->max_body);
    if (cs->route == ROUTE_CHAT || cs->route == ROUTE_UNCERTAINTY)
        return chat_route(cs, cs->route == ROUTE_CHAT ? SERVE_CHAT : SERVE_UNCERTAINTY);
    return get_route(cs, url);
}

/* A connection opens (its header clock starts) or closes. */
static void notify_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        serve_hdr_watch_remove(S.hw, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = ci ? serve_hdr_watch_add(S.hw, ci->connect_fd) : NULL;
}

static void completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                      enum MHD_RequestTerminationCode why) {
    (void)cls;
    const union MHD_ConnectionInfo *sc =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    serve_hdr_watch_mark(S.hw, sc ? sc->socket_context : NULL, 0); /* the next request's headers */
    struct conn *cs = *con_cls;
    if (!cs)
        return;
    if (cs->chat && cs->chat->submitted) /* a stream whose client left before it was waited for */
        serve_worker_wait(S.w, &cs->chat->job, 0, NULL, NULL);
    if (cs->chat && cs->chat->req.stream && !cs->responded) {
        cs->responded = 1;
        serve_metrics_request(cs->route, why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499,
                              serve_now() - cs->t0);
    }
    if (cs->counted)
        serve_metrics_inflight(-1);
    chat_free(cs->chat);
    free(cs->body);
    free(cs->out);
    free(cs->sent);
    free(cs->ends);
    free(cs);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    (void)fmt;
    (void)ap; /* libmicrohttpd's own messages (a client that closed early, ...): not shown */
}

/* ---------------------------------------------------------------- start, run, drain */

int serve_run(struct serve_config *c, char *err) {
    memset(&S, 0, sizeof S);
    S.c = c;
    S.est = umpire_estimators(&S.n_est);
    serve_metrics_init();
    int rc = -1;
    struct MHD_Daemon *d = NULL;
    /* signals: every thread blocks them, the main thread waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR");
    snprintf(S.media_dir, sizeof S.media_dir, "%s/umpire-serve-XXXXXX",
             tmp && *tmp && strlen(tmp) < 4000 ? tmp : "/tmp");
    if (!mkdtemp(S.media_dir)) {
        snprintf(err, UMPIRE_ERR_LEN, "%.200s: cannot create the media folder (%s)", S.media_dir,
                 strerror(errno));
        S.media_dir[0] = '\0';
        goto out;
    }
    if (c->keys_file && load_keys(c->keys_file, err))
        goto out;
    if (c->upstream) {
        if (serve_pool_init(&S.up, c->upstream_urls, c->n_upstream, c->upstream_key_env, c->upstream_timeout_ms,
                            c->upstream_retries, c->health_ms, err, UMPIRE_ERR_LEN))
            goto out;
        S.has_up = 1;
    }
    if (c->escalate_url) {
        if (serve_pool_init(&S.esc, c->escalate_urls, c->n_escalate, c->escalate_key_env, c->upstream_timeout_ms,
                            c->upstream_retries, c->health_ms, err, UMPIRE_ERR_LEN))
            goto out;
        S.has_esc = 1;
    }
    if (c->escalate_log) {
        if (serve_escalation_open(&S.log, c->escalate_log, err, UMPIRE_ERR_LEN))
            goto out;
        S.has_log = 1;
    }
    if (serve_hdr_watch_start(c->header_timeout, &S.hw)) {
        snprintf(err, UMPIRE_ERR_LEN, "cannot start the header timeout's thread");
        goto out;
    }
    if (serve_worker_start(c->engine, c->parallel, c->max_queue, &S.w)) {
        snprintf(err, UMPIRE_ERR_LEN, "cannot start the engine's thread");
        goto out;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->host, &addr.sin_addr) != 1) {
        snprintf(err, UMPIRE_ERR_LEN, "--host %s: not an IPv4 address", c->host);
        goto out;
    }
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_ITC | MHD_USE_ERROR_LOG,
                         (uint16_t)c->port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)c->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)c->idle_timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 << 10),
                         MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL, MHD_OPTION_END);
    if (!d) {
        snprintf(err, UMPIRE_ERR_LEN, "cannot listen on %s:%d (%s)", c->host, c->port,
                 errno ? strerror(errno) : "libmicrohttpd failed to start");
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = di ? di->port : c->port;
    fprintf(stderr,
            "umpire serve: %s on http://%s:%d/v1 (%s mode%s%s; k = %d; queue %d; Ctrl-C or SIGTERM "
            "to stop)\n",
            c->model_name, c->host, port, S.has_up ? "black-box" : "local",
            c->cal ? ", calibrated" : "",
            S.has_esc   ? ", escalating to a URL"
            : S.has_log ? ", escalating to a queue"
                        : "",
            c->sample.k, c->max_queue);
    if (c->port_file) { /* through the safe writer: a reader polling it never sees half of it */
        struct umpire_output pf;
        char perr[UMPIRE_ERR_LEN];
        snprintf(perr, sizeof perr, "%s: write failed", c->port_file);
        int prc = umpire_output_open(&pf, c->port_file, perr);
        if (prc == UMPIRE_OK)
            prc = umpire_output_close(&pf, fprintf(pf.f, "%d\n", port) < 0 ? UMPIRE_EIO : UMPIRE_OK, perr);
        if (prc != UMPIRE_OK)
            fprintf(stderr, "umpire serve: --port-file: %s\n", perr);
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    /* drain: no new connections, no new requests; those in flight finish */
    atomic_store(&S.draining, 1);
    fprintf(stderr, "umpire serve: %s: draining %d request(s) in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", serve_metrics_inflight_now());
    /* the listening socket: closed to new connections now (refused, not left waiting in the
     * backlog until the drain ends); its descriptor is closed after MHD_stop_daemon */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        shutdown(ls, SHUT_RDWR);
    double until = serve_now() + c->drain_timeout;
    while (serve_metrics_inflight_now() > 0 && serve_now() < until) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (serve_metrics_inflight_now() > 0) {
        /* those waiting for the engine (queued, or decoding: stopped at the next step) are
         * answered 503 shutting_down, not dropped; a few seconds for that, then the rest close */
        fprintf(stderr,
                "umpire serve: %d request(s) still in flight after %g s: answering them 503\n",
                serve_metrics_inflight_now(), c->drain_timeout);
        atomic_store(&S.drain_over, 1);
        until = serve_now() + 5;
        while (serve_metrics_inflight_now() > 0 && serve_now() < until) {
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
    }
    MHD_stop_daemon(d);
    d = NULL;
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    fprintf(stderr, "umpire serve: stopped\n");
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    serve_hdr_watch_stop(S.hw); /* after the daemon: every connection closed */
    if (S.w)
        serve_worker_stop(S.w); /* closes the engine */
    else
        umpire_engine_close(c->engine);
    c->engine = NULL;
    if (S.has_up)
        serve_pool_free(&S.up);
    if (S.has_esc)
        serve_pool_free(&S.esc);
    if (S.has_log)
        serve_escalation_close(&S.log);
    for (size_t i = 0; i < S.n_keys; i++)
        free(S.keys[i]);
    free(S.keys);
    if (S.media_dir[0])
        rmdir(S.media_dir);
    return rc;
}
