/* worker.h - the engine behind the server: one llama.cpp engine, loaded once, owned by one
 * thread that takes jobs from a bounded FIFO queue. HTTP threads submit a job and wait for it
 * (with a deadline, and a test for a client that went away); a job still queued when its client
 * gives up is taken out of the queue, one running is stopped at its next decoding step (the
 * engine's progress callback). While a job runs, its answer's text so far is kept for streaming
 * (serve_worker_next).
 *
 * Asked questions decode together (continuous batching, umpire_engine_begin/step): each
 * request's k + 1 answers share one prefill, and the answers of up to n_slots requests share
 * every decode step; a request joins the running ones between two steps. Teacher forcing
 * (black-box) and judging passes need the engine alone: such a job waits for the running ones
 * to end (and the queue behind it waits too, first come first served). */
#ifndef UMPIRE_SERVE_WORKER_H
#define UMPIRE_SERVE_WORKER_H

#include <pthread.h>

#include "umpire.h"

enum serve_job_kind { JOB_ASK, JOB_FORCE };
enum serve_job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct serve_job {
    enum serve_job_kind kind;
    struct umpire_query q;
    struct umpire_sample_params sp; /* JOB_ASK */
    struct umpire_judge_params judge; /* extra passes after the answers */
    const char *const *answers;     /* JOB_FORCE: teacher-force these */
    size_t n_answers;
    /* filled by the worker */
    int rc;
    char err[UMPIRE_ERR_LEN];
    struct umpire_item item;
    double seconds; /* engine time */
    uint64_t prompt_tokens; /* the prompt's tokens (media included) */
    /* private */
    enum serve_job_state state;
    int cancel;    /* stop at the next step */
    char *partial; /* JOB_ASK: the answer's text so far (its raw bytes) */
    size_t partial_len;
    struct serve_job *next;
    struct serve_worker *worker;
    double t0;
};

struct serve_worker;

/* Start the worker over an open engine with n_slots slots (it takes ownership and closes it).
 * max_queue: jobs that may wait besides the running ones. Returns 0, or -1 (out of memory,
 * thread creation failed). */
int serve_worker_start(struct umpire_engine *e, int n_slots, int max_queue, struct serve_worker **out);
/* Queue a job (the caller keeps it until serve_worker_wait returns). Returns 0, or -1 when the
 * queue is full or the worker is stopping (the caller answers 429 / 503). */
int serve_worker_submit(struct serve_worker *w, struct serve_job *job);
/* Wait for the job until deadline (CLOCK_MONOTONIC seconds), polling gone(ud) every 100 ms.
 * Returns 0 when done (job filled), 1 when the deadline passed, 2 when gone() said the client
 * left: a queued job is then withdrawn, a running one waited for (it reads the caller's
 * query; it is stopped at its next step). In every case the job is the caller's again when this
 * returns (free its item and serve_job_clear). */
int serve_worker_wait(struct serve_worker *w, struct serve_job *job, double deadline,
                      int (*gone)(void *), void *ud);
/* For streaming: wait until the running job's answer holds more than `seen` bytes, or the job
 * ends. Returns 0 with a copy of the text so far in *text (free() it; *len its length), 1 when
 * the job is done, 2 at the deadline, 3 when gone(ud) said the client left (for 2 and 3 the job
 * was withdrawn or stopped, as serve_worker_wait does). */
int serve_worker_next(struct serve_worker *w, struct serve_job *job, size_t seen, double deadline,
                      int (*gone)(void *), void *ud, char **text, size_t *len);
/* Free what the worker kept in a finished job besides its item. */
void serve_job_clear(struct serve_job *job);
/* Jobs queued now. */
int serve_worker_queued(struct serve_worker *w);
/* Finish the running and queued jobs, stop the thread, close the engine, free w. */
void serve_worker_stop(struct serve_worker *w);

double serve_now(void); /* CLOCK_MONOTONIC seconds */

#endif
