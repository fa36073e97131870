/* judge.c - the model judges its own answers, in extra passes (opt-in):
 *
 *   P(True)       (Kadavath et al. 2022) "Is the proposed answer true?": P(True) =
 *                 p(True) / (p(True) + p(False)) of the next token, the question's media shown
 *   verbalised    (Tian et al. 2023) "How likely is it correct? Reply with a probability":
 *                 the number in the model's reply (0.85, 85 %, .85), parsed robustly
 *   entailment    (Kuhn et al. 2023) "Does answer A entail answer B? yes or no" for every
 *                 ordered pair of sampled answers: E_ij = p(yes) / (p(yes) + p(no)); answers
 *                 with the same text entail each other without a pass
 *   correctness   (--judge llm) "Accepted answers: ... Is the proposed answer correct?": p(yes)
 *   choice        multiple choice, as Calibration-MLLM's TS.py: the question with its options,
 *                 "Please provide the option letter directly.", the answer opening with
 *                 "Answer: ("; greedy decoding (at most 20 tokens) until the most probable next
 *                 token is an option letter; the confidence is that token's full-vocabulary
 *                 softmax probability at temperature T
 *
 * A word's probability sums over the tokens that start it in the contexts a model may use
 * ("Yes", " Yes", "yes"...; a letter after "("), so tokenisers with and without a leading-
 * space marker both work. The entailment prompts carry no media, so they are packed many to
 * a decode, each on its own sequence.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/logprob.h"
#include "core/status.h"
#include "engine/engine.h"
#include "engine/log.h"

#define MAX_VARIANTS 8

/* The tokens that start a word in the contexts given (spellings of the word), deduplicated. */
struct word {
    llama_token tok[MAX_VARIANTS];
    int n;
};

struct umpire_judge_params umpire_judge_default_params(void) {
    return (struct umpire_judge_params){.p_true = 0, .verbalised = 0, .entailment = 0};
}

static void word_add(struct word *w, llama_token t) {
    for (int i = 0; i < w->n; i++)
        if (w->tok[i] == t)
            return;
    if (w->n < MAX_VARIANTS)
        w->tok[w->n++] = t;
}

/* The token that follows `before` when `before` + `text` is tokenised (the first one of text
 * where before is ""). */
static llama_token token_after(struct umpire_engine *e, const char *before, const char *text) {
    char buf[64];
    llama_token a[32], b[32];
    snprintf(buf, sizeof buf, "%s%s", before, text);
    int na = before[0] ? llama_tokenize(e->vocab, before, (int32_t)strlen(before), a, 32, false, false) : 0;
    int nb = llama_tokenize(e->vocab, buf, (int32_t)strlen(buf), b, 32, false, false);
    return na >= 0 && nb > na ? b[na] : LLAMA_TOKEN_NULL;
}

/* Spellings of a reply word: "Yes", "yes", " Yes", " yes" (and "\nYes" for templates that
 * end the assistant tag without a newline). */
static void reply_word(struct umpire_engine *e, const char *word, struct word *w) {
    char lower[32], upper[32];
    snprintf(lower, sizeof lower, "%s", word);
    snprintf(upper, sizeof upper, "%s", word);
    lower[0] = (char)tolower((unsigned char)lower[0]);
    upper[0] = (char)toupper((unsigned char)upper[0]);
    const char *spellings[2] = {upper, lower}, *before[3] = {"", " ", "\n"};
    w->n = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            char t[40];
            snprintf(t, sizeof t, "%s%s", before[j], spellings[i]);
            llama_token tok = token_after(e, "", t);
            if (tok != LLAMA_TOKEN_NULL)
                word_add(w, tok);
        }
}

/* Drop the tokens two words share (a bare space marker, say): they tell the words apart. */
static void disjoint(struct word *a, struct word *b) {
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++)
            if (a->tok[i] == b->tok[j]) {
                a->tok[i--] = a->tok[--a->n];
                b->tok[j] = b->tok[--b->n];
                break;
            }
}

/* log sum_{t in w} softmax(logits / temp)[t] */
static double word_logprob(const float *logits, int n_vocab, double temp, const struct word *w) {
    struct umpire_softmax sm;
    umpire_softmax_f32(logits, (size_t)n_vocab, temp, &sm);
    double s = 0;
    for (int i = 0; i < w->n; i++)
        s += exp(logits[w->tok[i]] / temp - sm.max);
    return w->n ? log(s) - sm.logz : -INFINITY;
}

/* p(a) / (p(a) + p(b)) for the two words at these logits. */
static double two_way(const float *logits, int n_vocab, const struct word *a, const struct word *b) {
    double la = word_logprob(logits, n_vocab, 1.0, a), lb = word_logprob(logits, n_vocab, 1.0, b);
    double m = fmax(la, lb);
    return isfinite(m) ? exp(la - m) / (exp(la - m) + exp(lb - m)) : NAN;
}

/* A query that shows the model the question (with its media) and the item's answer, and asks
 * it `ask`; *text receives the new text, which the caller frees. */
static struct umpire_query about_answer(const struct umpire_query *q, const struct umpire_item *it, const char *ask,
                                        char **text) {
    const char *answer = it->greedy.text ? it->greedy.text : it->k ? it->samples[0].text : "";
    size_t n = strlen(q->question) + strlen(answer) + strlen(ask) + 64;
    if ((*text = malloc(n)))
        snprintf(*text, n, "Question: %s\nProposed answer: %s\n%s", q->question, answer, ask);
    struct umpire_query jq = *q;
    jq.question = *text;
    jq.instruction = "";
    jq.answer_prefix = NULL;
    return jq;
}

/* Show the model the question (with its media) and an item's answer, ask it `ask`, and read
 * p(first word) / (p(first) + p(second)) off its next token. */
static int two_way_reply(struct umpire_engine *e, const struct umpire_query *q, const struct umpire_item *it,
                         const char *ask, const char *first, const char *second, double *p, char *err) {
    char *text;
    struct umpire_query jq = about_answer(q, it, ask, &text);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int n_prompt, slot = 0, rc = umpire_engine_prefill(e, &jq, 1, 0, &slot, &n_prompt, err);
    free(text);
    if (rc != UMPIRE_OK)
        return rc;
    struct word a, b;
    reply_word(e, first, &a);
    reply_word(e, second, &b);
    disjoint(&a, &b);
    *p = two_way(llama_get_logits_ith(e->ctx, -1), e->n_vocab, &a, &b);
    return UMPIRE_OK;
}

/* P(True) of the item's answer, with the query's media. */
static int judge_p_true(struct umpire_engine *e, const struct umpire_query *q, struct umpire_item *it, char *err) {
    int rc = two_way_reply(e, q, it, "Is the proposed answer true or false? Reply with one word: True or False.",
                           "True", "False", &it->p_true, err);
    if (rc == UMPIRE_OK && isfinite(it->p_true))
        it->extras |= UMPIRE_HAS_P_TRUE;
    return rc;
}

/* The model's stated confidence in its answer: a short greedy reply, parsed. */
static int judge_verbalised(struct umpire_engine *e, const struct umpire_query *q, struct umpire_item *it, char *err) {
    char *text;
    struct umpire_query jq = about_answer(q, it,
                                          "How likely is the proposed answer to be correct? Reply with a probability "
                                          "between 0.0 and 1.0 and nothing else.",
                                          &text);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    struct umpire_sample_params sp = umpire_sample_default_params();
    sp.k = 0;
    sp.greedy_temp = 0;
    sp.max_tokens = 8;
    struct umpire_item reply;
    int rc = umpire_engine_ask(e, &jq, &sp, &reply, err);
    free(text);
    if (rc != UMPIRE_OK)
        return rc;
    it->verbalised = umpire_parse_confidence(reply.greedy.text);
    if (isfinite(it->verbalised))
        it->extras |= UMPIRE_HAS_VERBALISED;
    umpire_item_free(&reply);
    return UMPIRE_OK;
}

/* The next-token logits after each of n text-only prompts, packed many to a decode; calls
 * take(i, logits, ctx) for prompt i. */
static int each_next_logits(struct umpire_engine *e, char **prompts, size_t n,
                            void (*take)(size_t, const float *, void *), void *ctx, char *err) {
    const int cap = e->params.n_batch, seqs = e->params.k_max + 1;
    llama_token **toks = calloc(n, sizeof *toks);
    int *len = calloc(n, sizeof *len);
    struct llama_batch b = llama_batch_init(cap, 0, 1);
    int *last = malloc((size_t)seqs * sizeof *last);
    int rc = toks && len && last ? umpire_engine_alone(e, "judging", err) : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        int m = -llama_tokenize(e->vocab, prompts[i], (int32_t)strlen(prompts[i]), NULL, 0, true, true);
        if (m <= 0 || m > cap || (int)llama_n_ctx(e->ctx) < m ||
            !(toks[i] = malloc((size_t)m * sizeof **toks)) ||
            llama_tokenize(e->vocab, prompts[i], (int32_t)strlen(prompts[i]), toks[i], m, true, true) != m)
            rc = umpire_fail(err, UMPIRE_EINVAL, "a judging prompt of %d tokens does not fit one batch (%d)", m, cap);
        len[i] = m;
    }
    llama_set_embeddings(e->ctx, false);
    umpire_engine_forget(e); /* the KV holds these prompts now, not a query's */
    for (size_t i = 0; i < n && rc == UMPIRE_OK;) {
        /* a pack: as many whole prompts as fit the batch, the sequences and the context */
        llama_memory_clear(llama_get_memory(e->ctx), false);
        b.n_tokens = 0;
        size_t first = i;
        int used = 0;
        while (i < n && (int)(i - first) < seqs && b.n_tokens + len[i] <= cap &&
               used + len[i] <= (int)llama_n_ctx(e->ctx)) {
            for (int t = 0; t < len[i]; t++) {
                int k = b.n_tokens++;
                b.token[k] = toks[i][t];
                b.pos[k] = t;
                b.n_seq_id[k] = 1;
                b.seq_id[k][0] = (llama_seq_id)(i - first);
                b.logits[k] = t == len[i] - 1;
            }
            last[i - first] = b.n_tokens - 1;
            used += len[i];
            i++;
        }
        umpire_log_clear();
        if (llama_decode(e->ctx, b) != 0) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "a judging pass failed (%s)", umpire_log_last_error());
            break;
        }
        for (size_t j = first; j < i; j++)
            take(j, llama_get_logits_ith(e->ctx, last[j - first]), ctx);
    }
    for (size_t i = 0; toks && i < n; i++)
        free(toks[i]);
    free(toks);
    free(len);
    free(last);
    llama_batch_free(b);
    return rc;
}

struct entail_ctx {
    struct umpire_engine *e;
    struct word yes, no;
    size_t *cell; /* prompt -> matrix cell */
    double *m;
};

static void take_entailment(size_t i, const float *logits, void *vctx) {
    struct entail_ctx *c = vctx;
    c->m[c->cell[i]] = two_way(logits, c->e->n_vocab, &c->yes, &c->no);
}

static int judge_entailment(struct umpire_engine *e, const struct umpire_query *q, struct umpire_item *it, char *err) {
    const size_t k = it->k;
    struct entail_ctx c = {.e = e, .m = malloc(k * k * sizeof(double)), .cell = malloc(k * k * sizeof(size_t))};
    char **prompts = calloc(k * k, sizeof *prompts);
    int rc = c.m && c.cell && prompts ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < k && rc == UMPIRE_OK; i++)
        for (size_t j = 0; j < k && rc == UMPIRE_OK; j++) {
            if (i == j || !strcmp(it->samples[i].text, it->samples[j].text)) {
                c.m[i * k + j] = 1.0;
                continue;
            }
            size_t len = strlen(q->question) + strlen(it->samples[i].text) + strlen(it->samples[j].text) + 256;
            char *user = malloc(len);
            if (!user) {
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
                break;
            }
            snprintf(user, len, "Question: %s\nAnswer A: %s\nAnswer B: %s\nDoes answer A entail answer B, that is, "
                     "if A is true, must B be true? Reply with one word: yes or no.", q->question,
                     it->samples[i].text, it->samples[j].text);
            struct umpire_query jq = {.question = user, .instruction = "", .system = q->system};
            prompts[n] = umpire_engine_prompt_text(e, &jq, 0);
            free(user);
            if (!prompts[n])
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            c.cell[n++] = i * k + j;
        }
    if (rc == UMPIRE_OK) {
        reply_word(e, "yes", &c.yes);
        reply_word(e, "no", &c.no);
        disjoint(&c.yes, &c.no);
        rc = each_next_logits(e, prompts, n, take_entailment, &c, err);
    }
    for (size_t i = 0; prompts && i < n; i++)
        free(prompts[i]);
    free(prompts);
    free(c.cell);
    if (rc == UMPIRE_OK) {
        free(it->entailment);
        it->entailment = c.m;
        it->extras |= UMPIRE_HAS_ENTAILMENT;
    } else {
        free(c.m);
    }
    return rc;
}

int umpire_engine_judge_correct(struct umpire_engine *e, const struct umpire_query *q, const char *answer,
                                const char *const *accepted, size_t n_accepted, double *p_yes, char *err) {
    size_t len = strlen(answer) + 64;
    for (size_t i = 0; i < n_accepted; i++)
        len += strlen(accepted[i]) + 3;
    char *refs = malloc(len);
    if (!refs)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    refs[0] = '\0';
    for (size_t i = 0; i < n_accepted; i++) {
        if (i)
            strcat(refs, " | ");
        strcat(refs, accepted[i]);
    }
    size_t ask_len = strlen(refs) + 160;
    char *ask = malloc(ask_len);
    if (ask)
        snprintf(ask, ask_len, "Accepted answers: %s\nIs the proposed answer correct, i.e. does it mean the same as "
                 "one of the accepted answers? Reply with one word: yes or no.", refs);
    free(refs);
    if (!ask)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    struct umpire_item shown = {.greedy = {.text = (char *)answer}};
    int rc = two_way_reply(e, q, &shown, ask, "yes", "no", p_yes, err);
    free(ask);
    return rc;
}

int umpire_engine_judge(struct umpire_engine *e, const struct umpire_query *q, const struct umpire_judge_params *p,
                        struct umpire_item *it, char *err) {
    int rc = UMPIRE_OK;
    if (p->p_true)
        rc = judge_p_true(e, q, it, err);
    if (rc == UMPIRE_OK && p->verbalised)
        rc = judge_verbalised(e, q, it, err);
    if (rc == UMPIRE_OK && p->entailment && it->k >= 2)
        rc = judge_entailment(e, q, it, err);
    return rc;
}

char *umpire_choice_question(const char *question, const char *const *options, size_t n_options) {
    size_t n = strlen(question) + 64;
    for (size_t i = 0; i < n_options; i++)
        n += strlen(options[i]) + 8;
    char *text = malloc(n);
    if (!text)
        return NULL;
    size_t at = (size_t)snprintf(text, n, "%s", question);
    for (size_t i = 0; i < n_options; i++)
        at += (size_t)snprintf(text + at, n - at, "\n%c. %s", (char)('A' + i), options[i]);
    snprintf(text + at, n - at, "\n%s", UMPIRE_CHOICE_INSTRUCTION);
    return text;
}

/* The option whose letter the token spells (surrounding white space aside), or -1. */
static int option_of(struct umpire_engine *e, llama_token tok, size_t n_options) {
    char piece[16];
    int n = llama_token_to_piece(e->vocab, tok, piece, sizeof piece - 1, 0, false);
    if (n <= 0)
        return -1;
    piece[n] = '\0';
    const char *p = piece + strspn(piece, " \t\n");
    size_t len = strlen(p);
    while (len && strchr(" \t\n", p[len - 1]))
        len--;
    return len == 1 && p[0] >= 'A' && (size_t)(p[0] - 'A') < n_options ? p[0] - 'A' : -1;
}

int umpire_engine_choose(struct umpire_engine *e, const struct umpire_query *q, const char *const *options,
                         size_t n_options, double temp, struct umpire_choice *out, float *logits_out, char *err) {
    memset(out, 0, sizeof *out);
    if (n_options < 2 || n_options > 26)
        return umpire_fail(err, UMPIRE_EINVAL, "%zu options; multiple choice takes 2..26", n_options);
    if (!(temp > 0))
        return umpire_fail(err, UMPIRE_EINVAL, "the temperature must be > 0");
    char *text = umpire_choice_question(q->question, options, n_options);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    struct umpire_query jq = *q;
    jq.question = text;
    jq.instruction = "";
    jq.answer_prefix = q->answer_prefix ? q->answer_prefix : UMPIRE_CHOICE_PREFIX;
    int n_prompt, slot = 0, rc = umpire_engine_prefill(e, &jq, 1, UMPIRE_CHOICE_MAX_STEPS, &slot, &n_prompt, err);
    free(text);
    if (rc != UMPIRE_OK)
        return rc;
    out->n = n_options;
    out->choice = n_options; /* none until a letter is the most probable token */
    out->temp = temp;
    struct llama_batch b = llama_batch_init(1, 0, 1);
    for (int step = 0; rc == UMPIRE_OK && step < UMPIRE_CHOICE_MAX_STEPS; step++) {
        const float *logits = llama_get_logits_ith(e->ctx, -1);
        llama_token top = 0;
        for (int v = 1; v < e->n_vocab; v++)
            if (logits[v] > logits[top])
                top = v;
        int option = option_of(e, top, n_options);
        if (option >= 0) {
            for (size_t i = 0; i < n_options; i++) { /* each letter: its likeliest spelling */
                char letter[2] = {(char)('A' + i), '\0'};
                const char *before[2] = {"(", "( "};
                for (int k = 0; k < 2; k++) {
                    llama_token t = token_after(e, before[k], letter);
                    if (t != LLAMA_TOKEN_NULL && option_of(e, t, n_options) == (int)i) {
                        struct word one = {.tok = {t}, .n = 1};
                        double pt = exp(word_logprob(logits, e->n_vocab, temp, &one));
                        if (pt >= out->p[i]) {
                            out->p[i] = pt;
                            out->token[i] = t;
                        }
                    }
                }
            }
            struct word chosen = {.tok = {top}, .n = 1};
            out->choice = (size_t)option;
            out->confidence = exp(word_logprob(logits, e->n_vocab, temp, &chosen));
            out->p[option] = out->confidence; /* the token read is the letter's likeliest spelling */
            out->token[option] = top;
            out->step = step;
            if (logits_out)
                memcpy(logits_out, logits, (size_t)e->n_vocab * sizeof *logits_out);
            break;
        }
        b.n_tokens = 1; /* not a letter yet: feed the most probable token and look again */
        b.token[0] = top;
        b.pos[0] = n_prompt + step;
        b.n_seq_id[0] = 1;
        b.seq_id[0][0] = 0;
        b.logits[0] = 1;
        umpire_log_clear();
        if (llama_decode(e->ctx, b) != 0)
            rc = umpire_fail(err, UMPIRE_EINVAL, "decode failed (%s)", umpire_log_last_error());
    }
    llama_batch_free(b);
    return rc;
}
