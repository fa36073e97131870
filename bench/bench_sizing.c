/* bench_sizing.c - the inputs of the README's sizing section, measured through the engine:
 *  - sampling: UMPIRE items (k answers + the low-temperature one from one prefill, scored) per
 *    second at 1 and 2 threads, and per CPU-second (process CPU time, which a machine shared
 *    with other work inflates less than wall time);
 *  - memory: peak RSS of a process that opens the engine and answers one item, for several
 *    context sizes and k (each in a fresh child, read with wait4): the KV cache's bytes per
 *    context token, and what one more concurrent sequence costs beyond its KV cells.
 * Usage: bench_sizing MODEL.gguf [LEN] [ITEMS]   (defaults 16, 8) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umpire.h"

static const char *model_path;
static int len;

static double now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static struct umpire_engine *open_engine(int n_ctx, int k_max, int threads) {
    struct umpire_engine_params ep = umpire_engine_default_params();
    ep.model_path = model_path;
    ep.n_ctx = n_ctx;
    ep.k_max = k_max;
    ep.n_threads = threads;
    struct umpire_engine *e = NULL;
    char err[UMPIRE_ERR_LEN];
    if (umpire_engine_open(&ep, &e, err) != 0) {
        fprintf(stderr, "bench_sizing: %s\n", err);
        exit(1);
    }
    return e;
}

/* One UMPIRE item: question q, k answers of len tokens and the low-temperature one, scored. */
static void item(struct umpire_engine *e, int q, int k) {
    char question[128];
    snprintf(question, sizeof question, "What is the capital city of country number %d, and why?",
             q);
    struct umpire_query query = {.question = question};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = k;
    sp.with_greedy = 1;
    sp.max_tokens = len;
    sp.seed = (uint64_t)q;
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    struct umpire_scores s;
    struct umpire_sampleset set = {.items = &it, .n = 1};
    struct umpire_score_params p = umpire_score_default_params();
    p.alpha = 1.0;
    if (umpire_engine_ask(e, &query, &sp, &it, err) != 0 ||
        umpire_score_set(&set, &p, &s, err) != 0) {
        fprintf(stderr, "bench_sizing: %s\n", err);
        exit(1);
    }
    umpire_scores_free(&s);
    umpire_item_free(&it);
}

/* Peak RSS (MiB) of a child that opens the engine (n_ctx, k) and answers one item. */
static double peak_rss(int n_ctx, int k) {
    fflush(stdout); /* else the child prints what the parent had buffered */
    pid_t pid = fork();
    if (pid == 0) {
        struct umpire_engine *e = open_engine(n_ctx, k, 2);
        item(e, 0, k);
        umpire_engine_close(e);
        _exit(0);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_sizing: the child with n_ctx %d, k %d failed\n", n_ctx, k);
        exit(1);
    }
    return (double)ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_sizing MODEL.gguf [LEN] [ITEMS]\n");
        return 2;
    }
    model_path = argv[1];
    len = argc > 2 ? atoi(argv[2]) : 16;
    int items = argc > 3 ? atoi(argv[3]) : 8;
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE);
    char err[UMPIRE_ERR_LEN];
    struct umpire_model_info info;
    if (umpire_model_info(model_path, NULL, &info, err) != 0) {
        fprintf(stderr, "bench_sizing: %s\n", err);
        return 1;
    }
    printf("%s: %s, %.1fM parameters; answers of %d tokens\n", model_path, info.description,
           (double)info.n_params / 1e6, len);

    /* memory first: the children fork from a process that has not started llama.cpp's threads */
    const int ctx_small = 1024, ctx_big = 8192, k_lo = 2, k_hi = 32; /* scoring needs k >= 2 */
    double small = peak_rss(ctx_small, 5), big = peak_rss(ctx_big, 5);
    double one = peak_rss(4096, k_lo), many = peak_rss(4096, k_hi);
    printf("  peak RSS, k = 5:  n_ctx %d: %.0f MiB, n_ctx %d: %.0f MiB -> %.1f KiB per context "
           "token\n",
           ctx_small, small, ctx_big, big, 1024.0 * (big - small) / (ctx_big - ctx_small));
    printf("  peak RSS, n_ctx 4096:  k = %d: %.0f MiB, k = %d: %.0f MiB -> %.2f MiB per further "
           "sequence\n",
           k_lo, one, k_hi, many, (many - one) / (k_hi - k_lo));

    for (int threads = 1; threads <= 2; threads++) {
        struct umpire_engine *e = open_engine(4096, 10, threads);
        item(e, -1, 5); /* warm-up */
        for (int k = 5; k <= 10; k += 5) {
            double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
            for (int q = 0; q < items; q++)
                item(e, q, k);
            double wall = now(CLOCK_MONOTONIC) - w0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
            printf("  %d thread%s, k = %2d: %6.2f items/s (%5.1f answer tokens/s), %6.2f items per "
                   "CPU-second\n",
                   threads, threads > 1 ? "s" : " ", k, items / wall, items * (k + 1) * len / wall,
                   items / cpu);
        }
        umpire_engine_close(e);
    }
    return 0;
}
