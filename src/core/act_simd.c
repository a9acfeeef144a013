/* The activations over arrays, for one instruction set: compiled three times (src/core/
 * meson.build) with -DSSW_ISA_AVX512 (-mavx512f -mfma), -DSSW_ISA_AVX2 (-mavx2 -mfma) or
 * neither (baseline x86-64, SSE2), each defining its own ssw_act_kernels_<set>; simd.c picks
 * one at run time. Formulas: DESIGN.md §2.
 *
 * Transcendentals come from SLEEF's deterministic 1-ulp functions (erfc: 1.5 ulp; tanh: the
 * 3.5-ulp one, 1.45 ns per element against 3.5 ns for the 1-ulp one on AVX-512, which would
 * double the step of a tanh network; 3.5 ulp is 8e-16 relative). With FMA
 * (avx512, avx2) they are the `finz` family, whose results are the same bits at every vector
 * width and in the scalar `purecfma` twin that finishes a row's tail, so a cell's result does
 * not depend on whether the machine has AVX-512. Without FMA (baseline) they are the `cinz`
 * family, which agrees with `finz` to 1 ulp but not bit for bit. Everything else is plain
 * loops the compiler vectorizes; ISO C (c17) keeps it from contracting a*b+c into an FMA, so
 * those loops give the same bits on every set.
 *
 * Shapes: count elements, z, h, g (count); rows are processed in chunks of CHUNK on the stack. */
#include <immintrin.h>
#include <math.h>

#include <sleef.h>

#include "act_simd.h"

#if defined(SSW_ISA_AVX512)
#define KERNELS ssw_act_kernels_avx512
#define FUSED ssw_fused_loss_grad_avx512
#define ISA_NAME "avx512"
#define W 8
typedef __m512d vd;
#define VLOAD _mm512_loadu_pd
#define VSTORE _mm512_storeu_pd
#define V(f, u) Sleef_finz_##f##d8_##u##avx512f
#define S(f, u) Sleef_finz_##f##d1_##u##purecfma
#elif defined(SSW_ISA_AVX2)
#define KERNELS ssw_act_kernels_avx2
#define FUSED ssw_fused_loss_grad_avx2
#define ISA_NAME "avx2"
#define W 4
typedef __m256d vd;
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define V(f, u) Sleef_finz_##f##d4_##u##avx2
#define S(f, u) Sleef_finz_##f##d1_##u##purecfma
#else
#define KERNELS ssw_act_kernels_baseline
#define FUSED ssw_fused_loss_grad_baseline
#define ISA_NAME "baseline"
#define W 2
typedef __m128d vd;
#define VLOAD _mm_loadu_pd
#define VSTORE _mm_storeu_pd
#define V(f, u) Sleef_cinz_##f##d2_##u##sse2
#define S(f, u) Sleef_cinz_##f##d1_##u##purec
#endif

#define SQRT1_2 0.70710678118654752440     /* 1/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
#define TWO_OVER_SQRT_PI 1.12837916709551257390

enum { CHUNK = 256 }; /* a chunk's temporaries stay in L1: 3 x 256 doubles = 6 KiB */

/* y = f(x) over count elements, vector lanes then the scalar twin for the tail. */
#define BATCH(name, f, u)                                                                            \
  static void name(int64_t count, const double *x, double *y) {                                    \
    int64_t i = 0;                                                                                   \
    for (; i + W <= count; i += W) VSTORE(y + i, V(f, u)(VLOAD(x + i)));                             \
    for (; i < count; i++) y[i] = S(f, u)(x[i]);                                                     \
  }
BATCH(v_exp, exp, u10)
BATCH(v_log1p, log1p, u10)
BATCH(v_tanh, tanh, u35)
BATCH(v_erf, erf, u10)
BATCH(v_erfc, erfc, u15)

static double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* softplus log(1 + e^z) = max(z, 0) + log1p(e^-|z|), sigma' the logistic; e = e^-|z|. */
static void softplus(int64_t count, const double *z, double *h, double *g) {
  double t[CHUNK], e[CHUNK], l[CHUNK];
  for (int64_t i0 = 0; i0 < count; i0 += CHUNK) {
    const int64_t c = count - i0 < CHUNK ? count - i0 : CHUNK;
    const double *zc = z + i0;
    for (int64_t i = 0; i < c; i++) t[i] = -fabs(zc[i]);
    v_exp(c, t, e);
    v_log1p(c, e, l);
    for (int64_t i = 0; i < c; i++) h[i0 + i] = (zc[i] > 0 ? zc[i] : 0.0) + l[i];
    if (g)
      for (int64_t i = 0; i < c; i++) g[i0 + i] = (zc[i] >= 0 ? 1.0 : e[i]) / (1.0 + e[i]);
  }
}

/* the logistic 1/(1 + e^-z), from e = e^-|z| on both sides (no overflow) */
static void sigmoid(int64_t count, const double *z, double *h, double *g) {
  double t[CHUNK], e[CHUNK];
  for (int64_t i0 = 0; i0 < count; i0 += CHUNK) {
    const int64_t c = count - i0 < CHUNK ? count - i0 : CHUNK;
    const double *zc = z + i0;
    for (int64_t i = 0; i < c; i++) t[i] = -fabs(zc[i]);
    v_exp(c, t, e);
    for (int64_t i = 0; i < c; i++) h[i0 + i] = (zc[i] >= 0 ? 1.0 : e[i]) / (1.0 + e[i]);
    if (g)
      for (int64_t i = 0; i < c; i++) g[i0 + i] = h[i0 + i] * (1.0 - h[i0 + i]);
  }
}

/* erf' = (2/sqrt pi) e^(-z^2) */
static void erf_deriv(int64_t count, const double *z, double *g) {
  double t[CHUNK];
  for (int64_t i0 = 0; i0 < count; i0 += CHUNK) {
    const int64_t c = count - i0 < CHUNK ? count - i0 : CHUNK;
    for (int64_t i = 0; i < c; i++) t[i] = -z[i0 + i] * z[i0 + i];
    v_exp(c, t, g + i0);
    for (int64_t i = 0; i < c; i++) g[i0 + i] *= TWO_OVER_SQRT_PI;
  }
}

/* gelu z Phi(z), Phi(z) = erfc(-z/sqrt 2)/2; sigma' = Phi(z) + z phi(z) */
static void gelu(int64_t count, const double *z, double *h, double *g) {
  double t[CHUNK], cdf[CHUNK], e[CHUNK];
  for (int64_t i0 = 0; i0 < count; i0 += CHUNK) {
    const int64_t c = count - i0 < CHUNK ? count - i0 : CHUNK;
    const double *zc = z + i0;
    for (int64_t i = 0; i < c; i++) t[i] = -zc[i] * SQRT1_2;
    v_erfc(c, t, cdf);
    for (int64_t i = 0; i < c; i++) cdf[i] *= 0.5;
    for (int64_t i = 0; i < c; i++) h[i0 + i] = zc[i] * cdf[i];
    if (!g) continue;
    for (int64_t i = 0; i < c; i++) t[i] = -0.5 * zc[i] * zc[i];
    v_exp(c, t, e);
    for (int64_t i = 0; i < c; i++) g[i0 + i] = cdf[i] + zc[i] * INV_SQRT_2PI * e[i];
  }
}

/* smooth_step, u = z/eta: clip(4(u+1/2)^3, 0, 1/2) + clip(1/2 - 4(1/2-u)^3, 0, 1/2); its
 * derivative 12 t^2 / eta with t = max(min(u + 1/2, 1/2 - u), 0), branch-free. */
static void smooth_step_deriv(int64_t count, const double *z, double eta, double *g) {
  const double inv = 1.0 / eta; /* products, not divisions (act_inline.h) */
  for (int64_t i = 0; i < count; i++) {
    const double u = z[i] * inv, left = u + 0.5, right = 0.5 - u;
    double t = left < right ? left : right;
    t = t > 0.0 ? t : 0.0;
    g[i] = 12.0 * t * t * inv;
  }
}

static void smooth_step(int64_t count, const double *z, double eta, double *h, double *g) {
  const double inv = 1.0 / eta;
  for (int64_t i = 0; i < count; i++) {
    const double u = z[i] * inv, left = u + 0.5, right = 0.5 - u;
    h[i] = clip(4.0 * left * left * left, 0.0, 0.5) + clip(0.5 - 4.0 * right * right * right, 0.0, 0.5);
  }
  if (g) smooth_step_deriv(count, z, eta, g);
}

static void apply(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g) {
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
    v_tanh(count, z, h);
    if (g) for (int64_t i = 0; i < count; i++) g[i] = 1.0 - h[i] * h[i];
    break;
  case SSW_ACT_SOFTPLUS:
    softplus(count, z, h, g);
    break;
  case SSW_ACT_SIGMOID:
    sigmoid(count, z, h, g);
    break;
  case SSW_ACT_ERF:
    v_erf(count, z, h);
    if (g) erf_deriv(count, z, g);
    break;
  case SSW_ACT_GELU:
    gelu(count, z, h, g);
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
    smooth_step(count, z, eta, h, g);
    break;
  default:
    for (int64_t i = 0; i < count; i++) h[i] = NAN;
    if (g) for (int64_t i = 0; i < count; i++) g[i] = NAN;
  }
}

/* gelu' = Phi + z phi with Phi = h / z from the stored value (within 2 ulp of erfc's, and no
 * second erfc: 7.8 ns per element on AVX-512) and phi = e^(-z^2/2) / sqrt(2 pi) */
static void gelu_deriv_from_value(int64_t count, const double *z, const double *h, double *g) {
  double t[CHUNK], e[CHUNK];
  for (int64_t i0 = 0; i0 < count; i0 += CHUNK) {
    const int64_t c = count - i0 < CHUNK ? count - i0 : CHUNK;
    const double *zc = z + i0, *hc = h + i0;
    for (int64_t i = 0; i < c; i++) t[i] = -0.5 * zc[i] * zc[i];
    v_exp(c, t, e);
    for (int64_t i = 0; i < c; i++) {
      const double cdf = zc[i] != 0.0 ? hc[i] / zc[i] : 0.5;
      g[i0 + i] = cdf + zc[i] * INV_SQRT_2PI * e[i];
    }
  }
}

static void deriv_from_value(const ssw_model_t *M, int64_t count, const double *z, const double *h,
                             double *g) {
  switch (M->act) {
  case SSW_ACT_TANH:
    for (int64_t i = 0; i < count; i++) g[i] = 1.0 - h[i] * h[i];
    break;
  case SSW_ACT_SIGMOID:
    for (int64_t i = 0; i < count; i++) g[i] = h[i] * (1.0 - h[i]);
    break;
  case SSW_ACT_SOFTPLUS: /* softplus' is the logistic: one exp, cheaper than -expm1(-h) from the value */
    sigmoid(count, z, g, NULL);
    break;
  case SSW_ACT_GELU:
    gelu_deriv_from_value(count, z, h, g);
    break;
  case SSW_ACT_SMOOTH_STEP:
    smooth_step_deriv(count, z, M->ramp_width, g);
    break;
  case SSW_ACT_ERF:
    erf_deriv(count, z, g);
    break;
  default: { /* sigma' needs z alone: the two-output kernel on a scratch row */
    double scratch[CHUNK];
    for (int64_t i = 0; i < count; i += CHUNK)
      apply(M, count - i < CHUNK ? count - i : CHUNK, z + i, scratch, g + i);
  }
  }
}

const ssw_act_kernels_t KERNELS = {.name = ISA_NAME, .apply = apply, .deriv_from_value = deriv_from_value,
                                   .fused_loss_grad = FUSED};
