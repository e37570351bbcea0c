/* eventlog.c — the checks on a parsed dstack event log (dcap-spec §6): runtime-event digests (V1
 * and V2) always recomputed, RTMR replay, the app certificate's copy, identity events,
 * MRCONFIGID and the RA-TLS report-data binding. dstack.c parses the responses into the
 * cba_info these read; see dstack.h for the contract. Split out of dstack.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dstack.h"

#include "crypto.h"
#include "json.h"

/* le32(CBA_DSTACK_RUNTIME_EVENT_TYPE): the first four bytes of every V1 runtime preimage. */
static const uint8_t k_runtime_type_le[4] = { 0x01, 0x00, 0x00, 0x08 };
static const uint8_t k_colon[1] = { ':' };

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
