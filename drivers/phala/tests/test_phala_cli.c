/* test_phala_cli.c — locating the CLI's JSON document, strict parsing, failure classification
 * and messages (phala-provider.md §7, §9, §12). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phala.h"

TestSuite(phala_cli, .timeout = 30);

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

/* located returns the located object as a new string ("" when none). */
static char *located(const char *s, bool strict)
{
    cbs out;
    char *r;
    if (!phala_locate_json(txt(s), strict, &out)) { return strdup(""); }
    r = malloc(out.len + 1);
    cr_assert_not_null(r);
    memcpy(r, out.data, out.len);
    r[out.len] = '\0';
    return r;
}

static void expect_located(const char *in, bool strict, const char *want)
{
    char *got = located(in, strict);
    cr_assert_str_eq(got, want, "input: %s", in);
    free(got);
}

Test(phala_cli, locate_after_progress_line)
{
    expect_located("Provisioning CVM crabbox-cbx-3fa91c0d22e1...\n{\n  \"success\": true\n}\n", true,
                   "{\n  \"success\": true\n}");
}

Test(phala_cli, locate_before_libuv_assertion)
{
    expect_located("Provisioning CVM x...\n{\"success\": true}\nAssertion failed: "
                   "!(handle->flags & UV_HANDLE_CLOSING), file src\\win\\async.c, line 76\n",
                   true, "{\"success\": true}");
}

Test(phala_cli, locate_is_string_aware)
{
    expect_located("{\"a\": \"}{\\\"}\", \"b\": [{\"c\": \"]\"}]}\n", true,
                   "{\"a\": \"}{\\\"}\", \"b\": [{\"c\": \"]\"}]}");
    expect_located("  {\"x\": \"\\\\\"}", true, "{\"x\": \"\\\\\"}");
}

Test(phala_cli, locate_refuses_trailing_text_when_strict)
{
    expect_located("{\"success\": true}\n{\"success\": false}\n", true, "");
    expect_located("{\"success\": true}\ngarbage\n", true, "");
    expect_located("{\"success\": true}\ngarbage\n", false, "{\"success\": true}");
    expect_located("{\"success\": true}   \n\n", true, "{\"success\": true}");
}

Test(phala_cli, locate_refuses_broken_objects)
{
    expect_located("{\"success\": true", true, "");        /* truncated */
    expect_located("{\"s\": \"}\"", true, "");              /* brace only inside a string */
    expect_located("{\"a\": [1}]", true, "");                 /* mismatched nesting */
    expect_located("no json here\n", true, "");
    expect_located("", true, "");
    expect_located("x {\"a\": 1}\n", true, "");               /* '{' not at a line start */
    char deep[64] = "";
    for (int i = 0; i < 20; i++) { strcat(deep, "["); }
    char doc[96];
    snprintf(doc, sizeof doc, "{\"a\": %s}", deep);
    expect_located(doc, true, "");                             /* deeper than the parser allows */
}

Test(phala_cli, classify_known_messages)
{
    cr_assert_eq(phala_classify_message(txt("CVM not found")), CRABBOX_E_NOT_FOUND);
    cr_assert_eq(phala_classify_message(txt("Failed to delete CVM crabbox-x: CVM not found")),
                 CRABBOX_E_NOT_FOUND);
    cr_assert_eq(phala_classify_message(txt("API token is required. Please run 'phala login' or "
                                            "set PHALA_CLOUD_API_KEY environment variable")),
                 CRABBOX_E_AUTH);
    cr_assert_eq(phala_classify_message(txt("Invalid API key")), CRABBOX_E_AUTH);
    cr_assert_eq(phala_classify_message(txt("HTTP 401")), CRABBOX_E_AUTH);
    cr_assert_eq(phala_classify_message(txt("Insufficient balance")), CRABBOX_E_QUOTA);
    cr_assert_eq(phala_classify_message(txt("CVM quota exceeded for team")), CRABBOX_E_QUOTA);
    cr_assert_eq(phala_classify_message(txt("Too Many Requests")), CRABBOX_E_QUOTA);
    cr_assert_eq(phala_classify_message(txt("status 429")), CRABBOX_E_QUOTA);
    cr_assert_eq(phala_classify_message(txt("socket hang up (ECONNRESET)")), CRABBOX_E_TRANSIENT);
    cr_assert_eq(phala_classify_message(txt("Request timed out")), CRABBOX_E_TRANSIENT);
    cr_assert_eq(phala_classify_message(txt("Service Unavailable")), CRABBOX_E_TRANSIENT);
    cr_assert_eq(phala_classify_message(txt("upstream 503")), CRABBOX_E_TRANSIENT);
    cr_assert_eq(phala_classify_message(
                     txt("Invalid CVM name: \"1x\". Name must be 5-63 characters, start with "
                         "letter, and contain only letters/numbers/hyphens.")),
                 CRABBOX_E_USAGE);
    cr_assert_eq(phala_classify_message(txt("Docker compose file not found: /x.yml")),
                 CRABBOX_E_USAGE);
    cr_assert_eq(phala_classify_message(txt("SSH public key file not found: /k.pub")),
                 CRABBOX_E_USAGE);
    cr_assert_eq(phala_classify_message(txt("Something odd happened")), CRABBOX_E_FAILED);
}

Test(phala_cli, classify_numbers_need_word_boundaries)
{
    cr_assert_eq(phala_classify_message(txt("order 14290 rejected")), CRABBOX_E_FAILED);
    cr_assert_eq(phala_classify_message(txt("CVM not found.")), CRABBOX_E_FAILED,
                 "only the API's exact text means gone");
}

/* run_interpret feeds stdout/stderr texts and an exit status to phala_interpret. */
static int run_interpret(const char *what, const char *so, const char *se, int status,
                         unsigned flags, json_object **doc, crabbox_err *err)
{
    crabbox_output out;
    memset(&out, 0, sizeof out);
    out.out = (uint8_t *)(uintptr_t)so;
    out.out_len = strlen(so);
    out.err = (uint8_t *)(uintptr_t)se;
    out.err_len = strlen(se);
    out.exit_status = status;
    memset(err, 0, sizeof *err);
    return phala_interpret(what, &out, flags, doc, err);
}

Test(phala_cli, interpret_success_document)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("deploy",
                           "Provisioning CVM crabbox-cbx-3fa91c0d22e1...\n{\n  \"success\": true,\n"
                           "  \"app_id\": \"0123456789abcdef0123456789abcdef01234567\"\n}\n",
                           "", 0, PHALA_DOC_ON_STDERR, &doc, &err);
    cr_assert_eq(rc, CRABBOX_OK, "%s", err.message);
    cr_assert_not_null(doc);
    cr_assert(phala_doc_success(doc));
    json_object_put(doc);
}

Test(phala_cli, interpret_deploy_failure_on_stderr)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("deploy", "Provisioning CVM crabbox-cbx-3fa91c0d22e1...\n",
                           "{\n  \"success\": false,\n  \"error\": \"Insufficient balance\"\n}\n", 1,
                           PHALA_DOC_ON_STDERR, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_QUOTA);
    cr_assert_eq(err.code, CRABBOX_E_QUOTA);
    cr_assert_null(doc);
    cr_assert_str_eq(err.message, "phala deploy failed: quota or balance: Insufficient balance");
}

Test(phala_cli, interpret_structured_error_object)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("deploy", "",
                           "[phala/cloud] teepod_id is deprecated, please use node_id instead.\n"
                           "{\"success\": false, \"error\": {\"message\": \"Rate limit exceeded\"}}\n",
                           1, PHALA_DOC_ON_STDERR, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_QUOTA, "%s", err.message);
}

Test(phala_cli, interpret_not_found_on_stdout)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("cvms get", "{\n  \"success\": false,\n  \"error\": \"CVM not found\"\n}\n",
                           "", 1, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_NOT_FOUND);
    cr_assert_str_eq(err.message, "phala cvms get failed: not found: CVM not found");
}

Test(phala_cli, interpret_human_failure_line)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("cvms delete", "", "- Deleting CVM...\n\xe2\x9c\x97 CVM not found\n", 1, 0,
                           &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_NOT_FOUND, "%s", err.message);
}

Test(phala_cli, interpret_garbage_is_malformed)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("cvms list", "<html>502 Bad Gateway</html>\n", "", 0, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_MALFORMED);
    cr_assert(strncmp(err.message, "phala cvms list failed: malformed output: ", 42) == 0, "%s",
              err.message);
    cr_assert_null(doc);
}

Test(phala_cli, interpret_refuses_lax_json)
{
    static const char *const bad[] = {
        "{\"success\": true, \"success\": true}",          /* duplicate key */
        "{\"success\": true,}",                            /* trailing comma */
        "{'success': true}",                               /* single quotes */
        "{\"success\": true, \"n\": NaN}",                 /* NaN */
        "[{\"success\": true}]",                           /* not an object at a line start */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *doc = NULL;
        crabbox_err err;
        cr_assert_eq(run_interpret("cvms list", bad[i], "", 0, 0, &doc, &err), CRABBOX_E_MALFORMED,
                     "accepted: %s", bad[i]);
        cr_assert_null(doc);
    }
}

Test(phala_cli, interpret_missing_or_false_success)
{
    json_object *doc = NULL;
    crabbox_err err;
    cr_assert_eq(run_interpret("cvms get", "{\"app_id\": \"x\"}", "", 0, 0, &doc, &err),
                 CRABBOX_E_MALFORMED);
    cr_assert_eq(run_interpret("cvms get", "{\"success\": \"true\"}", "", 0, 0, &doc, &err),
                 CRABBOX_E_MALFORMED, "a string is not a boolean");
    cr_assert_eq(run_interpret("cvms get", "{\"success\": false, \"error\": \"Insufficient funds\"}",
                               "", 0, 0, &doc, &err),
                 CRABBOX_E_QUOTA, "a failure document wins over exit 0");
    cr_assert_eq(run_interpret("cvms get", "{\"success\": true}", "", 1, 0, &doc, &err),
                 CRABBOX_E_MALFORMED, "exit 1 with success true is inconsistent");
}

Test(phala_cli, interpret_empty_status)
{
    json_object *doc = (json_object *)1;
    crabbox_err err;
    cr_assert_eq(run_interpret("status", "", "", 0, PHALA_EMPTY_OK, &doc, &err), CRABBOX_OK);
    cr_assert_null(doc, "empty answer: no document");
    cr_assert_eq(run_interpret("status", "\n", "", 0, 0, &doc, &err), CRABBOX_E_MALFORMED,
                 "empty output is malformed unless the caller allows it");
}

Test(phala_cli, interpret_timeout_and_truncation)
{
    crabbox_output out;
    crabbox_err err;
    json_object *doc = NULL;
    memset(&out, 0, sizeof out);
    out.timed_out = true;
    out.exit_status = 128 + 9;
    cr_assert_eq(phala_interpret("cvms get", &out, 0, &doc, &err), CRABBOX_E_TIMEOUT);
    cr_assert_str_eq(err.message, "phala cvms get failed: timed out: no answer before the deadline");
    out.timed_out = false;
    out.truncated = true;
    out.exit_status = 0;
    cr_assert_eq(phala_interpret("cvms list", &out, 0, &doc, &err), CRABBOX_E_MALFORMED);
}

Test(phala_cli, interpret_unstructured_failure)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("cvms list", "",
                           "node:internal/modules/cjs/loader:1080\n  throw err;\n\nNode.js v20.1.0\n",
                           1, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_FAILED);
    cr_assert_str_eq(err.message, "phala cvms list failed: exit status 1: Node.js v20.1.0");
    rc = run_interpret("cvms list", "", "", 137, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_FAILED);
    cr_assert_str_eq(err.message, "phala cvms list failed: killed by signal 9: (no output)");
}

Test(phala_cli, messages_never_carry_api_keys)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc;
    setenv("PHALA_CLOUD_API_KEY", "sk-very-secret-value-1234", 1);
    rc = run_interpret("status",
                       "{\"success\": false, \"error\": \"Invalid API key phak_AbC123xyz987654321 "
                       "(sent sk-very-secret-value-1234)\"}",
                       "", 1, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_AUTH);
    cr_assert_null(strstr(err.message, "AbC123xyz987654321"), "%s", err.message);
    cr_assert_null(strstr(err.message, "sk-very-secret"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "[redacted]"), "%s", err.message);
}

Test(phala_cli, excerpt_is_one_bounded_printable_line)
{
    char out[32];
    phala_excerpt(out, sizeof out, txt("  line one\n\tline\x1b[2J two\r\n"));
    cr_assert_str_eq(out, "line one line [2J two");
    phala_excerpt(out, sizeof out, txt("0123456789012345678901234567890123456789"));
    cr_assert_str_eq(out, "0123456789012345678901234567...");
    cr_assert_eq(strlen(out), sizeof out - 1);
    phala_excerpt(out, sizeof out, txt("bad \xff\xfe utf8 \xe2\x9c\x97 ok"));
    cr_assert_str_eq(out, "bad ?? utf8 \xe2\x9c\x97 ok");
    /* a cut never splits a UTF-8 sequence */
    phala_excerpt(out, 12, txt("abcdefg\xe2\x9c\x97\xe2\x9c\x97"));
    cr_assert_str_eq(out, "abcdefg...");
}

Test(phala_cli, version_word)
{
    char v[32];
    cr_assert_eq(phala_parse_version(txt("v1.1.18+d27a321\n"), v, sizeof v), CRABBOX_OK);
    cr_assert_str_eq(v, "v1.1.18+d27a321");
    cr_assert_eq(phala_parse_version(txt("1.2.0"), v, sizeof v), CRABBOX_OK);
    cr_assert_eq(phala_parse_version(txt(""), v, sizeof v), CRABBOX_E_MALFORMED);
    cr_assert_eq(phala_parse_version(txt("vX"), v, sizeof v), CRABBOX_E_MALFORMED);
    cr_assert_eq(phala_parse_version(txt("v1;rm -rf"), v, sizeof v), CRABBOX_E_MALFORMED);
    cr_assert_eq(phala_parse_version(txt("v1.0.0000000000000000000000000000000"), v, sizeof v),
                 CRABBOX_E_MALFORMED);
}

/* Issue 11 §3: what the real phala 1.1.18 prints, observed against a loopback API. */
Test(phala_cli, real_cli_unknown_api_error_is_transient)
{
    json_object *doc = NULL;
    crabbox_err err;
    /* A refused connection, the CLI's own 30 s timeout, an HTML 502: all the same text. */
    cr_assert_eq(phala_classify_message(txt("Unknown API error")), CRABBOX_E_TRANSIENT);
    int rc = run_interpret("cvms get", "{\n  \"success\": false,\n  \"error\": \"Unknown API error\"\n}\n", "",
                           1, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_TRANSIENT, "%s", err.message);
    cr_assert_str_eq(err.message, "phala cvms get failed: transient error: Unknown API error");
    rc = run_interpret("deploy", "Provisioning CVM crabbox-cbx-0123456789ab...\n",
                       "{\n  \"success\": false,\n  \"error\": \"Unknown API error\"\n}\n", 1,
                       PHALA_DOC_ON_STDERR, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_TRANSIENT, "%s", err.message);
}

/* The real CLI on an API answer that is not JSON (its schema check's issue list) and on a body
 * cut off by a dropped connection (undici's "terminated"); observed against the loopback API. */
Test(phala_cli, real_cli_bad_answer_is_malformed_cut_answer_transient)
{
    json_object *doc = NULL;
    crabbox_err err;
    const char *zod = "{\n  \"success\": false,\n  \"error\": \"[\\n  {\\n    \\\"code\\\": \\\"invalid_type\\\",\\n"
                      "    \\\"expected\\\": \\\"object\\\",\\n    \\\"received\\\": \\\"string\\\",\\n"
                      "    \\\"path\\\": [],\\n    \\\"message\\\": \\\"Expected object, received string\\\"\\n"
                      "  }\\n]\"\n}\n";
    int rc = run_interpret("cvms get", zod, "", 1, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_MALFORMED, "%s", err.message);
    cr_assert(strstr(err.message, "phala cvms get failed: malformed output: ") == err.message, "%s", err.message);
    rc = run_interpret("cvms list", "{\n  \"success\": false,\n  \"error\": \"terminated\"\n}\n", "", 1, 0,
                       &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_TRANSIENT, "%s", err.message);
    cr_assert_str_eq(err.message, "phala cvms list failed: transient error: terminated");
    /* a usage error the CLI words itself stays one; a status word is not a dropped body */
    cr_assert_eq(phala_classify_message(txt("Invalid CVM name: \"1x\". Name must be 5-63 characters")),
                 CRABBOX_E_USAGE);
    cr_assert_eq(phala_classify_message(txt("CVM is terminated")), CRABBOX_E_FAILED);
    cr_assert_eq(phala_classify_message(txt("[1, 2]")), CRABBOX_E_FAILED);
}

Test(phala_cli, real_cli_unknown_option_is_usage)
{
    json_object *doc = NULL;
    crabbox_err err;
    int rc = run_interpret("deploy", "", "unknown or unexpected option: --no-public-logs\n", 1,
                           PHALA_DOC_ON_STDERR, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_USAGE, "%s", err.message);
    cr_assert_str_eq(err.message,
                     "phala deploy failed: invalid argument: unknown or unexpected option: --no-public-logs");
    /* Only at the start of a line: an error message quoting it is not the parser's refusal. */
    rc = run_interpret("cvms list", "", "boom: unknown or unexpected option: --x\n", 1, 0, &doc, &err);
    cr_assert_eq(rc, CRABBOX_E_FAILED, "%s", err.message);
}
