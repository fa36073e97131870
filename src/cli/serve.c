/* serve.c - `umpire serve`: an OpenAI-compatible server that answers with how likely the answer
 * is wrong (src/serve/). This file only reads the options. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/pool.h"
#include "serve/server.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: umpire serve -m MODEL.gguf [--mmproj F] [--calibration cal.json] [options]\n\n"
            "An OpenAI-compatible server: POST /v1/chat/completions answers (text, images as data: URIs,\n"
            "input_audio; earlier user/assistant turns of a conversation, text only; n, temperature,\n"
            "max_tokens, seed, logprobs, stream, stop) and adds an \"uncertainty\"\n"
            "object: every score, alpha, k, and with --calibration p_error and the verdict (answer or\n"
            "escalate). POST /v1/uncertainty scores given answers ({\"messages\", \"answers\": [...]}); GET\n"
            "/v1/models, /health, /metrics (Prometheus). `temperature` is the returned answer's (the\n"
            "low-temperature one); `k` (umpire's field) the samples drawn to measure the spread; `n` > 1\n"
            "returns samples as further choices. Requests share one engine: each request's k + 1 answers\n"
            "come from one prefill, and up to --parallel requests decode together step by step\n"
            "(continuous batching: a request joins the running ones without waiting for them).\n"
            "stream: true sends the answer as it is decoded (with stop strings, all but what one may still\n"
            "cut off); black-box answers and, with --escalate-url, every answer stream whole at the end.\n\n");
    cli_run_options_help(f);
    fprintf(f,
            "server:\n"
            "  --host ADDR             IPv4 address to listen on (default 127.0.0.1)\n"
            "  --port N                (default 8080; 0: any free port)\n"
            "  --port-file FILE        write the port there once listening\n"
            "  --alias NAME            the model id /v1/models lists (default: the GGUF's file name)\n"
            "  --api-keys FILE         require Authorization: Bearer KEY, keys one a line\n"
            "  --allow-remote-media    fetch image_url http(s) URLs (default: data: URIs only)\n"
            "  --calibration FILE      from `umpire calibrate fit`: p_error and verdict\n"
            "  --alpha X               UMPIRE's weight of incoherence (default 1, or the calibration's)\n"
            "limits:\n"
            "  --max-body BYTES        request body (default 12582912)\n"
            "  --max-media-bytes BYTES each decoded image or clip (default 8388608)\n"
            "  --k-max N               largest k (and n - 1) a request may ask for (default 16)\n"
            "  --max-tokens-limit N    largest max_tokens a request may ask for (default 256)\n"
            "  --max-connections N     connections at once (default 64)\n"
            "  --max-queue N           requests waiting for the model; more get 429 + Retry-After (16)\n"
            "  --parallel N            requests decoded together (default 4); they share --ctx-size\n"
            "                          (default 4096 per request): each needs its prompt and (k + 1) x\n"
            "                          max_tokens cells, and waits its turn when they are taken\n"
            "  --timeout S             seconds a request may wait for its answer: 504 after (300)\n"
            "  --idle-timeout S        seconds a connection may stay silent (15)\n"
            "  --body-timeout S        seconds to send a request body: closed after (30)\n"
            "  --header-timeout S      seconds to send a request's headers, from the connection's start or\n"
            "                          its last answer: closed after (10; slow clients that never idle)\n"
            "  --drain-timeout S       on SIGTERM, seconds to let requests in flight finish; those still\n"
            "                          waiting for the model then get 503 shutting_down (60)\n"
            "black-box and escalation:\n"
            "  --upstream URL          ask this OpenAI-compatible endpoint for k answers and score them with\n"
            "                          MODEL as the proxy (teacher forcing): http://HOST:PORT/v1\n"
            "  --upstream-key-env VAR  the environment variable holding its API key\n"
            "  --upstream-model NAME   the model to ask it for (default: the request's)\n"
            "  --escalate-url URL      re-ask a query whose verdict is \"escalate\" to this endpoint\n"
            "  --escalate-key-env VAR, --escalate-model NAME\n"
            "  --escalate-to queue     or append it to --escalate-log (JSONL, fsync'ed) for a person\n"
            "  --escalate-log FILE     (default escalations.jsonl)\n"
            "  --upstream-timeout S    per attempt (default 60); --upstream-retries N (default 2)\n"
            "  (--upstream and --escalate-url repeat: a pool of endpoints serving one model; each call goes\n"
            "  to the least-loaded healthy one and fails over to the next)\n"
            "  --health-interval S     how often a pool's endpoints are checked (GET .../models; default 2)\n\n"
            "examples:\n"
            "  umpire serve -m model.gguf --calibration cal.json --port 8080\n"
            "  curl -s http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            "    -d '{\"messages\": [{\"role\": \"user\", \"content\": \"What is the capital of France?\"}]}'\n"
            "  OPENAI_KEY=... umpire serve -m small.gguf --upstream https://api.example.com/v1 \\\n"
            "    --upstream-key-env OPENAI_KEY --upstream-model gpt-4o --calibration cal-raw.json\n"
            "  umpire serve -m model.gguf --calibration cal.json --escalate-to queue --escalate-log esc.jsonl\n");
}

static int parse_size(const char *opt, const char *v, size_t *out) {
    uint64_t u;
    if (cli_parse_u64("serve", opt, v, &u))
        return -1;
    *out = (size_t)u;
    return 0;
}

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out) {
    uint64_t u;
    if (cli_parse_u64("serve", opt, v, &u))
        return -1;
    if (u < (uint64_t)lo || u > (uint64_t)hi) {
        fprintf(stderr, "umpire serve: %s: must be in [%d, %d], got %s\n", opt, lo, hi, v);
        return -1;
    }
    *out = (int)u;
    return 0;
}

static int parse_seconds(const char *opt, const char *v, double *out) {
    if (cli_parse_double("serve", opt, v, out))
        return -1;
    if (!(*out > 0 && *out < 1e6)) {
        fprintf(stderr, "umpire serve: %s: a number of seconds > 0 is required, got %s\n", opt, v);
        return -1;
    }
    return 0;
}

int cmd_serve(int argc, char **argv) {
    struct cli_run_options ro;
    cli_run_options_init(&ro);
    struct serve_config c;
    serve_config_defaults(&c);
    const char *calibration = NULL, *escalate_to = NULL;
    const char *ups[SERVE_POOL_MAX], *escs[SERVE_POOL_MAX];
    int n_ups = 0, n_escs = 0;
    double alpha = 1.0, secs;
    int alpha_given = 0, ctx_default = 1;
    enum {
        O_HOST = CLI_O_FIRST_OWN, O_PORT, O_PORT_FILE, O_ALIAS, O_KEYS, O_CAL, O_ALPHA, O_MAX_BODY, O_MAX_MEDIA,
        O_KMAX, O_TOKLIM, O_MAXCONN, O_MAXQ, O_PARALLEL, O_TIMEOUT, O_IDLE, O_BODYT, O_DRAIN, O_UP, O_UPKEY, O_UPMODEL, O_ESC,
        O_ESCKEY, O_ESCMODEL, O_ESCTO, O_ESCLOG, O_UPTIME, O_UPRETRY, O_REMOTE, O_HEALTH, O_HEADT
    };
    static const struct option opts[] = {
        CLI_RUN_OPTIONS,
        {"host", required_argument, 0, O_HOST}, {"port", required_argument, 0, O_PORT},
        {"port-file", required_argument, 0, O_PORT_FILE}, {"alias", required_argument, 0, O_ALIAS},
        {"api-keys", required_argument, 0, O_KEYS}, {"calibration", required_argument, 0, O_CAL},
        {"alpha", required_argument, 0, O_ALPHA}, {"max-body", required_argument, 0, O_MAX_BODY},
        {"max-media-bytes", required_argument, 0, O_MAX_MEDIA}, {"k-max", required_argument, 0, O_KMAX}, {"parallel", required_argument, 0, O_PARALLEL},
        {"max-tokens-limit", required_argument, 0, O_TOKLIM}, {"max-connections", required_argument, 0, O_MAXCONN},
        {"max-queue", required_argument, 0, O_MAXQ}, {"timeout", required_argument, 0, O_TIMEOUT},
        {"idle-timeout", required_argument, 0, O_IDLE}, {"body-timeout", required_argument, 0, O_BODYT},
        {"drain-timeout", required_argument, 0, O_DRAIN}, {"upstream", required_argument, 0, O_UP},
        {"upstream-key-env", required_argument, 0, O_UPKEY}, {"upstream-model", required_argument, 0, O_UPMODEL},
        {"escalate-url", required_argument, 0, O_ESC}, {"escalate-key-env", required_argument, 0, O_ESCKEY},
        {"escalate-model", required_argument, 0, O_ESCMODEL}, {"escalate-to", required_argument, 0, O_ESCTO},
        {"escalate-log", required_argument, 0, O_ESCLOG}, {"upstream-timeout", required_argument, 0, O_UPTIME},
        {"upstream-retries", required_argument, 0, O_UPRETRY}, {"health-interval", required_argument, 0, O_HEALTH},
        {"allow-remote-media", no_argument, 0, O_REMOTE}, {"header-timeout", required_argument, 0, O_HEADT},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int ch, bad = 0;
    cli_run_options_spell(argc, argv);
    while (!bad && (ch = getopt_long(argc, argv, CLI_RUN_SHORT "h", opts, NULL)) != -1) {
        ctx_default &= ch != 'c';
        int shared = cli_run_option("serve", ch, optarg, &ro);
        if (shared <= 0) {
            bad = shared < 0;
            continue;
        }
        switch (ch) {
        case O_HOST: c.host = optarg; break;
        case O_PORT: bad = parse_int("--port", optarg, 0, 65535, &c.port); break;
        case O_PORT_FILE: c.port_file = optarg; break;
        case O_ALIAS: c.model_name = optarg; break;
        case O_KEYS: c.keys_file = optarg; break;
        case O_CAL: calibration = optarg; break;
        case O_ALPHA:
            bad = cli_parse_double("serve", "--alpha", optarg, &alpha);
            if (!bad && !(alpha >= 0)) {
                fprintf(stderr, "umpire serve: --alpha: needs a number >= 0, got %s\n", optarg);
                bad = 1;
            }
            alpha_given = 1;
            break;
        case O_MAX_BODY: bad = parse_size("--max-body", optarg, &c.max_body); break;
        case O_MAX_MEDIA: bad = parse_size("--max-media-bytes", optarg, &c.lim.max_media_bytes); break;
        case O_KMAX: bad = parse_int("--k-max", optarg, 1, 64, &c.lim.k_max); break;
        case O_TOKLIM: bad = parse_int("--max-tokens-limit", optarg, 1, 1 << 20, &c.lim.max_tokens); break;
        case O_MAXCONN: bad = parse_int("--max-connections", optarg, 1, 4096, &c.max_connections); break;
        case O_MAXQ: bad = parse_int("--max-queue", optarg, 1, 1 << 20, &c.max_queue); break;
        case O_PARALLEL: bad = parse_int("--parallel", optarg, 1, 64, &c.parallel); break;
        case O_TIMEOUT: bad = parse_seconds("--timeout", optarg, &c.timeout); break;
        case O_IDLE:
            bad = parse_seconds("--idle-timeout", optarg, &secs);
            c.idle_timeout = (int)ceil(secs);
            break;
        case O_BODYT: bad = parse_seconds("--body-timeout", optarg, &c.body_timeout); break;
        case O_HEADT: bad = parse_seconds("--header-timeout", optarg, &c.header_timeout); break;
        case O_DRAIN: bad = parse_seconds("--drain-timeout", optarg, &c.drain_timeout); break;
        case O_UP:
            if (n_ups == SERVE_POOL_MAX) {
                fprintf(stderr, "umpire serve: --upstream: at most %d endpoints\n", SERVE_POOL_MAX);
                bad = 1;
            } else {
                ups[n_ups++] = optarg;
            }
            break;
        case O_UPKEY: c.upstream_key_env = optarg; break;
        case O_UPMODEL: c.upstream_model = optarg; break;
        case O_ESC:
            if (n_escs == SERVE_POOL_MAX) {
                fprintf(stderr, "umpire serve: --escalate-url: at most %d endpoints\n", SERVE_POOL_MAX);
                bad = 1;
            } else {
                escs[n_escs++] = optarg;
            }
            break;
        case O_HEALTH:
            bad = parse_seconds("--health-interval", optarg, &secs);
            c.health_ms = (int)(secs * 1000);
            break;
        case O_ESCKEY: c.escalate_key_env = optarg; break;
        case O_ESCMODEL: c.escalate_model = optarg; break;
        case O_ESCTO: escalate_to = optarg; break;
        case O_ESCLOG: c.escalate_log = optarg; break;
        case O_UPTIME:
            bad = parse_seconds("--upstream-timeout", optarg, &secs);
            c.upstream_timeout_ms = (int)(secs * 1000);
            break;
        case O_UPRETRY: bad = parse_int("--upstream-retries", optarg, 0, 10, &c.upstream_retries); break;
        case O_REMOTE: c.lim.allow_remote_media = 1; break;
        case 'h': usage(stdout); cli_run_options_free(&ro); return 0;
        default: bad = 1;
        }
    }
    int rc = 2;
    char err[UMPIRE_ERR_LEN];
    struct umpire_calibration cal = {.threshold = NAN};
    struct umpire_engine *e = NULL;
    if (bad || !ro.engine.model_path || optind != argc) {
        if (!bad)
            fprintf(stderr, "umpire serve: %s\n", !ro.engine.model_path ? "-m MODEL is required"
                                                                        : "unexpected argument (a question?)");
        usage(stderr);
        goto out;
    }
    if (ro.gradients) {
        fprintf(stderr, "umpire serve: --gradients is not served (use umpire ask --gradients)\n");
        goto out;
    }
    if (escalate_to && strcmp(escalate_to, "queue")) {
        fprintf(stderr, "umpire serve: --escalate-to: only \"queue\" (a URL goes to --escalate-url), got %s\n",
                escalate_to);
        goto out;
    }
    c.upstream = n_ups ? ups[0] : NULL;
    c.upstream_urls = ups;
    c.n_upstream = n_ups;
    c.escalate_url = n_escs ? escs[0] : NULL;
    c.escalate_urls = escs;
    c.n_escalate = n_escs;
    if (c.escalate_log && !escalate_to) {
        fprintf(stderr, "umpire serve: --escalate-log needs --escalate-to queue\n");
        goto out;
    }
    if (escalate_to && !c.escalate_log)
        c.escalate_log = "escalations.jsonl";
    if (escalate_to && c.escalate_url) {
        fprintf(stderr, "umpire serve: --escalate-url and --escalate-to queue: choose one\n");
        goto out;
    }
    rc = 1;
    if ((c.escalate_url || escalate_to) && !calibration) {
        fprintf(stderr, "umpire serve: escalation needs a verdict: give --calibration (from umpire calibrate fit)\n");
        goto out;
    }
    if (calibration && umpire_calibration_load(calibration, &cal, err) != 0) {
        fprintf(stderr, "umpire serve: %s\n", err);
        goto out;
    }
    if (calibration && umpire_estimator_index(cal.estimator) < 0) {
        fprintf(stderr, "umpire serve: %s: estimator '%s' is not one umpire computes\n", calibration, cal.estimator);
        goto out;
    }
    if ((c.escalate_url || escalate_to) && isnan(cal.threshold)) {
        fprintf(stderr, "umpire serve: %s has no risk threshold (fit it with --risk): no verdict to escalate on\n",
                calibration);
        goto out;
    }
    /* black-box answers are teacher-forced: the model's raw probabilities */
    enum umpire_probs probs = c.upstream || !ro.sample.sampler_probs ? UMPIRE_PROBS_RAW : UMPIRE_PROBS_SAMPLER;
    if (cli_calibration_score_params("serve", &cal, calibration, alpha, alpha_given, probs, &c.score) != 0)
        goto out;
    c.cal = calibration ? &cal : NULL;
    if (ro.sample.k > c.lim.k_max)
        c.lim.k_max = ro.sample.k;
    if (ro.sample.max_tokens > c.lim.max_tokens)
        c.lim.max_tokens = ro.sample.max_tokens;
    c.lim.max_answers = (size_t)c.lim.k_max;
    c.sample = ro.sample;
    c.judge = ro.passes; /* --p-true, --verbalised, --entailment: run after each answer */
    c.query.system = ro.system;
    c.query.instruction = cli_run_instruction("serve", &ro);
    if (ro.idk && !c.query.instruction)
        goto out;
    c.query.style = ro.style;
    if (!c.model_name || !strcmp(c.model_name, "umpire")) {
        const char *base = strrchr(ro.engine.model_path, '/');
        c.model_name = base ? base + 1 : ro.engine.model_path;
    }
    ro.engine.k_max = c.lim.k_max + 1 > 2 ? c.lim.k_max + 1 : 2;
    if (c.parallel * (ro.engine.k_max + 1) > 256) {
        fprintf(stderr, "umpire serve: --parallel %d with --k-max %d needs %d sequences; llama.cpp has 256: lower one\n",
                c.parallel, c.lim.k_max, c.parallel * (ro.engine.k_max + 1));
        goto out;
    }
    ro.engine.n_slots = c.parallel;
    if (ctx_default) /* --ctx-size not given: 4096 cells per request decoded at once */
        ro.engine.n_ctx = 4096 * c.parallel;
    fprintf(stderr, "umpire serve: loading %s\n", ro.engine.model_path);
    if (umpire_engine_open(&ro.engine, &e, err) != 0) {
        fprintf(stderr, "umpire serve: %s\n", err);
        goto out;
    }
    c.engine = e;
    e = NULL; /* serve_run closes it */
    if (serve_run(&c, err) != 0) {
        fprintf(stderr, "umpire serve: %s\n", err);
        goto out;
    }
    rc = 0;
out:
    umpire_engine_close(e);
    umpire_calibration_free(&cal);
    cli_run_options_free(&ro);
    return rc;
}
