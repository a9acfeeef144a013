/* Forward, loss and gradient of the shallow network (DESIGN.md §2); shapes in model.h.
 *
 * Backward, from L = (1/2n) sum_i r_i^2 with r_i = f(x_i) - y_i and z_ij = <w_j, x_i> + b_j:
 *   dL/da_j  = (s/n) sum_i r_i sigma(z_ij)
 *   dL/db_j  = sum_i G_ij,            G_ij = (s/n) r_i a_j sigma'(z_ij)
 *   dL/dw_j  = sum_i G_ij x_i         (dL/dW = G^T X)
 */
#include "shallowsweep/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "shallowsweep/error.h"
#include "shallowsweep/simd.h"

#include "act_simd.h"

void ssw_model_from_params(ssw_model_t *M, const ssw_params_t *p) {
  *M = (ssw_model_t){.m = p->width, .d = p->dim, .act = p->activation, .leaky_slope = p->leaky_slope,
                     .ramp_width = p->ramp_width, .s = p->output_scale, .bias = p->bias,
                     .fused = p->dim <= SSW_FUSED_MAX_DIM && p->n >= SSW_FUSED_MIN_N};
}

/* Neurons per block: a block's rows of Z (forward) and of G (backward) stay in cache between
 * the GEMM that writes them and the pass that reads them (2 MiB; 2^15-2^19 doubles measured
 * alike on this machine's 512 KiB L2, within noise). */
static int64_t block_neurons(int64_t n, int64_t m) {
  int64_t mb = (INT64_C(1) << 18) / (n > 0 ? n : 1);
  if (mb < 8) mb = 8;
  return mb < m ? mb : m;
}

/* The largest block: block_neurons(n, m) * n <= max(2^18, 8 n) doubles for any n <= n_max. */
static int64_t workspace_g_size(int64_t n_max, int64_t m) {
  int64_t g_size = (INT64_C(1) << 18) > 8 * n_max ? (INT64_C(1) << 18) : 8 * n_max;
  return g_size < m * n_max ? g_size : m * n_max;
}

/* Neurons rounded up to the fused kernel's blocks of 8 (fused_regs.c). */
static int64_t neurons_padded(int64_t m) { return (m + 7) / 8 * 8; }

int ssw_workspace_init(ssw_workspace_t *ws, int64_t n_max, int64_t m, int64_t d) {
  memset(ws, 0, sizeof *ws);
  ws->n_max = n_max;
  ws->m = m;
  ws->d = d;
  ws->keep_z = true;
  SSW_ALLOC(ws->Z, m * n_max);
  SSW_ALLOC(ws->H, neurons_padded(m) * n_max); /* touched only for activations kept, not recomputed */
  SSW_ALLOC(ws->h_row, n_max);
  SSW_ALLOC(ws->G, workspace_g_size(n_max, m));
  SSW_ALLOC(ws->r, n_max);
  const int64_t dp = ssw_fused_padded_dim(d);
  SSW_ALLOC(ws->pack, neurons_padded(m) * (dp + 3));
  SSW_ALLOC(ws->XP, n_max * dp);
  SSW_ALLOC(ws->fpart, 8 * n_max);
  return SSW_OK;
}

double ssw_workspace_bytes(int64_t n_max, int64_t m, int64_t d) {
  const double m8 = (double)neurons_padded(m), dp = (double)ssw_fused_padded_dim(d);
  return (double)sizeof(double) * (((double)m + m8 + 10.0 + dp) * (double)n_max + m8 * (dp + 3.0) +
                                   (double)workspace_g_size(n_max, m));
}

void ssw_workspace_fini(ssw_workspace_t *ws) {
  free(ws->Z);
  free(ws->H);
  free(ws->h_row);
  free(ws->G);
  free(ws->r);
  free(ws->pack);
  free(ws->XP);
  free(ws->fpart);
  memset(ws, 0, sizeof *ws);
}

/* Activations so cheap that recomputing sigma(z) in the backward costs less than the memory
 * traffic of storing H (m, n) and reading it back. */
static bool recompute_h(const ssw_model_t *M) {
  return M->act == SSW_ACT_RELU || M->act == SSW_ACT_LEAKY_RELU || M->act == SSW_ACT_LINEAR ||
         M->act == SSW_ACT_QUADRATIC || M->act == SSW_ACT_RAMP;
}

/* Row j of H (n): stored in ws->H, or the one-row scratch when it is recomputed. */
static double *h_row(const ssw_model_t *M, ssw_workspace_t *ws, int64_t j, int64_t n) {
  return recompute_h(M) ? ws->h_row : ws->H + j * n;
}

/* Forward, one block of neurons at a time so that the block's rows of Z are still in cache
 * when the activation and the output read them: Z (m, n) = W X^T (+ b), H = sigma(Z),
 * f (n) = s a^T H. */
static void forward(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                    ssw_workspace_t *ws, double *f) {
  const int64_t m = M->m, d = M->d, mb = block_neurons(n, m);
  const double *W = theta + ssw_theta_W(M), *b = theta + ssw_theta_b(M), *a = theta + ssw_theta_a(M);
  memset(f, 0, (size_t)n * sizeof *f);
  for (int64_t j0 = 0; j0 < m; j0 += mb) {
    const int64_t rows = j0 + mb <= m ? mb : m - j0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)d, 1.0, W + j0 * d, (int)d, X,
                (int)d, 0.0, ws->Z + j0 * n, (int)n);
    for (int64_t j = j0; j < j0 + rows; j++) {
      double *z = ws->Z + j * n, *h = h_row(M, ws, j, n); /* rows (n) */
      if (M->bias)
        for (int64_t i = 0; i < n; i++) z[i] += b[j];
      ssw_act_apply(M, n, z, h, NULL);
      const double sa = M->s * a[j];
      for (int64_t i = 0; i < n; i++) f[i] += sa * h[i];
    }
  }
}

int ssw_model_forward(const ssw_model_t *M, const double *theta, int64_t n, const double *X, double *f,
                      ssw_workspace_t *ws) {
  SSW_REQUIRE(n <= ws->n_max && M->m == ws->m, SSW_ERR_INTERNAL,
              "workspace for %lld x %lld used with %lld x %lld", (long long)ws->n_max, (long long)ws->m,
              (long long)n, (long long)M->m);
  forward(M, theta, n, X, ws, f);
  return SSW_OK;
}

/* Samples per backward chunk: h and sigma' of a chunk stay in L1 between the activation
 * kernel and the fused loop that consumes them (2 x 256 doubles = 4 KiB). */
enum { BACKWARD_CHUNK = 256 };

/* The sum of LANES partial sums by a fixed tree. LANES independent chains instead of one: a
 * single running sum waits an add's latency (4 cycles) per element, which made these sums the
 * larger part of the big step's elementwise time. */
enum { LANES = 8 };
static double tree8(const double *acc) {
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* One neuron's backward over samples i0..i0+count-1: returns sum_i r_i h_ji into *dot and
 * sum_i G_ji, with G_ji = ca r_i sigma'(z_ji) written to g; each sum in LANES partial sums
 * (sample i into lane i mod LANES), the same order on every machine. */
static double backward_chunk(const ssw_model_t *M, const double *z, const double *h_stored, const double *r,
                             double ca, bool want_g, int64_t count, double *g, double *dot) {
  double h_buf[BACKWARD_CHUNK], d_buf[BACKWARD_CHUNK];
  const double *h = h_stored;
  if (!h_stored) { /* cheap activation: sigma and sigma' from z in one kernel */
    ssw_act_apply(M, count, z, h_buf, want_g ? d_buf : NULL);
    h = h_buf;
  } else if (want_g) {
    ssw_act_deriv_from_value(M, count, z, h, d_buf);
  }
  double rh[LANES] = {0}, sum[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= count; i += LANES)
    for (int l = 0; l < LANES; l++) rh[l] += r[i + l] * h[i + l];
  for (int l = 0; i < count; i++, l++) rh[l] += r[i] * h[i];
  if (want_g) {
    for (i = 0; i < count; i++) g[i] = ca * r[i] * d_buf[i];
    for (i = 0; i + LANES <= count; i += LANES)
      for (int l = 0; l < LANES; l++) sum[l] += g[i + l];
    for (int l = 0; i < count; i++, l++) sum[l] += g[i];
  }
  *dot += tree8(rh);
  return tree8(sum);
}

/* Backward over neurons j0..j0+mb-1: grad_a_j = c r.h_j, G_j = c a_j r .* sigma'(z_j) into the
 * block buffer, grad_b_j = sum_i G_ji, then grad_W[j0:j0+mb] = G_blk (mb, n) X (n, d) while the
 * block is still in cache. c = s/n. */
static void backward_block(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                           const double *r, unsigned groups, double c, int64_t j0, int64_t mb,
                           ssw_workspace_t *ws, double *grad) {
  const int64_t d = M->d;
  const double *a = theta + ssw_theta_a(M);
  const bool inner = groups & (SSW_GROUP_INNER | SSW_GROUP_BIAS);
  for (int64_t j = j0; j < j0 + mb; j++) {
    const double *z = ws->Z + j * n, *h = recompute_h(M) ? NULL : ws->H + j * n; /* rows (n) */
    double *g = ws->G + (j - j0) * n, dot = 0.0, sum = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += BACKWARD_CHUNK) {
      const int64_t count = n - i0 < BACKWARD_CHUNK ? n - i0 : BACKWARD_CHUNK;
      sum += backward_chunk(M, z + i0, h ? h + i0 : NULL, r + i0, c * a[j], inner, count, g + i0, &dot);
    }
    if (groups & SSW_GROUP_OUTER) grad[ssw_theta_a(M) + j] = c * dot;
    if ((groups & SSW_GROUP_BIAS) && M->bias) grad[ssw_theta_b(M) + j] = sum;
  }
  if (groups & SSW_GROUP_INNER)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mb, (int)d, (int)n, 1.0, ws->G, (int)n, X,
                (int)d, 0.0, grad + ssw_theta_W(M) + j0 * d, (int)d);
}

int ssw_model_loss_grad(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                        const double *y, unsigned groups, double *grad, ssw_workspace_t *ws, double *loss) {
  SSW_REQUIRE(n <= ws->n_max && M->m == ws->m && M->d == ws->d, SSW_ERR_INTERNAL,
              "workspace for %lld x %lld x %lld used with %lld x %lld x %lld", (long long)ws->n_max,
              (long long)ws->m, (long long)ws->d, (long long)n, (long long)M->m, (long long)M->d);
  if (M->fused && M->d <= SSW_FUSED_DIM_LIMIT) {
    ssw_act_kernels()->fused_loss_grad(M, theta, n, X, y, groups, !recompute_h(M), grad, ws, loss);
    return SSW_OK;
  }
  double *r = ws->r; /* (n) */
  forward(M, theta, n, X, ws, r);
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) {
    r[i] -= y[i];
    sum += r[i] * r[i];
  }
  *loss = sum / (2.0 * (double)n);
  if (!grad) return SSW_OK;
  memset(grad, 0, (size_t)ssw_theta_size(M) * sizeof *grad);
  const int64_t m = M->m, mb = block_neurons(n, m);
  for (int64_t j0 = 0; j0 < m; j0 += mb)
    backward_block(M, theta, n, X, r, groups, M->s / (double)n, j0, j0 + mb <= m ? mb : m - j0, ws, grad);
  return SSW_OK;
}

double ssw_model_loss_grad_naive(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                                 const double *y, unsigned groups, double *grad) {
  const int64_t m = M->m, d = M->d;
  const double *W = theta + ssw_theta_W(M), *b = theta + ssw_theta_b(M), *a = theta + ssw_theta_a(M);
  if (grad) memset(grad, 0, (size_t)ssw_theta_size(M) * sizeof *grad);
  double loss = 0.0;
  for (int64_t i = 0; i < n; i++) {
    const double *x = X + i * d;
    double f = 0.0;
    for (int64_t j = 0; j < m; j++) {
      double z = M->bias ? b[j] : 0.0;
      for (int64_t c = 0; c < d; c++) z += W[j * d + c] * x[c];
      f += a[j] * ssw_act(M, z);
    }
    const double r = M->s * f - y[i];
    loss += r * r;
    if (!grad) continue;
    const double c = M->s * r / (double)n;
    for (int64_t j = 0; j < m; j++) {
      double z = M->bias ? b[j] : 0.0;
      for (int64_t k = 0; k < d; k++) z += W[j * d + k] * x[k];
      if (groups & SSW_GROUP_OUTER) grad[ssw_theta_a(M) + j] += c * ssw_act(M, z);
      const double g = c * a[j] * ssw_act_deriv(M, z);
      if (groups & SSW_GROUP_INNER)
        for (int64_t k = 0; k < d; k++) grad[j * d + k] += g * x[k];
      if ((groups & SSW_GROUP_BIAS) && M->bias) grad[ssw_theta_b(M) + j] += g;
    }
  }
  return loss / (2.0 * (double)n);
}

void ssw_blas_single_thread(void) { openblas_set_num_threads(1); }

double ssw_model_step_flops(const ssw_model_t *M, int64_t n) {
  const double nm = (double)n * (double)M->m;
  /* two GEMMs of 2 n m d, two GEMVs of 2 n m, the G scaling n m */
  return 4.0 * nm * (double)M->d + 5.0 * nm;
}
