/* curves.c - the ROC, accuracy-rejection and reliability curves (curves.h), and the pieces
 * metrics.c computes AUROC's neighbours, AURAC and ECE from: one ordering, one set of points. */
#include "core/curves.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "core/status.h"

size_t umpire_roc_counts(const double *s, const int *wrong, size_t n, const size_t *o, double *fp, double *tp) {
    size_t m = 0;
    double f = 0, t = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[o[j]] == s[o[i]]) {
            if (wrong[o[j]])
                t++;
            else
                f++;
            j++;
        }
        fp[m] = f;
        tp[m++] = t;
        i = j;
    }
    return m;
}

void umpire_rejection_curve(const int *wrong, size_t n, const size_t *o, double *x, double *y) {
    double right_left = 0.0;
    for (size_t i = 0; i < n; i++)
        right_left += wrong[i] == 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)(i + 1) / (double)n;
        y[i] = right_left / (double)(n - i);
        right_left -= wrong[o[i]] == 0;
    }
}

double umpire_trapezoid(const double *x, const double *y, size_t m) {
    double area = 0.0;
    for (size_t i = 1; i < m; i++)
        area += (x[i] - x[i - 1]) * (y[i - 1] + y[i]) / 2.0;
    return area;
}

void umpire_minmax_scores(const double *s, size_t n, double *p) {
    double lo = n ? s[0] : 0, hi = lo;
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, s[i]);
        hi = fmax(hi, s[i]);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = hi > lo ? fmin(1.0, fmax(0.0, (s[i] - lo) / (hi - lo))) : 0.5;
}

void umpire_reliability_bins(const double *p, const int *wrong, size_t n, size_t bins, size_t *count,
                             double *sum_p, double *sum_wrong) {
    for (size_t b = 0; b < bins; b++) {
        count[b] = 0;
        sum_p[b] = sum_wrong[b] = 0.0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = p[i] >= 1.0 ? bins - 1 : (size_t)(p[i] * (double)bins);
        count[b]++;
        sum_p[b] += p[i];
        sum_wrong[b] += wrong[i] != 0;
    }
}

static int curve_alloc(struct umpire_curve *c, size_t n) {
    c->n = n;
    c->x = malloc((n ? n : 1) * sizeof *c->x);
    c->y = malloc((n ? n : 1) * sizeof *c->y);
    return c->x && c->y ? 0 : -1;
}

void umpire_curves_free(struct umpire_curves *c) {
    free(c->roc.x);
    free(c->roc.y);
    free(c->rejection.x);
    free(c->rejection.y);
    free(c->oracle.x);
    free(c->oracle.y);
    free(c->bin_count);
    free(c->bin_p);
    free(c->bin_error);
    memset(c, 0, sizeof *c);
}

int umpire_curves_compute(const double *s, const int *wrong, size_t n, size_t bins, struct umpire_curves *out,
                          char *err) {
    memset(out, 0, sizeof *out);
    size_t pos = 0, cap = n ? n : 1;
    for (size_t i = 0; i < n; i++)
        pos += wrong[i] != 0;
    size_t *o = malloc(cap * sizeof *o), *oracle = malloc(cap * sizeof *oracle);
    double *p = malloc(cap * sizeof *p), *sum_p = malloc((bins ? bins : 1) * sizeof *sum_p);
    double *sum_w = malloc((bins ? bins : 1) * sizeof *sum_w);
    int ok = o && oracle && p && sum_p && sum_w && umpire_argsort_desc(s, n, o) == 0 &&
             curve_alloc(&out->roc, n + 1) == 0 && curve_alloc(&out->rejection, n) == 0 &&
             curve_alloc(&out->oracle, n) == 0 && (out->bin_count = malloc((bins ? bins : 1) * sizeof *out->bin_count)) &&
             (out->bin_p = malloc((bins ? bins : 1) * sizeof *out->bin_p)) &&
             (out->bin_error = malloc((bins ? bins : 1) * sizeof *out->bin_error));
    if (ok) {
        /* ROC: (0, 0), then each distinct threshold's (FPR, TPR); undefined with one class */
        out->roc.n = 0;
        if (pos > 0 && pos < n) {
            double neg = (double)(n - pos);
            size_t m = umpire_roc_counts(s, wrong, n, o, out->roc.x + 1, out->roc.y + 1);
            out->roc.x[0] = out->roc.y[0] = 0.0;
            for (size_t c = 1; c <= m; c++) {
                out->roc.x[c] /= neg;
                out->roc.y[c] /= (double)pos;
            }
            out->roc.n = m + 1;
        }
        umpire_rejection_curve(wrong, n, o, out->rejection.x, out->rejection.y);
        size_t k = 0; /* the oracle: wrong answers first, then the right ones */
        for (int want = 1; want >= 0; want--)
            for (size_t i = 0; i < n; i++)
                if ((wrong[i] != 0) == want)
                    oracle[k++] = i;
        umpire_rejection_curve(wrong, n, oracle, out->oracle.x, out->oracle.y);
        out->bins = bins;
        umpire_minmax_scores(s, n, p);
        umpire_reliability_bins(p, wrong, n, bins, out->bin_count, sum_p, sum_w);
        for (size_t b = 0; b < bins; b++) {
            double c = (double)out->bin_count[b];
            out->bin_p[b] = out->bin_count[b] ? sum_p[b] / c : NAN;
            out->bin_error[b] = out->bin_count[b] ? sum_w[b] / c : NAN;
        }
    } else {
        umpire_curves_free(out);
    }
    free(o);
    free(oracle);
    free(p);
    free(sum_p);
    free(sum_w);
    return ok ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory drawing the curves of %zu answers", n);
}
