/* Training loop, verdicts, record steps, parameters and the NTK Gram identity. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shallowsweep/error.h"
#include "shallowsweep/ntk.h"
#include "shallowsweep/params.h"
#include "shallowsweep/train.h"

static ssw_params_t small_params(void) {
  ssw_params_t p;
  ssw_params_init(&p);
  p.width = 32;
  p.dim = 4;
  p.n = 8;
  p.max_iters = 300;
  p.record_points = 20; /* derived keys stay unresolved: the trainer resolves them */
  return p;
}

static void assert_results_identical(const ssw_result_t *a, const ssw_result_t *b) {
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->iters, b->iters);
  assert_memory_equal(&a->init_loss, &b->init_loss, sizeof(double));
  assert_memory_equal(&a->final_loss, &b->final_loss, sizeof(double));
  for (int s = 0; s < SSW_SERIES_COUNT; s++) assert_memory_equal(a->series[s], b->series[s], (size_t)a->k * sizeof(double));
}

/* A cell's numbers do not depend on what ran before it in the process. */
static void test_cell_is_bitwise_reproducible(void **state) {
  (void)state;
  ssw_params_t p = small_params(), q = small_params();
  q.width = 16;
  q.activation = SSW_ACT_TANH;
  q.seed = 3;
  ssw_result_t first, other, again;
  assert_int_equal(ssw_result_init(&first, p.record_points), SSW_OK);
  assert_int_equal(ssw_result_init(&other, q.record_points), SSW_OK);
  assert_int_equal(ssw_result_init(&again, p.record_points), SSW_OK);
  assert_int_equal(ssw_cell_train(&p, &first, NULL), SSW_OK);
  assert_int_equal(ssw_cell_train(&q, &other, NULL), SSW_OK);
  assert_int_equal(ssw_cell_train(&p, &again, NULL), SSW_OK);
  assert_results_identical(&first, &again);
  assert_memory_not_equal(first.series[0], other.series[0], (size_t)first.k * sizeof(double));
  ssw_result_fini(&first), ssw_result_fini(&other), ssw_result_fini(&again);
}

static void test_overparameterized_run_converges(void **state) {
  (void)state;
  ssw_params_t p = small_params();
  p.width = 512;
  p.max_iters = 5000;
  p.lr = 1.0;
  p.tol = 1e-6;
  ssw_result_t r;
  assert_int_equal(ssw_result_init(&r, p.record_points), SSW_OK);
  assert_int_equal(ssw_cell_train(&p, &r, NULL), SSW_OK);
  assert_int_equal(r.status, SSW_STATUS_CONVERGED);
  assert_true(r.final_loss <= p.tol && r.iters_to_tol == r.iters && r.iters < p.max_iters);
  /* recorded steps after the stop are NaN, those up to it finite */
  for (int64_t i = 0; i < r.k; i++)
    assert_true(r.steps[i] <= r.iters ? isfinite(r.series[SSW_SERIES_LOSS][i]) : isnan(r.series[SSW_SERIES_LOSS][i]));
  assert_true(r.series[SSW_SERIES_INNER_DIST][0] == 0.0 && r.series[SSW_SERIES_PATTERN_CHANGE][0] == 0.0);
  ssw_result_fini(&r);
}

static void test_exploding_run_is_diverged_not_converged(void **state) {
  (void)state;
  /* with the default diverge_factor, and with one so large that the loss overflows to inf */
  const char *activations[] = {"relu", "quadratic", "linear", "relu", "quadratic", "linear"};
  for (int a = 0; a < 6; a++) {
    ssw_params_t p = small_params();
    assert_int_equal(ssw_params_set(&p, "activation", activations[a]), SSW_OK);
    p.lr = 500.0;
    const bool overflow = a >= 3;
    if (overflow) p.diverge_factor = 1e300;
    ssw_result_t r;
    assert_int_equal(ssw_result_init(&r, p.record_points), SSW_OK);
    assert_int_equal(ssw_cell_train(&p, &r, NULL), SSW_OK);
    if (r.status != SSW_STATUS_DIVERGED) fail_msg("%s: status %s, expected diverged", activations[a], ssw_status_name(r.status));
    assert_true(r.iters_to_tol == -1);
    int64_t finite = 0;
    for (int64_t i = 0; i < r.k; i++) {
      for (int s = 0; s < SSW_SERIES_TEST_LOSS; s++)
        if (r.steps[i] < r.iters && (s == SSW_SERIES_LOSS || !overflow)) assert_true(isfinite(r.series[s][i]));
        else if (r.steps[i] >= r.iters) assert_true(isnan(r.series[s][i]));
      finite += r.steps[i] < r.iters;
    }
    assert_true(finite >= 1);
    ssw_result_fini(&r);
  }
}

static void test_stop_flag_abandons_the_cell(void **state) {
  (void)state;
  ssw_params_t p = small_params();
  volatile sig_atomic_t stop = 1;
  ssw_result_t r;
  assert_int_equal(ssw_result_init(&r, p.record_points), SSW_OK);
  assert_int_equal(ssw_cell_train(&p, &r, &stop), SSW_ERR_STOPPED);
  ssw_error_clear();
  ssw_result_fini(&r);
}

static void test_record_steps(void **state) {
  (void)state;
  const int64_t T[] = {1, 2, 10, 99, 1000, 20000, 12345};
  const int64_t K[] = {2, 3, 5, 11, 50, 100};
  for (size_t a = 0; a < sizeof T / sizeof T[0]; a++)
    for (size_t b = 0; b < sizeof K / sizeof K[0]; b++)
      for (int spacing = 0; spacing <= 1; spacing++) {
        if (K[b] > T[a] + 1) {
          assert_int_equal(ssw_record_steps(T[a], K[b], spacing, (int64_t[128]){0}), SSW_ERR_INPUT);
          continue;
        }
        int64_t steps[128];
        assert_int_equal(ssw_record_steps(T[a], K[b], spacing, steps), SSW_OK);
        assert_int_equal(steps[0], 0);
        assert_int_equal(steps[K[b] - 1], T[a]);
        for (int64_t i = 1; i < K[b]; i++) assert_true(steps[i] > steps[i - 1]);
      }
  int64_t steps[5];
  assert_int_equal(ssw_record_steps(10000, 5, SSW_SPACING_LOG, steps), SSW_OK);
  const int64_t expect[5] = {0, 1, 22, 464, 10000}; /* 10000^(0, 1/3, 2/3, 1) */
  assert_memory_equal(steps, expect, sizeof expect);
  ssw_error_clear();
}

static void test_params_parse_format_roundtrip(void **state) {
  (void)state;
  ssw_params_t p, q;
  ssw_params_init(&p);
  assert_int_equal(ssw_params_set(&p, "lr", "0.1"), SSW_OK);
  assert_int_equal(ssw_params_set(&p, "train", "[outer, inner]"), SSW_OK);
  assert_int_equal(ssw_params_set(&p, "activation", "smooth_step"), SSW_OK);
  assert_int_equal(ssw_params_set(&p, "bias", "true"), SSW_OK);
  ssw_params_init(&q);
  size_t count;
  const ssw_param_key_t *keys = ssw_params_keys(&count);
  for (size_t i = 0; i < count; i++) {
    char buf[512];
    ssw_params_format(&p, &keys[i], buf, sizeof buf);
    if (isnan(ssw_params_get_number(&p, &keys[i])) && keys[i].type == SSW_KEY_REAL) continue; /* derived */
    assert_int_equal(ssw_params_set(&q, keys[i].name, buf), SSW_OK);
  }
  assert_true(q.lr == 0.1 && q.train == (SSW_GROUP_INNER | SSW_GROUP_OUTER) && q.bias && q.activation == SSW_ACT_SMOOTH_STEP);
  char buf[64];
  assert_string_equal(ssw_params_format(&q, ssw_params_key("train"), buf, sizeof buf), "[inner, outer]");
  assert_string_equal(ssw_params_format(&q, ssw_params_key("lr"), buf, sizeof buf), "0.1");
}

static void test_params_reject_bad_values(void **state) {
  (void)state;
  ssw_params_t p;
  ssw_params_init(&p);
  struct { const char *key, *text, *needle; } bad[] = {
      {"width", "0", "out of range"}, {"width", "12.5", "not an integer"}, {"lr", "-1", "out of range"},
      {"lr", "abc", "not a number"}, {"tol", "-1e-3", "out of range"}, {"bias", "maybe", "not a boolean"},
      {"activation", "relux", "choose one of"}, {"train", "[inner, hidden]", "unknown group"},
      {"nosuchkey", "1", "unknown key"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(ssw_params_set(&p, bad[i].key, bad[i].text), SSW_ERR_INPUT);
    if (!strstr(ssw_error_message(), bad[i].needle) || !strstr(ssw_error_message(), bad[i].key))
      fail_msg("message for %s=%s lacks '%s': %s", bad[i].key, bad[i].text, bad[i].needle, ssw_error_message());
  }
  p.symmetric_init = true;
  p.width = 33;
  ssw_params_resolve(&p);
  assert_int_equal(ssw_params_check(&p), SSW_ERR_INPUT);
  assert_string_equal(ssw_error_key(), "width");
  assert_non_null(strstr(ssw_error_message(), "key 'width': symmetric_init pairs neurons"));
  p.width = 32;
  p.batch_size = p.n + 1;
  assert_int_equal(ssw_params_check(&p), SSW_ERR_INPUT);
  assert_string_equal(ssw_error_key(), "batch_size");
  ssw_error_clear();
}

/* K from the Gram identity equals J J^T / n from the explicit Jacobian. */
static void test_ntk_gram_identity(void **state) {
  (void)state;
  ssw_params_t p = small_params();
  p.bias = true;
  p.bias_init_std = 0.3;
  p.activation = SSW_ACT_TANH;
  ssw_trainer_t t;
  assert_int_equal(ssw_trainer_init(&t, &p), SSW_OK);
  const unsigned groups[] = {SSW_GROUP_ALL, SSW_GROUP_OUTER, SSW_GROUP_INNER, SSW_GROUP_BIAS | SSW_GROUP_OUTER};
  for (size_t g = 0; g < 4; g++) {
    const int64_t n = p.n, P = ssw_ntk_params(&t.M, groups[g]);
    double *J = calloc((size_t)(n * P), sizeof(double)), K[64], lmin, lmax;
    assert_int_equal(ssw_ntk_jacobian(&t.M, t.theta0, n, t.X, groups[g], J), SSW_OK);
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < n; k++) {
        double s = 0;
        for (int64_t c = 0; c < P; c++) s += J[i * P + c] * J[k * P + c];
        K[i * n + k] = s / (double)n;
      }
    assert_int_equal(ssw_ntk_extreme_eigs(&t.M, t.theta0, n, t.X, groups[g], &lmin, &lmax), SSW_OK);
    /* lambda_max <= trace and >= max diagonal; lambda_min <= min diagonal */
    double trace = 0, dmax = 0, dmin = INFINITY;
    for (int64_t i = 0; i < n; i++) trace += K[i * n + i], dmax = fmax(dmax, K[i * n + i]), dmin = fmin(dmin, K[i * n + i]);
    assert_true(lmax <= trace * (1 + 1e-12) && lmax >= dmax * (1 - 1e-12) && lmin <= dmin * (1 + 1e-12) && lmin >= -1e-12);
    free(J);
  }
  ssw_trainer_fini(&t);
}

/* ---- descent and diagnosis (issue 11) ---- */

/* A linear network with only its outer layer trained: L(a) = |s H a - y|^2 / 2n with H = X W^T
 * fixed, a quadratic whose Hessian s^2 H^T H / n has the top eigenvalue lambda. GD with
 * eta = c * 2 / lambda shrinks every component when c < 1 (the loss never rises) and grows the
 * top one when c > 1 (the loss rises at every step once it dominates). */
static void quadratic_cell(double c, ssw_result_t *r, ssw_params_t *p_out) {
  ssw_params_t p = small_params();
  p.activation = SSW_ACT_LINEAR;
  p.train = SSW_GROUP_OUTER;
  p.width = 6, p.dim = 3, p.n = 10, p.max_iters = 60, p.record_points = 7;
  p.tol = 0, p.tol_rel = 0, p.diverge_factor = 1e300;
  ssw_trainer_t t;
  assert_int_equal(ssw_trainer_init(&t, &p), SSW_OK);
  const int64_t n = p.n, m = p.width, d = p.dim;
  double H[10 * 6], G[6 * 6], w[6];
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) {
      double z = 0.0;
      for (int64_t k = 0; k < d; k++) z += t.theta0[j * d + k] * t.X[i * d + k];
      H[i * m + j] = z;
    }
  for (int64_t j = 0; j < m; j++) /* G = s^2 H^T H / n (m, m) */
    for (int64_t k = 0; k < m; k++) {
      double sum = 0.0;
      for (int64_t i = 0; i < n; i++) sum += H[i * m + j] * H[i * m + k];
      G[j * m + k] = t.p.output_scale * t.p.output_scale * sum / (double)n;
    }
  /* lambda_max by plain power iteration on the explicit 6 x 6 matrix (independent of ntk.c) */
  for (int j = 0; j < 6; j++) w[j] = 1.0;
  double lambda = 0.0;
  for (int it = 0; it < 5000; it++) {
    double v[6], norm = 0.0;
    for (int j = 0; j < 6; j++) {
      v[j] = 0.0;
      for (int k = 0; k < 6; k++) v[j] += G[j * 6 + k] * w[k];
      norm += v[j] * v[j];
    }
    norm = sqrt(norm);
    lambda = norm;
    for (int j = 0; j < 6; j++) w[j] = v[j] / norm;
  }
  ssw_trainer_fini(&t);
  p.lr = c * 2.0 / lambda;
  assert_int_equal(ssw_result_init(r, p.record_points), SSW_OK);
  assert_int_equal(ssw_cell_train(&p, r, NULL), SSW_OK);
  if (fabs(r->edge_ratio_init - c) > 1e-8 * c)
    fail_msg("edge ratio %.12g, expected eta lambda / 2 = %.12g", r->edge_ratio_init, c);
  *p_out = p;
}

static void test_descent_counter_on_a_quadratic(void **state) {
  (void)state;
  ssw_result_t r;
  ssw_params_t p;
  quadratic_cell(0.9, &r, &p); /* below the edge: GD never increases the loss */
  assert_int_equal(r.status, SSW_STATUS_MAX_ITERS);
  assert_int_equal(r.loss_rises, 0);
  assert_true(r.max_rise == 0.0);
  assert_true(r.diagnosis != SSW_DIAG_UNSTABLE);
  ssw_result_fini(&r);
  quadratic_cell(1.1, &r, &p); /* beyond it: the top component grows by |1 - 2.2| = 1.2 a step */
  assert_int_equal(r.status, SSW_STATUS_MAX_ITERS);
  if (!(r.loss_rises >= 40)) fail_msg("%lld rises in 60 steps beyond the edge", (long long)r.loss_rises);
  assert_true(r.max_rise > 0.1 && r.max_rise < 1.0); /* the top term's ratio 1.2^2 - 1 = 0.44, once it dominates */
  assert_int_equal(r.diagnosis, SSW_DIAG_UNSTABLE);
  assert_true(r.edge_ratio_final > 1.0);
  ssw_result_fini(&r);
}

/* A made-up max_iters result: steps 0, 100, ..., 1000 and loss L(t), no rises, edge 0.5. */
static void made_up(ssw_result_t *r, double (*L)(double)) {
  assert_int_equal(ssw_result_init(r, 11), SSW_OK);
  for (int i = 0; i <= 10; i++) {
    r->steps[i] = 100 * i;
    r->series[SSW_SERIES_LOSS][i] = L(100.0 * i);
  }
  r->status = SSW_STATUS_MAX_ITERS;
  r->init_loss = L(0);
  r->loss_rises = 0, r->max_rise = 0, r->edge_ratio_init = r->edge_ratio_final = 0.5;
}

/* tol 1e-8 from L(1000) = 1e-2 takes ln(1e6) / rate more steps: 5000 at this rate (slow, within
 * 9 x 1000), 20000 at the next (plateau). */
static double fast_decay(double t) { return 1e-2 * exp(log(1e6) / 5000.0 * (1000.0 - t)); }
static double slow_decay(double t) { return 1e-2 * exp(log(1e6) / 20000.0 * (1000.0 - t)); }
static double flat(double t) { return 0.3 + 0.0 * t; }
static double rising(double t) { return 0.3 + 1e-9 * t; }

static void test_diagnosis_rules(void **state) {
  (void)state;
  ssw_params_t p = small_params();
  p.max_iters = 1000, p.tol = 1e-8, p.tol_rel = 0, p.activation = SSW_ACT_TANH;
  ssw_result_t r;
  made_up(&r, fast_decay);
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_SLOW);
  r.loss_rises = 3, r.max_rise = 1e-3; /* a real rise: instability comes first */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_UNSTABLE);
  p.activation = SSW_ACT_RELU; /* a ReLU's loss rises as steps cross kinks, below the edge too */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_SLOW);
  p.activation = SSW_ACT_TANH;
  p.batch_size = 10; /* SGD's loss rises with its noise, below the edge too */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_SLOW);
  p.online = true;
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_SLOW);
  p.batch_size = 0, p.online = false;
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_UNSTABLE);
  r.max_rise = 1e-8; /* round-off-sized rises are not instability */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_SLOW);
  r.loss_rises = 0, r.edge_ratio_final = 0.97; /* at the edge of stability at the end */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_UNSTABLE);
  p.activation = SSW_ACT_RELU; /* whatever the activation */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_UNSTABLE);
  r.edge_ratio_final = 0.5, r.edge_ratio_init = 1.1; /* beyond it at the start */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_UNSTABLE);
  r.edge_ratio_init = 0.5;
  p.activation = SSW_ACT_TANH;
  r.status = SSW_STATUS_CONVERGED;
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_NONE);
  ssw_result_fini(&r);
  made_up(&r, slow_decay);
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_PLATEAU);
  p.tol = 1e-5; /* the same decay reaches a looser tolerance in 10000 steps: 9 x 1000 is the limit */
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_PLATEAU);
  p.tol = 1e-4;
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_SLOW);
  ssw_result_fini(&r);
  p.tol = 1e-8;
  made_up(&r, flat);
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_PLATEAU);
  ssw_result_fini(&r);
  made_up(&r, rising);
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_PLATEAU);
  r.status = SSW_STATUS_DIVERGED;
  assert_int_equal(ssw_diagnose(&p, &r), SSW_DIAG_NONE);
  ssw_result_fini(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cell_is_bitwise_reproducible),
      cmocka_unit_test(test_overparameterized_run_converges),
      cmocka_unit_test(test_exploding_run_is_diverged_not_converged),
      cmocka_unit_test(test_stop_flag_abandons_the_cell),
      cmocka_unit_test(test_record_steps),
      cmocka_unit_test(test_params_parse_format_roundtrip),
      cmocka_unit_test(test_params_reject_bad_values),
      cmocka_unit_test(test_ntk_gram_identity),
      cmocka_unit_test(test_descent_counter_on_a_quadratic),
      cmocka_unit_test(test_diagnosis_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
