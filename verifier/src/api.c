/* api.c — what embedders use around verification: describing a quote before verifying it, the
 * report as JSON (the object `crabbox-attest verify --json` prints), freeing, thread cleanup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto.h"
#include "dstack.h"
#include "internal.h"
#include "quote.h"
#include "x509.h"

#define CN_PLATFORM_CA "Intel SGX PCK Platform CA"
#define CN_PROCESSOR_CA "Intel SGX PCK Processor CA"

static const char k_test_root_warning[] =
    "WARNING: a test trust root (policy.trust_root_der) was used: this verdict is NOT anchored in "
    "Intel's SGX Root CA";

void cba_description_init(cba_description *description)
{
    memset(description, 0, sizeof *description);
    description->struct_size = (uint32_t)sizeof *description;
}

void cba_free(void *p)
{
    free(p);
}

void cba_thread_cleanup(void)
{
    cba_crypto_release_tables();
}

/* describe_pck reads the PCK leaf (the first certificate of the quote's chain): its issuer names
 * the CA kind, its SGX extension the FMSPC and PCE-ID. Nothing is verified. */
static cba_err describe_pck(cba_error *err, cba_description *d, const cba_quote *q)
{
    const char *w = "quote.pck_chain[0]";
    cba_pem_chain chain;
    cba_cert leaf;
    cba_sgx_ext sgx;
    uint8_t *der = malloc(q->pck_chain_pem.len + 1);
    cba_err rc;

    CBA_ENSURE(der != NULL, err, CBA_E_NOMEM, w, "out of memory");
    rc = cba_pem_chain_decode(err, &chain, q->pck_chain_pem, der, q->pck_chain_pem.len + 1);
    if (rc == CBA_OK && chain.num_certs == 0) {
        rc = cba_fail(err, CBA_E_PEM, "quote.pck_chain", "the quote's PCK chain has no certificate");
    }
    if (rc == CBA_OK) { rc = cba_cert_parse(err, &leaf, chain.certs[0]); }
    if (rc == CBA_OK) {
        /* dcap-spec §2.3: the CA kind (and so the PCK CRL) follows the leaf's issuer, by exact CN. */
        if (cbs_eq_str(leaf.issuer_cn, CN_PLATFORM_CA)) {
            d->pck_ca = CBA_PCK_CA_PLATFORM;
        } else if (cbs_eq_str(leaf.issuer_cn, CN_PROCESSOR_CA)) {
            d->pck_ca = CBA_PCK_CA_PROCESSOR;
        } else {
            rc = cba_fail(err, CBA_E_CERT_INVALID, w,
                          "issuer is neither Intel SGX PCK Platform CA nor Intel SGX PCK Processor CA");
        }
    }
    if (rc == CBA_OK && leaf.issuer.len > sizeof d->pck_issuer) {
        rc = cba_fail(err, CBA_E_CERT_INVALID, w, "the PCK certificate's issuer Name is longer than %u bytes",
                      (unsigned)sizeof d->pck_issuer);
    }
    if (rc == CBA_OK) {
        memcpy(d->pck_issuer, leaf.issuer.data, leaf.issuer.len);
        d->pck_issuer_len = leaf.issuer.len;
    }
    if (rc == CBA_OK && !leaf.has_sgx_ext) {
        rc = cba_fail(err, CBA_E_PCK_EXTENSION, w, "PCK certificate has no Intel SGX extension");
    }
    if (rc == CBA_OK) { rc = cba_sgx_ext_parse(err, &sgx, leaf.sgx_ext); }
    if (rc == CBA_OK) {
        memcpy(d->fmspc, sgx.fmspc, sizeof d->fmspc);
        memcpy(d->pce_id, sgx.pce_id, sizeof d->pce_id);
    }
    free(der);
    return rc;
}

static cba_err describe_impl(cba_error *err, cba_description *d, const cba_evidence *ev)
{
    cba_info *info = NULL;
    cba_quote q;
    cbs bytes;
    cba_err rc = CBA_OK;

    if (ev->quote != NULL) {
        bytes = cbs_make(ev->quote, ev->quote_len);
    } else if (ev->info_json != NULL) {
        rc = cba_info_parse(err, &info, cbs_make(ev->info_json, ev->info_json_len));
        if (rc == CBA_OK && info->quote.len == 0) {
            rc = cba_fail(err, CBA_E_QUOTE_MISSING, "quote", "the guest agent response carries no quote");
        }
        if (rc == CBA_OK) { bytes = info->quote; }
    } else {
        rc = cba_fail(err, CBA_E_QUOTE_MISSING, "quote", "no quote and no guest agent response given");
    }
    if (rc == CBA_OK) { rc = cba_quote_parse(err, &q, bytes); }
    if (rc == CBA_OK) {
        const cba_td_report *td = &q.td;
        d->quote_version = q.version;
        d->body_type = q.body_type;
        memcpy(d->tee_tcb_svn, td->tee_tcb_svn, sizeof d->tee_tcb_svn);
        memcpy(d->mrseam, td->mrseam, sizeof d->mrseam);
        memcpy(d->mrsignerseam, td->mrsignerseam, sizeof d->mrsignerseam);
        d->td_attributes = td->td_attributes;
        d->xfam = td->xfam;
        memcpy(d->mrtd, td->mrtd, sizeof d->mrtd);
        memcpy(d->mrconfigid, td->mrconfigid, sizeof d->mrconfigid);
        memcpy(d->mrowner, td->mrowner, sizeof d->mrowner);
        memcpy(d->mrownerconfig, td->mrownerconfig, sizeof d->mrownerconfig);
        memcpy(d->rtmr, td->rtmr, sizeof d->rtmr);
        memcpy(d->report_data, td->report_data, sizeof d->report_data);
        rc = describe_pck(err, d, &q);
    }
    cba_info_free(info);
    return rc;
}

cba_err cba_describe(cba_description *out, cba_error *err, const cba_evidence *evidence)
{
    cba_description d;
    cba_evidence ev;
    cba_error e;
    cba_err rc;
    uint32_t size;

    cba_error_clear(&e);
    if (out == NULL) {
        rc = cba_fail(&e, CBA_E_ARGUMENT, "description", "description is NULL");
        goto done;
    }
    size = out->struct_size;
    if (size < CBA_DESCRIPTION_SIZE_MIN) {
        rc = cba_fail(&e, CBA_E_STRUCT_SIZE, "description",
                      "description.struct_size is %u: initialise it with cba_description_init", (unsigned)size);
        goto done;
    }
    cba_description_init(&d);
    cba_evidence_init(&ev);
    rc = cba_import_struct(&e, &ev, sizeof ev, evidence, CBA_EVIDENCE_SIZE_MIN, "evidence");
    if (rc == CBA_OK) { rc = describe_impl(&e, &d, &ev); }
    if (rc != CBA_OK) { cba_description_init(&d); }
    /* The caller's struct: its own size, the members it does not know of this library unset. */
    memcpy(out, &d, size < sizeof d ? size : sizeof d);
    out->struct_size = size;
    if (size > sizeof d) { memset((uint8_t *)out + sizeof d, 0, size - sizeof d); }
done:
    if (err != NULL) { *err = e; }
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_object *hex_json(const uint8_t *b, size_t n)
{
    char buf[257];
    if (n > 128) { return NULL; }
    cba_hex_encode(buf, b, n);
    return json_object_new_string(buf);
}

/* report_object builds the object member by member, in the order crabbox-attest has always
 * printed (tests/cli compare it byte for byte). */
static json_object *report_object(const cba_report *r, const cba_policy *policy, int64_t now)
{
    json_object *o = json_object_new_object(), *checks = json_object_new_array();
    bool verified = r->verdict == CBA_VERDICT_VERIFIED;
    char reason[256];

    if (o == NULL || checks == NULL) {
        json_object_put(o);
        json_object_put(checks);
        return NULL;
    }
    if (verified) {
        snprintf(reason, sizeof reason, "all checks passed");
    } else {
        snprintf(reason, sizeof reason, "%s: %s", cba_err_message(r->error.code), r->error.detail);
    }
    json_object_object_add(o, "verdict", json_object_new_string(verified ? "verified" : "rejected"));
    json_object_object_add(o, "failed_check",
                           verified ? NULL : json_object_new_string(cba_check_name(r->failed_check)));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "error", verified ? NULL : json_object_new_string(cba_err_name(r->error.code)));
    json_object_object_add(o, "where", verified ? NULL : json_object_new_string(r->error.where));
    for (int i = 0; i < CBA_CHECK_COUNT; i++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "name", json_object_new_string(cba_check_name((cba_check)i)));
        json_object_object_add(c, "status", json_object_new_string(cba_check_status_name(r->checks[i].status)));
        json_object_object_add(c, "detail", json_object_new_string(r->checks[i].detail));
        json_object_array_add(checks, c);
    }
    json_object_object_add(o, "checks", checks);
    json_object_object_add(o, "tcb_status",
                           r->has_tcb ? json_object_new_string(cba_tcb_status_name(r->tcb_status)) : NULL);
    if (r->has_tcb) {
        json_object *adv = json_object_new_array();
        for (size_t i = 0; i < r->num_advisory_ids && i < CBA_MAX_ADVISORIES; i++) {
            json_object_array_add(adv, json_object_new_string(r->advisory_ids[i]));
        }
        json_object_object_add(o, "advisory_ids", adv);
        json_object_object_add(o, "tcb_evaluation_data_number",
                               json_object_new_int64(r->tcb_evaluation_data_number));
    } else {
        json_object_object_add(o, "advisory_ids", NULL);
    }
    json_object_object_add(o, "fmspc", r->has_pck ? hex_json(r->fmspc, 6) : NULL);
    json_object_object_add(o, "quote_version", r->has_quote ? json_object_new_int(r->quote_version) : NULL);
    json_object_object_add(o, "mrtd", r->has_quote ? hex_json(r->mrtd, 48) : NULL);
    if (r->has_quote) {
        json_object *rt = json_object_new_array();
        for (int i = 0; i < 4; i++) { json_object_array_add(rt, hex_json(r->rtmr[i], 48)); }
        json_object_object_add(o, "rtmr", rt);
        json_object_object_add(o, "mrconfigid", hex_json(r->mrconfigid, 48));
        json_object_object_add(o, "tee_tcb_svn", hex_json(r->tee_tcb_svn, 16));
    } else {
        json_object_object_add(o, "rtmr", NULL);
    }
    json_object_object_add(o, "report_data", r->has_quote ? hex_json(r->report_data, 64) : NULL);
    json_object_object_add(o, "app_id", r->has_app_id ? hex_json(r->app_id, 20) : NULL);
    json_object_object_add(o, "compose_hash", r->has_compose_hash ? hex_json(r->compose_hash, 32) : NULL);
    json_object_object_add(o, "os_image_hash", r->has_os_image_hash ? hex_json(r->os_image_hash, 32) : NULL);
    json_object_object_add(o, "instance_id", r->has_instance_id ? hex_json(r->instance_id, 20) : NULL);
    json_object_object_add(o, "pre_launch_script_sha256",
                           r->has_pre_launch_script ? hex_json(r->pre_launch_script_sha256, 32) : NULL);
    json_object_object_add(o, "at", json_object_new_int64(now));
    json_object_object_add(o, "dcap", json_object_new_string(policy->skip_dcap ? "skipped" : "checked"));
    if (r->collateral_expires != 0) {
        json_object_object_add(o, "collateral_expires", json_object_new_int64(r->collateral_expires));
    }
    if (r->test_root) { json_object_object_add(o, "warning", json_object_new_string(k_test_root_warning)); }
    return o;
}

char *cba_report_json(const cba_report *report, const cba_policy *policy, int64_t now)
{
    json_object *o;
    const char *text;
    char *out = NULL;

    if (report == NULL || policy == NULL || report->struct_size < CBA_REPORT_SIZE_MIN ||
        policy->struct_size < CBA_POLICY_SIZE_MIN) {
        return NULL;
    }
    o = report_object(report, policy, now);
    if (o == NULL) { return NULL; }
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text != NULL) { out = strdup(text); }
    json_object_put(o);
    return out;
}
