/* score_options.c - the scoring options `score`, `eval` and `metrics` share, parsed in one place:
 * which log-probs the estimators read, and how alpha's dev split and cECE's calibration split
 * are drawn. */
#include <string.h>

#include "cli/cli.h"

int cli_score_option(const char *cmd, int c, const char *v, struct umpire_score_params *sp,
                     struct umpire_metric_params *mp) {
    switch (c) {
    case CLI_O_PROBS:
        if (!sp)
            return 1;
        if (!strcmp(v, "raw"))
            sp->probs = UMPIRE_PROBS_RAW;
        else if (!strcmp(v, "sampler"))
            sp->probs = UMPIRE_PROBS_SAMPLER;
        else {
            fprintf(stderr, "umpire %s: --probs: '%s' is not raw or sampler\n", cmd, v);
            return -1;
        }
        return 0;
    case CLI_O_REFSPLITS: /* UMPIRE's reference: numpy's legacy RandomState(10), both splits */
        if (sp)
            sp->split = UMPIRE_SPLIT_NUMPY;
        mp->split = UMPIRE_SPLIT_NUMPY;
        return 0;
    default: return 1;
    }
}

void cli_score_options_seed(struct umpire_score_params *sp, struct umpire_metric_params *mp, uint64_t seed) {
    if (sp)
        sp->seed = sp->split == UMPIRE_SPLIT_NUMPY ? 10 : seed;
    mp->split_seed = mp->split == UMPIRE_SPLIT_NUMPY ? 10 : seed;
    mp->seed = seed;
}

void cli_score_options_help(FILE *f) {
    fprintf(f, "  --probs raw|sampler     which log-probs the estimators read (default: those the items\n"
               "                          hold; items sampled by umpire hold the sampler's and the raw ones)\n"
               "  --reference-splits      draw alpha's dev split (10 %%) and cECE's calibration split (5 %%)\n"
               "                          as UMPIRE's reference code does: numpy's RandomState(10)\n"
               "                          permutation, first int(n f) items (default: umpire's seeded splits)\n");
}

/* The score definition to compute with: the calibration's when there is one (refusing what
 * contradicts it), else alpha and the defaults. */
int cli_calibration_score_params(const char *cmd, const struct umpire_calibration *cal, const char *cal_path, double alpha, int alpha_given,
                        enum umpire_probs probs, struct umpire_score_params *p) {
    *p = umpire_score_default_params();
    p->alpha = alpha;
    if (!cal_path)
        return 0;
    char why[UMPIRE_ERR_LEN];
    struct umpire_score_def mine = {.known = 1, .alpha = alpha_given ? alpha : cal->def.alpha, .eps = p->eps,
                                    .length_normalised = p->length_normalised, .probs = probs,
                                    .cluster_threshold = p->cluster_threshold, .kle_t = p->kle_t};
    if (umpire_score_def_compare(cal->estimator, &cal->def, &mine, why) != 0) {
        fprintf(stderr, "umpire %s: %s was fitted on another score (%s)%s\n", cmd, cal_path, why,
                !cal->def.known ? ""
                : cal->def.probs != probs
                    ? (probs == UMPIRE_PROBS_RAW ? ": teacher-forced answers (--responses) and --raw-probs have the "
                                                   "model's raw probabilities; fit the calibration on raw ones "
                                                   "(umpire score --probs raw)"
                                                 : ": fit the calibration on scores of the same probabilities, or "
                                                   "sample with --raw-probs")
                    : "");
        return -1;
    }
    *p = umpire_score_def_params(&cal->def);
    return 0;
}

