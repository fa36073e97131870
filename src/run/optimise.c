/* optimise.c - iterative prompt optimisation, as Calibration-MLLM's prompt_tuning/PT.py does it
 * (its ape_algorithm), on umpire's multiple-choice reading (umpire_engine_choose):
 *
 *   kept = seed prompts
 *   n rounds: candidates = kept + m paraphrases of each kept prompt (first occurrence kept)
 *             each candidate on the dev split: its accuracy and ECE (below)
 *             sort by (-floor(accuracy / 0.2), ECE), kept = the first k
 *             the best = the first of a round with a higher accuracy, or the same and a lower ECE
 *
 * A candidate's answer prompt opens the assistant's turn: "<candidate>: (", after the question,
 * its options and "Please provide the option letter directly."; the letter is read greedily, at
 * the first of at most 20 steps whose most probable token is an option letter, and that token's
 * probability is the confidence. As in PT.py, an item where no letter comes is left out of the
 * candidate's accuracy and ECE; a candidate with no letter at all ranks last (PT.py: ECE 10000).
 * ECE: 10 equal-width bins of confidence, min(int(10 conf), 9), sum_b |right_b - conf_b| / n.
 *
 * Unlike PT.py the split is explicit: a seeded dev split ranks the candidates, and the final
 * table measures the seeds, the kept prompts and the best on the held-out rest (the dev split
 * alone overfits). Evaluations are deterministic (greedy), so each (prompt, split) is evaluated
 * once and recorded. The state (every proposal and evaluation, each round's ranking) is
 * rewritten after each step through the safe writer (io/output.h): a killed run resumes where
 * it was and ends with the same result.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "engine/engine.h"
#include "io/atomic.h"
#include "io/output.h"
#include "run/optimise.h"
#include "video/video.h"
#include "run/run.h"

double umpire_py_floordiv(double a, double b) {
    double mod = fmod(a, b), div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0)))
        div -= 1.0;
    if (div == 0)
        return copysign(0.0, a / b);
    double f = floor(div);
    return div - f > 0.5 ? f + 1.0 : f;
}

struct umpire_optimise_params umpire_optimise_default_params(void) {
    static const char *const seeds[] = {UMPIRE_OPTIMISE_SEED_1, UMPIRE_OPTIMISE_SEED_2};
    return (struct umpire_optimise_params){.rounds = UMPIRE_OPTIMISE_ROUNDS,
                                           .keep = UMPIRE_OPTIMISE_KEEP,
                                           .paraphrases = UMPIRE_OPTIMISE_PARAPHRASES,
                                           .seeds = seeds,
                                           .n_seeds = 2,
                                           .dev_fraction = 0.5};
}

/* One candidate's figures on a split. */
struct figures {
    double accuracy, ece; /* ece: INFINITY when no item was answered (PT.py's 10000) */
};

struct optimiser {
    struct umpire_engine *e;
    const struct umpire_optimise_params *p;
    const struct umpire_dataset *data;
    size_t *dev, *held; /* item indices */
    size_t n_dev, n_held;
    cJSON *state; /* {"evaluations": [...], "rounds": [...]} */
    char state_path[4200];
    struct umpire_optimise_progress pr;
};

static int save(struct optimiser *o, char *err) {
    return umpire_write_json(o->state_path, o->state, err);
}

static void notify(struct optimiser *o) {
    if (o->p->progress)
        o->p->progress(&o->pr, o->p->progress_ctx);
}

static const cJSON *find_eval(const struct optimiser *o, const char *prompt, const char *split) {
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o->state, "evaluations")) {
        const cJSON *pp = cJSON_GetObjectItemCaseSensitive(x, "prompt"),
                    *s = cJSON_GetObjectItemCaseSensitive(x, "split");
        if (cJSON_IsString(pp) && cJSON_IsString(s) && !strcmp(pp->valuestring, prompt) &&
            !strcmp(s->valuestring, split))
            return x;
    }
    return NULL;
}

static struct figures figures_of(const cJSON *ev) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(ev, "accuracy"),
                *c = cJSON_GetObjectItemCaseSensitive(ev, "ece");
    return (struct figures){.accuracy = cJSON_IsNumber(a) ? a->valuedouble : 0,
                            .ece = cJSON_IsNumber(c) ? c->valuedouble : INFINITY};
}

/* Evaluate prompt on a split (or find its recorded evaluation). */
static int evaluate(struct optimiser *o, const char *prompt, const char *split, struct figures *f,
                    char *err) {
    const cJSON *have = find_eval(o, prompt, split);
    if (have) {
        *f = figures_of(have);
        return UMPIRE_OK;
    }
    int dev = !strcmp(split, "dev");
    const size_t *idx = dev ? o->dev : o->held, n = dev ? o->n_dev : o->n_held;
    size_t plen = strlen(prompt) + 4;
    char *prefix = malloc(plen), *letters = malloc(n + 1);
    double *conf = malloc((n ? n : 1) * sizeof *conf), *all = malloc((n ? n : 1) * sizeof *all);
    int *right = malloc((n ? n : 1) * sizeof *right), rc = UMPIRE_OK;
    if (!prefix || !letters || !conf || !right || !all)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    size_t answered = 0, n_right = 0;
    if (rc == UMPIRE_OK)
        snprintf(prefix, plen, "%s: (", prompt); /* PT.py: f"{prompt}\n{suffix}: (" */
    o->pr.items = n;
    o->pr.prompt = prompt;
    o->pr.right = o->pr.answered = 0;
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        const struct umpire_dataset_item *di = &o->data->items[idx[i]];
        const char **images; /* its images, then its video's frames */
        size_t n_images;
        struct umpire_frames frames;
        if ((rc = umpire_item_images(di, &images, &n_images, &frames, err)) != UMPIRE_OK)
            break;
        struct umpire_query q = {.question = di->question,
                                 .system = o->p->system,
                                 .images = images,
                                 .n_images = n_images,
                                 .audio = (const char *const *)di->audio,
                                 .n_audio = di->n_audio,
                                 .answer_prefix = prefix};
        struct umpire_choice c;
        rc = umpire_engine_choose(o->e, &q, (const char *const *)di->choices, di->n_choices, 1.0,
                                  &c, NULL, err);
        free(images);
        umpire_frames_free(&frames);
        if (rc != UMPIRE_OK) {
            char inner[UMPIRE_ERR_LEN];
            snprintf(inner, sizeof inner, "%s", err);
            rc = umpire_fail(err, rc, "%s:%zu (id %s): %s", o->p->data_path, di->line, di->id,
                             inner);
            break;
        }
        all[i] = c.confidence;
        letters[i] = '?';
        if (c.choice < c.n) {
            char letter = (char)('A' + c.choice);
            /* an unanswerable item is right when its "I don't know" option is chosen (as eval) */
            int ok = di->answerable ? umpire_judge_letter(letter, (const char *const *)di->answers,
                                                          di->n_answers)
                                    : umpire_is_refusal(di->choices[c.choice]);
            letters[i] = letter;
            conf[answered] = c.confidence;
            right[answered++] = ok;
            n_right += (size_t)ok;
        }
        o->pr.item = i + 1;
        o->pr.answered = answered;
        o->pr.right = n_right;
        notify(o);
    }
    if (rc == UMPIRE_OK) {
        letters[n] = '\0';
        f->accuracy = answered ? (double)n_right / (double)answered : 0;
        f->ece = answered ? umpire_ece_confidence(conf, right, answered, UMPIRE_OPTIMISE_ECE_BINS)
                          : INFINITY;
        cJSON *ev = cJSON_CreateObject(), *cs = NULL;
        if (ev) {
            cJSON_AddStringToObject(ev, "prompt", prompt);
            cJSON_AddStringToObject(ev, "split", split);
            cJSON_AddNumberToObject(ev, "n", (double)n);
            cJSON_AddNumberToObject(ev, "answered", (double)answered);
            cJSON_AddNumberToObject(ev, "right", (double)n_right);
            cJSON_AddNumberToObject(ev, "accuracy", f->accuracy);
            if (isfinite(f->ece))
                cJSON_AddNumberToObject(ev, "ece", f->ece);
            else
                cJSON_AddNullToObject(ev, "ece");
            cJSON_AddStringToObject(ev, "letters", letters); /* per item of the split, '?': none */
            cs = cJSON_AddArrayToObject(ev, "confidence");
            for (size_t i = 0; cs && i < n; i++)
                cJSON_AddItemToArray(cs, cJSON_CreateNumber(all[i]));
        }
        if (!ev || !cs)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        else
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o->state, "evaluations"), ev);
        if (!cs)
            cJSON_Delete(ev);
        if (rc == UMPIRE_OK)
            rc = save(o, err);
    }
    free(prefix);
    free(letters);
    free(conf);
    free(all);
    free(right);
    return rc;
}

/* PT.py's sort key, compared: a before b when its accuracy group is higher, or equal with a
 * lower ECE. */
static int ranks_before(double acc_a, double ece_a, double acc_b, double ece_b) {
    double ga = umpire_py_floordiv(acc_a, UMPIRE_OPTIMISE_GROUP_WIDTH);
    double gb = umpire_py_floordiv(acc_b, UMPIRE_OPTIMISE_GROUP_WIDTH);
    return ga != gb ? ga > gb : ece_a < ece_b;
}

void umpire_optimise_rank(const double *accuracy, const double *ece, size_t n, size_t *order) {
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) /* a stable insertion sort, as Python's sort is stable */
        for (size_t j = i; j > 0 && ranks_before(accuracy[order[j]], ece[order[j]],
                                                 accuracy[order[j - 1]], ece[order[j - 1]]);
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

static int add_strings(cJSON *arr, char *const *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateString(s[i]);
        if (!x)
            return UMPIRE_ENOMEM;
        cJSON_AddItemToArray(arr, x);
    }
    return UMPIRE_OK;
}

static int has_string(const cJSON *arr, const char *s) {
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) if (cJSON_IsString(x) && !strcmp(x->valuestring, s)) return 1;
    return 0;
}

/* The round's object in the state (created when missing). */
static cJSON *round_state(struct optimiser *o, size_t r) {
    cJSON *rounds = cJSON_GetObjectItemCaseSensitive(o->state, "rounds");
    cJSON *x = cJSON_GetArrayItem(rounds, (int)r - 1);
    if (x)
        return x;
    x = cJSON_CreateObject();
    if (!x)
        return NULL;
    cJSON_AddNumberToObject(x, "round", (double)r);
    cJSON_AddArrayToObject(x, "proposals");
    cJSON_AddBoolToObject(x, "complete", 0);
    cJSON_AddItemToArray(rounds, x);
    return x;
}

/* One round: proposals (recorded as they come), candidates, dev evaluations, the ranking. */
static int run_round(struct optimiser *o, size_t r, cJSON *kept, cJSON *best, char *err) {
    cJSON *rs = round_state(o, r);
    if (!rs)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    cJSON *props = cJSON_GetObjectItemCaseSensitive(rs, "proposals");
    cJSON *cands = cJSON_CreateArray();
    if (!cands)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc = UMPIRE_OK;
    const cJSON *k;
    o->pr.phase = "propose";
    o->pr.round = r;
    cJSON_ArrayForEach(k, kept) { /* candidates: the kept prompts first, in rank order */
        if (!has_string(cands, k->valuestring))
            cJSON_AddItemToArray(cands, cJSON_CreateString(k->valuestring));
    }
    size_t ki = 0;
    cJSON_ArrayForEach(k, kept) {
        const cJSON *p = NULL, *x;
        cJSON_ArrayForEach(x, props) {
            const cJSON *from = cJSON_GetObjectItemCaseSensitive(x, "from");
            if (cJSON_IsString(from) && !strcmp(from->valuestring, k->valuestring))
                p = x;
        }
        o->pr.candidate = ++ki;
        o->pr.candidates = (size_t)cJSON_GetArraySize(kept);
        o->pr.prompt = k->valuestring;
        if (!p) { /* ask, and record the answer before using it */
            char **got = NULL;
            size_t n_got = 0;
            notify(o);
            rc = o->p->proposer->propose(o->p->proposer->ctx, k->valuestring, o->p->paraphrases, r,
                                         &got, &n_got, err);
            if (rc != UMPIRE_OK) {
                char inner[UMPIRE_ERR_LEN];
                snprintf(inner, sizeof inner, "%s", err);
                rc = umpire_fail(err, rc, "round %zu, paraphrasing \"%s\": %s", r, k->valuestring,
                                 inner);
                break;
            }
            cJSON *np = cJSON_CreateObject();
            cJSON *from = np ? cJSON_AddStringToObject(np, "from", k->valuestring) : NULL;
            cJSON *list = from ? cJSON_AddArrayToObject(np, "paraphrases") : NULL;
            rc = np && list ? add_strings(list, got, n_got) : UMPIRE_ENOMEM;
            for (size_t i = 0; i < n_got; i++)
                free(got[i]);
            free(got);
            if (rc != UMPIRE_OK) {
                cJSON_Delete(np);
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
                break;
            }
            cJSON_AddItemToArray(props, np);
            p = np;
            if ((rc = save(o, err)) != UMPIRE_OK)
                break;
        }
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "paraphrases")) {
            if (x->valuestring[0] &&
                !has_string(cands, x->valuestring)) /* PT.py's set(); empty ones dropped */
                cJSON_AddItemToArray(cands, cJSON_CreateString(x->valuestring));
        }
    }
    size_t n = (size_t)cJSON_GetArraySize(cands);
    struct figures *f = rc == UMPIRE_OK ? malloc((n ? n : 1) * sizeof *f) : NULL;
    size_t *order = rc == UMPIRE_OK ? malloc((n ? n : 1) * sizeof *order) : NULL;
    if (rc == UMPIRE_OK && (!f || !order))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    o->pr.phase = "dev";
    o->pr.candidates = n;
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        o->pr.candidate = i + 1;
        rc = evaluate(o, cJSON_GetArrayItem(cands, (int)i)->valuestring, "dev", &f[i], err);
    }
    if (rc == UMPIRE_OK) {
        double *acc = malloc((n ? n : 1) * sizeof *acc), *ece = malloc((n ? n : 1) * sizeof *ece);
        for (size_t i = 0; acc && ece && i < n; i++) {
            acc[i] = f[i].accuracy;
            ece[i] = f[i].ece;
        }
        if (acc && ece)
            umpire_optimise_rank(acc, ece, n, order); /* ties keep the candidates' order */
        else
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        free(acc);
        free(ece);
    }
    if (rc == UMPIRE_OK) {
        cJSON *ranking = cJSON_CreateArray(), *nk = cJSON_CreateArray();
        for (size_t i = 0; ranking && nk && i < n; i++) {
            const char *s = cJSON_GetArrayItem(cands, (int)order[i])->valuestring;
            cJSON *row = cJSON_CreateObject();
            if (!row)
                break;
            cJSON_AddStringToObject(row, "prompt", s);
            cJSON_AddNumberToObject(row, "accuracy", f[order[i]].accuracy);
            if (isfinite(f[order[i]].ece))
                cJSON_AddNumberToObject(row, "ece", f[order[i]].ece);
            else
                cJSON_AddNullToObject(row, "ece");
            cJSON_AddItemToArray(ranking, row);
            if (i < o->p->keep)
                cJSON_AddItemToArray(nk, cJSON_CreateString(s));
        }
        /* the best so far: PT.py compares the round's first by accuracy, then ECE */
        const cJSON *ba = cJSON_GetObjectItemCaseSensitive(best, "accuracy");
        const cJSON *be = cJSON_GetObjectItemCaseSensitive(best, "ece");
        double best_acc = cJSON_IsNumber(ba) ? ba->valuedouble : 0,
               best_ece = cJSON_IsNumber(be) ? be->valuedouble : INFINITY;
        if (n && (f[order[0]].accuracy > best_acc ||
                  (f[order[0]].accuracy == best_acc && f[order[0]].ece < best_ece))) {
            cJSON_DeleteItemFromObjectCaseSensitive(best, "prompt");
            cJSON_DeleteItemFromObjectCaseSensitive(best, "accuracy");
            cJSON_DeleteItemFromObjectCaseSensitive(best, "ece");
            cJSON_DeleteItemFromObjectCaseSensitive(best, "round");
            cJSON_AddStringToObject(best, "prompt",
                                    cJSON_GetArrayItem(cands, (int)order[0])->valuestring);
            cJSON_AddNumberToObject(best, "accuracy", f[order[0]].accuracy);
            if (isfinite(f[order[0]].ece))
                cJSON_AddNumberToObject(best, "ece", f[order[0]].ece);
            else
                cJSON_AddNullToObject(best, "ece");
            cJSON_AddNumberToObject(best, "round", (double)r);
        }
        cJSON *bestcopy = cJSON_Duplicate(best, 1);
        if (!ranking || !nk || !bestcopy || cJSON_GetArraySize(ranking) != (int)n) {
            cJSON_Delete(ranking);
            cJSON_Delete(nk);
            cJSON_Delete(bestcopy);
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        } else {
            cJSON_AddItemToObject(rs, "candidates", cJSON_Duplicate(cands, 1));
            cJSON_AddItemToObject(rs, "ranking", ranking);
            cJSON_AddItemToObject(rs, "kept", nk);
            cJSON_AddItemToObject(rs, "best", bestcopy);
            cJSON_ReplaceItemInObjectCaseSensitive(rs, "complete", cJSON_CreateBool(1));
            rc = save(o, err);
        }
        o->pr.best_accuracy = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(best, "accuracy"))
                                  ? cJSON_GetObjectItemCaseSensitive(best, "accuracy")->valuedouble
                                  : NAN;
        const cJSON *e2 = cJSON_GetObjectItemCaseSensitive(best, "ece");
        o->pr.best_ece = cJSON_IsNumber(e2) ? e2->valuedouble : NAN;
    }
    free(f);
    free(order);
    cJSON_Delete(cands);
    return rc;
}

static cJSON *config_json(const struct optimiser *o, const char *digest) {
    const struct umpire_optimise_params *p = o->p;
    cJSON *c = cJSON_CreateObject(), *seeds = c ? cJSON_AddArrayToObject(c, "seed_prompts") : NULL;
    if (!seeds)
        return c;
    cJSON_AddStringToObject(c, "model", o->e->params.model_path);
    cJSON_AddStringToObject(c, "mmproj", o->e->params.mmproj_path ? o->e->params.mmproj_path : "");
    cJSON_AddStringToObject(c, "data", p->data_path);
    cJSON_AddStringToObject(c, "data_fnv1a", digest);
    cJSON_AddNumberToObject(c, "rounds", (double)p->rounds);
    cJSON_AddNumberToObject(c, "keep", (double)p->keep);
    cJSON_AddNumberToObject(c, "paraphrases", (double)p->paraphrases);
    for (size_t i = 0; i < p->n_seeds; i++)
        cJSON_AddItemToArray(seeds, cJSON_CreateString(p->seeds[i]));
    cJSON_AddNumberToObject(c, "dev_fraction", p->dev_fraction);
    cJSON_AddNumberToObject(c, "seed", (double)p->seed);
    cJSON_AddStringToObject(c, "system", p->system ? p->system : "");
    cJSON_AddStringToObject(c, "proposer", p->proposer->name);
    cJSON_AddNumberToObject(c, "n_ctx", o->e->params.n_ctx);
    return c;
}

/* A resumed state: the shape this file writes, or a refusal naming what is wrong. */
static int check_state(const cJSON *s, const char *path, char *err) {
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(s, "evaluations");
    const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(s, "rounds"), *x;
    const char *bad = !cJSON_IsObject(s)       ? "not a JSON object"
                      : !cJSON_IsArray(ev)     ? "evaluations: not an array"
                      : !cJSON_IsArray(rounds) ? "rounds: not an array"
                                               : NULL;
    size_t i = 0;
    char what[96];
    cJSON_ArrayForEach(x, (bad ? NULL : ev)) {
        const char *f[] = {"prompt", "split", "letters"};
        for (size_t j = 0; j < 3 && !bad; j++)
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x, f[j])))
                bad = (snprintf(what, sizeof what, "evaluations[%zu].%s: missing or not a string",
                                i, f[j]),
                       what);
        if (!bad && !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(x, "accuracy")))
            bad = (snprintf(what, sizeof what, "evaluations[%zu].accuracy: missing or not a number",
                            i),
                   what);
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(x, (bad ? NULL : rounds)) {
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(x, "proposals"), *y;
        if (!cJSON_IsArray(pr))
            bad = (snprintf(what, sizeof what, "rounds[%zu].proposals: not an array", i), what);
        cJSON_ArrayForEach(y, (bad ? NULL : pr)) {
            const cJSON *ps = cJSON_GetObjectItemCaseSensitive(y, "paraphrases"), *z;
            int ok =
                cJSON_IsString(cJSON_GetObjectItemCaseSensitive(y, "from")) && cJSON_IsArray(ps);
            cJSON_ArrayForEach(z, (ok ? ps : NULL)) ok &= cJSON_IsString(z);
            if (!ok)
                bad = (snprintf(what, sizeof what, "rounds[%zu].proposals: not {from, paraphrases}",
                                i),
                       what);
        }
        if (!bad && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "complete"))) {
            const cJSON *kept = cJSON_GetObjectItemCaseSensitive(x, "kept");
            int ok = cJSON_IsArray(kept) && cJSON_GetArraySize(kept) > 0 &&
                     cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(x, "best"));
            cJSON_ArrayForEach(y, (ok ? kept : NULL)) ok &= cJSON_IsString(y);
            if (!ok)
                bad = (snprintf(what, sizeof what, "rounds[%zu]: complete, but no kept prompts", i),
                       what);
        }
        i++;
    }
    return bad ? umpire_fail(err, UMPIRE_EINVAL,
                             "%s: %s; the state is damaged: restore it, or choose another --out",
                             path, bad)
               : UMPIRE_OK;
}

static int add_row(cJSON *table, struct optimiser *o, const char *prompt, const char *role,
                   char *err) {
    cJSON *x;
    cJSON_ArrayForEach(x, table) {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(x, "prompt")->valuestring, prompt)) {
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(x, "roles"),
                                 cJSON_CreateString(role));
            return UMPIRE_OK;
        }
    }
    cJSON *row = cJSON_CreateObject(), *roles = row ? cJSON_AddArrayToObject(row, "roles") : NULL;
    if (!roles) {
        cJSON_Delete(row);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    cJSON_AddStringToObject(row, "prompt", prompt);
    cJSON_AddItemToArray(roles, cJSON_CreateString(role));
    cJSON_AddItemToArray(table, row);
    (void)o;
    return UMPIRE_OK;
}

static cJSON *split_figures(const cJSON *ev) {
    cJSON *o = cJSON_CreateObject();
    const char *keys[] = {"n", "answered", "right", "accuracy", "ece"};
    for (size_t i = 0; o && i < 5; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, keys[i]);
        cJSON_AddItemToObject(o, keys[i], v ? cJSON_Duplicate(v, 0) : cJSON_CreateNull());
    }
    return o;
}

int umpire_optimise_run(struct umpire_engine *e, const struct umpire_optimise_params *p,
                        cJSON **result, char *err) {
    *result = NULL;
    if (!p->data_path || !p->out_dir || !p->proposer || !p->proposer->propose)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "the dataset, the output directory and a proposer are to be given");
    if (p->rounds < 1 || p->keep < 1 || p->paraphrases < 1 || p->n_seeds < 1)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "rounds, keep, paraphrases and the seed prompts must be >= 1");
    if (!(p->dev_fraction > 0 && p->dev_fraction < 1))
        return umpire_fail(err, UMPIRE_EINVAL, "the dev fraction must be in (0, 1)");
    for (size_t i = 0; i < p->n_seeds; i++)
        if (!p->seeds[i][0])
            return umpire_fail(err, UMPIRE_EINVAL, "seed prompt %zu is empty", i + 1);
    int rc = umpire_eval_check_input(p->out_dir, p->data_path, err);
    if (rc != UMPIRE_OK)
        return rc;
    struct umpire_dataset data;
    if ((rc = umpire_dataset_read(p->data_path, &data, err)) != UMPIRE_OK)
        return rc;
    struct optimiser o = {.e = e, .p = p, .data = &data};
    o.pr.best_accuracy = o.pr.best_ece = NAN;
    o.pr.rounds = p->rounds;
    for (size_t i = 0; i < data.n && rc == UMPIRE_OK; i++)
        if (!data.items[i].n_choices)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: choices: missing; prompt optimisation takes multiple-choice "
                             "items (\"choices\": {\"A\": ..., \"B\": ...})",
                             p->data_path, data.items[i].line);
    if (rc == UMPIRE_OK && data.n < 2)
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: %zu item%s; a dev and a held-out split need at least 2", p->data_path,
                         data.n, data.n == 1 ? "" : "s");
    size_t *sub = rc == UMPIRE_OK ? malloc(data.n * sizeof *sub) : NULL;
    o.dev = rc == UMPIRE_OK ? malloc(data.n * sizeof *o.dev) : NULL;
    o.held = rc == UMPIRE_OK ? malloc(data.n * sizeof *o.held) : NULL;
    if (rc == UMPIRE_OK && (!sub || !o.dev || !o.held))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    size_t m = 0;
    if (rc == UMPIRE_OK)
        rc = umpire_split_draw(data.n, p->dev_fraction, p->seed, UMPIRE_SPLIT_UMPIRE, sub, &m, err);
    if (rc == UMPIRE_OK) {
        for (size_t i = 0, j = 0; i < data.n; i++) {
            if (j < m && sub[j] == i) {
                o.dev[o.n_dev++] = i;
                j++;
            } else {
                o.held[o.n_held++] = i;
            }
        }
        if (!o.n_dev || !o.n_held)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "a dev fraction of %g leaves %s split of %zu items empty",
                             p->dev_fraction, o.n_dev ? "the held-out" : "the dev", data.n);
    }
    free(sub);
    int lock = -1;
    char digest[17];
    cJSON *cfg = NULL;
    if (rc == UMPIRE_OK && mkdir(p->out_dir, 0777) != 0 && errno != EEXIST)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create the directory (%s)", p->out_dir,
                         strerror(errno));
    if (rc == UMPIRE_OK)
        lock = umpire_run_lock(p->out_dir, err, &rc);
    if (rc == UMPIRE_OK && umpire_run_file_digest(p->data_path, digest) != 0)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot read", p->data_path);
    if (rc == UMPIRE_OK && !(cfg = config_json(&o, digest)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    snprintf(o.state_path, sizeof o.state_path, "%s/state.json", p->out_dir);
    if (rc == UMPIRE_OK)
        rc = umpire_run_check_config(p->out_dir, o.state_path, cfg, err);
    struct stat st;
    if (rc == UMPIRE_OK && stat(o.state_path, &st) == 0) { /* resume */
        o.state = umpire_read_json(o.state_path, err, &rc);
        if (o.state)
            rc = check_state(o.state, o.state_path, err);
    } else if (rc == UMPIRE_OK) {
        o.state = cJSON_CreateObject();
        if (!o.state || !cJSON_AddArrayToObject(o.state, "evaluations") ||
            !cJSON_AddArrayToObject(o.state, "rounds"))
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    /* the rounds: completed ones are read back, the first incomplete one is (re)run */
    cJSON *kept = cJSON_CreateArray(), *best = cJSON_CreateObject();
    if (rc == UMPIRE_OK && (!kept || !best))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == UMPIRE_OK && i < p->n_seeds; i++)
        if (!has_string(kept, p->seeds[i]))
            cJSON_AddItemToArray(kept, cJSON_CreateString(p->seeds[i]));
    for (size_t r = 1; rc == UMPIRE_OK && r <= p->rounds; r++) {
        cJSON *rs =
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o.state, "rounds"), (int)r - 1);
        if (rs && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rs, "complete"))) {
            cJSON_Delete(kept);
            cJSON_Delete(best);
            kept = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rs, "kept"), 1);
            best = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rs, "best"), 1);
            if (!kept || !best)
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            continue;
        }
        rc = run_round(&o, r, kept, best, err);
        if (rc == UMPIRE_OK) {
            cJSON *nk = cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(
                    rs ? rs
                       : cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o.state, "rounds"),
                                            (int)r - 1),
                    "kept"),
                1);
            cJSON_Delete(kept);
            kept = nk;
            if (!kept)
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        }
    }
    /* the final table, on the held-out split: the seeds, the prompts kept last, the best */
    cJSON *table = rc == UMPIRE_OK ? cJSON_CreateArray() : NULL;
    if (rc == UMPIRE_OK && !table)
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == UMPIRE_OK && i < p->n_seeds; i++)
        rc = add_row(table, &o, p->seeds[i], "seed", err);
    const cJSON *x;
    cJSON_ArrayForEach(x, (rc == UMPIRE_OK ? kept : NULL)) if (rc == UMPIRE_OK) rc =
        add_row(table, &o, x->valuestring, "kept", err);
    const cJSON *bp = cJSON_GetObjectItemCaseSensitive(best, "prompt");
    if (rc == UMPIRE_OK && cJSON_IsString(bp))
        rc = add_row(table, &o, bp->valuestring, "best", err);
    o.pr.phase = "held-out";
    o.pr.round = p->rounds + 1;
    o.pr.candidates = (size_t)cJSON_GetArraySize(table);
    size_t ti = 0;
    cJSON *row;
    cJSON_ArrayForEach(row, (rc == UMPIRE_OK ? table : NULL)) {
        const char *prompt = cJSON_GetObjectItemCaseSensitive(row, "prompt")->valuestring;
        struct figures f;
        o.pr.candidate = ++ti;
        if (rc == UMPIRE_OK)
            rc = evaluate(&o, prompt, "dev", &f,
                          err); /* a seed ranked in round 1: recorded already */
        if (rc == UMPIRE_OK)
            rc = evaluate(&o, prompt, "held-out", &f, err);
        if (rc == UMPIRE_OK) {
            cJSON_AddItemToObject(row, "dev", split_figures(find_eval(&o, prompt, "dev")));
            cJSON_AddItemToObject(row, "held_out",
                                  split_figures(find_eval(&o, prompt, "held-out")));
        }
    }
    if (rc == UMPIRE_OK) {
        cJSON *res = cJSON_CreateObject(),
              *rounds = res ? cJSON_AddArrayToObject(res, "rounds") : NULL;
        if (!rounds) {
            cJSON_Delete(res);
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        } else {
            cJSON_AddItemToObject(res, "config", cJSON_Duplicate(cfg, 1));
            cJSON_AddNumberToObject(res, "n_dev", (double)o.n_dev);
            cJSON_AddNumberToObject(res, "n_held_out", (double)o.n_held);
            cJSON *dev_ids = cJSON_AddArrayToObject(res, "dev_ids"),
                  *held_ids = cJSON_AddArrayToObject(res, "held_out_ids");
            for (size_t i = 0; dev_ids && i < o.n_dev; i++)
                cJSON_AddItemToArray(dev_ids, cJSON_CreateString(data.items[o.dev[i]].id));
            for (size_t i = 0; held_ids && i < o.n_held; i++)
                cJSON_AddItemToArray(held_ids, cJSON_CreateString(data.items[o.held[i]].id));
            cJSON_AddItemToObject(res, "best", cJSON_Duplicate(best, 1));
            const cJSON *rs;
            cJSON_ArrayForEach(rs, cJSON_GetObjectItemCaseSensitive(o.state, "rounds")) {
                cJSON *one = cJSON_CreateObject();
                cJSON_AddItemToObject(
                    one, "round",
                    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rs, "round"), 0));
                cJSON_AddItemToObject(
                    one, "ranking",
                    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rs, "ranking"), 1));
                cJSON_AddItemToObject(
                    one, "kept", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rs, "kept"), 1));
                cJSON_AddItemToArray(rounds, one);
            }
            cJSON_AddItemToObject(res, "table", table);
            table = NULL;
            char path[4200];
            snprintf(path, sizeof path, "%s/result.json", p->out_dir);
            rc = umpire_write_json(path, res, err);
            if (rc == UMPIRE_OK)
                *result = res;
            else
                cJSON_Delete(res);
        }
    }
    cJSON_Delete(table);
    cJSON_Delete(kept);
    cJSON_Delete(best);
    cJSON_Delete(cfg);
    cJSON_Delete(o.state);
    free(o.dev);
    free(o.held);
    umpire_dataset_free(&data);
    if (lock >= 0)
        close(lock);
    return rc;
}
