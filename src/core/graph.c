/* graph.c - the similarity-graph family over a symmetric k x k similarity W in [0, 1]:
 *
 *   NumSets, discrete semantic entropy   clusters: connected components of W > threshold
 *                                        (Kuhn et al. 2023; Farquhar et al. 2024)
 *   strict semantic entropy              the reference code's clusters (bidirectional
 *                                        entailment with each cluster's founder) and its
 *                                        probability-weighted Rao entropy
 *   EigV = sum_j max(0, 1 - lambda_j)    lambda: eigenvalues of L = I - D^-1/2 W D^-1/2
 *   Degree = trace(kI - D) / k^2         D_ii = sum_j W_ij     (Lin et al. 2024)
 *   Eccentricity = || v_j - mean v ||    v_j: row j of the eigenvectors of L with
 *                                        eigenvalue < 0.9        (Lin et al. 2024)
 *   KLE = VNE(exp(-t L0) / tr)           L0 = D - W; von Neumann entropy -sum mu log mu
 *                                        of the unit-trace heat kernel (Nikitin et al. 2024)
 *
 * The similarity is pluggable: embedding cosine max(0, cos) and lexical ROUGE-L here; the
 * engine adds entailment judged by the model itself.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/baselines.h"
#include "core/linalg.h"
#include "core/logprob.h"

#define ECCENTRICITY_EIG_THRESHOLD 0.9

void umpire_similarity_cosine(const float *e, size_t k, size_t d, double *w) {
    double *x = calloc(k * d > 0 ? k * d : 1, sizeof *x);
    if (!x) {
        for (size_t i = 0; i < k * k; i++)
            w[i] = NAN;
        return;
    }
    umpire_rows_normalise(e, k, d, x, NULL); /* a zero row: similarity 0 to every other */
    umpire_gram(x, k, d, w);
    umpire_similarity_cosine_gram(w, k, w);
    free(x);
}

void umpire_similarity_cosine_gram(const double *g, size_t k, double *w) {
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            w[i * k + j] = i == j ? 1.0 : fmax(0.0, fmin(1.0, g[i * k + j]));
}

void umpire_similarity_lexical(const struct umpire_answer *s, size_t k, double *w) {
    for (size_t i = 0; i < k; i++) {
        w[i * k + i] = 1.0;
        for (size_t j = i + 1; j < k; j++)
            w[i * k + j] = w[j * k + i] = umpire_rouge_l(s[i].text, s[j].text);
    }
}

static size_t root(size_t *parent, size_t i) {
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

size_t umpire_cluster(const double *w, size_t k, double threshold, size_t *cluster) {
    /* connected components of the graph "W_ij > threshold" (union-find): unlike greedy
     * first-member clustering, the result does not depend on the order of the answers */
    size_t *parent = malloc(k * sizeof *parent), n = 0;
    if (!parent)
        return 0;
    for (size_t i = 0; i < k; i++)
        parent[i] = i;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            if (w[i * k + j] > threshold)
                parent[root(parent, i)] = root(parent, j);
    /* number the components in order of their first member */
    for (size_t i = 0; i < k; i++)
        cluster[i] = SIZE_MAX;
    for (size_t i = 0; i < k; i++) {
        size_t r = root(parent, i);
        if (cluster[r] == SIZE_MAX)
            cluster[r] = n++;
        cluster[i] = cluster[r];
    }
    free(parent);
    return n;
}

double umpire_num_sets(const double *w, size_t k, double threshold) {
    size_t *c = malloc(k * sizeof *c), n = c ? umpire_cluster(w, k, threshold, c) : 0;
    free(c);
    return n ? (double)n : NAN; /* 0: out of memory */
}

double umpire_discrete_semantic_entropy(const double *w, size_t k, double threshold) {
    size_t *c = malloc(k * sizeof *c), n = c ? umpire_cluster(w, k, threshold, c) : 0;
    double h = n ? umpire_cluster_entropy(c, n, k) : NAN;
    free(c);
    return h;
}

double umpire_cluster_entropy(const size_t *c, size_t n, size_t k) {
    size_t *count = calloc(k, sizeof *count);
    if (!count)
        return NAN;
    for (size_t i = 0; i < k; i++)
        count[c[i]]++;
    double h = 0.0;
    for (size_t j = 0; j < n; j++) {
        double p = (double)count[j] / (double)k;
        h -= p * log(p);
    }
    free(count);
    return h;
}

double umpire_degree(const double *w, size_t k) {
    double s = 0.0;
    for (size_t i = 0; i < k * k; i++)
        s += w[i];
    return ((double)(k * k) - s) / (double)(k * k);
}

void umpire_laplacian_normalised(const double *w, size_t k, double *l) {
    for (size_t i = 0; i < k; i++) {
        double di = 0, dj;
        for (size_t t = 0; t < k; t++)
            di += w[i * k + t];
        for (size_t j = 0; j < k; j++) {
            dj = 0;
            for (size_t t = 0; t < k; t++)
                dj += w[j * k + t];
            l[i * k + j] = (i == j ? 1.0 : 0.0) - w[i * k + j] / sqrt(di * dj);
        }
    }
}

double umpire_semantic_entropy_weighted(const double *w, const struct umpire_answer *s, size_t k, double threshold) {
    size_t *c = malloc(k * sizeof *c), n = c ? umpire_cluster(w, k, threshold, c) : 0;
    double h = n ? umpire_cluster_entropy_weighted(c, n, s, k) : NAN;
    free(c);
    return h;
}

double umpire_cluster_entropy_weighted(const size_t *c, size_t n, const struct umpire_answer *s, size_t k) {
    double *lp = malloc(k * sizeof *lp), *mass = calloc(k, sizeof *mass), h = NAN;
    if (lp && mass) {
        /* each distinct answer once (a sample drawn twice is one sequence), weighted by its
         * joint probability; normalised in log space */
        double mx = -INFINITY;
        for (size_t i = 0; i < k; i++) {
            int dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = s[j].n_tokens == s[i].n_tokens && !strcmp(s[j].text, s[i].text);
            lp[i] = dup ? -INFINITY : umpire_answer_logprob(&s[i]);
            mx = fmax(mx, lp[i]);
        }
        double z = 0.0;
        for (size_t i = 0; i < k; i++) {
            double pi = exp(lp[i] - mx);
            mass[c[i]] += pi;
            z += pi;
        }
        h = 0.0;
        for (size_t j = 0; j < n; j++)
            if (mass[j] > 0)
                h -= mass[j] / z * log(mass[j] / z);
    }
    free(lp);
    free(mass);
    return h;
}

size_t umpire_cluster_strict(const double *e, size_t k, double threshold, size_t *cluster) {
    size_t next = 0;
    for (size_t i = 0; i < k; i++)
        cluster[i] = SIZE_MAX;
    for (size_t i = 0; i < k; i++) {
        if (cluster[i] != SIZE_MAX)
            continue;
        cluster[i] = next;
        for (size_t j = i + 1; j < k; j++) /* may take j from an earlier cluster, as the reference does */
            if (e[i * k + j] > threshold && e[j * k + i] > threshold)
                cluster[j] = next;
        next++;
    }
    return next; /* a founder never changes cluster: every id in 0..next-1 is in use */
}

double umpire_semantic_entropy_strict(const double *e, const struct umpire_answer *s, size_t k, double threshold) {
    size_t *c = malloc(k * sizeof *c), n = c ? umpire_cluster_strict(e, k, threshold, c) : 0;
    double *ll = malloc(k * sizeof *ll), *mass = calloc(k, sizeof *mass), h = NAN;
    if (n && ll && mass) {
        /* log p(c) = logsumexp_{i in c} l_i - logsumexp_i l_i, every sample counted */
        double mx = -INFINITY, z = 0.0;
        for (size_t i = 0; i < k; i++) {
            ll[i] = umpire_answer_logprob(&s[i]);
            mx = fmax(mx, ll[i]);
        }
        for (size_t i = 0; i < k; i++) {
            double pi = exp(ll[i] - mx);
            mass[c[i]] += pi;
            z += pi;
        }
        h = 0.0;
        for (size_t j = 0; j < n; j++) {
            double lp = log(mass[j]) - log(z);
            h -= exp(lp) * lp;
        }
    }
    free(c);
    free(ll);
    free(mass);
    return h;
}

double umpire_eigv(const double *w, size_t k) {
    double *l = malloc(k * k * sizeof *l), *lam = malloc(k * sizeof *lam), u = NAN;
    if (l && lam) {
        umpire_laplacian_normalised(w, k, l);
        if (umpire_eigh(l, k, lam, NULL) == 0)
            u = umpire_eigv_of(lam, k);
    }
    free(l);
    free(lam);
    return u;
}

double umpire_eigv_of(const double *lam, size_t k) {
    double u = 0.0;
    for (size_t j = 0; j < k; j++)
        u += fmax(0.0, 1.0 - lam[j]);
    return u;
}

double umpire_eccentricity(const double *w, size_t k) {
    double *l = malloc(k * k * sizeof *l), *lam = malloc(k * sizeof *lam);
    double *vec = malloc(k * k * sizeof *vec), u = NAN;
    if (l && lam && vec) {
        umpire_laplacian_normalised(w, k, l);
        if (umpire_eigh(l, k, lam, vec) == 0)
            u = umpire_eccentricity_of(lam, vec, k);
    }
    free(l);
    free(lam);
    free(vec);
    return u;
}

double umpire_eccentricity_of(const double *lam, const double *vec, size_t k) {
    size_t r = 0;
    while (r < k && lam[r] < ECCENTRICITY_EIG_THRESHOLD)
        r++;
    if (r == 0)
        r = 1;
    /* v_j = (vec[j][0..r)); centre over j, then the norm of all centred rows */
    double s = 0.0;
    for (size_t c = 0; c < r; c++) {
        double mean = 0.0;
        for (size_t j = 0; j < k; j++)
            mean += vec[j * k + c];
        mean /= (double)k;
        for (size_t j = 0; j < k; j++)
            s += (vec[j * k + c] - mean) * (vec[j * k + c] - mean);
    }
    return sqrt(s);
}

double umpire_kernel_language_entropy(const double *w, size_t k, double t) {
    double *l = calloc(k * k, sizeof *l), *lam = malloc(k * sizeof *lam), h = NAN;
    if (l && lam) {
        for (size_t i = 0; i < k; i++) {
            double d = 0;
            for (size_t j = 0; j < k; j++)
                d += w[i * k + j];
            for (size_t j = 0; j < k; j++)
                l[i * k + j] = (i == j ? d : 0.0) - w[i * k + j];
        }
        if (umpire_eigh(l, k, lam, NULL) == 0) {
            /* eigenvalues of exp(-tL0) are exp(-t lambda); normalise to unit trace */
            double z = 0.0;
            for (size_t j = 0; j < k; j++)
                z += exp(-t * lam[j]);
            h = 0.0;
            for (size_t j = 0; j < k; j++) {
                double mu = exp(-t * lam[j]) / z;
                if (mu > 0)
                    h -= mu * log(mu);
            }
        }
    }
    free(l);
    free(lam);
    return h;
}
