/* One cell of a sweep: its parameters (axis values, then expressions in dependency order,
 * then the cross-key checks), where to point when one is wrong, the check of every cell at
 * load, and the cell's estimated cost and memory (the core's model of them, train.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/train.h"
#include "sweep_impl.h"

enum { CHECK_ALL_CELLS = 20000 }; /* at load, every cell is checked up to this many; else corners */

typedef struct {
  const ssw_sweep_t *sw;
  const ssw_params_t *p;
  const int64_t *coords;
} lookup_ctx_t;

static int lookup(void *ctx, const char *name, double *value) {
  const lookup_ctx_t *c = ctx;
  int a = ssw_sweep_axis_of(c->sw, name);
  if (a >= 0 && c->sw->axis_free[a]) return *value = c->sw->grid.axes[a].values[c->coords[a]], SSW_OK;
  const ssw_param_key_t *k = ssw_params_key(name);
  SSW_REQUIRE(k, SSW_ERR_INTERNAL, "unresolved name '%s'", name);
  *value = ssw_params_get_number(c->p, k);
  return SSW_OK;
}

/* The parameters of cell index; on failure the error trace names the key at fault. */
static int cell_params(const ssw_sweep_t *sw, int64_t index, ssw_params_t *out) {
  const ssw_grid_t *g = &sw->grid;
  SSW_REQUIRE(index >= 0 && index < g->ncells, SSW_ERR_INPUT, "cell %lld is not in the grid (0..%lld)",
              (long long)index, (long long)g->ncells - 1);
  int64_t coords[SSW_MAX_AXES];
  ssw_grid_coords(g, index, coords);
  *out = sw->base;
  for (int a = 0; a < g->naxes; a++)
    if (!sw->axis_free[a]) SSW_TRY(ssw_params_set(out, g->axes[a].name, g->axes[a].labels[coords[a]]));
  lookup_ctx_t ctx = {.sw = sw, .p = out, .coords = coords};
  for (int i = 0; i < sw->norder; i++) {
    int k = sw->order[i];
    const char *name = sw->keys[k].name;
    double v;
    if (ssw_expr_eval(sw->ks[k].expr, lookup, &ctx, &v) != SSW_OK)
      return ssw_error_locate(NULL, 0, 0, name, NULL);
    SSW_REQUIRE_KEY(isfinite(v), SSW_ERR_INPUT, name, "expression '%s' evaluates to %s — keep it finite "
                    "(check divisions by zero and logs of non-positive values)", sw->ks[k].expr_text,
                    isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity");
    if (sw->keys[k].type == SSW_KEY_INT) v = round(v); /* integer keys from expressions are rounded */
    SSW_TRY(ssw_params_set_number(out, name, v));
  }
  ssw_params_resolve(out);
  SSW_TRY(ssw_params_check(out));
  return SSW_OK;
}

/* Where to point for a failing key: its value, its axis, or a key it is checked against. */
static ssw_loc_t blame(const ssw_sweep_t *sw, const char *key) {
  static const char *const partners[][2] = {
      {"record_points", "max_iters"}, {"batch_size", "n"}, {"batch_size", "online"},
      {"width", "symmetric_init"}, {"dim", "target"}, {"dim", "bias_init"},
      {"target_values", "target_breakpoints"}, {"output_scale", "width"}, {"inner_init_std", "dim"}};
  int k = key ? ssw_sweep_key_index(sw, key) : -1;
  if (k >= 0 && sw->ks[k].axis >= 0) return sw->axis_loc[sw->ks[k].axis];
  if (k >= 0 && sw->ks[k].loc.line > 0) return sw->ks[k].loc;
  for (size_t i = 0; key && i < sizeof partners / sizeof partners[0]; i++) {
    if (strcmp(partners[i][0], key) != 0) continue;
    ssw_loc_t loc = blame(sw, partners[i][1]);
    if (loc.line > 0) return loc;
  }
  return (ssw_loc_t){.file = sw->path, .line = 1, .col = 1};
}

int ssw_sweep_cell_params(const ssw_sweep_t *sw, int64_t index, ssw_params_t *out) {
  if (cell_params(sw, index, out) == SSW_OK) return SSW_OK;
  if (ssw_error_code() != SSW_ERR_INPUT || index < 0 || index >= sw->grid.ncells) return ssw_error_code();
  char key[SSW_NAME_MAX], cell[SSW_CELL_TEXT_MAX], ctx[SSW_CELL_TEXT_MAX + 32] = "";
  snprintf(key, sizeof key, "%s", ssw_error_key());
  ssw_grid_cell_text(&sw->grid, index, cell, sizeof cell);
  if (sw->grid.ncells > 1) snprintf(ctx, sizeof ctx, "in cell %lld (%s)", (long long)index, cell);
  return ssw_error_at(blame(sw, key[0] ? key : NULL), NULL, ctx);
}

/* Every cell when there are few; else every corner of the grid (first and last value of each
 * axis), where range violations of monotone expressions show. */
int ssw_sweep_check_cells(const ssw_sweep_t *sw) {
  const ssw_grid_t *g = &sw->grid;
  ssw_params_t p;
  if (g->ncells <= CHECK_ALL_CELLS) {
    for (int64_t i = 0; i < g->ncells; i++) SSW_TRY(ssw_sweep_cell_params(sw, i, &p));
    return SSW_OK;
  }
  for (int64_t corner = 0; corner < (INT64_C(1) << g->naxes); corner++) {
    int64_t coords[SSW_MAX_AXES];
    for (int a = 0; a < g->naxes; a++) coords[a] = (corner >> a) & 1 ? g->axes[a].count - 1 : 0;
    SSW_TRY(ssw_sweep_cell_params(sw, ssw_grid_index(g, coords), &p));
  }
  return SSW_OK;
}

double ssw_sweep_cell_cost(const ssw_sweep_t *sweep, int64_t index) {
  ssw_params_t p;
  if (ssw_sweep_cell_params(sweep, index, &p) != SSW_OK) {
    ssw_error_clear();
    return 0.0; /* a bad cell costs nothing: it fails at once */
  }
  return ssw_trainer_cost(&p);
}

double ssw_sweep_cell_memory(const ssw_sweep_t *sweep, int64_t index) {
  ssw_params_t p;
  if (ssw_sweep_cell_params(sweep, index, &p) != SSW_OK) {
    ssw_error_clear();
    return 0.0;
  }
  return ssw_trainer_memory(&p);
}
