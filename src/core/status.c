/* status.c - error reporting shared by the library: a status code and a message. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>

int umpire_fail(char *err, int status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, UMPIRE_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return status;
}
