/* atomic.h - whole files read at once (as text, or parsed as JSON). Files are written through
 * io/output.h. */
#ifndef UMPIRE_IO_ATOMIC_H
#define UMPIRE_IO_ATOMIC_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* A whole file as a NUL-terminated string (its length in *len when not NULL); NULL with *rc
 * and err set when it cannot be read. */
char *umpire_read_file(const char *path, size_t *len, char *err, int *rc);
/* A whole file parsed as JSON; NULL with *rc and err ("FILE:LINE: json: ...") when it is not. */
cJSON *umpire_read_json(const char *path, char *err, int *rc);

#endif
