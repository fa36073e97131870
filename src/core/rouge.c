/* rouge.c - ROUGE-L (longest common subsequence F-measure; Lin 2004) between two texts, as
 * Google's rouge_score computes it (no stemmer; what HF evaluate's "rouge" and UMPIRE's
 * correctness rule use): tokens are the runs of [a-z0-9] after lower-casing, anything else
 * separates them; F is 0 when either text has no token. The similarity behind the
 * lexical-similarity baseline (Fomicheva et al. 2020), the lexical graph and the rouge judge. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/baselines.h"

/* Split into lower-cased [a-z0-9] words; returns the count, words point into buf. */
static size_t words(const char *s, char *buf, const char **w, size_t cap) {
    size_t n = 0, j = 0;
    int in = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80 && isalnum(*p)) {
            if (!in && n < cap)
                w[n++] = buf + j;
            in = 1;
            buf[j++] = (char)tolower(*p);
        } else if (in) {
            buf[j++] = '\0';
            in = 0;
        }
    }
    buf[j] = '\0';
    return n;
}

double umpire_rouge_l(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *ba = malloc(la + 2), *bb = malloc(lb + 2);
    const char **wa = malloc((la / 2 + 2) * sizeof *wa), **wb = malloc((lb / 2 + 2) * sizeof *wb);
    double f = 0.0;
    if (ba && bb && wa && wb) {
        size_t na = words(a, ba, wa, la / 2 + 2), nb = words(b, bb, wb, lb / 2 + 2);
        if (na > 0 && nb > 0) {
            /* LCS length by dynamic programming over two rows */
            size_t *prev = calloc(nb + 1, sizeof *prev), *cur = calloc(nb + 1, sizeof *cur);
            if (prev && cur) {
                for (size_t i = 1; i <= na; i++) {
                    for (size_t j = 1; j <= nb; j++)
                        cur[j] = !strcmp(wa[i - 1], wb[j - 1]) ? prev[j - 1] + 1
                                 : prev[j] > cur[j - 1]       ? prev[j]
                                                              : cur[j - 1];
                    size_t *t = prev;
                    prev = cur;
                    cur = t;
                }
                double lcs = (double)prev[nb], p = lcs / (double)nb, r = lcs / (double)na;
                f = lcs > 0 ? 2.0 * p * r / (p + r) : 0.0;
            }
            free(prev);
            free(cur);
        }
    }
    free(ba);
    free(bb);
    free(wa);
    free(wb);
    return f;
}
