/* base64.c - base64 decoding (base64.h). */
#include "io/base64.h"

static int b64(int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+' ? 62 : c == '/' ? 63 : -1;
}

long umpire_base64_decode(const char *in, unsigned char *out) {
    long n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        if (*in == ' ' || *in == '\n' || *in == '\r')
            continue;
        int v = b64((unsigned char)*in);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out)
                out[n] = (unsigned char)(acc >> bits);
            n++;
        }
    }
    return n;
}
