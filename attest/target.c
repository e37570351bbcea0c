/* target.c — the quote's platform (what collateral to fetch) and the check that collateral is for
 * it, plus the CRL and certificate-chain sanity checks of fetched responses and the test trust
 * anchor's PEM decoding. On the verifier's public API only: cba_describe (FMSPC, PCE-ID, CA kind
 * and the PCK leaf's issuer Name), cba_collateral_describe, cba_crl_check, cba_pem_first_cert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h" /* cba_hex_encode */
#include "crabbox/verifier.h"
#include "fetch_internal.h"

/* info_parses says whether the guest agent response parses on its own (cba_inspect_json). */
static bool info_parses(const cba_evidence *ev)
{
    char *text = NULL;
    cba_err rc = cba_inspect_json(&text, NULL, 0, CBA_INSPECT_INFO, ev->info_json, ev->info_json_len);
    cba_free(text);
    return rc == CBA_OK;
}

/* failed_part names what cba_describe failed on: the guest agent response (only without a quote,
 * when it does not parse on its own: its app_cert errors share the PCK leaf's "pem"/"cert.*"
 * wheres), the quote, or the quote's PCK leaf. */
static const char *failed_part(const cba_evidence *ev, const cba_error *e)
{
    if (ev->quote == NULL && !info_parses(ev)) { return "guest agent response"; }
    if (strncmp(e->where, "quote.pck_chain", 15) == 0 || strcmp(e->where, "pem") == 0 ||
        strncmp(e->where, "cert", 4) == 0 || strncmp(e->where, "pck.", 4) == 0) {
        return "quote PCK certificate";
    }
    return "quote";
}

/* own_message is the fetch's own line for a PCK leaf cba_describe refuses by design (not a
 * parse error), or NULL. */
static const char *own_message(const cba_error *e)
{
    if (strcmp(e->where, "quote.pck_chain[0]") != 0) { return NULL; }
    if (e->code == CBA_E_CERT_INVALID && strncmp(e->detail, "issuer is neither", 17) == 0) {
        return "quote PCK certificate: issuer is neither Intel SGX PCK Platform CA nor Processor CA";
    }
    if (e->code == CBA_E_CERT_INVALID && strncmp(e->detail, "the PCK certificate's issuer Name", 33) == 0) {
        return "quote PCK certificate: issuer name is too long";
    }
    if (e->code == CBA_E_PCK_EXTENSION && strcmp(e->detail, "PCK certificate has no Intel SGX extension") == 0) {
        return "quote PCK certificate has no Intel SGX extension";
    }
    return NULL;
}

int target_from_evidence(const cba_fetch_opts *o, const cba_evidence *ev, fetch_target *t, cba_fetch_result *res)
{
    cba_description d;
    cba_error e;

    memset(t, 0, sizeof *t);
    if (ev->quote == NULL && ev->info_json == NULL) { return attest_fail(o, res, CBA_FETCH_BAD_ARGUMENT, "no quote given"); }
    cba_description_init(&d);
    if (cba_describe(&d, &e, ev) != CBA_OK) {
        const char *part = failed_part(ev, &e), *own = own_message(&e);
        if (e.code == CBA_E_QUOTE_MISSING && ev->quote == NULL && strcmp(part, "quote") == 0) {
            /* A response without a quote: name what an empty quote fails on, as always. */
            cba_evidence empty = *ev;
            empty.quote = (const uint8_t *)"";
            empty.quote_len = 0;
            (void)!cba_describe(&d, &e, &empty);
        }
        if (own != NULL) { return attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "%s", own); }
        return attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "%s: %s (%s): %s", part, cba_err_message(e.code), e.where,
                           e.detail);
    }
    /* dcap-spec §2.3: the CRL follows the leaf's issuer (cba_describe names the CA kind by exact CN). */
    if (d.pck_issuer_len == 0 || d.pck_issuer_len > sizeof t->issuer) {
        return attest_fail(o, res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: issuer name is too long");
    }
    t->processor_ca = d.pck_ca == CBA_PCK_CA_PROCESSOR;
    memcpy(t->fmspc, d.fmspc, 6);
    memcpy(t->pce_id, d.pce_id, 2);
    memcpy(t->issuer, d.pck_issuer, d.pck_issuer_len);
    t->issuer_len = d.pck_issuer_len;
    cba_hex_encode(t->fmspc_hex, t->fmspc, 6);
    return 0;
}

/* ---- Verification of assembled collateral -------------------------------------------------- */

bool check_collateral(const cba_fetch_opts *o, const fetch_target *t, const uint8_t *json, size_t len,
                             int64_t now, int64_t *out_expires, char *why, size_t why_len)
{
    cba_policy pol;
    cba_report *rep = malloc(sizeof *rep);
    cba_collateral *c = NULL;
    cba_collateral_description *cd = malloc(sizeof *cd);
    cba_error e;
    bool ok = false;

    if (rep == NULL || cd == NULL) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    cba_policy_init(&pol);
    cba_report_init(rep);
    cba_collateral_description_init(cd);
    pol.trust_root_der = o->trust_root_der;
    pol.trust_root_der_len = o->trust_root_der_len;
    if (cba_collateral_verify(&c, rep, &pol, json, len, now) != CBA_OK) {
        snprintf(why, why_len, "%s check failed: %s: %s", cba_check_name(rep->failed_check),
                 cba_err_message(rep->error.code), rep->error.detail);
        goto out;
    }
    if (cba_collateral_describe(cd, &e, json, len) != CBA_OK && strcmp(e.where, "pck_crl") != 0) {
        snprintf(why, why_len, "malformed collateral: %s", e.detail);
        goto out;
    }
    if (e.code == CBA_OK && (memcmp(cd->fmspc, t->fmspc, 6) != 0 || memcmp(cd->pce_id, t->pce_id, 2) != 0)) {
        char got[13];
        cba_hex_encode(got, cd->fmspc, 6);
        snprintf(why, why_len, "TCB info is for FMSPC %s, the quote's platform is FMSPC %s", got, t->fmspc_hex);
        goto out;
    }
    if (e.code != CBA_OK || cd->pck_crl_issuer_len != t->issuer_len ||
        memcmp(cd->pck_crl_issuer, t->issuer, t->issuer_len) != 0) {
        snprintf(why, why_len, "the PCK CRL is not issued by the quote's PCK %s CA",
                 t->processor_ca ? "Processor" : "Platform");
        goto out;
    }
    *out_expires = rep->collateral_expires;
    ok = true;
out:
    cba_collateral_free(c);
    free(cd);
    free(rep);
    return ok;
}

/* ---- Fetched responses ------------------------------------------------------------------------ */

bool attest_crl_check(const uint8_t *der, size_t der_len, char *detail, size_t detail_len)
{
    cba_error e;
    if (cba_crl_check(&e, der, der_len) != CBA_OK) {
        snprintf(detail, detail_len, "%s", e.detail);
        return false;
    }
    return true;
}

bool attest_pem_chain_check(const uint8_t *pem, size_t pem_len, char *detail, size_t detail_len)
{
    cba_error e;
    uint8_t *der = malloc(pem_len + 1);
    size_t der_len = 0, num_certs = 0;
    bool ok;
    cba_error_clear(&e);
    ok = der != NULL && cba_pem_first_cert(der, pem_len + 1, &der_len, &num_certs, &e, pem, pem_len) == CBA_OK;
    if (!ok) { snprintf(detail, detail_len, "%s", e.detail); }
    free(der);
    return ok;
}

bool cba_fetch_trust_root_der(cba_buf *cert)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    uint8_t *der;
    size_t der_len = 0, num_certs = 0;
    if (cert->len < sizeof begin || memcmp(cert->data, begin, sizeof begin - 1) != 0) {
        return true; /* DER; the verifier parses it */
    }
    der = malloc(cert->len);
    if (der == NULL || cba_pem_first_cert(der, cert->len, &der_len, &num_certs, NULL, cert->data, cert->len) != CBA_OK ||
        num_certs != 1) {
        free(der);
        return false;
    }
    cert->len = der_len;
    free(cert->data);
    cert->data = der;
    return true;
}
