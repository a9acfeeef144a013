/* Reusing finished cells (DESIGN.md §17, `run NEW.yaml -o NEW.h5 --reuse OLD.h5`): the finished
 * cells of older sweep files whose resolved parameters equal a cell of a new sweep are copied
 * into the new file instead of trained, so that the new file equals a fresh run of the new
 * sweep in every dataset but the run-dependent ones (wall_s, gflops, rank and the checksum over
 * them, which keep the old file's values).
 *
 * A cell is a pure function of its parameters (DESIGN.md §2, "Randomness"), so two cells with
 * equal parameters, every key and doubles bit for bit (ssw_params_bytes), give the same bits;
 * max_iters, record_points and record_spacing are keys, so their recorded steps agree too.
 * Old files are opened read-only without any lock and never written.
 */
#ifndef SHALLOWSWEEP_REUSE_H
#define SHALLOWSWEEP_REUSE_H

#include <stdint.h>
#include <stdio.h>

#include "shallowsweep/error.h"
#include "shallowsweep/store.h"
#include "shallowsweep/sweep.h"

enum { SSW_REUSE_FILES_MAX = 64 }; /* --reuse given at most this often */

typedef struct ssw_reuse ssw_reuse_t;

/* Open paths (npaths, in priority order: a cell finished in two files is copied from the
 * first) read-only, check each, and match their finished cells to the cells of sweep. Refuses
 * with SSW_ERR_INPUT and one line naming the path and the cause when a file is missing, not
 * HDF5, not a shallowsweep file, of format 1, damaged (frozen metadata against its checksum, a
 * read that fails), being written (a run holds its writer lock: asked without taking it), or
 * when none of its cells has the parameters of a cell of sweep (the line names the keys whose
 * values differ between the two canonical sweeps). A finished cell whose checksum fails is not
 * a source. sweep must outlive reuse. Not collective (rank 0 of a run; plan). */
SSW_NODISCARD int ssw_reuse_create(ssw_reuse_t **reuse, const ssw_sweep_t *sweep, const char *const *paths,
                                   int npaths);
/* Close the old files. Accepts NULL; sets *reuse to NULL. */
void ssw_reuse_destroy(ssw_reuse_t **reuse);

/* The old cell that will fill cell `cell` of the new sweep: its index in file *file (0-based,
 * the order of paths), or -1 when there is none (no finished cell matches, or the matching
 * one fails its checksum). Not collective. */
int64_t ssw_reuse_source(const ssw_reuse_t *reuse, int64_t cell, int *file);
/* Cells of the new sweep with a source; those whose only match failed its checksum. */
int64_t ssw_reuse_count(const ssw_reuse_t *reuse);
int64_t ssw_reuse_damaged(const ssw_reuse_t *reuse);
/* The number of files, one's path, and how many cells it is the source of. */
int ssw_reuse_nfiles(const ssw_reuse_t *reuse);
const char *ssw_reuse_path(const ssw_reuse_t *reuse, int file);
int64_t ssw_reuse_file_count(const ssw_reuse_t *reuse, int file);

/* What ssw_reuse_copy did. */
typedef struct ssw_reuse_stats {
  int64_t copied[SSW_REUSE_FILES_MAX]; /* cells copied from each file */
  int64_t total;                       /* their sum */
  int64_t refused;                     /* sources not copied (checksum): left pending, to train */
} ssw_reuse_stats_t;

/* Copy into store every cell of the new sweep that has a source and whose status (ncells, as
 * read from store) is pending, updating status. Each cell is read from its old file and its
 * checksum checked, written as a worker writes it (trajectories, scalars and checksum, status
 * last); once all are written, they are read back and checked again. A source that fails its check now stays pending, with one
 * line on notes (prefixed by who). A copy that reads back differently, like any failure here, is
 * an SSW_ERR_IO error (never SSW_ERR_INPUT: the other ranks do not share it, and only a shared
 * input error exits without aborting the job).
 * Independent I/O on store; not collective (rank 0). */
SSW_NODISCARD int ssw_reuse_copy(ssw_reuse_t *reuse, ssw_store_t *store, int8_t *status, FILE *notes,
                                 const char *who, ssw_reuse_stats_t *stats);

#endif
