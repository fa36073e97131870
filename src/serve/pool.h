/* pool.h - several OpenAI-compatible endpoints that serve the same model, as one (pool.c): the
 * black-box upstream (--upstream, repeatable) and the escalation target (--escalate-url,
 * repeatable). Each call goes to the least-loaded member that passed its last health check
 * (fewest calls in flight; ties in turn); a member whose call fails (after its own retries, or
 * with its circuit open) is marked down and the call goes to the next member, each at most once.
 * A background thread checks every member's health (GET .../models, the route every
 * OpenAI-compatible server has) every health_ms, so a dead member is skipped before a call
 * finds it dead and a revived one is used again. */
#ifndef UMPIRE_SERVE_POOL_H
#define UMPIRE_SERVE_POOL_H

#include <pthread.h>

#include "serve/upstream.h"

#define SERVE_POOL_MAX 8

struct serve_pool {
    struct serve_upstream m[SERVE_POOL_MAX];
    int n;
    /* private */
    char *health_url[SERVE_POOL_MAX]; /* NULL: the URL is not .../chat/completions, no checks */
    int in_flight[SERVE_POOL_MAX], up[SERVE_POOL_MAX];
    unsigned turn;
    int health_ms, stop, has_thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
};

/* n (1..SERVE_POOL_MAX) base URLs as serve_upstream_init takes them, one API key variable for
 * all. health_ms: the check period (0: no checks). Returns 0, or -1 with err. */
int serve_pool_init(struct serve_pool *p, const char *const *bases, int n, const char *key_env, int timeout_ms,
                    int retries, int health_ms, char *err, size_t err_len);
void serve_pool_free(struct serve_pool *p);

/* serve_upstream_post through the pool: 0 with the first member's answer that came; -1 with the
 * last member's error when every member failed. */
int serve_pool_post(struct serve_pool *p, const char *body, char **out, long *status, char *err, size_t err_len);

/* How many members passed their last check (or have not been found down). */
int serve_pool_up(struct serve_pool *p);

#endif
