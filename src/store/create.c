/* A new sweep file (DESIGN.md §4, §12): every group, axis scale and dataset created by rank 0
 * alone with HDF5's serial driver and fully allocated under a temporary name beside the
 * output, locked, then published by a hard link that never replaces an existing file; every
 * rank learns the outcome before any goes on, so a full disk or an I/O error is one message
 * and an exit on every rank, never a collective that some ranks wait in forever.
 *
 * Every dataset is contiguous and allocated at creation with its fill value
 * (H5D_ALLOC_TIME_EARLY), modification times are not tracked, and the default (earliest) file
 * format is used, so writing a cell touches raw data only: no metadata changes after
 * creation, so a kill can lose only the cell in hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shallowsweep/check.h"
#include "shallowsweep/text.h"
#include "ssw_config.h"
#include "store_impl.h"

/* Axis storage type: ENUM keys as strings, BOOL as int8, INT keys and seed as int64, REAL
 * as float64. */
typedef enum { AXIS_STRING, AXIS_INT8, AXIS_INT64, AXIS_F64 } axis_kind_t;

static axis_kind_t axis_kind(const ssw_axis_t *a) {
  if (!a->key) return AXIS_INT64;
  switch (a->key->type) {
  case SSW_KEY_ENUM: return AXIS_STRING;
  case SSW_KEY_BOOL: return AXIS_INT8;
  case SSW_KEY_INT: return AXIS_INT64;
  default: return AXIS_F64;
  }
}

/* Create /<group>/<axis> as a dimension scale holding the axis values; rank 0 writes them. */
static int create_axis_scale(hid_t group, const ssw_axis_t *a, int rank, hid_t *scale) {
  hsize_t n = (hsize_t)a->count;
  hid_t space, dcpl, ftype = -1, mtype;
  axis_kind_t kind = axis_kind(a);
  size_t width = 1;
  void *buf = NULL;
  if (kind == AXIS_STRING) {
    for (int64_t i = 0; i < a->count; i++) width = strlen(a->labels[i]) > width ? strlen(a->labels[i]) : width;
    SSW_TRY(ssw_h5_make_string_type(&ftype, width));
    SSW_ALLOC(buf, (size_t)a->count * width);
    for (int64_t i = 0; i < a->count; i++) memcpy((char *)buf + (size_t)i * width, a->labels[i], strlen(a->labels[i]));
    mtype = ftype;
  } else if (kind == AXIS_INT8 || kind == AXIS_INT64) {
    int64_t *v;
    SSW_ALLOC(v, a->count);
    for (int64_t i = 0; i < a->count; i++) v[i] = (int64_t)llround(a->values[i]);
    buf = v;
    mtype = H5T_NATIVE_INT64;
    ftype = kind == AXIS_INT8 ? H5T_STD_I8LE : H5T_STD_I64LE;
  } else {
    buf = a->values;
    mtype = H5T_NATIVE_DOUBLE;
    ftype = H5T_IEEE_F64LE;
  }
  H5_HID(space, H5Screate_simple(1, &n, NULL));
  SSW_TRY(ssw_h5_make_dcpl(&dcpl, mtype, NULL));
  H5_HID(*scale, H5Dcreate2(group, a->name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (rank == 0) H5_CHECK(H5Dwrite(*scale, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
  H5_CHECK(H5DSset_scale(*scale, a->name));
  /* The labels every reader shows (status, analysis): made once, by ssw_axis_label. */
  SSW_TRY(ssw_h5_attr_write_strings(*scale, "labels", (const char *const *)a->labels, (int)a->count));
  if (kind == AXIS_STRING) {
    SSW_TRY(ssw_h5_attr_write_string(*scale, "_Encoding", "utf-8")); /* xarray decodes to str */
    H5_CLOSE(H5Tclose, ftype);
  }
  if (buf != a->values) free(buf);
  H5_CLOSE(H5Pclose, dcpl);
  H5_CLOSE(H5Sclose, space);
  return SSW_OK;
}

static int create_dataset(hid_t group, const char *name, hid_t ftype, hid_t mtype, const void *fill,
                          int rank, const hsize_t *dims, const hid_t *scales, int nscales,
                          const char *description) {
  hid_t space, dcpl, dset;
  SSW_TRY(ssw_h5_make_dcpl(&dcpl, mtype, fill));
  H5_HID(space, H5Screate_simple(rank, dims, NULL));
  H5_HID(dset, H5Dcreate2(group, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  for (int i = 0; i < nscales; i++) H5_CHECK(H5DSattach_scale(dset, scales[i], (unsigned)i));
  SSW_TRY(ssw_h5_attr_write_string(dset, "description", description));
  H5T_class_t cls = H5Tget_class(ftype);
  H5_CHECK(cls);
  if (cls == H5T_STRING) SSW_TRY(ssw_h5_attr_write_string(dset, "_Encoding", "utf-8")); /* xarray: str */
  H5_CLOSE(H5Dclose, dset);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Pclose, dcpl);
  return SSW_OK;
}

/* The codes and names of an enum dataset of /cell, as CF's flag_values and flag_meanings
 * (space-separated): readers take the names from the file. */
static int write_flag_names(hid_t cell, const char *dataset, const char *const *names, int count) {
  int8_t codes[16];
  char meanings[256] = "";
  SSW_REQUIRE(count <= 16, SSW_ERR_INTERNAL, "%d names for %s", count, dataset);
  for (int c = 0; c < count; c++) {
    codes[c] = (int8_t)c;
    size_t len = strlen(meanings);
    snprintf(meanings + len, sizeof meanings - len, "%s%s", c ? " " : "", names[c]);
  }
  hid_t dset;
  H5_HID(dset, H5Dopen2(cell, dataset, H5P_DEFAULT));
  int rc = ssw_h5_attr_write_int8s(dset, "flag_values", codes, count);
  if (rc == SSW_OK) rc = ssw_h5_attr_write_string(dset, "flag_meanings", meanings);
  H5_CLOSE_KEEP(rc, H5Dclose, dset);
  return rc;
}

static int create_cell_group(hid_t file, const ssw_store_spec_t *spec, int rank, hid_t msg_type) {
  const ssw_grid_t *g = spec->grid;
  hid_t group, scales[SSW_MAX_AXES];
  hsize_t dims[SSW_MAX_AXES];
  H5_HID(group, H5Gcreate2(file, "cell", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  for (int i = 0; i < g->naxes; i++) {
    SSW_TRY(create_axis_scale(group, &g->axes[i], rank, &scales[i]));
    dims[i] = (hsize_t)g->axes[i].count;
  }
  ssw_store_t types = {.msg_type = msg_type};
  for (int which = 0; which < SC_COUNT; which++) {
    ssw_sc_kind_t kind = ssw_scalar_defs[which].kind;
    ssw_cell_values_t fill;
    memset(&fill, 0, sizeof fill);
    if (kind == SC_F64) fill.f64[which] = ssw_scalar_defs[which].fill;
    if (kind == SC_I64) fill.i64[which] = (int64_t)ssw_scalar_defs[which].fill;
    if (kind == SC_I32) fill.i32[which] = (int32_t)ssw_scalar_defs[which].fill;
    SSW_TRY(create_dataset(group, ssw_scalar_defs[which].name, ssw_sc_file_type(&types, kind), ssw_sc_mem_type(&types, kind),
                           ssw_sc_ptr(&fill, which), g->naxes, dims, scales, g->naxes, ssw_scalar_defs[which].description));
  }
  for (int i = 0; i < g->naxes; i++) H5_CLOSE(H5Dclose, scales[i]);
  SSW_TRY(write_flag_names(group, "status", ssw_status_names, SSW_STATUS_COUNT));
  SSW_TRY(write_flag_names(group, "diagnosis", ssw_diagnosis_names, SSW_DIAG_COUNT));
  H5_CLOSE(H5Gclose, group);
  return SSW_OK;
}

static int create_traj_group(hid_t file, const ssw_store_spec_t *spec, int rank) {
  const ssw_grid_t *g = spec->grid;
  hid_t group, scales[SSW_MAX_AXES + 1], space;
  hsize_t dims[SSW_MAX_AXES + 1], k = (hsize_t)spec->k;
  H5_HID(group, H5Gcreate2(file, "traj", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  for (int i = 0; i < g->naxes; i++) {
    SSW_TRY(create_axis_scale(group, &g->axes[i], rank, &scales[i]));
    dims[i] = (hsize_t)g->axes[i].count;
  }
  dims[g->naxes] = k;
  hid_t dcpl;
  SSW_TRY(ssw_h5_make_dcpl(&dcpl, H5T_NATIVE_INT64, NULL));
  H5_HID(space, H5Screate_simple(1, &k, NULL));
  H5_HID(scales[g->naxes], H5Dcreate2(group, "step", H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (rank == 0) H5_CHECK(H5Dwrite(scales[g->naxes], H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, spec->steps));
  H5_CHECK(H5DSset_scale(scales[g->naxes], "step"));
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Pclose, dcpl);
  const double nan = NAN;
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    if (spec->series_mask & (1u << s))
      SSW_TRY(create_dataset(group, ssw_series_names[s], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &nan, g->naxes + 1,
                             dims, scales, g->naxes + 1, ssw_series_descriptions[s]));
  for (int i = 0; i <= g->naxes; i++) H5_CLOSE(H5Dclose, scales[i]);
  H5_CLOSE(H5Gclose, group);
  return SSW_OK;
}

static int write_root_attrs(hid_t file, const ssw_store_spec_t *spec, const char *created) {
  const char *names[SSW_MAX_AXES], *series[SSW_SERIES_COUNT];
  int nseries = 0;
  for (int i = 0; i < spec->grid->naxes; i++) names[i] = spec->grid->axes[i].name;
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    if (spec->series_mask & (1u << s)) series[nseries++] = ssw_series_names[s];
  SSW_TRY(ssw_h5_attr_write_string(file, "format", SSW_STORE_FORMAT));
  SSW_TRY(ssw_h5_attr_write_string(file, "name", spec->name ? spec->name : ""));
  SSW_TRY(ssw_h5_attr_write_string(file, "sweep_yaml", spec->sweep_yaml ? spec->sweep_yaml : ""));
  SSW_TRY(ssw_h5_attr_write_string(file, "sweep_canonical", spec->sweep_canonical ? spec->sweep_canonical : ""));
  SSW_TRY(ssw_h5_attr_write_string(file, "created", created));
  SSW_TRY(ssw_h5_attr_write_string(file, "software_version", SSW_VERSION));
  SSW_TRY(ssw_h5_attr_write_strings(file, "axes", names, spec->grid->naxes));
  if (nseries) SSW_TRY(ssw_h5_attr_write_strings(file, "series", series, nseries));
  SSW_TRY(ssw_h5_attr_write_int64(file, "record_points", spec->k));
  return SSW_OK;
}

/* Reserve bytes of disk for path before HDF5 writes into it, so that a disk filled since the
 * free-space check, or a quota that statvfs does not show, fails here as one errno, before
 * HDF5 has written a byte it would have to flush on close (HDF5 1.10 crashes at exit after a
 * write error during creation). Not collective. */
static int reserve(const char *path, double bytes) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return SSW_ERROR(SSW_ERR_IO, "cannot open %s to reserve its space: %s", path, strerror(errno));
  int err = posix_fallocate(fd, 0, (off_t)bytes);
  close(fd);
  if (err == EOPNOTSUPP || err == EINVAL) return SSW_OK; /* glibc emulates it where it can; elsewhere rely on the check */
  if (err) return SSW_ERROR(SSW_ERR_IO, "cannot reserve %.1f MiB for it: %s", bytes / 1048576.0, strerror(err));
  return SSW_OK;
}

/* Build the whole file at tmp_path with HDF5's serial driver: one process writes every byte,
 * so a full disk or an I/O error is one process's error code, never a collective that other
 * ranks wait in forever. The space is reserved first; the file is cut back to HDF5's size
 * after the close. Not collective. */
static int create_file(const char *tmp_path, const ssw_store_spec_t *spec, const char *created) {
  hid_t fapl, file, msg_type = -1;
  SSW_TRY(ssw_h5_make_fapl(&fapl, MPI_COMM_SELF, false));
  H5_CHECK(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)); /* closing the file closes whatever a failure left open */
  file = H5Fcreate(tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  int rc = file < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Fcreate") : SSW_OK;
  if (rc == SSW_OK) rc = reserve(tmp_path, ssw_store_file_bytes(spec));
  if (rc == SSW_OK) rc = ssw_h5_make_string_type(&msg_type, SSW_MESSAGE_MAX);
  if (rc == SSW_OK) rc = write_root_attrs(file, spec, created);
  if (rc == SSW_OK) rc = create_cell_group(file, spec, 0, msg_type);
  if (rc == SSW_OK) rc = create_traj_group(file, spec, 0);
  if (rc == SSW_OK) rc = ssw_store_write_frozen_checksum(file);
  hsize_t size = 0;
  if (rc == SSW_OK && H5Fget_filesize(file, &size) < 0) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Fget_filesize");
  H5_CLOSE_KEEP(rc, H5Tclose, msg_type);
  H5_CLOSE_KEEP(rc, H5Fclose, file); /* flushes */
  H5_CLOSE_KEEP(rc, H5Pclose, fapl);
  if (rc == SSW_OK && truncate(tmp_path, (off_t)size) != 0)
    rc = SSW_ERROR(SSW_ERR_IO, "cannot cut %s to its size: %s", tmp_path, strerror(errno));
  return rc;
}

/* Remove the temporary file of a creation that failed. The root cause is already in the
 * error trace and must stay there, so a failure here is not reported: what is left behind is
 * named .OUT.creating.PID and holds no results. */
static void discard(const char *tmp_path) {
  if (unlink(tmp_path) != 0 && errno != ENOENT) errno = 0;
}

/* Move tmp to path without ever replacing an existing path. */
static int publish(const char *tmp_path, const char *path) {
  if (link(tmp_path, path) == 0) {
    if (unlink(tmp_path) != 0)
      return SSW_ERROR(SSW_ERR_IO, "%s was created, but its temporary name %s could not be removed (%s) — "
                       "remove it by hand", path, tmp_path, strerror(errno));
    return SSW_OK;
  }
  /* file systems without hard links: the lock makes check-then-rename safe among our jobs */
  if (errno == EEXIST || access(path, F_OK) == 0) {
    discard(tmp_path);
    return SSW_ERROR(SSW_ERR_INPUT, "%s appeared while it was being created; it was left alone", path);
  }
  if (rename(tmp_path, path) != 0)
    return SSW_ERROR(SSW_ERR_IO, "cannot rename %s to %s: %s", tmp_path, path, strerror(errno));
  return SSW_OK;
}

static int bcast_string(char *buf, int size, MPI_Comm comm) {
  MPI_CHECK(MPI_Bcast(buf, size, MPI_CHAR, 0, comm));
  buf[size - 1] = '\0';
  return SSW_OK;
}

double ssw_store_file_bytes(const ssw_store_spec_t *spec) {
  enum { METADATA_BYTES = 1 << 20 }; /* groups, scales, attributes: under 1 MiB for SSW_MAX_AXES axes */
  int nseries = 0;
  for (int s = 0; s < SSW_SERIES_COUNT; s++) nseries += (spec->series_mask >> s) & 1u;
  return (double)spec->grid->ncells * ssw_store_cell_bytes(spec->k, nseries) + METADATA_BYTES;
}

/* SSW_OK if the file system of path has room for the file (the size plan prints), else a
 * one-line error saying how much is missing. Not collective. */
static int check_free_space(const char *path, const ssw_store_spec_t *spec) {
  char dir[4096];
  ssw_text_parent_dir(path, dir, sizeof dir);
  struct statvfs fs;
  if (statvfs(dir, &fs) != 0) return SSW_OK; /* unknown: the reservation will tell */
  const double avail = (double)fs.f_bavail * (double)fs.f_frsize, mib = 1048576.0, need = ssw_store_file_bytes(spec);
  SSW_REQUIRE(avail >= need, SSW_ERR_INPUT,
              "not enough space for %s: the file needs about %.1f MiB and %s has %.1f MiB free (%.1f MiB missing) — "
              "free some space or choose another -o", path, need / mib, dir, avail / mib, (need - avail) / mib);
  return SSW_OK;
}

/* Why creating failed, said for a user: the free space beside the file and what it needs (a
 * full disk is the common cause), then the library's text. */
static int creation_failed(const char *path, const ssw_store_spec_t *spec) {
  char cause[2048], dir[4096];
  snprintf(cause, sizeof cause, "%s", ssw_error_message());
  ssw_text_parent_dir(path, dir, sizeof dir);
  struct statvfs fs;
  const double mib = 1048576.0, need = ssw_store_file_bytes(spec);
  if (statvfs(dir, &fs) == 0) {
    const double avail = (double)fs.f_bavail * (double)fs.f_frsize;
    return SSW_ERROR(SSW_ERR_SYSTEM, "creating %s failed (it needs about %.1f MiB, %s has %.1f MiB free%s); nothing was "
                     "left behind: %s", path, need / mib, dir, avail / mib,
                     avail < need ? ": free some space or choose another -o" : "", cause);
  }
  return SSW_ERROR(SSW_ERR_SYSTEM, "creating %s failed (it needs about %.1f MiB); nothing was left behind: %s", path,
                   need / mib, cause);
}

/* Rank 0: build the file under tmp_path, lock it, publish it as path. *fd the lock. */
static int create_locked(const char *tmp_path, const char *path, const ssw_store_spec_t *spec, const char *created,
                         int *fd) {
  SSW_TRY(check_free_space(path, spec));
  if (create_file(tmp_path, spec, created) != SSW_OK) {
    discard(tmp_path);
    return creation_failed(path, spec);
  }
  int rc = ssw_store_lock_first(tmp_path, fd); /* the inode is locked before anyone can reach it by name */
  if (rc == SSW_OK) rc = publish(tmp_path, path);
  if (rc != SSW_OK) {
    ssw_store_unlock(fd);
    discard(tmp_path);
  }
  return rc;
}

int ssw_store_create(ssw_store_t **store, const char *path, MPI_Comm comm, const ssw_store_spec_t *spec) {
  int rank;
  *store = NULL;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  SSW_REQUIRE(spec->grid && spec->grid->naxes >= 1 && spec->k >= 1, SSW_ERR_INPUT,
              "cannot create %s: the grid needs at least one axis and one record point", path);
  char tmp_path[4096] = "", created[64] = "";
  int exists = rank == 0 && access(path, F_OK) == 0;
  MPI_CHECK(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  SSW_REQUIRE(!exists, SSW_ERR_INPUT, "%s exists: not touched (run with --resume to continue it, or choose another -o)",
              path);
  if (rank == 0) {
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    snprintf(tmp_path, sizeof tmp_path, "%.*s.%s.creating.%ld", dirlen, path, slash ? slash + 1 : path,
             (long)getpid());
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  }
  SSW_TRY(bcast_string(created, sizeof created, comm));
  int fd = -1, rc = rank == 0 ? create_locked(tmp_path, path, spec, created, &fd) : SSW_OK;
  int shared = rc;
  MPI_CHECK(MPI_Bcast(&shared, 1, MPI_INT, 0, comm)); /* every rank learns the outcome: none waits */
  if (shared != SSW_OK)
    return rank == 0 ? ssw_error_frame(rc, __FILE__, __LINE__, __func__)
                     : SSW_ERROR(shared, "rank 0 could not create %s (it says why)", path);
  SSW_TRY(ssw_store_open_locked(store, path, comm, fd));
  return SSW_OK;
}
