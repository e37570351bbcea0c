/* hostsvc.c — app setup and the services table the host hands to its driver. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "host.h"
#include "spawnsvc.h"

/* The installed drivers, relative to the directory of the crabbox executable (bindir ->
 * libdir/crabbox/drivers): an installed prefix can move without rebuilding. */
#ifndef CRABBOX_DRIVER_RELDIR
#define CRABBOX_DRIVER_RELDIR "../lib/crabbox/drivers"
#endif

/* Variables every spawned program gets (when set): locale, time zone, identity, terminal. */
static const char *const k_base_env[] = { "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE",
                                          "TZ", "TMPDIR", "TERM", NULL };
/* For a phala driver that does not declare env_passthrough (phala-provider.md §9): the CLI
 * authenticates itself from these; we never put a key on argv. */
static const char *const k_phala_env[] = { "PHALA_CLOUD_API_KEY", "PHALA_CLOUD_DIR", "PHALA_CLOUD_API_PREFIX",
                                           "PHALA_DISABLE_UPDATE_CHECK", "CI", "SSL_CERT_FILE", "SSL_CERT_DIR",
                                           "NODE_EXTRA_CA_CERTS", NULL };

int exit_code(int code)
{
    switch (code) {
    case CRABBOX_OK: return CBX_EXIT_OK;
    case CRABBOX_E_USAGE:
    case CRABBOX_E_ABI:
    case CRABBOX_E_UNSUPPORTED: return CBX_EXIT_USAGE;
    case CRABBOX_E_ATTESTATION: return CBX_EXIT_ATTESTATION;
    case CRABBOX_E_NOT_FOUND: return CBX_EXIT_NOT_FOUND;
    case CRABBOX_E_MALFORMED:
    case CRABBOX_E_TIMEOUT: return CBX_EXIT_MALFORMED;
    case CRABBOX_E_CANCELLED: return CBX_EXIT_CANCELLED;
    default: return CBX_EXIT_FAILURE;
    }
}

static const char *code_name(int code)
{
    static const char *const names[] = { "ok", "failed", "usage", "attestation", "not_found", "malformed",
                                         "timeout", "cancelled", "auth", "quota", "transient", "unsupported", "abi" };
    return code >= 0 && (size_t)code < sizeof names / sizeof names[0] ? names[code] : "failed";
}

int report_error(app *a, int code, const char *msg, const char *failed_check)
{
    int status = exit_code(code);
    fprintf(stderr, "crabbox: %s\n", msg);
    if (a != NULL && a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "error", json_object_new_string(msg));
        json_object_object_add(o, "code", json_object_new_string(code_name(code)));
        json_object_object_add(o, "exit", json_object_new_int(status));
        json_object_object_add(o, "failed_check", failed_check != NULL ? json_object_new_string(failed_check) : NULL);
        json_object_object_add(o, "message", json_object_new_string(msg)); /* the shape crabbox-attest shares */
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    }
    return status;
}

int report_failure(app *a, const crabbox_err *err)
{
    return report_error(a, err->code != CRABBOX_OK ? err->code : CRABBOX_E_FAILED, err->message, NULL);
}

/* ---- services ---------------------------------------------------------------------------------- */

static void h_log(void *ctx, int level, const char *msg)
{
    app *a = ctx;
    if (level == CRABBOX_LOG_DEBUG && !a->verbose) { return; }
    fprintf(stderr, "%s%s\n",
            level >= CRABBOX_LOG_ERROR ? "error: " : level == CRABBOX_LOG_WARN ? "warning: " : "", msg);
}

static void h_progress(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "crabbox: %s\n", msg); /* the program's own name, as on error lines */
}

static const char *h_config(void *ctx, const char *key)
{
    app *a = ctx;
    return key != NULL ? config_get(&a->cfg, a->d->name, key, NULL) : NULL;
}

static const char *h_state_dir(void *ctx)
{
    app *a = ctx;
    return a->st.root;
}

static int64_t h_now_ms(void *ctx)
{
    (void)ctx;
    return cbx_now_ms();
}

/* host_cancel_poll turns a pending SIGINT/SIGTERM into the sticky cancel_seen flag, consuming the
 * signal. Why: a pending signal makes the spawn service kill every child at once, so a driver could
 * not run the deletes of a rollback after an interrupt (its CVM would stay behind). Once consumed,
 * the first signal cancels what is running and is reported by host->cancelled; programs spawned
 * afterwards (rollback, destroy) run, and a second signal interrupts those too. */
bool host_cancel_poll(app *a)
{
    if (spawn_cancel_pending(&a->cancel)) {
        const struct timespec zero = { 0, 0 };
        while (sigtimedwait(&a->cancel, NULL, &zero) > 0) {}
        a->cancel_seen = true;
    }
    return a->cancel_seen;
}

static bool h_cancelled(void *ctx)
{
    return host_cancel_poll(ctx);
}

static void h_output_free(void *ctx, crabbox_output *out)
{
    (void)ctx;
    spawn_output_free(out);
}

static bool h_token_check(void *ctx, const char *lease_id, const uint8_t *host_key, size_t host_key_len,
                          const crabbox_attest_token *token)
{
    app *a = ctx;
    return gate_token_check(&a->keys, lease_id, host_key, host_key_len, token);
}

static const char *env_value(const app *a, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; a->env != NULL && a->env[i] != NULL; i++) {
        if (strncmp(a->env[i], name, n) == 0 && a->env[i][n] == '=') { return a->env[i] + n + 1; }
    }
    return NULL;
}

static int spawn_with_env(app *a, char **envp, const char *const argv[], const crabbox_spawn_opts *opts,
                          crabbox_output *out, crabbox_err *err)
{
    char prog[PATH_MAX];
    const char **av;
    size_t n = 0;
    spawn_req req = { .envp = (const char *const *)envp, .cancel = &a->cancel };
    int rc;

    memset(out, 0, sizeof *out);
    if (argv == NULL || argv[0] == NULL) { return cbx_set_err(err, CRABBOX_E_USAGE, "spawn: empty argv"); }
    (void)host_cancel_poll(a); /* an earlier interrupt does not kill this program; a new one does */
    if (!spawn_resolve(argv[0], env_value(a, "PATH"), prog, sizeof prog)) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "cannot find the program %.200s (an absolute path, or a name in PATH)",
                           argv[0]);
    }
    while (argv[n] != NULL) { n++; }
    av = calloc(n + 1, sizeof *av);
    if (av == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
    av[0] = prog;
    for (size_t i = 1; i < n; i++) { av[i] = argv[i]; }
    req.argv = av;
    if (opts != NULL && CRABBOX_HAS_MEMBER(crabbox_spawn_opts, opts, stdin_len)) {
        req.deadline_ms = opts->deadline_ms;
        req.max_output = opts->max_output;
        req.stderr_to_user = opts->stderr_to_user;
        req.stdin_data = opts->stdin_data;
        req.stdin_len = opts->stdin_len;
    }
    if (opts != NULL && CRABBOX_HAS_MEMBER(crabbox_spawn_opts, opts, cwd) && opts->cwd != NULL) {
        /* The driver's private working directory (the phala CLI reads ./phala.toml). */
        struct stat st;
        if (opts->cwd[0] != '/' || stat(opts->cwd, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(av);
            return cbx_set_err(err, CRABBOX_E_USAGE,
                               "spawn %.200s: the working directory must be an existing absolute directory",
                               argv[0]);
        }
        req.cwd = opts->cwd;
    }
    req.progress = h_progress;
    req.progress_ctx = a;
    req.progress_every_ms = 15000; /* a progress line every 15 s of a long wait */
    if (a->verbose) { fprintf(stderr, "debug: spawn %s (%zu arguments)\n", prog, n - 1); }
    rc = spawn_run(&req, out, err);
    free(av);
    if (rc == CRABBOX_OK && out->timed_out) {
        spawn_output_free(out);
        return cbx_set_err(err, CRABBOX_E_TIMEOUT, "%.200s did not finish before its deadline", argv[0]);
    }
    return rc;
}

int host_spawn(void *ctx, const char *const argv[], const crabbox_spawn_opts *opts, crabbox_output *out,
               crabbox_err *err)
{
    app *a = ctx;
    return spawn_with_env(a, a->env, argv, opts, out, err);
}

int host_spawn_plain(app *a, const char *const argv[], const crabbox_spawn_opts *opts, crabbox_output *out,
                     crabbox_err *err)
{
    return spawn_with_env(a, a->session_env, argv, opts, out, err);
}

int host_run_interactive(app *a, const char *const argv[], crabbox_err *err)
{
    return host_run_session(a, argv, NULL, 0, err);
}

int host_run_session(app *a, const char *const argv[], const uint8_t *stdin_data, size_t stdin_len, crabbox_err *err)
{
    char prog[PATH_MAX];
    const char **av;
    size_t n = 0;
    crabbox_output out;
    /* Session programs (ssh, rsync, the proxy they start) get the base environment only: the
     * provider's credentials are for the driver's CLI, not for them. */
    spawn_req req = { .envp = (const char *const *)a->session_env, .interactive = stdin_data == NULL,
                      .stdin_data = stdin_data, .stdin_len = stdin_len, .stderr_to_user = true,
                      .cancel = &a->cancel };
    int rc;
    if (argv == NULL || argv[0] == NULL || !spawn_resolve(argv[0], env_value(a, "PATH"), prog, sizeof prog)) {
        cbx_set_err(err, CRABBOX_E_USAGE, "cannot find the session program %.200s", argv != NULL && argv[0] ? argv[0] : "");
        return -1;
    }
    while (argv[n] != NULL) { n++; }
    av = calloc(n + 1, sizeof *av);
    if (av == NULL) {
        cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
        return -1;
    }
    av[0] = prog;
    for (size_t i = 1; i < n; i++) { av[i] = argv[i]; }
    req.argv = av;
    fflush(stdout);
    rc = spawn_run(&req, &out, err);
    free(av);
    if (rc == CRABBOX_OK && stdin_data != NULL) {
        int status = out.timed_out ? -1 : out.exit_status;
        if (out.timed_out) { cbx_set_err(err, CRABBOX_E_TIMEOUT, "%.200s did not finish before its deadline", argv[0]); }
        spawn_output_free(&out);
        return status;
    }
    return rc == CRABBOX_OK ? out.exit_status : -1;
}

/* ---- setup ------------------------------------------------------------------------------------ */

static bool add_env(char ***env, size_t *n, size_t *cap, const char *name)
{
    const char *v = getenv(name);
    char *entry;
    if (v == NULL) { return true; }
    for (size_t i = 0; i < *n; i++) {
        if (strncmp((*env)[i], name, strlen(name)) == 0 && (*env)[i][strlen(name)] == '=') { return true; }
    }
    if (*n + 2 > *cap) {
        size_t ncap = *cap == 0 ? 16 : *cap * 2;
        char **ne = realloc(*env, ncap * sizeof *ne);
        if (ne == NULL) { return false; }
        *env = ne;
        *cap = ncap;
    }
    entry = malloc(strlen(name) + strlen(v) + 2);
    if (entry == NULL) { return false; }
    sprintf(entry, "%s=%s", name, v);
    (*env)[(*n)++] = entry;
    (*env)[*n] = NULL;
    return true;
}

static bool build_env(app *a)
{
    size_t n = 0, cap = 0;
    char **env = NULL;
    const char *const *extra = NULL;
    bool ok = true;
    if (CRABBOX_HAS_MEMBER(crabbox_driver, a->d, env_passthrough) && a->d->env_passthrough != NULL) {
        extra = a->d->env_passthrough;
    } else if (strcmp(a->d->name, "phala") == 0) {
        extra = k_phala_env;
    }
    for (size_t i = 0; ok && k_base_env[i] != NULL; i++) { ok = add_env(&env, &n, &cap, k_base_env[i]); }
    for (size_t i = 0; ok && extra != NULL && extra[i] != NULL; i++) { ok = add_env(&env, &n, &cap, extra[i]); }
    if (ok && env == NULL) {
        env = calloc(1, sizeof *env);
        ok = env != NULL;
    }
    a->env = env;
    n = cap = 0;
    env = NULL;
    for (size_t i = 0; ok && k_base_env[i] != NULL; i++) { ok = add_env(&env, &n, &cap, k_base_env[i]); }
    if (ok && env == NULL) {
        env = calloc(1, sizeof *env);
        ok = env != NULL;
    }
    a->session_env = env;
    return ok;
}

/* install_driver_dir returns <directory of this executable>/CRABBOX_DRIVER_RELDIR in out
 * (PATH_MAX bytes), resolved when it exists; NULL when it cannot be built (no /proc): then only
 * CRABBOX_DRIVER_PATH is searched. The loader still checks every file it opens (owner, modes). */
static const char *install_driver_dir(char out[PATH_MAX])
{
    char exe[PATH_MAX], joined[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    int w;
    if (n <= 0 || (size_t)n >= sizeof exe - 1) { return NULL; }
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (exe[0] != '/' || slash == NULL) { return NULL; }
    *slash = '\0';
    w = snprintf(joined, sizeof joined, "%s/%s", exe, CRABBOX_DRIVER_RELDIR);
    if (w < 0 || (size_t)w >= sizeof joined) { return NULL; }
    if (realpath(joined, out) == NULL) { memcpy(out, joined, (size_t)w + 1); }
    return out;
}

static bool other_block_ok(void *arg, const char *name)
{
    char dir[PATH_MAX];
    (void)arg;
    return loader_driver_exists(name, getenv("CRABBOX_DRIVER_PATH"), install_driver_dir(dir)) ||
           config_builtin_keys(name) != NULL;
}

static const char *env_getter(const char *name)
{
    return getenv(name);
}

static int load_side_file(const char *what, const char *path, size_t cap, cbx_buf *out, crabbox_err *err)
{
    int e = cbx_read_file(path, cap, false, out);
    if (e != 0) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "%s %s: %s", what, path,
                           e == EFBIG ? "too large" : e == EINVAL ? "not a regular file" : strerror(e));
    }
    return CRABBOX_OK;
}

/* load_config_and_driver reads the configuration files, the environment and the flags for the driver named
 * by `provider`, and loads that driver. */
static int load_config_and_driver(app *a, crabbox_err *err)
{
    char cwd[PATH_MAX], drv_dir[PATH_MAX];
    const char *provider;
    const crabbox_config_key *keys = NULL;
    int rc = config_load_files(&a->cfg, getenv("XDG_CONFIG_HOME"), getenv("HOME"),
                               getcwd(cwd, sizeof cwd) != NULL ? cwd : NULL, getenv("CRABBOX_CONFIG"), err);
    if (rc != CRABBOX_OK) { return rc; }
    rc = config_load_host_env(&a->cfg, env_getter, err);
    if (rc != CRABBOX_OK) { return rc; }
    provider = config_get(&a->cfg, NULL, "provider", NULL);
    if (provider == NULL) { provider = "phala"; }
    rc = loader_find(&a->ld, provider, getenv("CRABBOX_DRIVER_PATH"), install_driver_dir(drv_dir), err);
    if (rc != CRABBOX_OK) { return rc; }
    a->d = a->ld.d;
    if (CRABBOX_HAS_MEMBER(crabbox_driver, a->d, config_keys)) { keys = a->d->config_keys; }
    if (keys == NULL) { keys = config_builtin_keys(a->d->name); }
    rc = config_load_driver_env(&a->cfg, a->d->name, keys, env_getter, err);
    if (rc == CRABBOX_OK) { rc = config_add_driver_flags(&a->cfg, a->d->name, keys, a->flags, a->num_flags, err); }
    if (rc == CRABBOX_OK) { rc = config_validate(&a->cfg, a->d->name, keys, other_block_ok, NULL, err); }
    return rc;
}

/* resolve_names_and_times: the driver's display name, its CVM key, the scope, ttl, idle timeout
 * and requireCollateral. */
static int resolve_names_and_times(app *a, crabbox_err *err)
{
    const char *v;
    snprintf(a->display, sizeof a->display, "%s", a->d->name);
    a->display[0] = (char)toupper((unsigned char)a->display[0]);
    snprintf(a->cvm_key, sizeof a->cvm_key, "%s_cvm", a->d->name);
    v = config_get(&a->cfg, a->d->name, "nodeId", NULL);
    if (v != NULL) { snprintf(a->scope, sizeof a->scope, "node:%.80s", v); }
    a->ttl = 90 * 60;
    a->idle = 30 * 60;
    v = config_get(&a->cfg, NULL, "ttl", NULL);
    if (v != NULL && !cbx_parse_duration(v, &a->ttl)) { return cbx_set_err(err, CRABBOX_E_USAGE, "bad ttl"); }
    v = config_get(&a->cfg, NULL, "idleTimeout", NULL);
    if (v != NULL && !cbx_parse_duration(v, &a->idle)) { return cbx_set_err(err, CRABBOX_E_USAGE, "bad idle timeout"); }
    /* Fail closed: no verified collateral, no lease, unless a trusted source says otherwise. */
    a->require_collateral = config_get_bool(&a->cfg, NULL, "requireCollateral", true);
    return CRABBOX_OK;
}

/* load_side_files reads the collateral file and the TEST ONLY trust root, when given. */
static int load_side_files(app *a, crabbox_err *err)
{
    const char *v = config_get(&a->cfg, NULL, "collateral", NULL);
    int rc;
    if (v != NULL) {
        rc = load_side_file("collateral", v, GATE_MAX_INFO, &a->collateral, err);
        if (rc != CRABBOX_OK) { return rc; }
        snprintf(a->collateral_source, sizeof a->collateral_source, "file:%s", v);
    }
    v = a->trust_root_path != NULL ? a->trust_root_path : getenv("CRABBOX_TEST_TRUST_ROOT");
    if (v == NULL || v[0] == '\0') { return CRABBOX_OK; }
    rc = load_side_file("trust root", v, 65536, &a->trust_root, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (a->trust_root.len < 2 || a->trust_root.data[0] != 0x30) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "trust root %s: expected one DER certificate", v);
    }
    fprintf(stderr, "WARNING: TEST ONLY trust root %s: attestation verdicts are NOT anchored in Intel's SGX "
                    "Root CA\n", v);
    return CRABBOX_OK;
}

/* open_driver hands the driver its services table and opens it. */
static int open_driver(app *a, crabbox_err *err)
{
    int rc;
    a->host = (crabbox_host){
        .abi_version = CRABBOX_DRIVER_ABI_VERSION,
        .struct_size = sizeof(crabbox_host),
        .ctx = a,
        .log = h_log,
        .progress = h_progress,
        .config = h_config,
        .state_dir = h_state_dir,
        .now_ms = h_now_ms,
        .cancelled = h_cancelled,
        .spawn = host_spawn,
        .output_free = h_output_free,
        .token_check = h_token_check,
    };
    memset(err, 0, sizeof *err);
    rc = a->d->open(&a->host, &a->drv, err);
    if (rc != CRABBOX_OK) {
        a->drv = NULL;
        if (err->message[0] == '\0') { cbx_set_err(err, rc, "driver %s failed to open", a->d->name); }
    }
    return rc;
}

int app_setup(app *a, crabbox_err *err)
{
    int rc;
    sigemptyset(&a->cancel);
    sigaddset(&a->cancel, SIGINT);
    sigaddset(&a->cancel, SIGTERM);
    /* Cancellation without globals: the signals stay pending and are polled (host->cancelled). */
    sigprocmask(SIG_BLOCK, &a->cancel, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = load_config_and_driver(a, err);
    if (rc == CRABBOX_OK) { rc = resolve_names_and_times(a, err); }
    if (rc == CRABBOX_OK) {
        rc = state_open(&a->st, getenv("XDG_STATE_HOME"), getenv("XDG_CONFIG_HOME"), getenv("HOME"), err);
    }
    if (rc == CRABBOX_OK) { rc = load_side_files(a, err); }
    if (rc != CRABBOX_OK) { return rc; }
    if (!gate_keys_init(&a->keys)) { return cbx_set_err(err, CRABBOX_E_FAILED, "getrandom failed"); }
    if (!build_env(a)) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
    return open_driver(a, err);
}

void app_teardown(app *a)
{
    if (a->d != NULL && a->drv != NULL) { a->d->close(a->drv); }
    a->drv = NULL;
    loader_close(&a->ld);
    a->d = NULL;
    state_unlock(&a->st);
    config_free(&a->cfg);
    for (size_t i = 0; a->env != NULL && a->env[i] != NULL; i++) { free(a->env[i]); }
    free(a->env);
    a->env = NULL;
    for (size_t i = 0; a->session_env != NULL && a->session_env[i] != NULL; i++) { free(a->session_env[i]); }
    free(a->session_env);
    a->session_env = NULL;
    cbx_buf_free(&a->collateral);
    cbx_buf_free(&a->trust_root);
    gate_keys_wipe(&a->keys);
}
