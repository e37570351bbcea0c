/* verify_pipeline.c — the public entry points and the run of the check pipeline: structs that
 * grow, the report, collateral loaded or re-checked after quote_parse, the steps of verify.c in
 * order, and what a rejected report withdraws.
 *
 * Collateral is authenticated once (cba_collateral_verify) and then used read-only by any number
 * of quote verifications (cba_verify_with). There is one exit path. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_private.h"

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

/* ---- The report ----------------------------------------------------------------------------- */

void cba_report_reset(cba_report *r)
{
    cba_report_init(r);
    r->verdict = CBA_VERDICT_REJECTED;
    r->failed_check = CBA_CHECK_COUNT;
    r->error.code = CBA_OK;
}

void cba_report_set_check(cba_report *r, cba_check check, cba_check_status st, const char *detail)
{
    const char *text = detail ? detail : "";
    size_t n = strnlen(text, sizeof r->checks[check].detail - 1); /* truncated as snprintf would */
    r->checks[check].status = st;
    memmove(r->checks[check].detail, text, n); /* memmove: detail may be a report's own text */
    r->checks[check].detail[n] = '\0';
}

/* cba_report_check records one check's outcome; a failure becomes the report's failure. */
cba_err cba_report_check(cba_report *r, cba_check check, cba_err rc, const cba_error *e,
                         const char *pass_detail)
{
    if (rc == CBA_OK) {
        cba_report_set_check(r, check, CBA_CHECK_PASS, pass_detail);
        return CBA_OK;
    }
    cba_report_set_check(r, check, CBA_CHECK_FAIL, e->detail[0] ? e->detail : cba_err_message(rc));
    if (r->failed_check == CBA_CHECK_COUNT) {
        r->failed_check = check;
        r->error = *e;
        r->error.code = rc;
    }
    return rc;
}

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
        return cba_report_check(v->r, CBA_CHECK_CRL, cba_fail(&v->e, CBA_E_NOMEM, "collateral", "out of memory"),
                                &v->e, NULL);
    }
    rc = cba_collateral_verify_impl(&v->owned_coll, tmp, v->policy, v->ev->collateral_json,
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
    CBA_TRY(cba_crl_check_time(err, &c->root_crl, now, "collateral.root_ca_crl"));
    if (!cba_cert_valid_at(&c->pck_crl_ca, now)) {
        return cba_window_fail(err, CBA_E_CERT_EXPIRED, "collateral.pck_crl_issuer_chain", "PCK CRL issuer certificate", (&c->pck_crl_ca)->not_before, (&c->pck_crl_ca)->not_after, now);
    }
    return cba_crl_check_time(err, &c->pck_crl, now, "collateral.pck_crl");
}

static cba_err recheck_tcb_info(cba_error *err, const cba_collateral *c, const cba_policy *policy,
                                int64_t now)
{
    if (!cba_cert_valid_at(&c->tcb_chain.leaf, now)) {
        return cba_window_fail(err, CBA_E_CERT_EXPIRED, "collateral.tcb_info_issuer_chain", "TCB signing certificate", (&c->tcb_chain.leaf)->not_before, (&c->tcb_chain.leaf)->not_after, now);
    }
    return cba_check_tcb_info_time(err, &c->tcb_info, policy, now);
}

static cba_err recheck_qe_identity(cba_error *err, const cba_collateral *c, int64_t now)
{
    if (!cba_cert_valid_at(&c->qe_chain.leaf, now)) {
        return cba_window_fail(err, CBA_E_CERT_EXPIRED, "collateral.qe_identity_issuer_chain", "TCB signing certificate", (&c->qe_chain.leaf)->not_before, (&c->qe_chain.leaf)->not_after, now);
    }
    return cba_check_qe_identity_time(err, &c->qe_identity, now);
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
    rc = cba_anchor_load_for(&v->e, &root, v->policy, v->now, c);
    if (rc != CBA_OK) { return cba_report_check(v->r, CBA_CHECK_PCK_CHAIN, rc, &v->e, NULL); }
    rc = recheck_crl(&v->e, c, v->now);
    if (rc != CBA_OK) { return cba_report_check(v->r, CBA_CHECK_CRL, rc, &v->e, NULL); }
    rc = recheck_tcb_info(&v->e, c, v->policy, v->now);
    if (rc != CBA_OK) { return cba_report_check(v->r, CBA_CHECK_TCB_INFO, rc, &v->e, NULL); }
    rc = recheck_qe_identity(&v->e, c, v->now);
    if (rc != CBA_OK) { return cba_report_check(v->r, CBA_CHECK_QE_IDENTITY, rc, &v->e, NULL); }
    return CBA_OK;
}

static cba_err run_pipeline(verify_ctx *v)
{
    cba_report *r = v->r;
    cba_err first_deferred = CBA_OK;
    cba_error deferred;
    cba_check deferred_check = CBA_CHECK_COUNT;

    cba_error_clear(&deferred);
    for (size_t i = 0; i < CBA_CHECK_COUNT; i++) {
        const cba_step *s = &cba_steps[i];
        char detail[160];
        cba_err rc;
        if (s->dcap && v->policy->skip_dcap) {
            cba_report_set_check(r, s->check, CBA_CHECK_SKIP, "skipped by the policy (skip_dcap: no collateral checks)");
            continue;
        }
        if (s->dstack && v->info == NULL) {
            cba_report_set_check(r, s->check, CBA_CHECK_SKIP, "no guest agent response given");
            continue;
        }
        cba_error_clear(&v->e);
        v->skip_reason = NULL;
        rc = s->run(v);
        if (rc == CBA_E_COLLATERAL_MISSING) {
            /* Keep going so every other check reports; the verdict stays "not verified". */
            cba_report_set_check(r, s->check, CBA_CHECK_FAIL, v->e.detail);
            if (first_deferred == CBA_OK) {
                first_deferred = rc;
                deferred = v->e;
                deferred_check = s->check;
            }
            continue;
        }
        if (rc != CBA_OK) {
            if (r->failed_check == CBA_CHECK_COUNT) { /* else the step named another check */
                (void)cba_report_check(r, s->check, rc, &v->e, NULL);
            }
            return rc;
        }
        if (s->check == CBA_CHECK_QUOTE_PARSE && (v->load_collateral || v->recheck_collateral)) {
            rc = v->load_collateral ? load_collateral(v) : collateral_recheck(v);
            if (rc != CBA_OK) {
                cba_report_set_check(r, s->check, CBA_CHECK_PASS, s->pass_detail);
                return rc;
            }
        }
        if (v->skip_reason != NULL) {
            cba_report_set_check(r, s->check, CBA_CHECK_SKIP, v->skip_reason);
            continue;
        }
        pass_detail_for(v, s->check, detail, sizeof detail);
        cba_report_set_check(r, s->check, CBA_CHECK_PASS, detail[0] ? detail : s->pass_detail);
        if (s->check == CBA_CHECK_QUOTE_SIGNATURE) {
            publish_quote(r, &v->quote); /* authenticated from here on */
            r->pce_svn = v->sgx.pcesvn;
            r->qe_isvsvn = v->quote.qe_report.isvsvn;
        }
    }
    if (first_deferred != CBA_OK) {
        r->collateral_missing = true;
        (void)cba_report_check(r, deferred_check, first_deferred, &deferred, NULL);
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

    cba_report_reset(out);
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
    cba_report_reset(r);
    return cba_report_check(r, check, rc, e, NULL);
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
        rc = cba_collateral_verify_impl(out, r, &pol, json, json_len, now);
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
