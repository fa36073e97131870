/* hash.h - FNV-1a (64-bit): the one hash for ids, media chunks, file digests and seeds. Stable
 * across machines and runs, so what it names on disk (a run's choice-logits files, a resume's
 * dataset digest) reads back the same. Not for anything adversarial. */
#ifndef UMPIRE_CORE_HASH_H
#define UMPIRE_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define UMPIRE_FNV1A_INIT 1469598103934665603ULL

/* h extended by n bytes at p */
static inline uint64_t umpire_fnv1a_bytes(uint64_t h, const void *p, size_t n) {
    for (const unsigned char *c = p, *end = c + n; c < end; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return h;
}

/* h extended by the bytes of the string s (without its NUL) */
static inline uint64_t umpire_fnv1a_str(uint64_t h, const char *s) {
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return h;
}

#endif
