/* atomic.h - whole files: written through PATH.tmp and renamed into place (a crash, a full
 * disk or a failed write never leaves half a file where a complete one was), and read whole. */
#ifndef UMPIRE_IO_ATOMIC_H
#define UMPIRE_IO_ATOMIC_H

#include <cjson/cJSON.h>
#include <stdio.h>

struct umpire_atomic_file {
    FILE *f;
    char tmp[4096];
};

/* Open PATH.tmp for writing. Returns 0, or a negative status with err filled. */
int umpire_atomic_open(struct umpire_atomic_file *a, const char *path, char *err);
/* Given the status rc of the writes: on success close and rename into place; otherwise (or
 * when closing fails) remove the temporary file. Returns the final status. */
int umpire_atomic_close(struct umpire_atomic_file *a, const char *path, int rc, char *err);
/* One JSON value as a line (compact) or a document (indented), then a newline; a failed
 * write shows in umpire_atomic_close. Returns 0, or UMPIRE_ENOMEM with err filled. */
int umpire_put_json(FILE *f, const cJSON *v, int compact, char *err);

/* Write v as an indented JSON document to path, atomically. Returns 0, or a negative status. */
int umpire_write_json(const char *path, const cJSON *v, char *err);

/* A whole file as a NUL-terminated string (its length in *len when not NULL); NULL with *rc
 * and err set when it cannot be read. */
char *umpire_read_file(const char *path, size_t *len, char *err, int *rc);
/* A whole file parsed as JSON; NULL with *rc and err ("FILE:LINE: json: ...") when it is not. */
cJSON *umpire_read_json(const char *path, char *err, int *rc);

#endif
