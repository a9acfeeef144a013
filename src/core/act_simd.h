/* The activation kernels of one instruction set (act_simd.c, compiled once per set) and the
 * table simd.c chooses from at run time. Private to src/core.
 *
 * Shapes: count elements, z, h, g (count). */
#ifndef SSW_CORE_ACT_SIMD_H
#define SSW_CORE_ACT_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "shallowsweep/model.h"

/* The fused loss-and-gradient for small d of each set (fused_regs.c); model.c's
 * ssw_model_loss_grad calls it for models with M->fused. stores_h: H is kept in ws->H. */
typedef void ssw_fused_fn(const ssw_model_t *M, const double *theta, int64_t n, const double *X, const double *y,
                          unsigned groups, bool stores_h, double *grad, ssw_workspace_t *ws, double *loss);
ssw_fused_fn ssw_fused_loss_grad_avx512, ssw_fused_loss_grad_avx2, ssw_fused_loss_grad_baseline;

/* The fused kernel's d, padded to a size it is specialized for (2, 4, 8, 16; beyond 16 d
 * itself): its inputs and weights are padded with zeros. */
static inline int64_t ssw_fused_padded_dim(int64_t d) {
  return d <= 2 ? 2 : d <= 4 ? 4 : d <= 8 ? 8 : d <= 16 ? 16 : d;
}

typedef struct ssw_act_kernels {
  const char *name; /* "avx512", "avx2" or "baseline", as printed and as SSW_SIMD names it */
  /* h = sigma(z) and, if g != NULL, g = sigma'(z). */
  void (*apply)(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g);
  /* g = sigma'(z) given h = sigma(z) from apply: cheaper where sigma' follows from sigma. */
  void (*deriv_from_value)(const ssw_model_t *M, int64_t count, const double *z, const double *h, double *g);
  ssw_fused_fn *fused_loss_grad;
} ssw_act_kernels_t;

extern const ssw_act_kernels_t ssw_act_kernels_avx512, ssw_act_kernels_avx2, ssw_act_kernels_baseline;

/* The kernels in use (shallowsweep/simd.h says how they are chosen). */
const ssw_act_kernels_t *ssw_act_kernels(void);

#endif
