/* fuzz/pem_chain.c. Target: cba_pem_chain_decode and cba_pem_chain_decode_known. Seeds: fuzz/corpus/pem_chain/ (the PCK chain
 * of a real quote with its trailing NUL, a collateral issuer chain, the dstack app cert chain,
 * and malformed variants).
 * Properties: a failure is CBA_E_PEM (or CBA_E_ARGUMENT never, for valid arguments) with *out
 * untouched; a success yields 1..4 certificates laid out back to back in the buffer, no more
 * than 3/4 of the input in total; re-encoding them as canonical PEM decodes to the same bytes;
 * the exact total fits and one byte less does not. With the input's first block (through its END
 * line and line break) decoded alone as a known chain, decoding the whole input with it gives
 * exactly what decoding without it gives: the same result, error, certificates and block texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t encode(char *out, const cba_pem_chain *chain)
{
    static const char k_b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (size_t c = 0; c < chain->num_certs; c++) {
        cbs der = chain->certs[c];
        size_t col = 0;
        memcpy(out + n, "-----BEGIN CERTIFICATE-----\n", 28);
        n += 28;
        for (size_t i = 0; i < der.len; i += 3) {
            uint32_t w = (uint32_t)cbs_byte(der, i) << 16 |
                         (i + 1 < der.len ? (uint32_t)cbs_byte(der, i + 1) << 8 : 0) |
                         (i + 2 < der.len ? cbs_byte(der, i + 2) : 0);
            out[n++] = k_b64[w >> 18 & 63];
            out[n++] = k_b64[w >> 12 & 63];
            out[n++] = i + 1 < der.len ? k_b64[w >> 6 & 63] : '=';
            out[n++] = i + 2 < der.len ? k_b64[w & 63] : '=';
            col += 4;
            if (col == 64) {
                out[n++] = '\n';
                col = 0;
            }
        }
        if (col) { out[n++] = '\n'; }
        memcpy(out + n, "-----END CERTIFICATE-----\n", 26);
        n += 26;
    }
    return n;
}

/* known_differential: the whole input decoded with and without its first block as a known
 * chain. */
static void known_differential(const uint8_t *data, size_t size)
{
    static const char k_end[] = "-----END CERTIFICATE-----";
    const size_t end_len = sizeof k_end - 1;
    size_t prefix = 0;
    cba_pem_chain first, a, b;
    const cba_pem_chain *known[1] = { &first };
    cba_error e1, e2;
    cba_err r1, r2;
    uint8_t *kbuf, *b1, *b2;
    for (size_t i = 0; i + end_len <= size && prefix == 0; i++) {
        if (memcmp(data + i, k_end, end_len) == 0) { prefix = i + end_len; }
    }
    if (prefix == 0) { return; }
    if (prefix < size && data[prefix] == '\n') {
        prefix++;
    } else if (prefix + 1 < size && data[prefix] == '\r' && data[prefix + 1] == '\n') {
        prefix += 2;
    }
    kbuf = malloc(prefix + 1);
    b1 = malloc(size + 1);
    b2 = malloc(size + 1);
    if (kbuf == NULL || b1 == NULL || b2 == NULL) { abort(); }
    if (cba_pem_chain_decode(NULL, &first, cbs_make(data, prefix), kbuf, prefix) == CBA_OK) {
        cba_error_clear(&e1);
        cba_error_clear(&e2);
        r1 = cba_pem_chain_decode(&e1, &a, cbs_make(data, size), b1, size);
        r2 = cba_pem_chain_decode_known(&e2, &b, cbs_make(data, size), b2, size, known, 1);
        if (r1 != r2) { abort(); }
        if (r1 != CBA_OK) {
            if (strcmp(e1.detail, e2.detail) != 0 || strcmp(e1.where, e2.where) != 0) { abort(); }
        } else {
            if (a.num_certs != b.num_certs) { abort(); }
            for (size_t i = 0; i < a.num_certs; i++) {
                if (!cbs_eq(a.certs[i], b.certs[i]) || !cbs_eq(a.blocks[i], b.blocks[i])) { abort(); }
            }
            if (b.certs[0].data != first.certs[0].data) { abort(); } /* the first block was reused */
        }
    }
    free(kbuf);
    free(b1);
    free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cba_pem_chain chain, again;
    cba_error err;
    cba_err rc;
    uint8_t *buf = malloc(size + 1), *buf2;
    char *text;
    size_t total = 0, text_len;

    if (buf == NULL) { return 0; }
    known_differential(data, size);
    cba_error_clear(&err);
    memset(&chain, 0x11, sizeof chain);
    rc = cba_pem_chain_decode(&err, &chain, cbs_make(data, size), buf, size);
    if (rc != CBA_OK) {
        if (rc != CBA_E_PEM || err.code != rc) { abort(); }
        for (size_t i = 0; i < sizeof chain; i++) {
            if (((const uint8_t *)&chain)[i] != 0x11) { abort(); }
        }
        free(buf);
        return 0;
    }
    if (chain.num_certs < 1 || chain.num_certs > CBA_PEM_MAX_CERTS) { abort(); }
    for (size_t i = 0; i < chain.num_certs; i++) {
        if (chain.certs[i].len == 0 || chain.certs[i].data != buf + total) { abort(); }
        total += chain.certs[i].len;
    }
    if (total > size / 4 * 3) { abort(); }

    /* canonical re-encoding round-trips; exact capacity fits, one less does not */
    text = malloc(total * 2 + 128 * chain.num_certs + 64);
    buf2 = malloc(total + 1);
    if (text == NULL || buf2 == NULL) { abort(); }
    text_len = encode(text, &chain);
    if (cba_pem_chain_decode(NULL, &again, cbs_make((const uint8_t *)text, text_len), buf2,
                             total) != CBA_OK ||
        again.num_certs != chain.num_certs) {
        abort();
    }
    for (size_t i = 0; i < chain.num_certs; i++) {
        if (!cbs_eq(again.certs[i], chain.certs[i])) { abort(); }
    }
    if (cba_pem_chain_decode(NULL, &again, cbs_make((const uint8_t *)text, text_len), buf2,
                             total - 1) != CBA_E_PEM) {
        abort();
    }
    free(text);
    free(buf2);
    free(buf);
    return 0;
}
