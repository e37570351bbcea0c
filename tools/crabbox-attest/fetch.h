/* fetch.h — the crabbox-attest side of collateral fetching (crabbox/collateral.h, in
 * libcrabbox-attest): exit codes, progress on stderr, the test trust root loader and the
 * `collateral fetch` command (collateral_cmd.c). */
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

/* cli_fetch_note prints a line of the library's (progress, warning, error) on stderr as
 * "crabbox-attest: LINE"; cli_fetch_opts_init is cba_fetch_opts_init with it as the callback and
 * the default cache directory from this process's XDG_CACHE_HOME and HOME. */
void cli_fetch_note(void *ctx, cba_fetch_note kind, const char *line);
void cli_fetch_opts_init(cba_fetch_opts *fo);

/* fetch_parse_seconds parses a decimal number of seconds in [min, max]. */
bool fetch_parse_seconds(const char *text, double min, double max, double *out);

/* fetch_load_trust_root reads a test trust anchor (one PEM or DER certificate) into *out as DER.
 * Prints an error and returns false on failure. */
bool fetch_load_trust_root(const char *path, cli_buf *out);

/* cmd_collateral implements `crabbox-attest collateral fetch ...` (see its --help). */
int cmd_collateral(int argc, char **argv);

#endif
