/* upstream.c - OpenAI-compatible calls with time limits, retries and a circuit breaker
 * (upstream.h). */
#define _GNU_SOURCE
#include "serve/upstream.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http.h"
#include "umpire.h"
#include "serve/metrics.h"
#include "serve/worker.h"

#define MAX_RESPONSE (16u << 20)

int serve_upstream_init(struct serve_upstream *u, const char *base, const char *key_env,
                        int timeout_ms, int retries, char *err, size_t err_len) {
    memset(u, 0, sizeof *u);
    pthread_mutex_init(&u->mu, NULL);
    u->timeout_ms = timeout_ms;
    u->retries = retries;
    u->breaker_failures = 5;
    u->breaker_seconds = 10;
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    const char *tail = "/chat/completions";
    int full = n >= strlen(tail) && !strncmp(base + n - strlen(tail), tail, strlen(tail));
    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
        snprintf(err, err_len, "%s: not an http:// or https:// URL", base);
        return -1;
    }
    if (!(u->url = malloc(n + strlen(tail) + 1)))
        goto oom;
    snprintf(u->url, n + strlen(tail) + 1, "%.*s%s", (int)n, base, full ? "" : tail);
    if (key_env) {
        const char *key = getenv(key_env);
        if (!key || !*key) {
            snprintf(err, err_len, "the environment variable %s (the API key) is not set", key_env);
            return -1;
        }
        size_t m = strlen(key) + 32;
        if (!(u->auth = malloc(m)))
            goto oom;
        snprintf(u->auth, m, "Authorization: Bearer %s", key);
    }
    return 0;
oom:
    snprintf(err, err_len, "out of memory");
    return -1;
}

void serve_upstream_free(struct serve_upstream *u) {
    free(u->url);
    free(u->auth);
    u->url = u->auth = NULL;
    pthread_mutex_destroy(&u->mu);
}

/* One attempt: 0 with a status and body, or -1 (transport error: *status 504 for the time
 * limit, else 502). */
static int attempt(struct serve_upstream *u, const char *body, struct umpire_http_response *r, long *status,
                   char *err) {
    char *headers = NULL;
    if (u->auth && asprintf(&headers, "%s\r\n", u->auth) < 0)
        headers = NULL;
    int rc = umpire_web_post(u->url, headers, "application/json", body, strlen(body), u->timeout_ms,
                             MAX_RESPONSE, r, err);
    free(headers);
    if (rc != UMPIRE_OK) {
        *status = r->timed_out ? 504 : 502;
        return -1;
    }
    *status = r->status;
    return 0;
}

int serve_upstream_post(struct serve_upstream *u, const char *body, char **out, long *status,
                        char *err, size_t err_len) {
    *out = NULL;
    pthread_mutex_lock(&u->mu);
    double now = serve_now();
    int fast_fail = u->failures >= u->breaker_failures && (now < u->open_until || u->probing);
    if (!fast_fail && u->failures >= u->breaker_failures)
        u->probing = 1; /* half open: this call probes */
    pthread_mutex_unlock(&u->mu);
    if (fast_fail) {
        *status = 503;
        snprintf(err, err_len,
                 "%s: circuit open after %d failed calls in a row; retrying after %.0f s", u->url,
                 u->breaker_failures, u->breaker_seconds);
        return -1;
    }
    int ok = 0;
    unsigned seed = (unsigned)(uint64_t)(now * 1e6); /* (via 64 bits: a double beyond UINT_MAX is UB) */
    for (int i = 0; i <= u->retries && !ok; i++) {
        if (i) { /* backoff: 100 ms * 2^(i-1), with up to 50 % jitter */
            double d = 0.1 * (double)(1 << (i - 1)) *
                       (1.0 + 0.5 * (double)(rand_r(&seed) % 1000) / 1000.0);
            struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
            nanosleep(&ts, NULL);
        }
        struct umpire_http_response r;
        char msg[UMPIRE_ERR_LEN];
        long st = 0;
        if (attempt(u, body, &r, &st, msg) != 0) {
            *status = st;
            snprintf(err, err_len, "%s", msg);
            continue;
        }
        *status = st;
        if (st == 429 || st >= 500) {
            snprintf(err, err_len, "%s: HTTP %ld", u->url, st);
            umpire_http_response_free(&r);
            continue;
        }
        *out = r.body; /* handed over */
        ok = 1;
    }
    pthread_mutex_lock(&u->mu);
    u->probing = 0;
    if (ok)
        u->failures = 0;
    else if (++u->failures >= u->breaker_failures)
        u->open_until = serve_now() + u->breaker_seconds;
    pthread_mutex_unlock(&u->mu);
    serve_metrics_upstream(ok);
    if (!ok && *status < 500)
        *status = 502;
    return ok ? 0 : -1;
}

int serve_fetch(const char *url, size_t max, int timeout_ms, unsigned char **data, size_t *len, char *err,
                size_t err_len) {
    struct umpire_http_response r;
    char msg[UMPIRE_ERR_LEN];
    *data = NULL;
    if (umpire_web_get(url, timeout_ms, max, &r, msg) != UMPIRE_OK) {
        snprintf(err, err_len, "%s", msg);
        return -1;
    }
    if (r.status != 200 || !r.len) {
        snprintf(err, err_len, r.status != 200 ? "HTTP %d" : "empty", r.status);
        umpire_http_response_free(&r);
        return -1;
    }
    *data = (unsigned char *)r.body;
    *len = r.len;
    return 0;
}
