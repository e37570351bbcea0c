/* test_der.c — the DER primitives of der.h, table-driven: every row is an encoding and the
 * expected outcome; every failing read must leave the cursor where it was. */
#include <criterion/criterion.h>
#include <string.h>

#include "der.h"
#include "testutil.h"

TestSuite(der, .timeout = 30);

#define MAXB 40

typedef struct row {
    const char *hex; /* the encoding */
    bool ok;
    const char *want; /* hex of the expected value (magnitude, OID body, bits) or NULL */
    uint64_t num;     /* expected numeric value (u64 readers, flags, bool) */
} row;

static size_t load(uint8_t *buf, const char *hex)
{
    long n = tu_hex(buf, MAXB, hex);
    cr_assert_geq(n, 0, "bad test vector %s", hex);
    return (size_t)n;
}

/* check_view asserts the cursor moved exactly over the element on success, not at all on
 * failure, and that a returned view matches `want`. */
static void check_cursor(const row *r, bool got, cbs c, const uint8_t *buf, size_t n)
{
    cr_assert_eq(got, r->ok, "%s: expected %s", r->hex, r->ok ? "success" : "failure");
    if (got) {
        cr_assert_eq(c.len, 0, "%s: the element must be consumed exactly", r->hex);
    } else {
        cr_assert_eq(c.len, n, "%s: a failed read must not move the cursor", r->hex);
        cr_assert(n == 0 || c.data == buf, "%s: cursor data moved", r->hex);
    }
}

static void check_view(const row *r, cbs v)
{
    uint8_t want[MAXB];
    size_t n;
    if (r->want == NULL) { return; }
    n = load(want, r->want);
    cr_assert_eq(v.len, n, "%s: view length %zu, want %zu", r->hex, v.len, n);
    cr_assert(n == 0 || memcmp(v.data, want, n) == 0, "%s: view bytes differ", r->hex);
}

Test(der, integer_magnitude)
{
    static const row rows[] = {
        { "020100", true, "00", 0 },          /* zero: one-byte 0x00 magnitude */
        { "020101", true, "01", 0 },
        { "02017f", true, "7f", 0 },
        { "02020080", true, "80", 0 },        /* sign octet stripped */
        { "020200ff", true, "ff", 0 },
        { "02020100", true, "0100", 0 },
        { "02150080112233445566778899aabbccddeeff00112233", true,
          "80112233445566778899aabbccddeeff00112233", 0 },
        { "0200", false, NULL, 0 },           /* empty contents */
        { "020180", false, NULL, 0 },         /* negative */
        { "0202ff7f", false, NULL, 0 },       /* negative */
        { "02020001", false, NULL, 0 },       /* non-minimal: leading 00 before < 0x80 */
        { "02020000", false, NULL, 0 },
        { "0202ff80", false, NULL, 0 },       /* non-minimal negative */
        { "030100", false, NULL, 0 },         /* wrong tag */
        { "0202", false, NULL, 0 },           /* truncated */
        { "02", false, NULL, 0 },
        { "", false, NULL, 0 },
        { "028101" "01", false, NULL, 0 },    /* long form for a short length */
        { "0280" "0100", false, NULL, 0 },    /* indefinite length */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        size_t n = load(buf, rows[i].hex);
        cbs c = cbs_make(buf, n), mag = { NULL, 0 };
        bool got = der_get_integer(&c, &mag);
        check_cursor(&rows[i], got, c, buf, n);
        if (got) { check_view(&rows[i], mag); }
    }
}

Test(der, integer_u64_and_enumerated)
{
    static const struct {
        const char *hex;
        uint64_t max;
        bool ok;
        uint64_t want;
    } rows[] = {
        { "020100", 255, true, 0 },
        { "0201ff", 255, false, 0 },            /* -1 */
        { "020200ff", 255, true, 255 },
        { "02020100", 255, false, 0 },          /* 256 > max: SVN 256 must fail */
        { "02020100", 65535, true, 256 },
        { "0203010000", 65535, false, 0 },
        { "0203010000", 65536, true, 65536 },
        { "020900ffffffffffffffff", UINT64_MAX, true, UINT64_MAX },
        { "0209010000000000000000", UINT64_MAX, false, 0 },  /* 2^64: does not fit */
        { "02020001", 255, false, 0 },          /* non-minimal */
        { "0a0101", 2, false, 0 },              /* ENUMERATED is not INTEGER */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        long n = tu_hex(buf, MAXB, rows[i].hex);
        uint64_t v = 12345;
        cbs c;
        bool got;
        cr_assert_geq(n, 0, "bad test vector %s", rows[i].hex);
        c = cbs_make(buf, (size_t)n);
        got = der_get_integer_u64(&c, rows[i].max, &v);
        cr_assert_eq(got, rows[i].ok, "%s max %llu", rows[i].hex,
                     (unsigned long long)rows[i].max);
        if (got) {
            cr_assert_eq(v, rows[i].want, "%s", rows[i].hex);
            cr_assert_eq(c.len, 0);
        } else {
            cr_assert_eq(c.len, (size_t)n, "%s: cursor moved", rows[i].hex);
            cr_assert_eq(v, 12345, "%s: output written on failure", rows[i].hex);
        }
    }
    {
        static const uint8_t e1[] = { 0x0a, 0x01, 0x01 }, e3[] = { 0x0a, 0x01, 0x03 },
                             i1[] = { 0x02, 0x01, 0x01 };
        uint64_t v = 0;
        cbs c = cbs_make(e1, sizeof e1);
        cr_assert(der_get_enumerated_u64(&c, 2, &v));
        cr_assert_eq(v, 1);
        c = cbs_make(e3, sizeof e3);
        cr_assert_not(der_get_enumerated_u64(&c, 2, &v));
        cr_assert_eq(c.len, sizeof e3);
        c = cbs_make(i1, sizeof i1);
        cr_assert_not(der_get_enumerated_u64(&c, 2, &v), "INTEGER is not ENUMERATED");
    }
}

Test(der, boolean)
{
    static const row rows[] = {
        { "0101ff", true, NULL, 1 }, { "010100", true, NULL, 0 },
        { "010101", false, NULL, 0 }, /* BER TRUE, not DER */
        { "01017f", false, NULL, 0 }, { "0100", false, NULL, 0 },
        { "0102ffff", false, NULL, 0 }, { "0201ff", false, NULL, 0 },
        { "0101", false, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        size_t n = load(buf, rows[i].hex);
        cbs c = cbs_make(buf, n);
        bool b = false, got = der_get_bool(&c, &b);
        check_cursor(&rows[i], got, c, buf, n);
        if (got) { cr_assert_eq(b, rows[i].num != 0, "%s", rows[i].hex); }
    }
}

Test(der, oid)
{
    static const row rows[] = {
        { "06082a8648ce3d040302", true, "2a8648ce3d040302", 0 }, /* ecdsa-with-SHA256 */
        { "0603551d13", true, "551d13", 0 },
        { "060a2b0601040183e73d0101", true, "2b0601040183e73d0101", 0 },
        { "0600", false, NULL, 0 },               /* empty */
        { "0603558001", false, NULL, 0 },         /* arc starting with 0x80: non-minimal */
        { "060280" "01", false, NULL, 0 },
        { "0602552a", true, "552a", 0 },
        { "0602558a", false, NULL, 0 },           /* last arc unterminated */
        { "040100", false, NULL, 0 },             /* OCTET STRING, not OID */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        size_t n = load(buf, rows[i].hex);
        cbs c = cbs_make(buf, n), oid = { NULL, 0 };
        bool got;
        got = der_get_oid(&c, &oid);
        check_cursor(&rows[i], got, c, buf, n);
        if (got) { check_view(&rows[i], oid); }
    }
}

Test(der, bit_string)
{
    static const row rows[] = {
        { "030100", true, "", 0 },
        { "03020012", true, "12", 0 },
        { "0303000102", true, "0102", 0 },
        { "03020180", false, NULL, 0 }, /* unused bits: keys and signatures are whole bytes */
        { "0300", false, NULL, 0 },     /* no unused-bits octet */
        { "040100", false, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        size_t n = load(buf, rows[i].hex);
        cbs c = cbs_make(buf, n), bits = { NULL, 0 };
        bool got = der_get_bit_string(&c, &bits);
        check_cursor(&rows[i], got, c, buf, n);
        if (got) { check_view(&rows[i], bits); }
    }
}

Test(der, bit_string_flags)
{
    static const row rows[] = {
        { "030206c0", true, NULL, 0x0003 },     /* digitalSignature|nonRepudiation (PCK leaf) */
        { "03020106", true, NULL, 0x0060 },     /* keyCertSign|cRLSign (Intel CAs) */
        { "0303078000", true, NULL, 0x0001 },   /* rcgen's 9-bit KeyUsage (dstack app cert) */
        { "0303070080", true, NULL, 0x0100 },   /* decipherOnly (bit 8) */
        { "030100", true, NULL, 0 },
        { "03020780", true, NULL, 0x0001 },
        { "03020781", false, NULL, 0 },         /* a padding bit set */
        { "03020141", false, NULL, 0 },         /* padding bit (bit 7) set */
        { "03020880", false, NULL, 0 },         /* 8 unused bits */
        { "030107", false, NULL, 0 },           /* unused bits with no bytes */
        { "030400010203", false, NULL, 0 },     /* more than 16 bits */
        { "0300", false, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        size_t n = load(buf, rows[i].hex);
        cbs c = cbs_make(buf, n);
        uint16_t f = 0xbeef;
        bool got = der_get_bit_string_flags(&c, &f);
        check_cursor(&rows[i], got, c, buf, n);
        if (got) {
            cr_assert_eq(f, rows[i].num, "%s: flags %04x want %04x", rows[i].hex, f,
                         (unsigned)rows[i].num);
        }
    }
}

/* time_elem builds a DER time element (tag, short length, text). */
static size_t time_elem(uint8_t *buf, uint8_t tag, const char *text)
{
    size_t n = strlen(text);
    buf[0] = tag;
    buf[1] = (uint8_t)n;
    memcpy(buf + 2, text, n);
    return n + 2;
}

Test(der, time)
{
    static const struct {
        uint8_t tag;
        const char *text;
        bool ok;
        int64_t want;
    } rows[] = {
        { 0x17, "700101000000Z", true, 0 },
        { 0x17, "250206232551Z", true, 1738884351 },   /* dcap-qvl PCK leaf notBefore */
        { 0x17, "491231235959Z", true, 2524607999 },   /* Intel root notAfter */
        { 0x17, "500101000000Z", true, -631152000 },   /* pivot: YY 50 is 1950, not 2050 */
        { 0x17, "000229000000Z", true, 951782400 },    /* 2000 is a leap year */
        { 0x17, "240229120000Z", true, 1709208000 },
        { 0x17, "230229000000Z", false, 0 },           /* 2023 is not */
        { 0x17, "250230000000Z", false, 0 },           /* Feb 30 */
        { 0x17, "250431000000Z", false, 0 },           /* Apr 31 */
        { 0x17, "251301000000Z", false, 0 },
        { 0x17, "250001000000Z", false, 0 },
        { 0x17, "250100000000Z", false, 0 },
        { 0x17, "250101240000Z", false, 0 },
        { 0x17, "250101006000Z", false, 0 },
        { 0x17, "250101000060Z", false, 0 },           /* no leap seconds */
        { 0x17, "2501010000Z", false, 0 },             /* no seconds */
        { 0x17, "250101000000", false, 0 },            /* no Z */
        { 0x17, "250101000000+0000", false, 0 },
        { 0x17, "25010100000 Z", false, 0 },
        { 0x17, "2501010000-1Z", false, 0 },
        { 0x18, "20500101000000Z", true, 2524608000 },
        { 0x18, "21000228235959Z", true, 4107542399 },
        { 0x18, "21000229000000Z", false, 0 },          /* 2100 is not a leap year */
        { 0x18, "19700101000000Z", true, 0 },
        { 0x18, "20500101000000.5Z", false, 0 },        /* no fractions */
        { 0x18, "205001010000Z", false, 0 },
        { 0x18, "500101000000Z", false, 0 },            /* two-digit year in GeneralizedTime */
        { 0x04, "250206232551Z", false, 0 },            /* wrong tag */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        size_t n = time_elem(buf, rows[i].tag, rows[i].text);
        cbs c = cbs_make(buf, n);
        int64_t t = 42;
        bool got = der_get_time(&c, &t);
        cr_assert_eq(got, rows[i].ok, "%s", rows[i].text);
        if (got) {
            cr_assert_eq(t, rows[i].want, "%s: %lld want %lld", rows[i].text, (long long)t,
                         (long long)rows[i].want);
            cr_assert_eq(c.len, 0);
        } else {
            cr_assert_eq(c.len, n, "%s: cursor moved", rows[i].text);
            cr_assert_eq(t, 42, "%s: output written on failure", rows[i].text);
        }
    }
}

Test(der, days_from_civil)
{
    cr_assert_eq(der_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(der_days_from_civil(1969, 12, 31), -1);
    cr_assert_eq(der_days_from_civil(2000, 3, 1), 11017);
    cr_assert_eq(der_days_from_civil(2049, 12, 31), 29219);
    cr_assert_eq(der_days_from_civil(1600, 1, 1), -135140);
    /* consecutive days over a leap February and a century */
    for (unsigned y = 1899; y <= 2101; y++) {
        int64_t prev = der_days_from_civil(y, 1, 1) - 1;
        for (unsigned m = 1; m <= 12; m++) {
            static const unsigned k[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
            unsigned dim = k[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
            for (unsigned d = 1; d <= dim; d++) {
                int64_t cur = der_days_from_civil(y, m, d);
                cr_assert_eq(cur, prev + 1, "%u-%u-%u", y, m, d);
                prev = cur;
            }
        }
    }
}

Test(der, ecdsa_sig_to_raw)
{
    static const struct {
        const char *hex;
        bool ok;
        unsigned r_last, s_last; /* last byte of r and s */
        unsigned r_first;        /* first byte of the 32-byte r */
    } rows[] = {
        { "3006020101020102", true, 1, 2, 0 },
        { "3026022100ff00000000000000000000000000000000000000000000000000000000000001020107",
          true, 1, 7, 0xff },
        { "3006020100020102", false, 0, 0, 0 },     /* r = 0 */
        { "30060201ff020102", false, 0, 0, 0 },     /* r negative */
        { "300702020001020102", false, 0, 0, 0 },   /* r not minimal */
        { "3027022201000000000000000000000000000000000000000000000000000000000001020107",
          false, 0, 0, 0 },                         /* r is 33 bytes of magnitude */
        { "300702010102010200", false, 0, 0, 0 },   /* trailing byte inside the SEQUENCE */
        { "300602010102010200", false, 0, 0, 0 },   /* trailing byte after the SEQUENCE */
        { "3003020101", false, 0, 0, 0 },           /* s missing */
        { "3106020101020102", false, 0, 0, 0 },     /* SET, not SEQUENCE */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB * 2];
        long n = tu_hex(buf, sizeof buf, rows[i].hex);
        uint8_t rs[64];
        bool got;
        cr_assert_geq(n, 0, "%s", rows[i].hex);
        memset(rs, 0xaa, sizeof rs);
        got = der_ecdsa_sig_to_raw(cbs_make(buf, (size_t)n), rs);
        cr_assert_eq(got, rows[i].ok, "%s", rows[i].hex);
        if (got) {
            cr_assert_eq(rs[31], rows[i].r_last);
            cr_assert_eq(rs[63], rows[i].s_last);
            cr_assert_eq(rs[0], rows[i].r_first);
            cr_assert_eq(rs[32], 0, "s must be left-padded with zeros");
        } else {
            for (size_t j = 0; j < 64; j++) { cr_assert_eq(rs[j], 0xaa, "written on failure"); }
        }
    }
}

Test(der, element_framing)
{
    /* The cbs.h element readers under the DER rules der.c relies on. */
    static const struct {
        const char *hex;
        bool ok;
    } rows[] = {
        { "3000", true },
        { "30030201" "05", true },
        { "308105" "0000000000", false },                 /* long form for 5 */
        { "30818000", false },                            /* truncated long-form contents */
        { "3080" "0000", false },                         /* indefinite */
        { "30820080" "00", false },                       /* non-minimal long form */
        { "3f0100", false },                              /* high tag number form */
        { "3001", false },                                /* contents missing */
        { "30850100000000", false },                      /* 5 length bytes */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[MAXB];
        long n = tu_hex(buf, MAXB, rows[i].hex);
        cbs c, elem;
        uint8_t tag;
        size_t hl;
        bool got;
        cr_assert_geq(n, 0, "%s", rows[i].hex);
        c = cbs_make(buf, (size_t)n);
        got = cbs_get_any_asn1_element(&c, &elem, &tag, &hl);
        cr_assert_eq(got, rows[i].ok, "%s", rows[i].hex);
        if (!got) { cr_assert_eq(c.len, (size_t)n, "%s: cursor moved", rows[i].hex); }
    }
}
