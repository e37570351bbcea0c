/* verify_private.h — what the three parts of the verification share, private to them:
 * verify.c (the individual checks and their order, cba_steps), verify_collateral.c (trust anchor,
 * certificate profiles, collateral verified once) and verify_pipeline.c (running the steps,
 * building the report, the public entry points). Nothing outside verify*.c includes it. */
#ifndef CBA_VERIFY_PRIVATE_H
#define CBA_VERIFY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collateral.h"
#include "crypto.h"
#include "dstack.h"
#include "internal.h"
#include "quote.h"
#include "tcb.h"
#include "x509.h"

#define TD_ATTR_DEBUG (1ull << 0)
#define TD_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define TD_ATTR_PKS (1ull << 30)
#define TD_ATTR_PERFMON (1ull << 63)

#define CN_ROOT "Intel SGX Root CA"
#define CN_PLATFORM_CA "Intel SGX PCK Platform CA"
#define CN_PROCESSOR_CA "Intel SGX PCK Processor CA"
#define CN_PCK_LEAF "Intel SGX PCK Certificate"
#define CN_TCB_SIGNING "Intel SGX TCB Signing"

/* CBA_ENSURE_SIG is CBA_ENSURE for a cba_crypto_rc: out of memory is CBA_E_NOMEM, never the
 * check's own code (a forged signature and a failed allocation must not look alike). */
#define CBA_ENSURE_SIG(call, err, code, where, ...)                                              \
    do {                                                                                         \
        cba_crypto_rc sig_rc_ = (call);                                                          \
        CBA_ENSURE(sig_rc_ != CBA_CRYPTO_NOMEM, err, CBA_E_NOMEM, where,                         \
                   "out of memory verifying a signature");                                       \
        CBA_ENSURE(sig_rc_ == CBA_CRYPTO_OK, err, code, where, __VA_ARGS__);                     \
    } while (0)

typedef struct anchor {
    cbs der;
    cba_cert cert;
} anchor;

typedef struct signing_chain {
    cba_pem_chain pem;
    cba_cert leaf;
} signing_chain;

struct cba_collateral {
    uint8_t root_der[2048]; /* the anchor this collateral was verified against */
    size_t root_der_len;
    anchor root;            /* root_der parsed and profile-checked (views into root_der) */
    cba_collateral_raw raw;
    uint8_t *der_buf[3];      /* DER of the three chains (heap; [1] stays NULL when the QE
                               * identity chain is the TCB info chain's text and shares [0]) */
    signing_chain tcb_chain, qe_chain;
    cba_pem_chain pck_crl_chain;
    cba_cert pck_crl_ca;      /* pck_crl_issuer_chain[0], verified by the root */
    cba_crl root_crl, pck_crl; /* both signatures verified */
    cba_tcb_info tcb_info;
    cba_qe_identity qe_identity;
    int64_t expires;          /* earliest end of any validity window */
};

typedef struct verify_ctx {
    cba_report *r;
    const cba_policy *policy;
    const cba_collateral *coll;
    const cba_evidence *ev;
    int64_t now;
    cba_error e;
    anchor root;
    cba_info *info;
    cbs quote_bytes;
    cba_quote quote;
    cba_pem_chain pck_pem;
    uint8_t *pck_der;          /* DER of the quote's PCK chain (heap) */
    cba_cert leaf, inter;
    cba_sgx_ext sgx;
    const cba_qe_level *qe_level;
    cba_dstack_ids ids;
    uint8_t (*digests)[48];
    bool dcap_missing;
    bool info_quote_replaced;  /* the response's own quote (and its RA-TLS binding) is unused */
    const char *skip_reason;   /* a step that found nothing to check sets this and returns OK */
    char skip_buf[160];        /* storage for a skip_reason built at run time */
    bool load_collateral;      /* authenticate evidence->collateral_json after quote_parse */
    bool recheck_collateral;   /* re-apply the given collateral's time bounds after quote_parse */
    cba_collateral *owned_coll;
} verify_ctx;

typedef struct cba_step {
    cba_check check;
    cba_err (*run)(verify_ctx *v);
    bool dcap;   /* skipped by policy->skip_dcap */
    bool dstack; /* needs a guest agent response */
    const char *pass_detail;
} cba_step;

/* ---- verify_collateral.c ------------------------------------------------------------------- */

/* cba_decode_chain decodes a PEM chain into a new buffer *out_buf (the caller frees it, also on
 * failure); a block byte-identical to one of the num_known chains takes its DER
 * (cba_pem_chain_decode_known: those chains must outlive *chain). */
CBA_MUST_USE cba_err cba_decode_chain(cba_error *err, cba_pem_chain *chain, uint8_t **out_buf, cbs pem,
                                      const cba_pem_chain *const *known, size_t num_known,
                                      const char *what);

/* cba_sig_ok verifies an ECDSA-P256-SHA256 signature over the views (policy->one_shot applies). */
CBA_MUST_USE cba_crypto_rc cba_sig_ok(const cba_policy *policy, const uint8_t pub_xy[64], const cbs *parts,
                                      size_t num_parts, const uint8_t sig_rs[64]);

/* cba_window_fail records `what` outside its validity window [from, to] at `now`; returns code. */
cba_err cba_window_fail(cba_error *err, cba_err code, const char *where, const char *what, int64_t from,
                        int64_t to, int64_t now);

/* cba_anchor_load parses the policy's trust root (or Intel's) and checks its profile at `now`. */
CBA_MUST_USE cba_err cba_anchor_load(cba_error *err, anchor *out, const cba_policy *policy, int64_t now);
/* cba_anchor_load_for is cba_anchor_load for a verification that uses collateral c (may be NULL):
 * when the policy's trust root is byte-identical to the one c was verified against, c's parsed
 * anchor is reused and only its validity at `now` is checked again (same errors). */
CBA_MUST_USE cba_err cba_anchor_load_for(cba_error *err, anchor *out, const cba_policy *policy, int64_t now,
                                         const cba_collateral *c);

/* cba_cert_valid_at says whether now lies in c's validity window. */
bool cba_cert_valid_at(const cba_cert *c, int64_t now);

/* cba_check_issued_by: DN chaining, signature, validity. `what` names the cert in errors. */
CBA_MUST_USE cba_err cba_check_issued_by(cba_error *err, const cba_policy *policy, const cba_cert *c,
                                         const cba_cert *issuer, int64_t now, const char *what);

/* cba_check_ca_profile: a CA that may sign certificates and CRLs, path length within bounds. */
CBA_MUST_USE cba_err cba_check_ca_profile(cba_error *err, const cba_cert *c, int max_path_len,
                                          const char *what);

/* cba_check_leaf_profile: an end entity named cn that may make digital signatures. */
CBA_MUST_USE cba_err cba_check_leaf_profile(cba_error *err, const cba_cert *c, const char *cn,
                                            const char *what);

/* cba_crl_check_time fails unless now lies in [thisUpdate, nextUpdate] of crl. */
CBA_MUST_USE cba_err cba_crl_check_time(cba_error *err, const cba_crl *crl, int64_t now, const char *what);

/* cba_check_tcb_info_time: the TCB info's window, evaluation number and age under the policy. */
CBA_MUST_USE cba_err cba_check_tcb_info_time(cba_error *err, const cba_tcb_info *t, const cba_policy *policy,
                                             int64_t now);

/* cba_check_qe_identity_time: the QE identity's validity window. */
CBA_MUST_USE cba_err cba_check_qe_identity_time(cba_error *err, const cba_qe_identity *q, int64_t now);

/* cba_collateral_verify_impl authenticates the collateral JSON into a new *out (NULL on failure)
 * and records the crl, tcb_info and qe_identity checks in report (a full-size report). */
CBA_MUST_USE cba_err cba_collateral_verify_impl(cba_collateral **out, cba_report *report,
                                                const cba_policy *policy, const uint8_t *json,
                                                size_t json_len, int64_t now);

/* ---- verify_pipeline.c: the report ------------------------------------------------------------ */

/* cba_report_reset makes r an empty rejected report with no failed check yet. */
void cba_report_reset(cba_report *r);

/* cba_report_set_check sets one check's status and detail (copied, truncated to fit). */
void cba_report_set_check(cba_report *r, cba_check check, cba_check_status st, const char *detail);

/* cba_report_check records one check's outcome; a failure becomes the report's failure. */
cba_err cba_report_check(cba_report *r, cba_check check, cba_err rc, const cba_error *e,
                         const char *pass_detail);

/* ---- verify.c: the checks, in order ------------------------------------------------------------ */

/* cba_steps: one step per check, in the order they run (CBA_CHECK_COUNT entries). */
extern const cba_step cba_steps[];

#endif
