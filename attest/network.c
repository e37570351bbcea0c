/* network.c — the four downloads of collateral fetching (PCK CRL, TCB info, QE identity, root CA
 * CRL; dcap-spec §3.6), each response checked with the PCS response parser (pcs_response.h) and
 * reported with the object and URL it came from, then assembled into QuoteCollateralV3 JSON in
 * dcap-qvl's member order (§3.1). Nothing here is trusted: fetch.c verifies the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base.h" /* cba_hex_encode */
#include "cbs.h"
#include "fetch_internal.h"
#include "network.h"
#include "pcs_response.h"

static void buf_free(cba_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* ---- Responses ------------------------------------------------------------------------------ */

/* signed_body checks a PCS {"<member>":{...},"signature":"<128 hex>"} body and sets *out. */
static int signed_body(const http_client *x, const char *what, const char *url, const http_resp *r,
                       const char *member, pcs_signed *out)
{
    char detail[200];
    switch (pcs_parse_signed_body(cbs_make(r->body, r->body_len), member, out, detail, sizeof detail)) {
    case PCS_OK: return 0;
    case PCS_E_NOT_JSON_OBJECT:
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: the response is not a strict JSON object (%s)", what, url, detail);
    case PCS_E_CUT:
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: cannot locate the exact \"%s\" text",
                           what, url, member);
    default:
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: the response lacks \"%s\" (object) or \"signature\" (128 hex digits)", what,
                           url, member);
    }
}

/* crl_der accepts a CRL body as DER (PCS, encoding=der) or as hex text of the DER (PCCS), and
 * checks that it parses as a CRL. *out (malloc) holds the DER. */
static int crl_der(const http_client *x, const char *what, const char *url, const http_resp *r, cba_buf *out)
{
    char detail[200];
    pcs_err pe = pcs_parse_crl_body(cbs_make(r->body, r->body_len), out);
    if (pe == PCS_E_NOMEM) { return attest_fail(x->o, x->res, CBA_FETCH_NOMEM, "out of memory"); }
    if (pe != PCS_OK) {
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: the body is neither DER nor hex text",
                           what, url);
    }
    if (!attest_crl_check(out->data, out->len, detail, sizeof detail)) {
        free(out->data);
        out->data = NULL;
        out->len = 0;
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: not a valid CRL (%s)", what, url,
                           detail);
    }
    return 0;
}

/* issuer_chain percent-decodes header idx strictly and checks that it is a PEM certificate
 * chain. *out (malloc) holds the PEM text. */
static int issuer_chain(const http_client *x, const char *what, const char *url, const http_resp *r, int idx,
                        cba_buf *out)
{
    const char *name = attest_header_name(idx);
    char detail[200];
    size_t offset = 0;
    uint8_t ch = 0;
    out->data = NULL;
    out->len = 0;
    if (r->hdr_dup[idx] || r->hdr_too_large[idx]) {
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: header %s is repeated, folded or too large",
                           what, url, name);
    }
    if (r->hdr[idx] == NULL || r->hdr_len[idx] == 0) {
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: no %s header", what, url, name);
    }
    switch (pcs_decode_issuer_chain(cbs_make((const uint8_t *)r->hdr[idx], r->hdr_len[idx]), out, &offset, &ch)) {
    case PCS_OK: break;
    case PCS_E_NOMEM: return attest_fail(x->o, x->res, CBA_FETCH_NOMEM, "out of memory");
    case PCS_E_PERCENT:
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: header %s: bad percent-encoding at offset %zu", what, url, name, offset);
    case PCS_E_CONTROL:
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: header %s decodes to a control character",
                           what, url, name);
    default:
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: header %s has a raw character 0x%02x that should be percent-encoded", what,
                           url, name, ch);
    }
    if (!attest_pem_chain_check(out->data, out->len, detail, sizeof detail)) {
        free(out->data);
        out->data = NULL;
        out->len = 0;
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: header %s is not a PEM certificate chain (%s)", what, url, name, detail);
    }
    return 0;
}

/* ---- Assembly ---------------------------------------------------------------------------------- */

static json_object *hex_string(const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 1);
    json_object *o;
    if (s == NULL) { return NULL; }
    cba_hex_encode(s, b, n);
    o = json_object_new_string_len(s, (int)(2 * n));
    free(s);
    return o;
}

/* add_member adds key with value to o; false (value released) when value is NULL or o rejects it. */
static bool add_member(json_object *o, const char *key, json_object *value)
{
    if (value == NULL) { return false; }
    if (json_object_object_add(o, key, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

static json_object *text_string(const cba_buf *b)
{
    return b->len > INT32_MAX ? NULL : json_object_new_string_len((const char *)b->data, (int)b->len);
}

static json_object *cbs_string(cbs c)
{
    return c.len > INT32_MAX ? NULL : json_object_new_string_len((const char *)c.data, (int)c.len);
}

/* The pieces of one collateral, as fetched and checked (owned; parts_clear frees them). */
typedef struct collateral_parts {
    http_resp pck, tcb, qe, root;
    cba_buf pck_der, root_der, pck_chain, tcb_chain, qe_chain;
    pcs_signed tcb_s, qe_s; /* borrowed from tcb.body / qe.body */
} collateral_parts;

static void parts_clear(collateral_parts *p)
{
    http_resp_clear(&p->pck);
    http_resp_clear(&p->tcb);
    http_resp_clear(&p->qe);
    http_resp_clear(&p->root);
    buf_free(&p->pck_der);
    buf_free(&p->root_der);
    buf_free(&p->pck_chain);
    buf_free(&p->tcb_chain);
    buf_free(&p->qe_chain);
}

static int get_pck_crl(const http_client *x, const char *base, const fetch_target *t, collateral_parts *p)
{
    const char *kind = t->processor_ca ? "processor" : "platform";
    char url[ATTEST_MAX_URL], what[96];
    int rc;
    snprintf(what, sizeof what, "PCK CRL (%s CA)", kind);
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, kind);
    if ((rc = http_get(x, what, url, &p->pck)) != 0 || (rc = crl_der(x, what, url, &p->pck, &p->pck_der)) != 0) {
        return rc;
    }
    return issuer_chain(x, what, url, &p->pck, H_PCK_CRL_CHAIN, &p->pck_chain);
}

/* tcb_chain_header picks the TCB info's issuer-chain header: PCS v4 names it
 * TCB-Info-Issuer-Chain, v3 and some PCCS SGX-TCB-Info-Issuer-Chain; if both come they must agree.
 * Returns 0 with *out_idx set, else a status (reported). */
static int tcb_chain_header(const http_client *x, const char *what, const char *url, const http_resp *r, int *out_idx)
{
    bool v4 = r->hdr[H_TCB_CHAIN] != NULL || r->hdr_dup[H_TCB_CHAIN] || r->hdr_too_large[H_TCB_CHAIN];
    bool v3 = r->hdr[H_SGX_TCB_CHAIN] != NULL || r->hdr_dup[H_SGX_TCB_CHAIN] || r->hdr_too_large[H_SGX_TCB_CHAIN];
    if (r->hdr[H_TCB_CHAIN] != NULL && r->hdr[H_SGX_TCB_CHAIN] != NULL &&
        strcmp(r->hdr[H_TCB_CHAIN], r->hdr[H_SGX_TCB_CHAIN]) != 0) {
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: TCB-Info-Issuer-Chain and SGX-TCB-Info-Issuer-Chain differ", what, url);
    }
    if (!v4 && !v3) {
        return attest_fail(x->o, x->res, CBA_FETCH_BAD_RESPONSE,
                           "%s from %s: no TCB-Info-Issuer-Chain (or SGX-TCB-Info-Issuer-Chain) header", what, url);
    }
    *out_idx = v4 ? H_TCB_CHAIN : H_SGX_TCB_CHAIN;
    return 0;
}

static int get_tcb_info(const http_client *x, const char *base, const fetch_target *t, collateral_parts *p)
{
    char url[ATTEST_MAX_URL], what[96], upper[13];
    int rc, idx = H_TCB_CHAIN;
    for (size_t i = 0; i < sizeof upper; i++) {
        char ch = t->fmspc_hex[i];
        upper[i] = ch >= 'a' && ch <= 'f' ? (char)(ch - 'a' + 'A') : ch;
    }
    snprintf(what, sizeof what, "TCB info for FMSPC %s", t->fmspc_hex);
    snprintf(url, sizeof url, "%s/tdx/certification/v4/tcb?fmspc=%s", base, upper);
    if ((rc = http_get(x, what, url, &p->tcb)) != 0 ||
        (rc = signed_body(x, what, url, &p->tcb, "tcbInfo", &p->tcb_s)) != 0 ||
        (rc = tcb_chain_header(x, what, url, &p->tcb, &idx)) != 0) {
        return rc;
    }
    return issuer_chain(x, what, url, &p->tcb, idx, &p->tcb_chain);
}

static int get_qe_identity(const http_client *x, const char *base, collateral_parts *p)
{
    char url[ATTEST_MAX_URL];
    const char *what = "QE identity (TD_QE)";
    int rc;
    snprintf(url, sizeof url, "%s/tdx/certification/v4/qe/identity", base);
    if ((rc = http_get(x, what, url, &p->qe)) != 0 ||
        (rc = signed_body(x, what, url, &p->qe, "enclaveIdentity", &p->qe_s)) != 0) {
        return rc;
    }
    return issuer_chain(x, what, url, &p->qe, H_QE_CHAIN, &p->qe_chain);
}

/* Intel PCS has no root CA CRL endpoint; the root's CRL distribution point serves the DER. A PCCS
 * serves it (hex text) at /sgx/certification/v4/rootcacrl. */
static int get_root_crl(const http_client *x, const char *base, bool intel_pcs, collateral_parts *p)
{
    char url[ATTEST_MAX_URL];
    const char *what = "root CA CRL";
    int rc;
    if (intel_pcs) {
        snprintf(url, sizeof url, "%s", CBA_FETCH_INTEL_ROOT_CRL_URL);
    } else {
        snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", base);
    }
    if ((rc = http_get(x, what, url, &p->root)) != 0) { return rc; }
    return crl_der(x, what, url, &p->root, &p->root_der);
}

/* assemble writes QuoteCollateralV3 JSON in dcap-qvl's member order (dcap-spec §3.1), with a
 * newline, into *out (malloc'ed). */
static int assemble(const http_client *x, const collateral_parts *p, cba_buf *out)
{
    json_object *j = json_object_new_object();
    const char *s;
    size_t n = 0;
    int rc = 0;
    if (j == NULL || !add_member(j, "pck_crl_issuer_chain", text_string(&p->pck_chain)) ||
        !add_member(j, "root_ca_crl", hex_string(p->root_der.data, p->root_der.len)) ||
        !add_member(j, "pck_crl", hex_string(p->pck_der.data, p->pck_der.len)) ||
        !add_member(j, "tcb_info_issuer_chain", text_string(&p->tcb_chain)) ||
        !add_member(j, "tcb_info", cbs_string(p->tcb_s.text)) ||
        !add_member(j, "tcb_info_signature", json_object_new_string(p->tcb_s.signature)) ||
        !add_member(j, "qe_identity_issuer_chain", text_string(&p->qe_chain)) ||
        !add_member(j, "qe_identity", cbs_string(p->qe_s.text)) ||
        !add_member(j, "qe_identity_signature", json_object_new_string(p->qe_s.signature)) ||
        (s = json_object_to_json_string_length(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)) ==
            NULL ||
        n > CBA_FETCH_MAX_COLLATERAL || (out->data = malloc(n + 2)) == NULL) {
        rc = attest_fail(x->o, x->res, CBA_FETCH_NOMEM, "out of memory assembling the collateral");
    } else {
        memcpy(out->data, s, n);
        out->data[n] = '\n';
        out->data[n + 1] = 0;
        out->len = n + 1;
    }
    json_object_put(j);
    return rc;
}

int fetch_network(const curl_api *cu, const cba_fetch_opts *o, const fetch_target *t, cba_fetch_result *res)
{
    http_client x = { .o = o, .res = res, .cu = cu, .curl = NULL };
    collateral_parts p;
    char base_buf[ATTEST_MAX_URL / 2], err[300]; /* base URL without trailing '/' */
    const char *base = o->base_url != NULL ? o->base_url : CBA_FETCH_DEFAULT_URL;
    bool http_ok, loopback, intel_pcs;
    size_t blen = strlen(base);
    int rc;

    if (!attest_check_url(cu, base, true, &http_ok, &loopback, &intel_pcs, err, sizeof err)) {
        return attest_fail(o, res, CBA_FETCH_BAD_ARGUMENT, "--pccs: %s", err);
    }
    while (blen > 0 && base[blen - 1] == '/') { blen--; }
    snprintf(base_buf, sizeof base_buf, "%.*s", (int)blen, base);
    if (cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (x.curl = cu->easy_init()) == NULL) {
        cu->global_cleanup();
        return attest_fail(o, res, CBA_FETCH_INTERNAL, "cannot initialise libcurl");
    }
    memset(&p, 0, sizeof p);
    if ((rc = get_pck_crl(&x, base_buf, t, &p)) == 0 && (rc = get_tcb_info(&x, base_buf, t, &p)) == 0 &&
        (rc = get_qe_identity(&x, base_buf, &p)) == 0 && (rc = get_root_crl(&x, base_buf, intel_pcs, &p)) == 0) {
        rc = assemble(&x, &p, &res->json);
    }
    parts_clear(&p);
    cu->easy_cleanup(x.curl);
    cu->global_cleanup();
    return rc;
}
