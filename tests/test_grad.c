/* test_grad.c - the own graph (src/grad) and the gradient scores, checked independently:
 *  - the loss, entropies, ExGrad and HybridGrad on values worked out by hand;
 *  - the own graph's next-token log-probabilities equal llama.cpp's on the same GGUF (the
 *    mkmodel models: F32 with MHA, F32 with GQA, and a Q4_K_M copy);
 *  - the gradient with respect to a hidden state equals a central finite difference computed
 *    through llama.cpp itself (that layer's output perturbed at that position through cb_eval,
 *    the loss re-evaluated from llama.cpp's logits with the entropy weights held fixed);
 *  - ExGrad's analytic form equals ggml's autodiff gradient of the output matrix;
 *  - a model the graph cannot run is refused with a message naming what is not supported.
 * Usage: test_grad MODELS_DIR */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <gguf.h>
#include <llama.h>
#include <umpire.h>

#include "core/gradscore.h"
#include "grad/model.h"
#include "grad/semgrad.h"

static const char *models_dir;

static const char *path_of(const char *name) { /* in the models folder, unless absolute */
    static char buf[4096];
    if (name[0] == '/')
        return name;
    snprintf(buf, sizeof buf, "%s/%s", models_dir, name);
    return buf;
}

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

/* ------------------------------------------------------------------ the math, by hand */

static void test_loss_by_hand(void **state) {
    (void)state;
    /* V = 2, logits (0, 0): p = (1/2, 1/2), H = log 2; label 0. Weighted: L = H * log 2. */
    const float z[2] = {0, 0};
    const int32_t y[1] = {0};
    float dz[2];
    struct umpire_grad_loss L;
    assert_int_equal(umpire_grad_loss(z, y, 1, 2, 1, dz, &L), 0);
    assert_true(fabs(L.loss - log(2) * log(2)) < 1e-12);
    assert_true(fabs(L.mean_entropy - log(2)) < 1e-12);
    assert_true(fabs(dz[0] - log(2) * -0.5) < 1e-7 && fabs(dz[1] - log(2) * 0.5) < 1e-7);
    /* ExGrad with h = (1, -2): |dz_v h_j| = 0.5 log 2 * {1, 2, 1, 2}, mean 0.75 log 2 */
    const float h[2] = {1, -2};
    assert_true(fabs(umpire_grad_exgrad(dz, h, 1, 2, 2, NULL, NULL, 0) - 0.75 * log(2)) < 1e-7);
    /* tied embeddings: an input position of token 1 adds (1, 1) to row 1: |.| of row 1 becomes
     * |0.5 log 2 + 1| + |-log 2 + 1|, row 0 stays 0.5 log 2 * 3 */
    const int32_t tied_tok[1] = {1};
    const float embd[2] = {1, 1};
    const double want = (0.5 * log(2) * 3 + fabs(0.5 * log(2) + 1) + fabs(-log(2) + 1)) / 4;
    assert_true(fabs(umpire_grad_exgrad(dz, h, 1, 2, 2, tied_tok, embd, 1) - want) < 1e-7);
    /* unweighted: L = log 2, dz = (-1/2, 1/2) */
    assert_int_equal(umpire_grad_loss(z, y, 1, 2, 0, dz, &L), 0);
    assert_true(fabs(L.loss - log(2)) < 1e-12 && fabs(dz[0] + 0.5) < 1e-7 &&
                fabs(dz[1] - 0.5) < 1e-7);
    /* two tokens: the mean over tokens; the rows' gradients are summed in ExGrad, so opposite
     * rows cancel: z1 = (0, 0) label 0 and z2 = (0, 0) label 1 give dz2 = -dz1, ExGrad 0 for
     * equal hidden states */
    const float z2[4] = {0, 0, 0, 0};
    const int32_t y2[2] = {0, 1};
    float dz2[4];
    assert_int_equal(umpire_grad_loss(z2, y2, 2, 2, 1, dz2, &L), 0);
    assert_true(fabs(L.loss - log(2) * log(2)) < 1e-12);
    assert_true(fabs(dz2[0] - log(2) / 2 * -0.5) < 1e-7 && fabs(dz2[2] + dz2[0]) < 1e-9);
    const float h2[4] = {1, -2, 1, -2};
    assert_true(fabs(umpire_grad_exgrad(dz2, h2, 2, 2, 2, NULL, NULL, 0)) < 1e-9);
    /* a label outside the vocabulary, no tokens */
    const int32_t bad[1] = {2};
    assert_int_equal(umpire_grad_loss(z, bad, 1, 2, 1, dz, &L), -1);
    assert_int_equal(umpire_grad_loss(z, y, 0, 2, 1, dz, &L), -1);
}

static void test_entropy_floor(void **state) {
    (void)state;
    /* logits (0, -50, -50): p = (1 - 2e, e, e), e = exp(-50) / (1 + 2 exp(-50)) < 1e-15, so
     * each small term is e * log(1e-15) (the reference's clamp), not e * log e */
    const float z[3] = {0, -50, -50};
    const double e = exp(-50.0) / (1 + 2 * exp(-50.0)), p0 = 1 - 2 * e;
    const double want = -p0 * log(p0) - 2 * e * log(1e-15);
    assert_true(fabs(umpire_grad_entropy(z, 3) - want) < 1e-18);
    assert_true(fabs(umpire_grad_entropy(z, 3) - (-p0 * log(p0) - 2 * e * log(e))) > 1e-21);
}

static void test_hybrid_and_layers(void **state) {
    (void)state;
    /* a = exp(-H): H = 0 -> ExGrad, H large -> SemGrad */
    assert_true(fabs(umpire_grad_hybrid(2.0, 5.0, 0.0) - 2.0) < 1e-15);
    assert_true(fabs(umpire_grad_hybrid(2.0, 5.0, log(2.0)) - 3.5) < 1e-15);
    /* the reference keeps hidden_states[:-1][-floor(L/2):], hidden_states[j] = l_out-(j-1) */
    int first, last;
    assert_int_equal(umpire_grad_layers(32, &first, &last), 16);
    assert_int_equal(first, 15);
    assert_int_equal(last, 30);
    assert_int_equal(umpire_grad_layers(5, &first, &last), 2);
    assert_int_equal(first, 2);
    assert_int_equal(last, 3);
    assert_int_equal(umpire_grad_layers(2, &first, &last), 1);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    assert_int_equal(umpire_grad_layers(1, &first, &last), 0);
}

/* ------------------------------------------------------------------ llama.cpp's side */

/* cb_eval: add eps * dir to row `row` of the tensor named `name` */
struct nudge {
    char name[32];
    int row;
    const float *dir;
    double eps;
    /* capture: every l_out-<il>'s last n_off rows into capture[(il * n_off + j) * ne0] */
    float *capture;
    int n_off;
};

static bool nudge_cb(struct ggml_tensor *t, bool ask, void *user) {
    struct nudge *n = user;
    if (n->capture && !strncmp(t->name, "l_out-", 6)) {
        if (!ask) {
            const int il = atoi(t->name + 6);
            for (int j = 0; j < n->n_off; j++)
                memcpy(n->capture + ((size_t)il * n->n_off + j) * t->ne[0],
                       (char *)t->data + (size_t)(t->ne[1] - 1 - j) * t->nb[1],
                       (size_t)t->ne[0] * sizeof(float));
        }
        return true;
    }
    if (strcmp(t->name, n->name) != 0)
        return ask ? false : true;
    if (ask)
        return true;
    if (n->eps != 0) {
        assert_int_equal(t->type, GGML_TYPE_F32);
        float *r = (float *)((char *)t->data + (size_t)n->row * t->nb[1]);
        for (int64_t j = 0; j < t->ne[0]; j++)
            r[j] += (float)(n->eps * n->dir[j]);
    }
    return true;
}

struct llama_run {
    struct llama_model *model;
    struct llama_context *ctx;
    struct nudge nudge;
    int n_vocab;
};

static void run_open(struct llama_run *r, const char *file, int n_ctx, bool repack) {
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.use_extra_bufts = repack; /* false: the plain CPU kernels, the ones the own graph runs */
    r->model = llama_model_load_from_file(path_of(file), mp);
    assert_non_null(r->model);
    r->n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(r->model));
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = (uint32_t)n_ctx;
    cp.n_ubatch = (uint32_t)n_ctx;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    cp.type_k = GGML_TYPE_F32; /* the own graph keeps K and V in F32 */
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.cb_eval = nudge_cb;
    cp.cb_eval_user_data = &r->nudge;
    r->ctx = llama_init_from_model(r->model, cp);
    assert_non_null(r->ctx);
}

static void run_close(struct llama_run *r) {
    llama_free(r->ctx);
    llama_model_free(r->model);
}

/* llama.cpp's logits for every position of tok[0..n) into z (n x n_vocab) */
static void run_logits(struct llama_run *r, const int32_t *tok, int n, float *z) {
    llama_memory_clear(llama_get_memory(r->ctx), true);
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = tok[i];
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = n;
    assert_int_equal(llama_decode(r->ctx, b), 0);
    for (int i = 0; i < n; i++)
        memcpy(z + (size_t)i * r->n_vocab, llama_get_logits_ith(r->ctx, i),
               (size_t)r->n_vocab * sizeof *z);
    llama_batch_free(b);
}

/* A fixed token sequence: a deterministic walk over the vocabulary (no special meaning). */
static void make_tokens(int32_t *tok, int n, int n_vocab, uint32_t seed) {
    uint32_t x = seed;
    for (int i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        tok[i] = (int32_t)(100 + (x >> 8) % (uint32_t)(n_vocab - 200));
    }
}

/* z (n rows of V logits) -> their log-softmax, in place, computed in double */
static void log_softmax_rows(float *z, int n, int V) {
    for (int i = 0; i < n; i++) {
        float *zi = z + (size_t)i * V;
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++)
            mx = fmax(mx, zi[v]);
        for (int v = 0; v < V; v++)
            s += exp(zi[v] - mx);
        for (int v = 0; v < V; v++)
            zi[v] = (float)(zi[v] - mx - log(s));
    }
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* The own graph's log-probs against llama.cpp's plain CPU kernels (tol), and, for a quantised
 * model, also against llama.cpp's repacked kernels: returns that second difference (0 if
 * not measured) and the first in *own. */
static double check_logprobs(const char *file, double tol, int repacked, double *own) {
    char err[256] = "";
    struct grad_model m;
    assert_int_equal(grad_model_load(&m, path_of(file), 2, err), 0);
    const int n = 24;
    int32_t tok[24];
    make_tokens(tok, n, m.hp.n_vocab, 7);
    const int V = m.hp.n_vocab;
    float *ours = malloc((size_t)n * V * sizeof *ours),
          *theirs = malloc((size_t)n * V * sizeof *theirs);
    assert_int_equal(grad_model_logprobs(&m, tok, n, ours), 0);
    struct llama_run r = {0};
    run_open(&r, file, 64, false);
    assert_int_equal(r.n_vocab, V);
    run_logits(&r, tok, n, theirs);
    run_close(&r);
    log_softmax_rows(theirs, n, V);
    *own = max_abs_diff(theirs, ours, (size_t)n * V);
    print_message(
        "  %s: largest |log p(llama.cpp) - log p(own graph)| over %d positions x %d tokens: %.2e\n",
        file, n, V, *own);
    double between = 0;
    if (repacked) { /* llama.cpp against itself: its repacked kernels against its plain ones */
        float *other = malloc((size_t)n * V * sizeof *other);
        run_open(&r, file, 64, true);
        run_logits(&r, tok, n, other);
        run_close(&r);
        log_softmax_rows(other, n, V);
        between = max_abs_diff(theirs, other, (size_t)n * V);
        print_message("  %s: llama.cpp's repacked kernels against its plain ones: %.2e\n", file,
                      between);
        free(other);
    }
    assert_true(*own < tol);
    free(ours);
    free(theirs);
    grad_model_free(&m);
    return between;
}

static void test_logprobs_f32(void **state) {
    (void)state;
    double own;
    check_logprobs("tiny.gguf", 1e-3, 0, &own);
}
static void test_logprobs_gqa(void **state) {
    (void)state;
    double own;
    check_logprobs("m60.gguf", 1e-3, 0, &own);
}
/* Quantised weights: both llama.cpp and the own graph quantise the activations (Q8_K) before
 * each product, and a last-bit difference in an activation (another summation order in the
 * attention) can round it to the next step. On this random model, whose logits are far
 * sharper than a trained model's (loss ~80 nats a token), those steps move log-probs by up to
 * ~1e-1; llama.cpp's own two kernel sets differ as much. The check: the own graph is no further
 * from llama.cpp's plain kernels than llama.cpp's repacked kernels are. */
static void test_logprobs_q4k(void **state) {
    (void)state;
    double own;
    double between = check_logprobs("m60-q4k.gguf", 1.0, 1, &own);
    assert_true(own <= between);
}

/* A copy of a llama GGUF as another architecture of the family: "qwen2" with q/k/v biases,
 * "qwen3" with per-head q/k RMS norm weights (values near 1), both with RoPE over halves
 * (NEOX); "llama" with tied embeddings (no output.weight: the output matrix is token_embd).
 * Written next to the test models; the tokenizer and the other weights are the same. */
static void derive(const char *src, const char *dst, const char *arch) {
    const int tied = !strcmp(arch, "llama");
    struct ggml_context *data = NULL;
    struct gguf_init_params gp = {.no_alloc = false, .ctx = &data};
    struct gguf_context *in = gguf_init_from_file(path_of(src), gp);
    assert_non_null(in);
    struct gguf_context *out = gguf_init_empty();
    for (int64_t i = 0; i < gguf_get_n_kv(in); i++) { /* llama.X -> arch.X */
        const char *key = gguf_get_key(in, i);
        if (strncmp(key, "llama.", 6) != 0)
            continue;
        char renamed[128];
        snprintf(renamed, sizeof renamed, "%s.%s", arch, key + 6);
        if (gguf_get_kv_type(in, i) == GGUF_TYPE_UINT32)
            gguf_set_val_u32(out, renamed, gguf_get_val_u32(in, i));
        else if (gguf_get_kv_type(in, i) == GGUF_TYPE_FLOAT32)
            gguf_set_val_f32(out, renamed, gguf_get_val_f32(in, i));
    }
    struct gguf_context *rest = gguf_init_empty(); /* the other keys, tokenizer included */
    gguf_set_kv(rest, in);
    for (int64_t i = gguf_get_n_kv(rest) - 1; i >= 0; i--)
        if (!strncmp(gguf_get_key(rest, i), "llama.", 6))
            gguf_remove_key(rest, gguf_get_key(rest, i));
    gguf_set_kv(out, rest);
    gguf_free(rest);
    gguf_set_val_str(out, "general.architecture", arch);
    const int n_layer = (int)gguf_get_val_u32(in, gguf_find_key(in, "llama.block_count"));
    const int n_embd = (int)gguf_get_val_u32(in, gguf_find_key(in, "llama.embedding_length"));
    const int n_head = (int)gguf_get_val_u32(in, gguf_find_key(in, "llama.attention.head_count"));
    const int n_head_kv =
        (int)gguf_get_val_u32(in, gguf_find_key(in, "llama.attention.head_count_kv"));
    const int d = n_embd / n_head;
    struct ggml_init_params ip = {
        .mem_size =
            (size_t)n_layer * 3 * (ggml_tensor_overhead() + (size_t)n_embd * 4 + 64) + 1024 * 1024,
        .no_alloc = false};
    struct ggml_context *extra = ggml_init(ip);
    for (int64_t i = 0; i < gguf_get_n_tensors(in); i++)
        if (!tied || strcmp(gguf_get_tensor_name(in, i), "output.weight"))
            gguf_add_tensor(out, ggml_get_tensor(data, gguf_get_tensor_name(in, i)));
    uint32_t x = 99;
    for (int il = 0; !tied && il < n_layer; il++) {
        const char *names[3] = {"attn_q", "attn_k", "attn_v"};
        const int qwen3 = !strcmp(arch, "qwen3");
        for (int j = 0; j < (qwen3 ? 2 : 3); j++) {
            const int64_t n = qwen3 ? d : (int64_t)d * (j ? n_head_kv : n_head);
            struct ggml_tensor *t = ggml_new_tensor_1d(extra, GGML_TYPE_F32, n);
            char name[64];
            snprintf(name, sizeof name, qwen3 ? "blk.%d.%s_norm.weight" : "blk.%d.%s.bias", il,
                     names[j]);
            ggml_set_name(t, name);
            for (int64_t k = 0; k < n; k++) {
                x = x * 1664525u + 1013904223u;
                ((float *)t->data)[k] =
                    (qwen3 ? 1.0f : 0.0f) + 0.5f * ((float)(x >> 8) / (1 << 24) - 0.5f);
            }
            gguf_add_tensor(out, t);
        }
    }
    assert_true(gguf_write_to_file(out, path_of(dst), false));
    gguf_free(out);
    gguf_free(in);
    ggml_free(extra);
    ggml_free(data);
}

static void test_logprobs_qwen(void **state) {
    (void)state;
    double own;
    derive("tiny.gguf", "grad-tiny-qwen2.gguf", "qwen2");
    check_logprobs("grad-tiny-qwen2.gguf", 1e-3, 0, &own);
    derive("tiny.gguf", "grad-tiny-qwen3.gguf", "qwen3");
    check_logprobs("grad-tiny-qwen3.gguf", 1e-3, 0, &own);
    derive("m60.gguf", "grad-m60-qwen3.gguf", "qwen3");
    check_logprobs("grad-m60-qwen3.gguf", 1e-3, 0, &own);
    /* and the copies are other functions than the llama original (the check could fail) */
    char err[256];
    const int n = 12;
    int32_t tok[12];
    const char *files[3] = {"tiny.gguf", "grad-tiny-qwen2.gguf", "grad-tiny-qwen3.gguf"};
    float *lp[3];
    for (int i = 0; i < 3; i++) {
        struct grad_model m;
        assert_int_equal(grad_model_load(&m, path_of(files[i]), 2, err), 0);
        make_tokens(tok, n, m.hp.n_vocab, 3);
        lp[i] = malloc((size_t)n * m.hp.n_vocab * sizeof *lp[i]);
        assert_int_equal(grad_model_logprobs(&m, tok, n, lp[i]), 0);
        if (i)
            assert_true(max_abs_diff(lp[0], lp[i], (size_t)n * m.hp.n_vocab) > 1e-2);
        grad_model_free(&m);
    }
    for (int i = 0; i < 3; i++)
        free(lp[i]);
}

/* L from llama.cpp's logits of tok (answer rows n_prompt-1 .. n-2), with the weights w fixed */
static double run_loss(struct llama_run *r, const int32_t *tok, int n, int n_prompt,
                       const double *w, float *z) {
    run_logits(r, tok, n, z);
    double L = 0;
    for (int t = n_prompt - 1; t < n - 1; t++) {
        const float *zt = z + (size_t)t * r->n_vocab;
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < r->n_vocab; v++)
            mx = fmax(mx, zt[v]);
        for (int v = 0; v < r->n_vocab; v++)
            s += exp(zt[v] - mx);
        L -= w[t - (n_prompt - 1)] * (zt[tok[t + 1]] - mx - log(s));
    }
    return L / (n - n_prompt);
}

/* The directional derivative of L along dir at l_out-<il>, row pos, by central differences
 * through llama.cpp, Richardson-extrapolated from steps eps and eps / 2. */
static double run_fd(struct llama_run *r, const int32_t *tok, int n, int n_prompt, int il, int pos,
                     const float *dir, double eps, const double *w, float *z) {
    snprintf(r->nudge.name, sizeof r->nudge.name, "l_out-%d", il);
    r->nudge.row = pos;
    r->nudge.dir = dir;
    double d[2];
    for (int k = 0; k < 2; k++) {
        double e = k ? eps / 2 : eps;
        r->nudge.eps = e;
        double up = run_loss(r, tok, n, n_prompt, w, z);
        r->nudge.eps = -e;
        double down = run_loss(r, tok, n, n_prompt, w, z);
        d[k] = (up - down) / (2 * e);
    }
    r->nudge.eps = 0;
    return (4 * d[1] - d[0]) / 3;
}

static void check_fd(const char *file, double tol) {
    char err[256] = "";
    struct grad_model m;
    assert_int_equal(grad_model_load(&m, path_of(file), 2, err), 0);
    struct llama_run r = {0};
    run_open(&r, file, 64, false);
    const int n = 20, n_prompt = 14;
    int32_t tok[20];
    make_tokens(tok, n, r.n_vocab, 11);
    struct grad_item_params p = grad_item_default_params();
    p.position = n_prompt - 3;
    struct grad_item_result g;
    assert_int_equal(grad_item_score(&m, tok, n, n_prompt, &p, &g, err), 0);
    const int d = m.hp.n_embd;
    print_message("  %s: layers %d..%d, loss %.6f, SemGrad %.4e, ExGrad %.4e, HybridGrad %.4e\n",
                  file, g.layer_first, g.layer_last, g.loss, g.semgrad, g.exgrad, g.hybridgrad);
    /* the entropy weights from llama.cpp's unperturbed logits */
    float *z = malloc((size_t)n * r.n_vocab * sizeof *z);
    double w[20];
    run_logits(&r, tok, n, z);
    double L0 = 0;
    for (int t = n_prompt - 1; t < n - 1; t++)
        w[t - (n_prompt - 1)] = umpire_grad_entropy(z + (size_t)t * r.n_vocab, (size_t)r.n_vocab);
    L0 = run_loss(&r, tok, n, n_prompt, w, z);
    print_message("  loss through llama.cpp %.6f (own graph %.6f)\n", L0, g.loss);
    assert_true(fabs(L0 - g.loss) < 1e-3 * fmax(1, fabs(L0)));
    /* two directions at each of the first and the last selected layer: the gradient's own
     * (derivative = |g|) and a fixed pseudo-random one (derivative = <g, u>) */
    float *dir = malloc((size_t)d * sizeof *dir);
    double worst = 0;
    const int layers[2] = {g.layer_first, g.layer_last};
    for (int li = 0; li < 2; li++) {
        const float *gl = g.hidden_grad + (size_t)(layers[li] - g.layer_first) * d;
        for (int kind = 0; kind < 2; kind++) {
            double norm = 0, want = 0;
            uint32_t x = 12345u + (uint32_t)li;
            for (int j = 0; j < d; j++) {
                x = x * 1664525u + 1013904223u;
                dir[j] = kind == 0 ? gl[j] : (float)((double)(x >> 8) / (1 << 24) - 0.5);
                norm += (double)dir[j] * dir[j];
            }
            norm = sqrt(norm);
            for (int j = 0; j < d; j++) {
                dir[j] = (float)(dir[j] / norm);
                want += (double)gl[j] * dir[j];
            }
            double fd = run_fd(&r, tok, n, n_prompt, layers[li], p.position, dir, 0.05, w, z);
            double scale = 0; /* relative to |g| (the largest directional derivative) */
            for (int j = 0; j < d; j++)
                scale += (double)gl[j] * gl[j];
            double rel = fabs(fd - want) / sqrt(scale);
            print_message("  l_out-%d row %d, %s direction: autodiff %.6e, finite difference %.6e, "
                          "error/|g| %.2e\n",
                          layers[li], p.position, kind ? "random" : "gradient", want, fd, rel);
            worst = fmax(worst, rel);
        }
    }
    assert_true(worst < tol);
    free(dir);
    free(z);
    free(g.hidden_grad);
    run_close(&r);
    grad_model_free(&m);
}

/* m60: 8 layers with grouped-query attention. (The tiny model's loss, ~65 nats a token against
 * gradients ~1e-4, leaves float32 logits too little resolution for a finite difference; through
 * a quantised model the activations' Q8_K steps swamp any small one.) */
static void test_fd_gqa(void **state) {
    (void)state;
    check_fd("m60.gguf", 1e-2);
}
/* Quantised weights: the backward pass reaches the activations through Q4_K / Q6_K matrices
 * (ggml's out_prod dequantises a row at a time); no finite difference can check it (see
 * above), so: the scores of the Q4_K_M copy are within 5 % of the F32 model's (the copy's own
 * rounding; measured 1.4 % for SemGrad), and differ from them (the quantised weights are used). */
static void test_quantised_backward(void **state) {
    (void)state;
    char err[256] = "";
    const int n = 20, n_prompt = 14;
    int32_t tok[20];
    struct grad_item_result r[2];
    const char *files[2] = {"m60.gguf", "m60-q4k.gguf"};
    for (int i = 0; i < 2; i++) {
        struct grad_model m;
        assert_int_equal(grad_model_load(&m, path_of(files[i]), 2, err), 0);
        make_tokens(tok, n, m.hp.n_vocab, 11);
        struct grad_item_params p = grad_item_default_params();
        p.position = n_prompt - 3;
        assert_int_equal(grad_item_score(&m, tok, n, n_prompt, &p, &r[i], err), 0);
        free(r[i].hidden_grad);
        grad_model_free(&m);
    }
    const double ds = fabs(r[1].semgrad / r[0].semgrad - 1),
                 de = fabs(r[1].exgrad / r[0].exgrad - 1);
    print_message(
        "  Q4_K_M against F32: SemGrad %.4e vs %.4e (%.2f %%), ExGrad %.4e vs %.4e (%.2f %%)\n",
        r[1].semgrad, r[0].semgrad, 100 * ds, r[1].exgrad, r[0].exgrad, 100 * de);
    assert_true(ds < 0.05 && de < 0.05 && ds > 0 && de > 0);
}

/* qwen3 (per-head q/k norms, RoPE over halves); written by test_logprobs_qwen */
static void test_fd_qwen3(void **state) {
    (void)state;
    check_fd("grad-m60-qwen3.gguf", 1e-2);
}

static void check_exgrad(const char *file) {
    char err[256] = "";
    struct grad_model m;
    assert_int_equal(grad_model_load(&m, path_of(file), 2, err), 0);
    const int n = 16, n_prompt = 9;
    int32_t tok[16];
    make_tokens(tok, n, m.hp.n_vocab, 5);
    for (int weighted = 0; weighted < 2; weighted++) {
        struct grad_item_params p = grad_item_default_params();
        p.position = n_prompt - 1;
        p.weighted = weighted;
        p.exgrad_autodiff = 1;
        struct grad_item_result g;
        assert_int_equal(grad_item_score(&m, tok, n, n_prompt, &p, &g, err), 0);
        double rel = fabs(g.exgrad - g.exgrad_autodiff) / g.exgrad;
        print_message("  %s (%s): ExGrad analytic %.8e, autodiff %.8e, relative difference %.2e\n",
                      file, weighted ? "entropy-weighted" : "plain NLL", g.exgrad,
                      g.exgrad_autodiff, rel);
        assert_true(g.exgrad > 0 && rel < 1e-5);
        free(g.hidden_grad);
    }
    grad_model_free(&m);
}

static void test_exgrad_autodiff(void **state) {
    (void)state;
    check_exgrad("tiny.gguf");
    check_exgrad("m60.gguf");
}

/* Tied embeddings: the reference differentiates the one shared matrix, so ExGrad also has the
 * gradient through the input embeddings; analytic (+ that path from the backward pass) against
 * autodiff of token_embd as a whole. The tied copy also matches llama.cpp's log-probs. */
static void test_exgrad_tied(void **state) {
    (void)state;
    double own;
    derive("tiny.gguf", "grad-tiny-tied.gguf", "llama");
    check_logprobs("grad-tiny-tied.gguf", 1e-3, 0, &own);
    check_exgrad("grad-tiny-tied.gguf");
}

/* SPS from the own graph's states against SPS computed here from llama.cpp's l_out states */
static void test_sps_vs_llama(void **state) {
    (void)state;
    char err[256] = "";
    struct umpire_grad_model *g;
    assert_int_equal(umpire_grad_model_load(path_of("m60.gguf"), 2, &g, err), 0);
    struct llama_run r = {0};
    run_open(&r, "m60.gguf", 64, false);
    enum { N = 6, N_OFF = 3 };
    const int L = umpire_grad_model_n_layer(g), d = 512;
    /* three "questions", two phrasings each: phrasings of one question share their last 4
     * tokens (so their states there agree more than those of different questions) */
    int32_t toks[N][14];
    const int32_t *prompts[N];
    size_t n_tok[N], group[N];
    for (int i = 0; i < N; i++) {
        make_tokens(toks[i], 10 + i % 2 * 4, r.n_vocab, 31 + (uint32_t)i);
        n_tok[i] = (size_t)(10 + i % 2 * 4);
        int32_t tail[4];
        make_tokens(tail, 4, r.n_vocab, 1000 + (uint32_t)(i / 2));
        memcpy(toks[i] + n_tok[i] - 4, tail, sizeof tail);
        prompts[i] = toks[i];
        group[i] = (size_t)(i / 2);
    }
    double *sps = malloc((size_t)L * N_OFF * sizeof *sps);
    assert_int_equal(umpire_grad_sps(g, prompts, n_tok, group, N, N_OFF, sps, err), 0);
    float *h = malloc((size_t)N * L * N_OFF * d * sizeof *h);
    float *z = malloc((size_t)14 * r.n_vocab * sizeof *z);
    r.nudge.n_off = N_OFF;
    for (int i = 0; i < N; i++) {
        r.nudge.capture = h + (size_t)i * L * N_OFF * d;
        run_logits(&r, prompts[i], (int)n_tok[i], z);
    }
    r.nudge.capture = NULL;
    double worst = 0, top = -1;
    for (int il = 0; il < L; il++)
        for (int j = 0; j < N_OFF; j++) {
            double intra = 0, inter = 0;
            int n_intra = 0, n_inter = 0;
            for (int a = 0; a < N; a++)
                for (int b = a + 1; b < N; b++) {
                    const float *x = h + (((size_t)a * L + il) * N_OFF + j) * d,
                                *y = h + (((size_t)b * L + il) * N_OFF + j) * d;
                    double xy = 0, xx = 0, yy = 0;
                    for (int k = 0; k < d; k++)
                        xy += (double)x[k] * y[k], xx += (double)x[k] * x[k],
                            yy += (double)y[k] * y[k];
                    const double c = xy / sqrt(xx * yy);
                    if (group[a] == group[b])
                        intra += c, n_intra++;
                    else
                        inter += c, n_inter++;
                }
            const double want = intra / n_intra - inter / n_inter;
            worst = fmax(worst, fabs(want - sps[il * N_OFF + j]));
            top = fmax(top, want);
        }
    print_message("  SPS of %d layers x %d positions: largest |own graph - llama.cpp's states| "
                  "%.2e (largest SPS %.4f)\n",
                  L, N_OFF, worst, top);
    assert_true(worst < 1e-4);
    assert_true(top > 0.01); /* the shared tails make paraphrases agree: SPS is not all zero */
    /* no two different questions: refused */
    size_t one[N] = {0, 0, 0, 0, 0, 0};
    assert_int_equal(umpire_grad_sps(g, prompts, n_tok, one, N, N_OFF, sps, err), UMPIRE_EINVAL);
    free(sps);
    free(h);
    free(z);
    run_close(&r);
    umpire_grad_model_free(g);
}

/* ------------------------------------------------------------------ what is refused */

static void test_refused(void **state) {
    (void)state;
    char err[256] = "";
    struct grad_model m;
    /* a vision projector: another architecture, named */
    assert_int_equal(grad_model_load(&m, path_of("tiny-mmproj.gguf"), 1, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "architecture 'clip'"));
    assert_non_null(strstr(err, "tiny-mmproj.gguf"));
    /* not a GGUF file, a missing file */
    assert_int_equal(grad_model_load(&m, path_of("."), 1, err), UMPIRE_EIO);
    assert_int_equal(grad_model_load(&m, path_of("no-such.gguf"), 1, err), UMPIRE_EIO);
    assert_non_null(strstr(err, "no-such.gguf"));
    /* a position outside the prompt, an empty answer */
    assert_int_equal(grad_model_load(&m, path_of("tiny.gguf"), 1, err), 0);
    int32_t tok[6];
    make_tokens(tok, 6, m.hp.n_vocab, 3);
    struct grad_item_params p = grad_item_default_params();
    struct grad_item_result g;
    p.position = 4;
    assert_int_equal(grad_item_score(&m, tok, 6, 4, &p, &g, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "position 4"));
    p.position = 0;
    assert_int_equal(grad_item_score(&m, tok, 6, 6, &p, &g, err), UMPIRE_EINVAL);
    tok[5] = m.hp.n_vocab;
    assert_int_equal(grad_item_score(&m, tok, 6, 4, &p, &g, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "vocabulary"));
    grad_model_free(&m);
}

/* A trained model's quantised copy (the organism, Q4_K_M; its 128-wide rows fall back to the
 * 32-blocks of Q5_0 / Q8_0): llama.cpp and the own graph run the same quantised kernels on the
 * same quantised activations, and a trained model's logits are not the random models' cliffs,
 * so the log-probs agree within 1e-3 (measured: 0 here) as they do for its F32 original. */
static const char *organism_path;
static void test_logprobs_organism_q4k(void **state) {
    (void)state;
    static char q4[4096 + 16];
    snprintf(q4, sizeof q4, "%s.q4k.gguf", organism_path);
    llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M;
    qp.nthread = 2;
    assert_int_equal(llama_model_quantize(organism_path, q4, &qp), 0);
    double own;
    check_logprobs(organism_path, 1e-3, 0, &own);
    check_logprobs(q4, 1e-3, 0, &own);
    struct grad_model m;
    char err[256] = "";
    assert_int_equal(grad_model_load(&m, q4, 2, err), 0);
    int quantised = 0; /* the copy is quantised: the check is not F32 against F32 again */
    for (int i = 0; i < m.n_all; i++)
        quantised += ggml_is_quantized(m.all[i]->type);
    assert_true(quantised >= 4 * m.hp.n_layer);
    grad_model_free(&m);
    remove(q4);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: test_grad MODELS_DIR [ORGANISM.gguf]  (with the organism: only its checks)\n");
        return 2;
    }
    models_dir = argv[1];
    llama_log_set(quiet, NULL);
    llama_backend_init();
    if (argc == 3) {
        organism_path = argv[2];
        const struct CMUnitTest organism[] = {cmocka_unit_test(test_logprobs_organism_q4k)};
        int rc = cmocka_run_group_tests(organism, NULL, NULL);
        llama_backend_free();
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_by_hand),       cmocka_unit_test(test_entropy_floor),
        cmocka_unit_test(test_hybrid_and_layers),  cmocka_unit_test(test_logprobs_f32),
        cmocka_unit_test(test_logprobs_gqa),       cmocka_unit_test(test_logprobs_q4k),
        cmocka_unit_test(test_logprobs_qwen),      cmocka_unit_test(test_fd_gqa),
        cmocka_unit_test(test_quantised_backward), cmocka_unit_test(test_fd_qwen3),
        cmocka_unit_test(test_exgrad_autodiff),    cmocka_unit_test(test_exgrad_tied),
        cmocka_unit_test(test_sps_vs_llama),       cmocka_unit_test(test_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    llama_backend_free();
    return rc;
}
