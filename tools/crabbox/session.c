/* session.c — sessions on a verified lease (session.h): ssh, rsync of the work tree, --env. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "session.h"

static bool shell_quote(char *out, size_t out_len, size_t *pos, const char *word)
{
    if (*pos + 3 > out_len) { return false; }
    out[(*pos)++] = '\'';
    for (const char *p = word; *p != '\0'; p++) {
        if (*p == '\'') {
            if (*pos + 5 > out_len) { return false; }
            memcpy(out + *pos, "'\\''", 4);
            *pos += 4;
        } else {
            if (*pos + 2 > out_len) { return false; }
            out[(*pos)++] = *p;
        }
    }
    out[(*pos)++] = '\'';
    out[*pos] = '\0';
    return true;
}

static bool append(char *out, size_t out_len, size_t *pos, const char *text)
{
    size_t n = strlen(text);
    if (*pos + n + 1 > out_len) { return false; }
    memcpy(out + *pos, text, n + 1);
    *pos += n;
    return true;
}

/* rsync_quote appends a word for rsync's -e parser: single quotes, a quote inside doubled. */
static bool rsync_quote(char *out, size_t out_len, size_t *pos, const char *word)
{
    if (*pos + 3 > out_len) { return false; }
    if (*pos > 0) { out[(*pos)++] = ' '; }
    out[(*pos)++] = '\'';
    for (const char *p = word; *p != '\0'; p++) {
        size_t need = *p == '\'' ? 2 : 1;
        if (*pos + need + 2 > out_len) { return false; }
        out[(*pos)++] = *p;
        if (*p == '\'') { out[(*pos)++] = '\''; }
    }
    out[(*pos)++] = '\'';
    out[*pos] = '\0';
    return true;
}

/* same_dir: both name the same directory (after resolving symlinks). */
static bool same_dir(const char *a_path, const char *b_path)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return a_path != NULL && b_path != NULL && realpath(a_path, ra) != NULL && realpath(b_path, rb) != NULL &&
           strcmp(ra, rb) == 0;
}

/* check_sync_source: the current directory, unless it is / or the home directory (never ship ssh
 * keys, credentials or the whole disk by accident). 0 with cwd set, or an exit status. */
static int check_sync_source(app *a, char *cwd, size_t cwd_len)
{
    if (getcwd(cwd, cwd_len) == NULL) {
        return report_error(a, CRABBOX_E_FAILED, "cannot read the current directory to sync it", NULL);
    }
    if (same_dir(cwd, "/") || same_dir(cwd, getenv("HOME"))) {
        return report_error(a, CRABBOX_E_USAGE,
                            "refusing to sync / or your home directory to the lease: run from the project "
                            "directory, or pass --no-sync", NULL);
    }
    return 0;
}

/* rsync_transport builds rsync's -e command, its remote path and its destination. ssh_argv is the
 * whole prefix before a remote command (driver.h), destination included, so rsync gets all of it
 * as its -e command and the shell builtin `command` as its "host": the remote shell then runs
 * `command mkdir -p -- WR && rsync --server ...`. False when something does not fit. */
static bool rsync_transport(const crabbox_session *s, size_t n_ssh, char *rsh, size_t rsh_len, char *rpath,
                            size_t rpath_len, char *dest, size_t dest_len)
{
    size_t pos = 0, rp = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n_ssh; i++) { ok = rsync_quote(rsh, rsh_len, &pos, s->ssh_argv[i]); }
    ok = ok && append(rpath, rpath_len, &rp, "mkdir -p -- ") && shell_quote(rpath, rpath_len, &rp, s->work_root) &&
         append(rpath, rpath_len, &rp, " && rsync");
    return ok && snprintf(dest, dest_len, "command:%s/", s->work_root) < (int)dest_len;
}

/* report_rsync_failure: rsync missing, not started, or exited non-zero. */
static int report_rsync_failure(app *a, int status, const crabbox_err *err)
{
    char msg[160];
    if (status < 0 && strstr(err->message, "cannot find") != NULL) {
        return report_error(a, CRABBOX_E_USAGE, "rsync is not installed here: install it, or pass --no-sync", NULL);
    }
    if (status < 0) { return report_failure(a, err); }
    snprintf(msg, sizeof msg, "syncing the work tree failed: rsync exited with status %d", status);
    return report_error(a, CRABBOX_E_FAILED, msg, NULL);
}

/* sync_work_tree copies the current directory into the session's work root with rsync over the
 * session's own ssh command (same pinned key, same ProxyCommand). 0, or an exit status (reported). */
static int sync_work_tree(app *a, const crabbox_session *s, size_t n_ssh)
{
    char cwd[PATH_MAX], rsh[16384], rpath[PATH_MAX + 64], dest[PATH_MAX + 300], rsync_path_opt[PATH_MAX + 96];
    crabbox_err err = { 0 };
    int64_t t0;
    int status = check_sync_source(a, cwd, sizeof cwd);

    if (status != 0) { return status; }
    if (s->work_root[0] != '/') {
        return report_error(a, CRABBOX_E_MALFORMED, "the driver's session has no absolute work root to sync to",
                            NULL);
    }
    if (!rsync_transport(s, n_ssh, rsh, sizeof rsh, rpath, sizeof rpath, dest, sizeof dest)) {
        return report_error(a, CRABBOX_E_USAGE, "the session's ssh command is too long to sync through", NULL);
    }
    snprintf(rsync_path_opt, sizeof rsync_path_opt, "--rsync-path=%s", rpath);
    const char *argv[] = { "rsync", "-a", "--delete", "--protect-args", "--exclude=/.git",
                           "--filter=:- .gitignore", "-e", rsh, rsync_path_opt, "./", dest, NULL };
    fprintf(stderr, "syncing %s -> lease:%s\n", cwd, s->work_root);
    t0 = cbx_now_ms();
    status = host_run_session(a, argv, NULL, 0, &err);
    if (status != 0) { return report_rsync_failure(a, status, &err); }
    fprintf(stderr, "synced in %.1f s\n", (double)(cbx_now_ms() - t0) / 1000.0);
    return 0;
}

/* env_file builds "NAME='value'\n" lines for --env (values quoted for sh). */
static bool env_file(const session_request *req, cbx_buf *out, char *missing, size_t missing_len)
{
    size_t cap = 0;
    for (size_t i = 0; i < req->num_env; i++) {
        const char *v = getenv(req->env_names[i]);
        if (v == NULL) {
            snprintf(missing, missing_len, "%s", req->env_names[i]);
            return false;
        }
        cap += strlen(req->env_names[i]) + 4 * strlen(v) + 8;
    }
    missing[0] = '\0';
    if (cap > (1u << 20) || (out->data = malloc(cap + 1)) == NULL) { return false; }
    out->len = 0;
    for (size_t i = 0; i < req->num_env; i++) {
        size_t pos = out->len;
        char *text = (char *)out->data;
        bool ok = append(text, cap + 1, &pos, req->env_names[i]) && append(text, cap + 1, &pos, "=") &&
                  shell_quote(text, cap + 1, &pos, getenv(req->env_names[i])) && append(text, cap + 1, &pos, "\n");
        if (!ok) { return false; }
        out->len = pos;
    }
    return true;
}

/* ssh_argv_with appends one remote word to the session's ssh prefix (calloc'd; the caller frees
 * the array, not the strings). NULL when out of memory. */
static const char **ssh_argv_with(const crabbox_session *s, size_t n_ssh, const char *remote)
{
    const char **argv = calloc(n_ssh + 2, sizeof *argv);
    if (argv == NULL) { return NULL; }
    for (size_t i = 0; i < n_ssh; i++) { argv[i] = s->ssh_argv[i]; }
    argv[n_ssh] = remote;
    return argv;
}

/* env_upload_command is the remote side of upload_env: a private file `name` in the work root. */
static bool env_upload_command(char *out, size_t out_len, const char *work_root, const char *name)
{
    size_t pos = 0;
    return append(out, out_len, &pos, "umask 077 && mkdir -p -- ") && shell_quote(out, out_len, &pos, work_root) &&
           append(out, out_len, &pos, " && cd -- ") && shell_quote(out, out_len, &pos, work_root) &&
           append(out, out_len, &pos, " && cat > ") && append(out, out_len, &pos, name);
}

/* report_env_problem says why env_file failed: a variable not set here, or too much data. */
static int report_env_problem(app *a, const char *missing)
{
    char msg[256];
    if (missing[0] == '\0') { return report_error(a, CRABBOX_E_USAGE, "the --env values are too large", NULL); }
    snprintf(msg, sizeof msg, "--env %s: the variable is not set here", missing);
    return report_error(a, CRABBOX_E_USAGE, msg, NULL);
}

/* upload_env writes the --env values into a private file in the work root, over the session (its
 * stdin), so that no value is ever on a command line. *name gets the file's name. 0 or an exit status. */
static int upload_env(app *a, const session_request *req, const crabbox_session *s, size_t n_ssh, char *name,
                      size_t name_len)
{
    cbx_buf data = { 0 };
    char missing[160], remote[PATH_MAX + 256];
    uint8_t r[8];
    const char **argv;
    crabbox_err err = { 0 };
    int status;
    if (!env_file(req, &data, missing, sizeof missing)) {
        cbx_buf_free(&data);
        return report_env_problem(a, missing);
    }
    if (!cbx_random(r, sizeof r)) {
        cbx_buf_free(&data);
        return report_error(a, CRABBOX_E_FAILED, "getrandom failed", NULL);
    }
    snprintf(name, name_len, ".crabbox-env-");
    cbx_hex(name + strlen(name), r, sizeof r);
    if (!env_upload_command(remote, sizeof remote, s->work_root, name)) {
        cbx_buf_free(&data);
        return report_error(a, CRABBOX_E_USAGE, "the work root is too long", NULL);
    }
    argv = ssh_argv_with(s, n_ssh, remote);
    if (argv == NULL) {
        cbx_buf_free(&data);
        return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL);
    }
    status = host_run_session(a, argv, data.data, data.len, &err);
    free(argv);
    cbx_wipe(data.data, data.len);
    cbx_buf_free(&data);
    if (status < 0) { return report_failure(a, &err); }
    if (status != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "could not hand the --env values to the lease: ssh exited with status %d", status);
        return report_error(a, CRABBOX_E_FAILED, msg, NULL);
    }
    return 0;
}

/* remote_command builds the one string ssh hands to the remote shell: enter the work root, load
 * and remove the --env file (env_name, "" for none), exec the command; every word quoted. */
static bool remote_command(char *out, size_t out_len, const char *work_root, const char *env_name,
                           const session_request *req)
{
    size_t pos = 0;
    bool ok = true;
    out[0] = '\0';
    if (work_root[0] != '\0') {
        ok = append(out, out_len, &pos, "mkdir -p -- ") && shell_quote(out, out_len, &pos, work_root) &&
             append(out, out_len, &pos, " && cd -- ") && shell_quote(out, out_len, &pos, work_root) &&
             append(out, out_len, &pos, " && ");
    }
    if (env_name[0] != '\0') {
        /* Read the values, then remove the file before the command starts. */
        ok = ok && append(out, out_len, &pos, "set -a && . ./") && append(out, out_len, &pos, env_name) &&
             append(out, out_len, &pos, " && set +a && rm -f ./") && append(out, out_len, &pos, env_name) &&
             append(out, out_len, &pos, " && ");
    }
    ok = ok && append(out, out_len, &pos, "exec");
    for (int i = 0; ok && i < req->cmd_count; i++) {
        ok = append(out, out_len, &pos, " ") && shell_quote(out, out_len, &pos, req->cmd[i]);
    }
    return ok;
}

/* open_checked_session opens the driver's session and checks that it carries an ssh command.
 * NULL after reporting the error (*status = the exit status). */
static crabbox_session *open_checked_session(app *a, const crabbox_lease *lease, const crabbox_attest_token *tok,
                                             int *status)
{
    crabbox_session *s = NULL;
    crabbox_err err = { 0 };
    int rc = a->d->open_session(a->drv, lease, tok, &s, &err);
    if (rc != CRABBOX_OK || s == NULL) {
        if (rc == CRABBOX_OK) { cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver returned no session"); }
        *status = report_failure(a, &err);
        return NULL;
    }
    if (!CRABBOX_HAS_MEMBER(crabbox_session, s, work_root) || s->ssh_argv == NULL || s->ssh_argv[0] == NULL) {
        a->d->session_free(a->drv, s);
        cbx_set_err(&err, CRABBOX_E_MALFORMED, "the driver's session has no ssh command");
        *status = report_failure(a, &err);
        return NULL;
    }
    return s;
}

/* prepare_session runs what comes before the command: the sync, the --env upload. 0 or an exit
 * status (reported). */
static int prepare_session(app *a, const session_request *req, const crabbox_session *s, size_t n_ssh,
                           char *env_name, size_t env_name_len)
{
    if (req->sync) {
        int st = sync_work_tree(a, s, n_ssh);
        if (st != 0) { return st; }
    }
    if (req->cmd_count > 0 && req->num_env > 0) {
        return s->work_root[0] == '/' ? upload_env(a, req, s, n_ssh, env_name, env_name_len)
                                      : report_error(a, CRABBOX_E_MALFORMED, "--env needs the driver's work root", NULL);
    }
    return 0;
}

int session_exec(app *a, const claim *c, const crabbox_lease *lease, const crabbox_attest_token *tok,
                 const session_request *req)
{
    crabbox_session *s;
    crabbox_err err = { 0 };
    char remote[65536], env_name[64] = "";
    const char **argv;
    size_t n = 0;
    int status = 0;

    if (c->attested == 1 && admission_pin_unbound(c) && !req->allow_info_only) {
        /* An info-only pin is refused unless this process runs with the same opt-in. */
        return report_error(a, CRABBOX_E_ATTESTATION,
                            "the lease's pinned SSH host key is not bound by any quote (it was pinned under "
                            "allowInfoOnlyAttestation); set that opt-in to use it, or `crabbox attest` it with a "
                            "driver that returns a fresh quote",
                            "report_data");
    }
    s = open_checked_session(a, lease, tok, &status);
    if (s == NULL) { return status; }
    while (s->ssh_argv[n] != NULL) { n++; }
    status = prepare_session(a, req, s, n, env_name, sizeof env_name);
    if (status == 0 && req->cmd_count > 0 && !remote_command(remote, sizeof remote, s->work_root, env_name, req)) {
        status = report_error(a, CRABBOX_E_USAGE, "the command is too long", NULL);
    }
    if (status != 0) {
        a->d->session_free(a->drv, s);
        return status;
    }
    argv = ssh_argv_with(s, n, req->cmd_count > 0 ? remote : NULL);
    if (argv == NULL) {
        a->d->session_free(a->drv, s);
        return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL);
    }
    status = host_run_interactive(a, argv, &err);
    free(argv);
    a->d->session_free(a->drv, s);
    if (status < 0) { return report_failure(a, &err); }
    return status;
}
