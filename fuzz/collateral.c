/* fuzz/collateral.c. Target: cba_collateral_raw_parse (then cba_tcb_info_parse and
 * cba_qe_identity_parse on the members it returns). Seeds: fuzz/corpus/collateral/.
 * Properties: a failure leaves the struct fully reset and sets the error; a success has every
 * required member present, non-empty and within the caps, CRLs non-empty DER-sized buffers, and
 * parsing is deterministic (a second parse of the same bytes gives identical members). */
#include <stdlib.h>
#include <string.h>

#include "collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void check_member(const uint8_t *p, size_t len, size_t cap)
{
    if (p == NULL || len == 0 || len > cap) { abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cba_collateral_raw raw, again;
    cba_error err;
    cba_err rc;

    cba_error_clear(&err);
    rc = cba_collateral_raw_parse(&err, &raw, cbs_make(data, size));
    if (rc != CBA_OK) {
        static const cba_collateral_raw zero;
        if (err.code != rc || rc == CBA_E_INTERNAL) { abort(); }
        if (memcmp(&raw, &zero, sizeof raw) != 0) { abort(); } /* cleaned up on failure */
        return 0;
    }
    check_member(raw.pck_crl_issuer_chain, raw.pck_crl_issuer_chain_len, CBA_COLLATERAL_MEMBER_MAX);
    check_member(raw.root_ca_crl, raw.root_ca_crl_len, CBA_COLLATERAL_MEMBER_MAX);
    check_member(raw.pck_crl, raw.pck_crl_len, CBA_COLLATERAL_MEMBER_MAX);
    check_member(raw.tcb_info_issuer_chain, raw.tcb_info_issuer_chain_len,
                 CBA_COLLATERAL_MEMBER_MAX);
    check_member(raw.tcb_info, raw.tcb_info_len, CBA_COLLATERAL_MEMBER_MAX);
    check_member(raw.qe_identity_issuer_chain, raw.qe_identity_issuer_chain_len,
                 CBA_COLLATERAL_MEMBER_MAX);
    check_member(raw.qe_identity, raw.qe_identity_len, CBA_COLLATERAL_MEMBER_MAX);
    if ((raw.pck_certificate_chain == NULL) != (raw.pck_certificate_chain_len == 0)) { abort(); }

    cba_error_clear(&err);
    if (cba_collateral_raw_parse(&err, &again, cbs_make(data, size)) != CBA_OK) { abort(); }
    if (!same(raw.tcb_info, raw.tcb_info_len, again.tcb_info, again.tcb_info_len) ||
        !same(raw.pck_crl, raw.pck_crl_len, again.pck_crl, again.pck_crl_len) ||
        !same(raw.root_ca_crl, raw.root_ca_crl_len, again.root_ca_crl, again.root_ca_crl_len) ||
        memcmp(raw.tcb_info_signature, again.tcb_info_signature, 64) != 0) {
        abort();
    }
    cba_collateral_raw_cleanup(&again);

    /* The members feed the next parsers (in dcap.c only after their signatures verify). */
    {
        cba_tcb_info info;
        cba_qe_identity id;
        if (cba_tcb_info_parse(NULL, &info, cbs_make(raw.tcb_info, raw.tcb_info_len)) == CBA_OK) {
            if (info.num_levels == 0) { abort(); }
        }
        cba_tcb_info_cleanup(&info);
        if (cba_qe_identity_parse(NULL, &id, cbs_make(raw.qe_identity, raw.qe_identity_len)) ==
            CBA_OK) {
            if (id.num_levels == 0) { abort(); }
        }
        cba_qe_identity_cleanup(&id);
    }
    cba_collateral_raw_cleanup(&raw);
    return 0;
}
