/* stats.c - means, medians, sorting and correlation for the core. */
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double umpire_mean(const double *x, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return n ? s / (double)n : NAN;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

void umpire_sort_double(double *x, size_t n) { qsort(x, n, sizeof *x, cmp_double); }
void umpire_sort_size(size_t *x, size_t n) { qsort(x, n, sizeof *x, cmp_size); }

double umpire_median(const double *x, size_t n) {
    if (n == 0)
        return NAN;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return NAN;
    memcpy(c, x, n * sizeof *c);
    umpire_sort_double(c, n);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

struct keyed {
    double v;
    size_t i;
};

static int cmp_desc(const void *a, const void *b) {
    const struct keyed *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i); /* stable */
}

int umpire_argsort_desc(const double *x, size_t n, size_t *order) {
    struct keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return -1;
    for (size_t i = 0; i < n; i++)
        k[i] = (struct keyed){x[i], i};
    qsort(k, n, sizeof *k, cmp_desc);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].i;
    free(k);
    return 0;
}

double umpire_pearson(const double *x, const double *y, size_t n) {
    if (n < 2)
        return NAN;
    double mx = umpire_mean(x, n), my = umpire_mean(y, n), sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

size_t umpire_finite_pairs(const double *score, const int *wrong, size_t n, double *s, int *w) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(score[i])) {
            s[m] = score[i];
            w[m++] = wrong[i] != 0;
        }
    return m;
}
