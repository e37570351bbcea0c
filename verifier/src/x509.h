/* x509.h — the X.509 certificates and CRLs of Intel's SGX PKI, parsed by us (RFC 5280 subset:
 * v3, ecdsa-with-SHA256, P-256 keys), the Intel SGX PCK extension, and PEM chains. Views point
 * into the caller's DER buffer, which must outlive them. */
#ifndef CBA_X509_H
#define CBA_X509_H

#include "cbs.h"
#include "internal.h"

#define CBA_KU_DIGITAL_SIGNATURE 0x0001u /* bit 0 */
#define CBA_KU_NON_REPUDIATION 0x0002u
#define CBA_KU_KEY_CERT_SIGN 0x0020u /* bit 5 */
#define CBA_KU_CRL_SIGN 0x0040u /* bit 6 */

typedef struct cba_cert {
    cbs der;        /* the whole certificate element */
    cbs tbs;        /* the TBSCertificate element, header included: the signed bytes */
    cbs serial;     /* INTEGER magnitude (no sign octet), 1..20 bytes */
    cbs issuer;     /* issuer Name element, header included (compare byte-wise) */
    cbs subject;    /* subject Name element, header included */
    cbs issuer_cn;  /* value of the issuer's CN (UTF8String/PrintableString contents), may be empty */
    cbs subject_cn; /* value of the subject's CN */
    int64_t not_before, not_after;
    cbs spki;             /* SubjectPublicKeyInfo element, header included (RA-TLS binding) */
    bool has_p256_key;    /* SPKI is id-ecPublicKey/prime256v1 with an uncompressed point */
    uint8_t pub_xy[64];   /* X||Y when has_p256_key */
    uint8_t sig_rs[64];   /* signatureValue as r||s (ecdsa-with-SHA256 only) */
    bool has_basic_constraints;
    bool is_ca;
    int path_len;         /* -1 when absent */
    bool has_key_usage;
    uint16_t key_usage;   /* CBA_KU_* bits */
    bool has_sgx_ext;
    cbs sgx_ext;          /* contents of the SGX extension's extnValue OCTET STRING */
    size_t num_extensions;
    cbs extensions;       /* contents of the Extensions SEQUENCE (for cba_cert_find_extension) */
    cbs subject_key_id;   /* SKI OCTET STRING contents; empty when absent */
    cbs authority_key_id; /* AKI keyIdentifier [0] contents; empty when absent */
} cba_cert;

/* At most this many extensions per certificate (uniqueness is checked pairwise). */
#define CBA_CERT_MAX_EXTENSIONS 32

/* cba_cert_parse parses one DER certificate that must fill `der` exactly. Requires: version v3,
 * signature algorithm ecdsa-with-SHA256 (no parameters) in both places and equal, a valid
 * validity, unique extension OIDs, no unknown critical extension (known: BasicConstraints,
 * KeyUsage, SKI, AKI, CRL-DP, SGX extension is never critical). Non-P-256 keys parse with
 * has_p256_key = false. Errors: CBA_E_DER when an element cannot be framed (tag, length,
 * nesting, trailing bytes), CBA_E_CERT_INVALID when a well-framed value breaks the profile
 * (version, serial, algorithm, time, key, extension content). *out is written only on success. */
CBA_MUST_USE cba_err cba_cert_parse(cba_error *err, cba_cert *out, cbs der);

/* cba_cert_find_extension finds the extension with OID content bytes `oid` and sets *out_value
 * to its extnValue OCTET STRING contents. Returns false when absent. */
bool cba_cert_find_extension(const cba_cert *cert, const uint8_t *oid, size_t oid_len,
                             cbs *out_value);

/* cba_cert_verify_signature verifies cert's signature over its TBS with the issuer's key. */
CBA_MUST_USE bool cba_cert_verify_signature(const cba_cert *cert, const uint8_t issuer_pub_xy[64]);

/* cba_oid_sgx is the Intel SGX extension's OID 1.2.840.113741.1.13.1 (DER contents; sgx_ext.c). */
extern const uint8_t cba_oid_sgx[9];

/* Intel SGX extension (OID 1.2.840.113741.1.13.1), decoded completely. */
typedef struct cba_sgx_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* TCB .2.1 .. .2.16 */
    uint16_t pcesvn;      /* .2.17 */
    uint8_t cpusvn[16];   /* .2.18 */
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    uint8_t sgx_type;     /* 0 Standard, 1 Scalable, 2 ScalableWithIntegrity */
    bool has_platform_instance_id;
    uint8_t platform_instance_id[16];
    bool has_configuration;
    bool dynamic_platform, cached_keys, smt_enabled;
} cba_sgx_ext;

/* cba_sgx_ext_parse decodes the extnValue contents (SEQUENCE OF SGXExtension) by walking the
 * DER: required members exactly once, exact lengths, 18 TCB entries each exactly once, ranges
 * checked, nothing trailing at any level. Error: CBA_E_PCK_EXTENSION (`where` names the member);
 * *out is written only on success. */
CBA_MUST_USE cba_err cba_sgx_ext_parse(cba_error *err, cba_sgx_ext *out, cbs ext_value);

typedef struct cba_crl {
    cbs der;
    cbs tbs;       /* TBSCertList element, header included */
    cbs issuer;    /* Name element, header included */
    int64_t this_update, next_update;
    cbs revoked;   /* contents of revokedCertificates (may be empty) */
    bool has_crl_number, has_aki;
    uint8_t sig_rs[64];
    size_t num_revoked;  /* entries in `revoked` */
    cbs crl_number;      /* cRLNumber magnitude when has_crl_number */
    cbs aki_key_id;      /* AKI keyIdentifier contents when has_aki (may be empty) */
} cba_crl;

/* cba_crl_parse parses a DER CRL v2 (ecdsa-with-SHA256, nextUpdate required, each revoked entry
 * well-formed; unknown critical CRL extensions rejected; delta CRLs, issuing distribution points
 * and indirect entries (certificateIssuer) are refused). Error: CBA_E_CRL_INVALID. *out is
 * written only on success. */
CBA_MUST_USE cba_err cba_crl_parse(cba_error *err, cba_crl *out, cbs der);

/* cba_crl_verify_signature verifies the CRL's signature with the issuer's key. */
CBA_MUST_USE bool cba_crl_verify_signature(const cba_crl *crl, const uint8_t issuer_pub_xy[64]);

/* cba_crl_lists_serial is true when `serial` (INTEGER magnitude) is among the revoked entries
 * (compared as canonical byte strings, never as truncated integers). Only for a CRL that
 * cba_crl_parse accepted; an entry that cannot be read counts as a match (fail closed). */
bool cba_crl_lists_serial(const cba_crl *crl, cbs serial);

/* PEM chains: up to CBA_PEM_MAX_CERTS "CERTIFICATE" blocks decoded into the caller's buffer. */
#define CBA_PEM_MAX_CERTS 4

typedef struct cba_pem_chain {
    size_t num_certs;
    cbs certs[CBA_PEM_MAX_CERTS]; /* DER of each, pointing into the caller's buffer (or into a
                                   * known chain's, see cba_pem_chain_decode_known) */
    cbs blocks[CBA_PEM_MAX_CERTS]; /* the text of each block, BEGIN line through END line
                                    * without its line break: views of the input */
} cba_pem_chain;

/* cba_pem_chain_decode decodes `pem` strictly into buf (capacity buf_cap; 3/4 of pem.len is
 * always enough): only BEGIN/END CERTIFICATE blocks separated by line breaks (\n or \r\n),
 * strict base64 with correct padding, lines at most 76 characters, then at most one trailing NUL
 * or line break. Fails with CBA_E_PEM on anything else, on more than CBA_PEM_MAX_CERTS blocks,
 * on zero blocks, or when the DER does not fit. *out is written only on success. */
CBA_MUST_USE cba_err cba_pem_chain_decode(cba_error *err, cba_pem_chain *out, cbs pem,
                                          uint8_t *buf, size_t buf_cap);

/* cba_pem_chain_decode_known is cba_pem_chain_decode where a block byte-identical to a block of
 * one of the num_known chains already decoded (the root in every chain of one verification, the
 * PCK CA in the collateral and the quote) takes that chain's DER instead of being decoded again:
 * the same text decodes to the same bytes under the same grammar, and every check of the chain
 * (block separators, line breaks after END, the count) still runs. The DER views of such blocks
 * point into the known chain's buffer: the known chains and their input text must outlive out. */
CBA_MUST_USE cba_err cba_pem_chain_decode_known(cba_error *err, cba_pem_chain *out, cbs pem,
                                                uint8_t *buf, size_t buf_cap,
                                                const cba_pem_chain *const *known, size_t num_known);

/* Intel SGX Root CA (DER, 659 bytes; SHA-256 44A0196B...74D3), embedded. */
extern const uint8_t cba_intel_root_ca_der[];
extern const size_t cba_intel_root_ca_der_len;

#endif
