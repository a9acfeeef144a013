/* The activations σ of DESIGN.md §2: the scalar twin on libm, and the array entry points
 * that run the vectorized kernels (act_simd.c) of the instruction set simd.c chose. */
#include "shallowsweep/model.h"

#include <math.h>

#include "act_simd.h"

#define SQRT1_2 0.70710678118654752440     /* 1/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
#define TWO_OVER_SQRT_PI 1.12837916709551257390

static double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

static double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

/* smooth_step, u = z / eta: clip(4(u+1/2)^3, 0, 1/2) + clip(1/2 - 4(1/2-u)^3, 0, 1/2). */
static double smooth_step(double u) {
  double left = u + 0.5, right = 0.5 - u;
  return clip(4.0 * left * left * left, 0.0, 0.5) + clip(0.5 - 4.0 * right * right * right, 0.0, 0.5);
}

static double smooth_step_deriv(double u) { /* d/du; the caller divides by eta */
  if (u <= -0.5 || u >= 0.5) return 0.0;
  double t = u < 0 ? u + 0.5 : 0.5 - u;
  return 12.0 * t * t;
}

/* The scalar twin over an array, libm's functions: what ssw_act and ssw_act_deriv evaluate and
 * what the vectorized kernels are held to. */
void ssw_act_apply_scalar(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g) {
  const double alpha = M->leaky_slope, eta = M->ramp_width;
  switch (M->act) {
  case SSW_ACT_RELU:
    for (int64_t i = 0; i < count; i++) h[i] = z[i] > 0 ? z[i] : 0.0;
    if (g) for (int64_t i = 0; i < count; i++) g[i] = z[i] > 0 ? 1.0 : 0.0;
    break;
  case SSW_ACT_LEAKY_RELU:
    for (int64_t i = 0; i < count; i++) h[i] = z[i] > 0 ? z[i] : alpha * z[i];
    if (g) for (int64_t i = 0; i < count; i++) g[i] = z[i] > 0 ? 1.0 : alpha;
    break;
  case SSW_ACT_QUADRATIC:
    for (int64_t i = 0; i < count; i++) h[i] = z[i] * z[i];
    if (g) for (int64_t i = 0; i < count; i++) g[i] = 2.0 * z[i];
    break;
  case SSW_ACT_TANH:
    for (int64_t i = 0; i < count; i++) h[i] = tanh(z[i]);
    if (g) for (int64_t i = 0; i < count; i++) g[i] = 1.0 - h[i] * h[i];
    break;
  case SSW_ACT_SOFTPLUS: /* log(1 + e^z), stable on both sides; derivative the logistic */
    for (int64_t i = 0; i < count; i++) h[i] = z[i] > 0 ? z[i] + log1p(exp(-z[i])) : log1p(exp(z[i]));
    if (g) for (int64_t i = 0; i < count; i++) g[i] = sigmoid(z[i]);
    break;
  case SSW_ACT_SIGMOID:
    for (int64_t i = 0; i < count; i++) h[i] = sigmoid(z[i]);
    if (g) for (int64_t i = 0; i < count; i++) g[i] = h[i] * (1.0 - h[i]);
    break;
  case SSW_ACT_ERF:
    for (int64_t i = 0; i < count; i++) h[i] = erf(z[i]);
    if (g) for (int64_t i = 0; i < count; i++) g[i] = TWO_OVER_SQRT_PI * exp(-z[i] * z[i]);
    break;
  case SSW_ACT_GELU: /* z Phi(z), Phi(z) = erfc(-z / sqrt 2) / 2; derivative Phi(z) + z phi(z) */
    for (int64_t i = 0; i < count; i++) {
      double cdf = 0.5 * erfc(-z[i] * SQRT1_2);
      h[i] = z[i] * cdf;
      if (g) g[i] = cdf + z[i] * INV_SQRT_2PI * exp(-0.5 * z[i] * z[i]);
    }
    break;
  case SSW_ACT_LINEAR:
    for (int64_t i = 0; i < count; i++) h[i] = z[i];
    if (g) for (int64_t i = 0; i < count; i++) g[i] = 1.0;
    break;
  case SSW_ACT_RAMP: /* clip(z/eta + 1/2, 0, 1) */
    for (int64_t i = 0; i < count; i++) h[i] = clip(z[i] * (1.0 / eta) + 0.5, 0.0, 1.0);
    if (g) for (int64_t i = 0; i < count; i++) g[i] = fabs(z[i] * (1.0 / eta)) < 0.5 ? 1.0 / eta : 0.0;
    break;
  case SSW_ACT_SMOOTH_STEP:
    /* u = z * (1/eta), and sigma' = (d/du) * (1/eta): products, as the vector kernels */
    for (int64_t i = 0; i < count; i++) h[i] = smooth_step(z[i] * (1.0 / eta));
    if (g) for (int64_t i = 0; i < count; i++) g[i] = smooth_step_deriv(z[i] * (1.0 / eta)) * (1.0 / eta);
    break;
  default:
    for (int64_t i = 0; i < count; i++) h[i] = NAN;
    if (g) for (int64_t i = 0; i < count; i++) g[i] = NAN;
  }
}

double ssw_act(const ssw_model_t *M, double z) {
  double h;
  ssw_act_apply_scalar(M, 1, &z, &h, NULL);
  return h;
}

double ssw_act_deriv(const ssw_model_t *M, double z) {
  double h, g;
  ssw_act_apply_scalar(M, 1, &z, &h, &g);
  return g;
}

void ssw_act_apply(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g) {
  ssw_act_kernels()->apply(M, count, z, h, g);
}

void ssw_act_deriv_from_value(const ssw_model_t *M, int64_t count, const double *z, const double *h,
                              double *g) {
  ssw_act_kernels()->deriv_from_value(M, count, z, h, g);
}
