/* The neural tangent kernel at initialization: K = J J^T / n, J the (n, P) Jacobian of the
 * outputs f(x_i) over the trained parameters (Jacot et al. 2018; Du et al. 2019 use its
 * smallest eigenvalue as the width condition). Eigenvalues by LAPACKE_dsyevd. */
#ifndef SHALLOWSWEEP_NTK_H
#define SHALLOWSWEEP_NTK_H

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

#endif
