/* test_quote.c — TDX quote parser: real quotes, every truncation, length fields off by one,
 * certification types, trailing bytes, caps, v5 descriptors, header tampering, text input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "testutil.h"

TestSuite(quote, .timeout = 60);

#define DCAP_QUOTE "dcap-qvl-tdx/tdx_quote"
#define CRABBOX_QUOTE "crabbox/real_tdx_quote.bin"
#define SGX_QUOTE "dcap-qvl-sgx/sgx_quote"

/* absolute offsets in a v4 quote (dcap-spec §1.4) */
#define SIG_OFF 632u
#define CERT_TYPE_OFF (SIG_OFF + 4 + 128)     /* 764 */
#define CERT_SIZE_OFF (CERT_TYPE_OFF + 2)     /* 766 */
#define QE_REPORT_OFF (CERT_SIZE_OFF + 4)     /* 770 */
#define AUTH_SIZE_OFF (QE_REPORT_OFF + 448)   /* 1218 */
#define AUTH_OFF (AUTH_SIZE_OFF + 2)          /* 1220 */
#define INNER_TYPE_OFF (AUTH_OFF + 32)        /* 1252 with n = 32 */
#define INNER_SIZE_OFF (INNER_TYPE_OFF + 2)   /* 1254 */
#define PEM_OFF (INNER_SIZE_OFF + 4)          /* 1258 */

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) { p[i] = (uint8_t)(v >> (8 * i)); }
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) { p[i] = (uint8_t)(v >> (8 * i)); }
}

static void unhex(uint8_t *out, size_t len, const char *hex)
{
    cr_assert_eq(tu_hex(out, len, hex), (long)len, "bad hex literal %s", hex);
}

static void assert_bytes(const uint8_t *got, const char *hex, size_t len, const char *what)
{
    uint8_t want[128];
    cr_assert_leq(len, sizeof want);
    unhex(want, len, hex);
    cr_assert(memcmp(got, want, len) == 0, "%s differs", what);
}

/* parse runs cba_quote_parse on a copy; returns the code and fills err. */
static cba_err parse(const uint8_t *data, size_t len, cba_quote *q, cba_error *err)
{
    cba_error_clear(err);
    return cba_quote_parse(err, q, cbs_make(data, len));
}

/* expect_fail parses and asserts the code and (if non-NULL) where; out must stay untouched. */
static void expect_fail(const uint8_t *data, size_t len, cba_err code, const char *where)
{
    cba_quote q, untouched;
    cba_error err;
    memset(&q, 0xa5, sizeof q);
    memcpy(&untouched, &q, sizeof q);
    cr_assert_eq(parse(data, len, &q, &err), code, "expected %s, got %s at %s: %s",
                 cba_err_name(code), cba_err_name(err.code), err.where, err.detail);
    cr_assert_eq(err.code, code);
    if (where != NULL) { cr_assert_str_eq(err.where, where, "detail: %s", err.detail); }
    cr_assert(memcmp(&q, &untouched, sizeof q) == 0, "out must be untouched on failure");
}

static void expect_ok(const uint8_t *data, size_t len, cba_quote *q)
{
    cba_error err;
    cr_assert_eq(parse(data, len, q, &err), CBA_OK, "%s at %s: %s", cba_err_name(err.code),
                 err.where, err.detail);
}

static uint8_t *dup_buf(const tu_buf *b, size_t extra)
{
    uint8_t *p = calloc(1, b->len + extra);
    cr_assert_not_null(p);
    memcpy(p, b->data, b->len);
    return p;
}

/* sig_end is where the signature data of a v4 quote ends (start of the trailing bytes). */
static size_t sig_end(const tu_buf *b)
{
    return SIG_OFF + 4 + get_le32(b->data + SIG_OFF);
}

/* encode_td re-serialises the parsed TD report: it must reproduce the raw body exactly. */
static void encode_td(const cba_td_report *td, uint8_t *out, size_t len)
{
    uint8_t *p = out;
    memcpy(p, td->tee_tcb_svn, 16), p += 16;
    memcpy(p, td->mrseam, 48), p += 48;
    memcpy(p, td->mrsignerseam, 48), p += 48;
    put_le64(p, td->seam_attributes), p += 8;
    put_le64(p, td->td_attributes), p += 8;
    put_le64(p, td->xfam), p += 8;
    memcpy(p, td->mrtd, 48), p += 48;
    memcpy(p, td->mrconfigid, 48), p += 48;
    memcpy(p, td->mrowner, 48), p += 48;
    memcpy(p, td->mrownerconfig, 48), p += 48;
    for (int i = 0; i < 4; i++) { memcpy(p, td->rtmr[i], 48), p += 48; }
    memcpy(p, td->report_data, 64), p += 64;
    if (len == 648) {
        memcpy(p, td->tee_tcb_svn2, 16), p += 16;
        memcpy(p, td->mrservicetd, 48), p += 48;
    }
    cr_assert_eq((size_t)(p - out), len);
}

/* encode_header re-serialises the parsed 48-byte header. */
static void encode_header(const cba_quote *q, uint8_t out[48])
{
    put_le16(out, q->version);
    put_le16(out + 2, q->att_key_type);
    put_le32(out + 4, q->tee_type);
    put_le16(out + 8, q->qe_svn);
    put_le16(out + 10, q->pce_svn);
    memcpy(out + 12, q->qe_vendor_id, 16);
    memcpy(out + 28, q->user_data, 20);
}

/* assert_views_inside: every view of q lies inside `in` and sits where the layout says. */
static void assert_views_consistent(const cba_quote *q, const uint8_t *in, size_t len)
{
    uint8_t td[648], hdr[48];
    size_t sig_off = q->signed_region.len;
    cr_assert(q->raw.data == in && q->raw.len == len);
    cr_assert(q->signed_region.data == in);
    cr_assert_eq(sig_off, (q->version == 4 ? 48u : 54u) + q->body_size);
    cr_assert(q->td_report_raw.data == in + sig_off - q->body_size);
    cr_assert_eq(q->td_report_raw.len, q->body_size);
    cr_assert_eq(q->sig_data_len, get_le32(in + sig_off));
    cr_assert(memcmp(q->quote_sig, in + sig_off + 4, 64) == 0);
    cr_assert(memcmp(q->attest_key, in + sig_off + 68, 64) == 0);
    cr_assert(q->qe_report_raw.data == in + sig_off + 138 && q->qe_report_raw.len == 384);
    cr_assert(memcmp(q->qe_report_sig, in + sig_off + 138 + 384, 64) == 0);
    cr_assert(q->qe_auth_data.len == 0 || q->qe_auth_data.data == in + sig_off + 138 + 450);
    cr_assert(q->pck_chain_pem.data == in + sig_off + 138 + 456 + q->qe_auth_data.len);
    cr_assert_eq(sig_off + 4 + q->sig_data_len + q->trailing_len, len);
    cr_assert_eq((size_t)(q->pck_chain_pem.data - in) + q->pck_chain_pem.len, sig_off + 4 + q->sig_data_len);
    encode_td(&q->td, td, q->body_size);
    cr_assert(memcmp(td, q->td_report_raw.data, q->body_size) == 0, "TD report round trip");
    encode_header(q, hdr);
    cr_assert(memcmp(hdr, in, 48) == 0, "header round trip");
}

Test(quote, dcap_qvl_tdx_quote_fields)
{
    tu_buf b;
    cba_quote q;
    uint8_t want[64];
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    cr_assert_eq(b.len, 5006);
    expect_ok(b.data, b.len, &q);
    assert_views_consistent(&q, b.data, b.len);
    cr_assert_eq(q.version, 4);
    cr_assert_eq(q.body_type, 2);
    cr_assert_eq(q.body_size, 584);
    cr_assert_eq(q.att_key_type, 2);
    cr_assert_eq(q.tee_type, 0x81);
    cr_assert_eq(q.sig_data_len, 4300);
    cr_assert_eq(q.trailing_len, 70);
    cr_assert_eq(q.signed_region.len, 632);
    assert_bytes(q.qe_vendor_id, "939A7233F79C4CA9940A0DB3957F0607", 16, "qe vendor");
    assert_bytes(q.td.tee_tcb_svn, "06010300000000000000000000000000", 16, "tee_tcb_svn");
    assert_bytes(q.td.mrseam, "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1", 48, "mrseam");
    assert_bytes(q.td.mrtd, "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7", 48, "mrtd");
    assert_bytes(q.td.rtmr[0], "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0", 48, "rtmr0");
    assert_bytes(q.td.rtmr[1], "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378", 48, "rtmr1");
    assert_bytes(q.td.rtmr[2], "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132", 48, "rtmr2");
    memset(want, 0, sizeof want);
    cr_assert(memcmp(q.td.rtmr[3], want, 48) == 0, "rtmr3 is zero");
    cr_assert(memcmp(q.td.mrconfigid, want, 48) == 0, "mrconfigid is zero");
    cr_assert(memcmp(q.td.mrowner, want, 48) == 0);
    cr_assert(memcmp(q.td.mrownerconfig, want, 48) == 0);
    cr_assert(memcmp(q.td.tee_tcb_svn2, want, 16) == 0, "TD 1.0: no TEE_TCB_SVN_2");
    cr_assert(memcmp(q.td.mrservicetd, want, 48) == 0, "TD 1.0: no MRSERVICETD");
    assert_bytes(q.td.report_data, "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20", 64, "report_data");
    cr_assert_eq(q.td.td_attributes, 0x10000000u);
    cr_assert_eq(q.td.xfam, 0x602e7u); /* bytes e7 02 06 00 .. LE */
    cr_assert_eq(q.td.seam_attributes, 0);
    cr_assert_eq(q.qe_report.isvsvn, 6);
    cr_assert_eq(q.qe_report.isvprodid, 2);
    cr_assert_eq(q.qe_report.miscselect, 0);
    assert_bytes(q.qe_report.mrsigner, "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5", 32, "QE mrsigner");
    assert_bytes(q.qe_report.attributes, "1500000000000000E700000000000000", 16, "QE attributes");
    cr_assert(memcmp(q.qe_report.report_data + 32, want, 32) == 0, "QE report data upper half is zero");
    cr_assert(q.qe_report_raw.data == b.data + QE_REPORT_OFF);
    cr_assert_eq(q.qe_auth_data.len, 32);
    cr_assert(q.qe_auth_data.data == b.data + AUTH_OFF);
    cr_assert_eq(q.pck_chain_pem.len, 3678);
    cr_assert(q.pck_chain_pem.data == b.data + PEM_OFF);
    cr_assert(memcmp(q.pck_chain_pem.data, "-----BEGIN CERTIFICATE-----", 27) == 0);
    tu_buf_free(&b);
}

Test(quote, crabbox_quote_fields)
{
    tu_buf b;
    cba_quote q;
    uint8_t zero[48] = { 0 };
    TU_REAL_OR_SKIP(CRABBOX_QUOTE, &b);
    cr_assert_eq(b.len, 5010);
    expect_ok(b.data, b.len, &q);
    assert_views_consistent(&q, b.data, b.len);
    cr_assert_eq(q.version, 4);
    cr_assert_eq(q.body_type, 2);
    cr_assert_eq(q.sig_data_len, 4304);
    cr_assert_eq(q.trailing_len, 70);
    assert_bytes(q.td.tee_tcb_svn, "0b010500000000000000000000000000", 16, "tee_tcb_svn");
    assert_bytes(q.td.mrseam, "7bf063280e94fb051f5dd7b1fc59ce9aac42bb961df8d44b709c9b0ff87a7b4df648657ba6d1189589feab1d5a3c9a9d", 48, "mrseam");
    assert_bytes(q.td.mrtd, "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077", 48, "mrtd");
    assert_bytes(q.td.rtmr[0], "68102e7b524af310f7b7d426ce75481e36c40f5d513a9009c046e9d37e31551f0134d954b496a3357fd61d03f07ffe96", 48, "rtmr0");
    assert_bytes(q.td.rtmr[1], "07e6f51aa763abfe75c3ddfbf4f425fe3f0ceff66d807a75e049303dce9addf68e7218729bd419638af63a370f65878c", 48, "rtmr1");
    assert_bytes(q.td.rtmr[2], "a2a58c9a959a4fa44bd6da0c97a2270c051faf12084cfe91ae900e4fdff6cdd4f69a82005e04ee920f231497894d677f", 48, "rtmr2");
    assert_bytes(q.td.rtmr[3], "700a470643dc8e2f4460aaa486fd7f98dc1416422951b56ae029340b7cd5d651efd7c9a39a03ce0f1147a340c919ce63", 48, "rtmr3");
    assert_bytes(q.td.mrconfigid, "01609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f7449000000000000000000000000000000", 48, "mrconfigid");
    assert_bytes(q.td.report_data, "997dfa609c1256a26b7b7f10cc60e5ec28bffd805fb1536a5387510787b479db9c52d3c8ea37b1e85ab673075bbe213361a61a60c95f4960aca49d12b32bfbdf", 64, "report_data");
    cr_assert(memcmp(q.td.mrowner, zero, 48) == 0);
    cr_assert_eq(q.td.td_attributes, 0x10000000u);
    cr_assert_eq(q.td.xfam, 0x0207u);
    cr_assert_eq(q.qe_report.isvsvn, 6);
    cr_assert_eq(q.qe_auth_data.len, 32);
    for (size_t i = 0; i < 32; i++) { cr_assert_eq(cbs_byte(q.qe_auth_data, i), i, "auth data 00 01 .. 1F"); }
    cr_assert_eq(q.pck_chain_pem.len, 4304u - 134u - 456u - 32u);
    tu_buf_free(&b);
}

Test(quote, sgx_quote_is_unsupported)
{
    tu_buf b;
    cba_quote q;
    cba_error err;
    TU_REAL_OR_SKIP(SGX_QUOTE, &b);
    cr_assert_eq(parse(b.data, b.len, &q, &err), CBA_E_QUOTE_UNSUPPORTED);
    cr_assert_str_eq(err.where, "quote.header.version");
    cr_assert(strstr(err.detail, "SGX") != NULL, "%s", err.detail);
    tu_buf_free(&b);
}

Test(quote, parsing_is_deterministic)
{
    tu_buf b;
    cba_quote q1, q2;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    memset(&q1, 0x11, sizeof q1);
    memset(&q2, 0x22, sizeof q2);
    expect_ok(b.data, b.len, &q1);
    expect_ok(b.data, b.len, &q2);
    cr_assert_eq(q1.version, q2.version);
    cr_assert(memcmp(&q1.td, &q2.td, sizeof q1.td) == 0);
    cr_assert(memcmp(&q1.qe_report, &q2.qe_report, sizeof q1.qe_report) == 0);
    cr_assert(cbs_eq(q1.pck_chain_pem, q2.pck_chain_pem) && cbs_eq(q1.signed_region, q2.signed_region));
    tu_buf_free(&b);
}

/* Every prefix that cuts into the signature data fails; prefixes that only drop some of the
 * zero padding are complete quotes with less padding (trailing zeros are optional). */
static void every_truncation(const char *rel)
{
    tu_buf b;
    size_t end, failed = 0, accepted = 0;
    TU_REAL_OR_SKIP(rel, &b);
    end = sig_end(&b);
    for (size_t len = 0; len < b.len; len++) {
        uint8_t *p = malloc(len ? len : 1); /* exact-size copy: ASan sees any over-read */
        cba_quote q;
        cba_error err;
        cr_assert_not_null(p);
        memcpy(p, b.data, len);
        if (len < end) {
            cr_assert_eq(parse(p, len, &q, &err), CBA_E_QUOTE_FORMAT, "truncated to %zu: %s at %s",
                         len, cba_err_name(err.code), err.where);
            failed++;
        } else {
            expect_ok(p, len, &q);
            cr_assert_eq(q.trailing_len, len - end);
            accepted++;
        }
        free(p);
    }
    cr_assert_eq(failed, end);
    cr_assert_eq(accepted, 70);
    cr_log_info("%s: %zu truncations rejected, %zu padding-only truncations accepted", rel, failed,
                accepted);
    tu_buf_free(&b);
}

Test(quote, every_truncation_dcap_qvl) { every_truncation(DCAP_QUOTE); }
Test(quote, every_truncation_crabbox) { every_truncation(CRABBOX_QUOTE); }

Test(quote, truncation_where)
{
    tu_buf b;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    expect_fail(b.data, 0, CBA_E_QUOTE_FORMAT, "quote.header");
    expect_fail(b.data, 47, CBA_E_QUOTE_FORMAT, "quote.header");
    expect_fail(b.data, 48, CBA_E_QUOTE_FORMAT, "quote.body");
    expect_fail(b.data, 631, CBA_E_QUOTE_FORMAT, "quote.body");
    expect_fail(b.data, 632, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    expect_fail(b.data, 635, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    expect_fail(b.data, 636, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    expect_fail(b.data, sig_end(&b) - 1, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    tu_buf_free(&b);
}

Test(quote, sig_data_len_bounds)
{
    tu_buf b;
    uint8_t *p, *exact;
    uint32_t sdl;
    size_t end;
    cba_quote q;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 0);
    sdl = get_le32(b.data + SIG_OFF);
    end = sig_end(&b);
    static const uint32_t huge[] = { 0xffffffffu, 0x80000000u, 0x7fffffffu, 0xfffffffcu };
    for (size_t i = 0; i < CBA_ARRAY_LEN(huge); i++) {
        put_le32(p + SIG_OFF, huge[i]);
        expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    }
    put_le32(p + SIG_OFF, 0);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    put_le32(p + SIG_OFF, 589);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    /* with padding present, +-1 stays in bounds and is caught by S == sig_data_len - 134 */
    put_le32(p + SIG_OFF, sdl + 1);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.cert_data.size");
    put_le32(p + SIG_OFF, sdl - 1);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.cert_data.size");
    put_le32(p + SIG_OFF, (uint32_t)(b.len - SIG_OFF - 4));
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.cert_data.size");
    put_le32(p + SIG_OFF, (uint32_t)(b.len - SIG_OFF - 3));
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    /* without padding, +1 runs past the end */
    exact = dup_buf(&b, 0);
    put_le32(exact + SIG_OFF, sdl + 1);
    expect_fail(exact, end, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    put_le32(exact + SIG_OFF, sdl);
    expect_ok(exact, end, &q);
    cr_assert_eq(q.trailing_len, 0);
    free(exact);
    free(p);
    tu_buf_free(&b);
}

Test(quote, inner_sizes_off_by_one)
{
    tu_buf b;
    uint8_t *p;
    uint32_t s_len, m;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 0);
    s_len = get_le32(b.data + CERT_SIZE_OFF);
    m = get_le32(b.data + INNER_SIZE_OFF);
    cr_assert_eq(s_len, 4166);
    cr_assert_eq(m, 3678);
    static const int deltas[] = { -1, 1 };
    for (size_t i = 0; i < 2; i++) {
        memcpy(p, b.data, b.len);
        put_le32(p + CERT_SIZE_OFF, (uint32_t)((int64_t)s_len + deltas[i]));
        expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.cert_data.size");
        memcpy(p, b.data, b.len);
        put_le32(p + INNER_SIZE_OFF, (uint32_t)((int64_t)m + deltas[i]));
        expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.size");
        /* n +-1 shifts the inner type onto neighbouring bytes (0x5E00 / 0x051F) */
        memcpy(p, b.data, b.len);
        put_le16(p + AUTH_SIZE_OFF, (uint16_t)(32 + deltas[i]));
        expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.type");
    }
    memcpy(p, b.data, b.len);
    put_le32(p + CERT_SIZE_OFF, 0xffffffffu);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.cert_data.size");
    memcpy(p, b.data, b.len);
    put_le32(p + INNER_SIZE_OFF, 0xffffffffu);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.size");
    memcpy(p, b.data, b.len);
    put_le16(p + AUTH_SIZE_OFF, 0xffff);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.qe_auth_data.size");
    memcpy(p, b.data, b.len);
    put_le16(p + AUTH_SIZE_OFF, 1025);
    expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.qe_auth_data.size");
    free(p);
    tu_buf_free(&b);
}

/* rebuild writes a v4 quote with a chosen auth data length n and PEM length m (contents taken
 * from the real quote where possible) so that the n/m/S relations can be probed directly. */
static size_t rebuild(const tu_buf *b, uint8_t *out, size_t cap, uint16_t n, uint32_t m)
{
    uint32_t s_len = 456u + n + m;
    size_t total = SIG_OFF + 4 + 134 + s_len;
    cr_assert_leq(total, cap);
    memset(out, 0, total);
    memcpy(out, b->data, CERT_SIZE_OFF); /* header, body, sig, key, type 6 */
    put_le32(out + SIG_OFF, 134 + s_len);
    put_le32(out + CERT_SIZE_OFF, s_len);
    memcpy(out + QE_REPORT_OFF, b->data + QE_REPORT_OFF, 448);
    put_le16(out + AUTH_SIZE_OFF, n);
    put_le16(out + AUTH_OFF + n, 5);
    put_le32(out + AUTH_OFF + n + 2, m);
    memset(out + AUTH_OFF + n + 6, 'A', m);
    return total;
}

Test(quote, auth_and_pem_lengths_and_caps)
{
    tu_buf b;
    uint8_t *p;
    size_t cap = 80000, len;
    cba_quote q;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = malloc(cap);
    cr_assert_not_null(p);
    len = rebuild(&b, p, cap, 0, 0); /* Intel's sample has n = 0; m = 0 parses (PEM fails later) */
    expect_ok(p, len, &q);
    cr_assert_eq(q.qe_auth_data.len, 0);
    cr_assert_eq(q.pck_chain_pem.len, 0);
    cr_assert_eq(q.sig_data_len, 590);
    len = rebuild(&b, p, cap, 1024, 16384);
    expect_ok(p, len, &q);
    cr_assert_eq(q.qe_auth_data.len, 1024);
    cr_assert_eq(q.pck_chain_pem.len, 16384);
    len = rebuild(&b, p, cap, 1025, 100);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.qe_auth_data.size");
    len = rebuild(&b, p, cap, 10, 16385);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.size");
    /* n larger than what S leaves, but under the cap */
    len = rebuild(&b, p, cap, 0, 100);
    put_le16(p + AUTH_SIZE_OFF, 101);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.qe_auth_data.size");
    len = rebuild(&b, p, cap, 0, 100);
    put_le16(p + AUTH_SIZE_OFF, 100);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.type");
    free(p);
    tu_buf_free(&b);
}

Test(quote, certification_data_types)
{
    tu_buf b;
    uint8_t *p;
    cba_quote q;
    cba_error err;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 0);
    static const uint16_t outer[] = { 0, 1, 4, 5, 7, 0xffff };
    for (size_t i = 0; i < CBA_ARRAY_LEN(outer); i++) {
        char want[64];
        put_le16(p + CERT_TYPE_OFF, outer[i]);
        expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.cert_data.type");
        parse(p, b.len, &q, &err);
        snprintf(want, sizeof want, "certification data type %u not supported", outer[i]);
        cr_assert(strstr(err.detail, want) != NULL, "%s", err.detail);
    }
    memcpy(p, b.data, b.len);
    static const uint16_t inner[] = { 0, 1, 2, 3, 4, 6, 7 };
    for (size_t i = 0; i < CBA_ARRAY_LEN(inner); i++) {
        char want[64];
        put_le16(p + INNER_TYPE_OFF, inner[i]);
        expect_fail(p, b.len, CBA_E_QUOTE_FORMAT, "quote.qe_cert_data.type");
        parse(p, b.len, &q, &err);
        snprintf(want, sizeof want, "certification data type %u not supported", inner[i]);
        cr_assert(strstr(err.detail, want) != NULL, "%s", err.detail);
    }
    free(p);
    tu_buf_free(&b);
}

Test(quote, trailing_bytes)
{
    tu_buf b;
    uint8_t *p;
    size_t end;
    cba_quote q;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    end = sig_end(&b);
    cr_assert_eq(end, 4936);
    p = dup_buf(&b, 1000);
    p[b.len - 1] = 0x01;
    expect_fail(p, b.len, CBA_E_QUOTE_TRAILING_DATA, "quote.trailing");
    p[b.len - 1] = 0;
    p[end] = 0x80;
    expect_fail(p, b.len, CBA_E_QUOTE_TRAILING_DATA, "quote.trailing");
    p[end] = 0;
    expect_ok(p, b.len + 1000, &q); /* extra zero bytes are more padding */
    cr_assert_eq(q.trailing_len, 1070);
    memcpy(p + b.len, "\nextra bytes(only for testing purpose)\n", 39);
    expect_fail(p, b.len + 39, CBA_E_QUOTE_TRAILING_DATA, "quote.trailing");
    memcpy(p + end, "GARBAGE", 7);
    expect_fail(p, end + 7, CBA_E_QUOTE_TRAILING_DATA, "quote.trailing");
    free(p);
    tu_buf_free(&b);
}

Test(quote, total_length_cap)
{
    tu_buf b;
    uint8_t *p;
    cba_quote q;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 65537 - b.len);
    expect_fail(p, 65537, CBA_E_QUOTE_FORMAT, "quote.length");
    expect_ok(p, 65536, &q);
    cr_assert_eq(q.trailing_len, 65536 - 4936);
    free(p);
    tu_buf_free(&b);
}

Test(quote, header_values)
{
    tu_buf b;
    uint8_t *p;
    cba_quote q;
    cba_error err;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 0);
    static const uint16_t versions[] = { 0, 1, 2, 6, 0x0400, 0xffff };
    for (size_t i = 0; i < CBA_ARRAY_LEN(versions); i++) {
        put_le16(p, versions[i]);
        expect_fail(p, b.len, CBA_E_QUOTE_UNSUPPORTED, "quote.header.version");
    }
    put_le16(p, 3);
    expect_fail(p, b.len, CBA_E_QUOTE_UNSUPPORTED, "quote.header.version");
    parse(p, b.len, &q, &err);
    cr_assert(strstr(err.detail, "SGX quote (version 3)") != NULL, "%s", err.detail);
    memcpy(p, b.data, b.len);
    static const uint16_t keys[] = { 0, 1, 3, 0x0200 };
    for (size_t i = 0; i < CBA_ARRAY_LEN(keys); i++) {
        put_le16(p + 2, keys[i]);
        expect_fail(p, b.len, CBA_E_QUOTE_UNSUPPORTED, "quote.header.att_key_type");
    }
    memcpy(p, b.data, b.len);
    put_le32(p + 4, 0);
    expect_fail(p, b.len, CBA_E_QUOTE_UNSUPPORTED, "quote.header.tee_type");
    parse(p, b.len, &q, &err);
    cr_assert(strstr(err.detail, "SGX") != NULL, "%s", err.detail);
    static const uint32_t tees[] = { 0x80, 0x82, 0x181, 0x81000000u };
    for (size_t i = 0; i < CBA_ARRAY_LEN(tees); i++) {
        put_le32(p + 4, tees[i]);
        expect_fail(p, b.len, CBA_E_QUOTE_UNSUPPORTED, "quote.header.tee_type");
    }
    memcpy(p, b.data, b.len);
    p[12] ^= 0x01;
    expect_fail(p, b.len, CBA_E_QE_VENDOR, "quote.header.qe_vendor_id");
    memcpy(p, b.data, b.len);
    p[27] ^= 0x80;
    expect_fail(p, b.len, CBA_E_QE_VENDOR, "quote.header.qe_vendor_id");
    /* a short SGX v3 quote is a format error (too short) before anything else */
    memcpy(p, b.data, b.len);
    put_le16(p, 3);
    expect_fail(p, 47, CBA_E_QUOTE_FORMAT, "quote.header");
    free(p);
    tu_buf_free(&b);
}

/* Any changed header byte either fails or shows up in the parsed header (the signature covers
 * the rest). Checked by re-serialising the parsed header over every byte and several masks. */
Test(quote, header_byte_changes_are_visible)
{
    tu_buf b;
    uint8_t *p, hdr[48];
    size_t accepted = 0, rejected = 0;
    static const uint8_t masks[] = { 0x01, 0x02, 0x10, 0x80, 0xff };
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 0);
    for (size_t off = 0; off < 48; off++) {
        for (size_t k = 0; k < CBA_ARRAY_LEN(masks); k++) {
            cba_quote q;
            cba_error err;
            memcpy(p, b.data, b.len);
            p[off] ^= masks[k];
            if (parse(p, b.len, &q, &err) != CBA_OK) {
                cr_assert_lt(off, 28, "only version/key/tee/vendor are checked (off %zu)", off);
                rejected++;
                continue;
            }
            accepted++;
            encode_header(&q, hdr);
            cr_assert(memcmp(hdr, p, 48) == 0, "byte %zu: the change must be visible", off);
            cr_assert(memcmp(hdr, b.data, 48) != 0);
            cr_assert(cbs_eq_mem(q.signed_region, p, 632), "the change lies in the signed region");
        }
    }
    cr_assert_eq(accepted, (4 + 20) * CBA_ARRAY_LEN(masks), "qe_svn, pce_svn, user_data");
    cr_assert_eq(rejected, 24 * CBA_ARRAY_LEN(masks));
    free(p);
    tu_buf_free(&b);
}

Test(quote, body_byte_changes_are_visible)
{
    tu_buf b;
    uint8_t *p, td[584];
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = dup_buf(&b, 0);
    for (size_t off = 48; off < 632; off++) {
        cba_quote q;
        memcpy(p, b.data, b.len);
        p[off] ^= 0x5a;
        expect_ok(p, b.len, &q);
        encode_td(&q.td, td, 584);
        cr_assert(memcmp(td, p + 48, 584) == 0, "body byte %zu", off);
    }
    free(p);
    tu_buf_free(&b);
}

/* make_v5 turns the real v4 quote into a v5 one: version 5, a 6-byte descriptor at 48, and for
 * body type 3 an extra 64 bytes (TEE_TCB_SVN_2, MRSERVICETD) after the 584-byte body. */
static size_t make_v5(const tu_buf *b, uint8_t *out, uint16_t body_type, uint32_t body_size,
                      bool td15_body)
{
    size_t extra = td15_body ? 64 : 0, o = 0;
    memcpy(out, b->data, 48);
    put_le16(out, 5);
    o = 48;
    put_le16(out + o, body_type);
    put_le32(out + o + 2, body_size);
    o += 6;
    memcpy(out + o, b->data + 48, 584);
    o += 584;
    for (size_t i = 0; i < extra; i++) { out[o + i] = (uint8_t)(0xc0 + i); }
    o += extra;
    memcpy(out + o, b->data + SIG_OFF, b->len - SIG_OFF);
    return o + b->len - SIG_OFF;
}

Test(quote, v5_descriptors)
{
    tu_buf b;
    uint8_t *p;
    size_t len;
    cba_quote q;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    p = calloc(1, b.len + 70);
    cr_assert_not_null(p);

    len = make_v5(&b, p, 2, 584, false);
    expect_ok(p, len, &q);
    assert_views_consistent(&q, p, len);
    cr_assert_eq(q.version, 5);
    cr_assert_eq(q.body_type, 2);
    cr_assert_eq(q.signed_region.len, 638);
    cr_assert_eq(q.trailing_len, 70);
    cr_assert_eq(q.td.td_attributes, 0x10000000u);

    len = make_v5(&b, p, 3, 648, true);
    expect_ok(p, len, &q);
    assert_views_consistent(&q, p, len);
    cr_assert_eq(q.body_type, 3);
    cr_assert_eq(q.body_size, 648);
    cr_assert_eq(q.signed_region.len, 702);
    cr_assert_eq(q.td.tee_tcb_svn2[0], 0xc0);
    cr_assert_eq(q.td.tee_tcb_svn2[15], 0xcf);
    cr_assert_eq(q.td.mrservicetd[0], 0xd0);
    cr_assert_eq(q.td.mrservicetd[47], 0xff);
    assert_bytes(q.td.mrtd, "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7", 48, "mrtd");

    len = make_v5(&b, p, 1, 384, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_type");
    len = make_v5(&b, p, 1, 584, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_type");
    len = make_v5(&b, p, 0, 584, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_type");
    len = make_v5(&b, p, 4, 584, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_type");
    len = make_v5(&b, p, 2, 648, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_size");
    len = make_v5(&b, p, 2, 583, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_size");
    len = make_v5(&b, p, 2, 585, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_size");
    len = make_v5(&b, p, 3, 584, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_size");
    len = make_v5(&b, p, 3, 0xffffffffu, true);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, "quote.body_size");
    /* a TD 1.5 descriptor on a TD 1.0 body: the shifted sig_data_len no longer fits */
    len = make_v5(&b, p, 3, 648, false);
    expect_fail(p, len, CBA_E_QUOTE_FORMAT, NULL);
    /* truncations inside the descriptor and the TD 1.5 body */
    len = make_v5(&b, p, 3, 648, true);
    for (size_t cut = 48; cut < 54; cut++) {
        expect_fail(p, cut, CBA_E_QUOTE_FORMAT, "quote.body_descriptor");
    }
    expect_fail(p, 54 + 647, CBA_E_QUOTE_FORMAT, "quote.body");
    expect_fail(p, 702, CBA_E_QUOTE_FORMAT, "quote.sig_data_len");
    free(p);
    tu_buf_free(&b);
}

Test(quote, bad_arguments)
{
    static const uint8_t one[1] = { 4 };
    cba_error err;
    cba_error_clear(&err);
    cr_assert_eq(cba_quote_parse(&err, NULL, cbs_make(one, 1)), CBA_E_ARGUMENT);
    cr_assert_eq(cba_quote_parse(NULL, NULL, cbs_make(one, 1)), CBA_E_ARGUMENT);
    expect_fail(NULL, 0, CBA_E_QUOTE_FORMAT, "quote.header");
}

/* ---- cba_quote_from_text ---------------------------------------------------------------- */

static char *to_hex(const uint8_t *in, size_t len, const char *prefix, const char *suffix, bool upper)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + 2 * len + sl + 1);
    cr_assert_not_null(s);
    memcpy(s, prefix, pl);
    cba_hex_encode(s + pl, in, len);
    if (upper) {
        for (size_t i = pl; i < pl + 2 * len; i++) {
            if (s[i] >= 'a' && s[i] <= 'f') { s[i] = (char)(s[i] - 'a' + 'A'); }
        }
    }
    memcpy(s + pl + 2 * len, suffix, sl + 1);
    return s;
}

static cbs str(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

Test(quote, from_text_raw_and_hex)
{
    tu_buf b;
    uint8_t *out;
    size_t out_len = 0;
    char *h1, *h2, *h3;
    TU_REAL_OR_SKIP(DCAP_QUOTE, &b);
    out = malloc(CBA_QUOTE_MAX_LEN);
    cr_assert_not_null(out);

    cr_assert(cba_quote_from_text(out, CBA_QUOTE_MAX_LEN, &out_len, cbs_make(b.data, b.len)));
    cr_assert_eq(out_len, b.len);
    cr_assert(memcmp(out, b.data, b.len) == 0);

    h1 = to_hex(b.data, b.len, "", "", false);
    h2 = to_hex(b.data, b.len, " \n\t0x", "\r\n\n ", true);
    h3 = to_hex(b.data, b.len, "0X", "", false);
    const char *const texts[] = { h1, h2, h3 };
    for (size_t i = 0; i < 3; i++) {
        memset(out, 0, CBA_QUOTE_MAX_LEN);
        out_len = 0;
        cr_assert(cba_quote_from_text(out, CBA_QUOTE_MAX_LEN, &out_len, str(texts[i])), "text %zu", i);
        cr_assert_eq(out_len, b.len);
        cr_assert(memcmp(out, b.data, b.len) == 0);
    }
    /* capacity: exact fits, one less does not (and out_len stays) */
    out_len = 7;
    cr_assert_not(cba_quote_from_text(out, b.len - 1, &out_len, str(h1)));
    cr_assert_not(cba_quote_from_text(out, b.len - 1, &out_len, cbs_make(b.data, b.len)));
    cr_assert_eq(out_len, 7);
    cr_assert(cba_quote_from_text(out, b.len, &out_len, str(h1)));
    cr_assert(cba_quote_from_text(out, b.len, &out_len, cbs_make(b.data, b.len)));

    h1[100] = 'g';
    cr_assert_not(cba_quote_from_text(out, CBA_QUOTE_MAX_LEN, &out_len, str(h1)));
    h1[100] = '0';
    h1[2 * b.len - 1] = '\0'; /* odd length */
    cr_assert_not(cba_quote_from_text(out, CBA_QUOTE_MAX_LEN, &out_len, str(h1)));
    h1[1000] = ' '; /* inner whitespace is not allowed */
    h1[2 * b.len - 2] = '\0';
    cr_assert_not(cba_quote_from_text(out, CBA_QUOTE_MAX_LEN, &out_len, str(h1)));
    free(h1);
    free(h2);
    free(h3);
    free(out);
    tu_buf_free(&b);
}

Test(quote, from_text_edge_cases)
{
    uint8_t out[64];
    size_t out_len = 99;
    static const uint8_t raw_v5[] = { 5, 0, 2, 0 }, raw_v3[] = { 3, 0, 2, 0 },
                         raw_v6[] = { 6, 0, 2, 0 }, raw_bad[] = { 4, 1, 2, 0 }, one[] = { 4 };
    static const char *const bad[] = { "", "   ", "0x", " 0x ", "0", "abc", "0x0x00", "x00",
                                       "00 00", "zz", "\xff\xfe" };
    for (size_t i = 0; i < CBA_ARRAY_LEN(bad); i++) {
        cr_assert_not(cba_quote_from_text(out, sizeof out, &out_len, str(bad[i])), "'%s'", bad[i]);
    }
    cr_assert_eq(out_len, 99);
    cr_assert(cba_quote_from_text(out, sizeof out, &out_len, str("0x0400")));
    cr_assert_eq(out_len, 2);
    cr_assert(out[0] == 4 && out[1] == 0);
    cr_assert(cba_quote_from_text(out, sizeof out, &out_len, cbs_make(raw_v5, sizeof raw_v5)));
    cr_assert_eq(out_len, 4);
    cr_assert(cba_quote_from_text(out, sizeof out, &out_len, cbs_make(raw_v3, sizeof raw_v3)));
    cr_assert_not(cba_quote_from_text(out, sizeof out, &out_len, cbs_make(raw_v6, sizeof raw_v6)));
    cr_assert_not(cba_quote_from_text(out, sizeof out, &out_len, cbs_make(raw_bad, sizeof raw_bad)));
    cr_assert_not(cba_quote_from_text(out, sizeof out, &out_len, cbs_make(one, sizeof one)));
    cr_assert_not(cba_quote_from_text(NULL, 0, &out_len, str("00")));
    cr_assert_not(cba_quote_from_text(out, sizeof out, NULL, str("00")));
}
