/* cli.h — shared pieces of the crabbox-attest command. */
#ifndef CRABBOX_ATTEST_CLI_H
#define CRABBOX_ATTEST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (stable; documented in --help and docs/). */
enum {
    EXIT_VERIFIED = 0,
    EXIT_REJECTED = 1,
    EXIT_USAGE = 2,
    EXIT_NEED_COLLATERAL = 3,
};

#define CLI_MAX_INPUT (8u << 20) /* no evidence file is anywhere near 8 MiB */

#include "crabbox/collateral.h"

typedef cba_buf cli_buf; /* owned bytes (free data with free()) */

/* cli_read_file reads a regular file (at most `cap` bytes) into *out; on failure prints a clear
 * error naming the file and returns false. "-" reads standard input. */
bool cli_read_file(const char *path, size_t cap, cli_buf *out);
void cli_buf_free(cli_buf *b);

/* cli_parse_hex decodes exactly n bytes from hex text (optional 0x, either case). */
bool cli_parse_hex(uint8_t *out, size_t n, const char *text);

/* cli_parse_time accepts Unix seconds or an RFC 3339 date-time (T/t or a space between date and
 * time, optional fraction, Z/z or +hh:mm/-hh:mm); the one time parser of every command. */
bool cli_parse_time(const char *text, int64_t *out);

/* cli_hex writes 2n lowercase hex digits and a NUL. */
void cli_hex(char *out, const uint8_t *in, size_t n);

/* cli_decode_quote_file turns a quote file (any form quote_input.h accepts) into raw quote bytes
 * in place; on failure prints the detected format and the problem and returns false. */
bool cli_decode_quote_file(cli_buf *b, const char *path);

/* cli_json_status adds the members every --json output of crabbox-attest and crabbox shares
 * (docs/user-guide.md, "One JSON shape"): "ok" (exit status 0), "exit" (the status), "code" (NULL:
 * the name of the status: ok, rejected, usage, unavailable) and "message" (NULL: none). `o` is a
 * json_object *. */
void cli_json_status(void *o, int exit_status, const char *code, const char *message);

/* k_verify_usage is the --help text of `crabbox-attest verify` (verify_usage.c). */
extern const char k_verify_usage[];

int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
