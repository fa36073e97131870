/* image_noise.c - seeded Gaussian pixel noise (see image_noise.h). */
#include "core/image_noise.h"

#include <math.h>

#include "core/rng.h"

void umpire_image_add_noise(uint8_t *pix, size_t n, double sigma, uint64_t seed) {
    if (!(sigma > 0))
        return;
    struct umpire_rng g;
    umpire_rng_seed(&g, seed);
    for (size_t i = 0; i < n; i++) {
        double v = floor((double)pix[i] + 255.0 * sigma * umpire_rng_normal(&g) + 0.5);
        pix[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}
