/* bundle.h — crabbox evidence bundles (docs/driver-abi.md §Evidence bundle).
 *
 * The crabbox host saves one bundle per attestation of a lease, whatever the verdict: the guest
 * agent response, the fresh quote, the collateral used (or null), the host's nonce, the SSH host
 * key, the compose bytes the host deployed, the expected app id, the time and the verdict.
 * `crabbox-attest verify --bundle FILE` re-verifies it offline. This file defines the format
 * (writer and reader) and the two bindings host and re-verification must compute alike:
 *
 *   report data   = SHA-512("crabbox-attest-v1:" || nonce || SHA-256(host key))  (driver.h)
 *   compose hash  = SHA-256(tcb_info.app_compose) when that app-compose's docker_compose_file is
 *                   byte-identical to the deployed compose (how dstack/Phala wrap a compose
 *                   file), else SHA-256(deployed compose) (a driver that deploys an app-compose
 *                   itself); the verifier then requires the RTMR3 compose-hash event, the
 *                   app_compose and the claims to agree with it (check compose_binding). */
#ifndef CRABBOX_ATTEST_BUNDLE_H
#define CRABBOX_ATTEST_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "crabbox/verifier.h"

#define BUNDLE_FORMAT "crabbox-evidence-bundle-v1"
#define BUNDLE_MAX_FILE (16u << 20)

typedef struct bundle {
    char lease[32];
    char provider[32];
    char cloud_id[128];
    int64_t time;           /* Unix seconds of the verification */
    uint8_t *info;          /* owned byte buffers; NULL = absent */
    size_t info_len;
    uint8_t *quote;
    size_t quote_len;
    uint8_t *quote_event_log; /* the log sent with the fresh quote (GetQuote's); NULL = none */
    size_t quote_event_log_len;
    uint8_t *collateral;
    size_t collateral_len;
    char collateral_source[256]; /* "file:PATH", or "" when none was used */
    uint8_t *compose;
    size_t compose_len;
    uint8_t *host_key;
    size_t host_key_len;
    uint8_t *pre_launch_script; /* the per-lease script the host supplied (NULL: none) */
    size_t pre_launch_script_len;
    bool has_nonce;
    uint8_t nonce[32];
    bool fresh;             /* the quote was made for the nonce (report data checked) */
    bool has_app_id;
    uint8_t app_id[20];     /* the lease's app id the evidence had to match */
    bool dcap_skipped;      /* no collateral could be had: DCAP checks were skipped */
    bool test_root;         /* verified against a TEST trust root */
    char verdict[16];       /* verified | rejected | skipped (attestation turned off) */
    char failed_check[32];  /* cba_check_name, or "" */
    char error[48];         /* cba_err_name, or "" */
    char detail[256];
    bool has_mac;           /* HMAC-SHA256 under the per-user bundle key (bundle_mac) */
    uint8_t mac[32];
} bundle;

void bundle_init(bundle *b);
void bundle_free(bundle *b); /* NULL-safe; frees and wipes the buffers */

/* bundle_report_data computes the report data binding (see above). */
CBA_MUST_USE bool bundle_report_data(uint8_t out[64], const uint8_t nonce[32], const uint8_t *host_key,
                                     size_t host_key_len);

/* bundle_expected_compose_hash derives the expected compose hash (see above). */
CBA_MUST_USE bool bundle_expected_compose_hash(uint8_t out[32], const uint8_t *info, size_t info_len,
                                               const uint8_t *compose, size_t compose_len);

/* bundle_app_compose_policy sets the app-compose policy the host applies to a lease it deployed:
 * the documented defaults (cba_app_compose_policy_init), the docker compose it deployed, and the
 * pre-launch script it supplied (then required); allowed_envs may name the driver's declared
 * DSTACK_AUTHORIZED_KEYS, which only a pre-launch script would read. Borrowed pointers. */
void bundle_app_compose_policy(cba_app_compose_policy *p, const uint8_t *compose, size_t compose_len,
                               const uint8_t *script, size_t script_len);

/* bundle_accept_phala_default adds Phala Cloud's default pre-launch script (by its SHA-256,
 * CBA_PHALA_DEFAULT_PRE_LAUNCH_SHA256_HEX, into caller storage hash[1]) and the env var it reads
 * (DSTACK_AUTHORIZED_KEYS) to p. That script lets the HOST add a root key: a trusted opt-in only,
 * labelled ssh_keys=host-controllable. */
void bundle_accept_phala_default(cba_app_compose_policy *p, uint8_t hash[1][32]);

/* The warning every accepting caller prints. */
#define BUNDLE_PHALA_DEFAULT_WARNING                                                                  \
    "WARNING: accepted Phala Cloud's default pre-launch script (v0.0.15, sha256 bf12939b...b9a8): it "  \
    "writes root's authorized_keys from the DSTACK_AUTHORIZED_KEYS env var and the unmeasured "       \
    "/dstack/user_config, so the HOST can add its own root key to this attested CVM. Labelled "         \
    "ssh_keys=host-controllable"

/* bundle_ssh_keys_label names who controls root's SSH keys in a verified report whose app_compose
 * check was evaluated (passed, or "not enforced"): "lease-key-only" (the supplied script),
 * "host-controllable" (Phala's default script), "allow-listed" (another allow-listed hash),
 * "unknown-script" (report-only: a script nobody vouched for), "platform-default" (no script);
 * else "unchecked". */
const char *bundle_ssh_keys_label(const cba_report *r, bool app_compose_evaluated);

/* ---- Authenticity ------------------------------------------------------------------------
 * The host MACs every bundle it writes under a per-user 32-byte key, <state dir>/bundle.key
 * ($XDG_STATE_HOME/crabbox or ~/.local/state/crabbox; 0600, made on first use). The MAC is
 * HMAC-SHA256(key, "crabbox-bundle-mac-v1" || every field, each as u64be(len) || bytes, in the
 * order of struct bundle). A re-verification on the same machine tells an authentic bundle from an
 * edited one; elsewhere (no key) nothing the bundle claims is authenticated. */
typedef enum bundle_auth {
    BUNDLE_AUTHENTIC = 0,
    BUNDLE_EDITED,      /* MAC present and wrong, or missing while the key exists */
    BUNDLE_NO_HOST_KEY, /* no key here: not authenticated */
} bundle_auth;

/* bundle_key_path writes the key's path from the caller's XDG_STATE_HOME and HOME (either may be
 * NULL; the library reads no environment); false when neither is absolute or it does not fit. */
CBA_MUST_USE bool bundle_key_path(char *out, size_t out_len, const char *xdg_state_home, const char *home);

/* bundle_key_load_at reads the key at `path` (a regular 0600 file of the user, exactly 32
 * bytes); with create, makes one when there is none. 0, or an errno value (ENOENT: none, or path
 * NULL; EPERM: wrong owner or mode; EINVAL: wrong size). The tools' bundle_key_load
 * (tools/common/bundle_env.h) finds the path from the environment. */
CBA_MUST_USE int bundle_key_load_at(const char *path, uint8_t key[32], bool create);

/* bundle_mac computes the MAC of b (its own mac field excluded). */
CBA_MUST_USE bool bundle_mac(const bundle *b, const uint8_t key[32], uint8_t out[32]);

/* bundle_check_auth_at says whether b is authentic under the key at key_path (NULL: no key). */
bundle_auth bundle_check_auth_at(const bundle *b, const char *key_path);
const char *bundle_auth_name(bundle_auth a); /* "authentic", "EDITED", "not authenticated (no host key)" */

/* bundle_to_json returns the bundle document (the caller owns it), NULL on ENOMEM. */
json_object *bundle_to_json(const bundle *b);

/* bundle_load reads and strictly parses a bundle file into *out (owned; bundle_free). Returns 0,
 * or -1 with a message naming the file and the problem in errbuf. */
int bundle_load(const char *path, bundle *out, char *errbuf, size_t errlen);

/* bundle_parse is bundle_load on bytes already read (`path` only names them in messages); at
 * most BUNDLE_MAX_FILE bytes. The fuzz harness fuzz/bundle.c drives it. */
int bundle_parse(const uint8_t *text, size_t text_len, const char *path, bundle *out, char *errbuf,
                 size_t errlen);

#endif
