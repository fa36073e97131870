/* eval.c - `umpire eval`: run a model over a dataset, resumably, and report how well every
 * uncertainty score detects its wrong answers; `--from RUN_DIR` recomputes the results. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "run/run.h"
#include "io/atomic.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: umpire eval -m MODEL.gguf --data DATA.jsonl --out RUN_DIR [options]\n"
            "       umpire eval --from RUN_DIR\n\n"
            "For every question of DATA: the low-temperature answer, k samples from one prefill, the\n"
            "extra passes asked for, and whether the answer is right; each finished item is appended to\n"
            "RUN_DIR/items.jsonl at once. Interrupted? Run the same command again: finished items are\n"
            "kept (a run directory whose config.json is missing or damaged, or whose items.jsonl holds\n"
            "a line that is not a finished item of this run, or one twice, is refused before anything\n"
            "runs). At the end: UMPIRE's alpha fitted over the run, every estimator's AUROC, PRR, CPC,\n"
            "ECE, ... with 95%% intervals, in RUN_DIR/summary.json and a table.\n\n"
            "DATA lines: {\"id\", \"question\", \"image\"?, \"audio\"?, \"answers\": [...], \"choices\"?:\n"
            "{\"A\": ..}, \"answerable\"?: false}; media paths relative to DATA; every string\n"
            "well-formed UTF-8 without NUL characters.\n\n"
            "options:\n"
            "  --data FILE  --out DIR    the dataset and the run directory\n"
            "  --from DIR                recompute the results of a run, without the model\n"
            "  --judge J                 auto (ROUGE-L >= 0.8, UMPIRE's rule; letters for multiple choice;\n"
            "                            refusals for unanswerable questions), exact (VQA-normalised),\n"
            "                            rouge, vqa (VQA soft accuracy >= 0.5), llm (the model itself,\n"
            "                            shown the accepted answers), contains (by meaning: an accepted\n"
            "                            answer's words in a row in the answer: \"She lives in Oslo.\")\n"
            "  --limit N                 the first N questions only\n"
            "  --image-noise SIGMA       Gaussian noise N(0, SIGMA^2) on every image's pixels (on [0, 1]),\n"
            "                            drawn per item from --seed and its id, before it is encoded\n"
            "                            (Calibration-MLLM's Image + noise; run several SIGMAs for a curve)\n"
            "  --shard i/n               every n-th question from the i-th: run shards in several\n"
            "                            processes or machines, then `umpire merge OUT RUN_DIR...`\n"
            "  --shard auto [--shards N] i and n from a Slurm array task (SLURM_ARRAY_TASK_ID of the\n"
            "                            array MIN-MAX:STEP is shard (ID - MIN) / STEP + 1 of COUNT; with\n"
            "                            --shards N the task ids are the shards 0..N-1, so one task can be\n"
            "                            resubmitted alone) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX\n"
            "                            of --shards N, the Job's completions); scripts/slurm/ runs a dataset\n"
            "                            as an array job and merges it\n"
            "  --seed S                  sampling, the splits' and bootstrap seed (default 0; with --from:\n"
            "                            the run's own)\n"
            "  --bootstrap N             resamples for the intervals (default 1000)\n"
            "  --probs raw|sampler  --reference-splits   as in `umpire score`\n"
            "  --choice-logits           keep each multiple-choice item's full-vocabulary logits at its\n"
            "                            letter (RUN_DIR/choice_logits/), for `calibrate temperature --from`\n"
            "  --group-by FIELD          accuracy and every estimator's metrics per value of the\n"
            "                            dataset's FIELD too (e.g. bucket, category): a second table\n"
            "                            and RUN_DIR/groups.json (with --from: DATA, or the run's own)\n"
            "Multiple-choice items (\"choices\") are asked with their options, and their k samples are\n"
            "drawn from that prompt; the chosen letter's confidence is the choice_confidence estimator.\n\n");
    cli_run_options_help(f);
    fprintf(f,
            "\nexamples:\n"
            "  umpire eval -m model.gguf --data vqa.jsonl --out runs/vqa -k 5\n"
            "  umpire eval -m model.gguf --mmproj mmproj.gguf --data vqa.jsonl --out runs/vqa-noise -k 5 \\\n"
            "      --image-noise 0.2\n"
            "  umpire eval --from runs/vqa --group-by question_type\n"
            "  sbatch --array=0-7 --wrap 'umpire eval -m model.gguf --data vqa.jsonl -k 5 --shard auto \\\n"
            "      --out runs/vqa-$SLURM_ARRAY_TASK_ID'     # then: umpire merge runs/vqa runs/vqa-*\n");
}

struct progress_state {
    int tty;
    double last_print;
};

static void show_progress(const struct umpire_eval_progress *p, void *ctx) {
    struct progress_state *st = ctx;
    size_t left = p->total - p->resumed - p->done;
    double rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0, eta = rate > 0 ? (double)left / rate : 0;
    char auroc[32] = "";
    if (isfinite(p->auroc_umpire))
        snprintf(auroc, sizeof auroc, "  AUROC(umpire) %.3f", p->auroc_umpire);
    double acc = p->done ? (double)p->right / (double)p->done : 0;
    if (st->tty) {
        size_t width = 24, full = p->total ? width * (p->resumed + p->done) / p->total : width;
        char bar[32];
        for (size_t i = 0; i < width; i++)
            bar[i] = i < full ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %zu/%zu  %.2f it/s  ETA %dm%02ds  accuracy %.3f%s   ", bar, p->resumed + p->done,
                p->total, rate, (int)eta / 60, (int)eta % 60, acc, auroc);
        if (left == 0)
            fputc('\n', stderr);
    } else if (left == 0 || p->elapsed_s - st->last_print >= 10 || p->done == 1) {
        fprintf(stderr, "eval: %zu/%zu items, %.2f items/s, ETA %.0f s, accuracy %.3f%s\n", p->resumed + p->done,
                p->total, rate, eta, acc, auroc);
        st->last_print = p->elapsed_s;
    }
}

/* The per-group table: accuracy, UMPIRE's AUROC and the best estimator by AUROC. */
static int report_groups(const char *dir, const char *data, const char *field, const struct umpire_sampleset *set,
                         const struct umpire_scores *scores, const struct umpire_metric_params *mp) {
    char err[UMPIRE_ERR_LEN];
    struct umpire_group_evaluation *g = NULL;
    size_t n = 0;
    if (umpire_eval_groups(dir, data, field, set, scores, mp, &g, &n, err) != 0) {
        fprintf(stderr, "umpire eval: --group-by: %s\n", err);
        return 1;
    }
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    int iu = umpire_estimator_index("umpire");
    printf("\nby %-19s %5s %9s %14s   %s\n", field, "n", "accuracy", "AUROC(umpire)", "best AUROC");
    const struct umpire_metric_report **rp = calloc(ne ? ne : 1, sizeof *rp);
    size_t *order = malloc((ne ? ne : 1) * sizeof *order);
    for (size_t j = 0; rp && order && j < n; j++) {
        const struct umpire_evaluation *ev = &g[j].ev;
        double au = ev->reports && iu >= 0 && ev->reports[iu].n ? ev->reports[iu].value[UMPIRE_M_AUROC] : NAN;
        size_t best = ne, n_ranked = 0;
        for (size_t e = 0; e < ne; e++)
            rp[e] = ev->reports && ev->reports[e].n ? &ev->reports[e] : NULL;
        if (umpire_order_by_auroc(rp, ne, order, &n_ranked) == 0 && n_ranked)
            best = order[0];
        char acc[16] = "-", aus[16] = "-", bs[64] = "-";
        if (isfinite(ev->accuracy))
            snprintf(acc, sizeof acc, "%.3f", ev->accuracy);
        if (isfinite(au))
            snprintf(aus, sizeof aus, "%.3f", au);
        if (best < ne)
            snprintf(bs, sizeof bs, "%s %.3f", reg[best].name, ev->reports[best].value[UMPIRE_M_AUROC]);
        printf("   %-19.19s %5zu %9s %14s   %s\n", g[j].group, g[j].n, acc, aus, bs);
    }
    printf("('-': undefined, e.g. a group whose answers are all right; every metric: %s/groups.json)\n", dir);
    free((void *)rp);
    free(order);
    umpire_group_evaluations_free(g, n);
    return 0;
}

int cli_run_seed(const char *dir, uint64_t *seed) {
    char path[4200], err[UMPIRE_ERR_LEN];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = 0;
    cJSON *cfg = umpire_read_json(path, err, &rc);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cfg, "seed");
    *seed = 0;
    if (cJSON_IsNumber(s) && s->valuedouble >= 0 && s->valuedouble == floor(s->valuedouble))
        *seed = (uint64_t)s->valuedouble;
    else /* a run put together by hand: say which seed the splits and the bootstrap take */
        fprintf(stderr, "umpire: note: %s records no seed: the splits and the bootstrap take seed 0 (--seed S to "
                        "choose)\n", cfg ? path : err);
    cJSON_Delete(cfg);
    return 0;
}

int cli_report_run(const char *dir, const struct umpire_score_params *sp, const struct umpire_metric_params *mp,
                   const char *group_by, const char *data) {
    char err[UMPIRE_ERR_LEN];
    struct umpire_sampleset set;
    struct umpire_scores scores;
    struct umpire_evaluation ev;
    struct umpire_idk idk;
    if ((data && umpire_eval_check_input(dir, data, err) != 0) ||
        umpire_eval_summarise(dir, sp, mp, &set, &scores, &ev, &idk, err) != 0) {
        fprintf(stderr, "umpire: %s\n", err);
        return 1;
    }
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    const char **names = calloc(ne, sizeof *names);
    const struct umpire_metric_report **rp = calloc(ne, sizeof *rp);
    cli_warn_read("eval", &set);
    for (size_t e = 0; names && rp && e < ne; e++) { /* an undefined estimator keeps its row */
        names[e] = reg[e].name;
        size_t undefined = cli_warn_undefined("eval", &set, &scores, e);
        rp[e] = ev.reports[e].n || undefined ? &ev.reports[e] : NULL;
    }
    printf("%s: %zu items, accuracy %.3f (%zu right), alpha = %.4g, %s log-probs\n\n", dir, set.n, ev.accuracy,
           ev.n_right, scores.alpha, umpire_probs_name(scores.probs));
    if (idk.n_unanswerable > 0 || (idk.n_answerable > 0 && idk.over_refusal > 0)) {
        printf("I don't know: %zu answerable, accuracy %.3f, declined %.3f [%.3f, %.3f] (over-refusal)",
               idk.n_answerable, idk.accuracy_answerable, idk.over_refusal, idk.over_refusal_ci[0],
               idk.over_refusal_ci[1]);
        if (idk.n_unanswerable)
            printf("; %zu unanswerable, declined %.3f [%.3f, %.3f] (refusal recall), answered %.3f (over-answering)",
                   idk.n_unanswerable, idk.refusal_recall, idk.refusal_recall_ci[0], idk.refusal_recall_ci[1],
                   idk.over_answering);
        printf("\n(95 %% Clopper-Pearson intervals)\n\n");
    }
    if (names && rp)
        cli_print_table(stdout, names, rp, ne);
    printf("results: %s/summary.json, scores: %s/scored.jsonl, report: %s/report.html\n", dir, dir, dir);
    int rc = group_by ? report_groups(dir, data, group_by, &set, &scores, mp) : 0;
    free(names);
    free((void *)rp);
    umpire_evaluation_free(&ev);
    umpire_scores_free(&scores);
    umpire_sampleset_free(&set);
    return rc;
}

static const char *env_lookup(const char *name, void *ctx) {
    (void)ctx;
    return getenv(name);
}

int cmd_eval(int argc, char **argv) {
    struct cli_run_options ro;
    cli_run_options_init(&ro);
    const char *data = NULL, *out = NULL, *from = NULL, *group_by = NULL;
    enum umpire_judge judge = UMPIRE_JUDGE_AUTO;
    struct umpire_metric_params mp = umpire_metric_default_params();
    struct umpire_score_params sp = umpire_score_default_params();
    uint64_t limit = 0, boot;
    int seed_given = 0;
    unsigned long shard = 1, shards = 1;
    uint64_t shards_given = 0;
    int choice_logits = 0, shard_auto = 0;
    double image_noise = 0;
    enum {
        O_DATA = CLI_O_FIRST_OWN, O_OUT, O_FROM, O_JUDGE, O_LIMIT, O_BOOT, O_SHARD, O_GROUP, O_CLOGITS, O_SHARDS,
        O_NOISE
    };
    static const struct option opts[] = {
        CLI_RUN_OPTIONS,
        {"data", required_argument, 0, O_DATA},   {"out", required_argument, 0, O_OUT},
        {"from", required_argument, 0, O_FROM},   {"judge", required_argument, 0, O_JUDGE},
        {"limit", required_argument, 0, O_LIMIT}, {"bootstrap", required_argument, 0, O_BOOT},
        {"shard", required_argument, 0, O_SHARD}, {"group-by", required_argument, 0, O_GROUP},
        {"choice-logits", no_argument, 0, O_CLOGITS}, {"shards", required_argument, 0, O_SHARDS},
        {"image-noise", required_argument, 0, O_NOISE},
        CLI_SCORE_OPTIONS,                        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, bad = 0;
    cli_run_options_spell(argc, argv);
    while (!bad && (c = getopt_long(argc, argv, CLI_RUN_SHORT "h", opts, NULL)) != -1) {
        int scoring = cli_score_option("eval", c, optarg, &sp, &mp);
        if (scoring <= 0) {
            bad = scoring < 0;
            continue;
        }
        seed_given |= c == 's';
        int shared = cli_run_option("eval", c, optarg, &ro);
        if (shared <= 0) {
            bad = shared < 0;
            continue;
        }
        switch (c) {
        case O_DATA: data = optarg; break;
        case O_OUT: out = optarg; break;
        case O_FROM: from = optarg; break;
        case O_GROUP: group_by = optarg; break;
        case O_CLOGITS: choice_logits = 1; break;
        case O_JUDGE:
            if (umpire_judge_parse(optarg, &judge)) {
                fprintf(stderr, "umpire eval: --judge: '%s' is not auto, exact, rouge, vqa, llm or contains\n", optarg);
                bad = 1;
            }
            break;
        case O_LIMIT: bad = cli_parse_u64("eval", "--limit", optarg, &limit); break;
        case O_NOISE:
            if ((bad = cli_parse_double("eval", "--image-noise", optarg, &image_noise)) == 0 &&
                !(image_noise >= 0 && image_noise <= 10)) {
                fprintf(stderr, "umpire eval: --image-noise: expected a sigma in [0, 10], got '%s'\n", optarg);
                bad = 1;
            }
            break;
        case O_BOOT:
            bad = cli_parse_u64("eval", "--bootstrap", optarg, &boot);
            mp.bootstrap = (size_t)boot;
            break;
        case O_SHARD: {
            char tail;
            if (!strcmp(optarg, "auto"))
                shard_auto = 1;
            else if (sscanf(optarg, "%lu/%lu%c", &shard, &shards, &tail) != 2 || shard < 1 || shard > shards) {
                fprintf(stderr, "umpire eval: --shard: expected i/n with 1 <= i <= n, got '%s'\n", optarg);
                bad = 1;
            }
            break;
        }
        case O_SHARDS:
            if (!(bad = cli_parse_u64("eval", "--shards", optarg, &shards_given)) && shards_given < 1) {
                fprintf(stderr, "umpire eval: --shards: expected a number of shards >= 1, got '%s'\n", optarg);
                bad = 1;
            }
            break;
        case 'h': usage(stdout); cli_run_options_free(&ro); return 0;
        default: bad = 1;
        }
    }
    int rc = 2;
    char err[UMPIRE_ERR_LEN];
    if (!bad && optind != argc) {
        fprintf(stderr, "umpire eval: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && ro.engine.reuse_prefix == 2) { /* a resumed run must give an uninterrupted one's numbers */
        fprintf(stderr, "umpire eval: --prefix-cache tokens: eval keeps exact (or off), so that an item's numbers\n"
                        "do not depend on the item before it and a resumed run gives an uninterrupted one's\n");
        bad = 1;
    }
    if (!bad && !from && (!ro.engine.model_path || !data || !out)) {
        fprintf(stderr, "umpire eval: -m MODEL, --data DATA and --out RUN_DIR are required (or --from RUN_DIR)\n");
        bad = 1;
    }
    if (!bad && shards_given && !shard_auto) {
        fprintf(stderr, "umpire eval: --shards N goes with --shard auto (else --shard i/n)\n");
        bad = 1;
    }
    if (!bad && shard_auto && !from) {
        size_t i = 0, n = 0;
        char said[160];
        if (umpire_shard_from_env(env_lookup, NULL, (size_t)shards_given, &i, &n, said, sizeof said, err) != 0) {
            fprintf(stderr, "umpire eval: %s\n", err);
            rc = 1;
            goto done;
        }
        fprintf(stderr, "eval: shard %zu/%zu (%s)\n", i + 1, n, said);
        shard = i + 1;
        shards = n;
    }
    if (bad) {
        usage(stderr);
        goto done;
    }
    rc = 1;
    uint64_t seed = ro.sample.seed;
    if (from && !seed_given && cli_run_seed(from, &seed) != 0)
        goto done;
    cli_score_options_seed(&sp, &mp, seed);
    if (!from) {
        struct umpire_engine *e = NULL;
        struct progress_state st = {.tty = isatty(2), .last_print = -1e9};
        struct umpire_eval_params p = umpire_eval_default_params();
        p.data_path = data;
        p.run_dir = out;
        p.sample = ro.sample;
        p.passes = ro.passes;
        p.judge = judge;
        p.choice_temp = ro.choice_temp;
        p.system = ro.system;
        if (!(p.instruction = cli_run_instruction("eval", &ro)) && ro.idk)
            goto done;
        p.style = ro.style;
        p.choice_logits = choice_logits;
        p.score = sp;
        p.limit = (size_t)limit;
        p.image_noise = image_noise;
        p.shard = shard - 1;
        p.shards = shards;
        p.progress = show_progress;
        p.progress_ctx = &st;
        ro.engine.k_max = ro.sample.k;
        struct umpire_grad_model *g = NULL;
        p.grad = ro.grad;
        if ((ro.gradients && umpire_grad_model_load(ro.engine.model_path, ro.engine.n_threads, &g, err) != 0) ||
            umpire_engine_open(&ro.engine, &e, err) != 0 || (p.gradients = g, umpire_eval_run(e, &p, err)) != 0) {
            fprintf(stderr, "\numpire eval: %s\n", err);
            umpire_engine_close(e);
            umpire_grad_model_free(g);
            goto done;
        }
        umpire_engine_close(e);
        umpire_grad_model_free(g);
        from = out;
    }
    rc = cli_report_run(from, &sp, &mp, group_by, data);
done:
    cli_run_options_free(&ro);
    return rc;
}
