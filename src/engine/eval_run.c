/* eval_run.c - run a model over a dataset: for every question the low-temperature answer, k
 * samples, the requested extra passes and a correctness judgement, appended to
 * RUN_DIR/items.jsonl as soon as the item is done (flushed and fsync'ed). A run is resumable:
 * the same command skips the finished items (a line cut short by a kill is dropped), and a
 * resume with another configuration is refused. At the end, or from a finished run directory,
 * every estimator is scored (alpha fitted over the run) and evaluated: summary.json and
 * scored.jsonl.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/stats.h"
#include "core/status.h"
#include "engine/engine.h"
#include "io/atomic.h"
#include "io/idset.h"
#include "io/item_json.h"
#include "io/jsonl.h"
#include "io/output.h"
#include "io/report.h"
#include "io/scores_json.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* FNV-1a of a file's bytes, as 16 hex digits: a resume must read the same data. -1 when the
 * file cannot be read to its end. */
static int file_digest(const char *path, char out[17]) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint64_t h = 1469598103934665603ULL;
    int c;
    while ((c = getc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 1099511628211ULL;
    int bad = ferror(f);
    fclose(f);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return bad ? -1 : 0;
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

/* cJSON's type of a value, true and false as one */
static int json_kind(const cJSON *v) { return cJSON_IsBool(v) ? cJSON_True : v->type & 0xff; }

static void append_name(char *list, size_t cap, const char *name) {
    size_t n = strlen(list);
    snprintf(list + n, cap - n, "%s%s", n ? ", " : "", name);
}

/* Write the run's configuration, or check a resumed run's against it. A run directory whose
 * config.json is missing (while items.jsonl holds items), unreadable, or not a configuration
 * umpire wrote is refused as damaged; one with other values as another configuration. */
static int check_config(const char *run_dir, const char *items_path, cJSON *cfg, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        if (stat(items_path, &st) == 0 && st.st_size > 0)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "%s: missing, but %s holds finished items of an unknown "
                               "configuration; restore it, or choose another --out",
                               path, items_path);
        return umpire_write_json(path, cfg, err);
    }
    int rc = UMPIRE_OK;
    size_t len;
    char *text = umpire_read_file(path, &len, err, &rc);
    cJSON *old = text ? umpire_json_parse(text, len, path, 0, err, &rc) : NULL;
    free(text);
    if (!old) {
        char inner[UMPIRE_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", err);
        return umpire_fail(
            err, rc, "%s; the run's configuration is damaged: restore it, or choose another --out",
            inner);
    }
    char diff[UMPIRE_ERR_LEN] = "";
    const cJSON *x;
    if (!cJSON_IsObject(old))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: not a JSON object; not a configuration umpire wrote", path);
    cJSON_ArrayForEach(x, cfg) {
        const cJSON *y = rc == UMPIRE_OK ? cJSON_GetObjectItemCaseSensitive(old, x->string) : NULL;
        int optional = !strcmp(x->string, "shard"); /* only a shard's configuration has it */
        if (rc == UMPIRE_OK && ((!y && !optional) || (y && json_kind(y) != json_kind(x))))
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: %s: %s; the file is damaged or not umpire's: "
                             "restore it, or choose another --out",
                             path, x->string, y ? "not of the type umpire writes" : "missing");
        else if (rc == UMPIRE_OK && !cJSON_Compare(x, y, true))
            append_name(diff, sizeof diff, x->string);
    }
    if (rc == UMPIRE_OK)
        cJSON_ArrayForEach(x, old) /* "shard", when this run is not a shard */
            if (!cJSON_GetObjectItemCaseSensitive(cfg, x->string))
                append_name(diff, sizeof diff, x->string);
    cJSON_Delete(old);
    if (rc == UMPIRE_OK && diff[0])
        rc = umpire_fail(
            err, UMPIRE_EINVAL,
            "%s holds a run with another configuration (%s differ); resume with the same options,"
            " or choose another --out",
            run_dir, diff);
    return rc;
}

/* Every item of a resumed items.jsonl, checked as the summary will read it, before anything
 * runs: a sample-set item of the run's k, labelled, from the dataset, there once. Adds the ids
 * to *done. */
static int check_finished(const char *path, const struct umpire_dataset *data, size_t k,
                          struct umpire_idset *done, char *err) {
    struct umpire_sampleset set;
    int rc = umpire_sampleset_read(path, &set, err);
    if (rc != UMPIRE_OK)
        return rc;
    struct umpire_idset known = {0};
    for (size_t i = 0; rc == UMPIRE_OK && i < data->n; i++)
        if (umpire_idset_add(&known, data->items[i].id, i + 1, NULL) < 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == UMPIRE_OK && i < set.n; i++) {
        const struct umpire_item *it = &set.items[i];
        size_t first = 0;
        int added;
        if (it->k != k)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: samples: %zu answers, but this run's k is %zu", path,
                             it->line, it->k, k);
        else if (it->correct < 0)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: correct: missing (umpire eval writes it for every item)",
                             path, it->line);
        else if (!umpire_idset_has(&known, it->id, NULL))
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: id: '%.60s' is not in the dataset", path,
                             it->line, it->id);
        else if ((added = umpire_idset_add(done, it->id, it->line, &first)) < 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        else if (added == 1)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: id: '%.60s' again (line %zu has it); it would count twice",
                             path, it->line, it->id, first);
    }
    umpire_idset_free(&known);
    umpire_sampleset_free(&set);
    return rc;
}

/* The ids already in items.jsonl, each line checked (check_finished); a last line without its
 * newline (a kill in the middle of a write) is cut off first. */
static int finished_items(const char *path, const struct umpire_dataset *data, size_t k,
                          struct umpire_idset *d, char *err) {
    FILE *f = fopen(path, "rb+");
    if (!f)
        return errno == ENOENT ? UMPIRE_OK : umpire_fail(err, UMPIRE_EIO, "%s: cannot open", path);
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1, keep = end;
    int bad = end < 0;
    while (!bad && keep > 0) {
        int c = fseek(f, keep - 1, SEEK_SET) == 0 ? getc(f) : EOF;
        if (c == '\n')
            break;
        bad = c == EOF;
        keep -= !bad;
    }
    fclose(f);
    if (bad)
        return umpire_fail(err, UMPIRE_EIO, "%s: read error", path);
    if (keep < end && truncate(path, keep) != 0)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot cut the unfinished last line", path);
    int rc = keep > 0 ? check_finished(path, data, k, d, err) : UMPIRE_OK;
    if (rc != UMPIRE_OK) {
        char inner[UMPIRE_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", err);
        rc = umpire_fail(
            err, rc, "%s; cannot resume: mend or remove that line, or choose another --out", inner);
    }
    return rc;
}

/* A multiple-choice item's letter-step logits, RUN_DIR/choice_logits/<FNV-1a of the id>.f32,
 * written whole before its items.jsonl line; the name (relative to RUN_DIR) in `name`. */
static int write_logits(const char *run_dir, const char *id, const float *z, size_t n, char name[64], char *err) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *c = (const unsigned char *)id; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
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

/* One dataset item: answer, judge, score; the line for items.jsonl. A multiple-choice item's
 * samples are drawn with its options in the prompt, as its letter is chosen. */
static int run_item(struct umpire_engine *e, const struct umpire_eval_params *p, const struct umpire_dataset_item *di,
                    cJSON **line, int *correct, double *u, double *q, char *err) {
    struct umpire_query query = {.question = di->question,
                                 .system = p->system,
                                 .instruction = p->instruction,
                                 .style = p->style,
                                 .images = (const char *const *)di->images,
                                 .n_images = di->n_images,
                                 .audio = (const char *const *)di->audio,
                                 .n_audio = di->n_audio};
    char *mc_question = NULL;
    if (di->n_choices) {
        if (!(mc_question = umpire_choice_question(di->question, (const char *const *)di->choices, di->n_choices)))
            return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        query.question = mc_question;
        query.instruction = "";
        query.answer_prefix = UMPIRE_CHOICE_PREFIX;
    }
    struct umpire_item it;
    float *logits = NULL;
    int rc = umpire_engine_ask(e, &query, &p->sample, &it, err);
    query.question = di->question; /* the extra passes and the letter are asked of the question */
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
        return rc;
    }
    const struct umpire_choice *choice = &it.choice;
    char letter[2] = {choice->choice < choice->n ? (char)('A' + choice->choice) : '?', '\0'};
    const char *answer = di->n_choices ? letter : it.greedy.text;
    double p_yes = NAN, vqa = NAN;
    if (di->n_choices)
        it.correct = umpire_judge_letter(letter[0], (const char *const *)di->answers, di->n_answers);
    else if (p->judge == UMPIRE_JUDGE_LLM && di->answerable) {
        if ((rc = umpire_engine_judge_correct(e, &query, answer, (const char *const *)di->answers, di->n_answers,
                                              &p_yes, err)) != UMPIRE_OK) {
            umpire_item_free(&it);
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
    cJSON_AddStringToObject(o, "judge", di->n_choices ? "letter" : di->answerable ? umpire_judge_name(p->judge) : "refusal");
    if (isfinite(p_yes))
        cJSON_AddNumberToObject(o, "judge_p_yes", p_yes);
    if (isfinite(vqa))
        cJSON_AddNumberToObject(o, "vqa_accuracy", vqa);
    if (logits_file[0])
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o, "choice"), "logits", logits_file);
    *u = umpire_score_item(&it, (size_t)umpire_estimator_index("semantic_volume"), 0.0, &p->score);
    *q = umpire_score_item(&it, (size_t)umpire_estimator_index("incoherence"), 0.0, &p->score);
    *correct = it.correct;
    *line = o;
    umpire_item_free(&it);
    return UMPIRE_OK;
}

/* Hold RUN_DIR/lock for the run: two processes appending to one run would corrupt it. The
 * lock (fcntl) goes with the process, however it ends. Returns the descriptor, or -1. */
static int lock_run(const char *run_dir, char *err, int *rc) {
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", run_dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fd < 0) {
        *rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", path, strerror(errno));
    } else if (fcntl(fd, F_SETLK, &l) != 0) {
        *rc = umpire_fail(err, UMPIRE_EIO, "%s is in use by another umpire eval; wait for it, or choose another --out",
                          run_dir);
        close(fd);
        fd = -1;
    }
    return fd;
}

int umpire_eval_check_input(const char *run_dir, const char *path, char *err) {
    static const char *const files[] = {"items.jsonl", "config.json", "scored.jsonl", "summary.json",
                                        "report.html", "groups.json", "lock"};
    char out[4200];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(out, sizeof out, "%s/%s", run_dir, files[i]);
        if (umpire_same_file(out, path))
            return umpire_fail(err, UMPIRE_EINVAL, "%s is %s, which the run writes; give a file outside the run directory",
                               path, out);
    }
    return UMPIRE_OK;
}

int umpire_eval_run(struct umpire_engine *e, const struct umpire_eval_params *p, char *err) {
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
    int lock = lock_run(p->run_dir, err, &rc);
    if (rc == UMPIRE_OK && file_digest(p->data_path, digest) != 0)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot read", p->data_path);
    if (rc == UMPIRE_OK && !(cfg = config_json(e, p, digest)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK)
        rc = check_config(p->run_dir, items_path, cfg, err);
    if (rc == UMPIRE_OK)
        rc = finished_items(items_path, &data, (size_t)p->sample.k, &done, err);
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

/* One shard's lines, kept in memory for the merge, and the letter-step logits files they name. */
struct shard_lines {
    char **lines;
    size_t n, cap;
    char **logits; /* "choice_logits/<16 hex>.f32", relative to the shard's directory */
    size_t n_logits;
    struct umpire_idset *ids; /* all ids seen, across shards */
    const char *path;
    char *err;
};

static int keep_line(const cJSON *o, size_t line, void *vctx) {
    struct shard_lines *s = vctx;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(id))
        return umpire_fail(s->err, UMPIRE_EINVAL, "%s:%zu: id: missing", s->path, line);
    size_t first = 0;
    int added = umpire_idset_add(s->ids, id->valuestring, line, &first);
    if (added < 0)
        return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
    if (added == 1) /* shards split the ids: none may come twice */
        return umpire_fail(s->err, UMPIRE_EINVAL,
                           "%s:%zu: id: %s is in two shards (it was on line %zu of one)", s->path,
                           line, id->valuestring, first);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **g = realloc(s->lines, cap * sizeof *g);
        if (!g)
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->lines = g;
        s->cap = cap;
        if (!(g = realloc(s->logits, cap * sizeof *g)))
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->logits = g;
    }
    const cJSON *lf = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "choice"), "logits");
    if (lf) { /* only a name umpire eval writes: a file in the run's choice_logits/ */
        const char *v = cJSON_IsString(lf) ? lf->valuestring : "";
        if (strlen(v) != 34 || strncmp(v, "choice_logits/", 14) || strspn(v + 14, "0123456789abcdef") != 16 ||
            strcmp(v + 30, ".f32"))
            return umpire_fail(s->err, UMPIRE_EINVAL,
                               "%s:%zu: choice.logits: not a file umpire eval names (choice_logits/<16 hex digits>.f32)",
                               s->path, line);
        if (!(s->logits[s->n_logits] = strdup(v)))
            return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
        s->n_logits++;
    }
    cJSON *copy = cJSON_Duplicate(o, 1); /* printed as umpire prints it: the same bytes as read */
    umpire_json_exact(copy);
    s->lines[s->n] = copy ? cJSON_PrintUnformatted(copy) : NULL;
    cJSON_Delete(copy);
    if (!s->lines[s->n])
        return umpire_fail(s->err, UMPIRE_ENOMEM, "out of memory");
    s->n++;
    return 0;
}

/* FROM_DIR/name copied to TO_DIR/name (its folder created). */
static int copy_file(const char *from_dir, const char *to_dir, const char *name, char *err) {
    char from[4300], to[4300];
    snprintf(from, sizeof from, "%s/%s", from_dir, name);
    snprintf(to, sizeof to, "%s/%.*s", to_dir, (int)(strchr(name, '/') - name), name);
    if (mkdir(to, 0777) != 0 && errno != EEXIST)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", to, strerror(errno));
    snprintf(to, sizeof to, "%s/%s", to_dir, name);
    size_t len = 0;
    int rc = UMPIRE_OK;
    char *data = umpire_read_file(from, &len, err, &rc);
    struct umpire_output o;
    if (data && (rc = umpire_output_open(&o, to, err)) == UMPIRE_OK)
        rc = umpire_output_close(&o, fwrite(data, 1, len, o.f) == len ? UMPIRE_OK
                                     : umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", to, strerror(errno)),
                                 err);
    free(data);
    return rc;
}

static int by_shard(const void *a, const void *b) {
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return (x > y) - (x < y);
}

/* Read every run's config.json: each must be shard i/n of one configuration, every i once.
 * Returns the shared configuration (without "shard") in *first, and run_of[i - 1] = the run
 * holding shard i. */
static int check_shards(const char *const *runs, size_t n, size_t *run_of, cJSON **first,
                        char *err) {
    int rc = UMPIRE_OK;
    unsigned long *shard = calloc(n, sizeof *shard), shards = 0;
    if (!shard)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t r = 0; r < n && rc == UMPIRE_OK; r++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/config.json", runs[r]);
        cJSON *cfg = umpire_read_json(path, err, &rc);
        if (!cfg)
            break;
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(cfg, "shard");
        unsigned long a = 0, b = 0;
        if (!cJSON_IsString(sh) || sscanf(sh->valuestring, "%lu/%lu", &a, &b) != 2 || a < 1 || a > b)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: shard: not a shard of a run (umpire eval --shard i/n)", path);
        else if (shards && b != shards)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: shard %s, but the others are of %lu", path,
                             sh->valuestring, shards);
        for (size_t q = 0; q < r && rc == UMPIRE_OK; q++) /* n is the number of directories given */
            if (shard[q] == a)
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s: shard %s is given twice", path,
                                 sh->valuestring);
        shards = b;
        shard[r] = a;
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "shard");
        if (rc == UMPIRE_OK && *first && !cJSON_Compare(*first, cfg, true))
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: configured differently from %s/config.json", path, runs[0]);
        if (rc == UMPIRE_OK && !*first)
            *first = cfg;
        else
            cJSON_Delete(cfg);
    }
    if (rc == UMPIRE_OK) {
        for (size_t r = 0; r < n; r++)
            if (shard[r] <= n) /* the shards are distinct and at most n of them are <= n */
                run_of[shard[r] - 1] = r;
        qsort(shard, n, sizeof *shard, by_shard);
        unsigned long missing = 1; /* the first number not among the sorted, distinct shards */
        for (size_t r = 0; r < n && shard[r] == missing; r++)
            missing++;
        if (missing <= shards)
            rc = umpire_fail(err, UMPIRE_EINVAL, "shard %lu/%lu is missing", missing, shards);
    }
    free(shard);
    return rc;
}

int umpire_eval_merge(const char *out_dir, const char *const *runs, size_t n, char *err) {
    if (n < 1)
        return umpire_fail(err, UMPIRE_EINVAL, "no run directories to merge");
    cJSON *first = NULL;
    size_t *run_of = calloc(n, sizeof *run_of); /* shard index -> run */
    struct shard_lines *sl = calloc(n, sizeof *sl);
    int rc = run_of && sl ? check_shards(runs, n, run_of, &first, err)
                          : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    char path[4200], in[4200];
    /* the merged run goes elsewhere: into a shard's directory it would write over that shard */
    for (size_t r = 0; r < n && rc == UMPIRE_OK; r++) {
        if (umpire_same_file(out_dir, runs[r]))
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s is the shard %s; merge into a new directory", out_dir, runs[r]);
        snprintf(in, sizeof in, "%s/items.jsonl", runs[r]);
        if (rc == UMPIRE_OK)
            rc = umpire_eval_check_input(out_dir, in, err);
        snprintf(in, sizeof in, "%s/config.json", runs[r]);
        if (rc == UMPIRE_OK)
            rc = umpire_eval_check_input(out_dir, in, err);
    }
    if (rc == UMPIRE_OK && mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", out_dir, strerror(errno));
    struct umpire_output items;
    snprintf(path, sizeof path, "%s/items.jsonl", out_dir);
    struct umpire_idset ids = {0};
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        snprintf(in, sizeof in, "%s/items.jsonl", runs[run_of[i]]);
        sl[i] = (struct shard_lines){.ids = &ids, .path = in, .err = err};
        rc = umpire_jsonl_each(in, keep_line, &sl[i], NULL, err);
    }
    /* the letter-step logits the items name, copied beside them before the items are written */
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++)
        for (size_t j = 0; j < sl[i].n_logits && rc == UMPIRE_OK; j++)
            rc = copy_file(runs[run_of[i]], out_dir, sl[i].logits[j], err);
    /* shard i holds items i, i + n, i + 2n, ... in order: round-robin restores the dataset's */
    if (rc == UMPIRE_OK && (rc = umpire_output_open(&items, path, err)) == UMPIRE_OK) {
        for (size_t j = 0, left = 1; left; j++) {
            left = 0;
            for (size_t i = 0; i < n; i++)
                if (j < sl[i].n) {
                    fputs(sl[i].lines[j], items.f);
                    fputc('\n', items.f);
                    left = 1;
                }
        }
        rc = umpire_output_close(&items, rc, err);
    }
    for (size_t i = 0; sl && i < n; i++) {
        for (size_t j = 0; j < sl[i].n; j++)
            free(sl[i].lines[j]);
        for (size_t j = 0; j < sl[i].n_logits; j++)
            free(sl[i].logits[j]);
        free(sl[i].lines);
        free(sl[i].logits);
    }
    free(sl);
    umpire_idset_free(&ids);
    snprintf(path, sizeof path, "%s/config.json", out_dir);
    if (rc == UMPIRE_OK)
        rc = umpire_write_json(path, first, err);
    cJSON_Delete(first);
    free(run_of);
    return rc;
}

int umpire_eval_summarise(const char *run_dir, const struct umpire_score_params *sp,
                          const struct umpire_metric_params *mp, struct umpire_sampleset *set,
                          struct umpire_scores *scores, struct umpire_evaluation *ev, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/items.jsonl", run_dir);
    int rc = umpire_sampleset_read(path, set, err);
    if (rc != UMPIRE_OK)
        return rc;
    if ((rc = umpire_score_set(set, sp, scores, err)) != UMPIRE_OK) {
        umpire_sampleset_free(set);
        return rc;
    }
    if ((rc = umpire_evaluate(set, scores, NULL, mp, ev, err)) == UMPIRE_OK) {
        size_t ne;
        umpire_estimators(&ne);
        int *all = malloc(ne * sizeof *all);
        const struct umpire_metric_report **rp = malloc(ne * sizeof *rp);
        if (!all || !rp)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        for (size_t e = 0; rc == UMPIRE_OK && e < ne; e++) {
            all[e] = 1;
            rp[e] = ev->reports[e].n || umpire_scores_undefined(set, scores, e, NULL)
                        ? &ev->reports[e]
                        : NULL;
        }
        struct umpire_score_def def = umpire_score_def_of(sp, scores);
        snprintf(path, sizeof path, "%s/scored.jsonl", run_dir);
        if (rc == UMPIRE_OK)
            rc = umpire_scores_write_jsonl(path, set, scores, &def, all, err);
        snprintf(path, sizeof path, "%s/summary.json", run_dir);
        if (rc == UMPIRE_OK)
            rc = umpire_summary_write(path, set, scores, &def, sp, mp, all, ev->n_labelled ? rp : NULL, ev->accuracy,
                                      err);
        /* the report's charts: UMPIRE, then the five other estimators with the best AUROC */
        const struct umpire_estimator *reg = umpire_estimators(&ne);
        const char *chosen[6] = {"umpire"};
        size_t n_chosen = 1;
        double *best = malloc(ne * sizeof *best);
        size_t *order = malloc(ne * sizeof *order);
        if (rc == UMPIRE_OK && best && order) {
            for (size_t e = 0; e < ne; e++)
                best[e] = ev->reports[e].n && isfinite(ev->reports[e].value[UMPIRE_M_AUROC]) && strcmp(reg[e].name, "umpire")
                              ? ev->reports[e].value[UMPIRE_M_AUROC] : -1.0;
            if (umpire_argsort_desc(best, ne, order) == 0)
                for (size_t j = 0; j < ne && n_chosen < 6 && best[order[j]] >= 0; j++)
                    chosen[n_chosen++] = reg[order[j]].name;
            rc = umpire_report_html(run_dir, set, scores, ev, chosen, n_chosen, err);
        }
        free(best);
        free(order);
        free(all);
        free((void *)rp);
    }
    if (rc != UMPIRE_OK) {
        umpire_evaluation_free(ev);
        umpire_scores_free(scores);
        umpire_sampleset_free(set);
    }
    return rc;
}

void umpire_group_evaluations_free(struct umpire_group_evaluation *g, size_t n) {
    for (size_t j = 0; g && j < n; j++) {
        free(g[j].group);
        umpire_evaluation_free(&g[j].ev);
    }
    free(g);
}

static int by_id(const void *a, const void *b) {
    return strcmp((*(const struct umpire_dataset_item *const *)a)->id, (*(const struct umpire_dataset_item *const *)b)->id);
}

int umpire_eval_groups(const char *run_dir, const char *data, const char *field, const struct umpire_sampleset *set,
                       const struct umpire_scores *scores, const struct umpire_metric_params *mp,
                       struct umpire_group_evaluation **out, size_t *n_out, char *err) {
    *out = NULL;
    *n_out = 0;
    char path[4200];
    cJSON *cfg = NULL;
    int rc = UMPIRE_OK;
    if (!data) { /* the dataset the run was made from */
        snprintf(path, sizeof path, "%s/config.json", run_dir);
        const cJSON *d;
        size_t len;
        char *text = umpire_read_file(path, &len, err, &rc);
        cfg = text ? umpire_json_parse(text, len, path, 0, err, &rc) : NULL;
        free(text);
        if (!cfg)
            return rc;
        if (!cJSON_IsString(d = cJSON_GetObjectItemCaseSensitive(cfg, "data"))) {
            cJSON_Delete(cfg);
            return umpire_fail(err, UMPIRE_EINVAL, "%s: data: missing; give the dataset", path);
        }
        data = d->valuestring;
    }
    struct umpire_dataset ds;
    rc = umpire_dataset_read_grouped(data, field, &ds, err);
    struct umpire_dataset_item **sorted = rc == UMPIRE_OK ? malloc(ds.n * sizeof *sorted) : NULL;
    size_t *group_of = rc == UMPIRE_OK ? malloc((set->n ? set->n : 1) * sizeof *group_of) : NULL;
    size_t *idx = rc == UMPIRE_OK ? malloc((set->n ? set->n : 1) * sizeof *idx) : NULL;
    const char **names = rc == UMPIRE_OK ? calloc(set->n ? set->n : 1, sizeof *names) : NULL;
    size_t n_groups = 0, n_grouped = 0;
    if (rc == UMPIRE_OK && (!sorted || !group_of || !idx || !names))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK) {
        for (size_t i = 0; i < ds.n; i++) {
            sorted[i] = &ds.items[i];
            n_grouped += ds.items[i].group != NULL;
        }
        qsort(sorted, ds.n, sizeof *sorted, by_id);
        if (n_grouped == 0)
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no item has the field '%s' to group by", data, field);
    }
    /* each run item's group, groups numbered in order of first appearance */
    for (size_t i = 0; rc == UMPIRE_OK && i < set->n; i++) {
        struct umpire_dataset_item key = {.id = set->items[i].id}, *kp = &key;
        struct umpire_dataset_item **hit = bsearch(&kp, sorted, ds.n, sizeof *sorted, by_id);
        if (!hit) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s/items.jsonl: item '%.60s' is not in %s", run_dir, set->items[i].id, data);
            break;
        }
        const char *g = (*hit)->group ? (*hit)->group : "(none)";
        size_t k = 0;
        while (k < n_groups && strcmp(names[k], g))
            k++;
        if (k == n_groups)
            names[n_groups++] = g;
        group_of[i] = k;
    }
    struct umpire_group_evaluation *ge = rc == UMPIRE_OK ? calloc(n_groups ? n_groups : 1, sizeof *ge) : NULL;
    if (rc == UMPIRE_OK && !ge)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t k = 0; rc == UMPIRE_OK && k < n_groups; k++) {
        size_t m = 0;
        for (size_t i = 0; i < set->n; i++)
            if (group_of[i] == k)
                idx[m++] = i;
        ge[k].n = m;
        if (!(ge[k].group = strdup(names[k])))
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        else
            rc = umpire_evaluate_subset(set, scores, NULL, idx, m, mp, &ge[k].ev, err);
    }
    if (rc == UMPIRE_OK) {
        snprintf(path, sizeof path, "%s/groups.json", run_dir);
        rc = umpire_groups_write(path, field, ge, n_groups, err);
    }
    if (rc == UMPIRE_OK) {
        *out = ge;
        *n_out = n_groups;
    } else {
        umpire_group_evaluations_free(ge, n_groups);
    }
    free(sorted);
    free(group_of);
    free(idx);
    free((void *)names);
    umpire_dataset_free(&ds); /* zeroed by a failed read: freeing it again is harmless */
    cJSON_Delete(cfg);
    return rc;
}
