/* base.h — libcrabbox-base: small helpers with no trust decisions, shared by the verifier, the
 * tools and the drivers (docs/internals.md). Errors (cba_fail: the verifier's error record, whose
 * type is the public crabbox/verifier.h's), constant-time compare, the one hex and the one base64 codec, random bytes.
 * Headers: cbs.h (the bounded reader), json.h (strict JSON), sha2.h (SHA-2 and the report-data
 * binding), fileio.h (bounded reads, atomic writes), errset.h (crabbox_err_set, the driver
 * ABI's error). */
#ifndef CRABBOX_BASE_H
#define CRABBOX_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbs.h"
#include "crabbox/verifier.h"

/* ---- the verifier's error record (cba_error, caller storage) -------------------------------- */

/* cba_fail records the first failure in err (a later one never overwrites it) and returns code.
 * err may be NULL. `where` names the field ("quote.header.version"); the format never carries
 * secrets or raw input. */
__attribute__((format(printf, 4, 5))) cba_err cba_fail(cba_error *err, cba_err code,
                                                       const char *where, const char *fmt, ...);

/* cba_error_clear resets err to CBA_OK with empty strings. NULL-safe. */
void cba_error_clear(cba_error *err);

#define CBA_ENSURE(cond, err, code, where, ...)                                                 \
    do {                                                                                        \
        if (!(cond)) { return cba_fail((err), (code), (where), __VA_ARGS__); }                  \
    } while (0)

#define CBA_TRY(expr)                                                                           \
    do {                                                                                        \
        cba_err cba_try_rc_ = (expr);                                                           \
        if (cba_try_rc_ != CBA_OK) { return cba_try_rc_; }                                      \
    } while (0)

#define CBA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- comparisons, codecs, randomness ---------------------------------------------------------- */

/* cba_ct_eq compares n bytes in constant time (digests, measurements, key ids, MACs). */
bool cba_ct_eq(const uint8_t *a, const uint8_t *b, size_t n);

/* cba_hex_decode decodes exactly `out_len` bytes from 2*out_len hex digits (either case).
 * Returns false for a wrong length or any non-hex character; out is untouched then. */
CBA_MUST_USE bool cba_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len);

/* cba_hex_encode writes 2*len lowercase digits and a NUL into out (size >= 2*len+1). */
void cba_hex_encode(char *out, const uint8_t *in, size_t len);

/* cba_base64_encoded_len is the length of the standard padded base64 of n bytes (no NUL), or 0
 * when that does not fit a size_t. */
size_t cba_base64_encoded_len(size_t n);

/* cba_base64_encode writes the standard (RFC 4648 section 4, padded) base64 of in and a NUL into
 * out, which holds cba_base64_encoded_len(n) + 1 bytes. */
void cba_base64_encode(char *out, const uint8_t *in, size_t n);

/* cba_base64_encode_alloc is cba_base64_encode into a new malloc'd string; NULL when out of
 * memory or too large. */
char *cba_base64_encode_alloc(const uint8_t *in, size_t n);

/* cba_base64_decode decodes strict standard base64: the RFC 4648 alphabet only (no whitespace,
 * no URL-safe characters), a multiple of 4 characters, '=' only as the padding of the last quad,
 * and canonical (the bits under the padding zero: one encoding per byte string). The empty input
 * decodes to nothing. At most out_cap bytes are written. Returns false on any deviation or when
 * out_cap is too small (out may then hold part of the data); *out_len is set only on success.
 * It is cba_base64_decode_part over the whole input, then cba_base64_decode_end. */
CBA_MUST_USE bool cba_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in,
                                    size_t in_len);

/* cba_base64_stream is the state of one strict decode fed in pieces (PEM lines, which may split
 * a quad): zero it to start. */
typedef struct cba_base64_stream {
    uint8_t quad[4]; /* the values of the characters of the quad being filled */
    unsigned num;    /* characters in quad */
    unsigned pad;    /* '=' characters in quad */
    bool done;       /* a padded quad ended the data */
} cba_base64_stream;

/* cba_base64_decode_part decodes the next in_len characters into out at *pos (out holds out_cap
 * bytes, *pos <= out_cap), with cba_base64_decode's rules over all pieces together: false on a
 * character outside the alphabet, '=' anywhere but the end of the last quad, anything after a
 * padded quad, non-zero bits under the padding, or no room (st and out are then spent). */
CBA_MUST_USE bool cba_base64_decode_part(cba_base64_stream *st, uint8_t *out, size_t out_cap,
                                         size_t *pos, const char *in, size_t in_len);

/* cba_base64_decode_end is true when the pieces fed to st ended on a whole quad. */
CBA_MUST_USE bool cba_base64_decode_end(const cba_base64_stream *st);

/* cba_random_bytes fills out from getrandom(2), retrying EINTR and short reads; false only when
 * the kernel refuses (out is then unspecified). */
CBA_MUST_USE bool cba_random_bytes(uint8_t *out, size_t n);

#endif
