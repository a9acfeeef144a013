/* The values of a sweep's keys: plain values into the base parameters, expressions parsed
 * (a key given as "0.5*width", or a derived default such as 1/sqrt(width)), then every name
 * an expression uses resolved to a numeric key or axis and the expressions ordered so that
 * dependencies come first (cycles named).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/text.h"
#include "sweep_impl.h"

static bool is_numeric(const ssw_param_key_t *k) {
  return k->type == SSW_KEY_INT || k->type == SSW_KEY_REAL || k->type == SSW_KEY_BOOL;
}


static int set_expression(ssw_sweep_t *sw, int k, const char *text, ssw_loc_t loc, int col_shift) {
  int err_col = 0;
  const char *name = sw->keys[k].name;
  if (ssw_expr_parse(&sw->ks[k].expr, text, &err_col) != SSW_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", ssw_error_reason());
    loc.col += err_col + col_shift;
    char quoted[SSW_QUOTE_MAX + 48];
    return ssw_error_at_fmt(loc, name, "'%s' is neither a number nor a valid expression: %s — write a number "
                            "or an expression such as 0.5*width or 1/sqrt(dim)",
                            ssw_text_quote(text, quoted, sizeof quoted), why);
  }
  char buf[SSW_EXPR_MAX_LEN * 2];
  double v;
  ssw_expr_format(sw->ks[k].expr, buf, sizeof buf);
  sw->ks[k].loc = loc;
  if (ssw_expr_is_number(buf, &v)) { /* "(5)" is the number 5: keep it as one, as its canonical text reads */
    ssw_expr_destroy(&sw->ks[k].expr);
    if (ssw_params_set(&sw->base, name, buf) != SSW_OK) return ssw_error_at(loc, name, NULL);
    return SSW_OK;
  }
  SSW_REQUIRE(sw->ks[k].expr_text = strdup(buf), SSW_ERR_NOMEM, "out of memory");
  return SSW_OK;
}

/* A list node as the flow text "[a, b]" that ssw_params_set reads. */
static int list_text(const ssw_yaml_node_t *nd, const char *key, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < nd->nitems; i++) {
    if (nd->items[i]->kind != SSW_YAML_SCALAR)
      return ssw_error_at_fmt(nd->items[i]->loc, key, "list items must be single values, not lists or mappings");
    len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", i ? ", " : "", nd->items[i]->text);
  }
  if (len + 2 > size) return ssw_error_at_fmt(nd->loc, key, "the list is too long");
  snprintf(buf + len, size - len, "]");
  return SSW_OK;
}

static int set_value(ssw_sweep_t *sw, int k, const ssw_setting_t *set) {
  const ssw_param_key_t *key = &sw->keys[k];
  const ssw_yaml_node_t *nd = set->node;
  sw->ks[k].loc = set->loc;
  if (key->type == SSW_KEY_GROUPS || key->type == SSW_KEY_REAL_LIST) {
    char buf[2048];
    if (nd->kind == SSW_YAML_MAP)
      return ssw_error_at_fmt(nd->loc, key->name, "expected a list such as %s, not a mapping", key->default_text);
    if (nd->kind == SSW_YAML_SEQ) SSW_TRY(list_text(nd, key->name, buf, sizeof buf));
    else snprintf(buf, sizeof buf, "%s", nd->text);
    if (ssw_params_set(&sw->base, key->name, buf) != SSW_OK) return ssw_error_at(nd->loc, key->name, NULL);
    return SSW_OK;
  }
  if (nd->kind != SSW_YAML_SCALAR)
    return ssw_error_at_fmt(nd->loc, key->name, "expected one value, not a %s — to sweep it, move it under "
                            "grid: as an axis", nd->kind == SSW_YAML_SEQ ? "list" : "mapping");
  if (nd->text[0] == '\0')
    return ssw_error_at_fmt(nd->loc, key->name, "no value — give one (default: %s) or remove the key",
                            key->default_text);
  double v;
  char quoted[SSW_QUOTE_MAX + 48];
  if ((key->type == SSW_KEY_INT || key->type == SSW_KEY_REAL) && !ssw_expr_is_number(nd->text, &v)) {
    if (strcmp(key->name, "max_iters") == 0 || strcmp(key->name, "record_points") == 0)
      return ssw_error_at_fmt(nd->loc, key->name, "'%s' is not a number — give a number (the recorded steps "
                              "are the same for every cell)", ssw_text_quote(nd->text, quoted, sizeof quoted));
    SSW_TRY(set_expression(sw, k, nd->text, nd->loc, nd->plain ? 0 : 1));
    sw->ks[k].loc = set->loc;
    return SSW_OK;
  }
  if (ssw_params_set(&sw->base, key->name, nd->text) != SSW_OK) return ssw_error_at(nd->loc, key->name, NULL);
  return SSW_OK;
}

int ssw_sweep_build_values(ssw_loader_t *ld) {
  ssw_sweep_t *sw = ld->sw;
  for (size_t k = 0; k < sw->nkeys; k++) {
    if (ld->keyset[k].node) {
      SSW_TRY(set_value(sw, (int)k, &ld->keyset[k]));
      continue;
    }
    double v;
    const ssw_param_key_t *key = &sw->keys[k];
    bool derived = (key->type == SSW_KEY_REAL || key->type == SSW_KEY_INT) &&
                   !ssw_expr_is_number(key->default_text, &v);
    if (derived && ssw_loader_find_axis(ld, key->name) < 0) /* "1/sqrt(width)": evaluated per cell */
      SSW_TRY(set_expression(sw, (int)k, key->default_text, ssw_sweep_no_loc(sw), 0));
  }
  return SSW_OK;
}


/* ---- names and the order of evaluation ---- */

int ssw_sweep_axis_of(const ssw_sweep_t *sw, const char *name) {
  for (int a = 0; a < sw->grid.naxes; a++)
    if (strcmp(sw->grid.axes[a].name, name) == 0) return a;
  return -1;
}

static int check_name(ssw_sweep_t *sw, int k, const char *name, bool *used_axis) {
  const char *key = sw->keys[k].name;
  char quoted[SSW_QUOTE_MAX + 48];
  const char *text = ssw_text_quote(sw->ks[k].expr_text, quoted, sizeof quoted);
  int a = ssw_sweep_axis_of(sw, name);
  const ssw_param_key_t *nk = a >= 0 ? sw->grid.axes[a].key : ssw_params_key(name);
  if (a >= 0) used_axis[a] = true;
  if (nk && is_numeric(nk)) return SSW_OK;
  if (nk)
    return ssw_error_at_fmt(sw->ks[k].loc, key, "expression '%s' uses '%s', which is not a number — "
                            "expressions use numeric keys and axes", text, name);
  if (strcmp(sw->ks[k].expr_text, name) == 0)
    return ssw_error_at_fmt(sw->ks[k].loc, key, "'%s' is not a number — write a number (default %s) or an "
                            "expression of other keys such as 2*width", name, sw->keys[k].default_text);
  const char *near = ssw_sweep_nearest_name(name);
  for (int b = 0; b < sw->grid.naxes; b++) /* a misspelt free variable */
    if (ssw_edit_distance(name, sw->grid.axes[b].name) <= 2) near = sw->grid.axes[b].name;
  return ssw_error_at_fmt(sw->ks[k].loc, key, "expression '%s' uses unknown name '%s' — %s%s%suse a numeric "
                          "key or a grid axis", text, name, near ? "did you mean '" : "", near ? near : "",
                          near ? "'? or " : "");
}

/* Depth-first: dependencies of key k first, cycles named. path holds the keys being visited. */
static int visit(ssw_sweep_t *sw, int k, int *path, int depth) {
  ssw_key_state_t *ks = &sw->ks[k];
  if (ks->visit == 2 || !ks->expr) return SSW_OK;
  path[depth] = k;
  if (ks->visit == 1) {
    char chain[512] = "";
    int start = 0;
    while (path[start] != k) start++;
    for (int i = start, len = 0; i <= depth && len < 400; i++)
      len += snprintf(chain + len, sizeof chain - (size_t)len, "%s%s", i > start ? " -> " : "", sw->keys[path[i]].name);
    return ssw_error_at_fmt(ks->loc, sw->keys[k].name, "expressions form a cycle: %s — give one of these keys "
                            "a number", chain);
  }
  ks->visit = 1;
  for (int i = 0; i < ssw_expr_name_count(ks->expr); i++) {
    const char *name = ssw_expr_name(ks->expr, i);
    int dep = ssw_sweep_key_index(sw, name);
    if (dep >= 0 && ssw_sweep_axis_of(sw, name) < 0) SSW_TRY(visit(sw, dep, path, depth + 1));
  }
  ks->visit = 2;
  sw->order[sw->norder++] = k;
  return SSW_OK;
}

int ssw_sweep_resolve_names(ssw_sweep_t *sw) {
  bool used_axis[SSW_MAX_AXES] = {false};
  for (size_t k = 0; k < sw->nkeys; k++)
    if (sw->ks[k].expr)
      for (int i = 0; i < ssw_expr_name_count(sw->ks[k].expr); i++)
        SSW_TRY(check_name(sw, (int)k, ssw_expr_name(sw->ks[k].expr, i), used_axis));
  for (int a = 0; a < sw->grid.naxes; a++)
    if (sw->axis_free[a] && !used_axis[a]) {
      const char *near = ssw_sweep_nearest_name(sw->grid.axes[a].name);
      return ssw_error_at_fmt(sw->axis_loc[a], sw->grid.axes[a].name, "unknown key under grid — %s%s%s(a grid "
                              "name that is no key is a variable, and some expression must use it)",
                              near ? "did you mean '" : "", near ? near : "", near ? "'? " : "");
    }
  SSW_ALLOC(sw->order, sw->nkeys);
  int path[256];
  for (size_t k = 0; k < sw->nkeys; k++) SSW_TRY(visit(sw, (int)k, path, 0));
  return SSW_OK;
}
