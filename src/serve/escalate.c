/* escalate.c - the escalation queue: an fsync'ed append-only JSONL file (escalate.h). */
#define _POSIX_C_SOURCE 200809L
#include "serve/escalate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int serve_escalation_open(struct serve_escalation_log *l, const char *path, char *err,
                          size_t err_len) {
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        snprintf(err, err_len, "%s: cannot open for appending (%s)", path, strerror(errno));
        return -1;
    }
    /* a line cut by a crash: end it, so that the next one starts on its own line */
    off_t end = lseek(l->fd, 0, SEEK_END);
    char last = '\n';
    if (end > 0) {
        int r = open(path, O_RDONLY | O_CLOEXEC);
        if (r >= 0) {
            if (pread(r, &last, 1, end - 1) != 1)
                last = '\n';
            close(r);
        }
    }
    if (last != '\n' && (write(l->fd, "\n", 1) != 1 || fsync(l->fd) != 0)) {
        snprintf(err, err_len, "%s: write failed (%s)", path, strerror(errno));
        close(l->fd);
        return -1;
    }
    l->path = strdup(path);
    pthread_mutex_init(&l->mu, NULL);
    return 0;
}

int serve_escalation_append(struct serve_escalation_log *l, const char *line, char *err,
                            size_t err_len) {
    size_t n = strlen(line);
    char *buf = malloc(n + 1);
    if (!buf) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    memcpy(buf, line, n);
    buf[n] = '\n';
    pthread_mutex_lock(&l->mu);
    off_t start = lseek(l->fd, 0, SEEK_END); /* appends happen under mu only */
    size_t done = 0;
    int rc = 0;
    while (done < n + 1) {
        ssize_t w = write(l->fd, buf + done, n + 1 - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        done += (size_t)w;
    }
    if (rc == 0 && fsync(l->fd) != 0)
        rc = -1;
    if (rc) {
        snprintf(err, err_len, "%s: write failed (%s)", l->path, strerror(errno));
        /* a line cut by a failed write (disk full, ...) is taken back: else the next line would
         * be glued to it and both lost to a reader */
        if (start >= 0 && done)
            (void)!ftruncate(l->fd, start);
    }
    pthread_mutex_unlock(&l->mu);
    free(buf);
    return rc;
}

void serve_escalation_close(struct serve_escalation_log *l) {
    if (l->fd >= 0)
        close(l->fd);
    free(l->path);
    l->fd = -1;
    l->path = NULL;
    pthread_mutex_destroy(&l->mu);
}
