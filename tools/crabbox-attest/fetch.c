/* fetch.c — DCAP collateral from Intel PCS / a PCCS over libcurl (dcap-spec §3.6), assembled into
 * QuoteCollateralV3 JSON (§3.1), verified, cached; and `crabbox-attest collateral fetch`.
 *
 * Trust: nothing received here is trusted. Responses are size-capped and parsed strictly, the
 * signed texts (tcbInfo, enclaveIdentity) are cut out byte-exactly rather than re-serialised,
 * and the assembled JSON is handed to cba_collateral_verify before anyone (the cache included)
 * treats it as collateral. Transport: TLS verification stays on; plain http:// is allowed only
 * to loopback hosts, so a test PCCS can run on 127.0.0.1 without a certificate. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cache.h"
#include "cli.h"
#include "collateral.h"
#include "crabbox/verifier.h"
#include "dstack.h"
#include "curl_api.h"
#include "fetch.h"
#include "hints.h"
#include "fileio.h"
#include "json.h"
#include "quote.h"
#include "x509.h"

#define PROG "crabbox-attest"
#define MAX_URL 2048
#define MAX_HEADER_VALUE (64u << 10) /* a percent-encoded two-certificate chain is ~3 KB */
#define MAX_ISSUER_DER 1024           /* the PCK leaf's issuer Name; Intel's is ~110 bytes */

static const char k_test_root_warning[] =
    "WARNING: --trust-root is for tests only: this collateral is NOT anchored in Intel's SGX Root CA";

/* ---- Messages ----------------------------------------------------------------------------- */

/* fail records the first failure in res->error, prints it, and returns `code`. */
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

/* printable copies at most out_len-1 bytes of server-provided text, replacing anything but
 * printable ASCII: a hostile server must not be able to write escape sequences to a terminal. */
static void printable(char *out, size_t out_len, const char *in, size_t in_len)
{
    size_t j = 0;
    for (size_t i = 0; i < in_len && j + 1 < out_len; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[j] = '\0';
}

static void format_time(char *out, size_t out_len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, out_len, "%lld", (long long)t);
    }
}

void cba_fetch_opts_init(cba_fetch_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->timeout_ms = CBA_FETCH_DEFAULT_TIMEOUT_MS;
    opts->connect_timeout_ms = CBA_FETCH_DEFAULT_CONNECT_MS;
    opts->max_tries = CBA_FETCH_DEFAULT_TRIES;
    opts->refresh_after = CBA_FETCH_DEFAULT_REFRESH_AFTER;
}

void cba_fetch_result_free(cba_fetch_result *r)
{
    if (r == NULL) { return; }
    cli_buf_free(&r->json);
}

/* ---- URLs ----------------------------------------------------------------------------------- */

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char inner[64];
    size_t n = strlen(host);
    if (strcasecmp(host, "localhost") == 0) { return true; } /* curl resolves it to loopback itself */
    if (inet_pton(AF_INET, host, &a4) == 1) { return (ntohl(a4.s_addr) >> 24) == 127; }
    if (n >= 2 && n - 2 < sizeof inner && host[0] == '[' && host[n - 1] == ']') {
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

/* check_url accepts https:// URLs, and http:// ones only to loopback hosts. For a base URL (one
 * we append paths to) a query or fragment is refused too. *out_http says whether plain HTTP is
 * to be allowed for it, *out_loopback whether the host is loopback, *out_intel whether it is
 * Intel PCS itself. */
static bool check_url(const curl_api *cu, const char *url, bool base, bool *out_http, bool *out_loopback, bool *out_intel,
                      char *err, size_t err_len)
{
    CURLU *u = cu->url();
    char *scheme = NULL, *host = NULL, *extra = NULL;
    bool ok = false;
    if (u == NULL) {
        snprintf(err, err_len, "out of memory");
        return false;
    }
    if (strlen(url) >= MAX_URL / 2 || cu->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        cu->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        cu->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, err_len, "'%.200s' is not a valid URL (want https://HOST[:PORT][/PATH])", url);
        goto out;
    }
    if (base && (cu->url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
                 cu->url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK)) {
        snprintf(err, err_len, "'%.200s': a PCCS base URL takes no query or fragment", url);
        goto out;
    }
    *out_intel = strcasecmp(host, "api.trustedservices.intel.com") == 0;
    *out_loopback = host_is_loopback(host);
    if (strcasecmp(scheme, "https") == 0) {
        *out_http = false;
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        /* Plain HTTP carries no authentication; collateral is signed, but a network attacker could
         * still withhold or replay it. Only a loopback server (tests, a local PCCS) is allowed. */
        if (!*out_loopback) {
            snprintf(err, err_len,
                     "refusing plain http:// to '%.100s': only loopback hosts (127.0.0.0/8, localhost, "
                     "[::1]) may use http; use https://",
                     host);
            goto out;
        }
        *out_http = true;
        ok = true;
    } else {
        snprintf(err, err_len, "'%.200s': unsupported URL scheme '%.20s' (want https://)", url, scheme);
    }
out:
    cu->free(scheme);
    cu->free(host);
    cu->free(extra);
    cu->url_cleanup(u);
    return ok;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

enum {
    H_TCB_CHAIN,     /* PCS v4 name */
    H_SGX_TCB_CHAIN, /* v3 / PCCS name */
    H_QE_CHAIN,
    H_PCK_CRL_CHAIN,
    H_ERROR_CODE,
    H_ERROR_MESSAGE,
    H_COUNT
};

static const char *const k_header_names[H_COUNT] = {
    "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", "SGX-Enclave-Identity-Issuer-Chain",
    "SGX-PCK-CRL-Issuer-Chain", "Error-Code", "Error-Message",
};

typedef struct http_resp {
    long status;
    uint8_t *body;
    size_t body_len, body_alloc;
    bool too_large;
    char *hdr[H_COUNT]; /* NUL-terminated values, surrounding whitespace removed */
    size_t hdr_len[H_COUNT];
    bool hdr_dup[H_COUNT];
    bool hdr_too_large[H_COUNT];
    int last_hdr; /* index of the previous header line when it was one of ours, else -1 */
} http_resp;

static void http_resp_clear(http_resp *r)
{
    free(r->body);
    for (int i = 0; i < H_COUNT; i++) { free(r->hdr[i]); }
    memset(r, 0, sizeof *r);
    r->last_hdr = -1;
}

static void http_headers_clear(http_resp *r)
{
    for (int i = 0; i < H_COUNT; i++) {
        free(r->hdr[i]);
        r->hdr[i] = NULL;
        r->hdr_len[i] = 0;
        r->hdr_dup[i] = false;
        r->hdr_too_large[i] = false;
    }
    r->last_hdr = -1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_resp *r = userdata;
    size_t n = size * nmemb; /* libcurl: size is always 1 */
    if (n > CBA_FETCH_MAX_RESPONSE - r->body_len) {
        r->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r->body_len + n > r->body_alloc) {
        size_t want = r->body_alloc ? r->body_alloc : 16384;
        uint8_t *nb;
        while (want < r->body_len + n) { want *= 2; }
        if (want > CBA_FETCH_MAX_RESPONSE) { want = CBA_FETCH_MAX_RESPONSE; }
        nb = realloc(r->body, want + 1);
        if (nb == NULL) { return 0; }
        r->body = nb;
        r->body_alloc = want;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
    return n;
}

static bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
    http_resp *r = userdata;
    size_t n = size * nitems, colon = 0;
    cbs c = cbs_make((const uint8_t *)line, n), peek = c, name, value;
    if (cbs_get_bytes(&peek, &name, 5) && cbs_eq_str(name, "HTTP/")) {
        http_headers_clear(r); /* a new response (redirect, 100 Continue): forget the old one's */
        return n;
    }
    if (n > 0 && (cbs_byte(c, 0) == ' ' || cbs_byte(c, 0) == '\t')) {
        /* obs-fold continuation: a folded issuer chain would be silently cut; refuse the header. */
        if (r->last_hdr >= 0) { r->hdr_dup[r->last_hdr] = true; }
        return n;
    }
    r->last_hdr = -1;
    while (colon < n && cbs_byte(c, colon) != ':') { colon++; }
    if (colon == n || !cbs_get_bytes(&c, &name, colon) || !cbs_skip(&c, 1)) { return n; }
    while (c.len > 0 && is_lws((char)cbs_byte(c, 0))) {
        if (!cbs_skip(&c, 1)) { return n; }
    }
    while (c.len > 0 && is_lws((char)cbs_byte(c, c.len - 1))) { c.len--; }
    value = c;
    for (int i = 0; i < H_COUNT; i++) {
        if (strlen(k_header_names[i]) != name.len ||
            strncasecmp((const char *)name.data, k_header_names[i], name.len) != 0) {
            continue;
        }
        r->last_hdr = i;
        if (r->hdr[i] != NULL || r->hdr_too_large[i]) {
            r->hdr_dup[i] = true; /* two values: ambiguous, never pick one */
            return n;
        }
        if (value.len > MAX_HEADER_VALUE) {
            r->hdr_too_large[i] = true;
            return n;
        }
        r->hdr[i] = malloc(value.len + 1);
        if (r->hdr[i] == NULL) { return 0; }
        if (value.len > 0) { memcpy(r->hdr[i], value.data, value.len); }
        r->hdr[i][value.len] = '\0';
        r->hdr_len[i] = value.len;
        return n;
    }
    return n;
}

/* curl_transient: errors worth another try (the network or the server hiccuped); TLS
 * verification failures, bad URLs and refused protocols are not. */
static bool curl_transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

typedef struct fetch_ctx {
    const cba_fetch_opts *o;
    cba_fetch_result *res;
    const curl_api *cu;
    CURL *curl;
    char base[MAX_URL / 2]; /* base URL without trailing '/' */
    bool intel_pcs;
} fetch_ctx;

/* http_get fetches url into *r (status 200 only), retrying transient failures with exponential
 * backoff (0.5 s, 1 s, 2 s, ... at most 8 s). `what` names the object in messages. Returns 0, else an exit
 * code (CBA_FETCH_UNAVAILABLE for network/HTTP failures, CBA_FETCH_BAD_ARGUMENT for a refused URL). */
static int http_get(fetch_ctx *x, const char *what, const char *url, http_resp *r)
{
    const cba_fetch_opts *o = x->o;
    bool allow_http, loopback, intel;
    char err[300];
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : CBA_FETCH_DEFAULT_TIMEOUT_MS;
    long connect = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : CBA_FETCH_DEFAULT_CONNECT_MS;
    int tries = o->max_tries < 1 ? 1 : o->max_tries > CBA_FETCH_MAX_TRIES ? CBA_FETCH_MAX_TRIES : o->max_tries;
    if (connect > timeout) { connect = timeout; }
    if (!check_url(x->cu, url, false, &allow_http, &loopback, &intel, err, sizeof err)) {
        return fail(x->res, CBA_FETCH_BAD_ARGUMENT, "%s: %s", what, err);
    }
    for (int attempt = 1;; attempt++) {
        char errbuf[CURL_ERROR_SIZE], why[400], clean[200];
        CURLcode cc;
        bool transient;
        long delay;
        errbuf[0] = '\0';
        http_resp_clear(r);
        x->cu->easy_reset(x->curl); /* options only; the connection cache survives */
        x->cu->easy_setopt(x->curl, CURLOPT_URL, url);
        x->cu->easy_setopt(x->curl, CURLOPT_PROTOCOLS_STR, allow_http ? "http" : "https");
        /* Redirects only to https (a redirect must not downgrade the transport). */
        x->cu->easy_setopt(x->curl, CURLOPT_FOLLOWLOCATION, 1L);
        x->cu->easy_setopt(x->curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        x->cu->easy_setopt(x->curl, CURLOPT_MAXREDIRS, 3L);
        x->cu->easy_setopt(x->curl, CURLOPT_SSL_VERIFYPEER, 1L);
        x->cu->easy_setopt(x->curl, CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->cacert != NULL) { x->cu->easy_setopt(x->curl, CURLOPT_CAINFO, o->cacert); }
        x->cu->easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
        /* A loopback server is never reached through a proxy (http_proxy in the environment). */
        if (loopback) { x->cu->easy_setopt(x->curl, CURLOPT_PROXY, ""); }
        x->cu->easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, connect);
        x->cu->easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, timeout);
        x->cu->easy_setopt(x->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CBA_FETCH_MAX_RESPONSE);
        x->cu->easy_setopt(x->curl, CURLOPT_USERAGENT, "crabbox-attest/0.1");
        x->cu->easy_setopt(x->curl, CURLOPT_ERRORBUFFER, errbuf);
        x->cu->easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, on_body);
        x->cu->easy_setopt(x->curl, CURLOPT_WRITEDATA, r);
        x->cu->easy_setopt(x->curl, CURLOPT_HEADERFUNCTION, on_header);
        x->cu->easy_setopt(x->curl, CURLOPT_HEADERDATA, r);
        cc = x->cu->easy_perform(x->curl);
        if (cc == CURLE_OK) { x->cu->easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &r->status); }
        if (cc == CURLE_OK && r->status == 200) {
            progress(o, "%s: %zu bytes from %s", what, r->body_len, url);
            return 0;
        }
        if (r->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(why, sizeof why, "response larger than %u bytes", CBA_FETCH_MAX_RESPONSE);
            transient = false;
        } else if (cc != CURLE_OK) {
            printable(clean, sizeof clean, errbuf[0] ? errbuf : x->cu->easy_strerror(cc),
                      strlen(errbuf[0] ? errbuf : x->cu->easy_strerror(cc)));
            snprintf(why, sizeof why, "%s (curl error %d)", clean, (int)cc);
            transient = curl_transient(cc);
        } else {
            char code[64] = "", msg[160] = "";
            if (r->hdr[H_ERROR_CODE] != NULL) {
                printable(code, sizeof code, r->hdr[H_ERROR_CODE], r->hdr_len[H_ERROR_CODE]);
            }
            if (r->hdr[H_ERROR_MESSAGE] != NULL) {
                printable(msg, sizeof msg, r->hdr[H_ERROR_MESSAGE], r->hdr_len[H_ERROR_MESSAGE]);
            }
            snprintf(why, sizeof why, "HTTP %ld%s%s%s%s%s", r->status, code[0] || msg[0] ? " (" : "",
                     code, code[0] && msg[0] ? ": " : "", msg, code[0] || msg[0] ? ")" : "");
            /* 5xx and 429 may pass; any other status (4xx above all) will not change on retry. */
            transient = r->status >= 500 || r->status == 429;
        }
        if (!transient || attempt >= tries) {
            if (attempt > 1) {
                return fail(x->res, CBA_FETCH_UNAVAILABLE, "%s: %s from %s (gave up after %d tries)", what,
                            why, url, attempt);
            }
            return fail(x->res, CBA_FETCH_UNAVAILABLE, "%s: %s from %s", what, why, url);
        }
        delay = attempt > 5 ? 8000L : 500L << (attempt - 1); /* 0.5 s doubling, at most 8 s */
        progress(o, "%s: %s from %s; retrying in %ld.%ld s (try %d of %d)", what, why, url, delay / 1000,
                 (delay % 1000) / 100, attempt + 1, tries);
        sleep_ms(delay);
    }
}

/* ---- Response bodies ------------------------------------------------------------------------ */

/* A minimal JSON scanner that only locates values; the text has already been validated by the
 * strict parser (cba_json_parse), so it needs to be string-aware but not to re-validate. */
static bool json_is_ws(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\r' || b == '\n';
}

static void scan_ws(cbs *c)
{
    while (c->len > 0 && json_is_ws(cbs_byte(*c, 0))) {
        if (!cbs_skip(c, 1)) { return; }
    }
}

static bool scan_expect(cbs *c, uint8_t want)
{
    uint8_t b;
    cbs save = *c;
    if (!cbs_get_u8(c, &b) || b != want) {
        *c = save;
        return false;
    }
    return true;
}

/* scan_string consumes a string (quotes included), honouring backslash escapes. */
static bool scan_string(cbs *c)
{
    uint8_t b;
    if (!scan_expect(c, '"')) { return false; }
    for (;;) {
        if (!cbs_get_u8(c, &b)) { return false; }
        if (b == '\\') {
            if (!cbs_get_u8(c, &b)) { return false; }
        } else if (b == '"') {
            return true;
        }
    }
}

/* scan_value consumes one value: a string, a balanced object/array (strings skipped), or a
 * scalar up to the next delimiter. */
static bool scan_value(cbs *c)
{
    uint8_t b;
    if (c->len == 0) { return false; }
    b = cbs_byte(*c, 0);
    if (b == '"') { return scan_string(c); }
    if (b == '{' || b == '[') {
        size_t depth = 0;
        do {
            if (c->len == 0) { return false; }
            b = cbs_byte(*c, 0);
            if (b == '"') {
                if (!scan_string(c)) { return false; }
                continue;
            }
            if (!cbs_skip(c, 1)) { return false; }
            if (b == '{' || b == '[') {
                depth++;
            } else if (b == '}' || b == ']') {
                depth--;
            }
        } while (depth > 0);
        return true;
    }
    while (c->len > 0) {
        b = cbs_byte(*c, 0);
        if (b == ',' || b == '}' || b == ']' || json_is_ws(b)) { break; }
        if (!cbs_skip(c, 1)) { return false; }
    }
    return true;
}

/* cut_member finds top-level member `key` (written without escapes) of the JSON object text
 * `body` and sets *out to the exact bytes of its value. */
static bool cut_member(cbs body, const char *key, cbs *out)
{
    cbs c = body;
    scan_ws(&c);
    if (!scan_expect(&c, '{')) { return false; }
    scan_ws(&c);
    if (scan_expect(&c, '}')) { return false; }
    for (;;) {
        cbs key_start = c, quoted, k, value_start, value;
        if (!scan_string(&c) || !cbs_get_bytes(&key_start, &quoted, key_start.len - c.len)) { return false; }
        /* quoted is "...": compare what is between the quotes */
        if (!cbs_skip(&quoted, 1) || !cbs_get_bytes(&quoted, &k, quoted.len - 1)) { return false; }
        scan_ws(&c);
        if (!scan_expect(&c, ':')) { return false; }
        scan_ws(&c);
        value_start = c;
        if (!scan_value(&c) || !cbs_get_bytes(&value_start, &value, value_start.len - c.len)) {
            return false;
        }
        if (cbs_eq_str(k, key)) {
            *out = value;
            return true;
        }
        scan_ws(&c);
        if (scan_expect(&c, ',')) {
            scan_ws(&c);
            continue;
        }
        return false; /* '}' reached without the key, or junk */
    }
}

/* signed_body checks a PCS {"<member>":{...},"signature":"<128 hex>"} body strictly and sets
 * *out_text to the exact bytes of the member's object and out_sig to the signature text. */
static int signed_body(fetch_ctx *x, const char *what, const char *url, const http_resp *r,
                       const char *member, cbs *out_text, char out_sig[129])
{
    cbs body = cbs_make(r->body, r->body_len), sig;
    json_object *obj = NULL, *inner;
    cba_error e;
    int rc = 0;
    uint8_t sig_bytes[64];
    cba_error_clear(&e);
    if (cba_json_parse(&e, &obj, body, CBA_JSON_MAX_DEPTH, CBA_E_COLLATERAL_FORMAT, "response") != CBA_OK ||
        !json_object_is_type(obj, json_type_object)) {
        rc = fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: the response is not a strict JSON object (%s)", what,
                  url, e.code != CBA_OK ? e.detail : "not an object");
        goto out;
    }
    if (!cba_json_get_object(obj, member, &inner) || !cba_json_get_string(obj, "signature", &sig) ||
        !cba_hex_decode(sig_bytes, sizeof sig_bytes, (const char *)sig.data, sig.len)) {
        rc = fail(x->res, CBA_FETCH_BAD_RESPONSE,
                  "%s from %s: the response lacks \"%s\" (object) or \"signature\" (128 hex digits)", what,
                  url, member);
        goto out;
    }
    if (!cut_member(body, member, out_text)) {
        rc = fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: cannot locate the exact \"%s\" text", what, url, member);
        goto out;
    }
    memcpy(out_sig, sig.data, 128);
    out_sig[128] = '\0';
out:
    json_object_put(obj);
    return rc;
}

static bool hex_digit(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* crl_der accepts a CRL body as DER (PCS, encoding=der) or as hex text of the DER (PCCS), and
 * checks that it parses as a CRL. *out (malloc) holds the DER. */
static int crl_der(fetch_ctx *x, const char *what, const char *url, const http_resp *r, cli_buf *out)
{
    cbs body = cbs_make(r->body, r->body_len);
    cba_crl crl;
    cba_error e;
    out->data = NULL;
    out->len = 0;
    if (body.len > 0 && cbs_byte(body, 0) == 0x30) {
        out->data = malloc(body.len);
        if (out->data == NULL) { return fail(x->res, CBA_FETCH_NOMEM, "out of memory"); }
        memcpy(out->data, body.data, body.len);
        out->len = body.len;
    } else {
        cbs t = body, hex;
        size_t start = 0, end = t.len;
        while (start < end && json_is_ws(cbs_byte(t, start))) { start++; }
        while (end > start && json_is_ws(cbs_byte(t, end - 1))) { end--; }
        if (!cbs_skip(&t, start) || !cbs_get_bytes(&t, &hex, end - start) || hex.len == 0 ||
            hex.len % 2 != 0) {
            return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: the body is neither DER nor hex text", what, url);
        }
        for (size_t i = 0; i < hex.len; i++) {
            if (!hex_digit(cbs_byte(hex, i))) {
                return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: the body is neither DER nor hex text", what,
                            url);
            }
        }
        out->data = malloc(hex.len / 2);
        if (out->data == NULL) { return fail(x->res, CBA_FETCH_NOMEM, "out of memory"); }
        if (!cba_hex_decode(out->data, hex.len / 2, (const char *)hex.data, hex.len)) {
            cli_buf_free(out);
            return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: bad hex text", what, url);
        }
        out->len = hex.len / 2;
    }
    cba_error_clear(&e);
    if (cba_crl_parse(&e, &crl, cbs_make(out->data, out->len)) != CBA_OK) {
        cli_buf_free(out);
        return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: not a valid CRL (%s)", what, url, e.detail);
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

/* issuer_chain percent-decodes a header value strictly (RFC 3986 §2.1: '%' must start a
 * two-hex-digit escape; raw characters must be visible ASCII; no NUL or control character may
 * result; '+' stays '+') and checks that the result is a PEM certificate chain. */
static int issuer_chain(fetch_ctx *x, const char *what, const char *url, const http_resp *r, int idx,
                        cli_buf *out)
{
    const char *name = k_header_names[idx];
    const char *v = r->hdr[idx];
    size_t n = r->hdr_len[idx], j = 0;
    cba_pem_chain chain;
    cba_error e;
    uint8_t *der;
    out->data = NULL;
    out->len = 0;
    if (r->hdr_dup[idx] || r->hdr_too_large[idx]) {
        return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: header %s is repeated, folded or too large", what,
                    url, name);
    }
    if (v == NULL || n == 0) {
        return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: no %s header", what, url, name);
    }
    out->data = malloc(n + 1);
    if (out->data == NULL) { return fail(x->res, CBA_FETCH_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch == '%') {
            int hi = i + 2 < n ? hexval(v[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(v[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                cli_buf_free(out);
                return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: header %s: bad percent-encoding at offset %zu",
                            what, url, name, i);
            }
            ch = (unsigned char)(hi << 4 | lo);
            if (ch < 0x20 && ch != '\n' && ch != '\r') {
                cli_buf_free(out);
                return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: header %s decodes to a control character",
                            what, url, name);
            }
            i += 2;
        } else if (ch <= 0x20 || ch >= 0x7f) {
            cli_buf_free(out);
            return fail(x->res, CBA_FETCH_BAD_RESPONSE,
                        "%s from %s: header %s has a raw character 0x%02x that should be percent-encoded",
                        what, url, name, ch);
        }
        out->data[j++] = ch;
    }
    out->data[j] = 0;
    out->len = j;
    der = malloc(j + 1);
    cba_error_clear(&e);
    if (der == NULL || cba_pem_chain_decode(&e, &chain, cbs_make(out->data, out->len), der, j + 1) != CBA_OK) {
        free(der);
        cli_buf_free(out);
        return fail(x->res, CBA_FETCH_BAD_RESPONSE, "%s from %s: header %s is not a PEM certificate chain (%s)", what,
                    url, name, e.detail);
    }
    free(der);
    return 0;
}

/* ---- The quote's platform ------------------------------------------------------------------- */

typedef struct fetch_target {
    uint8_t fmspc[6], pce_id[2];
    bool processor_ca;
    uint8_t issuer[MAX_ISSUER_DER]; /* the PCK leaf's issuer Name DER (the PCK CRL's issuer) */
    size_t issuer_len;
    char fmspc_hex[13];
} fetch_target;

/* target_from_evidence reads FMSPC, PCE-ID and the CA kind from the quote's PCK leaf. The quote is
 * parsed but not verified: these values only choose what to download; the verifier checks them. */
static int target_from_evidence(const cba_evidence *ev, fetch_target *t, cba_fetch_result *res)
{
    cba_info *info = NULL;
    cba_error e;
    cba_quote q;
    cba_pem_chain chain;
    cba_cert leaf;
    cba_sgx_ext sgx;
    uint8_t *der = NULL;
    cbs qbytes;
    int rc = 0;

    cba_error_clear(&e);
    memset(t, 0, sizeof *t);
    if (ev->quote != NULL) {
        qbytes = cbs_make(ev->quote, ev->quote_len);
    } else if (ev->info_json != NULL) {
        if (cba_info_parse(&e, &info, cbs_make(ev->info_json, ev->info_json_len)) != CBA_OK) {
            return fail(res, CBA_FETCH_BAD_QUOTE, "guest agent response: %s (%s): %s", cba_err_message(e.code), e.where,
                        e.detail);
        }
        qbytes = info->quote;
    } else {
        return fail(res, CBA_FETCH_BAD_ARGUMENT, "no quote given");
    }
    if (cba_quote_parse(&e, &q, qbytes) != CBA_OK) {
        rc = fail(res, CBA_FETCH_BAD_QUOTE, "quote: %s (%s): %s", cba_err_message(e.code), e.where, e.detail);
        goto out;
    }
    der = malloc(q.pck_chain_pem.len + 1);
    if (der == NULL) {
        rc = fail(res, CBA_FETCH_NOMEM, "out of memory");
        goto out;
    }
    if (cba_pem_chain_decode(&e, &chain, q.pck_chain_pem, der, q.pck_chain_pem.len + 1) != CBA_OK ||
        cba_cert_parse(&e, &leaf, chain.certs[0]) != CBA_OK) {
        rc = fail(res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: %s (%s): %s", cba_err_message(e.code), e.where,
                  e.detail);
        goto out;
    }
    /* dcap-spec §2.3: the CRL follows the leaf's issuer, by exact CN. */
    if (cbs_eq_str(leaf.issuer_cn, "Intel SGX PCK Platform CA")) {
        t->processor_ca = false;
    } else if (cbs_eq_str(leaf.issuer_cn, "Intel SGX PCK Processor CA")) {
        t->processor_ca = true;
    } else {
        rc = fail(res, CBA_FETCH_BAD_QUOTE,
                  "quote PCK certificate: issuer is neither Intel SGX PCK Platform CA nor Processor CA");
        goto out;
    }
    if (!leaf.has_sgx_ext) {
        rc = fail(res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate has no Intel SGX extension");
        goto out;
    }
    if (cba_sgx_ext_parse(&e, &sgx, leaf.sgx_ext) != CBA_OK) {
        rc = fail(res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: %s (%s): %s", cba_err_message(e.code), e.where,
                  e.detail);
        goto out;
    }
    if (leaf.issuer.len > sizeof t->issuer) {
        rc = fail(res, CBA_FETCH_BAD_QUOTE, "quote PCK certificate: issuer name is too long");
        goto out;
    }
    memcpy(t->fmspc, sgx.fmspc, 6);
    memcpy(t->pce_id, sgx.pce_id, 2);
    memcpy(t->issuer, leaf.issuer.data, leaf.issuer.len);
    t->issuer_len = leaf.issuer.len;
    cli_hex(t->fmspc_hex, t->fmspc, 6);
out:
    free(der);
    cba_info_free(info);
    return rc;
}

/* ---- Verification of assembled collateral -------------------------------------------------- */

/* check_collateral verifies json at `now` (default policy with opts' trust anchor) and checks it is
 * for this platform: TCB info FMSPC and PCE-ID equal the PCK certificate's, and the PCK CRL is
 * issued by the leaf's own CA. Returns true and sets *out_expires, else writes why. */
static bool check_collateral(const cba_fetch_opts *o, const fetch_target *t, const uint8_t *json, size_t len,
                             int64_t now, int64_t *out_expires, char *why, size_t why_len)
{
    cba_policy pol;
    cba_report *rep = malloc(sizeof *rep);
    cba_collateral *c = NULL;
    cba_collateral_raw raw;
    json_object *tcb = NULL;
    cba_error e;
    cba_crl crl;
    uint8_t fmspc[6], pce_id[2];
    bool ok = false;

    memset(&raw, 0, sizeof raw);
    if (rep == NULL) {
        snprintf(why, why_len, "out of memory");
        return false;
    }
    cba_policy_init(&pol);
    cba_report_init(rep);
    pol.trust_root_der = o->trust_root_der;
    pol.trust_root_der_len = o->trust_root_der_len;
    if (cba_collateral_verify(&c, rep, &pol, json, len, now) != CBA_OK) {
        snprintf(why, why_len, "%s check failed: %s: %s", cba_check_name(rep->failed_check),
                 cba_err_message(rep->error.code), rep->error.detail);
        goto out;
    }
    cba_error_clear(&e);
    if (cba_collateral_raw_parse(&e, &raw, cbs_make(json, len)) != CBA_OK ||
        cba_json_parse(&e, &tcb, cbs_make(raw.tcb_info, raw.tcb_info_len), CBA_JSON_MAX_DEPTH,
                       CBA_E_TCB_INFO_FORMAT, "tcb_info") != CBA_OK ||
        !json_object_is_type(tcb, json_type_object) || !cba_json_get_hex(tcb, "fmspc", fmspc, 6) ||
        !cba_json_get_hex(tcb, "pceId", pce_id, 2)) {
        snprintf(why, why_len, "malformed collateral: %s", e.code != CBA_OK ? e.detail : "TCB info fields");
        goto out;
    }
    if (memcmp(fmspc, t->fmspc, 6) != 0 || memcmp(pce_id, t->pce_id, 2) != 0) {
        char got[13];
        cli_hex(got, fmspc, 6);
        snprintf(why, why_len, "TCB info is for FMSPC %s, the quote's platform is FMSPC %s", got, t->fmspc_hex);
        goto out;
    }
    if (cba_crl_parse(&e, &crl, cbs_make(raw.pck_crl, raw.pck_crl_len)) != CBA_OK ||
        !cbs_eq_mem(crl.issuer, t->issuer, t->issuer_len)) {
        snprintf(why, why_len, "the PCK CRL is not issued by the quote's PCK %s CA",
                 t->processor_ca ? "Processor" : "Platform");
        goto out;
    }
    *out_expires = rep->collateral_expires;
    ok = true;
out:
    json_object_put(tcb);
    cba_collateral_raw_cleanup(&raw);
    cba_collateral_free(c);
    free(rep);
    return ok;
}

/* ---- Fetch and assemble --------------------------------------------------------------------- */

static json_object *hex_string(const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 1);
    json_object *o;
    if (s == NULL) { return NULL; }
    cli_hex(s, b, n);
    o = json_object_new_string_len(s, (int)(2 * n));
    free(s);
    return o;
}

/* add_member adds key with value to o; false (value released) when value is NULL or o rejects it. */
static bool add_member(json_object *o, const char *key, json_object *value)
{
    if (value == NULL) { return false; }
    if (json_object_object_add(o, key, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

static json_object *text_string(const cli_buf *b)
{
    return b->len > INT32_MAX ? NULL : json_object_new_string_len((const char *)b->data, (int)b->len);
}

static json_object *cbs_string(cbs c)
{
    return c.len > INT32_MAX ? NULL : json_object_new_string_len((const char *)c.data, (int)c.len);
}

static int fetch_network(const curl_api *cu, const cba_fetch_opts *o, const fetch_target *t, cba_fetch_result *res)
{
    fetch_ctx x;
    http_resp pck = { 0 }, tcb = { 0 }, qe = { 0 }, root = { 0 };
    cli_buf pck_der = { 0 }, root_der = { 0 }, pck_chain = { 0 }, tcb_chain = { 0 }, qe_chain = { 0 };
    cbs tcb_text, qe_text;
    char tcb_sig[129], qe_sig[129], url[MAX_URL], what[96], err[300];
    const char *base = o->base_url != NULL ? o->base_url : CBA_FETCH_DEFAULT_URL;
    const char *kind = t->processor_ca ? "processor" : "platform";
    json_object *j = NULL;
    bool http_ok, loopback;
    size_t blen;
    int rc, tcb_hdr;

    memset(&x, 0, sizeof x);
    x.cu = cu;
    x.o = o;
    x.res = res;
    if (!check_url(cu, base, true, &http_ok, &loopback, &x.intel_pcs, err, sizeof err)) {
        return fail(res, CBA_FETCH_BAD_ARGUMENT, "--pccs: %s", err);
    }
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') { blen--; }
    snprintf(x.base, sizeof x.base, "%.*s", (int)blen, base);
    if (cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (x.curl = cu->easy_init()) == NULL) {
        cu->global_cleanup();
        return fail(res, CBA_FETCH_INTERNAL, "cannot initialise libcurl");
    }

    snprintf(what, sizeof what, "PCK CRL (%s CA)", kind);
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", x.base, kind);
    if ((rc = http_get(&x, what, url, &pck)) != 0 || (rc = crl_der(&x, what, url, &pck, &pck_der)) != 0 ||
        (rc = issuer_chain(&x, what, url, &pck, H_PCK_CRL_CHAIN, &pck_chain)) != 0) {
        goto out;
    }

    snprintf(what, sizeof what, "TCB info for FMSPC %s", t->fmspc_hex);
    {
        char upper[13];
        for (size_t i = 0; i < 13; i++) {
            char ch = t->fmspc_hex[i];
            upper[i] = ch >= 'a' && ch <= 'f' ? (char)(ch - 'a' + 'A') : ch;
        }
        snprintf(url, sizeof url, "%s/tdx/certification/v4/tcb?fmspc=%s", x.base, upper);
    }
    if ((rc = http_get(&x, what, url, &tcb)) != 0 ||
        (rc = signed_body(&x, what, url, &tcb, "tcbInfo", &tcb_text, tcb_sig)) != 0) {
        goto out;
    }
    /* PCS v4 names the header TCB-Info-Issuer-Chain, v3 and some PCCS SGX-TCB-Info-Issuer-Chain. If
     * both come they must agree. */
    tcb_hdr = tcb.hdr[H_TCB_CHAIN] != NULL || tcb.hdr_dup[H_TCB_CHAIN] || tcb.hdr_too_large[H_TCB_CHAIN]
                  ? H_TCB_CHAIN
                  : H_SGX_TCB_CHAIN;
    if (tcb.hdr[H_TCB_CHAIN] != NULL && tcb.hdr[H_SGX_TCB_CHAIN] != NULL &&
        strcmp(tcb.hdr[H_TCB_CHAIN], tcb.hdr[H_SGX_TCB_CHAIN]) != 0) {
        rc = fail(res, CBA_FETCH_BAD_RESPONSE, "%s from %s: TCB-Info-Issuer-Chain and SGX-TCB-Info-Issuer-Chain differ",
                  what, url);
        goto out;
    }
    if (tcb.hdr[H_TCB_CHAIN] == NULL && tcb.hdr[H_SGX_TCB_CHAIN] == NULL && !tcb.hdr_dup[H_TCB_CHAIN] &&
        !tcb.hdr_dup[H_SGX_TCB_CHAIN] && !tcb.hdr_too_large[H_TCB_CHAIN] && !tcb.hdr_too_large[H_SGX_TCB_CHAIN]) {
        rc = fail(res, CBA_FETCH_BAD_RESPONSE, "%s from %s: no TCB-Info-Issuer-Chain (or SGX-TCB-Info-Issuer-Chain) header",
                  what, url);
        goto out;
    }
    if ((rc = issuer_chain(&x, what, url, &tcb, tcb_hdr, &tcb_chain)) != 0) { goto out; }

    snprintf(what, sizeof what, "QE identity (TD_QE)");
    snprintf(url, sizeof url, "%s/tdx/certification/v4/qe/identity", x.base);
    if ((rc = http_get(&x, what, url, &qe)) != 0 ||
        (rc = signed_body(&x, what, url, &qe, "enclaveIdentity", &qe_text, qe_sig)) != 0 ||
        (rc = issuer_chain(&x, what, url, &qe, H_QE_CHAIN, &qe_chain)) != 0) {
        goto out;
    }

    /* Intel PCS has no root CA CRL endpoint; the root's CRL distribution point serves the DER. A
     * PCCS serves it (hex text) at /sgx/certification/v4/rootcacrl. */
    snprintf(what, sizeof what, "root CA CRL");
    if (x.intel_pcs) {
        snprintf(url, sizeof url, "%s", CBA_FETCH_INTEL_ROOT_CRL_URL);
    } else {
        snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", x.base);
    }
    if ((rc = http_get(&x, what, url, &root)) != 0 || (rc = crl_der(&x, what, url, &root, &root_der)) != 0) {
        goto out;
    }

    /* dcap-qvl QuoteCollateralV3 member order (dcap-spec §3.1). */
    j = json_object_new_object();
    if (j == NULL || !add_member(j, "pck_crl_issuer_chain", text_string(&pck_chain)) ||
        !add_member(j, "root_ca_crl", hex_string(root_der.data, root_der.len)) ||
        !add_member(j, "pck_crl", hex_string(pck_der.data, pck_der.len)) ||
        !add_member(j, "tcb_info_issuer_chain", text_string(&tcb_chain)) ||
        !add_member(j, "tcb_info", cbs_string(tcb_text)) ||
        !add_member(j, "tcb_info_signature", json_object_new_string(tcb_sig)) ||
        !add_member(j, "qe_identity_issuer_chain", text_string(&qe_chain)) ||
        !add_member(j, "qe_identity", cbs_string(qe_text)) ||
        !add_member(j, "qe_identity_signature", json_object_new_string(qe_sig))) {
        rc = fail(res, CBA_FETCH_NOMEM, "out of memory assembling the collateral");
        goto out;
    }
    {
        size_t n = 0;
        const char *s = json_object_to_json_string_length(
            j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (s == NULL || n > CBA_FETCH_MAX_COLLATERAL || (res->json.data = malloc(n + 2)) == NULL) {
            rc = fail(res, CBA_FETCH_NOMEM, "out of memory assembling the collateral");
            goto out;
        }
        memcpy(res->json.data, s, n);
        res->json.data[n] = '\n';
        res->json.data[n + 1] = 0;
        res->json.len = n + 1;
    }
    rc = 0;
out:
    json_object_put(j);
    http_resp_clear(&pck);
    http_resp_clear(&tcb);
    http_resp_clear(&qe);
    http_resp_clear(&root);
    cli_buf_free(&pck_der);
    cli_buf_free(&root_der);
    cli_buf_free(&pck_chain);
    cli_buf_free(&tcb_chain);
    cli_buf_free(&qe_chain);
    cu->easy_cleanup(x.curl);
    cu->global_cleanup();
    return rc;
}

/* fetch_with returns a cba_fetch_status value as an int (fail() and the steps speak int). */
static int fetch_with(const curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev, int64_t now,
                      cba_fetch_result *out)
{
    fetch_target t;
    cache_dir cd = { .fd = -1, .path = "" };
    cli_buf cached = { 0 };
    char name[CACHE_NAME_MAX], err[CACHE_PATH_MAX + 200], why[400], until[32];
    int64_t cached_expires = 0, mtime = 0;
    bool cached_valid = false;
    int rc;

    memset(out, 0, sizeof *out);
    {
        /* A bad URL is a usage error even when the cache would have answered. */
        bool http_ok, loopback, intel;
        if (!check_url(cu, o->base_url != NULL ? o->base_url : CBA_FETCH_DEFAULT_URL, true, &http_ok, &loopback, &intel,
                       why, sizeof why)) {
            return fail(out, CBA_FETCH_BAD_ARGUMENT, "--pccs: %s", why);
        }
    }
    rc = target_from_evidence(ev, &t, out);
    if (rc != 0) { return rc; }
    memcpy(out->fmspc, t.fmspc, 6);
    out->processor_ca = t.processor_ca;
    out->have_target = true;
    progress(o, "quote: FMSPC %s, PCK %s CA", t.fmspc_hex, t.processor_ca ? "Processor" : "Platform");

    if (!o->no_cache) {
        char path[CACHE_PATH_MAX];
        if (o->cache_dir != NULL) {
            if (!cache_open(&cd, o->cache_dir, false, err, sizeof err)) {
                return fail(out, CBA_FETCH_BAD_ARGUMENT, "--cache-dir: %s", err);
            }
        } else if (!cache_default_path(path, sizeof path, err, sizeof err) ||
                   !cache_open(&cd, path, true, err, sizeof err)) {
            fprintf(stderr, PROG ": warning: cache disabled: %s\n", err);
        }
    }
    if (cd.fd >= 0 &&
        !cache_entry_name(name, sizeof name, t.fmspc, t.processor_ca, o->trust_root_der, o->trust_root_der_len)) {
        cache_close(&cd);
    }
    if (cd.fd >= 0) {
        switch (cache_read(&cd, name, CBA_FETCH_MAX_COLLATERAL, &cached, &mtime, err, sizeof err)) {
        case CACHE_HIT:
            /* The cache is not trusted: the entry is verified again, at this `now`. */
            if (check_collateral(o, &t, cached.data, cached.len, now, &cached_expires, why, sizeof why)) {
                int64_t age = (int64_t)time(NULL) - mtime;
                cached_valid = true;
                format_time(until, sizeof until, cached_expires);
                if (age >= 0 && age < o->refresh_after) {
                    progress(o, "using cached collateral %s/%s (fetched %lld s ago), valid until %s", cd.path,
                             name, (long long)age, until);
                    out->json = cached;
                    cached.data = NULL;
                    cached.len = 0;
                    out->verified = true;
                    out->from_cache = true;
                    out->expires = cached_expires;
                    goto out;
                }
                progress(o, "cached collateral is %lld s old; refreshing it", (long long)age);
            } else {
                progress(o, "not using cached collateral %s/%s: %s", cd.path, name, why);
                cli_buf_free(&cached);
            }
            break;
        case CACHE_UNSAFE:
            fprintf(stderr, PROG ": warning: ignoring %s\n", err);
            break;
        case CACHE_MISS:
            break;
        }
    }

    rc = fetch_network(cu, o, &t, out);
    if (rc == CBA_FETCH_UNAVAILABLE && cached_valid) {
        format_time(until, sizeof until, cached_expires);
        fprintf(stderr, PROG ": using cached collateral, valid until %s (%s/%s)\n", until, cd.path, name);
        cli_buf_free(&out->json);
        out->json = cached;
        cached.data = NULL;
        cached.len = 0;
        out->verified = true;
        out->from_cache = true;
        out->expires = cached_expires;
        out->error[0] = '\0';
        rc = 0;
        goto out;
    }
    if (rc != 0) { goto out; }
    if (!check_collateral(o, &t, out->json.data, out->json.len, now, &out->expires, why, sizeof why)) {
        out->expires = 0;
        rc = fail(out, CBA_FETCH_NOT_VERIFIED, "fetched collateral does not verify: %s", why);
        goto out;
    }
    out->verified = true;
    format_time(until, sizeof until, out->expires);
    progress(o, "collateral verified, valid until %s", until);
    if (cd.fd >= 0) {
        int werr = cache_write(&cd, name, out->json.data, out->json.len);
        if (werr != 0) {
            fprintf(stderr, PROG ": warning: cannot write cache entry %s/%s: %s\n", cd.path, name, strerror(werr));
        } else {
            progress(o, "cached as %s/%s", cd.path, name);
        }
    }
out:
    cache_close(&cd);
    cli_buf_free(&cached);
    return rc;
}

bool fetch_normalize_base_url(const char *in, char *out, size_t out_len)
{
    static const char *const k_suffixes[] = { "/sgx/certification/v4", "/tdx/certification/v4",
                                              "/sgx/certification/v3", "/tdx/certification/v3" };
    size_t n = strlen(in);
    bool scheme = strstr(in, "://") != NULL; /* any scheme: check_url refuses all but http(s) */
    int w;
    while (n > 0 && in[n - 1] == '/') { n--; }
    for (size_t i = 0; i < sizeof k_suffixes / sizeof k_suffixes[0]; i++) {
        size_t sl = strlen(k_suffixes[i]);
        if (n > sl && strncmp(in + n - sl, k_suffixes[i], sl) == 0) {
            n -= sl;
            break;
        }
    }
    while (n > 0 && in[n - 1] == '/') { n--; }
    if (n == 0 || strchr(in, '\n') != NULL || strchr(in, ' ') != NULL) { return false; }
    w = snprintf(out, out_len, "%s%.*s", scheme ? "" : "https://", (int)n, in);
    return w > 0 && (size_t)w < out_len;
}

static cba_fetch_status to_status(int rc)
{
    return rc >= 0 && rc < (int)CBA_FETCH_STATUS_COUNT ? (cba_fetch_status)rc : CBA_FETCH_INTERNAL;
}

cba_fetch_status fetch_collateral_with(const curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev,
                                       int64_t now, cba_fetch_result *out)
{
    return to_status(fetch_with(cu, o, ev, now, out));
}

cba_fetch_status cba_fetch_collateral(const cba_fetch_opts *o, const cba_evidence *ev, int64_t now,
                                      cba_fetch_result *out)
{
    curl_api cu;
    char why[300];
    cba_fetch_status st;
    cba_fetch_opts local = *o;
    char base[MAX_URL / 2];
    memset(out, 0, sizeof *out);
    /* The URL forms people copy: the bare host, or the base with /sgx|tdx/certification/v4. */
    if (o->base_url != NULL) {
        if (!fetch_normalize_base_url(o->base_url, base, sizeof base)) {
            return to_status(fail(out, CBA_FETCH_BAD_ARGUMENT,
                                  "--pccs: \"%.100s\" is not a PCS/PCCS URL (e.g. https://pccs.example:8081)",
                                  o->base_url));
        }
        local.base_url = base;
    }
    if (!curl_api_open(&cu, why, sizeof why)) { return to_status(fail(out, CBA_FETCH_UNAVAILABLE, "%s", why)); }
    st = fetch_collateral_with(&cu, &local, ev, now, out);
    curl_api_close(&cu);
    return st;
}

static const struct { const char *name, *msg; } k_fetch_statuses[] = {
#define CBA_X_ROW(name, msg) [name] = { #name, msg },
    CBA_FETCH_STATUSES(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_fetch_statuses / sizeof k_fetch_statuses[0] == CBA_FETCH_STATUS_COUNT, "one row per status");

const char *cba_fetch_status_name(cba_fetch_status status)
{
    return (unsigned)status < CBA_FETCH_STATUS_COUNT ? k_fetch_statuses[status].name : "CBA_FETCH_UNKNOWN";
}

const char *cba_fetch_status_message(cba_fetch_status status)
{
    return (unsigned)status < CBA_FETCH_STATUS_COUNT ? k_fetch_statuses[status].msg : "unknown fetch status";
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
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    cba_pem_chain chain;
    cba_error err;
    uint8_t *der;
    if (!cli_read_file(path, 65536, out)) { return false; }
    if (out->len < sizeof begin || memcmp(out->data, begin, sizeof begin - 1) != 0) {
        return true; /* DER; the verifier parses it */
    }
    der = malloc(out->len);
    cba_error_clear(&err);
    if (der == NULL || cba_pem_chain_decode(&err, &chain, cbs_make(out->data, out->len), der, out->len) != CBA_OK ||
        chain.num_certs != 1) {
        fprintf(stderr, PROG ": --trust-root %s: not one PEM or DER certificate\n", path);
        free(der);
        cli_buf_free(out);
        return false;
    }
    memmove(der, chain.certs[0].data, chain.certs[0].len);
    out->len = chain.certs[0].len;
    free(out->data);
    out->data = der;
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

int cmd_collateral(int argc, char **argv)
{
    collateral_args a;
    cli_buf quote = { 0 }, info = { 0 }, root = { 0 };
    cba_fetch_result res;
    cba_report *rep = NULL;
    cba_evidence ev;
    int rc;

    cba_evidence_init(&ev);
    memset(&res, 0, sizeof res);
    memset(&a, 0, sizeof a);
    cba_fetch_opts_init(&a.fo);
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
    rc = parse_collateral_args(&a, argc - 1, argv + 1);
    if (rc >= 0) { return rc; }
    a.fo.quiet = a.json;
    if (a.fo.base_url == NULL && getenv("PCCS_URL") != NULL && getenv("PCCS_URL")[0] != '\0') {
        a.fo.base_url = getenv("PCCS_URL"); /* as dcap-qvl: the default PCS/PCCS */
    }
    if (!a.have_at) { a.at = (int64_t)time(NULL); }
    rc = EXIT_USAGE;
    if (a.quote_path != NULL && !cli_read_file(a.quote_path, CLI_MAX_INPUT, &quote)) {
        (void)collateral_usage_error(&a, "cannot read the quote (see the message above)");
        goto out;
    }
    if (a.quote_path != NULL && !cli_decode_quote_file(&quote, a.quote_path)) {
        /* read, but no quote in it: malformed evidence (exit 1), the form named above */
        rc = EXIT_REJECTED;
        if (a.json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "result", json_object_new_string("error"));
            json_object_object_add(o, "exit_code", json_object_new_int(rc));
            json_object_object_add(o, "error", json_object_new_string("malformed quote (see stderr)"));
            cli_json_status(o, rc, "malformed", "malformed quote: no TDX quote in the --quote file (see stderr)");
            puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
        }
        goto out;
    }
    if (a.info_path != NULL && !cli_read_file(a.info_path, CLI_MAX_INPUT, &info)) {
        (void)collateral_usage_error(&a, "cannot read the guest agent response (see the message above)");
        goto out;
    }
    if (a.trust_root_path != NULL) {
        if (!fetch_load_trust_root(a.trust_root_path, &root)) {
            (void)collateral_usage_error(&a, "cannot load --trust-root (see the message above)");
            goto out;
        }
        fprintf(stderr, "%s\n", k_test_root_warning);
        a.fo.trust_root_der = root.data;
        a.fo.trust_root_der_len = root.len;
    }
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    ev.info_json = info.data;
    ev.info_json_len = info.len;

    rc = fetch_exit_code(cba_fetch_collateral(&a.fo, &ev, a.at, &res));
    if (rc == 0) {
        /* What this collateral says about the quote, under the default policy (informational: the
         * collateral itself verified). */
        rep = malloc(sizeof *rep);
        if (rep != NULL) {
            cba_policy pol;
            char until[32];
            cba_policy_init(&pol);
            cba_report_init(rep);
            pol.trust_root_der = a.fo.trust_root_der;
            pol.trust_root_der_len = a.fo.trust_root_der_len;
            ev.collateral_json = res.json.data;
            ev.collateral_json_len = res.json.len;
            if (cba_verify(rep, &pol, &ev, a.at) != CBA_OK && rep->verdict == CBA_VERDICT_VERIFIED) {
                rep->verdict = CBA_VERDICT_REJECTED; /* cannot happen; fail closed if it ever did */
            }
            tc_report_add_hints(rep, TC_HINTS_ATTEST);
            format_time(until, sizeof until, res.expires);
            if (rep->verdict == CBA_VERDICT_VERIFIED) {
                progress(&a.fo, "with this collateral the quote verifies (TCB %s); collateral valid until %s",
                         cba_tcb_status_name(rep->tcb_status), until);
            } else {
                progress(&a.fo, "note: with this collateral the quote is rejected at %s: %s: %s",
                         cba_check_name(rep->failed_check), cba_err_message(rep->error.code), rep->error.detail);
            }
        }
        if (a.output != NULL) {
            int werr = tc_write_file_atomic(a.output, res.json.data, res.json.len, 0644);
            if (werr != 0) {
                rc = fail(&res, EXIT_USAGE, "cannot write %s: %s", a.output, strerror(werr));
            } else {
                progress(&a.fo, "wrote %s (%zu bytes)", a.output, res.json.len);
            }
        } else if (!write_stdout(&res.json)) {
            rc = fail(&res, EXIT_USAGE, "cannot write the collateral to standard output");
        }
    }
    if (a.json) { print_json_status(&a, rc, &res, rep); }
out:
    free(rep);
    cba_fetch_result_free(&res);
    cli_buf_free(&quote);
    cli_buf_free(&info);
    cli_buf_free(&root);
    return rc;
}
