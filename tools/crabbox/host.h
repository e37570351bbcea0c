/* host.h — the crabbox host program: one `app` per invocation, the services table handed to the
 * driver, the commands.
 *
 * The host's modules, from the command line down:
 *   main.c        the command line and the command table
 *   commands.c    the commands (warmup, run, ssh, attest, status, stop, list, cleanup, pins),
 *   doctor.c      doctor
 *   session.c     sessions on a verified lease: ssh, rsync of the work tree, --env
 *   lifecycle.c   a lease's claim: intent -> create -> verify -> ready -> release (lease_request)
 *   admission.c   may the lease be used: the gate with the user's policy, labels, evidence
 *                 bundle, known_hosts pin, measurement pins, root's keys (admission_policy)
 *   gate.c        nonce, evidence, verifier, token (with libcrabbox-attest's bindings, bundle.h)
 *   attestlib.c   collateral fetch and saving/reading bundles (libcrabbox-attest)
 *   hostsvc.c     setup, the driver's services table, spawning, errors; config.c, state.c,
 *                 pins.c, prelaunch.c, loader.c, spawnsvc.c, util.c below them
 * Configuration is read at setup and when a command resolves its lease_request or
 * admission_policy; the lifecycle and admission steps themselves read none. */
#ifndef CRABBOX_HOST_HOST_H
#define CRABBOX_HOST_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "crabbox/driver.h"
#include "gate.h"
#include "loader.h"
#include "state.h"
#include "util.h"

/* Exit codes (crabbox --help, docs/driver-abi.md §Exit codes; phala-provider.md §12). */
enum {
    CBX_EXIT_OK = 0,
    CBX_EXIT_FAILURE = 1,     /* general failure (also auth, quota, network) */
    CBX_EXIT_USAGE = 2,       /* bad usage or configuration, unusable driver */
    CBX_EXIT_ATTESTATION = 3, /* attestation evidence missing or rejected */
    CBX_EXIT_NOT_FOUND = 4,   /* lease not found, or ownership refused */
    CBX_EXIT_MALFORMED = 5,   /* malformed provider output, provider timeout */
    CBX_EXIT_CANCELLED = 130, /* SIGINT/SIGTERM */
};

#define HOST_MAX_FLAGS 32
#define HOST_MAX_POSITIONAL 4

typedef struct app {
    /* command line */
    const char *command;
    const char *positional[HOST_MAX_POSITIONAL];
    size_t num_positional;
    char **cmd; /* run -- CMD... */
    int num_cmd;
    bool json, verbose, keep, dry_run, help, version;
    bool no_sync, wait;          /* run --no-sync; status --wait */
    const char *env_names[32];   /* run --env NAME... */
    size_t num_env;
    const char *id_opt, *slug_opt, *type_opt, *trust_root_path, *collateral_opt, *forget_opt;
    bool require_collateral_flag, no_require_collateral_flag;
    int class_pos; /* argv index of --class, or -1 */
    cfg_flag flags[HOST_MAX_FLAGS];
    bool flag_name_owned[HOST_MAX_FLAGS];
    size_t num_flags;

    /* resolved */
    config cfg;
    state st;
    loaded_driver ld;
    const crabbox_driver *d;
    void *drv;
    crabbox_host host;
    gate_keys keys;
    sigset_t cancel;
    bool cancel_seen; /* a cancel signal arrived and was consumed (host_cancel_poll) */
    char **env; /* the environment of the driver's programs (with the provider's credentials) */
    char **session_env; /* the environment of session programs (ssh, rsync): base variables only */
    char display[32]; /* "Phala" */
    char cvm_key[48]; /* "phala_cvm" */
    char scope[96];
    int64_t ttl, idle;
    cbx_buf collateral, trust_root;
    char collateral_source[PATH_MAX + 8];
    bool require_collateral;
} app;

/* app_setup loads config, state and the driver and opens it. Returns a crabbox_code. */
CBX_MUST_USE int app_setup(app *a, crabbox_err *err);
void app_teardown(app *a);

/* host_cancel_poll: true once SIGINT/SIGTERM arrived; consumes the pending signal so that later
 * spawns (rollback deletes) run and only a new signal interrupts them (hostsvc.c). */
bool host_cancel_poll(app *a);

/* host_spawn is the host->spawn service (also used by the host itself). */
int host_spawn(void *ctx, const char *const argv[], const crabbox_spawn_opts *opts, crabbox_output *out,
               crabbox_err *err);
/* host_spawn_plain is host_spawn for the host's own helpers (ssh-keygen): the base environment,
 * without the driver's env_passthrough (provider credentials). */
int host_spawn_plain(app *a, const char *const argv[], const crabbox_spawn_opts *opts, crabbox_output *out,
                     crabbox_err *err);
/* host_run_interactive runs argv with the terminal (ssh, the command of `run`); returns the
 * program's exit status or -1 with err set. */
int host_run_interactive(app *a, const char *const argv[], crabbox_err *err);
/* host_run_session runs a session program (session environment); with stdin_data it is fed that
 * and its stdout is discarded (stderr still reaches the user). Exit status or -1 with err set. */
int host_run_session(app *a, const char *const argv[], const uint8_t *stdin_data, size_t stdin_len, crabbox_err *err);

/* exit_code maps a crabbox_code to the process exit status. */
int exit_code(int code);

/* The commands; each returns the exit status. */
int cmd_warmup(app *a);
int cmd_run(app *a);
int cmd_ssh(app *a);
int cmd_list(app *a);
int cmd_stop(app *a);
int cmd_doctor(app *a);
int cmd_cleanup(app *a);
int cmd_attest(app *a);
int cmd_status(app *a);
int cmd_pins(app *a);

/* report_error prints an error (as JSON on stdout with --json) and returns its exit status. */
int report_error(app *a, int code, const char *msg, const char *failed_check);
/* report_failure is report_error for a crabbox_err (CRABBOX_E_FAILED when it has no code). */
int report_failure(app *a, const crabbox_err *err);

/* doctor_next says what to do about a problem of this kind (crabbox_err code); never NULL. */
const char *doctor_next(int code);

#endif
