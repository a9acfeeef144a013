/* The edge ratio (ntk.c): the Lanczos iteration's top eigenvalue of the rate-weighted NTK
 * K_D = J D J^T / n against a full eigendecomposition (LAPACKE dsyevd) of the same matrix
 * built from the explicit Jacobian, on random small cells: every activation, bias on and off,
 * every trained-group set, rate ratios from 1e-2 to 1e2. */
#include <lapacke.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "shallowsweep/data.h"
#include "shallowsweep/init.h"
#include "shallowsweep/ntk.h"

enum { N = 15, D = 3, M = 7 }; /* odd sizes on purpose */

/* A cell of params p: its model, training inputs X (N, D) and initial theta (P, malloc'ed). */
static double *make_cell(ssw_params_t *p, ssw_model_t *Mod, double *X) {
  double y[N];
  ssw_params_resolve(p);
  ssw_model_from_params(Mod, p);
  double *theta = calloc((size_t)ssw_theta_size(Mod), sizeof *theta);
  assert_non_null(theta);
  ssw_source_t src;
  assert_int_equal(ssw_source_init(&src, p), SSW_OK);
  assert_int_equal(ssw_source_draw(&src, SSW_SET_TRAIN, 0, N, X, y), SSW_OK);
  ssw_source_fini(&src);
  assert_int_equal(ssw_init_weights(p, Mod, theta), SSW_OK);
  return theta;
}

/* lambda_max of J D J^T / n from J (n, P_trained), columns W, b, a in theta order. */
static double full_top_eig(const ssw_model_t *Mod, const double *theta, const double *X, unsigned groups,
                           double eta_in, double eta_out) {
  const int64_t P = ssw_ntk_params(Mod, groups);
  double *J = calloc((size_t)(N * P), sizeof *J), *rate = calloc((size_t)P, sizeof *rate);
  double K[N * N], w[N];
  assert_true(J && rate);
  assert_int_equal(ssw_ntk_jacobian(Mod, theta, N, X, groups, J), SSW_OK);
  int64_t col = 0;
  if (groups & SSW_GROUP_INNER)
    for (int64_t e = 0; e < Mod->m * Mod->d; e++) rate[col++] = eta_in;
  if (Mod->bias && (groups & SSW_GROUP_BIAS))
    for (int64_t e = 0; e < Mod->m; e++) rate[col++] = eta_in;
  if (groups & SSW_GROUP_OUTER)
    for (int64_t e = 0; e < Mod->m; e++) rate[col++] = eta_out;
  assert_int_equal(col, P);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0.0;
      for (int64_t c = 0; c < P; c++) s += J[i * P + c] * rate[c] * J[j * P + c];
      K[i * N + j] = s / N;
    }
  assert_int_equal(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', N, K, N, w), 0);
  free(J), free(rate);
  return w[N - 1];
}

static void test_lanczos_matches_full_eigendecomposition(void **state) {
  (void)state;
  static const unsigned group_sets[] = {SSW_GROUP_INNER, SSW_GROUP_OUTER, SSW_GROUP_INNER | SSW_GROUP_OUTER,
                                        SSW_GROUP_ALL};
  static const double ratios[] = {1e-2, 1.0, 1e2};
  int failures = 0, cases = 0, most_iters = 0;
  double worst = 0.0;
  for (int act = 0; act < SSW_ACT_COUNT; act++)
    for (int bias = 0; bias <= 1; bias++)
      for (size_t g = 0; g < sizeof group_sets / sizeof group_sets[0]; g++)
        for (size_t q = 0; q < sizeof ratios / sizeof ratios[0]; q++) {
          ssw_params_t p;
          ssw_params_init(&p);
          p.width = M, p.dim = D, p.n = N, p.activation = (ssw_activation_t)act, p.bias = bias;
          p.bias_init_std = 0.5, p.ramp_width = 2.0, p.seed = (int64_t)(act * 31 + g * 7 + q);
          ssw_model_t Mod;
          double X[N * D], *theta = make_cell(&p, &Mod, X);
          const double eta_out = 0.7, eta_in = ratios[q] * eta_out;
          ssw_edge_t edge;
          assert_int_equal(ssw_ntk_edge_ratio(&Mod, theta, N, X, group_sets[g], eta_in, eta_out, &edge), SSW_OK);
          double want = full_top_eig(&Mod, theta, X, group_sets[g], eta_in, eta_out);
          double err = fabs(edge.lambda_max - want) / fmax(fabs(want), 1e-300);
          if (want == 0.0) err = fabs(edge.lambda_max); /* linear-in-nothing cases: all zero */
          worst = fmax(worst, err);
          most_iters = edge.iters > most_iters ? edge.iters : most_iters;
          cases++;
          if (!(err < 1e-8) || edge.ratio != edge.lambda_max / 2) {
            fprintf(stderr, "FAIL %s bias=%d groups=%u ratio=%g: Lanczos %.17g vs full %.17g (rel %.2e, %d iters)\n",
                    ssw_activation_name((ssw_activation_t)act), bias, group_sets[g], ratios[q], edge.lambda_max,
                    want, err, edge.iters);
            failures++;
          }
          free(theta);
        }
  fprintf(stderr, "%d cases: largest relative error %.2e (tolerance 1e-8), at most %d Lanczos steps\n", cases,
          worst, most_iters);
  assert_int_equal(failures, 0);
}

/* A linear model (identity activation, outer layer only): K = s^2 H H^T / n is known in closed
 * form, so the edge ratio of a step eta is eta * lambda_max(H H^T) s^2 / (2n). */
static void test_linear_outer_layer_closed_form(void **state) {
  (void)state;
  ssw_params_t p;
  ssw_params_init(&p);
  p.width = M, p.dim = D, p.n = N, p.activation = SSW_ACT_LINEAR, p.seed = 5;
  ssw_model_t Mod;
  double X[N * D], *theta = make_cell(&p, &Mod, X);
  double H[N * M], K[N * N], w[N];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < M; j++) {
      double z = 0.0;
      for (int c = 0; c < D; c++) z += theta[j * D + c] * X[i * D + c];
      H[i * M + j] = z;
    }
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) {
      double s = 0.0;
      for (int j = 0; j < M; j++) s += H[i * M + j] * H[k * M + j];
      K[i * N + k] = Mod.s * Mod.s * s / N;
    }
  assert_int_equal(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', N, K, N, w), 0);
  ssw_edge_t edge;
  assert_int_equal(ssw_ntk_edge_ratio(&Mod, theta, N, X, SSW_GROUP_OUTER, 123.0, 0.3, &edge), SSW_OK);
  assert_true(edge.converged);
  assert_true(fabs(edge.ratio - 0.3 * w[N - 1] / 2) <= 1e-10 * edge.ratio);
  free(theta);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lanczos_matches_full_eigendecomposition),
      cmocka_unit_test(test_linear_outer_layer_closed_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
