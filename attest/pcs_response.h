/* pcs_response.h — the parser of what an Intel PCS or a PCCS answers (dcap-spec §3.6), on the
 * bounded reader (cbs.h): the signed TCB info / QE identity bodies, whose signed member is cut
 * out byte-exactly (never re-serialised, so its signature still verifies), CRL bodies (DER or hex
 * text), and the percent-encoded issuer-chain headers. Every byte comes from the network and is
 * untrusted; nothing here is verified (cba_collateral_verify does that on the assembled
 * collateral). Unit tests: tests/unit/test_pcs_response.c; fuzz: fuzz/pcs_response.c. */
#ifndef CRABBOX_ATTEST_PCS_RESPONSE_H
#define CRABBOX_ATTEST_PCS_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbs.h"
#include "crabbox/collateral.h"

#define PCS_ERRORS(X)                                                                              \
    X(PCS_OK, "well-formed")                                                                       \
    X(PCS_E_NOT_JSON_OBJECT, "the body is not a strict JSON object")                               \
    X(PCS_E_SIGNED_MEMBERS, "the body lacks the signed member (an object) or \"signature\" (128 hex digits)") \
    X(PCS_E_CUT, "the exact text of the signed member cannot be located")                          \
    X(PCS_E_CRL_ENCODING, "the body is neither DER nor hex text")                                  \
    X(PCS_E_EMPTY, "the header is empty")                                                          \
    X(PCS_E_PERCENT, "bad percent-encoding")                                                       \
    X(PCS_E_CONTROL, "the percent-encoding decodes to a control character")                        \
    X(PCS_E_RAW_CHAR, "a raw character that should be percent-encoded")                           \
    X(PCS_E_NOMEM, "out of memory")

typedef enum pcs_err {
#define PCS_X_ENUM(name, msg) name,
    PCS_ERRORS(PCS_X_ENUM)
#undef PCS_X_ENUM
    PCS_ERR_COUNT
} pcs_err;

/* pcs_err_message returns a sentence for code; never NULL. */
const char *pcs_err_message(pcs_err code);

/* pcs_cut_member finds top-level member `key` (written without escapes) of the JSON object text
 * `body` and sets *out to the exact bytes of its value (borrowed from body). The text must
 * already have passed the strict JSON parser: this only locates, string-aware. */
CBA_MUST_USE bool pcs_cut_member(cbs body, const char *key, cbs *out);

typedef struct pcs_signed {
    cbs text;              /* the exact bytes of the signed member's object (borrowed from body) */
    char signature[129];   /* the "signature" member: 128 hex digits and a NUL */
} pcs_signed;

/* pcs_parse_signed_body checks a {"<member>":{...},"signature":"<128 hex>"} body strictly (the
 * verifier's strict JSON rules: no duplicate keys, depth bound, UTF-8) and fills *out. On
 * PCS_E_NOT_JSON_OBJECT, detail says why (bounded; never the raw input). */
CBA_MUST_USE pcs_err pcs_parse_signed_body(cbs body, const char *member, pcs_signed *out, char *detail,
                                           size_t detail_len);

/* pcs_parse_crl_body accepts a CRL body as DER (PCS, encoding=der: it starts with a SEQUENCE tag)
 * or as the hex text of the DER (PCCS; surrounding whitespace allowed, an even number of digits)
 * and hands the DER to *out (malloc'ed; free out->data). It does not parse the CRL. */
CBA_MUST_USE pcs_err pcs_parse_crl_body(cbs body, cba_buf *out);

/* pcs_decode_issuer_chain percent-decodes an issuer-chain header value strictly (RFC 3986 §2.1:
 * '%' must start a two-hex-digit escape and may not encode NUL; raw characters must be visible
 * ASCII; no control character but CR and LF may result; '+' stays '+'). *out gets the text,
 * NUL-terminated (the NUL not counted; free out->data). On PCS_E_PERCENT *out_offset is the
 * offset of the bad '%'; on PCS_E_RAW_CHAR *out_char is the character. It does not check that
 * the text is a certificate chain. */
CBA_MUST_USE pcs_err pcs_decode_issuer_chain(cbs value, cba_buf *out, size_t *out_offset, uint8_t *out_char);

#endif
