/* fuzz/der_element.c. Targets: cbs_get_any_asn1_element and every der.h reader.
 * Seeds: fuzz/corpus/der_element/ (first byte selects the reader, the rest is the input).
 * Properties: a failed read never moves the cursor; a successful one consumes a prefix of the
 * input and its outputs lie inside the element it consumed; each reader's value invariants hold
 * (minimal magnitudes, bounds, DER booleans, OID arc termination); a parsed time formats back to
 * exactly the digits it was read from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failed(cbs c, const uint8_t *data, size_t size)
{
    if (c.len != size || (size > 0 && c.data != data)) { abort(); }
}

/* inside is true when v lies within [base, base + len). */
static bool inside(cbs v, const uint8_t *base, size_t len)
{
    uintptr_t b = (uintptr_t)base, p = (uintptr_t)v.data;
    if (v.len == 0) { return true; }
    return p >= b && p - b <= len && v.len <= len - (p - b);
}

/* civil_from_days (H. Hinnant), the inverse of der_days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void check_time(cbs elem, int64_t t)
{
    char text[32];
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), y;
    int64_t secs = t - days * 86400;
    unsigned m, d;
    cbs body = elem;
    uint8_t tag = cbs_byte(elem, 0);
    int n;
    if (!cbs_skip(&body, 2)) { abort(); } /* times are short-form elements */
    civil_from_days(days, &y, &m, &d);
    if (tag == CBS_ASN1_UTCTIME) {
        if (y < 1950 || y > 2049) { abort(); } /* the pivot */
        n = snprintf(text, sizeof text, "%02d%02u%02u%02d%02d%02dZ", (int)(y % 100), m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    } else {
        n = snprintf(text, sizeof text, "%04d%02u%02u%02d%02d%02dZ", (int)y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    }
    if (n < 0 || !cbs_eq_mem(body, text, (size_t)n)) { abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cbs in, c, v, elem = { 0 };
    uint8_t sel, tag;
    size_t hl = 0, used;
    uint64_t u = 0, max;
    int64_t t;
    bool b, ok;
    uint16_t flags;
    uint8_t rs[64];

    cbs_init(&in, data, size);
    if (!cbs_get_u8(&in, &sel)) { return 0; }
    c = in;
    /* The element the reader should consume, if any: every reader frames exactly one. */
    {
        cbs probe = in;
        ok = cbs_get_any_asn1_element(&probe, &elem, &tag, &hl);
        if (!ok) {
            check_failed(probe, in.data, in.len);
        } else {
            used = in.len - probe.len;
            if (elem.data != in.data || elem.len != used || hl < 2 || hl > 5 || hl > used) {
                abort();
            }
        }
    }
    max = (uint64_t)sel * 0x0101010101010101ull; /* a data-dependent bound */
    switch (sel % 10) {
    case 0:
        if (!der_get_integer(&c, &v)) { break; }
        /* a magnitude is never empty and only zero itself starts with 0x00 */
        if (v.len == 0 || (v.len > 1 && cbs_byte(v, 0) == 0) || !inside(v, elem.data, elem.len)) {
            abort();
        }
        break;
    case 1:
        if (der_get_integer_u64(&c, max, &u) && u > max) { abort(); }
        break;
    case 2:
        if (der_get_enumerated_u64(&c, max, &u) && u > max) { abort(); }
        break;
    case 3:
        if (der_get_bool(&c, &b) &&
            (elem.len != 3 || cbs_byte(elem, 2) != (b ? 0xff : 0x00))) {
            abort();
        }
        break;
    case 4:
        if (der_get_oid(&c, &v) &&
            (v.len == 0 || (cbs_byte(v, v.len - 1) & 0x80) || !inside(v, elem.data, elem.len))) {
            abort();
        }
        break;
    case 5:
        if (der_get_bit_string(&c, &v) &&
            (!inside(v, elem.data, elem.len) || v.len + 1 + hl != elem.len)) {
            abort();
        }
        break;
    case 6:
        if (der_get_bit_string_flags(&c, &flags) && elem.len > 5) { abort(); }
        break;
    case 7:
        if (der_get_time(&c, &t)) { check_time(elem, t); }
        break;
    case 8:
        if (der_ecdsa_sig_to_raw(in, rs)) {
            bool r_zero = true, s_zero = true;
            for (size_t i = 0; i < 32; i++) {
                r_zero = r_zero && rs[i] == 0;
                s_zero = s_zero && rs[32 + i] == 0;
            }
            if (r_zero || s_zero) { abort(); }
        }
        return 0; /* takes a view, no cursor */
    default: {
        cbs body;
        if (cbs_get_asn1(&c, &body, tag) && (!ok || !inside(body, elem.data, elem.len))) {
            abort();
        }
        break;
    }
    }
    if (c.len == in.len) {
        check_failed(c, in.data, in.len); /* failure: the cursor did not move */
    } else if (!ok || in.len - c.len != elem.len || c.data != in.data + elem.len) {
        abort(); /* success consumed exactly the framed element */
    }
    return 0;
}
