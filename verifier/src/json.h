/* json.h — strict JSON on json-c: depth limit, strict mode, UTF-8 validation, the whole input
 * consumed (trailing whitespace only), duplicate keys rejected, and typed getters that check
 * exact hex lengths and integer ranges. */
#ifndef CBA_JSON_H
#define CBA_JSON_H

#include <json-c/json.h>

#include "cbs.h"
#include "internal.h"

#define CBA_JSON_MAX_DEPTH 16

/* cba_json_parse parses `in` as one JSON value. On success *out is a new reference (release with
 * json_object_put); for the text `null` it is NULL (json-c's null), which every json-c type test
 * and our getters treat as "not an object". Duplicate keys in any object, invalid UTF-8, non-strict syntax, nesting
 * deeper than max_depth, anything but whitespace after the value, or an embedded NUL outside
 * strings fail with `code` (e.g. CBA_E_COLLATERAL_FORMAT) at `where`. */
CBA_MUST_USE cba_err cba_json_parse(cba_error *err, json_object **out, cbs in, int max_depth,
                                    cba_err code, const char *where);

/* cba_json_has_duplicate_keys scans JSON text for an object with a repeated key (after
 * unescaping). It is a tokenizer pass only; it returns true also for text it cannot scan. */
bool cba_json_has_duplicate_keys(cbs in, int max_depth);

/* Getters: `obj` must be an object (NULL is refused). Each returns false when the key is absent or has the wrong
 * type/shape; *out is untouched then. Strings are returned as views of json-c's storage (valid
 * while obj lives), with the exact length (embedded NULs possible). */
bool cba_json_get_string(const json_object *obj, const char *key, cbs *out);
bool cba_json_get_hex(const json_object *obj, const char *key, uint8_t *out, size_t out_len);
/* cba_json_get_u64: a JSON integer (not a double, bool or string), 0 <= v <= max. */
bool cba_json_get_u64(const json_object *obj, const char *key, uint64_t max, uint64_t *out);
/* cba_json_get_object / _array: *out is borrowed from obj (no new reference). */
bool cba_json_get_object(const json_object *obj, const char *key, json_object **out);
bool cba_json_get_array(const json_object *obj, const char *key, json_object **out);
/* cba_json_has: the key is present (also with a null value). */
bool cba_json_has(const json_object *obj, const char *key);

/* cba_json_string_view returns a view of a json string value (type must be string). */
bool cba_json_string_view(const json_object *str, cbs *out);

/* A flat object of string members, parsed without building a json-c tree (the collateral
 * envelope: a dozen long strings, where json-c's tokenizer and allocations cost more than the
 * rest of the parse). */
#define CBA_JSON_FLAT_MAX 16

typedef struct cba_json_flat {
    size_t num;
    struct {
        cbs key;        /* as written (keys with escapes are kept escaped: they match no name) */
        cbs value;      /* unescaped: a view of the input, or of `owned` when it had escapes */
        uint8_t *owned;
    } members[CBA_JSON_FLAT_MAX];
} cba_json_flat;

/* cba_json_parse_flat parses `in` as one JSON object (strict rules as cba_json_parse: the same
 * validation, duplicate keys rejected, whitespace only after it) whose every member is a string,
 * with at most CBA_JSON_FLAT_MAX members. Failures use `code` at `where`. On success out owns
 * its buffers (release with cba_json_flat_cleanup); on failure nothing is held. */
CBA_MUST_USE cba_err cba_json_parse_flat(cba_error *err, cba_json_flat *out, cbs in, cba_err code,
                                         const char *where);
void cba_json_flat_cleanup(cba_json_flat *flat); /* NULL-safe */
/* cba_json_flat_get finds member `key`; false when absent. */
bool cba_json_flat_get(const cba_json_flat *flat, const char *key, cbs *out);

/* cba_parse_iso8601_z parses exactly "YYYY-MM-DDThh:mm:ssZ" into Unix seconds. */
CBA_MUST_USE bool cba_parse_iso8601_z(cbs s, int64_t *out);

#endif
