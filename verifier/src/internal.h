/* internal.h — shared helpers of the verifier core: errors, constant-time compare, hex. */
#ifndef CBA_INTERNAL_H
#define CBA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbs.h"
#include "crabbox/verifier.h"

/* cba_fail records the first failure in err (a later one never overwrites it) and returns code.
 * err may be NULL. `where` names the field ("quote.header.version"); the format never carries
 * secrets or raw input. */
__attribute__((format(printf, 4, 5))) cba_err cba_fail(cba_error *err, cba_err code,
                                                       const char *where, const char *fmt, ...);

/* cba_error_clear resets err to CBA_OK with empty strings. */
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

/* Structs that grow: the first released layouts are the smallest struct_size accepted. */
#define CBA_SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define CBA_POLICY_SIZE_MIN CBA_SIZE_THROUGH(cba_policy, trust_root_der_len)
#define CBA_EVIDENCE_SIZE_MIN CBA_SIZE_THROUGH(cba_evidence, quote_replaces_info_quote)
#define CBA_REPORT_SIZE_MIN CBA_SIZE_THROUGH(cba_report, os_image_hash)
#define CBA_DESCRIPTION_SIZE_MIN CBA_SIZE_THROUGH(cba_description, report_data)

/* cba_import_struct makes *dst (holding this library's defaults, dst_size bytes) the caller's
 * struct src: src's struct_size bytes (at least min_size), of which the first dst_size are
 * understood and the rest must be zero. `what` names it in the error ("policy"). */
CBA_MUST_USE cba_err cba_import_struct(cba_error *err, void *dst, size_t dst_size, const void *src,
                                       size_t min_size, const char *what);

/* cba_ct_eq compares n bytes in constant time (digests, measurements, key ids). */
bool cba_ct_eq(const uint8_t *a, const uint8_t *b, size_t n);

/* cba_hex_decode decodes exactly `out_len` bytes from 2*out_len hex digits (either case).
 * Returns false for a wrong length or any non-hex character; out is untouched then. */
CBA_MUST_USE bool cba_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len);

/* cba_hex_encode writes 2*len lowercase digits and a NUL into out (size >= 2*len+1). */
void cba_hex_encode(char *out, const uint8_t *in, size_t len);

/* cba_load_be_u32 etc. are not needed: every multi-byte read goes through cbs.h. */

#define CBA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
