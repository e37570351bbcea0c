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

/* known_block finds a block of the known chains that `in` (at a BEGIN line) starts with and
 * that is followed there by the end of its END line (a line break or the end of the text), as
 * where the known chain's block ended; NULL when there is none. */
static const cba_pem_chain *known_block(cbs in, const cba_pem_chain *const *known, size_t num_known,
                                        size_t *out_idx)
{
    for (size_t k = 0; k < num_known; k++) {
        for (size_t i = 0; known[k] != NULL && i < known[k]->num_certs; i++) {
            cbs text = known[k]->blocks[i], head, after;
            if (text.len == 0 || text.len > in.len) { continue; }
            after = in;
            if (!cbs_get_bytes(&after, &head, text.len) || !cbs_eq(head, text)) { continue; }
            /* what is left of the END line must be empty: "\n", "\r\n" or the end */
            if (!(after.len == 0 || cbs_byte(after, 0) == '\n' ||
                  (after.len >= 2 && cbs_byte(after, 0) == '\r' && cbs_byte(after, 1) == '\n'))) {
                continue;
            }
            *out_idx = i;
            return known[k];
        }
    }
    return NULL;
}

cba_err cba_pem_chain_decode(cba_error *err, cba_pem_chain *out, cbs pem, uint8_t *buf,
                             size_t buf_cap)
{
    return cba_pem_chain_decode_known(err, out, pem, buf, buf_cap, NULL, 0);
}

cba_err cba_pem_chain_decode_known(cba_error *err, cba_pem_chain *out, cbs pem, uint8_t *buf,
                                   size_t buf_cap, const cba_pem_chain *const *known, size_t num_known)
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
        cba_base64_stream st; /* base's strict decoder, fed line by line (a quad may span lines) */
        cbs block_start = in;
        const cba_pem_chain *same;
        size_t same_idx = 0;
        memset(&st, 0, sizeof st);
        CBA_ENSURE(chain.num_certs < CBA_PEM_MAX_CERTS, err, CBA_E_PEM, w,
                   "more than %d certificates", CBA_PEM_MAX_CERTS);
        if ((same = known_block(in, known, num_known, &same_idx)) != NULL) {
            /* Decoded before from the same bytes: its DER, then the END line's break. */
            CBA_ENSURE(cbs_get_bytes(&in, &chain.blocks[chain.num_certs], same->blocks[same_idx].len),
                       err, CBA_E_INTERNAL, w, "unreachable");
            get_line(&in, &line, &eol);
            CBA_ENSURE(line.len == 0, err, CBA_E_INTERNAL, w, "unreachable"); /* known_block checked */
            chain.certs[chain.num_certs++] = same->certs[same_idx];
        } else {
            get_line(&in, &line, &eol);
            CBA_ENSURE(eol && cbs_eq_str(line, PEM_BEGIN), err, CBA_E_PEM, w,
                       "certificate %zu: expected " PEM_BEGIN, chain.num_certs);
            for (;;) {
                get_line(&in, &line, &eol);
                if (cbs_eq_str(line, PEM_END)) { break; }
                CBA_ENSURE(eol && line.len > 0 && line.len <= PEM_MAX_LINE, err, CBA_E_PEM, w,
                           "certificate %zu: bad line (length, or no END line)", chain.num_certs);
                CBA_ENSURE(cba_base64_decode_part(&st, buf, buf_cap, &pos, (const char *)line.data,
                                                  line.len),
                           err, CBA_E_PEM, w,
                           "certificate %zu: invalid base64 or buffer too small", chain.num_certs);
            }
            CBA_ENSURE(cba_base64_decode_end(&st) && pos > start, err, CBA_E_PEM, w,
                       "certificate %zu: truncated or empty base64", chain.num_certs);
            /* the block's text: its BEGIN line through the END line (`line`), without the break */
            CBA_ENSURE(cbs_get_bytes(&block_start, &chain.blocks[chain.num_certs],
                                     cbs_offset_of(block_start, line) + line.len),
                       err, CBA_E_INTERNAL, w, "unreachable");
            chain.certs[chain.num_certs++] = cbs_make(buf + start, pos - start);
        }
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
