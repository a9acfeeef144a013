/* A sweep file's refine: section and adaptive seeds, seeds: {start, max} (refine.h,
 * DESIGN.md §18): checked with FILE:LINE:COL errors, the refined axes' fine point counts,
 * and their canonical text.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shallowsweep/refine.h"
#include "shallowsweep/train.h"
#include "sweep_impl.h"

static const char *const REFINE_WORDS[] = {"axes", "levels", "metric"};
enum { NWORDS = sizeof REFINE_WORDS / sizeof REFINE_WORDS[0] };

const ssw_refine_t *ssw_sweep_refine(const ssw_sweep_t *sweep) { return &sweep->refine; }

bool ssw_sweep_is_adaptive(const ssw_sweep_t *sweep) {
  return sweep->refine.on || sweep->refine.adaptive_seeds;
}

int ssw_sweep_refine_slot(const ssw_sweep_t *sw, const char *axis) {
  for (int r = 0; r < 2 && sw->refine.on; r++)
    if (strcmp(sw->refine_names[r], axis) == 0) return r;
  return -1;
}

/* Whether nd is the plain word w (a mapping key may be a collection: its text is NULL). */
static bool is_word(const ssw_yaml_node_t *nd, const char *w) {
  return nd->kind == SSW_YAML_SCALAR && strcmp(nd->text, w) == 0;
}

/* A whole number in [lo, hi] at nd, or an error naming key. */
static int whole(const ssw_yaml_node_t *nd, const char *key, double lo, double hi, const char *hint, double *v) {
  if (nd->kind != SSW_YAML_SCALAR || !ssw_expr_is_number(nd->text, v) || *v != floor(*v) || *v < lo || *v > hi)
    return ssw_error_at_fmt(nd->loc, key, "'%s' is not a whole number from %.0f to %.0f — %s",
                            nd->kind == SSW_YAML_SCALAR ? nd->text : "(a collection)", lo, hi, hint);
  return SSW_OK;
}

/* The metric: the name of a finished status. */
static int metric(const ssw_yaml_node_t *nd, int *status) {
  if (nd->kind == SSW_YAML_SCALAR)
    for (int s = SSW_STATUS_CONVERGED; s <= SSW_STATUS_FAILED; s++)
      if (strcmp(nd->text, ssw_status_names[s]) == 0) {
        *status = s;
        return SSW_OK;
      }
  return ssw_error_at_fmt(nd->loc, "metric", "unknown metric '%s' — the fraction over seeds of one outcome: "
                          "converged (the default), max_iters, diverged or failed",
                          nd->kind == SSW_YAML_SCALAR ? nd->text : "(a collection)");
}

/* The grid entry refine names as one of its axes: a numeric axis given as a range. */
static int refined_axis(const ssw_loader_t *ld, const ssw_yaml_node_t *nd, int64_t *coarse) {
  const char *name = nd->kind == SSW_YAML_SCALAR ? nd->text : "(a collection)";
  if (strcmp(name, "seeds") == 0 || strcmp(name, "seed") == 0)
    return ssw_error_at_fmt(nd->loc, "axes", "the seed axis cannot be refined — seeds: {start: S0, max: S1} "
                            "adds seeds only where the outcome is uncertain");
  int a = nd->kind == SSW_YAML_SCALAR ? ssw_loader_find_axis(ld, name) : -1;
  if (a < 0) {
    char axes[256] = "";
    for (int i = 0; i < ld->naxes; i++)
      if (strcmp(ld->axes[i].name, "seeds") != 0 && strcmp(ld->axes[i].name, "seed") != 0)
        snprintf(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", axes[0] ? ", " : "", ld->axes[i].name);
    return ssw_error_at_fmt(nd->loc, "axes", "'%s' is not an axis under grid — refine two of: %s", name,
                            axes[0] ? axes : "(no axes)");
  }
  const ssw_yaml_node_t *spec = ld->axes[a].set.node;
  const ssw_param_key_t *key = ssw_params_key(name);
  if (key && (key->type == SSW_KEY_ENUM || key->type == SSW_KEY_BOOL))
    return ssw_error_at_fmt(nd->loc, "axes", "'%s' is a list of choices, not numbers — refine numeric axes "
                            "given as {geom: [lo, hi], num: k} or {lin: [lo, hi], num: k}", name);
  *coarse = 0;
  for (int i = 0; spec->kind == SSW_YAML_MAP && i < spec->nitems; i += 2) {
    double k; /* a malformed range is the axes pass's to report: here only a plain num counts */
    if (is_word(spec->items[i], "num") && spec->items[i + 1]->kind == SSW_YAML_SCALAR &&
        ssw_expr_is_number(spec->items[i + 1]->text, &k) && k >= 0 && k <= SSW_AXIS_MAX_VALUES)
      *coarse = (int64_t)k;
  }
  if (spec->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(nd->loc, "axes", "axis '%s' is a list (line %d) — a refined axis is a range: write "
                            "%s: {geom: [lo, hi], num: k} or {lin: [lo, hi], num: k}", name, ld->axes[a].set.loc.line,
                            name);
  if (*coarse == 1)
    return ssw_error_at_fmt(nd->loc, "axes", "axis '%s' has one value — a refined axis needs num: 2 or more", name);
  return SSW_OK;
}

/* Cells of the grid as given, with the refined axes at coarse (k - 1)·2^levels + 1 points;
 * an entry not understood yet counts 1 (its own pass reports it). */
static double cells_after(const ssw_loader_t *ld, const int64_t coarse[2], const int idx[2], int levels) {
  double cells = 1;
  for (int a = 0; a < ld->naxes; a++) {
    const ssw_yaml_node_t *nd = ld->axes[a].set.node;
    double n = 1, v;
    if (a == idx[0] || a == idx[1]) n = (double)(coarse[a == idx[0] ? 0 : 1] - 1) * ldexp(1, levels) + 1;
    else if (nd->kind == SSW_YAML_SEQ) n = nd->nitems;
    else if (nd->kind == SSW_YAML_SCALAR && ssw_expr_is_number(nd->text, &v)) n = v;
    for (int i = 0; nd->kind == SSW_YAML_MAP && a != idx[0] && a != idx[1] && i < nd->nitems; i += 2)
      if ((is_word(nd->items[i], "num") || is_word(nd->items[i], "max")) && nd->items[i + 1]->kind == SSW_YAML_SCALAR &&
          ssw_expr_is_number(nd->items[i + 1]->text, &v))
        n = v;
    cells *= n > 1 ? n : 1;
  }
  return cells;
}

int ssw_sweep_build_refine(ssw_loader_t *ld) {
  ssw_sweep_t *sw = ld->sw;
  ssw_refine_t *rf = &sw->refine;
  rf->metric = SSW_STATUS_CONVERGED;
  const ssw_yaml_node_t *map = ld->refine.node;
  if (!map) return SSW_OK;
  if (map->kind != SSW_YAML_MAP)
    return ssw_error_at_fmt(ld->refine.loc, "refine", "refine must be a mapping — write refine: {axes: [width, n], "
                            "levels: 2}");
  SSW_TRY(ssw_yaml_check_map(map, "refine"));
  const ssw_yaml_node_t *axes = NULL, *levels = NULL;
  for (int i = 0; i < map->nitems; i += 2) {
    const ssw_yaml_node_t *k = map->items[i], *v = map->items[i + 1];
    if (strcmp(k->text, "axes") == 0) axes = v;
    else if (strcmp(k->text, "levels") == 0) levels = v;
    else if (strcmp(k->text, "metric") == 0) SSW_TRY(metric(v, &rf->metric));
    else {
      const char *near = NULL;
      for (int w = 0; w < NWORDS; w++)
        if (ssw_edit_distance(k->text, REFINE_WORDS[w]) <= 2) near = REFINE_WORDS[w];
      return ssw_error_at_fmt(k->loc, k->text, "unknown key in refine%s%s%s — refine has axes, levels and metric",
                              near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
  }
  if (!axes || !levels)
    return ssw_error_at_fmt(ld->refine.loc, axes ? "levels" : "axes", "refine needs %s — write refine: {axes: "
                            "[width, n], levels: 2}", axes ? "levels" : "axes");
  if (axes->kind != SSW_YAML_SEQ || axes->nitems != 2)
    return ssw_error_at_fmt(axes->loc, "axes", "refine needs exactly two axes — write axes: [width, n]");
  int64_t coarse[2];
  int idx[2];
  for (int r = 0; r < 2; r++) {
    SSW_TRY(refined_axis(ld, axes->items[r], &coarse[r]));
    idx[r] = ssw_loader_find_axis(ld, axes->items[r]->text);
    snprintf(sw->refine_names[r], sizeof sw->refine_names[r], "%s", axes->items[r]->text);
  }
  if (idx[0] == idx[1])
    return ssw_error_at_fmt(axes->items[1]->loc, "axes", "'%s' is named twice — refine two different axes",
                            axes->items[1]->text);
  double L;
  SSW_TRY(whole(levels, "levels", 1, SSW_REFINE_LEVELS_MAX, "each level halves the spacing of the two axes", &L));
  rf->on = true;
  rf->levels = (int)L;
  for (int r = 0; r < 2; r++) {
    double fine = (double)(coarse[r] - 1) * ldexp(1, rf->levels) + 1;
    if (fine > SSW_AXIS_MAX_VALUES)
      return ssw_error_at_fmt(levels->loc, "levels", "levels %d makes axis %s %.0f points, more than %d — use "
                              "fewer levels or fewer coarse points", rf->levels, sw->refine_names[r], fine,
                              SSW_AXIS_MAX_VALUES);
  }
  double cells = cells_after(ld, coarse, idx, rf->levels);
  if (cells > SSW_MAX_CELLS)
    return ssw_error_at_fmt(levels->loc, "levels", "levels %d makes a fine grid of %.3g cells, more than %.0e — "
                            "use fewer levels or fewer points", rf->levels, cells, SSW_MAX_CELLS);
  return SSW_OK;
}

int ssw_sweep_refine_range(ssw_sweep_t *sw, int slot, double lo, double hi, int64_t *count, bool geometric,
                           const ssw_yaml_node_t *num) {
  ssw_refine_t *rf = &sw->refine;
  if (*count < 2)
    return ssw_error_at_fmt(num->loc, sw->refine_names[slot], "a refined axis needs num: 2 or more");
  rf->lo[slot] = lo;
  rf->hi[slot] = hi;
  rf->coarse[slot] = *count;
  rf->geometric[slot] = geometric;
  *count = (*count - 1) * ((int64_t)1 << rf->levels) + 1;
  return SSW_OK;
}

int ssw_sweep_adaptive_seeds(ssw_sweep_t *sw, const ssw_yaml_node_t *nd, int64_t *count) {
  SSW_TRY(ssw_yaml_check_map(nd, "seeds"));
  const ssw_yaml_node_t *start = NULL, *max = NULL;
  for (int i = 0; i < nd->nitems; i += 2) {
    const char *w = nd->items[i]->text;
    if (strcmp(w, "start") == 0) start = nd->items[i + 1];
    else if (strcmp(w, "max") == 0) max = nd->items[i + 1];
    else
      return ssw_error_at_fmt(nd->items[i]->loc, "seeds", "unknown word '%s' — adaptive seeds are seeds: {start: "
                              "S0, max: S1}", w);
  }
  if (!start || !max)
    return ssw_error_at_fmt(nd->loc, "seeds", "adaptive seeds need start and max — write seeds: {start: 2, max: 8}");
  double s0, s1;
  SSW_TRY(whole(start, "seeds", 1, SSW_AXIS_MAX_VALUES, "start: the seeds every point gets", &s0));
  SSW_TRY(whole(max, "seeds", 1, SSW_AXIS_MAX_VALUES, "max: the seeds an uncertain point gets", &s1));
  if (s0 > s1)
    return ssw_error_at_fmt(start->loc, "seeds", "start %.0f is more than max %.0f — start is the seeds every "
                            "point gets, max those an uncertain point gets", s0, s1);
  sw->refine.adaptive_seeds = true;
  sw->refine.seeds_start = (int64_t)s0;
  *count = (int64_t)s1;
  return SSW_OK;
}

int ssw_sweep_finish_refine(ssw_sweep_t *sw) {
  ssw_refine_t *rf = &sw->refine;
  const ssw_axis_t *seed = &sw->grid.axes[sw->grid.naxes - 1];
  if (!rf->adaptive_seeds) rf->seeds_start = seed->count;
  for (int r = 0; r < 2 && rf->on; r++) rf->axes[r] = ssw_sweep_axis_of(sw, sw->refine_names[r]);
  return SSW_OK;
}

void ssw_sweep_refine_canonical(const ssw_sweep_t *sw, int axis, ssw_text_t *s) {
  const ssw_refine_t *rf = &sw->refine;
  const ssw_axis_t *a = &sw->grid.axes[axis];
  if (axis == sw->grid.naxes - 1) {
    ssw_text_add(s, "  seeds: {start: %lld, max: %lld}\n", (long long)rf->seeds_start, (long long)a->count);
    return;
  }
  int r = ssw_sweep_refine_slot(sw, a->name);
  char lo[SSW_REAL_TEXT_MAX], hi[SSW_REAL_TEXT_MAX];
  ssw_format_real(rf->lo[r], lo, sizeof lo);
  ssw_format_real(rf->hi[r], hi, sizeof hi);
  ssw_text_add(s, "  %s: {%s: [%s, %s], num: %lld}\n", a->name, rf->geometric[r] ? "geom" : "lin", lo, hi,
               (long long)rf->coarse[r]);
}

void ssw_sweep_refine_section(const ssw_sweep_t *sw, ssw_text_t *s) {
  const ssw_refine_t *rf = &sw->refine;
  if (!rf->on) return;
  ssw_text_add(s, "refine:\n  axes: [%s, %s]\n  levels: %d\n  metric: %s\n", sw->refine_names[0], sw->refine_names[1],
               rf->levels, ssw_status_names[rf->metric]);
}

int64_t ssw_sweep_refine_min_cells(const ssw_sweep_t *sw) {
  const ssw_refine_t *rf = &sw->refine;
  const ssw_grid_t *g = &sw->grid;
  int64_t seeds = g->axes[g->naxes - 1].count, points = g->ncells / seeds;
  if (rf->on)
    for (int r = 0; r < 2; r++) points = points / g->axes[rf->axes[r]].count * rf->coarse[r];
  return points * rf->seeds_start;
}

void ssw_sweep_refine_describe(const ssw_sweep_t *sw, char *buf, size_t size) {
  const ssw_refine_t *rf = &sw->refine;
  const ssw_grid_t *g = &sw->grid;
  buf[0] = '\0';
  if (!ssw_sweep_is_adaptive(sw)) return;
  size_t n = 0;
  if (rf->on)
    n += (size_t)snprintf(buf, size, "refine %s x %s where the %s fraction differs: %lld x %lld points, %d level%s to "
                          "%lld x %lld; ", sw->refine_names[0], sw->refine_names[1], ssw_status_names[rf->metric],
                          (long long)rf->coarse[0], (long long)rf->coarse[1], rf->levels, rf->levels == 1 ? "" : "s",
                          (long long)g->axes[rf->axes[0]].count, (long long)g->axes[rf->axes[1]].count);
  if (rf->adaptive_seeds && n < size)
    n += (size_t)snprintf(buf + n, size - n, "seeds 0..%lld first, up to %lld where the outcome is uncertain; ",
                          (long long)rf->seeds_start - 1, (long long)g->axes[g->naxes - 1].count);
  if (n < size)
    snprintf(buf + n, size - n, "at least %lld of the %lld cells", (long long)ssw_sweep_refine_min_cells(sw),
             (long long)g->ncells);
}
