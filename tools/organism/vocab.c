/* vocab.c - the organism's word-level vocabulary (see vocab.h). */
#define _POSIX_C_SOURCE 200809L
#include "vocab.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int word_char(char c) { return isalnum((unsigned char)c) || c == '\''; }

/* rwkv token strings escape backslashes and control characters */
static char *escape(const char *s, size_t len) {
    char *o = malloc(2 * len + 1), *p = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\')
            *p++ = '\\', *p++ = '\\';
        else if (s[i] == '\n')
            *p++ = '\\', *p++ = 'n';
        else if (s[i] == '\t')
            *p++ = '\\', *p++ = 't';
        else
            *p++ = s[i];
    }
    *p = '\0';
    return o;
}

int vocab_build(struct vocab *v, char *const *texts, size_t n_texts) {
    memset(v, 0, sizeof *v);
    /* words: a run of letters, digits and apostrophes, with the space before it if any */
    size_t cap = 1024, n_words = 0;
    char **words = malloc(cap * sizeof *words);
    if (!words)
        return -1;
    static const char *roles[] = {"user", "assistant", "system"};
    for (size_t t = 0; t < n_texts + 3; t++) {
        const char *s = t < n_texts ? texts[t] : roles[t - n_texts];
        for (size_t i = 0; s[i];) {
            size_t start = i, j = i + (s[i] == ' ');
            if (!word_char(s[j])) {
                i++;
                continue;
            }
            while (word_char(s[j]))
                j++;
            if (n_words == cap) {
                char **g = realloc(words, (cap *= 2) * sizeof *g);
                if (!g)
                    goto fail;
                words = g;
            }
            if (j - start > 1 && !(words[n_words++] = strndup(s + start, j - start)))
                goto fail;
            i = j;
        }
    }
    qsort(words, n_words, sizeof *words, cmp_str);
    v->tokens = malloc((3 + 96 + 2 + n_words) * sizeof *v->tokens);
    if (!v->tokens)
        goto fail;
    v->tokens[v->n++] = strdup("<unk>");
    v->tokens[v->n++] = strdup("<|im_start|>");
    v->tokens[v->n++] = strdup("<|im_end|>");
    char c[2] = {0, 0};
    for (int ch = 32; ch < 127; ch++)
        c[0] = (char)ch, v->tokens[v->n++] = escape(c, 1);
    v->tokens[v->n++] = escape("\n", 1);
    v->tokens[v->n++] = escape("\t", 1);
    for (size_t i = 0; i < n_words; i++)
        if (i == 0 || strcmp(words[i], words[i - 1]) != 0)
            v->tokens[v->n++] = escape(words[i], strlen(words[i]));
    for (size_t i = 0; i < v->n; i++)
        if (!v->tokens[i])
            goto fail;
    for (size_t i = 0; i < n_words; i++)
        free(words[i]);
    free(words);
    return 0;
fail:
    for (size_t i = 0; i < n_words; i++)
        free(words[i]);
    free(words);
    vocab_free(v);
    return -1;
}

void vocab_free(struct vocab *v) {
    for (size_t i = 0; v->tokens && i < v->n; i++)
        free(v->tokens[i]);
    free(v->tokens);
    memset(v, 0, sizeof *v);
}

void vocab_write_gguf(const struct vocab *v, struct gguf_context *g) {
    gguf_set_val_str(g, "tokenizer.ggml.model", "rwkv");
    gguf_set_arr_str(g, "tokenizer.ggml.tokens", (const char **)v->tokens, v->n);
    int32_t *types = malloc(v->n * sizeof *types);
    if (types) {
        for (size_t i = 0; i < v->n; i++) /* 1 normal, 2 unknown, 3 control */
            types[i] = i == VOCAB_UNK ? 2 : i <= VOCAB_IM_END ? 3 : 1;
        gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, v->n);
        free(types);
    }
    gguf_set_val_u32(g, "tokenizer.ggml.unknown_token_id", VOCAB_UNK);
    gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", VOCAB_IM_START);
    gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", VOCAB_IM_END);
    gguf_set_val_u32(g, "tokenizer.ggml.padding_token_id", VOCAB_UNK);
    gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", false);
    gguf_set_val_bool(g, "tokenizer.ggml.add_eos_token", false);
    gguf_set_val_str(g, "tokenizer.chat_template", VOCAB_CHAT_TEMPLATE);
}
