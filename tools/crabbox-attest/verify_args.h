/* verify_args.h — the arguments of `crabbox-attest verify`, parsed and checked (verify_args.c) and
 * used by the command (verify_cmd.c). */
#ifndef CRABBOX_ATTEST_VERIFY_ARGS_H
#define CRABBOX_ATTEST_VERIFY_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle_cli.h"
#include "crabbox/verifier.h"
#include "policy.h"

#define MAX_ADVISORY_ARGS 64
#define MAX_SCRIPT_HASHES 16
#define MAX_ENV_ARGS 16

typedef struct verify_args {
    const char *info_path, *quote_path, *collateral_path, *compose_path, *trust_root_path;
    const char *pccs_url, *cache_dir, *bundle_path;
    bool no_cache;
    bool json, have_at;
    int64_t at;
    cba_policy policy;
    char *advisory_storage[MAX_ADVISORY_ARGS + 1];
    size_t num_advisories;
    const char *docker_compose_path, *script_path;
    cba_app_compose_policy acp;
    uint8_t script_hashes[MAX_SCRIPT_HASHES + 1][32]; /* + the Phala default */
    size_t num_script_hashes;
    const char *envs[MAX_ENV_ARGS + 3]; /* + DSTACK_AUTHORIZED_KEYS twice at most, NULL */
    size_t num_envs;
    bool accept_phala_default, app_compose_policy;
    bool has_nonce;
    uint8_t nonce[32];
    bool bundle_loaded;
    bundle_auth auth;
    tc_policy *file_policy;     /* --policy FILE (owned) */
    const char *cacert;         /* --pccs fetch options */
    long timeout_ms;
    int tries;
    bool pccs_from_env;
    char input_format[96];      /* what --quote turned out to be */
    char fetch_note[320];       /* why --pccs found no collateral */
} verify_args;

/* The warning printed with every verdict anchored in a --trust-root test root. */
extern const char verify_test_root_warning[];

/* usage_error reports a usage error (as JSON too with --json) and returns EXIT_USAGE. */
int verify_usage_error(const verify_args *a, const char *msg);

/* parse_args fills *a from the command line (0 or an exit code after reporting). */
int verify_parse_args(verify_args *a, int argc, char **argv);

#endif
