/* fuzz/json_strict.c. Target: cba_json_parse, cba_json_has_duplicate_keys, cba_parse_iso8601_z.
 * Seeds: fuzz/corpus/json_strict/.
 * Properties: parse succeeds exactly when the strict scanner accepts the text (our scanner is the
 * stricter of the two, so json-c must never refuse what it accepts, and we must never accept what
 * it refuses); a failure leaves *out alone; depth acceptance is monotonic; an accepted tree
 * serialises to text that parses again to the same serialisation; an accepted timestamp formats
 * back to the identical 20 bytes; cba_json_parse_flat accepts only what cba_json_parse accepts
 * and then gives each member the same bytes json-c does (a differential of the two unescapers);
 * cba_jdoc_parse accepts exactly what cba_json_parse accepts, with the same message when both
 * refuse, and its tree is json-c's: same types, array lengths, member lookups, string bytes and
 * integers (a differential of the two trees). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, yy;
    unsigned doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static void check_time(const uint8_t *data, size_t size)
{
    int64_t t, y, days, secs;
    unsigned m, d;
    char back[96];
    if (!cba_parse_iso8601_z(cbs_make(data, size), &t)) { return; }
    days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    secs = t - days * 86400;
    civil_from_days(days, &y, &m, &d);
    snprintf(back, sizeof back, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
             (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
    if (size != 20 || memcmp(back, data, 20) != 0) { abort(); }
}

/* check_flat: when the flat parser accepts, the tree is an object of those strings exactly. */
static void check_flat(cbs in, const json_object *obj)
{
    cba_json_flat flat;
    cba_error err;
    cba_error_clear(&err);
    if (cba_json_parse_flat(&err, &flat, in, CBA_E_JSON, "flat") != CBA_OK) { return; }
    if (!json_object_is_type(obj, json_type_object) ||
        (size_t)json_object_object_length(obj) != flat.num) {
        abort();
    }
    for (size_t i = 0; i < flat.num; i++) {
        cbs k = flat.members[i].key, v = flat.members[i].value;
        char key[256];
        json_object *jv;
        bool plain = k.len < sizeof key;
        for (size_t j = 0; plain && j < k.len; j++) { plain = cbs_byte(k, j) != '\\'; }
        if (!plain) { continue; } /* escaped keys are kept as written */
        memcpy(key, k.data, k.len);
        key[k.len] = '\0';
        if (!json_object_object_get_ex(obj, key, &jv) || !json_object_is_type(jv, json_type_string) ||
            (size_t)json_object_get_string_len(jv) != v.len ||
            (v.len && memcmp(json_object_get_string(jv), v.data, v.len) != 0)) {
            abort();
        }
    }
    cba_json_flat_cleanup(&flat);
}

/* same_tree: the jdoc node and the json-c value are the same JSON value. */
static bool same_tree(const cba_jnode *n, const json_object *o, int depth)
{
    if (depth > CBA_JSON_MAX_DEPTH + 1) { return false; }
    switch (json_object_get_type(o)) {
    case json_type_null: return n->type == CBA_JT_NULL;
    case json_type_boolean:
        return n->type == (json_object_get_boolean(o) ? CBA_JT_TRUE : CBA_JT_FALSE);
    case json_type_double: return n->type == CBA_JT_NUMBER;
    case json_type_int: return n->type == CBA_JT_NUMBER;
    case json_type_string: {
        cbs s;
        size_t len = (size_t)json_object_get_string_len(o);
        return cba_jnode_string(n, &s) && s.len == len &&
               (len == 0 || memcmp(s.data, json_object_get_string((json_object *)o), len) == 0);
    }
    case json_type_array: {
        size_t len = json_object_array_length(o);
        if (n->type != CBA_JT_ARRAY || n->num != len || cba_jnode_at(n, len) != NULL) { return false; }
        for (size_t i = 0; i < len; i++) {
            const json_object *e = json_object_array_get_idx(o, i);
            const cba_jnode *c = cba_jnode_at(n, i);
            if (c == NULL) { return false; }
            if (e == NULL ? c->type != CBA_JT_NULL : !same_tree(c, e, depth + 1)) { return false; }
        }
        return true;
    }
    case json_type_object: {
        size_t num = 0;
        if (n->type != CBA_JT_OBJECT) { return false; }
        json_object_object_foreach((json_object *)o, key, val) {
            const cba_jnode *c = cba_jnode_member(n, key);
            uint64_t u1 = 0, u2 = 0;
            bool g1, g2;
            num++;
            if (c == NULL) { return false; }
            if (val == NULL ? c->type != CBA_JT_NULL : !same_tree(c, val, depth + 1)) { return false; }
            g1 = val != NULL && json_object_is_type(val, json_type_int) &&
                 json_object_get_int64(val) >= 0;
            if (g1) { u1 = json_object_get_uint64(val); }
            g2 = cba_jget_u64(n, key, UINT64_MAX, &u2);
            if (g1 != g2 || u1 != u2) { return false; }
        }
        return num == n->num;
    }
    }
    return false;
}

/* check_jdoc: the one-pass tree agrees with cba_json_parse (rc_json, obj) on the same text. */
static void check_jdoc(cbs in, cba_err rc_json, const cba_error *err_json, const json_object *obj)
{
    cba_jdoc doc;
    cba_error err;
    cba_err rc;
    cba_error_clear(&err);
    rc = cba_jdoc_parse(&err, &doc, in, CBA_JSON_MAX_DEPTH, CBA_E_JSON, "fuzz");
    if (rc == CBA_E_NOMEM || rc_json == CBA_E_NOMEM) {
        cba_jdoc_cleanup(&doc);
        return;
    }
    if ((rc == CBA_OK) != (rc_json == CBA_OK)) { abort(); }
    if (rc != CBA_OK) {
        /* json-c's own refusals never happen after the scanner accepted (checked below) */
        if (doc.num != 0 || strcmp(err.detail, err_json->detail) != 0) { abort(); }
        return;
    }
    if (obj == NULL ? cba_jdoc_root(&doc)->type != CBA_JT_NULL
                    : !same_tree(cba_jdoc_root(&doc), obj, 0)) {
        abort();
    }
    cba_jdoc_cleanup(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cbs in = cbs_make(data, size);
    json_object *sentinel = (json_object *)&in, *obj = sentinel, *again = NULL;
    cba_error err;
    cba_err rc;
    bool nul = false, dup16, dup3;
    const char *text;

    check_time(data, size);
    for (size_t i = 0; i < size; i++) { nul |= data[i] == 0; }
    dup16 = cba_json_has_duplicate_keys(in, CBA_JSON_MAX_DEPTH);
    dup3 = cba_json_has_duplicate_keys(in, 3);
    if (!dup3 && dup16) { abort(); } /* fine at depth 3 means fine at depth 16 */

    cba_error_clear(&err);
    rc = cba_json_parse(&err, &obj, in, CBA_JSON_MAX_DEPTH, CBA_E_JSON, "fuzz");
    if (rc == CBA_E_NOMEM) { return 0; }
    check_jdoc(in, rc, &err, rc == CBA_OK ? obj : NULL);
    if (rc != CBA_OK) {
        if (obj != sentinel || err.code != rc || strcmp(err.where, "fuzz") != 0) { abort(); }
        if (!dup16 && !nul) { abort(); } /* json-c refused what the strict scanner accepted */
        return 0;
    }
    if (dup16 || nul) { abort(); }
    check_flat(in, obj);

    /* round trip: json-c's serialisation is itself strict JSON and parses to the same tree */
    text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    if (text == NULL) { abort(); }
    {
        size_t len = strlen(text);
        char *copy = malloc(len + 1);
        if (copy == NULL) { json_object_put(obj); return 0; }
        memcpy(copy, text, len + 1);
        cba_error_clear(&err);
        /* +1 depth: none needed, the serialisation nests exactly as deep as the input */
        rc = cba_json_parse(&err, &again, cbs_make((const uint8_t *)copy, len), CBA_JSON_MAX_DEPTH,
                            CBA_E_JSON, "again");
        if (rc == CBA_OK) {
            const char *text2 = json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN);
            if (text2 == NULL || strcmp(copy, text2) != 0) { abort(); }
            json_object_put(again);
        } else if (rc != CBA_E_NOMEM) {
            /* a key or string with an escaped NUL serialises fine, so nothing legitimate lands
             * here */
            abort();
        }
        free(copy);
    }
    json_object_put(obj);
    return 0;
}
