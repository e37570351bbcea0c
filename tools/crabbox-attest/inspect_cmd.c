/* inspect_cmd.c — `crabbox-attest inspect FILE`: show what a piece of evidence contains.
 * Inspection parses (strictly) but verifies nothing: libcrabbox-attest describes (attest/describe.h),
 * this prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cbs.h"
#include "cli.h"
#include "crabbox/verifier.h"
#include "describe.h"

static const char k_inspect_usage[] =
    "usage: crabbox-attest inspect FILE [--json]\n"
    "\n"
    "Shows what FILE contains, parsed strictly but NOT verified: a TDX quote (binary or hex), a PEM\n"
    "certificate chain, a DER certificate or CRL, a dstack guest agent response (Tappd.Info, Info,\n"
    "GetQuote) or DCAP collateral (QuoteCollateralV3 JSON).\n"
    "\n"
    "Exit status: 0 parsed, 1 malformed, 2 usage error or unreadable file.\n";

static void print_flat(json_object *o, int depth)
{
    json_object_object_foreach(o, key, val) {
        if (json_object_is_type(val, json_type_object)) {
            printf("%*s%s:\n", depth * 2, "", key);
            print_flat(val, depth + 1);
        } else if (json_object_is_type(val, json_type_array) && json_object_array_length(val) > 0 &&
                   json_object_is_type(json_object_array_get_idx(val, 0), json_type_object)) {
            for (size_t i = 0; i < json_object_array_length(val); i++) {
                printf("%*s%s[%zu]:\n", depth * 2, "", key, i);
                print_flat(json_object_array_get_idx(val, i), depth + 1);
            }
        } else {
            printf("%*s%-22s %s\n", depth * 2, "", key,
                   val ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN) : "null");
        }
    }
}

/* inspect_usage_json prints the shared JSON error shape for a usage error (with --json). */
static int inspect_usage_json(bool json, const char *msg)
{
    if (json) {
        json_object *e = json_object_new_object();
        cli_json_status(e, EXIT_USAGE, NULL, msg);
        puts(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(e);
    }
    return EXIT_USAGE;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    cli_buf in = { 0 };
    json_object *o;
    cba_err rc;
    char why[400] = "";
    size_t i = 0;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--json") == 0) { json = true; } /* first: usage errors as JSON too */
    }
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            fputs(k_inspect_usage, stdout);
            return 0;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            fprintf(stderr, "crabbox-attest inspect: unknown option '%s'\n%s", argv[k], k_inspect_usage);
            return inspect_usage_json(json, "unknown option");
        } else if (path == NULL) {
            path = argv[k];
        } else {
            fprintf(stderr, "crabbox-attest inspect: one FILE only\n");
            return inspect_usage_json(json, "one FILE only");
        }
    }
    if (path == NULL) {
        fputs(k_inspect_usage, stderr);
        return inspect_usage_json(json, "give a FILE");
    }
    if (!cli_read_file(path, CLI_MAX_INPUT, &in)) {
        return inspect_usage_json(json, "cannot read the file (see the message on stderr)");
    }
    while (i < in.len && (in.data[i] == ' ' || in.data[i] == '\n' || in.data[i] == '\r' || in.data[i] == '\t')) { i++; }
    o = json_object_new_object();
    if (in.len >= 2 && in.data[1] == 0 && in.data[0] >= 3 && in.data[0] <= 5) {
        rc = attest_describe_quote(o, cbs_make(in.data, in.len), why, sizeof why);
    } else if (i < in.len && in.data[i] == '{') {
        json_object *probe = json_tokener_parse((const char *)in.data);
        bool is_collateral = probe && json_object_object_get_ex(probe, "tcb_info_issuer_chain", NULL);
        json_object_put(probe);
        rc = is_collateral ? attest_describe_collateral(o, cbs_make(in.data, in.len), why, sizeof why)
                           : attest_describe_info(o, cbs_make(in.data, in.len), why, sizeof why);
    } else if (i < in.len && in.data[i] == '-') {
        json_object *chain = NULL;
        rc = attest_describe_chain(&chain, cbs_make(in.data, in.len), why, sizeof why);
        if (rc == CBA_OK) {
            json_object_object_add(o, "type", json_object_new_string("certificate_chain"));
            json_object_object_add(o, "certificates", chain);
        }
    } else if (in.len > 1 && in.data[0] == 0x30 && (in.data[1] == 0x82 || in.data[1] == 0x83)) {
        /* DER (a hex quote can start with the character '0' = 0x30 too) */
        rc = attest_describe_der(o, cbs_make(in.data, in.len), why, sizeof why);
    } else if (cli_decode_quote_file(&in, path)) {
        rc = attest_describe_quote(o, cbs_make(in.data, in.len), why, sizeof why);
    } else {
        rc = CBA_E_ARGUMENT;
    }
    if (why[0] != '\0') { fprintf(stderr, "crabbox-attest inspect: %s\n", why); }
    if (rc == CBA_OK) {
        if (json) {
            puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        } else {
            print_flat(o, 0);
        }
    } else if (json) {
        json_object *e = json_object_new_object();
        char msg[200];
        snprintf(msg, sizeof msg, "%s: %s", cba_err_name(rc), cba_err_message(rc));
        json_object_object_add(e, "error", json_object_new_string(cba_err_name(rc)));
        cli_json_status(e, 1, "malformed", msg);
        puts(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(e);
    }
    json_object_put(o);
    cli_buf_free(&in);
    return rc == CBA_OK ? 0 : 1;
}
