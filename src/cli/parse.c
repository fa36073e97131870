/* parse.c - strict parsing of numeric option values: the whole string, finite, or an error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cli/cli.h"

int cli_parse_double(const char *cmd, const char *opt, const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) {
        fprintf(stderr, "umpire %s: %s: '%s' is not a number\n", cmd, opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *v, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') {
        fprintf(stderr, "umpire %s: %s: '%s' is not a non-negative integer\n", cmd, opt, v);
        return -1;
    }
    *out = x;
    return 0;
}
