/* describe.h — "describe a piece of evidence": what a TDX quote, a dstack guest agent response,
 * DCAP collateral, a PEM certificate chain or a DER certificate/CRL contains, as JSON, parsed
 * strictly and verified NOT at all (`crabbox-attest inspect`). Each function adds members to `o`
 * (or sets *out) and returns CBA_OK, or the parse error; a problem worth telling (the parse
 * error, or a part that did not parse while the rest did) is written to why (one line, bounded;
 * why[0] stays as it was when there is none). Nothing is printed. */
#ifndef CRABBOX_ATTEST_DESCRIBE_H
#define CRABBOX_ATTEST_DESCRIBE_H

#include <stddef.h>

#include <json-c/json.h>

#include "cbs.h"
#include "crabbox/verifier.h"

CBA_MUST_USE cba_err attest_describe_quote(json_object *o, cbs in, char *why, size_t why_len);
CBA_MUST_USE cba_err attest_describe_info(json_object *o, cbs in, char *why, size_t why_len);
CBA_MUST_USE cba_err attest_describe_collateral(json_object *o, cbs in, char *why, size_t why_len);
CBA_MUST_USE cba_err attest_describe_der(json_object *o, cbs in, char *why, size_t why_len);
/* attest_describe_chain sets *out to a new array with one object per certificate of the chain. */
CBA_MUST_USE cba_err attest_describe_chain(json_object **out, cbs pem, char *why, size_t why_len);

#endif
