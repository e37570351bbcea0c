/* tcb.h — TCB evaluation (dcap-spec §4.2–§4.6): QE identity policy, TDX module identity,
 * platform level selection with Intel's ordering, status convergence, advisory union. Inputs
 * are authenticated and parsed; nothing here reads a clock. */
#ifndef CBA_TCB_H
#define CBA_TCB_H

#include "collateral.h"
#include "quote.h"
#include "x509.h"

typedef struct cba_tcb_result {
    cba_tcb_status status;          /* converged */
    cba_tcb_status platform_status; /* matched tdxLevel */
    cba_tcb_status module_status;
    cba_tcb_status qe_status;
    cba_advisories advisories;      /* ordered union, first occurrence kept */
    cba_tcb_status sgx_status;      /* matched sgxLevel (used by the TD 1.5 relaunch rule) */
    int64_t tcb_date;               /* tcbDate of the matched tdxLevel */
    bool relaunch_evaluated;        /* body type 3 and the §4.5 relaunch rule ran */
} cba_tcb_result;

/* cba_qe_identity_match checks the QE report against the identity (§4.4): MRSIGNER, ISVPRODID,
 * (MISCSELECT & mask) == expected, bytewise (ATTRIBUTES & mask) == expected, QE not DEBUG, then
 * picks the QE TCB level (largest isvsvn <= ISVSVN). Errors: CBA_E_QE_IDENTITY_MISMATCH,
 * CBA_E_TCB_NOT_SUPPORTED. On success *out_level points into id. */
CBA_MUST_USE cba_err cba_qe_identity_match(cba_error *err, const cba_qe_level **out_level,
                                           const cba_qe_identity *id, const cba_qe_report *qe);

/* cba_tdx_module_match checks MRSIGNERSEAM / SEAMATTRIBUTES against tdxModule or the matching
 * tdxModuleIdentities entry and picks the module level (§4.3). *out_status is UpToDate when
 * TEE_TCB_SVN[1] == 0. Errors: CBA_E_TDX_MODULE_MISMATCH, CBA_E_TCB_NOT_SUPPORTED. */
CBA_MUST_USE cba_err cba_tdx_module_match(cba_error *err, cba_tcb_status *out_status,
                                          const cba_module_level **out_level,
                                          const cba_tcb_info *info, const cba_td_report *td);

/* cba_tcb_evaluate runs §4.2 (platform level from the PCK SVNs and TEE_TCB_SVN), the module
 * step, convergence with the module and QE statuses (§4.5, Intel table; TD 1.5 relaunch when
 * body_type == 3) and the advisory union (§4.6). qe_level is the level cba_qe_identity_match
 * picked (required). Errors: CBA_E_TCB_NOT_SUPPORTED, CBA_E_TDX_MODULE_MISMATCH (also when the
 * relaunch rule needs the identity of TEE_TCB_SVN_2[1] and it is missing, as INTEL does),
 * CBA_E_TCB_INFO_FORMAT (more than CBA_ADVISORIES_PER_LEVEL distinct advisory IDs: never
 * truncated, since a dropped ID could slip past an allow-list), CBA_E_ARGUMENT. On failure *out
 * is zeroed. */
CBA_MUST_USE cba_err cba_tcb_evaluate(cba_error *err, cba_tcb_result *out,
                                      const cba_tcb_info *info, const cba_sgx_ext *pck,
                                      const cba_td_report *td, uint16_t body_type,
                                      const cba_qe_level *qe_level);

/* cba_tcb_info_match_pck checks §4.1 step 13: TCB info FMSPC == PCK FMSPC and pceId == PCK
 * PCE-ID (6 and 2 bytes). Error: CBA_E_TCB_INFO_MISMATCH. */
CBA_MUST_USE cba_err cba_tcb_info_match_pck(cba_error *err, const cba_tcb_info *info,
                                            const cba_sgx_ext *pck);

/* cba_tcb_converge is Intel's convergeTcbStatusWith{TdxModule,Qe}Status table. */
cba_tcb_status cba_tcb_converge(cba_tcb_status level, cba_tcb_status other);

#endif
