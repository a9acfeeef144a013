/* The shallow network of DESIGN.md §2: forward, loss and gradient, side by side.
 *
 * Dimension letters: n samples, d inputs, m hidden units, P trained parameters.
 *   f(x) = s * sum_j a_j sigma(<w_j, x> + b_j),   L = (1/2n) sum_i (f(x_i) - y_i)^2
 * All parameters live in one buffer theta = [ W (m, d) row-major | b (m) | a (m) ], so that
 * zeroing, norms, distances and checksums are one loop (SSW_THETA_* give the offsets).
 */
#ifndef SHALLOWSWEEP_MODEL_H
#define SHALLOWSWEEP_MODEL_H

#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/params.h"

typedef struct ssw_model {
  int64_t m, d;
  ssw_activation_t act;
  double leaky_slope;   /* leaky_relu */
  double ramp_width;    /* ramp, smooth_step */
  double s;             /* output scale */
  bool bias;            /* b enters the preactivation (else b is ignored) */
  bool fused;           /* loss and gradient by the fused small-d kernel, else by BLAS (GEMMs) */
} ssw_model_t;

/* The fused kernel's range: d up to SSW_FUSED_MAX_DIM and n at least SSW_FUSED_MIN_N
 * (ssw_model_from_params sets fused by them; constants, not a run-time measurement, so that a
 * cell's kernel and bits never depend on the machine's load). Measured against the BLAS path
 * by tests/bench/bench_core --crossover (README "Speed", 2026-12-06, the register-blocked
 * kernel): 2.4-8x faster at d <= 8 and 1.4-1.9x at d = 16 for every n from 4 to 1024, even
 * at d = 24, slower from d = 32. The kernel runs up to SSW_FUSED_DIM_LIMIT. */
enum { SSW_FUSED_MAX_DIM = 16, SSW_FUSED_MIN_N = 1, SSW_FUSED_DIM_LIMIT = 128 };

/* Offsets into theta. */
static inline int64_t ssw_theta_W(const ssw_model_t *M) { (void)M; return 0; }
static inline int64_t ssw_theta_b(const ssw_model_t *M) { return M->m * M->d; }
static inline int64_t ssw_theta_a(const ssw_model_t *M) { return M->m * M->d + M->m; }
static inline int64_t ssw_theta_size(const ssw_model_t *M) { return M->m * M->d + 2 * M->m; }

/* The model part of resolved params (student if teacher is false, else the teacher's
 * activation; the caller sets m, d, s for a teacher). */
void ssw_model_from_params(ssw_model_t *M, const ssw_params_t *p);

/* sigma(z) and sigma'(z) for the model's activation: the scalar twin, on libm. */
double ssw_act(const ssw_model_t *M, double z);
double ssw_act_deriv(const ssw_model_t *M, double z);
/* Both at once over an array: h[i] = sigma(z[i]), g[i] = sigma'(z[i]) (g may be NULL), z, h,
 * g (count). ssw_act_apply runs the vectorized kernels (shallowsweep/simd.h: SLEEF, within
 * 1.5 ulp of libm); ssw_act_apply_scalar is the libm twin they are tested against. */
void ssw_act_apply(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g);
void ssw_act_apply_scalar(const ssw_model_t *M, int64_t count, const double *z, double *h, double *g);
/* g[i] = sigma'(z[i]) given h[i] = sigma(z[i]) from ssw_act_apply (count). */
void ssw_act_deriv_from_value(const ssw_model_t *M, int64_t count, const double *z, const double *h,
                              double *g);

/* Scratch for up to n_max samples; allocated once per cell, reused every step. */
typedef struct ssw_workspace {
  int64_t n_max, m, d;
  bool keep_z;   /* leave Z of the last call in Z (default true; the fused kernel skips it if false) */
  double *Z;     /* (m, n_max) preactivations, neuron-major: row j is z_j over the samples */
  double *H;     /* (m8, n_max) sigma(Z), kept for activations costly to recompute; m8 = m rounded up
                    to a multiple of 8 (the fused kernel's blocks of 8 neurons) */
  double *h_row; /* (n_max) one row of sigma(Z) for cheap activations */
  double *G;     /* (block, n) the backward's G = (s/n) a .* sigma'(Z) .* r^T, one block of neurons */
  double *r;     /* (n_max) residuals f - y */
  double *pack;  /* (m8 (dp + 3)) the fused kernel's W, b, s a, (s/n) a by blocks of 8 neurons; dp: d
                    padded to 2, 4, 8 or 16 (d itself beyond 16) */
  double *XP;    /* (n_max, dp) the inputs padded with zeros, for the fused kernel */
  double *fpart; /* (n_max, 8) the fused kernel's partial sums of f */
} ssw_workspace_t;

SSW_NODISCARD int ssw_workspace_init(ssw_workspace_t *ws, int64_t n_max, int64_t m, int64_t d);
void ssw_workspace_fini(ssw_workspace_t *ws);
/* Bytes ssw_workspace_init allocates for n_max samples, width m and d inputs. */
double ssw_workspace_bytes(int64_t n_max, int64_t m, int64_t d);

/* Loss L and, if grad != NULL, its gradient over the groups in `groups` (SSW_GROUP_*;
 * untrained groups' entries are set to 0). X (n, d), y (n), theta and grad (P).
 * Uses BLAS (dgemm) for the products. Z (m, n) of the last call is left in ws->Z. */
SSW_NODISCARD int ssw_model_loss_grad(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                        const double *y, unsigned groups, double *grad, ssw_workspace_t *ws,
                        double *loss);
/* The plain-loop twin of ssw_model_loss_grad (no BLAS, no workspace), held to it by tests. */
double ssw_model_loss_grad_naive(const ssw_model_t *M, const double *theta, int64_t n,
                                 const double *X, const double *y, unsigned groups, double *grad);
/* Network outputs only: f (n). */
SSW_NODISCARD int ssw_model_forward(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                      double *f, ssw_workspace_t *ws);
/* Pin BLAS to one thread in this process (OpenBLAS's pthread build otherwise starts one
 * thread per core in every MPI rank). Call once at start-up. Not collective. */
void ssw_blas_single_thread(void);
/* Floating-point operations of one ssw_model_loss_grad with a gradient (for GFLOP/s). */
double ssw_model_step_flops(const ssw_model_t *M, int64_t n);

#endif
