/* sgx_ext.c — the Intel SGX extension of a PCK certificate (1.2.840.113741.1.13.1: PPID, TCB,
 * PCE-ID, FMSPC, SGX type, platform instance, configuration), walked by OID; see x509.h. Split
 * out of x509.c, whose schema-driven rules it follows: no recursion, every element consumed. */
#include <string.h>

#include "x509.h"

#include "der.h"

/* Intel SGX extension 1.2.840.113741.1.13.1 and its children (base || NN [|| MM]). */
const uint8_t cba_oid_sgx[9] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };
#define SGX_PPID 1u
#define SGX_TCB 2u
#define SGX_PCE_ID 3u
#define SGX_FMSPC 4u
#define SGX_TYPE 5u
#define SGX_PLATFORM_INSTANCE_ID 6u
#define SGX_CONFIGURATION 7u
#define SGX_TCB_ENTRIES 18u
#define SGX_MAX_MEMBERS 16u /* top-level SGXExtension entries we accept (real certs: 5 or 7) */

/* ---- Intel SGX extension ---------------------------------------------------------------- */

static const char *const k_sgx_where[] = {
    [SGX_PPID] = "pck.sgx_ext.ppid",
    [SGX_TCB] = "pck.sgx_ext.tcb",
    [SGX_PCE_ID] = "pck.sgx_ext.pce_id",
    [SGX_FMSPC] = "pck.sgx_ext.fmspc",
    [SGX_TYPE] = "pck.sgx_ext.sgx_type",
    [SGX_PLATFORM_INSTANCE_ID] = "pck.sgx_ext.platform_instance_id",
    [SGX_CONFIGURATION] = "pck.sgx_ext.configuration",
};

/* sgx_child returns NN when oid is <base> || NN (one more arc of at most 127), else 0. With
 * sub != 0, the base is the SGX OID || sub (the TCB and configuration members' children). */
static unsigned sgx_child(cbs oid, unsigned sub)
{
    size_t base_len = sizeof cba_oid_sgx + (sub ? 1u : 0u);
    cbs prefix;
    uint8_t last;
    if (oid.len != base_len + 1 || !cbs_get_bytes(&oid, &prefix, sizeof cba_oid_sgx) ||
        !cbs_eq_mem(prefix, cba_oid_sgx, sizeof cba_oid_sgx)) {
        return 0;
    }
    if (sub) {
        uint8_t s;
        if (!cbs_get_u8(&oid, &s) || s != sub) { return 0; }
    }
    if (!cbs_get_u8(&oid, &last)) { return 0; }
    return last; /* der_get_oid guaranteed the continuation bit is clear */
}

/* get_octets reads an OCTET STRING of exactly n bytes into out. */
CBA_MUST_USE static bool get_octets(cbs *in, uint8_t *out, size_t n)
{
    cbs copy = *in, body;
    if (!cbs_get_asn1(&copy, &body, CBS_ASN1_OCTETSTRING) || body.len != n ||
        !cbs_copy_bytes(&body, out, n)) {
        return false;
    }
    *in = copy;
    return true;
}

/* sgx_tcb reads TCB ::= SEQUENCE OF SEQUENCE { OID .2.N, value }: exactly the 18 members. */
CBA_MUST_USE static cba_err sgx_tcb(cba_error *err, cbs value, cba_sgx_ext *out)
{
    const char *w = k_sgx_where[SGX_TCB];
    cbs list;
    uint32_t seen = 0;
    size_t count = 0;
    CBA_ENSURE(cbs_get_asn1(&value, &list, CBS_ASN1_SEQUENCE) && value.len == 0, err,
               CBA_E_PCK_EXTENSION, w, "TCB is not a SEQUENCE");
    while (list.len > 0) {
        cbs entry, oid;
        unsigned n;
        uint64_t v;
        CBA_ENSURE(count < SGX_TCB_ENTRIES, err, CBA_E_PCK_EXTENSION, w, "more than 18 entries");
        CBA_ENSURE(cbs_get_asn1(&list, &entry, CBS_ASN1_SEQUENCE) && der_get_oid(&entry, &oid),
                   err, CBA_E_PCK_EXTENSION, w, "malformed entry %zu", count);
        n = sgx_child(oid, SGX_TCB);
        CBA_ENSURE(n >= 1 && n <= SGX_TCB_ENTRIES, err, CBA_E_PCK_EXTENSION, w,
                   "unknown TCB member (entry %zu)", count);
        CBA_ENSURE(!(seen & (1u << n)), err, CBA_E_PCK_EXTENSION, w, "member %u repeated", n);
        seen |= 1u << n;
        if (n <= 16) {
            CBA_ENSURE(der_get_integer_u64(&entry, 255, &v), err, CBA_E_PCK_EXTENSION, w,
                       "component %u SVN is not an INTEGER 0..255", n);
            out->comp_svn[n - 1] = (uint8_t)v;
        } else if (n == 17) {
            CBA_ENSURE(der_get_integer_u64(&entry, 65535, &v), err, CBA_E_PCK_EXTENSION, w,
                       "PCESVN is not an INTEGER 0..65535");
            out->pcesvn = (uint16_t)v;
        } else {
            CBA_ENSURE(get_octets(&entry, out->cpusvn, 16), err, CBA_E_PCK_EXTENSION, w,
                       "CPUSVN is not a 16-byte OCTET STRING");
        }
        CBA_ENSURE(entry.len == 0, err, CBA_E_PCK_EXTENSION, w, "trailing bytes in member %u", n);
        count++;
    }
    CBA_ENSURE(count == SGX_TCB_ENTRIES, err, CBA_E_PCK_EXTENSION, w,
               "%zu entries, need exactly 18", count);
    return CBA_OK;
}

/* sgx_configuration reads SEQUENCE OF SEQUENCE { OID .7.N, BOOLEAN } for N in 1..3, each at most
 * once. Unknown members are refused: their value type would be unknown. */
CBA_MUST_USE static cba_err sgx_configuration(cba_error *err, cbs value, cba_sgx_ext *out)
{
    const char *w = k_sgx_where[SGX_CONFIGURATION];
    cbs list;
    unsigned seen = 0;
    CBA_ENSURE(cbs_get_asn1(&value, &list, CBS_ASN1_SEQUENCE) && value.len == 0, err,
               CBA_E_PCK_EXTENSION, w, "not a SEQUENCE");
    while (list.len > 0) {
        cbs entry, oid;
        unsigned n;
        bool b;
        CBA_ENSURE(cbs_get_asn1(&list, &entry, CBS_ASN1_SEQUENCE) && der_get_oid(&entry, &oid),
                   err, CBA_E_PCK_EXTENSION, w, "malformed entry");
        n = sgx_child(oid, SGX_CONFIGURATION);
        CBA_ENSURE(n >= 1 && n <= 3, err, CBA_E_PCK_EXTENSION, w, "unknown member");
        CBA_ENSURE(!(seen & (1u << n)), err, CBA_E_PCK_EXTENSION, w, "member %u repeated", n);
        seen |= 1u << n;
        CBA_ENSURE(der_get_bool(&entry, &b) && entry.len == 0, err, CBA_E_PCK_EXTENSION, w,
                   "member %u is not a BOOLEAN", n);
        if (n == 1) {
            out->dynamic_platform = b;
        } else if (n == 2) {
            out->cached_keys = b;
        } else {
            out->smt_enabled = b;
        }
    }
    return CBA_OK;
}

CBA_MUST_USE static cba_err sgx_member(cba_error *err, unsigned n, cbs value, cba_sgx_ext *out)
{
    const char *w = k_sgx_where[n];
    uint64_t v;
    switch (n) {
    case SGX_PPID:
        CBA_ENSURE(get_octets(&value, out->ppid, 16) && value.len == 0, err, CBA_E_PCK_EXTENSION,
                   w, "not a 16-byte OCTET STRING");
        return CBA_OK;
    case SGX_TCB: return sgx_tcb(err, value, out);
    case SGX_PCE_ID:
        CBA_ENSURE(get_octets(&value, out->pce_id, 2) && value.len == 0, err,
                   CBA_E_PCK_EXTENSION, w, "not a 2-byte OCTET STRING");
        return CBA_OK;
    case SGX_FMSPC:
        CBA_ENSURE(get_octets(&value, out->fmspc, 6) && value.len == 0, err, CBA_E_PCK_EXTENSION,
                   w, "not a 6-byte OCTET STRING");
        return CBA_OK;
    case SGX_TYPE:
        CBA_ENSURE(der_get_enumerated_u64(&value, 2, &v) && value.len == 0, err,
                   CBA_E_PCK_EXTENSION, w, "not an ENUMERATED 0..2");
        out->sgx_type = (uint8_t)v;
        return CBA_OK;
    case SGX_PLATFORM_INSTANCE_ID:
        CBA_ENSURE(get_octets(&value, out->platform_instance_id, 16) && value.len == 0, err,
                   CBA_E_PCK_EXTENSION, w, "not a 16-byte OCTET STRING");
        out->has_platform_instance_id = true;
        return CBA_OK;
    case SGX_CONFIGURATION:
        out->has_configuration = true;
        return sgx_configuration(err, value, out);
    default: return cba_fail(err, CBA_E_INTERNAL, "pck.sgx_ext", "member %u", n);
    }
}

cba_err cba_sgx_ext_parse(cba_error *err, cba_sgx_ext *out, cbs ext_value)
{
    const char *w = "pck.sgx_ext";
    cbs list, seen_oids[SGX_MAX_MEMBERS];
    size_t num_seen = 0;
    unsigned present = 0;
    cba_sgx_ext e;
    CBA_ENSURE(out != NULL, err, CBA_E_ARGUMENT, w, "no output");
    memset(&e, 0, sizeof e);
    CBA_ENSURE(cbs_get_asn1(&ext_value, &list, CBS_ASN1_SEQUENCE) && ext_value.len == 0, err,
               CBA_E_PCK_EXTENSION, w, "not one SEQUENCE");
    while (list.len > 0) {
        cbs member, oid, value;
        uint8_t tag;
        size_t hl;
        unsigned n;
        CBA_ENSURE(num_seen < SGX_MAX_MEMBERS, err, CBA_E_PCK_EXTENSION, w, "too many members");
        CBA_ENSURE(cbs_get_asn1(&list, &member, CBS_ASN1_SEQUENCE) && der_get_oid(&member, &oid) &&
                       cbs_get_any_asn1_element(&member, &value, &tag, &hl) && member.len == 0,
                   err, CBA_E_PCK_EXTENSION, w, "malformed member %zu", num_seen);
        n = sgx_child(oid, 0);
        if (n > SGX_CONFIGURATION) { n = 0; }
        for (size_t i = 0; i < num_seen; i++) {
            CBA_ENSURE(!cbs_eq(seen_oids[i], oid), err, CBA_E_PCK_EXTENSION,
                       n ? k_sgx_where[n] : w, "member repeated");
        }
        seen_oids[num_seen++] = oid;
        if (n == 0) { continue; } /* unknown: tolerated, not used */
        present |= 1u << n;
        CBA_TRY(sgx_member(err, n, value, &e));
    }
    for (unsigned n = SGX_PPID; n <= SGX_TYPE; n++) {
        CBA_ENSURE(present & (1u << n), err, CBA_E_PCK_EXTENSION, k_sgx_where[n], "missing");
    }
    *out = e;
    return CBA_OK;
}
