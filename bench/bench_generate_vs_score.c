/* bench_generate_vs_score.c - what scoring costs next to generating the samples it scores.
 *
 * On a GGUF model: one prefill of a chat-templated question, the KV cache copied to k
 * sequences, then L decode steps of one k-token batch each (Gumbel-max sampling at T = 1,
 * logits and last-layer embeddings from the same decode), as the engine will do it. Then
 * every estimator scores the resulting sample set. Both are timed in this one run, over R
 * repetitions, and reported side by side.
 *
 * Usage: bench_generate_vs_score MODEL.gguf [K] [LEN] [REPS]   (defaults 10, 16, 5) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llama.h>

#include "umpire.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 12345;
static double uniform(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
}

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

/* One set of k answers of len tokens: fills the item's samples (logprobs, embedding). */
static int generate(struct llama_context *ctx, const struct llama_vocab *vocab, const llama_token *prompt,
                    int n_prompt, int k, int len, int n_embd, struct umpire_item *it) {
    llama_memory_clear(llama_get_memory(ctx), true);
    llama_set_embeddings(ctx, false);
    struct llama_batch pb = llama_batch_init(n_prompt, 0, 1);
    for (int i = 0; i < n_prompt; i++) {
        pb.token[i] = prompt[i];
        pb.pos[i] = i;
        pb.n_seq_id[i] = 1;
        pb.seq_id[i][0] = 0;
        pb.logits[i] = i == n_prompt - 1;
    }
    pb.n_tokens = n_prompt;
    int rc = llama_decode(ctx, pb);
    llama_batch_free(pb);
    if (rc)
        return rc;
    for (int s = 1; s < k; s++)
        llama_memory_seq_cp(llama_get_memory(ctx), 0, s, -1, -1);
    llama_set_embeddings(ctx, true);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    struct llama_batch b = llama_batch_init(k, 0, 1);
    for (int step = 0; step < len; step++) {
        for (int s = 0; s < k; s++) {
            /* the first step reads the prefill's last logits, later ones this batch's row s */
            const float *lg = llama_get_logits_ith(ctx, step == 0 ? -1 : s);
            double mx = lg[0], z = 0, best = -INFINITY;
            llama_token tok = 0;
            for (int v = 1; v < n_vocab; v++)
                mx = fmax(mx, lg[v]);
            for (int v = 0; v < n_vocab; v++) {
                z += exp(lg[v] - mx);
                double g = lg[v] - log(-log(uniform())); /* Gumbel-max: a sample from softmax */
                if (g > best) {
                    best = g;
                    tok = v;
                }
            }
            it->samples[s].logprobs[step] = lg[tok] - mx - log(z);
            b.token[s] = tok;
            b.pos[s] = n_prompt + step;
            b.n_seq_id[s] = 1;
            b.seq_id[s][0] = s;
            b.logits[s] = 1;
        }
        b.n_tokens = k;
        if ((rc = llama_decode(ctx, b)))
            break;
        for (int s = 0; s < k; s++) /* phi: the last step's hidden state after the final norm */
            if (step == len - 1)
                memcpy(it->samples[s].embedding, llama_get_embeddings_ith(ctx, s), n_embd * sizeof(float));
    }
    llama_batch_free(b);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_generate_vs_score MODEL.gguf [K] [LEN] [REPS]\n");
        return 2;
    }
    const int k = argc > 2 ? atoi(argv[2]) : 10, len = argc > 3 ? atoi(argv[3]) : 16,
              reps = argc > 4 ? atoi(argv[4]) : 5;
    umpire_set_blas_threads(1); /* as the CLI does: see umpire.h */
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *m = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!m) {
        fprintf(stderr, "bench: cannot load %s\n", argv[1]);
        return 1;
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 1024;
    cp.n_batch = 512;
    cp.n_seq_max = (uint32_t)k;
    cp.kv_unified = true;
    cp.n_threads = cp.n_threads_batch = 2;
    cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    const struct llama_vocab *vocab = llama_model_get_vocab(m);
    const int n_embd = llama_model_n_embd(m);
    struct llama_chat_message msg = {"user", "What is the capital city of the country where the Eiffel "
                                             "Tower stands? Answer this question in only a word or a phrase."};
    char text[1024];
    int n = llama_chat_apply_template(llama_model_chat_template(m, NULL), &msg, 1, true, text, sizeof text);
    llama_token prompt[512];
    int n_prompt = n > 0 ? llama_tokenize(vocab, text, n, prompt, 512, true, true) : -1;
    if (!ctx || n_prompt <= 0) {
        fprintf(stderr, "bench: context or prompt failed\n");
        return 1;
    }
    struct umpire_item it = {.id = "bench", .k = (size_t)k, .dim = (size_t)n_embd, .correct = -1};
    it.samples = calloc((size_t)k, sizeof *it.samples);
    for (int s = 0; s < k; s++) {
        it.samples[s].text = "";
        it.samples[s].n_tokens = (size_t)len;
        it.samples[s].logprobs = malloc((size_t)len * sizeof(double));
        it.samples[s].embedding = malloc((size_t)n_embd * sizeof(float));
    }
    struct umpire_sampleset set = {&it, 1};
    struct umpire_score_params sp = umpire_score_default_params();
    sp.alpha = 1.0;
    double t_gen = 0, t_score = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (generate(ctx, vocab, prompt, n_prompt, k, len, n_embd, &it) != 0) {
            fprintf(stderr, "bench: decode failed\n");
            return 1;
        }
        double t1 = now();
        struct umpire_scores sc;
        if (umpire_score_set(&set, &sp, &sc, NULL) != 0)
            return 1;
        t_score += now() - t1;
        t_gen += t1 - t0;
        umpire_scores_free(&sc);
    }
    printf("model %s: %.1fM parameters, d = %d; prompt %d tokens; k = %d answers x %d tokens; %d runs\n",
           argv[1], (double)llama_model_n_params(m) / 1e6, n_embd, n_prompt, k, len, reps);
    printf("  generate (1 prefill + %d batched steps)   %9.2f ms\n", len, 1e3 * t_gen / reps);
    printf("  score (all estimators, UMPIRE included) %9.3f ms\n", 1e3 * t_score / reps);
    printf("  scoring / generating                    %9.3f %%\n", 100.0 * t_score / t_gen);
    for (int s = 0; s < k; s++) {
        free(it.samples[s].logprobs);
        free(it.samples[s].embedding);
    }
    free(it.samples);
    llama_free(ctx);
    llama_model_free(m);
    llama_backend_free();
    return 0;
}
