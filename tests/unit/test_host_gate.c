/* test_host_gate.c — the crabbox host's attestation gate (tools/crabbox/gate.c) with the test
 * driver loaded through the real loader and host services: good evidence verifies and mints a
 * token that open_session accepts; every tampered variant is rejected with its own check; a
 * session without a valid token (forged, for another lease, for another host key, before any
 * verification) is refused; the bundle records nonce, host key and verdict. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "gate.h"
#include "host.h"
#include "mkevidence.h"

TestSuite(host_gate, .timeout = 60);


static const char k_compose[] = "services:\n  app:\n    image: debian:stable-slim\n";

typedef struct fixture {
    char dir[PATH_MAX];
    app a;
} fixture;

static void write_blob(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* Evidence options valid at the real clock (as the test driver's helper makes them). */
static void now_options(mke_options *o)
{
    int64_t now = cbx_now_unix();
    mke_options_init_at(o, now);
}

/* setup makes a private home, trusts the test root and opens the "test" driver in `mode`. */
static bool g_default_require; /* setup leaves requireCollateral at its default */

static void setup(fixture *f, const char *mode, bool with_collateral)
{
    char path[PATH_MAX + 64], drivers[PATH_MAX];
    const char *b = getenv("CBA_BUILD_DIR");
    mke_options o;
    mke_evidence ev;
    crabbox_err err = { 0 };
    int rc;

    cr_assert_not_null(b, "CBA_BUILD_DIR is not set (run through ctest)");
    snprintf(f->dir, sizeof f->dir, "%s/host-gate-XXXXXX", b);
    cr_assert_not_null(mkdtemp(f->dir));
    now_options(&o);
    cr_assert(mke_generate(&ev, &o), "%s", ev.error);
    snprintf(path, sizeof path, "%s/root.der", f->dir);
    write_blob(path, ev.root_der.data, ev.root_der.len);
    setenv("CRABBOX_TEST_TRUST_ROOT", path, 1);
    if (with_collateral) {
        snprintf(path, sizeof path, "%s/collateral.json", f->dir);
        write_blob(path, ev.collateral_json.data, ev.collateral_json.len);
        setenv("CRABBOX_COLLATERAL", path, 1);
    } else {
        unsetenv("CRABBOX_COLLATERAL");
    }
    mke_evidence_free(&ev);
    snprintf(drivers, sizeof drivers, "%s/lib/crabbox/drivers", b);
    setenv("CRABBOX_DRIVER_PATH", drivers, 1);
    setenv("HOME", f->dir, 1);
    snprintf(path, sizeof path, "%s/state", f->dir);
    setenv("XDG_STATE_HOME", path, 1);
    snprintf(path, sizeof path, "%s/config", f->dir);
    setenv("XDG_CONFIG_HOME", path, 1);
    setenv("CRABBOX_PROVIDER", "test", 1);
    setenv("CRABBOX_TEST_MODE", mode, 1);
    setenv("CRABBOX_COLLATERAL_FETCH", "false", 1); /* hermetic: never ask Intel PCS */
    /* requireCollateral is true by default; the fixtures without collateral opt out explicitly
     * (a trusted source), required_collateral_missing_is_rejected tests the default. */
    if (g_default_require) {
        unsetenv("CRABBOX_REQUIRE_COLLATERAL");
    } else {
        setenv("CRABBOX_REQUIRE_COLLATERAL", with_collateral ? "true" : "false", 1);
    }
    unsetenv("CRABBOX_CONFIG");
    memset(&f->a, 0, sizeof f->a);
    config_init(&f->a.cfg);
    f->a.class_pos = -1;
    rc = app_setup(&f->a, &err);
    cr_assert_eq(rc, CRABBOX_OK, "app_setup: %s", err.message);
    cr_assert_str_eq(f->a.d->name, "test");
}

static crabbox_lease *warm(fixture *f, const char *lease_id)
{
    crabbox_lease *lease = NULL;
    crabbox_err err = { 0 };
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/lease-%s", f->dir, lease_id);
    cr_assert_eq(mkdir(dir, 0700), 0);
    crabbox_lease_spec spec = { .struct_size = sizeof spec, .lease_id = lease_id, .slug = "test-slug",
                                .lease_dir = dir, .compose = (const uint8_t *)k_compose,
                                .compose_len = strlen(k_compose) };
    cr_assert_eq(f->a.d->warmup(f->a.drv, &spec, &lease, &err), CRABBOX_OK, "warmup: %s", err.message);
    cr_assert_not_null(lease);
    cr_assert_str_eq(lease->lease_id, lease_id);
    cr_assert_eq(strlen(lease->app_id), 40);
    return lease;
}

static int run_gate_with(fixture *f, const crabbox_lease *lease, gate_result *g, bool allow_info_only,
                         crabbox_err *err)
{
    gate_policy pol = {
        .allow_info_only = allow_info_only,
        .collateral = f->a.collateral.data,
        .collateral_len = f->a.collateral.len,
        .collateral_source = "file:test",
        .require_collateral = f->a.require_collateral,
        .trust_root_der = f->a.trust_root.data,
        .trust_root_der_len = f->a.trust_root.len,
    };
    return gate_run(&f->a.keys, f->a.d, f->a.drv, lease, (const uint8_t *)k_compose, strlen(k_compose), &pol,
                    cbx_now_unix(), g, err);
}

static int run_gate(fixture *f, const crabbox_lease *lease, gate_result *g, crabbox_err *err)
{
    return run_gate_with(f, lease, g, false, err);
}

static void teardown(fixture *f, crabbox_lease *lease)
{
    if (lease != NULL) { f->a.d->lease_free(f->a.drv, lease); }
    app_teardown(&f->a);
    (void)cbx_remove_tree(f->dir);
}

static bool calls_log_has(const fixture *f, const char *needle)
{
    char path[PATH_MAX + 64], line[512];
    bool found = false;
    FILE *fp;
    snprintf(path, sizeof path, "%s/state/crabbox/testdriver-calls.log", f->dir);
    fp = fopen(path, "r");
    if (fp == NULL) { return false; }
    while (!found && fgets(line, sizeof line, fp) != NULL) { found = strstr(line, needle) != NULL; }
    fclose(fp);
    return found;
}

Test(host_gate, good_evidence_verifies_and_opens_a_session)
{
    fixture f;
    crabbox_lease *lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    crabbox_session *s = NULL;
    uint8_t rd[64];

    setup(&f, "", false);
    lease = warm(&f, "cbx_00000000000a");
    cr_assert_eq(run_gate(&f, lease, g, &err), CRABBOX_OK, "gate: %s / %s: %s", err.message,
                 g->failed_check ? g->failed_check : "-", g->detail);
    cr_assert(g->verified);
    cr_assert(g->dcap_skipped, "no collateral: DCAP skipped");
    cr_assert_str_eq(g->bundle.verdict, "verified");
    cr_assert(g->bundle.fresh && g->bundle.has_nonce && g->bundle.host_key != NULL);
    cr_assert(g->report.test_root);
    /* The quote carries exactly SHA-512(domain || nonce || SHA-256(host key)). */
    cr_assert(bundle_report_data(rd, g->bundle.nonce, g->bundle.host_key, g->bundle.host_key_len));
    cr_assert_arr_eq(g->report.report_data, rd, 64);
    cr_assert(gate_token_check(&f.a.keys, lease->lease_id, g->bundle.host_key, g->bundle.host_key_len, &g->token));

    cr_assert_eq(f.a.d->open_session(f.a.drv, lease, &g->token, &s, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_not_null(s->ssh_argv[0]);
    f.a.d->session_free(f.a.drv, s);
    cr_assert(calls_log_has(&f, "open_session cbx_00000000000a ok"));
    gate_result_free(g);
    free(g);
    teardown(&f, lease);
}

Test(host_gate, session_needs_a_token_minted_for_this_lease_and_key)
{
    fixture f;
    crabbox_lease *a_lease, *b_lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    crabbox_session *s = NULL;
    crabbox_attest_token forged = { .struct_size = sizeof forged }, tweaked;

    setup(&f, "", false);
    a_lease = warm(&f, "cbx_00000000000b");
    b_lease = warm(&f, "cbx_00000000000c");
    /* Before any verification: a zero token and a forged one. */
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &forged, &s, &err), CRABBOX_E_ATTESTATION);
    cr_assert_null(s);
    memset(forged.bytes, 0xa5, sizeof forged.bytes);
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &forged, &s, &err), CRABBOX_E_ATTESTATION);
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, NULL, &s, &err), CRABBOX_E_ATTESTATION);

    cr_assert_eq(run_gate(&f, a_lease, g, &err), CRABBOX_OK, "%s %s", err.message, g->detail);
    /* A's token does not open B. */
    cr_assert_eq(f.a.d->open_session(f.a.drv, b_lease, &g->token, &s, &err), CRABBOX_E_ATTESTATION);
    cr_assert_null(s);
    /* Any changed byte (MAC or the evidence hash it covers) is refused. */
    tweaked = g->token;
    tweaked.bytes[40] ^= 1;
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &tweaked, &s, &err), CRABBOX_E_ATTESTATION);
    tweaked = g->token;
    tweaked.bytes[0] ^= 0x80;
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &tweaked, &s, &err), CRABBOX_E_ATTESTATION);
    tweaked = g->token;
    tweaked.struct_size = 8;
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &tweaked, &s, &err), CRABBOX_E_ATTESTATION);
    /* Bound to the host key: the same token for another key, or for no key, fails. */
    {
        uint8_t other[51];
        memcpy(other, g->bundle.host_key, sizeof other);
        other[50] ^= 1;
        cr_assert_not(gate_token_check(&f.a.keys, b_lease->lease_id, g->bundle.host_key, g->bundle.host_key_len,
                                       &g->token));
        cr_assert_not(gate_token_check(&f.a.keys, a_lease->lease_id, other, sizeof other, &g->token));
        cr_assert_not(gate_token_check(&f.a.keys, a_lease->lease_id, NULL, 0, &g->token));
    }
    /* Tokens of another host process (another secret) mean nothing here. */
    {
        gate_keys other_keys;
        crabbox_attest_token t2;
        uint8_t h[32] = { 1 };
        cr_assert(gate_keys_init(&other_keys));
        cr_assert(gate_token_mint(&other_keys, a_lease->lease_id, g->bundle.host_key, g->bundle.host_key_len, h, &t2));
        cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &t2, &s, &err), CRABBOX_E_ATTESTATION);
    }
    cr_assert_eq(f.a.d->open_session(f.a.drv, a_lease, &g->token, &s, &err), CRABBOX_OK, "%s", err.message);
    f.a.d->session_free(f.a.drv, s);
    f.a.d->lease_free(f.a.drv, b_lease);
    gate_result_free(g);
    free(g);
    teardown(&f, a_lease);
}

Test(host_gate, early_session_request_is_refused)
{
    fixture f;
    crabbox_lease *lease;
    setup(&f, "early-session", false);
    lease = warm(&f, "cbx_00000000000d");
    cr_assert(calls_log_has(&f, "early-session cbx_00000000000d refused"));
    cr_assert_not(calls_log_has(&f, "ACCEPTED"));
    teardown(&f, lease);
}

static void expect_rejected(const char *mode, const char *check, int code)
{
    fixture f;
    crabbox_lease *lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    int rc;
    setup(&f, mode, false);
    lease = warm(&f, "cbx_0000000000ee");
    rc = run_gate(&f, lease, g, &err);
    cr_assert_eq(rc, code, "%s: rc %d (%s / %s)", mode, rc, err.message, g->detail);
    cr_assert_not(g->verified);
    cr_assert_str_eq(g->bundle.verdict, "rejected");
    cr_assert_str_eq(g->bundle.failed_check, check, "%s: failed %s (%s)", mode, g->bundle.failed_check, g->detail);
    if (code == CRABBOX_E_ATTESTATION) { cr_assert_str_eq(g->failed_check, check); }
    {
        crabbox_attest_token zero = { .struct_size = sizeof zero };
        cr_assert(memcmp(g->token.bytes, zero.bytes, sizeof zero.bytes) == 0, "no token after a rejection");
    }
    gate_result_free(g);
    free(g);
    teardown(&f, lease);
}

Test(host_gate, tampered_quote_fails_quote_signature)
{
    expect_rejected("tamper-quote", "quote_signature", CRABBOX_E_ATTESTATION);
}

Test(host_gate, other_compose_fails_compose_binding)
{
    expect_rejected("tamper-compose", "compose_binding", CRABBOX_E_ATTESTATION);
}

Test(host_gate, other_app_id_fails_app_id)
{
    expect_rejected("tamper-app-id", "app_id", CRABBOX_E_ATTESTATION);
}

Test(host_gate, quote_for_another_nonce_fails_report_data)
{
    expect_rejected("wrong-nonce", "report_data", CRABBOX_E_ATTESTATION);
}

Test(host_gate, missing_fresh_quote_fails_report_data)
{
    expect_rejected("not-fresh", "report_data", CRABBOX_E_ATTESTATION);
}

/* allowInfoOnlyAttestation: the Info quote alone passes, but is recorded as not fresh and every
 * other check still runs on it (a tampered Info quote is still refused). */
static void info_only(const char *mode, int want_rc, const char *want_check)
{
    fixture f;
    crabbox_lease *lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    int rc;
    cr_assert_not_null(g);
    setup(&f, mode, false);
    lease = warm(&f, "cbx_0000000000ef");
    rc = run_gate_with(&f, lease, g, true, &err);
    cr_assert_eq(rc, want_rc, "%s: rc %d (%s / %s)", mode, rc, err.message, g->detail);
    cr_assert_not(g->fresh, "no quote call: never fresh");
    cr_assert_not(g->bundle.fresh);
    if (want_check == NULL) {
        cr_assert(g->verified);
        cr_assert_str_eq(g->bundle.verdict, "verified");
        cr_assert(gate_token_check(&f.a.keys, lease->lease_id, g->bundle.host_key, g->bundle.host_key_len, &g->token));
    } else {
        cr_assert_not(g->verified);
        cr_assert_str_eq(g->failed_check, want_check);
    }
    gate_result_free(g);
    free(g);
    teardown(&f, lease);
}

Test(host_gate, info_only_opt_in_verifies_as_not_fresh)
{
    info_only("not-fresh", CRABBOX_OK, NULL);
}

Test(host_gate, info_only_opt_in_still_checks_the_info_quote)
{
    info_only("not-fresh,tamper-app-id", CRABBOX_E_ATTESTATION, "app_id");
}

Test(host_gate, garbage_info_is_rejected)
{
    expect_rejected("garbage", "event_log", CRABBOX_E_ATTESTATION);
}

Test(host_gate, fetch_failure_is_recorded)
{
    expect_rejected("fail-evidence", "evidence", CRABBOX_E_TRANSIENT);
}

Test(host_gate, lease_without_app_id_is_rejected)
{
    fixture f;
    crabbox_lease *lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    setup(&f, "", false);
    lease = warm(&f, "cbx_00000000000f");
    lease->app_id[0] = '\0';
    cr_assert_eq(run_gate(&f, lease, g, &err), CRABBOX_E_ATTESTATION);
    cr_assert_str_eq(g->failed_check, "app_id");
    gate_result_free(g);
    free(g);
    teardown(&f, lease);
}

Test(host_gate, collateral_runs_the_dcap_checks)
{
    fixture f;
    crabbox_lease *lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    setup(&f, "", true);
    cr_assert_not_null(f.a.collateral.data);
    lease = warm(&f, "cbx_000000000010");
    cr_assert_eq(run_gate(&f, lease, g, &err), CRABBOX_OK, "%s %s", err.message, g->detail);
    cr_assert_not(g->dcap_skipped);
    cr_assert(g->report.has_tcb);
    cr_assert_eq(g->report.tcb_status, CBA_TCB_UP_TO_DATE);
    cr_assert_not_null(g->bundle.collateral);
    cr_assert_str_eq(g->bundle.collateral_source, "file:test");
    gate_result_free(g);
    free(g);
    teardown(&f, lease);
}

Test(host_gate, required_collateral_missing_is_rejected)
{
    fixture f;
    crabbox_lease *lease;
    gate_result *g = calloc(1, sizeof *g);
    crabbox_err err = { 0 };
    g_default_require = true;
    setup(&f, "", false);
    g_default_require = false;
    cr_assert(f.a.require_collateral, "requireCollateral is true by default");
    lease = warm(&f, "cbx_000000000011");
    cr_assert_eq(run_gate(&f, lease, g, &err), CRABBOX_E_ATTESTATION);
    cr_assert_str_eq(g->failed_check, "collateral");
    gate_result_free(g);
    free(g);
    teardown(&f, lease);
}

Test(host_gate, token_mint_and_check)
{
    gate_keys k;
    crabbox_attest_token t;
    uint8_t h[32], key[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    memset(h, 7, sizeof h);
    cr_assert(gate_keys_init(&k));
    cr_assert(gate_token_mint(&k, "cbx_000000000001", key, sizeof key, h, &t));
    cr_assert_eq(t.struct_size, sizeof t);
    cr_assert_arr_eq(t.bytes + 32, h, 32, "the evidence hash travels in the token");
    cr_assert(gate_token_check(&k, "cbx_000000000001", key, sizeof key, &t));
    cr_assert_not(gate_token_check(&k, "cbx_000000000002", key, sizeof key, &t));
    cr_assert_not(gate_token_check(&k, "cbx_000000000001", key, sizeof key - 1, &t));
    cr_assert_not(gate_token_check(&k, "cbx_000000000001", NULL, sizeof key, &t), "NULL key with a length");
    cr_assert_not(gate_token_check(NULL, "cbx_000000000001", key, sizeof key, &t));
    /* The opt-out token: no key, zero evidence hash; it checks only without a key. */
    memset(h, 0, sizeof h);
    cr_assert(gate_token_mint(&k, "cbx_000000000001", NULL, 0, h, &t));
    cr_assert(gate_token_check(&k, "cbx_000000000001", NULL, 0, &t));
    cr_assert_not(gate_token_check(&k, "cbx_000000000001", key, sizeof key, &t));
    gate_keys_wipe(&k);
}

Test(host_gate, known_hosts_line)
{
    static const uint8_t blob[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 1, 0x41 };
    static const uint8_t bad[] = { 0, 0, 0, 40, 's', 's', 'h' };
    static const uint8_t odd[] = { 0, 0, 0, 3, 'a', ' ', 'b' };
    char line[256];
    cr_assert(gate_known_hosts_line(line, sizeof line, "cbx_000000000001", blob, sizeof blob));
    cr_assert_str_eq(line, "cbx_000000000001 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAUE=\n");
    cr_assert_not(gate_known_hosts_line(line, sizeof line, "x", bad, sizeof bad), "type longer than the blob");
    cr_assert_not(gate_known_hosts_line(line, sizeof line, "x", odd, sizeof odd), "a space in the type");
    cr_assert_not(gate_known_hosts_line(line, sizeof line, "x", NULL, 0));
}
