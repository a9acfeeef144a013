/* A training stopped at update k and continued from its state equals the uninterrupted one bit
 * for bit (train_state.h, DESIGN.md §13): every recorded series, every scalar but the timings,
 * and the final parameters, for full-batch GD, minibatch SGD (stopped mid-epoch) and online
 * SGD, with several activations, stopped at a record point, between record points, and
 * several times over. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shallowsweep/error.h"
#include "shallowsweep/params.h"
#include "shallowsweep/train.h"
#include "shallowsweep/train_state.h"

static ssw_params_t base_params(void) {
  ssw_params_t p;
  ssw_params_init(&p);
  p.width = 24;
  p.dim = 5;
  p.n = 40;
  p.max_iters = 400;
  p.record_points = 12;
  p.lr = 0.3;
  p.tol = 0;
  p.seed = 2;
  return p;
}

/* A byte-wise comparison that says where two double arrays first differ. */
static void same_doubles(const char *what, const double *a, const double *b, int64_t count) {
  if (memcmp(a, b, (size_t)count * sizeof *a) == 0) return;
  int shown = 0;
  double worst = 0;
  for (int64_t i = 0; i < count; i++) {
    if (memcmp(a + i, b + i, sizeof *a) == 0) continue;
    worst = fmax(worst, fabs(a[i] - b[i]));
    if (shown++ < 3) print_error("%s[%lld]: %.17g vs %.17g\n", what, (long long)i, a[i], b[i]);
  }
  fail_msg("%s differs in %d places, largest difference %.3g", what, shown, worst);
}

static void same_results(const ssw_result_t *a, const ssw_result_t *b) {
  for (int s = 0; s < SSW_SERIES_COUNT; s++) same_doubles(ssw_series_names[s], a->series[s], b->series[s], a->k);
  same_doubles("final_series", a->final_series, b->final_series, SSW_SERIES_COUNT);
  const double fa[] = {a->init_loss, a->final_loss, a->ntk_min, a->ntk_max, a->max_rise, a->edge_ratio_init,
                       a->edge_ratio_final, a->loss_ratio};
  const double fb[] = {b->init_loss, b->final_loss, b->ntk_min, b->ntk_max, b->max_rise, b->edge_ratio_init,
                       b->edge_ratio_final, b->loss_ratio};
  same_doubles("scalars (init_loss .. loss_ratio)", fa, fb, 8);
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->iters, b->iters);
  assert_int_equal(a->iters_to_tol, b->iters_to_tol);
  assert_int_equal(a->loss_rises, b->loss_rises);
  assert_int_equal(a->diagnosis, b->diagnosis);
}

/* Train p uninterrupted, then again stopped at each of stops[] (increasing) and continued from
 * the state; compare results and final parameters. */
static void check_continuation(const ssw_params_t *p, const int64_t *stops, int nstops) {
  ssw_trainer_t t;
  ssw_result_t clean, pieced;
  assert_int_equal(ssw_trainer_init(&t, p), SSW_OK);
  assert_int_equal(ssw_result_init(&clean, t.p.record_points), SSW_OK);
  assert_int_equal(ssw_result_init(&pieced, t.p.record_points), SSW_OK);
  assert_int_equal(ssw_trainer_run(&t, &clean, NULL), SSW_OK);
  const int64_t P = ssw_theta_size(&t.M);
  double *theta_clean = malloc((size_t)P * sizeof *theta_clean);
  assert_non_null(theta_clean);
  memcpy(theta_clean, t.theta, (size_t)P * sizeof *theta_clean);
  ssw_trainer_fini(&t);

  ssw_train_state_t *state = NULL;
  for (int i = 0; i < nstops; i++) { /* each piece in a fresh trainer, as a new job would */
    assert_int_equal(ssw_trainer_init(&t, p), SSW_OK);
    t.stop_at = stops[i];
    assert_int_equal(ssw_trainer_resume(&t, &pieced, NULL, &state), SSW_ERR_STOPPED);
    ssw_error_clear();
    assert_non_null(state);
    assert_int_equal(state->step, stops[i]);
    assert_int_equal(state->stops, i + 1);
    ssw_trainer_fini(&t);
  }
  assert_int_equal(ssw_trainer_init(&t, p), SSW_OK);
  assert_int_equal(ssw_trainer_resume(&t, &pieced, NULL, &state), SSW_OK);
  same_results(&clean, &pieced);
  same_doubles("final theta", theta_clean, t.theta, P);
  assert_true(pieced.wall_s >= state->wall_s); /* summed over the pieces */
  ssw_trainer_fini(&t);
  ssw_train_state_destroy(&state);
  free(theta_clean);
  ssw_result_fini(&clean);
  ssw_result_fini(&pieced);
}

static void test_full_batch_gd(void **unused) {
  (void)unused;
  const ssw_activation_t acts[] = {SSW_ACT_RELU, SSW_ACT_TANH, SSW_ACT_SOFTPLUS, SSW_ACT_GELU};
  for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
    ssw_params_t p = base_params();
    p.activation = acts[a];
    p.bias = a % 2 == 1;
    p.test_n = a == 2 ? 16 : 0;
    const int64_t stops[] = {1, 37, 250}; /* 37 lies between record points */
    check_continuation(&p, stops, 3);
  }
}

static void test_at_a_record_point(void **unused) {
  (void)unused;
  ssw_params_t p = base_params();
  p.record_spacing = SSW_SPACING_LINEAR; /* record points at multiples of 400 / 11 */
  p.record_sharpness = true;
  p.ntk_eigs = true;
  int64_t steps[12];
  assert_int_equal(ssw_record_steps(p.max_iters, p.record_points, p.record_spacing, steps), SSW_OK);
  const int64_t stops[] = {steps[3], steps[3] + 1, steps[10]};
  check_continuation(&p, stops, 3);
}

static void test_minibatch_sgd_mid_epoch(void **unused) {
  (void)unused;
  ssw_params_t p = base_params();
  p.batch_size = 7; /* 6 batches per epoch of 40, the last one of 5 */
  p.activation = SSW_ACT_SIGMOID;
  const int64_t stops[] = {3, 6, 100, 397}; /* mid-epoch, at an epoch's start, ... */
  check_continuation(&p, stops, 4);
}

static void test_online_sgd(void **unused) {
  (void)unused;
  ssw_params_t p = base_params();
  p.online = true;
  p.batch_size = 8;
  p.eval_n = 32;
  p.activation = SSW_ACT_ERF;
  const int64_t stops[] = {5, 123};
  check_continuation(&p, stops, 2);
}

static void test_converging_cell(void **unused) {
  (void)unused;
  ssw_params_t p = base_params(); /* converges early: iters_to_tol and NaN after it */
  p.width = 256;
  p.n = 8;
  p.lr = 1.0;
  p.tol = 1e-6;
  p.max_iters = 5000;
  const int64_t stops[] = {10, 20};
  check_continuation(&p, stops, 2);
}

/* A state of another cell is refused, and the trainer can still run the cell from step 0. */
static void test_foreign_state_refused(void **unused) {
  (void)unused;
  ssw_params_t p = base_params(), q = base_params();
  q.width = 12;
  ssw_trainer_t t;
  ssw_result_t r;
  ssw_train_state_t *state = NULL;
  assert_int_equal(ssw_trainer_init(&t, &q), SSW_OK);
  assert_int_equal(ssw_result_init(&r, t.p.record_points), SSW_OK);
  t.stop_at = 10;
  assert_int_equal(ssw_trainer_resume(&t, &r, NULL, &state), SSW_ERR_STOPPED);
  ssw_trainer_fini(&t);
  ssw_error_clear();
  assert_int_equal(ssw_trainer_init(&t, &p), SSW_OK);
  assert_int_equal(ssw_trainer_resume(&t, &r, NULL, &state), SSW_ERR_INPUT);
  assert_non_null(strstr(ssw_error_message(), "not made for this cell"));
  ssw_error_clear();
  assert_int_equal(ssw_trainer_run(&t, &r, NULL), SSW_OK);
  ssw_trainer_fini(&t);
  ssw_train_state_destroy(&state);
  ssw_result_fini(&r);
}

/* Stopped before the first update there is nothing to keep. */
static void test_stop_at_step_zero_keeps_nothing(void **unused) {
  (void)unused;
  ssw_params_t p = base_params();
  volatile sig_atomic_t stop = 1;
  ssw_result_t r;
  ssw_train_state_t *state = NULL;
  assert_int_equal(ssw_result_init(&r, p.record_points), SSW_OK);
  assert_int_equal(ssw_cell_train_resume(&p, &r, &stop, &state), SSW_ERR_STOPPED);
  ssw_error_clear();
  assert_null(state);
  ssw_result_fini(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_batch_gd),
      cmocka_unit_test(test_at_a_record_point),
      cmocka_unit_test(test_minibatch_sgd_mid_epoch),
      cmocka_unit_test(test_online_sgd),
      cmocka_unit_test(test_converging_cell),
      cmocka_unit_test(test_foreign_state_refused),
      cmocka_unit_test(test_stop_at_step_zero_keeps_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
