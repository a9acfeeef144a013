/* The activations of DESIGN.md §2 as inline functions on vectors (simd_vec.h), for
 * the register-blocked fused kernel (fused_regs.c), which evaluates sigma and sigma' where z
 * is computed, in registers. Private to src/core.
 *
 * The formulas, their order of operations and the SLEEF functions are those of the array
 * kernels (act_simd.c) operation for operation, so sigma and sigma' have the same bits here as
 * there: the deterministic `finz` functions with FMA (the same bits at every vector width),
 * `cinz` on the baseline set; no a*b+c here is fused. `act` is a constant in each caller (the
 * kernel is specialized per activation), so the switches fold away. */
#ifndef SSW_CORE_ACT_INLINE_H
#define SSW_CORE_ACT_INLINE_H

#include <math.h>

#include "shallowsweep/model.h"

#include "simd_vec.h"

#define ACT_SQRT1_2 0.70710678118654752440          /* 1/sqrt(2) */
#define ACT_INV_SQRT_2PI 0.39894228040143267794     /* 1/sqrt(2 pi) */
#define ACT_TWO_OVER_SQRT_PI 1.12837916709551257390 /* 2/sqrt(pi) */

VD_SLEEF(vd_exp, exp, u10)
VD_SLEEF(vd_log1p, log1p, u10)
VD_SLEEF(vd_tanh, tanh, u35)
VD_SLEEF(vd_erf, erf, u10)
VD_SLEEF(vd_erfc, erfc, u15)

/* the activation's parameters: leaky_slope, ramp_width (ramp and smooth_step) */
typedef struct { double alpha, eta; } act_params_t;

VD_INLINE vd vd_clip(vd v, double lo, double hi) { /* v < lo ? lo : (v > hi ? hi : v) */
  return vd_sel_lt(v, vd_set1(lo), vd_set1(lo), vd_sel_gt(v, vd_set1(hi), vd_set1(hi), v));
}

/* the logistic (z >= 0 ? 1 : e) / (1 + e), e = e^-|z| */
VD_INLINE vd vd_logistic(vd z, vd e) {
  return vd_div(vd_sel_ge(z, vd_zero(), vd_set1(1.0), e), vd_add(vd_set1(1.0), e));
}

/* smooth_step's derivative 12 t^2 / eta, t = max(min(u + 1/2, 1/2 - u), 0), u = z/eta; the
 * divisions are products with 1/eta (a vector division costs several multiplications: smooth_step
 * ran at 3x relu's time per step), as in act.c's scalar twin */
VD_INLINE vd vd_smooth_step_deriv(vd z, double eta) {
  const vd inv = vd_set1(1.0 / eta);
  const vd u = vd_mul(z, inv), left = vd_add(u, vd_set1(0.5)), right = vd_sub(vd_set1(0.5), u);
  vd t = vd_sel_lt(left, right, left, right);
  t = vd_sel_gt(t, vd_zero(), t, vd_zero());
  return vd_mul(vd_mul(vd_mul(vd_set1(12.0), t), t), inv);
}

/* h = sigma(z) and, if g != NULL, *g = sigma'(z) */
VD_INLINE vd act_vd(ssw_activation_t act, act_params_t P, vd z, vd *g) {
  const vd zero = vd_zero(), one = vd_set1(1.0);
  switch (act) {
  case SSW_ACT_RELU:
    if (g) *g = vd_sel_gt(z, zero, one, zero);
    return vd_sel_gt(z, zero, z, zero);
  case SSW_ACT_LEAKY_RELU:
    if (g) *g = vd_sel_gt(z, zero, one, vd_set1(P.alpha));
    return vd_sel_gt(z, zero, z, vd_mul(vd_set1(P.alpha), z));
  case SSW_ACT_QUADRATIC:
    if (g) *g = vd_mul(vd_set1(2.0), z);
    return vd_mul(z, z);
  case SSW_ACT_TANH: {
    const vd h = vd_tanh(z);
    if (g) *g = vd_sub(one, vd_mul(h, h));
    return h;
  }
  case SSW_ACT_SOFTPLUS: { /* max(z, 0) + log1p(e^-|z|) */
    const vd e = vd_exp(vd_neg(vd_abs(z)));
    if (g) *g = vd_logistic(z, e);
    return vd_add(vd_sel_gt(z, zero, z, zero), vd_log1p(e));
  }
  case SSW_ACT_SIGMOID: {
    const vd h = vd_logistic(z, vd_exp(vd_neg(vd_abs(z))));
    if (g) *g = vd_mul(h, vd_sub(one, h));
    return h;
  }
  case SSW_ACT_ERF:
    if (g) *g = vd_mul(vd_exp(vd_mul(vd_neg(z), z)), vd_set1(ACT_TWO_OVER_SQRT_PI));
    return vd_erf(z);
  case SSW_ACT_GELU: { /* z Phi(z), Phi = erfc(-z/sqrt 2)/2; sigma' = Phi + z phi */
    const vd cdf = vd_mul(vd_erfc(vd_mul(vd_neg(z), vd_set1(ACT_SQRT1_2))), vd_set1(0.5));
    if (g) {
      const vd e = vd_exp(vd_mul(vd_mul(vd_set1(-0.5), z), z));
      *g = vd_add(cdf, vd_mul(vd_mul(z, vd_set1(ACT_INV_SQRT_2PI)), e));
    }
    return vd_mul(z, cdf);
  }
  case SSW_ACT_LINEAR:
    if (g) *g = one;
    return z;
  case SSW_ACT_RAMP: { /* clip(z/eta + 1/2, 0, 1), sigma' = |z/eta| < 1/2 ? 1/eta : 0 */
    const vd u = vd_mul(z, vd_set1(1.0 / P.eta));
    if (g) *g = vd_sel_lt(vd_abs(u), vd_set1(0.5), vd_set1(1.0 / P.eta), zero);
    return vd_clip(vd_add(u, vd_set1(0.5)), 0.0, 1.0);
  }
  case SSW_ACT_SMOOTH_STEP: {
    const vd u = vd_mul(z, vd_set1(1.0 / P.eta)), left = vd_add(u, vd_set1(0.5)), right = vd_sub(vd_set1(0.5), u);
    const vd cl = vd_mul(vd_mul(vd_mul(vd_set1(4.0), left), left), left);
    const vd cr = vd_mul(vd_mul(vd_mul(vd_set1(4.0), right), right), right);
    if (g) *g = vd_smooth_step_deriv(z, P.eta);
    return vd_add(vd_clip(cl, 0.0, 0.5), vd_clip(vd_sub(vd_set1(0.5), cr), 0.0, 0.5));
  }
  default:
    if (g) *g = vd_set1(NAN);
    return vd_set1(NAN);
  }
}

/* sigma'(z) given h = sigma(z) from act_vd, for the activations whose h is stored (model.c):
 * cheaper than from z alone (as act_simd.c's deriv_from_value) */
VD_INLINE vd act_deriv_from_value_vd(ssw_activation_t act, act_params_t P, vd z, vd h) {
  const vd one = vd_set1(1.0);
  switch (act) {
  case SSW_ACT_TANH:
    return vd_sub(one, vd_mul(h, h));
  case SSW_ACT_SIGMOID:
    return vd_mul(h, vd_sub(one, h));
  case SSW_ACT_SOFTPLUS: /* the logistic: one exp */
    return vd_logistic(z, vd_exp(vd_neg(vd_abs(z))));
  case SSW_ACT_GELU: { /* Phi = h / z (0.5 at z = 0), phi = e^(-z^2/2) / sqrt(2 pi) */
    const vd e = vd_exp(vd_mul(vd_mul(vd_set1(-0.5), z), z));
    const vd cdf = vd_sel_eq(z, vd_zero(), vd_set1(0.5), vd_div(h, z));
    return vd_add(cdf, vd_mul(vd_mul(z, vd_set1(ACT_INV_SQRT_2PI)), e));
  }
  case SSW_ACT_SMOOTH_STEP:
    return vd_smooth_step_deriv(z, P.eta);
  case SSW_ACT_ERF:
    return vd_mul(vd_exp(vd_mul(vd_neg(z), z)), vd_set1(ACT_TWO_OVER_SQRT_PI));
  default: {
    vd g;
    (void)act_vd(act, P, z, &g);
    return g;
  }
  }
}

#endif
