/* umpire.h - the public C API of libumpire.
 *
 * umpire tells how likely an LLM's answer is wrong: it scores a set of sampled answers
 * (UMPIRE's incoherence-adjusted semantic volume and the standard baselines), calibrates the
 * score into an error probability, and measures how well scores detect wrong answers.
 *
 * Conventions: every exported name starts with umpire_; functions that can fail return 0 on
 * success and a negative umpire_status on error, with a message in the caller's `err` buffer
 * (UMPIRE_ERR_LEN bytes) when one is given. The library never exits and never prints.
 */
#ifndef UMPIRE_H
#define UMPIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UMPIRE_ERR_LEN 256

enum umpire_status {
    UMPIRE_OK = 0,
    UMPIRE_EINVAL = -1, /* bad argument or malformed input */
    UMPIRE_ENOMEM = -2, /* out of memory */
    UMPIRE_EIO = -3,    /* file could not be read or written */
    UMPIRE_ENUM = -4,   /* a numerical routine failed */
};

/* ------------------------------------------------------------------ version */

/* umpire's version ("0.1.0"); a static string. */
const char *umpire_version(void);
/* The llama.cpp release tag umpire was built against ("v0.5.0"); a static string. */
const char *umpire_llama_tag(void);
/* The version of the ggml linked in ("0.25.1"); a static string. */
const char *umpire_ggml_version(void);

/* ------------------------------------------------------------------ threads */

/* Set OpenBLAS's thread count for the whole process. umpire's matrices are at most k x k
 * (k <= 64): one thread is fastest, and in a process that also runs llama.cpp, BLAS threads
 * competing with ggml's made scoring 14x slower (bench/bench_generate_vs_score.c). The umpire
 * CLI sets 1; a program embedding libumpire decides for itself. */
void umpire_set_blas_threads(int n);

/* ------------------------------------------------------------------ sample sets
 * The one shape of data everything meets at (DESIGN.md): per question, k sampled answers with
 * their token log-probabilities, hidden-state embedding phi and token entropies. */

struct umpire_answer {
    char *text;
    int32_t *tokens;   /* the n_tokens token ids (EOS included), or NULL when not known */
    double *logprobs;  /* n_tokens log-probabilities of the answer's tokens, EOS included */
    size_t n_tokens;
    double *entropies; /* n_tokens full-vocabulary token entropies, or NULL */
    float *embedding;  /* phi before normalisation: dim values (the item's dim), or NULL */
};

struct umpire_item {
    char *id;
    struct umpire_answer *samples;
    size_t k;
    size_t dim;                  /* embedding width, the same for every sample; 0 for none */
    struct umpire_answer greedy; /* the low-temperature answer; greedy.logprobs NULL if absent */
    int correct;                 /* 1, 0, or -1 when unknown */
    size_t line;                 /* 1-based line of the source file, 0 if none */
    /* extra passes (umpire_engine_judge): which were measured, and their values */
    unsigned extras;             /* UMPIRE_HAS_* flags */
    double p_true;               /* P(True) of the greedy answer judged by the model itself */
    double verbalised;           /* the confidence in [0, 1] the model states for it */
    double *entailment;          /* k x k: P(answer i entails answer j), the model as judge */
};

enum umpire_extra { UMPIRE_HAS_P_TRUE = 1, UMPIRE_HAS_VERBALISED = 2, UMPIRE_HAS_ENTAILMENT = 4 };

struct umpire_sampleset {
    struct umpire_item *items;
    size_t n;
};

/* Read a JSONL sample-set file (one item a line; DESIGN.md). Returns 0 and fills *out (free
 * with umpire_sampleset_free), or UMPIRE_EINVAL / UMPIRE_EIO with "FILE:LINE: field: problem"
 * in err. Items need k >= 2 samples; NaN / Inf and ragged embeddings are refused. */
int umpire_sampleset_read(const char *path, struct umpire_sampleset *out, char *err);
void umpire_sampleset_free(struct umpire_sampleset *set);
/* Free what an item owns (not the item itself) and zero it. */
void umpire_item_free(struct umpire_item *item);

/* Evaluation datasets (DESIGN.md): one question a line with its accepted answers. */
struct umpire_dataset_item {
    char *id, *question;
    char **images, **audio; /* paths, made relative to the dataset file's folder */
    size_t n_images, n_audio;
    char **answers;         /* accepted answers (option letters for multiple choice) */
    size_t n_answers;
    char **choices;         /* option texts for A, B, ...; NULL when not multiple choice */
    size_t n_choices;
    int answerable;         /* 0: the right answer is to decline */
    char *group;            /* umpire_dataset_read_grouped's field as text, or NULL */
    size_t line;
};
struct umpire_dataset {
    struct umpire_dataset_item *items;
    size_t n;
};
/* Read a dataset JSONL; errors as "FILE:LINE: field: problem" (ids must be unique). */
int umpire_dataset_read(const char *path, struct umpire_dataset *out, char *err);
/* The same, keeping each item's FIELD (a string, number or true/false; absent: NULL) as its
 * group, e.g. "bucket" or "category". */
int umpire_dataset_read_grouped(const char *path, const char *field, struct umpire_dataset *out, char *err);
void umpire_dataset_free(struct umpire_dataset *d);

/* ------------------------------------------------------------------ UMPIRE
 * Higher = more uncertain. Lau et al., "Uncertainty Quantification for Multimodal LLMs with
 * Incoherence-adjusted Semantic Volume" (2026): V = U + alpha Q. */

#define UMPIRE_DEFAULT_EPS 1e-8

/* Semantic volume U = logdet(Phi Phi^T + eps I) / (2k) over the k L2-normalised rows of the
 * k x d embeddings (rows of zero norm are refused). U <= 0 up to log(1 + eps) / 2 terms.
 * Returns 0, or a negative status with err filled. */
int umpire_semantic_volume(const float *embeddings, size_t k, size_t d, double eps, double *u,
                           char *err);

/* Incoherence Q = mean_i (1 - p_i), p_i = exp(sum of answer i's log-probs); with
 * length_normalised, p_i = exp(mean log-prob) instead. */
double umpire_incoherence(const struct umpire_answer *samples, size_t k, int length_normalised);

/* alpha = |median(U) / median(Q)| over n values (falls back to the means when median(Q) is 0,
 * and to 0 when Q is 0 throughout). */
double umpire_alpha(const double *u, const double *q, size_t n);

/* A seeded random subset of round(fraction * n) item indices (at least 1, at most n), in
 * ascending order, written to idx (n slots). Returns how many. */
size_t umpire_dev_split(size_t n, double fraction, uint64_t seed, size_t *idx);

/* ------------------------------------------------------------------ estimators */

enum umpire_need {
    UMPIRE_NEEDS_EMBEDDING = 1,  /* samples' embedding */
    UMPIRE_NEEDS_GREEDY = 2,     /* the greedy answer's log-probs */
    UMPIRE_NEEDS_ENTROPIES = 4,  /* token entropies (greedy's, else the samples') */
    UMPIRE_NEEDS_P_TRUE = 8,     /* an extra pass: P(True) */
    UMPIRE_NEEDS_VERBALISED = 16, /* an extra pass: stated confidence */
    UMPIRE_NEEDS_ENTAILMENT = 32, /* extra passes: the model judges entailment between answers */
};

struct umpire_estimator {
    const char *name;    /* "umpire", "semantic_volume", ... as in scored items */
    const char *formula; /* one line, for tables and --help */
    unsigned needs;      /* umpire_need flags */
};

/* The registry: every estimator umpire computes, in report order; *n receives the count. */
const struct umpire_estimator *umpire_estimators(size_t *n);
/* The registry index of an estimator's name, or -1. */
int umpire_estimator_index(const char *name);

struct umpire_score_params {
    double eps;              /* semantic volume jitter (default 1e-8) */
    double alpha;            /* < 0: adaptive (default -1) */
    double dev_fraction;     /* adaptive alpha's unlabelled dev split (default 0.10) */
    uint64_t seed;           /* dev split seed (default 0) */
    int length_normalised;   /* incoherence from length-normalised probabilities (default 0) */
    double cluster_threshold; /* similarity above which two answers share a meaning (0.5) */
    double kle_t;            /* heat-kernel time of kernel language entropy (default 0.3) */
};
struct umpire_score_params umpire_score_default_params(void);

/* Scores of a sample set: scores[i * n_estimators + e] for item i and estimator e of the
 * registry; NaN where the item lacks what e needs. */
struct umpire_scores {
    size_t n, n_estimators;
    double *scores;
    double alpha;
    size_t *dev_idx; /* the items alpha was fitted on */
    size_t n_dev;
};

/* Score every item with every estimator. Returns 0, or a negative status with err naming the
 * item. Free with umpire_scores_free. */
int umpire_score_set(const struct umpire_sampleset *set, const struct umpire_score_params *p,
                     struct umpire_scores *out, char *err);
void umpire_scores_free(struct umpire_scores *s);

/* Score one item (k >= 2) with estimator index e of the registry; alpha is V's weight.
 * Returns the score, or NaN when the item lacks what the estimator needs. */
double umpire_score_item(const struct umpire_item *item, size_t e, double alpha,
                         const struct umpire_score_params *p);

/* ROUGE-L F-measure of two texts over lower-cased alphanumeric word tokens, in [0, 1]
 * (1 for two empty texts). */
double umpire_rouge_l(const char *a, const char *b);

/* ------------------------------------------------------------------ correctness
 * Was an answer right? (correctness.c) */

enum umpire_judge {
    UMPIRE_JUDGE_AUTO,  /* ROUGE-L for free-form answers, letters for multiple choice,
                           refusal for unanswerable questions */
    UMPIRE_JUDGE_EXACT, /* normalised exact match (VQA-style) */
    UMPIRE_JUDGE_ROUGE, /* ROUGE-L F >= 0.8 (UMPIRE's criterion) */
    UMPIRE_JUDGE_LLM,   /* the model itself, shown the accepted answers: P(yes) > 0.5
                           (umpire_engine_judge_correct) */
};
const char *umpire_judge_name(enum umpire_judge j);
int umpire_judge_parse(const char *name, enum umpire_judge *j);

/* VQA-style normalisation into out (cap bytes): lower case, punctuation dropped (not a decimal
 * point), articles dropped, number words zero..twenty as digits, single spaces. */
void umpire_normalise_answer(const char *in, char *out, size_t cap);
/* 1 when the answer declines to answer ("I don't know", "cannot be determined", ...). */
int umpire_is_refusal(const char *answer);
/* 1 when the answer is right: for an unanswerable question, exactly when it declines; else
 * never when it declines, and otherwise by the judge against any accepted answer. */
int umpire_judge_answer(const char *answer, const char *const *accepted, size_t n, int answerable,
                        enum umpire_judge judge);
/* 1 when the chosen option letter is one of the accepted ones (case-insensitive). */
int umpire_judge_letter(char chosen, const char *const *accepted, size_t n);

/* ------------------------------------------------------------------ metrics
 * Error detection: positive = wrong answer, score = uncertainty. NaN marks a metric that is
 * undefined on the data (one class only, constant scores): report it as such. */

enum umpire_metric {
    UMPIRE_M_AUROC, UMPIRE_M_AUPRC, UMPIRE_M_PRR, UMPIRE_M_AURAC, UMPIRE_M_TPR10, UMPIRE_M_TPR1,
    UMPIRE_M_CPC, UMPIRE_M_ECE, UMPIRE_M_ECE_MASS, UMPIRE_M_CAL_ECE, UMPIRE_M_BRIER, UMPIRE_M_NLL,
    UMPIRE_N_METRICS
};

/* "auroc", "auprc", "prr", ... (the keys of summary.json); a static string. */
const char *umpire_metric_name(int metric);

struct umpire_metric_params {
    size_t ece_bins;     /* 10 */
    size_t cpc_bins;     /* 50, as in UMPIRE */
    double cal_fraction; /* held-out share for calibrated ECE: 0.05 */
    uint64_t seed;       /* calibration split and bootstrap: 0 */
    size_t bootstrap;    /* resamples for the intervals: 1000; 0 for none */
    double ci;           /* interval level: 0.95 */
};
struct umpire_metric_params umpire_metric_default_params(void);

struct umpire_metric_report {
    double value[UMPIRE_N_METRICS];
    double lo[UMPIRE_N_METRICS], hi[UMPIRE_N_METRICS]; /* bootstrap percentile interval */
    size_t n, n_wrong;                                 /* answers with a finite score */
};

/* Every metric of scores against labels (wrong[i] != 0: answer i is wrong); answers whose
 * score is NaN are left out. Returns 0, or UMPIRE_ENOMEM. */
int umpire_metrics_compute(const double *score, const int *wrong, size_t n,
                           const struct umpire_metric_params *p, struct umpire_metric_report *out,
                           char *err);

/* The reports r[0..n) with a defined AUROC (NULL entries skipped), best first, ties in index
 * order: their indices in order[0..*n_ranked). Returns 0, or UMPIRE_ENOMEM. */
int umpire_order_by_auroc(const struct umpire_metric_report *const *r, size_t n, size_t *order, size_t *n_ranked);

/* Every (selected, or all when NULL) estimator of a scored set against the items' labels. */
struct umpire_evaluation {
    size_t n_labelled, n_right;
    double accuracy;                      /* NaN without labels */
    struct umpire_metric_report *reports; /* n_estimators; report.n == 0: not evaluated */
};
int umpire_evaluate(const struct umpire_sampleset *set, const struct umpire_scores *scores,
                    const int *selected, const struct umpire_metric_params *p,
                    struct umpire_evaluation *out, char *err);
/* The same over the items idx[0..n_idx) only. */
int umpire_evaluate_subset(const struct umpire_sampleset *set, const struct umpire_scores *scores,
                           const int *selected, const size_t *idx, size_t n_idx,
                           const struct umpire_metric_params *p, struct umpire_evaluation *out, char *err);
void umpire_evaluation_free(struct umpire_evaluation *ev);

/* The single metrics, on n scores and labels (NaN when undefined). p: probabilities. */
double umpire_auroc(const double *score, const int *wrong, size_t n);
double umpire_auprc(const double *score, const int *wrong, size_t n);
double umpire_tpr_at_fpr(const double *score, const int *wrong, size_t n, double fpr);
double umpire_cpc(const double *score, const int *wrong, size_t n, size_t bins);
double umpire_ece(const double *p, const int *wrong, size_t n, size_t bins, int equal_mass);

/* ------------------------------------------------------------------ calibration
 * A map from an uncertainty score to P(answer wrong), fitted on labelled scores, plus a
 * risk-controlled threshold: answer when score <= threshold, escalate otherwise. */

enum umpire_calibration_method {
    UMPIRE_CAL_MINMAX,    /* clip((s - min) / (max - min)) */
    UMPIRE_CAL_PLATT,     /* sigmoid(a s + b), maximum likelihood with Platt's targets */
    UMPIRE_CAL_ISOTONIC,  /* pool-adjacent-violators, linear between distinct scores */
    UMPIRE_CAL_HISTOGRAM, /* equal-mass bins, each bin's error rate */
};

struct umpire_calibration {
    enum umpire_calibration_method method;
    char estimator[64]; /* which score it maps (set by the caller; saved with the map) */
    size_t n;           /* labelled scores it was fitted on */
    double lo, hi;      /* score range seen (min-max uses it) */
    double a, b;        /* Platt */
    double *x, *y;      /* isotonic: distinct scores and fitted values; histogram: upper
                           bin edges and error rates */
    size_t n_points;
    /* risk control (umpire_risk_threshold); threshold NaN when not fitted, -inf when no
       threshold meets the target (escalate everything) */
    double risk, delta, threshold, risk_bound;
    size_t n_answered;
};

/* Fit a map on n scores and labels (wrong[i] != 0: answer i is wrong); NaN scores are left
 * out. bins: histogram bins (ignored otherwise). Returns 0, or a negative status; free the
 * map with umpire_calibration_free. */
int umpire_calibration_fit(const double *score, const int *wrong, size_t n,
                           enum umpire_calibration_method method, size_t bins,
                           struct umpire_calibration *out, char *err);
/* P(wrong) for a score, in [0, 1]; NaN for a NaN score. */
double umpire_calibration_apply(const struct umpire_calibration *c, double score);
void umpire_calibration_free(struct umpire_calibration *c);
const char *umpire_calibration_method_name(enum umpire_calibration_method m);
/* "minmax", "platt", "isotonic", "histogram" -> m; returns 0, or -1 for an unknown name. */
int umpire_calibration_method_parse(const char *name, enum umpire_calibration_method *m);

/* The largest set of least-uncertain answers whose error rate is at most `risk` with
 * confidence 1 - delta (selection with guaranteed risk: binary search, Clopper-Pearson bounds
 * at delta / #tests); fills c's risk, delta, threshold, risk_bound (the bound of the chosen
 * set, at the per-test level) and n_answered. Returns 0, or UMPIRE_EINVAL / UMPIRE_ENOMEM. */
int umpire_risk_threshold(const double *score, const int *wrong, size_t n, double risk,
                          double delta, struct umpire_calibration *c, char *err);
/* P(Binomial(m, p) <= e), and the one-sided upper 1 - delta Clopper-Pearson bound of e/m. */
double umpire_binomial_cdf(size_t e, size_t m, double p);
double umpire_clopper_pearson_upper(size_t e, size_t m, double delta);

/* Write / read a calibration (map and threshold) as JSON. Return 0, or a negative status with
 * "FILE: field: problem" in err; a read map is freed with umpire_calibration_free. */
int umpire_calibration_save(const char *path, const struct umpire_calibration *c, char *err);
int umpire_calibration_load(const char *path, struct umpire_calibration *c, char *err);

/* Temperature scaling of n x c logits (row-major) with true labels: the T minimising the mean
 * NLL of softmax(z / T). Returns 0, or UMPIRE_EINVAL when no finite positive T is optimal. */
int umpire_temperature_fit(const double *logits, const int *label, size_t n, size_t c, double *t,
                           char *err);
/* The largest probability of softmax(z / T) over c logits, and its index in *top (may be
 * NULL): the confidence of a multiple-choice answer at temperature T. */
double umpire_softmax_top(const double *z, size_t c, double t, size_t *top);
/* Mean NLL of softmax(z / T) at the true labels. */
double umpire_temperature_nll(const double *logits, const int *label, size_t n, size_t c, double t);

/* ------------------------------------------------------------------ engine
 * A GGUF model (and projector) on llama.cpp: k sampled answers and one low-temperature answer
 * from one prefill, decoded together, each with token log-probabilities, entropies and phi;
 * or answers produced elsewhere, teacher-forced (the black-box proxy). */

struct umpire_engine;

struct umpire_engine_params {
    const char *model_path;
    const char *mmproj_path; /* NULL: text only */
    int n_ctx;               /* context size shared by the prompt and all answers: 4096 */
    int n_batch;             /* prefill batch: 512 */
    int n_threads;           /* 0: all cores */
    int n_gpu_layers;        /* layers offloaded when a GPU backend is built in: -1 = all */
    int k_max;               /* the largest k asked for later (sequences reserved): 16 */
    int verbose;             /* let llama.cpp's log through to stderr */
};
struct umpire_engine_params umpire_engine_default_params(void);

/* Load the model (and projector). Returns 0 and *out, or a negative status with a message
 * naming the file (missing, not a GGUF, projector of another model...). */
int umpire_engine_open(const struct umpire_engine_params *p, struct umpire_engine **out, char *err);
void umpire_engine_close(struct umpire_engine *e);
/* Hidden-state width (the length of phi). */
int umpire_engine_n_embd(const struct umpire_engine *e);

#define UMPIRE_DEFAULT_INSTRUCTION "Answer this question in only a word or a phrase."

struct umpire_query {
    const char *question;
    const char *system;      /* or NULL */
    const char *instruction; /* appended to the question; NULL: UMPIRE_DEFAULT_INSTRUCTION,
                                "" for none */
    const char *const *images;
    size_t n_images;
    const char *const *audio;
    size_t n_audio;
    const char *answer_prefix; /* text after the template's assistant turn opens, e.g.
                                  "Answer: (" for multiple choice; NULL for none */
};

struct umpire_sample_params {
    int k;                /* sampled answers: 5 (1..64; 0 with with_greedy: only that one) */
    uint64_t seed;        /* answer i samples with a seed hashed from (seed, i); the
                             low-temperature one from (seed, k) */
    int max_tokens;       /* per answer: 32 */
    float temp;           /* 1.0 */
    float top_p;          /* 0.9 (1 = off) */
    int top_k;            /* 0 = off */
    float greedy_temp;    /* the reported answer's temperature: 0.1 as in UMPIRE's code;
                             0 = argmax */
    const char *const *stop; /* stop strings (the answer ends before them), or NULL */
    size_t n_stop;
    int sampler_probs;    /* 0: log-probs and entropies of the raw model distribution;
                             1: of the tempered, truncated distribution the sampler drew from */
    int with_greedy;      /* also decode the low-temperature answer (item->greedy): 1 */
};
struct umpire_sample_params umpire_sample_default_params(void);

/* Answer a query: fills item->samples (k), item->greedy, item->dim; item->id stays NULL,
 * correct -1. Free with umpire_item_free. Returns 0, or a negative status with err. */
int umpire_engine_ask(struct umpire_engine *e, const struct umpire_query *q,
                      const struct umpire_sample_params *p, struct umpire_item *item, char *err);

/* The black-box proxy: teacher-force n answers (token ids, EOS appended when missing)
 * through the model after the query's prompt, in one batch; fills item->samples (n) with
 * their log-probs (raw distribution), entropies and phi at the EOS step. */
int umpire_engine_force_tokens(struct umpire_engine *e, const struct umpire_query *q,
                               const int32_t *const *tokens, const size_t *n_tokens, size_t n,
                               struct umpire_item *item, char *err);
/* The same for answers given as text (tokenised without special tokens). */
int umpire_engine_force_texts(struct umpire_engine *e, const struct umpire_query *q,
                              const char *const *texts, size_t n, struct umpire_item *item,
                              char *err);

/* Extra passes in which the model judges its answers (each opt-in; see judge.c). */
struct umpire_judge_params {
    int p_true;     /* P(True) of the low-temperature answer (Kadavath et al. 2022) */
    int verbalised; /* the confidence the model states for it (Tian et al. 2023) */
    int entailment; /* P(A entails B) for every ordered pair of samples: k (k - 1) passes, packed
                       into batches; enables the *_nli estimators (Kuhn et al. 2023) */
};
/* Run the requested passes for an item umpire_engine_ask (or force) filled for the query;
 * sets item->extras and the values. Returns 0, or a negative status with err. */
int umpire_engine_judge(struct umpire_engine *e, const struct umpire_query *q,
                        const struct umpire_judge_params *p, struct umpire_item *item, char *err);

/* The model as a correctness judge: shown the question, the accepted answers and an answer,
 * P(yes) to "is the answer correct?" in *p_yes. Returns 0, or a negative status. */
int umpire_engine_judge_correct(struct umpire_engine *e, const struct umpire_query *q, const char *answer,
                                const char *const *accepted, size_t n_accepted, double *p_yes, char *err);

/* A number in [0, 1] from a model's reply: its first number, a percentage when followed by "%"
 * or an integer 2..100 ("85%", "85"), else a probability ("0.85", "about .9"); NaN when there is
 * none or it is neither ("1.5", "150", "-0.2", "1e-3"). */
double umpire_parse_confidence(const char *reply);

/* Multiple choice: options labelled A, B, ... after the question, the prompt ending with
 * "Answer: ("; each letter's full-vocabulary softmax probability at temperature temp. */
struct umpire_choice {
    size_t n;          /* options */
    size_t choice;     /* the most probable letter: 0 = A */
    double confidence; /* its probability */
    double p[26];
};
int umpire_engine_choose(struct umpire_engine *e, const struct umpire_query *q,
                         const char *const *options, size_t n_options, double temp,
                         struct umpire_choice *out, char *err);

/* ------------------------------------------------------------------ evaluation runs */

struct umpire_eval_progress {
    size_t done, total, resumed; /* answered in this session, in the run, found finished */
    size_t right;                /* of done */
    double elapsed_s;
    double auroc_umpire;         /* of this session's items so far (NaN when undefined or not
                                    recomputed for this item) */
};

struct umpire_eval_params {
    const char *data_path;  /* dataset JSONL (umpire_dataset_read) */
    const char *run_dir;    /* created if missing; resumed if it holds a run */
    struct umpire_sample_params sample;
    struct umpire_judge_params passes;
    enum umpire_judge judge;
    double choice_temp;     /* multiple-choice items: option probabilities' temperature (1) */
    const char *system, *instruction;
    size_t limit;           /* the first `limit` items only; 0 = all */
    size_t shard, shards;   /* this process runs items i with i % shards == shard; shards 0
                               or 1: all. RUN_DIRs of all shards merge with umpire_eval_merge */
    void (*progress)(const struct umpire_eval_progress *, void *);
    void *progress_ctx;
};

/* Answer, judge and score every dataset item not yet in RUN_DIR/items.jsonl, appending each
 * as soon as it is done (flushed, fsync'ed). RUN_DIR/config.json records the configuration; a
 * run directory with another one is refused. Returns 0, or a negative status with err naming
 * the dataset line. */
int umpire_eval_run(struct umpire_engine *e, const struct umpire_eval_params *p, char *err);

/* Merge the run directories of shards 1/n..n/n (same configuration but the shard, each shard
 * once, no id twice) into out_dir as one run. Returns 0, or a negative status with err. */
int umpire_eval_merge(const char *out_dir, const char *const *runs, size_t n, char *err);

/* Score RUN_DIR/items.jsonl (alpha fitted over the run), evaluate every estimator, and write
 * RUN_DIR/scored.jsonl and RUN_DIR/summary.json; the results stay in set / scores / ev for the
 * caller (free them). */
int umpire_eval_summarise(const char *run_dir, const struct umpire_score_params *sp,
                          const struct umpire_metric_params *mp, struct umpire_sampleset *set,
                          struct umpire_scores *scores, struct umpire_evaluation *ev, char *err);

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

/* ------------------------------------------------------------------ models */

struct umpire_model_info {
    char description[128]; /* llama.cpp's one-line description, e.g. "llama ?B F32" */
    char architecture[64]; /* general.architecture */
    uint64_t n_params;
    uint64_t size_bytes;
    int n_embd, n_layer, n_ctx_train, n_vocab;
    int has_chat_template;
    int vision, audio; /* what the projector reads, when one was given */
};

/* Load MODEL (and the projector MMPROJ, or NULL) and describe them. Returns 0, or a negative
 * umpire_status with a message naming the file in err. Nothing is kept loaded. */
int umpire_model_info(const char *model_path, const char *mmproj_path,
                      struct umpire_model_info *out, char *err);

/* Let llama.cpp's and libmtmd's own log lines through to stderr (off by default). */
void umpire_set_verbose(int on);

#ifdef __cplusplus
}
#endif

#endif /* UMPIRE_H */
