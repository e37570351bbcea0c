/* tcb.c — TCB evaluation (dcap-spec §4.2–§4.6) over authenticated, parsed collateral: QE
 * identity policy, TDX module identity, platform level selection, status convergence (INTEL
 * table), the TD 1.5 relaunch rule and the advisory union. */
#include "tcb.h"

#include <stdio.h>
#include <string.h>

#define QE_ATTRIBUTES_DEBUG 0x02u /* SGX ATTRIBUTES.DEBUG, bit 1 of byte 0 */

cba_err cba_qe_identity_match(cba_error *err, const cba_qe_level **out_level,
                              const cba_qe_identity *id, const cba_qe_report *qe)
{
    const cba_qe_level *best = NULL;
    uint8_t attr_diff = 0;

    *out_level = NULL;
    CBA_ENSURE(id != NULL && qe != NULL, err, CBA_E_ARGUMENT, "qe_identity", "missing input");
    CBA_ENSURE(cba_ct_eq(qe->mrsigner, id->mrsigner, sizeof id->mrsigner), err,
               CBA_E_QE_IDENTITY_MISMATCH, "qe_identity.mrsigner",
               "QE MRSIGNER differs from the QE identity");
    CBA_ENSURE(qe->isvprodid == id->isvprodid, err, CBA_E_QE_IDENTITY_MISMATCH,
               "qe_identity.isvprodid", "QE ISVPRODID %u, identity requires %u", qe->isvprodid,
               id->isvprodid);
    /* INTEL form: the expected value is not masked, so expected bits outside the mask can never
     * match and the check fails closed. */
    CBA_ENSURE((qe->miscselect & id->miscselect_mask) == id->miscselect, err,
               CBA_E_QE_IDENTITY_MISMATCH, "qe_identity.miscselect",
               "QE MISCSELECT & mask differs from the identity");
    for (size_t i = 0; i < sizeof id->attributes; i++) {
        attr_diff |= (uint8_t)((qe->attributes[i] & id->attributes_mask[i]) ^ id->attributes[i]);
    }
    CBA_ENSURE(attr_diff == 0, err, CBA_E_QE_IDENTITY_MISMATCH, "qe_identity.attributes",
               "QE ATTRIBUTES & mask differ from the identity");
    /* A debug QE can be driven by its host: never accept one, whatever the mask says. */
    CBA_ENSURE((qe->attributes[0] & QE_ATTRIBUTES_DEBUG) == 0, err, CBA_E_QE_IDENTITY_MISMATCH,
               "qe_identity.attributes", "QE is a debug enclave");
    /* Largest isvsvn <= ISVSVN: order-independent (INTEL takes the first match in JSON order). */
    for (size_t i = 0; i < id->num_levels; i++) {
        const cba_qe_level *l = &id->levels[i];
        if (l->isvsvn <= qe->isvsvn && (best == NULL || l->isvsvn > best->isvsvn)) { best = l; }
    }
    CBA_ENSURE(best != NULL, err, CBA_E_TCB_NOT_SUPPORTED, "qe_identity.tcbLevels",
               "QE ISVSVN %u is below every QE TCB level", qe->isvsvn);
    *out_level = best;
    return CBA_OK;
}

/* find_module returns the tdxModuleIdentities entry "TDX_%02X"(version); ids were parsed
 * case-insensitively into their numeric value, so the comparison ignores case. */
static const cba_module_identity *find_module(const cba_tcb_info *info, uint8_t version)
{
    for (size_t i = 0; i < info->num_modules; i++) {
        if (info->modules[i].version == version) { return &info->modules[i]; }
    }
    return NULL;
}

/* module_level_at_most returns the level with the largest isvsvn <= svn, or NULL. */
static const cba_module_level *module_level_at_most(const cba_module_identity *mod, uint8_t svn)
{
    const cba_module_level *best = NULL;
    for (size_t i = 0; i < mod->num_levels; i++) {
        const cba_module_level *l = &mod->levels[i];
        if (l->isvsvn <= svn && (best == NULL || l->isvsvn > best->isvsvn)) { best = l; }
    }
    return best;
}

cba_err cba_tdx_module_match(cba_error *err, cba_tcb_status *out_status,
                             const cba_module_level **out_level, const cba_tcb_info *info,
                             const cba_td_report *td)
{
    const uint8_t *exp_mrsigner;
    uint64_t exp_attr, exp_mask;
    const cba_module_identity *mod = NULL;
    const cba_module_level *level = NULL;

    *out_status = CBA_TCB_UNKNOWN;
    *out_level = NULL;
    CBA_ENSURE(info != NULL && td != NULL, err, CBA_E_ARGUMENT, "tcb_info.tdxModule",
               "missing input");
    if (td->tee_tcb_svn[1] == 0) {
        exp_mrsigner = info->module_mrsigner;
        exp_attr = info->module_attributes;
        exp_mask = info->module_attributes_mask;
    } else {
        mod = find_module(info, td->tee_tcb_svn[1]);
        CBA_ENSURE(mod != NULL, err, CBA_E_TDX_MODULE_MISMATCH, "tcb_info.tdxModuleIdentities",
                   "no module identity TDX_%02X for TEE_TCB_SVN[1]", td->tee_tcb_svn[1]);
        exp_mrsigner = mod->mrsigner;
        exp_attr = mod->attributes;
        exp_mask = mod->attributes_mask;
    }
    CBA_ENSURE(cba_ct_eq(td->mrsignerseam, exp_mrsigner, 48), err, CBA_E_TDX_MODULE_MISMATCH,
               "quote.td.mrsignerseam", "MRSIGNERSEAM differs from the TCB info's module signer");
    /* Our rule (§4.3): the stricter of INTEL (every byte zero and equal to expected) and a
     * masked compare: SEAMATTRIBUTES must be zero, and so must the masked expectation, so that a
     * future non-zero expectation fails closed instead of being silently ignored. */
    CBA_ENSURE(td->seam_attributes == 0, err, CBA_E_TDX_MODULE_MISMATCH,
               "quote.td.seam_attributes", "SEAMATTRIBUTES is not zero");
    CBA_ENSURE((exp_attr & exp_mask) == 0, err, CBA_E_TDX_MODULE_MISMATCH,
               "tcb_info.tdxModule.attributes",
               "TCB info expects non-zero SEAM attributes (unsupported)");
    if (mod == NULL) {
        *out_status = CBA_TCB_UP_TO_DATE; /* INTEL returns STATUS_OK: no module levels apply */
        return CBA_OK;
    }
    level = module_level_at_most(mod, td->tee_tcb_svn[0]);
    CBA_ENSURE(level != NULL, err, CBA_E_TCB_NOT_SUPPORTED, "tcb_info.tdxModuleIdentities",
               "TDX module SVN %u is below every level of TDX_%02X", td->tee_tcb_svn[0],
               mod->version);
    *out_status = level->status;
    *out_level = level;
    return CBA_OK;
}

cba_tcb_status cba_tcb_converge(cba_tcb_status level, cba_tcb_status other)
{
    if (other == CBA_TCB_REVOKED) { return CBA_TCB_REVOKED; }
    if (other == CBA_TCB_OUT_OF_DATE) {
        switch (level) {
        case CBA_TCB_UP_TO_DATE:
        case CBA_TCB_SW_HARDENING_NEEDED: return CBA_TCB_OUT_OF_DATE;
        case CBA_TCB_CONFIGURATION_NEEDED:
        case CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
            return CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
        default: return level; /* already OutOfDate*, Revoked or a relaunch verdict */
        }
    }
    return level;
}

cba_err cba_tcb_info_match_pck(cba_error *err, const cba_tcb_info *info, const cba_sgx_ext *pck)
{
    CBA_ENSURE(info != NULL && pck != NULL, err, CBA_E_ARGUMENT, "tcb_info", "missing input");
    CBA_ENSURE(memcmp(info->fmspc, pck->fmspc, sizeof info->fmspc) == 0, err,
               CBA_E_TCB_INFO_MISMATCH, "tcb_info.fmspc", "TCB info FMSPC differs from the PCK's");
    CBA_ENSURE(memcmp(info->pce_id, pck->pce_id, sizeof info->pce_id) == 0, err,
               CBA_E_TCB_INFO_MISMATCH, "tcb_info.pceId", "TCB info PCE-ID differs from the PCK's");
    return CBA_OK;
}

static bool is_configuration_needed(cba_tcb_status s)
{
    return s == CBA_TCB_CONFIGURATION_NEEDED || s == CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
           s == CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
           s == CBA_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* relaunch applies INTEL checkForRelaunch (TD 1.5 only): when only the TDX module is out of
 * date and TEE_TCB_SVN_2 shows the module was already updated in place, the verdict becomes
 * TDRelaunchAdvised[ConfigurationNeeded]. `tdx` is the status after the module step. */
CBA_MUST_USE static cba_err relaunch(cba_error *err, cba_tcb_status *io_tdx,
                                     const cba_tcb_info *info, const cba_td_report *td,
                                     cba_tcb_status sgx, cba_tcb_status module,
                                     cba_tcb_status qe)
{
    const uint8_t *svn2 = td->tee_tcb_svn2;
    const cba_tcb_level *latest = &info->levels[0]; /* highest under Intel's ordering */
    bool advised;

    if (qe == CBA_TCB_OUT_OF_DATE || qe == CBA_TCB_REVOKED) { return CBA_OK; }
    if (sgx != CBA_TCB_UP_TO_DATE && sgx != CBA_TCB_SW_HARDENING_NEEDED &&
        sgx != CBA_TCB_CONFIGURATION_NEEDED &&
        sgx != CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED) {
        return CBA_OK;
    }
    if (*io_tdx != CBA_TCB_OUT_OF_DATE && *io_tdx != CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) {
        return CBA_OK;
    }
    if (module != CBA_TCB_OUT_OF_DATE) { return CBA_OK; }
    if (svn2[1] == 0) {
        advised = svn2[0] >= latest->tdx_svn[0] && svn2[2] >= latest->tdx_svn[2];
    } else {
        const cba_module_identity *mod2 = find_module(info, svn2[1]);
        const cba_module_level *top = NULL;
        CBA_ENSURE(mod2 != NULL, err, CBA_E_TDX_MODULE_MISMATCH, "tcb_info.tdxModuleIdentities",
                   "no module identity TDX_%02X for TEE_TCB_SVN_2[1]", svn2[1]);
        /* INTEL takes the identity's first level, which Intel publishes highest first; the
         * highest isvsvn is the order-independent equivalent. Parsing guarantees >= 1 level. */
        for (size_t i = 0; i < mod2->num_levels; i++) {
            if (top == NULL || mod2->levels[i].isvsvn > top->isvsvn) { top = &mod2->levels[i]; }
        }
        CBA_ENSURE(top != NULL, err, CBA_E_TCB_NOT_SUPPORTED, "tcb_info.tdxModuleIdentities",
                   "module identity TDX_%02X has no levels", svn2[1]);
        advised = svn2[0] >= top->isvsvn && svn2[2] >= latest->tdx_svn[2];
    }
    if (advised) {
        *io_tdx = (is_configuration_needed(sgx) || is_configuration_needed(*io_tdx))
                      ? CBA_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                      : CBA_TCB_TD_RELAUNCH_ADVISED;
    }
    return CBA_OK;
}

/* advisories_add appends the IDs of `from` not yet in `to` (first occurrence kept). */
CBA_MUST_USE static cba_err advisories_add(cba_error *err, cba_advisories *to,
                                           const cba_advisories *from)
{
    for (size_t i = 0; i < from->num; i++) {
        bool seen = false;
        for (size_t k = 0; k < to->num && !seen; k++) {
            seen = strcmp(to->ids[k], from->ids[i]) == 0;
        }
        if (seen) { continue; }
        CBA_ENSURE(to->num < CBA_ADVISORIES_PER_LEVEL, err, CBA_E_TCB_INFO_FORMAT,
                   "tcb.advisories", "more than %d distinct advisory IDs",
                   CBA_ADVISORIES_PER_LEVEL);
        memcpy(to->ids[to->num], from->ids[i], sizeof to->ids[0]);
        to->num++;
    }
    return CBA_OK;
}

/* level_matches_sgx: every PCK component SVN >= the level's, and PCESVN >= the level's. */
static bool level_matches_sgx(const cba_tcb_level *l, const cba_sgx_ext *pck)
{
    for (size_t i = 0; i < CBA_TCB_COMPONENTS; i++) {
        if (pck->comp_svn[i] < l->sgx_svn[i]) { return false; }
    }
    return pck->pcesvn >= l->pcesvn;
}

/* level_matches_tdx: TEE_TCB_SVN[i] >= the level's for i >= start. INTEL skips the module SVN
 * bytes 0 and 1 when TEE_TCB_SVN[1] > 0: the module is then judged by its own identity. */
static bool level_matches_tdx(const cba_tcb_level *l, const uint8_t tee_tcb_svn[16])
{
    size_t start = tee_tcb_svn[1] > 0 ? 2 : 0;
    for (size_t i = start; i < CBA_TCB_COMPONENTS; i++) {
        if (tee_tcb_svn[i] < l->tdx_svn[i]) { return false; }
    }
    return true;
}

static cba_err evaluate(cba_error *err, cba_tcb_result *out, const cba_tcb_info *info,
                        const cba_sgx_ext *pck, const cba_td_report *td, uint16_t body_type,
                        const cba_qe_level *qe_level)
{
    const cba_tcb_level *sgx_level = NULL, *tdx_level = NULL;
    const cba_module_level *module_level = NULL;
    cba_tcb_status module_status, status;

    CBA_ENSURE(info != NULL && pck != NULL && td != NULL && qe_level != NULL, err,
               CBA_E_ARGUMENT, "tcb", "missing input");
    /* levels are sorted descending by Intel's comparator (cba_tcb_info_parse), so the first
     * match is the highest level this platform reaches. */
    for (size_t i = 0; i < info->num_levels; i++) {
        const cba_tcb_level *l = &info->levels[i];
        if (!level_matches_sgx(l, pck)) { continue; }
        if (sgx_level == NULL) { sgx_level = l; }
        if (level_matches_tdx(l, td->tee_tcb_svn)) {
            tdx_level = l;
            break;
        }
    }
    CBA_ENSURE(sgx_level != NULL, err, CBA_E_TCB_NOT_SUPPORTED, "tcb_info.tcbLevels",
               "no TCB level matches the PCK's SGX component SVNs and PCESVN");
    CBA_ENSURE(tdx_level != NULL, err, CBA_E_TCB_NOT_SUPPORTED, "tcb_info.tcbLevels",
               "no TCB level matches TEE_TCB_SVN");
    CBA_TRY(cba_tdx_module_match(err, &module_status, &module_level, info, td));

    status = cba_tcb_converge(tdx_level->status, module_status);
    if (body_type == 3 && status != CBA_TCB_REVOKED) {
        CBA_TRY(relaunch(err, &status, info, td, sgx_level->status, module_status,
                         qe_level->status));
        out->relaunch_evaluated = true;
    }
    status = cba_tcb_converge(status, qe_level->status);

    CBA_TRY(advisories_add(err, &out->advisories, &tdx_level->advisories));
    if (module_level != NULL) {
        CBA_TRY(advisories_add(err, &out->advisories, &module_level->advisories));
    }
    CBA_TRY(advisories_add(err, &out->advisories, &qe_level->advisories));

    out->status = status;
    out->platform_status = tdx_level->status;
    out->sgx_status = sgx_level->status;
    out->module_status = module_status;
    out->qe_status = qe_level->status;
    out->tcb_date = tdx_level->tcb_date;
    return CBA_OK;
}

cba_err cba_tcb_evaluate(cba_error *err, cba_tcb_result *out, const cba_tcb_info *info,
                         const cba_sgx_ext *pck, const cba_td_report *td, uint16_t body_type,
                         const cba_qe_level *qe_level)
{
    cba_err rc;
    memset(out, 0, sizeof *out);
    rc = evaluate(err, out, info, pck, td, body_type, qe_level);
    if (rc != CBA_OK) { memset(out, 0, sizeof *out); } /* nothing partial on failure */
    return rc;
}
