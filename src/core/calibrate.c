/* calibrate.c - maps that turn an uncertainty score into a probability that the answer is
 * wrong, fitted on labelled data, and temperature scaling of logit confidences.
 *
 *   min-max     p = clip((s - min) / (max - min), 0, 1)                (UMPIRE's proxy)
 *   Platt       p = 1 / (1 + exp(-(a s + b))), a, b maximising the likelihood of Platt's
 *               smoothed targets t+ = (N+ + 1)/(N+ + 2), t- = 1/(N- + 2) (Platt 1999), Newton
 *   isotonic    the non-decreasing least-squares fit of wrong on s (pool adjacent violators),
 *               linearly interpolated between distinct scores, clipped outside (as sklearn)
 *   histogram   equal-mass bins of s, p = the bin's error rate (Zadrozny & Elkan 2001)
 *   temperature T minimising NLL(softmax(z / T)) (Guo et al. 2017); the NLL is convex in
 *               beta = 1/T, so bisection on its derivative finds the optimum to 1e-12
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/logprob.h"
#include "core/stats.h"
#include "core/status.h"

static const char *const method_names[] = {"minmax", "platt", "isotonic", "histogram"};

const char *umpire_calibration_method_name(enum umpire_calibration_method m) {
    return m <= UMPIRE_CAL_HISTOGRAM ? method_names[m] : "?";
}

int umpire_calibration_method_parse(const char *name, enum umpire_calibration_method *m) {
    for (int i = 0; i <= UMPIRE_CAL_HISTOGRAM; i++)
        if (!strcmp(name, method_names[i])) {
            *m = (enum umpire_calibration_method)i;
            return 0;
        }
    return -1;
}

void umpire_calibration_free(struct umpire_calibration *c) {
    free(c->x);
    free(c->y);
    c->x = c->y = NULL;
    c->n_points = 0;
}

/* Platt: maximise sum_i t_i log p_i + (1 - t_i) log(1 - p_i), p_i = sigma(a s_i + b). */
static int fit_platt(const double *s, const int *wrong, size_t n, struct umpire_calibration *c) {
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += wrong[i] != 0;
    double tp = ((double)pos + 1) / ((double)pos + 2), tn = 1.0 / ((double)(n - pos) + 2);
    double a = 0.0, b = log(((double)pos + 1) / ((double)(n - pos) + 1));
    for (int it = 0; it < 100; it++) {
        double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
        for (size_t i = 0; i < n; i++) {
            double t = wrong[i] ? tp : tn, p = 1 / (1 + exp(-(a * s[i] + b))), w = p * (1 - p);
            ga += (p - t) * s[i];
            gb += p - t;
            haa += w * s[i] * s[i];
            hab += w * s[i];
            hbb += w;
        }
        haa += 1e-12; /* a constant score leaves a flat in a: keep the system solvable */
        hbb += 1e-12;
        double det = haa * hbb - hab * hab;
        if (!(det > 0))
            break;
        double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if (fabs(da) + fabs(db) < 1e-12 * (1 + fabs(a) + fabs(b)))
            break;
    }
    if (!isfinite(a) || !isfinite(b))
        return -1;
    c->a = a;
    c->b = b;
    return 0;
}

struct pair {
    double s;
    int w;
};

static int by_score(const void *x, const void *y) {
    double a = ((const struct pair *)x)->s, b = ((const struct pair *)y)->s;
    return (a > b) - (a < b);
}

/* Isotonic: distinct scores x_j with their error rates as weighted points, then PAV. */
static int fit_isotonic(const double *s, const int *wrong, size_t n, struct umpire_calibration *c) {
    struct pair *p = malloc(n * sizeof *p);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *wt = malloc(n * sizeof *wt);
    size_t *first = malloc(n * sizeof *first);
    if (!p || !x || !y || !wt || !first) {
        free(p), free(x), free(y), free(wt), free(first);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){s[i], wrong[i] != 0};
    qsort(p, n, sizeof *p, by_score);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, e = 0;
        while (j < n && p[j].s == p[i].s)
            e += (size_t)p[j++].w;
        x[m] = p[i].s;
        y[m] = (double)e / (double)(j - i);
        wt[m++] = (double)(j - i);
        i = j;
    }
    /* pool adjacent violators: blocks on a stack, each (mean, weight, first point) */
    double *bm = malloc(m * sizeof *bm), *bw = malloc(m * sizeof *bw);
    size_t nb = 0;
    if (!bm || !bw) {
        free(p), free(x), free(y), free(wt), free(first), free(bm), free(bw);
        return -1;
    }
    for (size_t j = 0; j < m; j++) {
        bm[nb] = y[j];
        bw[nb] = wt[j];
        first[nb++] = j;
        while (nb > 1 && bm[nb - 2] > bm[nb - 1]) {
            double w2 = bw[nb - 2] + bw[nb - 1];
            bm[nb - 2] = (bm[nb - 2] * bw[nb - 2] + bm[nb - 1] * bw[nb - 1]) / w2;
            bw[nb - 2] = w2;
            nb--;
        }
    }
    for (size_t b = 0; b < nb; b++) {
        size_t end = b + 1 < nb ? first[b + 1] : m;
        for (size_t j = first[b]; j < end; j++)
            y[j] = bm[b];
    }
    free(p), free(wt), free(first), free(bm), free(bw);
    c->x = x;
    c->y = y;
    c->n_points = m;
    return 0;
}

/* Histogram binning: `bins` equal-mass bins over the sorted scores; x = upper edges. */
static int fit_histogram(const double *s, const int *wrong, size_t n, size_t bins,
                         struct umpire_calibration *c) {
    if (bins == 0)
        return -1;
    if (bins > n)
        bins = n;
    struct pair *p = malloc(n * sizeof *p);
    c->x = malloc(bins * sizeof *c->x);
    c->y = malloc(bins * sizeof *c->y);
    if (!p || !c->x || !c->y) {
        free(p);
        umpire_calibration_free(c);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){s[i], wrong[i] != 0};
    qsort(p, n, sizeof *p, by_score);
    size_t m = 0;
    for (size_t b = 0, from = 0; b < bins; b++) {
        size_t to = (b + 1) * n / bins;
        while (to < n && to > 0 && p[to].s == p[to - 1].s) /* ties stay in one bin */
            to++;
        if (to <= from)
            continue;
        size_t e = 0;
        for (size_t i = from; i < to; i++)
            e += (size_t)p[i].w;
        c->x[m] = p[to - 1].s;
        c->y[m++] = (double)e / (double)(to - from);
        from = to;
        if (to == n)
            break;
    }
    c->n_points = m;
    free(p);
    return 0;
}

int umpire_calibration_fit(const double *score, const int *wrong, size_t n,
                           enum umpire_calibration_method method, size_t bins,
                           struct umpire_calibration *out, char *err) {
    memset(out, 0, sizeof *out);
    out->method = method;
    out->threshold = NAN;
    /* NaN scores (an estimator without its input) carry no information: leave them out */
    double *s = malloc((n ? n : 1) * sizeof *s);
    int *w = malloc((n ? n : 1) * sizeof *w);
    if (!s || !w) {
        free(s);
        free(w);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    size_t m = umpire_finite_pairs(score, wrong, n, s, w);
    out->n = m;
    int rc = UMPIRE_OK;
    if (m < 2) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "calibration needs at least 2 labelled scores, got %zu", m);
    } else {
        out->lo = out->hi = s[0];
        for (size_t i = 1; i < m; i++) {
            out->lo = fmin(out->lo, s[i]);
            out->hi = fmax(out->hi, s[i]);
        }
        int bad = 0;
        if (method == UMPIRE_CAL_PLATT)
            bad = fit_platt(s, w, m, out);
        else if (method == UMPIRE_CAL_ISOTONIC)
            bad = fit_isotonic(s, w, m, out);
        else if (method == UMPIRE_CAL_HISTOGRAM)
            bad = fit_histogram(s, w, m, bins, out);
        else if (method != UMPIRE_CAL_MINMAX)
            bad = 1;
        if (bad)
            rc = umpire_fail(err, UMPIRE_ENUM, "fitting the %s map failed", umpire_calibration_method_name(method));
    }
    free(s);
    free(w);
    return rc;
}

double umpire_calibration_apply(const struct umpire_calibration *c, double s) {
    if (!isfinite(s))
        return NAN;
    switch (c->method) {
    case UMPIRE_CAL_MINMAX:
        return c->hi > c->lo ? fmin(1.0, fmax(0.0, (s - c->lo) / (c->hi - c->lo))) : 0.5;
    case UMPIRE_CAL_PLATT:
        return 1.0 / (1.0 + exp(-(c->a * s + c->b)));
    case UMPIRE_CAL_ISOTONIC: {
        size_t m = c->n_points;
        if (m == 0)
            return NAN;
        if (s <= c->x[0])
            return c->y[0];
        if (s >= c->x[m - 1])
            return c->y[m - 1];
        size_t lo = 0, hi = m - 1; /* x[lo] < s < x[hi] */
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (c->x[mid] <= s)
                lo = mid;
            else
                hi = mid;
        }
        return c->y[lo] + (c->y[hi] - c->y[lo]) * (s - c->x[lo]) / (c->x[hi] - c->x[lo]);
    }
    case UMPIRE_CAL_HISTOGRAM: {
        for (size_t b = 0; b < c->n_points; b++)
            if (s <= c->x[b])
                return c->y[b];
        return c->n_points ? c->y[c->n_points - 1] : NAN;
    }
    }
    return NAN;
}

/* d NLL / d beta of the logits zs (already divided by their largest magnitude, so that logits
 * near +-DBL_MAX do not overflow): mean_i (E_{p_beta}[z_i] - z_i,y_i), non-decreasing in beta. */
static double nll_slope(const double *zs, const int *label, size_t n, size_t c, double beta) {
    double g = 0.0;
    for (size_t i = 0; i < n; i++) {
        struct umpire_softmax s;
        umpire_softmax_mean_f64(zs + i * c, c, beta > 0 ? 1.0 / beta : INFINITY, &s);
        g += s.mean - zs[i * c + (size_t)label[i]];
    }
    return g / (double)n;
}

double umpire_softmax_top(const double *z, size_t c, double t, size_t *top) {
    size_t best = 0;
    for (size_t j = 1; j < c; j++)
        best = z[j] > z[best] ? j : best;
    struct umpire_softmax s;
    umpire_softmax_f64(z, c, t, &s);
    if (top)
        *top = best;
    return 1.0 / s.sum; /* exp(z_best / t - max) = 1 */
}

double umpire_temperature_nll(const double *z, const int *label, size_t n, size_t c, double t) {
    double nll = 0.0;
    for (size_t i = 0; i < n; i++) {
        struct umpire_softmax s;
        umpire_softmax_f64(z + i * c, c, t, &s);
        nll += s.max + s.logz - z[i * c + (size_t)label[i]] / t; /* logsumexp(z / T) - z_y / T */
    }
    return nll / (double)n;
}

int umpire_temperature_fit(const double *z, const int *label, size_t n, size_t c, double *t,
                           char *err) {
    if (n == 0 || c < 2)
        return umpire_fail(err, UMPIRE_EINVAL, "temperature scaling needs items with >= 2 logits");
    /* the NLL depends on z / T only: fit beta' = scale / T on z / scale, the largest |z| 1, so
     * that logits of any finite magnitude (1e300 or 1e-300) give the same beta' */
    double scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (label[i] < 0 || (size_t)label[i] >= c)
            return umpire_fail(err, UMPIRE_EINVAL, "item %zu: label %d is not one of %zu options", i, label[i], c);
        for (size_t j = 0; j < c; j++) {
            if (!isfinite(z[i * c + j]))
                return umpire_fail(err, UMPIRE_EINVAL, "item %zu: logit %zu is not a finite number",
                                   i, j);
            scale = fmax(scale, fabs(z[i * c + j]));
        }
    }
    double *zs = scale > 0 ? malloc(n * c * sizeof *zs) : NULL;
    if (scale > 0 && !zs)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; zs && i < n * c; i++)
        zs[i] = z[i] / scale;
    /* the slope at beta = 0 is >= 0 when the logits are no better than uniform: T -> inf */
    if (scale == 0.0 || nll_slope(zs, label, n, c, 0.0) >= 0) {
        free(zs);
        return umpire_fail(err, UMPIRE_EINVAL, "the logits do not beat a uniform guess: no finite temperature");
    }
    /* the slope stays < 0 for every beta exactly when each label is first (or tied first) in
     * its row: the NLL then keeps falling as T -> 0 and has no minimum */
    size_t first = 0;
    for (size_t i = 0; i < n; i++) {
        const double *zi = z + i * c;
        size_t j = 0;
        while (j < c && zi[j] <= zi[label[i]])
            j++;
        first += j == c;
    }
    if (first == n) {
        free(zs);
        return umpire_fail(err, UMPIRE_EINVAL, "the logits rank every label first: T -> 0");
    }
    /* some label is below its row's maximum: the slope tends to a positive limit, so a finite
     * beta' with slope >= 0 exists; bracket it by doubling, then bisect to 1e-12 */
    double lo = 0.0, hi = 1.0;
    while (nll_slope(zs, label, n, c, hi) < 0 && hi < 1e300) {
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 2000 && hi - lo > 1e-12 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (nll_slope(zs, label, n, c, mid) < 0)
            lo = mid;
        else
            hi = mid;
    }
    free(zs);
    *t = scale * (2.0 / (lo + hi));
    if (!(*t > 0) || !isfinite(*t))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "the fitted temperature (%g x %g) is not a finite positive number",
                           scale, 2.0 / (lo + hi));
    return UMPIRE_OK;
}
