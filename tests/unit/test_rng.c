/* Random numbers and data: Philox known answers, distribution (Kolmogorov-Smirnov), purity of
 * draws, dataset nesting along n. */
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
#include "shallowsweep/params.h"
#include "shallowsweep/rng.h"

enum { KS_SAMPLES = 100000 };
/* Kolmogorov-Smirnov critical value at alpha = 0.001 for large N: 1.9495 / sqrt(N)
 * (Smirnov's asymptotic distribution, e.g. Press et al., Numerical Recipes §14.3). */
#define KS_CRITICAL_001 1.9495

static void test_philox_known_answers(void **state) {
  (void)state;
  const char *dir = getenv("SSW_SOURCE_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/data/philox4x32-10-kat.txt", dir ? dir : ".");
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s (set SSW_SOURCE_DIR to the source tree)", path);
  char line[512];
  int checked = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    char name[32];
    unsigned rounds, c[4], k[2], e[4];
    int got = sscanf(line, "%31s %u %x %x %x %x %x %x %x %x %x %x", name, &rounds, &c[0], &c[1], &c[2], &c[3],
                     &k[0], &k[1], &e[0], &e[1], &e[2], &e[3]);
    assert_int_equal(got, 12);
    uint32_t ctr[4] = {c[0], c[1], c[2], c[3]}, key[2] = {k[0], k[1]}, out[4];
    ssw_rng_philox4x32_10(ctr, key, out);
    for (int i = 0; i < 4; i++)
      if (out[i] != e[i]) fail_msg("KAT line %d word %d: got %08x, expected %08x", checked + 1, i, out[i], e[i]);
    checked++;
  }
  fclose(f);
  assert_true(checked >= 3);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double std_normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double uniform_cdf(double x) { return x; }

/* sup |F_n - F| of sorted samples. */
static double ks_statistic(double *v, size_t count, double (*cdf)(double)) {
  qsort(v, count, sizeof *v, cmp_double);
  double worst = 0.0;
  for (size_t i = 0; i < count; i++) {
    double F = cdf(v[i]);
    worst = fmax(worst, fmax(fabs((double)(i + 1) / (double)count - F), fabs(F - (double)i / (double)count)));
  }
  return worst;
}

static void test_uniforms_and_gaussians_pass_ks(void **state) {
  (void)state;
  double *v = malloc(KS_SAMPLES * sizeof *v);
  const double critical = KS_CRITICAL_001 / sqrt((double)KS_SAMPLES);
  ssw_rng_uniforms(SSW_STREAM_DATA, 42, 7, 0, KS_SAMPLES, v);
  for (size_t i = 0; i < KS_SAMPLES; i++) assert_true(v[i] > 0.0 && v[i] < 1.0);
  double D_u = ks_statistic(v, KS_SAMPLES, uniform_cdf);
  ssw_rng_gaussians(SSW_STREAM_INIT, 42, 7, 0, KS_SAMPLES, v);
  double D_g = ks_statistic(v, KS_SAMPLES, std_normal_cdf);
  /* across indices too: draw 0 of 10^5 different indices */
  for (size_t i = 0; i < KS_SAMPLES; i++) v[i] = ssw_rng_gaussian(SSW_STREAM_LABELS, 3, i, 1, 0);
  double D_i = ks_statistic(v, KS_SAMPLES, std_normal_cdf);
  fprintf(stderr, "KS: uniform D=%.5f gaussian D=%.5f across-index D=%.5f (critical %.5f)\n", D_u, D_g, D_i,
          critical);
  assert_true(D_u < critical);
  assert_true(D_g < critical);
  assert_true(D_i < critical);
  free(v);
}

static void test_single_draws_equal_array_draws(void **state) {
  (void)state;
  double arr[9];
  ssw_rng_gaussians(SSW_STREAM_TEST, 5, 123456789012ull, 3, 9, arr);
  for (uint64_t i = 0; i < 9; i++) assert_true(arr[i] == ssw_rng_gaussian(SSW_STREAM_TEST, 5, 123456789012ull, 3, i));
  ssw_rng_uniforms(SSW_STREAM_TEST, 5, 1, 3, 9, arr);
  for (uint64_t i = 0; i < 9; i++) assert_true(arr[i] == ssw_rng_uniform(SSW_STREAM_TEST, 5, 1, 3, i));
  /* different streams and seeds differ */
  assert_true(ssw_rng_uniform(SSW_STREAM_DATA, 5, 1, 0, 0) != ssw_rng_uniform(SSW_STREAM_LABELS, 5, 1, 0, 0));
  assert_true(ssw_rng_uniform(SSW_STREAM_DATA, 5, 1, 0, 0) != ssw_rng_uniform(SSW_STREAM_DATA, 6, 1, 0, 0));
}

/* The first 32 samples of an n = 64 dataset are the n = 32 dataset, for every input/target. */
static void test_datasets_nest_along_n(void **state) {
  (void)state;
  const char *configs[][2] = {{"input", "gaussian"}, {"input", "sphere"}, {"input", "uniform"},
                              {"target", "random_sign"}, {"target", "teacher"}, {"label_noise", "0.3"}};
  for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
    double *X[2], *y[2];
    for (int k = 0; k < 2; k++) {
      ssw_params_t p;
      ssw_params_init(&p);
      p.dim = 7;
      p.n = k == 0 ? 32 : 64;
      p.seed = 4;
      assert_int_equal(ssw_params_set(&p, configs[c][0], configs[c][1]), SSW_OK);
      ssw_params_resolve(&p);
      ssw_source_t src;
      assert_int_equal(ssw_source_init(&src, &p), SSW_OK);
      X[k] = malloc((size_t)(p.n * p.dim) * sizeof(double));
      y[k] = malloc((size_t)p.n * sizeof(double));
      assert_int_equal(ssw_source_draw(&src, SSW_SET_TRAIN, 0, p.n, X[k], y[k]), SSW_OK);
      ssw_source_fini(&src);
    }
    assert_memory_equal(X[0], X[1], 32 * 7 * sizeof(double));
    assert_memory_equal(y[0], y[1], 32 * sizeof(double));
    assert_memory_not_equal(X[1], X[1] + 32 * 7, 32 * 7 * sizeof(double));
    for (int k = 0; k < 2; k++) free(X[k]), free(y[k]);
  }
}

static void test_sphere_inputs_have_unit_norm(void **state) {
  (void)state;
  ssw_params_t p;
  ssw_params_init(&p);
  p.input = SSW_INPUT_SPHERE;
  p.dim = 9;
  ssw_params_resolve(&p);
  ssw_source_t src;
  assert_int_equal(ssw_source_init(&src, &p), SSW_OK);
  double X[20 * 9], y[20];
  assert_int_equal(ssw_source_draw(&src, SSW_SET_TEST, 0, 20, X, y), SSW_OK);
  for (int i = 0; i < 20; i++) {
    double s = 0;
    for (int c = 0; c < 9; c++) s += X[i * 9 + c] * X[i * 9 + c];
    assert_true(fabs(s - 1.0) < 1e-14);
  }
  ssw_source_fini(&src);
}

static void test_piecewise_constant_labels(void **state) {
  (void)state;
  ssw_params_t p;
  ssw_params_init(&p);
  p.dim = 1;
  p.input = SSW_INPUT_UNIFORM;
  assert_int_equal(ssw_params_set(&p, "target", "piecewise_constant"), SSW_OK);
  assert_int_equal(ssw_params_set(&p, "target_breakpoints", "[0.25, 0.75]"), SSW_OK);
  assert_int_equal(ssw_params_set(&p, "target_values", "[-1, 2, 5]"), SSW_OK);
  ssw_params_resolve(&p);
  assert_int_equal(ssw_params_check(&p), SSW_OK);
  ssw_source_t src;
  assert_int_equal(ssw_source_init(&src, &p), SSW_OK);
  double X[200], y[200];
  assert_int_equal(ssw_source_draw(&src, SSW_SET_TRAIN, 0, 200, X, y), SSW_OK);
  for (int i = 0; i < 200; i++) {
    double expect = X[i] < 0.25 ? -1 : (X[i] < 0.75 ? 2 : 5);
    assert_true(y[i] == expect);
  }
  ssw_source_fini(&src);
}

static void test_batch_permutation_is_a_permutation(void **state) {
  (void)state;
  int64_t perm[50], other[50];
  ssw_batch_permutation(9, 3, 50, perm);
  ssw_batch_permutation(9, 4, 50, other);
  int seen[50] = {0};
  for (int i = 0; i < 50; i++) seen[perm[i]]++;
  for (int i = 0; i < 50; i++) assert_int_equal(seen[i], 1);
  assert_memory_not_equal(perm, other, sizeof perm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_philox_known_answers),
      cmocka_unit_test(test_uniforms_and_gaussians_pass_ks),
      cmocka_unit_test(test_single_draws_equal_array_draws),
      cmocka_unit_test(test_datasets_nest_along_n),
      cmocka_unit_test(test_sphere_inputs_have_unit_norm),
      cmocka_unit_test(test_piecewise_constant_labels),
      cmocka_unit_test(test_batch_permutation_is_a_permutation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
