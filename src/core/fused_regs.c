/* The register-blocked fused loss-and-gradient kernel for small input dimensions (d <=
 * SSW_FUSED_MAX_DIM), compiled once per instruction set (src/core/meson.build). Shapes as in
 * model.h: n samples, d inputs, m hidden units; a block is L = 8 neurons, one eight-lane vector
 * (simd_v8.h), mb = ceil(m / L) blocks.
 *
 * With d this small the BLAS path's GEMMs have an inner dimension of d and cannot reach peak,
 * and Z (m, n) and G stream through memory between them. Here the lanes are neurons: a block's
 * W (d vectors), b and a stay in registers while the samples pass, each x_ik is broadcast once
 * and serves the whole block, z = W x_i + b, sigma and sigma' are evaluated in registers
 * (act_inline.h), and
 *   forward:  f_i += s a_j sigma(z_ij), lane-wise partial sums over the blocks;
 *   backward: G_ij = (s/n) a_j r_i sigma'(z_ij); grad a_j, grad b_j and the d entries of grad w_j
 *             accumulate in registers over all samples and are stored once per block.
 * z is recomputed in the backward (d fmas per vector: cheaper than storing and reading Z) and
 * written to ws->Z only when the caller keeps it (the trainer's record points). H is stored,
 * block by block (mb, n, L), for the activations whose sigma' is cheaper from sigma than sigma
 * itself (model.c, stores_h). Each pass is specialized for its activation and for d = 1..8.
 *
 * Bits. Lane l of a block always holds the same neuron on every set, and every sum runs in one
 * fixed order: grad w_jk, grad a_j and grad b_j over i = 0..n-1 one after the other (as the
 * plain loops do), f_i over the blocks in order within each of 8 lanes and then a fixed tree
 * of the 8. With FMA (avx512, avx2) every product-sum is one fma, so the two sets give the same
 * bits; baseline (no FMA) rounds a*b+c twice and differs in the last bits. */
#include <math.h>
#include <string.h>

#include "act_inline.h"
#include "act_simd.h"

#if defined(SSW_ISA_AVX512)
#define FUSED ssw_fused_loss_grad_avx512
#elif defined(SSW_ISA_AVX2)
#define FUSED ssw_fused_loss_grad_avx2
#else
#define FUSED ssw_fused_loss_grad_baseline
#endif

enum { L = V8_LANES };

#define KERNEL static inline __attribute__((always_inline))

/* One call's operands, the parameters by blocks of L neurons (a padding neuron has w, b, a = 0:
 * it adds exactly 0 to f and its gradient is never stored). */
typedef struct {
  ssw_activation_t act;
  act_params_t P;
  int64_t n, d, dp, m, mb; /* dp: d padded (ssw_fused_padded_dim) */
  const double *X;  /* (n, dp) row-major */
  const double *WT; /* (mb, dp, L): block jb's input k over its L neurons */
  const double *bT; /* (mb, L) */
  const double *aT; /* (mb, L) s a_j (forward) */
  const double *cT; /* (mb, L) (s/n) a_j (backward) */
  double *H;        /* (mb, n, L) sigma(Z) by blocks, or NULL when recomputed */
  double *Z;        /* (m, n) neuron-major, or NULL unless kept */
} fused_t;

/* z = b + sum_k w_k x_k, k in order (D: d, a constant in the specialized copies; w: D vectors
 * in the caller's local array, so that they stay in registers) */
KERNEL v8 preact(int64_t D, const v8 *w, v8 b, const double *x) {
  v8 z = b;
  for (int64_t k = 0; k < D; k++) z = v8_fma(w[k], v8_set1(x[k]), z);
  return z;
}

KERNEL void load_block_w(const fused_t *F, int64_t D, int64_t jb, v8 *w) {
  for (int64_t k = 0; k < D; k++) w[k] = v8_load(F->WT + (jb * D + k) * L);
}

/* lanes of v (L) into rows j0.. of a neuron-major (m, ld) array at column i, the real neurons only */
static void scatter_lanes(v8 v, int64_t j0, int64_t m, double *rows, int64_t ld, int64_t i) {
  double t[L];
  v8_store(t, v);
  for (int64_t l = 0; l < L && j0 + l < m; l++) rows[(j0 + l) * ld + i] = t[l];
}

/* forward over block jb: fpart (n, L) += s a sigma(z), lane-wise */
KERNEL void forward_block(const fused_t *F, int64_t D, int64_t jb, v8 *w, double *fpart) {
  load_block_w(F, D, jb, w);
  const v8 b = v8_load(F->bT + jb * L), sa = v8_load(F->aT + jb * L);
  double *Hb = F->H ? F->H + jb * F->n * L : NULL;
  for (int64_t i = 0; i < F->n; i++) {
    const v8 z = preact(D, w, b, F->X + i * D), h = act_v8(F->act, F->P, z, NULL);
    if (Hb) v8_store(Hb + i * L, h);
    if (F->Z) scatter_lanes(z, jb * L, F->m, F->Z, F->n, i);
    v8_store(fpart + i * L, v8_fma(sa, h, v8_load(fpart + i * L)));
  }
}

/* backward over block jb from r (n): grad a (times 1/c), grad b and grad W of its neurons, in
 * registers over all samples (gw: D vectors of the caller's, so that they stay registers) */
KERNEL void backward_block(const fused_t *F, int64_t D, int64_t jb, const double *r, unsigned groups, v8 *w,
                           v8 *gw, v8 *ga_out, v8 *gb_out) {
  const bool inner = groups & SSW_GROUP_INNER, bias = groups & SSW_GROUP_BIAS;
  const bool outer = groups & SSW_GROUP_OUTER, need_g = inner || bias;
  const double *Hb = F->H ? F->H + jb * F->n * L : NULL;
  load_block_w(F, D, jb, w);
  const v8 b = v8_load(F->bT + jb * L), ca = v8_load(F->cT + jb * L);
  v8 ga = v8_zero(), gb = v8_zero();
  for (int64_t k = 0; k < D; k++) gw[k] = v8_zero();
  for (int64_t i = 0; i < F->n; i++) {
    const double *x = F->X + i * D;
    const v8 z = preact(D, w, b, x), ri = v8_set1(r[i]);
    v8 h, g = v8_zero();
    if (Hb) {
      h = v8_load(Hb + i * L);
      if (need_g) g = act_deriv_from_value_v8(F->act, F->P, z, h);
    } else {
      h = act_v8(F->act, F->P, z, need_g ? &g : NULL);
    }
    if (outer) ga = v8_fma(ri, h, ga);
    if (!need_g) continue;
    const v8 gi = v8_mul(v8_mul(ca, ri), g); /* G_ij = ((s/n) a_j r_i) sigma'(z_ij) */
    if (bias) gb = v8_add(gb, gi);
    if (inner)
      for (int64_t k = 0; k < D; k++) gw[k] = v8_fma(gi, v8_set1(x[k]), gw[k]);
  }
  *ga_out = ga, *gb_out = gb;
}

/* the block's sums into grad (P): W rows, b and a (a scaled by c = s/n) */
KERNEL void store_block_grad(const fused_t *F, int64_t jb, const v8 *gw, v8 ga, v8 gb, unsigned groups, double c,
                             double *grad) {
  const int64_t m = F->m, d = F->d, j0 = jb * L, lanes = m - j0 < L ? m - j0 : L;
  double t[L];
  if (groups & SSW_GROUP_INNER)
    for (int64_t k = 0; k < d; k++) {
      v8_store(t, gw[k]);
      for (int64_t l = 0; l < lanes; l++) grad[(j0 + l) * d + k] = t[l];
    }
  if (groups & SSW_GROUP_BIAS) {
    v8_store(t, gb);
    for (int64_t l = 0; l < lanes; l++) grad[m * d + j0 + l] = t[l];
  }
  if (groups & SSW_GROUP_OUTER) {
    v8_store(t, ga);
    for (int64_t l = 0; l < lanes; l++) grad[m * d + m + j0 + l] = c * t[l];
  }
}

/* every block of one pass, for d = D (a constant up to 8, else d itself, up to
 * SSW_FUSED_DIM_LIMIT: measurements only). The per-block vectors live in arrays of a constant
 * size, so that for D <= 8 the compiler keeps them in registers. */
KERNEL void forward_d(const fused_t *F, int64_t D, double *fpart) {
  if (D <= 8) {
    v8 w[8];
    for (int64_t jb = 0; jb < F->mb; jb++) forward_block(F, D, jb, w, fpart);
  } else {
    v8 w[SSW_FUSED_DIM_LIMIT];
    for (int64_t jb = 0; jb < F->mb; jb++) forward_block(F, D, jb, w, fpart);
  }
}

KERNEL void backward_blocks(const fused_t *F, int64_t D, const double *r, unsigned groups, double c, v8 *w, v8 *gw,
                            double *grad) {
  for (int64_t jb = 0; jb < F->mb; jb++) {
    v8 ga, gb;
    backward_block(F, D, jb, r, groups, w, gw, &ga, &gb);
    store_block_grad(F, jb, gw, ga, gb, groups, c, grad);
  }
}

KERNEL void backward_d(const fused_t *F, int64_t D, const double *r, unsigned groups, double c, double *grad) {
  if (D <= 8) {
    v8 w[8], gw[8];
    backward_blocks(F, D, r, groups, c, w, gw, grad);
  } else {
    v8 w[SSW_FUSED_DIM_LIMIT], gw[SSW_FUSED_DIM_LIMIT];
    backward_blocks(F, D, r, groups, c, w, gw, grad);
  }
}

/* d padded to D = 2, 4 or 8 (zero weights and inputs: fma(0, 0, z) is z, so the bits are
 * those of d), each a constant; beyond 8 d itself */
#define SWITCH_D(CALL)                                                                                           \
  switch (F->dp) {                                                                                               \
  case 2: CALL(2); break;                                                                                        \
  case 4: CALL(4); break;                                                                                        \
  case 8: CALL(8); break;                                                                                        \
  default: CALL(F->dp);                                                                                          \
  }

/* one pass for activation ACT (a constant), every d */
KERNEL void forward_act(const fused_t *F, ssw_activation_t act, double *fpart) {
  fused_t G = *F;
  G.act = act;
#define FWD(D) forward_d(&G, D, fpart)
  SWITCH_D(FWD)
#undef FWD
}

KERNEL void backward_act(const fused_t *F, ssw_activation_t act, const double *r, unsigned groups, double c,
                         double *grad) {
  fused_t G = *F;
  G.act = act;
#define BWD(D) backward_d(&G, D, r, groups, c, grad)
  SWITCH_D(BWD)
#undef BWD
}

/* The one switch over activations of each pass: a copy of the pass per activation */
#define SWITCH_ACT(CALL)                                                                                         \
  switch (F->act) {                                                                                              \
  case SSW_ACT_RELU: CALL(SSW_ACT_RELU); break;                                                                 \
  case SSW_ACT_LEAKY_RELU: CALL(SSW_ACT_LEAKY_RELU); break;                                                     \
  case SSW_ACT_QUADRATIC: CALL(SSW_ACT_QUADRATIC); break;                                                       \
  case SSW_ACT_TANH: CALL(SSW_ACT_TANH); break;                                                                 \
  case SSW_ACT_SOFTPLUS: CALL(SSW_ACT_SOFTPLUS); break;                                                         \
  case SSW_ACT_SIGMOID: CALL(SSW_ACT_SIGMOID); break;                                                           \
  case SSW_ACT_ERF: CALL(SSW_ACT_ERF); break;                                                                   \
  case SSW_ACT_GELU: CALL(SSW_ACT_GELU); break;                                                                 \
  case SSW_ACT_LINEAR: CALL(SSW_ACT_LINEAR); break;                                                             \
  case SSW_ACT_RAMP: CALL(SSW_ACT_RAMP); break;                                                                 \
  case SSW_ACT_SMOOTH_STEP: CALL(SSW_ACT_SMOOTH_STEP); break;                                                   \
  default: CALL(F->act);                                                                                         \
  }

static void forward(const fused_t *F, double *fpart) {
#define FWD_ACT(A) forward_act(F, A, fpart)
  SWITCH_ACT(FWD_ACT)
#undef FWD_ACT
}

static void backward(const fused_t *F, const double *r, unsigned groups, double c, double *grad) {
#define BWD_ACT(A) backward_act(F, A, r, groups, c, grad)
  SWITCH_ACT(BWD_ACT)
#undef BWD_ACT
}

/* W, b, s a and (s/n) a by blocks of L neurons into pack ((dp + 3) mb L), zero-padded */
static void pack_params(const ssw_model_t *M, const double *theta, int64_t n, fused_t *F, double *pack) {
  const int64_t m = M->m, d = M->d, dp = F->dp, mb = F->mb;
  const double *W = theta, *b = theta + m * d, *a = theta + m * d + m, c = M->s / (double)n;
  double *WT = pack, *bT = WT + mb * dp * L, *aT = bT + mb * L, *cT = aT + mb * L;
  memset(pack, 0, (size_t)(mb * L * (dp + 3)) * sizeof *pack);
  for (int64_t j = 0; j < m; j++) {
    const int64_t jb = j / L, l = j % L;
    for (int64_t k = 0; k < d; k++) WT[(jb * dp + k) * L + l] = W[j * d + k];
    bT[j] = M->bias ? b[j] : 0.0;
    aT[j] = M->s * a[j];
    cT[j] = c * a[j];
  }
  F->WT = WT, F->bT = bT, F->aT = aT, F->cT = cT;
}

/* the 8 lanes of each fpart row summed by a fixed tree: f (n) */
static void join_lanes(int64_t n, const double *fpart, double *f) {
  for (int64_t i = 0; i < n; i++) {
    const double *p = fpart + i * L;
    f[i] = ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
  }
}

/* sum_i r_i^2 in 8 lanes (i mod 8), joined by the same tree */
static double sum_squares(int64_t n, const double *r) {
  double acc[L] = {0};
  int64_t i = 0;
  v8 s = v8_zero();
  for (; i + L <= n; i += L) {
    const v8 v = v8_load(r + i);
    s = v8_fma(v, v, s);
  }
  v8_store(acc, s);
  for (int64_t l = 0; i < n; i++, l++) acc[l] = fma(r[i], r[i], acc[l]);
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

void FUSED(const ssw_model_t *M, const double *theta, int64_t n, const double *X, const double *y, unsigned groups,
           bool stores_h, double *grad, ssw_workspace_t *ws, double *loss) {
  const int64_t d = M->d, dp = ssw_fused_padded_dim(d);
  fused_t F = {.act = M->act, .P = {.alpha = M->leaky_slope, .eta = M->ramp_width}, .n = n, .d = d, .dp = dp,
               .m = M->m, .mb = (M->m + L - 1) / L, .X = X, .H = stores_h ? ws->H : NULL,
               .Z = ws->keep_z ? ws->Z : NULL};
  if (dp != d) { /* the inputs padded with zeros: XP (n, dp) */
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < dp; k++) ws->XP[i * dp + k] = k < d ? X[i * d + k] : 0.0;
    F.X = ws->XP;
  }
  pack_params(M, theta, n, &F, ws->pack);
  double *fpart = ws->fpart, *r = ws->r; /* (n, L), (n) */
  memset(fpart, 0, (size_t)(n * L) * sizeof *fpart);
  forward(&F, fpart);
  join_lanes(n, fpart, r);
  for (int64_t i = 0; i < n; i++) r[i] -= y[i];
  *loss = sum_squares(n, r) / (2.0 * (double)n);
  if (!grad) return;
  memset(grad, 0, (size_t)ssw_theta_size(M) * sizeof *grad);
  if (!M->bias) groups &= ~(unsigned)SSW_GROUP_BIAS;
  F.Z = NULL;
  backward(&F, r, groups, M->s / (double)n, grad);
}
