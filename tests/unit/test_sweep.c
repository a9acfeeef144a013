/* Sweep files: resolution, expressions per cell, --set, the canonical round trip, index <->
 * coordinates, finding cells, cost. (Bad files are tested by tests/cli, table-driven.) */
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
#include "shallowsweep/sweep.h"

static const char razborov[] =
    "name: razborov-rates\n"
    "description: both layers trained, rate ratio across six decades\n"
    "model:    {activation: relu, output_scale: 1/sqrt(width)}\n"
    "data:     {dim: 16, input: gaussian, target: random_gaussian}\n"
    "init:     {inner_init_std: 1/sqrt(dim), outer_init: gaussian}\n"
    "train:    {lr: 0.5, max_iters: 20000, tol: 1e-8, record_points: 100}\n"
    "grid:\n"
    "  width:      {geom: [16, 4096], num: 9}\n"
    "  n:          [16, 32, 64, 128, 256]\n"
    "  init_scale: {geom: [0.01, 10], num: 4}\n"
    "  rate_ratio: {geom: [1e-3, 1e3], num: 7}\n"
    "  seeds: 5\n";

static ssw_sweep_t *load(const char *text, const char *const *sets, int nsets) {
  ssw_sweep_t *s = NULL;
  if (ssw_sweep_load_text(&s, "test.yaml", text, strlen(text), sets, nsets) != SSW_OK)
    fail_msg("load failed: %s", ssw_error_message());
  return s;
}

static void test_razborov(void **state) {
  (void)state;
  ssw_sweep_t *s = load(razborov, NULL, 0);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  assert_string_equal(ssw_sweep_name(s), "razborov-rates");
  assert_int_equal(g->naxes, 5);
  assert_int_equal(g->ncells, 9 * 5 * 4 * 7 * 5);
  const double widths[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  for (int i = 0; i < 9; i++) assert_true(g->axes[0].values[i] == widths[i]);
  assert_string_equal(g->axes[2].labels[1], "0.1");
  assert_string_equal(g->axes[3].labels[2], "0.1");
  assert_string_equal(g->axes[4].name, "seed");
  assert_int_equal(ssw_sweep_record_points(s), 100);
  /* Cell (width=256, n=64, init_scale=1, rate_ratio=10, seed=3). */
  int64_t coords[] = {4, 2, 2, 4, 3}, back[5];
  int64_t index = ssw_grid_index(g, coords);
  ssw_grid_coords(g, index, back);
  assert_memory_equal(coords, back, sizeof coords);
  ssw_params_t p;
  assert_int_equal(ssw_sweep_cell_params(s, index, &p), SSW_OK);
  assert_int_equal(p.width, 256);
  assert_int_equal(p.n, 64);
  assert_true(p.init_scale == 1.0);
  assert_true(p.rate_ratio == 10.0);
  assert_int_equal(p.seed, 3);
  assert_true(p.output_scale == 1.0 / 16.0);
  assert_true(p.inner_init_std == 0.25);
  assert_true(p.lr == 0.5);
  int64_t found;
  assert_int_equal(ssw_grid_find(g, "width=256,n=64,init_scale=1,rate_ratio=10,seed=3", &found), SSW_OK);
  assert_int_equal(found, index);
  assert_int_equal(ssw_grid_find(g, "width=256,n=64,init_scale=1.0,rate_ratio=1e1,seed=3", &found), SSW_OK);
  assert_int_equal(found, index);
  assert_int_equal(ssw_grid_find(g, "width=256,n=64,seed=3", &found), SSW_ERR_INPUT); /* axes missing */
  assert_int_equal(ssw_grid_find(g, "width=255,n=64,init_scale=1,rate_ratio=10,seed=3", &found), SSW_ERR_INPUT);
  assert_true(ssw_sweep_cell_cost(s, index) > 0);
  assert_true(ssw_sweep_cell_cost(s, ssw_grid_index(g, (int64_t[]){8, 2, 2, 4, 3})) > ssw_sweep_cell_cost(s, index));
  assert_true(ssw_sweep_cell_memory(s, index) > 0);
  ssw_sweep_destroy(&s);
  assert_null(s);
  ssw_sweep_destroy(&s);
}

static void test_canonical_round_trip(void **state) {
  (void)state;
  const char *files[] = {
      razborov,
      "model: {width: 32}\n",
      "name: \"a \\\"quoted\\\" name\"\ndescription: \"two\\nlines\"\n"
      "model: {output_scale: \"width^-gamma\"}\n"
      "train: {lr: \"0.5 * width^( 2*gamma - 1 )\", train: [outer, inner]}\n"
      "grid:\n  gamma: {lin: [0, 1], num: 11}\n  width: [8, 16]\n  activation: [relu, tanh]\n"
      "  bias: [true, false]\n  seed: [3, 7]\n",
      "train:\n  lr: (5)\n  tol: \"1e-3*(2)\"\n", /* expressions that are numbers (found by the fuzzer) */
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    ssw_sweep_t *a = load(files[i], NULL, 0);
    const char *ca = ssw_sweep_canonical(a);
    ssw_sweep_t *b = load(ca, NULL, 0);
    if (strcmp(ca, ssw_sweep_canonical(b)) != 0)
      fail_msg("canonical text of file %zu does not parse back to itself:\n%s\n---\n%s", i, ca,
               ssw_sweep_canonical(b));
    const ssw_grid_t *ga = ssw_sweep_grid(a), *gb = ssw_sweep_grid(b);
    assert_int_equal(ga->ncells, gb->ncells);
    for (int64_t c = 0; c < ga->ncells; c += 1 + ga->ncells / 97) {
      ssw_params_t pa, pb;
      assert_int_equal(ssw_sweep_cell_params(a, c, &pa), SSW_OK);
      assert_int_equal(ssw_sweep_cell_params(b, c, &pb), SSW_OK);
      assert_memory_equal(&pa, &pb, sizeof pa);
    }
    ssw_sweep_destroy(&a);
    ssw_sweep_destroy(&b);
  }
}

static void test_expressions_per_cell(void **state) {
  (void)state;
  ssw_sweep_t *s = load("model: {output_scale: width^-gamma}\n"
                        "train: {lr: 0.5*width, batch_size: n/4, rate_ratio: lr/width}\n"
                        "data: {n: 10}\n"
                        "grid:\n  width: [4, 16]\n  gamma: [0.5, 1]\n", NULL, 0);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  assert_int_equal(g->ncells, 4);
  const double want_scale[] = {0.5, 0.25, 0.25, 1.0 / 16};
  for (int64_t c = 0; c < 4; c++) {
    ssw_params_t p;
    assert_int_equal(ssw_sweep_cell_params(s, c, &p), SSW_OK);
    assert_true(fabs(p.output_scale - want_scale[c]) < 1e-15);
    assert_true(p.lr == 0.5 * (double)p.width);
    assert_true(p.rate_ratio == 0.5);      /* depends on lr: evaluated after it */
    assert_int_equal(p.batch_size, 3);    /* 10/4 = 2.5, integers rounded */
  }
  assert_string_equal(ssw_sweep_expression(s, "output_scale"), "width^-gamma");
  assert_null(ssw_sweep_expression(s, "dim"));
  ssw_sweep_destroy(&s);
}

static void test_set_wins(void **state) {
  (void)state;
  const char *sets[] = {"width=[16, 32, 64]", "train.lr=0.125", "seeds=2", "n=100",
                        "activation={geom: [1, 2], num: 2}"};
  ssw_sweep_t *s = NULL;
  assert_int_equal(ssw_sweep_load_text(&s, "t.yaml", razborov, strlen(razborov), sets, 5), SSW_ERR_INPUT);
  assert_non_null(strstr(ssw_error_message(), "--set:5:"));
  s = load(razborov, sets, 4);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  assert_int_equal(g->naxes, 4); /* n left the grid */
  assert_string_equal(g->axes[0].name, "width");
  assert_int_equal(g->axes[0].count, 3);
  assert_int_equal(g->axes[3].count, 2);
  ssw_params_t p;
  assert_int_equal(ssw_sweep_cell_params(s, g->ncells - 1, &p), SSW_OK);
  assert_int_equal(p.width, 64);
  assert_int_equal(p.n, 100);
  assert_true(p.lr == 0.125);
  assert_int_equal(p.seed, 1);
  ssw_sweep_destroy(&s);
}

static void test_rounding_and_duplicates(void **state) {
  (void)state;
  ssw_sweep_t *s = load("grid:\n  width: {geom: [2, 5], num: 3}\n", NULL, 0);
  const ssw_axis_t *w = &ssw_sweep_grid(s)->axes[0];
  assert_true(w->values[0] == 2 && w->values[1] == 3 && w->values[2] == 5);
  assert_string_equal(w->labels[1], "3");
  ssw_sweep_destroy(&s);
  const char *dup = "grid:\n  width: {geom: [2, 5], num: 6}\n";
  assert_int_equal(ssw_sweep_load_text(&s, "d.yaml", dup, strlen(dup), NULL, 0), SSW_ERR_INPUT);
  assert_non_null(strstr(ssw_error_message(), "d.yaml:2:10: key 'width':"));
  assert_null(s);
}

/* Row-major bijection over random grids: every index maps to in-range coordinates and back,
 * and consecutive indices step the last axis fastest. */
static void test_index_bijection(void **state) {
  (void)state;
  uint64_t lcg = 12345;
  for (int trial = 0; trial < 200; trial++) {
    ssw_grid_t g = {0};
    g.naxes = 1 + (int)((lcg = lcg * 6364136223846793005u + 1442695040888963407u) >> 60) % 6;
    g.ncells = 1;
    for (int a = 0; a < g.naxes; a++) {
      g.axes[a].count = 1 + (int64_t)((lcg = lcg * 6364136223846793005u + 1442695040888963407u) >> 61);
      g.ncells *= g.axes[a].count;
    }
    int64_t prev[SSW_MAX_AXES] = {0};
    for (int64_t i = 0; i < g.ncells; i++) {
      int64_t c[SSW_MAX_AXES];
      ssw_grid_coords(&g, i, c);
      for (int a = 0; a < g.naxes; a++) assert_true(c[a] >= 0 && c[a] < g.axes[a].count);
      assert_int_equal(ssw_grid_index(&g, c), i);
      if (i > 0) { /* the successor of prev in row-major order */
        int a = g.naxes - 1;
        while (prev[a] == g.axes[a].count - 1) prev[a--] = 0;
        prev[a]++;
        assert_memory_equal(prev, c, sizeof(int64_t) * (size_t)g.naxes);
      }
      memcpy(prev, c, sizeof c);
    }
  }
}

/* The byte image run --reuse matches cells by: equal exactly when every key is, doubles bit
 * for bit (one ulp of lr, -0 against +0, one more list value differ; expressions resolved). */
static void test_params_bytes(void **state) {
  (void)state;
  ssw_params_t a, b;
  unsigned char ia[SSW_PARAMS_BYTES_MAX], ib[SSW_PARAMS_BYTES_MAX];
  ssw_params_init(&a);
  ssw_params_resolve(&a);
  b = a;
  memset(&b, 0xA5, sizeof b); /* padding bytes differ: the image has none */
  ssw_params_init(&b);
  ssw_params_resolve(&b);
  size_t la = ssw_params_bytes(&a, ia), lb = ssw_params_bytes(&b, ib);
  assert_true(la > 0 && la <= SSW_PARAMS_BYTES_MAX);
  assert_int_equal(la, lb);
  assert_memory_equal(ia, ib, la);
  b.lr = nextafter(a.lr, INFINITY);
  lb = ssw_params_bytes(&b, ib);
  assert_true(la == lb && memcmp(ia, ib, la) != 0);
  b = a;
  a.label_noise = 0.0, b.label_noise = -0.0;
  la = ssw_params_bytes(&a, ia), lb = ssw_params_bytes(&b, ib);
  assert_true(memcmp(ia, ib, la) != 0);
  b = a;
  b.target_values[b.n_values++] = 0.0; /* a list one longer */
  assert_int_equal(ssw_params_bytes(&b, ib), la + sizeof(double));
  /* two sweeps spelling the same cell differently: equal images */
  ssw_sweep_t *s1 = load("name: a\nmodel: {width: 6}\ngrid:\n  n: [8]\n  seeds: 2\n", NULL, 0);
  ssw_sweep_t *s2 = load("name: b\ngrid:\n  width: [4, 6]\n  n: [8]\n  seeds: 3\n", NULL, 0);
  assert_int_equal(ssw_sweep_cell_params(s1, 1, &a), SSW_OK); /* width 6, seed 1 */
  assert_int_equal(ssw_sweep_cell_params(s2, 4, &b), SSW_OK); /* width 6, seed 1 */
  la = ssw_params_bytes(&a, ia), lb = ssw_params_bytes(&b, ib);
  assert_int_equal(la, lb);
  assert_memory_equal(ia, ib, la);
  assert_int_equal(ssw_sweep_cell_params(s2, 3, &b), SSW_OK); /* width 6, seed 0 */
  assert_true(memcmp(ia, ib, ssw_params_bytes(&b, ib)) != 0);
  ssw_sweep_destroy(&s1);
  ssw_sweep_destroy(&s2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_razborov),          cmocka_unit_test(test_canonical_round_trip),
      cmocka_unit_test(test_expressions_per_cell), cmocka_unit_test(test_set_wins),
      cmocka_unit_test(test_rounding_and_duplicates), cmocka_unit_test(test_index_bijection),
      cmocka_unit_test(test_params_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
