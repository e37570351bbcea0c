/* mke_pki.c — the test SGX PKI (dcap-spec §2.1): root, PCK Platform/Processor CA, PCK leaf with
 * the Intel SGX extension (§2.2), TCB Signing, and the root CA CRL and PCK CRL (§3.5). Every
 * certificate mimics Intel's profile (X.509 v3, ecdsa-with-SHA256, P-256, AKI/CRL-DP/SKI/KU/BC)
 * with the same DN shape; only the root's name says it is a test root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mke_internal.h"

/* OID contents (X.660). */
static const uint8_t k_oid_cn[] = { 0x55, 0x04, 0x03 };
static const uint8_t k_oid_o[] = { 0x55, 0x04, 0x0a };
static const uint8_t k_oid_l[] = { 0x55, 0x04, 0x07 };
static const uint8_t k_oid_st[] = { 0x55, 0x04, 0x08 };
static const uint8_t k_oid_c[] = { 0x55, 0x04, 0x06 };
static const uint8_t k_oid_ec_pub[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t k_oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t k_oid_aki[] = { 0x55, 0x1d, 0x23 };
static const uint8_t k_oid_ski[] = { 0x55, 0x1d, 0x0e };
static const uint8_t k_oid_ku[] = { 0x55, 0x1d, 0x0f };
static const uint8_t k_oid_bc[] = { 0x55, 0x1d, 0x13 };
static const uint8_t k_oid_crldp[] = { 0x55, 0x1d, 0x1f };
static const uint8_t k_oid_crl_number[] = { 0x55, 0x1d, 0x14 };
static const uint8_t k_oid_crl_reason[] = { 0x55, 0x1d, 0x15 };
/* 1.3.6.1.4.1.62397.99.1: under crabbox's arc, known to no verifier (the unknown_critical_ext
 * knobs). */
static const uint8_t k_oid_unknown[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe7, 0x3d, 0x63, 0x01 };
/* 1.2.840.113741.1.13.1 and its members .1 ... (§2.2). */
static const uint8_t k_oid_sgx[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

#define CN_ROOT "Crabbox Test SGX Root CA"
#define CN_PLATFORM_CA "Intel SGX PCK Platform CA"
#define CN_PROCESSOR_CA "Intel SGX PCK Processor CA"
#define CN_PCK_LEAF "Intel SGX PCK Certificate"
#define CN_TCB_SIGNING "Intel SGX TCB Signing"
#define ORG "Crabbox Test"

#define URL_ROOT_CRL "https://crabbox.invalid/test/CrabboxTestSGXRootCA.der"
#define URL_PCK_CRL "https://crabbox.invalid/test/pckcrl?ca=%s&encoding=der"

/* ---- Names, keys, extensions ---------------------------------------------------------------- */

static void name_rdn(mke_buf *b, const uint8_t *oid, size_t oid_len, const char *value,
                     uint8_t string_tag)
{
    size_t set = mke_der_open(b), seq;
    seq = mke_der_open(b);
    mke_der_oid(b, oid, oid_len);
    mke_der_tlv(b, string_tag, value, strlen(value));
    mke_der_close(b, seq, 0x30);
    mke_der_close(b, set, 0x31);
}

void mke_der_name(mke_buf *b, const mke_name *n)
{
    size_t m = mke_der_open(b);
    /* Intel's order: CN, O, L, ST as UTF8String, C as PrintableString. */
    if (n->cn != NULL) { name_rdn(b, k_oid_cn, sizeof k_oid_cn, n->cn, 0x0c); }
    if (n->o != NULL) { name_rdn(b, k_oid_o, sizeof k_oid_o, n->o, 0x0c); }
    if (n->l != NULL) { name_rdn(b, k_oid_l, sizeof k_oid_l, n->l, 0x0c); }
    if (n->st != NULL) { name_rdn(b, k_oid_st, sizeof k_oid_st, n->st, 0x0c); }
    if (n->c != NULL) { name_rdn(b, k_oid_c, sizeof k_oid_c, n->c, 0x13); }
    mke_der_close(b, m, 0x30);
}

static mke_name intel_name(const char *cn)
{
    return (mke_name){ cn, ORG, "Santa Clara", "CA", "US" };
}

void mke_der_spki(mke_buf *b, const uint8_t xy[64])
{
    size_t m = mke_der_open(b), alg, bits;
    alg = mke_der_open(b);
    mke_der_oid(b, k_oid_ec_pub, sizeof k_oid_ec_pub);
    mke_der_oid(b, k_oid_p256, sizeof k_oid_p256);
    mke_der_close(b, alg, 0x30);
    bits = mke_der_open(b);
    mke_buf_u8(b, 0x00); /* no unused bits */
    mke_buf_u8(b, 0x04); /* uncompressed point */
    mke_buf_put(b, xy, 64);
    mke_der_close(b, bits, 0x03);
    mke_der_close(b, m, 0x30);
}

void mke_ext(mke_buf *b, const uint8_t *oid, size_t oid_len, bool critical, const mke_buf *value)
{
    size_t m = mke_der_open(b);
    mke_der_oid(b, oid, oid_len);
    if (critical) { mke_der_bool(b, true); }
    mke_der_tlv(b, 0x04, value->data, value->len);
    mke_der_close(b, m, 0x30);
}

/* ext_std appends AKI, CRL-DP, SKI, KU, BC in Intel's order. */
static void ext_std(mke_buf *ext, const mke_cert_opts *c, const uint8_t issuer_xy[64],
                    const uint8_t subject_xy[64], const char *crl_url)
{
    mke_buf v = { 0 };
    uint8_t kid[20];
    size_t m, m2, m3, m4;

    mke_key_id(kid, issuer_xy);
    m = mke_der_open(&v); /* AuthorityKeyIdentifier { [0] keyIdentifier } */
    mke_der_tlv(&v, 0x80, kid, sizeof kid);
    mke_der_close(&v, m, 0x30);
    mke_ext(ext, k_oid_aki, sizeof k_oid_aki, false, &v);

    v.len = 0; /* CRLDistributionPoints { DistributionPoint { [0] { [0] { [6] URI } } } } */
    m = mke_der_open(&v);
    m2 = mke_der_open(&v);
    m3 = mke_der_open(&v);
    m4 = mke_der_open(&v);
    mke_der_tlv(&v, 0x86, crl_url, strlen(crl_url));
    mke_der_close(&v, m4, 0xa0);
    mke_der_close(&v, m3, 0xa0);
    mke_der_close(&v, m2, 0x30);
    mke_der_close(&v, m, 0x30);
    mke_ext(ext, k_oid_crldp, sizeof k_oid_crldp, false, &v);

    v.len = 0;
    mke_key_id(kid, subject_xy);
    mke_der_tlv(&v, 0x04, kid, sizeof kid);
    mke_ext(ext, k_oid_ski, sizeof k_oid_ski, false, &v);

    if (!c->omit_key_usage) {
        v.len = 0;
        mke_der_bit_string_flags(&v, c->key_usage);
        mke_ext(ext, k_oid_ku, sizeof k_oid_ku, true, &v);
    }
    if (!c->omit_basic_constraints) {
        v.len = 0;
        m = mke_der_open(&v);
        if (c->is_ca) { mke_der_bool(&v, true); }
        if (c->path_len >= 0) { mke_der_int(&v, c->path_len); }
        mke_der_close(&v, m, 0x30);
        mke_ext(ext, k_oid_bc, sizeof k_oid_bc, true, &v);
    }
    if (c->unknown_critical_ext) {
        v.len = 0;
        m = mke_der_open(&v);
        mke_der_close(&v, m, 0x30);
        mke_ext(ext, k_oid_unknown, sizeof k_oid_unknown, true, &v);
    }
    if (v.failed) { ext->failed = true; }
    mke_buf_free(&v);
}

static void serial_for(uint8_t out[21], size_t *out_len, const mke_cert_opts *c, const char *role)
{
    if (c->serial_len != 0) {
        size_t n = c->serial_len > 21 ? 21 : c->serial_len;
        memcpy(out, c->serial, n);
        *out_len = n;
        return;
    }
    mke_seed(out, 20, role);
    out[0] &= 0x7f; /* positive without a sign octet: 20 content bytes like Intel's */
    out[0] |= 0x10; /* and never shorter */
    *out_len = 20;
}

bool mke_make_cert(mke_ctx *x, mke_buf *out, const mke_cert_opts *c, const char *role,
                   const mke_name *issuer, const mke_name *subject, const uint8_t subject_xy[64],
                   mke_key *issuer_key, const mke_buf *ext)
{
    mke_buf tbs = { 0 };
    uint8_t serial[21], sig[80];
    size_t serial_len, sig_len = sizeof sig, m, v, e;
    bool ok;

    serial_for(serial, &serial_len, c, role);
    m = mke_der_open(&tbs);
    v = mke_der_open(&tbs);
    mke_der_int(&tbs, 2); /* v3 */
    mke_der_close(&tbs, v, 0xa0);
    mke_der_int_mag(&tbs, serial, serial_len);
    mke_der_ecdsa_alg(&tbs);
    mke_der_name(&tbs, issuer);
    v = mke_der_open(&tbs);
    mke_der_time(&tbs, c->not_before);
    mke_der_time(&tbs, c->not_after);
    mke_der_close(&tbs, v, 0x30);
    mke_der_name(&tbs, subject);
    mke_der_spki(&tbs, subject_xy);
    if (ext != NULL && ext->len != 0) {
        v = mke_der_open(&tbs);
        e = mke_der_open(&tbs);
        mke_buf_put(&tbs, ext->data, ext->len);
        mke_der_close(&tbs, e, 0x30);
        mke_der_close(&tbs, v, 0xa3);
    }
    mke_der_close(&tbs, m, 0x30);
    if (tbs.failed || (ext != NULL && ext->failed)) {
        mke_buf_free(&tbs);
        return mke_fail(x, "%s: out of memory", role);
    }
    ok = mke_key_sign_msg(issuer_key, tbs.data, tbs.len, c->bad_signature, NULL, sig, &sig_len);
    if (!ok) {
        mke_buf_free(&tbs);
        return mke_fail(x, "%s: signing failed", role);
    }
    m = mke_der_open(out);
    mke_buf_put(out, tbs.data, tbs.len);
    mke_der_ecdsa_alg(out);
    v = mke_der_open(out);
    mke_buf_u8(out, 0x00);
    mke_buf_put(out, sig, sig_len);
    mke_der_close(out, v, 0x03);
    mke_der_close(out, m, 0x30);
    mke_buf_free(&tbs);
    if (out->failed) { return mke_fail(x, "%s: out of memory", role); }
    return true;
}

/* ---- The SGX extension (§2.2) ------------------------------------------------------------ */

static void sgx_oid(mke_buf *b, const uint8_t *arcs, size_t num_arcs)
{
    uint8_t oid[sizeof k_oid_sgx + 4];
    memcpy(oid, k_oid_sgx, sizeof k_oid_sgx);
    memcpy(oid + sizeof k_oid_sgx, arcs, num_arcs);
    mke_der_oid(b, oid, sizeof k_oid_sgx + num_arcs);
}

static void sgx_tcb_entry(mke_buf *b, const mke_pck_opts *p, unsigned n, const uint8_t cpusvn[16])
{
    size_t m = mke_der_open(b);
    uint8_t arcs[2] = { 0x02, (uint8_t)n };
    sgx_oid(b, arcs, 2);
    if (n <= 16) {
        mke_der_int(b, p->comp_svn[n - 1]);
    } else if (n == 17) {
        mke_der_int(b, p->pcesvn);
    } else {
        mke_der_tlv(b, 0x04, cpusvn, 16);
    }
    mke_der_close(b, m, 0x30);
}

static void sgx_member(mke_buf *b, const mke_pck_opts *p, unsigned n)
{
    size_t m = mke_der_open(b), inner;
    uint8_t arc = (uint8_t)n, cpusvn[16], pid[16];
    sgx_oid(b, &arc, 1);
    switch (n) {
    case 1: mke_der_tlv(b, 0x04, p->ppid, 16); break;
    case 2:
        if (p->has_cpusvn) {
            memcpy(cpusvn, p->cpusvn, 16);
        } else {
            for (size_t i = 0; i < 16; i++) { cpusvn[i] = (uint8_t)p->comp_svn[i]; }
        }
        inner = mke_der_open(b);
        for (unsigned e = 1; e <= 18; e++) {
            if ((int)e == p->omit_tcb_entry) { continue; }
            sgx_tcb_entry(b, p, e, cpusvn);
            if ((int)e == p->duplicate_tcb_entry) { sgx_tcb_entry(b, p, e, cpusvn); }
        }
        mke_der_close(b, inner, 0x30);
        break;
    case 3: mke_der_tlv(b, 0x04, p->pce_id, 2); break;
    case 4: mke_der_tlv(b, 0x04, p->fmspc, 6); break;
    case 5: {
        uint8_t t = (uint8_t)p->sgx_type;
        mke_der_tlv(b, 0x0a, &t, 1);
        break;
    }
    case 6:
        mke_seed(pid, sizeof pid, "platform-instance-id");
        mke_der_tlv(b, 0x04, pid, 16);
        break;
    case 7:
        inner = mke_der_open(b);
        for (uint8_t c = 1; c <= 3; c++) {
            size_t cm = mke_der_open(b);
            uint8_t arcs[2] = { 0x07, c };
            sgx_oid(b, arcs, 2);
            mke_der_bool(b, true); /* dynamicPlatform, cachedKeys, SMTEnabled: as Intel's */
            mke_der_close(b, cm, 0x30);
        }
        mke_der_close(b, inner, 0x30);
        break;
    default: { /* an unknown member (tolerated by the parser) */
        static const uint8_t v[4] = { 0xc0, 0xff, 0xee, 0x00 };
        mke_der_tlv(b, 0x04, v, sizeof v);
        break;
    }
    }
    mke_der_close(b, m, 0x30);
}

static void sgx_extension_value(mke_buf *b, const mke_pck_opts *p)
{
    bool platform = p->platform_members == MKE_AUTO ? p->ca == MKE_CA_PLATFORM
                                                    : p->platform_members != 0;
    size_t m;
    if (p->ext_raw != NULL) {
        mke_buf_put(b, p->ext_raw, p->ext_raw_len);
        return;
    }
    m = mke_der_open(b);
    for (unsigned n = 1; n <= 7; n++) {
        if ((int)n == p->omit_member || (n >= 6 && !platform)) { continue; }
        sgx_member(b, p, n);
        if ((int)n == p->duplicate_member) { sgx_member(b, p, n); }
    }
    if (p->unknown_member) { sgx_member(b, p, 99); }
    mke_der_close(b, m, 0x30);
}

/* ---- CRLs (§3.5) -------------------------------------------------------------------------- */

static void crl_entry(mke_buf *b, const uint8_t *serial, size_t serial_len, int64_t when)
{
    static const uint8_t reason[] = { 0x0a, 0x01, 0x01 }; /* keyCompromise, as Intel's */
    size_t m = mke_der_open(b), exts, ext;
    mke_der_int_mag(b, serial, serial_len);
    mke_der_time(b, when);
    exts = mke_der_open(b);
    ext = mke_der_open(b);
    mke_der_oid(b, k_oid_crl_reason, sizeof k_oid_crl_reason);
    mke_der_tlv(b, 0x04, reason, sizeof reason);
    mke_der_close(b, ext, 0x30);
    mke_der_close(b, exts, 0x30);
    mke_der_close(b, m, 0x30);
}

typedef struct revoked {
    uint8_t serial[21];
    size_t len;
} revoked;

static bool make_crl(mke_ctx *x, mke_blob *out, const mke_crl_opts *c, const mke_name *issuer,
                     mke_key *issuer_key, const revoked *rev, size_t num_rev, const char *role)
{
    mke_buf tbs = { 0 }, crl = { 0 }, v = { 0 };
    uint8_t sig[80], kid[20];
    size_t sig_len = sizeof sig, m, list, exts, seq;

    m = mke_der_open(&tbs);
    mke_der_int(&tbs, 1); /* v2 */
    mke_der_ecdsa_alg(&tbs);
    mke_der_name(&tbs, issuer);
    mke_der_time(&tbs, c->this_update);
    mke_der_time(&tbs, c->next_update);
    if (num_rev + c->num_filler > 0) {
        list = mke_der_open(&tbs);
        for (size_t i = 0; i < c->num_filler; i++) {
            uint8_t s[20];
            char label[64];
            snprintf(label, sizeof label, "%s-filler-%zu", role, i);
            mke_seed(s, sizeof s, label);
            s[0] &= 0x7f;
            s[0] |= 0x10;
            crl_entry(&tbs, s, sizeof s, c->this_update);
        }
        for (size_t i = 0; i < num_rev; i++) {
            crl_entry(&tbs, rev[i].serial, rev[i].len, c->this_update);
        }
        mke_der_close(&tbs, list, 0x30);
    }
    if (!c->omit_crl_number || !c->omit_aki || c->unknown_critical_ext) {
        exts = mke_der_open(&tbs);
        seq = mke_der_open(&tbs);
        if (!c->omit_crl_number) {
            mke_der_int(&v, 1);
            mke_ext(&tbs, k_oid_crl_number, sizeof k_oid_crl_number, false, &v);
        }
        if (!c->omit_aki) {
            v.len = 0;
            mke_key_id(kid, mke_key_xy(issuer_key));
            size_t a = mke_der_open(&v);
            mke_der_tlv(&v, 0x80, kid, sizeof kid);
            mke_der_close(&v, a, 0x30);
            mke_ext(&tbs, k_oid_aki, sizeof k_oid_aki, false, &v);
        }
        if (c->unknown_critical_ext) {
            v.len = 0;
            size_t u = mke_der_open(&v);
            mke_der_close(&v, u, 0x30);
            mke_ext(&tbs, k_oid_unknown, sizeof k_oid_unknown, true, &v);
        }
        mke_der_close(&tbs, seq, 0x30);
        mke_der_close(&tbs, exts, 0xa0);
    }
    mke_der_close(&tbs, m, 0x30);
    if (tbs.failed || v.failed ||
        !mke_key_sign_msg(issuer_key, tbs.data, tbs.len, c->bad_signature, NULL, sig, &sig_len)) {
        mke_buf_free(&tbs);
        mke_buf_free(&v);
        return mke_fail(x, "%s: cannot build or sign", role);
    }
    m = mke_der_open(&crl);
    mke_buf_put(&crl, tbs.data, tbs.len);
    mke_der_ecdsa_alg(&crl);
    seq = mke_der_open(&crl);
    mke_buf_u8(&crl, 0x00);
    mke_buf_put(&crl, sig, sig_len);
    mke_der_close(&crl, seq, 0x03);
    mke_der_close(&crl, m, 0x30);
    mke_buf_free(&tbs);
    mke_buf_free(&v);
    if (!mke_buf_take(&crl, out)) { return mke_fail(x, "%s: out of memory", role); }
    return true;
}

/* ---- The whole PKI ----------------------------------------------------------------------- */

static bool cert_to_blob(mke_ctx *x, mke_blob *out, const mke_cert_opts *c, const char *role,
                         const mke_name *issuer, const mke_name *subject, mke_key *subject_key,
                         mke_key *issuer_key, const mke_buf *extra_ext, const char *crl_url)
{
    mke_buf ext = { 0 }, der = { 0 };
    bool ok;
    ext_std(&ext, c, mke_key_xy(issuer_key), mke_key_xy(subject_key), crl_url);
    if (extra_ext != NULL) { mke_buf_put(&ext, extra_ext->data, extra_ext->len); }
    ok = mke_make_cert(x, &der, c, role, issuer, subject, mke_key_xy(subject_key), issuer_key, &ext);
    mke_buf_free(&ext);
    if (ok && !mke_buf_take(&der, out)) { ok = mke_fail(x, "%s: out of memory", role); }
    mke_buf_free(&der);
    return ok;
}

static bool load_key(mke_ctx *x, mke_key **out, const char *name, const char *fallback)
{
    const char *n = name != NULL ? name : fallback;
    *out = mke_key_load(n);
    if (*out == NULL) { return mke_fail(x, "cannot derive test key \"%s\"", n); }
    return true;
}

/* serial_of reproduces the serial a certificate was given (for CRL entries). */
static void serial_of(revoked *r, const mke_cert_opts *c, const char *role)
{
    serial_for(r->serial, &r->len, c, role);
}

bool mke_build_pki(mke_ctx *x)
{
    const mke_options *o = x->o;
    mke_evidence *ev = x->ev;
    mke_name root_name = intel_name(o->root.cn != NULL ? o->root.cn : CN_ROOT);
    bool processor = o->pck.ca == MKE_CA_PROCESSOR;
    const char *leaf_ca_cn = processor ? CN_PROCESSOR_CA : CN_PLATFORM_CA;
    const char *other_ca_cn = processor ? CN_PLATFORM_CA : CN_PROCESSOR_CA;
    mke_name leaf_ca_name = intel_name(o->pck_ca.cn != NULL ? o->pck_ca.cn : leaf_ca_cn);
    mke_name other_ca_name = intel_name(other_ca_cn);
    mke_name leaf_name = intel_name(o->pck.cert.cn != NULL ? o->pck.cert.cn : CN_PCK_LEAF);
    mke_name tcb_name = intel_name(o->tcb_signer.cn != NULL ? o->tcb_signer.cn : CN_TCB_SIGNING);
    mke_cert_opts other_ca_opts = o->pck_ca;
    mke_key *other_ca;
    mke_buf sgx = { 0 }, sgx_value = { 0 };
    char url[128];
    revoked rev[4];
    size_t num_rev;
    const char *leaf_ca_role = processor ? "pck-processor-ca" : "pck-platform-ca";
    const char *other_ca_role = processor ? "pck-platform-ca" : "pck-processor-ca";

    if (!load_key(x, &x->root, o->root.key_name, "root") ||
        !load_key(x, &x->platform_ca, processor ? NULL : o->pck_ca.key_name, "pck-platform-ca") ||
        !load_key(x, &x->processor_ca, processor ? o->pck_ca.key_name : NULL, "pck-processor-ca") ||
        !load_key(x, &x->leaf, o->pck.cert.key_name, "pck-leaf") ||
        !load_key(x, &x->tcb_signer, o->tcb_signer.key_name, "tcb-signer")) {
        return false;
    }
    x->leaf_ca_key = processor ? x->processor_ca : x->platform_ca;
    other_ca = processor ? x->platform_ca : x->processor_ca;

    /* Root: self-signed. */
    if (!cert_to_blob(x, &ev->root_der, &o->root, "root", &root_name, &root_name, x->root, x->root,
                      NULL, URL_ROOT_CRL)) {
        return false;
    }
    /* The leaf's CA gets the knobs; the other CA is a clean sibling (for "CRL from the other CA"). */
    if (!cert_to_blob(x, &ev->pck_ca_der, &o->pck_ca, leaf_ca_role, &root_name, &leaf_ca_name,
                      x->leaf_ca_key, x->root, NULL, URL_ROOT_CRL)) {
        return false;
    }
    other_ca_opts.cn = NULL;
    other_ca_opts.key_name = NULL;
    other_ca_opts.bad_signature = false;
    other_ca_opts.serial_len = 0;
    if (!cert_to_blob(x, &ev->other_ca_der, &other_ca_opts, other_ca_role, &root_name,
                      &other_ca_name, other_ca, x->root, NULL, URL_ROOT_CRL)) {
        return false;
    }

    /* PCK leaf with the SGX extension last (6 extensions, as GO expects). */
    if (!o->pck.omit_ext) {
        sgx_extension_value(&sgx_value, &o->pck);
        mke_ext(&sgx, k_oid_sgx, sizeof k_oid_sgx, false, &sgx_value);
        if (o->pck.ext_twice) { mke_ext(&sgx, k_oid_sgx, sizeof k_oid_sgx, false, &sgx_value); }
    }
    snprintf(url, sizeof url, URL_PCK_CRL, processor ? "processor" : "platform");
    if (!cert_to_blob(x, &ev->pck_leaf_der, &o->pck.cert, "pck-leaf", &leaf_ca_name, &leaf_name,
                      x->leaf, x->leaf_ca_key, &sgx, url)) {
        mke_buf_free(&sgx);
        mke_buf_free(&sgx_value);
        return false;
    }
    mke_buf_free(&sgx);
    mke_buf_free(&sgx_value);

    if (!cert_to_blob(x, &ev->tcb_signer_der, &o->tcb_signer, "tcb-signer", &root_name, &tcb_name,
                      x->tcb_signer, x->root, NULL, URL_ROOT_CRL)) {
        return false;
    }
    if (o->qe_signer_separate) {
        mke_name qe_name = intel_name(o->qe_signer.cn != NULL ? o->qe_signer.cn : CN_TCB_SIGNING);
        if (!load_key(x, &x->qe_signer, o->qe_signer.key_name, "qe-signer") ||
            !cert_to_blob(x, &ev->qe_signer_der, &o->qe_signer, "qe-signer", &root_name, &qe_name,
                          x->qe_signer, x->root, NULL, URL_ROOT_CRL)) {
            return false;
        }
    }

    /* Root CA CRL. */
    num_rev = 0;
    if (o->root_crl_revoke_pck_ca) { serial_of(&rev[num_rev++], &o->pck_ca, leaf_ca_role); }
    if (o->root_crl_revoke_tcb_signer) { serial_of(&rev[num_rev++], &o->tcb_signer, "tcb-signer"); }
    if (o->root_crl_revoke_root) { serial_of(&rev[num_rev++], &o->root, "root"); }
    if (o->root_crl_revoke_qe_signer) { serial_of(&rev[num_rev++], &o->qe_signer, "qe-signer"); }
    if (!make_crl(x, &ev->root_crl_der, &o->root_crl, &root_name, x->root, rev, num_rev,
                  "root-crl")) {
        return false;
    }

    /* PCK CRL: from the leaf's CA, or from the other one. */
    num_rev = 0;
    if (o->pck_crl_revoke_leaf) { serial_of(&rev[num_rev++], &o->pck.cert, "pck-leaf"); }
    if (!make_crl(x, &ev->pck_crl_der, &o->pck_crl,
                  o->pck_crl_other_ca ? &other_ca_name : &leaf_ca_name,
                  o->pck_crl_other_ca ? other_ca : x->leaf_ca_key, rev, num_rev, "pck-crl")) {
        return false;
    }
    return true;
}
