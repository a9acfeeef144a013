/* The cost model rank 0 schedules by (estimate.h): seconds per cell from a calibration, the
 * hand-out order they give, the timing budget of a run, the simulated hand-out. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shallowsweep/error.h"
#include "shallowsweep/estimate.h"
#include "shallowsweep/sweep.h"

static const char two_acts[] =
    "name: two-activations\n"
    "data:  {dim: 8, input: gaussian, target: random_gaussian}\n"
    "train: {lr: 0.1, max_iters: 400, record_points: 4}\n"
    "grid:\n"
    "  activation: [relu, tanh]\n"
    "  width: [64, 256]\n"
    "  n: [32]\n"
    "  seeds: 2\n";

static ssw_sweep_t *load(const char *text) {
  ssw_sweep_t *s = NULL;
  if (ssw_sweep_load_text(&s, "test.yaml", text, strlen(text), NULL, 0) != SSW_OK)
    fail_msg("load failed: %s", ssw_error_message());
  return s;
}

static int64_t cell(const ssw_sweep_t *s, int64_t act, int64_t width) {
  int64_t coords[] = {act, width, 0, 0};
  return ssw_grid_index(ssw_sweep_grid(s), coords);
}

/* Uncalibrated, a cell's seconds are its flop-equivalents at the prior speed. */
static void test_prior_seconds(void **state) {
  (void)state;
  ssw_sweep_t *s = load(two_acts);
  ssw_calibration_t none = {0};
  for (int64_t c = 0; c < ssw_sweep_grid(s)->ncells; c++) {
    double mid, lo, hi, flops = ssw_sweep_cell_cost(s, c);
    ssw_cell_seconds(s, &none, c, &mid, &lo, &hi);
    assert_true(fabs(mid - flops / SSW_PRIOR_FLOPS_PER_S) <= 1e-12 * mid);
    assert_true(lo == mid && hi == mid);
  }
  ssw_sweep_destroy(&s);
}

/* A sample timed at cell c, running at step_s and fixed_s seconds per unit of cost. */
static ssw_calib_sample_t sample(const ssw_sweep_t *s, int64_t c, double fixed_s, double step_s) {
  ssw_cell_cost_t k;
  assert_int_equal(ssw_cell_cost_split(s, c, &k), SSW_OK);
  return (ssw_calib_sample_t){.cell = c, .act = k.act, .log_step_cost = k.log_step_cost,
                              .fixed_s_per_cost = fixed_s, .step_s_per_cost = step_s, .steps = 10};
}

/* When this machine runs tanh far slower than the cost model thinks, the calibrated seconds
 * put the narrow tanh cells ahead of the wide relu ones the flop count puts first. */
static void test_calibration_orders(void **state) {
  (void)state;
  ssw_sweep_t *s = load(two_acts);
  int64_t relu_wide = cell(s, 0, 1), tanh_narrow = cell(s, 1, 0);
  assert_true(ssw_sweep_cell_cost(s, relu_wide) > ssw_sweep_cell_cost(s, tanh_narrow));
  ssw_calibration_t cal = {.n = 4, .spread = SSW_CALIB_NOISE};
  cal.s[0] = sample(s, cell(s, 0, 0), 1e-11, 1e-11);
  cal.s[1] = sample(s, relu_wide, 1e-11, 1e-11);
  cal.s[2] = sample(s, tanh_narrow, 1e-9, 1e-9);
  cal.s[3] = sample(s, cell(s, 1, 1), 1e-9, 1e-9);
  int64_t n = ssw_sweep_grid(s)->ncells;
  ssw_queued_t *q = calloc((size_t)n, sizeof *q); /* (n) */
  for (int64_t c = 0; c < n; c++) {
    double lo, hi;
    q[c].index = c;
    ssw_cell_seconds(s, &cal, c, &q[c].cost, &lo, &hi);
    assert_true(lo <= q[c].cost / (1 + SSW_CALIB_NOISE) * (1 + 1e-12) && hi >= q[c].cost * (1 + SSW_CALIB_NOISE) * (1 - 1e-12));
    ssw_cell_cost_t k;
    assert_int_equal(ssw_cell_cost_split(s, c, &k), SSW_OK);
    double rate = k.act == cal.s[2].act ? 1e-9 : 1e-11; /* every cell sits on a timed one */
    assert_true(fabs(q[c].cost - rate * (k.fixed + k.steps)) <= 1e-9 * q[c].cost);
  }
  ssw_handout_order(q, n);
  for (int64_t j = 0; j < n / 2; j++) { /* the four tanh cells (two seeds, two widths) first */
    ssw_cell_cost_t k;
    assert_int_equal(ssw_cell_cost_split(s, q[j].index, &k), SSW_OK);
    assert_int_equal(k.act, cal.s[2].act);
  }
  for (int64_t j = 1; j < n; j++) assert_true(q[j - 1].cost >= q[j].cost);
  free(q);
  ssw_sweep_destroy(&s);
}

/* A real calibration times at least one cell of each activation and predicts positive seconds. */
static void test_calibrate_times(void **state) {
  (void)state;
  ssw_sweep_t *s = load(two_acts);
  ssw_calibration_t cal;
  assert_int_equal(ssw_calibrate(s, 0.2, &cal), SSW_OK);
  bool seen[2] = {false, false};
  ssw_cell_cost_t relu, k;
  assert_int_equal(ssw_cell_cost_split(s, cell(s, 0, 0), &relu), SSW_OK);
  for (int i = 0; i < cal.n; i++) {
    seen[cal.s[i].act != relu.act] = true;
    assert_true(cal.s[i].steps > 0 && cal.s[i].step_s_per_cost > 0 && cal.s[i].fixed_s_per_cost > 0);
  }
  assert_true(seen[0] && seen[1]);
  assert_true(cal.spent_s > 0 && cal.spread >= SSW_CALIB_NOISE);
  for (int64_t c = 0; c < ssw_sweep_grid(s)->ncells; c++) {
    double mid;
    ssw_cell_seconds(s, &cal, c, &mid, NULL, NULL);
    assert_int_equal(ssw_cell_cost_split(s, c, &k), SSW_OK);
    assert_true(mid > 0 && isfinite(mid));
  }
  ssw_sweep_destroy(&s);
}

static void test_measure_budget(void **state) {
  (void)state;
  assert_true(ssw_run_measure_budget(100 * 3600.0, 1) == 5.0); /* capped */
  assert_true(fabs(ssw_run_measure_budget(50, 1) - 0.5) < 1e-12);
  assert_true(fabs(ssw_run_measure_budget(1000, 10) - 1.0) < 1e-12);
  assert_true(ssw_run_measure_budget(20, 1) == 0); /* 0.2 s: not worth it */
  assert_true(ssw_run_measure_budget(0, 4) == 0);
}

/* Jobs go in order to the worker free first. */
static void test_makespan(void **state) {
  (void)state;
  const double secs[] = {3, 3, 2, 2, 2};
  assert_true(ssw_makespan(secs, 5, NULL, 2) == 7.0);
  assert_true(ssw_makespan(secs, 5, (const double[]){0, 4}, 2) == 8.0);
  assert_true(ssw_makespan(secs, 5, NULL, 1) == 12.0);
  assert_true(ssw_makespan(secs, 5, NULL, 8) == 3.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prior_seconds),     cmocka_unit_test(test_calibration_orders),
      cmocka_unit_test(test_calibrate_times),   cmocka_unit_test(test_measure_budget),
      cmocka_unit_test(test_makespan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
