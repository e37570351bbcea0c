/* cli.c — running the `phala` CLI through the host and making sense of what it prints
 * (phala-provider.md §7, §9, §12).
 *
 * The CLI's output is untrusted text. We locate the one JSON document it prints, parse it with the
 * verifier's strict parser, and decide the outcome from the exit status plus the structured
 * {"success": false, "error": ...} document, never from scanning arbitrary output. The error
 * message inside that document is the API's free text; only it is matched against the known
 * wordings, and a message we do not recognise stays a plain failure. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "phala.h"

#define EXCERPT_LEN 300u
#define MAX_ARGS 32u

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static bool is_alnum(uint8_t c)
{
    c = lower(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* find_ci returns the index of needle (ASCII, matched case-insensitively) in hay from `from`,
 * or hay.len when absent. */
static size_t find_ci(cbs hay, const char *needle, size_t from)
{
    size_t n = strlen(needle);
    if (n == 0 || hay.len < n) { return hay.len; }
    for (size_t i = from; i + n <= hay.len; i++) {
        size_t k = 0;
        while (k < n && lower(cbs_byte(hay, i + k)) == lower((uint8_t)needle[k])) { k++; }
        if (k == n) { return i; }
    }
    return hay.len;
}

static bool contains_ci(cbs hay, const char *needle)
{
    return find_ci(hay, needle, 0) < hay.len;
}

/* contains_word_ci: needle occurs with no letter or digit on either side ("429" but not "14290"). */
static bool contains_word_ci(cbs hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t at = find_ci(hay, needle, 0); at < hay.len; at = find_ci(hay, needle, at + 1)) {
        bool left = at == 0 || !is_alnum(cbs_byte(hay, at - 1));
        bool right = at + n == hay.len || !is_alnum(cbs_byte(hay, at + n));
        if (left && right) { return true; }
    }
    return false;
}

/* sub returns the view [from, to) of c; the caller guarantees from <= to <= c.len. */
static cbs sub(cbs c, size_t from, size_t to)
{
    cbs out = c, skipped;
    if (!cbs_get_bytes(&out, &skipped, from) || !cbs_get_bytes(&out, &skipped, to - from)) {
        return cbs_make(NULL, 0);
    }
    return skipped;
}

/* trailer_ok: after the document only blank lines and libuv's assertion line may follow (seen
 * on some platforms when node exits while a handle is closing). */
static bool trailer_ok(cbs rest)
{
    size_t i = 0;
    while (i < rest.len) {
        size_t end = i;
        bool blank = true;
        while (end < rest.len && cbs_byte(rest, end) != '\n') {
            if (!is_blank(cbs_byte(rest, end))) { blank = false; }
            end++;
        }
        if (!blank && !contains_ci(sub(rest, i, end), "Assertion failed")) { return false; }
        i = end + 1;
    }
    return true;
}

bool phala_locate_json(cbs text, bool strict_trailer, cbs *out)
{
    size_t start = text.len, line = 0, depth = 0, end = 0;
    bool in_str = false, esc = false;
    while (line < text.len) {
        size_t j = line;
        while (j < text.len && is_blank(cbs_byte(text, j))) { j++; }
        if (j < text.len && cbs_byte(text, j) == '{') {
            start = j;
            break;
        }
        while (j < text.len && cbs_byte(text, j) != '\n') { j++; }
        line = j + 1;
    }
    if (start >= text.len) { return false; }
    for (size_t i = start; i < text.len && end == 0; i++) {
        uint8_t c = cbs_byte(text, i);
        if (in_str) {
            if (esc) { esc = false; }
            else if (c == '\\') { esc = true; }
            else if (c == '"') { in_str = false; }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > CBA_JSON_MAX_DEPTH) { return false; }
        } else if (c == '}' || c == ']') {
            if (depth == 0) { return false; }
            if (--depth == 0) {
                if (c != '}') { return false; } /* "{ ... ]" */
                end = i + 1;
            }
        }
    }
    if (end == 0) { return false; } /* the object never closes: truncated output */
    if (strict_trailer && !trailer_ok(sub(text, end, text.len))) { return false; }
    *out = sub(text, start, end);
    return true;
}

int phala_classify_message(cbs msg)
{
    static const char *const k_auth[] = {
        "api token is required", "not authenticated", "unauthenticated", "unauthorized",
        "invalid api key",       "api key is invalid", "invalid token",  "token expired",
        "forbidden",             "phala login",        "authentication",
    };
    static const char *const k_auth_words[] = { "401", "403" };
    static const char *const k_quota[] = {
        "insufficient", "balance", "quota", "rate limit", "rate-limit", "too many requests",
        "credit",       "funds",   "payment", "capacity", "limit exceeded",
    };
    static const char *const k_quota_words[] = { "429" };
    static const char *const k_transient[] = {
        "timeout",       "timed out",    "etimedout",   "econnreset",     "econnrefused",
        "enotfound",     "eai_again",    "socket hang up", "network",     "unavailable",
        "bad gateway",   "fetch failed", "connection reset", "connection refused",
        "temporarily",   "try again",    "cancelled",   "canceled",       "aborted",
        /* The real CLI (1.1.18) says exactly this for a refused connection, its own 30 s
         * request timeout and any error answer without a JSON "detail" (an HTML 5xx). */
        "unknown api error",
    };
    static const char *const k_transient_words[] = { "502", "503", "504", "eof" };
    static const char *const k_usage[] = {
        "invalid", "is required", "file not found", "must be", "unknown option",
        "missing required", "too long", "too large", "not allowed",
    };
    /* "CVM not found" is the API's exact text; delete --json wraps it after a colon. */
    if (cbs_eq_str(msg, "CVM not found") ||
        (msg.len > 15 && cbs_eq_str(sub(msg, msg.len - 15, msg.len), ": CVM not found"))) {
        return CRABBOX_E_NOT_FOUND;
    }
    /* The real CLI (1.1.18) checks each API answer against its schema (zod) and, when the answer
     * is not the documented shape (a 200 whose body is not JSON), prints zod's issue list as the
     * error: '[ { "code": "invalid_type", "expected": ... } ]'. That is the API's answer being
     * malformed, not our argument being invalid ("invalid_type" would match a usage word). */
    size_t lead = 0;
    while (lead < msg.len && (cbs_byte(msg, lead) == ' ' || cbs_byte(msg, lead) == '\n')) { lead++; }
    if (lead < msg.len && cbs_byte(msg, lead) == '[' && contains_ci(msg, "\"code\"") &&
        contains_ci(msg, "\"expected\"")) {
        return CRABBOX_E_MALFORMED;
    }
    /* undici's whole message when the connection closes in the middle of an answer's body. */
    if (cbs_eq_str(msg, "terminated")) { return CRABBOX_E_TRANSIENT; }
    for (size_t i = 0; i < sizeof k_auth / sizeof k_auth[0]; i++) {
        if (contains_ci(msg, k_auth[i])) { return CRABBOX_E_AUTH; }
    }
    for (size_t i = 0; i < sizeof k_auth_words / sizeof k_auth_words[0]; i++) {
        if (contains_word_ci(msg, k_auth_words[i])) { return CRABBOX_E_AUTH; }
    }
    for (size_t i = 0; i < sizeof k_quota / sizeof k_quota[0]; i++) {
        if (contains_ci(msg, k_quota[i])) { return CRABBOX_E_QUOTA; }
    }
    for (size_t i = 0; i < sizeof k_quota_words / sizeof k_quota_words[0]; i++) {
        if (contains_word_ci(msg, k_quota_words[i])) { return CRABBOX_E_QUOTA; }
    }
    for (size_t i = 0; i < sizeof k_transient / sizeof k_transient[0]; i++) {
        if (contains_ci(msg, k_transient[i])) { return CRABBOX_E_TRANSIENT; }
    }
    for (size_t i = 0; i < sizeof k_transient_words / sizeof k_transient_words[0]; i++) {
        if (contains_word_ci(msg, k_transient_words[i])) { return CRABBOX_E_TRANSIENT; }
    }
    for (size_t i = 0; i < sizeof k_usage / sizeof k_usage[0]; i++) {
        if (contains_ci(msg, k_usage[i])) { return CRABBOX_E_USAGE; }
    }
    return CRABBOX_E_FAILED;
}

const char *phala_reason(int code)
{
    switch (code) {
    case CRABBOX_E_AUTH: return "not authenticated";
    case CRABBOX_E_QUOTA: return "quota or balance";
    case CRABBOX_E_NOT_FOUND: return "not found";
    case CRABBOX_E_USAGE: return "invalid argument";
    case CRABBOX_E_TRANSIENT: return "transient error";
    case CRABBOX_E_MALFORMED: return "malformed output";
    case CRABBOX_E_TIMEOUT: return "timed out";
    case CRABBOX_E_CANCELLED: return "cancelled";
    default: return "error";
    }
}

bool phala_doc_success(const json_object *doc)
{
    json_object *v = NULL;
    return json_object_is_type(doc, json_type_object) &&
           json_object_object_get_ex(doc, "success", &v) &&
           json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* doc_error_message finds the message of a failure document: "error" as a string, or as an
 * object carrying "message" (structured API errors surface their message). */
static bool doc_error_message(const json_object *doc, cbs *out)
{
    json_object *e = NULL;
    if (cba_json_get_string(doc, "error", out)) { return true; }
    return cba_json_get_object(doc, "error", &e) &&
           (cba_json_get_string(e, "message", out) || cba_json_get_string(e, "detail", out));
}

/* parse_doc locates and strictly parses the JSON object in text. */
static json_object *parse_doc(cbs text, bool strict_trailer, char *detail, size_t detail_len)
{
    cbs found;
    cba_error e;
    json_object *doc = NULL;
    if (!phala_locate_json(text, strict_trailer, &found)) {
        snprintf(detail, detail_len, "no complete JSON object");
        return NULL;
    }
    cba_error_clear(&e);
    if (cba_json_parse(&e, &doc, found, CBA_JSON_MAX_DEPTH, CBA_E_JSON, "phala") != CBA_OK) {
        snprintf(detail, detail_len, "invalid JSON (%s)", e.detail);
        return NULL;
    }
    if (!json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        snprintf(detail, detail_len, "JSON is not an object");
        return NULL;
    }
    return doc;
}

static bool all_blank(cbs c)
{
    for (size_t i = 0; i < c.len; i++) {
        uint8_t b = cbs_byte(c, i);
        if (!is_blank(b) && b != '\n') { return false; }
    }
    return true;
}

/* last_line returns the last non-blank line of c (the CLI's final word on a failure). */
static cbs last_line(cbs c)
{
    size_t end = c.len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && cbs_byte(c, start - 1) != '\n') { start--; }
        if (!all_blank(sub(c, start, end))) { return sub(c, start, end); }
        end = start > 0 ? start - 1 : 0;
    }
    return cbs_make(NULL, 0);
}

/* human_failure finds the CLI's human failure line "✗ <message>" (U+2717) in stderr. */
static bool human_failure(cbs err_text, cbs *out)
{
    static const char mark[] = "\xe2\x9c\x97 ";
    size_t at = err_text.len;
    for (size_t i = find_ci(err_text, mark, 0); i < err_text.len; i = find_ci(err_text, mark, i + 1)) {
        if (i == 0 || cbs_byte(err_text, i - 1) == '\n') { at = i; }
    }
    if (at >= err_text.len) { return false; }
    size_t end = at;
    while (end < err_text.len && cbs_byte(err_text, end) != '\n') { end++; }
    *out = sub(err_text, at + sizeof mark - 1, end);
    return true;
}

/* unknown_option finds the CLI's argument parser refusal "unknown or unexpected option: --x"
 * (1.1.18 prints it alone on stderr, exit 1) at the start of a line. */
static bool unknown_option(cbs err_text, cbs *out)
{
    static const char k_text[] = "unknown or unexpected option: ";
    for (size_t i = find_ci(err_text, k_text, 0); i < err_text.len; i = find_ci(err_text, k_text, i + 1)) {
        if (i == 0 || cbs_byte(err_text, i - 1) == '\n') {
            size_t end = i;
            while (end < err_text.len && cbs_byte(err_text, end) != '\n') { end++; }
            *out = sub(err_text, i, end);
            return true;
        }
    }
    return false;
}

static int fail_with_message(const char *what, cbs msg, crabbox_err *err)
{
    char ex[EXCERPT_LEN];
    int code = phala_classify_message(msg);
    phala_excerpt(ex, sizeof ex, msg);
    return phala_fail(err, code, "phala %s failed: %s: %s", what, phala_reason(code),
                      ex[0] ? ex : "(empty error message)");
}

int phala_interpret(const char *what, const crabbox_output *out, unsigned flags,
                    json_object **out_doc, crabbox_err *err)
{
    cbs so = cbs_make(out->out, out->out_len), se = cbs_make(out->err, out->err_len);
    char detail[200], ex[EXCERPT_LEN];
    json_object *doc;
    cbs msg;
    *out_doc = NULL;
    if (out->timed_out) {
        return phala_fail(err, CRABBOX_E_TIMEOUT,
                          "phala %s failed: timed out: no answer before the deadline", what);
    }
    if (out->truncated) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala %s failed: malformed output: more output than the capture limit",
                          what);
    }
    if (out->exit_status == 0) {
        if ((flags & PHALA_EMPTY_OK) != 0 && all_blank(so)) { return CRABBOX_OK; }
        doc = parse_doc(so, true, detail, sizeof detail);
        if (doc == NULL) {
            phala_excerpt(ex, sizeof ex, so);
            return phala_fail(err, CRABBOX_E_MALFORMED, "phala %s failed: malformed output: %s: %s",
                              what, detail, ex[0] ? ex : "(no output)");
        }
        if (phala_doc_success(doc)) {
            *out_doc = doc;
            return CRABBOX_OK;
        }
        if (!cba_json_has(doc, "success") || !doc_error_message(doc, &msg)) {
            json_object_put(doc);
            return phala_fail(err, CRABBOX_E_MALFORMED,
                              "phala %s failed: malformed output: no \"success\": true and no error",
                              what);
        }
        int rc = fail_with_message(what, msg, err);
        json_object_put(doc);
        return rc;
    }
    /* A failed run: the structured document first (deploy puts it on stderr), then the human
     * "✗ <message>" line, then just the exit status with the last line the CLI printed. */
    for (int pass = 0; pass < 2; pass++) {
        bool on_stderr = ((flags & PHALA_DOC_ON_STDERR) != 0) == (pass == 0);
        doc = parse_doc(on_stderr ? se : so, false, detail, sizeof detail);
        if (doc == NULL) { continue; }
        if (phala_doc_success(doc)) {
            json_object_put(doc);
            return phala_fail(err, CRABBOX_E_MALFORMED,
                              "phala %s failed: malformed output: exit status %d with \"success\": true",
                              what, out->exit_status);
        }
        if (doc_error_message(doc, &msg)) {
            int rc = fail_with_message(what, msg, err);
            json_object_put(doc);
            return rc;
        }
        json_object_put(doc);
    }
    if (human_failure(se, &msg)) { return fail_with_message(what, msg, err); }
    if (unknown_option(se, &msg)) {
        /* The CLI refused an option before doing anything (no JSON, exit 1): nothing was
         * created, and no retry can help. */
        phala_excerpt(ex, sizeof ex, msg);
        return phala_fail(err, CRABBOX_E_USAGE, "phala %s failed: %s: %s", what,
                          phala_reason(CRABBOX_E_USAGE), ex);
    }
    phala_excerpt(ex, sizeof ex, last_line(se.len > 0 && !all_blank(se) ? se : so));
    if (out->exit_status > 128) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala %s failed: killed by signal %d: %s", what,
                          out->exit_status - 128, ex[0] ? ex : "(no output)");
    }
    return phala_fail(err, CRABBOX_E_FAILED, "phala %s failed: exit status %d: %s", what,
                      out->exit_status, ex[0] ? ex : "(no output)");
}

static bool host_cancelled(const crabbox_host *h)
{
    return h->cancelled != NULL && h->cancelled(h->ctx);
}

/* spawn_once runs the CLI once; on CRABBOX_OK the caller owns *out (host->output_free). */
static int spawn_once(const phala_ctx *px, const phala_call *call, crabbox_output *out,
                      crabbox_err *err)
{
    const crabbox_host *h = px->host;
    const char *argv[MAX_ARGS + 1];
    size_t argc = 0;
    crabbox_spawn_opts opts;
    crabbox_err serr;
    char rdir[4096], cwd[4096 + 16];
    int rc, cwd_lock = -1;
    memset(out, 0, sizeof *out);
    argv[argc++] = px->cli;
    for (size_t i = 0; call->args[i] != NULL; i++) {
        if (argc >= MAX_ARGS) {
            return phala_fail(err, CRABBOX_E_USAGE, "phala %s: too many arguments", call->what);
        }
        argv[argc++] = call->args[i];
    }
    argv[argc] = NULL;
    if ((call->flags & PHALA_NO_CANCEL) == 0 && host_cancelled(h)) {
        return phala_fail(err, CRABBOX_E_CANCELLED, "phala %s cancelled", call->what);
    }
    /* Every run gets a fresh, private, empty working directory (never the user's folder and its
     * phala.toml); it is removed after the run. */
    if ((rc = phala_record_dir(px, rdir, sizeof rdir, err)) != CRABBOX_OK) { return rc; }
    phala_cli_dirs_sweep(rdir);
    if ((rc = phala_cli_dir_make(rdir, cwd, sizeof cwd, &cwd_lock)) != 0) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala %s: cannot create a working directory in %s: %s",
                          call->what, rdir, strerror(rc));
    }
    memset(&opts, 0, sizeof opts);
    opts.struct_size = sizeof opts;
    opts.cwd = cwd;
    opts.deadline_ms = h->now_ms(h->ctx) + (px->cli_timeout_cap_ms > 0 && px->cli_timeout_cap_ms < call->timeout_ms
                                                 ? px->cli_timeout_cap_ms
                                                 : call->timeout_ms);
    opts.max_output = call->max_output;
    opts.stderr_to_user = call->stderr_to_user;
    memset(&serr, 0, sizeof serr);
    phala_log(px, CRABBOX_LOG_DEBUG, "running phala %s", call->what);
    rc = h->spawn(h->ctx, argv, &opts, out, &serr);
    if (phala_cli_dir_remove(cwd) != 0) {
        phala_log(px, CRABBOX_LOG_WARN, "phala %s: could not remove its working directory %s", call->what, cwd);
    }
    close(cwd_lock);
    if (rc != CRABBOX_OK) {
        h->output_free(h->ctx, out);
        memset(out, 0, sizeof *out);
        if ((call->flags & PHALA_NO_CANCEL) == 0 && host_cancelled(h)) {
            return phala_fail(err, CRABBOX_E_CANCELLED, "phala %s cancelled", call->what);
        }
        return phala_fail(err, rc, "phala %s failed: %s: %s", call->what, phala_reason(rc),
                          serr.message[0] ? serr.message : "could not run the phala CLI");
    }
    phala_log(px, CRABBOX_LOG_DEBUG, "phala %s: exit status %d", call->what, out->exit_status);
    return CRABBOX_OK;
}

int phala_run(const phala_ctx *px, const phala_call *call, json_object **out_doc, crabbox_err *err)
{
    const crabbox_host *h = px->host;
    crabbox_output out;
    int rc;
    *out_doc = NULL;
    if ((rc = spawn_once(px, call, &out, err)) != CRABBOX_OK) { return rc; }
    rc = phala_interpret(call->what, &out, call->flags, out_doc, err);
    h->output_free(h->ctx, &out);
    if (rc != CRABBOX_OK && (call->flags & PHALA_NO_CANCEL) == 0 && host_cancelled(h)) {
        /* The host kills children on SIGINT/SIGTERM: report that, not the symptom. */
        return phala_fail(err, CRABBOX_E_CANCELLED, "phala %s cancelled", call->what);
    }
    return rc;
}

int phala_parse_version(cbs text, char *out, size_t out_len)
{
    size_t start = 0, end;
    while (start < text.len && (is_blank(cbs_byte(text, start)) || cbs_byte(text, start) == '\n')) {
        start++;
    }
    end = start;
    while (end < text.len && cbs_byte(text, end) != '\n' && !is_blank(cbs_byte(text, end))) {
        uint8_t c = cbs_byte(text, end);
        if (!is_alnum(c) && c != '.' && c != '+' && c != '-') { return CRABBOX_E_MALFORMED; }
        end++;
    }
    /* "v1.1.18+d27a321": an optional v, then a digit */
    if (end == start || end - start >= out_len) { return CRABBOX_E_MALFORMED; }
    {
        cbs v = sub(text, start, end);
        uint8_t c0 = cbs_byte(v, 0);
        if (!(c0 >= '0' && c0 <= '9') && !(c0 == 'v' && v.len > 1 && cbs_byte(v, 1) >= '0' &&
                                           cbs_byte(v, 1) <= '9')) {
            return CRABBOX_E_MALFORMED;
        }
        memcpy(out, v.data, v.len);
        out[v.len] = '\0';
    }
    return CRABBOX_OK;
}

int phala_cli_version(const phala_ctx *px, char *out, size_t out_len, crabbox_err *err)
{
    static const char *const args[] = { "--version", NULL };
    phala_call call = { "--version", args, PHALA_T_VERSION_MS, 64u << 10, false, 0 };
    const crabbox_host *h = px->host;
    crabbox_output o;
    char ex[EXCERPT_LEN];
    int rc;
    if ((rc = spawn_once(px, &call, &o, err)) != CRABBOX_OK) { return rc; }
    if (o.timed_out) {
        rc = phala_fail(err, CRABBOX_E_TIMEOUT, "phala --version failed: timed out");
    } else if (o.exit_status != 0) {
        cbs se = cbs_make(o.err, o.err_len);
        phala_excerpt(ex, sizeof ex, last_line(se));
        rc = phala_fail(err, CRABBOX_E_FAILED, "phala --version failed: exit status %d: %s",
                        o.exit_status, ex[0] ? ex : "(no output)");
    } else if (phala_parse_version(cbs_make(o.out, o.out_len), out, out_len) != CRABBOX_OK) {
        phala_excerpt(ex, sizeof ex, cbs_make(o.out, o.out_len));
        rc = phala_fail(err, CRABBOX_E_MALFORMED,
                        "phala --version failed: malformed output: not a version: %s",
                        ex[0] ? ex : "(no output)");
    }
    h->output_free(h->ctx, &o);
    return rc;
}
