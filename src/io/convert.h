/* convert.h - other datasets' formats into umpire's dataset JSONL (convert.c). */
#ifndef UMPIRE_IO_CONVERT_H
#define UMPIRE_IO_CONVERT_H

#include <stddef.h>
#include <stdint.h>

struct umpire_convert_params {
    const char *format;        /* vqa, mmbench, truthfulqa, sciq */
    const char *const *inputs; /* the input file (vqa: the questions JSON) */
    size_t n_inputs;
    const char *annotations;   /* vqa: the annotations JSON */
    const char *image_dir;     /* vqa: folder of the images, as the dataset will name it */
    const char *image_pattern; /* vqa: printf pattern of an image's file name from its id */
    const char *output;        /* the dataset JSONL to write (mmbench: images in OUTPUT-images/) */
    uint64_t seed;             /* sciq: the options' order */
};

/* Convert; *n_items receives how many questions were written. Returns 0, or a negative status
 * with "FILE:LINE: field: problem" in err; the output is only written whole. */
int umpire_convert(const struct umpire_convert_params *p, size_t *n_items, char *err);

#endif
