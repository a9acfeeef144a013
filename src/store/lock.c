/* One writer at a time: MPI-IO takes no lock of its own, so the job does.
 *
 * Every rank holds a shared POSIX record lock (fcntl F_RDLCK) on "FILE.lock" while it has the
 * file open. Rank 0 first takes the lock exclusively (F_WRLCK), which succeeds only if no
 * process anywhere holds it (another job, or orphaned ranks of a killed one), then converts
 * it to shared in place (atomic: the file is never unlocked in between), and only then do
 * the other ranks take their shared locks. fcntl locks work across nodes on NFS and Lustre
 * (flock may not) and vanish when the holder dies, so kill -9 leaves no stale lock.
 * The lock file itself is left in place: unlinking it would race with a job about to lock it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "shallowsweep/store.h"

static int set_lock(int fd, short type, pid_t *holder) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
  int err = errno;
  struct flock probe = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  *holder = (fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK) ? probe.l_pid : 0;
  return err;
}

static int open_lock_file(const char *lock_path, int *fd) {
  *fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (*fd < 0)
    return SSW_ERROR(SSW_ERR_IO, "cannot open the lock file %s: %s (the output's directory must be writable)",
                     lock_path, strerror(errno));
  return SSW_OK;
}

/* Rank 0: exclusive, then shared. Returns 0, or the errno of a refused lock with *holder. */
static int lock_first(const char *lock_path, int *fd, pid_t *holder) {
  SSW_TRY(open_lock_file(lock_path, fd));
  int err = set_lock(*fd, F_WRLCK, holder);
  if (err) {
    close(*fd);
    *fd = -1;
    if (err == EAGAIN || err == EACCES)
      return SSW_ERROR(SSW_ERR_INPUT,
                       "%s is locked by another shallowsweep job (pid %ld on some node holds it): "
                       "wait until that job and all its ranks have exited (see `fuser %s`), then retry",
                       lock_path, (long)*holder, lock_path);
    return SSW_ERROR(SSW_ERR_IO, "cannot lock %s: %s", lock_path, strerror(err));
  }
  char who[64];
  int len = snprintf(who, sizeof who, "%ld\n", (long)getpid());
  if (ftruncate(*fd, 0) != 0 || pwrite(*fd, who, (size_t)len, 0) != len) { /* informative only */ }
  err = set_lock(*fd, F_RDLCK, holder);
  if (err) return SSW_ERROR(SSW_ERR_IO, "cannot downgrade the lock on %s: %s", lock_path, strerror(err));
  return SSW_OK;
}

int ssw_store_lock(const char *path, MPI_Comm comm, int *lock_fd) {
  int rank;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  char lock_path[4096];
  SSW_REQUIRE(snprintf(lock_path, sizeof lock_path, "%s.lock", path) < (int)sizeof lock_path,
              SSW_ERR_INPUT, "output path too long: %s", path);
  *lock_fd = -1;
  int rc = SSW_OK;
  pid_t holder = 0;
  if (rank == 0) rc = lock_first(lock_path, lock_fd, &holder);
  int shared[2] = {rc, (int)holder};
  MPI_CHECK(MPI_Bcast(shared, 2, MPI_INT, 0, comm));
  if (shared[0] != SSW_OK) {
    if (rank != 0)
      return SSW_ERROR(shared[0], "%s is locked by another job (pid %d) or could not be locked (see rank 0)",
                       lock_path, shared[1]);
    return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  }
  if (rank != 0) {
    rc = open_lock_file(lock_path, lock_fd);
    if (rc == SSW_OK) {
      int err = set_lock(*lock_fd, F_RDLCK, &holder);
      if (err) rc = SSW_ERROR(SSW_ERR_IO, "rank %d cannot share the lock on %s: %s", rank, lock_path, strerror(err));
    }
  }
  int worst = rc;
  MPI_CHECK(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (worst != SSW_OK) {
    ssw_store_unlock(lock_fd);
    if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
    return SSW_ERROR(worst, "another rank could not take the lock on %s", lock_path);
  }
  return SSW_OK;
}

void ssw_store_unlock(int *lock_fd) {
  if (!lock_fd || *lock_fd < 0) return;
  close(*lock_fd); /* closing releases this process's fcntl locks */
  *lock_fd = -1;
}

/* ---- canonical sweep comparison ----
 * The canonical sweep is deterministic YAML: "key: value" lines, nested by indentation. Each
 * text becomes a list of (dotted path, value) pairs; list items and continuation lines are
 * appended to the value of the key above them. */

enum { DIFF_KEYS_MAX = 512, DIFF_PATH_MAX = 256, DIFF_DEPTH_MAX = 16 };

typedef struct {
  char path[DIFF_PATH_MAX];
  char value[512];
} diff_entry_t;

typedef struct {
  diff_entry_t e[DIFF_KEYS_MAX];
  int n;
} diff_map_t;

static void map_build(const char *text, diff_map_t *m) {
  char stack[DIFF_DEPTH_MAX][DIFF_PATH_MAX];
  int indent_of[DIFF_DEPTH_MAX], depth = 0;
  m->n = 0;
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    int indent = 0;
    while ((size_t)indent < len && line[indent] == ' ') indent++;
    const char *body = line + indent;
    size_t blen = len - (size_t)indent;
    const char *colon = memchr(body, ':', blen);
    bool is_key = blen && body[0] != '-' && body[0] != '#' && colon;
    if (is_key) {
      while (depth > 0 && indent_of[depth - 1] >= indent) depth--;
      if (depth < DIFF_DEPTH_MAX) {
        snprintf(stack[depth], DIFF_PATH_MAX, "%s%s%.*s", depth ? stack[depth - 1] : "", depth ? "." : "",
                 (int)(colon - body), body);
        indent_of[depth++] = indent;
        if (m->n < DIFF_KEYS_MAX) {
          snprintf(m->e[m->n].path, DIFF_PATH_MAX, "%s", stack[depth - 1]);
          snprintf(m->e[m->n].value, sizeof m->e[m->n].value, "%.*s", (int)(blen - (size_t)(colon + 1 - body)),
                   colon + 1);
          m->n++;
        }
      }
    } else if (blen && m->n > 0) {
      diff_entry_t *last = &m->e[m->n - 1];
      size_t used = strlen(last->value);
      snprintf(last->value + used, sizeof last->value - used, "|%.*s", (int)blen, body);
    }
    line = end ? end + 1 : NULL;
  }
}

static const diff_entry_t *map_find(const diff_map_t *m, const char *path) {
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->e[i].path, path) == 0) return &m->e[i];
  return NULL;
}

static void append_key(char *out, size_t size, const char *key) {
  size_t used = strlen(out), klen = strlen(key);
  for (const char *p = out; (p = strstr(p, key)) != NULL; p += klen)
    if ((p == out || p[-1] == ' ') && (p[klen] == ',' || p[klen] == '\0')) return;
  snprintf(out + used, size - used, "%s%s", used ? ", " : "", key);
}

void ssw_store_canonical_diff(const char *a, const char *b, char *out, size_t size) {
  static _Thread_local diff_map_t ma, mb;
  out[0] = '\0';
  if (strcmp(a, b) == 0) return;
  map_build(a, &ma);
  map_build(b, &mb);
  for (int i = 0; i < ma.n; i++) {
    const diff_entry_t *o = map_find(&mb, ma.e[i].path);
    if (!o || strcmp(o->value, ma.e[i].value) != 0) append_key(out, size, ma.e[i].path);
  }
  for (int i = 0; i < mb.n; i++)
    if (!map_find(&ma, mb.e[i].path)) append_key(out, size, mb.e[i].path);
  if (!out[0]) snprintf(out, size, "(the texts differ, but in no key: whitespace or order)");
}
