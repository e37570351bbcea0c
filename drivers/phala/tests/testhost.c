/* testhost.c — see testhost.h. */
#include "testhost.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append_log(th_host *h, const char *prefix, const char *msg)
{
    size_t need = strlen(prefix) + strlen(msg) + 2;
    if (h->log_len + need + 1 > h->log_cap) {
        size_t cap = (h->log_cap ? h->log_cap * 2 : 4096) + need;
        char *grown = realloc(h->log, cap);
        if (grown == NULL) { abort(); }
        h->log = grown;
        h->log_cap = cap;
    }
    h->log_len += (size_t)sprintf(h->log + h->log_len, "%s%s\n", prefix, msg);
    if (getenv("TH_VERBOSE") != NULL) { fprintf(stderr, "%s%s\n", prefix, msg); }
}

static void th_log(void *ctx, int level, const char *msg)
{
    static const char *const k_levels[] = { "debug: ", "info: ", "warn: ", "error: " };
    append_log(ctx, level >= 0 && level <= 3 ? k_levels[level] : "?: ", msg);
}

static void th_progress(void *ctx, const char *msg)
{
    append_log(ctx, "progress: ", msg);
}

static const char *th_config_get(void *ctx, const char *key)
{
    th_host *h = ctx;
    for (size_t i = 0; i < h->num_cfg; i++) {
        if (strcmp(h->cfg_key[i], key) == 0) { return h->cfg_val[i]; }
    }
    return NULL;
}

static const char *th_state_dir(void *ctx)
{
    return ((th_host *)ctx)->state_dir;
}

static int64_t th_now_ms(void *ctx)
{
    return real_ms() * ((th_host *)ctx)->clock_scale;
}

static bool th_cancelled(void *ctx)
{
    return ((th_host *)ctx)->cancel;
}

static bool th_token_check(void *ctx, const char *lease_id, const uint8_t *host_key,
                           size_t host_key_len, const crabbox_attest_token *token)
{
    return false; /* this host never mints tokens */
}

static int fail(crabbox_err *err, int code, const char *msg)
{
    if (err != NULL) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

/* resolve finds argv[0] on PATH unless it already names a path. */
static bool resolve(const char *name, char *out, size_t out_len)
{
    const char *path = getenv("PATH");
    if (strchr(name, '/') != NULL) {
        snprintf(out, out_len, "%s", name);
        return access(out, X_OK) == 0;
    }
    while (path != NULL && *path != '\0') {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, out_len, "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(out, X_OK) == 0) { return true; }
        path = colon ? colon + 1 : NULL;
    }
    return false;
}

static void keep(uint8_t **buf, size_t *len, size_t cap, const uint8_t *data, size_t n,
                 bool *truncated)
{
    size_t room = cap > *len ? cap - *len : 0;
    size_t take = n < room ? n : room;
    if (take < n) { *truncated = true; }
    if (take == 0) { return; }
    uint8_t *grown = realloc(*buf, *len + take + 1);
    if (grown == NULL) { abort(); }
    memcpy(grown + *len, data, take);
    *len += take;
    grown[*len] = '\0';
    *buf = grown;
}

int th_spawn(void *ctx, const char *const argv[], const crabbox_spawn_opts *opts,
             crabbox_output *out, crabbox_err *err)
{
    th_host *h = ctx;
    char path[PATH_MAX];
    int po[2], pe[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t def;
    size_t cap = opts != NULL && opts->max_output ? opts->max_output : (size_t)1 << 20;
    int64_t scale = h->clock_scale > 0 ? h->clock_scale : 1;
    int64_t real_deadline, status_wait;
    int status = 0, rc;
    memset(out, 0, sizeof *out);
    h->num_spawns++;
    if (opts == NULL || opts->deadline_ms <= 0) {
        h->saw_bad_deadline = true;
        return fail(err, CRABBOX_E_USAGE, "test host: spawn without a deadline");
    }
    if (opts->stdin_data != NULL) { return fail(err, CRABBOX_E_USAGE, "test host: no stdin"); }
    if (!resolve(argv[0], path, sizeof path)) {
        return fail(err, CRABBOX_E_NOT_FOUND, "test host: program not found");
    }
    real_deadline = real_ms() + (opts->deadline_ms - th_now_ms(h)) / scale;
    if (h->deadline_cap_ms > 0 && real_deadline > real_ms() + h->deadline_cap_ms) {
        real_deadline = real_ms() + h->deadline_cap_ms;
    }
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        return fail(err, CRABBOX_E_FAILED, "test host: pipe");
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
    if (CRABBOX_HAS_MEMBER(crabbox_spawn_opts, opts, cwd) && opts->cwd != NULL) {
        posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
    } else {
        h->saw_no_cwd = true;
    }
    posix_spawnattr_init(&attr);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return fail(err, CRABBOX_E_FAILED, "test host: posix_spawn failed");
    }
    {
        struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
        int open_fds = 2;
        while (open_fds > 0) {
            int64_t left = real_deadline - real_ms();
            uint8_t buf[8192];
            if (left <= 0) {
                kill(-pid, SIGKILL);
                out->timed_out = true;
                break;
            }
            if (poll(fds, 2, (int)(left > 1000 ? 1000 : left)) < 0) {
                if (errno == EINTR) { continue; }
                break;
            }
            for (int i = 0; i < 2; i++) {
                if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                    continue;
                }
                ssize_t n = read(fds[i].fd, buf, sizeof buf);
                if (n <= 0) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                    continue;
                }
                if (i == 0) {
                    keep(&out->out, &out->out_len, cap, buf, (size_t)n, &out->truncated);
                } else {
                    keep(&out->err, &out->err_len, cap, buf, (size_t)n, &out->truncated);
                }
            }
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0) { close(fds[i].fd); }
        }
    }
    status_wait = waitpid(pid, &status, 0);
    if (out->timed_out) { kill(-pid, SIGKILL); } /* any grandchildren */
    if (status_wait < 0) { return fail(err, CRABBOX_E_FAILED, "test host: waitpid"); }
    out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return CRABBOX_OK;
}

void th_output_free(void *ctx, crabbox_output *out)
{
    if (out == NULL) { return; }
    free(out->out);
    free(out->err);
    out->out = out->err = NULL;
    out->out_len = out->err_len = 0;
}

void th_init(th_host *h, const char *state_dir)
{
    memset(h, 0, sizeof *h);
    h->host.abi_version = CRABBOX_DRIVER_ABI_VERSION;
    h->host.struct_size = sizeof h->host;
    h->host.ctx = h;
    h->host.log = th_log;
    h->host.progress = th_progress;
    h->host.config = th_config_get;
    h->host.state_dir = th_state_dir;
    h->host.now_ms = th_now_ms;
    h->host.cancelled = th_cancelled;
    h->host.spawn = th_spawn;
    h->host.output_free = th_output_free;
    h->host.token_check = th_token_check;
    h->clock_scale = 1;
    snprintf(h->state_dir, sizeof h->state_dir, "%s", state_dir);
}

void th_cleanup(th_host *h)
{
    free(h->log);
    h->log = NULL;
    h->log_len = h->log_cap = 0;
}

void th_config(th_host *h, const char *key, const char *value)
{
    for (size_t i = 0; i < h->num_cfg; i++) {
        if (strcmp(h->cfg_key[i], key) == 0) {
            h->cfg_val[i] = value;
            return;
        }
    }
    if (h->num_cfg < TH_MAX_CFG) {
        h->cfg_key[h->num_cfg] = key;
        h->cfg_val[h->num_cfg++] = value;
    }
}

bool th_log_has(const th_host *h, const char *needle)
{
    return h->log != NULL && strstr(h->log, needle) != NULL;
}
