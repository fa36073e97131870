#define _POSIX_C_SOURCE 200809L
/* test_report.c - report.html draws the metrics' own curves: on scores with ties, the area
 * under the ROC and accuracy-rejection polylines of the written page, read back from their
 * pixels, is the AUROC and AURAC the page states (to the 0.1 px the points are written with),
 * and the rejection curve starts where AURAC's does, at x = 1/n.
 * Usage: test_report WORK_DIR */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "io/report.h"
#include "umpire.h"

/* report_html.c's chart geometry: width, height and the left, right, top, bottom margins */
enum { W = 320, H = 240, ML = 46, MR = 12, MT = 26, MB = 36 };

static const char *work_dir;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The points of the first <polyline class="CLS"> after `after` in html, back on the unit
 * square; returns how many (at most cap). */
static size_t points_after(const char *html, const char *after, const char *cls, double *x, double *y, size_t cap) {
    const char *at = strstr(html, after);
    assert_non_null(at);
    char open[64];
    snprintf(open, sizeof open, "<polyline class=\"%s\" points=\"", cls);
    at = strstr(at, open);
    assert_non_null(at);
    at += strlen(open);
    size_t n = 0;
    double u, v;
    int used;
    while (n < cap && sscanf(at, "%lf,%lf%n", &u, &v, &used) == 2) {
        x[n] = (u - ML) / (W - ML - MR);
        y[n++] = (H - MB - v) / (H - MT - MB);
        at += used;
    }
    return n;
}

static double area(const double *x, const double *y, size_t n) {
    double a = 0;
    for (size_t i = 1; i < n; i++)
        a += (x[i] - x[i - 1]) * (y[i - 1] + y[i]) / 2;
    return a;
}

static void test_curves_are_the_metrics(void **state) {
    (void)state;
    /* ties of right and wrong answers at 0.7, 0.4 and 0.2: the ROC curve's diagonal steps hold
     * 0.08 + 0.02 + 0.02 of its area, which a staircase in item order would lose; rejected in
     * item order (AURAC's), the right answers of a tie go before its wrong ones */
    enum { N = 10 };
    const double s[N] = {0.9, 0.7, 0.7, 0.7, 0.7, 0.4, 0.4, 0.2, 0.2, 0.1};
    const int wrong[N] = {1, 0, 0, 1, 1, 1, 0, 0, 1, 0};
    char run[4200], path[4300], err[UMPIRE_ERR_LEN];
    snprintf(run, sizeof run, "%s/ties", work_dir);
    mkdir(work_dir, 0777);
    mkdir(run, 0777);
    snprintf(path, sizeof path, "%s/items.jsonl", run);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    struct umpire_item items[N];
    char ids[N][8];
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "q%zu", i);
        fprintf(f, "{\"id\": \"%s\", \"question\": \"q\", \"answer\": \"a\", \"gold\": [\"b\"]}\n", ids[i]);
        items[i] = (struct umpire_item){.id = ids[i], .k = 2, .correct = !wrong[i], .middle_layer = -1};
    }
    fclose(f);
    struct umpire_sampleset set = {.items = items, .n = N};
    size_t ne;
    umpire_estimators(&ne);
    const size_t e = (size_t)umpire_estimator_index("umpire");
    struct umpire_scores sc = {.n = N, .n_estimators = ne, .probs = UMPIRE_PROBS_UNSPECIFIED, .alpha = 1};
    sc.scores = malloc(N * ne * sizeof *sc.scores);
    int *selected = calloc(ne, sizeof *selected);
    assert_non_null(sc.scores);
    assert_non_null(selected);
    for (size_t i = 0; i < N * ne; i++)
        sc.scores[i] = NAN;
    for (size_t i = 0; i < N; i++)
        sc.scores[i * ne + e] = s[i];
    selected[e] = 1;
    struct umpire_metric_params mp = umpire_metric_default_params();
    mp.bootstrap = 0;
    struct umpire_evaluation ev;
    assert_int_equal(umpire_evaluate(&set, &sc, selected, &mp, &ev, err), 0);
    const char *chosen[] = {"umpire"};
    assert_int_equal(umpire_report_html(run, &set, &sc, &ev, chosen, 1, NULL, err), 0);
    const double auroc = ev.reports[e].value[UMPIRE_M_AUROC], aurac = ev.reports[e].value[UMPIRE_M_AURAC];
    assert_true(fabs(auroc - 0.68) < 1e-12); /* worked out by hand in test_core */

    snprintf(path, sizeof path, "%s/report.html", run);
    char *html = slurp(path);
    double x[64], y[64];
    const double px = 0.05 / (W - ML - MR), tol = 4 * px; /* half a written decimal, both axes */
    size_t m = points_after(html, "<title>ROC (AUROC", "c1", x, y, 64);
    assert_int_equal(m, 6); /* (0, 0) and one point per distinct score */
    assert_true(fabs(area(x, y, m) - auroc) < tol);
    m = points_after(html, "<title>accuracy-rejection (AURAC", "c1", x, y, 64);
    assert_int_equal(m, N);
    assert_true(fabs(x[0] - 1.0 / N) < px && fabs(x[N - 1] - 1) < px);
    assert_true(fabs(area(x, y, m) - aurac) < tol);
    /* the titles state the same numbers */
    char title[64];
    snprintf(title, sizeof title, "ROC (AUROC %.3f)", auroc);
    assert_non_null(strstr(html, title));
    snprintf(title, sizeof title, "accuracy-rejection (AURAC %.3f)", aurac);
    assert_non_null(strstr(html, title));
    free(html);
    free(sc.scores);
    free(selected);
    umpire_evaluation_free(&ev);
}

/* The "I don't know" rates and calibrate temperature's result (RUN/temperature.json) appear
 * in the report as given: the rates in their table, each reliability bar as tall as its bin's
 * accuracy, the empty bins drawn as nothing; a malformed temperature.json is said, not fatal. */
static void test_idk_and_temperature_sections(void **state) {
    (void)state;
    char run[4200], path[4300], err[UMPIRE_ERR_LEN];
    snprintf(run, sizeof run, "%s/temperature", work_dir);
    mkdir(work_dir, 0777);
    mkdir(run, 0777);
    snprintf(path, sizeof path, "%s/items.jsonl", run);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"id\": \"q0\"}\n{\"id\": \"q1\"}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/temperature.json", run);
    f = fopen(path, "w");
    assert_non_null(f);
    /* before: bins 5 (n 4, acc 0.25) and 9 (n 6, acc 0.5); after: bin 7 (n 10, acc 0.4) */
    const char *zero = "[0, 0, 0]";
    fprintf(f, "{\"temperature\": 1.75, \"fit\": \"nll\", \"n_fit\": 10, \"n_measured\": 10, \"held_out\": true,"
               " \"before\": {\"nll\": 0.9, \"ece\": 0.41, \"reliability\": [%s, %s, %s, %s, %s, [4, 0.55, 0.25], %s, %s, %s,"
               " [6, 0.95, 0.5]]}, \"after\": {\"nll\": 0.7, \"ece\": 0.12, \"reliability\": [%s, %s, %s, %s, %s, %s, %s,"
               " [10, 0.72, 0.4], %s, %s]}}\n",
            zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero);
    fclose(f);
    struct umpire_item items[2] = {{.id = "q0", .correct = 1, .middle_layer = -1},
                                   {.id = "q1", .correct = 0, .middle_layer = -1}};
    struct umpire_sampleset set = {.items = items, .n = 2};
    size_t ne;
    umpire_estimators(&ne);
    struct umpire_scores sc = {.n = 2, .n_estimators = ne, .probs = UMPIRE_PROBS_UNSPECIFIED, .alpha = 1};
    struct umpire_evaluation ev = {.n_labelled = 2, .n_right = 1, .accuracy = 0.5,
                                   .reports = calloc(ne, sizeof *ev.reports)};
    assert_non_null(ev.reports);
    const struct umpire_idk idk = {.n_answerable = 7, .n_unanswerable = 3, .accuracy_answerable = 4.0 / 7,
                                   .over_refusal = 1.0 / 7, .refusal_recall = 2.0 / 3, .over_answering = 1.0 / 3};
    assert_int_equal(umpire_report_html(run, &set, &sc, &ev, NULL, 0, &idk, err), 0);
    snprintf(path, sizeof path, "%s/report.html", run);
    char *html = slurp(path);
    assert_non_null(strstr(html, "<tr><td>accuracy on answerable questions</td><td>7</td><td>0.571</td></tr>"));
    assert_non_null(strstr(html, "<tr><td>declined unanswerable ones (refusal recall)</td><td>3</td><td>0.667</td></tr>"));
    assert_non_null(strstr(html, "<tr><td>answered unanswerable ones (over-answering)</td><td>3</td><td>0.333</td></tr>"));
    assert_non_null(strstr(html, "T = <b>1.75</b> (nll) fitted on 10 multiple-choice items; measured on 10 held-out"));
    assert_non_null(strstr(html, "<tr><td>T = 1.75</td><td>0.7000</td><td>0.1200</td></tr>"));
    /* the bars: height = accuracy x the plot's height */
    const double ph = H - MT - MB;
    const char *before = strstr(html, "before: T = 1 (ECE 0.410)"), *after = strstr(html, "after: T = 1.75 (ECE 0.120)");
    assert_non_null(before);
    assert_non_null(after);
    double want_before[] = {0.25, 0.5}, want_after[] = {0.4};
    const char *at = before;
    for (int b = 0; b < 3; b++) {
        at = strstr(at, "<rect class=\"bar\"");
        assert_non_null(at);
        double x, y, w, h;
        assert_int_equal(sscanf(at, "<rect class=\"bar\" x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &x, &y, &w, &h), 4);
        double want = b < 2 ? want_before[b] : want_after[0];
        assert_true(fabs(h - want * ph) < 0.06);
        assert_true((b < 2) == (at < after)); /* two bars before, one after */
        at++;
    }
    assert_null(strstr(at, "<rect class=\"bar\""));
    free(html);
    /* a malformed temperature.json: said in the report, the report still written */
    snprintf(path, sizeof path, "%s/temperature.json", run);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"temperature\": \"hot\"}\n", f);
    fclose(f);
    assert_int_equal(umpire_report_html(run, &set, &sc, &ev, NULL, 0, NULL, err), 0);
    snprintf(path, sizeof path, "%s/report.html", run);
    html = slurp(path);
    assert_non_null(strstr(html, "temperature.json: not what umpire calibrate temperature writes"));
    assert_null(strstr(html, "id=\"idk\""));
    free(html);
    free(ev.reports);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_report WORK_DIR\n");
        return 2;
    }
    work_dir = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_curves_are_the_metrics),
                                       cmocka_unit_test(test_idk_and_temperature_sections)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
