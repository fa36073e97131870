/* calibration_json.c - a calibration (score -> P(wrong) map and risk threshold) as JSON:
 *
 *   {"estimator": "umpire", "method": "isotonic", "n": 500, "score_range": [lo, hi],
 *    "score": {"alpha": .., "eps": .., "probs": .., ...},   (what the score means; scores_json.h)
 *    "platt": {"a": .., "b": ..},                      (Platt)
 *    "points": {"x": [..], "y": [..]},                 (isotonic, histogram)
 *    "risk_control": {"risk": 0.1, "delta": 0.05, "threshold": t or null, "risk_bound": ..,
 *                     "answered": m}}                  (when fitted; null: escalate all)
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/utf8.h"
#include "io/atomic.h"
#include "io/scores_json.h"
#include "io/item_json.h"
#include "io/output.h"
#include "io/jsonl.h"
#include "umpire.h"

/* Numbers as umpire_json_number writes them: the shortest text that reads back as the same
 * double (cJSON prints 15 digits when they agree to within an epsilon: isotonic points 1 ulp
 * apart were saved equal, and the map no longer loaded). */
static void add_number(cJSON *o, const char *name, double v) {
    cJSON_AddItemToObject(o, name, umpire_json_number(v));
}

static cJSON *number_array(const double *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, umpire_json_number(v[i]));
    return a;
}

int umpire_calibration_save(const char *path, const struct umpire_calibration *c, char *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "estimator", c->estimator);
    if (c->def.known)
        cJSON_AddItemToObject(o, "score", umpire_score_def_to_json(&c->def));
    cJSON_AddStringToObject(o, "method", umpire_calibration_method_name(c->method));
    add_number(o, "n", (double)c->n);
    double range[2] = {c->lo, c->hi};
    cJSON_AddItemToObject(o, "score_range", number_array(range, 2));
    if (c->method == UMPIRE_CAL_PLATT) {
        cJSON *p = cJSON_AddObjectToObject(o, "platt");
        cJSON_AddItemToObject(p, "a", umpire_json_number(c->a));
        cJSON_AddItemToObject(p, "b", umpire_json_number(c->b));
    } else if (c->method == UMPIRE_CAL_ISOTONIC || c->method == UMPIRE_CAL_HISTOGRAM) {
        cJSON *p = cJSON_AddObjectToObject(o, "points");
        cJSON_AddItemToObject(p, "x", number_array(c->x, c->n_points));
        cJSON_AddItemToObject(p, "y", number_array(c->y, c->n_points));
    }
    if (!isnan(c->threshold)) {
        cJSON *r = cJSON_AddObjectToObject(o, "risk_control");
        cJSON_AddItemToObject(r, "risk", umpire_json_number(c->risk));
        cJSON_AddItemToObject(r, "delta", umpire_json_number(c->delta));
        if (isfinite(c->threshold))
            cJSON_AddItemToObject(r, "threshold", umpire_json_number(c->threshold));
        else
            cJSON_AddNullToObject(r, "threshold");
        if (isfinite(c->risk_bound))
            cJSON_AddItemToObject(r, "risk_bound", umpire_json_number(c->risk_bound));
        else
            cJSON_AddNullToObject(r, "risk_bound");
        add_number(r, "answered", (double)c->n_answered);
    }
    int rc = umpire_write_json(path, o, err);
    cJSON_Delete(o);
    return rc;
}

/* A finite number field of o, or an error naming it. */
static int get_number(const char *path, const cJSON *o, const char *name, double *v, char *err) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
        return umpire_fail(err, UMPIRE_EINVAL, "%s: %s: %s", path, name, x ? "not a finite number" : "missing");
    *v = x->valuedouble;
    return 0;
}

/* A count field of o: a whole number 0..2^53 (a larger double is no exact count, and does not
 * convert to size_t). */
static int get_count(const char *path, const cJSON *o, const char *name, size_t *v, char *err) {
    double x = 0;
    int rc = get_number(path, o, name, &x, err);
    if (rc == 0 && !(x >= 0 && x <= 9007199254740992.0 && x == floor(x)))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: %s: needs a whole number >= 0", path, name);
    if (rc == 0)
        *v = (size_t)x;
    return rc;
}

static int read_points(const char *path, const cJSON *o, struct umpire_calibration *c, char *err) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "points");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "x"), *y = cJSON_GetObjectItemCaseSensitive(p, "y");
    if (!cJSON_IsArray(x) || !cJSON_IsArray(y) || cJSON_GetArraySize(x) != cJSON_GetArraySize(y) ||
        cJSON_GetArraySize(x) == 0)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: points: needs arrays x and y of one non-zero length", path);
    size_t n = (size_t)cJSON_GetArraySize(x);
    c->x = malloc(n * sizeof *c->x);
    c->y = malloc(n * sizeof *c->y);
    if (!c->x || !c->y)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    c->n_points = n;
    for (size_t i = 0; i < n; i++) {
        const cJSON *xi = cJSON_GetArrayItem(x, (int)i), *yi = cJSON_GetArrayItem(y, (int)i);
        if (!cJSON_IsNumber(xi) || !cJSON_IsNumber(yi) || !isfinite(xi->valuedouble) ||
            !(yi->valuedouble >= 0 && yi->valuedouble <= 1))
            return umpire_fail(err, UMPIRE_EINVAL, "%s: points[%zu]: x must be a number, y in [0, 1]", path, i);
        c->x[i] = xi->valuedouble;
        c->y[i] = yi->valuedouble;
        if (i > 0 && !(c->x[i] > c->x[i - 1] && c->y[i] >= (c->method == UMPIRE_CAL_ISOTONIC ? c->y[i - 1] : 0)))
            return umpire_fail(err, UMPIRE_EINVAL, "%s: points[%zu]: x must increase%s", path, i,
                               c->method == UMPIRE_CAL_ISOTONIC ? " and y must not decrease" : "");
    }
    return 0;
}

static int read_risk(const char *path, const cJSON *r, struct umpire_calibration *c, char *err) {
    int rc;
    if ((rc = get_number(path, r, "risk", &c->risk, err)) ||
        (rc = get_number(path, r, "delta", &c->delta, err)) ||
        (rc = get_count(path, r, "answered", &c->n_answered, err)))
        return rc;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "threshold");
    if (cJSON_IsNull(t))
        c->threshold = -INFINITY;
    else if (cJSON_IsNumber(t) && isfinite(t->valuedouble))
        c->threshold = t->valuedouble;
    else
        return umpire_fail(err, UMPIRE_EINVAL, "%s: risk_control.threshold: a number, or null to escalate all", path);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(r, "risk_bound");
    c->risk_bound = cJSON_IsNumber(b) ? b->valuedouble : NAN;
    return 0;
}

int umpire_calibration_load(const char *path, struct umpire_calibration *c, char *err) {
    memset(c, 0, sizeof *c);
    c->threshold = NAN;
    c->risk_bound = NAN;
    int rc = UMPIRE_OK;
    size_t len;
    char *text = umpire_read_file(path, &len, err, &rc);
    cJSON *o = text ? umpire_json_parse(text, len, path, 0, err, &rc) : NULL;
    free(text);
    if (!o)
        return rc;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not a JSON object", path);
    }
    const cJSON *est = cJSON_GetObjectItemCaseSensitive(o, "estimator");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(o, "method");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(o, "score_range");
    if (!cJSON_IsString(est) || strlen(est->valuestring) >= sizeof c->estimator ||
        !umpire_utf8_valid(est->valuestring, NULL))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: estimator: missing or not a short UTF-8 string",
                         path);
    else if (!cJSON_IsString(method) || umpire_calibration_method_parse(method->valuestring, &c->method))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: method: one of minmax, platt, isotonic, histogram", path);
    else if (!cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 ||
             !cJSON_IsNumber(cJSON_GetArrayItem(range, 0)) ||
             !cJSON_IsNumber(cJSON_GetArrayItem(range, 1)) ||
             !isfinite(cJSON_GetArrayItem(range, 0)->valuedouble) ||
             !(cJSON_GetArrayItem(range, 0)->valuedouble <=
               cJSON_GetArrayItem(range, 1)->valuedouble) ||
             !isfinite(cJSON_GetArrayItem(range, 1)->valuedouble))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: score_range: needs [min, max], finite, min <= max", path);
    else
        rc = get_count(path, o, "n", &c->n, err);
    if (rc == UMPIRE_OK) {
        snprintf(c->estimator, sizeof c->estimator, "%s", est->valuestring);
        c->lo = cJSON_GetArrayItem(range, 0)->valuedouble;
        c->hi = cJSON_GetArrayItem(range, 1)->valuedouble;
        if (c->method == UMPIRE_CAL_PLATT) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "platt");
            if (!cJSON_IsObject(p))
                rc = umpire_fail(err, UMPIRE_EINVAL, "%s: platt: missing", path);
            else if (!(rc = get_number(path, p, "a", &c->a, err)))
                rc = get_number(path, p, "b", &c->b, err);
        } else if (c->method != UMPIRE_CAL_MINMAX) {
            rc = read_points(path, o, c, err);
        }
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "risk_control");
    if (rc == UMPIRE_OK && r && !cJSON_IsNull(r))
        rc = read_risk(path, r, c, err);
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(o, "score");
    char why[96];
    if (rc == UMPIRE_OK && def && umpire_score_def_from_json(def, &c->def, why, sizeof why) != 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: score: %s", path, why);
    cJSON_Delete(o);
    if (rc != UMPIRE_OK)
        umpire_calibration_free(c);
    return rc;
}
