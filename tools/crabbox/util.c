/* util.c — see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "errset.h"
#include "fileio.h"
#include "util.h"

void cbx_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) { explicit_bzero(p, n); }
}

void cbx_buf_free(cbx_buf *b)
{
    if (b == NULL) { return; }
    if (b->data != NULL) {
        cbx_wipe(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
}

int cbx_set_err(crabbox_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = crabbox_err_vset(err, code, fmt, ap); /* base/base.c */
    va_end(ap);
    return code;
}

int cbx_read_file(const char *path, size_t cap, bool nofollow, cbx_buf *out)
{
    return tc_read_file(path, cap, nofollow ? TC_READ_NOFOLLOW : 0u, &out->data, &out->len);
}

int cbx_write_all(int fd, const void *data, size_t len)
{
    return tc_write_all(fd, data, len);
}

int cbx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return tc_write_file_atomic(path, data, len, mode);
}

static int mkdir_one(const char *path)
{
    struct stat st;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) { return errno; }
    if (lstat(path, &st) != 0) { return errno; }
    if (!S_ISDIR(st.st_mode)) { return ENOTDIR; }
    if (st.st_uid != geteuid()) { return EPERM; }
    if ((st.st_mode & 07777) != 0700 && chmod(path, 0700) != 0) { return errno; }
    return 0;
}

int cbx_mkdir_private(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    struct stat st;
    if (n == 0 || n >= sizeof buf) { return ENAMETOOLONG; }
    memcpy(buf, path, n + 1);
    /* Missing parents are created 0700 too; existing parents are left as they are. */
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/') { continue; }
        *p = '\0';
        if (stat(buf, &st) != 0) {
            if (errno != ENOENT) { return errno; }
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) { return errno; }
        }
        *p = '/';
    }
    return mkdir_one(path);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

int cbx_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) { return errno == ENOENT ? 0 : errno; }
    if (!S_ISDIR(st.st_mode)) { return unlink(path) == 0 ? 0 : errno; }
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : errno;
}

bool cbx_path_join(char *out, size_t out_len, const char *a, const char *b)
{
    int n = snprintf(out, out_len, "%s/%s", a, b);
    return n > 0 && (size_t)n < out_len;
}

void cbx_hex(char *out, const uint8_t *in, size_t n)
{
    cba_hex_encode(out, in, n); /* base/base.c */
}

bool cbx_unhex(uint8_t *out, size_t n, const char *hex)
{
    return hex != NULL && cba_hex_decode(out, n, hex, strlen(hex));
}

char *cbx_base64(const uint8_t *in, size_t n)
{
    return cba_base64_encode_alloc(in, n);
}

int64_t cbx_now_unix(void)
{
    return (int64_t)time(NULL);
}

int64_t cbx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cbx_rfc3339(char out[21], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 21, "invalid-time");
    }
}

bool cbx_random(uint8_t *out, size_t n)
{
    return cba_random_bytes(out, n); /* base/base.c */
}

bool cbx_parse_duration(const char *text, int64_t *out_secs)
{
    char *end;
    unsigned long long v;
    int64_t mul = 1;
    if (text == NULL || text[0] < '0' || text[0] > '9') { return false; }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || v > 30ull * 86400) { return false; }
    if (end[0] != '\0') {
        if (end[1] != '\0') { return false; }
        switch (end[0]) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        default: return false;
        }
    }
    if (v == 0 || (int64_t)v * mul > 30 * 86400) { return false; }
    *out_secs = (int64_t)v * mul;
    return true;
}
