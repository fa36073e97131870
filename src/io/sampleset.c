/* sampleset.c - read the sample-set JSONL (DESIGN.md): one item a line, each with k sampled
 * answers (text, log-probs, optional embedding / entropies), optional greedy answer and
 * correctness label. Every problem is reported as "FILE:LINE: field: problem". */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/npy.h"
#include "umpire.h"

/* Logprobs a little above 0 come from rounding in other tools; beyond this they are wrong. */
#define LOGPROB_SLACK 1e-4

struct reader {
    const char *path;
    size_t line;
    char *err;
    char dir[4096]; /* the JSONL file's directory, for relative .npy paths */
    struct {
        char *path;
        struct umpire_npy a;
    } npy[8];
    size_t n_repaired;                  /* texts with ill-formed UTF-8, now with U+FFFD */
    char repaired[UMPIRE_ERR_LEN - 64]; /* the first of them: "FILE:LINE: field" */
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail_at(struct reader *r, const char *field, const char *fmt, ...) {
    char msg[UMPIRE_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return umpire_fail(r->err, UMPIRE_EINVAL, "%s:%zu: %s: %s", r->path, r->line, field, msg);
}

static int oom(struct reader *r) {
    return umpire_fail(r->err, UMPIRE_ENOMEM, "%s:%zu: out of memory", r->path, r->line);
}

/* A JSON array of finite numbers into a new double array; *n receives the length. */
static int read_numbers(struct reader *r, const cJSON *a, const char *field, double **out, size_t *n) {
    if (!cJSON_IsArray(a))
        return fail_at(r, field, "expected an array of numbers");
    size_t m = (size_t)cJSON_GetArraySize(a), i = 0;
    double *v = malloc((m ? m : 1) * sizeof *v);
    if (!v)
        return oom(r);
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) {
            free(v);
            return fail_at(r, field, "element %zu is not a finite number", i);
        }
        v[i++] = x->valuedouble;
    }
    *out = v;
    *n = m;
    return 0;
}

/* An array of log-probabilities, one per token (n_tokens values, each <= 0 up to rounding). */
static int read_logprobs(struct reader *r, const cJSON *lp, const char *field, size_t n_tokens, double **out) {
    size_t m;
    int rc = read_numbers(r, lp, field, out, &m);
    if (rc)
        return rc;
    if (m != n_tokens)
        return fail_at(r, field, "%zu values for %zu tokens", m, n_tokens);
    for (size_t t = 0; t < m; t++)
        if ((*out)[t] > LOGPROB_SLACK)
            return fail_at(r, field, "element %zu is %g, a log-probability must be <= 0", t, (*out)[t]);
    return 0;
}

/* Token entropies, one per token, >= 0. */
static int read_entropies(struct reader *r, const cJSON *ent, const char *field, size_t n_tokens, double **out) {
    size_t m;
    int rc = read_numbers(r, ent, field, out, &m);
    if (rc)
        return rc;
    if (m != n_tokens)
        return fail_at(r, field, "%zu values for %zu tokens", m, n_tokens);
    for (size_t t = 0; t < m; t++)
        if ((*out)[t] < 0)
            return fail_at(r, field, "element %zu is negative", t);
    return 0;
}

/* A hidden state of the same width as the item's others (*dim: 0 until the first). */
static int read_state(struct reader *r, const cJSON *v, const char *field, size_t *dim, float **out) {
    double *x;
    size_t m;
    int rc = read_numbers(r, v, field, &x, &m);
    if (rc)
        return rc;
    if (m == 0 || (*dim && m != *dim)) {
        free(x);
        return m ? fail_at(r, field, "width %zu, other samples of this item have %zu", m, *dim)
                 : fail_at(r, field, "empty");
    }
    *dim = m;
    if (!(*out = malloc(m * sizeof **out))) {
        free(x);
        return oom(r);
    }
    for (size_t j = 0; j < m; j++) {
        if (fabs(x[j]) > FLT_MAX) { /* stored as float32, as the engine's states are */
            rc = fail_at(r, field, "element %zu is %g, beyond float32's range (+-%g)", j, x[j], FLT_MAX);
            free(x);
            return rc;
        }
        (*out)[j] = (float)x[j];
    }
    free(x);
    return 0;
}

static int read_answer(struct reader *r, const cJSON *o, const char *where, struct umpire_answer *a,
                       size_t *dim, size_t *dim_middle) {
    char field[96];
    if (!cJSON_IsObject(o))
        return fail_at(r, where, "expected an object");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
    snprintf(field, sizeof field, "%s.text", where);
    if (!cJSON_IsString(text))
        return fail_at(r, field, text ? "expected a string" : "missing");
    /* a model's answer cut at the token limit can end inside a character: repaired, counted */
    size_t n_bad;
    if (!(a->text = umpire_utf8_repair(text->valuestring, strlen(text->valuestring), &n_bad)))
        return oom(r);
    if (n_bad && !r->n_repaired++)
        snprintf(r->repaired, sizeof r->repaired, "%s:%zu: %s", r->path, r->line, field);
    snprintf(field, sizeof field, "%s.logprobs", where);
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(o, "logprobs");
    if (!lp)
        return fail_at(r, field, "missing");
    if (!cJSON_IsArray(lp))
        return fail_at(r, field, "expected an array of numbers");
    a->n_tokens = (size_t)cJSON_GetArraySize(lp);
    if (a->n_tokens == 0)
        return fail_at(r, field, "empty (the EOS token's log-probability is always there)");
    int rc = read_logprobs(r, lp, field, a->n_tokens, &a->logprobs);
    static const struct {
        const char *name;
        int logprobs; /* else entropies */
        size_t offset;
    } per_token[] = {{"entropies", 0, offsetof(struct umpire_answer, entropies)},
                     {"raw_logprobs", 1, offsetof(struct umpire_answer, raw_logprobs)},
                     {"raw_entropies", 0, offsetof(struct umpire_answer, raw_entropies)}};
    for (size_t i = 0; i < 3 && !rc; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, per_token[i].name);
        if (!v || cJSON_IsNull(v))
            continue;
        double **dst = (double **)((char *)a + per_token[i].offset);
        snprintf(field, sizeof field, "%s.%s", where, per_token[i].name);
        rc = per_token[i].logprobs ? read_logprobs(r, v, field, a->n_tokens, dst)
                                   : read_entropies(r, v, field, a->n_tokens, dst);
    }
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    if (!rc && tok && !cJSON_IsNull(tok)) {
        double *v;
        size_t m;
        snprintf(field, sizeof field, "%s.tokens", where);
        if (!(rc = read_numbers(r, tok, field, &v, &m))) {
            if (m != a->n_tokens)
                rc = fail_at(r, field, "%zu token ids for %zu log-probs", m, a->n_tokens);
            for (size_t t = 0; !rc && t < m; t++)
                if (v[t] < 0 || v[t] > 2147483647.0 || v[t] != floor(v[t]))
                    rc = fail_at(r, field, "element %zu is not a token id", t);
            if (!rc && !(a->tokens = malloc(m * sizeof *a->tokens)))
                rc = umpire_fail(r->err, UMPIRE_ENOMEM, "out of memory");
            for (size_t t = 0; !rc && t < m; t++)
                a->tokens[t] = (int32_t)v[t];
            free(v);
        }
    }
    const cJSON *emb = cJSON_GetObjectItemCaseSensitive(o, "embedding");
    if (!rc && dim && emb && !cJSON_IsNull(emb)) {
        snprintf(field, sizeof field, "%s.embedding", where);
        rc = read_state(r, emb, field, dim, &a->embedding);
    }
    const cJSON *mid = cJSON_GetObjectItemCaseSensitive(o, "middle");
    if (!rc && dim_middle && mid && !cJSON_IsNull(mid)) {
        snprintf(field, sizeof field, "%s.middle", where);
        rc = read_state(r, mid, field, dim_middle, &a->middle);
    }
    const cJSON *fin = cJSON_GetObjectItemCaseSensitive(o, "finish");
    if (!rc && fin && !cJSON_IsNull(fin)) {
        snprintf(field, sizeof field, "%s.finish", where);
        int f = 0;
        for (int i = UMPIRE_FINISH_EOS; i <= UMPIRE_FINISH_LENGTH && cJSON_IsString(fin); i++)
            if (!strcmp(fin->valuestring, umpire_finish_name((enum umpire_finish)i)))
                f = i;
        if (!f)
            return fail_at(r, field, "expected \"eos\", \"stop\" or \"length\"");
        a->finish = (enum umpire_finish)f;
    }
    return rc;
}

static const struct umpire_npy *npy_get(struct reader *r, const char *file, int *rc) {
    char path[8192];
    if (file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", r->dir, file);
    size_t slots = sizeof r->npy / sizeof r->npy[0], i;
    for (i = 0; i < slots && r->npy[i].path; i++)
        if (!strcmp(r->npy[i].path, path))
            return &r->npy[i].a;
    if (i == slots) { /* evict the oldest */
        free(r->npy[0].path);
        umpire_npy_free(&r->npy[0].a);
        memmove(&r->npy[0], &r->npy[1], (slots - 1) * sizeof r->npy[0]);
        i = slots - 1;
        r->npy[i].path = NULL;
    }
    char err[UMPIRE_ERR_LEN];
    if ((*rc = umpire_npy_read(path, &r->npy[i].a, err)) != 0) {
        *rc = fail_at(r, "embedding_npy.file", "%s", err);
        return NULL;
    }
    r->npy[i].path = strdup(path);
    return &r->npy[i].a;
}

/* {"file": "emb.npy", "rows": [r_1, ..., r_k]}: sample i's embedding is row r_i. */
static int read_npy_embeddings(struct reader *r, const cJSON *spec, struct umpire_item *it) {
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(spec, "file");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(spec, "rows");
    if (!cJSON_IsString(file))
        return fail_at(r, "embedding_npy.file", "expected a path string");
    if (!cJSON_IsArray(rows) || (size_t)cJSON_GetArraySize(rows) != it->k)
        return fail_at(r, "embedding_npy.rows", "expected %zu row indices, one per sample", it->k);
    int rc = 0;
    const struct umpire_npy *a = npy_get(r, file->valuestring, &rc);
    if (!a)
        return rc;
    it->dim = a->cols;
    size_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, rows) {
        double v = cJSON_IsNumber(x) ? x->valuedouble : -1;
        if (v < 0 || v != floor(v) || v >= (double)a->rows)
            return fail_at(r, "embedding_npy.rows", "element %zu is not a row of %s (it has %zu)", i,
                        file->valuestring, a->rows);
        float *e = malloc(a->cols * sizeof *e);
        if (!e)
            return oom(r);
        memcpy(e, a->data + (size_t)v * a->cols, a->cols * sizeof *e);
        it->samples[i++].embedding = e;
    }
    return 0;
}

/* The extra passes' results: "p_true" and "verbalised" in [0, 1], "entailment" k x k in [0, 1]. */
static int read_extras(struct reader *r, const cJSON *o, struct umpire_item *it) {
    static const struct {
        const char *name;
        unsigned flag;
        size_t offset;
    } scalars[] = {{"p_true", UMPIRE_HAS_P_TRUE, offsetof(struct umpire_item, p_true)},
                   {"verbalised", UMPIRE_HAS_VERBALISED, offsetof(struct umpire_item, verbalised)}};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, scalars[i].name);
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return fail_at(r, scalars[i].name, "expected a probability in [0, 1] or null");
        *(double *)((char *)it + scalars[i].offset) = v->valuedouble;
        it->extras |= scalars[i].flag;
    }
    const cJSON *gr = cJSON_GetObjectItemCaseSensitive(o, "gradients");
    if (gr && !cJSON_IsNull(gr)) { /* {"semgrad", "exgrad", "hybridgrad"}: finite, >= 0 */
        static const char *names[] = {"semgrad", "exgrad", "hybridgrad"};
        double *dst[] = {&it->semgrad, &it->exgrad, &it->hybridgrad};
        if (!cJSON_IsObject(gr))
            return fail_at(r, "gradients", "expected an object {\"semgrad\", \"exgrad\", \"hybridgrad\"}");
        for (size_t i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(gr, names[i]);
            char field[32];
            snprintf(field, sizeof field, "gradients.%s", names[i]);
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && isfinite(v->valuedouble)))
                return fail_at(r, field, "expected a finite number >= 0");
            *dst[i] = v->valuedouble;
        }
        it->extras |= UMPIRE_HAS_GRADIENTS;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "entailment");
    if (!m || cJSON_IsNull(m))
        return 0;
    if (!cJSON_IsArray(m) || (size_t)cJSON_GetArraySize(m) != it->k)
        return fail_at(r, "entailment", "expected %zu rows (one per sample)", it->k);
    if (!(it->entailment = malloc(it->k * it->k * sizeof *it->entailment)))
        return oom(r);
    size_t i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, m) {
        char field[48];
        snprintf(field, sizeof field, "entailment[%zu]", i);
        double *v;
        size_t n;
        int rc = read_numbers(r, row, field, &v, &n);
        if (rc)
            return rc;
        for (size_t j = 0; j < n && n == it->k; j++)
            if (!(v[j] >= 0 && v[j] <= 1)) {
                free(v);
                return fail_at(r, field, "element %zu is not a probability", j);
            }
        if (n != it->k) {
            free(v);
            return fail_at(r, field, "%zu values, expected %zu", n, it->k);
        }
        memcpy(it->entailment + i++ * it->k, v, n * sizeof *v);
        free(v);
    }
    it->extras |= UMPIRE_HAS_ENTAILMENT;
    return 0;
}

/* {"letter": "B" or null, "confidence": p, "temperature"?: T, "step"?: n, "p": [per option]} */
static int read_choice(struct reader *r, const cJSON *c, struct umpire_item *it) {
    if (!c || cJSON_IsNull(c))
        return 0;
    if (!cJSON_IsObject(c))
        return fail_at(r, "choice", "expected an object");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(c, "p"), *letter = cJSON_GetObjectItemCaseSensitive(c, "letter");
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(c, "confidence");
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(c, "temperature"), *step = cJSON_GetObjectItemCaseSensitive(c, "step");
    double *v;
    size_t n;
    int rc = read_numbers(r, p, "choice.p", &v, &n);
    if (rc)
        return rc;
    struct umpire_choice *ch = &it->choice;
    if (n < 2 || n > 26) {
        free(v);
        return fail_at(r, "choice.p", "%zu options; multiple choice takes 2..26", n);
    }
    ch->n = n;
    for (size_t i = 0; i < n; i++)
        ch->p[i] = v[i];
    free(v);
    for (size_t i = 0; i < n; i++)
        if (!(ch->p[i] >= 0 && ch->p[i] <= 1))
            return fail_at(r, "choice.p", "element %zu is not a probability", i);
    ch->choice = n;
    if (cJSON_IsString(letter) && strlen(letter->valuestring) == 1 && letter->valuestring[0] >= 'A' &&
        (size_t)(letter->valuestring[0] - 'A') < n)
        ch->choice = (size_t)(letter->valuestring[0] - 'A');
    else if (!cJSON_IsNull(letter))
        return fail_at(r, "choice.letter", "expected one of the %zu option letters, or null", n);
    if (!cJSON_IsNumber(conf) || !(conf->valuedouble >= 0 && conf->valuedouble <= 1))
        return fail_at(r, "choice.confidence", "expected a probability");
    ch->confidence = conf->valuedouble;
    ch->temp = cJSON_IsNumber(temp) ? temp->valuedouble : 1.0;
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(c, "tokens");
    if (tokens && !cJSON_IsNull(tokens)) {
        if ((rc = read_numbers(r, tokens, "choice.tokens", &v, &n)))
            return rc;
        int ok = n == ch->n;
        for (size_t i = 0; ok && i < n; i++) {
            ok = v[i] >= 0 && v[i] <= 2147483647.0 && v[i] == floor(v[i]);
            ch->token[i] = ok ? (int32_t)v[i] : 0;
        }
        free(v);
        if (!ok)
            return fail_at(r, "choice.tokens", "expected one token id per option");
    }
    ch->step = cJSON_IsNumber(step) ? (int)step->valuedouble : 0;
    it->extras |= UMPIRE_HAS_CHOICE;
    return 0;
}

static int read_item(struct reader *r, const cJSON *o, struct umpire_item *it) {
    if (!cJSON_IsObject(o))
        return fail_at(r, "item", "expected a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char buf[64];
    if (cJSON_IsString(id))
        it->id = strdup(id->valuestring);
    else if (cJSON_IsNumber(id))
        snprintf(buf, sizeof buf, "%.17g", id->valuedouble), it->id = strdup(buf);
    else if (!id)
        snprintf(buf, sizeof buf, "line%zu", r->line), it->id = strdup(buf);
    else
        return fail_at(r, "id", "expected a string or a number");
    if (!it->id)
        return oom(r);
    size_t bad;
    if (!umpire_utf8_valid(it->id, &bad)) /* ids are keys: repairing one could merge two */
        return fail_at(
            r, "id",
            "not valid UTF-8 (byte %zu); an id must be kept exactly, so it is not repaired", bad);
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(o, "samples");
    if (!cJSON_IsArray(samples))
        return fail_at(r, "samples", samples ? "expected an array" : "missing");
    it->k = (size_t)cJSON_GetArraySize(samples);
    if (it->k < 2)
        return fail_at(r, "samples", "k = %zu; UMPIRE and the baselines need at least 2 samples", it->k);
    it->samples = calloc(it->k, sizeof *it->samples);
    if (!it->samples)
        return oom(r);
    const cJSON *probs = cJSON_GetObjectItemCaseSensitive(o, "probs");
    if (probs && !cJSON_IsNull(probs) &&
        (!cJSON_IsString(probs) || umpire_probs_parse(probs->valuestring, &it->probs) != 0 ||
         it->probs == UMPIRE_PROBS_UNSPECIFIED))
        return fail_at(r, "probs", "expected \"sampler\" or \"raw\" (which distribution the log-probs are of)");
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(o, "middle_layer");
    it->middle_layer = -1;
    if (layer && !cJSON_IsNull(layer)) {
        if (!cJSON_IsNumber(layer) || layer->valuedouble < 0 || layer->valuedouble > 1e6 ||
            layer->valuedouble != floor(layer->valuedouble))
            return fail_at(r, "middle_layer", "expected a layer index >= 0");
        it->middle_layer = (int)layer->valuedouble;
    }
    const cJSON *npy = cJSON_GetObjectItemCaseSensitive(o, "embedding_npy");
    size_t i = 0;
    const cJSON *s;
    int rc;
    cJSON_ArrayForEach(s, samples) {
        char where[32];
        snprintf(where, sizeof where, "samples[%zu]", i);
        if ((rc = read_answer(r, s, where, &it->samples[i], npy ? NULL : &it->dim, &it->dim_middle)))
            return rc;
        if (it->samples[i].raw_logprobs && it->probs != UMPIRE_PROBS_SAMPLER) {
            snprintf(where, sizeof where, "samples[%zu].raw_logprobs", i);
            return fail_at(r, where, "only items of \"probs\": \"sampler\" carry raw log-probs besides theirs");
        }
        i++;
    }
    for (i = 0; it->dim_middle && i < it->k; i++)
        if (!it->samples[i].middle) {
            snprintf(buf, sizeof buf, "samples[%zu].middle", i);
            return fail_at(r, buf, "missing, while other samples of this item have one");
        }
    if (npy) {
        if ((rc = read_npy_embeddings(r, npy, it)))
            return rc;
    } else if (it->dim) {
        for (i = 0; i < it->k; i++)
            if (!it->samples[i].embedding) {
                snprintf(buf, sizeof buf, "samples[%zu].embedding", i);
                return fail_at(r, buf, "missing, while other samples of this item have one");
            }
    }
    const cJSON *greedy = cJSON_GetObjectItemCaseSensitive(o, "greedy");
    if (greedy && !cJSON_IsNull(greedy) && (rc = read_answer(r, greedy, "greedy", &it->greedy, NULL, NULL)))
        return rc;
    const cJSON *correct = cJSON_GetObjectItemCaseSensitive(o, "correct");
    if (!correct || cJSON_IsNull(correct))
        it->correct = -1;
    else if (cJSON_IsBool(correct))
        it->correct = cJSON_IsTrue(correct);
    else if (cJSON_IsNumber(correct) && (correct->valuedouble == 0 || correct->valuedouble == 1))
        it->correct = (int)correct->valuedouble;
    else
        return fail_at(r, "correct", "expected true, false, 0, 1 or null");
    if ((rc = read_choice(r, cJSON_GetObjectItemCaseSensitive(o, "choice"), it)))
        return rc;
    return read_extras(r, o, it);
}

static void answer_free(struct umpire_answer *a) {
    free(a->text);
    free(a->tokens);
    free(a->logprobs);
    free(a->entropies);
    free(a->raw_logprobs);
    free(a->raw_entropies);
    free(a->embedding);
    free(a->middle);
}

void umpire_item_free(struct umpire_item *it) {
    for (size_t i = 0; it->samples && i < it->k; i++)
        answer_free(&it->samples[i]);
    free(it->samples);
    answer_free(&it->greedy);
    free(it->id);
    free(it->entailment);
    memset(it, 0, sizeof *it);
}

void umpire_sampleset_free(struct umpire_sampleset *set) {
    for (size_t i = 0; i < set->n; i++)
        umpire_item_free(&set->items[i]);
    free(set->items);
    memset(set, 0, sizeof *set);
}

struct load {
    struct reader r;
    struct umpire_sampleset *out;
    size_t alloc;
};

static int add_item(const cJSON *o, size_t line, void *ctx) {
    struct load *l = ctx;
    struct umpire_sampleset *out = l->out;
    l->r.line = line;
    if (out->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 64;
        struct umpire_item *grown = realloc(out->items, l->alloc * sizeof *grown);
        if (!grown)
            return umpire_fail(l->r.err, UMPIRE_ENOMEM, "%s:%zu: out of memory", l->r.path, line);
        out->items = grown;
    }
    struct umpire_item *it = &out->items[out->n++];
    memset(it, 0, sizeof *it);
    it->line = line;
    return read_item(&l->r, o, it);
}

int umpire_sampleset_read(const char *path, struct umpire_sampleset *out, char *err) {
    memset(out, 0, sizeof *out);
    struct load l = {.r = {.path = path, .err = err}, .out = out};
    snprintf(l.r.dir, sizeof l.r.dir, "%s", path);
    char *slash = strrchr(l.r.dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(l.r.dir, sizeof l.r.dir, ".");
    int rc = umpire_jsonl_each(path, add_item, &l, NULL, err);
    for (size_t i = 0; i < sizeof l.r.npy / sizeof l.r.npy[0]; i++) {
        free(l.r.npy[i].path);
        umpire_npy_free(&l.r.npy[i].a);
    }
    if (rc == UMPIRE_OK && out->n == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no items (the file is empty)", path);
    if (rc != UMPIRE_OK) {
        umpire_sampleset_free(out);
    } else if (l.r.n_repaired) {
        out->n_warnings = l.r.n_repaired;
        snprintf(out->warning, sizeof out->warning, "%s: ill-formed UTF-8 replaced by U+FFFD",
                 l.r.repaired);
    }
    return rc;
}
