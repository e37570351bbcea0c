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

#include "base.h"
#include "host.h"
#include "lifecycle.h"
#include "pins.h"
#include "session.h"
#include "sha2.h"
#include "spawnsvc.h"

#define AMBIGUOUS_GRACE_SECS 300 /* an intent claim may still get its CVM for this long */

static void print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
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
    int rc = lifecycle_find(a, a->positional[0], &c, &err);
    int64_t deadline = cbx_now_ms() + STATUS_WAIT_MS;
    if (rc != CRABBOX_OK) { return report_failure(a, &err); }
    for (;;) {
        rc = provider_status(a, &c, pstatus, sizeof pstatus, &err);
        if (rc != CRABBOX_OK) { return report_failure(a, &err); }
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
        if (claim_read(&a->st, c.lease, &c, &err) != CRABBOX_OK) { return report_failure(a, &err); }
    }
    if (a->wait) {
        /* Ready means it answers over a session whose host key attestation just bound. */
        claim vc;
        crabbox_lease lease;
        crabbox_attest_token tok;
        char word[] = "true";
        char *probe[] = { word };
        admission_policy adm;
        session_request sreq;
        int lock_fd, status;
        admission_resolve(a, &adm);
        status = lifecycle_open(a, &adm, c.lease, false, &vc, &lease, &tok, &lock_fd);
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
        return report_failure(a, &err);
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
            status = report_failure(a, &lerr);
            break;
        }
        bool alive = lease_lock(&a->st, c->lease, true, true, &lock_fd, &lerr) != CRABBOX_OK;
        int read_rc = alive ? CRABBOX_OK : claim_read(&a->st, c->lease, c, &lerr);
        state_unlock(&a->st);
        if (read_rc != CRABBOX_OK) {
            lifecycle_unlock(a, c->lease, lock_fd);
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
                    lifecycle_remove_files(a, c);
                    removed++;
                    lifecycle_unlock(a, c->lease, lock_fd);
                    continue;
                }
            }
            lifecycle_unlock(a, c->lease, lock_fd);
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
                lifecycle_forget(a, c);
                destroyed++;
                lifecycle_unlock(a, c->lease, lock_fd);
                continue;
            }
            if (rc == CRABBOX_E_NOT_FOUND) {
                cleanup_action(a, arr, "skip", c, l->cloud_id, "ownership"); /* skips one CVM */
                fprintf(stderr, "crabbox: %s\n", err.message);
            } else {
                status = report_failure(a, &err); /* other errors stop the sweep */
            }
        }
        lifecycle_unlock(a, c->lease, lock_fd);
    }
    free(claims);
    a->d->lease_list_free(a->drv, list);
    if (status == CBX_EXIT_OK) {
        rc = a->d->cleanup(a->drv, a->dry_run, &err);
        if (rc != CRABBOX_OK) { status = report_failure(a, &err); }
    }
    if (status == CBX_EXIT_OK && (pruned = prune_evidence(a, a->dry_run, &err)) < 0) { status = report_failure(a, &err); }
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

static bool attest_on(app *a)
{
    const char *where;
    return admission_attest_on(a, &where);
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
        return report_failure(a, &with_next);
    }
    summary[sizeof summary - 1] = '\0';
    if (CRABBOX_HAS_MEMBER(crabbox_driver, a->d, config_keys)) { keys = a->d->config_keys; }
    if (keys == NULL) { keys = config_builtin_keys(a->d->name); }
    vpol = malloc(sizeof *vpol);
    if (vpol == NULL) { return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL); }
    if (config_policy(&a->cfg, vpol, &err) != CRABBOX_OK) {
        free(vpol);
        return report_failure(a, &err);
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
        json_object_object_add(o, "attest", json_object_new_boolean(attest_on(a)));
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
               attest_on(a) ? "on" : "OFF", a->collateral.data != NULL ? "given" : "none (DCAP skipped)");
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
