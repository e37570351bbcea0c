/* verify_collateral.c — the trust anchor, the certificate profiles of Intel's PKI and the
 * collateral (CRLs, TCB info, QE identity), authenticated once (dcap-spec §4.1) by
 * cba_collateral_verify and then used read-only by any number of quote verifications. Split out
 * of verify.c; what it shares with verify.c and verify_pipeline.c is in verify_private.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_private.h"

/* cba_decode_chain decodes a PEM chain into a new buffer *out_buf sized by the text (DER is never
 * longer than 3/4 of it), owned by the caller; sized per input rather than zeroed up front. */
cba_err cba_decode_chain(cba_error *err, cba_pem_chain *chain, uint8_t **out_buf, cbs pem,
                         const cba_pem_chain *const *known, size_t num_known, const char *what)
{
    *out_buf = malloc(pem.len ? pem.len : 1);
    CBA_ENSURE(*out_buf != NULL, err, CBA_E_NOMEM, what, "out of memory");
    return cba_pem_chain_decode_known(err, chain, pem, *out_buf, pem.len, known, num_known);
}

/* cba_sig_ok verifies an ECDSA-P256-SHA256 signature over the views. Every signature of the pipeline
 * goes through here, so the one_shot policy applies to all of them. */
cba_crypto_rc cba_sig_ok(const cba_policy *policy, const uint8_t pub_xy[64], const cbs *parts,
                         size_t num_parts, const uint8_t sig_rs[64])
{
    cba_crypto_rc rc = cba_ecdsa_p256_check_msg(pub_xy, parts, num_parts, sig_rs);
    if (policy->one_shot) { cba_crypto_release_tables(); }
    return rc;
}

/* fmt_utc writes t as "YYYY-MM-DDThh:mm:ssZ" (Howard Hinnant's civil_from_days). */
static void fmt_utc(char out[32], int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, secs = t - days * 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    /* the modulo keeps each field's width (and gcc's truncation analysis) bounded */
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)((uint64_t)(y + (m <= 2)) % 10000u),
             (unsigned)((uint64_t)m % 100u), (unsigned)((uint64_t)d % 100u), (unsigned)((uint64_t)(secs / 3600) % 100u),
             (unsigned)((uint64_t)(secs / 60 % 60) % 100u), (unsigned)((uint64_t)(secs % 60) % 100u));
}

/* cba_window_fail reports `what` outside its validity window [from, to] at `now`. */
cba_err cba_window_fail(cba_error *err, cba_err code, const char *where, const char *what, int64_t from,
                        int64_t to, int64_t now)
{
    char a[32], b[32], n[32];
    fmt_utc(a, from);
    fmt_utc(b, to);
    fmt_utc(n, now);
    return cba_fail(err, code, where, "%.40s is valid %s to %s, not at %s (%s)", what, a, b, n,
                    now < from ? "not yet valid" : "expired");
}

/* ---- Trust anchor ------------------------------------------------------------------------ */

static cbs anchor_bytes(const cba_policy *policy)
{
    if (policy->trust_root_der != NULL) { return cbs_make(policy->trust_root_der, policy->trust_root_der_len); }
    return cbs_make(cba_intel_root_ca_der, cba_intel_root_ca_der_len);
}

static cba_err anchor_time(cba_error *err, const anchor *a, int64_t now)
{
    if (!(a->cert.not_before <= now && now <= a->cert.not_after)) {
        return cba_window_fail(err, CBA_E_CERT_EXPIRED, "trust_root", "trust root", a->cert.not_before,
                               a->cert.not_after, now);
    }
    return CBA_OK;
}

/* anchor_load_der parses the trust root `der` (the policy's bytes, or a copy of them) and checks
 * its profile at `now`. */
static cba_err anchor_load_der(cba_error *err, anchor *out, cbs der, int64_t now)
{
    out->der = der;
    if (cba_cert_parse(err, &out->cert, out->der) != CBA_OK) {
        if (err->code == CBA_E_NOMEM) { return CBA_E_NOMEM; } /* not the anchor's fault */
        err->code = CBA_OK; /* replace the parse error with the anchor's own */
        return cba_fail(err, CBA_E_CHAIN_UNTRUSTED, "trust_root", "trust root does not parse");
    }
    /* The anchor is trusted by its bytes (RFC 5280 §6: anchors are inputs, not checked by
     * signature); its profile and validity still apply. */
    CBA_ENSURE(out->cert.has_p256_key && out->cert.is_ca && cbs_eq(out->cert.issuer, out->cert.subject),
               err, CBA_E_CHAIN_UNTRUSTED, "trust_root", "trust root is not a self-issued P-256 CA");
    return anchor_time(err, out, now);
}

cba_err cba_anchor_load(cba_error *err, anchor *out, const cba_policy *policy, int64_t now)
{
    return anchor_load_der(err, out, anchor_bytes(policy), now);
}

cba_err cba_anchor_load_for(cba_error *err, anchor *out, const cba_policy *policy, int64_t now,
                            const cba_collateral *c)
{
    cbs der = anchor_bytes(policy);
    if (c == NULL || !cbs_eq_mem(der, c->root_der, c->root_der_len)) {
        return anchor_load_der(err, out, der, now);
    }
    /* The same bytes were parsed and profile-checked when c was verified; only the validity
     * depends on `now`. */
    out->der = der;
    out->cert = c->root.cert;
    return anchor_time(err, out, now);
}

/* ---- Certificate profile checks ------------------------------------------------------------ */

bool cba_cert_valid_at(const cba_cert *c, int64_t now)
{
    return c->not_before <= now && now <= c->not_after;
}

/* cba_check_issued_by: DN chaining, signature, validity. `what` names the cert in errors. */
cba_err cba_check_issued_by(cba_error *err, const cba_policy *policy, const cba_cert *c,
                            const cba_cert *issuer, int64_t now, const char *what)
{
    CBA_ENSURE(c->has_p256_key, err, CBA_E_CERT_INVALID, what, "%s has no P-256 key", what);
    CBA_ENSURE(cbs_eq(c->issuer, issuer->subject), err, CBA_E_CHAIN_UNTRUSTED, what,
               "%s issuer does not name its issuer's subject", what);
    CBA_ENSURE_SIG(cba_sig_ok(policy, issuer->pub_xy, &c->tbs, 1, c->sig_rs), err, CBA_E_CERT_SIGNATURE, what,
                   "%s signature does not verify with its issuer's key", what);
    if (!cba_cert_valid_at(c, now)) { return cba_window_fail(err, CBA_E_CERT_EXPIRED, what, what, c->not_before, c->not_after, now); }
    return CBA_OK;
}

cba_err cba_check_ca_profile(cba_error *err, const cba_cert *c, int max_path_len, const char *what)
{
    CBA_ENSURE(c->has_basic_constraints && c->is_ca, err, CBA_E_CERT_INVALID, what,
               "%s is not a CA certificate", what);
    CBA_ENSURE(c->path_len < 0 || c->path_len <= max_path_len || max_path_len < 0, err,
               CBA_E_CERT_INVALID, what, "%s has an unexpected path length", what);
    CBA_ENSURE(c->has_key_usage && (c->key_usage & CBA_KU_KEY_CERT_SIGN) &&
                   (c->key_usage & CBA_KU_CRL_SIGN),
               err, CBA_E_CERT_INVALID, what, "%s may not sign certificates and CRLs", what);
    return CBA_OK;
}

cba_err cba_check_leaf_profile(cba_error *err, const cba_cert *c, const char *cn, const char *what)
{
    CBA_ENSURE(cbs_eq_str(c->subject_cn, cn), err, CBA_E_CERT_INVALID, what,
               "%s subject CN is not \"%s\"", what, cn);
    CBA_ENSURE(c->has_basic_constraints && !c->is_ca, err, CBA_E_CERT_INVALID, what,
               "%s is a CA used as an end entity", what);
    CBA_ENSURE(c->has_key_usage && (c->key_usage & CBA_KU_DIGITAL_SIGNATURE), err, CBA_E_CERT_INVALID,
               what, "%s may not make digital signatures", what);
    return CBA_OK;
}

/* ---- Collateral, verified once -------------------------------------------------------------- */

void cba_collateral_free(cba_collateral *c)
{
    if (c == NULL) { return; }
    cba_collateral_raw_cleanup(&c->raw);
    for (size_t i = 0; i < CBA_ARRAY_LEN(c->der_buf); i++) { free(c->der_buf[i]); }
    cba_tcb_info_cleanup(&c->tcb_info);
    cba_qe_identity_cleanup(&c->qe_identity);
    memset(c, 0, sizeof *c);
    free(c);
}

static void note_expiry(int64_t *expires, int64_t t)
{
    if (*expires == 0 || t < *expires) { *expires = t; }
}

cba_err cba_crl_check_time(cba_error *err, const cba_crl *crl, int64_t now, const char *what)
{
    if (!(crl->this_update <= now && now <= crl->next_update)) {
        return cba_window_fail(err, CBA_E_CRL_EXPIRED, what, what, crl->this_update, crl->next_update, now);
    }
    return CBA_OK;
}

/* Each collateral stage names the report check it belongs to. */
typedef struct collateral_ctx {
    cba_collateral *c;
    const anchor *root;
    const cba_policy *policy;
    int64_t now;
} collateral_ctx;

/* verify_signing_chain: [TCB Signing leaf, root] exactly, root byte-identical to the anchor.
 * `verified`, when not NULL, is a chain already checked here for another document (TCB info and
 * QE identity share one signer): when its PEM text is byte-identical to this one, its decoded DER
 * and parsed leaf are reused (the same bytes decode and parse to the same result), and a
 * byte-identical leaf keeps that chain's signature result; every other check repeats for this
 * use (certificate count, root, leaf profile, validity, revocation). */
static cba_err verify_signing_chain(cba_error *err, const collateral_ctx *x, signing_chain *sc,
                                    uint8_t **buf, const uint8_t *pem, size_t pem_len,
                                    const signing_chain *verified, cbs verified_pem, const char *what)
{
    const anchor *root = x->root;
    cbs text = cbs_make(pem, pem_len);
    bool same_text = verified != NULL && cbs_eq(verified_pem, text);
    if (same_text) {
        sc->pem = verified->pem; /* views into the verified chain's buffer, owned by the collateral */
    } else {
        /* the root (and any other block) already decoded for the PCK CRL issuer chain or the
         * verified chain is not decoded again */
        const cba_pem_chain *known[2] = { &x->c->pck_crl_chain, verified != NULL ? &verified->pem : NULL };
        CBA_TRY(cba_decode_chain(err, &sc->pem, buf, text, known, 2, what));
    }
    CBA_ENSURE(sc->pem.num_certs == 2, err, CBA_E_CERT_INVALID, what,
               "%s has %zu certificates; expected the TCB signing certificate and the root", what,
               sc->pem.num_certs);
    CBA_ENSURE(cbs_eq(sc->pem.certs[1], root->der), err, CBA_E_CHAIN_UNTRUSTED, what,
               "%s does not end at the trusted root", what);
    if (same_text) {
        sc->leaf = verified->leaf;
    } else {
        CBA_TRY(cba_cert_parse(err, &sc->leaf, sc->pem.certs[0]));
    }
    CBA_TRY(cba_check_leaf_profile(err, &sc->leaf, CN_TCB_SIGNING, what));
    if (verified != NULL && cbs_eq(verified->leaf.der, sc->leaf.der)) {
        if (!cba_cert_valid_at(&sc->leaf, x->now)) {
            return cba_window_fail(err, CBA_E_CERT_EXPIRED, what, what, sc->leaf.not_before, sc->leaf.not_after, x->now);
        }
    } else {
        CBA_TRY(cba_check_issued_by(err, x->policy, &sc->leaf, &root->cert, x->now, what));
    }
    CBA_ENSURE(!cba_crl_lists_serial(&x->c->root_crl, sc->leaf.serial), err, CBA_E_CERT_REVOKED, what,
               "%s: TCB signing certificate is revoked by the root CA CRL", what);
    return CBA_OK;
}

cba_err cba_check_tcb_info_time(cba_error *err, const cba_tcb_info *t, const cba_policy *policy,
                                int64_t now)
{
    if (!(t->issue_date <= now && now <= t->next_update)) {
        return cba_window_fail(err, CBA_E_COLLATERAL_EXPIRED, now < t->issue_date ? "tcb_info.issueDate" : "tcb_info.nextUpdate",
                               "TCB info", t->issue_date, t->next_update, now);
    }
    CBA_ENSURE(t->tcb_evaluation_data_number >= policy->min_tcb_evaluation_data_number, err,
               CBA_E_COLLATERAL_EXPIRED, "tcb_info.tcbEvaluationDataNumber",
               "tcbEvaluationDataNumber %u is below the policy minimum %u",
               t->tcb_evaluation_data_number, policy->min_tcb_evaluation_data_number);
    CBA_ENSURE(policy->max_collateral_age <= 0 || now - t->issue_date <= policy->max_collateral_age,
               err, CBA_E_COLLATERAL_EXPIRED, "tcb_info.issueDate",
               "TCB info is older than the policy's maximum collateral age");
    return CBA_OK;
}

cba_err cba_check_qe_identity_time(cba_error *err, const cba_qe_identity *q, int64_t now)
{
    if (!(q->issue_date <= now && now <= q->next_update)) {
        return cba_window_fail(err, CBA_E_COLLATERAL_EXPIRED,
                               now < q->issue_date ? "qe_identity.issueDate" : "qe_identity.nextUpdate", "QE identity",
                               q->issue_date, q->next_update, now);
    }
    return CBA_OK;
}

static cba_err stage_root_crl(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    CBA_TRY(cba_crl_parse(err, &c->root_crl, cbs_make(c->raw.root_ca_crl, c->raw.root_ca_crl_len)));
    CBA_ENSURE(cbs_eq(c->root_crl.issuer, x->root->cert.subject), err, CBA_E_CRL_INVALID,
               "collateral.root_ca_crl", "root CA CRL is not issued by the trusted root");
    CBA_ENSURE(c->root_crl.has_crl_number && c->root_crl.has_aki, err, CBA_E_CRL_INVALID,
               "collateral.root_ca_crl", "root CA CRL lacks cRLNumber or authorityKeyIdentifier");
    CBA_ENSURE_SIG(cba_sig_ok(x->policy, x->root->cert.pub_xy, &c->root_crl.tbs, 1, c->root_crl.sig_rs), err,
                   CBA_E_CRL_INVALID,
                   "collateral.root_ca_crl", "root CA CRL signature does not verify");
    CBA_TRY(cba_crl_check_time(err, &c->root_crl, x->now, "collateral.root_ca_crl"));
    CBA_ENSURE(!cba_crl_lists_serial(&c->root_crl, x->root->cert.serial), err, CBA_E_CERT_REVOKED,
               "collateral.root_ca_crl", "the root CA is listed in its own CRL");
    note_expiry(&c->expires, c->root_crl.next_update);
    return CBA_OK;
}

/* stage_pck_crl_chain decodes pck_crl_issuer_chain and pins its root (§4.1 step 3) before the
 * root CA CRL is looked at, so that collateral from another PKI is named as untrusted rather
 * than as a CRL "not issued by the trusted root". */
static cba_err stage_pck_crl_chain(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    const char *w = "collateral.pck_crl_issuer_chain";
    CBA_TRY(cba_decode_chain(err, &c->pck_crl_chain, &c->der_buf[2],
                             cbs_make(c->raw.pck_crl_issuer_chain, c->raw.pck_crl_issuer_chain_len),
                             NULL, 0, w));
    CBA_ENSURE(c->pck_crl_chain.num_certs == 2, err, CBA_E_CERT_INVALID, w,
               "PCK CRL issuer chain must be [PCK CA, root]");
    CBA_ENSURE(cbs_eq(c->pck_crl_chain.certs[1], x->root->der), err, CBA_E_CHAIN_UNTRUSTED, w,
               "PCK CRL issuer chain does not end at the trusted root");
    return CBA_OK;
}

static cba_err stage_pck_crl(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    const char *w = "collateral.pck_crl_issuer_chain";
    CBA_TRY(cba_cert_parse(err, &c->pck_crl_ca, c->pck_crl_chain.certs[0]));
    CBA_ENSURE(cbs_eq_str(c->pck_crl_ca.subject_cn, CN_PLATFORM_CA) ||
                   cbs_eq_str(c->pck_crl_ca.subject_cn, CN_PROCESSOR_CA),
               err, CBA_E_CERT_INVALID, w, "PCK CRL issuer is not a PCK Platform/Processor CA");
    CBA_TRY(cba_check_ca_profile(err, &c->pck_crl_ca, 0, w));
    CBA_TRY(cba_check_issued_by(err, x->policy, &c->pck_crl_ca, &x->root->cert, x->now, w));
    CBA_ENSURE(!cba_crl_lists_serial(&c->root_crl, c->pck_crl_ca.serial), err, CBA_E_CERT_REVOKED, w,
               "PCK CA is revoked by the root CA CRL");

    CBA_TRY(cba_crl_parse(err, &c->pck_crl, cbs_make(c->raw.pck_crl, c->raw.pck_crl_len)));
    CBA_ENSURE(cbs_eq(c->pck_crl.issuer, c->pck_crl_ca.subject), err, CBA_E_CRL_INVALID,
               "collateral.pck_crl", "PCK CRL issuer differs from its issuer chain");
    CBA_ENSURE(c->pck_crl.has_crl_number && c->pck_crl.has_aki, err, CBA_E_CRL_INVALID,
               "collateral.pck_crl", "PCK CRL lacks cRLNumber or authorityKeyIdentifier");
    CBA_ENSURE_SIG(cba_sig_ok(x->policy, c->pck_crl_ca.pub_xy, &c->pck_crl.tbs, 1, c->pck_crl.sig_rs), err,
                   CBA_E_CRL_INVALID,
                   "collateral.pck_crl", "PCK CRL signature does not verify");
    CBA_TRY(cba_crl_check_time(err, &c->pck_crl, x->now, "collateral.pck_crl"));
    note_expiry(&c->expires, c->pck_crl.next_update);
    note_expiry(&c->expires, c->pck_crl_ca.not_after);
    return CBA_OK;
}

static cba_err stage_tcb_info(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    CBA_TRY(verify_signing_chain(err, x, &c->tcb_chain, &c->der_buf[0], c->raw.tcb_info_issuer_chain,
                                 c->raw.tcb_info_issuer_chain_len, NULL, cbs_make(NULL, 0),
                                 "collateral.tcb_info_issuer_chain"));
    {
        cbs msg = cbs_make(c->raw.tcb_info, c->raw.tcb_info_len);
        CBA_ENSURE_SIG(cba_sig_ok(x->policy, c->tcb_chain.leaf.pub_xy, &msg, 1, c->raw.tcb_info_signature),
                       err, CBA_E_TCB_INFO_SIGNATURE, "collateral.tcb_info_signature",
                       "TCB info signature does not verify with the TCB signing key");
    }
    /* Only now, authenticated, is the TCB info interpreted. */
    CBA_TRY(cba_tcb_info_parse(err, &c->tcb_info, cbs_make(c->raw.tcb_info, c->raw.tcb_info_len)));
    CBA_TRY(cba_check_tcb_info_time(err, &c->tcb_info, x->policy, x->now));
    note_expiry(&c->expires, c->tcb_info.next_update);
    note_expiry(&c->expires, c->tcb_chain.leaf.not_after);
    return CBA_OK;
}

static cba_err stage_qe_identity(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    CBA_TRY(verify_signing_chain(err, x, &c->qe_chain, &c->der_buf[1], c->raw.qe_identity_issuer_chain,
                                 c->raw.qe_identity_issuer_chain_len, &c->tcb_chain,
                                 cbs_make(c->raw.tcb_info_issuer_chain, c->raw.tcb_info_issuer_chain_len),
                                 "collateral.qe_identity_issuer_chain"));
    {
        cbs msg = cbs_make(c->raw.qe_identity, c->raw.qe_identity_len);
        CBA_ENSURE_SIG(cba_sig_ok(x->policy, c->qe_chain.leaf.pub_xy, &msg, 1, c->raw.qe_identity_signature),
                       err, CBA_E_QE_IDENTITY_SIGNATURE, "collateral.qe_identity_signature",
                       "QE identity signature does not verify with the TCB signing key");
    }
    CBA_TRY(cba_qe_identity_parse(err, &c->qe_identity,
                                  cbs_make(c->raw.qe_identity, c->raw.qe_identity_len)));
    CBA_TRY(cba_check_qe_identity_time(err, &c->qe_identity, x->now));
    note_expiry(&c->expires, c->qe_identity.next_update);
    note_expiry(&c->expires, c->qe_chain.leaf.not_after);
    return CBA_OK;
}

cba_err cba_collateral_verify_impl(cba_collateral **out, cba_report *report, const cba_policy *policy,
                                   const uint8_t *json, size_t json_len, int64_t now)
{
    cba_collateral *c = NULL;
    anchor root;
    cba_error e;
    cba_err rc;
    collateral_ctx x;

    *out = NULL;
    cba_report_reset(report);
    report->test_root = policy->trust_root_der != NULL;
    cba_error_clear(&e);
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        rc = cba_fail(&e, CBA_E_NOMEM, "collateral", "out of memory");
        return cba_report_check(report, CBA_CHECK_CRL, rc, &e, NULL);
    }
    x = (collateral_ctx){ c, &root, policy, now };

    {
        /* The anchor is parsed from the collateral's own copy of its bytes, so that its parsed
         * form (c->root) can serve the quote verifications that use the same anchor. */
        cbs der = anchor_bytes(policy);
        if (der.len > sizeof c->root_der) {
            rc = cba_anchor_load(&e, &root, policy, now);
            if (rc == CBA_OK) { rc = cba_fail(&e, CBA_E_CHAIN_UNTRUSTED, "trust_root", "trust root is too large"); }
        } else {
            cbs copy = der;
            if (!cbs_copy_bytes(&copy, c->root_der, der.len)) {
                rc = cba_fail(&e, CBA_E_INTERNAL, "trust_root", "copy");
            } else {
                c->root_der_len = der.len;
                rc = anchor_load_der(&e, &root, cbs_make(c->root_der, c->root_der_len), now);
            }
            if (rc == CBA_OK) {
                c->root = root;
                note_expiry(&c->expires, root.cert.not_after);
            }
        }
    }
    if (rc == CBA_OK) {
        rc = cba_collateral_raw_parse(&e, &c->raw, cbs_make(json, json_len));
        if (rc != CBA_OK) {
            (void)cba_report_check(report, CBA_CHECK_CRL, rc, &e, NULL);
        }
    } else {
        (void)cba_report_check(report, CBA_CHECK_PCK_CHAIN, rc, &e, NULL);
    }
    if (rc == CBA_OK) {
        rc = stage_pck_crl_chain(&e, &x);
        if (rc == CBA_OK) { rc = stage_root_crl(&e, &x); }
        if (rc == CBA_OK) { rc = stage_pck_crl(&e, &x); }
        (void)cba_report_check(report, CBA_CHECK_CRL, rc, &e, "root CA CRL and PCK CRL signed and current");
    }
    if (rc == CBA_OK) {
        rc = cba_report_check(report, CBA_CHECK_TCB_INFO, stage_tcb_info(&e, &x), &e,
                              "TCB info signed by Intel SGX TCB Signing and current");
    }
    if (rc == CBA_OK) {
        rc = cba_report_check(report, CBA_CHECK_QE_IDENTITY, stage_qe_identity(&e, &x), &e,
                              "QE identity signed by Intel SGX TCB Signing and current");
    }
    if (rc != CBA_OK) {
        cba_collateral_free(c);
        return rc;
    }
    report->collateral_expires = c->expires;
    *out = c;
    return CBA_OK;
}
