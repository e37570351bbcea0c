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
 * every getter against json-c's answers). This file is the scanner and cba_json_parse; the trees
 * and their getters are json_tree.c's. */
#include "json.h"
#include "json_scan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this many members an object is refused: the duplicate check is quadratic per object
 * and nothing we parse (collateral, guest-agent replies) comes close. */
#define JSON_MAX_KEYS_PER_OBJECT 4096u

typedef struct key_entry {
    cbs body;        /* escaped text between the quotes */
    uint64_t hash;   /* key_hash over the decoded UTF-8 bytes */
    size_t num_bytes; /* decoded length in bytes */
    bool escaped;    /* the body has a backslash (else body == decoded bytes) */
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

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r'; /* RFC 8259 §2: exactly these four */
}

static void skip_ws(cbs *c)
{
    /* compact JSON: the next byte is usually a token (every whitespace byte is <= ' ') */
    if (c->len == 0 || cbs_byte(*c, 0) > ' ') { return; }
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

/* cba_json_string_next (json_scan.h) reads one code point of a string body. */
str_step cba_json_string_next(cbs *c, uint32_t *cp)
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
        /* json-c 0.16 (Debian 12) decodes every pair whose code point has bits 11-15 of a
         * surrogate (U+1D800-U+1DFFF, U+2D800-..., 32,768 of the 1,048,576 pairs) as U+FFFD; refuse
         * them so that the two parsers never read different text from the same bytes. */
        if ((u & 0xf800u) == 0xd800u) { return STR_BAD; }
    }
    *cp = u;
    return STR_CP;
}

/* key_hash: the duplicate check's pre-filter, a hash of a key's decoded UTF-8 bytes taken eight
 * at a time. Bytes are gathered into a little-endian word that is mixed in when full, so the
 * value depends on the decoded bytes only, never on where escapes split them: a key's plain runs
 * go in a word at a time when the gathered word is empty, escapes and UTF-8 a byte at a time. */
typedef struct key_hash {
    uint64_t h, word; /* mixed words; the word being gathered */
    unsigned num;     /* bytes in `word` */
    size_t len;       /* decoded bytes so far */
} key_hash;

static uint64_t kh_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ h >> 32;
}

static void kh_byte(key_hash *k, uint8_t b)
{
    k->word |= (uint64_t)b << (8u * k->num);
    k->len++;
    if (++k->num == 8) {
        k->h = kh_mix(k->h, k->word);
        k->word = 0;
        k->num = 0;
    }
}

/* kh_run adds the first n bytes of c (n <= c.len). A tail of fewer than eight bytes is read as
 * one word masked to its length when c has eight bytes there (a key is followed by at least its
 * closing quote and the rest of the document), which leaves the state byte-by-byte would. */
static void kh_run(key_hash *k, cbs c, size_t n)
{
    size_t i = 0;
    while (i < n && k->num != 0) { kh_byte(k, cbs_byte(c, i++)); }
    for (; n - i >= 8; i += 8) {
        k->h = kh_mix(k->h, cbs_u64le_at(c, i));
        k->len += 8;
    }
    if (i < n && c.len - i >= 8) {
        size_t tail = n - i; /* 1..7, and k->num == 0 here */
        k->word = cbs_u64le_at(c, i) & ((1ull << (8u * tail)) - 1u);
        k->num = (unsigned)tail;
        k->len += tail;
        return;
    }
    while (i < n) { kh_byte(k, cbs_byte(c, i++)); }
}

/* kh_cp adds a code point as UTF-8 (cp validated by cba_json_string_next). */
static void kh_cp(key_hash *k, uint32_t cp)
{
    if (cp < 0x80) {
        kh_byte(k, (uint8_t)cp);
    } else if (cp < 0x800) {
        kh_byte(k, (uint8_t)(0xc0 | cp >> 6));
        kh_byte(k, (uint8_t)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        kh_byte(k, (uint8_t)(0xe0 | cp >> 12));
        kh_byte(k, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        kh_byte(k, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        kh_byte(k, (uint8_t)(0xf0 | cp >> 18));
        kh_byte(k, (uint8_t)(0x80 | (cp >> 12 & 0x3f)));
        kh_byte(k, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        kh_byte(k, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

static uint64_t kh_final(const key_hash *k)
{
    return kh_mix(k->h, k->word ^ (uint64_t)k->num << 59);
}

/* scan_string reads a string starting at its opening quote. For keys, *out_key gets the body
 * view, the decoded hash and length; a key containing U+0000 is refused because json-c stores
 * keys as C strings and would silently truncate (and so merge) them. */
static scan_result scan_string(scanner *s, key_entry *out_key, bool *out_escaped)
{
    bool escaped = false;
    cbs start;
    key_hash kh = { 0, 0, 0, 0 };
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
             * \u escapes, UTF-8, quotes and bad bytes go to cba_json_string_next. */
            if (!cbs_skip(&s->in, cbs_json_escaped_run(s->in, &escaped))) { return SCAN_SYNTAX; }
        } else {
            /* A key's plain run: its bytes are its decoded bytes. */
            size_t run = cbs_json_plain_run(s->in);
            kh_run(&kh, s->in, run);
            if (!cbs_skip(&s->in, run)) { return SCAN_SYNTAX; }
        }
        /* the closing quote, the common end of a run, without a call */
        if (s->in.len > 0 && cbs_byte(s->in, 0) == '"') {
            if (!cbs_skip(&s->in, 1)) { return SCAN_SYNTAX; }
            break;
        }
        escaped |= s->in.len > 0 && cbs_byte(s->in, 0) == '\\';
        st = cba_json_string_next(&s->in, &cp);
        if (st == STR_BAD) { return SCAN_SYNTAX; }
        if (st == STR_QUOTE) { break; }
        if (out_key != NULL) {
            kh_cp(&kh, cp);
            has_nul |= cp == 0;
        }
    }
    if (out_key != NULL) {
        /* body = start minus what is left minus the closing quote */
        size_t body_len = start.len - s->in.len - 1;
        if (has_nul) { return SCAN_NUL_IN_KEY; }
        if (!cbs_get_bytes(&start, &out_key->body, body_len)) { return SCAN_SYNTAX; }
        out_key->hash = kh_final(&kh);
        out_key->num_bytes = kh.len;
        out_key->escaped = escaped;
    }
    if (out_escaped != NULL) { *out_escaped = escaped; }
    return SCAN_OK;
}

/* plain_string reads the common string: printable ASCII without escapes up to its closing
 * quote. On success it consumes the string and *out_body is its body; otherwise the cursor is
 * left alone and the caller runs scan_string, which reads (or refuses) it from the same place.
 * *out_rest is the input after the opening quote (kh_run's view). */
static bool plain_string(cbs *in, cbs *out_body, cbs *out_rest)
{
    cbs c = *in;
    size_t run;
    if (c.len < 2 || cbs_byte(c, 0) != '"' || !cbs_skip(&c, 1)) { return false; }
    *out_rest = c;
    run = cbs_json_plain_run(c);
    if (run >= c.len || cbs_byte(c, run) != '"') { return false; }
    if (!cbs_get_bytes(&c, out_body, run) || !cbs_skip(&c, 1)) { return false; }
    *in = c;
    return true;
}

/* scan_key reads an object key: plain_string, else scan_string. */
static scan_result scan_key(scanner *s, key_entry *out_key)
{
    cbs body, rest;
    if (plain_string(&s->in, &body, &rest)) {
        key_hash kh = { 0, 0, 0, 0 };
        if (body.len < 8 && rest.len >= 8) {
            /* most keys: one masked word, the state kh_run leaves for them */
            kh.word = cbs_u64le_at(rest, 0) & ((1ull << (8u * body.len)) - 1u);
            kh.num = (unsigned)body.len;
            kh.len = body.len;
        } else {
            kh_run(&kh, rest, body.len); /* the body's bytes are its decoded bytes */
        }
        out_key->body = body;
        out_key->hash = kh_final(&kh);
        out_key->num_bytes = body.len;
        out_key->escaped = false;
        return SCAN_OK;
    }
    return scan_string(s, out_key, NULL);
}

/* keys_equal compares two validated key bodies after unescaping. */
static bool keys_equal(const key_entry *a, const key_entry *b)
{
    cbs x = a->body, y = b->body;
    if (a->hash != b->hash || a->num_bytes != b->num_bytes) { return false; }
    if (!a->escaped && !b->escaped) { return cbs_eq(x, y); } /* bodies are the decoded bytes */
    while (x.len > 0 && y.len > 0) {
        uint32_t cx = 0, cy = 0;
        if (cba_json_string_next(&x, &cx) != STR_CP || cba_json_string_next(&y, &cy) != STR_CP) {
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
        skip_ws(&s->in);
        if ((r = scan_key(s, &k)) != SCAN_OK) { return r; }
        if (s->num_keys - base >= JSON_MAX_KEYS_PER_OBJECT) { return SCAN_TOO_MANY_KEYS; }
        for (size_t i = base; i < s->num_keys; i++) {
            if (keys_equal(&s->keys[i], &k)) { return SCAN_DUPLICATE; }
        }
        if ((r = push_key(s, &k)) != SCAN_OK) { return r; }
        skip_ws(&s->in);
        if (!accept(&s->in, ':')) { return SCAN_SYNTAX; }
        if (s->doc != NULL) {
            s->pending_key = k.body;
            s->pending_key_escaped = k.escaped;
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
        case '"': {
            cbs body, rest;
            return plain_string(&s->in, &body, &rest) ? SCAN_OK : scan_string(s, NULL, NULL);
        }
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
    case '"': {
        cbs rest;
        s->doc->nodes[idx].type = CBA_JT_STRING;
        if (plain_string(&s->in, &s->doc->nodes[idx].str, &rest)) { return SCAN_OK; }
        if ((r = scan_string(s, NULL, &escaped)) != SCAN_OK) { return r; }
        s->doc->nodes[idx].escaped = escaped;
        s->any_escaped |= escaped;
        /* the body: after the opening quote, before the closing one */
        if (!cbs_skip(&start, 1) ||
            !cbs_get_bytes(&start, &s->doc->nodes[idx].str, start.len - s->in.len - 1)) {
            return SCAN_SYNTAX;
        }
        return SCAN_OK;
    }
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

/* cba_json_scan_doc (json_scan.h): one strict JSON value plus whitespace, optionally indexed. */
scan_result cba_json_scan_doc(cbs in, int max_depth, size_t *out_offset, cba_jdoc *doc)
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
    return cba_json_scan_doc(in, max_depth, out_offset, NULL);
}

bool cba_json_has_duplicate_keys(cbs in, int max_depth)
{
    size_t off;
    return scan_text(in, max_depth, &off) != SCAN_OK;
}

const char *cba_json_scan_message(scan_result r)
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
    CBA_ENSURE(r == SCAN_OK, err, code, where, "%s at offset %zu", cba_json_scan_message(r), off);

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
