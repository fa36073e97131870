/* score_set.c - scoring a whole sample set: every item with every estimator (scorer.c), and
 * UMPIRE's adaptive alpha fitted on an unlabelled dev split; the scoring parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/scorer.h"
#include "core/status.h"

struct umpire_score_params umpire_score_default_params(void) {
    return (struct umpire_score_params){.eps = UMPIRE_DEFAULT_EPS,
                                        .alpha = -1.0,
                                        .dev_fraction = 0.10,
                                        .split = UMPIRE_SPLIT_UMPIRE,
                                        .seed = 0,
                                        .length_normalised = 0,
                                        .probs = UMPIRE_PROBS_UNSPECIFIED,
                                        .cluster_threshold = 0.5,
                                        .kle_t = 0.3};
}

static const char *const probs_names[] = {"unspecified", "raw", "sampler"};

const char *umpire_probs_name(enum umpire_probs p) { return p <= UMPIRE_PROBS_SAMPLER ? probs_names[p] : "?"; }

int umpire_probs_parse(const char *name, enum umpire_probs *p) {
    for (int i = 0; i <= UMPIRE_PROBS_SAMPLER; i++)
        if (!strcmp(name, probs_names[i])) {
            *p = (enum umpire_probs)i;
            return 0;
        }
    return -1;
}

const char *umpire_finish_name(enum umpire_finish f) {
    static const char *const n[] = {"", "eos", "stop", "length"};
    return f <= UMPIRE_FINISH_LENGTH ? n[f] : "";
}

void umpire_scores_free(struct umpire_scores *s) {
    free(s->scores);
    free(s->dev_idx);
    memset(s, 0, sizeof *s);
}

/* The distribution every item's log-probs are of; mixing them is refused. */
static int set_probs(const struct umpire_sampleset *set, const struct umpire_score_params *p, enum umpire_probs *out,
                     char *err) {
    for (size_t i = 0; i < set->n; i++) {
        const struct umpire_item *a = &set->items[0], *b = &set->items[i];
        if (b->probs != a->probs)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "item %s (line %zu) holds %s log-probabilities, item %s (line %zu) %s ones: scores "
                               "of different distributions do not mix; score them apart",
                               a->id ? a->id : "?", a->line, umpire_probs_name(a->probs), b->id ? b->id : "?",
                               b->line, umpire_probs_name(b->probs));
    }
    enum umpire_probs held = set->n ? set->items[0].probs : UMPIRE_PROBS_UNSPECIFIED;
    if (p->probs == UMPIRE_PROBS_RAW && held != UMPIRE_PROBS_RAW && held != UMPIRE_PROBS_SAMPLER)
        return umpire_fail(err, UMPIRE_EINVAL, "raw log-probabilities asked for, but the items do not say which ones "
                                               "they hold (no \"probs\" field)");
    if (p->probs == UMPIRE_PROBS_SAMPLER && held != UMPIRE_PROBS_SAMPLER)
        return umpire_fail(err, UMPIRE_EINVAL, "sampler log-probabilities asked for, but the items hold %s ones",
                           umpire_probs_name(held));
    *out = p->probs == UMPIRE_PROBS_RAW ? UMPIRE_PROBS_RAW : held;
    return UMPIRE_OK;
}

int umpire_score_set(const struct umpire_sampleset *set, const struct umpire_score_params *p,
                     struct umpire_scores *out, char *err) {
    memset(out, 0, sizeof *out);
    const size_t n = set->n, v = (size_t)umpire_estimator_index("umpire"),
                 u = (size_t)umpire_estimator_index("semantic_volume"),
                 q = (size_t)umpire_estimator_index("incoherence");
    size_t ne;
    umpire_estimators(&ne);
    out->n = n;
    out->n_estimators = ne;
    int rc = set_probs(set, p, &out->probs, err);
    if (rc != UMPIRE_OK)
        return rc;
    out->scores = malloc((n ? n : 1) * ne * sizeof *out->scores);
    out->dev_idx = malloc((n ? n : 1) * sizeof *out->dev_idx);
    int *all_but_v = malloc(ne * sizeof *all_but_v);
    if (!out->scores || !out->dev_idx || !all_but_v) {
        free(all_but_v);
        umpire_scores_free(out);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory scoring %zu items", n);
    }
    /* every estimator but V first: V needs alpha, which needs U and Q of the dev items */
    for (size_t e = 0; e < ne; e++)
        all_but_v[e] = e != v;
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        const struct umpire_item *it = &set->items[i];
        if (it->k < 2)
            rc = umpire_fail(err, UMPIRE_EINVAL, "item %s: k = %zu, scoring needs at least 2 samples",
                             it->id ? it->id : "?", it->k);
        else
            rc = umpire_score_item_all(it, p, 0.0, all_but_v, out->scores + i * ne, err);
    }
    free(all_but_v);
    if (rc != UMPIRE_OK) {
        umpire_scores_free(out);
        return rc;
    }
    if (p->alpha >= 0) {
        out->alpha = p->alpha;
    } else if (n > 0) {
        if ((rc = umpire_split_draw(n, p->dev_fraction, p->seed, p->split, out->dev_idx, &out->n_dev, err)) != 0) {
            umpire_scores_free(out);
            return rc;
        }
        size_t cap = out->n_dev ? out->n_dev : 1, m = 0;
        double *us = malloc(cap * sizeof *us), *qs = malloc(cap * sizeof *qs);
        if (!us || !qs) {
            free(us);
            free(qs);
            umpire_scores_free(out);
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        }
        for (size_t j = 0; j < out->n_dev; j++) {
            const double *row = out->scores + out->dev_idx[j] * ne;
            if (isfinite(row[u])) {
                us[m] = row[u];
                qs[m++] = row[q];
            }
        }
        /* no dev item with a volume (an empty numpy split, or no embeddings): alpha undefined */
        out->alpha = m ? umpire_alpha(us, qs, m) : NAN;
        free(us);
        free(qs);
    }
    for (size_t i = 0; i < n; i++) {
        double *row = out->scores + i * ne;
        row[v] = row[u] + out->alpha * row[q];
    }
    return UMPIRE_OK;
}
