/* Internals shared by the files of src/sweep (not a public header):
 *   yaml.c       a YAML document as a small tree with positions; errors placed at a position
 *   load.c       reading the file, collecting what sets each key, --set, the load entry points
 *   values.c     plain values and expressions of keys, name resolution and evaluation order
 *   axes.c       grid axes from their YAML (lists, ranges, seeds)
 *   cells.c      one cell's parameters, the checks of every cell, cost and memory of a cell
 *   canonical.c  the canonical YAML text and the diff of two of them
 *   grid.c       axis values and labels, index <-> coordinates, cell text, --at
 *   refine_spec.c  the refine: section and adaptive seeds (refine.h)
 *   refine_plan.c  which cells an adaptive sweep needs, from finished results (refine.h)
 * A load runs collect -> overrides -> values -> axes -> names -> cells -> canonical.
 */
#ifndef SHALLOWSWEEP_SWEEP_IMPL_H
#define SHALLOWSWEEP_SWEEP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/expr.h"
#include "shallowsweep/refine.h"
#include "shallowsweep/sweep.h"

enum {
  SSW_YAML_MAX_DEPTH = 16,           /* nesting of YAML collections we accept */
  SSW_AXIS_MAX_VALUES = 100000,      /* values of one axis */
  SSW_MAX_OVERRIDES = 256,           /* --set options of one load */
};
#define SSW_MAX_CELLS 1e9            /* cells of one sweep (DESIGN §3 / issue 4) */

/* The sections of a sweep file that hold keys, in canonical order. */
extern const char *const ssw_sweep_sections[];
enum { SSW_SWEEP_NSECTIONS = 4 };

/* ---- YAML (yaml.c) ---- */

/* A position in a sweep file or a --set argument (line is 1-based; 0 means "none"). */
typedef struct ssw_loc {
  const char *file;
  int line, col;
} ssw_loc_t;

typedef enum { SSW_YAML_SCALAR, SSW_YAML_SEQ, SSW_YAML_MAP } ssw_yaml_kind_t;

typedef struct ssw_yaml_node {
  ssw_yaml_kind_t kind;
  ssw_loc_t loc;                /* of the node's first character */
  char *text;                   /* SCALAR: its value */
  bool plain;                   /* SCALAR: unquoted */
  struct ssw_yaml_node **items; /* SEQ: items; MAP: key0, value0, key1, value1, ... */
  int nitems;
} ssw_yaml_node_t;

/* Parse one YAML document from text. An empty document gives *root = NULL. On a syntax error:
 * SSW_ERR_INPUT, "FILE:LINE:COL: [key 'k': ]YAML syntax error: ... — ..." (k the last mapping
 * key before the error, or key if none). line_override (> 0) and col_offset place reported
 * positions in a --set argument. */
SSW_NODISCARD int ssw_yaml_parse(ssw_yaml_node_t **root, const char *file, const char *text, size_t len,
                                 int line_override, int col_offset, const char *key);
void ssw_yaml_destroy(ssw_yaml_node_t **node);

/* Place the current error at loc, naming key (NULL: keep the key the error names, if any)
 * and the cell context (NULL: none). Returns the error's code. */
SSW_NODISCARD int ssw_error_at(ssw_loc_t loc, const char *key, const char *cell_context);
/* A new input error at loc naming key. Returns SSW_ERR_INPUT. */
SSW_NODISCARD int ssw_error_at_fmt(ssw_loc_t loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the sweep ---- */

typedef struct {
  ssw_expr_t *expr;    /* INT/REAL key given as an expression (or a derived default) */
  char *expr_text;     /* its canonical text */
  ssw_loc_t loc;       /* where the key was set (line 0: default) */
  int axis;            /* index into the grid, or -1 */
  int visit;           /* cycle search: 0 new, 1 on the path, 2 done */
} ssw_key_state_t;

struct ssw_sweep {
  char *path, *text, *name, *description, *canonical;
  const ssw_param_key_t *keys; /* the key table */
  size_t nkeys;
  ssw_key_state_t *ks;         /* (nkeys) */
  ssw_params_t base;           /* every literal value; expression keys filled per cell */
  int *order;                  /* (norder) expression keys, dependencies first */
  int norder;
  ssw_grid_t grid;
  ssw_loc_t axis_loc[SSW_MAX_AXES];
  bool axis_free[SSW_MAX_AXES]; /* a free variable of expressions, not a key */
  ssw_refine_t refine;          /* refine: and seeds: {start, max} (refine_spec.c) */
  char refine_names[2][SSW_NAME_MAX];
};

/* What sets one key, one axis. */
typedef struct {
  const ssw_yaml_node_t *node; /* NULL: not set */
  ssw_loc_t loc;               /* of the key's name */
  bool from_file;
} ssw_setting_t;

typedef struct {
  char name[SSW_NAME_MAX];
  ssw_setting_t set;
} ssw_axis_entry_t;

/* Load-time state: the parsed documents and what each key and axis is set by. */
typedef struct {
  ssw_sweep_t *sw;
  ssw_yaml_node_t *docs[SSW_MAX_OVERRIDES + 1];
  int ndocs;
  ssw_setting_t *keyset;       /* (nkeys) section values */
  ssw_setting_t name, description, refine;
  ssw_axis_entry_t axes[SSW_MAX_AXES + 2];
  int naxes;
} ssw_loader_t;

static inline ssw_loc_t ssw_sweep_no_loc(const ssw_sweep_t *sw) { return (ssw_loc_t){.file = sw->path}; }
/* Index of a key in sw->keys, or -1. */
int ssw_sweep_key_index(const ssw_sweep_t *sw, const char *name);
/* Index of an axis of the grid by name, or -1. */
int ssw_sweep_axis_of(const ssw_sweep_t *sw, const char *name);
/* "unknown key in WHERE — did you mean ...?" at loc. Returns SSW_ERR_INPUT. */
SSW_NODISCARD int ssw_sweep_unknown_key(ssw_loc_t loc, const char *name, const char *where);
/* A mapping whose keys are plain scalars, none twice. */
SSW_NODISCARD int ssw_yaml_check_map(const ssw_yaml_node_t *map, const char *key);
bool ssw_yaml_is_empty(const ssw_yaml_node_t *nd);
/* The loader's axis entry named name, or -1. */
int ssw_loader_find_axis(const ssw_loader_t *ld, const char *name);

/* The passes of a load, in order. */
SSW_NODISCARD int ssw_sweep_build_values(ssw_loader_t *ld);   /* values.c */
SSW_NODISCARD int ssw_sweep_build_axes(ssw_loader_t *ld);     /* axes.c */
SSW_NODISCARD int ssw_sweep_resolve_names(ssw_sweep_t *sw);   /* values.c */
SSW_NODISCARD int ssw_sweep_check_cells(const ssw_sweep_t *sw); /* cells.c */
SSW_NODISCARD int ssw_sweep_build_canonical(ssw_sweep_t *sw); /* canonical.c */

/* ---- axes (grid.c) ---- */

/* Set axis->values and labels from values (count): range-checked against axis->key, integer
 * keys rounded, duplicates rejected. On error *bad_item is the offending item. */
SSW_NODISCARD int ssw_axis_assign(ssw_axis_t *axis, const double *values, int64_t count, int64_t *bad_item);
/* lo..hi, count points, linear or geometric; the endpoints exact. */
SSW_NODISCARD int ssw_axis_space(double lo, double hi, int64_t count, bool geometric, double *values);
/* The key that a free variable axis (a grid name used only by expressions) points to. */
const ssw_param_key_t *ssw_free_variable_key(void);

/* ---- adaptive sweeps (refine_spec.c) ---- */
/* After collect and overrides, before the axes: the refine: section checked. */
SSW_NODISCARD int ssw_sweep_build_refine(ssw_loader_t *ld);
/* Which refined axis (0, 1) name is, or -1. */
int ssw_sweep_refine_slot(const ssw_sweep_t *sw, const char *axis);
/* A range of refined axis `slot`: remember it, and *count becomes its fine point count. */
SSW_NODISCARD int ssw_sweep_refine_range(ssw_sweep_t *sw, int slot, double lo, double hi, int64_t *count,
                                         bool geometric, const ssw_yaml_node_t *num);
/* seeds: {start: S0, max: S1}: *count = S1. */
SSW_NODISCARD int ssw_sweep_adaptive_seeds(ssw_sweep_t *sw, const ssw_yaml_node_t *nd, int64_t *count);
/* After the axes: the refined axes' numbers, the seeds every point gets. */
SSW_NODISCARD int ssw_sweep_finish_refine(ssw_sweep_t *sw);
/* The canonical grid line of a refined axis or of adaptive seeds, and the refine section. */
void ssw_sweep_refine_canonical(const ssw_sweep_t *sw, int axis, ssw_text_t *s);
void ssw_sweep_refine_section(const ssw_sweep_t *sw, ssw_text_t *s);

#endif
