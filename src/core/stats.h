/* stats.h - small descriptive statistics and sorting helpers shared by the core. */
#ifndef UMPIRE_CORE_STATS_H
#define UMPIRE_CORE_STATS_H

#include <stddef.h>

double umpire_mean(const double *x, size_t n);
/* Median of n values (not modified); NaN for n = 0. */
double umpire_median(const double *x, size_t n);
/* Ascending sort in place. */
void umpire_sort_double(double *x, size_t n);
void umpire_sort_size(size_t *x, size_t n);
/* order[0..n) = indices of x sorted by x descending (stable). Returns 0, or -1 (no memory). */
int umpire_argsort_desc(const double *x, size_t n, size_t *order);
/* Copy the pairs (score[i], wrong[i] != 0) whose score is finite into s and w (n slots each):
 * answers whose estimator lacked its input (NaN) are left out. Returns how many. */
size_t umpire_finite_pairs(const double *score, const int *wrong, size_t n, double *s, int *w);
/* Pearson correlation of n pairs; NaN when either side is constant or n < 2. */
double umpire_pearson(const double *x, const double *y, size_t n);

#endif
