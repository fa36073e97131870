/* rng.h - a small seeded generator (splitmix64): dev splits and bootstrap resamples are the
 * same on every machine for the same seed. */
#ifndef UMPIRE_CORE_RNG_H
#define UMPIRE_CORE_RNG_H

#include <stdint.h>

struct umpire_rng {
    uint64_t state;
};

static inline void umpire_rng_seed(struct umpire_rng *r, uint64_t seed) { r->state = seed; }

static inline uint64_t umpire_rng_next(struct umpire_rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), without modulo bias. */
static inline uint64_t umpire_rng_below(struct umpire_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = umpire_rng_next(r);
    while (x >= limit);
    return x % n;
}

#endif
