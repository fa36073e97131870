/* base64.h - base64 (RFC 4648, standard alphabet) decoding: MMBench's image cells, and the data:
 * URIs of images and audio sent to `umpire serve`. */
#ifndef UMPIRE_IO_BASE64_H
#define UMPIRE_IO_BASE64_H

/* Decode the NUL-terminated base64 text in (white space ignored, the rest after '=' too) into
 * out (at least 3/4 of the input's length; NULL: only count). Returns the number of bytes, or
 * -1 when a character is not of the alphabet. */
long umpire_base64_decode(const char *in, unsigned char *out);

#endif
