/* Finished cells of older sweep files matched to a new sweep and copied into its file
 * (include/shallowsweep/reuse.h, DESIGN.md §17).
 *
 * Matching: every cell of the new sweep goes into an open-addressing table under the FNV-1a
 * hash of its parameters' byte image (ssw_params_bytes); each old file's sweep is rebuilt from
 * the canonical text it stores, and each of its cells is looked up by the same hash, a hit
 * confirmed by comparing the two images in full. Memory: 16 bytes per table slot (two slots
 * per new cell) and 12 bytes per new cell for its source; time: one parameter resolution per
 * cell of either sweep.
 */
#include "shallowsweep/reuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/check.h"
#include "shallowsweep/train.h"
#include "store_impl.h"

/* FNV-1a, 64 bits (Fowler, Noll, Vo; draft-eastlake-fnv): offset basis and prime. */
static const uint64_t FNV_OFFSET = 14695981039346656037ull, FNV_PRIME = 1099511628211ull;

static uint64_t fnv1a(const unsigned char *bytes, size_t len) {
  uint64_t h = FNV_OFFSET;
  for (size_t i = 0; i < len; i++) h = (h ^ bytes[i]) * FNV_PRIME;
  return h;
}

typedef struct {
  ssw_store_t *store;
  char *path;
  int8_t *status;    /* (ncells of the old file) as stored */
  uint8_t *damaged;  /* (ncells of the old file) 1: marked done, checksum fails */
  int64_t supplies;  /* new cells it is the source of */
} old_file_t;

struct ssw_reuse {
  const ssw_sweep_t *sweep;
  int64_t ncells;    /* of the new sweep */
  int32_t *file;     /* (ncells) source file, -1 none */
  int64_t *cell;     /* (ncells) source cell in it */
  int nfiles;
  old_file_t files[SSW_REUSE_FILES_MAX];
  /* the table of new cells: (slots) hash and cell, cell -1 empty; slots a power of two */
  uint64_t *hash;
  int64_t *slot_cell;
  uint64_t slots;
};

/* ---- the table of the new sweep's cells ---- */

static int table_build(ssw_reuse_t *r) {
  r->slots = 16;
  while (r->slots < 2 * (uint64_t)r->ncells) r->slots *= 2;
  SSW_ALLOC(r->hash, r->slots);
  SSW_ALLOC(r->slot_cell, r->slots);
  for (uint64_t i = 0; i < r->slots; i++) r->slot_cell[i] = -1;
  unsigned char bytes[SSW_PARAMS_BYTES_MAX];
  for (int64_t c = 0; c < r->ncells; c++) {
    ssw_params_t p;
    if (ssw_sweep_cell_params(r->sweep, c, &p) != SSW_OK) { /* a cell that cannot run: it fails, trained */
      ssw_error_clear();
      continue;
    }
    uint64_t h = fnv1a(bytes, ssw_params_bytes(&p, bytes)), i = h & (r->slots - 1);
    while (r->slot_cell[i] >= 0) i = (i + 1) & (r->slots - 1);
    r->hash[i] = h;
    r->slot_cell[i] = c;
  }
  return SSW_OK;
}

/* Call fn for every new cell whose parameters have the image bytes (len). Returns how many. */
static int64_t table_find(const ssw_reuse_t *r, const unsigned char *bytes, size_t len,
                          void (*fn)(ssw_reuse_t *, int64_t, void *), void *ctx) {
  uint64_t h = fnv1a(bytes, len);
  int64_t found = 0;
  unsigned char other[SSW_PARAMS_BYTES_MAX];
  for (uint64_t i = h & (r->slots - 1); r->slot_cell[i] >= 0; i = (i + 1) & (r->slots - 1)) {
    if (r->hash[i] != h) continue;
    ssw_params_t p;
    if (ssw_sweep_cell_params(r->sweep, r->slot_cell[i], &p) != SSW_OK) continue; /* it resolved in table_build */
    if (ssw_params_bytes(&p, other) != len || memcmp(bytes, other, len) != 0) continue;
    found++;
    fn((ssw_reuse_t *)r, r->slot_cell[i], ctx);
  }
  return found;
}

/* ---- one old file ---- */

/* The first line of the current error's message (HDF5's stack follows on later lines). */
static void first_line(char *out, size_t size) {
  snprintf(out, size, "%s", ssw_error_message());
  out[strcspn(out, "\n")] = '\0';
}

/* The file must be a sweep file of the current format, not being written, with its frozen
 * metadata intact; then its statuses and checksums are read. */
static int open_old(old_file_t *f) {
  bool held = false;
  SSW_TRY(ssw_store_open_readonly(&f->store, f->path));
  SSW_TRY(ssw_store_lock_probe(f->path, &held));
  SSW_REQUIRE(!held, SSW_ERR_INPUT, "--reuse %s: the file is being written by a shallowsweep run (it holds its "
              "lock): reuse it once that run has exited", f->path);
  SSW_REQUIRE(f->store->version == SSW_FORMAT_CURRENT, SSW_ERR_INPUT, "--reuse %s: format %s (shallowsweep 0.1): its "
              "cells lack the descent diagnostics of format %s and cannot be copied", f->path, SSW_STORE_FORMAT_V1,
              SSW_STORE_FORMAT);
  int frozen = 0;
  SSW_TRY(ssw_store_check_frozen(f->store, &frozen));
  SSW_REQUIRE(frozen >= 0, SSW_ERR_INPUT, "--reuse %s: damaged: its frozen metadata (axis values or labels, recorded "
              "steps, or the canonical sweep) does not match the checksum written at creation", f->path);
  int64_t n = ssw_store_ncells(f->store), ndamaged = 0;
  SSW_ALLOC(f->status, n);
  SSW_ALLOC(f->damaged, n);
  SSW_TRY(ssw_store_read_status(f->store, f->status));
  SSW_TRY(ssw_store_verify(f->store, f->status, f->damaged, &ndamaged));
  return SSW_OK;
}

/* The old file's sweep, from the canonical text it stores, must describe its grid: the same
 * axes, counts and labels (else its cells' parameters are unknown). */
static int old_sweep(const old_file_t *f, ssw_sweep_t **sweep) {
  const char *canonical = ssw_store_canonical(f->store);
  if (ssw_sweep_load_text(sweep, f->path, canonical, strlen(canonical), NULL, 0) != SSW_OK) {
    char cause[512];
    first_line(cause, sizeof cause);
    return SSW_ERROR(SSW_ERR_INPUT, "--reuse %s: its canonical sweep does not load here (%s)", f->path, cause);
  }
  const ssw_grid_t *a = ssw_sweep_grid(*sweep), *b = ssw_store_grid(f->store);
  bool same = a->naxes == b->naxes && a->ncells == b->ncells;
  for (int i = 0; same && i < a->naxes; i++) {
    same = strcmp(a->axes[i].name, b->axes[i].name) == 0 && a->axes[i].count == b->axes[i].count;
    for (int64_t j = 0; same && j < a->axes[i].count; j++) same = strcmp(a->axes[i].labels[j], b->axes[i].labels[j]) == 0;
  }
  if (same) return SSW_OK;
  ssw_sweep_destroy(sweep);
  return SSW_ERROR(SSW_ERR_INPUT, "--reuse %s: its canonical sweep does not describe its axes (written by another "
                   "version of shallowsweep?): its cells cannot be matched", f->path);
}

typedef struct {
  int file;
  int64_t cell;
  bool sound; /* its checksum matches */
} candidate_t;

/* A finished old cell offered to new cell c: taken unless c has a source already (an earlier
 * file's, or a sound one over a damaged one). */
static void offer(ssw_reuse_t *r, int64_t c, void *ctx) {
  const candidate_t *k = ctx;
  if (r->file[c] >= 0 && (!k->sound || !r->files[r->file[c]].damaged[r->cell[c]])) return;
  r->file[c] = k->file;
  r->cell[c] = k->cell;
}

static void ignore(ssw_reuse_t *r, int64_t c, void *ctx) { (void)r, (void)c, (void)ctx; }

/* Match every cell of file `which`; refuse when none has the parameters of a new cell. */
static int match_file(ssw_reuse_t *r, int which) {
  old_file_t *f = &r->files[which];
  ssw_sweep_t *sweep = NULL;
  SSW_TRY(old_sweep(f, &sweep));
  int64_t matched = 0, n = ssw_store_ncells(f->store);
  unsigned char bytes[SSW_PARAMS_BYTES_MAX];
  for (int64_t o = 0; o < n; o++) {
    ssw_params_t p;
    if (ssw_sweep_cell_params(sweep, o, &p) != SSW_OK) {
      ssw_error_clear();
      continue;
    }
    candidate_t k = {.file = which, .cell = o, .sound = !f->damaged[o]};
    bool finished = ssw_status_is_done(f->status[o]); /* trained and written */
    matched += table_find(r, bytes, ssw_params_bytes(&p, bytes), finished ? offer : ignore, &k);
  }
  ssw_sweep_destroy(&sweep);
  if (matched > 0) return SSW_OK;
  char diff[2048], keys[2048] = "";
  ssw_sweep_canonical_diff(ssw_store_canonical(f->store), ssw_sweep_canonical(r->sweep), diff, sizeof diff);
  for (char *save = NULL, *key = strtok_r(diff, ", ", &save); key; key = strtok_r(NULL, ", ", &save))
    if (strcmp(key, "name") != 0 && strcmp(key, "description") != 0) /* no cell's parameter */
      snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", keys[0] ? ", " : "", key);
  return SSW_ERROR(SSW_ERR_INPUT, "--reuse %s: none of its cells has the parameters of a cell of the new sweep; keys "
                   "that differ: %s", f->path, keys[0] ? keys : "none but the name (cells that cannot run?)");
}

/* Any failure reading an old file becomes one line naming it (a user's file, not our fault). */
static int old_failed(const char *path, int rc) {
  if (rc == SSW_ERR_INPUT || ssw_error_code() == SSW_ERR_INPUT) {
    char cause[1024];
    first_line(cause, sizeof cause);
    return SSW_ERROR(SSW_ERR_INPUT, "%s%s", strncmp(cause, "--reuse ", 8) == 0 ? "" : "--reuse: ", cause);
  }
  char cause[512];
  first_line(cause, sizeof cause);
  return SSW_ERROR(SSW_ERR_INPUT, "--reuse %s: damaged: it cannot be read as a shallowsweep file (%s)", path, cause);
}

int ssw_reuse_create(ssw_reuse_t **reuse, const ssw_sweep_t *sweep, const char *const *paths, int npaths) {
  *reuse = NULL;
  SSW_REQUIRE(npaths >= 1 && npaths <= SSW_REUSE_FILES_MAX, SSW_ERR_INPUT, "--reuse: give 1 to %d files",
              SSW_REUSE_FILES_MAX);
  ssw_reuse_t *r = calloc(1, sizeof *r);
  SSW_REQUIRE(r, SSW_ERR_NOMEM, "out of memory");
  *reuse = r;
  r->sweep = sweep;
  r->ncells = ssw_sweep_grid(sweep)->ncells;
  int rc = (r->file = malloc((size_t)r->ncells * sizeof *r->file)) && (r->cell = malloc((size_t)r->ncells * sizeof *r->cell))
               ? table_build(r)
               : SSW_ERROR(SSW_ERR_NOMEM, "out of memory for the sources of %lld cells", (long long)r->ncells);
  for (int64_t c = 0; rc == SSW_OK && c < r->ncells; c++) r->file[c] = -1;
  for (int i = 0; rc == SSW_OK && i < npaths; i++) {
    r->nfiles++;
    if (!(r->files[i].path = strdup(paths[i]))) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory");
    if (rc == SSW_OK && (rc = open_old(&r->files[i])) != SSW_OK) rc = old_failed(paths[i], rc);
    if (rc == SSW_OK && (rc = match_file(r, i)) != SSW_OK) rc = old_failed(paths[i], rc);
  }
  for (int64_t c = 0; rc == SSW_OK && c < r->ncells; c++)
    if (ssw_reuse_source(r, c, NULL) >= 0) r->files[r->file[c]].supplies++;
  if (rc == SSW_OK) return SSW_OK;
  char cause[4096];
  snprintf(cause, sizeof cause, "%s", ssw_error_reason());
  int code = ssw_error_code();
  ssw_reuse_destroy(reuse);
  (void)H5Eclear2(H5E_DEFAULT);
  ssw_error_clear();
  return ssw_error_set(code ? code : rc, __FILE__, __LINE__, __func__, "%s", cause);
}

void ssw_reuse_destroy(ssw_reuse_t **reuse) {
  if (!reuse || !*reuse) return;
  ssw_reuse_t *r = *reuse;
  for (int i = 0; i < r->nfiles; i++) {
    if (ssw_store_close(&r->files[i].store) != SSW_OK) (void)H5Eclear2(H5E_DEFAULT); /* read-only: nothing lost */
    free(r->files[i].path);
    free(r->files[i].status);
    free(r->files[i].damaged);
  }
  free(r->file);
  free(r->cell);
  free(r->hash);
  free(r->slot_cell);
  free(r);
  *reuse = NULL;
}

int64_t ssw_reuse_source(const ssw_reuse_t *r, int64_t c, int *file) {
  if (r->file[c] < 0 || r->files[r->file[c]].damaged[r->cell[c]]) return -1;
  if (file) *file = r->file[c];
  return r->cell[c];
}

int64_t ssw_reuse_count(const ssw_reuse_t *r) {
  int64_t n = 0;
  for (int i = 0; i < r->nfiles; i++) n += r->files[i].supplies;
  return n;
}

int64_t ssw_reuse_damaged(const ssw_reuse_t *r) {
  int64_t n = 0;
  for (int64_t c = 0; c < r->ncells; c++) n += r->file[c] >= 0 && r->files[r->file[c]].damaged[r->cell[c]];
  return n;
}

int ssw_reuse_nfiles(const ssw_reuse_t *r) { return r->nfiles; }
const char *ssw_reuse_path(const ssw_reuse_t *r, int file) { return r->files[file].path; }
int64_t ssw_reuse_file_count(const ssw_reuse_t *r, int file) { return r->files[file].supplies; }

/* ---- copying ---- */

/* Whether r's series that store lacks are all NaN (so the copy loses nothing): with equal
 * parameters they are (test_loss needs test_n > 0, edge_ratio record_sharpness, and either
 * puts the series in every file of such a cell), but a file is a user's. */
static bool fits(const ssw_result_t *r, unsigned from_mask, unsigned to_mask) {
  for (int i = 0; i < SSW_SERIES_COUNT; i++)
    for (int64_t t = 0; (from_mask & ~to_mask & (1u << i)) && t < r->k; t++)
      if (!isnan(r->series[i][t])) return false;
  return true;
}

/* Copy old cell o of file f into new cell c; *want is the checksum the new file must now hold
 * for it. *copied false (the old cell fails its check now, or does not fit) leaves c pending. */
static int copy_cell(old_file_t *f, int64_t o, ssw_store_t *store, int64_t c, ssw_result_t *r, uint32_t *want,
                     bool *copied) {
  uint32_t stored;
  int32_t rank;
  *copied = false;
  SSW_TRY(ssw_store_read_cell(f->store, o, r, &stored, &rank));
  ssw_cell_values_t v;
  ssw_sc_from_result(r, rank, &v);
  uint32_t crc = ssw_sc_checksum((const double *const *)r->series, r->k, f->store->series_mask, &v, f->store->version);
  if (crc != stored || r->status != f->status[o] || !fits(r, f->store->series_mask, store->series_mask)) return SSW_OK;
  SSW_TRY(ssw_store_write_cell(store, c, r, rank));
  *want = ssw_store_cell_checksum(r, store->series_mask, rank);
  *copied = true;
  return SSW_OK;
}

/* Read the copies back (by blocks, as status --verify: per cell it took 40 % of the copy's
 * time): each must match its stored checksum, which must be the one meant (want), and its
 * status. copied (ncells): the status written, 0 where nothing was. */
static int check_copies(const ssw_reuse_t *reuse, ssw_store_t *store, const int8_t *copied, const uint32_t *want) {
  uint8_t *damaged = malloc((size_t)reuse->ncells);
  uint32_t *stored = malloc((size_t)reuse->ncells * sizeof *stored);
  int64_t ndamaged = 0, bad = -1;
  int rc = damaged && stored ? ssw_store_verify(store, copied, damaged, &ndamaged)
                             : SSW_ERROR(SSW_ERR_NOMEM, "out of memory checking %lld copies", (long long)reuse->ncells);
  if (rc == SSW_OK && H5Dread(store->scalar[SC_CHECKSUM], ssw_sc_mem_type(store, SC_U32), H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, stored) < 0)
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dread(/cell/checksum)");
  for (int64_t c = 0; rc == SSW_OK && c < reuse->ncells && bad < 0; c++)
    if (copied[c] && (damaged[c] || stored[c] != want[c])) bad = c;
  free(damaged);
  free(stored);
  if (rc != SSW_OK || bad < 0) return rc;
  return SSW_ERROR(SSW_ERR_IO, "cell %lld copied from %s (cell %lld) reads back differently from the new file: check "
                   "the disk, then run again with --resume", (long long)bad, reuse->files[reuse->file[bad]].path,
                   (long long)reuse->cell[bad]);
}

/* The line for a source that failed its check: trained instead. */
static void refused(const ssw_reuse_t *reuse, int64_t c, FILE *notes, const char *who) {
  const old_file_t *f = &reuse->files[reuse->file[c]];
  char old_text[SSW_CELL_TEXT_MAX], new_text[SSW_CELL_TEXT_MAX];
  ssw_grid_cell_text(ssw_store_grid(f->store), reuse->cell[c], old_text, sizeof old_text);
  ssw_grid_cell_text(ssw_sweep_grid(reuse->sweep), c, new_text, sizeof new_text);
  fprintf(notes, "%s--reuse %s: its cell %lld (%s) does not match its checksum: not copied; cell %lld (%s) is "
          "trained instead\n", who, f->path, (long long)reuse->cell[c], old_text, (long long)c, new_text);
}

int ssw_reuse_copy(ssw_reuse_t *reuse, ssw_store_t *store, int8_t *status, FILE *notes, const char *who,
                   ssw_reuse_stats_t *stats) {
  memset(stats, 0, sizeof *stats);
  SSW_REQUIRE(ssw_store_ncells(store) == reuse->ncells, SSW_ERR_INTERNAL, "the file has %lld cells, the sweep %lld",
              (long long)ssw_store_ncells(store), (long long)reuse->ncells);
  ssw_result_t r;
  int8_t *copied;   /* (ncells) the status written, 0 where nothing was */
  uint32_t *want;   /* (ncells) the checksum meant */
  SSW_TRY(ssw_result_init(&r, ssw_store_k(store)));
  copied = calloc((size_t)reuse->ncells, 1);
  want = malloc((size_t)reuse->ncells * sizeof *want);
  int rc = copied && want ? SSW_OK : SSW_ERROR(SSW_ERR_NOMEM, "out of memory for %lld copies", (long long)reuse->ncells);
  for (int64_t c = 0; rc == SSW_OK && c < reuse->ncells; c++) {
    if (reuse->file[c] < 0 || status[c] != SSW_STATUS_PENDING) continue;
    old_file_t *f = &reuse->files[reuse->file[c]];
    bool done = false;
    if (!f->damaged[reuse->cell[c]] && ssw_store_k(f->store) == ssw_store_k(store))
      rc = copy_cell(f, reuse->cell[c], store, c, &r, &want[c], &done);
    if (rc == SSW_OK && done) {
      copied[c] = status[c] = r.status;
      stats->copied[reuse->file[c]]++;
      stats->total++;
    } else if (rc == SSW_OK) {
      refused(reuse, c, notes, who);
      stats->refused++;
    }
  }
  if (rc == SSW_OK && stats->total > 0) rc = check_copies(reuse, store, copied, want);
  ssw_result_fini(&r);
  free(copied);
  free(want);
  if (rc == SSW_OK) return SSW_OK;
  if (ssw_error_code() != SSW_ERR_INPUT) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  /* rank 0's alone, mid-run: never an input error, which every rank would be expected to share */
  char cause[1024];
  snprintf(cause, sizeof cause, "%s", ssw_error_reason());
  return SSW_ERROR(SSW_ERR_IO, "copying the --reuse cells failed: %s", cause);
}
