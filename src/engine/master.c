/* Rank 0: the queue of pending cells, longest expected first, served on request in
 * batches sized to the measured speed; progress lines; the run's end (DESIGN.md §5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "shallowsweep/check.h"
#include "progress.h"
#include "protocol.h"
#include "shallowsweep/clock.h"

static const double DEFAULT_BATCH_TARGET_S = 0.05; /* work per message: 1/20 s keeps the master
                                                      idle and the tail of the run balanced */
static const int DEFAULT_BATCH_MAX = 64;

/* ---- the queue ---- */


typedef struct {
  ssw_queued_t *cells;      /* (n) this run's cells: served [0, next), pending [next, n) longest first */
  int64_t n, next, cap; /* cells, next to serve, room */
  int64_t in_hand;      /* served and not yet reported */
  double cost_total;    /* sum of the queue's cost */
  double cost_done;     /* cost of cells finished this run */
  double wall_done;     /* their summed wall seconds */
  bool deadline_hit;    /* a cell did not fit before opts->deadline */
  double prior_s_per_cost; /* seconds per unit of cost before any cell finished: 1 when the
                              costs are seconds timed on this machine, NAN when only the prior */
} queue_t;

static int queue_build(queue_t *q, const ssw_engine_job_t *job) {
  memset(q, 0, sizeof *q);
  q->n = q->cap = job->npending;
  SSW_ALLOC(q->cells, q->n);
  for (int64_t i = 0; i < q->n; i++) {
    q->cells[i].index = job->pending[i];
    q->cells[i].cost = job->cost ? job->cost[job->pending[i]] : 1.0;
    q->cost_total += q->cells[i].cost;
  }
  ssw_handout_order(q->cells, q->n);
  q->prior_s_per_cost = job->cost && job->cost_measured ? 1.0 : NAN;
  return SSW_OK;
}

/* An adaptive sweep's newly needed cells join the pending ones, in hand-out order; the
 * served positions stay where they are (the progress line's hands point at them). */
static int queue_add(queue_t *q, const ssw_engine_job_t *job, const ssw_cell_list_t *more) {
  if (more->n == 0) return SSW_OK;
  if (q->n + more->n > q->cap) {
    int64_t cap = 2 * (q->n + more->n);
    ssw_queued_t *grown = realloc(q->cells, (size_t)cap * sizeof *grown);
    SSW_REQUIRE(grown, SSW_ERR_NOMEM, "out of memory queueing %lld more cells", (long long)more->n);
    q->cells = grown;
    q->cap = cap;
  }
  for (int64_t i = 0; i < more->n; i++) {
    double cost = job->cost ? job->cost[more->cells[i]] : 1.0;
    q->cells[q->n++] = (ssw_queued_t){cost, more->cells[i]};
    q->cost_total += cost;
  }
  ssw_handout_order(q->cells + q->next, q->n - q->next);
  return SSW_OK;
}

/* Cells for the next message: as many as make about target_s seconds at the measured speed
 * (before any cell finished: the timed costs, else one cell), at most batch_max, and never more
 * than a 1/(2w) share of what is left, so that the last cells spread over the workers. */
static int64_t queue_batch(const queue_t *q, const ssw_engine_opts_t *opts, int workers) {
  int64_t left = q->n - q->next;
  int bmax = opts->batch_max > 0 ? opts->batch_max : DEFAULT_BATCH_MAX;
  if (bmax > SSW_ENGINE_BATCH_MAX) bmax = SSW_ENGINE_BATCH_MAX;
  double target = opts->batch_target_s > 0 ? opts->batch_target_s : DEFAULT_BATCH_TARGET_S;
  int64_t share = left / (2 * (int64_t)workers);
  if (share < 1) share = 1;
  double s_per_cost = q->cost_done > 0 ? q->wall_done / q->cost_done : q->prior_s_per_cost;
  if (!(s_per_cost >= 0)) return left < 1 ? left : 1;
  int64_t b = 0;
  double est = 0;
  while (b < left && b < bmax && b < share && (b == 0 || est < target)) {
    est += q->cells[q->next + b].cost * s_per_cost;
    b++;
  }
  return b;
}

/* ---- progress (progress.c) ---- */

static void progress_maybe(ssw_progress_t *pg, const ssw_engine_opts_t *opts, const queue_t *q,
                           const ssw_engine_stats_t *st) {
  if (!opts->progress) return;
  double now = ssw_clock_monotonic(), every = opts->progress_s > 0 ? opts->progress_s : 1.0;
  if (now - pg->last < every) return;
  pg->last = now;
  ssw_progress_line(opts->progress, pg, q->cells, q->next, q->n, st, "running");
}

/* A cell finished: counted, timed, and (adaptive sweeps) what it decides queued. */
static int count_finished(ssw_engine_stats_t *st, queue_t *q, ssw_progress_t *pg, const ssw_engine_job_t *job,
                          int64_t index, int status, int diagnosis, double wall_s, double fraction) {
  if (!ssw_status_is_done(status)) status = SSW_STATUS_FAILED;
  q->in_hand--;
  st->done[status]++;
  if (diagnosis > SSW_DIAG_NONE && diagnosis < SSW_DIAG_COUNT) st->diagnosed[diagnosis]++;
  st->finished++;
  q->cost_done += job->cost ? job->cost[index] : 1.0;
  q->wall_done += wall_s > 0 ? wall_s : 0;
  ssw_progress_finished(pg, job->cost ? job->cost[index] : 1.0, fraction, wall_s);
  if (!job->more) return SSW_OK;
  ssw_cell_list_t more = {0};
  int rc = job->more(job->more_ctx, index, status, &more);
  if (rc == SSW_OK) rc = queue_add(q, job, &more);
  pg->total += more.n;
  ssw_cell_list_fini(&more);
  return rc;
}

/* ---- the job's end (deadline.h) ---- */

/* How many of the next n queued cells may start now: those whose summed estimate (seconds
 * per cost measured so far, or the timed costs before any cell finished) fits before the
 * deadline. 0 ends the hand-out; say so once. */
static int64_t deadline_fit(queue_t *q, const ssw_engine_opts_t *opts, int64_t n) {
  if (!ssw_deadline_active(opts->deadline) || n <= 0) return n;
  double now = ssw_clock_wall(), est = 0;
  int64_t fit = 0;
  while (fit < n) {
    est += ssw_deadline_estimate(q->cells[q->next + fit].cost, q->cost_done, q->wall_done, q->prior_s_per_cost);
    if (!ssw_deadline_allows(opts->deadline, now, est)) break;
    fit++;
  }
  if (fit == 0 && !q->deadline_hit && opts->progress) {
    fprintf(opts->progress,
            "shallowsweep: deadline (%s) in %.0f s, %.0f s margin: the next cell needs about %.0f s; "
            "no more cells start (resume to finish)\n",
            opts->deadline->source, opts->deadline->end - now, opts->deadline->margin_s, est);
    fflush(opts->progress);
  }
  if (fit == 0) q->deadline_hit = true;
  return fit;
}

/* ---- rank 0 with workers ---- */

/* Send worker `source` its next cells (none: it retires). */
static int reply(MPI_Comm comm, const ssw_engine_opts_t *opts, queue_t *q, ssw_progress_t *pg, bool stopping,
                 int source, ssw_engine_stats_t *st, bool *retired) {
  int64_t work[WORK_MAX];
  work[0] = stopping ? 0 : deadline_fit(q, opts, queue_batch(q, opts, pg->workers));
  for (int64_t i = 0; i < work[0]; i++) work[1 + i] = q->cells[q->next + i].index;
  ssw_progress_handed(pg, source, q->next, work[0], ssw_clock_monotonic());
  q->next += work[0];
  q->in_hand += work[0];
  MPI_CHECK(MPI_Send(work, (int)(1 + work[0]), MPI_INT64_T, source, TAG_WORK, comm));
  st->messages++;
  *retired = work[0] == 0;
  return SSW_OK;
}

/* Whether a worker asking now should wait rather than retire: nothing is queued, but cells
 * in hand may still make an adaptive sweep need more. */
static bool must_wait(const ssw_engine_job_t *job, const queue_t *q, bool stopping) {
  return job->more && !stopping && !q->deadline_hit && q->next >= q->n && q->in_hand > 0;
}

/* Workers waiting for an adaptive sweep's next cells (ranks, since when). */
typedef struct {
  int *rank;      /* (n) */
  double *since;  /* (n) */
  int n;
} waiting_t;

/* Serve the waiting workers once there is something to say: cells, or the end. */
static int serve_waiting(MPI_Comm comm, const ssw_engine_job_t *job, const ssw_engine_opts_t *opts, queue_t *q,
                         ssw_progress_t *pg, bool stopping, waiting_t *w, ssw_engine_stats_t *st, int *active) {
  int kept = 0;
  for (int i = 0; i < w->n; i++) {
    if (must_wait(job, q, stopping)) {
      w->rank[kept] = w->rank[i];
      w->since[kept++] = w->since[i];
      continue;
    }
    st->waited_s += ssw_clock_monotonic() - w->since[i];
    bool retired = false;
    SSW_TRY(reply(comm, opts, q, pg, stopping || q->next >= q->n, w->rank[i], st, &retired));
    if (retired) (*active)--;
  }
  w->n = kept;
  return SSW_OK;
}

/* Take every step report that has arrived (TAG_PROGRESS, protocol.h). */
static int take_progress(MPI_Comm comm, ssw_progress_t *pg) {
  for (;;) {
    int flag = 0;
    MPI_Status status;
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, TAG_PROGRESS, comm, &flag, &status));
    if (!flag) return SSW_OK;
    int64_t msg[PROGRESS_FIELDS];
    MPI_CHECK(MPI_Recv(msg, PROGRESS_FIELDS, MPI_INT64_T, status.MPI_SOURCE, TAG_PROGRESS, comm, MPI_STATUS_IGNORE));
    ssw_progress_step(pg, status.MPI_SOURCE, msg[0], 1e-9 * (double)msg[1], 1e-9 * (double)msg[2], ssw_clock_monotonic());
  }
}

static int master(MPI_Comm comm, int size, const ssw_engine_job_t *job, const ssw_engine_opts_t *opts,
                  queue_t *q, ssw_progress_t *pg, ssw_engine_stats_t *st) {
  int active = size - 1, round = 0;
  bool stopping = false;
  int64_t report[REPORT_MAX];
  waiting_t w = {0};
  SSW_ALLOC(w.rank, size);
  SSW_ALLOC(w.since, size);
  int rc = SSW_OK;
  while (active > 0 && rc == SSW_OK) {
    if (ssw_stop_signal && !stopping) {
      stopping = true;
      if (opts->progress)
        fprintf(opts->progress, "shallowsweep: signal %d: stopping; workers %s\n", (int)ssw_stop_signal,
                job->checkpoints ? "keep the cells in hand as checkpoints" : "abandon their cells");
      rc = serve_waiting(comm, job, opts, q, pg, stopping, &w, st, &active);
      continue;
    }
    SSW_TRY(take_progress(comm, pg));
    progress_maybe(pg, opts, q, st);
    int flag = 0;
    MPI_Status status;
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, comm, &flag, &status));
    if (!flag) {
      ssw_engine_idle(round++);
      continue;
    }
    round = 0;
    MPI_CHECK(MPI_Recv(report, REPORT_MAX, MPI_INT64_T, status.MPI_SOURCE, TAG_REPORT, comm, MPI_STATUS_IGNORE));
    if (report[1]) stopping = true; /* a worker was signalled: stop everyone */
    for (int64_t i = 0; i < report[0] && rc == SSW_OK; i++) {
      const int64_t *slot = report + REPORT_HEADER + REPORT_FIELDS * i;
      rc = count_finished(st, q, pg, job, slot[0], (int)slot[1], (int)slot[3], 1e-9 * (double)slot[2],
                          1e-9 * (double)slot[4]);
    }
    w.rank[w.n] = status.MPI_SOURCE;
    w.since[w.n++] = ssw_clock_monotonic();
    if (rc == SSW_OK) rc = serve_waiting(comm, job, opts, q, pg, stopping, &w, st, &active);
  }
  free(w.rank);
  free(w.since);
  SSW_TRY(rc);
  return take_progress(comm, pg); /* sent before each worker's last report: none left behind */
}

/* ---- rank 0 alone ---- */

static int solo(const ssw_engine_job_t *job, const ssw_engine_opts_t *opts, queue_t *q, ssw_progress_t *pg,
                ssw_engine_stats_t *st) {
  ssw_result_t r;
  SSW_TRY(ssw_result_init(&r, job->k));
  double t_start = ssw_clock_monotonic();
  int rc = SSW_OK;
  while (q->next < q->n && !ssw_stop_signal && deadline_fit(q, opts, 1) == 1) {
    int64_t index = q->cells[q->next].index;
    rc = ssw_engine_do_cell(job, index, &r, 0, st);
    if (rc == SSW_ERR_STOPPED) {
      rc = SSW_OK;
      break;
    }
    if (rc != SSW_OK) break;
    q->next++; /* before what the cell decides joins the queue behind it */
    q->in_hand++;
    rc = count_finished(st, q, pg, job, index, r.status, r.diagnosis, r.wall_s, ssw_result_budget_used(&r));
    if (rc != SSW_OK) break;
    progress_maybe(pg, opts, q, st);
  }
  st->busy_s += ssw_clock_monotonic() - t_start;
  ssw_result_fini(&r);
  return rc == SSW_OK ? SSW_OK : ssw_error_frame(rc, __FILE__, __LINE__, __func__);
}

/* ---- the run ---- */

static double cpu_seconds(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return NAN;
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Sum the timings and the stop flag over all ranks without spinning. */
static int finish(MPI_Comm comm, bool trained, ssw_engine_stats_t *st) {
  double mine[7] = {ssw_stop_signal || st->stopped ? 1.0 : 0.0, st->train_s, st->write_s, st->busy_s, trained ? 1.0 : 0.0,
                    (double)st->kept, (double)st->continued};
  double sum[7];
  MPI_Request req;
  MPI_CHECK(MPI_Iallreduce(mine, sum, 7, MPI_DOUBLE, MPI_SUM, comm, &req));
  SSW_TRY(ssw_engine_wait(&req, MPI_STATUS_IGNORE));
  st->stopped = sum[0] > 0;
  st->train_s = sum[1];
  st->write_s = sum[2];
  st->busy_s = sum[3];
  st->trainers = (int)sum[4];
  st->kept = (int64_t)sum[5];
  st->continued = (int64_t)sum[6];
  return SSW_OK;
}

int ssw_engine_run(MPI_Comm comm, const ssw_engine_job_t *job, const ssw_engine_opts_t *opts,
                   ssw_engine_stats_t *stats) {
  int rank, size;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  MPI_CHECK(MPI_Comm_size(comm, &size));
  memset(stats, 0, sizeof *stats);
  SSW_REQUIRE(job->cell && job->k >= 1, SSW_ERR_INTERNAL, "engine job without a cell function or record points");
  double t0 = ssw_clock_monotonic(), cpu0 = cpu_seconds();
  int rc = SSW_OK;
  if (rank != 0) {
    rc = ssw_engine_worker(comm, job, stats);
  } else {
    queue_t q;
    SSW_TRY(queue_build(&q, job));
    ssw_progress_t pg;
    rc = ssw_progress_init(&pg, job, size == 1 ? 1 : size - 1, t0);
    if (rc == SSW_OK) rc = size == 1 ? solo(job, opts, &q, &pg, stats) : master(comm, size, job, opts, &q, &pg, stats);
    if (rc == SSW_OK && opts->progress)
      ssw_progress_line(opts->progress, &pg, q.cells, q.next, q.n, stats,
                        ssw_stop_signal || q.deadline_hit ? "stopped:" : "finished:");
    ssw_progress_fini(&pg);
    stats->stopped = q.deadline_hit && q.next < q.n; /* cells left for lack of time: exit 75 */
    free(q.cells);
  }
  /* a failed rank returns at once; the caller aborts the job (a collective would hang) */
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  SSW_TRY(finish(comm, rank != 0 || size == 1, stats));
  stats->elapsed_s = ssw_clock_monotonic() - t0;
  stats->master_cpu_s = rank == 0 ? cpu_seconds() - cpu0 : 0;
  return SSW_OK;
}
