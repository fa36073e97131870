/* report.h - RUN_DIR/report.html (report_html.c). */
#ifndef UMPIRE_IO_REPORT_H
#define UMPIRE_IO_REPORT_H

#include "umpire.h"

/* Write RUN_DIR/report.html for a summarised run: the metrics of every estimator, charts for
 * the chosen ones (the first also gives the table of most confident mistakes), the "I don't
 * know" rates (idk, when not NULL), and RUN_DIR/temperature.json's temperature scaling when
 * `umpire calibrate temperature --from RUN_DIR` wrote one (NLL, ECE and the reliability
 * diagram before and after). */
int umpire_report_html(const char *run_dir, const struct umpire_sampleset *set, const struct umpire_scores *sc,
                       const struct umpire_evaluation *ev, const char *const *chosen, size_t n_chosen,
                       const struct umpire_idk *idk, char *err);

#endif
