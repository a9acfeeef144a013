/* The checkpoint side of one cell on a training rank (DESIGN.md §13): before training, the
 * state a stopped run kept for it; after a stop, keep the new state; once the cell is written,
 * delete what was kept. A checkpoint that cannot be read or written costs recomputation, never
 * the run: each such case is one line on job->notes and the cell goes on from step 0. */
#include <stdio.h>

#include "protocol.h"

/* "cell 17 (width=64,n=64,seed=3)", or "cell 17" without a store (benchmarks). */
static void cell_name(const ssw_engine_job_t *job, int64_t index, char *buf, size_t size) {
  char coords[SSW_CELL_TEXT_MAX] = "";
  if (job->store) ssw_grid_cell_text(ssw_store_grid(job->store), index, coords, sizeof coords);
  snprintf(buf, size, coords[0] ? "cell %lld (%s)" : "cell %lld%s", (long long)index, coords);
}

static void note(const ssw_engine_job_t *job, int64_t index, const char *fmt, const char *a, const char *b) {
  if (!job->notes) return;
  char name[SSW_CELL_TEXT_MAX + 64];
  cell_name(job, index, name, sizeof name);
  /* one write, so that the lines of ranks sharing stderr do not interleave (a pipe keeps a
     write of up to PIPE_BUF bytes whole) */
  char what[SSW_CELL_TEXT_MAX + 4400], line[2 * SSW_CELL_TEXT_MAX + 4600];
  snprintf(what, sizeof what, fmt, a, b);
  snprintf(line, sizeof line, "shallowsweep run: %s: %s\n", name, what);
  fputs(line, job->notes);
  fflush(job->notes);
}

int ssw_engine_checkpoint_load(const ssw_engine_job_t *job, int64_t index, ssw_train_state_t **state) {
  *state = NULL;
  if (!job->checkpoints || !ssw_checkpoints_listed(job->checkpoints, index)) return SSW_OK;
  char why[256], path[4200];
  SSW_TRY(ssw_checkpoint_load(job->checkpoints, index, state, why, sizeof why));
  ssw_checkpoint_path(job->checkpoints, index, path, sizeof path);
  if (!*state && why[0])
    note(job, index, "ignoring its checkpoint %s: %s; the cell starts again from step 0", path, why);
  return SSW_OK;
}

void ssw_engine_checkpoint_used(const ssw_engine_job_t *job, int64_t index, int64_t from_step, bool used,
                                ssw_engine_stats_t *stats) {
  char step[32];
  snprintf(step, sizeof step, "%lld", (long long)from_step);
  if (used) {
    stats->continued++;
    note(job, index, "continued from its checkpoint at step %s%s", step, "");
  } else {
    note(job, index, "its checkpoint at step %s does not fit the cell%s; it ran again from step 0", step, "");
  }
}

void ssw_engine_checkpoint_keep(const ssw_engine_job_t *job, int64_t index, const ssw_train_state_t *state,
                                ssw_engine_stats_t *stats) {
  if (!job->checkpoints || !state) return;
  char path[4200], step[32];
  ssw_checkpoint_path(job->checkpoints, index, path, sizeof path);
  snprintf(step, sizeof step, "%lld", (long long)state->step);
  if (ssw_checkpoint_save(job->checkpoints, index, state) != SSW_OK) {
    note(job, index, "stopped at step %s, but its checkpoint could not be kept (%s): it will run again from step 0",
         step, ssw_error_reason());
    ssw_error_clear();
    return;
  }
  stats->kept++;
  note(job, index, "stopped at step %s: kept in %s (run --resume continues it)", step, path);
}

void ssw_engine_checkpoint_done(const ssw_engine_job_t *job, int64_t index) {
  if (!job->checkpoints || !ssw_checkpoints_listed(job->checkpoints, index)) return;
  if (ssw_checkpoint_remove(job->checkpoints, index) != SSW_OK) {
    note(job, index, "written, but %s%s (it is removed with the directory when the sweep completes)",
         ssw_error_reason(), "");
    ssw_error_clear();
  }
}
