/* The grid: axis values and labels, cell index <-> coordinates (row-major, last axis fastest),
 * a cell's coordinates as text and finding a cell by that text ("width=256,n=64,seed=0"). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/text.h"
#include "sweep_impl.h"

/* A grid name that is no key but is used by an expression ("width^-gamma" with gamma an
 * axis) is a free variable: a real number with no range of its own. */
static const ssw_param_key_t free_variable_key = {
    .name = "(variable)", .section = "grid", .type = SSW_KEY_REAL, .default_text = "0",
    .min = -INFINITY, .max = INFINITY, .help = "a free variable used by expressions"};

const ssw_param_key_t *ssw_free_variable_key(void) { return &free_variable_key; }

static void axis_fini(ssw_axis_t *axis) {
  if (axis->labels)
    for (int64_t i = 0; i < axis->count; i++) free(axis->labels[i]);
  free(axis->labels);
  free(axis->values);
  axis->labels = NULL;
  axis->values = NULL;
  axis->count = 0;
}

void ssw_grid_fini(ssw_grid_t *grid) {
  for (int a = 0; a < grid->naxes; a++) axis_fini(&grid->axes[a]);
  grid->naxes = 0;
  grid->ncells = 0;
}

int ssw_axis_space(double lo, double hi, int64_t count, bool geometric, double *values) {
  SSW_REQUIRE(count >= 1, SSW_ERR_INPUT, "num must be >= 1 — give the number of values");
  if (geometric)
    SSW_REQUIRE(lo > 0 && hi > 0, SSW_ERR_INPUT,
                "geom needs lo > 0 and hi > 0 (got %g, %g) — use lin for ranges through 0", lo, hi);
  for (int64_t i = 0; i < count; i++) {
    double t = count == 1 ? 0.0 : (double)i / (double)(count - 1);
    double v = geometric ? exp(log(lo) + t * (log(hi) - log(lo))) : lo + t * (hi - lo);
    /* Snap to 12 significant digits so that geom [1e-3, 1e3] gives 0.01 and 10, not
     * 0.009999999999999995: the labels are what users read and type in --at. */
    char buf[32];
    snprintf(buf, sizeof buf, "%.12g", v);
    values[i] = strtod(buf, NULL);
  }
  values[0] = lo;
  if (count > 1) values[count - 1] = hi;
  return SSW_OK;
}

static int make_label(const ssw_param_key_t *k, double v, char **label) {
  char buf[SSW_REAL_TEXT_MAX];
  ssw_axis_label(k, v, buf, sizeof buf);
  SSW_REQUIRE(*label = strdup(buf), SSW_ERR_NOMEM, "out of memory making axis labels");
  return SSW_OK;
}

/* Range of one axis value, via the key table's own check (a scratch params). */
static int check_value(const ssw_param_key_t *k, double v) {
  if (k == &free_variable_key) {
    SSW_REQUIRE(isfinite(v), SSW_ERR_INPUT, "value is not finite — give a finite number");
    return SSW_OK;
  }
  if (k->type == SSW_KEY_ENUM) return SSW_OK; /* indices come from names */
  ssw_params_t scratch;
  memset(&scratch, 0, sizeof scratch);
  SSW_TRY(ssw_params_set_number(&scratch, k->name, v));
  return SSW_OK;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The first two items (i < j) of values (count) with equal values, by sorting a copy:
 * O(count log count), so that long axes load fast. False if all differ. */
static int find_duplicate(const double *values, int64_t count, int64_t *first, int64_t *second, bool *found) {
  double *sorted;
  *found = false;
  SSW_ALLOC(sorted, count);
  memcpy(sorted, values, (size_t)count * sizeof *sorted);
  qsort(sorted, (size_t)count, sizeof *sorted, compare_doubles);
  double dup = 0;
  for (int64_t i = 1; i < count && !*found; i++)
    if (sorted[i] == sorted[i - 1]) *found = true, dup = sorted[i];
  free(sorted);
  *first = *second = -1;
  for (int64_t i = 0; *found && i < count; i++)
    if (values[i] == dup) {
      if (*first < 0) *first = i;
      else if (*second < 0) *second = i;
    }
  return SSW_OK;
}

int ssw_axis_assign(ssw_axis_t *axis, const double *values, int64_t count, int64_t *bad_item) {
  const ssw_param_key_t *k = axis->key;
  *bad_item = -1;
  SSW_REQUIRE_KEY(count >= 1, SSW_ERR_INPUT, axis->name, "the axis is empty — give at least one value");
  SSW_REQUIRE_KEY(count <= SSW_AXIS_MAX_VALUES, SSW_ERR_INPUT, axis->name, "%lld values on one axis — at most %d",
                  (long long)count, SSW_AXIS_MAX_VALUES);
  axis_fini(axis);
  SSW_ALLOC(axis->values, count);
  SSW_ALLOC(axis->labels, count);
  axis->count = count;
  for (int64_t i = 0; i < count; i++) {
    double v = values[i];
    if (k->type == SSW_KEY_INT) v = round(v); /* integer keys are rounded, then checked */
    int rc = check_value(k, v);
    if (rc != SSW_OK) return *bad_item = i, rc;
    axis->values[i] = v;
    SSW_TRY(make_label(k, v, &axis->labels[i]));
  }
  int64_t i, j;
  bool dup;
  SSW_TRY(find_duplicate(axis->values, count, &i, &j, &dup));
  if (dup) {
    *bad_item = j;
    return SSW_ERROR_KEY(SSW_ERR_INPUT, axis->name, "value %s appears twice on the axis (items %lld and %lld%s) — "
                         "remove the duplicate or use fewer points", axis->labels[j], (long long)i + 1,
                         (long long)j + 1, k->type == SSW_KEY_INT ? ", after rounding to integers" : "");
  }
  return SSW_OK;
}

void ssw_axis_label(const ssw_param_key_t *k, double v, char *buf, size_t size) {
  switch (k ? k->type : SSW_KEY_REAL) {
  case SSW_KEY_INT: snprintf(buf, size, "%lld", (long long)v); break;
  case SSW_KEY_BOOL: snprintf(buf, size, "%s", v != 0 ? "true" : "false"); break;
  case SSW_KEY_ENUM: snprintf(buf, size, "%s", k->choices[(int)v]); break;
  default: ssw_format_real(v, buf, size); break;
  }
}

void ssw_grid_coords(const ssw_grid_t *grid, int64_t index, int64_t *coords) {
  for (int a = grid->naxes - 1; a >= 0; a--) {
    coords[a] = index % grid->axes[a].count;
    index /= grid->axes[a].count;
  }
}

int64_t ssw_grid_index(const ssw_grid_t *grid, const int64_t *coords) {
  int64_t index = 0;
  for (int a = 0; a < grid->naxes; a++) index = index * grid->axes[a].count + coords[a];
  return index;
}

void ssw_grid_cell_text(const ssw_grid_t *grid, int64_t index, char *buf, size_t size) {
  int64_t coords[SSW_MAX_AXES];
  ssw_grid_coords(grid, index, coords);
  size_t len = 0;
  buf[0] = '\0';
  for (int a = 0; a < grid->naxes && len < size; a++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", a ? "," : "", grid->axes[a].name,
                            grid->axes[a].labels[coords[a]]);
}

/* Position of value text on axis a: its label, or a number equal to a value. */
static int64_t find_value(const ssw_axis_t *axis, const char *text) {
  for (int64_t i = 0; i < axis->count; i++)
    if (strcmp(axis->labels[i], text) == 0) return i;
  char *end;
  double v = strtod(text, &end);
  if (end == text || *end != '\0') return -1;
  for (int64_t i = 0; i < axis->count; i++) {
    double w = axis->values[i];
    if (axis->key->type == SSW_KEY_ENUM) continue;
    if (v == w || fabs(v - w) <= SSW_AXIS_VALUE_RTOL * fabs(w)) return i;
  }
  return -1;
}

static int find_one(const ssw_grid_t *grid, char *item, int64_t *coords, bool *named) {
  char *eq = strchr(item, '=');
  SSW_REQUIRE(eq, SSW_ERR_INPUT, "--at: '%s' is not name=value — write e.g. --at width=256,n=64,seed=0", item);
  *eq = '\0';
  const char *name = item, *value = eq + 1;
  for (int a = 0; a < grid->naxes; a++) {
    const ssw_axis_t *axis = &grid->axes[a];
    if (strcmp(axis->name, name) != 0) continue;
    int64_t i = find_value(axis, value);
    if (i < 0) {
      char have[256] = "";
      for (int64_t j = 0, len = 0; j < axis->count && len < 200; j++)
        len += snprintf(have + len, sizeof have - (size_t)len, "%s%s", j ? ", " : "", axis->labels[j]);
      return SSW_ERROR_KEY(SSW_ERR_INPUT, name, "--at value '%s' is not on the axis — choose one of: %s%s", value,
                           have, axis->count > 20 ? ", ..." : "");
    }
    coords[a] = i;
    named[a] = true;
    return SSW_OK;
  }
  return SSW_ERROR_KEY(SSW_ERR_INPUT, name, "--at names no axis of this sweep — run 'shallowsweep validate' to "
                       "list the axes");
}

int ssw_grid_find(const ssw_grid_t *grid, const char *at, int64_t *index) {
  int64_t coords[SSW_MAX_AXES] = {0};
  bool named[SSW_MAX_AXES] = {false};
  char buf[1024];
  SSW_REQUIRE(strlen(at) < sizeof buf, SSW_ERR_INPUT, "--at: the cell spec is too long");
  strcpy(buf, at);
  for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*item)) item++;
    if (*item) SSW_TRY(find_one(grid, item, coords, named));
  }
  for (int a = 0; a < grid->naxes; a++)
    SSW_REQUIRE_KEY(named[a] || grid->axes[a].count == 1, SSW_ERR_INPUT, grid->axes[a].name,
                    "--at does not say which value of axis '%s' (%lld values) — add %s=%s", grid->axes[a].name,
                    (long long)grid->axes[a].count, grid->axes[a].name, grid->axes[a].labels[0]);
  *index = ssw_grid_index(grid, coords);
  return SSW_OK;
}
