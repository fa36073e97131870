/* npy.c - a reader for NumPy's .npy format (version 1-3): most users' embeddings come out of
 * Python pipelines. Accepts little-endian float32 / float64, C order, two dimensions. */
#include "io/npy.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

void umpire_npy_free(struct umpire_npy *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

int umpire_npy_read(const char *path, struct umpire_npy *out, char *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open", path);
    unsigned char pre[10];
    int rc = UMPIRE_OK;
    char *header = NULL;
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: not a .npy file (bad magic)", path);
        goto done;
    }
    size_t hlen;
    if (pre[6] == 1) {
        if (fread(pre + 8, 1, 2, f) != 2)
            goto truncated;
        hlen = pre[8] | (size_t)pre[9] << 8;
    } else {
        unsigned char b[4];
        if (fread(b, 1, 4, f) != 4)
            goto truncated;
        hlen = b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    }
    if (hlen > 1 << 20) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: header of %zu bytes is implausible", path, hlen);
        goto done;
    }
    header = malloc(hlen + 1);
    if (!header || fread(header, 1, hlen, f) != hlen)
        goto truncated;
    header[hlen] = '\0';
    int f8;
    if (strstr(header, "'descr': '<f4'"))
        f8 = 0;
    else if (strstr(header, "'descr': '<f8'"))
        f8 = 1;
    else {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: dtype must be float32 or float64 (little-endian)", path);
        goto done;
    }
    if (!strstr(header, "'fortran_order': False")) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: Fortran-ordered arrays are not supported", path);
        goto done;
    }
    const char *shape = strstr(header, "'shape': (");
    unsigned long long r, c;
    if (!shape || sscanf(shape, "'shape': (%llu, %llu)", &r, &c) != 2 || r == 0 || c == 0) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: shape must be two non-zero dimensions (rows, width)", path);
        goto done;
    }
    if (r > SIZE_MAX / c / 8) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: array too large", path);
        goto done;
    }
    out->rows = (size_t)r;
    out->cols = (size_t)c;
    size_t n = out->rows * out->cols;
    out->data = malloc(n * sizeof *out->data);
    if (!out->data) {
        rc = umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory for %zu values", path, n);
        goto done;
    }
    if (f8) {
        double buf[1024];
        for (size_t i = 0; i < n;) {
            size_t m = n - i < 1024 ? n - i : 1024;
            if (fread(buf, sizeof *buf, m, f) != m)
                goto truncated;
            for (size_t j = 0; j < m; j++)
                out->data[i + j] = (float)buf[j];
            i += m;
        }
    } else if (fread(out->data, sizeof *out->data, n, f) != n) {
        goto truncated;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out->data[i])) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: row %zu holds a NaN or Inf", path, i / out->cols);
            goto done;
        }
    goto done;
truncated:
    rc = umpire_fail(err, UMPIRE_EINVAL, "%s: file is truncated", path);
done:
    free(header);
    fclose(f);
    if (rc != UMPIRE_OK)
        umpire_npy_free(out);
    return rc;
}
