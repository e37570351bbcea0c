/* verify_cmd.c — `crabbox-attest verify`: one verification of captured evidence. */
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

static const char k_test_root_warning[] =
    "WARNING: --trust-root is for tests only: this verdict is NOT anchored in Intel's SGX Root CA";

static int usage_error(const verify_args *a, const char *msg)
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
    if (file_policy(a) == NULL) { return usage_error(a, "out of memory"); }
    if (!cli_read_file(path, TC_POLICY_MAX_FILE, &doc)) {
        return usage_error(a, "--policy: cannot read the file (see the message above)");
    }
    ok = tc_policy_load(a->file_policy, path, doc.data, doc.len, false, msg, sizeof msg);
    cli_buf_free(&doc);
    if (!ok) { return usage_error(a, msg); }
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
            return usage_error(a, msg);
        }
        if (opt == OPT_MRTD) {
            p->has_mrtd = true;
        } else {
            p->has_rtmr[opt - OPT_RTMR0] = true;
        }
        return -1;
    }
    if (file_policy(a) == NULL) { return usage_error(a, "out of memory"); }
    if (!tc_policy_set(a->file_policy, key, vals, 1, msg, sizeof msg)) {
        char m2[340];
        snprintf(m2, sizeof m2, "--%s", msg);
        return usage_error(a, m2);
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
        if (!cli_parse_hex(a->nonce, 32, arg)) { return usage_error(a, "--nonce needs 64 hex digits"); }
        a->has_nonce = true;
        break;
    case OPT_TRIES:
        if (!fetch_parse_seconds(arg, 1, CBA_FETCH_MAX_TRIES, &v) || v != (double)(int)v) {
            return usage_error(a, "--tries needs a whole number from 1 to 10");
        }
        a->tries = (int)v;
        break;
    case OPT_TIMEOUT:
        if (!fetch_parse_seconds(arg, 0.1, 600, &v)) {
            return usage_error(a, "--timeout needs seconds between 0.1 and 600");
        }
        a->timeout_ms = (long)(v * 1000);
        break;
    case OPT_AT:
        if (!cli_parse_time(arg, &a->at)) {
            return usage_error(a, "--at needs Unix seconds or an RFC 3339 time such as 2025-06-01T12:00:00Z "
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
            return usage_error(a, "--allow-pre-launch-script needs 64 hex digits (at most 16 times)");
        }
        a->num_script_hashes++;
        break;
    case OPT_ALLOW_ENV:
        if (a->num_envs == MAX_ENV_ARGS || arg[0] == '\0') {
            return usage_error(a, "--allow-env needs a name (at most 16 times)");
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
        if (!cli_parse_hex(p->app_id, 20, arg)) { return usage_error(a, "--app-id needs 40 hex digits"); }
        p->has_app_id = true;
        break;
    case OPT_COMPOSE_HASH:
        if (!cli_parse_hex(p->compose_hash, 32, arg)) { return usage_error(a, "--compose-hash needs 64 hex digits"); }
        p->has_compose_hash = true;
        break;
    case OPT_REPORT_DATA:
        if (!cli_parse_hex(p->report_data, 64, arg)) { return usage_error(a, "--report-data needs 128 hex digits"); }
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
            return usage_error(a, msg);
        }
        break;
    case OPT_ALLOW_ADVISORY:
        if (!add_advisories(a, arg)) { return usage_error(a, "--allow-advisory: bad advisory list"); }
        break;
    case OPT_MIN_TCB_EVAL:
        if (!parse_u64(arg, UINT32_MAX, &u)) { return usage_error(a, "--min-tcb-eval needs a number"); }
        p->min_tcb_evaluation_data_number = (uint32_t)u;
        break;
    case OPT_MAX_COLLATERAL_AGE:
        if (!parse_u64(arg, INT64_MAX, &u) || u == 0) {
            return usage_error(a, "--max-collateral-age needs a positive number of seconds");
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
        return usage_error(a, "give --quote FILE, --info FILE or both, or --bundle FILE");
    }
    if (a->has_nonce && a->bundle_path == NULL) {
        return usage_error(a, "--nonce needs --bundle (the report data binds it to the bundle's SSH host key)");
    }
    if (a->has_nonce && a->policy.has_report_data) {
        return usage_error(a, "give either --nonce or --report-data, not both");
    }
    if (a->compose_path != NULL && a->policy.has_compose_hash) {
        return usage_error(a, "give either --compose or --compose-hash, not both");
    }
    if (a->pccs_url == NULL && (a->tries != 0 || a->timeout_ms != 0 || a->cacert != NULL)) {
        return usage_error(a, "--tries, --timeout and --cacert go with --pccs URL");
    }
    if (a->pccs_url == NULL && a->collateral_path == NULL && !a->policy.skip_dcap && a->bundle_path == NULL &&
        getenv("PCCS_URL") != NULL && getenv("PCCS_URL")[0] != '\0') {
        a->pccs_url = getenv("PCCS_URL"); /* as dcap-qvl */
        a->pccs_from_env = true;
    }
    if (a->pccs_url != NULL && a->collateral_path != NULL) {
        return usage_error(a, "give either --collateral or --pccs, not both");
    }
    if (a->pccs_url != NULL && a->policy.skip_dcap) {
        return usage_error(a, "--pccs and --no-dcap contradict each other");
    }
    if (a->collateral_path != NULL && a->policy.skip_dcap) {
        return usage_error(a, "--collateral and --no-dcap contradict each other");
    }
    return -1;
}

/* parse_args returns -1 to go on, else an exit code. */
static int parse_args(verify_args *a, int argc, char **argv)
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
            return usage_error(a, msg);
        }
        if (rc >= 0) { return rc; }
    }
    if (optind != argc) {
        char msg[160];
        snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[optind]);
        return usage_error(a, msg);
    }
    return check_combination(a);
}

static const char *ssh_keys_label(const cba_report *r, const verify_args *a)
{
    const cba_check_result *c = &r->checks[CBA_CHECK_APP_COMPOSE];
    (void)a;
    return bundle_ssh_keys_label(r, c->status == CBA_CHECK_PASS ||
                                        (c->status == CBA_CHECK_SKIP && strncmp(c->detail, "not enforced", 12) == 0));
}

static const char k_edited_reason[] =
    "the bundle was EDITED after the host wrote it (its MAC does not check under this user's bundle key)";

/* edited_only: the evidence verified, but the bundle around it was edited. */
static bool edited_only(const cba_report *r, const verify_args *a)
{
    return a->bundle_loaded && a->auth == BUNDLE_EDITED && r->verdict == CBA_VERDICT_VERIFIED;
}

static json_object *hex_json(const uint8_t *b, size_t n)
{
    char buf[257];
    if (n > 128) { return NULL; }
    cli_hex(buf, b, n);
    return json_object_new_string(buf);
}

/* rejection_kind sorts a rejection for --json: the evidence is malformed, forged (a signature,
 * chain, revocation or binding failed), or refused by policy (status, advisory, pin, time,
 * missing collateral). */
static const char *rejection_kind(const cba_report *r)
{
    if (r->verdict == CBA_VERDICT_VERIFIED) { return NULL; }
    switch (r->error.code) {
    case CBA_E_QUOTE_FORMAT:
    case CBA_E_QUOTE_UNSUPPORTED:
    case CBA_E_QUOTE_TRAILING_DATA:
    case CBA_E_QE_VENDOR:
    case CBA_E_DER:
    case CBA_E_PEM:
    case CBA_E_CERT_INVALID:
    case CBA_E_PCK_EXTENSION:
    case CBA_E_COLLATERAL_FORMAT:
    case CBA_E_TCB_INFO_FORMAT:
    case CBA_E_QE_IDENTITY_FORMAT:
    case CBA_E_JSON:
    case CBA_E_INFO_FORMAT:
    case CBA_E_EVENTLOG_FORMAT:
    case CBA_E_QUOTE_MISSING:
    case CBA_E_ARGUMENT: return "malformed";
    case CBA_E_TCB_STATUS_REJECTED:
    case CBA_E_TCB_REVOKED:
    case CBA_E_TCB_NOT_SUPPORTED:
    case CBA_E_TD_DEBUG:
    case CBA_E_TD_ATTRIBUTES:
    case CBA_E_MEASUREMENT_POLICY:
    case CBA_E_COLLATERAL_MISSING:
    case CBA_E_COLLATERAL_EXPIRED:
    case CBA_E_CERT_EXPIRED:
    case CBA_E_CRL_EXPIRED: return "policy";
    case CBA_E_INTERNAL:
    case CBA_E_NOMEM: return "error";
    default: return "forged";
    }
}

/* check_order lists the checks in the order they ran (a failed collateral check can run right
 * after quote_parse, before pck_chain), then those that did not run. */
static size_t check_order(const cba_report *r, int order[CBA_CHECK_COUNT])
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < CBA_CHECK_COUNT; i++) {
            if ((r->checks[i].status == CBA_CHECK_NOT_RUN) == (pass == 1)) { order[n++] = i; }
        }
    }
    return n;
}

/* hint_for adds what the user can do about a rejection, without repeating what was given. */
static void hint_for(const cba_report *r, const verify_args *a, char *out, size_t n)
{
    out[0] = '\0';
    if (r->verdict == CBA_VERDICT_VERIFIED) { return; }
    if (r->collateral_missing && a->pccs_url != NULL) {
        snprintf(out, n, "--pccs %.100s%s found no collateral%s%.200s; or give --collateral FILE, or --no-dcap",
                 a->pccs_url, a->pccs_from_env ? " (from $PCCS_URL)" : "", a->fetch_note[0] ? ": " : "",
                 a->fetch_note);
    } else if ((r->error.code == CBA_E_COLLATERAL_EXPIRED || r->error.code == CBA_E_CERT_EXPIRED ||
                r->error.code == CBA_E_CRL_EXPIRED) && !a->have_at) {
        snprintf(out, n, "verified at the current time; if the evidence was captured earlier, verify at that "
                         "time with --at TIME (RFC 3339 or Unix seconds) and collateral valid then");
    } else if (r->error.code == CBA_E_COLLATERAL_EXPIRED || r->error.code == CBA_E_CERT_EXPIRED ||
               r->error.code == CBA_E_CRL_EXPIRED) {
        snprintf(out, n, "the --at time (%lld) is outside that validity window: verify at a time inside it, "
                         "or with collateral that was valid at --at", (long long)a->at);
    } else if (r->failed_check == CBA_CHECK_QUOTE_PARSE && a->input_format[0] != '\0') {
        snprintf(out, n, "--quote was read as: %s", a->input_format);
    }
}

static json_object *u16_json(bool has, uint16_t v)
{
    return has ? json_object_new_int(v) : NULL;
}

/* add_quote_facts adds what the signed quote, its PCK certificate and the TCB evaluation prove. */
static void add_quote_facts(json_object *o, const cba_report *r)
{
    uint8_t le[8];
    json_object_object_add(o, "mrseam", r->has_quote ? hex_json(r->mrseam, 48) : NULL);
    json_object_object_add(o, "mrsignerseam", r->has_quote ? hex_json(r->mrsignerseam, 48) : NULL);
    json_object_object_add(o, "mrowner", r->has_quote ? hex_json(r->mrowner, 48) : NULL);
    json_object_object_add(o, "mrownerconfig", r->has_quote ? hex_json(r->mrownerconfig, 48) : NULL);
    for (int b = 0; b < 8; b++) { le[b] = (uint8_t)(r->xfam >> (8 * b)); }
    json_object_object_add(o, "xfam", r->has_quote ? hex_json(le, 8) : NULL);
    for (int b = 0; b < 8; b++) { le[b] = (uint8_t)(r->td_attributes >> (8 * b)); }
    json_object_object_add(o, "td_attributes", r->has_quote ? hex_json(le, 8) : NULL);
    json_object_object_add(o, "pce_id", r->has_pck ? hex_json(r->pce_id, 2) : NULL);
    json_object_object_add(o, "pcesvn", u16_json(r->has_quote, r->pce_svn));
    json_object_object_add(o, "qe_isvsvn", u16_json(r->has_quote, r->qe_isvsvn));
    json_object_object_add(o, "platform_tcb_status",
                           r->has_tcb ? json_object_new_string(cba_tcb_status_name(r->platform_tcb_status)) : NULL);
    json_object_object_add(o, "tdx_module_tcb_status",
                           r->has_tcb ? json_object_new_string(cba_tcb_status_name(r->module_tcb_status)) : NULL);
    json_object_object_add(o, "qe_tcb_status",
                           r->has_tcb ? json_object_new_string(cba_tcb_status_name(r->qe_tcb_status)) : NULL);
    if (r->has_tcb && r->tcb_date > 0) {
        char buf[32];
        time_t t = (time_t)r->tcb_date;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(o, "tcb_date", json_object_new_string(buf));
    } else {
        json_object_object_add(o, "tcb_date", NULL);
    }
}

/* print_json prints the library's JSON of the report (cba_report_json, the object documented in
 * docs/verifier.md) with what only the command knows added: the rejection kind, a hint, the
 * input form, the checks in the order they ran, every quote fact, and the shared status members
 * (ok, exit, code, message). Out of memory, a line that still says the verification failed. */
static void print_json(const cba_report *r, const verify_args *a)
{
    char *text = cba_report_json(r, &a->policy, a->at);
    json_object *o = text != NULL ? json_tokener_parse(text) : NULL;
    cba_free(text);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        puts("{\"verdict\":\"error\",\"failed_check\":null,\"reason\":\"out of memory\"}");
        return;
    }
    if (r->test_root) { /* the library's warning names no flag; this one names --trust-root */
        json_object_object_add(o, "warning", json_object_new_string(k_test_root_warning));
    }
    json_object *checks = json_object_new_array();
    bool edited = edited_only(r, a), verified = r->verdict == CBA_VERDICT_VERIFIED && !edited;
    char reason[256], hint[400];
    int order[CBA_CHECK_COUNT];
    if (checks == NULL) {
        json_object_put(o);
        puts("{\"verdict\":\"error\",\"failed_check\":null,\"reason\":\"out of memory\"}");
        return;
    }
    if (verified) {
        snprintf(reason, sizeof reason, "all checks passed");
    } else if (edited) {
        snprintf(reason, sizeof reason, "%s", k_edited_reason);
    } else {
        snprintf(reason, sizeof reason, "%s: %s", cba_err_message(r->error.code), r->error.detail);
    }
    json_object_object_add(o, "rejection",
                           verified ? NULL : json_object_new_string(edited ? "forged" : rejection_kind(r)));
    hint_for(r, a, hint, sizeof hint);
    json_object_object_add(o, "hint", hint[0] ? json_object_new_string(hint) : NULL);
    json_object_object_add(o, "input", a->input_format[0] ? json_object_new_string(a->input_format) : NULL);
    for (size_t k = 0, n = check_order(r, order); k < n; k++) {
        int i = order[k];
        json_object *c = json_object_new_object();
        json_object_object_add(c, "name", json_object_new_string(cba_check_name((cba_check)i)));
        json_object_object_add(c, "status", json_object_new_string(cba_check_status_name(r->checks[i].status)));
        json_object_object_add(c, "detail", json_object_new_string(r->checks[i].detail));
        json_object_array_add(checks, c);
    }
    json_object_object_add(o, "checks", checks);
    add_quote_facts(o, r);
    if (r->collateral_expires != 0) {
        json_object_object_add(o, "collateral_expires", json_object_new_int64(r->collateral_expires));
    }
    if (edited_only(r, a)) {
        json_object_object_add(o, "verdict", json_object_new_string("rejected"));
        json_object_object_add(o, "failed_check", json_object_new_string("bundle"));
        json_object_object_add(o, "reason", json_object_new_string(k_edited_reason));
        json_object_object_add(o, "error", NULL);
        json_object_object_add(o, "where", NULL);
    }
    json_object_object_add(o, "bundle", a->bundle_loaded ? json_object_new_string(bundle_auth_name(a->auth)) : NULL);
    json_object_object_add(o, "ssh_keys", json_object_new_string(ssh_keys_label(r, a)));
    cli_json_status(o, verified ? EXIT_VERIFIED : r->collateral_missing ? EXIT_NEED_COLLATERAL : EXIT_REJECTED,
                    verified ? "verified" : r->collateral_missing ? "unavailable" : "rejected",
                    verified ? NULL : reason);
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void print_text(const cba_report *r, const verify_args *a)
{
    int order[CBA_CHECK_COUNT];
    char hint[400];
    if (r->test_root) { printf("%s\n", k_test_root_warning); }
    for (size_t k = 0, n = check_order(r, order); k < n; k++) {
        int i = order[k];
        printf("%-20s %-7s %s\n", cba_check_name((cba_check)i), cba_check_status_name(r->checks[i].status),
               r->checks[i].detail);
    }
    if (a->policy.skip_dcap) {
        printf("note: --no-dcap: CRLs, TCB info, QE identity and TCB status were not checked\n");
    }
    if (r->verdict == CBA_VERDICT_VERIFIED && r->has_pre_launch_script) {
        char h[65];
        cli_hex(h, r->pre_launch_script_sha256, 32);
        printf("pre_launch_script: sha256 %s ssh_keys=%s\n", h, ssh_keys_label(r, a));
    }
    if (a->bundle_loaded) { printf("bundle: %s\n", bundle_auth_name(a->auth)); }
    if (edited_only(r, a)) {
        printf("verdict: rejected at bundle: %s\n", k_edited_reason);
    } else if (r->verdict == CBA_VERDICT_VERIFIED) {
        if (r->has_tcb) {
            printf("verdict: verified (TCB %s)\n", cba_tcb_status_name(r->tcb_status));
        } else {
            printf("verdict: verified\n");
        }
    } else {
        printf("verdict: rejected at %s: %s: %s\n", cba_check_name(r->failed_check),
               cba_err_message(r->error.code), r->error.detail);
        hint_for(r, a, hint, sizeof hint);
        if (hint[0] != '\0') { printf("hint: %s\n", hint); }
    }
}

/* What cmd_verify read, fetched and owns until it returns. */
typedef struct verify_inputs {
    cli_buf info, quote, quote_log, coll, compose, root, dcompose, script;
    cli_quote_input qin;
    cba_evidence ev;
} verify_inputs;

/* The steps below return -1 to go on, else an exit code. */

/* unreadable: an input could not be read (its reader said why on stderr). */
static int unreadable(const verify_args *a)
{
    if (a->json) { (void)usage_error(a, "cannot read the input (see the message above)"); }
    return EXIT_USAGE;
}

/* read_quote reads --quote, whatever form it has (quote_input.h). */
static int read_quote(verify_args *a, verify_inputs *in)
{
    if (!cli_read_file(a->quote_path, CLI_MAX_INPUT, &in->quote)) { return unreadable(a); }
    if (!cli_quote_input_detect(&in->qin, in->quote.data, in->quote.len)) { return usage_error(a, "out of memory"); }
    snprintf(a->input_format, sizeof a->input_format, "%s", in->qin.format);
    cli_buf_free(&in->quote);
    in->quote.data = in->qin.quote;
    in->quote.len = in->qin.quote_len;
    in->qin.quote = NULL;
    if (in->qin.from_cert && !a->policy.has_report_data) {
        /* A standalone RA-TLS certificate: its quote must bind its key. */
        memcpy(a->policy.report_data, in->qin.ratls_report_data, 64);
        a->policy.has_report_data = true;
    }
    return -1;
}

/* read_evidence reads --info, --quote, --collateral, --bundle and --trust-root. */
static int read_evidence(verify_args *a, verify_inputs *in)
{
    int rc;
    if (a->info_path && !cli_read_file(a->info_path, CLI_MAX_INPUT, &in->info)) { return unreadable(a); }
    if (a->quote_path && (rc = read_quote(a, in)) >= 0) { return rc; }
    if (a->collateral_path && !cli_read_file(a->collateral_path, CLI_MAX_INPUT, &in->coll)) { return unreadable(a); }
    if (a->bundle_path &&
        !bundle_fill(a->bundle_path, a->collateral_path == NULL && a->pccs_url == NULL, &in->info.data,
                     &in->info.len, &in->quote.data, &in->quote.len, &in->quote_log.data, &in->quote_log.len,
                     &in->coll.data, &in->coll.len, &a->policy, &in->ev.quote_replaces_info_quote,
                     a->have_at ? NULL : &a->at, a->has_nonce ? a->nonce : NULL, &a->auth)) {
        return unreadable(a);
    }
    a->bundle_loaded = a->bundle_path != NULL;
    if (a->trust_root_path) {
        if (!fetch_load_trust_root(a->trust_root_path, &in->root)) { return unreadable(a); }
        fprintf(stderr, "%s\n", k_test_root_warning);
        a->policy.trust_root_der = in->root.data;
        a->policy.trust_root_der_len = in->root.len;
    }
    return -1;
}

/* fetch_pccs_collateral fetches the collateral from --pccs (or PCCS_URL). */
static int fetch_pccs_collateral(verify_args *a, verify_inputs *in)
{
    cba_fetch_opts fo;
    cba_fetch_result fr;
    cba_evidence fev;
    int frc;
    cba_evidence_init(&fev);
    fev.quote = in->quote.data;
    fev.quote_len = in->quote.len;
    fev.info_json = in->info.data;
    fev.info_json_len = in->info.len;
    cli_fetch_opts_init(&fo);
    fo.base_url = a->pccs_url;
    fo.cache_dir = a->cache_dir;
    fo.no_cache = a->no_cache;
    fo.quiet = a->json;
    fo.trust_root_der = a->policy.trust_root_der;
    fo.trust_root_der_len = a->policy.trust_root_der_len;
    if (a->cacert != NULL) { fo.cacert = a->cacert; }
    if (a->timeout_ms != 0) { fo.timeout_ms = a->timeout_ms; }
    if (a->tries != 0) { fo.max_tries = a->tries; }
    frc = fetch_exit_code(cba_fetch_collateral(&fo, &fev, a->at, &fr));
    if (frc == EXIT_USAGE) {
        int rc = usage_error(a, fr.error);
        cba_fetch_result_free(&fr);
        return rc;
    }
    /* Verified collateral; or collateral that does not verify (the verifier then names the
     * failing check); or none (unavailable: the verdict says collateral is missing, exit 3). */
    if (fr.json.data == NULL) { snprintf(a->fetch_note, sizeof a->fetch_note, "%.300s", fr.error); }
    in->coll = fr.json;
    fr.json = (cli_buf){ 0 };
    cba_fetch_result_free(&fr);
    return -1;
}

/* pin_compose pins the compose hash of --compose FILE. */
static int pin_compose(verify_args *a, verify_inputs *in)
{
    const cli_buf *c = &in->compose;
    size_t i = 0;
    /* The expected compose hash is SHA-256 of the file's exact bytes, as the guest computes it. */
    if (!cli_read_file(a->compose_path, CLI_MAX_INPUT, &in->compose)) { return unreadable(a); }
    /* The app-compose is JSON (an object); a docker-compose YAML is a common mix-up. */
    while (i < c->len && (c->data[i] == ' ' || c->data[i] == '\n' || c->data[i] == '\r' || c->data[i] == '\t')) {
        i++;
    }
    if (i == c->len || c->data[i] != '{') {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "--compose wants the app-compose JSON (app-compose.json: the whole document dstack "
                 "hashes, with docker_compose_file inside it); %.100s is not JSON (a docker-compose "
                 "YAML?): give that with --docker-compose FILE",
                 a->compose_path);
        return usage_error(a, msg);
    }
    if (!cba_compose_hash(a->policy.compose_hash, c->data, c->len)) { return unreadable(a); }
    a->policy.has_compose_hash = true;
    return -1;
}

/* set_app_compose_policy: the app-compose policy, from this command line, and (for --bundle) the
 * compose and script the host recorded it deployed. */
static int set_app_compose_policy(verify_args *a, verify_inputs *in)
{
    if (a->docker_compose_path && !cli_read_file(a->docker_compose_path, CLI_MAX_INPUT, &in->dcompose)) {
        return unreadable(a);
    }
    if (a->script_path && !cli_read_file(a->script_path, CLI_MAX_INPUT, &in->script)) { return unreadable(a); }
    if (a->bundle_path && (in->dcompose.data == NULL || in->script.data == NULL)) {
        cli_buf bc = { 0 }, bs = { 0 };
        if (!bundle_fill_app_compose(a->bundle_path, &bc.data, &bc.len, &bs.data, &bs.len)) { return unreadable(a); }
        if (in->dcompose.data == NULL) {
            in->dcompose = bc;
        } else {
            cli_buf_free(&bc);
        }
        if (in->script.data == NULL) {
            in->script = bs;
        } else {
            cli_buf_free(&bs);
        }
    }
    bundle_app_compose_policy(&a->acp, in->dcompose.data, in->dcompose.len, in->script.data, in->script.len);
    /* Enforced when the command line (or the bundle) says what was deployed or what to accept;
     * otherwise evaluated and reported ("not enforced: ...", ssh_keys=...) without deciding. */
    a->acp.report_only = !a->app_compose_policy && in->dcompose.data == NULL && in->script.data == NULL &&
                         a->num_script_hashes == 0 && a->num_envs == 0 && !a->accept_phala_default;
    if (a->accept_phala_default) {
        bundle_accept_phala_default(&a->acp, (uint8_t(*)[32])a->script_hashes[a->num_script_hashes]);
        a->envs[a->num_envs++] = "DSTACK_AUTHORIZED_KEYS";
        a->num_script_hashes++;
        fprintf(stderr, "%s\n", BUNDLE_PHALA_DEFAULT_WARNING);
    }
    a->acp.pre_launch_script_sha256 = a->num_script_hashes ? (const uint8_t(*)[32])a->script_hashes : NULL;
    a->acp.num_pre_launch_script_sha256 = a->num_script_hashes;
    if (a->acp.allowed_envs != NULL && (in->dcompose.data != NULL || in->script.data != NULL)) {
        /* What the host allows for a lease it deployed (bundle_app_compose_policy). */
        for (const char *const *e = a->acp.allowed_envs; *e != NULL && a->num_envs < MAX_ENV_ARGS + 2; e++) {
            a->envs[a->num_envs++] = *e;
        }
    }
    a->envs[a->num_envs] = NULL;
    a->acp.allowed_envs = a->num_envs ? a->envs : NULL;
    a->policy.app_compose = &a->acp;
    return -1;
}

/* reject_unparsed_quote: no quote could be taken out of --quote: malformed evidence, rejected at
 * quote_parse. */
static void reject_unparsed_quote(cba_report *r, const cli_quote_input *qin)
{
    cba_report_init(r);
    r->verdict = CBA_VERDICT_REJECTED;
    r->failed_check = CBA_CHECK_QUOTE_PARSE;
    r->error.code = strstr(qin->format, "empty") != NULL || strstr(qin->format, "blank") != NULL ||
                            strstr(qin->format, "without") != NULL
                        ? CBA_E_QUOTE_MISSING
                        : CBA_E_QUOTE_FORMAT;
    snprintf(r->error.where, sizeof r->error.where, "quote");
    snprintf(r->error.detail, sizeof r->error.detail, "%.40s: %.110s", qin->format, qin->problem);
    r->checks[CBA_CHECK_QUOTE_PARSE].status = CBA_CHECK_FAIL;
    snprintf(r->checks[CBA_CHECK_QUOTE_PARSE].detail, sizeof r->checks[0].detail, "%s", r->error.detail);
}

/* run_verifier hands the evidence to the verifier; r is initialised. */
static void run_verifier(cba_report *r, verify_args *a, verify_inputs *in)
{
    cba_evidence *ev = &in->ev;
    ev->info_json = in->info.data;
    ev->info_json_len = in->info.len;
    ev->quote = in->quote.data;
    ev->quote_len = in->quote.len;
    ev->quote_event_log = in->quote_log.data; /* from a bundle: the log sent with its fresh quote */
    ev->quote_event_log_len = in->quote_log.len;
    ev->collateral_json = in->coll.data;
    ev->collateral_json_len = in->coll.len;
    if (in->qin.problem[0] != '\0') {
        reject_unparsed_quote(r, &in->qin);
    } else if (cba_verify(r, &a->policy, ev, a->at) != CBA_OK && r->verdict == CBA_VERDICT_VERIFIED) {
        r->verdict = CBA_VERDICT_REJECTED; /* cannot happen; fail closed if it ever did */
    }
    tc_report_add_hints(r, TC_HINTS_ATTEST); /* the flags that change an outcome (hints.h) */
}

/* report_outcome warns, prints the report and returns the exit code. */
static int report_outcome(cba_report *r, const verify_args *a)
{
    if (!a->accept_phala_default && strcmp(ssh_keys_label(r, a), "host-controllable") == 0) {
        fprintf(stderr, "WARNING: this CVM runs Phala Cloud's default pre-launch script (v0.0.15): it writes root's "
                        "authorized_keys from the DSTACK_AUTHORIZED_KEYS env var and the unmeasured /dstack/user_config, "
                        "so the HOST can add its own root key (ssh_keys=host-controllable; not enforced without "
                        "--app-compose-policy)\n");
    }
    if (r->collateral_missing && a->pccs_url != NULL) {
        /* Never advise passing what was passed: say what --pccs did instead. */
        static const char k_tried[] = "no collateral: --pccs found none (see the hint below)";
        for (int i = 0; i < CBA_CHECK_COUNT; i++) {
            if (r->checks[i].status == CBA_CHECK_FAIL && strstr(r->checks[i].detail, "--pccs URL") != NULL) {
                snprintf(r->checks[i].detail, sizeof r->checks[i].detail, "%s", k_tried);
            }
        }
        if (strstr(r->error.detail, "--pccs URL") != NULL) {
            snprintf(r->error.detail, sizeof r->error.detail, "%s", k_tried);
        }
    }
    if (a->json) {
        print_json(r, a);
    } else {
        print_text(r, a);
    }
    if (a->bundle_loaded) { fprintf(stderr, "bundle: %s\n", bundle_auth_name(a->auth)); }
    if (edited_only(r, a)) { return EXIT_REJECTED; }
    if (r->verdict == CBA_VERDICT_VERIFIED) { return EXIT_VERIFIED; }
    if (r->collateral_missing) { return EXIT_NEED_COLLATERAL; }
    return EXIT_REJECTED;
}

static void verify_inputs_free(verify_inputs *in)
{
    cli_buf_free(&in->info);
    cli_buf_free(&in->quote_log);
    cli_buf_free(&in->quote);
    cli_buf_free(&in->coll);
    cli_buf_free(&in->compose);
    cli_buf_free(&in->root);
    cli_buf_free(&in->dcompose);
    cli_buf_free(&in->script);
    cli_quote_input_free(&in->qin);
}

int cmd_verify(int argc, char **argv)
{
    verify_args a;
    verify_inputs in;
    cba_report *r = NULL;
    int rc;

    memset(&a, 0, sizeof a);
    memset(&in, 0, sizeof in);
    cba_policy_init(&a.policy);
    cba_evidence_init(&in.ev);
    a.policy.one_shot = true; /* one verification per process: no wolfCrypt table building */
    rc = parse_args(&a, argc, argv);
    if (rc >= 0) { goto out; }
    if (!a.have_at) { a.at = (int64_t)time(NULL); }
    if ((rc = read_evidence(&a, &in)) >= 0) { goto out; }
    if (a.pccs_url != NULL && (rc = fetch_pccs_collateral(&a, &in)) >= 0) { goto out; }
    if (a.compose_path && (rc = pin_compose(&a, &in)) >= 0) { goto out; }
    if ((rc = set_app_compose_policy(&a, &in)) >= 0) { goto out; }
    r = malloc(sizeof *r);
    if (r == NULL) {
        rc = usage_error(&a, "out of memory");
        goto out;
    }
    cba_report_init(r);
    run_verifier(r, &a, &in);
    rc = report_outcome(r, &a);
out:
    free(r);
    verify_inputs_free(&in);
    for (size_t i = 0; i < a.num_advisories; i++) { free(a.advisory_storage[i]); }
    free(a.file_policy);
    return rc;
}
