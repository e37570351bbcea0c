/* json.c — strict JSON on json-c 0.16 (dcap-spec §9.2).
 *
 * json-c's STRICT mode is not strict enough to sign-then-parse collateral: measured on 0.16 it
 * accepts raw control characters in strings, NaN/Infinity, "1.", overlong and surrogate UTF-8
 * despite VALIDATE_UTF8, lone \ud800 escapes, silently clamps integers that overflow 64 bits, and
 * keeps the last of two duplicate keys. So every text first passes our own RFC 8259 scanner
 * (grammar, UTF-8, escapes, integer range, depth, duplicate keys after unescaping) and only then
 * goes to json-c for the tree. Both must agree that the text is one value plus whitespace. */
#include "json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this many members an object is refused: the duplicate check is quadratic per object
 * and nothing we parse (collateral, guest-agent replies) comes close. */
#define JSON_MAX_KEYS_PER_OBJECT 4096u
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

typedef struct key_entry {
    cbs body;      /* escaped text between the quotes */
    uint64_t hash; /* FNV-1a over the decoded code points */
    size_t num_cp; /* decoded length in code points */
} key_entry;

typedef struct scanner {
    cbs in; /* cursor */
    int max_depth;
    key_entry *keys; /* stack of the keys of every open object */
    size_t num_keys, cap_keys;
} scanner;

typedef enum str_step { STR_CP, STR_QUOTE, STR_BAD } str_step;

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r'; /* RFC 8259 §2: exactly these four */
}

static void skip_ws(cbs *c)
{
    while (c->len > 0 && is_ws(cbs_byte(*c, 0))) {
        if (!cbs_skip(c, 1)) { return; }
    }
}

static bool peek(cbs c, uint8_t *out)
{
    if (c.len == 0) { return false; }
    *out = cbs_byte(c, 0);
    return true;
}

/* accept consumes `ch` if it is next. */
static bool accept(cbs *c, uint8_t ch)
{
    uint8_t b;
    return peek(*c, &b) && b == ch && cbs_skip(c, 1);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

/* read_u4 reads the 4 hex digits of a \uXXXX escape. */
static bool read_u4(cbs *c, uint32_t *out)
{
    uint32_t v = 0;
    cbs digits;
    if (!cbs_get_bytes(c, &digits, 4)) { return false; }
    for (size_t i = 0; i < 4; i++) {
        int d = hex_digit(cbs_byte(digits, i));
        if (d < 0) { return false; }
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* utf8_next decodes one strictly valid UTF-8 sequence (RFC 3629 §4: no overlong forms, no
 * surrogates, nothing above U+10FFFF) whose lead byte `lead` (>= 0x80) was already consumed. */
static bool utf8_next(cbs *c, uint8_t lead, uint32_t *cp)
{
    size_t num_cont;
    uint8_t lo = 0x80, hi = 0xbf, b;
    uint32_t v;
    if (lead >= 0xc2 && lead <= 0xdf) {
        num_cont = 1;
        v = lead & 0x1fu;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        num_cont = 2;
        v = lead & 0x0fu;
        if (lead == 0xe0) { lo = 0xa0; }      /* overlong */
        if (lead == 0xed) { hi = 0x9f; }      /* UTF-16 surrogates */
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        num_cont = 3;
        v = lead & 0x07u;
        if (lead == 0xf0) { lo = 0x90; }      /* overlong */
        if (lead == 0xf4) { hi = 0x8f; }      /* above U+10FFFF */
    } else {
        return false; /* continuation byte, C0/C1 (overlong ASCII), F5..FF */
    }
    for (size_t i = 0; i < num_cont; i++) {
        if (!cbs_get_u8(c, &b)) { return false; }
        if (b < (i == 0 ? lo : 0x80) || b > (i == 0 ? hi : 0xbf)) { return false; }
        v = v << 6 | (b & 0x3fu);
    }
    *cp = v;
    return true;
}

/* string_next reads one code point of a string body (after the opening quote): a raw UTF-8
 * character, a simple escape, or a \u escape (a surrogate pair must be complete). STR_QUOTE
 * means the unescaped closing quote was consumed. */
static str_step string_next(cbs *c, uint32_t *cp)
{
    uint8_t b, e;
    uint32_t u, lo;
    if (!cbs_get_u8(c, &b)) { return STR_BAD; } /* unterminated */
    if (b == '"') { return STR_QUOTE; }
    if (b < 0x20) { return STR_BAD; }           /* RFC 8259 §7: control characters escaped */
    if (b >= 0x80) { return utf8_next(c, b, cp) ? STR_CP : STR_BAD; }
    if (b != '\\') {
        *cp = b;
        return STR_CP;
    }
    if (!cbs_get_u8(c, &e)) { return STR_BAD; }
    switch (e) {
    case '"': *cp = '"'; return STR_CP;
    case '\\': *cp = '\\'; return STR_CP;
    case '/': *cp = '/'; return STR_CP;
    case 'b': *cp = 0x08; return STR_CP;
    case 'f': *cp = 0x0c; return STR_CP;
    case 'n': *cp = 0x0a; return STR_CP;
    case 'r': *cp = 0x0d; return STR_CP;
    case 't': *cp = 0x09; return STR_CP;
    case 'u': break;
    default: return STR_BAD;
    }
    if (!read_u4(c, &u)) { return STR_BAD; }
    if (u >= 0xdc00 && u <= 0xdfff) { return STR_BAD; } /* lone low surrogate */
    if (u >= 0xd800 && u <= 0xdbff) {
        /* json-c turns a lone high surrogate into U+FFFD; refuse it instead of guessing. */
        if (!accept(c, '\\') || !accept(c, 'u') || !read_u4(c, &lo) || lo < 0xdc00 ||
            lo > 0xdfff) {
            return STR_BAD;
        }
        u = 0x10000u + ((u - 0xd800u) << 10) + (lo - 0xdc00u);
    }
    *cp = u;
    return STR_CP;
}

static uint64_t fnv1a_cp(uint64_t h, uint32_t cp)
{
    for (int i = 0; i < 4; i++) {
        h ^= (cp >> (8 * i)) & 0xffu;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* scan_string reads a string starting at its opening quote. For keys, *out_key gets the body
 * view, the decoded hash and length; a key containing U+0000 is refused because json-c stores
 * keys as C strings and would silently truncate (and so merge) them. */
static scan_result scan_string(scanner *s, key_entry *out_key)
{
    cbs start;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t num_cp = 0;
    bool has_nul = false;
    uint32_t cp = 0;
    if (!accept(&s->in, '"')) { return SCAN_SYNTAX; }
    start = s->in;
    for (;;) {
        str_step st;
        if (out_key == NULL) {
            /* Values need validation only, not the key hash: skip runs of plain printable
             * ASCII (the bulk of collateral: hex, PEM, base64) in one tight loop. */
            size_t run = 0;
            while (run < s->in.len) {
                uint8_t b = cbs_byte(s->in, run);
                if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') { break; }
                run++;
            }
            if (!cbs_skip(&s->in, run)) { return SCAN_SYNTAX; }
        }
        st = string_next(&s->in, &cp);
        if (st == STR_BAD) { return SCAN_SYNTAX; }
        if (st == STR_QUOTE) { break; }
        if (out_key != NULL) {
            h = fnv1a_cp(h, cp);
            num_cp++;
            has_nul |= cp == 0;
        }
    }
    if (out_key != NULL) {
        /* body = start minus what is left minus the closing quote */
        size_t body_len = start.len - s->in.len - 1;
        if (has_nul) { return SCAN_NUL_IN_KEY; }
        if (!cbs_get_bytes(&start, &out_key->body, body_len)) { return SCAN_SYNTAX; }
        out_key->hash = h;
        out_key->num_cp = num_cp;
    }
    return SCAN_OK;
}

/* keys_equal compares two validated key bodies after unescaping. */
static bool keys_equal(const key_entry *a, const key_entry *b)
{
    cbs x = a->body, y = b->body;
    if (a->hash != b->hash || a->num_cp != b->num_cp) { return false; }
    while (x.len > 0 && y.len > 0) {
        uint32_t cx = 0, cy = 0;
        if (string_next(&x, &cx) != STR_CP || string_next(&y, &cy) != STR_CP) {
            return true; /* cannot happen for scanned bodies; treat as "not distinct" */
        }
        if (cx != cy) { return false; }
    }
    return x.len == 0 && y.len == 0;
}

static scan_result push_key(scanner *s, const key_entry *k)
{
    if (s->num_keys == s->cap_keys) {
        size_t cap = s->cap_keys ? s->cap_keys * 2 : 32;
        key_entry *grown;
        /* bounded: at most max_depth (<= 64) open objects of at most 4096 keys each */
        if (cap > (size_t)JSON_DEPTH_LIMIT * JSON_MAX_KEYS_PER_OBJECT) { return SCAN_TOO_MANY_KEYS; }
        grown = realloc(s->keys, cap * sizeof *grown);
        if (grown == NULL) { return SCAN_NOMEM; }
        s->keys = grown;
        s->cap_keys = cap;
    }
    s->keys[s->num_keys++] = *k;
    return SCAN_OK;
}

/* int_in_range: an integer literal (digits without sign) must fit json-c's int64/uint64, which
 * otherwise clamps it silently to INT64_MIN / UINT64_MAX. */
static bool int_in_range(cbs digits, bool negative)
{
    const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
    size_t limit_len = strlen(limit);
    if (digits.len != limit_len) { return digits.len < limit_len; }
    for (size_t i = 0; i < limit_len; i++) {
        uint8_t d = cbs_byte(digits, i), l = (uint8_t)limit[i];
        if (d != l) { return d < l; }
    }
    return true;
}

static size_t count_digits(cbs c)
{
    size_t n = 0;
    while (n < c.len && is_digit(cbs_byte(c, n))) { n++; }
    return n;
}

static scan_result scan_number(scanner *s)
{
    bool negative = accept(&s->in, '-'), is_int = true;
    uint8_t b;
    cbs digits;
    size_t n;
    if (!peek(s->in, &b) || !is_digit(b)) { return SCAN_SYNTAX; }
    n = b == '0' ? 1 : count_digits(s->in); /* no leading zeros */
    if (!cbs_get_bytes(&s->in, &digits, n)) { return SCAN_SYNTAX; }
    if (accept(&s->in, '.')) {
        is_int = false;
        n = count_digits(s->in);
        if (n == 0 || !cbs_skip(&s->in, n)) { return SCAN_SYNTAX; }
    }
    if (accept(&s->in, 'e') || accept(&s->in, 'E')) {
        is_int = false;
        if (!accept(&s->in, '+')) { (void)accept(&s->in, '-'); }
        n = count_digits(s->in);
        if (n == 0 || !cbs_skip(&s->in, n)) { return SCAN_SYNTAX; }
    }
    if (is_int && !int_in_range(digits, negative)) { return SCAN_NUMBER_RANGE; }
    return SCAN_OK;
}

static scan_result scan_literal(scanner *s, const char *lit)
{
    size_t n = strlen(lit);
    cbs word;
    if (!cbs_get_bytes(&s->in, &word, n) || !cbs_eq_mem(word, lit, n)) { return SCAN_SYNTAX; }
    return SCAN_OK;
}

static scan_result scan_value(scanner *s, int depth);

static scan_result scan_object(scanner *s, int depth)
{
    size_t base = s->num_keys;
    scan_result r;
    if (depth > s->max_depth) { return SCAN_DEPTH; }
    if (!accept(&s->in, '{')) { return SCAN_SYNTAX; }
    skip_ws(&s->in);
    if (accept(&s->in, '}')) { return SCAN_OK; }
    for (;;) {
        key_entry k;
        skip_ws(&s->in);
        if ((r = scan_string(s, &k)) != SCAN_OK) { return r; }
        if (s->num_keys - base >= JSON_MAX_KEYS_PER_OBJECT) { return SCAN_TOO_MANY_KEYS; }
        for (size_t i = base; i < s->num_keys; i++) {
            if (keys_equal(&s->keys[i], &k)) { return SCAN_DUPLICATE; }
        }
        if ((r = push_key(s, &k)) != SCAN_OK) { return r; }
        skip_ws(&s->in);
        if (!accept(&s->in, ':')) { return SCAN_SYNTAX; }
        if ((r = scan_value(s, depth)) != SCAN_OK) { return r; }
        skip_ws(&s->in);
        if (accept(&s->in, '}')) { break; }
        if (!accept(&s->in, ',')) { return SCAN_SYNTAX; }
    }
    s->num_keys = base; /* this object's keys leave the stack with it */
    return SCAN_OK;
}

static scan_result scan_array(scanner *s, int depth)
{
    scan_result r;
    if (depth > s->max_depth) { return SCAN_DEPTH; }
    if (!accept(&s->in, '[')) { return SCAN_SYNTAX; }
    skip_ws(&s->in);
    if (accept(&s->in, ']')) { return SCAN_OK; }
    for (;;) {
        if ((r = scan_value(s, depth)) != SCAN_OK) { return r; }
        skip_ws(&s->in);
        if (accept(&s->in, ']')) { return SCAN_OK; }
        if (!accept(&s->in, ',')) { return SCAN_SYNTAX; }
    }
}

/* scan_value: `depth` is the number of containers around the value; recursion is bounded by
 * max_depth (<= JSON_DEPTH_LIMIT). */
static scan_result scan_value(scanner *s, int depth)
{
    uint8_t b;
    skip_ws(&s->in);
    if (!peek(s->in, &b)) { return SCAN_SYNTAX; }
    switch (b) {
    case '{': return scan_object(s, depth + 1);
    case '[': return scan_array(s, depth + 1);
    case '"': return scan_string(s, NULL);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default: break;
    }
    if (b == '-' || is_digit(b)) { return scan_number(s); }
    return SCAN_SYNTAX;
}

/* scan_text checks that `in` is exactly one strict JSON value plus whitespace. *out_offset is
 * where the scan stopped (for error messages). */
static scan_result scan_text(cbs in, int max_depth, size_t *out_offset)
{
    scanner s = { .in = in, .max_depth = max_depth };
    scan_result r;
    if (max_depth < 1 || max_depth > JSON_DEPTH_LIMIT) {
        *out_offset = 0;
        return SCAN_DEPTH;
    }
    r = scan_value(&s, 0);
    if (r == SCAN_OK) {
        skip_ws(&s.in);
        if (s.in.len != 0) { r = SCAN_SYNTAX; }
    }
    *out_offset = in.len - s.in.len;
    free(s.keys);
    return r;
}

bool cba_json_has_duplicate_keys(cbs in, int max_depth)
{
    size_t off;
    return scan_text(in, max_depth, &off) != SCAN_OK;
}

static const char *scan_message(scan_result r)
{
    switch (r) {
    case SCAN_OK: return "ok";
    case SCAN_SYNTAX: return "invalid JSON (strict RFC 8259 syntax or UTF-8)";
    case SCAN_DEPTH: return "JSON nesting too deep";
    case SCAN_DUPLICATE: return "duplicate key in a JSON object";
    case SCAN_TOO_MANY_KEYS: return "JSON object has too many members";
    case SCAN_NUMBER_RANGE: return "JSON integer out of 64-bit range";
    case SCAN_NUL_IN_KEY: return "JSON object key contains U+0000";
    case SCAN_NOMEM: return "out of memory";
    }
    return "invalid JSON";
}

cba_err cba_json_parse(cba_error *err, json_object **out, cbs in, int max_depth, cba_err code,
                       const char *where)
{
    json_tokener *tok;
    json_object *obj;
    enum json_tokener_error jerr;
    size_t off, end;
    scan_result r;
    CBA_ENSURE(out != NULL && max_depth >= 1 && max_depth <= JSON_DEPTH_LIMIT, err,
               CBA_E_ARGUMENT, where, "cba_json_parse: bad arguments");
    /* json-c takes an int length and, given a length, still stops at a NUL byte. */
    CBA_ENSURE(in.len > 0 && in.len < INT_MAX, err, code, where, "JSON text is empty or too large");
    for (size_t i = 0; i < in.len; i++) {
        CBA_ENSURE(cbs_byte(in, i) != 0, err, code, where, "NUL byte in JSON text at offset %zu", i);
    }
    r = scan_text(in, max_depth, &off);
    CBA_ENSURE(r != SCAN_NOMEM, err, CBA_E_NOMEM, where, "out of memory scanning JSON");
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", scan_message(r), off);

    /* json-c's depth counts the top-level value's frame: N containers need N + 1. */
    tok = json_tokener_new_ex(max_depth + 1);
    CBA_ENSURE(tok != NULL, err, CBA_E_NOMEM, where, "out of memory creating a JSON tokener");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, (const char *)in.data, (int)in.len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (obj == NULL && jerr == json_tokener_continue && end == in.len) {
        /* A top-level number or literal has no terminator of its own: json-c wants the final
         * NUL ("the length passed MUST include the final '\0'"). */
        static const char nul[1] = { 0 };
        obj = json_tokener_parse_ex(tok, nul, 1);
        jerr = json_tokener_get_error(tok);
        end = in.len;
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success) { /* success with obj == NULL is the text `null` */
        json_object_put(obj);
        return cba_fail(err, code, where, "json-c: %s", json_tokener_error_desc(jerr));
    }
    for (size_t i = end; i < in.len; i++) {
        if (!is_ws(cbs_byte(in, i))) {
            json_object_put(obj);
            return cba_fail(err, code, where, "data after the JSON value at offset %zu", i);
        }
    }
    *out = obj;
    return CBA_OK;
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

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm, http://howardhinnant.github.io/date_algorithms.html). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* read_dec reads exactly n decimal digits. */
static bool read_dec(cbs *c, size_t n, unsigned *out)
{
    unsigned v = 0;
    cbs digits;
    if (!cbs_get_bytes(c, &digits, n)) { return false; }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = cbs_byte(digits, i);
        if (!is_digit(b)) { return false; }
        v = v * 10 + (unsigned)(b - '0');
    }
    *out = v;
    return true;
}

bool cba_parse_iso8601_z(cbs s, int64_t *out)
{
    static const unsigned days_in_month[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned year, mon, day, hh, mm, ss, dim;
    if (s.len != 20) { return false; }
    if (!read_dec(&s, 4, &year) || !accept(&s, '-') || !read_dec(&s, 2, &mon) || !accept(&s, '-') ||
        !read_dec(&s, 2, &day) || !accept(&s, 'T') || !read_dec(&s, 2, &hh) || !accept(&s, ':') ||
        !read_dec(&s, 2, &mm) || !accept(&s, ':') || !read_dec(&s, 2, &ss) || !accept(&s, 'Z') ||
        s.len != 0) {
        return false;
    }
    if (mon < 1 || mon > 12 || hh > 23 || mm > 59 || ss > 59) { return false; } /* no leap second */
    dim = days_in_month[mon - 1] + (mon == 2 && is_leap(year) ? 1u : 0u);
    if (day < 1 || day > dim) { return false; }
    *out = days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss;
    return true;
}

/* ---- flat objects of strings ---------------------------------------------------------------- */

/* put_utf8 appends code point cp (validated by string_next) as UTF-8. */
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

/* flat_string reads a string of text the scanner already validated. *out_raw is its body as
 * written; *out_escaped whether it holds a backslash. */
static bool flat_string(cbs *c, cbs *out_raw, bool *out_escaped)
{
    size_t i = 0;
    bool esc = false;
    if (!accept(c, '"')) { return false; }
    while (i < c->len && cbs_byte(*c, i) != '"') {
        if (cbs_byte(*c, i) == '\\') {
            esc = true;
            i++; /* the escaped character, never the closing quote */
        }
        i++;
    }
    if (i >= c->len || !cbs_get_bytes(c, out_raw, i) || !accept(c, '"')) { return false; }
    *out_escaped = esc;
    return true;
}

/* unescape decodes a validated string body (escapes, UTF-8) into a new buffer. UTF-8 output is
 * never longer than the escaped input. */
static uint8_t *unescape(cbs raw, size_t *out_len)
{
    uint8_t *buf = malloc(raw.len ? raw.len : 1);
    size_t n = 0;
    uint32_t cp;
    if (buf == NULL) { return NULL; }
    for (;;) {
        str_step st = raw.len == 0 ? STR_QUOTE : string_next(&raw, &cp);
        if (st == STR_QUOTE) { break; }
        if (st == STR_BAD) { /* cannot happen after scan_text; fail closed */
            free(buf);
            return NULL;
        }
        n += put_utf8(buf + n, cp);
    }
    *out_len = n;
    return buf;
}

void cba_json_flat_cleanup(cba_json_flat *flat)
{
    if (flat == NULL) { return; }
    for (size_t i = 0; i < flat->num; i++) { free(flat->members[i].owned); }
    memset(flat, 0, sizeof *flat);
}

cba_err cba_json_parse_flat(cba_error *err, cba_json_flat *out, cbs in, cba_err code,
                            const char *where)
{
    cbs c = in;
    size_t off;
    scan_result r;
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, where, "cba_json_parse_flat: bad arguments");
    memset(out, 0, sizeof *out);
    CBA_ENSURE(in.len > 0, err, code, where, "JSON text is empty");
    /* Full strict validation first (syntax, UTF-8, duplicate keys); the walk below then only
     * has to follow the structure. */
    r = scan_text(in, CBA_JSON_MAX_DEPTH, &off);
    CBA_ENSURE(r != SCAN_NOMEM, err, CBA_E_NOMEM, where, "out of memory scanning JSON");
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", scan_message(r), off);
    skip_ws(&c);
    CBA_ENSURE(accept(&c, '{'), err, code, where, "top level is not an object");
    skip_ws(&c);
    if (accept(&c, '}')) { return CBA_OK; }
    for (;;) {
        cbs key, raw;
        bool key_esc, esc;
        uint8_t b = 0;
        if (out->num == CBA_JSON_FLAT_MAX) {
            cba_json_flat_cleanup(out);
            return cba_fail(err, code, where, "object has more than %d members", CBA_JSON_FLAT_MAX);
        }
        skip_ws(&c);
        if (!flat_string(&c, &key, &key_esc)) { goto bad; }
        skip_ws(&c);
        if (!accept(&c, ':')) { goto bad; }
        skip_ws(&c);
        if (!peek(c, &b) || b != '"') {
            char name[40], member_where[48];
            size_t n = key.len < sizeof name - 1 ? key.len : sizeof name - 1;
            for (size_t i = 0; i < n; i++) {
                uint8_t k = cbs_byte(key, i);
                name[i] = (char)(k >= 0x20 && k < 0x7f ? k : '?');
            }
            name[n] = '\0';
            snprintf(member_where, sizeof member_where, "%s.%s", where, name);
            cba_json_flat_cleanup(out);
            return cba_fail(err, code, member_where, "member must be a string");
        }
        if (!flat_string(&c, &raw, &esc)) { goto bad; }
        out->members[out->num].key = key;
        if (esc) {
            size_t len;
            uint8_t *dec = unescape(raw, &len);
            if (dec == NULL) {
                cba_json_flat_cleanup(out);
                return cba_fail(err, CBA_E_NOMEM, where, "out of memory unescaping a string");
            }
            out->members[out->num].owned = dec;
            out->members[out->num].value = cbs_make(dec, len);
        } else {
            out->members[out->num].value = raw;
        }
        out->num++;
        skip_ws(&c);
        if (accept(&c, '}')) { return CBA_OK; }
        if (!accept(&c, ',')) { goto bad; }
    }
bad:
    cba_json_flat_cleanup(out);
    return cba_fail(err, code, where, "invalid JSON object");
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
