/* Checkpoint files (checkpoint.h, DESIGN.md §13): a training stopped at update k, saved, loaded
 * in a new trainer (as the next job would) and continued equals the uninterrupted training bit
 * for bit, for full-batch GD, minibatch and online SGD; a damaged, truncated or foreign
 * checkpoint is refused with a reason and never continued; removal leaves nothing behind. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "shallowsweep/checkpoint.h"
#include "shallowsweep/error.h"
#include "shallowsweep/params.h"
#include "shallowsweep/train.h"
#include "shallowsweep/train_state.h"

static const char *const SWEEP = "name: test\n# the canonical text stands in for a sweep\n";

static char workdir[64], out_path[128];

static int make_workdir(void **unused) {
  (void)unused;
  snprintf(workdir, sizeof workdir, "/tmp/ssw-test-ckpt.XXXXXX");
  if (!mkdtemp(workdir)) return -1;
  snprintf(out_path, sizeof out_path, "%s/out.h5", workdir);
  return 0;
}

static int remove_workdir(void **unused) {
  (void)unused;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
  return system(cmd) == 0 ? 0 : -1;
}

static ssw_params_t base_params(void) {
  ssw_params_t p;
  ssw_params_init(&p);
  p.width = 16, p.dim = 3, p.n = 30, p.max_iters = 300, p.record_points = 10, p.lr = 0.3, p.tol = 0, p.seed = 1;
  return p;
}

/* Bytes of every series, the scalars the file stores (timings aside) and the final theta. */
static void assert_same(const ssw_result_t *a, const ssw_result_t *b, const double *ta, const double *tb, int64_t P) {
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    if (memcmp(a->series[s], b->series[s], (size_t)a->k * sizeof(double)) != 0) {
      for (int64_t i = 0; i < a->k; i++)
        print_error("%s[%lld]: %.17g vs %.17g\n", ssw_series_names[s], (long long)i, a->series[s][i], b->series[s][i]);
      fail_msg("series %s differs", ssw_series_names[s]);
    }
  const double sa[] = {a->init_loss, a->final_loss, a->max_rise, a->edge_ratio_init, a->edge_ratio_final, a->loss_ratio};
  const double sb[] = {b->init_loss, b->final_loss, b->max_rise, b->edge_ratio_init, b->edge_ratio_final, b->loss_ratio};
  assert_memory_equal(sa, sb, sizeof sa);
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->iters, b->iters);
  assert_int_equal(a->iters_to_tol, b->iters_to_tol);
  assert_int_equal(a->loss_rises, b->loss_rises);
  assert_int_equal(a->diagnosis, b->diagnosis);
  if (memcmp(ta, tb, (size_t)P * sizeof *ta) != 0) fail_msg("the final parameters differ");
}

/* Uninterrupted, then stopped at `at`, saved as cell `index`, loaded afresh and continued. */
static void round_trip(const ssw_params_t *p, int64_t index, int64_t at) {
  ssw_trainer_t t;
  ssw_result_t clean, resumed;
  assert_int_equal(ssw_trainer_init(&t, p), SSW_OK);
  assert_int_equal(ssw_result_init(&clean, t.p.record_points), SSW_OK);
  assert_int_equal(ssw_result_init(&resumed, t.p.record_points), SSW_OK);
  assert_int_equal(ssw_trainer_run(&t, &clean, NULL), SSW_OK);
  const int64_t P = ssw_theta_size(&t.M);
  double *theta = malloc((size_t)P * sizeof *theta);
  assert_non_null(theta);
  memcpy(theta, t.theta, (size_t)P * sizeof *theta);
  ssw_trainer_fini(&t);

  ssw_checkpoints_t *ck;
  ssw_train_state_t *state = NULL;
  assert_int_equal(ssw_trainer_init(&t, p), SSW_OK);
  t.stop_at = at;
  assert_int_equal(ssw_trainer_resume(&t, &resumed, NULL, &state), SSW_ERR_STOPPED);
  ssw_error_clear();
  ssw_trainer_fini(&t);
  assert_int_equal(ssw_checkpoints_open(&ck, out_path, SWEEP), SSW_OK);
  assert_int_equal(ssw_checkpoint_save(ck, index, state), SSW_OK);
  ssw_checkpoints_close(&ck);
  ssw_train_state_destroy(&state);

  char why[128];
  assert_int_equal(ssw_checkpoints_open(&ck, out_path, SWEEP), SSW_OK); /* the next job */
  assert_true(ssw_checkpoints_listed(ck, index));
  assert_int_equal(ssw_checkpoint_load(ck, index, &state, why, sizeof why), SSW_OK);
  if (!state) fail_msg("the checkpoint just written was refused: %s", why);
  assert_int_equal(state->step, at);
  assert_int_equal(ssw_trainer_init(&t, p), SSW_OK);
  assert_int_equal(ssw_trainer_resume(&t, &resumed, NULL, &state), SSW_OK);
  assert_same(&clean, &resumed, theta, t.theta, P);
  assert_int_equal(ssw_checkpoint_remove(ck, index), SSW_OK);
  assert_int_equal(ssw_checkpoint_remove(ck, index), SSW_OK); /* none is fine */
  ssw_checkpoints_close(&ck);
  ssw_trainer_fini(&t);
  ssw_train_state_destroy(&state);
  ssw_result_fini(&clean);
  ssw_result_fini(&resumed);
  free(theta);
}

static void test_gd_round_trip(void **unused) {
  (void)unused;
  ssw_params_t p = base_params();
  round_trip(&p, 0, 77);
  p.activation = SSW_ACT_TANH, p.bias = true, p.test_n = 12;
  round_trip(&p, 5, 1);
  p.activation = SSW_ACT_SMOOTH_STEP;
  p.bias = false;
  round_trip(&p, 6, 299);
}

static void test_sgd_round_trip(void **unused) {
  (void)unused;
  ssw_params_t p = base_params();
  p.batch_size = 8, p.activation = SSW_ACT_SOFTPLUS; /* 4 batches per epoch: 13 is mid-epoch */
  round_trip(&p, 3, 13);
  p.online = true, p.eval_n = 20, p.activation = SSW_ACT_RELU;
  round_trip(&p, 4, 101);
}

/* A state of cell 7, saved; returns the file's path in path. */
static void save_one(ssw_checkpoints_t *ck, char *path, size_t size) {
  ssw_params_t p = base_params();
  ssw_trainer_t t;
  ssw_result_t r;
  ssw_train_state_t *state = NULL;
  assert_int_equal(ssw_trainer_init(&t, &p), SSW_OK);
  assert_int_equal(ssw_result_init(&r, t.p.record_points), SSW_OK);
  t.stop_at = 50;
  assert_int_equal(ssw_trainer_resume(&t, &r, NULL, &state), SSW_ERR_STOPPED);
  ssw_error_clear();
  assert_int_equal(ssw_checkpoint_save(ck, 7, state), SSW_OK);
  ssw_checkpoint_path(ck, 7, path, size);
  ssw_trainer_fini(&t);
  ssw_result_fini(&r);
  ssw_train_state_destroy(&state);
}

static void flip_byte(const char *path, off_t at) {
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  unsigned char b;
  assert_int_equal(pread(fd, &b, 1, at), 1);
  b ^= 0x10;
  assert_int_equal(pwrite(fd, &b, 1, at), 1);
  close(fd);
}

/* Load cell 7 and expect it refused for a reason containing `want`. */
static void expect_refused(ssw_checkpoints_t *ck, const char *want) {
  ssw_train_state_t *state = NULL;
  char why[128];
  assert_int_equal(ssw_checkpoint_load(ck, 7, &state, why, sizeof why), SSW_OK);
  if (state) fail_msg("a checkpoint that should say '%s' was accepted", want);
  if (!strstr(why, want)) fail_msg("refused because '%s', expected '%s'", why, want);
}

static void test_damaged_checkpoints_refused(void **unused) {
  (void)unused;
  ssw_checkpoints_t *ck;
  char path[512];
  assert_int_equal(ssw_checkpoints_open(&ck, out_path, SWEEP), SSW_OK);
  save_one(ck, path, sizeof path);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  /* a byte flipped anywhere: magic, key, index, sizes, the payload (step, theta, series, signs), the CRC */
  const off_t offsets[] = {0, 13, 17, 30, SSW_CHECKPOINT_HEADER_BYTES, SSW_CHECKPOINT_HEADER_BYTES + 200,
                           st.st_size / 2, st.st_size - 10, st.st_size - 1};
  const char *reasons[] = {"not a shallowsweep checkpoint", "another sweep", "another cell", "wrong size",
                           "CRC-32", "CRC-32", "CRC-32", "CRC-32", "CRC-32"};
  for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
    flip_byte(path, offsets[i]);
    expect_refused(ck, reasons[i]);
    flip_byte(path, offsets[i]); /* back: accepted again */
    ssw_train_state_t *state = NULL;
    char why[128];
    assert_int_equal(ssw_checkpoint_load(ck, 7, &state, why, sizeof why), SSW_OK);
    if (!state) fail_msg("the repaired checkpoint was refused: %s", why);
    ssw_train_state_destroy(&state);
  }
  assert_int_equal(truncate(path, st.st_size - 3), 0);
  expect_refused(ck, "wrong size");
  assert_int_equal(truncate(path, 20), 0);
  expect_refused(ck, "truncated");
  ssw_checkpoints_close(&ck);
  /* another sweep's checkpoints are never continued */
  assert_int_equal(ssw_checkpoints_open(&ck, out_path, SWEEP), SSW_OK);
  save_one(ck, path, sizeof path);
  ssw_checkpoints_close(&ck);
  assert_int_equal(ssw_checkpoints_open(&ck, out_path, "name: another\n"), SSW_OK);
  expect_refused(ck, "another sweep");
  ssw_checkpoints_close(&ck);
}

static void test_remove_all(void **unused) {
  (void)unused;
  ssw_checkpoints_t *ck;
  char path[512], leftover[600], dir[300];
  assert_int_equal(ssw_checkpoints_open(&ck, out_path, SWEEP), SSW_OK);
  save_one(ck, path, sizeof path);
  snprintf(dir, sizeof dir, "%s", ssw_checkpoints_dir(ck));
  snprintf(leftover, sizeof leftover, "%s/.cell-9.ckpt.tmp.12345", dir); /* a save killed midway */
  FILE *f = fopen(leftover, "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(ssw_checkpoints_remove_all(ck), SSW_OK);
  struct stat st;
  assert_int_not_equal(stat(dir, &st), 0);
  assert_int_equal(ssw_checkpoints_remove_all(ck), SSW_OK); /* nothing there: fine */
  ssw_checkpoints_close(&ck);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gd_round_trip),
      cmocka_unit_test(test_sgd_round_trip),
      cmocka_unit_test(test_damaged_checkpoints_refused),
      cmocka_unit_test(test_remove_all),
  };
  return cmocka_run_group_tests(tests, make_workdir, remove_workdir);
}
