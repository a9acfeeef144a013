/* A sweep: a YAML sweep file (DESIGN.md §3) resolved into base parameters, expressions and
 * a grid of cells. This is the interface the CLI, the engine and the store use; the parser
 * lives in src/sweep/spec.c, the grid (axes, index <-> coordinates, cost) in src/sweep/grid.c,
 * expressions in src/core/expr.c.
 *
 * Cells are numbered row-major over the axes in file order, the seed axis last.
 */
#ifndef SHALLOWSWEEP_SWEEP_H
#define SHALLOWSWEEP_SWEEP_H

#include <stdint.h>

#include "shallowsweep/params.h"

enum { SSW_MAX_AXES = 16, SSW_NAME_MAX = 64 };

typedef struct ssw_axis {
  char name[SSW_NAME_MAX];      /* the key it sets ("seed" for the seed axis) */
  const ssw_param_key_t *key;   /* that key's table entry */
  int64_t count;                /* >= 1 values */
  double *values;               /* (count) numeric values; ENUM/BOOL: index / 0-1 */
  char **labels;                /* (count) each value as canonical text ("relu", "64", "0.5") */
} ssw_axis_t;

typedef struct ssw_grid {
  int naxes;
  ssw_axis_t axes[SSW_MAX_AXES];  /* in file order, seed last */
  int64_t ncells;                 /* product of the counts */
} ssw_grid_t;

typedef struct ssw_sweep ssw_sweep_t; /* opaque: base params, expressions, grid, texts */

/* Parse and resolve a sweep file. overrides: count strings "key=value" (--set), applied after
 * the file. On a bad file: SSW_ERR_INPUT with the message "FILE:LINE:COL: key 'k': what — what
 * to do". Not collective. */
int ssw_sweep_load(ssw_sweep_t **sweep, const char *path, const char *const *overrides, int noverrides);
/* The same from text already in memory (path is used in messages only). */
int ssw_sweep_load_text(ssw_sweep_t **sweep, const char *path, const char *text, size_t len,
                        const char *const *overrides, int noverrides);
void ssw_sweep_destroy(ssw_sweep_t **sweep);

const char *ssw_sweep_name(const ssw_sweep_t *sweep);
const char *ssw_sweep_text(const ssw_sweep_t *sweep);      /* the file as read */
const char *ssw_sweep_canonical(const ssw_sweep_t *sweep); /* every key, deterministic YAML */
const ssw_grid_t *ssw_sweep_grid(const ssw_sweep_t *sweep);

/* The resolved, checked parameters of cell `index` (0 <= index < ncells). A parameter that
 * is out of range for this cell only (an expression) gives SSW_ERR_INPUT naming the cell. */
int ssw_sweep_cell_params(const ssw_sweep_t *sweep, int64_t index, ssw_params_t *out);
/* Estimated floating-point operations of a cell (for ordering and plan). */
double ssw_sweep_cell_cost(const ssw_sweep_t *sweep, int64_t index);
/* Estimated bytes one rank holds while training cell `index` (the trainer's data, weights,
 * workspaces and, with ntk_eigs, the Jacobian and Gram matrix). */
double ssw_sweep_cell_memory(const ssw_sweep_t *sweep, int64_t index);
/* Record points and max_iters are the same for every cell (record_points and max_iters may
 * not be axes); the record steps are ssw_record_steps(max_iters, record_points, spacing). */
int64_t ssw_sweep_record_points(const ssw_sweep_t *sweep);

/* Index <-> coordinates, row-major (last axis fastest). coords (naxes). */
void ssw_grid_coords(const ssw_grid_t *grid, int64_t index, int64_t *coords);
int64_t ssw_grid_index(const ssw_grid_t *grid, const int64_t *coords);
/* Find the cell of "width=256,n=64,seed=0" (every axis named, values as in the labels or
 * numerically equal). SSW_ERR_INPUT naming the axis on a miss. */
int ssw_grid_find(const ssw_grid_t *grid, const char *at, int64_t *index);

/* The sweep's base parameters: every plain value of the file (and --set); keys given as
 * expressions hold their defaults here and get their value per cell. max_iters,
 * record_points and record_spacing are the same for every cell and are read from here. */
const ssw_params_t *ssw_sweep_base(const ssw_sweep_t *sweep);
/* The canonical expression text of a key ("1/sqrt(width)"), or NULL for a plain value. */
const char *ssw_sweep_expression(const ssw_sweep_t *sweep, const char *key);

#endif
