/* correctness.c - was an answer right? The judges `umpire eval` uses, each a pure function:
 *
 *   exact    VQA-style normalisation (lower case; punctuation dropped, except a decimal point
 *            between digits; the articles a / an / the dropped; number words zero..twenty as
 *            digits; white space collapsed), then equality with any accepted answer
 *   rouge    ROUGE-L F >= 0.8 with any accepted answer: UMPIRE's criterion (its rougeL_to_target,
 *            rouge_score on the answer and each annotator answer, the best of them)
 *   vqa      VQA's soft accuracy >= 0.5 (two annotators or more gave the answer)
 *   refusal  for unanswerable questions: right exactly when the answer declines ("I don't
 *            know", "cannot be determined", "not enough information", ...)
 *   contains correctness by meaning for answers that state a value in any wording: after the
 *            exact judge's normalisation, the words of an accepted answer appear in a row among
 *            the answer's words ("She lives in Oslo." holds "oslo"; "Osloville" and "Lima" do
 *            not). An answer that names two values is right when one is accepted.
 *   letter   multiple choice: the chosen option letter is an accepted one
 *   llm      the model itself as judge: see the engine (umpire_engine_judge_correct)
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpire.h"

static const char *const number_words[] = {"zero",    "one",     "two",       "three",    "four",
                                           "five",    "six",     "seven",     "eight",    "nine",
                                           "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                           "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                                           "twenty"};

void umpire_normalise_answer(const char *in, char *out, size_t cap) {
    if (cap == 0)
        return;
    /* 1. lower case; punctuation to spaces, except a '.' or ',' inside a number */
    size_t n = strlen(in);
    char *buf = malloc(n + 1);
    if (!buf) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        int in_number = (ch == '.' || ch == ',') && i > 0 && i + 1 < n && isdigit((unsigned char)in[i - 1]) &&
                        isdigit((unsigned char)in[i + 1]);
        if (ch == ',' && in_number) /* 1,000 -> 1000 */
            buf[i] = '\x01';
        else
            buf[i] = (char)(isalnum(ch) || ch >= 0x80 || in_number ? tolower(ch) : ' ');
    }
    buf[n] = '\0';
    /* 2. words: drop articles, number words to digits, single spaces */
    size_t o = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
        if (!strcmp(w, "a") || !strcmp(w, "an") || !strcmp(w, "the"))
            continue;
        char digits[4];
        for (size_t k = 0; k < sizeof number_words / sizeof number_words[0]; k++)
            if (!strcmp(w, number_words[k])) {
                snprintf(digits, sizeof digits, "%zu", k);
                w = digits;
                break;
            }
        for (const char *p = w; *p; p++) /* the thousands separators go */
            if (*p != '\x01' && o + 1 < cap)
                out[o++] = *p;
        if (o + 1 < cap)
            out[o++] = ' ';
    }
    if (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    free(buf);
}

int umpire_is_refusal(const char *answer) {
    static const char *const phrases[] = {
        "i don't know", "i do not know", "i dont know", "don't know", "not sure", "unknown", "unanswerable",
        "cannot be determined", "can't be determined", "cannot determine", "can't determine", "cannot answer",
        "can't answer", "unable to answer", "unable to determine", "not possible to", "impossible to tell",
        "impossible to determine", "no information", "not enough information", "insufficient information",
        "cannot tell", "can't tell", "no way to know", "not provided", "not mentioned", "not stated",
        "i have no idea", "no idea", "n/a"};
    size_t n = strlen(answer);
    char *low = malloc(n + 1);
    if (!low)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)answer[i]);
    /* typographic apostrophes (U+2019) as plain ones */
    for (char *p = strstr(low, "\xe2\x80\x99"); p; p = strstr(p, "\xe2\x80\x99")) {
        *p = '\'';
        memmove(p + 1, p + 3, strlen(p + 3) + 1);
    }
    int hit = 0;
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0] && !hit; i++)
        hit = strstr(low, phrases[i]) != NULL;
    free(low);
    return hit;
}

const char *umpire_judge_name(enum umpire_judge j) {
    static const char *const names[] = {"auto", "exact", "rouge", "llm", "vqa", "contains"};
    return (unsigned)j <= UMPIRE_JUDGE_CONTAINS ? names[j] : "?";
}

int umpire_judge_parse(const char *name, enum umpire_judge *j) {
    for (int i = 0; i <= UMPIRE_JUDGE_CONTAINS; i++)
        if (!strcmp(name, umpire_judge_name((enum umpire_judge)i))) {
            *j = (enum umpire_judge)i;
            return 0;
        }
    return -1;
}

/* 1 when the words of needle (normalised, non-empty) appear in a row among those of the
 * normalised haystack hay: " needle " inside " hay ". */
static int contains_words(const char *hay, const char *needle) {
    size_t nh = strlen(hay), nn = strlen(needle);
    if (nn == 0 || nn > nh)
        return 0;
    char *h = malloc(nh + 3), *n = malloc(nn + 3);
    int hit = 0;
    if (h && n) {
        snprintf(h, nh + 3, " %s ", hay);
        snprintf(n, nn + 3, " %s ", needle);
        hit = strstr(h, n) != NULL;
    }
    free(h);
    free(n);
    return hit;
}

int umpire_judge_answer(const char *answer, const char *const *accepted, size_t n, int answerable,
                        enum umpire_judge judge) {
    if (!answerable) /* the only right answer to an unanswerable question is to decline */
        return umpire_is_refusal(answer);
    if (umpire_is_refusal(answer))
        return 0;
    if (judge == UMPIRE_JUDGE_VQA)
        return umpire_vqa_accuracy(answer, accepted, n) >= 0.5;
    if (judge == UMPIRE_JUDGE_EXACT || judge == UMPIRE_JUDGE_CONTAINS) {
        size_t cap = strlen(answer) + 1;
        char *a = malloc(cap);
        int hit = 0;
        if (!a)
            return 0;
        umpire_normalise_answer(answer, a, cap);
        for (size_t i = 0; i < n && !hit; i++) {
            size_t c2 = strlen(accepted[i]) + 1;
            char *b = malloc(c2);
            if (b) {
                umpire_normalise_answer(accepted[i], b, c2);
                hit = judge == UMPIRE_JUDGE_EXACT ? !strcmp(a, b) : contains_words(a, b);
            }
            free(b);
        }
        free(a);
        return hit;
    }
    for (size_t i = 0; i < n; i++) /* rouge, and auto for free-form answers */
        if (umpire_rouge_l(answer, accepted[i]) >= 0.8)
            return 1;
    return 0;
}

double umpire_vqa_accuracy(const char *answer, const char *const *accepted, size_t n) {
    if (n == 0)
        return NAN;
    size_t cap = strlen(answer) + 1, matches = 0;
    char *a = malloc(cap);
    int *hit = calloc(n, sizeof *hit);
    double acc = NAN;
    if (a && hit) {
        umpire_normalise_answer(answer, a, cap);
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            size_t c2 = strlen(accepted[i]) + 1;
            char *b = malloc(c2);
            if ((ok = b != NULL)) {
                umpire_normalise_answer(accepted[i], b, c2);
                hit[i] = !strcmp(a, b);
                matches += (size_t)hit[i];
            }
            free(b);
        }
        if (ok) { /* leave annotator i out: matches among the other n - 1 */
            acc = 0.0;
            for (size_t i = 0; i < n; i++)
                acc += fmin(1.0, (double)(matches - (size_t)hit[i]) / 3.0);
            acc /= (double)n;
        }
    }
    free(a);
    free(hit);
    return acc;
}

int umpire_judge_letter(char chosen, const char *const *accepted, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strlen(accepted[i]) == 1 && toupper((unsigned char)accepted[i][0]) == toupper((unsigned char)chosen))
            return 1;
    return 0;
}
