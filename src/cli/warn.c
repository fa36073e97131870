/* warn.c - what `umpire score` and `umpire eval` tell on stderr besides errors: input that
 * was read but repaired, and scores that are undefined although the item had their inputs. */
#include <stdio.h>

#include "cli/cli.h"

void cli_warn_read(const char *cmd, const struct umpire_sampleset *set) {
    if (set->n_warnings)
        fprintf(stderr, "umpire %s: warning: %s (%zu in all)\n", cmd, set->warning,
                set->n_warnings);
}

size_t cli_warn_undefined(const char *cmd, const struct umpire_sampleset *set,
                          const struct umpire_scores *s, size_t e) {
    size_t ne, first = 0, n = umpire_scores_undefined(set, s, e, &first);
    const struct umpire_estimator *reg = umpire_estimators(&ne);
    if (n)
        fprintf(stderr,
                "umpire %s: warning: %s is undefined for %zu of %zu items (null in the scores, "
                "left out of its metrics; the first: '%.60s', line %zu%s)\n",
                cmd, reg[e].name, n, set->n, set->items[first].id, set->items[first].line,
                reg[e].needs & UMPIRE_NEEDS_EMBEDDING ? ", e.g. an embedding of zero norm" : "");
    return n;
}
