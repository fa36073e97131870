/* idk.c - "I don't know" evaluation (the IDK study of Calibration-MLLM, arXiv 2412.14660): does
 * a model decline the questions it cannot answer, and only those? Rates over judged answers,
 * each NaN when its denominator is empty. */
#include <math.h>

#include "umpire.h"

static double rate(size_t k, size_t n) { return n ? (double)k / (double)n : NAN; }

/* k of n and its exact (Clopper-Pearson) two-sided 95 % interval; NaN for n = 0 */
static void proportion(size_t k, size_t n, double *v, double *ci) {
    *v = rate(k, n);
    ci[0] = n ? 1.0 - umpire_clopper_pearson_upper(n - k, n, 0.025) : NAN;
    ci[1] = n ? umpire_clopper_pearson_upper(k, n, 0.025) : NAN;
}

void umpire_idk_rates(const int *answerable, const int *declined, const int *correct, size_t n,
                      struct umpire_idk *out) {
    size_t ans = 0, unans = 0, ans_lab = 0, ans_right = 0, ans_declined = 0, unans_declined = 0;
    for (size_t i = 0; i < n; i++) {
        if (answerable[i]) {
            ans++;
            ans_declined += declined[i] != 0;
            if (correct[i] >= 0) {
                ans_lab++;
                ans_right += correct[i] == 1;
            }
        } else {
            unans++;
            unans_declined += declined[i] != 0;
        }
    }
    out->n_answerable = ans;
    out->n_unanswerable = unans;
    proportion(ans_right, ans_lab, &out->accuracy_answerable, out->accuracy_answerable_ci);
    proportion(unans_declined, unans, &out->refusal_recall, out->refusal_recall_ci);
    proportion(unans - unans_declined, unans, &out->over_answering, out->over_answering_ci);
    proportion(ans_declined, ans, &out->over_refusal, out->over_refusal_ci);
}
