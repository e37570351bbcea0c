/* fuzz/info.c. Target: cba_info_parse (Tappd.Info / Info / GetQuote responses, the tcb_info
 * string, the app_cert PEM chain and its dstack extensions) and what runs on its result:
 * cba_eventlog_check_digests, cba_eventlog_replay, cba_eventlog_check_cert_copy,
 * cba_eventlog_identity, cba_mrconfigid_check, cba_ratls_report_data. Seeds: fuzz/corpus/info/.
 * Properties: a failure returns the code recorded in err (with a `where`) and leaves *out NULL;
 * a success has a non-empty quote, cert_spki exactly when the quote came from the certificate,
 * a format matching the shape, at most CBA_EVENTLOG_MAX_EVENTS events on imr 0..3 with version
 * 1 or 2 and preimages only on runtime events; parsing is deterministic; the digests handed to
 * the replay are the supplied ones for boot events and an independent recomputation for runtime
 * events (equal to any supplied digest); the replay equals an independent fold; MRCONFIGID all
 * zero always passes and V1 passes exactly when the compose hash is known and equal. */
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

/* expected_digest recomputes a runtime event's digest without the module's helpers, except the
 * canonical encoder (which the eventlog harness round-trips through json-c). */
static bool expected_digest(uint8_t out[48], const cba_event *ev)
{
    static const uint8_t pre[4] = { 0x01, 0x00, 0x00, 0x08 };
    if (ev->version == 1) {
        const cbs parts[5] = { cbs_make(pre, 4), cbs_make((const uint8_t *)":", 1), ev->name,
                               cbs_make((const uint8_t *)":", 1), ev->payload };
        return cba_sha384(out, parts, 5);
    }
    size_t n = cba_dstack_v2_preimage(NULL, 0, ev->name, ev->payload);
    uint8_t *buf = malloc(n ? n : 1);
    bool ok;
    check(n != 0 && buf != NULL);
    check(cba_dstack_v2_preimage(buf, n, ev->name, ev->payload) == n);
    ok = ev->has_preimage && cbs_eq(ev->preimage, cbs_make(buf, n)) &&
         cba_sha384(out, &(cbs){ buf, n }, 1);
    free(buf);
    return ok;
}

static void check_events(const cba_info *info)
{
    uint8_t(*d)[48] = calloc(info->num_events ? info->num_events : 1, sizeof *d);
    uint8_t rtmr[4][48], mine[4][48] = { { 0 } };
    cba_error e;
    cba_err rc;
    check(d != NULL);
    cba_error_clear(&e);
    rc = cba_eventlog_check_digests(&e, d, info);
    check(rc == e.code);
    if (rc == CBA_OK) {
        for (size_t i = 0; i < info->num_events; i++) {
            const cba_event *ev = &info->events[i];
            uint8_t want[48], next[48];
            if (ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE) {
                check(ev->imr == 3 && expected_digest(want, ev));
                check(!ev->has_digest || memcmp(want, ev->digest, 48) == 0);
            } else {
                check(ev->imr != 3 && ev->has_digest && ev->version == 1 && !ev->has_preimage);
                memcpy(want, ev->digest, 48);
            }
            check(memcmp(want, d[i], 48) == 0);
            const cbs parts[2] = { cbs_make(mine[ev->imr], 48), cbs_make(want, 48) };
            check(cba_sha384(next, parts, 2));
            memcpy(mine[ev->imr], next, 48);
        }
        check(cba_eventlog_replay(rtmr, info, (const uint8_t(*)[48])d));
        check(memcmp(rtmr, mine, sizeof mine) == 0);
        /* The certificate's copy of the log: a verdict with a reason, never a crash. */
        cba_error_clear(&e);
        rc = cba_eventlog_check_cert_copy(&e, info, (const uint8_t(*)[48])d);
        check(rc == e.code && (rc == CBA_OK || e.where[0] != '\0'));
        check(rc == CBA_OK || info->has_cert_log_copy);
    } else {
        check(e.where[0] != '\0');
    }
    free(d);
}

static void check_identity(const cba_info *info)
{
    cba_dstack_ids ids;
    cba_error e;
    uint8_t m[48] = { 0 }, version = 0xff;
    cba_error_clear(&e);
    if (cba_eventlog_identity(&e, &ids, info) != CBA_OK) {
        check(e.code == CBA_E_EVENTLOG_FORMAT);
        return;
    }
    check(!ids.has_instance_id || ids.instance_id.len == 0 || ids.instance_id.len == 20);
    check(cba_mrconfigid_check(NULL, &version, m, &ids) == CBA_OK && version == 0);
    m[0] = 1;
    if (ids.has_compose_hash) { memcpy(m + 1, ids.compose_hash, 32); }
    check((cba_mrconfigid_check(NULL, &version, m, &ids) == CBA_OK) == ids.has_compose_hash);
    check(version == 1);
    m[0] = 2;
    check(cba_mrconfigid_check(NULL, &version, m, &ids) != CBA_OK || ids.has_key_provider);
    m[0] = 3;
    check(cba_mrconfigid_check(NULL, &version, m, &ids) == CBA_E_MRCONFIGID_MISMATCH);
}

static void check_info(const cba_info *info)
{
    check(info->quote.len != 0);
    check(info->quote_from_cert == (info->format != CBA_INFO_GETQUOTE));
    check(info->quote_from_cert == (info->cert_spki.len != 0));
    check(info->format != CBA_INFO_GETQUOTE || !info->has_tcb_info);
    check(info->format == CBA_INFO_GETQUOTE || info->has_tcb_info);
    check(info->num_events <= CBA_EVENTLOG_MAX_EVENTS);
    check(info->num_events == 0 || info->events != NULL);
    for (size_t i = 0; i < info->num_events; i++) {
        const cba_event *ev = &info->events[i];
        check(ev->imr <= 3 && (ev->version == 1 || ev->version == 2));
        check(!ev->has_preimage || ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE);
        check(ev->version == 1 || ev->event_type == CBA_DSTACK_RUNTIME_EVENT_TYPE);
    }
    if (info->quote_from_cert) {
        uint8_t rd[64];
        check(cba_ratls_report_data(rd, info->cert_spki));
    }
    check_events(info);
    check_identity(info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cba_info sentinel;
    cba_info *info = &sentinel, *again = NULL;
    cba_error e;
    cba_err rc;
    cba_error_clear(&e);
    rc = cba_info_parse(&e, &info, cbs_make(data, size));
    check(rc == e.code);
    if (rc != CBA_OK) {
        check(info == NULL && e.where[0] != '\0');
        return 0;
    }
    check(info != NULL);
    check_info(info);
    check(cba_info_parse(NULL, &again, cbs_make(data, size)) == CBA_OK);
    check(again->format == info->format && cbs_eq(again->quote, info->quote) &&
          again->num_events == info->num_events);
    for (size_t i = 0; i < info->num_events; i++) {
        check(cbs_eq(again->events[i].payload, info->events[i].payload) &&
              cbs_eq(again->events[i].name, info->events[i].name));
    }
    cba_info_free(again);
    cba_info_free(info);
    return 0;
}
