/* run.h - evaluation runs: a model over a dataset into a resumable run directory, shards merged,
 * a run's results. The CLI's layer, not libumpire's public API (as llama.cpp keeps its apps out
 * of llama.h): eval.c needs the engine; resume.c, merge.c and summary.c need no llama.cpp, so
 * `umpire eval --from` and `umpire merge` work without a model library.
 */
#ifndef UMPIRE_RUN_H
#define UMPIRE_RUN_H

#include <cjson/cJSON.h>

#include "umpire.h"


struct umpire_eval_progress {
    size_t done, total, resumed; /* answered in this session, in the run, found finished */
    size_t right;                /* of done */
    double elapsed_s;
    double auroc_umpire;         /* of this session's items so far (NaN when undefined or not
                                    recomputed for this item) */
};

/* Obtain with umpire_eval_default_params(): its sample, score and judge parameters are the
 * defaults, choice_temp 1; data_path and run_dir are to be set. */
struct umpire_eval_params {
    const char *data_path;  /* dataset JSONL (umpire_dataset_read) */
    const char *run_dir;    /* created if missing; resumed if it holds a run */
    struct umpire_sample_params sample;
    struct umpire_judge_params passes;
    enum umpire_judge judge;
    double choice_temp;     /* multiple-choice items: option probabilities' temperature (1) */
    const struct umpire_grad_model *gradients; /* the gradient scores of each text item's low-
                                                  temperature answer with this model; NULL: none */
    struct umpire_grad_params grad;
    const char *system, *instruction;
    enum umpire_prompt_style style;
    struct umpire_score_params score; /* the running figures of the progress display */
    int choice_logits;      /* multiple-choice items: keep the letter step's full-vocabulary
                               logits, RUN_DIR/choice_logits/<FNV-1a of the id>.f32 (n_vocab
                               float32, little-endian), for `calibrate temperature --from` */
    size_t limit;           /* the first `limit` items only; 0 = all */
    double image_noise;     /* > 0: Gaussian noise of this sigma on every image (umpire_query's
                               image_noise), seeded per item from the sampling seed and its id */
    size_t shard, shards;   /* this process runs items i with i % shards == shard; shards 0
                               or 1: all. RUN_DIRs of all shards merge with umpire_eval_merge */
    void (*progress)(const struct umpire_eval_progress *, void *);
    void *progress_ctx;
};

struct umpire_eval_params umpire_eval_default_params(void);

/* Answer, judge and score every dataset item not yet in RUN_DIR/items.jsonl, appending each
 * as soon as it is done (flushed, fsync'ed). RUN_DIR/config.json records the configuration; a
 * run directory with another one is refused. Returns 0, or a negative status with err naming
 * the dataset line. Open e with reuse_prefix 1 (the exact prefix cache), as umpire eval does, for
 * a resumed run to give an uninterrupted one's numbers on every backend. */
int umpire_eval_run(struct umpire_engine *e, const struct umpire_eval_params *p, char *err);

/* Refuse an input that is one of the files a run writes in RUN_DIR (items.jsonl, config.json,
 * scored.jsonl, summary.json, report.html, groups.json, lock; the same file by device and
 * inode): returns 0, or UMPIRE_EINVAL with err naming both. umpire_eval_run and
 * umpire_eval_merge check their inputs with it. */
int umpire_eval_check_input(const char *run_dir, const char *path, char *err);

/* Merge the run directories of shards 1/n..n/n (same configuration but the shard, each shard
 * once, no id twice) into out_dir as one run. Returns 0, or a negative status with err. */
int umpire_eval_merge(const char *out_dir, const char *const *runs, size_t n, char *err);

/* Which shard this process is (umpire eval --shard auto), from a Slurm array task's
 * SLURM_ARRAY_TASK_ID/_MIN/_MAX/_STEP/_COUNT or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX;
 * shards_given: --shards N (0: none; Kubernetes needs it). The mapping is in shard.c's opening
 * comment. lookup(name, ctx) returns a variable's value or NULL (getenv in the program).
 * Returns 0 with *shard < *shards (from 0) and, in from, which variables said so; or
 * UMPIRE_EINVAL with err naming the variables and their values. */
typedef const char *(*umpire_env_lookup)(const char *name, void *ctx);
int umpire_shard_from_env(umpire_env_lookup lookup, void *ctx, size_t shards_given, size_t *shard,
                          size_t *shards, char *from, size_t from_len, char *err);

/* Score RUN_DIR/items.jsonl (alpha fitted over the run), evaluate every estimator, and write
 * RUN_DIR/scored.jsonl and RUN_DIR/summary.json; the results stay in set / scores / ev for the
 * caller (free them), and the "I don't know" rates in *idk when the items record answerability
 * (idk->n_answerable + idk->n_unanswerable == 0 when they do not). */
int umpire_eval_summarise(const char *run_dir, const struct umpire_score_params *sp,
                          const struct umpire_metric_params *mp, struct umpire_sampleset *set,
                          struct umpire_scores *scores, struct umpire_evaluation *ev, struct umpire_idk *idk,
                          char *err);

/* The run's items grouped by a dataset field (DATA: the dataset, NULL for the one in
 * RUN_DIR/config.json): each group's accuracy and every estimator's metrics, also written to
 * RUN_DIR/groups.json. Groups come in the order of their first item in the run; items without
 * the field form the group "(none)". Returns 0, or a negative status with err. */
struct umpire_group_evaluation {
    char *group;
    size_t n;
    struct umpire_evaluation ev;
};
int umpire_eval_groups(const char *run_dir, const char *data, const char *field, const struct umpire_sampleset *set,
                       const struct umpire_scores *scores, const struct umpire_metric_params *mp,
                       struct umpire_group_evaluation **out, size_t *n_out, char *err);
void umpire_group_evaluations_free(struct umpire_group_evaluation *g, size_t n);

/* resume.c, for eval.c: the recorded configuration against cfg (a run directory holding
 * another configuration is refused); the ids of the finished items, each line checked against
 * the dataset and k (a last line without its newline is cut off first); RUN_DIR/lock held for
 * the process (returns the descriptor, or -1 with *rc set). */
int umpire_run_check_config(const char *run_dir, const char *items_path, cJSON *cfg, char *err);
struct umpire_idset;
int umpire_run_finished_items(const char *path, const struct umpire_dataset *data, size_t k,
                              struct umpire_idset *done, char *err);
int umpire_run_lock(const char *run_dir, char *err, int *rc);
/* FNV-1a of a file's bytes as 16 hex digits (out: 17 bytes): a resumed run must read the same
 * data. -1 when the file cannot be read to its end. */
int umpire_run_file_digest(const char *path, char out[17]);

#endif
