/* Loading a sweep file (DESIGN.md §3): reading it (one reader, one size limit, for every
 * command), collecting which YAML node sets which key or axis with its position, the --set
 * overrides, and the load entry points that run the passes of sweep_impl.h in order. Every
 * error names FILE:LINE:COL and the key; the position of a --set argument is "--set:I:COL"
 * with I its index (1-based).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shallowsweep/error.h"
#include "shallowsweep/text.h"
#include "sweep_impl.h"

const char *const ssw_sweep_sections[SSW_SWEEP_NSECTIONS] = {"model", "data", "init", "train"};

int ssw_sweep_key_index(const ssw_sweep_t *sw, const char *name) {
  const ssw_param_key_t *k = ssw_params_key(name);
  return k ? (int)(k - sw->keys) : -1;
}

const char *ssw_sweep_nearest_name(const char *name) {
  static const char *const extra[] = {"model", "data", "init", "train", "grid", "name",
                                      "description", "seeds", "refine"};
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

int ssw_sweep_unknown_key(ssw_loc_t loc, const char *name, const char *where) {
  const char *near = ssw_sweep_nearest_name(name);
  if (near && strcmp(near, name) == 0) /* a section or top-level name where a key belongs */
    return ssw_error_at_fmt(loc, name, "'%s' is a section of the sweep file, not a key in %s — name a key "
                            "(e.g. --set train.lr=0.1 or, in a file, lr: 0.1 under train:)", name, where);
  if (near)
    return ssw_error_at_fmt(loc, name, "unknown key in %s — did you mean '%s'?", where, near);
  return ssw_error_at_fmt(loc, name, "unknown key in %s — see 'shallowsweep validate --help' for the keys",
                          where);
}

/* ---- collect ---- */

/* Duplicate keys in one mapping: libyaml keeps both, so we look. */
static int check_duplicates(const ssw_yaml_node_t *map) {
  for (int i = 0; i < map->nitems; i += 2)
    for (int j = 0; j < i; j += 2)
      if (strcmp(map->items[i]->text, map->items[j]->text) == 0)
        return ssw_error_at_fmt(map->items[i]->loc, map->items[i]->text,
                                "given twice (first at line %d) — keep one", map->items[j]->loc.line);
  return SSW_OK;
}

int ssw_yaml_check_map(const ssw_yaml_node_t *map, const char *key) {
  for (int i = 0; i < map->nitems; i += 2)
    if (map->items[i]->kind != SSW_YAML_SCALAR)
      return ssw_error_at_fmt(map->items[i]->loc, key, "a mapping key must be a plain name — write name: value");
  return check_duplicates(map);
}

bool ssw_yaml_is_empty(const ssw_yaml_node_t *nd) {
  return nd->kind == SSW_YAML_SCALAR && nd->plain && nd->text[0] == '\0';
}

static int collect_section(ssw_loader_t *ld, const char *section, const ssw_yaml_node_t *map) {
  if (ssw_yaml_is_empty(map)) return SSW_OK; /* "model:" with nothing under it */
  if (map->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(map->loc, section, "a section must be a mapping of keys — write e.g. %s: {%s}",
                            section, strcmp(section, "model") == 0 ? "width: 64" : "key: value");
  SSW_TRY(ssw_yaml_check_map(map, section));
  for (int i = 0; i < map->nitems; i += 2) {
    const ssw_yaml_node_t *knode = map->items[i];
    int k = ssw_sweep_key_index(ld->sw, knode->text);
    if (k < 0) {
      char where[32];
      snprintf(where, sizeof where, "section %s", section);
      return ssw_sweep_unknown_key(knode->loc, knode->text, where);
    }
    const char *home = ld->sw->keys[k].section;
    if (strcmp(home, section) != 0)
      return ssw_error_at_fmt(knode->loc, knode->text, "belongs in section %s, not %s — move it%s", home,
                              section, strcmp(home, "grid") == 0 ? " (seed is the seed axis: seeds: N)" : "");
    ld->keyset[k] = (ssw_setting_t){.node = map->items[i + 1], .loc = knode->loc, .from_file = true};
  }
  return SSW_OK;
}

static int collect_grid(ssw_loader_t *ld, const ssw_yaml_node_t *map) {
  if (ssw_yaml_is_empty(map)) return SSW_OK;
  if (map->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(map->loc, "grid", "grid must be a mapping of axes — write e.g. grid: {width: "
                            "[16, 32], seeds: 3}");
  SSW_TRY(ssw_yaml_check_map(map, "grid"));
  for (int i = 0; i < map->nitems; i += 2) {
    const ssw_yaml_node_t *knode = map->items[i];
    SSW_REQUIRE(ld->naxes < SSW_MAX_AXES, SSW_ERR_INPUT, "%s:%d:%d: key '%s': more than %d axes — "
                "fold some into expressions or split the sweep", knode->loc.file, knode->loc.line,
                knode->loc.col, knode->text, SSW_MAX_AXES - 1);
    ssw_axis_entry_t *a = &ld->axes[ld->naxes++];
    snprintf(a->name, sizeof a->name, "%s", knode->text);
    a->set = (ssw_setting_t){.node = map->items[i + 1], .loc = knode->loc, .from_file = true};
  }
  return SSW_OK;
}

static int collect_text(ssw_setting_t *s, const ssw_yaml_node_t *knode, const ssw_yaml_node_t *value) {
  if (value->kind != SSW_YAML_SCALAR)
    return ssw_error_at_fmt(value->loc, knode->text, "must be text — write %s: \"...\"", knode->text);
  *s = (ssw_setting_t){.node = value, .loc = knode->loc, .from_file = true};
  return SSW_OK;
}

static int collect(ssw_loader_t *ld, const ssw_yaml_node_t *root) {
  SSW_TRY(ssw_yaml_check_map(root, "(top)"));
  for (int i = 0; i < root->nitems; i += 2) {
    const ssw_yaml_node_t *knode = root->items[i], *value = root->items[i + 1];
    const char *name = knode->text;
    int s;
    for (s = 0; s < SSW_SWEEP_NSECTIONS; s++)
      if (strcmp(name, ssw_sweep_sections[s]) == 0) break;
    if (s < SSW_SWEEP_NSECTIONS) SSW_TRY(collect_section(ld, ssw_sweep_sections[s], value));
    else if (strcmp(name, "grid") == 0) SSW_TRY(collect_grid(ld, value));
    else if (strcmp(name, "refine") == 0) ld->refine = (ssw_setting_t){.node = value, .loc = knode->loc, .from_file = true};
    else if (strcmp(name, "name") == 0) SSW_TRY(collect_text(&ld->name, knode, value));
    else if (strcmp(name, "description") == 0) SSW_TRY(collect_text(&ld->description, knode, value));
    else {
      int k = ssw_sweep_key_index(ld->sw, name);
      if (k >= 0)
        return ssw_error_at_fmt(knode->loc, name, "must be inside section %s — write %s: {%s: ...}",
                                ld->sw->keys[k].section, ld->sw->keys[k].section, name);
      return ssw_sweep_unknown_key(knode->loc, name, "the top level (sections: model, data, init, train, grid, refine)");
    }
  }
  /* A key may live in its section or on the grid, not both. */
  for (int a = 0; a < ld->naxes; a++) {
    int k = ssw_sweep_key_index(ld->sw, ld->axes[a].name);
    if (k >= 0 && ld->keyset[k].node)
      return ssw_error_at_fmt(ld->axes[a].set.loc, ld->axes[a].name,
                              "given twice: in section %s (line %d) and as an axis under grid — keep one",
                              ld->sw->keys[k].section, ld->keyset[k].loc.line);
  }
  return SSW_OK;
}

/* ---- overrides (--set) ---- */

int ssw_loader_find_axis(const ssw_loader_t *ld, const char *name) {
  for (int a = 0; a < ld->naxes; a++)
    if (strcmp(ld->axes[a].name, name) == 0) return a;
  return -1;
}

static void drop_axis_entry(ssw_loader_t *ld, int a) {
  memmove(&ld->axes[a], &ld->axes[a + 1], (size_t)(ld->naxes - a - 1) * sizeof ld->axes[0]);
  ld->naxes--;
}

/* "key=value" with value YAML ("64", "[16, 32]", "{geom: [16, 4096], num: 9}", "relu").
 * A list or a range makes the key an axis (in its old place, or last before the seed). */
static int apply_override(ssw_loader_t *ld, int index, const char *arg) {
  ssw_loc_t loc = {.file = "--set", .line = index + 1, .col = 1};
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg)
    return ssw_error_at_fmt(loc, NULL, "'%s' is not key=value — write e.g. --set width=128", arg);
  char key[SSW_NAME_MAX];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  for (int s = 0; s < SSW_SWEEP_NSECTIONS; s++) { /* accept "train.lr" */
    size_t len = strlen(ssw_sweep_sections[s]);
    if (strncmp(key, ssw_sweep_sections[s], len) == 0 && key[len] == '.') memmove(key, key + len + 1, strlen(key) - len);
  }
  if (strncmp(key, "grid.", 5) == 0) memmove(key, key + 5, strlen(key) - 4);
  SSW_REQUIRE(ld->ndocs < SSW_MAX_OVERRIDES, SSW_ERR_INPUT, "too many --set options (at most %d)",
              SSW_MAX_OVERRIDES);
  ssw_yaml_node_t *doc = NULL;
  SSW_TRY(ssw_yaml_parse(&doc, "--set", eq + 1, strlen(eq + 1), index + 1, (int)(eq + 1 - arg), key));
  if (!doc) return ssw_error_at_fmt(loc, key, "no value after '=' — write --set %s=VALUE", key);
  ld->docs[ld->ndocs++] = doc;
  ssw_setting_t set = {.node = doc, .loc = loc};

  if (strcmp(key, "name") == 0 || strcmp(key, "description") == 0) {
    if (doc->kind != SSW_YAML_SCALAR) return ssw_error_at_fmt(loc, key, "must be text");
    *(key[0] == 'n' ? &ld->name : &ld->description) = set;
    return SSW_OK;
  }
  int k = ssw_sweep_key_index(ld->sw, key);
  bool is_seeds = strcmp(key, "seeds") == 0 || strcmp(key, "seed") == 0;
  if (k < 0 && !is_seeds && ssw_loader_find_axis(ld, key) < 0) return ssw_sweep_unknown_key(loc, key, "--set");
  bool list_key = k >= 0 && (ld->sw->keys[k].type == SSW_KEY_GROUPS || ld->sw->keys[k].type == SSW_KEY_REAL_LIST);
  bool axis = is_seeds || k < 0 || (doc->kind != SSW_YAML_SCALAR && !list_key);
  if (axis) {
    if (is_seeds) { /* seeds and seed are one axis: the new one replaces the old */
      int old = ssw_loader_find_axis(ld, "seeds");
      if (old < 0) old = ssw_loader_find_axis(ld, "seed");
      if (old >= 0) drop_axis_entry(ld, old);
    }
    int a = ssw_loader_find_axis(ld, key);
    if (a < 0) {
      SSW_REQUIRE(ld->naxes < SSW_MAX_AXES, SSW_ERR_INPUT, "--set %s: more than %d axes", key, SSW_MAX_AXES - 1);
      a = ld->naxes++;
      snprintf(ld->axes[a].name, sizeof ld->axes[a].name, "%s", key);
    }
    ld->axes[a].set = set;
    if (k >= 0) ld->keyset[k] = (ssw_setting_t){0};
  } else {
    int a = ssw_loader_find_axis(ld, key);
    if (a >= 0) drop_axis_entry(ld, a);
    ld->keyset[k] = set;
  }
  return SSW_OK;
}


/* ---- load ---- */

static int set_texts(ssw_loader_t *ld) {
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

static int load(ssw_loader_t *ld, const char *text, size_t len, const char *const *overrides, int noverrides) {
  ssw_sweep_t *sw = ld->sw;
  ssw_loc_t top = {.file = sw->path, .line = 1, .col = 1};
  if (memchr(text, '\0', len))
    return ssw_error_at_fmt(top, NULL, "the file holds NUL bytes: it is not a YAML text file — give a sweep file");
  ssw_yaml_node_t *root = NULL;
  SSW_TRY(ssw_yaml_parse(&root, sw->path, text, len, 0, 0, NULL));
  if (root) ld->docs[ld->ndocs++] = root;
  if (!root || ssw_yaml_is_empty(root))
    return ssw_error_at_fmt(top, NULL, "the file is empty — a sweep has sections model, data, init, train and "
                            "grid (see sweeps/quickstart.yaml)");
  if (root->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(root->loc, NULL, "this is not a sweep file: its top level must be a mapping of "
                            "sections (model:, data:, init:, train:, grid:) — see sweeps/quickstart.yaml");
  SSW_TRY(collect(ld, root));
  for (int i = 0; i < noverrides; i++) SSW_TRY(apply_override(ld, i, overrides[i]));
  SSW_TRY(set_texts(ld));
  SSW_TRY(ssw_sweep_build_values(ld));
  SSW_TRY(ssw_sweep_build_refine(ld));
  SSW_TRY(ssw_sweep_build_axes(ld));
  SSW_TRY(ssw_sweep_finish_refine(sw));
  SSW_TRY(ssw_sweep_resolve_names(sw));
  SSW_TRY(ssw_sweep_check_cells(sw));
  SSW_TRY(ssw_sweep_build_canonical(sw));
  return SSW_OK;
}

int ssw_sweep_load_text(ssw_sweep_t **sweep, const char *path, const char *text, size_t len,
                        const char *const *overrides, int noverrides) {
  *sweep = NULL;
  if (len > SSW_SWEEP_FILE_MAX)
    return SSW_ERROR(SSW_ERR_INPUT, "%s: larger than %d bytes — a sweep file is a page of YAML; is this the "
                     "right file?", path, SSW_SWEEP_FILE_MAX);
  ssw_sweep_t *sw = calloc(1, sizeof *sw);
  SSW_REQUIRE(sw, SSW_ERR_NOMEM, "out of memory loading a sweep");
  sw->keys = ssw_params_keys(&sw->nkeys);
  sw->path = strdup(path);
  sw->text = strndup(text, len);
  sw->ks = calloc(sw->nkeys, sizeof *sw->ks);
  ssw_loader_t ld = {.sw = sw, .keyset = calloc(sw->nkeys, sizeof *ld.keyset)};
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

int ssw_sweep_read_file(const char *path, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  /* O_NONBLOCK: opening a named pipe that no one writes to must not hang; reads then block
   * again, and a pipe without a writer reads as empty (end of file) */
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0)
    return SSW_ERROR(SSW_ERR_INPUT, "%s: cannot open the sweep file (%s) — check the path and permissions",
                     path, strerror(errno));
  int flags = fcntl(fd, F_GETFL);
  FILE *f = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, "rb");
  if (!f) {
    close(fd);
    return SSW_ERROR(SSW_ERR_INPUT, "%s: cannot read the sweep file (%s)", path, strerror(errno));
  }
  char *buf = malloc(SSW_SWEEP_FILE_MAX + 2);
  if (!buf) {
    fclose(f);
    return SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading %s", path);
  }
  /* fread, not fseek/ftell: a pipe or a process substitution has no size. One byte past the
   * limit is read so that ssw_sweep_load_text can refuse an oversized file. */
  size_t got = fread(buf, 1, SSW_SWEEP_FILE_MAX + 1, f);
  int read_error = ferror(f);
  fclose(f);
  if (read_error) {
    free(buf);
    return SSW_ERROR(SSW_ERR_INPUT, "%s: cannot read the sweep file (is it a directory?) — give a YAML file", path);
  }
  buf[got] = '\0';
  *text = buf;
  *len = got;
  return SSW_OK;
}

int ssw_sweep_load(ssw_sweep_t **sweep, const char *path, const char *const *overrides, int noverrides) {
  *sweep = NULL;
  char *text;
  size_t len;
  SSW_TRY(ssw_sweep_read_file(path, &text, &len));
  int rc = ssw_sweep_load_text(sweep, path, text, len, overrides, noverrides);
  free(text);
  return rc;
}

void ssw_sweep_destroy(ssw_sweep_t **sweep) {
  if (!sweep || !*sweep) return;
  ssw_sweep_t *sw = *sweep;
  ssw_grid_fini(&sw->grid);
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
  int k = ssw_sweep_key_index(sweep, key);
  return k >= 0 ? sweep->ks[k].expr_text : NULL;
}
