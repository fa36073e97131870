/* cli.h - the subcommands of the `umpire` tool; one file each, one entry point each. */
#ifndef UMPIRE_CLI_H
#define UMPIRE_CLI_H

#include <stdio.h>

#include "umpire.h"

int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_ask(int argc, char **argv);

/* table.c: estimators x metrics, one row per non-NULL report */
void cli_print_table(FILE *f, const char *const *names, const struct umpire_metric_report *const *r,
                     size_t n);
/* parse.c: strict number parsing for options; print "umpire CMD: OPT: ..." on error */
int cli_parse_double(const char *cmd, const char *opt, const char *v, double *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *v, uint64_t *out);

#endif
