/* der.c — strict DER primitives (X.690 / RFC 5280 subset), see der.h.
 *
 * Every reader works on a copy of the cursor and commits only on success, so a failed read never
 * moves the caller's cursor. Element framing (tag, minimal definite length) is done by cbs.h;
 * this file validates the contents of primitive types. Nothing here recurses. */
#include "der.h"

/* der_get_int_contents reads an INTEGER (or ENUMERATED, by tag) and returns its raw two's
 * complement contents, checked non-empty and minimal (X.690 8.3.2: the first nine bits are not
 * all zero or all one). */
CBA_MUST_USE static bool der_get_int_contents(cbs *c, uint8_t tag, cbs *out)
{
    cbs copy = *c, body;
    if (!cbs_get_asn1(&copy, &body, tag) || body.len == 0) { return false; }
    if (body.len > 1) {
        uint8_t b0 = cbs_byte(body, 0), b1 = cbs_byte(body, 1);
        if ((b0 == 0x00 && !(b1 & 0x80)) || (b0 == 0xff && (b1 & 0x80))) { return false; }
    }
    *c = copy;
    *out = body;
    return true;
}

bool der_get_integer(cbs *c, cbs *out_mag)
{
    cbs copy = *c, body;
    if (!der_get_int_contents(&copy, CBS_ASN1_INTEGER, &body) || (cbs_byte(body, 0) & 0x80)) {
        return false; /* negative */
    }
    if (body.len > 1 && cbs_byte(body, 0) == 0x00) {
        /* The sign octet of a positive value with the top bit set: the magnitude starts after
         * it. Minimality (checked above) guarantees the next byte has its top bit set. */
        if (!cbs_skip(&body, 1)) { return false; }
    }
    *c = copy;
    *out_mag = body;
    return true;
}

CBA_MUST_USE static bool der_get_uint_tagged(cbs *c, uint8_t tag, uint64_t max, uint64_t *out)
{
    cbs copy = *c, body;
    uint64_t v = 0;
    if (!der_get_int_contents(&copy, tag, &body) || (cbs_byte(body, 0) & 0x80)) { return false; }
    if (body.len > 1 && cbs_byte(body, 0) == 0x00 && !cbs_skip(&body, 1)) { return false; }
    if (body.len > 8) { return false; } /* would not fit: refuse rather than truncate */
    for (size_t i = 0; i < body.len; i++) { v = v << 8 | cbs_byte(body, i); }
    if (v > max) { return false; }
    *c = copy;
    *out = v;
    return true;
}

bool der_get_integer_u64(cbs *c, uint64_t max, uint64_t *out)
{
    return der_get_uint_tagged(c, CBS_ASN1_INTEGER, max, out);
}

bool der_get_enumerated_u64(cbs *c, uint64_t max, uint64_t *out)
{
    return der_get_uint_tagged(c, CBS_ASN1_ENUMERATED, max, out);
}

bool der_get_bool(cbs *c, bool *out)
{
    cbs copy = *c, body;
    uint8_t v;
    if (!cbs_get_asn1(&copy, &body, CBS_ASN1_BOOLEAN) || body.len != 1) { return false; }
    v = cbs_byte(body, 0);
    if (v != 0x00 && v != 0xff) { return false; } /* X.690 11.1: DER TRUE is 0xFF only */
    *c = copy;
    *out = v == 0xff;
    return true;
}

bool der_get_oid(cbs *c, cbs *out)
{
    cbs copy = *c, body;
    bool arc_start = true;
    if (!cbs_get_asn1(&copy, &body, CBS_ASN1_OID) || body.len == 0) { return false; }
    for (size_t i = 0; i < body.len; i++) {
        uint8_t b = cbs_byte(body, i);
        if (arc_start && b == 0x80) { return false; } /* leading 0x80: non-minimal arc (8.19.2) */
        arc_start = !(b & 0x80);
    }
    if (!arc_start) { return false; } /* the last arc is unterminated */
    *c = copy;
    *out = body;
    return true;
}

bool der_get_bit_string(cbs *c, cbs *out)
{
    cbs copy = *c, body;
    uint8_t unused;
    if (!cbs_get_asn1(&copy, &body, CBS_ASN1_BITSTRING) || !cbs_get_u8(&body, &unused) ||
        unused != 0) {
        return false; /* keys and signatures are whole bytes */
    }
    *c = copy;
    *out = body;
    return true;
}

bool der_get_bit_string_flags(cbs *c, uint16_t *out)
{
    cbs copy = *c, body;
    uint8_t unused, last;
    uint16_t flags = 0;
    if (!cbs_get_asn1(&copy, &body, CBS_ASN1_BITSTRING) || !cbs_get_u8(&body, &unused) ||
        unused > 7 || body.len > 2) {
        return false;
    }
    if (body.len == 0) {
        if (unused != 0) { return false; } /* X.690 8.6.2.3: empty means zero unused bits */
    } else {
        last = cbs_byte(body, body.len - 1);
        if (last & ((1u << unused) - 1u)) { return false; } /* padding bits must be zero */
        /* Trailing zero *named* bits are tolerated on purpose (X.690 11.2.2 says to drop them):
         * rcgen, which signs dstack's RA-TLS certificates, always writes KeyUsage as 9 bits
         * (03 03 07 80 00). The value is the same either way. */
    }
    for (size_t i = 0; i < body.len; i++) {
        flags |= (uint16_t)(cbs_byte(body, i) << (8 * (1 - i)));
    }
    /* Bit n of the BIT STRING is 0x8000 >> n of `flags`; reverse so that bit n is 1 << n. */
    *out = 0;
    for (unsigned n = 0; n < 16; n++) {
        if (flags & (0x8000u >> n)) { *out = (uint16_t)(*out | (1u << n)); }
    }
    *c = copy;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil). Used instead of timegm(), which depends on the process's TZ state. */
int64_t der_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;                                                /* [0, 399] */
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1; /* [0, 365] */
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                        /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const uint8_t k_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29u : k_days[m - 1];
}

/* digits reads n ASCII decimal digits from t (no sign, no spaces). */
CBA_MUST_USE static bool digits(cbs *t, size_t n, unsigned *out)
{
    cbs d;
    unsigned v = 0;
    if (!cbs_get_bytes(t, &d, n)) { return false; }
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = cbs_byte(d, i);
        if (ch < '0' || ch > '9') { return false; }
        v = v * 10 + (unsigned)(ch - '0');
    }
    *out = v;
    return true;
}

bool der_get_time(cbs *c, int64_t *out)
{
    cbs copy = *c, t;
    unsigned year, mon, day, hh, mm, ss;
    uint8_t z;
    if (cbs_get_asn1(&copy, &t, CBS_ASN1_UTCTIME)) {
        if (t.len != 13 || !digits(&t, 2, &year)) { return false; }
        year += year < 50 ? 2000u : 1900u; /* RFC 5280 4.1.2.5.1 pivot */
    } else if (cbs_get_asn1(&copy, &t, CBS_ASN1_GENERALIZEDTIME)) {
        if (t.len != 15 || !digits(&t, 4, &year)) { return false; } /* no fractions */
    } else {
        return false;
    }
    if (!digits(&t, 2, &mon) || !digits(&t, 2, &day) || !digits(&t, 2, &hh) ||
        !digits(&t, 2, &mm) || !digits(&t, 2, &ss) || !cbs_get_u8(&t, &z) || z != 'Z' ||
        t.len != 0) {
        return false;
    }
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hh > 23 || mm > 59 ||
        ss > 59) {
        return false; /* no leap seconds: X.509 times never carry them */
    }
    *out = der_days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 +
           (int64_t)ss;
    *c = copy;
    return true;
}

/* put_scalar writes a 1..32-byte positive magnitude right-aligned into out[32]. */
CBA_MUST_USE static bool put_scalar(cbs *seq, uint8_t out[32])
{
    cbs mag;
    if (!der_get_integer(seq, &mag) || mag.len > 32 || cbs_all_zero(mag)) {
        return false; /* r, s lie in [1, n-1]: zero or more than 256 bits is never valid */
    }
    memset(out, 0, 32 - mag.len);
    return cbs_copy_bytes(&mag, out + (32 - mag.len), mag.len);
}

bool der_ecdsa_sig_to_raw(cbs sig_der, uint8_t out_rs[64])
{
    cbs seq;
    uint8_t rs[64];
    if (!cbs_get_asn1(&sig_der, &seq, CBS_ASN1_SEQUENCE) || sig_der.len != 0 ||
        !put_scalar(&seq, rs) || !put_scalar(&seq, rs + 32) || seq.len != 0) {
        return false;
    }
    memcpy(out_rs, rs, 64);
    return true;
}
