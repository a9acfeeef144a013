/* Opening a sweep file: its root attributes, its grid rebuilt from the axis scales (values,
 * and the labels the file was made with), and the handles cells are written through;
 * closing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shallowsweep/check.h"
#include "store_impl.h"

/* The axis names of the root attribute "axes". */
static int read_axis_names(hid_t file, ssw_grid_t *grid) {
  char *names[SSW_MAX_AXES] = {0};
  int n = 0;
  int rc = ssw_h5_attr_read_strings(file, "axes", names, SSW_MAX_AXES, &n);
  for (int i = 0; i < n; i++) {
    snprintf(grid->axes[i].name, SSW_NAME_MAX, "%s", names[i]);
    free(names[i]);
  }
  grid->naxes = rc == SSW_OK ? n : 0;
  return rc;
}

/* Numeric values of a scale; ENUM axes are strings, their values the choices' indices. */
static int read_axis_values(hid_t dset, ssw_axis_t *a) {
  hid_t type;
  H5_HID(type, H5Dget_type(dset));
  H5T_class_t cls = H5Tget_class(type);
  int rc = cls < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Tget_class") : SSW_OK;
  if (rc == SSW_OK && cls == H5T_STRING) {
    size_t width = H5Tget_size(type);
    char *text = width ? calloc((size_t)a->count, width) : NULL;
    if (!width) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Tget_size");
    else if (!text) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading axis %s", a->name);
    else if (H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0)
      rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dread");
    for (int64_t i = 0; rc == SSW_OK && i < a->count; i++) {
      a->values[i] = (double)i;
      for (int c = 0; a->key && a->key->choices && a->key->choices[c]; c++)
        if (strncmp(a->key->choices[c], text + (size_t)i * width, width) == 0 && strlen(a->key->choices[c]) <= width)
          a->values[i] = c;
    }
    free(text);
  } else if (rc == SSW_OK && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->values) < 0) {
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dread");
  }
  H5_CLOSE_KEEP(rc, H5Tclose, type);
  return rc;
}

/* The labels the file was made with (attribute "labels", ssw_axis_label at creation); files
 * written before labels were stored get them from the same function. */
static int read_axis_labels(hid_t dset, ssw_axis_t *a) {
  int count = 0;
  htri_t stored = H5Aexists(dset, "labels");
  H5_CHECK(stored);
  if (!stored) {
    for (int64_t i = 0; i < a->count; i++) {
      char buf[SSW_REAL_TEXT_MAX];
      ssw_axis_label(a->key, a->values[i], buf, sizeof buf);
      SSW_REQUIRE(a->labels[i] = strdup(buf), SSW_ERR_NOMEM, "out of memory reading axis %s", a->name);
    }
    return SSW_OK;
  }
  SSW_TRY(ssw_h5_attr_read_strings(dset, "labels", a->labels, (int)a->count, &count));
  SSW_REQUIRE(count == a->count, SSW_ERR_IO, "axis /cell/%s has %lld values but %d labels", a->name,
              (long long)a->count, count);
  return SSW_OK;
}

static int read_axis(hid_t cell, ssw_axis_t *a) {
  hid_t dset, space;
  H5_HID(dset, H5Dopen2(cell, a->name, H5P_DEFAULT));
  H5_HID(space, H5Dget_space(dset));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  H5_CHECK(n);
  H5_CLOSE(H5Sclose, space);
  SSW_REQUIRE(n >= 1, SSW_ERR_IO, "axis /cell/%s is empty", a->name);
  a->count = n;
  a->key = ssw_params_key(a->name); /* NULL for a free variable: labelled as a real */
  SSW_ALLOC(a->values, n);
  SSW_ALLOC(a->labels, n);
  int rc = read_axis_values(dset, a);
  if (rc == SSW_OK) rc = read_axis_labels(dset, a);
  H5_CLOSE_KEEP(rc, H5Dclose, dset);
  return rc;
}

static int record_points(hid_t traj, int64_t *k) {
  hid_t step, space;
  H5_HID(step, H5Dopen2(traj, "step", H5P_DEFAULT));
  H5_HID(space, H5Dget_space(step));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  H5_CHECK(n);
  *k = n;
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Dclose, step);
  SSW_REQUIRE(*k >= 1, SSW_ERR_IO, "/traj/step is empty");
  return SSW_OK;
}

static int open_series(ssw_store_t *s) {
  for (int i = 0; i < SSW_SERIES_COUNT; i++) {
    htri_t exists = H5Lexists(s->traj, ssw_series_names[i], H5P_DEFAULT);
    H5_CHECK(exists);
    if (!exists) continue;
    H5_HID(s->series[i], H5Dopen2(s->traj, ssw_series_names[i], H5P_DEFAULT));
    s->series_mask |= 1u << i;
    if (s->fs_traj < 0) H5_HID(s->fs_traj, H5Dget_space(s->series[i]));
  }
  return SSW_OK;
}

static int open_handles(ssw_store_t *s, const char *path) {
  char *format = NULL;
  htri_t has_format = H5Aexists(s->file, "format");
  SSW_REQUIRE(has_format > 0, SSW_ERR_INPUT, "%s is an HDF5 file but not a shallowsweep file (no root attribute "
              "'format') — give the file 'shallowsweep run -o' wrote", path);
  SSW_TRY(ssw_h5_attr_read_string(s->file, "format", &format));
  s->version = strcmp(format, SSW_STORE_FORMAT) == 0 ? SSW_FORMAT_V2 : strcmp(format, SSW_STORE_FORMAT_V1) == 0 ? SSW_FORMAT_V1 : 0;
  free(format);
  SSW_REQUIRE(s->version, SSW_ERR_INPUT, "%s is not a %s file (root attribute 'format' differs)", path,
              SSW_STORE_FORMAT);
  SSW_REQUIRE(s->version == SSW_FORMAT_CURRENT || s->readonly, SSW_ERR_INPUT,
              "refusing to resume %s: it was written by shallowsweep 0.1 (format %s), whose cells lack the descent "
              "diagnostics of format %s — run the sweep into a new file (this one stays readable by status and "
              "the analysis)", path, SSW_STORE_FORMAT_V1, SSW_STORE_FORMAT);
  SSW_TRY(ssw_h5_attr_read_string(s->file, "sweep_canonical", &s->canonical));
  SSW_TRY(ssw_h5_attr_read_string(s->file, "name", &s->name));
  SSW_TRY(read_axis_names(s->file, &s->grid));
  H5_HID(s->cell, H5Gopen2(s->file, "cell", H5P_DEFAULT));
  H5_HID(s->traj, H5Gopen2(s->file, "traj", H5P_DEFAULT));
  s->ncells = 1;
  for (int i = 0; i < s->grid.naxes; i++) {
    SSW_TRY(read_axis(s->cell, &s->grid.axes[i]));
    s->ncells *= s->grid.axes[i].count;
  }
  s->grid.ncells = s->ncells;
  SSW_TRY(ssw_h5_make_string_type(&s->msg_type, SSW_MESSAGE_MAX));
  for (int which = 0; which < SC_COUNT; which++) /* a scalar the format lacks stays -1 */
    if (ssw_sc_present(which, s->version))
      H5_HID(s->scalar[which], H5Dopen2(s->cell, ssw_scalar_defs[which].name, H5P_DEFAULT));
  SSW_TRY(record_points(s->traj, &s->k));
  SSW_TRY(open_series(s));
  H5_HID(s->fs_grid, H5Dget_space(s->scalar[SC_STATUS]));
  int ndims = H5Sget_simple_extent_ndims(s->fs_grid);
  H5_CHECK(ndims);
  SSW_REQUIRE(ndims == s->grid.naxes, SSW_ERR_IO, "%s: /cell/status has %d dimensions but the file names %d axes",
              path, ndims, s->grid.naxes);
  hsize_t one = 1, k = (hsize_t)s->k;
  H5_HID(s->mem_one, H5Screate_simple(1, &one, NULL));
  H5_HID(s->mem_k, H5Screate_simple(1, &k, NULL));
  return SSW_OK;
}

static int store_alloc(ssw_store_t **store) {
  ssw_store_t *s;
  SSW_ALLOC(s, 1);
  s->file = s->cell = s->traj = s->msg_type = s->fs_grid = s->fs_traj = s->mem_one = s->mem_k = -1;
  for (int i = 0; i < SC_COUNT; i++) s->scalar[i] = -1;
  for (int i = 0; i < SSW_SERIES_COUNT; i++) s->series[i] = -1;
  s->lock_fd = -1;
  *store = s;
  return SSW_OK;
}

/* Close what an open that failed had opened. The root cause is in the error trace and must
 * stay there, so failures while closing are not reported (the trace is restored). */
static int discard(ssw_store_t **store, hid_t fapl, int code) {
  char cause[4096];
  snprintf(cause, sizeof cause, "%s", ssw_error_message());
  if (fapl >= 0 && H5Pclose(fapl) < 0) (void)H5Eclear2(H5E_DEFAULT);
  if (ssw_store_close(store) != SSW_OK) (void)H5Eclear2(H5E_DEFAULT);
  return SSW_ERROR(code, "%s", cause);
}

/* The user's mistakes about the path, each one line (SSW_ERR_INPUT): missing, a directory, not
 * a regular file, not HDF5 at all. Not collective. */
static int check_path(const char *path, bool writable) {
  struct stat st;
  if (stat(path, &st) != 0)
    return SSW_ERROR(SSW_ERR_INPUT, "%s: %s — give the file that 'shallowsweep run -o' wrote", path,
                     errno == ENOENT ? "no such file" : strerror(errno));
  SSW_REQUIRE(!S_ISDIR(st.st_mode), SSW_ERR_INPUT, "%s is a directory, not a sweep file — give the .h5 file", path);
  SSW_REQUIRE(S_ISREG(st.st_mode), SSW_ERR_INPUT, "%s is not a regular file — give the .h5 file 'run -o' wrote", path);
  SSW_REQUIRE(access(path, writable ? R_OK | W_OK : R_OK) == 0, SSW_ERR_INPUT, "%s: cannot %s it (%s)", path,
              writable ? "read and write" : "read", strerror(errno));
  htri_t hdf5 = H5Fis_hdf5(path); /* HDF5 1.10: H5Fis_accessible is 1.12 */
  SSW_REQUIRE(hdf5 > 0, SSW_ERR_INPUT, "%s is not an HDF5 file (no HDF5 signature: a text file, or the wrong "
              "path?) — give the file 'shallowsweep run -o' wrote", path);
  return SSW_OK;
}

/* Rank 0 checks the path for the job (every rank sees the same file), so a user's mistake is
 * one line from rank 0 and the same code on every rank. Collective on comm. */
static int check_path_once(const char *path, MPI_Comm comm) {
  int rank;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  int rc = rank == 0 ? check_path(path, true) : SSW_OK;
  MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
  if (rc == SSW_OK) return SSW_OK;
  return rank == 0 ? ssw_error_frame(rc, __FILE__, __LINE__, __func__)
                   : SSW_ERROR(rc, "rank 0 cannot open %s (it says why)", path);
}

/* Refuse a file whose frozen metadata fails its checksum: its cells may sit under the wrong
 * coordinates. Rank 0 reads, every rank learns. Collective on comm. */
static int check_frozen_once(ssw_store_t *s, const char *path, MPI_Comm comm) {
  int rank, state = 0;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  int rc = rank == 0 ? ssw_store_check_frozen(s, &state) : SSW_OK;
  int shared[2] = {rc, state};
  MPI_CHECK(MPI_Bcast(shared, 2, MPI_INT, 0, comm));
  if (shared[0] != SSW_OK)
    return rank == 0 ? ssw_error_frame(rc, __FILE__, __LINE__, __func__)
                     : SSW_ERROR(shared[0], "rank 0 could not check %s (it says why)", path);
  SSW_REQUIRE(shared[1] >= 0, SSW_ERR_INPUT,
              "refusing to resume %s: its frozen metadata (axis values or labels, recorded steps, or the canonical "
              "sweep) does not match the checksum written at creation — the file was edited or damaged, so its cells "
              "may be mislabelled; run the sweep into a new file", path);
  return SSW_OK;
}

/* Open for writing: path checked (unless just created), the job's lock taken (rank 0 holds it
 * in first_fd when it created the file), HDF5 with MPI-IO. Collective on comm. */
static int open_writable(ssw_store_t **store, const char *path, MPI_Comm comm, int first_fd, bool created) {
  SSW_TRY(store_alloc(store));
  ssw_store_t *s = *store;
  s->parallel = true;
  s->lock_fd = first_fd; /* the store owns it from here: closing releases it */
  hid_t fapl = -1;
  if (!created && check_path_once(path, comm) != SSW_OK) return discard(store, fapl, ssw_error_code());
  if (ssw_store_lock(path, comm, &s->lock_fd, created) != SSW_OK) return discard(store, fapl, ssw_error_code());
  if (ssw_h5_make_fapl(&fapl, comm, true) != SSW_OK) return discard(store, fapl, ssw_error_code());
  s->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
  if (s->file < 0) {
    (void)ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Fopen"); /* before any other call clears the stack */
    char cause[2048];
    snprintf(cause, sizeof cause, "%s", ssw_error_message());
    (void)SSW_ERROR(SSW_ERR_INPUT, "%s cannot be opened as HDF5 (truncated or damaged?): %s", path, cause);
    return discard(store, fapl, SSW_ERR_INPUT);
  }
  H5_CLOSE(H5Pclose, fapl);
  int rc = open_handles(s, path);
  if (rc == SSW_OK && !created) rc = check_frozen_once(s, path, comm);
  if (rc != SSW_OK) return discard(store, -1, ssw_error_code() ? ssw_error_code() : rc);
  return SSW_OK;
}

int ssw_store_open(ssw_store_t **store, const char *path, MPI_Comm comm) {
  return open_writable(store, path, comm, -1, false);
}

int ssw_store_open_locked(ssw_store_t **store, const char *path, MPI_Comm comm, int first_fd) {
  return open_writable(store, path, comm, first_fd, true);
}

int ssw_store_open_readonly(ssw_store_t **store, const char *path) {
  SSW_TRY(store_alloc(store));
  ssw_store_t *s = *store;
  s->readonly = true;
  hid_t fapl = -1;
  if (ssw_h5_make_fapl(&fapl, MPI_COMM_SELF, false) != SSW_OK) return discard(store, fapl, ssw_error_code());
  if (check_path(path, false) != SSW_OK) return discard(store, fapl, SSW_ERR_INPUT);
  s->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  if (s->file < 0) {
    (void)ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Fopen");
    char cause[2048];
    snprintf(cause, sizeof cause, "%s", ssw_error_message());
    (void)SSW_ERROR(SSW_ERR_INPUT, "%s cannot be opened as HDF5 (truncated or damaged?): %s", path, cause);
    return discard(store, fapl, SSW_ERR_INPUT);
  }
  H5_CLOSE(H5Pclose, fapl);
  int rc = open_handles(s, path);
  if (rc != SSW_OK) return discard(store, -1, rc);
  return SSW_OK;
}

int ssw_store_close(ssw_store_t **store) {
  if (!store || !*store) return SSW_OK;
  ssw_store_t *s = *store;
  *store = NULL;
  int rc = SSW_OK; /* close everything even after a failure; report the first */
  for (int i = 0; i < SSW_SERIES_COUNT; i++) H5_CLOSE_KEEP(rc, H5Dclose, s->series[i]);
  for (int i = 0; i < SC_COUNT; i++) H5_CLOSE_KEEP(rc, H5Dclose, s->scalar[i]);
  H5_CLOSE_KEEP(rc, H5Sclose, s->mem_k);
  H5_CLOSE_KEEP(rc, H5Sclose, s->mem_one);
  H5_CLOSE_KEEP(rc, H5Sclose, s->fs_traj);
  H5_CLOSE_KEEP(rc, H5Sclose, s->fs_grid);
  H5_CLOSE_KEEP(rc, H5Tclose, s->msg_type);
  H5_CLOSE_KEEP(rc, H5Gclose, s->traj);
  H5_CLOSE_KEEP(rc, H5Gclose, s->cell);
  H5_CLOSE_KEEP(rc, H5Fclose, s->file); /* collective when parallel */
  ssw_store_unlock(&s->lock_fd);        /* after the close: every byte is out before another job may open it */
  ssw_grid_fini(&s->grid);
  free(s->canonical);
  free(s->name);
  free(s);
  return rc;
}

int64_t ssw_store_ncells(const ssw_store_t *s) { return s->ncells; }
int64_t ssw_store_k(const ssw_store_t *s) { return s->k; }
const ssw_grid_t *ssw_store_grid(const ssw_store_t *s) { return &s->grid; }
const char *ssw_store_canonical(const ssw_store_t *s) { return s->canonical; }
const char *ssw_store_name(const ssw_store_t *s) { return s->name; }
unsigned ssw_store_series_mask(const ssw_store_t *s) { return s->series_mask; }
