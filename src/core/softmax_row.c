/* softmax_row.c - the softmax statistics of a model's output row, vectorised (logprob.h).
 *
 * The engine records, for every decoded row, log p(token) and the entropy of the model's raw
 * distribution over the whole vocabulary (32k to 256k logits): the same sums as logprob.c's
 * softmax at t = 1, but with e^d in single precision (Cephes' polynomial, relative error below
 * 1e-7 for d in [-87, 0]) on chunks the compiler vectorises, summed in double in eight lanes.
 * logz and the entropy come out within 1e-7 of the double-precision softmax (1.4e-8 at worst in
 * tests/test_core.c), where a model's own float32 log-softmax (the papers' reference) is within
 * ~1e-6. A term below e^-87 counts as e^-87 (1e-38, against a sum of at least 1), its entropy
 * term with d = -87: a -inf logit adds nothing.
 * CMake compiles this file with -fno-trapping-math: without it GCC keeps the clamp a branch and
 * the loop scalar. */
#include "core/logprob.h"

#include <stdint.h>
#include <string.h>

enum { LANES = 8, CHUNK = 512 };

/* e[j] = e^(max(z[j] - m, -87)), x[j] = max(z[j] - m, -87) */
static void exp_chunk(const float *restrict z, float m, size_t n, float *restrict e, float *restrict x) {
    for (size_t j = 0; j < n; j++) {
        float d = z[j] - m;
        d = d > -87.0f ? d : -87.0f;
        /* d = k ln2 + r, |r| <= ln2 / 2: k by the 1.5 * 2^23 rounding trick, ln2 in two parts */
        float t = d * 1.44269504088896341f + 12582912.0f, k = t - 12582912.0f;
        float r = d - k * 0.693359375f - k * -2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        int32_t ti, si;
        memcpy(&ti, &t, sizeof ti);
        si = (ti - 0x4b400000 + 127) * (1 << 23); /* 2^k: k + 127 in the exponent bits */
        float scale;
        memcpy(&scale, &si, sizeof scale);
        e[j] = p * scale;
        x[j] = d;
    }
}

void umpire_softmax_row_f32(const float *z, size_t n, struct umpire_softmax *s) {
    float lane_max[LANES];
    for (int l = 0; l < LANES; l++)
        lane_max[l] = z[0];
    size_t v = 0;
    for (; v + LANES <= n; v += LANES)
        for (int l = 0; l < LANES; l++)
            lane_max[l] = z[v + l] > lane_max[l] ? z[v + l] : lane_max[l];
    float m = lane_max[0];
    for (int l = 1; l < LANES; l++)
        m = lane_max[l] > m ? lane_max[l] : m;
    for (; v < n; v++)
        m = z[v] > m ? z[v] : m;
    double sum[LANES] = {0}, sum_d[LANES] = {0};
    float e[CHUNK], x[CHUNK];
    for (v = 0; v < n; v += CHUNK) {
        size_t c = n - v < CHUNK ? n - v : CHUNK, j = 0;
        exp_chunk(z + v, m, c, e, x);
        for (; j + LANES <= c; j += LANES)
            for (int l = 0; l < LANES; l++) {
                sum[l] += e[j + l];
                sum_d[l] += (double)e[j + l] * x[j + l];
            }
        for (; j < c; j++) {
            sum[0] += e[j];
            sum_d[0] += (double)e[j] * x[j];
        }
    }
    double total = 0.0, total_d = 0.0;
    for (int l = 0; l < LANES; l++) {
        total += sum[l];
        total_d += sum_d[l];
    }
    s->max = m;
    s->sum = total;
    s->logz = log(total);
    s->entropy = s->logz - total_d / total;
    s->mean = NAN;
}
