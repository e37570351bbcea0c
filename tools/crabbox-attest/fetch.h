/* fetch.h — DCAP collateral from Intel PCS or a PCCS (libcurl), assembled into dcap-qvl's
 * QuoteCollateralV3 JSON (dcap-spec §3.1, §3.6), verified, and cached per (FMSPC, PCK CA kind).
 *
 * Everything fetched is untrusted until cba_collateral_verify accepts it; only verified collateral
 * is cached or handed out as verified. The TCB info and QE identity texts are the exact bytes cut
 * out of the response bodies (never re-serialised), so their signatures still verify. */
#ifndef CRABBOX_ATTEST_FETCH_H
#define CRABBOX_ATTEST_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "crabbox/verifier.h"

#define FETCH_DEFAULT_URL "https://api.trustedservices.intel.com"
#define FETCH_INTEL_ROOT_CRL_URL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
#define FETCH_MAX_RESPONSE (1u << 20)      /* per response body */
#define FETCH_MAX_COLLATERAL (8u << 20)    /* assembled JSON / cache entry */
#define FETCH_DEFAULT_TIMEOUT_MS 30000L    /* total, per try */
#define FETCH_DEFAULT_CONNECT_MS 10000L
#define FETCH_DEFAULT_TRIES 3
#define FETCH_MAX_TRIES 10
#define FETCH_DEFAULT_REFRESH_AFTER 86400  /* seconds: re-fetch a valid cache entry this old */

typedef struct fetch_opts {
    const char *base_url;     /* PCS/PCCS base, e.g. "https://pccs.example:8081"; NULL: Intel PCS.
                                 http:// only for loopback hosts (127.0.0.0/8, localhost, [::1]) */
    const char *cacert;       /* CA bundle file for https; NULL: the system store */
    long timeout_ms;          /* total time per try (connect included) */
    long connect_timeout_ms;  /* capped at timeout_ms */
    int max_tries;            /* 1..FETCH_MAX_TRIES; only transient failures are retried */
    const char *cache_dir;    /* NULL: the per-user default (cache_default_path) */
    bool no_cache;            /* neither read nor write the cache */
    int64_t refresh_after;    /* a cached entry younger than this (seconds, by its file time) is
                                 used without asking the network; an older one that is still
                                 valid is used only when the network fails */
    bool quiet;               /* no progress lines on stderr (errors are always printed) */
    const uint8_t *trust_root_der; /* TEST ONLY: anchor for verification; NULL: Intel SGX Root CA */
    size_t trust_root_der_len;
} fetch_opts;

/* fetch_normalize_base_url turns the URL forms people copy into the base this code appends
 * paths to: a trailing "/", "/sgx/certification/v4" or "/tdx/certification/v4" (or v3) is
 * dropped, and a bare host gets "https://". False when nothing is left or it does not fit. */
bool fetch_normalize_base_url(const char *in, char *out, size_t out_len);

/* fetch_parse_seconds parses a decimal number of seconds in [min, max]. */
bool fetch_parse_seconds(const char *text, double min, double max, double *out);

/* fetch_opts_init sets the defaults above (Intel PCS, 30 s / 10 s, 3 tries, default cache). */
void fetch_opts_init(fetch_opts *opts);

typedef struct fetch_result {
    cli_buf json;         /* QuoteCollateralV3 JSON (owned; free with fetch_result_free) */
    bool verified;        /* json passed cba_collateral_verify and matches the quote */
    bool from_cache;
    int64_t expires;      /* report.collateral_expires of the verification (0 if not verified) */
    uint8_t fmspc[6];     /* from the quote's PCK certificate */
    bool processor_ca;    /* PCK issued by the Processor CA (else Platform CA) */
    bool have_target;     /* fmspc / processor_ca are set */
    char error[512];      /* the failure, one line, when the return value is not 0 */
} fetch_result;

/* fetch_collateral obtains DCAP collateral for the quote in `evidence` (evidence->quote, else the
 * quote inside evidence->info_json), verified at `now` (Unix seconds):
 *   1. FMSPC and CA kind come from the quote's PCK leaf (parsed, not yet verified);
 *   2. a cached entry that verifies at `now` is used when younger than opts->refresh_after;
 *   3. otherwise PCK CRL, TCB info, QE identity and root CA CRL are fetched, assembled,
 *      verified with cba_collateral_verify (default policy, opts' trust root) and checked to
 *      belong to this quote (TCB info FMSPC and PCE-ID, PCK CRL issuer); verified collateral is
 *      cached;
 *   4. when the network fails, a cached entry still valid at `now` is used.
 * Progress lines go to stderr unless opts->quiet; an error is always printed (and copied to
 * out->error). Returns an exit code of cli.h:
 *   EXIT_VERIFIED (0)        out->json holds verified collateral;
 *   EXIT_REJECTED (1)        the quote is malformed, a response is malformed, or the assembled
 *                            collateral does not verify; when it was assembled, out->json holds
 *                            it with out->verified false (for diagnostics: cba_verify on it names
 *                            the failing check — never cache or trust it);
 *   EXIT_USAGE (2)           bad URL (e.g. plain http:// to a non-loopback host), unusable
 *                            --cache-dir, out of memory;
 *   EXIT_NEED_COLLATERAL (3) network or HTTP failure and no valid cached entry.
 * out is always initialised; release it with fetch_result_free. Not thread-safe (it initialises
 * libcurl globally). */
int fetch_collateral(const fetch_opts *opts, const cba_evidence *evidence, int64_t now,
                     fetch_result *out);

/* fetch_result_free releases out->json; NULL-safe. */
void fetch_result_free(fetch_result *r);

/* fetch_collateral_with is fetch_collateral over another libcurl: the fuzz harness
 * tools/crabbox-attest/fuzz/pccs_response.c hands it a curl_api whose transfers answer with the
 * fuzzer's responses (status, headers, bodies), so every byte a PCS/PCCS sends is fuzzed. */
struct curl_api;
int fetch_collateral_with(const struct curl_api *cu, const fetch_opts *o, const cba_evidence *ev, int64_t now,
                          fetch_result *out);

/* fetch_load_trust_root reads a test trust anchor (one PEM or DER certificate) into *out as DER.
 * Prints an error and returns false on failure. */
bool fetch_load_trust_root(const char *path, cli_buf *out);

/* cmd_collateral implements `crabbox-attest collateral fetch ...` (see its --help). */
int cmd_collateral(int argc, char **argv);

#endif
