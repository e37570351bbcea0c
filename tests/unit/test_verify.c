/* test_verify.c — the whole pipeline (cba_verify) on real evidence, and tampered twins. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "testutil.h"

#define CRABBOX_AT 1774003274
#define DCAP_QVL_AT 1752919234

static const char k_app_id[] = "944edab771280ede410e7b9e66fcaee6b2c4a12c";
static const char k_compose_hash[] = "609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f7449";

TestSuite(verify, .timeout = 300);

static void crabbox_policy(cba_policy *p)
{
    cba_policy_init(p);
    p->skip_dcap = true;
    cr_assert_eq(tu_hex(p->app_id, 20, k_app_id), 20);
    p->has_app_id = true;
    cr_assert_eq(tu_hex(p->compose_hash, 32, k_compose_hash), 32);
    p->has_compose_hash = true;
}

static cba_err run(cba_report *r, const cba_policy *p, const tu_buf *quote, const tu_buf *info,
                   const tu_buf *coll, int64_t at)
{
    cba_evidence ev;
    cba_evidence_init(&ev);
    cba_report_init(r);
    if (quote) { ev.quote = quote->data; ev.quote_len = quote->len; }
    if (info) { ev.info_json = info->data; ev.info_json_len = info->len; }
    if (coll) { ev.collateral_json = coll->data; ev.collateral_json_len = coll->len; }
    return cba_verify(r, p, &ev, at);
}

Test(verify, crabbox_info_verifies_without_collateral)
{
    tu_buf info;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    crabbox_policy(&p);
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_OK, "%s: %s",
                 cba_check_name(r.failed_check), r.error.detail);
    cr_assert_eq(r.verdict, CBA_VERDICT_VERIFIED);
    for (int i = 0; i < CBA_CHECK_COUNT; i++) {
        bool dcap = i == CBA_CHECK_CRL || i == CBA_CHECK_TCB_INFO || i == CBA_CHECK_QE_IDENTITY ||
                    i == CBA_CHECK_TCB_STATUS;
        cr_assert_eq(r.checks[i].status, dcap ? CBA_CHECK_SKIP : CBA_CHECK_PASS, "check %s",
                     cba_check_name((cba_check)i));
    }
    cr_assert(r.ratls_bound);
    cr_assert_eq(r.mrconfigid_version, 1);
    cr_assert_eq(r.num_events, 30);
    tu_buf_free(&info);
}

Test(verify, crabbox_quote_and_info_agree)
{
    tu_buf info, quote;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &quote);
    crabbox_policy(&p);
    cr_assert_eq(run(&r, &p, &quote, &info, NULL, CRABBOX_AT), CBA_OK, "%s", r.error.detail);
    quote.data[600] ^= 1; /* a different quote than the response carries */
    cr_assert_eq(run(&r, &p, &quote, &info, NULL, CRABBOX_AT), CBA_E_QUOTE_FORMAT);
    cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_PARSE);
    tu_buf_free(&info);
    tu_buf_free(&quote);
}

Test(verify, crabbox_without_collateral_is_not_verified)
{
    tu_buf info;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    crabbox_policy(&p);
    p.skip_dcap = false;
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_E_COLLATERAL_MISSING);
    cr_assert(r.collateral_missing);
    cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED);
    cr_assert_eq(r.failed_check, CBA_CHECK_CRL);
    /* Everything that does not need collateral still ran and passed. */
    cr_assert_eq(r.checks[CBA_CHECK_QUOTE_SIGNATURE].status, CBA_CHECK_PASS);
    cr_assert_eq(r.checks[CBA_CHECK_REPORT_DATA].status, CBA_CHECK_PASS);
    tu_buf_free(&info);
}

Test(verify, crabbox_expectations_mismatch)
{
    tu_buf info;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    crabbox_policy(&p);
    p.app_id[19] ^= 1;
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_E_APP_ID_MISMATCH);
    cr_assert_eq(r.failed_check, CBA_CHECK_APP_ID);
    crabbox_policy(&p);
    p.compose_hash[0] ^= 1;
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_E_COMPOSE_HASH_MISMATCH);
    cr_assert_eq(r.failed_check, CBA_CHECK_COMPOSE_BINDING);
    crabbox_policy(&p);
    p.has_report_data = true; /* all zero: not this quote's report data */
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_E_REPORT_DATA_MISMATCH);
    cr_assert_eq(r.failed_check, CBA_CHECK_REPORT_DATA);
    crabbox_policy(&p);
    p.has_mrtd = true; /* pinned to zeros */
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_E_MEASUREMENT_POLICY);
    cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_MEASUREMENTS);
    tu_buf_free(&info);
}

Test(verify, crabbox_pck_validity_bounds)
{
    tu_buf quote;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &quote);
    cba_policy_init(&p);
    p.skip_dcap = true;
    /* PCK leaf valid from 2026-01-29T05:32:06Z: one second before, the chain fails. */
    cr_assert_eq(run(&r, &p, &quote, NULL, NULL, 1769664726), CBA_OK, "%s", r.error.detail);
    cr_assert_eq(run(&r, &p, &quote, NULL, NULL, 1769664725), CBA_E_CERT_EXPIRED);
    cr_assert_eq(r.failed_check, CBA_CHECK_PCK_CHAIN);
    cr_assert_not(r.has_quote, "nothing from the quote is published before it is authenticated");
    tu_buf_free(&quote);
}

/* Every single-byte change of the signed region (header and TD report) is rejected: by the parser
 * for fields it checks, otherwise by the quote signature. */
Test(verify, crabbox_every_signed_byte_change_rejected)
{
    tu_buf quote;
    cba_policy p;
    cba_report r;
    size_t signed_len = 48 + 584, tried = 0;
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &quote);
    cba_policy_init(&p);
    p.skip_dcap = true;
    for (size_t i = 0; i < signed_len; i++) {
        uint8_t orig = quote.data[i];
        quote.data[i] = (uint8_t)(orig ^ 0x01);
        cr_assert_neq(run(&r, &p, &quote, NULL, NULL, CRABBOX_AT), CBA_OK, "byte %zu accepted", i);
        if (i >= 48) {
            cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_SIGNATURE, "byte %zu: %s", i,
                         cba_check_name(r.failed_check));
        } else {
            cr_assert(r.failed_check == CBA_CHECK_QUOTE_PARSE ||
                          r.failed_check == CBA_CHECK_QUOTE_SIGNATURE,
                      "byte %zu: %s", i, cba_check_name(r.failed_check));
        }
        quote.data[i] = orig;
        tried++;
    }
    cr_log_info("signed-region mutants rejected: %zu", tried);
    tu_buf_free(&quote);
}

/* Changes to the signature data: QE report, its signature, auth data, attestation key, quote
 * signature — each rejected by its own check. */
Test(verify, crabbox_signature_data_changes_rejected)
{
    tu_buf quote;
    cba_policy p;
    cba_report r;
    struct { size_t off; cba_check check; } cases[] = {
        { 636 + 10, CBA_CHECK_QUOTE_SIGNATURE },   /* quote signature r */
        { 700 + 5, CBA_CHECK_QE_REPORT_DATA },     /* attestation key (bound by QE report data) */
        { 770 + 64, CBA_CHECK_QE_REPORT_SIGNATURE }, /* QE report MRENCLAVE */
        { 770 + 384 + 3, CBA_CHECK_QE_REPORT_SIGNATURE }, /* QE report signature */
        { 770 + 450 + 1, CBA_CHECK_QE_REPORT_DATA },      /* QE auth data */
    };
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &quote);
    cba_policy_init(&p);
    p.skip_dcap = true;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        quote.data[cases[k].off] ^= 0x40;
        cr_assert_neq(run(&r, &p, &quote, NULL, NULL, CRABBOX_AT), CBA_OK);
        cr_assert_eq(r.failed_check, cases[k].check, "offset %zu: got %s (%s)", cases[k].off,
                     cba_check_name(r.failed_check), r.error.detail);
        quote.data[cases[k].off] ^= 0x40;
    }
    tu_buf_free(&quote);
}

/* is_hex_digit for the text mutations below. */
static bool is_hex_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Every change of a digest, or of a runtime event's name or payload, in the event log is
 * rejected (boot-event payloads are informational: not measured, never used). */
Test(verify, crabbox_every_event_log_change_rejected)
{
    tu_buf info;
    cba_policy p;
    cba_report r;
    size_t tried = 0;
    static const char digest_key[] = "\\\"digest\\\": \\\"";
    static const char payload_key[] = "\\\"event_payload\\\": \\\"";
    static const char runtime_type[] = "\\\"event_type\\\": 134217729";
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    crabbox_policy(&p);
    for (char *at = (char *)info.data; (at = strstr(at, digest_key)) != NULL; at++) {
        uint8_t *h = (uint8_t *)at + strlen(digest_key);
        for (size_t i = 0; i < 96; i++) {
            uint8_t orig = h[i];
            cr_assert(is_hex_digit(orig));
            h[i] = orig == '0' ? '1' : '0';
            cr_assert_neq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_OK);
            cr_assert(r.failed_check == CBA_CHECK_EVENT_DIGESTS || r.failed_check == CBA_CHECK_RTMR_REPLAY,
                      "digest change rejected by %s", cba_check_name(r.failed_check));
            h[i] = orig;
            tried++;
        }
    }
    /* Runtime events: the payload follows the event name within the same object. */
    for (char *at = (char *)info.data; (at = strstr(at, runtime_type)) != NULL; at++) {
        char *pl = strstr(at, payload_key);
        uint8_t *h;
        cr_assert_not_null(pl);
        h = (uint8_t *)pl + strlen(payload_key);
        for (size_t i = 0; is_hex_digit(h[i]); i++) {
            uint8_t orig = h[i];
            h[i] = orig == 'a' ? 'b' : 'a';
            cr_assert_neq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_OK);
            cr_assert_eq(r.failed_check, CBA_CHECK_EVENT_DIGESTS, "payload change rejected by %s (%s)",
                         cba_check_name(r.failed_check), r.error.detail);
            h[i] = orig;
            tried++;
        }
    }
    cr_assert_gt(tried, 30 * 96);
    cr_log_info("event-log mutants rejected: %zu", tried);
    tu_buf_free(&info);
}

/* ---- DCAP with collateral: the dcap-qvl sample ------------------------------------------- */

Test(verify, dcap_qvl_sample_up_to_date)
{
    tu_buf quote, coll;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_policy_init(&p);
    cr_assert_eq(run(&r, &p, &quote, NULL, &coll, DCAP_QVL_AT), CBA_OK, "%s at %s: %s",
                 cba_check_name(r.failed_check), r.error.where, r.error.detail);
    cr_assert_eq(r.tcb_status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(r.num_advisory_ids, 0);
    cr_assert_eq(r.tcb_evaluation_data_number, 17);
    for (int i = 0; i < CBA_CHECK_COUNT; i++) {
        bool dstack = i >= CBA_CHECK_EVENT_LOG; /* no Info: nothing to bind, reported as skip */
        cr_assert_eq(r.checks[i].status, dstack ? CBA_CHECK_SKIP : CBA_CHECK_PASS, "check %s",
                     cba_check_name((cba_check)i));
    }
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

Test(verify, dcap_qvl_sample_time_bounds)
{
    tu_buf quote, coll;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_policy_init(&p);
    /* The last second of the window (PCK CRL nextUpdate) verifies; one second later the CRL has
     * expired (the JS peer still accepts there), and an hour later too. */
    cr_assert_eq(run(&r, &p, &quote, NULL, &coll, 1752919235), CBA_OK, "%s", r.error.detail);
    cr_assert_eq(run(&r, &p, &quote, NULL, &coll, 1752919236), CBA_E_CRL_EXPIRED);
    cr_assert_eq(r.failed_check, CBA_CHECK_CRL);
    cr_assert_eq(run(&r, &p, &quote, NULL, &coll, 1752919235 + 3600), CBA_E_CRL_EXPIRED);
    cr_assert_eq(r.failed_check, CBA_CHECK_CRL);
    /* Before the QE identity's issue date. */
    cr_assert_neq(run(&r, &p, &quote, NULL, &coll, 1750329146), CBA_OK);
    cr_assert_eq(r.failed_check, CBA_CHECK_QE_IDENTITY, "%s: %s", cba_check_name(r.failed_check),
                 r.error.detail);
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

Test(verify, dcap_qvl_collateral_once_many_quotes)
{
    tu_buf quote, coll;
    cba_policy p;
    cba_report r;
    cba_collateral *c = NULL;
    cba_evidence ev;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_policy_init(&p);
    cba_report_init(&r);
    cba_evidence_init(&ev);
    cr_assert_eq(cba_collateral_verify(&c, &r, &p, coll.data, coll.len, DCAP_QVL_AT), CBA_OK, "%s",
                 r.error.detail);
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cba_verify_with(&r, &p, c, &ev, DCAP_QVL_AT), CBA_OK, "%s", r.error.detail);
        cr_assert_eq(r.tcb_status, CBA_TCB_UP_TO_DATE);
    }
    /* Time bounds are checked again at every use. */
    cr_assert_eq(cba_verify_with(&r, &p, c, &ev, 1752919236), CBA_E_CRL_EXPIRED);
    /* And a tampered quote is still caught on the fast path. */
    quote.data[200] ^= 1;
    cr_assert_eq(cba_verify_with(&r, &p, c, &ev, DCAP_QVL_AT), CBA_E_QUOTE_SIGNATURE);
    cba_collateral_free(c);
    cba_collateral_free(NULL);
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

Test(verify, dcap_qvl_tampered_collateral)
{
    tu_buf quote, coll;
    cba_policy p;
    cba_report r;
    char *tcb;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_policy_init(&p);
    /* One changed character in the signed TCB info text. */
    tcb = strstr((char *)coll.data, "tcbEvaluationDataNumber");
    cr_assert_not_null(tcb);
    tcb[0] = 'T';
    cr_assert_eq(run(&r, &p, &quote, NULL, &coll, DCAP_QVL_AT), CBA_E_TCB_INFO_SIGNATURE);
    cr_assert_eq(r.failed_check, CBA_CHECK_TCB_INFO);
    tcb[0] = 't';
    /* QE identity text. */
    tcb = strstr((char *)coll.data, "\\\"isvprodid\\\"");
    cr_assert_not_null(tcb);
    tcb[3] = 'J';
    cr_assert_eq(run(&r, &p, &quote, NULL, &coll, DCAP_QVL_AT), CBA_E_QE_IDENTITY_SIGNATURE);
    cr_assert_eq(r.failed_check, CBA_CHECK_QE_IDENTITY);
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

Test(verify, sgx_quote_is_unsupported)
{
    tu_buf quote, coll;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("dcap-qvl-sgx/sgx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-sgx/sgx_quote_collateral.json", &coll);
    cba_policy_init(&p);
    p.skip_dcap = true;
    cr_assert_eq(run(&r, &p, &quote, NULL, NULL, 1752919277), CBA_E_QUOTE_UNSUPPORTED);
    cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_PARSE);
    tu_buf_free(&quote);
    tu_buf_free(&coll);
}

Test(verify, no_quote_at_all)
{
    cba_policy p;
    cba_report r;
    cba_evidence ev;
    cba_policy_init(&p);
    cba_report_init(&r);
    cba_evidence_init(&ev);
    cr_assert_eq(cba_verify(&r, &p, &ev, 0), CBA_E_QUOTE_MISSING);
    cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_PARSE);
    cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED);
}

Test(verify, names_are_stable)
{
    cr_assert_str_eq(cba_check_name(CBA_CHECK_QUOTE_PARSE), "quote_parse");
    cr_assert_str_eq(cba_check_name(CBA_CHECK_REPORT_DATA), "report_data");
    cr_assert_str_eq(cba_err_name(CBA_E_CRL_EXPIRED), "CBA_E_CRL_EXPIRED");
    cr_assert_str_eq(cba_tcb_status_name(CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED),
                     "OutOfDateConfigurationNeeded");
    cr_assert_str_eq(cba_check_name((cba_check)999), "none");
}

/* The real Info carries the event log twice: in tcb_info and in the app certificate's
 * 1.3.6.1.4.1.62397.1.2 extension. Only the tcb_info copy used to be checked, so the mutation
 * sweep (test_mutation_info.c) found that any change to the certificate's copy verified. These
 * single-bit flips of the certificate's base64 each change one member of the copy's JSON; the
 * copy must describe the replayed events. A boot event's payload stays unbound in the copy as
 * in tcb_info. */
Test(verify, crabbox_cert_event_log_copy_must_match)
{
    static const struct {
        size_t byte;
        unsigned bit;
        const char *what;
    } flips[] = {
        { 9055, 1, "boot event imr 0 -> 8" },
        { 9078, 4, "boot event type 2147483649 -> 3147483649" },
        { 9105, 4, "boot event digest d6.. -> $6.." },
        { 14262, 4, "system-preparing imr 3 -> 2" },
        { 14310, 0, "system-preparing digest f9.. -> e9.." },
        { 14456, 2, "event name system-preparing -> 3ystem-preparing" },
        { 14749, 0, "app-id payload 94.. -> 54.." },
    };
    tu_buf info;
    cba_policy p;
    cba_report r;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    crabbox_policy(&p);
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_OK, "%s", r.error.detail);
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        cba_err e;
        info.data[flips[i].byte] ^= (uint8_t)(1u << flips[i].bit);
        e = run(&r, &p, NULL, &info, NULL, CRABBOX_AT);
        info.data[flips[i].byte] ^= (uint8_t)(1u << flips[i].bit);
        cr_assert_eq(e, CBA_E_EVENTLOG_FORMAT, "%s: %s", flips[i].what, cba_err_name(e));
        cr_assert_eq(r.failed_check, CBA_CHECK_RTMR_REPLAY, "%s: %s", flips[i].what,
                     cba_check_name(r.failed_check));
        cr_assert(strncmp(r.error.where, "app_cert.event_log[", 19) == 0, "%s: %s: %s",
                  flips[i].what, r.error.where, r.error.detail);
    }
    /* 61df.. -> 61df.. with another byte later: a boot event's payload, informational */
    info.data[8983] ^= 1u << 2;
    cr_assert_eq(run(&r, &p, NULL, &info, NULL, CRABBOX_AT), CBA_OK, "%s", r.error.detail);
    tu_buf_free(&info);
}
