/* The MPI engine (DESIGN.md §5): rank 0 serves pending cells, largest estimated cost first,
 * to worker ranks that ask for them; workers train, write their cell into the store and ask
 * again. With one rank, rank 0 trains every cell itself.
 *
 * Waiting never spins: rank 0 polls with MPI_Iprobe and sleeps with a growing back-off
 * (at most SSW_ENGINE_SLEEP_MAX_NS), and workers wait for replies and for the final
 * reduction the same way, so a master or an idle worker on an oversubscribed core costs
 * the trainers next to it nothing.
 *
 * Signals (signals.c): SIGINT, SIGTERM, SIGUSR1 set a flag: rank 0 stops serving, a worker
 * stops the cell in hand and reports; everyone leaves ssw_engine_run with stats->stopped set,
 * so the caller can close the store and exit 75. With job->checkpoints the stopped cell's
 * training state is kept there (checkpoint.h) and a later run continues it from where it
 * stopped (DESIGN.md §13); without, or when nothing was trained yet, it is abandoned. Either
 * way it stays pending. A second signal calls _exit(75) at once (finished cells are safe: the
 * file's metadata is frozen; a checkpoint being written is not yet renamed into place).
 */
#ifndef SHALLOWSWEEP_ENGINE_H
#define SHALLOWSWEEP_ENGINE_H

#include <mpi.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shallowsweep/checkpoint.h"
#include "shallowsweep/error.h"
#include "shallowsweep/refine.h"
#include "shallowsweep/store.h"
#include "shallowsweep/sweep.h"
#include "shallowsweep/train.h"
#include "shallowsweep/deadline.h"

enum {
  SSW_ENGINE_BATCH_MAX = 256,         /* cells per message at most */
  SSW_ENGINE_SLEEP_MAX_NS = 2000000,  /* longest idle sleep between polls: 2 ms */
};

/* The one global: nonzero (the signal number) once a stop signal has arrived. */
extern volatile sig_atomic_t ssw_stop_signal;

/* Install the SIGINT/SIGTERM/SIGUSR1 handlers. Not collective. */
SSW_NODISCARD int ssw_signals_install(void);

/* Train one cell into r. Returns SSW_OK with r->status set (a cell that cannot be trained
 * returns SSW_OK with status 4 and its message), SSW_ERR_STOPPED when *stop became nonzero,
 * any other code for a fatal error. state is NULL when stopped cells are abandoned; else
 * *state on entry is NULL or a kept state to continue from (a function that cannot use it
 * destroys it and starts from step 0, so that *state NULL after SSW_OK says it was not used),
 * and after SSW_ERR_STOPPED *state is what to keep (NULL: nothing, the cell is abandoned),
 * as ssw_trainer_resume (train_state.h) does it. The caller destroys *state. */
typedef int (*ssw_engine_cell_fn)(void *ctx, int64_t index, ssw_result_t *r, const volatile sig_atomic_t *stop,
                                  ssw_train_state_t **state);

/* The default cell function: ctx is the ssw_sweep_t; parameters of the cell, then
 * ssw_cell_train_resume. */
SSW_NODISCARD int ssw_engine_train_cell(void *ctx, int64_t index, ssw_result_t *r, const volatile sig_atomic_t *stop,
                                        ssw_train_state_t **state);

typedef struct ssw_engine_job {
  int64_t ncells;            /* cells of the grid */
  int64_t k;                 /* record points */
  const int64_t *steps;      /* (k) record steps, copied into each result */
  ssw_engine_cell_fn cell;   /* every rank */
  void *cell_ctx;
  ssw_store_t *store;        /* results are written here; NULL: not written (benchmarks) */
  ssw_checkpoints_t *checkpoints; /* every rank: a stopped cell is kept here and a listed one
                                     continued, its checkpoint deleted once the cell is written;
                                     NULL: stopped cells are abandoned */
  FILE *notes;               /* every rank: one line per checkpoint kept, continued or refused; NULL: none */
  /* rank 0 only: */
  const int64_t *pending;    /* (npending) cells to run, any order */
  int64_t npending;
  const double *cost;        /* (ncells) expected seconds to max_iters (ssw_cell_seconds), or NULL: all 1 */
  bool cost_measured;        /* cost comes from cells timed on this machine (ssw_calibrate), not the
                                prior alone: the deadline trusts it before any cell has finished */
  /* adaptive sweeps (refine.h): told of each cell that finishes, appends the cells that became
     needed to *more; NULL: the pending cells are the whole run. Workers that ask while nothing
     is queued but cells are in hand wait for what those cells decide. */
  int (*more)(void *ctx, int64_t cell, int status, ssw_cell_list_t *more);
  void *more_ctx;
  int64_t done_before[SSW_STATUS_COUNT];    /* cells already done by status (resume), for progress */
  int64_t diagnosed_before[SSW_DIAG_COUNT]; /* ... and of those, by diagnosis */
} ssw_engine_job_t;

typedef struct ssw_engine_opts {
  int batch_max;          /* cells per message at most, 1..SSW_ENGINE_BATCH_MAX; 1: no batching; 0: default */
  double batch_target_s;  /* estimated seconds of work per message; 0: default 0.05 */
  double progress_s;      /* seconds between progress lines; 0: 1 */
  FILE *progress;         /* rank 0 writes progress lines here; NULL: none */
  const ssw_deadline_t *deadline; /* rank 0 starts no cell expected to end past it; then the run
                                     ends with stats->stopped (deadline.h); NULL: none */
} ssw_engine_opts_t;

typedef struct ssw_engine_stats {
  int64_t done[SSW_STATUS_COUNT]; /* rank 0: cells finished in this run, by status */
  int64_t diagnosed[SSW_DIAG_COUNT]; /* rank 0: ... by diagnosis (max_iters cells) */
  int64_t finished;       /* rank 0: their sum */
  int64_t messages;       /* rank 0: work messages sent */
  double elapsed_s;       /* wall seconds in ssw_engine_run */
  double master_cpu_s;    /* rank 0: CPU seconds it used meanwhile (serving, or training alone) */
  /* summed over training ranks (every rank knows them): */
  double train_s;         /* inside the cell function */
  double write_s;         /* writing cells */
  double busy_s;          /* from a trainer's first request to its last reply */
  double waited_s;        /* rank 0: worker-seconds spent waiting for an adaptive sweep's next cells */
  int trainers;           /* ranks that trained */
  int64_t kept;           /* cells stopped in hand whose state was kept as a checkpoint */
  int64_t continued;      /* cells continued from a checkpoint */
  bool stopped;           /* a stop signal reached some rank: resume to finish */
} ssw_engine_stats_t;

/* Run the job. Collective on comm: rank 0 serves (or trains, if alone), the others train.
 * Returns SSW_OK also when stopped by a signal (see stats->stopped). */
SSW_NODISCARD int ssw_engine_run(MPI_Comm comm, const ssw_engine_job_t *job, const ssw_engine_opts_t *opts,
                   ssw_engine_stats_t *stats);

/* Internal helpers shared by master.c and worker.c. */
/* Sleep for the idle-round number `round` of a wait: 0 for the first rounds (poll again at
 * once), then doubling up to SSW_ENGINE_SLEEP_MAX_NS. Not collective. */
void ssw_engine_idle(int round);
/* Wait for req without spinning. Not collective. */
SSW_NODISCARD int ssw_engine_wait(MPI_Request *req, MPI_Status *status);

#endif
