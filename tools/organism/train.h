/* train.h - train the organism with AdamW on packed rows of token sequences.
 *
 * Each sequence is a chat prompt followed by its answer and <|im_end|>; the loss is the
 * cross-entropy of the answer tokens (and the end) only. Sequences are packed whole into
 * rows of row_len tokens, each attending only to itself (a block-diagonal causal mask,
 * positions restarting at 0), so a packed row computes exactly what separate sequences
 * would. The learning rate warms up linearly, then follows a cosine down to lr * lr_min. */
#ifndef UMPIRE_ORGANISM_TRAIN_H
#define UMPIRE_ORGANISM_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct seq {
    int32_t *tok;
    int n, n_prompt; /* the loss covers tok[n_prompt..n) */
};

struct train_params {
    int rows;        /* rows per step */
    int row_len;     /* tokens per row */
    float lr;        /* peak learning rate */
    float lr_min;    /* final learning rate, as a fraction of lr */
    float warmup;    /* fraction of steps spent warming up */
    float beta1, beta2, wd;
    FILE *progress;  /* a line per epoch (and a live one on a terminal); NULL: quiet */
    FILE *curve;     /* the loss curve: "step lr loss" per step; NULL: none */
};

struct train_params train_default_params(void);

/* Train on epochs[e][0..n_seqs[e]) in order; returns the mean loss of the last epoch per
 * answer token, or a negative value on failure. */
double train_run(struct organism_model *m, const struct train_params *p, struct seq **epochs, const size_t *n_seqs,
                 int n_epochs);

#endif
