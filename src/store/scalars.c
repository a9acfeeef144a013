/* The per-cell scalars of /cell (store_impl.h): the table, their memory and file types,
 * conversion to and from a result, and the cell checksum (store.h). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "store_impl.h"

#define AT(field) offsetof(ssw_result_t, field)
const ssw_scalar_def_t ssw_scalar_defs[SC_COUNT] = {
  [SC_INIT_LOSS] = {"init_loss", SC_F64, NAN, "L(theta_0)", 1, AT(init_loss)},
  [SC_FINAL_LOSS] = {"final_loss", SC_F64, NAN, "L at the last evaluated step", 1, AT(final_loss)},
  [SC_ITERS] = {"iters", SC_I64, 0, "updates done when the cell stopped", 1, AT(iters)},
  [SC_ITERS_TO_TOL] = {"iters_to_tol", SC_I64, -1, "first step meeting tol or tol_rel, -1 if never", 1,
                       AT(iters_to_tol)},
  [SC_WALL_S] = {"wall_s", SC_F64, NAN, "seconds of training, whole cell", 1, AT(wall_s)},
  [SC_GFLOPS] = {"gflops", SC_F64, NAN, "model GFLOP/s of the cell", 1, AT(gflops)},
  [SC_RANK] = {"rank", SC_I32, -1, "MPI rank that trained the cell, -1 if pending", 1, 0},
  [SC_NTK_MIN] = {"ntk_min", SC_F64, NAN, "smallest eigenvalue of the NTK Gram matrix at init", 1, AT(ntk_min)},
  [SC_NTK_MAX] = {"ntk_max", SC_F64, NAN, "largest eigenvalue of the NTK Gram matrix at init", 1, AT(ntk_max)},
  [SC_LOSS_RISES] = {"loss_rises", SC_I64, -1, "steps (GD) or record intervals (SGD) where the loss rose by more "
                     "than 1e-10 relative", 2, AT(loss_rises)},
  [SC_MAX_RISE] = {"max_rise", SC_F64, NAN, "largest relative rise of the loss, 0 if none", 2, AT(max_rise)},
  [SC_EDGE_RATIO_INIT] = {"edge_ratio_init", SC_F64, NAN, "lambda_max(J D J^T / n) / 2 at init, D the steps: "
                          "above 1 the first steps are unstable", 2, AT(edge_ratio_init)},
  [SC_EDGE_RATIO_FINAL] = {"edge_ratio_final", SC_F64, NAN, "the edge ratio at the last step", 2,
                           AT(edge_ratio_final)},
  [SC_FINAL_GRAD_NORM] = {"final_grad_norm", SC_F64, NAN, "last recorded grad_norm", 2,
                          AT(final_series[SSW_SERIES_GRAD_NORM])},
  [SC_FINAL_INNER_DIST] = {"final_inner_dist", SC_F64, NAN, "last recorded inner_dist", 2,
                           AT(final_series[SSW_SERIES_INNER_DIST])},
  [SC_FINAL_OUTER_DIST] = {"final_outer_dist", SC_F64, NAN, "last recorded outer_dist", 2,
                           AT(final_series[SSW_SERIES_OUTER_DIST])},
  [SC_FINAL_PATTERN_CHANGE] = {"final_pattern_change", SC_F64, NAN, "last recorded pattern_change", 2,
                               AT(final_series[SSW_SERIES_PATTERN_CHANGE])},
  [SC_FINAL_TEST_LOSS] = {"final_test_loss", SC_F64, NAN, "last recorded test_loss", 2,
                          AT(final_series[SSW_SERIES_TEST_LOSS])},
  [SC_LOSS_RATIO] = {"loss_ratio", SC_F64, NAN, "final_loss / init_loss", 2, AT(loss_ratio)},
  [SC_DIAGNOSIS] = {"diagnosis", SC_I8, 0, "why a max_iters cell did not converge (names: flag_values, "
                    "flag_meanings)", 2, AT(diagnosis)},
  [SC_MESSAGE] = {"message", SC_MSG, 0, "failure text for status 4", 1, 0},
  [SC_CHECKSUM] = {"checksum", SC_U32, 0, "CRC-32 of the cell's trajectory and scalars (store.h)", 1, 0},
  [SC_STATUS] = {"status", SC_I8, 0, "the cell's verdict (names: flag_values, flag_meanings); written last", 1,
                 AT(status)},
};
#undef AT

/* Each /traj series' description attribute (the file says what it holds). */
const char *const ssw_series_descriptions[SSW_SERIES_COUNT] = {
  [SSW_SERIES_LOSS] = "training loss L(theta_t); NaN after an early stop",
  [SSW_SERIES_GRAD_NORM] = "||grad L|| over trained parameters",
  [SSW_SERIES_INNER_DIST] = "||W_t - W_0||_F / ||W_0||_F",
  [SSW_SERIES_OUTER_DIST] = "||a_t - a_0|| / ||a_0|| (NaN when a_0 = 0)",
  [SSW_SERIES_PATTERN_CHANGE] = "fraction of (i, j) whose preactivation sign differs from step 0",
  [SSW_SERIES_TEST_LOSS] = "loss on test_n fresh samples",
  [SSW_SERIES_EDGE_RATIO] = "lambda_max(J D J^T / n) / 2 at the step: above 1 unstable (record_sharpness)",
};

static const char *sc_type_name(ssw_sc_kind_t kind) {
  switch (kind) {
  case SC_F64: return "float64";
  case SC_I64: return "int64";
  case SC_I32: return "int32";
  case SC_U32: return "uint32";
  case SC_I8: return "int8";
  case SC_MSG: return "string";
  }
  return "?";
}

int ssw_store_outputs(ssw_store_output_t *out, int max) {
  int n = 0;
  for (int s = 0; s < SSW_SERIES_COUNT && n < max; s++)
    out[n++] = (ssw_store_output_t){"traj", ssw_series_names[s], "float64", ssw_series_descriptions[s]};
  for (int which = 0; which < SC_COUNT && n < max; which++)
    out[n++] = (ssw_store_output_t){"cell", ssw_scalar_defs[which].name, sc_type_name(ssw_scalar_defs[which].kind),
                                    ssw_scalar_defs[which].description};
  return n;
}

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
  const char *base = (const char *)r;
  for (int which = 0; which < SC_COUNT; which++) {
    size_t at = ssw_scalar_defs[which].offset;
    switch (ssw_scalar_defs[which].kind) {
    case SC_F64: memcpy(&v->f64[which], base + at, sizeof(double)); break;
    case SC_I64: memcpy(&v->i64[which], base + at, sizeof(int64_t)); break;
    case SC_I8: memcpy(&v->i8[which], base + at, sizeof(int8_t)); break;
    case SC_I32: case SC_U32: case SC_MSG: break;
    }
  }
  v->i32[SC_RANK] = rank;
  size_t len = strnlen(r->message, SSW_MESSAGE_MAX - 1);
  memcpy(v->msg, r->message, len); /* the rest stays NUL: deterministic padding */
}

void ssw_sc_to_result(const ssw_cell_values_t *v, ssw_result_t *r) {
  char *base = (char *)r;
  for (int which = 0; which < SC_COUNT; which++) {
    size_t at = ssw_scalar_defs[which].offset;
    switch (ssw_scalar_defs[which].kind) {
    case SC_F64: memcpy(base + at, &v->f64[which], sizeof(double)); break;
    case SC_I64: memcpy(base + at, &v->i64[which], sizeof(int64_t)); break;
    case SC_I8: memcpy(base + at, &v->i8[which], sizeof(int8_t)); break;
    case SC_I32: case SC_U32: case SC_MSG: break;
    }
  }
  memcpy(r->message, v->msg, SSW_MESSAGE_MAX);
  r->message[SSW_MESSAGE_MAX - 1] = '\0';
}

/* The fill values of a cell never written (a scalar a format lacks reads as its fill). */
void ssw_sc_fill(ssw_cell_values_t *v) {
  memset(v, 0, sizeof *v);
  for (int which = 0; which < SC_COUNT; which++) {
    double fill = ssw_scalar_defs[which].fill;
    switch (ssw_scalar_defs[which].kind) {
    case SC_F64: v->f64[which] = fill; break;
    case SC_I64: v->i64[which] = (int64_t)fill; break;
    case SC_I32: v->i32[which] = (int32_t)fill; break;
    case SC_U32: v->u32[which] = (uint32_t)fill; break;
    case SC_I8: v->i8[which] = (int8_t)fill; break;
    case SC_MSG: break;
    }
  }
}

/* ---- the checksum: CRC-32 (reflected polynomial 0xEDB88320, as zlib.crc32) ---- */

uint32_t ssw_crc32_update(uint32_t crc, const void *data, size_t len) {
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

uint32_t ssw_sc_checksum(const double *const *series, int64_t k, unsigned mask, const ssw_cell_values_t *v,
                         int version) {
  uint32_t crc = 0;
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    if (mask & (1u << s)) crc = ssw_crc32_update(crc, series[s], (size_t)k * sizeof(double));
  for (int which = 0; which < SC_COUNT; which++) {
    if (which == SC_CHECKSUM || !ssw_sc_present(which, version)) continue;
    crc = ssw_crc32_update(crc, ssw_sc_ptr(v, which), ssw_sc_size(ssw_scalar_defs[which].kind));
  }
  return crc;
}

uint32_t ssw_store_cell_checksum(const ssw_result_t *r, unsigned series_mask, int32_t rank) {
  ssw_cell_values_t v;
  ssw_sc_from_result(r, rank, &v);
  return ssw_sc_checksum((const double *const *)r->series, r->k, series_mask, &v, SSW_FORMAT_CURRENT);
}

double ssw_store_cell_bytes(int64_t k, int nseries) {
  double bytes = (double)k * (double)nseries * sizeof(double);
  for (int which = 0; which < SC_COUNT; which++) bytes += (double)ssw_sc_size(ssw_scalar_defs[which].kind);
  return bytes;
}

int ssw_store_result_scalars(const ssw_result_t *r, const char **names, double *values) {
  ssw_cell_values_t v;
  ssw_sc_from_result(r, -1, &v);
  int count = 0;
  for (int which = 0; which < SC_COUNT && count < SSW_STORE_SCALARS_MAX; which++) {
    const ssw_sc_kind_t kind = ssw_scalar_defs[which].kind;
    if (which == SC_STATUS || (kind != SC_F64 && kind != SC_I64 && kind != SC_I8)) continue;
    names[count] = ssw_scalar_defs[which].name;
    values[count++] = kind == SC_F64 ? v.f64[which] : kind == SC_I64 ? (double)v.i64[which] : (double)v.i8[which];
  }
  return count;
}
