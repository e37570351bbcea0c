/* test_abi.c — the structs that grow: struct_size checked on every public entry point, an older
 * caller's smaller report never written past its end, a newer caller's unknown members refused. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "testutil.h"

#define CRABBOX_AT 1774003274
#define SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
/* The first released layouts: the smallest struct_size the library accepts. */
#define REPORT_V0 SIZE_THROUGH(cba_report, os_image_hash)
#define POLICY_V0 SIZE_THROUGH(cba_policy, trust_root_der_len)
#define EVIDENCE_V0 SIZE_THROUGH(cba_evidence, quote_replaces_info_quote)
#define SENTINEL 0xa5

TestSuite(abi, .timeout = 60);

static void quote_evidence(cba_evidence *ev, cba_policy *p, tu_buf *quote)
{
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", quote);
    cba_evidence_init(ev);
    ev->quote = quote->data;
    ev->quote_len = quote->len;
    cba_policy_init(p);
    p->skip_dcap = true;
}

Test(abi, init_functions_set_struct_size_first)
{
    cba_policy p;
    cba_evidence e;
    cba_report r;
    memset(&p, 0xff, sizeof p);
    memset(&e, 0xff, sizeof e);
    memset(&r, 0xff, sizeof r);
    cba_policy_init(&p);
    cba_evidence_init(&e);
    cba_report_init(&r);
    cr_assert_eq(offsetof(cba_policy, struct_size), 0);
    cr_assert_eq(offsetof(cba_evidence, struct_size), 0);
    cr_assert_eq(offsetof(cba_report, struct_size), 0);
    cr_assert_eq(p.struct_size, sizeof p);
    cr_assert_eq(e.struct_size, sizeof e);
    cr_assert_eq(r.struct_size, sizeof r);
    cr_assert_null(e.quote);
    cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED);
    cr_assert(CBA_CHECK_COUNT <= CBA_MAX_CHECKS);
}

Test(abi, uninitialised_report_is_refused_untouched)
{
    tu_buf quote;
    cba_evidence ev;
    cba_policy p;
    cba_report r;
    cba_collateral *c = (cba_collateral *)&r; /* must become NULL */
    unsigned char before[sizeof r];
    quote_evidence(&ev, &p, &quote);
    memset(&r, 0, sizeof r);
    r.struct_size = (uint32_t)(REPORT_V0 - 1);
    memcpy(before, &r, sizeof r);
    cr_assert_eq(cba_verify(&r, &p, &ev, CRABBOX_AT), CBA_E_STRUCT_SIZE);
    cr_assert_eq(memcmp(before, &r, sizeof r), 0, "a report too small to hold is never written");
    cr_assert_eq(cba_collateral_verify(&c, &r, &p, (const uint8_t *)"{}", 2, CRABBOX_AT), CBA_E_STRUCT_SIZE);
    cr_assert_null(c);
    cr_assert_eq(cba_verify(NULL, &p, &ev, CRABBOX_AT), CBA_E_ARGUMENT);
    cr_assert_str_eq(cba_err_name(CBA_E_STRUCT_SIZE), "CBA_E_STRUCT_SIZE");
    tu_buf_free(&quote);
}

Test(abi, uninitialised_policy_and_evidence_are_named)
{
    tu_buf quote;
    cba_evidence ev;
    cba_policy p;
    cba_report r;
    quote_evidence(&ev, &p, &quote);
    cba_report_init(&r);
    p.struct_size = 0;
    cr_assert_eq(cba_verify(&r, &p, &ev, CRABBOX_AT), CBA_E_STRUCT_SIZE);
    cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED);
    cr_assert_eq(r.error.code, CBA_E_STRUCT_SIZE);
    cr_assert_str_eq(r.error.where, "policy");
    cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_PARSE);
    cr_assert_not(r.has_quote);

    p.struct_size = (uint32_t)sizeof p;
    ev.struct_size = (uint32_t)(EVIDENCE_V0 - 1);
    cr_assert_eq(cba_verify(&r, &p, &ev, CRABBOX_AT), CBA_E_STRUCT_SIZE);
    cr_assert_str_eq(r.error.where, "evidence");
    cr_assert(strstr(r.error.detail, "init function") != NULL, "%s", r.error.detail);
    cr_assert_eq(cba_verify(&r, &p, NULL, CRABBOX_AT), CBA_E_ARGUMENT);
    tu_buf_free(&quote);
}

/* An embedder built against the first released header: its report ends at os_image_hash. */
Test(abi, older_caller_report_is_written_only_to_its_size)
{
    tu_buf quote;
    cba_evidence ev;
    cba_policy p;
    unsigned char *buf = malloc(sizeof(cba_report) + 64);
    cba_report *r = (cba_report *)(void *)buf;
    cr_assert_not_null(buf);
    quote_evidence(&ev, &p, &quote);
    memset(buf, SENTINEL, sizeof(cba_report) + 64);
    r->struct_size = (uint32_t)REPORT_V0;
    cr_assert_eq(cba_verify(r, &p, &ev, CRABBOX_AT), CBA_OK, "%s", r->error.detail);
    cr_assert_eq(r->verdict, CBA_VERDICT_VERIFIED);
    cr_assert_eq(r->struct_size, REPORT_V0, "struct_size is the caller's");
    cr_assert(r->has_quote);
    for (size_t i = REPORT_V0; i < sizeof(cba_report) + 64; i++) {
        cr_assert_eq(buf[i], SENTINEL, "byte %zu past the caller's report was written", i);
    }
    /* An older policy and evidence: the members they lack take their init defaults. */
    p.struct_size = (uint32_t)POLICY_V0;
    ev.struct_size = (uint32_t)EVIDENCE_V0;
    cr_assert_eq(cba_verify(r, &p, &ev, CRABBOX_AT), CBA_OK, "%s", r->error.detail);
    free(buf);
    tu_buf_free(&quote);
}

/* An embedder built against a newer header: members this library does not know must be unset. */
Test(abi, newer_caller_unknown_members_must_be_zero)
{
    tu_buf quote;
    struct { cba_policy p; uint8_t knob[16]; } newer_policy;
    struct { cba_evidence e; uint8_t more[16]; } newer_evidence;
    struct { cba_report r; uint8_t more[32]; } newer_report;
    memset(&newer_policy, 0, sizeof newer_policy);
    memset(&newer_evidence, 0, sizeof newer_evidence);
    quote_evidence(&newer_evidence.e, &newer_policy.p, &quote);
    newer_policy.p.struct_size = (uint32_t)sizeof newer_policy;
    newer_evidence.e.struct_size = (uint32_t)sizeof newer_evidence;
    memset(&newer_report, SENTINEL, sizeof newer_report);
    newer_report.r.struct_size = (uint32_t)sizeof newer_report;

    cr_assert_eq(cba_verify(&newer_report.r, &newer_policy.p, &newer_evidence.e, CRABBOX_AT), CBA_OK, "%s",
                 newer_report.r.error.detail);
    for (size_t i = 0; i < sizeof newer_report.more; i++) {
        cr_assert_eq(newer_report.more[i], 0, "members the library does not know read as unset");
    }
    cr_assert_eq(newer_report.r.struct_size, sizeof newer_report);

    newer_policy.knob[3] = 1; /* a policy knob this library cannot enforce */
    cr_assert_eq(cba_verify(&newer_report.r, &newer_policy.p, &newer_evidence.e, CRABBOX_AT),
                 CBA_E_STRUCT_SIZE);
    cr_assert_str_eq(newer_report.r.error.where, "policy");
    cr_assert(strstr(newer_report.r.error.detail, "does not know") != NULL, "%s", newer_report.r.error.detail);
    cr_assert_eq(newer_report.r.verdict, CBA_VERDICT_REJECTED);
    tu_buf_free(&quote);
}
