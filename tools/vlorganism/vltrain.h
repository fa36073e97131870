/* vltrain.h - joint AdamW training of the vision-language organism: every step draws `rows`
 * fresh examples of the shapes world (scene_training's stream = the step: deterministic from
 * the seed; one object per picture in the first 40 % of the steps, a curriculum), draws their
 * pictures, and trains the ViT, the projector and the llama together on
 * the cross-entropy of the answer tokens (and the end). A share of the rows are clips
 * (scene_clips: CLIP_FRAMES pictures in order) and some questions carry a description before
 * them (scene_training). One example per row of row_len tokens,
 * padding attending only to itself. Learning rate: linear warm-up, then a cosine down to
 * lr * lr_min. */
#ifndef UMPIRE_VLORGANISM_VLTRAIN_H
#define UMPIRE_VLORGANISM_VLTRAIN_H

#include <stdio.h>

#include "scene.h"
#include "vlmodel.h"

struct vl_train_params {
    int rows, row_len, steps;
    float lr, lr_min, warmup, beta1, beta2, wd;
    float clip_share; /* rows that are clips (scene_clips), after the first fifth of the steps */
    FILE *progress; /* a line every 100 steps; NULL: quiet */
    FILE *curve;    /* "step lr loss" per step; NULL: none */
};

struct vl_train_params vl_train_default_params(void);

/* Train m; returns the mean loss per answer token over the last tenth of the steps, or a
 * negative value on failure (a message on progress). */
double vl_train(struct vl_model *m, const struct scene_world *w, struct corpus *c, const struct vl_train_params *p);

#endif
