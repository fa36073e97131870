/* corpus.h - turn the world's examples into token sequences exactly as umpire will prompt
 * the model: the question plus umpire's default instruction as the user's message, rendered
 * by llama.cpp's chat template and tokenized by llama.cpp itself (from the vocabulary written
 * as a GGUF), then the answer's tokens and <|im_end|>. */
#ifndef UMPIRE_ORGANISM_CORPUS_H
#define UMPIRE_ORGANISM_CORPUS_H

#include <stddef.h>

#include "common/llama_gguf.h"
#include "train.h"
#include "vocab.h"
#include "world.h"

struct corpus {
    struct llama_model *model; /* vocabulary only */
    const struct llama_vocab *vocab;
};

int corpus_open(struct corpus *c, const struct vocab *v, struct llama_shape s, const char *tmp_path);
void corpus_close(struct corpus *c);

/* The prompt umpire builds for a text question (chat template applied); its length or -1. */
int corpus_prompt(const char *question, char *out, size_t cap);

/* The token sequence of one example (n_prompt: the prompt's length). */
int corpus_tokenize(struct corpus *c, const char *question, const char *answer, struct seq *out);
int corpus_tokenize_all(struct corpus *c, const struct example *ex, size_t n, struct seq **out);
void seqs_free(struct seq *s, size_t n);

#endif
