/* rng.h - a small seeded generator (splitmix64): dev splits and bootstrap resamples are the
 * same on every machine for the same seed. */
#ifndef UMPIRE_CORE_RNG_H
#define UMPIRE_CORE_RNG_H

#include <math.h>
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

/* Uniform in the open interval (0, 1): 53 random bits. */
static inline double umpire_rng_uniform(struct umpire_rng *r) {
    return ((umpire_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller, one value per two uniforms). */
static inline double umpire_rng_normal(struct umpire_rng *r) {
    double u1 = umpire_rng_uniform(r), u2 = umpire_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
