/* main.c — `crabbox`: lease attested boxes through a lease-driver plugin. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "host.h"
#include "spawnsvc.h"

static const char k_usage[] =
    "usage: crabbox [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Leases a confidential VM through a lease-driver plugin and hands it out only after its TDX\n"
    "attestation evidence verified (on this machine, with a fresh nonce bound to the SSH host key).\n"
    "\n"
    "Commands:\n"
    "  warmup                     acquire a lease and leave it running\n"
    "  run [--id X] [--keep] -- CMD...   sync the current directory to the lease, then run a command\n"
    "                             on a new lease (released afterwards unless --keep) or on lease X\n"
    "                             (verified again first); --no-sync, --env NAME\n"
    "  ssh ID                     an interactive shell on a lease (verified again first)\n"
    "  list [--json]              leases that have both a local claim and a CVM\n"
    "  stop ID                    destroy a lease (id or slug), then drop its claim and key\n"
    "  attest ID                  verify a running lease again with fresh evidence\n"
    "  status ID [--wait]         a lease's state; --wait: until it answers over a verified session\n"
    "  cleanup [--dry-run]        sweep expired, failed and abandoned leases; drop stale claims\n"
    "  pins [--forget KEY]        list the measurement pins (MRTD, RTMR0-2 per provider/instance\n"
    "                             type/OS image, pinned on first use), or drop one\n"
    "  doctor                     check the driver, the provider and the local setup\n"
    "\n"
    "Options (every command):\n"
    "  --provider NAME            lease driver: phala (aliases phala-cloud, dstack), ... (default phala)\n"
    "  --class CLASS              standard | fast | large | beast (or an instance type)\n"
    "  --type TYPE                explicit instance type (beats --class)\n"
    "  --ttl DURATION             lease lifetime (default 90m); --idle-timeout DURATION (default 30m)\n"
    "  --slug NAME                a memorable name for the lease\n"
    "  --collateral FILE          Intel DCAP collateral (QuoteCollateralV3 JSON) for the DCAP checks;\n"
    "                             without it the host uses its cache, else fetches it (Intel PCS, or\n"
    "                             pccsUrl / CRABBOX_PCCS_URL); when none can be had the lease is\n"
    "                             refused (collateralFetch: false: never fetch)\n"
    "  --require-collateral       refuse the lease when there is no verified collateral (the default)\n"
    "  --no-require-collateral    without verified collateral, skip the DCAP checks with a warning\n"
    "                             (labelled dcap=skipped) instead of refusing the lease\n"
    "  --accept-tcb-status LIST, --allowed-advisories LIST, --min-tcb-evaluation-number N,\n"
    "  --max-collateral-age-seconds N, --mrtd HEX[,HEX...], --rtmr0..--rtmr3, --mrseam,\n"
    "  --mrsignerseam, --mrconfigid, --mrowner, --mrownerconfig, --xfam, --td-attributes,\n"
    "  --os-image-hash (lists of\n"
    "  allowed values), --min-tee-tcb-svn HEX, --min-qe-isvsvn N, --min-pcesvn N\n"
    "                             the verifier policy; also config keys (acceptTcbStatus, mrtd, ...,\n"
    "                             the vocabulary of 'crabbox-attest verify --policy') and CRABBOX_MRTD,\n"
    "                             ...; a repository file can only tighten it (see docs/user-guide.md)\n"
    "  --<driver>-<key> VALUE     a driver setting, e.g. --phala-instance-type tdx.medium\n"
    "  --<driver>-skip-attestation  turn attestation off (the lease is labelled attested=false)\n"
    "  --trust-root FILE          TEST ONLY: trust this root (DER) instead of Intel's SGX Root CA\n"
    "                             (also CRABBOX_TEST_TRUST_ROOT)\n"
    "  --json                     machine-readable output on stdout\n"
    "  -v, --verbose              debug messages; -h, --help: this text (COMMAND --help: the command's)\n"
    "  -V, --version              print the version\n"
    "\n"
    "Configuration: $XDG_CONFIG_HOME/crabbox/config.yaml and CRABBOX_CONFIG (trusted), crabbox.yaml and\n"
    ".crabbox.yaml in the current directory (untrusted: cli, nodeId, compose, collateral, pccsUrl,\n"
    "allowInfoOnlyAttestation and acceptPhalaDefaultPreLaunchScript are ignored, attest and\n"
    "requireCollateral only count when true), CRABBOX_* variables, flags; later wins. Drivers: CRABBOX_DRIVER_PATH, then\n"
    "the install directory. State: $XDG_STATE_HOME/crabbox (claims, locks, evidence bundles, pins,\n"
    "bundle.key).\n"
    "\n"
    "Exit status: 0 success; 1 failure; 2 usage, configuration or unusable driver; 3 attestation\n"
    "missing or rejected (the lease was destroyed unless --keep); 4 lease not found or not ours;\n"
    "5 malformed provider output or provider timeout; 130 interrupted. `run` and `ssh` exit with the\n"
    "remote command's status once it ran.\n";

typedef struct command {
    const char *name, *usage, *opts; /* opts: the command-specific options it accepts */
    int positional;                  /* required positional arguments */
    int (*run)(app *a);              /* the command (commands.c, doctor.c): the exit status */
} command;

static const command k_commands[] = {
    { "warmup", "crabbox warmup [--keep] [--slug NAME] [--class C] [OPTIONS]\n"
                "Acquires a lease: intent claim, key, create, verify attestation, ready. Prints\n"
                "`provisioned lease=ID <driver>_cvm=ID state=ready` (or the claim as JSON).\n",
                "keep,slug", 0, cmd_warmup },
    { "run", "crabbox run [--id ID] [--keep] [--no-sync] [--env NAME]... [OPTIONS] -- COMMAND [ARGS...]\n"
             "Without --id: acquire a lease, run the command over ssh, release it unless --keep.\n"
             "With --id: verify lease ID again (fresh evidence), then run the command on it.\n"
             "First the current directory is copied to the lease's work root with rsync (-a --delete;\n"
             "/.git and what .gitignore files exclude are skipped; never from / or your home directory),\n"
             "and the command runs there. --no-sync skips the copy. --env NAME (repeatable) gives the\n"
             "command this variable's local value; values travel over the verified ssh session, never on a\n"
             "command line. Exits with the command's status.\n",
             "keep,slug,id,no-sync,env", 0, cmd_run },
    { "ssh", "crabbox ssh ID [OPTIONS]\n"
             "Verifies lease ID again (fresh evidence), then opens an interactive ssh session.\n",
             "", 1, cmd_ssh },
    { "list", "crabbox list [--json] [OPTIONS]\n"
              "Lists the leases that are both claimed locally (in this scope) and present at the provider.\n",
              "", 0, cmd_list },
    { "stop", "crabbox stop ID [OPTIONS]\n"
              "Destroys lease ID (lease id or slug; the claim must exist and name the CVM), then removes\n"
              "the claim and the lease key. Prints `released lease=ID <driver>_cvm=ID`.\n",
              "", 1, cmd_stop },
    { "attest", "crabbox attest ID [OPTIONS]\n"
                "Fetches fresh evidence for lease ID and verifies it (even with attestation turned off).\n"
                "Saves an evidence bundle (crabbox-attest verify --bundle FILE re-verifies it). Evidence\n"
                "that is rejected destroys the lease unless it was kept; evidence that cannot be fetched\n"
                "(or an interrupt) leaves the lease running, with no session opened.\n",
                "", 1, cmd_attest },
    { "status", "crabbox status ID [--wait] [--json] [OPTIONS]\n"
                "Prints lease ID's local state, the provider's status and the attestation labels. --wait\n"
                "waits (up to the driver's SSH wait) until the provider reports it running, then verifies it\n"
                "again and runs `true` over ssh; exit 0 once it answered.\n",
                "wait", 1, cmd_status },
    { "cleanup", "crabbox cleanup [--dry-run] [OPTIONS]\n"
                 "Destroys leases that expired (idle timeout or TTL), failed, were abandoned by a command\n"
                 "that died, or need a rollback; removes claims whose CVM is gone. Kept leases and leases in\n"
                 "use are skipped. --dry-run only prints what it would do.\n",
                 "dry-run", 0, cmd_cleanup },
    { "pins", "crabbox pins [--forget KEY] [--json] [OPTIONS]\n"
              "Lists the measurement pins: MRTD and RTMR0-2 recorded per provider/instance type/OS image hash\n"
              "the first time a lease verified (later leases with other values are refused). --forget KEY\n"
              "drops one (the next lease under KEY is pinned again).\n",
              "forget", 0, cmd_pins },
    { "doctor", "crabbox doctor [--json] [OPTIONS]\n"
                "Checks the driver (path, ABI), the provider (the driver's own checks), ssh-keygen and the\n"
                "state directory; prints the effective configuration with --json.\n",
                "", 0, cmd_doctor },
};

static bool opt_allowed(const char *opts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = opts; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) { return true; }
        p += len + (comma != NULL ? 1 : 0);
    }
    return false;
}

__attribute__((format(printf, 2, 3))) static int usage_error(app *a, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    report_error(a, CRABBOX_E_USAGE, msg, NULL);
    if (!a->json) { fprintf(stderr, "Try 'crabbox --help'.\n"); }
    return CBX_EXIT_USAGE;
}

/* Host options that take a value. */
static const char *const k_value_opts[] = { "provider", "class", "type", "ttl", "idle-timeout", "slug",
                                            "collateral", "trust-root", "id", "env", "forget", NULL };

/* The verifier policy keys (tools/common/policy.h) as flags: --accept-tcb-status LIST, --mrtd
 * HEX[,HEX...], --min-pcesvn N, ... (trusted, like every flag). reportData is not one: the host
 * binds report data to its nonce per lease. */
static const char *const k_policy_keys[] = { "acceptTcbStatus", "allowedAdvisories", "minTcbEvaluationNumber",
                                             "maxCollateralAgeSeconds", "mrtd", "rtmr0", "rtmr1", "rtmr2",
                                             "rtmr3", "mrseam", "mrsignerseam", "mrconfigid", "mrowner",
                                             "mrownerconfig", "xfam", "tdAttributes", "osImageHash", "minTeeTcbSvn",
                                             "minQeIsvsvn", "minPcesvn", NULL };

static const char *policy_flag_key(const char *name)
{
    for (size_t i = 0; k_policy_keys[i] != NULL; i++) {
        char kebab[64];
        config_kebab(kebab, sizeof kebab, k_policy_keys[i]);
        if (strcmp(kebab, name) == 0) { return k_policy_keys[i]; }
    }
    return NULL;
}

static bool takes_value(const char *name)
{
    for (size_t i = 0; k_value_opts[i] != NULL; i++) {
        if (strcmp(k_value_opts[i], name) == 0) { return true; }
    }
    return policy_flag_key(name) != NULL;
}

static bool env_name_valid(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 128 || (s[0] >= '0' && s[0] <= '9')) { return false; }
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            return false;
        }
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* switch_field: the flag a host switch (an option without a value) sets, or NULL. */
static bool *switch_field(app *a, const char *name)
{
    static const char *const k_switches[] = { "json", "keep", "dry-run", "require-collateral",
                                              "no-require-collateral", "no-sync", "wait" };
    bool *const fields[] = { &a->json, &a->keep, &a->dry_run, &a->require_collateral_flag,
                             &a->no_require_collateral_flag, &a->no_sync, &a->wait };
    for (size_t i = 0; i < sizeof k_switches / sizeof k_switches[0]; i++) {
        if (strcmp(k_switches[i], name) == 0) { return fields[i]; }
    }
    return NULL;
}

/* add_config_flag records a flag that is a setting (--class, --ttl, a policy key, ...) at its
 * argv position. -1 to go on, else an exit status. */
static int add_config_flag(app *a, const char *name, const char *value, int at)
{
    static const struct { const char *flag, *key; } k_map[] = {
        { "provider", "provider" }, { "class", "class" }, { "ttl", "ttl" },
        { "idle-timeout", "idleTimeout" }, { "collateral", "collateral" } };
    crabbox_err err;
    char where[160];
    snprintf(where, sizeof where, "flag --%s", name);
    for (size_t k = 0; k < sizeof k_map / sizeof k_map[0]; k++) {
        if (strcmp(k_map[k].flag, name) != 0) { continue; }
        if (config_add(&a->cfg, NULL, k_map[k].key, value, CFG_LEVEL_FLAG, true, at, where, &err) != CRABBOX_OK) {
            return report_error(a, err.code, err.message, NULL);
        }
    }
    if (policy_flag_key(name) != NULL &&
        config_add(&a->cfg, NULL, policy_flag_key(name), value, CFG_LEVEL_FLAG, true, at, where, &err) != CRABBOX_OK) {
        return report_error(a, err.code, err.message, NULL);
    }
    if (strcmp(name, "class") == 0) { a->class_pos = at; }
    return -1;
}

/* take_value_option stores a host option that takes a value. -1 to go on, else an exit status. */
static int take_value_option(app *a, const char *name, const char *value, int at)
{
    if (strcmp(name, "id") == 0) {
        a->id_opt = value;
    } else if (strcmp(name, "env") == 0) {
        if (!env_name_valid(value)) {
            return usage_error(a, "--env takes a variable name ([A-Za-z_][A-Za-z0-9_]*), not '%.60s'", value);
        }
        if (a->num_env == sizeof a->env_names / sizeof a->env_names[0]) {
            return usage_error(a, "too many --env options");
        }
        a->env_names[a->num_env++] = value;
    } else if (strcmp(name, "slug") == 0) {
        a->slug_opt = value;
    } else if (strcmp(name, "forget") == 0) {
        a->forget_opt = value;
    } else if (strcmp(name, "type") == 0) {
        a->type_opt = value;
    } else if (strcmp(name, "trust-root") == 0) {
        a->trust_root_path = value;
    } else {
        return add_config_flag(a, name, value, at);
    }
    return -1;
}

/* add_driver_flag records --<driver>-<key> [VALUE] (checked once the driver is known). *i moves
 * past a separate value. -1 to go on, else an exit status. */
static int add_driver_flag(app *a, int argc, char **argv, int *i, const char *name, const char *eq,
                           const char *value)
{
    const char *arg = argv[*i];
    const int at = *i;
    if (strchr(name, '-') == NULL) { return usage_error(a, "unknown option '%s'", arg); }
    if (a->num_flags == HOST_MAX_FLAGS) { return usage_error(a, "too many driver options"); }
    if (value == NULL && !ends_with(name, "-attest") && !ends_with(name, "-skip-attestation")) {
        if (*i + 1 >= argc) { return usage_error(a, "%s needs a value", arg); }
        value = argv[++*i];
    }
    a->flags[a->num_flags] = (cfg_flag){ .name = arg + 2, .value = value, .argpos = at };
    if (eq != NULL) {
        /* The name ends at '=': keep a copy without the value. */
        char *copy = strndup(arg + 2, (size_t)(eq - arg - 2));
        if (copy == NULL) { return report_error(a, CRABBOX_E_FAILED, "out of memory", NULL); }
        a->flags[a->num_flags].name = copy;
        a->flag_name_owned[a->num_flags] = true;
    }
    a->num_flags++;
    return -1;
}

/* take_long_option handles argv[*i], a "--name[=value]" option; *i moves past a separate value.
 * The host options used are remembered in used_opts. -1 to go on, else an exit status. */
static int take_long_option(app *a, int argc, char **argv, int *i, const char **used_opts, size_t *num_used)
{
    char name[128];
    const char *arg = argv[*i], *value = NULL, *eq = strchr(arg + 2, '=');
    const int at = *i; /* the option's own index (a separate value may follow) */
    bool *flag;
    snprintf(name, sizeof name, "%.*s", eq != NULL ? (int)(eq - arg - 2) : (int)strlen(arg + 2), arg + 2);
    if (eq != NULL) { value = eq + 1; }
    if ((flag = switch_field(a, name)) != NULL) {
        if (value != NULL) { return usage_error(a, "--%s takes no value", name); }
        *flag = true;
        if (*num_used < 64) { used_opts[(*num_used)++] = arg + 2; }
        return -1;
    }
    if (!takes_value(name)) { return add_driver_flag(a, argc, argv, i, name, eq, value); }
    if (value == NULL) {
        if (*i + 1 >= argc) { return usage_error(a, "%s needs a value", arg); }
        value = argv[++*i];
    }
    if (*num_used < 64) { used_opts[(*num_used)++] = argv[at] + 2; }
    return take_value_option(a, name, value, at);
}

/* take_word handles an argument that is not a long option: the command, or a positional. */
static int take_word(app *a, const char *arg)
{
    if (arg[0] == '-' && arg[1] != '\0') { return usage_error(a, "unknown option '%s'", arg); }
    if (a->command == NULL) {
        a->command = arg;
    } else if (a->num_positional < HOST_MAX_POSITIONAL) {
        a->positional[a->num_positional++] = arg;
    } else {
        return usage_error(a, "unexpected argument '%s'", arg);
    }
    return -1;
}

/* take_global_switch handles -h/--help, -V/--version and -v/--verbose. */
static bool take_global_switch(app *a, const char *arg)
{
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        a->help = true;
    } else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        a->version = true;
    } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
        a->verbose = true;
    } else {
        return false;
    }
    return true;
}

/* apply_collateral_flags turns --require-collateral / --no-require-collateral into the setting. */
static int apply_collateral_flags(app *a)
{
    crabbox_err err;
    if (a->require_collateral_flag && a->no_require_collateral_flag) {
        return usage_error(a, "--require-collateral and --no-require-collateral contradict each other");
    }
    if ((a->require_collateral_flag || a->no_require_collateral_flag) &&
        config_add(&a->cfg, NULL, "requireCollateral", a->require_collateral_flag ? "true" : "false", CFG_LEVEL_FLAG,
                   true, -1, a->require_collateral_flag ? "flag --require-collateral" : "flag --no-require-collateral",
                   &err) != CRABBOX_OK) {
        return report_error(a, err.code, err.message, NULL);
    }
    return -1;
}

/* parse splits argv into the command, host options, driver flags, positionals and the command
 * after "--". Returns -1 to go on, else an exit status. */
static int parse(app *a, int argc, char **argv, const char **used_opts, size_t *num_used)
{
    int status = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) { a->json = true; } /* errors as JSON from the start */
        if (strcmp(argv[i], "--") == 0) { break; }
    }
    for (int i = 1; i < argc && status < 0; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            a->cmd = argv + i + 1;
            a->num_cmd = argc - i - 1;
            break;
        }
        if (take_global_switch(a, arg)) { continue; }
        if (a->command != NULL && strcmp(a->command, "run") == 0 &&
            (a->num_positional > 0 || (arg[0] != '-' && a->num_positional == 0))) {
            /* `crabbox run make -j4 test`: everything from the first word on is the command the
             * user meant; main() says to put it after -- */
            if (a->num_positional < HOST_MAX_POSITIONAL) { a->positional[a->num_positional++] = arg; }
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            status = take_word(a, arg);
        } else {
            status = take_long_option(a, argc, argv, &i, used_opts, num_used);
        }
    }
    return status >= 0 ? status : apply_collateral_flags(a);
}

static int print_version(const app *a)
{
    if (a->json) {
        printf("{\"ok\":true,\"exit\":0,\"code\":\"ok\",\"message\":null,\"crabbox\":\"%s\","
               "\"driver_abi\":%u}\n", cba_version(), (unsigned)CRABBOX_DRIVER_ABI_VERSION);
    } else {
        printf("crabbox %s (driver ABI %u)\n", cba_version(), (unsigned)CRABBOX_DRIVER_ABI_VERSION);
    }
    return CBX_EXIT_OK;
}

static const command *find_command(const char *name)
{
    for (size_t ci = 0; ci < sizeof k_commands / sizeof k_commands[0]; ci++) {
        if (strcmp(k_commands[ci].name, name) == 0) { return &k_commands[ci]; }
    }
    return NULL;
}

/* check_options: the command-specific options used must be the command's own. */
static int check_options(app *a, const command *cmd, const char *const *used, size_t num_used)
{
    static const char *const k_specific[] = { "keep", "slug", "id", "dry-run", "no-sync", "env", "wait", "forget",
                                              NULL };
    for (size_t i = 0; i < num_used; i++) {
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(used[i], "="), used[i]);
        for (size_t k = 0; k_specific[k] != NULL; k++) {
            if (strcmp(name, k_specific[k]) == 0 && !opt_allowed(cmd->opts, name)) {
                return usage_error(a, "--%s does not apply to '%s'", name, a->command);
            }
        }
    }
    return -1;
}

/* check_arguments: positionals and the command after -- as the command wants them. */
static int check_arguments(app *a, const command *cmd)
{
    const bool is_run = strcmp(a->command, "run") == 0;
    if (is_run && a->num_positional > 0 && a->num_cmd == 0) {
        /* `crabbox run make test`: the command goes after -- (so its own options stay its own) */
        char cmdline[200] = "";
        for (size_t k = 0; k < a->num_positional && strlen(cmdline) < 150; k++) {
            snprintf(cmdline + strlen(cmdline), sizeof cmdline - strlen(cmdline), "%s%.60s", k ? " " : "",
                     a->positional[k]);
        }
        return usage_error(a, "put the command after --: crabbox run [OPTIONS] -- %s", cmdline);
    }
    if ((int)a->num_positional != cmd->positional) {
        return usage_error(a, cmd->positional != 0 ? "'%s' needs exactly one lease id or slug"
                                                   : "'%s' takes no arguments",
                           a->command);
    }
    if (is_run ? a->num_cmd == 0 : a->cmd != NULL) {
        return usage_error(a, is_run ? "'%s' needs a command after --" : "'%s' takes no command after --",
                           a->command);
    }
    return -1;
}

/* report_setup_error reports an app_setup failure (doctor: with a next step). */
static int report_setup_error(app *a, int status, crabbox_err *err)
{
    int code = err->code != CRABBOX_OK ? err->code : status;
    if (strcmp(a->command, "doctor") == 0) { /* doctor: every problem with a next step */
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%.360s; next: %.140s", err->message, doctor_next(code));
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return report_error(a, code, err->message, NULL);
}

/* run_cli parses the command line, sets up and runs the command; the exit status. */
static int run_cli(app *a, int argc, char **argv)
{
    crabbox_err err = { 0 };
    const char *used[64];
    size_t num_used = 0;
    const command *cmd;
    int status = parse(a, argc, argv, used, &num_used);
    if (status >= 0) { return status; }
    if (a->version) { return print_version(a); }
    if (a->command == NULL) {
        if (!a->help) { return usage_error(a, "no command given"); }
        fputs(k_usage, stdout);
        return CBX_EXIT_OK;
    }
    cmd = find_command(a->command);
    if (cmd == NULL) { return usage_error(a, "unknown command '%s'", a->command); }
    if (a->help) {
        printf("usage: %s\nCommon options: see 'crabbox --help'.\n", cmd->usage);
        return CBX_EXIT_OK;
    }
    status = check_options(a, cmd, used, num_used);
    if (status < 0) { status = check_arguments(a, cmd); }
    if (status >= 0) { return status; }
    status = app_setup(a, &err);
    if (status != CRABBOX_OK) { return report_setup_error(a, status, &err); }
    status = cmd->run(a);
    if (status == CBX_EXIT_OK && (a->cancel_seen || spawn_cancel_pending(&a->cancel))) { status = CBX_EXIT_CANCELLED; }
    return status;
}

int main(int argc, char **argv)
{
    app a;
    int status;
    memset(&a, 0, sizeof a);
    a.class_pos = -1;
    config_init(&a.cfg);
    status = run_cli(&a, argc, argv);
    app_teardown(&a);
    for (size_t i = 0; i < a.num_flags; i++) {
        if (a.flag_name_owned[i]) { free((void *)a.flags[i].name); }
    }
    return status;
}
