/* split.c - the random subsets umpire fits things on: UMPIRE's alpha dev split and the cECE
 * calibration split.
 *
 *   umpire  splitmix64-seeded partial Fisher-Yates; round(f n) items, at least 1
 *   numpy   exactly what the UMPIRE reference code draws: pandas' df.sample(n=len(df),
 *           random_state=seed) is numpy's legacy RandomState(seed).permutation(n), and the
 *           split is its first int(n f) rows (compute_umpire_and_evaluate.py,
 *           split_balanced_data(balanced=False)); may be empty
 *
 * The numpy mode reproduces MT19937 as RandomState seeds it (init_genrand with the seed) and
 * the legacy shuffle: for i = n-1 .. 1, swap x[i] with x[j], j drawn in [0, i] by masked
 * rejection sampling of 32-bit outputs (numpy's random_interval).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/stats.h"
#include "core/status.h"

struct mt19937 {
    uint32_t mt[624];
    int pos;
};

static void mt_seed(struct mt19937 *m, uint32_t seed) {
    m->mt[0] = seed;
    for (int i = 1; i < 624; i++)
        m->mt[i] = 1812433253u * (m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) + (uint32_t)i;
    m->pos = 624;
}

static uint32_t mt_next(struct mt19937 *m) {
    if (m->pos == 624) { /* regenerate the state */
        for (int i = 0; i < 624; i++) {
            uint32_t y = (m->mt[i] & 0x80000000u) | (m->mt[(i + 1) % 624] & 0x7fffffffu);
            m->mt[i] = m->mt[(i + 397) % 624] ^ (y >> 1) ^ (y & 1u ? 0x9908b0dfu : 0u);
        }
        m->pos = 0;
    }
    uint32_t y = m->mt[m->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

/* Uniform in [0, max] as numpy's legacy random_interval draws it (max < 2^32). */
static uint32_t mt_interval(struct mt19937 *m, uint32_t max) {
    if (max == 0)
        return 0;
    uint32_t mask = max, v;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    while ((v = mt_next(m) & mask) > max)
        ;
    return v;
}

int umpire_numpy_permutation(size_t n, uint32_t seed, size_t *perm) {
    if (n > 0xffffffffu)
        return UMPIRE_EINVAL;
    struct mt19937 *m = malloc(sizeof *m);
    if (!m)
        return UMPIRE_ENOMEM;
    mt_seed(m, seed);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i-- > 1;) {
        size_t j = mt_interval(m, (uint32_t)i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    free(m);
    return UMPIRE_OK;
}

int umpire_split_draw(size_t n, double fraction, uint64_t seed, enum umpire_split mode, size_t *idx, size_t *m_out,
                      char *err) {
    *m_out = 0;
    if (n == 0)
        return UMPIRE_OK;
    if (!(fraction > 0 && fraction <= 1))
        return umpire_fail(err, UMPIRE_EINVAL, "a split's share must be in (0, 1], got %g", fraction);
    size_t *perm = malloc(n * sizeof *perm), m;
    if (!perm)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory drawing a split of %zu items", n);
    if (mode == UMPIRE_SPLIT_NUMPY) {
        if (seed > 0xffffffffu || n > 0xffffffffu) {
            free(perm);
            return umpire_fail(err, UMPIRE_EINVAL, "the numpy split takes a seed and n below 2^32");
        }
        umpire_numpy_permutation(n, (uint32_t)seed, perm);
        m = (size_t)((double)n * fraction); /* Python's int(): truncation */
    } else {
        m = (size_t)llround(fraction * (double)n);
        m = m < 1 ? 1 : m > n ? n : m;
        struct umpire_rng rng;
        umpire_rng_seed(&rng, seed);
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = 0; i < m; i++) { /* partial Fisher-Yates */
            size_t j = i + (size_t)umpire_rng_below(&rng, n - i), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    }
    memcpy(idx, perm, m * sizeof *idx);
    free(perm);
    umpire_sort_size(idx, m);
    *m_out = m;
    return UMPIRE_OK;
}

const char *umpire_split_name(enum umpire_split mode) { return mode == UMPIRE_SPLIT_NUMPY ? "numpy" : "umpire"; }
