/* npy.c - a reader for NumPy's .npy format (version 1-3): most users' embeddings come out of
 * Python pipelines. Accepts little-endian float32 / float64, C order, two dimensions; any
 * other dtype, order or shape, and float64 values beyond float32's range, are refused. */
#include "io/npy.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* The value of a key of the header's dict literal ("{'descr': '<f4', 'fortran_order': False,
 * 'shape': (3, 4), }"), spaces skipped; NULL when the key is not there. */
static const char *header_value(const char *header, const char *key) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *p = strstr(header, quoted);
    if (!p)
        return NULL;
    p += strlen(quoted);
    p += strspn(p, " ");
    if (*p++ != ':')
        return NULL;
    return p + strspn(p, " ");
}

/* A shape tuple "(3, 4)", "(5,)" or "()" into dims (at most max of them): how many there
 * are, or -1 when it is not a tuple of integers or has more than max. */
static int parse_shape(const char *p, unsigned long long *dims, int max) {
    if (*p++ != '(')
        return -1;
    int n = 0;
    for (;;) {
        p += strspn(p, " ");
        if (*p == ')')
            return n;
        if (*p < '0' || *p > '9' || n == max)
            return -1;
        char *end;
        errno = 0;
        dims[n++] = strtoull(p, &end, 10);
        if (errno)
            return -1;
        p = end + strspn(end, " ");
        if (*p == ',')
            p++;
        else if (*p != ')')
            return -1;
    }
}

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
    if (pre[6] < 1 || pre[6] > 3) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: .npy format version %d (umpire reads 1 to 3)",
                         path, pre[6]);
        goto done;
    }
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
    if (!(header = malloc(hlen + 1))) {
        rc = umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(header, 1, hlen, f) != hlen)
        goto truncated;
    header[hlen] = '\0';
    const char *descr = header_value(header, "descr"),
               *order = header_value(header, "fortran_order");
    const char *shape = header_value(header, "shape");
    int f8 = descr && !strncmp(descr, "'<f8'", 5);
    if (!descr || (!f8 && strncmp(descr, "'<f4'", 5))) {
        int w = descr ? (int)strcspn(descr, ",}") : 0;
        rc = umpire_fail(
            err, UMPIRE_EINVAL,
            "%s: dtype %.*s: umpire reads little-endian float32 ('<f4') or float64 ('<f8')", path,
            w ? w : 7, w ? descr : "missing");
        goto done;
    }
    if (!order || strncmp(order, "False", 5)) {
        rc = umpire_fail(
            err, UMPIRE_EINVAL,
            "%s: fortran_order: %s; umpire reads C-ordered arrays (np.ascontiguousarray)", path,
            order && !strncmp(order, "True", 4) ? "True" : "missing");
        goto done;
    }
    unsigned long long dims[8], r, c;
    int n_dims = shape ? parse_shape(shape, dims, 8) : -1;
    if (n_dims != 2 || dims[0] == 0 || dims[1] == 0) {
        int w = shape ? (int)strcspn(shape, ")") + (shape[strcspn(shape, ")")] == ')') : 0;
        rc =
            umpire_fail(err, UMPIRE_EINVAL,
                        "%s: shape %.*s: umpire reads 2-D arrays of non-zero size (samples, width)",
                        path, w ? w : 7, w ? shape : "missing");
        goto done;
    }
    r = dims[0];
    c = dims[1];
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
            for (size_t j = 0; j < m; j++) {
                if (isfinite(buf[j]) && fabs(buf[j]) > FLT_MAX) { /* kept as float32, as phi is */
                    rc = umpire_fail(err, UMPIRE_EINVAL,
                                     "%s: row %zu, column %zu: %g is beyond float32's range", path,
                                     (i + j) / out->cols, (i + j) % out->cols, buf[j]);
                    goto done;
                }
                out->data[i + j] = (float)buf[j];
            }
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
    rc = ferror(f) ? umpire_fail(err, UMPIRE_EIO, "%s: read error", path)
                   : umpire_fail(err, UMPIRE_EINVAL, "%s: file is truncated", path);
done:
    free(header);
    fclose(f);
    if (rc != UMPIRE_OK)
        umpire_npy_free(out);
    return rc;
}
