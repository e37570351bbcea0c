/* state.h — per-user lease state: claims (one JSON file per lease), evidence bundles, locks.
 *
 * Layout (docs/driver-abi.md §State):
 *   $XDG_STATE_HOME/crabbox/           (default ~/.local/state/crabbox), 0700
 *       lock                           flock: held briefly to allocate ids/slugs and to sweep
 *       claims/<lease>.json            the claim, 0600, written atomically (temp + rename)
 *       locks/<lease>.lock             flock: held for the whole of an operation on the lease
 *       evidence/<lease>-<time>.json   evidence bundles, 0600
 *       leases/<lease>/                the lease directory, 0700: id_ed25519(.pub), known_hosts, the
 *                                      compose that was deployed (state, not configuration; moved
 *                                      from $XDG_CONFIG_HOME/crabbox/testboxes/ by state_open)
 * Nothing follows symlinks it did not make; every directory is checked to be ours. */
#ifndef CRABBOX_HOST_STATE_H
#define CRABBOX_HOST_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "crabbox/driver.h"
#include "util.h"

typedef struct state {
    char root[PATH_MAX];
    char claims[PATH_MAX];
    char locks[PATH_MAX];
    char evidence[PATH_MAX];
    char leases[PATH_MAX];
    int lock_fd; /* the root lock while held, else -1 */
} state;

/* Lease states (phala-provider.md §4) plus `failed`. */
#define CLAIM_LEASED "leased"             /* intent: written before anything exists remotely */
#define CLAIM_PROVISIONING "provisioning" /* the driver created it; not verified yet */
#define CLAIM_READY "ready"
#define CLAIM_RELEASING "releasing"
#define CLAIM_FAILED "failed"

typedef struct claim {
    char lease[32];
    char slug[64];
    char provider[32];
    char class_name[64];
    char server_type[64];
    bool keep;
    bool ephemeral; /* `run` without --id/--keep: released when its command ends; if that command
                       died (its lease lock is free), `cleanup` releases it at once */
    char state[16];
    int64_t created_at, last_touched_at, idle_timeout_secs, ttl_secs, expires_at;
    char cloud_id[128];
    char name[128];
    char app_id[41];
    char gateway_host[256];
    char status[32];
    char recovery[32]; /* "", ambiguous-create, rollback-cleanup, kept-after-failure */
    int attested;      /* -1 not yet decided, 0 false, 1 true */
    int attestation_fresh; /* -1 unknown; 1 the quote carried our nonce and the session's host key;
                              0 the Info quote only (allowInfoOnlyAttestation) */
    char tdx_app_id[41];
    char tdx_compose_hash[65];
    char tdx_mrtd[97];
    char tdx_rtmr3[97];
    char tdx_os_image_hash[65]; /* only when measured (os-image-hash event); else empty */
    char ssh_keys[24];          /* who controls root's SSH keys (bundle_ssh_keys_label) when attested */
    char measurement_pin[24];   /* first-sighting | match (pins.h) | configured, when attested */
    char measurement_pin_key[160];
    char scope[96];
    char lease_dir[PATH_MAX];
    char compose_sha256[65];
    char bundle[PATH_MAX]; /* the latest evidence bundle */
} claim;

/* state_open resolves and creates (0700) the directories. */
CBX_MUST_USE int state_open(state *st, const char *xdg_state_home, const char *xdg_config_home, const char *home,
                            crabbox_err *err);

/* state_lock takes the root lock (blocking); state_unlock releases it (no-op when not held). */
CBX_MUST_USE int state_lock(state *st, bool exclusive, crabbox_err *err);
void state_unlock(state *st);

/* lease_lock takes the lease's lock, exclusive (warmup, stop, cleanup) or shared (run, ssh,
 * attest): CRABBOX_E_FAILED with "busy" when nonblock and the lock is taken. *out_fd is the lock
 * to pass to lease_unlock. */
CBX_MUST_USE int lease_lock(state *st, const char *lease, bool exclusive, bool nonblock, int *out_fd,
                            crabbox_err *err);
/* lease_unlock releases it; with remove the lock file is unlinked first (only after the claim is
 * gone). */
void lease_unlock(state *st, const char *lease, int fd, bool remove);

CBX_MUST_USE bool lease_id_valid(const char *lease);

/* claim_init zeroes a claim (attested = -1). claim_set_expiry computes expires_at =
 * min(last_touched + idle_timeout, created + ttl). */
void claim_init(claim *c);
void claim_set_expiry(claim *c);

CBX_MUST_USE int claim_write(const state *st, const claim *c, crabbox_err *err);
/* claim_read: CRABBOX_E_NOT_FOUND when there is no claim, CRABBOX_E_MALFORMED for a bad file. */
CBX_MUST_USE int claim_read(const state *st, const char *lease, claim *out, crabbox_err *err);
/* claim_parse parses a claim file's bytes (`path` names them in messages): CRABBOX_E_MALFORMED
 * for anything but a strict, complete claim. The fuzz harness fuzz/claim_file.c
 * drives it. */
CBX_MUST_USE int claim_parse(const uint8_t *data, size_t len, const char *path, claim *out,
                             crabbox_err *err);
CBX_MUST_USE int claim_remove(const state *st, const char *lease, crabbox_err *err);
/* claim_list reads every claim (oldest first); malformed files are skipped with a warning. */
CBX_MUST_USE int claim_list(const state *st, claim **out, size_t *num, crabbox_err *err);

/* claim_to_json: the claim as a JSON object (the caller owns it). */
json_object *claim_to_json(const claim *c);

/* lease_dir_path writes the lease directory of `lease`. */
CBX_MUST_USE bool lease_dir_path(const state *st, const char *lease, char *out, size_t out_len);

#endif
