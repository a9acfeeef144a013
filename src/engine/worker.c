/* A training rank: ask rank 0 for cells, train, write, report, ask again (DESIGN.md §5). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shallowsweep/check.h"
#include "shallowsweep/clock.h"
#include "protocol.h"

/* The first few rounds poll again at once: a reply is usually microseconds away. After that,
 * sleep 2 us, 4 us, ... up to 2 ms (a VM may round each nap up to ~0.15 ms), so a long
 * wait costs about 1% of a core. */
enum { IDLE_SPIN_ROUNDS = 256, /* ~100 us of MPI_Iprobe: a busy master answers at once */ IDLE_FIRST_SLEEP_NS = 2000 };

void ssw_engine_idle(int round) {
  if (round < IDLE_SPIN_ROUNDS) return;
  int shift = round - IDLE_SPIN_ROUNDS;
  long ns = shift >= 10 ? SSW_ENGINE_SLEEP_MAX_NS : (long)IDLE_FIRST_SLEEP_NS << shift;
  if (ns > SSW_ENGINE_SLEEP_MAX_NS) ns = SSW_ENGINE_SLEEP_MAX_NS;
  struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};
  nanosleep(&ts, NULL); /* EINTR (a signal) just ends the nap early */
}

int ssw_engine_wait(MPI_Request *req, MPI_Status *status) {
  for (int round = 0;; round++) {
    int done = 0;
    MPI_CHECK(MPI_Test(req, &done, status));
    if (done) return SSW_OK;
    ssw_engine_idle(round);
  }
}

int ssw_engine_do_cell(const ssw_engine_job_t *job, int64_t index, ssw_result_t *r, int rank,
                       ssw_engine_stats_t *stats) {
  ssw_result_clear(r);
  if (job->steps) memcpy(r->steps, job->steps, (size_t)job->k * sizeof *r->steps);
  ssw_train_state_t *state = NULL;
  SSW_TRY(ssw_engine_checkpoint_load(job, index, &state));
  const int64_t offered = state ? state->step : 0;
  double t0 = ssw_clock_monotonic();
  int rc = job->cell(job->cell_ctx, index, r, &ssw_stop_signal, job->checkpoints ? &state : NULL);
  double t1 = ssw_clock_monotonic();
  stats->train_s += t1 - t0;
  if (rc == SSW_ERR_STOPPED) ssw_engine_checkpoint_keep(job, index, state, stats);
  else if (rc == SSW_OK && offered) ssw_engine_checkpoint_used(job, index, offered, state != NULL, stats);
  ssw_train_state_destroy(&state);
  if (rc == SSW_ERR_STOPPED) return rc;
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  if (r->status == SSW_STATUS_PENDING) {
    r->status = SSW_STATUS_FAILED;
    snprintf(r->message, sizeof r->message, "the training left cell %lld pending (a bug)", (long long)index);
  }
  if (isnan(r->wall_s)) r->wall_s = t1 - t0;
  if (job->store) {
    rc = ssw_store_write_cell(job->store, index, r, rank);
    if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
    stats->write_s += ssw_clock_monotonic() - t1;
    ssw_engine_checkpoint_done(job, index); /* after the status: a kill in between leaves a done cell's
                                               checkpoint, which nothing reads; completion removes it */
  }
  return SSW_OK;
}

/* Where step progress goes: rank 0, about the cell in hand. */
typedef struct {
  MPI_Comm comm;
  int64_t index;
} reporter_t;

/* The trainer's progress hook: one small message to rank 0 (eager: it does not wait). A
 * failed send only loses the report. */
static void report_progress(void *ctx, int64_t step, int64_t max_iters, double elapsed_s) {
  const reporter_t *rep = ctx;
  int64_t msg[PROGRESS_FIELDS] = {rep->index, max_iters > 0 ? (int64_t)llround(1e9 * (double)step / (double)max_iters) : 0,
                                  (int64_t)llround(elapsed_s * 1e9)};
  (void)MPI_Send(msg, PROGRESS_FIELDS, MPI_INT64_T, 0, TAG_PROGRESS, rep->comm);
}

/* Train the cells of one work message; fill the next report. */
static int work_batch(const ssw_engine_job_t *job, const int64_t *work, int rank, ssw_result_t *r,
                      int64_t *report, ssw_engine_stats_t *stats, reporter_t *rep) {
  int64_t n = 0, stopped = 0;
  for (int64_t i = 0; i < work[0]; i++) {
    if (ssw_stop_signal) {
      stopped = 1;
      break;
    }
    int64_t index = work[1 + i];
    rep->index = index;
    int rc = ssw_engine_do_cell(job, index, r, rank, stats);
    if (rc == SSW_ERR_STOPPED) {
      stopped = 1;
      break;
    }
    if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
    int64_t *slot = report + REPORT_HEADER + REPORT_FIELDS * n++;
    slot[0] = index;
    slot[1] = r->status;
    slot[2] = (int64_t)llround(r->wall_s * 1e9);
    slot[3] = r->diagnosis;
    slot[4] = (int64_t)llround(1e9 * ssw_result_budget_used(r));
  }
  report[0] = n;
  report[1] = stopped;
  return SSW_OK;
}

int ssw_engine_worker(MPI_Comm comm, const ssw_engine_job_t *job, ssw_engine_stats_t *stats) {
  int rank;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  int64_t report[REPORT_MAX] = {0}, work[WORK_MAX];
  ssw_result_t r;
  SSW_TRY(ssw_result_init(&r, job->k));
  reporter_t rep = {.comm = comm, .index = -1};
  ssw_train_set_progress(report_progress, &rep);
  double t_start = ssw_clock_monotonic();
  int rc = SSW_OK;
  for (;;) {
    int count = (int)(REPORT_HEADER + REPORT_FIELDS * report[0]);
    if ((rc = MPI_Send(report, count, MPI_INT64_T, 0, TAG_REPORT, comm)) != MPI_SUCCESS) {
      rc = ssw_mpi_fail(rc, __FILE__, __LINE__, __func__, "MPI_Send(report)");
      break;
    }
    MPI_Request req;
    if ((rc = MPI_Irecv(work, WORK_MAX, MPI_INT64_T, 0, TAG_WORK, comm, &req)) != MPI_SUCCESS) {
      rc = ssw_mpi_fail(rc, __FILE__, __LINE__, __func__, "MPI_Irecv(work)");
      break;
    }
    if ((rc = ssw_engine_wait(&req, MPI_STATUS_IGNORE)) != SSW_OK) break;
    if (work[0] == 0) break;
    if ((rc = work_batch(job, work, rank, &r, report, stats, &rep)) != SSW_OK) break;
  }
  stats->busy_s += ssw_clock_monotonic() - t_start;
  ssw_train_set_progress(NULL, NULL);
  ssw_result_fini(&r);
  return rc == SSW_OK ? SSW_OK : ssw_error_frame(rc, __FILE__, __LINE__, __func__);
}
