/* evaluate.c - how well every estimator of a scored sample set detects the wrong answers:
 * the labelled items' accuracy and each estimator's metric report; and which scores are
 * undefined although the item has what the estimator needs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

void umpire_evaluation_free(struct umpire_evaluation *ev) {
    size_t ne;
    umpire_estimators(&ne);
    for (size_t e = 0; ev->reports && e < ne; e++)
        umpire_metric_report_free(&ev->reports[e]);
    free(ev->reports);
    memset(ev, 0, sizeof *ev);
}

int umpire_evaluate(const struct umpire_sampleset *set, const struct umpire_scores *scores, const int *selected,
                    const struct umpire_metric_params *mp, struct umpire_evaluation *out, char *err) {
    return umpire_evaluate_subset(set, scores, selected, NULL, set->n, mp, out, err);
}

/* idx NULL: items 0..n-1 */
int umpire_evaluate_subset(const struct umpire_sampleset *set, const struct umpire_scores *scores,
                           const int *selected, const size_t *idx, size_t n, const struct umpire_metric_params *mp,
                           struct umpire_evaluation *out, char *err) {
    memset(out, 0, sizeof *out);
    const size_t ne = scores->n_estimators;
#define ITEM(j) (idx ? idx[j] : (j))
    for (size_t j = 0; j < n; j++)
        if (set->items[ITEM(j)].correct >= 0) {
            out->n_labelled++;
            out->n_right += set->items[ITEM(j)].correct == 1;
        }
    out->accuracy = out->n_labelled ? (double)out->n_right / (double)out->n_labelled : NAN;
    out->reports = calloc(ne, sizeof *out->reports);
    double *col = malloc((n ? n : 1) * sizeof *col);
    int *wrong = malloc((n ? n : 1) * sizeof *wrong);
    int rc = out->reports && col && wrong ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t e = 0; e < ne && out->n_labelled && rc == UMPIRE_OK; e++) {
        if (selected && !selected[e])
            continue;
        size_t m = 0;
        for (size_t j = 0; j < n; j++) {
            size_t i = ITEM(j);
            if (set->items[i].correct >= 0) {
                col[m] = scores->scores[i * ne + e];
                wrong[m++] = set->items[i].correct == 0;
            }
        }
        rc = umpire_metrics_compute(col, wrong, m, mp, &out->reports[e], err);
    }
#undef ITEM
    free(col);
    free(wrong);
    if (rc != UMPIRE_OK)
        umpire_evaluation_free(out);
    return rc;
}

size_t umpire_scores_undefined(const struct umpire_sampleset *set, const struct umpire_scores *s,
                               size_t e, size_t *first) {
    size_t ne, n = 0;
    umpire_estimators(&ne);
    for (size_t i = 0; e < ne && e < s->n_estimators && i < set->n && i < s->n; i++)
        if (isnan(s->scores[i * s->n_estimators + e]) && umpire_estimator_applies(&set->items[i], e, s->probs) &&
            !n++ && first)
            *first = i;
    return n;
}
