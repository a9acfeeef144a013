/* Checkpoints of the cells a stop interrupted (DESIGN.md §13): one file per cell in a
 * directory beside the sweep file, OUT.h5.checkpoints/cell-<index>.ckpt, so that `run
 * --resume` continues a cell where a signal stopped it instead of from step 0.
 *
 * A file (native byte order, little-endian on every machine we run on):
 *   offset  0  magic "SSWCKPT1" (8 bytes)
 *           8  uint32 layout version (SSW_CHECKPOINT_VERSION)
 *          12  uint32 sweep key: CRC-32 of the canonical sweep and the software version (each
 *              with its NUL), so that a checkpoint of another sweep, or of another build's
 *              arithmetic, is never continued
 *          16  int64 cell index, then int64 P, k, nm (the state's sizes, train_state.h)
 *          48  int64 payload bytes
 *          56  payload: the state's fields in ssw_train_state_fields order
 *         end  uint32 CRC-32 (zlib's) of every byte before it
 * Written under a temporary name in the same directory, fsync'ed, renamed over the old
 * one and the directory fsync'ed: a reader sees the old checkpoint or the new one, never a
 * mix, even after a crash. A file that fails any check is ignored (the caller says so in one
 * line) and the cell starts again from step 0.
 *
 * Every function here is plain POSIX I/O on one rank: not collective.
 */
#ifndef SHALLOWSWEEP_CHECKPOINT_H
#define SHALLOWSWEEP_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shallowsweep/error.h"
#include "shallowsweep/train_state.h"

#define SSW_CHECKPOINT_MAGIC "SSWCKPT1"
enum { SSW_CHECKPOINT_VERSION = 1, SSW_CHECKPOINT_HEADER_BYTES = 56 };
#define SSW_CHECKPOINT_DIR_SUFFIX ".checkpoints"

typedef struct ssw_checkpoints ssw_checkpoints_t;

/* The checkpoints of the sweep file out_path (its directory out_path + ".checkpoints", which
 * need not exist yet), keyed by the sweep's canonical text and this build's version; lists
 * the cells that have a checkpoint file now (one readdir). ssw_checkpoints_close accepts NULL
 * and sets *ck to NULL. */
SSW_NODISCARD int ssw_checkpoints_open(ssw_checkpoints_t **ck, const char *out_path, const char *sweep_canonical);
void ssw_checkpoints_close(ssw_checkpoints_t **ck);
const char *ssw_checkpoints_dir(const ssw_checkpoints_t *ck);
/* Whether cell index had a checkpoint file when ck was opened. */
bool ssw_checkpoints_listed(const ssw_checkpoints_t *ck, int64_t index);
/* How many cells had one. */
int64_t ssw_checkpoints_nlisted(const ssw_checkpoints_t *ck);
/* The file of cell index, into buf. */
void ssw_checkpoint_path(const ssw_checkpoints_t *ck, int64_t index, char *buf, size_t size);

/* Keep s as cell index's checkpoint, atomically (creates the directory if needed).
 * SSW_ERR_IO with the path and the cause when it cannot be written; the old checkpoint, if
 * any, is then intact. */
SSW_NODISCARD int ssw_checkpoint_save(ssw_checkpoints_t *ck, int64_t index, const ssw_train_state_t *s);
/* Cell index's checkpoint into *s (created). SSW_OK with *s NULL when there is none (why "")
 * or it cannot be used: damaged, truncated, of another sweep, cell, layout or build (why says
 * which, in a phrase). Other codes only for failures of the machine (out of memory). */
SSW_NODISCARD int ssw_checkpoint_load(ssw_checkpoints_t *ck, int64_t index, ssw_train_state_t **s, char *why,
                                      size_t why_size);
/* Delete cell index's checkpoint (none is fine). SSW_ERR_IO when it exists and stays. */
SSW_NODISCARD int ssw_checkpoint_remove(ssw_checkpoints_t *ck, int64_t index);
/* Every cell's checkpoint and leftover temporary file, then the directory itself (once the
 * sweep is complete). A directory that holds anything else is left, with SSW_OK. */
SSW_NODISCARD int ssw_checkpoints_remove_all(ssw_checkpoints_t *ck);

#endif
