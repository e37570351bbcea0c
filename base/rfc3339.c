/* rfc3339.c — RFC 3339 date-times through the bounded reader (rfc3339.h). */
#include "rfc3339.h"

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm, http://howardhinnant.github.io/date_algorithms.html). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* read_dec reads exactly n decimal digits. */
static bool read_dec(cbs *c, size_t n, unsigned *out)
{
    unsigned v = 0;
    cbs digits;
    if (!cbs_get_bytes(c, &digits, n)) { return false; }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = cbs_byte(digits, i);
        if (!is_digit(b)) { return false; }
        v = v * 10 + (unsigned)(b - '0');
    }
    *out = v;
    return true;
}

/* accept_any consumes the next byte when it is one of `set` (a NUL-terminated list). */
static bool accept_any(cbs *c, const char *set)
{
    for (; c->len > 0 && *set != '\0'; set++) {
        if (cbs_byte(*c, 0) == (uint8_t)*set) { return cbs_skip(c, 1); }
    }
    return false;
}

bool cba_parse_rfc3339(cbs s, unsigned flags, int64_t *out)
{
    static const unsigned days_in_month[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const bool z_only = (flags & CBA_RFC3339_Z_ONLY) != 0;
    unsigned year, mon, day, hh, mm, ss, dim, oh = 0, om = 0;
    int64_t sign = 0, t;
    if (!read_dec(&s, 4, &year) || !accept_any(&s, "-") || !read_dec(&s, 2, &mon) ||
        !accept_any(&s, "-") || !read_dec(&s, 2, &day) || !accept_any(&s, z_only ? "T" : "Tt ") ||
        !read_dec(&s, 2, &hh) || !accept_any(&s, ":") || !read_dec(&s, 2, &mm) ||
        !accept_any(&s, ":") || !read_dec(&s, 2, &ss)) {
        return false;
    }
    if (!z_only && accept_any(&s, ".")) {
        size_t n = 0;
        while (n < s.len && is_digit(cbs_byte(s, n))) { n++; }
        if (n == 0 || n > 9 || !cbs_skip(&s, n)) { return false; }
    }
    if (accept_any(&s, z_only ? "Z" : "Zz")) {
        sign = 0;
    } else if (!z_only && (s.len > 0 && (cbs_byte(s, 0) == '+' || cbs_byte(s, 0) == '-'))) {
        sign = cbs_byte(s, 0) == '+' ? 1 : -1;
        if (!cbs_skip(&s, 1) || !read_dec(&s, 2, &oh) || !accept_any(&s, ":") ||
            !read_dec(&s, 2, &om) || oh > 23 || om > 59) {
            return false;
        }
    } else {
        return false; /* an offset is required: a local time is ambiguous */
    }
    if (s.len != 0) { return false; }
    if (mon < 1 || mon > 12 || hh > 23 || mm > 59 || ss > 59) { return false; } /* no leap second */
    dim = days_in_month[mon - 1] + (mon == 2 && is_leap(year) ? 1u : 0u);
    if (day < 1 || day > dim) { return false; }
    t = days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss -
        sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    if ((flags & CBA_RFC3339_UNIX) != 0 && (year < 1970 || t < 0)) { return false; }
    *out = t;
    return true;
}
