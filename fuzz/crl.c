/* fuzz/crl.c. Targets: cba_crl_parse and cba_crl_lists_serial. Seeds: fuzz/corpus/crl/ (the
 * real root CA and PCK CRLs of the dcap-qvl collateral, and malformed variants).
 * Properties: a failure is CBA_E_CRL_INVALID, recorded in the error, with *out untouched; a
 * success has every view inside the input, thisUpdate <= nextUpdate, num_revoked entries in
 * `revoked`, every entry's serial reported as listed (with and without a sign octet), and a
 * deterministic result. */
#include <stdlib.h>
#include <string.h>

#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(cbs v, const uint8_t *base, size_t len)
{
    uintptr_t b = (uintptr_t)base, p = (uintptr_t)v.data;
    if (v.len == 0) { return true; }
    return p >= b && p - b <= len && v.len <= len - (p - b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cba_crl c, again;
    cba_error err;
    cba_err rc;
    cbs list;
    size_t n = 0;

    cba_error_clear(&err);
    memset(&c, 0x5a, sizeof c);
    rc = cba_crl_parse(&err, &c, cbs_make(data, size));
    if (rc != CBA_OK) {
        if (rc != CBA_E_CRL_INVALID || err.code != rc) { abort(); }
        for (size_t i = 0; i < sizeof c; i++) {
            if (((const uint8_t *)&c)[i] != 0x5a) { abort(); }
        }
        return 0;
    }
    if (!inside(c.der, data, size) || !inside(c.tbs, data, size) || !inside(c.issuer, data, size) ||
        !inside(c.revoked, data, size) || !inside(c.crl_number, data, size) ||
        !inside(c.aki_key_id, data, size) || c.der.len != size || c.this_update > c.next_update ||
        (c.num_revoked == 0) != (c.revoked.len == 0) ||
        (c.has_crl_number && c.crl_number.len == 0)) {
        abort();
    }
    list = c.revoked;
    while (list.len > 0) {
        cbs entry, serial;
        uint8_t padded[32];
        if (!cbs_get_asn1(&list, &entry, CBS_ASN1_SEQUENCE) ||
            !cbs_get_asn1(&entry, &serial, CBS_ASN1_INTEGER)) {
            abort(); /* parse validated every entry */
        }
        if (!cba_crl_lists_serial(&c, serial)) { abort(); }
        /* the same serial with one extra sign octet matches too, when it is a valid one */
        if (serial.len < 21 && (cbs_byte(serial, 0) & 0x80)) {
            padded[0] = 0x00;
            memcpy(padded + 1, serial.data, serial.len);
            if (!cba_crl_lists_serial(&c, cbs_make(padded, serial.len + 1))) { abort(); }
        }
        n++;
    }
    if (n != c.num_revoked) { abort(); }
    if (cba_crl_parse(NULL, &again, cbs_make(data, size)) != CBA_OK ||
        again.this_update != c.this_update || again.next_update != c.next_update ||
        again.num_revoked != c.num_revoked || again.has_aki != c.has_aki ||
        again.has_crl_number != c.has_crl_number || memcmp(again.sig_rs, c.sig_rs, 64) != 0) {
        abort();
    }
    return 0;
}
