/* test_shard.c - `umpire eval --shard auto` (src/run/shard.c): the shard a Slurm array task or a
 * Kubernetes Indexed Job's pod is, from a made-up environment. Every task of an arithmetic
 * array lands on its own shard, all shards covered; one task resubmitted with --shards keeps
 * its shard; lists with gaps, missing or malformed variables, and both schedulers at once are
 * refused with the variables named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "run/run.h"
#include "umpire.h"

/* An environment: NULL-terminated "NAME=value" strings. */
static const char *lookup(const char *name, void *ctx) {
    size_t len = strlen(name);
    for (const char *const *e = ctx; *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

struct got {
    int rc;
    size_t shard, shards;
    char from[160], err[UMPIRE_ERR_LEN];
};

static struct got shard_of(const char *const *env, size_t given) {
    struct got g = {.shard = 99, .shards = 99};
    g.rc = umpire_shard_from_env(lookup, (void *)env, given, &g.shard, &g.shards, g.from,
                                 sizeof g.from, g.err);
    return g;
}

/* The environment sbatch --array=MIN-MAX:STEP gives task ID (COUNT tasks). */
static struct got slurm_task(size_t id, size_t min, size_t max, size_t step, size_t count,
                             size_t given) {
    char v[5][48];
    snprintf(v[0], sizeof v[0], "SLURM_ARRAY_TASK_ID=%zu", id);
    snprintf(v[1], sizeof v[1], "SLURM_ARRAY_TASK_MIN=%zu", min);
    snprintf(v[2], sizeof v[2], "SLURM_ARRAY_TASK_MAX=%zu", max);
    snprintf(v[3], sizeof v[3], "SLURM_ARRAY_TASK_STEP=%zu", step);
    snprintf(v[4], sizeof v[4], "SLURM_ARRAY_TASK_COUNT=%zu", count);
    const char *env[] = {"SLURM_JOB_ID=17", v[0], v[1], v[2], v[3], v[4], NULL};
    return shard_of(env, given);
}

static void test_arithmetic_arrays_cover_every_shard_once(void **state) {
    (void)state;
    /* --array=0-3, 1-4, 5-20:5, 1-7:2 (MAX as given: 7 is a task), 3-3 */
    const size_t arrays[][3] = {{0, 1, 4}, {1, 1, 4}, {5, 5, 4}, {1, 2, 4}, {3, 1, 1}, {100, 3, 9}};
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        size_t min = arrays[a][0], step = arrays[a][1], count = arrays[a][2],
               max = min + step * (count - 1);
        int seen[16] = {0};
        for (size_t t = 0; t < count; t++) {
            struct got g = slurm_task(min + t * step, min, max, step, count, 0);
            assert_int_equal(g.rc, 0);
            assert_int_equal(g.shards, count);
            assert_true(g.shard < count);
            seen[g.shard]++;
            assert_int_equal(g.shard, t); /* in the order of the task ids */
        }
        for (size_t s = 0; s < count; s++)
            assert_int_equal(seen[s], 1);
    }
    struct got g = slurm_task(6, 2, 10, 4, 3, 0); /* --array=2-10:4: tasks 2, 6, 10 */
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shard, 1);
    assert_int_equal(g.shards, 3);
    assert_string_equal(g.from, "SLURM_ARRAY_TASK_ID=6 of the array 2-10:4");
    /* Slurm's MAX for --array=0-7:2 may be 7, not the last task 6: the same four shards */
    g = slurm_task(6, 0, 7, 2, 4, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shard, 3);
    assert_int_equal(g.shards, 4);
}

static void test_step_defaults_to_one(void **state) {
    (void)state;
    const char *env[] = {"SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN=1",
                         "SLURM_ARRAY_TASK_MAX=4", "SLURM_ARRAY_TASK_COUNT=4", NULL};
    struct got g = shard_of(env, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shard, 3);
    assert_int_equal(g.shards, 4);
}

static void test_lists_and_strays_are_refused(void **state) {
    (void)state;
    /* --array=1,4,9: MIN 1, MAX 9, COUNT 3 is no MIN-MAX:STEP */
    struct got g = slurm_task(4, 1, 9, 1, 3, 0);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(
        g.err, "task 4 of the Slurm array MIN=1 MAX=9 STEP=1 COUNT=3, which is not MIN-MAX:STEP"));
    assert_non_null(strstr(g.err, "--shards N"));
    /* a task id off the step, or outside MIN..MAX */
    assert_int_equal(slurm_task(2, 1, 7, 2, 4, 0).rc, UMPIRE_EINVAL);
    assert_int_equal(slurm_task(0, 1, 4, 1, 4, 0).rc, UMPIRE_EINVAL);
    assert_int_equal(slurm_task(5, 1, 4, 1, 4, 0).rc, UMPIRE_EINVAL);
    assert_int_equal(slurm_task(1, 1, 4, 0, 4, 0).rc, UMPIRE_EINVAL); /* step 0 */
}

static void test_given_count_numbers_shards_by_task_id(void **state) {
    (void)state;
    /* task 2 resubmitted alone (sbatch --array=2): MIN = MAX = 2, COUNT = 1, still shard 3/4 */
    struct got g = slurm_task(2, 2, 2, 1, 1, 4);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shard, 2);
    assert_int_equal(g.shards, 4);
    assert_string_equal(g.from, "SLURM_ARRAY_TASK_ID=2 of --shards 4");
    /* without the count, that task would be shard 1/1: a different configuration, which the
     * run directory of shard 3/4 refuses to resume */
    g = slurm_task(2, 2, 2, 1, 1, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shards, 1);
    /* ids run 0..N-1 */
    g = slurm_task(4, 1, 4, 1, 4, 4);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(
        g.err, "SLURM_ARRAY_TASK_ID=4, but with --shards N the task ids are the shards 0..N-1 "
               "(sbatch --array=0-3, or some of them)"));
    /* only the task id is needed then */
    const char *env[] = {"SLURM_ARRAY_TASK_ID=0", NULL};
    g = shard_of(env, 1);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shard, 0);
    assert_int_equal(g.shards, 1);
}

static void test_incomplete_or_malformed_slurm_environment(void **state) {
    (void)state;
    const char *no_count[] = {"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=0",
                              "SLURM_ARRAY_TASK_MAX=3", NULL};
    struct got g = shard_of(no_count, 0);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(
        strstr(g.err, "SLURM_ARRAY_TASK_ID=1 is set but SLURM_ARRAY_TASK_COUNT is not"));
    const char *bad[][2] = {
        {"SLURM_ARRAY_TASK_ID=3x", "SLURM_ARRAY_TASK_ID='3x' is not a whole number"},
        {"SLURM_ARRAY_TASK_ID=-1", "SLURM_ARRAY_TASK_ID='-1' is not a whole number"},
        {"SLURM_ARRAY_TASK_ID=", "SLURM_ARRAY_TASK_ID='' is not a whole number"},
        {"SLURM_ARRAY_TASK_ID= 2", "SLURM_ARRAY_TASK_ID=' 2' is not a whole number"},
        {"SLURM_ARRAY_TASK_ID=99999999999999999999999",
         "SLURM_ARRAY_TASK_ID='99999999999999999999999' is not a whole number"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *env[] = {bad[i][0], "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=3",
                             "SLURM_ARRAY_TASK_COUNT=4", NULL};
        g = shard_of(env, 0);
        assert_int_equal(g.rc, UMPIRE_EINVAL);
        assert_non_null(strstr(g.err, bad[i][1]));
    }
    const char *bad_step[] = {"SLURM_ARRAY_TASK_ID=1",    "SLURM_ARRAY_TASK_MIN=0",
                              "SLURM_ARRAY_TASK_MAX=3",   "SLURM_ARRAY_TASK_STEP=one",
                              "SLURM_ARRAY_TASK_COUNT=4", NULL};
    g = shard_of(bad_step, 0);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(g.err, "SLURM_ARRAY_TASK_STEP='one' is not a whole number"));
}

static void test_kubernetes_indexed_job(void **state) {
    (void)state;
    const char *env[] = {"JOB_COMPLETION_INDEX=2", NULL};
    struct got g = shard_of(env, 3);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.shard, 2);
    assert_int_equal(g.shards, 3);
    assert_string_equal(g.from, "JOB_COMPLETION_INDEX=2 of --shards 3");
    g = shard_of(env, 0);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(g.err, "give --shards N (the Job's .spec.completions)"));
    g = shard_of(env, 2);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(g.err, "--shards 2: JOB_COMPLETION_INDEX=2 is not below it"));
    const char *bad[] = {"JOB_COMPLETION_INDEX=two", NULL};
    g = shard_of(bad, 3);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(g.err, "JOB_COMPLETION_INDEX='two' is not a whole number"));
}

static void test_neither_or_both(void **state) {
    (void)state;
    const char *none[] = {"HOME=/root", NULL};
    struct got g = shard_of(none, 4);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(
        strstr(g.err, "neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX"));
    const char *plain_job[] = {"SLURM_JOB_ID=17", NULL};
    g = shard_of(plain_job, 0);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(g.err, "Slurm job 17 is not an array job"));
    const char *both[] = {"SLURM_ARRAY_TASK_ID=1", "JOB_COMPLETION_INDEX=1", NULL};
    g = shard_of(both, 4);
    assert_int_equal(g.rc, UMPIRE_EINVAL);
    assert_non_null(strstr(
        g.err, "both SLURM_ARRAY_TASK_ID=1 (Slurm) and JOB_COMPLETION_INDEX=1 (Kubernetes)"));
    assert_int_equal(g.shard, 99); /* untouched on failure */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arithmetic_arrays_cover_every_shard_once),
        cmocka_unit_test(test_step_defaults_to_one),
        cmocka_unit_test(test_lists_and_strays_are_refused),
        cmocka_unit_test(test_given_count_numbers_shards_by_task_id),
        cmocka_unit_test(test_incomplete_or_malformed_slurm_environment),
        cmocka_unit_test(test_kubernetes_indexed_job),
        cmocka_unit_test(test_neither_or_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
