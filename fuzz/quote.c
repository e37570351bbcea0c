/* fuzz/quote.c. Target: cba_quote_parse, cba_quote_from_text. Seeds: fuzz/corpus/quote/.
 * Properties: failure leaves *out untouched and records the same code under "quote..."; success
 * means every view lies inside the input, signed_region is a prefix ending at the signature data
 * length field, the lengths add up to the input size, the trailing bytes are zeros, the parsed
 * header and TD report re-serialise to the input bytes, and parsing twice gives identical
 * results. from_text: raw input comes back unchanged; hex input decodes to half its length. */
#include <stdlib.h>
#include <string.h>

#include "quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(cbs v, const uint8_t *data, size_t size)
{
    if (v.len == 0) { return true; }
    return v.data >= data && v.len <= size && (size_t)(v.data - data) <= size - v.len;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) { p[i] = (uint8_t)(v >> (8 * i)); }
}

static void check_roundtrip(const cba_quote *q, const uint8_t *data)
{
    uint8_t hdr[48], td[648], *p = td;
    const cba_td_report *t = &q->td;
    put_le(hdr, q->version, 2);
    put_le(hdr + 2, q->att_key_type, 2);
    put_le(hdr + 4, q->tee_type, 4);
    put_le(hdr + 8, q->qe_svn, 2);
    put_le(hdr + 10, q->pce_svn, 2);
    memcpy(hdr + 12, q->qe_vendor_id, 16);
    memcpy(hdr + 28, q->user_data, 20);
    if (memcmp(hdr, data, 48) != 0) { abort(); }
    memcpy(p, t->tee_tcb_svn, 16), p += 16;
    memcpy(p, t->mrseam, 48), p += 48;
    memcpy(p, t->mrsignerseam, 48), p += 48;
    put_le(p, t->seam_attributes, 8), p += 8;
    put_le(p, t->td_attributes, 8), p += 8;
    put_le(p, t->xfam, 8), p += 8;
    memcpy(p, t->mrtd, 48), p += 48;
    memcpy(p, t->mrconfigid, 48), p += 48;
    memcpy(p, t->mrowner, 48), p += 48;
    memcpy(p, t->mrownerconfig, 48), p += 48;
    for (int i = 0; i < 4; i++) { memcpy(p, t->rtmr[i], 48), p += 48; }
    memcpy(p, t->report_data, 64), p += 64;
    memcpy(p, t->tee_tcb_svn2, 16), p += 16;
    memcpy(p, t->mrservicetd, 48);
    if (q->td_report_raw.len != q->body_size || memcmp(td, q->td_report_raw.data, q->body_size) != 0) {
        abort();
    }
    if (q->body_size == 584 && (td[600] | td[647]) != 0) { abort(); } /* TD 1.5 fields stay zero */
}

static bool same_view(cbs a, cbs b)
{
    return a.data == b.data && a.len == b.len;
}

static void check_same(const cba_quote *a, const cba_quote *b)
{
    if (a->version != b->version || a->body_type != b->body_type || a->body_size != b->body_size ||
        a->att_key_type != b->att_key_type || a->tee_type != b->tee_type || a->qe_svn != b->qe_svn ||
        a->pce_svn != b->pce_svn || a->sig_data_len != b->sig_data_len ||
        a->trailing_len != b->trailing_len || memcmp(a->qe_vendor_id, b->qe_vendor_id, 16) != 0 ||
        memcmp(a->user_data, b->user_data, 20) != 0 || memcmp(&a->td, &b->td, sizeof a->td) != 0 ||
        memcmp(a->quote_sig, b->quote_sig, 64) != 0 || memcmp(a->attest_key, b->attest_key, 64) != 0 ||
        memcmp(&a->qe_report, &b->qe_report, sizeof a->qe_report) != 0 ||
        memcmp(a->qe_report_sig, b->qe_report_sig, 64) != 0 || !same_view(a->raw, b->raw) ||
        !same_view(a->signed_region, b->signed_region) || !same_view(a->td_report_raw, b->td_report_raw) ||
        !same_view(a->qe_report_raw, b->qe_report_raw) || !same_view(a->qe_auth_data, b->qe_auth_data) ||
        !same_view(a->pck_chain_pem, b->pck_chain_pem)) {
        abort();
    }
}

static void check_from_text(const uint8_t *data, size_t size)
{
    static uint8_t out[CBA_QUOTE_MAX_LEN];
    size_t out_len = 0;
    if (!cba_quote_from_text(out, sizeof out, &out_len, cbs_make(data, size))) { return; }
    if (out_len > sizeof out || out_len > size) { abort(); }
    if (size >= 2 && data[1] == 0 && data[0] >= 3 && data[0] <= 5) {
        if (out_len != size || memcmp(out, data, size) != 0) { abort(); } /* raw copied */
    } else if (out_len == 0 || out_len * 2 > size) {
        abort(); /* hex: two digits per byte */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cbs in = cbs_make(data, size);
    cba_quote q, q2, untouched;
    cba_error err, err2;
    cba_err rc;

    check_from_text(data, size);

    memset(&q, 0x5a, sizeof q);
    memcpy(&untouched, &q, sizeof q);
    cba_error_clear(&err);
    rc = cba_quote_parse(&err, &q, in);
    cba_error_clear(&err2);
    if (cba_quote_parse(&err2, &q2, in) != rc) { abort(); }
    if (rc != CBA_OK) {
        if (memcmp(&q, &untouched, sizeof q) != 0 || err.code != rc || err2.code != rc ||
            strncmp(err.where, "quote", 5) != 0 || strcmp(err.where, err2.where) != 0) {
            abort();
        }
        if (rc != CBA_E_QUOTE_FORMAT && rc != CBA_E_QUOTE_UNSUPPORTED && rc != CBA_E_QE_VENDOR &&
            rc != CBA_E_QUOTE_TRAILING_DATA) {
            abort(); /* CBA_E_INTERNAL would mean a bounds check the parser thought redundant */
        }
        return 0;
    }
    check_same(&q, &q2);
    if (size > CBA_QUOTE_MAX_LEN || !same_view(q.raw, in)) { abort(); }
    if (q.signed_region.data != data || q.signed_region.len > size) { abort(); }
    if (!inside(q.td_report_raw, data, size) || !inside(q.qe_report_raw, data, size) ||
        !inside(q.qe_auth_data, data, size) || !inside(q.pck_chain_pem, data, size)) {
        abort();
    }
    if (q.signed_region.len != (q.version == 4 ? 48u : 54u) + q.body_size ||
        q.signed_region.len + 4 + (size_t)q.sig_data_len + q.trailing_len != size ||
        q.sig_data_len != 134u + 456u + q.qe_auth_data.len + q.pck_chain_pem.len ||
        q.qe_report_raw.len != 384 || q.qe_auth_data.len > CBA_QUOTE_QE_AUTH_MAX_LEN ||
        q.pck_chain_pem.len > CBA_QUOTE_PEM_MAX_LEN) {
        abort();
    }
    if ((size_t)(q.pck_chain_pem.data - data) + q.pck_chain_pem.len + q.trailing_len != size &&
        q.pck_chain_pem.len != 0) {
        abort(); /* the PEM chain ends exactly where the padding starts */
    }
    if (!cbs_all_zero(cbs_make(data + (size - q.trailing_len), q.trailing_len))) { abort(); }
    if (q.version < 4 || q.version > 5 || q.tee_type != 0x81 || q.att_key_type != 2) { abort(); }
    check_roundtrip(&q, data);
    return 0;
}
