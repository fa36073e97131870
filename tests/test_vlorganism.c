/* test_vlorganism.c - the vision-language organism (tools/vlorganism, src/grad/vit.c) on a
 * small model: every weight moves in training; the exported llama GGUF + mmproj give through
 * llama.cpp and libmtmd the training graph's image embeddings and answer log-probabilities
 * (libmtmd reading the picture from a PPM file: its decoding and preprocessing against ours);
 * the prompt's tokens are the engine's; training is deterministic; the world is what its
 * description says.
 * Usage: test_vlorganism WORK_DIR */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <llama.h>
#include <mtmd-helper.h>
#include <mtmd.h>
#include <ggml-cpu.h>

#include "core/rng.h"
#include "engine/engine.h"
#include "scene.h"
#include "umpire.h"
#include "vlmodel.h"
#include "vltrain.h"

static const char *work_dir;

static const char *path_in(const char *name) {
    static char buf[4][4096];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", work_dir, name);
    return buf[slot];
}

static const struct llama_shape small_shape = {32, 2, 2, 2, 64, 128};

static struct vit_hparams small_vit(void) {
    struct vit_hparams h = vit_default_hparams();
    h.n_embd = 32;
    h.n_head = 2;
    h.n_ff = 48;
    return h;
}

struct fixture {
    struct scene_world w;
    struct vocab v;
    struct corpus c;
    struct vl_model m;
};

static void fixture_make(struct fixture *f, uint64_t seed, int threads) {
    memset(f, 0, sizeof *f);
    scene_world_make(&f->w, 1, 64);
    char **texts;
    size_t n_texts;
    assert_int_equal(scene_texts(&texts, &n_texts), 0);
    assert_int_equal(vocab_build(&f->v, texts, n_texts), 0);
    for (size_t i = 0; i < n_texts; i++)
        free(texts[i]);
    free(texts);
    assert_int_equal(corpus_open(&f->c, &f->v, small_shape, path_in("vocab.gguf")), 0);
    assert_int_equal(vl_model_init(&f->m, small_shape, (int)f->v.n, small_vit(), seed, threads), 0);
}

static void fixture_free(struct fixture *f) {
    vl_model_free(&f->m);
    corpus_close(&f->c);
    vocab_free(&f->v);
}

static struct vl_train_params quick_params(int steps) {
    struct vl_train_params t = vl_train_default_params();
    t.rows = 8;
    t.steps = steps;
    t.lr = 3e-3f;
    return t;
}

static void test_every_weight_moves(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f, 7, 2);
    struct vl_model *m = &f.m;
    assert_int_equal(m->n_all, 9 + 15 * 2 + 3 + 9 * small_shape.n_layer);
    float **before = calloc((size_t)m->n_all, sizeof *before);
    for (int i = 0; i < m->n_all; i++) {
        before[i] = malloc(ggml_nbytes(m->all[i]));
        ggml_backend_tensor_get(m->all[i], before[i], 0, ggml_nbytes(m->all[i]));
    }
    struct vl_train_params t = quick_params(20);
    assert_true(vl_train(m, &f.w, &f.c, &t) > 0);
    for (int i = 0; i < m->n_all; i++) {
        int64_t n = ggml_nelements(m->all[i]);
        float *after = malloc(ggml_nbytes(m->all[i]));
        ggml_backend_tensor_get(m->all[i], after, 0, ggml_nbytes(m->all[i]));
        double change = 0;
        for (int64_t j = 0; j < n; j++)
            change += fabs((double)after[j] - before[i][j]);
        change /= (double)n;
        if (!(change > 1e-5))
            fail_msg("%s did not change in training (mean |change| %g)", m->all[i]->name, change);
        free(after);
        free(before[i]);
    }
    free(before);
    fixture_free(&f);
}

/* libmtmd's preprocessing is clip's: x / 255, then (x - mean) / std per channel, planar */
static void test_preprocess_by_hand(void **state) {
    (void)state;
    struct vit_hparams h = vit_default_hparams();
    h.image = 2;
    const uint8_t rgb[12] = {255, 0, 128, 0, 0, 0, 10, 20, 30, 1, 2, 3};
    float out[12];
    vit_preprocess(&h, rgb, 1, out);
    assert_float_equal(out[0], (1.0 - 0.48145466) / 0.26862954, 1e-5);        /* R of pixel 0 */
    assert_float_equal(out[4], (0.0 - 0.4578275) / 0.26130258, 1e-5);         /* G of pixel 0 */
    assert_float_equal(out[8], (128 / 255.0 - 0.40821073) / 0.27577711, 1e-5); /* B of pixel 0 */
    assert_float_equal(out[2], (10 / 255.0 - 0.48145466) / 0.26862954, 1e-5); /* R of pixel 2 */
    assert_float_equal(out[11], (3 / 255.0 - 0.40821073) / 0.27577711, 1e-5); /* B of pixel 3 */
}


/* the training graph (F32 attention, layer norm and gelu from differentiable ops) computes what
 * the inference graph (libmtmd's ops) computes, to F16 rounding */
static void test_train_graph_matches_inference(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f, 11, 2);
    struct vl_train_params t = quick_params(10);
    assert_true(vl_train(&f.m, &f.w, &f.c, &t) > 0);
    const int side = f.m.vit.hp.image, N = 3;
    struct ggml_init_params ip = {.mem_size = 8192 * ggml_tensor_overhead() + 2 * ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *cx = ggml_init(ip);
    struct ggml_tensor *px = ggml_new_tensor_4d(cx, GGML_TYPE_F32, side, side, 3, N);
    struct ggml_tensor *a = vit_build(cx, &f.m.vit, px, 0), *b = vit_build(cx, &f.m.vit, px, 1);
    struct ggml_cgraph *gf = ggml_new_graph(cx);
    ggml_build_forward_expand(gf, a);
    ggml_build_forward_expand(gf, b);
    ggml_backend_buffer_t bb = ggml_backend_alloc_ctx_tensors(cx, f.m.lm.g.backend);
    assert_non_null(bb);
    uint8_t *rgb = malloc((size_t)side * side * 3 * N);
    float *pix = malloc((size_t)side * side * 3 * N * sizeof *pix);
    struct scene_example *ex;
    assert_int_equal(scene_eval(&f.w, EB_KNOWN, N, &ex), 0);
    for (int k = 0; k < N; k++)
        scene_render(&f.w, &ex[k].s, rgb + (size_t)k * side * side * 3);
    vit_preprocess(&f.m.vit.hp, rgb, N, pix);
    ggml_backend_tensor_set(px, pix, 0, ggml_nbytes(px));
    assert_int_equal(ggml_backend_graph_compute(f.m.lm.g.backend, gf), GGML_STATUS_SUCCESS);
    const int64_t n = ggml_nelements(a);
    float *va = malloc(ggml_nbytes(a)), *vb = malloc(ggml_nbytes(b));
    ggml_backend_tensor_get(a, va, 0, ggml_nbytes(a));
    ggml_backend_tensor_get(b, vb, 0, ggml_nbytes(b));
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)va[i] - vb[i]));
        scale = fmax(scale, fabs((double)va[i]));
    }
    print_message("  training vs inference graph: largest difference %.2e (largest value %.2e)\n", worst, scale);
    assert_true(scale > 0);
    assert_true(worst < 1e-2 * scale);
    scene_examples_free(ex, N);
    free(rgb);
    free(pix);
    free(va);
    free(vb);
    ggml_backend_buffer_free(bb);
    ggml_free(cx);
    fixture_free(&f);
}

/* The ViT's gradients (ggml's autodiff through the training graph) against finite differences
 * of loss = sum(output * R), R fixed: a few elements of every weight tensor. */
static void test_vit_gradients(void **state) {
    (void)state;
    struct vit_hparams h = small_vit();
    h.n_out = 16;
    ggml_backend_t be = ggml_backend_cpu_init();
    struct vit_model m;
    assert_int_equal(vit_create(&m, h, be, 9), 0);
    const int side = h.image, N = 2;
    struct ggml_init_params ip = {.mem_size = 16384 * ggml_tensor_overhead() + ggml_graph_overhead_custom(16384, true),
                                  .no_alloc = true};
    struct ggml_context *cx = ggml_init(ip);
    struct ggml_tensor *px = ggml_new_tensor_4d(cx, GGML_TYPE_F32, side, side, 3, N);
    struct ggml_tensor *out = vit_build(cx, &m, px, 1);
    struct ggml_tensor *R = ggml_new_tensor_2d(cx, GGML_TYPE_F32, out->ne[0], out->ne[1]);
    struct ggml_tensor *loss = ggml_sum(cx, ggml_mul(cx, out, R));
    ggml_set_loss(loss);
    struct ggml_cgraph *gb = ggml_new_graph_custom(cx, 16384, true);
    ggml_build_forward_expand(gb, loss);
    ggml_build_backward_expand(cx, gb, NULL);
    ggml_backend_buffer_t bb = ggml_backend_alloc_ctx_tensors(cx, be);
    assert_non_null(bb);
    struct scene_world w;
    scene_world_make(&w, 1, side);
    struct scene_example *ex;
    assert_int_equal(scene_eval(&w, EB_KNOWN, N, &ex), 0);
    uint8_t *rgb = malloc((size_t)side * side * 3 * N);
    float *pix = malloc((size_t)side * side * 3 * N * sizeof *pix), *r = malloc(ggml_nbytes(R));
    for (int k = 0; k < N; k++)
        scene_render(&w, &ex[k].s, rgb + (size_t)k * side * side * 3);
    vit_preprocess(&h, rgb, N, pix);
    ggml_backend_tensor_set(px, pix, 0, ggml_nbytes(px));
    for (int64_t i = 0; i < ggml_nelements(R); i++)
        r[i] = (float)sin(0.37 * (double)i);
    ggml_backend_tensor_set(R, r, 0, ggml_nbytes(R));
    ggml_graph_reset(gb);
    assert_int_equal(ggml_backend_graph_compute(be, gb), GGML_STATUS_SUCCESS);
    double worst = 0;
    for (int t = 0; t < m.n_all; t++) {
        struct ggml_tensor *wt = m.all[t], *g = ggml_graph_get_grad(gb, wt);
        assert_non_null(g);
        const int64_t n = ggml_nelements(wt);
        float *gv = malloc(ggml_nbytes(g)), *wv = malloc(ggml_nbytes(wt));
        ggml_backend_tensor_get(g, gv, 0, ggml_nbytes(g));
        ggml_backend_tensor_get(wt, wv, 0, ggml_nbytes(wt));
        for (int probe = 0; probe < 3; probe++) {
            const int64_t j = (probe * 7919 + t * 31) % n;
            const float keep = wv[j], eps = 1e-3f;
            double lp, lm;
            float v;
            wv[j] = keep + eps;
            ggml_backend_tensor_set(wt, wv, 0, ggml_nbytes(wt));
            ggml_graph_reset(gb);
            ggml_backend_graph_compute(be, gb);
            ggml_backend_tensor_get(loss, &v, 0, sizeof v);
            lp = v;
            wv[j] = keep - eps;
            ggml_backend_tensor_set(wt, wv, 0, ggml_nbytes(wt));
            ggml_graph_reset(gb);
            ggml_backend_graph_compute(be, gb);
            ggml_backend_tensor_get(loss, &v, 0, sizeof v);
            lm = v;
            wv[j] = keep;
            ggml_backend_tensor_set(wt, wv, 0, ggml_nbytes(wt));
            const double fd = (lp - lm) / (2 * eps), an = gv[j];
            /* float32 sums: finite differences carry about 1e-3 of noise */
            const double err = fmax(0.0, fabs(fd - an) - 5e-3) / fmax(1e-2, fmax(fabs(fd), fabs(an)));
            if (err > worst)
                worst = err;
            if (err > 0.05)
                print_message("  %s[%lld]: autodiff %.5g, finite differences %.5g\n", wt->name, (long long)j, an, fd);
        }
        free(gv);
        free(wv);
    }
    print_message("  ViT gradients vs finite differences: largest relative error %.2e\n", worst);
    assert_true(worst < 0.05);
    scene_examples_free(ex, N);
    free(rgb);
    free(pix);
    free(r);
    ggml_backend_buffer_free(bb);
    ggml_free(cx);
    vit_free(&m);
    ggml_backend_free(be);
}

static double max_diff_logprobs(const float *logits, const float *ours, size_t V) {
    double mx = -INFINITY, z = 0, worst = 0;
    for (size_t v = 0; v < V; v++)
        mx = fmax(mx, logits[v]);
    for (size_t v = 0; v < V; v++)
        z += exp(logits[v] - mx);
    for (size_t v = 0; v < V; v++)
        worst = fmax(worst, fabs((logits[v] - mx - log(z)) - ours[v]));
    return worst;
}

/* the exported pair through llama.cpp + libmtmd == the training graph, on image prompts */
static void test_export_matches_graph(void **state) {
    (void)state;
    struct fixture f;
    fixture_make(&f, 3, 2);
    struct vl_train_params t = quick_params(40);
    assert_true(vl_train(&f.m, &f.w, &f.c, &t) > 0); /* trained weights, not the init */
    const char *model = path_in("vl.gguf"), *mmproj = path_in("vl-mmproj.gguf");
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(vl_write(&f.m, &f.v, model, mmproj, "test", err), 0);

    /* the engine's prompt text for an image question */
    struct umpire_engine_params p = umpire_engine_default_params();
    p.model_path = model;
    p.mmproj_path = mmproj;
    p.n_ctx = 256;
    p.n_threads = 2;
    p.k_max = 2;
    struct umpire_engine *e;
    assert_int_equal(umpire_engine_open(&p, &e, err), 0);

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *lm = llama_model_load_from_file(model, mp);
    assert_non_null(lm);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_threads = cp.n_threads_batch = 2;
    struct llama_context *lc = llama_init_from_model(lm, cp);
    assert_non_null(lc);
    struct mtmd_context_params mcp = mtmd_context_params_default(); /* as the engine opens it */
    mcp.use_gpu = false;
    mcp.print_timings = false;
    mcp.warmup = false;
    mcp.n_threads = 2;
    mtmd_context *mctx = mtmd_init_from_file(mmproj, lm, mcp);
    assert_non_null(mctx);

    const int P = vit_n_patches(&f.m.vit.hp), side = f.m.vit.hp.image;
    const size_t V = f.v.n, E = (size_t)small_shape.n_embd;
    /* three pictures (the third asked with a description before its question, as `umpire eval`
     * asks a dataset's "description") and a clip of CLIP_FRAMES frames */
    struct scene_example *ex, *clip;
    assert_int_equal(scene_eval(&f.w, EB_KNOWN, 4, &ex), 0);
    assert_int_equal(scene_eval_clips(&f.w, 1, &clip), 0);
    free(ex[3].question); /* the fourth prompt is the clip */
    free(ex[3].answer);
    free(ex[3].description);
    ex[3] = clip[0];
    free(clip);
    double worst_embd = 0, worst_lp = 0;
    uint8_t *rgb = malloc((size_t)side * side * 3 * CLIP_FRAMES);
    for (int k = 0; k < 4; k++) {
        const int n_img = ex[k].n_frames ? ex[k].n_frames : 1;
        char names[CLIP_FRAMES][4096], question[512];
        const char *images[CLIP_FRAMES];
        for (int i = 0; i < n_img; i++) {
            scene_render(&f.w, ex[k].n_frames ? &ex[k].frame[i] : &ex[k].s, rgb + (size_t)i * side * side * 3);
            snprintf(names[i], sizeof names[i], "%s/scene-%d.ppm", work_dir, i);
            assert_int_equal(scene_write_ppm(names[i], rgb + (size_t)i * side * side * 3, side, err), 0);
            images[i] = names[i];
        }
        if (k == 2) {
            struct umpire_rng g;
            umpire_rng_seed(&g, 7);
            char *d = scene_describe(&g, &ex[k].s, 3, -1, 0);
            snprintf(question, sizeof question, "%s\n%s", d, ex[k].question);
            free(d);
        } else {
            snprintf(question, sizeof question, "%s", ex[k].question);
        }
        struct vl_seq s;
        assert_int_equal(vl_tokenize(&f.c, P, n_img, question, ex[k].answer, &s), 0);
        float *ours = malloc((size_t)s.n * V * sizeof *ours), *embd = malloc((size_t)n_img * P * E * sizeof *embd);
        assert_int_equal(vl_logprobs(&f.m, &s, rgb, ours, embd), 0);

        struct umpire_query q = {.question = question, .images = images, .n_images = (size_t)n_img};
        char *text = umpire_engine_prompt_text(e, &q, (size_t)n_img);
        assert_non_null(text);
        struct mtmd_helper_bitmap_wrapper bw[CLIP_FRAMES];
        const mtmd_bitmap *bms[CLIP_FRAMES];
        for (int i = 0; i < n_img; i++) {
            bw[i] = mtmd_helper_bitmap_init_from_file(mctx, images[i], false, mtmd_helper_init_opt_default());
            assert_non_null(bw[i].bitmap);
            bms[i] = bw[i].bitmap;
        }
        mtmd_input_chunks *chunks = mtmd_input_chunks_init();
        mtmd_input_text in = {text, strlen(text), true, true};
        assert_int_equal(mtmd_tokenize(mctx, chunks, &in, bms, (size_t)n_img), 0);
        /* the prompt, token for token: text, then each image's P rows and the text after it */
        assert_int_equal(mtmd_input_chunks_size(chunks), 2 * (size_t)n_img + 1);
        size_t at = 0, nt;
        for (size_t c = 0; c < 2 * (size_t)n_img + 1; c++) {
            const mtmd_input_chunk *ch = mtmd_input_chunks_get(chunks, c);
            if (c % 2) { /* image (c - 1) / 2 */
                assert_int_equal(mtmd_input_chunk_get_type(ch), MTMD_INPUT_CHUNK_TYPE_IMAGE);
                assert_int_equal(mtmd_input_chunk_get_n_tokens(ch), P);
                assert_int_equal(at, s.img_at[c / 2]);
                assert_int_equal(mtmd_encode_chunk(mctx, ch), 0);
                const float *theirs = mtmd_get_output_embd(mctx);
                for (size_t i = 0; i < (size_t)P * E; i++)
                    worst_embd = fmax(worst_embd, fabs((double)theirs[i] - embd[(c / 2) * P * E + i]));
                at += (size_t)P;
            } else {
                const llama_token *tt = mtmd_input_chunk_get_tokens_text(ch, &nt);
                assert_memory_equal(tt, s.tok + at, nt * sizeof *tt);
                at += nt;
            }
        }
        assert_int_equal(at, s.n_prompt);
        /* the answer's log-probabilities: the prompt, then the answer token by token */
        llama_memory_clear(llama_get_memory(lc), true);
        llama_pos n_past = 0;
        assert_int_equal(mtmd_helper_eval_chunks(mctx, lc, chunks, 0, 0, 256, true, &n_past), 0);
        assert_int_equal(n_past, s.n_prompt);
        worst_lp = fmax(worst_lp, max_diff_logprobs(llama_get_logits_ith(lc, -1), ours + (size_t)(s.n_prompt - 1) * V, V));
        for (int i = s.n_prompt; i + 1 < s.n; i++) {
            struct llama_batch b = llama_batch_get_one(&s.tok[i], 1);
            assert_int_equal(llama_decode(lc, b), 0);
            worst_lp = fmax(worst_lp, max_diff_logprobs(llama_get_logits_ith(lc, -1), ours + (size_t)i * V, V));
        }
        mtmd_input_chunks_free(chunks);
        for (int i = 0; i < n_img; i++)
            mtmd_bitmap_free(bw[i].bitmap);
        free(text);
        free(ours);
        free(embd);
        vl_seq_free(&s);
    }
    print_message("  largest |embedding(libmtmd) - embedding(graph)|: %.2e; |log p(llama.cpp + libmtmd) - log p(graph)| "
                  "over 3 image prompts' and a %d-frame clip's answers: %.2e\n",
                  worst_embd, CLIP_FRAMES, worst_lp);
    assert_true(worst_embd < 1e-5);
    assert_true(worst_lp < 1e-3);
    free(rgb);
    scene_examples_free(ex, 4);
    mtmd_free(mctx);
    llama_free(lc);
    llama_model_free(lm);
    umpire_engine_close(e);
    fixture_free(&f);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

/* the same seed gives the same bytes, on 1 thread or 2; another seed other bytes */
static void test_deterministic(void **state) {
    (void)state;
    const char *names[3][2] = {{"d1.gguf", "d1-mmproj.gguf"}, {"d2.gguf", "d2-mmproj.gguf"}, {"d3.gguf", "d3-mmproj.gguf"}};
    const uint64_t seeds[3] = {5, 5, 6};
    for (int r = 0; r < 3; r++) {
        struct fixture f;
        fixture_make(&f, seeds[r], r == 0 ? 1 : 2);
        struct vl_train_params t = quick_params(8);
        assert_true(vl_train(&f.m, &f.w, &f.c, &t) > 0);
        assert_int_equal(vl_write(&f.m, &f.v, path_in(names[r][0]), path_in(names[r][1]), "test", NULL), 0);
        fixture_free(&f);
    }
    for (int k = 0; k < 2; k++) {
        size_t n1, n2, n3;
        unsigned char *a = slurp(path_in(names[0][k]), &n1), *b = slurp(path_in(names[1][k]), &n2),
                      *c = slurp(path_in(names[2][k]), &n3);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        assert_true(n1 != n3 || memcmp(a, c, n1) != 0);
        free(a);
        free(b);
        free(c);
    }
}

static int pair_of(const struct object *o) { return o->shape * N_COLOURS + o->colour; }

/* the world as described: buckets of pairs, what training shows, what each bucket asks */
static void test_world(void **state) {
    (void)state;
    struct scene_world w;
    scene_world_make(&w, 1, 64);
    int counts[3] = {0};
    for (int s = 0; s < N_SHAPES; s++)
        for (int c = 0; c < N_COLOURS; c++)
            counts[w.bucket[s][c]]++;
    assert_int_equal(counts[PAIR_RARE], 3);
    assert_int_equal(counts[PAIR_UNSEEN], 3);
    const size_t n = 4000;
    struct scene_example *ex;
    assert_int_equal(scene_training(&w, 0, n, 3, &ex), 0);
    int seen[N_SHAPES * N_COLOURS] = {0}, idk = 0, max_objects = 0;
    for (size_t i = 0; i < n; i++) {
        const struct scene *s = &ex[i].s;
        max_objects = s->n > max_objects ? s->n : max_objects;
        assert_false(s->textured);
        for (int j = 0; j < s->n; j++) {
            seen[pair_of(&s->o[j])]++;
            for (int k = 0; k < j; k++) /* shapes, colours and quadrants distinct */
                assert_true(s->o[j].shape != s->o[k].shape && s->o[j].colour != s->o[k].colour &&
                            s->o[j].quad != s->o[k].quad);
        }
        if (!strcmp(ex[i].answer, SCENE_IDK)) { /* the question's shape is not in the picture */
            idk++;
            for (int j = 0; j < s->n; j++)
                assert_null(strstr(ex[i].question, scene_shape_name(s->o[j].shape)));
        }
    }
    assert_int_equal(max_objects, 3);
    for (int p = 0; p < N_SHAPES * N_COLOURS; p++) {
        int b = w.bucket[p / N_COLOURS][p % N_COLOURS];
        if (b == PAIR_UNSEEN)
            assert_int_equal(seen[p], 0);
        else if (b == PAIR_RARE) /* about p_rare / 3 of the scenes: 120 of 4000 */
            assert_true(seen[p] >= 80 && seen[p] <= 170);
        else
            assert_true(seen[p] > 200);
    }
    assert_true(idk > 0.12 * n && idk < 0.18 * n);
    scene_examples_free(ex, n);
    /* each evaluation bucket asks what it says */
    for (int b = 0; b < N_EVAL_BUCKETS; b++) {
        assert_int_equal(scene_eval(&w, b, 40, &ex), 0);
        for (size_t i = 0; i < 40; i++) {
            const struct scene *s = &ex[i].s;
            int is_idk = !strcmp(ex[i].answer, SCENE_IDK);
            assert_int_equal(is_idk, b == EB_IDK);
            assert_int_equal(s->textured, b == EB_OOD);
            if (b == EB_RARE)
                assert_int_equal(w.bucket[s->o[0].shape][s->o[0].colour], PAIR_RARE);
            if (b == EB_UNSEEN)
                assert_true(s->n == 4 ? !strcmp(ex[i].answer, "four")
                                      : w.bucket[s->o[0].shape][s->o[0].colour] == PAIR_UNSEEN);
            for (int j = 0; b != EB_RARE && b != EB_UNSEEN && j < s->n; j++)
                assert_int_equal(w.bucket[s->o[j].shape][s->o[j].colour], PAIR_FREQUENT);
        }
        scene_examples_free(ex, 40);
    }
}

/* the clips: what each kind shows, and that its first frame does not tell the answer; the
 * descriptions: true sentences, on about p_desc of the training questions */
static void test_clips_and_descriptions(void **state) {
    (void)state;
    struct scene_world w;
    scene_world_make(&w, 1, 64);
    const size_t n = 600;
    struct scene_example *ex;
    assert_int_equal(scene_clips(&w, 3, n, &ex), 0);
    int kinds[N_CLIP_KINDS] = {0}, way[2] = {0};
    double start[2] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct scene_example *e = &ex[i];
        assert_int_equal(e->n_frames, CLIP_FRAMES);
        kinds[e->kind]++;
        if (e->kind == CLIP_MOVE) {
            int right = !strcmp(e->answer, "right");
            assert_true(right || !strcmp(e->answer, "left"));
            assert_non_null(strstr(e->question, scene_shape_name(e->frame[0].o[0].shape)));
            for (int f = 0; f < CLIP_FRAMES; f++) {
                const struct object *o = &e->frame[f].o[0];
                assert_int_equal(o->dx - e->frame[0].o[0].dx, (right ? 1 : -1) * CLIP_STEP * f);
                int cx = (o->quad % 2) * 32 + 16 + o->dx;
                assert_true(cx - 8 >= 0 && cx + 8 <= 64); /* small, inside the picture (to its last column) */
                assert_true(abs(o->dx) <= 2 + 2 * CLIP_STEP && !o->big && o->quad == e->frame[0].o[0].quad);
                for (int j = 1; j < e->frame[f].n; j++) /* another shape stays still */
                    assert_memory_equal(&e->frame[f].o[j], &e->frame[0].o[j], sizeof *o);
            }
            way[right]++;
            start[right] += e->frame[0].o[0].dx;
        } else {
            int appear = e->kind == CLIP_APPEAR, first = 0, last = 0;
            for (int j = 0; j < e->frame[0].n; j++)
                first |= !strcmp(scene_shape_name(e->frame[0].o[j].shape), e->answer);
            for (int j = 0; j < e->frame[CLIP_FRAMES - 1].n; j++)
                last |= !strcmp(scene_shape_name(e->frame[CLIP_FRAMES - 1].o[j].shape), e->answer);
            assert_int_equal(first, !appear);
            assert_int_equal(last, appear);
            assert_int_equal(e->frame[appear ? CLIP_FRAMES - 1 : 0].n, 2);
        }
    }
    for (int k = 0; k < N_CLIP_KINDS; k++)
        assert_true(kinds[k] > 150);
    /* the first frame says nothing of the way: the start's mean offset is the same either way */
    assert_true(way[0] > 80 && way[1] > 80);
    assert_true(fabs(start[0] / way[0] - start[1] / way[1]) < 0.5);
    scene_examples_free(ex, n);

    assert_int_equal(scene_training(&w, 5, n, 3, &ex), 0);
    int described = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ex[i].description)
            continue;
        described++;
        char *d = strdup(ex[i].description);
        int sentences = 0;
        for (char *save, *t = strtok_r(d, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
            while (*t == ' ')
                t++;
            sentences++;
            int ok = 0; /* about a shape in the picture, with its colour, size or place; or the count */
            for (int j = 0; j < ex[i].s.n; j++) {
                const struct object *o = &ex[i].s.o[j];
                char want[3][96];
                snprintf(want[0], sizeof want[0], "The %s is %s", scene_shape_name(o->shape), scene_colour_name(o->colour));
                snprintf(want[1], sizeof want[1], "The %s is %s", scene_shape_name(o->shape), o->big ? "big" : "small");
                snprintf(want[2], sizeof want[2], "The %s is at the ", scene_shape_name(o->shape));
                ok |= !strcmp(t, want[0]) || !strcmp(t, want[1]) || !strncmp(t, want[2], strlen(want[2]));
            }
            static const char *counts[3] = {"There is one shape", "There are two shapes", "There are three shapes"};
            ok |= !strcmp(t, counts[ex[i].s.n - 1]);
            if (!ok)
                fail_msg("'%s' is not true of the picture", t);
        }
        assert_true(sentences >= 1 && sentences <= 3);
        free(d);
    }
    assert_true(described > 0.25 * n && described < 0.35 * n);
    scene_examples_free(ex, n);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_vlorganism WORK_DIR\n");
        return 2;
    }
    work_dir = argv[1];
    llama_backend_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_world),
        cmocka_unit_test(test_clips_and_descriptions),
        cmocka_unit_test(test_preprocess_by_hand),
        cmocka_unit_test(test_vit_gradients),
        cmocka_unit_test(test_every_weight_moves),
        cmocka_unit_test(test_train_graph_matches_inference),
        cmocka_unit_test(test_export_matches_graph),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
