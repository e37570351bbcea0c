/* prelaunch.h — the per-lease dstack pre-launch script (docs/user-guide.md §Who can log in).
 *
 * dstack runs an app-compose's pre_launch_script as root before the containers, and the script
 * is part of the measured app-compose. The host writes one per lease with the lease's SSH public
 * key in its text; it makes that key the only entry of root's authorized_keys and reads no env
 * var and no /dstack/user_config for keys. The gate then requires exactly this script in the
 * attested app-compose, so the quote proves which single key can enter the CVM. */
#ifndef CRABBOX_HOST_PRELAUNCH_H
#define CRABBOX_HOST_PRELAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define PRELAUNCH_MAX_KEY 1024

/* prelaunch_script builds the script for `lease_id` and the OpenSSH public key line `pubkey`
 * (one line: "TYPE BASE64 [COMMENT]"; a trailing newline is dropped). Returns a malloc'ed NUL-
 * terminated script (length in *out_len), or NULL when the key line is not a plain OpenSSH key
 * (characters outside [A-Za-z0-9+/=@.:_ -], a second line, too long) or the lease id is not
 * [A-Za-z0-9_-]: nothing untrusted-looking is ever pasted into a root shell script. */
CBX_MUST_USE char *prelaunch_script(const char *lease_id, const char *pubkey, size_t pubkey_len, size_t *out_len);

#endif
