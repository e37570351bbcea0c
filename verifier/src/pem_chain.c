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
    size_t i = cbs_index_of(*in, '\n'), n;
    *out_eol = i < in->len;
    n = i;
    if (*out_eol && n > 0 && cbs_byte(*in, n - 1) == '\r') { n--; }
    if (!cbs_get_bytes(in, out, n) || !cbs_skip(in, i - n + (*out_eol ? 1u : 0u))) {
        *out = (cbs){ NULL, 0 }; /* unreachable: i < in->len was checked */
    }
}

/* k_b64[ch] is 1 + the value of base64 character ch (RFC 4648 table 1), 0 for any other byte. */
static const uint8_t k_b64[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

static int b64_value(uint8_t ch)
{
    return (int)k_b64[ch] - 1;
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
     * its padded end) decode without the state machine; anything else falls through to it. The
     * room for the line's whole quads is checked once. */
    if (st->num == 0 && !st->done && cap - *pos >= line.len / 4 * 3) {
        size_t at = *pos;
        while (line.len - i >= 4) {
            int a = b64_value(cbs_byte(line, i)), b = b64_value(cbs_byte(line, i + 1));
            int c = b64_value(cbs_byte(line, i + 2)), d = b64_value(cbs_byte(line, i + 3));
            uint32_t w;
            if ((a | b | c | d) < 0) { break; }
            w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
            buf[at] = (uint8_t)(w >> 16);
            buf[at + 1] = (uint8_t)(w >> 8);
            buf[at + 2] = (uint8_t)w;
            at += 3;
            i += 4;
        }
        *pos = at;
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
