/* plan.h - a prompt's prefill plan (plan.c): the batches that decode it, and where the exact
 * prefix cache may restart decoding it (prefill.c). */
#ifndef UMPIRE_ENGINE_PLAN_H
#define UMPIRE_ENGINE_PLAN_H

#include <stddef.h>

#include "engine/engine.h"

/* The query's prompt as units (chunks and toks keep what they point to alive). */
struct umpire_prompt {
    struct umpire_prompt_unit *u;
    const mtmd_input_chunk **chunk; /* per unit: the media chunk, or NULL */
    size_t n;
    int n_cells;
};

/* Blocks (any backend): steps at each media unit, at the multiples of `block` in position and at
 * the units in ends[] (where the chat template's messages end). steps[] receives each step's
 * first unit (marked in u[].step); returns how many. */
size_t umpire_plan_blocks(struct umpire_prompt *p, int block, const size_t *ends, size_t n_ends, size_t *steps);

/* The CPU's batch-invariant plan from unit `from`: 0 for a cold prefill (sets every unit's
 * class, u[].cls); else a restart's steps, 0 if they would not give the units from there the
 * cold plan's classes. */
size_t umpire_plan_invariant(struct umpire_prompt *p, int n_batch, const size_t *ends, size_t n_ends, size_t from,
                             size_t *steps);

/* Under the invariant plan, where a restart may fall when the first `common` units are the
 * cached prompt's, classes and all. */
size_t umpire_plan_restart(const struct umpire_prompt *p, size_t common, const size_t *ends, size_t n_ends);

#endif
