/* der.h — DER primitives on top of cbs.h (X.690). All reads are strict: minimal encodings only,
 * failure leaves the cursor unchanged. */
#ifndef CBA_DER_H
#define CBA_DER_H

#include "cbs.h"

/* der_get_integer reads an INTEGER and sets *out_mag to its magnitude bytes without the sign
 * octet (a positive value's leading 0x00 stripped). Rejects negative values, empty contents and
 * non-minimal encodings. Zero gives a one-byte 0x00 magnitude. */
CBA_MUST_USE bool der_get_integer(cbs *c, cbs *out_mag);

/* der_get_integer_u64 reads a non-negative INTEGER <= max. */
CBA_MUST_USE bool der_get_integer_u64(cbs *c, uint64_t max, uint64_t *out);

/* der_get_enumerated_u64: as der_get_integer_u64 for tag ENUMERATED. */
CBA_MUST_USE bool der_get_enumerated_u64(cbs *c, uint64_t max, uint64_t *out);

/* der_get_bool reads a DER BOOLEAN (0x00 or 0xFF only). */
CBA_MUST_USE bool der_get_bool(cbs *c, bool *out);

/* der_get_oid reads an OBJECT IDENTIFIER and sets *out to its content bytes (validated: non-empty,
 * minimal base-128 arcs, last byte without the continuation bit). */
CBA_MUST_USE bool der_get_oid(cbs *c, cbs *out);

/* der_get_bit_string reads a BIT STRING with zero unused bits; *out is the bits' bytes. */
CBA_MUST_USE bool der_get_bit_string(cbs *c, cbs *out);

/* der_get_bit_string_flags reads a (possibly short, named-bit) BIT STRING such as KeyUsage into
 * *out as bits 0..15 (bit 0 = first bit = 0x80 of the first byte). Padding bits must be zero.
 * Trailing zero named bits are tolerated (rcgen, which signs dstack's RA-TLS certificates,
 * writes KeyUsage as 9 bits: 03 03 07 80 00). */
CBA_MUST_USE bool der_get_bit_string_flags(cbs *c, uint16_t *out);

/* der_get_time reads a UTCTime (YYMMDDHHMMSSZ, YY < 50 => 20YY) or a GeneralizedTime
 * (YYYYMMDDHHMMSSZ) and returns Unix seconds. Only 'Z', seconds required, no fractions; every
 * field range-checked (month 1..12, day within the month incl. leap years, hh<24, mm,ss<60). */
CBA_MUST_USE bool der_get_time(cbs *c, int64_t *out);

/* der_days_from_civil converts a proleptic Gregorian date to days since 1970-01-01. */
int64_t der_days_from_civil(int64_t y, unsigned m, unsigned d);

/* der_ecdsa_sig_to_raw parses an ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }), each
 * minimal, positive and at most 32 bytes of magnitude, nothing trailing, into r||s (64 bytes). */
CBA_MUST_USE bool der_ecdsa_sig_to_raw(cbs sig_der, uint8_t out_rs[64]);

#endif
