/* rfc3339.h — the one RFC 3339 date-time parser (collateral times, the CLIs' --at). */
#ifndef CRABBOX_BASE_RFC3339_H
#define CRABBOX_BASE_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

#include "cbs.h"

/* Profiles of cba_parse_rfc3339: */
#define CBA_RFC3339_Z_ONLY 0x1u /* exactly "YYYY-MM-DDThh:mm:ssZ": upper-case T and Z, no fraction,
                                   no offset (Intel's collateral); any year 0000-9999 */
#define CBA_RFC3339_UNIX 0x2u   /* the instant and its year are not before 1970 */

/* cba_parse_rfc3339 parses an RFC 3339 date-time (section 5.6) into Unix seconds: full-date,
 * "T" / "t" / " ", full-time with an optional time-secfrac of 1-9 digits (dropped: whole
 * seconds) and a time-offset "Z" / "z" / "+hh:mm" / "-hh:mm", the whole input and nothing else;
 * no leap second (ss 60). flags narrow it (CBA_RFC3339_*). *out is set only on success. */
CBA_MUST_USE bool cba_parse_rfc3339(cbs s, unsigned flags, int64_t *out);

#endif
