/* Rank 0's progress line and ETA (progress.h, DESIGN.md §14). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "shallowsweep/check.h"
#include "shallowsweep/clock.h"
#include "shallowsweep/estimate.h"
#include "shallowsweep/text.h"

int ssw_progress_init(ssw_progress_t *pg, const ssw_engine_job_t *job, int workers, double t0) {
  memset(pg, 0, sizeof *pg);
  pg->t0 = pg->last = t0;
  pg->total = job->ncells;
  pg->adaptive = job->more != NULL;
  if (job->more) { /* an adaptive sweep: the cells needed so far (the engine adds the rest) */
    pg->total = job->npending;
    for (int s = SSW_STATUS_CONVERGED; s <= SSW_STATUS_FAILED; s++) pg->total += job->done_before[s];
  }
  memcpy(pg->before, job->done_before, sizeof pg->before);
  memcpy(pg->diagnosed_before, job->diagnosed_before, sizeof pg->diagnosed_before);
  pg->workers = workers < 1 ? 1 : workers;
  pg->cost_measured = job->cost && job->cost_measured;
  SSW_ALLOC(pg->hands, pg->workers + 1);
  for (int w = 0; w <= pg->workers; w++) pg->hands[w].cell = -1;
  return SSW_OK;
}

void ssw_progress_fini(ssw_progress_t *pg) {
  free(pg->hands);
  pg->hands = NULL;
}

void ssw_progress_finished(ssw_progress_t *pg, double cost, double fraction, double wall_s) {
  fraction = fraction > 0 ? (fraction < 1 ? fraction : 1) : 0;
  int b = (int)(fraction * SSW_FRACTION_BINS);
  if (b >= SSW_FRACTION_BINS) b = SSW_FRACTION_BINS - 1;
  pg->bin_count[b] += 1;
  pg->bin_sum[b] += fraction;
  pg->cost_done += cost;
  pg->used_done += cost * fraction;
  pg->wall_done += wall_s > 0 ? wall_s : 0;
}

void ssw_progress_handed(ssw_progress_t *pg, int rank, int64_t first, int64_t count, double now) {
  if (rank < 0 || rank > pg->workers) return;
  pg->hands[rank] = (ssw_hand_t){.first = first, .count = count, .sent = now, .cell = -1};
}

void ssw_progress_step(ssw_progress_t *pg, int rank, int64_t cell, double fraction, double elapsed, double now) {
  if (rank < 0 || rank > pg->workers) return;
  ssw_hand_t *h = &pg->hands[rank];
  h->cell = cell;
  h->fraction = fraction;
  h->cell_elapsed = elapsed;
  h->reported = now;
}

/* ---- the model ---- */

/* A cell's own reported rate predicts its rest once it is this far through its budget. */
static const double OWN_RATE_FRACTION = 0.05;

typedef struct {
  double s_per_cost;  /* seconds per unit of cost actually run */
  double mean_used;   /* cost-weighted share of the budget finished cells used */
  const char *basis;  /* "cells", "progress", "timed" (before the run), "prior" */
  int64_t from;       /* cells it rests on */
} speed_t;

/* Speed from the finished cells; else from the progress of cells in hand; else the prior. */
static speed_t speed(const ssw_progress_t *pg, const ssw_queued_t *queue, int64_t finished) {
  if (pg->used_done > 0 && pg->wall_done > 0)
    return (speed_t){pg->wall_done / pg->used_done, pg->used_done / pg->cost_done, "cells", finished};
  double secs = 0, cost = 0;
  int64_t from = 0;
  for (int w = 1; w <= pg->workers; w++) {
    const ssw_hand_t *h = &pg->hands[w];
    if (h->cell < 0 || !(h->fraction >= OWN_RATE_FRACTION) || !(h->cell_elapsed > 0)) continue;
    for (int64_t i = h->first; i < h->first + h->count; i++)
      if (queue[i].index == h->cell) {
        secs += h->cell_elapsed;
        cost += queue[i].cost * h->fraction;
        from++;
      }
  }
  if (from > 0 && cost > 0) return (speed_t){secs / cost, 1.0, "progress", from};
  return (speed_t){1.0, 1.0, pg->cost_measured ? "timed" : "prior", 0}; /* costs are seconds */
}

/* The share of its budget a cell that has run past p is expected to use: the mean over
 * finished cells that used more than p, or all of it when none did. */
static double used_beyond(const ssw_progress_t *pg, double p) {
  double count = 0, sum = 0;
  for (int b = (int)(p * SSW_FRACTION_BINS); b < SSW_FRACTION_BINS; b++) {
    if (b < 0 || pg->bin_count[b] == 0 || pg->bin_sum[b] / pg->bin_count[b] <= p) continue;
    count += pg->bin_count[b];
    sum += pg->bin_sum[b];
  }
  return count > 0 ? fmax(sum / count, p) : 1.0;
}

/* Seconds until worker h is free. */
static double in_hand(const ssw_progress_t *pg, const ssw_hand_t *h, const ssw_queued_t *queue, const speed_t *sp,
                      double now) {
  double left = 0, cum = 0, e = now - h->sent;
  bool current_found = false;
  for (int64_t i = h->first; i < h->first + h->count; i++) {
    double budget = queue[i].cost * sp->s_per_cost, expect = budget * sp->mean_used;
    if (current_found) {
      left += expect;
      continue;
    }
    if (h->cell >= 0 && queue[i].index != h->cell) {
      bool reported_later = false; /* a cell before the reported one is done */
      for (int64_t j = i + 1; j < h->first + h->count; j++) reported_later |= queue[j].index == h->cell;
      if (reported_later) continue;
    }
    double p;
    if (h->cell == queue[i].index) { /* its own rate, elapsed / fraction per budget, once it has
                                          run long enough that its setup (data, the initial edge
                                          ratio) no longer dominates the elapsed time */
      p = fmin(h->fraction, 0.999);
      if (p >= OWN_RATE_FRACTION && h->cell_elapsed > 0) budget = h->cell_elapsed / p;
      left += fmax(budget * (used_beyond(pg, p) - p) - (now - h->reported), 0);
      current_found = true;
      continue;
    }
    bool last = i + 1 == h->first + h->count;
    if (e >= cum + expect && !last) { /* expected to be done by now */
      cum += expect;
      continue;
    }
    p = budget > 0 ? fmin((e - cum) / budget, 0.999) : 0.999;
    left += budget * (used_beyond(pg, fmax(p, 0)) - fmax(p, 0));
    current_found = true;
  }
  return left;
}

double ssw_progress_eta(const ssw_progress_t *pg, const ssw_queued_t *queue, int64_t next, int64_t n, double now) {
  int64_t finished = 0;
  for (int b = 0; b < SSW_FRACTION_BINS; b++) finished += (int64_t)pg->bin_count[b];
  speed_t sp = speed(pg, queue, finished);
  double *free_at = calloc((size_t)pg->workers, sizeof *free_at); /* (workers) */
  double *secs = malloc((size_t)(n > next ? n - next : 1) * sizeof *secs); /* (n - next) */
  double eta = NAN;
  if (free_at && secs) {
    for (int w = 1; w <= pg->workers; w++)
      if (pg->hands[w].count > 0) free_at[w - 1] = in_hand(pg, &pg->hands[w], queue, &sp, now);
    for (int64_t j = next; j < n; j++) secs[j - next] = queue[j].cost * sp.s_per_cost * sp.mean_used;
    eta = ssw_makespan(secs, n - next, free_at, pg->workers);
  }
  free(free_at);
  free(secs);
  return eta;
}

/* ---- the line ---- */

void ssw_progress_line(FILE *f, const ssw_progress_t *pg, const ssw_queued_t *queue, int64_t next, int64_t n,
                       const ssw_engine_stats_t *st, const char *what) {
  double now = ssw_clock_monotonic(), el = now - pg->t0;
  int64_t done = 0, c[SSW_STATUS_COUNT] = {0};
  for (int s = SSW_STATUS_CONVERGED; s <= SSW_STATUS_FAILED; s++) {
    c[s] = pg->before[s] + st->done[s];
    done += c[s];
  }
  c[SSW_STATUS_PENDING] = pg->total - done;
  char elapsed[32], eta[32], basis[64];
  ssw_text_hms(el, elapsed, sizeof elapsed);
  bool running = strcmp(what, "running") == 0;
  basis[0] = '\0';
  if (running) {
    speed_t sp = speed(pg, queue, st->finished);
    ssw_text_hms(ssw_progress_eta(pg, queue, next, n, now), eta, sizeof eta);
    if (strcmp(sp.basis, "cells") == 0)
      snprintf(basis, sizeof basis, " (from %lld cell%s)", (long long)sp.from, sp.from == 1 ? "" : "s");
    else if (strcmp(sp.basis, "progress") == 0)
      snprintf(basis, sizeof basis, " (from the progress of %lld cell%s in hand)", (long long)sp.from,
               sp.from == 1 ? "" : "s");
    else if (strcmp(sp.basis, "timed") == 0)
      snprintf(basis, sizeof basis, " (cells timed before the run; none finished yet)");
    else
      snprintf(basis, sizeof basis, " (cost model; no cell measured yet)");
  }
  fprintf(f, "shallowsweep: %s %lld/%lld%s done (%.1f%%), %s elapsed, %.3g cells/s", what, (long long)done,
          (long long)pg->total, pg->adaptive ? " needed so far" : "",
          pg->total ? 100.0 * (double)done / (double)pg->total : 100.0, elapsed,
          el > 0 ? (double)st->finished / el : 0.0);
  if (running) fprintf(f, ", ETA %s%s%s", eta, pg->adaptive ? " of the cells needed so far" : "", basis);
  fputs(" |", f);
  for (int k = SSW_STATUS_CONVERGED; k <= SSW_STATUS_FAILED + 1; k++) { /* done kinds, then pending */
    int s = k <= SSW_STATUS_FAILED ? k : SSW_STATUS_PENDING;
    fprintf(f, "%s %s %lld", k > 1 ? "," : "", ssw_status_names[s], (long long)c[s]);
    if (s == SSW_STATUS_MAX_ITERS && c[s] > 0) { /* why they did not converge */
      int64_t diag[SSW_DIAG_COUNT];
      char text[128];
      for (int d = 0; d < SSW_DIAG_COUNT; d++) diag[d] = pg->diagnosed_before[d] + st->diagnosed[d];
      ssw_diagnosis_counts_text(diag, text, sizeof text);
      fputs(text, f);
    }
  }
  fputc('\n', f);
  fflush(f);
}
