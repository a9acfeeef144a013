/* The activations of DESIGN.md §2 as inline functions on eight-lane vectors (simd_v8.h), for
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

#include "shallowsweep/model.h"

#include "simd_v8.h"

#define ACT_SQRT1_2 0.70710678118654752440          /* 1/sqrt(2) */
#define ACT_INV_SQRT_2PI 0.39894228040143267794     /* 1/sqrt(2 pi) */
#define ACT_TWO_OVER_SQRT_PI 1.12837916709551257390 /* 2/sqrt(pi) */

V8_SLEEF(v8_exp, exp, u10)
V8_SLEEF(v8_log1p, log1p, u10)
V8_SLEEF(v8_tanh, tanh, u35)
V8_SLEEF(v8_erf, erf, u10)
V8_SLEEF(v8_erfc, erfc, u15)

/* the activation's parameters: leaky_slope, ramp_width (ramp and smooth_step) */
typedef struct { double alpha, eta; } act_params_t;

V8_INLINE v8 v8_clip(v8 v, double lo, double hi) { /* v < lo ? lo : (v > hi ? hi : v) */
  return v8_sel_lt(v, v8_set1(lo), v8_set1(lo), v8_sel_gt(v, v8_set1(hi), v8_set1(hi), v));
}

/* the logistic (z >= 0 ? 1 : e) / (1 + e), e = e^-|z| */
V8_INLINE v8 v8_logistic(v8 z, v8 e) {
  return v8_div(v8_sel_ge(z, v8_zero(), v8_set1(1.0), e), v8_add(v8_set1(1.0), e));
}

/* smooth_step's derivative 12 t^2 / eta, t = max(min(u + 1/2, 1/2 - u), 0), u = z/eta */
V8_INLINE v8 v8_smooth_step_deriv(v8 z, double eta) {
  const v8 u = v8_div(z, v8_set1(eta)), left = v8_add(u, v8_set1(0.5)), right = v8_sub(v8_set1(0.5), u);
  v8 t = v8_sel_lt(left, right, left, right);
  t = v8_sel_gt(t, v8_zero(), t, v8_zero());
  return v8_div(v8_mul(v8_mul(v8_set1(12.0), t), t), v8_set1(eta));
}

/* h = sigma(z) and, if g != NULL, *g = sigma'(z) */
V8_INLINE v8 act_v8(ssw_activation_t act, act_params_t P, v8 z, v8 *g) {
  const v8 zero = v8_zero(), one = v8_set1(1.0);
  switch (act) {
  case SSW_ACT_RELU:
    if (g) *g = v8_sel_gt(z, zero, one, zero);
    return v8_sel_gt(z, zero, z, zero);
  case SSW_ACT_LEAKY_RELU:
    if (g) *g = v8_sel_gt(z, zero, one, v8_set1(P.alpha));
    return v8_sel_gt(z, zero, z, v8_mul(v8_set1(P.alpha), z));
  case SSW_ACT_QUADRATIC:
    if (g) *g = v8_mul(v8_set1(2.0), z);
    return v8_mul(z, z);
  case SSW_ACT_TANH: {
    const v8 h = v8_tanh(z);
    if (g) *g = v8_sub(one, v8_mul(h, h));
    return h;
  }
  case SSW_ACT_SOFTPLUS: { /* max(z, 0) + log1p(e^-|z|) */
    const v8 e = v8_exp(v8_neg(v8_abs(z)));
    if (g) *g = v8_logistic(z, e);
    return v8_add(v8_sel_gt(z, zero, z, zero), v8_log1p(e));
  }
  case SSW_ACT_SIGMOID: {
    const v8 h = v8_logistic(z, v8_exp(v8_neg(v8_abs(z))));
    if (g) *g = v8_mul(h, v8_sub(one, h));
    return h;
  }
  case SSW_ACT_ERF:
    if (g) *g = v8_mul(v8_exp(v8_mul(v8_neg(z), z)), v8_set1(ACT_TWO_OVER_SQRT_PI));
    return v8_erf(z);
  case SSW_ACT_GELU: { /* z Phi(z), Phi = erfc(-z/sqrt 2)/2; sigma' = Phi + z phi */
    const v8 cdf = v8_mul(v8_erfc(v8_mul(v8_neg(z), v8_set1(ACT_SQRT1_2))), v8_set1(0.5));
    if (g) {
      const v8 e = v8_exp(v8_mul(v8_mul(v8_set1(-0.5), z), z));
      *g = v8_add(cdf, v8_mul(v8_mul(z, v8_set1(ACT_INV_SQRT_2PI)), e));
    }
    return v8_mul(z, cdf);
  }
  case SSW_ACT_LINEAR:
    if (g) *g = one;
    return z;
  case SSW_ACT_RAMP: { /* clip(z/eta + 1/2, 0, 1), sigma' = |z/eta| < 1/2 ? 1/eta : 0 */
    const v8 u = v8_div(z, v8_set1(P.eta));
    if (g) *g = v8_sel_lt(v8_abs(u), v8_set1(0.5), v8_set1(1.0 / P.eta), zero);
    return v8_clip(v8_add(u, v8_set1(0.5)), 0.0, 1.0);
  }
  case SSW_ACT_SMOOTH_STEP: {
    const v8 u = v8_div(z, v8_set1(P.eta)), left = v8_add(u, v8_set1(0.5)), right = v8_sub(v8_set1(0.5), u);
    const v8 cl = v8_mul(v8_mul(v8_mul(v8_set1(4.0), left), left), left);
    const v8 cr = v8_mul(v8_mul(v8_mul(v8_set1(4.0), right), right), right);
    if (g) *g = v8_smooth_step_deriv(z, P.eta);
    return v8_add(v8_clip(cl, 0.0, 0.5), v8_clip(v8_sub(v8_set1(0.5), cr), 0.0, 0.5));
  }
  default:
    if (g) *g = v8_set1(NAN);
    return v8_set1(NAN);
  }
}

/* sigma'(z) given h = sigma(z) from act_v8, for the activations whose h is stored (model.c):
 * cheaper than from z alone (as act_simd.c's deriv_from_value) */
V8_INLINE v8 act_deriv_from_value_v8(ssw_activation_t act, act_params_t P, v8 z, v8 h) {
  const v8 one = v8_set1(1.0);
  switch (act) {
  case SSW_ACT_TANH:
    return v8_sub(one, v8_mul(h, h));
  case SSW_ACT_SIGMOID:
    return v8_mul(h, v8_sub(one, h));
  case SSW_ACT_SOFTPLUS: /* the logistic: one exp */
    return v8_logistic(z, v8_exp(v8_neg(v8_abs(z))));
  case SSW_ACT_GELU: { /* Phi = h / z (0.5 at z = 0), phi = e^(-z^2/2) / sqrt(2 pi) */
    const v8 e = v8_exp(v8_mul(v8_mul(v8_set1(-0.5), z), z));
    const v8 cdf = v8_sel_eq(z, v8_zero(), v8_set1(0.5), v8_div(h, z));
    return v8_add(cdf, v8_mul(v8_mul(z, v8_set1(ACT_INV_SQRT_2PI)), e));
  }
  case SSW_ACT_SMOOTH_STEP:
    return v8_smooth_step_deriv(z, P.eta);
  case SSW_ACT_ERF:
    return v8_mul(v8_exp(v8_mul(v8_neg(z), z)), v8_set1(ACT_TWO_OVER_SQRT_PI));
  default: {
    v8 g;
    (void)act_v8(act, P, z, &g);
    return g;
  }
  }
}

#endif
