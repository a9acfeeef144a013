/* The backward pass of the register-blocked fused kernel (fused_regs.h), compiled once per
 * instruction set: vectors of the set's own width (8 lanes with AVX-512, 4 with AVX2, 2 on
 * baseline), each block of 8 neurons taken VD_LANES at a time, so that a
 * sub-block's weights and gradient sums stay in registers (AVX2 has 16). Every sum here is
 * lane-wise, one neuron per lane, so the width does not change a bit:
 *   G_ij = ((s/n) a_j r_i) sigma'(z_ij),  grad a_j = (s/n) sum_i r_i sigma(z_ij),
 *   grad b_j = sum_i G_ij,  grad w_jk = sum_i G_ij x_ik,
 * each over i = 0..n-1 in order, as the plain loops sum. z is recomputed (d fmas per vector:
 * cheaper than writing and reading Z); sigma comes from H where it is stored. */
#include "fused_regs.h"

/* the sums of neurons lane0.. of block jb over all samples, in registers (w, gw: D vectors of
 * the caller's) */
KERNEL void backward_sub(const fused_t *F, int64_t D, int64_t jb, int64_t lane0, const double *r, unsigned groups,
                         vd *w, vd *gw, vd *ga_out, vd *gb_out) {
  const bool inner = groups & SSW_GROUP_INNER, bias = groups & SSW_GROUP_BIAS;
  const bool outer = groups & SSW_GROUP_OUTER, need_g = inner || bias;
  const double *Hb = F->H ? F->H + jb * F->n * FUSED_BLOCK + lane0 : NULL;
  load_w(F, D, jb, lane0, w);
  const vd b = vd_load(F->bT + jb * FUSED_BLOCK + lane0), ca = vd_load(F->cT + jb * FUSED_BLOCK + lane0);
  vd ga = vd_zero(), gb = vd_zero();
  for (int64_t k = 0; k < D; k++) gw[k] = vd_zero();
  for (int64_t i = 0; i < F->n; i++) {
    const double *x = F->X + i * D;
    const vd z = preact(D, w, b, x), ri = vd_set1(r[i]);
    vd h, g = vd_zero();
    if (Hb) {
      h = vd_load(Hb + i * FUSED_BLOCK);
      if (need_g) g = act_deriv_from_value_vd(F->act, F->P, z, h);
    } else {
      h = act_vd(F->act, F->P, z, need_g ? &g : NULL);
    }
    if (outer) ga = vd_fma(ri, h, ga);
    if (!need_g) continue;
    const vd gi = vd_mul(vd_mul(ca, ri), g);
    if (bias) gb = vd_add(gb, gi);
    if (inner)
      for (int64_t k = 0; k < D; k++) gw[k] = vd_fma(gi, vd_set1(x[k]), gw[k]);
  }
  *ga_out = ga, *gb_out = gb;
}

/* the sub-block's sums into grad (P): W rows, b and a (a scaled by c = s/n), real neurons only */
KERNEL void store_sub(const fused_t *F, int64_t j0, const vd *gw, vd ga, vd gb, unsigned groups, double c,
                      double *grad) {
  const int64_t m = F->m, d = F->d, lanes = m - j0 < VD_LANES ? m - j0 : VD_LANES;
  double t[VD_LANES];
  if (groups & SSW_GROUP_INNER)
    for (int64_t k = 0; k < d; k++) {
      vd_store(t, gw[k]);
      for (int64_t l = 0; l < lanes; l++) grad[(j0 + l) * d + k] = t[l];
    }
  if (groups & SSW_GROUP_BIAS) {
    vd_store(t, gb);
    for (int64_t l = 0; l < lanes; l++) grad[m * d + j0 + l] = t[l];
  }
  if (groups & SSW_GROUP_OUTER) {
    vd_store(t, ga);
    for (int64_t l = 0; l < lanes; l++) grad[m * d + m + j0 + l] = c * t[l];
  }
}

KERNEL void backward_subs(const fused_t *F, int64_t D, const double *r, unsigned groups, double c, vd *w, vd *gw,
                          double *grad) {
  for (int64_t jb = 0; jb < F->mb; jb++)
    for (int64_t lane0 = 0; lane0 < FUSED_BLOCK && jb * FUSED_BLOCK + lane0 < F->m; lane0 += VD_LANES) {
      vd ga, gb;
      backward_sub(F, D, jb, lane0, r, groups, w, gw, &ga, &gb);
      store_sub(F, jb * FUSED_BLOCK + lane0, gw, ga, gb, groups, c, grad);
    }
}

/* for dp = D: arrays of a constant size, so that for D <= 16 they are registers (AVX2 spills some) */
KERNEL void backward_d(const fused_t *F, int64_t D, const double *r, unsigned groups, double c, double *grad) {
  if (D <= 8) {
    vd w[8], gw[8];
    backward_subs(F, D, r, groups, c, w, gw, grad);
  } else if (D <= 16) {
    vd w[16], gw[16];
    backward_subs(F, D, r, groups, c, w, gw, grad);
  } else {
    vd w[SSW_FUSED_DIM_LIMIT], gw[SSW_FUSED_DIM_LIMIT];
    backward_subs(F, D, r, groups, c, w, gw, grad);
  }
}

KERNEL void backward_act(const fused_t *F, ssw_activation_t act, const double *r, unsigned groups, double c,
                         double *grad) {
  fused_t G = *F;
  G.act = act;
#define BWD(D) backward_d(&G, D, r, groups, c, grad)
  SWITCH_D(BWD)
#undef BWD
}

void FUSED_BACKWARD(const fused_t *F, const double *r, unsigned groups, double c, double *grad) {
#define BWD_ACT(A) backward_act(F, A, r, groups, c, grad)
  SWITCH_ACT(BWD_ACT)
#undef BWD_ACT
}
