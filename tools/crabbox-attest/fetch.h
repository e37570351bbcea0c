/* fetch.h — the crabbox-attest side of collateral fetching (crabbox/collateral.h): exit codes,
 * the test trust root loader and the `collateral fetch` command. */
#ifndef CRABBOX_ATTEST_FETCH_H
#define CRABBOX_ATTEST_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "crabbox/verifier.h"

/* The fetching API and its result codes are public: crabbox/collateral.h. */
#include "crabbox/collateral.h"

/* fetch_exit_code maps a fetch status to the CLI's exit code (cli.h): OK 0; a malformed quote,
 * response or collateral that does not verify 1; unusable arguments, out of memory or libcurl 2;
 * the network and no cached entry 3. */
int fetch_exit_code(cba_fetch_status status);

/* fetch_normalize_base_url turns the URL forms people copy into the base this code appends
 * paths to: a trailing "/", "/sgx/certification/v4" or "/tdx/certification/v4" (or v3) is
 * dropped, and a bare host gets "https://". False when nothing is left or it does not fit. */
bool fetch_normalize_base_url(const char *in, char *out, size_t out_len);

/* fetch_parse_seconds parses a decimal number of seconds in [min, max]. */
bool fetch_parse_seconds(const char *text, double min, double max, double *out);

/* fetch_collateral_with is cba_fetch_collateral over another libcurl: the fuzz harness
 * fuzz/pccs_response.c hands it a curl_api whose transfers answer with the
 * fuzzer's responses (status, headers, bodies), so every byte a PCS/PCCS sends is fuzzed. */
struct curl_api;
cba_fetch_status fetch_collateral_with(const struct curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev,
                                       int64_t now, cba_fetch_result *out);

/* fetch_load_trust_root reads a test trust anchor (one PEM or DER certificate) into *out as DER.
 * Prints an error and returns false on failure. */
bool fetch_load_trust_root(const char *path, cli_buf *out);

/* cmd_collateral implements `crabbox-attest collateral fetch ...` (see its --help). */
int cmd_collateral(int argc, char **argv);

#endif
