/* The vectorized activations (src/core/act_simd.c) against their libm twin, on every
 * instruction set this CPU runs: values and derivatives within a few ulp over arguments from
 * tiny to overflowing, at lengths that cross the kernels' chunks and SIMD tails; the same
 * bits whatever the vector width (the tail runs the scalar twin of the vector functions); and
 * the instruction-set choice refusing names it cannot run. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shallowsweep/error.h"
#include "shallowsweep/model.h"
#include "shallowsweep/params.h"
#include "shallowsweep/simd.h"

enum { COUNT = 1027 }; /* > 4 chunks of 256, odd: every tail length of every width */
#define ULPS 8.0       /* SLEEF: 1 ulp (erfc 1.5); libm: about 1; both round the formulas' steps */

static const char *const PATHS[] = {"baseline", "avx2", "avx512"};
enum { NPATHS = sizeof PATHS / sizeof PATHS[0] };

/* z (COUNT): a spread over [-40, 40], small and huge magnitudes, zeros and the kinks. */
static void arguments(double *z) {
  static const double special[] = {0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0,
                                   30.0, -30.0, 700.0, -700.0, 800.0, -800.0, 1e300, -1e300};
  const size_t ns = sizeof special / sizeof special[0];
  uint64_t state = 88172645463325252u; /* xorshift64 */
  for (int i = 0; i < COUNT; i++) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    const double u = (double)(state >> 11) / 9007199254740992.0; /* [0, 1) */
    z[i] = (size_t)i < ns ? special[i] : (u - 0.5) * (i % 3 == 0 ? 80.0 : i % 3 == 1 ? 6.0 : 0.6);
  }
}

static ssw_model_t model(int act) {
  return (ssw_model_t){.m = 1, .d = 1, .act = (ssw_activation_t)act, .leaky_slope = 0.1, .ramp_width = 0.3,
                       .s = 1};
}

/* |x - ref| in units of ULPS * eps * max(|ref|, floor); reports the worst index */
static double worst_error(const double *x, const double *ref, double floor, int *at) {
  double worst = 0.0;
  for (int i = 0; i < COUNT; i++) {
    const double e = fabs(x[i] - ref[i]) / (ULPS * DBL_EPSILON * fmax(fabs(ref[i]), floor));
    if (!(e <= worst)) worst = e, *at = i; /* catches NaN */
  }
  return worst;
}

static void test_kernels_match_the_libm_twin(void **state) {
  (void)state;
  double z[COUNT], h[COUNT], g[COUNT], g2[COUNT], h_ref[COUNT], g_ref[COUNT];
  arguments(z);
  int failures = 0;
  for (int k = 0; k < NPATHS; k++) {
    if (!ssw_simd_supported(PATHS[k])) {
      fprintf(stderr, "instruction set %s: not run, this CPU lacks it\n", PATHS[k]);
      continue;
    }
    assert_int_equal(ssw_simd_select(PATHS[k]), SSW_OK);
    for (int act = 0; act < SSW_ACT_COUNT; act++) {
      const ssw_model_t Mo = model(act);
      ssw_act_apply_scalar(&Mo, COUNT, z, h_ref, g_ref);
      ssw_act_apply(&Mo, COUNT, z, h, g);
      ssw_act_deriv_from_value(&Mo, COUNT, z, h, g2);
      /* sigma' is bounded by about 1/eta: errors in it are measured against that scale,
       * since 1 - tanh^2 and h (1 - h) cancel where sigma' is tiny, in the twin as well */
      const double g_floor = act == SSW_ACT_QUADRATIC || act == SSW_ACT_LINEAR ? 0.0 : 1.0 / Mo.ramp_width;
      int ih = 0, ig = 0, ig2 = 0;
      const double eh = worst_error(h, h_ref, 1e-300, &ih), eg = worst_error(g, g_ref, g_floor, &ig),
                   eg2 = worst_error(g2, g_ref, g_floor, &ig2);
      if (!(eh <= 1.0 && eg <= 1.0 && eg2 <= 1.0)) {
        fprintf(stderr,
                "FAIL %s %s: errors in units of %.0f ulp: sigma %.3g at z=%.17g (%.17g vs %.17g), sigma' %.3g "
                "at z=%.17g, sigma' from sigma %.3g at z=%.17g (%.17g vs %.17g)\n",
                PATHS[k], ssw_activation_name((ssw_activation_t)act), ULPS, eh, z[ih], h[ih], h_ref[ih], eg,
                z[ig], eg2, z[ig2], g2[ig2], g_ref[ig2]);
        failures++;
      }
    }
  }
  assert_int_equal(failures, 0);
}

/* Element by element (the tail's scalar functions) gives the same bits as the whole row
 * (vector lanes), and avx2 the same bits as avx512 where both run. */
static void test_results_do_not_depend_on_vector_width(void **state) {
  (void)state;
  double z[COUNT], h[COUNT], g[COUNT], h1[COUNT], g1[COUNT], hw[NPATHS][COUNT];
  arguments(z);
  int failures = 0;
  for (int k = 0; k < NPATHS; k++) {
    if (!ssw_simd_supported(PATHS[k])) continue;
    assert_int_equal(ssw_simd_select(PATHS[k]), SSW_OK);
    for (int act = 0; act < SSW_ACT_COUNT; act++) {
      const ssw_model_t Mo = model(act);
      ssw_act_apply(&Mo, COUNT, z, h, g);
      for (int i = 0; i < COUNT; i++) ssw_act_apply(&Mo, 1, z + i, h1 + i, g1 + i);
      if (memcmp(h, h1, sizeof h) || memcmp(g, g1, sizeof g)) {
        fprintf(stderr, "FAIL %s %s: the row and its elements one by one differ in bits\n", PATHS[k],
                ssw_activation_name((ssw_activation_t)act));
        failures++;
      }
      if (act == SSW_ACT_GELU) memcpy(hw[k], h, sizeof h);
    }
  }
  if (ssw_simd_supported("avx2") && ssw_simd_supported("avx512") && memcmp(hw[1], hw[2], sizeof hw[1])) {
    fprintf(stderr, "FAIL gelu: avx2 and avx512 differ in bits\n");
    failures++;
  }
  assert_int_equal(failures, 0);
}

static void test_selection_refuses_what_it_cannot_run(void **state) {
  (void)state;
  assert_int_equal(ssw_simd_select("sse9"), SSW_ERR_INPUT);
  assert_non_null(strstr(ssw_error_message(), "unknown instruction set 'sse9'"));
  assert_non_null(strstr(ssw_error_message(), "baseline"));
  ssw_error_clear();
  for (int k = 0; k < NPATHS; k++)
    if (!ssw_simd_supported(PATHS[k])) {
      assert_int_equal(ssw_simd_select(PATHS[k]), SSW_ERR_INPUT);
      assert_non_null(strstr(ssw_error_message(), "this CPU cannot run"));
      ssw_error_clear();
    }
  setenv("SSW_SIMD", "bogus", 1);
  assert_int_equal(ssw_simd_check_env(), SSW_ERR_INPUT);
  assert_non_null(strstr(ssw_error_message(), "environment variable SSW_SIMD"));
  ssw_error_clear();
  setenv("SSW_SIMD", "baseline", 1);
  assert_int_equal(ssw_simd_check_env(), SSW_OK);
  assert_string_equal(ssw_simd_path(), "baseline");
  unsetenv("SSW_SIMD");
  assert_int_equal(ssw_simd_select("auto"), SSW_OK);
  assert_string_not_equal(ssw_simd_path(), "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels_match_the_libm_twin),
      cmocka_unit_test(test_results_do_not_depend_on_vector_width),
      cmocka_unit_test(test_selection_refuses_what_it_cannot_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
