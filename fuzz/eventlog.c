/* fuzz/eventlog.c. Target: the event-log half of cba_info_parse plus cba_eventlog_check_digests,
 * cba_eventlog_identity and cba_dstack_v2_preimage. The input is the event-log JSON array; the
 * harness wraps it into a GetQuote-shaped response {"quote":"00","event_log":"<input>"} (JSON
 * string escaping applied), as the guest agent's GetQuote returns it. Seeds: fuzz/corpus/eventlog/.
 * Properties: a failure returns the code recorded in err and leaves *out NULL; every event view
 * lies in the parsed object; the V2 canonical JSON of every runtime event parses back (json-c)
 * to exactly its name and lowercase-hex payload with the three keys in sorted order and is never
 * written past a short buffer; a digest check that passes agrees with an independent
 * recomputation; identity values equal the first matching event before the first system-ready. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dstack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool cond)
{
    if (!cond) { abort(); }
}

/* wrap builds the GetQuote text: controls, quote and backslash escaped, other bytes verbatim. */
static char *wrap(const uint8_t *data, size_t size, size_t *out_len)
{
    static const char head[] = "{\"quote\":\"00\",\"event_log\":\"";
    static const char tail[] = "\"}";
    static const char hexd[] = "0123456789abcdef";
    char *out = malloc(sizeof head + 6 * size + sizeof tail), *p;
    if (out == NULL) { return NULL; }
    memcpy(out, head, sizeof head - 1);
    p = out + sizeof head - 1;
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hexd[c >> 4];
            p[5] = hexd[c & 0xf];
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    memcpy(p, tail, sizeof tail - 1);
    *out_len = (size_t)(p - out) + sizeof tail - 1;
    return out;
}

/* check_canonical round-trips the V2 encoding of one event through json-c. */
static void check_canonical(const cba_event *ev)
{
    size_t n = cba_dstack_v2_preimage(NULL, 0, ev->name, ev->payload);
    uint8_t *buf = malloc(n + 1);
    char *hex = malloc(2 * ev->payload.len + 1);
    json_object *o, *v;
    json_tokener *tok;
    check(n != 0 && buf != NULL && hex != NULL);
    memset(buf, 0xa5, n + 1);
    check(cba_dstack_v2_preimage(buf, n - 1, ev->name, ev->payload) == n);
    check(buf[0] == 0xa5); /* a short buffer is left alone */
    check(cba_dstack_v2_preimage(buf, n + 1, ev->name, ev->payload) == n && buf[n] == 0xa5);
    check(n > 9 && memcmp(buf, "{\"name\":\"", 9) == 0);
    tok = json_tokener_new();
    check(tok != NULL);
    o = json_tokener_parse_ex(tok, (const char *)buf, (int)n);
    check(o != NULL && json_tokener_get_parse_end(tok) == n);
    check(json_object_object_length(o) == 3);
    check(json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string));
    check(cbs_eq(cbs_make((const uint8_t *)json_object_get_string(v),
                          (size_t)json_object_get_string_len(v)),
                 ev->name));
    cba_hex_encode(hex, ev->payload.data, ev->payload.len);
    check(json_object_object_get_ex(o, "payload", &v) &&
          strcmp(json_object_get_string(v), hex) == 0);
    check(json_object_object_get_ex(o, "type", &v) && json_object_get_int64(v) == 134217729);
    json_object_put(o);
    json_tokener_free(tok);
    free(hex);
    free(buf);
}

static void check_identity(const cba_info *info)
{
    cba_dstack_ids ids;
    bool seen_app = false, seen_compose = false;
    if (cba_eventlog_identity(NULL, &ids, info) != CBA_OK) { return; }
    for (size_t i = 0; i < info->num_events; i++) {
        const cba_event *ev = &info->events[i];
        if (ev->event_type != CBA_DSTACK_RUNTIME_EVENT_TYPE || ev->imr != 3) { continue; }
        if (cbs_eq_str(ev->name, "system-ready")) {
            check(ids.has_system_ready);
            break;
        }
        if (!seen_app && cbs_eq_str(ev->name, "app-id")) {
            check(ids.has_app_id && cbs_eq_mem(ev->payload, ids.app_id, 20));
            seen_app = true;
        }
        if (!seen_compose && cbs_eq_str(ev->name, "compose-hash")) {
            check(ids.has_compose_hash && cbs_eq_mem(ev->payload, ids.compose_hash, 32));
            seen_compose = true;
        }
    }
    check(ids.has_app_id == seen_app && ids.has_compose_hash == seen_compose);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cba_info sentinel;
    cba_info *info = &sentinel;
    cba_error e;
    cba_err rc;
    size_t len = 0;
    char *text = wrap(data, size, &len);
    uint8_t(*d)[48];
    if (text == NULL) { return 0; }
    cba_error_clear(&e);
    rc = cba_info_parse(&e, &info, cbs_make((const uint8_t *)text, len));
    free(text);
    check(rc == e.code);
    if (rc != CBA_OK) {
        check(info == NULL);
        return 0;
    }
    check(info->format == CBA_INFO_GETQUOTE && info->quote.len == 1);
    d = calloc(info->num_events ? info->num_events : 1, sizeof *d);
    check(d != NULL);
    for (size_t i = 0; i < info->num_events; i++) {
        if (info->events[i].event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE) {
            check_canonical(&info->events[i]);
        }
    }
    if (cba_eventlog_check_digests(NULL, d, info) == CBA_OK) {
        for (size_t i = 0; i < info->num_events; i++) {
            const cba_event *ev = &info->events[i];
            uint8_t want[48];
            if (ev->event_type != CBA_DSTACK_RUNTIME_EVENT_TYPE) {
                check(memcmp(d[i], ev->digest, 48) == 0);
                continue;
            }
            if (ev->version == 2) {
                check(ev->has_preimage && cba_sha384(want, &ev->preimage, 1));
            } else {
                static const uint8_t pre[4] = { 0x01, 0x00, 0x00, 0x08 };
                const cbs parts[5] = { cbs_make(pre, 4), cbs_make((const uint8_t *)":", 1),
                                       ev->name, cbs_make((const uint8_t *)":", 1), ev->payload };
                check(cba_sha384(want, parts, 5));
            }
            check(memcmp(d[i], want, 48) == 0);
            check(!ev->has_digest || memcmp(ev->digest, want, 48) == 0);
        }
    }
    check_identity(info);
    free(d);
    cba_info_free(info);
    return 0;
}
