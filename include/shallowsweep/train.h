/* One cell: train the network of resolved params by GD / minibatch SGD / online SGD, record
 * its trajectory at fixed steps and give its verdict (DESIGN.md §2).
 *
 * Step t holds theta_t after t updates. At every step the loop evaluates L(theta_t), records
 * it if t is a record point, then checks, in order: diverged (L not finite or
 * L > diverge_factor * L0), converged (L <= tol or L <= tol_rel * L0), t == max_iters;
 * otherwise it updates. Full-batch GD checks every step (the loss comes free with the
 * gradient); minibatch and online SGD check at record points only, where they evaluate the
 * full training (online: eval) loss. A diverged state is never recorded: the recorded values
 * are finite up to the last record point before divergence, NaN after any stop.
 */
#ifndef SHALLOWSWEEP_TRAIN_H
#define SHALLOWSWEEP_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/data.h"
#include "shallowsweep/model.h"
#include "shallowsweep/params.h"

enum {
  SSW_SERIES_LOSS, SSW_SERIES_GRAD_NORM, SSW_SERIES_INNER_DIST, SSW_SERIES_OUTER_DIST,
  SSW_SERIES_PATTERN_CHANGE, SSW_SERIES_TEST_LOSS,
  SSW_SERIES_EDGE_RATIO, /* with record_sharpness: true */
  SSW_SERIES_COUNT
};
extern const char *const ssw_series_names[SSW_SERIES_COUNT];

/* A cell's status, as stored (int8) in /cell/status; the file names them too (its
 * flag_values and flag_meanings attributes, written from ssw_status_names). Converged to
 * failed are done (trained and written); skipped: an adaptive sweep decided not to compute
 * it (refine.h), and it holds no data. */
typedef enum {
  SSW_STATUS_PENDING = 0, SSW_STATUS_CONVERGED = 1, SSW_STATUS_MAX_ITERS = 2,
  SSW_STATUS_DIVERGED = 3, SSW_STATUS_FAILED = 4, SSW_STATUS_SKIPPED = 5, SSW_STATUS_COUNT
} ssw_status_t;
/* Trained and written: converged, max_iters, diverged or failed. */
static inline bool ssw_status_is_done(int status) {
  return status >= SSW_STATUS_CONVERGED && status <= SSW_STATUS_FAILED;
}
extern const char *const ssw_status_names[SSW_STATUS_COUNT];
/* ssw_status_names[status], or "unknown" out of range. */
const char *ssw_status_name(int status);

enum { SSW_MESSAGE_MAX = 256 };

typedef struct ssw_result {
  int64_t k;                          /* record points */
  int64_t *steps;                     /* (k) recorded steps, increasing, 0 and max_iters */
  double *series[SSW_SERIES_COUNT];   /* each (k); NaN where not recorded */
  int8_t status;                      /* ssw_status_t */
  double init_loss, final_loss;       /* L(theta_0), L at the last evaluated step */
  int64_t iters;                      /* updates done when the run stopped */
  int64_t iters_to_tol;               /* first step meeting tol/tol_rel, -1 if never */
  double wall_s;                      /* seconds, whole cell */
  double edge_s;                      /* of wall_s, seconds spent on edge ratios (not training) */
  double gflops;                      /* model flops / wall_s / 1e9 */
  double ntk_min, ntk_max;            /* NTK Gram extreme eigenvalues (NaN if not asked) */
  /* descent: full-batch GD compares L at every step with the step before, minibatch and
   * online SGD at consecutive record points (the only places they evaluate the full loss) */
  int64_t loss_rises;                 /* comparisons where L rose by more than SSW_RISE_RTOL */
  double max_rise;                    /* largest relative rise (L_t - L_before) / L_before; 0 if none */
  double edge_ratio_init;             /* lambda_max(J D J^T / n) / 2 at theta_0 (ntk.h): > 1 unstable */
  double edge_ratio_final;            /* the same at the last step (NaN after divergence) */
  double final_series[SSW_SERIES_COUNT]; /* last finite recorded value of each series (NaN if none) */
  double loss_ratio;                  /* final_loss / init_loss */
  int8_t diagnosis;                   /* ssw_diagnosis_t: why a max_iters cell did not converge */
  char message[SSW_MESSAGE_MAX];      /* failure text for status 4 */
} ssw_result_t;

/* Why a cell that ran to max_iters did not converge (DESIGN.md §2, "Diagnosis"), decided in
 * this order; SSW_DIAG_NONE for every other status. */
typedef enum {
  SSW_DIAG_NONE = 0,     /* converged, diverged, failed or pending */
  SSW_DIAG_UNSTABLE = 1, /* beyond the stability edge at the start (edge_ratio_init > 1) or at the
                            end (edge_ratio_final > SSW_EDGE_OF_STABILITY), or, for a smooth
                            activation, the loss rose by more than SSW_UNSTABLE_RISE */
  SSW_DIAG_SLOW = 2,     /* still descending: at the rate of the budget's second half it reaches
                            the tolerance within SSW_SLOW_BUDGET_MULTIPLE times max_iters */
  SSW_DIAG_PLATEAU = 3,  /* neither: a stall (the capacity question) */
  SSW_DIAG_COUNT
} ssw_diagnosis_t;
extern const char *const ssw_diagnosis_names[SSW_DIAG_COUNT];
/* " (unstable N, slow N, plateau N)" from counts indexed by diagnosis (counts[0] unused), the
 * one text the progress line and status print after the max_iters count. */
void ssw_diagnosis_counts_text(const int64_t counts[SSW_DIAG_COUNT], char *buf, size_t size);
/* A rise is counted above this relative size: the round-off of L, a sum of n squares
 * computed to ~1e-13 relative, is far below it. */
#define SSW_RISE_RTOL 1e-10
/* A rise this large (relative) is no round-off: for a smooth activation GD below its stability
 * edge never makes it (the descent lemma). Piecewise-linear activations (relu, leaky_relu,
 * ramp) make such rises below the edge too, as the step crosses kinks (measured: ReLU cells of
 * the quickstart at edge ratio 0.2 rose 1e4 times by up to 1e-4), so for them only the edge
 * ratio decides. */
#define SSW_UNSTABLE_RISE 1e-6
/* GD that sharpens to its stability edge hovers there (the edge of stability, Cohen et al.,
 * ICLR 2021): the quickstart's cells ended with edge ratios 0.98 to 1.02 at every step size
 * from 0.25 to 2. A final ratio above this counts as at the edge. */
#define SSW_EDGE_OF_STABILITY 0.95
#define SSW_SLOW_BUDGET_MULTIPLE 10.0
/* Whether sigma is smooth enough for the descent lemma (its derivative Lipschitz): not relu,
 * leaky_relu or ramp. */
bool ssw_activation_is_smooth(ssw_activation_t a);
/* The diagnosis of r (status, descent counters, edge ratio, the recorded loss). Not collective. */
int8_t ssw_diagnose(const ssw_params_t *p, const ssw_result_t *r);

SSW_NODISCARD int ssw_result_init(ssw_result_t *r, int64_t k);
void ssw_result_fini(ssw_result_t *r);
/* Reset every value to "not recorded" (NaN, -1, pending), keeping k and steps. */
void ssw_result_clear(ssw_result_t *r);
/* The share of its budget r ran: iters / max_iters (the last record step), in [0, 1]; 1
 * for a budget of 0 steps. */
double ssw_result_budget_used(const ssw_result_t *r);

/* The k record steps over 0..max_iters (distinct, increasing, first 0, last max_iters). */
SSW_NODISCARD int ssw_record_steps(int64_t max_iters, int64_t k, ssw_spacing_t spacing, int64_t *steps /* (k) */);

/* Everything one cell needs, allocated once: data, weights, workspace. */
typedef struct ssw_trainer {
  ssw_params_t p;          /* resolved copy */
  ssw_model_t M;
  unsigned groups;         /* trained groups (bias only if p.bias) */
  ssw_source_t src;
  int64_t n_loss;          /* samples of the loss set: n, or eval_n when online */
  double *X, *y;           /* (n_loss, d), (n_loss): training set (online: eval set) */
  double *X_test, *y_test; /* (test_n, d), (test_n) */
  int64_t B;               /* batch size of a step (n for full batch) */
  double *X_batch, *y_batch; /* (B, d), (B): the current minibatch */
  int64_t *perm;           /* (n) minibatch order of the current epoch */
  double *theta0, *theta;  /* (P) initial and current parameters */
  double *grad;            /* (P) */
  unsigned char *sign0;    /* (m, n_loss) preactivation > 0 at step 0, laid out as ws.Z */
  ssw_workspace_t ws;      /* for n_loss samples */
  bool skip_edge;          /* benchmarks only: leave the edge ratios NaN (ssw_trainer_init: false) */
  int64_t stop_at;         /* tests only: stop (as if signalled) at the top of update stop_at, unless
                              the run started there; 0 never (ssw_trainer_init: 0) */
} ssw_trainer_t;

/* The model of a cell's cost and memory that plan, the scheduler and the deadline use:
 * estimated flop-equivalents of training params to max_iters (every step plus the record
 * points' evaluations and the NTK), and the bytes a trainer for params holds at its peak
 * (the arrays ssw_trainer_init allocates, counted by the same function). Not collective. */
double ssw_trainer_cost(const ssw_params_t *p);
double ssw_trainer_memory(const ssw_params_t *p);

/* Allocate and initialise data and weights for resolved, checked params. */
SSW_NODISCARD int ssw_trainer_init(ssw_trainer_t *t, const ssw_params_t *p);
void ssw_trainer_fini(ssw_trainer_t *t);
/* Train from theta0 into r (r->k must equal p.record_points). If stop is non-NULL and
 * becomes nonzero, return SSW_ERR_STOPPED promptly (the cell is abandoned; to keep it and
 * continue later, ssw_trainer_resume of train_state.h). No allocation. */
SSW_NODISCARD int ssw_trainer_run(ssw_trainer_t *t, ssw_result_t *r, const volatile sig_atomic_t *stop);

/* Progress of the cell being trained, for a worker's reports to rank 0: the trainer calls the
 * hook between updates, at most once every SSW_TRAIN_PROGRESS_S seconds, with the step it is
 * at, the budget and the seconds the cell has trained (earlier jobs included). One hook per
 * process (like the stop flag: one trainer runs at a time); NULL removes it. */
#define SSW_TRAIN_PROGRESS_S 1.0
typedef void (*ssw_train_progress_fn)(void *ctx, int64_t step, int64_t max_iters, double elapsed_s);
void ssw_train_set_progress(ssw_train_progress_fn fn, void *ctx);
/* The trainer's side: call the hook if one is set and its interval has passed. */
void ssw_train_progress_tick(int64_t step, int64_t max_iters, double wall_before, double t0);

/* The one entry point: resolve, check, train. r must be ssw_result_init'ed with
 * k = record_points. A bad parameter returns SSW_ERR_INPUT. Not collective. */
SSW_NODISCARD int ssw_cell_train(const ssw_params_t *p, ssw_result_t *r, const volatile sig_atomic_t *stop);

#endif
