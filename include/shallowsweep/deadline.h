/* Walltime-aware hand-out (issue 6): rank 0 knows when the job ends and does not start a
 * cell whose estimated time exceeds what is left; it stops handing out instead, the cells in
 * hand finish, and the run ends with exit 75 (resume to finish), so no work is thrown away
 * at a batch system's time limit.
 *
 * Where the end comes from, first match wins (ssw_deadline_resolve):
 *   1. `run --deadline TEXT`: SECONDS from now ("3600", "90.5"), a local time
 *      "YYYY-MM-DDTHH:MM[:SS]" (SLURM's format; a trailing Z means UTC), "@EPOCH" seconds, or
 *      "none" (no deadline, and no look-up in the environment);
 *   2. $SLURM_JOB_END_TIME (epoch seconds; newer SLURMs export it, 22.05 does not);
 *   3. inside a SLURM job ($SLURM_JOB_ID): `squeue -h -j $SLURM_JOB_ID -o %e`, the job's
 *      EndTime (start + time limit); "N/A", "Unknown" or an unlimited job: no deadline.
 * $SSW_DEADLINE_MARGIN (seconds) replaces the default margin.
 *
 * A cell's time is estimated from its cost (ssw_sweep_cell_cost) and the seconds per unit
 * of cost observed over the cells finished so far in this run; before anything has been
 * measured there is no estimate and cells start while any time is left.
 *
 * Times are wall-clock seconds since the Epoch (ssw_clock_wall, shallowsweep/clock.h), since the end is a
 * calendar time shared with the batch system.
 */
#ifndef SHALLOWSWEEP_DEADLINE_H
#define SHALLOWSWEEP_DEADLINE_H

#include <stdbool.h>

#include "shallowsweep/clock.h"
#include "shallowsweep/error.h"

/* Seconds before the end kept free for closing the file and exiting: SLURM sends SIGTERM at
 * the limit and SIGKILL KillWait (default 30 s, slurm.conf(5)) later, and its time-limit
 * checks run about every 30 s, so the end itself is only known to that precision. */
#define SSW_DEADLINE_MARGIN_S 30.0
/* Estimates are multiplied by this: a cell's cost predicts its time only roughly (early
 * stopping, memory effects), and being a little early costs less than being killed. */
#define SSW_DEADLINE_SAFETY 1.25

typedef struct ssw_deadline {
  double end;        /* the job's end, seconds since the Epoch; INFINITY: no deadline */
  double margin_s;   /* seconds before end kept free, >= 0 */
  double safety;     /* estimates are multiplied by this, >= 1 */
  char source[128];  /* where end came from, for messages: "--deadline 600", "squeue", ... */
} ssw_deadline_t;

/* No deadline, default margin and safety. Not collective. */
void ssw_deadline_init(ssw_deadline_t *dl);


/* Parse a --deadline value relative to now (epoch seconds) into *end (epoch seconds;
 * INFINITY for "none"). SSW_ERR_INPUT with a message naming the accepted forms if text is
 * none of them or lies in the past. Not collective. */
SSW_NODISCARD int ssw_deadline_parse(const char *text, double now, double *end);

/* Fill dl from option (the --deadline value, or NULL) and the environment as listed above.
 * A bad option is SSW_ERR_INPUT; a failed squeue or an unreadable environment value is not an
 * error (no deadline, and dl->source says why). Call on rank 0 only: it may run squeue. */
SSW_NODISCARD int ssw_deadline_resolve(ssw_deadline_t *dl, const char *option, double now);

/* Whether there is a deadline at all. */
bool ssw_deadline_active(const ssw_deadline_t *dl);

/* Seconds left for work at now: end - margin - now (may be negative; INFINITY if none). */
double ssw_deadline_left(const ssw_deadline_t *dl, double now);

/* Estimated seconds of `cost` given cost_done units finished in wall_done seconds (summed
 * per cell, so this is one rank's time for the cell). Before anything has finished, cost times
 * prior_s_per_cost (the seconds per unit of cells timed before the run); NAN when that is NAN
 * too (nothing measured at all). */
double ssw_deadline_estimate(double cost, double cost_done, double wall_done, double prior_s_per_cost);

/* May work estimated at est_s seconds (NAN: unknown) start at now? True without a deadline;
 * with one, if safety * est_s fits in the time left (unknown: if any time is left). */
bool ssw_deadline_allows(const ssw_deadline_t *dl, double now, double est_s);

#endif
