/* lifecycle.h — the lease lifecycle: a claim in the state directory moves through
 *
 *   intent (CLAIM_LEASED: written, and its lease lock held, before anything exists remotely)
 *     → create (the driver's warmup; CLAIM_PROVISIONING once the CVM exists)
 *     → verify (admission_verify; a refusal destroys the CVM, or keeps it CLAIM_FAILED with --keep)
 *     → ready (CLAIM_READY: sessions may open, each after a fresh verification)
 *     → release (CLAIM_RELEASING; the claim and the key go only once the CVM is gone)
 *
 * and every failure leaves a claim that says what `crabbox cleanup` must do (recovery=...).
 * The configuration arrives resolved, as a lease_request; the steps read no configuration. */
#ifndef CRABBOX_HOST_LIFECYCLE_H
#define CRABBOX_HOST_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "admission.h"
#include "host.h"

#define LEASE_DEPLOY_MAX (200u << 10) /* compose + pre-launch script limit (phala-provider.md §9) */

/* A new lease, as the configuration and the command line asked for it (lease_request_resolve). */
typedef struct lease_request {
    const char *class_name;    /* the class setting (recorded in the claim), or NULL */
    const char *driver_class;  /* the class the driver gets: NULL when an instance type flag came after
                                  --class (phala-provider.md §3) */
    const char *instance_type; /* --type, for the driver (which resolves instanceType itself), or NULL */
    const char *server_type;   /* --type, else instanceType, for the claim, or NULL */
    const char *slug;          /* --slug, or NULL for adjective-noun */
    int64_t ttl_secs, idle_secs;
    bool keep;                 /* --keep: keep the CVM after the command, and after a failure */
    cbx_buf compose;           /* the exact bytes deployed and later verified (owned; read once) */
    admission_policy admission;
} lease_request;

/* lease_request_resolve reads everything a new lease needs from the configuration, once: the
 * compose file (or the bundled one), class, type, slug, ttl, keep, the admission policy.
 * CRABBOX_OK, or an error (a bad compose setting: CRABBOX_E_USAGE). */
CBX_MUST_USE int lease_request_resolve(app *a, lease_request *out, crabbox_err *err);
void lease_request_free(lease_request *r); /* NULL-safe */

/* lifecycle_acquire takes a new lease from intent to ready. On success (0) *c is the ready claim,
 * *out_lease the driver's lease (driver->lease_free), *tok the session token and *lock_fd the held
 * (exclusive) lease lock. On failure it has reported the error and returns the exit status. */
int lifecycle_acquire(app *a, const lease_request *req, claim *c, crabbox_lease **out_lease,
                      crabbox_attest_token *tok, int *lock_fd);

/* lifecycle_open finds a ready lease by id or slug, takes its lock (shared) and re-verifies it
 * with fresh evidence (force: even when attestation is turned off). 0 with *tok minted and
 * *lock_fd held; else the exit status (reported). A lease whose evidence is rejected is refused
 * (destroyed, or kept with its claim's keep). */
int lifecycle_open(app *a, const admission_policy *adm, const char *id, bool force, claim *c, crabbox_lease *lease,
                   crabbox_attest_token *tok, int *lock_fd);

/* lifecycle_release destroys the lease's CVM and, only after that (or proof that it is gone),
 * drops the claim and the key (phala-provider.md §6). known: the driver's lease, or NULL to use
 * the claim's (or look an intent claim's CVM up). The caller holds the lease lock. */
CBX_MUST_USE int lifecycle_release(app *a, claim *c, const crabbox_lease *known, crabbox_err *err);

/* lifecycle_find: the claim for a lease id or slug in our scope; CRABBOX_E_NOT_FOUND otherwise. */
CBX_MUST_USE int lifecycle_find(app *a, const char *id, claim *out, crabbox_err *err);

/* lifecycle_unlock releases a lease lock (fd < 0: not held), removing the lock file when the
 * claim is gone. */
void lifecycle_unlock(app *a, const char *lease, int fd);

/* lifecycle_touch records activity on a lease (idle timeout) under its lock. */
void lifecycle_touch(app *a, claim *c);

/* lifecycle_forget drops the claim (a failure is a warning) and the lease directory. */
void lifecycle_forget(app *a, const claim *c);

/* lifecycle_remove_files removes the lease directory (key, compose, script, known_hosts). */
void lifecycle_remove_files(app *a, const claim *c);

#endif
