/* npy.h - read a 2-D NumPy .npy array (float32 or float64, C order) as float32. */
#ifndef UMPIRE_IO_NPY_H
#define UMPIRE_IO_NPY_H

#include <stddef.h>

struct umpire_npy {
    float *data; /* rows x cols, row-major */
    size_t rows, cols;
};

/* Returns 0, or a negative umpire_status with "PATH: problem" in err. */
int umpire_npy_read(const char *path, struct umpire_npy *out, char *err);
void umpire_npy_free(struct umpire_npy *a);

#endif
