/* entry.c — the phala driver's descriptor, open/close and the frees (drivers/include/crabbox/
 * driver.h). The only exported symbol of the plugin is crabbox_driver_entry (phala.map). */
#include <stdlib.h>
#include <string.h>

#include "phala.h"

static const char *config_value(const crabbox_host *h, const char *key)
{
    const char *v = h->config != NULL ? h->config(h->ctx, key) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int check_host(const crabbox_host *host, crabbox_err *err)
{
    if (host == NULL || host->abi_version != CRABBOX_DRIVER_ABI_VERSION ||
        !CRABBOX_HAS_MEMBER(crabbox_host, host, token_check)) {
        return phala_fail(err, CRABBOX_E_ABI,
                          "phala: host ABI version %u / struct size %u not supported (want %u)",
                          host != NULL ? host->abi_version : 0u, host != NULL ? host->struct_size : 0u,
                          CRABBOX_DRIVER_ABI_VERSION);
    }
    if (host->spawn == NULL || host->output_free == NULL || host->now_ms == NULL ||
        host->state_dir == NULL || host->config == NULL) {
        return phala_fail(err, CRABBOX_E_ABI, "phala: the host lacks spawn, output_free, now_ms, "
                                              "state_dir or config");
    }
    return CRABBOX_OK;
}

/* read_settings: the configuration's strings, and the defaults. */
static void read_settings(phala_drv *d, const crabbox_host *host)
{
    d->px.host = host;
    d->px.cli = config_value(host, "cli");
    if (d->px.cli == NULL) { d->px.cli = "phala"; }
    d->instance_type = config_value(host, "instanceType");
    d->node_id = config_value(host, "nodeId");
    d->work_root = config_value(host, "workRoot");
    if (d->work_root == NULL) { d->work_root = "/var/volatile/crabbox"; }
    d->adopt_window_ms = 30000;
    d->adopt_step_ms = 250;
    d->ca_bundle = config_value(host, "caBundle");
    d->proxy = config_value(host, "proxy");
    d->ssh_wait_ms = PHALA_SSH_WAIT_MS;
    d->ssh_step_ms = PHALA_SSH_STEP_MS;
    d->evidence_ms = PHALA_T_EVIDENCE_MS;
    d->ssh_op_ms = PHALA_T_SSH_OP_MS;
}

/* read_durations: whole seconds, bounded; the defaults are those of phala-provider.md §5/§7.
 * The caps exist so that a hung CLI or guest agent fails in seconds where that matters (tests,
 * CI); they never lengthen a default deadline. */
static int read_durations(phala_drv *d, const crabbox_host *host, crabbox_err *err)
{
    int64_t cli_cap = 0, adopt = 0, evidence = 0, keepalive = 0;
    const struct {
        const char *key;
        int64_t lo;
        int64_t *out;
    } durations[] = {
        { "sshWaitSeconds", 0, &d->ssh_wait_ms },
        { "cliTimeoutSeconds", 1, &cli_cap },
        { "adoptWaitSeconds", 1, &adopt },
        { "evidenceTimeoutSeconds", 1, &evidence },
        { "sshKeepaliveSeconds", 1, &keepalive },
    };
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        const char *v = config_value(host, durations[i].key);
        if (v != NULL && !phala_seconds_parse(v, durations[i].lo, PHALA_CFG_MAX_SECONDS, durations[i].out)) {
            return phala_fail(err, CRABBOX_E_USAGE, "phala: %s must be a whole number of seconds, %lld..%d",
                              durations[i].key, (long long)durations[i].lo, PHALA_CFG_MAX_SECONDS);
        }
    }
    d->px.cli_timeout_cap_ms = cli_cap;
    d->ssh_keepalive_ms = keepalive == 0 ? 60000 : keepalive > 600000 ? 600000 : keepalive;
    if (adopt > 0) { d->adopt_window_ms = adopt; }
    if (evidence > 0) {
        d->evidence_ms = evidence;
        if (d->ssh_op_ms > evidence) { d->ssh_op_ms = evidence; }
    }
    return CRABBOX_OK;
}

/* check_settings refuses settings a deploy or a session must not use. */
static int check_settings(phala_drv *d, const crabbox_host *host, crabbox_err *err)
{
    /* Phala's deploy makes container logs and system info public (the agent's port 8090)
     * unless told otherwise: crabbox deploys with both off unless the user opts in. */
    const char *pl = config_value(host, "publicLogs"), *ps = config_value(host, "publicSysinfo");
    char type[32];
    if ((pl != NULL && !phala_bool_parse(pl, &d->public_logs)) ||
        (ps != NULL && !phala_bool_parse(ps, &d->public_sysinfo))) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: publicLogs and publicSysinfo must be true or false");
    }
    if (d->ca_bundle != NULL && d->ca_bundle[0] != '/') {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: caBundle must be an absolute path");
    }
    if (d->proxy != NULL && d->proxy[0] != '/') {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: proxy must be an absolute path");
    }
    if (d->instance_type != NULL && !phala_instance_type_normalize(type, sizeof type, d->instance_type)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid instanceType in the configuration");
    }
    if (d->node_id != NULL && !phala_node_id_valid(d->node_id)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: nodeId must be a number (the CLI's --node-id is numeric)");
    }
    if (!phala_work_root_valid(d->work_root)) {
        return phala_fail(err, CRABBOX_E_USAGE,
                          "phala: workRoot must be an absolute normalised path below a system "
                          "directory (default /var/volatile/crabbox)");
    }
    return CRABBOX_OK;
}

static int drv_open(const crabbox_host *host, void **out_drv, crabbox_err *err)
{
    phala_drv *d;
    int rc;
    *out_drv = NULL;
    if ((rc = check_host(host, err)) != CRABBOX_OK) { return rc; }
    d = calloc(1, sizeof *d);
    if (d == NULL) { return phala_fail(err, CRABBOX_E_FAILED, "phala: out of memory"); }
    read_settings(d, host);
    if ((rc = read_durations(d, host, err)) != CRABBOX_OK || (rc = check_settings(d, host, err)) != CRABBOX_OK) {
        free(d);
        return rc;
    }
    *out_drv = d;
    return CRABBOX_OK;
}

static void drv_close(void *drv)
{
    free(drv);
}

static int drv_warmup(void *drv, const crabbox_lease_spec *spec, crabbox_lease **out,
                      crabbox_err *err)
{
    return phala_warmup(drv, spec, out, err);
}

static int drv_fetch_evidence(void *drv, const crabbox_lease *lease, const uint8_t nonce[32],
                              crabbox_evidence **out, crabbox_err *err)
{
    return phala_fetch_evidence(drv, lease, nonce, out, err);
}

static int drv_open_session(void *drv, const crabbox_lease *lease,
                            const crabbox_attest_token *token, crabbox_session **out,
                            crabbox_err *err)
{
    return phala_open_session(drv, lease, token, out, err);
}

static int drv_list(void *drv, crabbox_lease_list **out, crabbox_err *err)
{
    return phala_list(drv, out, err);
}

static int drv_destroy(void *drv, const crabbox_lease *lease, crabbox_err *err)
{
    return phala_destroy(drv, lease, err);
}

static int drv_doctor(void *drv, char *summary, size_t summary_len, crabbox_err *err)
{
    return phala_doctor(drv, summary, summary_len, err);
}

static int drv_cleanup(void *drv, bool dry_run, crabbox_err *err)
{
    return phala_cleanup(drv, dry_run, err);
}

static void drv_lease_free(void *drv, crabbox_lease *lease)
{
    free(lease); /* driver_data is never set by this driver */
}

static void drv_lease_list_free(void *drv, crabbox_lease_list *list)
{
    if (list == NULL) { return; }
    free(list->items);
    free(list);
}

static void drv_evidence_free(void *drv, crabbox_evidence *ev)
{
    if (ev == NULL) { return; }
    if (ev->info_json != NULL) { explicit_bzero(ev->info_json, ev->info_json_len); }
    if (ev->quote != NULL) { explicit_bzero(ev->quote, ev->quote_len); }
    free(ev->info_json);
    free(ev->quote);
    free(ev->quote_event_log);
    free(ev->host_key);
    explicit_bzero(ev, sizeof *ev);
    free(ev);
}

static void drv_session_free(void *drv, crabbox_session *s)
{
    phala_session_free(s);
}

static const char *const k_aliases[] = { "phala-cloud", "dstack", NULL };

/* phala-provider.md §3: `cli` and `nodeId` choose what runs locally and where a CVM lands, so a
 * repository config file cannot set them. `attest` and `compose` belong to the host. */
static const crabbox_config_key k_config_keys[] = {
    { "cli", CRABBOX_KEY_TRUSTED_ONLY },
    { "instanceType", 0 },
    { "workRoot", 0 },
    { "nodeId", CRABBOX_KEY_TRUSTED_ONLY },
    /* The data plane: what TLS trusts and what runs as the ProxyCommand are trusted-only. */
    { "caBundle", CRABBOX_KEY_TRUSTED_ONLY },
    { "proxy", CRABBOX_KEY_TRUSTED_ONLY },
    { "sshWaitSeconds", 0 },
    /* Deadline caps (seconds): every phala CLI call, the adoption poll after an ambiguous
     * deploy, the guest-agent exchange and each SSH operation. */
    { "cliTimeoutSeconds", 0 },
    { "adoptWaitSeconds", 0 },
    { "evidenceTimeoutSeconds", 0 },
    /* Opt-ins to Phala's public container logs / system info: a repository cannot publish them. */
    /* ServerAliveInterval of sessions: the dstack gateway cuts 10 idle minutes (at most 600). */
    { "sshKeepaliveSeconds", 0 },
    { "publicLogs", CRABBOX_KEY_TRUSTED_ONLY },
    { "publicSysinfo", CRABBOX_KEY_TRUSTED_ONLY },
    { NULL, 0 },
};

/* What the phala CLI reads from its environment (§9): the API key travels only this way, never
 * on argv. HOME locates the default profile (~/.phala-cloud). */
static const char *const k_env_passthrough[] = {
    "PHALA_CLOUD_API_KEY", "PHALA_CLOUD_DIR",     "PHALA_CLOUD_API_PREFIX",
    "PHALA_DISABLE_UPDATE_CHECK", "HOME",       "NODE_EXTRA_CA_CERTS",
    NULL,
};

static const crabbox_driver k_driver = {
    .abi_version = CRABBOX_DRIVER_ABI_VERSION,
    .struct_size = sizeof(crabbox_driver),
    .name = "phala",
    .aliases = k_aliases,
    /* FRESH_QUOTE: the host then refuses evidence without a fresh quote, so an endpoint that
     * pretends to have no quote call cannot downgrade to a replayable Info quote. */
    .capabilities = CRABBOX_CAP_FRESH_QUOTE | CRABBOX_CAP_PROXY,
    .open = drv_open,
    .close = drv_close,
    .warmup = drv_warmup,
    .fetch_evidence = drv_fetch_evidence,
    .open_session = drv_open_session,
    .list = drv_list,
    .destroy = drv_destroy,
    .doctor = drv_doctor,
    .cleanup = drv_cleanup,
    .lease_free = drv_lease_free,
    .lease_list_free = drv_lease_list_free,
    .evidence_free = drv_evidence_free,
    .session_free = drv_session_free,
    .config_keys = k_config_keys,
    .env_passthrough = k_env_passthrough,
};

CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entry(uint32_t host_abi_version);

CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entry(uint32_t host_abi_version)
{
    return host_abi_version == CRABBOX_DRIVER_ABI_VERSION ? &k_driver : NULL;
}
