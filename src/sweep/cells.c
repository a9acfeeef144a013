/* One cell of a sweep: its parameters (axis values, then expressions in dependency order,
 * then the cross-key checks), where to point when one is wrong, the check of every cell at
 * load, and the cell's estimated cost and memory (the core's model of them, train.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/text.h"
#include "shallowsweep/ntk.h"
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
    char quoted[SSW_QUOTE_MAX + 48];
    SSW_REQUIRE_KEY(isfinite(v), SSW_ERR_INPUT, name, "expression '%s' evaluates to %s — keep it finite "
                    "(check divisions by zero and logs of non-positive values)",
                    ssw_text_quote(sw->ks[k].expr_text, quoted, sizeof quoted),
                    isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity");
    if (sw->keys[k].type == SSW_KEY_INT) v = round(v); /* integer keys from expressions are rounded */
    SSW_TRY(ssw_params_set_number(out, name, v));
  }
  ssw_params_resolve(out);
  SSW_TRY(ssw_params_check(out));
  const double need = ssw_trainer_memory(out), limit = out->memory_limit_gib * 1073741824.0;
  SSW_REQUIRE_KEY(need <= limit, SSW_ERR_INPUT, "memory_limit_gib",
                  "the cell needs %.3g GiB per rank, above memory_limit_gib = %g — make width or n smaller, or "
                  "raise memory_limit_gib (train section) if the nodes have the memory", need / 1073741824.0,
                  out->memory_limit_gib);
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

/* The edge ratio at initialization of cell index (0 for a cell that cannot be set up). */
static int initial_edge(const ssw_sweep_t *sw, int64_t index, double *ratio) {
  ssw_params_t p;
  *ratio = 0.0;
  if (ssw_sweep_cell_params(sw, index, &p) != SSW_OK) {
    ssw_error_clear(); /* check_cells reported bad cells already */
    return SSW_OK;
  }
  ssw_trainer_t t;
  int rc = ssw_trainer_init(&t, &p);
  ssw_edge_t edge = {0};
  if (rc == SSW_OK)
    rc = ssw_ntk_edge_ratio(&t.M, t.theta0, t.n_loss, t.X, t.groups, t.p.rate_ratio * t.p.lr, t.p.lr, &edge);
  ssw_trainer_fini(&t);
  *ratio = edge.ratio;
  return rc;
}

typedef struct {
  int64_t cell;
  double ratio;
} edge_sample_t;

static int larger_ratio_first(const void *x, const void *y) {
  double a = ((const edge_sample_t *)x)->ratio, b = ((const edge_sample_t *)y)->ratio;
  return (a < b) - (a > b);
}

int ssw_sweep_edge_check(const ssw_sweep_t *sw, ssw_edge_report_t *rep) {
  const ssw_grid_t *g = &sw->grid;
  *rep = (ssw_edge_report_t){0};
  int varying[SSW_MAX_AXES], nv = 0;
  for (int a = 0; a < g->naxes; a++)
    if (g->axes[a].count > 1 && strcmp(g->axes[a].name, "seed") != 0) varying[nv++] = a;
  edge_sample_t beyond[SSW_EDGE_SAMPLE_MAX];
  for (int64_t corner = 0; corner < (INT64_C(1) << nv) && rep->sampled < SSW_EDGE_SAMPLE_MAX; corner++) {
    int64_t coords[SSW_MAX_AXES] = {0};
    for (int v = 0; v < nv; v++) coords[varying[v]] = (corner >> v) & 1 ? g->axes[varying[v]].count - 1 : 0;
    const int64_t cell = ssw_grid_index(g, coords);
    double ratio;
    SSW_TRY(initial_edge(sw, cell, &ratio));
    rep->sampled++;
    rep->max_ratio = fmax(rep->max_ratio, ratio);
    if (ratio > 1.0) beyond[rep->beyond++] = (edge_sample_t){cell, ratio};
  }
  qsort(beyond, (size_t)rep->beyond, sizeof beyond[0], larger_ratio_first);
  for (rep->shown = 0; rep->shown < rep->beyond && rep->shown < SSW_EDGE_SHOWN_MAX; rep->shown++)
    rep->cells[rep->shown] = beyond[rep->shown].cell, rep->ratios[rep->shown] = beyond[rep->shown].ratio;
  if (rep->beyond == 0 || sw->base.edge_check != SSW_EDGE_CHECK_ERROR) return SSW_OK;
  char text[SSW_CELL_TEXT_MAX];
  ssw_grid_cell_text(g, rep->cells[0], text, sizeof text);
  (void)SSW_ERROR_KEY(SSW_ERR_INPUT, "lr", "the step is beyond the stability edge at initialization in %d of %d "
                      "sampled cells (worst: %s, edge ratio %.3g) — lower lr or rate_ratio, or set edge_check: warn",
                      rep->beyond, rep->sampled, text, rep->ratios[0]);
  return ssw_error_at(blame(sw, "lr"), NULL, NULL);
}
