/* fuzz/sgx_ext.c. Target: cba_sgx_ext_parse. Seeds: fuzz/corpus/sgx_ext/ (the extnValue contents
 * of real PCK leaves, and malformed variants).
 * Properties: a failure is CBA_E_PCK_EXTENSION with a `where` under "pck.sgx_ext" and *out
 * untouched; a success needs the input to be one SEQUENCE, gives values within their ranges
 * (SGX type <= 2), and is deterministic byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cba_sgx_ext e, again;
    cba_error err;
    cba_err rc;
    cbs in = cbs_make(data, size), seq;

    cba_error_clear(&err);
    memset(&e, 0x3c, sizeof e);
    rc = cba_sgx_ext_parse(&err, &e, in);
    if (rc != CBA_OK) {
        if (rc != CBA_E_PCK_EXTENSION || err.code != rc || strncmp(err.where, "pck.sgx_ext", 11)) {
            abort();
        }
        for (size_t i = 0; i < sizeof e; i++) {
            if (((const uint8_t *)&e)[i] != 0x3c) { abort(); }
        }
        return 0;
    }
    if (!cbs_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE) || in.len != 0 || e.sgx_type > 2) { abort(); }
    memset(&again, 0, sizeof again);
    if (cba_sgx_ext_parse(NULL, &again, cbs_make(data, size)) != CBA_OK) { abort(); }
    if (memcmp(e.ppid, again.ppid, 16) || memcmp(e.comp_svn, again.comp_svn, 16) ||
        e.pcesvn != again.pcesvn || memcmp(e.cpusvn, again.cpusvn, 16) ||
        memcmp(e.pce_id, again.pce_id, 2) || memcmp(e.fmspc, again.fmspc, 6) ||
        e.sgx_type != again.sgx_type ||
        e.has_platform_instance_id != again.has_platform_instance_id ||
        e.has_configuration != again.has_configuration || e.smt_enabled != again.smt_enabled ||
        e.cached_keys != again.cached_keys || e.dynamic_platform != again.dynamic_platform) {
        abort();
    }
    return 0;
}
