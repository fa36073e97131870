/* fuzz_convert.c - libFuzzer target for `umpire convert`, one binary a format (built with
 * -DFUZZ_FORMAT="vqa", "mmbench", "truthfulqa", "sciq" or "conversations"): any bytes as the input file (for VQA
 * both the questions and the annotations file: one JSON object may hold both arrays) must give
 * either a clean error message and no output file, or a dataset that umpire's dataset reader
 * takes whole, one item a converted question; never a crash, a leak, undefined behaviour or a
 * file written outside the output's images folder (the output lies three folders down, and
 * nothing may appear anywhere under the fuzzer's own folder).
 * Built with clang -fsanitize=fuzzer by tests/CMakeLists.txt; run briefly by ctest. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/convert.h"
#include "umpire.h"

#ifndef FUZZ_FORMAT
#error "build with -DFUZZ_FORMAT=\"vqa\" (or mmbench, truthfulqa, sciq, conversations)"
#endif

static char dir[64], in[128], out[160], images[192];

/* Abort when anything but folders is left under path (the input excepted): a file written
 * outside the images folder, which is emptied first. */
static void only_folders(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (strcmp(p, in) && (lstat(p, &st) != 0 || !S_ISDIR(st.st_mode)))
            abort();
        if (strcmp(p, in))
            only_folders(p);
    }
    if (d)
        closedir(d);
}

/* Remove everything convert may have written, and fail when it wrote anything else. */
static void clean(void) {
    DIR *d = opendir(images);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", images, e->d_name);
        if (unlink(p) != 0)
            abort(); /* a folder, or something that is not its own file */
    }
    if (d)
        closedir(d);
    rmdir(images);
    unlink(out);
    only_folders(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        /* the output three folders down: an index of ../../x would still land under dir */
        snprintf(dir, sizeof dir, "/tmp/umpire-fuzz-convert-%ld", (long)getpid());
        snprintf(in, sizeof in, "%s/in", dir);
        snprintf(out, sizeof out, "%s/a/b/c", dir);
        mkdir(dir, 0777);
        for (char *slash = strchr(out + strlen(dir) + 1, '/');; slash = strchr(slash + 1, '/')) {
            if (slash)
                *slash = '\0';
            mkdir(out, 0777);
            if (!slash)
                break;
            *slash = '/';
        }
        strcat(out, "/out.jsonl");
        snprintf(images, sizeof images, "%s-images", out);
    }
    FILE *f = fopen(in, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    const char *inputs[1] = {in};
    struct umpire_convert_params p = {.format = FUZZ_FORMAT,
                                      .inputs = inputs,
                                      .n_inputs = 1,
                                      .annotations = in,
                                      .image_dir = "img",
                                      .output = out,
                                      .seed = 3};
    char err[UMPIRE_ERR_LEN] = "";
    size_t n = 0;
    struct stat st;
    if (umpire_convert(&p, &n, err) != 0) {
        if (!err[0] || stat(out, &st) == 0)
            abort(); /* every failure has a message, and writes nothing */
    } else {
        struct umpire_dataset ds;
        if (umpire_dataset_read(out, &ds, err) != 0) {
            fprintf(stderr, "converted, but not a dataset: %s\n", err);
            abort();
        }
        if (ds.n != n)
            abort();
        umpire_dataset_free(&ds);
    }
    clean();
    return 0;
}
