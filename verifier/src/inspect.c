/* inspect.c — evidence read WITHOUT verifying anything, for embedders and people: evidence as JSON
 * (cba_inspect_json, what `crabbox-attest inspect` prints), what collateral is for
 * (cba_collateral_describe), the CRL and PEM sanity checks of fetched responses and the quote in
 * a dstack RA-TLS certificate. Thin wrappers over the verifier's own parsers (verifier.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "collateral.h"
#include "dstack.h"
#include "internal.h"
#include "json.h"
#include "quote.h"
#include "x509.h"

/* dstack's quote extension 1.3.6.1.4.1.62397.1.1 (OID content bytes). */
static const uint8_t k_oid_app_quote[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe7, 0x3d, 0x01, 0x01 };

/* ---- Evidence as JSON --------------------------------------------------------------------- */

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

static void sgx_ext_json(json_object *o, cbs ext)
{
    cba_sgx_ext x;
    cba_error e;
    cba_error_clear(&e);
    if (cba_sgx_ext_parse(&e, &x, ext) == CBA_OK) {
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
    if (c->has_sgx_ext) { sgx_ext_json(o, c->sgx_ext); }
    return o;
}

static cba_err chain_json(json_object **out, cbs pem, char *why, size_t why_len)
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

static void td_json(json_object *o, const cba_td_report *t)
{
    static const char *names[] = { "mrseam", "mrsignerseam", "mrtd", "mrconfigid", "mrowner", "mrownerconfig" };
    const uint8_t *fields[6] = { t->mrseam, t->mrsignerseam, t->mrtd, t->mrconfigid, t->mrowner, t->mrownerconfig };
    json_object *td = json_object_new_object(), *rt = json_object_new_array();
    uint8_t a[8];
    json_object_object_add(td, "tee_tcb_svn", hexj(t->tee_tcb_svn, 16));
    for (size_t i = 0; i < 6; i++) { json_object_object_add(td, names[i], hexj(fields[i], 48)); }
    for (int i = 0; i < 8; i++) { a[i] = (uint8_t)(t->td_attributes >> (8 * i)); }
    json_object_object_add(td, "td_attributes", hexj(a, 8));
    for (int i = 0; i < 8; i++) { a[i] = (uint8_t)(t->xfam >> (8 * i)); }
    json_object_object_add(td, "xfam", hexj(a, 8));
    for (int i = 0; i < 4; i++) { json_object_array_add(rt, hexj(t->rtmr[i], 48)); }
    json_object_object_add(td, "rtmr", rt);
    json_object_object_add(td, "report_data", hexj(t->report_data, 64));
    json_object_object_add(o, "td_report", td);
}

static cba_err quote_json(json_object *o, cbs in, char *why, size_t why_len)
{
    cba_quote q;
    cba_error e;
    cba_err rc;
    json_object *qe, *chain = NULL;
    cba_error_clear(&e);
    rc = cba_quote_parse(&e, &q, in);
    if (rc != CBA_OK) {
        snprintf(why, why_len, "%s at %s: %s", cba_err_message(rc), e.where, e.detail);
        return rc;
    }
    json_object_object_add(o, "type", json_object_new_string("tdx_quote"));
    json_object_object_add(o, "version", json_object_new_int(q.version));
    json_object_object_add(o, "body_type", json_object_new_int(q.body_type));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)in.len));
    json_object_object_add(o, "trailing_zero_bytes", json_object_new_int64((int64_t)q.trailing_len));
    td_json(o, &q.td);
    qe = json_object_new_object();
    json_object_object_add(qe, "mrenclave", hexj(q.qe_report.mrenclave, 32));
    json_object_object_add(qe, "mrsigner", hexj(q.qe_report.mrsigner, 32));
    json_object_object_add(qe, "isvprodid", json_object_new_int(q.qe_report.isvprodid));
    json_object_object_add(qe, "isvsvn", json_object_new_int(q.qe_report.isvsvn));
    json_object_object_add(qe, "auth_data_len", json_object_new_int64((int64_t)q.qe_auth_data.len));
    json_object_object_add(o, "qe_report", qe);
    if (chain_json(&chain, q.pck_chain_pem, why, why_len) == CBA_OK) { json_object_object_add(o, "pck_chain", chain); }
    return CBA_OK;
}

static cba_err info_json(json_object *o, cbs in, char *why, size_t why_len)
{
    static const char *formats[] = { "", "tappd-info", "dstack-info", "dstack-getquote" };
    cba_info *info = NULL;
    cba_error e;
    cba_err rc;
    json_object *ev;
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

static void tcb_info_json(json_object *o, const cba_collateral_raw *raw)
{
    cba_tcb_info ti;
    cba_error e;
    cba_error_clear(&e);
    if (cba_tcb_info_parse(&e, &ti, cbs_make(raw->tcb_info, raw->tcb_info_len)) == CBA_OK) {
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
}

static cba_err collateral_json(json_object *o, cbs in, char *why, size_t why_len)
{
    cba_collateral_raw raw;
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
    tcb_info_json(o, &raw);
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

static cba_err der_json(json_object *o, cbs in, char *why, size_t why_len)
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

static cba_err pem_chain_json(json_object *o, cbs in, char *why, size_t why_len)
{
    json_object *chain = NULL;
    cba_err rc = chain_json(&chain, in, why, why_len);
    if (rc == CBA_OK) {
        json_object_object_add(o, "type", json_object_new_string("certificate_chain"));
        json_object_object_add(o, "certificates", chain);
    }
    return rc;
}

cba_err cba_inspect_json(char **out, char *note, size_t note_len, cba_inspect_kind kind, const uint8_t *in,
                         size_t in_len)
{
    char scratch[1];
    char *why = note_len > 0 && note != NULL ? note : scratch;
    size_t why_len = note_len > 0 && note != NULL ? note_len : sizeof scratch;
    json_object *o;
    cba_err rc;
    cbs c = cbs_make(in, in_len);
    if (out == NULL || (in == NULL && in_len != 0)) { return CBA_E_ARGUMENT; }
    *out = NULL;
    o = json_object_new_object();
    if (o == NULL) { return CBA_E_NOMEM; }
    switch (kind) {
    case CBA_INSPECT_QUOTE: rc = quote_json(o, c, why, why_len); break;
    case CBA_INSPECT_INFO: rc = info_json(o, c, why, why_len); break;
    case CBA_INSPECT_COLLATERAL: rc = collateral_json(o, c, why, why_len); break;
    case CBA_INSPECT_PEM_CHAIN: rc = pem_chain_json(o, c, why, why_len); break;
    case CBA_INSPECT_DER: rc = der_json(o, c, why, why_len); break;
    default: rc = CBA_E_ARGUMENT; break;
    }
    if (rc == CBA_OK) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *out = s != NULL ? strdup(s) : NULL;
        if (*out == NULL) { rc = CBA_E_NOMEM; }
    }
    json_object_put(o);
    return rc;
}

/* ---- What collateral is for ------------------------------------------------------------------ */

void cba_collateral_description_init(cba_collateral_description *description)
{
    memset(description, 0, sizeof *description);
    description->struct_size = (uint32_t)sizeof *description;
}

static cba_err collateral_describe_impl(cba_error *err, cba_collateral_description *d, cbs json)
{
    cba_collateral_raw raw;
    json_object *tcb = NULL;
    cba_crl crl;
    cba_err rc = cba_collateral_raw_parse(err, &raw, json);
    if (rc != CBA_OK) { return rc; }
    rc = cba_json_parse(err, &tcb, cbs_make(raw.tcb_info, raw.tcb_info_len), CBA_JSON_MAX_DEPTH,
                        CBA_E_TCB_INFO_FORMAT, "tcb_info");
    if (rc == CBA_OK && (!json_object_is_type(tcb, json_type_object) || !cba_json_get_hex(tcb, "fmspc", d->fmspc, 6) ||
                         !cba_json_get_hex(tcb, "pceId", d->pce_id, 2))) {
        rc = cba_fail(err, CBA_E_TCB_INFO_FORMAT, "tcb_info", "TCB info fields");
    }
    if (rc == CBA_OK) {
        rc = cba_crl_parse(err, &crl, cbs_make(raw.pck_crl, raw.pck_crl_len));
        if (rc != CBA_OK) { snprintf(err->where, sizeof err->where, "pck_crl"); }
    }
    if (rc == CBA_OK && crl.issuer.len > sizeof d->pck_crl_issuer) {
        rc = cba_fail(err, CBA_E_CRL_INVALID, "pck_crl", "the PCK CRL's issuer Name is longer than %u bytes",
                      (unsigned)sizeof d->pck_crl_issuer);
    }
    if (rc == CBA_OK) {
        memcpy(d->pck_crl_issuer, crl.issuer.data, crl.issuer.len);
        d->pck_crl_issuer_len = crl.issuer.len;
    }
    json_object_put(tcb);
    cba_collateral_raw_cleanup(&raw);
    return rc;
}

cba_err cba_collateral_describe(cba_collateral_description *out, cba_error *err, const uint8_t *json, size_t json_len)
{
    cba_collateral_description d;
    cba_error e;
    cba_err rc;
    uint32_t size;
    cba_error_clear(&e);
    if (out == NULL || (json == NULL && json_len != 0)) {
        rc = cba_fail(&e, CBA_E_ARGUMENT, "collateral", "description or JSON is NULL");
        goto done;
    }
    size = out->struct_size;
    if (size < sizeof d) {
        rc = cba_fail(&e, CBA_E_STRUCT_SIZE, "collateral",
                      "description.struct_size is %u: initialise it with cba_collateral_description_init",
                      (unsigned)size);
        goto done;
    }
    cba_collateral_description_init(&d);
    rc = collateral_describe_impl(&e, &d, cbs_make(json, json_len));
    if (rc != CBA_OK) { cba_collateral_description_init(&d); }
    memcpy(out, &d, sizeof d);
    out->struct_size = size;
    if (size > sizeof d) { memset((uint8_t *)out + sizeof d, 0, size - sizeof d); }
done:
    if (err != NULL) { *err = e; }
    return rc;
}

/* ---- Certificates, CRLs, RA-TLS --------------------------------------------------------------- */

cba_err cba_crl_check(cba_error *err, const uint8_t *der, size_t der_len)
{
    cba_crl crl;
    cba_error e;
    cba_err rc;
    cba_error_clear(&e);
    if (der == NULL && der_len != 0) {
        rc = cba_fail(&e, CBA_E_ARGUMENT, "crl", "der is NULL");
    } else {
        rc = cba_crl_parse(&e, &crl, cbs_make(der, der_len));
    }
    if (err != NULL) { *err = e; }
    return rc;
}

cba_err cba_pem_first_cert(uint8_t *out, size_t out_cap, size_t *out_len, size_t *num_certs, cba_error *err,
                           const uint8_t *pem, size_t pem_len)
{
    cba_pem_chain chain;
    cba_error e;
    cba_err rc;
    uint8_t *buf = NULL;
    cba_error_clear(&e);
    if (out == NULL || out_len == NULL || num_certs == NULL || (pem == NULL && pem_len != 0)) {
        rc = cba_fail(&e, CBA_E_ARGUMENT, "pem", "an output or the input is NULL");
        goto done;
    }
    buf = malloc(pem_len + 1);
    if (buf == NULL) {
        rc = cba_fail(&e, CBA_E_NOMEM, "pem", "out of memory");
        goto done;
    }
    rc = cba_pem_chain_decode(&e, &chain, cbs_make(pem, pem_len), buf, pem_len + 1);
    if (rc == CBA_OK && chain.num_certs == 0) { rc = cba_fail(&e, CBA_E_PEM, "pem", "no certificate"); }
    if (rc == CBA_OK && chain.certs[0].len > out_cap) {
        rc = cba_fail(&e, CBA_E_ARGUMENT, "pem", "the certificate is %zu bytes, the buffer %zu", chain.certs[0].len,
                      out_cap);
    }
    if (rc == CBA_OK) {
        memcpy(out, chain.certs[0].data, chain.certs[0].len);
        *out_len = chain.certs[0].len;
        *num_certs = chain.num_certs;
    }
done:
    free(buf);
    if (err != NULL) { *err = e; }
    return rc;
}

static cba_err ratls_impl(cba_error *e, cbs *quote, uint8_t report_data[64], cbs der)
{
    cba_cert cert;
    cbs ext;
    cba_err rc = cba_cert_parse(e, &cert, der);
    if (rc != CBA_OK) {
        snprintf(e->where, sizeof e->where, "ratls.cert");
        return rc;
    }
    CBA_ENSURE(cba_cert_find_extension(&cert, k_oid_app_quote, sizeof k_oid_app_quote, &ext), e, CBA_E_CERT_INVALID,
               "ratls.extension", "the certificate has no dstack quote extension (1.3.6.1.4.1.62397.1.1)");
    CBA_ENSURE(cbs_get_asn1(&ext, quote, 0x04) && ext.len == 0 && quote->len > 0, e, CBA_E_CERT_INVALID, "ratls.quote",
               "the certificate's quote extension is not one non-empty OCTET STRING");
    CBA_ENSURE(cba_ratls_report_data(report_data, cert.spki), e, CBA_E_NOMEM, "ratls.cert", "out of memory");
    return CBA_OK;
}

cba_err cba_ratls_cert_quote(const uint8_t **quote, size_t *quote_len, uint8_t report_data[64], cba_error *err,
                             const uint8_t *der, size_t der_len)
{
    cba_error e;
    cba_err rc;
    cbs q = { NULL, 0 };
    uint8_t rd[64];
    cba_error_clear(&e);
    if (quote == NULL || quote_len == NULL || report_data == NULL || (der == NULL && der_len != 0)) {
        rc = cba_fail(&e, CBA_E_ARGUMENT, "ratls", "an output or the input is NULL");
    } else {
        rc = ratls_impl(&e, &q, rd, cbs_make(der, der_len));
    }
    if (rc == CBA_OK) {
        *quote = q.data;
        *quote_len = q.len;
        memcpy(report_data, rd, sizeof rd);
    }
    if (err != NULL) { *err = e; }
    return rc;
}
