/* verbal.c - read a confidence out of a model's reply: verbalised confidence (Tian et al.
 * 2023) asks the model for a number, and models answer "0.85", "85%", "85", "about .9" or
 * with words around it. The first number (digits, at most one decimal point; no sign, no
 * exponent) is taken:
 *   followed by "%" (spaces allowed)   a percentage, 0..100          "85%", "12.5 %"
 *   in [0, 1]                          a probability                  "0.85", ".9", "1"
 *   an integer 2..100, no "%"          a percentage                   "85", "100"
 *   anything else                      no confidence (NaN)            "1.5", "150", "-0.2"
 * so "1.5" is not read as 1.5 % (a model that says 1.5 has not given a probability). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "umpire.h"

double umpire_parse_confidence(const char *s) {
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
            continue;
        size_t n = strspn(p, "0123456789"), point = p[n] == '.' && isdigit((unsigned char)p[n + 1]);
        if (point)
            n += 1 + strspn(p + n + 1, "0123456789");
        const char *end = p + n;
        if ((p > s && p[-1] == '-') ||
            ((*end == 'e' || *end == 'E') &&
             (isdigit((unsigned char)end[1]) || end[1] == '-' || end[1] == '+')))
            return NAN; /* a negative number, or one with an exponent: not a confidence */
        char buf[64];
        if (n >= sizeof buf)
            return NAN;
        memcpy(buf, p, n);
        buf[n] = '\0';
        int integer = !memchr(buf, '.', n);
        double v = strtod(buf, NULL);
        while (*end == ' ')
            end++;
        if (*end == '%')
            return v <= 100 ? v / 100.0 : NAN;
        if (v <= 1)
            return v;
        return integer && v <= 100 ? v / 100.0 : NAN;
    }
    return NAN;
}
