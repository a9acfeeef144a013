/* The neural tangent kernel at initialization: K = J J^T / n, J the (n, P) Jacobian of the
 * outputs f(x_i) over the trained parameters (Jacot et al. 2018; Du et al. 2019 use its
 * smallest eigenvalue as the width condition). Eigenvalues by LAPACKE_dsyevd. */
#ifndef SHALLOWSWEEP_NTK_H
#define SHALLOWSWEEP_NTK_H

#include <stdbool.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/model.h"

/* Number of columns of J for `groups`. */
int64_t ssw_ntk_params(const ssw_model_t *M, unsigned groups);
/* J (n, P_trained), columns in theta order restricted to trained groups. */
SSW_NODISCARD int ssw_ntk_jacobian(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                                   unsigned groups, double *J);
/* Bytes ssw_ntk_extreme_eigs allocates for n samples and width m (while it runs). */
double ssw_ntk_eigs_bytes(int64_t n, int64_t m);
/* Smallest and largest eigenvalue of K = J J^T / n. */
SSW_NODISCARD int ssw_ntk_extreme_eigs(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                                       unsigned groups, double *lambda_min, double *lambda_max);

/* GD's stability at theta for steps eta_in (W, b) and eta_out (a): the top eigenvalue of the
 * rate-weighted NTK K_D = J D J^T / n (D the step of each trained parameter; its nonzero
 * eigenvalues are those of D^(1/2) (J^T J / n) D^(1/2), the Gauss-Newton matrix at the step
 * size), by Lanczos with Jacobian-vector products. ratio = lambda_max / 2: above 1 the
 * step is beyond the stability edge (Cohen et al., ICLR 2021). */
enum { SSW_EDGE_ITERS_MAX = 64 }; /* Lanczos steps at most (each one K_D product) */
#define SSW_EDGE_RTOL 1e-8 /* stop when the top Ritz pair's residual is below this times its value */
typedef struct ssw_edge {
  double lambda_max; /* of K_D (includes the steps), >= 0 */
  double ratio;      /* lambda_max / 2 */
  int iters;         /* Lanczos steps used (K_D products) */
  bool converged;    /* within SSW_EDGE_RTOL before SSW_EDGE_ITERS_MAX */
} ssw_edge_t;
SSW_NODISCARD int ssw_ntk_edge_ratio(const ssw_model_t *M, const double *theta, int64_t n, const double *X,
                                     unsigned groups, double eta_in, double eta_out, ssw_edge_t *out);
/* Bytes ssw_ntk_edge_ratio allocates (while it runs). */
double ssw_ntk_edge_bytes(int64_t n, int64_t m, int64_t d);

#endif
