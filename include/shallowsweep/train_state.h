/* A cell's training stopped between two updates, to be continued later bitwise as if it had
 * never stopped (DESIGN.md §13).
 *
 * Dimension letters: m hidden units, d inputs, n_loss samples of the loss set (n, or eval_n
 * when online), P = m d + 2 m parameters, k record points, S = SSW_SERIES_COUNT series.
 *
 * What the state holds is everything the loop of train.c carries from one update to the next
 * that is not a pure function of the cell's parameters: theta at the current step, the
 * loss the next descent check compares with, the record points written so far, the
 * preactivation signs at step 0 (pattern_change compares with them; kept, not recomputed,
 * so that a job on another CPU type continues with the same reference), the scalars known
 * since step 0 and the time and work spent so far. What is a pure function of the cell is
 * rebuilt by ssw_trainer_init: the data, the test set, theta_0 (inner_dist and outer_dist
 * measure from it) and, for minibatch SGD, the epoch's permutation (the "SGD stream
 * position" is the step: batch t of epoch e is permutation e, a pure function of (seed, e),
 * and online batch t is samples t B .. t B + B - 1 of the online stream).
 */
#ifndef SHALLOWSWEEP_TRAIN_STATE_H
#define SHALLOWSWEEP_TRAIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/train.h"

typedef struct ssw_train_state {
  /* sizes, fixed at creation by the cell */
  int64_t P;            /* parameters: W (m, d), b (m), a (m) */
  int64_t k;            /* record points */
  int64_t nm;           /* preactivation signs: m * n_loss */
  /* where the loop stands: at the top of update `step`, before its checks */
  int64_t step;         /* updates done, >= 1 (a cell stopped at step 0 has nothing to keep) */
  int64_t next_record;  /* record points written, 0..k */
  double loss_before;   /* the last full loss evaluated: the next descent check compares with it */
  /* the result so far (ssw_result_t's fields of the same names) */
  double init_loss, ntk_min, ntk_max, edge_ratio_init;
  int64_t loss_rises;
  double max_rise;
  /* accounting, summed over every job that trained the cell */
  double wall_s;        /* seconds training (edge ratios included) */
  double edge_s;        /* of which computing edge ratios */
  double flops;         /* model flops */
  int64_t stops;        /* times the cell was stopped and kept, this one included */
  /* arrays */
  double *theta;        /* (P) theta_step: [W (m, d) row-major | b (m) | a (m)] */
  double *series;       /* (S, k) row-major: series s's value at record point i; NaN from next_record on */
  uint8_t *sign0;       /* (ceil(nm / 8)) bit e: preactivation e of step 0 > 0, e = j n_loss + i */
} ssw_train_state_t;

/* A state sized for P parameters, k record points and nm signs; values zero, series NaN.
 * ssw_train_state_destroy accepts NULL and sets *s to NULL. Not collective. */
SSW_NODISCARD int ssw_train_state_create(ssw_train_state_t **s, int64_t P, int64_t k, int64_t nm);
void ssw_train_state_destroy(ssw_train_state_t **s);

/* The sizes a trainer's state has (P, k, nm). */
void ssw_trainer_state_sizes(const ssw_trainer_t *t, int64_t *P, int64_t *k, int64_t *nm);

/* The state as named byte ranges, in the fixed order a checkpoint file stores them
 * (checkpoint.h): the scalars, then theta, series and sign0. Each `data` points into s. */
typedef struct ssw_train_state_field {
  const char *name;
  void *data;
  size_t bytes;
} ssw_train_state_field_t;
enum { SSW_TRAIN_STATE_FIELDS = 16 };
void ssw_train_state_fields(ssw_train_state_t *s, ssw_train_state_field_t fields[SSW_TRAIN_STATE_FIELDS]);
/* Bytes of all fields together. */
size_t ssw_train_state_bytes(const ssw_train_state_t *s);

/* Train, or continue a stopped training, into r (r->k == record_points).
 *   state NULL: as ssw_trainer_run (a stop abandons the cell).
 *   *state non-NULL on entry: continue from it (its sizes must be the trainer's:
 *     SSW_ERR_INPUT otherwise, the cell untouched, so the caller can start it from step 0).
 *   When *stop becomes nonzero after at least one update: *state (created if NULL) receives
 *     the state and SSW_ERR_STOPPED is returned; stopped before any update, *state is
 *     destroyed (nothing worth keeping) and SSW_ERR_STOPPED returned.
 *   Finished: SSW_OK; *state is left as it was (the caller destroys it).
 * The result of a run stopped any number of times and continued equals the uninterrupted
 * run's bit for bit, wall_s, gflops and edge_s aside (summed over the pieces). No allocation
 * but the state's. Not collective. */
SSW_NODISCARD int ssw_trainer_resume(ssw_trainer_t *t, ssw_result_t *r, const volatile sig_atomic_t *stop,
                                     ssw_train_state_t **state);

/* The one entry point with states: resolve, check, ssw_trainer_resume. Not collective. */
SSW_NODISCARD int ssw_cell_train_resume(const ssw_params_t *p, ssw_result_t *r, const volatile sig_atomic_t *stop,
                                        ssw_train_state_t **state);

#endif
