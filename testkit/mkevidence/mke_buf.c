/* mke_buf.c — the generator's writers: growable buffer, DER (X.690), JSON strings, hex, PEM,
 * civil time, and the hashes. Writers never fail individually: an allocation failure sets the
 * buffer's sticky `failed` flag, which the builders check once per artefact. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha3.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "mke_internal.h"

/* Nothing the generator writes comes near this; it keeps size arithmetic far from overflow. */
#define MKE_BUF_MAX (64u << 20)

void mke_buf_free(mke_buf *b)
{
    if (b == NULL) { return; }
    if (b->data != NULL) {
        memset(b->data, 0, b->cap);
        free(b->data);
    }
    memset(b, 0, sizeof *b);
}

/* reserve makes room for n more bytes (+1 for a NUL terminator used by mke_buf_take). */
static bool reserve(mke_buf *b, size_t n)
{
    size_t need, cap;
    uint8_t *p;
    if (b->failed) { return false; }
    if (n > MKE_BUF_MAX || b->len > MKE_BUF_MAX - n - 1) {
        b->failed = true;
        return false;
    }
    need = b->len + n + 1;
    if (need <= b->cap) { return true; }
    cap = b->cap ? b->cap : 256;
    while (cap < need) { cap *= 2; }
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void mke_buf_put(mke_buf *b, const void *p, size_t n)
{
    if (n == 0 || !reserve(b, n)) { return; }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void mke_buf_u8(mke_buf *b, uint8_t v)
{
    mke_buf_put(b, &v, 1);
}

void mke_buf_u16le(mke_buf *b, uint16_t v)
{
    uint8_t le[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    mke_buf_put(b, le, sizeof le);
}

void mke_buf_u32le(mke_buf *b, uint32_t v)
{
    uint8_t le[4];
    for (size_t i = 0; i < 4; i++) { le[i] = (uint8_t)(v >> (8 * i)); }
    mke_buf_put(b, le, sizeof le);
}

void mke_buf_u64le(mke_buf *b, uint64_t v)
{
    uint8_t le[8];
    for (size_t i = 0; i < 8; i++) { le[i] = (uint8_t)(v >> (8 * i)); }
    mke_buf_put(b, le, sizeof le);
}

void mke_buf_zeros(mke_buf *b, size_t n)
{
    if (n == 0 || !reserve(b, n)) { return; }
    memset(b->data + b->len, 0, n);
    b->len += n;
}

void mke_buf_str(mke_buf *b, const char *s)
{
    mke_buf_put(b, s, strlen(s));
}

void mke_buf_printf(mke_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        mke_buf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) { return; }
    va_start(ap, fmt);
    (void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mke_buf_hex(mke_buf *b, const uint8_t *p, size_t n, bool upper)
{
    char *out;
    if (n > MKE_BUF_MAX / 2 || !reserve(b, 2 * n)) { /* reserve keeps room for the NUL */
        b->failed = true;
        return;
    }
    out = (char *)b->data + b->len;
    cba_hex_encode(out, p, n); /* base/base.c */
    for (size_t i = 0; upper && i < 2 * n; i++) {
        if (out[i] >= 'a') { out[i] = (char)(out[i] - 'a' + 'A'); }
    }
    b->len += 2 * n;
}

void mke_buf_json_str(mke_buf *b, const uint8_t *s, size_t n)
{
    mke_buf_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '"': mke_buf_str(b, "\\\""); break;
        case '\\': mke_buf_str(b, "\\\\"); break;
        case '\n': mke_buf_str(b, "\\n"); break;
        case '\r': mke_buf_str(b, "\\r"); break;
        case '\t': mke_buf_str(b, "\\t"); break;
        default:
            if (c < 0x20) {
                mke_buf_printf(b, "\\u%04x", c);
            } else {
                mke_buf_u8(b, c);
            }
        }
    }
    mke_buf_u8(b, '"');
}

void mke_buf_pem(mke_buf *b, const uint8_t *der, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;
    mke_buf_str(b, "-----BEGIN CERTIFICATE-----\n");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)der[i] << 16;
        size_t rem = n - i;
        char q[4];
        if (rem > 1) { w |= (uint32_t)der[i + 1] << 8; }
        if (rem > 2) { w |= der[i + 2]; }
        q[0] = b64[(w >> 18) & 63];
        q[1] = b64[(w >> 12) & 63];
        q[2] = rem > 1 ? b64[(w >> 6) & 63] : '=';
        q[3] = rem > 2 ? b64[w & 63] : '=';
        mke_buf_put(b, q, 4);
        col += 4;
        if (col == 64) {
            mke_buf_u8(b, '\n');
            col = 0;
        }
    }
    if (col != 0) { mke_buf_u8(b, '\n'); }
    mke_buf_str(b, "-----END CERTIFICATE-----\n");
}

bool mke_buf_take(mke_buf *b, mke_blob *out)
{
    if (!reserve(b, 0)) {
        mke_buf_free(b);
        return false;
    }
    b->data[b->len] = 0;
    out->data = b->data;
    out->len = b->len;
    memset(b, 0, sizeof *b);
    return true;
}

/* ---- DER ---------------------------------------------------------------------------------- */

size_t mke_der_open(const mke_buf *b)
{
    return b->len;
}

/* mke_der_close turns the bytes written since `mark` into the contents of one element by
 * inserting its tag and definite, minimal length in front of them. */
void mke_der_close(mke_buf *b, size_t mark, uint8_t tag)
{
    uint8_t hdr[6];
    size_t hl = 0, n;
    if (b->failed || mark > b->len) {
        b->failed = true;
        return;
    }
    n = b->len - mark;
    hdr[hl++] = tag;
    if (n < 0x80) {
        hdr[hl++] = (uint8_t)n;
    } else {
        size_t num = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
        hdr[hl++] = (uint8_t)(0x80 | num);
        for (size_t i = num; i > 0; i--) { hdr[hl++] = (uint8_t)(n >> (8 * (i - 1))); }
    }
    if (!reserve(b, hl)) { return; }
    memmove(b->data + mark + hl, b->data + mark, n);
    memcpy(b->data + mark, hdr, hl);
    b->len += hl;
}

void mke_der_tlv(mke_buf *b, uint8_t tag, const void *content, size_t n)
{
    size_t m = mke_der_open(b);
    mke_buf_put(b, content, n);
    mke_der_close(b, m, tag);
}

void mke_der_int_mag(mke_buf *b, const uint8_t *mag, size_t n)
{
    size_t m = mke_der_open(b);
    while (n > 1 && mag[0] == 0) { /* minimal: no redundant leading zeros */
        mag++;
        n--;
    }
    if (n == 0 || (mag[0] & 0x80)) { mke_buf_u8(b, 0); } /* sign octet keeps it positive */
    mke_buf_put(b, mag, n);
    mke_der_close(b, m, 0x02);
}

void mke_der_int(mke_buf *b, int64_t v)
{
    uint8_t be[8];
    size_t start = 0;
    for (size_t i = 0; i < 8; i++) { be[i] = (uint8_t)((uint64_t)v >> (8 * (7 - i))); }
    /* Drop leading bytes that only repeat the sign. */
    while (start < 7 && ((be[start] == 0x00 && !(be[start + 1] & 0x80)) ||
                         (be[start] == 0xff && (be[start + 1] & 0x80)))) {
        start++;
    }
    mke_der_tlv(b, 0x02, be + start, 8 - start);
}

void mke_der_oid(mke_buf *b, const uint8_t *content, size_t n)
{
    mke_der_tlv(b, 0x06, content, n);
}

void mke_der_bool(mke_buf *b, bool v)
{
    uint8_t c = v ? 0xff : 0x00;
    mke_der_tlv(b, 0x01, &c, 1);
}

void mke_time_parts(int64_t t, int64_t *year, unsigned *mon, unsigned *day, unsigned *hh,
                    unsigned *mm, unsigned *ss)
{
    /* days_from_civil inverse (H. Hinnant's civil_from_days). */
    int64_t days = t / 86400, secs = t % 86400;
    int64_t z, era, doe, yoe, y, doy, mp, d, m;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    *year = y + (m <= 2);
    *mon = (unsigned)m;
    *day = (unsigned)d;
    *hh = (unsigned)(secs / 3600);
    *mm = (unsigned)(secs / 60 % 60);
    *ss = (unsigned)(secs % 60);
}

void mke_format_time(char out[21], int64_t t)
{
    int64_t y;
    unsigned mo, d, h, mi, s;
    mke_time_parts(t, &y, &mo, &d, &h, &mi, &s);
    if (y < 0 || y > 9999) { y = y < 0 ? 0 : 9999; } /* a JSON date has four digits */
    snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y, mo, d, h, mi, s);
}

void mke_der_time(mke_buf *b, int64_t t)
{
    char s[24];
    int64_t y;
    unsigned mo, d, h, mi, sec;
    mke_time_parts(t, &y, &mo, &d, &h, &mi, &sec);
    if (y < 0 || y > 9999) { y = y < 0 ? 0 : 9999; }
    if (y >= 1950 && y < 2050) { /* RFC 5280 4.1.2.5: UTCTime through 2049 */
        snprintf(s, sizeof s, "%02u%02u%02u%02u%02u%02uZ", (unsigned)(y % 100), mo, d, h, mi, sec);
        mke_der_tlv(b, 0x17, s, strlen(s));
    } else {
        snprintf(s, sizeof s, "%04u%02u%02u%02u%02u%02uZ", (unsigned)y, mo, d, h, mi, sec);
        mke_der_tlv(b, 0x18, s, strlen(s));
    }
}

void mke_der_bit_string_flags(mke_buf *b, uint16_t flags)
{
    uint8_t c[3] = { 0, 0, 0 };
    int last = -1;
    size_t nbytes;
    for (int i = 0; i < 16; i++) {
        if (flags & (1u << i)) {
            c[1 + i / 8] |= (uint8_t)(0x80u >> (i % 8));
            last = i;
        }
    }
    if (last < 0) {
        mke_der_tlv(b, 0x03, c, 1); /* no bits: just the unused-bits octet 0 */
        return;
    }
    nbytes = (size_t)last / 8 + 1;
    c[0] = (uint8_t)(7 - last % 8); /* named bits: trailing zero bits are unused */
    mke_der_tlv(b, 0x03, c, 1 + nbytes);
}

void mke_der_ecdsa_alg(mke_buf *b)
{
    static const uint8_t oid[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
    size_t m = mke_der_open(b);
    mke_der_oid(b, oid, sizeof oid);
    mke_der_close(b, m, 0x30);
}

/* ---- Hashes ------------------------------------------------------------------------------- */

bool mke_sha256(uint8_t out[32], const void *p, size_t n)
{
    return n <= UINT32_MAX && wc_Sha256Hash(p, (word32)n, out) == 0;
}

bool mke_sha384(uint8_t out[48], const void *p, size_t n)
{
    return n <= UINT32_MAX && wc_Sha384Hash(p, (word32)n, out) == 0;
}

bool mke_sha512(uint8_t out[64], const void *p, size_t n)
{
    return n <= UINT32_MAX && wc_Sha512Hash(p, (word32)n, out) == 0;
}

bool mke_keccak256(uint8_t out[32], const void *p, size_t n)
{
    wc_Sha3 h;
    bool ok = n <= UINT32_MAX && wc_InitSha3_256(&h, NULL, INVALID_DEVID) == 0;
    if (!ok) { return false; }
    ok = wc_Sha3_SetFlags(&h, WC_HASH_SHA3_KECCAK256) == 0 &&
         wc_Sha3_256_Update(&h, p, (word32)n) == 0 && wc_Sha3_256_Final(&h, out) == 0;
    wc_Sha3_256_Free(&h);
    return ok;
}

void mke_seed(uint8_t *out, size_t n, const char *label)
{
    /* Counter-mode SHA-256 over "crabbox-test-value:" || label: any length, stable forever. */
    size_t done = 0;
    uint32_t ctr = 0;
    while (done < n) {
        uint8_t block[32];
        char in[256];
        int len = snprintf(in, sizeof in, "crabbox-test-value:%s:%u", label, (unsigned)ctr++);
        size_t take = n - done < 32 ? n - done : 32;
        if (len < 0 || !mke_sha256(block, in, (size_t)len)) {
            memset(out + done, 0, n - done); /* cannot happen for valid labels */
            return;
        }
        memcpy(out + done, block, take);
        done += take;
    }
}
