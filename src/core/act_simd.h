/* The activation kernels of one instruction set (act_simd.c, compiled once per set) and the
 * table simd.c chooses from at run time. Private to src/core.
 *
 * Shapes: count elements, z, h, g (count). */
#ifndef SSW_CORE_ACT_SIMD_H
#define SSW_CORE_ACT_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "shallowsweep/model.h"

typedef struct ssw_act_kernels {
  const char *name; /* "avx512", "avx2" or "baseline", as printed and as SSW_SIMD names it */
  /* h = sigma(z) and, if g != NULL, g = sigma'(z). */
  void (*apply)(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g);
  /* g = sigma'(z) given h = sigma(z) from apply: cheaper where sigma' follows from sigma. */
  void (*deriv_from_value)(const ssw_model_t *M, int64_t count, const double *z, const double *h, double *g);
} ssw_act_kernels_t;

extern const ssw_act_kernels_t ssw_act_kernels_avx512, ssw_act_kernels_avx2, ssw_act_kernels_baseline;

/* The kernels in use (shallowsweep/simd.h says how they are chosen). */
const ssw_act_kernels_t *ssw_act_kernels(void);

#endif
