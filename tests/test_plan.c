/* test_plan.c - the prefill's plans (src/engine/plan.c) on random prompts: the CPU's
 * batch-invariant plan keeps every batch inside a run (text between media and message ends),
 * at most n_batch rows, at least 64 where the run has 64, all but a run's last a multiple of 4;
 * and every restart the rule picks decodes the rest with the cold plan's row classes (the plan
 * never falls back to a cold prefill where its own rule chose a restart), no later than where
 * the prompts part and no earlier than the rule allows. Whether equal classes give equal numbers
 * is test_engine's test_prefix_reuse_invariant (a real model, bit for bit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/plan.h"

static uint64_t rng = 88172645463325252ull;
static size_t draw(size_t n) { /* 0 .. n - 1, xorshift64 */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (size_t)(rng % n);
}

/* The run that holds unit i: [*s, *e). */
static void run_of(const struct umpire_prompt *p, const size_t *ends, size_t n_ends, size_t i, size_t *s, size_t *e) {
    if (p->u[i].media) {
        *s = i, *e = i + 1;
        return;
    }
    size_t a = i, b = i + 1;
    int bound_a = 0;
    while (a > 0 && !p->u[a - 1].media && !bound_a) {
        for (size_t k = 0; k < n_ends; k++)
            bound_a |= ends[k] == a;
        if (!bound_a)
            a--;
    }
    for (;;) {
        int bound_b = b == p->n || p->u[b].media;
        for (size_t k = 0; k < n_ends && !bound_b; k++)
            bound_b = ends[k] == b;
        if (bound_b)
            break;
        b++;
    }
    *s = a, *e = b;
}

static void test_invariant_plan_random_prompts(void **state) {
    (void)state;
    enum { N = 1500 };
    static struct umpire_prompt_unit units[N];
    static size_t steps[N], warm[N], ends[64];
    size_t fallbacks = 0, restarts = 0, inside = 0;
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = 1 + draw(trial % 3 == 0 ? 80 : N);
        memset(units, 0, sizeof units);
        for (size_t i = 0; i < n; i++) {
            units[i].n_pos = units[i].n_tokens = 1;
            units[i].tok = (int)draw(50);
            if (i + 1 < n && draw(200) == 0) /* an image (the prompt ends with text) */
                units[i] = (struct umpire_prompt_unit){.media = 1 + draw(5), .n_pos = 1, .n_tokens = 64};
        }
        size_t n_ends = draw(6);
        for (size_t k = 0; k < n_ends; k++)
            ends[k] = 1 + draw(n);
        for (size_t k = 1; k < n_ends; k++) /* sorted */
            for (size_t j = k; j > 0 && ends[j - 1] > ends[j]; j--) {
                size_t t = ends[j];
                ends[j] = ends[j - 1];
                ends[j - 1] = t;
            }
        int n_batch = 128 + (int)draw(500);
        struct umpire_prompt p = {.u = units, .n = n};
        size_t k = umpire_plan_invariant(&p, n_batch, ends, n_ends, 0, steps);
        assert_true(k >= 1 && steps[0] == 0);
        for (size_t b = 0; b < k; b++) { /* each batch */
            size_t u0 = steps[b], u1 = b + 1 < k ? steps[b + 1] : n, s, e;
            assert_true(u1 > u0);
            run_of(&p, ends, n_ends, u0, &s, &e);
            assert_true(u1 <= e); /* inside its run */
            if (units[u0].media) {
                assert_int_equal(u1 - u0, 1);
                continue;
            }
            assert_true(u1 - u0 <= (size_t)n_batch);
            if (e - s >= 64)
                assert_true(u1 - u0 >= 64);
            if (u1 < e)
                assert_int_equal((u1 - u0) % 4, 0);
            assert_true(u0 == s || (b > 0 && steps[b - 1] >= s)); /* the run's batches are contiguous */
        }
        for (int t = 0; t < 8 && n > 1; t++) { /* restarts after a cached prompt sharing `common` units */
            size_t common = 1 + draw(n - 1), s, e;
            size_t r = umpire_plan_restart(&p, common, ends, n_ends);
            run_of(&p, ends, n_ends, common, &s, &e);
            assert_true(r <= common && r >= s && r < e);
            size_t len = e - s, keep = len >= 64 ? 64 : 4;
            if (!units[s].media && len >= 4 && r > s) {
                assert_int_equal((r - s) % 4, 0);
                assert_true(e - r >= keep);
                inside++;
            }
            if (!units[s].media && len >= 4) /* no earlier than the rule allows */
                assert_true(r + 3 >= (common < e - keep ? common : e - keep));
            size_t kw = r ? umpire_plan_invariant(&p, n_batch, ends, n_ends, r, warm) : 0;
            if (r) {
                restarts++;
                fallbacks += kw == 0;
                assert_true(kw > 0 && warm[0] == r);
            }
            umpire_plan_invariant(&p, n_batch, ends, n_ends, 0, steps); /* the classes again, for the next */
        }
    }
    print_message("invariant plan: %zu restarts (%zu inside a run), %zu fell back to a cold prefill\n", restarts, inside,
                  fallbacks);
    assert_true(restarts > 1000 && inside > 500);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_invariant_plan_random_prompts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
