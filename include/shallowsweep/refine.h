/* Adaptive sweeps (DESIGN.md §18): a grid refined only near the phase boundary, and seeds
 * added only where the outcome is uncertain.
 *
 * The file always holds the dense fine grid. Two axes X and Y given as ranges of k points
 * become (k - 1)·2^L + 1 points; level-0 points are those whose X and Y indices are both
 * multiples of 2^L. A level-l square (l = 0 .. L-1) has spacing s = 2^(L-l) and corners at
 * multiples of s; every level-0 square exists. A square whose four corners disagree on the
 * metric (the fraction over seeds of cells with one status) in any slice (a combination of
 * the other non-seed axes) is refined: its edge midpoints and centre are computed in every
 * slice, and its four quarters exist at level l + 1. A point gets seeds 0 .. start-1 first;
 * where its fraction is strictly between 0 and 1 it gets the rest, up to max. A square is
 * decided once its corners have all their seeds. Every decision rests on finished cells only,
 * so the cells computed are a pure function of the sweep and of the results, whatever the
 * order in which cells finish. Cells never needed end as SSW_STATUS_SKIPPED.
 */
#ifndef SHALLOWSWEEP_REFINE_H
#define SHALLOWSWEEP_REFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/error.h"

struct ssw_sweep;

enum { SSW_REFINE_LEVELS_MAX = 12 };

/* What a sweep file's refine: section and seeds: {start, max} say. */
typedef struct ssw_refine {
  bool on;                 /* a refine: section */
  int axes[2];             /* grid axis numbers of X and Y */
  int levels;              /* L >= 1 */
  int metric;              /* the status (ssw_status_t) whose fraction over seeds decides */
  bool adaptive_seeds;     /* seeds: {start, max} */
  int64_t seeds_start;     /* seeds every computed point gets first (the seed count if not adaptive) */
  /* the refined axes as given, for the canonical text: {geom|lin: [lo, hi], num: coarse} */
  double lo[2], hi[2];
  int64_t coarse[2];
  bool geometric[2];
} ssw_refine_t;

/* The sweep's adaptive settings (on == false and !adaptive_seeds: a dense sweep). */
const ssw_refine_t *ssw_sweep_refine(const struct ssw_sweep *sweep);
/* Whether the sweep computes only some of its cells. */
bool ssw_sweep_is_adaptive(const struct ssw_sweep *sweep);

/* One line for validate and plan: what is refined, and the fewest cells the sweep computes
 * (level 0 with the first seeds) against its dense grid. Empty for a dense sweep. */
void ssw_sweep_refine_describe(const struct ssw_sweep *sweep, char *buf, size_t size);
/* The fewest cells an adaptive sweep computes: level 0 (every point without refine) with its
 * first seeds. */
int64_t ssw_sweep_refine_min_cells(const struct ssw_sweep *sweep);

/* ---- the plan: which cells are needed, from finished results ---- */

typedef struct ssw_refine_plan ssw_refine_plan_t;

/* A growable list of cell indices. */
typedef struct {
  int64_t *cells;
  int64_t n, cap;
} ssw_cell_list_t;

SSW_NODISCARD int ssw_cell_list_push(ssw_cell_list_t *l, int64_t cell);
void ssw_cell_list_fini(ssw_cell_list_t *l);

/* A plan over the sweep's grid; the cells needed first (level 0, seeds 0 .. start-1, or every
 * cell of a dense sweep) are appended to needed. The plan keeps a pointer to sweep. */
SSW_NODISCARD int ssw_refine_plan_create(ssw_refine_plan_t **plan, const struct ssw_sweep *sweep,
                                         ssw_cell_list_t *needed);
void ssw_refine_plan_destroy(ssw_refine_plan_t **plan);

/* Cell `cell` finished with `status` (1..4; in this run or found done in the file, in any
 * order): cells that became needed and have not finished are appended to needed. A finished
 * cell that is not (yet) needed is remembered and counts once it is. */
SSW_NODISCARD int ssw_refine_plan_finished(ssw_refine_plan_t *plan, int64_t cell, int status, ssw_cell_list_t *needed);

/* Whether cell is needed (so far). */
bool ssw_refine_plan_needed(const ssw_refine_plan_t *plan, int64_t cell);
/* Cells needed so far, and of those finished. When equal, the plan is complete: every other
 * cell is skipped. */
int64_t ssw_refine_plan_count_needed(const ssw_refine_plan_t *plan);
int64_t ssw_refine_plan_count_finished(const ssw_refine_plan_t *plan);
bool ssw_refine_plan_complete(const ssw_refine_plan_t *plan);

#endif
