/* atomic.c - whole-file writes that either complete or leave the old file as it was. */
#include "io/atomic.h"

#include <stdlib.h>

#include "core/status.h"

int umpire_atomic_open(struct umpire_atomic_file *a, const char *path, char *err) {
    if ((size_t)snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path) >= sizeof a->tmp)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: path too long", path);
    if (!(a->f = fopen(a->tmp, "w")))
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open for writing", a->tmp);
    return UMPIRE_OK;
}

int umpire_atomic_close(struct umpire_atomic_file *a, const char *path, int rc, char *err) {
    int bad = ferror(a->f) != 0;
    bad |= fclose(a->f) != 0;
    if (rc == UMPIRE_OK && !bad && rename(a->tmp, path) == 0)
        return UMPIRE_OK;
    remove(a->tmp);
    return rc != UMPIRE_OK ? rc : umpire_fail(err, UMPIRE_EIO, "%s: write failed", path);
}

int umpire_put_json(FILE *f, const cJSON *v, int compact, char *err) {
    char *text = compact ? cJSON_PrintUnformatted(v) : cJSON_Print(v);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return UMPIRE_OK;
}
