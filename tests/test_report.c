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
    assert_int_equal(umpire_report_html(run, &set, &sc, &ev, chosen, 1, err), 0);
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

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_report WORK_DIR\n");
        return 2;
    }
    work_dir = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_curves_are_the_metrics)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
