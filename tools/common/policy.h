/* policy.h — the one verifier-policy vocabulary of crabbox-attest (`verify --policy FILE`) and
 * crabbox (its config keys), parsed in one place (docs/user-guide.md §Policy).
 *
 * Keys (camelCase; every pin a list of allowed values, spelled as `verify --json` prints them):
 *   acceptTcbStatus          TCB statuses accepted (UpToDate, SWHardeningNeeded, ...; never Revoked)
 *   allowedAdvisories        Intel advisory IDs accepted (INTEL-SA-00615, ...)
 *   minTcbEvaluationNumber   minimum tcbEvaluationDataNumber
 *   maxCollateralAgeSeconds  maximum age of the TCB info at the verification time
 *   mrtd rtmr0 rtmr1 rtmr2 rtmr3 mrseam mrsignerseam mrconfigid mrowner mrownerconfig
 *                            48-byte measurements (96 hex digits)
 *   xfam tdAttributes        the 8 quote bytes (16 hex digits, as printed)
 *   reportData               64 bytes (128 hex digits)
 *   osImageHash              dstack's measured OS image hash, 32 bytes (64 hex digits)
 *   minTeeTcbSvn             16 bytes; each component must be >= (32 hex digits)
 *   minQeIsvsvn minPcesvn    numbers
 *
 * A document is a YAML (or JSON, which libyaml reads as YAML) mapping of these keys to a value
 * or a list of values. Unknown or duplicate keys, anchors, aliases, tags, nested values and bad
 * values are errors naming the key and line.
 *
 * Two ways to apply a key: tc_policy_set replaces (trusted config, flags, --policy); a
 * repository file uses tc_policy_tighten, which can only make the policy stricter: lists shrink
 * to the intersection, a pin not yet set is added, minimums rise, the maximum age falls. */
#ifndef CRABBOX_TOOLS_POLICY_H
#define CRABBOX_TOOLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crabbox/verifier.h"

#define TC_POLICY_MAX_VALUES 64 /* per list */
#define TC_POLICY_MAX_FILE (256u << 10)

typedef struct tc_policy {
    bool has_accept;
    uint32_t accepted_statuses;
    bool has_advisories;
    size_t num_advisories;
    char advisories[TC_POLICY_MAX_VALUES][CBA_ADVISORY_ID_MAX];
    const char *advisory_ptrs[TC_POLICY_MAX_VALUES + 1]; /* filled by tc_policy_apply */
    bool has_min_tcb_eval;
    uint32_t min_tcb_eval;
    bool has_max_age;
    int64_t max_age;
    bool has_pin[CBA_PIN_COUNT];
    size_t num_pin[CBA_PIN_COUNT];
    uint8_t pin[CBA_PIN_COUNT][TC_POLICY_MAX_VALUES][64];
    uint8_t pin_flat[CBA_PIN_COUNT][TC_POLICY_MAX_VALUES * 64]; /* filled by tc_policy_apply */
    bool has_min_tee_tcb_svn;
    uint8_t min_tee_tcb_svn[16];
    bool has_min_qe_isvsvn;
    uint16_t min_qe_isvsvn;
    bool has_min_pcesvn;
    uint16_t min_pcesvn;
} tc_policy;

void tc_policy_init(tc_policy *p); /* nothing set */

/* tc_policy_pin_key is the key of a pin field ("mrtd", ..., "tdAttributes", "osImageHash"). */
const char *tc_policy_pin_key(cba_pin_field field);

/* tc_policy_is_key tells whether `key` is one of the policy keys above. */
bool tc_policy_is_key(const char *key);

/* tc_policy_set replaces `key` with the values (each one value; a comma- or space-separated
 * string of several is split). tc_policy_tighten merges them into what is set so that the result
 * is never looser. Both return false with a message in err (naming the key and the value) for an
 * unknown key or a bad value, and tc_policy_tighten also when the intersection of a pin is empty. */
bool tc_policy_set(tc_policy *p, const char *key, const char *const *values, size_t num_values, char *err,
                   size_t err_len);
bool tc_policy_tighten(tc_policy *p, const char *key, const char *const *values, size_t num_values, char *err,
                       size_t err_len);

/* tc_policy_load parses a policy document (YAML or JSON) and applies every key with
 * tc_policy_set (tighten: with tc_policy_tighten). `name` is used in messages ("FILE:LINE: ..."). */
bool tc_policy_load(tc_policy *p, const char *name, const uint8_t *data, size_t len, bool tighten, char *err,
                    size_t err_len);

/* tc_policy_apply writes what is set into `out` (a cba_policy from cba_policy_init); `out`
 * borrows p's storage, so p must outlive it and stay unchanged. */
void tc_policy_apply(tc_policy *p, cba_policy *out);

/* tc_policy_describe writes a one-line summary of what is set ("mrtd(2) minPcesvn ..."), or "". */
void tc_policy_describe(const tc_policy *p, char *out, size_t out_len);

#endif
