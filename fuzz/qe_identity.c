/* fuzz/qe_identity.c. Target: cba_qe_identity_parse, then cba_qe_identity_match.
 * Seeds: fuzz/corpus/qe_identity/.
 * Properties: a failure resets the struct; a success has 1..CBA_QE_MAX_LEVELS levels with
 * distinct isvsvns and UpToDate/OutOfDate/Revoked statuses; a report built to satisfy the
 * identity (expected values, non-debug) matches, at the level with the largest isvsvn <= its
 * ISVSVN; flipping MRSIGNER or ISVPRODID or setting DEBUG makes it fail. */
#include <stdlib.h>
#include <string.h>

#include "tcb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cba_qe_identity id;
    cba_error err;
    cba_err rc;
    cba_error_clear(&err);
    rc = cba_qe_identity_parse(&err, &id, cbs_make(data, size));
    if (rc != CBA_OK) {
        static const cba_qe_identity zero;
        if (err.code != rc || memcmp(&id, &zero, sizeof id) != 0) { abort(); }
        return 0;
    }
    if (id.num_levels == 0 || id.num_levels > CBA_QE_MAX_LEVELS || id.version != 2) { abort(); }
    for (size_t i = 0; i < id.num_levels; i++) {
        cba_tcb_status s = id.levels[i].status;
        if (s != CBA_TCB_UP_TO_DATE && s != CBA_TCB_OUT_OF_DATE && s != CBA_TCB_REVOKED) {
            abort();
        }
        for (size_t k = 0; k < i; k++) {
            if (id.levels[k].isvsvn == id.levels[i].isvsvn) { abort(); }
        }
    }
    for (size_t i = 0; i < id.num_levels && i < 4; i++) {
        cba_qe_report r;
        const cba_qe_level *ql = NULL;
        bool expect_ok = (id.miscselect & ~id.miscselect_mask) == 0 &&
                         (id.attributes[0] & 0x02) == 0;
        for (size_t k = 0; k < 16; k++) {
            expect_ok = expect_ok && (id.attributes[k] & ~id.attributes_mask[k]) == 0;
        }
        memset(&r, 0, sizeof r);
        memcpy(r.mrsigner, id.mrsigner, 32);
        r.isvprodid = id.isvprodid;
        r.miscselect = id.miscselect;
        memcpy(r.attributes, id.attributes, 16);
        r.isvsvn = id.levels[i].isvsvn;
        rc = cba_qe_identity_match(NULL, &ql, &id, &r);
        if (expect_ok != (rc == CBA_OK)) { abort(); }
        if (rc == CBA_OK) {
            if (ql == NULL || ql->isvsvn != r.isvsvn) { abort(); } /* isvsvns are distinct */
            r.mrsigner[size % 32] ^= 1;
            if (cba_qe_identity_match(NULL, &ql, &id, &r) != CBA_E_QE_IDENTITY_MISMATCH) {
                abort();
            }
            r.mrsigner[size % 32] ^= 1;
            r.isvprodid ^= 1;
            if (cba_qe_identity_match(NULL, &ql, &id, &r) != CBA_E_QE_IDENTITY_MISMATCH) {
                abort();
            }
            r.isvprodid ^= 1;
            r.attributes[0] |= 0x02;
            if (cba_qe_identity_match(NULL, &ql, &id, &r) != CBA_E_QE_IDENTITY_MISMATCH) {
                abort();
            }
        } else if (rc != CBA_E_QE_IDENTITY_MISMATCH) {
            abort();
        }
    }
    cba_qe_identity_cleanup(&id);
    return 0;
}
