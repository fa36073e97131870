/* main.c - `umpire`: dispatch to one subcommand per file (git's builtin/ pattern). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "umpire.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"ask", cmd_ask, "answer a question (text, images, audio) with how likely the answer is wrong"},
    {"eval", cmd_eval, "run a model over a dataset (resumable); every score's AUROC, PRR, ECE, ..."},
    {"merge", cmd_merge, "combine the shards of an evaluation (umpire eval --shard i/n)"},
    {"convert", cmd_convert, "VQA / MMBench / TruthfulQA / SciQ files into a dataset for eval"},
    {"score", cmd_score, "score sample sets with UMPIRE and the baselines; metrics when labelled"},
    {"metrics", cmd_metrics, "recompute the estimators x metrics table from scored items"},
    {"compare", cmd_compare, "two runs, or two estimators of one: each difference, paired intervals"},
    {"optimise-prompt", cmd_optimise, "search a multiple-choice answer prompt for accuracy and calibration"},
    {"calibrate", cmd_calibrate, "fit / apply score -> P(wrong) maps and risk thresholds; temperature"},
    {"sps", cmd_sps, "pick the prompt position SemGrad reads, from paraphrases (semantic preservation)"},
    {"serve", cmd_serve, "an OpenAI-compatible server: answers with p(error) and a verdict; escalation"},
    {"info", cmd_info, "describe a GGUF model and its projector"},
    {"version", cmd_version, "print umpire's version and the llama.cpp / ggml it links"},
};

static void usage(FILE *out) {
    fprintf(out,
            "umpire %s - how likely is an LLM's answer wrong?\n\n"
            "usage: umpire <command> [options]   (umpire <command> --help for details)\n\n"
            "commands:\n",
            umpire_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nexamples:\n  umpire ask -m model.gguf \"What is the capital of France?\"\n  umpire eval -m model.gguf --data questions.jsonl --out runs/first\n");
}

int main(int argc, char **argv) {
    umpire_set_llama_log(UMPIRE_LLAMA_LOG_CAPTURE); /* llama.cpp's lines only in our messages (-v: all) */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V"))
        name = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "umpire: '%s' is not a command; see 'umpire --help'\n", name);
    return 2;
}
