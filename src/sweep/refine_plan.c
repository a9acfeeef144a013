/* Which cells an adaptive sweep needs, from finished results (refine.h, DESIGN.md §18).
 *
 * Cells are numbered row-major with the seed axis last, so cell = point · seeds + seed, a
 * point being one combination of the non-seed axes. With refine:, a site is one (X, Y) pair
 * and a slice one combination of the other non-seed axes: point = site's offset + slice's
 * offset. Decisions are taken when their inputs are final and never revised:
 *   a point's extra seeds: once its first `start` seeds have finished;
 *   a square's refinement: once its four corner sites are final in every slice.
 */
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/train.h"
#include "sweep_impl.h"

enum { PT_OFF = 0, PT_FIRST = 1, PT_ALL = 2, PT_FINAL = 3 };   /* a point's seeds */
enum { SQ_ABSENT = 0, SQ_WAITING = 1, SQ_KEPT = 2, SQ_REFINED = 3 }; /* a square */

struct ssw_refine_plan {
  const ssw_refine_t *rf;
  int64_t ncells, seeds, start;   /* seeds per point: all of them, and the first share */
  int8_t *done;                   /* (ncells) status once finished, 0 before */
  uint8_t *need;                  /* (ncells) 1 once needed */
  uint8_t *pt_state;              /* (npoints) PT_* */
  int32_t *pt_done, *pt_hits;     /* (npoints) needed seeds finished; of those, with the metric status */
  int64_t needed, finished;       /* cells needed so far; of those finished */
  /* refine: only */
  int64_t nx, ny, nslices;
  int64_t px, py;                 /* point strides of X and Y */
  int64_t *slice_off;             /* (nslices) point offset of each slice */
  int32_t *site_final;            /* (nx, ny) slices whose point is final */
  uint8_t *squares[SSW_REFINE_LEVELS_MAX]; /* (level) ((nx-1)/s, (ny-1)/s) SQ_* */
};

int ssw_cell_list_push(ssw_cell_list_t *l, int64_t cell) {
  if (l->n == l->cap) {
    int64_t cap = l->cap ? 2 * l->cap : 64;
    int64_t *grown = realloc(l->cells, (size_t)cap * sizeof *grown);
    SSW_REQUIRE(grown, SSW_ERR_NOMEM, "out of memory listing the cells a refined sweep needs");
    l->cells = grown;
    l->cap = cap;
  }
  l->cells[l->n++] = cell;
  return SSW_OK;
}

void ssw_cell_list_fini(ssw_cell_list_t *l) {
  free(l->cells);
  *l = (ssw_cell_list_t){0};
}

static int point_needed(ssw_refine_plan_t *p, int64_t point, ssw_cell_list_t *out);

/* ---- squares ---- */

static int64_t spacing(const ssw_refine_plan_t *p, int level) { return (int64_t)1 << (p->rf->levels - level); }
static int64_t squares_y(const ssw_refine_plan_t *p, int level) { return (p->ny - 1) / spacing(p, level); }
static bool site_is_final(const ssw_refine_plan_t *p, int64_t x, int64_t y) {
  return p->site_final[x * p->ny + y] == p->nslices;
}

static int site_needed(ssw_refine_plan_t *p, int64_t x, int64_t y, ssw_cell_list_t *out) {
  for (int64_t t = 0; t < p->nslices; t++) SSW_TRY(point_needed(p, x * p->px + y * p->py + p->slice_off[t], out));
  return SSW_OK;
}

/* Whether the four corners' fractions (hits / seeds) differ in some slice. */
static bool corners_disagree(const ssw_refine_plan_t *p, const int64_t xs[4], const int64_t ys[4]) {
  for (int64_t t = 0; t < p->nslices; t++) {
    int64_t pt0 = xs[0] * p->px + ys[0] * p->py + p->slice_off[t];
    for (int c = 1; c < 4; c++) {
      int64_t pt = xs[c] * p->px + ys[c] * p->py + p->slice_off[t];
      if ((int64_t)p->pt_hits[pt] * p->pt_done[pt0] != (int64_t)p->pt_hits[pt0] * p->pt_done[pt]) return true;
    }
  }
  return false;
}

/* Square (a, b) of `level`: decide it once its corners are final. */
static int try_decide(ssw_refine_plan_t *p, int level, int64_t a, int64_t b, ssw_cell_list_t *out) {
  uint8_t *state = &p->squares[level][a * squares_y(p, level) + b];
  if (*state != SQ_WAITING) return SSW_OK;
  int64_t s = spacing(p, level), x0 = a * s, y0 = b * s;
  const int64_t xs[4] = {x0, x0 + s, x0, x0 + s}, ys[4] = {y0, y0, y0 + s, y0 + s};
  for (int c = 0; c < 4; c++)
    if (!site_is_final(p, xs[c], ys[c])) return SSW_OK;
  if (!corners_disagree(p, xs, ys)) {
    *state = SQ_KEPT;
    return SSW_OK;
  }
  *state = SQ_REFINED;
  int64_t h = s / 2;
  if (level + 1 < p->rf->levels)
    for (int q = 0; q < 4; q++) p->squares[level + 1][(2 * a + q / 2) * squares_y(p, level + 1) + 2 * b + q % 2] = SQ_WAITING;
  const int64_t mx[5] = {x0 + h, x0 + h, x0, x0 + s, x0 + h}, my[5] = {y0, y0 + s, y0 + h, y0 + h, y0 + h};
  for (int m = 0; m < 5; m++) SSW_TRY(site_needed(p, mx[m], my[m], out));
  for (int q = 0; q < 4 && level + 1 < p->rf->levels; q++) SSW_TRY(try_decide(p, level + 1, 2 * a + q / 2, 2 * b + q % 2, out));
  return SSW_OK;
}

/* Every square with corner (x, y) that waits on it. */
static int site_became_final(ssw_refine_plan_t *p, int64_t x, int64_t y, ssw_cell_list_t *out) {
  for (int level = 0; level < p->rf->levels; level++) {
    int64_t s = spacing(p, level);
    if (x % s || y % s) continue;
    for (int64_t a = x / s - 1; a <= x / s; a++)
      for (int64_t b = y / s - 1; b <= y / s; b++)
        if (a >= 0 && b >= 0 && a < (p->nx - 1) / s && b < squares_y(p, level)) SSW_TRY(try_decide(p, level, a, b, out));
  }
  return SSW_OK;
}

/* ---- points and cells ---- */

static int point_final(ssw_refine_plan_t *p, int64_t point, ssw_cell_list_t *out) {
  p->pt_state[point] = PT_FINAL;
  if (!p->rf->on) return SSW_OK;
  int64_t x = point / p->px % p->nx, y = point / p->py % p->ny;
  if (++p->site_final[x * p->ny + y] == p->nslices) SSW_TRY(site_became_final(p, x, y, out));
  return SSW_OK;
}

static int cell_needed(ssw_refine_plan_t *p, int64_t cell, ssw_cell_list_t *out);

/* The point's needed seeds have all finished: more seeds, or final. */
static int point_complete(ssw_refine_plan_t *p, int64_t point, ssw_cell_list_t *out) {
  int32_t hits = p->pt_hits[point];
  if (p->pt_state[point] == PT_FIRST && p->start < p->seeds && hits > 0 && hits < p->pt_done[point]) {
    p->pt_state[point] = PT_ALL;
    for (int64_t k = p->start; k < p->seeds; k++) SSW_TRY(cell_needed(p, point * p->seeds + k, out));
    return SSW_OK;
  }
  return point_final(p, point, out);
}

static int64_t seeds_wanted(const ssw_refine_plan_t *p, int64_t point) {
  return p->pt_state[point] == PT_ALL ? p->seeds : p->start;
}

/* A needed cell has finished (now, or before it was needed). */
static int count_finished(ssw_refine_plan_t *p, int64_t cell, ssw_cell_list_t *out) {
  int64_t point = cell / p->seeds;
  p->finished++;
  p->pt_done[point]++;
  if (p->done[cell] == p->rf->metric) p->pt_hits[point]++;
  if (p->pt_done[point] == seeds_wanted(p, point)) SSW_TRY(point_complete(p, point, out));
  return SSW_OK;
}

static int cell_needed(ssw_refine_plan_t *p, int64_t cell, ssw_cell_list_t *out) {
  if (p->need[cell]) return SSW_OK;
  p->need[cell] = 1;
  p->needed++;
  if (p->done[cell]) return count_finished(p, cell, out);
  return ssw_cell_list_push(out, cell);
}

static int point_needed(ssw_refine_plan_t *p, int64_t point, ssw_cell_list_t *out) {
  if (p->pt_state[point] != PT_OFF) return SSW_OK;
  p->pt_state[point] = PT_FIRST;
  for (int64_t k = 0; k < p->start; k++) SSW_TRY(cell_needed(p, point * p->seeds + k, out));
  return SSW_OK;
}

/* ---- the plan ---- */

static int layout(ssw_refine_plan_t *p, const ssw_grid_t *g) {
  int ax = p->rf->axes[0], ay = p->rf->axes[1];
  p->nx = g->axes[ax].count;
  p->ny = g->axes[ay].count;
  int64_t stride[SSW_MAX_AXES], s = 1; /* point strides of the non-seed axes */
  for (int a = g->naxes - 2; a >= 0; a--) stride[a] = s, s *= g->axes[a].count;
  p->px = stride[ax];
  p->py = stride[ay];
  p->nslices = p->ncells / p->seeds / (p->nx * p->ny);
  SSW_ALLOC(p->slice_off, p->nslices);
  SSW_ALLOC(p->site_final, p->nx * p->ny);
  for (int64_t t = 0; t < p->nslices; t++) { /* slice t's coordinates on the other axes, row-major */
    int64_t rest = t, off = 0;
    for (int a = g->naxes - 2; a >= 0; a--) {
      if (a == ax || a == ay) continue;
      off += rest % g->axes[a].count * stride[a];
      rest /= g->axes[a].count;
    }
    p->slice_off[t] = off;
  }
  for (int level = 0; level < p->rf->levels; level++) {
    int64_t n = (p->nx - 1) / spacing(p, level) * squares_y(p, level);
    SSW_ALLOC(p->squares[level], n);
    if (level == 0) memset(p->squares[0], SQ_WAITING, (size_t)n);
  }
  return SSW_OK;
}

static int create(ssw_refine_plan_t *p, const ssw_sweep_t *sweep, ssw_cell_list_t *needed) {
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  p->rf = ssw_sweep_refine(sweep);
  p->ncells = g->ncells;
  p->seeds = g->axes[g->naxes - 1].count;
  p->start = p->rf->seeds_start;
  int64_t npoints = p->ncells / p->seeds;
  SSW_ALLOC(p->done, p->ncells);
  SSW_ALLOC(p->need, p->ncells);
  SSW_ALLOC(p->pt_state, npoints);
  SSW_ALLOC(p->pt_done, npoints);
  SSW_ALLOC(p->pt_hits, npoints);
  if (!p->rf->on) {
    for (int64_t pt = 0; pt < npoints; pt++) SSW_TRY(point_needed(p, pt, needed));
    return SSW_OK;
  }
  SSW_TRY(layout(p, g));
  int64_t step = (int64_t)1 << p->rf->levels;
  for (int64_t x = 0; x < p->nx; x += step)
    for (int64_t y = 0; y < p->ny; y += step) SSW_TRY(site_needed(p, x, y, needed));
  return SSW_OK;
}

int ssw_refine_plan_create(ssw_refine_plan_t **plan, const ssw_sweep_t *sweep, ssw_cell_list_t *needed) {
  *plan = calloc(1, sizeof **plan);
  SSW_REQUIRE(*plan, SSW_ERR_NOMEM, "out of memory planning a refined sweep");
  int rc = create(*plan, sweep, needed);
  if (rc != SSW_OK) ssw_refine_plan_destroy(plan);
  return rc;
}

void ssw_refine_plan_destroy(ssw_refine_plan_t **plan) {
  if (!plan || !*plan) return;
  ssw_refine_plan_t *p = *plan;
  free(p->done);
  free(p->need);
  free(p->pt_state);
  free(p->pt_done);
  free(p->pt_hits);
  free(p->slice_off);
  free(p->site_final);
  for (int l = 0; l < SSW_REFINE_LEVELS_MAX; l++) free(p->squares[l]);
  free(p);
  *plan = NULL;
}

int ssw_refine_plan_finished(ssw_refine_plan_t *p, int64_t cell, int status, ssw_cell_list_t *needed) {
  SSW_REQUIRE(cell >= 0 && cell < p->ncells && ssw_status_is_done(status), SSW_ERR_INTERNAL,
              "refine plan: cell %lld finished with status %d", (long long)cell, status);
  if (p->done[cell]) return SSW_OK; /* told twice (a resumed file, then the run): once counts */
  p->done[cell] = (int8_t)status;
  return p->need[cell] ? count_finished(p, cell, needed) : SSW_OK;
}

bool ssw_refine_plan_needed(const ssw_refine_plan_t *p, int64_t cell) { return p->need[cell] != 0; }
int64_t ssw_refine_plan_count_needed(const ssw_refine_plan_t *p) { return p->needed; }
int64_t ssw_refine_plan_count_finished(const ssw_refine_plan_t *p) { return p->finished; }
bool ssw_refine_plan_complete(const ssw_refine_plan_t *p) { return p->finished == p->needed; }
