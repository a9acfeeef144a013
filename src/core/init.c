/* Initial weights (DESIGN.md §2); the draws are listed in init.h. */
#include "shallowsweep/init.h"

#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/rng.h"

enum { SUB_W = 0, SUB_A = 1, SUB_B = 2 }; /* INIT stream, index j (neuron) */

static double outer_weight(const ssw_params_t *p, uint64_t j) {
  const double sigma = p->outer_init_std;
  switch (p->outer_init) {
  case SSW_OUTER_GAUSSIAN: return sigma * ssw_rng_gaussian(SSW_STREAM_INIT, (uint64_t)p->seed, j, SUB_A, 0);
  case SSW_OUTER_SIGN:
    return ssw_rng_uniform(SSW_STREAM_INIT, (uint64_t)p->seed, j, SUB_A, 0) < 0.5 ? -sigma : sigma;
  case SSW_OUTER_ONES: return sigma;
  default: return 0.0;
  }
}

/* Neuron j's w_j (d), b_j and a_j before symmetric pairing, kappa applied. */
static void draw_neuron(const ssw_params_t *p, uint64_t j, double *w, double *b, double *a) {
  const int64_t d = p->dim;
  const double kappa_w = (p->init_scale_applies & SSW_GROUP_INNER) ? p->init_scale : 1.0;
  const double kappa_b = (p->init_scale_applies & SSW_GROUP_BIAS) ? p->init_scale : 1.0;
  const double kappa_a = (p->init_scale_applies & SSW_GROUP_OUTER) ? p->init_scale : 1.0;
  if (p->inner_init == SSW_INNER_ONES) {
    for (int64_t c = 0; c < d; c++) w[c] = p->inner_init_std;
  } else {
    ssw_rng_gaussians(SSW_STREAM_INIT, (uint64_t)p->seed, j, SUB_W, (size_t)d, w);
    for (int64_t c = 0; c < d; c++) w[c] *= p->inner_init_std;
  }
  for (int64_t c = 0; c < d; c++) w[c] *= kappa_w;
  *a = kappa_a * outer_weight(p, j);
  *b = 0.0;
  if (!p->bias) return;
  if (p->bias_init == SSW_BIAS_INIT_UNIFORM_POSITIONS) {
    /* sigma(w x + b) = sigma(w (x - u_j)): the final w, not scaled by kappa again */
    *b = -w[0] * ssw_rng_uniform(SSW_STREAM_INIT, (uint64_t)p->seed, j, SUB_B, 0);
  } else {
    *b = kappa_b * p->bias_init_std * ssw_rng_gaussian(SSW_STREAM_INIT, (uint64_t)p->seed, j, SUB_B, 0);
  }
}

int ssw_init_weights(const ssw_params_t *p, const ssw_model_t *M, double *theta) {
  SSW_REQUIRE(M->m == p->width && M->d == p->dim, SSW_ERR_INTERNAL, "model and params disagree");
  SSW_REQUIRE_KEY(!p->symmetric_init || p->width % 2 == 0, SSW_ERR_INPUT,
              "width", "symmetric_init needs an even width (got %lld)", (long long)p->width);
  const int64_t m = M->m, d = M->d;
  double *W = theta + ssw_theta_W(M), *b = theta + ssw_theta_b(M), *a = theta + ssw_theta_a(M);
  for (int64_t j = 0; j < m; j++) {
    if (p->symmetric_init && j % 2 == 1) { /* the twin of neuron j-1: f = 0 at init */
      memcpy(W + j * d, W + (j - 1) * d, (size_t)d * sizeof *W);
      b[j] = b[j - 1];
      a[j] = -a[j - 1];
      continue;
    }
    draw_neuron(p, (uint64_t)j, W + j * d, &b[j], &a[j]);
  }
  return SSW_OK;
}
