/* Synthetic inputs and labels (DESIGN.md §2); streams and indices in data.h. */
#include "shallowsweep/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/model.h"
#include "shallowsweep/rng.h"

/* Sub-streams: what is drawn for one sample or teacher neuron. */
enum {
  SUB_X = 0,         /* DATA / TEST: the input x_i */
  SUB_LABEL = 1,     /* LABELS / TEST: a random label */
  SUB_NOISE = 2,     /* LABELS: label noise */
  SUB_TEACHER_W = 3, /* LABELS, index j: teacher inner weights w*_j */
  SUB_TEACHER_A = 4, /* LABELS, index j: teacher outer weight a*_j */
};

int ssw_source_init(ssw_source_t *src, const ssw_params_t *p) {
  memset(src, 0, sizeof *src);
  src->params = *p;
  src->data_seed = p->data_seed == SSW_DATA_SEED_SHARED ? 0 : (uint64_t)p->seed;
  if (p->target != SSW_TARGET_TEACHER) return SSW_OK;
  const int64_t k = p->teacher_width, d = p->dim;
  src->k = k;
  SSW_ALLOC(src->teacher_W, k * d);
  SSW_ALLOC(src->teacher_a, k);
  const double w_scale = 1.0 / sqrt((double)d), a_scale = 1.0 / sqrt((double)k);
  for (int64_t j = 0; j < k; j++) {
    double *w = src->teacher_W + j * d; /* (d) */
    ssw_rng_gaussians(SSW_STREAM_LABELS, src->data_seed, (uint64_t)j, SUB_TEACHER_W, (size_t)d, w);
    for (int64_t c = 0; c < d; c++) w[c] *= w_scale;
    double a = 1.0;
    if (p->teacher_outer == SSW_TEACHER_GAUSSIAN)
      a = ssw_rng_gaussian(SSW_STREAM_LABELS, src->data_seed, (uint64_t)j, SUB_TEACHER_A, 0);
    else if (p->teacher_outer == SSW_TEACHER_SIGN)
      a = ssw_rng_uniform(SSW_STREAM_LABELS, src->data_seed, (uint64_t)j, SUB_TEACHER_A, 0) < 0.5 ? -1.0 : 1.0;
    src->teacher_a[j] = a * a_scale;
  }
  return SSW_OK;
}

double ssw_source_bytes(const ssw_params_t *p) {
  if (p->target != SSW_TARGET_TEACHER) return 0.0;
  return (double)sizeof(double) * ((double)p->teacher_width * (double)p->dim + (double)p->teacher_width);
}

void ssw_source_fini(ssw_source_t *src) {
  free(src->teacher_W);
  free(src->teacher_a);
  memset(src, 0, sizeof *src);
}

double ssw_source_target(const ssw_source_t *src, const double *x) {
  const ssw_params_t *p = &src->params;
  if (p->target == SSW_TARGET_PIECEWISE_CONSTANT) {
    int piece = 0; /* number of breakpoints at or left of x */
    while (piece < p->n_breakpoints && x[0] >= p->target_breakpoints[piece]) piece++;
    return p->target_values[piece];
  }
  /* teacher: f*(x) = sum_j a*_j sigma*(<w*_j, x>), the 1/sqrt(k) folded into a* */
  const ssw_model_t teacher = {.m = src->k, .d = p->dim, .act = p->teacher_activation,
                               .leaky_slope = p->leaky_slope, .ramp_width = p->ramp_width, .s = 1.0};
  double f = 0.0;
  for (int64_t j = 0; j < src->k; j++) {
    const double *w = src->teacher_W + j * p->dim;
    double z = 0.0;
    for (int64_t c = 0; c < p->dim; c++) z += w[c] * x[c];
    f += src->teacher_a[j] * ssw_act(&teacher, z);
  }
  return f;
}

static void draw_input(const ssw_params_t *p, ssw_stream_t stream, uint64_t seed, uint64_t index,
                       double *x /* (d) */) {
  const size_t d = (size_t)p->dim;
  if (p->input == SSW_INPUT_UNIFORM) {
    ssw_rng_uniforms(stream, seed, index, SUB_X, d, x);
    return;
  }
  ssw_rng_gaussians(stream, seed, index, SUB_X, d, x);
  if (p->input == SSW_INPUT_SPHERE) {
    double norm = 0.0;
    for (size_t c = 0; c < d; c++) norm += x[c] * x[c];
    norm = sqrt(norm);
    for (size_t c = 0; c < d; c++) x[c] /= norm;
  }
}

static double draw_label(const ssw_source_t *src, ssw_stream_t stream, uint64_t index, const double *x) {
  switch (src->params.target) {
  case SSW_TARGET_RANDOM_GAUSSIAN:
    return ssw_rng_gaussian(stream, src->data_seed, index, SUB_LABEL, 0);
  case SSW_TARGET_RANDOM_SIGN:
    return ssw_rng_uniform(stream, src->data_seed, index, SUB_LABEL, 0) < 0.5 ? -1.0 : 1.0;
  default:
    return ssw_source_target(src, x);
  }
}

static double draw_noise(const ssw_params_t *p, uint64_t seed, uint64_t index) {
  if (p->label_noise == 0.0) return 0.0;
  if (p->label_noise_kind == SSW_NOISE_UNIFORM)
    return p->label_noise * (2.0 * ssw_rng_uniform(SSW_STREAM_LABELS, seed, index, SUB_NOISE, 0) - 1.0);
  return p->label_noise * ssw_rng_gaussian(SSW_STREAM_LABELS, seed, index, SUB_NOISE, 0);
}

int ssw_source_draw(const ssw_source_t *src, ssw_sample_set_t set, uint64_t first, int64_t count,
                    double *X, double *y) {
  const ssw_params_t *p = &src->params;
  const bool test = set == SSW_SET_TEST;
  const ssw_stream_t x_stream = test ? SSW_STREAM_TEST : SSW_STREAM_DATA;
  const ssw_stream_t y_stream = test ? SSW_STREAM_TEST : SSW_STREAM_LABELS;
  const uint64_t base = set == SSW_SET_ONLINE ? SSW_ONLINE_BASE : 0;
  for (int64_t i = 0; i < count; i++) {
    const uint64_t index = base + first + (uint64_t)i;
    double *x = X + i * p->dim;
    draw_input(p, x_stream, src->data_seed, index, x);
    y[i] = draw_label(src, y_stream, index, x);
    if (!test) y[i] += draw_noise(p, src->data_seed, index);
  }
  return SSW_OK;
}

void ssw_batch_permutation(uint64_t seed, int64_t epoch, int64_t n, int64_t *perm) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  /* Fisher-Yates from the top: draw r picks the slot swapped with position n-1-r. */
  for (int64_t i = n - 1; i > 0; i--) {
    double u = ssw_rng_uniform(SSW_STREAM_BATCHES, seed, (uint64_t)epoch, 0, (uint64_t)(n - 1 - i));
    int64_t j = (int64_t)(u * (double)(i + 1));
    if (j > i) j = i; /* u < 1, but guard the rounding of u * (i + 1) */
    int64_t tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}
