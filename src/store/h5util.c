/* Small HDF5 helpers for every file the store writes (the sweep file and a cell's dump):
 * attributes, property lists, string types. Every string attribute is variable-length
 * UTF-8, so that readers (h5py, xarray, status) meet one kind.
 */
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/check.h"
#include "store_impl.h"

static int vlen_string_type(hid_t *type) {
  H5_HID(*type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(*type, H5T_VARIABLE));
  H5_CHECK(H5Tset_cset(*type, H5T_CSET_UTF8));
  return SSW_OK;
}

/* An attribute of type and space holding data; the handles are closed whatever happens. */
static int attr_write(hid_t obj, const char *name, hid_t type, hid_t space, const void *data) {
  hid_t attr;
  H5_HID(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  int rc = H5Awrite(attr, type, data) < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Awrite") : SSW_OK;
  H5_CLOSE_KEEP(rc, H5Aclose, attr);
  return rc;
}

int ssw_h5_attr_write_strings(hid_t obj, const char *name, const char *const *texts, int count) {
  hid_t type, space;
  hsize_t n = (hsize_t)count;
  SSW_TRY(vlen_string_type(&type));
  H5_HID(space, count < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL));
  int rc = attr_write(obj, name, type, space, texts);
  H5_CLOSE_KEEP(rc, H5Sclose, space);
  H5_CLOSE_KEEP(rc, H5Tclose, type);
  return rc;
}

int ssw_h5_attr_write_string(hid_t obj, const char *name, const char *text) {
  return ssw_h5_attr_write_strings(obj, name, &text, -1);
}

static int attr_write_scalar(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value) {
  hid_t space;
  H5_HID(space, H5Screate(H5S_SCALAR));
  hid_t attr;
  int rc = SSW_OK;
  attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr < 0) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Acreate2");
  else if (H5Awrite(attr, mem_type, value) < 0) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Awrite");
  H5_CLOSE_KEEP(rc, H5Aclose, attr);
  H5_CLOSE_KEEP(rc, H5Sclose, space);
  return rc;
}

int ssw_h5_attr_write_int64(hid_t obj, const char *name, int64_t value) {
  return attr_write_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

int ssw_h5_attr_write_double(hid_t obj, const char *name, double value) {
  return attr_write_scalar(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int ssw_h5_attr_write_int8s(hid_t obj, const char *name, const int8_t *values, int count) {
  hid_t space;
  hsize_t n = (hsize_t)count;
  H5_HID(space, H5Screate_simple(1, &n, NULL));
  hid_t attr = H5Acreate2(obj, name, H5T_STD_I8LE, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = attr < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Acreate2") : SSW_OK;
  if (rc == SSW_OK && H5Awrite(attr, H5T_NATIVE_INT8, values) < 0)
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Awrite");
  H5_CLOSE_KEEP(rc, H5Aclose, attr);
  H5_CLOSE_KEEP(rc, H5Sclose, space);
  return rc;
}

/* Read a 1-D (or scalar) variable-length string attribute into out (at most max texts, each
 * malloc'ed); *count how many. */
int ssw_h5_attr_read_strings(hid_t obj, const char *name, char **out, int max, int *count) {
  hid_t attr, space, type;
  *count = 0;
  H5_HID(attr, H5Aopen(obj, name, H5P_DEFAULT));
  H5_HID(space, H5Aget_space(attr));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  H5_CHECK(n);
  SSW_REQUIRE(n >= 1 && n <= max, SSW_ERR_IO, "attribute '%s' holds %lld texts, expected 1 to %d", name,
              (long long)n, max);
  SSW_TRY(vlen_string_type(&type));
  char **texts;
  SSW_ALLOC(texts, n);
  int rc = H5Aread(attr, type, texts) < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Aread") : SSW_OK;
  for (hssize_t i = 0; rc == SSW_OK && i < n; i++) {
    out[i] = strdup(texts[i] ? texts[i] : "");
    if (!out[i]) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading attribute %s", name);
    else *count = (int)i + 1;
  }
  if (rc == SSW_OK && H5Dvlen_reclaim(type, space, H5P_DEFAULT, texts) < 0)
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dvlen_reclaim");
  free(texts);
  H5_CLOSE_KEEP(rc, H5Tclose, type);
  H5_CLOSE_KEEP(rc, H5Sclose, space);
  H5_CLOSE_KEEP(rc, H5Aclose, attr);
  return rc;
}

int ssw_h5_attr_read_string(hid_t obj, const char *name, char **out) {
  int count;
  *out = NULL;
  SSW_TRY(ssw_h5_attr_read_strings(obj, name, out, 1, &count));
  return SSW_OK;
}

int ssw_h5_make_dcpl(hid_t *dcpl, hid_t mem_type, const void *fill) {
  H5_HID(*dcpl, H5Pcreate(H5P_DATASET_CREATE));
  H5_CHECK(H5Pset_alloc_time(*dcpl, H5D_ALLOC_TIME_EARLY));
  if (fill) {
    H5_CHECK(H5Pset_fill_time(*dcpl, H5D_FILL_TIME_ALLOC));
    H5_CHECK(H5Pset_fill_value(*dcpl, mem_type, fill));
  }
  H5_CHECK(H5Pset_obj_track_times(*dcpl, 0));
  return SSW_OK;
}

int ssw_h5_make_string_type(hid_t *type, size_t size) {
  H5_HID(*type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(*type, size));
  H5_CHECK(H5Tset_strpad(*type, H5T_STR_NULLPAD));
  H5_CHECK(H5Tset_cset(*type, H5T_CSET_UTF8));
  return SSW_OK;
}

int ssw_h5_make_fapl(hid_t *fapl, MPI_Comm comm, bool parallel) {
  H5_HID(*fapl, H5Pcreate(H5P_FILE_ACCESS));
  if (parallel) H5_CHECK(H5Pset_fapl_mpio(*fapl, comm, MPI_INFO_NULL));
  /* HDF5's own flock is off: the job's lock is FILE.lock, and readers of a live file must not
   * be refused (the metadata is frozen, so reading while a job writes is safe). */
  H5_CHECK(H5Pset_file_locking(*fapl, 0, 1));
  return SSW_OK;
}
