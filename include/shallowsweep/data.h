/* Synthetic data: inputs, targets and label noise of DESIGN.md §2.
 *
 * A sample is a pure function of (params, set, index): training sample i has the same
 * x_i and y_i for every n, so datasets nest along the n axis. Sets and their streams:
 *   TRAIN   x: DATA stream, index i;  y: LABELS stream, index i; label noise added
 *   TEST    x and y: TEST stream, index i (no label noise)
 *   ONLINE  as TRAIN at index SSW_ONLINE_BASE + i (population SGD draws step t's batch
 *           at i = t*B .. t*B + B-1; its eval set is TRAIN samples 0..eval_n-1)
 * The data seed is the cell's seed, or 0 with data_seed: shared. Teacher weights come from
 * the LABELS stream (sub-streams of their own), so the teacher is fixed by the data seed.
 */
#ifndef SHALLOWSWEEP_DATA_H
#define SHALLOWSWEEP_DATA_H

#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/params.h"

#define SSW_ONLINE_BASE (UINT64_C(1) << 40)

typedef enum { SSW_SET_TRAIN, SSW_SET_TEST, SSW_SET_ONLINE } ssw_sample_set_t;

typedef struct ssw_source {
  ssw_params_t params;   /* copy; resolved */
  uint64_t data_seed;
  int64_t k;             /* teacher width (0 without a teacher) */
  double *teacher_W;     /* (k, d) row-major, N(0, I_d / d) */
  double *teacher_a;     /* (k) per teacher_outer, times 1/sqrt(k) */
} ssw_source_t;

/* Prepare a source for resolved params p (draws the teacher). Not collective. */
SSW_NODISCARD int ssw_source_init(ssw_source_t *src, const ssw_params_t *p);
void ssw_source_fini(ssw_source_t *src);
/* Bytes ssw_source_init allocates for params p (the teacher's weights). */
double ssw_source_bytes(const ssw_params_t *p);
/* Samples first..first+count-1 of a set: X (count, d) row-major, y (count). */
SSW_NODISCARD int ssw_source_draw(const ssw_source_t *src, ssw_sample_set_t set, uint64_t first, int64_t count,
                    double *X /* (count, d) */, double *y /* (count) */);
/* The target function without noise at one input x (d): teacher or piecewise constant. */
double ssw_source_target(const ssw_source_t *src, const double *x /* (d) */);

/* The permutation of 0..n-1 used in minibatch epoch `epoch` (Fisher-Yates on the BATCHES
 * stream, index epoch). */
void ssw_batch_permutation(uint64_t seed, int64_t epoch, int64_t n, int64_t *perm /* (n) */);

#endif
