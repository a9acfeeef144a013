/* `run` on an adaptive sweep (refine.h, DESIGN.md §18): the plan rebuilt from the cells the
 * file holds, the engine told of each cell that finishes, and the cells never needed marked
 * skipped once the plan is complete. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "shallowsweep/check.h"

/* Copy from the --reuse files the cells the plan needs and the file lacks, feed each copy to
 * the plan, and again, until a pass copies nothing. */
static int copy_needed(ssw_refine_plan_t *plan, ssw_reuse_t *reuse, ssw_store_t *store, int8_t *status, int64_t ncells,
                       ssw_cell_list_t *needed, ssw_reuse_stats_t *copied) {
  int8_t *want; /* (ncells) pending where the plan needs a cell not done, else anything else */
  SSW_ALLOC(want, ncells);
  int rc = SSW_OK;
  for (;;) {
    for (int64_t c = 0; c < ncells; c++)
      want[c] = status[c] == SSW_STATUS_PENDING && ssw_refine_plan_needed(plan, c) ? SSW_STATUS_PENDING
                                                                                   : SSW_STATUS_SKIPPED;
    ssw_reuse_stats_t st;
    rc = ssw_reuse_copy(reuse, store, want, stderr, "shallowsweep run: ", &st);
    if (rc != SSW_OK || st.total == 0) break;
    for (int i = 0; i < SSW_REUSE_FILES_MAX; i++) copied->copied[i] += st.copied[i];
    copied->total += st.total;
    copied->refused += st.refused;
    for (int64_t c = 0; c < ncells && rc == SSW_OK; c++)
      if (status[c] == SSW_STATUS_PENDING && ssw_status_is_done(want[c])) {
        status[c] = want[c];
        rc = ssw_refine_plan_finished(plan, c, status[c], needed);
      }
  }
  free(want);
  return rc;
}

int ssw_run_adaptive_begin(const ssw_sweep_t *sweep, int8_t *status, ssw_store_t *store, ssw_reuse_t *reuse,
                           ssw_refine_plan_t **plan, int64_t *pending, int64_t *npending, ssw_reuse_stats_t *copied) {
  ssw_cell_list_t needed = {0};
  int rc = ssw_refine_plan_create(plan, sweep, &needed);
  int64_t ncells = ssw_sweep_grid(sweep)->ncells;
  for (int64_t c = 0; c < ncells && rc == SSW_OK; c++) /* what the file holds decides as it did */
    if (ssw_status_is_done(status[c])) rc = ssw_refine_plan_finished(*plan, c, status[c], &needed);
  if (rc == SSW_OK && reuse) rc = copy_needed(*plan, reuse, store, status, ncells, &needed, copied);
  *npending = 0;
  for (int64_t i = 0; i < needed.n && rc == SSW_OK; i++)
    if (!ssw_status_is_done(status[needed.cells[i]])) pending[(*npending)++] = needed.cells[i];
  ssw_cell_list_fini(&needed);
  return rc;
}

int ssw_run_adaptive_more(void *ctx, int64_t cell, int status, ssw_cell_list_t *more) {
  return ssw_refine_plan_finished(ctx, cell, status, more);
}

int ssw_run_adaptive_finish(ssw_store_t *store, const ssw_refine_plan_t *plan, int64_t *skipped) {
  *skipped = 0;
  if (!ssw_refine_plan_complete(plan)) return SSW_OK; /* stopped: resume decides the rest */
  int64_t n = ssw_store_ncells(store);
  int8_t *status;
  SSW_ALLOC(status, n);
  int rc = ssw_store_read_status(store, status);
  for (int64_t c = 0; c < n && rc == SSW_OK; c++)
    if (!ssw_refine_plan_needed(plan, c) && !ssw_status_is_done(status[c])) {
      status[c] = SSW_STATUS_SKIPPED;
      (*skipped)++;
    }
  if (rc == SSW_OK) rc = ssw_store_write_statuses(store, status);
  free(status);
  return rc;
}
