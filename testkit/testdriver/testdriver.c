/* testdriver.c — the TEST-ONLY lease driver "test" (alias "testdriver"); never installed.
 *
 * It plays a cloud on the local disk: every "CVM" is a directory under
 * <state_dir>/testdriver-cloud/<app id>/ holding the lease id, the deployed compose, an SSH host
 * key blob and a work directory. Evidence comes from crabbox-testdriver-helper (mkevidence under
 * the test root), spawned through the host's spawn service. Every call is appended to
 * <state_dir>/testdriver-calls.log ("<op> <lease> <result>") so tests can see what the host did.
 *
 * The `mode` config key (CRABBOX_TEST_MODE, --test-mode) is a comma list of misbehaviours:
 *   tamper-quote, tamper-compose, tamper-app-id, wrong-nonce, not-fresh, garbage  (evidence)
 *   tamper-script (another key appended to the pre-launch script), drop-script, tamper-runner
 *   (runner bash + bash_script), tamper-envs (allowed_envs also DSTACK_ROOT_PASSWORD), phala-script
 *   (the platform's own script instead of the host's: <cloud>/phala-default-script, which a test
 *   copies from the real capture)                                                  (app-compose)
 *   fail-warmup, fail-evidence, fail-destroy, malformed-list                       (errors)
 *   crash-warmup (abort after the CVM exists), crash-evidence (abort in fetch_evidence)
 *   early-session: warmup asks for a session with a forged token before any verification
 *   extra-root-key: root's authorized_keys gets a second key after boot (the host's key check)
 *   other-mrtd: genuine evidence of another firmware (MRTD differs: the measurement pins)
 * The CVM's authorized_keys is what the host's pre-launch script would write: its `key='...'` line.
 * Compile-time variants (TD_VARIANT_*) build the plugins the loader must refuse. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "crabbox/driver.h"
#include "errset.h"

#define TD_MAX_FILE (4u << 20)

typedef struct td {
    const crabbox_host *host;
    char cloud[PATH_MAX];  /* one directory per CVM */
    char calls[PATH_MAX];  /* call log */
    char helper[PATH_MAX]; /* crabbox-testdriver-helper */
    char mode[256];
} td;

static void td_set_err(crabbox_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void td_set_err(crabbox_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)crabbox_err_vset(err, code, fmt, ap); /* base/base.c */
    va_end(ap);
}

/* td_has_mode is true when `flag` is one of the comma-separated words of the mode. */
static bool td_has_mode(const td *t, const char *flag)
{
    size_t n = strlen(flag);
    const char *p = t->mode;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, flag, n) == 0) { return true; }
        p += len + (end != NULL ? 1 : 0);
    }
    return false;
}

static void td_log_call(const td *t, const char *op, const char *lease, const char *result)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s %s %s\n", op, lease != NULL ? lease : "-", result);
    int fd = open(t->calls, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || n < 0) {
        if (fd >= 0) { close(fd); }
        return;
    }
    /* One write per line: O_APPEND keeps lines of parallel processes whole. */
    if (write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) { (void)0; }
    close(fd);
}

static bool td_path(char *out, size_t out_len, const char *a, const char *b, const char *c)
{
    int n = c != NULL ? snprintf(out, out_len, "%s/%s/%s", a, b, c) : snprintf(out, out_len, "%s/%s", a, b);
    return n > 0 && (size_t)n < out_len;
}

static bool td_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    const uint8_t *p = data;
    bool ok = fd >= 0;
    while (ok && len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) { continue; }
        ok = w > 0;
        if (ok) {
            p += w;
            len -= (size_t)w;
        }
    }
    if (fd >= 0 && close(fd) != 0) { ok = false; }
    return ok;
}

/* td_read_file reads a regular file of at most TD_MAX_FILE bytes (NUL-terminated, not counted). */
static bool td_read_file(const char *path, uint8_t **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    *out_len = 0;
    if (fd < 0) { return false; }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > TD_MAX_FILE) {
        close(fd);
        return false;
    }
    buf = malloc((size_t)st.st_size + 1);
    while (buf != NULL && len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR) { continue; }
        if (r <= 0) { break; }
        len += (size_t)r;
    }
    close(fd);
    if (buf == NULL || len != (size_t)st.st_size) {
        free(buf);
        return false;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return true;
}

static void td_hex(char *out, const uint8_t *in, size_t n)
{
    cba_hex_encode(out, in, n); /* base/base.c */
}

static bool td_random(uint8_t *out, size_t n)
{
    return cba_random_bytes(out, n); /* base/base.c */
}

/* td_cvm_dir finds the CVM directory for a cloud id (40 hex digits only: it names a directory). */
static bool td_cvm_dir(const td *t, const char *cloud_id, char *out, size_t out_len)
{
    size_t n = strlen(cloud_id);
    if (n != 40 || strspn(cloud_id, "0123456789abcdef") != n) { return false; }
    return td_path(out, out_len, t->cloud, cloud_id, NULL);
}

static int td_rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int td_open(const crabbox_host *host, void **out_drv, crabbox_err *err)
{
    td *t;
    const char *state, *mode, *helper;
    *out_drv = NULL;
    if (host == NULL || host->abi_version != CRABBOX_DRIVER_ABI_VERSION ||
        !CRABBOX_HAS_MEMBER(crabbox_host, host, token_check)) {
        td_set_err(err, CRABBOX_E_ABI, "test driver: host services table too old");
        return CRABBOX_E_ABI;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: out of memory");
        return CRABBOX_E_FAILED;
    }
    t->host = host;
    state = host->state_dir(host->ctx);
    mode = host->config(host->ctx, "mode");
    helper = host->config(host->ctx, "helper");
    snprintf(t->mode, sizeof t->mode, "%s", mode != NULL ? mode : "");
    if (!td_path(t->cloud, sizeof t->cloud, state, "testdriver-cloud", NULL) ||
        !td_path(t->calls, sizeof t->calls, state, "testdriver-calls.log", NULL)) {
        free(t);
        td_set_err(err, CRABBOX_E_USAGE, "test driver: state directory path too long");
        return CRABBOX_E_USAGE;
    }
    if (helper != NULL) {
        snprintf(t->helper, sizeof t->helper, "%s", helper);
    } else {
        /* Default: the helper next to this plugin in the build tree. */
        Dl_info info;
        const char *slash;
        if (dladdr((void *)td_open, &info) == 0 || info.dli_fname == NULL ||
            (slash = strrchr(info.dli_fname, '/')) == NULL) {
            free(t);
            td_set_err(err, CRABBOX_E_USAGE, "test driver: cannot locate crabbox-testdriver-helper");
            return CRABBOX_E_USAGE;
        }
        snprintf(t->helper, sizeof t->helper, "%.*s/crabbox-testdriver-helper",
                 (int)(slash - info.dli_fname), info.dli_fname);
    }
    if (access(t->helper, X_OK) != 0) {
        td_set_err(err, CRABBOX_E_USAGE, "test driver: helper %s is not an executable file", t->helper);
        free(t);
        return CRABBOX_E_USAGE;
    }
    if (mkdir(t->cloud, 0700) != 0 && errno != EEXIST) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: cannot create %s: %s", t->cloud, strerror(errno));
        free(t);
        return CRABBOX_E_FAILED;
    }
    *out_drv = t;
    return CRABBOX_OK;
}

static void td_close(void *drv)
{
    free(drv);
}

static void td_lease_free(void *drv, crabbox_lease *lease)
{
    (void)drv;
    free(lease);
}

static void td_list_free(void *drv, crabbox_lease_list *list)
{
    (void)drv;
    if (list == NULL) { return; }
    free(list->items);
    free(list);
}

static void td_evidence_free(void *drv, crabbox_evidence *ev)
{
    (void)drv;
    if (ev == NULL) { return; }
    free(ev->info_json);
    free(ev->quote);
    free(ev->host_key);
    free(ev);
}

static void td_session_free(void *drv, crabbox_session *s)
{
    (void)drv;
    if (s == NULL) { return; }
    if (s->ssh_argv != NULL) {
        for (size_t i = 0; s->ssh_argv[i] != NULL; i++) { free(s->ssh_argv[i]); }
        free((void *)s->ssh_argv);
    }
    free(s);
}

/* ---- operations ---------------------------------------------------------------------------- */

static int td_open_session(void *drv, const crabbox_lease *lease, const crabbox_attest_token *token,
                           crabbox_session **out, crabbox_err *err);

/* td_boot_keys plays dstack running the pre-launch script: the key of its `key='...'` line becomes
 * root's authorized_keys (<cvm>/authorized_keys); extra-root-key appends another one. */
static bool td_boot_keys(const td *t, const char *dir, const crabbox_lease_spec *spec)
{
    char path[PATH_MAX], keys[2048] = "";
    size_t n = 0;
    static const char k_extra[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExtraExtraExtraExtraExtraExtraExtraExtraEx host\n";
    if (CRABBOX_HAS_MEMBER(crabbox_lease_spec, spec, pre_launch_script) && spec->pre_launch_script != NULL) {
        const char *s = (const char *)spec->pre_launch_script, *end = s + spec->pre_launch_script_len;
        for (const char *p = s; p + 5 < end; p++) {
            if ((p == s || p[-1] == '\n') && memcmp(p, "key='", 5) == 0) {
                const char *q = memchr(p + 5, '\'', (size_t)(end - p - 5));
                if (q != NULL && (size_t)(q - p - 5) + 2 < sizeof keys) {
                    n = (size_t)(q - p - 5);
                    memcpy(keys, p + 5, n);
                    keys[n++] = '\n';
                }
                break;
            }
        }
    }
    if (td_has_mode(t, "extra-root-key") && n + sizeof k_extra < sizeof keys) {
        memcpy(keys + n, k_extra, sizeof k_extra - 1);
        n += sizeof k_extra - 1;
    }
    return td_path(path, sizeof path, dir, "authorized_keys", NULL) && td_write_file(path, keys, n);
}

static int td_warmup(void *drv, const crabbox_lease_spec *spec, crabbox_lease **out, crabbox_err *err)
{
    td *t = drv;
    crabbox_lease *l;
    uint8_t id[20], key[51];
    char dir[PATH_MAX], path[PATH_MAX], work[PATH_MAX];
    static const uint8_t k_key_prefix[19] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5',
                                              '5', '1', '9', 0, 0, 0, 32 };
    *out = NULL;
    if (td_has_mode(t, "fail-warmup")) {
        td_log_call(t, "warmup", spec->lease_id, "fail");
        td_set_err(err, CRABBOX_E_QUOTA, "test driver: insufficient balance (mode fail-warmup)");
        return CRABBOX_E_QUOTA;
    }
    l = calloc(1, sizeof *l);
    if (l == NULL || !td_random(id, sizeof id) || !td_random(key + 19, 32)) {
        free(l);
        td_set_err(err, CRABBOX_E_FAILED, "test driver: out of memory or randomness");
        return CRABBOX_E_FAILED;
    }
    memcpy(key, k_key_prefix, sizeof k_key_prefix);
    l->struct_size = sizeof *l;
    td_hex(l->app_id, id, sizeof id);
    snprintf(l->cloud_id, sizeof l->cloud_id, "%s", l->app_id);
    snprintf(l->lease_id, sizeof l->lease_id, "%s", spec->lease_id);
    snprintf(l->name, sizeof l->name, "crabbox-%s", spec->lease_id);
    for (char *p = l->name; *p != '\0'; p++) {
        if (*p == '_') { *p = '-'; }
    }
    snprintf(l->status, sizeof l->status, "running");
    snprintf(l->gateway_host, sizeof l->gateway_host, "%s-22.test.invalid", l->app_id);
    if (!td_cvm_dir(t, l->cloud_id, dir, sizeof dir) || mkdir(dir, 0700) != 0 ||
        !td_path(work, sizeof work, dir, "work", NULL) || mkdir(work, 0700) != 0 ||
        !td_path(path, sizeof path, dir, "compose.yml", NULL) ||
        !td_write_file(path, spec->compose, spec->compose_len) ||
        !td_path(path, sizeof path, dir, "host_key", NULL) || !td_write_file(path, key, sizeof key) ||
        !td_path(path, sizeof path, dir, "name", NULL) || !td_write_file(path, l->name, strlen(l->name)) ||
        /* the platform keeps the pre-launch script the host supplied (ABI v1 member) */
        (CRABBOX_HAS_MEMBER(crabbox_lease_spec, spec, pre_launch_script) && spec->pre_launch_script != NULL &&
         (!td_path(path, sizeof path, dir, "pre_launch_script", NULL) ||
          !td_write_file(path, spec->pre_launch_script, spec->pre_launch_script_len))) ||
        /* the lease file last: list shows only complete CVMs */
        !td_path(path, sizeof path, dir, "lease", NULL) ||
        !td_write_file(path, spec->lease_id, strlen(spec->lease_id))) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: cannot create the CVM under %s", t->cloud);
        free(l);
        return CRABBOX_E_FAILED;
    }
    if (!td_boot_keys(t, dir, spec)) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: cannot write the CVM's authorized_keys");
        free(l);
        return CRABBOX_E_FAILED;
    }
    t->host->progress(t->host->ctx, "test driver: CVM created");
    td_log_call(t, "warmup", spec->lease_id, "ok");
    if (td_has_mode(t, "crash-warmup")) {
        td_log_call(t, "crash", spec->lease_id, "warmup");
        abort(); /* the CVM exists, the host never hears of it: only its intent claim knows */
    }
    if (td_has_mode(t, "early-session")) {
        /* A driver that wants a session before verification has only tokens it made itself. */
        crabbox_attest_token forged = { .struct_size = sizeof forged };
        crabbox_session *s = NULL;
        crabbox_err e2 = { 0 };
        memset(forged.bytes, 0x5a, sizeof forged.bytes);
        int rc = td_open_session(t, l, &forged, &s, &e2);
        td_log_call(t, "early-session", spec->lease_id, rc == CRABBOX_OK ? "ACCEPTED" : "refused");
        td_session_free(t, s);
    }
    *out = l;
    return CRABBOX_OK;
}

static int td_fetch_evidence(void *drv, const crabbox_lease *lease, const uint8_t nonce[32],
                             crabbox_evidence **out, crabbox_err *err)
{
    td *t = drv;
    char dir[PATH_MAX], hk[PATH_MAX], compose[PATH_MAX], outdir[PATH_MAX], path[PATH_MAX];
    char nonce_hex[65], tamper[160] = "";
    const char *argv[20];
    size_t n = 0;
    crabbox_output o = { 0 };
    crabbox_spawn_opts so = { .struct_size = sizeof so };
    crabbox_evidence *ev;
    uint8_t *rd = NULL;
    size_t rd_len = 0;
    int rc;
    static const char *const k_tampers[] = { "tamper-quote", "tamper-compose", "tamper-app-id", "wrong-nonce",
                                             "not-fresh",    "garbage",        "tamper-script", "drop-script",
                                             "tamper-runner", "tamper-envs",   "other-mrtd", NULL };
    char script[PATH_MAX];

    *out = NULL;
    if (td_has_mode(t, "crash-evidence")) {
        td_log_call(t, "crash", lease->lease_id, "fetch_evidence");
        abort();
    }
    if (td_has_mode(t, "fail-evidence")) {
        td_log_call(t, "fetch_evidence", lease->lease_id, "fail");
        td_set_err(err, CRABBOX_E_TRANSIENT, "test driver: guest agent unavailable (mode fail-evidence)");
        return CRABBOX_E_TRANSIENT;
    }
    if (!td_cvm_dir(t, lease->cloud_id, dir, sizeof dir) || access(dir, F_OK) != 0) {
        td_set_err(err, CRABBOX_E_NOT_FOUND, "test driver: CVM %s not found", lease->cloud_id);
        return CRABBOX_E_NOT_FOUND;
    }
    if (!td_path(hk, sizeof hk, dir, "host_key", NULL) || !td_path(compose, sizeof compose, dir, "compose.yml", NULL) ||
        !td_path(outdir, sizeof outdir, dir, "evidence", NULL)) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: path too long");
        return CRABBOX_E_FAILED;
    }
    (void)mkdir(outdir, 0700);
    td_hex(nonce_hex, nonce, 32);
    for (size_t i = 0; k_tampers[i] != NULL; i++) {
        if (td_has_mode(t, k_tampers[i])) {
            size_t used = strlen(tamper);
            snprintf(tamper + used, sizeof tamper - used, "%s%s", used != 0 ? "," : "", k_tampers[i]);
        }
    }
    argv[n++] = t->helper;
    argv[n++] = "evidence";
    argv[n++] = "--nonce";
    argv[n++] = nonce_hex;
    argv[n++] = "--host-key";
    argv[n++] = hk;
    argv[n++] = "--app-id";
    argv[n++] = lease->app_id;
    argv[n++] = "--compose";
    argv[n++] = compose;
    argv[n++] = "--out";
    argv[n++] = outdir;
    if (td_has_mode(t, "phala-script") ? td_path(script, sizeof script, t->cloud, "phala-default-script", NULL)
                                       : td_path(script, sizeof script, dir, "pre_launch_script", NULL) &&
                                             access(script, F_OK) == 0) {
        argv[n++] = "--pre-launch-script";
        argv[n++] = script;
    }
    if (tamper[0] != '\0') {
        argv[n++] = "--tamper";
        argv[n++] = tamper;
    }
    argv[n] = NULL;
    t->host->progress(t->host->ctx, "test driver: asking the guest agent for evidence");
    rc = t->host->spawn(t->host->ctx, argv, &so, &o, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (o.exit_status != 0) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: evidence helper failed (status %d): %.200s",
                   o.exit_status, o.err != NULL ? (const char *)o.err : "");
        t->host->output_free(t->host->ctx, &o);
        return CRABBOX_E_FAILED;
    }
    t->host->output_free(t->host->ctx, &o);

    ev = calloc(1, sizeof *ev);
    if (ev == NULL) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: out of memory");
        return CRABBOX_E_FAILED;
    }
    ev->struct_size = sizeof *ev;
    if (!td_path(path, sizeof path, outdir, "info.json", NULL) ||
        !td_read_file(path, &ev->info_json, &ev->info_json_len) || !td_read_file(hk, &ev->host_key, &ev->host_key_len) ||
        !td_path(path, sizeof path, outdir, "report_data.bin", NULL) || !td_read_file(path, &rd, &rd_len) ||
        rd_len != 64) {
        free(rd);
        td_evidence_free(t, ev);
        td_set_err(err, CRABBOX_E_MALFORMED, "test driver: evidence helper wrote no evidence");
        return CRABBOX_E_MALFORMED;
    }
    memcpy(ev->report_data, rd, 64);
    free(rd);
    if (!td_path(path, sizeof path, outdir, "quote.bin", NULL)) {
        td_evidence_free(t, ev);
        td_set_err(err, CRABBOX_E_FAILED, "test driver: path too long");
        return CRABBOX_E_FAILED;
    }
    ev->fresh = td_read_file(path, &ev->quote, &ev->quote_len);
    td_log_call(t, "fetch_evidence", lease->lease_id, ev->fresh ? "fresh" : "info-only");
    *out = ev;
    return CRABBOX_OK;
}

static int td_open_session(void *drv, const crabbox_lease *lease, const crabbox_attest_token *token,
                           crabbox_session **out, crabbox_err *err)
{
    td *t = drv;
    char dir[PATH_MAX], hk[PATH_MAX], work[PATH_MAX];
    uint8_t *key = NULL;
    size_t key_len = 0;
    crabbox_session *s;
    char **argv;
    const char *words[5];

    *out = NULL;
    if (!td_cvm_dir(t, lease->cloud_id, dir, sizeof dir) || !td_path(hk, sizeof hk, dir, "host_key", NULL) ||
        !td_path(work, sizeof work, dir, "work", NULL) || !td_read_file(hk, &key, &key_len)) {
        td_set_err(err, CRABBOX_E_NOT_FOUND, "test driver: CVM %s not found", lease->cloud_id);
        return CRABBOX_E_NOT_FOUND;
    }
    /* The gate: nothing is exposed unless the host minted this token for this lease and key. An
     * attestation opt-out token is minted over no key, so try that second. */
    if (token == NULL || token->struct_size < sizeof *token ||
        (!t->host->token_check(t->host->ctx, lease->lease_id, key, key_len, token) &&
         !t->host->token_check(t->host->ctx, lease->lease_id, NULL, 0, token))) {
        free(key);
        td_log_call(t, "open_session", lease->lease_id, "refused");
        td_set_err(err, CRABBOX_E_ATTESTATION, "test driver: no valid attestation token for %s", lease->lease_id);
        return CRABBOX_E_ATTESTATION;
    }
    free(key);
    words[0] = t->helper;
    words[1] = "ssh";
    words[2] = "--dir";
    words[3] = work;
    words[4] = "--";
    s = calloc(1, sizeof *s);
    argv = calloc(6, sizeof *argv);
    if (s == NULL || argv == NULL) {
        free(s);
        free(argv);
        td_set_err(err, CRABBOX_E_FAILED, "test driver: out of memory");
        return CRABBOX_E_FAILED;
    }
    s->struct_size = sizeof *s;
    s->ssh_argv = argv;
    for (size_t i = 0; i < 5; i++) {
        argv[i] = strdup(words[i]);
        if (argv[i] == NULL) {
            td_session_free(t, s);
            td_set_err(err, CRABBOX_E_FAILED, "test driver: out of memory");
            return CRABBOX_E_FAILED;
        }
    }
    snprintf(s->user, sizeof s->user, "root");
    if (strlen(work) >= sizeof s->work_root) {
        td_session_free(t, s);
        td_set_err(err, CRABBOX_E_FAILED, "test driver: work directory path too long");
        return CRABBOX_E_FAILED;
    }
    memcpy(s->work_root, work, strlen(work) + 1);
    td_log_call(t, "open_session", lease->lease_id, "ok");
    *out = s;
    return CRABBOX_OK;
}

static int td_list(void *drv, crabbox_lease_list **out, crabbox_err *err)
{
    td *t = drv;
    DIR *d = opendir(t->cloud);
    struct dirent *e;
    crabbox_lease_list *list;
    *out = NULL;
    if (td_has_mode(t, "malformed-list")) {
        if (d != NULL) { closedir(d); }
        td_set_err(err, CRABBOX_E_MALFORMED, "test driver: the inventory is not JSON (mode malformed-list)");
        return CRABBOX_E_MALFORMED;
    }
    list = calloc(1, sizeof *list);
    if (d == NULL || list == NULL) {
        if (d != NULL) { closedir(d); }
        free(list);
        td_set_err(err, CRABBOX_E_FAILED, "test driver: cannot read %s", t->cloud);
        return CRABBOX_E_FAILED;
    }
    list->struct_size = sizeof *list;
    while ((e = readdir(d)) != NULL) {
        char dir[PATH_MAX], path[PATH_MAX];
        uint8_t *lease = NULL, *name = NULL;
        size_t lease_len, name_len;
        crabbox_lease *items, *l;
        if (!td_cvm_dir(t, e->d_name, dir, sizeof dir) || !td_path(path, sizeof path, dir, "lease", NULL) ||
            !td_read_file(path, &lease, &lease_len) || !td_path(path, sizeof path, dir, "name", NULL) ||
            !td_read_file(path, &name, &name_len)) {
            free(lease);
            continue; /* not a CVM, or one still being created */
        }
        items = realloc(list->items, (list->num + 1) * sizeof *items);
        if (items == NULL) {
            free(lease);
            free(name);
            closedir(d);
            td_list_free(t, list);
            td_set_err(err, CRABBOX_E_FAILED, "test driver: out of memory");
            return CRABBOX_E_FAILED;
        }
        list->items = items;
        l = &items[list->num++];
        memset(l, 0, sizeof *l);
        l->struct_size = sizeof *l;
        snprintf(l->lease_id, sizeof l->lease_id, "%.*s", (int)lease_len, (const char *)lease);
        snprintf(l->name, sizeof l->name, "%.*s", (int)name_len, (const char *)name);
        /* td_cvm_dir accepted the name: exactly 40 hex digits */
        snprintf(l->cloud_id, sizeof l->cloud_id, "%.40s", e->d_name);
        snprintf(l->app_id, sizeof l->app_id, "%.40s", e->d_name);
        snprintf(l->status, sizeof l->status, "running");
        snprintf(l->gateway_host, sizeof l->gateway_host, "%.40s-22.test.invalid", e->d_name);
        free(lease);
        free(name);
    }
    closedir(d);
    td_log_call(t, "list", NULL, "ok");
    *out = list;
    return CRABBOX_OK;
}

#ifdef TD_VARIANT_NULLFN
__attribute__((unused))
#endif
static int td_destroy(void *drv, const crabbox_lease *lease, crabbox_err *err)
{
    td *t = drv;
    char dir[PATH_MAX], path[PATH_MAX];
    uint8_t *owner = NULL;
    size_t owner_len = 0;
    bool ours;
    if (td_has_mode(t, "fail-destroy")) {
        td_log_call(t, "destroy", lease->lease_id, "fail");
        td_set_err(err, CRABBOX_E_TRANSIENT, "test driver: delete failed (mode fail-destroy)");
        return CRABBOX_E_TRANSIENT;
    }
    if (!td_cvm_dir(t, lease->cloud_id, dir, sizeof dir)) {
        td_set_err(err, CRABBOX_E_NOT_FOUND, "test driver: bad CVM id");
        return CRABBOX_E_NOT_FOUND;
    }
    if (access(dir, F_OK) != 0) {
        td_log_call(t, "destroy", lease->lease_id, "gone");
        return CRABBOX_OK; /* gone = success */
    }
    /* Ownership: the CVM must still belong to this lease. */
    ours = td_path(path, sizeof path, dir, "lease", NULL) && td_read_file(path, &owner, &owner_len) &&
           owner_len == strlen(lease->lease_id) && memcmp(owner, lease->lease_id, owner_len) == 0;
    free(owner);
    if (!ours) {
        td_log_call(t, "destroy", lease->lease_id, "refused");
        td_set_err(err, CRABBOX_E_NOT_FOUND, "test driver: CVM %s does not belong to lease %s", lease->cloud_id,
                   lease->lease_id);
        return CRABBOX_E_NOT_FOUND;
    }
    if (nftw(dir, td_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        td_set_err(err, CRABBOX_E_FAILED, "test driver: cannot delete %s: %s", dir, strerror(errno));
        return CRABBOX_E_FAILED;
    }
    td_log_call(t, "destroy", lease->lease_id, "ok");
    return CRABBOX_OK;
}

static int td_doctor(void *drv, char *summary, size_t summary_len, crabbox_err *err)
{
    td *t = drv;
    crabbox_lease_list *list = NULL;
    const char *it = t->host->config(t->host->ctx, "instanceType");
    const char *node = t->host->config(t->host->ctx, "nodeId");
    int rc = td_list(t, &list, err);
    if (rc != CRABBOX_OK) { return rc; }
    snprintf(summary, summary_len, "cli=ready inventory=ready cvms=%zu mode=%s instance_type=%s node_id=%s helper=%s",
             list->num, t->mode[0] != '\0' ? t->mode : "-", it != NULL ? it : "-", node != NULL ? node : "-",
             t->helper);
    td_list_free(t, list);
    return CRABBOX_OK;
}

static int td_cleanup(void *drv, bool dry_run, crabbox_err *err)
{
    (void)err;
    td_log_call(drv, "cleanup", NULL, dry_run ? "dry-run" : "ok");
    return CRABBOX_OK;
}

static const char *const k_aliases[] = { "testdriver", NULL };
static const crabbox_config_key k_keys[] = {
    { "mode", 0 },
    { "helper", CRABBOX_KEY_TRUSTED_ONLY },
    { "instanceType", 0 },
    { "nodeId", CRABBOX_KEY_TRUSTED_ONLY },
    { "verbose", CRABBOX_KEY_BOOL },
    { NULL, 0 },
};
static const char *const k_env[] = { "CRABBOX_TEST_PASSTHROUGH", NULL };

static const crabbox_driver k_driver = {
#ifdef TD_VARIANT_BADABI
    .abi_version = CRABBOX_DRIVER_ABI_VERSION + 1,
#else
    .abi_version = CRABBOX_DRIVER_ABI_VERSION,
#endif
#ifdef TD_VARIANT_SHORT
    .struct_size = offsetof(crabbox_driver, open_session),
#else
    .struct_size = sizeof(crabbox_driver),
#endif
    .name = "test",
    .aliases = k_aliases,
    .capabilities = CRABBOX_CAP_FRESH_QUOTE,
    .open = td_open,
    .close = td_close,
    .warmup = td_warmup,
    .fetch_evidence = td_fetch_evidence,
    .open_session = td_open_session,
    .list = td_list,
#ifdef TD_VARIANT_NULLFN
    .destroy = NULL, /* a descriptor of the right size with a required function missing */
#else
    .destroy = td_destroy,
#endif
    .doctor = td_doctor,
    .cleanup = td_cleanup,
    .lease_free = td_lease_free,
    .lease_list_free = td_list_free,
    .evidence_free = td_evidence_free,
    .session_free = td_session_free,
    .config_keys = k_keys,
    .env_passthrough = k_env,
};

#ifdef TD_VARIANT_NOSYM
/* Misspelled on purpose: the plugin exports nothing the host looks for. */
CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entri(uint32_t host_abi_version);
CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entri(uint32_t host_abi_version)
#else
CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entry(uint32_t host_abi_version);
CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entry(uint32_t host_abi_version)
#endif
{
#if defined(TD_VARIANT_NULLENTRY)
    return host_abi_version == CRABBOX_DRIVER_ABI_VERSION && k_driver.name == NULL ? &k_driver : NULL;
#else
    return host_abi_version == CRABBOX_DRIVER_ABI_VERSION ? &k_driver : NULL;
#endif
}
