/* fileio.c — bounded reads and atomic writes (fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define READ_CHUNK ((size_t)65536)

int tc_read_file(const char *path, size_t cap, unsigned flags, uint8_t **out, size_t *out_len)
{
    const bool from_stdin = (flags & TC_READ_STDIN_DASH) != 0 && strcmp(path, "-") == 0;
    int fd, e = 0;
    struct stat st;
    size_t len = 0, alloc;
    uint8_t *buf;

    *out = NULL;
    *out_len = 0;
    if (cap >= SIZE_MAX - 2) { return EINVAL; }
    fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | ((flags & TC_READ_NOFOLLOW) ? O_NOFOLLOW : 0));
    if (fd < 0) { return errno; }
    if (fstat(fd, &st) != 0) {
        e = errno;
    } else if (!from_stdin && !S_ISREG(st.st_mode)) {
        e = EINVAL;
    } else if (S_ISREG(st.st_mode) && (st.st_size < 0 || (uint64_t)st.st_size > cap)) {
        e = EFBIG;
    }
    if (e != 0) {
        if (!from_stdin) { close(fd); }
        return e;
    }
    /* A regular file: its size plus one byte, so that a file growing under us is caught rather
     * than cut. A pipe: grow in chunks up to cap + 1. */
    alloc = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : (cap < READ_CHUNK ? cap + 1 : READ_CHUNK);
    buf = malloc(alloc + 1);
    if (buf == NULL) { e = ENOMEM; }
    while (e == 0) {
        ssize_t r;
        if (len == alloc) {
            uint8_t *nb;
            size_t next;
            if (alloc > cap) {
                e = EFBIG;
                break;
            }
            next = alloc > (cap + 1) / 2 ? cap + 1 : alloc * 2;
            nb = realloc(buf, next + 1);
            if (nb == NULL) {
                e = ENOMEM;
                break;
            }
            buf = nb;
            alloc = next;
        }
        r = read(fd, buf + len, alloc - len);
        if (r < 0 && errno == EINTR) { continue; }
        if (r < 0) {
            e = errno;
            break;
        }
        if (r == 0) { break; }
        len += (size_t)r;
        if (len > cap) { e = EFBIG; }
    }
    if (!from_stdin) { close(fd); }
    if (e != 0) {
        free(buf);
        return e;
    }
    buf[len] = 0; /* convenience for text; not part of the length */
    *out = buf;
    *out_len = len;
    return 0;
}

int tc_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) { continue; }
        if (w < 0) { return errno; }
        if (w == 0) { return EIO; } /* a regular file never accepts nothing: do not spin */
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync_parent makes the rename durable. File systems that cannot sync a directory (EINVAL) are
 * not an error. */
static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, e = 0;
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        if ((size_t)(slash - path) >= sizeof dir) { return ENAMETOOLONG; }
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) { return errno; }
    if (fsync(fd) != 0 && errno != EINVAL) { e = errno; }
    close(fd);
    return e;
}

int tc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    int fd, e = 0;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp) { return ENAMETOOLONG; }
    fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, 0600, an unguessable name */
    if (fd == -1) { return errno; }
    if (fchmod(fd, mode) != 0) { e = errno; }
    if (e == 0) { e = tc_write_all(fd, data, len); }
    if (e == 0 && fsync(fd) != 0) { e = errno; }
    if (close(fd) != 0 && e == 0) { e = errno; }
    if (e == 0 && rename(tmp, path) != 0) { e = errno; }
    if (e != 0) {
        unlink(tmp); /* never leave a partial file behind */
        return e;
    }
    return fsync_parent(path);
}
