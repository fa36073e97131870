/* path.c - checks on the files and file names a user hands umpire (path.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"

int umpire_regular_file(const char *path, const char *what, char *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open %s file (%s)", path, what,
                           strerror(errno));
    if (S_ISDIR(st.st_mode))
        return umpire_fail(err, UMPIRE_EIO, "%s: is a directory, not a%s %s file", path,
                           strchr("aeiou", what[0]) ? "n" : "", what);
    if (!S_ISREG(st.st_mode))
        return umpire_fail(err, UMPIRE_EIO,
                           "%s: not a regular file (a FIFO, socket or device), not a%s %s file",
                           path, strchr("aeiou", what[0]) ? "n" : "", what);
    FILE *f = fopen(path, "rb");
    if (!f)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open %s file (%s)", path, what,
                           strerror(errno));
    fclose(f);
    return UMPIRE_OK;
}

int umpire_safe_file_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 128 || name[0] == '.')
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}
