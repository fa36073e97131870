/* utf8.h - well-formed UTF-8 (RFC 3629, Unicode table 3-7): what every file umpire reads must
 * hold, and what everything it writes holds. */
#ifndef UMPIRE_CORE_UTF8_H
#define UMPIRE_CORE_UTF8_H

#include <stddef.h>

/* The length (1-4) of the well-formed character at s[0..left), or 0 when the bytes there are
 * not one: a stray continuation byte, a truncated sequence, an overlong form, a surrogate
 * (U+D800..U+DFFF) or a code point above U+10FFFF. */
size_t umpire_utf8_char(const unsigned char *s, size_t left);

/* 1 when the NUL-terminated s is well-formed UTF-8; otherwise 0, with the offset of the first
 * bad byte in *bad (may be NULL). */
int umpire_utf8_valid(const char *s, size_t *bad);

/* s[0..len) as a new NUL-terminated string in which every ill-formed part (the longest prefix
 * of a well-formed sequence, or one byte) became U+FFFD; *n_bad (may be NULL) receives how
 * many. NULL when out of memory. */
char *umpire_utf8_repair(const char *s, size_t len, size_t *n_bad);

#endif
