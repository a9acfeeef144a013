/* Internals shared by train.c (the loop) and train_state.c (stopping and continuing it); not a
 * public header. */
#ifndef SHALLOWSWEEP_TRAIN_IMPL_H
#define SHALLOWSWEEP_TRAIN_IMPL_H

#include <stdint.h>

#include "shallowsweep/train.h"
#include "shallowsweep/train_state.h"

/* The element counts of every array a trainer allocates: trainer_alloc (train.c) allocates
 * exactly these and ssw_trainer_memory (train_cost.c) sums them, so the estimate cannot drift from the allocation. */
typedef struct {
  int64_t n_loss, B;                 /* samples of the loss set; of one step's batch */
  int64_t X, y, X_test, y_test;      /* doubles */
  int64_t X_batch, y_batch, perm;    /* doubles, doubles, int64 (0 when full batch) */
  int64_t P, sign0;                  /* doubles of each of theta0, theta, grad; bytes */
  int64_t ws_rows;                   /* samples of the workspace */
} ssw_trainer_sizes_t;

void ssw_trainer_sizes(const ssw_params_t *p, ssw_trainer_sizes_t *z);

/* What the loop carries besides the trainer's arrays and the result. */
typedef struct ssw_run_state {
  double W0_norm, a0_norm; /* ||W_0||_F, ||a_0||: pure functions of theta_0 */
  double edge_s;           /* seconds in edge_ratio */
  double flops;            /* model flops so far */
  int64_t next_record;     /* index into r->steps */
} ssw_run_state_t;

/* Keep the loop at the top of update `step` (L the last full loss, wall_s the seconds trained,
 * earlier jobs included) in s, sized for t. Not collective. */
void ssw_train_state_capture(const ssw_trainer_t *t, const ssw_result_t *r, const ssw_run_state_t *st,
                             int64_t step, double L, double wall_s, ssw_train_state_t *s);
/* The loop was stopped at the top of update `step`: keep its state in *state (created or
 * resized as needed) when state is non-NULL and something was done (step > 0), else destroy
 * *state. Returns SSW_ERR_STOPPED with its message. Not collective. */
SSW_NODISCARD int ssw_train_state_keep(const ssw_trainer_t *t, const ssw_result_t *r, const ssw_run_state_t *st,
                                       int64_t step, double L, double wall_s, ssw_train_state_t **state);
/* Put the loop back where s left it: t->theta, t->sign0, t->perm (minibatch: the epoch's
 * permutation), r's values so far, st; *step, *L, *wall_s (seconds trained before). r->steps
 * must be set. SSW_ERR_INPUT when s was not made for this trainer. Not collective. */
SSW_NODISCARD int ssw_train_state_restore(ssw_trainer_t *t, ssw_result_t *r, ssw_run_state_t *st,
                                          const ssw_train_state_t *s, int64_t *step, double *L, double *wall_s);

#endif
