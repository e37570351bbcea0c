/* session.h — sessions on a verified lease: ssh, the work tree sync (rsync) and --env values.
 *
 * Every session is opened with the token the gate minted (admission.h); nothing here decides
 * whether a lease may be used, beyond refusing a host key pinned without a binding quote. */
#ifndef CRABBOX_HOST_SESSION_H
#define CRABBOX_HOST_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

typedef struct session_request {
    char **cmd;                  /* the remote command, or NULL (cmd_count 0) for an interactive shell */
    int cmd_count;
    bool sync;                   /* copy the current directory to the work root first (run) */
    const char *const *env_names; /* --env: names whose values reach the command (not a shell) */
    size_t num_env;
    bool allow_info_only;        /* allowInfoOnlyAttestation: a host key no quote bound may be used */
} session_request;

/* session_exec opens a session on `lease` with `tok`, syncs the work tree (req->sync), hands the
 * --env values over and runs the command (or an interactive shell). Returns the program's exit
 * status, or an exit status after reporting an error. */
int session_exec(app *a, const claim *c, const crabbox_lease *lease, const crabbox_attest_token *tok,
                 const session_request *req);

#endif
