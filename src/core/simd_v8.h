/* An eight-lane vector of doubles for the register-blocked fused kernel (fused_regs.c), compiled
 * once per instruction set: one __m512d (avx512, -DSSW_ISA_AVX512), two __m256d (avx2,
 * -DSSW_ISA_AVX2) or four __m128d (baseline SSE2). Eight lanes on every set, so a lane always
 * holds the same neuron and a kernel written on v8 gives the same bits at every vector width
 * (with FMA; baseline rounds a*b+c twice). Private to src/core.
 *
 * Each operation is lane-wise and rounds like the C expression it names: v8_sel_gt(a, b, x, y)
 * is (a > b ? x : y) with C's NaN semantics (an ordered compare: false for NaN). */
#ifndef SSW_CORE_SIMD_V8_H
#define SSW_CORE_SIMD_V8_H

#include <immintrin.h>

#include <sleef.h>

#define V8_INLINE static inline __attribute__((always_inline))

enum { V8_LANES = 8 };

#if defined(SSW_ISA_AVX512)
typedef __m512d v8;
V8_INLINE v8 v8_set1(double x) { return _mm512_set1_pd(x); }
V8_INLINE v8 v8_load(const double *p) { return _mm512_loadu_pd(p); }
V8_INLINE void v8_store(double *p, v8 v) { _mm512_storeu_pd(p, v); }
V8_INLINE v8 v8_add(v8 a, v8 b) { return _mm512_add_pd(a, b); }
V8_INLINE v8 v8_sub(v8 a, v8 b) { return _mm512_sub_pd(a, b); }
V8_INLINE v8 v8_mul(v8 a, v8 b) { return _mm512_mul_pd(a, b); }
V8_INLINE v8 v8_div(v8 a, v8 b) { return _mm512_div_pd(a, b); }
V8_INLINE v8 v8_fma(v8 a, v8 b, v8 c) { return _mm512_fmadd_pd(a, b, c); } /* a*b+c, one rounding */
V8_INLINE v8 v8_xor(v8 a, v8 b) { return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b))); }
V8_INLINE v8 v8_andnot(v8 a, v8 b) { return _mm512_castsi512_pd(_mm512_andnot_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b))); }
#define V8_SEL(name, pred)                                                                                       \
  V8_INLINE v8 name(v8 a, v8 b, v8 x, v8 y) { return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, pred), y, x); }
#define V8_SLEEF(name, f, u) V8_INLINE v8 name(v8 x) { return Sleef_finz_##f##d8_##u##avx512f(x); }
#define V8_GT _CMP_GT_OQ
#define V8_GE _CMP_GE_OQ
#define V8_LT _CMP_LT_OQ
#define V8_EQ _CMP_EQ_OQ
#elif defined(SSW_ISA_AVX2)
typedef struct { __m256d lo, hi; } v8;
#define V8_BIN(name, op)                                                                                         \
  V8_INLINE v8 name(v8 a, v8 b) { return (v8){op(a.lo, b.lo), op(a.hi, b.hi)}; }
V8_INLINE v8 v8_set1(double x) { return (v8){_mm256_set1_pd(x), _mm256_set1_pd(x)}; }
V8_INLINE v8 v8_load(const double *p) { return (v8){_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)}; }
V8_INLINE void v8_store(double *p, v8 v) { _mm256_storeu_pd(p, v.lo), _mm256_storeu_pd(p + 4, v.hi); }
V8_BIN(v8_add, _mm256_add_pd)
V8_BIN(v8_sub, _mm256_sub_pd)
V8_BIN(v8_mul, _mm256_mul_pd)
V8_BIN(v8_div, _mm256_div_pd)
V8_BIN(v8_xor, _mm256_xor_pd)
V8_BIN(v8_andnot, _mm256_andnot_pd)
V8_INLINE v8 v8_fma(v8 a, v8 b, v8 c) { return (v8){_mm256_fmadd_pd(a.lo, b.lo, c.lo), _mm256_fmadd_pd(a.hi, b.hi, c.hi)}; }
#define V8_SEL(name, pred)                                                                                       \
  V8_INLINE v8 name(v8 a, v8 b, v8 x, v8 y) {                                                                    \
    return (v8){_mm256_blendv_pd(y.lo, x.lo, _mm256_cmp_pd(a.lo, b.lo, pred)),                                   \
                _mm256_blendv_pd(y.hi, x.hi, _mm256_cmp_pd(a.hi, b.hi, pred))};                                  \
  }
#define V8_SLEEF(name, f, u)                                                                                     \
  V8_INLINE v8 name(v8 x) { return (v8){Sleef_finz_##f##d4_##u##avx2(x.lo), Sleef_finz_##f##d4_##u##avx2(x.hi)}; }
#define V8_GT _CMP_GT_OQ
#define V8_GE _CMP_GE_OQ
#define V8_LT _CMP_LT_OQ
#define V8_EQ _CMP_EQ_OQ
#else
typedef struct { __m128d q[4]; } v8;
#define V8_BIN(name, op)                                                                                         \
  V8_INLINE v8 name(v8 a, v8 b) { return (v8){{op(a.q[0], b.q[0]), op(a.q[1], b.q[1]), op(a.q[2], b.q[2]), op(a.q[3], b.q[3])}}; }
V8_INLINE v8 v8_set1(double x) { const __m128d v = _mm_set1_pd(x); return (v8){{v, v, v, v}}; }
V8_INLINE v8 v8_load(const double *p) { return (v8){{_mm_loadu_pd(p), _mm_loadu_pd(p + 2), _mm_loadu_pd(p + 4), _mm_loadu_pd(p + 6)}}; }
V8_INLINE void v8_store(double *p, v8 v) {
  for (int k = 0; k < 4; k++) _mm_storeu_pd(p + 2 * k, v.q[k]);
}
V8_BIN(v8_add, _mm_add_pd)
V8_BIN(v8_sub, _mm_sub_pd)
V8_BIN(v8_mul, _mm_mul_pd)
V8_BIN(v8_div, _mm_div_pd)
V8_BIN(v8_xor, _mm_xor_pd)
V8_BIN(v8_andnot, _mm_andnot_pd)
V8_INLINE v8 v8_fma(v8 a, v8 b, v8 c) { return v8_add(v8_mul(a, b), c); } /* no FMA: two roundings */
#define SSE_CMP_GT(a, b) _mm_cmpgt_pd(a, b)
#define SSE_CMP_GE(a, b) _mm_cmpge_pd(a, b)
#define SSE_CMP_LT(a, b) _mm_cmplt_pd(a, b)
#define SSE_CMP_EQ(a, b) _mm_cmpeq_pd(a, b)
#define V8_SEL(name, pred)                                                                                       \
  V8_INLINE v8 name(v8 a, v8 b, v8 x, v8 y) {                                                                    \
    v8 r;                                                                                                        \
    for (int k = 0; k < 4; k++) {                                                                                \
      const __m128d m = pred(a.q[k], b.q[k]);                                                                    \
      r.q[k] = _mm_or_pd(_mm_and_pd(m, x.q[k]), _mm_andnot_pd(m, y.q[k]));                                       \
    }                                                                                                            \
    return r;                                                                                                    \
  }
#define V8_GT SSE_CMP_GT
#define V8_GE SSE_CMP_GE
#define V8_LT SSE_CMP_LT
#define V8_EQ SSE_CMP_EQ
#define V8_SLEEF(name, f, u)                                                                                     \
  V8_INLINE v8 name(v8 x) {                                                                                      \
    v8 r;                                                                                                        \
    for (int k = 0; k < 4; k++) r.q[k] = Sleef_cinz_##f##d2_##u##sse2(x.q[k]);                                      \
    return r;                                                                                                    \
  }
#endif

V8_SEL(v8_sel_gt, V8_GT) /* a > b ? x : y */
V8_SEL(v8_sel_ge, V8_GE) /* a >= b ? x : y */
V8_SEL(v8_sel_lt, V8_LT) /* a < b ? x : y */
V8_SEL(v8_sel_eq, V8_EQ) /* a == b ? x : y */

V8_INLINE v8 v8_zero(void) { return v8_set1(0.0); }
V8_INLINE v8 v8_neg(v8 a) { return v8_xor(a, v8_set1(-0.0)); }    /* -a: the sign bit flipped, as C's */
V8_INLINE v8 v8_abs(v8 a) { return v8_andnot(v8_set1(-0.0), a); } /* fabs */

#endif
