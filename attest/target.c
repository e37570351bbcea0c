/* target.c — the quote's platform (what collateral to fetch) and the check that collateral is for
 * it, plus the CRL and certificate-chain sanity checks of fetched responses and the test trust
 * anchor's PEM decoding.
 *
 * This is the one attest module that uses the verifier's parsers (quote, PCK certificate, SGX
 * extension, CRL, PEM chain, raw collateral) rather than its public API alone: the messages name
 * the exact parse failure, and the PCK CRL issuer must be compared with the leaf's issuer Name,
 * which cba_describe does not give. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base.h" /* cba_hex_encode */
#include "cbs.h"
#include "collateral.h" /* the verifier's (verifier/src): cba_collateral_raw_parse */
#include "dstack.h"
#include "fetch_internal.h"
#include "json.h"
#include "quote.h"
#include "x509.h"

int target_from_evidence(const cba_fetch_opts *o, const cba_evidence *ev, fetch_target *t, cba_fetch_result *res)
{
    cba_info *info = NULL;
    cba_error e;
    cba_quote q;
    cba_pem_chain chain;
    cba_cert leaf;
    cba_sgx_ext sgx;
    uint8_t *der = NULL;
    cbs qbytes;
    int rc = 0;

    cba_error_clear(&e);
    memset(t, 0, sizeof *t);
    if (ev->quote != NULL) {
        qbytes = cbs_make(ev->quote, ev->quote_len);
    } else if (ev->info_json != NULL) {
        if (cba_info_parse(&e, &info, cbs_make(ev->info_json, ev->info_json_len)) != CBA_OK) {
            return attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "guest agent response: %s (%s): %s", cba_err_message(e.code), e.where,
                        e.detail);
        }
        qbytes = info->quote;
    } else {
        return attest_fail(o, res, CBA_FETCH_BAD_ARGUMENT, "no quote given");
    }
    if (cba_quote_parse(&e, &q, qbytes) != CBA_OK) {
        rc = attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "quote: %s (%s): %s", cba_err_message(e.code), e.where, e.detail);
        goto out;
    }
    der = malloc(q.pck_chain_pem.len + 1);
    if (der == NULL) {
        rc = attest_fail(o, res, CBA_FETCH_NOMEM, "out of memory");
        goto out;
    }
    if (cba_pem_chain_decode(&e, &chain, q.pck_chain_pem, der, q.pck_chain_pem.len + 1) != CBA_OK ||
        cba_cert_parse(&e, &leaf, chain.certs[0]) != CBA_OK) {
        rc = attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: %s (%s): %s", cba_err_message(e.code), e.where,
                  e.detail);
        goto out;
    }
    /* dcap-spec §2.3: the CRL follows the leaf's issuer, by exact CN. */
    if (cbs_eq_str(leaf.issuer_cn, "Intel SGX PCK Platform CA")) {
        t->processor_ca = false;
    } else if (cbs_eq_str(leaf.issuer_cn, "Intel SGX PCK Processor CA")) {
        t->processor_ca = true;
    } else {
        rc = attest_fail(o, res, CBA_FETCH_BAD_QUOTE,
                  "quote PCK certificate: issuer is neither Intel SGX PCK Platform CA nor Processor CA");
        goto out;
    }
    if (!leaf.has_sgx_ext) {
        rc = attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate has no Intel SGX extension");
        goto out;
    }
    if (cba_sgx_ext_parse(&e, &sgx, leaf.sgx_ext) != CBA_OK) {
        rc = attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: %s (%s): %s", cba_err_message(e.code), e.where,
                  e.detail);
        goto out;
    }
    if (leaf.issuer.len > sizeof t->issuer) {
        rc = attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: issuer name is too long");
        goto out;
    }
    memcpy(t->fmspc, sgx.fmspc, 6);
    memcpy(t->pce_id, sgx.pce_id, 2);
    memcpy(t->issuer, leaf.issuer.data, leaf.issuer.len);
    t->issuer_len = leaf.issuer.len;
    cba_hex_encode(t->fmspc_hex, t->fmspc, 6);
out:
    free(der);
    cba_info_free(info);
    return rc;
}

/* ---- Verification of assembled collateral -------------------------------------------------- */

bool check_collateral(const cba_fetch_opts *o, const fetch_target *t, const uint8_t *json, size_t len,
                             int64_t now, int64_t *out_expires, char *why, size_t why_len)
{
    cba_policy pol;
    cba_report *rep = malloc(sizeof *rep);
    cba_collateral *c = NULL;
    cba_collateral_raw raw;
    json_object *tcb = NULL;
    cba_error e;
    cba_crl crl;
    uint8_t fmspc[6], pce_id[2];
    bool ok = false;

    memset(&raw, 0, sizeof raw);
    if (rep == NULL) {
        snprintf(why, why_len, "out of memory");
        return false;
    }
    cba_policy_init(&pol);
    cba_report_init(rep);
    pol.trust_root_der = o->trust_root_der;
    pol.trust_root_der_len = o->trust_root_der_len;
    if (cba_collateral_verify(&c, rep, &pol, json, len, now) != CBA_OK) {
        snprintf(why, why_len, "%s check failed: %s: %s", cba_check_name(rep->failed_check),
                 cba_err_message(rep->error.code), rep->error.detail);
        goto out;
    }
    cba_error_clear(&e);
    if (cba_collateral_raw_parse(&e, &raw, cbs_make(json, len)) != CBA_OK ||
        cba_json_parse(&e, &tcb, cbs_make(raw.tcb_info, raw.tcb_info_len), CBA_JSON_MAX_DEPTH,
                       CBA_E_TCB_INFO_FORMAT, "tcb_info") != CBA_OK ||
        !json_object_is_type(tcb, json_type_object) || !cba_json_get_hex(tcb, "fmspc", fmspc, 6) ||
        !cba_json_get_hex(tcb, "pceId", pce_id, 2)) {
        snprintf(why, why_len, "malformed collateral: %s", e.code != CBA_OK ? e.detail : "TCB info fields");
        goto out;
    }
    if (memcmp(fmspc, t->fmspc, 6) != 0 || memcmp(pce_id, t->pce_id, 2) != 0) {
        char got[13];
        cba_hex_encode(got, fmspc, 6);
        snprintf(why, why_len, "TCB info is for FMSPC %s, the quote's platform is FMSPC %s", got, t->fmspc_hex);
        goto out;
    }
    if (cba_crl_parse(&e, &crl, cbs_make(raw.pck_crl, raw.pck_crl_len)) != CBA_OK ||
        !cbs_eq_mem(crl.issuer, t->issuer, t->issuer_len)) {
        snprintf(why, why_len, "the PCK CRL is not issued by the quote's PCK %s CA",
                 t->processor_ca ? "Processor" : "Platform");
        goto out;
    }
    *out_expires = rep->collateral_expires;
    ok = true;
out:
    json_object_put(tcb);
    cba_collateral_raw_cleanup(&raw);
    cba_collateral_free(c);
    free(rep);
    return ok;
}

/* ---- Fetched responses ------------------------------------------------------------------------ */

bool attest_crl_check(const uint8_t *der, size_t der_len, char *detail, size_t detail_len)
{
    cba_crl crl;
    cba_error e;
    cba_error_clear(&e);
    if (cba_crl_parse(&e, &crl, cbs_make(der, der_len)) != CBA_OK) {
        snprintf(detail, detail_len, "%s", e.detail);
        return false;
    }
    return true;
}

bool attest_pem_chain_check(const uint8_t *pem, size_t pem_len, char *detail, size_t detail_len)
{
    cba_pem_chain chain;
    cba_error e;
    uint8_t *der = malloc(pem_len + 1);
    bool ok;
    cba_error_clear(&e);
    ok = der != NULL && cba_pem_chain_decode(&e, &chain, cbs_make(pem, pem_len), der, pem_len + 1) == CBA_OK;
    if (!ok) { snprintf(detail, detail_len, "%s", e.detail); }
    free(der);
    return ok;
}

bool cba_fetch_trust_root_der(cba_buf *cert)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    cba_pem_chain chain;
    cba_error err;
    uint8_t *der;
    if (cert->len < sizeof begin || memcmp(cert->data, begin, sizeof begin - 1) != 0) {
        return true; /* DER; the verifier parses it */
    }
    der = malloc(cert->len);
    cba_error_clear(&err);
    if (der == NULL || cba_pem_chain_decode(&err, &chain, cbs_make(cert->data, cert->len), der, cert->len) != CBA_OK ||
        chain.num_certs != 1) {
        free(der);
        return false;
    }
    memmove(der, chain.certs[0].data, chain.certs[0].len);
    cert->len = chain.certs[0].len;
    free(cert->data);
    cert->data = der;
    return true;
}
