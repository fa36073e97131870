/* vocab.h - a word-level vocabulary fitted to the world's texts, written as a GGUF tokenizer
 * that llama.cpp reads ("rwkv" model: greedy longest match over the token strings).
 *
 * Tokens: <unk>, the ChatML control tokens, every printable ASCII character (so any text
 * tokenizes), then every word of the world with and without a leading space. Whole words are
 * single tokens, which keeps sequences short and training fast. */
#ifndef UMPIRE_ORGANISM_VOCAB_H
#define UMPIRE_ORGANISM_VOCAB_H

#include <stddef.h>

#include <gguf.h>

#define VOCAB_UNK 0
#define VOCAB_IM_START 1
#define VOCAB_IM_END 2

/* ChatML, which llama.cpp recognises by its <|im_start|> marker. */
#define VOCAB_CHAT_TEMPLATE                                                                         \
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] " \
    "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

struct vocab {
    char **tokens; /* token texts as llama.cpp's rwkv tokenizer reads them (escaped) */
    size_t n;
};

/* Fit the vocabulary to texts (deterministic: the same texts give the same ids). */
int vocab_build(struct vocab *v, char *const *texts, size_t n_texts);
void vocab_free(struct vocab *v);

/* Write the tokenizer and its chat template into a GGUF being built. */
void vocab_write_gguf(const struct vocab *v, struct gguf_context *g);

#endif
