/* The failure paths of the check macros in check.h. */
#include "shallowsweep/check.h"

#include <stdio.h>
#include <string.h>


enum { SSW_H5_TEXT_MAX = 768 };

typedef struct {
  char text[SSW_H5_TEXT_MAX];
  size_t len;
} h5_walk_t;

/* Collect "func(): desc" of every frame, innermost last, separated by "; ". */
static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  h5_walk_t *w = data;
  if (w->len + 8 >= sizeof w->text) return 0;
  int written = snprintf(w->text + w->len, sizeof w->text - w->len, "%s%s(): %s",
                         n ? "; " : "", e->func_name ? e->func_name : "?", e->desc ? e->desc : "");
  if (written > 0) w->len += (size_t)written;
  if (w->len >= sizeof w->text) w->len = sizeof w->text - 1;
  return 0;
}

int ssw_h5_fail(const char *file, int line, const char *func, const char *call) {
  h5_walk_t w = {.len = 0};
  w.text[0] = '\0';
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, &w) < 0) w.len = 0; /* then: "no stack" */
  (void)H5Eclear2(H5E_DEFAULT); /* a stale stack would only lengthen the next message */
  return ssw_error_set(SSW_ERR_LIB, file, line, func, "HDF5 call %s failed: %s", call,
                       w.len ? w.text : "(no HDF5 error stack)");
}

int ssw_mpi_fail(int rc, const char *file, int line, const char *func, const char *call) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", rc);
  return ssw_error_set(SSW_ERR_LIB, file, line, func, "MPI call %s failed: %s", call, text);
}

int ssw_check_setup(MPI_Comm comm) {
  MPI_CHECK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  SSW_TRY(ssw_check_setup_hdf5());
  return SSW_OK;
}

int ssw_check_setup_hdf5(void) {
  H5_CHECK(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  return SSW_OK;
}
