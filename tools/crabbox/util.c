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
    if (err == NULL) { return code; }
    err->code = code;
    va_start(ap, fmt);
    (void)vsnprintf(err->message, sizeof err->message, fmt, ap);
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
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

bool cbx_unhex(uint8_t *out, size_t n, const char *hex)
{
    if (hex == NULL || strlen(hex) != 2 * n) { return false; }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) { return false; }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cbx_base64(const uint8_t *in, size_t n)
{
    size_t out_len;
    char *out, *p;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3) { return NULL; }
    out_len = (n + 2) / 3 * 4;
    out = malloc(out_len + 1);
    if (out == NULL) { return NULL; }
    p = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) { v |= (uint32_t)in[i + 1] << 8; }
        if (i + 2 < n) { v |= in[i + 2]; }
        *p++ = k_b64[v >> 18 & 63];
        *p++ = k_b64[v >> 12 & 63];
        *p++ = i + 1 < n ? k_b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? k_b64[v & 63] : '=';
    }
    *p = '\0';
    return out;
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
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR) { continue; }
        if (r <= 0) { return false; }
        got += (size_t)r;
    }
    return true;
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
