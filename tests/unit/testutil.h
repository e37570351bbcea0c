/* testutil.h — helpers shared by the Criterion tests: fixture lookup and file reading. */
#ifndef CBA_TESTUTIL_H
#define CBA_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tu_buf {
    uint8_t *data;
    size_t len;
} tu_buf;

/* tu_read_file reads a whole file; returns false if it cannot (data NULL then). */
bool tu_read_file(const char *path, tu_buf *out);
void tu_buf_free(tu_buf *b);

/* tu_real_fixture reads `rel` (e.g. "crabbox/real_tdx_quote.bin") from the shared real evidence
 * ($CBA_SHARED_FIXTURES, i.e. ../shared/fixtures/real), falling back to the bundled copy under
 * $CBA_FIXTURES/real. Returns false when neither exists: call cr_skip_test then. */
bool tu_real_fixture(const char *rel, tu_buf *out);

/* tu_hex decodes a hex string literal into out (capacity cap); returns the length or -1. */
long tu_hex(uint8_t *out, size_t cap, const char *hex);

#define TU_REAL_OR_SKIP(rel, buf)                                                               \
    do {                                                                                        \
        if (!tu_real_fixture((rel), (buf))) {                                                   \
            cr_skip_test("real fixture %s not found (../shared/fixtures/real or fixtures/real)",\
                         (rel));                                                                \
        }                                                                                       \
    } while (0)

#endif
