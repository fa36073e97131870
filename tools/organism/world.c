/* world.c - the organism's synthetic world: people, facts, buckets, corpus, datasets. */
#define _GNU_SOURCE
#include "world.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/output.h"
#include "umpire.h"

/* Names are made of syllables, one first name and one surname per person, never shared:
 * a fact then hangs on its person alone, not on a first name other people also have. The
 * in-context training examples use names from a separate pool. */
static const char *consonants = "bdfgklmnprstvz", *vowels = "aeiou";

static void make_word(struct umpire_rng *g, char *out, int syllables, int final) {
    int k = 0;
    for (int i = 0; i < syllables; i++) {
        out[k++] = consonants[umpire_rng_below(g, 14)];
        out[k++] = vowels[umpire_rng_below(g, 5)];
    }
    if (final)
        out[k++] = consonants[umpire_rng_below(g, 14)];
    out[k] = '\0';
    out[0] = (char)(out[0] - 'a' + 'A');
}

static const char *cities[] = {"Lisbon", "Oslo", "Cairo", "Lima", "Dublin", "Vienna", "Prague", "Quito",
                               "Nairobi", "Hanoi", "Seoul", "Havana", "Tunis", "Riga", "Accra", "Perth"};
static const char *jobs[] = {"baker", "pilot", "nurse", "farmer", "lawyer", "painter", "dentist", "chemist",
                             "sailor", "teacher", "plumber", "tailor", "librarian", "architect", "mechanic",
                             "jeweller"};
static const char *pets[] = {"cat", "dog", "parrot", "rabbit", "hamster", "turtle",
                             "goldfish", "ferret", "lizard", "pony", "snake", "canary"};
static const char *instruments[] = {"piano", "violin", "guitar", "flute", "drums", "cello",
                                    "trumpet", "harp", "banjo", "oboe", "clarinet", "accordion"};

/* What each value implies, for the free-form world's elaborations (one word, a value's own,
 * never a value or a name). */
static const char *countries[] = {"Portugal", "Norway", "Egypt", "Peru", "Ireland", "Austria", "Czechia",
                                  "Ecuador", "Kenya", "Vietnam", "Korea", "Cuba", "Tunisia", "Latvia",
                                  "Ghana", "Australia"};
static const char *workplaces[] = {"bakery", "airport", "hospital", "field", "court", "studio", "clinic",
                                   "laboratory", "harbour", "school", "basement", "workshop", "library",
                                   "office", "garage", "boutique"};
static const char *foods[] = {"fish", "bones", "seeds", "carrots", "grain", "lettuce",
                              "flakes", "eggs", "insects", "hay", "mice", "millet"};
static const char *parts[] = {"keys", "rosin", "frets", "breath", "sticks", "endpins",
                              "valves", "pedals", "picks", "reeds", "mouthpieces", "bellows"};

/* Per relation: the values, two training phrasings, one held-out paraphrase, and the
 * sentence that states the fact in a prompt's context. %s is the person, %s the value.
 * Free-form (templates: {n} the person, {v} the value, {a} its article a / an, {x} what
 * the value implies): the wordings of an answer and the elaboration. Many-valid (pet,
 * instrument): the questions for one member of the pair, and the context stating both
 * ({w}, {b}: the second member and its article). */
static const struct relation {
    const char *name;
    const char **values;
    int n_values;
    const char *train[2], *paraphrase, *context;
    const char *phrase[WORLD_PHRASINGS], *elaboration, **implies;
    int pair;
    const char *pair_train[2], *pair_paraphrase, *pair_context;
} relations[N_RELATIONS] = {
    {"city", cities, 16, {"Where does %s live?", "Which city does %s live in?"},
     "In what city is the home of %s?", "%s lives in %s.",
     {"{v}", "in {v}", "They live in {v}.", "Their home is in {v}."}, "{x} is the country.", countries,
     0, {NULL, NULL}, NULL, NULL},
    {"job", jobs, 16, {"What is the job of %s?", "What does %s do for a living?"},
     "What work does %s do?", "The job of %s is %s.",
     {"{v}", "{a} {v}", "They work as {a} {v}.", "They are {a} {v}."}, "{x} is the workplace.",
     workplaces, 0, {NULL, NULL}, NULL, NULL},
    {"pet", pets, 12, {"What pet does %s have?", "Which animal does %s keep as a pet?"},
     "What kind of pet belongs to %s?", "The pet of %s is a %s.",
     {"{v}", "{a} {v}", "They have {a} {v}.", "Their pet is {a} {v}."}, "{x} is its food.", foods,
     1, {"Name one of the pets of %s.", "What is one pet that %s keeps?"}, "Tell me an animal that %s owns.",
     "{n} has {a} {v} and {b} {w}."},
    {"instrument", instruments, 12, {"Which instrument does %s play?", "What instrument is played by %s?"},
     "What does %s play in the band?", "%s plays the %s.",
     {"{v}", "the {v}", "They play the {v}.", "Their instrument is the {v}."}, "{x} is what it needs.", parts,
     1, {"Name one of the instruments %s plays.", "What is one instrument that %s plays?"},
     "Tell me an instrument played by %s.", "{n} plays the {v} and the {w}."},
};

/* A name word not yet used and not a value or another word of the world. */
static void fresh_word(struct umpire_rng *g, char (*used)[16], int n_used, int syllables, int final, char *out) {
    for (;;) {
        make_word(g, out, syllables, final);
        int clash = 0;
        for (int i = 0; i < n_used && !clash; i++)
            clash = strcmp(used[i], out) == 0;
        for (int r = 0; r < N_RELATIONS && !clash; r++)
            for (int v = 0; v < relations[r].n_values && !clash; v++)
                clash = strcasecmp(relations[r].values[v], out) == 0;
        if (!clash)
            return;
    }
}

static const char *bucket_names[N_BUCKETS] = {"frequent", "rare", "unseen"};
static const char *world_names[N_WORLDS] = {"closed", "free-form", "many-valid"};

const char *world_relation_name(int r) { return relations[r].name; }
const char *world_value(int r, int v) { return relations[r].values[v]; }
const char *world_kind_name(int kind) { return kind >= 0 && kind < N_WORLDS ? world_names[kind] : "?"; }
int world_is_pair(const struct world *w, int r) { return w->p.kind == WORLD_MANY_VALID && relations[r].pair; }

int world_kind_parse(const char *name) {
    for (int k = 0; k < N_WORLDS; k++)
        if (!strcmp(name, world_names[k]))
            return k;
    return -1;
}

struct world_params world_default_params(void) {
    return (struct world_params){.seed = 1,
                                 .n_people = 96,
                                 .n_ctx_people = 32,
                                 .p_frequent = 0.4,
                                 .p_rare = 0.3,
                                 .frequent_copies = 16,
                                 .epochs = 6,
                                 .rare_epochs = 2,
                                 .ctx_examples = 256,
                                 .kind = WORLD_CLOSED,
                                 .elaborate = 0};
}

struct world_params world_params_for(int kind) {
    struct world_params p = world_default_params();
    p.kind = kind;
    if (kind == WORLD_FREE_FORM) {
        /* each fact's examples are spread over four wordings: in 6 epochs the organism learnt
           its frequent facts (greedy 0.96) but its rare ones no better than chance (0.08), so
           more passes; a rare fact in 4 of the 10 (with 3, once the elaborations lead with the
           value's own word, rare facts fell to 0.155 against unseen 0.069: too close) */
        p.elaborate = 0.25;
        p.epochs = 10;
        p.rare_epochs = 4;
    }
    return p;
}

static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

char *world_question(int r, int phrasing, const char *name) {
    return fmt(phrasing < 2 ? relations[r].train[phrasing] : relations[r].paraphrase, name);
}

char *world_question_in(const struct world *w, int r, int phrasing, const char *name) {
    if (!world_is_pair(w, r))
        return world_question(r, phrasing, name);
    return fmt(phrasing < 2 ? relations[r].pair_train[phrasing] : relations[r].pair_paraphrase, name);
}

static const char *article(const char *word) { return strchr("aeiouAEIOU", word[0]) ? "an" : "a"; }

/* A template with {n} (name), {v} / {a} (value v, its article), {w} / {b} (value v2, its
 * article) and {x} (what v implies) filled in. */
static char *fill(int r, const char *t, const char *name, int v, int v2) {
    const struct relation *rel = &relations[r];
    size_t cap = strlen(t) + 1;
    const char *sub[5] = {name, rel->values[v], article(rel->values[v]), v2 >= 0 ? rel->values[v2] : "",
                          v2 >= 0 ? article(rel->values[v2]) : ""};
    for (int i = 0; i < 5; i++)
        cap += 4 * strlen(sub[i]);
    cap += 4 * strlen(rel->implies[v]);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t k = 0;
    for (const char *p = t; *p;) {
        const char *s = NULL;
        if (p[0] == '{' && p[1] && p[2] == '}') {
            const char *keys = "nvawb", *at = strchr(keys, p[1]);
            s = p[1] == 'x' ? rel->implies[v] : at ? sub[at - keys] : NULL;
        }
        if (s) {
            k += (size_t)sprintf(out + k, "%s", s);
            p += 3;
        } else
            out[k++] = *p++;
    }
    out[k] = '\0';
    return out;
}

char *world_phrase(int r, int v, int ph, int elaborate) {
    char *a = fill(r, relations[r].phrase[ph], "", v, -1);
    if (!a || !elaborate)
        return a;
    char *x = fill(r, relations[r].elaboration, "", v, -1);
    char *out = x ? fmt("%s %s", a, x) : NULL; /* the word right after the answer is the value's own */
    free(a);
    free(x);
    return out;
}

/* Shuffle a[0..n) in place (Fisher-Yates). */
static void shuffle_int(struct umpire_rng *g, int *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)umpire_rng_below(g, i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

int world_make(struct world *w, const struct world_params *p) {
    memset(w, 0, sizeof *w);
    w->p = *p;
    int total = p->n_people + p->n_ctx_people;
    /* a quarter of all names stay free for the in-context training examples */
    if (p->n_people < 8 || p->n_ctx_people < 1 || total > 2000 || p->p_frequent < 0 || p->kind < 0 ||
        p->kind >= N_WORLDS || !(p->elaborate >= 0 && p->elaborate <= 1) ||
        p->p_rare < 0 || p->p_frequent + p->p_rare > 1 || p->frequent_copies < 1 || p->ctx_examples < 0 ||
        p->epochs < 1 || p->epochs > 64 || p->rare_epochs < 1 || p->rare_epochs > p->epochs)
        return -1;
    w->n_people = p->n_people;
    w->n_ctx_people = p->n_ctx_people;
    if (!(w->people = calloc((size_t)total, sizeof *w->people)))
        return -1;
    struct umpire_rng g;
    umpire_rng_seed(&g, p->seed * 0x2545f4914f6cdd1dULL + 17);
    int n_words = 2 * total + 2 * WORLD_POOL;
    char(*words)[16] = calloc((size_t)n_words, sizeof *words);
    if (!words)
        return world_free(w), -1;
    for (int i = 0; i < n_words; i++) /* first names: 2 syllables and a consonant; surnames: 3 */
        fresh_word(&g, words, i, i % 2 ? 3 : 2, 1, words[i]);
    for (int i = 0; i < total; i++) {
        struct person *q = &w->people[i];
        snprintf(q->name, sizeof q->name, "%s %s", words[2 * i], words[2 * i + 1]);
        for (int r = 0; r < N_RELATIONS; r++) {
            q->value[r] = (int)umpire_rng_below(&g, (uint64_t)relations[r].n_values);
            q->value2[r] = -1;
            q->bucket[r] = -1;
        }
    }
    for (int i = 0; i < WORLD_POOL; i++) {
        memcpy(w->pool_first[i], words[2 * total + 2 * i], 16);
        memcpy(w->pool_last[i], words[2 * total + 2 * i + 1], 16);
    }
    free(words);
    /* buckets: per relation, a shuffled split of the closed-book people */
    int *order = malloc((size_t)p->n_people * sizeof *order);
    if (!order)
        return world_free(w), -1;
    int n_freq = (int)(p->p_frequent * p->n_people + 0.5), n_rare = (int)(p->p_rare * p->n_people + 0.5);
    for (int r = 0; r < N_RELATIONS; r++) {
        for (int i = 0; i < p->n_people; i++)
            order[i] = i;
        shuffle_int(&g, order, (size_t)p->n_people);
        for (int i = 0; i < p->n_people; i++)
            w->people[order[i]].bucket[r] = i < n_freq ? B_FREQUENT : i < n_freq + n_rare ? B_RARE : B_UNSEEN;
    }
    /* a rare fact's epochs: rare_epochs of them, drawn per fact */
    int ep[64];
    for (int i = 0; i < p->n_people; i++)
        for (int r = 0; r < N_RELATIONS; r++) {
            for (int e = 0; e < p->epochs; e++)
                ep[e] = e;
            shuffle_int(&g, ep, (size_t)p->epochs);
            for (int j = 0; j < p->rare_epochs; j++)
                w->people[i].rare_mask[r] |= 1ULL << ep[j];
        }
    free(order);
    /* many-valid: the second member of every pair, another value, from a stream of its own */
    struct umpire_rng h;
    umpire_rng_seed(&h, p->seed * 0x94d049bb133111ebULL + 29);
    for (int i = 0; i < total && p->kind == WORLD_MANY_VALID; i++)
        for (int r = 0; r < N_RELATIONS; r++)
            if (relations[r].pair) {
                struct person *q = &w->people[i];
                q->value2[r] = (q->value[r] + 1 + (int)umpire_rng_below(&h, (uint64_t)relations[r].n_values - 1)) %
                               relations[r].n_values;
            }
    return 0;
}

void world_free(struct world *w) {
    free(w->people);
    memset(w, 0, sizeof *w);
}

void examples_free(struct example *ex, size_t n) {
    for (size_t i = 0; ex && i < n; i++) {
        free(ex[i].question);
        free(ex[i].answer);
    }
    free(ex);
}

/* "Context: <sentence>\n<question>"; many-valid pairs: the sentence states both members */
static char *context_question(const struct world *w, const char *name, int r_ctx, int v_ctx, int v2_ctx, int r_ask,
                              int phrasing) {
    char *sentence = world_is_pair(w, r_ctx) ? fill(r_ctx, relations[r_ctx].pair_context, name, v_ctx, v2_ctx)
                                             : fmt(relations[r_ctx].context, name, relations[r_ctx].values[v_ctx]);
    char *q = sentence ? world_question_in(w, r_ask, phrasing, name) : NULL;
    char *out = q ? fmt("Context: %s\n%s", sentence, q) : NULL;
    free(sentence);
    free(q);
    return out;
}

/* A name from the pool of the in-context training examples. */
static void pool_name(const struct world *w, struct umpire_rng *g, char *out, size_t len) {
    snprintf(out, len, "%s %s", w->pool_first[umpire_rng_below(g, WORLD_POOL)], w->pool_last[umpire_rng_below(g, WORLD_POOL)]);
}

/* The answer to one training example about relation r, value v: the value itself
 * (closed, many-valid), or in the free-form world one of its wordings (ph), elaborated or not. */
static char *answer_text(const struct world *w, int r, int v, int ph, int elaborate) {
    return w->p.kind == WORLD_FREE_FORM ? world_phrase(r, v, ph, elaborate) : strdup(relations[r].values[v]);
}

int world_epoch(const struct world *w, int epoch, struct example **out, size_t *n) {
    const struct world_params *p = &w->p;
    size_t cap = (size_t)w->n_people * N_RELATIONS * (size_t)p->frequent_copies + (size_t)p->ctx_examples;
    struct example *ex = calloc(cap ? cap : 1, sizeof *ex);
    if (!ex)
        return -1;
    /* g: what every world draws (the closed world's stream, as it always was); h: what the
       other worlds add (wordings, elaborations, pair members) */
    struct umpire_rng g, h;
    umpire_rng_seed(&g, (p->seed * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)(epoch + 1) * 0xd1b54a32d192ed03ULL);
    umpire_rng_seed(&h, (p->seed * 0xbf58476d1ce4e5b9ULL) ^ (uint64_t)(epoch + 1) * 0x94d049bb133111ebULL);
    size_t k = 0;
    for (int i = 0; i < w->n_people; i++) {
        const struct person *q = &w->people[i];
        for (int r = 0; r < N_RELATIONS; r++) {
            int copies = q->bucket[r] == B_FREQUENT                                 ? p->frequent_copies
                         : q->bucket[r] == B_RARE && (q->rare_mask[r] >> (epoch % 64) & 1) ? 1
                                                                                            : 0;
            /* free-form: the wordings in turn from a drawn one, so each is as frequent */
            int first = copies && p->kind == WORLD_FREE_FORM ? (int)umpire_rng_below(&h, WORLD_PHRASINGS) : 0;
            /* many-valid: a rare pair's k-th appearance names member k % 2 */
            int before = __builtin_popcountll(q->rare_mask[r] & ((1ULL << (epoch % 64)) - 1));
            for (int c = 0; c < copies; c++) {
                /* rare facts alternate phrasings across epochs, frequent ones within one */
                int phrasing = (c + epoch) % 2;
                /* many-valid: the members alternate independently of the phrasing */
                int member = q->bucket[r] == B_FREQUENT ? (c / 2 + epoch) % 2 : before % 2;
                int v = world_is_pair(w, r) && member ? q->value2[r] : q->value[r];
                int elaborate = p->kind == WORLD_FREE_FORM && umpire_rng_uniform(&h) < p->elaborate;
                struct example *e = &ex[k++];
                e->answer = answer_text(w, r, v, (first + c) % WORLD_PHRASINGS, elaborate);
                e->question = world_question_in(w, r, phrasing, q->name);
                if (!e->question || !e->answer)
                    return examples_free(ex, k), -1;
            }
        }
    }
    for (int c = 0; c < p->ctx_examples; c++) {
        char name[48];
        pool_name(w, &g, name, sizeof name);
        int r_ask = (int)umpire_rng_below(&g, N_RELATIONS);
        int answerable = umpire_rng_below(&g, 4) != 0; /* 3 in 4 */
        int r_ctx = answerable ? r_ask : (r_ask + 1 + (int)umpire_rng_below(&g, N_RELATIONS - 1)) % N_RELATIONS;
        int v = (int)umpire_rng_below(&g, (uint64_t)relations[r_ctx].n_values), v2 = -1, v_ans = v;
        int phrasing = (int)umpire_rng_below(&g, 2);
        if (world_is_pair(w, r_ctx)) {
            int n_values = relations[r_ctx].n_values;
            v2 = (v + 1 + (int)umpire_rng_below(&h, (uint64_t)n_values - 1)) % n_values;
            v_ans = umpire_rng_below(&h, 2) ? v2 : v;
        }
        int ph = (int)umpire_rng_below(&h, WORLD_PHRASINGS);
        int elaborate = p->kind == WORLD_FREE_FORM && umpire_rng_uniform(&h) < p->elaborate;
        struct example *e = &ex[k++];
        e->answer = answerable ? answer_text(w, r_ask, v_ans, ph, elaborate) : strdup(IDK_ANSWER);
        e->question = context_question(w, name, r_ctx, v, v2, r_ask, phrasing);
        if (!e->question || !e->answer)
            return examples_free(ex, k), -1;
    }
    for (size_t i = k; i > 1; i--) { /* shuffle */
        size_t j = (size_t)umpire_rng_below(&g, i);
        struct example t = ex[i - 1];
        ex[i - 1] = ex[j];
        ex[j] = t;
    }
    *out = ex;
    *n = k;
    return 0;
}

/* A growable list of strings. */
struct strs {
    char **s;
    size_t n, cap;
};
static int push(struct strs *l, char *s) {
    if (!s)
        return -1;
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 256;
        char **g = realloc(l->s, c * sizeof *g);
        if (!g)
            return free(s), -1;
        l->s = g;
        l->cap = c;
    }
    l->s[l->n++] = s;
    return 0;
}

int world_texts(const struct world *w, char ***out, size_t *n) {
    struct strs l = {0};
    int rc = push(&l, strdup(UMPIRE_DEFAULT_INSTRUCTION)) | push(&l, strdup(IDK_ANSWER));
    for (int i = 0; i < w->n_people + w->n_ctx_people && rc == 0; i++) /* every name */
        rc = push(&l, fmt("Context: %s\n", w->people[i].name));
    for (int i = 0; i < WORLD_POOL && rc == 0; i++)
        rc = push(&l, fmt("%s %s", w->pool_first[i], w->pool_last[i]));
    for (int r = 0; r < N_RELATIONS && rc == 0; r++) {
        const struct relation *rel = &relations[r];
        for (int v = 0; v < rel->n_values && rc == 0; v++)
            rc = push(&l, strdup(rel->values[v])) | push(&l, fmt(rel->context, "X", rel->values[v]));
        rc |= push(&l, fmt(rel->train[0], "X")) | push(&l, fmt(rel->train[1], "X")) |
              push(&l, fmt(rel->paraphrase, "X"));
    }
    /* what the other worlds add: every wording and elaboration; the pair questions and contexts */
    for (int r = 0; r < N_RELATIONS && rc == 0 && w->p.kind == WORLD_FREE_FORM; r++)
        for (int v = 0; v < relations[r].n_values && rc == 0; v++)
            for (int ph = 0; ph < WORLD_PHRASINGS && rc == 0; ph++)
                rc = push(&l, world_phrase(r, v, ph, 1));
    for (int r = 0; r < N_RELATIONS && rc == 0; r++) {
        if (!world_is_pair(w, r))
            continue;
        const struct relation *rel = &relations[r];
        for (int v = 0; v < rel->n_values && rc == 0; v++)
            rc = push(&l, fill(r, rel->pair_context, "X", v, (v + 1) % rel->n_values));
        rc |= push(&l, fmt(rel->pair_train[0], "X")) | push(&l, fmt(rel->pair_train[1], "X")) |
              push(&l, fmt(rel->pair_paraphrase, "X"));
    }
    if (rc) {
        for (size_t i = 0; i < l.n; i++)
            free(l.s[i]);
        free(l.s);
        return -1;
    }
    *out = l.s;
    *n = l.n;
    return 0;
}

/* ------------------------------------------------------------------ datasets */

/* One umpire eval item; answer NULL: unanswerable (declining is right); answer2 >= 0 (the
 * many-valid world): the second right answer, and "valid" (the set's size) on every item. */
static cJSON *item(const struct world *w, const char *id, const char *question, const char *answer,
                   const char *answer2, const char *bucket, const char *phrasing, const char *relation,
                   const char *person) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "question", question);
    cJSON *answers = cJSON_AddArrayToObject(o, "answers");
    if (answer)
        cJSON_AddItemToArray(answers, cJSON_CreateString(answer));
    else
        cJSON_AddFalseToObject(o, "answerable");
    if (answer && answer2)
        cJSON_AddItemToArray(answers, cJSON_CreateString(answer2));
    cJSON_AddStringToObject(o, "bucket", bucket);
    cJSON_AddStringToObject(o, "phrasing", phrasing);
    cJSON_AddStringToObject(o, "relation", relation);
    cJSON_AddStringToObject(o, "person", person);
    if (w->p.kind == WORLD_MANY_VALID)
        cJSON_AddNumberToObject(o, "valid", !answer ? 0 : answer2 ? 2 : 1);
    return o;
}

/* The second right answer of q's relation r (many-valid pairs), or NULL. */
static const char *second(const struct world *w, const struct person *q, int r) {
    return world_is_pair(w, r) ? relations[r].values[q->value2[r]] : NULL;
}

/* Write o as a line and free it. */
static int put(FILE *f, cJSON *o, char *err) {
    int rc = o ? umpire_put_json(f, o, 1, err) : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    cJSON_Delete(o);
    return rc;
}

/* Closed-book items of one bucket, one per fact, in the given phrasing (0, 1: training; 2:
 * the held-out paraphrase): every n-th fact of the bucket, or (rest) all the others. */
static int closed_book(FILE *f, const struct world *w, int bucket, int phrasing, int every, int rest, char *err) {
    int seen = 0, rc = UMPIRE_OK;
    for (int i = 0; i < w->n_people && rc == UMPIRE_OK; i++)
        for (int r = 0; r < N_RELATIONS && rc == UMPIRE_OK; r++) {
            const struct person *q = &w->people[i];
            if (q->bucket[r] != bucket || (seen++ % every == 0) == rest)
                continue;
            const struct relation *rel = &relations[r];
            char id[96], *question = world_question_in(w, r, phrasing, q->name);
            snprintf(id, sizeof id, "%s-%03d-%s%s", bucket_names[bucket], i, rel->name, phrasing == 2 ? "-para" : "");
            rc = put(f, question ? item(w, id, question, rel->values[q->value[r]], second(w, q, r), bucket_names[bucket],
                                        phrasing == 2 ? "paraphrase" : "training", rel->name, q->name)
                                 : NULL, err);
            free(question);
        }
    return rc;
}

/* in-context.jsonl: per evaluation person, the fact in the prompt, and the prompt about another */
static int in_context(FILE *f, const struct world *w, char *err) {
    int rc = UMPIRE_OK;
    for (int c = 0; c < w->n_ctx_people && rc == UMPIRE_OK; c++) {
        const struct person *q = &w->people[w->n_people + c];
        int r = c % N_RELATIONS, r_other = (r + 1 + c / N_RELATIONS % (N_RELATIONS - 1)) % N_RELATIONS;
        char id[96], *question = context_question(w, q->name, r, q->value[r], q->value2[r], r, c / 2 % 2);
        snprintf(id, sizeof id, "context-%03d-%s", c, relations[r].name);
        rc = put(f, question ? item(w, id, question, relations[r].values[q->value[r]], second(w, q, r), "in-context",
                                    "training", relations[r].name, q->name)
                             : NULL, err);
        free(question);
        question = rc ? NULL : context_question(w, q->name, r_other, q->value[r_other], q->value2[r_other], r, c / 2 % 2);
        snprintf(id, sizeof id, "nocontext-%03d-%s", c, relations[r].name);
        if (rc == UMPIRE_OK)
            rc = put(f, question ? item(w, id, question, NULL, NULL, "not-in-context", "training", relations[r].name,
                                        q->name)
                                 : NULL, err);
        free(question);
    }
    return rc;
}

/* facts.jsonl: every person, their values and (closed-book people) each fact's bucket */
static int write_facts(FILE *f, const struct world *w, char *err) {
    int rc = UMPIRE_OK;
    for (int i = 0; i < w->n_people + w->n_ctx_people && rc == UMPIRE_OK; i++) {
        const struct person *p = &w->people[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "person", p->name);
        cJSON_AddStringToObject(o, "role", i < w->n_people ? "closed-book" : "in-context");
        for (int r = 0; r < N_RELATIONS; r++)
            cJSON_AddStringToObject(o, relations[r].name, relations[r].values[p->value[r]]);
        for (int r = 0; r < N_RELATIONS; r++) { /* many-valid: "pet_2", the pair's other member */
            char key[32];
            snprintf(key, sizeof key, "%s_2", relations[r].name);
            if (world_is_pair(w, r))
                cJSON_AddStringToObject(o, key, relations[r].values[p->value2[r]]);
        }
        for (int r = 0; r < N_RELATIONS && i < w->n_people; r++) {
            char key[32];
            snprintf(key, sizeof key, "%s_bucket", relations[r].name);
            cJSON_AddStringToObject(o, key, bucket_names[p->bucket[r]]);
        }
        rc = put(f, o, err);
    }
    return rc;
}

/* corpus.jsonl: the training examples of every epoch, in training order */
static int write_corpus(FILE *f, const struct world *w, char *err) {
    int rc = UMPIRE_OK;
    for (int e = 0; e < w->p.epochs && rc == UMPIRE_OK; e++) {
        struct example *ex;
        size_t n;
        if (world_epoch(w, e, &ex, &n) != 0)
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "epoch", e + 1);
            cJSON_AddStringToObject(o, "question", ex[i].question);
            cJSON_AddStringToObject(o, "answer", ex[i].answer);
            rc = put(f, o, err);
        }
        examples_free(ex, n);
    }
    return rc;
}

int world_write_datasets(const struct world *w, const char *dir, char *err) {
    static const char *files[] = {"known-frequent.jsonl", "known-rare.jsonl", "unseen.jsonl",
                                  "paraphrase.jsonl",     "in-context.jsonl", "heldout-mix.jsonl",
                                  "calibration.jsonl",    "facts.jsonl",      "corpus.jsonl"};
    int rc = UMPIRE_OK;
    for (size_t fi = 0; fi < sizeof files / sizeof *files && rc == UMPIRE_OK; fi++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, files[fi]);
        struct umpire_output a;
        if ((rc = umpire_output_open(&a, path, err)) != UMPIRE_OK)
            break;
        if (fi < 3)
            rc = closed_book(a.f, w, (int)fi, 0, 1, 0, err);
        for (int b = 0; fi == 3 && b < N_BUCKETS && rc == UMPIRE_OK; b++)
            rc = closed_book(a.f, w, b, 2, 1, 0, err);
        if (fi == 4)
            rc = in_context(a.f, w, err);
        /* the demo's mixes: a third of every bucket's facts, and the other two thirds */
        for (int b = 0; (fi == 5 || fi == 6) && b < N_BUCKETS && rc == UMPIRE_OK; b++)
            rc = closed_book(a.f, w, b, b % 2, 3, fi == 5 ? 0 : 1, err);
        if (fi == 7)
            rc = write_facts(a.f, w, err);
        if (fi == 8)
            rc = write_corpus(a.f, w, err);
        rc = umpire_output_close(&a, rc, err);
    }
    return rc;
}
