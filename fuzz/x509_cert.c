/* fuzz/x509_cert.c. Targets: cba_cert_parse, cba_cert_find_extension, and cba_sgx_ext_parse on
 * the SGX extension of a parsed certificate. Seeds: fuzz/corpus/x509_cert/ (real DER certs).
 * Properties: a failure sets the error to the returned code (CBA_E_DER or CBA_E_CERT_INVALID)
 * and leaves *out untouched; a success has every view inside the input, the profile's
 * invariants (serial 1..20 bytes, notBefore <= notAfter, v3), finds its SGX extension by OID,
 * and parsing is deterministic. */
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

static void same_view(cbs a, cbs b)
{
    if (a.len != b.len || (a.len != 0 && a.data != b.data)) { abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t k_sgx_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };
    cba_cert c, again;
    cba_error err;
    cba_err rc;
    cbs views[12], found;

    cba_error_clear(&err);
    memset(&c, 0xa5, sizeof c);
    rc = cba_cert_parse(&err, &c, cbs_make(data, size));
    if (rc != CBA_OK) {
        if (err.code != rc || (rc != CBA_E_DER && rc != CBA_E_CERT_INVALID)) { abort(); }
        for (size_t i = 0; i < sizeof c; i++) {
            if (((const uint8_t *)&c)[i] != 0xa5) { abort(); } /* untouched on failure */
        }
        return 0;
    }
    views[0] = c.der;
    views[1] = c.tbs;
    views[2] = c.serial;
    views[3] = c.issuer;
    views[4] = c.subject;
    views[5] = c.issuer_cn;
    views[6] = c.subject_cn;
    views[7] = c.spki;
    views[8] = c.sgx_ext;
    views[9] = c.extensions;
    views[10] = c.subject_key_id;
    views[11] = c.authority_key_id;
    for (size_t i = 0; i < 12; i++) {
        if (!inside(views[i], data, size)) { abort(); }
    }
    if (c.der.len != size || c.tbs.len == 0 || c.serial.len == 0 || c.serial.len > 20 ||
        c.not_before > c.not_after || c.issuer.len < 2 || c.spki.len < 2 ||
        c.num_extensions > CBA_CERT_MAX_EXTENSIONS || (c.has_sgx_ext && c.extensions.len == 0) ||
        (!c.is_ca && c.path_len != -1)) {
        abort();
    }
    if (c.has_sgx_ext) {
        cba_sgx_ext e;
        if (!cba_cert_find_extension(&c, k_sgx_oid, sizeof k_sgx_oid, &found)) { abort(); }
        same_view(found, c.sgx_ext);
        cba_error_clear(&err);
        rc = cba_sgx_ext_parse(&err, &e, c.sgx_ext);
        if (rc != CBA_OK && (rc != CBA_E_PCK_EXTENSION || err.code != rc)) { abort(); }
    } else if (cba_cert_find_extension(&c, k_sgx_oid, sizeof k_sgx_oid, &found)) {
        abort();
    }

    if (cba_cert_parse(NULL, &again, cbs_make(data, size)) != CBA_OK) { abort(); }
    same_view(again.tbs, c.tbs);
    same_view(again.serial, c.serial);
    same_view(again.issuer_cn, c.issuer_cn);
    same_view(again.subject_cn, c.subject_cn);
    same_view(again.spki, c.spki);
    same_view(again.sgx_ext, c.sgx_ext);
    if (again.not_before != c.not_before || again.not_after != c.not_after ||
        again.has_p256_key != c.has_p256_key || again.key_usage != c.key_usage ||
        again.is_ca != c.is_ca || again.path_len != c.path_len ||
        memcmp(again.sig_rs, c.sig_rs, 64) != 0 ||
        (c.has_p256_key && memcmp(again.pub_xy, c.pub_xy, 64) != 0)) {
        abort();
    }
    return 0;
}
