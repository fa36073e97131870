/* status.h - internal helper to fill an error buffer and return a status code. */
#ifndef UMPIRE_CORE_STATUS_H
#define UMPIRE_CORE_STATUS_H

#include "umpire.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int umpire_fail(char *err, int status, const char *fmt, ...);

#endif
