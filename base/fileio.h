/* fileio.h — the tools' one way to read and write files (crabbox-attest and the crabbox host).
 *
 * Reads are bounded (cap), refuse non-regular files, and catch a file that grows while it is
 * read. Writes are atomic: a private temporary file in the same directory, written in full,
 * fsync'd, renamed over the target, and the directory fsync'd — a reader sees the old or the
 * new content, never a partial file, and no temporary file is left behind on failure. */
#ifndef CRABBOX_TOOLS_FILEIO_H
#define CRABBOX_TOOLS_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TC_READ_NOFOLLOW 0x1u   /* refuse a symlink as the last path component */
#define TC_READ_STDIN_DASH 0x2u /* "-" reads standard input (a pipe is fine: read to EOF, bounded) */

/* tc_read_file reads at most `cap` bytes of a regular file into a malloc'd buffer with a NUL after
 * the data (not counted in *out_len). Returns 0, or an errno value: EFBIG (larger than cap, or it
 * grew past cap while read), EINVAL (not a regular file), ELOOP (a symlink with
 * TC_READ_NOFOLLOW), ENOMEM, or what open/read reported. On failure *out is NULL. */
int tc_read_file(const char *path, size_t cap, unsigned flags, uint8_t **out, size_t *out_len);

/* tc_write_all writes all len bytes to fd, retrying EINTR and short writes: 0 or errno. */
int tc_write_all(int fd, const void *data, size_t len);

/* tc_write_file_atomic replaces path with data, with file mode `mode` (set explicitly, whatever
 * the umask): 0 or errno. */
int tc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
