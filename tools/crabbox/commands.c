/* commands.c — warmup, run, ssh, list, stop, doctor, cleanup, attest. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base.h"
#include "crabbox/collateral.h"
#include "host.h"
#include "sha2.h"
#include "pins.h"
#include "prelaunch.h"
#include "spawnsvc.h"

#define COMPOSE_MAX (200u << 10) /* compose + pre-launch script limit (phala-provider.md §9) */
#define AMBIGUOUS_GRACE_SECS 300 /* an intent claim may still get its CVM for this long */

/* The bundled compose (phala-provider.md §5 step 3) when none is configured. */
static const char k_default_compose[] =
    "services:\n"
    "  crabbox:\n"
    "    image: debian:stable-slim@sha256:f35eebaec00d2be9d1d3144156ce24c4b98d84d12376666a5c45e059b4a8d363\n"
    "    restart: unless-stopped\n"
    "    command: [\"sleep\", \"infinity\"]\n";

static const char *const k_adjectives[] = { "amber", "brisk", "calm", "dusty", "eager", "fuzzy", "gentle", "hazy",
                                            "icy", "jolly", "keen", "lucky", "mellow", "nimble", "odd", "plucky",
                                            "quiet", "rusty", "sunny", "tidy", "urban", "vivid", "witty", "zesty" };
static const char *const k_nouns[] = { "anchor", "barnacle", "claw", "dune", "eel", "fjord", "gull", "harbor",
                                       "inlet", "jetty", "kelp", "lagoon", "mussel", "nautilus", "oyster", "pebble",
                                       "quay", "reef", "shell", "tide", "urchin", "wave", "wharf", "yawl" };

static void print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

static int fail(app *a, const crabbox_err *err)
{
    return report_error(a, err->code != CRABBOX_OK ? err->code : CRABBOX_E_FAILED, err->message, NULL);
}

/* ---- claims and leases ------------------------------------------------------------------------- */

static void lease_from_claim(const claim *c, crabbox_lease *l)
{
    memset(l, 0, sizeof *l);
    l->struct_size = sizeof *l;
    snprintf(l->lease_id, sizeof l->lease_id, "%s", c->lease);
    snprintf(l->cloud_id, sizeof l->cloud_id, "%s", c->cloud_id);
    snprintf(l->name, sizeof l->name, "%s", c->name);
    snprintf(l->status, sizeof l->status, "%s", c->status);
    snprintf(l->app_id, sizeof l->app_id, "%s", c->app_id);
    snprintf(l->gateway_host, sizeof l->gateway_host, "%s", c->gateway_host);
}

/* resolve finds the claim for a lease id or slug in our scope: CRABBOX_E_NOT_FOUND otherwise. */
static int resolve(app *a, const char *id, claim *out, crabbox_err *err)
{
    claim *list;
    size_t n;
    int rc;
    if (id == NULL || id[0] == '\0') { return cbx_set_err(err, CRABBOX_E_NOT_FOUND, "a lease id or slug is needed"); }
    rc = claim_list(&a->st, &list, &n, err);
    if (rc != CRABBOX_OK) { return rc; }
    for (size_t i = 0; i < n; i++) {
        if ((strcmp(list[i].lease, id) == 0 || strcmp(list[i].slug, id) == 0) && strcmp(list[i].scope, a->scope) == 0 &&
            strcmp(list[i].provider, a->d->name) == 0) {
            *out = list[i];
            free(list);
            return CRABBOX_OK;
        }
    }
    free(list);
    return cbx_set_err(err, CRABBOX_E_NOT_FOUND, "%s lease not found: %.64s (no local claim in this scope)", a->display,
                       id);
}

/* unlock_lease releases a lease lock, removing the lock file when the claim is gone (safe at any
 * time for the holder: lockers check that the file they locked is still the one on disk). */
static void unlock_lease(app *a, const char *lease, int fd)
{
    char path[PATH_MAX];
    if (fd < 0) { return; } /* not held (lease may be unset then) */
    bool gone = snprintf(path, sizeof path, "%s/%s.json", a->st.claims, lease) < (int)sizeof path &&
                access(path, F_OK) != 0;
    lease_unlock(&a->st, lease, fd, gone);
}

/* Best-effort claim updates on error paths: a failure is reported, the command goes on failing. */
static void save_claim(app *a, const claim *c)
{
    crabbox_err e;
    if (claim_write(&a->st, c, &e) != CRABBOX_OK) { fprintf(stderr, "warning: %s\n", e.message); }
}

static void drop_claim(app *a, const char *lease)
{
    crabbox_err e;
    if (claim_remove(&a->st, lease, &e) != CRABBOX_OK) { fprintf(stderr, "warning: %s\n", e.message); }
}

static void remove_lease_files(app *a, const claim *c)
{
    char dir[PATH_MAX];
    if (lease_dir_path(&a->st, c->lease, dir, sizeof dir)) { (void)cbx_remove_tree(dir); }
}

/* touch records activity on a lease (idle timeout) under its lock. */
static void touch(app *a, claim *c)
{
    crabbox_err err;
    claim fresh;
    if (claim_read(&a->st, c->lease, &fresh, &err) != CRABBOX_OK) { return; }
    fresh.ephemeral = fresh.ephemeral || c->ephemeral;
    fresh.last_touched_at = cbx_now_unix();
    claim_set_expiry(&fresh);
    if (claim_write(&a->st, &fresh, &err) == CRABBOX_OK) { *c = fresh; }
}

static bool read_compose(app *a, cbx_buf *out, crabbox_err *err)
{
    const char *where;
    const char *path = config_get(&a->cfg, a->d->name, "compose", &where);
    int e;
    if (path == NULL) {
        out->data = (uint8_t *)strdup(k_default_compose);
        out->len = strlen(k_default_compose);
        if (out->data == NULL) {
            cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
            return false;
        }
        return true;
    }
    if (strstr(path, "://") != NULL) {
        cbx_set_err(err, CRABBOX_E_USAGE, "%s: compose must be a local file, not a URL", where);
        return false;
    }
    /* Read once: these exact bytes are deployed and later checked by attestation (no TOCTOU). */
    e = cbx_read_file(path, COMPOSE_MAX, false, out);
    if (e != 0) {
        cbx_set_err(err, CRABBOX_E_USAGE, "compose %s (%s): %s", path, where,
                    e == EFBIG ? "larger than 200 KiB" : e == EINVAL ? "not a regular file" : strerror(e));
        return false;
    }
    return true;
}

static bool slug_taken(const claim *list, size_t n, const char *slug)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].slug, slug) == 0) { return true; }
    }
    return false;
}

/* make_slug normalises --slug (lowercase, runs of other characters -> '-') or makes adjective-noun,
 * adding a 4-hex suffix on collision. */
static bool make_slug(app *a, const claim *list, size_t n, char *out, size_t out_len)
{
    char base[48];
    uint8_t r[4];
    size_t o = 0;
    if (!cbx_random(r, sizeof r)) { return false; }
    if (a->slug_opt != NULL) {
        bool dash = false;
        for (const char *p = a->slug_opt; *p != '\0' && o + 1 < sizeof base; p++) {
            char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
                if (dash && o > 0) { base[o++] = '-'; }
                dash = false;
                if (o + 1 < sizeof base) { base[o++] = ch; }
            } else {
                dash = true;
            }
        }
        base[o] = '\0';
        if (o == 0) { return false; }
    } else {
        snprintf(base, sizeof base, "%s-%s", k_adjectives[r[0] % (sizeof k_adjectives / sizeof *k_adjectives)],
                 k_nouns[r[1] % (sizeof k_nouns / sizeof *k_nouns)]);
    }
    snprintf(out, out_len, "%s", base);
    for (int attempt = 0; slug_taken(list, n, out); attempt++) {
        if (attempt > 16 || !cbx_random(r, 2)) { return false; }
        snprintf(out, out_len, "%.40s-%02x%02x", base, r[0], r[1]);
    }
    return true;
}

/* ---- the gate ----------------------------------------------------------------------------------- */

static bool attest_enabled(app *a, bool print_warning)
{
    const char *where;
    bool on = true;
    const char *v = config_get(&a->cfg, a->d->name, "attest", &where);
    if (v != NULL) { on = strcmp(v, "true") == 0; }
    if (!on && print_warning) {
        fprintf(stderr, "WARNING: attestation is turned off (%s): this lease is NOT verified and is labelled "
                        "attested=false\n", where);
    }
    return on;
}

static bool save_bundle(app *a, const bundle *b, char *out_path, size_t out_len)
{
    uint8_t r[2];
    json_object *o;
    const char *text;
    int e;
    if (!cbx_random(r, 2) ||
        snprintf(out_path, out_len, "%s/%s-%lld-%02x%02x.json", a->st.evidence, b->lease, (long long)b->time, r[0],
                 r[1]) >= (int)out_len) {
        return false;
    }
    {
        /* Authenticate what we write (bundle.h): a shallow copy carries the MAC. */
        bundle tmp = *b;
        uint8_t key[32];
        int ke = bundle_key_load(key, true);
        if (ke == 0 && bundle_mac(b, key, tmp.mac)) {
            tmp.has_mac = true;
        } else {
            fprintf(stderr, "crabbox: warning: the evidence bundle is not authenticated: no bundle key (%s)\n",
                    ke != 0 ? strerror(ke) : "MAC failed");
        }
        explicit_bzero(key, sizeof key);
        o = bundle_to_json(&tmp);
    }
    if (o == NULL) { return false; }
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    e = text != NULL ? cbx_write_file_atomic(out_path, text, strlen(text), 0600) : ENOMEM;
    json_object_put(o);
    if (e != 0) {
        fprintf(stderr, "crabbox: cannot save the evidence bundle %s: %s\n", out_path, strerror(e));
        return false;
    }
    return true;
}

/* The first line of a known_hosts whose key no quote bound (allowInfoOnlyAttestation). */
static const char k_unbound_marker[] =
    "# crabbox: info-only: this host key is NOT bound by any quote (allowInfoOnlyAttestation)\n";

/* pin_host_key writes the lease's known_hosts with the SSH host key (driver.h). A key that no
 * quote bound (info-only) is pinned too — sessions need it — but marked (k_unbound_marker), and
 * session_exec refuses a marked entry unless the same opt-in is active; every session re-verifies
 * first anyway, and a fresh verification rewrites the file unmarked. */
static void pin_host_key(app *a, const claim *c, const bundle *b, bool bound)
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

/* collateral_note prints libcrabbox-attest's fetch progress, warnings and errors on stderr, as
 * crabbox-attest does (the same lines from the same code). */
static void collateral_note(void *ctx, cba_fetch_note kind, const char *line)
{
    (void)ctx;
    (void)kind;
    fprintf(stderr, "crabbox-attest: %s\n", line);
}

/* host_collateral is the gate's collateral source (gate_collateral_fn): the per-user cache of
 * verified collateral, else Intel PCS or the configured PCCS (crabbox-attest's fetch code). A
 * network failure gives no collateral (the DCAP checks are then skipped, loudly, or the lease is
 * refused with requireCollateral); collateral that was assembled but does not verify is handed
 * on anyway, so that the verifier refuses the lease and names the check. */
static int host_collateral(void *ctx, const cba_evidence *ev, int64_t now, cbx_buf *out, char *source,
                           size_t source_len, char *why, size_t why_len)
{
    app *a = ctx;
    cba_fetch_opts o;
    cba_fetch_result r;
    cba_fetch_status st;
    cba_fetch_opts_init(&o);
    o.progress = collateral_note;
    o.env_xdg_cache_home = getenv("XDG_CACHE_HOME");
    o.env_home = getenv("HOME");
    o.base_url = config_get(&a->cfg, NULL, "pccsUrl", NULL);
    o.trust_root_der = a->trust_root.data;
    o.trust_root_der_len = a->trust_root.len;
    o.quiet = a->json;
    fprintf(stderr, "crabbox: DCAP collateral for this quote: the local cache, else %s\n",
            o.base_url != NULL ? o.base_url : "Intel PCS");
    st = cba_fetch_collateral(&o, ev, now, &r);
    if (r.json.data != NULL && (st == CBA_FETCH_OK || st == CBA_FETCH_NOT_VERIFIED)) {
        out->data = r.json.data;
        out->len = r.json.len;
        r.json.data = NULL;
        r.json.len = 0;
        snprintf(source, source_len, "%s%.200s", r.from_cache ? "cache, from " : "fetched from ",
                 o.base_url != NULL ? o.base_url : CBA_FETCH_DEFAULT_URL);
        cba_fetch_result_free(&r);
        return 0;
    }
    snprintf(why, why_len, "tried the local collateral cache, then %s: %.200s",
             o.base_url != NULL ? o.base_url : CBA_FETCH_DEFAULT_URL,
             r.error[0] != '\0' ? r.error : "collateral could not be fetched");
    cba_fetch_result_free(&r);
    return -1;
}

/* check_pins applies the measurement pins (pins.h) to a verified report: first sighting pins it,
 * a match passes, another MRTD/RTMR0-2 under the same (provider, instance type, OS image) refuses
 * the lease (failed check measurement_pins) showing the pinned and the new value. Pins in trusted
 * config take precedence: when it allow-lists all four registers the verifier has judged them
 * (quote_measurements) and nothing is pinned on first use ("configured"). A repository's pins only
 * add to first-use pinning: they could otherwise replace a known image with another. */
static int check_pins(app *a, claim *c, const cba_report *r, const char **failed_check, crabbox_err *err)
{
    static const char *const k_measured[] = { "mrtd", "rtmr0", "rtmr1", "rtmr2" };
    char path[PATH_MAX], os[65] = "", why[256];
    pin_entry e, old;
    pin_outcome outcome;
    bool configured = true;
    int rc;
    for (size_t i = 0; i < sizeof k_measured / sizeof k_measured[0]; i++) {
        configured = configured && config_trusted_sets(&a->cfg, k_measured[i]);
    }
    if (configured) {
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
    if (!cbx_path_join(path, sizeof path, a->st.root, "pins")) { return cbx_set_err(err, CRABBOX_E_FAILED, "path too long"); }
    rc = state_lock(&a->st, true, err);
    if (rc != CRABBOX_OK) { return rc; }
    rc = pins_check(path, &e, &outcome, &old, why, sizeof why);
    state_unlock(&a->st);
    if (rc != 0) {
        *failed_check = "measurement_pins";
        return cbx_set_err(err, CRABBOX_E_ATTESTATION, "measurement pins: %s", why[0] != '\0' ? why : strerror(rc));
    }
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
    {
        const uint8_t *was = old.mrtd, *now = e.mrtd;
        const char *name = "MRTD";
        char h1[97], h2[97];
        static const char *const k_names[] = { "RTMR0", "RTMR1", "RTMR2" };
        for (int i = 0; i < 3 && cba_ct_eq(old.mrtd, e.mrtd, 48); i++) {
            if (!cba_ct_eq(old.rtmr[i], e.rtmr[i], 48)) {
                was = old.rtmr[i];
                now = e.rtmr[i];
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
                           name, old.lease, h1, h2, e.key);
    }
}

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
    static char k_remote[] = "cat -- \"${CRABBOX_ROOT_KEYS:-/home/root/.ssh/authorized_keys}\"";
    crabbox_session *s = NULL;
    crabbox_output out = { 0 };
    crabbox_spawn_opts so = { .struct_size = sizeof so, .deadline_ms = cbx_now_ms() + 120000 };
    cbx_buf pub = { 0 };
    char path[PATH_MAX];
    const char **argv;
    size_t n = 0, want_len, num_keys = 0, foreign = 0;
    int rc, e;

    *failed_check = "root_keys";
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "id_ed25519.pub") ||
        (e = cbx_read_file(path, 4096, true, &pub)) != 0) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the lease public key of %s", c->lease);
    }
    want_len = key_fields((const char *)pub.data, pub.len);
    rc = a->d->open_session(a->drv, lease, tok, &s, err);
    if (rc != CRABBOX_OK || s == NULL || s->ssh_argv == NULL) {
        if (rc == CRABBOX_OK) { rc = cbx_set_err(err, CRABBOX_E_MALFORMED, "the driver returned no session"); }
        if (s != NULL) { a->d->session_free(a->drv, s); }
        cbx_buf_free(&pub);
        *failed_check = "evidence";
        return rc;
    }
    while (s->ssh_argv[n] != NULL) { n++; }
    argv = calloc(n + 2, sizeof *argv);
    if (argv == NULL) {
        a->d->session_free(a->drv, s);
        cbx_buf_free(&pub);
        return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
    }
    for (size_t i = 0; i < n; i++) { argv[i] = s->ssh_argv[i]; }
    argv[n] = k_remote;
    rc = host_spawn_plain(a, argv, &so, &out, err);
    free(argv);
    a->d->session_free(a->drv, s);
    if (rc != CRABBOX_OK) {
        cbx_buf_free(&pub);
        *failed_check = "evidence";
        return rc;
    }
    if (out.exit_status != 0 || out.timed_out || out.truncated) {
        rc = cbx_set_err(err, CRABBOX_E_ATTESTATION,
                         "cannot read root's authorized_keys over the verified session (ssh status %d%s): the "
                         "lease's key is not known to be the only one",
                         out.exit_status, out.timed_out ? ", timed out" : out.truncated ? ", too long" : "");
    } else {
        const char *p = (const char *)out.out, *end = p + out.out_len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
            size_t k = len;
            while (k > 0 && (p[k - 1] == '\r' || p[k - 1] == ' ' || p[k - 1] == '\t')) { k--; }
            if (k > 0 && p[0] != '#') {
                num_keys++;
                if (key_fields(p, k) != want_len || memcmp(p, pub.data, want_len) != 0) { foreign++; }
            }
            p += len + 1;
        }
        if (foreign != 0 || num_keys != 1) {
            rc = cbx_set_err(err, CRABBOX_E_ATTESTATION,
                             "root's authorized_keys holds %zu key(s), %zu of them not the lease's: someone else can "
                             "log in as root",
                             num_keys, foreign);
        }
    }
    spawn_output_free(&out);
    cbx_buf_free(&pub);
    if (rc == CRABBOX_OK) { *failed_check = NULL; }
    return rc;
}

/* verify_lease runs the gate on a lease (or, unless force, mints an opt-out token when the user
 * turned attestation off), labels the claim and saves the bundle. CRABBOX_OK with *tok minted, CRABBOX_E_ATTESTATION (rejected: failed_check set) or
 * a fetch error. The caller decides what happens to a rejected lease. */
static int verify_lease(app *a, claim *c, const crabbox_lease *lease, bool force, crabbox_attest_token *tok,
                        const char **failed_check, crabbox_err *err)
{
    cbx_buf compose = { 0 }, script = { 0 };
    char path[PATH_MAX];
    gate_result *g;
    tc_policy *vpol;
    cba_policy vp;
    int rc, e;
    static const uint8_t k_zero[32] = { 0 };

    *failed_check = NULL;
    if (!force && !attest_enabled(a, true)) {
        bundle b;
        const char *where;
        /* The record says so too: a bundle without evidence, verdict "skipped". */
        bundle_init(&b);
        snprintf(b.lease, sizeof b.lease, "%s", c->lease);
        snprintf(b.provider, sizeof b.provider, "%s", a->d->name);
        snprintf(b.cloud_id, sizeof b.cloud_id, "%s", lease->cloud_id);
        b.time = cbx_now_unix();
        b.dcap_skipped = true;
        snprintf(b.verdict, sizeof b.verdict, "skipped");
        (void)config_get(&a->cfg, a->d->name, "attest", &where);
        snprintf(b.detail, sizeof b.detail, "attestation turned off by %.200s", where);
        if (save_bundle(a, &b, c->bundle, sizeof c->bundle)) { fprintf(stderr, "evidence bundle saved: %s\n", c->bundle); }
        c->attested = 0;
        if (!gate_token_mint(&a->keys, lease->lease_id, NULL, 0, k_zero, tok)) {
            return cbx_set_err(err, CRABBOX_E_FAILED, "cannot mint the session token");
        }
        return CRABBOX_OK;
    }
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "compose.yml") ||
        (e = cbx_read_file(path, COMPOSE_MAX, true, &compose)) != 0) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the deployed compose of lease %s", c->lease);
    }
    /* The script the host generated for this lease. Leases made before scripts existed have none:
     * then the app-compose must carry no script at all (or an accepted one). */
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "pre-launch.sh")) {
        cbx_buf_free(&compose);
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    e = cbx_read_file(path, COMPOSE_MAX, true, &script);
    if (e != 0 && e != ENOENT) {
        cbx_buf_free(&compose);
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the pre-launch script of lease %s: %s", c->lease,
                           strerror(e));
    }
    g = calloc(1, sizeof *g);
    vpol = malloc(sizeof *vpol);
    if (g == NULL || vpol == NULL) {
        free(g);
        free(vpol);
        cbx_buf_free(&compose);
        cbx_buf_free(&script);
        return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
    }
    rc = config_policy(&a->cfg, vpol, err);
    if (rc != CRABBOX_OK) {
        free(g);
        free(vpol);
        cbx_buf_free(&compose);
        return rc;
    }
    cba_policy_init(&vp);
    tc_policy_apply(vpol, &vp);
    {
        char summary[400];
        tc_policy_describe(vpol, summary, sizeof summary);
        if (summary[0] != '\0') { fprintf(stderr, "crabbox: verifier policy: %s\n", summary); }
    }
    gate_policy pol = {
        .verifier_policy = &vp,
        .collateral = a->collateral.data,
        .collateral_len = a->collateral.len,
        .collateral_source = a->collateral_source,
        .require_collateral = a->require_collateral,
        .collateral_fetch_off = !config_get_bool(&a->cfg, NULL, "collateralFetch", true),
        .trust_root_der = a->trust_root.data,
        .trust_root_der_len = a->trust_root.len,
        .provider = a->d->name,
        .allow_info_only = config_get_bool(&a->cfg, NULL, "allowInfoOnlyAttestation", false),
        .fetch_collateral = config_get_bool(&a->cfg, NULL, "collateralFetch", true) ? host_collateral : NULL,
        .fetch_ctx = a,
        .pre_launch_script = script.data,
        .pre_launch_script_len = script.len,
        .accept_phala_default_script = config_get_bool(&a->cfg, NULL, "acceptPhalaDefaultPreLaunchScript", false),
    };
    fprintf(stderr, "crabbox: fetching attestation evidence for %s=%s (fresh nonce)\n", a->cvm_key, lease->cloud_id);
    rc = gate_run(&a->keys, a->d, a->drv, lease, compose.data, compose.len, &pol, cbx_now_unix(), g, err);
    cbx_buf_free(&compose);
    cbx_buf_free(&script);
    if (g->bundle.dcap_skipped && !a->require_collateral && (rc == CRABBOX_OK || rc == CRABBOX_E_ATTESTATION)) {
        fprintf(stderr, "WARNING: no DCAP collateral (%s): the DCAP checks (CRLs, TCB info, QE identity, TCB status) "
                        "were SKIPPED because requireCollateral is false; quote signatures and the chain to the root "
                        "were still checked. Labelled dcap=skipped. Give --collateral FILE, or set pccsUrl in your "
                        "user config\n",
                g->collateral_note[0] != '\0' ? g->collateral_note
                : config_get_bool(&a->cfg, NULL, "collateralFetch", true) ? "none found"
                                                                          : "collateralFetch is off");
    }
    if (save_bundle(a, &g->bundle, c->bundle, sizeof c->bundle)) {
        fprintf(stderr, "evidence bundle saved: %s\n", c->bundle);
    }
    if (rc == CRABBOX_OK) {
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
        pin_host_key(a, c, &g->bundle, g->fresh);
        *tok = g->token;
        snprintf(c->ssh_keys, sizeof c->ssh_keys, "%s", g->ssh_keys != NULL ? g->ssh_keys : "unchecked");
        if (strcmp(c->ssh_keys, "host-controllable") == 0) { fprintf(stderr, "%s\n", BUNDLE_PHALA_DEFAULT_WARNING); }
        fprintf(stderr, "attested %s=%s app_id=%s compose_hash=%s rtmr3=%s ssh_keys=%s%s%s\n", a->cvm_key,
                lease->cloud_id, app_id, ch, rtmr3, c->ssh_keys, g->dcap_skipped ? " dcap=skipped" : "",
                g->fresh ? "" : " attestation_fresh=false");
        rc = check_pins(a, c, r, failed_check, err);
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
    } else if (rc == CRABBOX_E_ATTESTATION) {
        *failed_check = g->failed_check;
        cbx_set_err(err, CRABBOX_E_ATTESTATION,
                    "refusing %s lease: TDX attestation verification failed for %s=%s: %s: %s", a->display,
                    a->cvm_key, lease->cloud_id, g->failed_check != NULL ? g->failed_check : "evidence", g->detail);
    } else {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        *failed_check = "evidence";
        cbx_set_err(err, rc, "refusing %s lease: TDX attestation fetch failed for %s=%s: %s", a->display, a->cvm_key,
                    lease->cloud_id, msg);
    }
    gate_result_free(g);
    free(g);
    free(vpol);
    return rc;
}

/* refuse_lease is what happens after a failed gate: destroy (or keep with --keep), record the
 * outcome, and report the failing check. Returns the exit status. */
static int refuse_lease(app *a, claim *c, const crabbox_lease *lease, int gate_rc, const crabbox_err *gate_err,
                        const char *failed_check)
{
    crabbox_err derr = { 0 };
    int status = exit_code(gate_rc == CRABBOX_E_ATTESTATION ? CRABBOX_E_ATTESTATION : gate_rc);
    /* A fetch failure is an attestation failure too: no session without verified evidence. */
    if (gate_rc != CRABBOX_E_ATTESTATION && gate_rc != CRABBOX_E_CANCELLED) { status = CBX_EXIT_ATTESTATION; }
    c->attested = 0;
    if (c->keep) {
        snprintf(c->state, sizeof c->state, CLAIM_FAILED);
        snprintf(c->recovery, sizeof c->recovery, "kept-after-failure");
        save_claim(a, c);
        fprintf(stderr, "keeping %s=%s after the failure (--keep): stop it with `crabbox stop %s`\n", a->cvm_key,
                c->cloud_id, c->lease);
    } else if (a->d->destroy(a->drv, lease, &derr) == CRABBOX_OK) {
        drop_claim(a, c->lease);
        remove_lease_files(a, c);
        fprintf(stderr, "destroyed %s=%s lease=%s\n", a->cvm_key, c->cloud_id, c->lease);
    } else {
        char msg[sizeof derr.message];
        snprintf(msg, sizeof msg, "%s", derr.message);
        snprintf(c->state, sizeof c->state, CLAIM_FAILED);
        snprintf(c->recovery, sizeof c->recovery, "rollback-cleanup");
        save_claim(a, c);
        fprintf(stderr, "crabbox: also failed to delete %s=%s: %s (recorded recovery=rollback-cleanup; `crabbox "
                        "cleanup` retries)\n", a->cvm_key, c->cloud_id, msg);
    }
    return report_error(a, status == CBX_EXIT_ATTESTATION ? CRABBOX_E_ATTESTATION : gate_rc, gate_err->message,
                        failed_check);
}

/* ---- acquire (warmup, run without --id) ---------------------------------------------------------- */

static int keygen(app *a, const claim *c, crabbox_err *err)
{
    char key[PATH_MAX], comment[64];
    crabbox_output out;
    crabbox_spawn_opts so = { .struct_size = sizeof so, .deadline_ms = cbx_now_ms() + 30000 };
    int rc;
    if (!cbx_path_join(key, sizeof key, c->lease_dir, "id_ed25519")) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    snprintf(comment, sizeof comment, "crabbox %s", c->lease);
    const char *argv[] = { "ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-f", key, "-C", comment, NULL };
    rc = host_spawn_plain(a, argv, &so, &out, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (out.exit_status != 0) {
        cbx_set_err(err, CRABBOX_E_FAILED, "ssh-keygen failed (status %d): %.200s", out.exit_status,
                    out.err != NULL ? (const char *)out.err : "");
        spawn_output_free(&out);
        return CRABBOX_E_FAILED;
    }
    spawn_output_free(&out);
    if (chmod(key, 0600) != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "chmod %s: %s", key, strerror(errno)); }
    {
        /* The state directory's rule: every file 0600 (the public half too; nobody else needs it). */
        char pub[PATH_MAX];
        if (snprintf(pub, sizeof pub, "%s.pub", key) < (int)sizeof pub && chmod(pub, 0600) != 0 && errno != ENOENT) {
            return cbx_set_err(err, CRABBOX_E_FAILED, "chmod %s: %s", pub, strerror(errno));
        }
    }
    return CRABBOX_OK;
}


/* release destroys the lease's CVM and, only after that (or proof that it is gone), drops the
 * claim and the key (phala-provider.md §6). The caller holds the lease lock. */
static int release(app *a, claim *c, const crabbox_lease *known, crabbox_err *err)
{
    char old_state[sizeof c->state];
    crabbox_lease built;
    const crabbox_lease *target = known;
    crabbox_lease_list *list = NULL;
    int rc;

    snprintf(old_state, sizeof old_state, "%s", c->state);
    snprintf(c->state, sizeof c->state, CLAIM_RELEASING);
    rc = claim_write(&a->st, c, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (target == NULL && c->cloud_id[0] != '\0') {
        lease_from_claim(c, &built);
        target = &built;
    }
    if (target == NULL) {
        /* An intent claim without a CVM id: look for a CVM named for the lease. */
        rc = a->d->list(a->drv, &list, err);
        if (rc != CRABBOX_OK) { goto restore; }
        for (size_t i = 0; i < list->num; i++) {
            if (strcmp(list->items[i].lease_id, c->lease) == 0) {
                built = list->items[i];
                target = &built;
                break;
            }
        }
    }
    rc = target != NULL ? a->d->destroy(a->drv, target, err) : CRABBOX_OK;
    a->d->lease_list_free(a->drv, list);
    if (rc != CRABBOX_OK) { goto restore; }
    rc = claim_remove(&a->st, c->lease, err);
    if (rc != CRABBOX_OK) { return rc; }
    remove_lease_files(a, c);
    fprintf(a->json ? stderr : stdout, "released lease=%s %s=%s\n", c->lease, a->cvm_key,
            target != NULL ? target->cloud_id : "none");
    return CRABBOX_OK;
restore:
    /* Keep the claim and the key so that stop can be retried. */
    snprintf(c->state, sizeof c->state, "%s", old_state);
    save_claim(a, c);
    return rc;
}

/* write_pre_launch_script makes the lease's pre-launch script (prelaunch.h) from its public key and
 * saves it as pre-launch.sh in the lease directory (0600): the gate reads it back to require it. */
static int write_pre_launch_script(const claim *c, cbx_buf *out, crabbox_err *err)
{
    char path[PATH_MAX];
    cbx_buf pub = { 0 };
    size_t len = 0;
    char *text;
    int e;
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "id_ed25519.pub") ||
        (e = cbx_read_file(path, PRELAUNCH_MAX_KEY + 2, true, &pub)) != 0) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read the lease public key of %s", c->lease);
    }
    text = prelaunch_script(c->lease, (const char *)pub.data, pub.len, &len);
    cbx_buf_free(&pub);
    if (text == NULL) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "the lease public key of %s is not a plain OpenSSH key line", c->lease);
    }
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "pre-launch.sh") ||
        (e = cbx_write_file_atomic(path, text, len, 0600)) != 0) {
        free(text);
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot write the pre-launch script of %s", c->lease);
    }
    out->data = (uint8_t *)text;
    out->len = len;
    return CRABBOX_OK;
}

/* acquire creates, verifies and claims a lease. On success (0) *c is the ready claim, *out_lease
 * the driver's lease (driver->lease_free), *tok the session token and *lock_fd the held lease
 * lock. On failure it has reported the error and returns the exit status. */
static int acquire(app *a, claim *c, crabbox_lease **out_lease, crabbox_attest_token *tok, int *lock_fd)
{
    crabbox_err err = { 0 };
    cbx_buf compose = { 0 }, script = { 0 };
    claim *list = NULL, probe;
    size_t n = 0;
    uint8_t id[6], digest[32];
    char hex[13], path[PATH_MAX];
    const char *failed_check = NULL, *cls, *it;
    crabbox_lease *lease = NULL;
    int rc, e, status;

    *out_lease = NULL;
    *lock_fd = -1;
    if (!read_compose(a, &compose, &err)) { return fail(a, &err); }

    /* 1. The intent claim, before anything exists remotely: a crash never leaves an unowned CVM. */
    rc = state_lock(&a->st, true, &err);
    if (rc == CRABBOX_OK) { rc = claim_list(&a->st, &list, &n, &err); }
    claim_init(c);
    for (int attempt = 0; rc == CRABBOX_OK; attempt++) {
        crabbox_err ignored;
        if (attempt == 8 || !cbx_random(id, sizeof id)) {
            rc = cbx_set_err(&err, CRABBOX_E_FAILED, "cannot allocate a lease id");
            break;
        }
        cbx_hex(hex, id, sizeof id);
        snprintf(c->lease, sizeof c->lease, "cbx_%s", hex);
        if (claim_read(&a->st, c->lease, &probe, &ignored) == CRABBOX_E_NOT_FOUND) { break; }
    }
    if (rc == CRABBOX_OK && !make_slug(a, list, n, c->slug, sizeof c->slug)) {
        rc = cbx_set_err(&err, CRABBOX_E_USAGE, "invalid --slug");
    }
    if (rc == CRABBOX_OK) {
        const cbs part = cbs_make(compose.data, compose.len);
        snprintf(c->provider, sizeof c->provider, "%s", a->d->name);
        cls = config_get(&a->cfg, NULL, "class", NULL);
        snprintf(c->class_name, sizeof c->class_name, "%s", cls != NULL ? cls : "");
        it = a->type_opt != NULL ? a->type_opt : config_get(&a->cfg, a->d->name, "instanceType", NULL);
        snprintf(c->server_type, sizeof c->server_type, "%s", it != NULL ? it : "");
        c->keep = a->keep;
        snprintf(c->state, sizeof c->state, CLAIM_LEASED);
        c->created_at = c->last_touched_at = cbx_now_unix();
        c->idle_timeout_secs = a->idle;
        c->ttl_secs = a->ttl;
        claim_set_expiry(c);
        snprintf(c->scope, sizeof c->scope, "%s", a->scope);
        if (!cba_sha256(digest, &part, 1)) { rc = cbx_set_err(&err, CRABBOX_E_FAILED, "SHA-256 failed"); }
        cbx_hex(c->compose_sha256, digest, 32);
        if (rc == CRABBOX_OK && !lease_dir_path(&a->st, c->lease, c->lease_dir, sizeof c->lease_dir)) {
            rc = cbx_set_err(&err, CRABBOX_E_FAILED, "path too long");
        }
    }
    if (rc == CRABBOX_OK && (e = cbx_mkdir_private(c->lease_dir)) != 0) {
        rc = cbx_set_err(&err, CRABBOX_E_FAILED, "lease directory %s: %s", c->lease_dir, strerror(e));
    }
    if (rc == CRABBOX_OK) { rc = claim_write(&a->st, c, &err); }
    if (rc == CRABBOX_OK) { rc = lease_lock(&a->st, c->lease, true, false, lock_fd, &err); }
    state_unlock(&a->st);
    free(list);
    if (rc != CRABBOX_OK) {
        cbx_buf_free(&compose);
        return fail(a, &err);
    }

    /* 2. The lease key, the exact compose bytes and the per-lease pre-launch script. */
    rc = keygen(a, c, &err);
    if (rc == CRABBOX_OK) {
        if (!cbx_path_join(path, sizeof path, c->lease_dir, "compose.yml")) {
            rc = cbx_set_err(&err, CRABBOX_E_FAILED, "path too long");
        } else if ((e = cbx_write_file_atomic(path, compose.data, compose.len, 0600)) != 0) {
            rc = cbx_set_err(&err, CRABBOX_E_FAILED, "cannot write %s: %s", path, strerror(e));
        }
    }
    if (rc == CRABBOX_OK) { rc = write_pre_launch_script(c, &script, &err); }
    if (rc == CRABBOX_OK && compose.len + script.len > COMPOSE_MAX) {
        rc = cbx_set_err(&err, CRABBOX_E_USAGE, "the compose and the pre-launch script exceed %u bytes", COMPOSE_MAX);
    }
    if (rc != CRABBOX_OK) {
        drop_claim(a, c->lease); /* nothing exists remotely yet */
        remove_lease_files(a, c);
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        cbx_buf_free(&compose);
        cbx_buf_free(&script);
        return fail(a, &err);
    }

    /* 3. Create. An instance type flag after --class beats the class (phala-provider.md §3). */
    cls = config_get(&a->cfg, NULL, "class", NULL);
    if (cls != NULL && config_flag_pos(&a->cfg, a->d->name, "instanceType") > a->class_pos) { cls = NULL; }
    crabbox_lease_spec spec = {
        .struct_size = sizeof spec,
        .lease_id = c->lease,
        .slug = c->slug,
        .class_name = cls,
        .instance_type = a->type_opt,
        .lease_dir = c->lease_dir,
        .compose = compose.data,
        .compose_len = compose.len,
        .keep = c->keep,
        .pre_launch_script = script.data,
        .pre_launch_script_len = script.len,
    };
    fprintf(stderr, "provisioning provider=%s lease=%s slug=%s class=%s instance_type=%s keep=%s\n", a->d->name,
            c->lease, c->slug, cls != NULL ? cls : "-", c->server_type[0] != '\0' ? c->server_type : "-",
            c->keep ? "true" : "false");
    fprintf(stderr, "crabbox: waiting for %s to create the lease\n", a->display);
    memset(&err, 0, sizeof err);
    rc = a->d->warmup(a->drv, &spec, &lease, &err);
    cbx_buf_free(&compose);
    cbx_buf_free(&script);
    if (rc == CRABBOX_OK && lease == NULL) { rc = cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned no lease"); }
    if (rc != CRABBOX_OK) {
        /* Only answers that prove nothing was created let us forget the lease at once. */
        bool maybe_exists = rc != CRABBOX_E_USAGE && rc != CRABBOX_E_AUTH && rc != CRABBOX_E_QUOTA &&
                            rc != CRABBOX_E_UNSUPPORTED && rc != CRABBOX_E_ABI;
        if (maybe_exists) {
            snprintf(c->state, sizeof c->state, CLAIM_FAILED);
            snprintf(c->recovery, sizeof c->recovery, "ambiguous-create");
            save_claim(a, c);
            fprintf(stderr, "the lease may exist anyway: recorded recovery=ambiguous-create for lease %s "
                            "(`crabbox cleanup` looks for it)\n", c->lease);
        } else {
            drop_claim(a, c->lease);
            remove_lease_files(a, c);
        }
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        return fail(a, &err);
    }
    snprintf(c->cloud_id, sizeof c->cloud_id, "%s", lease->cloud_id);
    snprintf(c->name, sizeof c->name, "%s", lease->name);
    snprintf(c->app_id, sizeof c->app_id, "%s", lease->app_id);
    snprintf(c->gateway_host, sizeof c->gateway_host, "%s", lease->gateway_host);
    snprintf(c->status, sizeof c->status, "%s", lease->status);
    snprintf(c->state, sizeof c->state, CLAIM_PROVISIONING);
    rc = claim_write(&a->st, c, &err);

    /* 4. The gate. */
    if (rc == CRABBOX_OK && strcmp(lease->lease_id, c->lease) != 0) {
        rc = cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned a lease for %.40s, not %s", lease->lease_id,
                         c->lease);
        failed_check = "evidence";
    } else if (rc == CRABBOX_OK) {
        rc = verify_lease(a, c, lease, false, tok, &failed_check, &err);
    }
    if (rc != CRABBOX_OK) {
        status = refuse_lease(a, c, lease, rc, &err, failed_check);
        a->d->lease_free(a->drv, lease);
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        return status;
    }

    /* 5. Ready. */
    snprintf(c->state, sizeof c->state, CLAIM_READY);
    rc = claim_write(&a->st, c, &err);
    if (rc != CRABBOX_OK) {
        a->d->lease_free(a->drv, lease);
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        return fail(a, &err);
    }
    *out_lease = lease;
    return 0;
}

int cmd_warmup(app *a)
{
    claim c;
    crabbox_lease *lease;
    crabbox_attest_token tok;
    int lock_fd, status = acquire(a, &c, &lease, &tok, &lock_fd);
    cbx_wipe(&tok, sizeof tok);
    if (status != 0) { return status; }
    if (a->json) {
        json_object *o = claim_to_json(&c);
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        print_json(o);
        json_object_put(o);
    } else {
        printf("provisioned lease=%s %s=%s state=ready\n", c.lease, a->cvm_key, c.cloud_id);
        printf("slug=%s attested=%s\n", c.slug, c.attested == 1 ? "true" : "false");
        if (strcmp(c.measurement_pin, "first-sighting") == 0) {
            printf("measurements: first sighting, pinned under %s\n", c.measurement_pin_key);
        }
    }
    a->d->lease_free(a->drv, lease);
    unlock_lease(a, c.lease, lock_fd);
    return CBX_EXIT_OK;
}

/* ---- sessions ------------------------------------------------------------------------------------- */

/* shell_quote appends word to out as one POSIX shell word ('...' with '\'' for quotes). */
static bool shell_quote(char *out, size_t out_len, size_t *pos, const char *word)
{
    if (*pos + 3 > out_len) { return false; }
    out[(*pos)++] = '\'';
    for (const char *p = word; *p != '\0'; p++) {
        if (*p == '\'') {
            if (*pos + 5 > out_len) { return false; }
            memcpy(out + *pos, "'\\''", 4);
            *pos += 4;
        } else {
            if (*pos + 2 > out_len) { return false; }
            out[(*pos)++] = *p;
        }
    }
    out[(*pos)++] = '\'';
    out[*pos] = '\0';
    return true;
}

static bool append(char *out, size_t out_len, size_t *pos, const char *text)
{
    size_t n = strlen(text);
    if (*pos + n + 1 > out_len) { return false; }
    memcpy(out + *pos, text, n + 1);
    *pos += n;
    return true;
}

/* rsync_quote appends a word for rsync's -e parser: single quotes, a quote inside doubled. */
static bool rsync_quote(char *out, size_t out_len, size_t *pos, const char *word)
{
    if (*pos + 3 > out_len) { return false; }
    if (*pos > 0) { out[(*pos)++] = ' '; }
    out[(*pos)++] = '\'';
    for (const char *p = word; *p != '\0'; p++) {
        size_t need = *p == '\'' ? 2 : 1;
        if (*pos + need + 2 > out_len) { return false; }
        out[(*pos)++] = *p;
        if (*p == '\'') { out[(*pos)++] = '\''; }
    }
    out[(*pos)++] = '\'';
    out[*pos] = '\0';
    return true;
}

/* same_dir: both name the same directory (after resolving symlinks). */
static bool same_dir(const char *a_path, const char *b_path)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return a_path != NULL && b_path != NULL && realpath(a_path, ra) != NULL && realpath(b_path, rb) != NULL &&
           strcmp(ra, rb) == 0;
}

/* sync_work_tree copies the current directory into the session's work root with rsync over the
 * session's own ssh command (same pinned key, same ProxyCommand). 0, or an exit status (reported). */
static int sync_work_tree(app *a, const crabbox_session *s, size_t n_ssh)
{
    char cwd[PATH_MAX], rsh[16384], rpath[PATH_MAX + 64], dest[PATH_MAX + 300];
    size_t pos = 0, rp = 0;
    crabbox_err err = { 0 };
    int64_t t0;
    int status;
    bool ok = true;

    if (getcwd(cwd, sizeof cwd) == NULL) {
        return report_error(a, CRABBOX_E_FAILED, "cannot read the current directory to sync it", NULL);
    }
    /* Never ship a home directory (ssh keys, credentials) or the whole disk by accident. */
    if (same_dir(cwd, "/") || same_dir(cwd, getenv("HOME"))) {
        return report_error(a, CRABBOX_E_USAGE,
                            "refusing to sync / or your home directory to the lease: run from the project "
                            "directory, or pass --no-sync", NULL);
    }
    if (s->work_root[0] != '/') {
        return report_error(a, CRABBOX_E_MALFORMED, "the driver's session has no absolute work root to sync to",
                            NULL);
    }
    /* ssh_argv is the whole prefix before a remote command (driver.h), destination included, so
     * rsync gets all of it as its -e command and the shell builtin `command` as its "host": the
     * remote shell then runs `command mkdir -p -- WR && rsync --server ...`. */
    for (size_t i = 0; ok && i < n_ssh; i++) { ok = rsync_quote(rsh, sizeof rsh, &pos, s->ssh_argv[i]); }
    ok = ok && append(rpath, sizeof rpath, &rp, "mkdir -p -- ") &&
         shell_quote(rpath, sizeof rpath, &rp, s->work_root) && append(rpath, sizeof rpath, &rp, " && rsync");
    if (!ok || snprintf(dest, sizeof dest, "command:%s/", s->work_root) >= (int)sizeof dest) {
        return report_error(a, CRABBOX_E_USAGE, "the session's ssh command is too long to sync through", NULL);
    }
    {
        char rsync_path_opt[PATH_MAX + 96];
        snprintf(rsync_path_opt, sizeof rsync_path_opt, "--rsync-path=%s", rpath);
        const char *argv[] = { "rsync", "-a", "--delete", "--protect-args", "--exclude=/.git",
                               "--filter=:- .gitignore", "-e", rsh, rsync_path_opt, "./", dest, NULL };
        fprintf(stderr, "syncing %s -> lease:%s\n", cwd, s->work_root);
        t0 = cbx_now_ms();
        status = host_run_session(a, argv, NULL, 0, &err);
    }
    if (status < 0) {
        if (strstr(err.message, "cannot find") != NULL) {
            return report_error(a, CRABBOX_E_USAGE, "rsync is not installed here: install it, or pass --no-sync", NULL);
        }
        return fail(a, &err);
    }
    if (status != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "syncing the work tree failed: rsync exited with status %d", status);
        return report_error(a, CRABBOX_E_FAILED, msg, NULL);
    }
    fprintf(stderr, "synced in %.1f s\n", (double)(cbx_now_ms() - t0) / 1000.0);
    return 0;
}

/* env_file builds "NAME='value'\n" lines for --env (values quoted for sh). */
static bool env_file(app *a, cbx_buf *out, char *missing, size_t missing_len)
{
    size_t cap = 0;
    for (size_t i = 0; i < a->num_env; i++) {
        const char *v = getenv(a->env_names[i]);
        if (v == NULL) {
            snprintf(missing, missing_len, "%s", a->env_names[i]);
            return false;
        }
        cap += strlen(a->env_names[i]) + 4 * strlen(v) + 8;
    }
    missing[0] = '\0';
    if (cap > (1u << 20) || (out->data = malloc(cap + 1)) == NULL) { return false; }
    out->len = 0;
    for (size_t i = 0; i < a->num_env; i++) {
        size_t pos = out->len;
        char *text = (char *)out->data;
        bool ok = append(text, cap + 1, &pos, a->env_names[i]) && append(text, cap + 1, &pos, "=") &&
                  shell_quote(text, cap + 1, &pos, getenv(a->env_names[i])) && append(text, cap + 1, &pos, "\n");
        if (!ok) { return false; }
        out->len = pos;
    }
    return true;
}

/* upload_env writes the --env values into a private file in the work root, over the session (its
 * stdin), so that no value is ever on a command line. *name gets the file's name. 0 or an exit status. */
static int upload_env(app *a, const crabbox_session *s, size_t n_ssh, char *name, size_t name_len)
{
    cbx_buf data = { 0 };
    char missing[160], remote[PATH_MAX + 256];
    uint8_t r[8];
    size_t pos = 0;
    const char **argv;
    crabbox_err err = { 0 };
    int status;
    if (!env_file(a, &data, missing, sizeof missing)) {
        char msg[256];
        cbx_buf_free(&data);
        if (missing[0] == '\0') { return report_error(a, CRABBOX_E_USAGE, "the --env values are too large", NULL); }
        snprintf(msg, sizeof msg, "--env %s: the variable is not set here", missing);
        return report_error(a, CRABBOX_E_USAGE, msg, NULL);
    }
    if (!cbx_random(r, sizeof r)) {
        cbx_buf_free(&data);
        return report_error(a, CRABBOX_E_FAILED, "getrandom failed", NULL);
    }
    snprintf(name, name_len, ".crabbox-env-");
    cbx_hex(name + strlen(name), r, sizeof r);
    if (!append(remote, sizeof remote, &pos, "umask 077 && mkdir -p -- ") ||
        !shell_quote(remote, sizeof remote, &pos, s->work_root) || !append(remote, sizeof remote, &pos, " && cd -- ") ||
        !shell_quote(remote, sizeof remote, &pos, s->work_root) || !append(remote, sizeof remote, &pos, " && cat > ") ||
        !append(remote, sizeof remote, &pos, name)) {
        cbx_buf_free(&data);
        return report_error(a, CRABBOX_E_USAGE, "the work root is too long", NULL);
    }
    argv = calloc(n_ssh + 2, sizeof *argv);
    if (argv == NULL) {
        cbx_buf_free(&data);
        return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL);
    }
    for (size_t i = 0; i < n_ssh; i++) { argv[i] = s->ssh_argv[i]; }
    argv[n_ssh] = remote;
    status = host_run_session(a, argv, data.data, data.len, &err);
    free(argv);
    cbx_wipe(data.data, data.len);
    cbx_buf_free(&data);
    if (status < 0) { return fail(a, &err); }
    if (status != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "could not hand the --env values to the lease: ssh exited with status %d", status);
        return report_error(a, CRABBOX_E_FAILED, msg, NULL);
    }
    return 0;
}

/* session_exec opens a session with the token, syncs the work tree (run, unless --no-sync), and
 * runs the command (or an interactive shell). Returns the program's exit status, or an exit
 * status after reporting an error. */
static int session_exec(app *a, const claim *c, const crabbox_lease *lease, const crabbox_attest_token *tok,
                        char **cmd, int num_cmd, bool sync)
{
    crabbox_session *s = NULL;
    crabbox_err err = { 0 };
    char remote[65536], env_name[64] = "";
    const char **argv;
    size_t pos = 0, n = 0;
    int rc, status;

    if (c->attested == 1) {
        /* An info-only pin is refused unless this process runs with the same opt-in. */
        char path[PATH_MAX];
        cbx_buf kh = { 0 };
        bool marked = cbx_path_join(path, sizeof path, c->lease_dir, "known_hosts") &&
                      cbx_read_file(path, 1u << 20, true, &kh) == 0 && kh.len >= sizeof k_unbound_marker - 1 &&
                      memcmp(kh.data, k_unbound_marker, sizeof k_unbound_marker - 1) == 0;
        cbx_buf_free(&kh);
        if (marked && !config_get_bool(&a->cfg, NULL, "allowInfoOnlyAttestation", false)) {
            return report_error(a, CRABBOX_E_ATTESTATION,
                                "the lease's pinned SSH host key is not bound by any quote (it was pinned under "
                                "allowInfoOnlyAttestation); set that opt-in to use it, or `crabbox attest` it with a "
                                "driver that returns a fresh quote",
                                "report_data");
        }
    }

    rc = a->d->open_session(a->drv, lease, tok, &s, &err);
    if (rc != CRABBOX_OK || s == NULL) {
        if (rc == CRABBOX_OK) { cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned no session"); }
        return fail(a, &err);
    }
    if (!CRABBOX_HAS_MEMBER(crabbox_session, s, work_root) || s->ssh_argv == NULL || s->ssh_argv[0] == NULL) {
        a->d->session_free(a->drv, s);
        cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver's session has no ssh command");
        return fail(a, &err);
    }
    while (s->ssh_argv[n] != NULL) { n++; }
    if (sync) {
        int st = sync_work_tree(a, s, n);
        if (st != 0) {
            a->d->session_free(a->drv, s);
            return st;
        }
    }
    if (num_cmd > 0 && a->num_env > 0) {
        int st = s->work_root[0] == '/' ? upload_env(a, s, n, env_name, sizeof env_name)
                                        : report_error(a, CRABBOX_E_MALFORMED, "--env needs the driver's work root", NULL);
        if (st != 0) {
            a->d->session_free(a->drv, s);
            return st;
        }
    }
    remote[0] = '\0';
    if (num_cmd > 0) {
        bool ok = true;
        /* ssh hands one string to the remote shell: every word is quoted for it. */
        if (s->work_root[0] != '\0') {
            ok = append(remote, sizeof remote, &pos, "mkdir -p -- ") &&
                 shell_quote(remote, sizeof remote, &pos, s->work_root) &&
                 append(remote, sizeof remote, &pos, " && cd -- ") &&
                 shell_quote(remote, sizeof remote, &pos, s->work_root) && append(remote, sizeof remote, &pos, " && ");
        }
        if (env_name[0] != '\0') {
            /* Read the values, then remove the file before the command starts. */
            ok = ok && append(remote, sizeof remote, &pos, "set -a && . ./") &&
                 append(remote, sizeof remote, &pos, env_name) &&
                 append(remote, sizeof remote, &pos, " && set +a && rm -f ./") &&
                 append(remote, sizeof remote, &pos, env_name) && append(remote, sizeof remote, &pos, " && ");
        }
        ok = ok && append(remote, sizeof remote, &pos, "exec");
        for (int i = 0; ok && i < num_cmd; i++) {
            ok = append(remote, sizeof remote, &pos, " ") && shell_quote(remote, sizeof remote, &pos, cmd[i]);
        }
        if (!ok) {
            a->d->session_free(a->drv, s);
            return report_error(a, CRABBOX_E_USAGE, "the command is too long", NULL);
        }
    }
    argv = calloc(n + 2, sizeof *argv);
    if (argv == NULL) {
        a->d->session_free(a->drv, s);
        return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL);
    }
    for (size_t i = 0; i < n; i++) { argv[i] = s->ssh_argv[i]; }
    if (num_cmd > 0) { argv[n] = remote; }
    status = host_run_interactive(a, argv, &err);
    free(argv);
    a->d->session_free(a->drv, s);
    if (status < 0) { return fail(a, &err); }
    return status;
}

/* open_existing resolves a ready lease, takes its lock (shared) and re-verifies it with fresh
 * evidence. On success returns 0 with *tok minted; else the exit status (reported). */
static int open_existing(app *a, const char *id, bool force, claim *c, crabbox_lease *lease,
                         crabbox_attest_token *tok, int *lock_fd)
{
    crabbox_err err = { 0 };
    const char *failed_check = NULL;
    int rc;
    *lock_fd = -1;
    rc = resolve(a, id, c, &err);
    if (rc == CRABBOX_OK) { rc = lease_lock(&a->st, c->lease, false, false, lock_fd, &err); }
    if (rc == CRABBOX_OK) { rc = claim_read(&a->st, c->lease, c, &err); } /* the current claim, under the lock */
    if (rc == CRABBOX_OK && strcmp(c->state, CLAIM_READY) != 0) {
        rc = cbx_set_err(&err, CRABBOX_E_FAILED, "lease %s is %s, not ready", c->lease, c->state);
    }
    if (rc != CRABBOX_OK) {
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        return fail(a, &err);
    }
    lease_from_claim(c, lease);
    rc = verify_lease(a, c, lease, force, tok, &failed_check, &err);
    if (rc != CRABBOX_OK && rc != CRABBOX_E_ATTESTATION) {
        /* Nothing was proven wrong with this running lease (an interrupt, or evidence that could
         * not be fetched): no session is opened, but the user's lease stays. */
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        if (rc != CRABBOX_E_CANCELLED) {
            fprintf(stderr, "lease %s kept: no session was opened; `crabbox attest %s` tries again, `crabbox stop "
                            "%s` releases it\n", c->lease, c->lease, c->lease);
        }
        return report_error(a, rc == CRABBOX_E_CANCELLED ? rc : CRABBOX_E_ATTESTATION, err.message, failed_check);
    }
    if (rc != CRABBOX_OK) {
        crabbox_err ignored;
        int status;
        /* Re-verification runs on a lease another command may share: take it over exclusively. */
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        if (lease_lock(&a->st, c->lease, true, false, lock_fd, &ignored) != CRABBOX_OK) {
            return report_error(a, rc, err.message, failed_check);
        }
        status = refuse_lease(a, c, lease, rc, &err, failed_check);
        unlock_lease(a, c->lease, *lock_fd);
        *lock_fd = -1;
        return status;
    }
    save_claim(a, c); /* labels and the bundle path */
    return 0;
}

int cmd_run(app *a)
{
    claim c;
    crabbox_lease *acquired = NULL, existing;
    const crabbox_lease *lease;
    crabbox_attest_token tok;
    crabbox_err err = { 0 };
    int lock_fd, status;

    if (a->id_opt != NULL) {
        status = open_existing(a, a->id_opt, false, &c, &existing, &tok, &lock_fd);
        if (status != 0) { return status; }
        lease = &existing;
    } else {
        status = acquire(a, &c, &acquired, &tok, &lock_fd);
        if (status != 0) { return status; }
        lease = acquired;
        c.ephemeral = !a->keep; /* if this process dies, cleanup need not wait for the idle timeout */
        fprintf(stderr, "provisioned lease=%s %s=%s state=ready\n", c.lease, a->cvm_key, c.cloud_id);
    }
    touch(a, &c);
    status = session_exec(a, &c, lease, &tok, a->cmd, a->num_cmd, !a->no_sync);
    cbx_wipe(&tok, sizeof tok);
    if (host_cancel_poll(a)) {
        /* Ctrl-C reached ssh too; say "interrupted", not ssh's 255 (the lease is still released). */
        a->cancel_seen = true;
        status = CBX_EXIT_CANCELLED;
    }
    touch(a, &c);
    if (a->id_opt == NULL && !a->keep) {
        if (release(a, &c, lease, &err) != CRABBOX_OK) {
            int rs = fail(a, &err);
            status = status == 0 ? rs : status;
            unlock_lease(a, c.lease, lock_fd);
        } else {
            unlock_lease(a, c.lease, lock_fd);
        }
    } else {
        if (a->id_opt == NULL) { fprintf(stderr, "kept lease=%s slug=%s (--keep)\n", c.lease, c.slug); }
        unlock_lease(a, c.lease, lock_fd);
    }
    if (acquired != NULL) { a->d->lease_free(a->drv, acquired); }
    return status;
}

int cmd_ssh(app *a)
{
    claim c;
    crabbox_lease lease;
    crabbox_attest_token tok;
    int lock_fd, status = open_existing(a, a->positional[0], false, &c, &lease, &tok, &lock_fd);
    if (status != 0) { return status; }
    touch(a, &c);
    status = session_exec(a, &c, &lease, &tok, NULL, 0, false);
    cbx_wipe(&tok, sizeof tok);
    touch(a, &c);
    unlock_lease(a, c.lease, lock_fd);
    return status;
}

int cmd_attest(app *a)
{
    claim c;
    crabbox_lease lease;
    crabbox_attest_token tok;
    int lock_fd, status = open_existing(a, a->positional[0], true, &c, &lease, &tok, &lock_fd);
    cbx_wipe(&tok, sizeof tok);
    if (status != 0) { return status; }
    {
        /* Read back what was saved: the record on disk is what later re-verification gets. */
        bundle b;
        char msg[400];
        const char *auth = bundle_load(c.bundle, &b, msg, sizeof msg) == 0 ? bundle_auth_name(bundle_check_auth(&b))
                                                                           : "unreadable";
        if (strcmp(auth, "unreadable") != 0) { bundle_free(&b); }
        if (a->json) {
            json_object *o = claim_to_json(&c);
            json_object_object_add(o, "ok", json_object_new_boolean(true));
            json_object_object_add(o, "verdict", json_object_new_string("verified"));
            json_object_object_add(o, "bundle_auth", json_object_new_string(auth));
            print_json(o);
            json_object_put(o);
        } else {
            printf("verified lease=%s %s=%s bundle=%s\nbundle: %s\n", c.lease, a->cvm_key, c.cloud_id, c.bundle, auth);
            if (strcmp(c.measurement_pin, "first-sighting") == 0) {
                printf("measurements: first sighting, pinned under %s\n", c.measurement_pin_key);
            }
        }
    }
    unlock_lease(a, c.lease, lock_fd);
    return CBX_EXIT_OK;
}

int cmd_pins(app *a)
{
    char path[PATH_MAX], why[256];
    pin_entry *v = NULL;
    size_t num = 0;
    crabbox_err err = { 0 };
    int rc;
    if (!cbx_path_join(path, sizeof path, a->st.root, "pins")) {
        return report_error(a, CRABBOX_E_FAILED, "path too long", NULL);
    }
    rc = state_lock(&a->st, a->forget_opt != NULL, &err);
    if (rc != CRABBOX_OK) { return fail(a, &err); }
    if (a->forget_opt != NULL) {
        rc = pins_forget(path, a->forget_opt, why, sizeof why);
        state_unlock(&a->st);
        if (rc == ENOENT) {
            char msg[256];
            snprintf(msg, sizeof msg, "no measurement pin %.160s", a->forget_opt);
            return report_error(a, CRABBOX_E_NOT_FOUND, msg, NULL);
        }
        if (rc != 0) { return report_error(a, CRABBOX_E_FAILED, why[0] != '\0' ? why : strerror(rc), NULL); }
        if (a->json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ok", json_object_new_boolean(true));
            json_object_object_add(o, "forgotten", json_object_new_string(a->forget_opt));
            print_json(o);
            json_object_put(o);
        } else {
            printf("forgot measurement pin %s\n", a->forget_opt);
        }
        return CBX_EXIT_OK;
    }
    rc = pins_load(path, &v, &num, why, sizeof why);
    state_unlock(&a->st);
    if (rc != 0) { return report_error(a, CRABBOX_E_FAILED, why[0] != '\0' ? why : strerror(rc), NULL); }
    if (a->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < num; i++) {
            json_object *o = json_object_new_object(), *rt = json_object_new_array();
            char h[97];
            json_object_object_add(o, "key", json_object_new_string(v[i].key));
            cbx_hex(h, v[i].mrtd, 48);
            json_object_object_add(o, "mrtd", json_object_new_string(h));
            for (int r = 0; r < 3; r++) {
                cbx_hex(h, v[i].rtmr[r], 48);
                json_object_array_add(rt, json_object_new_string(h));
            }
            json_object_object_add(o, "rtmr", rt);
            json_object_object_add(o, "first_seen", json_object_new_int64(v[i].first_seen));
            json_object_object_add(o, "lease", json_object_new_string(v[i].lease));
            json_object_array_add(arr, o);
        }
        print_json(arr);
        json_object_put(arr);
    } else {
        for (size_t i = 0; i < num; i++) {
            char h[97];
            cbx_hex(h, v[i].mrtd, 48);
            printf("%s mrtd=%.16s... first_seen=%lld lease=%s\n", v[i].key, h, (long long)v[i].first_seen, v[i].lease);
        }
    }
    free(v);
    return CBX_EXIT_OK;
}

/* parse_retention reads evidenceRetention: "forever" (-1), or N followed by s, m, h or d (at most
 * 3650 days). */
static bool parse_retention(const char *v, int64_t *out)
{
    char *end;
    unsigned long long n;
    int64_t unit;
    if (strcmp(v, "forever") == 0) {
        *out = -1;
        return true;
    }
    if (v[0] < '0' || v[0] > '9') { return false; }
    n = strtoull(v, &end, 10);
    unit = strcmp(end, "s") == 0 || *end == '\0' ? 1 : strcmp(end, "m") == 0 ? 60 : strcmp(end, "h") == 0 ? 3600
           : strcmp(end, "d") == 0 ? 86400 : 0;
    if (unit == 0 || n == 0 || n > 3650ull * 86400 / (unsigned long long)unit) { return false; }
    *out = (int64_t)n * unit;
    return true;
}

/* prune_evidence removes the evidence bundles, older than evidenceRetention (default 30d), of
 * leases that have no claim any more. Returns the number removed (or that would be, dry_run), or
 * -1 with err set for a bad setting. */
static long prune_evidence(app *a, bool dry_run, crabbox_err *err)
{
    const char *where, *v = config_get(&a->cfg, NULL, "evidenceRetention", &where);
    int64_t keep, now = cbx_now_unix();
    DIR *d;
    struct dirent *e;
    long n = 0;
    if (v == NULL) { v = "30d"; }
    if (!parse_retention(v, &keep)) {
        cbx_set_err(err, CRABBOX_E_USAGE, "%s: evidenceRetention '%.60s' must be a duration such as 30d, 12h "
                    "(at most 3650d) or forever", where, v);
        return -1;
    }
    if (keep < 0) { return 0; }
    d = opendir(a->st.evidence);
    if (d == NULL) { return 0; }
    while ((e = readdir(d)) != NULL) {
        char lease[17], path[PATH_MAX], cpath[PATH_MAX];
        struct stat st;
        size_t len = strlen(e->d_name);
        /* <lease>-<time>-<rand>.json: cbx_ + 12 hex, as save_bundle names them */
        if (len < 23 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[16] != '-') { continue; }
        memcpy(lease, e->d_name, 16);
        lease[16] = '\0';
        if (!lease_id_valid(lease) || !cbx_path_join(path, sizeof path, a->st.evidence, e->d_name) ||
            lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (snprintf(cpath, sizeof cpath, "%s/%s.json", a->st.claims, lease) >= (int)sizeof cpath ||
            access(cpath, F_OK) == 0) {
            continue; /* the lease is still ours: its record stays */
        }
        if ((int64_t)st.st_mtime > now - keep) { continue; }
        if (dry_run || unlink(path) == 0) { n++; }
    }
    closedir(d);
    return n;
}

int cmd_stop(app *a)
{
    claim c;
    crabbox_err err = { 0 };
    int lock_fd = -1, rc;
    long pruned;
    rc = resolve(a, a->positional[0], &c, &err);
    if (rc == CRABBOX_OK) { rc = lease_lock(&a->st, c.lease, true, true, &lock_fd, &err); }
    if (rc == CRABBOX_OK) { rc = claim_read(&a->st, c.lease, &c, &err); } /* it may be gone meanwhile */
    if (rc == CRABBOX_OK) {
        if (c.cloud_id[0] == '\0' && strcmp(c.recovery, "ambiguous-create") != 0) {
            rc = cbx_set_err(&err, CRABBOX_E_NOT_FOUND, "lease %s has no %s CVM id", c.lease, a->display);
        } else {
            rc = release(a, &c, NULL, &err);
        }
    }
    unlock_lease(a, c.lease, lock_fd);
    if (rc != CRABBOX_OK) { return fail(a, &err); }
    pruned = prune_evidence(a, false, &err);
    if (pruned < 0) { return fail(a, &err); }
    if (pruned > 0 && !a->json) { fprintf(stderr, "crabbox: pruned %ld old evidence bundle%s (evidenceRetention)\n", pruned, pruned == 1 ? "" : "s"); }
    if (a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "pruned_bundles", json_object_new_int64(pruned));
        json_object_object_add(o, "released", json_object_new_string(c.lease));
        json_object_object_add(o, "cloud_id", json_object_new_string(c.cloud_id));
        print_json(o);
        json_object_put(o);
    }
    return CBX_EXIT_OK;
}

/* ---- list, cleanup, doctor ------------------------------------------------------------------------- */

static const crabbox_lease *find_listed(const crabbox_lease_list *list, const claim *c)
{
    for (size_t i = 0; list != NULL && i < list->num; i++) {
        const crabbox_lease *l = &list->items[i];
        if (strcmp(l->lease_id, c->lease) != 0) { continue; }
        /* Ours only if the claim names this CVM too (or has no id yet). */
        if (c->cloud_id[0] == '\0' || strcmp(l->cloud_id, c->cloud_id) == 0) { return l; }
    }
    return NULL;
}

int cmd_list(app *a)
{
    crabbox_lease_list *list = NULL;
    crabbox_err err = { 0 };
    claim *claims = NULL;
    size_t n = 0;
    json_object *arr = a->json ? json_object_new_array() : NULL;
    int rc = a->d->list(a->drv, &list, &err);
    if (rc == CRABBOX_OK && (list == NULL || !CRABBOX_HAS_MEMBER(crabbox_lease_list, list, items))) {
        rc = cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned no list");
    }
    if (rc == CRABBOX_OK) { rc = claim_list(&a->st, &claims, &n, &err); }
    if (rc != CRABBOX_OK) {
        a->d->lease_list_free(a->drv, list);
        json_object_put(arr);
        return fail(a, &err);
    }
    if (!a->json) { printf("%-16s  %-22s  %-40s  %-12s  %-12s  %-8s  %s\n", "LEASE", "SLUG", a->cvm_key, "STATUS", "STATE", "ATTESTED", "EXPIRES"); }
    for (size_t i = 0; i < n; i++) {
        const claim *c = &claims[i];
        const crabbox_lease *l;
        if (strcmp(c->scope, a->scope) != 0 || strcmp(c->provider, a->d->name) != 0) { continue; }
        l = find_listed(list, c);
        if (l == NULL) { continue; } /* both a CVM and a claim, or it is not ours to show */
        if (a->json) {
            json_object *o = claim_to_json(c);
            json_object_object_add(o, "status", json_object_new_string(l->status));
            if (c->cloud_id[0] == '\0') { /* an ambiguous create whose CVM turned up */
                json_object_object_add(o, "cloud_id", json_object_new_string(l->cloud_id));
            }
            json_object_array_add(arr, o);
        } else {
            char exp[21];
            cbx_rfc3339(exp, c->expires_at);
            printf("%-16s  %-22s  %-40s  %-12s  %-12s  %-8s  %s\n", c->lease, c->slug, l->cloud_id, l->status, c->state,
                   c->attested == 1 ? "true" : c->attested == 0 ? "false" : "-", exp);
        }
    }
    if (a->json) { print_json(arr); }
    json_object_put(arr);
    free(claims);
    a->d->lease_list_free(a->drv, list);
    return CBX_EXIT_OK;
}

#define STATUS_WAIT_MS (20 * 60 * 1000) /* status --wait: the SSH wait of phala-provider.md §5 */
#define STATUS_POLL_MS 5000

/* provider_status asks the driver for the lease's status: "" when it is not listed. */
static int provider_status(app *a, const claim *c, char *out, size_t out_len, crabbox_err *err)
{
    crabbox_lease_list *list = NULL;
    const crabbox_lease *l;
    int rc = a->d->list(a->drv, &list, err);
    if (rc == CRABBOX_OK && (list == NULL || !CRABBOX_HAS_MEMBER(crabbox_lease_list, list, items))) {
        rc = cbx_set_err(err, CRABBOX_E_MALFORMED, "the driver returned no list");
    }
    out[0] = '\0';
    if (rc == CRABBOX_OK && (l = find_listed(list, c)) != NULL) { snprintf(out, out_len, "%s", l->status); }
    a->d->lease_list_free(a->drv, list);
    return rc;
}

/* wait_interruptible sleeps ms, waking early on SIGINT/SIGTERM: false when cancelled. */
static bool wait_interruptible(app *a, int64_t ms)
{
    const struct timespec step = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
    for (int64_t t = 0; t < ms; t += 100) {
        if (host_cancel_poll(a)) { return false; }
        nanosleep(&step, NULL);
    }
    return !host_cancel_poll(a);
}

int cmd_status(app *a)
{
    claim c;
    crabbox_err err = { 0 };
    char pstatus[32];
    int rc = resolve(a, a->positional[0], &c, &err);
    int64_t deadline = cbx_now_ms() + STATUS_WAIT_MS;
    if (rc != CRABBOX_OK) { return fail(a, &err); }
    for (;;) {
        rc = provider_status(a, &c, pstatus, sizeof pstatus, &err);
        if (rc != CRABBOX_OK) { return fail(a, &err); }
        if (!a->wait || (strcmp(pstatus, "running") == 0 && strcmp(c.state, CLAIM_READY) == 0)) { break; }
        if (pstatus[0] == '\0' && strcmp(c.state, CLAIM_READY) == 0) {
            return report_error(a, CRABBOX_E_NOT_FOUND, "the lease's CVM is gone at the provider", NULL);
        }
        if (cbx_now_ms() >= deadline) {
            return report_error(a, CRABBOX_E_TIMEOUT, "timed out waiting for the lease to be running", NULL);
        }
        fprintf(stderr, "crabbox: waiting for lease %s (state=%s, provider status=%s)\n", c.lease, c.state,
                pstatus[0] != '\0' ? pstatus : "absent");
        if (!wait_interruptible(a, STATUS_POLL_MS)) { return report_error(a, CRABBOX_E_CANCELLED, "interrupted", NULL); }
        if (claim_read(&a->st, c.lease, &c, &err) != CRABBOX_OK) { return fail(a, &err); }
    }
    if (a->wait) {
        /* Ready means it answers over a session whose host key attestation just bound. */
        claim vc;
        crabbox_lease lease;
        crabbox_attest_token tok;
        char word[] = "true";
        char *probe[] = { word };
        int lock_fd, status = open_existing(a, c.lease, false, &vc, &lease, &tok, &lock_fd);
        if (status != 0) { return status; }
        status = session_exec(a, &vc, &lease, &tok, probe, 1, false);
        cbx_wipe(&tok, sizeof tok);
        unlock_lease(a, vc.lease, lock_fd);
        if (status != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "the lease did not answer over ssh (status %d)", status);
            return report_error(a, CRABBOX_E_FAILED, msg, NULL);
        }
        c = vc;
    }
    if (a->json) {
        json_object *o = claim_to_json(&c);
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "status", json_object_new_string(pstatus));
        json_object_object_add(o, "present", json_object_new_boolean(pstatus[0] != '\0'));
        if (a->wait) { json_object_object_add(o, "answered", json_object_new_boolean(true)); }
        print_json(o);
        json_object_put(o);
    } else {
        char exp[21];
        cbx_rfc3339(exp, c.expires_at);
        printf("lease=%s slug=%s state=%s %s=%s status=%s attested=%s attestation_fresh=%s expires=%s%s\n", c.lease,
               c.slug, c.state, a->cvm_key, c.cloud_id[0] != '\0' ? c.cloud_id : "-",
               pstatus[0] != '\0' ? pstatus : "absent", c.attested == 1 ? "true" : c.attested == 0 ? "false" : "-",
               c.attestation_fresh == 1 ? "true" : c.attestation_fresh == 0 ? "false" : "-", exp,
               a->wait ? " answered=true" : "");
    }
    return CBX_EXIT_OK;
}

static void cleanup_action(app *a, json_object *arr, const char *action, const claim *c, const char *cloud_id,
                           const char *reason)
{
    if (arr != NULL) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "action", json_object_new_string(action));
        json_object_object_add(o, "lease", json_object_new_string(c->lease));
        json_object_object_add(o, "cloud_id", json_object_new_string(cloud_id));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        json_object_array_add(arr, o);
    }
    if (strcmp(action, "skip") == 0) {
        fprintf(stderr, "skip %s=%s lease=%s reason=%s\n", a->cvm_key, cloud_id[0] ? cloud_id : "none", c->lease, reason);
    } else if (strcmp(action, "remove-claim") == 0 || strcmp(action, "would-remove-claim") == 0) {
        fprintf(arr != NULL ? stderr : stdout, "%sremove claim lease=%s reason=%s\n",
                action[0] == 'w' ? "would " : "", c->lease, reason);
    } else {
        fprintf(arr != NULL ? stderr : stdout, "%sdestroy %s=%s lease=%s reason=%s\n", action[0] == 'w' ? "would " : "",
                a->cvm_key, cloud_id, c->lease, reason);
    }
}

/* cleanup_reason decides whether a claimed CVM is swept (docs/driver-abi.md §Cleanup). */
static const char *cleanup_reason(const claim *c, bool owner_alive, int64_t now, const char **skip)
{
    *skip = NULL;
    if (strcmp(c->recovery, "kept-after-failure") == 0) { *skip = "kept-after-failure"; return NULL; }
    if (strcmp(c->recovery, "rollback-cleanup") == 0) { return "rollback-cleanup"; }
    if (c->keep) { *skip = "keep"; return NULL; }
    if (owner_alive) { *skip = "in-use"; return NULL; }
    if (c->ephemeral && strcmp(c->state, CLAIM_READY) == 0) { return "abandoned"; } /* its `run` died */
    if (strcmp(c->recovery, "ambiguous-create") == 0) {
        if (now < c->created_at + AMBIGUOUS_GRACE_SECS) { *skip = "recent"; return NULL; }
        return "ambiguous-create";
    }
    if (strcmp(c->state, CLAIM_FAILED) == 0) { return "failed"; }
    if (strcmp(c->state, CLAIM_LEASED) == 0 || strcmp(c->state, CLAIM_PROVISIONING) == 0 ||
        strcmp(c->state, CLAIM_RELEASING) == 0) {
        return "abandoned"; /* its command died mid-way: nobody holds the lease lock */
    }
    if (now >= c->expires_at) { return "expired"; }
    *skip = "not-expired";
    return NULL;
}

int cmd_cleanup(app *a)
{
    crabbox_lease_list *list = NULL;
    crabbox_err err = { 0 };
    claim *claims = NULL;
    size_t n = 0, destroyed = 0, removed = 0;
    json_object *arr = a->json ? json_object_new_array() : NULL;
    int64_t now = cbx_now_unix();
    long pruned = 0;
    int rc = a->d->list(a->drv, &list, &err), status = CBX_EXIT_OK;

    if (rc == CRABBOX_OK && list == NULL) { rc = cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned no list"); }
    if (rc == CRABBOX_OK) { rc = claim_list(&a->st, &claims, &n, &err); }
    if (rc != CRABBOX_OK) {
        a->d->lease_list_free(a->drv, list);
        json_object_put(arr);
        return fail(a, &err);
    }
    for (size_t i = 0; i < n && status == CBX_EXIT_OK; i++) {
        claim *c = &claims[i];
        const crabbox_lease *l;
        const char *reason, *skip;
        int lock_fd = -1;
        crabbox_err lerr;
        if (strcmp(c->scope, a->scope) != 0 || strcmp(c->provider, a->d->name) != 0) { continue; }
        /* A live command holds the lease lock; a free lock on an unfinished lease means it died.
         * Under the state lock: warmup writes its intent claim and takes the lease lock in one go,
         * so a claim seen here either has its owner's lock or has no owner. */
        if (state_lock(&a->st, true, &lerr) != CRABBOX_OK) {
            status = fail(a, &lerr);
            break;
        }
        bool alive = lease_lock(&a->st, c->lease, true, true, &lock_fd, &lerr) != CRABBOX_OK;
        int read_rc = alive ? CRABBOX_OK : claim_read(&a->st, c->lease, c, &lerr);
        state_unlock(&a->st);
        if (read_rc != CRABBOX_OK) {
            unlock_lease(a, c->lease, lock_fd);
            continue; /* released meanwhile */
        }
        l = find_listed(list, c);
        if (l == NULL) {
            if (alive) {
                cleanup_action(a, arr, "skip", c, c->cloud_id, "in-use");
            } else if (c->cloud_id[0] == '\0' && now < c->created_at + AMBIGUOUS_GRACE_SECS) {
                cleanup_action(a, arr, "skip", c, "", "recent"); /* its CVM may still appear */
            } else {
                char reason_text[64];
                snprintf(reason_text, sizeof reason_text, "missing %s CVM", a->display);
                cleanup_action(a, arr, a->dry_run ? "would-remove-claim" : "remove-claim", c, c->cloud_id, reason_text);
                if (!a->dry_run && claim_remove(&a->st, c->lease, &lerr) == CRABBOX_OK) {
                    remove_lease_files(a, c);
                    removed++;
                    unlock_lease(a, c->lease, lock_fd);
                    continue;
                }
            }
            unlock_lease(a, c->lease, lock_fd);
            continue;
        }
        reason = cleanup_reason(c, alive, now, &skip);
        if (reason == NULL) {
            cleanup_action(a, arr, "skip", c, l->cloud_id, skip);
        } else if (a->dry_run) {
            cleanup_action(a, arr, "would-destroy", c, l->cloud_id, reason);
        } else {
            rc = a->d->destroy(a->drv, l, &err);
            if (rc == CRABBOX_OK) {
                cleanup_action(a, arr, "destroy", c, l->cloud_id, reason);
                drop_claim(a, c->lease);
                remove_lease_files(a, c);
                destroyed++;
                unlock_lease(a, c->lease, lock_fd);
                continue;
            }
            if (rc == CRABBOX_E_NOT_FOUND) {
                cleanup_action(a, arr, "skip", c, l->cloud_id, "ownership"); /* skips one CVM */
                fprintf(stderr, "crabbox: %s\n", err.message);
            } else {
                status = fail(a, &err); /* other errors stop the sweep */
            }
        }
        unlock_lease(a, c->lease, lock_fd);
    }
    free(claims);
    a->d->lease_list_free(a->drv, list);
    if (status == CBX_EXIT_OK) {
        rc = a->d->cleanup(a->drv, a->dry_run, &err);
        if (rc != CRABBOX_OK) { status = fail(a, &err); }
    }
    if (status == CBX_EXIT_OK && (pruned = prune_evidence(a, a->dry_run, &err)) < 0) { status = fail(a, &err); }
    if (status == CBX_EXIT_OK && pruned > 0 && !a->json) {
        printf("%s %ld evidence bundle%s older than evidenceRetention\n", a->dry_run ? "would-prune" : "pruned", pruned,
               pruned == 1 ? "" : "s");
    }
    if (status == CBX_EXIT_OK && a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "dry_run", json_object_new_boolean(a->dry_run));
        json_object_object_add(o, "pruned_bundles", json_object_new_int64(pruned));
        json_object_object_add(o, "destroyed", json_object_new_int64((int64_t)destroyed));
        json_object_object_add(o, "claims_removed", json_object_new_int64((int64_t)removed));
        json_object_object_add(o, "actions", arr);
        arr = NULL;
        print_json(o);
        json_object_put(o);
    }
    json_object_put(arr);
    return status;
}

static json_object *config_json(app *a, const crabbox_config_key *keys)
{
    static const char *const host_keys[] = { "provider", "class", "ttl", "idleTimeout", "collateral",
                                             "requireCollateral", "pccsUrl", NULL };
    static const char *const block_keys[] = { "attest", "compose", NULL };
    json_object *o = json_object_new_object(), *blk = json_object_new_object();
    for (size_t i = 0; host_keys[i] != NULL; i++) {
        const char *where, *v = config_get(&a->cfg, NULL, host_keys[i], &where);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "value", v != NULL ? json_object_new_string(v) : NULL);
        json_object_object_add(e, "source", json_object_new_string(where));
        json_object_object_add(o, host_keys[i], e);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0;; i++) {
            const char *name = pass == 0 ? block_keys[i] : (keys != NULL ? keys[i].name : NULL);
            const char *where, *v;
            json_object *e;
            if (name == NULL) { break; }
            v = config_get(&a->cfg, a->d->name, name, &where);
            e = json_object_new_object();
            json_object_object_add(e, "value", v != NULL ? json_object_new_string(v) : NULL);
            json_object_object_add(e, "source", json_object_new_string(where));
            json_object_object_add(blk, name, e);
        }
    }
    json_object_object_add(o, a->d->name, blk);
    return o;
}

/* policy_json shows the effective verifier policy (config_policy) under the config key names. */
static json_object *policy_json(const tc_policy *p)
{
    json_object *o = json_object_new_object();
    char hex[129];
    if (p->has_accept) {
        json_object *l = json_object_new_array();
        for (int st = 0; st < CBA_TCB_STATUS_COUNT; st++) {
            if (p->accepted_statuses & (1u << st)) {
                json_object_array_add(l, json_object_new_string(cba_tcb_status_name((cba_tcb_status)st)));
            }
        }
        json_object_object_add(o, "acceptTcbStatus", l);
    }
    if (p->has_advisories) {
        json_object *l = json_object_new_array();
        for (size_t i = 0; i < p->num_advisories; i++) { json_object_array_add(l, json_object_new_string(p->advisories[i])); }
        json_object_object_add(o, "allowedAdvisories", l);
    }
    if (p->has_min_tcb_eval) { json_object_object_add(o, "minTcbEvaluationNumber", json_object_new_int64(p->min_tcb_eval)); }
    if (p->has_max_age) { json_object_object_add(o, "maxCollateralAgeSeconds", json_object_new_int64(p->max_age)); }
    for (int f = 0; f < CBA_PIN_COUNT; f++) {
        json_object *l;
        if (!p->has_pin[f]) { continue; }
        l = json_object_new_array();
        for (size_t i = 0; i < p->num_pin[f]; i++) {
            cbx_hex(hex, p->pin[f][i], cba_pin_field_size((cba_pin_field)f));
            json_object_array_add(l, json_object_new_string(hex));
        }
        json_object_object_add(o, tc_policy_pin_key((cba_pin_field)f), l);
    }
    if (p->has_min_tee_tcb_svn) {
        cbx_hex(hex, p->min_tee_tcb_svn, 16);
        json_object_object_add(o, "minTeeTcbSvn", json_object_new_string(hex));
    }
    if (p->has_min_qe_isvsvn) { json_object_object_add(o, "minQeIsvsvn", json_object_new_int(p->min_qe_isvsvn)); }
    if (p->has_min_pcesvn) { json_object_object_add(o, "minPcesvn", json_object_new_int(p->min_pcesvn)); }
    return o;
}

/* doctor_next says what to do about a doctor failure of this kind. */
const char *doctor_next(int code)
{
    switch (code) {
    case CRABBOX_E_AUTH: return "log in with the provider's CLI (phala: `phala login`), or give it its API key";
    case CRABBOX_E_USAGE: return "fix the setting named above (`crabbox doctor --json` lists every setting and its source)";
    case CRABBOX_E_TIMEOUT:
    case CRABBOX_E_TRANSIENT: return "check the network and the provider's status page, then run `crabbox doctor` again";
    case CRABBOX_E_QUOTA: return "check the provider account's balance and limits";
    case CRABBOX_E_UNSUPPORTED:
    case CRABBOX_E_ABI: return "install a driver built for this crabbox (`crabbox --version` shows its driver ABI)";
    default: return "run `crabbox -v doctor` for the details";
    }
}

int cmd_doctor(app *a)
{
    char summary[512] = "", keygen_path[PATH_MAX], policy_summary[400];
    tc_policy *vpol;
    crabbox_err err = { 0 };
    const crabbox_config_key *keys = NULL;
    bool have_keygen = spawn_resolve("ssh-keygen", getenv("PATH"), keygen_path, sizeof keygen_path);
    int rc = a->d->doctor(a->drv, summary, sizeof summary, &err);
    if (rc != CRABBOX_OK) {
        crabbox_err with_next = err;
        int code = err.code != CRABBOX_OK ? err.code : rc;
        snprintf(with_next.message, sizeof with_next.message, "%.360s; next: %.140s", err.message, doctor_next(code));
        with_next.code = code;
        return fail(a, &with_next);
    }
    summary[sizeof summary - 1] = '\0';
    if (CRABBOX_HAS_MEMBER(crabbox_driver, a->d, config_keys)) { keys = a->d->config_keys; }
    if (keys == NULL) { keys = config_builtin_keys(a->d->name); }
    vpol = malloc(sizeof *vpol);
    if (vpol == NULL) { return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL); }
    if (config_policy(&a->cfg, vpol, &err) != CRABBOX_OK) {
        free(vpol);
        return fail(a, &err);
    }
    if (a->json) {
        json_object *o = json_object_new_object(), *drv = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(have_keygen));
        json_object_object_add(drv, "name", json_object_new_string(a->d->name));
        json_object_object_add(drv, "path", json_object_new_string(a->ld.path));
        json_object_object_add(drv, "abi_version", json_object_new_int((int32_t)a->d->abi_version));
        json_object_object_add(o, "driver", drv);
        json_object_object_add(o, "summary", json_object_new_string(summary));
        json_object_object_add(o, "state_dir", json_object_new_string(a->st.root));
        json_object_object_add(o, "ssh_keygen", have_keygen ? json_object_new_string(keygen_path) : NULL);
        json_object_object_add(o, "attest", json_object_new_boolean(attest_enabled(a, false)));
        json_object_object_add(o, "collateral", json_object_new_boolean(a->collateral.data != NULL));
        json_object_object_add(o, "config", config_json(a, keys));
        {
            json_object *w = json_object_new_object();
            json_object_object_add(w, "library", json_object_new_string(cba_crypto_library()));
            json_object_object_add(w, "options", json_object_new_string(cba_crypto_config()));
            json_object_object_add(o, "wolfssl", w);
        }
        json_object_object_add(o, "policy", policy_json(vpol));
        print_json(o);
        json_object_put(o);
    } else {
        printf("driver=%s path=%s abi=%u state_dir=%s ssh_keygen=%s attest=%s collateral=%s\n", a->d->name,
               a->ld.path, a->d->abi_version, a->st.root, have_keygen ? "ready" : "missing",
               attest_enabled(a, false) ? "on" : "OFF", a->collateral.data != NULL ? "given" : "none (DCAP skipped)");
        printf("%s runtime=%s\n", summary, a->d->name);
        printf("%s (%s)\n", cba_crypto_library(), cba_crypto_config());
        tc_policy_describe(vpol, policy_summary, sizeof policy_summary);
        printf("verifier policy: %s\n", policy_summary[0] != '\0' ? policy_summary : "default (UpToDate only, no pins)");
    }
    free(vpol);
    if (!have_keygen) {
        return report_error(a->json ? NULL : a, CRABBOX_E_FAILED,
                            "ssh-keygen not found in PATH; next: install OpenSSH's client tools (Debian: "
                            "apt-get install openssh-client) or put ssh-keygen on PATH",
                            NULL);
    }
    return CBX_EXIT_OK;
}
