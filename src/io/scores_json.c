/* scores_json.c - scored items as JSONL and run summaries as JSON, through cJSON.
 * Undefined numbers (NaN) are written as null, never as a made-up value. */
#define _POSIX_C_SOURCE 200809L
#include "io/scores_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/utf8.h"
#include "io/item_json.h"
#include "io/output.h"
#include "io/jsonl.h"

static cJSON *number_or_null(double v) { return umpire_json_number(v); }

cJSON *umpire_score_def_to_json(const struct umpire_score_def *d) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "alpha", number_or_null(d->alpha));
    cJSON_AddNumberToObject(o, "eps", d->eps);
    cJSON_AddBoolToObject(o, "length_normalised", d->length_normalised);
    cJSON_AddStringToObject(o, "probs", umpire_probs_name(d->probs));
    cJSON_AddNumberToObject(o, "cluster_threshold", d->cluster_threshold);
    cJSON_AddNumberToObject(o, "kle_t", d->kle_t);
    return o;
}

int umpire_score_def_from_json(const cJSON *o, struct umpire_score_def *d, char *why, size_t cap) {
    memset(d, 0, sizeof *d);
    const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(o, "alpha"), *eps = cJSON_GetObjectItemCaseSensitive(o, "eps");
    const cJSON *ln = cJSON_GetObjectItemCaseSensitive(o, "length_normalised");
    const cJSON *probs = cJSON_GetObjectItemCaseSensitive(o, "probs");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "cluster_threshold"), *kt = cJSON_GetObjectItemCaseSensitive(o, "kle_t");
    const char *bad = !cJSON_IsObject(o)                                                     ? "expected an object"
                      : !(cJSON_IsNumber(alpha) || cJSON_IsNull(alpha))                       ? "alpha: a number or null"
                      : !cJSON_IsNumber(eps) || !(eps->valuedouble > 0)                       ? "eps: a number > 0"
                      : !cJSON_IsBool(ln)                                                     ? "length_normalised: true or false"
                      : !cJSON_IsString(probs) || umpire_probs_parse(probs->valuestring, &d->probs) ? "probs: sampler, raw or unspecified"
                      : !cJSON_IsNumber(ct)                                                   ? "cluster_threshold: a number"
                      : !cJSON_IsNumber(kt)                                                   ? "kle_t: a number"
                                                                                              : NULL;
    if (bad) {
        snprintf(why, cap, "%s", bad);
        return -1;
    }
    d->known = 1;
    d->alpha = cJSON_IsNumber(alpha) ? alpha->valuedouble : NAN;
    d->eps = eps->valuedouble;
    d->length_normalised = cJSON_IsTrue(ln);
    d->cluster_threshold = ct->valuedouble;
    d->kle_t = kt->valuedouble;
    return 0;
}

int umpire_scores_write_jsonl(const char *path, const struct umpire_sampleset *set, const struct umpire_scores *s,
                              const struct umpire_score_def *def, const int *selected, char *err) {
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    struct umpire_output a;
    int rc = umpire_output_open(&a, path, err);
    if (rc != UMPIRE_OK)
        return rc;
    for (size_t i = 0; i < set->n && rc == UMPIRE_OK; i++) {
        cJSON *o = cJSON_CreateObject(), *sc = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", set->items[i].id);
        for (size_t e = 0; e < ne; e++)
            if (selected[e])
                cJSON_AddItemToObject(sc, reg[e].name, number_or_null(s->scores[i * ne + e]));
        cJSON_AddItemToObject(o, "scores", sc);
        if (set->items[i].correct >= 0)
            cJSON_AddBoolToObject(o, "correct", set->items[i].correct);
        cJSON_AddItemToObject(o, "def", umpire_score_def_to_json(def));
        rc = umpire_put_json(a.f, o, 1, err);
        cJSON_Delete(o);
    }
    return umpire_output_close(&a, rc, err);
}

/* {"n", each metric, each metric's "_ci": [lo, hi]} of one report */
static cJSON *report_json(const struct umpire_metric_report *r) {
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return NULL;
    cJSON_AddNumberToObject(m, "n", (double)r->n);
    for (int k = 0; k < UMPIRE_N_METRICS; k++) {
        char key[48];
        cJSON_AddItemToObject(m, umpire_metric_name(k), number_or_null(r->value[k]));
        snprintf(key, sizeof key, "%s_ci", umpire_metric_name(k));
        cJSON *ci = cJSON_AddArrayToObject(m, key);
        cJSON_AddItemToArray(ci, number_or_null(r->lo[k]));
        cJSON_AddItemToArray(ci, number_or_null(r->hi[k]));
    }
    return m;
}

/* "metrics": {estimator: report_json} for the selected reports */
static void add_metrics(cJSON *o, const int *selected, const struct umpire_metric_report *const *reports) {
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    cJSON *metrics = cJSON_AddObjectToObject(o, "metrics");
    for (size_t e = 0; e < ne; e++) {
        if ((selected && !selected[e]) || !reports || !reports[e])
            continue;
        cJSON_AddItemToObject(metrics, reg[e].name, report_json(reports[e]));
    }
}

static cJSON *interval_json(double lo, double hi) {
    cJSON *ci = cJSON_CreateArray();
    cJSON_AddItemToArray(ci, number_or_null(lo));
    cJSON_AddItemToArray(ci, number_or_null(hi));
    return ci;
}

int umpire_comparison_write(const char *path, const char *a, const char *b, const struct umpire_comparison *accuracy,
                            const char *const *names_a, const char *const *names_b,
                            const struct umpire_comparison *cmp, size_t n, char *err) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    cJSON_AddStringToObject(o, "a", a);
    cJSON_AddStringToObject(o, "b", b);
    cJSON_AddNumberToObject(o, "n", (double)accuracy->n);
    cJSON *acc = cJSON_AddObjectToObject(o, "accuracy");
    cJSON_AddItemToObject(acc, "a", number_or_null(accuracy->accuracy_a));
    cJSON_AddItemToObject(acc, "b", number_or_null(accuracy->accuracy_b));
    cJSON_AddItemToObject(acc, "diff", number_or_null(accuracy->accuracy_b - accuracy->accuracy_a));
    cJSON_AddItemToObject(acc, "diff_ci", interval_json(accuracy->accuracy_diff_lo, accuracy->accuracy_diff_hi));
    cJSON *list = cJSON_AddArrayToObject(o, "comparisons");
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToArray(list, c);
        cJSON_AddStringToObject(c, "estimator_a", names_a[i]);
        cJSON_AddStringToObject(c, "estimator_b", names_b[i]);
        cJSON_AddNumberToObject(c, "n", (double)cmp[i].n);
        cJSON_AddItemToObject(c, "a", report_json(&cmp[i].a));
        cJSON_AddItemToObject(c, "b", report_json(&cmp[i].b));
        cJSON_AddItemToObject(c, "diff", report_json(&cmp[i].diff));
    }
    int rc = umpire_write_json(path, o, err);
    cJSON_Delete(o);
    return rc;
}

int umpire_groups_write(const char *path, const char *field, const char *const *group, const size_t *n_items,
                        const struct umpire_evaluation *const *ev, size_t n, char *err) {
    size_t ne;
    umpire_estimators(&ne);
    const struct umpire_metric_report **rp = malloc((ne ? ne : 1) * sizeof *rp);
    cJSON *o = cJSON_CreateObject();
    if (!rp || !o) {
        free((void *)rp);
        cJSON_Delete(o);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    cJSON_AddStringToObject(o, "field", field);
    cJSON *groups = cJSON_AddArrayToObject(o, "groups");
    for (size_t j = 0; j < n; j++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "group", group[j]);
        cJSON_AddNumberToObject(x, "n", (double)n_items[j]);
        cJSON_AddNumberToObject(x, "n_labelled", (double)ev[j]->n_labelled);
        cJSON_AddItemToObject(x, "accuracy", number_or_null(ev[j]->accuracy));
        for (size_t e = 0; e < ne; e++)
            rp[e] = ev[j]->reports && ev[j]->reports[e].n ? &ev[j]->reports[e] : NULL;
        add_metrics(x, NULL, rp);
        cJSON_AddItemToArray(groups, x);
    }
    int rc = umpire_write_json(path, o, err);
    cJSON_Delete(o);
    free((void *)rp);
    return rc;
}

int umpire_summary_write(const char *path, const struct umpire_sampleset *set, const struct umpire_scores *s,
                         const struct umpire_score_def *def, const struct umpire_score_params *sp,
                         const struct umpire_metric_params *mp, const int *selected,
                         const struct umpire_metric_report *const *reports, double accuracy,
                         const struct umpire_idk *idk, char *err) {
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)set->n);
    cJSON_AddItemToObject(o, "accuracy", number_or_null(accuracy));
    if (idk) {
        cJSON *k = cJSON_AddObjectToObject(o, "idk");
        cJSON_AddNumberToObject(k, "answerable", (double)idk->n_answerable);
        cJSON_AddNumberToObject(k, "unanswerable", (double)idk->n_unanswerable);
        const struct {
            const char *name, *ci_name;
            double v;
            const double *ci;
        } rates[] = {{"accuracy_answerable", "accuracy_answerable_ci", idk->accuracy_answerable, idk->accuracy_answerable_ci},
                     {"refusal_recall", "refusal_recall_ci", idk->refusal_recall, idk->refusal_recall_ci},
                     {"over_answering", "over_answering_ci", idk->over_answering, idk->over_answering_ci},
                     {"over_refusal", "over_refusal_ci", idk->over_refusal, idk->over_refusal_ci}};
        for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            cJSON_AddItemToObject(k, rates[r].name, number_or_null(rates[r].v));
            cJSON_AddItemToObject(k, rates[r].ci_name, interval_json(rates[r].ci[0], rates[r].ci[1]));
        }
    }
    cJSON_AddItemToObject(o, "alpha", number_or_null(s->alpha));
    cJSON_AddItemToObject(o, "score", umpire_score_def_to_json(def));
    cJSON *splits = cJSON_AddObjectToObject(o, "splits");
    cJSON_AddStringToObject(splits, "alpha_dev", umpire_split_name(sp->split));
    cJSON_AddNumberToObject(splits, "alpha_dev_seed", (double)sp->seed);
    cJSON_AddNumberToObject(splits, "alpha_dev_fraction", sp->dev_fraction);
    cJSON_AddStringToObject(splits, "cece", umpire_split_name(mp->split));
    cJSON_AddNumberToObject(splits, "cece_seed", (double)mp->split_seed);
    cJSON_AddNumberToObject(splits, "cece_fraction", mp->cal_fraction);
    cJSON *dev = cJSON_AddArrayToObject(o, "alpha_dev_ids");
    for (size_t j = 0; j < s->n_dev; j++)
        cJSON_AddItemToArray(dev, cJSON_CreateString(set->items[s->dev_idx[j]].id));
    /* cECE's calibration split, drawn over the labelled items in file order */
    size_t *lab = malloc((set->n ? set->n : 1) * sizeof *lab), *idx = malloc((set->n ? set->n : 1) * sizeof *idx);
    size_t n_lab = 0, m = 0;
    for (size_t i = 0; lab && i < set->n; i++)
        if (set->items[i].correct >= 0)
            lab[n_lab++] = i;
    int rc = lab && idx ? umpire_metrics_cece_split(n_lab, mp, idx, &m, err) : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    cJSON *cal = cJSON_AddArrayToObject(o, "cece_split_ids");
    for (size_t j = 0; rc == UMPIRE_OK && j < m; j++)
        cJSON_AddItemToArray(cal, cJSON_CreateString(set->items[lab[idx[j]]].id));
    free(lab);
    free(idx);
    if (rc != UMPIRE_OK) {
        cJSON_Delete(o);
        return rc;
    }
    add_metrics(o, selected, reports);
    /* per estimator, the items that had its inputs and still no score: never left out unseen */
    cJSON *undefined = cJSON_AddObjectToObject(o, "undefined");
    for (size_t e = 0; e < ne; e++) {
        size_t n_undefined = selected[e] ? umpire_scores_undefined(set, s, e, NULL) : 0;
        if (n_undefined)
            cJSON_AddNumberToObject(undefined, reg[e].name, (double)n_undefined);
    }
    /* every estimator with a defined AUROC, best first (ties: registry order) */
    cJSON *ranking = cJSON_AddArrayToObject(o, "ranking");
    const struct umpire_metric_report **rp = calloc(ne ? ne : 1, sizeof *rp);
    size_t *order = malloc((ne ? ne : 1) * sizeof *order), n_ranked = 0;
    for (size_t e = 0; rp && reports && e < ne; e++)
        rp[e] = selected[e] ? reports[e] : NULL;
    if (rp && order && umpire_order_by_auroc(rp, ne, order, &n_ranked) == 0)
        for (size_t j = 0; j < n_ranked; j++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "estimator", reg[order[j]].name);
            cJSON_AddNumberToObject(x, "auroc", rp[order[j]]->value[UMPIRE_M_AUROC]);
            cJSON_AddItemToArray(ranking, x);
        }
    free((void *)rp);
    free(order);
    rc = umpire_write_json(path, o, err);
    cJSON_Delete(o);
    return rc;
}

void umpire_scored_free(struct umpire_scored_file *f) {
    for (size_t i = 0; i < f->n; i++)
        free(f->ids[i]);
    for (size_t e = 0; e < f->n_estimators; e++)
        free(f->names[e]);
    free(f->ids);
    free(f->names);
    free(f->scores);
    free(f->correct);
    memset(f, 0, sizeof *f);
}

struct scored_load {
    const char *path;
    char *err;
    struct umpire_scored_file *out;
    size_t alloc;
};

static int add_scored(const cJSON *o, size_t line, void *ctx) {
    struct scored_load *l = ctx;
    struct umpire_scored_file *out = l->out;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "scores");
    const cJSON *cor = cJSON_GetObjectItemCaseSensitive(o, "correct");
    size_t bad;
    if (!cJSON_IsString(id))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: id: missing or not a string", l->path, line);
    if (!umpire_utf8_valid(id->valuestring, &bad))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: id: not valid UTF-8 (byte %zu)", l->path,
                           line, bad);
    if (!cJSON_IsObject(sc))
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: scores: missing or not an object", l->path, line);
    if (out->n == 0) { /* the first item fixes the estimator set */
        const cJSON *x;
        out->n_estimators = (size_t)cJSON_GetArraySize(sc);
        out->names = calloc(out->n_estimators ? out->n_estimators : 1, sizeof *out->names);
        if (!out->names)
            return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
        size_t e = 0;
        cJSON_ArrayForEach(x, sc) {
            if (!umpire_utf8_valid(x->string, &bad))
                return umpire_fail(l->err, UMPIRE_EINVAL,
                                   "%s:%zu: scores: estimator name %zu is not valid UTF-8", l->path,
                                   line, e + 1);
            if (!(out->names[e++] = strdup(x->string)))
                return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
        }
    }
    if (out->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 64;
        char **ids = realloc(out->ids, l->alloc * sizeof *ids);
        if (ids)
            out->ids = ids;
        double *scores = realloc(out->scores, l->alloc * (out->n_estimators + 1) * sizeof *scores);
        if (scores)
            out->scores = scores;
        int *correct = realloc(out->correct, l->alloc * sizeof *correct);
        if (correct)
            out->correct = correct;
        if (!ids || !scores || !correct)
            return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
    }
    for (size_t e = 0; e < out->n_estimators; e++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sc, out->names[e]);
        if (cJSON_IsNumber(v))
            out->scores[out->n * out->n_estimators + e] = v->valuedouble;
        else if (cJSON_IsNull(v))
            out->scores[out->n * out->n_estimators + e] = NAN;
        else
            return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: scores.%s: %s", l->path, line, out->names[e],
                               v ? "not a number" : "missing (the first item has it)");
    }
    /* what the scores mean: every line the same (lines of one scoring run) */
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(o, "def");
    struct umpire_score_def d = {0};
    char why[96];
    if (def && umpire_score_def_from_json(def, &d, why, sizeof why) != 0)
        return umpire_fail(l->err, UMPIRE_EINVAL, "%s:%zu: def: %s", l->path, line, why);
    if (out->n == 0) {
        out->def = d;
    } else if (d.known != out->def.known || (d.known && umpire_score_def_compare("umpire", &out->def, &d, why) != 0)) {
        if (d.known != out->def.known)
            snprintf(why, sizeof why, "recorded on one line only");
        return umpire_fail(l->err, UMPIRE_EINVAL,
                           "%s:%zu: def: scored otherwise than line 1 (%s): these lines come from different scoring runs",
                           l->path, line, why);
    }
    out->correct[out->n] = cJSON_IsBool(cor) ? cJSON_IsTrue(cor) : -1;
    if (!(out->ids[out->n] = strdup(id->valuestring)))
        return umpire_fail(l->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->path, line);
    out->n++;
    return 0;
}

int umpire_scored_read(const char *path, struct umpire_scored_file *out, char *err) {
    memset(out, 0, sizeof *out);
    struct scored_load l = {.path = path, .err = err, .out = out};
    int rc = umpire_jsonl_each(path, add_scored, &l, NULL, err);
    if (rc == UMPIRE_OK && out->n == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no scored items (the file is empty)", path);
    if (rc != UMPIRE_OK)
        umpire_scored_free(out);
    return rc;
}
