/* quote.h — Intel TDX quotes v4 and v5 (TD 1.0 / TD 1.5 bodies), parsed strictly and zero-copy
 * (dcap-spec §1). Views point into the caller's quote buffer. */
#ifndef CBA_QUOTE_H
#define CBA_QUOTE_H

#include "cbs.h"
#include "internal.h"

#define CBA_QUOTE_MAX_LEN 65536u
#define CBA_QUOTE_PEM_MAX_LEN 16384u
#define CBA_QUOTE_QE_AUTH_MAX_LEN 1024u

typedef struct cba_qe_report { /* SGX REPORTBODY, 384 bytes */
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint8_t report_data[64];
} cba_qe_report;

typedef struct cba_td_report { /* TD report body, 584 (TD 1.0) or 648 (TD 1.5) bytes */
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t seam_attributes;
    uint64_t td_attributes;
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16]; /* TD 1.5 only, else zero */
    uint8_t mrservicetd[48];  /* TD 1.5 only, else zero */
} cba_td_report;

typedef struct cba_quote {
    cbs raw;                /* the whole input */
    uint16_t version;       /* 4 or 5 */
    uint16_t body_type;     /* 2 = TD 1.0, 3 = TD 1.5 (v4 is always 2) */
    uint32_t body_size;     /* 584 or 648 */
    uint16_t att_key_type;  /* always 2 after a successful parse */
    uint32_t tee_type;      /* always 0x81 after a successful parse */
    uint16_t qe_svn;        /* header bytes 8..9 (informational, not verified) */
    uint16_t pce_svn;       /* header bytes 10..11 (informational, not verified) */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    uint32_t sig_data_len;  /* the u32 at sig_off */
    cbs signed_region;      /* quote[0 .. sig_off): the bytes the attestation key signs */
    cbs td_report_raw;      /* body_size bytes */
    cba_td_report td;
    uint8_t quote_sig[64];  /* r||s */
    uint8_t attest_key[64]; /* X||Y */
    cbs qe_report_raw;      /* 384 bytes as signed by the PCK key */
    cba_qe_report qe_report;
    uint8_t qe_report_sig[64];
    cbs qe_auth_data;       /* n bytes */
    cbs pck_chain_pem;      /* m bytes (type 5 certification data) */
    size_t trailing_len;    /* zero bytes after the signature data */
} cba_quote;

/* cba_quote_parse parses a TDX quote following dcap-spec §1.6 exactly: header (version 4/5, key
 * type 2, TEE type 0x81, Intel QE vendor), v5 body descriptor (type 2/3, exact size), body,
 * signature data (outer certification type 6 with S == sig_data_len - 134, inner type 5 with
 * m == S - 456 - n), caps (quote <= 64 KiB, PEM <= 16 KiB, auth data <= 1 KiB), trailing bytes
 * zeros only. A v3 / SGX quote fails with CBA_E_QUOTE_UNSUPPORTED ("SGX quote: unsupported quote
 * type"). Errors: CBA_E_QUOTE_FORMAT, CBA_E_QUOTE_UNSUPPORTED, CBA_E_QE_VENDOR,
 * CBA_E_QUOTE_TRAILING_DATA, CBA_E_ARGUMENT (out NULL). `where` is "quote.<field>". *out is
 * written only on success; its views borrow `in`, which must outlive it. */
CBA_MUST_USE cba_err cba_quote_parse(cba_error *err, cba_quote *out, cbs in);

/* cba_quote_from_text accepts a raw quote or its hex text (optional "0x"/"0X", surrounding
 * whitespace " \t\r\n") and decodes it into out (capacity out_cap); *out_len is set. Returns
 * false when the input is neither or does not fit (out and *out_len untouched then). Raw binary
 * (first bytes 03 00, 04 00 or 05 00: v3 is let through so that the parser can name it) is
 * copied as is. */
CBA_MUST_USE bool cba_quote_from_text(uint8_t *out, size_t out_cap, size_t *out_len, cbs in);

#endif
