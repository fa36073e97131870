#define _GNU_SOURCE
/* test_merge.c - umpire_eval_merge at scale and on hostile shards: 4 shards of 100k items
 * merge in linear time into the dataset's order, and so do 2,000 shards of 50 (an array job
 * of many tasks); an id in two shards, a missing shard, a
 * shard given twice and an absurd shard count are refused with a message, and nothing is
 * written.
 * Usage: test_merge WORK_DIR */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "run/run.h"
#include "umpire.h"

static const char *work_dir;

/* CPU seconds of this process: a machine shared with other work does not slow them down */
static double cpu_now(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* RUN/config.json as `umpire eval --shard i/n` writes it, and RUN/items.jsonl with the items
 * i - 1, i - 1 + n, ... of a dataset of `total` (ids "q<index>"); dup >= 0 adds item dup's id
 * once more at the end. */
static void write_shard(const char *run, const char *shard, size_t i, size_t n, size_t total,
                        long dup) {
    char path[4200];
    mkdir(run, 0777);
    snprintf(path, sizeof path, "%s/config.json", run);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"model\": \"m.gguf\", \"k\": 5, \"seed\": 0, \"shard\": \"%s\"}\n", shard);
    fclose(f);
    snprintf(path, sizeof path, "%s/items.jsonl", run);
    assert_non_null(f = fopen(path, "w"));
    for (size_t j = i - 1; j < total; j += n)
        fprintf(
            f,
            "{\"id\":\"q%zu\",\"correct\":%s,\"samples\":[{\"text\":\"a\",\"logprobs\":[-0.5]}]}\n",
            j, j % 3 ? "true" : "false");
    if (dup >= 0)
        fprintf(f, "{\"id\":\"q%ld\",\"correct\":true,\"samples\":[]}\n", dup);
    fclose(f);
}

/* WORK_DIR/name, kept for the whole test */
static const char *in_work(const char *name) {
    static char buf[64][4200];
    static int slot;
    slot = (slot + 1) % 64;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", work_dir, name);
    return buf[slot];
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Remove what an earlier run merged into WORK_DIR/name. */
static void fresh(const char *name) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s/items.jsonl", work_dir, name);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s/config.json", work_dir, name);
    unlink(path);
}

static void test_merge_400k_linear(void **state) {
    (void)state;
    const size_t n = 4, total = 400000;
    fresh("big");
    const char *runs[4];
    char shard[16];
    for (size_t i = 1; i <= n; i++) {
        char name[16];
        snprintf(name, sizeof name, "big%zu", i);
        runs[n - i] = in_work(name); /* given in reverse: the merge orders them */
        snprintf(shard, sizeof shard, "%zu/%zu", i, n);
        write_shard(runs[n - i], shard, i, n, total, -1);
    }
    char err[UMPIRE_ERR_LEN];
    double t0 = cpu_now();
    assert_int_equal(umpire_eval_merge(in_work("big"), runs, n, err), 0);
    double dt = cpu_now() - t0;
    /* a quadratic duplicate check makes ~8e10 string comparisons here (minutes); the merge
     * itself parses and prints 400k lines (about a second of CPU, a few under ASan) */
    print_message("merged %zu items from %zu shards in %.2f s of CPU\n", total, n, dt);
    assert_true(dt < 20.0);
    /* the dataset's order: line k is item k */
    FILE *f = fopen(in_work("big/items.jsonl"), "r");
    assert_non_null(f);
    char line[256];
    size_t k = 0, in_order = 0;
    while (fgets(line, sizeof line, f)) {
        char want[32];
        int len = snprintf(want, sizeof want, "{\"id\":\"q%zu\",", k++);
        in_order += !strncmp(line, want, (size_t)len);
    }
    fclose(f);
    assert_int_equal(k, total);
    assert_int_equal(in_order, total);
    assert_true(exists(in_work("big/config.json")));
}

/* An array job of many small tasks: 2,000 shards of 50 items, given in a scrambled order,
 * merge into the dataset's order (each shard's number checked against the others once,
 * sorted, not against every other shard). */
static void test_merge_2000_shards(void **state) {
    (void)state;
    const size_t n = 2000, total = 100000;
    fresh("many");
    char **runs = calloc(n, sizeof *runs), shard[32], name[32];
    assert_non_null(runs);
    mkdir(in_work("many-shards"), 0777);
    for (size_t i = 1; i <= n; i++) {
        size_t at = (i * 7919) % n; /* 7919 is prime to 2000: a permutation */
        snprintf(name, sizeof name, "many-shards/%zu", i);
        runs[at] = strdup(in_work(name));
        snprintf(shard, sizeof shard, "%zu/%zu", i, n);
        write_shard(runs[at], shard, i, n, total, -1);
    }
    char err[UMPIRE_ERR_LEN];
    double t0 = cpu_now();
    assert_int_equal(umpire_eval_merge(in_work("many"), (const char *const *)runs, n, err), 0);
    print_message("merged %zu items from %zu shards in %.2f s of CPU\n", total, n, cpu_now() - t0);
    FILE *f = fopen(in_work("many/items.jsonl"), "r");
    assert_non_null(f);
    char line[256];
    size_t k = 0, in_order = 0;
    while (fgets(line, sizeof line, f)) {
        char want[32];
        int len = snprintf(want, sizeof want, "{\"id\":\"q%zu\",", k++);
        in_order += !strncmp(line, want, (size_t)len);
    }
    fclose(f);
    assert_int_equal(k, total);
    assert_int_equal(in_order, total);
    /* the last shard given twice: named, with the other directory that has it */
    write_shard(runs[0], "1999/2000", 1999, n, total, -1);
    assert_int_equal(umpire_eval_merge(in_work("many"), (const char *const *)runs, n, err), UMPIRE_EINVAL);
    print_message("%s\n", err);
    /* runs[0] is directory 2000: given first, it is the one the other "has too" */
    assert_non_null(strstr(err, "many-shards/1999/config.json: shard 1999/2000 is given twice"));
    assert_non_null(strstr(err, "many-shards/2000 has it too"));
    for (size_t i = 0; i < n; i++)
        free(runs[i]);
    free(runs);
}

/* This process's peak resident memory, in KiB (VmHWM in /proc/self/status): since it started
 * or since reset_peak(). */
static long peak_kib(void) {
    long kib = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* The peak back to the memory resident now (a forked child starts with its parent's peak).
 * Returns 0, or -1 where the kernel does not allow it. */
static int reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* Large items (a 13B model's run with k = 10 holds about a megabyte an item) do not stay in
 * memory: 4 shards of 100 items of ~100 KB (40 MB of text) merge in a child whose peak memory
 * grows by less than 12 MB over what was resident when it began (the in-memory merge: 40 MB). */
static void test_merge_large_items_spooled(void **state) {
    (void)state;
    const size_t n = 4, per = 100, width = 8000; /* 8000 numbers of 12 characters: ~100 KB */
    fresh("large");
    const char *runs[4];
    for (size_t i = 1; i <= n; i++) {
        char name[16], path[4200];
        snprintf(name, sizeof name, "large%zu", i);
        runs[i - 1] = in_work(name);
        mkdir(runs[i - 1], 0777);
        snprintf(path, sizeof path, "%s/config.json", runs[i - 1]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"model\": \"m.gguf\", \"k\": 5, \"seed\": 0, \"shard\": \"%zu/%zu\"}\n", i, n);
        fclose(f);
        snprintf(path, sizeof path, "%s/items.jsonl", runs[i - 1]);
        assert_non_null(f = fopen(path, "w"));
        for (size_t j = i - 1; j < n * per; j += n) {
            fprintf(f, "{\"id\":\"q%zu\",\"correct\":true,\"samples\":[{\"text\":\"a\",\"logprobs\":[-0.5],"
                       "\"embedding\":[", j);
            for (size_t e = 0; e < width; e++)
                fprintf(f, "%s0.%010zu", e ? "," : "", (j * 7919 + e) % 9999999999);
            fprintf(f, "]}]}\n");
        }
        fclose(f);
    }
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) { /* writes "START PEAK" (KiB) */
        char err[UMPIRE_ERR_LEN], out[64];
        malloc_trim(0); /* the earlier tests' freed heap back to the system: else the merge reuses it unseen */
        long start = reset_peak() == 0 ? peak_kib() : -1;
        int rc = umpire_eval_merge(in_work("large"), runs, n, err);
        int len = snprintf(out, sizeof out, "%ld %ld", start, peak_kib());
        _exit(rc == 0 && write(fds[1], out, (size_t)len) == len ? 0 : 1);
    }
    close(fds[1]);
    char got[64] = "";
    ssize_t r = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    long start = -1, peak = -1;
    assert_true(r > 0 && sscanf(got, "%ld %ld", &start, &peak) == 2);
    struct stat st;
    assert_int_equal(stat(in_work("large/items.jsonl"), &st), 0);
    print_message("merged %lld MB of items; the child's peak memory %ld MB over the %ld MB resident when it began\n",
                  (long long)st.st_size >> 20, (peak - start) >> 10, start >> 10);
    assert_true(st.st_size > 30 * 1000 * 1000);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan keeps freed blocks in quarantine (256 MB by default): the peak says nothing here */
    print_message("(the memory bound is not checked under AddressSanitizer)\n");
#else
    if (start < 0) /* /proc/self/clear_refs refused: the child's peak is its parent's */
        print_message("(the memory bound is not checked: the kernel would not reset the peak)\n");
    else
        assert_true(peak - start < 12 * 1024);
#endif
    /* in the dataset's order, every byte as written */
    FILE *f = fopen(in_work("large/items.jsonl"), "r");
    assert_non_null(f);
    size_t k = 0, in_order = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char want[64];
        int len = snprintf(want, sizeof want, "{\"id\":\"q%zu\",", k);
        in_order += !strncmp(line, want, (size_t)len) && strlen(line) > width * 4;
        k++;
    }
    free(line);
    fclose(f);
    assert_int_equal(k, n * per);
    assert_int_equal(in_order, n * per);
}

static void test_merge_refuses_an_id_in_two_shards(void **state) {
    (void)state;
    const char *runs[3] = {in_work("dup1"), in_work("dup2"), in_work("dup3")};
    fresh("dup");
    write_shard(runs[0], "1/3", 1, 3, 3000, -1);
    write_shard(runs[1], "2/3", 2, 3, 3000, -1);
    write_shard(runs[2], "3/3", 3, 3, 3000, 1500); /* q1500 is shard 1's 501st item */
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_eval_merge(in_work("dup"), runs, 3, err), UMPIRE_EINVAL);
    print_message("%s\n", err);
    assert_non_null(strstr(
        err, "dup3/items.jsonl:1001: id: q1500 is in two shards (it was on line 501 of one)"));
    assert_false(exists(in_work("dup/items.jsonl")));
    assert_false(exists(in_work("dup/config.json")));
    /* within one shard too */
    write_shard(runs[2], "3/3", 3, 3, 3000, 2);
    assert_int_equal(umpire_eval_merge(in_work("dup"), runs, 3, err), UMPIRE_EINVAL);
    assert_non_null(
        strstr(err, "dup3/items.jsonl:1001: id: q2 is in two shards (it was on line 1 of one)"));
}

static void test_merge_refuses_missing_and_repeated_shards(void **state) {
    (void)state;
    const char *runs[3] = {in_work("s1"), in_work("s2"), in_work("s3")};
    fresh("s");
    write_shard(runs[0], "1/3", 1, 3, 30, -1);
    write_shard(runs[1], "3/3", 3, 3, 30, -1);
    char err[UMPIRE_ERR_LEN];
    assert_int_equal(umpire_eval_merge(in_work("s"), runs, 2, err), UMPIRE_EINVAL);
    assert_string_equal(err, "shard 2/3 is missing");
    write_shard(runs[2], "1/3", 1, 3, 30, -1);
    assert_int_equal(umpire_eval_merge(in_work("s"), runs, 3, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "s3/config.json: shard 1/3 is given twice"));
    /* an absurd shard count is a missing shard, not an allocation of that size */
    write_shard(runs[0], "1/18446744073709551615", 1, 1, 3, -1);
    assert_int_equal(umpire_eval_merge(in_work("s"), runs, 1, err), UMPIRE_EINVAL);
    assert_string_equal(err, "shard 2/18446744073709551615 is missing");
    write_shard(runs[0], "0/3", 1, 1, 3, -1);
    assert_int_equal(umpire_eval_merge(in_work("s"), runs, 1, err), UMPIRE_EINVAL);
    assert_non_null(strstr(err, "s1/config.json: shard: not a shard of a run"));
    assert_false(exists(in_work("s/items.jsonl")));
    /* one shard of one is a merge of itself */
    write_shard(runs[0], "1/1", 1, 1, 5, -1);
    assert_int_equal(umpire_eval_merge(in_work("s"), runs, 1, err), 0);
    assert_true(exists(in_work("s/items.jsonl")));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_merge WORK_DIR\n");
        return 2;
    }
    work_dir = argv[1];
    mkdir(work_dir, 0777);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_400k_linear),
        cmocka_unit_test(test_merge_2000_shards),
        cmocka_unit_test(test_merge_large_items_spooled),
        cmocka_unit_test(test_merge_refuses_an_id_in_two_shards),
        cmocka_unit_test(test_merge_refuses_missing_and_repeated_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
