/* header_timeout.c - cut connections whose request headers take too long (header_timeout.h). */
#define _GNU_SOURCE
#include "serve/header_timeout.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve/worker.h"

struct serve_hdr_conn {
    int fd;       /* our duplicate of the connection's socket */
    double since; /* when its clock started */
    int waiting;  /* 1 while the clock runs (headers expected) */
    int cut;
    struct serve_hdr_conn *prev, *next;
};

struct serve_hdr_watch {
    double timeout;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stop;
    struct serve_hdr_conn *head;
};

/* Every 100 ms: shut down the sockets whose clock passed the limit. */
static void *watch(void *arg) {
    struct serve_hdr_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        double now = serve_now();
        for (struct serve_hdr_conn *c = w->head; c; c = c->next)
            if (c->waiting && !c->cut && now - c->since > w->timeout) {
                shutdown(c->fd, SHUT_RDWR); /* the server's read ends: it closes the connection */
                c->cut = 1;
            }
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 100000000L;
        if (t.tv_nsec >= 1000000000L)
            t.tv_sec++, t.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&w->wake, &w->mu, &t);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int serve_hdr_watch_start(double timeout, struct serve_hdr_watch **out) {
    struct serve_hdr_watch *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->timeout = timeout;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, watch, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->wake);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void serve_hdr_watch_stop(struct serve_hdr_watch *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->head) {
        struct serve_hdr_conn *c = w->head;
        w->head = c->next;
        close(c->fd);
        free(c);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    free(w);
}

struct serve_hdr_conn *serve_hdr_watch_add(struct serve_hdr_watch *w, int fd) {
    struct serve_hdr_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if ((c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        free(c);
        return NULL;
    }
    c->since = serve_now();
    c->waiting = 1;
    pthread_mutex_lock(&w->mu);
    c->next = w->head;
    if (w->head)
        w->head->prev = c;
    w->head = c;
    pthread_mutex_unlock(&w->mu);
    return c;
}

void serve_hdr_watch_mark(struct serve_hdr_watch *w, struct serve_hdr_conn *c, int headers) {
    if (!c)
        return;
    pthread_mutex_lock(&w->mu);
    c->waiting = !headers;
    if (!headers)
        c->since = serve_now();
    pthread_mutex_unlock(&w->mu);
}

void serve_hdr_watch_remove(struct serve_hdr_watch *w, struct serve_hdr_conn *c) {
    if (!c)
        return;
    pthread_mutex_lock(&w->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&w->mu);
    close(c->fd);
    free(c);
}
