/* Stop signals: the first SIGINT, SIGTERM or SIGUSR1 asks the engine to stop cleanly (exit 75
 * after closing the file); a second one exits at once. Finished cells survive either way,
 * because the file's metadata is frozen after creation. SLURM sends SIGTERM (or the
 * --signal of the job script) to every task; mpirun forwards SIGUSR1 and SIGTERM. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "shallowsweep/engine.h"
#include "shallowsweep/error.h"

volatile sig_atomic_t ssw_stop_signal = 0;

static void on_stop_signal(int sig) {
  if (ssw_stop_signal) _exit(SSW_ERR_STOPPED); /* second signal: now */
  ssw_stop_signal = sig;
}

int ssw_signals_install(void) {
  static const int signals[] = {SIGINT, SIGTERM, SIGUSR1};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART; /* library calls in progress (MPI, HDF5, write) resume */
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (sigaction(signals[i], &sa, NULL) != 0)
      return SSW_ERROR(SSW_ERR_INTERNAL, "cannot install the handler for signal %d", signals[i]);
  return SSW_OK;
}
