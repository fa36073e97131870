/* curves.h - the curves behind the metrics (curves.c): the ROC curve, the accuracy-rejection
 * curve and the reliability bins, drawn from the same ordering and the same points the metrics
 * are computed from (metrics.c), so that a plotted curve and its number never disagree: the
 * trapezoid area under the ROC curve is AUROC, under the rejection curve AURAC, and the
 * reliability bins give ECE. */
#ifndef UMPIRE_CORE_CURVES_H
#define UMPIRE_CORE_CURVES_H

#include <stddef.h>

/* ---- the pieces metrics.c computes its numbers from; o[0..n) is the answers' order by score,
 * highest first, ties in item order (umpire_argsort_desc) */

/* The ROC curve's points, one per distinct score, highest first (sklearn's _binary_clf_curve):
 * false and true positives (wrong answers) fp[c], tp[c] at or above it; returns the count. */
size_t umpire_roc_counts(const double *s, const int *wrong, size_t n, const size_t *o, double *fp, double *tp);
/* UMPIRE's accuracy-rejection curve (compute_aurac_from_image_df): the most uncertain rejected
 * first, ties in item order; x[i] = (i + 1) / n, y[i] = the accuracy of answers o[i..n). */
void umpire_rejection_curve(const int *wrong, size_t n, const size_t *o, double *x, double *y);
/* The trapezoid area under m points (x ascending). */
double umpire_trapezoid(const double *x, const double *y, size_t m);
/* p[i] = P(wrong) as the calibration metrics read a score: (s - min) / (max - min), clipped to
 * [0, 1]; 0.5 throughout when every score is the same. */
void umpire_minmax_scores(const double *s, size_t n, double *p);
/* Equal-width reliability bins of P(wrong) values p in [0, 1] (the last bin closed): per bin
 * the answers, the sum of their p and of their wrong labels (bins slots each, zeroed here). */
void umpire_reliability_bins(const double *p, const int *wrong, size_t n, size_t bins, size_t *count,
                             double *sum_p, double *sum_wrong);

/* ---- the curves a report draws */

struct umpire_curve {
    double *x, *y;
    size_t n;
};
struct umpire_curves {
    struct umpire_curve roc;       /* (FPR, TPR) from (0, 0) to (1, 1); none with one class */
    struct umpire_curve rejection; /* umpire_rejection_curve */
    struct umpire_curve oracle;    /* the same with every wrong answer rejected first */
    size_t bins;                   /* reliability: ECE's bins of the min-max P(wrong) */
    size_t *bin_count;
    double *bin_p, *bin_error;     /* mean P(wrong) and error rate of each non-empty bin (NaN when empty) */
};
/* The curves of n scores and labels (wrong[i] != 0: answer i is wrong), every score finite.
 * Returns 0 and fills *out (free with umpire_curves_free), or UMPIRE_ENOMEM. */
int umpire_curves_compute(const double *score, const int *wrong, size_t n, size_t bins, struct umpire_curves *out,
                          char *err);
void umpire_curves_free(struct umpire_curves *c);

#endif
