/* The measured cost model of plan and the simulated hand-out behind plan's wall time and the
 * progress line's ETA (estimate.h, DESIGN.md §14). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/check.h"
#include "shallowsweep/clock.h"
#include "shallowsweep/estimate.h"
#include "shallowsweep/train.h"

enum { MAKESPAN_EXACT_MAX = 200000 };
/* Steps of a timed cell: about this many seconds of steps at the prior speed, within the
 * bounds below (a step of a tiny cell is a microsecond: too few steps drown in the clock). */
static const double CALIB_STEP_SECONDS = 0.05;
static const int64_t CALIB_STEPS_MIN = 2, CALIB_STEPS_MAX = 200000;
/* A run times its cells for this share of its expected wall time, at most RUN_MEASURE_MAX_S;
 * below RUN_MEASURE_MIN_S it is not worth doing. */
static const double RUN_MEASURE_SHARE = 0.01, RUN_MEASURE_MAX_S = 5.0, RUN_MEASURE_MIN_S = 0.25;

int ssw_cell_cost_split(const ssw_sweep_t *sweep, int64_t index, ssw_cell_cost_t *c) {
  ssw_params_t p;
  memset(c, 0, sizeof *c);
  SSW_TRY(ssw_sweep_cell_params(sweep, index, &p));
  double full = ssw_trainer_cost(&p);
  int64_t iters = p.max_iters;
  p.max_iters = 0;
  c->fixed = ssw_trainer_cost(&p);
  c->steps = full - c->fixed;
  c->act = (int)p.activation;
  c->log_step_cost = log(iters > 0 && c->steps > 0 ? c->steps / (double)iters : 1.0);
  return SSW_OK;
}

/* ---- timing one cell ---- */

/* Train q for `steps` steps with nothing that stops it early; seconds taken, steps done. */
static int time_steps(ssw_params_t q, int64_t steps, ssw_result_t *r, double *secs, int64_t *done) {
  q.max_iters = steps;
  q.record_points = 2;
  q.tol = 0;
  q.tol_rel = 0;
  q.diverge_factor = INFINITY;
  double t0 = ssw_clock_monotonic();
  SSW_TRY(ssw_cell_train(&q, r, NULL));
  *secs = ssw_clock_monotonic() - t0;
  *done = r->iters;
  return SSW_OK;
}

/* Time cell index: its fixed part (one step, less that step) and steps (S more steps). */
static int time_cell(const ssw_sweep_t *sweep, int64_t index, const ssw_cell_cost_t *c, ssw_calib_sample_t *s) {
  ssw_params_t p;
  SSW_TRY(ssw_sweep_cell_params(sweep, index, &p));
  double step_cost = exp(c->log_step_cost);
  int64_t S = (int64_t)llround(CALIB_STEP_SECONDS * SSW_PRIOR_FLOPS_PER_S / step_cost);
  S = S < CALIB_STEPS_MIN ? CALIB_STEPS_MIN : S > CALIB_STEPS_MAX ? CALIB_STEPS_MAX : S;
  ssw_result_t r;
  SSW_TRY(ssw_result_init(&r, 2));
  double t1a = 0, t1b = 0, t2a = 0, t2b = 0;
  int64_t d1 = 0, d2 = 0;
  /* each twice, the faster counting: a burst of other work on a shared machine only slows */
  int rc = time_steps(p, 1, &r, &t1a, &d1); /* the first run also warms caches and pages */
  if (rc == SSW_OK) rc = time_steps(p, 1 + S, &r, &t2a, &d2);
  if (rc == SSW_OK) rc = time_steps(p, 1, &r, &t1b, &d1);
  if (rc == SSW_OK) rc = time_steps(p, 1 + S, &r, &t2b, &d2);
  ssw_result_fini(&r);
  SSW_TRY(rc);
  double t1 = fmin(t1a, t1b), t2 = fmin(t2a, t2b);
  s->cell = index;
  s->act = c->act;
  s->log_step_cost = c->log_step_cost;
  s->steps = d2 - d1;
  /* a cell that diverged at once gives no step time: the prior stands in */
  double step_s = s->steps > 0 && t2 > t1 ? (t2 - t1) / (double)s->steps : step_cost / SSW_PRIOR_FLOPS_PER_S;
  s->step_s_per_cost = step_s / step_cost;
  double fixed_s = t1 - step_s * (double)d1;
  s->fixed_s_per_cost = c->fixed > 0 && fixed_s > 0 ? fixed_s / c->fixed : 1.0 / SSW_PRIOR_FLOPS_PER_S;
  return SSW_OK;
}

/* ---- choosing the cells to time ---- */

typedef struct {
  ssw_cell_cost_t c;
  int64_t cell;
} candidate_t;

static int by_act_then_cost(const void *a, const void *b) {
  const candidate_t *x = a, *y = b;
  if (x->c.act != y->c.act) return x->c.act < y->c.act ? -1 : 1;
  if (x->c.log_step_cost != y->c.log_step_cost) return x->c.log_step_cost < y->c.log_step_cost ? -1 : 1;
  if (x->c.fixed != y->c.fixed) return x->c.fixed < y->c.fixed ? -1 : 1;
  return x->cell < y->cell ? -1 : x->cell > y->cell;
}

/* Seconds a calibration of candidate k takes at the prior speed (four runs). */
static double prior_seconds(const candidate_t *k) {
  double step = exp(k->c.log_step_cost), S = fmax(2.0, CALIB_STEP_SECONDS * SSW_PRIOR_FLOPS_PER_S / step);
  return (4.0 * (k->c.fixed + step) + 2.0 * S * step) / SSW_PRIOR_FLOPS_PER_S;
}

/* Time candidate k into the calibration's next sample; a cell that fails to train says
 * nothing of speed and is left out. */
static int time_one(const ssw_sweep_t *sweep, const candidate_t *k, ssw_calibration_t *cal) {
  if (cal->n >= SSW_CALIB_MAX) return SSW_OK;
  if (time_cell(sweep, k->cell, &k->c, &cal->s[cal->n]) != SSW_OK) {
    ssw_error_clear();
    return SSW_OK;
  }
  cal->n++;
  return SSW_OK;
}

/* Distance in log step cost from candidate k to the nearest chosen cell of its activation
 * (INFINITY when its activation has none yet). */
static double gap(const candidate_t *k, const ssw_calibration_t *cal) {
  double d = INFINITY;
  for (int i = 0; i < cal->n; i++)
    if (cal->s[i].act == k->c.act) d = fmin(d, fabs(cal->s[i].log_step_cost - k->c.log_step_cost));
  return d;
}

static double loo_spread(const ssw_calibration_t *cal);

int ssw_calibrate(const ssw_sweep_t *sweep, double budget_s, ssw_calibration_t *cal) {
  memset(cal, 0, sizeof *cal);
  const int64_t ncells = ssw_sweep_grid(sweep)->ncells;
  const int64_t stride = ncells <= 100000 ? 1 : ncells / 100000;
  candidate_t *k;
  SSW_ALLOC(k, ncells / stride + 1);
  int64_t nk = 0;
  for (int64_t i = 0; i < ncells; i += stride) {
    if (ssw_cell_cost_split(sweep, i, &k[nk].c) != SSW_OK) {
      ssw_error_clear(); /* a cell that cannot be set up fails at once: nothing to time */
      continue;
    }
    k[nk++].cell = i;
  }
  qsort(k, (size_t)nk, sizeof *k, by_act_then_cost);
  int64_t distinct = 0; /* cells that differ only in seed or rates cost the same: keep one */
  for (int64_t i = 0; i < nk; i++)
    if (distinct == 0 || k[i].c.act != k[distinct - 1].c.act || k[i].c.log_step_cost != k[distinct - 1].c.log_step_cost ||
        k[i].c.fixed != k[distinct - 1].c.fixed)
      k[distinct++] = k[i];
  bool *used;
  SSW_ALLOC(used, distinct + 1);
  double t0 = ssw_clock_monotonic();
  int rc = SSW_OK;
  /* first, one cell per activation: its costliest per step when that fits the budget, else
   * its cheapest; then, while the budget lasts, the cell farthest in log step cost from
   * every timed cell of its activation */
  for (int64_t lo = 0, hi; lo < distinct && rc == SSW_OK; lo = hi + 1) {
    for (hi = lo; hi + 1 < distinct && k[hi + 1].c.act == k[lo].c.act;) hi++;
    double left = budget_s - (ssw_clock_monotonic() - t0);
    int64_t pick = prior_seconds(&k[hi]) <= left ? hi : lo;
    used[pick] = true;
    rc = time_one(sweep, &k[pick], cal);
  }
  while (rc == SSW_OK && cal->n < SSW_CALIB_MAX) {
    double left = budget_s - (ssw_clock_monotonic() - t0), best_gap = 0;
    int64_t best = -1;
    for (int64_t i = 0; i < distinct; i++) {
      if (used[i] || prior_seconds(&k[i]) > left) continue;
      double g = gap(&k[i], cal);
      if (g > best_gap) best_gap = g, best = i;
    }
    if (best < 0) break;
    used[best] = true;
    rc = time_one(sweep, &k[best], cal);
  }
  cal->spent_s = ssw_clock_monotonic() - t0;
  cal->spread = loo_spread(cal);
  free(used);
  free(k);
  return rc;
}

/* ---- predicting ---- */

static void predict_from(const ssw_calibration_t *cal, const ssw_cell_cost_t *c, int skip, double *mid, double *lo,
                         double *hi);

/* How far the interpolation misses a timed cell when that cell is left out and predicted
 * from its neighbours (largest relative error of its step time over the cells with a
 * neighbour of the same activation on both sides), at least SSW_CALIB_NOISE: the
 * measurement's own repeatability on a shared machine. */
static double loo_spread(const ssw_calibration_t *cal) {
  double worst = SSW_CALIB_NOISE;
  for (int i = 0; i < cal->n; i++) {
    const ssw_calib_sample_t *s = &cal->s[i];
    bool below = false, above = false;
    for (int j = 0; j < cal->n; j++) {
      if (j == i || cal->s[j].act != s->act) continue;
      below |= cal->s[j].log_step_cost < s->log_step_cost;
      above |= cal->s[j].log_step_cost > s->log_step_cost;
    }
    if (!below || !above) continue;
    ssw_cell_cost_t c = {.act = s->act, .fixed = 0, .steps = exp(s->log_step_cost), .log_step_cost = s->log_step_cost};
    double mid, lo, hi, truth = c.steps * s->step_s_per_cost;
    predict_from(cal, &c, i, &mid, &lo, &hi);
    worst = fmax(worst, fabs(mid - truth) / truth);
  }
  return worst;
}

void ssw_calibration_predict(const ssw_calibration_t *cal, const ssw_cell_cost_t *c, double *mid, double *lo,
                             double *hi) {
  predict_from(cal, c, -1, mid, lo, hi);
  double e = cal->n ? cal->spread : 0;
  *lo = fmin(*lo, *mid / (1 + e));
  *hi = fmax(*hi, *mid * (1 + e));
}

void ssw_cell_seconds(const ssw_sweep_t *sweep, const ssw_calibration_t *cal, int64_t index, double *mid, double *lo,
                      double *hi) {
  ssw_cell_cost_t c;
  double l = 0, h = 0;
  *mid = 0;
  if (ssw_cell_cost_split(sweep, index, &c) != SSW_OK)
    ssw_error_clear(); /* fails at once */
  else
    ssw_calibration_predict(cal, &c, mid, &l, &h);
  if (lo) *lo = l;
  if (hi) *hi = h;
}

double ssw_run_measure_budget(double prior_core_s, int workers) {
  double b = fmin(RUN_MEASURE_SHARE * prior_core_s / (workers > 0 ? workers : 1), RUN_MEASURE_MAX_S);
  return b >= RUN_MEASURE_MIN_S ? b : 0;
}

/* The prediction from every timed cell but skip. */
static void predict_from(const ssw_calibration_t *cal, const ssw_cell_cost_t *c, int skip, double *mid, double *lo,
                         double *hi) {
  const double prior = 1.0 / SSW_PRIOR_FLOPS_PER_S;
  /* the nearest timed cells below and above in log step cost, same activation if any */
  int below = -1, above = -1;
  bool same_act = false;
  for (int i = 0; i < cal->n; i++) same_act |= i != skip && cal->s[i].act == c->act;
  for (int i = 0; i < cal->n; i++) {
    const ssw_calib_sample_t *s = &cal->s[i];
    if (i == skip) continue;
    if (same_act && s->act != c->act) continue;
    if (s->log_step_cost <= c->log_step_cost && (below < 0 || s->log_step_cost > cal->s[below].log_step_cost)) below = i;
    if (s->log_step_cost >= c->log_step_cost && (above < 0 || s->log_step_cost < cal->s[above].log_step_cost)) above = i;
  }
  if (below < 0 && above < 0) {
    *mid = *lo = *hi = (c->fixed + c->steps) * prior;
    return;
  }
  if (below < 0) below = above;
  if (above < 0) above = below;
  const ssw_calib_sample_t *a = &cal->s[below], *b = &cal->s[above];
  double span = b->log_step_cost - a->log_step_cost;
  double w = span > 0 ? (c->log_step_cost - a->log_step_cost) / span : 0.5;
  double fixed = exp((1 - w) * log(a->fixed_s_per_cost) + w * log(b->fixed_s_per_cost));
  double step = exp((1 - w) * log(a->step_s_per_cost) + w * log(b->step_s_per_cost));
  *mid = c->fixed * fixed + c->steps * step;
  *lo = c->fixed * fmin(a->fixed_s_per_cost, b->fixed_s_per_cost) + c->steps * fmin(a->step_s_per_cost, b->step_s_per_cost);
  *hi = c->fixed * fmax(a->fixed_s_per_cost, b->fixed_s_per_cost) + c->steps * fmax(a->step_s_per_cost, b->step_s_per_cost);
}

/* ---- the hand-out, its order and its simulation ---- */

/* A fixed scramble of cell indices (splitmix64's finalizer). */
static uint64_t scramble(int64_t index) {
  uint64_t z = (uint64_t)index + 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static int by_cost_desc(const void *a, const void *b) {
  const ssw_queued_t *x = a, *y = b;
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  uint64_t u = scramble(x->index), v = scramble(y->index);
  if (u != v) return u < v ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

void ssw_handout_order(ssw_queued_t *cells, int64_t n) { qsort(cells, (size_t)n, sizeof *cells, by_cost_desc); }

static void sift_down(double *h, int n, int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && h[l] < h[m]) m = l;
    if (r < n && h[r] < h[m]) m = r;
    if (m == i) return;
    double t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

double ssw_makespan(const double *secs, int64_t n, const double *free_at, int workers) {
  if (workers < 1) workers = 1;
  double *h = calloc((size_t)workers, sizeof *h); /* (workers) min-heap of free times */
  if (!h) return NAN;
  if (free_at) memcpy(h, free_at, (size_t)workers * sizeof *h);
  for (int i = workers / 2 - 1; i >= 0; i--) sift_down(h, workers, i);
  int64_t exact = n < MAKESPAN_EXACT_MAX ? n : MAKESPAN_EXACT_MAX;
  for (int64_t j = 0; j < exact; j++) {
    h[0] += secs[j] > 0 ? secs[j] : 0;
    sift_down(h, workers, 0);
  }
  double rest = 0, sum = 0, end = 0;
  for (int64_t j = exact; j < n; j++) rest += secs[j] > 0 ? secs[j] : 0;
  for (int w = 0; w < workers; w++) sum += h[w], end = fmax(end, h[w]);
  free(h);
  return fmax(end, (sum + rest) / workers);
}
