/* shard.c - `umpire eval --shard auto`: which shard of an evaluation this process is, read from
 * the environment a batch scheduler gives each task of an array job, so that one job script
 * serves every task. Two schedulers:
 *
 *   Slurm (sbatch --array=...): SLURM_ARRAY_TASK_ID, and the array's SLURM_ARRAY_TASK_MIN,
 *     _MAX, _STEP (1 when absent) and _COUNT.
 *     Without a given count the array is the evaluation: it must be MIN-MAX:STEP (ids MIN,
 *     MIN + STEP, ..., COUNT of them), and task ID is shard (ID - MIN) / STEP of COUNT.
 *     --array=0-3 and --array=1-4 are both shards 1/4..4/4; a list with gaps (--array=1,4,9) is
 *     refused, as its position cannot be told from the environment.
 *     With a given count N the task id is the shard itself, counted from 0: --array=0-(N-1), or
 *     any part of it (one task resubmitted with --array=2 is shard 3/N, not 1/1).
 *   Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0 .. completions - 1) with the count given
 *     (the Job's .spec.completions), since the pod's environment does not hold it.
 *
 * Both at once, neither, or an index outside its count is refused with a message naming the
 * variables and their values. No llama.cpp here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "run/run.h"

/* The variable NAME as a whole number: 1 and *v; 0 when unset; UMPIRE_EINVAL when set to
 * anything else (err names it). */
static int env_number(umpire_env_lookup lookup, void *ctx, const char *name, size_t *v, char *err) {
    const char *s = lookup(name, ctx);
    if (!s)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long x = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno || x > SIZE_MAX / 2)
        return umpire_fail(err, UMPIRE_EINVAL, "--shard auto: %s='%s' is not a whole number", name,
                           s);
    *v = (size_t)x;
    return 1;
}

static int from_slurm(umpire_env_lookup lookup, void *ctx, size_t given, size_t *shard,
                      size_t *shards, char *from, size_t from_len, char *err) {
    static const char *const names[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
                                        "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP",
                                        "SLURM_ARRAY_TASK_COUNT"};
    size_t v[5] = {0, 0, 0, 1, 0};
    int set[5];
    for (int i = 0; i < 5; i++)
        if ((set[i] = env_number(lookup, ctx, names[i], &v[i], err)) < 0)
            return set[i];
    size_t id = v[0], min = v[1], max = v[2], step = v[3], count = v[4];
    if (given) { /* the task id is the shard, from 0 */
        if (id >= given)
            return umpire_fail(
                err, UMPIRE_EINVAL,
                "--shard auto --shards %zu: SLURM_ARRAY_TASK_ID=%zu, but with --shards N the task "
                "ids are the shards 0..N-1 (sbatch --array=0-%zu, or some of them)",
                given, id, given - 1);
        *shard = id;
        *shards = given;
        snprintf(from, from_len, "SLURM_ARRAY_TASK_ID=%zu of --shards %zu", id, given);
        return UMPIRE_OK;
    }
    for (int i = 1; i < 5; i++)
        if (!set[i] && i != 3)
            return umpire_fail(
                err, UMPIRE_EINVAL,
                "--shard auto: SLURM_ARRAY_TASK_ID=%zu is set but %s is not; give the number of "
                "shards (--shards N, the task ids then being the shards 0..N-1)",
                id, names[i]);
    if (step < 1 || min > id || id > max || (id - min) % step || count < 1 ||
        (max - min) / step + 1 != count)
        return umpire_fail(
            err, UMPIRE_EINVAL,
            "--shard auto: task %zu of the Slurm array MIN=%zu MAX=%zu STEP=%zu COUNT=%zu, which "
            "is "
            "not MIN-MAX:STEP (a list like --array=1,4,9, or part of an array resubmitted): give "
            "the number of shards (--shards N, the task ids then being the shards 0..N-1)",
            id, min, max, step, count);
    *shard = (id - min) / step;
    *shards = count;
    snprintf(from, from_len, "SLURM_ARRAY_TASK_ID=%zu of the array %zu-%zu:%zu", id, min, max,
             step);
    return UMPIRE_OK;
}

int umpire_shard_from_env(umpire_env_lookup lookup, void *ctx, size_t shards_given, size_t *shard,
                          size_t *shards, char *from, size_t from_len, char *err) {
    const char *slurm = lookup("SLURM_ARRAY_TASK_ID", ctx),
               *k8s = lookup("JOB_COMPLETION_INDEX", ctx);
    if (slurm && k8s)
        return umpire_fail(
            err, UMPIRE_EINVAL,
            "--shard auto: both SLURM_ARRAY_TASK_ID=%s (Slurm) and JOB_COMPLETION_INDEX=%s "
            "(Kubernetes) are set; which one numbers the shards? (--shard i/n to say it)",
            slurm, k8s);
    if (slurm)
        return from_slurm(lookup, ctx, shards_given, shard, shards, from, from_len, err);
    if (!k8s) {
        const char *job = lookup("SLURM_JOB_ID", ctx);
        if (job)
            return umpire_fail(
                err, UMPIRE_EINVAL,
                "--shard auto: Slurm job %s is not an array job (SLURM_ARRAY_TASK_ID is not set): "
                "submit it with sbatch --array=0-N",
                job);
        return umpire_fail(err, UMPIRE_EINVAL,
                           "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor "
                           "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set");
    }
    size_t index = 0;
    int rc = env_number(lookup, ctx, "JOB_COMPLETION_INDEX", &index, err);
    if (rc < 0)
        return rc;
    if (!shards_given)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "--shard auto: JOB_COMPLETION_INDEX=%zu (a Kubernetes Indexed Job) does "
                           "not say how many "
                           "shards there are: give --shards N (the Job's .spec.completions)",
                           index);
    if (index >= shards_given)
        return umpire_fail(
            err, UMPIRE_EINVAL,
            "--shard auto --shards %zu: JOB_COMPLETION_INDEX=%zu is not below it (indexes run "
            "0..completions-1)",
            shards_given, index);
    *shard = index;
    *shards = shards_given;
    snprintf(from, from_len, "JOB_COMPLETION_INDEX=%zu of --shards %zu", index, shards_given);
    return UMPIRE_OK;
}
