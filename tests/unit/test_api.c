/* test_api.c — the embedding API around verification: cba_describe (what a quote says before any
 * collateral), cba_report_json (the verify --json object), and one verified collateral shared by
 * 8 threads (also built under ThreadSanitizer: tests/tsan). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
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

/* ---- The TCB info and QE identity issuer chains: one text decoded once, two texts each ------ */

/* chain_member returns the [start, end) of the JSON string body of member `key` in text. */
static void chain_member(const char *text, const char *key, size_t *start, size_t *end)
{
    char pat[64];
    const char *p, *q;
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    p = strstr(text, pat);
    cr_assert_not_null(p, "%s", key);
    p += strlen(pat);
    q = strchr(p, '"'); /* PEM has no quote */
    cr_assert_not_null(q);
    *start = (size_t)(p - text);
    *end = (size_t)(q - text);
}

/* with_chain returns a copy of the collateral text with member `key`'s body replaced by `body`. */
static char *with_chain(const char *text, const char *key, const char *body)
{
    size_t a, b, n;
    char *out;
    chain_member(text, key, &a, &b);
    n = a + strlen(body) + strlen(text + b) + 1;
    out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%.*s%s%s", (int)a, text, body, text + b);
    return out;
}

/* chain_body returns member `key`'s body; crlf: each "\n" escape written "\r\n"; swap: the two
 * certificates in the other order. */
static char *chain_body(const char *text, const char *key, bool crlf, bool swap)
{
    static const char end_line[] = "-----END CERTIFICATE-----\\n";
    size_t a, b, n = 0;
    char *body, *out;
    chain_member(text, key, &a, &b);
    body = strndup(text + a, b - a);
    cr_assert_not_null(body);
    if (swap) {
        char *first_end = strstr(body, end_line), *swapped;
        size_t cut;
        cr_assert_not_null(first_end);
        cut = (size_t)(first_end - body) + strlen(end_line);
        swapped = malloc(strlen(body) + 1);
        cr_assert_not_null(swapped);
        snprintf(swapped, strlen(body) + 1, "%s%.*s", body + cut, (int)cut, body);
        free(body);
        body = swapped;
    }
    out = malloc(2 * strlen(body) + 1);
    cr_assert_not_null(out);
    for (size_t i = 0; body[i] != '\0'; i++) {
        if (crlf && body[i] == '\\' && body[i + 1] == 'n') {
            memcpy(out + n, "\\r", 2);
            n += 2;
        }
        out[n++] = body[i];
    }
    out[n] = '\0';
    free(body);
    return out;
}

static cba_err verify_coll(const tu_buf *quote, const char *coll, cba_report *r)
{
    cba_evidence ev;
    cba_policy p;
    cba_evidence_init(&ev);
    ev.quote = quote->data;
    ev.quote_len = quote->len;
    ev.collateral_json = (const uint8_t *)coll;
    ev.collateral_json_len = strlen(coll);
    cba_policy_init(&p);
    cba_report_init(r);
    return cba_verify(r, &p, &ev, DCAP_QVL_AT);
}

Test(api, qe_identity_chain_shared_with_tcb_info_or_not)
{
    /* The sample's two issuer chains are the same text: decoded and parsed once, every check
     * still made for each use. Written differently (CRLF) or wrong (swapped), the QE identity's
     * chain is decoded and checked on its own, and its failure is the QE identity's. */
    tu_buf quote, coll;
    cba_report r;
    char *text, *body, *variant;
    size_t ta, tb, qa, qb;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    text = strndup((const char *)coll.data, coll.len);
    cr_assert_not_null(text);
    chain_member(text, "tcb_info_issuer_chain", &ta, &tb);
    chain_member(text, "qe_identity_issuer_chain", &qa, &qb);
    cr_assert(tb - ta == qb - qa && memcmp(text + ta, text + qa, tb - ta) == 0,
              "the sample's two chains are one text");
    cr_assert_eq(verify_coll(&quote, text, &r), CBA_OK, "%s", r.error.detail);
    cr_assert_eq(r.tcb_status, CBA_TCB_UP_TO_DATE);

    for (int which = 0; which < 2; which++) {
        const char *key = which == 0 ? "qe_identity_issuer_chain" : "tcb_info_issuer_chain";
        body = chain_body(text, key, true, false);
        variant = with_chain(text, key, body);
        cr_assert_eq(verify_coll(&quote, variant, &r), CBA_OK, "%s written with CRLF: %s", key,
                     r.error.detail);
        cr_assert_eq(r.tcb_status, CBA_TCB_UP_TO_DATE);
        free(variant);
        free(body);
    }

    body = chain_body(text, "qe_identity_issuer_chain", false, true);
    variant = with_chain(text, "qe_identity_issuer_chain", body);
    cr_assert_eq(verify_coll(&quote, variant, &r), CBA_E_CHAIN_UNTRUSTED);
    cr_assert_eq(r.failed_check, CBA_CHECK_QE_IDENTITY);
    cr_assert_str_eq(r.error.where, "collateral.qe_identity_issuer_chain");
    cr_assert_eq(r.checks[CBA_CHECK_TCB_INFO].status, CBA_CHECK_PASS);
    free(variant);
    free(body);

    body = chain_body(text, "tcb_info_issuer_chain", false, true);
    variant = with_chain(text, "tcb_info_issuer_chain", body);
    cr_assert_eq(verify_coll(&quote, variant, &r), CBA_E_CHAIN_UNTRUSTED);
    cr_assert_eq(r.failed_check, CBA_CHECK_TCB_INFO);
    cr_assert_str_eq(r.error.where, "collateral.tcb_info_issuer_chain");
    free(variant);
    free(body);
    free(text);
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

/* ---- Reading without verifying: collateral, CRLs, PEM, RA-TLS, inspection ------------------- */

static json_object *json_of(const tu_buf *b)
{
    json_object *o = json_tokener_parse((const char *)b->data);
    cr_assert_not_null(o);
    return o;
}

/* hex_member decodes the hex string member `key` of o into a new buffer. */
static uint8_t *hex_member(json_object *o, const char *key, size_t *out_len)
{
    json_object *v;
    const char *s;
    size_t n;
    uint8_t *b;
    cr_assert(json_object_object_get_ex(o, key, &v));
    s = json_object_get_string(v);
    n = strlen(s) / 2;
    b = malloc(n + 1);
    cr_assert_not_null(b);
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        cr_assert_eq(sscanf(s + 2 * i, "%2x", &x), 1);
        b[i] = (uint8_t)x;
    }
    *out_len = n;
    return b;
}

Test(api, describe_names_the_pck_issuer_the_collateral_crl_names)
{
    tu_buf quote, coll;
    cba_evidence ev;
    cba_description d;
    cba_collateral_description *cd = malloc(sizeof *cd);
    cba_error e;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cr_assert_not_null(cd);
    cba_evidence_init(&ev);
    ev.quote = quote.data;
    ev.quote_len = quote.len;
    cba_description_init(&d);
    cr_assert_eq(cba_describe(&d, &e, &ev), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_gt(d.pck_issuer_len, 2);
    cr_assert_eq(d.pck_issuer[0], 0x30, "a Name is a SEQUENCE, header included");
    cba_collateral_description_init(cd);
    cr_assert_eq(cba_collateral_describe(cd, &e, coll.data, coll.len), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_arr_eq(cd->fmspc, d.fmspc, 6, "the collateral is for this quote's platform");
    cr_assert_arr_eq(cd->pce_id, d.pce_id, 2);
    cr_assert_eq(cd->pck_crl_issuer_len, d.pck_issuer_len);
    cr_assert_arr_eq(cd->pck_crl_issuer, d.pck_issuer, d.pck_issuer_len, "the PCK CRL names the leaf's issuer");
    free(cd);
    tu_buf_free(&coll);
    tu_buf_free(&quote);
}

Test(api, collateral_describe_failures_are_named_and_leave_nothing)
{
    tu_buf coll;
    cba_collateral_description *cd = malloc(sizeof *cd);
    json_object *o;
    const char *text;
    cba_error e;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cr_assert_not_null(cd);
    cba_collateral_description_init(cd);
    /* Every cut of the JSON is refused, and the description stays zeroed. */
    for (size_t n = 0; n < coll.len; n += 97) {
        memset(cd, 0x5a, sizeof *cd);
        cd->struct_size = (uint32_t)sizeof *cd;
        cr_assert_neq(cba_collateral_describe(cd, &e, coll.data, n), CBA_OK, "cut at %zu", n);
        cr_assert_neq(e.code, CBA_OK);
        cr_assert_eq(cd->pck_crl_issuer_len, 0);
        cr_assert_eq(cd->fmspc[0], 0);
    }
    /* A PCK CRL that is not one is named as the PCK CRL. */
    o = json_of(&coll);
    json_object_object_add(o, "pck_crl", json_object_new_string("3000"));
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    cr_assert_neq(cba_collateral_describe(cd, &e, (const uint8_t *)text, strlen(text)), CBA_OK);
    cr_assert_str_eq(e.where, "pck_crl");
    json_object_put(o);
    cd->struct_size = 8;
    cr_assert_eq(cba_collateral_describe(cd, &e, coll.data, coll.len), CBA_E_STRUCT_SIZE);
    cr_assert_eq(cba_collateral_describe(NULL, NULL, coll.data, coll.len), CBA_E_ARGUMENT);
    cba_collateral_description_init(cd);
    cr_assert_eq(cba_collateral_describe(cd, NULL, NULL, 5), CBA_E_ARGUMENT);
    free(cd);
    tu_buf_free(&coll);
}

Test(api, crl_check_accepts_the_pck_crl_and_refuses_every_cut)
{
    tu_buf coll;
    json_object *o;
    uint8_t *crl;
    size_t crl_len;
    cba_error e;
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    o = json_of(&coll);
    crl = hex_member(o, "pck_crl", &crl_len);
    cr_assert_eq(cba_crl_check(&e, crl, crl_len), CBA_OK, "%s", e.detail);
    for (size_t n = 0; n < crl_len; n++) {
        cr_assert_neq(cba_crl_check(&e, crl, n), CBA_OK, "cut at %zu", n);
        cr_assert_neq(e.detail[0], '\0', "the failure is explained");
    }
    crl[crl_len / 2] ^= 0x80;
    /* err may be NULL; a flipped byte never crashes (it may still parse: a value byte) */
    cr_assert(cba_crl_check(NULL, crl, crl_len) < CBA_ERR_COUNT);
    cr_assert_eq(cba_crl_check(&e, NULL, 3), CBA_E_ARGUMENT);
    free(crl);
    json_object_put(o);
    tu_buf_free(&coll);
}

Test(api, pem_first_cert_decodes_the_intel_root_and_refuses_bad_pem)
{
    tu_buf pem;
    uint8_t out[4096], keep[4096];
    size_t out_len = 7, num = 9;
    cba_error e;
    TU_REAL_OR_SKIP("intel-sgx-root-ca.pem", &pem);
    cr_assert_eq(cba_pem_first_cert(out, sizeof out, &out_len, &num, &e, pem.data, pem.len), CBA_OK, "%s",
                 e.detail);
    cr_assert_eq(num, 1);
    cr_assert_eq(out_len, cba_intel_root_ca_der_len);
    cr_assert_arr_eq(out, cba_intel_root_ca_der, out_len);
    /* Failures leave the outputs as they were. */
    memset(out, 0xa5, sizeof out);
    memcpy(keep, out, sizeof out);
    out_len = 7;
    num = 9;
    cr_assert_eq(cba_pem_first_cert(out, 10, &out_len, &num, &e, pem.data, pem.len), CBA_E_ARGUMENT, "buffer too small");
    for (size_t n = 0; n + 1 < pem.len; n += 13) {
        cr_assert_eq(cba_pem_first_cert(out, sizeof out, &out_len, &num, &e, pem.data, n), CBA_E_PEM, "cut at %zu", n);
    }
    cr_assert_eq(cba_pem_first_cert(out, sizeof out, &out_len, &num, &e, (const uint8_t *)"-----BEGIN X", 12),
                 CBA_E_PEM);
    cr_assert_eq(cba_pem_first_cert(out, sizeof out, &out_len, &num, NULL, NULL, 4), CBA_E_ARGUMENT);
    cr_assert_eq(cba_pem_first_cert(NULL, 0, &out_len, &num, &e, pem.data, pem.len), CBA_E_ARGUMENT);
    cr_assert_eq(out_len, 7);
    cr_assert_eq(num, 9);
    cr_assert_arr_eq(out, keep, sizeof out);
    tu_buf_free(&pem);
}

Test(api, ratls_cert_quote_takes_the_quote_and_its_binding_from_the_app_cert)
{
    tu_buf info;
    json_object *o, *v;
    const char *cert_pem;
    uint8_t *der, rd[64], keep[64];
    size_t der_len = 0, num = 0, quote_len = 0;
    const uint8_t *quote = NULL;
    cba_evidence ev;
    cba_description d;
    cba_error e;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    o = json_of(&info);
    cr_assert(json_object_object_get_ex(o, "app_cert", &v));
    cert_pem = json_object_get_string(v);
    der = malloc(strlen(cert_pem) + 1);
    cr_assert_not_null(der);
    cr_assert_eq(cba_pem_first_cert(der, strlen(cert_pem) + 1, &der_len, &num, &e, (const uint8_t *)cert_pem,
                                    strlen(cert_pem)), CBA_OK, "%s", e.detail);
    cr_assert_eq(cba_ratls_cert_quote(&quote, &quote_len, rd, &e, der, der_len), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert(quote >= der && quote + quote_len <= der + der_len, "borrowed from the certificate");
    /* The quote in the extension carries the certificate key's RA-TLS binding. */
    cba_evidence_init(&ev);
    ev.quote = quote;
    ev.quote_len = quote_len;
    cba_description_init(&d);
    cr_assert_eq(cba_describe(&d, &e, &ev), CBA_OK, "%s: %s", e.where, e.detail);
    cr_assert_arr_eq(d.report_data, rd, 64);

    /* A certificate without the extension, a cut one, no input: named; outputs untouched. */
    memset(rd, 0x33, sizeof rd);
    memcpy(keep, rd, sizeof rd);
    quote = NULL;
    quote_len = 5;
    cr_assert_eq(cba_ratls_cert_quote(&quote, &quote_len, rd, &e, cba_intel_root_ca_der, cba_intel_root_ca_der_len),
                 CBA_E_CERT_INVALID);
    cr_assert_str_eq(e.where, "ratls.extension");
    for (size_t n = 0; n < der_len; n += 101) {
        cr_assert_neq(cba_ratls_cert_quote(&quote, &quote_len, rd, &e, der, n), CBA_OK, "cut at %zu", n);
        cr_assert_str_eq(e.where, "ratls.cert");
    }
    cr_assert_eq(cba_ratls_cert_quote(&quote, &quote_len, rd, NULL, NULL, 1), CBA_E_ARGUMENT);
    cr_assert_null(quote);
    cr_assert_eq(quote_len, 5);
    cr_assert_arr_eq(rd, keep, 64);
    free(der);
    json_object_put(o);
    tu_buf_free(&info);
}

/* inspect_type runs cba_inspect_json and returns the object's "type" (static storage). */
static const char *inspect_type(cba_inspect_kind kind, const tu_buf *b)
{
    static char type[64];
    char note[300] = "", *text = NULL;
    json_object *o, *v;
    cr_assert_eq(cba_inspect_json(&text, note, sizeof note, kind, b->data, b->len), CBA_OK, "%s", note);
    o = json_tokener_parse(text);
    cr_assert_not_null(o, "one JSON object");
    cr_assert(json_object_object_get_ex(o, "type", &v));
    snprintf(type, sizeof type, "%s", json_object_get_string(v));
    json_object_put(o);
    cba_free(text);
    return type;
}

Test(api, inspect_json_describes_each_kind_and_names_failures)
{
    tu_buf quote, coll, info, pem;
    char note[300], *text = (char *)"untouched";
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &quote);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    TU_REAL_OR_SKIP("intel-sgx-root-ca.pem", &pem);
    cr_assert_str_eq(inspect_type(CBA_INSPECT_QUOTE, &quote), "tdx_quote");
    cr_assert_str_eq(inspect_type(CBA_INSPECT_COLLATERAL, &coll), "collateral");
    cr_assert_str_eq(inspect_type(CBA_INSPECT_INFO, &info), "dstack-info");
    cr_assert_str_eq(inspect_type(CBA_INSPECT_PEM_CHAIN, &pem), "certificate_chain");
    {
        tu_buf der = { (uint8_t *)cba_intel_root_ca_der, cba_intel_root_ca_der_len };
        cr_assert_str_eq(inspect_type(CBA_INSPECT_DER, &der), "certificate");
    }
    /* Each kind, handed a cut input or another kind's bytes, fails with a note and no object. */
    for (int k = CBA_INSPECT_QUOTE; k <= CBA_INSPECT_DER; k++) {
        const tu_buf *wrong = k == CBA_INSPECT_QUOTE ? &coll : &quote;
        note[0] = '\0';
        text = (char *)"untouched";
        cr_assert_neq(cba_inspect_json(&text, note, sizeof note, (cba_inspect_kind)k, wrong->data, 200), CBA_OK,
                      "kind %d", k);
        cr_assert_null(text);
        cr_assert_neq(note[0], '\0', "kind %d: the failure is told", k);
    }
    cr_assert_eq(cba_inspect_json(&text, NULL, 0, (cba_inspect_kind)99, quote.data, quote.len), CBA_E_ARGUMENT);
    cr_assert_eq(cba_inspect_json(NULL, NULL, 0, CBA_INSPECT_QUOTE, quote.data, quote.len), CBA_E_ARGUMENT);
    cr_assert_eq(cba_inspect_json(&text, NULL, 0, CBA_INSPECT_QUOTE, NULL, 4), CBA_E_ARGUMENT);
    tu_buf_free(&pem);
    tu_buf_free(&info);
    tu_buf_free(&coll);
    tu_buf_free(&quote);
}
