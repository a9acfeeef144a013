/* The messages between rank 0 and the training ranks (private to src/engine).
 *
 * A worker sends a report and waits for work; its first report is empty.
 *   report (TAG_REPORT, int64): [n, stopped, index_1, status_1, wall_ns_1, diagnosis_1, used_1, ...,
 *     index_n, ...]; used: the share of max_iters the cell ran, in units of 1e-9
 *     n cells finished since the last report; stopped = 1 when a signal made the worker
 *     abandon the rest of its batch (those cells stay pending).
 *   work (TAG_WORK, int64): [n, index_1, ..., index_n]; n = 0 means stop.
 * While a cell trains, at most once a second (SSW_TRAIN_PROGRESS_S):
 *   progress (TAG_PROGRESS, int64): [index, step / max_iters in units of 1e-9, ns trained]
 *     rank 0 receives these whenever it looks for reports, and drains them at the end.
 */
#ifndef SHALLOWSWEEP_ENGINE_PROTOCOL_H
#define SHALLOWSWEEP_ENGINE_PROTOCOL_H

#include "shallowsweep/error.h"
#include "shallowsweep/engine.h"

enum { TAG_REPORT = 701, TAG_WORK = 702, TAG_PROGRESS = 703 };
enum { PROGRESS_FIELDS = 3 };
enum {
  REPORT_HEADER = 2,
  REPORT_FIELDS = 5,
  REPORT_MAX = REPORT_HEADER + REPORT_FIELDS * SSW_ENGINE_BATCH_MAX,
  WORK_MAX = 1 + SSW_ENGINE_BATCH_MAX,
};

/* Train and write one cell into r (timings added to stats), continuing it from its checkpoint
 * if it has one and keeping it in one when stopped. Returns SSW_OK, SSW_ERR_STOPPED (kept or
 * abandoned) or a fatal error. Not collective. */
SSW_NODISCARD int ssw_engine_do_cell(const ssw_engine_job_t *job, int64_t index, ssw_result_t *r, int rank,
                       ssw_engine_stats_t *stats);
/* The checkpoints of one cell (cell_checkpoint.c), each a no-op without job->checkpoints;
 * problems are lines on job->notes, never errors of the run. Not collective.
 * load: the kept state of cell index into *state (NULL: none, or refused with a note);
 *   fails only when the machine does (out of memory).
 * used: after a finished training that was offered a state from from_step: count it or say
 *   that the cell function could not use it.
 * keep: after a stop, save state (NULL: nothing to keep) and count it.
 * done: the cell is written: delete its checkpoint if it had one. */
SSW_NODISCARD int ssw_engine_checkpoint_load(const ssw_engine_job_t *job, int64_t index, ssw_train_state_t **state);
void ssw_engine_checkpoint_used(const ssw_engine_job_t *job, int64_t index, int64_t from_step, bool used,
                                ssw_engine_stats_t *stats);
void ssw_engine_checkpoint_keep(const ssw_engine_job_t *job, int64_t index, const ssw_train_state_t *state,
                                ssw_engine_stats_t *stats);
void ssw_engine_checkpoint_done(const ssw_engine_job_t *job, int64_t index);
/* A training rank's loop (rank != 0). Not collective (rank 0 answers). */
SSW_NODISCARD int ssw_engine_worker(MPI_Comm comm, const ssw_engine_job_t *job, ssw_engine_stats_t *stats);

#endif
