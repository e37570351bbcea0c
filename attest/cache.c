/* cache.c — the per-user DCAP collateral cache and atomic file writes (see cache.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"
#include "base.h"
#include "sha2.h"

/* fsync_dir makes a rename durable: the new directory entry is on disk before we report success.
 * Errors other than EINVAL (file systems that cannot sync directories) are returned. */
static int fsync_dir_fd(int dfd)
{
    if (fsync(dfd) != 0 && errno != EINVAL) { return errno; }
    return 0;
}

/* random_suffix writes 16 lowercase hex digits from getrandom; temporary names must not be
 * guessable or reused (O_EXCL would refuse a planted one, but then the write would fail). */
static bool random_suffix(char out[17])
{
    uint8_t r[8];
    static const char d[] = "0123456789abcdef";
    if (!cba_random_bytes(r, sizeof r)) { return false; } /* base/base.c */
    for (size_t i = 0; i < sizeof r; i++) {
        out[2 * i] = d[r[i] >> 4];
        out[2 * i + 1] = d[r[i] & 15];
    }
    out[16] = '\0';
    return true;
}

bool cache_default_path(char *out, size_t out_len, const char *xdg, const char *home, char *err, size_t err_len)
{
    int n;
    /* XDG Base Directory: a relative XDG_CACHE_HOME is invalid and must be ignored. */
    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(out, out_len, "%s/crabbox-attest", xdg);
    } else {
        if (home == NULL || home[0] != '/') {
            struct passwd *pw = getpwuid(geteuid());
            home = pw != NULL ? pw->pw_dir : NULL;
        }
        if (home == NULL || home[0] != '/') {
            snprintf(err, err_len, "no home directory to put the cache in (set XDG_CACHE_HOME or use "
                                   "--cache-dir DIR or --no-cache)");
            return false;
        }
        n = snprintf(out, out_len, "%s/.cache/crabbox-attest", home);
    }
    if (n < 0 || (size_t)n >= out_len) {
        snprintf(err, err_len, "cache directory path is too long");
        return false;
    }
    return true;
}

/* mkdir_parents creates every missing directory above path's last component with mode 0700. */
static void mkdir_parents(const char *path)
{
    char buf[CACHE_PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) { return; }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '/') { continue; }
        buf[i] = '\0';
        (void)mkdir(buf, 0700); /* EEXIST and friends: the final open reports real problems */
        buf[i] = '/';
    }
}

bool cache_open(cache_dir *out, const char *path, bool create_parents, char *err, size_t err_len)
{
    struct stat st;
    bool created = false;
    int fd;
    out->fd = -1;
    if (strlen(path) >= sizeof out->path || path[0] == '\0') {
        snprintf(err, err_len, "cache directory path is empty or too long");
        return false;
    }
    snprintf(out->path, sizeof out->path, "%s", path);
    if (create_parents) { mkdir_parents(path); }
    if (mkdir(path, 0700) == 0) {
        created = true;
    } else if (errno != EEXIST) {
        snprintf(err, err_len, "cannot create cache directory %s: %s", path, strerror(errno));
        return false;
    }
    /* O_NOFOLLOW: a symlink planted in place of the directory is refused, not followed. */
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cache directory %s: %s", path,
                 errno == ELOOP || errno == ENOTDIR ? "not a directory (or a symbolic link)"
                                                    : strerror(errno));
        return false;
    }
    if (created) { (void)fchmod(fd, 0700); } /* mkdir's mode went through the umask */
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_len, "cache directory %s: %s", path, strerror(errno));
        close(fd);
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "cache directory %s is not a directory", path);
        close(fd);
        return false;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, err_len, "refusing cache directory %s: owned by uid %lu, not by you (uid %lu)",
                 path, (unsigned long)st.st_uid, (unsigned long)geteuid());
        close(fd);
        return false;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(err, err_len,
                 "refusing cache directory %s: mode %04o is group- or world-writable (use chmod 700)",
                 path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return false;
    }
    out->fd = fd;
    return true;
}

void cache_close(cache_dir *c)
{
    if (c == NULL || c->fd < 0) { return; }
    close(c->fd);
    c->fd = -1;
}

bool cache_entry_name(char *out, size_t out_len, const uint8_t fmspc[6], bool processor_ca,
                      const uint8_t *root_der, size_t root_der_len)
{
    char fm[13], tag[40] = "";
    int n;
    cba_hex_encode(fm, fmspc, 6);
    if (root_der != NULL) {
        uint8_t h[32];
        char hx[65];
        cbs part = cbs_make(root_der, root_der_len);
        if (!cba_sha256(h, &part, 1)) { return false; }
        cba_hex_encode(hx, h, 32);
        snprintf(tag, sizeof tag, "-testroot-%.16s", hx);
    }
    n = snprintf(out, out_len, "tdx-%s-%s%s.json", fm, processor_ca ? "processor" : "platform", tag);
    return n > 0 && (size_t)n < out_len;
}

cache_read_result cache_read(const cache_dir *c, const char *name, size_t cap, cba_buf *out,
                             int64_t *out_mtime, char *err, size_t err_len)
{
    struct stat st;
    uint8_t *buf;
    size_t len = 0;
    int fd;
    out->data = NULL;
    out->len = 0;
    fd = openat(c->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) { return CACHE_MISS; }
        snprintf(err, err_len, "cache entry %s/%s: %s", c->path, name,
                 errno == ELOOP ? "is a symbolic link" : strerror(errno));
        return CACHE_UNSAFE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        snprintf(err, err_len, "cache entry %s/%s is not a regular file owned by you with mode 0600",
                 c->path, name);
        close(fd);
        return CACHE_UNSAFE;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > cap) {
        snprintf(err, err_len, "cache entry %s/%s is larger than %zu bytes", c->path, name, cap);
        close(fd);
        return CACHE_UNSAFE;
    }
    /* One byte more than the size fstat saw, to notice a file that grew meanwhile. */
    buf = malloc((size_t)st.st_size + 2);
    if (buf == NULL) {
        snprintf(err, err_len, "out of memory reading the cache");
        close(fd);
        return CACHE_UNSAFE;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
        if (n < 0) {
            if (errno == EINTR) { continue; }
            snprintf(err, err_len, "cache entry %s/%s: %s", c->path, name, strerror(errno));
            free(buf);
            close(fd);
            return CACHE_UNSAFE;
        }
        if (n == 0) { break; }
        len += (size_t)n;
        if (len > (size_t)st.st_size) { break; }
    }
    close(fd);
    if (len != (size_t)st.st_size) {
        snprintf(err, err_len, "cache entry %s/%s changed while being read", c->path, name);
        free(buf);
        return CACHE_UNSAFE;
    }
    buf[len] = 0;
    out->data = buf;
    out->len = len;
    *out_mtime = (int64_t)st.st_mtim.tv_sec;
    return CACHE_HIT;
}

int cache_write(const cache_dir *c, const char *name, const uint8_t *data, size_t len)
{
    char tmp[CACHE_NAME_MAX + 40], rnd[17];
    int fd, err = 0, n;
    if (c->fd < 0) { return EBADF; }
    if (!random_suffix(rnd)) { return errno != 0 ? errno : EIO; }
    n = snprintf(tmp, sizeof tmp, ".%s.tmp.%s", name, rnd);
    if (n < 0 || (size_t)n >= sizeof tmp) { return ENAMETOOLONG; }
    fd = openat(c->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) { return errno; }
    if (fchmod(fd, 0600) != 0 || (err = tc_write_all(fd, data, len)) != 0 || fsync(fd) != 0) {
        if (err == 0) { err = errno; }
    }
    if (close(fd) != 0 && err == 0) { err = errno; }
    if (err == 0 && renameat(c->fd, tmp, c->fd, name) != 0) { err = errno; }
    if (err != 0) {
        unlinkat(c->fd, tmp, 0);
        return err;
    }
    return fsync_dir_fd(c->fd);
}
