/* crabbox/collateral.h — DCAP collateral for a quote: fetched from Intel PCS or a PCCS (libcurl,
 * loaded on first use), assembled into dcap-qvl's QuoteCollateralV3 JSON (dcap-spec §3.1, §3.6),
 * verified with cba_collateral_verify, and kept in a per-user cache of verified collateral, one
 * entry per (FMSPC, PCK CA kind). Used by `crabbox-attest collateral fetch`, `verify --pccs` and
 * the crabbox host; docs/api.md, "Collateral fetching".
 *
 * Everything fetched is untrusted until cba_collateral_verify accepts it; only verified collateral
 * is cached or returned as verified. The TCB info and QE identity texts are the exact bytes cut out
 * of the response bodies (never re-serialised), so their signatures still verify. Unlike the
 * verifier, this does I/O (network, the cache directory), and it is not thread-safe (libcurl's
 * global initialisation). It prints nothing and reads no environment: progress, warnings and
 * errors go to the caller's callback (opts.progress), and the default cache directory comes from
 * the environment values the caller passes (opts.env_xdg_cache_home, opts.env_home).
 *
 * Part of libcrabbox-attest (attest/, static, in-tree; crabbox/attest.h); the crabbox-attest CLI
 * and the crabbox host both use it. */
#ifndef CRABBOX_COLLATERAL_H
#define CRABBOX_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crabbox/verifier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CBA_FETCH_DEFAULT_URL "https://api.trustedservices.intel.com"
#define CBA_FETCH_INTEL_ROOT_CRL_URL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
#define CBA_FETCH_MAX_RESPONSE (1u << 20)      /* per response body */
#define CBA_FETCH_MAX_COLLATERAL (8u << 20)    /* assembled JSON / cache entry */
#define CBA_FETCH_DEFAULT_TIMEOUT_MS 30000L    /* total, per try */
#define CBA_FETCH_DEFAULT_CONNECT_MS 10000L
#define CBA_FETCH_DEFAULT_TRIES 3
#define CBA_FETCH_MAX_TRIES 10
#define CBA_FETCH_DEFAULT_REFRESH_AFTER 86400  /* seconds: re-fetch a valid cache entry this old */

/* ---- Result codes: append only --------------------------------------------------------------- */
#define CBA_FETCH_STATUSES(X)                                                                    \
    X(CBA_FETCH_OK, "verified collateral for this quote")                                       \
    X(CBA_FETCH_BAD_QUOTE, "the quote or the guest agent response is malformed")                \
    X(CBA_FETCH_BAD_RESPONSE, "a PCS/PCCS response is malformed")                               \
    X(CBA_FETCH_NOT_VERIFIED, "the assembled collateral does not verify or is for another platform") \
    X(CBA_FETCH_BAD_ARGUMENT, "unusable URL, cache directory or evidence")                      \
    X(CBA_FETCH_NOMEM, "out of memory")                                                         \
    X(CBA_FETCH_UNAVAILABLE, "network or HTTP failure, and no valid cached entry")              \
    X(CBA_FETCH_INTERNAL, "libcurl cannot be initialised")

typedef enum cba_fetch_status {
#define CBA_X_ENUM(name, msg) name,
    CBA_FETCH_STATUSES(CBA_X_ENUM)
#undef CBA_X_ENUM
    CBA_FETCH_STATUS_COUNT
} cba_fetch_status;

/* cba_fetch_status_name returns "CBA_FETCH_..." and cba_fetch_status_message a sentence; never NULL. */
const char *cba_fetch_status_name(cba_fetch_status status);
const char *cba_fetch_status_message(cba_fetch_status status);

/* A buffer the caller owns (free data with free()). */
typedef struct cba_buf {
    uint8_t *data;
    size_t len;
} cba_buf;

/* What a progress callback is told: a step (suppressed when opts.quiet), a warning (the cache
 * could not be used, a stale entry stands in for the network), or the error the call returns
 * with (also in cba_fetch_result.error). Lines are one line each, without a newline; text from
 * a server is reduced to printable ASCII first. */
typedef enum cba_fetch_note {
    CBA_FETCH_NOTE_PROGRESS = 0,
    CBA_FETCH_NOTE_WARNING,
    CBA_FETCH_NOTE_ERROR,
} cba_fetch_note;

/* cba_fetch_progress_fn receives one line; ctx is opts.progress_ctx. */
typedef void (*cba_fetch_progress_fn)(void *ctx, cba_fetch_note kind, const char *line);

typedef struct cba_fetch_opts {
    const char *base_url;     /* PCS/PCCS base, e.g. "https://pccs.example:8081"; NULL: Intel PCS.
                                 http:// only for loopback hosts (127.0.0.0/8, localhost, [::1]) */
    const char *cacert;       /* CA bundle file for https; NULL: the system store */
    long timeout_ms;          /* total time per try (connect included) */
    long connect_timeout_ms;  /* capped at timeout_ms */
    int max_tries;            /* 1..CBA_FETCH_MAX_TRIES; only transient failures are retried */
    const char *cache_dir;    /* NULL: the per-user default ($XDG_CACHE_HOME/crabbox-attest, else
                                 $HOME/.cache/crabbox-attest; from env_* below, never getenv) */
    bool no_cache;            /* neither read nor write the cache */
    int64_t refresh_after;    /* a cached entry younger than this (seconds, by its file time) is
                                 used without asking the network; an older one that is still
                                 valid is used only when the network fails */
    bool quiet;               /* no CBA_FETCH_NOTE_PROGRESS lines (warnings, errors still come) */
    const uint8_t *trust_root_der; /* TEST ONLY: anchor for verification; NULL: Intel SGX Root CA */
    size_t trust_root_der_len;
    cba_fetch_progress_fn progress; /* NULL: nothing is reported (the result still says why) */
    void *progress_ctx;
    const char *env_xdg_cache_home; /* the caller's $XDG_CACHE_HOME (NULL: unset), for the default cache */
    const char *env_home;           /* the caller's $HOME (NULL: unset; then the password database) */
} cba_fetch_opts;

/* cba_fetch_opts_init sets the defaults above (Intel PCS, 30 s / 10 s, 3 tries, default cache). */
void cba_fetch_opts_init(cba_fetch_opts *opts);

typedef struct cba_fetch_result {
    cba_buf json;         /* QuoteCollateralV3 JSON (owned; free with cba_fetch_result_free) */
    bool verified;        /* json passed cba_collateral_verify and matches the quote */
    bool from_cache;
    int64_t expires;      /* report.collateral_expires of the verification (0 if not verified) */
    uint8_t fmspc[6];     /* from the quote's PCK certificate */
    bool processor_ca;    /* PCK issued by the Processor CA (else Platform CA) */
    bool have_target;     /* fmspc / processor_ca are set */
    char error[512];      /* the failure, one line, when the status is not CBA_FETCH_OK */
} cba_fetch_result;

/* cba_fetch_collateral obtains DCAP collateral for the quote in `evidence` (evidence->quote, else
 * the quote inside evidence->info_json), verified at `now` (Unix seconds):
 *   1. FMSPC and CA kind come from the quote's PCK leaf (parsed, not yet verified);
 *   2. a cached entry that verifies at `now` is used when younger than opts->refresh_after;
 *   3. otherwise PCK CRL, TCB info, QE identity and root CA CRL are fetched, assembled, verified
 *      with cba_collateral_verify (default policy, opts' trust root) and checked to belong to this
 *      quote (TCB info FMSPC and PCE-ID, PCK CRL issuer); verified collateral is cached;
 *   4. when the network fails, a cached entry still valid at `now` is used.
 * Progress lines go to opts->progress unless opts->quiet; warnings and the error always do (the
 * error is also copied to out->error). Returns CBA_FETCH_OK with verified collateral in out->json, or why not; with
 * CBA_FETCH_NOT_VERIFIED out->json holds the assembled collateral with out->verified false (for
 * diagnostics: cba_verify on it names the failing check — never cache or trust it). out is always
 * initialised; release it with cba_fetch_result_free. */
cba_fetch_status cba_fetch_collateral(const cba_fetch_opts *opts, const cba_evidence *evidence, int64_t now,
                                      cba_fetch_result *out);

/* cba_fetch_result_free releases out->json; NULL-safe. */
void cba_fetch_result_free(cba_fetch_result *r);

/* cba_fetch_trust_root_der turns a TEST trust anchor (opts.trust_root_der) read from a file into
 * DER in place: one PEM certificate is decoded (cert->data replaced; free with free()), anything
 * else is left as it is for the verifier to parse as DER. False (cert untouched) when the text
 * starts like PEM but is not exactly one certificate, or out of memory. */
bool cba_fetch_trust_root_der(cba_buf *cert);

#ifdef __cplusplus
}
#endif
#endif
