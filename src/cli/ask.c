/* ask.c - `umpire ask`: one question (text, images, audio) to a GGUF model; the answer, how
 * likely it is wrong, and with a calibration file the verdict: answer or escalate. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/scorer.h"
#include "io/item_json.h"
#include "video/video.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: umpire ask -m MODEL.gguf [options] QUESTION\n\n"
            "Sample k answers from one prefill (decoded together) and one low-temperature answer,\n"
            "score them with UMPIRE and the baselines, and with --calibration say whether to trust\n"
            "the answer. With --responses, score answers produced elsewhere instead (black-box proxy:\n"
            "they are teacher-forced through MODEL, with the model's raw probabilities).\n\n");
    cli_run_options_help(f);
    fprintf(f,
            "input:\n"
            "  --image FILE            an image (repeatable)\n"
            "  --audio FILE            a WAV / MP3 / FLAC clip (repeatable)\n"
            "  --video CLIP            a video (mp4, mkv, avi, ...) or a folder of frames (sorted by\n"
            "                          name): --frames frames spread evenly over it, asked as images in\n"
            "                          order (after any --image)\n"
            "  --frames N              frames taken from --video: 1..64 (default 8; a clip with fewer\n"
            "                          gives them all)\n"
            "  --option TEXT           a multiple-choice option, labelled A, B, ... (repeatable): the\n"
            "                          samples are drawn with the options in the prompt, and the chosen\n"
            "                          letter's probability is read as Calibration-MLLM's TS.py reads it\n"
            "scoring:\n"
            "  --responses FILE        score these answers instead of sampling: one per line (each ended\n"
            "                          by itself), or the JSON line of an earlier `ask --json` (its\n"
            "                          samples' tokens, each cut where it was cut)\n"
            "  --alpha X               UMPIRE's weight of incoherence (default 1, or the calibration's)\n"
            "  --calibration FILE      from `umpire calibrate fit`: error probability and verdict; the\n"
            "                          score is computed as it was when the calibration was fitted\n"
            "                          (alpha, eps, which log-probs), and a mismatch is refused\n"
            "  --json                  everything as one JSON object, the samples included\n"
            "  -v, --verbose           llama.cpp's own log on stderr\n\n"
            "examples:\n"
            "  umpire ask -m model.gguf \"What is the capital of France?\"\n"
            "  umpire ask -m llava.gguf --mmproj mmproj.gguf --image cat.jpg -k 10 \"What animal is this?\"\n"
            "  umpire ask -m llava.gguf --mmproj mmproj.gguf --video clip.mp4 --frames 8 \"Where does the ball go?\"\n"
            "  umpire ask -m model.gguf --responses gpt-answers.txt --calibration cal.json \"Who wrote Hamlet?\"\n");
}

/* --responses as the JSON line of an earlier `ask --json` (or any sample set: its first item):
 * its samples' token ids (texts when it has none) and how each ended. Returns 1 when the file
 * is one (answers read, or an error reported in *rc), 0 when it is not. */
struct given {
    char **texts;
    int32_t **tokens; /* NULL: force the texts */
    size_t *n_tokens;
    enum umpire_finish *finish;
    size_t n;
};

static void given_free(struct given *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->texts ? g->texts[i] : NULL);
        free(g->tokens ? g->tokens[i] : NULL);
    }
    free(g->texts);
    free(g->tokens);
    free(g->n_tokens);
    free(g->finish);
    memset(g, 0, sizeof *g);
}

static int read_json_responses(const char *path, struct given *g, int *rc) {
    struct umpire_sampleset set;
    char err[UMPIRE_ERR_LEN];
    FILE *f = fopen(path, "r");
    int c = ' ';
    while (f && (c = getc(f)) != EOF && strchr(" \t\r\n", c))
        ;
    if (f)
        fclose(f);
    if (c != '{')
        return 0;
    *rc = -1;
    if (umpire_sampleset_read(path, &set, err) != 0) {
        fprintf(stderr, "umpire ask: --responses: %s\n", err);
        return 1;
    }
    const struct umpire_item *it = &set.items[0];
    int with_tokens = 1;
    for (size_t i = 0; i < it->k; i++)
        with_tokens &= it->samples[i].tokens != NULL;
    g->texts = calloc(it->k, sizeof *g->texts);
    g->finish = calloc(it->k, sizeof *g->finish);
    g->n_tokens = calloc(it->k, sizeof *g->n_tokens);
    g->tokens = with_tokens ? calloc(it->k, sizeof *g->tokens) : NULL;
    int ok = g->texts && g->finish && g->n_tokens && (!with_tokens || g->tokens);
    for (size_t i = 0; ok && i < it->k; i++) {
        const struct umpire_answer *a = &it->samples[i];
        g->n = i + 1;
        g->finish[i] = a->finish ? a->finish : UMPIRE_FINISH_EOS;
        g->n_tokens[i] = a->n_tokens;
        ok = (g->texts[i] = strdup(a->text)) != NULL;
        if (ok && with_tokens && (ok = (g->tokens[i] = malloc(a->n_tokens * sizeof *a->tokens)) != NULL))
            memcpy(g->tokens[i], a->tokens, a->n_tokens * sizeof *a->tokens);
    }
    if (ok)
        *rc = 0;
    else
        fprintf(stderr, "umpire ask: out of memory\n");
    umpire_sampleset_free(&set);
    return 1;
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
    int json = 0, alpha_given = 0;
    const char **options = NULL;
    size_t n_options = 0;
    const char *video = NULL;
    int n_frames = UMPIRE_VIDEO_DEFAULT_FRAMES;
    struct umpire_frames frames = {0};
    enum { O_IMAGE = CLI_O_FIRST_OWN, O_AUDIO, O_RESP, O_ALPHA, O_CAL, O_JSON, O_OPTION, O_VIDEO, O_FRAMES };
    static const struct option opts[] = {
        CLI_RUN_OPTIONS,
        {"image", required_argument, 0, O_IMAGE},    {"audio", required_argument, 0, O_AUDIO},
        {"responses", required_argument, 0, O_RESP}, {"alpha", required_argument, 0, O_ALPHA},
        {"calibration", required_argument, 0, O_CAL}, {"json", no_argument, 0, O_JSON},
        {"option", required_argument, 0, O_OPTION},  {"help", no_argument, 0, 'h'},
        {"video", required_argument, 0, O_VIDEO},    {"frames", required_argument, 0, O_FRAMES},
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
            if (cli_parse_double("ask", "--alpha", optarg, &alpha))
                bad = 1;
            else if (!(alpha >= 0)) {
                fprintf(stderr, "umpire ask: --alpha: needs a number >= 0, got %s\n", optarg);
                bad = 1;
            }
            alpha_given = 1;
            break;
        case O_CAL: calibration = optarg; break;
        case O_JSON: json = 1; break;
        case O_OPTION: bad = cli_push(&options, &n_options, optarg); break;
        case O_VIDEO: video = optarg; break;
        case O_FRAMES: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > UMPIRE_VIDEO_MAX_FRAMES) {
                fprintf(stderr, "umpire ask: --frames: expected 1..%d, got %s\n", UMPIRE_VIDEO_MAX_FRAMES, optarg);
                bad = 1;
            }
            n_frames = (int)v;
            break;
        }
        case 'h': usage(stdout); cli_run_options_free(&ro); return 0;
        default: bad = 1;
        }
    }
    struct umpire_engine_params ep = ro.engine;
    struct umpire_sample_params sp = ro.sample;
    struct umpire_judge_params judge = ro.passes;
    double choice_temp = ro.choice_temp;
    q.system = ro.system;
    q.instruction = cli_run_instruction("ask", &ro);
    int bad_idk = ro.idk && !q.instruction; /* out of memory: reported */
    q.style = ro.style;
    int rc = 2;
    char err[UMPIRE_ERR_LEN];
    struct umpire_engine *e = NULL;
    struct umpire_item it = {0};
    struct umpire_calibration cal = {.threshold = NAN};
    char *mc_question = NULL;
    struct given given = {0};
    double *scores = NULL;
    if (bad_idk) {
        cli_run_options_free(&ro);
        return 1;
    }
    if (bad || !ep.model_path || optind + 1 != argc) {
        if (!bad)
            fprintf(stderr, "umpire ask: %s\n", !ep.model_path ? "-m MODEL is required" : "one QUESTION is required");
        usage(stderr);
        goto out;
    }
    if (n_options == 1 || n_options > 26) {
        fprintf(stderr, "umpire ask: --option: give 2..26 options, got %zu\n", n_options);
        goto out;
    }
    if (!video && n_frames != UMPIRE_VIDEO_DEFAULT_FRAMES) {
        fprintf(stderr, "umpire ask: --frames: needs --video\n");
        goto out;
    }
    q.question = argv[optind];
    rc = 1;
    if (video) { /* the clip's frames, after any --image, in time order */
        if (umpire_video_frames(video, n_frames, &frames, err) != 0) {
            fprintf(stderr, "umpire ask: %s\n", err);
            goto out;
        }
        fprintf(stderr, "umpire ask: %s: %zu frame%s", video, frames.n, frames.n == 1 ? "" : "s");
        for (size_t i = 0; frames.seconds && i < frames.n; i++)
            fprintf(stderr, "%s%.2f", i ? " " : " at ", frames.seconds[i]);
        fprintf(stderr, "%s\n", frames.seconds ? " s" : "");
        for (size_t i = 0; i < frames.n; i++)
            if (cli_push((const char ***)&q.images, &q.n_images, frames.paths[i]))
                goto out;
    }
    if (calibration && umpire_calibration_load(calibration, &cal, err) != 0) {
        fprintf(stderr, "umpire ask: %s\n", err);
        goto out;
    }
    int rrc = 0;
    if (responses && !read_json_responses(responses, &given, &rrc) && read_lines(responses, &given.texts, &given.n) != 0)
        goto out;
    if (rrc != 0)
        goto out;
    const size_t n_answers = given.n;
    struct umpire_score_params p;
    enum umpire_probs probs = responses || !sp.sampler_probs ? UMPIRE_PROBS_RAW : UMPIRE_PROBS_SAMPLER;
    if (cli_calibration_score_params("ask", &cal, calibration, alpha, alpha_given, probs, &p) != 0)
        goto out;
    if (calibration && umpire_estimator_index(cal.estimator) < 0) {
        fprintf(stderr, "umpire ask: %s: estimator '%s' is not one umpire computes (see umpire score --help)\n",
                calibration, cal.estimator);
        goto out;
    }
    ep.k_max = responses ? (int)n_answers : sp.k > 0 ? sp.k : 1;
    if (responses && n_answers > 64) {
        fprintf(stderr, "umpire ask: %s: %zu answers, at most 64\n", responses, n_answers);
        goto out;
    }
    /* multiple choice: the samples are drawn with the options in the prompt, as the letter is read */
    struct umpire_query sq = q;
    if (n_options) {
        if (!(mc_question = umpire_choice_question(q.question, options, n_options))) {
            fprintf(stderr, "umpire ask: out of memory\n");
            goto out;
        }
        sq.question = mc_question;
        sq.instruction = "";
        sq.answer_prefix = UMPIRE_CHOICE_PREFIX;
    }
    struct umpire_force_params fp = {.finish = given.finish, .middle = sp.middle};
    if (umpire_engine_open(&ep, &e, err) != 0 ||
        (!responses    ? umpire_engine_ask(e, &sq, &sp, &it, err)
         : given.tokens ? umpire_engine_force_tokens(e, &sq, (const int32_t *const *)given.tokens, given.n_tokens,
                                                     given.n, &fp, &it, err)
                        : umpire_engine_force_texts(e, &sq, (const char *const *)given.texts, given.n, &fp, &it, err)) != 0 ||
        umpire_engine_judge(e, &q, &judge, &it, err) != 0 ||
        (n_options && umpire_engine_choose(e, &q, options, n_options, choice_temp, &it.choice, NULL, err) != 0)) {
        fprintf(stderr, "umpire ask: %s\n", err);
        goto out;
    }
    if (n_options)
        it.extras |= UMPIRE_HAS_CHOICE;
    if (ro.gradients) { /* the own graph of the same GGUF: one forward and one backward pass */
        struct umpire_grad_model *g = NULL;
        int grc = umpire_grad_model_load(ep.model_path, ep.n_threads, &g, err);
        if (grc == 0)
            grc = umpire_engine_gradients(e, g, &sq, &ro.grad, &it, err);
        umpire_grad_model_free(g);
        if (grc != 0) {
            fprintf(stderr, "umpire ask: --gradients: %s\n", err);
            goto out;
        }
    }
    if (it.k < 2) /* one answer: no spread to measure; only its own probability */
        fprintf(stderr, "umpire ask: note: with %s only the single-answer scores are defined\n",
                it.k ? "one answer" : "no samples (-k 0)");

    /* score the one item with every estimator */
    size_t ne;
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    if (!(scores = calloc(ne, sizeof *scores)) || umpire_score_item_all(&it, &p, p.alpha, NULL, scores, err) != 0) {
        fprintf(stderr, "umpire ask: %s\n", scores ? err : "out of memory");
        goto out;
    }
    const struct umpire_choice *ch = &it.choice;
    char letter[2] = {ch->choice < ch->n ? (char)('A' + ch->choice) : '?', '\0'};
    const char *answer = n_options ? letter : it.greedy.text ? it.greedy.text : it.samples[0].text;
    double U = scores[umpire_estimator_index("semantic_volume")], Q = scores[umpire_estimator_index("incoherence")],
           V = scores[umpire_estimator_index("umpire")];
    double p_err = NAN, s_cal = calibration ? scores[umpire_estimator_index(cal.estimator)] : NAN;
    if (calibration)
        p_err = umpire_calibration_apply(&cal, s_cal);
    const char *verdict = isnan(cal.threshold) ? NULL : isfinite(s_cal) && s_cal <= cal.threshold ? "answer" : "escalate";

    if (json) {
        cJSON *o = umpire_item_to_json(&it);
        cJSON_AddStringToObject(o, "question", q.question);
        cJSON_AddStringToObject(o, "answer", answer);
        cJSON_AddItemToObject(o, "alpha", umpire_json_number(p.alpha)); /* numbers that read back exactly */
        cJSON *so = cJSON_AddObjectToObject(o, "scores");
        for (size_t i = 0; i < ne; i++)
            cJSON_AddItemToObject(so, reg[i].name, umpire_json_number(scores[i]));
        if (calibration) {
            cJSON_AddItemToObject(o, "p_error", umpire_json_number(p_err));
            if (verdict)
                cJSON_AddStringToObject(o, "verdict", verdict);
        }
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (text)
            puts(text);
        free(text);
    } else {
        printf("answer        %s\n", responses ? "(scoring the given responses)" : answer[0] ? answer : "(empty: the model ended at once)");
        if (it.k >= 2)
            printf("umpire        %.4f   (U = %.4f, Q = %.4f, alpha = %g%s; higher = more likely wrong)\n", V, U, Q,
                   p.alpha, calibration ? ", the calibration's" : "");
        else
            printf("1 - p(answer) %.4f   (raw: %.4f; no samples to measure a spread)\n",
                   scores[umpire_estimator_index("sequence_probability")],
                   scores[umpire_estimator_index("sequence_probability_raw")]);
        if (calibration) {
            printf("p(error)      %.3f   (%s map of %s, %s)\n", p_err, umpire_calibration_method_name(cal.method),
                   cal.estimator, calibration);
            if (verdict)
                printf("verdict       %s   (answer when %s <= %.6g)\n", verdict, cal.estimator, cal.threshold);
        }
        if (it.extras & UMPIRE_HAS_P_TRUE)
            printf("p(true)       %.3f\n", it.p_true);
        if (it.extras & UMPIRE_HAS_GRADIENTS)
            printf("gradients     SemGrad %.4g   ExGrad %.4g   HybridGrad %.4g\n", it.semgrad, it.exgrad,
                   it.hybridgrad);
        if (judge.verbalised)
            isfinite(it.verbalised) && (it.extras & UMPIRE_HAS_VERBALISED)
                ? printf("verbalised    %.3f\n", it.verbalised)
                : printf("verbalised    (no number in the model's reply)\n");
        if (it.extras & UMPIRE_HAS_ENTAILMENT)
            printf("sem. entropy  %.4f   (%g clusters by the model's own entailment judgement)\n",
                   scores[umpire_estimator_index("semantic_entropy_nli")],
                   scores[umpire_estimator_index("numsets_nli")]);
        if (n_options) {
            if (ch->choice < ch->n)
                printf("choice        (%c) %s   p = %.3f at T = %g\n", 'A' + (int)ch->choice, options[ch->choice],
                       ch->confidence, choice_temp);
            else
                printf("choice        (none: no option letter in the model's first %d tokens)\n",
                       UMPIRE_CHOICE_MAX_STEPS);
        }
        print_spread(&it);
    }
    rc = 0;
out:
    free(scores);
    free(mc_question);
    umpire_item_free(&it);
    umpire_engine_close(e);
    umpire_calibration_free(&cal);
    given_free(&given);
    free((void *)q.images);
    free((void *)q.audio);
    umpire_frames_free(&frames);
    free(options);
    cli_run_options_free(&ro);
    return rc;
}
