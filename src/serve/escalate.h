/* escalate.h - the durable escalation queue (--escalate-to queue): each query whose verdict is
 * "escalate" is appended to a JSONL file as one line, written with one write(2) on an O_APPEND
 * descriptor and fsync'ed before the request is answered, so that an answered request's line
 * is on disk. As with a run's items.jsonl, a line cut by a crash is the last one and has no
 * newline; a reader drops it. One mutex: lines never interleave. */
#ifndef UMPIRE_SERVE_ESCALATE_H
#define UMPIRE_SERVE_ESCALATE_H

#include <pthread.h>

struct serve_escalation_log {
    int fd;
    char *path;
    pthread_mutex_t mu;
};

/* Open (create) path for appending. Returns 0, or -1 with err naming the file. */
int serve_escalation_open(struct serve_escalation_log *l, const char *path, char *err,
                          size_t err_len);
/* Append line (no newline in it) and a newline, then fsync. Returns 0, or -1 with err. */
int serve_escalation_append(struct serve_escalation_log *l, const char *line, char *err,
                            size_t err_len);
void serve_escalation_close(struct serve_escalation_log *l);

#endif
