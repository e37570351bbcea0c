/* spawnsvc.h — the host's process service: posix_spawn with an argv vector (never a shell), an
 * explicit minimal environment, stdin from /dev/null or a pipe, stdout/stderr captured up to a
 * cap, and a deadline (SIGTERM to the child's process group, then SIGKILL). */
#ifndef CRABBOX_HOST_SPAWNSVC_H
#define CRABBOX_HOST_SPAWNSVC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crabbox/driver.h"
#include "util.h"

#define SPAWN_DEFAULT_MAX_OUTPUT ((size_t)1 << 20)
#define SPAWN_DEFAULT_TIMEOUT_MS INT64_C(600000) /* 10 minutes when the caller gives no deadline */
#define SPAWN_KILL_GRACE_MS INT64_C(2000)        /* SIGTERM .. SIGKILL */

typedef struct spawn_req {
    const char *const *argv;  /* argv[0] absolute (see spawn_resolve) */
    const char *const *envp;  /* the complete environment */
    const char *cwd;          /* NULL = inherit */
    const uint8_t *stdin_data; /* NULL = /dev/null (unless interactive) */
    size_t stdin_len;
    bool interactive;         /* inherit the terminal: stdin/stdout/stderr, same process group,
                                 nothing captured (ssh, the command of `run`) */
    bool stderr_to_user;      /* also copy stderr to our stderr as it arrives */
    size_t max_output;        /* per stream; 0 = SPAWN_DEFAULT_MAX_OUTPUT */
    int64_t deadline_ms;      /* absolute cbx_now_ms(); 0 = none for interactive, else default */
    const sigset_t *cancel;   /* signals that cancel the wait when pending (blocked by the host) */
    /* progress: called every progress_every_ms while the program runs (long waits say so). */
    void (*progress)(void *ctx, const char *msg);
    void *progress_ctx;
    int64_t progress_every_ms;
} spawn_req;

/* spawn_run runs the program and waits for it. CRABBOX_OK means it ran (see out->exit_status,
 * out->timed_out); CRABBOX_E_CANCELLED after a cancel signal (the child is terminated);
 * CRABBOX_E_FAILED when it could not be started. out's buffers are freed with spawn_output_free. */
CBX_MUST_USE int spawn_run(const spawn_req *req, crabbox_output *out, crabbox_err *err);
void spawn_output_free(crabbox_output *out); /* NULL-safe */

/* spawn_resolve turns a program name into an absolute path: a name with a '/' must already be
 * absolute; a bare name is searched in the absolute directories of `path` (colon-separated).
 * The result must be a regular executable file. */
CBX_MUST_USE bool spawn_resolve(const char *name, const char *path, char *out, size_t out_len);

/* spawn_cancel_pending is true when one of the cancel signals is pending. */
bool spawn_cancel_pending(const sigset_t *cancel);

#endif
