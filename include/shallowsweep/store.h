/* The sweep's HDF5 file (DESIGN.md §4): one file per sweep, created collectively and fully
 * allocated, so that afterwards workers only write raw data and the metadata never changes.
 *
 * Layout (g = grid shape [A1, ..., Ak] in axis order, K = record points):
 *   /                 attrs format, sweep_yaml, sweep_canonical, created, software_version,
 *                     axes (names, in order), name, record_points, series (names in /traj)
 *   /cell/<axis>      (Ai) axis values, a dimension scale: int64 (INT keys, seed), float64
 *                     (REAL), int8 0/1 (BOOL), fixed-length UTF-8 strings (ENUM, "relu")
 *   /cell/<scalar>    g   status int8 (fill 0; attrs flag_values, flag_meanings), init_loss,
 *                         final_loss, wall_s, gflops, ntk_min, ntk_max float64 (fill NaN),
 *                         iters int64 (fill 0), iters_to_tol int64 (fill -1), rank int32
 *                         (fill -1), checksum uint32 (fill 0), message S256 (fill ""); since
 *                         format 2: loss_rises int64 (fill -1), max_rise, edge_ratio_init,
 *                         edge_ratio_final, final_grad_norm, final_inner_dist,
 *                         final_outer_dist, final_pattern_change, final_test_loss, loss_ratio
 *                         float64 (fill NaN), diagnosis int8 (fill 0; flag_values,
 *                         flag_meanings)
 *   /traj/<axis>      the same axis scales again (xarray resolves scales per group)
 *   /traj/step        (K) int64, a dimension scale
 *   /traj/<series>    g + [K] float64, fill NaN: loss, grad_norm, inner_dist, outer_dist,
 *                     pattern_change, and test_loss and edge_ratio when asked for
 *
 * A cell is written in this order: trajectories, scalars and checksum, status last; the cell
 * is done once its status is nonzero. The checksum is CRC-32 (zlib's) over the bytes listed
 * at ssw_store_cell_checksum().
 *
 * Frozen metadata: the root attribute frozen_checksum (CRC-32, written at creation) covers the
 * canonical sweep, the axis names, every axis's values and labels in /cell and /traj, and
 * /traj/step; run --resume refuses a file that fails it and status --verify reports it.
 *
 * Locking: a writer holds an open-file-description lock on one byte of the file itself (shared
 * by every rank of the job, taken exclusively for an instant by rank 0 to prove no other job
 * holds it), so every path or link to the file meets it. Readers take no lock and open with
 * HDF5 file locking off: safe because the metadata is frozen.
 */
#ifndef SHALLOWSWEEP_STORE_H
#define SHALLOWSWEEP_STORE_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/sweep.h"
#include "shallowsweep/train.h"

#define SSW_STORE_FORMAT "shallowsweep/2"
/* Files of shallowsweep 0.1: read by status and the analysis (the descent diagnostics
 * absent), refused by --resume. */
#define SSW_STORE_FORMAT_V1 "shallowsweep/1"

typedef struct ssw_store ssw_store_t;

/* What the file is created from. Every rank passes identical values. */
typedef struct ssw_store_spec {
  const char *name;            /* sweep name */
  const char *sweep_yaml;      /* the sweep file as read */
  const char *sweep_canonical; /* every key, resolved (compared by --resume) */
  const ssw_grid_t *grid;      /* axes, in order, seed last */
  int64_t k;                   /* record points, >= 1 */
  const int64_t *steps;        /* (k) recorded steps */
  unsigned series_mask;        /* bit s set: /traj/<ssw_series_names[s]> exists */
} ssw_store_spec_t;

/* Create path atomically: rank 0 builds it under a temporary name beside it with HDF5's
 * serial driver, locks it and links it to path (never replacing a file); every rank agrees on
 * the outcome before any goes on, so a full disk is one error on every rank, never a hang.
 * Then every rank opens it for writing under the job's lock. path must not exist. Collective
 * on comm. */
SSW_NODISCARD int ssw_store_create(ssw_store_t **store, const char *path, MPI_Comm comm, const ssw_store_spec_t *spec);
/* Open an existing file for writing cells (resume): rank 0 checks the path, the job takes
 * the writer lock (SSW_ERR_INPUT, one line, when another run holds it, whatever path it
 * used), the frozen metadata must match its checksum. Collective on comm. */
SSW_NODISCARD int ssw_store_open(ssw_store_t **store, const char *path, MPI_Comm comm);
/* Open read-only without MPI-IO and without HDF5 file locking (status, analysis of a live
 * file). Not collective. */
SSW_NODISCARD int ssw_store_open_readonly(ssw_store_t **store, const char *path);
/* Close and release the writer lock; collective on the comm the store was opened with (not
 * collective for read-only).
 * Accepts NULL; sets *store to NULL. */
SSW_NODISCARD int ssw_store_close(ssw_store_t **store);

/* Facts read from the file. Not collective. */
int64_t ssw_store_ncells(const ssw_store_t *store);
int64_t ssw_store_k(const ssw_store_t *store);
const ssw_grid_t *ssw_store_grid(const ssw_store_t *store); /* axes rebuilt from the file */
const char *ssw_store_canonical(const ssw_store_t *store);
const char *ssw_store_name(const ssw_store_t *store);
unsigned ssw_store_series_mask(const ssw_store_t *store);

/* Write one cell: trajectories, scalars + checksum, then status. rank is stored in /cell/rank.
 * Independent I/O; not collective. */
SSW_NODISCARD int ssw_store_write_cell(ssw_store_t *store, int64_t index, const ssw_result_t *r, int rank);
/* Set a cell's status alone (resume puts a damaged cell back to pending). Not collective. */
SSW_NODISCARD int ssw_store_write_status(ssw_store_t *store, int64_t index, int8_t status);
/* Write every cell's status from status (ncells): an adaptive sweep's skipped cells, once every
 * other rank has stopped writing (a torn write leaves some skipped cells pending, which a
 * resume marks again). Not collective. */
SSW_NODISCARD int ssw_store_write_statuses(ssw_store_t *store, const int8_t *status);
/* Read every cell's status into status (ncells). Not collective. */
SSW_NODISCARD int ssw_store_read_status(ssw_store_t *store, int8_t *status);
/* Read every cell's diagnosis into diagnosis (ncells); SSW_DIAG_NONE throughout in a file of
 * format 1, which has none. Not collective. */
SSW_NODISCARD int ssw_store_read_diagnosis(ssw_store_t *store, int8_t *diagnosis);
/* Read one cell back into r (r->k == ssw_store_k; r->steps is left alone) and its stored
 * checksum and rank. Not collective. */
SSW_NODISCARD int ssw_store_read_cell(ssw_store_t *store, int64_t index, ssw_result_t *r, uint32_t *checksum, int32_t *rank);
/* The frozen metadata against its checksum: *state 1 matches, 0 the file has none (written
 * before frozen checksums, 2026-12-05), -1 it differs (edited or damaged). Not collective. */
SSW_NODISCARD int ssw_store_check_frozen(ssw_store_t *store, int *state);
/* Bytes of a file created from spec (plan's size: the cells plus 1 MiB for the metadata). */
double ssw_store_file_bytes(const ssw_store_spec_t *spec);
/* Recompute the checksum of every done cell (status != 0); damaged[i] = 1 where the stored
 * checksum does not match, 0 elsewhere; *ndamaged their count. Reads one slab of the first
 * axis at a time. Not collective. */
SSW_NODISCARD int ssw_store_verify(ssw_store_t *store, const int8_t *status, uint8_t *damaged, int64_t *ndamaged);

/* One trained cell in a new serial HDF5 file at path (cell --dump): /X, /y (and /X_test,
 * /y_test), the initial /W0 (m, d), /b0 (m), /a0 (m), the final /W, /b, /a, /steps and /series/<name> (K), the
 * scalars as attributes of /result, the parameters as attributes of /params, and root
 * attributes sweep_canonical and cell_index. Not collective (no MPI-IO). */
SSW_NODISCARD int ssw_store_dump_cell(const char *path, const char *sweep_canonical, int64_t index,
                                      const ssw_trainer_t *trainer, const ssw_result_t *r);

/* The numeric per-cell scalars the file stores, in its order, with their values in r (status,
 * rank, checksum and the message aside): names and values (SSW_STORE_SCALARS_MAX)
 * filled, their count returned. For listings that must name what the file names. */
enum { SSW_STORE_SCALARS_MAX = 32 };
int ssw_store_result_scalars(const ssw_result_t *r, const char **names, double *values);

/* What the file holds, for listings (shallowsweep keys --outputs): each /traj series and /cell
 * scalar with its type and the definition the file's description attributes carry. */
typedef struct ssw_store_output {
  const char *group, *name, *type, *description;
} ssw_store_output_t;
enum { SSW_STORE_OUTPUTS_MAX = 48 };
/* Fill out (at most max) in file order; returns the count. Not collective. */
int ssw_store_outputs(ssw_store_output_t *out, int max);

/* Bytes one cell takes in the file: its scalars and nseries series of k float64 (the size
 * plan prints; the file is fully allocated at creation). Not collective. */
double ssw_store_cell_bytes(int64_t k, int nseries);

/* CRC-32 (the polynomial of zlib.crc32) of a cell as stored, over, in order: each present series
 * (k float64, in ssw_series_names order), then the scalars of /cell in the order of the layout
 * above, checksum aside: init_loss, final_loss (float64), iters, iters_to_tol (int64), wall_s,
 * gflops (float64), rank (int32), ntk_min, ntk_max (float64), [format 2: loss_rises (int64),
 * max_rise, edge_ratio_init, edge_ratio_final, final_grad_norm, final_inner_dist,
 * final_outer_dist, final_pattern_change, final_test_loss, loss_ratio (float64), diagnosis
 * (int8)], message (256 bytes, NUL-padded), status (int8); native little-endian bytes. A
 * format-1 file's cells are checked with the format-1 list. Not collective. */
uint32_t ssw_store_cell_checksum(const ssw_result_t *r, unsigned series_mask, int32_t rank);

#endif
