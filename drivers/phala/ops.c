/* ops.c — list, doctor and cleanup over the CVM inventory (phala-provider.md §6).
 *
 * list reports every CVM whose name decodes to a lease (the host intersects that with its
 * claims). doctor proves the CLI runs, that it is logged in — `phala status --json` prints
 * nothing and exits 0 when it is not, which the reference took for success — and that the whole
 * inventory can be read; it counts only CVMs backed by this user's records. cleanup works on the
 * driver's own records: it finishes rollbacks, reaps CVMs of crashed or ambiguous warmups after
 * a grace period, and drops records whose CVM is gone. Lease expiry is the host's business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phala.h"

/* A warmup that died (or whose deploy failed ambiguously) may still see its CVM appear for a
 * while; wait this long after the record was created before deleting. */
#define AMBIGUOUS_GRACE_S 300

static cbs cstr(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

int phala_list(phala_drv *d, crabbox_lease_list **out, crabbox_err *err)
{
    phala_inventory inv = { NULL, 0, 0 };
    crabbox_lease_list *list;
    size_t n = 0;
    int rc;
    *out = NULL;
    if ((rc = phala_inventory_fetch(&d->px, &inv, err)) != CRABBOX_OK) { return rc; }
    list = calloc(1, sizeof *list);
    if (list != NULL) { list->items = calloc(inv.num > 0 ? inv.num : 1, sizeof *list->items); }
    if (list == NULL || list->items == NULL) {
        free(list);
        phala_inventory_cleanup(&inv);
        return phala_fail(err, CRABBOX_E_FAILED, "phala: out of memory");
    }
    list->struct_size = sizeof *list;
    for (size_t i = 0; i < inv.num; i++) {
        crabbox_lease *l = &list->items[n];
        if (!phala_lease_for_name(l->lease_id, sizeof l->lease_id, cstr(inv.items[i].name))) {
            continue; /* not a crabbox CVM */
        }
        l->struct_size = sizeof *l;
        snprintf(l->cloud_id, sizeof l->cloud_id, "%s", inv.items[i].app_id);
        snprintf(l->app_id, sizeof l->app_id, "%s", inv.items[i].app_id);
        snprintf(l->name, sizeof l->name, "%s", inv.items[i].name);
        snprintf(l->status, sizeof l->status, "%s", inv.items[i].status);
        n++;
    }
    list->num = n;
    phala_inventory_cleanup(&inv);
    *out = list;
    return CRABBOX_OK;
}

int phala_doctor(phala_drv *d, char *summary, size_t summary_len, crabbox_err *err)
{
    static const char *const status_args[] = { "status", "--json", NULL };
    phala_call status = { "status", status_args, PHALA_T_STATUS_MS, 1u << 20, false,
                          PHALA_EMPTY_OK };
    phala_inventory inv = { NULL, 0, 0 };
    json_object *doc = NULL;
    char version[64], dir[4096];
    size_t ours = 0;
    int rc;
    if (summary != NULL && summary_len > 0) { summary[0] = '\0'; }
    if ((rc = phala_cli_version(&d->px, version, sizeof version, err)) != CRABBOX_OK) {
        return rc;
    }
    phala_log(&d->px, CRABBOX_LOG_INFO, "phala cli %s", version);
    if (access("phala.toml", F_OK) == 0) {
        /* The CLI would read it from its working directory; ours is always a private one. */
        phala_log(&d->px, CRABBOX_LOG_WARN,
                  "phala.toml in this folder is ignored: crabbox runs the phala CLI in a private "
                  "empty directory, so the CVM, profile and settings it names do not apply");
    }
    if ((rc = phala_run(&d->px, &status, &doc, err)) != CRABBOX_OK) { return rc; }
    if (doc == NULL) {
        /* Name the variable only as it is: a key that is set was refused; none set, suggest it. */
        const char *key = getenv("PHALA_CLOUD_API_KEY");
        if (key != NULL && key[0] != '\0') {
            return phala_fail(err, CRABBOX_E_AUTH,
                              "phala status failed: not authenticated: not logged in with the "
                              "PHALA_CLOUD_API_KEY that is set (`phala status --json` printed nothing); "
                              "next: check that key, or unset it and run `phala login`");
        }
        return phala_fail(err, CRABBOX_E_AUTH,
                          "phala status failed: not authenticated: not logged in (`phala status "
                          "--json` printed nothing); next: run `phala login`, or set "
                          "PHALA_CLOUD_API_KEY (it is not set)");
    }
    json_object_put(doc);
    if ((rc = phala_record_dir(&d->px, dir, sizeof dir, err)) != CRABBOX_OK) { return rc; }
    if ((rc = phala_inventory_fetch(&d->px, &inv, err)) != CRABBOX_OK) { return rc; }
    for (size_t i = 0; i < inv.num; i++) {
        char lease[PHALA_LEASE_ID_LEN + 1];
        phala_record rec;
        if (phala_lease_for_name(lease, sizeof lease, cstr(inv.items[i].name)) &&
            phala_record_read(dir, lease, &rec, NULL) == CRABBOX_OK) {
            ours++;
        }
    }
    phala_inventory_cleanup(&inv);
    if (summary != NULL && summary_len > 0) {
        /* The host appends " runtime=<driver>", completing the line of phala-provider.md §6. */
        snprintf(summary, summary_len,
                 "cli=ready control_plane=ready inventory=ready api=list mutation=false leases=%zu",
                 ours);
    }
    return CRABBOX_OK;
}

/* sweep_one decides about one record (its lock held). Returns OK to go on, or an error that
 * stops the sweep. */
static int sweep_one(phala_drv *d, const char *dir, const phala_record *rec,
                     const phala_inventory *inv, bool dry_run, int64_t now, crabbox_err *err)
{
    const char *reason = NULL;
    size_t present = 0;
    bool all_gone = true;
    for (size_t i = 0; i < inv->num; i++) {
        if (strcmp(inv->items[i].name, rec->name) == 0 ||
            (rec->app_id[0] != '\0' && strcmp(inv->items[i].app_id, rec->app_id) == 0)) {
            present++;
        }
    }
    switch (rec->state) {
    case PHALA_REC_KEPT:
        phala_log(&d->px, CRABBOX_LOG_WARN, "skip phala_cvm=%s reason=kept-after-failure",
                  rec->app_id[0] ? rec->app_id : rec->name);
        return CRABBOX_OK;
    case PHALA_REC_READY:
        if (present > 0) { return CRABBOX_OK; } /* a live lease: expiry is the host's call */
        break;
    case PHALA_REC_ROLLBACK:
        reason = "rollback-cleanup";
        break;
    case PHALA_REC_DEPLOYING: /* lock free: the warmup that wrote it is gone */
    case PHALA_REC_AMBIGUOUS:
        if (now - rec->created_at < AMBIGUOUS_GRACE_S) {
            phala_log(&d->px, CRABBOX_LOG_WARN, "skip phala_cvm=%s reason=ambiguous-create-grace",
                      rec->name);
            return CRABBOX_OK;
        }
        reason = "ambiguous-create";
        break;
    }
    for (size_t i = 0; i < inv->num && reason != NULL; i++) {
        const phala_cvm *c = &inv->items[i];
        crabbox_err derr;
        int rc;
        if (strcmp(c->name, rec->name) != 0 &&
            (rec->app_id[0] == '\0' || strcmp(c->app_id, rec->app_id) != 0)) {
            continue;
        }
        if (dry_run) {
            phala_log(&d->px, CRABBOX_LOG_INFO, "would destroy phala_cvm=%s lease=%s reason=%s",
                      c->app_id, rec->lease_id, reason);
            all_gone = false;
            continue;
        }
        memset(&derr, 0, sizeof derr);
        rc = phala_destroy_for_cleanup(d, rec->lease_id, c->app_id, &derr);
        if (rc == CRABBOX_E_NOT_FOUND) { /* an ownership refusal skips this CVM only */
            phala_log(&d->px, CRABBOX_LOG_WARN, "skip phala_cvm=%s reason=%s", c->app_id,
                      derr.message);
            all_gone = false;
            continue;
        }
        if (rc != CRABBOX_OK) {
            return phala_fail(err, rc, "cleanup stopped at phala_cvm=%s lease=%s: %.400s",
                              c->app_id, rec->lease_id, derr.message);
        }
        phala_log(&d->px, CRABBOX_LOG_INFO, "destroy phala_cvm=%s lease=%s reason=%s", c->app_id,
                  rec->lease_id, reason);
    }
    if (!all_gone) { return CRABBOX_OK; }
    if (present == 0) {
        phala_log(&d->px, CRABBOX_LOG_INFO, "%sremove claim lease=%s reason=missing Phala CVM",
                  dry_run ? "would " : "", rec->lease_id);
    }
    if (!dry_run) { phala_record_remove(dir, rec->lease_id); }
    return CRABBOX_OK;
}

int phala_cleanup(phala_drv *d, bool dry_run, crabbox_err *err)
{
    char dir[4096];
    char (*ids)[PHALA_LEASE_ID_LEN + 1] = NULL;
    size_t num = 0;
    phala_inventory inv = { NULL, 0, 0 };
    int64_t now = phala_wall_seconds();
    int rc;
    if ((rc = phala_record_dir(&d->px, dir, sizeof dir, err)) != CRABBOX_OK) { return rc; }
    if ((rc = phala_record_list(dir, &ids, &num, err)) != CRABBOX_OK) { return rc; }
    if (num > 0 && (rc = phala_inventory_fetch(&d->px, &inv, err)) != CRABBOX_OK) {
        free(ids);
        return rc;
    }
    for (size_t i = 0; i < num && rc == CRABBOX_OK; i++) {
        phala_record rec;
        crabbox_err rerr;
        int lock = phala_record_lock(dir, ids[i]);
        if (lock < 0) {
            phala_log(&d->px, CRABBOX_LOG_WARN, "skip lease=%s reason=busy", ids[i]);
            continue;
        }
        memset(&rerr, 0, sizeof rerr);
        rc = phala_record_read(dir, ids[i], &rec, &rerr);
        if (rc == CRABBOX_E_NOT_FOUND) { /* removed since we listed: drop our lock file */
            phala_record_remove(dir, ids[i]);
            rc = CRABBOX_OK;
        } else if (rc != CRABBOX_OK) {
            phala_log(&d->px, CRABBOX_LOG_WARN, "skip lease=%s reason=%s", ids[i], rerr.message);
            rc = CRABBOX_OK;
        } else {
            rc = sweep_one(d, dir, &rec, &inv, dry_run, now, err);
        }
        phala_record_unlock(lock);
    }
    free(ids);
    phala_inventory_cleanup(&inv);
    return rc;
}
