/* A sweep file (DESIGN.md §3) into base parameters, per-key expressions and a grid; the
 * --set overrides; per-cell parameters; the canonical YAML text.
 *
 * Loading reads in three passes: collect (which YAML node sets which key or axis, with its
 * position), override (--set replaces collected nodes), build (values, expressions, axes,
 * name resolution, cross-key checks, canonical text). Every error names FILE:LINE:COL and
 * the key; the position of a --set argument is "--set:I:COL" with I its index (1-based).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "sweep_impl.h"

enum {
  MAX_FILE_BYTES = 1 << 20,  /* a sweep file is a page of YAML */
  MAX_OVERRIDE_DOCS = 256,
  CHECK_ALL_CELLS = 20000,   /* at load, every cell is checked up to this many; else corners */
};

static const char *const sections[] = {"model", "data", "init", "train"};
enum { NSECTIONS = 4 };

/* What sets one key, one axis. */
typedef struct {
  const ssw_yaml_node_t *node; /* NULL: not set */
  ssw_loc_t loc;               /* of the key's name */
  bool from_file;
} setting_t;

typedef struct {
  char name[SSW_NAME_MAX];
  setting_t set;
} axis_entry_t;

typedef struct {
  ssw_expr_t *expr;    /* INT/REAL key given as an expression (or a derived default) */
  char *expr_text;     /* its canonical text */
  ssw_loc_t loc;       /* where the key was set (line 0: default) */
  int axis;            /* index into the grid, or -1 */
  int visit;           /* cycle search: 0 new, 1 on the path, 2 done */
} key_state_t;

struct ssw_sweep {
  char *path, *text, *name, *description, *canonical;
  const ssw_param_key_t *keys; /* the key table */
  size_t nkeys;
  key_state_t *ks;             /* (nkeys) */
  ssw_params_t base;           /* every literal value; expression keys filled per cell */
  int *order;                  /* (norder) expression keys, dependencies first */
  int norder;
  ssw_grid_t grid;
  ssw_loc_t axis_loc[SSW_MAX_AXES];
  bool axis_free[SSW_MAX_AXES]; /* a free variable of expressions, not a key */
};

/* Load-time state: the parsed documents and what each key and axis is set by. */
typedef struct {
  ssw_sweep_t *sw;
  ssw_yaml_node_t *docs[MAX_OVERRIDE_DOCS + 1];
  int ndocs;
  setting_t *keyset;           /* (nkeys) section values */
  setting_t name, description;
  axis_entry_t axes[SSW_MAX_AXES + 2];
  int naxes;
} loader_t;

static ssw_loc_t no_loc(const ssw_sweep_t *sw) { return (ssw_loc_t){.file = sw->path}; }

static int key_index(const ssw_sweep_t *sw, const char *name) {
  const ssw_param_key_t *k = ssw_params_key(name);
  return k ? (int)(k - sw->keys) : -1;
}

static bool is_numeric(const ssw_param_key_t *k) {
  return k->type == SSW_KEY_INT || k->type == SSW_KEY_REAL || k->type == SSW_KEY_BOOL;
}

/* "did you mean" over the key table, the sections and the grid's own words. */
static const char *nearest_name(const char *name) {
  static const char *const extra[] = {"model", "data", "init", "train", "grid", "name",
                                      "description", "seeds"};
  size_t nkeys;
  const ssw_param_key_t *keys = ssw_params_keys(&nkeys);
  const char *best = NULL;
  int best_d = 1 << 30;
  for (size_t i = 0; i < nkeys + sizeof extra / sizeof extra[0]; i++) {
    const char *cand = i < nkeys ? keys[i].name : extra[i - nkeys];
    int d = ssw_edit_distance(name, cand);
    if (d < best_d) best_d = d, best = cand;
  }
  int len = (int)strlen(name);
  return best_d <= (len > 6 ? 3 : 2) ? best : NULL;
}

static int unknown_key(ssw_loc_t loc, const char *name, const char *where) {
  const char *near = nearest_name(name);
  if (near)
    return ssw_error_at_fmt(loc, name, "unknown key in %s — did you mean '%s'?", where, near);
  return ssw_error_at_fmt(loc, name, "unknown key in %s — see 'shallowsweep validate --help' for the keys",
                          where);
}

/* ---------------------------------------------------------------- collect */

/* Duplicate keys in one mapping: libyaml keeps both, so we look. */
static int check_duplicates(const ssw_yaml_node_t *map) {
  for (int i = 0; i < map->nitems; i += 2)
    for (int j = 0; j < i; j += 2)
      if (strcmp(map->items[i]->text, map->items[j]->text) == 0)
        return ssw_error_at_fmt(map->items[i]->loc, map->items[i]->text,
                                "given twice (first at line %d) — keep one", map->items[j]->loc.line);
  return SSW_OK;
}

static int check_map(const ssw_yaml_node_t *map, const char *key) {
  for (int i = 0; i < map->nitems; i += 2)
    if (map->items[i]->kind != SSW_YAML_SCALAR)
      return ssw_error_at_fmt(map->items[i]->loc, key, "a mapping key must be a plain name — write name: value");
  return check_duplicates(map);
}

static bool is_empty_scalar(const ssw_yaml_node_t *nd) {
  return nd->kind == SSW_YAML_SCALAR && nd->plain && nd->text[0] == '\0';
}

static int collect_section(loader_t *ld, const char *section, const ssw_yaml_node_t *map) {
  if (is_empty_scalar(map)) return SSW_OK; /* "model:" with nothing under it */
  if (map->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(map->loc, section, "a section must be a mapping of keys — write e.g. %s: {%s}",
                            section, strcmp(section, "model") == 0 ? "width: 64" : "key: value");
  SSW_TRY(check_map(map, section));
  for (int i = 0; i < map->nitems; i += 2) {
    const ssw_yaml_node_t *knode = map->items[i];
    int k = key_index(ld->sw, knode->text);
    if (k < 0) {
      char where[32];
      snprintf(where, sizeof where, "section %s", section);
      return unknown_key(knode->loc, knode->text, where);
    }
    const char *home = ld->sw->keys[k].section;
    if (strcmp(home, section) != 0)
      return ssw_error_at_fmt(knode->loc, knode->text, "belongs in section %s, not %s — move it%s", home,
                              section, strcmp(home, "grid") == 0 ? " (seed is the seed axis: seeds: N)" : "");
    ld->keyset[k] = (setting_t){.node = map->items[i + 1], .loc = knode->loc, .from_file = true};
  }
  return SSW_OK;
}

static int collect_grid(loader_t *ld, const ssw_yaml_node_t *map) {
  if (is_empty_scalar(map)) return SSW_OK;
  if (map->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(map->loc, "grid", "grid must be a mapping of axes — write e.g. grid: {width: "
                            "[16, 32], seeds: 3}");
  SSW_TRY(check_map(map, "grid"));
  for (int i = 0; i < map->nitems; i += 2) {
    const ssw_yaml_node_t *knode = map->items[i];
    SSW_REQUIRE(ld->naxes < SSW_MAX_AXES, SSW_ERR_INPUT, "%s:%d:%d: key '%s': more than %d axes — "
                "fold some into expressions or split the sweep", knode->loc.file, knode->loc.line,
                knode->loc.col, knode->text, SSW_MAX_AXES - 1);
    axis_entry_t *a = &ld->axes[ld->naxes++];
    snprintf(a->name, sizeof a->name, "%s", knode->text);
    a->set = (setting_t){.node = map->items[i + 1], .loc = knode->loc, .from_file = true};
  }
  return SSW_OK;
}

static int collect_text(setting_t *s, const ssw_yaml_node_t *knode, const ssw_yaml_node_t *value) {
  if (value->kind != SSW_YAML_SCALAR)
    return ssw_error_at_fmt(value->loc, knode->text, "must be text — write %s: \"...\"", knode->text);
  *s = (setting_t){.node = value, .loc = knode->loc, .from_file = true};
  return SSW_OK;
}

static int collect(loader_t *ld, const ssw_yaml_node_t *root) {
  SSW_TRY(check_map(root, "(top)"));
  for (int i = 0; i < root->nitems; i += 2) {
    const ssw_yaml_node_t *knode = root->items[i], *value = root->items[i + 1];
    const char *name = knode->text;
    int s;
    for (s = 0; s < NSECTIONS; s++)
      if (strcmp(name, sections[s]) == 0) break;
    if (s < NSECTIONS) SSW_TRY(collect_section(ld, sections[s], value));
    else if (strcmp(name, "grid") == 0) SSW_TRY(collect_grid(ld, value));
    else if (strcmp(name, "name") == 0) SSW_TRY(collect_text(&ld->name, knode, value));
    else if (strcmp(name, "description") == 0) SSW_TRY(collect_text(&ld->description, knode, value));
    else {
      int k = key_index(ld->sw, name);
      if (k >= 0)
        return ssw_error_at_fmt(knode->loc, name, "must be inside section %s — write %s: {%s: ...}",
                                ld->sw->keys[k].section, ld->sw->keys[k].section, name);
      return unknown_key(knode->loc, name, "the top level (sections: model, data, init, train, grid)");
    }
  }
  /* A key may live in its section or on the grid, not both. */
  for (int a = 0; a < ld->naxes; a++) {
    int k = key_index(ld->sw, ld->axes[a].name);
    if (k >= 0 && ld->keyset[k].node)
      return ssw_error_at_fmt(ld->axes[a].set.loc, ld->axes[a].name,
                              "given twice: in section %s (line %d) and as an axis under grid — keep one",
                              ld->sw->keys[k].section, ld->keyset[k].loc.line);
  }
  return SSW_OK;
}

/* ---------------------------------------------------------------- overrides (--set) */

static int find_axis_entry(const loader_t *ld, const char *name) {
  for (int a = 0; a < ld->naxes; a++)
    if (strcmp(ld->axes[a].name, name) == 0) return a;
  return -1;
}

static void drop_axis_entry(loader_t *ld, int a) {
  memmove(&ld->axes[a], &ld->axes[a + 1], (size_t)(ld->naxes - a - 1) * sizeof ld->axes[0]);
  ld->naxes--;
}

/* "key=value" with value YAML ("64", "[16, 32]", "{geom: [16, 4096], num: 9}", "relu").
 * A list or a range makes the key an axis (in its old place, or last before the seed). */
static int apply_override(loader_t *ld, int index, const char *arg) {
  ssw_loc_t loc = {.file = "--set", .line = index + 1, .col = 1};
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg)
    return ssw_error_at_fmt(loc, NULL, "'%s' is not key=value — write e.g. --set width=128", arg);
  char key[SSW_NAME_MAX];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  for (int s = 0; s < NSECTIONS; s++) { /* accept "train.lr" */
    size_t len = strlen(sections[s]);
    if (strncmp(key, sections[s], len) == 0 && key[len] == '.') memmove(key, key + len + 1, strlen(key) - len);
  }
  if (strncmp(key, "grid.", 5) == 0) memmove(key, key + 5, strlen(key) - 4);
  SSW_REQUIRE(ld->ndocs < MAX_OVERRIDE_DOCS, SSW_ERR_INPUT, "too many --set options (at most %d)",
              MAX_OVERRIDE_DOCS);
  ssw_yaml_node_t *doc = NULL;
  SSW_TRY(ssw_yaml_parse(&doc, "--set", eq + 1, strlen(eq + 1), index + 1, (int)(eq + 1 - arg), key));
  if (!doc) return ssw_error_at_fmt(loc, key, "no value after '=' — write --set %s=VALUE", key);
  ld->docs[ld->ndocs++] = doc;
  setting_t set = {.node = doc, .loc = loc};

  if (strcmp(key, "name") == 0 || strcmp(key, "description") == 0) {
    if (doc->kind != SSW_YAML_SCALAR) return ssw_error_at_fmt(loc, key, "must be text");
    *(key[0] == 'n' ? &ld->name : &ld->description) = set;
    return SSW_OK;
  }
  int k = key_index(ld->sw, key);
  bool is_seeds = strcmp(key, "seeds") == 0 || strcmp(key, "seed") == 0;
  if (k < 0 && !is_seeds && find_axis_entry(ld, key) < 0) return unknown_key(loc, key, "--set");
  bool list_key = k >= 0 && (ld->sw->keys[k].type == SSW_KEY_GROUPS || ld->sw->keys[k].type == SSW_KEY_REAL_LIST);
  bool axis = is_seeds || k < 0 || (doc->kind != SSW_YAML_SCALAR && !list_key);
  if (axis) {
    if (is_seeds) { /* seeds and seed are one axis: the new one replaces the old */
      int old = find_axis_entry(ld, "seeds");
      if (old < 0) old = find_axis_entry(ld, "seed");
      if (old >= 0) drop_axis_entry(ld, old);
    }
    int a = find_axis_entry(ld, key);
    if (a < 0) {
      SSW_REQUIRE(ld->naxes < SSW_MAX_AXES, SSW_ERR_INPUT, "--set %s: more than %d axes", key, SSW_MAX_AXES - 1);
      a = ld->naxes++;
      snprintf(ld->axes[a].name, sizeof ld->axes[a].name, "%s", key);
    }
    ld->axes[a].set = set;
    if (k >= 0) ld->keyset[k] = (setting_t){0};
  } else {
    int a = find_axis_entry(ld, key);
    if (a >= 0) drop_axis_entry(ld, a);
    ld->keyset[k] = set;
  }
  return SSW_OK;
}

/* ---------------------------------------------------------------- build: values */

static int set_expression(ssw_sweep_t *sw, int k, const char *text, ssw_loc_t loc, int col_shift) {
  int err_col = 0;
  const char *name = sw->keys[k].name;
  if (ssw_expr_parse(&sw->ks[k].expr, text, &err_col) != SSW_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", ssw_error_message());
    loc.col += err_col + col_shift;
    return ssw_error_at_fmt(loc, name, "'%s' is neither a number nor a valid expression: %s — write a number "
                            "or an expression such as 0.5*width or 1/sqrt(dim)", text, why);
  }
  char buf[SSW_EXPR_MAX_LEN * 2];
  ssw_expr_format(sw->ks[k].expr, buf, sizeof buf);
  SSW_REQUIRE(sw->ks[k].expr_text = strdup(buf), SSW_ERR_NOMEM, "out of memory");
  sw->ks[k].loc = loc;
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

static int set_value(ssw_sweep_t *sw, int k, const setting_t *set) {
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
  if ((key->type == SSW_KEY_INT || key->type == SSW_KEY_REAL) && !ssw_expr_is_number(nd->text, &v)) {
    if (strcmp(key->name, "max_iters") == 0 || strcmp(key->name, "record_points") == 0)
      return ssw_error_at_fmt(nd->loc, key->name, "'%s' is not a number — give a number (the recorded steps "
                              "are the same for every cell)", nd->text);
    SSW_TRY(set_expression(sw, k, nd->text, nd->loc, nd->plain ? 0 : 1));
    sw->ks[k].loc = set->loc;
    return SSW_OK;
  }
  if (ssw_params_set(&sw->base, key->name, nd->text) != SSW_OK) return ssw_error_at(nd->loc, key->name, NULL);
  return SSW_OK;
}

static int build_values(loader_t *ld) {
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
    if (derived && find_axis_entry(ld, key->name) < 0) /* "1/sqrt(width)": evaluated per cell */
      SSW_TRY(set_expression(sw, (int)k, key->default_text, no_loc(sw), 0));
  }
  return SSW_OK;
}

/* ---------------------------------------------------------------- build: axes */

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
static int range_values(const ssw_axis_t *axis, const ssw_yaml_node_t *nd, double **values, int64_t *count) {
  const ssw_yaml_node_t *range = NULL, *num = NULL;
  bool geometric = false;
  SSW_TRY(check_map(nd, axis->name));
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
  SSW_ALLOC(*values, *count);
  if (ssw_axis_space(lo, hi, *count, geometric, *values) != SSW_OK)
    return ssw_error_at(range->loc, axis->name, NULL);
  return SSW_OK;
}

static int seeds_values(const ssw_yaml_node_t *nd, double **values, int64_t *count) {
  double v;
  if (nd->kind != SSW_YAML_SCALAR || !ssw_expr_is_number(nd->text, &v) || v != floor(v) || v < 1 ||
      v > SSW_AXIS_MAX_VALUES)
    return ssw_error_at_fmt(nd->loc, "seeds", "must be a whole number from 1 to %d — seeds: N runs seeds 0..N-1",
                            SSW_AXIS_MAX_VALUES);
  *count = (int64_t)v;
  SSW_ALLOC(*values, *count);
  for (int64_t i = 0; i < *count; i++) (*values)[i] = (double)i;
  return SSW_OK;
}

static int axis_key(ssw_sweep_t *sw, const axis_entry_t *e, int a) {
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

static int build_axis(ssw_sweep_t *sw, const axis_entry_t *e, int a) {
  SSW_TRY(axis_key(sw, e, a));
  ssw_axis_t *axis = &sw->grid.axes[a];
  const ssw_yaml_node_t *nd = e->set.node;
  double *values = NULL;
  int64_t count = 0;
  int rc;
  if (strcmp(e->name, "seeds") == 0) {
    rc = seeds_values(nd, &values, &count);
  } else if (nd->kind == SSW_YAML_SEQ) {
    count = nd->nitems;
    values = calloc((size_t)count + 1, sizeof *values);
    rc = values ? list_values(axis, nd, values) : SSW_ERROR(SSW_ERR_NOMEM, "out of memory");
  } else if (nd->kind == SSW_YAML_MAP) {
    rc = range_values(axis, nd, &values, &count);
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

static int build_axes(loader_t *ld) {
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
  axis_entry_t dflt = {.name = "seeds", .set = {.node = &one, .loc = no_loc(sw)}};
  SSW_TRY(build_axis(sw, seed_entry >= 0 ? &ld->axes[seed_entry] : &dflt, g->naxes++));
  SSW_TRY(check_cell_count(sw));
  return SSW_OK;
}

/* ---------------------------------------------------------------- build: names and order */

static int axis_of(const ssw_sweep_t *sw, const char *name) {
  for (int a = 0; a < sw->grid.naxes; a++)
    if (strcmp(sw->grid.axes[a].name, name) == 0) return a;
  return -1;
}

static int check_name(ssw_sweep_t *sw, int k, const char *name, bool *used_axis) {
  const char *key = sw->keys[k].name;
  const char *text = sw->ks[k].expr_text;
  int a = axis_of(sw, name);
  const ssw_param_key_t *nk = a >= 0 ? sw->grid.axes[a].key : ssw_params_key(name);
  if (a >= 0) used_axis[a] = true;
  if (nk && is_numeric(nk)) return SSW_OK;
  if (nk)
    return ssw_error_at_fmt(sw->ks[k].loc, key, "expression '%s' uses '%s', which is not a number — "
                            "expressions use numeric keys and axes", text, name);
  if (strcmp(text, name) == 0)
    return ssw_error_at_fmt(sw->ks[k].loc, key, "'%s' is not a number — write a number (default %s) or an "
                            "expression of other keys such as 2*width", name, sw->keys[k].default_text);
  const char *near = nearest_name(name);
  for (int b = 0; b < sw->grid.naxes; b++) /* a misspelt free variable */
    if (ssw_edit_distance(name, sw->grid.axes[b].name) <= 2) near = sw->grid.axes[b].name;
  return ssw_error_at_fmt(sw->ks[k].loc, key, "expression '%s' uses unknown name '%s' — %s%s%suse a numeric "
                          "key or a grid axis", text, name, near ? "did you mean '" : "", near ? near : "",
                          near ? "'? or " : "");
}

/* Depth-first: dependencies of key k first, cycles named. path holds the keys being visited. */
static int visit(ssw_sweep_t *sw, int k, int *path, int depth) {
  key_state_t *ks = &sw->ks[k];
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
    int dep = key_index(sw, name);
    if (dep >= 0 && axis_of(sw, name) < 0) SSW_TRY(visit(sw, dep, path, depth + 1));
  }
  ks->visit = 2;
  sw->order[sw->norder++] = k;
  return SSW_OK;
}

static int resolve_names(ssw_sweep_t *sw) {
  bool used_axis[SSW_MAX_AXES] = {false};
  for (size_t k = 0; k < sw->nkeys; k++)
    if (sw->ks[k].expr)
      for (int i = 0; i < ssw_expr_name_count(sw->ks[k].expr); i++)
        SSW_TRY(check_name(sw, (int)k, ssw_expr_name(sw->ks[k].expr, i), used_axis));
  for (int a = 0; a < sw->grid.naxes; a++)
    if (sw->axis_free[a] && !used_axis[a]) {
      const char *near = nearest_name(sw->grid.axes[a].name);
      return ssw_error_at_fmt(sw->axis_loc[a], sw->grid.axes[a].name, "unknown key under grid — %s%s%s(a grid "
                              "name that is no key is a variable, and some expression must use it)",
                              near ? "did you mean '" : "", near ? near : "", near ? "'? " : "");
    }
  SSW_ALLOC(sw->order, sw->nkeys);
  int path[256];
  for (size_t k = 0; k < sw->nkeys; k++) SSW_TRY(visit(sw, (int)k, path, 0));
  return SSW_OK;
}

/* ---------------------------------------------------------------- cells */

typedef struct {
  const ssw_sweep_t *sw;
  const ssw_params_t *p;
  const int64_t *coords;
} lookup_ctx_t;

static int lookup(void *ctx, const char *name, double *value) {
  const lookup_ctx_t *c = ctx;
  int a = axis_of(c->sw, name);
  if (a >= 0 && c->sw->axis_free[a]) return *value = c->sw->grid.axes[a].values[c->coords[a]], SSW_OK;
  const ssw_param_key_t *k = ssw_params_key(name);
  SSW_REQUIRE(k, SSW_ERR_INTERNAL, "unresolved name '%s'", name);
  *value = ssw_params_get_number(c->p, k);
  return SSW_OK;
}

int ssw_sweep_cell_params_ex(const ssw_sweep_t *sw, int64_t index, ssw_params_t *out, const char **bad_key) {
  const ssw_grid_t *g = &sw->grid;
  *bad_key = NULL;
  SSW_REQUIRE(index >= 0 && index < g->ncells, SSW_ERR_INPUT, "cell %lld is not in the grid (0..%lld)",
              (long long)index, (long long)g->ncells - 1);
  int64_t coords[SSW_MAX_AXES];
  ssw_grid_coords(g, index, coords);
  *out = sw->base;
  for (int a = 0; a < g->naxes; a++) {
    if (sw->axis_free[a]) continue;
    *bad_key = g->axes[a].name;
    SSW_TRY(ssw_params_set(out, g->axes[a].name, g->axes[a].labels[coords[a]]));
  }
  lookup_ctx_t ctx = {.sw = sw, .p = out, .coords = coords};
  for (int i = 0; i < sw->norder; i++) {
    int k = sw->order[i];
    const char *name = sw->keys[k].name;
    double v;
    *bad_key = name;
    SSW_TRY(ssw_expr_eval(sw->ks[k].expr, lookup, &ctx, &v));
    SSW_REQUIRE(isfinite(v), SSW_ERR_INPUT, "key '%s': expression '%s' evaluates to %s — keep it finite "
                "(check divisions by zero and logs of non-positive values)", name, sw->ks[k].expr_text,
                isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity");
    if (sw->keys[k].type == SSW_KEY_INT) v = round(v); /* integer keys from expressions are rounded */
    SSW_TRY(ssw_params_set_number(out, name, v));
  }
  *bad_key = NULL;
  ssw_params_resolve(out);
  SSW_TRY(ssw_params_check(out, bad_key));
  return SSW_OK;
}

/* Where to point for a failing key: its value, its axis, or a key it is checked against. */
static ssw_loc_t blame(const ssw_sweep_t *sw, const char *key) {
  static const char *const partners[][2] = {
      {"record_points", "max_iters"}, {"batch_size", "n"}, {"batch_size", "online"},
      {"width", "symmetric_init"}, {"dim", "target"}, {"dim", "bias_init"},
      {"target_values", "target_breakpoints"}, {"output_scale", "width"}, {"inner_init_std", "dim"}};
  int k = key ? key_index(sw, key) : -1;
  if (k >= 0 && sw->ks[k].axis >= 0) return sw->axis_loc[sw->ks[k].axis];
  if (k >= 0 && sw->ks[k].loc.line > 0) return sw->ks[k].loc;
  for (size_t i = 0; key && i < sizeof partners / sizeof partners[0]; i++) {
    if (strcmp(partners[i][0], key) != 0) continue;
    ssw_loc_t loc = blame(sw, partners[i][1]);
    if (loc.line > 0) return loc;
  }
  return (ssw_loc_t){.file = sw->path, .line = 1, .col = 1};
}

static void cell_context(const ssw_sweep_t *sw, int64_t index, char *buf, size_t size) {
  int64_t coords[SSW_MAX_AXES];
  ssw_grid_coords(&sw->grid, index, coords);
  size_t len = (size_t)snprintf(buf, size, "in cell %lld (", (long long)index);
  for (int a = 0; a < sw->grid.naxes && len < size; a++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", a ? ", " : "", sw->grid.axes[a].name,
                            sw->grid.axes[a].labels[coords[a]]);
  if (len < size) snprintf(buf + len, size - len, ")");
}

int ssw_sweep_cell_params(const ssw_sweep_t *sw, int64_t index, ssw_params_t *out) {
  const char *bad = NULL;
  if (ssw_sweep_cell_params_ex(sw, index, out, &bad) == SSW_OK) return SSW_OK;
  if (ssw_error_code() != SSW_ERR_INPUT || index < 0 || index >= sw->grid.ncells) return ssw_error_code();
  char ctx[512];
  cell_context(sw, index, ctx, sizeof ctx);
  return ssw_error_at(blame(sw, bad), bad, sw->grid.ncells > 1 ? ctx : NULL);
}

/* Every cell when there are few; else every corner of the grid (first and last value of each
 * axis), where range violations of monotone expressions show. */
static int check_cells(const ssw_sweep_t *sw) {
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

/* ---------------------------------------------------------------- canonical text */

typedef struct {
  char *buf;
  size_t len, cap;
  bool oom;
} str_t;

static void str_add(str_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void str_add(str_t *s, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(s->buf ? s->buf + s->len : NULL, s->buf ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return (void)(s->oom = true);
    if (s->buf && s->len + (size_t)n < s->cap) return (void)(s->len += (size_t)n);
    size_t cap = (s->cap + (size_t)n + 1) * 2;
    char *b = realloc(s->buf, cap);
    if (!b) return (void)(s->oom = true);
    s->buf = b;
    s->cap = cap;
  }
}

/* A YAML double-quoted string. */
static void str_quoted(str_t *s, const char *text) {
  str_add(s, "\"");
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') str_add(s, "\\%c", *c);
    else if (*c == '\n') str_add(s, "\\n");
    else if (*c == '\t') str_add(s, "\\t");
    else if (*c < 0x20 || *c == 0x7f) str_add(s, "\\x%02x", *c);
    else str_add(s, "%c", *c);
  }
  str_add(s, "\"");
}

static int build_canonical(ssw_sweep_t *sw) {
  str_t s = {0};
  str_add(&s, "name: ");
  str_quoted(&s, sw->name);
  str_add(&s, "\ndescription: ");
  str_quoted(&s, sw->description);
  str_add(&s, "\n");
  for (int sec = 0; sec < NSECTIONS; sec++) {
    str_add(&s, "%s:\n", sections[sec]);
    for (size_t k = 0; k < sw->nkeys; k++) {
      if (strcmp(sw->keys[k].section, sections[sec]) != 0 || sw->ks[k].axis >= 0) continue;
      char buf[2048];
      if (sw->ks[k].expr) snprintf(buf, sizeof buf, "\"%s\"", sw->ks[k].expr_text);
      else ssw_params_format(&sw->base, &sw->keys[k], buf, sizeof buf);
      str_add(&s, "  %s: %s\n", sw->keys[k].name, buf);
    }
  }
  str_add(&s, "grid:\n");
  for (int a = 0; a < sw->grid.naxes; a++) {
    const ssw_axis_t *axis = &sw->grid.axes[a];
    bool seeds = strcmp(axis->name, "seed") == 0;
    for (int64_t i = 0; seeds && i < axis->count; i++) seeds = axis->values[i] == (double)i;
    if (seeds) {
      str_add(&s, "  seeds: %lld\n", (long long)axis->count);
      continue;
    }
    str_add(&s, "  %s: [", axis->name);
    for (int64_t i = 0; i < axis->count; i++) str_add(&s, "%s%s", i ? ", " : "", axis->labels[i]);
    str_add(&s, "]\n");
  }
  if (s.oom) {
    free(s.buf);
    return SSW_ERROR(SSW_ERR_NOMEM, "out of memory writing the canonical sweep");
  }
  sw->canonical = s.buf;
  return SSW_OK;
}

/* ---------------------------------------------------------------- load */

static int set_texts(loader_t *ld) {
  ssw_sweep_t *sw = ld->sw;
  if (ld->name.node) {
    sw->name = strdup(ld->name.node->text);
  } else { /* the file's base name without extension */
    const char *base = strrchr(sw->path, '/');
    base = base ? base + 1 : sw->path;
    const char *dot = strrchr(base, '.');
    sw->name = strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
  }
  sw->description = strdup(ld->description.node ? ld->description.node->text : "");
  SSW_REQUIRE(sw->name && sw->description, SSW_ERR_NOMEM, "out of memory");
  return SSW_OK;
}

static int load(loader_t *ld, const char *text, size_t len, const char *const *overrides, int noverrides) {
  ssw_sweep_t *sw = ld->sw;
  ssw_loc_t top = {.file = sw->path, .line = 1, .col = 1};
  if (memchr(text, '\0', len))
    return ssw_error_at_fmt(top, NULL, "the file holds NUL bytes: it is not a YAML text file — give a sweep file");
  ssw_yaml_node_t *root = NULL;
  SSW_TRY(ssw_yaml_parse(&root, sw->path, text, len, 0, 0, NULL));
  if (root) ld->docs[ld->ndocs++] = root;
  if (!root || is_empty_scalar(root))
    return ssw_error_at_fmt(top, NULL, "the file is empty — a sweep has sections model, data, init, train and "
                            "grid (see sweeps/quickstart.yaml)");
  if (root->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(root->loc, NULL, "this is not a sweep file: its top level must be a mapping of "
                            "sections (model:, data:, init:, train:, grid:) — see sweeps/quickstart.yaml");
  SSW_TRY(collect(ld, root));
  for (int i = 0; i < noverrides; i++) SSW_TRY(apply_override(ld, i, overrides[i]));
  SSW_TRY(set_texts(ld));
  SSW_TRY(build_values(ld));
  SSW_TRY(build_axes(ld));
  SSW_TRY(resolve_names(sw));
  SSW_TRY(check_cells(sw));
  SSW_TRY(build_canonical(sw));
  return SSW_OK;
}

int ssw_sweep_load_text(ssw_sweep_t **sweep, const char *path, const char *text, size_t len,
                        const char *const *overrides, int noverrides) {
  *sweep = NULL;
  ssw_sweep_t *sw = calloc(1, sizeof *sw);
  SSW_REQUIRE(sw, SSW_ERR_NOMEM, "out of memory loading a sweep");
  sw->keys = ssw_params_keys(&sw->nkeys);
  sw->path = strdup(path);
  sw->text = strndup(text, len);
  sw->ks = calloc(sw->nkeys, sizeof *sw->ks);
  loader_t ld = {.sw = sw, .keyset = calloc(sw->nkeys, sizeof *ld.keyset)};
  int rc = sw->path && sw->text && sw->ks && ld.keyset ? SSW_OK
                                                         : SSW_ERROR(SSW_ERR_NOMEM, "out of memory loading a sweep");
  if (rc == SSW_OK) {
    for (size_t k = 0; k < sw->nkeys; k++) sw->ks[k].axis = -1;
    ssw_params_init(&sw->base);
    rc = load(&ld, text, len, overrides, noverrides);
  }
  for (int i = 0; i < ld.ndocs; i++) ssw_yaml_destroy(&ld.docs[i]);
  free(ld.keyset);
  if (rc != SSW_OK) {
    ssw_sweep_destroy(&sw);
    return rc;
  }
  *sweep = sw;
  return SSW_OK;
}

int ssw_sweep_load(ssw_sweep_t **sweep, const char *path, const char *const *overrides, int noverrides) {
  *sweep = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return SSW_ERROR(SSW_ERR_INPUT, "%s: cannot open the sweep file (%s) — check the path and permissions",
                     path, strerror(errno));
  char *text = malloc(MAX_FILE_BYTES + 1);
  if (!text) {
    fclose(f);
    return SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading %s", path);
  }
  size_t len = fread(text, 1, MAX_FILE_BYTES + 1, f);
  int read_error = ferror(f);
  fclose(f);
  int rc;
  if (read_error)
    rc = SSW_ERROR(SSW_ERR_INPUT, "%s: cannot read the sweep file (is it a directory?) — give a YAML file", path);
  else if (len > MAX_FILE_BYTES)
    rc = SSW_ERROR(SSW_ERR_INPUT, "%s: larger than %d bytes — a sweep file is a page of YAML; is this the "
                   "right file?", path, MAX_FILE_BYTES);
  else
    rc = ssw_sweep_load_text(sweep, path, text, len, overrides, noverrides);
  free(text);
  return rc;
}

void ssw_sweep_destroy(ssw_sweep_t **sweep) {
  if (!sweep || !*sweep) return;
  ssw_sweep_t *sw = *sweep;
  for (int a = 0; a < sw->grid.naxes; a++) ssw_axis_fini(&sw->grid.axes[a]);
  for (size_t k = 0; sw->ks && k < sw->nkeys; k++) {
    ssw_expr_destroy(&sw->ks[k].expr);
    free(sw->ks[k].expr_text);
  }
  free(sw->ks);
  free(sw->order);
  free(sw->path);
  free(sw->text);
  free(sw->name);
  free(sw->description);
  free(sw->canonical);
  free(sw);
  *sweep = NULL;
}

const char *ssw_sweep_name(const ssw_sweep_t *sweep) { return sweep->name; }
const char *ssw_sweep_text(const ssw_sweep_t *sweep) { return sweep->text; }
const char *ssw_sweep_canonical(const ssw_sweep_t *sweep) { return sweep->canonical; }
const ssw_grid_t *ssw_sweep_grid(const ssw_sweep_t *sweep) { return &sweep->grid; }
int64_t ssw_sweep_record_points(const ssw_sweep_t *sweep) { return sweep->base.record_points; }

/* The base parameters (expression keys not yet evaluated) and the expression text of a key,
 * NULL when the key holds a plain value. */
const ssw_params_t *ssw_sweep_base(const ssw_sweep_t *sweep) { return &sweep->base; }
const char *ssw_sweep_expression(const ssw_sweep_t *sweep, const char *key) {
  int k = key_index(sweep, key);
  return k >= 0 ? sweep->ks[k].expr_text : NULL;
}
