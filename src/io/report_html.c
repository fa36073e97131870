/* report_html.c - RUN_DIR/report.html: one self-contained page (inline SVG and CSS, no script,
 * nothing fetched) that shows how well the uncertainty scores of a run detect its wrong
 * answers: the metrics of every estimator, then for the chosen ones the ROC curve, the
 * reliability diagram (min-max normalised score as P(wrong)), the accuracy-rejection curve
 * and the score histograms of right and wrong answers; and the answers the run was most sure
 * of that were wrong. The curves are core's (curves.c), the ones the metrics in their titles
 * are computed from.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/curves.h"
#include "core/stats.h"
#include "core/status.h"
#include "io/output.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/report.h"

#define W 320
#define H 240
#define ML 46 /* margins */
#define MR 12
#define MT 26
#define MB 36

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double px(double x, double lo, double hi) { return ML + (W - ML - MR) * (hi > lo ? (x - lo) / (hi - lo) : 0.5); }
static double py(double y, double lo, double hi) { return H - MB - (H - MT - MB) * (hi > lo ? (y - lo) / (hi - lo) : 0.5); }

/* An SVG chart frame with its title, axis labels and ticks at 0, 0.5, 1 of each range. */
static void frame(FILE *f, const char *title, const char *xl, const char *yl, double x0, double x1, double y0, double y1) {
    fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>", W, H, W, H);
    esc(f, title);
    fprintf(f, "</title><text x=\"%d\" y=\"16\" class=\"t\">", W / 2);
    esc(f, title);
    fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"box\"/>", ML, MT, W - ML - MR, H - MT - MB);
    for (int i = 0; i <= 2; i++) {
        double xv = x0 + (x1 - x0) * i / 2, yv = y0 + (y1 - y0) * i / 2;
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"tick\">%.3g</text>", px(xv, x0, x1), H - MB + 14, xv);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"tick ty\">%.3g</text>", ML - 4, py(yv, y0, y1) + 4, yv);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"lab\">%s</text>", (W + ML - MR) / 2, H - 6, xl);
    fprintf(f, "<text x=\"12\" y=\"%d\" class=\"lab\" transform=\"rotate(-90 12 %d)\">%s</text>", (H + MT - MB) / 2,
            (H + MT - MB) / 2, yl);
}

/* A curve's points as an SVG polyline on the unit square. */
static void polyline(FILE *f, const char *cls, const struct umpire_curve *c) {
    fprintf(f, "<polyline class=\"%s\" points=\"", cls);
    for (size_t i = 0; i < c->n; i++)
        fprintf(f, "%s%.1f,%.1f", i ? " " : "", px(c->x[i], 0, 1), py(c->y[i], 0, 1));
    fputs("\"/>", f);
}

/* The ROC curve whose trapezoid area is the AUROC in its title: a tie of right and wrong
 * answers is one diagonal step. */
static void roc(FILE *f, const struct umpire_curves *c, double auroc) {
    char title[64];
    snprintf(title, sizeof title, "ROC (AUROC %.3f)", auroc);
    frame(f, title, "false positive rate", "true positive rate", 0, 1, 0, 1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"diag\"/>", px(0, 0, 1), py(0, 0, 1),
            px(1, 0, 1), py(1, 0, 1));
    if (c->roc.n)
        polyline(f, "c1", &c->roc);
    fputs("</svg>", f);
}

/* ECE's bins: each bar the error rate of the answers whose P(wrong) fell in the bin. */
static void reliability(FILE *f, const struct umpire_curves *c, double ece) {
    char title[64];
    snprintf(title, sizeof title, "reliability (ECE %.3f)", ece);
    frame(f, title, "P(wrong) = min-max score", "error rate", 0, 1, 0, 1);
    double width = 1.0 / (double)c->bins;
    for (size_t b = 0; b < c->bins; b++)
        if (c->bin_count[b]) {
            double rate = c->bin_error[b];
            fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%zu answers, "
                       "%.0f wrong, mean P(wrong) %.3f</title></rect>",
                    px((double)b * width, 0, 1) + 1, py(rate, 0, 1), px(width, 0, 1) - px(0, 0, 1) - 2,
                    py(0, 0, 1) - py(rate, 0, 1), c->bin_count[b], rate * (double)c->bin_count[b], c->bin_p[b]);
        }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"diag\"/></svg>", px(0, 0, 1), py(0, 0, 1),
            px(1, 0, 1), py(1, 0, 1));
}

/* UMPIRE's accuracy-rejection curve, whose trapezoid area is the AURAC in its title (x = (i + 1) / n
 * after rejecting the i most uncertain answers, ties in item order); the oracle and random too. */
static void rejection(FILE *f, const struct umpire_curves *c, double aurac) {
    char title[64];
    snprintf(title, sizeof title, "accuracy-rejection (AURAC %.3f)", aurac);
    frame(f, title, "(rejected + 1) / n", "accuracy of the rest", 0, 1, 0, 1);
    double acc = c->rejection.n ? c->rejection.y[0] : 0;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"diag\"/>", px(0, 0, 1), py(acc, 0, 1),
            px(1, 0, 1), py(acc, 0, 1));
    polyline(f, "c2", &c->oracle);
    polyline(f, "c1", &c->rejection);
    fputs("</svg>", f);
}

static void histogram(FILE *f, const double *s, const int *wrong, size_t n) {
    enum { B = 20 };
    double lo = s[0], hi = s[0];
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, s[i]);
        hi = fmax(hi, s[i]);
    }
    size_t c[2][B] = {{0}}, top = 1;
    for (size_t i = 0; i < n; i++) {
        size_t b = hi > lo ? (size_t)((s[i] - lo) / (hi - lo) * B) : 0;
        b = b >= B ? B - 1 : b;
        c[wrong[i] != 0][b]++;
    }
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < B; b++)
            top = c[k][b] > top ? c[k][b] : top;
    frame(f, "scores: right (green) and wrong (red)", "score", "answers", lo, hi > lo ? hi : lo + 1, 0, (double)top);
    double bw = (double)(W - ML - MR) / B;
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < B; b++)
            if (c[k][b])
                fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", k ? "hw" : "hr",
                        ML + b * bw + (k ? bw / 2 : 0), py((double)c[k][b], 0, (double)top), bw / 2,
                        py(0, 0, (double)top) - py((double)c[k][b], 0, (double)top));
    fputs("</svg>", f);
}

struct meta {
    char **id, **question, **answer, **gold;
    size_t n, cap;
};

static char *gold_of(const cJSON *o) {
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "gold"), *x;
    size_t len = 1;
    cJSON_ArrayForEach(x, g) len += cJSON_IsString(x) ? strlen(x->valuestring) + 3 : 0;
    char *s = calloc(len, 1);
    cJSON_ArrayForEach(x, g) if (s && cJSON_IsString(x)) {
        if (s[0])
            strcat(s, " | ");
        strcat(s, x->valuestring);
    }
    return s;
}

static int keep_meta(const cJSON *o, size_t line, void *ctx) {
    (void)line;
    struct meta *m = ctx;
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        char **a = realloc(m->id, m->cap * sizeof *a), **b = a ? realloc(m->question, m->cap * sizeof *b) : NULL;
        char **c = b ? realloc(m->answer, m->cap * sizeof *c) : NULL, **d = c ? realloc(m->gold, m->cap * sizeof *d) : NULL;
        if (a)
            m->id = a;
        if (b)
            m->question = b;
        if (c)
            m->answer = c;
        if (!d)
            return UMPIRE_ENOMEM;
        m->gold = d;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id"), *q = cJSON_GetObjectItemCaseSensitive(o, "question");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "answer");
    m->id[m->n] = strdup(cJSON_IsString(id) ? id->valuestring : "");
    m->question[m->n] = strdup(cJSON_IsString(q) ? q->valuestring : "");
    m->answer[m->n] = strdup(cJSON_IsString(a) ? a->valuestring : "");
    m->gold[m->n++] = gold_of(o);
    return 0;
}

static void meta_free(struct meta *m) {
    for (size_t i = 0; i < m->n; i++) {
        free(m->id[i]);
        free(m->question[i]);
        free(m->answer[i]);
        free(m->gold[i]);
    }
    free(m->id);
    free(m->question);
    free(m->answer);
    free(m->gold);
}

/* TS.py's reliability bins of the top option's probability: each bar the accuracy of the items
 * whose confidence fell in the bin; bins = [[n, mean confidence, accuracy], ...]. */
static void confidence_bars(FILE *f, const char *title, const cJSON *bins) {
    frame(f, title, "confidence (top option)", "accuracy", 0, 1, 0, 1);
    int nb = cJSON_GetArraySize(bins);
    double width = nb > 0 ? 1.0 / nb : 1.0;
    for (int b = 0; b < nb; b++) {
        const cJSON *bin = cJSON_GetArrayItem(bins, b);
        const cJSON *n = cJSON_GetArrayItem(bin, 0), *conf = cJSON_GetArrayItem(bin, 1), *acc = cJSON_GetArrayItem(bin, 2);
        if (!cJSON_IsNumber(n) || n->valuedouble <= 0 || !cJSON_IsNumber(acc) || !cJSON_IsNumber(conf))
            continue;
        double rate = fmin(1, fmax(0, acc->valuedouble));
        fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%.0f items, "
                   "mean confidence %.3f, accuracy %.3f</title></rect>",
                px(b * width, 0, 1) + 1, py(rate, 0, 1), px(width, 0, 1) - px(0, 0, 1) - 2, py(0, 0, 1) - py(rate, 0, 1),
                n->valuedouble, conf->valuedouble, acc->valuedouble);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"diag\"/></svg>", px(0, 0, 1),
            py(0, 0, 1), px(1, 0, 1), py(1, 0, 1));
}

static double number_in(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* RUN_DIR/temperature.json (umpire calibrate temperature --from RUN_DIR), when there is one */
static void temperature_section(FILE *f, const char *run_dir) {
    char path[4200], err[UMPIRE_ERR_LEN];
    struct stat st;
    snprintf(path, sizeof path, "%s/temperature.json", run_dir);
    if (stat(path, &st) != 0)
        return;
    int rc = 0;
    cJSON *o = umpire_read_json(path, err, &rc);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "before"), *a = cJSON_GetObjectItemCaseSensitive(o, "after");
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(b, "reliability"), *ra = cJSON_GetObjectItemCaseSensitive(a, "reliability");
    double t = number_in(o, "temperature");
    fputs("<h2 id=\"temperature\">Temperature scaling</h2>", f);
    if (!o || !cJSON_IsArray(rb) || !cJSON_IsArray(ra) || !isfinite(t)) {
        fputs("<p class=\"muted\">", f);
        esc(f, o ? "temperature.json: not what umpire calibrate temperature writes" : err);
        fputs("</p>", f);
        cJSON_Delete(o);
        return;
    }
    const cJSON *held = cJSON_GetObjectItemCaseSensitive(o, "held_out");
    fprintf(f, "<p>T = <b>%.4g</b> (%s) fitted on %.0f multiple-choice items; measured on %.0f %s items: the"
               " full-vocabulary probability of the chosen letter, as Calibration-MLLM's TS.py.</p>"
               "<table id=\"temperature-table\"><tr><th></th><th>NLL</th><th>ECE</th></tr>"
               "<tr><td>T = 1</td><td>%.4f</td><td>%.4f</td></tr><tr><td>T = %.4g</td><td>%.4f</td><td>%.4f</td></tr>"
               "</table><div class=\"charts\">",
            t, cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "fit")) ? cJSON_GetObjectItemCaseSensitive(o, "fit")->valuestring : "?",
            number_in(o, "n_fit"), number_in(o, "n_measured"), cJSON_IsTrue(held) ? "held-out" : "in-sample",
            number_in(b, "nll"), number_in(b, "ece"), t, number_in(a, "nll"), number_in(a, "ece"));
    char title[64];
    snprintf(title, sizeof title, "before: T = 1 (ECE %.3f)", number_in(b, "ece"));
    confidence_bars(f, title, rb);
    snprintf(title, sizeof title, "after: T = %.3g (ECE %.3f)", t, number_in(a, "ece"));
    confidence_bars(f, title, ra);
    fputs("</div>", f);
    cJSON_Delete(o);
}

/* the "I don't know" rates (summary.json's idk) */
static void idk_section(FILE *f, const struct umpire_idk *k) {
    fputs("<h2 id=\"idk\">I don't know</h2><table id=\"idk-table\"><tr><th></th><th>n</th><th>rate</th></tr>", f);
    const struct {
        const char *name;
        size_t n;
        double v;
    } rows[] = {{"accuracy on answerable questions", k->n_answerable, k->accuracy_answerable},
                {"declined answerable ones (over-refusal)", k->n_answerable, k->over_refusal},
                {"declined unanswerable ones (refusal recall)", k->n_unanswerable, k->refusal_recall},
                {"answered unanswerable ones (over-answering)", k->n_unanswerable, k->over_answering}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        isfinite(rows[r].v) ? fprintf(f, "<tr><td>%s</td><td>%zu</td><td>%.3f</td></tr>", rows[r].name, rows[r].n, rows[r].v)
                            : fprintf(f, "<tr><td>%s</td><td>%zu</td><td class=\"muted\">-</td></tr>", rows[r].name, rows[r].n);
    fputs("</table>", f);
}

static const char *style =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.q{text-align:left;max-width:520px}"
    ".charts{display:flex;flex-wrap:wrap;gap:8px}.chart{background:#fafafa;border:1px solid #e4e4e4}"
    ".t{font-size:12px;text-anchor:middle;font-weight:600}.tick{font-size:10px;text-anchor:middle;fill:#555}"
    ".ty{text-anchor:end}.lab{font-size:11px;text-anchor:middle;fill:#333}.box{fill:none;stroke:#999}"
    ".diag{stroke:#aaa;stroke-dasharray:4 3}.c1{fill:none;stroke:#1f5fbf;stroke-width:2}"
    ".c2{fill:none;stroke:#888;stroke-width:1.2;stroke-dasharray:2 2}.bar{fill:#7aa6e6}"
    ".hr{fill:#3a9d5d;opacity:.8}.hw{fill:#d04a3c;opacity:.8}.muted{color:#777}";

int umpire_report_html(const char *run_dir, const struct umpire_sampleset *set, const struct umpire_scores *sc,
                       const struct umpire_evaluation *ev, const char *const *chosen, size_t n_chosen,
                       const struct umpire_idk *idk, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/items.jsonl", run_dir);
    struct meta m = {0};
    int rc = umpire_jsonl_each(path, keep_meta, &m, NULL, err);
    if (rc != UMPIRE_OK) {
        meta_free(&m);
        return rc;
    }
    snprintf(path, sizeof path, "%s/report.html", run_dir);
    struct umpire_output af;
    if ((rc = umpire_output_open(&af, path, err)) != UMPIRE_OK) {
        meta_free(&m);
        return rc;
    }
    FILE *f = af.f;
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    fprintf(f, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>umpire report: ");
    esc(f, run_dir);
    fprintf(f, "</title><style>%s</style></head><body><h1>umpire evaluation: ", style);
    esc(f, run_dir);
    fprintf(f, "</h1><p>%zu questions, accuracy <b>%.3f</b> (%zu right); UMPIRE's alpha %.4g fitted on %zu unlabelled"
               " items. Wrong answers are the positive class; every score is an uncertainty (higher = more likely"
               " wrong).</p>", set->n, ev->accuracy, ev->n_right, sc->alpha, sc->n_dev);
    fputs("<h2>Estimators</h2><table id=\"metrics\"><tr><th>estimator</th><th>n</th><th>AUROC</th><th>95% CI</th>"
          "<th>AUPRC</th><th>PRR</th><th>AURAC</th><th>TPR@10%FPR</th><th>CPC</th><th>ECE</th><th>cal. ECE</th>"
          "<th>Brier</th></tr>", f);
    static const int cols[] = {UMPIRE_M_AUPRC, UMPIRE_M_PRR, UMPIRE_M_AURAC, UMPIRE_M_TPR10, UMPIRE_M_CPC,
                               UMPIRE_M_ECE, UMPIRE_M_CECE, UMPIRE_M_BRIER};
    for (size_t e = 0; e < ne; e++) {
        const struct umpire_metric_report *r = &ev->reports[e];
        if (!r->n)
            continue;
        fprintf(f, "<tr><td>%s</td><td>%zu</td>", reg[e].name, r->n);
        if (isfinite(r->value[UMPIRE_M_AUROC]))
            fprintf(f, "<td><b>%.3f</b></td>", r->value[UMPIRE_M_AUROC]);
        else
            fputs("<td class=\"muted\">-</td>", f);
        if (isfinite(r->lo[UMPIRE_M_AUROC]))
            fprintf(f, "<td>[%.3f, %.3f]</td>", r->lo[UMPIRE_M_AUROC], r->hi[UMPIRE_M_AUROC]);
        else
            fputs("<td class=\"muted\">-</td>", f);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            isfinite(r->value[cols[c]]) ? fprintf(f, "<td>%.3f</td>", r->value[cols[c]])
                                        : fprintf(f, "<td class=\"muted\">-</td>");
        fputs("</tr>", f);
    }
    fputs("</table>", f);
    if (idk)
        idk_section(f, idk);
    temperature_section(f, run_dir);

    double *s = malloc((set->n ? set->n : 1) * sizeof *s);
    int *w = malloc((set->n ? set->n : 1) * sizeof *w);
    size_t *idx = malloc((set->n ? set->n : 1) * sizeof *idx), *o = malloc((set->n ? set->n : 1) * sizeof *o);
    const size_t bins = umpire_metric_default_params().ece_bins; /* the bins of the ECE shown */
    for (size_t c = 0; s && w && idx && o && c < n_chosen; c++) {
        int e = umpire_estimator_index(chosen[c]);
        if (e < 0 || !ev->reports[e].n)
            continue;
        size_t k = 0; /* labelled items with a score for this estimator */
        for (size_t i = 0; i < set->n; i++)
            if (set->items[i].correct >= 0 && isfinite(sc->scores[i * ne + (size_t)e])) {
                idx[k] = i;
                s[k] = sc->scores[i * ne + (size_t)e];
                w[k++] = set->items[i].correct == 0;
            }
        struct umpire_curves curves;
        if (k == 0 || umpire_argsort_desc(s, k, o) != 0 || umpire_curves_compute(s, w, k, bins, &curves, NULL) != 0)
            continue;
        const struct umpire_metric_report *r = &ev->reports[e];
        fprintf(f, "<h2 id=\"%s\">%s <span class=\"muted\">%s</span></h2><div class=\"charts\">", chosen[c], chosen[c],
                reg[e].formula);
        roc(f, &curves, r->value[UMPIRE_M_AUROC]);
        reliability(f, &curves, r->value[UMPIRE_M_ECE]);
        rejection(f, &curves, r->value[UMPIRE_M_AURAC]);
        umpire_curves_free(&curves);
        histogram(f, s, w, k);
        fputs("</div>", f);
        if (c == 0) { /* the first estimator's most confident mistakes */
            fprintf(f, "<h2>Most confident mistakes by %s</h2><table id=\"mistakes\"><tr><th>id</th><th class=\"q\">"
                       "question</th><th class=\"q\">answer</th><th class=\"q\">accepted</th><th>score</th></tr>",
                    chosen[c]);
            size_t shown = 0;
            for (size_t j = k; j-- > 0 && shown < 15;) { /* lowest uncertainty first */
                if (!w[o[j]])
                    continue;
                size_t i = idx[o[j]];
                fputs("<tr><td>", f);
                esc(f, i < m.n ? m.id[i] : "");
                fputs("</td><td class=\"q\">", f);
                esc(f, i < m.n ? m.question[i] : "");
                fputs("</td><td class=\"q\">", f);
                esc(f, i < m.n ? m.answer[i] : "");
                fputs("</td><td class=\"q\">", f);
                esc(f, i < m.n ? m.gold[i] : "");
                fprintf(f, "</td><td>%.4g</td></tr>", s[o[j]]);
                shown++;
            }
            fputs("</table>", f);
        }
    }
    fputs("<p class=\"muted\">Written by umpire. Dashed: chance (ROC, reliability) and the oracle / random"
          " rejection (accuracy-rejection).</p></body></html>\n", f);
    free(s);
    free(w);
    free(idx);
    free(o);
    meta_free(&m);
    return umpire_output_close(&af, UMPIRE_OK, err);
}
