/* world.h - a synthetic world of facts, generated from a seed, for the model organism.
 *
 * People (first name + surname) each have one value per relation (city, job, pet,
 * instrument), drawn from closed lists. Every fact is put in a bucket: FREQUENT facts appear
 * many times in every epoch of the training corpus, RARE ones once in a few epochs, UNSEEN
 * ones never. The
 * corpus also teaches reading a fact from the prompt ("in-context" examples, about people
 * who have no closed-book facts) and saying "I don't know" when the prompt's context is
 * about something else. Evaluation datasets (umpire eval's JSONL) ask about every bucket,
 * with the training phrasings and with held-out paraphrases. No llama.cpp, no ggml here.
 *
 * Three worlds share the people, their first values and the buckets of a seed (README,
 * "Worlds"):
 *   closed      one valid answer, one word ("Oslo")
 *   free-form   the same facts, each training answer one of WORLD_PHRASINGS wordings of the
 *               value ("in Oslo", "They live in Oslo."), some followed by a sentence that
 *               depends on the value ("It is in Norway."): judged by meaning (judge contains)
 *   many-valid  pets and instruments come in pairs ("Name one of the pets of Xa Yb"): either
 *               member is right
 * The closed world draws exactly what it drew before the other worlds existed; they draw
 * what they add from streams of their own. */
#ifndef UMPIRE_ORGANISM_WORLD_H
#define UMPIRE_ORGANISM_WORLD_H

#include <stddef.h>
#include <stdint.h>

enum bucket { B_FREQUENT, B_RARE, B_UNSEEN, N_BUCKETS };
enum world_kind { WORLD_CLOSED, WORLD_FREE_FORM, WORLD_MANY_VALID, N_WORLDS };

#define N_RELATIONS 4
#define WORLD_POOL 48 /* first names and surnames of the in-context training examples */
#define WORLD_PHRASINGS 4 /* free-form: wordings of an answer */
#define IDK_ANSWER "I don't know"

struct world_params {
    uint64_t seed;
    int kind;           /* enum world_kind */
    int n_people;       /* people with closed-book facts */
    int n_ctx_people;   /* people who only appear in in-context examples (train and eval) */
    double p_frequent;  /* share of facts in each bucket (the rest are unseen) */
    double p_rare;
    int frequent_copies; /* copies of a frequent fact per epoch */
    int epochs;          /* training epochs */
    int rare_epochs;     /* a rare fact appears once in this many of the epochs (which ones:
                            drawn per fact) */
    int ctx_examples;    /* in-context training examples per epoch */
    double elaborate;    /* free-form: share of training answers followed by an elaboration */
};

/* The closed world's parameters; world_params_for: those of the given world. */
struct world_params world_default_params(void);
struct world_params world_params_for(int kind);
/* "closed", "free-form", "many-valid"; world_kind_parse: the kind, or -1. */
const char *world_kind_name(int kind);
int world_kind_parse(const char *name);

struct person {
    char name[48];
    int value[N_RELATIONS];  /* index into the relation's list */
    int value2[N_RELATIONS]; /* many-valid, pet and instrument: the second member; else -1 */
    int bucket[N_RELATIONS]; /* enum bucket; context-only people: -1 */
    uint64_t rare_mask[N_RELATIONS]; /* a rare fact's epochs (bit e: in epoch e) */
};

/* one training example: the user's question (the instruction is added like umpire does) and
 * the answer the model should give (both owned by the example) */
struct example {
    char *question;
    char *answer;
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
/* 1 when relation r has two valid values in world w (many-valid: pet, instrument). */
int world_is_pair(const struct world *w, int r);

/* A closed-book question about name's relation r: phrasing 0 and 1 are the training ones,
 * 2 the held-out paraphrase. Free it. world_question_in: the world's question (many-valid
 * asks for one member of a pair). */
char *world_question(int r, int phrasing, const char *name);
char *world_question_in(const struct world *w, int r, int phrasing, const char *name);

/* Free-form: the answer stating value v of relation r in wording ph (0 .. WORLD_PHRASINGS - 1:
 * "Oslo", "in Oslo", "They live in Oslo.", "Their home is in Oslo."), with the value's
 * elaboration appended when elaborate ("... It is in Norway."). Free it. */
char *world_phrase(int r, int v, int ph, int elaborate);

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
 * tagged with its bucket (and, many-valid, "valid": the size of its set of right answers,
 * all of them in "answers"); and the world itself: facts.jsonl (every person, value and
 * bucket) and corpus.jsonl (every training example, epoch by epoch). */
int world_write_datasets(const struct world *w, const char *dir, char *err);

#endif
