/* mkevidence.h — test PKI and evidence generator (TEST ONLY).
 *
 * Makes, from fixed seeds, everything a real Intel TDX + dstack attestation consists of — a TDX
 * quote v4/v5, the PCK chain, both CRLs, the TCB signing chain, TCB info v3, TD_QE identity v2,
 * the dcap-qvl QuoteCollateralV3 JSON and a dstack guest-agent response — signed by our own test
 * root CA ("Crabbox Test SGX Root CA") that stands in for Intel's. The verifier trusts that root
 * only through cba_policy.trust_root_der.
 *
 *     mke_options o;  mke_options_init(&o);       valid evidence, UpToDate at MKE_DEFAULT_NOW
 *     o.quote.td_attributes |= 1;                 any knob: here a debug TD
 *     mke_evidence ev;
 *     if (!mke_generate(&ev, &o)) { puts(ev.error); }
 *     ... ev.quote, ev.collateral_json, ev.root_der, ev.info_json ...
 *     mke_evidence_free(&ev);
 *
 * Keys: private scalar = SHA-256("crabbox-test:" || key name) mod n. Signatures use RFC 6979
 * style deterministic nonces, so equal options give byte-identical evidence. A "bad signature"
 * knob signs a different digest, so the signature is well-formed but does not verify.
 * Times are Unix seconds. The generator never checks that a knob makes sense: it writes what it
 * is told (that is its purpose). */
#ifndef CRABBOX_MKEVIDENCE_H
#define CRABBOX_MKEVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MKE_DEFAULT_NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define MKE_RUNTIME_EVENT_TYPE 0x08000001u  /* dstack runtime event (RTMR3) */
#define MKE_AUTO (-1)                       /* "compute the right value" for int overrides */

#define MKE_MAX_TCB_LEVELS 8
#define MKE_MAX_MODULES 4
#define MKE_MAX_MODULE_LEVELS 4
#define MKE_MAX_QE_LEVELS 4
#define MKE_MAX_EVENTS 8

/* Key usage bits, as cba_cert.key_usage counts them (bit 0 = digitalSignature). */
#define MKE_KU_DIGITAL_SIGNATURE 0x0001u
#define MKE_KU_NON_REPUDIATION 0x0002u
#define MKE_KU_KEY_CERT_SIGN 0x0020u
#define MKE_KU_CRL_SIGN 0x0040u

typedef enum mke_ca_kind { MKE_CA_PLATFORM = 0, MKE_CA_PROCESSOR = 1 } mke_ca_kind;

/* Shape of tcb_info_issuer_chain / qe_identity_issuer_chain. */
typedef enum mke_chain_shape {
    MKE_CHAIN_NORMAL = 0,   /* [TCB Signing, root] */
    MKE_CHAIN_LEAF_ONLY,    /* [TCB Signing] */
    MKE_CHAIN_PCK_LEAF,     /* [PCK leaf, PCK CA, root]: the signer replaced by a PCK leaf, which
                               also signs the text */
    MKE_CHAIN_PCK_LEAF_ROOT, /* [PCK leaf, root] (the leaf signs the text) */
    MKE_CHAIN_EXTRA_ROOT    /* [TCB Signing, root, root] */
} mke_chain_shape;

typedef enum mke_info_format {
    MKE_INFO_NONE = 0,  /* no guest-agent response (ev.info_json NULL) */
    MKE_INFO_TAPPD,     /* legacy Tappd.Info: app_cert (quote inside) + tcb_info string */
    MKE_INFO_DSTACK,    /* dstack >= 0.5 Info: Tappd fields + vm_config, mr_aggregated, ... */
    MKE_INFO_GETQUOTE   /* GetQuote: quote hex + event_log string + report_data + vm_config */
} mke_info_format;

typedef enum mke_mrconfig {
    MKE_MRCONFIG_V1 = 0, /* 01 || compose_hash || 15 zeros (real Phala captures) */
    MKE_MRCONFIG_ZERO,   /* all zero (older dstack) */
    MKE_MRCONFIG_V2,     /* 02 || Keccak-256(compose_hash || app_id || kind || id) || zeros */
    MKE_MRCONFIG_RAW     /* quote.mrconfigid as given */
} mke_mrconfig;

typedef enum mke_event_log_at {
    MKE_ELOG_TCB_INFO = 0, /* tcb_info.event_log (Info) */
    MKE_ELOG_CERT,         /* only the app cert's 1.3.6.1.4.1.62397.1.2 extension */
    MKE_ELOG_BOTH
} mke_event_log_at;

/* ---- Certificates ------------------------------------------------------------------------- */
typedef struct mke_cert_opts {
    int64_t not_before, not_after;
    uint8_t serial[21];   /* INTEGER magnitude (big-endian); serial_len 0 = derived from the
                             role, e.g. "pck-leaf" (20 bytes, positive) */
    size_t serial_len;
    const char *cn;       /* subject CN; NULL = the role's CN (e.g. "Intel SGX TCB Signing") */
    const char *key_name; /* subject key; NULL = the role's key */
    bool is_ca;
    int path_len;         /* -1 = absent */
    bool omit_basic_constraints;
    uint16_t key_usage;   /* MKE_KU_* */
    bool omit_key_usage;
    bool bad_signature;   /* issuer signs another digest */
    bool unknown_critical_ext; /* adds a critical extension no verifier knows
                                  (1.3.6.1.4.1.62397.99.1, empty SEQUENCE): must be rejected */
} mke_cert_opts;

typedef struct mke_pck_opts {
    mke_cert_opts cert;     /* the leaf ("Intel SGX PCK Certificate") */
    mke_ca_kind ca;         /* issuing CA: Platform (default) or Processor */
    uint8_t ppid[16];
    int comp_svn[16];       /* TCB .2.1-.2.16 (int: 256 and -1 can be written) */
    int pcesvn;             /* .2.17 */
    bool has_cpusvn;        /* false: CPUSVN .2.18 = the 16 component SVNs as bytes */
    uint8_t cpusvn[16];
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    int sgx_type;           /* 0 Standard, 1 Scalable, 2 ScalableWithIntegrity */
    int platform_members;   /* .6 PlatformInstanceID + .7 Configuration: MKE_AUTO (= only under
                               the Platform CA), 0 or 1 */
    int omit_member;        /* 0 none, else top-level member 1..7 left out */
    int duplicate_member;   /* 0 none, else top-level member 1..7 written twice */
    bool unknown_member;    /* adds member 1.2.840.113741.1.13.1.99 (tolerated) */
    int omit_tcb_entry;     /* 0 none, else TCB entry 1..18 left out */
    int duplicate_tcb_entry;
    bool ext_twice;         /* the whole SGX extension twice in the certificate */
    bool omit_ext;          /* no SGX extension */
    const uint8_t *ext_raw; /* replaces the extnValue contents when non-NULL */
    size_t ext_raw_len;
} mke_pck_opts;

/* ---- CRLs --------------------------------------------------------------------------------- */
typedef struct mke_crl_opts {
    int64_t this_update, next_update;
    bool bad_signature;
    bool omit_crl_number;
    bool omit_aki;
    size_t num_filler;      /* unrelated revoked serials (real PCK CRLs list ~50) */
    bool unknown_critical_ext; /* adds a critical CRL extension no verifier knows */
} mke_crl_opts;

/* ---- TCB info / QE identity ----------------------------------------------------------------- */
typedef struct mke_tcb_level {
    int sgx_svn[17];        /* sgxtcbcomponents[].svn */
    int num_sgx;            /* components written: 0 = 16; 1..17 */
    int pcesvn;
    int tdx_svn[17];
    int num_tdx;            /* 0 = 16 */
    int64_t tcb_date;
    const char *status;     /* written verbatim; NULL = "UpToDate" */
    const char *advisories; /* NULL = no advisoryIDs member, "" = [], else "ID1,ID2" */
} mke_tcb_level;

typedef struct mke_module_level {
    int isvsvn;
    int64_t tcb_date;
    const char *status;     /* NULL = "UpToDate" */
    const char *advisories;
} mke_module_level;

typedef struct mke_module_identity {
    const char *id;         /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8], attributes_mask[8]; /* hex byte order */
    size_t num_levels;
    mke_module_level levels[MKE_MAX_MODULE_LEVELS];
} mke_module_identity;

typedef struct mke_tcb_info_opts {
    const char *id;         /* "TDX" */
    int version;            /* 3 */
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    bool fmspc_lowercase;   /* hex case of fmspc and pceId */
    uint8_t pce_id[2];
    int tcb_type;           /* 0 */
    int64_t tcb_evaluation_data_number;
    bool omit_tdx_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8], module_attributes_mask[8];
    bool omit_module_identities;
    size_t num_modules;
    mke_module_identity modules[MKE_MAX_MODULES];
    size_t num_levels;
    mke_tcb_level levels[MKE_MAX_TCB_LEVELS];
    const char *extra;      /* raw JSON inserted before the final '}', e.g. ",\"x\":1" */
    const char *text;       /* replaces the whole generated text (still signed) */
    bool tamper;            /* change one byte of the text after signing */
    bool bad_signature;
} mke_tcb_info_opts;

typedef struct mke_qe_level {
    int isvsvn;
    int64_t tcb_date;
    const char *status;     /* NULL = "UpToDate" */
    const char *advisories;
} mke_qe_level;

typedef struct mke_qe_identity_opts {
    const char *id;         /* "TD_QE" */
    int version;            /* 2 */
    int64_t issue_date, next_update;
    int64_t tcb_evaluation_data_number;
    uint32_t miscselect, miscselect_mask; /* written as the report's LE bytes in hex */
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    int isvprodid;
    size_t num_levels;
    mke_qe_level levels[MKE_MAX_QE_LEVELS];
    const char *extra;
    const char *text;
    bool tamper;
    bool bad_signature;
} mke_qe_identity_opts;

/* ---- Quote -------------------------------------------------------------------------------- */
typedef struct mke_qe_report_opts {   /* the SGX REPORTBODY of the QE */
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
} mke_qe_report_opts;

typedef struct mke_quote_opts {
    uint16_t version;       /* 4 or 5 */
    uint16_t body_type;     /* v5 only: 2 (TD 1.0) or 3 (TD 1.5) */
    int64_t body_size;      /* v5 descriptor; MKE_AUTO = 584/648 */
    uint16_t att_key_type;  /* 2 */
    uint32_t tee_type;      /* 0x81 */
    uint16_t qe_svn, pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];

    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t seam_attributes;
    uint64_t td_attributes;
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48]; /* used when info.mrconfig == MKE_MRCONFIG_RAW */
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    bool has_rtmr[4];       /* false: RTMRn replayed from the generated event log */
    uint8_t rtmr[4][48];
    bool has_report_data;   /* false: RA-TLS binding of the app cert (Info formats) or a fixed
                               pattern */
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16];  /* TD 1.5 */
    uint8_t mrservicetd[48];   /* TD 1.5 */

    mke_qe_report_opts qe;
    size_t qe_auth_data_len;   /* bytes 00 01 02 ... (real dstack: 32) */
    const char *attest_key_name;
    bool attest_key_off_curve; /* attestation key Y flipped: not a P-256 point */

    bool corrupt_quote_signature;
    bool corrupt_qe_report_signature;
    bool corrupt_qe_report_data_lower; /* REPORTDATA[0] flipped */
    bool corrupt_qe_report_data_upper; /* REPORTDATA[63] = 1 */

    uint16_t outer_cert_type;  /* 6 */
    uint16_t inner_cert_type;  /* 5 */
    int64_t sig_data_len;      /* MKE_AUTO or the value written */
    int64_t outer_cert_size;   /* S; MKE_AUTO = sig_data_len - 134 */
    int64_t inner_cert_size;   /* m; MKE_AUTO = PEM length */
    bool pem_trailing_nul;     /* one NUL after the PEM chain (dstack/Phala quotes) */
    const char *pem_extra;     /* text appended to the PEM chain (inside m) */
    bool pem_omit_root;        /* chain = leaf + CA only */
    size_t cert_data_slack;    /* zero bytes after the PEM inside the type-6 data (counted in S
                                  and sig_data_len, not in m): "inner slack" */
    size_t trailing_zeros;     /* zero bytes after the signature data */
    const char *trailing_garbage; /* bytes appended after them (non-zero trailing data) */
    size_t truncate_to;        /* 0 = no; else cut the quote to this many bytes */
} mke_quote_opts;

/* ---- dstack guest agent ------------------------------------------------------------------- */
typedef struct mke_event {
    uint32_t imr;              /* 0..3 */
    uint32_t event_type;       /* MKE_RUNTIME_EVENT_TYPE for runtime events */
    const char *name;          /* NULL = "" */
    const uint8_t *payload;
    size_t payload_len;
} mke_event;

typedef struct mke_info_opts {
    mke_info_format format;
    uint8_t app_id[20];
    const char *app_compose;   /* exact app-compose.json text (its SHA-256 = compose hash) */
    uint8_t instance_id[20];
    bool empty_instance_id;    /* instance-id event payload empty, claim "" */
    const char *key_provider;  /* key-provider event payload; NULL = no such event */
    bool kms_events;           /* mr-kms + os-image-hash events (KMS mode) */
    uint8_t mr_kms[32];
    uint8_t os_image_hash[32];
    mke_mrconfig mrconfig;
    int event_version;         /* 1 or 2 (V2 adds the JCS preimage) */
    bool strip_runtime_digests;/* runtime digests written as "" */
    const char *tamper_event;  /* runtime event (first of that name) whose digest is flipped */
    const char *tamper_preimage; /* V2 runtime event whose supplied preimage is altered */
    const char *omit_event;    /* standard runtime event left out (e.g. "compose-hash") */
    bool omit_system_ready;
    size_t num_extra_events;   /* written before system-ready */
    mke_event extra_events[MKE_MAX_EVENTS];
    size_t num_post_ready_events; /* written after system-ready (app-controlled) */
    mke_event post_ready_events[MKE_MAX_EVENTS];
    mke_event_log_at event_log_at;
    bool hide_tcb_info;        /* tcb_info "" (public_tcbinfo=false) */
    /* Flip one claim: "mrtd", "rtmr0".."rtmr3", "compose_hash" (top level),
     * "tcb_info.compose_hash", "app_id", "app_compose" (text changed, hash not). */
    const char *tamper_claim;
} mke_info_opts;

/* ---- Everything ----------------------------------------------------------------------------- */
typedef struct mke_options {
    mke_cert_opts root;        /* self-signed test root */
    mke_cert_opts pck_ca;      /* the CA that issues the PCK leaf */
    mke_pck_opts pck;
    mke_cert_opts tcb_signer;  /* signs the TCB info (and the QE identity unless separate) */
    mke_chain_shape tcb_chain, qe_chain;
    bool qe_signer_separate;   /* QE identity signed by a second "Intel SGX TCB Signing" cert */
    mke_cert_opts qe_signer;   /* that cert (key "qe-signer" unless key_name is set) */

    mke_crl_opts root_crl;
    bool root_crl_revoke_pck_ca, root_crl_revoke_tcb_signer, root_crl_revoke_root;
    bool root_crl_revoke_qe_signer; /* with qe_signer_separate */
    mke_crl_opts pck_crl;
    bool pck_crl_revoke_leaf;
    bool pck_crl_other_ca;     /* CRL (and its issuer chain) from the other PCK CA */

    mke_tcb_info_opts tcb_info;
    mke_qe_identity_opts qe_identity;
    bool include_pck_certificate_chain; /* optional collateral member (= the quote's chain) */
    const char *collateral_extra;       /* raw members appended to the collateral object,
                                           e.g. "\"x\": 1" (no leading comma) */

    mke_quote_opts quote;
    mke_info_opts info;
} mke_options;

/* A heap buffer; text buffers are also NUL-terminated (not counted in len). */
typedef struct mke_blob {
    uint8_t *data;
    size_t len;
} mke_blob;

typedef struct mke_evidence {
    mke_blob quote;            /* raw quote bytes */
    mke_blob collateral_json;  /* QuoteCollateralV3 JSON */
    mke_blob root_der;         /* the test root: give it to policy.trust_root_der */
    mke_blob info_json;        /* guest-agent response; empty when info.format is NONE */

    /* Pieces, for parser tests. */
    mke_blob pck_leaf_der, pck_ca_der, other_ca_der, tcb_signer_der;
    mke_blob qe_signer_der;           /* only with qe_signer_separate */
    mke_blob root_crl_der, pck_crl_der;
    mke_blob tcb_info, qe_identity;   /* the signed texts (after tamper, as published) */
    mke_blob pck_chain_pem;           /* leaf, CA, root PEM (the quote's chain before the
                                         pem_* knobs; pck_certificate_chain uses it) */
    mke_blob app_cert_der;            /* RA-TLS leaf (Info formats) */

    /* Derived values. */
    uint8_t compose_hash[32];
    uint8_t app_id[20];
    uint8_t rtmr[4][48];       /* as written into the quote */
    uint8_t mrconfigid[48];
    uint8_t report_data[64];
    uint8_t attest_key_xy[64];
    size_t num_events;

    char error[160];           /* why mke_generate failed */
} mke_evidence;

/* mke_options_init fills *o with valid evidence options: a v4 TD 1.0 quote (TEE_TCB_SVN 06 01 03,
 * TDX module TDX_01) under the Platform CA, FMSPC B0C06F000000, CRLs and collateral valid
 * around MKE_DEFAULT_NOW, a dstack Info response (MKE_INFO_DSTACK, KMS mode, MRCONFIGID V1),
 * so that cba_verify with trust_root_der = ev.root_der says VERIFIED / UpToDate then. */
void mke_options_init(mke_options *o);

/* mke_options_init_at is mke_options_init with the CRLs and collateral moved so that they are
 * valid at `now` (Unix seconds): for programs that verify against the real clock. */
void mke_options_init_at(mke_options *o, int64_t now);

/* mke_generate builds the evidence. Returns false (with out->error set and every blob NULL) on
 * allocation or crypto failure or an impossible option (unknown key, tamper_claim, > limits).
 * On success out owns its buffers: release them with mke_evidence_free. */
__attribute__((warn_unused_result)) bool mke_generate(mke_evidence *out, const mke_options *o);

/* mke_evidence_free wipes and frees; NULL-safe, idempotent. */
void mke_evidence_free(mke_evidence *ev);

/* mke_preset resets *o with mke_options_init and applies the named variation (names: see
 * mke_preset_name). Returns false for an unknown name (o untouched then). */
__attribute__((warn_unused_result)) bool mke_preset(mke_options *o, const char *name);

/* mke_preset_name returns the i-th preset name and NULL past the end; mke_preset_about a
 * one-line description (NULL past the end). */
const char *mke_preset_name(size_t i);
const char *mke_preset_about(size_t i);

/* mke_key_public writes the public key X||Y of the named test key ("root", "pck-platform-ca",
 * "pck-processor-ca", "pck-leaf", "tcb-signer", "attestation-key", "app-ca", "app-cert", or any
 * other name). */
__attribute__((warn_unused_result)) bool mke_key_public(const char *key_name, uint8_t out_xy[64]);

/* mke_sign signs SHA-256(msg) with the named test key; out_rs = r||s (32 bytes each). */
__attribute__((warn_unused_result)) bool mke_sign(const char *key_name, const uint8_t *msg,
                                                  size_t msg_len, uint8_t out_rs[64]);

/* mke_format_time writes "YYYY-MM-DDThh:mm:ssZ" (out: at least 21 bytes). */
void mke_format_time(char out[21], int64_t t);

#ifdef __cplusplus
}
#endif
#endif
