/* http.c — one GET over libcurl (loaded by curl_api.c) for collateral fetching: TLS verification
 * on, redirects only to https, bounded bodies and headers, the issuer-chain and error headers
 * kept (each at most once: a repeated or folded one is ambiguous and refused later), transient
 * failures retried with backoff. Nothing received here is trusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cbs.h"
#include "fetch_internal.h"

static const char *const k_header_names[H_COUNT] = {
    "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", "SGX-Enclave-Identity-Issuer-Chain",
    "SGX-PCK-CRL-Issuer-Chain", "Error-Code", "Error-Message",
};

const char *attest_header_name(int idx)
{
    return idx >= 0 && idx < H_COUNT ? k_header_names[idx] : "?";
}

void http_resp_clear(http_resp *r)
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
        if (value.len > ATTEST_MAX_HEADER_VALUE) {
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

int http_get(const http_client *x, const char *what, const char *url, http_resp *r)
{
    const cba_fetch_opts *o = x->o;
    bool allow_http, loopback, intel;
    char err[300];
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : CBA_FETCH_DEFAULT_TIMEOUT_MS;
    long connect = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : CBA_FETCH_DEFAULT_CONNECT_MS;
    int tries = o->max_tries < 1 ? 1 : o->max_tries > CBA_FETCH_MAX_TRIES ? CBA_FETCH_MAX_TRIES : o->max_tries;
    if (connect > timeout) { connect = timeout; }
    if (!attest_check_url(x->cu, url, false, &allow_http, &loopback, &intel, err, sizeof err)) {
        return attest_fail(o, x->res, CBA_FETCH_BAD_ARGUMENT, "%s: %s", what, err);
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
            attest_progress(o, "%s: %zu bytes from %s", what, r->body_len, url);
            return 0;
        }
        if (r->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(why, sizeof why, "response larger than %u bytes", CBA_FETCH_MAX_RESPONSE);
            transient = false;
        } else if (cc != CURLE_OK) {
            attest_printable(clean, sizeof clean, errbuf[0] ? errbuf : x->cu->easy_strerror(cc),
                      strlen(errbuf[0] ? errbuf : x->cu->easy_strerror(cc)));
            snprintf(why, sizeof why, "%s (curl error %d)", clean, (int)cc);
            transient = curl_transient(cc);
        } else {
            char code[64] = "", msg[160] = "";
            if (r->hdr[H_ERROR_CODE] != NULL) {
                attest_printable(code, sizeof code, r->hdr[H_ERROR_CODE], r->hdr_len[H_ERROR_CODE]);
            }
            if (r->hdr[H_ERROR_MESSAGE] != NULL) {
                attest_printable(msg, sizeof msg, r->hdr[H_ERROR_MESSAGE], r->hdr_len[H_ERROR_MESSAGE]);
            }
            snprintf(why, sizeof why, "HTTP %ld%s%s%s%s%s", r->status, code[0] || msg[0] ? " (" : "",
                     code, code[0] && msg[0] ? ": " : "", msg, code[0] || msg[0] ? ")" : "");
            /* 5xx and 429 may pass; any other status (4xx above all) will not change on retry. */
            transient = r->status >= 500 || r->status == 429;
        }
        if (!transient || attempt >= tries) {
            if (attempt > 1) {
                return attest_fail(o, x->res, CBA_FETCH_UNAVAILABLE, "%s: %s from %s (gave up after %d tries)", what,
                            why, url, attempt);
            }
            return attest_fail(o, x->res, CBA_FETCH_UNAVAILABLE, "%s: %s from %s", what, why, url);
        }
        delay = attempt > 5 ? 8000L : 500L << (attempt - 1); /* 0.5 s doubling, at most 8 s */
        attest_progress(o, "%s: %s from %s; retrying in %ld.%ld s (try %d of %d)", what, why, url, delay / 1000,
                 (delay % 1000) / 100, attempt + 1, tries);
        sleep_ms(delay);
    }
}
