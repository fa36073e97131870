/* verbal.c - read a confidence out of a model's reply: verbalised confidence (Tian et al.
 * 2023) asks the model for a number, and models answer "0.85", "85%", "85", "about .9" or
 * with words around it. The first number is taken; "85" and "85%" are read as percentages. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

#include "umpire.h"

double umpire_parse_confidence(const char *s) {
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
            continue;
        char *end;
        double v = strtod(p, &end);
        while (*end == ' ')
            end++;
        if (*end == '%' || v > 1.0)
            v /= 100.0; /* "85%" or "85" */
        return v >= 0 && v <= 1 ? v : NAN;
    }
    return NAN;
}
