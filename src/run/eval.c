/* eval.c - run a model over a dataset: for every question the low-temperature answer, k
 * samples, the requested extra passes and a correctness judgement, appended to
 * RUN_DIR/items.jsonl as soon as the item is done (flushed and fsync'ed). A run is resumable
 * (resume.c): the same command skips the finished items, and a resume with another
 * configuration is refused. The run's results: summary.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/scorer.h"
#include "core/hash.h"
#include "core/status.h"
#include "engine/engine.h"
#include "io/idset.h"
#include "io/item_json.h"
#include "io/output.h"
#include "run/run.h"
#include "video/video.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static cJSON *config_json(const struct umpire_engine *e, const struct umpire_eval_params *p, const char *digest) {
    const struct umpire_sample_params *s = &p->sample;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", e->params.model_path);
    cJSON_AddStringToObject(o, "mmproj", e->params.mmproj_path ? e->params.mmproj_path : "");
    cJSON_AddStringToObject(o, "data", p->data_path);
    cJSON_AddStringToObject(o, "data_fnv1a", digest);
    cJSON_AddNumberToObject(o, "k", s->k);
    cJSON_AddNumberToObject(o, "seed", (double)s->seed);
    cJSON_AddNumberToObject(o, "max_tokens", s->max_tokens);
    cJSON_AddNumberToObject(o, "temp", s->temp);
    cJSON_AddNumberToObject(o, "top_p", s->top_p);
    cJSON_AddNumberToObject(o, "top_k", s->top_k);
    cJSON_AddNumberToObject(o, "greedy_temp", s->greedy_temp);
    cJSON_AddBoolToObject(o, "sampler_probs", s->sampler_probs);
    cJSON_AddBoolToObject(o, "middle", s->middle);
    cJSON_AddStringToObject(o, "prompt_style", umpire_prompt_style_name(p->style));
    cJSON_AddStringToObject(o, "judge", umpire_judge_name(p->judge));
    cJSON_AddBoolToObject(o, "p_true", p->passes.p_true);
    cJSON_AddBoolToObject(o, "verbalised", p->passes.verbalised);
    cJSON_AddBoolToObject(o, "entailment", p->passes.entailment);
    if (p->gradients) { /* only when on: the runs made before gradients existed resume */
        cJSON *g = cJSON_AddObjectToObject(o, "gradients");
        cJSON_AddNumberToObject(g, "position", p->grad.position);
        cJSON_AddBoolToObject(g, "weighted", p->grad.weighted);
        cJSON_AddNumberToObject(g, "layer_first", p->grad.layer_first);
        cJSON_AddNumberToObject(g, "layer_last", p->grad.layer_last);
    }
    if (p->image_noise > 0) /* only when on: runs made before it existed resume */
        cJSON_AddNumberToObject(o, "image_noise", p->image_noise);
    cJSON_AddNumberToObject(o, "choice_temp", p->choice_temp);
    cJSON_AddBoolToObject(o, "choice_logits", p->choice_logits);
    cJSON_AddStringToObject(o, "system", p->system ? p->system : "");
    cJSON_AddStringToObject(o, "instruction", p->instruction ? p->instruction : UMPIRE_DEFAULT_INSTRUCTION);
    cJSON_AddNumberToObject(o, "n_ctx", e->params.n_ctx);
    if (p->shards > 1) {
        char shard[48];
        snprintf(shard, sizeof shard, "%zu/%zu", p->shard + 1, p->shards);
        cJSON_AddStringToObject(o, "shard", shard);
    }
    return o;
}

/* A multiple-choice item's letter-step logits, RUN_DIR/choice_logits/<FNV-1a of the id>.f32,
 * written whole before its items.jsonl line; the name (relative to RUN_DIR) in `name`. */
static int write_logits(const char *run_dir, const char *id, const float *z, size_t n, char name[64], char *err) {
    uint64_t h = umpire_fnv1a_str(UMPIRE_FNV1A_INIT, id);
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/choice_logits", run_dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", dir, strerror(errno));
    snprintf(name, 64, "choice_logits/%016llx.f32", (unsigned long long)h);
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    struct umpire_output o;
    int rc = umpire_output_open(&o, path, err);
    if (rc == UMPIRE_OK) /* float32 as the machine stores it: little-endian on every machine llama.cpp runs on */
        rc = umpire_output_close(&o, fwrite(z, sizeof *z, n, o.f) == n ? UMPIRE_OK
                                     : umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", path, strerror(errno)),
                                 err);
    return rc;
}

/* The item's semantic volume U and incoherence Q, for the progress line's running AUROC. */
static int progress_scores(const struct umpire_item *it, const struct umpire_score_params *p, double *u, double *q,
                           char *err) {
    size_t ne;
    umpire_estimators(&ne);
    const size_t iu = (size_t)umpire_estimator_index("semantic_volume"), iq = (size_t)umpire_estimator_index("incoherence");
    int *selected = calloc(ne, sizeof *selected);
    double *scores = malloc(ne * sizeof *scores);
    int rc = selected && scores ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK) {
        selected[iu] = selected[iq] = 1;
        rc = umpire_score_item_all(it, p, 0.0, selected, scores, err);
    }
    if (rc == UMPIRE_OK) {
        *u = scores[iu];
        *q = scores[iq];
    }
    free(selected);
    free(scores);
    return rc;
}

/* One dataset item: answer, judge, score; the line for items.jsonl. A multiple-choice item's
 * samples are drawn with its options in the prompt, as its letter is chosen. */
static int run_asked(struct umpire_engine *e, const struct umpire_eval_params *p, const struct umpire_dataset_item *di,
                    cJSON **line, int *correct, double *u, double *q, char *err) {
    struct umpire_query query = {.question = di->question,
                                 .system = p->system,
                                 .instruction = p->instruction,
                                 .style = p->style,
                                 .images = (const char *const *)di->images,
                                 .n_images = di->n_images,
                                 .audio = (const char *const *)di->audio,
                                 .n_audio = di->n_audio,
                                 .history = di->history,
                                 .n_history = di->n_history,
                                 .image_noise = p->image_noise,
                                 .image_noise_seed = umpire_fnv1a_str(p->sample.seed ^ 0x6e6f697365ULL, di->id)};
    char *mc_question = NULL, *described = NULL;
    if (di->description) { /* the description, a newline, the question */
        size_t len = strlen(di->description) + strlen(di->question) + 2;
        if (!(described = malloc(len)))
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        snprintf(described, len, "%s\n%s", di->description, di->question);
        query.question = described;
    }
    if (di->n_choices) {
        if (!(mc_question = umpire_choice_question(query.question, (const char *const *)di->choices, di->n_choices)))
            return free(described), umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        query.question = mc_question;
        query.instruction = "";
        query.answer_prefix = UMPIRE_CHOICE_PREFIX;
    }
    struct umpire_item it;
    float *logits = NULL;
    int rc = umpire_engine_ask(e, &query, &p->sample, &it, err);
    /* the gradient scores of the answer as it was asked (media items through the projector's
     * rows; a projector the own graph cannot read stops the run with its name) */
    if (rc == UMPIRE_OK && p->gradients)
        rc = umpire_engine_gradients(e, p->gradients, &query, &p->grad, &it, err);
    query.question = described ? described : di->question; /* the extra passes and the letter are asked of it */
    query.instruction = p->instruction;
    query.answer_prefix = NULL;
    free(mc_question);
    if (rc == UMPIRE_OK)
        rc = umpire_engine_judge(e, &query, &p->passes, &it, err);
    if (rc == UMPIRE_OK && di->n_choices && p->choice_logits &&
        !(logits = malloc((size_t)llama_vocab_n_tokens(e->vocab) * sizeof *logits)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK && di->n_choices) {
        rc = umpire_engine_choose(e, &query, (const char *const *)di->choices, di->n_choices, p->choice_temp,
                                  &it.choice, logits, err);
        it.extras |= UMPIRE_HAS_CHOICE;
    }
    char logits_file[64] = "";
    if (rc == UMPIRE_OK && logits && it.choice.choice < it.choice.n)
        rc = write_logits(p->run_dir, di->id, logits, (size_t)llama_vocab_n_tokens(e->vocab), logits_file, err);
    free(logits);
    if (rc != UMPIRE_OK) {
        umpire_item_free(&it);
        free(described);
        return rc;
    }
    const struct umpire_choice *choice = &it.choice;
    char letter[2] = {choice->choice < choice->n ? (char)('A' + choice->choice) : '?', '\0'};
    const char *answer = di->n_choices ? letter : it.greedy.text;
    double p_yes = NAN, vqa = NAN;
    /* declined: an "I don't know" option chosen, or a free-form answer that declines */
    int declined = di->n_choices ? choice->choice < choice->n && choice->choice < di->n_choices &&
                                       umpire_is_refusal(di->choices[choice->choice])
                                 : umpire_is_refusal(answer);
    if (di->n_choices && !di->answerable) /* the right choice is the "I don't know" option */
        it.correct = declined;
    else if (di->n_choices)
        it.correct = umpire_judge_letter(letter[0], (const char *const *)di->answers, di->n_answers);
    else if (p->judge == UMPIRE_JUDGE_LLM && di->answerable) {
        if ((rc = umpire_engine_judge_correct(e, &query, answer, (const char *const *)di->answers, di->n_answers,
                                              &p_yes, err)) != UMPIRE_OK) {
            umpire_item_free(&it);
            free(described);
            return rc;
        }
        it.correct = p_yes > 0.5;
    } else {
        it.correct = umpire_judge_answer(answer, (const char *const *)di->answers, di->n_answers, di->answerable,
                                         p->judge);
        if (p->judge == UMPIRE_JUDGE_VQA && di->answerable)
            vqa = umpire_vqa_accuracy(answer, (const char *const *)di->answers, di->n_answers);
    }
    it.id = strdup(di->id);
    cJSON *o = umpire_item_to_json(&it);
    cJSON_AddStringToObject(o, "question", di->question);
    cJSON_AddStringToObject(o, "answer", answer);
    cJSON *gold = cJSON_AddArrayToObject(o, "gold");
    for (size_t g = 0; g < di->n_answers; g++)
        cJSON_AddItemToArray(gold, cJSON_CreateString(di->answers[g]));
    cJSON_AddStringToObject(o, "judge", !di->answerable ? "refusal" : di->n_choices ? "letter" : umpire_judge_name(p->judge));
    cJSON_AddBoolToObject(o, "answerable", di->answerable);
    cJSON_AddBoolToObject(o, "declined", declined);
    if (isfinite(p_yes))
        cJSON_AddNumberToObject(o, "judge_p_yes", p_yes);
    if (isfinite(vqa))
        cJSON_AddNumberToObject(o, "vqa_accuracy", vqa);
    if (logits_file[0])
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o, "choice"), "logits", logits_file);
    rc = progress_scores(&it, &p->score, u, q, err);
    *correct = it.correct;
    *line = o;
    umpire_item_free(&it);
    free(described);
    if (rc != UMPIRE_OK)
        cJSON_Delete(o);
    return rc;
}

/* An item with a video is asked with its frames as images after its own images, in time order
 * (src/video); the decoded frames are removed once it is answered. */
static int run_item(struct umpire_engine *e, const struct umpire_eval_params *p, const struct umpire_dataset_item *di,
                    cJSON **line, int *correct, double *u, double *q, char *err) {
    if (!di->video)
        return run_asked(e, p, di, line, correct, u, q, err);
    struct umpire_frames frames;
    struct umpire_dataset_item with = *di;
    int rc = umpire_item_images(di, (const char ***)&with.images, &with.n_images, &frames, err);
    if (rc != UMPIRE_OK)
        return rc;
    rc = run_asked(e, p, &with, line, correct, u, q, err);
    free(with.images);
    umpire_frames_free(&frames);
    return rc;
}

struct umpire_eval_params umpire_eval_default_params(void) {
    return (struct umpire_eval_params){.sample = umpire_sample_default_params(),
                                       .passes = umpire_judge_default_params(),
                                       .grad = umpire_grad_default_params(),
                                       .judge = UMPIRE_JUDGE_AUTO,
                                       .choice_temp = 1.0,
                                       .style = UMPIRE_PROMPT_SUFFIX,
                                       .score = umpire_score_default_params()};
}

int umpire_eval_run(struct umpire_engine *e, const struct umpire_eval_params *p, char *err) {
    if (!p->data_path || !p->run_dir)
        return umpire_fail(err, UMPIRE_EINVAL, "the dataset and the run directory are to be given");
    if (!(p->choice_temp > 0))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "choice_temp = %g: the multiple-choice temperature must be > 0 (start from "
                           "umpire_eval_default_params())",
                           p->choice_temp);
    struct umpire_dataset data;
    int rc = umpire_eval_check_input(p->run_dir, p->data_path, err);
    if (rc != UMPIRE_OK)
        return rc;
    rc = umpire_dataset_read(p->data_path, &data, err);
    if (rc != UMPIRE_OK)
        return rc;
    char digest[17], items_path[4200];
    if (mkdir(p->run_dir, 0777) != 0 && errno != EEXIST) {
        umpire_dataset_free(&data);
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot create the run directory (%s)", p->run_dir, strerror(errno));
    }
    snprintf(items_path, sizeof items_path, "%s/items.jsonl", p->run_dir);
    cJSON *cfg = NULL;
    struct umpire_idset done = {0};
    FILE *out = NULL;
    int lock = umpire_run_lock(p->run_dir, err, &rc);
    if (rc == UMPIRE_OK && umpire_run_file_digest(p->data_path, digest) != 0)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot read", p->data_path);
    if (rc == UMPIRE_OK && !(cfg = config_json(e, p, digest)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK)
        rc = umpire_run_check_config(p->run_dir, items_path, cfg, err);
    if (rc == UMPIRE_OK)
        rc = umpire_run_finished_items(items_path, &data, (size_t)p->sample.k, &done, err);
    /* not the safe writer (io/output.h), which replaces a whole file: items.jsonl is the run's
       journal, appended an item at a time and fsync'ed, so that a crash loses at most the line
       being written (resume.c drops a cut last line) */
    if (rc == UMPIRE_OK && !(out = fopen(items_path, "ab")))
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot open for appending", items_path);
    size_t upto = p->limit && p->limit < data.n ? p->limit : data.n, shards = p->shards > 1 ? p->shards : 1;
    size_t total = 0;
    for (size_t i = 0; i < upto; i++)
        total += i % shards == p->shard;
    if (rc == UMPIRE_OK && p->shard >= shards)
        rc = umpire_fail(err, UMPIRE_EINVAL, "shard %zu of %zu does not exist", p->shard + 1, shards);
    struct umpire_eval_progress pr = {.total = total};
    double *us = malloc((total ? total : 1) * sizeof *us), *qs = malloc((total ? total : 1) * sizeof *qs);
    int *wrong = malloc((total ? total : 1) * sizeof *wrong);
    if (rc == UMPIRE_OK && (!us || !qs || !wrong))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    double t0 = now();
    size_t n_new = 0;
    for (size_t i = 0; i < upto && rc == UMPIRE_OK; i++) {
        if (i % shards != p->shard)
            continue;
        const struct umpire_dataset_item *di = &data.items[i];
        if (umpire_idset_has(&done, di->id, NULL)) {
            pr.resumed++;
            continue;
        }
        cJSON *line = NULL;
        int correct = 0;
        double u = NAN, q = NAN;
        if ((rc = run_item(e, p, di, &line, &correct, &u, &q, err)) != UMPIRE_OK) {
            char inner[UMPIRE_ERR_LEN];
            snprintf(inner, sizeof inner, "%s", err);
            rc = umpire_fail(err, rc, "%s:%zu (id %s): %s", p->data_path, di->line, di->id, inner);
            break;
        }
        char *text = cJSON_PrintUnformatted(line);
        cJSON_Delete(line);
        if (!text || fputs(text, out) == EOF || fputc('\n', out) == EOF || fflush(out) != 0 || fsync(fileno(out)) != 0)
            rc = umpire_fail(err, UMPIRE_EIO, "%s: write failed", items_path);
        free(text);
        /* running figures for the progress line: accuracy, and UMPIRE's AUROC with alpha fitted on the
         * items of this session so far */
        us[n_new] = u;
        qs[n_new] = q;
        wrong[n_new++] = !correct;
        pr.done++;
        pr.right += (size_t)correct;
        pr.elapsed_s = now() - t0;
        pr.auroc_umpire = NAN;
        if (p->progress && (n_new < 50 || n_new % (total / 50 ? total / 50 : 1) == 0)) {
            double a = umpire_alpha(us, qs, n_new), *v = malloc(n_new * sizeof *v);
            if (v) {
                for (size_t j = 0; j < n_new; j++)
                    v[j] = us[j] + a * qs[j];
                pr.auroc_umpire = umpire_auroc(v, wrong, n_new);
                free(v);
            }
        }
        if (p->progress)
            p->progress(&pr, p->progress_ctx);
    }
    if (out && fclose(out) != 0 && rc == UMPIRE_OK)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: write failed", items_path);
    umpire_idset_free(&done);
    free(us);
    free(qs);
    free(wrong);
    cJSON_Delete(cfg);
    umpire_dataset_free(&data);
    if (lock >= 0)
        close(lock);
    return rc;
}
