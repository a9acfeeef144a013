/* Adaptive sweeps (refine.h): the refine: section and seeds: {start, max} as loaded, and the
 * plan of which cells to compute, driven by synthetic outcome maps whose boundary is known. */
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
#include "shallowsweep/refine.h"
#include "shallowsweep/sweep.h"
#include "shallowsweep/train.h"

/* 5 x 5 coarse points, 3 levels: 33 x 33 fine; two slices; up to 6 seeds, 2 first. */
static const char refined[] =
    "name: refined\n"
    "data:  {dim: 4, input: gaussian, target: random_gaussian}\n"
    "train: {lr: 0.05, max_iters: 100, record_points: 2}\n"
    "grid:\n"
    "  width: {geom: [4, 1024], num: 5}\n"
    "  init_scale: [0.5, 2]\n"
    "  n: {lin: [8, 136], num: 5}\n"
    "  seeds: {start: 2, max: 6}\n"
    "refine: {axes: [width, n], levels: 3}\n";

static ssw_sweep_t *load(const char *text) {
  ssw_sweep_t *s = NULL;
  if (ssw_sweep_load_text(&s, "test.yaml", text, strlen(text), NULL, 0) != SSW_OK)
    fail_msg("load failed: %s", ssw_error_message());
  return s;
}

static void test_loaded(void **state) {
  (void)state;
  ssw_sweep_t *s = load(refined);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  const ssw_refine_t *rf = ssw_sweep_refine(s);
  assert_true(rf->on && rf->adaptive_seeds && ssw_sweep_is_adaptive(s));
  assert_int_equal(rf->levels, 3);
  assert_int_equal(rf->axes[0], 0);
  assert_int_equal(rf->axes[1], 2);
  assert_int_equal(rf->metric, SSW_STATUS_CONVERGED);
  assert_int_equal(rf->seeds_start, 2);
  assert_int_equal(g->axes[0].count, 33);
  assert_int_equal(g->axes[2].count, 33);
  assert_int_equal(g->axes[3].count, 6);
  assert_true(g->axes[0].values[0] == 4 && g->axes[0].values[8] == 16 && g->axes[0].values[32] == 1024);
  assert_true(g->axes[2].values[4] == 24 && g->axes[2].values[1] == 12); /* lin: 8 + 4 i */
  /* the canonical text loads back to the same sweep */
  ssw_sweep_t *back = load(ssw_sweep_canonical(s));
  assert_string_equal(ssw_sweep_canonical(back), ssw_sweep_canonical(s));
  assert_int_equal(ssw_sweep_grid(back)->ncells, g->ncells);
  ssw_sweep_destroy(&back);
  ssw_sweep_destroy(&s);
}

/* ---- driving a plan with a synthetic outcome ---- */

typedef int (*outcome_fn)(const int64_t *coords); /* (naxes) -> status */

/* X index + Y index >= 40 converges (a straight boundary), in slice 0 (init_scale 0.5); in
 * slice 1 the boundary is at 30. */
static int diagonal(const int64_t *c) {
  return c[0] + c[2] >= (c[1] == 0 ? 40 : 30) ? SSW_STATUS_CONVERGED : SSW_STATUS_MAX_ITERS;
}

/* Near the boundary the seed decides: within 2 of it, odd seeds converge. */
static int noisy(const int64_t *c) {
  int64_t d = c[0] + c[2] - 40;
  if (d < -2) return SSW_STATUS_MAX_ITERS;
  if (d > 2) return SSW_STATUS_CONVERGED;
  return c[3] % 2 ? SSW_STATUS_CONVERGED : SSW_STATUS_DIVERGED;
}

/* Run the plan to the end, finishing needed cells in an order drawn from `order_seed` (0:
 * first needed first); the cells that were needed, as a bitmap (ncells). */
static uint8_t *drive(const ssw_sweep_t *s, outcome_fn f, unsigned order_seed, const uint8_t *done_before) {
  const ssw_grid_t *g = ssw_sweep_grid(s);
  ssw_cell_list_t todo = {0};
  ssw_refine_plan_t *p;
  assert_int_equal(ssw_refine_plan_create(&p, s, &todo), SSW_OK);
  int64_t coords[SSW_MAX_AXES];
  for (int64_t c = 0; done_before && c < g->ncells; c++) /* a resumed file: in index order */
    if (done_before[c]) {
      ssw_grid_coords(g, c, coords);
      assert_int_equal(ssw_refine_plan_finished(p, c, f(coords), &todo), SSW_OK);
    }
  srand(order_seed);
  int64_t handed = 0;
  uint8_t *finished = calloc((size_t)g->ncells, 1);
  while (todo.n > handed) {
    int64_t pick = handed;
    if (order_seed) pick = handed + rand() % (todo.n - handed);
    int64_t cell = todo.cells[pick];
    todo.cells[pick] = todo.cells[handed];
    todo.cells[handed++] = cell;
    if (finished[cell]) continue; /* listed once only: a second listing is a bug */
    finished[cell] = 1;
    ssw_grid_coords(g, cell, coords);
    assert_int_equal(ssw_refine_plan_finished(p, cell, f(coords), &todo), SSW_OK);
  }
  assert_true(ssw_refine_plan_complete(p));
  uint8_t *need = calloc((size_t)g->ncells, 1);
  int64_t count = 0;
  for (int64_t c = 0; c < g->ncells; c++) {
    need[c] = ssw_refine_plan_needed(p, c);
    count += need[c];
    if (need[c] && !(done_before && done_before[c])) assert_true(finished[c]); /* every needed cell was handed out */
  }
  assert_int_equal(count, ssw_refine_plan_count_needed(p));
  for (int64_t i = 0; i < todo.n; i++) /* no cell is listed twice */
    for (int64_t j = 0; j < i; j++) assert_true(todo.cells[i] != todo.cells[j]);
  ssw_cell_list_fini(&todo);
  free(finished);
  ssw_refine_plan_destroy(&p);
  return need;
}

/* The fraction of seed-0..5 outcomes equal to converged at point (x, slice, y) as displayed:
 * computed points over their computed seeds; skipped points from the smallest aligned square
 * with four computed corners (refine.h). */
static double shown(const ssw_sweep_t *s, const uint8_t *need, outcome_fn f, int64_t x, int64_t t, int64_t y) {
  const ssw_grid_t *g = ssw_sweep_grid(s);
  int64_t nx = g->axes[0].count, ny = g->axes[2].count, seeds = g->axes[3].count;
  int64_t c[4] = {x, t, y, 0};
  if (need[ssw_grid_index(g, c)]) {
    int hit = 0, n = 0;
    for (c[3] = 0; c[3] < seeds; c[3]++)
      if (need[ssw_grid_index(g, c)]) n++, hit += f(c) == SSW_STATUS_CONVERGED;
    return (double)hit / n;
  }
  for (int64_t sp = 2; sp < nx; sp *= 2) {
    int64_t x0 = x / sp * sp, y0 = y / sp * sp;
    if (x0 == nx - 1) x0 -= sp;
    if (y0 == ny - 1) y0 -= sp;
    int64_t k[4] = {x0, t, y0, 0}, k1[4] = {x0 + sp, t, y0 + sp, 0};
    if (need[ssw_grid_index(g, k)] && need[ssw_grid_index(g, k1)] &&
        need[ssw_grid_index(g, (int64_t[]){x0 + sp, t, y0, 0})] && need[ssw_grid_index(g, (int64_t[]){x0, t, y0 + sp, 0})])
      return shown(s, need, f, x0, t, y0);
  }
  fail_msg("point (%lld, %lld) has no computed square", (long long)x, (long long)y);
  return NAN;
}

static void test_straight_boundary(void **state) {
  (void)state;
  ssw_sweep_t *s = load(refined);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  uint8_t *need = drive(s, diagonal, 0, NULL);
  int64_t computed = 0, points = 0;
  for (int64_t c = 0; c < g->ncells; c++) computed += need[c];
  /* the displayed map is the dense one everywhere, in both slices */
  for (int64_t t = 0; t < 2; t++)
    for (int64_t x = 0; x < 33; x++)
      for (int64_t y = 0; y < 33; y++) {
        int64_t c[4] = {x, t, y, 0};
        double want = diagonal(c) == SSW_STATUS_CONVERGED ? 1.0 : 0.0;
        assert_true(shown(s, need, diagonal, x, t, y) == want);
        points += need[ssw_grid_index(g, c)];
      }
  /* no seeds beyond the first two (nothing is uncertain), both slices computed alike, and
   * far fewer points than the dense 2 x 33 x 33 */
  for (int64_t c = 0; c < g->ncells; c++) {
    int64_t k[4];
    ssw_grid_coords(g, c, k);
    if (k[3] >= 2) assert_false(need[c]);
    k[1] = 1 - k[1];
    assert_int_equal(need[c], need[ssw_grid_index(g, k)]);
  }
  assert_int_equal(computed, 2 * points);
  print_message("straight boundary: %lld of %lld fine points computed\n", (long long)points / 2, 33LL * 33);
  assert_true(points / 2 < 33 * 33 / 2);
  assert_true(points / 2 > 25);
  free(need);
  ssw_sweep_destroy(&s);
}

/* Whatever order cells finish in, and whatever was finished before a resume, the same cells. */
static void test_order_and_resume_independent(void **state) {
  (void)state;
  ssw_sweep_t *s = load(refined);
  int64_t n = ssw_sweep_grid(s)->ncells;
  outcome_fn fs[] = {diagonal, noisy};
  for (int k = 0; k < 2; k++) {
    uint8_t *ref = drive(s, fs[k], 0, NULL);
    for (unsigned seed = 1; seed <= 5; seed++) {
      uint8_t *other = drive(s, fs[k], seed, NULL);
      assert_memory_equal(ref, other, (size_t)n);
      free(other);
      uint8_t *before = calloc((size_t)n, 1); /* a killed run: a random part of the needed cells done */
      srand(seed * 7919);
      for (int64_t c = 0; c < n; c++) before[c] = ref[c] && rand() % 3 == 0;
      uint8_t *resumed = drive(s, fs[k], seed, before);
      assert_memory_equal(ref, resumed, (size_t)n);
      free(resumed);
      free(before);
    }
    free(ref);
  }
  ssw_sweep_destroy(&s);
}

/* Points whose first two seeds disagree get all six; the others keep two. */
static void test_adaptive_seeds(void **state) {
  (void)state;
  ssw_sweep_t *s = load(refined);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  uint8_t *need = drive(s, noisy, 3, NULL);
  int64_t extended = 0;
  for (int64_t c = 0; c < g->ncells; c += 6) {
    int64_t k[4];
    ssw_grid_coords(g, c, k);
    if (!need[c]) {
      for (int j = 1; j < 6; j++) assert_false(need[c + j]);
      continue;
    }
    assert_true(need[c + 1]);
    bool mixed = noisy((int64_t[]){k[0], k[1], k[2], 0}) != noisy((int64_t[]){k[0], k[1], k[2], 1});
    for (int j = 2; j < 6; j++) assert_int_equal(need[c + j], mixed);
    extended += mixed;
  }
  assert_true(extended > 5);
  free(need);
  ssw_sweep_destroy(&s);
}

/* Without refine, adaptive seeds alone: every point, seeds added where uncertain; a sweep
 * that is not adaptive needs every cell. */
static void test_seeds_only_and_dense(void **state) {
  (void)state;
  const char *text = "data: {dim: 4}\ntrain: {lr: 0.05, max_iters: 100, record_points: 2}\n"
                     "grid: {width: [4, 8, 16], n: [8, 16], seeds: {start: 1, max: 3}}\n";
  ssw_sweep_t *s = load(text);
  assert_false(ssw_sweep_refine(s)->on);
  assert_true(ssw_sweep_is_adaptive(s));
  ssw_cell_list_t todo = {0};
  ssw_refine_plan_t *p;
  assert_int_equal(ssw_refine_plan_create(&p, s, &todo), SSW_OK);
  assert_int_equal(todo.n, 6); /* seed 0 of each point */
  for (int64_t i = 0; i < 6; i++) assert_int_equal(todo.cells[i] % 3, 0);
  ssw_refine_plan_destroy(&p);
  ssw_cell_list_fini(&todo);
  ssw_sweep_destroy(&s);
  s = load("data: {dim: 4}\ntrain: {lr: 0.05, max_iters: 100, record_points: 2}\ngrid: {width: [4, 8], seeds: 3}\n");
  assert_false(ssw_sweep_is_adaptive(s));
  assert_int_equal(ssw_refine_plan_create(&p, s, &todo), SSW_OK);
  assert_int_equal(todo.n, 6);
  ssw_refine_plan_destroy(&p);
  ssw_cell_list_fini(&todo);
  ssw_sweep_destroy(&s);
}

/* Corners compare by fraction, not by count: 2 of 2 converged and 2 of 4 differ. */
static void test_fractions_not_counts(void **state) {
  (void)state;
  const char *text = "data: {dim: 4}\ntrain: {lr: 0.05, max_iters: 100, record_points: 2}\n"
                     "grid: {width: {lin: [4, 8], num: 2}, n: {lin: [8, 16], num: 2}, seeds: {start: 2, max: 4}}\n"
                     "refine: {axes: [width, n], levels: 1}\n";
  ssw_sweep_t *s = load(text);
  const ssw_grid_t *g = ssw_sweep_grid(s);
  ssw_cell_list_t todo = {0};
  ssw_refine_plan_t *p;
  assert_int_equal(ssw_refine_plan_create(&p, s, &todo), SSW_OK);
  assert_int_equal(todo.n, 8); /* 4 corners x 2 seeds */
  int64_t k[3];
  /* corner (0, 0): seeds 0 and 2 converge, 1 and 3 do not (2 of 4); the others: 2 of 2 */
  for (int64_t i = 0; i < 10; i++) {
    ssw_grid_coords(g, todo.cells[i], k);
    bool odd_corner = k[0] == 0 && k[1] == 0;
    int st = odd_corner && k[2] % 2 ? SSW_STATUS_MAX_ITERS : SSW_STATUS_CONVERGED;
    assert_int_equal(ssw_refine_plan_finished(p, todo.cells[i], st, &todo), SSW_OK);
    if (i == 7) assert_int_equal(todo.n, 10); /* corner (0, 0) was uncertain: seeds 2 and 3 */
  }
  /* then the square is refined: 5 new points (3 x 3 fine) x 2 seeds */
  assert_int_equal(todo.n, 20);
  assert_false(ssw_refine_plan_complete(p));
  ssw_refine_plan_destroy(&p);
  ssw_cell_list_fini(&todo);
  ssw_sweep_destroy(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loaded),          cmocka_unit_test(test_straight_boundary),
      cmocka_unit_test(test_order_and_resume_independent), cmocka_unit_test(test_adaptive_seeds),
      cmocka_unit_test(test_seeds_only_and_dense),        cmocka_unit_test(test_fractions_not_counts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
