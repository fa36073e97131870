/* umpire.h - the public C API of libumpire.
 *
 * umpire tells how likely an LLM's answer is wrong: it scores a set of sampled answers
 * (UMPIRE's incoherence-adjusted semantic volume and the standard baselines), calibrates the
 * score into an error probability, and measures how well scores detect wrong answers.
 *
 * Failures. A function that can fail returns 0 (UMPIRE_OK) or a negative umpire_status, and
 * writes a message of at most UMPIRE_ERR_LEN bytes into the caller's `err` (it may be NULL),
 * naming the file, line and field where there is one ("data.jsonl:12: samples: ..."). On failure
 * its outputs hold nothing to free. Functions returning a value report "undefined" as NaN
 * (a metric on one class) and "out of memory" as NaN or NULL, as each says. The library never
 * exits, never aborts on bad input, and never prints (llama.cpp's own log: umpire_set_llama_log).
 *
 * Memory. What a function fills is freed with the matching *_free; strings it hands over with
 * umpire_free. Parameter structs come from their *_default_params() (a zeroed struct is not a
 * valid configuration), so that fields added later get their defaults.
 *
 * Files. Every file umpire writes goes to a temporary file in the same folder, renamed into
 * place when complete; for signals whose action is still the default (SIGINT, SIGTERM, ...),
 * umpire installs a handler that removes its temporary files and re-raises the signal (a host's
 * own handlers are left alone: with one of those, a temporary .umpire-* file may stay behind
 * after a signal).
 *
 * Threads. Everything but the engine and umpire_set_llama_log is reentrant: different threads
 * may score, evaluate, calibrate and read files at once, on different objects. An engine is
 * used by one thread at a time (a mutex around it, or one engine per thread; engines share
 * nothing but the process-wide llama.cpp backend, initialised on first open).
 *
 * Exports: every exported name starts with umpire_, and libumpire exports nothing else.
 */
#ifndef UMPIRE_H
#define UMPIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* This header's version; umpire_version() is the library's (they agree when the header and the
 * library come from one build). 0.x: any minor release may change the ABI (the soname carries
 * the minor: libumpire.so.0.2). */
#define UMPIRE_VERSION_MAJOR 0
#define UMPIRE_VERSION_MINOR 2
#define UMPIRE_VERSION_PATCH 0

/* What libumpire exports: these declarations and nothing else (compiled with hidden visibility;
 * llama.cpp and ggml inside it are not re-exported). */
#if defined(__GNUC__) || defined(__clang__)
#define UMPIRE_API __attribute__((visibility("default")))
#else
#define UMPIRE_API
#endif

#define UMPIRE_ERR_LEN 256

enum umpire_status {
    UMPIRE_OK = 0,
    UMPIRE_EINVAL = -1, /* bad argument or malformed input */
    UMPIRE_ENOMEM = -2, /* out of memory */
    UMPIRE_EIO = -3,    /* file could not be read or written */
    UMPIRE_ENUM = -4,   /* a numerical routine failed */
    UMPIRE_ECANCELED = -5, /* the caller's progress callback asked to stop */
    UMPIRE_EBUSY = -6,     /* not now: every slot is taken, or the context is (umpire_engine_begin) */
};

/* ------------------------------------------------------------------ version */

/* umpire's version ("0.1.0"); a static string. */
UMPIRE_API const char *umpire_version(void);
/* The llama.cpp release tag umpire was built against ("v0.5.0"); a static string. */
UMPIRE_API const char *umpire_llama_tag(void);
/* The version of the ggml linked in ("0.25.1"); a static string. */
UMPIRE_API const char *umpire_ggml_version(void);

/* ------------------------------------------------------------------ sample sets
 * The one shape of data everything meets at (DESIGN.md): per question, k sampled answers with
 * their token log-probabilities, hidden-state embedding phi and token entropies. */

/* Which distribution an answer's log-probabilities and entropies are of. */
enum umpire_probs {
    UMPIRE_PROBS_UNSPECIFIED, /* not recorded (sample sets made elsewhere) */
    UMPIRE_PROBS_RAW,         /* the model's own softmax at temperature 1 */
    UMPIRE_PROBS_SAMPLER,     /* the tempered, top-k / top-p truncated, renormalised
                                 distribution the token was drawn from (UMPIRE's reference:
                                 HF compute_transition_scores) */
};
/* "unspecified", "raw", "sampler"; a static string. */
UMPIRE_API const char *umpire_probs_name(enum umpire_probs p);
/* The name -> *p; 0, or -1 for an unknown name. */
UMPIRE_API int umpire_probs_parse(const char *name, enum umpire_probs *p);

/* Why an answer ended. */
enum umpire_finish {
    UMPIRE_FINISH_UNKNOWN,
    UMPIRE_FINISH_EOS,    /* an end-of-generation token, kept as its last token */
    UMPIRE_FINISH_STOP,   /* a stop string: none of its tokens is kept */
    UMPIRE_FINISH_LENGTH, /* max_tokens */
};
UMPIRE_API const char *umpire_finish_name(enum umpire_finish f); /* "", "eos", "stop", "length" */

struct umpire_answer {
    char *text;
    int32_t *tokens;   /* the n_tokens token ids (EOS included), or NULL when not known */
    double *logprobs;  /* n_tokens log-probabilities of the answer's tokens, EOS included, of
                          the item's `probs` distribution */
    size_t n_tokens;
    double *entropies; /* n_tokens token entropies of that distribution, or NULL */
    double *raw_logprobs, *raw_entropies; /* with probs = sampler: the model's raw ones too,
                                             or NULL */
    float *embedding;  /* phi before normalisation: dim values (the item's dim), or NULL */
    float *middle;     /* the middle layer's hidden state where the last token before EOS was
                          drawn (INSIDE's EigenScore): dim_middle values, or NULL */
    enum umpire_finish finish;
};

/* The multiple-choice answer of an item (umpire_engine_choose). */
struct umpire_choice {
    size_t n;          /* options */
    size_t choice;     /* the chosen letter: 0 = A; n when the model named none */
    double confidence; /* its full-vocabulary probability at `temp` (0 when none) */
    double temp;
    double p[26];      /* each option letter's full-vocabulary probability at temp */
    int32_t token[26]; /* the token each p was read off (the letter's likeliest spelling) */
    int step;          /* the decoding step the letter was read at (0 = the first token) */
};

struct umpire_item {
    char *id;
    struct umpire_answer *samples;
    size_t k;
    size_t dim;                  /* embedding width, the same for every sample; 0 for none */
    size_t dim_middle;           /* width of the samples' middle states; 0 for none */
    int middle_layer;            /* which layer those are the output of (0-based), or -1 */
    enum umpire_probs probs;     /* the distribution of every answer's logprobs/entropies */
    struct umpire_answer greedy; /* the low-temperature answer; greedy.logprobs NULL if absent */
    int correct;                 /* 1, 0, or -1 when unknown */
    size_t line;                 /* 1-based line of the source file, 0 if none */
    /* extra passes (umpire_engine_judge): which were measured, and their values */
    unsigned extras;             /* UMPIRE_HAS_* flags */
    double p_true;               /* P(True) of the greedy answer judged by the model itself */
    double verbalised;           /* the confidence in [0, 1] the model states for it */
    double *entailment;          /* k x k: P(answer i entails answer j), the model as judge */
    struct umpire_choice choice; /* multiple choice (UMPIRE_HAS_CHOICE) */
    /* the greedy answer's gradient scores (UMPIRE_HAS_GRADIENTS; umpire_engine_gradients) */
    double semgrad, exgrad, hybridgrad;
};

enum umpire_extra {
    UMPIRE_HAS_P_TRUE = 1, UMPIRE_HAS_VERBALISED = 2, UMPIRE_HAS_ENTAILMENT = 4, UMPIRE_HAS_CHOICE = 8,
    UMPIRE_HAS_GRADIENTS = 16
};

struct umpire_sampleset {
    struct umpire_item *items;
    size_t n;
    size_t n_warnings;            /* what was read but repaired, for the caller to show */
    char warning[UMPIRE_ERR_LEN]; /* the first: "FILE:LINE: field: what was done" */
};

/* Read a JSONL sample-set file (one item a line; DESIGN.md). Returns 0 and fills *out (free
 * with umpire_sampleset_free), or UMPIRE_EINVAL / UMPIRE_EIO / UMPIRE_ENOMEM with
 * "FILE:LINE: field: problem" in err. Items need k >= 2 samples; NaN / Inf, values beyond
 * float32's range and ragged embeddings are refused, and so are ids that are not well-formed
 * UTF-8 or hold a NUL. A text with ill-formed UTF-8 (an answer cut inside a character) gets
 * U+FFFD in its place, counted in n_warnings. */
UMPIRE_API int umpire_sampleset_read(const char *path, struct umpire_sampleset *out, char *err);
UMPIRE_API void umpire_sampleset_free(struct umpire_sampleset *set);
/* The writer of the same format: an item as one JSONL line (no newline; a new string, free it
 * with umpire_free; NULL when out of memory), and a whole sample set as a file that
 * umpire_sampleset_read and `umpire score` read back (written to a temporary file and renamed
 * into place; "-": standard output). Every number is written so that it reads back exactly;
 * the greedy answer's states are not written (no estimator reads them).
 * Returns 0, or a negative status with err. */
UMPIRE_API char *umpire_item_to_jsonl(const struct umpire_item *item);
UMPIRE_API int umpire_sampleset_write(const char *path, const struct umpire_sampleset *set, char *err);
/* Free memory umpire allocated and handed over (umpire_item_to_jsonl's string). */
UMPIRE_API void umpire_free(void *p);
/* Free what an item owns (not the item itself) and zero it. */
UMPIRE_API void umpire_item_free(struct umpire_item *item);

/* One earlier turn of a conversation: role "user" or "assistant" (as the chat template names
 * them) and its text. */
struct umpire_turn {
    const char *role;
    const char *content;
};

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
    char *description;      /* text about the item's media, asked before the question (the
                               Calibration-MLLM study: a description of the image, sentence by
                               sentence), or NULL */
    struct umpire_turn *history; /* the conversation before the question ("history": [{"role":
                                    "user", "content": ...}, {"role": "assistant", ...}, ...]),
                                    text, or NULL */
    size_t n_history;
    char *video;            /* a clip or a folder of frames (relative to the dataset file's
                               folder), asked as `frames` images in order after the images; NULL */
    int frames;             /* how many frames of the video: 1..64 (8 when the item does not say) */
};
struct umpire_dataset {
    struct umpire_dataset_item *items;
    size_t n;
};
/* Read a dataset JSONL; errors as "FILE:LINE: field: problem" (ids must be unique). */
UMPIRE_API int umpire_dataset_read(const char *path, struct umpire_dataset *out, char *err);
/* The same, keeping each item's FIELD (a string, number or true/false; absent: NULL) as its
 * group, e.g. "bucket" or "category". */
UMPIRE_API int umpire_dataset_read_grouped(const char *path, const char *field, struct umpire_dataset *out, char *err);
UMPIRE_API void umpire_dataset_free(struct umpire_dataset *d);

/* ------------------------------------------------------------------ UMPIRE
 * Higher = more uncertain. Lau et al., "Uncertainty Quantification for Multimodal LLMs with
 * Incoherence-adjusted Semantic Volume" (2026): V = U + alpha Q. */

#define UMPIRE_DEFAULT_EPS 1e-8

/* Semantic volume U = logdet(Phi Phi^T + eps I) / (2k) over the k L2-normalised rows of the
 * k x d embeddings (rows of zero norm are refused). U <= 0 up to log(1 + eps) / 2 terms.
 * Returns 0, or a negative status with err filled. */
UMPIRE_API int umpire_semantic_volume(const float *embeddings, size_t k, size_t d, double eps, double *u,
                           char *err);

/* Incoherence Q = mean_i (1 - p_i), p_i = exp(sum of answer i's log-probs); with
 * length_normalised, p_i = exp(mean log-prob) instead. */
UMPIRE_API double umpire_incoherence(const struct umpire_answer *samples, size_t k, int length_normalised);

/* alpha = |median(U) / median(Q)| over n values (falls back to the means when median(Q) is 0,
 * and to 0 when Q is 0 throughout). */
UMPIRE_API double umpire_alpha(const double *u, const double *q, size_t n);

/* How the random subsets are drawn (alpha's dev split, cECE's calibration split; split.c). */
enum umpire_split {
    UMPIRE_SPLIT_UMPIRE, /* splitmix64-seeded; round(f n) items, at least 1 */
    UMPIRE_SPLIT_NUMPY,  /* UMPIRE's reference code: numpy's legacy RandomState(seed).permutation(n),
                            its first int(f n) items (pandas' df.sample); may be empty */
};
UMPIRE_API const char *umpire_split_name(enum umpire_split mode);
/* A random subset of the item indices 0..n-1, ascending, into idx (n slots); *m receives its
 * size. Returns 0, or UMPIRE_ENOMEM / UMPIRE_EINVAL (numpy mode: seed and n must be < 2^32). */
UMPIRE_API int umpire_split_draw(size_t n, double fraction, uint64_t seed, enum umpire_split mode, size_t *idx, size_t *m,
                      char *err);
/* numpy.random.RandomState(seed).permutation(n) into perm (n slots). Returns 0, or
 * UMPIRE_ENOMEM, or UMPIRE_EINVAL for n >= 2^32. */
UMPIRE_API int umpire_numpy_permutation(size_t n, uint32_t seed, size_t *perm);

/* ------------------------------------------------------------------ estimators */

enum umpire_need {
    UMPIRE_NEEDS_EMBEDDING = 1,  /* samples' embedding */
    UMPIRE_NEEDS_GREEDY = 2,     /* the greedy answer's log-probs */
    UMPIRE_NEEDS_ENTROPIES = 4,  /* token entropies (greedy's, else the samples') */
    UMPIRE_NEEDS_P_TRUE = 8,     /* an extra pass: P(True) */
    UMPIRE_NEEDS_VERBALISED = 16, /* an extra pass: stated confidence */
    UMPIRE_NEEDS_ENTAILMENT = 32, /* extra passes: the model judges entailment between answers */
    UMPIRE_NEEDS_MIDDLE = 64,     /* samples' middle-layer states (ask/eval --middle-layer) */
    UMPIRE_NEEDS_CHOICE = 128,    /* a multiple-choice answer */
    UMPIRE_NEEDS_RAW = 256,       /* raw log-probs besides the sampler's (a `probs: sampler` item) */
    UMPIRE_NEEDS_GRADIENTS = 512, /* the greedy answer's gradient scores (ask/eval --gradients) */
};

struct umpire_estimator {
    const char *name;    /* "umpire", "semantic_volume", ... as in scored items */
    const char *formula; /* one line, for tables and --help */
    unsigned needs;      /* umpire_need flags */
};

/* The registry: every estimator umpire computes, in report order; *n receives the count. */
UMPIRE_API const struct umpire_estimator *umpire_estimators(size_t *n);
/* The registry index of an estimator's name, or -1. */
UMPIRE_API int umpire_estimator_index(const char *name);

struct umpire_score_params {
    double eps;               /* semantic volume jitter (default 1e-8) */
    double alpha;             /* < 0: adaptive (default -1) */
    double dev_fraction;      /* adaptive alpha's unlabelled dev split (default 0.10) */
    enum umpire_split split;  /* how the dev split is drawn (default UMPIRE_SPLIT_UMPIRE) */
    uint64_t seed;            /* dev split seed (default 0; the reference: 10, numpy split) */
    int length_normalised;    /* incoherence from length-normalised probabilities (default 0) */
    enum umpire_probs probs;  /* UNSPECIFIED (default): the log-probs the items hold; RAW: their
                                 raw ones (items of probs = sampler carry both) */
    double cluster_threshold; /* similarity above which two answers share a meaning (0.5) */
    double kle_t;             /* heat-kernel time of kernel language entropy (default 0.3) */
};
UMPIRE_API struct umpire_score_params umpire_score_default_params(void);

/* Scores of a sample set: scores[i * n_estimators + e] for item i and estimator e of the
 * registry; NaN where the item lacks what e needs. */
struct umpire_scores {
    size_t n, n_estimators;
    double *scores;
    enum umpire_probs probs; /* the log-probs the scores were computed from */
    double alpha;
    size_t *dev_idx; /* the items alpha was fitted on */
    size_t n_dev;
};

/* Score every item with every estimator. Returns 0, or a negative status with err naming the
 * item (items whose log-probs are of different distributions are refused). Free with
 * umpire_scores_free. */
UMPIRE_API int umpire_score_set(const struct umpire_sampleset *set, const struct umpire_score_params *p,
                     struct umpire_scores *out, char *err);
UMPIRE_API void umpire_scores_free(struct umpire_scores *s);

/* What a score means: the parameters it was computed with. Scored items and calibration files
 * record it, so that a calibration is only ever applied to the score it was fitted on. */
struct umpire_score_def {
    int known;                /* 0: not recorded (files of earlier versions) */
    double alpha;             /* V's weight */
    double eps;               /* semantic volume jitter */
    int length_normalised;    /* incoherence from length-normalised probabilities */
    enum umpire_probs probs;  /* the log-probs the estimators read */
    double cluster_threshold; /* graph estimators' clustering threshold */
    double kle_t;             /* kernel language entropy's heat-kernel time */
};
/* The definition of the scores s, computed with p. */
UMPIRE_API struct umpire_score_def umpire_score_def_of(const struct umpire_score_params *p, const struct umpire_scores *s);
/* Score params that compute scores of definition d (alpha fixed to d's). */
UMPIRE_API struct umpire_score_params umpire_score_def_params(const struct umpire_score_def *d);
/* 0 when estimator `name` means the same under a and b (alpha counts for "umpire" only);
 * else UMPIRE_EINVAL with the first difference ("alpha 0.31 vs 0.25") in err. */
UMPIRE_API int umpire_score_def_compare(const char *name, const struct umpire_score_def *a, const struct umpire_score_def *b,
                             char *err);

/* 1 when the item carries what estimator e reads, scored from log-probs of kind `probs` (an
 * estimator that applies may still be undefined on an item: a zero embedding has no direction).
 * Estimators of the samples' spread need at least two samples. */
UMPIRE_API int umpire_estimator_applies(const struct umpire_item *item, size_t e, enum umpire_probs probs);

/* Score one item (k >= 2) with estimator index e of the registry; alpha is V's weight.
 * Returns the score, or NaN when the item lacks what the estimator needs. */
UMPIRE_API double umpire_score_item(const struct umpire_item *item, size_t e, double alpha,
                         const struct umpire_score_params *p);

/* ROUGE-L F-measure of two texts as rouge_score computes it (no stemmer): tokens are the runs
 * of [a-z0-9] after lower-casing; 0 when either has no token. In [0, 1]. */
UMPIRE_API double umpire_rouge_l(const char *a, const char *b);

/* ------------------------------------------------------------------ correctness
 * Was an answer right? (correctness.c) */

enum umpire_judge {
    UMPIRE_JUDGE_AUTO,  /* ROUGE-L for free-form answers, letters for multiple choice,
                           refusal for unanswerable questions */
    UMPIRE_JUDGE_EXACT, /* normalised exact match (VQA-style) */
    UMPIRE_JUDGE_ROUGE, /* ROUGE-L F >= 0.8 (UMPIRE's criterion) */
    UMPIRE_JUDGE_LLM,   /* the model itself, shown the accepted answers: P(yes) > 0.5
                           (umpire_engine_judge_correct) */
    UMPIRE_JUDGE_VQA,   /* VQA's soft accuracy (umpire_vqa_accuracy) >= 0.5: at least two of
                           the annotators' answers (the accepted list, duplicates kept) match */
    UMPIRE_JUDGE_CONTAINS, /* by meaning, for answers that state a value in any wording
                              ("Oslo", "in Oslo", "She lives in Oslo."): an accepted answer's
                              words, normalised, appear in a row among the answer's */
};
UMPIRE_API const char *umpire_judge_name(enum umpire_judge j);
UMPIRE_API int umpire_judge_parse(const char *name, enum umpire_judge *j);

/* VQA-style normalisation into out (cap bytes): lower case, punctuation dropped (not a decimal
 * point), articles dropped, number words zero..twenty as digits, single spaces. */
UMPIRE_API void umpire_normalise_answer(const char *in, char *out, size_t cap);
/* 1 when the answer declines to answer ("I don't know", "cannot be determined", ...). */
UMPIRE_API int umpire_is_refusal(const char *answer);
/* 1 when the answer is right: for an unanswerable question, exactly when it declines; else
 * never when it declines, and otherwise by the judge against any accepted answer. */
UMPIRE_API int umpire_judge_answer(const char *answer, const char *const *accepted, size_t n, int answerable,
                        enum umpire_judge judge);
/* VQA's standard accuracy of an answer against the annotators' answers (duplicates count):
 * normalised as umpire_normalise_answer; mean over each annotator left out of
 * min(1, matches among the others / 3). NaN for n = 0. */
UMPIRE_API double umpire_vqa_accuracy(const char *answer, const char *const *accepted, size_t n);
/* 1 when the chosen option letter is one of the accepted ones (case-insensitive). */
UMPIRE_API int umpire_judge_letter(char chosen, const char *const *accepted, size_t n);

/* "I don't know" evaluation (Calibration-MLLM's IDK study): n judged answers, answerable[i]
 * (0: the question has no answer the model can know; the right answer is to decline),
 * declined[i] (the answer declines: umpire_is_refusal, or an "I don't know" option chosen) and
 * correct[i] (1, 0, -1 unknown). Rates are NaN when nothing is in their denominator. */
struct umpire_idk {
    size_t n_answerable, n_unanswerable;
    double accuracy_answerable; /* right among the labelled answerable ones (a decline is wrong) */
    double refusal_recall;      /* declined among the unanswerable ones */
    double over_answering;      /* answered among the unanswerable ones: "models prefer answering
                                   to admitting uncertainty" (1 - refusal_recall) */
    double over_refusal;        /* declined among the answerable ones */
    /* each rate's exact (Clopper-Pearson) two-sided 95 % interval [lo, hi] */
    double accuracy_answerable_ci[2], refusal_recall_ci[2], over_answering_ci[2], over_refusal_ci[2];
};
UMPIRE_API void umpire_idk_rates(const int *answerable, const int *declined, const int *correct, size_t n,
                                 struct umpire_idk *out);

/* ------------------------------------------------------------------ metrics
 * Error detection: positive = wrong answer, score = uncertainty. NaN marks a metric that is
 * undefined on the data (one class only, constant scores): report it as such. */

enum umpire_metric {
    UMPIRE_M_AUROC, UMPIRE_M_AUPRC, UMPIRE_M_PRR, UMPIRE_M_AURAC, UMPIRE_M_AURAC_EXPECTED,
    UMPIRE_M_TPR10, UMPIRE_M_TPR1, UMPIRE_M_TPR10_INTERP, UMPIRE_M_TPR1_INTERP, UMPIRE_M_CPC,
    UMPIRE_M_CECE, UMPIRE_M_ECE, UMPIRE_M_ECE_MASS, UMPIRE_M_BRIER, UMPIRE_M_NLL,
    UMPIRE_N_METRICS
};

/* "auroc", "auprc", "prr", ... (the keys of summary.json); a static string. */
UMPIRE_API const char *umpire_metric_name(int metric);

struct umpire_metric_params {
    size_t ece_bins;         /* 10 */
    size_t cpc_bins;         /* 50, as in UMPIRE's pipeline */
    size_t cece_bins;        /* 50, as UMPIRE's pipeline passes to get_calibrate_ece */
    double cal_fraction;     /* cECE's calibration split: 0.05 */
    enum umpire_split split; /* how that split is drawn: UMPIRE_SPLIT_UMPIRE */
    uint64_t split_seed;     /* its seed: 0 (the reference: 10, with UMPIRE_SPLIT_NUMPY) */
    uint64_t seed;           /* bootstrap: 0 */
    size_t bootstrap;        /* resamples for the intervals: 1000; 0 for none */
    double ci;               /* interval level: 0.95 */
};
UMPIRE_API struct umpire_metric_params umpire_metric_default_params(void);

/* How many metrics this library computes (UMPIRE_N_METRICS of its own header: a program built
 * against an older header reads only the metrics it knows). */
UMPIRE_API size_t umpire_metric_count(void);

/* One estimator's metrics: value[m] (m an umpire_metric below n_metrics) and its bootstrap
 * percentile interval [lo[m], hi[m]]; the arrays are the library's (umpire_metric_report_free,
 * or umpire_evaluation_free for the reports of an evaluation). */
struct umpire_metric_report {
    size_t n_metrics;        /* umpire_metric_count() */
    double *value, *lo, *hi; /* NULL when not computed */
    size_t n, n_wrong;       /* answers with a finite score */
};
UMPIRE_API void umpire_metric_report_free(struct umpire_metric_report *r);

/* Every metric of scores against labels (wrong[i] != 0: answer i is wrong); answers whose
 * score is NaN are left out. Fills *out (free with umpire_metric_report_free; on failure there
 * is nothing to free). Returns 0, or UMPIRE_ENOMEM. */
UMPIRE_API int umpire_metrics_compute(const double *score, const int *wrong, size_t n,
                           const struct umpire_metric_params *p, struct umpire_metric_report *out,
                           char *err);

/* Two scorings of the same answers, compared pairwise (umpire compare): two estimators of one
 * run (wrong_a == wrong_b), or two runs (two prompts, two models, before and after a change),
 * each with its own scores and labels for answer i. Every metric of both on the answers where
 * both scores are finite (out->n of them), and diff = b - a with the percentile interval of the
 * differences over bootstrap resamples that draw the same answers (and one cECE split) for both
 * sides: an interval that excludes 0 is a difference the data supports. a (b) is exactly
 * umpire_metrics_compute's report on score_a (score_b) with NaN wherever the other side is
 * NaN, intervals included (the cECE split is drawn over all n, as there). */
struct umpire_comparison {
    struct umpire_metric_report a, b, diff; /* diff.value[m] = b.value[m] - a.value[m] */
    size_t n;                               /* answers in the comparison */
    double accuracy_a, accuracy_b;          /* on those answers */
    double accuracy_diff_lo, accuracy_diff_hi; /* interval of accuracy_b - accuracy_a */
};
/* Returns 0 (free with umpire_comparison_free), or UMPIRE_ENOMEM with nothing to free. */
UMPIRE_API int umpire_metrics_compare(const double *score_a, const int *wrong_a, const double *score_b,
                                      const int *wrong_b, size_t n, const struct umpire_metric_params *p,
                                      struct umpire_comparison *out, char *err);
UMPIRE_API void umpire_comparison_free(struct umpire_comparison *c);

/* The reports r[0..n) with a defined AUROC (NULL entries skipped), best first, ties in index
 * order: their indices in order[0..*n_ranked). Returns 0, or UMPIRE_ENOMEM. */
UMPIRE_API int umpire_order_by_auroc(const struct umpire_metric_report *const *r, size_t n, size_t *order, size_t *n_ranked);

/* Every (selected, or all when NULL) estimator of a scored set against the items' labels. */
struct umpire_evaluation {
    size_t n_labelled, n_right;
    double accuracy;                      /* NaN without labels */
    struct umpire_metric_report *reports; /* n_estimators; report.n == 0: not evaluated */
};
UMPIRE_API int umpire_evaluate(const struct umpire_sampleset *set, const struct umpire_scores *scores,
                    const int *selected, const struct umpire_metric_params *p,
                    struct umpire_evaluation *out, char *err);
/* The same over the items idx[0..n_idx) only. */
UMPIRE_API int umpire_evaluate_subset(const struct umpire_sampleset *set, const struct umpire_scores *scores,
                           const int *selected, const size_t *idx, size_t n_idx,
                           const struct umpire_metric_params *p, struct umpire_evaluation *out, char *err);
UMPIRE_API void umpire_evaluation_free(struct umpire_evaluation *ev);

/* cECE's calibration split of n labelled answers (ascending indices into idx, n slots; its
 * size in *m), as umpire_metrics_compute draws it. Returns 0, or a negative status. */
UMPIRE_API int umpire_metrics_cece_split(size_t n, const struct umpire_metric_params *p, size_t *idx, size_t *m, char *err);
/* How many items score NaN with estimator e of the registry although they carry everything it
 * needs: the score is undefined there (UMPIRE and the semantic volume of an item with an
 * embedding of zero norm, which has no direction), written as null and left out of the
 * metrics. Callers show the count; *first (may be NULL) receives the first such item. */
UMPIRE_API size_t umpire_scores_undefined(const struct umpire_sampleset *set, const struct umpire_scores *s,
                               size_t e, size_t *first);

/* The single metrics, on n scores and labels (NaN when undefined). p: probabilities. */
UMPIRE_API double umpire_auroc(const double *score, const int *wrong, size_t n);
UMPIRE_API double umpire_auprc(const double *score, const int *wrong, size_t n);
/* The reference's AURAC (see metrics.c). */
UMPIRE_API double umpire_aurac(const double *score, const int *wrong, size_t n);
/* TPR at an FPR: the reference's nearest ROC point, or (interpolated) the interpolated curve. */
UMPIRE_API double umpire_tpr_at_fpr(const double *score, const int *wrong, size_t n, double fpr, int interpolated);
UMPIRE_API double umpire_cpc(const double *score, const int *wrong, size_t n, size_t bins);
/* ECE of P(wrong) values p in [0, 1] (NaN when one is outside), equal-width or equal-mass bins. */
UMPIRE_API double umpire_ece(const double *p, const int *wrong, size_t n, size_t bins, int equal_mass);
/* uncertainty_metrics' ECE of binary probabilities q = P(right) (top label: max(q, 1 - q),
 * bins by np.digitize on b / bins): what the reference's cECE measures. */
UMPIRE_API double umpire_ece_top_label(const double *q, const int *right, size_t n, size_t bins);

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
    struct umpire_score_def def; /* what that score was computed with (set by the caller) */
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
UMPIRE_API int umpire_calibration_fit(const double *score, const int *wrong, size_t n,
                           enum umpire_calibration_method method, size_t bins,
                           struct umpire_calibration *out, char *err);
/* P(wrong) for a score, in [0, 1]; NaN for a NaN score. */
UMPIRE_API double umpire_calibration_apply(const struct umpire_calibration *c, double score);
UMPIRE_API void umpire_calibration_free(struct umpire_calibration *c);
UMPIRE_API const char *umpire_calibration_method_name(enum umpire_calibration_method m);
/* "minmax", "platt", "isotonic", "histogram" -> m; returns 0, or -1 for an unknown name. */
UMPIRE_API int umpire_calibration_method_parse(const char *name, enum umpire_calibration_method *m);

/* The largest set of least-uncertain answers whose error rate is at most `risk` with
 * confidence 1 - delta (selection with guaranteed risk: binary search, Clopper-Pearson bounds
 * at delta / #tests); fills c's risk, delta, threshold, risk_bound (the bound of the chosen
 * set, at the per-test level) and n_answered. Returns 0, or UMPIRE_EINVAL / UMPIRE_ENOMEM. */
UMPIRE_API int umpire_risk_threshold(const double *score, const int *wrong, size_t n, double risk,
                          double delta, struct umpire_calibration *c, char *err);
/* P(Binomial(m, p) <= e), and the one-sided upper 1 - delta Clopper-Pearson bound of e/m. */
UMPIRE_API double umpire_binomial_cdf(size_t e, size_t m, double p);
UMPIRE_API double umpire_clopper_pearson_upper(size_t e, size_t m, double delta);

/* Write / read a calibration (map and threshold) as JSON. Return 0, or a negative status with
 * "FILE: field: problem" in err; a read map is freed with umpire_calibration_free. */
UMPIRE_API int umpire_calibration_save(const char *path, const struct umpire_calibration *c, char *err);
UMPIRE_API int umpire_calibration_load(const char *path, struct umpire_calibration *c, char *err);

/* Temperature scaling of n x c logits (row-major) with true labels: the T minimising the mean
 * NLL of softmax(z / T). Returns 0, or UMPIRE_EINVAL when no finite positive T is optimal. */
UMPIRE_API int umpire_temperature_fit(const double *logits, const int *label, size_t n, size_t c, double *t,
                           char *err);
/* The largest probability of softmax(z / T) over c logits, and its index in *top (may be
 * NULL): the confidence of a multiple-choice answer at temperature T. */
UMPIRE_API double umpire_softmax_top(const double *z, size_t c, double t, size_t *top);
/* Mean NLL of softmax(z / T) at the true labels. */
UMPIRE_API double umpire_temperature_nll(const double *logits, const int *label, size_t n, size_t c, double t);

/* Temperature scaling over the full vocabulary, as Calibration-MLLM's TS.py does it
 * (temperature.c): rows[i] the n_vocab logits of item i's letter step, label[i] the right
 * letter's token. fit: the T minimising the mean NLL of softmax(z / T) (grid: the reference's
 * T = 0.01 .. 9.99 instead). Returns 0, or UMPIRE_EINVAL when no finite T is optimal. */
UMPIRE_API int umpire_vocab_temperature_fit(const float *const *rows, const int32_t *label, size_t n, size_t n_vocab, int grid,
                                 double *t, char *err);
UMPIRE_API double umpire_vocab_temperature_nll(const float *const *rows, const int32_t *label, size_t n, size_t n_vocab, double t);
/* The most probable token's probability at T (and its id in *top, may be NULL). */
UMPIRE_API double umpire_vocab_top_probability(const float *z, size_t n_vocab, double t, size_t *top);
/* TS.py's ECE of confidences: 10 (bins) equal-width bins, min(int(conf bins), bins - 1);
 * right[i] != 0 when answer i is right. NaN for a confidence outside [0, 1]. */
UMPIRE_API double umpire_ece_confidence(const double *conf, const int *right, size_t n, size_t bins);

/* ------------------------------------------------------------------ engine
 * A GGUF model (and projector) on llama.cpp: k sampled answers and one low-temperature answer
 * from one prefill, decoded together, each with token log-probabilities, entropies and phi;
 * or answers produced elsewhere, teacher-forced (the black-box proxy). */

struct umpire_engine;

struct umpire_engine_params {
    const char *model_path;
    const char *mmproj_path; /* NULL: text only */
    int n_ctx;               /* context size shared by the prompt and all answers: 4096 */
    int n_batch;             /* the largest batch llama.cpp decodes at once: 512 */
    int prefill_block;       /* the prefill's plan with reuse_prefix 0 or 1. 0 (the default):
                                where every device is a CPU (and n_batch >= 128), the CPU's
                                batch-invariant plan: batches of n_batch that end where a message
                                ends, each of at least 64 tokens where the message has 64; ggml's
                                CPU kernels give a row the same numbers in any such batch, so the
                                exact cache restarts inside a message too (on any fourth token
                                that leaves its last 64, or 4, to decode); elsewhere 64. n
                                (1..n_batch): batches that start at multiples of n positions and
                                where a message ends, on any backend. With reuse_prefix 2, batches
                                of n_batch */
    int n_threads;           /* 0: all cores */
    int n_gpu_layers;        /* layers offloaded when a GPU backend is built in: -1 = all */
    int k_max;               /* the largest k asked for later (sequences reserved): 16 */
    int reuse_prefix;        /* keep the previous prompt's KV and prefill only what differs (a
                                shared system prompt, document or image): 1, exact: rows decoded
                                by the kernels a cold prefill's take, at the same positions and
                                cells, so the same numbers (the same question asked twice, a
                                resumed eval); a prompt sharing whole messages with the one before
                                (a system prompt, a conversation's earlier turns) decodes only the
                                rest, one sharing part of a message what differs and at most 67
                                tokens of the shared part again (the CPU's plan; up to
                                prefill_block with blocks). 2: token by token, in
                                batches of n_batch (only what differs is decoded; the numbers
                                equal a cold prefill's to rounding: kernels round a row by its
                                batch's size, ggml's CPU ones too, e.g. a batch of one token).
                                0: off */
    int n_slots;             /* queries that may decode together (umpire_engine_begin): 1. Each
                                slot has k_max + 1 sequences (at most 256 in all) and its own
                                prefix cache; they share the n_ctx cells */
};
UMPIRE_API struct umpire_engine_params umpire_engine_default_params(void);

/* Load the model (and projector). Returns 0 and *out, or a negative status with a message
 * naming the file (missing, not a GGUF, projector of another model...). */
UMPIRE_API int umpire_engine_open(const struct umpire_engine_params *p, struct umpire_engine **out, char *err);
UMPIRE_API void umpire_engine_close(struct umpire_engine *e);
/* Hidden-state width (the length of phi). */
UMPIRE_API int umpire_engine_n_embd(const struct umpire_engine *e);
/* A token's text (its bytes, not NUL-terminated; special tokens as nothing) into buf[0..cap):
 * its length, or a negative value when cap is too small or the id is outside the vocabulary.
 * Safe to call while another thread runs the engine (it reads the vocabulary only). */
UMPIRE_API int umpire_engine_token_piece(const struct umpire_engine *e, int32_t token, char *buf, size_t cap);

/* What the engine has done so far: prompt tokens (KV cells) asked for, and of them those the
 * prefix cache found in the KV already; answer tokens fed, and the rows they took (fewer when
 * answers agree). */
struct umpire_engine_stats {
    uint64_t prompt_tokens, reused_tokens;
    uint64_t answer_tokens, decoded_rows; /* answers' tokens fed, and the batch rows that held them */
    uint64_t prompt_redecoded; /* prompts whose last batch was decoded twice: the model's graph
                                  names no "result_norm", so its state came from llama.cpp's
                                  embeddings (every token of that batch an output); 0 for llama */
};
UMPIRE_API void umpire_engine_stats(const struct umpire_engine *e, struct umpire_engine_stats *out);

#define UMPIRE_DEFAULT_INSTRUCTION "Answer this question in only a word or a phrase."

/* Where the instruction goes in the user turn. */
enum umpire_prompt_style {
    UMPIRE_PROMPT_SUFFIX,    /* the question, a newline, the instruction (umpire's default) */
    UMPIRE_PROMPT_REFERENCE, /* the instruction, a space, the question: UMPIRE's reference
                                (pipeline/generate_and_compute_emb_hf.py) */
};
/* "suffix", "reference"; parse: 0, or -1 for an unknown name. */
UMPIRE_API const char *umpire_prompt_style_name(enum umpire_prompt_style s);
UMPIRE_API int umpire_prompt_style_parse(const char *name, enum umpire_prompt_style *s);

struct umpire_query {
    const char *question;
    const char *system;      /* or NULL */
    const char *instruction; /* NULL: UMPIRE_DEFAULT_INSTRUCTION, "" for none */
    enum umpire_prompt_style style; /* where it goes (default UMPIRE_PROMPT_SUFFIX) */
    const char *const *images;
    size_t n_images;
    const char *const *audio;
    size_t n_audio;
    const char *answer_prefix; /* text after the template's assistant turn opens, e.g.
                                  "Answer: (" for multiple choice; NULL for none */
    double image_noise;        /* > 0: N(0, image_noise^2) on every image's pixels (on [0, 1]),
                                  before it is encoded (Calibration-MLLM's Image + noise) */
    uint64_t image_noise_seed; /* the noise's draws: the same seed, the same noisy image */
    const struct umpire_turn *history; /* earlier turns of the conversation, oldest first, put
                                          through the chat template between the system turn and
                                          the question's user turn (text only); NULL: none */
    size_t n_history;
};

struct umpire_sample_params {
    int k;                /* sampled answers: 5 (1..64; 0 with with_greedy: only that one) */
    uint64_t seed;        /* answer i samples with a seed hashed from (seed, i); the
                             low-temperature one from (seed, k) */
    int max_tokens;       /* per answer: 256, as UMPIRE's reference (an answer that ends at EOS
                             costs nothing more) */
    float temp;           /* 1.0 */
    float top_p;          /* 0.9 (1 = off) */
    int top_k;            /* 0 = off */
    float greedy_temp;    /* the reported answer's temperature: 0.1 as in UMPIRE's code;
                             0 = argmax */
    const char *const *stop; /* stop strings (the answer ends before them), or NULL */
    size_t n_stop;
    int sampler_probs;    /* 1 (default): the answers' log-probs and entropies are those of the
                             tempered, truncated distribution the sampler drew from, as in
                             UMPIRE's reference (probs = sampler), the raw model's kept beside
                             them (raw_logprobs); 0: the raw model's only (probs = raw) */
    int middle;           /* also record each sample's middle-layer state (INSIDE's EigenScore): 0 */
    int dedup;            /* answers the same so far share one row of each decode: 1 (the same
                             numbers as decoding each alone in the batch; sample.c) */
    int with_greedy;      /* also decode the low-temperature answer (item->greedy): 1 */
};
UMPIRE_API struct umpire_sample_params umpire_sample_default_params(void);

/* Answer a query: fills item->samples (k), item->greedy, item->dim (and the middle states);
 * item->id stays NULL, correct -1. phi is the hidden state of the decode that drew the answer's
 * last kept token (sample.c). Free with umpire_item_free. Returns 0, or a negative status with
 * err. */
UMPIRE_API int umpire_engine_ask(struct umpire_engine *e, const struct umpire_query *q,
                      const struct umpire_sample_params *p, struct umpire_item *item, char *err);

/* The same, calling progress(ud, answer, len, ended) after each decoding step with the
 * low-temperature answer's text so far (the answer's bytes before trimming; k = 0 without
 * with_greedy: the first sample's) and whether it has ended; its text only grows, except that
 * a stop string, once complete, is cut off. A non-zero return stops the decoding: the call
 * returns UMPIRE_ECANCELED and fills nothing. For streaming servers (src/serve). */
typedef int (*umpire_progress_fn)(void *ud, const char *answer, size_t len, int ended);
UMPIRE_API int umpire_engine_ask_progress(struct umpire_engine *e, const struct umpire_query *q,
                                          const struct umpire_sample_params *p, umpire_progress_fn progress,
                                          void *ud, struct umpire_item *item, char *err);

/* Continuous batching: several queries' answers decoded together, each query joining between
 * two steps without waiting for the others (the engine opened with n_slots > 1). Each query is
 * prefilled in its own slot when it begins (reusing the prefix that slot's previous prompt
 * shares with it), then every umpire_engine_step decodes one token of every running query's
 * unfinished answers in one batch. A query's answers are those umpire_engine_ask gives for the
 * same query, parameters and seed (the tokens and scores do not depend on what else decodes).
 *
 * umpire_engine_begin prefills q and draws its answers' first tokens: it returns the query's
 * slot (>= 0), UMPIRE_EBUSY when every slot is taken or the context cannot hold this query
 * next to the running ones (try again after a step finishes one), or another negative status
 * with err. q is read during the call only; p (its stop strings), progress, ud and item must
 * stay valid until the query is reported finished. umpire_engine_ask and the calls that use
 * the whole KV (teacher forcing, judges) are refused while queries run. */
UMPIRE_API int umpire_engine_begin(struct umpire_engine *e, const struct umpire_query *q,
                                   const struct umpire_sample_params *p, umpire_progress_fn progress, void *ud,
                                   struct umpire_item *item, char *err);
/* A query that ended: its slot, and 0 (its item filled) or a negative status with err (the
 * item empty: UMPIRE_ECANCELED when its progress callback asked to stop). */
struct umpire_finished {
    int slot, rc;
    char err[UMPIRE_ERR_LEN];
};
/* One step of every running query; those that end are written to done[0..n) (cap >= n_slots
 * holds them all). Returns n (0 when nothing runs). A failed decode ends every running query
 * with its error. */
UMPIRE_API int umpire_engine_step(struct umpire_engine *e, struct umpire_finished *done, int cap);
/* Queries decoding now. */
UMPIRE_API int umpire_engine_running(const struct umpire_engine *e);

/* How answers given to the black-box proxy ended, and what to record (defaults: every answer
 * ended by itself, no middle states). */
struct umpire_force_params {
    const enum umpire_finish *finish; /* per answer, or NULL: every answer ended by itself (an
                                         end-of-generation token is appended when it lacks one);
                                         STOP / LENGTH: cut there, forced as given */
    int middle;                       /* record the middle-layer states too */
};
UMPIRE_API struct umpire_force_params umpire_force_default_params(void);

/* The black-box proxy: teacher-force n answers (token ids) through the model after the query's
 * prompt, in one batch; fills item->samples (n) with their log-probs and entropies of the raw
 * distribution (probs = raw) and phi as sampling takes it (the output that drew the last
 * token). fp may be NULL. */
UMPIRE_API int umpire_engine_force_tokens(struct umpire_engine *e, const struct umpire_query *q,
                               const int32_t *const *tokens, const size_t *n_tokens, size_t n,
                               const struct umpire_force_params *fp, struct umpire_item *item, char *err);
/* The same for answers given as text (tokenised without special tokens). */
UMPIRE_API int umpire_engine_force_texts(struct umpire_engine *e, const struct umpire_query *q,
                              const char *const *texts, size_t n, const struct umpire_force_params *fp,
                              struct umpire_item *item, char *err);

/* Extra passes in which the model judges its answers (each opt-in; see judge.c). */
struct umpire_judge_params {
    int p_true;     /* P(True) of the low-temperature answer (Kadavath et al. 2022) */
    int verbalised; /* the confidence the model states for it (Tian et al. 2023) */
    int entailment; /* P(A entails B) for every ordered pair of samples: k (k - 1) passes, packed
                       into batches; enables the *_nli estimators (Kuhn et al. 2023) */
};
/* None of the passes. */
UMPIRE_API struct umpire_judge_params umpire_judge_default_params(void);
/* Run the requested passes for an item umpire_engine_ask (or force) filled for the query;
 * sets item->extras and the values. Returns 0, or a negative status with err. */
UMPIRE_API int umpire_engine_judge(struct umpire_engine *e, const struct umpire_query *q,
                        const struct umpire_judge_params *p, struct umpire_item *item, char *err);

/* The model as a correctness judge: shown the question, the accepted answers and an answer,
 * P(yes) to "is the answer correct?" in *p_yes. Returns 0, or a negative status. */
UMPIRE_API int umpire_engine_judge_correct(struct umpire_engine *e, const struct umpire_query *q, const char *answer,
                                const char *const *accepted, size_t n_accepted, double *p_yes, char *err);

/* A number in [0, 1] from a model's reply: its first number, a percentage when followed by "%"
 * or an integer 2..100 ("85%", "85"), else a probability ("0.85", "about .9"); NaN when there is
 * none or it is neither ("1.5", "150", "-0.2", "1e-3"). */
UMPIRE_API double umpire_parse_confidence(const char *reply);

/* Multiple choice, as Calibration-MLLM's TS.py reads it: the question with its options on lines
 * "A. ...", "B. ...", then UMPIRE_CHOICE_INSTRUCTION; the assistant turn opens with
 * q->answer_prefix, or UMPIRE_CHOICE_PREFIX when that is NULL (q->instruction is not used); decoded greedily (at most UMPIRE_CHOICE_MAX_STEPS tokens) until the most
 * probable next token is an option letter; that token's full-vocabulary softmax probability at
 * temperature temp is the confidence (none found: choice = n, confidence 0). logits (n_vocab
 * floats, or NULL) receives that step's raw logits, for temperature scaling. */
#define UMPIRE_CHOICE_INSTRUCTION "Please provide the option letter directly."
#define UMPIRE_CHOICE_PREFIX "Answer: ("
#define UMPIRE_CHOICE_MAX_STEPS 20
UMPIRE_API int umpire_engine_choose(struct umpire_engine *e, const struct umpire_query *q,
                         const char *const *options, size_t n_options, double temp,
                         struct umpire_choice *out, float *logits, char *err);
/* The question with its options and UMPIRE_CHOICE_INSTRUCTION, as umpire_engine_choose asks it
 * (the samples of a multiple-choice item are drawn from it too); a new string, or NULL. */
UMPIRE_API char *umpire_choice_question(const char *question, const char *const *options, size_t n_options);

/* ------------------------------------------------------------------ gradient scores */

/* SemGrad, ExGrad and HybridGrad of one answer (the SemGrad paper, ICML 2026): the loss
 * L = -(1/T) sum_t H_t log p(y_t) over the answer's T tokens (H_t the full-vocabulary entropy,
 * a constant); SemGrad = mean |dL/dh| over the later half of the layers' outputs at one prompt
 * token; ExGrad = mean |dL/dW_out|; HybridGrad = a ExGrad + (1 - a) SemGrad, a = exp(-mean H_t).
 * Higher = more uncertain. Computed by umpire's own ggml graph of the model (llama, mistral,
 * qwen2, qwen3; text prompts, and images and audio through a llava-style projector), its weights
 * mapped read-only from the GGUF (F32, F16 or quantised; not BF16). */
struct umpire_grad_model;
/* Load a model's weights for the gradient graph. Returns 0 and *out (free with
 * umpire_grad_model_free), or a negative status with err naming the file and what is not
 * supported (another architecture, BF16 weights, ...). */
UMPIRE_API int umpire_grad_model_load(const char *path, int n_threads, struct umpire_grad_model **out, char *err);
UMPIRE_API void umpire_grad_model_free(struct umpire_grad_model *m);
/* Its number of layers, and the layer outputs SemGrad reads by default (the reference's later
 * half: L - floor(L/2) - 1 .. L - 2; both -1 for a model of one layer). */
UMPIRE_API int umpire_grad_model_n_layer(const struct umpire_grad_model *m);
UMPIRE_API void umpire_grad_model_layers(const struct umpire_grad_model *m, int *first, int *last);

struct umpire_grad_params {
    int position;    /* the prompt token SemGrad reads, counted from the prompt's end (-1: its
                        last token; umpire_engine_gradients counts from before a query's
                        answer_prefix); 0 (default): the chat template's
                        (umpire_grad_template_position) */
    int weighted;    /* 1 (default): the entropy-weighted NLL; 0: the plain NLL */
    int layer_first; /* layer outputs layer_first..layer_last (0-based); -1 and -1 (default): */
    int layer_last;  /* the reference's later half, layers L - floor(L/2) - 1 .. L - 2 */
};
UMPIRE_API struct umpire_grad_params umpire_grad_default_params(void);
/* The reference's prompt position for a chat template, counted from the prompt's end: the token
 * that opens the assistant's turn (llama 3 "<|start_header_id|>" -4, ChatML "<|im_start|>" -3,
 * mistral "[/INST]" -2, phi-3 "<|assistant|>" -2); -1 (the last token) for any other or NULL. */
UMPIRE_API int umpire_grad_template_position(const char *chat_template);

struct umpire_grad_scores {
    double semgrad, exgrad, hybridgrad;
    double loss, mean_entropy;
};
/* The scores of the answer tokens[n_prompt..n) after the prompt tokens[0..n_prompt). Returns
 * 0, or a negative status with err (an empty prompt or answer, a position outside the prompt, a
 * token outside the vocabulary, out of memory). */
UMPIRE_API int umpire_grad_score(const struct umpire_grad_model *m, const int32_t *tokens, size_t n, size_t n_prompt,
                                 const struct umpire_grad_params *p, struct umpire_grad_scores *out, char *err);
/* The semantic preservation score of each layer output and prompt position (src/grad/sps.c):
 * for n prompts (token arrays, n_tokens[i] each) where group[i] names the question prompt i
 * phrases, sps[l * n_offsets + j] = mean cosine of layer l's outputs at the j-th position from
 * the prompt's end (j = 0: its last token) over pairs of paraphrases of one question, minus the
 * same over pairs of different questions. Higher: the state keeps the meaning and drops the
 * wording. Returns 0, or a negative status with err (no pair of paraphrases, no pair of
 * different questions, a prompt shorter than n_offsets, out of memory). */
UMPIRE_API int umpire_grad_sps(const struct umpire_grad_model *m, const int32_t *const *prompts, const size_t *n_tokens,
                               const size_t *group, size_t n, int n_offsets, double *sps, char *err);
/* The query's prompt as the engine tokenises it for a text query (chat template, special
 * tokens): *tokens (free with umpire_free) and *n. Returns 0, or a negative status with err
 * (a query with media, whose prompt is not tokens alone). */
UMPIRE_API int umpire_engine_prompt_tokens(struct umpire_engine *e, const struct umpire_query *q, int32_t **tokens,
                                           size_t *n, char *err);
/* The scores of any answer with its tokens (a sample, a forced answer) for the query, through
 * the own graph of the engine's model (g: the same GGUF). Images and audio enter as the rows of
 * embeddings the engine's projector makes of them, in place of token embeddings: llava-style
 * projectors (consecutive 1-D positions, causal attention); Qwen2-VL's M-RoPE and
 * bidirectional image attention are refused by name. Returns 0, or a negative status with err. */
UMPIRE_API int umpire_engine_gradient_scores(struct umpire_engine *e, const struct umpire_grad_model *g,
                                             const struct umpire_query *q, const struct umpire_answer *answer,
                                             const struct umpire_grad_params *p, struct umpire_grad_scores *out,
                                             char *err);
/* The scores of an item's greedy answer (umpire_engine_ask with_greedy, or forced) for the
 * query, into item->semgrad/exgrad/hybridgrad (sets UMPIRE_HAS_GRADIENTS); as
 * umpire_engine_gradient_scores. Returns 0, or a negative status with err (no greedy answer, or
 * one without its tokens, media the own graph cannot read). */
UMPIRE_API int umpire_engine_gradients(struct umpire_engine *e, const struct umpire_grad_model *g,
                                       const struct umpire_query *q, const struct umpire_grad_params *p,
                                       struct umpire_item *item, char *err);

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
UMPIRE_API int umpire_model_info(const char *model_path, const char *mmproj_path,
                      struct umpire_model_info *out, char *err);

/* llama.cpp's and libmtmd's log callback, a process-wide setting of theirs. */
enum umpire_llama_log {
    UMPIRE_LLAMA_LOG_HOST,    /* (default) umpire leaves it as the host program set it (llama.cpp's
                                 own default prints to stderr); umpire's error messages then carry
                                 no llama.cpp detail. Setting HOST after another mode puts the
                                 host's llama.cpp callback back (and libmtmd's default) */
    UMPIRE_LLAMA_LOG_CAPTURE, /* umpire's own: nothing printed; the first error line of a failed
                                 load or decode goes into umpire's message (the CLI's choice) */
    UMPIRE_LLAMA_LOG_STDERR,  /* the same, and every line to stderr */
};
/* Not thread-safe: call it before opening engines, from one thread. */
UMPIRE_API void umpire_set_llama_log(enum umpire_llama_log mode);

#ifdef __cplusplus
}
#endif

#endif /* UMPIRE_H */
