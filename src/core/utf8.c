/* utf8.c - well-formed UTF-8, checked byte by byte against Unicode's table 3-7: the second
 * byte's range depends on the first (E0: A0..BF excludes overlongs, ED: 80..9F excludes the
 * surrogates, F0: 90..BF overlongs, F4: 80..8F the code points above U+10FFFF); C0, C1 and
 * F5..FF never occur. JSON text is UTF-8 (RFC 8259), and strict decoders refuse the rest. */
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* How many bytes of s[0..left) match a well-formed sequence: all of it (its length, *whole
 * set) or the prefix that does (at least 1, *whole clear). */
static size_t match(const unsigned char *s, size_t left, int *whole) {
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;
    *whole = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return *whole = 0, 1;
    size_t i = 1;
    if (i < left && s[i] >= lo && s[i] <= hi)
        for (i = 2; i < n && i < left && (s[i] & 0xc0) == 0x80; i++)
            ;
    *whole = i == n;
    return i;
}

size_t umpire_utf8_char(const unsigned char *s, size_t left) {
    int whole;
    size_t n = left ? match(s, left, &whole) : 0;
    return n && whole ? n : 0;
}

int umpire_utf8_valid(const char *s, size_t *bad) {
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = umpire_utf8_char(u + i, len - i);
        if (!n) {
            if (bad)
                *bad = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

char *umpire_utf8_repair(const char *s, size_t len, size_t *n_bad) {
    const unsigned char *u = (const unsigned char *)s;
    char *out = malloc(3 * len + 1), *o = out; /* U+FFFD is 3 bytes, and replaces at least 1 */
    size_t bad = 0;
    for (size_t i = 0; out && i < len;) {
        int whole;
        size_t n = match(u + i, len - i, &whole);
        if (whole) {
            memcpy(o, s + i, n);
            o += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            bad++;
        }
        i += n;
    }
    if (out)
        *o = '\0';
    if (n_bad)
        *n_bad = bad;
    return out;
}
