/* The messages between rank 0 and the training ranks (private to src/engine).
 *
 * A worker sends a report and waits for work; its first report is empty.
 *   report (TAG_REPORT, int64): [n, stopped, index_1, status_1, wall_ns_1, diagnosis_1, used_1, ...,
 *     index_n, ...]; used: the share of max_iters the cell ran, in units of 1e-9
 *     n cells finished since the last report; stopped = 1 when a signal made the worker
 *     abandon the rest of its batch (those cells stay pending).
 *   work (TAG_WORK, int64): [n, index_1, ..., index_n]; n = 0 means stop.
 */
#ifndef SHALLOWSWEEP_ENGINE_PROTOCOL_H
#define SHALLOWSWEEP_ENGINE_PROTOCOL_H

#include "shallowsweep/error.h"
#include "shallowsweep/engine.h"

enum { TAG_REPORT = 701, TAG_WORK = 702 };
enum {
  REPORT_HEADER = 2,
  REPORT_FIELDS = 5,
  REPORT_MAX = REPORT_HEADER + REPORT_FIELDS * SSW_ENGINE_BATCH_MAX,
  WORK_MAX = 1 + SSW_ENGINE_BATCH_MAX,
};

/* Train and write one cell into r (timings added to stats). Returns SSW_OK, SSW_ERR_STOPPED
 * (abandoned) or a fatal error. Not collective. */
SSW_NODISCARD int ssw_engine_do_cell(const ssw_engine_job_t *job, int64_t index, ssw_result_t *r, int rank,
                       ssw_engine_stats_t *stats);
/* A training rank's loop (rank != 0). Not collective (rank 0 answers). */
SSW_NODISCARD int ssw_engine_worker(MPI_Comm comm, const ssw_engine_job_t *job, ssw_engine_stats_t *stats);

#endif
