/* test_pcs_response.c — the PCS/PCCS response parser (attest/pcs_response.h): the signed member
 * cut out byte-exactly, strictness of signed bodies, CRL bodies (DER or hex text) and the
 * percent-encoded issuer-chain headers, each with malformed input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcs_response.h"

TestSuite(pcs_response, .timeout = 30);

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

static bool cbs_is(cbs c, const char *s)
{
    return c.len == strlen(s) && memcmp(c.data, s, c.len) == 0;
}

static const char k_sig[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
                            "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

/* ---- pcs_cut_member ---------------------------------------------------------------------------- */

Test(pcs_response, cut_member_exact_bytes)
{
    const char *body = " { \"a\" : 1 ,\"tcbInfo\" :\t{ \"x\" : [1, {\"y\":\"}\\\"{\"}] , \"z\":null }\n, \"b\":\"s\" } ";
    cbs out;
    cr_assert(pcs_cut_member(txt(body), "tcbInfo", &out));
    cr_assert(cbs_is(out, "{ \"x\" : [1, {\"y\":\"}\\\"{\"}] , \"z\":null }"), "got %.*s", (int)out.len,
              (const char *)out.data);
    cr_assert(pcs_cut_member(txt(body), "a", &out));
    cr_assert(cbs_is(out, "1"));
    cr_assert(pcs_cut_member(txt(body), "b", &out));
    cr_assert(cbs_is(out, "\"s\""));
}

Test(pcs_response, cut_member_only_top_level)
{
    cbs out;
    /* "tcbInfo" inside another member's value is not the top-level member. */
    cr_assert_not(pcs_cut_member(txt("{\"outer\":{\"tcbInfo\":{}}}"), "tcbInfo", &out));
    cr_assert_not(pcs_cut_member(txt("{\"s\":\"\\\"tcbInfo\\\":{}\"}"), "tcbInfo", &out));
    cr_assert(pcs_cut_member(txt("{\"outer\":{\"tcbInfo\":1},\"tcbInfo\":{\"k\":2}}"), "tcbInfo", &out));
    cr_assert(cbs_is(out, "{\"k\":2}"));
}

Test(pcs_response, cut_member_malformed)
{
    static const char *const k_bad[] = {
        "", "   ", "[]", "{}", "{ }", "{\"tcbInfo\"", "{\"tcbInfo\":", "{\"tcbInfo\" {}}", "{\"a\":1 \"tcbInfo\":{}}",
        "{\"tcbInfo\":{\"x\":\"unterminated}}", "{\"a\":\"\\", "{a:1,\"tcbInfo\":{}}",
        "{\"a\":1,}",
    };
    for (size_t i = 0; i < sizeof k_bad / sizeof k_bad[0]; i++) {
        cbs out;
        cr_assert_not(pcs_cut_member(txt(k_bad[i]), "tcbInfo", &out), "accepted '%s'", k_bad[i]);
    }
}

Test(pcs_response, cut_member_deep_nesting_is_bounded_by_input)
{
    size_t n = 100000;
    char *s = malloc(2 * n + 32);
    cbs out;
    cr_assert_not_null(s);
    memcpy(s, "{\"tcbInfo\":", 11);
    memset(s + 11, '[', n);
    s[11 + n] = '\0'; /* never closed: the scanner runs off the end and says no */
    cr_assert_not(pcs_cut_member(txt(s), "tcbInfo", &out));
    free(s);
}

/* ---- pcs_parse_signed_body --------------------------------------------------------------------- */

Test(pcs_response, signed_body_ok)
{
    char body[512];
    pcs_signed s;
    char detail[200];
    snprintf(body, sizeof body, "{\"tcbInfo\":{\"id\":\"TDX\", \"version\":3},\"signature\":\"%s\"}", k_sig);
    cr_assert_eq(pcs_parse_signed_body(txt(body), "tcbInfo", &s, detail, sizeof detail), PCS_OK);
    cr_assert(cbs_is(s.text, "{\"id\":\"TDX\", \"version\":3}"));
    cr_assert_str_eq(s.signature, k_sig, "the signature text as sent (either case)");
}

Test(pcs_response, signed_body_not_strict_json)
{
    static const char *const k_bad[] = {
        "", "not json", "{\"tcbInfo\":{}} trailing", "[1]", "\"str\"",
        "{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"00\"}", /* duplicate key */
        "{\"tcbInfo\":{\"a\":1,},\"signature\":\"00\"}",          /* trailing comma */
    };
    for (size_t i = 0; i < sizeof k_bad / sizeof k_bad[0]; i++) {
        pcs_signed s;
        char detail[200];
        cr_assert_eq(pcs_parse_signed_body(txt(k_bad[i]), "tcbInfo", &s, detail, sizeof detail), PCS_E_NOT_JSON_OBJECT,
                     "'%s'", k_bad[i]);
        cr_assert_neq(detail[0], '\0', "a failure says why");
    }
}

Test(pcs_response, signed_body_members)
{
    /* {before}{signature}{after}: each lacks the signed object or a 128-digit signature. */
    static const struct { const char *before, *sig, *after; } k_forms[] = {
        { "{\"tcbInfo\":[],\"signature\":\"", k_sig, "\"}" },          /* not an object */
        { "{\"enclaveIdentity\":{},\"signature\":\"", k_sig, "\"}" },  /* another member */
        { "{\"tcbInfo\":{},\"signature\":\"", k_sig, "00\"}" },        /* 130 digits */
        { "{\"tcbInfo\":{},\"signature\":\"zz", k_sig + 2, "\"}" },    /* not hex */
        { "{\"tcbInfo\":{},\"signature\":12,\"x\":\"", k_sig, "\"}" }, /* not a string */
        { "{\"tcbInfo\":{},\"sig\":\"", k_sig, "\"}" },                /* absent */
    };
    for (size_t i = 0; i < sizeof k_forms / sizeof k_forms[0]; i++) {
        char body[512], detail[200];
        pcs_signed s;
        snprintf(body, sizeof body, "%s%s%s", k_forms[i].before, k_forms[i].sig, k_forms[i].after);
        cr_assert_eq(pcs_parse_signed_body(txt(body), "tcbInfo", &s, detail, sizeof detail), PCS_E_SIGNED_MEMBERS,
                     "'%s'", body);
    }
}

/* ---- pcs_parse_crl_body ------------------------------------------------------------------------ */

Test(pcs_response, crl_body_der_and_hex)
{
    static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    cba_buf out;
    cr_assert_eq(pcs_parse_crl_body(cbs_make(der, sizeof der), &out), PCS_OK);
    cr_assert_eq(out.len, sizeof der);
    cr_assert_arr_eq(out.data, der, sizeof der);
    free(out.data);
    cr_assert_eq(pcs_parse_crl_body(txt(" \r\n3003020105\n"), &out), PCS_OK, "hex text, whitespace around");
    cr_assert_eq(out.len, sizeof der);
    cr_assert_arr_eq(out.data, der, sizeof der);
    free(out.data);
    cr_assert_eq(pcs_parse_crl_body(txt("30030201aB"), &out), PCS_OK, "either case");
    cr_assert_eq(out.data[4], 0xab);
    free(out.data);
}

Test(pcs_response, crl_body_malformed)
{
    static const char *const k_bad[] = { "", "  \n", "303", "30 03", "3g", "x3003", "\"3003\"", "3003\t00" };
    for (size_t i = 0; i < sizeof k_bad / sizeof k_bad[0]; i++) {
        cba_buf out = { (uint8_t *)"x", 1 };
        cr_assert_eq(pcs_parse_crl_body(txt(k_bad[i]), &out), PCS_E_CRL_ENCODING, "'%s'", k_bad[i]);
        cr_assert_null(out.data, "nothing handed over on failure");
    }
}

Test(pcs_response, crl_body_starting_with_a_sequence_tag_is_der)
{
    /* '0' is 0x30: such a body is taken as DER as sent (the CRL parser then judges it); hex text
     * of a CRL starts with "30", never '0'. */
    cba_buf out;
    cr_assert_eq(pcs_parse_crl_body(txt("0x3003"), &out), PCS_OK);
    cr_assert_eq(out.len, 6);
    free(out.data);
}

/* ---- pcs_decode_issuer_chain ------------------------------------------------------------------- */

static pcs_err decode(const char *v, char *got, size_t got_len, size_t *offset, uint8_t *ch)
{
    cba_buf out;
    pcs_err rc;
    *offset = 9999;
    *ch = 0;
    rc = pcs_decode_issuer_chain(txt(v), &out, offset, ch);
    if (rc == PCS_OK) {
        cr_assert_eq(out.data[out.len], 0, "NUL-terminated");
        snprintf(got, got_len, "%s", (const char *)out.data);
        free(out.data);
    } else {
        cr_assert_null(out.data);
    }
    return rc;
}

Test(pcs_response, issuer_chain_decodes)
{
    char got[256];
    size_t off;
    uint8_t ch;
    cr_assert_eq(decode("-----BEGIN%20CERTIFICATE-----%0AMIIB+/a=%0D%0A", got, sizeof got, &off, &ch), PCS_OK);
    cr_assert_str_eq(got, "-----BEGIN CERTIFICATE-----\nMIIB+/a=\r\n", "'+' stays '+'");
    cr_assert_eq(decode("%2b%2B", got, sizeof got, &off, &ch), PCS_OK);
    cr_assert_str_eq(got, "++");
}

Test(pcs_response, issuer_chain_malformed)
{
    char got[64];
    size_t off;
    uint8_t ch;
    cr_assert_eq(decode("", got, sizeof got, &off, &ch), PCS_E_EMPTY);
    cr_assert_eq(decode("ab%00cd", got, sizeof got, &off, &ch), PCS_E_PERCENT, "NUL");
    cr_assert_eq(off, 2);
    cr_assert_eq(decode("abc%4", got, sizeof got, &off, &ch), PCS_E_PERCENT, "cut escape");
    cr_assert_eq(off, 3);
    cr_assert_eq(decode("%", got, sizeof got, &off, &ch), PCS_E_PERCENT);
    cr_assert_eq(off, 0);
    cr_assert_eq(decode("x%zz", got, sizeof got, &off, &ch), PCS_E_PERCENT, "not hex");
    cr_assert_eq(off, 1);
    cr_assert_eq(decode("x%0g", got, sizeof got, &off, &ch), PCS_E_PERCENT);
    cr_assert_eq(decode("%01", got, sizeof got, &off, &ch), PCS_E_CONTROL);
    cr_assert_eq(decode("%1b[31m", got, sizeof got, &off, &ch), PCS_E_CONTROL, "an escape sequence");
    cr_assert_eq(decode("a b", got, sizeof got, &off, &ch), PCS_E_RAW_CHAR, "raw space");
    cr_assert_eq(ch, 0x20);
    cr_assert_eq(decode("a\tb", got, sizeof got, &off, &ch), PCS_E_RAW_CHAR);
    cr_assert_eq(ch, 0x09);
    cr_assert_eq(decode("a\x7f", got, sizeof got, &off, &ch), PCS_E_RAW_CHAR);
    cr_assert_eq(ch, 0x7f);
    cr_assert_eq(decode("\xc3\xa9", got, sizeof got, &off, &ch), PCS_E_RAW_CHAR, "raw UTF-8");
    cr_assert_eq(ch, 0xc3);
}

Test(pcs_response, messages)
{
    for (int i = 0; i < PCS_ERR_COUNT; i++) {
        cr_assert_not_null(pcs_err_message((pcs_err)i));
        cr_assert_neq(pcs_err_message((pcs_err)i)[0], '\0');
    }
    cr_assert_str_eq(pcs_err_message(PCS_ERR_COUNT), "unknown PCS response error");
}
