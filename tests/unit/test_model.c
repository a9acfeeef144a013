/* Model kernels: gradients against central finite differences for every activation, trained
 * group and bias setting; the BLAS and the fused small-d kernels against their plain-loop
 * twin; symmetric init. The whole group runs for each kernel and each instruction set this CPU
 * has (shallowsweep/simd.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shallowsweep/data.h"
#include "shallowsweep/error.h"
#include "shallowsweep/init.h"
#include "shallowsweep/model.h"
#include "shallowsweep/params.h"
#include "shallowsweep/simd.h"

enum { N = 12, D = 5, M = 8 };

static bool use_fused; /* the kernel under test: fused (small d) or BLAS, set by main per group */

/* Central-difference step: balances truncation O(h^2) against rounding O(eps/h). */
#define FD_STEP 1e-6
#define FD_RTOL 1e-6

typedef struct {
  ssw_params_t p;
  ssw_model_t M;
  double X[N * D]; /* (n, d) */
  double y[N];     /* (n) */
  double *theta;   /* (P) */
} fixture_t;

static void fixture_make(fixture_t *f, ssw_activation_t act, bool bias, uint64_t seed) {
  ssw_params_init(&f->p);
  f->p.width = M;
  f->p.dim = D;
  f->p.n = N;
  f->p.activation = act;
  f->p.bias = bias;
  f->p.bias_init_std = 0.5;
  f->p.seed = (int64_t)seed;
  f->p.leaky_slope = 0.1;
  f->p.ramp_width = 2.0; /* wide enough that ramp/smooth_step are not flat everywhere */
  ssw_params_resolve(&f->p);
  ssw_model_from_params(&f->M, &f->p);
  f->M.fused = use_fused;
  ssw_source_t src;
  assert_int_equal(ssw_source_init(&src, &f->p), SSW_OK);
  assert_int_equal(ssw_source_draw(&src, SSW_SET_TRAIN, 0, N, f->X, f->y), SSW_OK);
  ssw_source_fini(&src);
  f->theta = calloc((size_t)ssw_theta_size(&f->M), sizeof(double));
  assert_non_null(f->theta);
  assert_int_equal(ssw_init_weights(&f->p, &f->M, f->theta), SSW_OK);
}

/* max |g - g_fd| / max |g_fd| over the entries of the trained groups */
static double fd_error(fixture_t *f, unsigned groups, const double *grad) {
  const int64_t P = ssw_theta_size(&f->M);
  double max_diff = 0.0, max_ref = 0.0;
  for (int64_t e = 0; e < P; e++) {
    bool in_W = e < ssw_theta_b(&f->M), in_b = !in_W && e < ssw_theta_a(&f->M), in_a = e >= ssw_theta_a(&f->M);
    bool trained = (in_W && (groups & SSW_GROUP_INNER)) || (in_b && (groups & SSW_GROUP_BIAS) && f->M.bias) ||
                   (in_a && (groups & SSW_GROUP_OUTER));
    if (!trained) {
      assert_true(grad[e] == 0.0); /* untrained entries are exactly zero */
      continue;
    }
    const double saved = f->theta[e];
    f->theta[e] = saved + FD_STEP;
    double up = ssw_model_loss_grad_naive(&f->M, f->theta, N, f->X, f->y, 0, NULL);
    f->theta[e] = saved - FD_STEP;
    double down = ssw_model_loss_grad_naive(&f->M, f->theta, N, f->X, f->y, 0, NULL);
    f->theta[e] = saved;
    double fd = (up - down) / (2.0 * FD_STEP);
    max_diff = fmax(max_diff, fabs(grad[e] - fd));
    max_ref = fmax(max_ref, fabs(fd));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

static void test_gradients_match_finite_differences(void **state) {
  (void)state;
  static const unsigned group_sets[] = {
      SSW_GROUP_INNER, SSW_GROUP_BIAS, SSW_GROUP_OUTER, SSW_GROUP_INNER | SSW_GROUP_OUTER,
      SSW_GROUP_INNER | SSW_GROUP_BIAS, SSW_GROUP_ALL};
  int failures = 0;
  double worst = 0.0;
  for (int act = 0; act < SSW_ACT_COUNT; act++)
    for (int bias = 0; bias <= 1; bias++)
      for (size_t g = 0; g < sizeof group_sets / sizeof group_sets[0]; g++) {
        fixture_t f;
        fixture_make(&f, (ssw_activation_t)act, bias, 7);
        ssw_workspace_t ws;
        assert_int_equal(ssw_workspace_init(&ws, N, M, D), SSW_OK);
        double *grad = calloc((size_t)ssw_theta_size(&f.M), sizeof(double)), loss;
        assert_int_equal(ssw_model_loss_grad(&f.M, f.theta, N, f.X, f.y, group_sets[g], grad, &ws, &loss), SSW_OK);
        double err = fd_error(&f, group_sets[g], grad);
        worst = fmax(worst, err);
        if (!(err < FD_RTOL)) {
          fprintf(stderr, "FAIL %s bias=%d groups=%u: relative gradient error %.3e >= %.0e\n",
                  ssw_activation_name((ssw_activation_t)act), bias, group_sets[g], err, FD_RTOL);
          failures++;
        }
        free(grad);
        free(f.theta);
        ssw_workspace_fini(&ws);
      }
  fprintf(stderr, "largest relative gradient error over all cases: %.3e (tolerance %.0e)\n", worst, FD_RTOL);
  assert_int_equal(failures, 0);
}

static void test_blas_kernel_matches_plain_loops(void **state) {
  (void)state;
  int failures = 0;
  for (int act = 0; act < SSW_ACT_COUNT; act++)
    for (int bias = 0; bias <= 1; bias++) {
      fixture_t f;
      fixture_make(&f, (ssw_activation_t)act, bias, 3);
      const int64_t P = ssw_theta_size(&f.M);
      ssw_workspace_t ws;
      assert_int_equal(ssw_workspace_init(&ws, N, M, D), SSW_OK);
      double *fast = calloc((size_t)P, sizeof(double)), *slow = calloc((size_t)P, sizeof(double)), loss;
      assert_int_equal(ssw_model_loss_grad(&f.M, f.theta, N, f.X, f.y, SSW_GROUP_ALL, fast, &ws, &loss), SSW_OK);
      double loss_slow = ssw_model_loss_grad_naive(&f.M, f.theta, N, f.X, f.y, SSW_GROUP_ALL, slow);
      double worst = fabs(loss - loss_slow) / fabs(loss_slow);
      for (int64_t e = 0; e < P; e++)
        worst = fmax(worst, fabs(fast[e] - slow[e]) / fmax(fabs(slow[e]), 1e-300));
      if (!(worst < 1e-11)) {
        fprintf(stderr, "FAIL %s bias=%d: BLAS vs plain loops relative difference %.3e\n",
                ssw_activation_name((ssw_activation_t)act), bias, worst);
        failures++;
      }
      free(fast), free(slow), free(f.theta);
      ssw_workspace_fini(&ws);
    }
  assert_int_equal(failures, 0);
}

/* The blocked paths of the fast kernel (neuron blocks of about 2^18/n neurons, sample chunks
 * of 256) against the plain loops, at sizes that cross both and at odd sizes: every
 * activation, bias on, all groups. Differences are relative to each group's largest entry
 * (the two sum in different orders). */
static void test_blocked_kernel_matches_plain_loops_at_large_sizes(void **state) {
  (void)state;
  static const int64_t sizes[][2] = {{300, 1024}, {600, 1024}, {301, 1023}}; /* (n, m) */
  const int64_t d = 5;
  int failures = 0;
  double worst_all = 0.0;
  for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
    for (int act = 0; act < SSW_ACT_COUNT; act++) {
      const int64_t n = sizes[z][0], m = sizes[z][1];
      ssw_params_t p;
      ssw_params_init(&p);
      p.width = m, p.dim = d, p.n = n, p.activation = (ssw_activation_t)act, p.bias = true;
      p.bias_init_std = 0.5, p.leaky_slope = 0.1, p.ramp_width = 2.0, p.seed = 11;
      ssw_params_resolve(&p);
      ssw_model_t Mod;
      ssw_model_from_params(&Mod, &p);
      Mod.fused = use_fused;
      const int64_t P = ssw_theta_size(&Mod);
      double *X = calloc((size_t)(n * d), sizeof *X), *y = calloc((size_t)n, sizeof *y);
      double *theta = calloc((size_t)P, sizeof *theta), *fast = calloc((size_t)P, sizeof *fast);
      double *slow = calloc((size_t)P, sizeof *slow), loss;
      assert_true(X && y && theta && fast && slow);
      ssw_source_t src;
      assert_int_equal(ssw_source_init(&src, &p), SSW_OK);
      assert_int_equal(ssw_source_draw(&src, SSW_SET_TRAIN, 0, n, X, y), SSW_OK);
      ssw_source_fini(&src);
      assert_int_equal(ssw_init_weights(&p, &Mod, theta), SSW_OK);
      ssw_workspace_t ws;
      assert_int_equal(ssw_workspace_init(&ws, n, m, d), SSW_OK);
      assert_int_equal(ssw_model_loss_grad(&Mod, theta, n, X, y, SSW_GROUP_ALL, fast, &ws, &loss), SSW_OK);
      double loss_slow = ssw_model_loss_grad_naive(&Mod, theta, n, X, y, SSW_GROUP_ALL, slow);
      double worst = fabs(loss - loss_slow) / fabs(loss_slow);
      const int64_t bounds[4] = {ssw_theta_W(&Mod), ssw_theta_b(&Mod), ssw_theta_a(&Mod), P};
      for (int g = 0; g < 3; g++) { /* W, b, a */
        double diff = 0.0, ref = 0.0;
        for (int64_t e = bounds[g]; e < bounds[g + 1]; e++)
          diff = fmax(diff, fabs(fast[e] - slow[e])), ref = fmax(ref, fabs(slow[e]));
        worst = fmax(worst, ref > 0 ? diff / ref : diff);
      }
      worst_all = fmax(worst_all, worst);
      if (!(worst < 1e-12)) {
        fprintf(stderr, "FAIL %s n=%lld m=%lld: blocked kernel vs plain loops relative difference %.3e\n",
                ssw_activation_name((ssw_activation_t)act), (long long)n, (long long)m, worst);
        failures++;
      }
      ssw_workspace_fini(&ws);
      free(X), free(y), free(theta), free(fast), free(slow);
    }
  fprintf(stderr, "largest blocked-vs-plain relative difference at n = 300, 600, 301: %.3e (tolerance 1e-12)\n",
          worst_all);
  assert_int_equal(failures, 0);
}

/* One fused-kernel evaluation: loss and grad (P) for act at (n, m, d), bias on, all groups. */
static void fused_eval(ssw_activation_t act, int64_t n, int64_t m, int64_t d, double *loss, double **grad_out,
                       double **naive_out) {
  ssw_params_t p;
  ssw_params_init(&p);
  p.width = m, p.dim = d, p.n = n, p.activation = act, p.bias = true;
  p.bias_init_std = 0.5, p.leaky_slope = 0.1, p.ramp_width = 2.0, p.seed = 13;
  ssw_params_resolve(&p);
  ssw_model_t Mod;
  ssw_model_from_params(&Mod, &p);
  Mod.fused = true;
  const int64_t P = ssw_theta_size(&Mod);
  double *X = calloc((size_t)(n * d), sizeof *X), *y = calloc((size_t)n, sizeof *y);
  double *theta = calloc((size_t)P, sizeof *theta), *grad = calloc((size_t)P, sizeof *grad);
  assert_true(X && y && theta && grad);
  ssw_source_t src;
  assert_int_equal(ssw_source_init(&src, &p), SSW_OK);
  assert_int_equal(ssw_source_draw(&src, SSW_SET_TRAIN, 0, n, X, y), SSW_OK);
  ssw_source_fini(&src);
  assert_int_equal(ssw_init_weights(&p, &Mod, theta), SSW_OK);
  ssw_workspace_t ws;
  assert_int_equal(ssw_workspace_init(&ws, n, m, d), SSW_OK);
  assert_int_equal(ssw_model_loss_grad(&Mod, theta, n, X, y, SSW_GROUP_ALL, grad, &ws, loss), SSW_OK);
  if (naive_out) {
    *naive_out = calloc((size_t)(P + 1), sizeof **naive_out);
    assert_non_null(*naive_out);
    (*naive_out)[P] = ssw_model_loss_grad_naive(&Mod, theta, n, X, y, SSW_GROUP_ALL, *naive_out);
  }
  *grad_out = grad;
  ssw_workspace_fini(&ws);
  free(X), free(y), free(theta);
}

/* The register-blocked fused kernel at every padded input dimension (d = 1..16 padded to 2,
 * 4, 8, 16) and widths that leave partial blocks of 8 neurons and of every vector width (13, 21):
 * against the plain loops (each group relative to its largest entry), and, where this CPU
 * runs both, the same bits with AVX2 and AVX-512 (DESIGN.md §2: lanes are neurons, every sum
 * in one order). */
static void test_fused_kernel_every_dim_and_same_bits_across_sets(void **state) {
  (void)state;
  if (!use_fused) skip(); /* it runs the fused kernel whatever the group: once per set is enough */
  static const int64_t dims[] = {1, 2, 3, 4, 5, 7, 8, 12, 16}, widths[] = {13, 21};
  const int64_t n = 67;
  const char *selected = ssw_simd_path();
  const bool both = ssw_simd_supported("avx2") && ssw_simd_supported("avx512");
  int failures = 0;
  double worst_all = 0.0;
  for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
      for (int act = 0; act < SSW_ACT_COUNT; act++) {
        const int64_t d = dims[k], m = widths[w], P = m * d + 2 * m;
        double loss, *grad, *slow;
        fused_eval((ssw_activation_t)act, n, m, d, &loss, &grad, &slow);
        double worst = fabs(loss - slow[P]) / fabs(slow[P]);
        const int64_t bounds[4] = {0, m * d, m * d + m, P};
        for (int g = 0; g < 3; g++) {
          double diff = 0.0, ref = 0.0;
          for (int64_t e = bounds[g]; e < bounds[g + 1]; e++)
            diff = fmax(diff, fabs(grad[e] - slow[e])), ref = fmax(ref, fabs(slow[e]));
          worst = fmax(worst, ref > 0 ? diff / ref : diff);
        }
        worst_all = fmax(worst_all, worst);
        if (!(worst < 1e-12)) {
          fprintf(stderr, "FAIL %s d=%lld m=%lld (%s): fused vs plain loops relative difference %.3e\n",
                  ssw_activation_name((ssw_activation_t)act), (long long)d, (long long)m, selected, worst);
          failures++;
        }
        if (both) {
          double loss2[2], *g2[2];
          static const char *const sets[2] = {"avx2", "avx512"};
          for (int s = 0; s < 2; s++) {
            assert_int_equal(ssw_simd_select(sets[s]), SSW_OK);
            fused_eval((ssw_activation_t)act, n, m, d, &loss2[s], &g2[s], NULL);
          }
          assert_int_equal(ssw_simd_select(selected), SSW_OK);
          int64_t differ = memcmp(&loss2[0], &loss2[1], sizeof loss) != 0, first = -1;
          for (int64_t e = 0; e < P; e++)
            if (memcmp(&g2[0][e], &g2[1][e], sizeof(double))) {
              differ++;
              if (first < 0) first = e;
            }
          if (differ) {
            fprintf(stderr, "FAIL %s d=%lld m=%lld: avx2 and avx512 differ in %lld of %lld numbers (first: entry %lld, %.17g vs %.17g)\n",
                    ssw_activation_name((ssw_activation_t)act), (long long)d, (long long)m, (long long)differ,
                    (long long)P + 1, (long long)first, first >= 0 ? g2[0][first] : loss2[0],
                    first >= 0 ? g2[1][first] : loss2[1]);
            failures++;
          }
          free(g2[0]), free(g2[1]);
        }
        free(grad), free(slow);
      }
  fprintf(stderr, "fused kernel (%s) vs plain loops at d = 1..16, m = 13, 21: largest relative difference %.3e (tolerance 1e-12)%s\n",
          selected, worst_all, both ? "; avx2 and avx512 compared bit for bit" : "");
  assert_int_equal(failures, 0);
}

/* sigma at points with known values, from the definitions in DESIGN.md §2 */
static void test_activation_values(void **state) {
  (void)state;
  ssw_model_t Mo = {.m = 1, .d = 1, .leaky_slope = 0.1, .ramp_width = 2.0, .s = 1};
  struct { ssw_activation_t act; double z, h; } cases[] = {
      {SSW_ACT_RELU, -1.5, 0.0}, {SSW_ACT_RELU, 2.5, 2.5}, {SSW_ACT_LEAKY_RELU, -2.0, -0.2},
      {SSW_ACT_QUADRATIC, -3.0, 9.0}, {SSW_ACT_TANH, 0.5, 0.46211715726000974},
      {SSW_ACT_SOFTPLUS, 0.0, 0.69314718055994531}, {SSW_ACT_SOFTPLUS, 800.0, 800.0},
      {SSW_ACT_SIGMOID, 0.0, 0.5}, {SSW_ACT_SIGMOID, -800.0, 0.0}, {SSW_ACT_ERF, 1.0, 0.84270079294971487},
      {SSW_ACT_GELU, 1.0, 0.84134474606854293}, {SSW_ACT_LINEAR, -4.0, -4.0},
      {SSW_ACT_RAMP, 0.0, 0.5}, {SSW_ACT_RAMP, 0.5, 0.75}, {SSW_ACT_RAMP, 5.0, 1.0},
      /* smooth_step, eta 2: u = z/2; u = -1/4 -> 4 (1/4)^3 = 1/16; u = 1/4 -> 1/2 + 1/2 - 4/64 = 15/16 */
      {SSW_ACT_SMOOTH_STEP, -0.5, 0.0625}, {SSW_ACT_SMOOTH_STEP, 0.5, 0.9375},
      {SSW_ACT_SMOOTH_STEP, -1.0, 0.0}, {SSW_ACT_SMOOTH_STEP, 1.0, 1.0}, {SSW_ACT_SMOOTH_STEP, 0.0, 0.5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Mo.act = cases[i].act;
    double h = ssw_act(&Mo, cases[i].z);
    if (fabs(h - cases[i].h) > 1e-15 * fmax(1.0, fabs(cases[i].h)))
      fail_msg("%s(%g) = %.17g, expected %.17g", ssw_activation_name(cases[i].act), cases[i].z, h, cases[i].h);
  }
}

static void test_symmetric_init_gives_zero_output(void **state) {
  (void)state;
  fixture_t f;
  fixture_make(&f, SSW_ACT_TANH, true, 11);
  f.p.symmetric_init = true;
  assert_int_equal(ssw_init_weights(&f.p, &f.M, f.theta), SSW_OK);
  ssw_workspace_t ws;
  assert_int_equal(ssw_workspace_init(&ws, N, M, D), SSW_OK);
  double out[N];
  assert_int_equal(ssw_model_forward(&f.M, f.theta, N, f.X, out, &ws), SSW_OK);
  for (int i = 0; i < N; i++) assert_true(fabs(out[i]) < 1e-15);
  const double *a = f.theta + ssw_theta_a(&f.M);
  for (int j = 0; j < M; j += 2) assert_true(a[j] == -a[j + 1] && a[j] != 0.0);
  free(f.theta);
  ssw_workspace_fini(&ws);
}

static void test_init_scale_multiplies_named_groups(void **state) {
  (void)state;
  fixture_t f;
  fixture_make(&f, SSW_ACT_RELU, true, 5);
  const int64_t P = ssw_theta_size(&f.M);
  double *scaled = calloc((size_t)P, sizeof(double));
  f.p.init_scale = 3.0;
  f.p.init_scale_applies = SSW_GROUP_OUTER;
  assert_int_equal(ssw_init_weights(&f.p, &f.M, scaled), SSW_OK);
  for (int64_t e = 0; e < P; e++) {
    double expect = e >= ssw_theta_a(&f.M) ? 3.0 * f.theta[e] : f.theta[e];
    assert_true(scaled[e] == expect);
  }
  free(scaled), free(f.theta);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradients_match_finite_differences),
      cmocka_unit_test(test_blas_kernel_matches_plain_loops),
      cmocka_unit_test(test_blocked_kernel_matches_plain_loops_at_large_sizes),
      cmocka_unit_test(test_fused_kernel_every_dim_and_same_bits_across_sets),
      cmocka_unit_test(test_activation_values),
      cmocka_unit_test(test_symmetric_init_gives_zero_output),
      cmocka_unit_test(test_init_scale_multiplies_named_groups),
  };
  static const char *const paths[] = {"baseline", "avx2", "avx512"};
  int failed = 0;
  for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
    if (!ssw_simd_supported(paths[k])) {
      fprintf(stderr, "instruction set %s: not run, this CPU lacks it\n", paths[k]);
      continue;
    }
    assert_int_equal(ssw_simd_select(paths[k]), SSW_OK);
    for (int fused = 0; fused <= 1; fused++) {
      char name[64];
      snprintf(name, sizeof name, "%s, %s kernel", paths[k], fused ? "fused" : "BLAS");
      use_fused = fused;
      failed += _cmocka_run_group_tests(name, tests, sizeof tests / sizeof tests[0], NULL, NULL);
    }
  }
  return failed;
}
