/* test_base.c — libcrabbox-base (base/): the codecs with malformed input, constant-time compare,
 * the error setters (crabbox_err_set formatting from its own message), random bytes and the
 * report-data binding, RFC 3339 times. cbs.h and json.c have their own suites (test_der.c, test_json.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "errset.h"
#include "rfc3339.h"
#include "sha2.h"

TestSuite(base, .timeout = 10);

/* ---- hex -------------------------------------------------------------------------------------- */

Test(base, hex_round_trip_and_case)
{
    static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
    char text[2 * sizeof in + 1];
    uint8_t back[sizeof in];
    cba_hex_encode(text, in, sizeof in);
    cr_assert_str_eq(text, "00017f80abff");
    cr_assert(cba_hex_decode(back, sizeof back, text, strlen(text)));
    cr_assert_arr_eq(back, in, sizeof in);
    cr_assert(cba_hex_decode(back, sizeof back, "00017F80ABFF", 12), "either case");
    cr_assert_arr_eq(back, in, sizeof in);
    cba_hex_encode(text, in, 0);
    cr_assert_str_eq(text, "");
}

Test(base, hex_decode_rejects_malformed_and_leaves_out_alone)
{
    uint8_t out[3] = { 0xaa, 0xbb, 0xcc };
    static const uint8_t untouched[3] = { 0xaa, 0xbb, 0xcc };
    cr_assert_not(cba_hex_decode(out, 3, "0102", 4), "too short");
    cr_assert_not(cba_hex_decode(out, 3, "01020304", 8), "too long");
    cr_assert_not(cba_hex_decode(out, 3, "01020", 5), "odd length");
    cr_assert_not(cba_hex_decode(out, 3, "01020g", 6), "non-hex digit at the end");
    cr_assert_not(cba_hex_decode(out, 3, "0x0102", 6), "no 0x prefix here");
    cr_assert_not(cba_hex_decode(out, 3, "01 203", 6), "no whitespace");
    cr_assert_not(cba_hex_decode(out, 3, "01\0" "203", 6), "no NUL");
    cr_assert_not(cba_hex_decode(out, SIZE_MAX, "00", 2), "a length that overflows 2*n");
    cr_assert_arr_eq(out, untouched, 3, "a failed decode writes nothing");
}

/* ---- base64 ----------------------------------------------------------------------------------- */

/* RFC 4648 section 10 test vectors. */
static const struct {
    const char *plain, *b64;
} k_rfc4648[] = {
    { "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },       { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

Test(base, base64_rfc4648_vectors_both_ways)
{
    for (size_t i = 0; i < sizeof k_rfc4648 / sizeof k_rfc4648[0]; i++) {
        const char *p = k_rfc4648[i].plain, *b = k_rfc4648[i].b64;
        char enc[16];
        uint8_t dec[8];
        size_t n = 99;
        char *alloc = cba_base64_encode_alloc((const uint8_t *)p, strlen(p));
        cr_assert_eq(cba_base64_encoded_len(strlen(p)), strlen(b), "%s", b);
        cba_base64_encode(enc, (const uint8_t *)p, strlen(p));
        cr_assert_str_eq(enc, b);
        cr_assert_not_null(alloc);
        cr_assert_str_eq(alloc, b);
        free(alloc);
        cr_assert(cba_base64_decode(dec, sizeof dec, &n, b, strlen(b)), "%s", b);
        cr_assert_eq(n, strlen(p));
        cr_assert_arr_eq(dec, p, n);
    }
}

Test(base, base64_all_bytes_round_trip)
{
    uint8_t in[256], back[256];
    size_t n = 0;
    for (size_t i = 0; i < sizeof in; i++) { in[i] = (uint8_t)i; }
    for (size_t len = 0; len <= sizeof in; len += 37) {
        char *t = cba_base64_encode_alloc(in, len);
        cr_assert_not_null(t);
        cr_assert(cba_base64_decode(back, sizeof back, &n, t, strlen(t)));
        cr_assert_eq(n, len);
        cr_assert_arr_eq(back, in, len);
        free(t);
    }
}

Test(base, base64_decode_rejects_malformed)
{
    static const char *const bad[] = {
        "Zg=",       /* not a multiple of 4 */
        "Zm9",       /* unpadded */
        "Zg",        /* unpadded */
        "Z===",      /* three '=' */
        "====",      /* only padding */
        "Zg==Zg==",  /* padding inside */
        "Zm=v",      /* '=' before data in the quad */
        "Zh==",      /* non-canonical: bits under the padding */
        "Zm9=",      /* non-canonical (one '=') */
        "Zm9v\n",    /* whitespace */
        "Zm 9",      /* space */
        "Zm9-",      /* URL-safe alphabet */
        "Zm9_",      /* URL-safe alphabet */
        "Zm9*",      /* junk */
        "Zm\x80v",   /* high byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[8];
        size_t n = 12345;
        cr_assert_not(cba_base64_decode(out, sizeof out, &n, bad[i], strlen(bad[i])), "accepted %s",
                      bad[i]);
        cr_assert_eq(n, 12345, "*out_len set on failure for %s", bad[i]);
    }
    {
        uint8_t out[8];
        size_t n = 0;
        cr_assert_not(cba_base64_decode(out, 1, &n, "Zm8=", 4), "over the output capacity");
        cr_assert_not(cba_base64_decode(out, 2, &n, "Zm9vYg==", 8), "over the output capacity");
        cr_assert(cba_base64_decode(out, 2, &n, "Zm8=", 4) && n == 2, "exactly the capacity");
        cr_assert_not(cba_base64_decode(out, sizeof out, &n, "Zm\0v", 4), "NUL inside");
    }
}

/* b64_pieces feeds the pieces of a '|'-separated text to one stream and says whether the whole
 * decoded and ended on a quad; *n gets the decoded length. */
static bool b64_pieces(const char *text, uint8_t *out, size_t cap, size_t *n)
{
    cba_base64_stream st;
    const char *p = text;
    memset(&st, 0, sizeof st);
    *n = 0;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (!cba_base64_decode_part(&st, out, cap, n, p, len)) { return false; }
        if (bar == NULL) { break; }
        p = bar + 1;
    }
    return cba_base64_decode_end(&st);
}

Test(base, base64_stream_pieces_keep_the_strict_rules)
{
    /* A quad may span pieces (PEM lines of any length); the rules hold over the whole text. */
    static const char *const good[] = { "Zm9vYmFy", "Zm9v|YmFy", "Z|m9vYm|Fy", "Zm9vYg|==",
                                        "Zm9vY|g=|=", "Zm9vYmE|=", "|Zm9vYmFy|" };
    static const char *const want[] = { "foobar", "foobar", "foobar", "foob",
                                        "foob",   "fooba",  "foobar" };
    static const char *const bad[] = {
        "Zm9vYg==|Zm9v", /* data after the padded quad, in the next piece */
        "Zm9v|Yg",       /* ends inside a quad */
        "Zm9vY|===",     /* three '=' across pieces */
        "Zm9v|=Zg=",     /* '=' first in a quad */
        "Zm9v|Zm=|v",    /* data after '=' within a quad, across pieces */
        "Zm9v|Zh==",     /* non-canonical */
        "Zm9v| Zm9v",    /* whitespace at a piece's start */
        "Zm9v|Zm9-",     /* URL-safe */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t out[16];
        size_t n;
        cr_assert(b64_pieces(good[i], out, sizeof out, &n), "refused %s", good[i]);
        cr_assert(n == strlen(want[i]) && memcmp(out, want[i], n) == 0, "%s", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n;
        cr_assert_not(b64_pieces(bad[i], out, sizeof out, &n), "accepted %s", bad[i]);
    }
    {
        uint8_t out[16];
        size_t n;
        cr_assert_not(b64_pieces("Zm9v|YmFy", out, 5, &n), "over the capacity in the 2nd piece");
        cr_assert(b64_pieces("Zm9v|YmFy", out, 6, &n) && n == 6, "exactly the capacity");
    }
}

/* ref_b64 is a plain reference of the strict decode (one character at a time, no tables): the
 * alphabet only, a whole number of quads, '=' only as the last one or two characters, zero bits
 * under the padding, room for the output. */
static int ref_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') { return c - 'A'; }
    if (c >= 'a' && c <= 'z') { return c - 'a' + 26; }
    if (c >= '0' && c <= '9') { return c - '0' + 52; }
    if (c == '+') { return 62; }
    if (c == '/') { return 63; }
    return -1;
}

static bool ref_b64(const char *in, size_t len, uint8_t *out, size_t cap, size_t *n)
{
    size_t pad = 0;
    *n = 0;
    if (len % 4 != 0) { return false; }
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=') { pad++; }
    for (size_t q = 0; q < len; q += 4) {
        uint32_t w = 0;
        size_t qpad = q + 4 == len ? pad : 0, bytes = 3 - qpad;
        for (size_t k = 0; k < 4; k++) {
            int v = ref_b64_value(in[q + k]);
            if (v < 0 && !(in[q + k] == '=' && k >= 4 - qpad)) { return false; }
            w = w << 6 | (uint32_t)(v < 0 ? 0 : v);
        }
        if ((qpad == 1 && (w & 0xff)) || (qpad == 2 && (w & 0xffff))) { return false; }
        if (cap - *n < bytes) { return false; }
        for (size_t k = 0; k < bytes; k++) { out[(*n)++] = (uint8_t)(w >> (16 - 8 * k)); }
    }
    return true;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(base, base64_decode_agrees_with_a_plain_reference)
{
    /* Random texts: valid encodings of random bytes with a few characters replaced (by alphabet
     * characters, '=', junk), and raw draws from the alphabet plus '=' and junk; decoded whole,
     * in random pieces (the PEM path), and with a random output capacity. Deterministic seed. */
    static const char pool[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/====-_ \n.\x80\xff";
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t accepted = 0, refused = 0;
    for (int iter = 0; iter < 60000; iter++) {
        char text[200];
        uint8_t raw[140], got[160], want[160], pieces_out[160];
        size_t len, n_got = 0, n_want = 0, n_pieces = 0, cap;
        bool ok_got, ok_want, ok_pieces = true;
        cba_base64_stream st;
        if (xorshift(&seed) % 2 == 0) {
            size_t nraw = xorshift(&seed) % 130, flips = xorshift(&seed) % 3;
            for (size_t i = 0; i < nraw; i++) { raw[i] = (uint8_t)xorshift(&seed); }
            cba_base64_encode(text, raw, nraw);
            len = strlen(text);
            for (size_t f = 0; f < flips && len > 0; f++) {
                text[xorshift(&seed) % len] = pool[xorshift(&seed) % (sizeof pool - 1)];
            }
        } else {
            len = (xorshift(&seed) % 12) * 4 + (xorshift(&seed) % 5 == 0 ? xorshift(&seed) % 4 : 0);
            for (size_t i = 0; i < len; i++) {
                /* mostly alphabet, so that whole quads decode and the checks after them run */
                text[i] = pool[xorshift(&seed) % (xorshift(&seed) % 8 == 0 ? sizeof pool - 1 : 64)];
            }
        }
        cap = xorshift(&seed) % 4 == 0 ? xorshift(&seed) % 160 : 160;
        ok_want = ref_b64(text, len, want, cap, &n_want);
        ok_got = cba_base64_decode(got, cap, &n_got, text, len);
        cr_assert_eq(ok_got, ok_want, "iteration %d: %.*s (capacity %zu): %d, reference %d", iter,
                     (int)len, text, cap, ok_got, ok_want);
        if (ok_want) {
            cr_assert(n_got == n_want && memcmp(got, want, n_want) == 0, "iteration %d: bytes differ", iter);
            accepted++;
        } else {
            refused++;
        }
        memset(&st, 0, sizeof st);
        for (size_t at = 0; at < len && ok_pieces;) {
            size_t piece = 1 + xorshift(&seed) % 70;
            if (piece > len - at) { piece = len - at; }
            ok_pieces = cba_base64_decode_part(&st, pieces_out, cap, &n_pieces, text + at, piece);
            at += piece;
        }
        ok_pieces = ok_pieces && cba_base64_decode_end(&st);
        /* The stream has no whole-text length rule, so an unfinished quad fails at the end. */
        cr_assert_eq(ok_pieces, ok_want, "iteration %d: in pieces: %d, reference %d", iter, ok_pieces,
                     ok_want);
        if (ok_want) { cr_assert(n_pieces == n_want && memcmp(pieces_out, want, n_want) == 0); }
    }
    cr_assert(accepted > 10000 && refused > 10000, "both outcomes exercised: %zu accepted, %zu refused",
              accepted, refused);
}

Test(base, base64_encoded_len_overflow)
{
    cr_assert_eq(cba_base64_encoded_len(0), 0);
    cr_assert_eq(cba_base64_encoded_len(1), 4);
    cr_assert_eq(cba_base64_encoded_len(3), 4);
    cr_assert_eq(cba_base64_encoded_len(4), 8);
    cr_assert_eq(cba_base64_encoded_len(SIZE_MAX), 0, "too large: 0, not a wrapped length");
    cr_assert_null(cba_base64_encode_alloc((const uint8_t *)"", SIZE_MAX));
}

/* ---- compare, random -------------------------------------------------------------------------- */

Test(base, ct_eq)
{
    uint8_t a[48], b[48];
    for (size_t i = 0; i < sizeof a; i++) { a[i] = b[i] = (uint8_t)(i * 13); }
    cr_assert(cba_ct_eq(a, b, sizeof a));
    cr_assert(cba_ct_eq(a, b, 0));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x80;
        cr_assert_not(cba_ct_eq(a, b, sizeof a), "byte %zu differs", i);
        b[i] ^= 0x80;
    }
}

Test(base, random_bytes_fill_and_differ)
{
    uint8_t a[64] = { 0 }, b[64] = { 0 }, zero[64] = { 0 };
    cr_assert(cba_random_bytes(a, sizeof a));
    cr_assert(cba_random_bytes(b, sizeof b));
    cr_assert(cba_random_bytes(a, 0));
    cr_assert_arr_neq(a, zero, sizeof a);
    cr_assert_arr_neq(a, b, sizeof a);
}

/* ---- errors ----------------------------------------------------------------------------------- */

Test(base, crabbox_err_set_formats_from_its_own_message)
{
    crabbox_err e;
    memset(&e, 0, sizeof e);
    cr_assert_eq(crabbox_err_set(&e, 3, "inner %d", 42), 3);
    cr_assert_eq(e.code, 3);
    cr_assert_str_eq(e.message, "inner 42");
    /* Context added by formatting the previous message in: must not read what it writes. */
    cr_assert_eq(crabbox_err_set(&e, 5, "outer: %s (again: %s)", e.message, e.message), 5);
    cr_assert_str_eq(e.message, "outer: inner 42 (again: inner 42)");
    cr_assert_eq(e.code, 5);
    cr_assert_eq(crabbox_err_set(NULL, 7, "x %s", "y"), 7, "NULL-safe, returns the code");
}

Test(base, crabbox_err_set_cuts_long_messages)
{
    crabbox_err e;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    (void)crabbox_err_set(&e, 1, "%s", big);
    cr_assert_eq(strlen(e.message), sizeof e.message - 1);
    /* Growing from itself past the end stays bounded and NUL-terminated. */
    (void)crabbox_err_set(&e, 1, "%s%s", e.message, e.message);
    cr_assert_eq(strlen(e.message), sizeof e.message - 1);
}

Test(base, cba_fail_keeps_the_first_failure)
{
    cba_error e;
    cba_error_clear(&e);
    cba_error_clear(NULL);
    cr_assert_eq(cba_fail(&e, CBA_E_JSON, "a.b", "first %d", 1), CBA_E_JSON);
    cr_assert_eq(cba_fail(&e, CBA_E_DER, "c", "second"), CBA_E_DER);
    cr_assert_eq(e.code, CBA_E_JSON);
    cr_assert_str_eq(e.where, "a.b");
    cr_assert_str_eq(e.detail, "first 1");
    cr_assert_eq(cba_fail(NULL, CBA_E_JSON, NULL, "x"), CBA_E_JSON);
}

/* ---- SHA-2, report data ----------------------------------------------------------------------- */

Test(base, sha2_known_answers)
{
    /* FIPS 180-2 "abc". */
    static const char k256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char k512[] = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                               "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    const cbs parts[2] = { cbs_make((const uint8_t *)"a", 1), cbs_make((const uint8_t *)"bc", 2) };
    uint8_t d256[32], d512[64];
    char hex[129];
    cr_assert(cba_sha256(d256, parts, 2));
    cba_hex_encode(hex, d256, 32);
    cr_assert_str_eq(hex, k256);
    cr_assert(cba_sha512(d512, parts, 2));
    cba_hex_encode(hex, d512, 64);
    cr_assert_str_eq(hex, k512);
}

Test(base, report_data_is_the_abi_formula)
{
    static const uint8_t key[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9' };
    uint8_t nonce[32], kh[32], want[64], rd[64], rd2[64];
    const cbs kp = cbs_make(key, sizeof key);
    cbs parts[3];
    for (int i = 0; i < 32; i++) { nonce[i] = (uint8_t)(i * 5 + 3); }
    cr_assert(cba_sha256(kh, &kp, 1));
    parts[0] = cbs_make((const uint8_t *)"crabbox-attest-v1:", 18);
    parts[1] = cbs_make(nonce, 32);
    parts[2] = cbs_make(kh, 32);
    cr_assert(cba_sha512(want, parts, 3));
    cr_assert(cba_report_data(rd, nonce, key, sizeof key));
    cr_assert_arr_eq(rd, want, 64);
    cr_assert(cba_report_data(rd2, nonce, key, sizeof key - 1));
    cr_assert_arr_neq(rd, rd2, 64, "another host key");
    nonce[0] ^= 1;
    cr_assert(cba_report_data(rd2, nonce, key, sizeof key));
    cr_assert_arr_neq(rd, rd2, 64, "another nonce");
}

/* ---- RFC 3339 --------------------------------------------------------------------------------- */

static bool t3339(const char *s, unsigned flags, int64_t *t)
{
    return cba_parse_rfc3339(cbs_make((const uint8_t *)s, strlen(s)), flags, t);
}

Test(base, rfc3339_full_profile)
{
    int64_t t = 0;
    cr_assert(t3339("2025-06-01T12:00:00Z", 0, &t) && t == 1748779200);
    cr_assert(t3339("2025-06-01t12:00:00z", 0, &t) && t == 1748779200);
    cr_assert(t3339("2025-06-01 12:00:00Z", 0, &t) && t == 1748779200);
    cr_assert(t3339("2025-06-01T14:00:00.5+02:00", 0, &t) && t == 1748779200, "fraction dropped");
    cr_assert(t3339("2025-06-01T11:30:00.123456789-00:30", 0, &t) && t == 1748779200);
    cr_assert(t3339("1969-12-31T23:59:59Z", 0, &t) && t == -1, "before 1970 without UNIX");
    cr_assert(t3339("2024-02-29T00:00:00Z", CBA_RFC3339_UNIX, &t) && t == 1709164800);
    cr_assert(t3339("1970-01-01T00:00:00Z", CBA_RFC3339_UNIX, &t) && t == 0);
}

Test(base, rfc3339_rejects_malformed)
{
    static const char *const bad[] = {
        "", "2025-06-01T12:00:00", "2025-06-01T12:00:00.Z", "2025-06-01T12:00:00.1234567890Z",
        "2025-06-01T12:00:00+2:00", "2025-06-01T12:00:00+24:00", "2025-06-01T12:00:00+02:60",
        "2025-06-01T12:00:00+0200", "2025-06-01X12:00:00Z", "2025-06-01T12:00:60Z",
        "2025-06-31T12:00:00Z", "2023-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-06-01T12:00:00ZZ",
        "2025-06-01T12:00:00Z ", " 2025-06-01T12:00:00Z", "25-06-01T12:00:00Z", "2025-6-01T12:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 77;
        cr_assert_not(t3339(bad[i], 0, &t), "accepted '%s'", bad[i]);
        cr_assert_eq(t, 77);
    }
}

Test(base, rfc3339_profiles_narrow)
{
    int64_t t = 77;
    /* Z_ONLY: Intel's collateral form only. */
    cr_assert(t3339("2025-06-01T12:00:00Z", CBA_RFC3339_Z_ONLY, &t) && t == 1748779200);
    cr_assert_not(t3339("2025-06-01t12:00:00Z", CBA_RFC3339_Z_ONLY, &t));
    cr_assert_not(t3339("2025-06-01T12:00:00z", CBA_RFC3339_Z_ONLY, &t));
    cr_assert_not(t3339("2025-06-01 12:00:00Z", CBA_RFC3339_Z_ONLY, &t));
    cr_assert_not(t3339("2025-06-01T12:00:00.0Z", CBA_RFC3339_Z_ONLY, &t));
    cr_assert_not(t3339("2025-06-01T12:00:00+00:00", CBA_RFC3339_Z_ONLY, &t));
    /* UNIX: nothing before the epoch, by year or by instant. */
    cr_assert_not(t3339("1969-12-31T23:59:59Z", CBA_RFC3339_UNIX, &t));
    cr_assert_not(t3339("1970-01-01T00:30:00+01:00", CBA_RFC3339_UNIX, &t));
    cr_assert_not(t3339("1969-12-31T23:30:00-01:00", CBA_RFC3339_UNIX, &t));
    cr_assert_eq(t, 1748779200);
}
