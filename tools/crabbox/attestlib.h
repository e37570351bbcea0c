/* attestlib.h — the host's one door into libcrabbox-attest (attest/): collateral fetching and
 * evidence bundles, with the bundle key taken from the environment (bundle_env.h). */
#ifndef CRABBOX_HOST_ATTESTLIB_H
#define CRABBOX_HOST_ATTESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle_env.h" /* bundle.h, and the key from the environment */
#include "crabbox/verifier.h"
#include "util.h"

/* What the collateral fetch needs, resolved from the configuration once (admission.h). */
typedef struct collateral_fetch_cfg {
    const char *pccs_url;          /* pccsUrl, or NULL for Intel PCS */
    const uint8_t *trust_root_der; /* TEST ONLY (--trust-root), or NULL */
    size_t trust_root_der_len;
    bool quiet;                    /* --json: no progress on stderr from the fetch code */
} collateral_fetch_cfg;

/* attestlib_fetch_collateral is the gate's collateral source (gate_collateral_fn; ctx is a
 * collateral_fetch_cfg): the per-user cache of verified collateral, else Intel PCS or the
 * configured PCCS. A network failure gives no collateral (-1, *why says why: the DCAP checks are
 * then skipped, loudly, or the lease is refused with requireCollateral); collateral that was
 * assembled but does not verify is handed on anyway (0), so that the verifier refuses the lease
 * and names the check. */
int attestlib_fetch_collateral(void *ctx, const cba_evidence *ev, int64_t now, cbx_buf *out, char *source,
                               size_t source_len, char *why, size_t why_len);

/* attestlib_save_bundle writes b, authenticated with the user's bundle key when there is one, as
 * a new 0600 file <lease>-<time>-<rand>.json in evidence_dir. True with *out_path set; false after
 * saying why on stderr. */
bool attestlib_save_bundle(const char *evidence_dir, const bundle *b, char *out_path, size_t out_len);

/* attestlib_save_skipped_bundle records a verification the user turned off (verdict "skipped",
 * no evidence; `why` names the setting). Like attestlib_save_bundle. */
bool attestlib_save_skipped_bundle(const char *evidence_dir, const char *lease, const char *provider,
                                   const char *cloud_id, const char *why, char *out_path, size_t out_len);

/* attestlib_bundle_auth reads a saved bundle back and names its authenticity (bundle_auth_name),
 * or "unreadable". */
const char *attestlib_bundle_auth(const char *path);

#endif
