/* score.c - `umpire score`: score a sample set with UMPIRE and every baseline, and, when the
 * items carry `correct`, measure how well each score detects the wrong answers. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/output.h"
#include "io/scores_json.h"

static void usage(FILE *f) {
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    fprintf(f,
            "usage: umpire score IN.jsonl [-o OUT.jsonl] [--summary SUMMARY.json] [options]\n\n"
            "Score sample sets (one item a line: k sampled answers with log-probs and embeddings;\n"
            "see DESIGN.md) with UMPIRE and the baselines. Higher = more likely wrong. With labels\n"
            "(`correct`), print and save AUROC, PRR, CPC, ECE, ... with bootstrap 95%% intervals.\n"
            "Ids must be well-formed UTF-8; a text that is not (an answer cut inside a character)\n"
            "gets U+FFFD in its place, with a warning. An item whose embeddings include one of zero\n"
            "norm has no UMPIRE or semantic volume: null, counted in a warning and summary.json.\n\n"
            "options:\n"
            "  -o, --output FILE       scored items, one a line (default: none; -: standard output)\n"
            "  --summary FILE          run summary JSON: n, accuracy, alpha, metrics (-: standard output)\n"
            "  --alpha auto|X          UMPIRE's weight of incoherence (default auto: |median U / median Q|\n"
            "                          on an unlabelled dev split)\n"
            "  --dev-fraction F        share of items for adaptive alpha (default 0.1, at least 1 item)\n"
            "  --seed S                dev split, calibration split and bootstrap seed (default 0)\n"
            "  --eps E                 semantic-volume jitter (default 1e-8)\n"
            "  --length-normalised     incoherence from length-normalised probabilities\n"
            "  --estimators LIST       comma-separated subset (default: all)\n"
            "  --bootstrap N           resamples for the intervals (default 1000; 0 = none)\n");
    cli_score_options_help(f);
    fprintf(f, "  -q, --quiet             no table (with an output on standard output, the table goes to\n"
               "                          standard error)\n"
               "Neither output may be the input, nor the other output.\n\n"
               "estimators:\n");
    for (size_t e = 0; e < ne; e++)
        fprintf(f, "  %-22s %s%s\n", reg[e].name, reg[e].formula,
                reg[e].needs & UMPIRE_NEEDS_GREEDY ? "  [needs greedy]"
                : reg[e].needs & UMPIRE_NEEDS_ENTROPIES ? "  [needs entropies]"
                : reg[e].needs & UMPIRE_NEEDS_EMBEDDING ? "  [needs embeddings]"
                : reg[e].needs & UMPIRE_NEEDS_MIDDLE ? "  [needs middle-layer states]"
                : reg[e].needs & UMPIRE_NEEDS_RAW ? "  [needs raw log-probs beside the sampler's]" : "");
    fprintf(f, "\nexample:\n"
               "  umpire score samples.jsonl -o scored.jsonl --summary summary.json --seed 1\n");
}

/* "umpire,incoherence" -> selected[e] = 1; every name must exist. */
static int select_estimators(const char *list, int *selected) {
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    if (!list) {
        for (size_t e = 0; e < ne; e++)
            selected[e] = 1;
        return 0;
    }
    char *copy = strdup(list), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        size_t e = 0;
        while (e < ne && strcmp(reg[e].name, tok))
            e++;
        if (e == ne) {
            fprintf(stderr, "umpire score: --estimators: unknown estimator '%s' (see umpire score --help)\n", tok);
            rc = -1;
        } else {
            selected[e] = 1;
        }
    }
    free(copy);
    return rc;
}

int cmd_score(int argc, char **argv) {
    const char *output = NULL, *summary = NULL, *estimators = NULL;
    struct umpire_score_params sp = umpire_score_default_params();
    struct umpire_metric_params mp = umpire_metric_default_params();
    int quiet = 0;
    enum { O_SUMMARY = 256, O_ALPHA, O_DEV, O_SEED, O_EPS, O_LN, O_EST, O_BOOT };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},       {"summary", required_argument, 0, O_SUMMARY},
        {"alpha", required_argument, 0, O_ALPHA},     {"dev-fraction", required_argument, 0, O_DEV},
        {"seed", required_argument, 0, O_SEED},       {"eps", required_argument, 0, O_EPS},
        {"length-normalised", no_argument, 0, O_LN},  {"estimators", required_argument, 0, O_EST},
        {"bootstrap", required_argument, 0, O_BOOT},  {"quiet", no_argument, 0, 'q'},
        CLI_SCORE_OPTIONS,                            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    uint64_t u, seed = 0;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        int shared = cli_score_option("score", c, optarg, &sp, &mp);
        if (shared < 0)
            return 2;
        if (shared == 0)
            continue;
        switch (c) {
        case 'o': output = optarg; break;
        case O_SUMMARY: summary = optarg; break;
        case O_ALPHA:
            if (strcmp(optarg, "auto") == 0)
                sp.alpha = -1;
            else if (cli_parse_double("score", "--alpha", optarg, &sp.alpha) || sp.alpha < 0) {
                fprintf(stderr, "umpire score: --alpha: needs 'auto' or a number >= 0\n");
                return 2;
            }
            break;
        case O_DEV:
            if (cli_parse_double("score", "--dev-fraction", optarg, &sp.dev_fraction))
                return 2;
            if (!(sp.dev_fraction > 0 && sp.dev_fraction <= 1)) {
                fprintf(stderr, "umpire score: --dev-fraction: needs a value in (0, 1]\n");
                return 2;
            }
            break;
        case O_SEED:
            if (cli_parse_u64("score", "--seed", optarg, &seed))
                return 2;
            break;
        case O_EPS:
            if (cli_parse_double("score", "--eps", optarg, &sp.eps))
                return 2;
            if (!(sp.eps > 0)) {
                fprintf(stderr, "umpire score: --eps: needs a value > 0\n");
                return 2;
            }
            break;
        case O_LN: sp.length_normalised = 1; break;
        case O_EST: estimators = optarg; break;
        case O_BOOT:
            if (cli_parse_u64("score", "--bootstrap", optarg, &u))
                return 2;
            mp.bootstrap = (size_t)u;
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    cli_score_options_seed(&sp, &mp, seed);
    if (optind + 1 != argc) {
        fprintf(stderr, "umpire score: %s\n", optind == argc ? "IN.jsonl is required" : "one input file only");
        usage(stderr);
        return 2;
    }
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    int *selected = calloc(ne, sizeof *selected);
    if (!selected || select_estimators(estimators, selected)) {
        free(selected);
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    struct umpire_sampleset set;
    struct umpire_scores scores;
    int rc = 1;
    if (output && summary && (umpire_same_file(output, summary) || !strcmp(output, summary))) {
        fprintf(stderr, "umpire score: -o and --summary are the same file (%s)\n", output);
        free(selected);
        return 2;
    }
    if ((output && umpire_output_check(output, argv[optind], err) != 0) ||
        (summary && umpire_output_check(summary, argv[optind], err) != 0) ||
        umpire_sampleset_read(argv[optind], &set, err) != 0) {
        fprintf(stderr, "umpire score: %s\n", err);
        free(selected);
        return 1;
    }
    cli_warn_read("score", &set);
    if (umpire_score_set(&set, &sp, &scores, err) != 0) {
        fprintf(stderr, "umpire score: %s\n", err);
        goto out_set;
    }
    size_t *undefined = calloc(ne, sizeof *undefined);
    for (size_t e = 0; undefined && e < ne; e++)
        undefined[e] = selected[e] ? cli_warn_undefined("score", &set, &scores, e) : 0;
    struct umpire_score_def def = umpire_score_def_of(&sp, &scores);
    if (output && umpire_scores_write_jsonl(output, &set, &scores, &def, selected, err) != 0) {
        fprintf(stderr, "umpire score: %s\n", err);
        goto out_scores;
    }

    /* labelled items: metrics per estimator */
    struct umpire_evaluation ev;
    const struct umpire_metric_report **rp = calloc(ne, sizeof *rp);
    const char **names = calloc(ne, sizeof *names);
    if (!rp || !names || !undefined ||
        umpire_evaluate(&set, &scores, selected, &mp, &ev, err) != 0) {
        fprintf(stderr, "umpire score: %s\n", rp && names && undefined ? err : "out of memory");
        free(rp);
        free(names);
        goto out_scores;
    }
    for (size_t e = 0; e < ne; e++) { /* an undefined estimator keeps its row: n shows how many */
        names[e] = reg[e].name;
        rp[e] = ev.reports[e].n || undefined[e] ? &ev.reports[e] : NULL;
    }
    size_t n_lab = ev.n_labelled, n_right = ev.n_right;
    double accuracy = ev.accuracy;
    if (summary &&
        umpire_summary_write(summary, &set, &scores, &def, &sp, &mp, selected, n_lab ? rp : NULL, accuracy, NULL, err) != 0) {
        fprintf(stderr, "umpire score: %s\n", err);
        goto out_metrics;
    }
    if (!quiet) {
        FILE *f = (output && !strcmp(output, "-")) || (summary && !strcmp(summary, "-")) ? stderr : stdout;
        fprintf(f, "%zu items, k = %zu, alpha = %.4g (%s, %zu dev items), %s log-probs\n", set.n, set.items[0].k,
                scores.alpha, sp.alpha < 0 ? "adaptive" : "given", scores.n_dev, umpire_probs_name(scores.probs));
        if (n_lab) {
            fprintf(f, "accuracy %.3f (%zu of %zu labelled answers right)\n\n", accuracy, n_right, n_lab);
            cli_print_table(f, names, rp, ne);
        } else {
            fprintf(f, "no labels (`correct`): scores only, no metrics\n");
        }
        if (output)
            fprintf(f, "scored items: %s\n", output);
        if (summary)
            fprintf(f, "summary: %s\n", summary);
    }
    rc = 0;
out_metrics:
    umpire_evaluation_free(&ev);
    free(rp);
    free(names);
out_scores:
    free(undefined);
    umpire_scores_free(&scores);
out_set:
    umpire_sampleset_free(&set);
    free(selected);
    return rc;
}
