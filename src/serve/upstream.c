/* upstream.c - OpenAI-compatible calls with time limits, retries and a circuit breaker
 * (upstream.h). */
#define _POSIX_C_SOURCE 200809L
#include "serve/upstream.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct sink {
    char *s;
    size_t len, max;
    int over;
};

static size_t collect(char *p, size_t size, size_t nmemb, void *ud) {
    struct sink *k = ud;
    size_t n = size * nmemb;
    if (k->len + n > (k->max ? k->max : MAX_RESPONSE)) {
        k->over = 1;
        return 0;
    }
    char *g = realloc(k->s, k->len + n + 1);
    if (!g)
        return 0;
    memcpy(g + k->len, p, n);
    k->len += n;
    g[k->len] = '\0';
    k->s = g;
    return n;
}

/* One attempt: 0 with a status, or a curl error code. */
static CURLcode attempt(struct serve_upstream *u, const char *body, struct sink *k, long *status) {
    CURL *c = curl_easy_init();
    if (!c)
        return CURLE_OUT_OF_MEMORY;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (u->auth)
        h = curl_slist_append(h, u->auth);
    curl_easy_setopt(c, CURLOPT_URL, u->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)u->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(u->timeout_ms < 5000 ? u->timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
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
    unsigned seed = (unsigned)(now * 1e6);
    for (int i = 0; i <= u->retries && !ok; i++) {
        if (i) { /* backoff: 100 ms * 2^(i-1), with up to 50 % jitter */
            double d = 0.1 * (double)(1 << (i - 1)) *
                       (1.0 + 0.5 * (double)(rand_r(&seed) % 1000) / 1000.0);
            struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
            nanosleep(&ts, NULL);
        }
        struct sink k = {0};
        long st = 0;
        CURLcode rc = attempt(u, body, &k, &st);
        if (rc != CURLE_OK) {
            *status = rc == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
            snprintf(err, err_len, "%s: %s", u->url,
                     k.over ? "response too large" : curl_easy_strerror(rc));
            free(k.s);
            continue;
        }
        *status = st;
        if (st == 429 || st >= 500) {
            snprintf(err, err_len, "%s: HTTP %ld", u->url, st);
            free(k.s);
            continue;
        }
        *out = k.s ? k.s : strdup("");
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
    *data = NULL;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    struct sink k = {.max = max};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status != 200 || !k.len) {
        if (k.over)
            snprintf(err, err_len, "more than %zu bytes", max);
        else if (rc != CURLE_OK)
            snprintf(err, err_len, "%s", curl_easy_strerror(rc));
        else
            snprintf(err, err_len, status != 200 ? "HTTP %ld" : "empty", status);
        free(k.s);
        return -1;
    }
    *data = (unsigned char *)k.s;
    *len = k.len;
    return 0;
}
