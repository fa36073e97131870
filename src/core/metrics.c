/* metrics.c - how well an uncertainty score detects wrong answers, and how calibrated it is.
 *
 * Positive class = wrong answer, score = uncertainty (higher = more likely wrong). The names
 * of UMPIRE's reference code (modules/eval_utils.py) carry its definitions; umpire's own
 * variants have names of their own.
 *   AUROC        Mann-Whitney U / (n+ n-), ties counted one half (= sklearn's roc_auc)
 *   AUPRC        average precision: sum over distinct thresholds of (R_i - R_{i-1}) P_i
 *   AURAC        the reference's compute_aurac_from_image_df: answers sorted by uncertainty,
 *                most uncertain first (ties in item order); acc_i = accuracy of answers i..n-1;
 *                trapezoid area of acc_i over x_i = (i + 1) / n
 *   aurac_expected  mean over j = 0..n-1 of the accuracy of the n - j least uncertain answers,
 *                ties broken in expectation (order-free)
 *   PRR          (aurac_expected - random) / (oracle - random), on that rejection curve
 *   TPR@FPR      the reference's get_tpr_at_fpr: the point of sklearn's roc_curve (intermediate
 *                collinear points dropped) whose FPR is nearest the target (first on ties)
 *   tpr_*_interp the ROC curve linearly interpolated at the target FPR
 *   CPC          the reference's compute_pearsonr: edges linspace(min, max, 51), the first lower
 *                edge moved to min - 1e-5, bins (lo, hi]; Pearson r of each non-empty bin's
 *                lower edge and its error rate
 *   cECE         the reference's get_calibrate_ece as its pipeline calls it: min-max fitted on
 *                a 5 % split (umpire_split_draw), applied unclipped to the rest, confidence
 *                1 - that; uncertainty_metrics' top-label binary ECE, 50 even bins (digitize)
 *   ECE          p = min-max normalised score as P(wrong); sum_b (n_b / n) |mean p - error rate|
 *                over 10 equal-width (or equal-mass) bins
 *   Brier, NLL   of that p against the wrong / right label (p clipped to [1e-7, 1 - 1e-7] for NLL)
 * Undefined values (one class only, constant scores) are NaN, never a made-up number. The ROC
 * points, AURAC's rejection curve and ECE's bins come from curves.c, which draws them too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/curves.h"
#include "core/rng.h"
#include "core/stats.h"
#include "core/status.h"

static const char *const names[UMPIRE_N_METRICS] = {
    [UMPIRE_M_AUROC] = "auroc",
    [UMPIRE_M_AUPRC] = "auprc",
    [UMPIRE_M_PRR] = "prr",
    [UMPIRE_M_AURAC] = "aurac",
    [UMPIRE_M_AURAC_EXPECTED] = "aurac_expected",
    [UMPIRE_M_TPR10] = "tpr_at_fpr10",
    [UMPIRE_M_TPR1] = "tpr_at_fpr1",
    [UMPIRE_M_TPR10_INTERP] = "tpr_at_fpr10_interp",
    [UMPIRE_M_TPR1_INTERP] = "tpr_at_fpr1_interp",
    [UMPIRE_M_CPC] = "cpc",
    [UMPIRE_M_CECE] = "cece",
    [UMPIRE_M_ECE] = "ece",
    [UMPIRE_M_ECE_MASS] = "ece_mass",
    [UMPIRE_M_BRIER] = "brier",
    [UMPIRE_M_NLL] = "nll",
};

size_t umpire_metric_count(void) { return UMPIRE_N_METRICS; }

void umpire_metric_report_free(struct umpire_metric_report *r) {
    free(r->value);
    memset(r, 0, sizeof *r);
}

const char *umpire_metric_name(int m) { return m >= 0 && m < UMPIRE_N_METRICS ? names[m] : "?"; }

struct umpire_metric_params umpire_metric_default_params(void) {
    return (struct umpire_metric_params){.ece_bins = 10,
                                         .cpc_bins = 50,
                                         .cece_bins = 50,
                                         .cal_fraction = 0.05,
                                         .split = UMPIRE_SPLIT_UMPIRE,
                                         .split_seed = 0,
                                         .seed = 0,
                                         .bootstrap = 1000,
                                         .ci = 0.95};
}

static size_t count_wrong(const int *wrong, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += wrong[i] != 0;
    return w;
}

/* The ranking metrics below read the answers in descending order of score, o[0..n) (ties in
 * item order): sorted once per (re)sample by compute_all, or by the public wrappers. */

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

/* The reference's AURAC: the area under its accuracy-rejection curve (curves.c); x, y n-long
 * scratch. */
static double aurac_reference(const int *wrong, size_t n, const size_t *o, double *x, double *y) {
    if (n < 2)
        return NAN;
    umpire_rejection_curve(wrong, n, o, x, y);
    return umpire_trapezoid(x, y, n);
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

/* aurac_expected and PRR; rem is n-long scratch. */
static void rejection(const double *s, const int *wrong, size_t n, const size_t *o, double *rem, double *aurac,
                      double *prr) {
    size_t w = count_wrong(wrong, n);
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
}

static double tpr_interp(const double *fp, const double *tp, size_t m, double pos, double neg, double target) {
    double prev_f = 0.0, prev_t = 0.0;
    for (size_t c = 0; c < m; c++) {
        double f = fp[c] / neg, t = tp[c] / pos;
        if (f >= target)
            return f == prev_f ? t : prev_t + (t - prev_t) * (target - prev_f) / (f - prev_f);
        prev_f = f;
        prev_t = t;
    }
    return NAN;
}

/* sklearn's roc_curve(drop_intermediate=True) with (0, 0) prepended, then the reference's
 * tpr[argmin |fpr - target|] (the first index on ties). */
static double tpr_reference(const double *fp, const double *tp, size_t m, double pos, double neg, double target) {
    double best_d = fabs(0.0 - target), best_t = 0.0; /* the prepended point (0, 0) */
    for (size_t c = 0; c < m; c++) {
        /* a point is kept when it is an end point or a corner (second differences != 0) */
        if (m > 2 && c > 0 && c + 1 < m && fp[c + 1] - 2 * fp[c] + fp[c - 1] == 0 &&
            tp[c + 1] - 2 * tp[c] + tp[c - 1] == 0)
            continue;
        double d = fabs(fp[c] / neg - target);
        if (d < best_d) {
            best_d = d;
            best_t = tp[c] / pos;
        }
    }
    return best_t;
}

/* The bin (lo, hi] of the reference's CPC edges that holds x, or -1 when none does (an
 * item at min where min - 1e-5 rounds to min). edge(b) = b * step + min, edge(bins) = max. */
static long cpc_bin(double x, double mn, double mx, double step, size_t bins) {
    double first_lo = mn - 1e-5;
    if (!(x > first_lo) || !(x <= mx))
        return -1;
    double guess = step > 0 ? ceil((x - mn) / step) - 1 : 0;
    long b = guess < 0 ? 0 : guess > (double)(bins - 1) ? (long)bins - 1 : (long)guess;
#define LO(b) ((b) == 0 ? first_lo : (double)(b) * step + mn)
#define HI(b) ((size_t)(b) + 1 == bins ? mx : (double)((b) + 1) * step + mn)
    while (b > 0 && !(x > LO(b)))
        b--;
    while ((size_t)b + 1 < bins && !(x <= HI(b)))
        b++;
    return x > LO(b) && x <= HI(b) ? b : -1;
#undef LO
#undef HI
}

double umpire_cpc(const double *s, const int *wrong, size_t n, size_t bins) {
    if (n == 0 || bins == 0)
        return NAN;
    double mn = s[0], mx = s[0];
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(s[i]))
            return NAN;
        mn = fmin(mn, s[i]);
        mx = fmax(mx, s[i]);
    }
    double step = (mx - mn) / (double)bins; /* numpy's linspace: i * step + start */
    if (!isfinite(step))
        return NAN;
    size_t *count = calloc(bins, sizeof *count), *err = calloc(bins, sizeof *err);
    double *edge = malloc(bins * sizeof *edge), *rate = malloc(bins * sizeof *rate), r = NAN;
    if (count && err && edge && rate) {
        for (size_t i = 0; i < n; i++) {
            long b = cpc_bin(s[i], mn, mx, step, bins);
            if (b >= 0) {
                count[b]++;
                err[b] += wrong[i] != 0;
            }
        }
        size_t m = 0;
        for (size_t b = 0; b < bins; b++)
            if (count[b]) {
                edge[m] = b == 0 ? mn - 1e-5 : (double)b * step + mn;
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

double umpire_ece(const double *p, const int *wrong, size_t n, size_t bins, int equal_mass) {
    if (n == 0 || bins == 0)
        return NAN;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] >= 0 && p[i] <= 1))
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
    double *sum_p = malloc(bins * sizeof *sum_p), *sum_w = malloc(bins * sizeof *sum_w);
    size_t *count = malloc(bins * sizeof *count);
    if (sum_p && sum_w && count) {
        umpire_reliability_bins(p, wrong, n, bins, count, sum_p, sum_w);
        for (size_t b = 0; b < bins; b++)
            ece += fabs(sum_p[b] - sum_w[b]) / (double)n; /* (n_b / n) |mean p - rate| */
    } else {
        ece = NAN;
    }
    free(sum_p);
    free(sum_w);
    free(count);
    return ece;
}

double umpire_ece_top_label(const double *q, const int *right, size_t n, size_t bins) {
    if (n == 0 || bins == 0)
        return NAN;
    double *sum_c = calloc(bins + 1, sizeof *sum_c), *sum_h = calloc(bins + 1, sizeof *sum_h), ece = 0.0;
    if (!sum_c || !sum_h) {
        free(sum_c);
        free(sum_h);
        return NAN;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(q[i])) { /* dropped by its "probs > 0" filter */
            continue;
        }
        /* [1 - q, q]: the top label and its probability (argmax: the first on ties) */
        int top = q[i] > 1.0 - q[i];
        double conf = top ? q[i] : 1.0 - q[i];
        /* np.digitize(conf, upper edges b / bins, b = 1..bins): the edges <= conf */
        size_t b = 0;
        while (b < bins && (b + 1 == bins ? 1.0 : (double)(b + 1) * (1.0 / (double)bins)) <= conf)
            b++;
        sum_c[b] += conf;
        sum_h[b] += (right[i] != 0) == top;
    }
    for (size_t b = 0; b <= bins; b++)
        ece += fabs(sum_h[b] - sum_c[b]);
    free(sum_c);
    free(sum_h);
    return ece / (double)n;
}

/* cECE of one (re)sample: cal[i] marks the calibration split; q, rs and rw are n-long scratch. */
static double cece(const double *s, const int *wrong, const unsigned char *cal, size_t n, size_t bins, double *q,
                   int *right) {
    double lo = INFINITY, hi = -INFINITY;
    size_t m = 0, r = 0;
    for (size_t i = 0; i < n; i++)
        if (cal[i]) {
            lo = fmin(lo, s[i]);
            hi = fmax(hi, s[i]);
            m++;
        }
    if (m == 0 || m == n)
        return NAN;
    /* sklearn's MinMaxScaler: scale = 1 / range (1 for a zero range), x * scale - lo * scale */
    double scale = hi > lo ? 1.0 / (hi - lo) : 1.0, shift = 0.0 - lo * scale;
    for (size_t i = 0; i < n; i++)
        if (!cal[i]) {
            q[r] = 1.0 - (s[i] * scale + shift); /* confidence that the answer is right */
            right[r++] = wrong[i] == 0;
        }
    return umpire_ece_top_label(q, right, r, bins);
}

struct scratch {
    double *p, *rem, *fp, *tp; /* n-long each; fp and tp hold the rejection curve first */
    size_t *o;
    int *iw;
};

/* All metrics of one (re)sample into v[UMPIRE_N_METRICS]. */
static int compute_all(const double *s, const int *wrong, const unsigned char *cal, size_t n,
                       const struct umpire_metric_params *mp, double *v, struct scratch *x) {
    for (int k = 0; k < UMPIRE_N_METRICS; k++)
        v[k] = NAN;
    int constant = 1;
    for (size_t i = 1; i < n && constant; i++)
        constant = s[i] == s[0];
    if (n == 0 || constant) /* a constant score ranks nothing and calibrates nothing */
        return 0;
    if (umpire_argsort_desc(s, n, x->o) != 0)
        return -1;
    const size_t *o = x->o;
    double pos = (double)count_wrong(wrong, n), neg = (double)n - pos;
    v[UMPIRE_M_AUROC] = auroc_sorted(s, wrong, n, o);
    v[UMPIRE_M_AUPRC] = auprc_sorted(s, wrong, n, o);
    v[UMPIRE_M_AURAC] = aurac_reference(wrong, n, o, x->fp, x->tp);
    rejection(s, wrong, n, o, x->rem, &v[UMPIRE_M_AURAC_EXPECTED], &v[UMPIRE_M_PRR]);
    if (pos > 0 && neg > 0) {
        size_t m = umpire_roc_counts(s, wrong, n, o, x->fp, x->tp);
        v[UMPIRE_M_TPR10] = tpr_reference(x->fp, x->tp, m, pos, neg, 0.10);
        v[UMPIRE_M_TPR1] = tpr_reference(x->fp, x->tp, m, pos, neg, 0.01);
        v[UMPIRE_M_TPR10_INTERP] = tpr_interp(x->fp, x->tp, m, pos, neg, 0.10);
        v[UMPIRE_M_TPR1_INTERP] = tpr_interp(x->fp, x->tp, m, pos, neg, 0.01);
    }
    v[UMPIRE_M_CPC] = umpire_cpc(s, wrong, n, mp->cpc_bins);
    if (cal)
        v[UMPIRE_M_CECE] = cece(s, wrong, cal, n, mp->cece_bins, x->p, x->iw);
    umpire_minmax_scores(s, n, x->p);
    v[UMPIRE_M_ECE] = umpire_ece(x->p, wrong, n, mp->ece_bins, 0);
    v[UMPIRE_M_ECE_MASS] = umpire_ece(x->p, wrong, n, mp->ece_bins, 1);
    double brier = 0, nll = 0;
    for (size_t i = 0; i < n; i++) {
        double y = wrong[i] != 0, q = fmin(1 - 1e-7, fmax(1e-7, x->p[i]));
        brier += (x->p[i] - y) * (x->p[i] - y);
        nll -= y * log(q) + (1 - y) * log(1 - q);
    }
    v[UMPIRE_M_BRIER] = brier / (double)n;
    v[UMPIRE_M_NLL] = nll / (double)n;
    return 0;
}

/* The q-quantile of n sorted values, linearly interpolated (numpy's default). */
static double quantile_sorted(const double *x, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    return i + 1 < n ? x[i] + (x[i + 1] - x[i]) * (pos - (double)i) : x[n - 1];
}

/* The calibration split of n answers (cal[i] = 1), as umpire_metrics_cece_split draws it. */
static int draw_cal(size_t n, const struct umpire_metric_params *mp, size_t *idx, unsigned char *cal, char *err) {
    size_t m;
    memset(cal, 0, n);
    int rc = umpire_metrics_cece_split(n, mp, idx, &m, err);
    for (size_t j = 0; rc == UMPIRE_OK && j < m; j++)
        cal[idx[j]] = 1;
    return rc;
}

int umpire_metrics_cece_split(size_t n, const struct umpire_metric_params *mp, size_t *idx, size_t *m, char *err) {
    int rc = umpire_split_draw(n, mp->cal_fraction, mp->split_seed, mp->split, idx, m, err);
    if (rc == UMPIRE_OK && mp->split == UMPIRE_SPLIT_UMPIRE && n >= 4 && *m < 2) /* a range needs 2 */
        rc = umpire_split_draw(n, 2.0 / (double)n, mp->split_seed, mp->split, idx, m, err);
    return rc;
}

static int report_alloc(struct umpire_metric_report *r, char *err) {
    memset(r, 0, sizeof *r);
    if (!(r->value = malloc(3 * UMPIRE_N_METRICS * sizeof *r->value)))
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    r->n_metrics = UMPIRE_N_METRICS;
    r->lo = r->value + UMPIRE_N_METRICS;
    r->hi = r->lo + UMPIRE_N_METRICS;
    for (int m = 0; m < UMPIRE_N_METRICS; m++)
        r->value[m] = r->lo[m] = r->hi[m] = NAN;
    return UMPIRE_OK;
}

/* The percentile interval of the finite values among v[0], v[stride], ... (b of them) into
 * *lo, *hi; none when most are undefined. col: b slots. */
static void interval(const double *v, size_t stride, size_t b, double ci, double *col, double *lo, double *hi) {
    size_t c = 0;
    for (size_t r = 0; r < b; r++)
        if (isfinite(v[r * stride]))
            col[c++] = v[r * stride];
    if (c * 2 < b) /* mostly undefined: no interval */
        return;
    umpire_sort_double(col, c);
    *lo = quantile_sorted(col, c, (1 - ci) / 2);
    *hi = quantile_sorted(col, c, 1 - (1 - ci) / 2);
}

enum { MAX_COLUMNS = 2 };

/* k (1 or 2) aligned columns of n answers: score[c][i] and wrong[c][i] are answer i's score and
 * label in column c. Evaluated on the answers where every column has a finite score; every
 * bootstrap resample draws the same answers (and one calibration split) for every column, so
 * with k = 2 the differences are paired: out[c] per column, diff (may be NULL) = out[1] - out[0]
 * with the percentile interval of the resamples' differences, acc[c] the columns' accuracies and
 * acc[2], acc[3] the interval of acc[1] - acc[0]. k = 1 is umpire_metrics_compute. */
static int evaluate_columns(const double *const *score, const int *const *wrong, size_t k, size_t n,
                            const struct umpire_metric_params *mp, struct umpire_metric_report *out,
                            struct umpire_metric_report *diff, double *acc, char *err) {
    int rc = UMPIRE_OK;
    for (size_t c = 0; c < k && rc == UMPIRE_OK; c++)
        rc = report_alloc(&out[c], err);
    if (rc == UMPIRE_OK && diff)
        rc = report_alloc(diff, err);
    size_t cap = n ? n : 1;
    double *s[MAX_COLUMNS] = {0}, *rs[MAX_COLUMNS] = {0}, *rv[MAX_COLUMNS] = {0};
    int *w[MAX_COLUMNS] = {0}, *rw[MAX_COLUMNS] = {0};
    double *col = NULL, *rd = NULL, *racc = NULL;
    size_t *idx = malloc(cap * sizeof *idx);
    unsigned char *cal_all = malloc(cap), *cal = malloc(cap), *rcal = NULL;
    struct scratch x = {malloc(cap * sizeof *x.p), malloc(cap * sizeof *x.rem), malloc(cap * sizeof *x.fp),
                        malloc(cap * sizeof *x.tp), malloc(cap * sizeof *x.o), malloc(cap * sizeof *x.iw)};
    int ok = idx && cal_all && cal && x.p && x.rem && x.fp && x.tp && x.o && x.iw;
    for (size_t c = 0; c < k; c++) {
        s[c] = malloc(cap * sizeof *s[c]);
        w[c] = malloc(cap * sizeof *w[c]);
        ok = ok && s[c] && w[c];
    }
    if (rc == UMPIRE_OK && !ok)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    /* the cECE split is drawn over all n answers; those without a score (NaN: the estimator
     * lacked its input) then leave both parts */
    if (rc == UMPIRE_OK)
        rc = draw_cal(n, mp, idx, cal_all, err);
    size_t m = 0;
    for (size_t i = 0; rc == UMPIRE_OK && i < n; i++) {
        int finite = 1;
        for (size_t c = 0; c < k; c++)
            finite = finite && isfinite(score[c][i]);
        if (!finite)
            continue;
        for (size_t c = 0; c < k; c++) {
            s[c][m] = score[c][i];
            w[c][m] = wrong[c][i] != 0;
        }
        cal[m++] = cal_all[i];
    }
    for (size_t c = 0; c < k && rc == UMPIRE_OK; c++) {
        out[c].n = m;
        out[c].n_wrong = count_wrong(w[c], m);
        if (acc)
            acc[c] = m ? 1.0 - (double)out[c].n_wrong / (double)m : NAN;
        if (m > 0 && compute_all(s[c], w[c], cal, m, mp, out[c].value, &x) != 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    if (rc == UMPIRE_OK && diff) {
        diff->n = m;
        for (int j = 0; j < UMPIRE_N_METRICS; j++)
            diff->value[j] = out[1].value[j] - out[0].value[j];
    }
    if (acc)
        acc[k] = acc[k + 1] = NAN;
    size_t nb = mp->bootstrap;
    if (rc == UMPIRE_OK && m > 1 && nb > 0) {
        ok = (col = malloc(nb * sizeof *col)) && (rcal = malloc(m)) &&
             (!diff || (rd = malloc(nb * UMPIRE_N_METRICS * sizeof *rd))) && (!acc || (racc = malloc(nb * sizeof *racc)));
        for (size_t c = 0; c < k; c++) {
            rs[c] = malloc(m * sizeof *rs[c]);
            rw[c] = malloc(m * sizeof *rw[c]);
            rv[c] = malloc(nb * UMPIRE_N_METRICS * sizeof *rv[c]);
            ok = ok && rs[c] && rw[c] && rv[c];
        }
        if (!ok)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory for %zu bootstrap resamples", nb);
        struct umpire_rng rng;
        umpire_rng_seed(&rng, mp->seed ^ 0x5bd1e995ULL);
        for (size_t b = 0; b < nb && rc == UMPIRE_OK; b++) {
            for (size_t i = 0; i < m; i++) {
                size_t j = (size_t)umpire_rng_below(&rng, m);
                for (size_t c = 0; c < k; c++) {
                    rs[c][i] = s[c][j];
                    rw[c][i] = w[c][j];
                }
            }
            /* each resample draws its own calibration split, as a rerun on it would */
            if ((rc = draw_cal(m, mp, idx, rcal, err)) != UMPIRE_OK)
                break;
            for (size_t c = 0; c < k && rc == UMPIRE_OK; c++)
                if (compute_all(rs[c], rw[c], rcal, m, mp, rv[c] + b * UMPIRE_N_METRICS, &x) != 0)
                    rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            if (racc)
                racc[b] = (double)count_wrong(rw[0], m) - (double)count_wrong(rw[1], m);
            for (int j = 0; rd && j < UMPIRE_N_METRICS; j++)
                rd[b * UMPIRE_N_METRICS + j] = rv[1][b * UMPIRE_N_METRICS + j] - rv[0][b * UMPIRE_N_METRICS + j];
        }
        for (size_t c = 0; c < k && rc == UMPIRE_OK; c++)
            for (int j = 0; j < UMPIRE_N_METRICS; j++)
                interval(rv[c] + j, UMPIRE_N_METRICS, nb, mp->ci, col, &out[c].lo[j], &out[c].hi[j]);
        for (int j = 0; rd && rc == UMPIRE_OK && j < UMPIRE_N_METRICS; j++)
            interval(rd + j, UMPIRE_N_METRICS, nb, mp->ci, col, &diff->lo[j], &diff->hi[j]);
        if (racc && rc == UMPIRE_OK) { /* accuracy difference acc[1] - acc[0] = (wrong[0] - wrong[1]) / m */
            for (size_t b = 0; b < nb; b++)
                racc[b] /= (double)m;
            interval(racc, 1, nb, mp->ci, col, &acc[k], &acc[k + 1]);
        }
    }
    if (rc != UMPIRE_OK) { /* nothing to free on failure */
        for (size_t c = 0; c < k; c++)
            umpire_metric_report_free(&out[c]);
        if (diff)
            umpire_metric_report_free(diff);
    }
    for (size_t c = 0; c < k; c++) {
        free(s[c]);
        free(w[c]);
        free(rs[c]);
        free(rw[c]);
        free(rv[c]);
    }
    free(col);
    free(rd);
    free(racc);
    free(rcal);
    free(idx);
    free(cal_all);
    free(cal);
    free(x.p);
    free(x.rem);
    free(x.fp);
    free(x.tp);
    free(x.o);
    free(x.iw);
    return rc;
}

int umpire_metrics_compute(const double *score, const int *wrong, size_t n,
                           const struct umpire_metric_params *mp, struct umpire_metric_report *out,
                           char *err) {
    return evaluate_columns(&score, &wrong, 1, n, mp, out, NULL, NULL, err);
}

void umpire_comparison_free(struct umpire_comparison *c) {
    umpire_metric_report_free(&c->a);
    umpire_metric_report_free(&c->b);
    umpire_metric_report_free(&c->diff);
}

int umpire_metrics_compare(const double *score_a, const int *wrong_a, const double *score_b, const int *wrong_b,
                           size_t n, const struct umpire_metric_params *mp, struct umpire_comparison *out,
                           char *err) {
    memset(out, 0, sizeof *out);
    const double *score[2] = {score_a, score_b};
    const int *wrong[2] = {wrong_a, wrong_b};
    struct umpire_metric_report r[2];
    double acc[4];
    int rc = evaluate_columns(score, wrong, 2, n, mp, r, &out->diff, acc, err);
    if (rc == UMPIRE_OK) {
        out->a = r[0];
        out->b = r[1];
        out->n = r[0].n;
        out->accuracy_a = acc[0];
        out->accuracy_b = acc[1];
        out->accuracy_diff_lo = acc[2];
        out->accuracy_diff_hi = acc[3];
    }
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

double umpire_aurac(const double *s, const int *wrong, size_t n) {
    size_t *o = order_of(s, n);
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    double v = o && x && y ? aurac_reference(wrong, n, o, x, y) : NAN;
    free(o);
    free(x);
    free(y);
    return v;
}

double umpire_tpr_at_fpr(const double *s, const int *wrong, size_t n, double fpr, int interpolated) {
    size_t *o = order_of(s, n);
    double *fp = malloc((n ? n : 1) * sizeof *fp), *tp = malloc((n ? n : 1) * sizeof *tp), v = NAN;
    double pos = (double)count_wrong(wrong, n), neg = (double)n - pos;
    if (o && fp && tp && pos > 0 && neg > 0) {
        size_t m = umpire_roc_counts(s, wrong, n, o, fp, tp);
        v = interpolated ? tpr_interp(fp, tp, m, pos, neg, fpr) : tpr_reference(fp, tp, m, pos, neg, fpr);
    }
    free(o);
    free(fp);
    free(tp);
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
