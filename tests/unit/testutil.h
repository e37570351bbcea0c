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
 * $CBA_FIXTURES/real. Returns false when neither exists. */
bool tu_real_fixture(const char *rel, tu_buf *out);

/* tu_skip_allowed says whether a test may skip the part named `key` ("unit.test_x:part"):
 * always outside CI; in CI (CRABBOX_CI_ALLOWED_SKIPS set, even empty, by .ci/run) only when
 * `key` is in that comma-separated list. docs/testing.md lists the keys. */
bool tu_skip_allowed(const char *key);

/* tu_hex decodes a hex string literal into out (capacity cap); returns the length or -1. */
long tu_hex(uint8_t *out, size_t cap, const char *hex);

/* TU_REAL_FIXTURE reads a real fixture or fails the test: the bundled copies under fixtures/real
 * are committed, so a missing one is a broken checkout, never a reason to skip (issue 17 §4). */
#define TU_REAL_FIXTURE(rel, buf)                                                               \
    do {                                                                                        \
        if (!tu_real_fixture((rel), (buf))) {                                                   \
            cr_assert_fail("real fixture %s not found (CBA_FIXTURES/real is committed; run "    \
                           "through ctest)", (rel));                                            \
        }                                                                                       \
    } while (0)
/* The old name, kept for the existing call sites: it no longer skips. */
#define TU_REAL_OR_SKIP(rel, buf) TU_REAL_FIXTURE(rel, buf)

/* TU_SKIP(key, why) skips the rest of the test when tu_skip_allowed(key), else fails it: a skip
 * in CI that is not on the allow-list is a failure. `why` is a string literal. */
#define TU_SKIP(key, why)                                                                       \
    do {                                                                                        \
        if (tu_skip_allowed(key)) { cr_skip_test("%s (skip key %s)", (why), (key)); }           \
        cr_assert_fail("%s: the skip of %s is not allowed in CI (add it to "                    \
                       "CRABBOX_CI_ALLOWED_SKIPS, or give CI what it needs)", (why), (key));    \
    } while (0)

#endif
