/* collateral_cmd.c — `crabbox-attest collateral fetch` over libcrabbox-attest's collateral
 * fetching (crabbox/collateral.h): arguments, the test trust root, exit codes and what is printed
 * (the library's progress lines go to stderr through cli_fetch_note). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"
#include "crabbox/collateral.h"
#include "crabbox/verifier.h"
#include "fetch.h"
#include "fileio.h"
#include "hints.h"

#define PROG "crabbox-attest"

static const char k_test_root_warning[] =
    "WARNING: --trust-root is for tests only: this collateral is NOT anchored in Intel's SGX Root CA";

void cli_fetch_note(void *ctx, cba_fetch_note kind, const char *line)
{
    (void)ctx;
    (void)kind;
    fprintf(stderr, PROG ": %s\n", line);
}

void cli_fetch_opts_init(cba_fetch_opts *fo)
{
    cba_fetch_opts_init(fo);
    fo->progress = cli_fetch_note;
    fo->env_xdg_cache_home = getenv("XDG_CACHE_HOME");
    fo->env_home = getenv("HOME");
}

/* fail records msg as the result's error, prints it, and returns code. */
__attribute__((format(printf, 3, 4))) static int fail(cba_fetch_result *res, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    fprintf(stderr, PROG ": %s\n", res->error);
    return code;
}

__attribute__((format(printf, 2, 3))) static void progress(const cba_fetch_opts *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet) { return; }
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void format_time(char *out, size_t out_len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, out_len, "%lld", (long long)t);
    }
}

int fetch_exit_code(cba_fetch_status status)
{
    switch (status) {
    case CBA_FETCH_OK: return EXIT_VERIFIED;
    case CBA_FETCH_BAD_QUOTE:
    case CBA_FETCH_BAD_RESPONSE:
    case CBA_FETCH_NOT_VERIFIED: return EXIT_REJECTED;
    case CBA_FETCH_UNAVAILABLE: return EXIT_NEED_COLLATERAL;
    case CBA_FETCH_BAD_ARGUMENT:
    case CBA_FETCH_NOMEM:
    case CBA_FETCH_INTERNAL:
    case CBA_FETCH_STATUS_COUNT: break;
    }
    return EXIT_USAGE;
}

/* ---- Trust anchor for tests ---------------------------------------------------------------- */

bool fetch_load_trust_root(const char *path, cli_buf *out)
{
    if (!cli_read_file(path, 65536, out)) { return false; }
    if (!cba_fetch_trust_root_der(out)) {
        fprintf(stderr, PROG ": --trust-root %s: not one PEM or DER certificate\n", path);
        cli_buf_free(out);
        return false;
    }
    return true;
}

/* ---- `crabbox-attest collateral fetch` ---------------------------------------------------- */

static const char k_collateral_usage[] =
    "usage: crabbox-attest collateral fetch (--quote FILE | --info FILE) [--pccs URL] [-o FILE]\n"
    "                                       [--cache-dir DIR] [--no-cache] [--at TIME] [--json]\n"
    "                                       [--timeout SECONDS] [--tries N] [--refresh-after SECONDS]\n"
    "                                       [--cacert FILE]\n"
    "\n"
    "Fetches the DCAP collateral for a TDX quote (PCK CRL, TCB info, QE identity, root CA CRL) from\n"
    "Intel PCS or a PCCS, verifies it, caches it and writes it as QuoteCollateralV3 JSON, the format\n"
    "of 'crabbox-attest verify --collateral'. The FMSPC and the PCK CA kind come from the quote.\n"
    "\n"
    "  --quote FILE          TDX quote: binary, hex, base64, {\"quote\"} JSON, dstack attestation or\n"
    "                        RA-TLS certificate ('-' reads standard input)\n"
    "  --info FILE           or a dstack guest agent response carrying the quote\n"
    "  --pccs URL            PCS/PCCS base URL (default $PCCS_URL, else " CBA_FETCH_DEFAULT_URL ");\n"
    "                        https://HOST[:PORT], the bare host, or with /sgx|tdx/certification/v4;\n"
    "                        plain http:// is refused except for loopback hosts\n"
    "  -o, --output FILE     write the collateral here (atomically, mode 0644; default: stdout)\n"
    "  --cache-dir DIR       cache directory (default $XDG_CACHE_HOME/crabbox-attest or\n"
    "                        ~/.cache/crabbox-attest; must be yours and not group/world-writable)\n"
    "  --no-cache            neither read nor write the cache\n"
    "  --refresh-after SECONDS  re-fetch a cached entry older than this (default 86400); an older\n"
    "                        entry that is still valid is used when the network fails\n"
    "  --at TIME             verification time: Unix seconds or RFC 3339 (default: now)\n"
    "  --timeout SECONDS     total time per request try (default 30; connect timeout 10)\n"
    "  --tries N             tries per object, 1-10 (default 3); only connection errors, timeouts,\n"
    "                        HTTP 5xx and 429 are retried, with backoff 0.5 s, 1 s, ...\n"
    "  --cacert FILE         CA bundle for https (default: the system store)\n"
    "  --trust-root FILE     TEST ONLY: verify against this root instead of the Intel SGX Root CA\n"
    "  --json                print one JSON status object on stdout (needs -o FILE); no progress\n"
    "\n"
    "Only collateral that verifies is cached (one file per FMSPC and CA kind, mode 0600); a cached\n"
    "entry is verified again on every use and used until its earliest nextUpdate.\n"
    "\n"
    "Exit status: 0 collateral written, 1 malformed quote or the fetched collateral does not verify,\n"
    "2 usage error, 3 collateral unavailable (network or HTTP failure, nothing valid cached).\n";

enum {
    CO_QUOTE = 256, CO_INFO, CO_PCCS, CO_OUTPUT, CO_CACHE_DIR, CO_NO_CACHE, CO_AT, CO_JSON, CO_TIMEOUT,
    CO_TRIES, CO_CACERT, CO_TRUST_ROOT, CO_REFRESH_AFTER, CO_HELP,
};

static const struct option k_collateral_options[] = {
    { "quote", required_argument, NULL, CO_QUOTE },
    { "info", required_argument, NULL, CO_INFO },
    { "pccs", required_argument, NULL, CO_PCCS },
    { "output", required_argument, NULL, CO_OUTPUT },
    { "cache-dir", required_argument, NULL, CO_CACHE_DIR },
    { "no-cache", no_argument, NULL, CO_NO_CACHE },
    { "at", required_argument, NULL, CO_AT },
    { "json", no_argument, NULL, CO_JSON },
    { "timeout", required_argument, NULL, CO_TIMEOUT },
    { "tries", required_argument, NULL, CO_TRIES },
    { "cacert", required_argument, NULL, CO_CACERT },
    { "trust-root", required_argument, NULL, CO_TRUST_ROOT },
    { "refresh-after", required_argument, NULL, CO_REFRESH_AFTER },
    { "help", no_argument, NULL, CO_HELP },
    { NULL, 0, NULL, 0 },
};

typedef struct collateral_args {
    const char *quote_path, *info_path, *output, *trust_root_path;
    bool json, have_at;
    int64_t at;
    cba_fetch_opts fo;
} collateral_args;

static void print_json_status(const collateral_args *a, int rc, const cba_fetch_result *res, const cba_report *rep)
{
    json_object *o = json_object_new_object();
    if (o == NULL) { return; }
    json_object_object_add(o, "result", json_object_new_string(rc == 0 ? "ok" : "error"));
    json_object_object_add(o, "exit_code", json_object_new_int(rc));
    json_object_object_add(o, "error", rc == 0 ? NULL : json_object_new_string(res->error));
    if (res->have_target) {
        char fm[13];
        cli_hex(fm, res->fmspc, 6);
        json_object_object_add(o, "fmspc", json_object_new_string(fm));
        json_object_object_add(o, "ca", json_object_new_string(res->processor_ca ? "processor" : "platform"));
    }
    if (rc == 0) {
        json_object_object_add(o, "source", json_object_new_string(res->from_cache ? "cache" : "network"));
        json_object_object_add(o, "collateral_expires", json_object_new_int64(res->expires));
        json_object_object_add(o, "output", json_object_new_string(a->output));
        if (rep != NULL) {
            json_object_object_add(o, "quote_verdict",
                                   json_object_new_string(rep->verdict == CBA_VERDICT_VERIFIED ? "verified"
                                                                                               : "rejected"));
            json_object_object_add(o, "quote_failed_check",
                                   rep->verdict == CBA_VERDICT_VERIFIED
                                       ? NULL
                                       : json_object_new_string(cba_check_name(rep->failed_check)));
            json_object_object_add(o, "tcb_status", rep->has_tcb ? json_object_new_string(
                                                                       cba_tcb_status_name(rep->tcb_status))
                                                                 : NULL);
        }
    }
    json_object_object_add(o, "at", json_object_new_int64(a->at));
    if (a->fo.trust_root_der != NULL) {
        json_object_object_add(o, "warning", json_object_new_string(k_test_root_warning));
    }
    cli_json_status(o, rc, NULL, rc == 0 ? NULL : res->error);
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static int collateral_usage_error(const collateral_args *a, const char *msg)
{
    if (a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "result", json_object_new_string("error"));
        json_object_object_add(o, "exit_code", json_object_new_int(EXIT_USAGE));
        json_object_object_add(o, "error", json_object_new_string(msg));
        cli_json_status(o, EXIT_USAGE, NULL, msg);
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    }
    fprintf(stderr, PROG " collateral: %s\n", msg);
    if (!a->json) { fprintf(stderr, "Try 'crabbox-attest collateral fetch --help'.\n"); }
    return EXIT_USAGE;
}

bool fetch_parse_seconds(const char *text, double min, double max, double *out)
{
    char *end;
    double v;
    if (text[0] < '0' || text[0] > '9') { return false; }
    errno = 0;
    v = strtod(text, &end);
    if (*end != '\0' || errno != 0 || !(v >= min && v <= max)) { return false; }
    *out = v;
    return true;
}

/* parse_collateral_args returns -1 to go on, else an exit code. argv[0] is "fetch". */
static int parse_collateral_args(collateral_args *a, int argc, char **argv)
{
    int opt;
    double v;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) { a->json = true; }
        if (strcmp(argv[i], "--") == 0) { break; }
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "ho:", k_collateral_options, NULL)) != -1) {
        switch (opt) {
        case CO_QUOTE: a->quote_path = optarg; break;
        case CO_INFO: a->info_path = optarg; break;
        case CO_PCCS: a->fo.base_url = optarg; break;
        case 'o':
        case CO_OUTPUT: a->output = optarg; break;
        case CO_CACHE_DIR: a->fo.cache_dir = optarg; break;
        case CO_NO_CACHE: a->fo.no_cache = true; break;
        case CO_JSON: a->json = true; break;
        case CO_CACERT: a->fo.cacert = optarg; break;
        case CO_TRUST_ROOT: a->trust_root_path = optarg; break;
        case CO_AT:
            if (!cli_parse_time(optarg, &a->at)) {
                return collateral_usage_error(a, "--at needs Unix seconds or an RFC 3339 time such as 2025-06-01T12:00:00Z or 2025-06-01T14:00:00.5+02:00");
            }
            a->have_at = true;
            break;
        case CO_TIMEOUT:
            if (!fetch_parse_seconds(optarg, 0.1, 600, &v)) {
                return collateral_usage_error(a, "--timeout needs seconds between 0.1 and 600");
            }
            a->fo.timeout_ms = (long)(v * 1000);
            break;
        case CO_TRIES:
            if (!fetch_parse_seconds(optarg, 1, CBA_FETCH_MAX_TRIES, &v) || v != (double)(int)v) {
                return collateral_usage_error(a, "--tries needs a whole number from 1 to 10");
            }
            a->fo.max_tries = (int)v;
            break;
        case CO_REFRESH_AFTER:
            if (!fetch_parse_seconds(optarg, 0, 1e9, &v) || v != (double)(int64_t)v) {
                return collateral_usage_error(a, "--refresh-after needs whole seconds");
            }
            a->fo.refresh_after = (int64_t)v;
            break;
        case 'h':
        case CO_HELP: fputs(k_collateral_usage, stdout); return 0;
        default: {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%.100s'", argv[optind - 1]);
            return collateral_usage_error(a, msg);
        }
        }
    }
    if (optind != argc) {
        char msg[160];
        snprintf(msg, sizeof msg, "unexpected argument '%.100s'", argv[optind]);
        return collateral_usage_error(a, msg);
    }
    if ((a->quote_path == NULL) == (a->info_path == NULL)) {
        return collateral_usage_error(a, "give --quote FILE or --info FILE");
    }
    if (a->json && (a->output == NULL || strcmp(a->output, "-") == 0)) {
        return collateral_usage_error(a, "--json prints a status object on stdout: give -o FILE");
    }
    if (a->output != NULL && strcmp(a->output, "-") == 0) { a->output = NULL; }
    return -1;
}

static bool write_stdout(const cli_buf *b)
{
    return fwrite(b->data, 1, b->len, stdout) == b->len && fflush(stdout) == 0;
}

/* pick_subcommand returns -1 for `fetch`, else the exit code (help, or a usage error). */
static int pick_subcommand(int argc, char **argv)
{
    if (argc < 2) {
        fputs(k_collateral_usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(k_collateral_usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "fetch") != 0) {
        fprintf(stderr, PROG " collateral: unknown subcommand '%.100s'\n%s", argv[1], k_collateral_usage);
        return EXIT_USAGE;
    }
    return -1;
}

/* The files cmd_collateral reads and owns until it returns. */
typedef struct collateral_inputs {
    cli_buf quote, info, root;
} collateral_inputs;

/* malformed_quote: --quote was read, but holds no quote: malformed evidence (exit 1), the form
 * named above. */
static int malformed_quote(const collateral_args *a)
{
    int rc = EXIT_REJECTED;
    if (a->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "result", json_object_new_string("error"));
        json_object_object_add(o, "exit_code", json_object_new_int(rc));
        json_object_object_add(o, "error", json_object_new_string("malformed quote (see stderr)"));
        cli_json_status(o, rc, "malformed", "malformed quote: no TDX quote in the --quote file (see stderr)");
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    }
    return rc;
}

/* read_inputs reads --quote or --info, and --trust-root; returns -1 to go on, else the exit code. */
static int read_inputs(collateral_args *a, collateral_inputs *in)
{
    if (a->quote_path != NULL && !cli_read_file(a->quote_path, CLI_MAX_INPUT, &in->quote)) {
        (void)collateral_usage_error(a, "cannot read the quote (see the message above)");
        return EXIT_USAGE;
    }
    if (a->quote_path != NULL && !cli_decode_quote_file(&in->quote, a->quote_path)) { return malformed_quote(a); }
    if (a->info_path != NULL && !cli_read_file(a->info_path, CLI_MAX_INPUT, &in->info)) {
        (void)collateral_usage_error(a, "cannot read the guest agent response (see the message above)");
        return EXIT_USAGE;
    }
    if (a->trust_root_path != NULL) {
        if (!fetch_load_trust_root(a->trust_root_path, &in->root)) {
            (void)collateral_usage_error(a, "cannot load --trust-root (see the message above)");
            return EXIT_USAGE;
        }
        fprintf(stderr, "%s\n", k_test_root_warning);
        a->fo.trust_root_der = in->root.data;
        a->fo.trust_root_der_len = in->root.len;
    }
    return -1;
}

/* judge_quote says what this collateral says about the quote, under the default policy
 * (informational: the collateral itself verified). Returns the report, NULL when out of memory. */
static cba_report *judge_quote(const collateral_args *a, cba_evidence *ev, const cba_fetch_result *res)
{
    cba_report *rep = malloc(sizeof *rep);
    cba_policy pol;
    char until[32];
    if (rep == NULL) { return NULL; }
    cba_policy_init(&pol);
    cba_report_init(rep);
    pol.trust_root_der = a->fo.trust_root_der;
    pol.trust_root_der_len = a->fo.trust_root_der_len;
    ev->collateral_json = res->json.data;
    ev->collateral_json_len = res->json.len;
    if (cba_verify(rep, &pol, ev, a->at) != CBA_OK && rep->verdict == CBA_VERDICT_VERIFIED) {
        rep->verdict = CBA_VERDICT_REJECTED; /* cannot happen; fail closed if it ever did */
    }
    tc_report_add_hints(rep, TC_HINTS_ATTEST);
    format_time(until, sizeof until, res->expires);
    if (rep->verdict == CBA_VERDICT_VERIFIED) {
        progress(&a->fo, "with this collateral the quote verifies (TCB %s); collateral valid until %s",
                 cba_tcb_status_name(rep->tcb_status), until);
    } else {
        progress(&a->fo, "note: with this collateral the quote is rejected at %s: %s: %s",
                 cba_check_name(rep->failed_check), cba_err_message(rep->error.code), rep->error.detail);
    }
    return rep;
}

/* save_collateral writes the collateral to -o FILE or standard output; returns the exit code. */
static int save_collateral(const collateral_args *a, cba_fetch_result *res)
{
    if (a->output != NULL) {
        int werr = tc_write_file_atomic(a->output, res->json.data, res->json.len, 0644);
        if (werr != 0) { return fail(res, EXIT_USAGE, "cannot write %s: %s", a->output, strerror(werr)); }
        progress(&a->fo, "wrote %s (%zu bytes)", a->output, res->json.len);
    } else if (!write_stdout(&res->json)) {
        return fail(res, EXIT_USAGE, "cannot write the collateral to standard output");
    }
    return 0;
}

int cmd_collateral(int argc, char **argv)
{
    collateral_args a;
    collateral_inputs in;
    cba_fetch_result res;
    cba_report *rep = NULL;
    cba_evidence ev;
    int rc;

    cba_evidence_init(&ev);
    memset(&res, 0, sizeof res);
    memset(&a, 0, sizeof a);
    memset(&in, 0, sizeof in);
    cli_fetch_opts_init(&a.fo);
    if ((rc = pick_subcommand(argc, argv)) >= 0) { return rc; }
    rc = parse_collateral_args(&a, argc - 1, argv + 1);
    if (rc >= 0) { return rc; }
    a.fo.quiet = a.json;
    if (a.fo.base_url == NULL && getenv("PCCS_URL") != NULL && getenv("PCCS_URL")[0] != '\0') {
        a.fo.base_url = getenv("PCCS_URL"); /* as dcap-qvl: the default PCS/PCCS */
    }
    if (!a.have_at) { a.at = (int64_t)time(NULL); }
    if ((rc = read_inputs(&a, &in)) >= 0) { goto out; }
    ev.quote = in.quote.data;
    ev.quote_len = in.quote.len;
    ev.info_json = in.info.data;
    ev.info_json_len = in.info.len;

    rc = fetch_exit_code(cba_fetch_collateral(&a.fo, &ev, a.at, &res));
    if (rc == 0) {
        rep = judge_quote(&a, &ev, &res);
        rc = save_collateral(&a, &res);
    }
    if (a.json) { print_json_status(&a, rc, &res, rep); }
out:
    free(rep);
    cba_fetch_result_free(&res);
    cli_buf_free(&in.quote);
    cli_buf_free(&in.info);
    cli_buf_free(&in.root);
    return rc;
}
