/* The register-blocked fused loss-and-gradient kernel for small input dimensions (d <=
 * SSW_FUSED_MAX_DIM), compiled once per instruction set (src/core/meson.build). Shapes as in
 * model.h: n samples, d inputs, m hidden units; a block is L = 8 neurons (one AVX-512 vector,
 * two AVX2 ones: simd_vec.h), mb = ceil(m / L) blocks.
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
 * itself (model.c, stores_h). Each pass is specialized for its activation and for d padded to
 * 2, 4, 8 or 16. This file holds the forward and the driver, fused_back.c the backward; both take
 * a block VD_LANES neurons at a time, so that the weights and sums of those stay in registers
 * (AVX2 has 16). The lanes of f's partial sums are those of the block, on every set.
 *
 * Bits. Lane l of a block always holds the same neuron on every set, and every sum runs in one
 * fixed order: grad w_jk, grad a_j and grad b_j over i = 0..n-1 one after the other (as the
 * plain loops do), f_i over the blocks in order within each of the block's 8 lanes and then
 * a fixed tree of the 8. With FMA (avx512, avx2) every product-sum is one fma, so the two sets give the same
 * bits; baseline (no FMA) rounds a*b+c twice and differs in the last bits. */
#include <math.h>
#include <string.h>

#include "act_simd.h"
#include "fused_regs.h"

#if defined(SSW_ISA_AVX512)
#define FUSED ssw_fused_loss_grad_avx512
#elif defined(SSW_ISA_AVX2)
#define FUSED ssw_fused_loss_grad_avx2
#else
#define FUSED ssw_fused_loss_grad_baseline
#endif

enum { L = FUSED_BLOCK };

#if defined(SSW_ISA_AVX512) || defined(SSW_ISA_AVX2)
#define MADD(a, b, c) fma((a), (b), (c))
#else
#define MADD(a, b, c) ((a) * (b) + (c))
#endif

/* lanes of v (VD_LANES) into rows j0.. of a neuron-major (m, ld) array at column i, the real
 * neurons only */
static void scatter_lanes(vd v, int64_t j0, int64_t m, double *rows, int64_t ld, int64_t i) {
  double t[VD_LANES];
  vd_store(t, v);
  for (int64_t l = 0; l < VD_LANES && j0 + l < m; l++) rows[(j0 + l) * ld + i] = t[l];
}

/* forward over neurons lane0.. of block jb: fpart (n, L) += s a sigma(z) in those lanes (lane l
 * of fpart sums neurons l, l + 8, ... in order, whatever the vector width) */
KERNEL void forward_sub(const fused_t *F, int64_t D, int64_t jb, int64_t lane0, vd *w, double *fpart) {
  load_w(F, D, jb, lane0, w);
  const vd b = vd_load(F->bT + jb * L + lane0), sa = vd_load(F->aT + jb * L + lane0);
  double *Hb = F->H ? F->H + jb * F->n * L + lane0 : NULL, *fp = fpart + lane0;
  for (int64_t i = 0; i < F->n; i++) {
    const vd z = preact(D, w, b, F->X + i * D), h = act_vd(F->act, F->P, z, NULL);
    if (Hb) vd_store(Hb + i * L, h);
    if (F->Z) scatter_lanes(z, jb * L + lane0, F->m, F->Z, F->n, i);
    vd_store(fp + i * L, vd_fma(sa, h, vd_load(fp + i * L)));
  }
}

KERNEL void forward_subs(const fused_t *F, int64_t D, vd *w, double *fpart) {
  for (int64_t jb = 0; jb < F->mb; jb++)
    for (int64_t lane0 = 0; lane0 < L && jb * L + lane0 < F->m; lane0 += VD_LANES)
      forward_sub(F, D, jb, lane0, w, fpart);
}

/* every block of one pass, for dp = D (a constant up to 16, else dp itself, up to
 * SSW_FUSED_DIM_LIMIT: measurements only). The weights live in an array of a constant size,
 * so that for D <= 16 the compiler keeps them in registers (spilling some at 16). */
KERNEL void forward_d(const fused_t *F, int64_t D, double *fpart) {
  if (D <= 8) {
    vd w[8];
    forward_subs(F, D, w, fpart);
  } else if (D <= 16) {
    vd w[16];
    forward_subs(F, D, w, fpart);
  } else {
    vd w[SSW_FUSED_DIM_LIMIT];
    forward_subs(F, D, w, fpart);
  }
}

/* one pass for activation ACT (a constant), every d */
KERNEL void forward_act(const fused_t *F, ssw_activation_t act, double *fpart) {
  fused_t G = *F;
  G.act = act;
#define FWD(D) forward_d(&G, D, fpart)
  SWITCH_D(FWD)
#undef FWD
}

static void forward(const fused_t *F, double *fpart) {
#define FWD_ACT(A) forward_act(F, A, fpart)
  SWITCH_ACT(FWD_ACT)
#undef FWD_ACT
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

/* sum_i r_i^2 in 8 partial sums (i mod 8), joined by the same tree */
static double sum_squares(int64_t n, const double *r) {
  double acc[L] = {0};
  for (int64_t i = 0; i < n; i++) acc[i % L] = MADD(r[i], r[i], acc[i % L]);
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
  FUSED_BACKWARD(&F, r, groups, M->s / (double)n, grad);
}
