/* base.c — errors, constant-time compare, hex, base64, random bytes (base.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base.h"
#include "errset.h"

void cba_error_clear(cba_error *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->code = CBA_OK;
    }
}

cba_err cba_fail(cba_error *err, cba_err code, const char *where, const char *fmt, ...)
{
    if (err != NULL && err->code == CBA_OK) {
        va_list ap;
        err->code = code;
        snprintf(err->where, sizeof err->where, "%s", where ? where : "");
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof err->detail, fmt, ap);
        va_end(ap);
    }
    return code;
}

int crabbox_err_vset(crabbox_err *err, int code, const char *fmt, va_list ap)
{
    char msg[sizeof err->message];
    if (err == NULL) { return code; }
    /* Format aside, then copy: an argument may be err->message itself ("...: %s", err->message),
     * and vsnprintf into the buffer it reads from is undefined behaviour. */
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    err->code = code;
    memcpy(err->message, msg, sizeof msg);
    return code;
}

int crabbox_err_set(crabbox_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = crabbox_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

bool cba_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) { d |= (uint8_t)(a[i] ^ b[i]); }
    return d == 0;
}

/* ---- hex ------------------------------------------------------------------------------------ */

/* k_hex[ch] is 0x10 | the value of hex digit ch (either case), 0 for any other byte: the 0x10
 * bit says "a digit", so AND-ing the entries of a whole string tells whether all are digits. */
static const uint8_t k_hex[256] = {
    ['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14, ['5'] = 0x15, ['6'] = 0x16,
    ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19, ['a'] = 0x1a, ['b'] = 0x1b, ['c'] = 0x1c, ['d'] = 0x1d,
    ['e'] = 0x1e, ['f'] = 0x1f, ['A'] = 0x1a, ['B'] = 0x1b, ['C'] = 0x1c, ['D'] = 0x1d, ['E'] = 0x1e,
    ['F'] = 0x1f,
};

#if defined(__SSE2__)
/* hex16: the values of 16 hex characters (any byte where *all_digits is cleared). */
static __m128i hex16(__m128i v, bool *all_digits)
{
    const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    /* signed compares: bytes >= 0x80 are negative and fall outside both ranges */
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                        _mm_cmplt_epi8(lower, _mm_set1_epi8('f' + 1)));
    *all_digits &= _mm_movemask_epi8(_mm_or_si128(digit, alpha)) == 0xffff;
    return _mm_or_si128(_mm_and_si128(digit, _mm_sub_epi8(v, _mm_set1_epi8('0'))),
                        _mm_andnot_si128(digit, _mm_sub_epi8(lower, _mm_set1_epi8('a' - 10))));
}
#endif

bool cba_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len)
{
    uint8_t all = 0x10;
    size_t i = 0, o = 0;
    if (out_len > SIZE_MAX / 2 || hex_len != out_len * 2) { return false; }
    /* Checked whole before anything is written: out is untouched on failure. */
#if defined(__SSE2__)
    {
        bool all_digits = true;
        for (; hex_len - i >= 16; i += 16) {
            (void)hex16(_mm_loadu_si128((const __m128i *)(const void *)(hex + i)), &all_digits);
        }
        if (!all_digits) { return false; }
    }
#endif
    for (; i < hex_len; i++) { all &= k_hex[(uint8_t)hex[i]]; }
    if (all == 0) { return false; }
#if defined(__SSE2__)
    /* 16 characters to 8 bytes: each 16-bit lane holds the values of a pair, first in the low
     * byte; (first << 4 | second) per lane, packed to bytes. */
    for (bool all_digits = true; out_len - o >= 8; o += 8) {
        __m128i v = hex16(_mm_loadu_si128((const __m128i *)(const void *)(hex + 2 * o)), &all_digits);
        __m128i pairs = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00ff)), 4),
                                     _mm_srli_epi16(v, 8));
        _mm_storel_epi64((__m128i *)(void *)(out + o), _mm_packus_epi16(pairs, pairs));
    }
#endif
    for (; o < out_len; o++) {
        out[o] = (uint8_t)(k_hex[(uint8_t)hex[2 * o]] << 4 | (k_hex[(uint8_t)hex[2 * o + 1]] & 0x0f));
    }
    return true;
}

void cba_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

/* ---- base64 (RFC 4648 section 4) -------------------------------------------------------------- */

static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cba_base64_encoded_len(size_t n)
{
    size_t quads = n / 3 + (n % 3 != 0 ? 1u : 0u);
    if (quads > (SIZE_MAX - 1) / 4) { return 0; }
    return quads * 4;
}

void cba_base64_encode(char *out, const uint8_t *in, size_t n)
{
    char *p = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) { v |= (uint32_t)in[i + 1] << 8; }
        if (i + 2 < n) { v |= in[i + 2]; }
        *p++ = k_b64[v >> 18 & 63];
        *p++ = k_b64[v >> 12 & 63];
        *p++ = i + 1 < n ? k_b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? k_b64[v & 63] : '=';
    }
    *p = '\0';
}

char *cba_base64_encode_alloc(const uint8_t *in, size_t n)
{
    size_t len = cba_base64_encoded_len(n);
    char *out;
    if (len == 0 && n != 0) { return NULL; }
    out = malloc(len + 1);
    if (out != NULL) { cba_base64_encode(out, in, n); }
    return out;
}

/* k_b64_dec[ch] is the value of base64 character ch (RFC 4648 table 1), 0xff for any other byte
 * ('=' included): OR-ing four entries tells at once whether all four are in the alphabet. */
static const uint8_t k_b64_dec[256] = {
#define X16 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, \
            0xff, 0xff
    X16, X16,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 62, 0xff, 0xff, 0xff, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 0xff, 0xff, 0xff, 0xff, 0xff,
    X16, X16, X16, X16, X16, X16, X16, X16,
#undef X16
};

static int b64_value(char ch)
{
    uint8_t v = k_b64_dec[(uint8_t)ch];
    return v == 0xff ? -1 : v;
}

/* B64V is the value of base64 character ch, or 0x100 outside the alphabet ('=' included). */
#define B64V(ch)                                                                                   \
    ((ch) >= 'A' && (ch) <= 'Z'   ? (ch) - 'A'                                                     \
     : (ch) >= 'a' && (ch) <= 'z' ? (ch) - 'a' + 26                                                \
     : (ch) >= '0' && (ch) <= '9' ? (ch) - '0' + 52                                                \
     : (ch) == '+'                ? 62                                                             \
     : (ch) == '/'                ? 63                                                             \
                                  : 0x100)
/* k_b64_q0..3[ch]: the contribution of ch at position 0..3 of a quad to the three decoded bytes,
 * byte 0 in bits 0-7, byte 1 in bits 8-15, byte 2 in bits 16-23; B64_BAD (bit 24) for a
 * character outside the alphabet. OR-ing the four entries gives the quad's bytes and, in bit 24,
 * whether all four characters are in the alphabet. */
#define B64_BAD 0x01000000u
#define B64Q0(ch) (B64V(ch) > 63 ? B64_BAD : (uint32_t)B64V(ch) << 2)
#define B64Q1(ch) (B64V(ch) > 63 ? B64_BAD : (uint32_t)B64V(ch) >> 4 | ((uint32_t)B64V(ch) & 15u) << 12)
#define B64Q2(ch) (B64V(ch) > 63 ? B64_BAD : ((uint32_t)B64V(ch) >> 2) << 8 | ((uint32_t)B64V(ch) & 3u) << 22)
#define B64Q3(ch) (B64V(ch) > 63 ? B64_BAD : (uint32_t)B64V(ch) << 16)
#define B64_R4(f, i) f(i), f((i) + 1), f((i) + 2), f((i) + 3)
#define B64_R16(f, i) B64_R4(f, i), B64_R4(f, (i) + 4), B64_R4(f, (i) + 8), B64_R4(f, (i) + 12)
#define B64_R64(f, i) B64_R16(f, i), B64_R16(f, (i) + 16), B64_R16(f, (i) + 32), B64_R16(f, (i) + 48)
#define B64_R256(f) B64_R64(f, 0), B64_R64(f, 64), B64_R64(f, 128), B64_R64(f, 192)
static const uint32_t k_b64_q0[256] = { B64_R256(B64Q0) };
static const uint32_t k_b64_q1[256] = { B64_R256(B64Q1) };
static const uint32_t k_b64_q2[256] = { B64_R256(B64Q2) };
static const uint32_t k_b64_q3[256] = { B64_R256(B64Q3) };

static inline uint32_t b64_quad(const char *in, size_t k)
{
    return k_b64_q0[(uint8_t)in[k]] | k_b64_q1[(uint8_t)in[k + 1]] | k_b64_q2[(uint8_t)in[k + 2]] |
           k_b64_q3[(uint8_t)in[k + 3]];
}

/* b64_fast decodes whole quads of alphabet characters from in[*i] while it can (the body of
 * every PEM line and of any long text: everything but the padded end), without the state
 * machine: four table look-ups per quad. Called on a quad boundary with room for all of in's
 * whole quads. While another quad follows, the quad's three bytes are stored as one 4-byte word
 * (its fourth byte, zero, is overwritten by the next quad: there is room for it). */
static void b64_fast(uint8_t *restrict out, size_t *pos, const char *restrict in, size_t in_len,
                     size_t *i)
{
    size_t at = *pos, k = *i;
    while (in_len - k >= 8) {
        uint32_t w = b64_quad(in, k);
        if ((w & B64_BAD) != 0) { break; }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(out + at, &w, 4);
#else
        out[at] = (uint8_t)w;
        out[at + 1] = (uint8_t)(w >> 8);
        out[at + 2] = (uint8_t)(w >> 16);
#endif
        at += 3;
        k += 4;
    }
    if (in_len - k >= 4) {
        uint32_t w = b64_quad(in, k);
        if ((w & B64_BAD) == 0) {
            out[at] = (uint8_t)w;
            out[at + 1] = (uint8_t)(w >> 8);
            out[at + 2] = (uint8_t)(w >> 16);
            at += 3;
            k += 4;
        }
    }
    *pos = at;
    *i = k;
}

/* b64_flush writes a full quad (canonical padding checked) to out at *pos. */
static bool b64_flush(cba_base64_stream *st, uint8_t *out, size_t out_cap, size_t *pos)
{
    uint32_t w = (uint32_t)st->quad[0] << 18 | (uint32_t)st->quad[1] << 12 |
                 (uint32_t)st->quad[2] << 6 | st->quad[3];
    size_t n = 3u - st->pad;
    /* Non-zero bits under the padding would give a second encoding of the same bytes. */
    if ((st->pad == 1 && (w & 0xffu)) || (st->pad == 2 && (w & 0xffffu))) { return false; }
    if (out_cap - *pos < n) { return false; } /* *pos <= out_cap always holds */
    out[(*pos)++] = (uint8_t)(w >> 16);
    if (n > 1) { out[(*pos)++] = (uint8_t)(w >> 8); }
    if (n > 2) { out[(*pos)++] = (uint8_t)w; }
    st->done = st->pad > 0;
    st->num = 0;
    return true;
}

bool cba_base64_decode_part(cba_base64_stream *st, uint8_t *out, size_t out_cap, size_t *pos,
                            const char *in, size_t in_len)
{
    size_t i = 0;
    if (*pos > out_cap) { return false; }
    if (st->num == 0 && !st->done && out_cap - *pos >= in_len / 4 * 3) {
        b64_fast(out, pos, in, in_len, &i);
    }
    for (; i < in_len; i++) {
        int v = b64_value(in[i]);
        if (st->done) { return false; } /* nothing after the padded final quad */
        if (in[i] == '=') {
            if (st->num < 2) { return false; } /* '=' only in the last two positions */
            st->pad++;
            v = 0;
        } else if (v < 0 || st->pad > 0) {
            return false; /* junk character, or data after '=' within the quad */
        }
        st->quad[st->num++] = (uint8_t)v;
        if (st->num == 4 && !b64_flush(st, out, out_cap, pos)) { return false; }
    }
    return true;
}

bool cba_base64_decode_end(const cba_base64_stream *st)
{
    return st->num == 0;
}

bool cba_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
    cba_base64_stream st;
    size_t pos = 0;
    memset(&st, 0, sizeof st);
    if (in_len % 4 != 0 || !cba_base64_decode_part(&st, out, out_cap, &pos, in, in_len) ||
        !cba_base64_decode_end(&st)) {
        return false;
    }
    *out_len = pos;
    return true;
}

/* ---- randomness ------------------------------------------------------------------------------- */

bool cba_random_bytes(uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR) { continue; }
        if (r <= 0) { return false; }
        got += (size_t)r;
    }
    return true;
}
