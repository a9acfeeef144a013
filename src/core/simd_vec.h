/* A vector of VD_LANES doubles for the register-blocked fused kernel (fused_regs.c,
 * fused_back.c), compiled once per instruction set: the set's own register, __m512d (avx512,
 * -DSSW_ISA_AVX512, 8 lanes), __m256d (avx2, -DSSW_ISA_AVX2, 4) or __m128d (baseline SSE2, 2).
 * The kernel's work is lane-wise (a lane is a neuron), so the width does not change a bit.
 * Private to src/core.
 *
 * Each operation is lane-wise and rounds like the C expression it names: vd_sel_gt(a, b, x, y)
 * is (a > b ? x : y) with C's NaN semantics (an ordered compare: false for NaN). */
#ifndef SSW_CORE_SIMD_VEC_H
#define SSW_CORE_SIMD_VEC_H

#include <immintrin.h>

#include <sleef.h>

#define VD_INLINE static inline __attribute__((always_inline))

#if defined(SSW_ISA_AVX512)
enum { VD_LANES = 8 };
typedef __m512d vd;
VD_INLINE vd vd_set1(double x) { return _mm512_set1_pd(x); }
VD_INLINE vd vd_load(const double *p) { return _mm512_loadu_pd(p); }
VD_INLINE void vd_store(double *p, vd v) { _mm512_storeu_pd(p, v); }
VD_INLINE vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }
VD_INLINE vd vd_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
VD_INLINE vd vd_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
VD_INLINE vd vd_div(vd a, vd b) { return _mm512_div_pd(a, b); }
VD_INLINE vd vd_fma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); } /* a*b+c, one rounding */
VD_INLINE vd vd_xor(vd a, vd b) { return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b))); }
VD_INLINE vd vd_andnot(vd a, vd b) { return _mm512_castsi512_pd(_mm512_andnot_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b))); }
#define VD_SEL(name, pred)                                                                                       \
  VD_INLINE vd name(vd a, vd b, vd x, vd y) { return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, pred), y, x); }
#define VD_SLEEF(name, f, u) VD_INLINE vd name(vd x) { return Sleef_finz_##f##d8_##u##avx512f(x); }
#define VD_GT _CMP_GT_OQ
#define VD_GE _CMP_GE_OQ
#define VD_LT _CMP_LT_OQ
#define VD_EQ _CMP_EQ_OQ
#elif defined(SSW_ISA_AVX2)
enum { VD_LANES = 4 };
typedef __m256d vd;
VD_INLINE vd vd_set1(double x) { return _mm256_set1_pd(x); }
VD_INLINE vd vd_load(const double *p) { return _mm256_loadu_pd(p); }
VD_INLINE void vd_store(double *p, vd v) { _mm256_storeu_pd(p, v); }
VD_INLINE vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }
VD_INLINE vd vd_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
VD_INLINE vd vd_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
VD_INLINE vd vd_div(vd a, vd b) { return _mm256_div_pd(a, b); }
VD_INLINE vd vd_xor(vd a, vd b) { return _mm256_xor_pd(a, b); }
VD_INLINE vd vd_andnot(vd a, vd b) { return _mm256_andnot_pd(a, b); }
VD_INLINE vd vd_fma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
#define VD_SEL(name, pred)                                                                                       \
  VD_INLINE vd name(vd a, vd b, vd x, vd y) { return _mm256_blendv_pd(y, x, _mm256_cmp_pd(a, b, pred)); }
#define VD_SLEEF(name, f, u) VD_INLINE vd name(vd x) { return Sleef_finz_##f##d4_##u##avx2(x); }
#define VD_GT _CMP_GT_OQ
#define VD_GE _CMP_GE_OQ
#define VD_LT _CMP_LT_OQ
#define VD_EQ _CMP_EQ_OQ
#else
enum { VD_LANES = 2 };
typedef __m128d vd;
VD_INLINE vd vd_set1(double x) { return _mm_set1_pd(x); }
VD_INLINE vd vd_load(const double *p) { return _mm_loadu_pd(p); }
VD_INLINE void vd_store(double *p, vd v) { _mm_storeu_pd(p, v); }
VD_INLINE vd vd_add(vd a, vd b) { return _mm_add_pd(a, b); }
VD_INLINE vd vd_sub(vd a, vd b) { return _mm_sub_pd(a, b); }
VD_INLINE vd vd_mul(vd a, vd b) { return _mm_mul_pd(a, b); }
VD_INLINE vd vd_div(vd a, vd b) { return _mm_div_pd(a, b); }
VD_INLINE vd vd_xor(vd a, vd b) { return _mm_xor_pd(a, b); }
VD_INLINE vd vd_andnot(vd a, vd b) { return _mm_andnot_pd(a, b); }
VD_INLINE vd vd_fma(vd a, vd b, vd c) { return _mm_add_pd(_mm_mul_pd(a, b), c); } /* no FMA: two roundings */
#define VD_SEL(name, pred)                                                                                       \
  VD_INLINE vd name(vd a, vd b, vd x, vd y) {                                                                    \
    const __m128d m = pred(a, b);                                                                                \
    return _mm_or_pd(_mm_and_pd(m, x), _mm_andnot_pd(m, y));                                                     \
  }
#define VD_SLEEF(name, f, u) VD_INLINE vd name(vd x) { return Sleef_cinz_##f##d2_##u##sse2(x); }
#define VD_GT _mm_cmpgt_pd
#define VD_GE _mm_cmpge_pd
#define VD_LT _mm_cmplt_pd
#define VD_EQ _mm_cmpeq_pd
#endif

VD_SEL(vd_sel_gt, VD_GT) /* a > b ? x : y */
VD_SEL(vd_sel_ge, VD_GE) /* a >= b ? x : y */
VD_SEL(vd_sel_lt, VD_LT) /* a < b ? x : y */
VD_SEL(vd_sel_eq, VD_EQ) /* a == b ? x : y */

VD_INLINE vd vd_zero(void) { return vd_set1(0.0); }
VD_INLINE vd vd_neg(vd a) { return vd_xor(a, vd_set1(-0.0)); }    /* -a: the sign bit flipped, as C's */
VD_INLINE vd vd_abs(vd a) { return vd_andnot(vd_set1(-0.0), a); } /* fabs */

#endif
