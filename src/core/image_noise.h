/* image_noise.h - Gaussian noise on an image's pixels, for the Calibration-MLLM study of how
 * image uncertainty moves a model's uncertainty (Image + N(0, sigma^2), several sigmas):
 * `umpire eval --image-noise SIGMA`. No llama.cpp here. */
#ifndef UMPIRE_CORE_IMAGE_NOISE_H
#define UMPIRE_CORE_IMAGE_NOISE_H

#include <stddef.h>
#include <stdint.h>

/* Add N(0, sigma^2) to every byte of pix (n bytes: RGB values on [0, 255]), sigma in units of
 * the full range (sigma 0.1: a standard deviation of 25.5), each rounded to the nearest
 * integer and clamped to [0, 255]; the draws are the same for the same seed. sigma <= 0:
 * nothing changes. */
void umpire_image_add_noise(uint8_t *pix, size_t n, double sigma, uint64_t seed);

#endif
