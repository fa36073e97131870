/* bench_grad.c - what one SemGrad item costs against one UMPIRE item, same model, one run.
 *
 *   SemGrad item: the low-temperature answer alone (-k 0), then SemGrad / ExGrad / HybridGrad
 *                 through the own graph (one forward and one backward pass over prompt +
 *                 answer, and ExGrad's V x d sum);
 *   UMPIRE item:  k = 5 answers and the low-temperature one from one prefill, scored by every
 *                 estimator (as `umpire ask` does).
 * Each measurement runs in a child process of its own, the two kinds interleaved, so that each
 * reports its own peak resident memory (getrusage of the child); model loading is outside the
 * timed part but inside the peak. Answers have a fixed length (LEN tokens: the random-weight
 * bench models do not stop early).
 *
 * Usage: bench_grad MODEL.gguf [LEN] [REPS]   (defaults 16, 3) */
#define _DEFAULT_SOURCE /* wait4 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umpire.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *model_path;
static int len;

/* One item of the given kind in this (child) process; writes "total answer-part" seconds to fd. */
static int one_item(int semgrad, int fd) {
    char err[UMPIRE_ERR_LEN];
    struct umpire_engine_params ep = umpire_engine_default_params();
    ep.model_path = model_path;
    ep.k_max = 5;
    ep.n_threads = 2;
    struct umpire_engine *e = NULL;
    struct umpire_grad_model *g = NULL;
    if (umpire_engine_open(&ep, &e, err) != 0 ||
        (semgrad && umpire_grad_model_load(model_path, 2, &g, err) != 0)) {
        fprintf(stderr, "bench_grad: %s\n", err);
        return 1;
    }
    struct umpire_query q = {
        .question = "What is the capital city of the country where the Eiffel Tower stands?"};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = semgrad ? 0 : 5;
    sp.with_greedy = 1;
    sp.max_tokens = len;
    struct umpire_item it;
    double t0 = now();
    if (umpire_engine_ask(e, &q, &sp, &it, err) != 0) {
        fprintf(stderr, "bench_grad: %s\n", err);
        return 1;
    }
    double t1 = now();
    if (semgrad) {
        struct umpire_grad_params gp = umpire_grad_default_params();
        if (umpire_engine_gradients(e, g, &q, &gp, &it, err) != 0) {
            fprintf(stderr, "bench_grad: %s\n", err);
            return 1;
        }
    } else {
        struct umpire_sampleset set = {.items = &it, .n = 1};
        struct umpire_score_params p = umpire_score_default_params();
        p.alpha = 1.0;
        struct umpire_scores s;
        if (umpire_score_set(&set, &p, &s, err) != 0)
            return 1;
        umpire_scores_free(&s);
    }
    double t2 = now();
    char line[64];
    int n = snprintf(line, sizeof line, "%.6f %.6f\n", t2 - t0, t1 - t0);
    if (write(fd, line, (size_t)n) != n)
        return 1;
    umpire_item_free(&it);
    umpire_grad_model_free(g);
    umpire_engine_close(e);
    return 0;
}

/* Run one item in a child; its seconds (total, answering) and peak RSS in MiB. */
static void measure(int semgrad, double *total, double *answer, double *rss_mib) {
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        _exit(one_item(semgrad, fds[1]));
    }
    close(fds[1]);
    char buf[64] = "";
    ssize_t got = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0 || got <= 0 || sscanf(buf, "%lf %lf", total, answer) != 2) {
        fprintf(stderr, "bench_grad: the %s item failed\n", semgrad ? "SemGrad" : "UMPIRE");
        exit(1);
    }
    *rss_mib = (double)ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_grad MODEL.gguf [LEN] [REPS]\n");
        return 2;
    }
    model_path = argv[1];
    len = argc > 2 ? atoi(argv[2]) : 16;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE);
    double best[2][2] = {{1e30, 1e30}, {1e30, 1e30}}, rss[2] = {0, 0};
    for (int r = 0; r < reps; r++)
        for (int kind = 0; kind < 2; kind++) { /* interleaved: UMPIRE, SemGrad, UMPIRE, ... */
            double t, a, m;
            measure(kind, &t, &a, &m);
            if (t < best[kind][0])
                best[kind][0] = t, best[kind][1] = a;
            if (m > rss[kind])
                rss[kind] = m;
        }
    printf("%s, answers of %d tokens, best of %d, 2 threads\n", model_path, len, reps);
    printf("  UMPIRE k = 5:  %7.3f s   (answers %.3f s, scoring %.3f s)   peak RSS %.0f MiB\n",
           best[0][0], best[0][1], best[0][0] - best[0][1], rss[0]);
    printf("  SemGrad item:  %7.3f s   (answer %.3f s, gradients %.3f s)  peak RSS %.0f MiB\n",
           best[1][0], best[1][1], best[1][0] - best[1][1], rss[1]);
    printf("  SemGrad / UMPIRE time: %.2f\n", best[1][0] / best[0][0]);
    return 0;
}
