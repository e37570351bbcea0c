/* admission.c — may this lease be used (admission.h): the gate with the user's policy, labels,
 * evidence bundle, known_hosts pin, measurement pins, root's keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "base.h"
#include "gate.h"
#include "pins.h"
#include "spawnsvc.h"

#define DEPLOYED_MAX (200u << 10) /* compose + pre-launch script limit (phala-provider.md §9) */

/* The first line of a known_hosts whose key no quote bound (allowInfoOnlyAttestation). */
static const char k_unbound_marker[] =
    "# crabbox: info-only: this host key is NOT bound by any quote (allowInfoOnlyAttestation)\n";

/* ---- the settings, once ---------------------------------------------------------------------------- */

bool admission_attest_on(app *a, const char **where)
{
    const char *v = config_get(&a->cfg, a->d->name, "attest", where);
    return v == NULL || strcmp(v, "true") == 0;
}

static bool all_measurements_configured(const config *cfg)
{
    static const char *const k_measured[] = { "mrtd", "rtmr0", "rtmr1", "rtmr2" };
    bool configured = true;
    for (size_t i = 0; i < sizeof k_measured / sizeof k_measured[0]; i++) {
        configured = configured && config_trusted_sets(cfg, k_measured[i]);
    }
    return configured;
}

/* resolve_verifier_policy builds the verifier policy; a failure is kept for verification time. */
static void resolve_verifier_policy(app *a, admission_policy *out)
{
    out->verifier_settings = malloc(sizeof *out->verifier_settings);
    if (out->verifier_settings == NULL) {
        cbx_set_err(&out->policy_error, CRABBOX_E_FAILED, "out of memory");
        return;
    }
    if (config_policy(&a->cfg, out->verifier_settings, &out->policy_error) != CRABBOX_OK) { return; }
    cba_policy_init(&out->verifier_policy);
    tc_policy_apply(out->verifier_settings, &out->verifier_policy);
    tc_policy_describe(out->verifier_settings, out->policy_summary, sizeof out->policy_summary);
}

void admission_resolve(app *a, admission_policy *out)
{
    memset(out, 0, sizeof *out);
    out->attest = admission_attest_on(a, &out->attest_where);
    resolve_verifier_policy(a, out);
    out->collateral = a->collateral.data;
    out->collateral_len = a->collateral.len;
    out->collateral_source = a->collateral_source;
    out->require_collateral = a->require_collateral;
    out->collateral_fetch = config_get_bool(&a->cfg, NULL, "collateralFetch", true);
    out->fetch = (collateral_fetch_cfg){
        .pccs_url = config_get(&a->cfg, NULL, "pccsUrl", NULL),
        .trust_root_der = a->trust_root.data,
        .trust_root_der_len = a->trust_root.len,
        .quiet = a->json,
    };
    out->allow_info_only = config_get_bool(&a->cfg, NULL, "allowInfoOnlyAttestation", false);
    out->accept_phala_default_script = config_get_bool(&a->cfg, NULL, "acceptPhalaDefaultPreLaunchScript", false);
    out->measurements_configured = all_measurements_configured(&a->cfg);
}

void admission_free(admission_policy *p)
{
    if (p == NULL) { return; }
    free(p->verifier_settings);
    p->verifier_settings = NULL;
}

/* ---- the known_hosts pin --------------------------------------------------------------------------- */

bool admission_pin_unbound(const claim *c)
{
    char path[PATH_MAX];
    cbx_buf kh = { 0 };
    bool marked = cbx_path_join(path, sizeof path, c->lease_dir, "known_hosts") &&
                  cbx_read_file(path, 1u << 20, true, &kh) == 0 && kh.len >= sizeof k_unbound_marker - 1 &&
                  memcmp(kh.data, k_unbound_marker, sizeof k_unbound_marker - 1) == 0;
    cbx_buf_free(&kh);
    return marked;
}

/* pin_host_key writes the lease's known_hosts with the SSH host key (driver.h). A key that no
 * quote bound (info-only) is pinned too — sessions need it — but marked (k_unbound_marker), and
 * session_exec refuses a marked entry unless the same opt-in is active; every session re-verifies
 * first anyway, and a fresh verification rewrites the file unmarked. */
static void pin_host_key(const claim *c, const bundle *b, bool bound)
{
    char line[20000], path[PATH_MAX];
    size_t off = bound ? 0 : sizeof k_unbound_marker - 1;
    int e;
    if (b->host_key == NULL) { return; }
    if (!bound) { memcpy(line, k_unbound_marker, off); }
    if (!gate_known_hosts_line(line + off, sizeof line - off, c->lease, b->host_key, b->host_key_len) ||
        !cbx_path_join(path, sizeof path, c->lease_dir, "known_hosts")) {
        fprintf(stderr, "warning: the attested host key is not an SSH public key blob: not pinned\n");
        return;
    }
    e = cbx_write_file_atomic(path, line, strlen(line), 0600);
    if (e != 0) { fprintf(stderr, "warning: cannot write %s: %s\n", path, strerror(e)); }
}

/* ---- measurement pins ------------------------------------------------------------------------------ */

/* pin_mismatch names the first register that differs from its pin (failed check measurement_pins). */
static int pin_mismatch(const pin_entry *old, const pin_entry *now_seen, const char **failed_check, crabbox_err *err)
{
    static const char *const k_names[] = { "RTMR0", "RTMR1", "RTMR2" };
    const uint8_t *was = old->mrtd, *now = now_seen->mrtd;
    const char *name = "MRTD";
    char h1[97], h2[97];
    for (int i = 0; i < 3 && cba_ct_eq(old->mrtd, now_seen->mrtd, 48); i++) {
        if (!cba_ct_eq(old->rtmr[i], now_seen->rtmr[i], 48)) {
            was = old->rtmr[i];
            now = now_seen->rtmr[i];
            name = k_names[i];
            break;
        }
    }
    cbx_hex(h1, was, 48);
    cbx_hex(h2, now, 48);
    *failed_check = "measurement_pins";
    return cbx_set_err(err, CRABBOX_E_ATTESTATION,
                       "%s differs from its pin (first seen on lease %s): pinned %s, now %s; `crabbox pins "
                       "--forget %s` accepts the new image",
                       name, old->lease, h1, h2, now_seen->key);
}

/* pins_lookup checks (and on first sighting records) entry e in the pins file, under the state lock. */
static int pins_lookup(app *a, const pin_entry *e, pin_outcome *outcome, pin_entry *old, const char **failed_check,
                       crabbox_err *err)
{
    char path[PATH_MAX], why[256];
    int rc;
    if (!cbx_path_join(path, sizeof path, a->st.root, "pins")) { return cbx_set_err(err, CRABBOX_E_FAILED, "path too long"); }
    rc = state_lock(&a->st, true, err);
    if (rc != CRABBOX_OK) { return rc; }
    rc = pins_check(path, e, outcome, old, why, sizeof why);
    state_unlock(&a->st);
    if (rc != 0) {
        *failed_check = "measurement_pins";
        return cbx_set_err(err, CRABBOX_E_ATTESTATION, "measurement pins: %s", why[0] != '\0' ? why : strerror(rc));
    }
    return CRABBOX_OK;
}

/* check_pins applies the measurement pins (pins.h) to a verified report: first sighting pins it,
 * a match passes, another MRTD/RTMR0-2 under the same (provider, instance type, OS image) refuses
 * the lease (failed check measurement_pins) showing the pinned and the new value. Pins in trusted
 * config take precedence: when it allow-lists all four registers the verifier has judged them
 * (quote_measurements) and nothing is pinned on first use ("configured"). A repository's pins only
 * add to first-use pinning: they could otherwise replace a known image with another. */
static int check_pins(app *a, const admission_policy *p, claim *c, const cba_report *r, const char **failed_check,
                      crabbox_err *err)
{
    char os[65] = "";
    pin_entry e, old;
    pin_outcome outcome;
    int rc;
    if (p->measurements_configured) {
        snprintf(c->measurement_pin, sizeof c->measurement_pin, "configured");
        c->measurement_pin_key[0] = '\0';
        return CRABBOX_OK;
    }
    memset(&e, 0, sizeof e);
    if (r->has_os_image_hash) { cbx_hex(os, r->os_image_hash, 32); }
    if (!pins_key(e.key, sizeof e.key, a->d->name, c->server_type, os)) {
        *failed_check = "measurement_pins";
        return cbx_set_err(err, CRABBOX_E_ATTESTATION, "cannot make a measurement pin key (instance type \"%.60s\")",
                           c->server_type);
    }
    memcpy(e.mrtd, r->mrtd, 48);
    for (int i = 0; i < 3; i++) { memcpy(e.rtmr[i], r->rtmr[i], 48); }
    e.first_seen = cbx_now_unix();
    snprintf(e.lease, sizeof e.lease, "%s", c->lease);
    rc = pins_lookup(a, &e, &outcome, &old, failed_check, err);
    if (rc != CRABBOX_OK) { return rc; }
    snprintf(c->measurement_pin_key, sizeof c->measurement_pin_key, "%s", e.key);
    if (outcome == PIN_FIRST_SIGHTING) {
        snprintf(c->measurement_pin, sizeof c->measurement_pin, "first-sighting");
        fprintf(stderr, "measurements: FIRST SIGHTING of %s: pinned MRTD and RTMR0-2 (later leases must match; "
                        "`crabbox pins` lists them)\n", e.key);
        return CRABBOX_OK;
    }
    if (outcome == PIN_MATCH) {
        snprintf(c->measurement_pin, sizeof c->measurement_pin, "match");
        return CRABBOX_OK;
    }
    return pin_mismatch(&old, &e, failed_check, err);
}

/* ---- root's authorized_keys ------------------------------------------------------------------------ */

/* key_fields returns the length of "TYPE BASE64" at the start of an OpenSSH key line (options
 * before the type are not skipped: a line with options is not the lease's line). */
static size_t key_fields(const char *line, size_t len)
{
    size_t i = 0;
    int spaces = 0;
    for (; i < len; i++) {
        if (line[i] == ' ' && ++spaces == 2) { break; }
    }
    return i;
}

/* read_root_keys runs `cat` of root's authorized_keys over a session opened with tok (the
 * session's own ssh command). CRABBOX_OK with *out filled (spawn_output_free); a session or
 * spawn failure names the check "evidence". */
static int read_root_keys(app *a, const crabbox_lease *lease, const crabbox_attest_token *tok, crabbox_output *out,
                          const char **failed_check, crabbox_err *err)
{
    static char k_remote[] = "cat -- \"${CRABBOX_ROOT_KEYS:-/home/root/.ssh/authorized_keys}\"";
    crabbox_session *s = NULL;
    crabbox_spawn_opts so = { .struct_size = sizeof so, .deadline_ms = cbx_now_ms() + 120000 };
    const char **argv;
    size_t n = 0;
    int rc = a->d->open_session(a->drv, lease, tok, &s, err);
    if (rc != CRABBOX_OK || s == NULL || s->ssh_argv == NULL) {
        if (rc == CRABBOX_OK) { rc = cbx_set_err(err, CRABBOX_E_MALFORMED, "the driver returned no session"); }
        if (s != NULL) { a->d->session_free(a->drv, s); }
        *failed_check = "evidence";
        return rc;
    }
    while (s->ssh_argv[n] != NULL) { n++; }
    argv = calloc(n + 2, sizeof *argv);
    if (argv == NULL) {
        a->d->session_free(a->drv, s);
        return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
    }
    for (size_t i = 0; i < n; i++) { argv[i] = s->ssh_argv[i]; }
    argv[n] = k_remote;
    rc = host_spawn_plain(a, argv, &so, out, err);
    free(argv);
    a->d->session_free(a->drv, s);
    if (rc != CRABBOX_OK) { *failed_check = "evidence"; }
    return rc;
}

/* judge_root_keys: exactly one key line, and it is the lease's own ("TYPE BASE64" of pub). */
static int judge_root_keys(const crabbox_output *out, const cbx_buf *pub, crabbox_err *err)
{
    const char *p = (const char *)out->out, *end = p + out->out_len;
    size_t want_len = key_fields((const char *)pub->data, pub->len), num_keys = 0, foreign = 0;
    if (out->exit_status != 0 || out->timed_out || out->truncated) {
        return cbx_set_err(err, CRABBOX_E_ATTESTATION,
                           "cannot read root's authorized_keys over the verified session (ssh status %d%s): the "
                           "lease's key is not known to be the only one",
                           out->exit_status, out->timed_out ? ", timed out" : out->truncated ? ", too long" : "");
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        size_t k = len;
        while (k > 0 && (p[k - 1] == '\r' || p[k - 1] == ' ' || p[k - 1] == '\t')) { k--; }
        if (k > 0 && p[0] != '#') {
            num_keys++;
            if (key_fields(p, k) != want_len || memcmp(p, pub->data, want_len) != 0) { foreign++; }
        }
        p += len + 1;
    }
    if (foreign != 0 || num_keys != 1) {
        return cbx_set_err(err, CRABBOX_E_ATTESTATION,
                           "root's authorized_keys holds %zu key(s), %zu of them not the lease's: someone else can "
                           "log in as root",
                           num_keys, foreign);
    }
    return CRABBOX_OK;
}

/* check_root_keys is the defence in depth after a verified attestation: over a session opened with
 * the fresh token it reads root's authorized_keys and refuses the lease when it holds any key but
 * the lease's own (or cannot be read). The attested pre-launch script already proves which key was
 * installed at boot; this catches a key added since, e.g. by Phala's default script accepted by
 * hash. Alone it would be racy: a key added right after the read (or removed just before it, and
 * added again) is not seen, and a CVM that is not what it claims answers whatever it likes — which
 * is why it only adds to the attestation, never replaces it. */
static int check_root_keys(app *a, const claim *c, const crabbox_lease *lease, const crabbox_attest_token *tok,
                           const char **failed_check, crabbox_err *err)
{
    crabbox_output out = { 0 };
    cbx_buf pub = { 0 };
    char path[PATH_MAX];
    int rc;

    *failed_check = "root_keys";
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "id_ed25519.pub") ||
        cbx_read_file(path, 4096, true, &pub) != 0) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the lease public key of %s", c->lease);
    }
    rc = read_root_keys(a, lease, tok, &out, failed_check, err);
    if (rc != CRABBOX_OK) {
        cbx_buf_free(&pub);
        return rc;
    }
    rc = judge_root_keys(&out, &pub, err);
    spawn_output_free(&out);
    cbx_buf_free(&pub);
    if (rc == CRABBOX_OK) { *failed_check = NULL; }
    return rc;
}

/* ---- verification ---------------------------------------------------------------------------------- */

/* admit_opted_out: the user turned attestation off. The record says so too: a bundle without
 * evidence, verdict "skipped"; the token binds no host key and a zero evidence hash. */
static int admit_opted_out(app *a, const admission_policy *p, claim *c, const crabbox_lease *lease,
                           crabbox_attest_token *tok, crabbox_err *err)
{
    static const uint8_t k_zero[32] = { 0 };
    fprintf(stderr, "WARNING: attestation is turned off (%s): this lease is NOT verified and is labelled "
                    "attested=false\n", p->attest_where);
    if (attestlib_save_skipped_bundle(a->st.evidence, c->lease, a->d->name, lease->cloud_id, p->attest_where,
                                      c->bundle, sizeof c->bundle)) {
        fprintf(stderr, "evidence bundle saved: %s\n", c->bundle);
    }
    c->attested = 0;
    if (!gate_token_mint(&a->keys, lease->lease_id, NULL, 0, k_zero, tok)) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot mint the session token");
    }
    return CRABBOX_OK;
}

/* read_deployed reads the compose and the pre-launch script saved in the lease directory. Leases
 * made before scripts existed have none: then the app-compose must carry no script at all (or an
 * accepted one). */
static int read_deployed(const claim *c, cbx_buf *compose, cbx_buf *script, crabbox_err *err)
{
    char path[PATH_MAX];
    int e;
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "compose.yml") ||
        cbx_read_file(path, DEPLOYED_MAX, true, compose) != 0) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the deployed compose of lease %s", c->lease);
    }
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "pre-launch.sh")) {
        cbx_buf_free(compose);
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    e = cbx_read_file(path, DEPLOYED_MAX, true, script);
    if (e != 0 && e != ENOENT) {
        cbx_buf_free(compose);
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the pre-launch script of lease %s: %s", c->lease,
                           strerror(e));
    }
    return CRABBOX_OK;
}

static gate_policy gate_policy_for(const admission_policy *p, const char *provider, const deployed_inputs *in,
                                   collateral_fetch_cfg *fetch)
{
    return (gate_policy){
        .verifier_policy = &p->verifier_policy,
        .collateral = p->collateral,
        .collateral_len = p->collateral_len,
        .collateral_source = p->collateral_source,
        .require_collateral = p->require_collateral,
        .collateral_fetch_off = !p->collateral_fetch,
        .trust_root_der = p->fetch.trust_root_der,
        .trust_root_der_len = p->fetch.trust_root_der_len,
        .provider = provider,
        .allow_info_only = p->allow_info_only,
        .fetch_collateral = p->collateral_fetch ? attestlib_fetch_collateral : NULL,
        .fetch_ctx = fetch,
        .pre_launch_script = in->pre_launch_script,
        .pre_launch_script_len = in->pre_launch_script_len,
        .accept_phala_default_script = p->accept_phala_default_script,
    };
}

/* run_gate fetches fresh evidence and verifies it (gate_run), saying what it does; *g is filled. */
static int run_gate(app *a, const admission_policy *p, const crabbox_lease *lease, const deployed_inputs *in,
                    gate_result *g, crabbox_err *err)
{
    collateral_fetch_cfg fetch = p->fetch;
    gate_policy pol = gate_policy_for(p, a->d->name, in, &fetch);
    int rc;
    if (p->policy_summary[0] != '\0') { fprintf(stderr, "crabbox: verifier policy: %s\n", p->policy_summary); }
    fprintf(stderr, "crabbox: fetching attestation evidence for %s=%s (fresh nonce)\n", a->cvm_key, lease->cloud_id);
    rc = gate_run(&a->keys, a->d, a->drv, lease, in->compose, in->compose_len, &pol, cbx_now_unix(), g, err);
    if (g->bundle.dcap_skipped && !p->require_collateral && (rc == CRABBOX_OK || rc == CRABBOX_E_ATTESTATION)) {
        fprintf(stderr, "WARNING: no DCAP collateral (%s): the DCAP checks (CRLs, TCB info, QE identity, TCB status) "
                        "were SKIPPED because requireCollateral is false; quote signatures and the chain to the root "
                        "were still checked. Labelled dcap=skipped. Give --collateral FILE, or set pccsUrl in your "
                        "user config\n",
                g->collateral_note[0] != '\0' ? g->collateral_note
                : p->collateral_fetch         ? "none found"
                                              : "collateralFetch is off");
    }
    return rc;
}

/* label_verified records what the verified report says in the claim, pins the host key and says
 * so on stderr. */
static void label_verified(app *a, claim *c, const crabbox_lease *lease, const gate_result *g)
{
    char rtmr3[97], ch[65], app_id[41];
    const cba_report *r = &g->report;
    cbx_hex(rtmr3, r->rtmr[3], 48);
    cbx_hex(ch, r->compose_hash, 32);
    cbx_hex(app_id, r->app_id, 20);
    c->attested = 1;
    c->attestation_fresh = g->fresh ? 1 : 0;
    if (!g->fresh) {
        fprintf(stderr, "WARNING: the guest agent offered no quote call: accepted the Info quote only "
                        "(allowInfoOnlyAttestation). It is NOT bound to this SSH session: a replayed Info "
                        "would pass. Labelled attestation_fresh=false\n");
    }
    snprintf(c->tdx_app_id, sizeof c->tdx_app_id, "%s", app_id);
    snprintf(c->tdx_compose_hash, sizeof c->tdx_compose_hash, "%s", ch);
    snprintf(c->tdx_rtmr3, sizeof c->tdx_rtmr3, "%s", rtmr3);
    cbx_hex(c->tdx_mrtd, r->mrtd, 48);
    if (r->has_os_image_hash) {
        cbx_hex(c->tdx_os_image_hash, r->os_image_hash, 32);
    } else {
        c->tdx_os_image_hash[0] = '\0';
    }
    pin_host_key(c, &g->bundle, g->fresh);
    snprintf(c->ssh_keys, sizeof c->ssh_keys, "%s", g->ssh_keys != NULL ? g->ssh_keys : "unchecked");
    if (strcmp(c->ssh_keys, "host-controllable") == 0) { fprintf(stderr, "%s\n", BUNDLE_PHALA_DEFAULT_WARNING); }
    fprintf(stderr, "attested %s=%s app_id=%s compose_hash=%s rtmr3=%s ssh_keys=%s%s%s\n", a->cvm_key,
            lease->cloud_id, app_id, ch, rtmr3, c->ssh_keys, g->dcap_skipped ? " dcap=skipped" : "",
            g->fresh ? "" : " attestation_fresh=false");
}

/* after_verified runs the host's own checks on a verified lease (measurement pins, root's keys);
 * a refusal takes the label and the token back. */
static int after_verified(app *a, const admission_policy *p, claim *c, const crabbox_lease *lease,
                          const gate_result *g, crabbox_attest_token *tok, const char **failed_check,
                          crabbox_err *err)
{
    int rc;
    label_verified(a, c, lease, g);
    *tok = g->token;
    rc = check_pins(a, p, c, &g->report, failed_check, err);
    if (rc == CRABBOX_OK) { rc = check_root_keys(a, c, lease, tok, failed_check, err); }
    if (rc == CRABBOX_E_ATTESTATION) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        c->attested = 0;
        cbx_wipe(tok, sizeof *tok);
        cbx_set_err(err, CRABBOX_E_ATTESTATION, "refusing %s lease %s=%s: %s: %s", a->display, a->cvm_key,
                    lease->cloud_id, *failed_check != NULL ? *failed_check : "attestation", msg);
    } else if (rc != CRABBOX_OK) {
        cbx_wipe(tok, sizeof *tok);
    }
    return rc;
}

/* explain_refusal words a gate failure: the evidence rejected (the check) or not fetched. */
static void explain_refusal(app *a, const crabbox_lease *lease, const gate_result *g, int rc,
                            const char **failed_check, crabbox_err *err)
{
    char msg[sizeof err->message];
    if (rc == CRABBOX_E_ATTESTATION) {
        *failed_check = g->failed_check;
        cbx_set_err(err, CRABBOX_E_ATTESTATION,
                    "refusing %s lease: TDX attestation verification failed for %s=%s: %s: %s", a->display,
                    a->cvm_key, lease->cloud_id, g->failed_check != NULL ? g->failed_check : "evidence", g->detail);
        return;
    }
    snprintf(msg, sizeof msg, "%s", err->message);
    *failed_check = "evidence";
    cbx_set_err(err, rc, "refusing %s lease: TDX attestation fetch failed for %s=%s: %s", a->display, a->cvm_key,
                lease->cloud_id, msg);
}

/* verify_with_gate: the gate, the bundle, then the labels or the refusal. */
static int verify_with_gate(app *a, const admission_policy *p, claim *c, const crabbox_lease *lease,
                            const deployed_inputs *in, crabbox_attest_token *tok, const char **failed_check,
                            crabbox_err *err)
{
    gate_result *g = calloc(1, sizeof *g);
    int rc;
    if (g == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
    rc = run_gate(a, p, lease, in, g, err);
    if (attestlib_save_bundle(a->st.evidence, &g->bundle, c->bundle, sizeof c->bundle)) {
        fprintf(stderr, "evidence bundle saved: %s\n", c->bundle);
    }
    if (rc == CRABBOX_OK) {
        rc = after_verified(a, p, c, lease, g, tok, failed_check, err);
    } else {
        explain_refusal(a, lease, g, rc, failed_check, err);
    }
    gate_result_free(g);
    free(g);
    return rc;
}

int admission_verify(app *a, const admission_policy *p, claim *c, const crabbox_lease *lease,
                     const deployed_inputs *deployed, bool force, crabbox_attest_token *tok,
                     const char **failed_check, crabbox_err *err)
{
    cbx_buf compose = { 0 }, script = { 0 };
    deployed_inputs from_disk;
    int rc;

    *failed_check = NULL;
    if (!force && !p->attest) { return admit_opted_out(a, p, c, lease, tok, err); }
    if (deployed == NULL) {
        rc = read_deployed(c, &compose, &script, err);
        if (rc != CRABBOX_OK) { return rc; }
        from_disk = (deployed_inputs){ compose.data, compose.len, script.data, script.len };
        deployed = &from_disk;
    }
    if (p->policy_error.code != CRABBOX_OK) {
        *err = p->policy_error;
        rc = err->code;
    } else {
        rc = verify_with_gate(a, p, c, lease, deployed, tok, failed_check, err);
    }
    cbx_buf_free(&compose);
    cbx_buf_free(&script);
    return rc;
}
