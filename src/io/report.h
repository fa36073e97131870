/* report.h - RUN_DIR/report.html (report_html.c). */
#ifndef UMPIRE_IO_REPORT_H
#define UMPIRE_IO_REPORT_H

#include "umpire.h"

/* Write RUN_DIR/report.html for a summarised run: the metrics of every estimator, charts for
 * the chosen ones (the first also gives the table of most confident mistakes). */
int umpire_report_html(const char *run_dir, const struct umpire_sampleset *set, const struct umpire_scores *sc,
                       const struct umpire_evaluation *ev, const char *const *chosen, size_t n_chosen, char *err);

#endif
