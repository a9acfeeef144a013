/* Initial weights of DESIGN.md §2 from the INIT stream:
 *   w_j = sigma_w * g (g ~ N(0, I_d): INIT index j sub 0) or sigma_w * 1 (inner_init: ones)
 *   a_j per outer_init: gaussian sigma_a * N(0,1) (sub 1), sign +-sigma_a (sub 1, u < 1/2 -> -),
 *       ones sigma_a, zero
 *   b_j ~ N(0, bias_init_std^2) (sub 2), or with uniform_positions u_j ~ U[0,1] (sub 2) and
 *       b_j = -w_j u_j (d = 1)
 *   kappa = init_scale multiplies the groups in init_scale_applies;
 *   symmetric_init: neuron 2i+1 copies (w, b) of neuron 2i and takes a = -a_{2i}.
 */
#ifndef SHALLOWSWEEP_INIT_H
#define SHALLOWSWEEP_INIT_H

#include "shallowsweep/error.h"
#include "shallowsweep/model.h"
#include "shallowsweep/params.h"

/* theta (P) <- the initial parameters of resolved params p for its seed. */
SSW_NODISCARD int ssw_init_weights(const ssw_params_t *p, const ssw_model_t *M, double *theta);

#endif
