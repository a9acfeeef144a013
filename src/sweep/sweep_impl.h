/* Internals shared by the files of src/sweep: a YAML document as a small tree with positions, axis
 * construction, and the sweep object itself. Not a public header. */
#ifndef SHALLOWSWEEP_SWEEP_IMPL_H
#define SHALLOWSWEEP_SWEEP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/expr.h"
#include "shallowsweep/sweep.h"

enum {
  SSW_YAML_MAX_DEPTH = 16,           /* nesting of YAML collections we accept */
  SSW_AXIS_MAX_VALUES = 100000,      /* values of one axis */
};
#define SSW_MAX_CELLS 1e9            /* cells of one sweep (DESIGN §3 / issue 4) */

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
int ssw_yaml_parse(ssw_yaml_node_t **root, const char *file, const char *text, size_t len,
                   int line_override, int col_offset, const char *key);
void ssw_yaml_destroy(ssw_yaml_node_t **node);

/* Re-set the current error message as "FILE:LINE:COL: key 'key': <message>", removing a
 * leading "key '...': " of the message itself. Returns SSW_ERR_INPUT. */
int ssw_error_at(ssw_loc_t loc, const char *key, const char *cell_context);
int ssw_error_at_fmt(ssw_loc_t loc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Axis construction (grid.c). values (count) are range-checked against axis->key, integer
 * keys rounded, duplicates rejected; labels made. On error *bad_item is the offending item. */
int ssw_axis_assign(ssw_axis_t *axis, const double *values, int64_t count, int64_t *bad_item);
void ssw_axis_fini(ssw_axis_t *axis);
/* lo..hi, count points, linear or geometric; the endpoints exact. */
int ssw_axis_space(double lo, double hi, int64_t count, bool geometric, double *values);
/* The key that a free variable axis (a grid name used only by expressions) points to. */
const ssw_param_key_t *ssw_free_variable_key(void);
/* Canonical text of a real number: the shortest %.{15,16,17}g that reads back exactly. */
void ssw_format_real(double v, char *buf, size_t size);
/* Levenshtein distance (bounded inputs), for "did you mean". */
int ssw_edit_distance(const char *a, const char *b);

/* Cell params with the key to blame on failure (for load-time checks). */
int ssw_sweep_cell_params_ex(const ssw_sweep_t *sweep, int64_t index, ssw_params_t *out,
                             const char **bad_key);

#endif
