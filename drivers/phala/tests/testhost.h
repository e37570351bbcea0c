/* testhost.h — a minimal crabbox_host for driver tests: posix_spawn with pipes, deadlines and
 * output caps, a config table, a state dir, a log buffer, and a clock that can run fast so that
 * the driver's production waits (30 s adoption window) fit in a test. Not the real host. */
#ifndef PHALA_TESTHOST_H
#define PHALA_TESTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crabbox/driver.h"

#define TH_MAX_CFG 16

typedef struct th_host {
    crabbox_host host;             /* host.ctx points back here */
    char state_dir[512];
    const char *cfg_key[TH_MAX_CFG];
    const char *cfg_val[TH_MAX_CFG];
    size_t num_cfg;
    int64_t clock_scale;           /* host ms per real ms (default 1) */
    int64_t deadline_cap_ms;       /* real ms; 0 = no cap: kill a child earlier than asked */
    bool cancel;
    char *log;                     /* every log/progress line, '\n'-separated */
    size_t log_len, log_cap;
    int num_spawns;
    bool saw_no_cwd;               /* a spawn without a working directory (the driver sets one) */
    bool saw_bad_deadline;         /* a spawn without a deadline: the driver must always set one */
} th_host;

void th_init(th_host *h, const char *state_dir);
void th_cleanup(th_host *h);
void th_config(th_host *h, const char *key, const char *value);
/* th_spawn is the host's spawn, also usable by tests to run helper programs. */
int th_spawn(void *ctx, const char *const argv[], const crabbox_spawn_opts *opts,
             crabbox_output *out, crabbox_err *err);
void th_output_free(void *ctx, crabbox_output *out);
bool th_log_has(const th_host *h, const char *needle);

#endif
