/* crabbox/attest.h — libcrabbox-attest: the attestation protocol around the verifier
 * (crabbox/verifier.h). Static and in-tree (attest/; not installed yet). Everything here does
 * I/O the verifier never does — network, the per-user cache — and is built on the verifier's
 * public API: what it fetches is untrusted until cba_collateral_verify accepts it.
 *
 *   crabbox/collateral.h   DCAP collateral for a quote: the verified cache, then Intel PCS or a
 *                          PCCS (libcurl, dlopen'ed), then verification; result codes
 *                          (cba_fetch_status, a message each) and a progress callback.
 *
 * The library prints nothing, reads no environment and knows no CLI exit codes: callers (the
 * crabbox-attest CLI, the crabbox host, embedders) map the result codes and print the callback's
 * lines. In-tree users also reach the module headers in attest/: bundle.h (evidence bundles and
 * their bindings), pcs_response.h (the PCS/PCCS response parser), cache.h (the verified cache).
 * docs/api.md, "libcrabbox-attest". */
#ifndef CRABBOX_ATTEST_H
#define CRABBOX_ATTEST_H

#include "crabbox/collateral.h"
#include "crabbox/verifier.h"

#endif
