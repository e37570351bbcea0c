/* quote_input.h — the one place that recognises what a user hands in as "a quote" (libcrabbox-
 * attest; the crabbox-attest CLI and the quote_input fuzz harness use it).
 *
 * Accepted (docs/user-guide.md §Inputs):
 *   - a binary TDX quote (version 4 or 5; any other version is passed on and named);
 *   - hex text: whitespace and line breaks anywhere (`xxd -p`), an optional 0x, either case;
 *   - base64 (standard or URL-safe alphabet, padding optional, whitespace anywhere);
 *   - a JSON object with a "quote" member (hex or base64): GetQuote responses, dcap-qvl inputs;
 *   - dstack's attestation envelope {"attestation": "<hex>"}: the TDX quote inside it is located
 *     by its own header and length fields;
 *   - an RA-TLS certificate (PEM or DER) carrying the dstack quote extension
 *     1.3.6.1.4.1.62397.1.1; its key's RA-TLS report data is returned for the binding check.
 * Reading `-` as standard input is cli_read_file's job. Nothing here fails on content: the
 * result names the format detected and, when no quote could be taken out, the problem; the
 * caller reports that at quote_parse (malformed evidence, exit 1). */
#ifndef CRABBOX_ATTEST_QUOTE_INPUT_H
#define CRABBOX_ATTEST_QUOTE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_quote_input {
    uint8_t *quote;   /* owned (free with cli_quote_input_free); NULL when problem is set */
    size_t quote_len;
    char format[96];  /* "binary, version 4", "hex text", "JSON without a quote member", ... */
    char problem[200]; /* empty when a quote was taken out */
    bool from_cert;    /* RA-TLS certificate: ratls_report_data is what the quote must carry */
    uint8_t ratls_report_data[64];
} cli_quote_input;

/* cli_quote_input_detect decodes in[0..len) (not modified). Returns false only when out of
 * memory; otherwise *out is filled (quote, or problem). */
bool cli_quote_input_detect(cli_quote_input *out, const uint8_t *in, size_t len);
void cli_quote_input_free(cli_quote_input *q); /* NULL-safe */

/* cli_quote_length returns the exact length of the TDX quote (v4/v5) at the start of `in`
 * from its header, body descriptor and signature length, or 0 when it is not one. */
size_t cli_quote_length(const uint8_t *in, size_t len);

#endif
