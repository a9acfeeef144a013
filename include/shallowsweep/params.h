/* The parameters of one cell: every key of DESIGN.md §2, with its default, type and range.
 *
 * ssw_params_t is a plain caller-owned struct. The key table (ssw_params_keys) describes
 * every field once: its name, sweep-file section, type, default text and range; the sweep
 * parser, the canonical YAML writer and --set all work from that table, so a new key is
 * one line there and one field here.
 *
 * Derived defaults ("1/sqrt(width)") are stored as NaN until ssw_params_resolve() fills
 * them in from the other keys.
 */
#ifndef SHALLOWSWEEP_PARAMS_H
#define SHALLOWSWEEP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/error.h"

typedef enum {
  SSW_ACT_RELU, SSW_ACT_LEAKY_RELU, SSW_ACT_QUADRATIC, SSW_ACT_TANH, SSW_ACT_SOFTPLUS,
  SSW_ACT_SIGMOID, SSW_ACT_ERF, SSW_ACT_GELU, SSW_ACT_LINEAR, SSW_ACT_RAMP,
  SSW_ACT_SMOOTH_STEP, SSW_ACT_COUNT
} ssw_activation_t;

/* Parameter groups, as a bit set (keys train, init_scale_applies). */
enum { SSW_GROUP_INNER = 1u, SSW_GROUP_BIAS = 2u, SSW_GROUP_OUTER = 4u, SSW_GROUP_ALL = 7u };

typedef enum { SSW_INPUT_GAUSSIAN, SSW_INPUT_SPHERE, SSW_INPUT_UNIFORM } ssw_input_t;
typedef enum {
  SSW_TARGET_RANDOM_GAUSSIAN, SSW_TARGET_RANDOM_SIGN, SSW_TARGET_TEACHER,
  SSW_TARGET_PIECEWISE_CONSTANT
} ssw_target_t;
typedef enum { SSW_NOISE_GAUSSIAN, SSW_NOISE_UNIFORM } ssw_noise_kind_t;
typedef enum { SSW_INNER_GAUSSIAN, SSW_INNER_ONES } ssw_inner_init_t;
typedef enum { SSW_OUTER_GAUSSIAN, SSW_OUTER_SIGN, SSW_OUTER_ONES, SSW_OUTER_ZERO } ssw_outer_init_t;
typedef enum { SSW_TEACHER_ONES, SSW_TEACHER_GAUSSIAN, SSW_TEACHER_SIGN } ssw_teacher_outer_t;
typedef enum { SSW_BIAS_INIT_GAUSSIAN, SSW_BIAS_INIT_UNIFORM_POSITIONS } ssw_bias_init_t;
typedef enum { SSW_SPACING_LOG, SSW_SPACING_LINEAR } ssw_spacing_t;
/* What validate and plan do when the step is beyond the stability edge at initialization in a
 * sampled cell: warn, refuse the sweep (exit 2), or not look. */
typedef enum { SSW_EDGE_CHECK_WARN, SSW_EDGE_CHECK_ERROR, SSW_EDGE_CHECK_OFF } ssw_edge_check_t;
typedef enum { SSW_DATA_SEED_PER_SEED, SSW_DATA_SEED_SHARED } ssw_data_seed_t;

enum { SSW_MAX_PIECES = 64 }; /* piecewise_constant: at most this many values */

typedef struct ssw_params {
  /* model */
  int64_t width;                /* m, hidden units, >= 1 */
  ssw_activation_t activation;
  double leaky_slope;           /* leaky_relu slope for z < 0 */
  double ramp_width;            /* eta of ramp and smooth_step, > 0 */
  double output_scale;          /* s; NaN until resolved: default 1/sqrt(width) */
  bool bias;                    /* b is a parameter (else b == 0) */
  /* data */
  int64_t dim;                  /* d, input dimension, >= 1 */
  int64_t n;                    /* training samples, >= 1 */
  ssw_input_t input;
  ssw_target_t target;
  int64_t teacher_width;        /* k, teacher hidden units */
  ssw_activation_t teacher_activation;
  ssw_teacher_outer_t teacher_outer;
  int n_breakpoints;            /* piecewise_constant: number of breakpoints */
  double target_breakpoints[SSW_MAX_PIECES - 1]; /* increasing */
  int n_values;                 /* must be n_breakpoints + 1 */
  double target_values[SSW_MAX_PIECES];
  double label_noise;           /* sigma >= 0 */
  ssw_noise_kind_t label_noise_kind;
  ssw_data_seed_t data_seed;
  int64_t test_n;               /* fresh samples for test_loss, >= 0 */
  bool online;                  /* population SGD: fresh samples every step */
  int64_t eval_n;               /* online: fixed samples the loss is measured on */
  /* init */
  ssw_inner_init_t inner_init;
  double inner_init_std;        /* sigma_w; NaN until resolved: default 1/sqrt(dim) */
  ssw_outer_init_t outer_init;
  double outer_init_std;        /* sigma_a */
  ssw_bias_init_t bias_init;
  double bias_init_std;
  double init_scale;            /* kappa, > 0 */
  unsigned init_scale_applies;  /* SSW_GROUP_* bit set */
  bool symmetric_init;          /* pairs (w, a), (w, -a): f == 0 at step 0 */
  /* train */
  double lr;                    /* eta_out, > 0 */
  double rate_ratio;            /* eta_in / eta_out, > 0 */
  unsigned train;               /* SSW_GROUP_* bit set of trained groups */
  int64_t batch_size;           /* 0: full batch; B > 0: minibatch or online SGD */
  int64_t max_iters;            /* steps, >= 0 */
  double tol;                   /* converged when L <= tol (absolute), >= 0 */
  double tol_rel;               /* ... or L <= tol_rel * L(theta_0), >= 0 (0: off) */
  double diverge_factor;        /* diverged when L > diverge_factor * L(theta_0), > 1 */
  int64_t record_points;        /* k, >= 2, <= max_iters + 1 */
  ssw_spacing_t record_spacing;
  bool ntk_eigs;                /* compute extreme eigenvalues of the NTK Gram matrix */
  ssw_edge_check_t edge_check;  /* validate/plan: the step beyond the edge at init warns, errs or not */
  double memory_limit_gib;      /* a cell's memory per rank (train.h's model) may not exceed this, GiB */
  bool record_sharpness;        /* record the edge ratio at every record point (series edge_ratio) */
  /* the seed axis */
  int64_t seed;                 /* >= 0 */
} ssw_params_t;

typedef enum {
  SSW_KEY_INT, SSW_KEY_REAL, SSW_KEY_BOOL, SSW_KEY_ENUM,
  SSW_KEY_GROUPS,    /* a list of group names: inner, bias, outer */
  SSW_KEY_REAL_LIST, /* a list of reals (piecewise_constant) */
} ssw_key_type_t;

typedef struct ssw_param_key {
  const char *name;
  const char *section;      /* model, data, init, train; "grid" for seed */
  ssw_key_type_t type;
  size_t offset;            /* of the field in ssw_params_t */
  size_t count_offset;      /* REAL_LIST: offset of its int count */
  const char *default_text; /* as the canonical YAML shows it */
  bool derived;             /* REAL whose default is an expression of other keys (NaN until resolved) */
  double min, max;          /* INT/REAL range, inclusive unless min_open/max_open */
  bool min_open, max_open;
  const char *const *choices; /* ENUM: names, NULL-terminated, in enum order */
  const char *help;         /* one line for --help and error messages */
} ssw_param_key_t;

/* The table of every key, in canonical order. Not collective. */
const ssw_param_key_t *ssw_params_keys(size_t *count);
/* The key named name, or NULL. */
const ssw_param_key_t *ssw_params_key(const char *name);

/* The range of an INT or REAL key as text, both bounds ("> 0 and <= 1e+15"; an infinite one
 * left out), as range errors and `shallowsweep keys` state it. */
void ssw_params_range_text(const ssw_param_key_t *k, char *buf, size_t size);

/* Fill p with every default (derived ones NaN). */
void ssw_params_init(ssw_params_t *p);
/* Set one key from its text ("0.5", "true", "relu", "[inner, outer]", "[0.1, 0.2]").
 * Fails with SSW_ERR_INPUT and a message naming the key on a wrong type or range. */
SSW_NODISCARD int ssw_params_set(ssw_params_t *p, const char *key, const char *text);
/* Set a numeric (INT, REAL or BOOL) key from a double, checking type and range. */
SSW_NODISCARD int ssw_params_set_number(ssw_params_t *p, const char *key, double value);
/* Numeric value of an INT, REAL, BOOL or ENUM key (enum: its index). */
double ssw_params_get_number(const ssw_params_t *p, const ssw_param_key_t *key);
/* Format a key's value as canonical text into buf. Returns buf. */
char *ssw_params_format(const ssw_params_t *p, const ssw_param_key_t *key, char *buf, size_t size);
/* Fill the derived defaults (output_scale, inner_init_std) left NaN. */
void ssw_params_resolve(ssw_params_t *p);
/* Cross-key checks after resolve (symmetric_init needs even width, batch_size <= n, ...).
 * Fails with SSW_ERR_INPUT and a reason saying what to do; the trace names the key at fault
 * (ssw_error_key()). */
SSW_NODISCARD int ssw_params_check(const ssw_params_t *p);

/* The byte image of every key's value, in key-table order (INT 8 bytes, REAL its 8 bytes as
 * stored, BOOL 1 byte 0/1, ENUM and GROUPS 4 bytes, REAL_LIST its count then its values): two
 * parameter sets are equal, doubles bit for bit, exactly when their images are (run --reuse
 * matches cells by it). Writes at most SSW_PARAMS_BYTES_MAX bytes; returns the length. */
#define SSW_PARAMS_BYTES_MAX (sizeof(ssw_params_t) + 64)
size_t ssw_params_bytes(const ssw_params_t *p, unsigned char *buf);

/* Names of activations etc., for messages. */
const char *ssw_activation_name(ssw_activation_t a);
SSW_NODISCARD int ssw_activation_from_name(const char *name, ssw_activation_t *out);

#endif
