/* risk.c - a score threshold with a guarantee: answer the questions whose uncertainty is at
 * most t, escalate the rest, and keep the error rate among answered questions below a target
 * with confidence 1 - delta.
 *
 * A candidate t (a distinct score) answers the m answers scored <= t, e of them wrong; their
 * error rate is bounded above by the one-sided Clopper-Pearson bound u(e, m, delta'), the p
 * with P(Binomial(m, p) <= e) = delta'. Selection with guaranteed risk (SGR; Geifman &
 * El-Yaniv 2017): binary search over the G candidates for the largest t with u <= risk, each
 * of its at most K = ceil(log2(G + 1)) tests at delta' = delta / K, so that by the union
 * bound all the bounds it used hold together with probability >= 1 - delta.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "core/status.h"

/* Continued fraction of the regularised incomplete beta (modified Lentz). */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    d = fabs(d) < tiny ? tiny : d;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        double m2 = 2.0 * m, num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1.0 + num * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + num / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1.0 + num * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + num / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        double step = d * c;
        h *= step;
        if (fabs(step - 1.0) < 1e-15)
            break;
    }
    return h;
}

/* I_x(a, b), the regularised incomplete beta function. */
static double inc_beta(double a, double b, double x) {
    if (x <= 0)
        return 0.0;
    if (x >= 1)
        return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * beta_cf(a, b, x) / a;
    return 1.0 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double umpire_binomial_cdf(size_t e, size_t m, double p) {
    if (e >= m)
        return 1.0;
    return inc_beta((double)(m - e), (double)e + 1.0, 1.0 - p); /* P(X <= e) */
}

double umpire_clopper_pearson_upper(size_t e, size_t m, double delta) {
    if (m == 0 || e >= m)
        return 1.0;
    double lo = (double)e / (double)m, hi = 1.0; /* the cdf falls from >= 1/2 to 0 over [e/m, 1] */
    for (int it = 0; it < 200 && hi - lo > 1e-15; it++) {
        double mid = 0.5 * (lo + hi);
        if (umpire_binomial_cdf(e, m, mid) > delta)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

int umpire_risk_threshold(const double *score, const int *wrong, size_t n, double risk, double delta,
                          struct umpire_calibration *c, char *err) {
    if (!(risk > 0 && risk < 1) || !(delta > 0 && delta < 1))
        return umpire_fail(err, UMPIRE_EINVAL, "risk control needs 0 < risk < 1 and 0 < delta < 1");
    double *s = malloc((n ? n : 1) * sizeof *s);
    int *w = malloc((n ? n : 1) * sizeof *w);
    size_t *desc = malloc((n ? n : 1) * sizeof *desc);
    size_t m = s && w && desc ? umpire_finite_pairs(score, wrong, n, s, w) : 0;
    if (!s || !w || !desc || umpire_argsort_desc(s, m, desc) != 0) {
        free(s);
        free(w);
        free(desc);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    c->risk = risk;
    c->delta = delta;
    c->threshold = -INFINITY; /* escalate everything unless a threshold passes */
    c->n_answered = 0;
    c->risk_bound = NAN;
    /* candidates: the end of each tie group in ascending score order (a tie group is answered
     * as a whole); ends[g] answers, errs[g] of them wrong */
    size_t *ends = malloc((m ? m : 1) * sizeof *ends), *errs = malloc((m ? m : 1) * sizeof *errs);
    if (!ends || !errs) {
        free(ends);
        free(errs);
        free(s);
        free(w);
        free(desc);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    size_t groups = 0, e = 0;
    for (size_t a = 0; a < m;) { /* ascending = the descending order read backwards */
        double t = s[desc[m - 1 - a]];
        while (a < m && s[desc[m - 1 - a]] == t)
            e += (size_t)w[desc[m - 1 - a++]];
        ends[groups] = a;
        errs[groups++] = e;
    }
    size_t tests = 0;
    while (((size_t)1 << tests) < groups + 1)
        tests++;
    double level = tests ? delta / (double)tests : delta;
    /* lo: the largest candidate known to pass (-1: none), hi: the largest still possible */
    long lo = -1, hi = (long)groups - 1;
    while (lo < hi) {
        long mid = (lo + hi + 1) / 2;
        double u = umpire_clopper_pearson_upper(errs[mid], ends[mid], level);
        if (u <= risk) {
            lo = mid;
            c->risk_bound = u;
        } else {
            hi = mid - 1;
        }
    }
    if (lo >= 0) {
        c->n_answered = ends[lo];
        c->threshold = s[desc[m - ends[lo]]];
    }
    free(ends);
    free(errs);
    free(s);
    free(w);
    free(desc);
    return UMPIRE_OK;
}
