/* cache.h — the per-user DCAP collateral cache of libcrabbox-attest (private to attest/).
 *
 * The cache is one directory per user (default $XDG_CACHE_HOME/crabbox-attest, else
 * ~/.cache/crabbox-attest), mode 0700, holding one file per (FMSPC, PCK CA kind) with the
 * assembled QuoteCollateralV3 JSON (mode 0600). The cache is not trusted: every entry is verified
 * again (signatures, chains, dates) each time it is read; the directory checks only keep other
 * users from planting or swapping entries. All file operations go through a directory descriptor
 * opened once (openat, O_NOFOLLOW), so the checked directory is the one used. */
#ifndef CRABBOX_ATTEST_CACHE_H
#define CRABBOX_ATTEST_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crabbox/collateral.h" /* cba_buf */

#define CACHE_PATH_MAX 4096
#define CACHE_NAME_MAX 96

typedef struct cache_dir {
    int fd;                     /* O_DIRECTORY descriptor; -1 when not open */
    char path[CACHE_PATH_MAX];  /* for messages */
} cache_dir;

/* cache_default_path writes the default cache directory into out: $XDG_CACHE_HOME/crabbox-attest
 * when xdg (the caller's XDG_CACHE_HOME, or NULL) is an absolute path, else
 * $HOME/.cache/crabbox-attest (home, the caller's HOME, when absolute, else the password
 * database). Returns false (err filled) when no home directory is known or the path does not fit. */
bool cache_default_path(char *out, size_t out_len, const char *xdg, const char *home, char *err, size_t err_len);

/* cache_open opens the directory `path`, creating it with mode 0700 when missing (and, when
 * create_parents, its missing parents with 0700 as the XDG spec asks), and refuses it unless it
 * is a real directory (not a symlink), owned by the effective user, and neither group- nor
 * world-writable. On success *out holds an open descriptor (close with cache_close); on failure
 * err says why and out->fd is -1. */
bool cache_open(cache_dir *out, const char *path, bool create_parents, char *err, size_t err_len);

/* cache_close closes the directory; safe on a closed or zeroed-with-fd=-1 cache_dir. */
void cache_close(cache_dir *c);

/* cache_entry_name writes the file name of the entry for (fmspc, CA kind), e.g.
 * "tdx-b0c06f000000-platform.json". A non-Intel (test) trust anchor gets its own names
 * ("...-testroot-<16 hex of SHA-256(root)>.json") so that test entries never shadow real ones.
 * root_der NULL means the embedded Intel SGX Root CA. */
bool cache_entry_name(char *out, size_t out_len, const uint8_t fmspc[6], bool processor_ca,
                      const uint8_t *root_der, size_t root_der_len);

typedef enum cache_read_result { CACHE_HIT = 0, CACHE_MISS, CACHE_UNSAFE } cache_read_result;

/* cache_read reads entry `name` (at most cap bytes) into *out (caller frees out->data)
 * and sets *out_mtime (Unix seconds of the file's last write). CACHE_MISS: no such entry (no
 * message). CACHE_UNSAFE: the entry exists but is not a regular file owned by the user with mode
 * 0600-or-stricter, is too large, or cannot be read (err says which); it must not be used. */
cache_read_result cache_read(const cache_dir *c, const char *name, size_t cap, cba_buf *out,
                             int64_t *out_mtime, char *err, size_t err_len);

/* cache_write stores data as entry `name` atomically: a new temporary file in the cache
 * directory (O_EXCL, 0600), write, fsync, rename over the entry, fsync the directory. A failure
 * leaves the old entry (if any) untouched and no temporary file behind. Returns 0 or an errno. */
int cache_write(const cache_dir *c, const char *name, const uint8_t *data, size_t len);



#endif
