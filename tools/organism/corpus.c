/* corpus.c - examples to token sequences through llama.cpp's tokenizer (see corpus.h). */
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llama.h>

#include "umpire.h"

int corpus_open(struct corpus *c, const struct vocab *v, struct llama_shape s, const char *tmp_path) {
    memset(c, 0, sizeof *c);
    struct gguf_context *g = gguf_init_empty();
    if (!g)
        return -1;
    llama_gguf_set_hparams(g, "umpire organism vocabulary", s, (int64_t)v->n);
    vocab_write_gguf(v, g);
    int ok = gguf_write_to_file(g, tmp_path, false);
    gguf_free(g);
    if (!ok)
        return -1;
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    c->model = llama_model_load_from_file(tmp_path, mp);
    remove(tmp_path);
    if (!c->model)
        return -1;
    c->vocab = llama_model_get_vocab(c->model);
    return 0;
}

void corpus_close(struct corpus *c) {
    if (c->model)
        llama_model_free(c->model);
    memset(c, 0, sizeof *c);
}

static int tokenize(struct corpus *c, const char *text, int special, int32_t *out, int cap) {
    return llama_tokenize(c->vocab, text, (int32_t)strlen(text), out, cap, special, special);
}

int corpus_prompt(const char *question, char *out, size_t cap) {
    /* the user's message as umpire's engine writes it for a text-only question */
    size_t len = strlen(question) + strlen(UMPIRE_DEFAULT_INSTRUCTION) + 2;
    char *user = malloc(len);
    if (!user)
        return -1;
    snprintf(user, len, "%s\n%s", question, UMPIRE_DEFAULT_INSTRUCTION);
    struct llama_chat_message msg = {"user", user};
    int n = llama_chat_apply_template(VOCAB_CHAT_TEMPLATE, &msg, 1, true, out, (int32_t)cap);
    free(user);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int corpus_tokenize(struct corpus *c, const char *question, const char *answer, struct seq *out) {
    char prompt[4096];
    if (corpus_prompt(question, prompt, sizeof prompt) < 0)
        return -1;
    int32_t tok[1024];
    int np = tokenize(c, prompt, 1, tok, 1024);
    int na = np < 0 ? -1 : tokenize(c, answer, 0, tok + np, 1023 - np);
    if (np <= 0 || na <= 0)
        return -1;
    tok[np + na] = llama_vocab_eos(c->vocab);
    out->n = np + na + 1;
    out->n_prompt = np;
    if (!(out->tok = malloc((size_t)out->n * sizeof *out->tok)))
        return -1;
    memcpy(out->tok, tok, (size_t)out->n * sizeof *tok);
    return 0;
}

int corpus_tokenize_all(struct corpus *c, const struct example *ex, size_t n, struct seq **out) {
    struct seq *s = calloc(n ? n : 1, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (corpus_tokenize(c, ex[i].question, ex[i].answer, &s[i]) != 0)
            return seqs_free(s, n), -1;
    *out = s;
    return 0;
}

void seqs_free(struct seq *s, size_t n) {
    for (size_t i = 0; s && i < n; i++)
        free(s[i].tok);
    free(s);
}
