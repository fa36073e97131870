/* table.c - the estimators x metrics table that `umpire score` and `umpire metrics` print. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli/cli.h"

static void cell(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, " %7.3f", v);
    else
        fprintf(f, " %7s", "-");
}

void cli_print_table(FILE *f, const char *const *names, const struct umpire_metric_report *const *r,
                     size_t n) {
    static const int cols[] = {UMPIRE_M_AUROC, UMPIRE_M_AUPRC, UMPIRE_M_PRR,  UMPIRE_M_AURAC,
                               UMPIRE_M_TPR10, UMPIRE_M_CPC,   UMPIRE_M_ECE,  UMPIRE_M_CECE,
                               UMPIRE_M_BRIER};
    static const char *const heads[] = {"AUROC", "AUPRC", "PRR", "AURAC", "TPR@10", "CPC", "ECE", "cECE", "Brier"};
    const size_t nc = sizeof cols / sizeof cols[0];
    /* rank by AUROC, 1 = best; undefined AUROCs are not ranked */
    size_t *order = malloc((n ? n : 1) * sizeof *order), *rank = calloc(n ? n : 1, sizeof *rank), n_ranked = 0;
    if (order && rank && umpire_order_by_auroc(r, n, order, &n_ranked) == 0)
        for (size_t k = 0; k < n_ranked; k++)
            rank[order[k]] = k + 1;
    int width = 9; /* the longest name shown */
    for (size_t e = 0; e < n; e++)
        if (r[e] && (int)strlen(names[e]) > width)
            width = (int)strlen(names[e]);
    fprintf(f, "%-*s %4s %5s %15s", width, "estimator", "rank", "n", "AUROC 95% CI");
    for (size_t c = 0; c < nc; c++)
        fprintf(f, " %7s", heads[c]);
    fputc('\n', f);
    for (size_t e = 0; e < n; e++) {
        if (!r[e])
            continue;
        char ci[32] = "-";
        if (isfinite(r[e]->lo[UMPIRE_M_AUROC]))
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", r[e]->lo[UMPIRE_M_AUROC], r[e]->hi[UMPIRE_M_AUROC]);
        char rk[24] = "-";
        if (rank && rank[e])
            snprintf(rk, sizeof rk, "%zu", rank[e]);
        fprintf(f, "%-*s %4s %5zu %15s", width, names[e], rk, r[e]->n, ci);
        for (size_t c = 0; c < nc; c++)
            cell(f, r[e]->value[cols[c]]);
        fputc('\n', f);
    }
    fprintf(f, "(wrong answer = positive, score = uncertainty; rank: by AUROC, 1 = best; '-' = undefined on these data)\n");
    free(order);
    free(rank);
}
