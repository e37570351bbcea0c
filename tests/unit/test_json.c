/* test_json.c — strict JSON: grammar, UTF-8, depth, duplicate keys, typed getters, ISO 8601. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

TestSuite(json, .timeout = 30);

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

/* parse_err parses and returns the error code; the object, if any, is released. */
static cba_err parse_err(cbs in, int depth)
{
    cba_error e;
    json_object *o = NULL;
    cba_err rc;
    cba_error_clear(&e);
    rc = cba_json_parse(&e, &o, in, depth, CBA_E_COLLATERAL_FORMAT, "test.json");
    if (rc == CBA_OK) {
        json_object_put(o); /* NULL for the text `null` */
    } else {
        cr_assert_null(o, "no object on failure");
        cr_assert_eq(e.code, rc);
        cr_assert_str_eq(e.where, "test.json");
    }
    return rc;
}

static cba_err parse_s(const char *s)
{
    return parse_err(txt(s), CBA_JSON_MAX_DEPTH);
}

static json_object *parse_ok(const char *s)
{
    cba_error e;
    json_object *o = NULL;
    cba_error_clear(&e);
    cr_assert_eq(cba_json_parse(&e, &o, txt(s), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t"), CBA_OK,
                 "%s: %s", s, e.detail);
    return o;
}

Test(json, accepts_strict_values)
{
    static const char *const ok[] = {
        "{}", "[]", "0", "-0", "1", "-1", "1.5", "1e5", "1E+5", "-1.25e-3", "true", "false", "null",
        "\"\"", "\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\"", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n\t ",
        "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"", "\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\"",
        "{\"a\":{\"a\":{\"a\":1}}}", "[{\"a\":1},{\"a\":1}]", "18446744073709551615",
        "-9223372036854775808", "\"\\u0000\"", "\"\x7f\"" /* DEL needs no escape */,
    };
    for (size_t i = 0; i < CBA_ARRAY_LEN(ok); i++) {
        cr_assert_eq(parse_s(ok[i]), CBA_OK, "should accept: %s", ok[i]);
        cr_assert_not(cba_json_has_duplicate_keys(txt(ok[i]), CBA_JSON_MAX_DEPTH), "%s", ok[i]);
    }
}

Test(json, rejects_lax_syntax)
{
    static const char *const bad[] = {
        "", " ", "[1,]", "{\"a\":1,}", "01", "+1", "1.", ".5", "1e", "1e+", "-", "--1", "NaN",
        "Infinity", "-Infinity", "TRUE", "nul", "'a'", "/*c*/1", "1 // c", "[1] x", "[1][2]",
        "{} {}", "{\"a\" 1}", "{a:1}", "{\"a\":}", "[", "]", "{", "\"abc", "\"\\x41\"", "\"\\u12\"",
        "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"",
        "\"a\x01\"", "\"a\tb\"", "[1]\v", "[1]\f", "\xef\xbb\xbf{}",
        "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"", "\"\xf0\x80\x80\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"",
        "\"\xc3\x28\"", "18446744073709551616", "-9223372036854775809", "99999999999999999999999",
        "[1 2]", "{\"a\":1 \"b\":2}", "\"a\"\"b\"", "truefalse", "[true false]",
    };
    for (size_t i = 0; i < CBA_ARRAY_LEN(bad); i++) {
        cr_assert_eq(parse_s(bad[i]), CBA_E_COLLATERAL_FORMAT, "case %zu should fail", i);
        cr_assert(cba_json_has_duplicate_keys(txt(bad[i]), CBA_JSON_MAX_DEPTH), "scanner case %zu", i);
    }
}

Test(json, rejects_nul_bytes_anywhere)
{
    static const uint8_t in_string[] = { '"', 'a', 0, 'b', '"' };
    static const uint8_t after[] = { '{', '}', 0 };
    static const uint8_t before_ws[] = { '[', '1', ']', ' ', 0, ' ' };
    cba_error e;
    json_object *o = NULL;
    cba_error_clear(&e);
    cr_assert_eq(cba_json_parse(&e, &o, cbs_make(in_string, sizeof in_string), 4, CBA_E_JSON, "x"),
                 CBA_E_JSON);
    cr_assert(strstr(e.detail, "NUL") != NULL, "%s", e.detail);
    cr_assert_eq(parse_err(cbs_make(after, sizeof after), 4), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(parse_err(cbs_make(before_ws, sizeof before_ws), 4), CBA_E_COLLATERAL_FORMAT);
    cr_assert(cba_json_has_duplicate_keys(cbs_make(after, sizeof after), 4));
}

Test(json, escaped_nul_in_value_keeps_exact_length)
{
    json_object *o = parse_ok("{\"k\":\"a\\u0000b\"}");
    cbs v;
    cr_assert(cba_json_get_string(o, "k", &v));
    cr_assert_eq(v.len, 3);
    cr_assert(cbs_eq_mem(v, "a\0b", 3));
    json_object_put(o);
}

/* json-c 0.16 decodes a surrogate pair whose code point has a surrogate's bits 11-15
 * (U+1D800-U+1DFFF and the same in planes 2-16) as U+FFFD: the scanner refuses exactly those pairs,
 * and every pair it accepts, as key and as value, decodes to json-c's bytes in both trees. Each high
 * surrogate with four low ones (4,096 pairs; the fuzzer found U+1DE00). */
Test(json, surrogate_pairs_agree_with_json_c_or_are_refused)
{
    static const unsigned lows[] = {0xdc00, 0xddff, 0xde00, 0xdfff};
    size_t refused = 0;
    for (unsigned hi = 0xd800; hi <= 0xdbff; hi++) {
        for (size_t j = 0; j < CBA_ARRAY_LEN(lows); j++) {
            char text[64], key[8];
            uint32_t cp = 0x10000u + ((hi - 0xd800u) << 10) + (lows[j] - 0xdc00u);
            bool json_c_mangles = (cp & 0xf800u) == 0xd800u;
            cba_error e;
            cba_jdoc d;
            json_object *o = NULL, *v = NULL;
            cbs s;
            snprintf(text, sizeof text, "{\"\\u%04x\\u%04x\":\"\\u%04x\\u%04x\"}", hi,
                     lows[j], hi, lows[j]);
            cba_error_clear(&e);
            if (json_c_mangles) {
                refused++;
                cr_assert_eq(parse_s(text), CBA_E_COLLATERAL_FORMAT, "%s", text);
                cr_assert_eq(cba_jdoc_parse(&e, &d, txt(text), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t"),
                             CBA_E_JSON, "%s", text);
                cr_assert(cba_json_has_duplicate_keys(txt(text), CBA_JSON_MAX_DEPTH), "%s", text);
                continue;
            }
            key[0] = (char)(0xf0 | cp >> 18);
            key[1] = (char)(0x80 | (cp >> 12 & 0x3f));
            key[2] = (char)(0x80 | (cp >> 6 & 0x3f));
            key[3] = (char)(0x80 | (cp & 0x3f));
            key[4] = '\0';
            o = parse_ok(text);
            cr_assert(json_object_object_get_ex(o, key, &v), "%s: json-c's key", text);
            cr_assert_str_eq(json_object_get_string(v), key, "%s: json-c's value", text);
            cr_assert_eq(cba_jdoc_parse(&e, &d, txt(text), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t"),
                         CBA_OK, "%s: %s", text, e.detail);
            cr_assert(cba_jget_string(cba_jdoc_root(&d), key, &s), "%s: jdoc's key", text);
            cr_assert(s.len == 4 && memcmp(s.data, key, 4) == 0, "%s: jdoc's value", text);
            cba_jdoc_cleanup(&d);
            json_object_put(o);
        }
    }
    cr_assert_eq(refused, 128, "32 high surrogates x 4 lows are json-c's U+FFFD set");
}

Test(json, duplicate_keys)
{
    static const char *const dup[] = {
        "{\"a\":1,\"a\":2}",
        "{\"a\":1,\"b\":2,\"a\":1}",
        "{\"a\":1,\"\\u0061\":2}",
        "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
        "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
        "{\"\\/\":1,\"/\":2}",
        "{\"\\n\":1,\"\\u000A\":2}",
        "{\"x\":{\"a\":1,\"a\":1}}",
        "[1,{\"b\":[{\"c\":0,\"c\":0}]}]",
        "{\"a\":{},\"b\":{},\"a\":{}}",
    };
    static const char *const distinct[] = {
        "{\"a\":1,\"A\":2}",
        "{\"a\":1,\"a \":2}",
        "{\"a\":{\"a\":1},\"b\":{\"a\":1}}",
        "{\"\\u00e9\":1,\"e\\u0301\":2}",
        "{\"ab\":1,\"ba\":2,\"a\":3,\"b\":4}",
        "[{\"a\":1},{\"a\":1}]",
    };
    for (size_t i = 0; i < CBA_ARRAY_LEN(dup); i++) {
        cba_error e;
        json_object *o = NULL;
        cba_error_clear(&e);
        cr_assert(cba_json_has_duplicate_keys(txt(dup[i]), CBA_JSON_MAX_DEPTH), "%s", dup[i]);
        cr_assert_eq(cba_json_parse(&e, &o, txt(dup[i]), CBA_JSON_MAX_DEPTH, CBA_E_TCB_INFO_FORMAT,
                                    "tcb_info"),
                     CBA_E_TCB_INFO_FORMAT, "%s", dup[i]);
        cr_assert(strstr(e.detail, "duplicate") != NULL, "%s", e.detail);
        cr_assert_str_eq(e.where, "tcb_info");
    }
    for (size_t i = 0; i < CBA_ARRAY_LEN(distinct); i++) {
        cr_assert_not(cba_json_has_duplicate_keys(txt(distinct[i]), CBA_JSON_MAX_DEPTH), "%s",
                      distinct[i]);
        cr_assert_eq(parse_s(distinct[i]), CBA_OK, "%s", distinct[i]);
    }
}

Test(json, key_with_escaped_nul_is_refused)
{
    /* json-c would store both keys as "a" and keep one of them silently */
    cr_assert_eq(parse_s("{\"a\\u0000x\":1,\"a\\u0000y\":2}"), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(parse_s("{\"\\u0000\":1}"), CBA_E_COLLATERAL_FORMAT);
}

static char *many_keys(unsigned n)
{
    size_t cap = 16 + (size_t)n * 16;
    char *s = malloc(cap);
    size_t off = 0;
    cr_assert_not_null(s);
    s[off++] = '{';
    for (unsigned i = 0; i < n; i++) {
        off += (size_t)snprintf(s + off, cap - off, "%s\"k%u\":%u", i ? "," : "", i, i);
    }
    s[off++] = '}';
    s[off] = '\0';
    return s;
}

Test(json, member_count_cap)
{
    char *ok = many_keys(4096), *bad = many_keys(4097);
    json_object *o = parse_ok(ok);
    uint64_t v = 0;
    cr_assert(cba_json_get_u64(o, "k4095", 10000, &v));
    cr_assert_eq(v, 4095);
    json_object_put(o);
    cr_assert_eq(parse_s(bad), CBA_E_COLLATERAL_FORMAT);
    cr_assert(cba_json_has_duplicate_keys(txt(bad), CBA_JSON_MAX_DEPTH));
    free(ok);
    free(bad);
}

static char *nested(int n, char open, char close)
{
    char *s = malloc((size_t)n * 2 + 2);
    cr_assert_not_null(s);
    for (int i = 0; i < n; i++) { s[i] = open; }
    s[n] = '1';
    for (int i = 0; i < n; i++) { s[n + 1 + i] = close; }
    s[2 * n + 1] = '\0';
    return s;
}

Test(json, depth_limit)
{
    char *a2 = nested(2, '[', ']'), *a3 = nested(3, '[', ']');
    char *a16 = nested(16, '[', ']'), *a17 = nested(17, '[', ']'), *a1000 = nested(1000, '[', ']');
    cr_assert_eq(parse_err(txt(a2), 2), CBA_OK);
    cr_assert_eq(parse_err(txt(a3), 2), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(parse_err(txt(a16), 16), CBA_OK);
    cr_assert_eq(parse_err(txt(a17), 16), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(parse_err(txt(a1000), 16), CBA_E_COLLATERAL_FORMAT);
    cr_assert(cba_json_has_duplicate_keys(txt(a3), 2));
    cr_assert_not(cba_json_has_duplicate_keys(txt(a3), 3));
    cr_assert_eq(parse_err(txt("{\"a\":{\"b\":1}}"), 2), CBA_OK);
    cr_assert_eq(parse_err(txt("{\"a\":{\"b\":{}}}"), 2), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(parse_err(txt("{\"a\":[{}]}"), 2), CBA_E_COLLATERAL_FORMAT);
    cr_assert_eq(parse_err(txt("1"), 1), CBA_OK);
    free(a2);
    free(a3);
    free(a16);
    free(a17);
    free(a1000);
}

Test(json, bad_arguments)
{
    cba_error e;
    json_object *o = NULL;
    cba_error_clear(&e);
    cr_assert_eq(cba_json_parse(&e, &o, txt("1"), 0, CBA_E_JSON, "x"), CBA_E_ARGUMENT);
    cr_assert_eq(cba_json_parse(NULL, NULL, txt("1"), 4, CBA_E_JSON, "x"), CBA_E_ARGUMENT);
    cr_assert(cba_json_has_duplicate_keys(txt("1"), 0));
}

Test(json, first_error_wins_and_detail_names_offset)
{
    cba_error e;
    json_object *o = NULL;
    cba_error_clear(&e);
    cr_assert_eq(cba_json_parse(&e, &o, txt("{\"a\":1,\"a\":2}"), 4, CBA_E_QE_IDENTITY_FORMAT,
                                "qe_identity"),
                 CBA_E_QE_IDENTITY_FORMAT);
    cr_assert_eq(cba_json_parse(&e, &o, txt("[,]"), 4, CBA_E_JSON, "other"), CBA_E_JSON);
    cr_assert_eq(e.code, CBA_E_QE_IDENTITY_FORMAT);
    cr_assert_str_eq(e.where, "qe_identity");
    cr_assert(strstr(e.detail, "offset") != NULL, "%s", e.detail);
}

Test(json, get_u64_types_and_ranges)
{
    json_object *o = parse_ok("{\"i\":42,\"z\":0,\"neg\":-1,\"d\":42.0,\"e\":1e2,\"b\":true,"
                              "\"s\":\"42\",\"n\":null,\"max\":18446744073709551615,"
                              "\"big\":9223372036854775808,\"min\":-9223372036854775808,"
                              "\"nz\":-0,\"o\":{},\"a\":[]}");
    uint64_t v = 7;
    cr_assert(cba_json_get_u64(o, "i", 42, &v));
    cr_assert_eq(v, 42);
    cr_assert(cba_json_get_u64(o, "z", 0, &v));
    cr_assert_eq(v, 0);
    v = 7;
    cr_assert_not(cba_json_get_u64(o, "i", 41, &v));
    cr_assert_not(cba_json_get_u64(o, "neg", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "d", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "e", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "b", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "s", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "n", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "min", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "o", UINT64_MAX, &v));
    cr_assert_not(cba_json_get_u64(o, "missing", UINT64_MAX, &v));
    cr_assert_eq(v, 7, "out untouched on failure");
    cr_assert(cba_json_get_u64(o, "max", UINT64_MAX, &v));
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_not(cba_json_get_u64(o, "max", UINT64_MAX - 1, &v));
    cr_assert(cba_json_get_u64(o, "big", UINT64_MAX, &v));
    cr_assert_eq(v, 9223372036854775808ull);
    cr_assert(cba_json_get_u64(o, "nz", 5, &v));
    cr_assert_eq(v, 0);
    json_object_put(o);
}

Test(json, get_hex_exact_length)
{
    json_object *o = parse_ok("{\"h\":\"00A0fF\",\"odd\":\"0a0\",\"bad\":\"0g\",\"empty\":\"\","
                              "\"num\":10,\"sp\":\" 00a0ff\"}");
    uint8_t out[3] = { 9, 9, 9 };
    cr_assert(cba_json_get_hex(o, "h", out, 3));
    cr_assert_eq(out[0], 0x00);
    cr_assert_eq(out[1], 0xa0);
    cr_assert_eq(out[2], 0xff);
    memset(out, 9, sizeof out);
    cr_assert_not(cba_json_get_hex(o, "h", out, 2));
    cr_assert_not(cba_json_get_hex(o, "h", out, 1));
    cr_assert_not(cba_json_get_hex(o, "odd", out, 2));
    cr_assert_not(cba_json_get_hex(o, "odd", out, 1));
    cr_assert_not(cba_json_get_hex(o, "bad", out, 1));
    cr_assert_not(cba_json_get_hex(o, "num", out, 1));
    cr_assert_not(cba_json_get_hex(o, "sp", out, 3));
    cr_assert_not(cba_json_get_hex(o, "missing", out, 1));
    cr_assert_eq(out[0], 9, "out untouched on failure");
    cr_assert(cba_json_get_hex(o, "empty", out, 0));
    json_object_put(o);
}

Test(json, get_string_object_array_has)
{
    json_object *o = parse_ok("{\"s\":\"h\\u00e9\",\"o\":{\"x\":1},\"a\":[1,2],\"n\":null}");
    json_object *sub = NULL;
    cbs v;
    cr_assert(cba_json_get_string(o, "s", &v));
    cr_assert(cbs_eq_mem(v, "h\xc3\xa9", 3));
    cr_assert_not(cba_json_get_string(o, "o", &v));
    cr_assert(cba_json_get_object(o, "o", &sub));
    cr_assert(cba_json_has(sub, "x"));
    cr_assert_not(cba_json_get_object(o, "a", &sub));
    cr_assert(cba_json_get_array(o, "a", &sub));
    cr_assert_eq(json_object_array_length(sub), 2);
    cr_assert_not(cba_json_get_array(o, "o", &sub));
    cr_assert(cba_json_has(o, "n"));
    cr_assert_not(cba_json_has(o, "x"));
    cr_assert_not(cba_json_get_string(sub, "s", &v), "an array is not an object");
    cr_assert_not(cba_json_has(NULL, "s"));
    cr_assert_not(cba_json_string_view(NULL, &v));
    json_object_put(o);
}

Test(json, top_level_scalars_and_trailing_whitespace)
{
    json_object *o = parse_ok("  12345 \r\n");
    cr_assert(json_object_is_type(o, json_type_int));
    cr_assert_eq(json_object_get_int64(o), 12345);
    json_object_put(o);
    o = parse_ok("false");
    cr_assert(json_object_is_type(o, json_type_boolean));
    json_object_put(o);
    o = parse_ok(" null ");
    cr_assert_null(o, "json-c represents null as NULL");
    cr_assert(json_object_is_type(o, json_type_null));
    cr_assert_not(cba_json_has(o, "x"));
    o = parse_ok("\"x\"  ");
    cr_assert(json_object_is_type(o, json_type_string));
    json_object_put(o);
}

Test(json, json_inside_a_json_string)
{
    /* A realistic shape: the outer collateral object with an embedded JSON string. */
    json_object *o = parse_ok("{\"tcb_info\":\"{\\\"id\\\":\\\"TDX\\\",\\\"version\\\":3}\","
                              "\"tcb_info_signature\":\"ab\",\"qe_identity_issuer_chain\":\"\"}");
    cbs inner;
    json_object *t = NULL;
    cba_error e;
    uint64_t ver = 0;
    cr_assert(cba_json_get_string(o, "tcb_info", &inner));
    cba_error_clear(&e);
    cr_assert_eq(cba_json_parse(&e, &t, inner, CBA_JSON_MAX_DEPTH, CBA_E_TCB_INFO_FORMAT, "x"),
                 CBA_OK);
    cr_assert(cba_json_get_u64(t, "version", 3, &ver));
    cr_assert_eq(ver, 3);
    json_object_put(t);
    json_object_put(o);
}

static bool iso(const char *s, int64_t *t)
{
    return cba_parse_iso8601_z(txt(s), t);
}

Test(json, iso8601_valid)
{
    int64_t t = 0;
    cr_assert(iso("1970-01-01T00:00:00Z", &t));
    cr_assert_eq(t, 0);
    cr_assert(iso("2049-12-31T23:59:59Z", &t));
    cr_assert_eq(t, 2524607999);
    cr_assert(iso("2000-02-29T12:00:00Z", &t));
    cr_assert_eq(t, 951825600);
    cr_assert(iso("2024-02-29T00:00:00Z", &t));
    cr_assert_eq(t, 1709164800);
    cr_assert(iso("2038-01-19T03:14:08Z", &t));
    cr_assert_eq(t, 2147483648);
    cr_assert(iso("1969-12-31T23:59:59Z", &t));
    cr_assert_eq(t, -1);
    cr_assert(iso("2025-12-31T23:59:59Z", &t));
    cr_assert_eq(t, 1767225599);
}

Test(json, iso8601_invalid)
{
    static const char *const bad[] = {
        "", "2024-01-01T00:00:00", "2024-01-01T00:00:00z", "2024-01-01 00:00:00Z",
        "2024-01-01t00:00:00Z", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00+00:00",
        "2024-1-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-00T00:00:00Z",
        "2024-01-32T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "+024-01-01T00:00:00Z",
        "2024-01-01T00:00:0xZ", "2024/01/01T00:00:00Z", "2024-01-01T00:00:00ZZ", " 2024-01-01T00:00:00Z",
        "2024-01-01T-1:00:00Z",
    };
    for (size_t i = 0; i < CBA_ARRAY_LEN(bad); i++) {
        int64_t t = 77;
        cr_assert_not(iso(bad[i], &t), "should reject '%s'", bad[i]);
        cr_assert_eq(t, 77);
    }
}

/* ---- cba_json_parse_flat ---------------------------------------------------------------------- */

static cba_err flat(cba_json_flat *f, const char *text, cba_error *e)
{
    cba_error_clear(e);
    return cba_json_parse_flat(e, f, cbs_make((const uint8_t *)text, strlen(text)), CBA_E_JSON, "t");
}

Test(json, flat_unescapes_like_json_c)
{
    cba_json_flat f;
    cba_error e;
    cbs v;
    cr_assert_eq(flat(&f, " {\"a\":\"plain\", \"b\":\"q\\\"\\\\\\n\\u00e9\\ud83d\\ude00\"} ", &e), CBA_OK, "%s",
                 e.detail);
    cr_assert_eq(f.num, 2);
    cr_assert(cba_json_flat_get(&f, "a", &v) && cbs_eq_str(v, "plain"));
    cr_assert(cba_json_flat_get(&f, "b", &v));
    cr_assert(cbs_eq_str(v, "q\"\\\n\xc3\xa9\xf0\x9f\x98\x80"), "unescaped bytes");
    cr_assert_not(cba_json_flat_get(&f, "c", &v));
    cba_json_flat_cleanup(&f);
    cba_json_flat_cleanup(NULL);
}

Test(json, flat_rejects)
{
    static const char *const bad[] = {
        "", "[]", "\"s\"", "{\"a\":1}", "{\"a\":{}}", "{\"a\":null}", "{\"a\":\"x\",\"a\":\"y\"}",
        "{\"a\":\"x\"} x", "{\"a\":\"\\x\"}", "{\"a\":\"\x01\"}", "{\"a\" \"x\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cba_json_flat f;
        cba_error e;
        cr_assert_eq(flat(&f, bad[i], &e), CBA_E_JSON, "accepted: %s", bad[i]);
        cr_assert_eq(f.num, 0, "nothing held after a failure");
    }
}

Test(json, flat_names_the_member_of_wrong_type)
{
    cba_json_flat f;
    cba_error e;
    cr_assert_eq(flat(&f, "{\"ok\":\"x\",\"tcb_info\":{\"id\":\"TDX\"}}", &e), CBA_E_JSON);
    cr_assert_str_eq(e.where, "t.tcb_info");
}

Test(json, flat_member_limit)
{
    char text[1024];
    size_t n = 0;
    cba_json_flat f;
    cba_error e;
    n += (size_t)snprintf(text + n, sizeof text - n, "{");
    for (int i = 0; i <= CBA_JSON_FLAT_MAX; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    }
    snprintf(text + n, sizeof text - n, "}");
    cr_assert_eq(flat(&f, text, &e), CBA_E_JSON);
    cr_assert(strstr(e.detail, "more than") != NULL, "%s", e.detail);
    cr_assert_eq(flat(&f, "{}", &e), CBA_OK);
    cr_assert_eq(f.num, 0);
}

/* ---- cba_jdoc: the scanner's own tree must answer every getter exactly as json-c's does ----- */

static const char *const k_jdoc_texts[] = {
    ("{\"i\":42,\"z\":0,\"neg\":-1,\"d\":42.0,\"e\":1e2,\"b\":true,\"f\":false,\"s\":\"42\",\"n\":null,"
    "\"max\":18446744073709551615,\"big\":9223372036854775808,\"min\":-9223372036854775808,"
    "\"nz\":-0,\"o\":{\"x\":1},\"a\":[1,\"2\",{}],\"h\":\"00A0fF\",\"odd\":\"0a0\",\"bad\":\"0g\","
    "\"empty\":\"\",\"esc\":\"q\\\"\\\\\\n\\u00e9\\ud83d\\ude00/\\/\",\"nul\":\"a\\u0000b\","
    "\"k\\u0065y\":\"by escaped key\",\"\\u00e9t\\u00e9\":\"accent\",\"hx\":\"\\u0030\\u0031\"}"),
    ("{\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":1},{\"svn\":2,\"category\":\"x\"}],"
     "\"pcesvn\":13},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},{}]}"),
    "[]", "{}", "\"top\"", "12", "null", "[[[]],[{}]]",
    "{\"a\":1,\"a\":2}", "{\"a\":1e999999}", "{\"a\":\"\\ud800\"}", "{\"a\":01}", "{\"a\":\"\x01\"}",
    "{\"a\":99999999999999999999}", "{\"a\" : [1, 2 ,3 ] } ", "{\"a\":[1,2,3]} x",
};
static const char *const k_jdoc_keys[] = {
    "i", "z", "neg", "d", "e", "b", "f", "s", "n", "max", "big", "min", "nz", "o", "a", "h", "odd",
    "bad", "empty", "esc", "nul", "key", "k\\u0065y", "\xc3\xa9t\xc3\xa9", "hx", "missing",
    "tcbLevels", "",
};

Test(json, jdoc_agrees_with_json_c_getters)
{
    for (size_t t = 0; t < sizeof k_jdoc_texts / sizeof k_jdoc_texts[0]; t++) {
        const char *text = k_jdoc_texts[t];
        cba_error e1, e2;
        json_object *o = NULL;
        cba_jdoc d;
        cba_err r1, r2;
        cba_error_clear(&e1);
        cba_error_clear(&e2);
        r1 = cba_json_parse(&e1, &o, txt(text), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t");
        r2 = cba_jdoc_parse(&e2, &d, txt(text), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t");
        cr_assert_eq(r1, r2, "text %zu: json-c %d, jdoc %d", t, r1, r2);
        if (r1 != CBA_OK) {
            cr_assert_str_eq(e1.detail, e2.detail, "text %zu: same message", t);
            cr_assert_eq(d.num, 0);
            cba_jdoc_cleanup(&d);
            continue;
        }
        const cba_jnode *root = cba_jdoc_root(&d);
        cr_assert_not_null(root);
        cr_assert_eq(root->type == CBA_JT_OBJECT, json_object_is_type(o, json_type_object), "text %zu", t);
        for (size_t k = 0; k < sizeof k_jdoc_keys / sizeof k_jdoc_keys[0]; k++) {
            const char *key = k_jdoc_keys[k];
            cbs s1 = { 0 }, s2 = { 0 };
            uint64_t u1 = 7, u2 = 7;
            uint8_t h1[3] = { 9, 9, 9 }, h2[3] = { 9, 9, 9 };
            json_object *c1 = NULL;
            const cba_jnode *c2 = NULL;
            bool b1, b2;
            cr_assert_eq(cba_json_has(o, key), cba_jhas(root, key), "%zu/%s: has", t, key);
            b1 = cba_json_get_string(o, key, &s1);
            b2 = cba_jget_string(root, key, &s2);
            cr_assert_eq(b1, b2, "%zu/%s: get_string", t, key);
            if (b1) {
                cr_assert_eq(s1.len, s2.len, "%zu/%s: string length", t, key);
                cr_assert(s1.len == 0 || memcmp(s1.data, s2.data, s1.len) == 0, "%zu/%s: bytes", t, key);
            }
            for (uint64_t max = 0; max < 3; max++) {
                uint64_t m = max == 2 ? UINT64_MAX : max * 42;
                b1 = cba_json_get_u64(o, key, m, &u1);
                b2 = cba_jget_u64(root, key, m, &u2);
                cr_assert_eq(b1, b2, "%zu/%s: get_u64 max %llu", t, key, (unsigned long long)m);
                cr_assert_eq(u1, u2, "%zu/%s: u64 value", t, key);
            }
            for (size_t n = 0; n <= 3; n++) {
                cr_assert_eq(cba_json_get_hex(o, key, h1, n), cba_jget_hex(root, key, h2, n),
                             "%zu/%s: get_hex %zu", t, key, n);
                cr_assert(memcmp(h1, h2, 3) == 0);
            }
            b1 = cba_json_get_object(o, key, &c1);
            b2 = cba_jget_object(root, key, &c2);
            cr_assert_eq(b1, b2, "%zu/%s: get_object", t, key);
            b1 = cba_json_get_array(o, key, &c1);
            b2 = cba_jget_array(root, key, &c2);
            cr_assert_eq(b1, b2, "%zu/%s: get_array", t, key);
            if (b1) {
                size_t n = json_object_array_length(c1);
                cr_assert_eq(n, c2->num, "%zu/%s: array length", t, key);
                for (size_t i = 0; i <= n; i++) {
                    json_object *x = i < n ? json_object_array_get_idx(c1, i) : NULL;
                    const cba_jnode *y = cba_jnode_at(c2, i);
                    cr_assert_eq(x == NULL && i == n, y == NULL, "%zu/%s[%zu]", t, key, i);
                    if (i < n && x != NULL) {
                        cr_assert_eq(json_object_is_type(x, json_type_object), y->type == CBA_JT_OBJECT);
                        cr_assert_eq(json_object_is_type(x, json_type_string), y->type == CBA_JT_STRING);
                    }
                }
            }
        }
        json_object_put(o);
        cba_jdoc_cleanup(&d);
    }
    cba_jdoc_cleanup(NULL);
}

Test(json, jdoc_nested_walk_and_escaped_keys)
{
    cba_jdoc d;
    cba_error e;
    const cba_jnode *root, *levels, *lvl, *tcb, *comps, *c;
    cbs s;
    uint64_t v;
    cba_error_clear(&e);
    cr_assert_eq(cba_jdoc_parse(&e, &d, txt(k_jdoc_texts[1]), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t"),
                 CBA_OK, "%s", e.detail);
    root = cba_jdoc_root(&d);
    cr_assert(cba_jget_array(root, "tcbLevels", &levels));
    cr_assert_eq(levels->num, 2);
    lvl = cba_jnode_at(levels, 0);
    cr_assert(cba_jget_object(lvl, "tcb", &tcb));
    cr_assert(cba_jget_array(tcb, "sgxtcbcomponents", &comps));
    c = cba_jnode_at(comps, 1);
    cr_assert(cba_jget_u64(c, "svn", 255, &v) && v == 2);
    cr_assert(cba_jget_string(c, "category", &s) && cbs_eq_str(s, "x"));
    cr_assert(cba_jget_u64(tcb, "pcesvn", 65535, &v) && v == 13, "pcesvn after the nested array");
    cr_assert(cba_jget_string(lvl, "tcbStatus", &s) && cbs_eq_str(s, "UpToDate"));
    cr_assert_eq(cba_jnode_at(levels, 1)->type, CBA_JT_OBJECT);
    cr_assert_eq(cba_jnode_at(levels, 1)->num, 0);
    cr_assert_null(cba_jnode_at(levels, 2));
    cr_assert_null(cba_jnode_at(root, 0), "an object is not an array");
    cba_jdoc_cleanup(&d);
}

/* The scanner skips plain ASCII sixteen (SSE2) or eight bytes at a time (cbs_json_plain_run) and
 * one-character escapes in the same loop: a special byte or an escape at any position and
 * alignment must still be seen. */
Test(json, special_byte_at_every_position)
{
    static const struct { const char *ins; bool ok; } cases[] = {
        { "\x01", false }, { "\x1f", false }, { "\xff", false }, { "\x80", false },
        { "\\\"", true }, { "\\\\", true }, { "\\u00e9", true }, { "\xc3\xa9", true },
        { "\x7f", true }, { " ", true }, { "\\x", false }, { "\"", false },
        { "\\n", true }, { "\\/", true }, { "\\t\\n\\\"", true }, { "\\u", false },
        { "\\ud800", false }, { "\\\x01", false },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t pos = 0; pos < 40; pos++) {
            char text[128];
            size_t n = 0;
            text[n++] = '"';
            for (size_t i = 0; i < pos; i++) { text[n++] = (char)('a' + (char)(i % 26)); }
            n += (size_t)snprintf(text + n, sizeof text - n, "%s", cases[c].ins);
            for (size_t i = 0; i < 17; i++) { text[n++] = 'z'; }
            text[n++] = '"';
            text[n] = '\0';
            cr_assert_eq(parse_s(text) == CBA_OK, cases[c].ok, "case %zu at %zu: %s", c, pos, text);
        }
    }
}

/* The decoded jdoc strings: every escape at every position, several in a row, against the
 * bytes they stand for. */
Test(json, jdoc_unescape_every_position)
{
    static const struct { const char *esc, *val; } cases[] = {
        { "\\\"", "\"" }, { "\\\\", "\\" }, { "\\/", "/" }, { "\\b", "\b" }, { "\\f", "\f" },
        { "\\n", "\n" }, { "\\r", "\r" }, { "\\t", "\t" }, { "\\u00e9", "\xc3\xa9" },
        { "\\u20ac", "\xe2\x82\xac" }, { "\\ud83d\\ude00", "\xf0\x9f\x98\x80" }, { "\\u0041", "A" },
        { "\\n\\\"\\n", "\n\"\n" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t pos = 0; pos < 36; pos++) {
            char text[128], want[96];
            size_t n = 0, w = 0;
            cba_jdoc d;
            cba_error e;
            cbs got;
            n += (size_t)snprintf(text, sizeof text, "[\"");
            for (size_t i = 0; i < pos; i++) { text[n++] = want[w++] = (char)('a' + (char)(i % 26)); }
            n += (size_t)snprintf(text + n, sizeof text - n, "%s", cases[c].esc);
            w += (size_t)snprintf(want + w, sizeof want - w, "%s", cases[c].val);
            for (size_t i = 0; i < 19; i++) { text[n++] = want[w++] = 'z'; }
            n += (size_t)snprintf(text + n, sizeof text - n, "\",\"x\\ny\"]");
            cba_error_clear(&e);
            cr_assert_eq(cba_jdoc_parse(&e, &d, cbs_make((const uint8_t *)text, n), CBA_JSON_MAX_DEPTH,
                                        CBA_E_JSON, "t"), CBA_OK, "%s", e.detail);
            cr_assert(cba_jnode_string(cba_jnode_at(cba_jdoc_root(&d), 0), &got));
            cr_assert(got.len == w && memcmp(got.data, want, w) == 0, "case %zu at %zu", c, pos);
            cr_assert(cba_jnode_string(cba_jnode_at(cba_jdoc_root(&d), 1), &got));
            cr_assert(got.len == 3 && memcmp(got.data, "x\ny", 3) == 0, "the next string");
            cba_jdoc_cleanup(&d);
        }
    }
}

/* cba_hex_decode (CRLs, signatures, getters) decodes 16 characters at a time with SSE2 and the rest
 * through a table: every length, both cases, and a bad character at every position (refused with
 * the output untouched), including the bytes next to the digit ranges. */
Test(json, hex_decode_every_length_and_position)
{
    static const uint8_t bad[] = { 'g', 'G', '/', ':', '@', '`', 0x80, 0xb0, 0xff, 0x00, ' ', 0x10 };
    uint8_t want[48], got[48];
    char hex[97];
    for (size_t i = 0; i < sizeof want; i++) { want[i] = (uint8_t)(i * 37 + 11); }
    for (size_t n = 0; n <= sizeof want; n++) {
        for (int upper = 0; upper < 2; upper++) {
            for (size_t i = 0; i < n; i++) {
                snprintf(hex + 2 * i, 3, upper ? "%02X" : "%02x", want[i]);
            }
            memset(got, 0xaa, sizeof got);
            cr_assert(cba_hex_decode(got, n, hex, 2 * n), "n %zu", n);
            cr_assert(memcmp(got, want, n) == 0, "n %zu upper %d", n, upper);
            cr_assert_not(cba_hex_decode(got, n, hex, n > 0 ? 2 * n - 1 : 1), "odd length");
            for (size_t pos = 0; pos < 2 * n; pos++) {
                for (size_t b = 0; b < sizeof bad; b++) {
                    char saved = hex[pos];
                    hex[pos] = (char)bad[b];
                    memset(got, 0xaa, sizeof got);
                    cr_assert_not(cba_hex_decode(got, n, hex, 2 * n), "n %zu pos %zu byte %02x", n, pos, bad[b]);
                    for (size_t k = 0; k < sizeof got; k++) { cr_assert_eq(got[k], 0xaa, "written on failure"); }
                    hex[pos] = saved;
                }
            }
        }
    }
}

/* The duplicate check's key hash (json.c, key_hash) takes the decoded bytes eight at a time, a
 * plain run as whole words and an escape byte by byte: the same key must hash the same however
 * its escapes split it. Keys of 0..25 bytes (ASCII and a two-byte character), one character at
 * every position written raw, as \u00XX, or as its one-character escape: always a duplicate of
 * the raw key; a key that differs in one byte at any position never is. The jdoc tree refuses
 * the same texts. */
Test(json, duplicate_keys_found_however_escapes_split_them)
{
    static const char *const k_forms_a[] = { "a", "\\u0061" };
    static const char *const k_forms_e[] = { "\xc3\xa9", "\\u00e9", "\\u00E9" };
    static const char *const k_forms_sl[] = { "/", "\\/", "\\u002f" };
    static const struct { const char *raw; const char *const *forms; size_t num; } chars[] = {
        { "a", k_forms_a, 2 }, { "\xc3\xa9", k_forms_e, 3 }, { "/", k_forms_sl, 3 },
    };
    for (size_t ch = 0; ch < sizeof chars / sizeof chars[0]; ch++) {
        for (size_t len = 1; len <= 25; len++) {
            for (size_t pos = 0; pos < len; pos++) {
                for (size_t f = 0; f < chars[ch].num; f++) {
                    char raw[128], esc[128], other[128], text[512];
                    size_t r = 0, e = 0, o = 0;
                    cba_jdoc d;
                    cba_error err;
                    for (size_t i = 0; i < len; i++) {
                        char c = (char)('A' + (char)(i % 23));
                        if (i == pos) {
                            r += (size_t)snprintf(raw + r, sizeof raw - r, "%s", chars[ch].raw);
                            e += (size_t)snprintf(esc + e, sizeof esc - e, "%s", chars[ch].forms[f]);
                            o += (size_t)snprintf(other + o, sizeof other - o, "%s", "b");
                        } else {
                            raw[r++] = c;
                            esc[e++] = c;
                            other[o++] = c;
                        }
                    }
                    raw[r] = esc[e] = other[o] = '\0';
                    snprintf(text, sizeof text, "{\"%s\":1,\"x\":0,\"%s\":2}", raw, esc);
                    cba_error_clear(&err);
                    cr_assert_eq(parse_s(text), CBA_E_COLLATERAL_FORMAT, "a duplicate: %s", text);
                    cr_assert(cba_json_has_duplicate_keys(txt(text), CBA_JSON_MAX_DEPTH), "%s", text);
                    cr_assert_neq(cba_jdoc_parse(&err, &d, txt(text), CBA_JSON_MAX_DEPTH, CBA_E_JSON, "t"),
                                  CBA_OK, "%s", text);
                    cr_assert(strstr(err.detail, "duplicate") != NULL, "%s: %s", text, err.detail);
                    cba_jdoc_cleanup(&d);
                    snprintf(text, sizeof text, "{\"%s\":1,\"%s\":2}", esc, other);
                    cr_assert_eq(parse_s(text), CBA_OK, "distinct: %s", text);
                }
            }
        }
    }
}

/* reference_escaped_run is the loop cbs_json_escaped_run replaced: a plain run, then a
 * one-character escape, again. */
static size_t reference_escaped_run(cbs c, bool *escaped)
{
    size_t n = 0;
    for (;;) {
        while (n < c.len && cbs_byte(c, n) >= 0x20 && cbs_byte(c, n) < 0x80 && cbs_byte(c, n) != '"' &&
               cbs_byte(c, n) != '\\') {
            n++;
        }
        if (c.len - n < 2 || cbs_byte(c, n) != '\\' || strchr("\"\\/bfnrt", cbs_byte(c, n + 1)) == NULL ||
            cbs_byte(c, n + 1) == 0) {
            return n;
        }
        *escaped = true;
        n += 2;
    }
}

/* cbs_json_escaped_run walks each 16-byte block's special bytes by their bit mask (an escape may
 * straddle two blocks): 300,000 random bodies dense in backslashes, quotes and bad bytes, every
 * length 0..72, against the plain loop. */
Test(json, escaped_run_agrees_with_a_plain_loop)
{
    static const uint8_t alphabet[] = { 'a', 'z', '0', ' ', '\\', '\\', '\\', '"', 'n', 't', 'u', '/',
                                        'b', 'x', 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff };
    uint8_t buf[80];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (unsigned iter = 0; iter < 300000; iter++) {
        size_t len = iter % 73;
        bool e1 = false, e2 = false;
        size_t got, want;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            /* mostly plain letters so that runs reach past a block */
            buf[i] = (seed >> 60) < 9 ? (uint8_t)('c' + (seed >> 33) % 20)
                                      : alphabet[(seed >> 33) % sizeof alphabet];
        }
        got = cbs_json_escaped_run(cbs_make(buf, len), &e1);
        want = reference_escaped_run(cbs_make(buf, len), &e2);
        cr_assert_eq(got, want, "iteration %u, length %zu", iter, len);
        cr_assert_eq(e1, e2, "iteration %u: the escaped flag", iter);
    }
}

/* reference_unescape_run is cbs_json_unescape_run byte by byte. */
static size_t reference_unescape_run(cbs *c, uint8_t *out, size_t cap)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t i = 0, o = 0;
    while (i < c->len && o < cap) {
        const char *e;
        if (cbs_byte(*c, i) != '\\') {
            out[o++] = cbs_byte(*c, i++);
            continue;
        }
        if (c->len - i < 2 || cbs_byte(*c, i + 1) == 0 || (e = strchr(from, cbs_byte(*c, i + 1))) == NULL) {
            break;
        }
        out[o++] = (uint8_t)to[e - from];
        i += 2;
    }
    cr_assert(cbs_skip(c, i));
    return o;
}

/* cbs_json_unescape_run (jdoc's unescaping) copies 16 bytes at a time between escapes and decodes
 * the one-character ones: 200,000 random bodies dense in escapes (and \u, and a backslash at the
 * end), every output capacity around the length, against the byte-by-byte loop; nothing is
 * written past the capacity. */
Test(json, unescape_run_agrees_with_a_plain_loop)
{
    static const uint8_t alphabet[] = { '\\', '\\', '\\', '"', 'n', 't', 'u', '/', 'b', 'f', 'r', 'x', '0' };
    uint8_t in[80], out1[96], out2[96];
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (unsigned iter = 0; iter < 200000; iter++) {
        size_t len = iter % 71, cap;
        cbs c1, c2;
        size_t n1, n2;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            in[i] = (seed >> 60) < 10 ? (uint8_t)('A' + (seed >> 33) % 26) : alphabet[(seed >> 33) % sizeof alphabet];
        }
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        cap = (size_t)((seed >> 33) % (len + 3));
        c1 = cbs_make(in, len);
        c2 = cbs_make(in, len);
        memset(out1, 0xaa, sizeof out1);
        memset(out2, 0xaa, sizeof out2);
        n1 = cbs_json_unescape_run(&c1, out1, cap);
        n2 = reference_unescape_run(&c2, out2, cap);
        cr_assert_eq(n1, n2, "iteration %u: length %zu, capacity %zu", iter, len, cap);
        cr_assert(memcmp(out1, out2, n1) == 0, "iteration %u: the bytes", iter);
        cr_assert_eq(c1.len, c2.len, "iteration %u: what is consumed", iter);
        for (size_t k = cap; k < sizeof out1; k++) { cr_assert_eq(out1[k], 0xaa, "written past the capacity"); }
    }
}
