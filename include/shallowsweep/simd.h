/* Which instruction set the activation kernels use (DESIGN.md §2, "Vectorized activations").
 *
 * Chosen once, at the first activation over an array: the widest set this CPU runs among
 * avx512 (AVX-512F + FMA), avx2 (AVX2 + FMA) and baseline (SSE2, any x86-64), unless the
 * environment variable SSW_SIMD names one of them (or "auto"). Not collective. */
#ifndef SHALLOWSWEEP_SIMD_H
#define SHALLOWSWEEP_SIMD_H

#include <stdbool.h>

#include "shallowsweep/error.h"

/* The set in use ("avx512", "avx2", "baseline"), choosing it first if needed; on a bad
 * SSW_SIMD it falls back to auto (ssw_simd_check reports that). */
const char *ssw_simd_path(void);
/* Use the set called name ("auto" = the widest available). SSW_ERR_INPUT if the name is
 * unknown or this CPU cannot run it; the message lists what it can. */
SSW_NODISCARD int ssw_simd_select(const char *name);
/* Apply SSW_SIMD from the environment: SSW_OK if unset or valid, else SSW_ERR_INPUT with a
 * message naming the variable, its value and the sets this CPU runs. */
SSW_NODISCARD int ssw_simd_check_env(void);
/* Whether this CPU runs the set called name. */
bool ssw_simd_supported(const char *name);

#endif
