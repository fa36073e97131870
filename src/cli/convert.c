/* convert.c - `umpire convert`: VQA / MMBench / TruthfulQA / SciQ / LLaVA conversation files into a dataset for
 * `umpire eval`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "io/convert.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: umpire convert FORMAT INPUT -o DATASET.jsonl [options]\n\n"
        "Turn a dataset in a format users already have into umpire's dataset JSONL (-o -: on\n"
        "standard output, but for MMBench with images). The output may not be an input.\n\n"
        "formats:\n"
        "  vqa          VQAv2 / OK-VQA / AdVQA questions JSON, with --annotations FILE; the\n"
        "               answers are all 10 annotators', repeats kept, as UMPIRE keeps them\n"
        "               (eval --judge vqa: VQA's soft accuracy >= 0.5; rouge, the default, and\n"
        "               exact: a match with any of them)\n"
        "               --image-dir DIR --image-pattern PAT: an image's file name, with one {id}\n"
        "               (the image_id) or {id:0N} (zero-padded to N digits); default\n"
        "               COCO_<the questions file's data_subtype>_{id:012}.jpg, else\n"
        "               " UMPIRE_VQA_IMAGE_PATTERN " (AdVQA: --image-pattern '{id:012}.jpg')\n"
        "  mmbench      MMBench TSV (base64 images are written to DATASET.jsonl-images/INDEX.png;\n"
        "               an image cell holding another row's index shares that row's image)\n"
        "  truthfulqa   TruthfulQA CSV (Best Answer and Correct Answers are accepted)\n"
        "  sciq         SciQ JSON, as multiple choice (--seed S orders the options; default 0)\n"
        "  conversations  LLaVA-style JSON [{\"id\", \"image\", \"conversations\": [{\"value\": question\n"
        "               with option lines \"A. ...\"}, {\"value\": \"B\"}]}], as Calibration-MLLM's code\n"
        "               reads it (their IDK data): multiple choice; a question whose right option\n"
        "               declines (\"I don't know\") becomes \"answerable\": false (--image-dir DIR:\n"
        "               the images' folder)\n\n"
        "Every row becomes a question or stops the conversion with FILE:LINE: field: problem\n"
        "(JSON: FILE: questions[i]: field: problem), exit 1, and nothing written: text that is\n"
        "not UTF-8, a row with another number of fields than the header, an open quote, an\n"
        "empty question or answer, an answer that is not one of the options, repeated options,\n"
        "an id that is not a whole number (VQA) or a safe file name (MMBench index: letters,\n"
        "digits, '.', '_', '-'), an id twice, a question without annotation. Blank lines are\n"
        "not rows and are passed over. Bad options exit 2.\n\n"
        "examples:\n"
        "  umpire convert vqa v2_OpenEnded_mscoco_val2014_questions.json \\\n"
        "      --annotations v2_mscoco_val2014_annotations.json --image-dir val2014 -o vqa.jsonl\n"
        "  umpire convert vqa OpenEnded_mscoco_train2014_questions.json --annotations \\\n"
        "      mscoco_train2014_annotations.json --image-pattern 'COCO_train2014_{id:012}.jpg' \\\n"
        "      -o okvqa.jsonl\n"
        "  umpire convert mmbench mmbench_dev_en.tsv -o mmbench.jsonl\n"
        "  umpire convert conversations idk_test.json --image-dir images -o idk.jsonl\n");
}

int cmd_convert(int argc, char **argv) {
    struct umpire_convert_params p = {0};
    enum { O_ANN = 256, O_DIR, O_PAT, O_SEED };
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"annotations", required_argument, 0, O_ANN},
                                         {"image-dir", required_argument, 0, O_DIR},
                                         {"image-pattern", required_argument, 0, O_PAT},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': p.output = optarg; break;
        case O_ANN: p.annotations = optarg; break;
        case O_DIR: p.image_dir = optarg; break;
        case O_PAT: p.image_pattern = optarg; break;
        case O_SEED:
            if (cli_parse_u64("convert", "--seed", optarg, &p.seed))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2 || !p.output) {
        fprintf(stderr, "umpire convert: %s\n", !p.output ? "-o DATASET.jsonl is required" : "FORMAT and INPUT are required");
        usage(stderr);
        return 2;
    }
    char name[512], err[UMPIRE_ERR_LEN];
    if (p.image_pattern && umpire_image_name(p.image_pattern, 0, name, sizeof name, err) != 0) {
        fprintf(stderr, "umpire convert: %s\n", err);
        return 2;
    }
    p.format = argv[optind];
    p.inputs = (const char *const *)argv + optind + 1;
    p.n_inputs = 1;
    size_t n;
    if (umpire_convert(&p, &n, err) != 0) {
        fprintf(stderr, "umpire convert: %s\n", err);
        return 1;
    }
    fprintf(strcmp(p.output, "-") ? stdout : stderr, "%zu questions -> %s\n", n, p.output);
    return 0;
}
