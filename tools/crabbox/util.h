/* util.h — small pieces of the crabbox host: buffers, files written atomically, private
 * directories, hex/base64, clocks, randomness, durations. */
#ifndef CRABBOX_HOST_UTIL_H
#define CRABBOX_HOST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crabbox/driver.h"

#define CBX_MUST_USE __attribute__((warn_unused_result))

typedef struct cbx_buf { /* heap bytes, NUL-terminated (not counted in len) when read from a file */
    uint8_t *data;
    size_t len;
} cbx_buf;

void cbx_buf_free(cbx_buf *b); /* NULL-safe, idempotent; wipes */

/* cbx_set_err fills a crabbox_err (err may be NULL); returns code for `return cbx_set_err(...)`. */
__attribute__((format(printf, 3, 4))) int cbx_set_err(crabbox_err *err, int code, const char *fmt, ...);

/* cbx_read_file reads a regular file (no symlink as the last component when nofollow) of at
 * most cap bytes. Returns 0 or an errno value (EFBIG when larger than cap, EINVAL when not a
 * regular file). */
CBX_MUST_USE int cbx_read_file(const char *path, size_t cap, bool nofollow, cbx_buf *out);

/* cbx_write_all writes everything, retrying on EINTR; returns 0 or errno. */
CBX_MUST_USE int cbx_write_all(int fd, const void *data, size_t len);

/* cbx_write_file_atomic writes a temporary file in the same directory (mode `mode`, fsync),
 * renames it over path and fsyncs the directory; returns 0 or errno. Never leaves a partial
 * file behind. */
CBX_MUST_USE int cbx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* cbx_mkdir_private creates path (and missing parents) with mode 0700 and checks that path is a
 * real directory (not a symlink) owned by us; an existing one is chmod'ed to 0700. Returns 0 or
 * errno (ENOTDIR, EPERM for a foreign owner). */
CBX_MUST_USE int cbx_mkdir_private(const char *path);

/* cbx_remove_tree removes a directory tree without following symlinks; 0 or errno. ENOENT = 0. */
int cbx_remove_tree(const char *path);

/* cbx_path_join writes a/b into out; false when it does not fit. */
CBX_MUST_USE bool cbx_path_join(char *out, size_t out_len, const char *a, const char *b);

void cbx_hex(char *out, const uint8_t *in, size_t n); /* 2n lowercase digits + NUL */
CBX_MUST_USE bool cbx_unhex(uint8_t *out, size_t n, const char *hex); /* exactly 2n digits */

/* cbx_base64 returns a malloc'ed NUL-terminated standard base64 text (NULL on ENOMEM). */
char *cbx_base64(const uint8_t *in, size_t n);

int64_t cbx_now_unix(void);  /* wall clock, Unix seconds */
int64_t cbx_now_ms(void);    /* monotonic milliseconds */
void cbx_rfc3339(char out[21], int64_t t);

/* cbx_random fills out from getrandom(2); false only if the kernel refuses. */
CBX_MUST_USE bool cbx_random(uint8_t *out, size_t n);

/* cbx_parse_duration accepts "90m", "30s", "2h", "1d" or plain seconds ("600"), 1 s .. 30 days. */
CBX_MUST_USE bool cbx_parse_duration(const char *text, int64_t *out_secs);

/* cbx_wipe clears memory the compiler may not elide. */
void cbx_wipe(void *p, size_t n);

#endif
