/* upstream.h - calls to another OpenAI-compatible endpoint over libcurl: the black-box model
 * (--upstream) and the larger model escalations go to (--escalate-url). Each call has a time
 * limit; a failed attempt (transport error, 429, 5xx) is retried with exponential backoff
 * (100 ms, 200 ms, ... with jitter); and a circuit breaker stops calling an endpoint that
 * keeps failing: after `breaker_failures` failed calls in a row it fails fast for
 * `breaker_seconds`, then lets one call through to probe it (closed again when that succeeds). */
#ifndef UMPIRE_SERVE_UPSTREAM_H
#define UMPIRE_SERVE_UPSTREAM_H

#include <pthread.h>
#include <stddef.h>

struct serve_upstream {
    char *url;      /* the chat-completions URL */
    char *auth;     /* "Authorization: Bearer KEY", or NULL */
    int timeout_ms; /* per attempt */
    int retries;    /* attempts after the first */
    int breaker_failures;
    double breaker_seconds;
    /* private */
    pthread_mutex_t mu;
    int failures;      /* failed calls in a row */
    double open_until; /* serve_now() until which calls fail fast */
    int probing;
};

/* base: "http://HOST:PORT/v1" (/chat/completions is appended) or the full chat-completions URL;
 * key_env: the name of an environment variable holding the API key, or NULL. Returns 0, or -1
 * with err (the variable named but not set). */
int serve_upstream_init(struct serve_upstream *u, const char *base, const char *key_env,
                        int timeout_ms, int retries, char *err, size_t err_len);
void serve_upstream_free(struct serve_upstream *u);

/* POST a JSON body. Returns 0 with the response body (*out, NUL-terminated, free() it) and its
 * HTTP status in *status (any 2xx/4xx that is not retried); -1 with err when every attempt
 * failed or the breaker is open (*status: 503 then, 502 otherwise, 504 for a time-out). */
int serve_upstream_post(struct serve_upstream *u, const char *body, char **out, long *status,
                        char *err, size_t err_len);

/* GET an http(s) URL (a remote image; redirects followed within http and https, at most 3):
 * 0 with *data and *len (free() it), or -1 with err (transport error, a status other than 200,
 * more than max bytes, nothing). */
int serve_fetch(const char *url, size_t max, int timeout_ms, unsigned char **data, size_t *len, char *err,
                size_t err_len);

#endif
