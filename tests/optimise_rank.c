/* optimise_rank.c - PT.py's ranking (umpire_optimise_rank) on figures from standard input, one
 * candidate a line "ACCURACY ECE" (ECE "inf" for none answered), a blank line ending each set;
 * prints each set's order, indices separated by spaces. tests/optimise_cli.sh compares it with
 * Python's sort on the same figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/optimise.h"

static void flush(double *acc, double *ece, size_t n) {
    size_t order[256];
    if (!n)
        return;
    umpire_optimise_rank(acc, ece, n, order);
    for (size_t i = 0; i < n; i++)
        printf("%s%zu", i ? " " : "", order[i]);
    printf("\n");
}

int main(void) {
    double acc[256], ece[256];
    size_t n = 0;
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == '\n') {
            flush(acc, ece, n);
            n = 0;
            continue;
        }
        char e[64];
        if (n == 256 || sscanf(line, "%lf %63s", &acc[n], e) != 2) {
            fprintf(stderr, "optimise_rank: bad line: %s", line);
            return 1;
        }
        ece[n++] = strcmp(e, "inf") ? strtod(e, NULL) : INFINITY;
    }
    flush(acc, ece, n);
    return 0;
}
