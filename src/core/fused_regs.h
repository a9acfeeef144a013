/* The register-blocked fused kernel's shared parts (fused_regs.c: forward and driver, eight
 * lanes; fused_back.c: backward, the set's native width), compiled once per instruction set.
 * Private to src/core. Shapes as in model.h; a block is FUSED_BLOCK = 8 neurons. */
#ifndef SSW_CORE_FUSED_REGS_H
#define SSW_CORE_FUSED_REGS_H

#include "act_inline.h"

enum { FUSED_BLOCK = 8 };

#define KERNEL static inline __attribute__((always_inline))

/* One call's operands, the parameters by blocks of FUSED_BLOCK neurons (a padding neuron has
 * w, b, a = 0: it adds exactly 0 to f and its gradient is never stored). */
typedef struct {
  ssw_activation_t act;
  act_params_t P;
  int64_t n, d, dp, m, mb; /* dp: d padded (ssw_fused_padded_dim); mb = ceil(m / FUSED_BLOCK) */
  const double *X;         /* (n, dp) row-major */
  const double *WT;        /* (mb, dp, FUSED_BLOCK): block jb's input k over its neurons */
  const double *bT;        /* (mb, FUSED_BLOCK) */
  const double *aT;        /* (mb, FUSED_BLOCK) s a_j (forward) */
  const double *cT;        /* (mb, FUSED_BLOCK) (s/n) a_j (backward) */
  double *H;               /* (mb, n, FUSED_BLOCK) sigma(Z) by blocks, or NULL when recomputed */
  double *Z;               /* (m, n) neuron-major, or NULL unless kept */
} fused_t;

/* z = b + sum_k w_k x_k, k in order (D: dp, a constant in the specialized copies; w: D vectors
 * in the caller's local array, so that they stay in registers) */
KERNEL vd preact(int64_t D, const vd *w, vd b, const double *x) {
  vd z = b;
  for (int64_t k = 0; k < D; k++) z = vd_fma(w[k], vd_set1(x[k]), z);
  return z;
}

/* w (D) = the weights of neurons j0..j0+VD_LANES-1 (j0 within block jb) */
KERNEL void load_w(const fused_t *F, int64_t D, int64_t jb, int64_t lane0, vd *w) {
  for (int64_t k = 0; k < D; k++) w[k] = vd_load(F->WT + (jb * D + k) * FUSED_BLOCK + lane0);
}

/* d padded to D = 2, 4, 8 or 16 (zero weights and inputs: fma(0, 0, z) is z, so the bits are
 * those of d), each a constant; beyond 16 (measurements only) dp itself */
#define SWITCH_D(CALL)                                                                                           \
  switch (F->dp) {                                                                                               \
  case 2: CALL(2); break;                                                                                        \
  case 4: CALL(4); break;                                                                                        \
  case 8: CALL(8); break;                                                                                        \
  case 16: CALL(16); break;                                                                                      \
  default: CALL(F->dp);                                                                                          \
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

/* The backward of each set (fused_back.c): grad (P, zeroed by the caller) over groups from the
 * residuals r (n); c = s/n. */
#if defined(SSW_ISA_AVX512)
#define FUSED_BACKWARD ssw_fused_backward_avx512
#elif defined(SSW_ISA_AVX2)
#define FUSED_BACKWARD ssw_fused_backward_avx2
#else
#define FUSED_BACKWARD ssw_fused_backward_baseline
#endif
void FUSED_BACKWARD(const fused_t *F, const double *r, unsigned groups, double c, double *grad);

#endif
