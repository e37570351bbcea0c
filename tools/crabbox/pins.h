/* pins.h — measurements pinned on first use (docs/user-guide.md §Measurement pins).
 *
 * MRTD and RTMR0-2 measure the firmware, kernel and command line the provider booted. The host
 * records them per (provider, instance type, OS image hash) in <state dir>/pins the first time a
 * lease verifies, like known_hosts; a later lease under the same key with other values is refused
 * with both values shown. `crabbox pins` lists the entries, `crabbox pins --forget KEY` drops one.
 *
 * The file is ours (0600 in the 0700 state directory) but still parsed strictly: one entry a line,
 * "KEY MRTD RTMR0 RTMR1 RTMR2 FIRST_SEEN LEASE" (hex digests, Unix seconds); a line that does not
 * parse fails the check (never silently re-pinned). Callers hold the state lock. */
#ifndef CRABBOX_HOST_PINS_H
#define CRABBOX_HOST_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PINS_MAX_KEY 160
#define PINS_MAX_ENTRIES 4096

typedef struct pin_entry {
    char key[PINS_MAX_KEY];
    uint8_t mrtd[48];
    uint8_t rtmr[3][48];
    int64_t first_seen;
    char lease[32];
} pin_entry;

typedef enum pin_outcome { PIN_FIRST_SIGHTING, PIN_MATCH, PIN_MISMATCH } pin_outcome;

/* pins_key builds "provider/instance-type/os-image-hash" (empty parts as "-"); false when a part
 * holds characters outside [A-Za-z0-9._:-] or the key is too long. */
CBX_MUST_USE bool pins_key(char *out, size_t out_len, const char *provider, const char *instance_type,
                           const char *os_image_hash_hex);

/* pins_load reads every entry (a missing file is none). 0, or an errno value with *why naming the
 * line (EINVAL: malformed). *out is malloc'ed (free it). */
CBX_MUST_USE int pins_load(const char *path, pin_entry **out, size_t *num, char *why, size_t why_len);

/* pins_check looks `e->key` up: absent, it appends e (atomic rewrite, 0600) and says
 * PIN_FIRST_SIGHTING; equal, PIN_MATCH; else PIN_MISMATCH with *old the pinned entry. 0 or errno. */
CBX_MUST_USE int pins_check(const char *path, const pin_entry *e, pin_outcome *outcome, pin_entry *old, char *why,
                            size_t why_len);

/* pins_forget drops the entry `key`: 0, ENOENT when there is none, or errno. */
CBX_MUST_USE int pins_forget(const char *path, const char *key, char *why, size_t why_len);

#endif
