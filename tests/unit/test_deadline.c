/* The walltime-aware hand-out's policy (deadline.h): --deadline forms against hand-computed
 * epochs, the environment look-up (SLURM_JOB_END_TIME, a stand-in squeue on PATH), the
 * margin, estimates from observed seconds per cost, and the start/stop decision. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shallowsweep/deadline.h"
#include "shallowsweep/error.h"

/* 2000000000 s after the Epoch is 2033-05-18T03:33:20Z (date -u -d @2000000000). */
static const double EPOCH_2E9 = 2000000000.0;
static const double NOW = 1999990000.0; /* 10000 s before it */

static void check_parse(const char *text, double want) {
  double end = NAN;
  int rc = ssw_deadline_parse(text, NOW, &end);
  if (rc != SSW_OK) fail_msg("--deadline '%s' did not parse: %s", text, ssw_error_message());
  if (!(end == want)) fail_msg("--deadline '%s' = %.3f, want %.3f (diff %.3f s)", text, end, want, end - want);
}

static void check_rejected(const char *text, const char *words) {
  double end = 0;
  int rc = ssw_deadline_parse(text, NOW, &end);
  if (rc != SSW_ERR_INPUT) fail_msg("--deadline '%s' was accepted (end %.3f)", text, end);
  if (!strstr(ssw_error_message(), words))
    fail_msg("--deadline '%s': message '%s' lacks '%s'", text, ssw_error_message(), words);
}

static void test_parse_forms(void **state) {
  (void)state;
  setenv("TZ", "UTC", 1); /* local times below are then UTC */
  tzset();
  check_parse("3600", NOW + 3600);
  check_parse(" 90.5", NOW + 90.5);
  check_parse("@2000000000", EPOCH_2E9);
  check_parse("2033-05-18T03:33:20Z", EPOCH_2E9);
  check_parse("2033-05-18T03:33:20", EPOCH_2E9);
  check_parse("2033-05-18 03:33:20", EPOCH_2E9);
  check_parse("2033-05-18T03:33", EPOCH_2E9 - 20);
  check_parse("none", INFINITY);
  setenv("TZ", "Europe/Berlin", 1); /* CEST in May: UTC+2 */
  tzset();
  check_parse("2033-05-18T05:33:20", EPOCH_2E9);
  check_parse("2033-05-18T03:33:20Z", EPOCH_2E9);
  setenv("TZ", "UTC", 1);
  tzset();
}

static void test_parse_rejects(void **state) {
  (void)state;
  check_rejected("tomorrow", "not a time");
  check_rejected("", "not a time");
  check_rejected("12:00", "not a time");
  check_rejected("2033-05-18T03:33:20+02", "not a time");
  check_rejected("3600s", "not a time");
  check_rejected("0", "positive");
  check_rejected("-5", "positive");
  check_rejected("@1999989999", "past");
  check_rejected("2020-01-01T00:00:00", "past");
}

/* ---- the environment ---- */

static char fake_dir[64];
static char old_path[4096];

/* A stand-in squeue on PATH that prints `line` (and checks it was asked for %e of job 4242). */
static void fake_squeue(const char *line) {
  char path[128];
  snprintf(path, sizeof path, "%s/squeue", fake_dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "#!/bin/sh\n[ \"$*\" = '-h -j 4242 -o %%e' ] || exit 3\necho '%s'\n", line);
  fclose(f);
  assert_int_equal(chmod(path, 0755), 0);
}

static int env_setup(void **state) {
  (void)state;
  snprintf(fake_dir, sizeof fake_dir, "/tmp/ssw-test-deadline-XXXXXX");
  if (!mkdtemp(fake_dir)) return -1;
  const char *p = getenv("PATH");
  snprintf(old_path, sizeof old_path, "%s", p ? p : "/usr/bin:/bin");
  char path[sizeof old_path + 80];
  snprintf(path, sizeof path, "%s:%s", fake_dir, old_path);
  setenv("PATH", path, 1);
  setenv("TZ", "UTC", 1);
  tzset();
  unsetenv("SLURM_JOB_END_TIME");
  unsetenv("SLURM_JOB_ID");
  unsetenv("SSW_DEADLINE_MARGIN");
  return 0;
}

static int env_teardown(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/squeue", fake_dir);
  unlink(path);
  rmdir(fake_dir);
  setenv("PATH", old_path, 1);
  return 0;
}

static void test_resolve_order(void **state) {
  (void)state;
  ssw_deadline_t dl;
  /* nothing set: no deadline */
  assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
  assert_false(ssw_deadline_active(&dl));
  assert_true(isinf(ssw_deadline_left(&dl, NOW)));
  /* squeue inside a job */
  setenv("SLURM_JOB_ID", "4242", 1);
  fake_squeue("2033-05-18T03:33:20");
  assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
  assert_true(dl.end == EPOCH_2E9);
  assert_non_null(strstr(dl.source, "squeue"));
  /* SLURM_JOB_END_TIME before squeue */
  setenv("SLURM_JOB_END_TIME", "2000000100", 1);
  assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
  assert_true(dl.end == EPOCH_2E9 + 100);
  /* the option before both */
  assert_int_equal(ssw_deadline_resolve(&dl, "600", NOW), SSW_OK);
  assert_true(dl.end == NOW + 600);
  assert_string_equal(dl.source, "--deadline 600");
  /* none switches the look-up off */
  assert_int_equal(ssw_deadline_resolve(&dl, "none", NOW), SSW_OK);
  assert_false(ssw_deadline_active(&dl));
  /* a bad option is an input error, whatever the environment says */
  assert_int_equal(ssw_deadline_resolve(&dl, "soon", NOW), SSW_ERR_INPUT);
  unsetenv("SLURM_JOB_END_TIME");
  unsetenv("SLURM_JOB_ID");
}

static void test_resolve_no_end(void **state) {
  (void)state;
  ssw_deadline_t dl;
  setenv("SLURM_JOB_ID", "4242", 1);
  const char *unlimited[] = {"N/A", "Unknown", "NONE", ""};
  for (size_t i = 0; i < sizeof unlimited / sizeof *unlimited; i++) {
    fake_squeue(unlimited[i]);
    assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
    if (ssw_deadline_active(&dl)) fail_msg("squeue '%s' gave a deadline %.0f", unlimited[i], dl.end);
    assert_non_null(strstr(dl.source, "none"));
  }
  /* squeue asked about another job fails (exit 3): no deadline, and no error */
  setenv("SLURM_JOB_ID", "17", 1);
  assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
  assert_false(ssw_deadline_active(&dl));
  /* a job id that is not one never reaches the shell */
  setenv("SLURM_JOB_ID", "1;touch /tmp/x", 1);
  assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
  assert_false(ssw_deadline_active(&dl));
  assert_non_null(strstr(dl.source, "not a job id"));
  setenv("SLURM_JOB_END_TIME", "soon", 1);
  assert_int_equal(ssw_deadline_resolve(&dl, NULL, NOW), SSW_OK);
  assert_false(ssw_deadline_active(&dl));
  unsetenv("SLURM_JOB_END_TIME");
  unsetenv("SLURM_JOB_ID");
}

static void test_margin(void **state) {
  (void)state;
  ssw_deadline_t dl;
  assert_int_equal(ssw_deadline_resolve(&dl, "1000", NOW), SSW_OK);
  assert_true(dl.margin_s == SSW_DEADLINE_MARGIN_S);
  assert_true(ssw_deadline_left(&dl, NOW) == 1000 - SSW_DEADLINE_MARGIN_S);
  setenv("SSW_DEADLINE_MARGIN", "75", 1);
  assert_int_equal(ssw_deadline_resolve(&dl, "1000", NOW), SSW_OK);
  assert_true(ssw_deadline_left(&dl, NOW + 100) == 1000 - 75 - 100);
  setenv("SSW_DEADLINE_MARGIN", "-1", 1);
  assert_int_equal(ssw_deadline_resolve(&dl, "1000", NOW), SSW_ERR_INPUT);
  assert_non_null(strstr(ssw_error_message(), "SSW_DEADLINE_MARGIN"));
  unsetenv("SSW_DEADLINE_MARGIN");
}

/* ---- estimates and the decision ---- */

static void test_estimate(void **state) {
  (void)state;
  assert_true(isnan(ssw_deadline_estimate(5, 0, 0, NAN)));
  assert_true(isnan(ssw_deadline_estimate(5, 10, 0, NAN)));
  assert_true(ssw_deadline_estimate(5, 0, 0, 2.0) == 10.0); /* timed before the run */
  assert_true(ssw_deadline_estimate(4, 10, 5, 3.0) == 2.0); /* what finished outranks it */
  /* 10 cost units took 5 s: 0.5 s per unit */
  assert_true(ssw_deadline_estimate(4, 10, 5, NAN) == 2.0);
  assert_true(ssw_deadline_estimate(0, 10, 5, NAN) == 0.0);
}

static void test_allows(void **state) {
  (void)state;
  ssw_deadline_t dl;
  ssw_deadline_init(&dl);
  assert_true(ssw_deadline_allows(&dl, NOW, 1e12)); /* no deadline: always */
  assert_true(ssw_deadline_allows(NULL, NOW, 1e12));
  dl.end = NOW + 130; /* 100 s left after the 30 s margin */
  dl.margin_s = 30;
  dl.safety = 1.25;
  assert_true(ssw_deadline_allows(&dl, NOW, 80));    /* 1.25 * 80 = 100 fits exactly */
  assert_false(ssw_deadline_allows(&dl, NOW, 80.5)); /* 100.6 does not */
  assert_true(ssw_deadline_allows(&dl, NOW, NAN));   /* unknown: time is left */
  assert_true(ssw_deadline_allows(&dl, NOW + 99, 0.5));
  assert_false(ssw_deadline_allows(&dl, NOW + 99, 1.0));
  assert_false(ssw_deadline_allows(&dl, NOW + 100, NAN)); /* nothing left */
  assert_false(ssw_deadline_allows(&dl, NOW + 200, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_forms),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test_setup_teardown(test_resolve_order, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_resolve_no_end, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_margin, env_setup, env_teardown),
      cmocka_unit_test(test_estimate),
      cmocka_unit_test(test_allows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
