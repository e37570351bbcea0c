/* fetch_internal.h — the pieces of collateral fetching (crabbox/collateral.h) shared by the attest
 * modules: reporting through the caller's callback (notes.c), URL checks (url.c), HTTP over
 * libcurl (http.c), the quote's platform and the check that collateral is for it (target.c), and
 * the fetch itself (fetch.c). Private to attest/. */
#ifndef CRABBOX_ATTEST_FETCH_INTERNAL_H
#define CRABBOX_ATTEST_FETCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crabbox/collateral.h"
#include "curl_api.h"

#define ATTEST_MAX_URL 2048
#define ATTEST_MAX_HEADER_VALUE (64u << 10) /* a percent-encoded two-certificate chain is ~3 KB */
#define ATTEST_MAX_ISSUER_DER 1024          /* the PCK leaf's issuer Name; Intel's is ~110 bytes */

/* ---- notes.c: what the caller is told ------------------------------------------------------ */

/* attest_fail records the first failure in res->error, hands it to the caller's callback
 * (CBA_FETCH_NOTE_ERROR), and returns `code` (a cba_fetch_status value). */
__attribute__((format(printf, 4, 5))) int attest_fail(const cba_fetch_opts *o, cba_fetch_result *res, int code,
                                                      const char *fmt, ...);
/* attest_progress reports a step unless o->quiet; attest_warn always reports. */
__attribute__((format(printf, 2, 3))) void attest_progress(const cba_fetch_opts *o, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void attest_warn(const cba_fetch_opts *o, const char *fmt, ...);

/* attest_printable copies at most out_len-1 bytes of server-provided text, replacing anything but
 * printable ASCII: a hostile server must not be able to write escape sequences to a terminal. */
void attest_printable(char *out, size_t out_len, const char *in, size_t in_len);

/* attest_format_time writes t as RFC 3339 UTC ("2025-06-01T12:00:00Z"), else as a number. */
void attest_format_time(char *out, size_t out_len, int64_t t);

/* ---- url.c ----------------------------------------------------------------------------------- */

/* attest_check_url accepts https:// URLs, and http:// ones only to loopback hosts. For a base URL
 * (one paths are appended to) a query or fragment is refused too. *out_http says whether plain
 * HTTP is to be allowed, *out_loopback whether the host is loopback, *out_intel whether it is
 * Intel PCS itself. False with why in err. */
bool attest_check_url(const curl_api *cu, const char *url, bool base, bool *out_http, bool *out_loopback,
                      bool *out_intel, char *err, size_t err_len);

/* fetch_normalize_base_url turns the URL forms people copy into the base this code appends
 * paths to: a trailing "/", "/sgx/certification/v4" or "/tdx/certification/v4" (or v3) is
 * dropped, and a bare host gets "https://". False when nothing is left or it does not fit. */
bool fetch_normalize_base_url(const char *in, char *out, size_t out_len);

/* ---- http.c ---------------------------------------------------------------------------------- */

enum {
    H_TCB_CHAIN,     /* PCS v4 name */
    H_SGX_TCB_CHAIN, /* v3 / PCCS name */
    H_QE_CHAIN,
    H_PCK_CRL_CHAIN,
    H_ERROR_CODE,
    H_ERROR_MESSAGE,
    H_COUNT
};

/* attest_header_name returns the header's name ("TCB-Info-Issuer-Chain", ...). */
const char *attest_header_name(int idx);

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

/* http_resp_clear frees what r holds and empties it. */
void http_resp_clear(http_resp *r);

typedef struct http_client {
    const cba_fetch_opts *o;
    cba_fetch_result *res;
    const curl_api *cu;
    CURL *curl;
} http_client;

/* http_get fetches url into *r (status 200 only), retrying transient failures with exponential
 * backoff (0.5 s, 1 s, 2 s, ... at most 8 s). `what` names the object in messages. Returns 0, else
 * a status (CBA_FETCH_UNAVAILABLE for network/HTTP failures, CBA_FETCH_BAD_ARGUMENT for a refused
 * URL), reported through attest_fail. */
int http_get(const http_client *x, const char *what, const char *url, http_resp *r);

/* ---- target.c -------------------------------------------------------------------------------- */

typedef struct fetch_target {
    uint8_t fmspc[6], pce_id[2];
    bool processor_ca;
    uint8_t issuer[ATTEST_MAX_ISSUER_DER]; /* the PCK leaf's issuer Name DER (the PCK CRL's issuer) */
    size_t issuer_len;
    char fmspc_hex[13];
} fetch_target;

/* target_from_evidence reads FMSPC, PCE-ID and the CA kind from the quote's PCK leaf. The quote is
 * parsed but not verified: these values only choose what to download; the verifier checks them.
 * Returns 0 or a status (reported). */
int target_from_evidence(const cba_fetch_opts *o, const cba_evidence *ev, fetch_target *t, cba_fetch_result *res);

/* check_collateral verifies json at `now` (default policy with opts' trust anchor) and checks it is
 * for this platform: TCB info FMSPC and PCE-ID equal the PCK certificate's, and the PCK CRL is
 * issued by the leaf's own CA. Returns true and sets *out_expires, else writes why. */
bool check_collateral(const cba_fetch_opts *o, const fetch_target *t, const uint8_t *json, size_t len, int64_t now,
                      int64_t *out_expires, char *why, size_t why_len);

/* attest_crl_check says whether der parses as a CRL; else why in detail. */
bool attest_crl_check(const uint8_t *der, size_t der_len, char *detail, size_t detail_len);

/* attest_pem_chain_check says whether pem is a PEM certificate chain; else why in detail. */
bool attest_pem_chain_check(const uint8_t *pem, size_t pem_len, char *detail, size_t detail_len);

/* ---- fetch.c --------------------------------------------------------------------------------- */

/* fetch_collateral_with is cba_fetch_collateral over another libcurl: the fuzz harness
 * fuzz/pccs_response.c hands it a curl_api whose transfers answer with the
 * fuzzer's responses (status, headers, bodies), so every byte a PCS/PCCS sends is fuzzed. */
cba_fetch_status fetch_collateral_with(const curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev,
                                       int64_t now, cba_fetch_result *out);

#endif
