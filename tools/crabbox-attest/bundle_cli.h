/* bundle_cli.h — `crabbox-attest verify --bundle`: a saved evidence bundle (attest/bundle.h) as
 * the verify command's inputs, with the command's messages on stderr. */
#ifndef CRABBOX_ATTEST_BUNDLE_CLI_H
#define CRABBOX_ATTEST_BUNDLE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle_env.h" /* bundle.h, and the key from the environment */

/* bundle_fill (crabbox-attest verify --bundle) loads a bundle and fills what verify needs: the
 * evidence (info/quote and the quote's own event log when recorded, malloc'ed), the collateral (only when want_collateral; else the caller
 * brings its own; evidence too: the verifier authenticates it) and *quote_replaces_info_quote.
 * Only when the bundle is authentic here (*auth) does it also take the host's expectations, unless
 * the caller set them: the policy's app id, report data (fresh quotes, from the nonce and host
 * key) and compose hash, and *at (the bundle's time) when at is not NULL. Otherwise they are
 * claims: printed, not used. Policy (e.g. skipping DCAP) never comes from a bundle. Prints a message
 * naming the file and returns false on failure. */
CBA_MUST_USE bool bundle_fill(const char *path, bool want_collateral, uint8_t **info, size_t *info_len,
                              uint8_t **quote, size_t *quote_len, uint8_t **quote_log, size_t *quote_log_len,
                              uint8_t **collateral, size_t *collateral_len,
                              cba_policy *policy, bool *quote_replaces_info_quote, int64_t *at,
                              const uint8_t *nonce, bundle_auth *auth);
/* (nonce, when not NULL: the nonce the caller trusts; the report data is computed from it and the
 * bundle's host key whatever the bundle's authenticity.) */

/* bundle_fill_app_compose hands over (owned, malloc'ed; NULL when absent) the deployed compose and
 * the supplied pre-launch script a bundle records, for the app-compose policy. false with a
 * message when the bundle does not load. */
CBA_MUST_USE bool bundle_fill_app_compose(const char *path, uint8_t **compose, size_t *compose_len,
                                          uint8_t **script, size_t *script_len);
/* (bundle_fill_app_compose hands them over only from an authentic bundle: else both NULL.) */

#endif
