/* NTK Gram matrix at initialization and its extreme eigenvalues (ntk.h).
 *
 * With z_ij = <w_j, x_i> + b_j, the Jacobian rows are
 *   df(x_i)/da_j = s sigma(z_ij),  df(x_i)/dw_j = s a_j sigma'(z_ij) x_i,  df(x_i)/db_j = s a_j sigma'(z_ij),
 * so K = J J^T / n never needs J (n x P) itself:
 *   K = (s^2 / n) [ H H^T (outer) + (E E^T) .* (X X^T [inner] + 1 [bias]) ],  E_ij = a_j sigma'(z_ij).
 * That costs two (n, m) GEMMs instead of an (n, m(d+2)) matrix. */
#include "shallowsweep/ntk.h"

#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "shallowsweep/error.h"

static bool has_bias(const ssw_model_t *M, unsigned groups) { return M->bias && (groups & SSW_GROUP_BIAS); }

int64_t ssw_ntk_params(const ssw_model_t *M, unsigned groups) {
  return ((groups & SSW_GROUP_INNER) ? M->m * M->d : 0) + (has_bias(M, groups) ? M->m : 0) +
         ((groups & SSW_GROUP_OUTER) ? M->m : 0);
}

/* Z (n, m), H = sigma(Z), E = a .* sigma'(Z), all caller-allocated. */
static void preactivations(const ssw_model_t *M, const double *theta, int64_t n, const double *X, double *Z,
                           double *H, double *E) {
  const int64_t m = M->m, d = M->d;
  const double *W = theta + ssw_theta_W(M), *b = theta + ssw_theta_b(M), *a = theta + ssw_theta_a(M);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0, X, (int)d, W, (int)d, 0.0,
              Z, (int)m);
  if (M->bias)
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < m; j++) Z[i * m + j] += b[j];
  ssw_act_apply(M, n * m, Z, H, E);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) E[i * m + j] *= a[j];
}

int ssw_ntk_jacobian(const ssw_model_t *M, const double *theta, int64_t n, const double *X, unsigned groups,
                     double *J) {
  const int64_t m = M->m, d = M->d, P = ssw_ntk_params(M, groups);
  double *Z, *H, *E;
  SSW_ALLOC(Z, n * m);
  SSW_ALLOC(H, n * m);
  SSW_ALLOC(E, n * m);
  preactivations(M, theta, n, X, Z, H, E);
  for (int64_t i = 0; i < n; i++) {
    double *row = J + i * P; /* columns in theta order: W, b, a */
    int64_t col = 0;
    if (groups & SSW_GROUP_INNER)
      for (int64_t j = 0; j < m; j++)
        for (int64_t c = 0; c < d; c++) row[col++] = M->s * E[i * m + j] * X[i * d + c];
    if (has_bias(M, groups))
      for (int64_t j = 0; j < m; j++) row[col++] = M->s * E[i * m + j];
    if (groups & SSW_GROUP_OUTER)
      for (int64_t j = 0; j < m; j++) row[col++] = M->s * H[i * m + j];
  }
  free(Z);
  free(H);
  free(E);
  return SSW_OK;
}

/* K (n, n) = J J^T / n through the Gram identity in the file comment. */
static void gram(const ssw_model_t *M, int64_t n, const double *X, unsigned groups, const double *H,
                 const double *E, double *K, double *XX) {
  const int m = (int)M->m, d = (int)M->d, ni = (int)n;
  const double c = M->s * M->s / (double)n;
  memset(K, 0, (size_t)(n * n) * sizeof *K);
  if ((groups & SSW_GROUP_INNER) || has_bias(M, groups)) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ni, ni, m, c, E, m, E, m, 0.0, K, ni);
    if (groups & SSW_GROUP_INNER)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ni, ni, d, 1.0, X, d, X, d, 0.0, XX, ni);
    else
      memset(XX, 0, (size_t)(n * n) * sizeof *XX);
    const double bias_term = has_bias(M, groups) ? 1.0 : 0.0;
    for (int64_t e = 0; e < n * n; e++) K[e] *= XX[e] + bias_term;
  }
  if (groups & SSW_GROUP_OUTER)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ni, ni, m, c, H, m, H, m, 1.0, K, ni);
}

double ssw_ntk_eigs_bytes(int64_t n, int64_t m) {
  /* Z, H, E (n, m); K, XX (n, n); w (n); dsyevd's work for eigenvalues only, 2n + 1 */
  const double N = (double)n;
  return (double)sizeof(double) * (3.0 * N * (double)m + 2.0 * N * N + N + 2.0 * N + 1.0);
}

int ssw_ntk_extreme_eigs(const ssw_model_t *M, const double *theta, int64_t n, const double *X, unsigned groups,
                         double *lambda_min, double *lambda_max) {
  const int64_t m = M->m;
  double *Z, *H, *E, *K, *XX, *w;
  SSW_ALLOC(Z, n * m);
  SSW_ALLOC(H, n * m);
  SSW_ALLOC(E, n * m);
  SSW_ALLOC(K, n * n);
  SSW_ALLOC(XX, n * n);
  SSW_ALLOC(w, n);
  preactivations(M, theta, n, X, Z, H, E);
  gram(M, n, X, groups, H, E, K, XX);
  lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)n, K, (lapack_int)n, w);
  if (info == 0) {
    *lambda_min = w[0]; /* ascending */
    *lambda_max = w[n - 1];
  }
  free(Z), free(H), free(E), free(K), free(XX), free(w);
  SSW_REQUIRE(info == 0, SSW_ERR_LIB, "LAPACKE_dsyevd failed on the %lld x %lld NTK Gram matrix (info %d)",
              (long long)n, (long long)n, (int)info);
  return SSW_OK;
}
