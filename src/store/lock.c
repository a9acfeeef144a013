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
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shallowsweep/check.h"
#include "shallowsweep/store.h"

static int set_lock(int fd, short type, pid_t *holder) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
  int err = errno;
  struct flock probe = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  *holder = (fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK) ? probe.l_pid : 0;
  return err;
}

/* Open (creating it if needed) the lock file, never through a symbolic link; *created says
 * whether this call made it (only then is its content ours to write). */
static int open_lock_file(const char *lock_path, int *fd, bool *created) {
  *created = false;
  *fd = open(lock_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (*fd >= 0) {
    *created = true;
    return SSW_OK;
  }
  if (errno == EEXIST) *fd = open(lock_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (*fd < 0 && errno == ELOOP)
    return SSW_ERROR(SSW_ERR_INPUT, "the lock file %s is a symbolic link — remove it (shallowsweep makes its own)",
                     lock_path);
  if (*fd < 0)
    return SSW_ERROR(SSW_ERR_IO, "cannot open the lock file %s: %s (the output's directory must be writable)",
                     lock_path, strerror(errno));
  return SSW_OK;
}

/* Rank 0: exclusive, then shared. Returns 0, or the errno of a refused lock with *holder. */
static int lock_first(const char *lock_path, int *fd, pid_t *holder) {
  bool created;
  SSW_TRY(open_lock_file(lock_path, fd, &created));
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
  if (created && pwrite(*fd, who, (size_t)len, 0) != len) { /* informative only; never into a file we did not make */ }
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
    bool created;
    rc = open_lock_file(lock_path, lock_fd, &created);
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
