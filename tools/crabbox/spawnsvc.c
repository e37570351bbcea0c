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

static void close_fd(int *fd)
{
    if (*fd >= 0) { close(*fd); }
    *fd = -1;
}

/* The pipes of a captured child: [0] read end, [1] write end; -1 when not open. */
typedef struct pipes {
    int out[2], err[2], in[2];
} pipes;

static int open_pipes(const spawn_req *req, pipes *p, crabbox_err *err)
{
    *p = (pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 } };
    if (pipe2(p->out, O_CLOEXEC) != 0 || pipe2(p->err, O_CLOEXEC) != 0 ||
        (req->stdin_data != NULL && pipe2(p->in, O_CLOEXEC) != 0)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            close_fd(&p->out[i]);
            close_fd(&p->err[i]);
        }
        return cbx_set_err(err, CRABBOX_E_FAILED, "spawn %s: pipe: %s", req->argv[0], strerror(e));
    }
    return CRABBOX_OK;
}

/* start_child posix_spawns the program: a clean signal state; captured, in its own process group
 * with the pipes as stdin (or /dev/null), stdout and stderr. 0 or an errno. */
static int start_child(const spawn_req *req, const pipes *p, bool capture, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t empty, all;
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    int rc = 0;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigemptyset(&empty);
    sigfillset(&all);
    /* The host blocks its cancel signals and ignores SIGPIPE; the child starts clean. */
    if (capture) { flags |= POSIX_SPAWN_SETPGROUP; }
    posix_spawnattr_setflags(&attr, flags);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    if (capture) {
        if (req->stdin_data != NULL) {
            posix_spawn_file_actions_adddup2(&fa, p->in[0], STDIN_FILENO);
        } else {
            posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        }
        posix_spawn_file_actions_adddup2(&fa, p->out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, p->err[1], STDERR_FILENO);
    }
    if (req->cwd != NULL) {
        /* glibc >= 2.29; a failed chdir makes posix_spawn fail (the child never runs elsewhere). */
        rc = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
    }
    if (rc == 0) {
        rc = posix_spawn(pid, req->argv[0], &fa, &attr, (char *const *)req->argv, (char *const *)req->envp);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* A captured child under supervision. */
typedef struct child {
    const spawn_req *req;
    pid_t pid;
    stream out, err;
    int in_fd; /* the write end of its stdin; -1 once closed */
    size_t in_off;
    int status;
    bool reaped, cancelled, killed, timed_out;
    int64_t started, deadline, kill_at, next_progress;
} child;

static void child_init(child *ch, const spawn_req *req, pid_t pid, const pipes *p)
{
    *ch = (child){ .req = req, .pid = pid, .in_fd = p->in[1] };
    ch->out = (stream){ .fd = p->out[0] };
    ch->err = (stream){ .fd = p->err[0] };
    ch->out.cap = ch->err.cap = req->max_output != 0 ? req->max_output : SPAWN_DEFAULT_MAX_OUTPUT;
    (void)fcntl(ch->out.fd, F_SETFL, O_NONBLOCK);
    (void)fcntl(ch->err.fd, F_SETFL, O_NONBLOCK);
    if (ch->in_fd >= 0) {
        (void)fcntl(ch->in_fd, F_SETFL, O_NONBLOCK);
        if (req->stdin_len == 0) { close_fd(&ch->in_fd); }
    }
    ch->deadline = req->deadline_ms != 0 ? req->deadline_ms : cbx_now_ms() + SPAWN_DEFAULT_TIMEOUT_MS;
    ch->started = cbx_now_ms();
    ch->next_progress = req->progress != NULL && req->progress_every_ms > 0 ? ch->started + req->progress_every_ms
                                                                             : INT64_MAX;
}

/* enforce_deadline terminates the child at its deadline or on a cancel signal (SIGTERM, then
 * SIGKILL after the grace period, when reading stops too). */
static void enforce_deadline(child *ch, int64_t now)
{
    if (!ch->killed && (now >= ch->deadline || (!ch->cancelled && spawn_cancel_pending(ch->req->cancel)))) {
        if (now >= ch->deadline) {
            ch->timed_out = true;
        } else {
            ch->cancelled = true;
        }
        terminate_group(ch->pid, true, SIGTERM);
        ch->killed = true;
        ch->kill_at = now + SPAWN_KILL_GRACE_MS;
    } else if (ch->killed && now >= ch->kill_at) {
        terminate_group(ch->pid, true, SIGKILL);
        ch->kill_at = now + 60000;
        /* Whatever still holds the pipes open is gone or ignores us: stop reading. */
        close_fd(&ch->out.fd);
        close_fd(&ch->err.fd);
    }
}

static void report_progress(child *ch, int64_t now)
{
    char msg[160];
    const char *base;
    if (now < ch->next_progress) { return; }
    base = strrchr(ch->req->argv[0], '/');
    snprintf(msg, sizeof msg, "still waiting for %.60s (%llds)", base != NULL ? base + 1 : ch->req->argv[0],
             (long long)((now - ch->started) / 1000));
    ch->req->progress(ch->req->progress_ctx, msg);
    ch->next_progress = now + ch->req->progress_every_ms;
}

/* reap collects the child's exit without waiting; its stdin closes then (nobody reads it). */
static void reap(child *ch)
{
    if (!ch->reaped) {
        pid_t w = waitpid(ch->pid, &ch->status, WNOHANG);
        if (w == ch->pid) {
            ch->reaped = true;
        } else if (w < 0 && errno != EINTR) {
            ch->reaped = true;
            ch->status = 255 << 8;
        }
    }
    if (ch->reaped) { close_fd(&ch->in_fd); }
}

static nfds_t fill_pollfds(const child *ch, struct pollfd pfd[3])
{
    nfds_t n = 0;
    if (ch->out.fd >= 0) { pfd[n++] = (struct pollfd){ .fd = ch->out.fd, .events = POLLIN }; }
    if (ch->err.fd >= 0) { pfd[n++] = (struct pollfd){ .fd = ch->err.fd, .events = POLLIN }; }
    if (ch->in_fd >= 0) { pfd[n++] = (struct pollfd){ .fd = ch->in_fd, .events = POLLOUT }; }
    return n;
}

/* poll_timeout: at most 100 ms (20 ms when only the exit is awaited), never past the deadline or
 * the SIGKILL time. */
static int poll_timeout(const child *ch, int64_t now, nfds_t n)
{
    int64_t wait_ms = n == 0 ? 20 : 100;
    if (ch->killed) {
        wait_ms = ch->kill_at - now < wait_ms ? ch->kill_at - now : wait_ms;
    } else if (ch->deadline - now < wait_ms) {
        wait_ms = ch->deadline - now;
    }
    return wait_ms < 0 ? 0 : (int)wait_ms;
}

static void feed_stdin(child *ch)
{
    ssize_t w = write(ch->in_fd, ch->req->stdin_data + ch->in_off, ch->req->stdin_len - ch->in_off);
    if (w > 0) { ch->in_off += (size_t)w; }
    if ((w < 0 && errno != EAGAIN && errno != EINTR) || ch->in_off == ch->req->stdin_len) {
        close_fd(&ch->in_fd); /* EOF for the child; EPIPE: it stopped reading */
    }
}

static void handle_ready(child *ch, const struct pollfd *pfd, nfds_t n)
{
    for (nfds_t i = 0; i < n; i++) {
        if (pfd[i].revents == 0) { continue; }
        if (pfd[i].fd == ch->out.fd) {
            if (stream_read(&ch->out, false) < 0) { close_fd(&ch->out.fd); }
        } else if (pfd[i].fd == ch->err.fd) {
            if (stream_read(&ch->err, ch->req->stderr_to_user) < 0) { close_fd(&ch->err.fd); }
        } else if (pfd[i].fd == ch->in_fd) {
            feed_stdin(ch);
        }
    }
}

/* supervise reads the child's output, feeds its stdin and enforces its deadline until it exited
 * and its pipes are drained; then nothing of it is left running. */
static void supervise(child *ch)
{
    while (ch->out.fd >= 0 || ch->err.fd >= 0 || ch->in_fd >= 0 || !ch->reaped) {
        struct pollfd pfd[3];
        nfds_t n;
        int64_t now = cbx_now_ms();
        enforce_deadline(ch, now);
        report_progress(ch, now);
        reap(ch);
        n = fill_pollfds(ch, pfd);
        if (n == 0 && ch->reaped) { break; }
        if (poll(pfd, n, poll_timeout(ch, now, n)) < 0 && errno != EINTR) { break; }
        handle_ready(ch, pfd, n);
    }
    close_fd(&ch->out.fd);
    close_fd(&ch->err.fd);
    close_fd(&ch->in_fd);
    if (!ch->reaped) {
        terminate_group(ch->pid, true, SIGKILL);
        while (waitpid(ch->pid, &ch->status, 0) == -1 && errno == EINTR) {}
    }
}

int spawn_run(const spawn_req *req, crabbox_output *out, crabbox_err *err)
{
    pipes p = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
    child ch;
    pid_t pid;
    int rc;
    const bool capture = !req->interactive;

    memset(out, 0, sizeof *out);
    if (req->argv == NULL || req->argv[0] == NULL || req->argv[0][0] != '/') {
        return cbx_set_err(err, CRABBOX_E_FAILED, "spawn: program path must be absolute");
    }
    if (capture && (rc = open_pipes(req, &p, err)) != CRABBOX_OK) { return rc; }
    rc = start_child(req, &p, capture, &pid);
    close_fd(&p.out[1]);
    close_fd(&p.err[1]);
    close_fd(&p.in[0]);
    if (rc != 0) {
        close_fd(&p.out[0]);
        close_fd(&p.err[0]);
        close_fd(&p.in[1]);
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot run %s%s%s: %s", req->argv[0],
                           req->cwd != NULL ? " in " : "", req->cwd != NULL ? req->cwd : "", strerror(rc));
    }
    if (!capture) {
        rc = wait_interactive(pid, out);
        if (rc != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "waiting for %s: %s", req->argv[0], strerror(rc)); }
        return CRABBOX_OK;
    }
    child_init(&ch, req, pid, &p);
    supervise(&ch);
    out->out = ch.out.buf;
    out->out_len = ch.out.len;
    out->err = ch.err.buf;
    out->err_len = ch.err.len;
    out->truncated = ch.out.truncated || ch.err.truncated;
    out->timed_out = ch.timed_out;
    out->exit_status = status_code(ch.status);
    if (ch.cancelled) { return cbx_set_err(err, CRABBOX_E_CANCELLED, "%s: cancelled", req->argv[0]); }
    return CRABBOX_OK;
}

