/* score_def.c - what a score means: the parameters it was computed with (alpha, eps, which
 * log-probs...), and whether two scores of one estimator mean the same, so that a calibration
 * fitted on one score is never applied to another. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"

struct umpire_score_def umpire_score_def_of(const struct umpire_score_params *p, const struct umpire_scores *s) {
    return (struct umpire_score_def){.known = 1,
                                     .alpha = s->alpha,
                                     .eps = p->eps,
                                     .length_normalised = p->length_normalised != 0,
                                     .probs = s->probs,
                                     .cluster_threshold = p->cluster_threshold,
                                     .kle_t = p->kle_t};
}

struct umpire_score_params umpire_score_def_params(const struct umpire_score_def *d) {
    struct umpire_score_params p = umpire_score_default_params();
    p.alpha = d->alpha;
    p.eps = d->eps;
    p.length_normalised = d->length_normalised;
    p.probs = d->probs == UMPIRE_PROBS_RAW ? UMPIRE_PROBS_RAW : UMPIRE_PROBS_UNSPECIFIED;
    p.cluster_threshold = d->cluster_threshold;
    p.kle_t = d->kle_t;
    return p;
}

/* Two recorded numbers are the same when they are bit for bit (both come from "%.17g"). */
static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

int umpire_score_def_compare(const char *name, const struct umpire_score_def *a, const struct umpire_score_def *b,
                             char *err) {
    if (!a->known || !b->known)
        return umpire_fail(err, UMPIRE_EINVAL, "the score's definition (alpha, eps, log-probs...) is not recorded; "
                                               "score again with this version of umpire");
    if (a->probs != b->probs)
        return umpire_fail(err, UMPIRE_EINVAL, "log-probs %s vs %s", umpire_probs_name(a->probs),
                           umpire_probs_name(b->probs));
    const struct {
        const char *what;
        double x, y;
        int counts;
    } fields[] = {{"alpha", a->alpha, b->alpha, name && !strcmp(name, "umpire")},
                  {"eps", a->eps, b->eps, 1},
                  {"length_normalised", a->length_normalised, b->length_normalised, 1},
                  {"cluster_threshold", a->cluster_threshold, b->cluster_threshold, 1},
                  {"kle_t", a->kle_t, b->kle_t, 1}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].counts && !same(fields[i].x, fields[i].y))
            return umpire_fail(err, UMPIRE_EINVAL, "%s %.17g vs %.17g", fields[i].what, fields[i].x, fields[i].y);
    return UMPIRE_OK;
}
