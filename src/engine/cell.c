/* The default cell function: a cell of the sweep, trained by the core. Kept apart from the
 * engine's loops so that benchmarks can run the engine without the sweep parser. */
#include <stdio.h>

#include "shallowsweep/engine.h"
#include "shallowsweep/error.h"
#include "shallowsweep/train_state.h"

int ssw_engine_train_cell(void *ctx, int64_t index, ssw_result_t *r, const volatile sig_atomic_t *stop,
                          ssw_train_state_t **state) {
  const ssw_sweep_t *sweep = ctx;
  ssw_params_t p;
  int rc = ssw_sweep_cell_params(sweep, index, &p);
  if (rc == SSW_OK) rc = ssw_cell_train_resume(&p, r, stop, state);
  if (rc == SSW_ERR_INPUT && state && *state) { /* the kept state does not fit the cell: from step 0 */
    ssw_train_state_destroy(state);
    ssw_error_clear();
    rc = ssw_cell_train_resume(&p, r, stop, state);
  }
  if (rc == SSW_ERR_STOPPED) return rc;
  if (rc != SSW_OK) { /* the cell fails, the sweep goes on: status 4 keeps the reason */
    r->status = SSW_STATUS_FAILED;
    snprintf(r->message, sizeof r->message, "%s", ssw_error_message());
    ssw_error_clear();
  }
  return SSW_OK;
}
