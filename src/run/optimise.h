/* optimise.h - iterative prompt optimisation (Calibration-MLLM's prompt_tuning/PT.py): the
 * answer prompt of multiple-choice questions ("<prompt>: (") searched for accuracy and
 * calibration together. optimise.c runs the loop (resumable, with the engine); propose.c holds
 * the proposers that paraphrase a prompt: a file of candidates, an OpenAI-compatible chat
 * endpoint, or a local GGUF model. The CLI's layer, not libumpire's public API. */
#ifndef UMPIRE_RUN_OPTIMISE_H
#define UMPIRE_RUN_OPTIMISE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "umpire.h"

/* PT.py's defaults: k kept, m paraphrases per kept prompt, n rounds, its two seed prompts. */
#define UMPIRE_OPTIMISE_KEEP 5
#define UMPIRE_OPTIMISE_PARAPHRASES 5
#define UMPIRE_OPTIMISE_ROUNDS 10
#define UMPIRE_OPTIMISE_SEED_1 "The answer might be"
#define UMPIRE_OPTIMISE_SEED_2 "The answer must be"
/* PT.py's ranking: candidates grouped by floor(accuracy / 0.2) (Python's // on floats), the
 * higher group first, then the lower ECE (10 equal-width bins of confidence). */
#define UMPIRE_OPTIMISE_GROUP_WIDTH 0.2
#define UMPIRE_OPTIMISE_ECE_BINS 10

/* ---------------------------------------------------------------- proposers (propose.c) */

/* Something that paraphrases a prompt (asked in round `round`, 1-based): fills *out with *n new
 * strings (free each and the array), or returns a negative status with err. */
struct umpire_proposer {
    int (*propose)(void *ctx, const char *prompt, size_t m, size_t round, char ***out, size_t *n,
                   char *err);
    void (*free)(void *ctx);
    void *ctx;
    char *
        name; /* what it is, for the run's configuration: "candidates FILE", "url URL MODEL", ... */
};
void umpire_proposer_free(struct umpire_proposer *p);

/* PT.py's request to the proposer for m sentences like prompt (a new string, or NULL). */
char *umpire_proposer_prompt(const char *prompt, size_t m);
/* PT.py's reading of the reply: split at "<sx>", each part stripped of white space, then of
 * trailing '.', then of '"' at both ends, then of a leading "12. " numbering. Parts that end up
 * empty are kept (the loop drops them). Returns 0, or UMPIRE_ENOMEM. */
int umpire_paraphrases_parse(const char *reply, char ***out, size_t *n);

/* A JSONL file of paraphrases, one prompt a line: {"prompt": P, "paraphrases": [..]} (the first
 * m are taken) or {"prompt": P, "reply": "a<sx>b"} (a proposer's reply, read as above). A
 * prompt not in the file gets none. Errors name FILE:LINE and the field. */
int umpire_proposer_candidates(const char *path, struct umpire_proposer *out, char *err);

/* An OpenAI-compatible chat endpoint (POST /v1/chat/completions): url is the endpoint or its
 * base ("http://127.0.0.1:8080" or ".../v1"); model the request's "model"; api_key (or NULL) sent
 * as a bearer token; timeout_ms per request; retries: how many more times a request that failed
 * in transport or with HTTP 429 / 5xx is sent (1 s apart). PT.py's request: system "You are a
 * helpful assistant.", temperature 0.7, top_p 0.95, max_tokens 1000. */
struct umpire_url_proposer_params {
    const char *url, *model, *api_key;
    int timeout_ms, retries;
    size_t max_bytes;
};
int umpire_proposer_url(const struct umpire_url_proposer_params *p, struct umpire_proposer *out,
                        char *err);

/* A local GGUF model through the engine: the same request as a chat, its answer sampled at
 * temperature 0.7, top-p 0.95 (seeded from seed, the round and the prompt), at most max_tokens
 * tokens. The engine stays the caller's. */
int umpire_proposer_engine(struct umpire_engine *e, const char *model_path, uint64_t seed,
                           int max_tokens, struct umpire_proposer *out, char *err);

/* ---------------------------------------------------------------- the loop (optimise.c) */

/* Python's float floor division a // b (CPython's float_floor_div), which PT.py's group_by_accuracy
 * uses: floor((a - fmod(a, b)) / b), rounded to the nearest integer. 0.6 // 0.2 is 2. */
double umpire_py_floordiv(double a, double b);

/* PT.py's ranking of n candidates: order[0..n) receives their indices, the higher
 * floor(accuracy / 0.2) first, then the lower ECE (INFINITY: none answered), ties in index order
 * (a stable sort). */
void umpire_optimise_rank(const double *accuracy, const double *ece, size_t n, size_t *order);

struct umpire_optimise_progress {
    const char *phase;    /* "propose", "dev", "held-out" */
    size_t round, rounds; /* 1-based; the held-out phase: rounds + 1 */
    size_t candidate, candidates;
    size_t item, items;     /* items of the split done for this candidate */
    size_t right, answered; /* so far, this candidate */
    const char *prompt;
    double best_accuracy, best_ece; /* the best so far (NaN before the first round ends) */
};

struct umpire_optimise_params {
    const char *data_path, *out_dir;
    size_t rounds, keep, paraphrases;
    const char *const *seeds;
    size_t n_seeds;
    double dev_fraction; /* the share of items in the dev split (0.5) */
    uint64_t seed;       /* the split's seed */
    const char *system;  /* a system prompt, or NULL */
    struct umpire_proposer *proposer;
    void (*progress)(const struct umpire_optimise_progress *, void *);
    void *progress_ctx;
};
struct umpire_optimise_params umpire_optimise_default_params(void);

/* Run (or resume) the optimisation in out_dir: out_dir/state.json (rewritten after every
 * proposal and evaluation, through the safe writer), out_dir/config.json (a resume with another
 * configuration is refused), out_dir/result.json (written at the end). *result receives the
 * result (free with cJSON_Delete). Returns 0, or a negative status with err. */
int umpire_optimise_run(struct umpire_engine *e, const struct umpire_optimise_params *p,
                        cJSON **result, char *err);

#endif
