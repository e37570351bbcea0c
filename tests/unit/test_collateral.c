/* test_collateral.c — QuoteCollateralV3 JSON, TDX TCB info v3 and TD_QE identity v2 parsing
 * (dcap-spec §3.1–§3.3): the real dcap-qvl collateral, then every field rule on synthetic
 * documents built with json-c and mutated one field at a time. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral.h"
#include "testutil.h"

TestSuite(collateral, .timeout = 30);

#define REAL_COLLATERAL "dcap-qvl-tdx/tdx_quote_collateral.json"

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

static json_object *obj_from_text(const char *s)
{
    json_object *o = json_tokener_parse(s);
    cr_assert_not_null(o, "test JSON must parse: %.80s", s);
    return o;
}

/* to_text serialises o compactly into a heap string (caller frees). */
static char *to_text(json_object *o)
{
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    cr_assert_not_null(s);
    return s;
}

/* replace_once returns a copy of s with the first `from` replaced by `to` (must occur). */
static char *replace_once(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    size_t n;
    char *r;
    cr_assert_not_null(p, "test text must contain %s", from);
    n = strlen(s) - strlen(from) + strlen(to) + 1;
    r = malloc(n);
    cr_assert_not_null(r);
    snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

/* ---- real collateral ---------------------------------------------------------------------- */

static void load_real(tu_buf *buf, cba_collateral_raw *raw)
{
    cba_error e;
    cba_error_clear(&e);
    cr_assert_eq(cba_collateral_raw_parse(&e, raw, cbs_make(buf->data, buf->len)), CBA_OK,
                 "%s: %s", e.where, e.detail);
}

Test(collateral, real_raw_members)
{
    tu_buf buf;
    cba_collateral_raw raw;
    static const uint8_t sig_head[] = { 0x02, 0x7e, 0xf6, 0xca };
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    load_real(&buf, &raw);
    cr_assert_eq(raw.root_ca_crl_len, 292);
    cr_assert_eq(raw.root_ca_crl[0], 0x30, "DER SEQUENCE");
    cr_assert_eq(raw.pck_crl_len, 5326 / 2);
    cr_assert_eq(raw.pck_crl[0], 0x30);
    cr_assert_eq(raw.tcb_info_len, 2934);
    cr_assert_eq(raw.qe_identity_len, 461);
    cr_assert_eq(raw.pck_crl_issuer_chain_len, 1904);
    cr_assert_eq(raw.tcb_info_issuer_chain_len, 1892);
    cr_assert_eq(raw.qe_identity_issuer_chain_len, 1892);
    cr_assert(memcmp(raw.tcb_info, "{\"id\":\"TDX\",\"version\":3,", 24) == 0);
    cr_assert(memcmp(raw.qe_identity_issuer_chain, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    cr_assert(memcmp(raw.tcb_info_signature, sig_head, sizeof sig_head) == 0);
    cr_assert_eq(raw.qe_identity_signature[0], 0xd6);
    cr_assert_null(raw.pck_certificate_chain);
    cr_assert_eq(raw.pck_certificate_chain_len, 0);
    cba_collateral_raw_cleanup(&raw);
    cr_assert_null(raw.tcb_info, "cleanup resets the struct");
    cba_collateral_raw_cleanup(&raw); /* idempotent */
    cba_collateral_raw_cleanup(NULL);
    tu_buf_free(&buf);
}

Test(collateral, real_tcb_info)
{
    tu_buf buf;
    cba_collateral_raw raw;
    cba_tcb_info info;
    cba_error e;
    static const uint8_t fmspc[6] = { 0xB0, 0xC0, 0x6F, 0x00, 0x00, 0x00 };
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    load_real(&buf, &raw);
    cba_error_clear(&e);
    cr_assert_eq(cba_tcb_info_parse(&e, &info, cbs_make(raw.tcb_info, raw.tcb_info_len)), CBA_OK,
                 "%s: %s", e.where, e.detail);
    cr_assert_eq(info.version, 3);
    cr_assert_eq(info.tcb_type, 0);
    cr_assert_eq(info.tcb_evaluation_data_number, 17);
    cr_assert(memcmp(info.fmspc, fmspc, 6) == 0);
    cr_assert_eq(info.pce_id[0], 0);
    cr_assert_eq(info.pce_id[1], 0);
    cr_assert_eq(info.issue_date, 1750328163); /* 2025-06-19T10:16:03Z */
    cr_assert_eq(info.next_update, 1752920163);
    cr_assert_eq(info.module_attributes, 0);
    cr_assert_eq(info.module_attributes_mask, UINT64_MAX);
    cr_assert_eq(info.num_modules, 2);
    cr_assert_eq(info.modules[0].version, 0x03);
    cr_assert_eq(info.modules[0].num_levels, 1);
    cr_assert_eq(info.modules[0].levels[0].isvsvn, 3);
    cr_assert_eq(info.modules[1].version, 0x01);
    cr_assert_eq(info.modules[1].num_levels, 2);
    cr_assert_eq(info.modules[1].levels[0].isvsvn, 4);
    cr_assert_eq(info.modules[1].levels[0].status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(info.modules[1].levels[1].isvsvn, 2);
    cr_assert_eq(info.modules[1].levels[1].status, CBA_TCB_OUT_OF_DATE);
    cr_assert_geq(info.num_levels, 2);
    /* Highest level first: UpToDate at pcesvn 11 with SGX SVNs 2 2 2 2 3 1 0 5 and TDX 5 0 2. */
    cr_assert_eq(info.levels[0].status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(info.levels[0].pcesvn, 11);
    cr_assert_eq(info.levels[0].sgx_svn[4], 3);
    cr_assert_eq(info.levels[0].sgx_svn[7], 5);
    cr_assert_eq(info.levels[0].tdx_svn[0], 5);
    cr_assert_eq(info.levels[0].tdx_svn[2], 2);
    cr_assert_eq(info.levels[0].advisories.num, 0);
    cr_assert_eq(info.levels[1].status, CBA_TCB_OUT_OF_DATE);
    cr_assert_gt(info.levels[1].advisories.num, 0);
    cr_assert_str_eq(info.levels[1].advisories.ids[0], "INTEL-SA-00106");
    for (size_t i = 1; i < info.num_levels; i++) {
        const cba_tcb_level *a = &info.levels[i - 1], *b = &info.levels[i];
        int d = memcmp(a->sgx_svn, b->sgx_svn, 16);
        cr_assert(d > 0 || (d == 0 && (a->pcesvn > b->pcesvn ||
                                       (a->pcesvn == b->pcesvn &&
                                        memcmp(a->tdx_svn, b->tdx_svn, 16) > 0))),
                  "levels sorted strictly descending at %zu", i);
    }
    cba_tcb_info_cleanup(&info);
    cba_tcb_info_cleanup(&info);
    cba_tcb_info_cleanup(NULL);
    cba_collateral_raw_cleanup(&raw);
    tu_buf_free(&buf);
}

Test(collateral, real_qe_identity)
{
    tu_buf buf;
    cba_collateral_raw raw;
    cba_qe_identity id;
    cba_error e;
    uint8_t mrsigner[32];
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    load_real(&buf, &raw);
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_parse(&e, &id, cbs_make(raw.qe_identity, raw.qe_identity_len)),
                 CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_eq(tu_hex(mrsigner, sizeof mrsigner,
                        "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5"),
                 32);
    cr_assert(memcmp(id.mrsigner, mrsigner, 32) == 0);
    cr_assert_eq(id.version, 2);
    cr_assert_eq(id.isvprodid, 2);
    cr_assert_eq(id.tcb_evaluation_data_number, 17);
    cr_assert_eq(id.miscselect, 0);
    cr_assert_eq(id.miscselect_mask, 0xFFFFFFFFu);
    cr_assert_eq(id.attributes[0], 0x11);
    cr_assert_eq(id.attributes_mask[0], 0xFB);
    cr_assert_eq(id.attributes_mask[8], 0x00);
    cr_assert_eq(id.num_levels, 1);
    cr_assert_eq(id.levels[0].isvsvn, 4);
    cr_assert_eq(id.levels[0].status, CBA_TCB_UP_TO_DATE);
    cba_qe_identity_cleanup(&id);
    cba_qe_identity_cleanup(NULL);
    cba_collateral_raw_cleanup(&raw);
    tu_buf_free(&buf);
}

/* ---- QuoteCollateralV3 rules (mutations of the real document) ------------------------------ */

/* raw_fail parses text and returns the error; *e holds where/detail. Checks out is clean. */
static cba_err raw_fail(const char *text, cba_error *e)
{
    cba_collateral_raw raw;
    cba_err rc;
    cba_error_clear(e);
    memset(&raw, 0xAA, sizeof raw);
    rc = cba_collateral_raw_parse(e, &raw, txt(text));
    if (rc != CBA_OK) {
        cr_assert_null(raw.tcb_info, "out cleaned up on failure");
        cr_assert_null(raw.pck_crl);
    }
    cba_collateral_raw_cleanup(&raw);
    return rc;
}

static json_object *real_obj(tu_buf *buf)
{
    return obj_from_text((const char *)buf->data);
}

/* mutate_and_fail serialises o and expects COLLATERAL_FORMAT at `where`. */
static void expect_raw_fail(json_object *o, const char *where)
{
    cba_error e;
    char *t = to_text(o);
    cr_assert_eq(raw_fail(t, &e), CBA_E_COLLATERAL_FORMAT, "expected failure at %s", where);
    cr_assert_str_eq(e.where, where, "detail: %s", e.detail);
    free(t);
}

Test(collateral, raw_unknown_member_named)
{
    tu_buf buf;
    cba_error e;
    json_object *o;
    char *t;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    o = real_obj(&buf);
    json_object_object_add(o, "tcb_info_v4", json_object_new_string("x"));
    t = to_text(o);
    cr_assert_eq(raw_fail(t, &e), CBA_E_COLLATERAL_FORMAT);
    cr_assert_str_eq(e.where, "collateral");
    cr_assert_not_null(strstr(e.detail, "tcb_info_v4"), "detail names the key: %s", e.detail);
    free(t);
    json_object_put(o);
    tu_buf_free(&buf);
}

Test(collateral, raw_unknown_member_sanitised)
{
    cba_error e;
    cr_assert_eq(raw_fail("{\"a\\u0001b\":\"x\"}", &e), CBA_E_COLLATERAL_FORMAT);
    /* Keys are reported as written (escaped): control bytes never reach the detail. */
    cr_assert_not_null(strstr(e.detail, "a\\u0001b"), "detail: %s", e.detail);
    for (const char *p = e.detail; *p; p++) { cr_assert((unsigned char)*p >= 0x20, "control byte in detail"); }
}

Test(collateral, raw_each_required_member_missing)
{
    static const char *const keys[] = { "pck_crl_issuer_chain", "root_ca_crl", "pck_crl",
                                        "tcb_info_issuer_chain", "tcb_info", "tcb_info_signature",
                                        "qe_identity_issuer_chain", "qe_identity",
                                        "qe_identity_signature" };
    tu_buf buf;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_object *o = real_obj(&buf);
        char where[64];
        json_object_object_del(o, keys[i]);
        snprintf(where, sizeof where, "collateral.%s", keys[i]);
        expect_raw_fail(o, where);
        json_object_put(o);
    }
    tu_buf_free(&buf);
}

Test(collateral, raw_member_wrong_type_or_empty)
{
    tu_buf buf;
    json_object *o;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    o = real_obj(&buf);
    json_object_object_add(o, "tcb_info", json_object_new_object()); /* not the text */
    expect_raw_fail(o, "collateral.tcb_info");
    json_object_put(o);
    o = real_obj(&buf);
    json_object_object_add(o, "pck_crl", json_object_new_int(1));
    expect_raw_fail(o, "collateral.pck_crl");
    json_object_put(o);
    o = real_obj(&buf);
    json_object_object_add(o, "qe_identity", json_object_new_string(""));
    expect_raw_fail(o, "collateral.qe_identity");
    json_object_put(o);
    o = real_obj(&buf);
    json_object_object_add(o, "pck_certificate_chain", json_object_new_int(0));
    expect_raw_fail(o, "collateral.pck_certificate_chain");
    json_object_put(o);
    tu_buf_free(&buf);
}

Test(collateral, raw_signature_lengths)
{
    static const char sig126[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
                                 "00112233445566778899aabbccddeeff00112233445566778899aabbccddee";
    tu_buf buf;
    char sig[140];
    json_object *o;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    o = real_obj(&buf);
    json_object_object_add(o, "tcb_info_signature", json_object_new_string(sig126));
    expect_raw_fail(o, "collateral.tcb_info_signature");
    json_object_put(o);
    snprintf(sig, sizeof sig, "%sffff", sig126); /* 130 */
    o = real_obj(&buf);
    json_object_object_add(o, "qe_identity_signature", json_object_new_string(sig));
    expect_raw_fail(o, "collateral.qe_identity_signature");
    json_object_put(o);
    snprintf(sig, sizeof sig, "%sfg", sig126); /* 128, not hex */
    o = real_obj(&buf);
    json_object_object_add(o, "qe_identity_signature", json_object_new_string(sig));
    expect_raw_fail(o, "collateral.qe_identity_signature");
    json_object_put(o);
    snprintf(sig, sizeof sig, "%sFF", sig126); /* upper case hex is fine */
    o = real_obj(&buf);
    json_object_object_add(o, "qe_identity_signature", json_object_new_string(sig));
    {
        char *t = to_text(o);
        cba_collateral_raw raw;
        cba_error e;
        cba_error_clear(&e);
        cr_assert_eq(cba_collateral_raw_parse(&e, &raw, txt(t)), CBA_OK, "%s", e.detail);
        cr_assert_eq(raw.qe_identity_signature[63], 0xFF);
        cr_assert_eq(raw.qe_identity_signature[62], 0xee);
        cba_collateral_raw_cleanup(&raw);
        free(t);
    }
    json_object_put(o);
    tu_buf_free(&buf);
}

Test(collateral, raw_crl_hex_rules)
{
    tu_buf buf;
    json_object *o;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    o = real_obj(&buf);
    json_object_object_add(o, "root_ca_crl", json_object_new_string("30820"));
    expect_raw_fail(o, "collateral.root_ca_crl");
    json_object_put(o);
    o = real_obj(&buf);
    json_object_object_add(o, "pck_crl", json_object_new_string("30zz"));
    expect_raw_fail(o, "collateral.pck_crl");
    json_object_put(o);
    o = real_obj(&buf);
    json_object_object_add(o, "pck_crl", json_object_new_string("0x3082"));
    expect_raw_fail(o, "collateral.pck_crl");
    json_object_put(o);
    tu_buf_free(&buf);
}

static char *b64_pem(const uint8_t *der, size_t len, size_t line_len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = len * 2 + 128, n = 0, col = 0;
    char *out = malloc(cap), *b = malloc(len * 2 + 8);
    size_t m = 0;
    cr_assert(out && b);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len) { v |= (uint32_t)der[i + 1] << 8; }
        if (i + 2 < len) { v |= der[i + 2]; }
        b[m++] = a[v >> 18 & 63];
        b[m++] = a[v >> 12 & 63];
        b[m++] = i + 1 < len ? a[v >> 6 & 63] : '=';
        b[m++] = i + 2 < len ? a[v & 63] : '=';
    }
    n += (size_t)snprintf(out + n, cap - n, "-----BEGIN X509 CRL-----\n");
    for (size_t i = 0; i < m; i++) {
        out[n++] = b[i];
        if (++col == line_len) {
            out[n++] = '\n';
            col = 0;
        }
    }
    if (col != 0) { out[n++] = '\n'; }
    snprintf(out + n, cap - n, "-----END X509 CRL-----\n");
    free(b);
    return out;
}

/* with_root_crl parses the real collateral with root_ca_crl replaced by `value`. */
static cba_err with_root_crl(tu_buf *buf, const char *value, cba_collateral_raw *raw,
                             cba_error *e)
{
    json_object *o = real_obj(buf);
    char *t;
    cba_err rc;
    json_object_object_add(o, "root_ca_crl", json_object_new_string(value));
    t = to_text(o);
    cba_error_clear(e);
    rc = cba_collateral_raw_parse(e, raw, txt(t));
    free(t);
    json_object_put(o);
    return rc;
}

Test(collateral, raw_crl_pem_accepted)
{
    tu_buf buf;
    cba_collateral_raw raw, pem;
    cba_error e;
    char *p;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    load_real(&buf, &raw);
    for (size_t line = 64; line <= 76; line += 12) {
        p = b64_pem(raw.root_ca_crl, raw.root_ca_crl_len, line);
        cr_assert_eq(with_root_crl(&buf, p, &pem, &e), CBA_OK, "%s: %s", e.where, e.detail);
        cr_assert_eq(pem.root_ca_crl_len, raw.root_ca_crl_len);
        cr_assert(memcmp(pem.root_ca_crl, raw.root_ca_crl, raw.root_ca_crl_len) == 0);
        cba_collateral_raw_cleanup(&pem);
        free(p);
    }
    /* 292 = 3*97 + 1: two padding characters; also try 291 and 290 bytes of it for 0/1 '='. */
    for (size_t cut = 1; cut <= 2; cut++) {
        p = b64_pem(raw.root_ca_crl, raw.root_ca_crl_len - cut, 64);
        cr_assert_eq(with_root_crl(&buf, p, &pem, &e), CBA_OK, "%s", e.detail);
        cr_assert_eq(pem.root_ca_crl_len, raw.root_ca_crl_len - cut);
        cba_collateral_raw_cleanup(&pem);
        free(p);
    }
    cba_collateral_raw_cleanup(&raw);
    tu_buf_free(&buf);
}

Test(collateral, raw_crl_pem_malformed)
{
    tu_buf buf;
    cba_collateral_raw raw, pem;
    cba_error e;
    char *good, *bad;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    load_real(&buf, &raw);
    good = b64_pem(raw.root_ca_crl, raw.root_ca_crl_len, 64); /* ends "...==\n-----END" */
    struct {
        const char *from, *to;
    } cases[] = {
        { "-----BEGIN X509 CRL-----", "-----BEGIN CERTIFICATE-----" },
        { "-----END X509 CRL-----\n", "-----END X509 CRL-----\nxx" },
        { "-----END X509 CRL-----\n", "" },                  /* no END line */
        { "==\n", "=A\n" },                                   /* data after padding */
        { "==\n", "=\n" },                                    /* length not a multiple of 4 */
        { "==\n", "===\n" },                                  /* too much padding */
        { "\nMII", "\nM\x01I" },                              /* not base64 */
        { "\n-----END", "\n\n-----END" },                     /* empty line */
        { "-----BEGIN X509 CRL-----\n", "-----BEGIN X509 CRL-----" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad = replace_once(good, cases[i].from, cases[i].to);
        cr_assert_eq(with_root_crl(&buf, bad, &pem, &e), CBA_E_COLLATERAL_FORMAT, "case %zu", i);
        cr_assert_str_eq(e.where, "collateral.root_ca_crl", "case %zu", i);
        free(bad);
    }
    /* Non-zero bits under the padding: the last data character before "==" must be one of
     * A, Q, g, w (low four bits zero). */
    {
        char *pad = strstr(good, "==\n");
        char saved;
        cr_assert_not_null(pad);
        saved = pad[-1];
        pad[-1] = (saved == 'B') ? 'C' : 'B';
        cr_assert_eq(with_root_crl(&buf, good, &pem, &e), CBA_E_COLLATERAL_FORMAT);
        pad[-1] = saved;
    }
    /* A line longer than 76 characters. */
    free(good);
    good = b64_pem(raw.root_ca_crl, raw.root_ca_crl_len, 80);
    cr_assert_eq(with_root_crl(&buf, good, &pem, &e), CBA_E_COLLATERAL_FORMAT);
    free(good);
    cba_collateral_raw_cleanup(&raw);
    tu_buf_free(&buf);
}

Test(collateral, raw_not_object_duplicate_trailing)
{
    tu_buf buf;
    cba_error e;
    char *dup, *trail;
    cr_assert_eq(raw_fail("[]", &e), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(raw_fail("\"x\"", &e), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(raw_fail("", &e), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(raw_fail("{}", &e), CBA_E_COLLATERAL_FORMAT);
    cr_assert_str_eq(e.where, "collateral.pck_crl_issuer_chain");
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    /* A second "tcb_info" member: json-c would keep the last one silently. */
    dup = replace_once((const char *)buf.data, "\"tcb_info\": ",
                       "\"tcb_info\": \"{}\", \"tcb_info\": ");
    cr_assert_eq(raw_fail(dup, &e), CBA_E_COLLATERAL_FORMAT);
    free(dup);
    trail = malloc(buf.len + 3);
    cr_assert_not_null(trail);
    snprintf(trail, buf.len + 3, "%s{}", (const char *)buf.data);
    cr_assert_eq(raw_fail(trail, &e), CBA_E_COLLATERAL_FORMAT);
    free(trail);
    tu_buf_free(&buf);
}

Test(collateral, raw_optional_chain_and_exact_bytes)
{
    tu_buf buf;
    json_object *o;
    cba_collateral_raw raw;
    cba_error e;
    char *t;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    o = real_obj(&buf);
    json_object_object_add(o, "pck_certificate_chain", json_object_new_string("PEM"));
    /* Embedded NUL and escapes: the member's bytes are kept exactly (the signed bytes). */
    json_object_object_add(o, "qe_identity", json_object_new_string_len("a\0\"b", 4));
    t = to_text(o);
    cba_error_clear(&e);
    cr_assert_eq(cba_collateral_raw_parse(&e, &raw, txt(t)), CBA_OK, "%s", e.detail);
    cr_assert_eq(raw.pck_certificate_chain_len, 3);
    cr_assert(memcmp(raw.pck_certificate_chain, "PEM", 3) == 0);
    cr_assert_eq(raw.qe_identity_len, 4);
    cr_assert(memcmp(raw.qe_identity, "a\0\"b", 4) == 0);
    cba_collateral_raw_cleanup(&raw);
    free(t);
    json_object_put(o);
    tu_buf_free(&buf);
}

Test(collateral, raw_size_caps)
{
    tu_buf buf;
    json_object *o;
    char *big, *t;
    cba_error e;
    cba_collateral_raw raw;
    uint8_t *huge;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &buf);
    big = malloc(CBA_COLLATERAL_MEMBER_MAX + 2);
    cr_assert_not_null(big);
    memset(big, 'a', CBA_COLLATERAL_MEMBER_MAX + 1);
    big[CBA_COLLATERAL_MEMBER_MAX + 1] = '\0';
    o = real_obj(&buf);
    json_object_object_add(o, "tcb_info", json_object_new_string(big));
    expect_raw_fail(o, "collateral.tcb_info");
    json_object_put(o);
    big[CBA_COLLATERAL_MEMBER_MAX] = '\0'; /* exactly at the cap: accepted */
    o = real_obj(&buf);
    json_object_object_add(o, "tcb_info", json_object_new_string(big));
    t = to_text(o);
    cba_error_clear(&e);
    cr_assert_eq(cba_collateral_raw_parse(&e, &raw, txt(t)), CBA_OK, "%s", e.detail);
    cr_assert_eq(raw.tcb_info_len, CBA_COLLATERAL_MEMBER_MAX);
    cba_collateral_raw_cleanup(&raw);
    free(t);
    json_object_put(o);
    free(big);
    huge = calloc(1, CBA_COLLATERAL_MAX_LEN + 1); /* rejected before parsing */
    cr_assert_not_null(huge);
    cba_error_clear(&e);
    cr_assert_eq(cba_collateral_raw_parse(&e, &raw, cbs_make(huge, CBA_COLLATERAL_MAX_LEN + 1)),
                 CBA_E_COLLATERAL_FORMAT);
    cr_assert_str_eq(e.where, "collateral");
    free(huge);
    tu_buf_free(&buf);
}

/* ---- TCB info field rules (synthetic) ------------------------------------------------------ */

static json_object *components(uint8_t first)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < 16; i++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "svn", json_object_new_int(i == 0 ? first : 0));
        if (i == 0) {
            json_object_object_add(c, "category", json_object_new_string("BIOS"));
            json_object_object_add(c, "type", json_object_new_string("Early Microcode Update"));
        }
        json_object_array_add(a, c);
    }
    return a;
}

static json_object *platform_level(uint8_t sgx0, int pcesvn, const char *status)
{
    json_object *l = json_object_new_object(), *tcb = json_object_new_object();
    json_object_object_add(tcb, "sgxtcbcomponents", components(sgx0));
    json_object_object_add(tcb, "pcesvn", json_object_new_int(pcesvn));
    json_object_object_add(tcb, "tdxtcbcomponents", components(5));
    json_object_object_add(l, "tcb", tcb);
    json_object_object_add(l, "tcbDate", json_object_new_string("2024-03-13T00:00:00Z"));
    json_object_object_add(l, "tcbStatus", json_object_new_string(status));
    return l;
}

static json_object *module_level(int isvsvn, const char *status)
{
    json_object *l = json_object_new_object(), *tcb = json_object_new_object();
    json_object_object_add(tcb, "isvsvn", json_object_new_int(isvsvn));
    json_object_object_add(l, "tcb", tcb);
    json_object_object_add(l, "tcbDate", json_object_new_string("2024-03-13T00:00:00Z"));
    json_object_object_add(l, "tcbStatus", json_object_new_string(status));
    return l;
}

static void module_fields(json_object *m)
{
    char zeros[97];
    memset(zeros, '0', 96);
    zeros[96] = '\0';
    json_object_object_add(m, "mrsigner", json_object_new_string(zeros));
    json_object_object_add(m, "attributes", json_object_new_string("0000000000000000"));
    json_object_object_add(m, "attributesMask", json_object_new_string("FFFFFFFFFFFFFFFF"));
}

static json_object *module_identity(const char *id)
{
    json_object *m = json_object_new_object(), *levels = json_object_new_array();
    json_object_object_add(m, "id", json_object_new_string(id));
    module_fields(m);
    json_object_array_add(levels, module_level(4, "UpToDate"));
    json_object_array_add(levels, module_level(2, "OutOfDate"));
    json_object_object_add(m, "tcbLevels", levels);
    return m;
}

/* base_tcb_info is a valid TCB info: 3 platform levels given in ascending order (the parser
 * sorts), one module identity, and an unknown member (ignored). */
static json_object *base_tcb_info(void)
{
    json_object *o = json_object_new_object(), *mod = json_object_new_object();
    json_object *mods = json_object_new_array(), *levels = json_object_new_array();
    json_object_object_add(o, "id", json_object_new_string("TDX"));
    json_object_object_add(o, "version", json_object_new_int(3));
    json_object_object_add(o, "issueDate", json_object_new_string("2025-06-19T10:16:03Z"));
    json_object_object_add(o, "nextUpdate", json_object_new_string("2025-07-19T10:16:03Z"));
    json_object_object_add(o, "fmspc", json_object_new_string("B0C06F000000"));
    json_object_object_add(o, "pceId", json_object_new_string("0000"));
    json_object_object_add(o, "tcbType", json_object_new_int(0));
    json_object_object_add(o, "tcbEvaluationDataNumber", json_object_new_int(17));
    json_object_object_add(o, "futureField", json_object_new_string("ignored"));
    module_fields(mod);
    json_object_object_add(o, "tdxModule", mod);
    json_object_array_add(mods, module_identity("TDX_03"));
    json_object_object_add(o, "tdxModuleIdentities", mods);
    json_object_array_add(levels, platform_level(1, 5, "OutOfDate"));
    json_object_array_add(levels, platform_level(2, 11, "SWHardeningNeeded"));
    json_object_array_add(levels, platform_level(2, 13, "UpToDate"));
    json_object_object_add(o, "tcbLevels", levels);
    return o;
}

static cba_err tcb_text(const char *t, cba_tcb_info *info, cba_error *e)
{
    cba_error_clear(e);
    memset(info, 0x55, sizeof *info);
    return cba_tcb_info_parse(e, info, txt(t));
}

/* tcb_obj_rc parses o; on failure checks the code is TCB_INFO_FORMAT and info was reset. */
static cba_err tcb_obj_rc(json_object *o, cba_error *e)
{
    cba_tcb_info info;
    char *t = to_text(o);
    cba_err rc = tcb_text(t, &info, e);
    if (rc != CBA_OK) {
        cr_assert_eq(rc, CBA_E_TCB_INFO_FORMAT, "%s: %s", e->where, e->detail);
        cr_assert_null(info.levels);
        cr_assert_null(info.modules);
    }
    cba_tcb_info_cleanup(&info);
    free(t);
    return rc;
}

/* level0 returns tcbLevels[i] of o. */
static json_object *level_at(json_object *o, size_t i)
{
    json_object *levels;
    cr_assert(json_object_object_get_ex(o, "tcbLevels", &levels));
    return json_object_array_get_idx(levels, i);
}

static json_object *level_tcb(json_object *o, size_t i)
{
    json_object *tcb;
    cr_assert(json_object_object_get_ex(level_at(o, i), "tcb", &tcb));
    return tcb;
}

Test(collateral, tcb_info_base_sorted_and_unknown_ignored)
{
    json_object *o = base_tcb_info();
    char *t = to_text(o);
    cba_tcb_info info;
    cba_error e;
    cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_eq(info.num_levels, 3);
    cr_assert_eq(info.levels[0].status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(info.levels[0].pcesvn, 13);
    cr_assert_eq(info.levels[1].status, CBA_TCB_SW_HARDENING_NEEDED);
    cr_assert_eq(info.levels[2].status, CBA_TCB_OUT_OF_DATE);
    cr_assert_eq(info.levels[2].sgx_svn[0], 1);
    cr_assert_eq(info.levels[0].tdx_svn[0], 5);
    cr_assert_eq(info.levels[0].tcb_date, 1710288000); /* 2024-03-13T00:00:00Z */
    cr_assert_eq(info.num_modules, 1);
    cr_assert_eq(info.modules[0].version, 3);
    cr_assert_eq(info.modules[0].attributes_mask, UINT64_MAX);
    cba_tcb_info_cleanup(&info);
    free(t);
    json_object_put(o);
}

Test(collateral, tcb_info_sort_tiebreaks)
{
    /* Same SGX SVNs: PCESVN decides; same PCESVN too: TDX SVNs decide. */
    json_object *o = base_tcb_info(), *levels, *l;
    char *t;
    cba_tcb_info info;
    cba_error e;
    cr_assert(json_object_object_get_ex(o, "tcbLevels", &levels));
    l = platform_level(2, 13, "OutOfDate");
    json_object_object_add(json_object_object_get(l, "tcb"), "tdxtcbcomponents", components(4));
    json_object_array_add(levels, l);
    t = to_text(o);
    cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(info.num_levels, 4);
    cr_assert_eq(info.levels[0].tdx_svn[0], 5);
    cr_assert_eq(info.levels[0].status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(info.levels[1].tdx_svn[0], 4);
    cr_assert_eq(info.levels[1].pcesvn, 13);
    cr_assert_eq(info.levels[2].pcesvn, 11);
    cba_tcb_info_cleanup(&info);
    free(t);
    json_object_put(o);
}

Test(collateral, tcb_info_duplicate_level)
{
    json_object *o = base_tcb_info(), *levels;
    cba_error e;
    cr_assert(json_object_object_get_ex(o, "tcbLevels", &levels));
    /* Equal under Intel's comparator although the status differs. */
    json_object_array_add(levels, platform_level(2, 11, "Revoked"));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tcbLevels");
    cr_assert_not_null(strstr(e.detail, "[1] and [3]"), "%s", e.detail);
    json_object_put(o);
}

Test(collateral, tcb_info_header_fields)
{
    struct {
        const char *key, *where;
    } cases[] = {
        { "id", "tcb_info" },        { "version", "tcb_info" },
        { "issueDate", "tcb_info" }, { "nextUpdate", "tcb_info" },
        { "fmspc", "tcb_info" },     { "pceId", "tcb_info" },
        { "tcbType", "tcb_info" },   { "tcbEvaluationDataNumber", "tcb_info" },
        { "tdxModule", "tcb_info" }, { "tcbLevels", "tcb_info" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *o = base_tcb_info();
        cba_error e;
        json_object_object_del(o, cases[i].key);
        cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT, "missing %s", cases[i].key);
        cr_assert_str_eq(e.where, cases[i].where);
        cr_assert_not_null(strstr(e.detail, cases[i].key), "%s", e.detail);
        json_object_put(o);
    }
}

/* set_and_expect replaces member key of o (a copy of base) with v and expects `want`. */
static void set_and_expect(const char *key, json_object *v, cba_err want, const char *where)
{
    json_object *o = base_tcb_info();
    cba_error e;
    json_object_object_add(o, key, v);
    cr_assert_eq(tcb_obj_rc(o, &e), want, "%s", key);
    if (want != CBA_OK && where != NULL) {
        cr_assert_str_eq(e.where, where, "%s: %s", key, e.detail);
    }
    json_object_put(o);
}

Test(collateral, tcb_info_header_values)
{
    set_and_expect("id", json_object_new_string("SGX"), CBA_E_TCB_INFO_FORMAT, "tcb_info.id");
    set_and_expect("id", json_object_new_string("tdx"), CBA_E_TCB_INFO_FORMAT, "tcb_info.id");
    set_and_expect("version", json_object_new_int(2), CBA_E_TCB_INFO_FORMAT, "tcb_info.version");
    set_and_expect("version", json_object_new_int(4), CBA_E_TCB_INFO_FORMAT, "tcb_info.version");
    set_and_expect("version", json_object_new_string("3"), CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("version", json_object_new_boolean(1), CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("tcbType", json_object_new_int(1), CBA_E_TCB_INFO_FORMAT, "tcb_info.tcbType");
    set_and_expect("tcbEvaluationDataNumber", json_object_new_int(-1), CBA_E_TCB_INFO_FORMAT,
                   "tcb_info");
    set_and_expect("tcbEvaluationDataNumber", json_object_new_int64(4294967296LL),
                   CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("tcbEvaluationDataNumber", json_object_new_int64(4294967295LL), CBA_OK, NULL);
    set_and_expect("fmspc", json_object_new_string("B0C06F00000"), CBA_E_TCB_INFO_FORMAT,
                   "tcb_info");
    set_and_expect("fmspc", json_object_new_string("B0C06F0000000"), CBA_E_TCB_INFO_FORMAT,
                   "tcb_info");
    set_and_expect("fmspc", json_object_new_string("B0C06F00000G"), CBA_E_TCB_INFO_FORMAT,
                   "tcb_info");
    set_and_expect("pceId", json_object_new_string("000"), CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("issueDate", json_object_new_string("2025-06-19T10:16:03+00:00"),
                   CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("issueDate", json_object_new_string("2025-06-19 10:16:03Z"),
                   CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("nextUpdate", json_object_new_string("2025-06-19T10:16:02Z"),
                   CBA_E_TCB_INFO_FORMAT, "tcb_info.nextUpdate");
    set_and_expect("nextUpdate", json_object_new_string("2025-06-19T10:16:03Z"), CBA_OK, NULL);
    set_and_expect("tcbLevels", json_object_new_array(), CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("tcbLevels", json_object_new_object(), CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("tdxModule", json_object_new_string("x"), CBA_E_TCB_INFO_FORMAT, "tcb_info");
    set_and_expect("tdxModuleIdentities", json_object_new_array(), CBA_E_TCB_INFO_FORMAT,
                   "tcb_info");
    set_and_expect("tdxModuleIdentities", json_object_new_object(), CBA_E_TCB_INFO_FORMAT,
                   "tcb_info");
}

Test(collateral, tcb_info_fmspc_hex_case)
{
    static const uint8_t want[6] = { 0x20, 0xA0, 0x6F, 0x00, 0x00, 0x00 };
    const char *variants[] = { "20A06F000000", "20a06f000000", "20a06F000000" };
    for (size_t i = 0; i < 3; i++) {
        json_object *o = base_tcb_info();
        char *t;
        cba_tcb_info info;
        cba_error e;
        json_object_object_add(o, "fmspc", json_object_new_string(variants[i]));
        json_object_object_add(o, "pceId", json_object_new_string(i ? "0a0B" : "0A0B"));
        t = to_text(o);
        cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s", e.detail);
        cr_assert(memcmp(info.fmspc, want, 6) == 0, "%s", variants[i]);
        cr_assert_eq(info.pce_id[0], 0x0A);
        cr_assert_eq(info.pce_id[1], 0x0B);
        cba_tcb_info_cleanup(&info);
        free(t);
        json_object_put(o);
    }
}

Test(collateral, tcb_info_double_where_integer)
{
    json_object *o = base_tcb_info();
    char *t = to_text(o), *bad;
    cba_tcb_info info;
    cba_error e;
    bad = replace_once(t, "\"version\":3", "\"version\":3.0");
    cr_assert_eq(tcb_text(bad, &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_not_null(strstr(e.detail, "version"), "%s", e.detail);
    free(bad);
    bad = replace_once(t, "\"pcesvn\":13", "\"pcesvn\":13.0");
    cr_assert_eq(tcb_text(bad, &info, &e), CBA_E_TCB_INFO_FORMAT);
    free(bad);
    bad = replace_once(t, "\"svn\":2", "\"svn\":2e0");
    cr_assert_eq(tcb_text(bad, &info, &e), CBA_E_TCB_INFO_FORMAT);
    free(bad);
    bad = replace_once(t, "\"isvsvn\":4", "\"isvsvn\":4.5");
    cr_assert_eq(tcb_text(bad, &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities[0].tcbLevels[0]");
    free(bad);
    free(t);
    json_object_put(o);
}

Test(collateral, tcb_info_duplicate_json_key)
{
    json_object *o = base_tcb_info();
    char *t = to_text(o), *bad;
    cba_tcb_info info;
    cba_error e;
    /* A second fmspc would let the signed text say one thing and json-c keep another. */
    bad = replace_once(t, "\"fmspc\":", "\"fmspc\":\"000000000000\",\"fmspc\":");
    cr_assert_eq(tcb_text(bad, &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_null(info.levels);
    free(bad);
    bad = replace_once(t, "\"pcesvn\":13", "\"pcesvn\":13,\"pcesvn\":99");
    cr_assert_eq(tcb_text(bad, &info, &e), CBA_E_TCB_INFO_FORMAT);
    free(bad);
    free(t);
    json_object_put(o);
}

Test(collateral, tcb_info_component_counts_and_ranges)
{
    struct {
        const char *arr;
        int count; /* components in the array */
        int svn;   /* value of component 3 */
        cba_err want;
    } cases[] = {
        { "sgxtcbcomponents", 15, 0, CBA_E_TCB_INFO_FORMAT },
        { "sgxtcbcomponents", 17, 0, CBA_E_TCB_INFO_FORMAT },
        { "tdxtcbcomponents", 15, 0, CBA_E_TCB_INFO_FORMAT },
        { "tdxtcbcomponents", 17, 0, CBA_E_TCB_INFO_FORMAT },
        { "tdxtcbcomponents", 0, 0, CBA_E_TCB_INFO_FORMAT },
        { "sgxtcbcomponents", 16, 256, CBA_E_TCB_INFO_FORMAT },
        { "tdxtcbcomponents", 16, 256, CBA_E_TCB_INFO_FORMAT },
        { "sgxtcbcomponents", 16, -1, CBA_E_TCB_INFO_FORMAT },
        { "sgxtcbcomponents", 16, 255, CBA_OK },
        { "tdxtcbcomponents", 16, 255, CBA_OK },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *o = base_tcb_info(), *a = json_object_new_array();
        cba_error e;
        for (int k = 0; k < cases[i].count; k++) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "svn", json_object_new_int(k == 3 ? cases[i].svn : 0));
            json_object_array_add(a, c);
        }
        json_object_object_add(level_tcb(o, 0), cases[i].arr, a);
        cr_assert_eq(tcb_obj_rc(o, &e), cases[i].want, "case %zu", i);
        if (cases[i].want != CBA_OK) {
            cr_assert_str_eq(e.where, "tcb_info.tcbLevels[0]", "case %zu", i);
            cr_assert_not_null(strstr(e.detail, cases[i].arr), "case %zu: %s", i, e.detail);
        }
        json_object_put(o);
    }
}

Test(collateral, tcb_info_component_shapes)
{
    json_object *o, *comps, *c;
    cba_error e;
    /* svn as a string */
    o = base_tcb_info();
    comps = json_object_object_get(level_tcb(o, 1), "sgxtcbcomponents");
    c = json_object_array_get_idx(comps, 5);
    json_object_object_add(c, "svn", json_object_new_string("1"));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tcbLevels[1]");
    cr_assert_not_null(strstr(e.detail, "sgxtcbcomponents[5].svn"), "%s", e.detail);
    json_object_put(o);
    /* svn missing */
    o = base_tcb_info();
    comps = json_object_object_get(level_tcb(o, 1), "tdxtcbcomponents");
    json_object_object_del(json_object_array_get_idx(comps, 2), "svn");
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
    /* component not an object */
    o = base_tcb_info();
    comps = json_object_object_get(level_tcb(o, 1), "tdxtcbcomponents");
    json_object_array_put_idx(comps, 2, json_object_new_int(0));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
    /* category must be a string when present */
    o = base_tcb_info();
    comps = json_object_object_get(level_tcb(o, 1), "sgxtcbcomponents");
    json_object_object_add(json_object_array_get_idx(comps, 0), "category",
                           json_object_new_int(1));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
    /* pcesvn range */
    o = base_tcb_info();
    json_object_object_add(level_tcb(o, 0), "pcesvn", json_object_new_int(65536));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_not_null(strstr(e.detail, "pcesvn"));
    json_object_put(o);
    o = base_tcb_info();
    json_object_object_add(level_tcb(o, 0), "pcesvn", json_object_new_int(65535));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_OK, "%s", e.detail);
    json_object_put(o);
    /* level without tcb, level not an object */
    o = base_tcb_info();
    json_object_object_del(level_at(o, 2), "tcb");
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tcbLevels[2]");
    json_object_put(o);
    o = base_tcb_info();
    json_object_array_put_idx(json_object_object_get(o, "tcbLevels"), 1, json_object_new_int(1));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tcbLevels[1]");
    json_object_put(o);
    /* bad level date */
    o = base_tcb_info();
    json_object_object_add(level_at(o, 0), "tcbDate",
                           json_object_new_string("2024-02-30T00:00:00Z"));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
}

Test(collateral, tcb_info_statuses)
{
    static const struct {
        const char *name;
        cba_tcb_status st; /* UNKNOWN = rejected */
    } cases[] = {
        { "UpToDate", CBA_TCB_UP_TO_DATE },
        { "SWHardeningNeeded", CBA_TCB_SW_HARDENING_NEEDED },
        { "ConfigurationNeeded", CBA_TCB_CONFIGURATION_NEEDED },
        { "ConfigurationAndSWHardeningNeeded", CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED },
        { "OutOfDate", CBA_TCB_OUT_OF_DATE },
        { "OutOfDateConfigurationNeeded", CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED },
        { "Revoked", CBA_TCB_REVOKED },
        { "Unknown", CBA_TCB_UNKNOWN },
        { "uptodate", CBA_TCB_UNKNOWN },
        { "UpToDate ", CBA_TCB_UNKNOWN },
        { "", CBA_TCB_UNKNOWN },
        { "TDRelaunchAdvised", CBA_TCB_UNKNOWN }, /* a verdict, never a collateral value */
        { "TDRelaunchAdvisedConfigurationNeeded", CBA_TCB_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *o = base_tcb_info();
        char *t;
        cba_tcb_info info;
        cba_error e;
        json_object_object_add(level_at(o, 1), "tcbStatus", json_object_new_string(cases[i].name));
        t = to_text(o);
        if (cases[i].st == CBA_TCB_UNKNOWN) {
            cr_assert_eq(tcb_text(t, &info, &e), CBA_E_TCB_INFO_FORMAT, "%s", cases[i].name);
            cr_assert_str_eq(e.where, "tcb_info.tcbLevels[1]");
        } else {
            cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s: %s", cases[i].name, e.detail);
            cr_assert_eq(info.levels[1].status, cases[i].st, "%s", cases[i].name);
            cba_tcb_info_cleanup(&info);
        }
        free(t);
        json_object_put(o);
    }
    /* Module levels: only UpToDate / OutOfDate / Revoked. */
    {
        const char *names[] = { "SWHardeningNeeded", "ConfigurationNeeded", "Unknown" };
        for (size_t i = 0; i < 3; i++) {
            json_object *o = base_tcb_info(), *m;
            cba_error e;
            m = json_object_array_get_idx(json_object_object_get(o, "tdxModuleIdentities"), 0);
            json_object_object_add(
                json_object_array_get_idx(json_object_object_get(m, "tcbLevels"), 1),
                "tcbStatus", json_object_new_string(names[i]));
            cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT, "%s", names[i]);
            cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities[0].tcbLevels[1]");
            json_object_put(o);
        }
    }
}

Test(collateral, tcb_info_advisories)
{
    json_object *o, *adv;
    char *t;
    cba_tcb_info info;
    cba_error e;
    char id31[32], id32[33];
    memset(id31, 'A', 31);
    id31[31] = '\0';
    memset(id32, 'A', 32);
    id32[32] = '\0';
    /* valid, kept in order */
    o = base_tcb_info();
    adv = json_object_new_array();
    json_object_array_add(adv, json_object_new_string("INTEL-SA-00837"));
    json_object_array_add(adv, json_object_new_string(id31));
    json_object_object_add(level_at(o, 2), "advisoryIDs", adv);
    t = to_text(o);
    cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(info.levels[0].advisories.num, 2); /* level [2] sorts first (pcesvn 13) */
    cr_assert_str_eq(info.levels[0].advisories.ids[0], "INTEL-SA-00837");
    cr_assert_str_eq(info.levels[0].advisories.ids[1], id31);
    cba_tcb_info_cleanup(&info);
    free(t);
    json_object_put(o);
    /* invalid shapes */
    {
        json_object *bad[6];
        bad[0] = json_object_new_string("INTEL-SA-00837"); /* not an array */
        bad[1] = json_object_new_array();
        json_object_array_add(bad[1], json_object_new_string(id32)); /* too long */
        bad[2] = json_object_new_array();
        json_object_array_add(bad[2], json_object_new_int(837)); /* not a string */
        bad[3] = json_object_new_array();
        json_object_array_add(bad[3], json_object_new_string("INTEL SA")); /* space */
        bad[4] = json_object_new_array();
        json_object_array_add(bad[4], json_object_new_string("")); /* empty */
        bad[5] = json_object_new_array();
        for (int k = 0; k < CBA_ADVISORIES_PER_LEVEL + 1; k++) {
            char s[16];
            snprintf(s, sizeof s, "INTEL-SA-%05d", k % 100000);
            json_object_array_add(bad[5], json_object_new_string(s));
        }
        for (size_t i = 0; i < 6; i++) {
            o = base_tcb_info();
            json_object_object_add(level_at(o, 0), "advisoryIDs", bad[i]);
            cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT, "case %zu", i);
            cr_assert_str_eq(e.where, "tcb_info.tcbLevels[0]");
            json_object_put(o);
        }
    }
    /* exactly CBA_ADVISORIES_PER_LEVEL is fine */
    o = base_tcb_info();
    adv = json_object_new_array();
    for (int k = 0; k < CBA_ADVISORIES_PER_LEVEL; k++) {
        char s[16];
        snprintf(s, sizeof s, "INTEL-SA-%05d", k % 100000);
        json_object_array_add(adv, json_object_new_string(s));
    }
    json_object_object_add(level_at(o, 0), "advisoryIDs", adv);
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_OK, "%s", e.detail);
    json_object_put(o);
    /* non-ASCII byte (valid UTF-8) */
    o = base_tcb_info();
    adv = json_object_new_array();
    json_object_array_add(adv, json_object_new_string("INTEL-SA-\xc3\xa9"));
    json_object_object_add(level_at(o, 0), "advisoryIDs", adv);
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
}

Test(collateral, tcb_info_module_fields)
{
    json_object *o, *mod, *mods;
    char *t;
    cba_tcb_info info;
    cba_error e;
    /* attributes are read as 8 bytes little-endian */
    o = base_tcb_info();
    mod = json_object_object_get(o, "tdxModule");
    json_object_object_add(mod, "attributes", json_object_new_string("0100000000000080"));
    json_object_object_add(mod, "attributesMask", json_object_new_string("ff00000000000000"));
    t = to_text(o);
    cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(info.module_attributes, 0x8000000000000001ull);
    cr_assert_eq(info.module_attributes_mask, 0xffull);
    cba_tcb_info_cleanup(&info);
    free(t);
    json_object_put(o);
    /* bad lengths */
    {
        const char *keys[] = { "mrsigner", "attributes", "attributesMask" };
        const char *vals[] = { "00", "00000000000000", "FFFFFFFFFFFFFFFFFF" };
        for (size_t i = 0; i < 3; i++) {
            o = base_tcb_info();
            json_object_object_add(json_object_object_get(o, "tdxModule"), keys[i],
                                   json_object_new_string(vals[i]));
            cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT, "%s", keys[i]);
            cr_assert_str_eq(e.where, "tcb_info.tdxModule");
            json_object_put(o);
            o = base_tcb_info();
            mods = json_object_object_get(o, "tdxModuleIdentities");
            json_object_object_del(json_object_array_get_idx(mods, 0), keys[i]);
            cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT, "%s", keys[i]);
            cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities[0]");
            json_object_put(o);
        }
    }
    /* tdxModuleIdentities is optional */
    o = base_tcb_info();
    json_object_object_del(o, "tdxModuleIdentities");
    t = to_text(o);
    cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(info.num_modules, 0);
    cr_assert_null(info.modules);
    cba_tcb_info_cleanup(&info);
    free(t);
    json_object_put(o);
}

Test(collateral, tcb_info_module_ids)
{
    static const struct {
        const char *id;
        int version; /* -1 = rejected */
    } cases[] = {
        { "TDX_0A", 0x0a }, { "tdx_0a", 0x0a }, { "Tdx_0A", 0x0a }, { "TDX_ff", 0xff },
        { "TDX_00", 0x00 }, { "TDX_1", -1 },    { "TDX_001", -1 },  { "TDX_0G", -1 },
        { "TDX-01", -1 },   { "SGX_01", -1 },   { "", -1 },         { "TDX_ 1", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *o = base_tcb_info(), *mods;
        char *t;
        cba_tcb_info info;
        cba_error e;
        mods = json_object_object_get(o, "tdxModuleIdentities");
        json_object_object_add(json_object_array_get_idx(mods, 0), "id",
                               json_object_new_string(cases[i].id));
        t = to_text(o);
        if (cases[i].version < 0) {
            cr_assert_eq(tcb_text(t, &info, &e), CBA_E_TCB_INFO_FORMAT, "%s", cases[i].id);
            cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities[0]");
        } else {
            cr_assert_eq(tcb_text(t, &info, &e), CBA_OK, "%s: %s", cases[i].id, e.detail);
            cr_assert_eq(info.modules[0].version, cases[i].version, "%s", cases[i].id);
            cba_tcb_info_cleanup(&info);
        }
        free(t);
        json_object_put(o);
    }
}

Test(collateral, tcb_info_module_duplicates_and_ranges)
{
    json_object *o, *mods, *levels;
    cba_error e;
    /* the same id twice, in different case */
    o = base_tcb_info();
    mods = json_object_object_get(o, "tdxModuleIdentities");
    json_object_array_add(mods, module_identity("tdx_03"));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities[1]");
    json_object_put(o);
    /* duplicate isvsvn within an identity */
    o = base_tcb_info();
    mods = json_object_object_get(o, "tdxModuleIdentities");
    levels = json_object_object_get(json_object_array_get_idx(mods, 0), "tcbLevels");
    json_object_array_add(levels, module_level(4, "OutOfDate"));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities[0].tcbLevels[2]");
    json_object_put(o);
    /* isvsvn range and empty level list */
    o = base_tcb_info();
    mods = json_object_object_get(o, "tdxModuleIdentities");
    levels = json_object_object_get(json_object_array_get_idx(mods, 0), "tcbLevels");
    json_object_array_add(levels, module_level(256, "OutOfDate"));
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
    o = base_tcb_info();
    mods = json_object_object_get(o, "tdxModuleIdentities");
    json_object_object_add(json_object_array_get_idx(mods, 0), "tcbLevels",
                           json_object_new_array());
    cr_assert_eq(tcb_obj_rc(o, &e), CBA_E_TCB_INFO_FORMAT);
    json_object_put(o);
}

Test(collateral, tcb_info_not_json_or_not_object)
{
    cba_tcb_info info;
    cba_error e;
    cr_assert_eq(tcb_text("[1]", &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_eq(tcb_text("{\"id\":\"TDX\"", &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_eq(tcb_text("", &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_eq(tcb_text("{}", &info, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb_info");
}

/* ---- QE identity field rules --------------------------------------------------------------- */

static const char k_qe_base[] =
    "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"2025-06-19T10:32:27Z\","
    "\"nextUpdate\":\"2025-07-19T10:32:27Z\",\"tcbEvaluationDataNumber\":17,"
    "\"miscselect\":\"01000000\",\"miscselectMask\":\"FFFFFFFF\","
    "\"attributes\":\"11000000000000000000000000000000\","
    "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
    "\"mrsigner\":\"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5\","
    "\"isvprodid\":2,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\","
    "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2023-08-09T00:00:00Z\","
    "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00615\"]}]}";

static cba_err qe_text(const char *t, cba_error *e)
{
    cba_qe_identity id;
    cba_err rc;
    cba_error_clear(e);
    rc = cba_qe_identity_parse(e, &id, txt(t));
    if (rc != CBA_OK) {
        cr_assert_eq(rc, CBA_E_QE_IDENTITY_FORMAT, "%s", e->detail);
        cr_assert_null(id.levels);
    }
    cba_qe_identity_cleanup(&id);
    return rc;
}

Test(collateral, qe_identity_base)
{
    cba_qe_identity id;
    cba_error e;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_parse(&e, &id, txt(k_qe_base)), CBA_OK, "%s", e.detail);
    cr_assert_eq(id.miscselect, 1, "hex 01000000 = report bytes 01 00 00 00, read LE");
    cr_assert_eq(id.miscselect_mask, 0xFFFFFFFFu);
    cr_assert_eq(id.num_levels, 2);
    cr_assert_eq(id.levels[1].isvsvn, 2);
    cr_assert_eq(id.levels[1].status, CBA_TCB_OUT_OF_DATE);
    cr_assert_eq(id.levels[1].advisories.num, 1);
    cr_assert_str_eq(id.levels[1].advisories.ids[0], "INTEL-SA-00615");
    cr_assert_eq(id.issue_date, 1750329147);
    cba_qe_identity_cleanup(&id);
}

Test(collateral, qe_identity_rules)
{
    static const struct {
        const char *from, *to, *where;
    } cases[] = {
        { "\"TD_QE\"", "\"QE\"", "qe_identity.id" },
        { "\"TD_QE\"", "\"QVE\"", "qe_identity.id" },
        { "\"version\":2", "\"version\":3", "qe_identity.version" },
        { "\"version\":2", "\"version\":2.0", "qe_identity" },
        { "\"miscselect\":\"01000000\"", "\"miscselect\":\"0100000\"", "qe_identity" },
        { "\"FFFFFFFF\"", "\"FFFFFFFFFF\"", "qe_identity" },
        { "\"attributes\":\"11", "\"attributes\":\"1", "qe_identity" },
        { "\"attributesMask\":\"FB", "\"attributesMask\":\"FBFF", "qe_identity" },
        { "\"mrsigner\":\"DC", "\"mrsigner\":\"D", "qe_identity" },
        { "\"isvprodid\":2", "\"isvprodid\":65536", "qe_identity" },
        { "\"isvprodid\":2", "\"isvprodid\":\"2\"", "qe_identity" },
        { "\"isvsvn\":4", "\"isvsvn\":65536", "qe_identity.tcbLevels[0]" },
        { "\"isvsvn\":4", "\"isvsvn\":2", "qe_identity.tcbLevels[1]" }, /* duplicate */
        { "\"UpToDate\"", "\"ConfigurationNeeded\"", "qe_identity.tcbLevels[0]" },
        { "\"UpToDate\"", "\"Unknown\"", "qe_identity.tcbLevels[0]" },
        { "\"tcbLevels\":[", "\"tcbLevels\":[],\"x\":[", "qe_identity" },
        { "\"issueDate\":\"2025-06-19T10:32:27Z\"", "\"issueDate\":\"2025-06-19T10:32:27\"",
          "qe_identity" },
        { "\"nextUpdate\":\"2025-07-19", "\"nextUpdate\":\"2025-05-19", "qe_identity.nextUpdate" },
        { "\"isvprodid\":2", "\"isvprodid\":2,\"isvprodid\":3", "qe_identity" }, /* dup key */
        { "\"tcbEvaluationDataNumber\":17", "\"x\":17", "qe_identity" },
    };
    cba_error e;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = replace_once(k_qe_base, cases[i].from, cases[i].to);
        cr_assert_eq(qe_text(t, &e), CBA_E_QE_IDENTITY_FORMAT, "case %zu", i);
        cr_assert_str_eq(e.where, cases[i].where, "case %zu: %s", i, e.detail);
        free(t);
    }
    /* unknown fields are ignored; the QE isvsvn is a u16 */
    {
        char *t = replace_once(k_qe_base, "\"isvprodid\":2", "\"isvprodid\":2,\"new\":{\"a\":1}");
        cr_assert_eq(qe_text(t, &e), CBA_OK, "%s", e.detail);
        free(t);
        t = replace_once(k_qe_base, "\"isvsvn\":4", "\"isvsvn\":65535");
        cr_assert_eq(qe_text(t, &e), CBA_OK, "%s", e.detail);
        free(t);
    }
}

/* A component's members are found in one walk (parse_components): whatever their order and
 * however their keys are escaped, the checks run in the order svn, category, type, with the
 * same words as a look-up per member gives. */
Test(collateral, tcb_component_members_in_any_order_and_escaped)
{
    static const struct {
        const char *members; /* the first platform level's first SGX component */
        const char *detail;  /* NULL: accepted */
    } cases[] = {
        { "\"svn\":3,\"category\":\"BIOS\",\"type\":\"x\"", NULL },
        { "\"type\":\"x\",\"category\":\"BIOS\",\"svn\":3", NULL },
        { "\"\\u0073vn\":3,\"c\\u0061tegory\":\"BIOS\",\"typ\\u0065\":\"x\"", NULL },
        { "\"svn\":3,\"extra\":[1],\"svn2\":\"a\"", NULL },
        { "\"type\":1,\"category\":2,\"svn\":3", "member \"category\" must be a string" },
        { "\"type\":1,\"svn\":3", "member \"type\" must be a string" },
        { "\"svn\":3,\"categor\\u0079\":7", "member \"category\" must be a string" },
        { "\"category\":\"x\",\"svn\":\"3\"", "sgxtcbcomponents[0].svn must be an integer in 0..255" },
        { "\"category\":1", "sgxtcbcomponents[0].svn must be present" },
        { "\"SVN\":3", "sgxtcbcomponents[0].svn must be present" },
        { "\"svn\":256,\"type\":1", "sgxtcbcomponents[0].svn must be an integer in 0..255" },
        { "\"svn\":-0,\"type\":{}", "member \"type\" must be a string" },
        { "", "sgxtcbcomponents[0].svn must be present" },
    };
    json_object *o = base_tcb_info();
    char *t = to_text(o);
    const char *open = strstr(t, "\"sgxtcbcomponents\":[{");
    const char *close;
    cr_assert_not_null(open);
    open += strlen("\"sgxtcbcomponents\":[{");
    close = strchr(open, '}');
    cr_assert_not_null(close);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(t) + strlen(cases[i].members) + 1;
        char *v = malloc(n);
        cba_tcb_info info;
        cba_error e;
        cba_err rc;
        cr_assert_not_null(v);
        snprintf(v, n, "%.*s%s%s", (int)(open - t), t, cases[i].members, close);
        rc = tcb_text(v, &info, &e);
        if (cases[i].detail == NULL) {
            cr_assert_eq(rc, CBA_OK, "case %zu: %s: %s", i, e.where, e.detail);
        } else {
            cr_assert_eq(rc, CBA_E_TCB_INFO_FORMAT, "case %zu", i);
            cr_assert_str_eq(e.detail, cases[i].detail, "case %zu", i);
            cr_assert_str_eq(e.where, "tcb_info.tcbLevels[0]", "case %zu", i);
        }
        cba_tcb_info_cleanup(&info);
        free(v);
    }
    free(t);
    json_object_put(o);
}
