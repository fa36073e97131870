/* pool.c - several endpoints as one: least-loaded choice, failover, health checks (pool.h). */
#define _GNU_SOURCE
#include "serve/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEALTH_MAX_BYTES (1u << 20)

static void *health_loop(void *arg) {
    struct serve_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n; i++) {
            if (!p->health_url[i])
                continue;
            unsigned char *data = NULL;
            size_t len = 0;
            char err[256];
            int timeout = p->health_ms < 2000 ? 2000 : p->health_ms;
            int ok = serve_fetch(p->health_url[i], HEALTH_MAX_BYTES, timeout, &data, &len, err, sizeof err) == 0;
            free(data);
            pthread_mutex_lock(&p->mu);
            p->up[i] = ok;
            pthread_mutex_unlock(&p->mu);
        }
        pthread_mutex_lock(&p->mu);
        if (p->stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)(p->health_ms % 1000) * 1000000L;
        until.tv_sec += p->health_ms / 1000 + ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int serve_pool_init(struct serve_pool *p, const char *const *bases, int n, const char *key_env, int timeout_ms,
                    int retries, int health_ms, char *err, size_t err_len) {
    memset(p, 0, sizeof *p);
    if (n < 1 || n > SERVE_POOL_MAX) {
        snprintf(err, err_len, "%d endpoints given; 1 to %d are allowed", n, SERVE_POOL_MAX);
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->health_ms = health_ms;
    for (int i = 0; i < n; i++) {
        if (serve_upstream_init(&p->m[i], bases[i], key_env, timeout_ms, retries, err, err_len) != 0) {
            serve_upstream_free(&p->m[i]);
            serve_pool_free(p);
            return -1;
        }
        p->n = i + 1;
        p->up[i] = 1;
        const char *tail = "/chat/completions", *u = p->m[i].url;
        size_t lu = strlen(u), lt = strlen(tail);
        if (lu > lt && !strcmp(u + lu - lt, tail) && asprintf(&p->health_url[i], "%.*s/models", (int)(lu - lt), u) < 0)
            p->health_url[i] = NULL;
    }
    if (n > 1 && health_ms > 0) {
        if (pthread_create(&p->thread, NULL, health_loop, p) != 0) {
            snprintf(err, err_len, "cannot start the health checks");
            serve_pool_free(p);
            return -1;
        }
        p->has_thread = 1;
    }
    return 0;
}

void serve_pool_free(struct serve_pool *p) {
    if (p->has_thread) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        p->has_thread = 0;
    }
    for (int i = 0; i < p->n; i++) {
        serve_upstream_free(&p->m[i]);
        free(p->health_url[i]);
        p->health_url[i] = NULL;
    }
    p->n = 0;
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
}

/* The member to call next among those not tried: up ones first, then the fewest in flight, then
 * in turn from the last one chosen. -1 when every member was tried. */
static int choose(struct serve_pool *p, const int *tried) {
    int best = -1;
    for (int j = 0; j < p->n; j++) {
        int i = (int)((p->turn + (unsigned)j) % (unsigned)p->n);
        if (tried[i])
            continue;
        if (best < 0 || (p->up[i] && !p->up[best]) ||
            (p->up[i] == p->up[best] && p->in_flight[i] < p->in_flight[best]))
            best = i;
    }
    return best;
}

int serve_pool_post(struct serve_pool *p, const char *body, char **out, long *status, char *err, size_t err_len) {
    int tried[SERVE_POOL_MAX] = {0};
    *out = NULL;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = choose(p, tried);
        if (i >= 0) {
            p->in_flight[i]++;
            p->turn = (unsigned)i + 1;
        }
        pthread_mutex_unlock(&p->mu);
        if (i < 0)
            return -1; /* err and status: the last member's */
        tried[i] = 1;
        int rc = serve_upstream_post(&p->m[i], body, out, status, err, err_len);
        pthread_mutex_lock(&p->mu);
        p->in_flight[i]--;
        p->up[i] = rc == 0;
        pthread_mutex_unlock(&p->mu);
        if (rc == 0)
            return 0;
    }
}

int serve_pool_up(struct serve_pool *p) {
    pthread_mutex_lock(&p->mu);
    int k = 0;
    for (int i = 0; i < p->n; i++)
        k += p->up[i];
    pthread_mutex_unlock(&p->mu);
    return k;
}
