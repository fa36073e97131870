/* cli.h - the subcommands of the `umpire` tool; one file each, one entry point each. */
#ifndef UMPIRE_CLI_H
#define UMPIRE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "umpire.h"

int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_sps(int argc, char **argv);
int cmd_optimise(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* table.c: estimators x metrics, one row per non-NULL report */
void cli_print_table(FILE *f, const char *const *names, const struct umpire_metric_report *const *r,
                     size_t n);
/* warn.c: on stderr, what a sample set's reader repaired (set->warning, counted); and, when
 * estimator e is undefined for items that have its inputs, how many and the first (returns
 * how many: its row stays in the table) */
void cli_warn_read(const char *cmd, const struct umpire_sampleset *set);
size_t cli_warn_undefined(const char *cmd, const struct umpire_sampleset *set,
                          const struct umpire_scores *s, size_t e);
/* eval.c: score, evaluate and print a run directory (summary.json, scored.jsonl, a table) */
/* group_by: also the per-group table for the dataset's field (data: NULL for the run's own). */
int cli_report_run(const char *dir, const struct umpire_score_params *sp, const struct umpire_metric_params *mp,
                   const char *group_by, const char *data);
/* temperature_run.c: `umpire calibrate temperature --from RUN_DIR ...` */
int cli_calibrate_temperature_from(int argc, char **argv);
/* The seed a run directory was made with (its config.json); 0, with a note on stderr, when it
 * records none. Returns 0. */
int cli_run_seed(const char *dir, uint64_t *seed);
/* parse.c: strict number parsing for options; print "umpire CMD: OPT: ..." on error */
int cli_parse_double(const char *cmd, const char *opt, const char *v, double *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *v, uint64_t *out);

/* score_options.c: the scoring options `score`, `eval` and `metrics` share: --probs and
 * --reference-splits (--seed each command parses itself). Apply option c; 0 done, -1 bad value
 * (reported), 1 not one of them. */
enum { CLI_O_PROBS = 200, CLI_O_REFSPLITS };
#define CLI_SCORE_OPTIONS                                                                                \
    {"probs", required_argument, 0, CLI_O_PROBS}, {"reference-splits", no_argument, 0, CLI_O_REFSPLITS}
int cli_score_option(const char *cmd, int c, const char *v, struct umpire_score_params *sp,
                     struct umpire_metric_params *mp);
/* After parsing: the seeds of the splits and the bootstrap from --seed S (the reference splits
 * keep the reference's 10). */
void cli_score_options_seed(struct umpire_score_params *sp, struct umpire_metric_params *mp, uint64_t seed);
/* Their help lines. */
void cli_score_options_help(FILE *f);
/* The score definition ask and serve compute with: the calibration's (cal loaded from cal_path)
 * when there is one, refusing an --alpha or log-probs (probs) that contradict it (reported as
 * "umpire CMD: ..."; -1), else alpha and the defaults. */
int cli_calibration_score_params(const char *cmd, const struct umpire_calibration *cal, const char *cal_path,
                                 double alpha, int alpha_given, enum umpire_probs probs,
                                 struct umpire_score_params *p);

/* run_options.c: the options of commands that run a model (ask, eval) */
enum {
    CLI_O_MMPROJ = 256, CLI_O_NGL, CLI_O_SYSTEM, CLI_O_INSTR, CLI_O_TEMP, CLI_O_TOPP, CLI_O_TOPK, CLI_O_GTEMP,
    CLI_O_STOP, CLI_O_SPROBS, CLI_O_RPROBS, CLI_O_MIDDLE, CLI_O_STYLE, CLI_O_PTRUE, CLI_O_VERBAL, CLI_O_ENTAIL,
    CLI_O_CTEMP, CLI_O_IDK, CLI_O_GRAD, CLI_O_GPOS, CLI_O_GNLL, CLI_O_PCACHE,
    CLI_O_FIRST_OWN /* a command's own long options start here */
};
#define CLI_RUN_SHORT "m:c:t:k:s:n:v"
#define CLI_RUN_OPTIONS                                                                                 \
    {"model", required_argument, 0, 'm'}, {"mmproj", required_argument, 0, CLI_O_MMPROJ},             \
        {"ctx-size", required_argument, 0, 'c'}, {"threads", required_argument, 0, 't'},               \
        {"n-gpu-layers", required_argument, 0, CLI_O_NGL}, {"system", required_argument, 0, CLI_O_SYSTEM}, \
        {"instruction", required_argument, 0, CLI_O_INSTR}, {"seed", required_argument, 0, 's'},        \
        {"max-tokens", required_argument, 0, 'n'}, {"temp", required_argument, 0, CLI_O_TEMP},         \
        {"top-p", required_argument, 0, CLI_O_TOPP}, {"top-k", required_argument, 0, CLI_O_TOPK},      \
        {"greedy-temp", required_argument, 0, CLI_O_GTEMP}, {"stop", required_argument, 0, CLI_O_STOP}, \
        {"sampler-probs", no_argument, 0, CLI_O_SPROBS}, {"raw-probs", no_argument, 0, CLI_O_RPROBS},  \
        {"middle-layer", no_argument, 0, CLI_O_MIDDLE}, {"prompt-style", required_argument, 0, CLI_O_STYLE}, \
        {"p-true", no_argument, 0, CLI_O_PTRUE},                                                        \
        {"verbalised", no_argument, 0, CLI_O_VERBAL}, {"entailment", no_argument, 0, CLI_O_ENTAIL},   \
        {"choice-temp", required_argument, 0, CLI_O_CTEMP}, {"idk-prompt", required_argument, 0, CLI_O_IDK}, \
        {"gradients", no_argument, 0, CLI_O_GRAD}, {"grad-position", required_argument, 0, CLI_O_GPOS},  \
        {"grad-nll", no_argument, 0, CLI_O_GNLL}, {"prefix-cache", required_argument, 0, CLI_O_PCACHE}, \
        {"verbose", no_argument, 0, 'v'}

struct cli_run_options {
    struct umpire_engine_params engine;
    struct umpire_sample_params sample;
    struct umpire_judge_params passes;
    int gradients; /* --gradients: SemGrad, ExGrad, HybridGrad of the low-temperature answer */
    struct umpire_grad_params grad;
    const char *system, *instruction;
    const char *idk;    /* --idk-prompt: NULL, "allow" or "encourage" */
    char *instruction_buf; /* the instruction with the --idk-prompt sentence (cli_run_instruction) */
    enum umpire_prompt_style style;
    double choice_temp;
    const char **stops;
};
/* The help lines of the shared options (ask and eval print them). */
void cli_run_options_help(FILE *f);
void cli_run_options_init(struct cli_run_options *o);
/* The instruction to ask with: --instruction (or the default) and --idk-prompt's sentence. NULL
 * when out of memory (reported). */
const char *cli_run_instruction(const char *cmd, struct cli_run_options *o);
/* Rewrite llama.cpp's -ngl as --n-gpu-layers before getopt sees it. */
void cli_run_options_spell(int argc, char **argv);
/* Apply option c; 0 done, -1 bad value (reported), 1 not a shared option. */
int cli_run_option(const char *cmd, int c, const char *value, struct cli_run_options *o);
void cli_run_options_free(struct cli_run_options *o);
/* Append to a growing array of strings; -1 when out of memory. */
int cli_push(const char ***v, size_t *n, const char *s);

#endif
