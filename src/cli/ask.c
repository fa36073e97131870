/* ask.c - `umpire ask`: one question (text, images, audio) to a GGUF model; the answer, how
 * likely it is wrong, and with a calibration file the verdict: answer or escalate. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/item_json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: umpire ask -m MODEL.gguf [options] QUESTION\n\n"
            "Sample k answers from one prefill (decoded together) and one low-temperature answer,\n"
            "score them with UMPIRE and the baselines, and with --calibration say whether to trust\n"
            "the answer. With --responses, score answers produced elsewhere instead (black-box proxy:\n"
            "they are teacher-forced through MODEL).\n\n"
            "model:\n"
            "  -m, --model FILE        GGUF model\n"
            "  --mmproj FILE           projector for --image / --audio (libmtmd)\n"
            "  -c, --ctx-size N        context shared by the prompt and all answers (default 4096)\n"
            "  -t, --threads N         CPU threads (default: all cores)\n"
            "  -ngl, --n-gpu-layers N  layers on the GPU when built with one (default all)\n"
            "input:\n"
            "  --image FILE            an image (repeatable)\n"
            "  --audio FILE            a WAV / MP3 / FLAC clip (repeatable)\n"
            "  --system TEXT           a system message\n"
            "  --instruction TEXT      appended to the question (default \"%s\";\n"
            "                          \"\" for none)\n"
            "sampling:\n"
            "  -k N                    sampled answers, 1..64 (default 5)\n"
            "  -s, --seed S            one seed for all answers (each gets its own from it; default 0)\n"
            "  -n, --max-tokens N      per answer (default 32)\n"
            "  --temp T  --top-p P  --top-k K   the samples' sampler (default 1.0, 0.9, off)\n"
            "  --greedy-temp T         the reported answer's temperature (default 0.1; 0 = argmax)\n"
            "  --stop TEXT             end an answer before TEXT (repeatable)\n"
            "  --sampler-probs         log-probs of the tempered, truncated distribution sampled from\n"
            "                          (default: the model's raw distribution)\n"
            "extra passes (the model judges itself):\n"
            "  --p-true                P(True) of the answer (Kadavath et al. 2022)\n"
            "  --verbalised            the confidence the model states for it (Tian et al. 2023)\n"
            "  --entailment            does answer i entail answer j, for all pairs: semantic entropy\n"
            "                          and the graph estimators on the model's own judgement\n"
            "  --option TEXT           a multiple-choice option, labelled A, B, ... (repeatable): the\n"
            "                          chosen letter and its probability\n"
            "  --choice-temp T         temperature of the option probabilities (default 1)\n"
            "scoring:\n"
            "  --responses FILE        score these answers (one per line) instead of sampling\n"
            "  --alpha X               UMPIRE's weight of incoherence (default 1; `umpire score` fits it\n"
            "                          on a dataset: use the same value the calibration was fitted with)\n"
            "  --calibration FILE      from `umpire calibrate fit`: error probability and verdict\n"
            "  --json                  everything as one JSON object, the samples included\n"
            "  -v, --verbose           llama.cpp's own log on stderr\n\n"
            "examples:\n"
            "  umpire ask -m model.gguf \"What is the capital of France?\"\n"
            "  umpire ask -m llava.gguf --mmproj mmproj.gguf --image cat.jpg -k 10 \"What animal is this?\"\n"
            "  umpire ask -m model.gguf --responses gpt-answers.txt --calibration cal.json \"Who wrote Hamlet?\"\n",
            UMPIRE_DEFAULT_INSTRUCTION);
}

/* Non-blank lines of a file, one answer each. */
static int read_lines(const char *path, char ***out, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "umpire ask: %s: cannot open for reading\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *out = NULL;
    *n = 0;
    while ((len = getline(&line, &cap, f)) != -1) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!line[strspn(line, " \t")])
            continue;
        char **g = realloc(*out, (*n + 1) * sizeof *g);
        if (!g)
            break;
        *out = g;
        (*out)[(*n)++] = strdup(line);
    }
    free(line);
    fclose(f);
    if (*n == 0) {
        fprintf(stderr, "umpire ask: %s: no answers in it (one a line)\n", path);
        return -1;
    }
    return 0;
}

/* How the k sampled texts spread: "Paris" x3 | "Lyon" | "Rome". */
static void print_spread(const struct umpire_item *it) {
    int *seen = calloc(it->k, sizeof *seen);
    printf("samples (%zu)  ", it->k);
    for (size_t i = 0; seen && i < it->k; i++) {
        if (seen[i])
            continue;
        int count = 0;
        for (size_t j = i; j < it->k; j++)
            if (!seen[j] && !strcmp(it->samples[i].text, it->samples[j].text)) {
                seen[j] = 1;
                count++;
            }
        printf("%s\"%s\"", i ? " | " : "", it->samples[i].text);
        if (count > 1)
            printf(" x%d", count);
    }
    printf("\n");
    free(seen);
}

int cmd_ask(int argc, char **argv) {
    struct cli_run_options ro;
    cli_run_options_init(&ro);
    struct umpire_query q = {0};
    const char *responses = NULL, *calibration = NULL;
    double alpha = 1.0;
    int json = 0;
    const char **options = NULL;
    size_t n_options = 0;
    enum { O_IMAGE = CLI_O_FIRST_OWN, O_AUDIO, O_RESP, O_ALPHA, O_CAL, O_JSON, O_OPTION };
    static const struct option opts[] = {
        CLI_RUN_OPTIONS,
        {"image", required_argument, 0, O_IMAGE},    {"audio", required_argument, 0, O_AUDIO},
        {"responses", required_argument, 0, O_RESP}, {"alpha", required_argument, 0, O_ALPHA},
        {"calibration", required_argument, 0, O_CAL}, {"json", no_argument, 0, O_JSON},
        {"option", required_argument, 0, O_OPTION},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, bad = 0;
    cli_run_options_spell(argc, argv);
    while (!bad && (c = getopt_long(argc, argv, CLI_RUN_SHORT "h", opts, NULL)) != -1) {
        int shared = cli_run_option("ask", c, optarg, &ro);
        if (shared <= 0) {
            bad = shared < 0;
            continue;
        }
        switch (c) {
        case O_IMAGE: bad = cli_push((const char ***)&q.images, &q.n_images, optarg); break;
        case O_AUDIO: bad = cli_push((const char ***)&q.audio, &q.n_audio, optarg); break;
        case O_RESP: responses = optarg; break;
        case O_ALPHA:
            bad = cli_parse_double("ask", "--alpha", optarg, &alpha) || alpha < 0;
            break;
        case O_CAL: calibration = optarg; break;
        case O_JSON: json = 1; break;
        case O_OPTION: bad = cli_push(&options, &n_options, optarg); break;
        case 'h': usage(stdout); cli_run_options_free(&ro); return 0;
        default: bad = 1;
        }
    }
    struct umpire_engine_params ep = ro.engine;
    struct umpire_sample_params sp = ro.sample;
    struct umpire_judge_params judge = ro.passes;
    double choice_temp = ro.choice_temp;
    q.system = ro.system;
    q.instruction = ro.instruction;
    int rc = 2;
    char err[UMPIRE_ERR_LEN];
    struct umpire_engine *e = NULL;
    struct umpire_item it = {0};
    struct umpire_calibration cal = {.threshold = NAN};
    char **answers = NULL;
    size_t n_answers = 0;
    if (bad || !ep.model_path || optind + 1 != argc) {
        if (!bad)
            fprintf(stderr, "umpire ask: %s\n", !ep.model_path ? "-m MODEL is required" : "one QUESTION is required");
        usage(stderr);
        goto out;
    }
    q.question = argv[optind];
    rc = 1;
    if (calibration && umpire_calibration_load(calibration, &cal, err) != 0) {
        fprintf(stderr, "umpire ask: %s\n", err);
        goto out;
    }
    if (responses && read_lines(responses, &answers, &n_answers) != 0)
        goto out;
    ep.k_max = responses ? (int)n_answers : sp.k;
    if (responses && n_answers > 64) {
        fprintf(stderr, "umpire ask: %s: %zu answers, at most 64\n", responses, n_answers);
        goto out;
    }
    if (n_options == 1 || n_options > 26) {
        fprintf(stderr, "umpire ask: --option: give 2..26 options, got %zu\n", n_options);
        rc = 2;
        goto out;
    }
    struct umpire_choice choice = {0};
    if (umpire_engine_open(&ep, &e, err) != 0 ||
        (responses ? umpire_engine_force_texts(e, &q, (const char *const *)answers, n_answers, &it, err)
                   : umpire_engine_ask(e, &q, &sp, &it, err)) != 0 ||
        umpire_engine_judge(e, &q, &judge, &it, err) != 0 ||
        (n_options && umpire_engine_choose(e, &q, options, n_options, choice_temp, &choice, err) != 0)) {
        fprintf(stderr, "umpire ask: %s\n", err);
        goto out;
    }
    if (it.k < 2) { /* one answer: no spread to measure; only its own probability */
        fprintf(stderr, "umpire ask: note: with one answer only the probability baselines are defined\n");
    }

    /* score the one item with every estimator */
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    struct umpire_score_params p = umpire_score_default_params();
    double *scores = calloc(ne, sizeof *scores);
    if (!scores)
        goto out;
    for (size_t i = 0; i < ne; i++)
        scores[i] = umpire_score_item(&it, i, alpha, &p);
    const char *answer = it.greedy.text ? it.greedy.text : it.samples[0].text;
    double U = scores[umpire_estimator_index("semantic_volume")], Q = scores[umpire_estimator_index("incoherence")],
           V = scores[umpire_estimator_index("umpire")];
    double p_err = NAN, s_cal = NAN;
    for (size_t i = 0; calibration && i < ne; i++)
        if (!strcmp(reg[i].name, cal.estimator))
            s_cal = scores[i];
    if (calibration)
        p_err = umpire_calibration_apply(&cal, s_cal);
    const char *verdict = isnan(cal.threshold) ? NULL : isfinite(s_cal) && s_cal <= cal.threshold ? "answer" : "escalate";

    if (json) {
        cJSON *o = umpire_item_to_json(&it);
        cJSON_AddStringToObject(o, "question", q.question);
        cJSON_AddStringToObject(o, "answer", answer);
        cJSON_AddNumberToObject(o, "alpha", alpha);
        cJSON *so = cJSON_AddObjectToObject(o, "scores");
        for (size_t i = 0; i < ne; i++)
            cJSON_AddItemToObject(so, reg[i].name, isfinite(scores[i]) ? cJSON_CreateNumber(scores[i]) : cJSON_CreateNull());
        if (calibration) {
            cJSON_AddItemToObject(o, "p_error", isfinite(p_err) ? cJSON_CreateNumber(p_err) : cJSON_CreateNull());
            if (verdict)
                cJSON_AddStringToObject(o, "verdict", verdict);
        }
        if (n_options) {
            cJSON *ch = cJSON_AddObjectToObject(o, "choice");
            char letter[2] = {(char)('A' + choice.choice), '\0'};
            cJSON_AddStringToObject(ch, "letter", letter);
            cJSON_AddNumberToObject(ch, "confidence", choice.confidence);
            cJSON_AddNumberToObject(ch, "temperature", choice_temp);
            cJSON *pa = cJSON_AddArrayToObject(ch, "p");
            for (size_t i = 0; i < choice.n; i++)
                cJSON_AddItemToArray(pa, cJSON_CreateNumber(choice.p[i]));
        }
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (text)
            puts(text);
        free(text);
    } else {
        printf("answer        %s\n", responses ? "(scoring the given responses)" : answer[0] ? answer : "(empty: the model ended at once)");
        printf("umpire        %.4f   (U = %.4f, Q = %.4f, alpha = %g; higher = more likely wrong)\n", V, U, Q, alpha);
        if (calibration) {
            printf("p(error)      %.3f   (%s map of %s, %s)\n", p_err, umpire_calibration_method_name(cal.method),
                   cal.estimator, calibration);
            if (verdict)
                printf("verdict       %s   (answer when %s <= %.6g)\n", verdict, cal.estimator, cal.threshold);
        }
        if (it.extras & UMPIRE_HAS_P_TRUE)
            printf("p(true)       %.3f\n", it.p_true);
        if (judge.verbalised)
            isfinite(it.verbalised) && (it.extras & UMPIRE_HAS_VERBALISED)
                ? printf("verbalised    %.3f\n", it.verbalised)
                : printf("verbalised    (no number in the model's reply)\n");
        if (it.extras & UMPIRE_HAS_ENTAILMENT)
            printf("sem. entropy  %.4f   (%g clusters by the model's own entailment judgement)\n",
                   scores[umpire_estimator_index("semantic_entropy_nli")],
                   scores[umpire_estimator_index("numsets_nli")]);
        if (n_options)
            printf("choice        (%c) %s   p = %.3f at T = %g\n", 'A' + (int)choice.choice, options[choice.choice],
                   choice.confidence, choice_temp);
        print_spread(&it);
    }
    free(scores);
    rc = 0;
out:
    umpire_item_free(&it);
    umpire_engine_close(e);
    umpire_calibration_free(&cal);
    for (size_t i = 0; i < n_answers; i++)
        free(answers[i]);
    free(answers);
    free((void *)q.images);
    free((void *)q.audio);
    free(options);
    cli_run_options_free(&ro);
    return rc;
}
