/* bundle_env.h — the bundle key of this user, found from the environment (XDG_STATE_HOME, HOME),
 * for the tools: libcrabbox-attest's bundle functions (attest/bundle.h) take the key's path and
 * read no environment themselves. Header-only: tools/common does not link the attest library. */
#ifndef CRABBOX_TOOLS_BUNDLE_ENV_H
#define CRABBOX_TOOLS_BUNDLE_ENV_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bundle.h"

/* bundle_key_load reads this user's bundle key (bundle_key_load_at on bundle_key_path); with
 * create, makes one when there is none. 0 or an errno value (ENOENT also when no path is known). */
CBA_MUST_USE static inline int bundle_key_load(uint8_t key[32], bool create)
{
    char path[4096];
    if (!bundle_key_path(path, sizeof path, getenv("XDG_STATE_HOME"), getenv("HOME"))) { return ENOENT; }
    return bundle_key_load_at(path, key, create);
}

/* bundle_check_auth says whether b is authentic under this user's bundle key. */
static inline bundle_auth bundle_check_auth(const bundle *b)
{
    char path[4096];
    bool have = bundle_key_path(path, sizeof path, getenv("XDG_STATE_HOME"), getenv("HOME"));
    return bundle_check_auth_at(b, have ? path : NULL);
}

#endif
