/* util.c — errors, sanitised excerpts of CLI text, atomic files, private directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errset.h"
#include "fileio.h"
#include "phala.h"

int phala_fail(crabbox_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = crabbox_err_vset(err, code, fmt, ap); /* base/base.c: safe with err->message as an argument */
    va_end(ap);
    return code;
}

void phala_log(const phala_ctx *px, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (px == NULL || px->host == NULL || px->host->log == NULL) { return; }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    px->host->log(px->host->ctx, level, line);
}

/* utf8_seq_len returns the length of the valid UTF-8 sequence at the start of c, or 0. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid (RFC 3629). */
static size_t utf8_seq_len(cbs c)
{
    uint8_t b0, b1;
    size_t n;
    if (c.len == 0) { return 0; }
    b0 = cbs_byte(c, 0);
    if (b0 < 0x80) { return 1; }
    if (b0 >= 0xc2 && b0 <= 0xdf) { n = 2; }
    else if (b0 >= 0xe0 && b0 <= 0xef) { n = 3; }
    else if (b0 >= 0xf0 && b0 <= 0xf4) { n = 4; }
    else { return 0; }
    if (c.len < n) { return 0; }
    b1 = cbs_byte(c, 1);
    if ((b0 == 0xe0 && b1 < 0xa0) || (b0 == 0xed && b1 > 0x9f) || (b0 == 0xf0 && b1 < 0x90) ||
        (b0 == 0xf4 && b1 > 0x8f)) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((cbs_byte(c, i) & 0xc0) != 0x80) { return 0; }
    }
    return n;
}

static bool is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

/* redact replaces secrets in the NUL-terminated buf in place: every "phak_" API key (the
 * token after the prefix) and every occurrence of the caller's PHALA_CLOUD_API_KEY. The
 * replacement is never longer than what it replaces. */
static void redact(char *buf)
{
    static const char mark[] = "[redacted]";
    const char *key = getenv("PHALA_CLOUD_API_KEY");
    size_t key_len = key != NULL ? strlen(key) : 0;
    char *p;
    /* Short values would redact ordinary words; real keys are long. */
    if (key_len >= 8) {
        while ((p = strstr(buf, key)) != NULL) {
            size_t rest = strlen(p + key_len);
            size_t put = key_len < sizeof mark - 1 ? key_len : sizeof mark - 1;
            memcpy(p, mark, put);
            memmove(p + put, p + key_len, rest + 1);
        }
    }
    p = buf;
    while ((p = strstr(p, "phak_")) != NULL) {
        char *tok = p + 5;
        size_t n = 0;
        while (is_key_char(tok[n])) { n++; }
        if (n >= sizeof mark - 1) {
            memcpy(tok, mark, sizeof mark - 1);
            memmove(tok + sizeof mark - 1, tok + n, strlen(tok + n) + 1);
            p = tok + sizeof mark - 1;
        } else {
            memset(tok, '*', n); /* a short tail: mask it without shifting */
            p = tok + n;
        }
    }
}

void phala_excerpt(char *out, size_t out_len, cbs text)
{
    /* Sanitise into a scratch buffer first, then redact (a key split by a cut would escape
     * redaction), then cut to out_len. */
    char scratch[1024];
    size_t n = 0, cut;
    bool space = true; /* drop leading blanks */
    cbs c = text;
    if (out == NULL || out_len < 8) { return; }
    while (c.len > 0 && n + 4 < sizeof scratch) {
        uint8_t b = cbs_byte(c, 0);
        size_t k = utf8_seq_len(c);
        cbs seq;
        if (k == 0) {
            scratch[n++] = '?';
            space = false;
            if (!cbs_skip(&c, 1)) { break; }
            continue;
        }
        if (!cbs_get_bytes(&c, &seq, k)) { break; }
        if (k == 1 && (b < 0x20 || b == 0x7f || b == ' ')) {
            if (!space) { scratch[n++] = ' '; }
            space = true;
            continue;
        }
        memcpy(scratch + n, seq.data, k);
        n += k;
        space = false;
    }
    while (n > 0 && scratch[n - 1] == ' ') { n--; }
    scratch[n] = '\0';
    redact(scratch);
    n = strlen(scratch);
    if (n < out_len) {
        memcpy(out, scratch, n + 1);
        return;
    }
    /* Cut on a UTF-8 boundary, leaving room for "...". */
    cut = out_len - 4;
    while (cut > 0 && ((uint8_t)scratch[cut] & 0xc0) == 0x80) { cut--; }
    memcpy(out, scratch, cut);
    memcpy(out + cut, "...", 4);
}

int phala_write_file_atomic(const char *path, const uint8_t *data, size_t len, unsigned mode)
{
    return tc_write_file_atomic(path, data, len, (mode_t)mode); /* base/fileio.c */
}

int phala_private_dir(const char *path, bool create)
{
    struct stat st;
    if (path == NULL || path[0] != '/') { return EINVAL; }
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT || !create) { return errno; }
        if (mkdir(path, 0700) != 0 && errno != EEXIST) { return errno; }
        if (lstat(path, &st) != 0) { return errno; }
    }
    if (S_ISLNK(st.st_mode)) { return ELOOP; }
    if (!S_ISDIR(st.st_mode)) { return ENOTDIR; }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) { return EPERM; }
    return 0;
}

void phala_sleep_ms(int64_t ms)
{
    struct timespec ts, rem;
    if (ms <= 0) { return; }
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR) { ts = rem; }
}

int64_t phala_wall_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) { return 0; }
    return (int64_t)ts.tv_sec;
}

/* remove_entry is nftw's callback: depth-first, symlinks themselves (never their targets). */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D) {
        (void)rmdir(path);
    } else {
        (void)unlink(path);
    }
    return 0; /* best effort, keep going: what stays is reported by the caller's check */
}

int phala_cli_dir_make(const char *record_dir, char *out, size_t out_len, int *lock_fd)
{
    int n = snprintf(out, out_len, "%s/cli-XXXXXX", record_dir), fd, rc;
    *lock_fd = -1;
    if (n < 0 || (size_t)n >= out_len) { return ENAMETOOLONG; }
    if (mkdtemp(out) == NULL) { return errno; } /* mode 0700, new and empty */
    /* Held while the CLI runs: a sweep removes only directories nobody holds (a crabbox killed
     * with SIGKILL cannot remove its own; the lock dies with it). Close-on-exec: the CLI child
     * does not keep it. */
    fd = open(out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno;
        if (fd >= 0) { close(fd); }
        (void)rmdir(out);
        return rc;
    }
    *lock_fd = fd;
    return 0;
}

void phala_cli_dirs_sweep(const char *record_dir)
{
    DIR *dir = opendir(record_dir);
    struct dirent *de;
    if (dir == NULL) { return; }
    while ((de = readdir(dir)) != NULL) {
        char path[4096];
        int fd, n;
        if (strncmp(de->d_name, "cli-", 4) != 0 || strlen(de->d_name) != 10) { continue; }
        n = snprintf(path, sizeof path, "%s/%s", record_dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path) { continue; }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) { continue; }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) { (void)phala_cli_dir_remove(path); } /* its owner is gone */
        close(fd);
    }
    closedir(dir);
}

int phala_cli_dir_remove(const char *path)
{
    if (path == NULL || path[0] != '/') { return EINVAL; }
    /* FTW_PHYS: a symlink the CLI left is removed, never followed; FTW_MOUNT: stay on this file
     * system. */
    (void)nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    return access(path, F_OK) == 0 ? EEXIST : 0;
}

bool phala_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t n;
        uint32_t cp;
        if (c == 0) { return false; }
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i <= n) { return false; }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) { return false; }
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

bool phala_bool_parse(const char *s, bool *out)
{
    if (s == NULL) { return false; }
    if (strcmp(s, "true") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(s, "false") == 0) {
        *out = false;
        return true;
    }
    return false;
}
