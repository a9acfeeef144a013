/* The clocks every module reads: one monotonic clock for durations (cell times, progress,
 * ETA) and the wall clock for deadlines, which are instants of the calendar. */
#ifndef SHALLOWSWEEP_CLOCK_H
#define SHALLOWSWEEP_CLOCK_H

/* Seconds of CLOCK_MONOTONIC: for durations only. Not collective. */
double ssw_clock_monotonic(void);
/* Seconds since the Epoch (CLOCK_REALTIME): for instants such as a job's end. Not collective. */
double ssw_clock_wall(void);

#endif
