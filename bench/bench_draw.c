/* bench_draw.c - the per-token work on one output row outside the decode, for k answers and the
 * low-temperature one, as umpire did it before (each answer runs llama.cpp's whole chain,
 * temp -> top-p -> dist, over the full vocabulary) and as it does now (draw.c: answers that read
 * the same row at one temperature share the truncation, and tokens of probability exactly 0 are
 * left out first); and the raw softmax statistics umpire records beside them
 * (umpire_logits_stats). Before, each answer also summed its entropy over its own top-p set.
 * Rows: flat (a random-weight model's) and peaked (a trained model's);
 * "shared": all k samples read one row (identical answers, deduplicated), "apart": each its own.
 * Contenders interleaved row by row; microseconds per decode step.
 *
 * Usage: bench_draw [N_VOCAB [K [ROWS]]]   (defaults 32000, 5, 200) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/draw.h"
#include "engine/engine.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static volatile double sink;
static double gauss(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    double u1 = ((double)(rng >> 11) + 1.0) / 9007199254740993.0;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    double u2 = (double)(rng >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void row(float *l, int n, int peaked) {
    for (int v = 0; v < n; v++)
        l[v] = (float)((peaked ? 3.0 : 0.5) * gauss());
    if (peaked)
        for (int j = 0; j < 3; j++)
            l[(int)(rng % (uint64_t)n)] += 12.0f - 3.0f * (float)j;
}

static struct llama_sampler *chain(float temp, uint32_t seed) {
    struct llama_sampler *c = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(c, llama_sampler_init_temp(temp));
    llama_sampler_chain_add(c, llama_sampler_init_top_p(0.9f, 1));
    llama_sampler_chain_add(c, llama_sampler_init_dist(seed));
    return c;
}

int main(int argc, char **argv) {
    int n_vocab = argc > 1 ? atoi(argv[1]) : 32000, k = argc > 2 ? atoi(argv[2]) : 5,
        rows = argc > 3 ? atoi(argv[3]) : 200;
    if (n_vocab < 2 || k < 1 || k > 64 || rows < 1) {
        fprintf(stderr, "usage: bench_draw [N_VOCAB [K [ROWS]]]\n");
        return 2;
    }
    float *l = malloc((size_t)k * n_vocab * sizeof *l);
    llama_token_data *cand = malloc((size_t)n_vocab * sizeof *cand);
    struct umpire_draw d;
    struct umpire_draw_class cs, cg;
    if (!l || !cand || umpire_draw_init(&d, n_vocab) || umpire_draw_class_init(&cs, 1.0f, 0, 0.9f) ||
        umpire_draw_class_init(&cg, 0.1f, 0, 0.9f))
        return 1;
    struct llama_sampler *old[65], *dist[65];
    for (int i = 0; i <= k; i++) {
        old[i] = chain(i < k ? 1.0f : 0.1f, (uint32_t)i);
        dist[i] = umpire_draw_sampler((uint32_t)i);
    }
    struct umpire_drawn out[65];
    printf("  vocabulary %d, k = %d + the low-temperature answer (T = 0.1), top-p 0.9, %d rows each;"
           " us per decode step\n", n_vocab, k, rows);
    printf("  %-14s %12s %12s %8s %14s\n", "rows", "chain each", "draw.c", "ratio", "raw softmax");
    for (int peaked = 0; peaked < 2; peaked++)
        for (int shared = 1; shared >= 0; shared--) {
            double t_old = 0, t_new = 0, t_raw = 0;
            for (int r = 0; r < rows; r++) {
                int n_rows = shared ? 1 : k; /* the samples' rows; the greedy reads the first */
                for (int j = 0; j < n_rows; j++)
                    row(l + (size_t)j * n_vocab, n_vocab, peaked);
                double t0 = now();
                for (int i = 0; i <= k; i++) {
                    const float *x = l + (size_t)(i < k && !shared ? i : 0) * n_vocab;
                    for (int v = 0; v < n_vocab; v++)
                        cand[v] = (llama_token_data){v, x[v], 0.0f};
                    llama_token_data_array a = {cand, (size_t)n_vocab, -1, false};
                    llama_sampler_apply(old[i], &a);
                    llama_sampler_accept(old[i], a.data[a.selected].id);
                    double ent = 0; /* the entropy each answer records, as before */
                    for (size_t j = 0; j < a.size; j++)
                        if (a.data[j].p > 0)
                            ent -= a.data[j].p * log(a.data[j].p);
                    sink += ent;
                }
                double t1 = now();
                for (int j = 0; j < n_rows; j++)
                    umpire_draw_row(&d, l + (size_t)j * n_vocab, &cs, shared ? dist : dist + j, shared ? k : 1,
                                    out + j);
                umpire_draw_row(&d, l, &cg, dist + k, 1, out + k);
                double t2 = now();
                for (int j = 0; j < n_rows; j++) {
                    struct umpire_logits_stats st;
                    umpire_logits_stats(l + (size_t)j * n_vocab, n_vocab, &st);
                }
                double t3 = now();
                t_old += t1 - t0, t_new += t2 - t1, t_raw += t3 - t2;
            }
            printf("  %-14s %12.1f %12.1f %7.2fx %14.1f\n",
                   peaked ? (shared ? "peaked, shared" : "peaked, apart") : (shared ? "flat, shared" : "flat, apart"),
                   1e6 * t_old / rows, 1e6 * t_new / rows, t_old / t_new, 1e6 * t_raw / rows);
        }
    for (int i = 0; i <= k; i++) {
        llama_sampler_free(old[i]);
        llama_sampler_free(dist[i]);
    }
    umpire_draw_class_free(&cs);
    umpire_draw_class_free(&cg);
    umpire_draw_free(&d);
    free(l);
    free(cand);
    return 0;
}
