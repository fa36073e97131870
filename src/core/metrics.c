/* metrics.c - how well an uncertainty score detects wrong answers, and how calibrated it is.
 *
 * Positive class = wrong answer, score = uncertainty (higher = more likely wrong).
 *   AUROC        Mann-Whitney U / (n+ n-), ties counted one half (mid-ranks)
 *   AUPRC        average precision: sum over distinct thresholds of (R_i - R_{i-1}) P_i
 *   AURAC        mean over j = 0..n-1 of the accuracy of the n - j least uncertain answers
 *                (ties: the expected accuracy over their orderings)
 *   PRR          (AURAC - AURAC_random) / (AURAC_oracle - AURAC_random)
 *   TPR@FPR      the ROC curve, linearly interpolated at FPR = 10 % and 1 %
 *   CPC          UMPIRE's: 50 equal-width bins over [min - 1e-5, max], bins (lo, hi]; Pearson r
 *                of each non-empty bin's lower edge and its error rate
 *   ECE          p = min-max normalised score as P(wrong); sum_b (n_b / n) |mean p - error rate|
 *                over 10 equal-width (or equal-mass) bins
 *   calibrated ECE  min and max fitted on a seeded held-out 5 % (>= 2 items), ECE on the rest
 *   Brier, NLL   of p against the wrong / right label (p clipped to [1e-7, 1 - 1e-7] for NLL)
 * Undefined values (one class only, constant scores) are NaN, never a made-up number.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/stats.h"
#include "core/status.h"

static const char *const names[UMPIRE_N_METRICS] = {
    "auroc", "auprc", "prr", "aurac", "tpr_at_fpr10", "tpr_at_fpr1",
    "cpc", "ece", "ece_mass", "calibrated_ece", "brier", "nll"};

const char *umpire_metric_name(int m) { return m >= 0 && m < UMPIRE_N_METRICS ? names[m] : "?"; }

struct umpire_metric_params umpire_metric_default_params(void) {
    return (struct umpire_metric_params){
        .ece_bins = 10, .cpc_bins = 50, .cal_fraction = 0.05, .seed = 0, .bootstrap = 1000, .ci = 0.95};
}

static size_t count_wrong(const int *wrong, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += wrong[i] != 0;
    return w;
}

/* The ranking metrics below read the answers in descending order of score, o[0..n): sorted
 * once per (re)sample by compute_all, or by the public wrappers at the end of this file. */

static double auroc_sorted(const double *s, const int *wrong, size_t n, const size_t *o) {
    size_t pos = count_wrong(wrong, n), neg = n - pos;
    if (!pos || !neg)
        return NAN;
    /* ranks ascending = n - position in the descending order; ties share the mean rank */
    double rank_sum = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i, w = 0;
        while (j < n && s[o[j]] == s[o[i]])
            w += wrong[o[j++]] != 0;
        double mean_rank = (double)n - (double)(i + j - 1) / 2.0; /* ranks n-i .. n-j+1 */
        rank_sum += (double)w * mean_rank;
        i = j;
    }
    return (rank_sum - (double)pos * ((double)pos + 1) / 2.0) / ((double)pos * (double)neg);
}

static double auprc_sorted(const double *s, const int *wrong, size_t n, const size_t *o) {
    size_t pos = count_wrong(wrong, n);
    if (!pos)
        return NAN;
    double ap = 0.0, prev_recall = 0.0, tp = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[o[j]] == s[o[i]])
            tp += wrong[o[j++]] != 0;
        double recall = tp / (double)pos, precision = tp / (double)j;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        i = j;
    }
    return ap;
}

/* Mean over j = 0..n-1 of the accuracy kept after rejecting j answers, given how many wrong
 * answers removed_wrong(j) the order removes (expected value inside ties). */
static double aurac_from(const double *removed_wrong, size_t n, size_t n_wrong) {
    double a = 0.0;
    for (size_t j = 0; j < n; j++) {
        double kept = (double)(n - j), kept_wrong = (double)n_wrong - removed_wrong[j];
        a += (kept - kept_wrong) / kept;
    }
    return a / (double)n;
}

static int rejection(const double *s, const int *wrong, size_t n, const size_t *o, double *aurac,
                     double *prr) {
    size_t w = count_wrong(wrong, n);
    double *rem = malloc((n ? n : 1) * sizeof *rem);
    if (!rem)
        return -1;
    double removed = 0.0;
    for (size_t i = 0; i < n;) { /* a tie group of g answers with gw wrong */
        size_t j = i, gw = 0;
        while (j < n && s[o[j]] == s[o[i]])
            gw += wrong[o[j++]] != 0;
        double g = (double)(j - i);
        for (size_t r = 0; r < j - i; r++)
            rem[i + r] = removed + (double)r * (double)gw / g;
        removed += (double)gw;
        i = j;
    }
    *aurac = aurac_from(rem, n, w);
    for (size_t j = 0; j < n; j++)
        rem[j] = (double)(j < w ? j : w);
    double oracle = aurac_from(rem, n, w), random = 1.0 - (double)w / (double)n;
    *prr = oracle > random ? (*aurac - random) / (oracle - random) : NAN;
    free(rem);
    return 0;
}

static double tpr_sorted(const double *s, const int *wrong, size_t n, const size_t *o,
                         double fpr_target) {
    size_t pos = count_wrong(wrong, n), neg = n - pos;
    if (!pos || !neg)
        return NAN;
    double prev_f = 0.0, prev_t = 0.0, tpr = NAN, tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[o[j]] == s[o[i]]) {
            if (wrong[o[j]])
                tp++;
            else
                fp++;
            j++;
        }
        double f = fp / (double)neg, t = tp / (double)pos;
        if (f >= fpr_target) {
            tpr = f == prev_f ? t : prev_t + (t - prev_t) * (fpr_target - prev_f) / (f - prev_f);
            break;
        }
        prev_f = f;
        prev_t = t;
        i = j;
    }
    return tpr;
}

double umpire_cpc(const double *s, const int *wrong, size_t n, size_t bins) {
    if (n == 0 || bins == 0)
        return NAN;
    double lo = s[0], hi = s[0];
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, s[i]);
        hi = fmax(hi, s[i]);
    }
    lo -= 1e-5;
    double width = (hi - lo) / (double)bins;
    size_t *count = calloc(bins, sizeof *count), *err = calloc(bins, sizeof *err);
    double *edge = malloc(bins * sizeof *edge), *rate = malloc(bins * sizeof *rate), r = NAN;
    if (count && err && edge && rate) {
        for (size_t i = 0; i < n; i++) {
            /* bin b holds (lo + b w, lo + (b+1) w] */
            double x = (s[i] - lo) / width;
            size_t b = (size_t)ceil(x) - 1;
            if (x <= 0)
                b = 0;
            if (b >= bins)
                b = bins - 1;
            count[b]++;
            err[b] += wrong[i] != 0;
        }
        size_t m = 0;
        for (size_t b = 0; b < bins; b++)
            if (count[b]) {
                edge[m] = lo + (double)b * width;
                rate[m++] = (double)err[b] / (double)count[b];
            }
        r = umpire_pearson(edge, rate, m);
    }
    free(count);
    free(err);
    free(edge);
    free(rate);
    return r;
}

/* p_i = (s_i - lo) / (hi - lo) clipped to [0, 1]; 0.5 throughout when hi == lo. */
static void minmax_apply(const double *s, size_t n, double lo, double hi, double *p) {
    for (size_t i = 0; i < n; i++)
        p[i] = hi > lo ? fmin(1.0, fmax(0.0, (s[i] - lo) / (hi - lo))) : 0.5;
}

double umpire_ece(const double *p, const int *wrong, size_t n, size_t bins, int equal_mass) {
    if (n == 0 || bins == 0)
        return NAN;
    double ece = 0.0;
    if (equal_mass) {
        /* bins of consecutive answers in the order of p: sizes differ by at most one */
        size_t *o = malloc(n * sizeof *o);
        if (!o || umpire_argsort_desc(p, n, o) != 0) {
            free(o);
            return NAN;
        }
        for (size_t b = 0; b < bins; b++) {
            size_t from = b * n / bins, to = (b + 1) * n / bins;
            double mp = 0, mw = 0;
            for (size_t i = from; i < to; i++) {
                mp += p[o[i]];
                mw += wrong[o[i]] != 0;
            }
            if (to > from)
                ece += fabs(mp - mw) / (double)n;
        }
        free(o);
        return ece;
    }
    double *sum_p = calloc(bins, sizeof *sum_p), *sum_w = calloc(bins, sizeof *sum_w);
    if (!sum_p || !sum_w) {
        free(sum_p);
        free(sum_w);
        return NAN;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(p[i] * (double)bins);
        if (b >= bins)
            b = bins - 1;
        sum_p[b] += p[i];
        sum_w[b] += wrong[i] != 0;
    }
    for (size_t b = 0; b < bins; b++)
        ece += fabs(sum_p[b] - sum_w[b]) / (double)n; /* (n_b / n) |mean p - rate| */
    free(sum_p);
    free(sum_w);
    return ece;
}

/* All metrics of one (re)sample into v[UMPIRE_N_METRICS]; p and o are n-long scratch. */
static int compute_all(const double *s, const int *wrong, size_t n,
                       const struct umpire_metric_params *mp, double *v, double *p, size_t *o) {
    if (umpire_argsort_desc(s, n, o) != 0)
        return -1;
    v[UMPIRE_M_AUROC] = auroc_sorted(s, wrong, n, o);
    v[UMPIRE_M_AUPRC] = auprc_sorted(s, wrong, n, o);
    if (rejection(s, wrong, n, o, &v[UMPIRE_M_AURAC], &v[UMPIRE_M_PRR]) != 0)
        return -1;
    v[UMPIRE_M_TPR10] = tpr_sorted(s, wrong, n, o, 0.10);
    v[UMPIRE_M_TPR1] = tpr_sorted(s, wrong, n, o, 0.01);
    v[UMPIRE_M_CPC] = umpire_cpc(s, wrong, n, mp->cpc_bins);
    double lo = s[0], hi = s[0];
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, s[i]);
        hi = fmax(hi, s[i]);
    }
    minmax_apply(s, n, lo, hi, p);
    v[UMPIRE_M_ECE] = umpire_ece(p, wrong, n, mp->ece_bins, 0);
    v[UMPIRE_M_ECE_MASS] = umpire_ece(p, wrong, n, mp->ece_bins, 1);
    double brier = 0, nll = 0;
    for (size_t i = 0; i < n; i++) {
        double y = wrong[i] != 0, q = fmin(1 - 1e-7, fmax(1e-7, p[i]));
        brier += (p[i] - y) * (p[i] - y);
        nll -= y * log(q) + (1 - y) * log(1 - q);
    }
    v[UMPIRE_M_BRIER] = brier / (double)n;
    v[UMPIRE_M_NLL] = nll / (double)n;
    /* calibrated ECE: min-max fitted on a held-out split, measured on the rest */
    v[UMPIRE_M_CAL_ECE] = NAN;
    if (n >= 4) {
        size_t *cal = malloc(n * sizeof *cal);
        double *rest_s = malloc(n * sizeof *rest_s);
        int *rest_w = malloc(n * sizeof *rest_w);
        if (cal && rest_s && rest_w) {
            size_t m = umpire_dev_split(n, mp->cal_fraction, mp->seed, cal);
            if (m < 2)
                m = umpire_dev_split(n, 2.0 / (double)n, mp->seed, cal);
            double clo = s[cal[0]], chi = s[cal[0]];
            for (size_t j = 1; j < m; j++) {
                clo = fmin(clo, s[cal[j]]);
                chi = fmax(chi, s[cal[j]]);
            }
            size_t r = 0, c = 0;
            for (size_t i = 0; i < n; i++) {
                if (c < m && cal[c] == i) {
                    c++;
                    continue;
                }
                rest_s[r] = s[i];
                rest_w[r++] = wrong[i];
            }
            minmax_apply(rest_s, r, clo, chi, p);
            v[UMPIRE_M_CAL_ECE] = umpire_ece(p, rest_w, r, mp->ece_bins, 0);
        }
        free(cal);
        free(rest_s);
        free(rest_w);
    }
    return 0;
}

/* The q-quantile of n sorted values, linearly interpolated (numpy's default). */
static double quantile_sorted(const double *x, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    return i + 1 < n ? x[i] + (x[i + 1] - x[i]) * (pos - (double)i) : x[n - 1];
}

int umpire_metrics_compute(const double *score, const int *wrong, size_t n,
                           const struct umpire_metric_params *mp, struct umpire_metric_report *out,
                           char *err) {
    memset(out, 0, sizeof *out);
    for (int m = 0; m < UMPIRE_N_METRICS; m++)
        out->value[m] = out->lo[m] = out->hi[m] = NAN;
    /* answers without a score (NaN: the estimator lacked its input) are left out */
    double *s = malloc((n ? n : 1) * sizeof *s), *p = malloc((n ? n : 1) * sizeof *p);
    int *w = malloc((n ? n : 1) * sizeof *w);
    size_t *o = malloc((n ? n : 1) * sizeof *o);
    if (!s || !p || !w || !o) {
        free(s);
        free(p);
        free(w);
        free(o);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    size_t m = umpire_finite_pairs(score, wrong, n, s, w);
    out->n = m;
    out->n_wrong = count_wrong(w, m);
    int rc = UMPIRE_OK;
    if (m > 0 && compute_all(s, w, m, mp, out->value, p, o) != 0)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK && m > 1 && mp->bootstrap > 0) {
        double *rs = malloc(m * sizeof *rs), *rv = malloc(mp->bootstrap * UMPIRE_N_METRICS * sizeof *rv);
        double *col = malloc(mp->bootstrap * sizeof *col);
        int *rw = malloc(m * sizeof *rw);
        if (!rs || !rv || !col || !rw) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory for %zu bootstrap resamples", mp->bootstrap);
        } else {
            struct umpire_rng rng;
            umpire_rng_seed(&rng, mp->seed ^ 0x5bd1e995ULL);
            for (size_t b = 0; b < mp->bootstrap && rc == UMPIRE_OK; b++) {
                for (size_t i = 0; i < m; i++) {
                    size_t j = (size_t)umpire_rng_below(&rng, m);
                    rs[i] = s[j];
                    rw[i] = w[j];
                }
                if (compute_all(rs, rw, m, mp, rv + b * UMPIRE_N_METRICS, p, o) != 0)
                    rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            }
            for (int k = 0; k < UMPIRE_N_METRICS && rc == UMPIRE_OK; k++) {
                size_t c = 0;
                for (size_t b = 0; b < mp->bootstrap; b++)
                    if (isfinite(rv[b * UMPIRE_N_METRICS + k]))
                        col[c++] = rv[b * UMPIRE_N_METRICS + k];
                if (c * 2 < mp->bootstrap) /* mostly undefined: no interval */
                    continue;
                umpire_sort_double(col, c);
                out->lo[k] = quantile_sorted(col, c, (1 - mp->ci) / 2);
                out->hi[k] = quantile_sorted(col, c, 1 - (1 - mp->ci) / 2);
            }
        }
        free(rs);
        free(rv);
        free(col);
        free(rw);
    }
    free(s);
    free(p);
    free(w);
    free(o);
    return rc;
}

/* The public single metrics: sort, then the shared implementations above. */
static size_t *order_of(const double *s, size_t n) {
    size_t *o = malloc((n ? n : 1) * sizeof *o);
    if (o && umpire_argsort_desc(s, n, o) != 0) {
        free(o);
        o = NULL;
    }
    return o;
}

double umpire_auroc(const double *s, const int *wrong, size_t n) {
    size_t *o = order_of(s, n);
    double v = o ? auroc_sorted(s, wrong, n, o) : NAN;
    free(o);
    return v;
}

double umpire_auprc(const double *s, const int *wrong, size_t n) {
    size_t *o = order_of(s, n);
    double v = o ? auprc_sorted(s, wrong, n, o) : NAN;
    free(o);
    return v;
}

double umpire_tpr_at_fpr(const double *s, const int *wrong, size_t n, double fpr) {
    size_t *o = order_of(s, n);
    double v = o ? tpr_sorted(s, wrong, n, o, fpr) : NAN;
    free(o);
    return v;
}

int umpire_order_by_auroc(const struct umpire_metric_report *const *r, size_t n, size_t *order, size_t *n_ranked) {
    *n_ranked = 0;
    double *auroc = malloc((n ? n : 1) * sizeof *auroc);
    if (!auroc)
        return UMPIRE_ENOMEM;
    for (size_t e = 0; e < n; e++) /* AUROC is in [0, 1]: -1 marks the unranked */
        auroc[e] = r[e] && isfinite(r[e]->value[UMPIRE_M_AUROC]) ? r[e]->value[UMPIRE_M_AUROC] : -1;
    int rc = umpire_argsort_desc(auroc, n, order) == 0 ? UMPIRE_OK : UMPIRE_ENOMEM;
    while (rc == UMPIRE_OK && *n_ranked < n && auroc[order[*n_ranked]] >= 0)
        (*n_ranked)++;
    free(auroc);
    return rc;
}
