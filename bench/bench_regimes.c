/* bench_regimes.c - umpire's side of bench/server_compare.py: the questions of one regime (a JSONL
 * of {"system"?, "question", "image"?}), each answered as `umpire ask` answers it (k samples and
 * the low-temperature answer from one prefill, every estimator scored), and each answered by the
 * low-temperature answer alone (-k 0), and by the argmax answer alone (-k 0 --greedy-temp 0),
 * also with the prefix cache token by token (reuse_prefix 2, as the server reuses its prompt
 * cache): seconds per question, after a warm-up question; and how
 * many of the answers' tokens shared a batch row (identical answers decoded once) and how many
 * prompt tokens the prefix cache found in the KV already. And the same questions as umpire
 * answered them before issue 13 (no prefix cache, prefill batches of 512, identical answers
 * decoded apart), interleaved question by question with today's.
 *
 * Usage: bench_regimes MODEL.gguf MMPROJ|- QUESTIONS.jsonl K MAX_TOKENS [THREADS [PREFILL_BLOCK]]
 * Prints one JSON object. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
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

struct question {
    char *system, *text, *image;
};

static size_t read_questions(const char *path, struct question **out) {
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t len = 0;
    while (getline(&line, &len, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        if (!o)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = realloc(*out, cap * sizeof **out);
        }
        const cJSON *s = cJSON_GetObjectItem(o, "system"), *q = cJSON_GetObjectItem(o, "question"),
                    *im = cJSON_GetObjectItem(o, "image");
        (*out)[n++] = (struct question){cJSON_IsString(s) ? strdup(s->valuestring) : NULL, strdup(q->valuestring),
                                        cJSON_IsString(im) ? strdup(im->valuestring) : NULL};
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return n;
}

/* Seconds to answer question q as `umpire ask -k K` does (K = 0: the low-temperature answer only;
 * dedup 0: every answer in its own batch row). */
static double answer(struct umpire_engine *e, const struct question *q, int k, int max_tokens, uint64_t seed,
                     int dedup, float greedy_temp) {
    const char *images[1] = {q->image};
    struct umpire_query query = {.question = q->text, .system = q->system, .images = images, .n_images = q->image != NULL};
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = k;
    sp.max_tokens = max_tokens;
    sp.seed = seed;
    sp.dedup = dedup;
    sp.greedy_temp = greedy_temp;
    struct umpire_item it;
    char err[UMPIRE_ERR_LEN];
    double t0 = now();
    if (umpire_engine_ask(e, &query, &sp, &it, err) != 0) {
        fprintf(stderr, "bench_regimes: %s\n", err);
        exit(1);
    }
    size_t ne;
    umpire_estimators(&ne);
    struct umpire_score_params p = umpire_score_default_params();
    volatile double sink = 0;
    for (size_t i = 0; i < ne; i++)
        sink += umpire_score_item(&it, i, 1.0, &p);
    (void)sink;
    double dt = now() - t0;
    umpire_item_free(&it);
    return dt;
}

int main(int argc, char **argv) {
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE);
    if (argc < 6) {
        fprintf(stderr, "usage: bench_regimes MODEL.gguf MMPROJ|- QUESTIONS.jsonl K MAX_TOKENS [THREADS [PREFILL_BLOCK]]\n");
        return 2;
    }
    struct question *qs = NULL;
    size_t n = read_questions(argv[3], &qs);
    int k = atoi(argv[4]), max_tokens = atoi(argv[5]);
    struct umpire_engine_params ep = umpire_engine_default_params();
    ep.model_path = argv[1];
    ep.mmproj_path = strcmp(argv[2], "-") ? argv[2] : NULL;
    ep.k_max = k > 0 ? k : 1;
    ep.n_ctx = 8192;
    ep.n_threads = argc > 6 ? atoi(argv[6]) : 2;
    if (argc > 7)
        ep.prefill_block = atoi(argv[7]);
    struct umpire_engine *e, *before = NULL, *tokens = NULL;
    char err[UMPIRE_ERR_LEN];
    struct umpire_engine_params bp = ep, tp = ep;
    bp.reuse_prefix = 0;
    bp.prefill_block = bp.n_batch;
    tp.reuse_prefix = 2; /* the prefix cache token by token */
    if (n < 2 || umpire_engine_open(&ep, &e, err) != 0 || umpire_engine_open(&bp, &before, err) != 0 ||
        umpire_engine_open(&tp, &tokens, err) != 0) {
        fprintf(stderr, "bench_regimes: %s\n", n < 2 ? "fewer than 2 questions" : err);
        return 1;
    }
    const float low = umpire_sample_default_params().greedy_temp;
    answer(e, &qs[0], k, max_tokens, 1000, 1, low); /* warm-up (not counted): weights paged in */
    answer(before, &qs[0], k, max_tokens, 1000, 0, low);
    struct umpire_engine_stats s0, s1;
    umpire_engine_stats(e, &s0);
    double full = 0, greedy = 0, argmax = 0, base = 0;
    for (size_t i = 1; i < n; i++) {
        full += answer(e, &qs[i], k, max_tokens, i, 1, low);
        base += answer(before, &qs[i], k, max_tokens, i, 0, low);
    }
    umpire_engine_stats(e, &s1);
    /* each in its own pass over the questions, so that neither finds the other's prompt in the KV */
    for (size_t i = 1; i < n; i++)
        greedy += answer(e, &qs[i], 0, max_tokens, i, 1, low);
    for (size_t i = 1; i < n; i++)
        argmax += answer(e, &qs[i], 0, max_tokens, i, 1, 0.0f);
    double argmax_tokens = 0;
    answer(tokens, &qs[0], 0, max_tokens, 1000, 1, 0.0f);
    for (size_t i = 1; i < n; i++)
        argmax_tokens += answer(tokens, &qs[i], 0, max_tokens, i, 1, 0.0f);
    printf("{\"questions\": %zu, \"seconds_per_question\": %.6f, \"greedy_seconds_per_question\": %.6f, "
           "\"argmax_seconds_per_question\": %.6f, \"argmax_token_reuse_seconds_per_question\": %.6f, "
           "\"before_seconds_per_question\": %.6f, "
           "\"answer_tokens\": %llu, \"decoded_rows\": %llu, \"prompt_tokens\": %llu, \"reused_tokens\": %llu}\n",
           n - 1, full / (double)(n - 1), greedy / (double)(n - 1), argmax / (double)(n - 1),
           argmax_tokens / (double)(n - 1), base / (double)(n - 1),
           (unsigned long long)(s1.answer_tokens - s0.answer_tokens),
           (unsigned long long)(s1.decoded_rows - s0.decoded_rows),
           (unsigned long long)(s1.prompt_tokens - s0.prompt_tokens),
           (unsigned long long)(s1.reused_tokens - s0.reused_tokens));
    umpire_engine_close(before);
    umpire_engine_close(tokens);
    umpire_engine_close(e);
    for (size_t i = 0; i < n; i++) {
        free(qs[i].system);
        free(qs[i].text);
        free(qs[i].image);
    }
    free(qs);
    return 0;
}
