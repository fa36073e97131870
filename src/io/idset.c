/* idset.c - a hash set of id strings (idset.h): open addressing with linear probing over a
 * power-of-two table at most half full, FNV-1a hashes. */
#define _POSIX_C_SOURCE 200809L
#include "io/idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "umpire.h"

/* The slot holding id, or the empty one where it would go. */
static struct umpire_idset_slot *find(struct umpire_idset_slot *slots, size_t cap, const char *id) {
    size_t i = (size_t)umpire_fnv1a_str(UMPIRE_FNV1A_INIT, id) & (cap - 1);
    while (slots[i].id && strcmp(slots[i].id, id))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(struct umpire_idset *s) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    if (cap / 2 < s->cap || cap > SIZE_MAX / sizeof *s->slots)
        return UMPIRE_ENOMEM;
    struct umpire_idset_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return UMPIRE_ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].id)
            *find(slots, cap, s->slots[i].id) = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

int umpire_idset_add(struct umpire_idset *s, const char *id, size_t line, size_t *first) {
    if (2 * (s->n + 1) > s->cap && grow(s) != 0)
        return UMPIRE_ENOMEM;
    struct umpire_idset_slot *slot = find(s->slots, s->cap, id);
    if (slot->id) {
        if (first)
            *first = slot->line;
        return 1;
    }
    if (!(slot->id = strdup(id)))
        return UMPIRE_ENOMEM;
    slot->line = line;
    s->n++;
    return 0;
}

int umpire_idset_has(const struct umpire_idset *s, const char *id, size_t *line) {
    const struct umpire_idset_slot *slot = s->cap ? find(s->slots, s->cap, id) : NULL;
    if (slot && slot->id && line)
        *line = slot->line;
    return slot && slot->id;
}

void umpire_idset_free(struct umpire_idset *s) {
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].id);
    free(s->slots);
    memset(s, 0, sizeof *s);
}
