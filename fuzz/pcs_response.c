/* fuzz/pcs_response.c. Target: the PCS/PCCS response parser of libcrabbox-attest
 * (attest/pcs_response.h) on every input: pcs_parse_signed_body for both signed members
 * (tcbInfo, enclaveIdentity), pcs_cut_member, pcs_parse_crl_body, pcs_decode_issuer_chain.
 * Seeds: fuzz/corpus/pcs_response/ (real PCS bodies and headers, and malformed ones).
 * (fuzz/pccs_response.c fuzzes the whole fetch over a fake libcurl.)
 * Properties: a cut member is a slice of the input that starts with '{' (signed bodies) and
 * ends where a JSON value may end; a signature is 128 hex digits; a CRL is non-empty and, from
 * hex text, half as long as its digits; a decoded chain is no longer than its encoding, NUL-
 * terminated, with no control character but CR and LF; a failure hands nothing over and has a
 * message. */
#include <stdlib.h>
#include <string.h>

#include "pcs_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(cbs outer, cbs inner)
{
    if (inner.len > outer.len || inner.data < outer.data || (size_t)(inner.data - outer.data) > outer.len - inner.len) {
        abort();
    }
}

static void signed_body(cbs in, const char *member)
{
    pcs_signed s;
    char detail[200];
    pcs_err rc = pcs_parse_signed_body(in, member, &s, detail, sizeof detail);
    if (pcs_err_message(rc) == NULL) { abort(); }
    if (rc != PCS_OK) { return; }
    check_slice(in, s.text);
    if (s.text.len < 2 || s.text.data[0] != '{' || s.text.data[s.text.len - 1] != '}') { abort(); }
    if (strlen(s.signature) != 128) { abort(); }
    for (size_t i = 0; i < 128; i++) {
        char c = s.signature[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) { abort(); }
    }
}

static void crl_body(cbs in)
{
    cba_buf out = { 0 };
    pcs_err rc = pcs_parse_crl_body(in, &out);
    if (rc != PCS_OK) {
        if (out.data != NULL) { abort(); }
        return;
    }
    if (out.data == NULL || out.len == 0 || out.len > in.len) { abort(); }
    if (in.data[0] != 0x30 && out.len * 2 > in.len) { abort(); }
    free(out.data);
}

static void issuer_chain(cbs in)
{
    cba_buf out = { 0 };
    size_t offset = 0;
    uint8_t ch = 0;
    pcs_err rc = pcs_decode_issuer_chain(in, &out, &offset, &ch);
    if (rc != PCS_OK) {
        if (out.data != NULL || (rc == PCS_E_PERCENT && offset >= in.len)) { abort(); }
        return;
    }
    if (out.data == NULL || out.len > in.len || out.data[out.len] != 0) { abort(); }
    for (size_t i = 0; i < out.len; i++) {
        if (out.data[i] < 0x20 && out.data[i] != '\n' && out.data[i] != '\r') { abort(); }
    }
    free(out.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cbs in = cbs_make(data, size), cut;
    signed_body(in, "tcbInfo");
    signed_body(in, "enclaveIdentity");
    if (pcs_cut_member(in, "tcbInfo", &cut)) { check_slice(in, cut); }
    crl_body(in);
    issuer_chain(in);
    return 0;
}
