/* One writer at a time, keyed on the file itself: MPI-IO takes no lock of its own, so the job
 * does, on the output file's inode (DESIGN.md §12).
 *
 * The lock is an open-file-description lock (Linux's F_OFD_SETLK) on one byte far beyond the
 * end of the data. Because it belongs to the inode, not to a name, a symbolic link, a hard
 * link or a second path to the same file meets the same lock, and there is no lock file to
 * delete or replace. Unlike classic POSIX record locks, an OFD lock is not dropped when the
 * process closes some other descriptor of the file (HDF5 and MPI-IO open and close their
 * own); unlike flock, it is carried to the server on NFS. The byte lies beyond any offset
 * HDF5 writes, so MPI-IO's own range locks (data sieving, NFS) never meet it.
 *
 * Rank 0 takes the byte exclusively (F_WRLCK), which succeeds only if no process anywhere
 * holds it (another job, or orphaned ranks of a killed one), then converts it to shared in
 * place (atomic for an OFD lock: the file is never unlocked in between); only then do the
 * other ranks take it shared. Locks vanish when their holders die, so kill -9 leaves none.
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shallowsweep/check.h"
#include "store_impl.h"

/* The locked byte: the largest offset a lock can name, far past any data (a sweep file is
 * bytes to terabytes), so it never overlaps a range MPI-IO locks while it writes. */
static const off_t LOCK_BYTE = INT64_MAX - 1;

static int set_lock(int fd, short type) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = LOCK_BYTE, .l_len = 1, .l_pid = 0};
  return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

/* Open path for the lock: a regular file we may write (a symbolic link is followed: the lock
 * is the target's). */
static int open_for_lock(const char *path, int *fd) {
  *fd = open(path, O_RDWR | O_CLOEXEC);
  if (*fd < 0)
    return SSW_ERROR(errno == ENOENT || errno == EACCES || errno == EISDIR || errno == EROFS ? SSW_ERR_INPUT : SSW_ERR_IO,
                     "%s: cannot open it for writing (%s)", path, strerror(errno));
  struct stat st;
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return SSW_ERROR(SSW_ERR_INPUT, "%s is not a regular file — give the .h5 file 'run -o' wrote", path);
  }
  return SSW_OK;
}

static int refused(const char *path, int err) {
  if (err == EAGAIN || err == EACCES)
    return SSW_ERROR(SSW_ERR_INPUT,
                     "%s is being written by another shallowsweep run (it holds the file's lock, whatever path or "
                     "link it used): wait until that job and all its ranks have exited (`fuser %s` lists them on "
                     "this node), then retry",
                     path, path);
  if (err == EINVAL || err == ENOLCK || err == EOPNOTSUPP)
    return SSW_ERROR(SSW_ERR_INPUT, "%s: this file system does not support open-file-description locks (%s) — "
                     "write the sweep file to a local or NFSv4 file system", path, strerror(err));
  return SSW_ERROR(SSW_ERR_IO, "cannot lock %s: %s", path, strerror(err));
}

int ssw_store_lock_first(const char *path, int *fd) {
  SSW_TRY(open_for_lock(path, fd));
  int err = set_lock(*fd, F_WRLCK);
  if (!err) err = set_lock(*fd, F_RDLCK);
  if (!err) return SSW_OK;
  ssw_store_unlock(fd);
  return refused(path, err);
}

static int lock_share(const char *path, int *fd) {
  SSW_TRY(open_for_lock(path, fd));
  int err = set_lock(*fd, F_RDLCK);
  if (!err) return SSW_OK;
  ssw_store_unlock(fd);
  return refused(path, err);
}

int ssw_store_lock(const char *path, MPI_Comm comm, int *fd, bool first_taken) {
  int rank;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  int rc = SSW_OK;
  if (rank == 0 && !first_taken) rc = ssw_store_lock_first(path, fd);
  MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
  if (rc != SSW_OK)
    return rank == 0 ? ssw_error_frame(rc, __FILE__, __LINE__, __func__)
                     : SSW_ERROR(rc, "rank 0 could not lock %s (it says why)", path);
  if (rank != 0) rc = lock_share(path, fd);
  int worst = rc;
  MPI_CHECK(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (worst == SSW_OK) return SSW_OK;
  ssw_store_unlock(fd);
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  return SSW_ERROR(worst, "another rank could not share the lock on %s", path);
}

int ssw_store_lock_probe(const char *path, bool *held) {
  /* F_OFD_GETLK only asks: it takes nothing, so a writer (whose shared lock a probe for an
   * exclusive one meets) is not disturbed, and read access is enough */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SSW_ERROR(SSW_ERR_INPUT, "%s: cannot open it for reading (%s)", path, strerror(errno));
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = LOCK_BYTE, .l_len = 1, .l_pid = 0};
  int err = fcntl(fd, F_OFD_GETLK, &fl) == 0 ? 0 : errno;
  close(fd);
  if (err) return SSW_ERROR(SSW_ERR_IO, "cannot test the lock of %s: %s", path, strerror(err));
  *held = fl.l_type != F_UNLCK;
  return SSW_OK;
}

void ssw_store_unlock(int *fd) {
  if (!fd || *fd < 0) return;
  close(*fd); /* closing the last descriptor of the description releases its OFD lock */
  *fd = -1;
}
