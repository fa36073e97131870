/* idset.h - a set of ids, each with the line it was first seen on (idset.c): duplicate ids in
 * a dataset, a converted file or a merge of shards are found in O(1) each, not by comparing
 * every pair. */
#ifndef UMPIRE_IO_IDSET_H
#define UMPIRE_IO_IDSET_H

#include <stddef.h>

struct umpire_idset_slot {
    char *id; /* NULL: empty */
    size_t line;
};

struct umpire_idset {
    struct umpire_idset_slot *slots;
    size_t n, cap; /* cap is 0 or a power of two, kept at least twice n */
};

/* Add a copy of id, first seen on line. Returns 0 when it is new, 1 when it was there already
 * (*first, when not NULL, receives the line it was added with), or UMPIRE_ENOMEM (the set
 * is unchanged). A zeroed struct is an empty set. */
int umpire_idset_add(struct umpire_idset *s, const char *id, size_t line, size_t *first);
/* Whether id is in the set; *line (when not NULL) receives the line it was added with. */
int umpire_idset_has(const struct umpire_idset *s, const char *id, size_t *line);
void umpire_idset_free(struct umpire_idset *s);

#endif
