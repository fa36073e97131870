/* optimise.c - `umpire optimise-prompt`: search the answer prompt of multiple-choice questions
 * for accuracy and calibration (run/optimise.c), with paraphrases from a file, an
 * OpenAI-compatible endpoint or a local model (run/propose.c); a table of the result. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "run/optimise.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: umpire optimise-prompt -m MODEL.gguf --data MC.jsonl --out DIR\n"
        "           (--candidates FILE | --proposer-url URL | --proposer-model GGUF) [options]\n\n"
        "Iterative prompt optimisation (Calibration-MLLM's PT.py): the answer prompt that opens "
        "the\n"
        "model's reply to a multiple-choice question (\"<prompt>: (\", then the letter) is "
        "searched\n"
        "for accuracy and calibration together. Each round, every kept prompt gets m paraphrases\n"
        "from the proposer; the kept prompts and the new ones are evaluated on the dev split\n"
        "(accuracy, and ECE of the letter's probability: 10 equal-width bins), ranked by\n"
        "floor(accuracy / 0.2) descending then ECE ascending, and the first k kept. At the end "
        "the\n"
        "seeds, the last kept prompts and the best are measured on the held-out split (the dev\n"
        "split alone overfits): a table, and DIR/result.json. Interrupted? Run the same command\n"
        "again: DIR/state.json holds every proposal and evaluation, and the run ends as it would\n"
        "have.\n\n"
        "DATA: umpire's dataset lines with \"choices\" ({\"id\", \"question\", \"choices\": "
        "{\"A\": ..},\n"
        "\"answers\": [\"B\"], \"image\"?}), e.g. from `umpire convert`.\n\n"
        "options:\n"
        "  --data FILE  --out DIR    the dataset and the run directory\n"
        "  --rounds N                rounds (default %d)\n"
        "  --keep K                  prompts kept each round (default %d)\n"
        "  --paraphrases M           paraphrases asked for per kept prompt (default %d)\n"
        "  --seed-prompt TEXT        a seed prompt (repeat; default \"%s\", \"%s\")\n"
        "  --dev-fraction F          the share of items in the dev split (default 0.5)\n"
        "  --seed S                  the split's seed (and the local proposer's; default 0)\n"
        "  --system TEXT             a system prompt\n"
        "  --json                    print DIR/result.json instead of the table\n"
        "proposers (one):\n"
        "  --candidates FILE         offline: JSONL lines {\"prompt\": P, \"paraphrases\": [...]} "
        "(the\n"
        "                            first M) or {\"prompt\": P, \"reply\": \"a<sx>b<sx>c\"} (a "
        "proposer's\n"
        "                            reply, read as PT.py reads it); a prompt not listed gets "
        "none\n"
        "  --proposer-url URL        an OpenAI-compatible chat endpoint, http:// only\n"
        "                            (http://HOST:PORT, .../v1 or .../v1/chat/completions); the\n"
        "                            API key, if any, from $UMPIRE_PROPOSER_API_KEY\n"
        "  --proposer-name NAME      the request's \"model\" (default gpt-3.5-turbo, PT.py's)\n"
        "  --proposer-timeout S      seconds per request (default 60)\n"
        "  --proposer-retries N      resend a request that failed in transport or with HTTP "
        "429/5xx\n"
        "                            N more times, 1 s apart (default 2)\n"
        "  --proposer-model GGUF     a local model (sampled at T 0.7, top-p 0.95)\n"
        "  --proposer-max-tokens N   its reply's length (default 256)\n"
        "model:\n"
        "  -m, --model FILE  --mmproj FILE  -c, --ctx-size N (4096)  -t, --threads N\n"
        "  -ngl, --n-gpu-layers N  -v, --verbose (llama.cpp's log on stderr)\n\n"
        "examples:\n"
        "  umpire optimise-prompt -m model.gguf --data mc.jsonl --out opt --candidates "
        "cands.jsonl\n"
        "  umpire optimise-prompt -m llava.gguf --mmproj mmproj.gguf --data mmbench.jsonl --out "
        "opt \\\n"
        "      --proposer-url http://127.0.0.1:8080 --rounds 3 --keep 3 --paraphrases 4\n",
        UMPIRE_OPTIMISE_ROUNDS, UMPIRE_OPTIMISE_KEEP, UMPIRE_OPTIMISE_PARAPHRASES,
        UMPIRE_OPTIMISE_SEED_1, UMPIRE_OPTIMISE_SEED_2);
}

struct progress_state {
    int tty;
    struct timespec last;
};

static void show_progress(const struct umpire_optimise_progress *p, void *ctx) {
    struct progress_state *st = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double since =
        (double)(now.tv_sec - st->last.tv_sec) + 1e-9 * (double)(now.tv_nsec - st->last.tv_nsec);
    int last_item = p->items && p->item == p->items;
    char best[64] = "";
    if (isfinite(p->best_accuracy))
        snprintf(best, sizeof best, "  best: accuracy %.3f ECE %.3f", p->best_accuracy,
                 p->best_ece);
    char where[48];
    if (p->round > p->rounds)
        snprintf(where, sizeof where, "held-out");
    else
        snprintf(where, sizeof where, "round %zu/%zu %s", p->round, p->rounds, p->phase);
    if (!strcmp(p->phase, "propose")) {
        fprintf(stderr, "%soptimise-prompt: %s: paraphrasing %zu/%zu \"%.40s\"%s\n",
                st->tty ? "\r\033[K" : "", where, p->candidate, p->candidates, p->prompt, best);
        return;
    }
    if (!st->tty && !last_item && since < 10)
        return;
    st->last = now;
    double acc = p->answered ? (double)p->right / (double)p->answered : 0;
    fprintf(
        stderr,
        "%soptimise-prompt: %s: candidate %zu/%zu, item %zu/%zu, accuracy %.3f (%zu answered)%s%s",
        st->tty ? "\r\033[K" : "", where, p->candidate, p->candidates, p->item, p->items, acc,
        p->answered, best, st->tty && !last_item ? "" : "\n");
}

/* An integer option in lo..hi: 0, or -1 with a message. */
static int whole(const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out) {
    if (cli_parse_u64("optimise-prompt", opt, v, out) != 0)
        return -1;
    if (*out < lo || *out > hi) {
        fprintf(stderr, "umpire optimise-prompt: %s: %s is out of range (%llu..%llu)\n", opt, v,
                (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    return 0;
}

static const char *fmt(char *buf, size_t cap, const cJSON *v) {
    if (cJSON_IsNumber(v))
        snprintf(buf, cap, "%.3f", v->valuedouble);
    else
        snprintf(buf, cap, "-");
    return buf;
}

static void print_table(const cJSON *res, const char *dir) {
    const cJSON *best = cJSON_GetObjectItemCaseSensitive(res, "best"), *row;
    printf("prompt optimisation: %g dev items, %g held-out items, %d rounds\n\n",
           cJSON_GetObjectItemCaseSensitive(res, "n_dev")->valuedouble,
           cJSON_GetObjectItemCaseSensitive(res, "n_held_out")->valuedouble,
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "rounds")));
    printf("%-40s %-15s %8s %8s %9s %9s %9s\n", "prompt", "role", "dev acc", "dev ECE", "held acc",
           "held ECE", "answered");
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(res, "table")) {
        char roles[64] = "", a[16], b[16], c[16], d[16], ans[32];
        const cJSON *r, *dev = cJSON_GetObjectItemCaseSensitive(row, "dev");
        const cJSON *held = cJSON_GetObjectItemCaseSensitive(row, "held_out");
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(row, "roles")) {
            size_t n = strlen(roles);
            snprintf(roles + n, sizeof roles - n, "%s%s", n ? "," : "", r->valuestring);
        }
        snprintf(ans, sizeof ans, "%g/%g",
                 cJSON_GetObjectItemCaseSensitive(held, "answered")->valuedouble,
                 cJSON_GetObjectItemCaseSensitive(held, "n")->valuedouble);
        const char *prompt = cJSON_GetObjectItemCaseSensitive(row, "prompt")->valuestring;
        printf("%-40.40s %-15s %8s %8s %9s %9s %9s\n", prompt, roles,
               fmt(a, sizeof a, cJSON_GetObjectItemCaseSensitive(dev, "accuracy")),
               fmt(b, sizeof b, cJSON_GetObjectItemCaseSensitive(dev, "ece")),
               fmt(c, sizeof c, cJSON_GetObjectItemCaseSensitive(held, "accuracy")),
               fmt(d, sizeof d, cJSON_GetObjectItemCaseSensitive(held, "ece")), ans);
    }
    const cJSON *bp = cJSON_GetObjectItemCaseSensitive(best, "prompt");
    if (cJSON_IsString(bp))
        printf("\nbest on dev (round %g): \"%s\"\n",
               cJSON_GetObjectItemCaseSensitive(best, "round")->valuedouble, bp->valuestring);
    printf("accuracy: of the items answered with a letter; ECE: '-' when none was. All figures: "
           "%s/result.json\n",
           dir);
}

int cmd_optimise(int argc, char **argv) {
    struct umpire_engine_params ep = umpire_engine_default_params();
    ep.k_max = 1;
    struct umpire_optimise_params p = umpire_optimise_default_params();
    const char *cands = NULL, *url = NULL, *pmodel = NULL, *pname = "gpt-3.5-turbo";
    const char **seeds = NULL;
    size_t n_seeds = 0;
    uint64_t u, seed = 0, retries = 2, ptokens = 256;
    double timeout = 60;
    int json = 0, verbose = 0, bad = 0, c;
    enum {
        O_DATA = 300,
        O_OUT,
        O_ROUNDS,
        O_KEEP,
        O_PARA,
        O_SEEDP,
        O_DEVF,
        O_SYSTEM,
        O_JSON,
        O_CANDS,
        O_URL,
        O_PNAME,
        O_PTIME,
        O_PRETRY,
        O_PMODEL,
        O_PTOK,
        O_MMPROJ,
        O_NGL
    };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"mmproj", required_argument, 0, O_MMPROJ},
                                         {"ctx-size", required_argument, 0, 'c'},
                                         {"threads", required_argument, 0, 't'},
                                         {"n-gpu-layers", required_argument, 0, O_NGL},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"data", required_argument, 0, O_DATA},
                                         {"out", required_argument, 0, O_OUT},
                                         {"rounds", required_argument, 0, O_ROUNDS},
                                         {"keep", required_argument, 0, O_KEEP},
                                         {"paraphrases", required_argument, 0, O_PARA},
                                         {"seed-prompt", required_argument, 0, O_SEEDP},
                                         {"dev-fraction", required_argument, 0, O_DEVF},
                                         {"seed", required_argument, 0, 's'},
                                         {"system", required_argument, 0, O_SYSTEM},
                                         {"json", no_argument, 0, O_JSON},
                                         {"candidates", required_argument, 0, O_CANDS},
                                         {"proposer-url", required_argument, 0, O_URL},
                                         {"proposer-name", required_argument, 0, O_PNAME},
                                         {"proposer-timeout", required_argument, 0, O_PTIME},
                                         {"proposer-retries", required_argument, 0, O_PRETRY},
                                         {"proposer-model", required_argument, 0, O_PMODEL},
                                         {"proposer-max-tokens", required_argument, 0, O_PTOK},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    cli_run_options_spell(argc, argv);
    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "m:c:t:s:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            ep.model_path = optarg;
            break;
        case O_MMPROJ:
            ep.mmproj_path = optarg;
            break;
        case 'c':
            bad = whole("--ctx-size", optarg, 16, 1u << 20, &u);
            ep.n_ctx = (int)u;
            break;
        case 't':
            bad = whole("--threads", optarg, 0, 1024, &u);
            ep.n_threads = (int)u;
            break;
        case O_NGL:
            bad = whole("--n-gpu-layers", optarg, 0, 100000, &u);
            ep.n_gpu_layers = (int)u;
            break;
        case 'v':
            verbose = 1;
            break;
        case O_DATA:
            p.data_path = optarg;
            break;
        case O_OUT:
            p.out_dir = optarg;
            break;
        case O_ROUNDS:
            bad = whole("--rounds", optarg, 1, 1000, &u);
            p.rounds = (size_t)u;
            break;
        case O_KEEP:
            bad = whole("--keep", optarg, 1, 1000, &u);
            p.keep = (size_t)u;
            break;
        case O_PARA:
            bad = whole("--paraphrases", optarg, 1, 1000, &u);
            p.paraphrases = (size_t)u;
            break;
        case O_SEEDP:
            if ((bad = !optarg[0]))
                fprintf(stderr, "umpire optimise-prompt: --seed-prompt: empty\n");
            else if ((bad = cli_push(&seeds, &n_seeds, optarg) != 0))
                fprintf(stderr, "umpire optimise-prompt: out of memory\n");
            break;
        case O_DEVF:
            bad = cli_parse_double("optimise-prompt", "--dev-fraction", optarg, &p.dev_fraction);
            if (!bad && (bad = !(p.dev_fraction > 0 && p.dev_fraction < 1)))
                fprintf(stderr, "umpire optimise-prompt: --dev-fraction: %s is not in (0, 1)\n",
                        optarg);
            break;
        case 's':
            bad = cli_parse_u64("optimise-prompt", "--seed", optarg, &seed);
            break;
        case O_SYSTEM:
            p.system = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_CANDS:
            cands = optarg;
            break;
        case O_URL:
            url = optarg;
            break;
        case O_PNAME:
            pname = optarg;
            break;
        case O_PTIME:
            bad = cli_parse_double("optimise-prompt", "--proposer-timeout", optarg, &timeout);
            if (!bad && (bad = !(timeout > 0 && timeout <= 3600)))
                fprintf(
                    stderr,
                    "umpire optimise-prompt: --proposer-timeout: %s is not in (0, 3600] seconds\n",
                    optarg);
            break;
        case O_PRETRY:
            bad = whole("--proposer-retries", optarg, 0, 100, &retries);
            break;
        case O_PMODEL:
            pmodel = optarg;
            break;
        case O_PTOK:
            bad = whole("--proposer-max-tokens", optarg, 1, 100000, &ptokens);
            break;
        case 'h':
            usage(stdout);
            free(seeds);
            return 0;
        default:
            bad = 1;
        }
    }
    int n_prop = (cands != NULL) + (url != NULL) + (pmodel != NULL);
    if (!bad && optind < argc) {
        fprintf(stderr, "umpire optimise-prompt: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && (!ep.model_path || !p.data_path || !p.out_dir || n_prop != 1)) {
        fprintf(stderr, "umpire optimise-prompt: %s\n",
                n_prop > 1 ? "give one proposer: --candidates, --proposer-url or --proposer-model"
                : n_prop == 0 ? "a proposer is needed: --candidates FILE, --proposer-url URL or "
                                "--proposer-model GGUF"
                              : "-m MODEL, --data FILE and --out DIR are needed");
        bad = 1;
    }
    if (bad) {
        fprintf(
            stderr,
            "usage: umpire optimise-prompt -m MODEL --data MC.jsonl --out DIR --candidates FILE "
            "(umpire optimise-prompt --help)\n");
        free(seeds);
        return 2;
    }
    if (n_seeds) {
        p.seeds = seeds;
        p.n_seeds = n_seeds;
    }
    p.seed = seed;
    umpire_set_llama_log(verbose ? UMPIRE_LLAMA_LOG_STDERR : UMPIRE_LLAMA_LOG_CAPTURE);
    char err[UMPIRE_ERR_LEN];
    struct umpire_proposer prop = {0};
    struct umpire_engine *e = NULL, *pe = NULL;
    int rc = 0;
    if (cands) {
        rc = umpire_proposer_candidates(cands, &prop, err);
    } else if (url) {
        struct umpire_url_proposer_params up = {.url = url,
                                                .model = pname,
                                                .api_key = getenv("UMPIRE_PROPOSER_API_KEY"),
                                                .timeout_ms = (int)(timeout * 1000),
                                                .retries = (int)retries,
                                                .max_bytes = 8u << 20};
        rc = umpire_proposer_url(&up, &prop, err);
    } else {
        struct umpire_engine_params pp = umpire_engine_default_params();
        pp.model_path = pmodel;
        pp.k_max = 1;
        pp.n_threads = ep.n_threads;
        pp.n_gpu_layers = ep.n_gpu_layers;
        rc = umpire_engine_open(&pp, &pe, err);
        if (rc == 0)
            rc = umpire_proposer_engine(pe, pmodel, seed, (int)ptokens, &prop, err);
    }
    cJSON *res = NULL;
    struct progress_state st = {.tty = isatty(2)};
    p.proposer = &prop;
    p.progress = show_progress;
    p.progress_ctx = &st;
    if (rc == 0)
        rc = umpire_engine_open(&ep, &e, err);
    if (rc == 0)
        rc = umpire_optimise_run(e, &p, &res, err);
    if (rc != 0) {
        fprintf(stderr, "umpire optimise-prompt: %s\n", err);
    } else if (json) {
        char *text = cJSON_Print(res);
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        print_table(res, p.out_dir);
    }
    cJSON_Delete(res);
    umpire_engine_close(e);
    umpire_engine_close(pe);
    umpire_proposer_free(&prop);
    free(seeds);
    return rc == 0 ? 0 : 1;
}
