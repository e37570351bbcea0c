/* gate.h — the host's attestation gate (docs/driver-abi.md §The gate).
 *
 * The host, never the driver, verifies: it makes a 32-byte nonce, asks the driver for evidence
 * for that nonce, and runs cba_verify with the lease's app id, the compose it deployed, the
 * report data SHA-512("crabbox-attest-v1:" || nonce || SHA-256(host key)) when the quote is
 * fresh, and collateral when it has some. Only a pass mints the token open_session needs:
 *
 *   token.bytes[0..32)  = HMAC-SHA256(secret, "crabbox-token-v1" || u32be(len(lease)) || lease ||
 *                                     SHA-256(host key) || evidence hash)
 *   token.bytes[32..64) = evidence hash = SHA-256(u64be(len info) || info || u64be(len quote) || quote)
 *
 * with a random 32-byte secret per host process; token_check recomputes and compares in constant
 * time. A user's explicit attestation opt-out mints a token over no host key and a zero evidence
 * hash (the lease is labelled attested=false). */
#ifndef CRABBOX_HOST_GATE_H
#define CRABBOX_HOST_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle_env.h" /* bundle.h, and the key from the environment */
#include "crabbox/driver.h"
#include "crabbox/verifier.h"
#include "util.h"

#define GATE_MAX_INFO (8u << 20)
#define GATE_MAX_QUOTE (64u << 10)
#define GATE_MAX_HOST_KEY (16u << 10)

typedef struct gate_keys {
    uint8_t secret[32];
} gate_keys;

CBX_MUST_USE bool gate_keys_init(gate_keys *k); /* from getrandom */
void gate_keys_wipe(gate_keys *k);

/* gate_token_mint / gate_token_check: see above. host_key may be NULL (len 0). */
CBX_MUST_USE bool gate_token_mint(const gate_keys *k, const char *lease_id, const uint8_t *host_key,
                                  size_t host_key_len, const uint8_t evidence_hash[32], crabbox_attest_token *out);
CBX_MUST_USE bool gate_token_check(const gate_keys *k, const char *lease_id, const uint8_t *host_key,
                                   size_t host_key_len, const crabbox_attest_token *token);

/* gate_collateral_fn finds DCAP collateral for the evidence just fetched (the host: the per-user
 * cache, else a PCS/PCCS). 0 with *out filled (owned by the caller; not necessarily verified —
 * the verifier authenticates it) and *source describing where it came from; else no collateral,
 * *why says why (the DCAP checks are then skipped, or the lease refused with requireCollateral). */
typedef int (*gate_collateral_fn)(void *ctx, const cba_evidence *ev, int64_t now, cbx_buf *out, char *source,
                                  size_t source_len, char *why, size_t why_len);

typedef struct gate_policy {
    const uint8_t *collateral; /* QuoteCollateralV3 JSON, or NULL */
    size_t collateral_len;
    const char *collateral_source; /* "file:PATH" for the bundle */
    bool require_collateral;       /* no collateral = rejected instead of DCAP skipped (the default) */
    bool collateral_fetch_off;     /* for the message: collateralFetch: false */
    const uint8_t *trust_root_der; /* TEST ONLY (--trust-root); NULL = Intel's root */
    size_t trust_root_der_len;
    const char *provider;          /* for the bundle */
    gate_collateral_fn fetch_collateral; /* used when collateral is NULL; NULL: none */
    void *fetch_ctx;
    bool allow_info_only;          /* accept a driver that can bind a nonce returning only the Info quote
                                      (not bound to this session: labelled attestation_fresh=false) */
    const uint8_t *pre_launch_script; /* the per-lease script the host supplied (prelaunch.h); NULL none */
    size_t pre_launch_script_len;
    bool accept_phala_default_script; /* trusted opt-in: Phala's default script by hash (ssh_keys=host-controllable) */
    const cba_policy *verifier_policy; /* the user's verifier policy (config_policy), or NULL for the
                                          default; the gate sets the bindings on a copy of it */
} gate_policy;

typedef struct gate_result {
    bool verified;
    bool dcap_skipped;
    bool fresh; /* the quote carried this gate's nonce and the session's host key */
    cbx_buf fetched_collateral; /* what pol->fetch_collateral gave (owned) */
    char collateral_note[400];  /* why there is no collateral, when the fetch found none */
    const char *failed_check; /* cba_check_name, or "evidence" for evidence the host cannot use */
    char detail[480];
    const char *ssh_keys; /* who controls root's keys (bundle_ssh_keys_label), when verified */
    cba_report report;
    crabbox_attest_token token; /* minted when verified */
    bundle bundle;              /* what to save, whatever the verdict (owned; bundle_free) */
} gate_result;

/* gate_run fetches evidence for `lease` with a fresh nonce and verifies it at `now`.
 * Returns CRABBOX_OK when verified (out->token minted), CRABBOX_E_ATTESTATION when the evidence
 * was rejected (out->failed_check, out->detail), or the driver's code when fetch_evidence failed
 * (err says why; out->bundle still records the attempt). out->bundle is filled in every case:
 * call gate_result_free. */
CBX_MUST_USE int gate_run(const gate_keys *keys, const crabbox_driver *d, void *drv, const crabbox_lease *lease,
                          const uint8_t *compose, size_t compose_len, const gate_policy *pol, int64_t now,
                          gate_result *out, crabbox_err *err);
void gate_result_free(gate_result *r); /* NULL-safe */

/* gate_known_hosts_line writes "<name> <key type> <base64 blob>\n" for an SSH public key blob;
 * false when the blob does not start with a key type string. */
CBX_MUST_USE bool gate_known_hosts_line(char *out, size_t out_len, const char *name, const uint8_t *blob,
                                        size_t blob_len);

#endif
