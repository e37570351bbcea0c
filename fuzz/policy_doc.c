/* fuzz/policy_doc.c. Target: tc_policy_load (tools/common/policy.c), the policy document parser
 * that reads repository files (crabbox.yaml keys) and `verify --policy` files: YAML or JSON via
 * libyaml. Seeds: fuzz/corpus/policy_doc/.
 * Properties: a failure leaves the policy exactly as it was (all or nothing) with a message; a
 * success applied with tighten never loosens a set minimum or widens a set pin list; applying the
 * result to a cba_policy keeps every list within its storage; parsing is deterministic. */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool cond)
{
    if (!cond) { abort(); }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_policy *base = malloc(sizeof *base), *p = malloc(sizeof *p), *q = malloc(sizeof *q);
    static const char k_base[] = "minPcesvn: 5\nmrtd: [\"" "aa" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                 "\", \"" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                                 "\"]\nmaxCollateralAgeSeconds: 1000\n";
    char err[300], err2[300];
    if (base == NULL || p == NULL || q == NULL) { goto out; }
    tc_policy_init(base);
    check(tc_policy_load(base, "base", (const uint8_t *)k_base, strlen(k_base), false, err, sizeof err));
    for (int tighten = 0; tighten < 2; tighten++) {
        bool ok, ok2;
        *p = *base;
        *q = *base;
        err[0] = err2[0] = '\0';
        ok = tc_policy_load(p, "fuzz", data, size, tighten != 0, err, sizeof err);
        ok2 = tc_policy_load(q, "fuzz", data, size, tighten != 0, err2, sizeof err2);
        check(ok == ok2 && memcmp(p, q, sizeof *p) == 0 && strcmp(err, err2) == 0);
        if (!ok) {
            check(err[0] != '\0' && memcmp(p, base, sizeof *p) == 0);
            continue;
        }
        for (int f = 0; f < CBA_PIN_COUNT; f++) { check(p->num_pin[f] <= TC_POLICY_MAX_VALUES); }
        check(p->num_advisories <= TC_POLICY_MAX_VALUES);
        if (tighten) {
            check(p->min_pcesvn >= base->min_pcesvn);
            check(p->max_age <= base->max_age && p->max_age > 0);
            check(p->num_pin[CBA_PIN_MRTD] >= 1 && p->num_pin[CBA_PIN_MRTD] <= base->num_pin[CBA_PIN_MRTD]);
            for (size_t i = 0; i < p->num_pin[CBA_PIN_MRTD]; i++) {
                check(p->pin[CBA_PIN_MRTD][i][0] == 0xaa || p->pin[CBA_PIN_MRTD][i][0] == 0xbb);
            }
            check(!p->has_accept || (p->accepted_statuses & ~(1u << CBA_TCB_UP_TO_DATE)) == 0);
        }
        {
            cba_policy out;
            cba_policy_init(&out);
            tc_policy_apply(p, &out);
            for (int f = 0; f < CBA_PIN_COUNT; f++) { check(out.pins[f].num_values == (p->has_pin[f] ? p->num_pin[f] : 0)); }
        }
    }
out:
    free(base);
    free(p);
    free(q);
    return 0;
}
