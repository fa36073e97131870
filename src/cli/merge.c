/* merge.c - `umpire merge`: combine the run directories of `umpire eval --shard i/n` into one
 * run, and report it as `umpire eval --from` does. */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "run/run.h"

static void usage(FILE *f) {
    fprintf(f, "usage: umpire merge OUT_DIR RUN_DIR... [--seed S] [--bootstrap N]\n\n"
               "Merge the shards of one evaluation (umpire eval --shard 1/n ... n/n, the same options\n"
               "otherwise) into OUT_DIR, and print its results (splits and bootstrap seeded with the\n"
               "runs' own seed unless --seed is given). Every shard must be there once, and OUT_DIR\n"
               "be none of them.\n\n"
               "example:\n"
               "  umpire merge runs/vqa runs/vqa-1 runs/vqa-2 runs/vqa-3\n");
}

int cmd_merge(int argc, char **argv) {
    struct umpire_metric_params mp = umpire_metric_default_params();
    uint64_t seed = 0, boot;
    int seed_given = 0;
    enum { O_SEED = 256, O_BOOT };
    static const struct option opts[] = {{"seed", required_argument, 0, O_SEED},
                                         {"bootstrap", required_argument, 0, O_BOOT},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_SEED && !cli_parse_u64("merge", "--seed", optarg, &seed)) {
            seed_given = 1;
            continue;
        }
        if (c == O_BOOT && !cli_parse_u64("merge", "--bootstrap", optarg, &boot)) {
            mp.bootstrap = (size_t)boot;
            continue;
        }
        usage(c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    if (argc - optind < 2) {
        usage(stderr);
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    if (umpire_eval_merge(argv[optind], (const char *const *)argv + optind + 1, (size_t)(argc - optind - 1), err) != 0) {
        fprintf(stderr, "umpire merge: %s\n", err);
        return 1;
    }
    if (!seed_given && cli_run_seed(argv[optind], &seed) != 0) /* the shards' own, as eval --from */
        return 1;
    struct umpire_score_params sp = umpire_score_default_params();
    cli_score_options_seed(&sp, &mp, seed);
    return cli_report_run(argv[optind], &sp, &mp, NULL, NULL);
}
