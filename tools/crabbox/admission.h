/* admission.h — whether a lease may be used: the gate (gate.h) run with the user's policy, the
 * labels it earns, the evidence bundle, the known_hosts pin, the measurement pins and the check
 * of root's keys.
 *
 * The configuration it needs is resolved once per command (admission_resolve) into an
 * admission_policy; verification then reads no configuration. */
#ifndef CRABBOX_HOST_ADMISSION_H
#define CRABBOX_HOST_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attestlib.h"
#include "host.h"
#include "policy.h"

typedef struct admission_policy {
    bool attest;                   /* attestation on (setting "attest"; off only by a user's choice) */
    const char *attest_where;      /* where that setting came from */
    tc_policy *verifier_settings;  /* the user's verifier policy (config_policy; owned) */
    cba_policy verifier_policy;    /* verifier_settings applied (points into it) */
    char policy_summary[400];      /* tc_policy_describe, "" for the default */
    crabbox_err policy_error;      /* code != CRABBOX_OK: config_policy failed (reported on verification) */
    const uint8_t *collateral;     /* --collateral / collateral: FILE (borrowed from app), or NULL */
    size_t collateral_len;
    const char *collateral_source;
    bool require_collateral;       /* no collateral = rejected (the default) */
    bool collateral_fetch;         /* collateralFetch: look collateral up when none was given */
    collateral_fetch_cfg fetch;    /* how to look it up */
    bool allow_info_only;          /* allowInfoOnlyAttestation */
    bool accept_phala_default_script; /* acceptPhalaDefaultPreLaunchScript */
    bool measurements_configured;  /* trusted config allow-lists MRTD and RTMR0-2: no first-use pins */
} admission_policy;

/* admission_resolve reads the settings above from a->cfg (and the files app_setup loaded).
 * Never fails: a bad verifier policy is kept in policy_error and refuses verification. */
void admission_resolve(app *a, admission_policy *out);
void admission_free(admission_policy *p); /* NULL-safe */

/* admission_attest_on: the "attest" setting (default on); *where names its source. */
bool admission_attest_on(app *a, const char **where);

/* The exact bytes deployed with a lease, when the caller holds them (acquire). */
typedef struct deployed_inputs {
    const uint8_t *compose;
    size_t compose_len;
    const uint8_t *pre_launch_script; /* NULL: none */
    size_t pre_launch_script_len;
} deployed_inputs;

/* admission_verify runs the gate on a lease (or, unless force, mints an opt-out token when the
 * user turned attestation off), labels the claim, saves the bundle, pins the host key and the
 * measurements and checks root's keys. `deployed` NULL: read the lease directory's compose.yml
 * and pre-launch.sh. CRABBOX_OK with *tok minted, CRABBOX_E_ATTESTATION (rejected:
 * *failed_check set) or a fetch error. The caller decides what happens to a rejected lease. */
int admission_verify(app *a, const admission_policy *p, claim *c, const crabbox_lease *lease,
                     const deployed_inputs *deployed, bool force, crabbox_attest_token *tok,
                     const char **failed_check, crabbox_err *err);

/* admission_pin_unbound: the lease's known_hosts holds a key that no quote bound (pinned under
 * allowInfoOnlyAttestation); a session must then run with the same opt-in. */
bool admission_pin_unbound(const claim *c);

#endif
