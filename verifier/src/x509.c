/* x509.c — certificates and CRLs (see x509.h); the Intel SGX extension is read by sgx_ext.c and
 * PEM chains by pem_chain.c, under the same rules.
 *
 * Every parser here is schema-driven: each function reads the fixed ASN.1 structure it expects,
 * one level per nested block, and treats anything it does not interpret as one opaque element
 * (framed by cbs_get_any_asn1_element, never descended into). Nothing recurses, so the nesting
 * depth is bounded by the schema itself (at most 8 levels, in the SGX extension's TCB entries),
 * whatever the input says. Every constructed element we open must be consumed exactly. Counts
 * that are checked pairwise (extension OIDs) are capped, so no input is quadratic. */
#include "x509.h"

#include "crypto.h"
#include "der.h"

/* ecdsa-with-SHA256 (1.2.840.10045.4.3.2) AlgorithmIdentifier without parameters: the only
 * signature algorithm of the Intel SGX PKI; comparing the whole element also proves "absent
 * parameters" (a NULL would make it longer). */
static const uint8_t k_alg_ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                              0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t k_oid_ec_public_key[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t k_oid_prime256v1[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t k_oid_common_name[] = { 0x55, 0x04, 0x03 };
/* id-ce (2.5.29) children: 55 1d NN */
#define ID_CE_SKI 0x0eu
#define ID_CE_KEY_USAGE 0x0fu
#define ID_CE_SAN 0x11u
#define ID_CE_BASIC_CONSTRAINTS 0x13u
#define ID_CE_CRL_NUMBER 0x14u
#define ID_CE_CRL_REASON 0x15u
#define ID_CE_INVALIDITY_DATE 0x18u
#define ID_CE_DELTA_CRL 0x1bu
#define ID_CE_ISSUING_DP 0x1cu
#define ID_CE_CERT_ISSUER 0x1du
#define ID_CE_CRL_DP 0x1fu
#define ID_CE_AKI 0x23u
#define ID_CE_EKU 0x25u

/* 2050-01-01T00:00:00Z: RFC 5280 4.1.2.5 requires UTCTime before it, GeneralizedTime after. */
#define GENERALIZED_TIME_FROM 2524608000

#define CRL_MAX_EXTENSIONS 16
#define CRL_ENTRY_MAX_EXTENSIONS 8

/* ---- small shared readers --------------------------------------------------------------- */

/* pctx says which codes a parse reports: framing errors (der) and value errors (bad). */
typedef struct pctx {
    cba_error *err;
    cba_err der;
    cba_err bad;
} pctx;

#define ENSURE_DER(x, cond, where)                                                              \
    CBA_ENSURE(cond, (x)->err, (x)->der, where, "malformed DER")
#define ENSURE_BAD(x, cond, where, ...) CBA_ENSURE(cond, (x)->err, (x)->bad, where, __VA_ARGS__)

/* get_elem reads an element tagged `tag`, giving both the whole element and its contents. */
CBA_MUST_USE static bool get_elem(cbs *in, uint8_t tag, cbs *out_elem, cbs *out_body)
{
    cbs copy = *in, elem, tmp;
    if (!cbs_get_asn1_element(&copy, &elem, tag)) { return false; }
    tmp = elem;
    if (!cbs_get_asn1(&tmp, out_body, tag)) { return false; } /* cannot fail: just framed */
    *out_elem = elem;
    *in = copy;
    return true;
}

/* framed is true when the next element of `in` is well framed and tagged `tag`: used to tell a
 * framing error (CBA_E_DER) from a bad value inside a good element. */
static bool framed(cbs in, uint8_t tag)
{
    cbs body;
    return cbs_get_asn1(&in, &body, tag);
}

/* fail_value reports a failed value read at `in`: a bad value when the element itself is well
 * framed with the expected tag, else a framing error. */
CBA_MUST_USE static cba_err fail_value(const pctx *x, cbs in, uint8_t tag, const char *where,
                                       const char *what)
{
    if (framed(in, tag)) { return cba_fail(x->err, x->bad, where, "%s", what); }
    return cba_fail(x->err, x->der, where, "malformed DER");
}

static bool oid_is(cbs oid, const uint8_t *want, size_t want_len)
{
    return cbs_eq_mem(oid, want, want_len);
}

/* id_ce_child returns NN for an OID 2.5.29.NN, else 0. */
static unsigned id_ce_child(cbs oid)
{
    if (oid.len != 3 || cbs_byte(oid, 0) != 0x55 || cbs_byte(oid, 1) != 0x1d) { return 0; }
    return cbs_byte(oid, 2);
}

/* get_time_5280 reads a Time, also enforcing RFC 5280's choice: UTCTime through 2049,
 * GeneralizedTime from 2050 on (so one instant has one encoding). */
CBA_MUST_USE static bool get_time_5280(cbs *in, int64_t *out)
{
    cbs copy = *in;
    bool generalized = cbs_peek_asn1_tag(copy, CBS_ASN1_GENERALIZEDTIME);
    int64_t t;
    if (!der_get_time(&copy, &t) || (generalized && t < GENERALIZED_TIME_FROM)) { return false; }
    *in = copy;
    *out = t;
    return true;
}

CBA_MUST_USE static cba_err parse_time(const pctx *x, cbs *in, int64_t *out, const char *where)
{
    if (get_time_5280(in, out)) { return CBA_OK; }
    if (framed(*in, CBS_ASN1_UTCTIME) || framed(*in, CBS_ASN1_GENERALIZEDTIME)) {
        return cba_fail(x->err, x->bad, where, "invalid time (YYMMDDHHMMSSZ, range, year 2050)");
    }
    return cba_fail(x->err, x->der, where, "malformed DER");
}

/* cn_value_ok: the CN is compared to fixed strings by callers, so refuse anything that could
 * make two different encodings look alike: PrintableString outside its alphabet, NUL bytes. */
static bool cn_value_ok(uint8_t tag, cbs v)
{
    for (size_t i = 0; i < v.len; i++) {
        uint8_t ch = cbs_byte(v, i);
        if (ch == 0) { return false; }
        if (tag == CBS_ASN1_PRINTABLESTRING &&
            !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              strchr(" '()+,-./:=?", ch) != NULL)) {
            return false;
        }
    }
    return true;
}

/* parse_name reads a Name ::= SEQUENCE OF RelativeDistinguishedName, each a non-empty
 * SET OF SEQUENCE { type OID, value ANY }, and records the one CN (empty when absent). */
CBA_MUST_USE static cba_err parse_name(const pctx *x, cbs *in, cbs *out_elem, cbs *out_cn,
                                       bool need_nonempty, const char *where)
{
    cbs elem, rdns, cn = { NULL, 0 };
    bool have_cn = false;
    ENSURE_DER(x, get_elem(in, CBS_ASN1_SEQUENCE, &elem, &rdns), where);
    ENSURE_BAD(x, rdns.len > 0 || !need_nonempty, where, "empty Name");
    while (rdns.len > 0) {
        cbs set;
        ENSURE_DER(x, cbs_get_asn1(&rdns, &set, CBS_ASN1_SET) && set.len > 0, where);
        while (set.len > 0) {
            cbs atv, type, value;
            uint8_t tag;
            size_t hl;
            ENSURE_DER(x, cbs_get_asn1(&set, &atv, CBS_ASN1_SEQUENCE), where);
            ENSURE_BAD(x, der_get_oid(&atv, &type), where, "bad attribute type OID");
            ENSURE_DER(x, cbs_get_any_asn1_element(&atv, &value, &tag, &hl) && atv.len == 0,
                       where);
            if (oid_is(type, k_oid_common_name, sizeof k_oid_common_name)) {
                ENSURE_BAD(x, !have_cn, where, "more than one CN");
                ENSURE_BAD(x, tag == CBS_ASN1_UTF8STRING || tag == CBS_ASN1_PRINTABLESTRING,
                           where, "CN is not a UTF8String or PrintableString");
                cn = value;
                ENSURE_DER(x, cbs_skip(&cn, hl), where); /* cannot fail: hl was read */
                cn = cn.len ? cn : (cbs){ NULL, 0 };
                ENSURE_BAD(x, cn_value_ok(tag, cn), where, "CN has characters outside its type");
                have_cn = true;
            }
        }
    }
    *out_elem = elem;
    *out_cn = cn;
    return CBA_OK;
}

/* ---- extensions ------------------------------------------------------------------------- */

typedef struct ext {
    cbs oid;
    bool critical;
    cbs value; /* extnValue OCTET STRING contents */
} ext;

/* next_ext reads Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }. */
CBA_MUST_USE static cba_err next_ext(const pctx *x, cbs *exts, ext *out, const char *where)
{
    cbs seq;
    out->critical = false;
    ENSURE_DER(x, cbs_get_asn1(exts, &seq, CBS_ASN1_SEQUENCE), where);
    ENSURE_BAD(x, der_get_oid(&seq, &out->oid), where, "bad extension OID");
    if (cbs_peek_asn1_tag(seq, CBS_ASN1_BOOLEAN)) {
        ENSURE_BAD(x, der_get_bool(&seq, &out->critical), where, "bad critical flag");
        /* X.690 11.5: a DEFAULT value is never encoded, so a present flag must be TRUE. */
        ENSURE_BAD(x, out->critical, where, "critical FALSE must be absent in DER");
    }
    ENSURE_DER(x, cbs_get_asn1(&seq, &out->value, CBS_ASN1_OCTETSTRING) && seq.len == 0, where);
    return CBA_OK;
}

/* note_unique adds oid to seen[] (capacity cap), failing on a repeat or on too many. */
CBA_MUST_USE static cba_err note_unique(const pctx *x, cbs *seen, size_t *num_seen, size_t cap,
                                        cbs oid, const char *where)
{
    ENSURE_BAD(x, *num_seen < cap, where, "more than %zu extensions", cap);
    for (size_t i = 0; i < *num_seen; i++) {
        ENSURE_BAD(x, !cbs_eq(seen[i], oid), where, "extension repeated");
    }
    seen[(*num_seen)++] = oid;
    return CBA_OK;
}

/* parse_aki reads AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier OPTIONAL,
 * [1] authorityCertIssuer OPTIONAL, [2] authorityCertSerialNumber OPTIONAL } ([1] and [2] come
 * together, RFC 5280 4.2.1.1) and returns the key identifier (empty when absent). */
CBA_MUST_USE static bool parse_aki(cbs value, cbs *out_key_id)
{
    cbs seq, key_id = { NULL, 0 }, issuer, serial;
    bool has_issuer, has_serial;
    if (!cbs_get_asn1(&value, &seq, CBS_ASN1_SEQUENCE) || value.len != 0) { return false; }
    if (cbs_peek_asn1_tag(seq, CBS_ASN1_CONTEXT_PRIM(0)) &&
        (!cbs_get_asn1(&seq, &key_id, CBS_ASN1_CONTEXT_PRIM(0)) || key_id.len == 0)) {
        return false;
    }
    has_issuer = cbs_peek_asn1_tag(seq, CBS_ASN1_CONTEXT(1));
    if (has_issuer && (!cbs_get_asn1(&seq, &issuer, CBS_ASN1_CONTEXT(1)) || issuer.len == 0)) {
        return false;
    }
    has_serial = cbs_peek_asn1_tag(seq, CBS_ASN1_CONTEXT_PRIM(2));
    if (has_serial && (!cbs_get_asn1(&seq, &serial, CBS_ASN1_CONTEXT_PRIM(2)) || serial.len == 0)) {
        return false;
    }
    if (seq.len != 0 || has_issuer != has_serial) { return false; }
    *out_key_id = key_id;
    return true;
}

/* parse_basic_constraints: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INTEGER OPTIONAL }. */
CBA_MUST_USE static bool parse_basic_constraints(cbs value, bool *out_ca, int *out_path_len)
{
    cbs seq;
    bool ca = false;
    uint64_t path_len = 0;
    bool has_path_len = false;
    if (!cbs_get_asn1(&value, &seq, CBS_ASN1_SEQUENCE) || value.len != 0) { return false; }
    if (cbs_peek_asn1_tag(seq, CBS_ASN1_BOOLEAN) && (!der_get_bool(&seq, &ca) || !ca)) {
        return false; /* DEFAULT FALSE must be absent */
    }
    if (cbs_peek_asn1_tag(seq, CBS_ASN1_INTEGER)) {
        if (!der_get_integer_u64(&seq, INT32_MAX, &path_len)) { return false; }
        has_path_len = true;
    }
    /* RFC 5280 4.2.1.9: pathLenConstraint only with cA TRUE. */
    if (seq.len != 0 || (has_path_len && !ca)) { return false; }
    *out_ca = ca;
    *out_path_len = has_path_len ? (int)path_len : -1;
    return true;
}

CBA_MUST_USE static bool parse_key_usage(cbs value, uint16_t *out)
{
    uint16_t ku;
    /* Named bits 0..8 exist (decipherOnly is 8); at least one must be set (RFC 5280 4.2.1.3). */
    if (!der_get_bit_string_flags(&value, &ku) || value.len != 0 || ku == 0 || (ku & 0xfe00u)) {
        return false;
    }
    *out = ku;
    return true;
}

/* parse_seq_of_oid: ExtendedKeyUsage ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId. */
CBA_MUST_USE static bool parse_seq_of_oid(cbs value)
{
    cbs seq, oid;
    if (!cbs_get_asn1(&value, &seq, CBS_ASN1_SEQUENCE) || value.len != 0 || seq.len == 0) {
        return false;
    }
    while (seq.len > 0) {
        if (!der_get_oid(&seq, &oid)) { return false; }
    }
    return true;
}

/* parse_general_names: SEQUENCE SIZE (1..MAX) OF GeneralName, each a context-tagged [0]..[8]
 * element (not interpreted further: we never match names). */
CBA_MUST_USE static bool parse_general_names(cbs value)
{
    cbs seq, name;
    uint8_t tag;
    size_t hl;
    if (!cbs_get_asn1(&value, &seq, CBS_ASN1_SEQUENCE) || value.len != 0 || seq.len == 0) {
        return false;
    }
    while (seq.len > 0) {
        if (!cbs_get_any_asn1_element(&seq, &name, &tag, &hl) || (tag & 0xc0) != 0x80 ||
            (tag & 0x1f) > 8) {
            return false;
        }
    }
    return true;
}

/* parse_crl_dp: CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint, each
 * SEQUENCE { [0] distributionPoint OPTIONAL, [1] reasons OPTIONAL, [2] cRLIssuer OPTIONAL } with
 * [0] or [2] present (RFC 5280 4.2.1.13). The URLs are not used: CRLs come with the collateral. */
CBA_MUST_USE static bool parse_crl_dp(cbs value)
{
    cbs seq, dp, part;
    if (!cbs_get_asn1(&value, &seq, CBS_ASN1_SEQUENCE) || value.len != 0 || seq.len == 0) {
        return false;
    }
    while (seq.len > 0) {
        bool has_name = false, has_issuer = false;
        if (!cbs_get_asn1(&seq, &dp, CBS_ASN1_SEQUENCE)) { return false; }
        if (cbs_peek_asn1_tag(dp, CBS_ASN1_CONTEXT(0))) {
            if (!cbs_get_asn1(&dp, &part, CBS_ASN1_CONTEXT(0)) || part.len == 0) { return false; }
            has_name = true;
        }
        if (cbs_peek_asn1_tag(dp, CBS_ASN1_CONTEXT_PRIM(1)) &&
            !cbs_get_asn1(&dp, &part, CBS_ASN1_CONTEXT_PRIM(1))) {
            return false;
        }
        if (cbs_peek_asn1_tag(dp, CBS_ASN1_CONTEXT(2))) {
            if (!cbs_get_asn1(&dp, &part, CBS_ASN1_CONTEXT(2)) || part.len == 0) { return false; }
            has_issuer = true;
        }
        if (dp.len != 0 || !(has_name || has_issuer)) { return false; }
    }
    return true;
}

/* cert_extension interprets one certificate extension into out. */
CBA_MUST_USE static cba_err cert_extension(const pctx *x, const ext *e, cba_cert *out)
{
    const char *w = "cert.tbs.extensions";
    unsigned ce = id_ce_child(e->oid);
    switch (ce) {
    case ID_CE_BASIC_CONSTRAINTS:
        ENSURE_BAD(x, parse_basic_constraints(e->value, &out->is_ca, &out->path_len),
                   "cert.ext.basic_constraints", "malformed BasicConstraints");
        out->has_basic_constraints = true;
        return CBA_OK;
    case ID_CE_KEY_USAGE:
        ENSURE_BAD(x, parse_key_usage(e->value, &out->key_usage), "cert.ext.key_usage",
                   "malformed KeyUsage");
        out->has_key_usage = true;
        return CBA_OK;
    case ID_CE_SKI: {
        cbs v = e->value, id;
        /* RFC 5280 4.2.1.2: never critical. */
        ENSURE_BAD(x, !e->critical, "cert.ext.ski", "SubjectKeyIdentifier marked critical");
        ENSURE_BAD(x, cbs_get_asn1(&v, &id, CBS_ASN1_OCTETSTRING) && v.len == 0 && id.len > 0,
                   "cert.ext.ski", "malformed SubjectKeyIdentifier");
        out->subject_key_id = id;
        return CBA_OK;
    }
    case ID_CE_AKI:
        ENSURE_BAD(x, !e->critical, "cert.ext.aki", "AuthorityKeyIdentifier marked critical");
        ENSURE_BAD(x, parse_aki(e->value, &out->authority_key_id), "cert.ext.aki",
                   "malformed AuthorityKeyIdentifier");
        return CBA_OK;
    case ID_CE_CRL_DP:
        ENSURE_BAD(x, parse_crl_dp(e->value), "cert.ext.crl_dp",
                   "malformed CRLDistributionPoints");
        return CBA_OK;
    case ID_CE_EKU:
        ENSURE_BAD(x, parse_seq_of_oid(e->value), "cert.ext.eku", "malformed ExtendedKeyUsage");
        return CBA_OK;
    case ID_CE_SAN:
        ENSURE_BAD(x, parse_general_names(e->value), "cert.ext.san",
                   "malformed SubjectAltName");
        return CBA_OK;
    default:
        break;
    }
    if (oid_is(e->oid, cba_oid_sgx, sizeof cba_oid_sgx)) {
        ENSURE_BAD(x, !e->critical, "cert.ext.sgx", "SGX extension marked critical");
        out->has_sgx_ext = true;
        out->sgx_ext = e->value;
        return CBA_OK;
    }
    /* Unknown: tolerated only when non-critical (dstack's 1.3.6.1.4.1.62397.1.x are). */
    ENSURE_BAD(x, !e->critical, w, "unknown critical extension");
    return CBA_OK;
}

CBA_MUST_USE static cba_err parse_cert_extensions(const pctx *x, cbs *tbs, cba_cert *out)
{
    const char *w = "cert.tbs.extensions";
    cbs wrapper, exts, seen[CBA_CERT_MAX_EXTENSIONS];
    size_t num_seen = 0;
    ENSURE_DER(x, cbs_get_asn1(tbs, &wrapper, CBS_ASN1_CONTEXT(3)), w);
    ENSURE_DER(x, cbs_get_asn1(&wrapper, &exts, CBS_ASN1_SEQUENCE) && wrapper.len == 0, w);
    ENSURE_BAD(x, exts.len > 0, w, "empty Extensions (SIZE 1..MAX)");
    out->extensions = exts;
    while (exts.len > 0) {
        ext e;
        CBA_TRY(next_ext(x, &exts, &e, w));
        CBA_TRY(note_unique(x, seen, &num_seen, CBA_CERT_MAX_EXTENSIONS, e.oid, w));
        CBA_TRY(cert_extension(x, &e, out));
    }
    out->num_extensions = num_seen;
    return CBA_OK;
}

/* ---- SubjectPublicKeyInfo --------------------------------------------------------------- */

CBA_MUST_USE static cba_err parse_spki(const pctx *x, cbs *tbs, cba_cert *out)
{
    const char *w = "cert.tbs.spki";
    cbs elem, spki, alg, alg_oid, key;
    ENSURE_DER(x, get_elem(tbs, CBS_ASN1_SEQUENCE, &elem, &spki), w);
    ENSURE_DER(x, cbs_get_asn1(&spki, &alg, CBS_ASN1_SEQUENCE), w);
    ENSURE_BAD(x, der_get_oid(&alg, &alg_oid), w, "bad algorithm OID");
    if (oid_is(alg_oid, k_oid_ec_public_key, sizeof k_oid_ec_public_key)) {
        cbs curve;
        /* RFC 5480: namedCurve only (no implicit or explicit curve parameters). */
        ENSURE_BAD(x, der_get_oid(&alg, &curve) && alg.len == 0, w, "EC key without named curve");
        ENSURE_BAD(x, der_get_bit_string(&spki, &key) && spki.len == 0, w, "bad EC public key");
        if (oid_is(curve, k_oid_prime256v1, sizeof k_oid_prime256v1) && key.len == 65 &&
            cbs_byte(key, 0) == 0x04) {
            cbs xy = key;
            ENSURE_BAD(x, cbs_skip(&xy, 1) && cbs_copy_bytes(&xy, out->pub_xy, 64), w,
                       "bad P-256 point");
            cba_crypto_rc prc = cba_p256_point_check(out->pub_xy);
            CBA_ENSURE(prc != CBA_CRYPTO_NOMEM, x->err, CBA_E_NOMEM, w, "out of memory checking a P-256 point");
            ENSURE_BAD(x, prc == CBA_CRYPTO_OK, w, "P-256 point not on the curve");
            out->has_p256_key = true;
        }
    } else {
        cbs params;
        uint8_t tag;
        size_t hl;
        /* Another key type: framed but not used (parameters, when present, are one element). */
        ENSURE_DER(x, alg.len == 0 || (cbs_get_any_asn1_element(&alg, &params, &tag, &hl) &&
                                       alg.len == 0), w);
        ENSURE_BAD(x, der_get_bit_string(&spki, &key) && spki.len == 0, w, "bad public key");
    }
    out->spki = elem;
    return CBA_OK;
}

/* ---- certificates ----------------------------------------------------------------------- */

/* parse_signature reads signatureAlgorithm (== the TBS one == ecdsa-with-SHA256) and the
 * signatureValue BIT STRING into r||s, then requires the outer SEQUENCE to be consumed. */
CBA_MUST_USE static cba_err parse_signature(const pctx *x, cbs *outer, uint8_t out_rs[64],
                                            const char *where)
{
    cbs alg, bits;
    ENSURE_DER(x, cbs_get_asn1_element(outer, &alg, CBS_ASN1_SEQUENCE), where);
    ENSURE_BAD(x, cbs_eq_mem(alg, k_alg_ecdsa_sha256, sizeof k_alg_ecdsa_sha256), where,
               "signature algorithm is not ecdsa-with-SHA256");
    if (!der_get_bit_string(outer, &bits)) {
        return fail_value(x, *outer, CBS_ASN1_BITSTRING, where,
                          "signature BIT STRING has unused bits");
    }
    ENSURE_DER(x, outer->len == 0, where);
    ENSURE_BAD(x, der_ecdsa_sig_to_raw(bits, out_rs), where, "malformed ECDSA-Sig-Value");
    return CBA_OK;
}

CBA_MUST_USE static cba_err parse_tbs_certificate(const pctx *x, cbs tbs, cba_cert *c)
{
    cbs ver_wrap, ver_int, alg, validity;
    uint64_t version;
    /* version [0] EXPLICIT: DEFAULT v1 would be absent, and we take v3 only. */
    ENSURE_BAD(x, cbs_peek_asn1_tag(tbs, CBS_ASN1_CONTEXT(0)), "cert.tbs.version",
               "version absent (v1)");
    ENSURE_DER(x, cbs_get_asn1(&tbs, &ver_wrap, CBS_ASN1_CONTEXT(0)), "cert.tbs.version");
    ver_int = ver_wrap;
    if (!der_get_integer_u64(&ver_wrap, 2, &version) || version != 2) {
        return fail_value(x, ver_int, CBS_ASN1_INTEGER, "cert.tbs.version", "version is not v3");
    }
    ENSURE_DER(x, ver_wrap.len == 0, "cert.tbs.version");

    if (!der_get_integer(&tbs, &c->serial)) {
        return fail_value(x, tbs, CBS_ASN1_INTEGER, "cert.tbs.serial",
                          "serial is negative or not minimal");
    }
    /* RFC 5280 4.1.2.2: positive, at most 20 octets. */
    ENSURE_BAD(x, c->serial.len <= 20 && !cbs_all_zero(c->serial), "cert.tbs.serial",
               "serial is zero or longer than 20 bytes");

    ENSURE_DER(x, cbs_get_asn1_element(&tbs, &alg, CBS_ASN1_SEQUENCE), "cert.tbs.signature");
    ENSURE_BAD(x, cbs_eq_mem(alg, k_alg_ecdsa_sha256, sizeof k_alg_ecdsa_sha256),
               "cert.tbs.signature", "signature algorithm is not ecdsa-with-SHA256");

    CBA_TRY(parse_name(x, &tbs, &c->issuer, &c->issuer_cn, true, "cert.tbs.issuer"));

    ENSURE_DER(x, cbs_get_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE), "cert.tbs.validity");
    CBA_TRY(parse_time(x, &validity, &c->not_before, "cert.tbs.validity"));
    CBA_TRY(parse_time(x, &validity, &c->not_after, "cert.tbs.validity"));
    ENSURE_DER(x, validity.len == 0, "cert.tbs.validity");
    ENSURE_BAD(x, c->not_before <= c->not_after, "cert.tbs.validity",
               "notBefore is after notAfter");

    CBA_TRY(parse_name(x, &tbs, &c->subject, &c->subject_cn, false, "cert.tbs.subject"));
    CBA_TRY(parse_spki(x, &tbs, c));

    /* issuerUniqueID [1] / subjectUniqueID [2]: deprecated (RFC 5280 4.1.2.8), never used by
     * the SGX PKI; refusing them keeps one meaning per certificate. */
    ENSURE_BAD(x, !cbs_peek_asn1_tag(tbs, CBS_ASN1_CONTEXT_PRIM(1)) &&
                      !cbs_peek_asn1_tag(tbs, CBS_ASN1_CONTEXT(1)) &&
                      !cbs_peek_asn1_tag(tbs, CBS_ASN1_CONTEXT_PRIM(2)) &&
                      !cbs_peek_asn1_tag(tbs, CBS_ASN1_CONTEXT(2)),
               "cert.tbs", "unique identifiers are not accepted");
    if (tbs.len > 0) { CBA_TRY(parse_cert_extensions(x, &tbs, c)); }
    ENSURE_DER(x, tbs.len == 0, "cert.tbs");
    return CBA_OK;
}

cba_err cba_cert_parse(cba_error *err, cba_cert *out, cbs der)
{
    const pctx x = { err, CBA_E_DER, CBA_E_CERT_INVALID };
    cbs in = der, outer, tbs_body;
    cba_cert c;
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, "cert", "no output");
    memset(&c, 0, sizeof c);
    c.path_len = -1;
    ENSURE_DER(&x, cbs_get_asn1(&in, &outer, CBS_ASN1_SEQUENCE) && in.len == 0, "cert");
    ENSURE_DER(&x, get_elem(&outer, CBS_ASN1_SEQUENCE, &c.tbs, &tbs_body), "cert.tbs");
    CBA_TRY(parse_tbs_certificate(&x, tbs_body, &c));
    CBA_TRY(parse_signature(&x, &outer, c.sig_rs, "cert.signature"));
    c.der = der;
    *out = c;
    return CBA_OK;
}

bool cba_cert_find_extension(const cba_cert *cert, const uint8_t *oid, size_t oid_len,
                             cbs *out_value)
{
    const pctx x = { NULL, CBA_E_DER, CBA_E_CERT_INVALID };
    cbs exts;
    if (cert == NULL || oid == NULL || out_value == NULL) { return false; }
    exts = cert->extensions;
    while (exts.len > 0) {
        ext e;
        if (next_ext(&x, &exts, &e, "cert.tbs.extensions") != CBA_OK) { return false; }
        if (cbs_eq_mem(e.oid, oid, oid_len)) {
            *out_value = e.value;
            return true;
        }
    }
    return false;
}

bool cba_cert_verify_signature(const cba_cert *cert, const uint8_t issuer_pub_xy[64])
{
    if (cert == NULL || issuer_pub_xy == NULL || cert->tbs.len == 0) { return false; }
    /* The signed bytes are the whole TBSCertificate element, header included (RFC 5280 4.1.1.3). */
    return cba_ecdsa_p256_verify_msg(issuer_pub_xy, &cert->tbs, 1, cert->sig_rs);
}

/* ---- CRLs ------------------------------------------------------------------------------- */

/* crl_serial reads a revoked entry's serial INTEGER as its canonical magnitude: the contents with
 * a positive value's sign octet stripped. A negative encoding (an issuer that forgot the sign
 * octet) is kept as its unsigned bytes rather than refused: refusing would disable revocation
 * checking, reading it as unsigned can only list more certificates (fail closed). */
CBA_MUST_USE static bool crl_serial(cbs *in, cbs *out)
{
    cbs copy = *in, body;
    uint8_t b0, b1;
    if (!cbs_get_asn1(&copy, &body, CBS_ASN1_INTEGER) || body.len == 0) { return false; }
    if (body.len > 1) {
        b0 = cbs_byte(body, 0);
        b1 = cbs_byte(body, 1);
        if ((b0 == 0x00 && !(b1 & 0x80)) || (b0 == 0xff && (b1 & 0x80))) { return false; }
        if (b0 == 0x00 && !cbs_skip(&body, 1)) { return false; }
    }
    if (body.len > 20) { return false; } /* RFC 5280 4.1.2.2 */
    *in = copy;
    *out = body;
    return true;
}

/* canonical_serial strips one sign octet, the same rule as crl_serial, so both sides compare
 * alike even when a caller passes raw INTEGER contents. */
static cbs canonical_serial(cbs s)
{
    if (s.len > 1 && cbs_byte(s, 0) == 0x00 && (cbs_byte(s, 1) & 0x80)) {
        cbs rest = s;
        if (cbs_skip(&rest, 1)) { return rest; }
    }
    return s;
}

CBA_MUST_USE static cba_err crl_entry(const pctx *x, cbs entry)
{
    const char *w = "crl.revoked";
    cbs serial, exts, seen[CRL_ENTRY_MAX_EXTENSIONS];
    size_t num_seen = 0;
    int64_t when;
    ENSURE_BAD(x, crl_serial(&entry, &serial), w, "bad serial");
    CBA_TRY(parse_time(x, &entry, &when, w));
    if (entry.len == 0) { return CBA_OK; }
    ENSURE_BAD(x, cbs_get_asn1(&entry, &exts, CBS_ASN1_SEQUENCE) && entry.len == 0 &&
                      exts.len > 0, w, "malformed entry extensions");
    while (exts.len > 0) {
        ext e;
        cbs v;
        uint64_t reason;
        int64_t t;
        CBA_TRY(next_ext(x, &exts, &e, w));
        CBA_TRY(note_unique(x, seen, &num_seen, CRL_ENTRY_MAX_EXTENSIONS, e.oid, w));
        v = e.value;
        switch (id_ce_child(e.oid)) {
        case ID_CE_CRL_REASON:
            /* CRLReason 0..10; 7 is unused (RFC 5280 5.3.1). */
            ENSURE_BAD(x, der_get_enumerated_u64(&v, 10, &reason) && reason != 7 && v.len == 0,
                       w, "bad cRLReason");
            break;
        case ID_CE_INVALIDITY_DATE:
            ENSURE_BAD(x, cbs_peek_asn1_tag(v, CBS_ASN1_GENERALIZEDTIME) &&
                              der_get_time(&v, &t) && v.len == 0,
                       w, "bad invalidityDate");
            break;
        case ID_CE_CERT_ISSUER:
            /* Indirect CRLs would change which issuer an entry belongs to: not supported. */
            return cba_fail(x->err, x->bad, w, "certificateIssuer (indirect CRL) not supported");
        default: ENSURE_BAD(x, !e.critical, w, "unknown critical entry extension"); break;
        }
    }
    return CBA_OK;
}

CBA_MUST_USE static cba_err crl_extensions(const pctx *x, cbs *tbs, cba_crl *c)
{
    const char *w = "crl.tbs.extensions";
    cbs wrapper, exts, seen[CRL_MAX_EXTENSIONS];
    size_t num_seen = 0;
    ENSURE_DER(x, cbs_get_asn1(tbs, &wrapper, CBS_ASN1_CONTEXT(0)), w);
    ENSURE_DER(x, cbs_get_asn1(&wrapper, &exts, CBS_ASN1_SEQUENCE) && wrapper.len == 0 &&
                      exts.len > 0, w);
    while (exts.len > 0) {
        ext e;
        cbs v;
        CBA_TRY(next_ext(x, &exts, &e, w));
        CBA_TRY(note_unique(x, seen, &num_seen, CRL_MAX_EXTENSIONS, e.oid, w));
        v = e.value;
        switch (id_ce_child(e.oid)) {
        case ID_CE_CRL_NUMBER:
            /* RFC 5280 5.2.3: non-negative, at most 20 octets, non-critical. */
            ENSURE_BAD(x, !e.critical && der_get_integer(&v, &c->crl_number) && v.len == 0 &&
                              c->crl_number.len <= 20,
                       "crl.ext.crl_number", "bad cRLNumber");
            c->has_crl_number = true;
            break;
        case ID_CE_AKI:
            ENSURE_BAD(x, !e.critical && parse_aki(v, &c->aki_key_id), "crl.ext.aki",
                       "bad authorityKeyIdentifier");
            c->has_aki = true;
            break;
        case ID_CE_DELTA_CRL:
        case ID_CE_ISSUING_DP:
            /* A delta CRL or a partitioned one is not a complete list: refuse outright, even
             * if (wrongly) marked non-critical. */
            return cba_fail(x->err, x->bad, w, "delta or partitioned CRLs are not supported");
        default: ENSURE_BAD(x, !e.critical, w, "unknown critical extension"); break;
        }
    }
    return CBA_OK;
}

CBA_MUST_USE static cba_err parse_tbs_cert_list(const pctx *x, cbs tbs, cba_crl *c)
{
    cbs alg, name_cn;
    uint64_t version;
    /* version is OPTIONAL in ASN.1 but must be v2 (INTEGER 1) when extensions exist; we want
     * the extensions (cRLNumber, AKI), so v2 is required. */
    ENSURE_BAD(x, der_get_integer_u64(&tbs, 1, &version) && version == 1, "crl.tbs.version",
               "version is not v2");
    ENSURE_BAD(x, cbs_get_asn1_element(&tbs, &alg, CBS_ASN1_SEQUENCE) &&
                      cbs_eq_mem(alg, k_alg_ecdsa_sha256, sizeof k_alg_ecdsa_sha256),
               "crl.tbs.signature", "signature algorithm is not ecdsa-with-SHA256");
    CBA_TRY(parse_name(x, &tbs, &c->issuer, &name_cn, true, "crl.tbs.issuer"));
    CBA_TRY(parse_time(x, &tbs, &c->this_update, "crl.tbs.this_update"));
    ENSURE_BAD(x, cbs_peek_asn1_tag(tbs, CBS_ASN1_UTCTIME) ||
                      cbs_peek_asn1_tag(tbs, CBS_ASN1_GENERALIZEDTIME),
               "crl.tbs.next_update", "nextUpdate is required");
    CBA_TRY(parse_time(x, &tbs, &c->next_update, "crl.tbs.next_update"));
    ENSURE_BAD(x, c->this_update <= c->next_update, "crl.tbs.next_update",
               "nextUpdate before thisUpdate");
    if (cbs_peek_asn1_tag(tbs, CBS_ASN1_SEQUENCE)) {
        cbs list;
        ENSURE_BAD(x, cbs_get_asn1(&tbs, &list, CBS_ASN1_SEQUENCE) && list.len > 0, "crl.revoked",
                   "revokedCertificates present but empty");
        c->revoked = list;
        while (list.len > 0) {
            cbs entry;
            ENSURE_BAD(x, cbs_get_asn1(&list, &entry, CBS_ASN1_SEQUENCE), "crl.revoked",
                       "malformed entry %zu", c->num_revoked);
            CBA_TRY(crl_entry(x, entry));
            c->num_revoked++;
        }
    }
    if (tbs.len > 0) { CBA_TRY(crl_extensions(x, &tbs, c)); }
    ENSURE_BAD(x, tbs.len == 0, "crl.tbs", "trailing bytes");
    return CBA_OK;
}

cba_err cba_crl_parse(cba_error *err, cba_crl *out, cbs der)
{
    /* Every CRL failure is CBA_E_CRL_INVALID (the check that failed is what matters to callers). */
    const pctx x = { err, CBA_E_CRL_INVALID, CBA_E_CRL_INVALID };
    cbs in = der, outer, tbs_body;
    cba_crl c;
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, "crl", "no output");
    memset(&c, 0, sizeof c);
    ENSURE_DER(&x, cbs_get_asn1(&in, &outer, CBS_ASN1_SEQUENCE) && in.len == 0, "crl");
    ENSURE_DER(&x, get_elem(&outer, CBS_ASN1_SEQUENCE, &c.tbs, &tbs_body), "crl.tbs");
    CBA_TRY(parse_tbs_cert_list(&x, tbs_body, &c));
    CBA_TRY(parse_signature(&x, &outer, c.sig_rs, "crl.signature"));
    c.der = der;
    *out = c;
    return CBA_OK;
}

bool cba_crl_verify_signature(const cba_crl *crl, const uint8_t issuer_pub_xy[64])
{
    if (crl == NULL || issuer_pub_xy == NULL || crl->tbs.len == 0) { return false; }
    return cba_ecdsa_p256_verify_msg(issuer_pub_xy, &crl->tbs, 1, crl->sig_rs);
}

bool cba_crl_lists_serial(const cba_crl *crl, cbs serial)
{
    cbs list, want = canonical_serial(serial);
    if (crl == NULL) { return true; } /* fail closed */
    list = crl->revoked;
    while (list.len > 0) {
        cbs entry, s;
        if (!cbs_get_asn1(&list, &entry, CBS_ASN1_SEQUENCE) || !crl_serial(&entry, &s)) {
            return true; /* cannot happen after cba_crl_parse; never read garbage as "absent" */
        }
        if (cbs_eq(s, want)) { return true; }
    }
    return false;
}
