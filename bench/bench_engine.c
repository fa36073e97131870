/* bench_engine.c - what k answers from one prefill cost, measured through the engine in one
 * run: one answer alone; k answers decoded together (with and without the low-temperature
 * answer, scored by every estimator as `umpire ask` does); and k separate runs, each with its
 * own prefill. Answers have a fixed length (max_tokens; the random-weight bench models do not
 * stop early, which the bench checks).
 *
 * A long prompt (PROMPT_WORDS words of context in the system message, as an image's hundreds
 * of tokens would be) shows what the one shared prefill saves.
 *
 * Usage: bench_engine MODEL.gguf [LEN] [REPS] [PROMPT_WORDS]   (defaults 16, 3, 0) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "umpire.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static struct umpire_engine *engine;
static struct umpire_query query = {.question = "What is the capital city of the country where the "
                                                "Eiffel Tower stands?"};
static int len, short_answers;

/* Seconds for one ask of k answers (+ the low-temperature one), scoring included if asked. */
static double run(int k, int with_greedy, int score, uint64_t seed) {
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = k;
    sp.with_greedy = with_greedy;
    sp.max_tokens = len;
    sp.seed = seed;
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    double t0 = now();
    if (umpire_engine_ask(engine, &query, &sp, &it, err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    if (score) {
        struct umpire_sampleset set = {.items = &it, .n = 1};
        struct umpire_score_params p = umpire_score_default_params();
        p.alpha = 1.0;
        struct umpire_scores s;
        if (umpire_score_set(&set, &p, &s, err) != 0)
            exit(1);
        umpire_scores_free(&s);
    }
    double dt = now() - t0;
    for (size_t i = 0; i < it.k; i++)
        short_answers += it.samples[i].n_tokens != (size_t)len;
    umpire_item_free(&it);
    return dt;
}

/* Seconds for the scoring alone of one k-answer item. */
static double score_only(int k, uint64_t seed) {
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = k;
    sp.max_tokens = len;
    sp.seed = seed;
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    if (umpire_engine_ask(engine, &query, &sp, &it, err) != 0)
        exit(1);
    struct umpire_sampleset set = {.items = &it, .n = 1};
    struct umpire_score_params p = umpire_score_default_params();
    p.alpha = 1.0;
    struct umpire_scores s;
    double t0 = now();
    if (umpire_score_set(&set, &p, &s, err) != 0)
        exit(1);
    double dt = now() - t0;
    umpire_scores_free(&s);
    umpire_item_free(&it);
    return dt;
}

int main(int argc, char **argv) {
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_engine MODEL.gguf [LEN] [REPS]\n");
        return 2;
    }
    len = argc > 2 ? atoi(argv[2]) : 16;
    int reps = argc > 3 ? atoi(argv[3]) : 3, words = argc > 4 ? atoi(argv[4]) : 0;
    char *context = calloc((size_t)words * 8 + 1, 1);
    for (int i = 0; i < words; i++)
        strcat(context, i % 7 ? "facts " : "about ");
    query.system = words ? context : NULL;
    struct umpire_engine_params ep = umpire_engine_default_params();
    ep.model_path = argv[1];
    ep.k_max = 10;
    ep.n_ctx = 4096;
    ep.n_threads = 2;
    char err[UMPIRE_ERR_LEN];
    if (umpire_engine_open(&ep, &engine, err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    struct umpire_model_info info;
    umpire_model_info(argv[1], NULL, &info, err);
    run(1, 0, 0, 99); /* warm-up */
    printf("%s: %s, %.1fM parameters, d = %d; prompt +%d words; answers of %d tokens; median of %d runs (ms)\n",
           argv[1], info.description, (double)info.n_params / 1e6, umpire_engine_n_embd(engine), words, len, reps);
    printf("  %-46s %9s %9s\n", "", "k = 5", "k = 10");
    double one[16], kb[2][16], kg[2][16], sep[2][16], sc[2][16];
    reps = reps > 16 ? 16 : reps;
    for (int r = 0; r < reps; r++) {
        one[r] = run(1, 0, 0, (uint64_t)r);
        for (int j = 0; j < 2; j++) {
            int k = j ? 10 : 5;
            kb[j][r] = run(k, 0, 0, (uint64_t)r);
            kg[j][r] = run(k, 1, 1, (uint64_t)r);
            sep[j][r] = 0;
            for (int i = 0; i < k; i++)
                sep[j][r] += run(1, 0, 0, (uint64_t)(r * 100 + i));
            sc[j][r] = score_only(k, (uint64_t)r);
        }
    }
    /* medians: the machine is noisy */
    double *rows[] = {one, kb[0], kb[1], kg[0], kg[1], sep[0], sep[1], sc[0], sc[1]};
    double med[9];
    for (int i = 0; i < 9; i++) {
        double *v = rows[i];
        for (int a = 1; a < reps; a++)
            for (int b = a; b > 0 && v[b - 1] > v[b]; b--) {
                double t = v[b];
                v[b] = v[b - 1];
                v[b - 1] = t;
            }
        med[i] = reps % 2 ? v[reps / 2] : 0.5 * (v[reps / 2 - 1] + v[reps / 2]);
    }
    printf("  %-46s %9.1f\n", "one answer (1 prefill + LEN steps)", 1e3 * med[0]);
    printf("  %-46s %9.1f %9.1f\n", "k answers, one prefill, batched", 1e3 * med[1], 1e3 * med[2]);
    printf("  %-46s %9.1f %9.1f\n", "k answers + low-temperature answer + scoring", 1e3 * med[3], 1e3 * med[4]);
    printf("  %-46s %9.1f %9.1f\n", "k separate runs (k prefills)", 1e3 * med[5], 1e3 * med[6]);
    printf("  %-46s %9.3f %9.3f\n", "scoring alone (all estimators)", 1e3 * med[7], 1e3 * med[8]);
    printf("  %-46s %8.2fx %8.2fx\n", "batched+greedy+scoring / one answer", med[3] / med[0], med[4] / med[0]);
    printf("  %-46s %8.2fx %8.2fx\n", "separate runs / batched", med[5] / med[1], med[6] / med[2]);
    printf("  %-46s %8.3f%% %8.3f%%\n", "scoring / generating", 100 * med[7] / med[3], 100 * med[8] / med[4]);
    if (short_answers)
        printf("  (note: %d answers stopped before %d tokens)\n", short_answers, len);
    umpire_engine_close(engine);
    free(context);
    return 0;
}
