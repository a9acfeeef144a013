/* The grid's axes from their YAML: a list [a, b, ...], a range {geom|lin: [lo, hi], num: k},
 * or seeds: N; the seed axis always last. Values are checked and labelled by grid.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "sweep_impl.h"

static int scalar_number(const ssw_yaml_node_t *nd, const char *axis, const char *what, double *v) {
  if (nd->kind != SSW_YAML_SCALAR || !ssw_expr_is_number(nd->text, v))
    return ssw_error_at_fmt(nd->loc, axis, "%s '%s' is not a number — axis values are plain numbers", what,
                            nd->kind == SSW_YAML_SCALAR ? nd->text : "(a collection)");
  return SSW_OK;
}

static int list_values(const ssw_axis_t *axis, const ssw_yaml_node_t *nd, double *values) {
  const ssw_param_key_t *k = axis->key;
  for (int i = 0; i < nd->nitems; i++) {
    const ssw_yaml_node_t *it = nd->items[i];
    if (k->type == SSW_KEY_ENUM || k->type == SSW_KEY_BOOL) {
      ssw_params_t scratch;
      ssw_params_init(&scratch);
      if (it->kind != SSW_YAML_SCALAR || ssw_params_set(&scratch, k->name, it->text) != SSW_OK) {
        if (it->kind != SSW_YAML_SCALAR) SSW_ERROR(SSW_ERR_INPUT, "axis items must be single values");
        return ssw_error_at(it->loc, axis->name, NULL);
      }
      values[i] = ssw_params_get_number(&scratch, k);
    } else {
      SSW_TRY(scalar_number(it, axis->name, "axis value", &values[i]));
    }
  }
  return SSW_OK;
}

/* {geom: [lo, hi], num: k} or {lin: [lo, hi], num: k}. */
static int range_values(ssw_sweep_t *sw, const ssw_axis_t *axis, const ssw_yaml_node_t *nd, double **values,
                        int64_t *count) {
  const ssw_yaml_node_t *range = NULL, *num = NULL;
  bool geometric = false;
  SSW_TRY(ssw_yaml_check_map(nd, axis->name));
  for (int i = 0; i < nd->nitems; i += 2) {
    const char *w = nd->items[i]->text;
    if (strcmp(w, "geom") == 0 || strcmp(w, "lin") == 0) {
      if (range)
        return ssw_error_at_fmt(nd->items[i]->loc, axis->name, "both geom and lin — give one of them");
      range = nd->items[i + 1];
      geometric = w[0] == 'g';
    } else if (strcmp(w, "num") == 0) {
      num = nd->items[i + 1];
    } else {
      return ssw_error_at_fmt(nd->items[i]->loc, axis->name, "unknown range word '%s' — write {geom: [lo, hi], "
                              "num: k} or {lin: [lo, hi], num: k}", w);
    }
  }
  if (!range || !num)
    return ssw_error_at_fmt(nd->loc, axis->name, "a range needs %s — write {geom: [lo, hi], num: k} or {lin: "
                            "[lo, hi], num: k}", range ? "num" : "geom or lin");
  if (axis->key->type == SSW_KEY_ENUM || axis->key->type == SSW_KEY_BOOL)
    return ssw_error_at_fmt(nd->loc, axis->name, "a range needs a numeric key — list the values instead");
  if (range->kind != SSW_YAML_SEQ || range->nitems != 2)
    return ssw_error_at_fmt(range->loc, axis->name, "the range must be [lo, hi] — two numbers");
  double lo, hi, k;
  SSW_TRY(scalar_number(range->items[0], axis->name, "lo", &lo));
  SSW_TRY(scalar_number(range->items[1], axis->name, "hi", &hi));
  SSW_TRY(scalar_number(num, axis->name, "num", &k));
  if (!(k >= 1 && k <= SSW_AXIS_MAX_VALUES && k == floor(k)))
    return ssw_error_at_fmt(num->loc, axis->name, "num must be a whole number from 1 to %d (got %s) — give "
                            "the number of values", SSW_AXIS_MAX_VALUES, num->text);
  *count = (int64_t)k;
  int slot = ssw_sweep_refine_slot(sw, axis->name);
  if (slot >= 0) SSW_TRY(ssw_sweep_refine_range(sw, slot, lo, hi, count, geometric, num));
  SSW_ALLOC(*values, *count);
  if (ssw_axis_space(lo, hi, *count, geometric, *values) != SSW_OK)
    return ssw_error_at(range->loc, axis->name, NULL);
  return SSW_OK;
}

static int seeds_values(ssw_sweep_t *sw, const ssw_yaml_node_t *nd, double **values, int64_t *count) {
  double v;
  if (nd->kind == SSW_YAML_MAP) {
    SSW_TRY(ssw_sweep_adaptive_seeds(sw, nd, count));
  } else if (nd->kind != SSW_YAML_SCALAR || !ssw_expr_is_number(nd->text, &v) || v != floor(v) || v < 1 ||
             v > SSW_AXIS_MAX_VALUES) {
    return ssw_error_at_fmt(nd->loc, "seeds", "must be a whole number from 1 to %d — seeds: N runs seeds 0..N-1 "
                            "(or seeds: {start: S0, max: S1} adds seeds where the outcome is uncertain)",
                            SSW_AXIS_MAX_VALUES);
  } else {
    *count = (int64_t)v;
  }
  SSW_ALLOC(*values, *count);
  for (int64_t i = 0; i < *count; i++) (*values)[i] = (double)i;
  return SSW_OK;
}

static int axis_key(ssw_sweep_t *sw, const ssw_axis_entry_t *e, int a) {
  ssw_axis_t *axis = &sw->grid.axes[a];
  bool seeds = strcmp(e->name, "seeds") == 0;
  snprintf(axis->name, sizeof axis->name, "%s", seeds ? "seed" : e->name);
  axis->key = ssw_params_key(axis->name);
  sw->axis_loc[a] = e->set.loc;
  if (!axis->key) { /* a free variable; resolve_names checks that an expression uses it */
    sw->axis_free[a] = true;
    axis->key = ssw_free_variable_key();
    return SSW_OK;
  }
  const ssw_param_key_t *k = axis->key;
  if (k->type == SSW_KEY_GROUPS || k->type == SSW_KEY_REAL_LIST)
    return ssw_error_at_fmt(e->set.loc, e->name, "cannot be an axis: it is a list, not a scalar — set it in "
                            "section %s", k->section);
  if (!strcmp(k->name, "max_iters") || !strcmp(k->name, "record_points") || !strcmp(k->name, "record_spacing"))
    return ssw_error_at_fmt(e->set.loc, e->name, "cannot be an axis: the recorded steps are the same for "
                            "every cell — set it in section train (one sweep per value)");
  sw->ks[k - sw->keys].axis = a;
  return SSW_OK;
}

static int build_axis(ssw_sweep_t *sw, const ssw_axis_entry_t *e, int a) {
  SSW_TRY(axis_key(sw, e, a));
  ssw_axis_t *axis = &sw->grid.axes[a];
  const ssw_yaml_node_t *nd = e->set.node;
  double *values = NULL;
  int64_t count = 0;
  int rc;
  if (strcmp(e->name, "seeds") == 0) {
    rc = seeds_values(sw, nd, &values, &count);
  } else if (nd->kind == SSW_YAML_SEQ) {
    count = nd->nitems;
    values = calloc((size_t)count + 1, sizeof *values);
    rc = values ? list_values(axis, nd, values) : SSW_ERROR(SSW_ERR_NOMEM, "out of memory");
  } else if (nd->kind == SSW_YAML_MAP) {
    rc = range_values(sw, axis, nd, &values, &count);
  } else {
    rc = ssw_error_at_fmt(nd->loc, e->name, "an axis needs a list [a, b, ...], {geom: [lo, hi], num: k} or "
                          "{lin: [lo, hi], num: k} — for one value, set it in section %s instead",
                          axis->key->section);
  }
  if (rc == SSW_OK) {
    int64_t bad = -1;
    rc = ssw_axis_assign(axis, values, count, &bad);
    if (rc != SSW_OK) {
      ssw_loc_t loc = nd->kind == SSW_YAML_SEQ && bad >= 0 && bad < nd->nitems ? nd->items[bad]->loc : nd->loc;
      if (count == 0) loc = e->set.loc;
      rc = ssw_error_at(loc, e->name, NULL);
    }
  }
  free(values);
  return rc;
}

/* Checked after every axis, so that a huge grid is refused before more memory goes to it. */
static int check_cell_count(ssw_sweep_t *sw) {
  ssw_grid_t *g = &sw->grid;
  double cells = 1;
  for (int a = 0; a < g->naxes; a++) cells *= (double)g->axes[a].count;
  if (cells > SSW_MAX_CELLS)
    return ssw_error_at_fmt(sw->axis_loc[0], g->axes[0].name, "the grid has %.4g cells or more, more than "
                            "%.0e — use fewer values per axis or split the sweep", cells, SSW_MAX_CELLS);
  g->ncells = (int64_t)cells;
  return SSW_OK;
}

int ssw_sweep_build_axes(ssw_loader_t *ld) {
  ssw_sweep_t *sw = ld->sw;
  ssw_grid_t *g = &sw->grid;
  int seed_entry = -1;
  for (int i = 0; i < ld->naxes; i++) {
    const char *nm = ld->axes[i].name;
    if (strcmp(nm, "seeds") != 0 && strcmp(nm, "seed") != 0) {
      SSW_TRY(build_axis(sw, &ld->axes[i], g->naxes++));
      SSW_TRY(check_cell_count(sw));
      continue;
    }
    if (seed_entry >= 0)
      return ssw_error_at_fmt(ld->axes[i].set.loc, nm, "the seed axis is given twice (seeds: N and seed: [...]) "
                              "— keep one");
    seed_entry = i;
  }
  /* The seed axis is always there and always last: one seed unless told. */
  static const ssw_yaml_node_t one = {.kind = SSW_YAML_SCALAR, .text = "1", .plain = true};
  ssw_axis_entry_t dflt = {.name = "seeds", .set = {.node = &one, .loc = ssw_sweep_no_loc(sw)}};
  SSW_TRY(build_axis(sw, seed_entry >= 0 ? &ld->axes[seed_entry] : &dflt, g->naxes++));
  SSW_TRY(check_cell_count(sw));
  return SSW_OK;
}
