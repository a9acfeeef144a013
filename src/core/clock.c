/* The clocks of include/shallowsweep/clock.h. */
#include "shallowsweep/clock.h"

#include <time.h>

static double seconds_of(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts); /* cannot fail for these two clocks (POSIX) */
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ssw_clock_monotonic(void) { return seconds_of(CLOCK_MONOTONIC); }
double ssw_clock_wall(void) { return seconds_of(CLOCK_REALTIME); }
