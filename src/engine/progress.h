/* Rank 0's progress line and its ETA (private to src/engine; DESIGN.md §14).
 *
 * The ETA simulates the rest of the run: every worker first finishes what it holds (the
 * cell in hand, from its reported or elapsed progress, and the rest of its batch), then the
 * pending cells go, in the queue's order, to whichever worker is free first. A cell's time
 * is its cost times the seconds per unit of cost measured on the cells finished so far, and
 * times the share of its budget (iterations / max_iters) finished cells used on average; a
 * cell in hand that has already run past that share is expected to use what finished cells
 * that ran as long used. Before any cell has finished, the costs themselves (seconds: timed
 * before the run, or the cost model's prior) stand in, and the line says which.
 */
#ifndef SHALLOWSWEEP_ENGINE_PROGRESS_H
#define SHALLOWSWEEP_ENGINE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "shallowsweep/engine.h"
#include "shallowsweep/estimate.h"

/* Budget fractions are kept as a histogram of this many bins over [0, 1]. */
enum { SSW_FRACTION_BINS = 64 };

/* What one worker holds: queue positions [first, first + count), sent at `sent`; the cell
 * it last reported progress on (-1: none) and that report. */
typedef struct {
  int64_t first, count;
  double sent;
  int64_t cell;
  double fraction;       /* of its max_iters, at the report */
  double cell_elapsed;   /* seconds it had trained then */
  double reported;       /* when the report came */
} ssw_hand_t;

typedef struct {
  double t0, last;
  int64_t total;                        /* cells of the run: the grid's, or an adaptive sweep's
                                           needed so far (done before, pending, added) */
  int64_t before[SSW_STATUS_COUNT];
  int64_t diagnosed_before[SSW_DIAG_COUNT];
  int workers;                          /* training ranks */
  bool adaptive;                        /* total grows as cells finish (engine.h, more) */
  bool cost_measured;                   /* the queue's costs were timed (engine.h) */
  ssw_hand_t *hands;                    /* (workers + 1) by rank; rank 0's unused */
  double cost_done, used_done, wall_done; /* finished cells: cost, cost x fraction used, seconds */
  double bin_count[SSW_FRACTION_BINS];  /* finished cells by fraction of budget used */
  double bin_sum[SSW_FRACTION_BINS];    /* ... and the sum of those fractions */
} ssw_progress_t;

SSW_NODISCARD int ssw_progress_init(ssw_progress_t *pg, const ssw_engine_job_t *job, int workers, double t0);
void ssw_progress_fini(ssw_progress_t *pg);

/* A cell finished: cost, the fraction of max_iters it ran, its wall seconds. */
void ssw_progress_finished(ssw_progress_t *pg, double cost, double fraction, double wall_s);
/* Worker `rank` took queue positions [first, first + count) at time now. */
void ssw_progress_handed(ssw_progress_t *pg, int rank, int64_t first, int64_t count, double now);
/* Worker `rank` is `fraction` through the budget of cell `cell` after `elapsed` seconds of
 * training it, at time now. */
void ssw_progress_step(ssw_progress_t *pg, int rank, int64_t cell, double fraction, double elapsed, double now);

/* Seconds until the run ends: the queue's cells from position next on are pending. */
double ssw_progress_eta(const ssw_progress_t *pg, const ssw_queued_t *queue, int64_t next, int64_t n, double now);

/* One progress line: "shallowsweep: WHAT d/N done (p%), elapsed, cells/s, ETA (basis) | counts". */
void ssw_progress_line(FILE *f, const ssw_progress_t *pg, const ssw_queued_t *queue, int64_t next, int64_t n,
                       const ssw_engine_stats_t *st, const char *what);

#endif
