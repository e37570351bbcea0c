/* lifecycle.c — the lease lifecycle (lifecycle.h): intent → create → verify → ready → release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "lifecycle.h"
#include "prelaunch.h"
#include "sha2.h"
#include "spawnsvc.h"

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

/* ---- the request, resolved once ----------------------------------------------------------------- */

static int read_compose(app *a, cbx_buf *out, crabbox_err *err)
{
    const char *where;
    const char *path = config_get(&a->cfg, a->d->name, "compose", &where);
    int e;
    if (path == NULL) {
        out->data = (uint8_t *)strdup(k_default_compose);
        out->len = strlen(k_default_compose);
        if (out->data == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
        return CRABBOX_OK;
    }
    if (strstr(path, "://") != NULL) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "%s: compose must be a local file, not a URL", where);
    }
    /* Read once: these exact bytes are deployed and later checked by attestation (no TOCTOU). */
    e = cbx_read_file(path, LEASE_DEPLOY_MAX, false, out);
    if (e != 0) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "compose %s (%s): %s", path, where,
                           e == EFBIG ? "larger than 200 KiB" : e == EINVAL ? "not a regular file" : strerror(e));
    }
    return CRABBOX_OK;
}

int lease_request_resolve(app *a, lease_request *out, crabbox_err *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    rc = read_compose(a, &out->compose, err);
    if (rc != CRABBOX_OK) { return rc; }
    out->class_name = config_get(&a->cfg, NULL, "class", NULL);
    /* An instance type flag after --class beats the class (phala-provider.md §3). */
    out->driver_class = out->class_name;
    if (out->driver_class != NULL && config_flag_pos(&a->cfg, a->d->name, "instanceType") > a->class_pos) {
        out->driver_class = NULL;
    }
    out->instance_type = a->type_opt;
    out->server_type = a->type_opt != NULL ? a->type_opt : config_get(&a->cfg, a->d->name, "instanceType", NULL);
    out->slug = a->slug_opt;
    out->ttl_secs = a->ttl;
    out->idle_secs = a->idle;
    out->keep = a->keep;
    admission_resolve(a, &out->admission);
    return CRABBOX_OK;
}

void lease_request_free(lease_request *r)
{
    if (r == NULL) { return; }
    cbx_buf_free(&r->compose);
    admission_free(&r->admission);
}

/* ---- claims ------------------------------------------------------------------------------------- */

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

int lifecycle_find(app *a, const char *id, claim *out, crabbox_err *err)
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

/* Safe at any time for the holder: lockers check that the file they locked is still the one on disk. */
void lifecycle_unlock(app *a, const char *lease, int fd)
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

void lifecycle_remove_files(app *a, const claim *c)
{
    char dir[PATH_MAX];
    if (lease_dir_path(&a->st, c->lease, dir, sizeof dir)) { (void)cbx_remove_tree(dir); }
}

void lifecycle_forget(app *a, const claim *c)
{
    drop_claim(a, c->lease);
    lifecycle_remove_files(a, c);
}

void lifecycle_touch(app *a, claim *c)
{
    crabbox_err err;
    claim fresh;
    if (claim_read(&a->st, c->lease, &fresh, &err) != CRABBOX_OK) { return; }
    fresh.ephemeral = fresh.ephemeral || c->ephemeral;
    fresh.last_touched_at = cbx_now_unix();
    claim_set_expiry(&fresh);
    if (claim_write(&a->st, &fresh, &err) == CRABBOX_OK) { *c = fresh; }
}

/* ---- 1. intent ------------------------------------------------------------------------------------ */

static bool slug_taken(const claim *list, size_t n, const char *slug)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].slug, slug) == 0) { return true; }
    }
    return false;
}

/* make_slug normalises --slug (lowercase, runs of other characters -> '-') or makes adjective-noun,
 * adding a 4-hex suffix on collision. */
static bool make_slug(const char *wanted, const claim *list, size_t n, char *out, size_t out_len)
{
    char base[48];
    uint8_t r[4];
    size_t o = 0;
    if (!cbx_random(r, sizeof r)) { return false; }
    if (wanted != NULL) {
        bool dash = false;
        for (const char *p = wanted; *p != '\0' && o + 1 < sizeof base; p++) {
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

/* new_lease_id picks a random lease id that no claim has. */
static int new_lease_id(app *a, claim *c, crabbox_err *err)
{
    uint8_t id[6];
    char hex[13];
    for (int attempt = 0;; attempt++) {
        crabbox_err ignored;
        claim probe;
        if (attempt == 8 || !cbx_random(id, sizeof id)) {
            return cbx_set_err(err, CRABBOX_E_FAILED, "cannot allocate a lease id");
        }
        cbx_hex(hex, id, sizeof id);
        snprintf(c->lease, sizeof c->lease, "cbx_%s", hex);
        if (claim_read(&a->st, c->lease, &probe, &ignored) == CRABBOX_E_NOT_FOUND) { return CRABBOX_OK; }
    }
}

/* fill_intent writes what the request says into the intent claim, and makes its directory. */
static int fill_intent(app *a, const lease_request *req, claim *c, crabbox_err *err)
{
    const cbs part = cbs_make(req->compose.data, req->compose.len);
    uint8_t digest[32];
    int rc = CRABBOX_OK, e;
    snprintf(c->provider, sizeof c->provider, "%s", a->d->name);
    snprintf(c->class_name, sizeof c->class_name, "%s", req->class_name != NULL ? req->class_name : "");
    snprintf(c->server_type, sizeof c->server_type, "%s", req->server_type != NULL ? req->server_type : "");
    c->keep = req->keep;
    snprintf(c->state, sizeof c->state, CLAIM_LEASED);
    c->created_at = c->last_touched_at = cbx_now_unix();
    c->idle_timeout_secs = req->idle_secs;
    c->ttl_secs = req->ttl_secs;
    claim_set_expiry(c);
    snprintf(c->scope, sizeof c->scope, "%s", a->scope);
    if (!cba_sha256(digest, &part, 1)) { rc = cbx_set_err(err, CRABBOX_E_FAILED, "SHA-256 failed"); }
    cbx_hex(c->compose_sha256, digest, 32);
    if (rc == CRABBOX_OK && !lease_dir_path(&a->st, c->lease, c->lease_dir, sizeof c->lease_dir)) {
        rc = cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    if (rc == CRABBOX_OK && (e = cbx_mkdir_private(c->lease_dir)) != 0) {
        rc = cbx_set_err(err, CRABBOX_E_FAILED, "lease directory %s: %s", c->lease_dir, strerror(e));
    }
    return rc;
}

/* claim_intent writes the intent claim and takes its lease lock in one go under the state lock,
 * before anything exists remotely: a crash never leaves an unowned CVM, and cleanup sees either
 * an owner's lock or no owner. */
static int claim_intent(app *a, const lease_request *req, claim *c, int *lock_fd, crabbox_err *err)
{
    claim *list = NULL;
    size_t n = 0;
    int rc = state_lock(&a->st, true, err);
    if (rc == CRABBOX_OK) { rc = claim_list(&a->st, &list, &n, err); }
    claim_init(c);
    if (rc == CRABBOX_OK) { rc = new_lease_id(a, c, err); }
    if (rc == CRABBOX_OK && !make_slug(req->slug, list, n, c->slug, sizeof c->slug)) {
        rc = cbx_set_err(err, CRABBOX_E_USAGE, "invalid --slug");
    }
    if (rc == CRABBOX_OK) { rc = fill_intent(a, req, c, err); }
    if (rc == CRABBOX_OK) { rc = claim_write(&a->st, c, err); }
    if (rc == CRABBOX_OK) { rc = lease_lock(&a->st, c->lease, true, false, lock_fd, err); }
    state_unlock(&a->st);
    free(list);
    return rc;
}

/* ---- 2. the lease's files ------------------------------------------------------------------------- */

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


/* write_pre_launch_script makes the lease's pre-launch script (prelaunch.h) from its public key and
 * saves it as pre-launch.sh in the lease directory (0600): a later verification reads it back to
 * require it. */
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

/* prepare_lease_files makes the lease key, saves the exact compose bytes and the per-lease
 * pre-launch script (*script, owned), and checks what will be deployed fits. */
static int prepare_lease_files(app *a, const lease_request *req, const claim *c, cbx_buf *script, crabbox_err *err)
{
    char path[PATH_MAX];
    int e, rc = keygen(a, c, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (!cbx_path_join(path, sizeof path, c->lease_dir, "compose.yml")) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    if ((e = cbx_write_file_atomic(path, req->compose.data, req->compose.len, 0600)) != 0) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot write %s: %s", path, strerror(e));
    }
    rc = write_pre_launch_script(c, script, err);
    if (rc == CRABBOX_OK && req->compose.len + script->len > LEASE_DEPLOY_MAX) {
        rc = cbx_set_err(err, CRABBOX_E_USAGE, "the compose and the pre-launch script exceed %u bytes",
                         LEASE_DEPLOY_MAX);
    }
    return rc;
}

/* ---- 3. create ------------------------------------------------------------------------------------ */

/* record_failed_create: only answers that prove nothing was created let us forget the lease at
 * once; otherwise the claim stays, failed, for `crabbox cleanup` (recovery=ambiguous-create). */
static void record_failed_create(app *a, claim *c, int rc)
{
    bool maybe_exists = rc != CRABBOX_E_USAGE && rc != CRABBOX_E_AUTH && rc != CRABBOX_E_QUOTA &&
                        rc != CRABBOX_E_UNSUPPORTED && rc != CRABBOX_E_ABI;
    if (maybe_exists) {
        snprintf(c->state, sizeof c->state, CLAIM_FAILED);
        snprintf(c->recovery, sizeof c->recovery, "ambiguous-create");
        save_claim(a, c);
        fprintf(stderr, "the lease may exist anyway: recorded recovery=ambiguous-create for lease %s "
                        "(`crabbox cleanup` looks for it)\n", c->lease);
    } else {
        lifecycle_forget(a, c);
    }
}

/* create_cvm asks the driver to create the lease (warmup) with the saved bytes. CRABBOX_OK with
 * *out (driver->lease_free); a failure is recorded in the claim (record_failed_create). */
static int create_cvm(app *a, const lease_request *req, claim *c, const cbx_buf *script, crabbox_lease **out,
                      crabbox_err *err)
{
    crabbox_lease_spec spec = {
        .struct_size = sizeof spec,
        .lease_id = c->lease,
        .slug = c->slug,
        .class_name = req->driver_class,
        .instance_type = req->instance_type,
        .lease_dir = c->lease_dir,
        .compose = req->compose.data,
        .compose_len = req->compose.len,
        .keep = c->keep,
        .pre_launch_script = script->data,
        .pre_launch_script_len = script->len,
    };
    int rc;
    fprintf(stderr, "provisioning provider=%s lease=%s slug=%s class=%s instance_type=%s keep=%s\n", a->d->name,
            c->lease, c->slug, req->driver_class != NULL ? req->driver_class : "-",
            c->server_type[0] != '\0' ? c->server_type : "-", c->keep ? "true" : "false");
    fprintf(stderr, "crabbox: waiting for %s to create the lease\n", a->display);
    memset(err, 0, sizeof *err);
    *out = NULL;
    rc = a->d->warmup(a->drv, &spec, out, err);
    if (rc == CRABBOX_OK && *out == NULL) {
        rc = cbx_set_err(err, CRABBOX_E_MALFORMED, "the driver returned no lease");
    }
    if (rc != CRABBOX_OK) {
        record_failed_create(a, c, rc);
        return rc;
    }
    snprintf(c->cloud_id, sizeof c->cloud_id, "%s", (*out)->cloud_id);
    snprintf(c->name, sizeof c->name, "%s", (*out)->name);
    snprintf(c->app_id, sizeof c->app_id, "%s", (*out)->app_id);
    snprintf(c->gateway_host, sizeof c->gateway_host, "%s", (*out)->gateway_host);
    snprintf(c->status, sizeof c->status, "%s", (*out)->status);
    snprintf(c->state, sizeof c->state, CLAIM_PROVISIONING);
    return CRABBOX_OK;
}

/* ---- 4. verify (or refuse) ------------------------------------------------------------------------ */

/* refuse is what happens after a failed gate: destroy (or keep with --keep), record the outcome,
 * and report the failing check. Returns the exit status. */
static int refuse(app *a, claim *c, const crabbox_lease *lease, int gate_rc, const crabbox_err *gate_err,
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
        lifecycle_forget(a, c);
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

/* verify_created records the created lease (provisioning) and runs admission on it with the
 * bytes this process deployed (not re-read from disk). 0, or the exit status after a refusal. */
static int verify_created(app *a, const lease_request *req, claim *c, const crabbox_lease *lease,
                          const cbx_buf *script, crabbox_attest_token *tok)
{
    const deployed_inputs deployed = { req->compose.data, req->compose.len, script->data, script->len };
    const char *failed_check = NULL;
    crabbox_err err = { 0 };
    int rc = claim_write(&a->st, c, &err);
    if (rc == CRABBOX_OK && strcmp(lease->lease_id, c->lease) != 0) {
        rc = cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned a lease for %.40s, not %s", lease->lease_id,
                         c->lease);
        failed_check = "evidence";
    } else if (rc == CRABBOX_OK) {
        rc = admission_verify(a, &req->admission, c, lease, &deployed, false, tok, &failed_check, &err);
    }
    return rc == CRABBOX_OK ? 0 : refuse(a, c, lease, rc, &err, failed_check);
}

/* ---- the whole way: intent → create → verify → ready ------------------------------------------------ */

/* give_up unlocks the lease (and frees the driver's lease) on a failed acquire; returns status. */
static int give_up(app *a, const claim *c, crabbox_lease *lease, int *lock_fd, int status)
{
    if (lease != NULL) { a->d->lease_free(a->drv, lease); }
    lifecycle_unlock(a, c->lease, *lock_fd);
    *lock_fd = -1;
    return status;
}

int lifecycle_acquire(app *a, const lease_request *req, claim *c, crabbox_lease **out_lease,
                      crabbox_attest_token *tok, int *lock_fd)
{
    crabbox_err err = { 0 };
    cbx_buf script = { 0 };
    crabbox_lease *lease = NULL;
    int rc, status;

    *out_lease = NULL;
    *lock_fd = -1;
    rc = claim_intent(a, req, c, lock_fd, &err);
    if (rc != CRABBOX_OK) { return report_failure(a, &err); }
    rc = prepare_lease_files(a, req, c, &script, &err);
    if (rc != CRABBOX_OK) {
        lifecycle_forget(a, c); /* nothing exists remotely yet */
        cbx_buf_free(&script);
        return give_up(a, c, NULL, lock_fd, report_failure(a, &err));
    }
    rc = create_cvm(a, req, c, &script, &lease, &err);
    if (rc != CRABBOX_OK) {
        cbx_buf_free(&script);
        return give_up(a, c, NULL, lock_fd, report_failure(a, &err));
    }
    status = verify_created(a, req, c, lease, &script, tok);
    cbx_buf_free(&script);
    if (status != 0) { return give_up(a, c, lease, lock_fd, status); }
    snprintf(c->state, sizeof c->state, CLAIM_READY);
    rc = claim_write(&a->st, c, &err);
    if (rc != CRABBOX_OK) { return give_up(a, c, lease, lock_fd, report_failure(a, &err)); }
    *out_lease = lease;
    return 0;
}

/* ---- a ready lease, again ----------------------------------------------------------------------- */

/* lock_ready resolves a lease, takes its lock (shared) and reads its current claim under it:
 * it must be ready. CRABBOX_OK with *lock_fd held. */
static int lock_ready(app *a, const char *id, claim *c, int *lock_fd, crabbox_err *err)
{
    int rc = lifecycle_find(a, id, c, err);
    if (rc == CRABBOX_OK) { rc = lease_lock(&a->st, c->lease, false, false, lock_fd, err); }
    if (rc == CRABBOX_OK) { rc = claim_read(&a->st, c->lease, c, err); }
    if (rc == CRABBOX_OK && strcmp(c->state, CLAIM_READY) != 0) {
        rc = cbx_set_err(err, CRABBOX_E_FAILED, "lease %s is %s, not ready", c->lease, c->state);
    }
    if (rc != CRABBOX_OK) {
        lifecycle_unlock(a, c->lease, *lock_fd);
        *lock_fd = -1;
    }
    return rc;
}

/* refuse_shared refuses a lease whose re-verification was rejected. It runs on a lease another
 * command may share: take it over exclusively first. */
static int refuse_shared(app *a, claim *c, const crabbox_lease *lease, int rc, const crabbox_err *err,
                         const char *failed_check, int *lock_fd)
{
    crabbox_err ignored;
    int status;
    lifecycle_unlock(a, c->lease, *lock_fd);
    *lock_fd = -1;
    if (lease_lock(&a->st, c->lease, true, false, lock_fd, &ignored) != CRABBOX_OK) {
        return report_error(a, rc, err->message, failed_check);
    }
    status = refuse(a, c, lease, rc, err, failed_check);
    lifecycle_unlock(a, c->lease, *lock_fd);
    *lock_fd = -1;
    return status;
}

int lifecycle_open(app *a, const admission_policy *adm, const char *id, bool force, claim *c, crabbox_lease *lease,
                   crabbox_attest_token *tok, int *lock_fd)
{
    crabbox_err err = { 0 };
    const char *failed_check = NULL;
    int rc;
    *lock_fd = -1;
    rc = lock_ready(a, id, c, lock_fd, &err);
    if (rc != CRABBOX_OK) { return report_failure(a, &err); }
    lease_from_claim(c, lease);
    rc = admission_verify(a, adm, c, lease, NULL, force, tok, &failed_check, &err);
    if (rc == CRABBOX_E_ATTESTATION) { return refuse_shared(a, c, lease, rc, &err, failed_check, lock_fd); }
    if (rc != CRABBOX_OK) {
        /* Nothing was proven wrong with this running lease (an interrupt, or evidence that could
         * not be fetched): no session is opened, but the user's lease stays. */
        lifecycle_unlock(a, c->lease, *lock_fd);
        *lock_fd = -1;
        if (rc != CRABBOX_E_CANCELLED) {
            fprintf(stderr, "lease %s kept: no session was opened; `crabbox attest %s` tries again, `crabbox stop "
                            "%s` releases it\n", c->lease, c->lease, c->lease);
        }
        return report_error(a, rc == CRABBOX_E_CANCELLED ? rc : CRABBOX_E_ATTESTATION, err.message, failed_check);
    }
    save_claim(a, c); /* labels and the bundle path */
    return 0;
}

/* ---- 5. release --------------------------------------------------------------------------------- */

/* find_intent_cvm looks for a CVM named for an intent claim that has no CVM id. CRABBOX_OK with
 * *found set when there is one (*list: driver->lease_list_free). */
static int find_intent_cvm(app *a, const claim *c, crabbox_lease_list **list, crabbox_lease *out, bool *found,
                           crabbox_err *err)
{
    int rc = a->d->list(a->drv, list, err);
    *found = false;
    if (rc != CRABBOX_OK) { return rc; }
    for (size_t i = 0; i < (*list)->num; i++) {
        if (strcmp((*list)->items[i].lease_id, c->lease) == 0) {
            *out = (*list)->items[i];
            *found = true;
            break;
        }
    }
    return CRABBOX_OK;
}

int lifecycle_release(app *a, claim *c, const crabbox_lease *known, crabbox_err *err)
{
    char old_state[sizeof c->state];
    crabbox_lease built;
    const crabbox_lease *target = known;
    crabbox_lease_list *list = NULL;
    bool found = false;
    int rc;

    snprintf(old_state, sizeof old_state, "%s", c->state);
    snprintf(c->state, sizeof c->state, CLAIM_RELEASING);
    rc = claim_write(&a->st, c, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (target == NULL && c->cloud_id[0] != '\0') {
        lease_from_claim(c, &built);
        target = &built;
    } else if (target == NULL) {
        rc = find_intent_cvm(a, c, &list, &built, &found, err);
        target = found ? &built : NULL;
    }
    if (rc == CRABBOX_OK && target != NULL) { rc = a->d->destroy(a->drv, target, err); }
    a->d->lease_list_free(a->drv, list);
    if (rc != CRABBOX_OK) {
        /* Keep the claim and the key so that stop can be retried. */
        snprintf(c->state, sizeof c->state, "%s", old_state);
        save_claim(a, c);
        return rc;
    }
    rc = claim_remove(&a->st, c->lease, err);
    if (rc != CRABBOX_OK) { return rc; }
    lifecycle_remove_files(a, c);
    fprintf(a->json ? stderr : stdout, "released lease=%s %s=%s\n", c->lease, a->cvm_key,
            target != NULL ? target->cloud_id : "none");
    return CRABBOX_OK;
}
