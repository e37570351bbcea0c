/* json_tree.c — the trees of strict JSON (json.h): cba_jdoc, the strict scanner's own tree of
 * views (the signed collateral documents), the getters over json-c's tree that cba_json_parse
 * returns, and flat objects of strings. The scanner that validates every text is json.c's
 * (json_scan.h). */
#include "json.h"
#include "json_scan.h"
#include "rfc3339.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cba_jdoc: the strict scanner's own tree of views --------------------------------------- */

static size_t put_utf8(uint8_t *out, uint32_t cp);

static str_step decode_next(cbs *raw, uint32_t *cp)
{
    return raw->len == 0 ? STR_QUOTE : cba_json_string_next(raw, cp);
}

void cba_jdoc_cleanup(cba_jdoc *doc)
{
    if (doc == NULL) { return; }
    free(doc->nodes);
    free(doc->arena);
    memset(doc, 0, sizeof *doc);
}

/* unescape_into decodes the escaped string bodies into one arena (decoded UTF-8 is never longer
 * than its escaped text, so the input's length bounds the whole arena). */
static bool unescape_into(cba_jdoc *doc, size_t in_len)
{
    size_t used = 0, cap = in_len + 4; /* + 4: room for put_utf8's widest write */
    doc->arena = malloc(cap);
    if (doc->arena == NULL) { return false; }
    for (size_t i = 0; i < doc->num; i++) {
        cba_jnode *n = &doc->nodes[i];
        cbs raw = n->str;
        size_t start = used;
        uint32_t cp;
        str_step st;
        if (n->type != CBA_JT_STRING || !n->escaped) { continue; }
        for (;;) {
            /* The scan validated the text: everything but an escape is copied as it is, and
             * the one-character escapes are decoded in the same run; \\u escapes below. */
            used += cbs_json_unescape_run(&raw, doc->arena + used, cap - used);
            if (raw.len > 0 && cbs_byte(raw, 0) != '\\') { return false; } /* no room: cannot happen */
            if ((st = decode_next(&raw, &cp)) != STR_CP) { break; }
            if (cap - used < 4) { return false; } /* cannot happen: see above */
            used += put_utf8(doc->arena + used, cp);
        }
        if (st == STR_BAD) { return false; } /* cannot happen after the scan */
        n->str = cbs_make(doc->arena + start, used - start);
    }
    return true;
}

/* jdoc_build scans `in` into *out (zeroed first; left empty on failure) and decodes its escaped
 * strings. */
static scan_result jdoc_build(cbs in, int max_depth, size_t *out_offset, cba_jdoc *out)
{
    scan_result r;
    memset(out, 0, sizeof *out);
    r = cba_json_scan_doc(in, max_depth, out_offset, out);
    if (r == SCAN_OK && out->num == 0) { r = SCAN_SYNTAX; } /* cannot happen: one value read */
    if (r == SCAN_OK && out->any_escaped && !unescape_into(out, in.len)) { r = SCAN_NOMEM; }
    if (r != SCAN_OK) { cba_jdoc_cleanup(out); }
    return r;
}

cba_err cba_jdoc_parse(cba_error *err, cba_jdoc *out, cbs in, int max_depth, cba_err code,
                       const char *where)
{
    size_t off, nul;
    scan_result r;
    if (out != NULL) { memset(out, 0, sizeof *out); }
    CBA_ENSURE(out != NULL && max_depth >= 1 && max_depth <= JSON_DEPTH_LIMIT, err,
               CBA_E_ARGUMENT, where, "cba_jdoc_parse: bad arguments");
    /* The same refusals, in the same order and words, as cba_json_parse. */
    CBA_ENSURE(in.len > 0 && in.len < INT_MAX, err, code, where, "JSON text is empty or too large");
    nul = cbs_index_of(in, 0x00);
    CBA_ENSURE(nul == in.len, err, code, where, "NUL byte in JSON text at offset %zu", nul);
    r = jdoc_build(in, max_depth, &off, out);
    CBA_ENSURE(r != SCAN_NOMEM, err, CBA_E_NOMEM, where, "out of memory scanning JSON");
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", cba_json_scan_message(r), off);
    return CBA_OK;
}

const cba_jnode *cba_jdoc_root(const cba_jdoc *doc)
{
    return (doc != NULL && doc->num > 0) ? &doc->nodes[0] : NULL;
}

const cba_jnode *cba_jnode_at(const cba_jnode *arr, size_t i)
{
    const cba_jnode *n;
    if (arr == NULL || arr->type != CBA_JT_ARRAY || i >= arr->num) { return NULL; }
    n = arr + arr->first;
    while (i-- > 0) { n += n->next; }
    return n;
}

/* key_is compares a member's key (as written) with a C string, decoding escapes as json-c does. */
static bool key_is(const cba_jnode *m, const char *key)
{
    cbs raw = m->key;
    size_t i = 0;
    uint32_t cp;
    if (!m->key_escaped) { return cbs_eq_str(raw, key); }
    while (decode_next(&raw, &cp) == STR_CP) {
        uint8_t u[4];
        size_t n = put_utf8(u, cp);
        for (size_t k = 0; k < n; k++, i++) {
            if (key[i] == '\0' || (uint8_t)key[i] != u[k]) { return false; }
        }
    }
    return key[i] == '\0';
}

const cba_jnode *cba_jnode_member(const cba_jnode *obj, const char *key)
{
    const cba_jnode *n;
    size_t key_len;
    if (obj == NULL || key == NULL || obj->type != CBA_JT_OBJECT || obj->num == 0) { return NULL; }
    key_len = strlen(key); /* once per look-up; a key as written is compared by length first */
    n = obj + obj->first;
    for (size_t i = 0; i < obj->num; i++, n += n->next) {
        if (n->key_escaped ? key_is(n, key) : cbs_eq_mem(n->key, key, key_len)) { return n; }
    }
    return NULL;
}

bool cba_jnode_key_is(const cba_jnode *m, const char *key, size_t key_len)
{
    return m->key_escaped ? key_is(m, key) : cbs_eq_mem(m->key, key, key_len);
}

bool cba_jnode_string(const cba_jnode *n, cbs *out)
{
    if (n == NULL || n->type != CBA_JT_STRING) { return false; }
    *out = n->str;
    return true;
}

bool cba_jget_string(const cba_jnode *obj, const char *key, cbs *out)
{
    return cba_jnode_string(cba_jnode_member(obj, key), out);
}

bool cba_jget_hex(const cba_jnode *obj, const char *key, uint8_t *out, size_t out_len)
{
    cbs s;
    if (!cba_jget_string(obj, key, &s) || out_len > SIZE_MAX / 2 || s.len != 2 * out_len) {
        return false;
    }
    if (s.len == 0) { return true; }
    return cba_hex_decode(out, out_len, (const char *)s.data, s.len);
}

bool cba_jget_u64(const cba_jnode *obj, const char *key, uint64_t max, uint64_t *out)
{
    return cba_jnode_u64(cba_jnode_member(obj, key), max, out);
}

bool cba_jnode_u64(const cba_jnode *v, uint64_t max, uint64_t *out)
{
    cbs t;
    uint8_t b;
    bool negative;
    uint64_t u = 0;
    if (v == NULL || v->type != CBA_JT_NUMBER) { return false; }
    t = v->str;
    negative = cbs_byte(t, 0) == '-';
    if (negative && !cbs_skip(&t, 1)) { return false; }
    /* An integer is what json-c calls json_type_int: no fraction, no exponent (the scanner has
     * checked the grammar and the 64-bit range already). */
    while (cbs_get_u8(&t, &b)) {
        if (!is_digit(b)) { return false; }
        if (__builtin_mul_overflow(u, 10u, &u) || __builtin_add_overflow(u, (uint64_t)(b - '0'), &u)) {
            return false;
        }
    }
    if (negative && u != 0) { return false; } /* json-c reads "-0" as 0 */
    if (u > max) { return false; }
    *out = u;
    return true;
}

bool cba_jget_object(const cba_jnode *obj, const char *key, const cba_jnode **out)
{
    const cba_jnode *v = cba_jnode_member(obj, key);
    if (v == NULL || v->type != CBA_JT_OBJECT) { return false; }
    *out = v;
    return true;
}

bool cba_jget_array(const cba_jnode *obj, const char *key, const cba_jnode **out)
{
    const cba_jnode *v = cba_jnode_member(obj, key);
    if (v == NULL || v->type != CBA_JT_ARRAY) { return false; }
    *out = v;
    return true;
}

bool cba_jhas(const cba_jnode *obj, const char *key)
{
    return cba_jnode_member(obj, key) != NULL;
}

/* member returns the value under `key` of the object `obj`, or NULL. */
static json_object *member(const json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (obj == NULL || key == NULL || !json_object_is_type(obj, json_type_object)) { return NULL; }
    if (!json_object_object_get_ex(obj, key, &v)) { return NULL; }
    return v;
}

bool cba_json_string_view(const json_object *str, cbs *out)
{
    const char *s;
    int len;
    if (str == NULL || !json_object_is_type(str, json_type_string)) { return false; }
    len = json_object_get_string_len(str);
    /* json_object_get_string only reads, but its prototype is not const-qualified. */
    s = json_object_get_string((json_object *)str);
    if (len < 0 || s == NULL) { return false; }
    *out = cbs_make((const uint8_t *)s, (size_t)len);
    return true;
}

bool cba_json_get_string(const json_object *obj, const char *key, cbs *out)
{
    return cba_json_string_view(member(obj, key), out);
}

bool cba_json_get_hex(const json_object *obj, const char *key, uint8_t *out, size_t out_len)
{
    cbs s;
    if (!cba_json_get_string(obj, key, &s) || out_len > SIZE_MAX / 2 || s.len != 2 * out_len) {
        return false;
    }
    if (s.len == 0) { return true; }
    return cba_hex_decode(out, out_len, (const char *)s.data, s.len);
}

bool cba_json_get_u64(const json_object *obj, const char *key, uint64_t max, uint64_t *out)
{
    json_object *v = member(obj, key);
    uint64_t u;
    if (v == NULL || !json_object_is_type(v, json_type_int)) { return false; }
    /* json-c keeps ints as int64 or uint64: a negative int64 reads as 0 through get_uint64,
     * a uint64 above INT64_MAX reads as INT64_MAX through get_int64; check the sign first. */
    if (json_object_get_int64(v) < 0) { return false; }
    u = json_object_get_uint64(v);
    if (u > max) { return false; }
    *out = u;
    return true;
}

bool cba_json_get_object(const json_object *obj, const char *key, json_object **out)
{
    json_object *v = member(obj, key);
    if (v == NULL || !json_object_is_type(v, json_type_object)) { return false; }
    *out = v;
    return true;
}

bool cba_json_get_array(const json_object *obj, const char *key, json_object **out)
{
    json_object *v = member(obj, key);
    if (v == NULL || !json_object_is_type(v, json_type_array)) { return false; }
    *out = v;
    return true;
}

bool cba_json_has(const json_object *obj, const char *key)
{
    /* a member whose value is null exists too (json-c represents null as a NULL pointer) */
    if (obj == NULL || key == NULL || !json_object_is_type(obj, json_type_object)) { return false; }
    return json_object_object_get_ex(obj, key, NULL);
}

/* ---- time ------------------------------------------------------------------------------- */

bool cba_parse_iso8601_z(cbs s, int64_t *out)
{
    return cba_parse_rfc3339(s, CBA_RFC3339_Z_ONLY, out); /* base/rfc3339.c */
}

/* ---- flat objects of strings ---------------------------------------------------------------- */

/* put_utf8 appends code point cp (validated by cba_json_string_next) as UTF-8. */
static size_t put_utf8(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

void cba_json_flat_cleanup(cba_json_flat *flat)
{
    if (flat == NULL) { return; }
    free(flat->arena);
    memset(flat, 0, sizeof *flat);
}

cba_err cba_json_parse_flat(cba_error *err, cba_json_flat *out, cbs in, cba_err code,
                            const char *where)
{
    cba_jdoc doc;
    const cba_jnode *root, *m;
    size_t off;
    scan_result r;
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, where, "cba_json_parse_flat: bad arguments");
    memset(out, 0, sizeof *out);
    CBA_ENSURE(in.len > 0, err, code, where, "JSON text is empty");
    /* One pass: the strict scan (syntax, UTF-8, duplicate keys) also indexes the members and
     * finds the escaped strings, which are then decoded once into one arena. */
    r = jdoc_build(in, CBA_JSON_MAX_DEPTH, &off, &doc);
    CBA_ENSURE(r != SCAN_NOMEM, err, CBA_E_NOMEM, where, "out of memory scanning JSON");
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", cba_json_scan_message(r), off);
    root = cba_jdoc_root(&doc);
    out->arena = doc.arena; /* the decoded strings outlive the nodes */
    doc.arena = NULL;
    if (root->type != CBA_JT_OBJECT) {
        cba_jdoc_cleanup(&doc);
        cba_json_flat_cleanup(out);
        return cba_fail(err, code, where, "top level is not an object");
    }
    m = root->num > 0 ? root + root->first : NULL;
    for (size_t i = 0; i < root->num; i++, m += m->next) {
        if (out->num == CBA_JSON_FLAT_MAX) {
            cba_jdoc_cleanup(&doc);
            cba_json_flat_cleanup(out);
            return cba_fail(err, code, where, "object has more than %d members", CBA_JSON_FLAT_MAX);
        }
        if (m->type != CBA_JT_STRING) {
            char name[40], member_where[48];
            size_t n = m->key.len < sizeof name - 1 ? m->key.len : sizeof name - 1;
            for (size_t k = 0; k < n; k++) {
                uint8_t ch = cbs_byte(m->key, k);
                name[k] = (char)(ch >= 0x20 && ch < 0x7f ? ch : '?');
            }
            name[n] = '\0';
            snprintf(member_where, sizeof member_where, "%s.%s", where, name);
            cba_jdoc_cleanup(&doc);
            cba_json_flat_cleanup(out);
            return cba_fail(err, code, member_where, "member must be a string");
        }
        out->members[out->num].key = m->key;
        out->members[out->num].value = m->str;
        out->num++;
    }
    cba_jdoc_cleanup(&doc);
    return CBA_OK;
}

bool cba_json_flat_get(const cba_json_flat *flat, const char *key, cbs *out)
{
    for (size_t i = 0; i < flat->num; i++) {
        if (cbs_eq_str(flat->members[i].key, key)) {
            *out = flat->members[i].value;
            return true;
        }
    }
    return false;
}
