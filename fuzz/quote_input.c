/* fuzz/quote_input.c. Target: cli_quote_input_detect (attest/quote_input.c), the
 * detector of every form a quote is handed in (binary, hex, base64, JSON {quote}/{attestation},
 * RA-TLS certificate PEM/DER). Seeds: fuzz/corpus/quote_input/.
 * Properties: never fails on content (false only for out of memory); exactly one of a quote or a
 * problem; the format is always named; the same input gives the same result; a binary quote of
 * version 4/5 comes back byte-identical; cli_quote_length never exceeds its input. */
#include <stdlib.h>
#include <string.h>

#include "quote_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool cond)
{
    if (!cond) { abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cli_quote_input a, b;
    if (!cli_quote_input_detect(&a, data, size)) { return 0; }
    check(a.format[0] != '\0');
    check((a.problem[0] == '\0') == (a.quote != NULL));
    check(a.quote == NULL || a.quote_len <= size);
    if (cli_quote_input_detect(&b, data, size)) {
        check(strcmp(a.format, b.format) == 0 && strcmp(a.problem, b.problem) == 0);
        check(a.quote_len == b.quote_len && (a.quote_len == 0 || memcmp(a.quote, b.quote, a.quote_len) == 0));
        check(a.from_cert == b.from_cert);
        cli_quote_input_free(&b);
    }
    if (size >= 2 && (data[0] == 4 || data[0] == 5) && data[1] == 0) {
        check(a.quote_len == size && memcmp(a.quote, data, size) == 0);
    }
    check(cli_quote_length(data, size) <= size);
    cli_quote_input_free(&a);
    return 0;
}
