/* verify_cmd.c — `crabbox-attest verify`: one verification of captured evidence. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "bundle.h"
#include "cli.h"
#include "crabbox/verifier.h"
#include "fetch.h"

static const char k_verify_usage[] =
    "usage: crabbox-attest verify [--info FILE] [--quote FILE] [--collateral FILE] [--bundle FILE]\n"
    "                             [--app-id HEX] [--compose FILE | --compose-hash HEX]\n"
    "                             [--report-data HEX] [--at UNIX|RFC3339] [--no-dcap]\n"
    "                             [--accept STATUS,...] [--allow-advisory ID,...] [--json]\n"
    "\n"
    "Verifies a TDX quote (and a dstack guest agent response) at one point in time.\n"
    "\n"
    "Evidence:\n"
    "  --info FILE          Tappd.Info, Info or GetQuote response (JSON) from the dstack guest agent\n"
    "  --quote FILE         TDX quote, binary or hex text; checked against the response's quote\n"
    "  --collateral FILE    DCAP collateral (dcap-qvl QuoteCollateralV3 JSON)\n"
    "  --bundle FILE        a crabbox evidence bundle: its evidence, collateral (unless given), app id,\n"
    "                       compose, and report data from its nonce and SSH host key; --at defaults\n"
    "                       to the bundle's time\n"
    "  --pccs URL           or fetch it from this Intel PCS / PCCS base URL (verified, cached;\n"
    "                       see 'crabbox-attest collateral fetch --help'); with --no-cache,\n"
    "                       --cache-dir DIR\n"
    "Expectations (each mismatch fails its check):\n"
    "  --app-id HEX         expected dstack app id (20 bytes)\n"
    "  --compose FILE       expected app-compose.json (its SHA-256 is the compose hash)\n"
    "  --compose-hash HEX   expected compose hash (32 bytes)\n"
    "  --report-data HEX    expected quote report data (64 bytes)\n"
    "  --mrtd HEX, --rtmr0 HEX, --rtmr1 HEX, --rtmr2 HEX   pinned measurements (48 bytes)\n"
    "Policy:\n"
    "  --at TIME            verification time, Unix seconds or YYYY-MM-DDThh:mm:ssZ (default: now)\n"
    "  --no-dcap            skip the collateral checks (CRLs, TCB info, QE identity, TCB status);\n"
    "                       signatures and the chain to the Intel root are always checked\n"
    "  --accept LIST        also accept these TCB statuses (UpToDate is always accepted;\n"
    "                       Revoked never): SWHardeningNeeded, ConfigurationNeeded,\n"
    "                       ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded,\n"
    "                       TDRelaunchAdvised, TDRelaunchAdvisedConfigurationNeeded\n"
    "  --allow-advisory LIST  accept these Intel advisory IDs (e.g. INTEL-SA-00615)\n"
    "  --min-tcb-eval N     minimum tcbEvaluationDataNumber\n"
    "  --max-collateral-age SECONDS  maximum age of the TCB info at the verification time\n"
    "  --trust-root FILE    TEST ONLY: trust this root instead of the embedded Intel SGX Root CA\n"
    "  --allow-debug        TEST ONLY: accept a TD in debug mode\n"
    "Output:\n"
    "  --json               one JSON object (verdict, failed_check, reason, checks, ...)\n"
    "\n"
    "Exit status: 0 verified, 1 rejected (malformed evidence included), 2 usage error or unreadable\n"
    "file, 3 collateral needed but not available (give --collateral or --no-dcap).\n";

enum {
    OPT_INFO = 256, OPT_QUOTE, OPT_COLLATERAL, OPT_APP_ID, OPT_COMPOSE, OPT_COMPOSE_HASH,
    OPT_REPORT_DATA, OPT_AT, OPT_NO_DCAP, OPT_ACCEPT, OPT_ALLOW_ADVISORY, OPT_JSON, OPT_TRUST_ROOT,
    OPT_ALLOW_DEBUG, OPT_MRTD, OPT_RTMR0, OPT_RTMR1, OPT_RTMR2, OPT_MIN_TCB_EVAL,
    OPT_MAX_COLLATERAL_AGE, OPT_HELP, OPT_PCCS, OPT_NO_CACHE, OPT_CACHE_DIR, OPT_BUNDLE,
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
    { "min-tcb-eval", required_argument, NULL, OPT_MIN_TCB_EVAL },
    { "max-collateral-age", required_argument, NULL, OPT_MAX_COLLATERAL_AGE },
    { "help", no_argument, NULL, OPT_HELP },
    { "pccs", required_argument, NULL, OPT_PCCS },
    { "no-cache", no_argument, NULL, OPT_NO_CACHE },
    { "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { NULL, 0, NULL, 0 },
};

#define MAX_ADVISORY_ARGS 64

typedef struct verify_args {
    const char *info_path, *quote_path, *collateral_path, *compose_path, *trust_root_path;
    const char *pccs_url, *cache_dir, *bundle_path;
    bool no_cache;
    bool json, have_at;
    int64_t at;
    cba_policy policy;
    char *advisory_storage[MAX_ADVISORY_ARGS + 1];
    size_t num_advisories;
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

/* parse_args returns -1 to go on, else an exit code. */
static int parse_args(verify_args *a, int argc, char **argv)
{
    int opt;
    uint64_t u;
    char bad[80];
    /* A first pass for --json so that usage errors come out as JSON too. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) { a->json = true; }
        if (strcmp(argv[i], "--") == 0) { break; }
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", k_options, NULL)) != -1) {
        cba_policy *p = &a->policy;
        switch (opt) {
        case OPT_INFO: a->info_path = optarg; break;
        case OPT_QUOTE: a->quote_path = optarg; break;
        case OPT_COLLATERAL: a->collateral_path = optarg; break;
        case OPT_COMPOSE: a->compose_path = optarg; break;
        case OPT_TRUST_ROOT: a->trust_root_path = optarg; break;
        case OPT_PCCS: a->pccs_url = optarg; break;
        case OPT_NO_CACHE: a->no_cache = true; break;
        case OPT_CACHE_DIR: a->cache_dir = optarg; break;
        case OPT_BUNDLE: a->bundle_path = optarg; break;
        case OPT_JSON: a->json = true; break;
        case OPT_NO_DCAP: p->skip_dcap = true; break;
        case OPT_ALLOW_DEBUG: p->allow_debug = true; break;
        case OPT_APP_ID:
            if (!cli_parse_hex(p->app_id, 20, optarg)) { return usage_error(a, "--app-id needs 40 hex digits"); }
            p->has_app_id = true;
            break;
        case OPT_COMPOSE_HASH:
            if (!cli_parse_hex(p->compose_hash, 32, optarg)) {
                return usage_error(a, "--compose-hash needs 64 hex digits");
            }
            p->has_compose_hash = true;
            break;
        case OPT_REPORT_DATA:
            if (!cli_parse_hex(p->report_data, 64, optarg)) {
                return usage_error(a, "--report-data needs 128 hex digits");
            }
            p->has_report_data = true;
            break;
        case OPT_MRTD:
            if (!cli_parse_hex(p->mrtd, 48, optarg)) { return usage_error(a, "--mrtd needs 96 hex digits"); }
            p->has_mrtd = true;
            break;
        case OPT_RTMR0:
        case OPT_RTMR1:
        case OPT_RTMR2: {
            int i = opt - OPT_RTMR0;
            if (!cli_parse_hex(p->rtmr[i], 48, optarg)) { return usage_error(a, "--rtmrN needs 96 hex digits"); }
            p->has_rtmr[i] = true;
            break;
        }
        case OPT_AT:
            if (!cli_parse_time(optarg, &a->at)) {
                return usage_error(a, "--at needs Unix seconds or YYYY-MM-DDThh:mm:ssZ");
            }
            a->have_at = true;
            break;
        case OPT_ACCEPT:
            if (!add_statuses(p, optarg, bad, sizeof bad)) {
                char msg[160];
                snprintf(msg, sizeof msg, "--accept: \"%s\" is not an acceptable TCB status", bad);
                return usage_error(a, msg);
            }
            break;
        case OPT_ALLOW_ADVISORY:
            if (!add_advisories(a, optarg)) { return usage_error(a, "--allow-advisory: bad advisory list"); }
            break;
        case OPT_MIN_TCB_EVAL:
            if (!parse_u64(optarg, UINT32_MAX, &u)) { return usage_error(a, "--min-tcb-eval needs a number"); }
            p->min_tcb_evaluation_data_number = (uint32_t)u;
            break;
        case OPT_MAX_COLLATERAL_AGE:
            if (!parse_u64(optarg, INT64_MAX, &u) || u == 0) {
                return usage_error(a, "--max-collateral-age needs a positive number of seconds");
            }
            p->max_collateral_age = (int64_t)u;
            break;
        case 'h':
        case OPT_HELP: fputs(k_verify_usage, stdout); return EXIT_VERIFIED;
        default: {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s'", argv[optind - 1]);
            return usage_error(a, msg);
        }
        }
    }
    if (optind != argc) {
        char msg[160];
        snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[optind]);
        return usage_error(a, msg);
    }
    if ((a->info_path == NULL && a->quote_path == NULL) == (a->bundle_path == NULL)) {
        return usage_error(a, "give --quote FILE, --info FILE or both, or --bundle FILE");
    }
    if (a->compose_path != NULL && a->policy.has_compose_hash) {
        return usage_error(a, "give either --compose or --compose-hash, not both");
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

/* print_json prints the library's JSON of the report (cba_report_json), the object documented in
 * docs/verifier.md; out of memory, a line that still says the verification failed. */
static void print_json(const cba_report *r, const verify_args *a)
{
    char *text = cba_report_json(r, &a->policy, a->at);
    if (text == NULL) {
        puts("{\"verdict\":\"error\",\"failed_check\":null,\"reason\":\"out of memory\"}");
        return;
    }
    puts(text);
    cba_free(text);
}

static void print_text(const cba_report *r, const verify_args *a)
{
    if (r->test_root) { printf("%s\n", k_test_root_warning); }
    for (int i = 0; i < CBA_CHECK_COUNT; i++) {
        printf("%-20s %-7s %s\n", cba_check_name((cba_check)i), cba_check_status_name(r->checks[i].status),
               r->checks[i].detail);
    }
    if (a->policy.skip_dcap) {
        printf("note: --no-dcap: CRLs, TCB info, QE identity and TCB status were not checked\n");
    }
    if (r->verdict == CBA_VERDICT_VERIFIED) {
        if (r->has_tcb) {
            printf("verdict: verified (TCB %s)\n", cba_tcb_status_name(r->tcb_status));
        } else {
            printf("verdict: verified\n");
        }
    } else {
        printf("verdict: rejected at %s: %s: %s\n", cba_check_name(r->failed_check),
               cba_err_message(r->error.code), r->error.detail);
    }
}

int cmd_verify(int argc, char **argv)
{
    verify_args a;
    cli_buf info = { 0 }, quote = { 0 }, coll = { 0 }, compose = { 0 }, root = { 0 };
    cba_evidence ev;
    cba_report *r = NULL;
    int rc;

    memset(&a, 0, sizeof a);
    cba_policy_init(&a.policy);
    cba_evidence_init(&ev);
    a.policy.one_shot = true; /* one verification per process: no wolfCrypt table building */
    rc = parse_args(&a, argc, argv);
    if (rc >= 0) { goto out; }
    rc = EXIT_USAGE;
    if (!a.have_at) { a.at = (int64_t)time(NULL); }
    if (a.info_path && !cli_read_file(a.info_path, CLI_MAX_INPUT, &info)) { goto out_usage; }
    if (a.quote_path && (!cli_read_file(a.quote_path, CLI_MAX_INPUT, &quote) ||
                         !cli_decode_quote_file(&quote, a.quote_path))) {
        goto out_usage;
    }
    if (a.collateral_path && !cli_read_file(a.collateral_path, CLI_MAX_INPUT, &coll)) { goto out_usage; }
    if (a.bundle_path && !bundle_fill(a.bundle_path, a.collateral_path == NULL && a.pccs_url == NULL, &info.data,
                                      &info.len, &quote.data, &quote.len, &coll.data, &coll.len, &a.policy,
                                      &ev.quote_replaces_info_quote, a.have_at ? NULL : &a.at)) {
        goto out_usage;
    }
    if (a.trust_root_path) {
        if (!fetch_load_trust_root(a.trust_root_path, &root)) { goto out_usage; }
        fprintf(stderr, "%s\n", k_test_root_warning);
        a.policy.trust_root_der = root.data;
        a.policy.trust_root_der_len = root.len;
    }
    if (a.pccs_url != NULL) {
        cba_fetch_opts fo;
        cba_fetch_result fr;
        cba_evidence fev;
        int frc;
        cba_evidence_init(&fev);
        fev.quote = quote.data;
        fev.quote_len = quote.len;
        fev.info_json = info.data;
        fev.info_json_len = info.len;
        cba_fetch_opts_init(&fo);
        fo.base_url = a.pccs_url;
        fo.cache_dir = a.cache_dir;
        fo.no_cache = a.no_cache;
        fo.quiet = a.json;
        fo.trust_root_der = a.policy.trust_root_der;
        fo.trust_root_der_len = a.policy.trust_root_der_len;
        frc = fetch_exit_code(cba_fetch_collateral(&fo, &fev, a.at, &fr));
        if (frc == EXIT_USAGE) {
            rc = usage_error(&a, fr.error);
            cba_fetch_result_free(&fr);
            goto out;
        }
        /* Verified collateral; or collateral that does not verify (the verifier then names the
         * failing check); or none (unavailable: the verdict says collateral is missing, exit 3). */
        coll = fr.json;
        fr.json = (cli_buf){ 0 };
        cba_fetch_result_free(&fr);
    }
    if (a.compose_path) {
        /* The expected compose hash is SHA-256 of the file's exact bytes, as the guest computes it. */
        if (!cli_read_file(a.compose_path, CLI_MAX_INPUT, &compose)) { goto out_usage; }
        if (!cba_compose_hash(a.policy.compose_hash, compose.data, compose.len)) { goto out_usage; }
        a.policy.has_compose_hash = true;
    }
    ev.info_json = info.data;
    ev.info_json_len = info.len;
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    ev.collateral_json = coll.data;
    ev.collateral_json_len = coll.len;

    r = malloc(sizeof *r);
    if (r == NULL) {
        rc = usage_error(&a, "out of memory");
        goto out;
    }
    cba_report_init(r);
    if (cba_verify(r, &a.policy, &ev, a.at) != CBA_OK && r->verdict == CBA_VERDICT_VERIFIED) {
        r->verdict = CBA_VERDICT_REJECTED; /* cannot happen; fail closed if it ever did */
    }
    if (a.json) {
        print_json(r, &a);
    } else {
        print_text(r, &a);
    }
    if (r->verdict == CBA_VERDICT_VERIFIED) {
        rc = EXIT_VERIFIED;
    } else if (r->collateral_missing) {
        rc = EXIT_NEED_COLLATERAL;
    } else {
        rc = EXIT_REJECTED;
    }
    goto out;
out_usage:
    if (a.json) { (void)usage_error(&a, "cannot read the input (see the message above)"); }
    rc = EXIT_USAGE;
out:
    free(r);
    cli_buf_free(&info);
    cli_buf_free(&quote);
    cli_buf_free(&coll);
    cli_buf_free(&compose);
    cli_buf_free(&root);
    for (size_t i = 0; i < a.num_advisories; i++) { free(a.advisory_storage[i]); }
    return rc;
}
