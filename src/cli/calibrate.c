/* calibrate.c - `umpire calibrate`: turn a score into an error probability and a decision.
 *   fit          fit a map (and a risk-controlled threshold) on labelled scored items
 *   apply        add p_error and the verdict (answer / escalate) to scored items
 *   temperature  temperature scaling of option-letter logits */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/status.h"
#include "io/item_json.h"
#include "io/jsonl.h"
#include "io/output.h"
#include "io/scores_json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: umpire calibrate fit SCORED.jsonl -o CAL.json [options]\n"
            "       umpire calibrate apply CAL.json SCORED.jsonl [-o OUT.jsonl]\n"
            "       umpire calibrate temperature LOGITS.jsonl [-o T.json]\n"
            "       umpire calibrate temperature --from RUN_DIR [--holdout F] [--seed S] [--grid] [-o T.json]\n\n"
            "(-o -: standard output; the messages then go to standard error. An output may not be\n"
            "one of the inputs.)\n\n"
            "fit: map an estimator's score to P(answer wrong), fitted on labelled scored items\n"
            "(umpire score -o), and optionally the threshold that answers as many questions as\n"
            "possible while the error rate among answered ones stays <= RISK with confidence\n"
            "1 - DELTA (Clopper-Pearson bounds, selection with guaranteed risk).\n"
            "  --estimator NAME     the score to calibrate (default umpire)\n"
            "  --method M           minmax | platt | isotonic | histogram (default isotonic)\n"
            "  --bins N             histogram bins (default 10)\n"
            "  --risk R --delta D   fit the threshold too (e.g. --risk 0.1 --delta 0.05)\n"
            "  --labels FILE        labels from {\"id\", \"correct\"} lines instead of the items'\n"
            "  --holdout F          fit on 1 - F of the items, report ECE / Brier on F (seeded)\n"
            "  --seed S             holdout split seed (default 0)\n"
            "apply: one line per item: {\"id\", \"score\", \"p_error\", \"verdict\"}; the verdict is\n"
            "\"answer\" when score <= threshold, else \"escalate\" (only when the file has a threshold).\n"
            "temperature: lines {\"logits\": [..], \"label\": k}; prints the T minimising the NLL,\n"
            "and NLL / ECE of the top option's probability before and after. With --from, a run of\n"
            "`umpire eval --choice-logits`: the full-vocabulary softmax at each multiple-choice letter\n"
            "(as Calibration-MLLM's TS.py), T fitted on 1 - F of the items (default F 0.5, seeded) and\n"
            "NLL / ECE (TS.py's: 10 bins of the top token's probability) before and after on the other\n"
            "F; --grid: the reference's T = 0.01 .. 9.99 grid instead of the NLL optimum.\n\n"
            "examples:\n"
            "  umpire calibrate fit scored.jsonl --method isotonic --risk 0.1 --delta 0.05 -o cal.json\n"
            "  umpire calibrate apply cal.json new-scored.jsonl -o decisions.jsonl\n"
            "  umpire calibrate temperature mc-logits.jsonl\n");
}

static int estimator_index(const struct umpire_scored_file *sf, const char *name) {
    for (size_t e = 0; e < sf->n_estimators; e++)
        if (!strcmp(sf->names[e], name))
            return (int)e;
    return -1;
}

static void report(FILE *f, const char *what, const double *p, const int *wrong, size_t n) {
    double brier = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(p[i])) {
            brier += (p[i] - (wrong[i] != 0)) * (p[i] - (wrong[i] != 0));
            m++;
        }
    fprintf(f, "  %-26s ECE %.4f   Brier %.4f   (%zu items)\n", what, umpire_ece(p, wrong, n, 10, 0),
           m ? brier / (double)m : NAN, n);
}

static int calibrate_fit(int argc, char **argv) {
    const char *out = NULL, *estimator = "umpire", *labels = NULL;
    enum umpire_calibration_method method = UMPIRE_CAL_ISOTONIC;
    double risk = NAN, delta = NAN, holdout = 0;
    uint64_t bins = 10, seed = 0;
    enum { O_EST = 256, O_METHOD, O_BINS, O_RISK, O_DELTA, O_LABELS, O_HOLDOUT, O_SEED };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},      {"estimator", required_argument, 0, O_EST},
        {"method", required_argument, 0, O_METHOD}, {"bins", required_argument, 0, O_BINS},
        {"risk", required_argument, 0, O_RISK},     {"delta", required_argument, 0, O_DELTA},
        {"labels", required_argument, 0, O_LABELS}, {"holdout", required_argument, 0, O_HOLDOUT},
        {"seed", required_argument, 0, O_SEED},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_EST: estimator = optarg; break;
        case O_METHOD:
            if (umpire_calibration_method_parse(optarg, &method)) {
                fprintf(stderr, "umpire calibrate: --method: '%s' is not minmax, platt, isotonic or histogram\n", optarg);
                return 2;
            }
            break;
        case O_BINS:
            if (cli_parse_u64("calibrate", "--bins", optarg, &bins) || bins == 0)
                return 2;
            break;
        case O_RISK:
            if (cli_parse_double("calibrate", "--risk", optarg, &risk))
                return 2;
            break;
        case O_DELTA:
            if (cli_parse_double("calibrate", "--delta", optarg, &delta))
                return 2;
            break;
        case O_LABELS: labels = optarg; break;
        case O_HOLDOUT:
            if (cli_parse_double("calibrate", "--holdout", optarg, &holdout) || !(holdout >= 0 && holdout < 1)) {
                fprintf(stderr, "umpire calibrate: --holdout: needs a fraction in [0, 1)\n");
                return 2;
            }
            break;
        case O_SEED:
            if (cli_parse_u64("calibrate", "--seed", optarg, &seed))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || !out) {
        fprintf(stderr, "umpire calibrate fit: %s\n", !out ? "-o CAL.json is required" : "one SCORED.jsonl is required");
        return 2;
    }
    if (isnan(risk) != isnan(delta)) {
        fprintf(stderr, "umpire calibrate fit: --risk and --delta go together\n");
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    struct umpire_scored_file sf;
    if (umpire_output_check(out, argv[optind], err) != 0 || (labels && umpire_output_check(out, labels, err) != 0) ||
        umpire_scored_read(argv[optind], &sf, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
        return 1;
    }
    FILE *msg = strcmp(out, "-") ? stdout : stderr; /* -o -: the map on stdout, nothing else */
    int rc = 1, e = estimator_index(&sf, estimator);
    double *score = malloc(sf.n * sizeof *score), *p = malloc(sf.n * sizeof *p);
    int *wrong = malloc(sf.n * sizeof *wrong), *held = calloc(sf.n, sizeof *held);
    size_t *idx = malloc(sf.n * sizeof *idx);
    struct umpire_calibration cal = {.threshold = NAN};
    if (!score || !p || !wrong || !held || !idx) {
        fprintf(stderr, "umpire calibrate: out of memory\n");
        goto done;
    }
    if (e < 0) {
        fprintf(stderr, "umpire calibrate: %s: no estimator '%s' in the scored items\n", argv[optind], estimator);
        goto done;
    }
    if (labels && umpire_scored_apply_labels(&sf, labels, err) < 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
        goto done;
    }
    if (holdout > 0) {
        size_t nh = 0;
        if (umpire_split_draw(sf.n, holdout, seed, UMPIRE_SPLIT_UMPIRE, idx, &nh, err) != 0) {
            fprintf(stderr, "umpire calibrate: %s\n", err);
            goto done;
        }
        for (size_t j = 0; j < nh; j++)
            held[idx[j]] = 1;
    }
    /* the fitting set: labelled, not held out */
    size_t m = 0;
    for (size_t i = 0; i < sf.n; i++)
        if (sf.correct[i] >= 0 && !held[i]) {
            score[m] = sf.scores[i * sf.n_estimators + (size_t)e];
            wrong[m++] = !sf.correct[i];
        }
    if (umpire_calibration_fit(score, wrong, m, method, (size_t)bins, &cal, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s: %s\n", argv[optind], err);
        goto done;
    }
    snprintf(cal.estimator, sizeof cal.estimator, "%s", estimator);
    cal.def = sf.def; /* what the score means travels with its map */
    if (!sf.def.known)
        fprintf(stderr, "umpire calibrate: note: %s does not record how its scores were computed (scored by an "
                        "earlier umpire); `ask --calibration` will refuse this calibration\n", argv[optind]);
    if (!isnan(risk) && umpire_risk_threshold(score, wrong, m, risk, delta, &cal, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
        goto done;
    }
    if (umpire_calibration_save(out, &cal, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
        goto done;
    }
    fprintf(msg, "%s map of '%s' fitted on %zu labelled items -> %s\n", umpire_calibration_method_name(method),
           estimator, cal.n, out);
    for (size_t i = 0; i < m; i++)
        p[i] = umpire_calibration_apply(&cal, score[i]);
    report(msg, "fitting set (in-sample):", p, wrong, m);
    if (holdout > 0) {
        size_t h = 0;
        for (size_t i = 0; i < sf.n; i++)
            if (sf.correct[i] >= 0 && held[i]) {
                double s = sf.scores[i * sf.n_estimators + (size_t)e];
                p[h] = umpire_calibration_apply(&cal, s);
                wrong[h++] = !sf.correct[i];
            }
        report(msg, "held-out:", p, wrong, h);
    }
    if (!isnan(risk)) {
        if (cal.n_answered == 0)
            fprintf(msg, "  risk control: no threshold keeps the error rate <= %.3g with confidence %.3g:"
                         " escalate everything\n", risk, 1 - delta);
        else
            fprintf(msg, "  risk control: answer when %s <= %.6g: %zu of %zu answered (%.1f%%), error rate"
                         " <= %.4f with confidence %.3g\n", estimator, cal.threshold, cal.n_answered, m,
                    100.0 * (double)cal.n_answered / (double)m, cal.risk_bound, 1 - delta);
    }
    rc = 0;
done:
    umpire_calibration_free(&cal);
    umpire_scored_free(&sf);
    free(score);
    free(p);
    free(wrong);
    free(held);
    free(idx);
    return rc;
}

/* The options apply and temperature share: -o FILE and --help. Returns -1 to go on, else the
 * exit status. */
static int output_only(int argc, char **argv, const char **out) {
    static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') {
            *out = optarg;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    return -1;
}

static int calibrate_apply(int argc, char **argv) {
    const char *out = "-";
    int done = output_only(argc, argv, &out);
    if (done >= 0)
        return done;
    if (optind + 2 != argc) {
        fprintf(stderr, "umpire calibrate apply: needs CAL.json and SCORED.jsonl\n");
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    struct umpire_calibration cal;
    struct umpire_scored_file sf;
    if (umpire_output_check(out, argv[optind], err) != 0 || umpire_output_check(out, argv[optind + 1], err) != 0 ||
        umpire_calibration_load(argv[optind], &cal, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
        return 1;
    }
    if (umpire_scored_read(argv[optind + 1], &sf, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
        umpire_calibration_free(&cal);
        return 1;
    }
    int rc = 1, e = estimator_index(&sf, cal.estimator);
    int other = e >= 0 && (cal.def.known || sf.def.known) &&
                umpire_score_def_compare(cal.estimator, &cal.def, &sf.def, err) != 0;
    struct umpire_output o;
    if (e < 0) {
        fprintf(stderr, "umpire calibrate: %s: no estimator '%s' (the one %s was fitted on)\n", argv[optind + 1],
                cal.estimator, argv[optind]);
    } else if (other) {
        fprintf(stderr, "umpire calibrate: %s scores '%s' otherwise than %s was fitted on (%s): score these items "
                        "as the calibration's were (umpire score --alpha ... --probs ...)\n",
                argv[optind + 1], cal.estimator, argv[optind], err);
    } else if (umpire_output_open(&o, out, err) != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
    } else {
        size_t answered = 0, escalated = 0;
        int wrc = UMPIRE_OK;
        for (size_t i = 0; i < sf.n && wrc == UMPIRE_OK; i++) {
            double s = sf.scores[i * sf.n_estimators + (size_t)e], p = umpire_calibration_apply(&cal, s);
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "id", sf.ids[i]);
            cJSON_AddItemToObject(x, "score", umpire_json_number(s));
            cJSON_AddItemToObject(x, "p_error", umpire_json_number(p));
            if (!isnan(cal.threshold)) {
                int answer = isfinite(s) && s <= cal.threshold; /* no score: escalate */
                cJSON_AddStringToObject(x, "verdict", answer ? "answer" : "escalate");
                answered += (size_t)answer;
                escalated += (size_t)!answer;
            }
            wrc = umpire_put_json(o.f, x, 1, err);
            cJSON_Delete(x);
        }
        if ((wrc = umpire_output_close(&o, wrc, err)) != UMPIRE_OK)
            fprintf(stderr, "umpire calibrate: %s\n", err);
        else if (!isnan(cal.threshold))
            fprintf(stderr, "%zu items: %zu answer, %zu escalate (%s <= %.6g)\n", sf.n, answered, escalated,
                    cal.estimator, cal.threshold);
        rc = wrc != UMPIRE_OK;
    }
    umpire_scored_free(&sf);
    umpire_calibration_free(&cal);
    return rc;
}

struct logits {
    double *z;
    int *label;
    size_t n, c, alloc;
    const char *path;
    char *err;
};

static int add_logits(const cJSON *o, size_t line, void *ctx) {
    struct logits *L = ctx;
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(o, "logits"), *y = cJSON_GetObjectItemCaseSensitive(o, "label");
    size_t c = cJSON_IsArray(z) ? (size_t)cJSON_GetArraySize(z) : 0;
    if (c < 2)
        return umpire_fail(L->err, UMPIRE_EINVAL, "%s:%zu: logits: needs an array of >= 2 numbers", L->path, line);
    if (L->n > 0 && c != L->c)
        return umpire_fail(L->err, UMPIRE_EINVAL, "%s:%zu: logits: %zu options, earlier lines have %zu", L->path,
                           line, c, L->c);
    if (!cJSON_IsNumber(y) || y->valuedouble != floor(y->valuedouble) || y->valuedouble < 0 ||
        y->valuedouble >= (double)c)
        return umpire_fail(L->err, UMPIRE_EINVAL, "%s:%zu: label: needs the index of the right option (0..%zu)",
                           L->path, line, c - 1);
    L->c = c;
    if (L->n == L->alloc) {
        L->alloc = L->alloc ? 2 * L->alloc : 64;
        double *gz = realloc(L->z, L->alloc * c * sizeof *gz);
        if (gz)
            L->z = gz;
        int *gl = realloc(L->label, L->alloc * sizeof *gl);
        if (gl)
            L->label = gl;
        if (!gz || !gl)
            return umpire_fail(L->err, UMPIRE_ENOMEM, "out of memory");
    }
    size_t j = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, z) {
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
            return umpire_fail(L->err, UMPIRE_EINVAL, "%s:%zu: logits[%zu]: not a finite number", L->path, line, j);
        L->z[L->n * c + j++] = x->valuedouble;
    }
    L->label[L->n++] = (int)y->valuedouble;
    return 0;
}

/* P(wrong) = 1 - the top option's probability at temperature t, and whether it is wrong. */
static void top_option(const struct logits *L, double t, double *p_wrong, int *wrong) {
    for (size_t i = 0; i < L->n; i++) {
        size_t top;
        p_wrong[i] = 1.0 - umpire_softmax_top(L->z + i * L->c, L->c, t, &top);
        wrong[i] = (int)top != L->label[i];
    }
}

static int calibrate_temperature(int argc, char **argv) {
    const char *out = NULL;
    int done = output_only(argc, argv, &out);
    if (done >= 0)
        return done;
    if (optind + 1 != argc) {
        fprintf(stderr, "umpire calibrate temperature: needs LOGITS.jsonl\n");
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    struct logits L = {.path = argv[optind], .err = err};
    int rc = out ? umpire_output_check(out, argv[optind], err) : 0;
    if (rc == 0)
        rc = umpire_jsonl_each(argv[optind], add_logits, &L, NULL, err);
    FILE *msg = out && !strcmp(out, "-") ? stderr : stdout; /* -o -: the result alone on stdout */
    double t = NAN, *p = NULL;
    int *wrong = NULL;
    if (rc == 0 && L.n == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no items (the file is empty)", argv[optind]);
    if (rc == 0)
        rc = umpire_temperature_fit(L.z, L.label, L.n, L.c, &t, err);
    if (rc == 0 && (!(p = malloc(L.n * sizeof *p)) || !(wrong = malloc(L.n * sizeof *wrong))))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc != 0) {
        fprintf(stderr, "umpire calibrate: %s\n", err);
    } else {
        fprintf(msg, "temperature T = %.6g over %zu items with %zu options\n", t, L.n, L.c);
        top_option(&L, 1.0, p, wrong);
        fprintf(msg, "  T = 1:       NLL %.4g   ECE %.4f\n", umpire_temperature_nll(L.z, L.label, L.n, L.c, 1.0),
                umpire_ece(p, wrong, L.n, 10, 0));
        top_option(&L, t, p, wrong);
        fprintf(msg, "  T = %-8.4g NLL %.4g   ECE %.4f\n", t, umpire_temperature_nll(L.z, L.label, L.n, L.c, t),
                umpire_ece(p, wrong, L.n, 10, 0));
        struct umpire_output o;
        if (out && (rc = umpire_output_open(&o, out, err)) == 0) {
            fprintf(o.f, "{\"temperature\": %.17g, \"n\": %zu}\n", t, L.n);
            rc = umpire_output_close(&o, 0, err);
        }
        if (rc != 0)
            fprintf(stderr, "umpire calibrate: %s\n", err);
    }
    free(L.z);
    free(L.label);
    free(p);
    free(wrong);
    return rc ? 1 : 0;
}

int cmd_calibrate(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "fit"))
        return calibrate_fit(argc - 1, argv + 1);
    if (!strcmp(argv[1], "apply"))
        return calibrate_apply(argc - 1, argv + 1);
    if (!strcmp(argv[1], "temperature")) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--from") || !strncmp(argv[i], "--from=", 7))
                return cli_calibrate_temperature_from(argc - 1, argv + 1);
        return calibrate_temperature(argc - 1, argv + 1);
    }
    fprintf(stderr, "umpire calibrate: '%s' is not fit, apply or temperature\n", argv[1]);
    return 2;
}
