/* resume.c - what makes a run resumable and safe to resume: its configuration compared with
 * the one recorded, the finished items checked before anything runs (a line cut short by a kill
 * dropped), one process at a time (RUN_DIR/lock), and no input that is a file the run writes.
 * No llama.cpp here: `umpire eval --from` and `umpire merge` need no model library.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/status.h"
#include "io/atomic.h"
#include "io/idset.h"
#include "io/jsonl.h"
#include "io/output.h"
#include "run/run.h"

/* cJSON's type of a value, true and false as one */
static int json_kind(const cJSON *v) { return cJSON_IsBool(v) ? cJSON_True : v->type & 0xff; }

static void append_name(char *list, size_t cap, const char *name) {
    size_t n = strlen(list);
    snprintf(list + n, cap - n, "%s%s", n ? ", " : "", name);
}

/* Write the run's configuration, or check a resumed run's against it. A run directory whose
 * config.json is missing (while items.jsonl holds items), unreadable, or not a configuration
 * umpire wrote is refused as damaged; one with other values as another configuration. */
int umpire_run_check_config(const char *run_dir, const char *items_path, cJSON *cfg, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        if (stat(items_path, &st) == 0 && st.st_size > 0)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "%s: missing, but %s holds finished items of an unknown "
                               "configuration; restore it, or choose another --out",
                               path, items_path);
        return umpire_write_json(path, cfg, err);
    }
    int rc = UMPIRE_OK;
    size_t len;
    char *text = umpire_read_file(path, &len, err, &rc);
    cJSON *old = text ? umpire_json_parse(text, len, path, 0, err, &rc) : NULL;
    free(text);
    if (!old) {
        char inner[UMPIRE_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", err);
        return umpire_fail(
            err, rc, "%s; the run's configuration is damaged: restore it, or choose another --out",
            inner);
    }
    char diff[UMPIRE_ERR_LEN] = "";
    const cJSON *x;
    if (!cJSON_IsObject(old))
        rc = umpire_fail(err, UMPIRE_EINVAL,
                         "%s: not a JSON object; not a configuration umpire wrote", path);
    cJSON_ArrayForEach(x, cfg) {
        const cJSON *y = rc == UMPIRE_OK ? cJSON_GetObjectItemCaseSensitive(old, x->string) : NULL;
        int optional = !strcmp(x->string, "shard"); /* only a shard's configuration has it */
        if (rc == UMPIRE_OK && ((!y && !optional) || (y && json_kind(y) != json_kind(x))))
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s: %s: %s; the file is damaged or not umpire's: "
                             "restore it, or choose another --out",
                             path, x->string, y ? "not of the type umpire writes" : "missing");
        else if (rc == UMPIRE_OK && !cJSON_Compare(x, y, true))
            append_name(diff, sizeof diff, x->string);
    }
    if (rc == UMPIRE_OK)
        cJSON_ArrayForEach(x, old) /* "shard", when this run is not a shard */
            if (!cJSON_GetObjectItemCaseSensitive(cfg, x->string))
                append_name(diff, sizeof diff, x->string);
    cJSON_Delete(old);
    if (rc == UMPIRE_OK && diff[0])
        rc = umpire_fail(
            err, UMPIRE_EINVAL,
            "%s holds a run with another configuration (%s differ); resume with the same options,"
            " or choose another --out",
            run_dir, diff);
    return rc;
}

/* Every item of a resumed items.jsonl, checked as the summary will read it, before anything
 * runs: a sample-set item of the run's k, labelled, from the dataset, there once. Adds the ids
 * to *done. */
static int check_finished(const char *path, const struct umpire_dataset *data, size_t k,
                          struct umpire_idset *done, char *err) {
    struct umpire_sampleset set;
    int rc = umpire_sampleset_read(path, &set, err);
    if (rc != UMPIRE_OK)
        return rc;
    struct umpire_idset known = {0};
    for (size_t i = 0; rc == UMPIRE_OK && i < data->n; i++)
        if (umpire_idset_add(&known, data->items[i].id, i + 1, NULL) < 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == UMPIRE_OK && i < set.n; i++) {
        const struct umpire_item *it = &set.items[i];
        size_t first = 0;
        int added;
        if (it->k != k)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: samples: %zu answers, but this run's k is %zu", path,
                             it->line, it->k, k);
        else if (it->correct < 0)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: correct: missing (umpire eval writes it for every item)",
                             path, it->line);
        else if (!umpire_idset_has(&known, it->id, NULL))
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s:%zu: id: '%.60s' is not in the dataset", path,
                             it->line, it->id);
        else if ((added = umpire_idset_add(done, it->id, it->line, &first)) < 0)
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        else if (added == 1)
            rc = umpire_fail(err, UMPIRE_EINVAL,
                             "%s:%zu: id: '%.60s' again (line %zu has it); it would count twice",
                             path, it->line, it->id, first);
    }
    umpire_idset_free(&known);
    umpire_sampleset_free(&set);
    return rc;
}

/* The ids already in items.jsonl, each line checked (check_finished); a last line without its
 * newline (a kill in the middle of a write) is cut off first. */
int umpire_run_finished_items(const char *path, const struct umpire_dataset *data, size_t k,
                          struct umpire_idset *d, char *err) {
    FILE *f = fopen(path, "rb+");
    if (!f)
        return errno == ENOENT ? UMPIRE_OK : umpire_fail(err, UMPIRE_EIO, "%s: cannot open", path);
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1, keep = end;
    int bad = end < 0;
    while (!bad && keep > 0) {
        int c = fseek(f, keep - 1, SEEK_SET) == 0 ? getc(f) : EOF;
        if (c == '\n')
            break;
        bad = c == EOF;
        keep -= !bad;
    }
    fclose(f);
    if (bad)
        return umpire_fail(err, UMPIRE_EIO, "%s: read error", path);
    if (keep < end && truncate(path, keep) != 0)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot cut the unfinished last line", path);
    int rc = keep > 0 ? check_finished(path, data, k, d, err) : UMPIRE_OK;
    if (rc != UMPIRE_OK) {
        char inner[UMPIRE_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", err);
        rc = umpire_fail(
            err, rc, "%s; cannot resume: mend or remove that line, or choose another --out", inner);
    }
    return rc;
}

/* Hold RUN_DIR/lock for the run: two processes appending to one run would corrupt it. The
 * lock (fcntl) goes with the process, however it ends. Returns the descriptor, or -1. */
int umpire_run_lock(const char *run_dir, char *err, int *rc) {
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", run_dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fd < 0) {
        *rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create (%s)", path, strerror(errno));
    } else if (fcntl(fd, F_SETLK, &l) != 0) {
        *rc = umpire_fail(err, UMPIRE_EIO, "%s is in use by another umpire eval; wait for it, or choose another --out",
                          run_dir);
        close(fd);
        fd = -1;
    }
    return fd;
}

int umpire_eval_check_input(const char *run_dir, const char *path, char *err) {
    static const char *const files[] = {"items.jsonl", "config.json", "scored.jsonl", "summary.json",
                                        "report.html", "groups.json", "lock"};
    char out[4200];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(out, sizeof out, "%s/%s", run_dir, files[i]);
        if (umpire_same_file(out, path))
            return umpire_fail(err, UMPIRE_EINVAL, "%s is %s, which the run writes; give a file outside the run directory",
                               path, out);
    }
    return UMPIRE_OK;
}

int umpire_run_file_digest(const char *path, char out[17]) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint64_t h = UMPIRE_FNV1A_INIT;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        h = umpire_fnv1a_bytes(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return bad ? -1 : 0;
}
