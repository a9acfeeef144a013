/* Internals shared by the files of src/store (not a public header):
 *   scalars.c  the per-cell scalars of /cell (the table below), their conversion to and from a
 *              result, and the cell checksum
 *   h5util.c   attributes, property lists, string types (every file the store writes)
 *   create.c   the layout of a new sweep file, built collectively under a temporary name
 *   open.c     opening a sweep file and rebuilding its grid; closing
 *   cells.c    writing, reading and verifying cells
 *   dump.c     one cell's data, weights and result in a file of its own (cell --dump)
 *   lock.c     the job's writer lock, on the output file's inode
 *   frozen.c   the checksum of the frozen metadata (axis values and labels, steps, sweep)
 *   checkpoint.c  stopped cells' checkpoints, one plain file per cell beside the sweep file
 *   reuse.c    finished cells of older sweep files matched to a new sweep and copied (run --reuse)
 * Dimension letters: A1..Ak the grid axes (k = naxes), C = A1*...*Ak cells, K record points.
 */
#ifndef SHALLOWSWEEP_STORE_IMPL_H
#define SHALLOWSWEEP_STORE_IMPL_H

#include <hdf5.h>
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/store.h"

/* ---- the per-cell scalars of /cell, in write order: status last ---- */

typedef enum { SC_F64, SC_I64, SC_I32, SC_U32, SC_I8, SC_MSG } ssw_sc_kind_t;
enum {
  SC_INIT_LOSS, SC_FINAL_LOSS, SC_ITERS, SC_ITERS_TO_TOL, SC_WALL_S, SC_GFLOPS, SC_RANK,
  SC_NTK_MIN, SC_NTK_MAX,
  /* since format 2 */
  SC_LOSS_RISES, SC_MAX_RISE, SC_EDGE_RATIO_INIT, SC_EDGE_RATIO_FINAL, SC_FINAL_GRAD_NORM,
  SC_FINAL_INNER_DIST, SC_FINAL_OUTER_DIST, SC_FINAL_PATTERN_CHANGE, SC_FINAL_TEST_LOSS, SC_LOSS_RATIO,
  SC_DIAGNOSIS,
  /* every format */
  SC_MESSAGE, SC_CHECKSUM, SC_STATUS, SC_COUNT
};

/* Formats: 1 (shallowsweep 0.1), 2 (0.2: the descent diagnostics and the diagnosis). */
enum { SSW_FORMAT_V1 = 1, SSW_FORMAT_V2 = 2, SSW_FORMAT_CURRENT = SSW_FORMAT_V2 };

typedef struct {
  const char *name;
  ssw_sc_kind_t kind;
  double fill;
  const char *description;
  int since;       /* the first format that has it */
  size_t offset;   /* of the field in ssw_result_t (SC_F64, SC_I64, SC_I8); rank, checksum and the
                      message are not plain fields */
} ssw_scalar_def_t;
extern const ssw_scalar_def_t ssw_scalar_defs[SC_COUNT];
/* Each /traj series' description attribute. */
extern const char *const ssw_series_descriptions[SSW_SERIES_COUNT];

struct ssw_store {
  hid_t file, cell, traj;
  hid_t scalar[SC_COUNT];          /* /cell/<scalar>, shape (A1..Ak) */
  hid_t series[SSW_SERIES_COUNT];  /* /traj/<series>, shape (A1..Ak, K); -1 if absent */
  hid_t msg_type;                  /* fixed-length string of SSW_MESSAGE_MAX bytes */
  hid_t fs_grid, fs_traj;          /* cached file spaces for hyperslab selections */
  hid_t mem_one, mem_k;            /* memory spaces (1) and (K) */
  bool parallel, readonly;
  int version;                     /* SSW_FORMAT_V1 or _V2: which scalars the file has */
  unsigned series_mask;
  int64_t ncells, k;
  ssw_grid_t grid;                 /* rebuilt from the file; owns values and labels */
  char *canonical, *name;
  int lock_fd;                     /* the writer's lock (lock.c); -1 when read-only */
};

/* The scalars of one cell, as stored. */
typedef struct {
  double f64[SC_COUNT];
  int64_t i64[SC_COUNT];
  int32_t i32[SC_COUNT];
  uint32_t u32[SC_COUNT];
  int8_t i8[SC_COUNT];
  char msg[SSW_MESSAGE_MAX]; /* NUL-padded */
} ssw_cell_values_t;

size_t ssw_sc_size(ssw_sc_kind_t kind);
hid_t ssw_sc_mem_type(const ssw_store_t *s, ssw_sc_kind_t kind);
hid_t ssw_sc_file_type(const ssw_store_t *s, ssw_sc_kind_t kind);
const void *ssw_sc_ptr(const ssw_cell_values_t *v, int which);
void ssw_sc_from_result(const ssw_result_t *r, int32_t rank, ssw_cell_values_t *v);
void ssw_sc_to_result(const ssw_cell_values_t *v, ssw_result_t *r);
void ssw_sc_fill(ssw_cell_values_t *v);
/* The checksum of a cell as stored in a file of format version (store.h,
 * ssw_store_cell_checksum): series (SERIES) each (k) or NULL where absent from mask, then the
 * scalars the format has, in table order. */
uint32_t ssw_sc_checksum(const double *const *series, int64_t k, unsigned mask, const ssw_cell_values_t *v,
                         int version);
/* CRC-32 (zlib's crc32: reflected polynomial 0xEDB88320) of len bytes, continuing crc (0 to
 * start). */
uint32_t ssw_crc32_update(uint32_t crc, const void *data, size_t len);
/* Whether a file of format version has scalar which. */
static inline bool ssw_sc_present(int which, int version) { return ssw_scalar_defs[which].since <= version; }

/* ---- the writer lock (lock.c): an OFD lock on one byte of the output file itself ---- */

/* Rank 0 of a writer: open path, take the byte exclusively, keep it shared. Not collective. */
SSW_NODISCARD int ssw_store_lock_first(const char *path, int *fd);
/* Collective on comm: rank 0 takes the lock first (unless first_taken: it already holds it in
 * *fd), then every other rank shares it. SSW_ERR_INPUT, one line, when another job holds it. */
SSW_NODISCARD int ssw_store_lock(const char *path, MPI_Comm comm, int *fd, bool first_taken);
/* Whether any process holds path's writer lock (a run has it open), asked without taking it.
 * Not collective. */
SSW_NODISCARD int ssw_store_lock_probe(const char *path, bool *held);
/* Release (accepts -1). Not collective. */
void ssw_store_unlock(int *fd);

/* Open a file rank 0 has just created and holds the lock of in first_fd (ignored elsewhere).
 * Collective on comm. */
SSW_NODISCARD int ssw_store_open_locked(ssw_store_t **store, const char *path, MPI_Comm comm, int first_fd);

/* ---- the frozen metadata's checksum (frozen.c) ---- */

/* Compute the checksum of file's frozen metadata and store it as the root attribute
 * "frozen_checksum". At creation; not collective. */
SSW_NODISCARD int ssw_store_write_frozen_checksum(hid_t file);

/* ---- HDF5 helpers (h5util.c) ---- */

/* A variable-length UTF-8 string attribute: one text (scalar), or count texts (1-D). */
SSW_NODISCARD int ssw_h5_attr_write_string(hid_t obj, const char *name, const char *text);
SSW_NODISCARD int ssw_h5_attr_write_strings(hid_t obj, const char *name, const char *const *texts, int count);
SSW_NODISCARD int ssw_h5_attr_write_int64(hid_t obj, const char *name, int64_t value);
SSW_NODISCARD int ssw_h5_attr_write_double(hid_t obj, const char *name, double value);
SSW_NODISCARD int ssw_h5_attr_write_int8s(hid_t obj, const char *name, const int8_t *values, int count);
/* Texts of a string attribute into out (at most max, each malloc'ed); *count how many. */
SSW_NODISCARD int ssw_h5_attr_read_strings(hid_t obj, const char *name, char **out, int max, int *count);
SSW_NODISCARD int ssw_h5_attr_read_string(hid_t obj, const char *name, char **out);
/* A dataset creation property list: early allocation, the fill value (NULL: the type's
 * default), no time stamps. */
SSW_NODISCARD int ssw_h5_make_dcpl(hid_t *dcpl, hid_t mem_type, const void *fill);
/* A fixed-length NUL-padded UTF-8 string type of size bytes. */
SSW_NODISCARD int ssw_h5_make_string_type(hid_t *type, size_t size);
/* File access: MPI-IO on comm when parallel; HDF5 file locking off. */
SSW_NODISCARD int ssw_h5_make_fapl(hid_t *fapl, MPI_Comm comm, bool parallel);

#endif
