/* metrics.c - `umpire metrics`: the estimators x metrics table from scored items, with labels
 * from the items themselves or from a separate JSONL of {"id", "correct"}. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/scores_json.h"

static void usage(FILE *f) {
    fprintf(f, "usage: umpire metrics SCORED.jsonl [--labels LABELS.jsonl] [--seed S] [--bootstrap N]\n\n"
               "Recompute AUROC, AUPRC, PRR, AURAC, TPR@10%%FPR, CPC, cECE, ECE and Brier (with\n"
               "bootstrap 95%% intervals) for every score in scored items (umpire score -o).\n"
               "Labels come from each item's `correct`, or from LABELS.jsonl lines {\"id\", \"correct\"}\n"
               "(an id may come again with the same label; with the other one it is an error).\n\n"
               "  --seed S                cECE split and bootstrap seed (default 0)\n"
               "  --bootstrap N           resamples for the intervals (default 1000; 0 = none)\n"
               "  --reference-splits      cECE's calibration split drawn as UMPIRE's reference code does\n\n"
               "example:\n"
               "  umpire metrics scored.jsonl --labels judged.jsonl\n");
}

int cmd_metrics(int argc, char **argv) {
    const char *labels_path = NULL;
    struct umpire_metric_params mp = umpire_metric_default_params();
    enum { O_LABELS = 256, O_SEED, O_BOOT };
    static const struct option opts[] = {{"labels", required_argument, 0, O_LABELS},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"bootstrap", required_argument, 0, O_BOOT},
                                         {"reference-splits", no_argument, 0, CLI_O_REFSPLITS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    uint64_t u, seed = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_score_option("metrics", c, optarg, NULL, &mp) == 0)
            continue;
        switch (c) {
        case O_LABELS: labels_path = optarg; break;
        case O_SEED:
            if (cli_parse_u64("metrics", "--seed", optarg, &seed))
                return 2;
            break;
        case O_BOOT:
            if (cli_parse_u64("metrics", "--bootstrap", optarg, &u))
                return 2;
            mp.bootstrap = (size_t)u;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    cli_score_options_seed(NULL, &mp, seed);
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    struct umpire_scored_file sf;
    if (umpire_scored_read(argv[optind], &sf, err) != 0) {
        fprintf(stderr, "umpire metrics: %s\n", err);
        return 1;
    }
    int rc = 1;
    if (labels_path && umpire_scored_apply_labels(&sf, labels_path, err) < 0) {
        fprintf(stderr, "umpire metrics: %s\n", err);
        goto out;
    }
    double *col = malloc(sf.n * sizeof *col);
    int *wrong = malloc(sf.n * sizeof *wrong);
    struct umpire_metric_report *reports = calloc(sf.n_estimators, sizeof *reports);
    const struct umpire_metric_report **rp = calloc(sf.n_estimators, sizeof *rp);
    size_t n_lab = 0, n_right = 0;
    for (size_t i = 0; i < sf.n; i++)
        if (sf.correct[i] >= 0) {
            n_lab++;
            n_right += sf.correct[i];
        }
    if (!col || !wrong || !reports || !rp) {
        fprintf(stderr, "umpire metrics: out of memory\n");
    } else if (n_lab == 0) {
        fprintf(stderr, "umpire metrics: no labels: items carry no `correct`%s\n",
                labels_path ? " and none of their ids is in the labels file" : "; pass --labels");
    } else {
        rc = 0;
        for (size_t e = 0; e < sf.n_estimators && !rc; e++) {
            size_t m = 0;
            for (size_t i = 0; i < sf.n; i++)
                if (sf.correct[i] >= 0) {
                    col[m] = sf.scores[i * sf.n_estimators + e];
                    wrong[m++] = !sf.correct[i];
                }
            if (umpire_metrics_compute(col, wrong, m, &mp, &reports[e], err) != 0) {
                fprintf(stderr, "umpire metrics: %s\n", err);
                rc = 1;
            }
            rp[e] = reports[e].n ? &reports[e] : NULL;
        }
        if (!rc) {
            printf("%zu labelled of %zu items, accuracy %.3f\n\n", n_lab, sf.n, (double)n_right / (double)n_lab);
            cli_print_table(stdout, (const char *const *)sf.names, rp, sf.n_estimators);
        }
    }
    free(col);
    free(wrong);
    for (size_t e = 0; reports && e < sf.n_estimators; e++)
        umpire_metric_report_free(&reports[e]);
    free(reports);
    free(rp);
out:
    umpire_scored_free(&sf);
    return rc;
}
