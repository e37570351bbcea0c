/* json.c — strict JSON on json-c 0.16 (dcap-spec §9.2).
 *
 * json-c's STRICT mode is not strict enough to sign-then-parse collateral: measured on 0.16 it
 * accepts raw control characters in strings, NaN/Infinity, "1.", overlong and surrogate UTF-8
 * despite VALIDATE_UTF8, lone \ud800 escapes, silently clamps integers that overflow 64 bits, and
 * keeps the last of two duplicate keys. So every text first passes our own RFC 8259 scanner
 * (grammar, UTF-8, escapes, integer range, depth, duplicate keys after unescaping) and only then
 * goes to json-c for the tree. Both must agree that the text is one value plus whitespace.
 * The signed collateral documents (the QuoteCollateralV3 envelope, TCB info, QE identity) skip
 * json-c: cba_jdoc_parse has the same scanner record a node per value as it validates, so the
 * text is read once and no tree is allocated member by member (tests/unit/test_json.c checks
 * every getter against json-c's answers). */
#include "json.h"
#include "rfc3339.h"

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
    /* With doc != NULL the scan also records every value as a node (cba_jdoc_parse): one pass
     * validates and indexes. pending_key is the key of the member scan_value reads next. */
    cba_jdoc *doc;
    cbs pending_key;
    bool pending_key_escaped;
    bool any_escaped;
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

/* is_short_escape: the characters after a backslash that make a whole escape (RFC 8259 §7). */
static bool is_short_escape(uint8_t e)
{
    return e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
           e == 't';
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

/* fnv1a_cp: FNV-1a with one step per code point (the key hash only pre-filters keys_equal). */
static uint64_t fnv1a_cp(uint64_t h, uint32_t cp)
{
    return (h ^ cp) * 0x100000001b3ull;
}

/* scan_string reads a string starting at its opening quote. For keys, *out_key gets the body
 * view, the decoded hash and length; a key containing U+0000 is refused because json-c stores
 * keys as C strings and would silently truncate (and so merge) them. */
static scan_result scan_string(scanner *s, key_entry *out_key, bool *out_escaped)
{
    bool escaped = false;
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
             * ASCII (the bulk of collateral: hex, PEM, base64) in one tight loop, and the
             * one-character escapes between them (PEM's \n, the signed documents' \") here too;
             * \u escapes, UTF-8, quotes and bad bytes go to string_next. */
            for (;;) {
                if (!cbs_skip(&s->in, cbs_json_plain_run(s->in))) { return SCAN_SYNTAX; }
                if (s->in.len < 2 || cbs_byte(s->in, 0) != '\\' || !is_short_escape(cbs_byte(s->in, 1))) {
                    break;
                }
                escaped = true;
                if (!cbs_skip(&s->in, 2)) { return SCAN_SYNTAX; }
            }
        } else {
            /* A key's plain run: each byte is its own code point. */
            size_t run = cbs_json_plain_run(s->in);
            for (size_t i = 0; i < run; i++) { h = fnv1a_cp(h, cbs_byte(s->in, i)); }
            num_cp += run;
            if (!cbs_skip(&s->in, run)) { return SCAN_SYNTAX; }
        }
        escaped |= s->in.len > 0 && cbs_byte(s->in, 0) == '\\';
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
    if (out_escaped != NULL) { *out_escaped = escaped; }
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

/* node_new appends a node for the value about to be read (doc mode); *out_idx is its index. */
static scan_result node_new(scanner *s, size_t *out_idx)
{
    cba_jdoc *d = s->doc;
    if (d->num == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        cba_jnode *grown;
        if (cap > UINT32_MAX || cap > SIZE_MAX / sizeof *grown) { return SCAN_TOO_MANY_KEYS; }
        grown = realloc(d->nodes, cap * sizeof *grown);
        if (grown == NULL) { return SCAN_NOMEM; }
        d->nodes = grown;
        d->cap = cap;
    }
    d->nodes[d->num] = (cba_jnode){ .key = s->pending_key, .key_escaped = s->pending_key_escaped };
    *out_idx = d->num++;
    s->pending_key = cbs_make(NULL, 0);
    s->pending_key_escaped = false;
    return SCAN_OK;
}

/* link_child records the node at index child as the next child of parent (doc mode). Children
 * and siblings always follow their parent and elder sibling, so the links are forward offsets. */
static void link_child(cba_jdoc *d, size_t parent, size_t *prev, size_t child)
{
    if (*prev == SIZE_MAX) {
        d->nodes[parent].first = (uint32_t)(child - parent);
    } else {
        d->nodes[*prev].next = (uint32_t)(child - *prev);
    }
    d->nodes[parent].num++;
    *prev = child;
}

static scan_result scan_value(scanner *s, int depth);

static scan_result scan_object(scanner *s, int depth, size_t self)
{
    size_t base = s->num_keys, prev = SIZE_MAX;
    scan_result r;
    if (depth > s->max_depth) { return SCAN_DEPTH; }
    if (!accept(&s->in, '{')) { return SCAN_SYNTAX; }
    skip_ws(&s->in);
    if (accept(&s->in, '}')) { return SCAN_OK; }
    for (;;) {
        key_entry k;
        bool key_escaped = false;
        skip_ws(&s->in);
        if ((r = scan_string(s, &k, &key_escaped)) != SCAN_OK) { return r; }
        if (s->num_keys - base >= JSON_MAX_KEYS_PER_OBJECT) { return SCAN_TOO_MANY_KEYS; }
        for (size_t i = base; i < s->num_keys; i++) {
            if (keys_equal(&s->keys[i], &k)) { return SCAN_DUPLICATE; }
        }
        if ((r = push_key(s, &k)) != SCAN_OK) { return r; }
        skip_ws(&s->in);
        if (!accept(&s->in, ':')) { return SCAN_SYNTAX; }
        if (s->doc != NULL) {
            s->pending_key = k.body;
            s->pending_key_escaped = key_escaped;
            link_child(s->doc, self, &prev, s->doc->num);
        }
        if ((r = scan_value(s, depth)) != SCAN_OK) { return r; }
        skip_ws(&s->in);
        if (accept(&s->in, '}')) { break; }
        if (!accept(&s->in, ',')) { return SCAN_SYNTAX; }
    }
    s->num_keys = base; /* this object's keys leave the stack with it */
    return SCAN_OK;
}

static scan_result scan_array(scanner *s, int depth, size_t self)
{
    size_t prev = SIZE_MAX;
    scan_result r;
    if (depth > s->max_depth) { return SCAN_DEPTH; }
    if (!accept(&s->in, '[')) { return SCAN_SYNTAX; }
    skip_ws(&s->in);
    if (accept(&s->in, ']')) { return SCAN_OK; }
    for (;;) {
        if (s->doc != NULL) { link_child(s->doc, self, &prev, s->doc->num); }
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
    size_t idx = 0;
    scan_result r;
    cbs start;
    bool escaped = false;
    skip_ws(&s->in);
    if (!peek(s->in, &b)) { return SCAN_SYNTAX; }
    if (s->doc == NULL) {
        switch (b) {
        case '{': return scan_object(s, depth + 1, 0);
        case '[': return scan_array(s, depth + 1, 0);
        case '"': return scan_string(s, NULL, NULL);
        case 't': return scan_literal(s, "true");
        case 'f': return scan_literal(s, "false");
        case 'n': return scan_literal(s, "null");
        default: break;
        }
        if (b == '-' || is_digit(b)) { return scan_number(s); }
        return SCAN_SYNTAX;
    }
    if ((r = node_new(s, &idx)) != SCAN_OK) { return r; }
    start = s->in;
    switch (b) {
    case '{': s->doc->nodes[idx].type = CBA_JT_OBJECT; return scan_object(s, depth + 1, idx);
    case '[': s->doc->nodes[idx].type = CBA_JT_ARRAY; return scan_array(s, depth + 1, idx);
    case '"':
        if ((r = scan_string(s, NULL, &escaped)) != SCAN_OK) { return r; }
        s->doc->nodes[idx].type = CBA_JT_STRING;
        s->doc->nodes[idx].escaped = escaped;
        s->any_escaped |= escaped;
        /* the body: after the opening quote, before the closing one */
        if (!cbs_skip(&start, 1) ||
            !cbs_get_bytes(&start, &s->doc->nodes[idx].str, start.len - s->in.len - 1)) {
            return SCAN_SYNTAX;
        }
        return SCAN_OK;
    case 't': s->doc->nodes[idx].type = CBA_JT_TRUE; return scan_literal(s, "true");
    case 'f': s->doc->nodes[idx].type = CBA_JT_FALSE; return scan_literal(s, "false");
    case 'n': s->doc->nodes[idx].type = CBA_JT_NULL; return scan_literal(s, "null");
    default: break;
    }
    if (b != '-' && !is_digit(b)) { return SCAN_SYNTAX; }
    if ((r = scan_number(s)) != SCAN_OK) { return r; }
    s->doc->nodes[idx].type = CBA_JT_NUMBER;
    if (!cbs_get_bytes(&start, &s->doc->nodes[idx].str, start.len - s->in.len)) { return SCAN_SYNTAX; }
    return SCAN_OK;
}

/* scan_text checks that `in` is exactly one strict JSON value plus whitespace. *out_offset is
 * where the scan stopped (for error messages). */
static scan_result scan_text_doc(cbs in, int max_depth, size_t *out_offset, cba_jdoc *doc)
{
    scanner s = { .in = in, .max_depth = max_depth, .doc = doc };
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
    if (doc != NULL) { doc->any_escaped = s.any_escaped; }
    free(s.keys);
    return r;
}

static scan_result scan_text(cbs in, int max_depth, size_t *out_offset)
{
    return scan_text_doc(in, max_depth, out_offset, NULL);
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
    size_t off, end, nul_at;
    scan_result r;
    CBA_ENSURE(out != NULL && max_depth >= 1 && max_depth <= JSON_DEPTH_LIMIT, err,
               CBA_E_ARGUMENT, where, "cba_json_parse: bad arguments");
    /* json-c takes an int length and, given a length, still stops at a NUL byte. */
    CBA_ENSURE(in.len > 0 && in.len < INT_MAX, err, code, where, "JSON text is empty or too large");
    nul_at = cbs_index_of(in, 0x00);
    CBA_ENSURE(nul_at == in.len, err, code, where, "NUL byte in JSON text at offset %zu", nul_at);
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

/* ---- cba_jdoc: the strict scanner's own tree of views --------------------------------------- */

static size_t put_utf8(uint8_t *out, uint32_t cp);

static str_step decode_next(cbs *raw, uint32_t *cp)
{
    return raw->len == 0 ? STR_QUOTE : string_next(raw, cp);
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
            /* The scan validated the text: everything but an escape is copied as it is. */
            size_t run = cbs_index_of(raw, '\\');
            cbs plain;
            if (run > cap - used || !cbs_get_bytes(&raw, &plain, run)) { return false; }
            if (run > 0) { memcpy(doc->arena + used, plain.data, run); }
            used += run;
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
    r = scan_text_doc(in, max_depth, out_offset, out);
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
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", scan_message(r), off);
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
    if (obj == NULL || key == NULL || obj->type != CBA_JT_OBJECT || obj->num == 0) { return NULL; }
    n = obj + obj->first;
    for (size_t i = 0; i < obj->num; i++, n += n->next) {
        if (key_is(n, key)) { return n; }
    }
    return NULL;
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
    const cba_jnode *v = cba_jnode_member(obj, key);
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
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", scan_message(r), off);
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
