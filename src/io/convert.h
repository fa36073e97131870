/* convert.h - other datasets' formats into umpire's dataset JSONL (convert.c). */
#ifndef UMPIRE_IO_CONVERT_H
#define UMPIRE_IO_CONVERT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct umpire_convert_params {
    const char *format;        /* vqa, mmbench, truthfulqa, sciq, conversations */
    const char *const *inputs; /* the input file (vqa: the questions JSON) */
    size_t n_inputs;
    const char *annotations;   /* vqa: the annotations JSON */
    const char *image_dir;     /* vqa, conversations: folder of the images, as the dataset will
                                  name it */
    const char *image_pattern; /* vqa: an image's file name from its id, with one {id} or
                                  {id:0N} (N digits, zero-padded): UMPIRE_VQA_IMAGE_PATTERN */
    const char *output;        /* the dataset JSONL to write (mmbench: images in OUTPUT-images/) */
    uint64_t seed;             /* sciq: the options' order */
};

/* COCO's image names, as VQAv2 and OK-VQA use them */
#define UMPIRE_VQA_IMAGE_PATTERN "COCO_val2014_{id:012}.jpg"

/* The image file name for id from pattern: its one placeholder {id} (the id in decimal) or
 * {id:0N} (zero-padded to N digits, N <= 20) replaced; no other braces. Returns 0, or
 * UMPIRE_EINVAL with "--image-pattern 'PAT': ..." in err (no placeholder, two, a printf
 * pattern, a name longer than len). */
int umpire_image_name(const char *pattern, uint64_t id, char *out, size_t len, char *err);

/* Convert; *n_items receives how many questions were written. Returns 0, or a negative status
 * with "FILE:LINE: field: problem" in err; the output is only written whole. */
int umpire_convert(const struct umpire_convert_params *p, size_t *n_items, char *err);

/* The formats' shared parts (convert.c): write one item as a JSONL line (and free it); read a
 * whole JSON file (text checked for UTF-8 and NUL bytes first). */
int umpire_convert_emit(FILE *out, cJSON *item, char *err);
cJSON *umpire_convert_read_json(const char *path, char *err, int *rc);
/* LLaVA-style conversations JSON into multiple-choice items (convert_conversations.c). */
int umpire_convert_conversations(const struct umpire_convert_params *p, FILE *out, size_t *n_out, char *err);

#endif
