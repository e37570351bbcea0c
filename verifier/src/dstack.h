/* dstack.h — dstack guest-agent evidence (dcap-spec §6): Tappd.Info / Info / GetQuote
 * responses, the tcb_info claims, the event log, RTMR replay, runtime-event digests, identity
 * events, MRCONFIGID and the RA-TLS report-data binding. */
#ifndef CBA_DSTACK_H
#define CBA_DSTACK_H

#include "cbs.h"
#include "internal.h"
#include "x509.h"

#define CBA_DSTACK_RUNTIME_EVENT_TYPE 0x08000001u
#define CBA_EVENTLOG_MAX_EVENTS 1024
#define CBA_INFO_MAX_LEN (4u << 20) /* 4 MiB of JSON is far beyond any real response */

typedef enum cba_info_format {
    CBA_INFO_TAPPD = 1, /* legacy Tappd.Info (app_cert carries the quote) */
    CBA_INFO_DSTACK,    /* newer Info (same fields, plus vm_config, mr_aggregated, ...) */
    CBA_INFO_GETQUOTE   /* GetQuote: quote (hex) + event_log (JSON string) */
} cba_info_format;

typedef struct cba_event {
    uint32_t imr;        /* 0..3 */
    uint32_t event_type;
    bool has_digest;     /* false when the digest was stripped ("") */
    uint8_t digest[48];
    cbs name;            /* "app-id", ... (view into the info's storage) */
    cbs payload;         /* decoded bytes (view into the info's storage) */
    uint32_t version;    /* 1 (absent) or 2 */
    bool has_preimage;
    cbs preimage;        /* decoded V2 preimage */
} cba_event;

typedef struct cba_info {
    cba_info_format format;
    bool has_app_id;          uint8_t app_id[20];
    bool has_instance_id;     uint8_t instance_id[20];
    bool has_compose_hash;    uint8_t compose_hash[32];   /* top-level claim */
    bool has_tcb_info;        /* tcb_info present and non-empty */
    bool has_mrtd_claim;      uint8_t mrtd_claim[48];
    bool has_rtmr_claim[4];   uint8_t rtmr_claim[4][48];
    bool has_tcb_compose_hash; uint8_t tcb_compose_hash[32]; /* tcb_info.compose_hash claim */
    bool has_app_compose;     cbs app_compose;            /* exact bytes of tcb_info.app_compose */
    bool has_os_image_hash;   uint8_t os_image_hash[32];
    bool has_mr_aggregated;   uint8_t mr_aggregated[32];  /* claim (top level or tcb_info) */
    cbs key_provider_info;    /* raw string, may be empty */
    cbs app_cert_pem;         /* may be empty */
    cbs quote;                /* from GetQuote's "quote" or the app cert's quote extension */
    bool quote_from_cert;     /* then report data must be the RA-TLS binding of cert_spki */
    cbs cert_spki;            /* SubjectPublicKeyInfo DER of the app cert leaf */
    /* The app cert's event-log extension (uncompressed) when tcb_info's log is the one parsed:
     * checked against it by cba_eventlog_check_cert_copy. */
    bool has_cert_log_copy;   cbs cert_log_copy;
    /* The events come from the log sent with a fresh quote (cba_info_parse_with_log), not from
     * this response: its rtmr3 and mr_aggregated claims describe an earlier state. */
    bool log_from_quote;
    size_t num_events;
    cba_event *events;        /* heap */
    void *storage;            /* owns json objects and decoded buffers */
} cba_info;

/* cba_info_parse parses a guest-agent response (format detected from its members) with the strict
 * JSON rules, the inner tcb_info JSON string, the event log (from tcb_info.event_log, GetQuote's
 * event_log string, or — when neither — the app cert's event-log extension), hex fields with
 * exact lengths, and finds the quote (GetQuote "quote", else the app cert leaf's extension
 * 1.3.6.1.4.1.62397.1.1 found by parsing the certificate). A present-but-empty (or absent)
 * tcb_info in an Info response is an error (hidden tcb_info must fail, not skip). Format: "quote"
 * => GETQUOTE; otherwise any of vm_config / mr_aggregated / cloud_vendor => DSTACK, else TAPPD.
 * Errors: CBA_E_INFO_FORMAT, CBA_E_EVENTLOG_FORMAT, CBA_E_JSON, CBA_E_QUOTE_MISSING (no quote in
 * GetQuote / app_cert), CBA_E_PEM / CBA_E_DER / CBA_E_CERT_INVALID (app_cert), CBA_E_NOMEM.
 * On success *out owns a new object; on failure *out is NULL. */
CBA_MUST_USE cba_err cba_info_parse(cba_error *err, cba_info **out, cbs json);
/* cba_info_parse_with_log parses an Info / Tappd.Info response like cba_info_parse, but takes its
 * events from quote_log (GetQuote's event_log text: a JSON array) instead of the response's own
 * log, and sets log_from_quote. An empty app_cert is then no error either (the agent has not got
 * it from the KMS yet; the fresh quote serves). A GetQuote-shaped response is CBA_E_INFO_FORMAT;
 * a malformed log CBA_E_EVENTLOG_FORMAT (where "quote.event_log"). */
CBA_MUST_USE cba_err cba_info_parse_with_log(cba_error *err, cba_info **out, cbs json, cbs quote_log);
void cba_info_free(cba_info *info); /* NULL-safe */

/* cba_eventlog_check_digests recomputes every runtime event's digest (V1: SHA384(le32(type) ||
 * ":" || name || ":" || payload); V2: SHA384 of the canonical JSON preimage, which must equal the
 * supplied preimage) and compares it with a supplied digest; a runtime event must be on imr 3 and
 * every imr-3 event must be a runtime event; boot events need a 48-byte digest; unknown versions
 * are rejected. Errors: CBA_E_EVENT_DIGEST_MISMATCH, CBA_E_EVENTLOG_FORMAT. On success
 * out_digests[i] holds the digest to replay for event i (recomputed for runtime events);
 * out_digests may be NULL when the log is empty. */
CBA_MUST_USE cba_err cba_eventlog_check_digests(cba_error *err, uint8_t (*out_digests)[48],
                                                const cba_info *info);

/* cba_eventlog_replay folds digests into RTMR0..3: RTMR = SHA384(RTMR || digest). */
CBA_MUST_USE bool cba_eventlog_replay(uint8_t out_rtmr[4][48], const cba_info *info,
                                      const uint8_t (*digests)[48]);

/* cba_eventlog_check_cert_copy: when the response carries the event log twice (tcb_info and the
 * app certificate's 1.3.6.1.4.1.62397.1.2 extension), the copy must describe the events that
 * were checked and replayed: for each event of the copy, in order, the same imr and event type,
 * for runtime events the same name and payload, and a non-empty digest equal to the replayed one
 * (digests[i]; boot events must carry it). The copy may be shorter (a certificate made before
 * later events). No copy: CBA_OK. Errors: CBA_E_EVENTLOG_FORMAT, CBA_E_JSON, CBA_E_NOMEM. */
CBA_MUST_USE cba_err cba_eventlog_check_cert_copy(cba_error *err, const cba_info *info,
                                                  const uint8_t (*digests)[48]);

typedef struct cba_dstack_ids {
    bool has_app_id;       uint8_t app_id[20];
    bool has_compose_hash; uint8_t compose_hash[32];
    bool has_instance_id;  cbs instance_id; /* 20 bytes or empty */
    bool has_key_provider; cbs key_provider; /* JSON payload bytes */
    bool has_os_image_hash; uint8_t os_image_hash[32]; /* KMS-mode os-image-hash event */
    bool has_system_ready;
} cba_dstack_ids;

/* cba_eventlog_identity takes app-id (20 B), compose-hash (32 B), instance-id (20 B or empty),
 * key-provider and os-image-hash (32 B) from runtime events (type 0x08000001 on imr 3) before the
 * first system-ready only (later events are app-controlled); a duplicate before system-ready, or
 * a wrong payload length, fails with CBA_E_EVENTLOG_FORMAT. Views in *out point into info. */
CBA_MUST_USE cba_err cba_eventlog_identity(cba_error *err, cba_dstack_ids *out,
                                           const cba_info *info);

/* cba_mrconfigid_check checks the quote's MRCONFIGID against the identity (§6.6): all-zero =
 * unused (version 0, passes); V1 = 0x01 || compose_hash || 15 zero bytes; V2 = 0x02 ||
 * Keccak-256(compose_hash || app_id || key-provider kind byte || key-provider id) || zeros, with
 * kind and id from the key-provider event JSON {"name":"none|local-sgx|kms|tpm","id":"<hex>"}
 * (parsed strictly; "local" is accepted for local-sgx); V3/unknown: reported via *out_version
 * (always set, also on failure) and rejected as a binding ("version N not supported as a
 * binding"; the caller may downgrade that to a reported value). V1 needs the compose hash, V2
 * also the app id and the key provider ("V2 needs the key provider").
 * Error: CBA_E_MRCONFIGID_MISMATCH (CBA_E_NOMEM, CBA_E_INTERNAL). */
CBA_MUST_USE cba_err cba_mrconfigid_check(cba_error *err, uint8_t *out_version,
                                          const uint8_t mrconfigid[48], const cba_dstack_ids *ids);

/* cba_dstack_v2_preimage writes the RFC 8785 canonical JSON of a V2 runtime event,
 * {"name":<name>,"payload":<lowercase hex>,"type":134217729}, into out (capacity cap) and returns
 * its length. With out == NULL, or cap smaller than the length, nothing is written and only the
 * length is returned (so callers size a buffer first). Returns 0 when the length would overflow. */
size_t cba_dstack_v2_preimage(uint8_t *out, size_t cap, cbs name, cbs payload);

/* cba_ratls_report_data computes SHA512("ratls-cert:" || spki). */
CBA_MUST_USE bool cba_ratls_report_data(uint8_t out[64], cbs spki);

#endif
