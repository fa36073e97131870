/* sps.c - `umpire sps`: which prompt position (and layers) keep a question's meaning, from
 * paraphrase sets: the semantic preservation score of every layer output at the last few prompt
 * positions (umpire_grad_sps), and the position SemGrad should read (--grad-position). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "io/paraphrases.h"
#include "umpire.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: umpire sps -m MODEL.gguf --data PARAPHRASES.jsonl [--positions N] [-t N]\n\n"
        "The semantic preservation score (SPS) of each layer's output at each of the last N\n"
        "prompt positions (default 8): mean cosine similarity between the states of paraphrases\n"
        "of one question minus that between different questions, each question put to the model\n"
        "as `umpire ask` puts it (chat template, default instruction). Prints the table, the\n"
        "mean over the layers SemGrad reads (the later half), and the best position for\n"
        "ask / eval --grad-position.\n\n"
        "PARAPHRASES.jsonl: one question a line, {\"id\": \"q1\", \"paraphrases\": [\"...\", "
        "\"...\"]}.\n\n"
        "example:\n"
        "  umpire sps -m model.gguf --data paraphrases.jsonl --positions 6\n");
}

int cmd_sps(int argc, char **argv) {
    const char *model = NULL, *data = NULL;
    int positions = 8, threads = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"data", required_argument, 0, 'd'},
                                         {"positions", required_argument, 0, 'p'},
                                         {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'p':
            positions = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!model || !data || optind != argc || positions < 1 || positions > 64 || threads < 0) {
        fprintf(stderr, "umpire sps: %s\n",
                !model  ? "-m MODEL is required"
                : !data ? "--data FILE is required"
                        : "bad arguments");
        usage(stderr);
        return 2;
    }
    char err[UMPIRE_ERR_LEN];
    struct umpire_paraphrases p;
    if (umpire_paraphrases_read(data, &p, err) != 0) {
        fprintf(stderr, "umpire sps: %s\n", err);
        return 1;
    }
    int rc = 1;
    struct umpire_engine *e = NULL;
    struct umpire_grad_model *g = NULL;
    int32_t **tok = calloc(p.n, sizeof *tok);
    size_t *n_tok = calloc(p.n, sizeof *n_tok);
    double *sps = NULL;
    struct umpire_engine_params ep = umpire_engine_default_params();
    ep.model_path = model;
    ep.k_max = 1;
    ep.n_threads = threads;
    if (!tok || !n_tok) {
        fprintf(stderr, "umpire sps: out of memory\n");
        goto out;
    }
    if (umpire_grad_model_load(model, threads, &g, err) != 0 ||
        umpire_engine_open(&ep, &e, err) != 0) {
        fprintf(stderr, "umpire sps: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < p.n; i++) {
        struct umpire_query q = {.question = p.text[i]};
        if (umpire_engine_prompt_tokens(e, &q, &tok[i], &n_tok[i], err) != 0) {
            fprintf(stderr, "umpire sps: %s: question %zu: %s\n", data, p.group[i] + 1, err);
            goto out;
        }
    }
    const int L = umpire_grad_model_n_layer(g);
    if (!(sps = malloc((size_t)L * positions * sizeof *sps)) ||
        umpire_grad_sps(g, (const int32_t *const *)tok, n_tok, p.group, p.n, positions, sps, err) !=
            0) {
        fprintf(stderr, "umpire sps: %s\n", sps ? err : "out of memory");
        goto out;
    }
    int first, last; /* the layers SemGrad reads by default */
    umpire_grad_model_layers(g, &first, &last);
    printf("SPS: %zu phrasings of %zu questions, %s\n", p.n, p.n_groups, model);
    printf("layer ");
    for (int j = 0; j < positions; j++)
        printf(" %7d", -1 - j);
    printf("\n");
    for (int il = 0; il < L; il++) {
        printf("%5d%s", il, il >= first && il <= last ? "*" : " ");
        for (int j = 0; j < positions; j++)
            printf(" %7.4f", sps[(size_t)il * positions + j]);
        printf("\n");
    }
    int best = 0;
    double best_mean = -1e300;
    printf("mean* ");
    for (int j = 0; j < positions; j++) {
        double s = 0;
        for (int il = first; il <= last; il++)
            s += sps[(size_t)il * positions + j];
        s /= last >= first ? last - first + 1 : 1;
        printf(" %7.4f", s);
        if (s > best_mean)
            best_mean = s, best = j;
    }
    printf("\n* the layers SemGrad reads (%d..%d)\nbest position: --grad-position %d (mean SPS "
           "%.4f)\n",
           first, last, -1 - best, best_mean);
    rc = 0;
out:
    for (size_t i = 0; tok && i < p.n; i++)
        umpire_free(tok[i]);
    free(tok);
    free(n_tok);
    free(sps);
    umpire_engine_close(e);
    umpire_grad_model_free(g);
    umpire_paraphrases_free(&p);
    return rc;
}
