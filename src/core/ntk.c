/* NTK Gram matrix at initialization and its extreme eigenvalues (ntk.h).
 *
 * With z_ij = <w_j, x_i> + b_j, the Jacobian rows are
 *   df(x_i)/da_j = s sigma(z_ij),  df(x_i)/dw_j = s a_j sigma'(z_ij) x_i,  df(x_i)/db_j = s a_j sigma'(z_ij),
 * so K = J J^T / n never needs J (n x P) itself:
 *   K = (s^2 / n) [ H H^T (outer) + (E E^T) .* (X X^T [inner] + 1 [bias]) ],  E_ij = a_j sigma'(z_ij).
 * That costs two (n, m) GEMMs instead of an (n, m(d+2)) matrix. */
#include "shallowsweep/ntk.h"

#include <math.h>
#include <stdbool.h>
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

/* ---- the rate-weighted NTK's top eigenvalue: GD's stability at theta ----
 *
 * GD with a step per group, theta <- theta - D grad L, is linearly stable at theta when every
 * eigenvalue of D^(1/2) G D^(1/2) is below 2, G = J^T J / n the Gauss-Newton matrix (the
 * Hessian without its residual term; Cohen et al. 2021's "edge of stability" is where the
 * top one reaches 2). Its nonzero eigenvalues are those of K_D = J D J^T / n (n x n), so
 * the edge ratio is lambda_max(K_D) / 2. K_D v = J (D (J^T v)) / n needs one vector-Jacobian
 * and one Jacobian-vector product: two (n, m) passes, no J and no K. */

typedef struct {
  const ssw_model_t *M;
  const double *theta, *X; /* (P), (n, d) */
  int64_t n;
  double *H, *E, *T;       /* (n, m): sigma(Z), a .* sigma'(Z), scratch */
  double *u;               /* (P) */
  double rate[3];          /* step of W, b, a (0: not trained) */
} kd_t;

/* u = D J^T v: the gradient of sum_i v_i f(x_i), each group times its step. v (n). */
static void weighted_vjp(kd_t *k, const double *v) {
  const ssw_model_t *M = k->M;
  const int64_t n = k->n, m = M->m, d = M->d;
  double *uW = k->u + ssw_theta_W(M), *ub = k->u + ssw_theta_b(M), *ua = k->u + ssw_theta_a(M);
  memset(k->u, 0, (size_t)ssw_theta_size(M) * sizeof *k->u);
  if (k->rate[2] != 0)
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, M->s * k->rate[2], k->H, (int)m, v, 1, 0.0, ua, 1);
  if (k->rate[0] == 0 && k->rate[1] == 0) return;
  for (int64_t i = 0; i < n; i++) /* T_ij = s v_i a_j sigma'(z_ij) */
    for (int64_t j = 0; j < m; j++) k->T[i * m + j] = M->s * v[i] * k->E[i * m + j];
  if (k->rate[0] != 0) /* (m, d) = T^T (m, n) X (n, d) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)n, k->rate[0], k->T, (int)m, k->X,
                (int)d, 0.0, uW, (int)d);
  if (k->rate[1] != 0)
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < m; j++) ub[j] += k->rate[1] * k->T[i * m + j];
}

/* w = J u / n: the change of every output along u. w (n). */
static void jvp_over_n(kd_t *k, double *w) {
  const ssw_model_t *M = k->M;
  const int64_t n = k->n, m = M->m, d = M->d;
  const double *uW = k->u + ssw_theta_W(M), *ub = k->u + ssw_theta_b(M), *ua = k->u + ssw_theta_a(M);
  const double c = M->s / (double)n;
  /* T = X U_W^T (n, m) [+ u_b]: each preactivation's change */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0, k->X, (int)d, uW, (int)d, 0.0,
              k->T, (int)m);
  for (int64_t i = 0; i < n; i++) {
    double sum = 0.0;
    for (int64_t j = 0; j < m; j++)
      sum += k->H[i * m + j] * ua[j] + k->E[i * m + j] * (k->T[i * m + j] + (M->bias ? ub[j] : 0.0));
    w[i] = c * sum;
  }
}

double ssw_ntk_edge_bytes(int64_t n, int64_t m, int64_t d) {
  /* Z, H, E, T (n, m); u (P); the Lanczos basis (SSW_EDGE_ITERS_MAX, n); w (n) */
  return (double)sizeof(double) * (4.0 * (double)n * (double)m + (double)(m * d + 2 * m) +
                                   (SSW_EDGE_ITERS_MAX + 1.0) * (double)n);
}

static double dot(const double *a, const double *b, int64_t count) {
  double s = 0.0;
  for (int64_t i = 0; i < count; i++) s += a[i] * b[i];
  return s;
}

/* The largest eigenvalue of the j x j tridiagonal (alpha, beta) and the last entry of its unit
 * eigenvector: the top Ritz pair of the Lanczos basis so far. */
static int top_ritz(int j, const double *alpha, const double *beta, double *theta, double *last) {
  double d[SSW_EDGE_ITERS_MAX], e[SSW_EDGE_ITERS_MAX], S[SSW_EDGE_ITERS_MAX * SSW_EDGE_ITERS_MAX];
  memcpy(d, alpha, (size_t)j * sizeof *d);
  if (j > 1) memcpy(e, beta, (size_t)(j - 1) * sizeof *e);
  lapack_int info = LAPACKE_dstev(LAPACK_COL_MAJOR, 'V', j, d, e, S, j);
  SSW_REQUIRE(info == 0, SSW_ERR_LIB, "LAPACKE_dstev failed on the %d x %d Lanczos matrix (info %d)", j, j,
              (int)info);
  *theta = d[j - 1];                          /* ascending order */
  *last = S[(size_t)(j - 1) * (size_t)j + (size_t)(j - 1)]; /* column j-1, row j-1 */
  return SSW_OK;
}

/* Lanczos on K_D with full reorthogonalization, from a fixed, generic start (deterministic: the
 * same cell gives the same number on every rank). Stops when the top Ritz pair's residual
 * |beta_j s_j| is below SSW_EDGE_RTOL times the Ritz value (its eigenvalue error is then about
 * the residual squared over the spectral gap), or the Krylov space is exhausted (beta = 0: the
 * Ritz values are exact). Q (SSW_EDGE_ITERS_MAX, n) holds the basis. */
static int lanczos(kd_t *k, double *Q, double *w, ssw_edge_t *out) {
  const int64_t n = k->n;
  double alpha[SSW_EDGE_ITERS_MAX], beta[SSW_EDGE_ITERS_MAX], theta = 0.0, last = 1.0;
  double *q = Q;
  for (int64_t i = 0; i < n; i++) q[i] = 1.0 + 0.5 * sin(1.0 + (double)i); /* not orthogonal to the top */
  double norm = sqrt(dot(q, q, n));
  for (int64_t i = 0; i < n; i++) q[i] /= norm;
  out->converged = false;
  const int jmax = n < SSW_EDGE_ITERS_MAX ? (int)n : SSW_EDGE_ITERS_MAX;
  for (int j = 1; j <= jmax; j++) {
    q = Q + (size_t)(j - 1) * (size_t)n;
    weighted_vjp(k, q);
    jvp_over_n(k, w);
    alpha[j - 1] = dot(q, w, n);
    for (int pass = 0; pass < 2; pass++) /* twice is enough (Parlett) */
      for (int i = 0; i < j; i++) {
        const double *qi = Q + (size_t)i * (size_t)n, c = dot(qi, w, n);
        for (int64_t l = 0; l < n; l++) w[l] -= c * qi[l];
      }
    beta[j - 1] = sqrt(dot(w, w, n));
    out->iters = j;
    if (!isfinite(alpha[j - 1]) || !isfinite(beta[j - 1])) {
      theta = NAN;
      break;
    }
    SSW_TRY(top_ritz(j, alpha, beta, &theta, &last));
    if (fabs(beta[j - 1] * last) <= SSW_EDGE_RTOL * fabs(theta) || beta[j - 1] <= 1e-300 || theta == 0.0) {
      out->converged = true;
      break;
    }
    if (j == jmax) break;
    double *next = Q + (size_t)j * (size_t)n;
    for (int64_t l = 0; l < n; l++) next[l] = w[l] / beta[j - 1];
  }
  if (out->iters == n && !out->converged) out->converged = true; /* the whole space: exact */
  out->lambda_max = theta;
  out->ratio = theta / 2.0;
  return SSW_OK;
}

int ssw_ntk_edge_ratio(const ssw_model_t *M, const double *theta, int64_t n, const double *X, unsigned groups,
                       double eta_in, double eta_out, ssw_edge_t *out) {
  const int64_t m = M->m;
  kd_t k = {.M = M, .theta = theta, .X = X, .n = n,
            .rate = {(groups & SSW_GROUP_INNER) ? eta_in : 0.0, has_bias(M, groups) ? eta_in : 0.0,
                     (groups & SSW_GROUP_OUTER) ? eta_out : 0.0}};
  double *Z = NULL, *v = NULL, *w = NULL;
  int rc = SSW_OK;
  Z = calloc((size_t)(n * m), sizeof *Z);
  k.H = calloc((size_t)(n * m), sizeof *k.H);
  k.E = calloc((size_t)(n * m), sizeof *k.E);
  k.T = calloc((size_t)(n * m), sizeof *k.T);
  k.u = calloc((size_t)ssw_theta_size(M), sizeof *k.u);
  v = calloc((size_t)n * (size_t)SSW_EDGE_ITERS_MAX, sizeof *v); /* the Lanczos basis */
  w = calloc((size_t)n, sizeof *w);
  if (!Z || !k.H || !k.E || !k.T || !k.u || !v || !w) {
    rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory for the edge ratio (%.3g bytes)", ssw_ntk_edge_bytes(n, m, M->d));
  } else {
    preactivations(M, theta, n, X, Z, k.H, k.E);
    rc = lanczos(&k, v, w, out);
  }
  free(Z), free(k.H), free(k.E), free(k.T), free(k.u), free(v), free(w);
  return rc;
}
