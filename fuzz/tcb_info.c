/* fuzz/tcb_info.c. Target: cba_tcb_info_parse, then cba_tcb_evaluate / cba_tdx_module_match on
 * the result. Seeds: fuzz/corpus/tcb_info/.
 * Properties: a failure resets the struct; a success has 1..CBA_TCB_MAX_LEVELS levels sorted
 * strictly descending under Intel's comparator (so no duplicates), statuses from the closed sets,
 * NUL-terminated printable advisory IDs, unique module ids and module isvsvns; evaluating a
 * platform that sits exactly on a level never picks a lower level than that one, and every
 * result is a known status or one of the documented errors. */
#include <stdlib.h>
#include <string.h>

#include "collateral.h"
#include "tcb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const cba_tcb_level *a, const cba_tcb_level *b)
{
    int d = memcmp(a->sgx_svn, b->sgx_svn, 16);
    if (d != 0) { return d; }
    if (a->pcesvn != b->pcesvn) { return a->pcesvn < b->pcesvn ? -1 : 1; }
    return memcmp(a->tdx_svn, b->tdx_svn, 16);
}

static void check_advisories(const cba_advisories *a)
{
    if (a->num > CBA_ADVISORIES_PER_LEVEL) { abort(); }
    for (size_t i = 0; i < a->num; i++) {
        size_t n = strnlen(a->ids[i], CBA_ADVISORY_ID_MAX);
        if (n == 0 || n >= CBA_ADVISORY_ID_MAX) { abort(); }
        for (size_t k = 0; k < n; k++) {
            if (a->ids[i][k] <= 0x20 || a->ids[i][k] >= 0x7f) { abort(); }
        }
    }
}

static bool module_status_ok(cba_tcb_status s)
{
    return s == CBA_TCB_UP_TO_DATE || s == CBA_TCB_OUT_OF_DATE || s == CBA_TCB_REVOKED;
}

static void check_info(const cba_tcb_info *info)
{
    if (info->num_levels == 0 || info->num_levels > CBA_TCB_MAX_LEVELS || info->version != 3 ||
        info->issue_date > info->next_update) {
        abort();
    }
    for (size_t i = 0; i < info->num_levels; i++) {
        const cba_tcb_level *l = &info->levels[i];
        if (l->status < CBA_TCB_UP_TO_DATE || l->status > CBA_TCB_REVOKED) { abort(); }
        if (i > 0 && cmp(&info->levels[i - 1], l) <= 0) { abort(); }
        check_advisories(&l->advisories);
    }
    for (size_t m = 0; m < info->num_modules; m++) {
        const cba_module_identity *mod = &info->modules[m];
        if (mod->num_levels == 0 || mod->num_levels > CBA_MODULE_MAX_LEVELS) { abort(); }
        for (size_t k = 0; k < m; k++) {
            if (info->modules[k].version == mod->version) { abort(); }
        }
        for (size_t i = 0; i < mod->num_levels; i++) {
            if (!module_status_ok(mod->levels[i].status)) { abort(); }
            check_advisories(&mod->levels[i].advisories);
            for (size_t k = 0; k < i; k++) {
                if (mod->levels[k].isvsvn == mod->levels[i].isvsvn) { abort(); }
            }
        }
    }
}

/* evaluate_on_levels puts a platform exactly on each level (TEE_TCB_SVN = its TDX SVNs, so the
 * start=0 rule applies when tdx[1] == 0) and checks the matched level is never below it. */
static void evaluate_on_levels(const cba_tcb_info *info, const uint8_t *data, size_t size)
{
    cba_qe_level qe;
    memset(&qe, 0, sizeof qe);
    qe.status = (size > 0 && (data[0] & 1)) ? CBA_TCB_OUT_OF_DATE : CBA_TCB_UP_TO_DATE;
    for (size_t i = 0; i < info->num_levels && i < 8; i++) {
        const cba_tcb_level *l = &info->levels[i];
        cba_sgx_ext pck;
        cba_td_report td;
        cba_tcb_result res;
        cba_error err;
        cba_err rc;
        memset(&pck, 0, sizeof pck);
        memset(&td, 0, sizeof td);
        memcpy(pck.comp_svn, l->sgx_svn, 16);
        pck.pcesvn = l->pcesvn;
        memcpy(td.tee_tcb_svn, l->tdx_svn, 16);
        memcpy(td.tee_tcb_svn2, l->tdx_svn, 16);
        cba_error_clear(&err);
        rc = cba_tcb_evaluate(&err, &res, info, &pck, &td, (size > 1 && (data[1] & 1)) ? 3 : 2,
                              &qe);
        if (rc == CBA_OK) {
            if (res.status == CBA_TCB_UNKNOWN || res.status >= CBA_TCB_STATUS_COUNT) { abort(); }
            if (res.platform_status != l->status && td.tee_tcb_svn[1] == 0) {
                /* start = 0 and the platform equals level i: the first match is level i or a
                 * level sorted before it that it also satisfies; find it and compare. */
                size_t k = 0;
                for (; k < i; k++) {
                    const cba_tcb_level *h = &info->levels[k];
                    bool ok = h->pcesvn <= l->pcesvn;
                    for (size_t c = 0; c < 16 && ok; c++) {
                        ok = h->sgx_svn[c] <= l->sgx_svn[c] && h->tdx_svn[c] <= l->tdx_svn[c];
                    }
                    if (ok) { break; }
                }
                if (info->levels[k].status != res.platform_status) { abort(); }
            }
            check_advisories(&res.advisories);
        } else if (rc != CBA_E_TDX_MODULE_MISMATCH && rc != CBA_E_TCB_NOT_SUPPORTED &&
                   rc != CBA_E_TCB_INFO_FORMAT) {
            abort();
        } else if (rc == CBA_E_TCB_NOT_SUPPORTED && td.tee_tcb_svn[1] == 0) {
            abort(); /* level i itself matches with start = 0 and the tdxModule path */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cba_tcb_info info;
    cba_error err;
    cba_err rc;
    cba_error_clear(&err);
    rc = cba_tcb_info_parse(&err, &info, cbs_make(data, size));
    if (rc != CBA_OK) {
        static const cba_tcb_info zero;
        if (err.code != rc || memcmp(&info, &zero, sizeof info) != 0) { abort(); }
        return 0;
    }
    check_info(&info);
    evaluate_on_levels(&info, data, size);
    cba_tcb_info_cleanup(&info);
    return 0;
}
