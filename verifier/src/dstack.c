/* dstack.c — dstack guest-agent evidence (dcap-spec §6): the Info / Tappd.Info / GetQuote
 * responses, the tcb_info claims and the event log, parsed into a cba_info. What is checked on
 * it (runtime-event digests, RTMR replay, identity events, MRCONFIGID, the RA-TLS report-data
 * binding) is eventlog.c. See dstack.h for the contract.
 *
 * Everything here is a claim until it is bound to the verified quote: the event log only counts
 * because it replays to the quoted RTMRs, and runtime digests are always recomputed (§6.3). */
#include "dstack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"

/* OID content bytes of 1.3.6.1.4.1.62397.1.1 (raw TDX quote) and .1.2 (event log), §6.7. */
static const uint8_t k_oid_app_quote[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
                                           0x83, 0xe7, 0x3d, 0x01, 0x01 };
static const uint8_t k_oid_app_eventlog[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
                                              0x83, 0xe7, 0x3d, 0x01, 0x02 };

/* The storage behind cba_info.storage: every view in a cba_info points into one of these. */
typedef struct info_storage {
    json_object *root;  /* the response */
    json_object *tcb;   /* the parsed tcb_info string */
    json_object *elog;  /* the parsed event log (GetQuote string or app-cert extension) */
    uint8_t *der;       /* the app cert chain decoded from PEM (quote, SPKI, event-log ext) */
    uint8_t *arena;     /* GetQuote's quote, then every decoded payload and preimage */
    size_t arena_cap, arena_used;
} info_storage;

/* ---- small helpers ---------------------------------------------------------------------- */

/* arena_take hands out n bytes of the arena, which was sized exactly beforehand. */
static uint8_t *arena_take(info_storage *st, size_t n)
{
    uint8_t *p;
    if (n == 0 || st->arena == NULL || n > st->arena_cap - st->arena_used) { return NULL; }
    p = st->arena + st->arena_used;
    st->arena_used += n;
    return p;
}

/* decode_hex_var decodes a hex string of any even length (including empty) into the arena. */
static bool decode_hex_var(info_storage *st, cbs hex, cbs *out)
{
    uint8_t *p;
    size_t n;
    if (hex.len % 2 != 0) { return false; }
    n = hex.len / 2;
    if (n == 0) {
        *out = cbs_make(NULL, 0);
        return true;
    }
    p = arena_take(st, n);
    if (p == NULL || !cba_hex_decode(p, n, (const char *)hex.data, hex.len)) { return false; }
    *out = cbs_make(p, n);
    return true;
}

/* get_str reads an optional string member: absent is fine (*present false), another type is not. */
static cba_err get_str(cba_error *err, const json_object *obj, const char *key, cbs *out,
                       bool *present, cba_err code, const char *where)
{
    *present = false;
    if (!cba_json_has(obj, key)) { return CBA_OK; }
    CBA_ENSURE(cba_json_get_string(obj, key, out), err, code, where, "must be a JSON string");
    *present = true;
    return CBA_OK;
}

/* get_hex_fixed reads an optional hex member of exactly n bytes; allow_empty treats "" as absent
 * (instance_id is empty when the app opted out of instance ids). */
static cba_err get_hex_fixed(cba_error *err, const json_object *obj, const char *key, uint8_t *out,
                             size_t n, bool allow_empty, bool *present, cba_err code,
                             const char *where)
{
    cbs s;
    bool have;
    *present = false;
    CBA_TRY(get_str(err, obj, key, &s, &have, code, where));
    if (!have || (allow_empty && s.len == 0)) { return CBA_OK; }
    CBA_ENSURE(cba_hex_decode(out, n, (const char *)s.data, s.len), err, code, where,
               "must be %zu bytes of hex (got %zu characters)", n, s.len);
    *present = true;
    return CBA_OK;
}

/* unwrap_octet_string: dstack's extnValue holds exactly one more DER OCTET STRING (§6.7). */
static bool unwrap_octet_string(cbs value, cbs *out)
{
    cbs c = value;
    return cbs_get_asn1(&c, out, CBS_ASN1_OCTETSTRING) && c.len == 0;
}

/* ---- the event log ------------------------------------------------------------------------ */

/* event_log_bytes sums the decoded sizes of every payload and preimage so that one arena can
 * hold them; shapes are checked later, so anything unexpected simply counts as zero here. */
static bool event_log_bytes(const json_object *arr, size_t *total)
{
    size_t n;
    if (arr == NULL || !json_object_is_type(arr, json_type_array)) { return true; }
    n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        const json_object *ev = json_object_array_get_idx(arr, i);
        cbs s;
        if (ev == NULL || !json_object_is_type(ev, json_type_object)) { continue; }
        if (cba_json_get_string(ev, "event_payload", &s) &&
            __builtin_add_overflow(*total, s.len / 2, total)) {
            return false;
        }
        if (cba_json_get_string(ev, "preimage", &s) &&
            __builtin_add_overflow(*total, s.len / 2, total)) {
            return false;
        }
    }
    return true;
}

/* alloc_arena sizes the arena for `extra` bytes plus the event log's payloads and preimages. */
static cba_err alloc_arena(cba_error *err, info_storage *st, size_t extra, const json_object *arr)
{
    size_t total = extra;
    CBA_ENSURE(event_log_bytes(arr, &total), err, CBA_E_EVENTLOG_FORMAT, "event_log",
               "event log too large");
    if (total == 0) { return CBA_OK; }
    st->arena = malloc(total);
    CBA_ENSURE(st->arena != NULL, err, CBA_E_NOMEM, "event_log", "cannot allocate %zu bytes",
               total);
    st->arena_cap = total;
    return CBA_OK;
}

static cba_err parse_event(cba_error *err, info_storage *st, cba_event *ev, const json_object *obj,
                           const char *log, size_t i)
{
    char w[48];
    cbs s;
    uint64_t v;
    bool present;

    snprintf(w, sizeof w, "%s[%zu]", log, i);
    CBA_ENSURE(obj != NULL && json_object_is_type(obj, json_type_object), err,
               CBA_E_EVENTLOG_FORMAT, w, "event must be a JSON object");

    snprintf(w, sizeof w, "%s[%zu].imr", log, i);
    CBA_ENSURE(cba_json_get_u64(obj, "imr", UINT32_MAX, &v), err, CBA_E_EVENTLOG_FORMAT, w,
               "imr must be an unsigned 32-bit integer");
    CBA_ENSURE(v <= 3, err, CBA_E_EVENTLOG_FORMAT, w, "imr %llu is not 0..3 (RTMR0..3)",
               (unsigned long long)v);
    ev->imr = (uint32_t)v;

    snprintf(w, sizeof w, "%s[%zu].event_type", log, i);
    CBA_ENSURE(cba_json_get_u64(obj, "event_type", UINT32_MAX, &v), err, CBA_E_EVENTLOG_FORMAT,
               w, "event_type must be an unsigned 32-bit integer");
    ev->event_type = (uint32_t)v;

    /* A missing or empty digest is a stripped one (TdxEvent::stripped, serde default). */
    snprintf(w, sizeof w, "%s[%zu].digest", log, i);
    CBA_TRY(get_str(err, obj, "digest", &s, &present, CBA_E_EVENTLOG_FORMAT, w));
    ev->has_digest = present && s.len != 0;
    if (ev->has_digest) {
        CBA_ENSURE(cba_hex_decode(ev->digest, sizeof ev->digest, (const char *)s.data, s.len), err,
                   CBA_E_EVENTLOG_FORMAT, w, "digest must be 48 bytes of hex or empty");
    }

    snprintf(w, sizeof w, "%s[%zu].event", log, i);
    CBA_ENSURE(cba_json_get_string(obj, "event", &ev->name), err, CBA_E_EVENTLOG_FORMAT, w,
               "event (the name) must be a JSON string");

    snprintf(w, sizeof w, "%s[%zu].event_payload", log, i);
    CBA_ENSURE(cba_json_get_string(obj, "event_payload", &s), err, CBA_E_EVENTLOG_FORMAT, w,
               "event_payload must be a JSON string");
    CBA_ENSURE(decode_hex_var(st, s, &ev->payload), err, CBA_E_EVENTLOG_FORMAT, w,
               "event_payload is not hex");

    ev->version = 1; /* omitted = 1 (dstack skips serialising V1) */
    snprintf(w, sizeof w, "%s[%zu].version", log, i);
    if (cba_json_has(obj, "version")) {
        CBA_ENSURE(cba_json_get_u64(obj, "version", UINT32_MAX, &v), err, CBA_E_EVENTLOG_FORMAT,
                   w, "version must be an integer");
        CBA_ENSURE(v == 1 || v == 2, err, CBA_E_EVENTLOG_FORMAT, w,
                   "event log version %llu is not supported (1 or 2)", (unsigned long long)v);
        ev->version = (uint32_t)v;
    }
    /* V2 exists only for dstack runtime events; a boot event claiming it is not a known shape. */
    CBA_ENSURE(ev->version == 1 || ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE, err,
               CBA_E_EVENTLOG_FORMAT, w, "version 2 on a non-runtime event");

    snprintf(w, sizeof w, "%s[%zu].preimage", log, i);
    CBA_TRY(get_str(err, obj, "preimage", &s, &present, CBA_E_EVENTLOG_FORMAT, w));
    ev->has_preimage = present;
    if (present) {
        /* Boot-event preimages live in the firmware log, never here; one we cannot check is
         * refused rather than displayed as if it were measured. */
        CBA_ENSURE(ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE, err, CBA_E_EVENTLOG_FORMAT, w,
                   "preimage on a non-runtime event");
        CBA_ENSURE(decode_hex_var(st, s, &ev->preimage), err, CBA_E_EVENTLOG_FORMAT, w,
                   "preimage is not hex");
    }
    return CBA_OK;
}

static cba_err parse_events(cba_error *err, cba_info *info, info_storage *st,
                            const json_object *arr, const char *log)
{
    size_t n;
    CBA_ENSURE(arr != NULL && json_object_is_type(arr, json_type_array), err,
               CBA_E_EVENTLOG_FORMAT, log, "event log must be a JSON array");
    n = json_object_array_length(arr);
    CBA_ENSURE(n <= CBA_EVENTLOG_MAX_EVENTS, err, CBA_E_EVENTLOG_FORMAT, log,
               "%zu events (at most %d)", n, CBA_EVENTLOG_MAX_EVENTS);
    info->events = calloc(n ? n : 1, sizeof *info->events);
    CBA_ENSURE(info->events != NULL, err, CBA_E_NOMEM, log, "cannot allocate %zu events", n);
    for (size_t i = 0; i < n; i++) {
        CBA_TRY(parse_event(err, st, &info->events[i], json_object_array_get_idx(arr, i), log, i));
        info->num_events = i + 1;
    }
    return CBA_OK;
}

/* ---- the two response shapes -------------------------------------------------------------- */

static cba_err parse_getquote(cba_error *err, cba_info *info, info_storage *st)
{
    cbs quote_hex, log_text;
    bool present;
    uint8_t *q;
    size_t qlen;

    /* A response claiming both shapes could carry a quote in one and a log in the other. */
    CBA_ENSURE(!cba_json_has(st->root, "app_cert") && !cba_json_has(st->root, "tcb_info"), err,
               CBA_E_INFO_FORMAT, "info", "both quote and app_cert/tcb_info: ambiguous response");
    CBA_TRY(get_str(err, st->root, "quote", &quote_hex, &present, CBA_E_INFO_FORMAT,
                    "info.quote"));
    CBA_ENSURE(quote_hex.len != 0, err, CBA_E_QUOTE_MISSING, "info.quote", "quote is empty");
    CBA_ENSURE(quote_hex.len % 2 == 0, err, CBA_E_INFO_FORMAT, "info.quote",
               "quote hex has an odd length");
    CBA_TRY(get_str(err, st->root, "event_log", &log_text, &present, CBA_E_INFO_FORMAT,
                    "info.event_log"));
    CBA_ENSURE(present, err, CBA_E_EVENTLOG_FORMAT, "info.event_log",
               "GetQuote response has no event_log");
    CBA_TRY(cba_json_parse(err, &st->elog, log_text, CBA_JSON_MAX_DEPTH, CBA_E_EVENTLOG_FORMAT,
                           "info.event_log"));

    qlen = quote_hex.len / 2;
    CBA_TRY(alloc_arena(err, st, qlen, st->elog));
    q = arena_take(st, qlen);
    CBA_ENSURE(q != NULL, err, CBA_E_INTERNAL, "info.quote", "arena exhausted");
    CBA_ENSURE(cba_hex_decode(q, qlen, (const char *)quote_hex.data, quote_hex.len), err,
               CBA_E_INFO_FORMAT, "info.quote", "quote is not hex");
    info->quote = cbs_make(q, qlen);
    return parse_events(err, info, st, st->elog, "event_log");
}

/* parse_app_cert decodes app_cert, takes the quote from the leaf's .1.1 extension and the
 * leaf's SPKI (the RA-TLS key), and reports the .1.2 event-log extension if there is one. */
static cba_err parse_app_cert(cba_error *err, cba_info *info, info_storage *st, cbs *out_log,
                              bool *out_has_log)
{
    cba_pem_chain chain;
    cba_cert leaf;
    cbs ext;
    size_t cap;

    *out_has_log = false;
    if (info->app_cert_pem.len == 0) {
        /* The dstack agent answers "" until it has its certificate from the KMS (or when that
         * failed): no quote in this response. A separately given fresh quote serves; without
         * one, quote_parse fails with CBA_E_QUOTE_MISSING. */
        return CBA_OK;
    }
    cap = info->app_cert_pem.len / 4 * 3 + 3; /* base64 never decodes to more than 3/4 */
    st->der = malloc(cap);
    CBA_ENSURE(st->der != NULL, err, CBA_E_NOMEM, "info.app_cert", "cannot allocate %zu bytes",
               cap);
    CBA_TRY(cba_pem_chain_decode(err, &chain, info->app_cert_pem, st->der, cap));
    CBA_ENSURE(chain.num_certs >= 1, err, CBA_E_PEM, "info.app_cert", "no certificate");
    CBA_TRY(cba_cert_parse(err, &leaf, chain.certs[0]));

    CBA_ENSURE(cba_cert_find_extension(&leaf, k_oid_app_quote, sizeof k_oid_app_quote, &ext), err,
               CBA_E_QUOTE_MISSING, "app_cert.quote",
               "the app certificate has no quote extension (1.3.6.1.4.1.62397.1.1)");
    CBA_ENSURE(unwrap_octet_string(ext, &info->quote), err, CBA_E_DER, "app_cert.quote",
               "extension value is not exactly one DER OCTET STRING");
    CBA_ENSURE(info->quote.len != 0, err, CBA_E_QUOTE_MISSING, "app_cert.quote",
               "the quote extension is empty");
    info->quote_from_cert = true;
    info->cert_spki = leaf.spki; /* points into st->der, which this object owns */

    if (cba_cert_find_extension(&leaf, k_oid_app_eventlog, sizeof k_oid_app_eventlog, &ext)) {
        CBA_ENSURE(unwrap_octet_string(ext, out_log), err, CBA_E_DER, "app_cert.event_log",
                   "extension value is not exactly one DER OCTET STRING");
        *out_has_log = true;
    }
    return CBA_OK;
}

static cba_err parse_tcb_info(cba_error *err, cba_info *info, info_storage *st, cbs text)
{
    static const char *const rtmr_keys[4] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
    static const char *const rtmr_where[4] = { "tcb_info.rtmr0", "tcb_info.rtmr1",
                                               "tcb_info.rtmr2", "tcb_info.rtmr3" };
    uint8_t os_hash[32];
    bool has_os_hash;
    bool present;

    CBA_TRY(cba_json_parse(err, &st->tcb, text, CBA_JSON_MAX_DEPTH, CBA_E_JSON, "info.tcb_info"));
    CBA_ENSURE(json_object_is_type(st->tcb, json_type_object), err, CBA_E_INFO_FORMAT,
               "info.tcb_info", "tcb_info must hold a JSON object");
    info->has_tcb_info = true;
    CBA_TRY(get_hex_fixed(err, st->tcb, "mrtd", info->mrtd_claim, 48, false, &info->has_mrtd_claim,
                          CBA_E_INFO_FORMAT, "tcb_info.mrtd"));
    for (size_t r = 0; r < 4; r++) {
        CBA_TRY(get_hex_fixed(err, st->tcb, rtmr_keys[r], info->rtmr_claim[r], 48, false,
                              &info->has_rtmr_claim[r], CBA_E_INFO_FORMAT, rtmr_where[r]));
    }
    CBA_TRY(get_hex_fixed(err, st->tcb, "compose_hash", info->tcb_compose_hash, 32, false,
                          &info->has_tcb_compose_hash, CBA_E_INFO_FORMAT, "tcb_info.compose_hash"));
    CBA_TRY(get_hex_fixed(err, st->tcb, "os_image_hash", os_hash, 32, false, &has_os_hash,
                          CBA_E_INFO_FORMAT, "tcb_info.os_image_hash"));
    if (has_os_hash) {
        /* Two different claims for one value mean the response is not self-consistent. */
        CBA_ENSURE(!info->has_os_image_hash || memcmp(os_hash, info->os_image_hash, 32) == 0, err,
                   CBA_E_INFO_FORMAT, "tcb_info.os_image_hash",
                   "differs from the top-level os_image_hash");
        memcpy(info->os_image_hash, os_hash, 32);
        info->has_os_image_hash = true;
    }
    {
        uint8_t agg[32];
        bool has_agg;
        CBA_TRY(get_hex_fixed(err, st->tcb, "mr_aggregated", agg, 32, false, &has_agg,
                              CBA_E_INFO_FORMAT, "tcb_info.mr_aggregated"));
        if (has_agg) {
            CBA_ENSURE(!info->has_mr_aggregated || memcmp(agg, info->mr_aggregated, 32) == 0, err,
                       CBA_E_INFO_FORMAT, "tcb_info.mr_aggregated",
                       "differs from the top-level mr_aggregated");
            memcpy(info->mr_aggregated, agg, 32);
            info->has_mr_aggregated = true;
        }
    }
    /* The exact bytes json-c unescaped: the UTF-8 of app-compose.json as the guest read it. */
    CBA_TRY(get_str(err, st->tcb, "app_compose", &info->app_compose, &present, CBA_E_INFO_FORMAT,
                    "tcb_info.app_compose"));
    info->has_app_compose = present;
    return CBA_OK;
}

static cba_err parse_app_info(cba_error *err, cba_info *info, info_storage *st, const cbs *quote_log)
{
    json_object *log_arr = NULL;
    const char *log_name;
    cbs tcb_text, cert_log = cbs_make(NULL, 0), prefix;
    bool present, has_cert_log;

    CBA_TRY(get_hex_fixed(err, st->root, "app_id", info->app_id, 20, false, &info->has_app_id,
                          CBA_E_INFO_FORMAT, "info.app_id"));
    CBA_TRY(get_hex_fixed(err, st->root, "instance_id", info->instance_id, 20, true,
                          &info->has_instance_id, CBA_E_INFO_FORMAT, "info.instance_id"));
    CBA_TRY(get_hex_fixed(err, st->root, "compose_hash", info->compose_hash, 32, false,
                          &info->has_compose_hash, CBA_E_INFO_FORMAT, "info.compose_hash"));
    CBA_TRY(get_hex_fixed(err, st->root, "os_image_hash", info->os_image_hash, 32, false,
                          &info->has_os_image_hash, CBA_E_INFO_FORMAT, "info.os_image_hash"));
    CBA_TRY(get_hex_fixed(err, st->root, "mr_aggregated", info->mr_aggregated, 32, false,
                          &info->has_mr_aggregated, CBA_E_INFO_FORMAT, "info.mr_aggregated"));
    CBA_TRY(get_str(err, st->root, "key_provider_info", &info->key_provider_info, &present,
                    CBA_E_INFO_FORMAT, "info.key_provider_info"));
    CBA_TRY(get_str(err, st->root, "app_cert", &info->app_cert_pem, &present, CBA_E_INFO_FORMAT,
                    "info.app_cert"));

    /* public_tcbinfo=false empties tcb_info; without it nothing ties the compose file or the
     * claims to the quote, so it is a hard failure (§8 item 16), never a skipped check. */
    CBA_TRY(get_str(err, st->root, "tcb_info", &tcb_text, &present, CBA_E_INFO_FORMAT,
                    "info.tcb_info"));
    CBA_ENSURE(present && tcb_text.len != 0, err, CBA_E_INFO_FORMAT, "info.tcb_info",
               "tcb_info is hidden (public_tcbinfo=false): cannot verify");
    CBA_TRY(parse_tcb_info(err, info, st, tcb_text));

    CBA_TRY(parse_app_cert(err, info, st, &cert_log, &has_cert_log));

    if (quote_log != NULL) {
        /* The log that came with the fresh quote: the only one that replays to its RTMR3 once
         * a runtime event followed this response. The response's own log and its certificate's
         * copy are not used (nor checked against it). */
        CBA_TRY(cba_json_parse(err, &st->elog, *quote_log, CBA_JSON_MAX_DEPTH, CBA_E_EVENTLOG_FORMAT,
                               "quote.event_log"));
        CBA_ENSURE(json_object_is_type(st->elog, json_type_array), err, CBA_E_EVENTLOG_FORMAT,
                   "quote.event_log", "event_log must be a JSON array");
        info->log_from_quote = true;
        log_arr = st->elog;
        log_name = "quote.event_log";
    } else if (cba_json_has(st->tcb, "event_log")) {
        CBA_ENSURE(cba_json_get_array(st->tcb, "event_log", &log_arr), err, CBA_E_EVENTLOG_FORMAT,
                   "tcb_info.event_log", "event_log must be a JSON array");
        log_name = "tcb_info.event_log";
        /* A second copy in the certificate is checked against this one once it has been
         * replayed (cba_eventlog_check_cert_copy). A compressed copy (ELGZv1) cannot be read
         * without an inflater: like the rest of the certificate outside its key and quote, it
         * stays unchecked and unused. */
        cbs c = cert_log;
        if (has_cert_log && !(cbs_get_bytes(&c, &prefix, 6) && cbs_eq_str(prefix, "ELGZv1"))) {
            info->has_cert_log_copy = true;
            info->cert_log_copy = cert_log;
        }
    } else {
        CBA_ENSURE(has_cert_log, err, CBA_E_EVENTLOG_FORMAT, "info",
                   "no event log in tcb_info or in the app certificate");
        /* Inflating would need a zlib and a bomb cap; the tcb_info log or GetQuote serve. */
        cbs c = cert_log;
        CBA_ENSURE(!(cbs_get_bytes(&c, &prefix, 6) && cbs_eq_str(prefix, "ELGZv1")), err,
                   CBA_E_EVENTLOG_FORMAT, "app_cert.event_log",
                   "compressed event log (ELGZv1) not supported; use tcb_info or GetQuote");
        CBA_TRY(cba_json_parse(err, &st->elog, cert_log, CBA_JSON_MAX_DEPTH,
                               CBA_E_EVENTLOG_FORMAT, "app_cert.event_log"));
        log_arr = st->elog;
        log_name = "app_cert.event_log";
    }
    CBA_TRY(alloc_arena(err, st, 0, log_arr));
    return parse_events(err, info, st, log_arr, log_name);
}

static cba_err parse_response(cba_error *err, cba_info *info, info_storage *st, cbs json, const cbs *quote_log)
{
    CBA_TRY(cba_json_parse(err, &st->root, json, CBA_JSON_MAX_DEPTH, CBA_E_JSON, "info"));
    CBA_ENSURE(json_object_is_type(st->root, json_type_object), err, CBA_E_INFO_FORMAT, "info",
               "response must be a JSON object");
    if (cba_json_has(st->root, "quote")) {
        CBA_ENSURE(quote_log == NULL, err, CBA_E_INFO_FORMAT, "info",
                   "a GetQuote response carries its own event log: no second one can be given");
        info->format = CBA_INFO_GETQUOTE;
        return parse_getquote(err, info, st);
    }
    CBA_ENSURE(cba_json_has(st->root, "app_cert") || cba_json_has(st->root, "tcb_info") ||
                   cba_json_has(st->root, "app_id"),
               err, CBA_E_INFO_FORMAT, "info",
               "neither a GetQuote (quote) nor an Info (app_id, tcb_info, app_cert) response");
    info->format = cba_json_has(st->root, "vm_config") || cba_json_has(st->root, "mr_aggregated") ||
                           cba_json_has(st->root, "cloud_vendor")
                       ? CBA_INFO_DSTACK
                       : CBA_INFO_TAPPD;
    return parse_app_info(err, info, st, quote_log);
}

static cba_err info_parse(cba_error *err, cba_info **out, cbs json, const cbs *quote_log)
{
    cba_info *info;
    info_storage *st;
    cba_err rc;

    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, "info", "no output pointer");
    *out = NULL;
    CBA_ENSURE(json.len <= CBA_INFO_MAX_LEN, err, CBA_E_INFO_FORMAT, "info",
               "response is %zu bytes (at most %u)", json.len, CBA_INFO_MAX_LEN);
    info = calloc(1, sizeof *info);
    st = calloc(1, sizeof *st);
    if (info == NULL || st == NULL) {
        free(info);
        free(st);
        return cba_fail(err, CBA_E_NOMEM, "info", "cannot allocate the info object");
    }
    info->storage = st;
    rc = parse_response(err, info, st, json, quote_log);
    if (rc != CBA_OK) {
        cba_info_free(info);
        return rc;
    }
    *out = info;
    return CBA_OK;
}

cba_err cba_info_parse(cba_error *err, cba_info **out, cbs json)
{
    return info_parse(err, out, json, NULL);
}

cba_err cba_info_parse_with_log(cba_error *err, cba_info **out, cbs json, cbs quote_log)
{
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, "info", "no output pointer");
    *out = NULL;
    CBA_ENSURE(quote_log.len <= CBA_INFO_MAX_LEN, err, CBA_E_EVENTLOG_FORMAT, "quote.event_log",
               "the log is %zu bytes (at most %u)", quote_log.len, CBA_INFO_MAX_LEN);
    return info_parse(err, out, json, &quote_log);
}

void cba_info_free(cba_info *info)
{
    info_storage *st;
    if (info == NULL) { return; }
    st = info->storage;
    if (st != NULL) {
        if (st->root != NULL) { json_object_put(st->root); }
        if (st->tcb != NULL) { json_object_put(st->tcb); }
        if (st->elog != NULL) { json_object_put(st->elog); }
        free(st->der);
        free(st->arena);
        free(st);
    }
    free(info->events);
    free(info);
}
