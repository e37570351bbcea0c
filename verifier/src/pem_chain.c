/* pem_chain.c — PEM certificate chains (RFC 7468), decoded strictly into the caller's buffer;
 * see x509.h. Split out of x509.c. */
#include <string.h>

#include "x509.h"

/* ---- PEM chains --------------------------------------------------------------------------- */

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"
#define PEM_MAX_LINE 76 /* RFC 7468 / RFC 2045 line length */

/* get_line splits off the next line, without its terminator ("\n" or "\r\n"). *out_eol says
 * whether a terminator was there (only the very last line may lack one). A lone '\r' is not a
 * terminator and stays in the line, where it fails as a non-base64 character. */
static void get_line(cbs *in, cbs *out, bool *out_eol)
{
    size_t i = 0, n;
    while (i < in->len && cbs_byte(*in, i) != '\n') { i++; }
    *out_eol = i < in->len;
    n = i;
    if (*out_eol && n > 0 && cbs_byte(*in, n - 1) == '\r') { n--; }
    if (!cbs_get_bytes(in, out, n) || !cbs_skip(in, i - n + (*out_eol ? 1u : 0u))) {
        *out = (cbs){ NULL, 0 }; /* unreachable: i < in->len was checked */
    }
}

static int b64_value(uint8_t ch)
{
    if (ch >= 'A' && ch <= 'Z') { return ch - 'A'; }
    if (ch >= 'a' && ch <= 'z') { return ch - 'a' + 26; }
    if (ch >= '0' && ch <= '9') { return ch - '0' + 52; }
    if (ch == '+') { return 62; }
    if (ch == '/') { return 63; }
    return -1;
}

/* b64 is the decoder state of one block: a quad being filled and whether '=' was seen. */
typedef struct b64 {
    uint8_t quad[4];
    unsigned num; /* characters in quad */
    unsigned pad; /* '=' characters seen in quad */
    bool done;    /* a padded quad ended the data */
} b64;

/* b64_line decodes one line's characters into buf at *pos (capacity cap). */
CBA_MUST_USE static bool b64_line(b64 *st, cbs line, uint8_t *buf, size_t cap, size_t *pos)
{
    size_t i = 0;
    /* Fast path: whole quads of alphabet characters on a quad boundary (all of a real line but
     * its padded end) decode without the state machine; anything else falls through to it. */
    while (st->num == 0 && !st->done && line.len - i >= 4) {
        int a = b64_value(cbs_byte(line, i)), b = b64_value(cbs_byte(line, i + 1));
        int c = b64_value(cbs_byte(line, i + 2)), d = b64_value(cbs_byte(line, i + 3));
        uint32_t w;
        if ((a | b | c | d) < 0) { break; }
        if (cap - *pos < 3) { return false; }
        w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        buf[(*pos)++] = (uint8_t)(w >> 16);
        buf[(*pos)++] = (uint8_t)(w >> 8);
        buf[(*pos)++] = (uint8_t)w;
        i += 4;
    }
    for (; i < line.len; i++) {
        uint8_t ch = cbs_byte(line, i);
        int v = b64_value(ch);
        if (st->done) { return false; } /* nothing after the padded final quad */
        if (ch == '=') {
            if (st->num < 2) { return false; } /* "=" only in the last two positions */
            st->pad++;
            v = 0;
        } else if (v < 0 || st->pad > 0) {
            return false; /* junk character, or data after '=' within the quad */
        }
        st->quad[st->num++] = (uint8_t)v;
        if (st->num == 4) {
            uint32_t w = (uint32_t)st->quad[0] << 18 | (uint32_t)st->quad[1] << 12 |
                         (uint32_t)st->quad[2] << 6 | st->quad[3];
            size_t n = 3u - st->pad;
            /* Non-zero bits under the padding would give a second encoding of the same bytes. */
            if ((st->pad == 1 && (w & 0xffu)) || (st->pad == 2 && (w & 0xffffu))) { return false; }
            if (cap - *pos < n) { return false; } /* *pos <= cap always holds */
            buf[(*pos)++] = (uint8_t)(w >> 16);
            if (n > 1) { buf[(*pos)++] = (uint8_t)(w >> 8); }
            if (n > 2) { buf[(*pos)++] = (uint8_t)w; }
            st->done = st->pad > 0;
            st->num = 0;
        }
    }
    return true;
}

cba_err cba_pem_chain_decode(cba_error *err, cba_pem_chain *out, cbs pem, uint8_t *buf,
                             size_t buf_cap)
{
    const char *w = "pem";
    cba_pem_chain chain;
    cbs in = pem;
    size_t pos = 0;
    CBA_ENSURE(out != NULL && (buf != NULL || buf_cap == 0), err, CBA_E_ARGUMENT, w,
               "bad arguments");
    memset(&chain, 0, sizeof chain);
    /* One trailing NUL is allowed (the quote's chain is a C string); drop it up front so the
     * grammar below is: blocks, line breaks between them, at most one line break at the end. */
    if (in.len > 0 && cbs_byte(in, in.len - 1) == 0x00 && !cbs_get_bytes(&pem, &in, in.len - 1)) {
        return cba_fail(err, CBA_E_INTERNAL, w, "unreachable");
    }
    for (;;) {
        cbs line;
        bool eol;
        size_t start = pos;
        b64 st;
        memset(&st, 0, sizeof st);
        CBA_ENSURE(chain.num_certs < CBA_PEM_MAX_CERTS, err, CBA_E_PEM, w,
                   "more than %d certificates", CBA_PEM_MAX_CERTS);
        get_line(&in, &line, &eol);
        CBA_ENSURE(eol && cbs_eq_str(line, PEM_BEGIN), err, CBA_E_PEM, w,
                   "certificate %zu: expected " PEM_BEGIN, chain.num_certs);
        for (;;) {
            get_line(&in, &line, &eol);
            if (cbs_eq_str(line, PEM_END)) { break; }
            CBA_ENSURE(eol && line.len > 0 && line.len <= PEM_MAX_LINE, err, CBA_E_PEM, w,
                       "certificate %zu: bad line (length, or no END line)", chain.num_certs);
            CBA_ENSURE(b64_line(&st, line, buf, buf_cap, &pos), err, CBA_E_PEM, w,
                       "certificate %zu: invalid base64 or buffer too small", chain.num_certs);
        }
        CBA_ENSURE(st.num == 0 && pos > start, err, CBA_E_PEM, w,
                   "certificate %zu: truncated or empty base64", chain.num_certs);
        chain.certs[chain.num_certs++] = cbs_make(buf + start, pos - start);
        /* After END (and its line break, if any): the end, or line breaks and the next BEGIN. */
        if (!eol || in.len == 0) { break; }
        while (in.len > 0 && (cbs_byte(in, 0) == '\n' || cbs_byte(in, 0) == '\r')) {
            cbs blank;
            bool blank_eol;
            get_line(&in, &blank, &blank_eol);
            CBA_ENSURE(blank.len == 0 && blank_eol, err, CBA_E_PEM, w, "text between blocks");
        }
        CBA_ENSURE(in.len > 0, err, CBA_E_PEM, w, "more than one line break after the chain");
    }
    *out = chain;
    return CBA_OK;
}
