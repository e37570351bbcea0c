/* describe.c — "describe a piece of evidence" (describe.h): what `crabbox-attest inspect` shows,
 * parsed strictly with the verifier's parsers and verified NOT at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "collateral.h" /* the verifier's (verifier/src) */
#include "crabbox/verifier.h"
#include "describe.h"
#include "dstack.h"
#include "base.h" /* cba_hex_encode */
#include "quote.h"
#include "x509.h"

static json_object *hexj(const uint8_t *b, size_t n)
{
    char *buf = malloc(2 * n + 1);
    json_object *o;
    if (buf == NULL) { return NULL; }
    cba_hex_encode(buf, b, n);
    o = json_object_new_string(buf);
    free(buf);
    return o;
}

static json_object *cbsj(cbs c)
{
    return json_object_new_string_len((const char *)c.data, (int)c.len);
}

static json_object *cert_json(const cba_cert *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "subject_cn", cbsj(c->subject_cn));
    json_object_object_add(o, "issuer_cn", cbsj(c->issuer_cn));
    json_object_object_add(o, "serial", hexj(c->serial.data, c->serial.len));
    json_object_object_add(o, "not_before", json_object_new_int64(c->not_before));
    json_object_object_add(o, "not_after", json_object_new_int64(c->not_after));
    json_object_object_add(o, "p256_key", json_object_new_boolean(c->has_p256_key));
    json_object_object_add(o, "ca", json_object_new_boolean(c->has_basic_constraints && c->is_ca));
    json_object_object_add(o, "extensions", json_object_new_int64((int64_t)c->num_extensions));
    if (c->has_sgx_ext) {
        cba_sgx_ext x;
        cba_error e;
        cba_error_clear(&e);
        if (cba_sgx_ext_parse(&e, &x, c->sgx_ext) == CBA_OK) {
            json_object *s = json_object_new_object();
            json_object_object_add(s, "fmspc", hexj(x.fmspc, 6));
            json_object_object_add(s, "pce_id", hexj(x.pce_id, 2));
            json_object_object_add(s, "ppid", hexj(x.ppid, 16));
            json_object_object_add(s, "tcb_components", hexj(x.comp_svn, 16));
            json_object_object_add(s, "pcesvn", json_object_new_int(x.pcesvn));
            json_object_object_add(s, "cpusvn", hexj(x.cpusvn, 16));
            json_object_object_add(s, "sgx_type", json_object_new_int(x.sgx_type));
            json_object_object_add(o, "sgx_extension", s);
        } else {
            json_object_object_add(o, "sgx_extension_error", json_object_new_string(e.detail));
        }
    }
    return o;
}

cba_err attest_describe_chain(json_object **out, cbs pem, char *why, size_t why_len)
{
    cba_pem_chain chain;
    cba_error e;
    cba_err rc;
    uint8_t *buf = malloc(pem.len + 1);
    json_object *arr;
    if (buf == NULL) { return CBA_E_NOMEM; }
    cba_error_clear(&e);
    rc = cba_pem_chain_decode(&e, &chain, pem, buf, pem.len + 1);
    if (rc != CBA_OK) {
        snprintf(why, why_len, "%s: %s", cba_err_message(rc), e.detail);
        free(buf);
        return rc;
    }
    arr = json_object_new_array();
    for (size_t i = 0; i < chain.num_certs; i++) {
        cba_cert c;
        rc = cba_cert_parse(&e, &c, chain.certs[i]);
        if (rc != CBA_OK) {
            snprintf(why, why_len, "certificate %zu: %s: %s", i, cba_err_message(rc), e.detail);
            json_object_put(arr);
            free(buf);
            return rc;
        }
        json_object_array_add(arr, cert_json(&c));
    }
    free(buf);
    *out = arr;
    return CBA_OK;
}

static const char *td_hex_fields[] = { "mrseam", "mrsignerseam", "mrtd", "mrconfigid", "mrowner",
                                       "mrownerconfig" };

cba_err attest_describe_quote(json_object *o, cbs in, char *why, size_t why_len)
{
    cba_quote q;
    cba_error e;
    cba_err rc;
    json_object *td, *qe, *rt, *chain = NULL;
    const uint8_t *td_fields[6];
    cba_error_clear(&e);
    rc = cba_quote_parse(&e, &q, in);
    if (rc != CBA_OK) {
        snprintf(why, why_len, "%s at %s: %s", cba_err_message(rc), e.where, e.detail);
        return rc;
    }
    td_fields[0] = q.td.mrseam;
    td_fields[1] = q.td.mrsignerseam;
    td_fields[2] = q.td.mrtd;
    td_fields[3] = q.td.mrconfigid;
    td_fields[4] = q.td.mrowner;
    td_fields[5] = q.td.mrownerconfig;
    json_object_object_add(o, "type", json_object_new_string("tdx_quote"));
    json_object_object_add(o, "version", json_object_new_int(q.version));
    json_object_object_add(o, "body_type", json_object_new_int(q.body_type));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)in.len));
    json_object_object_add(o, "trailing_zero_bytes", json_object_new_int64((int64_t)q.trailing_len));
    td = json_object_new_object();
    json_object_object_add(td, "tee_tcb_svn", hexj(q.td.tee_tcb_svn, 16));
    for (size_t i = 0; i < 6; i++) { json_object_object_add(td, td_hex_fields[i], hexj(td_fields[i], 48)); }
    {
        uint8_t a[8];
        for (int i = 0; i < 8; i++) { a[i] = (uint8_t)(q.td.td_attributes >> (8 * i)); }
        json_object_object_add(td, "td_attributes", hexj(a, 8));
        for (int i = 0; i < 8; i++) { a[i] = (uint8_t)(q.td.xfam >> (8 * i)); }
        json_object_object_add(td, "xfam", hexj(a, 8));
    }
    rt = json_object_new_array();
    for (int i = 0; i < 4; i++) { json_object_array_add(rt, hexj(q.td.rtmr[i], 48)); }
    json_object_object_add(td, "rtmr", rt);
    json_object_object_add(td, "report_data", hexj(q.td.report_data, 64));
    json_object_object_add(o, "td_report", td);
    qe = json_object_new_object();
    json_object_object_add(qe, "mrenclave", hexj(q.qe_report.mrenclave, 32));
    json_object_object_add(qe, "mrsigner", hexj(q.qe_report.mrsigner, 32));
    json_object_object_add(qe, "isvprodid", json_object_new_int(q.qe_report.isvprodid));
    json_object_object_add(qe, "isvsvn", json_object_new_int(q.qe_report.isvsvn));
    json_object_object_add(qe, "auth_data_len", json_object_new_int64((int64_t)q.qe_auth_data.len));
    json_object_object_add(o, "qe_report", qe);
    if (attest_describe_chain(&chain, q.pck_chain_pem, why, why_len) == CBA_OK) { json_object_object_add(o, "pck_chain", chain); }
    return CBA_OK;
}

cba_err attest_describe_info(json_object *o, cbs in, char *why, size_t why_len)
{
    cba_info *info = NULL;
    cba_error e;
    cba_err rc;
    json_object *ev;
    static const char *formats[] = { "", "tappd-info", "dstack-info", "dstack-getquote" };
    cba_error_clear(&e);
    rc = cba_info_parse(&e, &info, in);
    if (rc != CBA_OK) {
        snprintf(why, why_len, "%s at %s: %s", cba_err_message(rc), e.where, e.detail);
        return rc;
    }
    json_object_object_add(o, "type", json_object_new_string(formats[info->format]));
    json_object_object_add(o, "app_id", info->has_app_id ? hexj(info->app_id, 20) : NULL);
    json_object_object_add(o, "instance_id", info->has_instance_id ? hexj(info->instance_id, 20) : NULL);
    json_object_object_add(o, "compose_hash", info->has_compose_hash ? hexj(info->compose_hash, 32) : NULL);
    json_object_object_add(o, "quote_size", json_object_new_int64((int64_t)info->quote.len));
    json_object_object_add(o, "quote_from_app_cert", json_object_new_boolean(info->quote_from_cert));
    ev = json_object_new_array();
    for (size_t i = 0; i < info->num_events; i++) {
        const cba_event *x = &info->events[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "imr", json_object_new_int((int32_t)x->imr));
        json_object_object_add(j, "event_type", json_object_new_int64(x->event_type));
        json_object_object_add(j, "event", cbsj(x->name));
        json_object_object_add(j, "payload_len", json_object_new_int64((int64_t)x->payload.len));
        json_object_array_add(ev, j);
    }
    json_object_object_add(o, "events", ev);
    cba_info_free(info);
    return CBA_OK;
}

cba_err attest_describe_collateral(json_object *o, cbs in, char *why, size_t why_len)
{
    cba_collateral_raw raw;
    cba_tcb_info ti;
    cba_qe_identity qi;
    cba_error e;
    cba_err rc;
    cba_error_clear(&e);
    rc = cba_collateral_raw_parse(&e, &raw, in);
    if (rc != CBA_OK) {
        snprintf(why, why_len, "%s at %s: %s", cba_err_message(rc), e.where, e.detail);
        return rc;
    }
    json_object_object_add(o, "type", json_object_new_string("collateral"));
    /* Shown unauthenticated: inspection is for people; verification parses after the signature. */
    if (cba_tcb_info_parse(&e, &ti, cbs_make(raw.tcb_info, raw.tcb_info_len)) == CBA_OK) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "fmspc", hexj(ti.fmspc, 6));
        json_object_object_add(t, "pce_id", hexj(ti.pce_id, 2));
        json_object_object_add(t, "issue_date", json_object_new_int64(ti.issue_date));
        json_object_object_add(t, "next_update", json_object_new_int64(ti.next_update));
        json_object_object_add(t, "tcb_evaluation_data_number", json_object_new_int64(ti.tcb_evaluation_data_number));
        json_object_object_add(t, "tcb_levels", json_object_new_int64((int64_t)ti.num_levels));
        json_object_object_add(o, "tcb_info", t);
        cba_tcb_info_cleanup(&ti);
    } else {
        json_object_object_add(o, "tcb_info_error", json_object_new_string(e.detail));
    }
    cba_error_clear(&e);
    if (cba_qe_identity_parse(&e, &qi, cbs_make(raw.qe_identity, raw.qe_identity_len)) == CBA_OK) {
        json_object *q = json_object_new_object();
        json_object_object_add(q, "issue_date", json_object_new_int64(qi.issue_date));
        json_object_object_add(q, "next_update", json_object_new_int64(qi.next_update));
        json_object_object_add(q, "mrsigner", hexj(qi.mrsigner, 32));
        json_object_object_add(q, "isvprodid", json_object_new_int(qi.isvprodid));
        json_object_object_add(o, "qe_identity", q);
        cba_qe_identity_cleanup(&qi);
    } else {
        json_object_object_add(o, "qe_identity_error", json_object_new_string(e.detail));
    }
    cba_collateral_raw_cleanup(&raw);
    return CBA_OK;
}

cba_err attest_describe_der(json_object *o, cbs in, char *why, size_t why_len)
{
    cba_cert c;
    cba_crl crl;
    cba_error e;
    cba_error_clear(&e);
    if (cba_cert_parse(&e, &c, in) == CBA_OK) {
        json_object_object_add(o, "type", json_object_new_string("certificate"));
        json_object_object_add(o, "certificate", cert_json(&c));
        return CBA_OK;
    }
    cba_error_clear(&e);
    if (cba_crl_parse(&e, &crl, in) == CBA_OK) {
        json_object_object_add(o, "type", json_object_new_string("crl"));
        json_object_object_add(o, "this_update", json_object_new_int64(crl.this_update));
        json_object_object_add(o, "next_update", json_object_new_int64(crl.next_update));
        return CBA_OK;
    }
    snprintf(why, why_len, "not a certificate or CRL: %s", e.detail);
    return CBA_E_DER;
}
