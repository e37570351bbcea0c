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
#include "verify_args.h"


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
        json_object_object_add(o, "warning", json_object_new_string(verify_test_root_warning));
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
    if (r->test_root) { printf("%s\n", verify_test_root_warning); }
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
    if (a->json) { (void)verify_usage_error(a, "cannot read the input (see the message above)"); }
    return EXIT_USAGE;
}

/* read_quote reads --quote, whatever form it has (quote_input.h). */
static int read_quote(verify_args *a, verify_inputs *in)
{
    if (!cli_read_file(a->quote_path, CLI_MAX_INPUT, &in->quote)) { return unreadable(a); }
    if (!cli_quote_input_detect(&in->qin, in->quote.data, in->quote.len)) { return verify_usage_error(a, "out of memory"); }
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
        fprintf(stderr, "%s\n", verify_test_root_warning);
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
        int rc = verify_usage_error(a, fr.error);
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
        return verify_usage_error(a, msg);
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
    rc = verify_parse_args(&a, argc, argv);
    if (rc >= 0) { goto out; }
    if (!a.have_at) { a.at = (int64_t)time(NULL); }
    if ((rc = read_evidence(&a, &in)) >= 0) { goto out; }
    if (a.pccs_url != NULL && (rc = fetch_pccs_collateral(&a, &in)) >= 0) { goto out; }
    if (a.compose_path && (rc = pin_compose(&a, &in)) >= 0) { goto out; }
    if ((rc = set_app_compose_policy(&a, &in)) >= 0) { goto out; }
    r = malloc(sizeof *r);
    if (r == NULL) {
        rc = verify_usage_error(&a, "out of memory");
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
