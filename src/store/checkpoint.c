/* Checkpoints of stopped cells, one file per cell beside the sweep file (checkpoint.h,
 * DESIGN.md §13). Plain POSIX I/O: a checkpoint is written by the one rank that holds the
 * cell, so it needs neither MPI-IO nor HDF5, and a sibling file keeps the sweep file's
 * metadata frozen (DESIGN.md §4). */
#define _GNU_SOURCE /* O_CLOEXEC, O_NOFOLLOW, realpath */
#include "shallowsweep/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssw_config.h"
#include "store_impl.h"

struct ssw_checkpoints {
  char dir[PATH_MAX];  /* OUT.h5.checkpoints, beside the file's real path */
  uint32_t key;        /* CRC-32 of the canonical sweep and SSW_VERSION */
  int64_t *listed;     /* (nlisted) cells with a checkpoint file at open, increasing */
  int64_t nlisted;
};

/* The fixed header of a checkpoint file (checkpoint.h): 56 bytes, no padding. */
typedef struct {
  char magic[8];
  uint32_t version, key;
  int64_t index, P, k, nm, payload;
} header_t;
_Static_assert(sizeof(header_t) == SSW_CHECKPOINT_HEADER_BYTES, "the checkpoint header has padding");

static const char *const CELL_PREFIX = "cell-", *const CELL_SUFFIX = ".ckpt", *const TMP_PREFIX = ".cell-";

/* ---- the directory ---- */

static int by_value(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The cell index of a name "cell-<index>.ckpt", or -1. */
static int64_t cell_of(const char *name) {
  size_t lp = strlen(CELL_PREFIX), ls = strlen(CELL_SUFFIX), len = strlen(name);
  if (len <= lp + ls || strncmp(name, CELL_PREFIX, lp) != 0 || strcmp(name + len - ls, CELL_SUFFIX) != 0) return -1;
  char *end;
  long long v = strtoll(name + lp, &end, 10);
  return end == name + len - ls && v >= 0 && name[lp] >= '0' && name[lp] <= '9' ? (int64_t)v : -1;
}

static int list_cells(ssw_checkpoints_t *ck) {
  DIR *d = opendir(ck->dir);
  if (!d) {
    if (errno == ENOENT) return SSW_OK;
    return SSW_ERROR(SSW_ERR_IO, "%s: cannot list the checkpoints (%s)", ck->dir, strerror(errno));
  }
  int64_t cap = 0;
  struct dirent *e;
  int rc = SSW_OK;
  while (rc == SSW_OK && (e = readdir(d)) != NULL) {
    int64_t index = cell_of(e->d_name);
    if (index < 0) continue;
    if (ck->nlisted == cap) {
      cap = cap ? 2 * cap : 64;
      int64_t *more = realloc(ck->listed, (size_t)cap * sizeof *more);
      if (!more) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory listing %s", ck->dir);
      else ck->listed = more;
    }
    if (rc == SSW_OK) ck->listed[ck->nlisted++] = index;
  }
  closedir(d);
  if (ck->nlisted) qsort(ck->listed, (size_t)ck->nlisted, sizeof *ck->listed, by_value);
  return rc;
}

int ssw_checkpoints_open(ssw_checkpoints_t **ck, const char *out_path, const char *sweep_canonical) {
  *ck = NULL;
  ssw_checkpoints_t *c = calloc(1, sizeof *c);
  SSW_REQUIRE(c, SSW_ERR_NOMEM, "out of memory opening the checkpoints of %s", out_path);
  char real[PATH_MAX];
  const char *base = realpath(out_path, real) ? real : out_path; /* a symbolic link's target */
  if (snprintf(c->dir, sizeof c->dir, "%s%s", base, SSW_CHECKPOINT_DIR_SUFFIX) >= (int)sizeof c->dir) {
    free(c);
    return SSW_ERROR(SSW_ERR_INPUT, "%s: the path is too long for its checkpoint directory", out_path);
  }
  c->key = ssw_crc32_update(0, sweep_canonical, strlen(sweep_canonical) + 1);
  c->key = ssw_crc32_update(c->key, SSW_VERSION, strlen(SSW_VERSION) + 1);
  int rc = list_cells(c);
  if (rc != SSW_OK) {
    ssw_checkpoints_close(&c);
    return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  }
  *ck = c;
  return SSW_OK;
}

void ssw_checkpoints_close(ssw_checkpoints_t **ck) {
  if (!ck || !*ck) return;
  free((*ck)->listed);
  free(*ck);
  *ck = NULL;
}

const char *ssw_checkpoints_dir(const ssw_checkpoints_t *ck) { return ck->dir; }
int64_t ssw_checkpoints_nlisted(const ssw_checkpoints_t *ck) { return ck->nlisted; }

bool ssw_checkpoints_listed(const ssw_checkpoints_t *ck, int64_t index) {
  return ck->nlisted > 0 && bsearch(&index, ck->listed, (size_t)ck->nlisted, sizeof index, by_value) != NULL;
}

void ssw_checkpoint_path(const ssw_checkpoints_t *ck, int64_t index, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s%lld%s", ck->dir, CELL_PREFIX, (long long)index, CELL_SUFFIX);
}

/* ---- writing ---- */

static int write_all(int fd, const void *data, size_t bytes, uint32_t *crc) {
  const char *p = data;
  *crc = ssw_crc32_update(*crc, data, bytes);
  while (bytes > 0) {
    ssize_t w = write(fd, p, bytes);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    p += w, bytes -= (size_t)w;
  }
  return 0;
}

/* Header, fields and CRC into fd; 0 or an errno. */
static int write_state(int fd, const ssw_checkpoints_t *ck, int64_t index, const ssw_train_state_t *s) {
  header_t h = {.version = SSW_CHECKPOINT_VERSION, .key = ck->key, .index = index, .P = s->P, .k = s->k,
                .nm = s->nm, .payload = (int64_t)ssw_train_state_bytes(s)};
  memcpy(h.magic, SSW_CHECKPOINT_MAGIC, sizeof h.magic);
  ssw_train_state_field_t f[SSW_TRAIN_STATE_FIELDS];
  ssw_train_state_fields((ssw_train_state_t *)s, f);
  uint32_t crc = 0;
  int err = write_all(fd, &h, sizeof h, &crc);
  for (int i = 0; i < SSW_TRAIN_STATE_FIELDS && !err; i++) err = write_all(fd, f[i].data, f[i].bytes, &crc);
  uint32_t ignored = 0;
  if (!err) err = write_all(fd, &crc, sizeof crc, &ignored);
  if (!err && fsync(fd) != 0) err = errno;
  return err;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return err;
}

int ssw_checkpoint_save(ssw_checkpoints_t *ck, int64_t index, const ssw_train_state_t *s) {
  if (mkdir(ck->dir, 0777) != 0 && errno != EEXIST)
    return SSW_ERROR(SSW_ERR_IO, "%s: cannot create the checkpoint directory (%s)", ck->dir, strerror(errno));
  char path[PATH_MAX + 32], tmp[PATH_MAX + 64];
  ssw_checkpoint_path(ck, index, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s/%s%lld%s.tmp.%ld", ck->dir, TMP_PREFIX, (long long)index, CELL_SUFFIX, (long)getpid());
  (void)unlink(tmp); /* a leftover of a killed process with the same pid */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) return SSW_ERROR(SSW_ERR_IO, "%s: cannot create it (%s)", tmp, strerror(errno));
  int err = write_state(fd, ck, index, s);
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) {
    (void)unlink(tmp);
    return SSW_ERROR(SSW_ERR_IO, "%s: cannot write the checkpoint (%s); the cell will start again from step 0",
                     path, strerror(err));
  }
  if ((err = fsync_dir(ck->dir)) != 0)
    return SSW_ERROR(SSW_ERR_IO, "%s: cannot sync the checkpoint directory (%s)", ck->dir, strerror(err));
  return SSW_OK;
}

/* ---- reading ---- */

static int read_all(int fd, void *data, size_t bytes) {
  char *p = data;
  while (bytes > 0) {
    ssize_t r = read(fd, p, bytes);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r, bytes -= (size_t)r;
  }
  return 0;
}

/* The header's complaint about itself for cell index, or NULL when it is usable. */
static const char *header_problem(const header_t *h, const ssw_checkpoints_t *ck, int64_t index, off_t file_bytes) {
  if (memcmp(h->magic, SSW_CHECKPOINT_MAGIC, sizeof h->magic) != 0) return "not a shallowsweep checkpoint";
  if (h->version != SSW_CHECKPOINT_VERSION) return "written in another checkpoint layout";
  if (h->key != ck->key) return "made by another sweep or another shallowsweep version";
  if (h->index != index) return "made for another cell";
  if (h->payload != file_bytes - (off_t)sizeof *h - (off_t)sizeof(uint32_t)) return "truncated or of the wrong size";
  /* the sizes must account for the payload before anything is allocated from them */
  const int64_t most = file_bytes;
  if (h->P < 1 || h->k < 1 || h->nm < 1 || h->P > most || h->k > most || h->nm / 8 > most)
    return "of the wrong size for its stated dimensions";
  ssw_train_state_t probe = {.P = h->P, .k = h->k, .nm = h->nm};
  if ((int64_t)ssw_train_state_bytes(&probe) != h->payload) return "of the wrong size for its stated dimensions";
  return NULL;
}

/* Read the payload and CRC after header h into a new state; the complaint or NULL. */
static const char *read_payload(int fd, const header_t *h, ssw_train_state_t *s) {
  if ((int64_t)ssw_train_state_bytes(s) != h->payload) return "its sizes do not add up";
  ssw_train_state_field_t f[SSW_TRAIN_STATE_FIELDS];
  ssw_train_state_fields(s, f);
  uint32_t crc = ssw_crc32_update(0, h, sizeof *h), stored;
  for (int i = 0; i < SSW_TRAIN_STATE_FIELDS; i++) {
    if (read_all(fd, f[i].data, f[i].bytes) != 0) return "truncated";
    crc = ssw_crc32_update(crc, f[i].data, f[i].bytes);
  }
  if (read_all(fd, &stored, sizeof stored) != 0) return "truncated";
  return stored == crc ? NULL : "damaged (its CRC-32 does not match)";
}

int ssw_checkpoint_load(ssw_checkpoints_t *ck, int64_t index, ssw_train_state_t **s, char *why, size_t why_size) {
  *s = NULL;
  why[0] = '\0';
  char path[PATH_MAX + 32];
  ssw_checkpoint_path(ck, index, path, sizeof path);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) snprintf(why, why_size, "cannot be opened (%s)", strerror(errno));
    return SSW_OK;
  }
  struct stat st;
  header_t h;
  const char *problem = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) problem = "not a regular file";
  else if (read_all(fd, &h, sizeof h) != 0) problem = "truncated";
  else problem = header_problem(&h, ck, index, st.st_size);
  int rc = SSW_OK;
  if (!problem) rc = ssw_train_state_create(s, h.P, h.k, h.nm);
  if (!problem && rc == SSW_OK) problem = read_payload(fd, &h, *s);
  close(fd);
  if (problem) {
    ssw_train_state_destroy(s);
    snprintf(why, why_size, "%s", problem);
  }
  return rc;
}

/* ---- removing ---- */

int ssw_checkpoint_remove(ssw_checkpoints_t *ck, int64_t index) {
  char path[PATH_MAX + 32];
  ssw_checkpoint_path(ck, index, path, sizeof path);
  if (unlink(path) != 0 && errno != ENOENT)
    return SSW_ERROR(SSW_ERR_IO, "%s: cannot delete the used checkpoint (%s)", path, strerror(errno));
  return SSW_OK;
}

int ssw_checkpoints_remove_all(ssw_checkpoints_t *ck) {
  DIR *d = opendir(ck->dir);
  if (!d) {
    if (errno == ENOENT) return SSW_OK;
    return SSW_ERROR(SSW_ERR_IO, "%s: cannot list the checkpoints (%s)", ck->dir, strerror(errno));
  }
  int rc = SSW_OK;
  struct dirent *e;
  char path[PATH_MAX + 300];
  while ((e = readdir(d)) != NULL) {
    bool ours = cell_of(e->d_name) >= 0 || strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
    if (!ours) continue;
    snprintf(path, sizeof path, "%s/%s", ck->dir, e->d_name);
    if (unlink(path) != 0 && errno != ENOENT && rc == SSW_OK)
      rc = SSW_ERROR(SSW_ERR_IO, "%s: cannot delete it (%s)", path, strerror(errno));
  }
  closedir(d);
  if (rc == SSW_OK && rmdir(ck->dir) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
    rc = SSW_ERROR(SSW_ERR_IO, "%s: cannot remove the checkpoint directory (%s)", ck->dir, strerror(errno));
  return rc;
}
