/* quote_input.c — see quote_input.h. Every byte of the input is read through cbs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cbs.h"
#include "crabbox/verifier.h"
#include "json.h"
#include "quote_input.h"

void cli_quote_input_free(cli_quote_input *q)
{
    if (q == NULL) { return; }
    free(q->quote);
    q->quote = NULL;
    q->quote_len = 0;
}

size_t cli_quote_length(const uint8_t *in, size_t len)
{
    cbs c = cbs_make(in, len);
    uint16_t version, key_type, body_type;
    uint32_t tee_type, body_size, sig_len;
    size_t total;
    if (!cbs_get_u16le(&c, &version) || !cbs_get_u16le(&c, &key_type) || !cbs_get_u32le(&c, &tee_type) ||
        (version != 4 && version != 5) || key_type != 2 || tee_type != 0x81 || !cbs_skip(&c, 48 - 8)) {
        return 0;
    }
    if (version == 4) {
        body_size = 584;
    } else if (!cbs_get_u16le(&c, &body_type) || !cbs_get_u32le(&c, &body_size) || body_size > 4096) {
        return 0;
    }
    if (!cbs_skip(&c, body_size) || !cbs_get_u32le(&c, &sig_len) || !cbs_skip(&c, sig_len)) { return 0; }
    total = len - c.len;
    return total;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') { return c - 'A'; }
    if (c >= 'a' && c <= 'z') { return c - 'a' + 26; }
    if (c >= '0' && c <= '9') { return c - '0' + 52; }
    if (c == '+' || c == '-') { return 62; }
    if (c == '/' || c == '_') { return 63; }
    return -1;
}

typedef enum text_kind { TEXT_HEX, TEXT_BASE64, TEXT_NEITHER } text_kind;

/* classify looks at text without whitespace (and a leading 0x for hex). *bad_off is the offset
 * of the first character that is neither. */
static text_kind classify(cbs text, size_t *bad_off)
{
    cbs c = text;
    bool hex = true, b64 = true, seen_pad = false, first = true;
    size_t n = 0;
    uint8_t ch;
    *bad_off = 0;
    while (cbs_get_u8(&c, &ch)) {
        if (is_space(ch)) { continue; }
        if (first && ch == '0' && c.len > 0 && (cbs_byte(c, 0) == 'x' || cbs_byte(c, 0) == 'X')) {
            b64 = false; /* "0x" */
            if (!cbs_skip(&c, 1)) { return TEXT_NEITHER; }
            first = false;
            continue;
        }
        first = false;
        n++;
        if (hexval(ch) < 0) { hex = false; }
        if (ch == '=') {
            seen_pad = true;
        } else if (b64val(ch) < 0 || seen_pad) {
            b64 = false;
        }
        if (!hex && !b64) {
            *bad_off = text.len - c.len - 1;
            return TEXT_NEITHER;
        }
    }
    if (n == 0) { return TEXT_NEITHER; }
    if (hex && n % 2 == 0) { return TEXT_HEX; }
    if (b64) { return TEXT_BASE64; }
    *bad_off = text.len;
    return TEXT_NEITHER;
}

/* normalise_base64 rewrites lenient base64 text (kind TEXT_BASE64 from classify: whitespace
 * anywhere, URL-safe characters, padding optional or any number of '=', stray bits under the
 * end) as the strict standard form base's decoder takes: whitespace and '=' dropped, '-' '_'
 * mapped to '+' '/', the bits under the end cleared, '=' padding to a whole quad. out holds
 * text.len + 3 characters; false for a lone 6-bit group (not base64) or a foreign character. */
static bool normalise_base64(cbs text, char *out, size_t *out_len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    cbs c = text;
    size_t n = 0;
    uint8_t ch;
    int v;
    while (cbs_get_u8(&c, &ch) && ch != '=') { /* classify allows only '=' and spaces after '=' */
        if (is_space(ch)) { continue; }
        if ((v = b64val(ch)) < 0) { return false; }
        out[n++] = alphabet[v];
    }
    if (n % 4 == 1) { return false; } /* a lone 6-bit group is not base64 */
    if (n % 4 != 0) { /* the lenient form ignores the bits under the end: clear them */
        v = b64val((uint8_t)out[n - 1]) & (n % 4 == 2 ? 0x30 : 0x3c);
        out[n - 1] = alphabet[v];
    }
    while (n % 4 != 0) { out[n++] = '='; }
    *out_len = n;
    return true;
}

/* decode_text decodes hex or base64 text (kind from classify) into a new buffer; base64 goes
 * through normalise_base64 and base's strict decoder. */
static bool decode_text(cbs text, text_kind kind, uint8_t **out, size_t *out_len, bool *nomem)
{
    cbs c = text;
    uint8_t ch, *buf = malloc(text.len + 3); /* both decode to fewer bytes than characters */
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    bool first = true;
    *nomem = buf == NULL;
    if (buf == NULL) { return false; }
    if (kind == TEXT_BASE64) {
        char *norm = malloc(text.len + 3);
        size_t norm_len;
        bool ok = norm != NULL && normalise_base64(text, norm, &norm_len) &&
                  cba_base64_decode(buf, text.len + 3, &n, norm, norm_len);
        *nomem = norm == NULL;
        free(norm);
        if (!ok) {
            free(buf);
            return false;
        }
        *out = buf;
        *out_len = n;
        return true;
    }
    while (cbs_get_u8(&c, &ch)) {
        int v;
        if (is_space(ch)) { continue; }
        if (first && ch == '0' && c.len > 0 && (cbs_byte(c, 0) == 'x' || cbs_byte(c, 0) == 'X')) {
            if (!cbs_skip(&c, 1)) { break; }
            first = false;
            continue;
        }
        first = false;
        if ((v = hexval(ch)) < 0) {
            free(buf);
            return false;
        }
        acc = (acc << 4) | (uint32_t)v;
        bits += 4;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = buf;
    *out_len = n;
    return true;
}

static void set_quote(cli_quote_input *q, uint8_t *data, size_t len)
{
    q->quote = data;
    q->quote_len = len;
}

__attribute__((format(printf, 2, 3))) static void problem(cli_quote_input *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->problem, sizeof q->problem, fmt, ap);
    va_end(ap);
}

/* copy_bytes makes the quote a copy of `b`. */
static bool copy_bytes(cli_quote_input *q, cbs b)
{
    uint8_t *d = malloc(b.len ? b.len : 1);
    if (d == NULL) { return false; }
    if (b.len) { memcpy(d, b.data, b.len); }
    set_quote(q, d, b.len);
    return true;
}

/* from_certificate takes the quote out of an RA-TLS certificate (cba_ratls_cert_quote). */
static bool from_certificate(cli_quote_input *q, cbs der)
{
    cba_error e;
    const uint8_t *quote = NULL;
    size_t quote_len = 0;
    cba_err rc = cba_ratls_cert_quote(&quote, &quote_len, q->ratls_report_data, &e, der.data, der.len);
    if (rc == CBA_E_NOMEM) { return false; }
    if (rc != CBA_OK && strcmp(e.where, "ratls.extension") == 0) {
        problem(q, "the certificate has no dstack quote extension (1.3.6.1.4.1.62397.1.1): not an RA-TLS "
                   "certificate");
        return true;
    }
    if (rc != CBA_OK && strcmp(e.where, "ratls.quote") == 0) {
        problem(q, "the certificate's quote extension is not one non-empty OCTET STRING");
        return true;
    }
    if (rc != CBA_OK) {
        problem(q, "not a certificate this tool can read: %s", e.detail);
        return true;
    }
    q->from_cert = true;
    return copy_bytes(q, cbs_make(quote, quote_len));
}

/* find_embedded locates a TDX quote inside an envelope's bytes by its header and lengths. */
static bool find_embedded(cli_quote_input *q, const uint8_t *b, size_t len)
{
    cbs c = cbs_make(b, len);
    while (c.len >= 48) {
        size_t qlen = cli_quote_length(c.data, c.len);
        if (qlen != 0) {
            cbs quote;
            snprintf(q->format + strlen(q->format), sizeof q->format - strlen(q->format), ", quote at byte %zu",
                     len - c.len);
            if (!cbs_get_bytes(&c, &quote, qlen)) { break; }
            return copy_bytes(q, quote);
        }
        if (!cbs_skip(&c, 1)) { break; }
    }
    problem(q, "no TDX quote (version 4 or 5 header) inside the %zu decoded bytes", len);
    return true;
}

static bool from_json(cli_quote_input *q, cbs in)
{
    cba_error e;
    json_object *o = NULL;
    cbs s;
    bool ok = true, envelope = false;
    memset(&e, 0, sizeof e);
    if (cba_json_parse(&e, &o, in, CBA_JSON_MAX_DEPTH, CBA_E_QUOTE_FORMAT, "quote") != CBA_OK) {
        snprintf(q->format, sizeof q->format, "JSON that does not parse");
        problem(q, "%s", e.detail);
        return true;
    }
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(q->format, sizeof q->format, "JSON that is not an object");
        problem(q, "expected {\"quote\": \"<hex>\"} or {\"attestation\": \"<hex>\"}");
    } else if (cba_json_get_string(o, "quote", &s)) {
        snprintf(q->format, sizeof q->format, "JSON {\"quote\": ...}");
    } else if (cba_json_get_string(o, "attestation", &s)) {
        snprintf(q->format, sizeof q->format, "dstack attestation envelope");
        envelope = true;
    } else {
        snprintf(q->format, sizeof q->format, "JSON without a quote member");
        problem(q, "%s", cba_json_has(o, "tcb_info") || cba_json_has(o, "app_cert") || cba_json_has(o, "event_log")
                             ? "this looks like a guest agent response: pass it with --info"
                         : cba_json_has(o, "tcb_info_issuer_chain")
                             ? "this looks like DCAP collateral: pass it with --collateral"
                             : "expected a \"quote\" (hex or base64) or \"attestation\" (hex) string member");
    }
    if (q->problem[0] == '\0') {
        size_t bad;
        text_kind k = classify(s, &bad);
        uint8_t *d = NULL;
        size_t n = 0;
        bool nomem = false;
        if (k == TEXT_NEITHER || !decode_text(s, k, &d, &n, &nomem)) {
            ok = !nomem;
            problem(q, "the %s member is neither hex nor base64", envelope ? "attestation" : "quote");
        } else if (envelope) {
            ok = find_embedded(q, d, n);
            free(d);
        } else {
            set_quote(q, d, n);
        }
    }
    json_object_put(o);
    return ok;
}

static bool is_pem(cbs t)
{
    cbs head;
    return cbs_get_bytes(&t, &head, 10) && cbs_eq_mem(head, (const uint8_t *)"-----BEGIN", 10);
}

bool cli_quote_input_detect(cli_quote_input *q, const uint8_t *in, size_t len)
{
    cbs all = cbs_make(in, len), t = all;
    uint8_t first = 0;
    memset(q, 0, sizeof *q);
    if (len == 0) {
        snprintf(q->format, sizeof q->format, "empty file");
        problem(q, "the input is empty: no quote");
        return true;
    }
    if (len >= 2 && cbs_byte(all, 1) == 0 && cbs_byte(all, 0) <= 0x0f) {
        /* binary: a little-endian version; other versions go on to quote_parse, named */
        snprintf(q->format, sizeof q->format, "binary, version %u", (unsigned)cbs_byte(all, 0));
        return copy_bytes(q, all);
    }
    while (t.len > 0 && is_space(cbs_byte(t, 0))) {
        if (!cbs_skip(&t, 1)) { break; }
    }
    if (t.len == 0) {
        snprintf(q->format, sizeof q->format, "blank text");
        problem(q, "the input holds only white space: no quote");
        return true;
    }
    first = cbs_byte(t, 0);
    if (first == '{') { return from_json(q, all); }
    if (first == '-' && is_pem(t)) {
        cba_error e;
        size_t der_len = 0, num_certs = 0;
        uint8_t *buf = malloc(t.len + 1);
        bool ok;
        if (buf == NULL) { return false; }
        snprintf(q->format, sizeof q->format, "PEM certificate");
        if (cba_pem_first_cert(buf, t.len + 1, &der_len, &num_certs, &e, t.data, t.len) != CBA_OK) {
            if (e.code == CBA_E_NOMEM) {
                free(buf);
                return false;
            }
            problem(q, "not a PEM certificate this tool can read: %s", e.detail);
            free(buf);
            return true;
        }
        ok = from_certificate(q, cbs_make(buf, der_len));
        free(buf);
        return ok;
    }
    if (len >= 4 && cbs_byte(all, 0) == 0x30 && (cbs_byte(all, 1) == 0x82 || cbs_byte(all, 1) == 0x83)) {
        snprintf(q->format, sizeof q->format, "DER certificate");
        return from_certificate(q, all);
    }
    {
        size_t bad;
        text_kind k = classify(all, &bad);
        bool nomem = false;
        uint8_t *d = NULL;
        size_t n = 0;
        if (k == TEXT_NEITHER) {
            bool printable = true;
            for (size_t i = 0; i < len && i < 64 && printable; i++) {
                uint8_t ch = cbs_byte(all, i);
                printable = is_space(ch) || (ch >= 0x20 && ch < 0x7f);
            }
            if (!printable) {
                snprintf(q->format, sizeof q->format, "binary, version %u",
                         (unsigned)(cbs_byte(all, 0) | (len > 1 ? cbs_byte(all, 1) << 8 : 0)));
                return copy_bytes(q, all);
            }
            snprintf(q->format, sizeof q->format, "text");
            if (bad < len) {
                problem(q, "text that is neither hex nor base64 (character 0x%02x at offset %zu)",
                        (unsigned)cbs_byte(all, bad), bad);
            } else {
                problem(q, "text that is neither hex (odd number of digits) nor base64");
            }
            return true;
        }
        snprintf(q->format, sizeof q->format, "%s", k == TEXT_HEX ? "hex text" : "base64 text");
        if (!decode_text(all, k, &d, &n, &nomem)) {
            if (nomem) { return false; }
            problem(q, "%s that does not decode", q->format);
            return true;
        }
        if (n >= 2 && d[1] == 0) {
            snprintf(q->format + strlen(q->format), sizeof q->format - strlen(q->format), " (version %u)",
                     (unsigned)d[0]);
        }
        set_quote(q, d, n);
        return true;
    }
}
