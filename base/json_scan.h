/* json_scan.h — private to base/json*.c: the strict RFC 8259 scanner (json.c) that the trees
 * (json_tree.c) are built on. Not installed; nothing outside base/ includes it. */
#ifndef CRABBOX_BASE_JSON_SCAN_H
#define CRABBOX_BASE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbs.h"
#include "json.h"

/* json-c's own default depth is 32; callers ask for far less (CBA_JSON_MAX_DEPTH). */
#define JSON_DEPTH_LIMIT 64

typedef enum scan_result {
    SCAN_OK,
    SCAN_SYNTAX,
    SCAN_DEPTH,
    SCAN_DUPLICATE,
    SCAN_TOO_MANY_KEYS,
    SCAN_NUMBER_RANGE,
    SCAN_NUL_IN_KEY,
    SCAN_NOMEM,
} scan_result;

/* is_digit: an ASCII decimal digit (the number grammar and the integer getters). */
static inline bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

typedef enum str_step { STR_CP, STR_QUOTE, STR_BAD } str_step;

/* cba_json_string_next reads one code point of a string body (after the opening quote): a raw
 * UTF-8 character, a simple escape, or a \u escape (a surrogate pair must be complete).
 * STR_QUOTE means the unescaped closing quote was consumed; STR_BAD any malformed input. */
str_step cba_json_string_next(cbs *c, uint32_t *cp);

/* cba_json_scan_doc checks that `in` is exactly one strict JSON value plus whitespace and, with
 * doc != NULL, records a node per value into doc (the caller zeroes it and cleans it up).
 * *out_offset is where the scan stopped (for error messages). */
scan_result cba_json_scan_doc(cbs in, int max_depth, size_t *out_offset, cba_jdoc *doc);

/* cba_json_scan_message is the user-facing words for a scan result. */
const char *cba_json_scan_message(scan_result r);

#endif
