/* doctor.c — `crabbox doctor`: the driver's own check, the settings and their sources, the
 * effective verifier policy, and what to do next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admission.h"
#include "host.h"
#include "sha2.h"
#include "spawnsvc.h"

static void print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
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

/* driver_doctor runs the driver's doctor; a failure is reported with what to do next. */
static int driver_doctor(app *a, char *summary, size_t summary_len)
{
    crabbox_err err = { 0 };
    int rc = a->d->doctor(a->drv, summary, summary_len, &err);
    if (rc != CRABBOX_OK) {
        crabbox_err with_next = err;
        int code = err.code != CRABBOX_OK ? err.code : rc;
        snprintf(with_next.message, sizeof with_next.message, "%.360s; next: %.140s", err.message, doctor_next(code));
        with_next.code = code;
        return report_failure(a, &with_next);
    }
    summary[summary_len - 1] = '\0';
    return CBX_EXIT_OK;
}

static const crabbox_config_key *driver_keys(const app *a)
{
    const crabbox_config_key *keys = NULL;
    if (CRABBOX_HAS_MEMBER(crabbox_driver, a->d, config_keys)) { keys = a->d->config_keys; }
    return keys != NULL ? keys : config_builtin_keys(a->d->name);
}

static void print_doctor_json(app *a, const char *summary, const char *keygen_path, const tc_policy *vpol)
{
    json_object *o = json_object_new_object(), *drv = json_object_new_object(), *w = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(keygen_path != NULL));
    json_object_object_add(drv, "name", json_object_new_string(a->d->name));
    json_object_object_add(drv, "path", json_object_new_string(a->ld.path));
    json_object_object_add(drv, "abi_version", json_object_new_int((int32_t)a->d->abi_version));
    json_object_object_add(o, "driver", drv);
    json_object_object_add(o, "summary", json_object_new_string(summary));
    json_object_object_add(o, "state_dir", json_object_new_string(a->st.root));
    json_object_object_add(o, "ssh_keygen", keygen_path != NULL ? json_object_new_string(keygen_path) : NULL);
    json_object_object_add(o, "attest", json_object_new_boolean(attest_on(a)));
    json_object_object_add(o, "collateral", json_object_new_boolean(a->collateral.data != NULL));
    json_object_object_add(o, "config", config_json(a, driver_keys(a)));
    json_object_object_add(w, "library", json_object_new_string(cba_crypto_library()));
    json_object_object_add(w, "options", json_object_new_string(cba_crypto_config()));
    json_object_object_add(o, "wolfssl", w);
    json_object_object_add(o, "policy", policy_json(vpol));
    print_json(o);
    json_object_put(o);
}

static void print_doctor_text(app *a, const char *summary, bool have_keygen, const tc_policy *vpol)
{
    char policy_summary[400];
    printf("driver=%s path=%s abi=%u state_dir=%s ssh_keygen=%s attest=%s collateral=%s\n", a->d->name, a->ld.path,
           a->d->abi_version, a->st.root, have_keygen ? "ready" : "missing", attest_on(a) ? "on" : "OFF",
           a->collateral.data != NULL ? "given" : "none (DCAP skipped)");
    printf("%s runtime=%s\n", summary, a->d->name);
    printf("%s (%s)\n", cba_crypto_library(), cba_crypto_config());
    tc_policy_describe(vpol, policy_summary, sizeof policy_summary);
    printf("verifier policy: %s\n", policy_summary[0] != '\0' ? policy_summary : "default (UpToDate only, no pins)");
}

int cmd_doctor(app *a)
{
    char summary[512] = "", keygen_path[PATH_MAX];
    tc_policy *vpol;
    crabbox_err err = { 0 };
    bool have_keygen = spawn_resolve("ssh-keygen", getenv("PATH"), keygen_path, sizeof keygen_path);
    int status = driver_doctor(a, summary, sizeof summary);
    if (status != CBX_EXIT_OK) { return status; }
    vpol = malloc(sizeof *vpol);
    if (vpol == NULL) { return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL); }
    if (config_policy(&a->cfg, vpol, &err) != CRABBOX_OK) {
        free(vpol);
        return report_failure(a, &err);
    }
    if (a->json) {
        print_doctor_json(a, summary, have_keygen ? keygen_path : NULL, vpol);
    } else {
        print_doctor_text(a, summary, have_keygen, vpol);
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
