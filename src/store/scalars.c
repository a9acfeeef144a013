/* The per-cell scalars of /cell (store_impl.h): the table, their memory and file types,
 * conversion to and from a result, and the cell checksum (store.h). */
#include <math.h>
#include <string.h>

#include "store_impl.h"

const ssw_scalar_def_t ssw_scalar_defs[SC_COUNT] = {
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
  [SC_STATUS] = {"status", SC_I8, 0, "the cell's verdict (names: flag_values, flag_meanings); written last"},
};

size_t ssw_sc_size(ssw_sc_kind_t kind) {
  switch (kind) {
  case SC_F64: case SC_I64: return 8;
  case SC_I32: case SC_U32: return 4;
  case SC_I8: return 1;
  case SC_MSG: return SSW_MESSAGE_MAX;
  }
  return 0;
}

hid_t ssw_sc_mem_type(const ssw_store_t *s, ssw_sc_kind_t kind) {
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

hid_t ssw_sc_file_type(const ssw_store_t *s, ssw_sc_kind_t kind) {
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


const void *ssw_sc_ptr(const ssw_cell_values_t *v, int which) {
  switch (ssw_scalar_defs[which].kind) {
  case SC_F64: return &v->f64[which];
  case SC_I64: return &v->i64[which];
  case SC_I32: return &v->i32[which];
  case SC_U32: return &v->u32[which];
  case SC_I8: return &v->i8[which];
  case SC_MSG: return v->msg;
  }
  return NULL;
}

void ssw_sc_from_result(const ssw_result_t *r, int32_t rank, ssw_cell_values_t *v) {
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

void ssw_sc_to_result(const ssw_cell_values_t *v, ssw_result_t *r) {
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


/* ---- the checksum: CRC-32 (reflected polynomial 0xEDB88320, as zlib.crc32) ---- */

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

uint32_t ssw_sc_checksum(const double *const *series, int64_t k, unsigned mask, const ssw_cell_values_t *v) {
  uint32_t crc = 0;
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    if (mask & (1u << s)) crc = crc32_update(crc, series[s], (size_t)k * sizeof(double));
  for (int which = 0; which < SC_COUNT; which++) {
    if (which == SC_CHECKSUM) continue;
    crc = crc32_update(crc, ssw_sc_ptr(v, which), ssw_sc_size(ssw_scalar_defs[which].kind));
  }
  return crc;
}

uint32_t ssw_store_cell_checksum(const ssw_result_t *r, unsigned series_mask, int32_t rank) {
  ssw_cell_values_t v;
  ssw_sc_from_result(r, rank, &v);
  return ssw_sc_checksum((const double *const *)r->series, r->k, series_mask, &v);
}

double ssw_store_cell_bytes(int64_t k, int nseries) {
  double bytes = (double)k * (double)nseries * sizeof(double);
  for (int which = 0; which < SC_COUNT; which++) bytes += (double)ssw_sc_size(ssw_scalar_defs[which].kind);
  return bytes;
}
