/* The check layer for every HDF5 and MPI call, in every module that makes one (store,
 * engine, cli): built on the error trace of shallowsweep/error.h, implemented in
 * src/store/check.c (the store is the layer that links both libraries).
 *
 * Both libraries are set to return errors instead of aborting or printing
 * (ssw_check_setup: H5Eset_auto2(H5E_DEFAULT, NULL, NULL) and MPI_ERRORS_RETURN), so a
 * failing call comes back here: the macro records file, line, the call as written and the
 * library's own text in the error trace and returns from the enclosing function.
 */
#ifndef SHALLOWSWEEP_CHECK_H
#define SHALLOWSWEEP_CHECK_H

#include <hdf5.h>
#include <mpi.h>

#include "shallowsweep/error.h"

/* Make MPI on comm and HDF5 return errors instead of aborting or printing, so that every
 * call can be checked (MPI_ERRORS_RETURN, H5Eset_auto2 off). Call once after MPI_Init (comm
 * MPI_COMM_NULL: HDF5 only, for commands without MPI). Not collective. */
SSW_NODISCARD int ssw_check_setup(MPI_Comm comm);
/* HDF5 only, for commands that never start MPI (status, cell --dump). Not collective. */
SSW_NODISCARD int ssw_check_setup_hdf5(void);

/* Record a failed HDF5 call with HDF5's error stack (innermost descriptions). */
int ssw_h5_fail(const char *file, int line, const char *func, const char *call);
/* Record a failed MPI call with MPI_Error_string's text. */
int ssw_mpi_fail(int rc, const char *file, int line, const char *func, const char *call);

#define H5_CHECK(call)                                                            \
  do {                                                                            \
    if ((call) < 0) return ssw_h5_fail(__FILE__, __LINE__, __func__, #call);      \
  } while (0)

/* For calls returning an hid_t: assign and check. */
#define H5_HID(var, call)                                                         \
  do {                                                                            \
    (var) = (call);                                                               \
    if ((var) < 0) return ssw_h5_fail(__FILE__, __LINE__, __func__, #call);       \
  } while (0)

#define MPI_CHECK(call)                                                           \
  do {                                                                            \
    int ssw_mpi_rc_ = (call);                                                     \
    if (ssw_mpi_rc_ != MPI_SUCCESS)                                               \
      return ssw_mpi_fail(ssw_mpi_rc_, __FILE__, __LINE__, __func__, #call);      \
  } while (0)

/* Close an HDF5 handle if open (>= 0) on a cleanup path that must go on: mark it closed and
 * keep the first failure in rc (an int the caller returns). */
#define H5_CLOSE_KEEP(rc, fn, id)                                                 \
  do {                                                                            \
    if ((id) >= 0) {                                                              \
      if (fn(id) < 0 && (rc) == SSW_OK) (rc) = ssw_h5_fail(__FILE__, __LINE__, __func__, #fn "(" #id ")"); \
      (id) = -1;                                                                  \
    }                                                                             \
  } while (0)

/* Close an HDF5 handle if open (>= 0), checking, and mark it closed. */
#define H5_CLOSE(fn, id)                                                          \
  do {                                                                            \
    if ((id) >= 0) {                                                              \
      herr_t ssw_close_rc_ = fn(id);                                              \
      (id) = -1;                                                                  \
      if (ssw_close_rc_ < 0) return ssw_h5_fail(__FILE__, __LINE__, __func__, #fn "(" #id ")"); \
    }                                                                             \
  } while (0)

#endif
