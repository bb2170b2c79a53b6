/* An LD_PRELOAD shim that makes the disk "full" for chosen files, for the
 * ENOSPC tests (issue 18) where no small tmpfs can be mounted.
 *
 *   KILN_ENOSPC_MATCH=substring   only regular files whose path holds it count
 *                                 (unset: every regular file)
 *   KILN_ENOSPC_AFTER=N           writes 1 … N−1 to such files succeed; the
 *                                 Nth and every later one fail with ENOSPC,
 *                                 as a disk that filled up stays full
 *   KILN_ENOSPC_FILE=N            instead: writes to the first N−1 such files
 *                                 (by inode) succeed; the Nth file's and every
 *                                 later one's fail ("the third checkpoint
 *                                 does not fit")
 *
 * It wraps write, pwrite, pwrite64, writev and posix_fallocate (the tensor
 * cache reserves its file that way). Pipes, sockets and terminals never
 * count, so stderr still reports the failure. */
#define _GNU_SOURCE
/* Both pwrite and pwrite64 are wrapped by name: no 64-bit redirection. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long counted, files_seen;
static dev_t last_dev;
static ino_t last_ino;

/* Whether this write to @fd is the Nth (or later) to a matching file, or
 * goes to the Nth (or later) matching file. */
static int
should_fail (int fd)
{
  const char *after = getenv ("KILN_ENOSPC_AFTER");
  const char *nth_file = getenv ("KILN_ENOSPC_FILE");
  const char *match = getenv ("KILN_ENOSPC_MATCH");
  struct stat st;
  char link[64], path[4096];
  ssize_t n;

  if ((after == NULL && nth_file == NULL) || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    return 0;
  if (match != NULL && *match != '\0')
    {
      snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
      n = readlink (link, path, sizeof path - 1);
      if (n < 0)
        return 0;
      path[n] = '\0';
      if (strstr (path, match) == NULL)
        return 0;
    }
  if (nth_file != NULL)
    {
      /* Files are written one after another: a new inode is the next file. */
      if (files_seen == 0 || st.st_dev != last_dev || st.st_ino != last_ino)
        {
          files_seen++;
          last_dev = st.st_dev;
          last_ino = st.st_ino;
        }
      return files_seen >= atol (nth_file);
    }
  return __atomic_add_fetch (&counted, 1, __ATOMIC_SEQ_CST) >= atol (after);
}

typedef ssize_t (*WriteFunc) (int, const void *, size_t);
typedef ssize_t (*PwriteFunc) (int, const void *, size_t, off_t);
typedef ssize_t (*Pwrite64Func) (int, const void *, size_t, off64_t);
typedef ssize_t (*WritevFunc) (int, const struct iovec *, int);
typedef int (*FallocateFunc) (int, off_t, off_t);
typedef int (*Fallocate64Func) (int, off64_t, off64_t);

#define REAL(name, type) \
  static type real_##name; \
  if (real_##name == NULL) \
    real_##name = (type) dlsym (RTLD_NEXT, #name)

ssize_t
write (int fd, const void *buf, size_t count)
{
  REAL (write, WriteFunc);
  if (count > 0 && should_fail (fd))
    {
      errno = ENOSPC;
      return -1;
    }
  return real_write (fd, buf, count);
}

ssize_t
pwrite (int fd, const void *buf, size_t count, off_t offset)
{
  REAL (pwrite, PwriteFunc);
  if (count > 0 && should_fail (fd))
    {
      errno = ENOSPC;
      return -1;
    }
  return real_pwrite (fd, buf, count, offset);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t count, off64_t offset)
{
  REAL (pwrite64, Pwrite64Func);
  if (count > 0 && should_fail (fd))
    {
      errno = ENOSPC;
      return -1;
    }
  return real_pwrite64 (fd, buf, count, offset);
}

ssize_t
writev (int fd, const struct iovec *iov, int iovcnt)
{
  REAL (writev, WritevFunc);
  if (iovcnt > 0 && should_fail (fd))
    {
      errno = ENOSPC;
      return -1;
    }
  return real_writev (fd, iov, iovcnt);
}

int
posix_fallocate (int fd, off_t offset, off_t len)
{
  REAL (posix_fallocate, FallocateFunc);
  if (should_fail (fd))
    return ENOSPC;
  return real_posix_fallocate (fd, offset, len);
}

int
posix_fallocate64 (int fd, off64_t offset, off64_t len)
{
  REAL (posix_fallocate64, Fallocate64Func);
  if (should_fail (fd))
    return ENOSPC;
  return real_posix_fallocate64 (fd, offset, len);
}
