/* The sweep's HDF5 file: layout, create/open, write a cell, read status (DESIGN.md §4).
 *
 * Dimension letters: A1..Ak the grid axes (k = naxes), C = A1*...*Ak cells, K record points.
 * Every dataset is contiguous and allocated at creation with its fill value
 * (H5D_ALLOC_TIME_EARLY), modification times are not tracked, and the default (earliest) file
 * format is used, so writing a cell touches raw data only: no metadata changes after
 * creation, so a kill can lose only the cell in hand.
 */
#include <errno.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "shallowsweep/store.h"
#include "ssw_config.h"

/* ---- the per-cell scalars of /cell, in write order: status last ---- */

typedef enum { SC_F64, SC_I64, SC_I32, SC_U32, SC_I8, SC_MSG } sc_kind_t;
enum {
  SC_INIT_LOSS, SC_FINAL_LOSS, SC_ITERS, SC_ITERS_TO_TOL, SC_WALL_S, SC_GFLOPS, SC_RANK,
  SC_NTK_MIN, SC_NTK_MAX, SC_MESSAGE, SC_CHECKSUM, SC_STATUS, SC_COUNT
};

static const struct {
  const char *name;
  sc_kind_t kind;
  double fill;
  const char *description;
} scalar_defs[SC_COUNT] = {
  [SC_INIT_LOSS] = {"init_loss", SC_F64, NAN, "L(theta_0)"},
  [SC_FINAL_LOSS] = {"final_loss", SC_F64, NAN, "L at the last evaluated step"},
  [SC_ITERS] = {"iters", SC_I64, 0, "updates done when the cell stopped"},
  [SC_ITERS_TO_TOL] = {"iters_to_tol", SC_I64, -1, "first step meeting tol or tol_rel, -1 if never"},
  [SC_WALL_S] = {"wall_s", SC_F64, NAN, "seconds of training, whole cell"},
  [SC_GFLOPS] = {"gflops", SC_F64, NAN, "model GFLOP/s of the cell"},
  [SC_RANK] = {"rank", SC_I32, -1, "MPI rank that trained the cell, -1 if pending"},
  [SC_NTK_MIN] = {"ntk_min", SC_F64, NAN, "smallest eigenvalue of the NTK Gram matrix at init"},
  [SC_NTK_MAX] = {"ntk_max", SC_F64, NAN, "largest eigenvalue of the NTK Gram matrix at init"},
  [SC_MESSAGE] = {"message", SC_MSG, 0, "failure text for status 4"},
  [SC_CHECKSUM] = {"checksum", SC_U32, 0, "CRC-32 of the cell's trajectory and scalars (store.h)"},
  [SC_STATUS] = {"status", SC_I8, 0,
                 "0 pending, 1 converged, 2 max_iters, 3 diverged, 4 failed; written last"},
};

static size_t sc_size(sc_kind_t kind) {
  switch (kind) {
  case SC_F64: case SC_I64: return 8;
  case SC_I32: case SC_U32: return 4;
  case SC_I8: return 1;
  case SC_MSG: return SSW_MESSAGE_MAX;
  }
  return 0;
}

struct ssw_store {
  hid_t file, cell, traj;
  hid_t scalar[SC_COUNT];          /* /cell/<scalar>, shape (A1..Ak) */
  hid_t series[SSW_SERIES_COUNT];  /* /traj/<series>, shape (A1..Ak, K); -1 if absent */
  hid_t msg_type;                  /* fixed-length string of SSW_MESSAGE_MAX bytes */
  hid_t fs_grid, fs_traj;          /* cached file spaces for hyperslab selections */
  hid_t mem_one, mem_k;            /* memory spaces (1) and (K) */
  bool parallel, readonly;
  unsigned series_mask;
  int64_t ncells, k;
  ssw_grid_t grid;                 /* rebuilt from the file; owns values and labels */
  char *canonical, *name;
};

static hid_t sc_mem_type(const ssw_store_t *s, sc_kind_t kind) {
  switch (kind) {
  case SC_F64: return H5T_NATIVE_DOUBLE;
  case SC_I64: return H5T_NATIVE_INT64;
  case SC_I32: return H5T_NATIVE_INT32;
  case SC_U32: return H5T_NATIVE_UINT32;
  case SC_I8: return H5T_NATIVE_INT8;
  case SC_MSG: return s->msg_type;
  }
  return -1;
}

static hid_t sc_file_type(const ssw_store_t *s, sc_kind_t kind) {
  switch (kind) {
  case SC_F64: return H5T_IEEE_F64LE;
  case SC_I64: return H5T_STD_I64LE;
  case SC_I32: return H5T_STD_I32LE;
  case SC_U32: return H5T_STD_U32LE;
  case SC_I8: return H5T_STD_I8LE;
  case SC_MSG: return s->msg_type;
  }
  return -1;
}

/* The scalars of one cell, as stored. */
typedef struct {
  double f64[SC_COUNT];
  int64_t i64[SC_COUNT];
  int32_t i32[SC_COUNT];
  uint32_t u32[SC_COUNT];
  int8_t i8[SC_COUNT];
  char msg[SSW_MESSAGE_MAX]; /* NUL-padded */
} cell_values_t;

static const void *sc_ptr(const cell_values_t *v, int which) {
  switch (scalar_defs[which].kind) {
  case SC_F64: return &v->f64[which];
  case SC_I64: return &v->i64[which];
  case SC_I32: return &v->i32[which];
  case SC_U32: return &v->u32[which];
  case SC_I8: return &v->i8[which];
  case SC_MSG: return v->msg;
  }
  return NULL;
}

static void values_from_result(const ssw_result_t *r, int32_t rank, cell_values_t *v) {
  memset(v, 0, sizeof *v);
  v->f64[SC_INIT_LOSS] = r->init_loss;
  v->f64[SC_FINAL_LOSS] = r->final_loss;
  v->i64[SC_ITERS] = r->iters;
  v->i64[SC_ITERS_TO_TOL] = r->iters_to_tol;
  v->f64[SC_WALL_S] = r->wall_s;
  v->f64[SC_GFLOPS] = r->gflops;
  v->i32[SC_RANK] = rank;
  v->f64[SC_NTK_MIN] = r->ntk_min;
  v->f64[SC_NTK_MAX] = r->ntk_max;
  size_t len = strnlen(r->message, SSW_MESSAGE_MAX - 1);
  memcpy(v->msg, r->message, len); /* the rest stays NUL: deterministic padding */
  v->i8[SC_STATUS] = r->status;
}

static void values_to_result(const cell_values_t *v, ssw_result_t *r) {
  r->init_loss = v->f64[SC_INIT_LOSS];
  r->final_loss = v->f64[SC_FINAL_LOSS];
  r->iters = v->i64[SC_ITERS];
  r->iters_to_tol = v->i64[SC_ITERS_TO_TOL];
  r->wall_s = v->f64[SC_WALL_S];
  r->gflops = v->f64[SC_GFLOPS];
  r->ntk_min = v->f64[SC_NTK_MIN];
  r->ntk_max = v->f64[SC_NTK_MAX];
  memcpy(r->message, v->msg, SSW_MESSAGE_MAX);
  r->message[SSW_MESSAGE_MAX - 1] = '\0';
  r->status = v->i8[SC_STATUS];
}

/* ---- CRC-32 (reflected polynomial 0xEDB88320, as zlib.crc32) ---- */

static uint32_t crc32_update(uint32_t crc, const void *data, size_t len) {
  static uint32_t table[256];
  static _Thread_local bool ready; /* the table is pure; a thread may rebuild it harmlessly */
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int j = 0; j < 8; j++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  const unsigned char *p = data;
  crc = ~crc;
  for (size_t i = 0; i < len; i++) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

static uint32_t checksum_values(const double *const *series, int64_t k, unsigned mask, const cell_values_t *v) {
  uint32_t crc = 0;
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    if (mask & (1u << s)) crc = crc32_update(crc, series[s], (size_t)k * sizeof(double));
  for (int which = 0; which < SC_COUNT; which++) {
    if (which == SC_CHECKSUM) continue;
    crc = crc32_update(crc, sc_ptr(v, which), sc_size(scalar_defs[which].kind));
  }
  return crc;
}

uint32_t ssw_store_cell_checksum(const ssw_result_t *r, unsigned series_mask, int32_t rank) {
  cell_values_t v;
  values_from_result(r, rank, &v);
  return checksum_values((const double *const *)r->series, r->k, series_mask, &v);
}

/* ---- small HDF5 helpers ---- */

static int attr_write_string(hid_t obj, const char *name, const char *text) {
  hid_t type, space, attr;
  H5_HID(type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(type, H5T_VARIABLE));
  H5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8));
  H5_HID(space, H5Screate(H5S_SCALAR));
  H5_HID(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  H5_CHECK(H5Awrite(attr, type, &text));
  H5_CLOSE(H5Aclose, attr);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Tclose, type);
  return SSW_OK;
}

static int attr_write_strings(hid_t obj, const char *name, const char *const *texts, int count) {
  hid_t type, space, attr;
  hsize_t n = (hsize_t)count;
  H5_HID(type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(type, H5T_VARIABLE));
  H5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8));
  H5_HID(space, H5Screate_simple(1, &n, NULL));
  H5_HID(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  H5_CHECK(H5Awrite(attr, type, texts));
  H5_CLOSE(H5Aclose, attr);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Tclose, type);
  return SSW_OK;
}

static int attr_write_int64(hid_t obj, const char *name, int64_t value) {
  hid_t space, attr;
  H5_HID(space, H5Screate(H5S_SCALAR));
  H5_HID(attr, H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT));
  H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, &value));
  H5_CLOSE(H5Aclose, attr);
  H5_CLOSE(H5Sclose, space);
  return SSW_OK;
}

/* Read a scalar variable-length string attribute into a malloc'ed copy. */
static int attr_read_string(hid_t obj, const char *name, char **out) {
  hid_t type, attr;
  char *text = NULL;
  H5_HID(attr, H5Aopen(obj, name, H5P_DEFAULT));
  H5_HID(type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(type, H5T_VARIABLE));
  H5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8));
  H5_CHECK(H5Aread(attr, type, &text));
  *out = strdup(text ? text : "");
  H5free_memory(text);
  H5_CLOSE(H5Tclose, type);
  H5_CLOSE(H5Aclose, attr);
  SSW_REQUIRE(*out, SSW_ERR_NOMEM, "out of memory copying attribute %s", name);
  return SSW_OK;
}

/* The axis names of the root attribute "axes". */
static int attr_read_axes(hid_t obj, ssw_grid_t *grid) {
  hid_t type, attr, space;
  H5_HID(attr, H5Aopen(obj, "axes", H5P_DEFAULT));
  H5_HID(space, H5Aget_space(attr));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  SSW_REQUIRE(n >= 1 && n <= SSW_MAX_AXES, SSW_ERR_IO, "attribute 'axes' has %lld names", (long long)n);
  char *names[SSW_MAX_AXES] = {0};
  H5_HID(type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(type, H5T_VARIABLE));
  H5_CHECK(H5Aread(attr, type, names));
  grid->naxes = (int)n;
  for (int i = 0; i < grid->naxes; i++) snprintf(grid->axes[i].name, SSW_NAME_MAX, "%s", names[i]);
  H5_CHECK(H5Dvlen_reclaim(type, space, H5P_DEFAULT, names));
  H5_CLOSE(H5Tclose, type);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Aclose, attr);
  return SSW_OK;
}

/* A dataset creation property list: early allocation, fill value, no time stamps. */
static int make_dcpl(hid_t *dcpl, hid_t mem_type, const void *fill) {
  H5_HID(*dcpl, H5Pcreate(H5P_DATASET_CREATE));
  H5_CHECK(H5Pset_alloc_time(*dcpl, H5D_ALLOC_TIME_EARLY));
  H5_CHECK(H5Pset_fill_time(*dcpl, H5D_FILL_TIME_ALLOC));
  H5_CHECK(H5Pset_fill_value(*dcpl, mem_type, fill));
  H5_CHECK(H5Pset_obj_track_times(*dcpl, 0));
  return SSW_OK;
}

static int make_string_type(hid_t *type, size_t size) {
  H5_HID(*type, H5Tcopy(H5T_C_S1));
  H5_CHECK(H5Tset_size(*type, size));
  H5_CHECK(H5Tset_strpad(*type, H5T_STR_NULLPAD));
  H5_CHECK(H5Tset_cset(*type, H5T_CSET_UTF8));
  return SSW_OK;
}

/* ---- layout ---- */

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
    SSW_TRY(make_string_type(&ftype, width));
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
  H5_HID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
  H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
  H5_CHECK(H5Pset_obj_track_times(dcpl, 0));
  H5_HID(*scale, H5Dcreate2(group, a->name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (rank == 0) H5_CHECK(H5Dwrite(*scale, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
  H5_CHECK(H5DSset_scale(*scale, a->name));
  if (kind == AXIS_STRING) {
    SSW_TRY(attr_write_string(*scale, "_Encoding", "utf-8")); /* xarray decodes to str */
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
  SSW_TRY(make_dcpl(&dcpl, mtype, fill));
  H5_HID(space, H5Screate_simple(rank, dims, NULL));
  H5_HID(dset, H5Dcreate2(group, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  for (int i = 0; i < nscales; i++) H5_CHECK(H5DSattach_scale(dset, scales[i], (unsigned)i));
  SSW_TRY(attr_write_string(dset, "description", description));
  if (H5Tget_class(ftype) == H5T_STRING) SSW_TRY(attr_write_string(dset, "_Encoding", "utf-8")); /* xarray: str */
  H5_CLOSE(H5Dclose, dset);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Pclose, dcpl);
  return SSW_OK;
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
    sc_kind_t kind = scalar_defs[which].kind;
    cell_values_t fill;
    memset(&fill, 0, sizeof fill);
    if (kind == SC_F64) fill.f64[which] = scalar_defs[which].fill;
    if (kind == SC_I64) fill.i64[which] = (int64_t)scalar_defs[which].fill;
    if (kind == SC_I32) fill.i32[which] = (int32_t)scalar_defs[which].fill;
    SSW_TRY(create_dataset(group, scalar_defs[which].name, sc_file_type(&types, kind), sc_mem_type(&types, kind),
                           sc_ptr(&fill, which), g->naxes, dims, scales, g->naxes, scalar_defs[which].description));
  }
  for (int i = 0; i < g->naxes; i++) H5_CLOSE(H5Dclose, scales[i]);
  H5_CLOSE(H5Gclose, group);
  return SSW_OK;
}

static const char *const series_descriptions[SSW_SERIES_COUNT] = {
  [SSW_SERIES_LOSS] = "training loss L(theta_t); NaN after an early stop",
  [SSW_SERIES_GRAD_NORM] = "||grad L|| over trained parameters",
  [SSW_SERIES_INNER_DIST] = "||W_t - W_0||_F / ||W_0||_F",
  [SSW_SERIES_OUTER_DIST] = "||a_t - a_0|| / ||a_0|| (NaN when a_0 = 0)",
  [SSW_SERIES_PATTERN_CHANGE] = "fraction of (i, j) whose preactivation sign differs from step 0",
  [SSW_SERIES_TEST_LOSS] = "loss on test_n fresh samples",
};

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
  H5_HID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
  H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
  H5_CHECK(H5Pset_obj_track_times(dcpl, 0));
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
                             dims, scales, g->naxes + 1, series_descriptions[s]));
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
  SSW_TRY(attr_write_string(file, "format", SSW_STORE_FORMAT));
  SSW_TRY(attr_write_string(file, "name", spec->name ? spec->name : ""));
  SSW_TRY(attr_write_string(file, "sweep_yaml", spec->sweep_yaml ? spec->sweep_yaml : ""));
  SSW_TRY(attr_write_string(file, "sweep_canonical", spec->sweep_canonical ? spec->sweep_canonical : ""));
  SSW_TRY(attr_write_string(file, "created", created));
  SSW_TRY(attr_write_string(file, "software_version", SSW_VERSION));
  SSW_TRY(attr_write_strings(file, "axes", names, spec->grid->naxes));
  if (nseries) SSW_TRY(attr_write_strings(file, "series", series, nseries));
  SSW_TRY(attr_write_int64(file, "record_points", spec->k));
  return SSW_OK;
}

static int make_fapl(hid_t *fapl, MPI_Comm comm, bool parallel) {
  H5_HID(*fapl, H5Pcreate(H5P_FILE_ACCESS));
  if (parallel) H5_CHECK(H5Pset_fapl_mpio(*fapl, comm, MPI_INFO_NULL));
  /* HDF5's own flock is off: the job's lock is FILE.lock, and readers of a live file must not
   * be refused (the metadata is frozen, so reading while a job writes is safe). */
  H5_CHECK(H5Pset_file_locking(*fapl, 0, 1));
  return SSW_OK;
}

/* Build the whole file at tmp_path. Collective on comm. */
static int create_file(const char *tmp_path, MPI_Comm comm, const ssw_store_spec_t *spec, const char *created) {
  int rank;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  hid_t fapl, file, msg_type;
  SSW_TRY(make_fapl(&fapl, comm, true));
  H5_HID(file, H5Fcreate(tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, fapl));
  SSW_TRY(make_string_type(&msg_type, SSW_MESSAGE_MAX));
  SSW_TRY(write_root_attrs(file, spec, created));
  SSW_TRY(create_cell_group(file, spec, rank, msg_type));
  SSW_TRY(create_traj_group(file, spec, rank));
  H5_CLOSE(H5Tclose, msg_type);
  H5_CLOSE(H5Fclose, file);
  H5_CLOSE(H5Pclose, fapl);
  return SSW_OK;
}

/* Move tmp to path without ever replacing an existing path. */
static int publish(const char *tmp_path, const char *path) {
  if (link(tmp_path, path) == 0) {
    unlink(tmp_path);
    return SSW_OK;
  }
  /* file systems without hard links: the lock makes check-then-rename safe among our jobs */
  if (errno == EEXIST || access(path, F_OK) == 0) {
    unlink(tmp_path);
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
  SSW_TRY(bcast_string(tmp_path, sizeof tmp_path, comm));
  SSW_TRY(bcast_string(created, sizeof created, comm));
  int rc = create_file(tmp_path, comm, spec, created);
  int worst = rc;
  MPI_CHECK(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (worst == SSW_OK && rank == 0) rc = publish(tmp_path, path);
  if (worst != SSW_OK && rank == 0) unlink(tmp_path);
  MPI_CHECK(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  if (worst != SSW_OK) return SSW_ERROR(worst, "creating %s failed on another rank (see rank 0)", path);
  SSW_TRY(ssw_store_open(store, path, comm));
  return SSW_OK;
}

/* ---- open ---- */

static int read_axis(hid_t cell, ssw_axis_t *a) {
  hid_t dset, space, type;
  H5_HID(dset, H5Dopen2(cell, a->name, H5P_DEFAULT));
  H5_HID(space, H5Dget_space(dset));
  hssize_t n = H5Sget_simple_extent_npoints(space);
  SSW_REQUIRE(n >= 1, SSW_ERR_IO, "axis /cell/%s is empty", a->name);
  a->count = n;
  a->key = ssw_params_key(a->name);
  SSW_ALLOC(a->values, n);
  SSW_ALLOC(a->labels, n);
  H5_HID(type, H5Dget_type(dset));
  char buf[64];
  if (H5Tget_class(type) == H5T_STRING) {
    size_t width = H5Tget_size(type);
    char *text;
    SSW_ALLOC(text, (size_t)n * width);
    H5_CHECK(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text));
    for (hssize_t i = 0; i < n; i++) {
      a->labels[i] = strndup(text + (size_t)i * width, width);
      SSW_REQUIRE(a->labels[i], SSW_ERR_NOMEM, "out of memory reading axis %s", a->name);
      a->values[i] = (double)i;
      for (int c = 0; a->key && a->key->choices && a->key->choices[c]; c++)
        if (strcmp(a->key->choices[c], a->labels[i]) == 0) a->values[i] = c;
    }
    free(text);
  } else {
    H5_CHECK(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->values));
    bool integer = H5Tget_class(type) == H5T_INTEGER;
    bool boolean = a->key && a->key->type == SSW_KEY_BOOL;
    for (hssize_t i = 0; i < n; i++) {
      if (boolean) snprintf(buf, sizeof buf, "%s", a->values[i] != 0 ? "true" : "false");
      else if (integer) snprintf(buf, sizeof buf, "%lld", (long long)a->values[i]);
      else snprintf(buf, sizeof buf, "%.15g", a->values[i]);
      a->labels[i] = strdup(buf);
      SSW_REQUIRE(a->labels[i], SSW_ERR_NOMEM, "out of memory reading axis %s", a->name);
    }
  }
  H5_CLOSE(H5Tclose, type);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Dclose, dset);
  return SSW_OK;
}

static int open_handles(ssw_store_t *s, const char *path) {
  char *format = NULL;
  SSW_TRY(attr_read_string(s->file, "format", &format));
  bool ok = strcmp(format, SSW_STORE_FORMAT) == 0;
  free(format);
  SSW_REQUIRE(ok, SSW_ERR_INPUT, "%s is not a %s file (root attribute 'format' differs)", path, SSW_STORE_FORMAT);
  SSW_TRY(attr_read_string(s->file, "sweep_canonical", &s->canonical));
  SSW_TRY(attr_read_string(s->file, "name", &s->name));
  SSW_TRY(attr_read_axes(s->file, &s->grid));
  H5_HID(s->cell, H5Gopen2(s->file, "cell", H5P_DEFAULT));
  H5_HID(s->traj, H5Gopen2(s->file, "traj", H5P_DEFAULT));
  s->ncells = 1;
  for (int i = 0; i < s->grid.naxes; i++) {
    SSW_TRY(read_axis(s->cell, &s->grid.axes[i]));
    s->ncells *= s->grid.axes[i].count;
  }
  s->grid.ncells = s->ncells;
  SSW_TRY(make_string_type(&s->msg_type, SSW_MESSAGE_MAX));
  for (int which = 0; which < SC_COUNT; which++)
    H5_HID(s->scalar[which], H5Dopen2(s->cell, scalar_defs[which].name, H5P_DEFAULT));
  hid_t step;
  H5_HID(step, H5Dopen2(s->traj, "step", H5P_DEFAULT));
  hid_t space;
  H5_HID(space, H5Dget_space(step));
  s->k = H5Sget_simple_extent_npoints(space);
  H5_CLOSE(H5Sclose, space);
  H5_CLOSE(H5Dclose, step);
  for (int i = 0; i < SSW_SERIES_COUNT; i++) {
    htri_t exists = H5Lexists(s->traj, ssw_series_names[i], H5P_DEFAULT);
    H5_CHECK(exists);
    if (exists) {
      H5_HID(s->series[i], H5Dopen2(s->traj, ssw_series_names[i], H5P_DEFAULT));
      s->series_mask |= 1u << i;
      if (s->fs_traj < 0) H5_HID(s->fs_traj, H5Dget_space(s->series[i]));
    }
  }
  H5_HID(s->fs_grid, H5Dget_space(s->scalar[SC_STATUS]));
  SSW_REQUIRE(H5Sget_simple_extent_ndims(s->fs_grid) == s->grid.naxes, SSW_ERR_IO,
              "%s: /cell/status has %d dimensions but the file names %d axes", path,
              H5Sget_simple_extent_ndims(s->fs_grid), s->grid.naxes);
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
  *store = s;
  return SSW_OK;
}

static int open_common(ssw_store_t **store, const char *path, MPI_Comm comm, bool parallel) {
  SSW_TRY(store_alloc(store));
  ssw_store_t *s = *store;
  s->parallel = parallel;
  s->readonly = !parallel;
  hid_t fapl;
  SSW_TRY(make_fapl(&fapl, comm, parallel));
  if (access(path, F_OK) != 0) {
    int err = errno;
    H5Pclose(fapl);
    ssw_store_close(store);
    return SSW_ERROR(SSW_ERR_IO, "cannot open %s: %s", path, strerror(err));
  }
  s->file = H5Fopen(path, parallel ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  if (s->file < 0) {
    ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Fopen"); /* before any other call clears the stack */
    char cause[1024];
    snprintf(cause, sizeof cause, "%s", ssw_error_message());
    H5Pclose(fapl);
    ssw_store_close(store);
    return SSW_ERROR(SSW_ERR_IO, "cannot open %s as HDF5: %s", path, cause);
  }
  H5_CLOSE(H5Pclose, fapl);
  int rc = open_handles(s, path);
  if (rc != SSW_OK) {
    int code = ssw_error_frame(rc, __FILE__, __LINE__, __func__);
    char cause[1024];
    snprintf(cause, sizeof cause, "%s", ssw_error_message());
    ssw_store_close(store);
    return SSW_ERROR(code, "%s", cause);
  }
  return SSW_OK;
}

int ssw_store_open(ssw_store_t **store, const char *path, MPI_Comm comm) {
  return open_common(store, path, comm, true);
}

int ssw_store_open_readonly(ssw_store_t **store, const char *path) {
  return open_common(store, path, MPI_COMM_SELF, false);
}

static void grid_free(ssw_grid_t *g) {
  for (int i = 0; i < g->naxes; i++) {
    for (int64_t j = 0; g->axes[i].labels && j < g->axes[i].count; j++) free(g->axes[i].labels[j]);
    free(g->axes[i].labels);
    free(g->axes[i].values);
  }
  g->naxes = 0;
}

int ssw_store_close(ssw_store_t **store) {
  if (!store || !*store) return SSW_OK;
  ssw_store_t *s = *store;
  *store = NULL;
  /* close everything even after a failure; report the first */
  int rc = SSW_OK;
#define CLOSE_KEEP(fn, id)                                                              \
  do {                                                                                  \
    if ((id) >= 0 && fn(id) < 0 && rc == SSW_OK) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, #fn); \
    (id) = -1;                                                                          \
  } while (0)
  for (int i = 0; i < SSW_SERIES_COUNT; i++) CLOSE_KEEP(H5Dclose, s->series[i]);
  for (int i = 0; i < SC_COUNT; i++) CLOSE_KEEP(H5Dclose, s->scalar[i]);
  CLOSE_KEEP(H5Sclose, s->mem_k);
  CLOSE_KEEP(H5Sclose, s->mem_one);
  CLOSE_KEEP(H5Sclose, s->fs_traj);
  CLOSE_KEEP(H5Sclose, s->fs_grid);
  CLOSE_KEEP(H5Tclose, s->msg_type);
  CLOSE_KEEP(H5Gclose, s->traj);
  CLOSE_KEEP(H5Gclose, s->cell);
  CLOSE_KEEP(H5Fclose, s->file); /* collective when parallel */
#undef CLOSE_KEEP
  grid_free(&s->grid);
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

/* ---- cells ---- */

/* Select the block of cells sharing the first `depth` coordinates of prefix index p, in
 * fs_grid (and fs_traj, all K points). Returns the number of cells in the block. */
static int select_block(ssw_store_t *s, int depth, int64_t p, int64_t *ncells) {
  hsize_t start[SSW_MAX_AXES + 1] = {0}, count[SSW_MAX_AXES + 1];
  int64_t per = 1;
  for (int i = s->grid.naxes - 1; i >= 0; i--) {
    if (i >= depth) {
      count[i] = (hsize_t)s->grid.axes[i].count;
      per *= s->grid.axes[i].count;
    } else {
      count[i] = 1;
      start[i] = (hsize_t)(p % s->grid.axes[i].count);
      p /= s->grid.axes[i].count;
    }
  }
  *ncells = per;
  H5_CHECK(H5Sselect_hyperslab(s->fs_grid, H5S_SELECT_SET, start, NULL, count, NULL));
  if (s->fs_traj >= 0) {
    start[s->grid.naxes] = 0;
    count[s->grid.naxes] = (hsize_t)s->k;
    H5_CHECK(H5Sselect_hyperslab(s->fs_traj, H5S_SELECT_SET, start, NULL, count, NULL));
  }
  return SSW_OK;
}

int ssw_store_write_cell(ssw_store_t *s, int64_t index, const ssw_result_t *r, int rank) {
  SSW_REQUIRE(!s->readonly, SSW_ERR_INTERNAL, "store opened read-only");
  SSW_REQUIRE(index >= 0 && index < s->ncells, SSW_ERR_INTERNAL, "cell %lld out of range", (long long)index);
  SSW_REQUIRE(r->k == s->k, SSW_ERR_INTERNAL, "cell %lld has %lld record points, the file %lld",
              (long long)index, (long long)r->k, (long long)s->k);
  int64_t one;
  SSW_TRY(select_block(s, s->grid.naxes, index, &one));
  /* 1. trajectories */
  for (int i = 0; i < SSW_SERIES_COUNT; i++)
    if (s->series_mask & (1u << i))
      H5_CHECK(H5Dwrite(s->series[i], H5T_NATIVE_DOUBLE, s->mem_k, s->fs_traj, H5P_DEFAULT, r->series[i]));
  /* 2. scalars and checksum, 3. status last (the table's order) */
  cell_values_t v;
  values_from_result(r, rank, &v);
  v.u32[SC_CHECKSUM] = checksum_values((const double *const *)r->series, s->k, s->series_mask, &v);
  for (int which = 0; which < SC_COUNT; which++)
    H5_CHECK(H5Dwrite(s->scalar[which], sc_mem_type(s, scalar_defs[which].kind), s->mem_one, s->fs_grid,
                      H5P_DEFAULT, sc_ptr(&v, which)));
  return SSW_OK;
}

int ssw_store_write_status(ssw_store_t *s, int64_t index, int8_t status) {
  SSW_REQUIRE(!s->readonly, SSW_ERR_INTERNAL, "store opened read-only");
  int64_t one;
  SSW_TRY(select_block(s, s->grid.naxes, index, &one));
  H5_CHECK(H5Dwrite(s->scalar[SC_STATUS], H5T_NATIVE_INT8, s->mem_one, s->fs_grid, H5P_DEFAULT, &status));
  return SSW_OK;
}

int ssw_store_read_status(ssw_store_t *s, int8_t *status) {
  H5_CHECK(H5Dread(s->scalar[SC_STATUS], H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status));
  return SSW_OK;
}

/* A block of cells read back: every series and scalar as stored. */
typedef struct {
  int64_t cap;                       /* cells it holds */
  double *series[SSW_SERIES_COUNT];  /* each (cap, K) */
  unsigned char *scalar[SC_COUNT];   /* each (cap) elements of sc_size bytes */
} block_t;

static void block_free(block_t *b) {
  for (int i = 0; i < SSW_SERIES_COUNT; i++) free(b->series[i]);
  for (int i = 0; i < SC_COUNT; i++) free(b->scalar[i]);
}

static int block_alloc(block_t *b, const ssw_store_t *s, int64_t cap) {
  memset(b, 0, sizeof *b);
  b->cap = cap;
  for (int i = 0; i < SSW_SERIES_COUNT; i++)
    if (s->series_mask & (1u << i)) SSW_ALLOC(b->series[i], (size_t)cap * (size_t)s->k);
  for (int i = 0; i < SC_COUNT; i++) SSW_ALLOC(b->scalar[i], (size_t)cap * sc_size(scalar_defs[i].kind));
  return SSW_OK;
}

static int block_read(ssw_store_t *s, int depth, int64_t p, block_t *b) {
  int64_t n;
  SSW_TRY(select_block(s, depth, p, &n));
  hsize_t ncell = (hsize_t)n, nval = (hsize_t)n * (hsize_t)s->k;
  hid_t mem_cells, mem_vals;
  H5_HID(mem_cells, H5Screate_simple(1, &ncell, NULL));
  H5_HID(mem_vals, H5Screate_simple(1, &nval, NULL));
  for (int i = 0; i < SSW_SERIES_COUNT; i++)
    if (s->series_mask & (1u << i))
      H5_CHECK(H5Dread(s->series[i], H5T_NATIVE_DOUBLE, mem_vals, s->fs_traj, H5P_DEFAULT, b->series[i]));
  for (int i = 0; i < SC_COUNT; i++)
    H5_CHECK(H5Dread(s->scalar[i], sc_mem_type(s, scalar_defs[i].kind), mem_cells, s->fs_grid, H5P_DEFAULT,
                     b->scalar[i]));
  H5_CLOSE(H5Sclose, mem_vals);
  H5_CLOSE(H5Sclose, mem_cells);
  return SSW_OK;
}

/* Cell j of a block as values + series pointers into the block. */
static void block_cell(const ssw_store_t *s, const block_t *b, int64_t j, cell_values_t *v, const double **series) {
  memset(v, 0, sizeof *v);
  for (int i = 0; i < SSW_SERIES_COUNT; i++) series[i] = b->series[i] ? b->series[i] + j * s->k : NULL;
  for (int which = 0; which < SC_COUNT; which++) {
    size_t size = sc_size(scalar_defs[which].kind);
    memcpy((void *)sc_ptr(v, which), b->scalar[which] + (size_t)j * size, size);
  }
}

int ssw_store_read_cell(ssw_store_t *s, int64_t index, ssw_result_t *r, uint32_t *checksum, int32_t *rank) {
  SSW_REQUIRE(index >= 0 && index < s->ncells, SSW_ERR_INPUT, "cell %lld out of range", (long long)index);
  SSW_REQUIRE(r->k == s->k, SSW_ERR_INTERNAL, "result has %lld record points, the file %lld", (long long)r->k,
              (long long)s->k);
  block_t b;
  SSW_TRY(block_alloc(&b, s, 1));
  int rc = block_read(s, s->grid.naxes, index, &b);
  if (rc == SSW_OK) {
    cell_values_t v;
    const double *series[SSW_SERIES_COUNT];
    block_cell(s, &b, 0, &v, series);
    values_to_result(&v, r);
    for (int i = 0; i < SSW_SERIES_COUNT; i++)
      for (int64_t t = 0; t < s->k; t++) r->series[i][t] = series[i] ? series[i][t] : NAN;
    if (checksum) *checksum = v.u32[SC_CHECKSUM];
    if (rank) *rank = v.i32[SC_RANK];
  }
  block_free(&b);
  return rc == SSW_OK ? SSW_OK : ssw_error_frame(rc, __FILE__, __LINE__, __func__);
}

/* Blocks of at most this many cells keep verify's memory bounded (about 8 MB per series at
 * K = 100). */
enum { VERIFY_BLOCK_CELLS = 10000 };

int ssw_store_verify(ssw_store_t *s, const int8_t *status, uint8_t *damaged, int64_t *ndamaged) {
  int depth = 0;
  int64_t per = s->ncells, nblocks = 1;
  while (depth < s->grid.naxes && per > VERIFY_BLOCK_CELLS) {
    per /= s->grid.axes[depth].count;
    nblocks *= s->grid.axes[depth].count;
    depth++;
  }
  block_t b;
  SSW_TRY(block_alloc(&b, s, per));
  *ndamaged = 0;
  int rc = SSW_OK;
  for (int64_t p = 0; p < nblocks && rc == SSW_OK; p++) {
    bool any = false;
    for (int64_t j = 0; j < per; j++) {
      damaged[p * per + j] = 0;
      any = any || status[p * per + j] != 0;
    }
    if (!any) continue;
    rc = block_read(s, depth, p, &b);
    for (int64_t j = 0; j < per && rc == SSW_OK; j++) {
      if (status[p * per + j] == 0) continue;
      cell_values_t v;
      const double *series[SSW_SERIES_COUNT];
      block_cell(s, &b, j, &v, series);
      uint32_t crc = checksum_values(series, s->k, s->series_mask, &v);
      if (crc != v.u32[SC_CHECKSUM] || v.i8[SC_STATUS] != status[p * per + j]) {
        damaged[p * per + j] = 1;
        (*ndamaged)++;
      }
    }
  }
  block_free(&b);
  return rc == SSW_OK ? SSW_OK : ssw_error_frame(rc, __FILE__, __LINE__, __func__);
}
