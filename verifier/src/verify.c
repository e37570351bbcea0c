/* verify.c — the ordered checks (dcap-spec §4.1, §6) and the public entry points.
 *
 * Collateral is authenticated once (cba_collateral_verify) and then used read-only by any number
 * of quote verifications (cba_verify_with). Every step records its result in the report; the
 * first failure stops the pipeline and names its check; there is one exit path. Nothing from the
 * quote is interpreted before the signature that covers it has verified. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "appcompose.h"
#include "collateral.h"
#include "crypto.h"
#include "dstack.h"
#include "internal.h"
#include "json.h"
#include "quote.h"
#include "tcb.h"
#include "x509.h"

#define TD_ATTR_DEBUG (1ull << 0)
#define TD_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define TD_ATTR_PKS (1ull << 30)
#define TD_ATTR_PERFMON (1ull << 63)

#define CN_ROOT "Intel SGX Root CA"
#define CN_PLATFORM_CA "Intel SGX PCK Platform CA"
#define CN_PROCESSOR_CA "Intel SGX PCK Processor CA"
#define CN_PCK_LEAF "Intel SGX PCK Certificate"
#define CN_TCB_SIGNING "Intel SGX TCB Signing"

/* decode_chain decodes a PEM chain into a new buffer *out_buf sized by the text (DER is never
 * longer than 3/4 of it), owned by the caller; sized per input rather than zeroed up front. */
static cba_err decode_chain(cba_error *err, cba_pem_chain *chain, uint8_t **out_buf, cbs pem,
                            const char *what)
{
    *out_buf = malloc(pem.len ? pem.len : 1);
    CBA_ENSURE(*out_buf != NULL, err, CBA_E_NOMEM, what, "out of memory");
    return cba_pem_chain_decode(err, chain, pem, *out_buf, pem.len);
}

const char *cba_version(void)
{
    return "0.1.0";
}

bool cba_compose_hash(uint8_t out[32], const uint8_t *app_compose, size_t len)
{
    cbs part = cbs_make(app_compose, len);
    return cba_sha256(out, &part, 1);
}

void cba_policy_init(cba_policy *policy)
{
    memset(policy, 0, sizeof *policy);
    policy->struct_size = (uint32_t)sizeof *policy;
    policy->accepted_statuses = 1u << CBA_TCB_UP_TO_DATE;
    policy->td_attributes_allowed = TD_ATTR_SEPT_VE_DISABLE | TD_ATTR_PKS | TD_ATTR_PERFMON;
    policy->td_attributes_required = TD_ATTR_SEPT_VE_DISABLE;
}

void cba_evidence_init(cba_evidence *evidence)
{
    memset(evidence, 0, sizeof *evidence);
    evidence->struct_size = (uint32_t)sizeof *evidence;
}

void cba_report_init(cba_report *report)
{
    memset(report, 0, sizeof *report);
    report->struct_size = (uint32_t)sizeof *report;
}

/* ---- Structs that grow (docs/api.md, "ABI") --------------------------------------------------
 * A caller's struct is struct_size bytes as it was compiled. The first released layouts (0.1) are
 * the smallest accepted; members appended since then take their init default when the caller is
 * older, and a newer caller's struct is accepted only if every member this library does not know is
 * zero (unset): a policy knob the library cannot enforce must not be silently ignored. */
_Static_assert(sizeof(cba_check_result[CBA_MAX_CHECKS]) >= sizeof(cba_check_result[CBA_CHECK_COUNT]),
               "CBA_MAX_CHECKS must hold every check");
_Static_assert(CBA_PIN_COUNT <= CBA_MAX_PINS, "CBA_MAX_PINS must hold every pin field");

cba_err cba_import_struct(cba_error *err, void *dst, size_t dst_size, const void *src, size_t min_size,
                             const char *what)
{
    uint32_t size;
    const uint8_t *s = src;
    CBA_ENSURE(src != NULL, err, CBA_E_ARGUMENT, what, "%s is NULL", what);
    memcpy(&size, src, sizeof size);
    CBA_ENSURE(size >= min_size, err, CBA_E_STRUCT_SIZE, what,
               "%s.struct_size is %u, at least %zu expected: initialise it with its init function", what,
               (unsigned)size, min_size);
    for (size_t i = dst_size; i < size; i++) {
        CBA_ENSURE(s[i] == 0, err, CBA_E_STRUCT_SIZE, what,
                   "%s sets a member at offset %zu that this library (%s) does not know", what, i,
                   cba_version());
    }
    memcpy(dst, src, size < dst_size ? size : dst_size);
    memcpy(dst, &(uint32_t){ (uint32_t)dst_size }, sizeof(uint32_t));
    return CBA_OK;
}

/* report_usable says whether the library may write the caller's report. */
static bool report_usable(const cba_report *r)
{
    return r != NULL && r->struct_size >= CBA_REPORT_SIZE_MIN;
}

/* report_export copies a full report into the caller's (struct_size bytes, kept as they are). */
static void report_export(cba_report *out, const cba_report *full)
{
    uint32_t size = out->struct_size;
    if (out == full) { return; }
    memcpy(out, full, size < sizeof *full ? size : sizeof *full);
    out->struct_size = size;
    if (size > sizeof *full) { memset((uint8_t *)out + sizeof *full, 0, size - sizeof *full); }
}

/* sig_ok verifies an ECDSA-P256-SHA256 signature over the views. Every signature of the pipeline
 * goes through here, so the one_shot policy applies to all of them. */
static cba_crypto_rc sig_ok(const cba_policy *policy, const uint8_t pub_xy[64], const cbs *parts,
                            size_t num_parts, const uint8_t sig_rs[64])
{
    cba_crypto_rc rc = cba_ecdsa_p256_check_msg(pub_xy, parts, num_parts, sig_rs);
    if (policy->one_shot) { cba_crypto_release_tables(); }
    return rc;
}

/* CBA_ENSURE_SIG is CBA_ENSURE for a cba_crypto_rc: out of memory is CBA_E_NOMEM, never the
 * check's own code (a forged signature and a failed allocation must not look alike). */
#define CBA_ENSURE_SIG(call, err, code, where, ...)                                              \
    do {                                                                                         \
        cba_crypto_rc sig_rc_ = (call);                                                          \
        CBA_ENSURE(sig_rc_ != CBA_CRYPTO_NOMEM, err, CBA_E_NOMEM, where,                         \
                   "out of memory verifying a signature");                                       \
        CBA_ENSURE(sig_rc_ == CBA_CRYPTO_OK, err, code, where, __VA_ARGS__);                     \
    } while (0)

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

/* window_fail reports `what` outside its validity window [from, to] at `now`. */
static cba_err window_fail(cba_error *err, cba_err code, const char *where, const char *what, int64_t from,
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

typedef struct anchor {
    cbs der;
    cba_cert cert;
} anchor;

static cba_err anchor_load(cba_error *err, anchor *out, const cba_policy *policy, int64_t now)
{
    if (policy->trust_root_der != NULL) {
        cbs_init(&out->der, policy->trust_root_der, policy->trust_root_der_len);
    } else {
        cbs_init(&out->der, cba_intel_root_ca_der, cba_intel_root_ca_der_len);
    }
    if (cba_cert_parse(err, &out->cert, out->der) != CBA_OK) {
        if (err->code == CBA_E_NOMEM) { return CBA_E_NOMEM; } /* not the anchor's fault */
        err->code = CBA_OK; /* replace the parse error with the anchor's own */
        return cba_fail(err, CBA_E_CHAIN_UNTRUSTED, "trust_root", "trust root does not parse");
    }
    /* The anchor is trusted by its bytes (RFC 5280 §6: anchors are inputs, not checked by
     * signature); its profile and validity still apply. */
    CBA_ENSURE(out->cert.has_p256_key && out->cert.is_ca && cbs_eq(out->cert.issuer, out->cert.subject),
               err, CBA_E_CHAIN_UNTRUSTED, "trust_root", "trust root is not a self-issued P-256 CA");
    if (!(out->cert.not_before <= now && now <= out->cert.not_after)) {
        return window_fail(err, CBA_E_CERT_EXPIRED, "trust_root", "trust root", out->cert.not_before,
                           out->cert.not_after, now);
    }
    return CBA_OK;
}

/* ---- Certificate profile checks ------------------------------------------------------------ */

static bool cert_valid_at(const cba_cert *c, int64_t now)
{
    return c->not_before <= now && now <= c->not_after;
}

/* check_issued_by: DN chaining, signature, validity. `what` names the cert in errors. */
static cba_err check_issued_by(cba_error *err, const cba_policy *policy, const cba_cert *c,
                               const cba_cert *issuer, int64_t now, const char *what)
{
    CBA_ENSURE(c->has_p256_key, err, CBA_E_CERT_INVALID, what, "%s has no P-256 key", what);
    CBA_ENSURE(cbs_eq(c->issuer, issuer->subject), err, CBA_E_CHAIN_UNTRUSTED, what,
               "%s issuer does not name its issuer's subject", what);
    CBA_ENSURE_SIG(sig_ok(policy, issuer->pub_xy, &c->tbs, 1, c->sig_rs), err, CBA_E_CERT_SIGNATURE, what,
               "%s signature does not verify with its issuer's key", what);
    if (!cert_valid_at(c, now)) { return window_fail(err, CBA_E_CERT_EXPIRED, what, what, c->not_before, c->not_after, now); }
    return CBA_OK;
}

static cba_err check_ca_profile(cba_error *err, const cba_cert *c, int max_path_len, const char *what)
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

static cba_err check_leaf_profile(cba_error *err, const cba_cert *c, const char *cn, const char *what)
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

typedef struct signing_chain {
    cba_pem_chain pem;
    cba_cert leaf;
} signing_chain;

struct cba_collateral {
    uint8_t root_der[2048]; /* the anchor this collateral was verified against */
    size_t root_der_len;
    cba_collateral_raw raw;
    uint8_t *der_buf[3];      /* DER of the three chains (heap) */
    signing_chain tcb_chain, qe_chain;
    cba_pem_chain pck_crl_chain;
    cba_cert pck_crl_ca;      /* pck_crl_issuer_chain[0], verified by the root */
    cba_crl root_crl, pck_crl; /* both signatures verified */
    cba_tcb_info tcb_info;
    cba_qe_identity qe_identity;
    int64_t expires;          /* earliest end of any validity window */
};

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

static cba_err crl_check_time(cba_error *err, const cba_crl *crl, int64_t now, const char *what)
{
    if (!(crl->this_update <= now && now <= crl->next_update)) {
        return window_fail(err, CBA_E_CRL_EXPIRED, what, what, crl->this_update, crl->next_update, now);
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
 * `verified`, when not NULL, is a leaf already verified by the root: a byte-identical leaf (TCB
 * info and QE identity share one signer) keeps that signature result; every other check repeats. */
static cba_err verify_signing_chain(cba_error *err, const collateral_ctx *x, signing_chain *sc,
                                    uint8_t **buf, const uint8_t *pem, size_t pem_len,
                                    const cba_cert *verified, const char *what)
{
    const anchor *root = x->root;
    CBA_TRY(decode_chain(err, &sc->pem, buf, cbs_make(pem, pem_len), what));
    CBA_ENSURE(sc->pem.num_certs == 2, err, CBA_E_CERT_INVALID, what,
               "%s has %zu certificates; expected the TCB signing certificate and the root", what,
               sc->pem.num_certs);
    CBA_ENSURE(cbs_eq(sc->pem.certs[1], root->der), err, CBA_E_CHAIN_UNTRUSTED, what,
               "%s does not end at the trusted root", what);
    CBA_TRY(cba_cert_parse(err, &sc->leaf, sc->pem.certs[0]));
    CBA_TRY(check_leaf_profile(err, &sc->leaf, CN_TCB_SIGNING, what));
    if (verified != NULL && cbs_eq(verified->der, sc->leaf.der)) {
        if (!cert_valid_at(&sc->leaf, x->now)) {
            return window_fail(err, CBA_E_CERT_EXPIRED, what, what, sc->leaf.not_before, sc->leaf.not_after, x->now);
        }
    } else {
        CBA_TRY(check_issued_by(err, x->policy, &sc->leaf, &root->cert, x->now, what));
    }
    CBA_ENSURE(!cba_crl_lists_serial(&x->c->root_crl, sc->leaf.serial), err, CBA_E_CERT_REVOKED, what,
               "%s: TCB signing certificate is revoked by the root CA CRL", what);
    return CBA_OK;
}

static cba_err check_tcb_info_time(cba_error *err, const cba_tcb_info *t, const cba_policy *policy,
                                   int64_t now)
{
    if (!(t->issue_date <= now && now <= t->next_update)) {
        return window_fail(err, CBA_E_COLLATERAL_EXPIRED, now < t->issue_date ? "tcb_info.issueDate" : "tcb_info.nextUpdate",
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

static cba_err check_qe_identity_time(cba_error *err, const cba_qe_identity *q, int64_t now)
{
    if (!(q->issue_date <= now && now <= q->next_update)) {
        return window_fail(err, CBA_E_COLLATERAL_EXPIRED,
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
    CBA_ENSURE_SIG(sig_ok(x->policy, x->root->cert.pub_xy, &c->root_crl.tbs, 1, c->root_crl.sig_rs), err,
               CBA_E_CRL_INVALID,
               "collateral.root_ca_crl", "root CA CRL signature does not verify");
    CBA_TRY(crl_check_time(err, &c->root_crl, x->now, "collateral.root_ca_crl"));
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
    CBA_TRY(decode_chain(err, &c->pck_crl_chain, &c->der_buf[2],
                         cbs_make(c->raw.pck_crl_issuer_chain, c->raw.pck_crl_issuer_chain_len), w));
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
    CBA_TRY(check_ca_profile(err, &c->pck_crl_ca, 0, w));
    CBA_TRY(check_issued_by(err, x->policy, &c->pck_crl_ca, &x->root->cert, x->now, w));
    CBA_ENSURE(!cba_crl_lists_serial(&c->root_crl, c->pck_crl_ca.serial), err, CBA_E_CERT_REVOKED, w,
               "PCK CA is revoked by the root CA CRL");

    CBA_TRY(cba_crl_parse(err, &c->pck_crl, cbs_make(c->raw.pck_crl, c->raw.pck_crl_len)));
    CBA_ENSURE(cbs_eq(c->pck_crl.issuer, c->pck_crl_ca.subject), err, CBA_E_CRL_INVALID,
               "collateral.pck_crl", "PCK CRL issuer differs from its issuer chain");
    CBA_ENSURE(c->pck_crl.has_crl_number && c->pck_crl.has_aki, err, CBA_E_CRL_INVALID,
               "collateral.pck_crl", "PCK CRL lacks cRLNumber or authorityKeyIdentifier");
    CBA_ENSURE_SIG(sig_ok(x->policy, c->pck_crl_ca.pub_xy, &c->pck_crl.tbs, 1, c->pck_crl.sig_rs), err,
               CBA_E_CRL_INVALID,
               "collateral.pck_crl", "PCK CRL signature does not verify");
    CBA_TRY(crl_check_time(err, &c->pck_crl, x->now, "collateral.pck_crl"));
    note_expiry(&c->expires, c->pck_crl.next_update);
    note_expiry(&c->expires, c->pck_crl_ca.not_after);
    return CBA_OK;
}

static cba_err stage_tcb_info(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    CBA_TRY(verify_signing_chain(err, x, &c->tcb_chain, &c->der_buf[0], c->raw.tcb_info_issuer_chain,
                                 c->raw.tcb_info_issuer_chain_len, NULL,
                                 "collateral.tcb_info_issuer_chain"));
    {
        cbs msg = cbs_make(c->raw.tcb_info, c->raw.tcb_info_len);
        CBA_ENSURE_SIG(sig_ok(x->policy, c->tcb_chain.leaf.pub_xy, &msg, 1, c->raw.tcb_info_signature),
                   err, CBA_E_TCB_INFO_SIGNATURE, "collateral.tcb_info_signature",
                   "TCB info signature does not verify with the TCB signing key");
    }
    /* Only now, authenticated, is the TCB info interpreted. */
    CBA_TRY(cba_tcb_info_parse(err, &c->tcb_info, cbs_make(c->raw.tcb_info, c->raw.tcb_info_len)));
    CBA_TRY(check_tcb_info_time(err, &c->tcb_info, x->policy, x->now));
    note_expiry(&c->expires, c->tcb_info.next_update);
    note_expiry(&c->expires, c->tcb_chain.leaf.not_after);
    return CBA_OK;
}

static cba_err stage_qe_identity(cba_error *err, collateral_ctx *x)
{
    cba_collateral *c = x->c;
    CBA_TRY(verify_signing_chain(err, x, &c->qe_chain, &c->der_buf[1], c->raw.qe_identity_issuer_chain,
                                 c->raw.qe_identity_issuer_chain_len, &c->tcb_chain.leaf,
                                 "collateral.qe_identity_issuer_chain"));
    {
        cbs msg = cbs_make(c->raw.qe_identity, c->raw.qe_identity_len);
        CBA_ENSURE_SIG(sig_ok(x->policy, c->qe_chain.leaf.pub_xy, &msg, 1, c->raw.qe_identity_signature),
                   err, CBA_E_QE_IDENTITY_SIGNATURE, "collateral.qe_identity_signature",
                   "QE identity signature does not verify with the TCB signing key");
    }
    CBA_TRY(cba_qe_identity_parse(err, &c->qe_identity,
                                  cbs_make(c->raw.qe_identity, c->raw.qe_identity_len)));
    CBA_TRY(check_qe_identity_time(err, &c->qe_identity, x->now));
    note_expiry(&c->expires, c->qe_identity.next_update);
    note_expiry(&c->expires, c->qe_chain.leaf.not_after);
    return CBA_OK;
}

/* ---- The report ----------------------------------------------------------------------------- */

static void report_reset(cba_report *r)
{
    cba_report_init(r);
    r->verdict = CBA_VERDICT_REJECTED;
    r->failed_check = CBA_CHECK_COUNT;
    r->error.code = CBA_OK;
}

static void check_set(cba_report *r, cba_check check, cba_check_status st, const char *detail)
{
    r->checks[check].status = st;
    snprintf(r->checks[check].detail, sizeof r->checks[check].detail, "%s", detail ? detail : "");
}

/* check_result records one check's outcome; a failure becomes the report's failure. */
static cba_err check_result(cba_report *r, cba_check check, cba_err rc, const cba_error *e,
                            const char *pass_detail)
{
    if (rc == CBA_OK) {
        check_set(r, check, CBA_CHECK_PASS, pass_detail);
        return CBA_OK;
    }
    check_set(r, check, CBA_CHECK_FAIL, e->detail[0] ? e->detail : cba_err_message(rc));
    if (r->failed_check == CBA_CHECK_COUNT) {
        r->failed_check = check;
        r->error = *e;
        r->error.code = rc;
    }
    return rc;
}

static cba_err collateral_verify_impl(cba_collateral **out, cba_report *report, const cba_policy *policy,
                                      const uint8_t *json, size_t json_len, int64_t now)
{
    cba_collateral *c = NULL;
    anchor root;
    cba_error e;
    cba_err rc;
    collateral_ctx x;

    *out = NULL;
    report_reset(report);
    report->test_root = policy->trust_root_der != NULL;
    cba_error_clear(&e);
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        rc = cba_fail(&e, CBA_E_NOMEM, "collateral", "out of memory");
        return check_result(report, CBA_CHECK_CRL, rc, &e, NULL);
    }
    x = (collateral_ctx){ c, &root, policy, now };

    rc = anchor_load(&e, &root, policy, now);
    if (rc == CBA_OK) {
        if (root.der.len > sizeof c->root_der) {
            rc = cba_fail(&e, CBA_E_CHAIN_UNTRUSTED, "trust_root", "trust root is too large");
        } else {
            memcpy(c->root_der, root.der.data, root.der.len);
            c->root_der_len = root.der.len;
            note_expiry(&c->expires, root.cert.not_after);
        }
    }
    if (rc == CBA_OK) {
        rc = cba_collateral_raw_parse(&e, &c->raw, cbs_make(json, json_len));
        if (rc != CBA_OK) {
            (void)check_result(report, CBA_CHECK_CRL, rc, &e, NULL);
        }
    } else {
        (void)check_result(report, CBA_CHECK_PCK_CHAIN, rc, &e, NULL);
    }
    if (rc == CBA_OK) {
        rc = stage_pck_crl_chain(&e, &x);
        if (rc == CBA_OK) { rc = stage_root_crl(&e, &x); }
        if (rc == CBA_OK) { rc = stage_pck_crl(&e, &x); }
        (void)check_result(report, CBA_CHECK_CRL, rc, &e, "root CA CRL and PCK CRL signed and current");
    }
    if (rc == CBA_OK) {
        rc = check_result(report, CBA_CHECK_TCB_INFO, stage_tcb_info(&e, &x), &e,
                          "TCB info signed by Intel SGX TCB Signing and current");
    }
    if (rc == CBA_OK) {
        rc = check_result(report, CBA_CHECK_QE_IDENTITY, stage_qe_identity(&e, &x), &e,
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

/* hex_lower writes 2n lowercase hex digits and a NUL. */
static void hex_lower(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* hex_abbrev writes the first and last 8 hex digits of `b` ("0123abcd..89abcdef"), or all of
 * them when they fit in 16. */
static void hex_abbrev(char out[40], const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    char full[129];
    size_t len = n > 64 ? 64 : n;
    for (size_t i = 0; i < len; i++) {
        full[2 * i] = d[b[i] >> 4];
        full[2 * i + 1] = d[b[i] & 15];
    }
    full[2 * len] = '\0';
    if (2 * len <= 16) {
        snprintf(out, 40, "%.16s", full);
    } else {
        snprintf(out, 40, "%.8s...%.8s", full, full + 2 * len - 8);
    }
}

/* ---- Quote verification --------------------------------------------------------------------- */

typedef struct verify_ctx {
    cba_report *r;
    const cba_policy *policy;
    const cba_collateral *coll;
    const cba_evidence *ev;
    int64_t now;
    cba_error e;
    anchor root;
    cba_info *info;
    cbs quote_bytes;
    cba_quote quote;
    cba_pem_chain pck_pem;
    uint8_t *pck_der;          /* DER of the quote's PCK chain (heap) */
    cba_cert leaf, inter;
    cba_sgx_ext sgx;
    const cba_qe_level *qe_level;
    cba_dstack_ids ids;
    uint8_t (*digests)[48];
    bool dcap_missing;
    bool info_quote_replaced;  /* the response's own quote (and its RA-TLS binding) is unused */
    const char *skip_reason;   /* a step that found nothing to check sets this and returns OK */
    char skip_buf[160];        /* storage for a skip_reason built at run time */
    bool load_collateral;      /* authenticate evidence->collateral_json after quote_parse */
    bool recheck_collateral;   /* re-apply the given collateral's time bounds after quote_parse */
    cba_collateral *owned_coll;
} verify_ctx;

static cba_err step_quote_parse(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_evidence *ev = v->ev;
    if (ev->info_json != NULL) {
        cba_err rc = cba_info_parse(err, &v->info, cbs_make(ev->info_json, ev->info_json_len));
        if (rc != CBA_OK) {
            /* The response itself is malformed: that is the event_log check's failure. */
            (void)check_result(v->r, CBA_CHECK_EVENT_LOG, rc, err, NULL);
            return rc;
        }
    }
    if (ev->quote != NULL) {
        cbs_init(&v->quote_bytes, ev->quote, ev->quote_len);
        if (v->info != NULL && v->info->quote.len != 0 && !cbs_eq(v->info->quote, v->quote_bytes)) {
            CBA_ENSURE(ev->quote_replaces_info_quote, err, CBA_E_QUOTE_FORMAT, "quote",
                       "the given quote differs from the quote in the guest agent response");
            v->info_quote_replaced = true;
        }
    } else if (v->info != NULL && v->info->quote.len != 0) {
        v->quote_bytes = v->info->quote;
    } else {
        return cba_fail(err, CBA_E_QUOTE_MISSING, "quote",
                        "no quote given and the guest agent response carries none");
    }
    CBA_TRY(cba_quote_parse(err, &v->quote, v->quote_bytes));
    /* Facts from an unauthenticated quote are not published until the signatures pass. */
    return CBA_OK;
}

static cba_err step_pck_chain(verify_ctx *v)
{
    cba_error *err = &v->e;
    const char *w = "quote.pck_chain";
    CBA_TRY(anchor_load(err, &v->root, v->policy, v->now));
    if (v->coll != NULL) {
        CBA_ENSURE(cbs_eq_mem(v->root.der, v->coll->root_der, v->coll->root_der_len), err,
                   CBA_E_CHAIN_UNTRUSTED, "collateral",
                   "collateral was verified against a different trust root");
    }
    CBA_TRY(decode_chain(err, &v->pck_pem, &v->pck_der, v->quote.pck_chain_pem, w));
    CBA_ENSURE(v->pck_pem.num_certs == 3, err, CBA_E_CERT_INVALID, w,
               "PCK chain has %zu certificates; expected leaf, PCK CA and root",
               v->pck_pem.num_certs);
    CBA_ENSURE(cbs_eq(v->pck_pem.certs[2], v->root.der), err, CBA_E_CHAIN_UNTRUSTED, w,
               "PCK chain does not end at the trusted root (Intel SGX Root CA)");
    CBA_TRY(cba_cert_parse(err, &v->inter, v->pck_pem.certs[1]));
    CBA_TRY(cba_cert_parse(err, &v->leaf, v->pck_pem.certs[0]));
    CBA_ENSURE(cbs_eq_str(v->inter.subject_cn, CN_PLATFORM_CA) ||
                   cbs_eq_str(v->inter.subject_cn, CN_PROCESSOR_CA),
               err, CBA_E_CERT_INVALID, "quote.pck_chain[1]",
               "intermediate is not an Intel SGX PCK Platform/Processor CA");
    CBA_TRY(check_ca_profile(err, &v->inter, 0, "quote.pck_chain[1]"));
    if (v->coll != NULL && cbs_eq(v->inter.der, v->coll->pck_crl_ca.der)) {
        /* Byte-identical to the PCK CA verified with the collateral: same signature, same
         * issuer; only its validity depends on `now`. */
        if (!cert_valid_at(&v->inter, v->now)) {
            return window_fail(err, CBA_E_CERT_EXPIRED, "quote.pck_chain[1]", "PCK CA certificate", v->inter.not_before,
                               v->inter.not_after, v->now);
        }
    } else {
        CBA_TRY(check_issued_by(err, v->policy, &v->inter, &v->root.cert, v->now, "quote.pck_chain[1]"));
    }
    CBA_TRY(check_leaf_profile(err, &v->leaf, CN_PCK_LEAF, "quote.pck_chain[0]"));
    CBA_TRY(check_issued_by(err, v->policy, &v->leaf, &v->inter, v->now, "quote.pck_chain[0]"));
    CBA_ENSURE(v->leaf.has_sgx_ext, err, CBA_E_PCK_EXTENSION, "quote.pck_chain[0]",
               "PCK certificate has no Intel SGX extension");
    CBA_TRY(cba_sgx_ext_parse(err, &v->sgx, v->leaf.sgx_ext));
    v->r->has_pck = true;
    memcpy(v->r->fmspc, v->sgx.fmspc, sizeof v->r->fmspc);
    memcpy(v->r->pce_id, v->sgx.pce_id, sizeof v->r->pce_id);
    memcpy(v->r->ppid, v->sgx.ppid, sizeof v->r->ppid);
    return CBA_OK;
}

/* DCAP steps return CBA_E_COLLATERAL_MISSING (deferred) when collateral is absent. */
static cba_err dcap_missing(verify_ctx *v, const char *what)
{
    v->dcap_missing = true;
    return cba_fail(&v->e, CBA_E_COLLATERAL_MISSING, what,
                    "give --collateral FILE or --pccs URL, or --no-dcap to verify without it");
}

static cba_err step_crl(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_collateral *c = v->coll;
    if (c == NULL) { return dcap_missing(v, "collateral.pck_crl"); }
    CBA_TRY(crl_check_time(err, &c->root_crl, v->now, "collateral.root_ca_crl"));
    CBA_TRY(crl_check_time(err, &c->pck_crl, v->now, "collateral.pck_crl"));
    CBA_ENSURE(!cba_crl_lists_serial(&c->root_crl, v->inter.serial), err, CBA_E_CERT_REVOKED,
               "quote.pck_chain[1]", "PCK CA certificate is revoked by the root CA CRL");
    /* The PCK CRL must come from the leaf's own CA (Platform vs Processor), and be signed by the
     * intermediate of this quote: byte-identical to the verified CRL issuer, or verified now. */
    CBA_ENSURE(cbs_eq(c->pck_crl.issuer, v->leaf.issuer), err, CBA_E_CRL_INVALID, "collateral.pck_crl",
               "PCK CRL is issued by another CA than the PCK certificate's");
    if (!cbs_eq(v->inter.der, c->pck_crl_ca.der)) {
        CBA_ENSURE_SIG(sig_ok(v->policy, v->inter.pub_xy, &c->pck_crl.tbs, 1, c->pck_crl.sig_rs), err,
                   CBA_E_CRL_INVALID,
                   "collateral.pck_crl", "PCK CRL is not signed by the quote's PCK CA");
    }
    CBA_ENSURE(!cba_crl_lists_serial(&c->pck_crl, v->leaf.serial), err, CBA_E_CERT_REVOKED,
               "quote.pck_chain[0]", "PCK certificate is revoked");
    return CBA_OK;
}

static cba_err step_tcb_info(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_collateral *c = v->coll;
    if (c == NULL) { return dcap_missing(v, "collateral.tcb_info"); }
    if (!cert_valid_at(&c->tcb_chain.leaf, v->now)) {
        return window_fail(err, CBA_E_CERT_EXPIRED, "collateral.tcb_info_issuer_chain", "TCB signing certificate", (&c->tcb_chain.leaf)->not_before, (&c->tcb_chain.leaf)->not_after, v->now);
    }
    CBA_TRY(check_tcb_info_time(err, &c->tcb_info, v->policy, v->now));
    if (!cba_ct_eq(c->tcb_info.fmspc, v->sgx.fmspc, 6) || !cba_ct_eq(c->tcb_info.pce_id, v->sgx.pce_id, 2)) {
        bool fmspc = !cba_ct_eq(c->tcb_info.fmspc, v->sgx.fmspc, 6);
        char got[13], want[13];
        hex_lower(got, fmspc ? c->tcb_info.fmspc : c->tcb_info.pce_id, fmspc ? 6 : 2);
        hex_lower(want, fmspc ? v->sgx.fmspc : v->sgx.pce_id, fmspc ? 6 : 2);
        return cba_fail(err, CBA_E_TCB_INFO_MISMATCH, fmspc ? "tcb_info.fmspc" : "tcb_info.pceId",
                        "TCB info %s is %s; the PCK certificate's is %s (collateral for another platform)",
                        fmspc ? "FMSPC" : "PCE-ID", got, want);
    }
    v->r->tcb_evaluation_data_number = c->tcb_info.tcb_evaluation_data_number;
    return CBA_OK;
}

static cba_err step_qe_report_signature(verify_ctx *v)
{
    CBA_ENSURE_SIG(sig_ok(v->policy, v->leaf.pub_xy, &v->quote.qe_report_raw, 1, v->quote.qe_report_sig),
               &v->e, CBA_E_QE_REPORT_SIGNATURE, "quote.qe_report_signature",
               "QE report signature does not verify with the PCK certificate key");
    return CBA_OK;
}

static cba_err step_qe_report_data(verify_ctx *v)
{
    uint8_t want[32];
    const uint8_t *rd = v->quote.qe_report.report_data;
    cbs parts[2] = { cbs_make(v->quote.attest_key, 64), v->quote.qe_auth_data };
    static const uint8_t zeros[32];
    CBA_ENSURE(cba_sha256(want, parts, 2), &v->e, CBA_E_INTERNAL, "crypto", "SHA-256 failed");
    CBA_ENSURE(cba_ct_eq(rd, want, 32), &v->e, CBA_E_QE_REPORT_DATA, "quote.qe_report.report_data",
               "QE report data is not SHA-256(attestation key || QE auth data)");
    CBA_ENSURE(cba_ct_eq(rd + 32, zeros, 32), &v->e, CBA_E_QE_REPORT_DATA,
               "quote.qe_report.report_data", "upper 32 bytes of the QE report data are not zero");
    return CBA_OK;
}

static cba_err step_qe_identity(verify_ctx *v)
{
    const cba_collateral *c = v->coll;
    if (c == NULL) { return dcap_missing(v, "collateral.qe_identity"); }
    if (!cert_valid_at(&c->qe_chain.leaf, v->now)) {
        return window_fail(&v->e, CBA_E_CERT_EXPIRED, "collateral.qe_identity_issuer_chain", "TCB signing certificate", (&c->qe_chain.leaf)->not_before, (&c->qe_chain.leaf)->not_after, v->now);
    }
    CBA_TRY(check_qe_identity_time(&v->e, &c->qe_identity, v->now));
    return cba_qe_identity_match(&v->e, &v->qe_level, &c->qe_identity, &v->quote.qe_report);
}

static cba_err step_quote_signature(verify_ctx *v)
{
    CBA_ENSURE_SIG(cba_p256_point_check(v->quote.attest_key), &v->e, CBA_E_QUOTE_SIGNATURE,
                   "quote.attestation_key", "attestation key is not a point on P-256");
    CBA_ENSURE_SIG(sig_ok(v->policy, v->quote.attest_key, &v->quote.signed_region, 1, v->quote.quote_sig),
               &v->e, CBA_E_QUOTE_SIGNATURE, "quote.signature",
               "quote signature does not verify with the attestation key");
    return CBA_OK;
}

static bool advisory_allowed(const cba_policy *p, const char *id)
{
    for (const char *const *a = p->allowed_advisories; a != NULL && *a != NULL; a++) {
        if (strcmp(*a, id) == 0) { return true; }
    }
    return false;
}

static cba_err step_tcb_status(verify_ctx *v)
{
    cba_error *err = &v->e;
    cba_report *r = v->r;
    cba_tcb_result res;
    if (v->coll == NULL) { return dcap_missing(v, "tcb_status"); }
    CBA_TRY(cba_tcb_evaluate(err, &res, &v->coll->tcb_info, &v->sgx, &v->quote.td,
                             v->quote.body_type, v->qe_level));
    r->has_tcb = true;
    r->tcb_date = res.tcb_date;
    r->tcb_status = res.status;
    r->platform_tcb_status = res.platform_status;
    r->module_tcb_status = res.module_status;
    r->qe_tcb_status = res.qe_status;
    r->num_advisory_ids = 0;
    for (size_t i = 0; i < res.advisories.num && i < CBA_MAX_ADVISORIES; i++) {
        memcpy(r->advisory_ids[i], res.advisories.ids[i], CBA_ADVISORY_ID_MAX);
        r->num_advisory_ids++;
    }
    CBA_ENSURE(res.status != CBA_TCB_REVOKED, err, CBA_E_TCB_REVOKED, "tcb_status",
               "TCB level is Revoked (platform %s, module %s, QE %s)",
               cba_tcb_status_name(res.platform_status), cba_tcb_status_name(res.module_status),
               cba_tcb_status_name(res.qe_status));
    CBA_ENSURE(v->policy->accepted_statuses & (1u << res.status), err, CBA_E_TCB_STATUS_REJECTED,
               "tcb_status", "TCB status %s is not accepted by the policy (see --accept)",
               cba_tcb_status_name(res.status));
    for (size_t i = 0; i < r->num_advisory_ids; i++) {
        CBA_ENSURE(advisory_allowed(v->policy, r->advisory_ids[i]), err, CBA_E_TCB_STATUS_REJECTED,
                   "tcb_status", "advisory %s is not allowed by the policy (see --allow-advisory)",
                   r->advisory_ids[i]);
    }
    return CBA_OK;
}

static cba_err step_td_attributes(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_td_report *td = &v->quote.td;
    const cba_policy *p = v->policy;
    uint64_t allowed = p->td_attributes_allowed | (p->allow_debug ? TD_ATTR_DEBUG : 0);
    static const uint8_t zeros[48];
    CBA_ENSURE(!(td->td_attributes & TD_ATTR_DEBUG) || p->allow_debug, err, CBA_E_TD_DEBUG,
               "quote.td_attributes", "TD is in debug mode: its memory and state are not private");
    CBA_ENSURE((td->td_attributes & ~allowed) == 0, err, CBA_E_TD_ATTRIBUTES, "quote.td_attributes",
               "TD attributes 0x%016llx set bits outside the allowed 0x%016llx",
               (unsigned long long)td->td_attributes, (unsigned long long)allowed);
    CBA_ENSURE((td->td_attributes & p->td_attributes_required) == p->td_attributes_required, err,
               CBA_E_TD_ATTRIBUTES, "quote.td_attributes",
               "TD attributes 0x%016llx lack required bits 0x%016llx (SEPT_VE_DISABLE)",
               (unsigned long long)td->td_attributes,
               (unsigned long long)p->td_attributes_required);
    CBA_ENSURE(td->seam_attributes == 0, err, CBA_E_TD_ATTRIBUTES, "quote.seam_attributes",
               "SEAM attributes are not zero");
    CBA_ENSURE(cba_ct_eq(td->mrsignerseam, zeros, 48), err, CBA_E_TD_ATTRIBUTES,
               "quote.mrsignerseam", "TDX module is not signed by Intel (MRSIGNERSEAM not zero)");
    CBA_ENSURE(p->allow_service_td || cba_ct_eq(td->mrservicetd, zeros, 48), err, CBA_E_TD_ATTRIBUTES,
               "quote.mrservicetd", "TD is bound to a service TD (MRSERVICETD not zero)");
    return CBA_OK;
}

/* ---- dstack checks ------------------------------------------------------------------------- */

static cba_err step_event_log(verify_ctx *v)
{
    return cba_eventlog_identity(&v->e, &v->ids, v->info);
}

static cba_err step_event_digests(verify_ctx *v)
{
    if (v->info->num_events != 0) {
        v->digests = calloc(v->info->num_events, sizeof *v->digests);
        CBA_ENSURE(v->digests != NULL, &v->e, CBA_E_NOMEM, "event_log", "out of memory");
    }
    return cba_eventlog_check_digests(&v->e, v->digests, v->info);
}

static cba_err step_rtmr_replay(verify_ctx *v)
{
    uint8_t rtmr[4][48];
    CBA_ENSURE(cba_eventlog_replay(rtmr, v->info, (const uint8_t(*)[48])v->digests), &v->e,
               CBA_E_INTERNAL, "crypto", "SHA-384 failed");
    for (int i = 0; i < 4; i++) {
        char where[16];
        snprintf(where, sizeof where, "rtmr%d", i);
        CBA_ENSURE(cba_ct_eq(rtmr[i], v->quote.td.rtmr[i], 48), &v->e, CBA_E_RTMR_MISMATCH, where,
                   "event log replays to a different RTMR%d than the quote's", i);
    }
    /* The app certificate's copy of the log (when tcb_info has its own) must say the same. */
    return cba_eventlog_check_cert_copy(&v->e, v->info, (const uint8_t(*)[48])v->digests);
}

/* pin_field_bytes points at the quote's copy of a pinnable field. */
static const uint8_t *pin_field_bytes(const cba_td_report *td, cba_pin_field f)
{
    switch (f) {
    case CBA_PIN_MRTD: return td->mrtd;
    case CBA_PIN_RTMR0: return td->rtmr[0];
    case CBA_PIN_RTMR1: return td->rtmr[1];
    case CBA_PIN_RTMR2: return td->rtmr[2];
    case CBA_PIN_RTMR3: return td->rtmr[3];
    case CBA_PIN_MRSEAM: return td->mrseam;
    case CBA_PIN_MRSIGNERSEAM: return td->mrsignerseam;
    case CBA_PIN_MRCONFIGID: return td->mrconfigid;
    case CBA_PIN_MROWNER: return td->mrowner;
    case CBA_PIN_MROWNERCONFIG: return td->mrownerconfig;
    case CBA_PIN_REPORT_DATA: return td->report_data;
    case CBA_PIN_XFAM:
    case CBA_PIN_TD_ATTRIBUTES:
    case CBA_PIN_OS_IMAGE_HASH: /* from the event log, not the TD report */
    case CBA_PIN_COUNT: break;
    }
    return NULL;
}

/* check_pin_list fails unless the field equals one of the allowed values; the detail shows the
 * actual value (abbreviated) and the first allowed one. */
static cba_err check_pin_list(verify_ctx *v, cba_pin_field f, const uint8_t *actual, cba_err code)
{
    const struct cba_pin_list *l = &v->policy->pins[f];
    size_t size = cba_pin_field_size(f);
    char got[40], want[40];
    if (l->num_values == 0) { return CBA_OK; }
    CBA_ENSURE(l->values != NULL, &v->e, CBA_E_ARGUMENT, cba_pin_field_name(f), "pin list has no values");
    for (size_t i = 0; i < l->num_values; i++) {
        if (cba_ct_eq(l->values + i * size, actual, size)) { return CBA_OK; }
    }
    hex_abbrev(got, actual, size);
    hex_abbrev(want, l->values, size);
    return cba_fail(&v->e, code, cba_pin_field_name(f), "%s is %s; expected %s%s (%zu allowed value%s)",
                    cba_pin_field_name(f), got, want, l->num_values > 1 ? " or another" : "",
                    l->num_values, l->num_values > 1 ? "s" : "");
}

static cba_err check_pins(verify_ctx *v)
{
    const cba_policy *p = v->policy;
    const cba_td_report *td = &v->quote.td;
    char got[40], want[40];
    if (p->has_mrtd && !cba_ct_eq(p->mrtd, td->mrtd, 48)) {
        hex_abbrev(got, td->mrtd, 48);
        hex_abbrev(want, p->mrtd, 48);
        return cba_fail(&v->e, CBA_E_MEASUREMENT_POLICY, "mrtd", "MRTD differs from the pinned value: MRTD is %s, expected %s",
                        got, want);
    }
    for (int i = 0; i < 3; i++) {
        if (p->has_rtmr[i] && !cba_ct_eq(p->rtmr[i], td->rtmr[i], 48)) {
            hex_abbrev(got, td->rtmr[i], 48);
            hex_abbrev(want, p->rtmr[i], 48);
            return cba_fail(&v->e, CBA_E_MEASUREMENT_POLICY, "rtmr",
                            "RTMR%d differs from the pinned value: RTMR%d is %s, expected %s", i, i, got, want);
        }
    }
    for (int f = 0; f < CBA_PIN_COUNT; f++) {
        uint8_t le[8];
        const uint8_t *actual = pin_field_bytes(td, (cba_pin_field)f);
        if (f == CBA_PIN_REPORT_DATA) { continue; } /* the report_data check */
        if (f == CBA_PIN_XFAM || f == CBA_PIN_TD_ATTRIBUTES) {
            uint64_t x = f == CBA_PIN_XFAM ? td->xfam : td->td_attributes;
            for (int b = 0; b < 8; b++) { le[b] = (uint8_t)(x >> (8 * b)); }
            actual = le;
        }
        if (f == CBA_PIN_OS_IMAGE_HASH) {
            /* Only a measured hash (the os-image-hash event, replayed into RTMR3) can match. */
            if (p->pins[f].num_values == 0) { continue; }
            CBA_ENSURE(v->ids.has_os_image_hash, &v->e, CBA_E_MEASUREMENT_POLICY, "os_image_hash",
                       "os_image_hash is pinned but not measured (no os-image-hash event in the event log)");
            actual = v->ids.os_image_hash;
        }
        CBA_TRY(check_pin_list(v, (cba_pin_field)f, actual, CBA_E_MEASUREMENT_POLICY));
    }
    if (p->has_min_tee_tcb_svn) {
        for (int i = 0; i < 16; i++) {
            if (td->tee_tcb_svn[i] < p->min_tee_tcb_svn[i]) {
                hex_abbrev(got, td->tee_tcb_svn, 16);
                hex_abbrev(want, p->min_tee_tcb_svn, 16);
                return cba_fail(&v->e, CBA_E_MEASUREMENT_POLICY, "tee_tcb_svn",
                                "TEE_TCB_SVN is %s; component %d is below the minimum %s", got, i, want);
            }
        }
    }
    CBA_ENSURE(v->quote.qe_report.isvsvn >= p->min_qe_isvsvn, &v->e, CBA_E_MEASUREMENT_POLICY, "qe_isvsvn",
               "QE ISVSVN is %u; the policy's minimum is %u", (unsigned)v->quote.qe_report.isvsvn,
               (unsigned)p->min_qe_isvsvn);
    CBA_ENSURE(v->sgx.pcesvn >= p->min_pcesvn, &v->e, CBA_E_MEASUREMENT_POLICY, "pcesvn",
               "PCESVN is %u; the policy's minimum is %u", (unsigned)v->sgx.pcesvn, (unsigned)p->min_pcesvn);
    return CBA_OK;
}

static bool has_any_pin(const cba_policy *p)
{
    if (p->has_mrtd || p->has_rtmr[0] || p->has_rtmr[1] || p->has_rtmr[2] || p->has_min_tee_tcb_svn ||
        p->min_qe_isvsvn != 0 || p->min_pcesvn != 0) {
        return true;
    }
    for (int f = 0; f < CBA_PIN_COUNT; f++) {
        if (f != CBA_PIN_REPORT_DATA && p->pins[f].num_values != 0) { return true; }
    }
    return false;
}

static cba_err step_quote_measurements(verify_ctx *v)
{
    const cba_info *in = v->info;
    const cba_policy *p = v->policy;
    CBA_TRY(check_pins(v));
    if (in == NULL) {
        if (!has_any_pin(p)) {
            v->skip_reason = "no guest agent response and no pinned measurement";
        }
        return CBA_OK;
    }
    CBA_ENSURE(!in->has_mrtd_claim || cba_ct_eq(in->mrtd_claim, v->quote.td.mrtd, 48), &v->e,
               CBA_E_MEASUREMENT_CLAIM_MISMATCH, "tcb_info.mrtd", "tcb_info.mrtd differs from the quote");
    for (int i = 0; i < 4; i++) {
        CBA_ENSURE(!in->has_rtmr_claim[i] || cba_ct_eq(in->rtmr_claim[i], v->quote.td.rtmr[i], 48),
                   &v->e, CBA_E_MEASUREMENT_CLAIM_MISMATCH, "tcb_info.rtmr",
                   "tcb_info.rtmr%d differs from the quote", i);
    }
    if (in->has_mr_aggregated) {
        /* dstack §6.6: SHA256(MRTD || RTMR0..3 [|| MRCONFIGID || MROWNER || MROWNERCONFIG when any
         * of the three is set]). */
        const cba_td_report *td = &v->quote.td;
        static const uint8_t zeros[48];
        bool config = !cba_ct_eq(td->mrconfigid, zeros, 48) || !cba_ct_eq(td->mrowner, zeros, 48) ||
                      !cba_ct_eq(td->mrownerconfig, zeros, 48);
        cbs parts[8] = { cbs_make(td->mrtd, 48),     cbs_make(td->rtmr[0], 48),
                         cbs_make(td->rtmr[1], 48),  cbs_make(td->rtmr[2], 48),
                         cbs_make(td->rtmr[3], 48),  cbs_make(td->mrconfigid, 48),
                         cbs_make(td->mrowner, 48),  cbs_make(td->mrownerconfig, 48) };
        uint8_t agg[32];
        CBA_ENSURE(cba_sha256(agg, parts, config ? 8 : 5), &v->e, CBA_E_INTERNAL, "crypto",
                   "SHA-256 failed");
        CBA_ENSURE(cba_ct_eq(agg, in->mr_aggregated, 32), &v->e, CBA_E_MEASUREMENT_CLAIM_MISMATCH,
                   "mr_aggregated", "claimed mr_aggregated is not the quote's measurements");
    }
    if (in->has_instance_id && v->ids.has_instance_id) {
        /* The claim is never reported; the event is. A claim that contradicts the event means the
         * response was edited. (Without an event there is nothing the claim could contradict.) */
        CBA_ENSURE(v->ids.instance_id.len == 20 && cba_ct_eq(in->instance_id, v->ids.instance_id.data, 20),
                   &v->e, CBA_E_MEASUREMENT_CLAIM_MISMATCH, "instance_id",
                   "claimed instance_id differs from the instance-id event");
    }
    if (in->has_os_image_hash && v->ids.has_os_image_hash) {
        /* Measured (KMS mode): a claim that says otherwise means the response was edited. */
        CBA_ENSURE(cba_ct_eq(in->os_image_hash, v->ids.os_image_hash, 32), &v->e, CBA_E_MEASUREMENT_CLAIM_MISMATCH,
                   "os_image_hash", "claimed os_image_hash differs from the os-image-hash event");
    }
    return CBA_OK;
}

static cba_err step_compose_binding(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_info *in = v->info;
    const cba_policy *p = v->policy;
    if (in == NULL) {
        CBA_ENSURE(!p->has_compose_hash, err, CBA_E_COMPOSE_HASH_MISMATCH, "compose_hash",
                   "an expected compose hash was given but no guest agent response");
        v->skip_reason = "no guest agent response given";
        return CBA_OK;
    }
    CBA_ENSURE(v->ids.has_compose_hash, err, CBA_E_COMPOSE_HASH_MISMATCH, "event_log.compose-hash",
               "the event log has no compose-hash event before system-ready");
    if (in->has_app_compose) {
        uint8_t h[32];
        CBA_ENSURE(cba_sha256(h, &in->app_compose, 1), err, CBA_E_INTERNAL, "crypto", "SHA-256 failed");
        CBA_ENSURE(cba_ct_eq(h, v->ids.compose_hash, 32), err, CBA_E_COMPOSE_HASH_MISMATCH,
                   "tcb_info.app_compose", "SHA-256 of app_compose differs from the compose-hash event");
    }
    CBA_ENSURE(!in->has_compose_hash || cba_ct_eq(in->compose_hash, v->ids.compose_hash, 32), err,
               CBA_E_COMPOSE_HASH_MISMATCH, "compose_hash", "claimed compose_hash differs from the event");
    CBA_ENSURE(!in->has_tcb_compose_hash || cba_ct_eq(in->tcb_compose_hash, v->ids.compose_hash, 32),
               err, CBA_E_COMPOSE_HASH_MISMATCH, "tcb_info.compose_hash",
               "tcb_info.compose_hash differs from the event");
    if (p->has_compose_hash && !cba_ct_eq(p->compose_hash, v->ids.compose_hash, 32)) {
        char got[40], want[40];
        hex_abbrev(got, v->ids.compose_hash, 32);
        hex_abbrev(want, p->compose_hash, 32);
        return cba_fail(err, CBA_E_COMPOSE_HASH_MISMATCH, "compose_hash",
                        "the CVM runs another compose than the expected one: compose hash %s, expected %s", got,
                        want);
    }
    CBA_TRY(cba_mrconfigid_check(err, &v->r->mrconfigid_version, v->quote.td.mrconfigid, &v->ids));
    v->r->has_compose_hash = true;
    memcpy(v->r->compose_hash, v->ids.compose_hash, 32);
    return CBA_OK;
}

static cba_err step_app_id(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_info *in = v->info;
    const cba_policy *p = v->policy;
    if (in == NULL) {
        CBA_ENSURE(!p->has_app_id, err, CBA_E_APP_ID_MISMATCH, "app_id",
                   "an expected app id was given but no guest agent response");
        v->skip_reason = "no guest agent response given";
        return CBA_OK;
    }
    CBA_ENSURE(v->ids.has_app_id, err, CBA_E_APP_ID_MISMATCH, "event_log.app-id",
               "the event log has no app-id event before system-ready");
    CBA_ENSURE(!in->has_app_id || cba_ct_eq(in->app_id, v->ids.app_id, 20), err, CBA_E_APP_ID_MISMATCH,
               "app_id", "claimed app_id differs from the app-id event");
    if (p->has_app_id && !cba_ct_eq(p->app_id, v->ids.app_id, 20)) {
        char got[41], want[41];
        hex_lower(got, v->ids.app_id, 20);
        hex_lower(want, p->app_id, 20);
        return cba_fail(err, CBA_E_APP_ID_MISMATCH, "app_id", "the CVM's app id is %s; expected %s", got, want);
    }
    v->r->has_app_id = true;
    memcpy(v->r->app_id, v->ids.app_id, 20);
    if (v->ids.has_instance_id && v->ids.instance_id.len == 20) {
        v->r->has_instance_id = true;
        memcpy(v->r->instance_id, v->ids.instance_id.data, 20);
    }
    if (v->ids.has_os_image_hash) { /* cross-checked with the claim in step_quote_measurements */
        v->r->has_os_image_hash = true;
        memcpy(v->r->os_image_hash, v->ids.os_image_hash, 32);
    }
    return CBA_OK;
}

static cba_err step_report_data(verify_ctx *v)
{
    const cba_policy *p = v->policy;
    const uint8_t *rd = v->quote.td.report_data;
    if (p->has_report_data && !cba_ct_eq(p->report_data, rd, 64)) {
        char got[40], want[40];
        hex_abbrev(got, rd, 64);
        hex_abbrev(want, p->report_data, 64);
        return cba_fail(&v->e, CBA_E_REPORT_DATA_MISMATCH, "report_data",
                        "quote report data is %s; expected %s", got, want);
    }
    CBA_TRY(check_pin_list(v, CBA_PIN_REPORT_DATA, rd, CBA_E_REPORT_DATA_MISMATCH));
    if (v->info != NULL && v->info->quote_from_cert && !v->info_quote_replaced) {
        uint8_t want[64];
        CBA_ENSURE(cba_ratls_report_data(want, v->info->cert_spki), &v->e, CBA_E_INTERNAL, "crypto",
                   "SHA-512 failed");
        CBA_ENSURE(cba_ct_eq(want, rd, 64), &v->e, CBA_E_REPORT_DATA_MISMATCH, "report_data",
                   "quote report data is not SHA-512(\"ratls-cert:\" || app certificate key)");
        v->r->ratls_bound = true;
    }
    if (!p->has_report_data && p->pins[CBA_PIN_REPORT_DATA].num_values == 0 && !v->r->ratls_bound) {
        v->skip_reason = "no binding requested (give --report-data)";
    }
    return CBA_OK;
}

static cba_err step_app_compose(verify_ctx *v)
{
    const cba_app_compose_policy *p = v->policy->app_compose;
    cba_app_compose_policy acp;
    cba_app_compose_result res;
    cba_err rc;
    if (p == NULL) {
        v->skip_reason = "no app-compose policy given";
        return CBA_OK;
    }
    /* The caller's struct is struct_size bytes as it was compiled (see cba_import_struct). */
    cba_app_compose_policy_init(&acp);
    rc = cba_import_struct(&v->e, &acp, sizeof acp, p, CBA_APP_COMPOSE_POLICY_SIZE_MIN, "policy.app_compose");
    if (rc != CBA_OK) { return rc; }
    p = &acp;
    if (v->info == NULL || !v->info->has_app_compose) {
        /* Nothing to apply the rules to. With an expectation that needs the app-compose (the
         * deployed compose, a supplied script) that is a failure; otherwise only the compose
         * hash (when pinned) speaks for the app-compose, and the check says so. */
        CBA_ENSURE(p->docker_compose == NULL && !p->require_pre_launch_script, &v->e, CBA_E_APP_COMPOSE_POLICY,
                   "tcb_info.app_compose",
                   "the evidence carries no app_compose to check the expected compose and script against");
        v->skip_reason = "no app_compose in the evidence (only a pinned compose hash speaks for it)";
        return CBA_OK;
    }
    /* compose_binding ran before: this app_compose is the one RTMR3 measured. */
    rc = cba_app_compose_check(&v->e, &res, p, v->info->app_compose);
    if (rc == CBA_E_APP_COMPOSE_POLICY && p->report_only) {
        snprintf(v->skip_buf, sizeof v->skip_buf, "not enforced: %.140s", v->e.detail);
        v->skip_reason = v->skip_buf;
        cba_error_clear(&v->e);
        rc = CBA_OK;
    }
    CBA_TRY(rc);
    v->r->has_pre_launch_script = res.has_script;
    memcpy(v->r->pre_launch_script_sha256, res.script_sha256, 32);
    v->r->pre_launch_script_match = res.match;
    return CBA_OK;
}

typedef struct step {
    cba_check check;
    cba_err (*run)(verify_ctx *v);
    bool dcap;   /* skipped by policy->skip_dcap */
    bool dstack; /* needs a guest agent response */
    const char *pass_detail;
} step;

static const step k_steps[] = {
    { CBA_CHECK_QUOTE_PARSE, step_quote_parse, false, false, "TDX quote well-formed" },
    { CBA_CHECK_PCK_CHAIN, step_pck_chain, false, false, "PCK chain leads to the trusted root" },
    { CBA_CHECK_CRL, step_crl, true, false, "PCK certificate and CA not revoked" },
    { CBA_CHECK_TCB_INFO, step_tcb_info, true, false, "TCB info matches FMSPC and PCE-ID" },
    { CBA_CHECK_QE_REPORT_SIGNATURE, step_qe_report_signature, false, false,
      "QE report signed by the PCK key" },
    { CBA_CHECK_QE_REPORT_DATA, step_qe_report_data, false, false,
      "QE report binds the attestation key" },
    { CBA_CHECK_QE_IDENTITY, step_qe_identity, true, false, "quoting enclave is Intel's TD QE" },
    { CBA_CHECK_QUOTE_SIGNATURE, step_quote_signature, false, false,
      "quote signed by the attestation key" },
    { CBA_CHECK_TCB_STATUS, step_tcb_status, true, false, NULL },
    { CBA_CHECK_TD_ATTRIBUTES, step_td_attributes, false, false, "not debug; attributes allowed" },
    { CBA_CHECK_EVENT_LOG, step_event_log, false, true, NULL },
    { CBA_CHECK_EVENT_DIGESTS, step_event_digests, false, true, "runtime event digests recomputed" },
    { CBA_CHECK_RTMR_REPLAY, step_rtmr_replay, false, true, "RTMR0-3 replay to the quote" },
    { CBA_CHECK_QUOTE_MEASUREMENTS, step_quote_measurements, false, false,
      "claimed measurements equal the quote's" },
    { CBA_CHECK_COMPOSE_BINDING, step_compose_binding, false, false, NULL },
    { CBA_CHECK_APP_ID, step_app_id, false, false, NULL },
    { CBA_CHECK_REPORT_DATA, step_report_data, false, false, NULL },
    { CBA_CHECK_APP_COMPOSE, step_app_compose, false, false, NULL },
};
_Static_assert(sizeof k_steps / sizeof k_steps[0] == CBA_CHECK_COUNT, "one step per check");

static void publish_quote(cba_report *r, const cba_quote *q)
{
    const cba_td_report *td = &q->td;
    r->has_quote = true;
    r->quote_version = q->version;
    r->body_type = q->body_type;
    memcpy(r->tee_tcb_svn, td->tee_tcb_svn, 16);
    memcpy(r->mrseam, td->mrseam, 48);
    memcpy(r->mrsignerseam, td->mrsignerseam, 48);
    r->td_attributes = td->td_attributes;
    r->xfam = td->xfam;
    memcpy(r->mrtd, td->mrtd, 48);
    memcpy(r->mrconfigid, td->mrconfigid, 48);
    memcpy(r->mrowner, td->mrowner, 48);
    memcpy(r->mrownerconfig, td->mrownerconfig, 48);
    memcpy(r->rtmr, td->rtmr, sizeof r->rtmr);
    memcpy(r->report_data, td->report_data, 64);
    r->trailing_zero_bytes = q->trailing_len;
}

/* pass_detail_for fills details that depend on the result. */
static void pass_detail_for(const verify_ctx *v, cba_check check, char *buf, size_t n)
{
    const cba_report *r = v->r;
    switch (check) {
    case CBA_CHECK_TCB_STATUS:
        snprintf(buf, n, "%s (%zu advisories)", cba_tcb_status_name(r->tcb_status), r->num_advisory_ids);
        break;
    case CBA_CHECK_EVENT_LOG:
        snprintf(buf, n, "%zu events; identity events before system-ready", v->info->num_events);
        break;
    case CBA_CHECK_COMPOSE_BINDING:
        snprintf(buf, n, "app_compose, compose-hash event%s%s agree",
                 v->policy->has_compose_hash ? ", expected hash" : "",
                 r->mrconfigid_version ? " and MRCONFIGID" : "");
        break;
    case CBA_CHECK_APP_ID:
        snprintf(buf, n, v->policy->has_app_id ? "app-id event equals the expected app id"
                                               : "app-id event equals the claim (no expected app id given)");
        break;
    case CBA_CHECK_APP_COMPOSE:
        snprintf(buf, n, "runner, compose, flags and members accepted; pre_launch_script %s",
                 r->pre_launch_script_match == CBA_SCRIPT_SUPPLIED      ? "is the supplied one"
                 : r->pre_launch_script_match == CBA_SCRIPT_ALLOW_LISTED ? "accepted by hash (allow-list)"
                                                                         : "absent");
        break;
    case CBA_CHECK_REPORT_DATA:
        snprintf(buf, n, "%s%s%s",
                 v->policy->has_report_data || v->policy->pins[CBA_PIN_REPORT_DATA].num_values != 0
                     ? "equals the expected value" : "",
                 (v->policy->has_report_data || v->policy->pins[CBA_PIN_REPORT_DATA].num_values != 0) &&
                         r->ratls_bound ? "; " : "",
                 r->ratls_bound ? "binds the app certificate key (RA-TLS)" : "");
        break;
    default:
        buf[0] = '\0';
        break;
    }
}

/* load_collateral authenticates the evidence's collateral once for this verification; its checks'
 * results (crl, tcb_info, qe_identity) are carried into the report on failure. */
static cba_err load_collateral(verify_ctx *v)
{
    cba_report *tmp = malloc(sizeof *tmp);
    cba_err rc;
    if (tmp == NULL) {
        cba_error_clear(&v->e);
        return check_result(v->r, CBA_CHECK_CRL, cba_fail(&v->e, CBA_E_NOMEM, "collateral", "out of memory"),
                            &v->e, NULL);
    }
    rc = collateral_verify_impl(&v->owned_coll, tmp, v->policy, v->ev->collateral_json,
                               v->ev->collateral_json_len, v->now);
    if (rc != CBA_OK) {
        static const cba_check carried[] = { CBA_CHECK_PCK_CHAIN, CBA_CHECK_CRL, CBA_CHECK_TCB_INFO,
                                             CBA_CHECK_QE_IDENTITY };
        for (size_t i = 0; i < CBA_ARRAY_LEN(carried); i++) {
            v->r->checks[carried[i]] = tmp->checks[carried[i]];
        }
        v->r->failed_check = tmp->failed_check;
        v->r->error = tmp->error;
    } else {
        v->coll = v->owned_coll;
        v->r->collateral_expires = v->coll->expires;
    }
    free(tmp);
    return rc;
}

/* recheck_* re-apply, at this verification's `now` and policy, the time bounds and policy limits
 * that cba_collateral_verify checked when the collateral was authenticated (maybe at another
 * time), in its order and under its check names. */
static cba_err recheck_crl(cba_error *err, const cba_collateral *c, int64_t now)
{
    CBA_TRY(crl_check_time(err, &c->root_crl, now, "collateral.root_ca_crl"));
    if (!cert_valid_at(&c->pck_crl_ca, now)) {
        return window_fail(err, CBA_E_CERT_EXPIRED, "collateral.pck_crl_issuer_chain", "PCK CRL issuer certificate", (&c->pck_crl_ca)->not_before, (&c->pck_crl_ca)->not_after, now);
    }
    return crl_check_time(err, &c->pck_crl, now, "collateral.pck_crl");
}

static cba_err recheck_tcb_info(cba_error *err, const cba_collateral *c, const cba_policy *policy,
                                int64_t now)
{
    if (!cert_valid_at(&c->tcb_chain.leaf, now)) {
        return window_fail(err, CBA_E_CERT_EXPIRED, "collateral.tcb_info_issuer_chain", "TCB signing certificate", (&c->tcb_chain.leaf)->not_before, (&c->tcb_chain.leaf)->not_after, now);
    }
    return check_tcb_info_time(err, &c->tcb_info, policy, now);
}

static cba_err recheck_qe_identity(cba_error *err, const cba_collateral *c, int64_t now)
{
    if (!cert_valid_at(&c->qe_chain.leaf, now)) {
        return window_fail(err, CBA_E_CERT_EXPIRED, "collateral.qe_identity_issuer_chain", "TCB signing certificate", (&c->qe_chain.leaf)->not_before, (&c->qe_chain.leaf)->not_after, now);
    }
    return check_qe_identity_time(err, &c->qe_identity, now);
}

/* collateral_recheck runs where the one-shot cba_verify authenticates its collateral (right
 * after quote_parse), so that collateral verified earlier and reused by cba_verify_with fails
 * exactly as the one-shot verification of the same evidence at the same time would: e.g. an
 * expired PCK CA is the CRL issuer's failure in both, not a PCK chain failure in one of them. */
static cba_err collateral_recheck(verify_ctx *v)
{
    const cba_collateral *c = v->coll;
    anchor root;
    cba_err rc;

    cba_error_clear(&v->e);
    rc = anchor_load(&v->e, &root, v->policy, v->now);
    if (rc != CBA_OK) { return check_result(v->r, CBA_CHECK_PCK_CHAIN, rc, &v->e, NULL); }
    rc = recheck_crl(&v->e, c, v->now);
    if (rc != CBA_OK) { return check_result(v->r, CBA_CHECK_CRL, rc, &v->e, NULL); }
    rc = recheck_tcb_info(&v->e, c, v->policy, v->now);
    if (rc != CBA_OK) { return check_result(v->r, CBA_CHECK_TCB_INFO, rc, &v->e, NULL); }
    rc = recheck_qe_identity(&v->e, c, v->now);
    if (rc != CBA_OK) { return check_result(v->r, CBA_CHECK_QE_IDENTITY, rc, &v->e, NULL); }
    return CBA_OK;
}

static cba_err run_pipeline(verify_ctx *v)
{
    cba_report *r = v->r;
    cba_err first_deferred = CBA_OK;
    cba_error deferred;
    cba_check deferred_check = CBA_CHECK_COUNT;

    cba_error_clear(&deferred);
    for (size_t i = 0; i < CBA_ARRAY_LEN(k_steps); i++) {
        const step *s = &k_steps[i];
        char detail[160];
        cba_err rc;
        if (s->dcap && v->policy->skip_dcap) {
            check_set(r, s->check, CBA_CHECK_SKIP, "skipped by --no-dcap (no collateral checks)");
            continue;
        }
        if (s->dstack && v->info == NULL) {
            check_set(r, s->check, CBA_CHECK_SKIP, "no guest agent response given");
            continue;
        }
        cba_error_clear(&v->e);
        v->skip_reason = NULL;
        rc = s->run(v);
        if (rc == CBA_E_COLLATERAL_MISSING) {
            /* Keep going so every other check reports; the verdict stays "not verified". */
            check_set(r, s->check, CBA_CHECK_FAIL, v->e.detail);
            if (first_deferred == CBA_OK) {
                first_deferred = rc;
                deferred = v->e;
                deferred_check = s->check;
            }
            continue;
        }
        if (rc != CBA_OK) {
            if (r->failed_check == CBA_CHECK_COUNT) { /* else the step named another check */
                (void)check_result(r, s->check, rc, &v->e, NULL);
            }
            return rc;
        }
        if (s->check == CBA_CHECK_QUOTE_PARSE && (v->load_collateral || v->recheck_collateral)) {
            rc = v->load_collateral ? load_collateral(v) : collateral_recheck(v);
            if (rc != CBA_OK) {
                check_set(r, s->check, CBA_CHECK_PASS, s->pass_detail);
                return rc;
            }
        }
        if (v->skip_reason != NULL) {
            check_set(r, s->check, CBA_CHECK_SKIP, v->skip_reason);
            continue;
        }
        pass_detail_for(v, s->check, detail, sizeof detail);
        check_set(r, s->check, CBA_CHECK_PASS, detail[0] ? detail : s->pass_detail);
        if (s->check == CBA_CHECK_QUOTE_SIGNATURE) {
            publish_quote(r, &v->quote); /* authenticated from here on */
            r->pce_svn = v->sgx.pcesvn;
            r->qe_isvsvn = v->quote.qe_report.isvsvn;
        }
    }
    if (first_deferred != CBA_OK) {
        r->collateral_missing = true;
        (void)check_result(r, deferred_check, first_deferred, &deferred, NULL);
        return first_deferred;
    }
    if (v->info != NULL) {
        r->has_dstack = true;
        r->num_events = v->info->num_events;
    }
    return CBA_OK;
}

/* withdraw_evidence_facts clears the quote block (has_quote .. before has_pck) and the dstack
 * block (has_dstack .. end) of the report; cba_report keeps them contiguous for this. */
static void withdraw_evidence_facts(cba_report *r)
{
    memset(&r->has_quote, 0, offsetof(cba_report, has_pck) - offsetof(cba_report, has_quote));
    memset(&r->has_dstack, 0, sizeof *r - offsetof(cba_report, has_dstack));
}

/* verify_impl runs the pipeline; with use_evidence_collateral, the evidence's collateral JSON is
 * authenticated right after the quote parses (so a wrong kind of quote is named as such first). */
static cba_err verify_impl(cba_report *out, const cba_policy *policy, const cba_collateral *collateral,
                           const cba_evidence *evidence, bool use_evidence_collateral, int64_t now)
{
    verify_ctx *v;
    cba_err rc;

    report_reset(out);
    out->test_root = policy->trust_root_der != NULL;
    if (collateral != NULL) { out->collateral_expires = collateral->expires; }
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        out->error.code = CBA_E_NOMEM;
        snprintf(out->error.detail, sizeof out->error.detail, "out of memory");
        out->failed_check = CBA_CHECK_QUOTE_PARSE;
        return CBA_E_NOMEM;
    }
    v->r = out;
    v->policy = policy;
    v->coll = collateral;
    v->ev = evidence;
    v->now = now;
    v->load_collateral = use_evidence_collateral && evidence->collateral_json != NULL && !policy->skip_dcap;
    v->recheck_collateral = collateral != NULL && !policy->skip_dcap;
    rc = run_pipeline(v);
    if (rc == CBA_OK) {
        out->verdict = CBA_VERDICT_VERIFIED;
        out->failed_check = CBA_CHECK_COUNT;
        cba_error_clear(&out->error);
    } else {
        /* Nothing from the quote or the response leaves a rejected verification (dcap-spec §4):
         * a caller must not be able to mistake those values for attested ones. The PCK facts
         * (from the certificate chain) and the TCB result stay: they explain the rejection. */
        out->verdict = CBA_VERDICT_REJECTED;
        withdraw_evidence_facts(out);
    }
    cba_info_free(v->info);
    cba_collateral_free(v->owned_coll);
    free(v->digests);
    free(v->pck_der);
    memset(v, 0, sizeof *v);
    free(v);
    return rc;
}

/* ---- Public entry points: the caller's structs, as large as the caller built them ------------- */

/* struct_refused fills the report for a policy or evidence the library cannot use. */
static cba_err struct_refused(cba_report *r, cba_check check, cba_err rc, const cba_error *e)
{
    report_reset(r);
    return check_result(r, check, rc, e, NULL);
}

cba_err cba_collateral_verify(cba_collateral **out, cba_report *report, const cba_policy *policy,
                              const uint8_t *json, size_t json_len, int64_t now)
{
    cba_report tmp, *r;
    cba_policy pol;
    cba_error e;
    cba_err rc;

    if (out == NULL || report == NULL) { return CBA_E_ARGUMENT; }
    *out = NULL;
    if (!report_usable(report)) { return CBA_E_STRUCT_SIZE; }
    r = report->struct_size == sizeof *report ? report : &tmp;
    cba_error_clear(&e);
    cba_policy_init(&pol);
    rc = cba_import_struct(&e, &pol, sizeof pol, policy, CBA_POLICY_SIZE_MIN, "policy");
    if (rc != CBA_OK) {
        rc = struct_refused(r, CBA_CHECK_CRL, rc, &e);
    } else {
        rc = collateral_verify_impl(out, r, &pol, json, json_len, now);
    }
    report_export(report, r);
    return rc;
}

/* verify_entry checks and imports the caller's structs, then runs verify_impl. */
static cba_err verify_entry(cba_report *out, const cba_policy *policy, const cba_collateral *collateral,
                            const cba_evidence *evidence, bool use_evidence_collateral, int64_t now)
{
    cba_report tmp, *r;
    cba_policy pol;
    cba_evidence ev;
    cba_error e;
    cba_err rc;

    if (out == NULL) { return CBA_E_ARGUMENT; }
    if (!report_usable(out)) { return CBA_E_STRUCT_SIZE; }
    r = out->struct_size == sizeof *out ? out : &tmp;
    cba_error_clear(&e);
    cba_policy_init(&pol);
    cba_evidence_init(&ev);
    rc = cba_import_struct(&e, &pol, sizeof pol, policy, CBA_POLICY_SIZE_MIN, "policy");
    if (rc == CBA_OK) { rc = cba_import_struct(&e, &ev, sizeof ev, evidence, CBA_EVIDENCE_SIZE_MIN, "evidence"); }
    if (rc != CBA_OK) {
        rc = struct_refused(r, CBA_CHECK_QUOTE_PARSE, rc, &e);
    } else {
        rc = verify_impl(r, &pol, collateral, &ev, use_evidence_collateral, now);
    }
    report_export(out, r);
    return rc;
}

cba_err cba_verify_with(cba_report *out, const cba_policy *policy, const cba_collateral *collateral,
                        const cba_evidence *evidence, int64_t now)
{
    return verify_entry(out, policy, collateral, evidence, false, now);
}

cba_err cba_verify(cba_report *out, const cba_policy *policy, const cba_evidence *evidence, int64_t now)
{
    return verify_entry(out, policy, NULL, evidence, true, now);
}
