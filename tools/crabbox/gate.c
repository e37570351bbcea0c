/* gate.c — see gate.h. The only host file that includes wolfSSL (HMAC); hashes come from base's
 * sha2.h. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "gate.h"
#include "hints.h"
#include "sha2.h"

static const char k_token_domain[] = "crabbox-token-v1";

bool gate_keys_init(gate_keys *k)
{
    return cbx_random(k->secret, sizeof k->secret);
}

void gate_keys_wipe(gate_keys *k)
{
    if (k != NULL) { cbx_wipe(k->secret, sizeof k->secret); }
}

static bool token_mac(const gate_keys *k, const char *lease_id, const uint8_t *host_key, size_t host_key_len,
                      const uint8_t evidence_hash[32], uint8_t out[32])
{
    Hmac h;
    uint8_t hk[32], len_be[4];
    size_t lease_len = strlen(lease_id);
    const cbs key_part = cbs_make(host_key != NULL ? host_key : (const uint8_t *)"", host_key_len);
    bool ok;
    if (lease_len > 64 || !cba_sha256(hk, &key_part, 1)) { return false; }
    len_be[0] = 0;
    len_be[1] = 0;
    len_be[2] = 0;
    len_be[3] = (uint8_t)lease_len;
    if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0) { return false; }
    ok = wc_HmacSetKey(&h, WC_SHA256, k->secret, sizeof k->secret) == 0 &&
         wc_HmacUpdate(&h, (const byte *)k_token_domain, (word32)(sizeof k_token_domain - 1)) == 0 &&
         wc_HmacUpdate(&h, len_be, 4) == 0 &&
         wc_HmacUpdate(&h, (const byte *)lease_id, (word32)lease_len) == 0 &&
         wc_HmacUpdate(&h, hk, 32) == 0 && wc_HmacUpdate(&h, evidence_hash, 32) == 0 && wc_HmacFinal(&h, out) == 0;
    wc_HmacFree(&h);
    return ok;
}

bool gate_token_mint(const gate_keys *k, const char *lease_id, const uint8_t *host_key, size_t host_key_len,
                     const uint8_t evidence_hash[32], crabbox_attest_token *out)
{
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    if (!token_mac(k, lease_id, host_key, host_key_len, evidence_hash, out->bytes)) { return false; }
    memcpy(out->bytes + 32, evidence_hash, 32);
    return true;
}

bool gate_token_check(const gate_keys *k, const char *lease_id, const uint8_t *host_key, size_t host_key_len,
                      const crabbox_attest_token *token)
{
    uint8_t mac[32];
    bool ok;
    if (k == NULL || lease_id == NULL || token == NULL || token->struct_size < sizeof *token ||
        (host_key == NULL && host_key_len != 0)) {
        return false;
    }
    if (!token_mac(k, lease_id, host_key, host_key_len, token->bytes + 32, mac)) { return false; }
    ok = cba_ct_eq(mac, token->bytes, 32);
    cbx_wipe(mac, sizeof mac);
    return ok;
}

static bool evidence_hash(const crabbox_evidence *ev, uint8_t out[32])
{
    uint8_t il[8], ql[8];
    for (int i = 0; i < 8; i++) {
        il[i] = (uint8_t)((uint64_t)ev->info_json_len >> (56 - 8 * i));
        ql[i] = (uint8_t)((uint64_t)ev->quote_len >> (56 - 8 * i));
    }
    const cbs parts[4] = { cbs_make(il, 8), cbs_make(ev->info_json, ev->info_json_len), cbs_make(ql, 8),
                           cbs_make(ev->quote, ev->quote_len) };
    return cba_sha256(out, parts, 4);
}

static bool dup_buf(uint8_t **out, size_t *out_len, const uint8_t *in, size_t len)
{
    *out = NULL;
    *out_len = 0;
    if (in == NULL) { return true; }
    *out = malloc(len + 1);
    if (*out == NULL) { return false; }
    memcpy(*out, in, len);
    (*out)[len] = 0;
    *out_len = len;
    return true;
}

void gate_result_free(gate_result *r)
{
    if (r == NULL) { return; }
    bundle_free(&r->bundle);
    cbx_buf_free(&r->fetched_collateral);
    cbx_wipe(&r->token, sizeof r->token);
}

/* reject records a failure of a host-side check (or the verifier's) in the result. */
__attribute__((format(printf, 3, 4))) static int reject(gate_result *out, const char *check, const char *fmt, ...)
{
    va_list ap;
    out->verified = false;
    out->failed_check = check;
    va_start(ap, fmt);
    (void)vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
    snprintf(out->bundle.verdict, sizeof out->bundle.verdict, "rejected");
    snprintf(out->bundle.failed_check, sizeof out->bundle.failed_check, "%s", check);
    snprintf(out->bundle.detail, sizeof out->bundle.detail, "%.255s", out->detail);
    return CRABBOX_E_ATTESTATION;
}

/* start_record resets the result, fills the bundle's header (lease, provider, time, the deployed
 * bytes) and makes the nonce. CRABBOX_OK, CRABBOX_E_ATTESTATION (no app id to bind) or an error. */
static int start_record(gate_result *out, const crabbox_driver *d, const crabbox_lease *lease, const uint8_t *compose,
                        size_t compose_len, const gate_policy *pol, int64_t now, uint8_t nonce[32], crabbox_err *err)
{
    bundle *b = &out->bundle;
    memset(out, 0, sizeof *out);
    bundle_init(b);
    snprintf(b->lease, sizeof b->lease, "%s", lease->lease_id);
    snprintf(b->provider, sizeof b->provider, "%s", pol->provider != NULL ? pol->provider : d->name);
    snprintf(b->cloud_id, sizeof b->cloud_id, "%s", lease->cloud_id);
    b->time = now;
    b->test_root = pol->trust_root_der != NULL;
    if (!dup_buf(&b->compose, &b->compose_len, compose, compose_len) ||
        !dup_buf(&b->pre_launch_script, &b->pre_launch_script_len, pol->pre_launch_script,
                 pol->pre_launch_script_len)) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
    }
    if (!cbx_random(nonce, 32)) { return cbx_set_err(err, CRABBOX_E_FAILED, "getrandom failed"); }
    memcpy(b->nonce, nonce, 32);
    b->has_nonce = true;
    if (strlen(lease->app_id) == 40 && cba_hex_decode(b->app_id, 20, lease->app_id, 40)) { b->has_app_id = true; }
    if (!b->has_app_id) {
        /* Nothing to bind the evidence to: do not even ask for it. */
        return reject(out, cba_check_name(CBA_CHECK_APP_ID), "the lease has no app id to bind the evidence to");
    }
    return CRABBOX_OK;
}

/* take_evidence asks the driver for evidence for the nonce and keeps a copy of what it said in
 * the bundle, whatever happens next (the bundle is the record); *ev_hash is its hash. */
static int take_evidence(gate_result *out, const crabbox_driver *d, void *drv, const crabbox_lease *lease,
                         const uint8_t nonce[32], uint8_t ev_hash[32], crabbox_err *err)
{
    bundle *b = &out->bundle;
    crabbox_evidence *ev = NULL;
    int rc = d->fetch_evidence(drv, lease, nonce, &ev, err);
    if (rc != CRABBOX_OK || ev == NULL) {
        if (rc == CRABBOX_OK) { rc = cbx_set_err(err, CRABBOX_E_MALFORMED, "the driver returned no evidence"); }
        snprintf(b->verdict, sizeof b->verdict, "rejected");
        snprintf(b->failed_check, sizeof b->failed_check, "evidence");
        snprintf(b->detail, sizeof b->detail, "fetch failed: %.200s", err->message);
        /* Whatever code the driver chose, the result names the step and says why. */
        out->failed_check = "evidence";
        snprintf(out->detail, sizeof out->detail, "fetch failed: %.280s", err->message);
        return rc;
    }
    if (!CRABBOX_HAS_MEMBER(crabbox_evidence, ev, fresh)) {
        d->evidence_free(drv, ev);
        return reject(out, "evidence", "the driver's evidence struct is too short");
    }
    if (ev->info_json_len > GATE_MAX_INFO || ev->quote_len > GATE_MAX_QUOTE || ev->host_key_len > GATE_MAX_HOST_KEY ||
        (ev->info_json == NULL && ev->info_json_len != 0) || (ev->quote == NULL && ev->quote_len != 0) ||
        (ev->host_key == NULL && ev->host_key_len != 0)) {
        d->evidence_free(drv, ev);
        return reject(out, "evidence", "evidence buffers are inconsistent or too large");
    }
    if (!dup_buf(&b->info, &b->info_len, ev->info_json, ev->info_json_len) ||
        !dup_buf(&b->quote, &b->quote_len, ev->quote, ev->quote_len) ||
        !dup_buf(&b->host_key, &b->host_key_len, ev->host_key, ev->host_key_len) || !evidence_hash(ev, ev_hash)) {
        d->evidence_free(drv, ev);
        return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
    }
    b->fresh = ev->fresh && ev->quote != NULL;
    if (b->fresh && CRABBOX_HAS_MEMBER(crabbox_evidence, ev, quote_event_log_len) && ev->quote_event_log != NULL) {
        /* The log sent with the fresh quote: the one its RTMR3 replays from. */
        if (ev->quote_event_log_len > GATE_MAX_INFO) {
            d->evidence_free(drv, ev);
            return reject(out, "evidence", "the quote's event log is too large");
        }
        if (!dup_buf(&b->quote_event_log, &b->quote_event_log_len, ev->quote_event_log, ev->quote_event_log_len)) {
            d->evidence_free(drv, ev);
            return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
        }
    }
    d->evidence_free(drv, ev);
    return CRABBOX_OK;
}

/* check_freshness: the host's requirements before the verifier runs. */
static int check_freshness(gate_result *out, const crabbox_driver *d, const gate_policy *pol)
{
    const bundle *b = &out->bundle;
    if (b->info == NULL && b->quote == NULL) { return reject(out, "evidence", "the driver returned no evidence"); }
    if ((d->capabilities & CRABBOX_CAP_FRESH_QUOTE) != 0 && !b->fresh && !pol->allow_info_only) {
        /* A man in the middle could hide the quote call and replay a genuine Info: refuse the
         * downgrade unless a trusted source opted in (allowInfoOnlyAttestation). */
        return reject(out, cba_check_name(CBA_CHECK_REPORT_DATA),
                      "the driver can bind a nonce but returned no fresh quote (the guest agent offered no quote "
                      "call; allowInfoOnlyAttestation: true in a trusted config accepts the Info quote, unbound to "
                      "this session)");
    }
    out->fresh = b->fresh;
    if (b->fresh && b->host_key == NULL) {
        return reject(out, cba_check_name(CBA_CHECK_REPORT_DATA), "a fresh quote without the SSH host key it binds");
    }
    return CRABBOX_OK;
}

/* The collateral the verifier gets: given, fetched, or none (data NULL). */
typedef struct collateral_pick {
    const uint8_t *data;
    size_t len;
    const char *source;
    char fetched_source[256];
} collateral_pick;

/* pick_collateral takes the given collateral, else asks pol->fetch_collateral for the quote that
 * will be verified: the fresh one, else the Info's. Fetched collateral is untrusted until
 * cba_verify authenticates it against the root. */
static void pick_collateral(gate_result *out, const gate_policy *pol, int64_t now, collateral_pick *c)
{
    const bundle *b = &out->bundle;
    cba_evidence fe;
    c->data = pol->collateral;
    c->len = pol->collateral_len;
    c->source = pol->collateral_source;
    if (c->data != NULL || pol->fetch_collateral == NULL || (b->quote == NULL && b->info == NULL)) { return; }
    cba_evidence_init(&fe);
    fe.info_json = b->quote == NULL ? b->info : NULL;
    fe.info_json_len = b->quote == NULL ? b->info_len : 0;
    fe.quote = b->quote;
    fe.quote_len = b->quote_len;
    if (pol->fetch_collateral(pol->fetch_ctx, &fe, now, &out->fetched_collateral, c->fetched_source,
                              sizeof c->fetched_source, out->collateral_note, sizeof out->collateral_note) == 0 &&
        out->fetched_collateral.data != NULL) {
        c->data = out->fetched_collateral.data;
        c->len = out->fetched_collateral.len;
        c->source = c->fetched_source;
    } else {
        cbx_buf_free(&out->fetched_collateral);
    }
}

/* record_collateral puts the collateral in the bundle; none at all is a rejection when the
 * policy requires collateral. */
static int record_collateral(gate_result *out, const gate_policy *pol, const collateral_pick *c, crabbox_err *err)
{
    bundle *b = &out->bundle;
    b->dcap_skipped = c->data == NULL;
    if (c->data != NULL) {
        if (!dup_buf(&b->collateral, &b->collateral_len, c->data, c->len)) {
            return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
        }
        snprintf(b->collateral_source, sizeof b->collateral_source, "%.255s", c->source != NULL ? c->source : "");
    }
    if (c->data == NULL && pol->require_collateral) {
        /* Fail closed, and say what was tried and the two ways out. */
        return reject(out, "collateral",
                      "no verified DCAP collateral (%.150s): revocation and TCB status unchecked. Give "
                      "--collateral FILE, or skip the DCAP checks with requireCollateral: false in your user config "
                      "or --no-require-collateral (labelled dcap=skipped)",
                      out->collateral_note[0] != '\0' ? out->collateral_note
                      : pol->collateral_fetch_off      ? "collateral fetching is off: collateralFetch: false"
                                                       : "no collateral source");
    }
    return CRABBOX_OK;
}

/* bind_policy makes the verifier policy for this lease: the user's, with the app id, the expected
 * compose hash, the report data (fresh quote), the whole app-compose and the trust root. */
static int bind_policy(cba_policy *p, cba_app_compose_policy *acp, uint8_t phala_hash[1][32], const bundle *b,
                       const gate_policy *pol, const uint8_t nonce[32], const uint8_t *compose, size_t compose_len,
                       crabbox_err *err)
{
    if (pol->verifier_policy != NULL) {
        *p = *pol->verifier_policy; /* its lists are borrowed from the caller for this call */
    } else {
        cba_policy_init(p);
    }
    memcpy(p->app_id, b->app_id, 20);
    p->has_app_id = true;
    if (!bundle_expected_compose_hash(p->compose_hash, b->info, b->info_len, compose, compose_len)) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "hashing failed");
    }
    p->has_compose_hash = true;
    if (b->fresh) {
        if (!bundle_report_data(p->report_data, nonce, b->host_key, b->host_key_len)) {
            return cbx_set_err(err, CRABBOX_E_FAILED, "hashing failed");
        }
        p->has_report_data = true;
    }
    /* The whole attested app-compose is policy: our compose, our script (its key is the only one
     * root accepts), nothing else that changes what runs or who logs in. */
    bundle_app_compose_policy(acp, compose, compose_len, b->pre_launch_script, b->pre_launch_script_len);
    if (pol->accept_phala_default_script) { bundle_accept_phala_default(acp, phala_hash); }
    p->app_compose = acp;
    p->trust_root_der = pol->trust_root_der;
    p->trust_root_der_len = pol->trust_root_der_len;
    return CRABBOX_OK;
}

/* run_verifier runs cba_verify on the recorded evidence; a failure is a rejection naming the check. */
static int run_verifier(gate_result *out, const cba_policy *p, const collateral_pick *c, const gate_policy *pol,
                        int64_t now)
{
    bundle *b = &out->bundle;
    const cba_report *r = &out->report;
    cba_evidence e;
    cba_evidence_init(&e);
    e.info_json = b->info;
    e.info_json_len = b->info_len;
    e.quote = b->quote;
    e.quote_len = b->quote_len;
    e.collateral_json = c->data;
    e.collateral_json_len = c->len;
    e.quote_replaces_info_quote = b->fresh && b->info != NULL;
    if (e.quote_replaces_info_quote) {
        e.quote_event_log = b->quote_event_log;
        e.quote_event_log_len = b->quote_event_log_len;
    }

    cba_report_init(&out->report);
    if (cba_verify(&out->report, p, &e, now) == CBA_OK && r->verdict == CBA_VERDICT_VERIFIED) { return CRABBOX_OK; }
    tc_report_add_hints(&out->report, TC_HINTS_HOST); /* its flags and keys (hints.h) */
    snprintf(b->error, sizeof b->error, "%s", cba_err_name(r->error.code));
    if (r->failed_check == CBA_CHECK_APP_COMPOSE && pol->pre_launch_script != NULL) {
        return reject(out, cba_check_name(r->failed_check),
                      "%s (the provider changed the app-compose the host deployed, e.g. replaced or extended its "
                      "per-lease pre-launch script: who can log in is no longer what the host asked)",
                      r->error.detail);
    }
    return reject(out, cba_check_name(r->failed_check), "%s: %s (%s)", cba_err_message(r->error.code),
                  r->error.detail, r->error.where);
}

int gate_run(const gate_keys *keys, const crabbox_driver *d, void *drv, const crabbox_lease *lease,
             const uint8_t *compose, size_t compose_len, const gate_policy *pol, int64_t now, gate_result *out,
             crabbox_err *err)
{
    uint8_t nonce[32], ev_hash[32];
    cba_policy p;
    cba_app_compose_policy acp;
    uint8_t phala_hash[1][32];
    collateral_pick coll;
    bundle *b = &out->bundle;
    int rc = start_record(out, d, lease, compose, compose_len, pol, now, nonce, err);

    if (rc == CRABBOX_OK) { rc = take_evidence(out, d, drv, lease, nonce, ev_hash, err); }
    if (rc != CRABBOX_OK) { return rc; }
    /* Until collateral is found below; recorded even if a check fails first. */
    b->dcap_skipped = pol->collateral == NULL;
    rc = check_freshness(out, d, pol);
    if (rc != CRABBOX_OK) { return rc; }
    pick_collateral(out, pol, now, &coll);
    rc = record_collateral(out, pol, &coll, err);
    if (rc == CRABBOX_OK) { rc = bind_policy(&p, &acp, phala_hash, b, pol, nonce, compose, compose_len, err); }
    if (rc != CRABBOX_OK) { return rc; }
    /* Without collateral the DCAP checks (CRLs, TCB info, QE identity, TCB status) are skipped —
     * loudly, by the caller; signatures and the chain to the root are always checked. */
    p.skip_dcap = coll.data == NULL;
    out->dcap_skipped = p.skip_dcap;
    rc = run_verifier(out, &p, &coll, pol, now);
    if (rc != CRABBOX_OK) { return rc; }
    if (!gate_token_mint(keys, lease->lease_id, b->host_key, b->host_key_len, ev_hash, &out->token)) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot mint the session token");
    }
    out->verified = true;
    out->ssh_keys = bundle_ssh_keys_label(&out->report, true);
    snprintf(b->verdict, sizeof b->verdict, "verified");
    snprintf(b->detail, sizeof b->detail, "all checks passed%s", p.skip_dcap ? " (DCAP collateral checks skipped)" : "");
    return CRABBOX_OK;
}

bool gate_known_hosts_line(char *out, size_t out_len, const char *name, const uint8_t *blob, size_t blob_len)
{
    uint32_t tlen;
    char type[64], *b64;
    int n;
    if (blob == NULL || blob_len < 4) { return false; }
    tlen = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
    if (tlen == 0 || tlen >= sizeof type || tlen > blob_len - 4) { return false; }
    memcpy(type, blob + 4, tlen);
    type[tlen] = '\0';
    for (uint32_t i = 0; i < tlen; i++) {
        char ch = type[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '@' || ch == '.')) {
            return false;
        }
    }
    b64 = cbx_base64(blob, blob_len);
    if (b64 == NULL) { return false; }
    n = snprintf(out, out_len, "%s %s %s\n", name, type, b64);
    free(b64);
    return n > 0 && (size_t)n < out_len;
}
