/* lease.c — acquiring and destroying a Phala CVM for a lease (phala-provider.md §5, §6).
 *
 * Ownership is the CVM name (crabbox-<lease>) plus a record: the intent record is written before
 * `deploy` runs, and every delete first re-reads the CVM with `cvms get` and requires its name to
 * decode to the same lease and its app id to be the one we hold. A CVM that is already gone
 * counts as deleted. After an ambiguous deploy failure we look for the CVM by name before
 * giving up, and any failure after a CVM exists rolls it back unless the lease is kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "phala.h"

#define MSG_PART 360 /* room for one error message inside another */

static cbs cstr(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

/* note_record writes a record where a failure must not mask the error being reported; it is
 * logged instead. */
static void note_record(phala_drv *d, const char *dir, const phala_record *rec)
{
    crabbox_err werr;
    memset(&werr, 0, sizeof werr);
    if (phala_record_write(dir, rec, &werr) != CRABBOX_OK) {
        phala_log(&d->px, CRABBOX_LOG_WARN, "lease %s: %s", rec->lease_id, werr.message);
    }
}

/* destroy_owned deletes the CVM `cloud_id` of lease_id after the ownership re-check. OK when it
 * is gone already; NOT_FOUND (an ownership refusal) when it belongs to someone else. */
static int destroy_owned(phala_drv *d, const char *lease_id, const char *app_id, unsigned flags,
                         crabbox_err *err)
{
    phala_cvm_detail det;
    char owner[PHALA_LEASE_ID_LEN + 1], shown[80];
    const char *args[] = { "cvms", "delete", "--cvm-id", app_id, "--force", "--json", NULL };
    phala_call call = { "cvms delete", args, PHALA_T_DELETE_MS, 1u << 20, false, flags };
    json_object *doc = NULL;
    int rc = phala_cvm_get(&d->px, app_id, flags, &det, err);
    if (rc == CRABBOX_E_NOT_FOUND) {
        phala_log(&d->px, CRABBOX_LOG_INFO, "phala_cvm=%s is already gone", app_id);
        return CRABBOX_OK;
    }
    if (rc != CRABBOX_OK) { return rc; }
    if (!phala_lease_for_name(owner, sizeof owner, cstr(det.name))) {
        phala_excerpt(shown, sizeof shown, cstr(det.name));
        return phala_fail(err, CRABBOX_E_NOT_FOUND,
                          "refusing to destroy Phala CVM %s: its name \"%s\" is not a crabbox "
                          "lease name",
                          app_id, shown);
    }
    if (strcmp(owner, lease_id) != 0) {
        return phala_fail(err, CRABBOX_E_NOT_FOUND,
                          "refusing to destroy Phala CVM %s: it belongs to lease %s, not %s",
                          app_id, owner, lease_id);
    }
    if (strcmp(det.app_id, app_id) != 0) {
        return phala_fail(err, CRABBOX_E_NOT_FOUND,
                          "refusing to destroy Phala CVM %s: cvms get answered for app %s", app_id,
                          det.app_id);
    }
    rc = phala_run(&d->px, &call, &doc, err);
    json_object_put(doc);
    doc = NULL;
    if (rc == CRABBOX_E_TIMEOUT || rc == CRABBOX_E_TRANSIENT) {
        /* A delete killed at its deadline (the CLI's GET + DELETE can take 90 s) or cut by the
         * network may have gone through: look, and delete once more when the CVM is still ours. */
        crabbox_err rerr;
        memset(&rerr, 0, sizeof rerr);
        int grc = phala_cvm_get(&d->px, app_id, flags, &det, &rerr);
        if (grc == CRABBOX_E_NOT_FOUND) { return CRABBOX_OK; }
        if (grc == CRABBOX_OK && strcmp(det.app_id, app_id) == 0 && phala_lease_for_name(owner, sizeof owner, cstr(det.name)) &&
            strcmp(owner, lease_id) == 0) {
            phala_log(&d->px, CRABBOX_LOG_INFO, "phala_cvm=%s is still there after %s; deleting again", app_id,
                      phala_reason(rc));
            rc = phala_run(&d->px, &call, &doc, err);
            json_object_put(doc);
        }
    }
    if (rc == CRABBOX_E_NOT_FOUND) { return CRABBOX_OK; } /* deleted meanwhile */
    return rc;
}

/* rollback removes (or keeps) the CVM of a failed warmup. err holds the original failure, whose
 * code is returned; the message gains what happened to the CVM. */
static int rollback(phala_drv *d, const char *dir, phala_record *rec, bool keep, int code,
                    crabbox_err *err)
{
    char first[MSG_PART];
    crabbox_err derr;
    int rc;
    snprintf(first, sizeof first, "%.*s", (int)sizeof first - 1, err->message);
    if (keep) {
        rec->state = PHALA_REC_KEPT;
        note_record(d, dir, rec);
        return phala_fail(err, code, "%s; kept Phala CVM %s (keep)", first, rec->app_id);
    }
    memset(&derr, 0, sizeof derr);
    rc = destroy_owned(d, rec->lease_id, rec->app_id, PHALA_NO_CANCEL, &derr);
    if (rc == CRABBOX_OK) {
        phala_record_remove(dir, rec->lease_id);
        return phala_fail(err, code, "%s; deleted Phala CVM %s", first, rec->app_id);
    }
    /* The delete failed too: leave a record cleanup will retry, and report both errors. */
    rec->state = PHALA_REC_ROLLBACK;
    note_record(d, dir, rec);
    return phala_fail(err, code, "%s; rollback of Phala CVM %s failed too: %.140s", first,
                      rec->app_id, derr.message);
}

static int pick_instance_type(const phala_drv *d, const crabbox_lease_spec *spec, char *out,
                              size_t out_len, crabbox_err *err)
{
    /* Order (§3): an explicit type, then an explicit class (unknown names are types), then the
     * configured type, then tdx.small. The host passes class_name only when the class was
     * chosen explicitly: the global default class must not move a lease off tdx.small. */
    const char *src = PHALA_DEFAULT_INSTANCE_TYPE;
    char shown[64];
    if (spec->instance_type != NULL && spec->instance_type[0] != '\0') {
        src = spec->instance_type;
    } else if (spec->class_name != NULL && spec->class_name[0] != '\0') {
        src = phala_class_type(spec->class_name);
        if (src == NULL) { src = spec->class_name; }
    } else if (d->instance_type != NULL && d->instance_type[0] != '\0') {
        src = d->instance_type;
    }
    if (!phala_instance_type_normalize(out, out_len, src)) {
        phala_excerpt(shown, sizeof shown, cstr(src));
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid instance type \"%s\"", shown);
    }
    return CRABBOX_OK;
}

/* spec_script_len: the pre-launch script the host asks for (ABI append), 0 for none. An empty
 * script is none: the CLI leaves an empty one out of the app compose. */
static size_t spec_script_len(const crabbox_lease_spec *spec)
{
    if (!CRABBOX_HAS_MEMBER(crabbox_lease_spec, spec, pre_launch_script_len) ||
        spec->pre_launch_script == NULL) {
        return 0;
    }
    return spec->pre_launch_script_len;
}

static int check_spec(const crabbox_lease_spec *spec, crabbox_err *err)
{
    int rc = 0;
    if (spec == NULL || !CRABBOX_HAS_MEMBER(crabbox_lease_spec, spec, keep)) {
        return phala_fail(err, CRABBOX_E_ABI, "phala: lease spec too short for this driver");
    }
    if (!phala_lease_id_valid(spec->lease_id)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid lease id (want cbx_ + 12 hex)");
    }
    if (spec->lease_dir == NULL || (rc = phala_private_dir(spec->lease_dir, false)) != 0) {
        return phala_fail(err, CRABBOX_E_USAGE,
                          "phala: lease directory must be an absolute private (0700) directory: %s",
                          spec->lease_dir == NULL ? "none given" : strerror(rc));
    }
    if (spec->compose == NULL || spec->compose_len == 0 || spec->compose_len > PHALA_COMPOSE_MAX) {
        return phala_fail(err, CRABBOX_E_USAGE,
                          "phala: compose must be 1..%u bytes (got %zu)", PHALA_COMPOSE_MAX,
                          spec->compose_len);
    }
    /* The CLI reads both files as UTF-8 text: other bytes would not reach the CVM unchanged, and
     * attestation would then not find what we were given. */
    if (!phala_utf8_valid(spec->compose, spec->compose_len)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: the compose is not UTF-8 text (or holds a NUL byte)");
    }
    if (spec_script_len(spec) > 0) {
        if (spec->compose_len + spec_script_len(spec) > PHALA_COMPOSE_MAX) {
            return phala_fail(err, CRABBOX_E_USAGE,
                              "phala: compose and pre-launch script exceed %u bytes together (got %zu)",
                              PHALA_COMPOSE_MAX, spec->compose_len + spec_script_len(spec));
        }
        if (!phala_utf8_valid(spec->pre_launch_script, spec->pre_launch_script_len)) {
            return phala_fail(err, CRABBOX_E_USAGE,
                              "phala: the pre-launch script is not UTF-8 text (or holds a NUL byte)");
        }
    }
    return CRABBOX_OK;
}

/* parse_deploy reads the app id from deploy's success document (top level, or a nested "cvm"
 * object) and checks the name, when given, is ours. */
static int parse_deploy(const json_object *doc, const char *name, char *app_id, crabbox_err *err)
{
    json_object *cvm = NULL;
    cbs s;
    bool got = (cba_json_get_string(doc, "app_id", &s) ||
                (cba_json_get_object(doc, "cvm", &cvm) && cba_json_get_string(cvm, "app_id", &s))) &&
               phala_app_id_normalize(app_id, PHALA_APP_ID_HEX + 1, s);
    if (!got) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala deploy failed: malformed output: no app_id (40 hex digits)");
    }
    if (cba_json_get_string(doc, "name", &s) && !cbs_eq_str(s, name)) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala deploy failed: malformed output: deployed a CVM with another name");
    }
    return CRABBOX_OK;
}

/* adopt looks for the CVM an ambiguous deploy may have created: exactly one inventory entry
 * with our name, polled every adopt_step_ms for adopt_window_ms. NOT_FOUND when none appears. */
static int adopt(phala_drv *d, const char *name, char *app_id, crabbox_err *err)
{
    const crabbox_host *h = d->px.host;
    int64_t deadline = h->now_ms(h->ctx) + d->adopt_window_ms;
    for (;;) {
        phala_inventory inv = { NULL, 0, 0 };
        crabbox_err lerr;
        size_t found = 0, at = 0;
        memset(&lerr, 0, sizeof lerr);
        if (phala_inventory_fetch(&d->px, &inv, &lerr) == CRABBOX_OK) {
            for (size_t i = 0; i < inv.num; i++) {
                if (strcmp(inv.items[i].name, name) == 0) {
                    found++;
                    at = i;
                }
            }
            if (found == 1) { memcpy(app_id, inv.items[at].app_id, PHALA_APP_ID_HEX + 1); }
        } else {
            phala_log(&d->px, CRABBOX_LOG_DEBUG, "while looking for %s: %s", name, lerr.message);
        }
        phala_inventory_cleanup(&inv);
        if (found == 1) { return CRABBOX_OK; }
        if (found > 1) {
            return phala_fail(err, CRABBOX_E_FAILED, "%zu Phala CVMs are named %s", found, name);
        }
        if (h->cancelled != NULL && h->cancelled(h->ctx)) {
            return phala_fail(err, CRABBOX_E_CANCELLED, "cancelled while looking for %s", name);
        }
        /* The whole window: the last poll is at its end, not one step before it. */
        int64_t left = deadline - h->now_ms(h->ctx);
        if (left <= 0) { break; }
        phala_sleep_ms(left < d->adopt_step_ms ? left : d->adopt_step_ms);
    }
    return phala_fail(err, CRABBOX_E_NOT_FOUND, "no Phala CVM named %s appeared", name);
}

/* deploy_is_ambiguous: after these failures the CVM may exist (a timeout, a dropped connection,
 * output we could not read, or an error we do not recognise). Auth, quota and argument errors
 * are refused before anything is created. */
static bool deploy_is_ambiguous(int code)
{
    return code != CRABBOX_E_AUTH && code != CRABBOX_E_QUOTA && code != CRABBOX_E_USAGE &&
           code != CRABBOX_E_NOT_FOUND;
}

/* One warmup's state: the lease's files, its record and the record's lock. */
typedef struct warmup {
    phala_drv *d;
    const crabbox_lease_spec *spec;
    char type[32], dir[4096], pub[4096], compose[4096], script[4096];
    phala_record rec;
    int lock;
} warmup;

/* lease_paths names the lease directory's files and the CVM. */
static int lease_paths(warmup *w, crabbox_err *err)
{
    const crabbox_lease_spec *spec = w->spec;
    struct stat st;
    int n1 = snprintf(w->pub, sizeof w->pub, "%s/id_ed25519.pub", spec->lease_dir);
    int n2 = snprintf(w->compose, sizeof w->compose, "%s/crabbox-compose.yml", spec->lease_dir);
    int n3 = snprintf(w->script, sizeof w->script, "%s/crabbox-pre-launch.sh", spec->lease_dir);
    if (n1 < 0 || (size_t)n1 >= sizeof w->pub || n2 < 0 || (size_t)n2 >= sizeof w->compose || n3 < 0 ||
        (size_t)n3 >= sizeof w->script) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: lease directory path too long");
    }
    if (lstat(w->pub, &st) != 0 || !S_ISREG(st.st_mode)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: lease SSH public key %s is missing", w->pub);
    }
    memset(&w->rec, 0, sizeof w->rec);
    memcpy(w->rec.lease_id, spec->lease_id, PHALA_LEASE_ID_LEN + 1);
    if (!phala_name_for_lease(w->rec.name, sizeof w->rec.name, w->rec.lease_id)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid lease id");
    }
    return CRABBOX_OK;
}

/* write_intent locks the lease and writes its intent record; on success the lock is held. */
static int write_intent(warmup *w, crabbox_err *err)
{
    phala_record existing;
    int rc;
    if ((rc = phala_record_dir(&w->d->px, w->dir, sizeof w->dir, err)) != CRABBOX_OK) { return rc; }
    if ((w->lock = phala_record_lock(w->dir, w->rec.lease_id)) < 0) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: lease %s is busy in another process",
                          w->rec.lease_id);
    }
    if (phala_record_read(w->dir, w->rec.lease_id, &existing, NULL) != CRABBOX_E_NOT_FOUND) {
        phala_record_unlock(w->lock);
        return phala_fail(err, CRABBOX_E_USAGE,
                          "phala: lease %s already has a record: a lease id is used once",
                          w->rec.lease_id);
    }
    /* The intent record comes first: from here on a crash cannot leave an unowned CVM. */
    w->rec.state = PHALA_REC_DEPLOYING;
    w->rec.created_at = phala_wall_seconds();
    if ((rc = phala_record_write(w->dir, &w->rec, err)) != CRABBOX_OK) {
        phala_record_unlock(w->lock);
        return rc;
    }
    return CRABBOX_OK;
}

/* drop_intent removes the intent record (nothing was created) and unlocks; returns rc. */
static int drop_intent(warmup *w, int rc)
{
    phala_record_remove(w->dir, w->rec.lease_id);
    phala_record_unlock(w->lock);
    return rc;
}

/* write_lease_files writes what the deploy and the data plane read later; on failure the
 * intent record is dropped. */
static int write_lease_files(warmup *w, crabbox_err *err)
{
    const crabbox_lease_spec *spec = w->spec;
    int rc;
    /* The exact bytes we were given are what attestation must later find: write them once and
     * hand the CLI that file (no re-reading of a user path between check and use). */
    if ((rc = phala_write_file_atomic(w->compose, spec->compose, spec->compose_len, 0600)) != 0) {
        return drop_intent(w, phala_fail(err, CRABBOX_E_FAILED, "phala: cannot write %s: %s", w->compose,
                                         strerror(rc)));
    }
    /* The pre-launch script the host wants measured in the app compose: the exact bytes, 0600,
     * handed to the CLI as a file it reads once (--pre-launch-script). */
    if (spec_script_len(spec) > 0 &&
        (rc = phala_write_file_atomic(w->script, spec->pre_launch_script, spec->pre_launch_script_len, 0600)) != 0) {
        return drop_intent(w, phala_fail(err, CRABBOX_E_FAILED, "phala: cannot write %s: %s", w->script,
                                         strerror(rc)));
    }
    /* The data plane needs the lease key later, when the host no longer passes lease_dir. */
    if ((rc = phala_keydir_write(w->dir, w->rec.lease_id, spec->lease_dir, err)) != CRABBOX_OK) {
        return drop_intent(w, rc);
    }
    return CRABBOX_OK;
}

/* run_deploy runs `phala deploy` and reads the CVM's id from its answer. */
static int run_deploy(warmup *w, crabbox_err *err)
{
    const phala_drv *d = w->d;
    const char *args[24];
    size_t i = 0;
    json_object *doc = NULL;
    int rc;
    /* stderr_to_user false: the host would copy the CLI's stderr to the user raw, before
     * phala_excerpt can redact an API key the CLI echoes; the host's progress lines cover
     * the wait, and failures are reported from the captured (redacted) text. */
    phala_call call = { "deploy", args, PHALA_T_DEPLOY_MS, 1u << 20, false, PHALA_DOC_ON_STDERR };
    args[i++] = "deploy";
    args[i++] = "--json";
    args[i++] = "--dev-os";
    args[i++] = "--ssh-pubkey";
    args[i++] = w->pub;
    args[i++] = "--wait";
    args[i++] = "-n";
    args[i++] = w->rec.name;
    args[i++] = "-t";
    args[i++] = w->type;
    if (d->node_id != NULL) {
        args[i++] = "--node-id";
        args[i++] = d->node_id;
    }
    args[i++] = "--compose";
    args[i++] = w->compose;
    /* Phala's default makes container logs and system info public: off unless opted in. */
    args[i++] = d->public_logs ? "--public-logs" : "--no-public-logs";
    args[i++] = d->public_sysinfo ? "--public-sysinfo" : "--no-public-sysinfo";
    if (spec_script_len(w->spec) > 0) {
        args[i++] = "--pre-launch-script";
        args[i++] = w->script;
    }
    args[i] = NULL;
    rc = phala_run(&w->d->px, &call, &doc, err);
    if (rc == CRABBOX_OK) { rc = parse_deploy(doc, w->rec.name, w->rec.app_id, err); }
    json_object_put(doc);
    return rc;
}

/* deploy_or_adopt deploys; after an ambiguous failure it adopts the CVM if one appeared, else
 * keeps an ambiguous record for cleanup. On failure the lock is released. */
static int deploy_or_adopt(warmup *w, crabbox_err *err)
{
    char first[MSG_PART];
    crabbox_err aerr;
    int rc, arc;
    /* DEBUG: the host prints the user-facing provisioning/released lines itself. */
    phala_log(&w->d->px, CRABBOX_LOG_DEBUG,
              "provisioning provider=phala lease=%s slug=%s instance_type=%s keep=%s", w->rec.lease_id,
              w->spec->slug != NULL ? w->spec->slug : "", w->type, w->spec->keep ? "true" : "false");
    if ((rc = run_deploy(w, err)) == CRABBOX_OK) { return CRABBOX_OK; }
    if (!deploy_is_ambiguous(rc)) { return drop_intent(w, rc); }
    snprintf(first, sizeof first, "%.*s", (int)sizeof first - 1, err->message);
    memset(&aerr, 0, sizeof aerr);
    arc = rc == CRABBOX_E_CANCELLED ? CRABBOX_E_NOT_FOUND : adopt(w->d, w->rec.name, w->rec.app_id, &aerr);
    if (arc != CRABBOX_OK) {
        /* Keep a record cleanup can find: the CVM may still appear. */
        w->rec.state = PHALA_REC_AMBIGUOUS;
        w->rec.app_id[0] = '\0';
        note_record(w->d, w->dir, &w->rec);
        phala_record_unlock(w->lock);
        return phala_fail(err, rc, "%s; %s; recorded lease %s as ambiguous-create for cleanup", first,
                          arc == CRABBOX_E_NOT_FOUND ? "no CVM appeared" : aerr.message, w->rec.lease_id);
    }
    phala_log(&w->d->px, CRABBOX_LOG_WARN, "adopted phala_cvm=%s after an ambiguous deploy: %s", w->rec.app_id,
              first);
    return CRABBOX_OK;
}

/* make_lease checks the CVM is the one we made, resolves its gateway once (the lease caches it)
 * and records the lease ready; a failure rolls the CVM back. The lock is released. */
static int make_lease(warmup *w, crabbox_lease **out, crabbox_err *err)
{
    phala_record *rec = &w->rec;
    phala_cvm_detail det;
    crabbox_lease *lease;
    int rc;
    rec->state = PHALA_REC_DEPLOYING;
    note_record(w->d, w->dir, rec); /* now with the CVM id */
    rc = phala_cvm_get(&w->d->px, rec->app_id, 0, &det, err);
    if (rc == CRABBOX_OK && (strcmp(det.app_id, rec->app_id) != 0 || strcmp(det.name, rec->name) != 0)) {
        rc = phala_fail(err, CRABBOX_E_MALFORMED, "phala cvms get failed: malformed output: answered for another CVM");
    }
    if (rc == CRABBOX_OK && det.gateway_host[0] == '\0') {
        rc = phala_fail(err, CRABBOX_E_MALFORMED, "phala cvms get failed: malformed output: no gateway domain for %s",
                        rec->app_id);
    }
    lease = rc == CRABBOX_OK ? calloc(1, sizeof *lease) : NULL;
    if (rc == CRABBOX_OK && lease == NULL) { rc = phala_fail(err, CRABBOX_E_FAILED, "phala: out of memory"); }
    if (rc == CRABBOX_OK) {
        rec->state = PHALA_REC_READY;
        rc = phala_record_write(w->dir, rec, err);
    }
    if (rc != CRABBOX_OK) {
        free(lease);
        rc = rollback(w->d, w->dir, rec, w->spec->keep, rc, err);
        phala_record_unlock(w->lock);
        return rc;
    }
    lease->struct_size = sizeof *lease;
    snprintf(lease->lease_id, sizeof lease->lease_id, "%s", rec->lease_id);
    snprintf(lease->cloud_id, sizeof lease->cloud_id, "%s", rec->app_id);
    snprintf(lease->name, sizeof lease->name, "%s", rec->name);
    snprintf(lease->status, sizeof lease->status, "%s", det.status);
    snprintf(lease->app_id, sizeof lease->app_id, "%s", rec->app_id);
    snprintf(lease->gateway_host, sizeof lease->gateway_host, "%s", det.gateway_host);
    phala_record_unlock(w->lock);
    phala_log(&w->d->px, CRABBOX_LOG_DEBUG, "created lease=%s phala_cvm=%s gateway_host=%s", lease->lease_id,
              lease->cloud_id, lease->gateway_host);
    *out = lease;
    return CRABBOX_OK;
}

int phala_warmup(phala_drv *d, const crabbox_lease_spec *spec, crabbox_lease **out,
                 crabbox_err *err)
{
    warmup w;
    int rc;
    *out = NULL;
    memset(&w, 0, sizeof w);
    w.d = d;
    w.spec = spec;
    w.lock = -1;
    if ((rc = check_spec(spec, err)) != CRABBOX_OK) { return rc; }
    if ((rc = pick_instance_type(d, spec, w.type, sizeof w.type, err)) != CRABBOX_OK) { return rc; }
    if ((rc = lease_paths(&w, err)) != CRABBOX_OK) { return rc; }
    if ((rc = write_intent(&w, err)) != CRABBOX_OK) { return rc; }
    if ((rc = write_lease_files(&w, err)) != CRABBOX_OK) { return rc; }
    if ((rc = deploy_or_adopt(&w, err)) != CRABBOX_OK) { return rc; }
    return make_lease(&w, out, err);
}

int phala_destroy(phala_drv *d, const crabbox_lease *lease, crabbox_err *err)
{
    char app_id[PHALA_APP_ID_HEX + 1], name[PHALA_NAME_MAX + 1], dir[4096];
    phala_record rec;
    int rc, lock;
    if (lease == NULL || !CRABBOX_HAS_MEMBER(crabbox_lease, lease, gateway_host)) {
        return phala_fail(err, CRABBOX_E_ABI, "phala: lease struct too short for this driver");
    }
    if (!phala_lease_id_valid(lease->lease_id)) {
        return phala_fail(err, CRABBOX_E_NOT_FOUND, "Phala CVM lease not found: invalid lease id");
    }
    if (!phala_app_id_normalize(app_id, sizeof app_id,
                                cbs_make((const uint8_t *)lease->cloud_id,
                                         strnlen(lease->cloud_id, sizeof lease->cloud_id)))) {
        return phala_fail(err, CRABBOX_E_NOT_FOUND,
                          "Phala CVM lease not found: lease %s has no Phala app id",
                          lease->lease_id);
    }
    if (!phala_name_for_lease(name, sizeof name, lease->lease_id) ||
        (lease->name[0] != '\0' && strncmp(lease->name, name, sizeof lease->name) != 0) ||
        (lease->app_id[0] != '\0' && strncmp(lease->app_id, app_id, sizeof lease->app_id) != 0)) {
        return phala_fail(err, CRABBOX_E_NOT_FOUND,
                          "refusing to destroy Phala CVM %s: the lease's name or app id do not "
                          "match lease %s",
                          app_id, lease->lease_id);
    }
    if ((rc = phala_record_dir(&d->px, dir, sizeof dir, err)) != CRABBOX_OK) { return rc; }
    if ((lock = phala_record_lock(dir, lease->lease_id)) < 0) {
        return phala_fail(err, CRABBOX_E_TRANSIENT, "phala: lease %s is busy in another process",
                          lease->lease_id);
    }
    rc = phala_record_read(dir, lease->lease_id, &rec, err);
    if (rc == CRABBOX_OK && rec.app_id[0] != '\0' && strcmp(rec.app_id, app_id) != 0) {
        phala_record_unlock(lock);
        return phala_fail(err, CRABBOX_E_NOT_FOUND,
                          "refusing to destroy Phala CVM %s: lease %s recorded CVM %s", app_id,
                          lease->lease_id, rec.app_id);
    }
    if (rc != CRABBOX_OK && rc != CRABBOX_E_NOT_FOUND) {
        phala_record_unlock(lock);
        return rc;
    }
    /* No driver record is fine: the host's claim is the ownership record it passes us; the
     * name and app id are re-checked against the CVM itself below. */
    rc = destroy_owned(d, lease->lease_id, app_id, PHALA_NO_CANCEL, err);
    if (rc == CRABBOX_OK) {
        phala_record_remove(dir, lease->lease_id);
        phala_log(&d->px, CRABBOX_LOG_DEBUG, "released lease=%s phala_cvm=%s", lease->lease_id,
                  app_id);
    }
    phala_record_unlock(lock);
    return rc;
}

/* phala_destroy_for_cleanup is destroy_owned for the sweep (it honours cancellation). */
int phala_destroy_for_cleanup(phala_drv *d, const char *lease_id, const char *app_id,
                              crabbox_err *err)
{
    return destroy_owned(d, lease_id, app_id, 0, err);
}
