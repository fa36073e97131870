/* scores_json.h - write scored items (JSONL) and run summaries (JSON); read scored items. */
#ifndef UMPIRE_IO_SCORES_JSON_H
#define UMPIRE_IO_SCORES_JSON_H

#include "umpire.h"

#include <cjson/cJSON.h>

/* A score definition as JSON {"alpha", "eps", "length_normalised", "probs", "cluster_threshold",
 * "kle_t"}, and back (-1 with the problem in why). */
cJSON *umpire_score_def_to_json(const struct umpire_score_def *d);
int umpire_score_def_from_json(const cJSON *o, struct umpire_score_def *d, char *why, size_t cap);

/* {"id", "scores": {name: value or null}, "correct"?, "def": {...}} lines; which estimators of
 * the registry: selected[e] != 0. */
int umpire_scores_write_jsonl(const char *path, const struct umpire_sampleset *set, const struct umpire_scores *s,
                              const struct umpire_score_def *def, const int *selected, char *err);

/* A summary: n, accuracy (when labelled), idk (when not NULL: umpire_idk_rates), alpha, the score definition, the splits (how drawn,
 * and the ids of alpha's dev split and cECE's calibration split), per estimator
 * metrics.<name>.{auroc, ..., auroc_ci: [lo, hi], ...}, and undefined.<name>: how many items had
 * its inputs but no defined score (umpire_scores_undefined; only names with some). reports[e] is
 * NULL for estimators not evaluated. */
int umpire_summary_write(const char *path, const struct umpire_sampleset *set, const struct umpire_scores *s,
                         const struct umpire_score_def *def, const struct umpire_score_params *sp,
                         const struct umpire_metric_params *mp, const int *selected,
                         const struct umpire_metric_report *const *reports, double accuracy,
                         const struct umpire_idk *idk, char *err);

/* RUN_DIR/groups.json: {"field", "groups": [{"group", "n", "n_labelled", "accuracy",
 * "metrics": {estimator: {...}}}]} (the metrics as in summary.json), for the n groups named
 * group[j], of n_items[j] items, evaluated as ev[j]. */
int umpire_groups_write(const char *path, const char *field, const char *const *group, const size_t *n_items,
                        const struct umpire_evaluation *const *ev, size_t n, char *err);

/* umpire compare's --json: {"a", "b", "n", "accuracy": {"a", "b", "diff", "diff_ci"},
 * "comparisons": [{"estimator_a", "estimator_b", "n", "a", "b", "diff"}]}, each of a, b, diff
 * {"n", metric, metric_ci, ...} as in summary.json (diff = b - a, its paired interval). */
int umpire_comparison_write(const char *path, const char *a, const char *b, const struct umpire_comparison *accuracy,
                            const char *const *names_a, const char *const *names_b,
                            const struct umpire_comparison *cmp, size_t n, char *err);

/* Scored items back (umpire metrics): ids, the estimator names found, scores (NaN for null),
 * and correct (-1 when absent). */
struct umpire_scored_file {
    struct umpire_score_def def; /* what the scores mean (def.known 0: not recorded) */
    size_t n, n_estimators;
    char **ids;
    char **names;
    double *scores; /* n x n_estimators */
    int *correct;
};
int umpire_scored_read(const char *path, struct umpire_scored_file *out, char *err);
void umpire_scored_free(struct umpire_scored_file *f);

/* Replace f's labels with those of a JSONL of {"id", "correct"} lines (-1 for ids it lacks).
 * Returns how many items got a label, or a negative status with "FILE:LINE: field" in err. */
int umpire_scored_apply_labels(struct umpire_scored_file *f, const char *labels_path, char *err);

#endif
