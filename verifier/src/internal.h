/* internal.h — shared helpers of the verifier core (errors, compare, hex: base/base.h). */
#ifndef CBA_INTERNAL_H
#define CBA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "cbs.h"
#include "crabbox/verifier.h"

/* cba_fail, cba_error_clear, CBA_ENSURE, CBA_TRY, CBA_ARRAY_LEN, cba_ct_eq, cba_hex_*: base.h. */

/* Structs that grow: the first released layouts are the smallest struct_size accepted. */
#define CBA_SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define CBA_POLICY_SIZE_MIN CBA_SIZE_THROUGH(cba_policy, trust_root_der_len)
#define CBA_EVIDENCE_SIZE_MIN CBA_SIZE_THROUGH(cba_evidence, quote_replaces_info_quote)
#define CBA_REPORT_SIZE_MIN CBA_SIZE_THROUGH(cba_report, os_image_hash)
#define CBA_APP_COMPOSE_POLICY_SIZE_MIN CBA_SIZE_THROUGH(cba_app_compose_policy, report_only)
#define CBA_DESCRIPTION_SIZE_MIN CBA_SIZE_THROUGH(cba_description, report_data)

/* cba_import_struct makes *dst (holding this library's defaults, dst_size bytes) the caller's
 * struct src: src's struct_size bytes (at least min_size), of which the first dst_size are
 * understood and the rest must be zero. `what` names it in the error ("policy"). */
CBA_MUST_USE cba_err cba_import_struct(cba_error *err, void *dst, size_t dst_size, const void *src,
                                       size_t min_size, const char *what);

/* cba_load_be_u32 etc. are not needed: every multi-byte read goes through cbs.h. */

#endif
