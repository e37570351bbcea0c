/* collateral.c — dcap-qvl QuoteCollateralV3 JSON, TDX TCB info v3 and TD_QE identity v2
 * (dcap-spec §3.1–§3.3). Parsing only; see collateral.h for what is checked elsewhere. */
#include "collateral.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- small helpers ------------------------------------------------------------------------ */

/* wipe_free clears and frees a heap buffer (NULL-safe). explicit_bzero is not optimised away. */
static void wipe_free(void *p, size_t len)
{
    if (p != NULL) {
        explicit_bzero(p, len);
        free(p);
    }
}

/* where_fmt formats a `where` path into buf (cap >= 1), truncated as vsnprintf would; paths are
 * built from our own literals and indices only, never from input text. Most paths are formatted
 * on the success path too (one per TCB level), so the two conversions they use, %s and %zu, are
 * done here; any other conversion goes to vsnprintf. */
/* put_run appends len bytes of s to buf (n used of cap >= 1), cut to leave room for the NUL. */
static void put_run(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    size_t room = cap - 1 - *n; /* *n <= cap - 1 always */
    if (len > room) { len = room; }
    memcpy(buf + *n, s, len);
    *n += len;
}

__attribute__((format(printf, 3, 4))) static const char *where_fmt(char *buf, size_t cap,
                                                                   const char *fmt, ...)
{
    va_list ap, again;
    size_t n = 0;
    const char *at = fmt; /* the walk; fmt itself stays whole for vsnprintf */
    va_start(ap, fmt);
    va_copy(again, ap);
    for (;;) {
        /* the literal text up to the next conversion, copied as one run */
        const char *pct = strchr(at, '%');
        size_t lit = pct != NULL ? (size_t)(pct - at) : strlen(at);
        put_run(buf, cap, &n, at, lit);
        if (pct == NULL) { break; }
        if (pct[1] == 's') {
            const char *arg = va_arg(ap, const char *);
            put_run(buf, cap, &n, arg, strlen(arg));
            at = pct + 2;
        } else if (pct[1] == 'z' && pct[2] == 'u') {
            char digits[24];
            size_t v = va_arg(ap, size_t), k = sizeof digits;
            do {
                digits[--k] = (char)('0' + v % 10);
                v /= 10;
            } while (v != 0);
            put_run(buf, cap, &n, digits + k, sizeof digits - k);
            at = pct + 3;
        } else {
            vsnprintf(buf, cap, fmt, again);
            va_end(again);
            va_end(ap);
            return buf;
        }
    }
    buf[n] = '\0';
    va_end(again);
    va_end(ap);
    return buf;
}

/* sanitize_key copies at most 32 characters of an untrusted JSON key for an error detail,
 * replacing anything but printable ASCII by '?', so the detail never carries raw bytes. */
static void sanitize_key(char out[40], const char *key)
{
    cbs c = cbs_make((const uint8_t *)key, key ? strlen(key) : 0);
    size_t n = 0;
    uint8_t ch;
    while (n < 32 && cbs_get_u8(&c, &ch)) {
        out[n++] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? (char)ch : '?';
    }
    if (c.len != 0) {
        out[n++] = '.';
        out[n++] = '.';
        out[n++] = '.';
    }
    out[n] = '\0';
}

/* A parse context: the error sink, the code every failure of this document carries, and the
 * current `where` path ("tcb_info.tcbLevels[3]"). */
typedef struct jctx {
    cba_error *err;
    cba_err code;
    const char *where;
} jctx;

static cba_err j_fail_missing_or_type(const jctx *j, const cba_jnode *o, const char *key,
                                      const char *want)
{
    if (!cba_jhas(o, key)) {
        return cba_fail(j->err, j->code, j->where, "member \"%s\" is missing", key);
    }
    return cba_fail(j->err, j->code, j->where, "member \"%s\" must be %s", key, want);
}

CBA_MUST_USE static cba_err j_string(const jctx *j, const cba_jnode *o, const char *key, cbs *out)
{
    if (cba_jget_string(o, key, out)) { return CBA_OK; }
    return j_fail_missing_or_type(j, o, key, "a string");
}

CBA_MUST_USE static cba_err j_object(const jctx *j, const cba_jnode *o, const char *key,
                                     const cba_jnode **out)
{
    if (cba_jget_object(o, key, out)) { return CBA_OK; }
    return j_fail_missing_or_type(j, o, key, "an object");
}

/* j_array fetches a required array with 1..max elements; *out_num is its length. */
CBA_MUST_USE static cba_err j_array(const jctx *j, const cba_jnode *o, const char *key,
                                    size_t max, const cba_jnode **out, size_t *out_num)
{
    size_t n;
    if (!cba_jget_array(o, key, out)) { return j_fail_missing_or_type(j, o, key, "an array"); }
    n = (*out)->num;
    CBA_ENSURE(n >= 1, j->err, j->code, j->where, "array \"%s\" is empty", key);
    CBA_ENSURE(n <= max, j->err, j->code, j->where, "array \"%s\" has %zu elements (at most %zu)",
               key, n, max);
    *out_num = n;
    return CBA_OK;
}

/* j_uint reads a JSON integer (never a double, bool or string) in 0..max. */
CBA_MUST_USE static cba_err j_uint(const jctx *j, const cba_jnode *o, const char *key,
                                   uint64_t max, uint64_t *out)
{
    if (cba_jget_u64(o, key, max, out)) { return CBA_OK; }
    if (!cba_jhas(o, key)) {
        return cba_fail(j->err, j->code, j->where, "member \"%s\" is missing", key);
    }
    return cba_fail(j->err, j->code, j->where, "member \"%s\" must be an integer in 0..%llu", key,
                    (unsigned long long)max);
}

/* j_hex reads exactly out_len bytes written as 2*out_len hex digits (either case). */
CBA_MUST_USE static cba_err j_hex(const jctx *j, const cba_jnode *o, const char *key,
                                  uint8_t *out, size_t out_len)
{
    if (cba_jget_hex(o, key, out, out_len)) { return CBA_OK; }
    if (!cba_jhas(o, key)) {
        return cba_fail(j->err, j->code, j->where, "member \"%s\" is missing", key);
    }
    return cba_fail(j->err, j->code, j->where, "member \"%s\" must be exactly %zu hex digits", key,
                    out_len * 2);
}

/* j_date reads a strict "YYYY-MM-DDThh:mm:ssZ" date. */
CBA_MUST_USE static cba_err j_date(const jctx *j, const cba_jnode *o, const char *key,
                                   int64_t *out)
{
    cbs s;
    CBA_TRY(j_string(j, o, key, &s));
    CBA_ENSURE(cba_parse_iso8601_z(s, out), j->err, j->code, j->where,
               "member \"%s\" is not a date of the form YYYY-MM-DDThh:mm:ssZ", key);
    return CBA_OK;
}

/* j_status reads tcbStatus. Platform levels accept the seven TCB info statuses (dcap-spec §3.2);
 * module and QE levels (module_or_qe) only UpToDate, OutOfDate and Revoked. The TDRelaunch*
 * statuses are verdicts, never collateral values. */
CBA_MUST_USE static cba_err j_status(const jctx *j, const cba_jnode *o, bool module_or_qe,
                                     cba_tcb_status *out)
{
    cbs s;
    cba_tcb_status st = CBA_TCB_UNKNOWN;
    bool ok;
    CBA_TRY(j_string(j, o, "tcbStatus", &s));
    ok = s.len > 0 && cba_tcb_status_parse((const char *)s.data, s.len, &st);
    if (ok && module_or_qe) {
        ok = st == CBA_TCB_UP_TO_DATE || st == CBA_TCB_OUT_OF_DATE || st == CBA_TCB_REVOKED;
    } else if (ok) {
        ok = st >= CBA_TCB_UP_TO_DATE && st <= CBA_TCB_REVOKED;
    }
    CBA_ENSURE(ok, j->err, j->code, j->where, "tcbStatus is not one of the %s statuses",
               module_or_qe ? "UpToDate/OutOfDate/Revoked" : "seven TCB info");
    *out = st;
    return CBA_OK;
}

/* j_advisories reads the optional advisoryIDs array: strings of 1..CBA_ADVISORY_ID_MAX-1
 * printable ASCII characters without spaces, at most CBA_ADVISORIES_PER_LEVEL of them. */
CBA_MUST_USE static cba_err j_advisories(const jctx *j, const cba_jnode *o, cba_advisories *out)
{
    const cba_jnode *arr;
    size_t n;
    memset(out, 0, sizeof *out);
    if (!cba_jhas(o, "advisoryIDs")) { return CBA_OK; }
    if (!cba_jget_array(o, "advisoryIDs", &arr)) {
        return cba_fail(j->err, j->code, j->where, "member \"advisoryIDs\" must be an array");
    }
    n = arr->num;
    CBA_ENSURE(n <= CBA_ADVISORIES_PER_LEVEL, j->err, j->code, j->where,
               "advisoryIDs has %zu entries (at most %d)", n, CBA_ADVISORIES_PER_LEVEL);
    for (size_t i = 0; i < n; i++) {
        const cba_jnode *e = cba_jnode_at(arr, i);
        cbs s, c;
        uint8_t ch;
        bool printable = true;
        CBA_ENSURE(cba_jnode_string(e, &s),
                   j->err, j->code, j->where, "advisoryIDs[%zu] is not a string", i);
        CBA_ENSURE(s.len >= 1 && s.len < CBA_ADVISORY_ID_MAX, j->err, j->code, j->where,
                   "advisoryIDs[%zu] has length %zu (1..%d)", i, s.len, CBA_ADVISORY_ID_MAX - 1);
        c = s;
        while (cbs_get_u8(&c, &ch)) { printable &= ch > 0x20 && ch < 0x7f; }
        CBA_ENSURE(printable, j->err, j->code, j->where,
                   "advisoryIDs[%zu] has a character outside printable ASCII", i);
        c = s;
        if (!cbs_copy_bytes(&c, (uint8_t *)out->ids[out->num], s.len)) {
            return cba_fail(j->err, CBA_E_INTERNAL, j->where, "advisory copy");
        }
        out->ids[out->num][s.len] = '\0';
        out->num++;
    }
    return CBA_OK;
}

/* array_obj returns element i of arr when it is an object, else NULL. */
static const cba_jnode *array_obj(const cba_jnode *arr, size_t i)
{
    const cba_jnode *e = cba_jnode_at(arr, i);
    return (e != NULL && e->type == CBA_JT_OBJECT) ? e : NULL;
}

static uint64_t load_le64(const uint8_t b[8])
{
    cbs c = cbs_make(b, 8);
    uint64_t v = 0;
    if (!cbs_get_u64le(&c, &v)) { return 0; } /* cannot fail: 8 bytes */
    return v;
}

static uint32_t load_le32(const uint8_t b[4])
{
    cbs c = cbs_make(b, 4);
    uint32_t v = 0;
    if (!cbs_get_u32le(&c, &v)) { return 0; } /* cannot fail: 4 bytes */
    return v;
}

/* ---- QuoteCollateralV3 -------------------------------------------------------------------- */

static const char *const k_collateral_keys[] = {
    "pck_crl_issuer_chain", "root_ca_crl",      "pck_crl",
    "tcb_info_issuer_chain", "tcb_info",        "tcb_info_signature",
    "qe_identity_issuer_chain", "qe_identity",  "qe_identity_signature",
    "pck_certificate_chain",
};

static bool is_collateral_key(const char *key)
{
    for (size_t i = 0; i < CBA_ARRAY_LEN(k_collateral_keys); i++) {
        if (strcmp(key, k_collateral_keys[i]) == 0) { return true; }
    }
    return false;
}

/* member_string fetches a required (or optional) string member within the size cap. *present
 * tells an absent optional member apart. */
CBA_MUST_USE static cba_err member_string(cba_error *err, const cba_json_flat *root, const char *key,
                                          bool required, cbs *out, bool *present)
{
    char w[48];
    where_fmt(w, sizeof w, "collateral.%s", key);
    *present = false;
    if (!cba_json_flat_get(root, key, out)) {
        CBA_ENSURE(!required, err, CBA_E_COLLATERAL_FORMAT, w, "required member is missing");
        return CBA_OK;
    }
    CBA_ENSURE(out->len >= 1, err, CBA_E_COLLATERAL_FORMAT, w, "member is empty");
    CBA_ENSURE(out->len <= CBA_COLLATERAL_MEMBER_MAX, err, CBA_E_COLLATERAL_FORMAT, w,
               "member is %zu bytes (at most %u)", out->len, CBA_COLLATERAL_MEMBER_MAX);
    *present = true;
    return CBA_OK;
}

/* copy_text keeps the exact bytes of a text member (the signed bytes, or PEM for x509.c). */
CBA_MUST_USE static cba_err copy_text(cba_error *err, const cba_json_flat *root, const char *key,
                                      bool required, uint8_t **out, size_t *out_len)
{
    cbs s, c;
    bool present;
    char w[48];
    CBA_TRY(member_string(err, root, key, required, &s, &present));
    if (!present) { return CBA_OK; }
    *out = malloc(s.len);
    CBA_ENSURE(*out != NULL, err, CBA_E_NOMEM, where_fmt(w, sizeof w, "collateral.%s", key),
               "out of memory");
    c = s;
    if (!cbs_copy_bytes(&c, *out, s.len)) {
        return cba_fail(err, CBA_E_INTERNAL, "collateral", "copy");
    }
    *out_len = s.len;
    return CBA_OK;
}

/* get_line_end consumes "\n" or "\r\n". */
static bool get_line_end(cbs *c)
{
    cbs save = *c;
    uint8_t ch;
    if (!cbs_get_u8(c, &ch)) { return false; }
    if (ch == '\n') { return true; }
    if (ch == '\r' && cbs_get_u8(c, &ch) && ch == '\n') { return true; }
    *c = save;
    return false;
}

static bool get_literal(cbs *c, const char *lit)
{
    cbs save = *c, got;
    if (cbs_get_bytes(c, &got, strlen(lit)) && cbs_eq_str(got, lit)) { return true; }
    *c = save;
    return false;
}

/* pem_crl_decode decodes one "X509 CRL" PEM block strictly: BEGIN line, base64 lines of 1..76
 * characters (canonical padding, no stray bits), END line, then at most one line break or NUL.
 * *out is a new heap buffer of *out_len bytes. Returns false on any deviation or no memory
 * (*out_nomem tells which). */
static bool pem_crl_decode(cbs text, uint8_t **out, size_t *out_len, bool *out_nomem)
{
    static const char k_begin[] = "-----BEGIN X509 CRL-----";
    static const char k_end[] = "-----END X509 CRL-----";
    cbs c = text, tail;
    uint8_t *b64, *der = NULL;
    size_t num_b64 = 0, num_pad = 0, n = 0;
    bool ok = false;
    uint8_t ch;

    *out_nomem = false;
    if (!get_literal(&c, k_begin) || !get_line_end(&c)) { return false; }
    b64 = malloc(text.len);
    if (b64 == NULL) {
        *out_nomem = true;
        return false;
    }
    /* Collect the base64 lines. '=' may only appear at the very end, so after the first '='
     * the next thing must be a line end followed by the END line. */
    for (;;) {
        size_t line = 0;
        if (get_literal(&c, k_end)) { break; }
        while (c.len > 0 && cbs_byte(c, 0) != '\n' && cbs_byte(c, 0) != '\r') {
            if (!cbs_get_u8(&c, &ch)) { goto out; }
            if (ch == '=') {
                num_pad++;
            } else if (num_pad > 0) { /* the alphabet is base's decoder's to check */
                goto out;
            }
            b64[num_b64++] = ch;
            line++;
        }
        if (line == 0 || line > 76 || !get_line_end(&c)) { goto out; }
        if (num_pad > 0 && !get_literal(&c, k_end)) { goto out; }
        if (num_pad > 0) { break; }
    }
    /* After END: nothing, one line break, or one NUL (C-string collateral). */
    tail = c;
    if (!get_line_end(&tail)) {
        if (cbs_get_u8(&tail, &ch) && ch != '\0') { goto out; }
    }
    if (tail.len != 0 || num_b64 == 0 || num_b64 % 4 != 0 || num_pad > 2) { goto out; }
    der = malloc(num_b64 / 4 * 3);
    if (der == NULL) {
        *out_nomem = true;
        goto out;
    }
    /* base's strict decoder: the '=' run, checked above to end the text, is its padding. */
    if (!cba_base64_decode(der, num_b64 / 4 * 3, &n, (const char *)b64, num_b64)) { goto out; }
    *out = der;
    *out_len = n;
    der = NULL;
    ok = true;
out:
    free(der);
    free(b64);
    return ok;
}

/* decode_crl decodes a CRL member given as hex of DER (the real format) or PEM text. */
CBA_MUST_USE static cba_err decode_crl(cba_error *err, const cba_json_flat *root, const char *key,
                                       uint8_t **out, size_t *out_len)
{
    cbs s, c;
    bool present, nomem;
    char w[48];
    where_fmt(w, sizeof w, "collateral.%s", key);
    CBA_TRY(member_string(err, root, key, true, &s, &present));
    c = s;
    if (get_literal(&c, "-----BEGIN")) {
        if (pem_crl_decode(s, out, out_len, &nomem)) { return CBA_OK; }
        CBA_ENSURE(!nomem, err, CBA_E_NOMEM, w, "out of memory");
        return cba_fail(err, CBA_E_COLLATERAL_FORMAT, w, "malformed PEM X509 CRL");
    }
    CBA_ENSURE(s.len % 2 == 0, err, CBA_E_COLLATERAL_FORMAT, w, "hex has an odd length");
    *out = malloc(s.len / 2);
    CBA_ENSURE(*out != NULL, err, CBA_E_NOMEM, w, "out of memory");
    *out_len = s.len / 2;
    CBA_ENSURE(cba_hex_decode(*out, s.len / 2, (const char *)s.data, s.len), err,
               CBA_E_COLLATERAL_FORMAT, w, "not hex of a DER CRL");
    return CBA_OK;
}

CBA_MUST_USE static cba_err decode_sig(cba_error *err, const cba_json_flat *root, const char *key,
                                       uint8_t out[64])
{
    cbs s;
    bool present;
    char w[48];
    CBA_TRY(member_string(err, root, key, true, &s, &present));
    CBA_ENSURE(cba_hex_decode(out, 64, (const char *)s.data, s.len), err, CBA_E_COLLATERAL_FORMAT,
               where_fmt(w, sizeof w, "collateral.%s", key),
               "must be exactly 128 hex digits (r||s), got %zu characters", s.len);
    return CBA_OK;
}

void cba_collateral_raw_cleanup(cba_collateral_raw *raw)
{
    if (raw == NULL) { return; }
    wipe_free(raw->pck_crl_issuer_chain, raw->pck_crl_issuer_chain_len);
    wipe_free(raw->root_ca_crl, raw->root_ca_crl_len);
    wipe_free(raw->pck_crl, raw->pck_crl_len);
    wipe_free(raw->tcb_info_issuer_chain, raw->tcb_info_issuer_chain_len);
    wipe_free(raw->tcb_info, raw->tcb_info_len);
    wipe_free(raw->qe_identity_issuer_chain, raw->qe_identity_issuer_chain_len);
    wipe_free(raw->qe_identity, raw->qe_identity_len);
    wipe_free(raw->pck_certificate_chain, raw->pck_certificate_chain_len);
    explicit_bzero(raw, sizeof *raw);
}

cba_err cba_collateral_raw_parse(cba_error *err, cba_collateral_raw *out, cbs json)
{
    cba_json_flat flat;
    const cba_json_flat *root = &flat;
    cba_err rc;

    memset(out, 0, sizeof *out);
    CBA_ENSURE(json.len <= CBA_COLLATERAL_MAX_LEN, err, CBA_E_COLLATERAL_FORMAT, "collateral",
               "collateral is %zu bytes (at most %u)", json.len, CBA_COLLATERAL_MAX_LEN);
    /* The envelope is a flat object of strings: parsed strictly without a json-c tree. */
    rc = cba_json_parse_flat(err, &flat, json, CBA_E_COLLATERAL_FORMAT, "collateral");
    if (rc != CBA_OK) { return rc; }
    for (size_t i = 0; i < flat.num; i++) {
        char key[64], name[40];
        cbs k = flat.members[i].key;
        size_t n = k.len < sizeof key - 1 ? k.len : sizeof key - 1;
        memcpy(key, k.data, n); /* a key as written: validated text, no NUL */
        key[n] = '\0';
        if (n == k.len && is_collateral_key(key)) { continue; }
        sanitize_key(name, key);
        rc = cba_fail(err, CBA_E_COLLATERAL_FORMAT, "collateral", "unknown member \"%s\"", name);
        goto out;
    }
    if ((rc = copy_text(err, root, "pck_crl_issuer_chain", true, &out->pck_crl_issuer_chain,
                        &out->pck_crl_issuer_chain_len)) != CBA_OK ||
        (rc = decode_crl(err, root, "root_ca_crl", &out->root_ca_crl, &out->root_ca_crl_len)) !=
            CBA_OK ||
        (rc = decode_crl(err, root, "pck_crl", &out->pck_crl, &out->pck_crl_len)) != CBA_OK ||
        (rc = copy_text(err, root, "tcb_info_issuer_chain", true, &out->tcb_info_issuer_chain,
                        &out->tcb_info_issuer_chain_len)) != CBA_OK ||
        (rc = copy_text(err, root, "tcb_info", true, &out->tcb_info, &out->tcb_info_len)) !=
            CBA_OK ||
        (rc = decode_sig(err, root, "tcb_info_signature", out->tcb_info_signature)) != CBA_OK ||
        (rc = copy_text(err, root, "qe_identity_issuer_chain", true,
                        &out->qe_identity_issuer_chain, &out->qe_identity_issuer_chain_len)) !=
            CBA_OK ||
        (rc = copy_text(err, root, "qe_identity", true, &out->qe_identity,
                        &out->qe_identity_len)) != CBA_OK ||
        (rc = decode_sig(err, root, "qe_identity_signature", out->qe_identity_signature)) !=
            CBA_OK ||
        (rc = copy_text(err, root, "pck_certificate_chain", false, &out->pck_certificate_chain,
                        &out->pck_certificate_chain_len)) != CBA_OK) {
        goto out;
    }
    rc = CBA_OK;
out:
    cba_json_flat_cleanup(&flat);
    if (rc != CBA_OK) { cba_collateral_raw_cleanup(out); }
    return rc;
}

/* ---- TCB info ----------------------------------------------------------------------------- */

/* intel_level_cmp is Intel's TcbLevel ordering: the 16 SGX component SVNs lexicographically,
 * then PCESVN, then the 16 TDX component SVNs. */
static int intel_level_cmp(const cba_tcb_level *a, const cba_tcb_level *b)
{
    int d = memcmp(a->sgx_svn, b->sgx_svn, CBA_TCB_COMPONENTS);
    if (d != 0) { return d < 0 ? -1 : 1; }
    if (a->pcesvn != b->pcesvn) { return a->pcesvn < b->pcesvn ? -1 : 1; }
    d = memcmp(a->tdx_svn, b->tdx_svn, CBA_TCB_COMPONENTS);
    return d == 0 ? 0 : (d < 0 ? -1 : 1);
}

static int level_cmp_desc(const void *a, const void *b)
{
    return intel_level_cmp(b, a);
}

/* parse_components reads exactly 16 {"svn": 0..255} objects of tcb.<key>. */
CBA_MUST_USE static cba_err parse_components(const jctx *j, const cba_jnode *tcb,
                                             const char *key, uint8_t out[CBA_TCB_COMPONENTS])
{
    const cba_jnode *arr, *comp = NULL;
    size_t n;
    if (!cba_jget_array(tcb, key, &arr)) {
        return j_fail_missing_or_type(j, tcb, key, "an array");
    }
    n = arr->num;
    CBA_ENSURE(n == CBA_TCB_COMPONENTS, j->err, j->code, j->where,
               "%s has %zu components (exactly %d required)", key, n, CBA_TCB_COMPONENTS);
    for (size_t i = 0; i < n; i++) {
        uint64_t svn;
        char field[48];
        const cba_jnode *m, *svn_node = NULL, *category = NULL, *type = NULL;
        cbs ignored;
        /* walk the siblings instead of indexing from the start each time */
        comp = i == 0 ? cba_jnode_at(arr, 0) : comp + comp->next;
        CBA_ENSURE(comp->type == CBA_JT_OBJECT, j->err, j->code, j->where,
                   "%s[%zu] is not an object", key, i);
        /* one walk over the members finds all three (keys are unique: the scanner refused
         * duplicates), then the checks run in their usual order */
        m = comp->num > 0 ? comp + comp->first : NULL;
        for (size_t k = 0; k < comp->num; k++, m += m->next) {
            if (svn_node == NULL && cba_jnode_key_is(m, "svn", 3)) {
                svn_node = m;
            } else if (category == NULL && cba_jnode_key_is(m, "category", 8)) {
                category = m;
            } else if (type == NULL && cba_jnode_key_is(m, "type", 4)) {
                type = m;
            }
        }
        CBA_ENSURE(cba_jnode_u64(svn_node, 255, &svn), j->err, j->code, j->where,
                   "%s must be %s", where_fmt(field, sizeof field, "%s[%zu].svn", key, i),
                   svn_node != NULL ? "an integer in 0..255" : "present");
        CBA_ENSURE(category == NULL || cba_jnode_string(category, &ignored), j->err, j->code,
                   j->where, "member \"%s\" must be %s", "category", "a string");
        CBA_ENSURE(type == NULL || cba_jnode_string(type, &ignored), j->err, j->code, j->where,
                   "member \"%s\" must be %s", "type", "a string");
        out[i] = (uint8_t)svn;
    }
    return CBA_OK;
}

CBA_MUST_USE static cba_err parse_tcb_level(cba_error *err, cba_tcb_level *out,
                                            const cba_jnode *lvl, size_t idx)
{
    char w[48];
    jctx j = { err, CBA_E_TCB_INFO_FORMAT, where_fmt(w, sizeof w, "tcb_info.tcbLevels[%zu]", idx) };
    const cba_jnode *tcb;
    uint64_t pcesvn;
    CBA_ENSURE(lvl != NULL, err, j.code, j.where, "level is not an object");
    CBA_TRY(j_object(&j, lvl, "tcb", &tcb));
    CBA_TRY(parse_components(&j, tcb, "sgxtcbcomponents", out->sgx_svn));
    CBA_TRY(j_uint(&j, tcb, "pcesvn", UINT16_MAX, &pcesvn));
    out->pcesvn = (uint16_t)pcesvn;
    CBA_TRY(parse_components(&j, tcb, "tdxtcbcomponents", out->tdx_svn));
    CBA_TRY(j_date(&j, lvl, "tcbDate", &out->tcb_date));
    CBA_TRY(j_status(&j, lvl, false, &out->status));
    return j_advisories(&j, lvl, &out->advisories);
}

/* parse_module_levels reads a module identity's tcbLevels; isvsvn values must be distinct so that
 * "the level with the largest isvsvn <= T[0]" is unambiguous. */
CBA_MUST_USE static cba_err parse_module_levels(cba_error *err, cba_module_identity *mod,
                                                const cba_jnode *entry, size_t mod_idx)
{
    char w[48];
    jctx j = { err, CBA_E_TCB_INFO_FORMAT,
               where_fmt(w, sizeof w, "tcb_info.tdxModuleIdentities[%zu]", mod_idx) };
    const cba_jnode *arr;
    size_t n;
    CBA_TRY(j_array(&j, entry, "tcbLevels", CBA_MODULE_MAX_LEVELS, &arr, &n));
    mod->levels = calloc(n, sizeof *mod->levels);
    CBA_ENSURE(mod->levels != NULL, err, CBA_E_NOMEM, j.where, "out of memory");
    mod->num_levels = n;
    for (size_t i = 0; i < n; i++) {
        char lw[48];
        jctx lj = { err, j.code,
                    where_fmt(lw, sizeof lw, "tcb_info.tdxModuleIdentities[%zu].tcbLevels[%zu]",
                              mod_idx, i) };
        const cba_jnode *lvl = array_obj(arr, i);
        cba_module_level *ml = &mod->levels[i];
        const cba_jnode *tcb;
        uint64_t isvsvn;
        CBA_ENSURE(lvl != NULL, err, lj.code, lj.where, "level is not an object");
        CBA_TRY(j_object(&lj, lvl, "tcb", &tcb));
        CBA_TRY(j_uint(&lj, tcb, "isvsvn", UINT8_MAX, &isvsvn));
        ml->isvsvn = (uint8_t)isvsvn;
        CBA_TRY(j_date(&lj, lvl, "tcbDate", &ml->tcb_date));
        CBA_TRY(j_status(&lj, lvl, true, &ml->status));
        CBA_TRY(j_advisories(&lj, lvl, &ml->advisories));
        for (size_t k = 0; k < i; k++) {
            CBA_ENSURE(mod->levels[k].isvsvn != ml->isvsvn, err, lj.code, lj.where,
                       "duplicate isvsvn %u (also in tcbLevels[%zu])", ml->isvsvn, k);
        }
    }
    return CBA_OK;
}

/* parse_module_id reads "TDX_xx": the prefix and the two hex digits are case-insensitive
 * (INTEL upper-cases, QVL-RS compares ignoring case). */
static bool parse_module_id(cbs id, uint8_t *out)
{
    static const char k_prefix[] = "TDX_";
    uint8_t ch, v = 0;
    if (id.len != 6) { return false; }
    for (size_t i = 0; i < 4; i++) {
        if (!cbs_get_u8(&id, &ch)) { return false; }
        if (ch >= 'a' && ch <= 'z') { ch = (uint8_t)(ch - 'a' + 'A'); }
        if (ch != (uint8_t)k_prefix[i]) { return false; }
    }
    for (size_t i = 0; i < 2; i++) {
        int d;
        if (!cbs_get_u8(&id, &ch)) { return false; }
        d = (ch >= '0' && ch <= '9')   ? ch - '0'
            : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
            : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                       : -1;
        if (d < 0) { return false; }
        v = (uint8_t)(v << 4 | d);
    }
    *out = v;
    return true;
}

/* parse_module_fields reads mrsigner (48 B), attributes and attributesMask (8 B each, read as
 * little-endian u64 like SEAMATTRIBUTES in the quote). */
CBA_MUST_USE static cba_err parse_module_fields(const jctx *j, const cba_jnode *o,
                                                uint8_t mrsigner[48], uint64_t *attributes,
                                                uint64_t *mask)
{
    uint8_t a[8], m[8];
    CBA_TRY(j_hex(j, o, "mrsigner", mrsigner, 48));
    CBA_TRY(j_hex(j, o, "attributes", a, sizeof a));
    CBA_TRY(j_hex(j, o, "attributesMask", m, sizeof m));
    *attributes = load_le64(a);
    *mask = load_le64(m);
    return CBA_OK;
}

CBA_MUST_USE static cba_err parse_modules(cba_error *err, cba_tcb_info *out,
                                          const cba_jnode *root)
{
    jctx j = { err, CBA_E_TCB_INFO_FORMAT, "tcb_info" };
    const cba_jnode *arr;
    size_t n;
    if (!cba_jhas(root, "tdxModuleIdentities")) { return CBA_OK; } /* optional (§3.2) */
    CBA_TRY(j_array(&j, root, "tdxModuleIdentities", CBA_TCB_MAX_MODULES, &arr, &n));
    out->modules = calloc(n, sizeof *out->modules);
    CBA_ENSURE(out->modules != NULL, err, CBA_E_NOMEM, "tcb_info", "out of memory");
    out->num_modules = n;
    for (size_t i = 0; i < n; i++) {
        char w[48];
        jctx mj = { err, j.code, where_fmt(w, sizeof w, "tcb_info.tdxModuleIdentities[%zu]", i) };
        const cba_jnode *entry = array_obj(arr, i);
        cba_module_identity *mod = &out->modules[i];
        cbs id;
        CBA_ENSURE(entry != NULL, err, mj.code, mj.where, "entry is not an object");
        CBA_TRY(j_string(&mj, entry, "id", &id));
        CBA_ENSURE(parse_module_id(id, &mod->version), err, mj.code, mj.where,
                   "id is not of the form TDX_xx (two hex digits)");
        for (size_t k = 0; k < i; k++) {
            CBA_ENSURE(out->modules[k].version != mod->version, err, mj.code, mj.where,
                       "duplicate module id TDX_%02X (also entry [%zu])", mod->version, k);
        }
        CBA_TRY(parse_module_fields(&mj, entry, mod->mrsigner, &mod->attributes,
                                    &mod->attributes_mask));
        CBA_TRY(parse_module_levels(err, mod, entry, i));
    }
    return CBA_OK;
}

CBA_MUST_USE static cba_err parse_platform_levels(cba_error *err, cba_tcb_info *out,
                                                  const cba_jnode *root)
{
    jctx j = { err, CBA_E_TCB_INFO_FORMAT, "tcb_info" };
    const cba_jnode *arr;
    size_t n;
    CBA_TRY(j_array(&j, root, "tcbLevels", CBA_TCB_MAX_LEVELS, &arr, &n));
    out->levels = calloc(n, sizeof *out->levels);
    CBA_ENSURE(out->levels != NULL, err, CBA_E_NOMEM, "tcb_info", "out of memory");
    out->num_levels = n;
    for (size_t i = 0; i < n; i++) {
        CBA_TRY(parse_tcb_level(err, &out->levels[i], array_obj(arr, i), i));
    }
    /* Before sorting, so that the detail can name both JSON positions. INTEL throws "Detected
     * duplicated TCB levels" for levels that compare equal under its ordering. */
    for (size_t a = 0; a < n; a++) {
        for (size_t b = a + 1; b < n; b++) {
            CBA_ENSURE(intel_level_cmp(&out->levels[a], &out->levels[b]) != 0, err,
                       CBA_E_TCB_INFO_FORMAT, "tcb_info.tcbLevels",
                       "levels [%zu] and [%zu] are duplicates (same SGX SVNs, PCESVN and TDX "
                       "SVNs)", a, b);
        }
    }
    qsort(out->levels, n, sizeof *out->levels, level_cmp_desc);
    return CBA_OK;
}

void cba_tcb_info_cleanup(cba_tcb_info *info)
{
    if (info == NULL) { return; }
    if (info->modules != NULL) {
        for (size_t i = 0; i < info->num_modules; i++) { free(info->modules[i].levels); }
    }
    free(info->modules);
    free(info->levels);
    memset(info, 0, sizeof *info);
}

cba_err cba_tcb_info_parse(cba_error *err, cba_tcb_info *out, cbs json)
{
    jctx j = { err, CBA_E_TCB_INFO_FORMAT, "tcb_info" };
    cba_jdoc doc;
    const cba_jnode *root, *module;
    cbs id;
    uint64_t v;
    cba_err rc;

    memset(out, 0, sizeof *out);
    CBA_ENSURE(json.len <= CBA_COLLATERAL_MEMBER_MAX, err, j.code, j.where,
               "TCB info is %zu bytes (at most %u)", json.len, CBA_COLLATERAL_MEMBER_MAX);
    /* One pass of the strict scanner, no json-c tree (the text is signed: read exactly once). */
    CBA_TRY(cba_jdoc_parse(err, &doc, json, CBA_JSON_MAX_DEPTH, j.code, j.where));
    root = cba_jdoc_root(&doc);
    if (root->type != CBA_JT_OBJECT) {
        rc = cba_fail(err, j.code, j.where, "TCB info is not a JSON object");
        goto out;
    }
    if ((rc = j_string(&j, root, "id", &id)) != CBA_OK) { goto out; }
    if (!cbs_eq_str(id, "TDX")) {
        rc = cba_fail(err, j.code, "tcb_info.id", "id must be \"TDX\"");
        goto out;
    }
    if ((rc = j_uint(&j, root, "version", UINT32_MAX, &v)) != CBA_OK) { goto out; }
    if (v != 3) {
        rc = cba_fail(err, j.code, "tcb_info.version", "version must be 3, got %llu",
                      (unsigned long long)v);
        goto out;
    }
    out->version = (uint32_t)v;
    if ((rc = j_date(&j, root, "issueDate", &out->issue_date)) != CBA_OK ||
        (rc = j_date(&j, root, "nextUpdate", &out->next_update)) != CBA_OK) {
        goto out;
    }
    if (out->issue_date > out->next_update) {
        rc = cba_fail(err, j.code, "tcb_info.nextUpdate", "nextUpdate is before issueDate");
        goto out;
    }
    if ((rc = j_hex(&j, root, "fmspc", out->fmspc, sizeof out->fmspc)) != CBA_OK ||
        (rc = j_hex(&j, root, "pceId", out->pce_id, sizeof out->pce_id)) != CBA_OK ||
        (rc = j_uint(&j, root, "tcbType", UINT32_MAX, &v)) != CBA_OK) {
        goto out;
    }
    if (v != 0) {
        rc = cba_fail(err, j.code, "tcb_info.tcbType", "tcbType must be 0, got %llu",
                      (unsigned long long)v);
        goto out;
    }
    out->tcb_type = 0;
    if ((rc = j_uint(&j, root, "tcbEvaluationDataNumber", UINT32_MAX, &v)) != CBA_OK) { goto out; }
    out->tcb_evaluation_data_number = (uint32_t)v;
    {
        jctx mj = { err, j.code, "tcb_info.tdxModule" };
        if ((rc = j_object(&j, root, "tdxModule", &module)) != CBA_OK ||
            (rc = parse_module_fields(&mj, module, out->module_mrsigner, &out->module_attributes,
                                      &out->module_attributes_mask)) != CBA_OK) {
            goto out;
        }
    }
    if ((rc = parse_modules(err, out, root)) != CBA_OK ||
        (rc = parse_platform_levels(err, out, root)) != CBA_OK) {
        goto out;
    }
    rc = CBA_OK;
out:
    cba_jdoc_cleanup(&doc);
    if (rc != CBA_OK) { cba_tcb_info_cleanup(out); }
    return rc;
}

/* ---- QE identity -------------------------------------------------------------------------- */

void cba_qe_identity_cleanup(cba_qe_identity *id)
{
    if (id == NULL) { return; }
    free(id->levels);
    memset(id, 0, sizeof *id);
}

CBA_MUST_USE static cba_err parse_qe_levels(cba_error *err, cba_qe_identity *out,
                                            const cba_jnode *root)
{
    jctx j = { err, CBA_E_QE_IDENTITY_FORMAT, "qe_identity" };
    const cba_jnode *arr;
    size_t n;
    CBA_TRY(j_array(&j, root, "tcbLevels", CBA_QE_MAX_LEVELS, &arr, &n));
    out->levels = calloc(n, sizeof *out->levels);
    CBA_ENSURE(out->levels != NULL, err, CBA_E_NOMEM, j.where, "out of memory");
    out->num_levels = n;
    for (size_t i = 0; i < n; i++) {
        char w[48];
        jctx lj = { err, j.code, where_fmt(w, sizeof w, "qe_identity.tcbLevels[%zu]", i) };
        const cba_jnode *lvl = array_obj(arr, i);
        cba_qe_level *ql = &out->levels[i];
        const cba_jnode *tcb;
        uint64_t isvsvn;
        CBA_ENSURE(lvl != NULL, err, lj.code, lj.where, "level is not an object");
        CBA_TRY(j_object(&lj, lvl, "tcb", &tcb));
        CBA_TRY(j_uint(&lj, tcb, "isvsvn", UINT16_MAX, &isvsvn));
        ql->isvsvn = (uint16_t)isvsvn;
        CBA_TRY(j_date(&lj, lvl, "tcbDate", &ql->tcb_date));
        CBA_TRY(j_status(&lj, lvl, true, &ql->status));
        CBA_TRY(j_advisories(&lj, lvl, &ql->advisories));
        for (size_t k = 0; k < i; k++) {
            CBA_ENSURE(out->levels[k].isvsvn != ql->isvsvn, err, lj.code, lj.where,
                       "duplicate isvsvn %u (also in tcbLevels[%zu])", ql->isvsvn, k);
        }
    }
    return CBA_OK;
}

cba_err cba_qe_identity_parse(cba_error *err, cba_qe_identity *out, cbs json)
{
    jctx j = { err, CBA_E_QE_IDENTITY_FORMAT, "qe_identity" };
    cba_jdoc doc;
    const cba_jnode *root;
    uint8_t misc[4], misc_mask[4];
    cbs id;
    uint64_t v;
    cba_err rc;

    memset(out, 0, sizeof *out);
    CBA_ENSURE(json.len <= CBA_COLLATERAL_MEMBER_MAX, err, j.code, j.where,
               "QE identity is %zu bytes (at most %u)", json.len, CBA_COLLATERAL_MEMBER_MAX);
    CBA_TRY(cba_jdoc_parse(err, &doc, json, CBA_JSON_MAX_DEPTH, j.code, j.where));
    root = cba_jdoc_root(&doc);
    if (root->type != CBA_JT_OBJECT) {
        rc = cba_fail(err, j.code, j.where, "QE identity is not a JSON object");
        goto out;
    }
    if ((rc = j_string(&j, root, "id", &id)) != CBA_OK) { goto out; }
    if (!cbs_eq_str(id, "TD_QE")) {
        /* "QE" is the SGX quoting enclave, "QVE" the verification enclave: not ours. */
        rc = cba_fail(err, j.code, "qe_identity.id", "id must be \"TD_QE\"");
        goto out;
    }
    if ((rc = j_uint(&j, root, "version", UINT32_MAX, &v)) != CBA_OK) { goto out; }
    if (v != 2) {
        rc = cba_fail(err, j.code, "qe_identity.version", "version must be 2, got %llu",
                      (unsigned long long)v);
        goto out;
    }
    out->version = 2;
    if ((rc = j_date(&j, root, "issueDate", &out->issue_date)) != CBA_OK ||
        (rc = j_date(&j, root, "nextUpdate", &out->next_update)) != CBA_OK) {
        goto out;
    }
    if (out->issue_date > out->next_update) {
        rc = cba_fail(err, j.code, "qe_identity.nextUpdate", "nextUpdate is before issueDate");
        goto out;
    }
    if ((rc = j_uint(&j, root, "tcbEvaluationDataNumber", UINT32_MAX, &v)) != CBA_OK) { goto out; }
    out->tcb_evaluation_data_number = (uint32_t)v;
    if ((rc = j_hex(&j, root, "miscselect", misc, sizeof misc)) != CBA_OK ||
        (rc = j_hex(&j, root, "miscselectMask", misc_mask, sizeof misc_mask)) != CBA_OK ||
        (rc = j_hex(&j, root, "attributes", out->attributes, sizeof out->attributes)) != CBA_OK ||
        (rc = j_hex(&j, root, "attributesMask", out->attributes_mask,
                    sizeof out->attributes_mask)) != CBA_OK ||
        (rc = j_hex(&j, root, "mrsigner", out->mrsigner, sizeof out->mrsigner)) != CBA_OK ||
        (rc = j_uint(&j, root, "isvprodid", UINT16_MAX, &v)) != CBA_OK) {
        goto out;
    }
    /* Hex byte order is report byte order; the report's MISCSELECT is read little-endian. */
    out->miscselect = load_le32(misc);
    out->miscselect_mask = load_le32(misc_mask);
    out->isvprodid = (uint16_t)v;
    rc = parse_qe_levels(err, out, root);
out:
    cba_jdoc_cleanup(&doc);
    if (rc != CBA_OK) { cba_qe_identity_cleanup(out); }
    return rc;
}
