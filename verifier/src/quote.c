/* quote.c — TDX quote v4/v5 parser (dcap-spec §1). Zero-copy: every variable-length field is a
 * view into the caller's buffer, fixed-size fields are copied into cba_quote. The checks run in
 * the order of §1.6 so that the first failure names the earliest bad field. */
#include "quote.h"

#include <string.h>

#define QUOTE_HEADER_LEN 48u
#define QUOTE_V5_DESCRIPTOR_LEN 6u
#define TD10_BODY_LEN 584u
#define TD15_BODY_LEN 648u
#define TEE_TYPE_SGX 0x00000000u
#define TEE_TYPE_TDX 0x00000081u
#define ATT_KEY_ECDSA_P256 2u
#define BODY_TYPE_SGX 1u
#define BODY_TYPE_TD10 2u
#define BODY_TYPE_TD15 3u
#define CERT_TYPE_PCK_CHAIN 5u
#define CERT_TYPE_QE_REPORT 6u
#define SGX_REPORT_BODY_LEN 384u
/* sig data before the type-6 body: signature 64 + attestation key 64 + type 2 + size 4 */
#define SIG_FIXED_LEN 134u
/* type-6 body without n and m: QE report 384 + its signature 64 + n 2 + inner type 2 + m 4 */
#define QE_CERT_FIXED_LEN 456u

static const uint8_t k_intel_qe_vendor_id[16] = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

/* parse_td_report reads a TD 1.0 (584) or TD 1.5 (648) body (§1.3); TD 1.5 fields stay zero
 * for a TD 1.0 body. */
static cba_err parse_td_report(cba_error *err, cba_td_report *out, cbs body)
{
    cbs b = body;
    bool ok = cbs_copy_bytes(&b, out->tee_tcb_svn, 16) && cbs_copy_bytes(&b, out->mrseam, 48) &&
              cbs_copy_bytes(&b, out->mrsignerseam, 48) && cbs_get_u64le(&b, &out->seam_attributes) &&
              cbs_get_u64le(&b, &out->td_attributes) && cbs_get_u64le(&b, &out->xfam) &&
              cbs_copy_bytes(&b, out->mrtd, 48) && cbs_copy_bytes(&b, out->mrconfigid, 48) &&
              cbs_copy_bytes(&b, out->mrowner, 48) && cbs_copy_bytes(&b, out->mrownerconfig, 48);
    for (size_t i = 0; ok && i < 4; i++) { ok = cbs_copy_bytes(&b, out->rtmr[i], 48); }
    ok = ok && cbs_copy_bytes(&b, out->report_data, 64);
    if (ok && body.len == TD15_BODY_LEN) {
        ok = cbs_copy_bytes(&b, out->tee_tcb_svn2, 16) && cbs_copy_bytes(&b, out->mrservicetd, 48);
    }
    CBA_ENSURE(ok && b.len == 0, err, CBA_E_INTERNAL, "quote.body",
               "TD report body of %zu bytes does not match its layout", body.len);
    return CBA_OK;
}

/* parse_qe_report reads the 384-byte SGX REPORTBODY of the quoting enclave (§1.5). */
static cba_err parse_qe_report(cba_error *err, cba_qe_report *out, cbs raw)
{
    cbs b = raw;
    bool ok = cbs_copy_bytes(&b, out->cpusvn, 16) && cbs_get_u32le(&b, &out->miscselect) &&
              cbs_skip(&b, 28) && cbs_copy_bytes(&b, out->attributes, 16) &&
              cbs_copy_bytes(&b, out->mrenclave, 32) && cbs_skip(&b, 32) &&
              cbs_copy_bytes(&b, out->mrsigner, 32) && cbs_skip(&b, 96) &&
              cbs_get_u16le(&b, &out->isvprodid) && cbs_get_u16le(&b, &out->isvsvn) &&
              cbs_skip(&b, 60) && cbs_copy_bytes(&b, out->report_data, 64);
    CBA_ENSURE(ok && b.len == 0, err, CBA_E_INTERNAL, "quote.qe_report",
               "QE report of %zu bytes does not match the SGX REPORTBODY layout", raw.len);
    return CBA_OK;
}

/* parse_header: §1.6 step 1. */
static cba_err parse_header(cba_error *err, cba_quote *q, cbs *c)
{
    cbs hdr;
    CBA_ENSURE(cbs_get_bytes(c, &hdr, QUOTE_HEADER_LEN), err, CBA_E_QUOTE_FORMAT, "quote.header",
               "quote is %zu bytes, shorter than the %u-byte header", c->len, QUOTE_HEADER_LEN);
    if (!cbs_get_u16le(&hdr, &q->version) || !cbs_get_u16le(&hdr, &q->att_key_type) ||
        !cbs_get_u32le(&hdr, &q->tee_type) || !cbs_get_u16le(&hdr, &q->qe_svn) ||
        !cbs_get_u16le(&hdr, &q->pce_svn) || !cbs_copy_bytes(&hdr, q->qe_vendor_id, 16) ||
        !cbs_copy_bytes(&hdr, q->user_data, 20) || hdr.len != 0) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.header", "header layout mismatch");
    }
    /* v3 is the SGX-only format; name it, because that is the likely mistake. */
    CBA_ENSURE(q->version != 3, err, CBA_E_QUOTE_UNSUPPORTED, "quote.header.version",
               "SGX quote (version 3): unsupported quote type, only TDX quotes v4/v5 are verified");
    CBA_ENSURE(q->version == 4 || q->version == 5, err, CBA_E_QUOTE_UNSUPPORTED,
               "quote.header.version", "quote version %u not supported (expected 4 or 5)",
               (unsigned)q->version);
    /* 3 (ECDSA P-384) exists in Intel's headers but no QE produces it */
    CBA_ENSURE(q->att_key_type == ATT_KEY_ECDSA_P256, err, CBA_E_QUOTE_UNSUPPORTED,
               "quote.header.att_key_type",
               "attestation key type %u not supported (expected 2, ECDSA-256-with-P-256)",
               (unsigned)q->att_key_type);
    CBA_ENSURE(q->tee_type != TEE_TYPE_SGX, err, CBA_E_QUOTE_UNSUPPORTED, "quote.header.tee_type",
               "SGX quote (TEE type 0): unsupported quote type, only TDX quotes are verified");
    CBA_ENSURE(q->tee_type == TEE_TYPE_TDX, err, CBA_E_QUOTE_UNSUPPORTED, "quote.header.tee_type",
               "TEE type 0x%08x not supported (expected 0x81, TDX)", (unsigned)q->tee_type);
    /* dcap-qvl #127: without this, any vendor's QE format would be interpreted as Intel's */
    CBA_ENSURE(memcmp(q->qe_vendor_id, k_intel_qe_vendor_id, 16) == 0, err, CBA_E_QE_VENDOR,
               "quote.header.qe_vendor_id", "QE vendor id is not Intel's 939A7233F79C4CA9940A0DB3957F0607");
    return CBA_OK;
}

/* parse_body_descriptor: §1.6 step 2 (v5), or the implied TD 1.0 descriptor of v4. */
static cba_err parse_body_descriptor(cba_error *err, cba_quote *q, cbs *c)
{
    if (q->version == 4) {
        /* v4 with TEE type 0x81 always carries a TD 1.0 body */
        q->body_type = BODY_TYPE_TD10;
        q->body_size = TD10_BODY_LEN;
        return CBA_OK;
    }
    CBA_ENSURE(c->len >= QUOTE_V5_DESCRIPTOR_LEN, err, CBA_E_QUOTE_FORMAT, "quote.body_descriptor",
               "quote ends inside the v5 body descriptor");
    if (!cbs_get_u16le(c, &q->body_type) || !cbs_get_u32le(c, &q->body_size)) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.body_descriptor", "descriptor read failed");
    }
    CBA_ENSURE(q->body_type != BODY_TYPE_SGX, err, CBA_E_QUOTE_FORMAT, "quote.body_type",
               "body type 1 (SGX enclave report) not supported in a TDX quote");
    CBA_ENSURE(q->body_type == BODY_TYPE_TD10 || q->body_type == BODY_TYPE_TD15, err,
               CBA_E_QUOTE_FORMAT, "quote.body_type", "body type %u not supported (expected 2 or 3)",
               (unsigned)q->body_type);
    /* INTEL checks the size, QVL-RS reads and ignores it: a wrong size would shift every
     * following field, so it must be exact. */
    CBA_ENSURE(q->body_size == (q->body_type == BODY_TYPE_TD10 ? TD10_BODY_LEN : TD15_BODY_LEN),
               err, CBA_E_QUOTE_FORMAT, "quote.body_size",
               "body size %u does not match body type %u (expected %u)", (unsigned)q->body_size,
               (unsigned)q->body_type,
               q->body_type == BODY_TYPE_TD10 ? TD10_BODY_LEN : TD15_BODY_LEN);
    return CBA_OK;
}

/* parse_qe_cert_data: §1.6 step 6, over exactly the S bytes of the type-6 body. */
static cba_err parse_qe_cert_data(cba_error *err, cba_quote *q, cbs qecd)
{
    cbs c = qecd;
    uint16_t n, inner_type;
    uint32_t m;
    size_t s_len = qecd.len;
    /* S >= 456 was established by the caller (sig_data_len >= 134 + 456 and S == sig_data_len - 134) */
    if (s_len < QE_CERT_FIXED_LEN || !cbs_get_bytes(&c, &q->qe_report_raw, SGX_REPORT_BODY_LEN) ||
        !cbs_copy_bytes(&c, q->qe_report_sig, 64) || !cbs_get_u16le(&c, &n)) {
        return cba_fail(err, CBA_E_QUOTE_FORMAT, "quote.qe_report", "QE certification data too short");
    }
    CBA_TRY(parse_qe_report(err, &q->qe_report, q->qe_report_raw));
    CBA_ENSURE(n <= CBA_QUOTE_QE_AUTH_MAX_LEN, err, CBA_E_QUOTE_FORMAT, "quote.qe_auth_data.size",
               "QE auth data size %u exceeds the %u-byte cap", (unsigned)n, CBA_QUOTE_QE_AUTH_MAX_LEN);
    CBA_ENSURE(n <= s_len - QE_CERT_FIXED_LEN, err, CBA_E_QUOTE_FORMAT, "quote.qe_auth_data.size",
               "QE auth data size %u exceeds the %zu bytes left in the certification data",
               (unsigned)n, s_len - QE_CERT_FIXED_LEN);
    if (!cbs_get_bytes(&c, &q->qe_auth_data, n) || !cbs_get_u16le(&c, &inner_type) ||
        !cbs_get_u32le(&c, &m)) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.qe_auth_data", "bounds already checked");
    }
    /* types 1-4 need a PCK certificate from elsewhere (PCCS); we only verify self-contained quotes */
    CBA_ENSURE(inner_type == CERT_TYPE_PCK_CHAIN, err, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.type",
               "certification data type %u not supported (expected 5, PCK certificate chain)",
               (unsigned)inner_type);
    /* compare, never add: m is attacker-chosen and S - 456 - n >= 0 was shown above */
    CBA_ENSURE(m == s_len - QE_CERT_FIXED_LEN - n, err, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.size",
               "PCK chain size %u does not match the %zu bytes left in the certification data",
               (unsigned)m, s_len - QE_CERT_FIXED_LEN - n);
    CBA_ENSURE(m <= CBA_QUOTE_PEM_MAX_LEN, err, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.size",
               "PCK chain size %u exceeds the %u-byte cap", (unsigned)m, CBA_QUOTE_PEM_MAX_LEN);
    if (!cbs_get_bytes(&c, &q->pck_chain_pem, m) || c.len != 0) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.qe_cert_data", "bounds already checked");
    }
    return CBA_OK;
}

/* parse_sig_data: §1.6 steps 4-6. *c is positioned at sig_off. */
static cba_err parse_sig_data(cba_error *err, cba_quote *q, cbs *c)
{
    cbs sig, qecd;
    uint16_t cert_type;
    uint32_t s_len;
    CBA_ENSURE(cbs_get_u32le(c, &q->sig_data_len), err, CBA_E_QUOTE_FORMAT, "quote.sig_data_len",
               "quote ends before the signature data length");
    /* compare against what is left before adding anything (GO's int32 cast bug, dcap-qvl #129) */
    CBA_ENSURE(q->sig_data_len <= c->len, err, CBA_E_QUOTE_FORMAT, "quote.sig_data_len",
               "signature data length %u exceeds the %zu bytes left", (unsigned)q->sig_data_len, c->len);
    CBA_ENSURE(q->sig_data_len >= SIG_FIXED_LEN + QE_CERT_FIXED_LEN, err, CBA_E_QUOTE_FORMAT,
               "quote.sig_data_len", "signature data length %u is below the %u-byte minimum",
               (unsigned)q->sig_data_len, SIG_FIXED_LEN + QE_CERT_FIXED_LEN);
    if (!cbs_get_bytes(c, &sig, q->sig_data_len) || !cbs_copy_bytes(&sig, q->quote_sig, 64) ||
        !cbs_copy_bytes(&sig, q->attest_key, 64) || !cbs_get_u16le(&sig, &cert_type) ||
        !cbs_get_u32le(&sig, &s_len)) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.sig_data", "bounds already checked");
    }
    /* QVL-RS never checks the outer type; anything but 6 is a different layout */
    CBA_ENSURE(cert_type == CERT_TYPE_QE_REPORT, err, CBA_E_QUOTE_FORMAT, "quote.cert_data.type",
               "certification data type %u not supported (expected 6, QE report certification data)",
               (unsigned)cert_type);
    /* no slack inside the signature data: S must fill it exactly */
    CBA_ENSURE(s_len == q->sig_data_len - SIG_FIXED_LEN, err, CBA_E_QUOTE_FORMAT,
               "quote.cert_data.size",
               "certification data size %u does not match signature data length %u - 134",
               (unsigned)s_len, (unsigned)q->sig_data_len);
    if (!cbs_get_bytes(&sig, &qecd, s_len) || sig.len != 0) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.cert_data", "bounds already checked");
    }
    return parse_qe_cert_data(err, q, qecd);
}

cba_err cba_quote_parse(cba_error *err, cba_quote *out, cbs in)
{
    cba_quote q;
    cbs c = in, prefix = in, trailing;
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, "quote", "no output");
    memset(&q, 0, sizeof q);
    q.raw = in;
    CBA_ENSURE(in.len <= CBA_QUOTE_MAX_LEN, err, CBA_E_QUOTE_FORMAT, "quote.length",
               "quote is %zu bytes, more than the %u-byte cap", in.len, CBA_QUOTE_MAX_LEN);
    CBA_TRY(parse_header(err, &q, &c));
    CBA_TRY(parse_body_descriptor(err, &q, &c));
    CBA_ENSURE(cbs_get_bytes(&c, &q.td_report_raw, q.body_size), err, CBA_E_QUOTE_FORMAT,
               "quote.body", "quote ends inside the %u-byte TD report body", (unsigned)q.body_size);
    CBA_TRY(parse_td_report(err, &q.td, q.td_report_raw));
    /* the attestation key signs quote[0 .. sig_off): slice the original bytes (§1.7) */
    if (!cbs_get_bytes(&prefix, &q.signed_region, in.len - c.len)) {
        return cba_fail(err, CBA_E_INTERNAL, "quote.signed_region", "prefix out of range");
    }
    CBA_TRY(parse_sig_data(err, &q, &c));
    /* §1.6 step 7: producers pad to a fixed buffer with zeros; anything else is smuggled data */
    trailing = c;
    for (size_t i = 0; i < trailing.len; i++) {
        CBA_ENSURE(cbs_byte(trailing, i) == 0, err, CBA_E_QUOTE_TRAILING_DATA, "quote.trailing",
                   "non-zero byte 0x%02x at offset %zu after the signature data",
                   (unsigned)cbs_byte(trailing, i), in.len - trailing.len + i);
    }
    q.trailing_len = trailing.len;
    *out = q;
    return CBA_OK;
}

/* ---- text input ------------------------------------------------------------------------ */

static bool is_space(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\r' || b == '\n';
}

static bool is_hex(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* hex_body trims surrounding whitespace and a "0x" prefix; true when what is left is a
 * non-empty, even-length run of hex digits. */
static bool hex_body(cbs in, cbs *out)
{
    size_t start = 0, end = in.len;
    cbs body;
    while (start < end && is_space(cbs_byte(in, start))) { start++; }
    while (end > start && is_space(cbs_byte(in, end - 1))) { end--; }
    if (end - start >= 2 && cbs_byte(in, start) == '0' &&
        (cbs_byte(in, start + 1) == 'x' || cbs_byte(in, start + 1) == 'X')) {
        start += 2;
    }
    if (!cbs_skip(&in, start) || !cbs_get_bytes(&in, &body, end - start)) { return false; }
    if (body.len == 0 || body.len % 2 != 0) { return false; }
    for (size_t i = 0; i < body.len; i++) {
        if (!is_hex(cbs_byte(body, i))) { return false; }
    }
    *out = body;
    return true;
}

bool cba_quote_from_text(uint8_t *out, size_t out_cap, size_t *out_len, cbs in)
{
    cbs hex;
    if (out == NULL || out_len == NULL) { return false; }
    if (hex_body(in, &hex)) {
        if (hex.len / 2 > out_cap) { return false; }
        if (!cba_hex_decode(out, hex.len / 2, (const char *)hex.data, hex.len)) { return false; }
        *out_len = hex.len / 2;
        return true;
    }
    /* raw: a little-endian version 3/4/5 (hex text never starts with a byte below 0x20) */
    if (in.len >= 2 && cbs_byte(in, 1) == 0 && cbs_byte(in, 0) >= 3 && cbs_byte(in, 0) <= 5) {
        if (in.len > out_cap) { return false; }
        memcpy(out, in.data, in.len);
        *out_len = in.len;
        return true;
    }
    return false;
}
