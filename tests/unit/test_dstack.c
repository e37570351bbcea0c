/* test_dstack.c — dstack evidence (dcap-spec §6): the real crabbox Tappd.Info capture, GetQuote
 * shapes built from it, synthetic V2 events and RA-TLS certificates, and tampered twins. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dstack.h"
#include "testutil.h"

TestSuite(dstack, .timeout = 30);

#define INFO_REL "crabbox/real_attestation_info.json"
#define QUOTE_REL "crabbox/real_tdx_quote.bin"

/* Facts for the crabbox capture (fixtures/real/README.md). */
static const char k_mrtd_hex[] = "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7"
                                 "a4a13e14c536ec6c9c3c8fa87077";
static const char *const k_rtmr_hex[4] = {
    "68102e7b524af310f7b7d426ce75481e36c40f5d513a9009c046e9d37e31551f0134d954b496a3357fd61d03f07ffe96",
    "07e6f51aa763abfe75c3ddfbf4f425fe3f0ceff66d807a75e049303dce9addf68e7218729bd419638af63a370f65878c",
    "a2a58c9a959a4fa44bd6da0c97a2270c051faf12084cfe91ae900e4fdff6cdd4f69a82005e04ee920f231497894d677f",
    "700a470643dc8e2f4460aaa486fd7f98dc1416422951b56ae029340b7cd5d651efd7c9a39a03ce0f1147a340c919ce63",
};
static const char k_app_id_hex[] = "944edab771280ede410e7b9e66fcaee6b2c4a12c";
static const char k_compose_hex[] = "609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f7449";
static const char k_instance_hex[] = "ce0b8b919dcf82cdcd06ced46d28c9113137fc3d";
static const char k_os_image_hex[] = "de9c74f0c85d0820ce075cb4a99f8e39f7b681be632907c5bf8bdc95ea72feb9";
static const char k_mrconfigid_hex[] = "01609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f"
                                       "7449000000000000000000000000000000";
static const char k_report_data_hex[] =
    "997dfa609c1256a26b7b7f10cc60e5ec28bffd805fb1536a5387510787b479db9c52d3c8ea37b1e85ab673075bbe21"
    "3361a61a60c95f4960aca49d12b32bfbdf";
/* 0x02 || Keccak-256(compose_hash || app_id || 0x02 (kms) || key-provider id) || 15 zeros for the
 * crabbox identity, computed independently (Python Keccak-f[1600], checked against
 * Keccak-256("") = c5d24601...a470). */
static const char k_mrconfigid_v2_kms_hex[] =
    "0245a2078dc64c5124832b1febfff2828be9005836f639fb29c5812b1dbd8a721d000000000000000000000000000000";

/* TD report offsets in a v4 quote (48-byte header first): MRTD, MRCONFIGID, RTMR0, REPORTDATA. */
#define Q_MRTD 184
#define Q_MRCONFIGID 232
#define Q_RTMR0 376
#define Q_REPORTDATA 568

/* RA-TLS style test certificates (openssl req -x509, P-256), extensions under 1.3.6.1.4.1.62397:
 * A: .1.1 = OCTET STRING(01..20) and .1.2 = OCTET STRING(one-event JSON log, app-id 11*20)
 * B: .1.1 as A and .1.2 = OCTET STRING("ELGZv1" 1f 8b 08 00)
 * C: only .1.2 as A (no quote)
 * D: .1.1 = the 32 quote bytes without the inner OCTET STRING */
static const char k_cert_A[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICNjCCAdygAwIBAgIIQUFBQUFBQUEwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtQTAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4IBFDCCARAwHQYDVR0OBBYEFDX7KTqlAu9dUAT//aJPjksk\n"
    "qEvuMB8GA1UdIwQYMBaAFDX7KTqlAu9dUAT//aJPjkskqEvuMA8GA1UdEwEB/wQF\n"
    "MAMBAf8wMAYKKwYBBAGD5z0BAQQiBCABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZ\n"
    "GhscHR4fIDCBigYKKwYBBAGD5z0BAgR8BHpbeyJpbXIiOjMsImV2ZW50X3R5cGUi\n"
    "OjEzNDIxNzcyOSwiZGlnZXN0IjoiIiwiZXZlbnQiOiJhcHAtaWQiLCJldmVudF9w\n"
    "YXlsb2FkIjoiMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTEx\n"
    "MSJ9XTAKBggqhkjOPQQDAgNIADBFAiEArbPO2XE6JjJoPwqtvN+pKSUeb85ufl2o\n"
    "xaYEVDiVbg0CIAoWxbOuQNzmHXqDmRqnCh1FeQZ8EdNmBD8aBr5Y0T5s\n"
    "-----END CERTIFICATE-----\n";
static const char k_cert_B[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBwzCCAWmgAwIBAgIIQkJCQkJCQkIwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtQjAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4GiMIGfMB0GA1UdDgQWBBQ1+yk6pQLvXVAE//2iT45LJKhL\n"
    "7jAfBgNVHSMEGDAWgBQ1+yk6pQLvXVAE//2iT45LJKhL7jAPBgNVHRMBAf8EBTAD\n"
    "AQH/MDAGCisGAQQBg+c9AQEEIgQgAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob\n"
    "HB0eHyAwGgYKKwYBBAGD5z0BAgQMBApFTEdadjEfiwgAMAoGCCqGSM49BAMCA0gA\n"
    "MEUCIQCcDyCON/8sxgk2ZtEZ2hW7gTww2oMXjy7owfUjQoK2wwIgBqIJ30J4w9H/\n"
    "5XoQ7vMxc6402lodwJ5cvx4q88M7N5k=\n"
    "-----END CERTIFICATE-----\n";
static const char k_cert_C[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICAzCCAaigAwIBAgIIQ0NDQ0NDQ0MwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtQzAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4HhMIHeMB0GA1UdDgQWBBQ1+yk6pQLvXVAE//2iT45LJKhL\n"
    "7jAfBgNVHSMEGDAWgBQ1+yk6pQLvXVAE//2iT45LJKhL7jAPBgNVHRMBAf8EBTAD\n"
    "AQH/MIGKBgorBgEEAYPnPQECBHwEelt7ImltciI6MywiZXZlbnRfdHlwZSI6MTM0\n"
    "MjE3NzI5LCJkaWdlc3QiOiIiLCJldmVudCI6ImFwcC1pZCIsImV2ZW50X3BheWxv\n"
    "YWQiOiIxMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExIn1d\n"
    "MAoGCCqGSM49BAMCA0kAMEYCIQDY/s4jzcVoJEV0O6r4J9PTQt/Jm2yxiVynte8j\n"
    "mhztiwIhAKgljXXXWAILgY7cb7p6axWbci+EvKGzoaPZcRd/46aY\n"
    "-----END CERTIFICATE-----\n";
static const char k_cert_D[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBpDCCAUugAwIBAgIIREREREREREQwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtRDAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4GEMIGBMB0GA1UdDgQWBBQ1+yk6pQLvXVAE//2iT45LJKhL\n"
    "7jAfBgNVHSMEGDAWgBQ1+yk6pQLvXVAE//2iT45LJKhL7jAPBgNVHRMBAf8EBTAD\n"
    "AQH/MC4GCisGAQQBg+c9AQEEIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n"
    "Hh8gMAoGCCqGSM49BAMCA0cAMEQCICl5ChkyupKO6/3SFS+oTMjtOzY3ZgmirPGE\n"
    "0ZQBU1MFAiAKeuv2zu0Y112IQt1i6P23CCG7bEMaOyemoNLKr7U0Jg==\n"
    "-----END CERTIFICATE-----\n";

/* ---- helpers --------------------------------------------------------------------------------- */

static void hexb(uint8_t *out, size_t n, const char *hex)
{
    cr_assert_eq(tu_hex(out, n, hex), (long)n, "bad test vector %s", hex);
}

static cba_err parse_text(cba_info **out, cba_error *e, const char *text)
{
    cba_error_clear(e);
    return cba_info_parse(e, out, cbs_make((const uint8_t *)text, strlen(text)));
}

static const char *plain(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The remaining helpers build variants with plain json-c (test tooling only; the code under
 * test parses with its own strict rules). */
static json_object *load_root(void)
{
    tu_buf b;
    json_object *o;
    TU_REAL_OR_SKIP(INFO_REL, &b);
    o = json_tokener_parse((const char *)b.data);
    tu_buf_free(&b);
    cr_assert_not_null(o);
    return o;
}

static json_object *tcb_get(json_object *root)
{
    json_object *s, *t;
    cr_assert(json_object_object_get_ex(root, "tcb_info", &s));
    t = json_tokener_parse(json_object_get_string(s));
    cr_assert_not_null(t);
    return t;
}

/* tcb_put stores tcb (consumed) back into root as the tcb_info string. */
static void tcb_put(json_object *root, json_object *tcb)
{
    json_object_object_add(root, "tcb_info", json_object_new_string(plain(tcb)));
    json_object_put(tcb);
}

static json_object *tcb_events(json_object *tcb)
{
    json_object *a;
    cr_assert(json_object_object_get_ex(tcb, "event_log", &a));
    return a;
}

static cba_err parse_root(json_object *root, cba_info **out, cba_error *e)
{
    return parse_text(out, e, plain(root));
}

static cba_info *parse_real(void)
{
    tu_buf b;
    cba_info *info = NULL;
    cba_error e;
    TU_REAL_OR_SKIP(INFO_REL, &b);
    cba_error_clear(&e);
    cr_assert_eq(cba_info_parse(&e, &info, cbs_make(b.data, b.len)), CBA_OK, "%s: %s", e.where,
                 e.detail);
    tu_buf_free(&b);
    return info;
}

static void set_str(json_object *obj, const char *key, const char *val)
{
    json_object_object_add(obj, key, json_object_new_string(val));
}

/* digests_and_replay runs the digest check and the replay; returns the digest-check code. */
static cba_err digests_and_replay(const cba_info *info, uint8_t rtmr[4][48], cba_error *e)
{
    uint8_t(*d)[48] = calloc(info->num_events ? info->num_events : 1, sizeof *d);
    cba_err rc;
    cr_assert_not_null(d);
    cba_error_clear(e);
    rc = cba_eventlog_check_digests(e, d, info);
    if (rc == CBA_OK) { cr_assert(cba_eventlog_replay(rtmr, info, (const uint8_t(*)[48])d)); }
    free(d);
    return rc;
}

static void assert_real_rtmrs(uint8_t rtmr[4][48])
{
    for (int r = 0; r < 4; r++) {
        uint8_t want[48];
        hexb(want, 48, k_rtmr_hex[r]);
        cr_assert_arr_eq(rtmr[r], want, 48, "RTMR%d does not replay", r);
    }
}

/* v1_digest_hex computes SHA384(le32(0x08000001) ":" name ":" payload) independently. */
static void v1_digest_hex(char out[97], const char *name, const uint8_t *payload, size_t n)
{
    static const uint8_t pre[5] = { 0x01, 0x00, 0x00, 0x08, ':' };
    uint8_t d[48];
    const cbs parts[4] = { cbs_make(pre, 5), cbs_make((const uint8_t *)name, strlen(name)),
                           cbs_make((const uint8_t *)":", 1), cbs_make(payload, n) };
    cr_assert(cba_sha384(d, parts, 4));
    cba_hex_encode(out, d, 48);
}

/* runtime_event builds a dstack runtime event; version 2 gets the canonical preimage. */
static json_object *runtime_event(const char *name, const uint8_t *payload, size_t n, int version)
{
    json_object *ev = json_object_new_object();
    char *hex = malloc(2 * n + 1), dig[97];
    cr_assert_not_null(hex);
    cba_hex_encode(hex, payload, n);
    json_object_object_add(ev, "imr", json_object_new_int(3));
    json_object_object_add(ev, "event_type", json_object_new_int64(CBA_DSTACK_RUNTIME_EVENT_TYPE));
    json_object_object_add(ev, "event", json_object_new_string(name));
    json_object_object_add(ev, "event_payload", json_object_new_string(hex));
    if (version == 2) {
        cbs nm = cbs_make((const uint8_t *)name, strlen(name)), pl = cbs_make(payload, n);
        size_t len = cba_dstack_v2_preimage(NULL, 0, nm, pl);
        uint8_t *pre = malloc(len), d[48];
        char *prehex = malloc(2 * len + 1);
        cr_assert(pre && prehex && cba_dstack_v2_preimage(pre, len, nm, pl) == len);
        cr_assert(cba_sha384(d, &(cbs){ pre, len }, 1));
        cba_hex_encode(prehex, pre, len);
        cba_hex_encode(dig, d, 48);
        json_object_object_add(ev, "version", json_object_new_int(2));
        json_object_object_add(ev, "preimage", json_object_new_string(prehex));
        free(pre);
        free(prehex);
    } else {
        v1_digest_hex(dig, name, payload, n);
    }
    json_object_object_add(ev, "digest", json_object_new_string(dig));
    free(hex);
    return ev;
}

/* getquote_text builds {"quote":<hex>,"event_log":<log as a JSON string>}; caller frees. */
static char *getquote_text(const uint8_t *quote, size_t qlen, json_object *log)
{
    json_object *o = json_object_new_object();
    char *hex = malloc(2 * qlen + 1), *out;
    cr_assert_not_null(hex);
    cba_hex_encode(hex, quote, qlen);
    json_object_object_add(o, "quote", json_object_new_string(hex));
    json_object_object_add(o, "event_log", json_object_new_string(plain(log)));
    json_object_object_add(o, "report_data", json_object_new_string(""));
    out = strdup(plain(o));
    cr_assert_not_null(out);
    json_object_put(o);
    free(hex);
    return out;
}

static const uint8_t k_fake_quote[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                          23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

/* parse_log parses a synthetic GetQuote carrying `log` (consumed). */
static cba_err parse_log(json_object *log, cba_info **out, cba_error *e)
{
    char *text = getquote_text(k_fake_quote, sizeof k_fake_quote, log);
    cba_err rc = parse_text(out, e, text);
    free(text);
    json_object_put(log);
    return rc;
}

/* ---- the real capture ----------------------------------------------------------------------- */

Test(dstack, real_info_parses_with_quote_from_cert)
{
    tu_buf q;
    cba_info *info = parse_real();
    size_t per[4] = { 0 };
    uint8_t want[48];

    TU_REAL_OR_SKIP(QUOTE_REL, &q);
    /* An Info-shaped response (info_format "tappd-info"); it carries vm_config/cloud_vendor. */
    cr_assert_eq(info->format, CBA_INFO_DSTACK);
    cr_assert(info->quote_from_cert);
    cr_assert_eq(info->quote.len, q.len);
    cr_assert_arr_eq(info->quote.data, q.data, q.len, "quote from app_cert differs from the .bin");
    cr_assert_eq(info->num_events, 30);
    for (size_t i = 0; i < info->num_events; i++) { per[info->events[i].imr]++; }
    cr_assert(per[0] == 13 && per[1] == 5 && per[2] == 2 && per[3] == 10);
    cr_assert(info->has_tcb_info && info->has_app_id && info->has_instance_id);
    hexb(want, 20, k_app_id_hex);
    cr_assert_arr_eq(info->app_id, want, 20);
    hexb(want, 20, k_instance_hex);
    cr_assert_arr_eq(info->instance_id, want, 20);
    hexb(want, 32, k_compose_hex);
    cr_assert(info->has_compose_hash && info->has_tcb_compose_hash);
    cr_assert_arr_eq(info->compose_hash, want, 32);
    cr_assert_arr_eq(info->tcb_compose_hash, want, 32);
    hexb(want, 32, k_os_image_hex);
    cr_assert(info->has_os_image_hash);
    cr_assert_arr_eq(info->os_image_hash, want, 32);
    hexb(want, 48, k_mrtd_hex);
    cr_assert(info->has_mrtd_claim);
    cr_assert_arr_eq(info->mrtd_claim, want, 48);
    cr_assert_arr_eq(q.data + Q_MRTD, want, 48, "fixture offset check");
    for (int r = 0; r < 4; r++) {
        hexb(want, 48, k_rtmr_hex[r]);
        cr_assert(info->has_rtmr_claim[r]);
        cr_assert_arr_eq(info->rtmr_claim[r], want, 48);
        cr_assert_arr_eq(q.data + Q_RTMR0 + 48 * r, want, 48);
    }
    cr_assert(cbs_eq_str(info->key_provider_info,
                         "{\"name\":\"kms\",\"id\":\"3059301306072a8648ce3d020106082a8648ce3d03010703"
                         "4200048844eb42ccdf8c52fd4f174f362fcb9bbd19c45fd48f1edec2d8f1ca23536ec1a740"
                         "21b4cee610c074f8294d431b2b7fee2c39e5333fdaf0a4522d43fb159d9f\"}"));
    cr_assert(info->cert_spki.len == 91 && info->cert_spki.data[0] == 0x30);
    cr_assert(cbs_eq_str(info->events[21].name, "app-id"));
    cr_assert_eq(info->events[21].payload.len, 20);
    cr_assert_eq(info->events[0].event_type, 0x8000000bu);
    tu_buf_free(&q);
    cba_info_free(info);
}

Test(dstack, real_app_compose_hashes_to_compose_hash)
{
    cba_info *info = parse_real();
    uint8_t h[32], want[32];
    cr_assert(info->has_app_compose);
    cr_assert(cba_sha256(h, &info->app_compose, 1));
    hexb(want, 32, k_compose_hex);
    cr_assert_arr_eq(h, want, 32);
    cba_info_free(info);
}

Test(dstack, real_digests_check_and_replay_to_the_quote)
{
    cba_info *info = parse_real();
    uint8_t rtmr[4][48];
    cba_error e;
    cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s: %s", e.where, e.detail);
    assert_real_rtmrs(rtmr);
    cba_info_free(info);
}

Test(dstack, real_identity_events)
{
    cba_info *info = parse_real();
    cba_dstack_ids ids;
    cba_error e;
    uint8_t want[32];
    cba_error_clear(&e);
    cr_assert_eq(cba_eventlog_identity(&e, &ids, info), CBA_OK, "%s", e.detail);
    cr_assert(ids.has_app_id && ids.has_compose_hash && ids.has_instance_id);
    cr_assert(ids.has_key_provider && ids.has_system_ready && ids.has_os_image_hash);
    hexb(want, 20, k_app_id_hex);
    cr_assert_arr_eq(ids.app_id, want, 20);
    hexb(want, 32, k_compose_hex);
    cr_assert_arr_eq(ids.compose_hash, want, 32);
    hexb(want, 20, k_instance_hex);
    cr_assert(cbs_eq_mem(ids.instance_id, want, 20));
    hexb(want, 32, k_os_image_hex);
    cr_assert_arr_eq(ids.os_image_hash, want, 32);
    cr_assert(cbs_eq(ids.key_provider, info->key_provider_info));
    cba_info_free(info);
}

Test(dstack, real_mrconfigid_v1_binds_and_one_byte_breaks_it)
{
    cba_info *info = parse_real();
    cba_dstack_ids ids;
    cba_error e;
    uint8_t m[48], version = 0xff;
    cr_assert_eq(cba_eventlog_identity(NULL, &ids, info), CBA_OK);
    hexb(m, 48, k_mrconfigid_hex);
    cr_assert_arr_eq(info->quote.data + Q_MRCONFIGID, m, 48, "README MRCONFIGID = quote's");
    cba_error_clear(&e);
    cr_assert_eq(cba_mrconfigid_check(&e, &version, m, &ids), CBA_OK, "%s", e.detail);
    cr_assert_eq(version, 1);
    for (size_t pos = 1; pos < 48; pos += 46) { /* one compose byte, one tail byte */
        m[pos] ^= 0x01;
        cba_error_clear(&e);
        cr_assert_eq(cba_mrconfigid_check(&e, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
        cr_assert_str_eq(e.where, "mrconfigid");
        m[pos] ^= 0x01;
    }
    ids.has_compose_hash = false;
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    cba_info_free(info);
}

Test(dstack, real_mrconfigid_v2_vector_and_failures)
{
    cba_info *info = parse_real();
    cba_dstack_ids ids;
    cba_error e;
    uint8_t m[48], version = 0;
    static const char none_kp[] = "{\"name\":\"none\",\"id\":\"\"}";
    static const char odd_kp[] = "{\"name\":\"vault\",\"id\":\"00\"}";
    static const char dup_kp[] = "{\"name\":\"kms\",\"name\":\"kms\",\"id\":\"\"}";

    cr_assert_eq(cba_eventlog_identity(NULL, &ids, info), CBA_OK);
    hexb(m, 48, k_mrconfigid_v2_kms_hex);
    cba_error_clear(&e);
    cr_assert_eq(cba_mrconfigid_check(&e, &version, m, &ids), CBA_OK, "%s", e.detail);
    cr_assert_eq(version, 2);
    m[20] ^= 0x80;
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    m[20] ^= 0x80;
    /* The kind byte matters: "none" with an empty id is a different binding. */
    ids.key_provider = cbs_make((const uint8_t *)none_kp, strlen(none_kp));
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    hexb(m, 48, "02816862b8788d834127a0d41007a74ca3b7ced3f6374657152893169e5665eefb000000000000000000"
                "000000000000");
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_OK);
    ids.key_provider = cbs_make((const uint8_t *)odd_kp, strlen(odd_kp));
    cba_error_clear(&e);
    cr_assert_eq(cba_mrconfigid_check(&e, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    cr_assert(strstr(e.detail, "V2 needs the key provider") != NULL, "%s", e.detail);
    ids.key_provider = cbs_make((const uint8_t *)dup_kp, strlen(dup_kp));
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    ids.has_key_provider = false;
    cba_error_clear(&e);
    cr_assert_eq(cba_mrconfigid_check(&e, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    cr_assert(strstr(e.detail, "V2 needs the key provider") != NULL, "%s", e.detail);
    cba_info_free(info);
}

Test(dstack, mrconfigid_zero_and_unknown_versions)
{
    cba_dstack_ids ids;
    cba_error e;
    uint8_t m[48] = { 0 }, version = 0xff;
    memset(&ids, 0, sizeof ids);
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_OK);
    cr_assert_eq(version, 0);
    m[0] = 3;
    m[1] = 0xaa;
    cba_error_clear(&e);
    cr_assert_eq(cba_mrconfigid_check(&e, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    cr_assert_eq(version, 3);
    cr_assert(strstr(e.detail, "version 3 not supported as a binding") != NULL, "%s", e.detail);
    m[0] = 0; /* zero version byte but not all zero: not "unused" */
    cr_assert_eq(cba_mrconfigid_check(NULL, &version, m, &ids), CBA_E_MRCONFIGID_MISMATCH);
    cr_assert_eq(version, 0);
}

Test(dstack, real_ratls_report_data_matches_the_quote)
{
    cba_info *info = parse_real();
    uint8_t rd[64], want[64];
    cr_assert(cba_ratls_report_data(rd, info->cert_spki));
    hexb(want, 64, k_report_data_hex);
    cr_assert_arr_eq(rd, want, 64);
    cr_assert_arr_eq(info->quote.data + Q_REPORTDATA, rd, 64);
    cba_info_free(info);
}

/* ---- malformed and tampered Info ---------------------------------------------------------- */

Test(dstack, duplicate_key_in_info_is_rejected)
{
    tu_buf b;
    cba_info *info = NULL;
    cba_error e;
    char *text;
    TU_REAL_OR_SKIP(INFO_REL, &b);
    cr_assert_eq(b.data[0], '{');
    text = malloc(b.len + 64);
    cr_assert_not_null(text);
    snprintf(text, b.len + 64, "{\"app_id\":\"%s\",%s", k_app_id_hex, (const char *)b.data + 1);
    cr_assert_eq(parse_text(&info, &e, text), CBA_E_JSON);
    cr_assert_null(info);
    cr_assert_str_eq(e.where, "info");
    free(text);
    tu_buf_free(&b);
}

Test(dstack, duplicate_key_inside_tcb_info_is_rejected)
{
    json_object *root = load_root();
    json_object *s;
    cba_info *info = NULL;
    cba_error e;
    char *inner;
    cr_assert(json_object_object_get_ex(root, "tcb_info", &s));
    inner = malloc(strlen(json_object_get_string(s)) + 128);
    cr_assert_not_null(inner);
    sprintf(inner, "{\"mrtd\":\"%s\",%s", k_mrtd_hex, json_object_get_string(s) + 1);
    set_str(root, "tcb_info", inner);
    cr_assert_eq(parse_root(root, &info, &e), CBA_E_JSON);
    cr_assert_str_eq(e.where, "info.tcb_info");
    free(inner);
    json_object_put(root);
}

Test(dstack, hidden_or_missing_tcb_info_fails)
{
    json_object *root = load_root();
    cba_info *info = NULL;
    cba_error e;
    set_str(root, "tcb_info", "");
    cr_assert_eq(parse_root(root, &info, &e), CBA_E_INFO_FORMAT);
    cr_assert_null(info);
    cr_assert_str_eq(e.where, "info.tcb_info");
    cr_assert(strstr(e.detail, "tcb_info is hidden (public_tcbinfo=false): cannot verify"));
    json_object_object_del(root, "tcb_info");
    cr_assert_eq(parse_root(root, &info, &e), CBA_E_INFO_FORMAT);
    json_object_object_add(root, "tcb_info", json_object_new_int(1));
    cr_assert_eq(parse_root(root, &info, &e), CBA_E_INFO_FORMAT);
    json_object_put(root);
}

Test(dstack, bad_hex_and_wrong_lengths_fail)
{
    static const struct {
        const char *key, *value, *where;
    } cases[] = {
        { "app_id", "944edab771280ede410e7b9e66fcaee6b2c4a1", "info.app_id" },       /* 19 B */
        { "app_id", "944edab771280ede410e7b9e66fcaee6b2c4a12c00", "info.app_id" },   /* 21 B */
        { "app_id", "944edab771280ede410e7b9e66fcaee6b2c4a12g", "info.app_id" },     /* not hex */
        { "instance_id", "ce0b", "info.instance_id" },
        { "compose_hash", "609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f744",
          "info.compose_hash" }, /* 63 hex digits */
        { "os_image_hash", "", "info.os_image_hash" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *root = load_root();
        cba_info *info = NULL;
        cba_error e;
        set_str(root, cases[i].key, cases[i].value);
        cr_assert_eq(parse_root(root, &info, &e), CBA_E_INFO_FORMAT, "case %zu", i);
        cr_assert_str_eq(e.where, cases[i].where);
        json_object_put(root);
    }
    {
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        cba_info *info = NULL;
        cba_error e;
        set_str(tcb, "rtmr2", k_compose_hex); /* 32 bytes where 48 are needed */
        tcb_put(root, tcb);
        cr_assert_eq(parse_root(root, &info, &e), CBA_E_INFO_FORMAT);
        cr_assert_str_eq(e.where, "tcb_info.rtmr2");
        json_object_put(root);
    }
    {
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        cba_info *info = NULL;
        cba_error e;
        set_str(json_object_array_get_idx(tcb_events(tcb), 4), "digest", k_compose_hex);
        tcb_put(root, tcb);
        cr_assert_eq(parse_root(root, &info, &e), CBA_E_EVENTLOG_FORMAT);
        cr_assert_str_eq(e.where, "tcb_info.event_log[4].digest");
        json_object_put(root);
    }
    {
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        cba_info *info = NULL;
        cba_error e;
        set_str(json_object_array_get_idx(tcb_events(tcb), 7), "event_payload", "abc");
        tcb_put(root, tcb);
        cr_assert_eq(parse_root(root, &info, &e), CBA_E_EVENTLOG_FORMAT);
        cr_assert_str_eq(e.where, "tcb_info.event_log[7].event_payload");
        json_object_put(root);
    }
}

Test(dstack, empty_instance_id_is_absent)
{
    json_object *root = load_root();
    cba_info *info = NULL;
    cba_error e;
    set_str(root, "instance_id", "");
    cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_not(info->has_instance_id);
    cba_info_free(info);
    json_object_put(root);
}

Test(dstack, not_a_guest_agent_response)
{
    cba_info *info = NULL;
    cba_error e;
    cr_assert_eq(parse_text(&info, &e, "[]"), CBA_E_INFO_FORMAT);
    cr_assert_eq(parse_text(&info, &e, "{\"hello\":1}"), CBA_E_INFO_FORMAT);
    cr_assert_eq(parse_text(&info, &e, "{\"quote\":\"00\",\"tcb_info\":\"{}\",\"event_log\":\"[]\"}"),
                 CBA_E_INFO_FORMAT);
    cr_assert_eq(parse_text(&info, &e, "{\"app_id\":"), CBA_E_JSON);
    cr_assert_eq(parse_text(&info, &e, "{} x"), CBA_E_JSON);
    cr_assert_null(info);
}

Test(dstack, oversized_response_is_refused_before_parsing)
{
    size_t n = (size_t)CBA_INFO_MAX_LEN + 1;
    char *big = malloc(n);
    cba_info *info = NULL;
    cba_error e;
    cr_assert_not_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    cba_error_clear(&e);
    cr_assert_eq(cba_info_parse(&e, &info, cbs_make((const uint8_t *)big, n)), CBA_E_INFO_FORMAT);
    cr_assert_null(info);
    free(big);
}

static void flip_hex_char(char *s)
{
    s[0] = s[0] == '0' ? '1' : '0';
}

Test(dstack, every_changed_runtime_payload_fails_and_boot_digests_change_the_replay)
{
    json_object *root0 = load_root();
    json_object *tcb0 = tcb_get(root0);
    size_t n = json_object_array_length(tcb_events(tcb0));
    json_object_put(tcb0);
    json_object_put(root0);
    cr_assert_eq(n, 30);
    for (size_t i = 0; i < n; i++) {
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        json_object *ev = json_object_array_get_idx(tcb_events(tcb), i), *v;
        bool runtime;
        char buf[2048];
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48], want[48];
        cr_assert(json_object_object_get_ex(ev, "event_type", &v));
        runtime = json_object_get_int64(v) == CBA_DSTACK_RUNTIME_EVENT_TYPE;
        /* Runtime events: a changed payload byte (or one added to an empty payload). Boot events:
         * their payloads are informational (GetQuote strips them), so the measured thing is the
         * digest — change one byte of it. */
        cr_assert(json_object_object_get_ex(ev, runtime ? "event_payload" : "digest", &v));
        cr_assert_lt(strlen(json_object_get_string(v)), sizeof buf - 3);
        snprintf(buf, sizeof buf, "%s", json_object_get_string(v));
        if (buf[0] == '\0') {
            strcpy(buf, "00");
        } else {
            flip_hex_char(buf);
        }
        set_str(ev, runtime ? "event_payload" : "digest", buf);
        tcb_put(root, tcb);
        cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "event %zu: %s", i, e.detail);
        if (runtime) {
            char where[48];
            snprintf(where, sizeof where, "event_log[%zu]", i);
            cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENT_DIGEST_MISMATCH,
                         "event %zu", i);
            cr_assert_str_eq(e.where, where);
        } else {
            uint32_t r = info->events[i].imr;
            cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK);
            hexb(want, 48, k_rtmr_hex[r]);
            cr_assert(memcmp(rtmr[r], want, 48) != 0, "event %zu: RTMR%u unchanged", i, r);
        }
        cba_info_free(info);
        json_object_put(root);
    }
}

Test(dstack, boot_payload_is_not_measured_but_a_stripped_boot_digest_is_fatal)
{
    json_object *root = load_root();
    json_object *tcb = tcb_get(root);
    cba_info *info = NULL;
    cba_error e;
    uint8_t rtmr[4][48];
    set_str(json_object_array_get_idx(tcb_events(tcb), 3), "event_payload", "");
    set_str(json_object_array_get_idx(tcb_events(tcb), 5), "digest", "");
    tcb_put(root, tcb);
    cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_not(info->events[5].has_digest);
    cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENTLOG_FORMAT);
    cr_assert_str_eq(e.where, "event_log[5]");
    cba_info_free(info);
    json_object_put(root);
}

Test(dstack, stripped_runtime_digests_are_recomputed)
{
    json_object *root = load_root();
    json_object *tcb = tcb_get(root);
    json_object *log = tcb_events(tcb);
    cba_info *info = NULL;
    cba_error e;
    uint8_t rtmr[4][48];
    for (size_t i = 20; i < 30; i++) { set_str(json_object_array_get_idx(log, i), "digest", ""); }
    json_object_object_del(json_object_array_get_idx(log, 25), "digest");
    tcb_put(root, tcb);
    cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s", e.detail);
    assert_real_rtmrs(rtmr);
    cba_info_free(info);
    json_object_put(root);
}

Test(dstack, imr_out_of_range_and_runtime_register_rules)
{
    static const struct {
        size_t idx;
        int imr;
        bool at_parse;
    } cases[] = {
        { 0, 4, true },    /* no RTMR4 */
        { 0, -1, true },   /* negative */
        { 22, 2, false },  /* runtime event on imr 2 */
        { 4, 3, false },   /* boot event on imr 3 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        char where[48];
        json_object_object_add(json_object_array_get_idx(tcb_events(tcb), cases[c].idx), "imr",
                               json_object_new_int(cases[c].imr));
        tcb_put(root, tcb);
        if (cases[c].at_parse) {
            cr_assert_eq(parse_root(root, &info, &e), CBA_E_EVENTLOG_FORMAT, "case %zu", c);
            snprintf(where, sizeof where, "tcb_info.event_log[%zu].imr", cases[c].idx);
        } else {
            cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "case %zu: %s", c, e.detail);
            cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENTLOG_FORMAT, "case %zu", c);
            snprintf(where, sizeof where, "event_log[%zu]", cases[c].idx);
            cba_info_free(info);
        }
        cr_assert_str_eq(e.where, where);
        json_object_put(root);
    }
}

Test(dstack, event_field_types_are_strict)
{
    static const char *const bad[] = {
        "{\"imr\":3.0,\"event_type\":1,\"digest\":\"\",\"event\":\"\",\"event_payload\":\"\"}",
        "{\"imr\":\"3\",\"event_type\":1,\"digest\":\"\",\"event\":\"\",\"event_payload\":\"\"}",
        "{\"imr\":0,\"event_type\":4294967296,\"digest\":\"\",\"event\":\"\",\"event_payload\":\"\"}",
        "{\"imr\":0,\"event_type\":1,\"digest\":\"\",\"event_payload\":\"\"}",
        "{\"imr\":0,\"event_type\":1,\"digest\":\"\",\"event\":\"\"}",
        "{\"imr\":0,\"event_type\":1,\"digest\":7,\"event\":\"\",\"event_payload\":\"\"}",
        "{\"imr\":3,\"event_type\":134217729,\"event\":\"x\",\"event_payload\":\"\",\"version\":3}",
        "{\"imr\":3,\"event_type\":134217729,\"event\":\"x\",\"event_payload\":\"\",\"version\":0}",
        "{\"imr\":0,\"event_type\":1,\"event\":\"x\",\"event_payload\":\"\",\"version\":2}",
        "{\"imr\":0,\"event_type\":1,\"event\":\"x\",\"event_payload\":\"\",\"preimage\":\"00\"}",
        ("{\"imr\":3,\"event_type\":134217729,\"event\":\"x\",\"event_payload\":\"\",\"version\":2,"
         "\"preimage\":\"0\"}"),
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char log[512];
        cba_info *info = NULL;
        cba_error e;
        json_object *arr;
        snprintf(log, sizeof log, "[%s]", bad[i]);
        arr = json_tokener_parse(log);
        cr_assert_not_null(arr, "case %zu", i);
        cr_assert_eq(parse_log(arr, &info, &e), CBA_E_EVENTLOG_FORMAT, "case %zu: %s", i, e.detail);
        cr_assert_null(info);
    }
}

Test(dstack, too_many_events_are_refused)
{
    json_object *log = json_object_new_array();
    cba_info *info = NULL;
    cba_error e;
    for (int i = 0; i <= CBA_EVENTLOG_MAX_EVENTS; i++) {
        json_object_array_add(log, json_tokener_parse("{\"imr\":0,\"event_type\":1,\"digest\":\"\","
                                                      "\"event\":\"\",\"event_payload\":\"\"}"));
    }
    cr_assert_eq(parse_log(log, &info, &e), CBA_E_EVENTLOG_FORMAT);
    cr_assert_str_eq(e.where, "event_log");
}

Test(dstack, identity_ignores_app_events_after_system_ready_but_rejects_duplicates_before)
{
    static const uint8_t other_id[20] = { 0xde, 0xad };
    uint8_t want[20];
    hexb(want, 20, k_app_id_hex);
    { /* an app emits its own app-id after system-ready: measured, replayable, ignored */
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        cba_info *info = NULL;
        cba_dstack_ids ids;
        cba_error e;
        uint8_t rtmr[4][48];
        json_object_array_add(tcb_events(tcb), runtime_event("app-id", other_id, 20, 1));
        json_object_array_add(tcb_events(tcb), runtime_event("compose-hash", other_id, 3, 1));
        tcb_put(root, tcb);
        cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "%s", e.detail);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s", e.detail);
        cr_assert_eq(cba_eventlog_identity(&e, &ids, info), CBA_OK, "%s", e.detail);
        cr_assert_arr_eq(ids.app_id, want, 20);
        cba_info_free(info);
        json_object_put(root);
    }
    { /* a second app-id before system-ready */
        json_object *root = load_root();
        json_object *tcb = tcb_get(root);
        cba_info *info = NULL;
        cba_dstack_ids ids;
        cba_error e;
        json_object_array_put_idx(tcb_events(tcb), 26, runtime_event("app-id", other_id, 20, 1));
        tcb_put(root, tcb);
        cr_assert_eq(parse_root(root, &info, &e), CBA_OK, "%s", e.detail);
        cba_error_clear(&e);
        cr_assert_eq(cba_eventlog_identity(&e, &ids, info), CBA_E_EVENTLOG_FORMAT);
        cr_assert_str_eq(e.where, "event_log[26]");
        cba_info_free(info);
        json_object_put(root);
    }
    { /* wrong payload lengths before system-ready */
        static const char *const names[] = { "app-id", "compose-hash", "instance-id",
                                             "os-image-hash" };
        for (size_t k = 0; k < 4; k++) {
            json_object *log = json_object_new_array();
            cba_info *info = NULL;
            cba_dstack_ids ids;
            cba_error e;
            json_object_array_add(log, runtime_event(names[k], other_id, 19, 1));
            cr_assert_eq(parse_log(log, &info, &e), CBA_OK);
            cr_assert_eq(cba_eventlog_identity(&e, &ids, info), CBA_E_EVENTLOG_FORMAT, "%s",
                         names[k]);
            cba_info_free(info);
        }
    }
}

/* ---- V2 events ------------------------------------------------------------------------------ */

Test(dstack, v2_canonical_encoding_vectors)
{
    static const char want[] = "{\"name\":\"compose-hash\",\"payload\":\"abcd\",\"type\":134217729}";
    static const uint8_t payload[2] = { 0xab, 0xcd };
    /* RFC 8785 escaping: the two mandatory escapes, short control escapes, \u00xx lowercase for
     * other controls, DEL and UTF-8 verbatim (dstack canonical_json_control_character_escaping). */
    static const char name2[] = "q\"b\\\b\f\n\r\t\x01\x1f\x7f\xc3\xa9";
    static const char want2[] =
        "{\"name\":\"q\\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\","
        "\"payload\":\"\",\"type\":134217729}";
    uint8_t buf[128];
    size_t n;
    cbs name = cbs_make((const uint8_t *)"compose-hash", 12);

    n = cba_dstack_v2_preimage(NULL, 0, name, cbs_make(payload, 2));
    cr_assert_eq(n, strlen(want));
    cr_assert_eq(cba_dstack_v2_preimage(buf, 10, name, cbs_make(payload, 2)), n, "size probe");
    memset(buf, 0xee, sizeof buf);
    cr_assert_eq(cba_dstack_v2_preimage(buf, 10, name, cbs_make(payload, 2)), n);
    cr_assert_eq(buf[0], 0xee, "a short buffer must not be written");
    cr_assert_eq(cba_dstack_v2_preimage(buf, sizeof buf, name, cbs_make(payload, 2)), n);
    cr_assert_arr_eq(buf, want, n);

    n = cba_dstack_v2_preimage(buf, sizeof buf, cbs_make((const uint8_t *)name2, strlen(name2)),
                               cbs_make(NULL, 0));
    cr_assert_eq(n, strlen(want2));
    cr_assert_arr_eq(buf, want2, n);
}

Test(dstack, v2_events_verify_and_mismatched_preimages_fail)
{
    static const uint8_t ch[32] = { 0x60, 0x9b, 0x68, 0x4c };
    static const uint8_t id[20] = { 0x94, 0x4e };
    { /* a mixed V1/V2 log verifies; the V2 digest is SHA-384 of the canonical JSON */
        json_object *log = json_object_new_array();
        cba_info *info = NULL;
        cba_dstack_ids ids;
        cba_error e;
        uint8_t rtmr[4][48];
        json_object_array_add(log, runtime_event("app-id", id, 20, 1));
        json_object_array_add(log, runtime_event("compose-hash", ch, 32, 2));
        json_object_array_add(log, runtime_event("na\"me\n", ch, 5, 2));
        json_object_array_add(log, runtime_event("system-ready", NULL, 0, 2));
        cr_assert_eq(parse_log(log, &info, &e), CBA_OK, "%s", e.detail);
        cr_assert_eq(info->format, CBA_INFO_GETQUOTE);
        cr_assert_eq(info->events[1].version, 2);
        cr_assert(info->events[1].has_preimage);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s: %s", e.where, e.detail);
        cr_assert_eq(cba_eventlog_identity(&e, &ids, info), CBA_OK);
        cr_assert(ids.has_compose_hash && ids.has_system_ready);
        cr_assert_arr_eq(ids.compose_hash, ch, 32);
        cba_info_free(info);
    }
    { /* non-canonical preimage (keys reordered) whose digest matches: still rejected */
        static const char pre[] = "{\"type\":134217729,\"name\":\"compose-hash\",\"payload\":\"abcd\"}";
        uint8_t d[48];
        char prehex[2 * sizeof pre + 1], dig[97];
        json_object *log = json_object_new_array();
        json_object *ev = runtime_event("compose-hash", (const uint8_t *)"\xab\xcd", 2, 2);
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        cr_assert(cba_sha384(d, &(cbs){ (const uint8_t *)pre, strlen(pre) }, 1));
        cba_hex_encode(prehex, (const uint8_t *)pre, strlen(pre));
        cba_hex_encode(dig, d, 48);
        set_str(ev, "preimage", prehex);
        set_str(ev, "digest", dig);
        json_object_array_add(log, ev);
        cr_assert_eq(parse_log(log, &info, &e), CBA_OK, "%s", e.detail);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENT_DIGEST_MISMATCH);
        cr_assert_str_eq(e.where, "event_log[0]");
        cba_info_free(info);
    }
    { /* the payload changed but the preimage (and digest) kept */
        json_object *log = json_object_new_array();
        json_object *ev = runtime_event("compose-hash", ch, 32, 2);
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        set_str(ev, "event_payload", "00");
        json_object_array_add(log, ev);
        cr_assert_eq(parse_log(log, &info, &e), CBA_OK);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENT_DIGEST_MISMATCH);
        cba_info_free(info);
    }
    { /* canonical preimage, wrong supplied digest */
        json_object *log = json_object_new_array();
        json_object *ev = runtime_event("compose-hash", ch, 32, 2);
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        set_str(ev, "digest", k_rtmr_hex[0]);
        json_object_array_add(log, ev);
        cr_assert_eq(parse_log(log, &info, &e), CBA_OK);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENT_DIGEST_MISMATCH);
        cba_info_free(info);
    }
    { /* V2 without its preimage */
        json_object *log = json_object_new_array();
        json_object *ev = runtime_event("compose-hash", ch, 32, 2);
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        json_object_object_del(ev, "preimage");
        json_object_array_add(log, ev);
        cr_assert_eq(parse_log(log, &info, &e), CBA_OK);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENTLOG_FORMAT);
        cba_info_free(info);
    }
    { /* a V1 event may carry its (binary) preimage, which must then be exact */
        json_object *log = json_object_new_array();
        json_object *ev = runtime_event("app-id", id, 20, 1);
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        char prehex[2 * (4 + 1 + 6 + 1 + 20) + 1];
        uint8_t pre[32] = { 0x01, 0x00, 0x00, 0x08, ':', 'a', 'p', 'p', '-', 'i', 'd', ':' };
        memcpy(pre + 12, id, 20);
        cba_hex_encode(prehex, pre, 32);
        set_str(ev, "preimage", prehex);
        json_object_array_add(log, json_object_get(ev));
        cr_assert_eq(parse_log(json_object_get(log), &info, &e), CBA_OK);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s", e.detail);
        cba_info_free(info);
        pre[31] ^= 1;
        cba_hex_encode(prehex, pre, 32);
        set_str(ev, "preimage", prehex);
        json_object_put(ev);
        cr_assert_eq(parse_log(log, &info, &e), CBA_OK);
        cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_E_EVENT_DIGEST_MISMATCH);
        cba_info_free(info);
    }
}

/* ---- GetQuote --------------------------------------------------------------------------------- */

Test(dstack, getquote_built_from_the_fixture_parses_and_replays)
{
    json_object *root = load_root();
    json_object *tcb = tcb_get(root);
    json_object *log = json_object_get(tcb_events(tcb));
    tu_buf q;
    cba_info *info = NULL;
    cba_error e;
    uint8_t rtmr[4][48];
    char *text;
    TU_REAL_OR_SKIP(QUOTE_REL, &q);
    text = getquote_text(q.data, q.len, log);
    cr_assert_eq(parse_text(&info, &e, text), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_eq(info->format, CBA_INFO_GETQUOTE);
    cr_assert_not(info->quote_from_cert);
    cr_assert_eq(info->cert_spki.len, 0);
    cr_assert_eq(info->quote.len, q.len);
    cr_assert_arr_eq(info->quote.data, q.data, q.len);
    cr_assert_eq(info->num_events, 30);
    cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s", e.detail);
    assert_real_rtmrs(rtmr);
    cba_info_free(info);
    free(text);

    /* GetQuote's stripped form: boot payloads and runtime digests emptied. */
    for (size_t i = 0; i < 30; i++) {
        set_str(json_object_array_get_idx(log, i), i < 20 ? "event_payload" : "digest", "");
    }
    text = getquote_text(q.data, q.len, log);
    cr_assert_eq(parse_text(&info, &e, text), CBA_OK, "%s", e.detail);
    cr_assert_eq(digests_and_replay(info, rtmr, &e), CBA_OK, "%s", e.detail);
    assert_real_rtmrs(rtmr);
    cba_info_free(info);
    free(text);

    json_object_put(log);
    json_object_put(tcb);
    json_object_put(root);
    tu_buf_free(&q);
}

Test(dstack, getquote_malformed)
{
    static const struct {
        const char *text;
        cba_err code;
    } cases[] = {
        { "{\"quote\":\"\",\"event_log\":\"[]\"}", CBA_E_QUOTE_MISSING },
        { "{\"quote\":\"0\",\"event_log\":\"[]\"}", CBA_E_INFO_FORMAT },
        { "{\"quote\":\"zz\",\"event_log\":\"[]\"}", CBA_E_INFO_FORMAT },
        { "{\"quote\":7,\"event_log\":\"[]\"}", CBA_E_INFO_FORMAT },
        { "{\"quote\":\"00\"}", CBA_E_EVENTLOG_FORMAT },
        { "{\"quote\":\"00\",\"event_log\":\"\"}", CBA_E_EVENTLOG_FORMAT },
        { "{\"quote\":\"00\",\"event_log\":\"{}\"}", CBA_E_EVENTLOG_FORMAT },
        { "{\"quote\":\"00\",\"event_log\":[]}", CBA_E_INFO_FORMAT },
        { "{\"quote\":\"00\",\"event_log\":\"[1]\"}", CBA_E_EVENTLOG_FORMAT },
        { "{\"quote\":\"00\",\"event_log\":\"[{\\\"imr\\\":0,\\\"imr\\\":0}]\"}",
          CBA_E_EVENTLOG_FORMAT },
        { "{\"quote\":\"00\",\"quote\":\"00\",\"event_log\":\"[]\"}", CBA_E_JSON },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cba_info *info = NULL;
        cba_error e;
        cr_assert_eq(parse_text(&info, &e, cases[i].text), cases[i].code, "case %zu: %s %s", i,
                     e.where, e.detail);
        cr_assert_null(info);
    }
    {
        cba_info *info = NULL;
        cba_error e;
        uint8_t rtmr[4][48];
        cr_assert_eq(parse_text(&info, &e, "{\"quote\":\"00ff\",\"event_log\":\"[]\"}"), CBA_OK);
        cr_assert_eq(info->num_events, 0);
        cr_assert_eq(cba_eventlog_check_digests(NULL, NULL, info), CBA_OK);
        cr_assert(cba_eventlog_replay(rtmr, info, NULL));
        cr_assert(cbs_all_zero(cbs_make(rtmr[3], 48)));
        cr_assert(info->quote.len == 2 && info->quote.data[1] == 0xff);
        cba_info_free(info);
    }
}

/* ---- RA-TLS certificates -------------------------------------------------------------------- */

static char *info_with_cert(const char *pem, bool tcb_has_log)
{
    json_object *o = json_object_new_object();
    char *out;
    set_str(o, "app_id", "1111111111111111111111111111111111111111");
    set_str(o, "instance_id", "");
    set_str(o, "tcb_info",
            tcb_has_log ? "{\"event_log\":[]}"
                        : "{\"compose_hash\":"
                          "\"609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f7449\"}");
    set_str(o, "app_cert", pem);
    out = strdup(plain(o));
    json_object_put(o);
    return out;
}

Test(dstack, cert_extensions_quote_and_event_log)
{
    cba_info *info = NULL;
    cba_error e;
    char *text = info_with_cert(k_cert_A, false);
    cr_assert_eq(parse_text(&info, &e, text), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_eq(info->format, CBA_INFO_TAPPD);
    cr_assert(info->quote_from_cert);
    cr_assert_eq(info->quote.len, 32);
    cr_assert_arr_eq(info->quote.data, k_fake_quote, 32);
    cr_assert_eq(info->cert_spki.len, 91);
    cr_assert_eq(info->num_events, 1);
    cr_assert(cbs_eq_str(info->events[0].name, "app-id"));
    cr_assert_not(info->events[0].has_digest);
    cr_assert(info->has_tcb_info && info->has_tcb_compose_hash && !info->has_instance_id);
    cba_info_free(info);
    free(text);

    /* tcb_info's own event log wins over the certificate's */
    text = info_with_cert(k_cert_A, true);
    cr_assert_eq(parse_text(&info, &e, text), CBA_OK, "%s", e.detail);
    cr_assert_eq(info->num_events, 0);
    cba_info_free(info);
    free(text);
}

Test(dstack, cert_extension_failures)
{
    static const struct {
        const char *pem;
        cba_err code;
        const char *where;
    } cases[] = {
        { k_cert_B, CBA_E_EVENTLOG_FORMAT, "app_cert.event_log" }, /* ELGZv1 */
        { k_cert_C, CBA_E_QUOTE_MISSING, "app_cert.quote" },
        { k_cert_D, CBA_E_DER, "app_cert.quote" },
        /* An empty app_cert (the agent is still fetching it from the KMS) is no quote, not an
         * error: here the response has no log anywhere either. */
        { "", CBA_E_EVENTLOG_FORMAT, "info" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cba_info *info = NULL;
        cba_error e;
        char *text = info_with_cert(cases[i].pem, false);
        cr_assert_eq(parse_text(&info, &e, text), cases[i].code, "case %zu: %s %s", i, e.where,
                     e.detail);
        cr_assert_str_eq(e.where, cases[i].where, "case %zu", i);
        cr_assert_null(info);
        free(text);
    }
    {
        /* Empty app_cert with tcb_info's log: parses, carries no quote (a fresh one must come
         * with the evidence: cba_verify says CBA_E_QUOTE_MISSING otherwise). */
        cba_info *info = NULL;
        cba_error e;
        char *text = info_with_cert("", true);
        cr_assert_eq(parse_text(&info, &e, text), CBA_OK, "%s: %s", e.where, e.detail);
        cr_assert_eq(info->quote.len, 0);
        cr_assert_not(info->quote_from_cert);
        cba_info_free(info);
        free(text);
    }
    {
        cba_info *info = NULL;
        cba_error e;
        char *text = info_with_cert(k_cert_B, false);
        cr_assert_eq(parse_text(&info, &e, text), CBA_E_EVENTLOG_FORMAT);
        cr_assert(strstr(e.detail, "compressed event log") != NULL, "%s", e.detail);
        free(text);
    }
    {
        cba_info *info = NULL;
        cba_error e;
        char *text = info_with_cert("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                    false);
        cr_assert_neq(parse_text(&info, &e, text), CBA_OK);
        cr_assert_null(info);
        free(text);
    }
}

Test(dstack, free_accepts_null)
{
    cba_info_free(NULL);
}
