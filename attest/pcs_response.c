/* pcs_response.c — see pcs_response.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base.h" /* cba_hex_decode */
#include "json.h"
#include "pcs_response.h"

static const char *const k_pcs_messages[] = {
#define PCS_X_ROW(name, msg) [name] = msg,
    PCS_ERRORS(PCS_X_ROW)
#undef PCS_X_ROW
};
_Static_assert(sizeof k_pcs_messages / sizeof k_pcs_messages[0] == PCS_ERR_COUNT, "one message per code");

const char *pcs_err_message(pcs_err code)
{
    return (unsigned)code < PCS_ERR_COUNT ? k_pcs_messages[code] : "unknown PCS response error";
}

/* A minimal JSON scanner that only locates values; the text has already been validated by the
 * strict parser (cba_json_parse), so it needs to be string-aware but not to re-validate. */
static bool json_is_ws(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\r' || b == '\n';
}

static void scan_ws(cbs *c)
{
    while (c->len > 0 && json_is_ws(cbs_byte(*c, 0))) {
        if (!cbs_skip(c, 1)) { return; }
    }
}

static bool scan_expect(cbs *c, uint8_t want)
{
    uint8_t b;
    cbs save = *c;
    if (!cbs_get_u8(c, &b) || b != want) {
        *c = save;
        return false;
    }
    return true;
}

/* scan_string consumes a string (quotes included), honouring backslash escapes. */
static bool scan_string(cbs *c)
{
    uint8_t b;
    if (!scan_expect(c, '"')) { return false; }
    for (;;) {
        if (!cbs_get_u8(c, &b)) { return false; }
        if (b == '\\') {
            if (!cbs_get_u8(c, &b)) { return false; }
        } else if (b == '"') {
            return true;
        }
    }
}

/* scan_value consumes one value: a string, a balanced object/array (strings skipped), or a
 * scalar up to the next delimiter. */
static bool scan_value(cbs *c)
{
    uint8_t b;
    if (c->len == 0) { return false; }
    b = cbs_byte(*c, 0);
    if (b == '"') { return scan_string(c); }
    if (b == '{' || b == '[') {
        size_t depth = 0;
        do {
            if (c->len == 0) { return false; }
            b = cbs_byte(*c, 0);
            if (b == '"') {
                if (!scan_string(c)) { return false; }
                continue;
            }
            if (!cbs_skip(c, 1)) { return false; }
            if (b == '{' || b == '[') {
                depth++;
            } else if (b == '}' || b == ']') {
                depth--;
            }
        } while (depth > 0);
        return true;
    }
    while (c->len > 0) {
        b = cbs_byte(*c, 0);
        if (b == ',' || b == '}' || b == ']' || json_is_ws(b)) { break; }
        if (!cbs_skip(c, 1)) { return false; }
    }
    return true;
}

bool pcs_cut_member(cbs body, const char *key, cbs *out)
{
    cbs c = body;
    scan_ws(&c);
    if (!scan_expect(&c, '{')) { return false; }
    scan_ws(&c);
    if (scan_expect(&c, '}')) { return false; }
    for (;;) {
        cbs key_start = c, quoted, k, value_start, value;
        if (!scan_string(&c) || !cbs_get_bytes(&key_start, &quoted, key_start.len - c.len)) { return false; }
        /* quoted is "...": compare what is between the quotes */
        if (!cbs_skip(&quoted, 1) || !cbs_get_bytes(&quoted, &k, quoted.len - 1)) { return false; }
        scan_ws(&c);
        if (!scan_expect(&c, ':')) { return false; }
        scan_ws(&c);
        value_start = c;
        if (!scan_value(&c) || !cbs_get_bytes(&value_start, &value, value_start.len - c.len)) {
            return false;
        }
        if (cbs_eq_str(k, key)) {
            *out = value;
            return true;
        }
        scan_ws(&c);
        if (scan_expect(&c, ',')) {
            scan_ws(&c);
            continue;
        }
        return false; /* '}' reached without the key, or junk */
    }
}

pcs_err pcs_parse_signed_body(cbs body, const char *member, pcs_signed *out, char *detail, size_t detail_len)
{
    json_object *obj = NULL, *inner;
    cba_error e;
    cbs sig;
    uint8_t sig_bytes[64];
    pcs_err rc = PCS_OK;
    memset(out, 0, sizeof *out);
    if (detail_len > 0) { detail[0] = '\0'; }
    cba_error_clear(&e);
    if (cba_json_parse(&e, &obj, body, CBA_JSON_MAX_DEPTH, CBA_E_COLLATERAL_FORMAT, "response") != CBA_OK ||
        !json_object_is_type(obj, json_type_object)) {
        snprintf(detail, detail_len, "%s", e.code != CBA_OK ? e.detail : "not an object");
        rc = PCS_E_NOT_JSON_OBJECT;
    } else if (!cba_json_get_object(obj, member, &inner) || !cba_json_get_string(obj, "signature", &sig) ||
               !cba_hex_decode(sig_bytes, sizeof sig_bytes, (const char *)sig.data, sig.len)) {
        rc = PCS_E_SIGNED_MEMBERS;
    } else if (!pcs_cut_member(body, member, &out->text)) {
        rc = PCS_E_CUT;
    } else {
        memcpy(out->signature, sig.data, 128);
        out->signature[128] = '\0';
    }
    json_object_put(obj);
    return rc;
}

static bool hex_digit(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

pcs_err pcs_parse_crl_body(cbs body, cba_buf *out)
{
    cbs hex = body;
    out->data = NULL;
    out->len = 0;
    if (body.len > 0 && cbs_byte(body, 0) == 0x30) {
        out->data = malloc(body.len);
        if (out->data == NULL) { return PCS_E_NOMEM; }
        memcpy(out->data, body.data, body.len);
        out->len = body.len;
        return PCS_OK;
    }
    scan_ws(&hex);
    while (hex.len > 0 && json_is_ws(cbs_byte(hex, hex.len - 1))) { hex.len--; }
    if (hex.len == 0 || hex.len % 2 != 0) { return PCS_E_CRL_ENCODING; }
    for (size_t i = 0; i < hex.len; i++) {
        if (!hex_digit(cbs_byte(hex, i))) { return PCS_E_CRL_ENCODING; }
    }
    out->data = malloc(hex.len / 2);
    if (out->data == NULL) { return PCS_E_NOMEM; }
    if (!cba_hex_decode(out->data, hex.len / 2, (const char *)hex.data, hex.len)) {
        free(out->data);
        out->data = NULL;
        return PCS_E_CRL_ENCODING; /* not reached: every digit was checked */
    }
    out->len = hex.len / 2;
    return PCS_OK;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

/* percent_escape reads the two hex digits after a '%' into *out; false when they are missing,
 * not hex, or encode NUL. */
static bool percent_escape(cbs *c, uint8_t *out)
{
    uint8_t a, b;
    cbs save = *c;
    if (!cbs_get_u8(c, &a) || !cbs_get_u8(c, &b) || hexval(a) < 0 || hexval(b) < 0 ||
        (hexval(a) == 0 && hexval(b) == 0)) {
        *c = save;
        return false;
    }
    *out = (uint8_t)(hexval(a) << 4 | hexval(b));
    return true;
}

pcs_err pcs_decode_issuer_chain(cbs value, cba_buf *out, size_t *out_offset, uint8_t *out_char)
{
    cbs c = value;
    size_t j = 0;
    out->data = NULL;
    out->len = 0;
    if (value.len == 0) { return PCS_E_EMPTY; }
    out->data = malloc(value.len + 1);
    if (out->data == NULL) { return PCS_E_NOMEM; }
    while (c.len > 0) {
        size_t at = value.len - c.len;
        uint8_t ch;
        pcs_err rc = PCS_OK;
        if (!cbs_get_u8(&c, &ch)) { break; }
        if (ch == '%') {
            /* The escape must be complete within the value: "%4" at the end is refused. */
            if (c.len < 2 || !percent_escape(&c, &ch)) {
                *out_offset = at;
                rc = PCS_E_PERCENT;
            } else if (ch < 0x20 && ch != '\n' && ch != '\r') {
                rc = PCS_E_CONTROL;
            }
        } else if (ch <= 0x20 || ch >= 0x7f) {
            *out_char = ch;
            rc = PCS_E_RAW_CHAR;
        }
        if (rc != PCS_OK) {
            free(out->data);
            out->data = NULL;
            return rc;
        }
        out->data[j++] = ch;
    }
    out->data[j] = 0;
    out->len = j;
    return PCS_OK;
}
