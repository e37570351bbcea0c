/* json.h — strict JSON on json-c: depth limit, strict mode, UTF-8 validation, the whole input
 * consumed (trailing whitespace only), duplicate keys rejected, and typed getters that check
 * exact hex lengths and integer ranges. */
#ifndef CBA_JSON_H
#define CBA_JSON_H

#include <json-c/json.h>

#include "cbs.h"
#include "base.h"

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
        cbs value;      /* unescaped: a view of the input, or of `arena` when it had escapes */
    } members[CBA_JSON_FLAT_MAX];
    uint8_t *arena;     /* the decoded escaped values */
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

/* cba_jdoc: JSON read in one pass by the strict scanner (the same rules and error messages as
 * cba_json_parse), without json-c: a flat array of nodes in document order whose strings and
 * numbers are views of the input (escaped strings are decoded into the document's arena). Used for
 * the signed collateral documents (TCB info, QE identity), where it replaces a json-c tree. */
typedef enum cba_jtype {
    CBA_JT_NULL, CBA_JT_FALSE, CBA_JT_TRUE, CBA_JT_NUMBER, CBA_JT_STRING, CBA_JT_ARRAY, CBA_JT_OBJECT,
} cba_jtype;

typedef struct cba_jnode {
    cbs key;          /* member key as written (with its escapes when key_escaped) */
    cbs str;          /* string: the decoded value; number: its text */
    uint32_t first;   /* containers: offset of the first child from this node (0: none) */
    uint32_t next;    /* offset of the next sibling from this node (0: none) */
    uint32_t num;     /* containers: number of children */
    uint8_t type;     /* cba_jtype */
    bool key_escaped;
    bool escaped;
} cba_jnode;

typedef struct cba_jdoc {
    cba_jnode *nodes; /* nodes[0] is the top-level value */
    size_t num, cap;
    uint8_t *arena;   /* decoded escaped strings */
    bool any_escaped;
} cba_jdoc;

/* cba_jdoc_parse parses `in` as one strict JSON value into *out (release with cba_jdoc_cleanup,
 * also after a failure); errors carry `code` and `where` exactly as cba_json_parse's do. The
 * document borrows `in`: keep it alive while reading the nodes. */
CBA_MUST_USE cba_err cba_jdoc_parse(cba_error *err, cba_jdoc *out, cbs in, int max_depth,
                                    cba_err code, const char *where);
void cba_jdoc_cleanup(cba_jdoc *doc); /* NULL-safe */
const cba_jnode *cba_jdoc_root(const cba_jdoc *doc);
/* cba_jnode_at: element i of an array (NULL when out of range or not an array). */
const cba_jnode *cba_jnode_at(const cba_jnode *arr, size_t i);
/* cba_jnode_member: the value of member `key` of an object (keys compared decoded), or NULL. */
const cba_jnode *cba_jnode_member(const cba_jnode *obj, const char *key);
bool cba_jnode_string(const cba_jnode *n, cbs *out);
/* cba_jnode_key_is: member m's key (decoded) is the key_len bytes of key (a C string). */
bool cba_jnode_key_is(const cba_jnode *m, const char *key, size_t key_len);
/* cba_jnode_u64: cba_jget_u64's test on a value node (NULL: false). */
bool cba_jnode_u64(const cba_jnode *v, uint64_t max, uint64_t *out);
/* The getters of cba_json_get_* with the same semantics (an integer as json-c's json_type_int). */
bool cba_jget_string(const cba_jnode *obj, const char *key, cbs *out);
bool cba_jget_hex(const cba_jnode *obj, const char *key, uint8_t *out, size_t out_len);
bool cba_jget_u64(const cba_jnode *obj, const char *key, uint64_t max, uint64_t *out);
bool cba_jget_object(const cba_jnode *obj, const char *key, const cba_jnode **out);
bool cba_jget_array(const cba_jnode *obj, const char *key, const cba_jnode **out);
bool cba_jhas(const cba_jnode *obj, const char *key);

/* cba_parse_iso8601_z parses exactly "YYYY-MM-DDThh:mm:ssZ" into Unix seconds. */
CBA_MUST_USE bool cba_parse_iso8601_z(cbs s, int64_t *out);

#endif
