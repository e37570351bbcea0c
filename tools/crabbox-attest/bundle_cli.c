/* bundle_cli.c — see bundle_cli.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_cli.h"
#include "cbs.h"
#include "base.h"
#include "sha2.h"

bool bundle_fill_app_compose(const char *path, uint8_t **compose, size_t *compose_len, uint8_t **script,
                             size_t *script_len)
{
    bundle b;
    char msg[400];
    if (bundle_load(path, &b, msg, sizeof msg) != 0) {
        fprintf(stderr, "crabbox-attest: %s\n", msg);
        return false;
    }
    *compose = NULL;
    *script = NULL;
    *compose_len = *script_len = 0;
    if (bundle_check_auth(&b) == BUNDLE_AUTHENTIC) {
        *compose = b.compose;
        *compose_len = b.compose_len;
        *script = b.pre_launch_script;
        *script_len = b.pre_launch_script_len;
        b.compose = b.pre_launch_script = NULL;
        b.compose_len = b.pre_launch_script_len = 0;
    }
    bundle_free(&b);
    return true;
}

/* print_claims lists what an unauthenticated bundle says the host expected: shown, never used. */
static void print_claims(const bundle *b, const char *path, bundle_auth auth)
{
    char app[41] = "-", nonce[65] = "-", ch[65] = "-";
    uint8_t h[32];
    const cbs c = cbs_make(b->compose, b->compose_len);
    if (b->has_app_id) { cba_hex_encode(app, b->app_id, 20); }
    if (b->has_nonce) { cba_hex_encode(nonce, b->nonce, 32); }
    if (b->compose != NULL && cba_sha256(h, &c, 1)) { cba_hex_encode(ch, h, 32); }
    fprintf(stderr,
            "crabbox-attest: bundle %s is %s: its expectations are claims, NOT used: expected_app_id=%s "
            "compose_sha256=%s nonce=%s fresh=%s time=%lld dcap=%s verdict=%s. Give --app-id, --compose-hash "
            "or --docker-compose, --nonce (or --report-data), --at to check them.\n",
            path, bundle_auth_name(auth), app, ch, nonce, b->fresh ? "true" : "false", (long long)b->time,
            b->dcap_skipped ? "skipped" : "checked", b->verdict);
}

bool bundle_fill(const char *path, bool want_collateral, uint8_t **info, size_t *info_len, uint8_t **quote,
                 size_t *quote_len, uint8_t **quote_log, size_t *quote_log_len, uint8_t **collateral, size_t *collateral_len, cba_policy *policy,
                 bool *quote_replaces_info_quote, int64_t *at, const uint8_t *nonce, bundle_auth *auth)
{
    bundle b;
    char msg[400];
    if (bundle_load(path, &b, msg, sizeof msg) != 0) {
        fprintf(stderr, "crabbox-attest: %s\n", msg);
        return false;
    }
    if (b.info == NULL && b.quote == NULL) {
        fprintf(stderr, "crabbox-attest: bundle %s holds no evidence (verdict %s)\n", path, b.verdict);
        bundle_free(&b);
        return false;
    }
    *auth = bundle_check_auth(&b);
    if (nonce != NULL && !policy->has_report_data) {
        if (b.host_key == NULL || !bundle_report_data(policy->report_data, nonce, b.host_key, b.host_key_len)) {
            fprintf(stderr, "crabbox-attest: bundle %s has no SSH host key to bind --nonce to\n", path);
            bundle_free(&b);
            return false;
        }
        policy->has_report_data = true;
    }
    if (*auth == BUNDLE_AUTHENTIC) {
        if (!policy->has_app_id && b.has_app_id) {
            memcpy(policy->app_id, b.app_id, 20);
            policy->has_app_id = true;
        }
        if (!policy->has_report_data && b.fresh) {
            /* Recomputed from the nonce and the host key, never taken from a stored value. */
            if (!bundle_report_data(policy->report_data, b.nonce, b.host_key, b.host_key_len)) {
                bundle_free(&b);
                return false;
            }
            policy->has_report_data = true;
        }
        if (!policy->has_compose_hash && b.compose != NULL) {
            if (!bundle_expected_compose_hash(policy->compose_hash, b.info, b.info_len, b.compose, b.compose_len)) {
                bundle_free(&b);
                return false;
            }
            policy->has_compose_hash = true;
        }
        if (at != NULL) { *at = b.time; }
    } else {
        print_claims(&b, path, *auth);
    }
    *quote_replaces_info_quote = b.fresh && b.quote != NULL && b.info != NULL;
    if (want_collateral && b.collateral != NULL) {
        /* Evidence, not policy: the verifier authenticates it against the root. */
        *collateral = b.collateral;
        *collateral_len = b.collateral_len;
        b.collateral = NULL;
        b.collateral_len = 0;
    } else if (want_collateral && b.dcap_skipped && !policy->skip_dcap) {
        fprintf(stderr, "crabbox-attest: note: bundle %s records dcap=skipped (reported, not obeyed): give "
                        "--collateral FILE or --pccs URL to run the DCAP checks, or --no-dcap to skip them\n", path);
    }
    *info = b.info;
    *info_len = b.info_len;
    *quote = b.quote;
    *quote_len = b.quote_len;
    /* Used only with a quote that replaces the Info's (the verifier refuses it otherwise). */
    *quote_log = *quote_replaces_info_quote ? b.quote_event_log : NULL;
    *quote_log_len = *quote_replaces_info_quote ? b.quote_event_log_len : 0;
    if (*quote_replaces_info_quote) { b.quote_event_log = NULL; }
    b.info = b.quote = NULL;
    b.info_len = b.quote_len = 0;
    bundle_free(&b);
    return true;
}
