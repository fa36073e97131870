/* summary.c - a finished run's results: every estimator scored (alpha fitted over the run) and
 * evaluated into scored.jsonl, summary.json and report.html, and the same per group of a
 * dataset field (groups.json). No llama.cpp here.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/stats.h"
#include "core/status.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/report.h"
#include "io/scores_json.h"
#include "run/run.h"

/* The run's "I don't know" rates, from its items' "answerable" and "declined" (runs made
 * before umpire recorded them have none: *have = 0). */
struct idk_read {
    const struct umpire_sampleset *set;
    size_t next;
    int *answerable, *declined, *correct;
    size_t n_marked;
};

static int idk_line(const cJSON *o, size_t line, void *ctx) {
    struct idk_read *r = ctx;
    while (r->next < r->set->n && r->set->items[r->next].line < line)
        r->next++;
    if (r->next >= r->set->n || r->set->items[r->next].line != line)
        return 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "answerable"),
                *d = cJSON_GetObjectItemCaseSensitive(o, "declined");
    if (cJSON_IsBool(a) && cJSON_IsBool(d)) {
        r->answerable[r->next] = cJSON_IsTrue(a);
        r->declined[r->next] = cJSON_IsTrue(d);
        r->n_marked++;
    }
    r->correct[r->next] = r->set->items[r->next].correct;
    return 0;
}

static int run_idk(const char *items_path, const struct umpire_sampleset *set, struct umpire_idk *out, int *have,
                   char *err) {
    size_t cap = set->n ? set->n : 1;
    struct idk_read r = {set, 0, malloc(cap * sizeof(int)), malloc(cap * sizeof(int)), malloc(cap * sizeof(int)), 0};
    int rc = r.answerable && r.declined && r.correct ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == UMPIRE_OK && i < set->n; i++) {
        r.answerable[i] = 1;
        r.declined[i] = 0;
        r.correct[i] = set->items[i].correct;
    }
    if (rc == UMPIRE_OK)
        rc = umpire_jsonl_each(items_path, idk_line, &r, NULL, err);
    *have = rc == UMPIRE_OK && r.n_marked > 0;
    if (*have)
        umpire_idk_rates(r.answerable, r.declined, r.correct, set->n, out);
    free(r.answerable);
    free(r.declined);
    free(r.correct);
    return rc;
}

int umpire_eval_summarise(const char *run_dir, const struct umpire_score_params *sp,
                          const struct umpire_metric_params *mp, struct umpire_sampleset *set,
                          struct umpire_scores *scores, struct umpire_evaluation *ev, struct umpire_idk *idk_out,
                          char *err) {
    char path[4200];
    memset(idk_out, 0, sizeof *idk_out);
    snprintf(path, sizeof path, "%s/items.jsonl", run_dir);
    int rc = umpire_sampleset_read(path, set, err);
    if (rc != UMPIRE_OK)
        return rc;
    if ((rc = umpire_score_set(set, sp, scores, err)) != UMPIRE_OK) {
        umpire_sampleset_free(set);
        return rc;
    }
    if ((rc = umpire_evaluate(set, scores, NULL, mp, ev, err)) == UMPIRE_OK) {
        size_t ne;
        umpire_estimators(&ne);
        int *all = malloc(ne * sizeof *all);
        const struct umpire_metric_report **rp = malloc(ne * sizeof *rp);
        if (!all || !rp)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        for (size_t e = 0; rc == UMPIRE_OK && e < ne; e++) {
            all[e] = 1;
            rp[e] = ev->reports[e].n || umpire_scores_undefined(set, scores, e, NULL)
                        ? &ev->reports[e]
                        : NULL;
        }
        struct umpire_score_def def = umpire_score_def_of(sp, scores);
        snprintf(path, sizeof path, "%s/scored.jsonl", run_dir);
        if (rc == UMPIRE_OK)
            rc = umpire_scores_write_jsonl(path, set, scores, &def, all, err);
        struct umpire_idk idk;
        int have_idk = 0;
        snprintf(path, sizeof path, "%s/items.jsonl", run_dir);
        if (rc == UMPIRE_OK)
            rc = run_idk(path, set, &idk, &have_idk, err);
        snprintf(path, sizeof path, "%s/summary.json", run_dir);
        if (rc == UMPIRE_OK)
            rc = umpire_summary_write(path, set, scores, &def, sp, mp, all, ev->n_labelled ? rp : NULL, ev->accuracy,
                                      have_idk ? &idk : NULL, err);
        if (rc == UMPIRE_OK && have_idk)
            *idk_out = idk;
        /* the report's charts: UMPIRE, then the five other estimators with the best AUROC */
        const struct umpire_estimator *reg = umpire_estimators(&ne);
        const char *chosen[6] = {"umpire"};
        size_t n_chosen = 1, n_ranked = 0;
        const struct umpire_metric_report **others = malloc(ne * sizeof *others);
        size_t *order = malloc(ne * sizeof *order);
        if (rc == UMPIRE_OK && others && order) {
            for (size_t e = 0; e < ne; e++)
                others[e] = ev->reports[e].n && strcmp(reg[e].name, "umpire") ? &ev->reports[e] : NULL;
            if (umpire_order_by_auroc(others, ne, order, &n_ranked) == UMPIRE_OK)
                for (size_t j = 0; j < n_ranked && n_chosen < 6; j++)
                    chosen[n_chosen++] = reg[order[j]].name;
            rc = umpire_report_html(run_dir, set, scores, ev, chosen, n_chosen, have_idk ? &idk : NULL, err);
        }
        free(others);
        free(order);
        free(all);
        free((void *)rp);
    }
    if (rc != UMPIRE_OK) {
        umpire_evaluation_free(ev);
        umpire_scores_free(scores);
        umpire_sampleset_free(set);
    }
    return rc;
}

void umpire_group_evaluations_free(struct umpire_group_evaluation *g, size_t n) {
    for (size_t j = 0; g && j < n; j++) {
        free(g[j].group);
        umpire_evaluation_free(&g[j].ev);
    }
    free(g);
}

static int by_id(const void *a, const void *b) {
    return strcmp((*(const struct umpire_dataset_item *const *)a)->id, (*(const struct umpire_dataset_item *const *)b)->id);
}

int umpire_eval_groups(const char *run_dir, const char *data, const char *field, const struct umpire_sampleset *set,
                       const struct umpire_scores *scores, const struct umpire_metric_params *mp,
                       struct umpire_group_evaluation **out, size_t *n_out, char *err) {
    *out = NULL;
    *n_out = 0;
    char path[4200];
    cJSON *cfg = NULL;
    int rc = UMPIRE_OK;
    if (!data) { /* the dataset the run was made from */
        snprintf(path, sizeof path, "%s/config.json", run_dir);
        const cJSON *d;
        size_t len;
        char *text = umpire_read_file(path, &len, err, &rc);
        cfg = text ? umpire_json_parse(text, len, path, 0, err, &rc) : NULL;
        free(text);
        if (!cfg)
            return rc;
        if (!cJSON_IsString(d = cJSON_GetObjectItemCaseSensitive(cfg, "data"))) {
            cJSON_Delete(cfg);
            return umpire_fail(err, UMPIRE_EINVAL, "%s: data: missing; give the dataset", path);
        }
        data = d->valuestring;
    }
    struct umpire_dataset ds;
    rc = umpire_dataset_read_grouped(data, field, &ds, err);
    struct umpire_dataset_item **sorted = rc == UMPIRE_OK ? malloc(ds.n * sizeof *sorted) : NULL;
    size_t *group_of = rc == UMPIRE_OK ? malloc((set->n ? set->n : 1) * sizeof *group_of) : NULL;
    size_t *idx = rc == UMPIRE_OK ? malloc((set->n ? set->n : 1) * sizeof *idx) : NULL;
    const char **names = rc == UMPIRE_OK ? calloc(set->n ? set->n : 1, sizeof *names) : NULL;
    size_t n_groups = 0, n_grouped = 0;
    if (rc == UMPIRE_OK && (!sorted || !group_of || !idx || !names))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK) {
        for (size_t i = 0; i < ds.n; i++) {
            sorted[i] = &ds.items[i];
            n_grouped += ds.items[i].group != NULL;
        }
        qsort(sorted, ds.n, sizeof *sorted, by_id);
        if (n_grouped == 0)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no item has the field '%s' to group by", data, field);
    }
    /* each run item's group, groups numbered in order of first appearance */
    for (size_t i = 0; rc == UMPIRE_OK && i < set->n; i++) {
        struct umpire_dataset_item key = {.id = set->items[i].id}, *kp = &key;
        struct umpire_dataset_item **hit = bsearch(&kp, sorted, ds.n, sizeof *sorted, by_id);
        if (!hit) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s/items.jsonl: item '%.60s' is not in %s", run_dir, set->items[i].id, data);
            break;
        }
        const char *g = (*hit)->group ? (*hit)->group : "(none)";
        size_t k = 0;
        while (k < n_groups && strcmp(names[k], g))
            k++;
        if (k == n_groups)
            names[n_groups++] = g;
        group_of[i] = k;
    }
    struct umpire_group_evaluation *ge = rc == UMPIRE_OK ? calloc(n_groups ? n_groups : 1, sizeof *ge) : NULL;
    if (rc == UMPIRE_OK && !ge)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t k = 0; rc == UMPIRE_OK && k < n_groups; k++) {
        size_t m = 0;
        for (size_t i = 0; i < set->n; i++)
            if (group_of[i] == k)
                idx[m++] = i;
        ge[k].n = m;
        if (!(ge[k].group = strdup(names[k])))
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        else
            rc = umpire_evaluate_subset(set, scores, NULL, idx, m, mp, &ge[k].ev, err);
    }
    if (rc == UMPIRE_OK) {
        snprintf(path, sizeof path, "%s/groups.json", run_dir);
        const char **labels = malloc((n_groups ? n_groups : 1) * sizeof *labels);
        size_t *sizes = malloc((n_groups ? n_groups : 1) * sizeof *sizes);
        const struct umpire_evaluation **evs = malloc((n_groups ? n_groups : 1) * sizeof *evs);
        for (size_t j = 0; labels && sizes && evs && j < n_groups; j++) {
            labels[j] = ge[j].group;
            sizes[j] = ge[j].n;
            evs[j] = &ge[j].ev;
        }
        rc = labels && sizes && evs ? umpire_groups_write(path, field, labels, sizes, evs, n_groups, err)
                                   : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        free((void *)labels);
        free(sizes);
        free((void *)evs);
    }
    if (rc == UMPIRE_OK) {
        *out = ge;
        *n_out = n_groups;
    } else {
        umpire_group_evaluations_free(ge, n_groups);
    }
    free(sorted);
    free(group_of);
    free(idx);
    free((void *)names);
    umpire_dataset_free(&ds); /* zeroed by a failed read: freeing it again is harmless */
    cJSON_Delete(cfg);
    return rc;
}
