/* test_x509.c — certificates, CRLs, the Intel SGX extension and PEM chains, on the real
 * evidence (PCK chains of two TDX quotes, the dcap-qvl collateral's CRLs and issuer chains, the
 * dstack RA-TLS app certificate) and on DER built by editing those real bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "der.h"
#include "testutil.h"
#include "x509.h"

TestSuite(x509, .timeout = 30);

/* ---- helpers: fixtures ----------------------------------------------------------------- */

static cbs buf_cbs(const tu_buf *b)
{
    return cbs_make(b->data, b->len);
}

/* quote_pck_pem finds the PEM chain inside a v4/v5 quote by reading the size fields at the
 * offsets of dcap-spec §1.4 (never by searching for "-----BEGIN"). */
static cbs quote_pck_pem(const tu_buf *q)
{
    cbs c = buf_cbs(q), skip, pem;
    uint16_t version, cert_type, qe_auth_len, inner_type;
    uint32_t sig_len, s, m, body_size;
    size_t sig_off = 632;
    cr_assert(cbs_get_u16le(&c, &version));
    if (version == 5) {
        cbs d = buf_cbs(q);
        uint16_t body_type;
        cr_assert(cbs_skip(&d, 48) && cbs_get_u16le(&d, &body_type) &&
                  cbs_get_u32le(&d, &body_size));
        sig_off = 54 + body_size;
    } else {
        cr_assert_eq(version, 4);
    }
    c = buf_cbs(q);
    cr_assert(cbs_skip(&c, sig_off) && cbs_get_u32le(&c, &sig_len));
    cr_assert(cbs_skip(&c, 128) && cbs_get_u16le(&c, &cert_type) && cbs_get_u32le(&c, &s));
    cr_assert_eq(cert_type, 6);
    cr_assert(cbs_get_bytes(&c, &skip, 448) && cbs_get_u16le(&c, &qe_auth_len));
    cr_assert(cbs_skip(&c, qe_auth_len) && cbs_get_u16le(&c, &inner_type) &&
              cbs_get_u32le(&c, &m));
    cr_assert_eq(inner_type, 5);
    cr_assert(cbs_get_bytes(&c, &pem, m));
    return pem;
}

/* json_string extracts the string value of "key" from a flat JSON object (test-only: finds the
 * key with strstr) and un-escapes \n, \", \\ and \/. Returns a malloc'd NUL-terminated copy. */
static char *json_string(const tu_buf *json, const char *key, size_t *out_len)
{
    char pat[64];
    const char *p, *text = (const char *)json->data;
    char *out;
    size_t n = 0;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(text, pat);
    cr_assert_not_null(p, "key %s not found", key);
    p += strlen(pat);
    while (*p == ' ') { p++; }
    cr_assert_eq(*p, '"');
    p++;
    out = malloc(strlen(p) + 1);
    cr_assert_not_null(out);
    while (*p != '"') {
        cr_assert_neq(*p, '\0', "unterminated string");
        if (*p == '\\') {
            p++;
            switch (*p) {
            case 'n': out[n++] = '\n'; break;
            case '"': out[n++] = '"'; break;
            case '\\': out[n++] = '\\'; break;
            case '/': out[n++] = '/'; break;
            default: cr_assert_fail("unexpected escape \\%c", *p);
            }
            p++;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* json_hex extracts "key" (a hex string) and decodes it; malloc'd. */
static uint8_t *json_hex(const tu_buf *json, const char *key, size_t *out_len)
{
    size_t n;
    char *hex = json_string(json, key, &n);
    uint8_t *bin = malloc(n / 2 + 1);
    cr_assert_not_null(bin);
    cr_assert(cba_hex_decode(bin, n / 2, hex, n), "%s is not hex", key);
    free(hex);
    *out_len = n / 2;
    return bin;
}

static void hex_to(uint8_t *out, size_t n, const char *hex)
{
    cr_assert_eq(tu_hex(out, n, hex), (long)n, "bad vector %s", hex);
}

/* chain3 is a decoded and parsed 3-certificate PCK chain. */
typedef struct chain3 {
    tu_buf quote;
    uint8_t *der_buf;
    cba_pem_chain pem;
    cba_cert cert[3];
} chain3;

static void load_chain(chain3 *ch, const char *rel)
{
    cba_error err;
    cbs pem;
    memset(ch, 0, sizeof *ch);
    TU_REAL_OR_SKIP(rel, &ch->quote);
    pem = quote_pck_pem(&ch->quote);
    ch->der_buf = malloc(pem.len);
    cr_assert_not_null(ch->der_buf);
    cba_error_clear(&err);
    cr_assert_eq(cba_pem_chain_decode(&err, &ch->pem, pem, ch->der_buf, pem.len), CBA_OK,
                 "%s: %s", err.where, err.detail);
    cr_assert_eq(ch->pem.num_certs, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(cba_cert_parse(&err, &ch->cert[i], ch->pem.certs[i]), CBA_OK,
                     "cert %zu: %s: %s", i, err.where, err.detail);
    }
}

static void free_chain(chain3 *ch)
{
    free(ch->der_buf);
    tu_buf_free(&ch->quote);
}

static void assert_cbs_hex(cbs v, const char *hex)
{
    uint8_t want[64];
    long n = tu_hex(want, sizeof want, hex);
    cr_assert_geq(n, 0);
    cr_assert_eq(v.len, (size_t)n, "length %zu, want %ld (%s)", v.len, n, hex);
    cr_assert(memcmp(v.data, want, (size_t)n) == 0, "bytes differ from %s", hex);
}

/* ---- helpers: DER editing -------------------------------------------------------------- */

/* All edited DER lives in one arena: tests run in their own processes, and freeing views one
 * by one would only obscure the edits. */
static uint8_t g_arena[1u << 20];
static size_t g_arena_used;

/* kids splits element `elem` (header included) into its child elements. */
static size_t kids(cbs elem, cbs *out, size_t max)
{
    cbs body, e;
    uint8_t tag;
    size_t hl, n = 0;
    cr_assert(cbs_get_any_asn1_element(&elem, &e, &tag, &hl) && elem.len == 0);
    body = e;
    cr_assert(cbs_skip(&body, hl));
    while (body.len > 0) {
        cr_assert_lt(n, max);
        cr_assert(cbs_get_any_asn1_element(&body, &out[n], &tag, &hl));
        n++;
    }
    return n;
}

/* wrap writes tag || minimal length || concatenation of parts into the arena. */
static cbs wrap(uint8_t tag, const cbs *parts, size_t num_parts)
{
    size_t len = 0, start = g_arena_used, pos;
    uint8_t *p;
    for (size_t i = 0; i < num_parts; i++) { len += parts[i].len; }
    cr_assert_lt(g_arena_used + len + 6, sizeof g_arena);
    p = g_arena + start;
    pos = 0;
    p[pos++] = tag;
    if (len < 0x80) {
        p[pos++] = (uint8_t)len;
    } else if (len < 0x100) {
        p[pos++] = 0x81;
        p[pos++] = (uint8_t)len;
    } else if (len < 0x10000) {
        p[pos++] = 0x82;
        p[pos++] = (uint8_t)(len >> 8);
        p[pos++] = (uint8_t)len;
    } else {
        p[pos++] = 0x83;
        p[pos++] = (uint8_t)(len >> 16);
        p[pos++] = (uint8_t)(len >> 8);
        p[pos++] = (uint8_t)len;
    }
    for (size_t i = 0; i < num_parts; i++) {
        if (parts[i].len) { memcpy(p + pos, parts[i].data, parts[i].len); }
        pos += parts[i].len;
    }
    g_arena_used += pos;
    return cbs_make(p, pos);
}

/* raw copies bytes (given as hex) into the arena. */
static cbs raw(const char *hex)
{
    long n = tu_hex(g_arena + g_arena_used, sizeof g_arena - g_arena_used, hex);
    cbs out;
    cr_assert_geq(n, 0, "bad hex %s", hex);
    out = cbs_make(g_arena + g_arena_used, (size_t)n);
    g_arena_used += (size_t)n;
    return out;
}

/* cat concatenates views into the arena. */
static cbs cat(const cbs *parts, size_t n)
{
    size_t start = g_arena_used;
    for (size_t i = 0; i < n; i++) {
        cr_assert_lt(g_arena_used + parts[i].len, sizeof g_arena);
        if (parts[i].len) { memcpy(g_arena + g_arena_used, parts[i].data, parts[i].len); }
        g_arena_used += parts[i].len;
    }
    return cbs_make(g_arena + start, g_arena_used - start);
}

/* A certificate taken apart: the TBS fields (tbs[7] is the [3] extensions wrapper) and the
 * extensions list. build_cert puts it back together. */
typedef struct cert_parts {
    cbs tbs[10];
    size_t num_tbs;
    cbs ext[CBA_CERT_MAX_EXTENSIONS + 2];
    size_t num_ext;
    cbs sig_alg, sig;
} cert_parts;

static void split_cert(cbs der, cert_parts *p)
{
    cbs top[3], wrapper[1], seq[1];
    memset(p, 0, sizeof *p);
    cr_assert_eq(kids(der, top, 3), 3);
    p->num_tbs = kids(top[0], p->tbs, 10);
    cr_assert_eq(p->num_tbs, 8, "version..extensions");
    cr_assert_eq(kids(p->tbs[7], wrapper, 1), 1);
    seq[0] = wrapper[0];
    p->num_ext = kids(seq[0], p->ext, CBA_CERT_MAX_EXTENSIONS);
    p->sig_alg = top[1];
    p->sig = top[2];
}

static cbs build_cert(const cert_parts *p)
{
    cbs ext_seq = wrap(0x30, p->ext, p->num_ext), tbs_parts[10], tbs, top[3];
    for (size_t i = 0; i < p->num_tbs; i++) { tbs_parts[i] = p->tbs[i]; }
    if (p->num_tbs == 8) { tbs_parts[7] = wrap(0xa3, &ext_seq, 1); }
    tbs = wrap(0x30, tbs_parts, p->num_tbs);
    top[0] = tbs;
    top[1] = p->sig_alg;
    top[2] = p->sig;
    return wrap(0x30, top, 3);
}

/* time_of builds a UTCTime (13 chars) or GeneralizedTime (15 chars) element. */
static cbs time_elem(const char *text)
{
    size_t n = strlen(text);
    cbs body = cbs_make((const uint8_t *)text, n);
    return wrap(n == 15 ? 0x18 : 0x17, &body, 1);
}

static cba_err parse_err(cbs der, cba_error *err)
{
    cba_cert c;
    cba_error_clear(err);
    return cba_cert_parse(err, &c, der);
}

/* ---- PCK chains ------------------------------------------------------------------------ */

static void check_intel_chain(chain3 *ch, const char *serial_hex, int64_t nb, int64_t na)
{
    cba_cert *leaf = &ch->cert[0], *ca = &ch->cert[1], *root = &ch->cert[2];
    cr_assert(cbs_eq_str(leaf->subject_cn, "Intel SGX PCK Certificate"));
    cr_assert(cbs_eq_str(leaf->issuer_cn, "Intel SGX PCK Platform CA"));
    cr_assert(cbs_eq_str(ca->subject_cn, "Intel SGX PCK Platform CA"));
    cr_assert(cbs_eq_str(ca->issuer_cn, "Intel SGX Root CA"));
    cr_assert(cbs_eq_str(root->subject_cn, "Intel SGX Root CA"));
    cr_assert(cbs_eq_str(root->issuer_cn, "Intel SGX Root CA"));
    cr_assert(cbs_eq(leaf->issuer, ca->subject), "leaf issuer DN == CA subject DN");
    cr_assert(cbs_eq(ca->issuer, root->subject));
    cr_assert(cbs_eq(root->issuer, root->subject));
    assert_cbs_hex(leaf->serial, serial_hex);
    cr_assert_eq(leaf->not_before, nb);
    cr_assert_eq(leaf->not_after, na);
    cr_assert_eq(ca->not_before, 1526899810);
    cr_assert_eq(ca->not_after, 2000285410);
    cr_assert_eq(root->not_before, 1526899510);
    cr_assert_eq(root->not_after, 2524607999, "491231235959Z is 2049, not 1949");

    /* the root is byte-identical to the embedded anchor */
    cr_assert_eq(root->der.len, cba_intel_root_ca_der_len);
    cr_assert(memcmp(root->der.data, cba_intel_root_ca_der, cba_intel_root_ca_der_len) == 0);

    /* profile (dcap-spec §2.1) */
    cr_assert(leaf->has_p256_key && ca->has_p256_key && root->has_p256_key);
    cr_assert(leaf->has_basic_constraints && !leaf->is_ca && leaf->path_len == -1);
    cr_assert(ca->has_basic_constraints && ca->is_ca && ca->path_len == 0);
    cr_assert(root->has_basic_constraints && root->is_ca && root->path_len == 1);
    cr_assert_eq(leaf->key_usage, CBA_KU_DIGITAL_SIGNATURE | CBA_KU_NON_REPUDIATION);
    cr_assert_eq(ca->key_usage, CBA_KU_KEY_CERT_SIGN | CBA_KU_CRL_SIGN);
    cr_assert_eq(root->key_usage, CBA_KU_KEY_CERT_SIGN | CBA_KU_CRL_SIGN);
    cr_assert_eq(leaf->num_extensions, 6);
    cr_assert(leaf->has_sgx_ext && !ca->has_sgx_ext && !root->has_sgx_ext);
    cr_assert(cbs_eq(leaf->authority_key_id, ca->subject_key_id));
    cr_assert(cbs_eq(ca->authority_key_id, root->subject_key_id));
    assert_cbs_hex(root->subject_key_id, "22650cd65a9d3489f383b49552bf501b392706ac");
    assert_cbs_hex(root->serial, "22650cd65a9d3489f383b49552bf501b392706ac");

    /* the SPKI view is the whole element and holds the key */
    cr_assert_eq(cbs_byte(leaf->spki, 0), 0x30);
    cr_assert_eq(leaf->spki.len, 91);

    /* signatures: leaf by CA, CA by root, root by itself; never by the wrong key */
    cr_assert(cba_cert_verify_signature(leaf, ca->pub_xy));
    cr_assert(cba_cert_verify_signature(ca, root->pub_xy));
    cr_assert(cba_cert_verify_signature(root, root->pub_xy));
    cr_assert_not(cba_cert_verify_signature(leaf, root->pub_xy));
    cr_assert_not(cba_cert_verify_signature(ca, ca->pub_xy));

    /* one flipped TBS byte (in the subject CN) breaks each signature */
    for (size_t i = 0; i < 3; i++) {
        cba_cert *c = &ch->cert[i];
        uint8_t *copy = malloc(c->der.len);
        cba_cert t;
        cba_error err;
        size_t off = cbs_offset_of(c->der, c->subject_cn);
        cr_assert_not_null(copy);
        memcpy(copy, c->der.data, c->der.len);
        copy[off] ^= 0x01; /* 'I' -> 'H': still a valid UTF8String */
        cr_assert_eq(cba_cert_parse(&err, &t, cbs_make(copy, c->der.len)), CBA_OK);
        cr_assert_not(cba_cert_verify_signature(&t, i < 2 ? ch->cert[i + 1].pub_xy
                                                           : root->pub_xy),
                      "cert %zu: a tampered TBS must not verify", i);
        free(copy);
    }
}

Test(x509, dcap_qvl_pck_chain)
{
    chain3 ch;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    check_intel_chain(&ch, "3c16ed54eacbb4ced072be72630c85788cf46e36", 1738884351, 1959722751);
    free_chain(&ch);
}

Test(x509, crabbox_pck_chain)
{
    chain3 ch;
    load_chain(&ch, "crabbox/real_tdx_quote.bin");
    check_intel_chain(&ch, "d641301aeab93dd651451be3906539ccf773a881", 1769664726, 1990589526);
    free_chain(&ch);
}

Test(x509, embedded_root)
{
    static const char k_sha[] = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
    uint8_t digest[32], want[32];
    cbs root = cbs_make(cba_intel_root_ca_der, cba_intel_root_ca_der_len);
    cba_cert c;
    cba_error err;
    cr_assert_eq(cba_intel_root_ca_der_len, 659);
    cr_assert(cba_sha256(digest, &root, 1));
    hex_to(want, 32, k_sha);
    cr_assert(memcmp(digest, want, 32) == 0, "embedded root hash");
    cr_assert_eq(cba_cert_parse(&err, &c, root), CBA_OK);
    cr_assert(cba_cert_verify_signature(&c, c.pub_xy));
    hex_to(want, 32, "0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5");
    cr_assert(memcmp(c.pub_xy, want, 32) == 0);
    hex_to(want, 32, "67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394");
    cr_assert(memcmp(c.pub_xy + 32, want, 32) == 0);
}

/* ---- SGX extension --------------------------------------------------------------------- */

Test(x509, sgx_ext_dcap_qvl_leaf)
{
    chain3 ch;
    cba_sgx_ext e;
    cba_error err;
    uint8_t want[16];
    cbs found;
    static const uint8_t k_sgx_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    cr_assert(cba_cert_find_extension(&ch.cert[0], k_sgx_oid, sizeof k_sgx_oid, &found));
    cr_assert(cbs_eq(found, ch.cert[0].sgx_ext));
    cr_assert_eq(cba_sgx_ext_parse(&err, &e, ch.cert[0].sgx_ext), CBA_OK, "%s: %s", err.where,
                 err.detail);
    hex_to(want, 6, "b0c06f000000");
    cr_assert(memcmp(e.fmspc, want, 6) == 0);
    cr_assert(e.pce_id[0] == 0 && e.pce_id[1] == 0);
    hex_to(want, 16, "811dca2a26b952e85bb6448b097ba4fd");
    cr_assert(memcmp(e.ppid, want, 16) == 0);
    hex_to(want, 16, "03030202040100050000000000000000");
    cr_assert(memcmp(e.comp_svn, want, 16) == 0, "components from the INTEGERs");
    cr_assert(memcmp(e.cpusvn, want, 16) == 0, "CPUSVN OCTET STRING");
    cr_assert_eq(e.pcesvn, 11);
    cr_assert_eq(e.sgx_type, 1);
    cr_assert(e.has_platform_instance_id && e.has_configuration);
    cr_assert(e.dynamic_platform && e.cached_keys && e.smt_enabled);
    free_chain(&ch);
}

Test(x509, sgx_ext_crabbox_leaf)
{
    chain3 ch;
    cba_sgx_ext e;
    cba_error err;
    uint8_t want[16];
    load_chain(&ch, "crabbox/real_tdx_quote.bin");
    cr_assert_eq(cba_sgx_ext_parse(&err, &e, ch.cert[0].sgx_ext), CBA_OK);
    hex_to(want, 6, "20a06f000000");
    cr_assert(memcmp(e.fmspc, want, 6) == 0);
    cr_assert(e.pce_id[0] == 0 && e.pce_id[1] == 0);
    hex_to(want, 16, "0505020205ff00020000000000000000");
    cr_assert(memcmp(e.comp_svn, want, 16) == 0, "component 6 is 255 (02 02 00 FF)");
    cr_assert_eq(e.pcesvn, 13);
    free_chain(&ch);
}

/* sgx_members splits the dcap-qvl leaf's extension into its top-level members. */
typedef struct sgx_fixture {
    chain3 ch;
    cbs member[12];
    size_t num_members;
    cbs tcb_entry[20]; /* entries of the TCB member's SEQUENCE */
    size_t num_tcb;
    cbs tcb_oid;
} sgx_fixture;

static void sgx_split(sgx_fixture *f)
{
    cbs m[2];
    load_chain(&f->ch, "dcap-qvl-tdx/tdx_quote");
    f->num_members = kids(f->ch.cert[0].sgx_ext, f->member, 12);
    cr_assert_eq(f->num_members, 7);
    cr_assert_eq(kids(f->member[1], m, 2), 2, "TCB member: OID, SEQUENCE");
    f->tcb_oid = m[0];
    f->num_tcb = kids(m[1], f->tcb_entry, 20);
    cr_assert_eq(f->num_tcb, 18);
}

static cbs sgx_build(const cbs *members, size_t n)
{
    return wrap(0x30, members, n);
}

static cbs tcb_member(const sgx_fixture *f, const cbs *entries, size_t n)
{
    cbs seq = wrap(0x30, entries, n), parts[2] = { f->tcb_oid, seq };
    return wrap(0x30, parts, 2);
}

static void expect_sgx_fail(cbs ext, const char *where)
{
    cba_sgx_ext e;
    cba_error err;
    cba_error_clear(&err);
    memset(&e, 0x5a, sizeof e);
    cr_assert_eq(cba_sgx_ext_parse(&err, &e, ext), CBA_E_PCK_EXTENSION, "want %s", where);
    cr_assert_str_eq(err.where, where);
    for (size_t i = 0; i < sizeof e; i++) {
        cr_assert_eq(((uint8_t *)&e)[i], 0x5a, "output written on failure");
    }
}

Test(x509, sgx_ext_rebuilt_identical)
{
    sgx_fixture f;
    cba_sgx_ext e;
    cbs m[7];
    sgx_split(&f);
    memcpy(m, f.member, sizeof m);
    m[1] = tcb_member(&f, f.tcb_entry, 18);
    cr_assert(cbs_eq(sgx_build(m, 7), f.ch.cert[0].sgx_ext), "the builder is faithful");
    cr_assert_eq(cba_sgx_ext_parse(NULL, &e, sgx_build(m, 7)), CBA_OK);
    free_chain(&f.ch);
}

Test(x509, sgx_ext_duplicate_member)
{
    sgx_fixture f;
    cbs m[8];
    sgx_split(&f);
    memcpy(m, f.member, 7 * sizeof(cbs));
    m[7] = f.member[0]; /* PPID twice */
    expect_sgx_fail(sgx_build(m, 8), "pck.sgx_ext.ppid");
    m[7] = f.member[3]; /* FMSPC twice */
    expect_sgx_fail(sgx_build(m, 8), "pck.sgx_ext.fmspc");
    free_chain(&f.ch);
}

Test(x509, sgx_ext_missing_member)
{
    sgx_fixture f;
    cbs m[7];
    sgx_split(&f);
    /* drop FMSPC (index 3) */
    memcpy(m, f.member, 3 * sizeof(cbs));
    memcpy(m + 3, f.member + 4, 3 * sizeof(cbs));
    expect_sgx_fail(sgx_build(m, 6), "pck.sgx_ext.fmspc");
    /* drop SGX type (index 4) */
    memcpy(m, f.member, 4 * sizeof(cbs));
    memcpy(m + 4, f.member + 5, 2 * sizeof(cbs));
    expect_sgx_fail(sgx_build(m, 6), "pck.sgx_ext.sgx_type");
    /* the optional .6/.7 may go */
    {
        cba_sgx_ext e;
        cr_assert_eq(cba_sgx_ext_parse(NULL, &e, sgx_build(f.member, 5)), CBA_OK);
        cr_assert_not(e.has_platform_instance_id || e.has_configuration);
    }
    free_chain(&f.ch);
}

Test(x509, sgx_ext_tcb_entries)
{
    sgx_fixture f;
    cbs m[7], t[19];
    sgx_split(&f);
    memcpy(m, f.member, sizeof m);
    /* 17 entries */
    m[1] = tcb_member(&f, f.tcb_entry, 17);
    expect_sgx_fail(sgx_build(m, 7), "pck.sgx_ext.tcb");
    /* 19 entries (one repeated) */
    memcpy(t, f.tcb_entry, 18 * sizeof(cbs));
    t[18] = f.tcb_entry[0];
    m[1] = tcb_member(&f, t, 19);
    expect_sgx_fail(sgx_build(m, 7), "pck.sgx_ext.tcb");
    /* 18 entries with .2.1 twice and .2.2 missing */
    memcpy(t, f.tcb_entry, 18 * sizeof(cbs));
    t[1] = f.tcb_entry[0];
    m[1] = tcb_member(&f, t, 18);
    expect_sgx_fail(sgx_build(m, 7), "pck.sgx_ext.tcb");
    /* reordered entries are fine (each exactly once) */
    memcpy(t, f.tcb_entry, 18 * sizeof(cbs));
    t[0] = f.tcb_entry[1];
    t[1] = f.tcb_entry[0];
    m[1] = tcb_member(&f, t, 18);
    {
        cba_sgx_ext e;
        cr_assert_eq(cba_sgx_ext_parse(NULL, &e, sgx_build(m, 7)), CBA_OK);
        cr_assert_eq(e.comp_svn[0], 3);
    }
    free_chain(&f.ch);
}

/* tcb_entry_with replaces entry i's value with `value_hex` (a whole element). */
static cbs tcb_entry_with(const sgx_fixture *f, size_t i, const char *value_hex)
{
    cbs parts[2];
    cr_assert_eq(kids(f->tcb_entry[i], parts, 2), 2);
    parts[1] = raw(value_hex);
    return wrap(0x30, parts, 2);
}

Test(x509, sgx_ext_value_ranges)
{
    static const struct {
        size_t entry;
        const char *value;
        bool ok;
    } rows[] = {
        { 0, "020200ff", true },  /* 255 */
        { 0, "02020100", false }, /* component SVN 256 */
        { 0, "0201ff", false },   /* -1 */
        { 0, "02020005", false }, /* non-minimal */
        { 0, "0a0105", false },   /* ENUMERATED instead of INTEGER */
        { 0, "040105", false },
        { 16, "020300ffff", true },   /* PCESVN 65535 */
        { 16, "0203010000", false },  /* PCESVN 65536 */
        { 17, "040f000000000000000000000000000000", false }, /* CPUSVN 15 bytes */
        { 17, "04100000000000000000000000000000000000", false }, /* 16 bytes + trailing */
        { 17, "020100", false },
    };
    sgx_fixture f;
    sgx_split(&f);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        cbs m[7], t[18];
        cba_sgx_ext e;
        cba_error err;
        memcpy(m, f.member, sizeof m);
        memcpy(t, f.tcb_entry, sizeof t);
        t[rows[r].entry] = tcb_entry_with(&f, rows[r].entry, rows[r].value);
        m[1] = tcb_member(&f, t, 18);
        cba_error_clear(&err);
        cr_assert_eq(cba_sgx_ext_parse(&err, &e, sgx_build(m, 7)),
                     rows[r].ok ? CBA_OK : CBA_E_PCK_EXTENSION, "row %zu", r);
        if (!rows[r].ok) { cr_assert_str_eq(err.where, "pck.sgx_ext.tcb"); }
    }
    free_chain(&f.ch);
}

Test(x509, sgx_ext_member_values)
{
    static const struct {
        size_t member;
        const char *oid; /* member OID element */
        const char *value;
        const char *where; /* NULL: accepted */
    } rows[] = {
        { 2, "060a2a864886f84d010d0103", "04020000", NULL },
        { 2, "060a2a864886f84d010d0103", "0403000000", "pck.sgx_ext.pce_id" },
        { 3, "060a2a864886f84d010d0104", "0405b0c06f0000", "pck.sgx_ext.fmspc" },
        { 3, "060a2a864886f84d010d0104", "0c06b0c06f000000", "pck.sgx_ext.fmspc" },
        { 4, "060a2a864886f84d010d0105", "0a0102", NULL },
        { 4, "060a2a864886f84d010d0105", "0a0103", "pck.sgx_ext.sgx_type" },
        { 4, "060a2a864886f84d010d0105", "020101", "pck.sgx_ext.sgx_type" },
        { 0, "060a2a864886f84d010d0101", "040f000000000000000000000000000000",
          "pck.sgx_ext.ppid" },
        { 5, "060a2a864886f84d010d0106", "04110000000000000000000000000000000000",
          "pck.sgx_ext.platform_instance_id" },
        /* configuration: an unknown member .7.4 and a non-BOOLEAN value */
        { 6, "060a2a864886f84d010d0107", "30123010060b2a864886f84d010d0107040101ff",
          "pck.sgx_ext.configuration" },
        { 6, "060a2a864886f84d010d0107", "30123010060b2a864886f84d010d0107010201ff",
          "pck.sgx_ext.configuration" },
        { 6, "060a2a864886f84d010d0107", "3000", NULL },
    };
    sgx_fixture f;
    sgx_split(&f);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        cbs m[7], parts[2];
        cba_sgx_ext e;
        cba_error err;
        memcpy(m, f.member, sizeof m);
        parts[0] = raw(rows[r].oid);
        parts[1] = raw(rows[r].value);
        m[rows[r].member] = wrap(0x30, parts, 2);
        cba_error_clear(&err);
        if (rows[r].where == NULL) {
            cr_assert_eq(cba_sgx_ext_parse(&err, &e, sgx_build(m, 7)), CBA_OK, "row %zu: %s", r,
                         err.detail);
        } else {
            expect_sgx_fail(sgx_build(m, 7), rows[r].where);
        }
    }
    free_chain(&f.ch);
}

Test(x509, sgx_ext_unknown_member_and_trailing)
{
    sgx_fixture f;
    cbs m[8], parts[2], ext, with_trailing[2];
    cba_sgx_ext e;
    sgx_split(&f);
    memcpy(m, f.member, 7 * sizeof(cbs));
    parts[0] = raw("060a2a864886f84d010d0109"); /* .9: unknown, tolerated */
    parts[1] = raw("0c0378797a");
    m[7] = wrap(0x30, parts, 2);
    cr_assert_eq(cba_sgx_ext_parse(NULL, &e, sgx_build(m, 8)), CBA_OK);
    /* the same unknown member twice is still a repeat */
    m[6] = m[7];
    expect_sgx_fail(sgx_build(m, 8), "pck.sgx_ext");
    /* a byte after the SEQUENCE, and a member with a trailing element */
    ext = sgx_build(f.member, 7);
    with_trailing[0] = ext;
    with_trailing[1] = raw("00");
    expect_sgx_fail(cat(with_trailing, 2), "pck.sgx_ext");
    memcpy(m, f.member, 7 * sizeof(cbs));
    {
        cbs ppid[2], three[3];
        cr_assert_eq(kids(f.member[0], ppid, 2), 2);
        three[0] = ppid[0];
        three[1] = ppid[1];
        three[2] = raw("0500");
        m[0] = wrap(0x30, three, 3);
    }
    expect_sgx_fail(sgx_build(m, 7), "pck.sgx_ext");
    free_chain(&f.ch);
}

/* ---- certificate malformations (built by editing the real leaf) ------------------------ */

Test(x509, cert_rebuild_identical)
{
    chain3 ch;
    cert_parts p;
    cbs again;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    split_cert(ch.cert[0].der, &p);
    again = build_cert(&p);
    cr_assert(cbs_eq(again, ch.cert[0].der), "the builder reproduces the real leaf");
    free_chain(&ch);
}

Test(x509, cert_every_truncation_fails)
{
    chain3 ch;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    for (size_t i = 0; i < 3; i++) {
        cbs der = ch.cert[i].der;
        for (size_t n = 0; n < der.len; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches any over-read */
            cba_cert c;
            cba_error err;
            cr_assert_not_null(copy);
            if (n) { memcpy(copy, der.data, n); }
            cba_error_clear(&err);
            cr_assert_neq(cba_cert_parse(&err, &c, cbs_make(copy, n)), CBA_OK, "cert %zu len %zu",
                          i, n);
            cr_assert_eq(err.code, CBA_E_DER, "a truncation is a framing error");
            free(copy);
        }
    }
    free_chain(&ch);
}

Test(x509, cert_framing_errors)
{
    chain3 ch;
    cba_error err;
    cbs der, parts[3];
    uint8_t *copy;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    der = ch.cert[0].der;
    copy = malloc(der.len + 8);
    cr_assert_not_null(copy);

    /* flipped outer tag (SEQUENCE -> SET) */
    memcpy(copy, der.data, der.len);
    copy[0] = 0x31;
    cr_assert_eq(parse_err(cbs_make(copy, der.len), &err), CBA_E_DER);
    cr_assert_str_eq(err.where, "cert");
    /* flipped TBS tag */
    memcpy(copy, der.data, der.len);
    copy[4] = 0x31;
    cr_assert_eq(parse_err(cbs_make(copy, der.len), &err), CBA_E_DER);
    cr_assert_str_eq(err.where, "cert.tbs");
    /* trailing byte after the certificate */
    memcpy(copy, der.data, der.len);
    copy[der.len] = 0x00;
    cr_assert_eq(parse_err(cbs_make(copy, der.len + 1), &err), CBA_E_DER);
    /* non-minimal outer length: 30 82 LL LL -> 30 83 00 LL LL */
    copy[0] = 0x30;
    copy[1] = 0x83;
    copy[2] = 0x00;
    memcpy(copy + 3, der.data + 2, der.len - 2);
    cr_assert_eq(parse_err(cbs_make(copy, der.len + 1), &err), CBA_E_DER);
    /* indefinite length: 30 80 <contents> 00 00 */
    copy[1] = 0x80;
    memcpy(copy + 2, der.data + 4, der.len - 4);
    copy[der.len - 2] = 0;
    copy[der.len - 1] = 0;
    cr_assert_eq(parse_err(cbs_make(copy, der.len), &err), CBA_E_DER);
    free(copy);

    /* long form for a short length, inside the TBS: version A0 03 -> A0 81 03 */
    {
        cert_parts p;
        split_cert(der, &p);
        p.tbs[0] = raw("a08103020102");
        cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_DER);
        cr_assert_str_eq(err.where, "cert.tbs.version");
    }
    /* a trailing element inside the TBS and inside the outer SEQUENCE */
    {
        cert_parts p;
        split_cert(der, &p);
        p.tbs[p.num_tbs++] = raw("0500");
        cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_DER);
    }
    cr_assert_eq(kids(der, parts, 3), 3);
    {
        cbs four[4] = { parts[0], parts[1], parts[2], raw("0500") };
        cr_assert_eq(parse_err(wrap(0x30, four, 4), &err), CBA_E_DER);
    }
    free_chain(&ch);
}

/* expect_cert builds the leaf with TBS field `field` replaced by `elem` and expects `code`. */
static void expect_field(cbs der, size_t field, cbs elem, cba_err code, const char *where)
{
    cert_parts p;
    cba_error err;
    split_cert(der, &p);
    p.tbs[field] = elem;
    cr_assert_eq(parse_err(build_cert(&p), &err), code, "field %zu: got %d (%s: %s)", field,
                 err.code, err.where, err.detail);
    if (where) { cr_assert_str_eq(err.where, where); }
}

Test(x509, cert_profile_errors)
{
    chain3 ch;
    cbs der;
    cbs validity[2];
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    der = ch.cert[0].der;
    /* version v2 (INTEGER 1) and v1 (absent: the serial comes first) */
    expect_field(der, 0, raw("a003020101"), CBA_E_CERT_INVALID, "cert.tbs.version");
    {
        cert_parts p;
        cba_error err;
        split_cert(der, &p);
        memmove(p.tbs, p.tbs + 1, 7 * sizeof(cbs));
        p.num_tbs = 7;
        p.tbs[6] = wrap(0xa3, (cbs[]){ wrap(0x30, p.ext, p.num_ext) }, 1);
        {
            cbs tbs = wrap(0x30, p.tbs, 7), top[3] = { tbs, p.sig_alg, p.sig };
            cr_assert_eq(parse_err(wrap(0x30, top, 3), &err), CBA_E_CERT_INVALID);
            cr_assert_str_eq(err.where, "cert.tbs.version");
        }
    }
    /* serial: negative, zero, non-minimal, 21 bytes; 20 bytes with a sign octet is fine */
    expect_field(der, 1, raw("020180"), CBA_E_CERT_INVALID, "cert.tbs.serial");
    expect_field(der, 1, raw("020100"), CBA_E_CERT_INVALID, "cert.tbs.serial");
    expect_field(der, 1, raw("02020001"), CBA_E_CERT_INVALID, "cert.tbs.serial");
    expect_field(der, 1, raw("0215010203040506070809101112131415161718192021"),
                 CBA_E_CERT_INVALID, "cert.tbs.serial");
    expect_field(der, 1, raw("021500ff02030405060708091011121314151617181920"), CBA_OK, NULL);
    /* TBS signature algorithm: SHA-384, or with NULL parameters */
    expect_field(der, 2, raw("300a06082a8648ce3d040303"), CBA_E_CERT_INVALID,
                 "cert.tbs.signature");
    expect_field(der, 2, raw("300c06082a8648ce3d0403020500"), CBA_E_CERT_INVALID,
                 "cert.tbs.signature");
    /* validity */
    validity[0] = time_elem("250206232551Z");
    validity[1] = time_elem("3202062325Z"); /* no seconds */
    expect_field(der, 4, wrap(0x30, validity, 2), CBA_E_CERT_INVALID, "cert.tbs.validity");
    validity[1] = time_elem("250230000000Z"); /* Feb 30 */
    expect_field(der, 4, wrap(0x30, validity, 2), CBA_E_CERT_INVALID, "cert.tbs.validity");
    validity[1] = time_elem("500101000000Z"); /* 1950, before notBefore */
    expect_field(der, 4, wrap(0x30, validity, 2), CBA_E_CERT_INVALID, "cert.tbs.validity");
    validity[1] = time_elem("20320206232551Z"); /* GeneralizedTime before 2050 */
    expect_field(der, 4, wrap(0x30, validity, 2), CBA_E_CERT_INVALID, "cert.tbs.validity");
    validity[1] = time_elem("20600206232551Z"); /* GeneralizedTime from 2050: fine */
    expect_field(der, 4, wrap(0x30, validity, 2), CBA_OK, NULL);
    {
        /* the pivot: 50 is 1950 and 49 is 2049 */
        cert_parts p;
        cba_cert c;
        split_cert(der, &p);
        validity[0] = time_elem("500101000000Z");
        validity[1] = time_elem("491231235959Z");
        p.tbs[4] = wrap(0x30, validity, 2);
        cr_assert_eq(cba_cert_parse(NULL, &c, build_cert(&p)), CBA_OK);
        cr_assert_eq(c.not_before, -631152000);
        cr_assert_eq(c.not_after, 2524607999);
    }
    /* unique identifiers [1] after the SPKI */
    {
        cert_parts p;
        cba_error err;
        split_cert(der, &p);
        p.tbs[8] = p.tbs[7];
        p.tbs[7] = raw("81020001");
        p.num_tbs = 9;
        {
            cbs ext_seq = wrap(0x30, p.ext, p.num_ext);
            p.tbs[8] = wrap(0xa3, &ext_seq, 1);
            cbs tbs = wrap(0x30, p.tbs, 9), top[3] = { tbs, p.sig_alg, p.sig };
            cr_assert_eq(parse_err(wrap(0x30, top, 3), &err), CBA_E_CERT_INVALID);
        }
    }
    free_chain(&ch);
}

Test(x509, cert_name_and_key_errors)
{
    chain3 ch;
    cbs der;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    der = ch.cert[0].der;
    /* issuer: CN twice, CN as IA5String, PrintableString with '*', NUL in CN, empty Name */
    expect_field(der, 3, raw("301a310b3009060355040313024142310b300906035504031302434"
                             "4"),
                 CBA_E_CERT_INVALID, "cert.tbs.issuer");
    expect_field(der, 3, raw("300d310b3009060355040316024142"), CBA_E_CERT_INVALID,
                 "cert.tbs.issuer");
    expect_field(der, 3, raw("300d310b300906035504031302412a"), CBA_E_CERT_INVALID,
                 "cert.tbs.issuer");
    expect_field(der, 3, raw("300d310b300906035504030c024100"), CBA_E_CERT_INVALID,
                 "cert.tbs.issuer");
    expect_field(der, 3, raw("3000"), CBA_E_CERT_INVALID, "cert.tbs.issuer");
    expect_field(der, 3, raw("30023100"), CBA_E_DER, "cert.tbs.issuer"); /* empty RDN */
    /* a Name without CN parses with an empty CN view */
    {
        cert_parts p;
        cba_cert c;
        split_cert(der, &p);
        p.tbs[5] = raw("300d310b3009060355040613025553");
        cr_assert_eq(cba_cert_parse(NULL, &c, build_cert(&p)), CBA_OK);
        cr_assert_eq(c.subject_cn.len, 0);
    }
    /* SPKI: point not on the curve; key BIT STRING with unused bits; an Ed25519 key */
    {
        uint8_t spki[91];
        cbs s = ch.cert[0].spki;
        memcpy(spki, s.data, s.len);
        spki[90] ^= 0x01; /* last byte of Y */
        expect_field(der, 6, cbs_make(spki, sizeof spki), CBA_E_CERT_INVALID, "cert.tbs.spki");
        memcpy(spki, s.data, s.len);
        spki[25] = 0x01; /* unused-bits octet of the key BIT STRING */
        expect_field(der, 6, cbs_make(spki, sizeof spki), CBA_E_CERT_INVALID, "cert.tbs.spki");
    }
    {
        cert_parts p;
        cba_cert c;
        split_cert(der, &p);
        p.tbs[6] = raw("302a300506032b6570032100"
                       "0102030405060708091011121314151617181920212223242526272829303132");
        cr_assert_eq(cba_cert_parse(NULL, &c, build_cert(&p)), CBA_OK);
        cr_assert_not(c.has_p256_key);
    }
    free_chain(&ch);
}

Test(x509, cert_signature_errors)
{
    chain3 ch;
    cert_parts p;
    cba_error err;
    cbs sig_bits[1];
    uint8_t bits[80];
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    split_cert(ch.cert[0].der, &p);
    /* outer algorithm differs from the TBS one */
    p.sig_alg = raw("300a06082a8648ce3d040303");
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    cr_assert_str_eq(err.where, "cert.signature");
    /* BIT STRING with unused bits */
    split_cert(ch.cert[0].der, &p);
    cr_assert_leq(p.sig.len, sizeof bits);
    memcpy(bits, p.sig.data, p.sig.len);
    bits[2] = 0x01;
    p.sig = cbs_make(bits, p.sig.len);
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    /* ECDSA-Sig-Value with a trailing byte */
    split_cert(ch.cert[0].der, &p);
    {
        cbs body = p.sig, inner_parts[2];
        uint8_t tag;
        size_t hl;
        cbs e;
        cr_assert(cbs_get_any_asn1_element(&body, &e, &tag, &hl));
        cr_assert(cbs_skip(&e, hl + 1)); /* skip header and the unused-bits octet */
        inner_parts[0] = raw("00");
        {
            cbs seq_kids[2];
            cr_assert_eq(kids(e, seq_kids, 2), 2);
            cbs three[3] = { seq_kids[0], seq_kids[1], raw("0500") };
            inner_parts[1] = wrap(0x30, three, 3);
        }
        sig_bits[0] = cat(inner_parts, 2);
        p.sig = wrap(0x03, sig_bits, 1);
    }
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    free_chain(&ch);
}

Test(x509, cert_extension_rules)
{
    chain3 ch;
    cert_parts p;
    cba_error err;
    cba_cert c;
    cbs der;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    der = ch.cert[0].der;

    /* unknown critical extension */
    split_cert(der, &p);
    p.ext[p.num_ext++] = raw("300c06032a03040101ff04020500");
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    cr_assert_str_eq(err.where, "cert.tbs.extensions");
    /* the same, not critical: tolerated and findable */
    split_cert(der, &p);
    p.ext[p.num_ext++] = raw("300906032a030404020500");
    cr_assert_eq(cba_cert_parse(NULL, &c, build_cert(&p)), CBA_OK);
    {
        static const uint8_t oid[] = { 0x2a, 0x03, 0x04 };
        cbs v;
        cr_assert(cba_cert_find_extension(&c, oid, sizeof oid, &v));
        assert_cbs_hex(v, "0500");
        cr_assert_not(cba_cert_find_extension(&c, oid, 2, &v));
        cr_assert_eq(c.num_extensions, 7);
    }
    /* critical FALSE written out (DEFAULT must be absent) */
    split_cert(der, &p);
    p.ext[p.num_ext++] = raw("300c06032a030401010004020500");
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    /* a repeated extension (KeyUsage twice) */
    split_cert(der, &p);
    p.ext[p.num_ext] = p.ext[3];
    p.num_ext++;
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    /* the SGX extension marked critical */
    split_cert(der, &p);
    {
        cbs k[2], crit[3];
        cr_assert_eq(kids(p.ext[5], k, 2), 2);
        crit[0] = k[0];
        crit[1] = raw("0101ff");
        crit[2] = k[1];
        p.ext[5] = wrap(0x30, crit, 3);
    }
    cr_assert_eq(parse_err(build_cert(&p), &err), CBA_E_CERT_INVALID);
    cr_assert_str_eq(err.where, "cert.ext.sgx");
    free_chain(&ch);
}

Test(x509, cert_known_extension_values)
{
    static const struct {
        size_t index;       /* which extension of the leaf to replace */
        const char *ext;    /* the whole Extension element */
        cba_err want;
        const char *where;
    } rows[] = {
        /* BasicConstraints: cA FALSE explicit; pathLen without cA; fine CA with pathLen 3 */
        { 4, "300f0603551d130101ff040530030101 00", CBA_E_CERT_INVALID, NULL },
        { 4, "300f0603551d130101ff0405300302010 3", CBA_E_CERT_INVALID, NULL },
        { 4, "30120603551d130101ff040830060101ff020103", CBA_OK, NULL },
        { 4, "30120603551d130101ff040830060101ff0201ff", CBA_E_CERT_INVALID, NULL },
        /* KeyUsage: no bit set; bit 9; padding bit set */
        { 3, "300d0603551d0f0101ff0403030100", CBA_E_CERT_INVALID, NULL },
        { 3, "300f0603551d0f0101ff040503030600 40", CBA_E_CERT_INVALID, NULL },
        { 3, "300e0603551d0f0101ff04040302 06c1", CBA_E_CERT_INVALID, NULL },
        /* SKI critical; SKI empty; AKI critical; AKI with [1] but no [2] */
        { 2, "30200603551d0e0101ff04160414abb69a0c1e8a557559e916c02b4b19af8044fbd9",
          CBA_E_CERT_INVALID, "cert.ext.ski" },
        { 2, "30090603551d0e04020400", CBA_E_CERT_INVALID, "cert.ext.ski" },
        { 0, "30220603551d230101ff0418301680 14956f5dcdbd1be1e94049c9d4f433ce01570bde54",
          CBA_E_CERT_INVALID, "cert.ext.aki" },
        { 0, "300f0603551d2304083006a104a4023000", CBA_E_CERT_INVALID, "cert.ext.aki" },
        /* CRL-DP: empty list; DistributionPoint without name or issuer */
        { 1, "30090603551d1f04023000", CBA_E_CERT_INVALID, "cert.ext.crl_dp" },
        { 1, "300b0603551d1f04043002 3000", CBA_E_CERT_INVALID, "cert.ext.crl_dp" },
        /* ExtendedKeyUsage and SubjectAltName are known */
        { 1, "30130603551d25040c300a06082b06010505070302", CBA_OK, NULL },
        { 1, "30110603551d11040a3008820678797a2e696f", CBA_OK, NULL },
        { 1, "30110603551d11040a3008 0c0678797a2e696f", CBA_E_CERT_INVALID, "cert.ext.san" },
    };
    chain3 ch;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        cert_parts p;
        cba_error err;
        char hex[200];
        size_t n = 0;
        /* the table's hex may contain spaces for readability */
        for (const char *s = rows[r].ext; *s && n + 1 < sizeof hex; s++) {
            if (*s != ' ') { hex[n++] = *s; }
        }
        hex[n] = '\0';
        split_cert(ch.cert[0].der, &p);
        p.ext[rows[r].index] = raw(hex);
        cr_assert_eq(parse_err(build_cert(&p), &err), rows[r].want, "row %zu: %s: %s", r,
                     err.where, err.detail);
        if (rows[r].where) { cr_assert_str_eq(err.where, rows[r].where, "row %zu", r); }
    }
    free_chain(&ch);
}

/* ---- the dstack RA-TLS app certificate -------------------------------------------------- */

Test(x509, dstack_app_cert)
{
    static const uint8_t k_oid_quote[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe7, 0x3d, 0x01,
                                           0x01 };
    tu_buf info, quote;
    char *pem;
    size_t pem_len;
    uint8_t *der;
    cba_pem_chain chain;
    cba_cert leaf, ca, kms;
    cba_error err;
    cbs value, inner;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &quote);
    pem = json_string(&info, "app_cert", &pem_len);
    der = malloc(pem_len);
    cr_assert_not_null(der);
    cba_error_clear(&err);
    cr_assert_eq(cba_pem_chain_decode(&err, &chain, cbs_make((const uint8_t *)pem, pem_len), der,
                                      pem_len),
                 CBA_OK, "%s", err.detail);
    cr_assert_eq(chain.num_certs, 3);
    cr_assert_gt(chain.certs[0].len, 12000);
    cr_assert_eq(cba_cert_parse(&err, &leaf, chain.certs[0]), CBA_OK, "%s: %s", err.where,
                 err.detail);
    cr_assert_eq(cba_cert_parse(&err, &ca, chain.certs[1]), CBA_OK);
    cr_assert_eq(cba_cert_parse(&err, &kms, chain.certs[2]), CBA_OK);
    cr_assert(cbs_eq_str(leaf.subject_cn, "demo-cert"));
    cr_assert(cbs_eq_str(leaf.issuer_cn, "Dstack App CA"));
    cr_assert(cbs_eq_str(kms.subject_cn, "Dstack KMS CA"));
    cr_assert(leaf.has_p256_key && leaf.has_key_usage);
    cr_assert_eq(leaf.key_usage, CBA_KU_DIGITAL_SIGNATURE, "rcgen's 9-bit KeyUsage");
    cr_assert_eq(leaf.not_before, 157766400);
    cr_assert_eq(leaf.not_after, 2096881719);
    cr_assert(ca.is_ca && ca.path_len == 0 && kms.is_ca && kms.path_len == 1);
    cr_assert(cba_cert_verify_signature(&leaf, ca.pub_xy));
    cr_assert(cba_cert_verify_signature(&ca, kms.pub_xy));
    cr_assert(cba_cert_verify_signature(&kms, kms.pub_xy));

    /* extension .1.1 = OCTET STRING wrapping the raw quote */
    cr_assert(cba_cert_find_extension(&leaf, k_oid_quote, sizeof k_oid_quote, &value));
    cr_assert(cbs_get_asn1(&value, &inner, CBS_ASN1_OCTETSTRING) && value.len == 0);
    cr_assert_eq(inner.len, quote.len);
    cr_assert(memcmp(inner.data, quote.data, quote.len) == 0);

    /* REPORTDATA = SHA512("ratls-cert:" || SPKI) — the spki view is exactly the signed key */
    {
        static const char k_rd[] = "997dfa609c1256a26b7b7f10cc60e5ec28bffd805fb1536a5387510787b4"
                                    "79db9c52d3c8ea37b1e85ab673075bbe213361a61a60c95f4960aca49d1"
                                    "2b32bfbdf";
        uint8_t want[64], got[64];
        cbs parts[2] = { cbs_make((const uint8_t *)"ratls-cert:", 11), leaf.spki };
        hex_to(want, 64, k_rd);
        cr_assert(cba_sha512(got, parts, 2));
        cr_assert(memcmp(got, want, 64) == 0);
    }
    free(der);
    free(pem);
    tu_buf_free(&quote);
    tu_buf_free(&info);
}

/* ---- CRLs -------------------------------------------------------------------------------- */

Test(x509, collateral_crls)
{
    tu_buf json;
    chain3 ch;
    uint8_t *root_der, *pck_der;
    size_t root_len, pck_len;
    cba_crl root_crl, pck_crl;
    cba_error err;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &json);
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    root_der = json_hex(&json, "root_ca_crl", &root_len);
    pck_der = json_hex(&json, "pck_crl", &pck_len);

    cr_assert_eq(cba_crl_parse(&err, &root_crl, cbs_make(root_der, root_len)), CBA_OK, "%s: %s",
                 err.where, err.detail);
    cr_assert_eq(root_crl.num_revoked, 0);
    cr_assert_eq(root_crl.revoked.len, 0);
    cr_assert(root_crl.has_crl_number && root_crl.has_aki);
    assert_cbs_hex(root_crl.crl_number, "01");
    cr_assert(cbs_eq(root_crl.aki_key_id, ch.cert[2].subject_key_id));
    cr_assert(cbs_eq(root_crl.issuer, ch.cert[2].subject));
    cr_assert_eq(root_crl.this_update, 1742469717);
    cr_assert_eq(root_crl.next_update, 1775215317);
    cr_assert(cba_crl_verify_signature(&root_crl, ch.cert[2].pub_xy));
    cr_assert_not(cba_crl_verify_signature(&root_crl, ch.cert[1].pub_xy));
    cr_assert_not(cba_crl_lists_serial(&root_crl, ch.cert[1].serial));

    cr_assert_eq(cba_crl_parse(&err, &pck_crl, cbs_make(pck_der, pck_len)), CBA_OK, "%s: %s",
                 err.where, err.detail);
    cr_assert_eq(pck_crl.num_revoked, 44);
    cr_assert(cbs_eq(pck_crl.issuer, ch.cert[1].subject), "issued by the Platform CA");
    cr_assert(cbs_eq(pck_crl.aki_key_id, ch.cert[1].subject_key_id));
    cr_assert_eq(pck_crl.this_update, 1750327235);
    cr_assert_eq(pck_crl.next_update, 1752919235);
    cr_assert(cba_crl_verify_signature(&pck_crl, ch.cert[1].pub_xy));
    cr_assert_not(cba_crl_verify_signature(&pck_crl, ch.cert[2].pub_xy));
    cr_assert_not(cba_crl_lists_serial(&pck_crl, ch.cert[0].serial), "leaf not revoked");
    {
        uint8_t s1[20], s2[21];
        hex_to(s1, 20, "6fc34e5023e728923435d61aa4b83c618166ad35"); /* first entry, 20 B */
        cr_assert(cba_crl_lists_serial(&pck_crl, cbs_make(s1, 20)));
        hex_to(s2, 20, "efae6e9715fca13b87e333e8261ed6d990a926ad"); /* sign octet in the CRL */
        cr_assert(cba_crl_lists_serial(&pck_crl, cbs_make(s2, 20)));
        /* the same serial given with its sign octet compares alike */
        hex_to(s2, 21, "00efae6e9715fca13b87e333e8261ed6d990a926ad");
        cr_assert(cba_crl_lists_serial(&pck_crl, cbs_make(s2, 21)));
        /* a prefix or a one-bit change is not a match */
        cr_assert_not(cba_crl_lists_serial(&pck_crl, cbs_make(s2, 20)));
        s1[19] ^= 1;
        cr_assert_not(cba_crl_lists_serial(&pck_crl, cbs_make(s1, 20)));
    }
    /* tampering with one TBS byte breaks the signature */
    {
        size_t off = cbs_offset_of(cbs_make(pck_der, pck_len), pck_crl.revoked) + 10;
        cba_crl t;
        pck_der[off] ^= 0x01;
        cr_assert_eq(cba_crl_parse(&err, &t, cbs_make(pck_der, pck_len)), CBA_OK);
        cr_assert_not(cba_crl_verify_signature(&t, ch.cert[1].pub_xy));
    }
    free(root_der);
    free(pck_der);
    free_chain(&ch);
    tu_buf_free(&json);
}

Test(x509, sgx_collateral_crls_and_issuer_chains)
{
    tu_buf json;
    uint8_t *der;
    size_t len;
    cba_crl crl;
    cba_error err;
    TU_REAL_OR_SKIP("dcap-qvl-sgx/sgx_quote_collateral.json", &json);
    der = json_hex(&json, "pck_crl", &len);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(der, len)), CBA_OK, "%s", err.detail);
    cr_assert(crl.has_crl_number && crl.has_aki);
    free(der);
    der = json_hex(&json, "root_ca_crl", &len);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(der, len)), CBA_OK, "%s", err.detail);
    free(der);
    tu_buf_free(&json);
}

Test(x509, collateral_issuer_chains)
{
    static const char *const k_keys[] = { "pck_crl_issuer_chain", "tcb_info_issuer_chain",
                                          "qe_identity_issuer_chain" };
    static const char *const k_leaf_cn[] = { "Intel SGX PCK Platform CA", "Intel SGX TCB Signing",
                                             "Intel SGX TCB Signing" };
    tu_buf json;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &json);
    for (size_t k = 0; k < 3; k++) {
        size_t n;
        char *pem = json_string(&json, k_keys[k], &n);
        uint8_t *buf = malloc(n);
        cba_pem_chain chain;
        cba_cert leaf, root;
        cba_error err;
        cr_assert_not_null(buf);
        cr_assert_eq(pem[n - 1], '\n', "real issuer chains end with a line break");
        cr_assert_eq(cba_pem_chain_decode(&err, &chain, cbs_make((const uint8_t *)pem, n), buf, n),
                     CBA_OK, "%s: %s", k_keys[k], err.detail);
        cr_assert_eq(chain.num_certs, 2);
        cr_assert_eq(cba_cert_parse(&err, &leaf, chain.certs[0]), CBA_OK);
        cr_assert_eq(cba_cert_parse(&err, &root, chain.certs[1]), CBA_OK);
        cr_assert(cbs_eq_str(leaf.subject_cn, k_leaf_cn[k]));
        cr_assert(cbs_eq_mem(root.der, cba_intel_root_ca_der, cba_intel_root_ca_der_len));
        cr_assert(cba_cert_verify_signature(&leaf, root.pub_xy));
        free(buf);
        free(pem);
    }
    tu_buf_free(&json);
}

/* crl_parts: the real PCK CRL taken apart (tbs fields; tbs[5] revoked, tbs[6] [0] exts). */
typedef struct crl_parts {
    tu_buf json;
    uint8_t *der;
    size_t len;
    cbs top[3];
    cbs tbs[8];
    size_t num_tbs;
    cbs ext[4];
    size_t num_ext;
    cbs entry[50];
    size_t num_entries;
} crl_parts;

static void crl_split(crl_parts *p)
{
    cbs wrapper[1];
    memset(p, 0, sizeof *p);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &p->json);
    p->der = json_hex(&p->json, "pck_crl", &p->len);
    cr_assert_eq(kids(cbs_make(p->der, p->len), p->top, 3), 3);
    p->num_tbs = kids(p->top[0], p->tbs, 8);
    cr_assert_eq(p->num_tbs, 7);
    p->num_entries = kids(p->tbs[5], p->entry, 50);
    cr_assert_eq(kids(p->tbs[6], wrapper, 1), 1);
    p->num_ext = kids(wrapper[0], p->ext, 4);
    cr_assert_eq(p->num_ext, 2);
}

static cbs crl_build(const crl_parts *p, const cbs *tbs, size_t num_tbs)
{
    cbs t = wrap(0x30, tbs, num_tbs), top[3] = { t, p->top[1], p->top[2] };
    return wrap(0x30, top, 3);
}

static cbs crl_exts(const cbs *exts, size_t n)
{
    cbs seq = wrap(0x30, exts, n);
    return wrap(0xa0, &seq, 1);
}

static void expect_crl(cbs der, cba_err want, const char *where)
{
    cba_crl c;
    cba_error err;
    cba_error_clear(&err);
    cr_assert_eq(cba_crl_parse(&err, &c, der), want, "%s: %s", err.where, err.detail);
    if (where) { cr_assert_str_eq(err.where, where); }
}

Test(x509, crl_malformed)
{
    crl_parts p;
    cbs t[8], e[4], ent[50];
    crl_split(&p);
    /* the builder is faithful */
    cr_assert(cbs_eq(crl_build(&p, p.tbs, 7), cbs_make(p.der, p.len)));
    /* every truncation */
    /* an entry with cRLReason and invalidityDate is fine */
    memcpy(ent, p.entry, p.num_entries * sizeof(cbs));
    ent[1] = raw("304d02140102030405060708091011121314151617181920170d3235303631393130303033355a"
                 "3026300a0603551d1504030a010130180603551d180411180f"
                 "32303235303631393130303033355a");
    memcpy(t, p.tbs, sizeof t);
    t[5] = wrap(0x30, ent, p.num_entries);
    expect_crl(crl_build(&p, t, 7), CBA_OK, NULL);
    for (size_t n = 0; n < p.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        cr_assert_not_null(copy);
        if (n) { memcpy(copy, p.der, n); }
        expect_crl(cbs_make(copy, n), CBA_E_CRL_INVALID, NULL);
        free(copy);
    }
    /* version absent; version 3 */
    expect_crl(crl_build(&p, p.tbs + 1, 6), CBA_E_CRL_INVALID, "crl.tbs.version");
    memcpy(t, p.tbs, sizeof t);
    t[0] = raw("020102");
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.tbs.version");
    /* nextUpdate missing */
    memcpy(t, p.tbs, sizeof t);
    memmove(t + 4, t + 5, 2 * sizeof(cbs));
    expect_crl(crl_build(&p, t, 6), CBA_E_CRL_INVALID, "crl.tbs.next_update");
    /* nextUpdate before thisUpdate */
    memcpy(t, p.tbs, sizeof t);
    t[4] = time_elem("250101000000Z");
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.tbs.next_update");
    /* empty revokedCertificates must be absent instead */
    memcpy(t, p.tbs, sizeof t);
    t[5] = raw("3000");
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.revoked");
    /* no revoked list at all: fine */
    memcpy(t, p.tbs, sizeof t);
    t[5] = t[6];
    expect_crl(crl_build(&p, t, 6), CBA_OK, NULL);
    /* unknown critical CRL extension; unknown non-critical; delta CRL indicator */
    memcpy(t, p.tbs, sizeof t);
    memcpy(e, p.ext, 2 * sizeof(cbs));
    e[2] = raw("300c06032a03040101ff04020500");
    t[6] = crl_exts(e, 3);
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.tbs.extensions");
    e[2] = raw("300906032a030404020500");
    t[6] = crl_exts(e, 3);
    expect_crl(crl_build(&p, t, 7), CBA_OK, NULL);
    e[2] = raw("300d0603551d1b0101ff0403020102");
    t[6] = crl_exts(e, 3);
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.tbs.extensions");
    /* cRLNumber twice */
    e[2] = p.ext[0];
    t[6] = crl_exts(e, 3);
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.tbs.extensions");
    /* trailing element in the TBS */
    memcpy(t, p.tbs, sizeof t);
    t[7] = raw("0500");
    expect_crl(crl_build(&p, t, 8), CBA_E_CRL_INVALID, NULL);
    /* wrong signature algorithm */
    memcpy(t, p.tbs, sizeof t);
    t[1] = raw("300a06082a8648ce3d040303");
    expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, "crl.tbs.signature");

    /* entries: unknown critical entry extension, bad reason, certificateIssuer, bad time */
    {
        static const char *const k_bad_entries[] = {
            /* non-minimal serial */
            "301302020001170d3235303631393130303033355a",
            /* unknown critical entry extension */
            "303602140102030405060708091011121314151617181920170d3235303631393130303033355a"
            "300f300d06032a03040101ff0403020100",
            /* cRLReason 7 (unused value) */
            "303302140102030405060708091011121314151617181920170d3235303631393130303033355a"
            "300c300a0603551d1504030a0107",
            /* certificateIssuer: indirect CRL */
            "303502140102030405060708091011121314151617181920170d3235303631393130303033355a"
            "300e300c0603551d1d04053003820178",
            /* empty crlEntryExtensions */
            "302702140102030405060708091011121314151617181920170d3235303631393130303033355a3000",
            /* revocationDate without seconds */
            "302302140102030405060708091011121314151617181920170b323530363139313030305a",
            /* 22-byte serial */
            "3027021601020304050607080910111213141516171819202122170d3235303631393130303033355a",
            /* cRLReason twice */
            "303f02140102030405060708091011121314151617181920170d3235303631393130303033355a"
            "3018300a0603551d1504030a0101300a0603551d1504030a0101",
        };
        for (size_t i = 0; i < sizeof k_bad_entries / sizeof k_bad_entries[0]; i++) {
            cbs bad = raw(k_bad_entries[i]);
            memcpy(ent, p.entry, p.num_entries * sizeof(cbs));
            ent[0] = bad;
            memcpy(t, p.tbs, sizeof t);
            t[5] = wrap(0x30, ent, p.num_entries);
            expect_crl(crl_build(&p, t, 7), CBA_E_CRL_INVALID, NULL);
        }
    }
    free(p.der);
    tu_buf_free(&p.json);
}

Test(x509, crl_negative_serial_entry_is_matched)
{
    crl_parts p;
    cbs t[8], ent[50];
    cba_crl c;
    uint8_t serial[20];
    crl_split(&p);
    /* an issuer that forgot the sign octet: 02 14 D6 41 ... (a "negative" INTEGER) */
    memcpy(ent, p.entry, p.num_entries * sizeof(cbs));
    ent[0] = raw("30330214d641301aeab93dd651451be3906539ccf773a881"
                 "170d3235303631393130303033355a300c300a0603551d1504030a0101");
    memcpy(t, p.tbs, sizeof t);
    t[5] = wrap(0x30, ent, p.num_entries);
    cr_assert_eq(cba_crl_parse(NULL, &c, crl_build(&p, t, 7)), CBA_OK);
    hex_to(serial, 20, "d641301aeab93dd651451be3906539ccf773a881");
    cr_assert(cba_crl_lists_serial(&c, cbs_make(serial, 20)), "matched as unsigned bytes");
    free(p.der);
    tu_buf_free(&p.json);
}

/* ---- PEM ------------------------------------------------------------------------------- */

/* pem_of encodes DER as one CERTIFICATE block with 64-character lines and "\n". */
static size_t pem_of(char *out, size_t cap, const uint8_t *der, size_t len)
{
    static const char k_b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0, col = 0;
    n += (size_t)snprintf(out + n, cap - n, "-----BEGIN CERTIFICATE-----\n");
    for (size_t i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t)der[i] << 16 | (i + 1 < len ? (uint32_t)der[i + 1] << 8 : 0) |
                     (i + 2 < len ? der[i + 2] : 0);
        char q[4] = { k_b64[w >> 18 & 63], k_b64[w >> 12 & 63],
                      i + 1 < len ? k_b64[w >> 6 & 63] : '=', i + 2 < len ? k_b64[w & 63] : '=' };
        for (size_t j = 0; j < 4; j++) {
            cr_assert_lt(n + 2, cap);
            out[n++] = q[j];
            if (++col == 64) {
                out[n++] = '\n';
                col = 0;
            }
        }
    }
    if (col) { out[n++] = '\n'; }
    n += (size_t)snprintf(out + n, cap - n, "-----END CERTIFICATE-----\n");
    return n;
}

static cba_err pem_try(const char *text, size_t len, cba_pem_chain *out, cba_error *err)
{
    static uint8_t buf[8192];
    cba_error_clear(err);
    return cba_pem_chain_decode(err, out, cbs_make((const uint8_t *)text, len), buf, sizeof buf);
}

#define SMALL_B64 "MAMCAQU=" /* 30 03 02 01 05 */
#define BLOCK(body) "-----BEGIN CERTIFICATE-----\n" body "\n-----END CERTIFICATE-----"

Test(x509, pem_strictness)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        cba_err want;
        size_t num;
    } rows[] = {
        { BLOCK(SMALL_B64), 0, CBA_OK, 1 },
        { BLOCK(SMALL_B64) "\n", 0, CBA_OK, 1 },
        { BLOCK(SMALL_B64) "\n\0", sizeof(BLOCK(SMALL_B64) "\n\0") - 1, CBA_OK, 1 },
        { BLOCK(SMALL_B64) "\0", sizeof(BLOCK(SMALL_B64) "\0") - 1, CBA_OK, 1 },
        { BLOCK(SMALL_B64) "\n\0\0", sizeof(BLOCK(SMALL_B64) "\n\0\0") - 1, CBA_E_PEM, 0 },
        { BLOCK(SMALL_B64) "\n\n", 0, CBA_E_PEM, 0 },                /* two trailing breaks */
        { BLOCK(SMALL_B64) "\r\n", 0, CBA_OK, 1 },
        { "-----BEGIN CERTIFICATE-----\r\n" SMALL_B64 "\r\n-----END CERTIFICATE-----\r\n", 0,
          CBA_OK, 1 },
        { BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64) "\n", 0, CBA_OK, 2 },
        { BLOCK(SMALL_B64) "\n\n" BLOCK(SMALL_B64), 0, CBA_OK, 2 }, /* blank line between */
        { BLOCK(SMALL_B64) BLOCK(SMALL_B64), 0, CBA_E_PEM, 0 },     /* no break between */
        { BLOCK(SMALL_B64) "\nhello\n" BLOCK(SMALL_B64), 0, CBA_E_PEM, 0 }, /* text between */
        { BLOCK(SMALL_B64) " ", 0, CBA_E_PEM, 0 },                  /* extra text */
        { BLOCK(SMALL_B64) "\nx", 0, CBA_E_PEM, 0 },
        { "x" BLOCK(SMALL_B64), 0, CBA_E_PEM, 0 },                  /* text before */
        { "\n" BLOCK(SMALL_B64), 0, CBA_E_PEM, 0 },
        { BLOCK("MAMCAQU*"), 0, CBA_E_PEM, 0 },                     /* junk character */
        { BLOCK("MAMCA QU="), 0, CBA_E_PEM, 0 },
        { BLOCK("MAMCAQU"), 0, CBA_E_PEM, 0 },                      /* missing padding */
        { BLOCK("MAMCAQU=="), 0, CBA_E_PEM, 0 },                    /* too much padding */
        { BLOCK("MAMCAQV="), 0, CBA_E_PEM, 0 },                     /* non-zero pad bits */
        { BLOCK("MAMCAQU=MAMC"), 0, CBA_E_PEM, 0 },                 /* data after '=' */
        { BLOCK("MAMCAQU=\nMAMC"), 0, CBA_E_PEM, 0 },
        { BLOCK("MAMCA=U="), 0, CBA_E_PEM, 0 },
        { BLOCK("MAMC\nAQU="), 0, CBA_OK, 1 },                      /* quads across lines */
        { BLOCK("MAMCAR==") , 0, CBA_E_PEM, 0 },                    /* pad bits set */
        { BLOCK("MAMCAQ=="), 0, CBA_OK, 1 },                        /* 30 03 02 01 01 */
        { BLOCK("MAMCAA=="), 0, CBA_OK, 1 },
        { BLOCK("MAMCAQU=\n"), 0, CBA_E_PEM, 0 },                   /* empty line in block */
        { "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----", 0, CBA_E_PEM, 0 },
        { "-----BEGIN CERTIFICATE-----\n" SMALL_B64 "\n", 0, CBA_E_PEM, 0 }, /* no END */
        { "-----BEGIN PUBLIC KEY-----\n" SMALL_B64 "\n-----END PUBLIC KEY-----", 0, CBA_E_PEM,
          0 },
        { "", 0, CBA_E_PEM, 0 },
        { BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64), 0,
          CBA_OK, 4 },
        { BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64) "\n" BLOCK(SMALL_B64)
              "\n" BLOCK(SMALL_B64), 0, CBA_E_PEM, 0 },             /* 5 blocks */
        /* 77-character line */
        { BLOCK("MAMCAQUwAwIBBTADAgEFMAMCAQUwAwIBBTADAgEFMAMCAQUwAwIBBTADAgEFMAMCAQUwAwIBBTADA"
                "\ngEF"), 0, CBA_E_PEM, 0 },
        /* 76 is fine */
        { BLOCK("MAMCAQUwAwIBBTADAgEFMAMCAQUwAwIBBTADAgEFMAMCAQUwAwIBBTADAgEFMAMCAQUwAwIBBTAD"
                "\nAgEF"), 0, CBA_OK, 1 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cba_pem_chain out;
        cba_error err;
        size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);
        memset(&out, 0x77, sizeof out);
        cr_assert_eq(pem_try(rows[i].text, len, &out, &err), rows[i].want, "row %zu: %s", i,
                     err.detail);
        if (rows[i].want == CBA_OK) {
            cr_assert_eq(out.num_certs, rows[i].num, "row %zu", i);
        } else {
            cr_assert_eq(out.num_certs, (size_t)0x7777777777777777ull,
                         "row %zu: output written on failure", i);
            cr_assert_str_eq(err.where, "pem");
        }
    }
}

Test(x509, pem_values_and_capacity)
{
    static const char text[] = BLOCK(SMALL_B64);
    static const uint8_t want[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    uint8_t buf[8];
    cba_pem_chain out;
    cba_error err;
    cbs in = cbs_make((const uint8_t *)text, sizeof text - 1);
    cr_assert_eq(cba_pem_chain_decode(&err, &out, in, buf, 5), CBA_OK);
    cr_assert(cbs_eq_mem(out.certs[0], want, sizeof want));
    cr_assert_eq(cba_pem_chain_decode(&err, &out, in, buf, 4), CBA_E_PEM, "does not fit");
    cr_assert_eq(cba_pem_chain_decode(&err, &out, in, NULL, 0), CBA_E_PEM);
}

Test(x509, pem_roundtrip_real_chain)
{
    chain3 ch;
    static char text[16384];
    static uint8_t buf[16384];
    size_t n = 0;
    cba_pem_chain out;
    cba_error err;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    for (size_t i = 0; i < 3; i++) {
        n += pem_of(text + n, sizeof text - n, ch.pem.certs[i].data, ch.pem.certs[i].len);
    }
    /* our encoder reproduces the quote's PEM byte for byte (minus its trailing NUL) */
    {
        cbs pem = quote_pck_pem(&ch.quote);
        cr_assert_eq(pem.len, n + 1);
        cr_assert(memcmp(pem.data, text, n) == 0);
        cr_assert_eq(cbs_byte(pem, n), 0x00);
    }
    cr_assert_eq(cba_pem_chain_decode(&err, &out, cbs_make((const uint8_t *)text, n), buf,
                                      sizeof buf),
                 CBA_OK);
    for (size_t i = 0; i < 3; i++) { cr_assert(cbs_eq(out.certs[i], ch.pem.certs[i])); }
    /* a junk character anywhere in the base64 of the leaf */
    text[100] = '!';
    cr_assert_eq(cba_pem_chain_decode(&err, &out, cbs_make((const uint8_t *)text, n), buf,
                                      sizeof buf),
                 CBA_E_PEM);
    free_chain(&ch);
}

/* pem_same_decode: decoding `text` with the known chains gives what decoding it alone gives (the
 * same result, error text, certificates and block texts); returns the result. */
static cba_err pem_same_decode(const char *text, size_t len, const cba_pem_chain *const *known,
                               size_t num_known, cba_pem_chain *out)
{
    static uint8_t buf1[8192], buf2[8192];
    cba_pem_chain a, b;
    cba_error e1, e2;
    cba_err r1, r2;
    cbs in = cbs_make((const uint8_t *)text, len);
    cba_error_clear(&e1);
    cba_error_clear(&e2);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    r1 = cba_pem_chain_decode(&e1, &a, in, buf1, sizeof buf1);
    r2 = cba_pem_chain_decode_known(&e2, &b, in, buf2, sizeof buf2, known, num_known);
    cr_assert_eq(r1, r2, "length %zu: %s / %s", len, e1.detail, e2.detail);
    if (r1 != CBA_OK) {
        cr_assert_str_eq(e1.detail, e2.detail);
        cr_assert_str_eq(e1.where, e2.where);
        return r1;
    }
    cr_assert_eq(a.num_certs, b.num_certs);
    for (size_t i = 0; i < a.num_certs; i++) {
        cr_assert(cbs_eq(a.certs[i], b.certs[i]), "certificate %zu", i);
        cr_assert(cbs_eq(a.blocks[i], b.blocks[i]), "block text %zu", i);
    }
    if (out != NULL) { *out = b; }
    return r1;
}

/* cba_pem_chain_decode_known takes the DER of a block byte-identical to a known chain's block
 * instead of decoding it again (the root in all four chains of a verification): on the real PCK
 * chain and its variants (CRLF, blocks repeated or reordered, every cut, a byte changed at every
 * 5th position, what follows an END line) it gives exactly what decoding alone gives, and the
 * reused blocks point into the known chain's buffer. */
Test(x509, pem_known_blocks_agree_with_decoding)
{
    chain3 ch;
    cbs pem;
    char text[12288], crlf[12288];
    size_t len, crlf_len = 0;
    const cba_pem_chain *known[2];
    cba_pem_chain got;
    load_chain(&ch, "dcap-qvl-tdx/tdx_quote");
    pem = quote_pck_pem(&ch.quote);
    len = pem.len;
    if (len > 0 && cbs_byte(pem, len - 1) == 0) { len--; } /* the quote's C string NUL */
    cr_assert(len < sizeof text / 3);
    memcpy(text, pem.data, len);
    for (size_t i = 0; i < 3; i++) {
        cr_assert(ch.pem.blocks[i].len > 0);
        cr_assert(cbs_eq_mem(cbs_make(ch.pem.blocks[i].data, 27), "-----BEGIN CERTIFICATE-----", 27));
    }
    known[0] = &ch.pem;
    known[1] = NULL; /* a NULL entry is skipped */

    /* the chain itself: every block reused */
    cr_assert_eq(pem_same_decode(text, len, known, 2, &got), CBA_OK);
    for (size_t i = 0; i < 3; i++) { cr_assert_eq(got.certs[i].data, ch.pem.certs[i].data, "block %zu reused", i); }

    /* root first, then the leaf twice, blank lines between: reused in any order */
    {
        char re[12288];
        size_t n = 0;
        const cbs *bl = ch.pem.blocks;
        size_t order[4] = { 2, 0, 0, 1 };
        for (size_t k = 0; k < 4; k++) {
            memcpy(re + n, bl[order[k]].data, bl[order[k]].len);
            n += bl[order[k]].len;
            memcpy(re + n, k == 1 ? "\n\n\r\n" : "\n", k == 1 ? 4u : 1u);
            n += k == 1 ? 4u : 1u;
        }
        cr_assert_eq(pem_same_decode(re, n, known, 1, &got), CBA_OK);
        cr_assert_eq(got.num_certs, 4);
        cr_assert_eq(got.certs[0].data, ch.pem.certs[2].data);
        cr_assert_eq(got.certs[3].data, ch.pem.certs[1].data);
    }

    /* CRLF line breaks: not the known text, decoded; then known itself */
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') { crlf[crlf_len++] = '\r'; }
        crlf[crlf_len++] = text[i];
    }
    cr_assert_eq(pem_same_decode(crlf, crlf_len, known, 1, &got), CBA_OK);
    cr_assert_neq(got.certs[0].data, ch.pem.certs[0].data, "a CRLF block is not the LF block");
    {
        cba_pem_chain crlf_chain = got;
        const cba_pem_chain *k2[1] = { &crlf_chain };
        uint8_t keep[8192];
        /* crlf_chain's DER lives in pem_same_decode's static buffer: keep a copy for the check */
        memcpy(keep, crlf_chain.certs[0].data, crlf_chain.certs[0].len);
        cr_assert_eq(pem_same_decode(crlf, crlf_len, k2, 1, &got), CBA_OK);
        cr_assert(cbs_eq_mem(got.certs[0], keep, crlf_chain.certs[0].len));
    }

    /* every cut, and a byte changed at every 5th position (to a base64 letter, a break, a
     * carriage return, a space): the same answer with and without the known chain */
    for (size_t cut = 0; cut <= len; cut++) { (void)pem_same_decode(text, cut, known, 1, NULL); }
    for (size_t pos = 0; pos < len; pos += 5) {
        static const char subst[] = { 'A', '\n', '\r', ' ', '-' };
        for (size_t s = 0; s < sizeof subst; s++) {
            char saved = text[pos];
            if (saved == subst[s]) { continue; }
            text[pos] = subst[s];
            (void)pem_same_decode(text, len, known, 1, NULL);
            text[pos] = saved;
        }
    }

    /* what may follow an END line: each suffix after the whole chain and after its first block */
    {
        static const char *const suffix[] = { "", "\n", "\r\n", "\r", " ", "\n\n", "\r\r\n", "\nx",
                                              "\n\n\n", "\0", "\n\0" };
        for (size_t s = 0; s < sizeof suffix / sizeof suffix[0]; s++) {
            size_t slen = s >= 9 ? (s == 9 ? 1u : 2u) : strlen(suffix[s]);
            size_t base = len;
            while (base > 0 && (text[base - 1] == '\n' || text[base - 1] == '\r')) { base--; }
            memcpy(crlf, text, base);
            memcpy(crlf + base, suffix[s], slen);
            (void)pem_same_decode(crlf, base + slen, known, 1, NULL);
            base = ch.pem.blocks[0].len;
            memcpy(crlf, text, base);
            memcpy(crlf + base, suffix[s], slen);
            memcpy(crlf + base + slen, text + base, len - base);
            (void)pem_same_decode(crlf, len + slen, known, 1, NULL);
        }
    }
    free_chain(&ch);
}
