/* loader.h — finds and loads lease-driver plugins (docs/driver-abi.md §Loading).
 *
 * A driver named N is the file crabbox-driver-N.so in a directory of CRABBOX_DRIVER_PATH
 * (colon-separated absolute directories, searched first) or in the install directory. Before
 * dlopen the file must pass loader_check_path (OpenSSH safe_path); after it the descriptor must
 * have our ABI version, a struct_size that covers every required member, and every required
 * function. Every refusal names the file. */
#ifndef CRABBOX_HOST_LOADER_H
#define CRABBOX_HOST_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "crabbox/driver.h"
#include "util.h"

#define LOADER_FILE_PREFIX "crabbox-driver-"
#define LOADER_FILE_SUFFIX ".so"

typedef struct loaded_driver {
    void *dl;                  /* dlopen handle; NULL when nothing is loaded */
    const crabbox_driver *d;   /* the descriptor (lives as long as dl) */
    char path[PATH_MAX];       /* the canonical file that was loaded */
} loaded_driver;

/* loader_check_path: `path` must be absolute; the file (after resolving symlinks) must be a
 * regular file, and it and every directory above it up to / must be owned by root or `uid` and
 * not writable by group or others — except that a root-owned directory with the sticky bit
 * (like /tmp) is accepted as a parent, because nobody else can rename or replace our entries in
 * it. On success the canonical path is written to `resolved`. On failure err names the file and
 * the reason (CRABBOX_E_USAGE). */
CBX_MUST_USE int loader_check_path(const char *path, uid_t uid, char *resolved, size_t resolved_len,
                                   crabbox_err *err);

/* loader_open_file loads one plugin file: path check, dlopen(RTLD_NOW | RTLD_LOCAL), the entry
 * symbol, the descriptor's version, size and required members. CRABBOX_E_ABI for an
 * incompatible plugin, CRABBOX_E_USAGE for an unsafe path, CRABBOX_E_NOT_FOUND for a missing
 * file. On failure nothing stays loaded. */
CBX_MUST_USE int loader_open_file(loaded_driver *out, const char *path, crabbox_err *err);

/* loader_find loads the driver for `provider` (case-insensitive; a name or an alias). It looks
 * for crabbox-driver-<provider>.so in each directory of search_path (may be NULL) and then
 * install_dir; failing that it loads every crabbox-driver-*.so there and picks the one whose name
 * or aliases match. A file that exists but is refused stops the search with that error. */
CBX_MUST_USE int loader_find(loaded_driver *out, const char *provider, const char *search_path,
                             const char *install_dir, crabbox_err *err);

/* loader_matches is true when `provider` is the driver's name or one of its aliases. */
bool loader_matches(const crabbox_driver *d, const char *provider);

/* loader_driver_exists is true when a file crabbox-driver-<name>.so exists in the search path
 * (used to tell a config block of another installed driver from a typo). */
bool loader_driver_exists(const char *name, const char *search_path, const char *install_dir);

void loader_close(loaded_driver *ld); /* NULL-safe */

#endif
