/* compare.c - `umpire compare`: two runs (two prompts, two models, before and after a change) on
 * the items both scored, or two estimators of one run, with paired bootstrap intervals of every
 * difference (umpire_metrics_compare). */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/idset.h"
#include "io/output.h"
#include "io/scores_json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: umpire compare A B [options]          two runs, on the items both scored\n"
            "       umpire compare RUN --estimators X,Y    two estimators of one run\n\n"
            "A, B and RUN are run directories (umpire eval --out; their scored.jsonl) or scored items\n"
            "(umpire score -o). Every metric of both sides on the items both have labelled and scored\n"
            "(taken in id order, so neither file's order matters),\n"
            "and B - A with a paired bootstrap interval: each resample draws the same items for both\n"
            "sides, so the interval is that of the difference, not two overlapping intervals. An\n"
            "interval that excludes 0 (at the printed precision) is marked '*'. Accuracy is compared\n"
            "too (two runs: each with its own answers and labels).\n\n"
            "  --estimators X,Y,...    two runs: the estimators compared (default: every one both have);\n"
            "                          one run: exactly two, B - A = Y - X\n"
            "  --metrics M,...         the metrics shown (default auroc,prr,aurac,cece,ece,brier; any of\n"
            "                          summary.json's keys; --json always has every one)\n"
            "  --labels-a F, --labels-b F  labels for A's / B's items, JSONL {\"id\", \"correct\"}\n"
            "                          (replacing those the items carry)\n"
            "  --seed S                the bootstrap's and cECE split's seed (default 0)\n"
            "  --bootstrap N           resamples (default 1000)\n"
            "  --ci LEVEL              interval level (default 0.95)\n"
            "  --json OUT              the whole comparison as JSON\n\n"
            "examples:\n"
            "  umpire compare runs/plain-prompt runs/idk-prompt\n"
            "  umpire compare runs/first --estimators semantic_volume,umpire\n"
            "  umpire compare runs/q4 runs/f16 --estimators umpire --json q4-vs-f16.json\n");
}

/* PATH, or PATH/scored.jsonl when PATH is a directory (a run) */
static void scored_path(const char *path, char *out, size_t cap) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, cap, "%s/scored.jsonl", path);
    else
        snprintf(out, cap, "%s", path);
}

static int load(const char *path, const char *labels, struct umpire_scored_file *f) {
    char file[4200], err[UMPIRE_ERR_LEN];
    scored_path(path, file, sizeof file);
    if (umpire_scored_read(file, f, err) != 0) {
        fprintf(stderr, "umpire compare: %s\n", err);
        return -1;
    }
    if (labels && umpire_scored_apply_labels(f, labels, err) < 0) {
        fprintf(stderr, "umpire compare: %s\n", err);
        umpire_scored_free(f);
        return -1;
    }
    return 0;
}

static long find_name(const struct umpire_scored_file *f, const char *name) {
    for (size_t e = 0; e < f->n_estimators; e++)
        if (strcmp(f->names[e], name) == 0)
            return (long)e;
    return -1;
}

/* split a comma-separated list into *out (pointers into s, which is modified); -1: empty name */
static int split_list(char *s, const char ***out, size_t *n) {
    for (char *tok = s, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        if (!*tok || cli_push(out, n, tok) != 0)
            return -1;
    }
    return 0;
}

/* rounds to 0 at the printed precision (so that it prints +0.000, never -0.000) */
static double rounded(double v) { return fabs(v) < 5e-4 ? 0.0 : v; }

/* the interval excludes 0 at the printed precision: differences in the 4th decimal (two runs
 * whose scores differ in their last bits) are not called differences */
static int excludes_zero(double lo, double hi) { return lo >= 5e-4 || hi <= -5e-4; }

static void print_cell(double v, int sign) {
    v = rounded(v);
    if (!isfinite(v))
        printf(" %8s", "-");
    else
        printf(sign ? " %+8.3f" : " %8.3f", v);
}

static void print_interval(double lo, double hi) {
    char ci[48] = "-";
    if (isfinite(lo) && isfinite(hi))
        snprintf(ci, sizeof ci, "[%+.3f, %+.3f]%s", rounded(lo), rounded(hi), excludes_zero(lo, hi) ? " *" : "");
    printf("  %s", ci);
}

struct pair {
    const char *id;
    size_t a, b;
};

static int by_id(const void *x, const void *y) {
    return strcmp(((const struct pair *)x)->id, ((const struct pair *)y)->id);
}

int cmd_compare(int argc, char **argv) {
    struct umpire_metric_params mp = umpire_metric_default_params();
    const char *labels[2] = {NULL, NULL}, *json = NULL;
    char *est_arg = NULL, *met_arg = NULL;
    uint64_t seed = 0, u;
    enum { O_EST = 256, O_MET, O_LA, O_LB, O_SEED, O_BOOT, O_CI, O_JSON };
    static const struct option opts[] = {{"estimators", required_argument, 0, O_EST},
                                         {"metrics", required_argument, 0, O_MET},
                                         {"labels-a", required_argument, 0, O_LA},
                                         {"labels-b", required_argument, 0, O_LB},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"bootstrap", required_argument, 0, O_BOOT},
                                         {"ci", required_argument, 0, O_CI},
                                         {"json", required_argument, 0, O_JSON},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_EST: est_arg = optarg; break;
        case O_MET: met_arg = optarg; break;
        case O_LA: labels[0] = optarg; break;
        case O_LB: labels[1] = optarg; break;
        case O_SEED:
            if (cli_parse_u64("compare", "--seed", optarg, &seed))
                return 2;
            break;
        case O_BOOT:
            if (cli_parse_u64("compare", "--bootstrap", optarg, &u))
                return 2;
            mp.bootstrap = (size_t)u;
            break;
        case O_CI:
            if (cli_parse_double("compare", "--ci", optarg, &mp.ci))
                return 2;
            if (!(mp.ci > 0 && mp.ci < 1)) {
                fprintf(stderr, "umpire compare: --ci: %s is not a level between 0 and 1 (e.g. 0.95)\n", optarg);
                return 2;
            }
            break;
        case O_JSON: json = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    cli_score_options_seed(NULL, &mp, seed);
    int n_inputs = argc - optind;
    if (n_inputs != 1 && n_inputs != 2) {
        usage(stderr);
        return 2;
    }
    const char *in_a = argv[optind], *in_b = argv[optind + (n_inputs == 2)];
    if (n_inputs == 1 && labels[1]) {
        fprintf(stderr, "umpire compare: --labels-b needs a second run (one run has one set of labels: --labels-a)\n");
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    if (json) {
        char file[4200];
        for (int s = 0; s < n_inputs; s++) {
            scored_path(argv[optind + s], file, sizeof file);
            if (umpire_output_check(json, file, err) != 0) {
                fprintf(stderr, "umpire compare: --json: %s\n", err);
                return 2;
            }
        }
    }

    /* the metrics shown */
    int shown[UMPIRE_N_METRICS] = {0};
    char *met_copy = strdup(met_arg ? met_arg : "auroc,prr,aurac,cece,ece,brier");
    const char **mlist = NULL, **elist = NULL;
    size_t n_m = 0, n_e = 0;
    char *est_copy = est_arg ? strdup(est_arg) : NULL;
    struct umpire_scored_file f[2];
    memset(f, 0, sizeof f);
    int rc = 2, loaded = 0;
    if (!met_copy || (est_arg && !est_copy)) {
        fprintf(stderr, "umpire compare: out of memory\n");
        rc = 1;
        goto out;
    }
    if (split_list(met_copy, &mlist, &n_m) != 0) {
        fprintf(stderr, "umpire compare: --metrics: an empty name in '%s'\n", met_arg);
        goto out;
    }
    for (size_t i = 0; i < n_m; i++) {
        int found = 0;
        for (int m = 0; m < UMPIRE_N_METRICS && !found; m++)
            if (strcmp(mlist[i], umpire_metric_name(m)) == 0)
                found = shown[m] = 1;
        if (!found) {
            fprintf(stderr, "umpire compare: --metrics: no metric '%s' (known:", mlist[i]);
            for (int m = 0; m < UMPIRE_N_METRICS; m++)
                fprintf(stderr, " %s", umpire_metric_name(m));
            fprintf(stderr, ")\n");
            goto out;
        }
    }
    if (est_copy && split_list(est_copy, &elist, &n_e) != 0) {
        fprintf(stderr, "umpire compare: --estimators: an empty name in '%s'\n", est_arg);
        goto out;
    }
    if (n_inputs == 1 && n_e != 2) {
        fprintf(stderr, "umpire compare: one run: --estimators X,Y names the two estimators to compare\n");
        goto out;
    }

    rc = 1;
    if (load(in_a, labels[0], &f[0]) != 0)
        goto out;
    loaded = 1;
    if (n_inputs == 2) {
        if (load(in_b, labels[1], &f[1]) != 0)
            goto out;
        loaded = 2;
    }
    const struct umpire_scored_file *fb = &f[n_inputs - 1];

    /* the pairs of estimators: (X, Y) in one run; each name both runs have in two */
    size_t n_pairs = 0;
    long *ea = calloc(f[0].n_estimators + 2, sizeof *ea), *eb = calloc(f[0].n_estimators + 2, sizeof *eb);
    if (!ea || !eb) {
        fprintf(stderr, "umpire compare: out of memory\n");
        free(ea);
        free(eb);
        goto out;
    }
    if (n_inputs == 1) {
        ea[0] = find_name(&f[0], elist[0]);
        eb[0] = find_name(&f[0], elist[1]);
        for (int s = 0; s < 2; s++)
            if ((s ? eb : ea)[0] < 0) {
                fprintf(stderr, "umpire compare: %s has no scores named '%s'\n", in_a, elist[s]);
                rc = 2;
            }
        if (rc == 2 || strcmp(elist[0], elist[1]) == 0) {
            if (rc != 2)
                fprintf(stderr, "umpire compare: --estimators: give two different estimators\n");
            rc = 2;
            free(ea);
            free(eb);
            goto out;
        }
        n_pairs = 1;
    } else {
        for (size_t e = 0; e < f[0].n_estimators; e++) {
            long j = find_name(&f[1], f[0].names[e]);
            int wanted = !elist;
            for (size_t i = 0; elist && i < n_e; i++)
                wanted |= strcmp(elist[i], f[0].names[e]) == 0;
            if (j >= 0 && wanted) {
                ea[n_pairs] = (long)e;
                eb[n_pairs++] = j;
            }
        }
        for (size_t i = 0; elist && i < n_e; i++)
            if (find_name(&f[0], elist[i]) < 0 || find_name(&f[1], elist[i]) < 0) {
                fprintf(stderr, "umpire compare: --estimators: '%s' is not scored in %s\n", elist[i],
                        find_name(&f[0], elist[i]) < 0 ? in_a : in_b);
                rc = 2;
            }
        if (rc == 2 || n_pairs == 0) {
            if (rc != 2)
                fprintf(stderr, "umpire compare: %s and %s have no estimator in common\n", in_a, in_b);
            free(ea);
            free(eb);
            goto out;
        }
    }

    /* the items both sides have labelled: (index in A, index in B) */
    size_t *ia = malloc((f[0].n ? f[0].n : 1) * sizeof *ia), *ib = malloc((f[0].n ? f[0].n : 1) * sizeof *ib);
    size_t n = 0, n_lab_a = 0, n_lab_b = 0;
    struct umpire_idset ids = {0};
    int ok = ia && ib;
    for (size_t i = 0; ok && n_inputs == 2 && i < f[1].n; i++)
        if (f[1].correct[i] >= 0) {
            n_lab_b++;
            ok = umpire_idset_add(&ids, f[1].ids[i], i, NULL) >= 0;
        }
    for (size_t i = 0; ok && i < f[0].n; i++) {
        if (f[0].correct[i] < 0)
            continue;
        n_lab_a++;
        size_t j = i;
        if (n_inputs == 2 && !umpire_idset_has(&ids, f[0].ids[i], &j))
            continue;
        ia[n] = i;
        ib[n++] = j;
    }
    umpire_idset_free(&ids);
    /* in id order: the resamples then do not depend on either file's order (swapping A and B
     * negates every difference exactly) */
    struct pair *byid = malloc((n ? n : 1) * sizeof *byid);
    ok = ok && byid;
    for (size_t i = 0; ok && i < n; i++)
        byid[i] = (struct pair){f[0].ids[ia[i]], ia[i], ib[i]};
    if (ok) {
        qsort(byid, n, sizeof *byid, by_id);
        for (size_t i = 0; i < n; i++) {
            ia[i] = byid[i].a;
            ib[i] = byid[i].b;
        }
    }
    free(byid);
    double *sa = malloc((n ? n : 1) * sizeof *sa), *sb = malloc((n ? n : 1) * sizeof *sb);
    int *wa = malloc((n ? n : 1) * sizeof *wa), *wb = malloc((n ? n : 1) * sizeof *wb);
    struct umpire_comparison acc, *cmp = calloc(n_pairs, sizeof *cmp);
    const char **names_a = calloc(n_pairs, sizeof *names_a), **names_b = calloc(n_pairs, sizeof *names_b);
    memset(&acc, 0, sizeof acc);
    size_t done = 0;
    ok = ok && sa && sb && wa && wb && cmp && names_a && names_b;
    if (!ok) {
        fprintf(stderr, "umpire compare: out of memory\n");
    } else if (n == 0) {
        fprintf(stderr, "umpire compare: %s\n",
                n_lab_a == 0   ? "A's items carry no labels (`correct`); pass --labels-a"
                : n_inputs == 2 && n_lab_b == 0 ? "B's items carry no labels (`correct`); pass --labels-b"
                                                : "A and B have no labelled item in common (their ids differ)");
    } else {
        for (size_t i = 0; i < n; i++) {
            wa[i] = !f[0].correct[ia[i]];
            wb[i] = !fb->correct[ib[i]];
            sa[i] = sb[i] = 0; /* constant: the accuracy alone */
        }
        rc = umpire_metrics_compare(sa, wa, sb, wb, n, &mp, &acc, err) == 0 ? 0 : 1;
        for (size_t p = 0; rc == 0 && p < n_pairs; p++) {
            for (size_t i = 0; i < n; i++) {
                sa[i] = f[0].scores[ia[i] * f[0].n_estimators + (size_t)ea[p]];
                sb[i] = fb->scores[ib[i] * fb->n_estimators + (size_t)eb[p]];
            }
            names_a[p] = f[0].names[ea[p]];
            names_b[p] = fb->names[eb[p]];
            if (umpire_metrics_compare(sa, wa, sb, wb, n, &mp, &cmp[p], err) != 0)
                rc = 1;
            else
                done++;
        }
        if (rc != 0)
            fprintf(stderr, "umpire compare: %s\n", err);
    }
    if (rc == 0) {
        if (n_inputs == 2)
            printf("A %s: %zu items (%zu labelled); B %s: %zu items (%zu labelled); %zu labelled in both\n", in_a,
                   f[0].n, n_lab_a, in_b, f[1].n, n_lab_b, n);
        else
            printf("%s: %zu labelled items; A = %s, B = %s\n", in_a, n, names_a[0], names_b[0]);
        for (int s = 0; n_inputs == 2 && !elist && s < 2; s++) { /* what is left out, and why */
            int any = 0;
            for (size_t e = 0; e < f[s].n_estimators; e++)
                if (find_name(&f[1 - s], f[s].names[e]) < 0)
                    printf("%s%s", any++ ? ", " : s ? "only in B (not compared): " : "only in A (not compared): ",
                           f[s].names[e]);
            if (any)
                printf("\n");
        }
        printf("accuracy: A %.3f, B %.3f, B - A %+.3f", acc.accuracy_a, acc.accuracy_b,
               rounded(acc.accuracy_b - acc.accuracy_a));
        if (isfinite(acc.accuracy_diff_lo))
            printf(" [%+.3f, %+.3f]%s", rounded(acc.accuracy_diff_lo), rounded(acc.accuracy_diff_hi),
                   excludes_zero(acc.accuracy_diff_lo, acc.accuracy_diff_hi) ? " *" : "");
        printf("\n\n");
        int width = 9;
        for (size_t p = 0; p < n_pairs; p++)
            if ((int)strlen(names_a[p]) > width)
                width = (int)strlen(names_a[p]);
        printf("%-*s %-14s %5s %8s %8s %8s  %.0f%% interval of B - A\n", width, "estimator",
               "metric", "n", "A", "B", "B - A", 100 * mp.ci);
        for (size_t p = 0; p < n_pairs; p++) {
            int first = 1;
            for (int m = 0; m < UMPIRE_N_METRICS; m++) {
                if (!shown[m])
                    continue;
                printf("%-*s %-14s %5zu", width, first ? names_a[p] : "", umpire_metric_name(m), cmp[p].n);
                print_cell(cmp[p].a.value[m], 0);
                print_cell(cmp[p].b.value[m], 0);
                print_cell(cmp[p].diff.value[m], 1);
                print_interval(cmp[p].diff.lo[m], cmp[p].diff.hi[m]);
                printf("\n");
                first = 0;
            }
        }
        printf("(paired bootstrap, %zu resamples; '*': the interval excludes 0 at this precision; higher is better\n"
               " for auroc, auprc, prr, aurac, tpr, cpc; lower for cece, ece, brier, nll; n: items both sides scored)\n",
               mp.bootstrap);
        if (json && umpire_comparison_write(json, in_a, n_inputs == 2 ? in_b : in_a, &acc, names_a, names_b, cmp,
                                            n_pairs, err) != 0) {
            fprintf(stderr, "umpire compare: %s\n", err);
            rc = 1;
        }
    }
    umpire_comparison_free(&acc);
    for (size_t p = 0; cmp && p < done; p++)
        umpire_comparison_free(&cmp[p]);
    free(cmp);
    free(names_a);
    free(names_b);
    free(sa);
    free(sb);
    free(wa);
    free(wb);
    free(ia);
    free(ib);
    free(ea);
    free(eb);
out:
    for (int s = 0; s < loaded; s++)
        umpire_scored_free(&f[s]);
    free(mlist);
    free(elist);
    free(met_copy);
    free(est_copy);
    return rc;
}
