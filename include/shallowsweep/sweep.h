/* A sweep: a YAML sweep file (DESIGN.md §3) resolved into base parameters, expressions and
 * a grid of cells. This is the interface the CLI, the engine and the store use; the files
 * of src/sweep (sweep_impl.h lists them) hold its passes, expressions are src/core/expr.c.
 *
 * Cells are numbered row-major over the axes in file order, the seed axis last.
 */
#ifndef SHALLOWSWEEP_SWEEP_H
#define SHALLOWSWEEP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/params.h"
#include "shallowsweep/text.h"

enum {
  SSW_MAX_AXES = 16,
  SSW_NAME_MAX = 64,
  SSW_SWEEP_FILE_MAX = 1 << 20, /* bytes of a sweep file: a page of YAML */
  /* "name=label,..." of one cell, with its NUL */
  SSW_CELL_TEXT_MAX = SSW_MAX_AXES * (SSW_NAME_MAX + SSW_REAL_TEXT_MAX + 2),
};
/* A number typed by a user (--at, analysis selections) names an axis value when it is within
 * this relative distance of it; analysis/select.py uses the same (tests/docs checks). */
#define SSW_AXIS_VALUE_RTOL 1e-12

typedef struct ssw_axis {
  char name[SSW_NAME_MAX];      /* the key it sets ("seed" for the seed axis) */
  const ssw_param_key_t *key;   /* that key's table entry (a free variable: a REAL stand-in) */
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

/* Read a sweep file whole into a malloc'ed NUL-terminated *text (*len bytes): a regular
 * file, a pipe or a process substitution. At most SSW_SWEEP_FILE_MAX + 1 bytes are read, so
 * that ssw_sweep_load_text refuses a larger file. Every command reads sweep files with this.
 * Not collective. */
SSW_NODISCARD int ssw_sweep_read_file(const char *path, char **text, size_t *len);
/* Parse and resolve a sweep file. overrides: count strings "key=value" (--set), applied after
 * the file. On a bad file: SSW_ERR_INPUT with the message "FILE:LINE:COL: key 'k': what — what
 * to do". Not collective. */
SSW_NODISCARD int ssw_sweep_load(ssw_sweep_t **sweep, const char *path, const char *const *overrides,
                                 int noverrides);
/* The same from text already in memory (path is used in messages only); refuses more than
 * SSW_SWEEP_FILE_MAX bytes. */
SSW_NODISCARD int ssw_sweep_load_text(ssw_sweep_t **sweep, const char *path, const char *text, size_t len,
                                      const char *const *overrides, int noverrides);
void ssw_sweep_destroy(ssw_sweep_t **sweep);

/* The nearest key, section or grid word of a sweep file to a misspelt name, or NULL if none is
 * close (the one "did you mean" of every command). */
const char *ssw_sweep_nearest_name(const char *name);

const char *ssw_sweep_name(const ssw_sweep_t *sweep);
const char *ssw_sweep_text(const ssw_sweep_t *sweep);      /* the file as read */
const char *ssw_sweep_canonical(const ssw_sweep_t *sweep); /* every key, deterministic YAML */
const ssw_grid_t *ssw_sweep_grid(const ssw_sweep_t *sweep);

/* The keys whose values differ between two canonical sweeps, as "a.b, c.d" (at most size
 * bytes); empty when equal. Not collective. */
void ssw_sweep_canonical_diff(const char *a, const char *b, char *out, size_t size);

/* The resolved, checked parameters of cell `index` (0 <= index < ncells). A parameter that
 * is out of range for this cell only (an expression) gives SSW_ERR_INPUT naming the cell. */
SSW_NODISCARD int ssw_sweep_cell_params(const ssw_sweep_t *sweep, int64_t index, ssw_params_t *out);
/* The step size against the stability edge before running (validate, plan): the edge ratio at
 * initialization (ntk.h) of a sample of cells — every corner of the grid (first and last value
 * of each axis with more than one), seed at its first value, at most SSW_EDGE_SAMPLE_MAX. */
enum { SSW_EDGE_SAMPLE_MAX = 64, SSW_EDGE_SHOWN_MAX = 4 };
typedef struct ssw_edge_report {
  int sampled, beyond;                      /* cells sampled; of those, edge ratio > 1 */
  int shown;                                /* how many of the beyond ones follow */
  int64_t cells[SSW_EDGE_SHOWN_MAX];        /* the largest ratios, largest first */
  double ratios[SSW_EDGE_SHOWN_MAX];
  double max_ratio;                         /* over the sample */
} ssw_edge_report_t;
/* Fill rep; with edge_check: error in the sweep and a cell beyond the edge, SSW_ERR_INPUT
 * naming lr's position and the worst cell. Not collective. */
SSW_NODISCARD int ssw_sweep_edge_check(const ssw_sweep_t *sweep, ssw_edge_report_t *rep);

/* Estimated flop-equivalents of a cell (ssw_trainer_cost; 0 for a cell that cannot run). */
double ssw_sweep_cell_cost(const ssw_sweep_t *sweep, int64_t index);
/* Estimated bytes one rank holds while training cell `index` (ssw_trainer_memory). */
double ssw_sweep_cell_memory(const ssw_sweep_t *sweep, int64_t index);
/* Record points and max_iters are the same for every cell (record_points and max_iters may
 * not be axes); the record steps are ssw_record_steps(max_iters, record_points, spacing). */
int64_t ssw_sweep_record_points(const ssw_sweep_t *sweep);

/* An axis value as its canonical label: the key's enum name, true/false, an integer, or a
 * real number by ssw_format_real (key NULL: a real). Every label of a grid, in memory or
 * read from a file, is made by this. Not collective. */
void ssw_axis_label(const ssw_param_key_t *key, double value, char *buf, size_t size);
/* Index <-> coordinates, row-major (last axis fastest). coords (naxes). */
void ssw_grid_coords(const ssw_grid_t *grid, int64_t index, int64_t *coords);
int64_t ssw_grid_index(const ssw_grid_t *grid, const int64_t *coords);
/* A cell's coordinates as "width=256,n=64,seed=0" (labels as above): the one text every
 * command prints for a cell, and what --at reads back. */
void ssw_grid_cell_text(const ssw_grid_t *grid, int64_t index, char *buf, size_t size);
/* Find the cell of "width=256,n=64,seed=0" (every axis named, values as in the labels or
 * within SSW_AXIS_VALUE_RTOL). SSW_ERR_INPUT naming the axis on a miss. */
SSW_NODISCARD int ssw_grid_find(const ssw_grid_t *grid, const char *at, int64_t *index);
/* Free every axis's values and labels; the grid is left empty. */
void ssw_grid_fini(ssw_grid_t *grid);

/* The sweep's base parameters: every plain value of the file (and --set); keys given as
 * expressions hold their defaults here and get their value per cell. max_iters,
 * record_points and record_spacing are the same for every cell and are read from here. */
const ssw_params_t *ssw_sweep_base(const ssw_sweep_t *sweep);
/* The canonical expression text of a key ("1/sqrt(width)"), or NULL for a plain value. */
const char *ssw_sweep_expression(const ssw_sweep_t *sweep, const char *key);

#endif
