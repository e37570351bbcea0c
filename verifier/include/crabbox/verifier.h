/* crabbox/verifier.h — libcrabbox-verifier: a hardened, pure-C Intel TDX / dstack verifier.
 *
 * The library does no I/O, reads no clock and keeps no global state: the caller passes the
 * evidence bytes, the verification time and a policy, and gets back a report. Every function is
 * safe to call from several threads on distinct objects.
 *
 * One-shot use (docs/api.md has a complete program):
 *     cba_policy pol;    cba_policy_init(&pol);
 *     cba_evidence ev;   cba_evidence_init(&ev);  ev.quote = q;  ev.quote_len = n;
 *     cba_report rep;    cba_report_init(&rep);
 *     if (cba_verify(&rep, &pol, &ev, now) == CBA_OK) { ... rep.verdict == CBA_VERDICT_VERIFIED }
 *
 * Many quotes against collateral verified once:
 *     cba_collateral *c;  cba_collateral_verify(&c, &rep, &pol, json, json_len, now);
 *     cba_verify_with(&rep, &pol, c, &evidence, now);   ... cba_collateral_free(c);
 *
 * Structs that grow (docs/api.md, "ABI"): cba_policy, cba_evidence and cba_report begin with
 * `struct_size`, which their init functions (cba_policy_init, cba_evidence_init, cba_report_init)
 * set to the size the caller was compiled with. Always initialise them with these functions. New
 * members are only ever appended; a library that is newer than the caller gives members the caller
 * does not know their cba_*_init default (inputs) or does not write them (the report); a caller newer
 * than the library gets CBA_E_STRUCT_SIZE if it set a member the library does not know. A
 * struct_size below the first released layout is refused with CBA_E_STRUCT_SIZE, never read past.
 */
#ifndef CRABBOX_VERIFIER_H
#define CRABBOX_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CBA_BUILDING_LIBRARY)
#define CBA_API __attribute__((visibility("default")))
#else
#define CBA_API
#endif
#define CBA_MUST_USE __attribute__((warn_unused_result))

/* ---- Errors: append only, the values and names are ABI and appear in --json ---------------- */
#define CBA_ERRORS(X)                                                                            \
    X(CBA_OK, "success")                                                                         \
    X(CBA_E_INTERNAL, "internal error")                                                          \
    X(CBA_E_NOMEM, "out of memory")                                                              \
    X(CBA_E_ARGUMENT, "invalid argument")                                                        \
    X(CBA_E_QUOTE_FORMAT, "malformed quote")                                                     \
    X(CBA_E_QUOTE_UNSUPPORTED, "unsupported quote type")                                         \
    X(CBA_E_QUOTE_TRAILING_DATA, "non-zero bytes after the quote")                               \
    X(CBA_E_QE_VENDOR, "quoting enclave vendor is not Intel")                                    \
    X(CBA_E_DER, "malformed DER")                                                                \
    X(CBA_E_PEM, "malformed PEM certificate chain")                                              \
    X(CBA_E_CERT_INVALID, "certificate is malformed or has the wrong profile")                   \
    X(CBA_E_CERT_EXPIRED, "certificate is not valid at the verification time")                   \
    X(CBA_E_CERT_REVOKED, "certificate is revoked")                                              \
    X(CBA_E_CHAIN_UNTRUSTED, "certificate chain does not end at the trusted root")               \
    X(CBA_E_CERT_SIGNATURE, "certificate signature does not verify")                             \
    X(CBA_E_PCK_EXTENSION, "malformed Intel SGX extension in the PCK certificate")               \
    X(CBA_E_CRL_INVALID, "CRL is malformed, from the wrong issuer or badly signed")              \
    X(CBA_E_CRL_EXPIRED, "CRL is not valid at the verification time")                            \
    X(CBA_E_COLLATERAL_FORMAT, "malformed collateral")                                           \
    X(CBA_E_COLLATERAL_MISSING, "collateral is needed but was not given")                        \
    X(CBA_E_COLLATERAL_EXPIRED, "collateral is not valid at the verification time")              \
    X(CBA_E_TCB_INFO_SIGNATURE, "TCB info signature does not verify")                            \
    X(CBA_E_TCB_INFO_FORMAT, "malformed TCB info")                                               \
    X(CBA_E_TCB_INFO_MISMATCH, "TCB info is for another platform (FMSPC or PCE-ID)")             \
    X(CBA_E_QE_IDENTITY_SIGNATURE, "QE identity signature does not verify")                      \
    X(CBA_E_QE_IDENTITY_FORMAT, "malformed QE identity")                                         \
    X(CBA_E_QE_IDENTITY_MISMATCH, "quoting enclave does not match the QE identity")              \
    X(CBA_E_QE_REPORT_SIGNATURE, "QE report signature does not verify")                          \
    X(CBA_E_QE_REPORT_DATA, "QE report data does not bind the attestation key")                  \
    X(CBA_E_QUOTE_SIGNATURE, "quote signature does not verify")                                  \
    X(CBA_E_TDX_MODULE_MISMATCH, "TDX module does not match the TCB info")                       \
    X(CBA_E_TCB_NOT_SUPPORTED, "no TCB level in the collateral matches this platform")           \
    X(CBA_E_TCB_REVOKED, "TCB level is revoked")                                                 \
    X(CBA_E_TCB_STATUS_REJECTED, "TCB status or advisory is not accepted by the policy")         \
    X(CBA_E_TD_DEBUG, "TD is in debug mode")                                                     \
    X(CBA_E_TD_ATTRIBUTES, "TD attributes are not accepted")                                     \
    X(CBA_E_MEASUREMENT_POLICY, "measurement does not match the pinned value")                   \
    X(CBA_E_REPORT_DATA_MISMATCH, "report data does not match the expected binding")             \
    X(CBA_E_JSON, "malformed JSON")                                                              \
    X(CBA_E_INFO_FORMAT, "malformed guest agent response")                                       \
    X(CBA_E_EVENTLOG_FORMAT, "malformed event log")                                              \
    X(CBA_E_EVENT_DIGEST_MISMATCH, "event digest does not match its content")                    \
    X(CBA_E_RTMR_MISMATCH, "event log does not replay to the quoted RTMR")                       \
    X(CBA_E_MEASUREMENT_CLAIM_MISMATCH, "claimed measurement differs from the quote")            \
    X(CBA_E_COMPOSE_HASH_MISMATCH, "compose hash does not match")                                \
    X(CBA_E_APP_ID_MISMATCH, "app id does not match")                                            \
    X(CBA_E_QUOTE_MISSING, "no quote in the evidence")                                           \
    X(CBA_E_MRCONFIGID_MISMATCH, "MRCONFIGID does not bind the compose hash and app id")          \
    X(CBA_E_STRUCT_SIZE, "struct_size is unset, too small, or has members this library lacks")    \
    X(CBA_E_APP_COMPOSE_POLICY, "the attested app-compose is not accepted by the policy")

typedef enum cba_err {
#define CBA_X_ENUM(name, msg) name,
    CBA_ERRORS(CBA_X_ENUM)
#undef CBA_X_ENUM
    CBA_ERR_COUNT
} cba_err;

/* cba_err_name returns "CBA_E_..." and cba_err_message a sentence; both never NULL. */
CBA_API const char *cba_err_name(cba_err code);
CBA_API const char *cba_err_message(cba_err code);

/* The first failure wins; `where` names the field, `detail` explains without secrets or raw input. */
typedef struct cba_error {
    cba_err code;
    char where[48];
    char detail[160];
} cba_error;

/* ---- Checks, in evaluation order. Names are stable (crabbox-attest --json). -------------- */
#define CBA_CHECKS(X)                                                                            \
    X(CBA_CHECK_QUOTE_PARSE, "quote_parse")                                                      \
    X(CBA_CHECK_PCK_CHAIN, "pck_chain")                                                          \
    X(CBA_CHECK_CRL, "crl")                                                                      \
    X(CBA_CHECK_TCB_INFO, "tcb_info")                                                            \
    X(CBA_CHECK_QE_REPORT_SIGNATURE, "qe_report_signature")                                      \
    X(CBA_CHECK_QE_REPORT_DATA, "qe_report_data")                                                \
    X(CBA_CHECK_QE_IDENTITY, "qe_identity")                                                      \
    X(CBA_CHECK_QUOTE_SIGNATURE, "quote_signature")                                              \
    X(CBA_CHECK_TCB_STATUS, "tcb_status")                                                        \
    X(CBA_CHECK_TD_ATTRIBUTES, "td_attributes")                                                  \
    X(CBA_CHECK_EVENT_LOG, "event_log")                                                          \
    X(CBA_CHECK_EVENT_DIGESTS, "event_digests")                                                  \
    X(CBA_CHECK_RTMR_REPLAY, "rtmr_replay")                                                      \
    X(CBA_CHECK_QUOTE_MEASUREMENTS, "quote_measurements")                                        \
    X(CBA_CHECK_COMPOSE_BINDING, "compose_binding")                                              \
    X(CBA_CHECK_APP_ID, "app_id")                                                                \
    X(CBA_CHECK_REPORT_DATA, "report_data")                                                      \
    X(CBA_CHECK_APP_COMPOSE, "app_compose") /* appended: runs last */

typedef enum cba_check {
#define CBA_X_ENUM(name, str) name,
    CBA_CHECKS(CBA_X_ENUM)
#undef CBA_X_ENUM
    CBA_CHECK_COUNT
} cba_check;

CBA_API const char *cba_check_name(cba_check check);

typedef enum cba_check_status {
    CBA_CHECK_NOT_RUN = 0, /* an earlier check failed */
    CBA_CHECK_PASS,
    CBA_CHECK_FAIL,
    CBA_CHECK_SKIP /* not applicable, or skipped by policy: detail says why */
} cba_check_status;

CBA_API const char *cba_check_status_name(cba_check_status status); /* "pass" ... */

/* ---- TCB status ------------------------------------------------------------------------- */
#define CBA_TCB_STATUSES(X)                                                                      \
    X(CBA_TCB_UNKNOWN, "")                                                                       \
    X(CBA_TCB_UP_TO_DATE, "UpToDate")                                                            \
    X(CBA_TCB_SW_HARDENING_NEEDED, "SWHardeningNeeded")                                          \
    X(CBA_TCB_CONFIGURATION_NEEDED, "ConfigurationNeeded")                                       \
    X(CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, "ConfigurationAndSWHardeningNeeded")        \
    X(CBA_TCB_OUT_OF_DATE, "OutOfDate")                                                          \
    X(CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "OutOfDateConfigurationNeeded")                  \
    X(CBA_TCB_REVOKED, "Revoked")                                                                \
    X(CBA_TCB_TD_RELAUNCH_ADVISED, "TDRelaunchAdvised")                                          \
    X(CBA_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, "TDRelaunchAdvisedConfigurationNeeded")

typedef enum cba_tcb_status {
#define CBA_X_ENUM(name, str) name,
    CBA_TCB_STATUSES(CBA_X_ENUM)
#undef CBA_X_ENUM
    CBA_TCB_STATUS_COUNT
} cba_tcb_status;

/* cba_tcb_status_name returns Intel's spelling ("" for UNKNOWN); cba_tcb_status_parse returns
 * false for anything that is not exactly one of the names. */
CBA_API const char *cba_tcb_status_name(cba_tcb_status status);
CBA_API bool cba_tcb_status_parse(const char *name, size_t name_len, cba_tcb_status *out);

/* ---- Policy ----------------------------------------------------------------------------- */
#define CBA_MAX_ADVISORIES 32
#define CBA_ADVISORY_ID_MAX 32 /* "INTEL-SA-01234" fits with room */

/* Pinnable quote fields. td_attributes and xfam are their 8 quote bytes (little endian, as
 * `verify --json` prints them); report data is 64 bytes, the rest 48. */
#define CBA_PIN_FIELDS(X)                                                                        \
    X(CBA_PIN_MRTD, "mrtd", 48)                                                                  \
    X(CBA_PIN_RTMR0, "rtmr0", 48)                                                                \
    X(CBA_PIN_RTMR1, "rtmr1", 48)                                                                \
    X(CBA_PIN_RTMR2, "rtmr2", 48)                                                                \
    X(CBA_PIN_RTMR3, "rtmr3", 48)                                                                \
    X(CBA_PIN_MRSEAM, "mrseam", 48)                                                              \
    X(CBA_PIN_MRSIGNERSEAM, "mrsignerseam", 48)                                                  \
    X(CBA_PIN_MRCONFIGID, "mrconfigid", 48)                                                      \
    X(CBA_PIN_MROWNER, "mrowner", 48)                                                            \
    X(CBA_PIN_MROWNERCONFIG, "mrownerconfig", 48)                                                \
    X(CBA_PIN_XFAM, "xfam", 8)                                                                   \
    X(CBA_PIN_TD_ATTRIBUTES, "td_attributes", 8)                                                 \
    X(CBA_PIN_REPORT_DATA, "report_data", 64)                                                    \
    X(CBA_PIN_OS_IMAGE_HASH, "os_image_hash", 32) /* dstack's os-image-hash event (RTMR3) */

typedef enum cba_pin_field {
#define CBA_X_ENUM(name, str, size) name,
    CBA_PIN_FIELDS(CBA_X_ENUM)
#undef CBA_X_ENUM
    CBA_PIN_COUNT
} cba_pin_field;

/* Room for pin fields in cba_policy: CBA_PIN_COUNT grows (fields are appended) while the layout
 * stays. */
#define CBA_MAX_PINS 24

/* cba_pin_field_name returns the field's name ("mrtd", ..., "" when out of range);
 * cba_pin_field_size its size in bytes (0 when out of range). */
CBA_API const char *cba_pin_field_name(cba_pin_field field);
CBA_API size_t cba_pin_field_size(cba_pin_field field);

typedef struct cba_policy {
    uint32_t struct_size;       /* set by cba_policy_init; keep first */
    uint32_t accepted_statuses; /* bit (1u << cba_tcb_status); Revoked is never accepted */
    const char *const *allowed_advisories; /* borrowed; NULL-terminated list or NULL */
    bool skip_dcap;        /* --no-dcap: skip CRLs, TCB info, QE identity, TCB status (never
                              signatures or the chain to the root) */
    bool allow_debug;      /* test only: accept a debug TD */
    uint64_t td_attributes_allowed; /* bits that may be set (default SEPT_VE_DISABLE|PKS|PERFMON) */
    uint64_t td_attributes_required; /* bits that must be set (default SEPT_VE_DISABLE) */
    bool allow_service_td; /* accept a non-zero MRSERVICETD */

    bool has_app_id;
    uint8_t app_id[20];
    bool has_compose_hash;
    uint8_t compose_hash[32];
    bool has_report_data;
    uint8_t report_data[64];

    bool has_mrtd;
    uint8_t mrtd[48];
    bool has_rtmr[3];
    uint8_t rtmr[3][48];
    uint32_t min_tcb_evaluation_data_number; /* 0 = no minimum */
    int64_t max_collateral_age;              /* seconds since issueDate; 0 = no limit */

    /* one_shot: this process verifies once (a CLI). wolfCrypt's ECC acceleration tables, built
     * on a key's second use and repaid only by many verifications, are not kept. A long-running
     * verifier leaves it false. */
    bool one_shot;

    /* Trust anchor (DER). NULL = the embedded Intel SGX Root CA. Anything else is TEST ONLY and
     * the report says so (report.test_root). */
    const uint8_t *trust_root_der;
    size_t trust_root_der_len;

    /* App-compose policy (borrowed). NULL: check app_compose is skipped ("no app-compose policy
     * given"); embedders that deploy through dstack should always give one. Without an
     * app_compose in the evidence the check fails when the policy expects a docker compose or
     * requires a script, and is skipped otherwise (the detail says so). */
    const struct cba_app_compose_policy *app_compose;
    /* ---- Allow-lists and minimums (go-tdx-guest's policy; appended). Each pins[f] is borrowed:
     * num_values values of cba_pin_field_size(f) bytes back to back, in the quote's byte order;
     * num_values 0 = not pinned. A field passes when it equals one of its values. These add to
     * has_mrtd / has_rtmr / has_report_data above (both must pass when both are set). The pins
     * are checked in quote_measurements (report data in report_data), the minimums too. */
    struct cba_pin_list {
        const uint8_t *values;
        size_t num_values;
    } pins[CBA_MAX_PINS]; /* [0, CBA_PIN_COUNT) used: room to grow */
    bool has_min_tee_tcb_svn;
    uint8_t min_tee_tcb_svn[16]; /* each of the 16 components must be >= (go-tdx-guest) */
    uint16_t min_qe_isvsvn;      /* QE report ISVSVN; 0 = no minimum */
    uint16_t min_pcesvn;         /* PCK certificate PCESVN; 0 = no minimum */
} cba_policy;

/* ---- App-compose policy (check app_compose) --------------------------------------------- *
 * Applied to the attested tcb_info.app_compose JSON (after compose_binding proved it is the
 * measured one). What dstack runs is the whole app-compose, not only the docker compose in it: a
 * pre_launch_script runs as root before the containers, a "bash" runner replaces them. Rules:
 *   runner                    "docker-compose"
 *   bash_script               absent (or null)
 *   docker_compose_file       byte-equal to docker_compose (when given)
 *   pre_launch_script         absent (refused when require_pre_launch_script), byte-equal to
 *                             pre_launch_script, or SHA-256 in pre_launch_script_sha256
 *   allowed_envs              array of names, each in allowed_envs
 *   docker_config             absent, null or {}
 *   boolean flags             flag_rules[] (CBA_FLAG_ANY by default except no_instance_id: false)
 *   storage_fs                "zfs" or "ext4"
 *   features                  array, each "kms" or "tproxy-net"
 *   manifest_version          integer 1 or 2
 *   name                      any string
 *   key_provider              "none", "kms" or "local"; key_provider_id: hex (MRCONFIGID binds them)
 * Any other member is refused (fail closed) until the policy knows it. A failure names the member
 * and both values (long values by SHA-256 prefix). */
#define CBA_APP_COMPOSE_FLAGS(X)                                                                 \
    X(CBA_ACF_KMS_ENABLED, "kms_enabled")                                                        \
    X(CBA_ACF_GATEWAY_ENABLED, "gateway_enabled")                                                \
    X(CBA_ACF_TPROXY_ENABLED, "tproxy_enabled")                                                  \
    X(CBA_ACF_PUBLIC_LOGS, "public_logs")                                                        \
    X(CBA_ACF_PUBLIC_SYSINFO, "public_sysinfo")                                                  \
    X(CBA_ACF_PUBLIC_TCBINFO, "public_tcbinfo")                                                  \
    X(CBA_ACF_LOCAL_KEY_PROVIDER_ENABLED, "local_key_provider_enabled")                          \
    X(CBA_ACF_NO_INSTANCE_ID, "no_instance_id")                                                  \
    X(CBA_ACF_SECURE_TIME, "secure_time")

typedef enum cba_app_compose_flag {
#define CBA_X_ENUM(name, str) name,
    CBA_APP_COMPOSE_FLAGS(CBA_X_ENUM)
#undef CBA_X_ENUM
    CBA_ACF_COUNT
} cba_app_compose_flag;

typedef enum cba_flag_rule { CBA_FLAG_ANY = 0, CBA_FLAG_FALSE, CBA_FLAG_TRUE } cba_flag_rule;

/* Phala Cloud's default pre-launch script, "Phala Cloud Pre-Launch Script v0.0.15", as found in
 * the app_compose of a live Phala Cloud CVM (fixtures/real/crabbox, captured 2026-03-20). It
 * writes root's authorized_keys from the DSTACK_AUTHORIZED_KEYS env var and appends
 * ssh_authorized_keys from the unmeasured /dstack/user_config: the HOST can add a root key. */
#define CBA_PHALA_DEFAULT_PRE_LAUNCH_SHA256_HEX                                                  \
    "bf12939bc82c9bdd103b6b1226913e6da58ed7cfcfc7c7ae808ac0813715b9a8"

typedef struct cba_app_compose_policy {
    uint32_t struct_size; /* set by cba_app_compose_policy_init; grows like cba_policy */
    const uint8_t *docker_compose; /* expected docker_compose_file; NULL = not checked here */
    size_t docker_compose_len;
    const uint8_t *pre_launch_script; /* the script the deployer supplied; NULL = none */
    size_t pre_launch_script_len;
    bool require_pre_launch_script; /* absent pre_launch_script is refused (a script was supplied) */
    const uint8_t (*pre_launch_script_sha256)[32]; /* trusted allow-list; borrowed */
    size_t num_pre_launch_script_sha256;
    const char *const *allowed_envs; /* NULL-terminated names; NULL = none allowed */
    uint8_t flag_rules[CBA_ACF_COUNT]; /* cba_flag_rule per flag */
    /* report_only: evaluate and report, do not enforce. A violation leaves the check skipped
     * with "not enforced: <why>" (the verdict is unaffected) and the pre-launch script facts
     * still reported. For tools that inspect evidence without knowing what was deployed. */
    bool report_only;
} cba_app_compose_policy;

/* cba_app_compose_policy_init sets the documented default: no compose expectation, no script
 * supplied or allowed, no env allowed, no_instance_id false, other flags any. */
CBA_API void cba_app_compose_policy_init(cba_app_compose_policy *policy);
CBA_API const char *cba_app_compose_flag_name(cba_app_compose_flag flag);

/* cba_policy_init sets struct_size and the strict default: UpToDate only, no advisories, debug
 * rejected. New members are appended after the last one; their defaults are what this sets. */
CBA_API void cba_policy_init(cba_policy *policy);

/* ---- Evidence --------------------------------------------------------------------------- */
typedef struct cba_evidence {
    uint32_t struct_size; /* set by cba_evidence_init; keep first */
    const uint8_t *quote; /* raw quote bytes; optional when info carries one */
    size_t quote_len;
    const uint8_t *info_json; /* Tappd.Info / Info / GetQuote response; optional */
    size_t info_json_len;
    const uint8_t *collateral_json; /* QuoteCollateralV3 JSON; optional (cba_verify only) */
    size_t collateral_json_len;
    /* A fresh quote (e.g. GetQuote for a host nonce) from the same TD as an Info response: the
     * quote is verified and the response serves only as event log and claims (its own quote,
     * and so its RA-TLS binding, are not used). Otherwise the two quotes must be identical. */
    bool quote_replaces_info_quote;
    /* Appended after 0.1: the event log sent WITH `quote` (dstack GetQuote's "event_log", a JSON
     * array as text); optional. A guest agent's Info log is a snapshot of when it was made; a
     * runtime event emitted before the fresh quote extends RTMR3, and only the log that came with
     * that quote replays to it. When set (it needs quote, info_json and quote_replaces_info_quote)
     * the RTMRs are replayed from this log, the identity events (app-id, compose-hash, ...) are
     * read from it, and the Info response supplies only tcb_info's app_compose and claims: its
     * rtmr3 and mr_aggregated claims (a snapshot before the newer events) and its own log are
     * unused. */
    const uint8_t *quote_event_log;
    size_t quote_event_log_len;
} cba_evidence;

/* cba_evidence_init zeroes the evidence (no input) and sets struct_size. */
CBA_API void cba_evidence_init(cba_evidence *evidence);

/* ---- Report ----------------------------------------------------------------------------- */
typedef enum cba_script_match {
    CBA_SCRIPT_NONE = 0,    /* no pre_launch_script in the app-compose */
    CBA_SCRIPT_SUPPLIED,    /* byte-equal to the policy's pre_launch_script */
    CBA_SCRIPT_ALLOW_LISTED /* accepted by its SHA-256 (trusted allow-list) */
} cba_script_match;

typedef enum cba_verdict { CBA_VERDICT_REJECTED = 0, CBA_VERDICT_VERIFIED = 1 } cba_verdict;

typedef struct cba_check_result {
    cba_check_status status;
    char detail[160];
} cba_check_result;

/* Room for checks: CBA_CHECK_COUNT grows (checks are appended) while the report's layout stays. */
#define CBA_MAX_CHECKS 32

typedef struct cba_report {
    uint32_t struct_size;   /* set by cba_report_init; keep first */
    cba_verdict verdict;
    cba_check failed_check; /* CBA_CHECK_COUNT when verified: test verdict, not this */
    cba_error error;        /* code CBA_OK when verified */
    cba_check_result checks[CBA_MAX_CHECKS]; /* [0, CBA_CHECK_COUNT) used; the rest NOT_RUN */
    bool test_root;          /* a non-Intel trust anchor was used */
    bool collateral_missing; /* DCAP checks could not run: no collateral and not skip_dcap */

    /* Quote fields (has_quote): set once the quote signature verified, and cleared again when the
     * verification is rejected (nothing from rejected evidence is returned). Keep this block, and
     * the dstack block at the end, contiguous. */
    bool has_quote;
    uint16_t quote_version;
    uint16_t body_type; /* 2 = TD 1.0, 3 = TD 1.5 */
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t td_attributes;
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    size_t trailing_zero_bytes;

    /* PCK facts (has_pck). */
    bool has_pck;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint8_t ppid[16];

    /* DCAP collateral result (has_tcb). */
    bool has_tcb;
    cba_tcb_status tcb_status;
    cba_tcb_status platform_tcb_status, module_tcb_status, qe_tcb_status;
    uint32_t tcb_evaluation_data_number;
    int64_t collateral_expires; /* earliest nextUpdate / notAfter among the collateral */
    size_t num_advisory_ids;
    char advisory_ids[CBA_MAX_ADVISORIES][CBA_ADVISORY_ID_MAX];

    /* dstack facts (has_dstack): only in a verified report. Keep this block last. */
    bool has_dstack;
    bool has_app_id;
    uint8_t app_id[20];
    bool has_compose_hash;
    uint8_t compose_hash[32];
    bool has_instance_id;
    uint8_t instance_id[20];
    size_t num_events;
    bool ratls_bound; /* report data = SHA512("ratls-cert:" || app cert SPKI) */
    uint8_t mrconfigid_version; /* 0 = unused, 1, 2, 3, ... */
    /* Only when measured: the RTMR3 os-image-hash event (KMS mode). The Info's os_image_hash
     * claim alone authenticates nothing (pin MRTD and RTMR0-2 for the image instead). */
    bool has_os_image_hash;
    uint8_t os_image_hash[32];
    /* app_compose check: how the pre_launch_script passed (when it ran and passed). */
    bool has_pre_launch_script;
    uint8_t pre_launch_script_sha256[32];
    cba_script_match pre_launch_script_match;

    /* Appended (cleared with the dstack block when rejected): what else the signed quote and its
     * PCK certificate prove, and the matched TCB level's date (has_tcb). */
    uint16_t pce_svn;   /* PCK certificate PCESVN */
    uint16_t qe_isvsvn; /* QE report ISVSVN */
    int64_t tcb_date;   /* tcbDate of the matched TDX TCB level, Unix seconds; 0 = unknown */
} cba_report;

/* cba_report_init zeroes the report and sets struct_size. Every function that fills a report
 * (cba_verify, cba_verify_with, cba_collateral_verify, cba_describe) needs it set; it writes at
 * most struct_size bytes and never changes struct_size. */
CBA_API void cba_report_init(cba_report *report);

/* cba_verify runs every check on `evidence` at time `now` (Unix seconds) under `policy` and fills
 * `out` (always, also on rejection). Returns CBA_OK when verified, else the error code that is also
 * in out->error. Without collateral and without policy->skip_dcap, the DCAP checks are reported
 * as failed with CBA_E_COLLATERAL_MISSING and out->collateral_missing is set. */
CBA_API CBA_MUST_USE cba_err cba_verify(cba_report *out, const cba_policy *policy,
                                        const cba_evidence *evidence, int64_t now);

/* ---- Collateral verified once, many quotes ---------------------------------------------- */
typedef struct cba_collateral cba_collateral;

/* cba_collateral_verify parses and authenticates collateral JSON at `now` (root pinning, root CA
 * CRL, TCB signing chains, TCB info and QE identity signatures, dates). On success *out owns a new
 * object; on failure *out is NULL and report->error says why. The policy's trust root is used. */
CBA_API CBA_MUST_USE cba_err cba_collateral_verify(cba_collateral **out, cba_report *report,
                                                   const cba_policy *policy, const uint8_t *json,
                                                   size_t json_len, int64_t now);
/* cba_collateral_free accepts NULL. */
CBA_API void cba_collateral_free(cba_collateral *collateral);

/* cba_verify_with is cba_verify with collateral from cba_collateral_verify (evidence's
 * collateral_json is ignored). Every quote-dependent check still runs, and every time bound is
 * checked again at `now`. collateral may be NULL (then as cba_verify without collateral). */
CBA_API CBA_MUST_USE cba_err cba_verify_with(cba_report *out, const cba_policy *policy,
                                             const cba_collateral *collateral,
                                             const cba_evidence *evidence, int64_t now);

/* ---- Describe before verifying ---------------------------------------------------------- */
typedef enum cba_pck_ca {
    CBA_PCK_CA_UNKNOWN = 0,
    CBA_PCK_CA_PLATFORM,  /* leaf issued by "Intel SGX PCK Platform CA": ca=platform */
    CBA_PCK_CA_PROCESSOR  /* leaf issued by "Intel SGX PCK Processor CA": ca=processor */
} cba_pck_ca;

/* CBA_NAME_MAX bounds an X.509 Name this API returns (Intel's PCK CA Names are ~110 bytes). */
#define CBA_NAME_MAX 1024

/* What a quote says about itself, read WITHOUT verifying anything: enough to choose the
 * collateral (FMSPC, PCE-ID, PCK CA kind) and to look at the report fields. None of it is
 * attested; cba_verify checks all of it. New members are appended. */
typedef struct cba_description {
    uint32_t struct_size; /* set by cba_description_init; keep first */
    uint16_t quote_version;
    uint16_t body_type; /* 2 = TD 1.0, 3 = TD 1.5 */
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    cba_pck_ca pck_ca;
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t td_attributes;
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    /* Appended: the PCK leaf's issuer Name, DER with its header (the PCK CRL must name the same
     * issuer); pck_issuer_len 0 when the library does not fill it. */
    size_t pck_issuer_len;
    uint8_t pck_issuer[CBA_NAME_MAX];
} cba_description;

/* cba_description_init zeroes the description and sets struct_size. */
CBA_API void cba_description_init(cba_description *description);

/* cba_describe parses the evidence's quote (or, without one, the guest agent response's quote)
 * and its PCK leaf certificate, verifying nothing, and fills `out`. Returns CBA_OK, or the parse
 * error (also in *err, which may be NULL); out is then zeroed except struct_size. */
CBA_API CBA_MUST_USE cba_err cba_describe(cba_description *out, cba_error *err, const cba_evidence *evidence);

/* What DCAP collateral JSON (QuoteCollateralV3) says it is for, read WITHOUT verifying anything
 * (run cba_collateral_verify first): the TCB info's FMSPC and PCE-ID and the PCK CRL's issuer. */
typedef struct cba_collateral_description {
    uint32_t struct_size; /* set by cba_collateral_description_init; keep first */
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    size_t pck_crl_issuer_len;
    uint8_t pck_crl_issuer[CBA_NAME_MAX]; /* the PCK CRL's issuer Name, DER with its header */
} cba_collateral_description;

/* cba_collateral_description_init zeroes the description and sets struct_size. */
CBA_API void cba_collateral_description_init(cba_collateral_description *description);

/* cba_collateral_describe parses collateral JSON and fills `out`. Returns CBA_OK or the parse
 * error (also in *err, which may be NULL): err->where is "collateral" (the JSON or its members),
 * "tcb_info" (its fmspc or pceId) or "pck_crl" (the PCK CRL); out is then zeroed except
 * struct_size. */
CBA_API CBA_MUST_USE cba_err cba_collateral_describe(cba_collateral_description *out, cba_error *err,
                                                     const uint8_t *json, size_t json_len);

/* ---- Certificates, CRLs and RA-TLS, read WITHOUT verifying anything ----------------------- */
/* cba_crl_check returns CBA_OK when der[0..der_len) is one DER CRL as the verifier accepts it
 * (v2, ecdsa-with-SHA256, nextUpdate); else CBA_E_CRL_INVALID or CBA_E_DER, also in *err (may be
 * NULL). The signature is not checked. */
CBA_API CBA_MUST_USE cba_err cba_crl_check(cba_error *err, const uint8_t *der, size_t der_len);

/* cba_pem_first_cert decodes a PEM chain of "CERTIFICATE" blocks (at most 8) and copies the DER of
 * the first into out[0..out_cap), setting *out_len and *num_certs. out_cap >= pem_len is always
 * enough. Returns CBA_OK, or CBA_E_PEM / CBA_E_ARGUMENT (out_cap too small) / CBA_E_NOMEM, also
 * in *err (may be NULL); the outputs are then untouched. */
CBA_API CBA_MUST_USE cba_err cba_pem_first_cert(uint8_t *out, size_t out_cap, size_t *out_len,
                                                size_t *num_certs, cba_error *err,
                                                const uint8_t *pem, size_t pem_len);

/* cba_ratls_cert_quote reads a dstack RA-TLS certificate (DER): *quote / *quote_len are set to the
 * TDX quote in its extension 1.3.6.1.4.1.62397.1.1 (borrowed: they point into der) and
 * report_data to SHA512("ratls-cert:" || the certificate's SPKI), what the quote must carry.
 * Errors (also in *err, which may be NULL; the outputs are then untouched): the certificate's
 * parse error (where "ratls.cert"), CBA_E_CERT_INVALID with where "ratls.extension" (no such
 * extension) or "ratls.quote" (the extension is not one non-empty OCTET STRING), CBA_E_NOMEM. */
CBA_API CBA_MUST_USE cba_err cba_ratls_cert_quote(const uint8_t **quote, size_t *quote_len,
                                                  uint8_t report_data[64], cba_error *err,
                                                  const uint8_t *der, size_t der_len);

/* ---- Inspection: evidence as JSON for people ------------------------------------------------ */
typedef enum cba_inspect_kind {
    CBA_INSPECT_QUOTE = 0,  /* a binary TDX quote */
    CBA_INSPECT_INFO,       /* a dstack guest agent response (Tappd.Info, Info, GetQuote) */
    CBA_INSPECT_COLLATERAL, /* QuoteCollateralV3 JSON */
    CBA_INSPECT_PEM_CHAIN,  /* a PEM certificate chain */
    CBA_INSPECT_DER         /* one DER certificate or CRL */
} cba_inspect_kind;

/* cba_inspect_json parses in[0..in_len) strictly as `kind`, verifying NOT at all, and sets *out
 * to a new NUL-terminated JSON object on one line (what `crabbox-attest inspect --json` prints;
 * free it with cba_free). A problem worth telling (the parse error, or a part that did not parse
 * while the rest did) is written to note[0..note_len) as one NUL-terminated line; note stays as
 * it was when there is none (note may be NULL when note_len is 0). Returns CBA_OK, or the parse
 * error (*out is then NULL). */
CBA_API CBA_MUST_USE cba_err cba_inspect_json(char **out, char *note, size_t note_len,
                                              cba_inspect_kind kind, const uint8_t *in, size_t in_len);

/* ---- The report as JSON ------------------------------------------------------------------ */
/* cba_report_json returns the report as one JSON object on one line, without a newline: the
 * object `crabbox-attest verify --json` prints (README.md lists the members). `policy` (the
 * one verified under) and `now` fill "dcap" and "at". The string is new and NUL-terminated; free
 * it with cba_free. NULL when out of memory or when a struct_size is too small. */
CBA_API char *cba_report_json(const cba_report *report, const cba_policy *policy, int64_t now);

/* cba_free frees what the library returned for the caller to free; NULL is fine. */
CBA_API void cba_free(void *p);

/* ---- Threads ----------------------------------------------------------------------------- */
/* Every function is thread-safe on distinct objects, and a verified cba_collateral is immutable:
 * any number of threads may pass the same one to cba_verify_with at once (docs/api.md). With
 * policy.one_shot false, wolfCrypt keeps per-thread ECC tables; a thread that verified calls
 * cba_thread_cleanup before it exits to free them (else they leak with the thread). */
CBA_API void cba_thread_cleanup(void);

/* cba_compose_hash computes the dstack compose hash of an app-compose.json: SHA-256 of its exact
 * bytes (the guest hashes the file as written, without canonicalisation). */
CBA_API CBA_MUST_USE bool cba_compose_hash(uint8_t out[32], const uint8_t *app_compose, size_t len);

/* cba_version returns the library version string. */
CBA_API const char *cba_version(void);

#ifdef __cplusplus
}
#endif
#endif
