/* One cell in a file of its own (shallowsweep cell --dump): the data and initial weights it
 * was trained from, the weights it ended with, its recorded series and scalars, and its parameters, so that the cell can
 * be re-checked in Python. Plain serial HDF5 (no MPI-IO); string attributes variable-length
 * as in the sweep file (h5util.c).
 */
#include <string.h>

#include "shallowsweep/check.h"
#include "store_impl.h"

/* A 1-D or 2-D array of type (dims[0] rows of dims[1] when rank 2). */
static int write_array(hid_t loc, const char *name, hid_t type, int rank, const int64_t *dims, const void *data) {
  hsize_t hd[2] = {(hsize_t)dims[0], rank > 1 ? (hsize_t)dims[1] : 1};
  hid_t space, ds;
  H5_HID(space, H5Screate_simple(rank, hd, NULL));
  ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = ds < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dcreate2") : SSW_OK;
  if (rc == SSW_OK && dims[0] > 0 && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dwrite");
  H5_CLOSE_KEEP(rc, H5Dclose, ds);
  H5_CLOSE_KEEP(rc, H5Sclose, space);
  return rc;
}

static int dump_data(hid_t f, const ssw_trainer_t *t) {
  const ssw_model_t *M = &t->M;
  int64_t d = t->p.dim, m = M->m;
  SSW_TRY(write_array(f, "X", H5T_NATIVE_DOUBLE, 2, (int64_t[]){t->n_loss, d}, t->X));
  SSW_TRY(write_array(f, "y", H5T_NATIVE_DOUBLE, 1, (int64_t[]){t->n_loss}, t->y));
  if (t->p.test_n > 0) {
    SSW_TRY(write_array(f, "X_test", H5T_NATIVE_DOUBLE, 2, (int64_t[]){t->p.test_n, d}, t->X_test));
    SSW_TRY(write_array(f, "y_test", H5T_NATIVE_DOUBLE, 1, (int64_t[]){t->p.test_n}, t->y_test));
  }
  SSW_TRY(write_array(f, "W0", H5T_NATIVE_DOUBLE, 2, (int64_t[]){m, d}, t->theta0 + ssw_theta_W(M)));
  SSW_TRY(write_array(f, "b0", H5T_NATIVE_DOUBLE, 1, (int64_t[]){m}, t->theta0 + ssw_theta_b(M)));
  SSW_TRY(write_array(f, "a0", H5T_NATIVE_DOUBLE, 1, (int64_t[]){m}, t->theta0 + ssw_theta_a(M)));
  /* The weights training ended with: where the neurons went (positions, condensation). */
  SSW_TRY(write_array(f, "W", H5T_NATIVE_DOUBLE, 2, (int64_t[]){m, d}, t->theta + ssw_theta_W(M)));
  SSW_TRY(write_array(f, "b", H5T_NATIVE_DOUBLE, 1, (int64_t[]){m}, t->theta + ssw_theta_b(M)));
  SSW_TRY(write_array(f, "a", H5T_NATIVE_DOUBLE, 1, (int64_t[]){m}, t->theta + ssw_theta_a(M)));
  return SSW_OK;
}

static int dump_series(hid_t f, const ssw_result_t *r) {
  SSW_TRY(write_array(f, "steps", H5T_NATIVE_INT64, 1, (int64_t[]){r->k}, r->steps));
  hid_t g;
  H5_HID(g, H5Gcreate2(f, "series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  int rc = SSW_OK;
  for (int s = 0; s < SSW_SERIES_COUNT && rc == SSW_OK; s++)
    rc = write_array(g, ssw_series_names[s], H5T_NATIVE_DOUBLE, 1, (int64_t[]){r->k}, r->series[s]);
  H5_CLOSE_KEEP(rc, H5Gclose, g);
  return rc;
}

/* The scalars as attributes of /result, from the table the sweep file uses (all but the
 * checksum and rank, which belong to a run). */
static int dump_scalars(hid_t f, const ssw_result_t *r) {
  ssw_cell_values_t v;
  ssw_sc_from_result(r, -1, &v);
  hid_t g;
  H5_HID(g, H5Gcreate2(f, "result", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  int rc = SSW_OK;
  for (int which = 0; which < SC_COUNT && rc == SSW_OK; which++) {
    const char *name = ssw_scalar_defs[which].name;
    switch (ssw_scalar_defs[which].kind) {
    case SC_F64: rc = ssw_h5_attr_write_double(g, name, v.f64[which]); break;
    case SC_I64: rc = ssw_h5_attr_write_int64(g, name, v.i64[which]); break;
    case SC_I8: rc = ssw_h5_attr_write_int64(g, name, v.i8[which]); break;
    case SC_MSG: rc = ssw_h5_attr_write_string(g, name, r->message); break;
    case SC_I32: case SC_U32: break;
    }
  }
  H5_CLOSE_KEEP(rc, H5Gclose, g);
  return rc;
}

static int dump_params(hid_t f, const char *canonical, int64_t index, const ssw_params_t *p) {
  SSW_TRY(ssw_h5_attr_write_string(f, "sweep_canonical", canonical));
  SSW_TRY(ssw_h5_attr_write_int64(f, "cell_index", index));
  hid_t g;
  H5_HID(g, H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  size_t nkeys;
  const ssw_param_key_t *keys = ssw_params_keys(&nkeys);
  int rc = SSW_OK;
  for (size_t k = 0; k < nkeys && rc == SSW_OK; k++) {
    char buf[2048];
    if (keys[k].type == SSW_KEY_INT) rc = ssw_h5_attr_write_int64(g, keys[k].name, (int64_t)ssw_params_get_number(p, &keys[k]));
    else if (keys[k].type == SSW_KEY_REAL) rc = ssw_h5_attr_write_double(g, keys[k].name, ssw_params_get_number(p, &keys[k]));
    else rc = ssw_h5_attr_write_string(g, keys[k].name, ssw_params_format(p, &keys[k], buf, sizeof buf));
  }
  H5_CLOSE_KEEP(rc, H5Gclose, g);
  return rc;
}

int ssw_store_dump_cell(const char *path, const char *sweep_canonical, int64_t index, const ssw_trainer_t *t,
                        const ssw_result_t *r) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) {
    (void)ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Fcreate");
    char cause[2048];
    snprintf(cause, sizeof cause, "%s", ssw_error_reason());
    return SSW_ERROR(SSW_ERR_IO, "cannot create %s (%s) — check the path and free space", path, cause);
  }
  int rc = dump_data(f, t);
  if (rc == SSW_OK) rc = dump_series(f, r);
  if (rc == SSW_OK) rc = dump_scalars(f, r);
  if (rc == SSW_OK) rc = dump_params(f, sweep_canonical, index, &t->p);
  H5_CLOSE_KEEP(rc, H5Fclose, f);
  return rc;
}
