/* How long a sweep takes: the cost model measured on this machine (plan), the hand-out of
 * cells to workers simulated (plan and the progress line's ETA). DESIGN.md §14.
 *
 * Costs are the core's flop-equivalents (ssw_trainer_cost: every step to max_iters, the edge
 * ratios, the NTK). A calibration times a sample of real cells of the sweep for a few steps
 * and turns cost into seconds separately for the per-step part and the fixed part (data,
 * initial and final edge ratio), by activation and interpolated on log step cost between
 * the nearest measured cells, because one GFLOP/s figure cannot hold from width 4 to 4096.
 */
#ifndef SHALLOWSWEEP_ESTIMATE_H
#define SHALLOWSWEEP_ESTIMATE_H

#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/sweep.h"

/* The prior: sustained flop-equivalents per second of one core before anything is measured
 * (tests/bench/bench_core: full-batch steps at width 64-1024 ran at 16-30 GFLOP/s on a
 * 50 GFLOP/s-DGEMM core; the per-activation terms of ssw_trainer_cost come from the same
 * benchmark). */
#define SSW_PRIOR_FLOPS_PER_S 20e9
/* At most this many cells are timed by a calibration. */
#define SSW_CALIB_MAX 24

/* A timing repeats to about this relative error on a shared machine: the least interval. */
#define SSW_CALIB_NOISE 0.15

/* One timed cell: seconds per unit of cost of its fixed part and of its steps. */
typedef struct {
  int64_t cell;
  int act;               /* ssw_activation_t */
  double log_step_cost;  /* log of the cell's cost per step: the interpolation coordinate */
  double fixed_s_per_cost, step_s_per_cost;
  int64_t steps;         /* steps timed */
} ssw_calib_sample_t;

typedef struct {
  int n;                 /* samples; 0: the prior alone */
  ssw_calib_sample_t s[SSW_CALIB_MAX];
  double spent_s;        /* wall seconds the measuring took */
  double spread;         /* relative half-width of a prediction's interval (leave-one-out) */
} ssw_calibration_t;

/* A cell's cost split the way the calibration sees it (flop-equivalents). */
typedef struct {
  int act;
  double fixed, steps;   /* cost without steps (max_iters 0), and of the steps */
  double log_step_cost;
} ssw_cell_cost_t;

SSW_NODISCARD int ssw_cell_cost_split(const ssw_sweep_t *sweep, int64_t index, ssw_cell_cost_t *c);

/* Time up to SSW_CALIB_MAX cells of the sweep (the costliest per step, then a spread of the
 * rest per activation) within about budget_s seconds of measuring. Each is trained with
 * max_iters 0 and with a few steps (no early stop), so the difference is the steps alone. */
SSW_NODISCARD int ssw_calibrate(const ssw_sweep_t *sweep, double budget_s, ssw_calibration_t *cal);

/* Seconds cell c is expected to take running to max_iters: mid from the interpolation,
 * lo and hi from the faster and slower of the two measured neighbours, widened to the
 * calibration's leave-one-out spread. */
void ssw_calibration_predict(const ssw_calibration_t *cal, const ssw_cell_cost_t *c, double *mid, double *lo,
                             double *hi);

/* Seconds cell `index` is expected to take running to max_iters (mid, lo, hi; lo and hi may be
 * NULL), from the calibration (the prior alone when cal->n is 0): the cost by which rank 0
 * orders the hand-out, sizes batches and checks the deadline, and which plan simulates. A cell
 * that cannot be set up fails at once: 0. */
void ssw_cell_seconds(const ssw_sweep_t *sweep, const ssw_calibration_t *cal, int64_t index, double *mid, double *lo,
                      double *hi);

/* Seconds of timing worth spending before a run whose cells take prior_core_s core-seconds at
 * the prior on `workers` training ranks: 1% of the expected wall time, at most 5 s; 0 (no timing)
 * when that is under a quarter of a second, a run too short for its order to matter. */
double ssw_run_measure_budget(double prior_core_s, int workers);

/* A cell waiting to be handed out, with its estimated cost (seconds, ssw_cell_seconds). */
typedef struct {
  double cost;
  int64_t index;
} ssw_queued_t;

/* Sort cells (n) into rank 0's hand-out order: largest cost first; cells of equal cost
 * (seeds, rates, scales) in a fixed scrambled order, so that the finished ones are a fair
 * sample of the rest for the ETA rather than one corner of the grid. plan simulates the
 * same order. */
void ssw_handout_order(ssw_queued_t *cells /* (n) */, int64_t n);

/* Wall seconds until the last of n jobs ends when workers take them in the given order,
 * each job going to the worker free first (what rank 0 does), the workers being free from
 * free_at[w] seconds on (NULL: all from 0). secs (n) seconds each. Exact up to 200,000 jobs;
 * the rest are spread evenly. */
double ssw_makespan(const double *secs /* (n) */, int64_t n, const double *free_at /* (workers) */, int workers);

#endif
