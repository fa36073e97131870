/* world.h - a synthetic world of facts, generated from a seed, for the model organism.
 *
 * People (first name + surname) each have one value per relation (city, job, pet,
 * instrument), drawn from closed lists. Every fact is put in a bucket: FREQUENT facts appear
 * many times in every epoch of the training corpus, RARE ones once in a few epochs, UNSEEN
 * ones never. The
 * corpus also teaches reading a fact from the prompt ("in-context" examples, about people
 * who have no closed-book facts) and saying "I don't know" when the prompt's context is
 * about something else. Evaluation datasets (umpire eval's JSONL) ask about every bucket,
 * with the training phrasings and with held-out paraphrases. No llama.cpp, no ggml here. */
#ifndef UMPIRE_ORGANISM_WORLD_H
#define UMPIRE_ORGANISM_WORLD_H

#include <stddef.h>
#include <stdint.h>

enum bucket { B_FREQUENT, B_RARE, B_UNSEEN, N_BUCKETS };

#define N_RELATIONS 4
#define WORLD_POOL 48 /* first names and surnames of the in-context training examples */
#define IDK_ANSWER "I don't know"

struct world_params {
    uint64_t seed;
    int n_people;       /* people with closed-book facts */
    int n_ctx_people;   /* people who only appear in in-context examples (train and eval) */
    double p_frequent;  /* share of facts in each bucket (the rest are unseen) */
    double p_rare;
    int frequent_copies; /* copies of a frequent fact per epoch */
    int epochs;          /* training epochs */
    int rare_epochs;     /* a rare fact appears once in this many of the epochs (which ones:
                            drawn per fact) */
    int ctx_examples;    /* in-context training examples per epoch */
};

struct world_params world_default_params(void);

struct person {
    char name[48];
    int value[N_RELATIONS];  /* index into the relation's list */
    int bucket[N_RELATIONS]; /* enum bucket; context-only people: -1 */
    uint64_t rare_mask[N_RELATIONS]; /* a rare fact's epochs (bit e: in epoch e) */
};

/* one training example: the user's question (the instruction is added like umpire does) and
 * the answer the model should give */
struct example {
    char *question;
    const char *answer;
};

struct world {
    struct world_params p;
    struct person *people; /* n_people closed-book people, then n_ctx_people context people */
    int n_people, n_ctx_people;
    char pool_first[WORLD_POOL][16], pool_last[WORLD_POOL][16];
};

int world_make(struct world *w, const struct world_params *p);
void world_free(struct world *w);

/* The relation's name and its v-th value. */
const char *world_relation_name(int r);
const char *world_value(int r, int v);

/* A closed-book question about name's relation r: phrasing 0 and 1 are the training ones,
 * 2 the held-out paraphrase. Free it. */
char *world_question(int r, int phrasing, const char *name);

/* One epoch of training examples, shuffled by (seed, epoch). Free with examples_free. */
int world_epoch(const struct world *w, int epoch, struct example **out, size_t *n);
void examples_free(struct example *ex, size_t n);

/* Every string the model will read or write (questions of every phrasing, contexts,
 * answers, the default instruction): the text the vocabulary is fitted to. */
int world_texts(const struct world *w, char ***out, size_t *n);

/* Write the evaluation datasets into the existing directory dir, each file atomically (0, or
 * a negative status with err, UMPIRE_ERR_LEN bytes, naming the file): known-frequent,
 * known-rare, unseen, paraphrase, in-context, and a split of all facts into the demo's held-out mix (heldout-mix.jsonl, a
 * third of every bucket) and the rest (calibration.jsonl, to fit its verdict), each item
 * tagged with its bucket; and the world itself: facts.jsonl (every person, value and bucket)
 * and corpus.jsonl (every training example, epoch by epoch). */
int world_write_datasets(const struct world *w, const char *dir, char *err);

#endif
