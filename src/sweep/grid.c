/* The grid: axis values and labels, cell index <-> coordinates (row-major, last axis fastest),
 * finding a cell by "width=256,n=64,seed=0", and the estimated cost of a cell. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/model.h"
#include "shallowsweep/train.h"
#include "sweep_impl.h"

/* A grid name that is no key but is used by an expression ("width^-gamma" with gamma an
 * axis) is a free variable: a real number with no range of its own. */
static const ssw_param_key_t free_variable_key = {
    .name = "(variable)", .section = "grid", .type = SSW_KEY_REAL, .default_text = "0",
    .min = -INFINITY, .max = INFINITY, .help = "a free variable used by expressions"};

const ssw_param_key_t *ssw_free_variable_key(void) { return &free_variable_key; }

void ssw_format_real(double v, char *buf, size_t size) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

int ssw_edit_distance(const char *a, const char *b) {
  enum { MAXLEN = 64 };
  size_t la = strnlen(a, MAXLEN), lb = strnlen(b, MAXLEN);
  int row[MAXLEN + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int best = sub < up + 1 ? sub : up + 1;
      row[j] = best < row[j - 1] + 1 ? best : row[j - 1] + 1;
      diag = up;
    }
  }
  return row[lb];
}

void ssw_axis_fini(ssw_axis_t *axis) {
  if (axis->labels)
    for (int64_t i = 0; i < axis->count; i++) free(axis->labels[i]);
  free(axis->labels);
  free(axis->values);
  axis->labels = NULL;
  axis->values = NULL;
  axis->count = 0;
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
  char buf[64];
  switch (k->type) {
  case SSW_KEY_INT: snprintf(buf, sizeof buf, "%lld", (long long)v); break;
  case SSW_KEY_BOOL: snprintf(buf, sizeof buf, "%s", v != 0 ? "true" : "false"); break;
  case SSW_KEY_ENUM: snprintf(buf, sizeof buf, "%s", k->choices[(int)v]); break;
  default: ssw_format_real(v, buf, sizeof buf); break;
  }
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
  SSW_REQUIRE(count >= 1, SSW_ERR_INPUT, "key '%s': the axis is empty — give at least one value", axis->name);
  SSW_REQUIRE(count <= SSW_AXIS_MAX_VALUES, SSW_ERR_INPUT,
              "key '%s': %lld values on one axis — at most %d", axis->name, (long long)count,
              SSW_AXIS_MAX_VALUES);
  ssw_axis_fini(axis);
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
    return SSW_ERROR(SSW_ERR_INPUT, "key '%s': value %s appears twice on the axis (items %lld and %lld%s) — "
                     "remove the duplicate or use fewer points", axis->name, axis->labels[j], (long long)i + 1,
                     (long long)j + 1, k->type == SSW_KEY_INT ? ", after rounding to integers" : "");
  }
  return SSW_OK;
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
    if (v == w || fabs(v - w) <= 1e-12 * fabs(w)) return i;
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
      return SSW_ERROR(SSW_ERR_INPUT, "key '%s': --at value '%s' is not on the axis — choose one of: %s%s",
                       name, value, have, axis->count > 20 ? ", ..." : "");
    }
    coords[a] = i;
    named[a] = true;
    return SSW_OK;
  }
  return SSW_ERROR(SSW_ERR_INPUT, "key '%s': --at names no axis of this sweep — run 'shallowsweep "
                   "validate' to list the axes", name);
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
    SSW_REQUIRE(named[a] || grid->axes[a].count == 1, SSW_ERR_INPUT,
                "key '%s': --at does not say which value of axis '%s' (%lld values) — add %s=%s",
                grid->axes[a].name, grid->axes[a].name, (long long)grid->axes[a].count,
                grid->axes[a].name, grid->axes[a].labels[0]);
  *index = ssw_grid_index(grid, coords);
  return SSW_OK;
}

/* A step's cost beyond its flops, in flop-equivalents at the plan's 20 GFLOP/s, fitted to the
 * per-step times of sweeps/quickstart.yaml (dim 8, width 4..1024, n 8..256; README "Speed"):
 * the memory-bound elementwise passes (activation, backward) take about 2.5 ns per (sample,
 * neuron) pair, and the loop, BLAS calls and update about 0.3 us per step. The fit predicts
 * the ratio of per-step times between any two of those cells to within 10%. Without these
 * terms the many small cells of a sweep would look free to the ETA and to batching. */
#define SSW_ELEMENT_COST_FLOPS 50.0
#define SSW_STEP_OVERHEAD_FLOPS 6e3

static double step_cost(const ssw_model_t *M, int64_t batch) {
  return ssw_model_step_flops(M, batch) + SSW_ELEMENT_COST_FLOPS * (double)batch * (double)M->m +
         SSW_STEP_OVERHEAD_FLOPS;
}

/* Cost of one cell in flop-equivalents: every update is one loss-and-gradient over its batch
 * (full batch: n samples) plus the terms above; minibatch and online SGD add a full loss evaluation at
 * each record point; the NTK adds the Gram matrix through two (n, m) x (m, n) products and
 * the eigensolver on the n x n Gram (~ 4 n^2 m + 2 n^2 d + 9 n^3, dsyevd). */
double ssw_sweep_cell_cost(const ssw_sweep_t *sweep, int64_t index) {
  ssw_params_t p;
  if (ssw_sweep_cell_params(sweep, index, &p) != SSW_OK) {
    ssw_error_clear();
    return 0.0; /* a bad cell costs nothing: it fails at once */
  }
  ssw_model_t M;
  ssw_model_from_params(&M, &p);
  int64_t n_loss = p.online ? p.eval_n : p.n;
  int64_t batch = p.batch_size > 0 ? p.batch_size : n_loss;
  double flops = (double)p.max_iters * step_cost(&M, batch);
  if (p.batch_size > 0) flops += (double)p.record_points * step_cost(&M, n_loss);
  if (p.test_n > 0) flops += (double)p.record_points * step_cost(&M, p.test_n);
  if (p.ntk_eigs) {
    double n = (double)n_loss;
    flops += 4.0 * n * n * (double)M.m + 2.0 * n * n * (double)M.d + 9.0 * n * n * n;
  }
  return flops;
}

/* The arrays of ssw_trainer_t (train.h) and of the NTK (ntk.c), in bytes. */
double ssw_sweep_cell_memory(const ssw_sweep_t *sweep, int64_t index) {
  ssw_params_t p;
  if (ssw_sweep_cell_params(sweep, index, &p) != SSW_OK) {
    ssw_error_clear();
    return 0.0;
  }
  const double D = sizeof(double);
  double n = (double)p.n, d = (double)p.dim, m = (double)p.width;
  double n_loss = p.online ? (double)p.eval_n : n;
  double B = p.batch_size > 0 ? (double)p.batch_size : n_loss;
  double P = m * d + 2 * m;
  double k = p.target == SSW_TARGET_TEACHER ? (double)p.teacher_width : 0;
  double bytes = D * (n_loss * d + n_loss)                       /* X (n_loss, d), y */
                 + D * ((double)p.test_n * (d + 1))              /* X_test, y_test */
                 + D * (B * (d + 1)) + 8.0 * n                   /* X_batch, y_batch, perm */
                 + D * 3 * P                                     /* theta0, theta, grad */
                 + n_loss * m                                    /* sign0 (n_loss, m) bytes */
                 + D * (3 * n_loss * m + n_loss)                 /* Z, H, D (n_loss, m), r */
                 + D * (k * d + k)                               /* teacher */
                 + D * (double)p.record_points * (SSW_SERIES_COUNT + 1); /* result */
  if (p.ntk_eigs) bytes += D * (3 * n_loss * m + 2 * n_loss * n_loss + 6 * n_loss); /* Z, H, E; K, XX; dsyevd */
  return bytes;
}
