/* dstack.c — dstack guest-agent evidence (dcap-spec §6): the Info / Tappd.Info / GetQuote
 * responses, the tcb_info claims, the event log, runtime-event digests (V1 and V2), RTMR replay,
 * identity events, MRCONFIGID and the RA-TLS report-data binding. See dstack.h for the contract.
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

/* le32(CBA_DSTACK_RUNTIME_EVENT_TYPE): the first four bytes of every V1 runtime preimage. */
static const uint8_t k_runtime_type_le[4] = { 0x01, 0x00, 0x00, 0x08 };
static const uint8_t k_colon[1] = { ':' };

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
    CBA_ENSURE(info->app_cert_pem.len != 0, err, CBA_E_QUOTE_MISSING, "info.app_cert",
               "no app_cert, so no quote to verify");
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

static cba_err parse_app_info(cba_error *err, cba_info *info, info_storage *st)
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

    if (cba_json_has(st->tcb, "event_log")) {
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

static cba_err parse_response(cba_error *err, cba_info *info, info_storage *st, cbs json)
{
    CBA_TRY(cba_json_parse(err, &st->root, json, CBA_JSON_MAX_DEPTH, CBA_E_JSON, "info"));
    CBA_ENSURE(json_object_is_type(st->root, json_type_object), err, CBA_E_INFO_FORMAT, "info",
               "response must be a JSON object");
    if (cba_json_has(st->root, "quote")) {
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
    return parse_app_info(err, info, st);
}

cba_err cba_info_parse(cba_error *err, cba_info **out, cbs json)
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
    rc = parse_response(err, info, st, json);
    if (rc != CBA_OK) {
        cba_info_free(info);
        return rc;
    }
    *out = info;
    return CBA_OK;
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

/* ---- digests and replay --------------------------------------------------------------------- */

/* RFC 8785 output: a sink that counts always and writes only while it fits. */
typedef struct jcs_sink {
    uint8_t *out;
    size_t cap, len;
    bool overflow;
} jcs_sink;

static void sink_put(jcs_sink *s, const void *bytes, size_t n)
{
    size_t end;
    if (s->overflow || __builtin_add_overflow(s->len, n, &end)) {
        s->overflow = true;
        return;
    }
    if (s->out != NULL && end <= s->cap && n != 0) { memcpy(s->out + s->len, bytes, n); }
    s->len = end;
}

static void sink_str(jcs_sink *s, const char *str)
{
    sink_put(s, str, strlen(str));
}

/* sink_json_string writes a JSON string with RFC 8785 §3.2.2.2 escaping: the two mandatory
 * escapes, the five short control escapes, \u00xx (lowercase) for the other controls; every
 * other byte (including non-ASCII UTF-8 and DEL) verbatim. */
static void sink_json_string(jcs_sink *s, cbs str)
{
    static const char hexd[] = "0123456789abcdef";
    sink_put(s, "\"", 1);
    for (size_t i = 0; i < str.len; i++) {
        uint8_t c = cbs_byte(str, i);
        switch (c) {
        case '"': sink_str(s, "\\\""); break;
        case '\\': sink_str(s, "\\\\"); break;
        case '\b': sink_str(s, "\\b"); break;
        case '\f': sink_str(s, "\\f"); break;
        case '\n': sink_str(s, "\\n"); break;
        case '\r': sink_str(s, "\\r"); break;
        case '\t': sink_str(s, "\\t"); break;
        default:
            if (c < 0x20) {
                char esc[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 0xf] };
                sink_put(s, esc, sizeof esc);
            } else {
                sink_put(s, &c, 1);
            }
        }
    }
    sink_put(s, "\"", 1);
}

/* emit_v2 writes the canonical object; keys in sorted order: name < payload < type. */
static void emit_v2(jcs_sink *s, cbs name, cbs payload)
{
    static const char hexd[] = "0123456789abcdef";
    sink_str(s, "{\"name\":");
    sink_json_string(s, name);
    sink_str(s, ",\"payload\":\"");
    for (size_t i = 0; i < payload.len; i++) {
        uint8_t b = cbs_byte(payload, i);
        char h[2] = { hexd[b >> 4], hexd[b & 0xf] };
        sink_put(s, h, 2);
    }
    sink_str(s, "\",\"type\":134217729}");
}

size_t cba_dstack_v2_preimage(uint8_t *out, size_t cap, cbs name, cbs payload)
{
    jcs_sink probe = { NULL, 0, 0, false }, writer = { out, cap, 0, false };
    /* Measure first so that a too-small buffer is never partly written. */
    emit_v2(&probe, name, payload);
    if (probe.overflow) { return 0; }
    if (out == NULL || probe.len > cap) { return probe.len; }
    emit_v2(&writer, name, payload);
    return writer.len;
}

static bool v1_digest(uint8_t out[48], const cba_event *ev)
{
    const cbs parts[5] = { cbs_make(k_runtime_type_le, 4), cbs_make(k_colon, 1), ev->name,
                           cbs_make(k_colon, 1), ev->payload };
    return cba_sha384(out, parts, CBA_ARRAY_LEN(parts));
}

/* v1_preimage_matches: a V1 preimage, when supplied, is le32(type) ":" name ":" payload. */
static bool v1_preimage_matches(const cba_event *ev)
{
    cbs p = ev->preimage, part;
    return cbs_get_bytes(&p, &part, 4) && cbs_eq_mem(part, k_runtime_type_le, 4) &&
           cbs_get_bytes(&p, &part, 1) && cbs_eq_mem(part, k_colon, 1) &&
           cbs_get_bytes(&p, &part, ev->name.len) && cbs_eq(part, ev->name) &&
           cbs_get_bytes(&p, &part, 1) && cbs_eq_mem(part, k_colon, 1) &&
           cbs_get_bytes(&p, &part, ev->payload.len) && cbs_eq(part, ev->payload) && p.len == 0;
}

/* runtime_digest recomputes a runtime event's digest from its name and payload. */
static cba_err runtime_digest(cba_error *err, uint8_t out[48], const cba_event *ev,
                              const char *where)
{
    uint8_t *buf;
    size_t n;
    bool canonical, hashed;

    if (ev->version == 1) {
        CBA_ENSURE(!ev->has_preimage || v1_preimage_matches(ev), err,
                   CBA_E_EVENT_DIGEST_MISMATCH, where,
                   "supplied V1 preimage is not type || \":\" || name || \":\" || payload");
        CBA_ENSURE(v1_digest(out, ev), err, CBA_E_INTERNAL, where, "SHA-384 failed");
        return CBA_OK;
    }
    /* DSTACK validate_v2_preimages: present, hashes to the digest, and equal to the canonical
     * reconstruction, so that what is displayed is what was measured. */
    CBA_ENSURE(ev->has_preimage, err, CBA_E_EVENTLOG_FORMAT, where,
               "V2 runtime event has no digest preimage");
    n = cba_dstack_v2_preimage(NULL, 0, ev->name, ev->payload);
    CBA_ENSURE(n != 0, err, CBA_E_EVENTLOG_FORMAT, where, "V2 preimage too large");
    buf = malloc(n);
    CBA_ENSURE(buf != NULL, err, CBA_E_NOMEM, where, "cannot allocate %zu bytes", n);
    n = cba_dstack_v2_preimage(buf, n, ev->name, ev->payload);
    canonical = cbs_eq(ev->preimage, cbs_make(buf, n));
    hashed = cba_sha384(out, &(cbs){ buf, n }, 1);
    free(buf);
    CBA_ENSURE(canonical, err, CBA_E_EVENT_DIGEST_MISMATCH, where,
               "V2 preimage is not the canonical JSON of the event's name and payload");
    CBA_ENSURE(hashed, err, CBA_E_INTERNAL, where, "SHA-384 failed");
    return CBA_OK;
}

cba_err cba_eventlog_check_digests(cba_error *err, uint8_t (*out_digests)[48],
                                   const cba_info *info)
{
    char w[48];
    /* out_digests may be NULL for an empty log (nothing to hand to the replay). */
    CBA_ENSURE(info != NULL && (out_digests != NULL || info->num_events == 0), err,
               CBA_E_ARGUMENT, "event_log", "missing argument");
    for (size_t i = 0; i < info->num_events; i++) {
        const cba_event *ev = &info->events[i];
        bool runtime = ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE;
        uint8_t d[48];

        snprintf(w, sizeof w, "event_log[%zu]", i);
        CBA_ENSURE(ev->imr <= 3, err, CBA_E_EVENTLOG_FORMAT, w, "imr %u is not 0..3", ev->imr);
        CBA_ENSURE(ev->version == 1 || ev->version == 2, err, CBA_E_EVENTLOG_FORMAT, w,
                   "event log version %u is not supported", ev->version);
        /* Runtime events are extended into RTMR3 only; anything else in RTMR3 would be an
         * unrecognised measurement, and a runtime event elsewhere would dodge identity lookup. */
        CBA_ENSURE(!runtime || ev->imr == 3, err, CBA_E_EVENTLOG_FORMAT, w,
                   "dstack runtime event on imr %u (must be 3)", ev->imr);
        CBA_ENSURE(runtime || ev->imr != 3, err, CBA_E_EVENTLOG_FORMAT, w,
                   "imr 3 event of type 0x%08x is not a dstack runtime event", ev->event_type);
        if (!runtime) {
            CBA_ENSURE(ev->version == 1 && !ev->has_preimage, err, CBA_E_EVENTLOG_FORMAT, w,
                       "boot event with a version or preimage");
            CBA_ENSURE(ev->has_digest, err, CBA_E_EVENTLOG_FORMAT, w,
                       "boot event without a 48-byte digest");
            memcpy(out_digests[i], ev->digest, 48);
            continue;
        }
        /* Never trust a supplied runtime digest: the replay uses the recomputed one. */
        CBA_TRY(runtime_digest(err, d, ev, w));
        CBA_ENSURE(!ev->has_digest || cba_ct_eq(d, ev->digest, 48), err,
                   CBA_E_EVENT_DIGEST_MISMATCH, w,
                   "supplied digest differs from the recomputed V%u runtime digest", ev->version);
        memcpy(out_digests[i], d, 48);
    }
    return CBA_OK;
}

/* hex_equals: `hex` is exactly the hex (either case) of `bytes`. */
static bool hex_equals(cbs hex, cbs bytes)
{
    cbs pair;
    uint8_t b, want;
    if (hex.len != bytes.len * 2) { return false; }
    while (cbs_get_bytes(&hex, &pair, 2)) {
        if (!cba_hex_decode(&b, 1, (const char *)pair.data, 2) || !cbs_get_u8(&bytes, &want) ||
            b != want) {
            return false;
        }
    }
    return bytes.len == 0;
}

static cba_err check_copy_event(cba_error *err, const json_object *obj, const cba_event *ev,
                                const uint8_t digest[48], size_t i)
{
    char w[48];
    uint64_t imr, type;
    cbs name, payload, digest_hex;
    uint8_t d[48];
    bool runtime = ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE;
    snprintf(w, sizeof w, "app_cert.event_log[%zu]", i);
    CBA_ENSURE(json_object_is_type(obj, json_type_object) &&
                   cba_json_get_u64(obj, "imr", UINT32_MAX, &imr) && imr == ev->imr &&
                   cba_json_get_u64(obj, "event_type", UINT32_MAX, &type) &&
                   type == ev->event_type,
               err, CBA_E_EVENTLOG_FORMAT, w,
               "imr or event type differs from the same event in tcb_info.event_log");
    /* Same shape as a parsed event (name and payload are strings), but a boot event's name and
     * payload are informational there too, so only a runtime event's are compared. */
    CBA_ENSURE(cba_json_get_string(obj, "event", &name) &&
                   cba_json_get_string(obj, "event_payload", &payload),
               err, CBA_E_EVENTLOG_FORMAT, w, "event and event_payload must be strings");
    CBA_ENSURE(!runtime || (cbs_eq(name, ev->name) && hex_equals(payload, ev->payload)), err,
               CBA_E_EVENTLOG_FORMAT, w,
               "name or payload differs from the same event in tcb_info.event_log");
    CBA_ENSURE(cba_json_get_string(obj, "digest", &digest_hex) &&
                   (digest_hex.len != 0 || runtime),
               err, CBA_E_EVENTLOG_FORMAT, w, "a boot event needs its digest");
    CBA_ENSURE(digest_hex.len == 0 ||
                   (cba_hex_decode(d, 48, (const char *)digest_hex.data, digest_hex.len) &&
                    cba_ct_eq(d, digest, 48)),
               err, CBA_E_EVENTLOG_FORMAT, w, "digest differs from the replayed one");
    return CBA_OK;
}

cba_err cba_eventlog_check_cert_copy(cba_error *err, const cba_info *info,
                                     const uint8_t (*digests)[48])
{
    json_object *copy = NULL;
    cba_err rc = CBA_OK;
    size_t n;
    CBA_ENSURE(info != NULL, err, CBA_E_ARGUMENT, "event_log", "missing argument");
    if (!info->has_cert_log_copy) { return CBA_OK; }
    CBA_TRY(cba_json_parse(err, &copy, info->cert_log_copy, CBA_JSON_MAX_DEPTH,
                           CBA_E_EVENTLOG_FORMAT, "app_cert.event_log"));
    if (!json_object_is_type(copy, json_type_array)) {
        rc = cba_fail(err, CBA_E_EVENTLOG_FORMAT, "app_cert.event_log", "must be a JSON array");
        goto out;
    }
    n = json_object_array_length(copy);
    if (n > info->num_events) {
        rc = cba_fail(err, CBA_E_EVENTLOG_FORMAT, "app_cert.event_log",
                      "%zu events, more than tcb_info.event_log's %zu", n, info->num_events);
        goto out;
    }
    for (size_t i = 0; i < n && rc == CBA_OK; i++) {
        rc = check_copy_event(err, json_object_array_get_idx(copy, i), &info->events[i],
                              digests[i], i);
    }
out:
    json_object_put(copy);
    return rc;
}

bool cba_eventlog_replay(uint8_t out_rtmr[4][48], const cba_info *info,
                         const uint8_t (*digests)[48])
{
    memset(out_rtmr, 0, 4 * 48);
    if (info == NULL || (info->num_events != 0 && digests == NULL)) { return false; }
    for (size_t i = 0; i < info->num_events; i++) {
        uint32_t r = info->events[i].imr;
        uint8_t next[48];
        cbs parts[2];
        if (r > 3) { return false; }
        parts[0] = cbs_make(out_rtmr[r], 48);
        parts[1] = cbs_make(digests[i], 48);
        if (!cba_sha384(next, parts, 2)) { return false; }
        memcpy(out_rtmr[r], next, 48);
    }
    return true;
}

/* ---- identity ------------------------------------------------------------------------------ */

/* take_fixed copies a fixed-size identity payload, once. */
static cba_err take_fixed(cba_error *err, bool *have, uint8_t *dst, size_t n,
                          const cba_event *ev, const char *where, const char *name)
{
    CBA_ENSURE(!*have, err, CBA_E_EVENTLOG_FORMAT, where,
               "second %s event before system-ready", name);
    CBA_ENSURE(ev->payload.len == n, err, CBA_E_EVENTLOG_FORMAT, where,
               "%s payload is %zu bytes (expected %zu)", name, ev->payload.len, n);
    memcpy(dst, ev->payload.data, n);
    *have = true;
    return CBA_OK;
}

cba_err cba_eventlog_identity(cba_error *err, cba_dstack_ids *out, const cba_info *info)
{
    char w[48];
    CBA_ENSURE(out != NULL && info != NULL, err, CBA_E_ARGUMENT, "event_log", "missing argument");
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < info->num_events; i++) {
        const cba_event *ev = &info->events[i];
        if (ev->event_type != CBA_DSTACK_RUNTIME_EVENT_TYPE || ev->imr != 3) { continue; }
        snprintf(w, sizeof w, "event_log[%zu]", i);
        /* After system-ready the app itself may extend RTMR3 with any name (§6.5). */
        if (cbs_eq_str(ev->name, "system-ready")) {
            out->has_system_ready = true;
            break;
        }
        if (cbs_eq_str(ev->name, "app-id")) {
            CBA_TRY(take_fixed(err, &out->has_app_id, out->app_id, 20, ev, w, "app-id"));
        } else if (cbs_eq_str(ev->name, "compose-hash")) {
            CBA_TRY(take_fixed(err, &out->has_compose_hash, out->compose_hash, 32, ev, w,
                               "compose-hash"));
        } else if (cbs_eq_str(ev->name, "os-image-hash")) {
            CBA_TRY(take_fixed(err, &out->has_os_image_hash, out->os_image_hash, 32, ev, w,
                               "os-image-hash"));
        } else if (cbs_eq_str(ev->name, "instance-id")) {
            CBA_ENSURE(!out->has_instance_id, err, CBA_E_EVENTLOG_FORMAT, w,
                       "second instance-id event before system-ready");
            CBA_ENSURE(ev->payload.len == 20 || ev->payload.len == 0, err, CBA_E_EVENTLOG_FORMAT,
                       w, "instance-id payload is %zu bytes (expected 20 or 0)", ev->payload.len);
            out->instance_id = ev->payload;
            out->has_instance_id = true;
        } else if (cbs_eq_str(ev->name, "key-provider")) {
            CBA_ENSURE(!out->has_key_provider, err, CBA_E_EVENTLOG_FORMAT, w,
                       "second key-provider event before system-ready");
            out->key_provider = ev->payload;
            out->has_key_provider = true;
        }
    }
    return CBA_OK;
}

/* ---- MRCONFIGID ----------------------------------------------------------------------------- */

/* key_provider_kind maps the key-provider event's name to dstack's KeyProviderKind byte. */
static bool key_provider_kind(cbs name, uint8_t *out)
{
    if (cbs_eq_str(name, "none")) {
        *out = 0;
    } else if (cbs_eq_str(name, "local-sgx") || cbs_eq_str(name, "local")) {
        *out = 1;
    } else if (cbs_eq_str(name, "kms")) {
        *out = 2;
    } else if (cbs_eq_str(name, "tpm")) {
        *out = 3;
    } else {
        return false;
    }
    return true;
}

/* mrconfig_v2 computes 0x02 || Keccak-256(compose_hash || app_id || kind || id) || zeros, with
 * kind and id from the key-provider event's JSON (dstack-types mr_config.rs). */
static cba_err mrconfig_v2(cba_error *err, uint8_t expected[48], const cba_dstack_ids *ids)
{
    static const char *const where = "mrconfigid";
    json_object *kp = NULL;
    cbs name, id_hex = cbs_make(NULL, 0);
    uint8_t kind, *id = NULL;
    size_t id_len = 0;
    cba_err rc;

    CBA_ENSURE(ids->has_compose_hash && ids->has_app_id, err, CBA_E_MRCONFIGID_MISMATCH, where,
               "V2 needs the compose hash and the app id");
    CBA_ENSURE(ids->has_key_provider, err, CBA_E_MRCONFIGID_MISMATCH, where,
               "V2 needs the key provider (no key-provider event)");
    rc = cba_json_parse(err, &kp, ids->key_provider, 4, CBA_E_MRCONFIGID_MISMATCH,
                        "mrconfigid.key_provider");
    if (rc != CBA_OK) { goto out; }
    if (!json_object_is_type(kp, json_type_object) || !cba_json_get_string(kp, "name", &name) ||
        !key_provider_kind(name, &kind)) {
        rc = cba_fail(err, CBA_E_MRCONFIGID_MISMATCH, where,
                      "V2 needs the key provider (unknown or malformed key-provider event)");
        goto out;
    }
    if ((cba_json_has(kp, "id") && !cba_json_get_string(kp, "id", &id_hex)) ||
        id_hex.len % 2 != 0) {
        rc = cba_fail(err, CBA_E_MRCONFIGID_MISMATCH, where, "key-provider id is not hex");
        goto out;
    }
    id_len = id_hex.len / 2;
    if (id_len != 0) {
        id = malloc(id_len);
        if (id == NULL) {
            rc = cba_fail(err, CBA_E_NOMEM, where, "cannot allocate %zu bytes", id_len);
            goto out;
        }
        if (!cba_hex_decode(id, id_len, (const char *)id_hex.data, id_hex.len)) {
            rc = cba_fail(err, CBA_E_MRCONFIGID_MISMATCH, where, "key-provider id is not hex");
            goto out;
        }
    }
    {
        const cbs parts[4] = { cbs_make(ids->compose_hash, 32), cbs_make(ids->app_id, 20),
                               cbs_make(&kind, 1), cbs_make(id, id_len) };
        memset(expected, 0, 48);
        expected[0] = 2;
        if (!cba_keccak256(expected + 1, parts, CBA_ARRAY_LEN(parts))) {
            rc = cba_fail(err, CBA_E_INTERNAL, where, "Keccak-256 failed");
        }
    }
out:
    free(id);
    if (kp != NULL) { json_object_put(kp); }
    return rc;
}

cba_err cba_mrconfigid_check(cba_error *err, uint8_t *out_version, const uint8_t mrconfigid[48],
                             const cba_dstack_ids *ids)
{
    uint8_t expected[48] = { 0 };
    uint8_t version;

    CBA_ENSURE(mrconfigid != NULL && ids != NULL, err, CBA_E_ARGUMENT, "mrconfigid",
               "missing argument");
    if (cbs_all_zero(cbs_make(mrconfigid, 48))) {
        if (out_version != NULL) { *out_version = 0; }
        return CBA_OK; /* older dstack: not used */
    }
    version = mrconfigid[0];
    if (out_version != NULL) { *out_version = version; }
    switch (version) {
    case 1:
        CBA_ENSURE(ids->has_compose_hash, err, CBA_E_MRCONFIGID_MISMATCH, "mrconfigid",
                   "V1 needs the compose hash (no compose-hash event)");
        expected[0] = 1;
        memcpy(expected + 1, ids->compose_hash, 32);
        break;
    case 2: CBA_TRY(mrconfig_v2(err, expected, ids)); break;
    default:
        /* V3 hashes a separate document we are not given; never a silent pass. */
        return cba_fail(err, CBA_E_MRCONFIGID_MISMATCH, "mrconfigid",
                        "MRCONFIGID version %u not supported as a binding", version);
    }
    CBA_ENSURE(cba_ct_eq(expected, mrconfigid, 48), err, CBA_E_MRCONFIGID_MISMATCH, "mrconfigid",
               "V%u MRCONFIGID does not bind this compose hash%s", version,
               version == 2 ? ", app id and key provider" : "");
    return CBA_OK;
}

/* ---- RA-TLS -------------------------------------------------------------------------------- */

bool cba_ratls_report_data(uint8_t out[64], cbs spki)
{
    static const uint8_t prefix[] = { 'r', 'a', 't', 'l', 's', '-', 'c', 'e', 'r', 't', ':' };
    const cbs parts[2] = { cbs_make(prefix, sizeof prefix), spki };
    return cba_sha512(out, parts, 2);
}
