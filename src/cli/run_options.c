/* run_options.c - the options every command that runs a model shares (`ask`, `eval`), in
 * llama.cpp's spelling where one exists, parsed in one place. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* --idk-prompt's sentences: umpire's wording of the prompt adjustments that allow or encourage a
 * model to admit not knowing (Calibration-MLLM's IDK study varies the prompt the same way) */
#define IDK_ALLOW "If you do not know the answer, say \"I don't know\"."
#define IDK_ENCOURAGE "Answer only if you are sure of the answer; otherwise say \"I don't know\"."

static int int_opt(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out) {
    double x;
    if (cli_parse_double(cmd, opt, v, &x))
        return -1;
    if (x != floor(x) || x < lo || x > hi) {
        fprintf(stderr, "umpire %s: %s: must be an integer in %d..%d, got %s\n", cmd, opt, lo, hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int float_opt(const char *cmd, const char *opt, const char *v, float *out) {
    double x;
    if (cli_parse_double(cmd, opt, v, &x))
        return -1;
    *out = (float)x;
    return 0;
}

int cli_push(const char ***v, size_t *n, const char *s) {
    const char **g = realloc(*v, (*n + 1) * sizeof *g);
    if (!g)
        return -1;
    g[(*n)++] = s;
    *v = g;
    return 0;
}

void cli_run_options_init(struct cli_run_options *o) {
    memset(o, 0, sizeof *o);
    o->engine = umpire_engine_default_params();
    o->sample = umpire_sample_default_params();
    o->choice_temp = 1.0;
    o->grad = umpire_grad_default_params();
}

void cli_run_options_spell(int argc, char **argv) {
    for (int i = 1; i < argc; i++) /* llama.cpp's spelling */
        if (!strcmp(argv[i], "-ngl"))
            argv[i] = "--n-gpu-layers";
}

int cli_run_option(const char *cmd, int c, const char *v, struct cli_run_options *o) {
    uint64_t seed;
    switch (c) {
    case 'm': o->engine.model_path = v; return 0;
    case CLI_O_MMPROJ: o->engine.mmproj_path = v; return 0;
    case 'c': return int_opt(cmd, "--ctx-size", v, 256, 1 << 24, &o->engine.n_ctx);
    case 't': return int_opt(cmd, "--threads", v, 1, 1024, &o->engine.n_threads);
    case CLI_O_NGL: return int_opt(cmd, "--n-gpu-layers", v, -1, 1 << 16, &o->engine.n_gpu_layers);
    case CLI_O_PCACHE: {
        static const char *const modes[] = {"off", "exact", "tokens"};
        for (int m = 0; m < 3; m++)
            if (!strcmp(v, modes[m])) {
                o->engine.reuse_prefix = m;
                return 0;
            }
        fprintf(stderr, "umpire %s: --prefix-cache: '%s' is not exact, tokens or off\n", cmd, v);
        return -1;
    }
    case CLI_O_SYSTEM: o->system = v; return 0;
    case CLI_O_INSTR: o->instruction = v; return 0;
    case CLI_O_IDK:
        if (strcmp(v, "allow") && strcmp(v, "encourage")) {
            fprintf(stderr, "umpire %s: --idk-prompt: '%s' is not allow or encourage\n", cmd, v);
            return -1;
        }
        o->idk = v;
        return 0;
    case 'k': return int_opt(cmd, "-k", v, strcmp(cmd, "ask") ? 1 : 0, 64, &o->sample.k); /* ask -k 0: greedy only */
    case 's':
        if (cli_parse_u64(cmd, "--seed", v, &seed))
            return -1;
        o->sample.seed = seed;
        return 0;
    case 'n': return int_opt(cmd, "--max-tokens", v, 1, 1 << 16, &o->sample.max_tokens);
    case CLI_O_TEMP: return float_opt(cmd, "--temp", v, &o->sample.temp);
    case CLI_O_TOPP: return float_opt(cmd, "--top-p", v, &o->sample.top_p);
    case CLI_O_TOPK: return int_opt(cmd, "--top-k", v, 0, 1 << 24, &o->sample.top_k);
    case CLI_O_GTEMP: return float_opt(cmd, "--greedy-temp", v, &o->sample.greedy_temp);
    case CLI_O_STOP:
        if (cli_push(&o->stops, &o->sample.n_stop, v))
            return -1;
        o->sample.stop = o->stops;
        return 0;
    case CLI_O_SPROBS: o->sample.sampler_probs = 1; return 0;
    case CLI_O_RPROBS: o->sample.sampler_probs = 0; return 0;
    case CLI_O_MIDDLE: o->sample.middle = 1; return 0;
    case CLI_O_STYLE:
        if (umpire_prompt_style_parse(v, &o->style)) {
            fprintf(stderr, "umpire %s: --prompt-style: '%s' is not suffix or reference\n", cmd, v);
            return -1;
        }
        return 0;
    case CLI_O_PTRUE: o->passes.p_true = 1; return 0;
    case CLI_O_VERBAL: o->passes.verbalised = 1; return 0;
    case CLI_O_ENTAIL: o->passes.entailment = 1; return 0;
    case CLI_O_GRAD: o->gradients = 1; return 0;
    case CLI_O_GPOS:
        o->gradients = 1;
        return int_opt(cmd, "--grad-position", v, -4096, -1, &o->grad.position);
    case CLI_O_GNLL: o->gradients = 1; o->grad.weighted = 0; return 0;
    case CLI_O_CTEMP:
        if (cli_parse_double(cmd, "--choice-temp", v, &o->choice_temp) || !(o->choice_temp > 0)) {
            fprintf(stderr, "umpire %s: --choice-temp: needs a number > 0\n", cmd);
            return -1;
        }
        return 0;
    case 'v': umpire_set_llama_log(UMPIRE_LLAMA_LOG_STDERR); return 0;
    default: return 1; /* not one of ours */
    }
}

void cli_run_options_help(FILE *f) {
    fprintf(f,
            "model:\n"
            "  -m, --model FILE        GGUF model\n"
            "  --mmproj FILE           projector for --image / --audio (libmtmd)\n"
            "  -c, --ctx-size N        context shared by the prompt and all answers (default 4096)\n"
            "  -t, --threads N         CPU threads (default: all cores)\n"
            "  -ngl, --n-gpu-layers N  layers on the GPU when built with one (default all)\n"
            "  --prefix-cache MODE     what a prompt reuses of the one before it (serve: of its slot's):\n"
            "                          exact (default): a cold prefill's numbers bit for bit; shared\n"
            "                          whole messages (a system prompt, earlier turns) are not decoded\n"
            "                          again, of a partly shared one what differs and up to 67 tokens\n"
            "                          (64 on a GPU); tokens: only what differs, in batches of 512,\n"
            "                          the numbers to rounding; off\n"
            "prompt:\n"
            "  --system TEXT           a system message\n"
            "  --instruction TEXT      the instruction (default \"%s\";\n"
            "                          \"\" for none)\n"
            "  --prompt-style S        suffix (default: question, newline, instruction) or reference\n"
            "                          (UMPIRE's: instruction, space, question)\n"
            "  --idk-prompt MODE       a sentence after the instruction that lets the model decline:\n"
            "                          allow: %s\n"
            "                          encourage: %s\n"
            "sampling:\n"
            "  -k N                    sampled answers, 1..64 (default 5); ask -k 0: the low-temperature\n"
            "                          answer only, with the single-answer scores\n"
            "  -s, --seed S            one seed for all answers (each gets its own from it; default 0)\n"
            "  -n, --max-tokens N      per answer (default 256, as UMPIRE's reference)\n"
            "  --temp T  --top-p P  --top-k K   the samples' sampler (default 1.0, 0.9, off)\n"
            "  --greedy-temp T         the reported answer's temperature (default 0.1; 0 = argmax)\n"
            "  --stop TEXT             end an answer before TEXT (repeatable); no token of it is kept\n"
            "  --raw-probs             log-probs of the model's raw distribution (default: of the\n"
            "                          tempered, truncated one each token was drawn from, as UMPIRE's\n"
            "                          reference; the raw ones are recorded beside them)\n"
            "  --middle-layer          record each sample's middle-layer state too (INSIDE's EigenScore)\n"
            "extra passes (the model judges itself):\n"
            "  --p-true                P(True) of the answer (Kadavath et al. 2022)\n"
            "  --verbalised            the confidence the model states for it (Tian et al. 2023)\n"
            "  --entailment            does answer i entail answer j, for all pairs: semantic entropy\n"
            "                          and the graph estimators on the model's own judgement\n"
            "  --choice-temp T         temperature of multiple-choice letter probabilities (default 1)\n"
            "gradients (llama, mistral, qwen2, qwen3 models; images and audio through a llava-style projector):\n"
            "  --gradients             SemGrad, ExGrad and HybridGrad of the answer: one forward and\n"
            "                          one backward pass through umpire's own graph of the model\n"
            "  --grad-position N       the prompt token SemGrad reads, from the end (-1: the last;\n"
            "                          default: the chat template's, e.g. -3 for <|im_start|>)\n"
            "  --grad-nll              the plain NLL loss instead of the entropy-weighted one\n",
            UMPIRE_DEFAULT_INSTRUCTION, IDK_ALLOW, IDK_ENCOURAGE);
}

const char *cli_run_instruction(const char *cmd, struct cli_run_options *o) {
    if (!o->idk)
        return o->instruction;
    const char *base = o->instruction ? o->instruction : UMPIRE_DEFAULT_INSTRUCTION,
               *idk = strcmp(o->idk, "allow") ? IDK_ENCOURAGE : IDK_ALLOW;
    free(o->instruction_buf);
    if (asprintf(&o->instruction_buf, "%s%s%s", base, *base ? " " : "", idk) < 0) {
        o->instruction_buf = NULL;
        fprintf(stderr, "umpire %s: out of memory\n", cmd);
    }
    return o->instruction_buf;
}

void cli_run_options_free(struct cli_run_options *o) {
    free(o->stops);
    free(o->instruction_buf);
}
