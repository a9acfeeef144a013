/* The key table and the parameters' defaults, parsing, formatting and checks. */
#include "shallowsweep/params.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shallowsweep/error.h"
#include "shallowsweep/text.h"

/* Enum fields are read and written through int pointers via the key table. */
static_assert(sizeof(ssw_activation_t) == sizeof(int), "enum fields must be int-sized");
static_assert(sizeof(ssw_input_t) == sizeof(int), "enum fields must be int-sized");

static const char *const activation_names[] = {
    "relu", "leaky_relu", "quadratic", "tanh", "softplus", "sigmoid",
    "erf", "gelu", "linear", "ramp", "smooth_step", NULL};
static const char *const input_names[] = {"gaussian", "sphere", "uniform", NULL};
static const char *const target_names[] = {"random_gaussian", "random_sign", "teacher",
                                           "piecewise_constant", NULL};
static const char *const noise_names[] = {"gaussian", "uniform", NULL};
static const char *const inner_init_names[] = {"gaussian", "ones", NULL};
static const char *const outer_init_names[] = {"gaussian", "sign", "ones", "zero", NULL};
static const char *const teacher_outer_names[] = {"ones", "gaussian", "sign", NULL};
static const char *const bias_init_names[] = {"gaussian", "uniform_positions", NULL};
static const char *const spacing_names[] = {"log", "linear", NULL};
static const char *const data_seed_names[] = {"per_seed", "shared", NULL};
static const char *const edge_check_names[] = {"warn", "error", "off", NULL};
static const char *const group_names[] = {"inner", "bias", "outer"}; /* bit i */

#define OFF(field) offsetof(ssw_params_t, field)
#define INT_KEY(nm, sec, def, lo, hi, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_INT, .offset = OFF(nm), .default_text = def, \
   .min = lo, .max = hi, .help = hlp}
#define REAL_KEY(nm, sec, def, lo, lo_open, hi, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_REAL, .offset = OFF(nm), .default_text = def, \
   .min = lo, .min_open = lo_open, .max = hi, .help = hlp}
#define DERIVED_KEY(nm, sec, def, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_REAL, .offset = OFF(nm), .default_text = def, \
   .derived = true, .min = 0, .max = BIG, .help = hlp}
#define BOOL_KEY(nm, sec, def, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_BOOL, .offset = OFF(nm), .default_text = def, .help = hlp}
#define ENUM_KEY(nm, sec, def, names, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_ENUM, .offset = OFF(nm), .default_text = def, \
   .choices = names, .help = hlp}
#define GROUPS_KEY(nm, sec, def, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_GROUPS, .offset = OFF(nm), .default_text = def, .help = hlp}
#define LIST_KEY(nm, cnt, sec, def, hlp) \
  {.name = #nm, .section = sec, .type = SSW_KEY_REAL_LIST, .offset = OFF(nm), .count_offset = OFF(cnt), \
   .default_text = def, .help = hlp}

/* Integer ranges stay below 2^53 so that every value is exact in a double. */
#define BIG 1e15

static const ssw_param_key_t keys[] = {
    INT_KEY(width, "model", "64", 1, 1e7, "hidden units m (the network's width)"),
    ENUM_KEY(activation, "model", "relu", activation_names, "activation sigma of the hidden units"),
    REAL_KEY(leaky_slope, "model", "0.01", -BIG, false, BIG, "leaky_relu slope for z < 0"),
    REAL_KEY(ramp_width, "model", "1", 0, true, BIG, "width eta of ramp and smooth_step"),
    DERIVED_KEY(output_scale, "model", "1/sqrt(width)", "output scale s in f(x) = s * sum_j a_j sigma(w_j . x + b_j)"),
    BOOL_KEY(bias, "model", "false", "hidden biases b are parameters"),
    INT_KEY(dim, "data", "16", 1, 1e6, "input dimension d"),
    INT_KEY(n, "data", "64", 1, 1e9, "training samples"),
    ENUM_KEY(input, "data", "gaussian", input_names, "input distribution"),
    ENUM_KEY(target, "data", "random_gaussian", target_names, "label distribution"),
    INT_KEY(teacher_width, "data", "4", 1, 1e7, "teacher hidden units k"),
    ENUM_KEY(teacher_activation, "data", "relu", activation_names, "teacher activation"),
    ENUM_KEY(teacher_outer, "data", "ones", teacher_outer_names, "teacher outer weights"),
    LIST_KEY(target_breakpoints, n_breakpoints, "data", "[0.5]", "piecewise_constant breakpoints (increasing)"),
    LIST_KEY(target_values, n_values, "data", "[0, 1]", "piecewise_constant values (one more than breakpoints)"),
    REAL_KEY(label_noise, "data", "0", 0, false, BIG, "label noise sigma"),
    ENUM_KEY(label_noise_kind, "data", "gaussian", noise_names, "label noise distribution"),
    ENUM_KEY(data_seed, "data", "per_seed", data_seed_names, "one dataset per seed, or shared"),
    INT_KEY(test_n, "data", "0", 0, 1e9, "fresh test samples for test_loss (0: off)"),
    BOOL_KEY(online, "data", "false", "population SGD: fresh samples every step"),
    INT_KEY(eval_n, "data", "256", 1, 1e9, "online: fixed samples the loss is measured on"),
    ENUM_KEY(inner_init, "init", "gaussian", inner_init_names, "inner weights: gaussian or ones"),
    DERIVED_KEY(inner_init_std, "init", "1/sqrt(dim)", "std sigma_w of the initial inner weights (before init_scale)"),
    ENUM_KEY(outer_init, "init", "gaussian", outer_init_names, "outer weights init"),
    REAL_KEY(outer_init_std, "init", "1", 0, false, BIG, "outer init scale sigma_a"),
    ENUM_KEY(bias_init, "init", "gaussian", bias_init_names, "bias init"),
    REAL_KEY(bias_init_std, "init", "0", 0, false, BIG, "bias init std"),
    REAL_KEY(init_scale, "init", "1", 0, true, BIG, "init scale kappa: multiplies the initial weights of the groups in init_scale_applies"),
    GROUPS_KEY(init_scale_applies, "init", "[inner, outer]", "groups kappa multiplies"),
    BOOL_KEY(symmetric_init, "init", "false", "paired neurons so that f = 0 at init"),
    REAL_KEY(lr, "train", "0.5", 0, true, BIG, "outer step size eta_out (the inner and bias step is lr * rate_ratio)"),
    REAL_KEY(rate_ratio, "train", "1", 0, true, BIG, "eta_in / eta_out: the inner and bias groups step at lr * rate_ratio"),
    GROUPS_KEY(train, "train", "[inner, bias, outer]", "parameter groups that are trained (the others stay at their initial values)"),
    INT_KEY(batch_size, "train", "0", 0, 1e9, "0: full batch; B > 0: SGD batch"),
    INT_KEY(max_iters, "train", "1000", 0, 1e12, "maximum steps"),
    REAL_KEY(tol, "train", "1e-08", 0, false, BIG, "converged when L <= tol"),
    REAL_KEY(tol_rel, "train", "0", 0, false, 1, "converged when L <= tol_rel * L0 (0: off)"),
    REAL_KEY(diverge_factor, "train", "1000000", 1, true, INFINITY, "diverged when L > factor * L0"),
    INT_KEY(record_points, "train", "50", 2, 1e6, "recorded steps"),
    ENUM_KEY(record_spacing, "train", "log", spacing_names, "spacing of recorded steps"),
    BOOL_KEY(ntk_eigs, "train", "false", "NTK Gram extreme eigenvalues at init"),
    BOOL_KEY(record_sharpness, "train", "false", "record the edge ratio at every record point (series edge_ratio)"),
    ENUM_KEY(edge_check, "train", "warn", edge_check_names,
             "validate/plan when the step is beyond the stability edge at init in a sampled cell: warn, error, off"),
    REAL_KEY(memory_limit_gib, "train", "16", 0, true, 1e9,
             "the memory one rank may use for a cell, GiB: validate, plan and run refuse a larger cell"),
    INT_KEY(seed, "grid", "0", 0, 4294967295.0, "seed of every random stream; under grid:, seeds: N is the axis 0..N-1"),
};

const ssw_param_key_t *ssw_params_keys(size_t *count) {
  *count = sizeof keys / sizeof keys[0];
  return keys;
}

const ssw_param_key_t *ssw_params_key(const char *name) {
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(keys[i].name, name) == 0) return &keys[i];
  return NULL;
}

const char *ssw_activation_name(ssw_activation_t a) {
  return (a >= 0 && a < SSW_ACT_COUNT) ? activation_names[a] : "?";
}

int ssw_activation_from_name(const char *name, ssw_activation_t *out) {
  for (int i = 0; activation_names[i]; i++)
    if (strcmp(activation_names[i], name) == 0) {
      *out = (ssw_activation_t)i;
      return SSW_OK;
    }
  return SSW_ERROR(SSW_ERR_INPUT, "unknown activation '%s'", name);
}

static void *field(ssw_params_t *p, size_t offset) { return (char *)p + offset; }
static const void *cfield(const ssw_params_t *p, size_t offset) { return (const char *)p + offset; }

void ssw_params_init(ssw_params_t *p) {
  memset(p, 0, sizeof *p);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const ssw_param_key_t *k = &keys[i];
    if (k->derived) {
      *(double *)field(p, k->offset) = NAN;
      continue;
    }
    int rc = ssw_params_set(p, k->name, k->default_text);
    assert(rc == SSW_OK && "every default in the key table parses");
    (void)rc;
  }
}

static int parse_real(const char *key, const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  while (*end && isspace((unsigned char)*end)) end++;
  if (end == text || *end != '\0')
    return SSW_ERROR_KEY(SSW_ERR_INPUT, key, "'%s' is not a number — write a value such as 0.5 or 1e-3", text);
  if (!isfinite(v))
    return SSW_ERROR_KEY(SSW_ERR_INPUT, key, "'%s' is not finite — give a finite number", text);
  *out = v;
  return SSW_OK;
}

/* The bounds of an INT or REAL key as text, "> 0 and <= 1e+15": the lower one if show_lo, the
 * upper one if show_hi (an infinite bound is never shown). */
static void range_text(const ssw_param_key_t *k, bool show_lo, bool show_hi, char *buf, size_t size) {
  const char *lo_op = k->min_open ? ">" : ">=", *hi_op = k->max_open ? "<" : "<=";
  show_hi = show_hi && isfinite(k->max);
  if (show_lo && show_hi) snprintf(buf, size, "%s %g and %s %.10g", lo_op, k->min, hi_op, k->max);
  else if (show_hi) snprintf(buf, size, "%s %.10g", hi_op, k->max);
  else snprintf(buf, size, "%s %g", lo_op, k->min);
}

void ssw_params_range_text(const ssw_param_key_t *k, char *buf, size_t size) {
  range_text(k, true, true, buf, size);
}

static int check_range(const ssw_param_key_t *k, double v) {
  bool low = k->min_open ? v <= k->min : v < k->min;
  bool high = k->max_open ? v >= k->max : v > k->max;
  if (!low && !high) return SSW_OK;
  char bound[96];
  /* a bound far beyond practice is named only when it was crossed */
  range_text(k, !(k->min <= -BIG && !low), !(k->max >= BIG && !high), bound, sizeof bound);
  return SSW_ERROR_KEY(SSW_ERR_INPUT, k->name, "%.17g is out of range — it must be %s (%s)", v, bound,
                   k->help);
}

int ssw_params_set_number(ssw_params_t *p, const char *key, double v) {
  const ssw_param_key_t *k = ssw_params_key(key);
  SSW_REQUIRE(k, SSW_ERR_INPUT, "unknown key '%s'", key);
  switch (k->type) {
  case SSW_KEY_INT:
    SSW_REQUIRE_KEY(v == floor(v), SSW_ERR_INPUT, key, "%.17g is not an integer — give a whole number", v);
    SSW_TRY(check_range(k, v));
    *(int64_t *)field(p, k->offset) = (int64_t)v;
    return SSW_OK;
  case SSW_KEY_REAL:
    SSW_REQUIRE_KEY(isfinite(v), SSW_ERR_INPUT, key, "value is not finite — give a finite number");
    SSW_TRY(check_range(k, v));
    *(double *)field(p, k->offset) = v;
    return SSW_OK;
  case SSW_KEY_BOOL:
    SSW_REQUIRE_KEY(v == 0 || v == 1, SSW_ERR_INPUT, key, "%g is not a boolean — write true or false", v);
    *(bool *)field(p, k->offset) = v != 0;
    return SSW_OK;
  default:
    return SSW_ERROR(SSW_ERR_INPUT, "key '%s' is not numeric — give one of its names", key);
  }
}

static int parse_bool(const char *key, const char *text, bool *out) {
  static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
  for (int i = 0; i < 3; i++) {
    if (strcasecmp(text, yes[i]) == 0) return *out = true, SSW_OK;
    if (strcasecmp(text, no[i]) == 0) return *out = false, SSW_OK;
  }
  return SSW_ERROR_KEY(SSW_ERR_INPUT, key, "'%s' is not a boolean — write true or false", text);
}

static int parse_enum(const ssw_param_key_t *k, const char *text, int *out) {
  char options[256] = "";
  for (int i = 0; k->choices[i]; i++) {
    if (strcmp(k->choices[i], text) == 0) return *out = i, SSW_OK;
    size_t len = strlen(options);
    snprintf(options + len, sizeof options - len, "%s%s", i ? ", " : "", k->choices[i]);
  }
  return SSW_ERROR_KEY(SSW_ERR_INPUT, k->name, "unknown value '%s' — choose one of: %s", text, options);
}

/* Split "[a, b, c]" or "a, b" into trimmed tokens; calls fn for each. */
static int for_each_item(const char *key, const char *text, int (*fn)(void *, const char *, const char *),
                         void *ctx) {
  char buf[1024];
  SSW_REQUIRE_KEY(strlen(text) < sizeof buf, SSW_ERR_INPUT, key, "list is too long");
  strcpy(buf, text);
  char *s = buf;
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  if (*s == '[') {
    SSW_REQUIRE_KEY(e > s && e[-1] == ']', SSW_ERR_INPUT, key, "'%s' has no closing ']'", text);
    s++;
    e[-1] = '\0';
  }
  for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*tok)) tok++;
    char *te = tok + strlen(tok);
    while (te > tok && isspace((unsigned char)te[-1])) *--te = '\0';
    if (*tok == '\0') continue;
    SSW_TRY(fn(ctx, key, tok));
  }
  return SSW_OK;
}

static int add_group(void *ctx, const char *key, const char *tok) {
  unsigned *set = ctx;
  for (unsigned i = 0; i < 3; i++)
    if (strcmp(tok, group_names[i]) == 0) return *set |= 1u << i, SSW_OK;
  return SSW_ERROR_KEY(SSW_ERR_INPUT, key, "unknown group '%s' — use inner, bias, outer", tok);
}

typedef struct {
  double *values;
  int count, max;
} real_list_t;

static int add_real(void *ctx, const char *key, const char *tok) {
  real_list_t *list = ctx;
  SSW_REQUIRE_KEY(list->count < list->max, SSW_ERR_INPUT, key, "more than %d values", list->max);
  SSW_TRY(parse_real(key, tok, &list->values[list->count]));
  list->count++;
  return SSW_OK;
}

int ssw_params_set(ssw_params_t *p, const char *key, const char *text) {
  const ssw_param_key_t *k = ssw_params_key(key);
  SSW_REQUIRE(k, SSW_ERR_INPUT, "unknown key '%s'", key);
  double v;
  switch (k->type) {
  case SSW_KEY_INT:
  case SSW_KEY_REAL:
    SSW_TRY(parse_real(key, text, &v));
    SSW_TRY(ssw_params_set_number(p, key, v));
    return SSW_OK;
  case SSW_KEY_BOOL:
    SSW_TRY(parse_bool(key, text, (bool *)field(p, k->offset)));
    return SSW_OK;
  case SSW_KEY_ENUM:
    SSW_TRY(parse_enum(k, text, (int *)field(p, k->offset)));
    return SSW_OK;
  case SSW_KEY_GROUPS: {
    unsigned set = 0;
    SSW_TRY(for_each_item(key, text, add_group, &set));
    *(unsigned *)field(p, k->offset) = set;
    return SSW_OK;
  }
  case SSW_KEY_REAL_LIST: {
    double values[SSW_MAX_PIECES];
    real_list_t list = {.values = values, .max = strcmp(key, "target_values") == 0 ? SSW_MAX_PIECES
                                                                                    : SSW_MAX_PIECES - 1};
    SSW_TRY(for_each_item(key, text, add_real, &list));
    memcpy(field(p, k->offset), values, (size_t)list.count * sizeof(double));
    *(int *)field(p, k->count_offset) = list.count;
    return SSW_OK;
  }
  }
  return SSW_ERROR(SSW_ERR_INTERNAL, "key '%s' has no type", key);
}

double ssw_params_get_number(const ssw_params_t *p, const ssw_param_key_t *k) {
  switch (k->type) {
  case SSW_KEY_INT: return (double)*(const int64_t *)cfield(p, k->offset);
  case SSW_KEY_REAL: return *(const double *)cfield(p, k->offset);
  case SSW_KEY_BOOL: return *(const bool *)cfield(p, k->offset) ? 1.0 : 0.0;
  case SSW_KEY_ENUM: return (double)*(const int *)cfield(p, k->offset);
  default: return NAN;
  }
}

static size_t put(unsigned char *buf, size_t at, const void *src, size_t len) {
  memcpy(buf + at, src, len);
  return at + len;
}

size_t ssw_params_bytes(const ssw_params_t *p, unsigned char *buf) {
  size_t at = 0;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    const ssw_param_key_t *k = &keys[i];
    const void *f = cfield(p, k->offset);
    switch (k->type) {
    case SSW_KEY_INT: at = put(buf, at, f, sizeof(int64_t)); break;
    case SSW_KEY_REAL: at = put(buf, at, f, sizeof(double)); break;
    case SSW_KEY_BOOL: buf[at++] = *(const bool *)f ? 1 : 0; break;
    case SSW_KEY_ENUM: at = put(buf, at, f, sizeof(int)); break;
    case SSW_KEY_GROUPS: at = put(buf, at, f, sizeof(unsigned)); break;
    case SSW_KEY_REAL_LIST: {
      int count = *(const int *)cfield(p, k->count_offset);
      at = put(buf, at, &count, sizeof count);
      at = put(buf, at, f, (size_t)count * sizeof(double));
      break;
    }
    }
  }
  return at;
}

char *ssw_params_format(const ssw_params_t *p, const ssw_param_key_t *k, char *buf, size_t size) {
  size_t len = 0;
  switch (k->type) {
  case SSW_KEY_INT: snprintf(buf, size, "%lld", (long long)*(const int64_t *)cfield(p, k->offset)); break;
  case SSW_KEY_REAL: {
    double v = *(const double *)cfield(p, k->offset);
    if (isnan(v)) snprintf(buf, size, "%s", k->default_text);
    else ssw_format_real(v, buf, size);
    break;
  }
  case SSW_KEY_BOOL: snprintf(buf, size, "%s", *(const bool *)cfield(p, k->offset) ? "true" : "false"); break;
  case SSW_KEY_ENUM: snprintf(buf, size, "%s", k->choices[*(const int *)cfield(p, k->offset)]); break;
  case SSW_KEY_GROUPS: {
    unsigned set = *(const unsigned *)cfield(p, k->offset);
    len = (size_t)snprintf(buf, size, "[");
    for (unsigned i = 0, first = 1; i < 3; i++)
      if (set & (1u << i) && len < size) {
        len += (size_t)snprintf(buf + len, size - len, "%s%s", first ? "" : ", ", group_names[i]);
        first = 0;
      }
    if (len < size) snprintf(buf + len, size - len, "]");
    break;
  }
  case SSW_KEY_REAL_LIST: {
    const double *values = cfield(p, k->offset);
    int count = *(const int *)cfield(p, k->count_offset);
    len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < count && len < size; i++) {
      char num[32];
      ssw_format_real(values[i], num, sizeof num);
      len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", num);
    }
    if (len < size) snprintf(buf + len, size - len, "]");
    break;
  }
  }
  return buf;
}

void ssw_params_resolve(ssw_params_t *p) {
  if (isnan(p->output_scale)) p->output_scale = 1.0 / sqrt((double)p->width);
  if (isnan(p->inner_init_std)) p->inner_init_std = 1.0 / sqrt((double)p->dim);
}

#define BAD(key, ...) SSW_ERROR_KEY(SSW_ERR_INPUT, key, __VA_ARGS__)

int ssw_params_check(const ssw_params_t *p) {
  if (p->symmetric_init && p->width % 2 != 0)
    return BAD("width", "symmetric_init pairs neurons, so width must be even (got %lld) — "
                        "use an even width or symmetric_init: false", (long long)p->width);
  if (p->batch_size > p->n && !p->online)
    return BAD("batch_size", "%lld is larger than n = %lld — use batch_size <= n, or 0 "
                             "for full batch", (long long)p->batch_size, (long long)p->n);
  if (p->online && p->batch_size == 0)
    return BAD("batch_size", "online SGD draws batch_size fresh samples per step, so it "
                             "must be > 0 — set batch_size, or online: false");
  if (p->record_points > p->max_iters + 1)
    return BAD("record_points", "%lld record points do not fit in steps 0..%lld — "
                                "use record_points <= max_iters + 1", (long long)p->record_points,
               (long long)p->max_iters);
  if (p->target == SSW_TARGET_PIECEWISE_CONSTANT) {
    if (p->dim != 1)
      return BAD("dim", "target piecewise_constant needs dim = 1 (got %lld) — set dim: 1 or choose another target", (long long)p->dim);
    if (p->n_values != p->n_breakpoints + 1)
      return BAD("target_values", "%d values for %d breakpoints — give one more value "
                                  "than breakpoints", p->n_values, p->n_breakpoints);
    for (int i = 1; i < p->n_breakpoints; i++)
      if (!(p->target_breakpoints[i] > p->target_breakpoints[i - 1]))
        return BAD("target_breakpoints", "breakpoints must increase (item %d) — list them in increasing order", i);
  }
  if (p->bias_init == SSW_BIAS_INIT_UNIFORM_POSITIONS && p->dim != 1)
    return BAD("bias_init", "uniform_positions is the position model of dim = 1 (got "
                            "dim = %lld) — set dim: 1 or bias_init: gaussian", (long long)p->dim);
  if (p->train == 0)
    return BAD("train", "no group is trained — name at least one of inner, bias, outer");
  if (!(isfinite(p->output_scale) && p->output_scale > 0))
    return BAD("output_scale", "must be finite and > 0 (got %g) — give a positive scale such as 1/sqrt(width)", p->output_scale);
  if (!(isfinite(p->inner_init_std) && p->inner_init_std >= 0))
    return BAD("inner_init_std", "must be finite and >= 0 (got %g) — give a scale >= 0 such as 1/sqrt(dim)", p->inner_init_std);
  return SSW_OK;
}
