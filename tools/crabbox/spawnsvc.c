/* spawnsvc.c — see spawnsvc.h. STYLE §5: argv vectors, never a shell; minimal explicit environment;
 * O_CLOEXEC everywhere; signal dispositions and mask reset for the child; waits have deadlines. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnsvc.h"

void spawn_output_free(crabbox_output *out)
{
    if (out == NULL) { return; }
    free(out->out);
    free(out->err);
    out->out = NULL;
    out->err = NULL;
    out->out_len = 0;
    out->err_len = 0;
}

bool spawn_cancel_pending(const sigset_t *cancel)
{
    sigset_t pending;
    if (cancel == NULL || sigpending(&pending) != 0) { return false; }
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(cancel, s) == 1 && sigismember(&pending, s) == 1) { return true; }
    }
    return false;
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

bool spawn_resolve(const char *name, const char *path, char *out, size_t out_len)
{
    const char *p;
    if (name == NULL || name[0] == '\0') { return false; }
    if (strchr(name, '/') != NULL) {
        /* Relative paths would depend on the working directory: refuse them. */
        if (name[0] != '/' || strlen(name) >= out_len || !is_executable_file(name)) { return false; }
        memcpy(out, name, strlen(name) + 1);
        return true;
    }
    p = path != NULL ? path : "/usr/local/bin:/usr/bin:/bin";
    while (*p != '\0') {
        const char *colon = strchr(p, ':');
        size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
        /* Empty and relative PATH entries mean "the current directory": never searched. */
        if (n > 0 && p[0] == '/') {
            int w = snprintf(out, out_len, "%.*s/%s", (int)n, p, name);
            if (w > 0 && (size_t)w < out_len && is_executable_file(out)) { return true; }
        }
        p += n + (colon != NULL ? 1 : 0);
    }
    return false;
}

/* A capped output stream. */
typedef struct stream {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    bool truncated;
} stream;

static int stream_read(stream *s, bool to_user)
{
    uint8_t chunk[16384];
    ssize_t r = read(s->fd, chunk, sizeof chunk);
    if (r < 0) { return errno == EINTR || errno == EAGAIN ? 0 : -1; }
    if (r == 0) { return -1; } /* EOF */
    if (to_user && cbx_write_all(STDERR_FILENO, chunk, (size_t)r) != 0) { (void)0; } /* best effort */
    size_t keep = (size_t)r;
    if (s->len + keep > s->cap) {
        keep = s->cap - s->len;
        s->truncated = true; /* keep draining so the child never blocks on a full pipe */
    }
    if (keep > 0) {
        uint8_t *nb = realloc(s->buf, s->len + keep + 1);
        if (nb == NULL) {
            s->truncated = true;
            return 0;
        }
        s->buf = nb;
        memcpy(s->buf + s->len, chunk, keep);
        s->len += keep;
        s->buf[s->len] = 0;
    }
    return 0;
}

static void terminate_group(pid_t pid, bool own_group, int sig)
{
    /* The child leads its own process group, so helpers it started go too. */
    if (own_group && kill(-pid, sig) == 0) { return; }
    (void)kill(pid, sig);
}

static int status_code(int status)
{
    if (WIFEXITED(status)) { return WEXITSTATUS(status); }
    if (WIFSIGNALED(status)) { return 128 + WTERMSIG(status); }
    return 255;
}

static int wait_interactive(pid_t pid, crabbox_output *out)
{
    int status;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) { return errno; }
    }
    out->exit_status = status_code(status);
    return 0;
}

int spawn_run(const spawn_req *req, crabbox_output *out, crabbox_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t empty, all;
    int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, in_pipe[2] = { -1, -1 };
    stream so = { .fd = -1 }, se = { .fd = -1 };
    size_t in_off = 0;
    pid_t pid;
    int rc, status = 0;
    bool reaped = false, cancelled = false, killed = false;
    int64_t deadline, kill_at = 0;
    short flags;
    const bool capture = !req->interactive;

    memset(out, 0, sizeof *out);
    if (req->argv == NULL || req->argv[0] == NULL || req->argv[0][0] != '/') {
        return cbx_set_err(err, CRABBOX_E_FAILED, "spawn: program path must be absolute");
    }
    if (capture && (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
                    (req->stdin_data != NULL && pipe2(in_pipe, O_CLOEXEC) != 0))) {
        rc = errno;
        for (int i = 0; i < 2; i++) {
            if (out_pipe[i] >= 0) { close(out_pipe[i]); }
            if (err_pipe[i] >= 0) { close(err_pipe[i]); }
        }
        return cbx_set_err(err, CRABBOX_E_FAILED, "spawn %s: pipe: %s", req->argv[0], strerror(rc));
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigemptyset(&empty);
    sigfillset(&all);
    /* The host blocks its cancel signals and ignores SIGPIPE; the child starts clean. */
    flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (capture) { flags |= POSIX_SPAWN_SETPGROUP; }
    posix_spawnattr_setflags(&attr, flags);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    if (capture) {
        if (req->stdin_data != NULL) {
            posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
        } else {
            posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        }
        posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
    }
    rc = 0;
    if (req->cwd != NULL) {
        /* glibc >= 2.29; a failed chdir makes posix_spawn fail (the child never runs elsewhere). */
        rc = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
    }
    if (rc == 0) {
        rc = posix_spawn(&pid, req->argv[0], &fa, &attr, (char *const *)req->argv, (char *const *)req->envp);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (capture) {
        close(out_pipe[1]);
        close(err_pipe[1]);
        if (in_pipe[0] >= 0) { close(in_pipe[0]); }
    }
    if (rc != 0) {
        if (capture) {
            close(out_pipe[0]);
            close(err_pipe[0]);
            if (in_pipe[1] >= 0) { close(in_pipe[1]); }
        }
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot run %s%s%s: %s", req->argv[0],
                           req->cwd != NULL ? " in " : "", req->cwd != NULL ? req->cwd : "", strerror(rc));
    }
    if (!capture) {
        rc = wait_interactive(pid, out);
        if (rc != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "waiting for %s: %s", req->argv[0], strerror(rc)); }
        return CRABBOX_OK;
    }

    so.fd = out_pipe[0];
    se.fd = err_pipe[0];
    so.cap = se.cap = req->max_output != 0 ? req->max_output : SPAWN_DEFAULT_MAX_OUTPUT;
    (void)fcntl(so.fd, F_SETFL, O_NONBLOCK);
    (void)fcntl(se.fd, F_SETFL, O_NONBLOCK);
    if (in_pipe[1] >= 0) {
        (void)fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
        if (req->stdin_len == 0) {
            close(in_pipe[1]);
            in_pipe[1] = -1;
        }
    }
    deadline = req->deadline_ms != 0 ? req->deadline_ms : cbx_now_ms() + SPAWN_DEFAULT_TIMEOUT_MS;
    const int64_t started = cbx_now_ms();
    int64_t next_progress = req->progress != NULL && req->progress_every_ms > 0 ? started + req->progress_every_ms
                                                                                 : INT64_MAX;

    while (so.fd >= 0 || se.fd >= 0 || in_pipe[1] >= 0 || !reaped) {
        struct pollfd pfd[3];
        nfds_t n = 0;
        int64_t now = cbx_now_ms(), wait_ms = 100;
        if (!killed && (now >= deadline || (!cancelled && spawn_cancel_pending(req->cancel)))) {
            if (now >= deadline) {
                out->timed_out = true;
            } else {
                cancelled = true;
            }
            terminate_group(pid, true, SIGTERM);
            killed = true;
            kill_at = now + SPAWN_KILL_GRACE_MS;
        } else if (killed && now >= kill_at) {
            terminate_group(pid, true, SIGKILL);
            kill_at = now + 60000;
            /* Whatever still holds the pipes open is gone or ignores us: stop reading. */
            if (so.fd >= 0) { close(so.fd); }
            if (se.fd >= 0) { close(se.fd); }
            so.fd = se.fd = -1;
        }
        if (now >= next_progress) {
            char msg[160];
            const char *base = strrchr(req->argv[0], '/');
            snprintf(msg, sizeof msg, "still waiting for %.60s (%llds)", base != NULL ? base + 1 : req->argv[0],
                     (long long)((now - started) / 1000));
            req->progress(req->progress_ctx, msg);
            next_progress = now + req->progress_every_ms;
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                reaped = true;
            } else if (w < 0 && errno != EINTR) {
                reaped = true;
                status = 255 << 8;
            }
        }
        if (reaped && in_pipe[1] >= 0) {
            close(in_pipe[1]); /* nobody reads it any more */
            in_pipe[1] = -1;
        }
        if (so.fd >= 0) { pfd[n++] = (struct pollfd){ .fd = so.fd, .events = POLLIN }; }
        if (se.fd >= 0) { pfd[n++] = (struct pollfd){ .fd = se.fd, .events = POLLIN }; }
        if (in_pipe[1] >= 0) { pfd[n++] = (struct pollfd){ .fd = in_pipe[1], .events = POLLOUT }; }
        if (n == 0) {
            if (reaped) { break; }
            wait_ms = 20; /* only waiting for the exit now */
        }
        if (killed) {
            wait_ms = kill_at - now < wait_ms ? kill_at - now : wait_ms;
        } else if (deadline - now < wait_ms) {
            wait_ms = deadline - now;
        }
        if (wait_ms < 0) { wait_ms = 0; }
        if (poll(pfd, n, (int)wait_ms) < 0 && errno != EINTR) { break; }
        for (nfds_t i = 0; i < n; i++) {
            if (pfd[i].revents == 0) { continue; }
            if (pfd[i].fd == so.fd) {
                if (stream_read(&so, false) < 0) {
                    close(so.fd);
                    so.fd = -1;
                }
            } else if (pfd[i].fd == se.fd) {
                if (stream_read(&se, req->stderr_to_user) < 0) {
                    close(se.fd);
                    se.fd = -1;
                }
            } else if (pfd[i].fd == in_pipe[1]) {
                ssize_t w = write(in_pipe[1], req->stdin_data + in_off, req->stdin_len - in_off);
                if (w > 0) { in_off += (size_t)w; }
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == req->stdin_len) {
                    close(in_pipe[1]); /* EOF for the child; EPIPE: it stopped reading */
                    in_pipe[1] = -1;
                }
            }
        }
    }
    if (so.fd >= 0) { close(so.fd); }
    if (se.fd >= 0) { close(se.fd); }
    if (in_pipe[1] >= 0) { close(in_pipe[1]); }
    if (!reaped) {
        terminate_group(pid, true, SIGKILL);
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {}
    }
    out->out = so.buf;
    out->out_len = so.len;
    out->err = se.buf;
    out->err_len = se.len;
    out->truncated = so.truncated || se.truncated;
    out->exit_status = status_code(status);
    if (cancelled) {
        return cbx_set_err(err, CRABBOX_E_CANCELLED, "%s: cancelled", req->argv[0]);
    }
    return CRABBOX_OK;
}
