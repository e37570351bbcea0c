/* collateral.h — DCAP collateral in dcap-qvl's QuoteCollateralV3 JSON (dcap-spec §3.1), TDX TCB
 * info v3 (§3.2) and TD_QE identity v2 (§3.3). Parsing only: signatures, chains and dates are
 * checked by dcap.c, and the TCB info / QE identity texts are parsed only after their
 * signatures verified (authenticate before interpreting). */
#ifndef CBA_COLLATERAL_H
#define CBA_COLLATERAL_H

#include "cbs.h"
#include "internal.h"

/* Size caps (untrusted lengths never size an allocation directly). Real collateral is ~16 KB;
 * a TDX TCB info has ~10 levels. */
#define CBA_COLLATERAL_MAX_LEN (4u << 20)     /* the whole QuoteCollateralV3 JSON text */
#define CBA_COLLATERAL_MEMBER_MAX (256u << 10) /* each member string, before decoding */
#define CBA_TCB_MAX_LEVELS 256                /* tcbLevels of a TCB info */
#define CBA_TCB_MAX_MODULES 32                /* tdxModuleIdentities */
#define CBA_MODULE_MAX_LEVELS 64              /* tcbLevels of one module identity */
#define CBA_QE_MAX_LEVELS 64                  /* tcbLevels of the QE identity */

/* The raw collateral: every member owned by this struct (heap), freed by
 * cba_collateral_raw_cleanup. Texts keep their exact bytes (the signed bytes). */
typedef struct cba_collateral_raw {
    uint8_t *pck_crl_issuer_chain; size_t pck_crl_issuer_chain_len;         /* PEM text */
    uint8_t *root_ca_crl; size_t root_ca_crl_len;                           /* DER (hex-decoded) */
    uint8_t *pck_crl; size_t pck_crl_len;                                   /* DER (hex-decoded) */
    uint8_t *tcb_info_issuer_chain; size_t tcb_info_issuer_chain_len;       /* PEM text */
    uint8_t *tcb_info; size_t tcb_info_len;                                 /* exact JSON text */
    uint8_t tcb_info_signature[64];                                         /* r||s */
    uint8_t *qe_identity_issuer_chain; size_t qe_identity_issuer_chain_len; /* PEM text */
    uint8_t *qe_identity; size_t qe_identity_len;                           /* exact JSON text */
    uint8_t qe_identity_signature[64];
    uint8_t *pck_certificate_chain; size_t pck_certificate_chain_len; /* optional PEM; 0: absent */
} cba_collateral_raw;

/* cba_collateral_raw_parse parses the QuoteCollateralV3 JSON strictly (json.h rules): the nine
 * required string members, optional pck_certificate_chain, unknown members rejected; hex decoded
 * with exact even length; signatures exactly 64 bytes; a CRL given as hex of DER (QVL-RS) — PEM
 * CRL text also accepted and decoded. Error: CBA_E_COLLATERAL_FORMAT, where "collateral.<key>".
 * On failure out is cleaned up. */
CBA_MUST_USE cba_err cba_collateral_raw_parse(cba_error *err, cba_collateral_raw *out, cbs json);
void cba_collateral_raw_cleanup(cba_collateral_raw *raw); /* NULL-safe, wipes */

#define CBA_TCB_COMPONENTS 16
#define CBA_ADVISORIES_PER_LEVEL 32

typedef struct cba_advisories {
    size_t num;
    char ids[CBA_ADVISORIES_PER_LEVEL][CBA_ADVISORY_ID_MAX]; /* NUL-terminated, validated ASCII */
} cba_advisories;

typedef struct cba_tcb_level {
    uint8_t sgx_svn[CBA_TCB_COMPONENTS];
    uint16_t pcesvn;
    uint8_t tdx_svn[CBA_TCB_COMPONENTS];
    int64_t tcb_date;
    cba_tcb_status status;
    cba_advisories advisories;
} cba_tcb_level;

typedef struct cba_module_level {
    uint8_t isvsvn;
    int64_t tcb_date;
    cba_tcb_status status; /* UpToDate, OutOfDate or Revoked */
    cba_advisories advisories;
} cba_module_level;

typedef struct cba_module_identity {
    uint8_t version;        /* xx of "TDX_xx" (hex, case-insensitive) */
    uint8_t mrsigner[48];
    uint64_t attributes, attributes_mask; /* hex as bytes, read little-endian like the quote */
    size_t num_levels;
    cba_module_level *levels; /* heap */
} cba_module_identity;

typedef struct cba_tcb_info {
    uint32_t version;       /* 3 */
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint32_t tcb_type;      /* 0 */
    uint32_t tcb_evaluation_data_number;
    uint8_t module_mrsigner[48];
    uint64_t module_attributes, module_attributes_mask;
    size_t num_levels;
    cba_tcb_level *levels;  /* heap, sorted descending by Intel's comparator, no duplicates */
    size_t num_modules;
    cba_module_identity *modules; /* heap */
} cba_tcb_info;

/* cba_tcb_info_parse parses the (already authenticated) tcbInfo text per §3.2: id "TDX",
 * version 3, tcbType 0, strict dates (issueDate <= nextUpdate), exact hex lengths (either case),
 * integers only as JSON integers, exactly 16+16 components, SVN ranges, statuses from the closed
 * set (the seven TCB info statuses; module levels UpToDate/OutOfDate/Revoked), advisoryIDs of
 * 1..CBA_ADVISORY_ID_MAX-1 printable non-space ASCII characters (at most
 * CBA_ADVISORIES_PER_LEVEL), module ids "TDX_xx" case-insensitive and unique, module isvsvns
 * unique per identity, levels sorted (Intel comparator) and duplicates rejected. Unknown members
 * are ignored. Error: CBA_E_TCB_INFO_FORMAT (CBA_E_NOMEM). On failure out is cleaned up. */
CBA_MUST_USE cba_err cba_tcb_info_parse(cba_error *err, cba_tcb_info *out, cbs json);
void cba_tcb_info_cleanup(cba_tcb_info *info); /* NULL-safe */

typedef struct cba_qe_level {
    uint16_t isvsvn;
    int64_t tcb_date;
    cba_tcb_status status; /* UpToDate, OutOfDate or Revoked */
    cba_advisories advisories;
} cba_qe_level;

typedef struct cba_qe_identity {
    uint32_t version; /* 2 */
    int64_t issue_date, next_update;
    uint32_t tcb_evaluation_data_number;
    uint32_t miscselect, miscselect_mask; /* hex "AABBCCDD" = bytes AA BB CC DD, read LE */
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    size_t num_levels;
    cba_qe_level *levels; /* heap, JSON order */
} cba_qe_identity;

/* cba_qe_identity_parse parses the (authenticated) enclaveIdentity text per §3.3: id "TD_QE",
 * version 2, strict dates, hex lengths 8/8/32/32/64, isvprodid u16, tcbLevels non-empty with
 * distinct isvsvn (u16) and statuses UpToDate/OutOfDate/Revoked, advisoryIDs as for TCB info.
 * Error: CBA_E_QE_IDENTITY_FORMAT (CBA_E_NOMEM). On failure out is cleaned up. */
CBA_MUST_USE cba_err cba_qe_identity_parse(cba_error *err, cba_qe_identity *out, cbs json);
void cba_qe_identity_cleanup(cba_qe_identity *id); /* NULL-safe */

#endif
