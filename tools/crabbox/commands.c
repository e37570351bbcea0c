/* commands.c — the commands: warmup, run, ssh, attest, status, stop, list, cleanup, pins, doctor.
 * A lease's lifecycle is lifecycle.c, whether it may be used admission.c, its sessions session.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "host.h"
#include "lifecycle.h"
#include "pins.h"
#include "session.h"
#include "spawnsvc.h"

#define AMBIGUOUS_GRACE_SECS 300 /* an intent claim may still get its CVM for this long */

static void print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

/* tristate shows a claim label that may be unknown (-1). */
static const char *tristate(int v)
{
    return v == 1 ? "true" : v == 0 ? "false" : "-";
}

/* print_claim_json prints a claim with "ok": true and the extra fields (NULL-terminated pairs). */
static void print_claim_json(const claim *c, const char *const *extra)
{
    json_object *o = claim_to_json(c);
    json_object_object_add(o, "ok", json_object_new_boolean(true));
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i += 2) {
        json_object_object_add(o, extra[i], json_object_new_string(extra[i + 1]));
    }
    print_json(o);
    json_object_put(o);
}

static void print_first_sighting(const claim *c)
{
    if (strcmp(c->measurement_pin, "first-sighting") == 0) {
        printf("measurements: first sighting, pinned under %s\n", c->measurement_pin_key);
    }
}

/* acquire resolves the request and takes a new lease to ready (lifecycle_acquire); the request
 * is the caller's (lease_request_free) whatever the outcome. 0 or the exit status (reported). */
static int acquire(app *a, lease_request *req, claim *c, crabbox_lease **lease, crabbox_attest_token *tok,
                   int *lock_fd)
{
    crabbox_err err = { 0 };
    *lease = NULL;
    *lock_fd = -1;
    if (lease_request_resolve(a, req, &err) != CRABBOX_OK) { return report_failure(a, &err); }
    return lifecycle_acquire(a, req, c, lease, tok, lock_fd);
}

int cmd_warmup(app *a)
{
    lease_request req;
    claim c;
    crabbox_lease *lease;
    crabbox_attest_token tok;
    int lock_fd, status = acquire(a, &req, &c, &lease, &tok, &lock_fd);
    cbx_wipe(&tok, sizeof tok);
    lease_request_free(&req);
    if (status != 0) { return status; }
    if (a->json) {
        print_claim_json(&c, NULL);
    } else {
        printf("provisioned lease=%s %s=%s state=ready\n", c.lease, a->cvm_key, c.cloud_id);
        printf("slug=%s attested=%s\n", c.slug, c.attested == 1 ? "true" : "false");
        print_first_sighting(&c);
    }
    a->d->lease_free(a->drv, lease);
    lifecycle_unlock(a, c.lease, lock_fd);
    return CBX_EXIT_OK;
}

/* session_for is what a command's session runs (cmd NULL: an interactive shell). */
static session_request session_for(const app *a, const admission_policy *adm, char **cmd, int cmd_count, bool sync)
{
    return (session_request){
        .cmd = cmd,
        .cmd_count = cmd_count,
        .sync = sync,
        .env_names = a->env_names,
        .num_env = a->num_env,
        .allow_info_only = adm->allow_info_only,
    };
}

/* finish_run touches the lease after the session and releases a lease `run` made (unless
 * --keep); returns the exit status of the run. */
static int finish_run(app *a, claim *c, const crabbox_lease *lease, int lock_fd, int status)
{
    crabbox_err err = { 0 };
    if (host_cancel_poll(a)) {
        /* Ctrl-C reached ssh too; say "interrupted", not ssh's 255 (the lease is still released). */
        a->cancel_seen = true;
        status = CBX_EXIT_CANCELLED;
    }
    lifecycle_touch(a, c);
    if (a->id_opt == NULL && !a->keep) {
        if (lifecycle_release(a, c, lease, &err) != CRABBOX_OK) {
            int rs = report_failure(a, &err);
            status = status == 0 ? rs : status;
        }
    } else if (a->id_opt == NULL) {
        fprintf(stderr, "kept lease=%s slug=%s (--keep)\n", c->lease, c->slug);
    }
    lifecycle_unlock(a, c->lease, lock_fd);
    return status;
}

int cmd_run(app *a)
{
    lease_request req;
    session_request sreq;
    claim c;
    crabbox_lease *acquired = NULL, existing;
    const crabbox_lease *lease;
    crabbox_attest_token tok;
    int lock_fd, status;

    memset(&req, 0, sizeof req);
    if (a->id_opt != NULL) {
        admission_resolve(a, &req.admission); /* an existing lease: verified again, nothing deployed */
        status = lifecycle_open(a, &req.admission, a->id_opt, false, &c, &existing, &tok, &lock_fd);
        lease = &existing;
    } else {
        status = acquire(a, &req, &c, &acquired, &tok, &lock_fd);
        lease = acquired;
    }
    if (status == 0 && a->id_opt == NULL) {
        c.ephemeral = !a->keep; /* if this process dies, cleanup need not wait for the idle timeout */
        fprintf(stderr, "provisioned lease=%s %s=%s state=ready\n", c.lease, a->cvm_key, c.cloud_id);
    }
    sreq = session_for(a, &req.admission, a->cmd, a->num_cmd, !a->no_sync);
    lease_request_free(&req);
    if (status != 0) { return status; }
    lifecycle_touch(a, &c);
    status = session_exec(a, &c, lease, &tok, &sreq);
    cbx_wipe(&tok, sizeof tok);
    status = finish_run(a, &c, lease, lock_fd, status);
    if (acquired != NULL) { a->d->lease_free(a->drv, acquired); }
    return status;
}

int cmd_ssh(app *a)
{
    admission_policy adm;
    session_request sreq;
    claim c;
    crabbox_lease lease;
    crabbox_attest_token tok;
    int lock_fd, status;
    admission_resolve(a, &adm);
    status = lifecycle_open(a, &adm, a->positional[0], false, &c, &lease, &tok, &lock_fd);
    sreq = session_for(a, &adm, NULL, 0, false);
    admission_free(&adm);
    if (status != 0) { return status; }
    lifecycle_touch(a, &c);
    status = session_exec(a, &c, &lease, &tok, &sreq);
    cbx_wipe(&tok, sizeof tok);
    lifecycle_touch(a, &c);
    lifecycle_unlock(a, c.lease, lock_fd);
    return status;
}

int cmd_attest(app *a)
{
    admission_policy adm;
    claim c;
    crabbox_lease lease;
    crabbox_attest_token tok;
    const char *auth;
    int lock_fd, status;
    admission_resolve(a, &adm);
    status = lifecycle_open(a, &adm, a->positional[0], true, &c, &lease, &tok, &lock_fd);
    admission_free(&adm);
    cbx_wipe(&tok, sizeof tok);
    if (status != 0) { return status; }
    /* Read back what was saved: the record on disk is what later re-verification gets. */
    auth = attestlib_bundle_auth(c.bundle);
    if (a->json) {
        const char *const extra[] = { "verdict", "verified", "bundle_auth", auth, NULL };
        print_claim_json(&c, extra);
    } else {
        printf("verified lease=%s %s=%s bundle=%s\nbundle: %s\n", c.lease, a->cvm_key, c.cloud_id, c.bundle, auth);
        print_first_sighting(&c);
    }
    lifecycle_unlock(a, c.lease, lock_fd);
    return CBX_EXIT_OK;
}

/* forget_pin removes one measurement pin (pins --forget KEY); the caller holds the state lock,
 * which this releases. */
static int forget_pin(app *a, const char *path)
{
    char why[256];
    int rc = pins_forget(path, a->forget_opt, why, sizeof why);
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

static json_object *pin_json(const pin_entry *p)
{
    json_object *o = json_object_new_object(), *rt = json_object_new_array();
    char h[97];
    json_object_object_add(o, "key", json_object_new_string(p->key));
    cbx_hex(h, p->mrtd, 48);
    json_object_object_add(o, "mrtd", json_object_new_string(h));
    for (int r = 0; r < 3; r++) {
        cbx_hex(h, p->rtmr[r], 48);
        json_object_array_add(rt, json_object_new_string(h));
    }
    json_object_object_add(o, "rtmr", rt);
    json_object_object_add(o, "first_seen", json_object_new_int64(p->first_seen));
    json_object_object_add(o, "lease", json_object_new_string(p->lease));
    return o;
}

static void print_pins(app *a, const pin_entry *v, size_t num)
{
    if (a->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < num; i++) { json_object_array_add(arr, pin_json(&v[i])); }
        print_json(arr);
        json_object_put(arr);
        return;
    }
    for (size_t i = 0; i < num; i++) {
        char h[97];
        cbx_hex(h, v[i].mrtd, 48);
        printf("%s mrtd=%.16s... first_seen=%lld lease=%s\n", v[i].key, h, (long long)v[i].first_seen, v[i].lease);
    }
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
    if (rc != CRABBOX_OK) { return report_failure(a, &err); }
    if (a->forget_opt != NULL) { return forget_pin(a, path); }
    rc = pins_load(path, &v, &num, why, sizeof why);
    state_unlock(&a->st);
    if (rc != 0) { return report_error(a, CRABBOX_E_FAILED, why[0] != '\0' ? why : strerror(rc), NULL); }
    print_pins(a, v, num);
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
    rc = lifecycle_find(a, a->positional[0], &c, &err);
    if (rc == CRABBOX_OK) { rc = lease_lock(&a->st, c.lease, true, true, &lock_fd, &err); }
    if (rc == CRABBOX_OK) { rc = claim_read(&a->st, c.lease, &c, &err); } /* it may be gone meanwhile */
    if (rc == CRABBOX_OK) {
        if (c.cloud_id[0] == '\0' && strcmp(c.recovery, "ambiguous-create") != 0) {
            rc = cbx_set_err(&err, CRABBOX_E_NOT_FOUND, "lease %s has no %s CVM id", c.lease, a->display);
        } else {
            rc = lifecycle_release(a, &c, NULL, &err);
        }
    }
    lifecycle_unlock(a, c.lease, lock_fd);
    if (rc != CRABBOX_OK) { return report_failure(a, &err); }
    pruned = prune_evidence(a, false, &err);
    if (pruned < 0) { return report_failure(a, &err); }
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
        return report_failure(a, &err);
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
                   tristate(c->attested), exp);
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

/* wait_until_running polls (status --wait) until the provider says running and the claim is
 * ready; without --wait it asks once. CBX_EXIT_OK with pstatus set, else the exit status. */
static int wait_until_running(app *a, claim *c, char *pstatus, size_t pstatus_len)
{
    crabbox_err err = { 0 };
    int64_t deadline = cbx_now_ms() + STATUS_WAIT_MS;
    for (;;) {
        if (provider_status(a, c, pstatus, pstatus_len, &err) != CRABBOX_OK) { return report_failure(a, &err); }
        if (!a->wait || (strcmp(pstatus, "running") == 0 && strcmp(c->state, CLAIM_READY) == 0)) { return CBX_EXIT_OK; }
        if (pstatus[0] == '\0' && strcmp(c->state, CLAIM_READY) == 0) {
            return report_error(a, CRABBOX_E_NOT_FOUND, "the lease's CVM is gone at the provider", NULL);
        }
        if (cbx_now_ms() >= deadline) {
            return report_error(a, CRABBOX_E_TIMEOUT, "timed out waiting for the lease to be running", NULL);
        }
        fprintf(stderr, "crabbox: waiting for lease %s (state=%s, provider status=%s)\n", c->lease, c->state,
                pstatus[0] != '\0' ? pstatus : "absent");
        if (!wait_interruptible(a, STATUS_POLL_MS)) { return report_error(a, CRABBOX_E_CANCELLED, "interrupted", NULL); }
        if (claim_read(&a->st, c->lease, c, &err) != CRABBOX_OK) { return report_failure(a, &err); }
    }
}

/* probe_answers: ready means it answers (`true`) over a session whose host key attestation just
 * bound. CBX_EXIT_OK with *c the re-verified claim, else the exit status (reported). */
static int probe_answers(app *a, claim *c)
{
    claim vc;
    crabbox_lease lease;
    crabbox_attest_token tok;
    char word[] = "true";
    char *probe[] = { word };
    admission_policy adm;
    session_request sreq;
    int lock_fd, status;
    admission_resolve(a, &adm);
    status = lifecycle_open(a, &adm, c->lease, false, &vc, &lease, &tok, &lock_fd);
    sreq = session_for(a, &adm, probe, 1, false);
    admission_free(&adm);
    if (status != 0) { return status; }
    status = session_exec(a, &vc, &lease, &tok, &sreq);
    cbx_wipe(&tok, sizeof tok);
    lifecycle_unlock(a, vc.lease, lock_fd);
    if (status != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "the lease did not answer over ssh (status %d)", status);
        return report_error(a, CRABBOX_E_FAILED, msg, NULL);
    }
    *c = vc;
    return CBX_EXIT_OK;
}

int cmd_status(app *a)
{
    claim c;
    crabbox_err err = { 0 };
    char pstatus[32];
    int status;
    if (lifecycle_find(a, a->positional[0], &c, &err) != CRABBOX_OK) { return report_failure(a, &err); }
    status = wait_until_running(a, &c, pstatus, sizeof pstatus);
    if (status == CBX_EXIT_OK && a->wait) { status = probe_answers(a, &c); }
    if (status != CBX_EXIT_OK) { return status; }
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
               pstatus[0] != '\0' ? pstatus : "absent", tristate(c.attested), tristate(c.attestation_fresh), exp,
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

/* One sweep of `crabbox cleanup`: the provider's list, what was done. */
typedef struct sweep {
    const crabbox_lease_list *list;
    json_object *actions; /* --json: the actions, else NULL (printed as they happen) */
    int64_t now;
    size_t destroyed, removed;
} sweep;

/* sweep_lock takes a claim's lease lock if nobody holds it and re-reads the claim under it. A
 * live command holds the lease lock; a free lock on an unfinished lease means it died. Under the
 * state lock: warmup writes its intent claim and takes the lease lock in one go, so a claim seen
 * here either has its owner's lock or has no owner. CBX_EXIT_OK with *proceed false when the claim
 * was released meanwhile; another exit status (reported) stops the sweep. */
static int sweep_lock(app *a, claim *c, bool *alive, int *lock_fd, bool *proceed)
{
    crabbox_err lerr;
    int read_rc;
    *proceed = false;
    *lock_fd = -1;
    if (state_lock(&a->st, true, &lerr) != CRABBOX_OK) { return report_failure(a, &lerr); }
    *alive = lease_lock(&a->st, c->lease, true, true, lock_fd, &lerr) != CRABBOX_OK;
    read_rc = *alive ? CRABBOX_OK : claim_read(&a->st, c->lease, c, &lerr);
    state_unlock(&a->st);
    if (read_rc != CRABBOX_OK) {
        lifecycle_unlock(a, c->lease, *lock_fd);
        return CBX_EXIT_OK;
    }
    *proceed = true;
    return CBX_EXIT_OK;
}

/* sweep_unlisted handles a claim whose CVM the provider does not list: its claim goes, unless
 * its owner lives or its CVM may still appear. */
static void sweep_unlisted(app *a, sweep *sw, const claim *c, bool alive)
{
    crabbox_err lerr;
    char reason_text[64];
    if (alive) {
        cleanup_action(a, sw->actions, "skip", c, c->cloud_id, "in-use");
        return;
    }
    if (c->cloud_id[0] == '\0' && sw->now < c->created_at + AMBIGUOUS_GRACE_SECS) {
        cleanup_action(a, sw->actions, "skip", c, "", "recent"); /* its CVM may still appear */
        return;
    }
    snprintf(reason_text, sizeof reason_text, "missing %s CVM", a->display);
    cleanup_action(a, sw->actions, a->dry_run ? "would-remove-claim" : "remove-claim", c, c->cloud_id, reason_text);
    if (!a->dry_run && claim_remove(&a->st, c->lease, &lerr) == CRABBOX_OK) {
        lifecycle_remove_files(a, c);
        sw->removed++;
    }
}

/* sweep_listed destroys a claimed CVM when cleanup_reason says so. CBX_EXIT_OK, or the exit
 * status (reported) of an error that stops the sweep. */
static int sweep_listed(app *a, sweep *sw, const claim *c, const crabbox_lease *l, bool alive)
{
    crabbox_err err = { 0 };
    const char *skip, *reason = cleanup_reason(c, alive, sw->now, &skip);
    int rc;
    if (reason == NULL) {
        cleanup_action(a, sw->actions, "skip", c, l->cloud_id, skip);
        return CBX_EXIT_OK;
    }
    if (a->dry_run) {
        cleanup_action(a, sw->actions, "would-destroy", c, l->cloud_id, reason);
        return CBX_EXIT_OK;
    }
    rc = a->d->destroy(a->drv, l, &err);
    if (rc == CRABBOX_OK) {
        cleanup_action(a, sw->actions, "destroy", c, l->cloud_id, reason);
        lifecycle_forget(a, c);
        sw->destroyed++;
        return CBX_EXIT_OK;
    }
    if (rc == CRABBOX_E_NOT_FOUND) {
        cleanup_action(a, sw->actions, "skip", c, l->cloud_id, "ownership"); /* skips one CVM */
        fprintf(stderr, "crabbox: %s\n", err.message);
        return CBX_EXIT_OK;
    }
    return report_failure(a, &err); /* other errors stop the sweep */
}

/* sweep_claims goes over our claims in this scope. CBX_EXIT_OK or the status that stopped it. */
static int sweep_claims(app *a, sweep *sw, claim *claims, size_t n)
{
    int status = CBX_EXIT_OK;
    for (size_t i = 0; i < n && status == CBX_EXIT_OK; i++) {
        claim *c = &claims[i];
        const crabbox_lease *l;
        bool alive = false, proceed;
        int lock_fd;
        if (strcmp(c->scope, a->scope) != 0 || strcmp(c->provider, a->d->name) != 0) { continue; }
        status = sweep_lock(a, c, &alive, &lock_fd, &proceed);
        if (!proceed) { continue; }
        l = find_listed(sw->list, c);
        if (l == NULL) {
            sweep_unlisted(a, sw, c, alive);
        } else {
            status = sweep_listed(a, sw, c, l, alive);
        }
        lifecycle_unlock(a, c->lease, lock_fd);
    }
    return status;
}

/* print_sweep prints the summary: pruned bundles, and with --json the whole record. */
static void print_sweep(app *a, sweep *sw, long pruned)
{
    json_object *o;
    if (pruned > 0 && !a->json) {
        printf("%s %ld evidence bundle%s older than evidenceRetention\n", a->dry_run ? "would-prune" : "pruned", pruned,
               pruned == 1 ? "" : "s");
    }
    if (!a->json) { return; }
    o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(true));
    json_object_object_add(o, "dry_run", json_object_new_boolean(a->dry_run));
    json_object_object_add(o, "pruned_bundles", json_object_new_int64(pruned));
    json_object_object_add(o, "destroyed", json_object_new_int64((int64_t)sw->destroyed));
    json_object_object_add(o, "claims_removed", json_object_new_int64((int64_t)sw->removed));
    json_object_object_add(o, "actions", sw->actions);
    sw->actions = NULL;
    print_json(o);
    json_object_put(o);
}

int cmd_cleanup(app *a)
{
    crabbox_lease_list *list = NULL;
    crabbox_err err = { 0 };
    claim *claims = NULL;
    size_t n = 0;
    sweep sw = { .actions = a->json ? json_object_new_array() : NULL, .now = cbx_now_unix() };
    long pruned = 0;
    int rc = a->d->list(a->drv, &list, &err), status;

    if (rc == CRABBOX_OK && list == NULL) { rc = cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned no list"); }
    if (rc == CRABBOX_OK) { rc = claim_list(&a->st, &claims, &n, &err); }
    if (rc != CRABBOX_OK) {
        a->d->lease_list_free(a->drv, list);
        json_object_put(sw.actions);
        return report_failure(a, &err);
    }
    sw.list = list;
    status = sweep_claims(a, &sw, claims, n);
    free(claims);
    a->d->lease_list_free(a->drv, list);
    if (status == CBX_EXIT_OK) {
        rc = a->d->cleanup(a->drv, a->dry_run, &err);
        if (rc != CRABBOX_OK) { status = report_failure(a, &err); }
    }
    if (status == CBX_EXIT_OK && (pruned = prune_evidence(a, a->dry_run, &err)) < 0) {
        status = report_failure(a, &err);
    }
    if (status == CBX_EXIT_OK) { print_sweep(a, &sw, pruned); }
    json_object_put(sw.actions);
    return status;
}
