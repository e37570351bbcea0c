/* verify.c — the ordered checks (dcap-spec §4.1, §6): one step per check of the report, and
 * their order (cba_steps). verify_pipeline.c runs them and holds the public entry points;
 * verify_collateral.c authenticates the collateral they use (verify_private.h).
 *
 * Every step records its result in the report; the first failure stops the pipeline and names
 * its check. Nothing from the quote is interpreted before the signature that covers it has
 * verified. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcompose.h"
#include "verify_private.h"

/* hex_abbrev writes the first and last 8 hex digits of `b` ("0123abcd..89abcdef"), or all of
 * them when they fit in 16 (base's encoder, abbreviated; at most 64 bytes are read). */
static void hex_abbrev(char out[40], const uint8_t *b, size_t n)
{
    char full[129];
    size_t len = n > 64 ? 64 : n;
    cba_hex_encode(full, b, len);
    if (2 * len <= 16) {
        snprintf(out, 40, "%.16s", full);
    } else {
        snprintf(out, 40, "%.8s...%.8s", full, full + 2 * len - 8);
    }
}

/* ---- Quote verification --------------------------------------------------------------------- */

static cba_err step_quote_parse(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_evidence *ev = v->ev;
    if (ev->quote_event_log != NULL) {
        /* Only a fresh quote that replaces the response's has a log of its own. */
        CBA_ENSURE(ev->quote != NULL && ev->info_json != NULL && ev->quote_replaces_info_quote, err,
                   CBA_E_ARGUMENT, "evidence.quote_event_log",
                   "a quote event log needs a quote, an info response and quote_replaces_info_quote");
    }
    if (ev->info_json != NULL) {
        const cbs json = cbs_make(ev->info_json, ev->info_json_len);
        cba_err rc = ev->quote_event_log != NULL
                         ? cba_info_parse_with_log(err, &v->info, json,
                                                   cbs_make(ev->quote_event_log, ev->quote_event_log_len))
                         : cba_info_parse(err, &v->info, json);
        if (rc != CBA_OK) {
            /* The response itself is malformed: that is the event_log check's failure. */
            (void)cba_report_check(v->r, CBA_CHECK_EVENT_LOG, rc, err, NULL);
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
    CBA_TRY(cba_anchor_load_for(err, &v->root, v->policy, v->now, v->coll));
    if (v->coll != NULL) {
        CBA_ENSURE(cbs_eq_mem(v->root.der, v->coll->root_der, v->coll->root_der_len), err,
                   CBA_E_CHAIN_UNTRUSTED, "collateral",
                   "collateral was verified against a different trust root");
    }
    {
        /* The root and the PCK CA, when byte-identical to the collateral's blocks, are not
         * decoded again (the collateral outlives this verification's chain). */
        const cba_pem_chain *known[2] = { v->coll != NULL ? &v->coll->pck_crl_chain : NULL,
                                          v->coll != NULL ? &v->coll->tcb_chain.pem : NULL };
        CBA_TRY(cba_decode_chain(err, &v->pck_pem, &v->pck_der, v->quote.pck_chain_pem, known, 2, w));
    }
    CBA_ENSURE(v->pck_pem.num_certs == 3, err, CBA_E_CERT_INVALID, w,
               "PCK chain has %zu certificates; expected leaf, PCK CA and root",
               v->pck_pem.num_certs);
    CBA_ENSURE(cbs_eq(v->pck_pem.certs[2], v->root.der), err, CBA_E_CHAIN_UNTRUSTED, w,
               "PCK chain does not end at the trusted root (Intel SGX Root CA)");
    if (v->coll != NULL && cbs_eq(v->pck_pem.certs[1], v->coll->pck_crl_ca.der)) {
        v->inter = v->coll->pck_crl_ca; /* the same bytes, parsed when the collateral was verified */
    } else {
        CBA_TRY(cba_cert_parse(err, &v->inter, v->pck_pem.certs[1]));
    }
    CBA_TRY(cba_cert_parse(err, &v->leaf, v->pck_pem.certs[0]));
    CBA_ENSURE(cbs_eq_str(v->inter.subject_cn, CN_PLATFORM_CA) ||
                   cbs_eq_str(v->inter.subject_cn, CN_PROCESSOR_CA),
               err, CBA_E_CERT_INVALID, "quote.pck_chain[1]",
               "intermediate is not an Intel SGX PCK Platform/Processor CA");
    CBA_TRY(cba_check_ca_profile(err, &v->inter, 0, "quote.pck_chain[1]"));
    if (v->coll != NULL && cbs_eq(v->inter.der, v->coll->pck_crl_ca.der)) {
        /* Byte-identical to the PCK CA verified with the collateral: same signature, same
         * issuer; only its validity depends on `now`. */
        if (!cba_cert_valid_at(&v->inter, v->now)) {
            return cba_window_fail(err, CBA_E_CERT_EXPIRED, "quote.pck_chain[1]", "PCK CA certificate", v->inter.not_before,
                                   v->inter.not_after, v->now);
        }
    } else {
        CBA_TRY(cba_check_issued_by(err, v->policy, &v->inter, &v->root.cert, v->now, "quote.pck_chain[1]"));
    }
    CBA_TRY(cba_check_leaf_profile(err, &v->leaf, CN_PCK_LEAF, "quote.pck_chain[0]"));
    CBA_TRY(cba_check_issued_by(err, v->policy, &v->leaf, &v->inter, v->now, "quote.pck_chain[0]"));
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
                    "no collateral given (the DCAP checks need it)");
}

static cba_err step_crl(verify_ctx *v)
{
    cba_error *err = &v->e;
    const cba_collateral *c = v->coll;
    if (c == NULL) { return dcap_missing(v, "collateral.pck_crl"); }
    CBA_TRY(cba_crl_check_time(err, &c->root_crl, v->now, "collateral.root_ca_crl"));
    CBA_TRY(cba_crl_check_time(err, &c->pck_crl, v->now, "collateral.pck_crl"));
    CBA_ENSURE(!cba_crl_lists_serial(&c->root_crl, v->inter.serial), err, CBA_E_CERT_REVOKED,
               "quote.pck_chain[1]", "PCK CA certificate is revoked by the root CA CRL");
    /* The PCK CRL must come from the leaf's own CA (Platform vs Processor), and be signed by the
     * intermediate of this quote: byte-identical to the verified CRL issuer, or verified now. */
    CBA_ENSURE(cbs_eq(c->pck_crl.issuer, v->leaf.issuer), err, CBA_E_CRL_INVALID, "collateral.pck_crl",
               "PCK CRL is issued by another CA than the PCK certificate's");
    if (!cbs_eq(v->inter.der, c->pck_crl_ca.der)) {
        CBA_ENSURE_SIG(cba_sig_ok(v->policy, v->inter.pub_xy, &c->pck_crl.tbs, 1, c->pck_crl.sig_rs), err,
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
    if (!cba_cert_valid_at(&c->tcb_chain.leaf, v->now)) {
        return cba_window_fail(err, CBA_E_CERT_EXPIRED, "collateral.tcb_info_issuer_chain", "TCB signing certificate", (&c->tcb_chain.leaf)->not_before, (&c->tcb_chain.leaf)->not_after, v->now);
    }
    CBA_TRY(cba_check_tcb_info_time(err, &c->tcb_info, v->policy, v->now));
    if (!cba_ct_eq(c->tcb_info.fmspc, v->sgx.fmspc, 6) || !cba_ct_eq(c->tcb_info.pce_id, v->sgx.pce_id, 2)) {
        bool fmspc = !cba_ct_eq(c->tcb_info.fmspc, v->sgx.fmspc, 6);
        char got[13], want[13];
        cba_hex_encode(got, fmspc ? c->tcb_info.fmspc : c->tcb_info.pce_id, fmspc ? 6 : 2);
        cba_hex_encode(want, fmspc ? v->sgx.fmspc : v->sgx.pce_id, fmspc ? 6 : 2);
        return cba_fail(err, CBA_E_TCB_INFO_MISMATCH, fmspc ? "tcb_info.fmspc" : "tcb_info.pceId",
                        "TCB info %s is %s; the PCK certificate's is %s (collateral for another platform)",
                        fmspc ? "FMSPC" : "PCE-ID", got, want);
    }
    v->r->tcb_evaluation_data_number = c->tcb_info.tcb_evaluation_data_number;
    return CBA_OK;
}

static cba_err step_qe_report_signature(verify_ctx *v)
{
    CBA_ENSURE_SIG(cba_sig_ok(v->policy, v->leaf.pub_xy, &v->quote.qe_report_raw, 1, v->quote.qe_report_sig),
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
    if (!cba_cert_valid_at(&c->qe_chain.leaf, v->now)) {
        return cba_window_fail(&v->e, CBA_E_CERT_EXPIRED, "collateral.qe_identity_issuer_chain", "TCB signing certificate", (&c->qe_chain.leaf)->not_before, (&c->qe_chain.leaf)->not_after, v->now);
    }
    CBA_TRY(cba_check_qe_identity_time(&v->e, &c->qe_identity, v->now));
    return cba_qe_identity_match(&v->e, &v->qe_level, &c->qe_identity, &v->quote.qe_report);
}

static cba_err step_quote_signature(verify_ctx *v)
{
    CBA_ENSURE_SIG(cba_p256_point_check(v->quote.attest_key), &v->e, CBA_E_QUOTE_SIGNATURE,
                   "quote.attestation_key", "attestation key is not a point on P-256");
    CBA_ENSURE_SIG(cba_sig_ok(v->policy, v->quote.attest_key, &v->quote.signed_region, 1, v->quote.quote_sig),
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
               "tcb_status", "TCB status %s is not accepted by the policy",
               cba_tcb_status_name(res.status));
    for (size_t i = 0; i < r->num_advisory_ids; i++) {
        CBA_ENSURE(advisory_allowed(v->policy, r->advisory_ids[i]), err, CBA_E_TCB_STATUS_REJECTED,
                   "tcb_status", "advisory %s is not allowed by the policy",
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
    /* With the fresh quote's own log, RTMR3 moved on after the response was made (runtime
     * events): its rtmr3 and mr_aggregated claims are a snapshot of then, and RTMR3 is proven by
     * the replay of the quote's log instead. MRTD and RTMR0-2 do not change after boot. */
    for (int i = 0; i < (in->log_from_quote ? 3 : 4); i++) {
        CBA_ENSURE(!in->has_rtmr_claim[i] || cba_ct_eq(in->rtmr_claim[i], v->quote.td.rtmr[i], 48),
                   &v->e, CBA_E_MEASUREMENT_CLAIM_MISMATCH, "tcb_info.rtmr",
                   "tcb_info.rtmr%d differs from the quote", i);
    }
    if (in->has_mr_aggregated && !in->log_from_quote) {
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
        cba_hex_encode(got, v->ids.app_id, 20);
        cba_hex_encode(want, p->app_id, 20);
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
        v->skip_reason = "no binding requested";
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

const cba_step cba_steps[] = {
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
_Static_assert(sizeof cba_steps / sizeof cba_steps[0] == CBA_CHECK_COUNT, "one step per check");
