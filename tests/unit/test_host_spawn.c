/* test_host_spawn.c — the host's process service (tools/crabbox/spawnsvc.c): argv only, the
 * given environment only, stdin from /dev/null or a buffer, capped capture, exit and signal
 * status, deadline (SIGTERM, then SIGKILL), cancellation by a pending signal. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spawnsvc.h"

TestSuite(host_spawn, .timeout = 30);

static const char *const k_env[] = { "PATH=/usr/bin:/bin", "CRABBOX_SPAWN_TEST=1", NULL };

static int run(const char *const argv[], spawn_req *req, crabbox_output *out, crabbox_err *err)
{
    req->argv = argv;
    if (req->envp == NULL) { req->envp = k_env; }
    return spawn_run(req, out, err);
}

Test(host_spawn, captures_stdout_stderr_and_status)
{
    const char *const argv[] = { "/bin/sh", "-c", "printf out; printf err >&2; exit 3", NULL };
    spawn_req req = { 0 };
    crabbox_output out;
    crabbox_err err = { 0 };
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(out.exit_status, 3);
    cr_assert_eq(out.out_len, 3);
    cr_assert_str_eq((const char *)out.out, "out");
    cr_assert_str_eq((const char *)out.err, "err");
    cr_assert_not(out.timed_out);
    cr_assert_not(out.truncated);
    spawn_output_free(&out);
    spawn_output_free(&out);
    spawn_output_free(NULL);
}

Test(host_spawn, signal_status_is_128_plus_signal)
{
    const char *const argv[] = { "/bin/sh", "-c", "kill -USR1 $$", NULL };
    spawn_req req = { 0 };
    crabbox_output out;
    crabbox_err err = { 0 };
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert_eq(out.exit_status, 128 + SIGUSR1);
    spawn_output_free(&out);
}

Test(host_spawn, only_the_given_environment)
{
    const char *const argv[] = { "/usr/bin/env", NULL };
    const char *const env[] = { "ONLY=this", NULL };
    spawn_req req = { .envp = env };
    crabbox_output out;
    crabbox_err err = { 0 };
    setenv("CRABBOX_LEAK_CHECK", "secret", 1);
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert_str_eq((const char *)out.out, "ONLY=this\n");
    spawn_output_free(&out);
}

Test(host_spawn, stdin_from_dev_null_or_a_buffer)
{
    const char *const argv[] = { "/bin/cat", NULL };
    static const uint8_t data[] = "line one\nline two\n";
    spawn_req req = { 0 };
    crabbox_output out;
    crabbox_err err = { 0 };
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert_eq(out.out_len, 0, "/dev/null: immediate EOF");
    spawn_output_free(&out);
    req = (spawn_req){ .stdin_data = data, .stdin_len = sizeof data - 1 };
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert_eq(out.out_len, sizeof data - 1);
    cr_assert_arr_eq(out.out, data, sizeof data - 1);
    spawn_output_free(&out);
}

Test(host_spawn, large_stdin_and_output_do_not_deadlock)
{
    const char *const argv[] = { "/bin/cat", NULL };
    size_t n = 3u << 20;
    uint8_t *data = malloc(n);
    spawn_req req = { .stdin_data = data, .stdin_len = n, .max_output = 1000 };
    crabbox_output out;
    crabbox_err err = { 0 };
    cr_assert_not_null(data);
    memset(data, 'x', n);
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert_eq(out.exit_status, 0);
    cr_assert_eq(out.out_len, 1000, "capped");
    cr_assert(out.truncated);
    spawn_output_free(&out);
    free(data);
}

Test(host_spawn, deadline_terminates_the_process_group)
{
    const char *const argv[] = { "/bin/sh", "-c", "sleep 20 & sleep 20; echo never", NULL };
    spawn_req req = { .deadline_ms = cbx_now_ms() + 300 };
    crabbox_output out;
    crabbox_err err = { 0 };
    int64_t t0 = cbx_now_ms();
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert(out.timed_out);
    cr_assert_eq(out.exit_status, 128 + SIGTERM);
    /* 15 s: far below the 20 s the background sleep would hold the pipe, far above what a
     * loaded 2-core machine under ASan needs (issue 17 §6: no tight timing caps). */
    cr_assert_lt(cbx_now_ms() - t0, 15000, "the background sleep holding the pipe was terminated too");
    cr_assert_eq(out.out_len, 0);
    spawn_output_free(&out);
}

Test(host_spawn, sigkill_after_the_grace_period)
{
    const char *const argv[] = { "/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done", NULL };
    spawn_req req = { .deadline_ms = cbx_now_ms() + 200 };
    crabbox_output out;
    crabbox_err err = { 0 };
    int64_t t0 = cbx_now_ms();
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    cr_assert(out.timed_out);
    cr_assert_eq(out.exit_status, 128 + SIGKILL);
    cr_assert_geq(cbx_now_ms() - t0, SPAWN_KILL_GRACE_MS);
    cr_assert_lt(cbx_now_ms() - t0, SPAWN_KILL_GRACE_MS + 15000); /* the loop never ends by itself */
    spawn_output_free(&out);
}

Test(host_spawn, a_pending_cancel_signal_stops_the_child)
{
    const char *const argv[] = { "/bin/sleep", "20", NULL };
    sigset_t cancel;
    spawn_req req = { .cancel = &cancel };
    crabbox_output out;
    crabbox_err err = { 0 };
    struct timespec zero = { 0, 0 };
    int64_t t0 = cbx_now_ms();
    sigemptyset(&cancel);
    sigaddset(&cancel, SIGUSR2);
    sigprocmask(SIG_BLOCK, &cancel, NULL);
    cr_assert_not(spawn_cancel_pending(&cancel));
    raise(SIGUSR2);
    cr_assert(spawn_cancel_pending(&cancel));
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_E_CANCELLED);
    cr_assert_eq(err.code, CRABBOX_E_CANCELLED);
    cr_assert_lt(cbx_now_ms() - t0, 15000); /* not the 20 s of the sleep */
    spawn_output_free(&out);
    cr_assert_eq(sigtimedwait(&cancel, NULL, &zero), SIGUSR2);
}

Test(host_spawn, argv0_must_be_absolute_and_exist)
{
    const char *const rel[] = { "bin/sh", NULL };
    const char *const missing[] = { "/nonexistent/prog", NULL };
    spawn_req req = { 0 };
    crabbox_output out;
    crabbox_err err = { 0 };
    cr_assert_eq(run(rel, &req, &out, &err), CRABBOX_E_FAILED);
    cr_assert_eq(run(missing, &req, &out, &err), CRABBOX_E_FAILED);
    cr_assert(strstr(err.message, "/nonexistent/prog") != NULL, "%s", err.message);
}

Test(host_spawn, resolve_uses_only_absolute_path_entries)
{
    char out[4096];
    cr_assert(spawn_resolve("sh", "relative/dir::/bin", out, sizeof out));
    cr_assert_str_eq(out, "/bin/sh");
    cr_assert(spawn_resolve("/bin/sh", NULL, out, sizeof out));
    cr_assert_not(spawn_resolve("./sh", "/bin", out, sizeof out), "relative paths with a slash");
    cr_assert_not(spawn_resolve("sh", "bin:.", out, sizeof out), "no absolute entry");
    cr_assert_not(spawn_resolve("crabbox-no-such-program", "/bin:/usr/bin", out, sizeof out));
    cr_assert_not(spawn_resolve("", "/bin", out, sizeof out));
    cr_assert_not(spawn_resolve("/etc/passwd", NULL, out, sizeof out), "not executable");
}

static void count_progress(void *ctx, const char *msg)
{
    int *n = ctx;
    cr_assert(strstr(msg, "still waiting for sleep") != NULL, "%s", msg);
    (*n)++;
}

Test(host_spawn, long_waits_report_progress)
{
    const char *const argv[] = { "/bin/sleep", "0.5", NULL };
    int calls = 0;
    spawn_req req = { .progress = count_progress, .progress_ctx = &calls, .progress_every_ms = 100 };
    crabbox_output out;
    crabbox_err err = { 0 };
    int64_t t0 = cbx_now_ms(), took;
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK);
    took = cbx_now_ms() - t0;
    cr_assert_eq(out.exit_status, 0);
    cr_assert_geq(calls, 2, "%d progress lines", calls);
    /* At most one line per 100 ms of the wait as it really took (a loaded machine stretches the
     * 0.5 s sleep; a fixed cap would fail there), plus the first. */
    cr_assert_leq(calls, took / 100 + 1, "%d progress lines in %lld ms", calls, (long long)took);
    spawn_output_free(&out);
}

Test(host_spawn, runs_in_the_given_working_directory)
{
    char dir[] = "/tmp/cbx-spawn-cwd-XXXXXX";
    const char *const argv[] = { "/bin/pwd", NULL };
    spawn_req req = { 0 };
    crabbox_output out;
    crabbox_err err = { 0 };
    char want[sizeof dir + 1];
    cr_assert_not_null(mkdtemp(dir));
    req.cwd = dir;
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(out.exit_status, 0);
    snprintf(want, sizeof want, "%s\n", dir);
    cr_assert_str_eq((const char *)out.out, want);
    spawn_output_free(&out);
    /* A directory that is gone: the program never starts (it does not run in ours instead). */
    cr_assert_eq(rmdir(dir), 0);
    memset(&req, 0, sizeof req);
    req.cwd = dir;
    cr_assert_eq(run(argv, &req, &out, &err), CRABBOX_E_FAILED);
    cr_assert(strstr(err.message, dir) != NULL, "%s", err.message);
    spawn_output_free(&out);
}
