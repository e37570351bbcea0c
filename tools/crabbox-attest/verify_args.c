/* verify_args.c — `crabbox-attest verify`'s command line: options, their values and the
 * combinations refused (verify_args.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "bundle_cli.h"
#include "cli.h"
#include "crabbox/verifier.h"
#include "fetch.h"
#include "hints.h"
#include "policy.h"
#include "quote_input.h"
#include "verify_args.h"


enum {
    OPT_INFO = 256, OPT_QUOTE, OPT_COLLATERAL, OPT_APP_ID, OPT_COMPOSE, OPT_COMPOSE_HASH,
    OPT_REPORT_DATA, OPT_AT, OPT_NO_DCAP, OPT_ACCEPT, OPT_ALLOW_ADVISORY, OPT_JSON, OPT_TRUST_ROOT,
    OPT_ALLOW_DEBUG, OPT_MRTD, OPT_RTMR0, OPT_RTMR1, OPT_RTMR2, OPT_MIN_TCB_EVAL,
    OPT_MAX_COLLATERAL_AGE, OPT_HELP, OPT_PCCS, OPT_NO_CACHE, OPT_CACHE_DIR, OPT_BUNDLE,
    OPT_DOCKER_COMPOSE, OPT_PRE_LAUNCH_SCRIPT, OPT_ALLOW_SCRIPT, OPT_ALLOW_ENV, OPT_ACCEPT_PHALA_DEFAULT,
    OPT_APP_COMPOSE_POLICY, OPT_NONCE,
    OPT_POLICY, OPT_TRIES, OPT_TIMEOUT, OPT_CACERT, OPT_RTMR3,
};

static const struct option k_options[] = {
    { "info", required_argument, NULL, OPT_INFO },
    { "quote", required_argument, NULL, OPT_QUOTE },
    { "collateral", required_argument, NULL, OPT_COLLATERAL },
    { "app-id", required_argument, NULL, OPT_APP_ID },
    { "compose", required_argument, NULL, OPT_COMPOSE },
    { "compose-hash", required_argument, NULL, OPT_COMPOSE_HASH },
    { "report-data", required_argument, NULL, OPT_REPORT_DATA },
    { "at", required_argument, NULL, OPT_AT },
    { "no-dcap", no_argument, NULL, OPT_NO_DCAP },
    { "accept", required_argument, NULL, OPT_ACCEPT },
    { "allow-advisory", required_argument, NULL, OPT_ALLOW_ADVISORY },
    { "json", no_argument, NULL, OPT_JSON },
    { "trust-root", required_argument, NULL, OPT_TRUST_ROOT },
    { "allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG },
    { "mrtd", required_argument, NULL, OPT_MRTD },
    { "rtmr0", required_argument, NULL, OPT_RTMR0 },
    { "rtmr1", required_argument, NULL, OPT_RTMR1 },
    { "rtmr2", required_argument, NULL, OPT_RTMR2 },
    { "rtmr3", required_argument, NULL, OPT_RTMR3 },
    { "min-tcb-eval", required_argument, NULL, OPT_MIN_TCB_EVAL },
    { "max-collateral-age", required_argument, NULL, OPT_MAX_COLLATERAL_AGE },
    { "help", no_argument, NULL, OPT_HELP },
    { "pccs", required_argument, NULL, OPT_PCCS },
    { "no-cache", no_argument, NULL, OPT_NO_CACHE },
    { "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "docker-compose", required_argument, NULL, OPT_DOCKER_COMPOSE },
    { "pre-launch-script", required_argument, NULL, OPT_PRE_LAUNCH_SCRIPT },
    { "allow-pre-launch-script", required_argument, NULL, OPT_ALLOW_SCRIPT },
    { "allow-env", required_argument, NULL, OPT_ALLOW_ENV },
    { "accept-phala-default-script", no_argument, NULL, OPT_ACCEPT_PHALA_DEFAULT },
    { "app-compose-policy", no_argument, NULL, OPT_APP_COMPOSE_POLICY },
    { "nonce", required_argument, NULL, OPT_NONCE },
    { "policy", required_argument, NULL, OPT_POLICY },
    { "tries", required_argument, NULL, OPT_TRIES },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { NULL, 0, NULL, 0 },
};

const char verify_test_root_warning[] =
    "WARNING: --trust-root is for tests only: this verdict is NOT anchored in Intel's SGX Root CA";

int verify_usage_error(const verify_args *a, const char *msg)
{
    if (a != NULL && a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "verdict", json_object_new_string("error"));
        json_object_object_add(o, "failed_check", NULL);
        json_object_object_add(o, "reason", json_object_new_string(msg));
        cli_json_status(o, EXIT_USAGE, NULL, msg);
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    }
    fprintf(stderr, "crabbox-attest verify: %s\n", msg);
    if (a == NULL || !a->json) { fprintf(stderr, "Try 'crabbox-attest verify --help'.\n"); }
    return EXIT_USAGE;
}

static bool add_statuses(cba_policy *p, const char *list, char *bad, size_t bad_len)
{
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        cba_tcb_status st;
        if (!cba_tcb_status_parse(s, n, &st) || st == CBA_TCB_REVOKED) {
            snprintf(bad, bad_len, "%.*s", (int)(n > 64 ? 64 : n), s);
            return false;
        }
        p->accepted_statuses |= 1u << st;
        s += n + (comma ? 1 : 0);
    }
    return true;
}

static bool add_advisories(verify_args *a, const char *list)
{
    const char *s = list;
    if (a->num_advisories == 0 && a->file_policy != NULL && a->file_policy->has_advisories) {
        /* --policy's list first: the option adds to it */
        for (size_t i = 0; i < a->file_policy->num_advisories && i < MAX_ADVISORY_ARGS; i++) {
            a->advisory_storage[i] = strdup(a->file_policy->advisories[i]);
            if (a->advisory_storage[i] == NULL) { return false; }
            a->num_advisories++;
        }
    }
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == 0 || n >= CBA_ADVISORY_ID_MAX || a->num_advisories == MAX_ADVISORY_ARGS) { return false; }
        a->advisory_storage[a->num_advisories] = strndup(s, n);
        if (a->advisory_storage[a->num_advisories] == NULL) { return false; }
        a->num_advisories++;
        s += n + (comma ? 1 : 0);
    }
    a->advisory_storage[a->num_advisories] = NULL;
    a->policy.allowed_advisories = (const char *const *)a->advisory_storage;
    return true;
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (text[0] < '0' || text[0] > '9') { return false; }
    v = strtoull(text, &end, 10);
    if (*end != '\0' || v > max) { return false; }
    *out = v;
    return true;
}

/* file_policy returns --policy's policy, allocated on first use; NULL when out of memory. */
static tc_policy *file_policy(verify_args *a)
{
    if (a->file_policy == NULL && (a->file_policy = malloc(sizeof *a->file_policy)) != NULL) {
        tc_policy_init(a->file_policy);
    }
    return a->file_policy;
}

/* The option steps below return -1 to go on, NOT_MINE for an option of another group, else an
 * exit code. */
#define NOT_MINE (-2)

static int opt_policy_file(verify_args *a, const char *path)
{
    cli_buf doc = { 0 };
    char msg[300];
    bool ok;
    if (file_policy(a) == NULL) { return verify_usage_error(a, "out of memory"); }
    if (!cli_read_file(path, TC_POLICY_MAX_FILE, &doc)) {
        return verify_usage_error(a, "--policy: cannot read the file (see the message above)");
    }
    ok = tc_policy_load(a->file_policy, path, doc.data, doc.len, false, msg, sizeof msg);
    cli_buf_free(&doc);
    if (!ok) { return verify_usage_error(a, msg); }
    tc_policy_apply(a->file_policy, &a->policy);
    return -1;
}

/* --mrtd and --rtmrN: one value or a comma-separated list of allowed values: the policy
 * vocabulary's pin. */
static int opt_measurement(verify_args *a, int opt, const char *arg)
{
    static const char *const keys[] = { "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
    cba_policy *p = &a->policy;
    const char *key = keys[opt == OPT_MRTD ? 0 : opt == OPT_RTMR3 ? 4 : 1 + opt - OPT_RTMR0];
    const char *vals[1] = { arg };
    char msg[300];
    if (strchr(arg, ',') == NULL && opt != OPT_RTMR3) {
        /* one value: the policy's single pin (reported as "MRTD differs from the pinned value") */
        uint8_t *dst = opt == OPT_MRTD ? p->mrtd : p->rtmr[opt - OPT_RTMR0];
        if (!cli_parse_hex(dst, 48, arg)) {
            snprintf(msg, sizeof msg, "--%s: \"%.40s\" is not 96 hex digits", key, arg);
            return verify_usage_error(a, msg);
        }
        if (opt == OPT_MRTD) {
            p->has_mrtd = true;
        } else {
            p->has_rtmr[opt - OPT_RTMR0] = true;
        }
        return -1;
    }
    if (file_policy(a) == NULL) { return verify_usage_error(a, "out of memory"); }
    if (!tc_policy_set(a->file_policy, key, vals, 1, msg, sizeof msg)) {
        char m2[340];
        snprintf(m2, sizeof m2, "--%s", msg);
        return verify_usage_error(a, m2);
    }
    tc_policy_apply(a->file_policy, p);
    return -1;
}

/* The inputs and the fetch: paths, switches and the --pccs options. */
static int opt_input(verify_args *a, int opt, const char *arg)
{
    double v;
    switch (opt) {
    case OPT_INFO: a->info_path = arg; break;
    case OPT_QUOTE: a->quote_path = arg; break;
    case OPT_COLLATERAL: a->collateral_path = arg; break;
    case OPT_COMPOSE: a->compose_path = arg; break;
    case OPT_TRUST_ROOT: a->trust_root_path = arg; break;
    case OPT_PCCS: a->pccs_url = arg; break;
    case OPT_NO_CACHE: a->no_cache = true; break;
    case OPT_CACHE_DIR: a->cache_dir = arg; break;
    case OPT_BUNDLE: a->bundle_path = arg; break;
    case OPT_DOCKER_COMPOSE: a->docker_compose_path = arg; break;
    case OPT_PRE_LAUNCH_SCRIPT: a->script_path = arg; break;
    case OPT_CACERT: a->cacert = arg; break;
    case OPT_JSON: a->json = true; break;
    case OPT_NONCE:
        if (!cli_parse_hex(a->nonce, 32, arg)) { return verify_usage_error(a, "--nonce needs 64 hex digits"); }
        a->has_nonce = true;
        break;
    case OPT_TRIES:
        if (!fetch_parse_seconds(arg, 1, CBA_FETCH_MAX_TRIES, &v) || v != (double)(int)v) {
            return verify_usage_error(a, "--tries needs a whole number from 1 to 10");
        }
        a->tries = (int)v;
        break;
    case OPT_TIMEOUT:
        if (!fetch_parse_seconds(arg, 0.1, 600, &v)) {
            return verify_usage_error(a, "--timeout needs seconds between 0.1 and 600");
        }
        a->timeout_ms = (long)(v * 1000);
        break;
    case OPT_AT:
        if (!cli_parse_time(arg, &a->at)) {
            return verify_usage_error(a, "--at needs Unix seconds or an RFC 3339 time such as 2025-06-01T12:00:00Z "
                                  "or 2025-06-01T14:00:00.5+02:00");
        }
        a->have_at = true;
        break;
    default: return NOT_MINE;
    }
    return -1;
}

/* The app-compose policy's options. */
static int opt_app_compose(verify_args *a, int opt, const char *arg)
{
    switch (opt) {
    case OPT_ACCEPT_PHALA_DEFAULT: a->accept_phala_default = true; break;
    case OPT_APP_COMPOSE_POLICY: a->app_compose_policy = true; break;
    case OPT_ALLOW_SCRIPT:
        if (a->num_script_hashes == MAX_SCRIPT_HASHES ||
            !cli_parse_hex(a->script_hashes[a->num_script_hashes], 32, arg)) {
            return verify_usage_error(a, "--allow-pre-launch-script needs 64 hex digits (at most 16 times)");
        }
        a->num_script_hashes++;
        break;
    case OPT_ALLOW_ENV:
        if (a->num_envs == MAX_ENV_ARGS || arg[0] == '\0') {
            return verify_usage_error(a, "--allow-env needs a name (at most 16 times)");
        }
        a->envs[a->num_envs++] = arg;
        break;
    default: return NOT_MINE;
    }
    return -1;
}

/* The verifier policy's options: pins, statuses, advisories, ages. */
static int opt_policy(verify_args *a, int opt, const char *arg)
{
    cba_policy *p = &a->policy;
    uint64_t u;
    char bad[80];
    switch (opt) {
    case OPT_POLICY: return opt_policy_file(a, arg);
    case OPT_NO_DCAP: p->skip_dcap = true; break;
    case OPT_ALLOW_DEBUG: p->allow_debug = true; break;
    case OPT_APP_ID:
        if (!cli_parse_hex(p->app_id, 20, arg)) { return verify_usage_error(a, "--app-id needs 40 hex digits"); }
        p->has_app_id = true;
        break;
    case OPT_COMPOSE_HASH:
        if (!cli_parse_hex(p->compose_hash, 32, arg)) { return verify_usage_error(a, "--compose-hash needs 64 hex digits"); }
        p->has_compose_hash = true;
        break;
    case OPT_REPORT_DATA:
        if (!cli_parse_hex(p->report_data, 64, arg)) { return verify_usage_error(a, "--report-data needs 128 hex digits"); }
        p->has_report_data = true;
        break;
    case OPT_MRTD:
    case OPT_RTMR0:
    case OPT_RTMR1:
    case OPT_RTMR2:
    case OPT_RTMR3: return opt_measurement(a, opt, arg);
    case OPT_ACCEPT:
        if (!add_statuses(p, arg, bad, sizeof bad)) {
            char msg[160];
            snprintf(msg, sizeof msg, "--accept: \"%s\" is not an acceptable TCB status", bad);
            return verify_usage_error(a, msg);
        }
        break;
    case OPT_ALLOW_ADVISORY:
        if (!add_advisories(a, arg)) { return verify_usage_error(a, "--allow-advisory: bad advisory list"); }
        break;
    case OPT_MIN_TCB_EVAL:
        if (!parse_u64(arg, UINT32_MAX, &u)) { return verify_usage_error(a, "--min-tcb-eval needs a number"); }
        p->min_tcb_evaluation_data_number = (uint32_t)u;
        break;
    case OPT_MAX_COLLATERAL_AGE:
        if (!parse_u64(arg, INT64_MAX, &u) || u == 0) {
            return verify_usage_error(a, "--max-collateral-age needs a positive number of seconds");
        }
        p->max_collateral_age = (int64_t)u;
        break;
    default: return NOT_MINE;
    }
    return -1;
}

/* check_combination refuses options that contradict each other, after PCCS_URL's default. */
static int check_combination(verify_args *a)
{
    if ((a->info_path == NULL && a->quote_path == NULL) == (a->bundle_path == NULL)) {
        return verify_usage_error(a, "give --quote FILE, --info FILE or both, or --bundle FILE");
    }
    if (a->has_nonce && a->bundle_path == NULL) {
        return verify_usage_error(a, "--nonce needs --bundle (the report data binds it to the bundle's SSH host key)");
    }
    if (a->has_nonce && a->policy.has_report_data) {
        return verify_usage_error(a, "give either --nonce or --report-data, not both");
    }
    if (a->compose_path != NULL && a->policy.has_compose_hash) {
        return verify_usage_error(a, "give either --compose or --compose-hash, not both");
    }
    if (a->pccs_url == NULL && (a->tries != 0 || a->timeout_ms != 0 || a->cacert != NULL)) {
        return verify_usage_error(a, "--tries, --timeout and --cacert go with --pccs URL");
    }
    if (a->pccs_url == NULL && a->collateral_path == NULL && !a->policy.skip_dcap && a->bundle_path == NULL &&
        getenv("PCCS_URL") != NULL && getenv("PCCS_URL")[0] != '\0') {
        a->pccs_url = getenv("PCCS_URL"); /* as dcap-qvl */
        a->pccs_from_env = true;
    }
    if (a->pccs_url != NULL && a->collateral_path != NULL) {
        return verify_usage_error(a, "give either --collateral or --pccs, not both");
    }
    if (a->pccs_url != NULL && a->policy.skip_dcap) {
        return verify_usage_error(a, "--pccs and --no-dcap contradict each other");
    }
    if (a->collateral_path != NULL && a->policy.skip_dcap) {
        return verify_usage_error(a, "--collateral and --no-dcap contradict each other");
    }
    return -1;
}

/* parse_args returns -1 to go on, else an exit code. */
int verify_parse_args(verify_args *a, int argc, char **argv)
{
    int opt;
    /* A first pass for --json so that usage errors come out as JSON too. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) { a->json = true; }
        if (strcmp(argv[i], "--") == 0) { break; }
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", k_options, NULL)) != -1) {
        int rc;
        if (opt == 'h' || opt == OPT_HELP) {
            fputs(k_verify_usage, stdout);
            return EXIT_VERIFIED;
        }
        if ((rc = opt_input(a, opt, optarg)) == NOT_MINE && (rc = opt_app_compose(a, opt, optarg)) == NOT_MINE &&
            (rc = opt_policy(a, opt, optarg)) == NOT_MINE) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s'", argv[optind - 1]);
            return verify_usage_error(a, msg);
        }
        if (rc >= 0) { return rc; }
    }
    if (optind != argc) {
        char msg[160];
        snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[optind]);
        return verify_usage_error(a, msg);
    }
    return check_combination(a);
}
