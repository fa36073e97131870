/* worker.c - one engine, one thread, a bounded FIFO of jobs (worker.h). */
#define _POSIX_C_SOURCE 200809L
#include "serve/worker.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/metrics.h"

struct serve_worker {
    struct umpire_engine *e;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct serve_job *head, *tail;
    int queued, max_queue, stop;
    int n_slots;
    struct serve_job **slot, **finished; /* the job decoding in each engine slot (or NULL); those a step ended */
    struct umpire_finished *ended;
};

double serve_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* After each decoding step: keep the answer's text for a streaming waiter; stop when asked. */
static int on_step(void *ud, const char *text, size_t len, int ended) {
    (void)ended;
    struct serve_job *j = ud;
    struct serve_worker *w = j->worker;
    pthread_mutex_lock(&w->mu);
    if (len != j->partial_len || !j->partial) {
        char *g = realloc(j->partial, len + 1);
        if (g) {
            memcpy(g, text, len);
            g[len] = '\0';
            j->partial = g;
            j->partial_len = len;
            pthread_cond_broadcast(&w->done);
        }
    }
    int stop = j->cancel;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

void serve_job_clear(struct serve_job *j) {
    free(j->partial);
    j->partial = NULL;
    j->partial_len = 0;
}

/* The job's answers are in (or it failed): the judging passes it asked for, its numbers;
 * called without the lock. */
static void finish_job(struct serve_worker *w, struct serve_job *j) {
    if (j->rc == 0 && (j->judge.p_true || j->judge.verbalised || j->judge.entailment))
        j->rc = umpire_engine_judge(w->e, &j->q, &j->judge, &j->item, j->err);
    j->seconds = serve_now() - j->t0;
    if (j->rc == 0) {
        uint64_t toks = j->item.greedy.n_tokens;
        for (size_t i = 0; i < j->item.k; i++)
            toks += j->item.samples[i].n_tokens;
        serve_metrics_tokens(toks, j->seconds);
    }
}

static struct serve_job *pop(struct serve_worker *w) {
    struct serve_job *j = w->head;
    if (!(w->head = j->next))
        w->tail = NULL;
    w->queued--;
    serve_metrics_queue(-1);
    return j;
}

/* Jobs that need the engine alone: teacher forcing, and answers with judging passes (they use
 * the whole KV). */
static int alone(const struct serve_job *j) {
    return j->kind != JOB_ASK || j->judge.p_true || j->judge.verbalised || j->judge.entailment;
}

/* The engine thread. Asked questions decode together (continuous batching): between two steps
 * the queue's first jobs join while slots and cells allow; a job that needs the engine alone
 * waits (and holds the queue behind it, first come first served) until the running ones end. */
static void *run(void *arg) {
    struct serve_worker *w = arg;
    int running = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !running && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        if (!w->head && !running)
            break;
        while (w->head && (!alone(w->head) || !running) && running < w->n_slots) {
            struct serve_job *j = pop(w);
            j->state = JOB_RUNNING;
            pthread_mutex_unlock(&w->mu);
            struct umpire_engine_stats before, after;
            umpire_engine_stats(w->e, &before);
            j->t0 = serve_now();
            int rc;
            if (alone(j)) {
                j->rc = j->kind == JOB_ASK
                            ? umpire_engine_ask_progress(w->e, &j->q, &j->sp, on_step, j, &j->item, j->err)
                            : umpire_engine_force_texts(w->e, &j->q, j->answers, j->n_answers, NULL, &j->item,
                                                        j->err);
                rc = -1;
            } else {
                rc = umpire_engine_begin(w->e, &j->q, &j->sp, on_step, j, &j->item, j->err);
            }
            umpire_engine_stats(w->e, &after);
            j->prompt_tokens = after.prompt_tokens - before.prompt_tokens;
            if (rc == UMPIRE_EBUSY && running) { /* no room next to the running ones: first in line again */
                pthread_mutex_lock(&w->mu);
                if (j->cancel) {
                    j->rc = UMPIRE_ECANCELED;
                    j->state = JOB_DONE;
                    pthread_cond_broadcast(&w->done);
                    continue;
                }
                j->state = JOB_QUEUED;
                j->next = w->head;
                w->head = j;
                if (!w->tail)
                    w->tail = j;
                w->queued++;
                serve_metrics_queue(1);
                break;
            }
            if (rc >= 0) {
                pthread_mutex_lock(&w->mu);
                w->slot[rc] = j;
                running++;
                continue;
            }
            if (!alone(j))
                j->rc = rc;
            finish_job(w, j);
            pthread_mutex_lock(&w->mu);
            j->state = JOB_DONE;
            pthread_cond_broadcast(&w->done);
        }
        if (!running)
            continue;
        pthread_mutex_unlock(&w->mu);
        int n = umpire_engine_step(w->e, w->ended, w->n_slots);
        for (int i = 0; i < n; i++) {
            struct serve_job *j = w->finished[i] = w->slot[w->ended[i].slot];
            w->slot[w->ended[i].slot] = NULL;
            if ((j->rc = w->ended[i].rc) != 0)
                memcpy(j->err, w->ended[i].err, sizeof j->err);
            finish_job(w, j);
        }
        pthread_mutex_lock(&w->mu);
        for (int i = 0; i < n; i++)
            w->finished[i]->state = JOB_DONE;
        running -= n;
        if (n)
            pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int serve_worker_start(struct umpire_engine *e, int n_slots, int max_queue, struct serve_worker **out) {
    struct serve_worker *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->e = e;
    w->max_queue = max_queue;
    w->n_slots = n_slots;
    w->slot = calloc((size_t)n_slots, sizeof *w->slot);
    w->finished = calloc((size_t)n_slots, sizeof *w->finished);
    w->ended = calloc((size_t)n_slots, sizeof *w->ended);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (!w->slot || !w->finished || !w->ended || pthread_create(&w->thread, NULL, run, w) != 0) {
        free(w->slot);
        free(w->finished);
        free(w->ended);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

int serve_worker_submit(struct serve_worker *w, struct serve_job *j) {
    pthread_mutex_lock(&w->mu);
    if (w->stop || w->queued >= w->max_queue) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    j->state = JOB_QUEUED;
    j->worker = w;
    j->next = NULL;
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    serve_metrics_queue(1);
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* Wait (mu held) until the job is done, something new is there (partial_len > seen; seen
 * SIZE_MAX: never), the deadline passes (1) or the client leaves (2); a job given up on is
 * withdrawn or stopped and waited for. Returns 0 (done or news), 1 or 2. */
static int wait_locked(struct serve_worker *w, struct serve_job *j, size_t seen, double deadline,
                       int (*gone)(void *), void *ud) {
    int why = 0;
    while (j->state != JOB_DONE && !(j->partial && j->partial_len > seen && seen != (size_t)-1)) {
        double now = serve_now();
        if (now >= deadline) {
            why = 1;
            break;
        }
        pthread_mutex_unlock(&w->mu);
        int left = gone && gone(ud);
        pthread_mutex_lock(&w->mu);
        if (left) {
            why = 2;
            break;
        }
        if (j->state == JOB_DONE)
            break;
        double until = now + 0.1 < deadline ? now + 0.1 : deadline;
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        double d = until - now;
        rt.tv_sec += (time_t)d;
        rt.tv_nsec += (long)((d - (double)(time_t)d) * 1e9);
        if (rt.tv_nsec >= 1000000000L)
            rt.tv_sec++, rt.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&w->done, &w->mu, &rt);
    }
    if (why && j->state == JOB_QUEUED) { /* withdraw it: the worker never sees it */
        struct serve_job **p = &w->head, *prev = NULL;
        while (*p != j)
            prev = *p, p = &(*p)->next;
        *p = j->next;
        if (w->tail == j)
            w->tail = prev;
        w->queued--;
        serve_metrics_queue(-1);
        j->state = JOB_DONE;
        j->rc = UMPIRE_ECANCELED;
    }
    if (why) {
        j->cancel =
            1; /* running: stopped at its next step; it reads the caller's query until then */
        while (j->state != JOB_DONE)
            pthread_cond_wait(&w->done, &w->mu);
    }
    return why;
}

int serve_worker_wait(struct serve_worker *w, struct serve_job *j, double deadline,
                      int (*gone)(void *), void *ud) {
    pthread_mutex_lock(&w->mu);
    int why = wait_locked(w, j, (size_t)-1, deadline, gone, ud);
    pthread_mutex_unlock(&w->mu);
    return why;
}

int serve_worker_next(struct serve_worker *w, struct serve_job *j, size_t seen, double deadline,
                      int (*gone)(void *), void *ud, char **text, size_t *len) {
    pthread_mutex_lock(&w->mu);
    int why = wait_locked(w, j, seen, deadline, gone, ud);
    int rc = why ? why + 1 : j->state == JOB_DONE ? 1 : 0;
    if (rc == 0) {
        *text = malloc(j->partial_len + 1);
        if (*text) {
            memcpy(*text, j->partial, j->partial_len + 1);
            *len = j->partial_len;
        } else
            rc = 1; /* out of memory: the rest comes with the end */
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int serve_worker_queued(struct serve_worker *w) {
    pthread_mutex_lock(&w->mu);
    int n = w->queued;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void serve_worker_stop(struct serve_worker *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    umpire_engine_close(w->e);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w->slot);
    free(w->finished);
    free(w->ended);
    free(w);
}
