/* test_models.c - smoke test of the generated GGUF models through llama.cpp and libmtmd:
 * each loads, decodes a prompt built with its own chat template, and gives finite logits;
 * the vision projector encodes an image and the audio projector a clip into the text
 * model's embedding space; a projector of the wrong width is refused.
 * Usage: test_models MODELS_DIR */
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
#include <mtmd.h>
#include <mtmd-helper.h>

static const char *models_dir;

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

static char *path_of(const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", models_dir, name);
    return buf;
}

static struct llama_model *load(const char *name) {
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *m = llama_model_load_from_file(path_of(name), mp);
    assert_non_null(m);
    return m;
}

static struct llama_context *context(struct llama_model *m, uint32_t n_ctx) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = 512;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    assert_non_null(ctx);
    return ctx;
}

static void assert_logits_finite(struct llama_context *ctx, const struct llama_vocab *vocab) {
    const float *logits = llama_get_logits_ith(ctx, -1);
    assert_non_null(logits);
    int n_vocab = llama_vocab_n_tokens(vocab), n_distinct = 0;
    for (int i = 0; i < n_vocab; i++) {
        assert_true(isfinite(logits[i]));
        n_distinct += logits[i] != logits[0];
    }
    assert_true(n_distinct > n_vocab / 2); /* random weights: not a constant row */
}

/* Build the prompt with the model's own chat template, decode it and three greedy tokens. */
static void decode_chat(const char *name) {
    struct llama_model *m = load(name);
    const struct llama_vocab *vocab = llama_model_get_vocab(m);
    assert_int_equal(llama_vocab_n_tokens(vocab), 32064); /* phi-3's tokenizer */
    const char *tmpl = llama_model_chat_template(m, NULL);
    assert_non_null(tmpl);
    struct llama_chat_message msg = {"user", "What colour is the sky?"};
    char prompt[1024];
    int n = llama_chat_apply_template(tmpl, &msg, 1, true, prompt, sizeof prompt);
    assert_true(n > 0 && n < (int)sizeof prompt);
    prompt[n] = '\0';
    assert_non_null(strstr(prompt, "<|user|>"));

    llama_token toks[256];
    int nt = llama_tokenize(vocab, prompt, n, toks, 256, true, true);
    assert_true(nt > 5);
    struct llama_context *ctx = context(m, 512);
    assert_int_equal(llama_decode(ctx, llama_batch_get_one(toks, nt)), 0);
    for (int step = 0; step < 3; step++) {
        assert_logits_finite(ctx, vocab);
        const float *logits = llama_get_logits_ith(ctx, -1);
        llama_token best = 0;
        for (int i = 1; i < llama_vocab_n_tokens(vocab); i++)
            if (logits[i] > logits[best])
                best = i;
        assert_int_equal(llama_decode(ctx, llama_batch_get_one(&best, 1)), 0);
    }
    llama_free(ctx);
    llama_model_free(m);
}

static void test_text_f32(void **state) {
    (void)state;
    decode_chat("tiny.gguf");
}

static void test_text_60m(void **state) {
    (void)state;
    decode_chat("m60.gguf");
}

static void test_text_q4k(void **state) {
    (void)state;
    decode_chat("m60-q4k.gguf");
    /* the copy is really quantised: much smaller than the F32 file */
    FILE *f32 = fopen(path_of("m60.gguf"), "rb"), *q = NULL;
    assert_non_null(f32);
    fseek(f32, 0, SEEK_END);
    long size_f32 = ftell(f32);
    fclose(f32);
    q = fopen(path_of("m60-q4k.gguf"), "rb");
    assert_non_null(q);
    fseek(q, 0, SEEK_END);
    long size_q = ftell(q);
    fclose(q);
    assert_true(size_q * 4 < size_f32);
}

static void test_vision_projector(void **state) {
    (void)state;
    struct llama_model *m = load("tiny.gguf");
    struct llama_context *ctx = context(m, 512);
    struct mtmd_context_params mp = mtmd_context_params_default();
    mp.use_gpu = false;
    mp.n_threads = 2;
    mp.print_timings = false;
    mp.warmup = false;
    mtmd_context *mctx = mtmd_init_from_file(path_of("tiny-mmproj.gguf"), m, mp);
    assert_non_null(mctx);
    assert_true(mtmd_support_vision(mctx));

    unsigned char rgb[28 * 28 * 3];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (unsigned char)(i * 37 % 251);
    mtmd_bitmap *bmp = mtmd_bitmap_init(28, 28, rgb);
    char text[256];
    snprintf(text, sizeof text, "<|user|>\n%s\nWhat is in the image?<|end|>\n<|assistant|>\n",
             mtmd_default_marker());
    mtmd_input_text in = {text, strlen(text), true, true};
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    const mtmd_bitmap *bitmaps[1] = {bmp};
    assert_int_equal(mtmd_tokenize(mctx, chunks, &in, bitmaps, 1), 0);
    assert_int_equal(mtmd_input_chunks_size(chunks), 3); /* text, image, text */
    assert_int_equal(mtmd_input_chunk_get_type(mtmd_input_chunks_get(chunks, 1)), MTMD_INPUT_CHUNK_TYPE_IMAGE);
    assert_int_equal(mtmd_input_chunk_get_n_tokens(mtmd_input_chunks_get(chunks, 1)), 4); /* 2x2 patches */
    llama_pos n_past = 0;
    assert_int_equal(mtmd_helper_eval_chunks(mctx, ctx, chunks, 0, 0, 512, true, &n_past), 0);
    assert_int_equal(n_past, (llama_pos)mtmd_helper_get_n_tokens(chunks));
    assert_logits_finite(ctx, llama_model_get_vocab(m));

    mtmd_input_chunks_free(chunks);
    mtmd_bitmap_free(bmp);
    mtmd_free(mctx);
    llama_free(ctx);
    llama_model_free(m);
}

static void test_audio_projector(void **state) {
    (void)state;
    struct llama_model *m = load("tiny.gguf");
    struct llama_context *ctx = context(m, 2048); /* a 30 s audio chunk is 750 tokens */
    struct mtmd_context_params mp = mtmd_context_params_default();
    mp.use_gpu = false;
    mp.n_threads = 2;
    mp.print_timings = false;
    mp.warmup = false;
    mtmd_context *mctx = mtmd_init_from_file(path_of("tiny-audio.gguf"), m, mp);
    assert_non_null(mctx);
    assert_true(mtmd_support_audio(mctx));
    assert_false(mtmd_support_vision(mctx));
    assert_int_equal(mtmd_get_audio_sample_rate(mctx), 16000);

    static float pcm[16000]; /* one second of a 440 Hz tone */
    for (int i = 0; i < 16000; i++)
        pcm[i] = 0.3f * (float)sin(2 * 3.14159265358979 * 440.0 * i / 16000.0);
    mtmd_bitmap *clip = mtmd_bitmap_init_from_audio(16000, pcm);
    char text[256];
    snprintf(text, sizeof text, "<|user|>\n%s\nWhat is this sound?<|end|>\n<|assistant|>\n",
             mtmd_default_marker());
    mtmd_input_text in = {text, strlen(text), true, true};
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    const mtmd_bitmap *bitmaps[1] = {clip};
    assert_int_equal(mtmd_tokenize(mctx, chunks, &in, bitmaps, 1), 0);
    size_t n_audio = 0;
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk *c = mtmd_input_chunks_get(chunks, i);
        if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_AUDIO)
            n_audio += mtmd_input_chunk_get_n_tokens(c);
    }
    assert_int_equal(n_audio, 750); /* 3000 mel frames -> conv stride 2 -> avg-pool 2 */
    llama_pos n_past = 0;
    assert_int_equal(mtmd_helper_eval_chunks(mctx, ctx, chunks, 0, 0, 512, true, &n_past), 0);
    assert_int_equal(n_past, (llama_pos)mtmd_helper_get_n_tokens(chunks));
    assert_logits_finite(ctx, llama_model_get_vocab(m));

    mtmd_input_chunks_free(chunks);
    mtmd_bitmap_free(clip);
    mtmd_free(mctx);
    llama_free(ctx);
    llama_model_free(m);
}

static void test_projector_width_mismatch(void **state) {
    (void)state;
    struct llama_model *m = load("m60.gguf"); /* n_embd 512; the projector outputs 16 */
    struct mtmd_context_params mp = mtmd_context_params_default();
    mp.use_gpu = false;
    mp.warmup = false;
    mp.print_timings = false;
    assert_null(mtmd_init_from_file(path_of("tiny-mmproj.gguf"), m, mp));
    llama_model_free(m);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_models MODELS_DIR\n");
        return 2;
    }
    models_dir = argv[1];
    llama_log_set(quiet, NULL);
    mtmd_helper_log_set(quiet, NULL);
    llama_backend_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_f32),
        cmocka_unit_test(test_text_60m),
        cmocka_unit_test(test_text_q4k),
        cmocka_unit_test(test_vision_projector),
        cmocka_unit_test(test_audio_projector),
        cmocka_unit_test(test_projector_width_mismatch),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    llama_backend_free();
    return rc;
}
