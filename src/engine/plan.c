/* plan.c - a prompt's prefill plan: the batches that decode it, and where the exact prefix
 * cache may restart decoding it (plan.h; prefill.c decodes and caches). */
#include "engine/plan.h"

/* The decode steps of a prompt of n units: [u0, u1) each; step_start[] receives each step's
 * first unit (and the unit is marked). Text steps end at a media unit, at a multiple of `block`
 * in position and at the units in ends[] (where a message ends: a prompt that shares the first
 * messages with the one before restarts right after them); the last step ends with the prompt's
 * last token, whose outputs are read. Returns how many. */
size_t umpire_plan_blocks(struct umpire_prompt *p, int block, const size_t *ends, size_t n_ends, size_t *step_start) {
    size_t k = 0, e = 0;
    llama_pos pos = 0;
    for (size_t i = 0; i < p->n;) {
        p->u[i].step = 1;
        step_start[k++] = i;
        if (p->u[i].media) {
            pos += p->u[i].n_pos;
            i++;
            continue;
        }
        while (e < n_ends && ends[e] <= i)
            e++;
        llama_pos bound = (pos / block + 1) * block; /* the next multiple of block */
        while (i < p->n && !p->u[i].media && pos < bound && (e == n_ends || i < ends[e])) {
            pos++;
            i++;
        }
    }
    return k;
}

/* The batch-invariant plan (the CPU's). ggml's CPU kernels give a row the same numbers in any
 * batch whose size takes the same kernels: flash attention tiles a batch of 64 rows or more and
 * takes rows one by one under 64; a batch of 1 takes vector dot products where a longer one
 * takes tinyBLAS (ARM's under 4); quantised weights repacked for the CPU take rows 4 at a time
 * and the last n % 4 one by one (measured on the 60M F32 and Q4_K_M models, tests/test_engine.c).
 * So a row's class is its batch's size class and whether it is one of those last rows; two
 * prefills of a prompt whose every row has the same class give the same KV bit for bit, however
 * their batches fall. The prompt's runs (text between media units and the ends of messages) are
 * decoded in batches of at most n_batch, each at least 64 rows where the run has 64, all but the
 * last a multiple of 4; a restart inside a run falls on a fourth token from its start and leaves
 * the run's last 64 rows (its last 4 under 64) to decode. */
static int row_class(size_t n, size_t i) {
    int size = n >= 64 ? 64 : n >= 4 ? 4 : (int)n;
    return 2 * size + (i >= n - n % 4);
}

/* The batches that decode units [a, end) of a run: their first units into steps[] from k (the
 * units marked, and their classes set, or when `check`, compared: 0 where one differs). */
static int run_batches(struct umpire_prompt *p, size_t a, size_t end, int n_batch, int check, size_t *steps,
                       size_t *k) {
    while (a < end) {
        size_t m = end - a, n = m;
        if (m > (size_t)n_batch) { /* a batch of n_batch rounded to 4, or less to leave the last 64 */
            n = (size_t)n_batch & ~(size_t)3;
            if (m - n < 64)
                n = (m - 64) & ~(size_t)3;
        }
        p->u[a].step = 1;
        steps[(*k)++] = a;
        for (size_t i = 0; i < n; i++) {
            if (check && p->u[a + i].cls != row_class(n, i))
                return 0;
            p->u[a + i].cls = row_class(n, i);
        }
        a += n;
    }
    return 1;
}

/* The end of the run that starts at unit s (a media unit is a run of its own). */
static size_t run_end(const struct umpire_prompt *p, size_t s, const size_t *ends, size_t n_ends) {
    if (p->u[s].media)
        return s + 1;
    size_t e = 0, i = s;
    while (e < n_ends && ends[e] <= s)
        e++;
    while (i < p->n && !p->u[i].media && (e == n_ends || i < ends[e]))
        i++;
    return i;
}

/* The invariant plan's steps from unit `from` (0: a cold prefill, which sets every unit's class;
 * else a restart, whose batches must give the units from there the cold plan's classes: 0 if
 * they would not). */
size_t umpire_plan_invariant(struct umpire_prompt *p, int n_batch, const size_t *ends, size_t n_ends, size_t from,
                             size_t *steps) {
    size_t k = 0;
    for (size_t s = 0; s < p->n;) {
        size_t end = run_end(p, s, ends, n_ends);
        if (end > from) {
            size_t a = from > s ? from : s;
            if (p->u[s].media) {
                p->u[s].step = 1;
                p->u[s].cls = 0;
                steps[k++] = s;
            } else if (!run_batches(p, a, end, n_batch, a != s, steps, &k))
                return 0;
        }
        s = end;
    }
    return k;
}

/* Where a restart may fall under the invariant plan, given that the first `common` units are the
 * cached prompt's, classes and all: in the run holding unit `common`, the last fourth token from
 * the run's start at or before it that leaves the run's last 64 units (4 under 64) to decode;
 * the run's start when there is none. */
size_t umpire_plan_restart(const struct umpire_prompt *p, size_t common, const size_t *ends, size_t n_ends) {
    size_t s = 0;
    for (;;) {
        size_t end = run_end(p, s, ends, n_ends);
        if (common < end) {
            size_t len = end - s, keep = len >= 64 ? 64 : 4;
            if (p->u[s].media || len < 4)
                return s;
            size_t lim = common < end - keep ? common : end - keep;
            return s + ((lim - s) & ~(size_t)3);
        }
        s = end;
    }
}

