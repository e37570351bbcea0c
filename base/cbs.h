/* cbs.h — the one bounds-checked reader every parser uses (after BoringSSL's CBS).
 *
 * A cbs is a borrowed view (data, len). Every getter checks the length before touching a byte,
 * leaves the cursor unchanged on failure, and never does pointer arithmetic that could wrap.
 * No other file does pointer arithmetic on untrusted input. */
#ifndef CBA_CBS_H
#define CBA_CBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "crabbox/verifier.h"

typedef struct cbs {
    const uint8_t *data;
    size_t len;
} cbs;

static inline void cbs_init(cbs *c, const uint8_t *data, size_t len)
{
    c->data = len ? data : NULL;
    c->len = len;
}

static inline cbs cbs_make(const uint8_t *data, size_t len)
{
    cbs c;
    cbs_init(&c, data, len);
    return c;
}

CBA_MUST_USE static inline bool cbs_get_bytes(cbs *c, cbs *out, size_t n)
{
    if (n > c->len) { return false; } /* compare lengths, not pointers: p + n may overflow */
    *out = (cbs){ c->data, n };
    c->data = n ? c->data + n : c->data;
    c->len -= n;
    return true;
}

CBA_MUST_USE static inline bool cbs_skip(cbs *c, size_t n)
{
    cbs ignored;
    return cbs_get_bytes(c, &ignored, n);
}

/* cbs_copy_bytes copies exactly n bytes into out. */
CBA_MUST_USE static inline bool cbs_copy_bytes(cbs *c, uint8_t *out, size_t n)
{
    cbs b;
    if (!cbs_get_bytes(c, &b, n)) { return false; }
    if (n) { memcpy(out, b.data, n); }
    return true;
}

CBA_MUST_USE static inline bool cbs_get_u8(cbs *c, uint8_t *out)
{
    cbs b;
    if (!cbs_get_bytes(c, &b, 1)) { return false; }
    *out = b.data[0];
    return true;
}

/* Quote fields are little-endian. */
CBA_MUST_USE static inline bool cbs_get_u16le(cbs *c, uint16_t *out)
{
    cbs b;
    if (!cbs_get_bytes(c, &b, 2)) { return false; }
    *out = (uint16_t)(b.data[0] | (unsigned)b.data[1] << 8);
    return true;
}

CBA_MUST_USE static inline bool cbs_get_u32le(cbs *c, uint32_t *out)
{
    cbs b;
    if (!cbs_get_bytes(c, &b, 4)) { return false; }
    *out = (uint32_t)b.data[0] | (uint32_t)b.data[1] << 8 | (uint32_t)b.data[2] << 16 |
           (uint32_t)b.data[3] << 24;
    return true;
}

CBA_MUST_USE static inline bool cbs_get_u64le(cbs *c, uint64_t *out)
{
    uint32_t lo, hi;
    cbs save = *c;
    if (!cbs_get_u32le(c, &lo) || !cbs_get_u32le(c, &hi)) {
        *c = save;
        return false;
    }
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

/* cbs_byte returns the byte at index i, which the caller has checked is < c.len. */
static inline uint8_t cbs_byte(cbs c, size_t i)
{
    return c.data[i];
}

/* cbs_u64le_at returns the eight bytes at index i as a little-endian word; the caller has checked
 * that i + 8 <= c.len (word-at-a-time hashing of JSON keys). */
static inline uint64_t cbs_u64le_at(cbs c, size_t i)
{
    uint64_t w;
    memcpy(&w, c.data + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* cbs_index_of returns the index of the first byte equal to ch, or c.len when there is none
 * (memchr: line breaks in PEM, backslashes in JSON strings). */
static inline size_t cbs_index_of(cbs c, uint8_t ch)
{
    const uint8_t *p = c.len > 0 ? memchr(c.data, ch, c.len) : NULL;
    return p != NULL ? (size_t)(p - c.data) : c.len;
}

/* cbs_json_escape_value[e] is the byte that the escape backslash-e stands for, 0 when e makes
 * no one-character escape (u, or anything RFC 8259 §7 does not allow). */
static const uint8_t cbs_json_escape_value[256] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = 0x08, ['f'] = 0x0c, ['n'] = 0x0a, ['r'] = 0x0d,
    ['t'] = 0x09,
};

/* cbs_json_short_escape: e makes a whole escape after a backslash (RFC 8259 §7). */
static inline bool cbs_json_short_escape(uint8_t e)
{
    return cbs_json_escape_value[e] != 0;
}

#if defined(__SSE2__)
/* cbs_json_special16 is the bit mask of the bytes among the 16 at p that a JSON string scanner must
 * look at: below 0x20, 0x80 and above, '"' and '\\'. */
static inline unsigned cbs_json_special16(const uint8_t *p)
{
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* signed: bytes >= 0x80 are negative, so "< 0x20" also catches them */
    __m128i special = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)));
    return (unsigned)_mm_movemask_epi8(special);
}
#endif

/* cbs_json_plain_run returns the length of the leading run of bytes that need nothing from a JSON
 * string scanner: printable ASCII (0x20..0x7f) other than '"' and '\\'. Sixteen bytes at a time
 * with SSE2 (every x86-64), else eight at a time (SWAR: a word is taken whole only when none of
 * its bytes is special); the rest one by one. */
static inline size_t cbs_json_plain_run(cbs c)
{
    size_t n = 0;
#if defined(__SSE2__)
    while (c.len - n >= 16) {
        unsigned mask = cbs_json_special16(c.data + n);
        if (mask != 0) { return n + (size_t)__builtin_ctz(mask); }
        n += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (c.len - n >= 8) {
        uint64_t w, q, b;
        memcpy(&w, c.data + n, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        /* any byte >= 0x80, any byte < 0x20, any byte equal to '"' or '\\' */
        if (((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) != 0) {
            break;
        }
        n += 8;
    }
#endif
    while (n < c.len) {
        uint8_t x = c.data[n];
        if (x < 0x20 || x >= 0x80 || x == '"' || x == '\\') { break; }
        n++;
    }
    return n;
}

/* cbs_json_escaped_run returns the length of the leading run of a JSON string body that holds
 * only what cbs_json_plain_run skips and one-character escapes (a backslash and one of
 * " \\ / b f n r t); it stops at anything else (the closing quote, \u, UTF-8, a control byte, a
 * backslash without a valid follower). *out_escaped is set when the run has an escape. Sixteen
 * bytes at a time with SSE2: the special bytes of a block are walked by their bit mask, so the
 * escapes of a signed document inside the collateral (\" every few bytes) cost a few
 * instructions each. */
static inline size_t cbs_json_escaped_run(cbs c, bool *out_escaped)
{
    size_t n = 0;
#if defined(__SSE2__)
    while (c.len - n >= 16) {
        unsigned mask = cbs_json_special16(c.data + n);
        size_t next = n + 16;
        while (mask != 0) {
            size_t at = n + (size_t)__builtin_ctz(mask);
            if (c.data[at] != '\\' || c.len - at < 2 || !cbs_json_short_escape(c.data[at + 1])) {
                return at;
            }
            *out_escaped = true;
            if (at + 2 > next) { /* the escaped byte opens the next block */
                next = at + 2;
                break;
            }
            mask &= ~(3u << (at - n)); /* the backslash and the byte it escapes */
        }
        n = next;
    }
#endif
    while (n < c.len) {
        uint8_t x = c.data[n];
        if (x >= 0x20 && x < 0x80 && x != '"' && x != '\\') {
            n++;
            continue;
        }
        if (x != '\\' || c.len - n < 2 || !cbs_json_short_escape(c.data[n + 1])) { break; }
        *out_escaped = true;
        n += 2;
    }
    return n;
}

/* cbs_json_unescape_run decodes the leading run of a scanned JSON string body that holds no \u
 * escape into out (room for out_cap bytes), consumes it and returns the bytes written: the text
 * between escapes is copied sixteen bytes at a time (SSE2; a whole block is stored while 16 bytes
 * of room are left: bytes beyond the run are stored too and then belong to the caller's next
 * write) and each one-character escape becomes its byte. It stops at \u (or a backslash without
 * a one-character follower), at the end, or when out is full. jdoc's unescaping. */
static inline size_t cbs_json_unescape_run(cbs *c, uint8_t *out, size_t out_cap)
{
    size_t i = 0, o = 0;
#if defined(__SSE2__)
    const __m128i bsl = _mm_set1_epi8('\\');
#endif
    for (;;) {
        uint8_t v;
#if defined(__SSE2__)
        while (c->len - i >= 16 && out_cap - o >= 16) {
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(c->data + i));
            unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, bsl));
            _mm_storeu_si128((__m128i *)(void *)(out + o), b);
            if (mask != 0) {
                size_t p = (size_t)__builtin_ctz(mask);
                i += p;
                o += p;
                goto escape;
            }
            i += 16;
            o += 16;
        }
#endif
        while (i < c->len && o < out_cap && c->data[i] != '\\') { out[o++] = c->data[i++]; }
        if (i >= c->len || o >= out_cap) { break; }
#if defined(__SSE2__)
    escape:
#endif
        /* c->data[i] is a backslash */
        if (c->len - i < 2 || (v = cbs_json_escape_value[c->data[i + 1]]) == 0 || o >= out_cap) {
            break;
        }
        out[o++] = v;
        i += 2;
    }
    c->data = i ? c->data + i : c->data;
    c->len -= i;
    return o;
}

static inline bool cbs_eq(cbs a, cbs b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static inline bool cbs_eq_mem(cbs a, const void *b, size_t len)
{
    return a.len == len && (len == 0 || memcmp(a.data, b, len) == 0);
}

static inline bool cbs_eq_str(cbs a, const char *s)
{
    return cbs_eq_mem(a, s, strlen(s));
}

/* cbs_all_zero is true when every byte is 0x00 (also for an empty view). */
static inline bool cbs_all_zero(cbs c)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < c.len; i++) { acc |= c.data[i]; }
    return acc == 0;
}

/* cbs_offset_of returns where `inner` starts within `outer`; inner must be a sub-view of outer
 * (the only sanctioned pointer difference; both come from the same reader). */
static inline size_t cbs_offset_of(cbs outer, cbs inner)
{
    return inner.len == 0 && inner.data == NULL ? outer.len : (size_t)(inner.data - outer.data);
}

/* ---- DER (X.690) -------------------------------------------------------------------------- */
#define CBS_ASN1_BOOLEAN 0x01u
#define CBS_ASN1_INTEGER 0x02u
#define CBS_ASN1_BITSTRING 0x03u
#define CBS_ASN1_OCTETSTRING 0x04u
#define CBS_ASN1_NULL 0x05u
#define CBS_ASN1_OID 0x06u
#define CBS_ASN1_ENUMERATED 0x0au
#define CBS_ASN1_UTF8STRING 0x0cu
#define CBS_ASN1_PRINTABLESTRING 0x13u
#define CBS_ASN1_IA5STRING 0x16u
#define CBS_ASN1_UTCTIME 0x17u
#define CBS_ASN1_GENERALIZEDTIME 0x18u
#define CBS_ASN1_SEQUENCE 0x30u
#define CBS_ASN1_SET 0x31u
#define CBS_ASN1_CONTEXT(n) (0xa0u | (n)) /* constructed [n] */
#define CBS_ASN1_CONTEXT_PRIM(n) (0x80u | (n)) /* primitive [n] */

/* cbs_get_any_asn1_element reads the next DER element (definite, minimal length, low tag number
 * form only). *out_element is the whole element, *out_tag its tag, *out_header_len the header
 * size. Lengths above 2^24 are refused (nothing we parse is that large). */
CBA_MUST_USE static inline bool cbs_get_any_asn1_element(cbs *c, cbs *out_element, uint8_t *out_tag,
                                                         size_t *out_header_len)
{
    cbs hdr = *c; /* parse a copy; commit only on success */
    uint8_t tag, first, b;
    size_t len, header_len;
    if (!cbs_get_u8(&hdr, &tag) || (tag & 0x1f) == 0x1f || !cbs_get_u8(&hdr, &first)) {
        return false; /* high-tag-number form is never used by X.509 / SGX */
    }
    len = first;
    header_len = 2;
    if (first & 0x80) {
        size_t num_len_bytes = first & 0x7fu;
        if (num_len_bytes == 0 || num_len_bytes > 3) { return false; } /* indefinite, huge */
        len = 0;
        for (size_t i = 0; i < num_len_bytes; i++) {
            if (!cbs_get_u8(&hdr, &b) || (i == 0 && b == 0)) { return false; } /* not minimal */
            len = (len << 8) | b;
        }
        if (len < 0x80) { return false; } /* long form used for a short length */
        header_len += num_len_bytes;
    }
    if (len > c->len - header_len) { return false; } /* header_len <= c->len: it was read */
    if (!cbs_get_bytes(c, out_element, header_len + len)) { return false; }
    *out_tag = tag;
    *out_header_len = header_len;
    return true;
}

/* cbs_get_asn1 sets *out to the contents of the next DER element, which must be tagged `tag`. */
CBA_MUST_USE static inline bool cbs_get_asn1(cbs *c, cbs *out, uint8_t tag)
{
    cbs copy = *c, elem;
    uint8_t t;
    size_t hl;
    if (!cbs_get_any_asn1_element(&copy, &elem, &t, &hl) || t != tag) { return false; }
    *c = copy;
    *out = (cbs){ elem.data + hl, elem.len - hl };
    return true;
}

/* cbs_get_asn1_element is cbs_get_asn1 but *out keeps the header (signed spans, raw DNs). */
CBA_MUST_USE static inline bool cbs_get_asn1_element(cbs *c, cbs *out, uint8_t tag)
{
    cbs copy = *c, elem;
    uint8_t t;
    size_t hl;
    if (!cbs_get_any_asn1_element(&copy, &elem, &t, &hl) || t != tag) { return false; }
    *c = copy;
    *out = elem;
    return true;
}

/* cbs_peek_asn1_tag is true when the next element's tag is `tag`. */
static inline bool cbs_peek_asn1_tag(cbs c, uint8_t tag)
{
    return c.len >= 1 && c.data[0] == tag;
}

#endif
