/* The trainer's progress hook (train.h): who is told how far the cell in hand is. */
#include "shallowsweep/clock.h"
#include "shallowsweep/train.h"

/* The hook, process-wide like the stop flag: one trainer runs at a time in a process. */
static ssw_train_progress_fn hook;
static void *hook_ctx;
static double hook_last; /* monotonic seconds of the last call */

void ssw_train_set_progress(ssw_train_progress_fn fn, void *ctx) {
  hook = fn;
  hook_ctx = ctx;
  hook_last = ssw_clock_monotonic();
}

void ssw_train_progress_tick(int64_t step, int64_t max_iters, double wall_before, double t0) {
  if (!hook) return;
  double now = ssw_clock_monotonic();
  if (now - hook_last < SSW_TRAIN_PROGRESS_S) return;
  hook_last = now;
  hook(hook_ctx, step, max_iters, wall_before + now - t0);
}
