/* base.c — errors, constant-time compare, hex, base64, random bytes (base.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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

bool cba_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len)
{
    uint8_t all = 0x10;
    if (out_len > SIZE_MAX / 2 || hex_len != out_len * 2) { return false; }
    /* Checked whole before anything is written: out is untouched on failure. */
    for (size_t i = 0; i < hex_len; i++) { all &= k_hex[(uint8_t)hex[i]]; }
    if (all == 0) { return false; }
    for (size_t i = 0; i < out_len; i++) {
        out[i] = (uint8_t)(k_hex[(uint8_t)hex[2 * i]] << 4 | (k_hex[(uint8_t)hex[2 * i + 1]] & 0x0f));
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

static int b64_val(char ch)
{
    if (ch >= 'A' && ch <= 'Z') { return ch - 'A'; }
    if (ch >= 'a' && ch <= 'z') { return ch - 'a' + 26; }
    if (ch >= '0' && ch <= '9') { return ch - '0' + 52; }
    if (ch == '+') { return 62; }
    if (ch == '/') { return 63; }
    return -1;
}

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

bool cba_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
    size_t o = 0;
    if (in_len % 4 != 0) { return false; }
    for (size_t i = 0; i < in_len; i += 4) {
        bool last = i + 4 == in_len;
        size_t pad = 0, n;
        uint32_t w = 0;
        if (last) { pad = in[i + 3] != '=' ? 0u : in[i + 2] != '=' ? 1u : 2u; }
        for (size_t k = 0; k < 4; k++) {
            int v = k >= 4 - pad ? 0 : b64_val(in[i + k]);
            if (v < 0) { return false; }
            w = w << 6 | (uint32_t)v;
        }
        /* Canonical: the bits under the padding are zero (else a second encoding). */
        if ((pad == 1 && (w & 0xffu) != 0) || (pad == 2 && (w & 0xffffu) != 0)) { return false; }
        n = 3 - pad;
        if (out_cap - o < n) { return false; }
        for (size_t k = 0; k < n; k++) { out[o++] = (uint8_t)(w >> (16 - 8 * k)); }
    }
    *out_len = o;
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
