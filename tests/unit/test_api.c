/* test_api.c — the embedding API around verification: cba_describe (what a quote says before any
 * collateral), cba_report_json (the verify --json object), and one verified collateral shared by
 * 8 threads (also built under ThreadSanitizer: tests/tsan). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "testutil.h"
#include "x509.h" /* cba_intel_root_ca_der */

#define CRABBOX_AT 1774003274
#define DCAP_QVL_AT 1752919234

TestSuite(api, .timeout = 300);

/* The report of a full verification: describe must agree with every field it also has. */
static void expect_same_fields(const cba_description *d, const cba_report *r)
{
    cr_assert(r->has_quote && r->has_pck);
    cr_assert_eq(d->quote_version, r->quote_version);
    cr_assert_eq(d->body_type, r->body_type);
    cr_assert_arr_eq(d->fmspc, r->fmspc, 6);
    cr_assert_arr_eq(d->pce_id, r->pce_id, 2);
    cr_assert_arr_eq(d->tee_tcb_svn, r->tee_tcb_svn, 16);
    cr_assert_arr_eq(d->mrseam, r->mrseam, 48);
    cr_assert_arr_eq(d->mrsignerseam, r->mrsignerseam, 48);
    cr_assert_eq(d->td_attributes, r->td_attributes);
    cr_assert_eq(d->xfam, r->xfam);
    cr_assert_arr_eq(d->mrtd, r->mrtd, 48);
    cr_assert_arr_eq(d->mrconfigid, r->mrconfigid, 48);
    cr_assert_arr_eq(d->mrowner, r->mrowner, 48);
    cr_assert_arr_eq(d->mrownerconfig, r->mrownerconfig, 48);
    cr_assert_arr_eq(d->rtmr, r->rtmr, sizeof d->rtmr);
    cr_assert_arr_eq(d->report_data, r->report_data, 64);
}

Test(api, describe_dcap_qvl_quote_matches_verified_report)
{
    tu_buf quote, coll;
    cba_evidence ev;
    cba_policy p;
    cba_report r;
    cba_description d;
    cba_error e;
    static const uint8_t fmspc[6] = { 0xb0, 0xc0, 0x6f, 0x00, 0x00, 0x00 };
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_evidence_init(&ev);
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    cba_description_init(&d);
    cr_assert_eq(cba_describe(&d, &e, &ev), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_eq(e.code, CBA_OK);
    cr_assert_arr_eq(d.fmspc, fmspc, 6, "the FMSPC of the sample's TCB info");
    cr_assert_eq(d.pck_ca, CBA_PCK_CA_PLATFORM);
    cr_assert_eq(d.quote_version, 4);

    ev.collateral_json = coll.data;
    ev.collateral_json_len = coll.len;
    cba_policy_init(&p);
    cba_report_init(&r);
    cr_assert_eq(cba_verify(&r, &p, &ev, DCAP_QVL_AT), CBA_OK, "%s", r.error.detail);
    expect_same_fields(&d, &r);
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

Test(api, describe_reads_the_quote_of_a_guest_agent_response)
{
    tu_buf info, quote;
    cba_evidence ev;
    cba_description from_info, from_quote;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &quote);
    cba_evidence_init(&ev);
    ev.info_json = info.data;
    ev.info_json_len = info.len;
    cba_description_init(&from_info);
    cr_assert_eq(cba_describe(&from_info, NULL, &ev), CBA_OK);
    ev.info_json = NULL;
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    cba_description_init(&from_quote);
    cr_assert_eq(cba_describe(&from_quote, NULL, &ev), CBA_OK);
    cr_assert_arr_eq(&from_info, &from_quote, sizeof from_info, "the Info carries this same quote");
    cr_assert_neq(from_info.pck_ca, CBA_PCK_CA_UNKNOWN);
    tu_buf_free(&info);
    tu_buf_free(&quote);
}

Test(api, describe_failures_are_named_and_leave_nothing)
{
    tu_buf quote;
    cba_evidence ev;
    cba_description d;
    cba_error e;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    cba_evidence_init(&ev);
    cba_description_init(&d);
    cr_assert_eq(cba_describe(&d, &e, &ev), CBA_E_QUOTE_MISSING);
    cr_assert_str_eq(e.where, "quote");

    ev.quote = quote.data;
    ev.quote_len = 300; /* cut inside the body */
    memset(&d, 0x5a, sizeof d);
    d.struct_size = (uint32_t)sizeof d;
    cr_assert_eq(cba_describe(&d, &e, &ev), CBA_E_QUOTE_FORMAT, "%s", e.detail);
    cr_assert_eq(d.struct_size, sizeof d);
    cr_assert_eq(d.pck_ca, CBA_PCK_CA_UNKNOWN, "a failed description is zeroed");
    for (size_t i = 0; i < sizeof d.mrtd; i++) { cr_assert_eq(d.mrtd[i], 0); }

    d.struct_size = 8;
    ev.quote_len = quote.len;
    cr_assert_eq(cba_describe(&d, &e, &ev), CBA_E_STRUCT_SIZE);
    cr_assert_eq(cba_describe(NULL, NULL, &ev), CBA_E_ARGUMENT);
    tu_buf_free(&quote);
}

Test(api, report_json_is_the_documented_object)
{
    tu_buf quote, coll;
    cba_evidence ev;
    cba_policy p;
    cba_report r;
    json_object *o, *v;
    char *text;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_evidence_init(&ev);
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    ev.collateral_json = coll.data;
    ev.collateral_json_len = coll.len;
    cba_policy_init(&p);
    cba_report_init(&r);
    cr_assert_eq(cba_verify(&r, &p, &ev, DCAP_QVL_AT + 2), CBA_E_CRL_EXPIRED);
    text = cba_report_json(&r, &p, DCAP_QVL_AT + 2);
    cr_assert_not_null(text);
    cr_assert_null(strchr(text, '\n'), "one line, no newline");
    o = json_tokener_parse(text);
    cr_assert_not_null(o, "%s", text);
    cr_assert(json_object_object_get_ex(o, "verdict", &v));
    cr_assert_str_eq(json_object_get_string(v), "rejected");
    cr_assert(json_object_object_get_ex(o, "failed_check", &v));
    cr_assert_str_eq(json_object_get_string(v), "crl");
    cr_assert(json_object_object_get_ex(o, "error", &v));
    cr_assert_str_eq(json_object_get_string(v), "CBA_E_CRL_EXPIRED");
    cr_assert(json_object_object_get_ex(o, "at", &v));
    cr_assert_eq(json_object_get_int64(v), DCAP_QVL_AT + 2);
    cr_assert(json_object_object_get_ex(o, "dcap", &v));
    cr_assert_str_eq(json_object_get_string(v), "checked");
    cr_assert(json_object_object_get_ex(o, "checks", &v));
    cr_assert_eq(json_object_array_length(v), (size_t)CBA_CHECK_COUNT);
    cr_assert(json_object_object_get_ex(o, "mrtd", &v));
    cr_assert(json_object_is_type(v, json_type_null), "nothing from rejected evidence");
    json_object_put(o);
    cba_free(text);
    cba_free(NULL);

    r.struct_size = 0;
    cr_assert_null(cba_report_json(&r, &p, 0));
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

/* ---- the core names no tool's flags (issue 15) ------------------------------------------------ */

/* expect_no_flags: nothing the library reports (check details, error detail, JSON) names a
 * command-line flag; crabbox-attest and the host add their own (tools/common/hints.c). */
static void expect_no_flags(const cba_report *r, const cba_policy *p, int64_t at)
{
    char *text = cba_report_json(r, p, at);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, "--"), "%s", text);
    for (int i = 0; i < CBA_CHECK_COUNT; i++) {
        cr_assert_null(strstr(r->checks[i].detail, "--"), "%s: %s", cba_check_name((cba_check)i),
                       r->checks[i].detail);
    }
    cr_assert_null(strstr(r->error.detail, "--"), "%s", r->error.detail);
    cba_free(text);
}

Test(api, details_name_no_cli_flags)
{
    tu_buf quote;
    cba_evidence ev;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    cba_evidence_init(&ev);
    ev.quote = quote.data;
    ev.quote_len = quote.len;

    /* No collateral: every DCAP check is deferred with the core's own words. */
    cba_policy_init(&p);
    cba_report_init(&r);
    cr_assert_eq(cba_verify(&r, &p, &ev, DCAP_QVL_AT), CBA_E_COLLATERAL_MISSING);
    cr_assert_str_eq(r.checks[CBA_CHECK_CRL].detail, "no collateral given (the DCAP checks need it)");
    cr_assert_str_eq(r.error.detail, "no collateral given (the DCAP checks need it)");
    cr_assert_str_eq(r.checks[CBA_CHECK_REPORT_DATA].detail, "no binding requested");
    expect_no_flags(&r, &p, DCAP_QVL_AT);

    /* skip_dcap, and a trust root given by the caller (Intel's own: the verdict stands, but the
     * report is marked as made under a caller's root and warns so). */
    p.skip_dcap = true;
    p.trust_root_der = cba_intel_root_ca_der;
    p.trust_root_der_len = cba_intel_root_ca_der_len;
    cba_report_init(&r);
    cr_assert_eq(cba_verify(&r, &p, &ev, DCAP_QVL_AT), CBA_OK, "%s", r.error.detail);
    cr_assert(r.test_root);
    cr_assert_eq(r.checks[CBA_CHECK_TCB_STATUS].status, CBA_CHECK_SKIP);
    cr_assert_str_eq(r.checks[CBA_CHECK_TCB_STATUS].detail, "skipped by the policy (skip_dcap: no collateral checks)");
    expect_no_flags(&r, &p, DCAP_QVL_AT);
    tu_buf_free(&quote);
}

/* ---- one collateral, 8 threads ------------------------------------------------------------- */
#define NUM_THREADS 8
#define ROUNDS 6

typedef struct worker {
    const cba_collateral *coll;
    const cba_policy *policy;
    const tu_buf *good, *bad;
    int ok, rejected, wrong;
    cba_tcb_status status;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    cba_evidence ev;
    cba_report *r = malloc(sizeof *r);
    if (r == NULL) { return NULL; }
    for (int i = 0; i < ROUNDS; i++) {
        const tu_buf *q = i % 3 == 2 ? w->bad : w->good;
        cba_err rc;
        cba_evidence_init(&ev);
        ev.quote = q->data;
        ev.quote_len = q->len;
        cba_report_init(r);
        rc = cba_verify_with(r, w->policy, w->coll, &ev, DCAP_QVL_AT);
        if (q == w->good && rc == CBA_OK && r->verdict == CBA_VERDICT_VERIFIED) {
            w->ok++;
            w->status = r->tcb_status;
        } else if (q == w->bad && rc == CBA_E_QUOTE_SIGNATURE && r->failed_check == CBA_CHECK_QUOTE_SIGNATURE) {
            w->rejected++;
        } else {
            w->wrong++;
        }
    }
    free(r);
    cba_thread_cleanup();
    return NULL;
}

Test(api, one_collateral_shared_by_8_threads)
{
    tu_buf quote, bad, coll;
    cba_policy p;
    cba_report r;
    cba_collateral *c = NULL;
    pthread_t th[NUM_THREADS];
    worker w[NUM_THREADS];
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &bad);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    bad.data[200] ^= 1; /* inside the signed body */
    cba_policy_init(&p);
    p.one_shot = false; /* a long-running verifier: wolfCrypt keeps (per-thread) tables */
    cba_report_init(&r);
    cr_assert_eq(cba_collateral_verify(&c, &r, &p, coll.data, coll.len, DCAP_QVL_AT), CBA_OK, "%s",
                 r.error.detail);
    for (int i = 0; i < NUM_THREADS; i++) {
        w[i] = (worker){ .coll = c, .policy = &p, .good = &quote, .bad = &bad };
        cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NUM_THREADS; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(w[i].wrong, 0, "thread %d: %d wrong results", i, w[i].wrong);
        cr_assert_eq(w[i].ok, ROUNDS - ROUNDS / 3);
        cr_assert_eq(w[i].rejected, ROUNDS / 3);
        cr_assert_eq(w[i].status, CBA_TCB_UP_TO_DATE);
    }
    cba_collateral_free(c);
    cba_thread_cleanup();
    tu_buf_free(&quote);
    tu_buf_free(&bad);
    tu_buf_free(&coll);
}
