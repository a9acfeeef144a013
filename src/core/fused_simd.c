/* The fused loss-and-gradient kernel for small input dimensions (d <= SSW_FUSED_MAX_DIM),
 * compiled once per instruction set beside act_simd.c. Shapes as in model.h: n samples, d
 * inputs, m hidden units; C = CHUNK samples at a time.
 *
 * With d this small the BLAS path's GEMMs have an inner dimension of d and cannot reach peak,
 * and Z (m, n) and G stream through memory between them. Here each chunk of samples stays in
 * L1 while every neuron passes over it: z = W_j X_c^T + b_j from the transposed inputs, then
 * sigma, then (forward) f_c += s a_j h, or (backward) G = (s/n) a_j r .* sigma'(z) and the
 * chunk's contributions to grad a_j, b_j and W_j. Z is recomputed in the backward (2d flops
 * per element: cheaper than writing and reading it), and stored only when the caller keeps it
 * (ws->keep_z: the trainer's record points). H is stored for the activations that store it
 * (model.c, stores_h), whose sigma' is cheaper from sigma than sigma itself.
 *
 * Same bits on every instruction set with FMA: every product-sum is an fma in a fixed order,
 * and every reduction over samples runs in LANES fixed partial sums, combined in a fixed tree,
 * whatever the vector width the compiler uses for them. The baseline set (no FMA) rounds
 * a*b+c twice and so differs in the last bits. */
#include <math.h>
#include <string.h>

#include "act_simd.h"

#if defined(SSW_ISA_AVX512)
#define FUSED ssw_fused_loss_grad_avx512
#define MADD(a, b, c) fma((a), (b), (c))
#elif defined(SSW_ISA_AVX2)
#define FUSED ssw_fused_loss_grad_avx2
#define MADD(a, b, c) fma((a), (b), (c))
#else
#define FUSED ssw_fused_loss_grad_baseline
#define MADD(a, b, c) ((a) * (b) + (c))
#endif

/* CHUNK is a multiple of LANES. LANES partial sums break a reduction's dependency chain (an
 * fma's latency is 4 cycles) into independent ones. */
enum { CHUNK = 256, LANES = 32 };

/* z_i = b + sum_k w_k x_ik for BLK samples at once, held in registers across k (KD: the
 * number of inputs, a constant in the specialized copies below so that k unrolls) */
#define PREACT_BLOCK(BLK, KD)                                                                        \
  for (; i + (BLK) <= count; i += (BLK)) {                                                         \
    double acc[BLK];                                                                                 \
    for (int l = 0; l < (BLK); l++) acc[l] = b;                                                      \
    for (int64_t k = 0; k < (KD); k++) {                                                             \
      const double wk = w[k], *x = xt + k * ld + i;                                                  \
      for (int l = 0; l < (BLK); l++) acc[l] = MADD(wk, x[l], acc[l]);                               \
    }                                                                                                \
    for (int l = 0; l < (BLK); l++) z[i + l] = acc[l];                                               \
  }
#define PREACT(KD)                                                                                   \
  {                                                                                                  \
    int64_t i = 0;                                                                                   \
    PREACT_BLOCK(32, KD) /* 4 AVX-512 or 8 AVX2 accumulators: enough to hide the fma latency */      \
    PREACT_BLOCK(8, KD)                                                                              \
    PREACT_BLOCK(1, KD)                                                                              \
    return;                                                                                          \
  }

/* z (count) = b + w . x_i for the chunk, x transposed: xt (d, ld). Every element sums b, then
 * k = 0..d-1 in order, in whichever block it falls: the same bits for any count. */
static void preact(int64_t d, const double *w, double b, const double *xt, int64_t ld, int64_t count, double *z) {
  switch (d) {
  case 1: PREACT(1)
  case 2: PREACT(2)
  case 3: PREACT(3)
  case 4: PREACT(4)
  case 5: PREACT(5)
  case 6: PREACT(6)
  case 7: PREACT(7)
  case 8: PREACT(8)
  default: PREACT(d)
  }
}

/* the sums of acc (32 or 8 partial sums) by halving: a fixed tree, constant trip counts */
static double tree32(double *acc) {
  for (int l = 0; l < 16; l++) acc[l] += acc[l + 16];
  for (int l = 0; l < 8; l++) acc[l] += acc[l + 8];
  for (int l = 0; l < 4; l++) acc[l] += acc[l + 4];
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

static double tree8(double *acc) {
  for (int l = 0; l < 4; l++) acc[l] += acc[l + 4];
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

static double dot_lanes(const double *u, const double *v, int64_t count) {
  double acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= count; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] = MADD(u[i + l], v[i + l], acc[l]);
  for (int l = 0; i < count; i++, l++) acc[l] = MADD(u[i], v[i], acc[l]);
  return tree32(acc);
}

static double sum_lanes(const double *u, int64_t count) {
  double acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= count; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += u[i + l];
  for (int l = 0; i < count; i++, l++) acc[l] += u[i];
  return tree32(acc);
}

/* gw (KD) += sum_i g_i x_i: the KD sums side by side in 8 partial sums each (KD independent
 * chains), for a constant KD <= 8 */
#define ADD_GX(KD)                                                                                   \
  {                                                                                                  \
    double acc[KD][8];                                                                               \
    for (int64_t k = 0; k < (KD); k++)                                                               \
      for (int l = 0; l < 8; l++) acc[k][l] = 0.0;                                                   \
    int64_t i = 0;                                                                                   \
    for (; i + 8 <= count; i += 8)                                                                   \
      for (int64_t k = 0; k < (KD); k++)                                                             \
        for (int l = 0; l < 8; l++) acc[k][l] = MADD(g[i + l], xt[k * ld + i + l], acc[k][l]);      \
    for (int l = 0; i < count; i++, l++)                                                             \
      for (int64_t k = 0; k < (KD); k++) acc[k][l] = MADD(g[i], xt[k * ld + i], acc[k][l]);         \
    for (int64_t k = 0; k < (KD); k++) gw[k] += tree8(acc[k]);                                       \
    return;                                                                                          \
  }

/* gw (d) += sum_i g_i x_i over the chunk, x transposed (xt (d, ld)) */
static void add_gx(int64_t d, const double *g, const double *xt, int64_t ld, int64_t count, double *gw) {
  switch (d) {
  case 1: ADD_GX(1)
  case 2: ADD_GX(2)
  case 3: ADD_GX(3)
  case 4: ADD_GX(4)
  case 5: ADD_GX(5)
  case 6: ADD_GX(6)
  case 7: ADD_GX(7)
  case 8: ADD_GX(8)
  default: /* beyond the fused kernel's range (measurements only): one sum at a time */
    for (int64_t k = 0; k < d; k++) gw[k] += dot_lanes(g, xt + k * ld, count);
  }
}

/* f (n) = s sum_j a_j sigma(z_j); keeps Z and H rows in ws when asked. */
static void forward(const ssw_model_t *M, const double *theta, int64_t n, const double *xt, bool stores_h,
                    ssw_workspace_t *ws, double *f) {
  const int64_t m = M->m, d = M->d;
  const double *W = theta, *b = theta + m * d, *a = theta + m * d + m;
  double z[CHUNK], h[CHUNK];
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    const int64_t c = n - i0 < CHUNK ? n - i0 : CHUNK;
    double *fc = f + i0;
    for (int64_t i = 0; i < c; i++) fc[i] = 0.0;
    for (int64_t j = 0; j < m; j++) {
      preact(d, W + j * d, M->bias ? b[j] : 0.0, xt + i0, n, c, z);
      if (ws->keep_z) memcpy(ws->Z + j * n + i0, z, (size_t)c * sizeof *z);
      double *hj = stores_h ? ws->H + j * n + i0 : h;
      ssw_act_kernels()->apply(M, c, z, hj, NULL);
      const double sa = M->s * a[j];
      for (int64_t i = 0; i < c; i++) fc[i] = MADD(sa, hj[i], fc[i]);
    }
  }
}

/* grad (P) over groups from r (n): each chunk's contributions, summed over the chunk in lanes,
 * added to grad in chunk order (grad a_j collects sum r h and is scaled by s/n at the end). */
static void backward(const ssw_model_t *M, const double *theta, int64_t n, const double *xt, const double *r,
                     unsigned groups, bool stores_h, ssw_workspace_t *ws, double *grad) {
  const int64_t m = M->m, d = M->d;
  const double *W = theta, *b = theta + m * d, *a = theta + m * d + m, c = M->s / (double)n;
  double *gW = grad, *gb = grad + m * d, *ga = grad + m * d + m;
  const bool inner = groups & SSW_GROUP_INNER, bias = (groups & SSW_GROUP_BIAS) && M->bias;
  const bool outer = groups & SSW_GROUP_OUTER, need_g = inner || bias;
  double z[CHUNK], h[CHUNK], g[CHUNK];
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    const int64_t cnt = n - i0 < CHUNK ? n - i0 : CHUNK;
    const double *rc = r + i0;
    for (int64_t j = 0; j < m; j++) {
      preact(d, W + j * d, M->bias ? b[j] : 0.0, xt + i0, n, cnt, z);
      const double *hj = h;
      if (stores_h) {
        hj = ws->H + j * n + i0;
        if (need_g) ssw_act_kernels()->deriv_from_value(M, cnt, z, hj, g);
      } else {
        ssw_act_kernels()->apply(M, cnt, z, h, need_g ? g : NULL);
      }
      if (outer) ga[j] += dot_lanes(rc, hj, cnt);
      if (!need_g) continue;
      const double ca = c * a[j];
      for (int64_t i = 0; i < cnt; i++) g[i] = ca * rc[i] * g[i];
      if (bias) gb[j] += sum_lanes(g, cnt);
      if (inner) add_gx(d, g, xt + i0, n, cnt, gW + j * d);
    }
  }
  if (outer)
    for (int64_t j = 0; j < m; j++) ga[j] *= c;
}

void FUSED(const ssw_model_t *M, const double *theta, int64_t n, const double *X, const double *y, unsigned groups,
           bool stores_h, double *grad, ssw_workspace_t *ws, double *loss) {
  const int64_t d = M->d;
  double *xt = ws->XT, *r = ws->r; /* (d, n), (n) */
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < d; k++) xt[k * n + i] = X[i * d + k];
  forward(M, theta, n, xt, stores_h, ws, r);
  for (int64_t i = 0; i < n; i++) r[i] -= y[i];
  *loss = dot_lanes(r, r, n) / (2.0 * (double)n);
  if (!grad) return;
  memset(grad, 0, (size_t)ssw_theta_size(M) * sizeof *grad);
  backward(M, theta, n, xt, r, groups, stores_h, ws, grad);
}
