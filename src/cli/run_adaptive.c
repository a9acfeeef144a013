/* `run` on an adaptive sweep (refine.h, DESIGN.md §18): the plan rebuilt from the cells the
 * file holds, the engine told of each cell that finishes, and the cells never needed marked
 * skipped once the plan is complete. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "shallowsweep/check.h"

int ssw_run_adaptive_begin(const ssw_sweep_t *sweep, const int8_t *status, ssw_refine_plan_t **plan,
                           int64_t *pending, int64_t *npending) {
  ssw_cell_list_t needed = {0};
  int rc = ssw_refine_plan_create(plan, sweep, &needed);
  int64_t ncells = ssw_sweep_grid(sweep)->ncells;
  for (int64_t c = 0; c < ncells && rc == SSW_OK; c++) /* what the file holds decides as it did */
    if (ssw_status_is_done(status[c])) rc = ssw_refine_plan_finished(*plan, c, status[c], &needed);
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
