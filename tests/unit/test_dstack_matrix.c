/* test_dstack_matrix.c — one row per dstack check (dcap-spec §6, §8 item 16) on evidence from the
 * test PKI (testkit/mkevidence): the guest-agent response shapes (Tappd.Info, Info, GetQuote), the
 * event log and its V1/V2 runtime digests, RTMR replay, claims against the quote, the compose,
 * app-id and MRCONFIGID bindings and the RA-TLS report data. Each row changes the default options
 * (dstack Info, KMS mode, MRCONFIGID V1: verified at MKE_DEFAULT_NOW) and names the exact check
 * and error it expects; every row also runs through the fast path (cba_collateral_verify once,
 * then cba_verify_with), which must agree. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>

#include "matrix.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "mkevidence.h"

TestSuite(dstack_matrix, .timeout = 30);

#define NOW MKE_DEFAULT_NOW
#define RT MKE_RUNTIME_EVENT_TYPE

/* Which parts of the evidence the verifier is given. */
typedef enum ev_mode {
    EV_QUOTE_AND_INFO = 0, /* as `verify --quote --info` */
    EV_INFO_ONLY,          /* the quote comes from the response (app cert or GetQuote) */
    EV_QUOTE_ONLY,         /* no guest-agent response */
    EV_NOTHING             /* neither (collateral only) */
} ev_mode;

typedef struct row {
    const char *name;
    void (*opts)(mke_options *o);
    void (*pol)(cba_policy *p, const mke_evidence *ev);
    void (*mut)(mke_evidence *ev);
    ev_mode mode;
    cba_check check; /* CBA_CHECK_COUNT: VERIFIED expected */
    cba_err err;
} row;

#define REJ(name, o, p, chk, e) { name, o, p, NULL, EV_QUOTE_AND_INFO, CBA_CHECK_##chk, CBA_E_##e }
#define REJ_M(name, o, p, mode, chk, e) { name, o, p, NULL, mode, CBA_CHECK_##chk, CBA_E_##e }
#define REJ_MUT(name, m, chk, e) { name, NULL, NULL, m, EV_QUOTE_AND_INFO, CBA_CHECK_##chk, CBA_E_##e }
#define ACC(name, o, p) { name, o, p, NULL, EV_QUOTE_AND_INFO, CBA_CHECK_COUNT, CBA_OK }
#define ACC_M(name, o, p, mode) { name, o, p, NULL, mode, CBA_CHECK_COUNT, CBA_OK }

#define O(fn, body) \
    static void fn(mke_options *o) { body; }
#define P(fn, body) \
    static void fn(cba_policy *p, const mke_evidence *ev) { (void)ev; body; }

static const uint8_t k_fake_compose[32] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
                                            0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
                                            0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
                                            0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
static const uint8_t k_fake_id[20] = { 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
                                       0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb };
static const char k_key_provider_local[] = "{\"name\":\"local-sgx\",\"id\":\"00ff\"}";
static const char k_hotkey[] = "5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX";

/* add_event appends an event before (post == false) or after system-ready. */
static void add_event(mke_options *o, bool post, uint32_t imr, uint32_t type, const char *name,
                      const void *payload, size_t len)
{
    mke_event *e = post ? &o->info.post_ready_events[o->info.num_post_ready_events++]
                        : &o->info.extra_events[o->info.num_extra_events++];
    *e = (mke_event){ imr, type, name, payload, len };
}

/* set_mrconfig_raw writes MRCONFIGID = version || body[0..n) || zeros. */
static void set_mrconfig_raw(mke_options *o, uint8_t version, const uint8_t *body, size_t n)
{
    o->info.mrconfig = MKE_MRCONFIG_RAW;
    memset(o->quote.mrconfigid, 0, 48);
    o->quote.mrconfigid[0] = version;
    memcpy(o->quote.mrconfigid + 1, body, n);
}

/* compose_of returns the compose hash of the options' app-compose.json. */
static void compose_of(const mke_options *o, uint8_t out[32])
{
    cr_assert(cba_compose_hash(out, (const uint8_t *)o->info.app_compose, strlen(o->info.app_compose)));
}

/* ---- Response shapes and event-log placement --------------------------------------------- */
O(o_tappd, o->info.format = MKE_INFO_TAPPD)
O(o_getquote, o->info.format = MKE_INFO_GETQUOTE)
O(o_quote_only, o->info.format = MKE_INFO_NONE)
O(o_elog_cert, o->info.event_log_at = MKE_ELOG_CERT)
O(o_elog_both, o->info.event_log_at = MKE_ELOG_BOTH)
O(o_elog_cert_tappd, { o->info.format = MKE_INFO_TAPPD; o->info.event_log_at = MKE_ELOG_CERT; })
O(o_v2, o->info.event_version = 2)
O(o_v2_getquote, { o->info.event_version = 2; o->info.format = MKE_INFO_GETQUOTE; })
O(o_v2_elog_cert, { o->info.event_version = 2; o->info.event_log_at = MKE_ELOG_CERT; })
O(o_stripped, o->info.strip_runtime_digests = true)
O(o_stripped_v2, { o->info.strip_runtime_digests = true; o->info.event_version = 2; })
O(o_empty_instance, o->info.empty_instance_id = true)
O(o_no_kms, { o->info.kms_events = false; o->info.key_provider = NULL; })
O(o_no_system_ready, o->info.omit_system_ready = true)
O(o_v5, { o->quote.version = 5; o->quote.body_type = 3; })

/* ---- Events ----------------------------------------------------------------------------------- */
O(o_post_ready_compose, add_event(o, true, 3, RT, "compose-hash", k_fake_compose, 32))
O(o_post_ready_app_id, add_event(o, true, 3, RT, "app-id", k_fake_id, 20))
O(o_post_ready_app_event, add_event(o, true, 3, RT, "LIUM_MINER_HOTKEY", k_hotkey, strlen(k_hotkey)))
O(o_post_ready_system_ready, add_event(o, true, 3, RT, "system-ready", NULL, 0))
O(o_dup_app_id, add_event(o, false, 3, RT, "app-id", k_fake_id, 20))
O(o_dup_compose, add_event(o, false, 3, RT, "compose-hash", k_fake_compose, 32))
O(o_dup_instance, add_event(o, false, 3, RT, "instance-id", k_fake_id, 20))
O(o_dup_key_provider, add_event(o, false, 3, RT, "key-provider", k_key_provider_local,
                                strlen(k_key_provider_local)))
O(o_dup_os_image, add_event(o, false, 3, RT, "os-image-hash", k_fake_compose, 32))
O(o_app_id_19_bytes, { o->info.omit_event = "app-id"; add_event(o, false, 3, RT, "app-id", k_fake_id, 19); })
O(o_compose_31_bytes, { o->info.omit_event = "compose-hash";
                        add_event(o, false, 3, RT, "compose-hash", k_fake_compose, 31); })
O(o_instance_19_bytes, { o->info.omit_event = "instance-id";
                         add_event(o, false, 3, RT, "instance-id", k_fake_id, 19); })
O(o_runtime_on_imr2, add_event(o, false, 2, RT, "crabbox-extra", k_fake_id, 20))
O(o_runtime_compose_on_imr0, add_event(o, false, 0, RT, "compose-hash", k_fake_compose, 32))
O(o_boot_event_on_imr3, add_event(o, false, 3, 6, "", k_fake_id, 20))
O(o_boot_event_on_imr3_post, add_event(o, true, 3, 0x80000001u, "", k_fake_id, 20))
O(o_omit_compose, o->info.omit_event = "compose-hash")
O(o_omit_app_id, o->info.omit_event = "app-id")
O(o_omit_instance, o->info.omit_event = "instance-id")
O(o_tamper_compose_digest, o->info.tamper_event = "compose-hash")
O(o_tamper_app_id_digest, o->info.tamper_event = "app-id")
O(o_tamper_ready_digest, o->info.tamper_event = "system-ready")
O(o_tamper_post_ready_digest, { add_event(o, true, 3, RT, "LIUM_MINER_HOTKEY", k_hotkey, strlen(k_hotkey));
                                o->info.tamper_event = "LIUM_MINER_HOTKEY"; })
O(o_tamper_digest_getquote, { o->info.format = MKE_INFO_GETQUOTE; o->info.tamper_event = "app-id"; })
O(o_tamper_digest_elog_cert, { o->info.event_log_at = MKE_ELOG_CERT; o->info.tamper_event = "compose-hash"; })
O(o_v2_preimage, { o->info.event_version = 2; o->info.tamper_preimage = "compose-hash"; })
O(o_v2_preimage_ready, { o->info.event_version = 2; o->info.tamper_preimage = "system-ready"; })
O(o_v2_preimage_getquote, { o->info.event_version = 2; o->info.format = MKE_INFO_GETQUOTE;
                            o->info.tamper_preimage = "app-id"; })
O(o_v2_tamper_digest, { o->info.event_version = 2; o->info.tamper_event = "app-id"; })

/* ---- RTMRs and claims ---------------------------------------------------------------------- */
O(o_rtmr3_other, { o->quote.has_rtmr[3] = true; memset(o->quote.rtmr[3], 0x5c, 48); })
O(o_rtmr0_other, { o->quote.has_rtmr[0] = true; memset(o->quote.rtmr[0], 0x5c, 48); })
O(o_rtmr2_zero, o->quote.has_rtmr[2] = true)
O(o_claim_mrtd, o->info.tamper_claim = "mrtd")
O(o_claim_rtmr0, o->info.tamper_claim = "rtmr0")
O(o_claim_rtmr1_tappd, { o->info.format = MKE_INFO_TAPPD; o->info.tamper_claim = "rtmr1"; })
O(o_claim_rtmr2, o->info.tamper_claim = "rtmr2")
O(o_claim_rtmr3, o->info.tamper_claim = "rtmr3")
O(o_claim_compose, o->info.tamper_claim = "compose_hash")
O(o_claim_tcb_compose, o->info.tamper_claim = "tcb_info.compose_hash")
O(o_claim_app_compose, o->info.tamper_claim = "app_compose")
O(o_claim_app_compose_tappd, { o->info.format = MKE_INFO_TAPPD; o->info.tamper_claim = "app_compose"; })
O(o_claim_app_id, o->info.tamper_claim = "app_id")
O(o_hide_tcb_info, o->info.hide_tcb_info = true)
O(o_hide_tcb_info_elog_cert, { o->info.hide_tcb_info = true; o->info.event_log_at = MKE_ELOG_CERT; })
O(o_hide_tcb_info_tappd, { o->info.hide_tcb_info = true; o->info.format = MKE_INFO_TAPPD; })

/* ---- MRCONFIGID (§6.6) ------------------------------------------------------------------------ */
O(o_mrconfig_zero, o->info.mrconfig = MKE_MRCONFIG_ZERO)
O(o_mrconfig_v2, o->info.mrconfig = MKE_MRCONFIG_V2)
O(o_mrconfig_v2_local, { o->info.mrconfig = MKE_MRCONFIG_V2; o->info.key_provider = k_key_provider_local; })
O(o_mrconfig_v2_v2events, { o->info.mrconfig = MKE_MRCONFIG_V2; o->info.event_version = 2; })
O(o_mrconfig_v1_other, set_mrconfig_raw(o, 1, k_fake_compose, 32))
static void o_mrconfig_v1_tail(mke_options *o)
{
    uint8_t h[32];
    compose_of(o, h);
    set_mrconfig_raw(o, 1, h, 32);
    o->quote.mrconfigid[47] = 1;
}
static void o_mrconfig_v1_raw_ok(mke_options *o)
{
    uint8_t h[32];
    compose_of(o, h);
    set_mrconfig_raw(o, 1, h, 32);
}
O(o_mrconfig_v2_other, set_mrconfig_raw(o, 2, k_fake_compose, 32))
O(o_mrconfig_v2_app_id_differs, { o->info.mrconfig = MKE_MRCONFIG_V2; o->info.omit_event = "app-id";
                                  add_event(o, false, 3, RT, "app-id", k_fake_id, 20); })
O(o_mrconfig_v2_no_key_provider, { o->info.mrconfig = MKE_MRCONFIG_V2;
                                   o->info.omit_event = "key-provider"; })
O(o_mrconfig_v3, set_mrconfig_raw(o, 3, k_fake_compose, 32))
O(o_mrconfig_vff, set_mrconfig_raw(o, 0xff, k_fake_compose, 32))

/* ---- Report data -------------------------------------------------------------------------- */
O(o_rd_other, { o->quote.has_report_data = true; memset(o->quote.report_data, 0x33, 64); })
O(o_rd_other_tappd, { o_rd_other(o); o->info.format = MKE_INFO_TAPPD; })
O(o_rd_other_getquote, { o_rd_other(o); o->info.format = MKE_INFO_GETQUOTE; })

/* ---- Policies ------------------------------------------------------------------------------ */
P(p_expect_ids, { p->has_app_id = true; memcpy(p->app_id, ev->app_id, 20);
                  p->has_compose_hash = true; memcpy(p->compose_hash, ev->compose_hash, 32); })
P(p_wrong_app_id, { p->has_app_id = true; memcpy(p->app_id, ev->app_id, 20); p->app_id[19] ^= 1; })
P(p_wrong_compose, { p->has_compose_hash = true; memcpy(p->compose_hash, ev->compose_hash, 32);
                     p->compose_hash[0] ^= 1; })
P(p_fake_compose, { p->has_compose_hash = true; memcpy(p->compose_hash, k_fake_compose, 32); })
P(p_fake_app_id, { p->has_app_id = true; memcpy(p->app_id, k_fake_id, 20); })
P(p_report_data_right, { p->has_report_data = true; memcpy(p->report_data, ev->report_data, 64); })
P(p_report_data_wrong, { p->has_report_data = true; memset(p->report_data, 0x44, 64); })
P(p_pin_rtmr_right, { for (int i = 0; i < 3; i++) { p->has_rtmr[i] = true; memcpy(p->rtmr[i], ev->rtmr[i], 48); } })
P(p_skip_dcap, p->skip_dcap = true)

/* ---- Mutations ------------------------------------------------------------------------------ */
static void m_quote_differs(mke_evidence *ev)
{
    ev->quote.data[ev->quote.len - 1] ^= 0x01; /* a trailing zero: only the bytes differ */
}
static void m_info_truncated(mke_evidence *ev) { ev->info_json.len /= 2; }
static void m_info_array(mke_evidence *ev)
{
    memcpy(ev->info_json.data, "[1]", 3);
    ev->info_json.len = 3;
}
static void m_info_duplicate_app_id(mke_evidence *ev)
{
    /* {"app_id":"<40 hex>",... -> {"app_id":"<40 hex>","app_id":"<40 hex>",... */
    static const char key[] = "\"app_id\":\"";
    char *p = strstr((char *)ev->info_json.data, key);
    size_t member = sizeof key - 1 + 40 + 2, off, n = ev->info_json.len;
    uint8_t *grown;
    cr_assert_not_null(p, "no app_id member");
    off = (size_t)(p - (char *)ev->info_json.data);
    grown = realloc(ev->info_json.data, n + member + 1);
    cr_assert_not_null(grown);
    memmove(grown + off + member, grown + off, n - off + 1);
    ev->info_json.data = grown;
    ev->info_json.len = n + member;
}

/* info_replace replaces the first `from` in the response with `to` (same length). */
static void info_replace(mke_evidence *ev, const char *from, const char *to)
{
    char *hit = strstr((char *)ev->info_json.data, from);
    cr_assert_not_null(hit, "\"%s\" not in the response", from);
    cr_assert_eq(strlen(from), strlen(to));
    memcpy(hit, to, strlen(to));
}
/* The event log sits in a JSON string (tcb_info or event_log), so its quotes are escaped. */
static void m_event_version_3(mke_evidence *ev) { info_replace(ev, "\\\"version\\\":2", "\\\"version\\\":3"); }
static void m_event_imr_4(mke_evidence *ev) { info_replace(ev, "\\\"imr\\\":0", "\\\"imr\\\":4"); }

/* ---- The table -------------------------------------------------------------------------------- */
static row k_rows[] = {
    /* Positive: each response shape, each place of the event log, each event version. */
    ACC("dstack_info", NULL, NULL),
    ACC_M("dstack_info_quote_from_cert", NULL, NULL, EV_INFO_ONLY),
    ACC("tappd_info", o_tappd, NULL),
    ACC_M("tappd_info_quote_from_cert", o_tappd, NULL, EV_INFO_ONLY),
    ACC("getquote_form", o_getquote, NULL),
    ACC_M("getquote_form_quote_from_response", o_getquote, NULL, EV_INFO_ONLY),
    ACC_M("quote_only", o_quote_only, NULL, EV_QUOTE_ONLY),
    ACC_M("quote_only_dstack_evidence", NULL, NULL, EV_QUOTE_ONLY),
    ACC("eventlog_only_in_cert_extension", o_elog_cert, NULL),
    ACC_M("eventlog_only_in_cert_extension_info_only", o_elog_cert, NULL, EV_INFO_ONLY),
    ACC("eventlog_only_in_cert_extension_tappd", o_elog_cert_tappd, NULL),
    ACC("eventlog_in_tcb_info_and_cert", o_elog_both, NULL),
    ACC("events_v2", o_v2, NULL),
    ACC("events_v2_getquote", o_v2_getquote, NULL),
    ACC("events_v2_in_cert_extension", o_v2_elog_cert, NULL),
    ACC("runtime_digests_stripped", o_stripped, NULL),
    ACC("runtime_digests_stripped_v2", o_stripped_v2, NULL),
    ACC("empty_instance_id", o_empty_instance, NULL),
    ACC("no_instance_id_event", o_omit_instance, NULL),
    ACC("no_kms_events_no_key_provider", o_no_kms, NULL),
    ACC("no_system_ready_event", o_no_system_ready, NULL),
    ACC("quote_v5_td15", o_v5, NULL),
    ACC("app_compose_hash_event_after_system_ready_ignored", o_post_ready_compose, NULL),
    ACC("app_id_event_after_system_ready_ignored", o_post_ready_app_id, NULL),
    ACC("app_event_after_system_ready", o_post_ready_app_event, NULL),
    ACC("second_system_ready_after_ready", o_post_ready_system_ready, NULL),
    ACC("expected_app_id_and_compose_hash", NULL, p_expect_ids),
    ACC("expected_ids_with_v2_events", o_v2, p_expect_ids),
    ACC("expected_report_data_and_ratls", NULL, p_report_data_right),
    ACC("getquote_report_data_is_not_ratls", o_rd_other_getquote, NULL),
    ACC("pinned_rtmr0_2", NULL, p_pin_rtmr_right),
    ACC("mrconfigid_zero", o_mrconfig_zero, NULL),
    ACC("mrconfigid_v1_raw", o_mrconfig_v1_raw_ok, NULL),
    ACC("mrconfigid_v2", o_mrconfig_v2, NULL),
    ACC("mrconfigid_v2_local_key_provider", o_mrconfig_v2_local, NULL),
    ACC("mrconfigid_v2_with_v2_events", o_mrconfig_v2_v2events, NULL),
    ACC("skip_dcap_dstack_checks_pass", NULL, p_skip_dcap),

    /* Response and evidence shape. */
    REJ_MUT("given_quote_differs_from_response", m_quote_differs, QUOTE_PARSE, QUOTE_FORMAT),
    REJ_M("no_quote_at_all", NULL, NULL, EV_NOTHING, QUOTE_PARSE, QUOTE_MISSING),
    REJ_MUT("info_truncated", m_info_truncated, EVENT_LOG, JSON),
    REJ_MUT("info_not_an_object", m_info_array, EVENT_LOG, INFO_FORMAT),
    REJ_MUT("info_duplicate_key", m_info_duplicate_app_id, EVENT_LOG, JSON),
    { "event_version_3", o_v2, NULL, m_event_version_3, EV_QUOTE_AND_INFO, CBA_CHECK_EVENT_LOG,
      CBA_E_EVENTLOG_FORMAT },
    REJ_MUT("event_imr_4", m_event_imr_4, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("hidden_tcb_info", o_hide_tcb_info, NULL, EVENT_LOG, INFO_FORMAT),
    REJ("hidden_tcb_info_event_log_in_cert", o_hide_tcb_info_elog_cert, NULL, EVENT_LOG, INFO_FORMAT),
    REJ("hidden_tcb_info_tappd", o_hide_tcb_info_tappd, NULL, EVENT_LOG, INFO_FORMAT),

    /* Event log identity (before system-ready). */
    REJ("duplicate_app_id_before_system_ready", o_dup_app_id, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("duplicate_compose_hash_before_system_ready", o_dup_compose, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("duplicate_instance_id_before_system_ready", o_dup_instance, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("duplicate_key_provider_before_system_ready", o_dup_key_provider, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("duplicate_os_image_hash_before_system_ready", o_dup_os_image, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("app_id_payload_19_bytes", o_app_id_19_bytes, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("compose_hash_payload_31_bytes", o_compose_31_bytes, NULL, EVENT_LOG, EVENTLOG_FORMAT),
    REJ("instance_id_payload_19_bytes", o_instance_19_bytes, NULL, EVENT_LOG, EVENTLOG_FORMAT),

    /* Event digests: recomputed, never trusted; runtime events only on RTMR3. */
    REJ("tampered_runtime_digest_compose_hash", o_tamper_compose_digest, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("tampered_runtime_digest_app_id", o_tamper_app_id_digest, NULL, EVENT_DIGESTS, EVENT_DIGEST_MISMATCH),
    REJ("tampered_runtime_digest_system_ready", o_tamper_ready_digest, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("tampered_runtime_digest_app_event", o_tamper_post_ready_digest, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("tampered_runtime_digest_getquote", o_tamper_digest_getquote, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("tampered_runtime_digest_cert_log", o_tamper_digest_elog_cert, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("tampered_runtime_digest_v2", o_v2_tamper_digest, NULL, EVENT_DIGESTS, EVENT_DIGEST_MISMATCH),
    REJ("v2_event_preimage_mismatch", o_v2_preimage, NULL, EVENT_DIGESTS, EVENT_DIGEST_MISMATCH),
    REJ("v2_event_preimage_mismatch_system_ready", o_v2_preimage_ready, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("v2_event_preimage_mismatch_getquote", o_v2_preimage_getquote, NULL, EVENT_DIGESTS,
        EVENT_DIGEST_MISMATCH),
    REJ("runtime_event_on_wrong_imr", o_runtime_on_imr2, NULL, EVENT_DIGESTS, EVENTLOG_FORMAT),
    REJ("runtime_compose_hash_on_imr0", o_runtime_compose_on_imr0, NULL, EVENT_DIGESTS, EVENTLOG_FORMAT),
    REJ("boot_event_on_imr3", o_boot_event_on_imr3, NULL, EVENT_DIGESTS, EVENTLOG_FORMAT),
    REJ("boot_event_on_imr3_after_system_ready", o_boot_event_on_imr3_post, NULL, EVENT_DIGESTS,
        EVENTLOG_FORMAT),

    /* RTMR replay. */
    REJ("rtmr3_differs_from_replay", o_rtmr3_other, NULL, RTMR_REPLAY, RTMR_MISMATCH),
    REJ("rtmr0_differs_from_replay", o_rtmr0_other, NULL, RTMR_REPLAY, RTMR_MISMATCH),
    REJ("rtmr2_zero", o_rtmr2_zero, NULL, RTMR_REPLAY, RTMR_MISMATCH),

    /* Claims in the response against the quote. */
    REJ("tampered_claim_mrtd", o_claim_mrtd, NULL, QUOTE_MEASUREMENTS, MEASUREMENT_CLAIM_MISMATCH),
    REJ("tampered_claim_rtmr0", o_claim_rtmr0, NULL, QUOTE_MEASUREMENTS, MEASUREMENT_CLAIM_MISMATCH),
    REJ("tampered_claim_rtmr1_tappd", o_claim_rtmr1_tappd, NULL, QUOTE_MEASUREMENTS, MEASUREMENT_CLAIM_MISMATCH),
    REJ("tampered_claim_rtmr2", o_claim_rtmr2, NULL, QUOTE_MEASUREMENTS, MEASUREMENT_CLAIM_MISMATCH),
    REJ("tampered_claim_rtmr3", o_claim_rtmr3, NULL, QUOTE_MEASUREMENTS, MEASUREMENT_CLAIM_MISMATCH),
    REJ("tampered_claim_compose_hash", o_claim_compose, NULL, COMPOSE_BINDING, COMPOSE_HASH_MISMATCH),
    REJ("tampered_claim_tcb_info_compose_hash", o_claim_tcb_compose, NULL, COMPOSE_BINDING,
        COMPOSE_HASH_MISMATCH),
    REJ("tampered_claim_app_compose", o_claim_app_compose, NULL, COMPOSE_BINDING, COMPOSE_HASH_MISMATCH),
    REJ("tampered_claim_app_compose_tappd", o_claim_app_compose_tappd, NULL, COMPOSE_BINDING,
        COMPOSE_HASH_MISMATCH),
    REJ("tampered_claim_app_id", o_claim_app_id, NULL, APP_ID, APP_ID_MISMATCH),

    /* Compose binding, MRCONFIGID, app id. */
    REJ("wrong_expected_compose_hash", NULL, p_wrong_compose, COMPOSE_BINDING, COMPOSE_HASH_MISMATCH),
    REJ("expected_compose_hash_of_app_event_after_ready", o_post_ready_compose, p_fake_compose,
        COMPOSE_BINDING, COMPOSE_HASH_MISMATCH),
    REJ_M("expected_compose_hash_without_response", o_quote_only, p_fake_compose, EV_QUOTE_ONLY,
          COMPOSE_BINDING, COMPOSE_HASH_MISMATCH),
    REJ("no_compose_hash_event", o_omit_compose, NULL, COMPOSE_BINDING, COMPOSE_HASH_MISMATCH),
    REJ("mrconfigid_v1_mismatch", o_mrconfig_v1_other, NULL, COMPOSE_BINDING, MRCONFIGID_MISMATCH),
    REJ("mrconfigid_v1_tail_nonzero", o_mrconfig_v1_tail, NULL, COMPOSE_BINDING, MRCONFIGID_MISMATCH),
    REJ("mrconfigid_v2_mismatch", o_mrconfig_v2_other, NULL, COMPOSE_BINDING, MRCONFIGID_MISMATCH),
    REJ("mrconfigid_v2_other_app_id", o_mrconfig_v2_app_id_differs, NULL, COMPOSE_BINDING,
        MRCONFIGID_MISMATCH),
    REJ("mrconfigid_v2_without_key_provider", o_mrconfig_v2_no_key_provider, NULL, COMPOSE_BINDING,
        MRCONFIGID_MISMATCH),
    REJ("mrconfigid_v3_not_a_binding", o_mrconfig_v3, NULL, COMPOSE_BINDING, MRCONFIGID_MISMATCH),
    REJ("mrconfigid_unknown_version", o_mrconfig_vff, NULL, COMPOSE_BINDING, MRCONFIGID_MISMATCH),
    REJ("wrong_expected_app_id", NULL, p_wrong_app_id, APP_ID, APP_ID_MISMATCH),
    REJ("expected_app_id_of_app_event_after_ready", o_post_ready_app_id, p_fake_app_id, APP_ID,
        APP_ID_MISMATCH),
    REJ_M("expected_app_id_without_response", o_quote_only, p_fake_app_id, EV_QUOTE_ONLY, APP_ID,
          APP_ID_MISMATCH),
    REJ("no_app_id_event", o_omit_app_id, NULL, APP_ID, APP_ID_MISMATCH),

    /* Report data: RA-TLS binding when the quote comes from the app certificate. */
    REJ("ratls_report_data_mismatch", o_rd_other, NULL, REPORT_DATA, REPORT_DATA_MISMATCH),
    REJ_M("ratls_report_data_mismatch_quote_from_cert", o_rd_other, NULL, EV_INFO_ONLY, REPORT_DATA,
          REPORT_DATA_MISMATCH),
    REJ("ratls_report_data_mismatch_tappd", o_rd_other_tappd, NULL, REPORT_DATA, REPORT_DATA_MISMATCH),
    REJ("expected_report_data_mismatch", NULL, p_report_data_wrong, REPORT_DATA, REPORT_DATA_MISMATCH),
    REJ("expected_report_data_mismatch_getquote", o_getquote, p_report_data_wrong, REPORT_DATA,
        REPORT_DATA_MISMATCH),
};

#define NUM_ROWS (sizeof k_rows / sizeof k_rows[0])

/* ---- Running a row --------------------------------------------------------------------------- */

static void expect_report(const row *r, const mke_options *o, const mke_evidence *ev,
                          const cba_report *rep, cba_err rc, const char *path)
{
    if (r->check != CBA_CHECK_COUNT) {
        cr_expect_eq(rep->verdict, CBA_VERDICT_REJECTED, "%s [%s]: verified, expected a rejection",
                     r->name, path);
        cr_expect_eq(rep->failed_check, r->check, "%s [%s]: failed at %s (%s: %s: %s), expected %s",
                     r->name, path, cba_check_name(rep->failed_check), cba_err_name(rep->error.code),
                     rep->error.where, rep->error.detail, cba_check_name(r->check));
        cr_expect_eq(rep->error.code, r->err, "%s [%s]: %s (%s: %s), expected %s", r->name, path,
                     cba_err_name(rep->error.code), rep->error.where, rep->error.detail,
                     cba_err_name(r->err));
        cr_expect_eq(rc, r->err, "%s [%s]: returned %s", r->name, path, cba_err_name(rc));
        cr_expect_eq(rep->checks[r->check].status, CBA_CHECK_FAIL, "%s [%s]: check not marked failed",
                     r->name, path);
        for (int c = (int)r->check + 1; c < CBA_CHECK_COUNT; c++) {
            cr_expect_eq(rep->checks[c].status, CBA_CHECK_NOT_RUN, "%s [%s]: %s ran after the failure",
                         r->name, path, cba_check_name((cba_check)c));
        }
        cr_expect_not(rep->has_dstack, "%s [%s]: dstack facts published on rejection", r->name, path);
        return;
    }
    cr_expect_eq(rc, CBA_OK, "%s [%s]: %s at %s: %s (%s)", r->name, path, cba_err_name(rc),
                 cba_check_name(rep->failed_check), rep->error.detail, rep->error.where);
    cr_expect_eq(rep->verdict, CBA_VERDICT_VERIFIED, "%s [%s]: not verified", r->name, path);
    for (int c = 0; c < CBA_CHECK_COUNT; c++) {
        cr_expect(rep->checks[c].status == CBA_CHECK_PASS || rep->checks[c].status == CBA_CHECK_SKIP,
                  "%s [%s]: verified but %s is %s", r->name, path, cba_check_name((cba_check)c),
                  cba_check_status_name(rep->checks[c].status));
    }
    if (r->mode == EV_QUOTE_ONLY || o->info.format == MKE_INFO_NONE) {
        cr_expect_not(rep->has_dstack, "%s [%s]: dstack facts without a response", r->name, path);
        cr_expect_eq(rep->checks[CBA_CHECK_EVENT_LOG].status, CBA_CHECK_SKIP, "%s [%s]", r->name, path);
        return;
    }
    /* The identity comes from the event log before system-ready, never from app events. */
    cr_expect(rep->has_dstack, "%s [%s]: no dstack facts", r->name, path);
    cr_expect_eq(rep->num_events, ev->num_events, "%s [%s]: %zu events, generated %zu", r->name, path,
                 rep->num_events, ev->num_events);
    cr_expect(rep->has_app_id && memcmp(rep->app_id, ev->app_id, 20) == 0, "%s [%s]: app id", r->name, path);
    cr_expect(rep->has_compose_hash && memcmp(rep->compose_hash, ev->compose_hash, 32) == 0,
              "%s [%s]: compose hash", r->name, path);
    cr_expect_eq(rep->has_instance_id,
                 !o->info.empty_instance_id &&
                     (o->info.omit_event == NULL || strcmp(o->info.omit_event, "instance-id") != 0),
                 "%s [%s]: instance id", r->name, path);
    cr_expect_eq(rep->ratls_bound, o->info.format != MKE_INFO_GETQUOTE, "%s [%s]: RA-TLS binding",
                 r->name, path);
    cr_expect_eq(rep->mrconfigid_version, rep->mrconfigid[0], "%s [%s]: MRCONFIGID version", r->name, path);
}

static void run_row(const row *r)
{
    mke_options o;
    mke_evidence ev;
    cba_policy pol;
    cba_evidence e;
    cba_report *rep = calloc(1, sizeof *rep);
    cba_collateral *coll = NULL;
    cba_err rc;

    cr_assert_not_null(rep);
    cba_report_init(rep);
    cba_evidence_init(&e);
    mke_options_init(&o);
    if (r->opts != NULL) { r->opts(&o); }
    cr_assert(mke_generate(&ev, &o), "%s: mke_generate: %s", r->name, ev.error);
    if (r->mut != NULL) { r->mut(&ev); }
    cba_policy_init(&pol);
    pol.trust_root_der = ev.root_der.data;
    pol.trust_root_der_len = ev.root_der.len;
    if (r->pol != NULL) { r->pol(&pol, &ev); }

    if (r->mode == EV_QUOTE_AND_INFO || r->mode == EV_QUOTE_ONLY) {
        e.quote = ev.quote.data;
        e.quote_len = ev.quote.len;
    }
    if (r->mode == EV_QUOTE_AND_INFO || r->mode == EV_INFO_ONLY) {
        e.info_json = ev.info_json.data;
        e.info_json_len = ev.info_json.len;
    }
    if (!pol.skip_dcap) {
        e.collateral_json = ev.collateral_json.data;
        e.collateral_json_len = ev.collateral_json.len;
    }
    rc = cba_verify(rep, &pol, &e, NOW);
    expect_report(r, &o, &ev, rep, rc, "cba_verify");

    e.collateral_json = NULL;
    e.collateral_json_len = 0;
    if (!pol.skip_dcap) {
        rc = cba_collateral_verify(&coll, rep, &pol, ev.collateral_json.data, ev.collateral_json.len, NOW);
        cr_assert_eq(rc, CBA_OK, "%s: collateral: %s (%s)", r->name, cba_err_name(rc), rep->error.detail);
    }
    rc = cba_verify_with(rep, &pol, coll, &e, NOW);
    expect_report(r, &o, &ev, rep, rc, "cba_verify_with");
    cba_collateral_free(coll);
    mke_evidence_free(&ev);
    free(rep);
}

MATRIX_CHUNKED_ROWS(dstack_matrix, k_rows, NUM_ROWS, run_row, 90)

Test(dstack_matrix, every_dstack_check_has_a_negative_row)
{
    static const cba_check dstack[] = {
        CBA_CHECK_EVENT_LOG, CBA_CHECK_EVENT_DIGESTS, CBA_CHECK_RTMR_REPLAY,
        CBA_CHECK_QUOTE_MEASUREMENTS, CBA_CHECK_COMPOSE_BINDING, CBA_CHECK_APP_ID,
        CBA_CHECK_REPORT_DATA,
    };
    for (size_t i = 0; i < sizeof dstack / sizeof dstack[0]; i++) {
        size_t n = 0;
        for (size_t k = 0; k < NUM_ROWS; k++) { n += k_rows[k].check == dstack[i]; }
        cr_expect_gt(n, 0, "no row expects %s to fail", cba_check_name(dstack[i]));
    }
}
