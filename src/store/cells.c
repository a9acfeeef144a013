/* A sweep file's cells: writing one (trajectories, scalars and checksum, status last),
 * reading one back, reading every status, and verifying the checksums of done cells. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/check.h"
#include "store_impl.h"

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
  ssw_cell_values_t v;
  ssw_sc_from_result(r, rank, &v);
  v.u32[SC_CHECKSUM] = ssw_sc_checksum((const double *const *)r->series, s->k, s->series_mask, &v, s->version);
  for (int which = 0; which < SC_COUNT; which++)
    H5_CHECK(H5Dwrite(s->scalar[which], ssw_sc_mem_type(s, ssw_scalar_defs[which].kind), s->mem_one, s->fs_grid,
                      H5P_DEFAULT, ssw_sc_ptr(&v, which)));
  return SSW_OK;
}

int ssw_store_write_status(ssw_store_t *s, int64_t index, int8_t status) {
  SSW_REQUIRE(!s->readonly, SSW_ERR_INTERNAL, "store opened read-only");
  int64_t one;
  SSW_TRY(select_block(s, s->grid.naxes, index, &one));
  H5_CHECK(H5Dwrite(s->scalar[SC_STATUS], H5T_NATIVE_INT8, s->mem_one, s->fs_grid, H5P_DEFAULT, &status));
  return SSW_OK;
}

int ssw_store_write_statuses(ssw_store_t *s, const int8_t *status) {
  SSW_REQUIRE(!s->readonly, SSW_ERR_INTERNAL, "store opened read-only");
  H5_CHECK(H5Dwrite(s->scalar[SC_STATUS], H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status));
  return SSW_OK;
}

int ssw_store_read_status(ssw_store_t *s, int8_t *status) {
  H5_CHECK(H5Dread(s->scalar[SC_STATUS], H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status));
  return SSW_OK;
}

int ssw_store_read_diagnosis(ssw_store_t *s, int8_t *diagnosis) {
  if (s->scalar[SC_DIAGNOSIS] < 0) {
    memset(diagnosis, SSW_DIAG_NONE, (size_t)s->ncells);
    return SSW_OK;
  }
  H5_CHECK(H5Dread(s->scalar[SC_DIAGNOSIS], H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, diagnosis));
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
  for (int i = 0; i < SC_COUNT; i++) SSW_ALLOC(b->scalar[i], (size_t)cap * ssw_sc_size(ssw_scalar_defs[i].kind));
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
    if (s->scalar[i] >= 0) /* absent from this format: block_cell gives the fill value */
      H5_CHECK(H5Dread(s->scalar[i], ssw_sc_mem_type(s, ssw_scalar_defs[i].kind), mem_cells, s->fs_grid,
                       H5P_DEFAULT, b->scalar[i]));
  H5_CLOSE(H5Sclose, mem_vals);
  H5_CLOSE(H5Sclose, mem_cells);
  return SSW_OK;
}

/* Cell j of a block as values + series pointers into the block. */
static void block_cell(const ssw_store_t *s, const block_t *b, int64_t j, ssw_cell_values_t *v, const double **series) {
  ssw_sc_fill(v);
  for (int i = 0; i < SSW_SERIES_COUNT; i++) series[i] = b->series[i] ? b->series[i] + j * s->k : NULL;
  for (int which = 0; which < SC_COUNT; which++) {
    if (s->scalar[which] < 0) continue;
    size_t size = ssw_sc_size(ssw_scalar_defs[which].kind);
    memcpy((void *)ssw_sc_ptr(v, which), b->scalar[which] + (size_t)j * size, size);
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
    ssw_cell_values_t v;
    const double *series[SSW_SERIES_COUNT];
    block_cell(s, &b, 0, &v, series);
    ssw_sc_to_result(&v, r);
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
      any = any || ssw_status_is_done(status[p * per + j]);
    }
    if (!any) continue;
    rc = block_read(s, depth, p, &b);
    for (int64_t j = 0; j < per && rc == SSW_OK; j++) {
      if (!ssw_status_is_done(status[p * per + j])) continue;
      ssw_cell_values_t v;
      const double *series[SSW_SERIES_COUNT];
      block_cell(s, &b, j, &v, series);
      uint32_t crc = ssw_sc_checksum(series, s->k, s->series_mask, &v, s->version);
      if (crc != v.u32[SC_CHECKSUM] || v.i8[SC_STATUS] != status[p * per + j]) {
        damaged[p * per + j] = 1;
        (*ndamaged)++;
      }
    }
  }
  block_free(&b);
  return rc == SSW_OK ? SSW_OK : ssw_error_frame(rc, __FILE__, __LINE__, __func__);
}
