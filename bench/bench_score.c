/* bench_score.c - scoring throughput: items per second for k = 10 and k = 50 answers with
 * d = 4096 embeddings (a 7B model's width): UMPIRE alone, every estimator over a whole set
 * (`umpire score`), and every estimator one item at a time (`umpire ask`, `umpire eval`).
 * Usage: bench_score [ITEMS]  (default 200). Timings are wall-clock, one run, noisy machine. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/scorer.h"
#include "umpire.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static struct umpire_item make_item(size_t k, size_t d, unsigned *seed) {
    static const char *words[] = {"paris", "the capital", "london", "rome", "a city in france"};
    struct umpire_item it = {.id = "bench", .k = k, .dim = d, .correct = -1};
    it.samples = calloc(k, sizeof *it.samples);
    for (size_t i = 0; i < k; i++) {
        struct umpire_answer *a = &it.samples[i];
        a->text = (char *)words[rand_r(seed) % 5];
        a->n_tokens = 4;
        a->logprobs = malloc(4 * sizeof *a->logprobs);
        for (int t = 0; t < 4; t++)
            a->logprobs[t] = -(double)(rand_r(seed) % 1000) / 1000.0;
        a->embedding = malloc(d * sizeof *a->embedding);
        for (size_t j = 0; j < d; j++)
            a->embedding[j] = (float)(rand_r(seed) % 2001) / 1000.0f - 1.0f;
    }
    return it;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 200, ne;
    const size_t d = 4096, ks[] = {10, 50};
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    struct umpire_score_params p = umpire_score_default_params();
    unsigned seed = 1;
    printf("%-6s %-6s %-22s %12s %14s\n", "k", "d", "estimators", "items/s", "ms/item");
    for (size_t kk = 0; kk < 2; kk++) {
        size_t k = ks[kk];
        struct umpire_item *items = malloc(n * sizeof *items);
        for (size_t i = 0; i < n; i++)
            items[i] = make_item(k, d, &seed);
        /* UMPIRE alone (alpha given), then the whole registry as `umpire score` runs it */
        double sink = 0, t0 = now();
        for (size_t i = 0; i < n; i++)
            sink += umpire_score_item(&items[i], 0, 1.0, &p);
        double dt = now() - t0;
        printf("%-6zu %-6zu %-22s %12.1f %14.3f\n", k, d, reg[0].name, (double)n / dt, 1e3 * dt / (double)n);
        struct umpire_sampleset set = {.items = items, .n = n};
        struct umpire_scores scores;
        t0 = now();
        if (umpire_score_set(&set, &p, &scores, NULL) != 0)
            return 1;
        dt = now() - t0;
        printf("%-6zu %-6zu all %-18zu %12.1f %14.3f\n", k, d, ne, (double)n / dt, 1e3 * dt / (double)n);
        umpire_scores_free(&scores);
        double *one = malloc(ne * sizeof *one);
        t0 = now();
        for (size_t i = 0; one && i < n; i++)
            if (umpire_score_item_all(&items[i], &p, 1.0, NULL, one, NULL) != 0)
                return 1;
        dt = now() - t0;
        printf("%-6zu %-6zu all %-2zu, item by item   %12.1f %14.3f\n", k, d, ne, (double)n / dt, 1e3 * dt / (double)n);
        free(one);
        if (!isfinite(sink))
            printf("(UMPIRE undefined on some items)\n");
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < k; j++) {
                free(items[i].samples[j].logprobs);
                free(items[i].samples[j].embedding);
            }
            free(items[i].samples);
        }
        free(items);
    }
    return 0;
}
