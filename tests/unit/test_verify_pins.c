/* test_verify_pins.c — policy allow-lists and minimums (cba_policy.pins, min_*) on the real
 * dcap-qvl TDX sample, and the policy document parser (tools/common/policy.c) feeding them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "policy.h"
#include "testutil.h"

#define DCAP_QVL_AT 1752919234

TestSuite(pins, .timeout = 300);

typedef struct sample {
    tu_buf quote, coll;
    cba_report base; /* the verified report with the default policy */
} sample;

static bool load(sample *s)
{
    cba_policy p;
    cba_evidence ev = { 0 };
    if (!tu_real_fixture("dcap-qvl-tdx/tdx_quote", &s->quote) ||
        !tu_real_fixture("dcap-qvl-tdx/tdx_quote_collateral.json", &s->coll)) {
        return false;
    }
    cba_policy_init(&p);
    cba_evidence_init(&ev);
    ev.quote = s->quote.data;
    ev.quote_len = s->quote.len;
    ev.collateral_json = s->coll.data;
    ev.collateral_json_len = s->coll.len;
    cba_report_init(&s->base);
    cr_assert_eq(cba_verify(&s->base, &p, &ev, DCAP_QVL_AT), CBA_OK, "%s", s->base.error.detail);
    return true;
}

static void unload(sample *s)
{
    tu_buf_free(&s->quote);
    tu_buf_free(&s->coll);
}

static cba_err verify(const sample *s, const cba_policy *p, cba_report *r)
{
    cba_evidence ev;
    cba_evidence_init(&ev);
    ev.quote = s->quote.data;
    ev.quote_len = s->quote.len;
    ev.collateral_json = s->coll.data;
    ev.collateral_json_len = s->coll.len;
    cba_report_init(r);
    return cba_verify(r, p, &ev, DCAP_QVL_AT);
}

static const uint8_t *field(const cba_report *r, cba_pin_field f, uint8_t le[8])
{
    uint64_t x = f == CBA_PIN_XFAM ? r->xfam : r->td_attributes;
    switch (f) {
    case CBA_PIN_MRTD: return r->mrtd;
    case CBA_PIN_RTMR0: case CBA_PIN_RTMR1: case CBA_PIN_RTMR2: case CBA_PIN_RTMR3: return r->rtmr[f - CBA_PIN_RTMR0];
    case CBA_PIN_MRSEAM: return r->mrseam;
    case CBA_PIN_MRSIGNERSEAM: return r->mrsignerseam;
    case CBA_PIN_MRCONFIGID: return r->mrconfigid;
    case CBA_PIN_MROWNER: return r->mrowner;
    case CBA_PIN_MROWNERCONFIG: return r->mrownerconfig;
    case CBA_PIN_REPORT_DATA: return r->report_data;
    default:
        for (int b = 0; b < 8; b++) { le[b] = (uint8_t)(x >> (8 * b)); }
        return le;
    }
}

Test(pins, every_field_allow_list)
{
    sample s;
    if (!load(&s)) { cr_skip_test("real fixtures absent"); }
    for (int f = 0; f < CBA_PIN_COUNT; f++) {
        size_t size = cba_pin_field_size((cba_pin_field)f);
        uint8_t le[8], vals[3 * 64];
        if (f == CBA_PIN_OS_IMAGE_HASH) { continue; } /* a dstack fact: pins.os_image_hash */
        cba_policy p;
        cba_report r;
        memset(vals, 0xee, sizeof vals);
        memcpy(vals + 2 * size, field(&s.base, (cba_pin_field)f, le), size); /* third of three */
        cba_policy_init(&p);
        p.pins[f] = (struct cba_pin_list){ vals, 3 };
        cr_assert_eq(verify(&s, &p, &r), CBA_OK, "%s allowed: %s", cba_pin_field_name((cba_pin_field)f),
                     r.error.detail);
        p.pins[f].num_values = 2; /* without the real value */
        cr_assert_neq(verify(&s, &p, &r), CBA_OK, "%s", cba_pin_field_name((cba_pin_field)f));
        cr_assert_eq(r.failed_check, f == CBA_PIN_REPORT_DATA ? CBA_CHECK_REPORT_DATA : CBA_CHECK_QUOTE_MEASUREMENTS);
        cr_assert(strstr(r.error.detail, "eeeeeeee") != NULL, "expected value shown: %s", r.error.detail);
        cr_assert(strstr(r.error.detail, " is ") != NULL, "actual value shown: %s", r.error.detail);
        cr_assert_str_eq(r.error.where, cba_pin_field_name((cba_pin_field)f));
        p.pins[f].values = NULL; /* a count without values fails closed */
        cr_assert_eq(verify(&s, &p, &r), CBA_E_ARGUMENT);
    }
    unload(&s);
}

/* The single-value pins (has_mrtd / has_rtmr[0..2], what --mrtd and --rtmr0..2 set): the right
 * value verifies, one bit off is refused at quote_measurements naming the register. An ignored
 * --mrtd pin passed this suite before (issue 17, deliberately broken build). */
Test(pins, single_value_mrtd_and_rtmr)
{
    sample s;
    if (!load(&s)) { cr_skip_test("real fixtures absent"); }
    for (int reg = -1; reg < 3; reg++) {
        cba_policy p;
        cba_report r;
        uint8_t *pin;
        cba_policy_init(&p);
        if (reg < 0) {
            memcpy(p.mrtd, s.base.mrtd, 48);
            p.has_mrtd = true;
            pin = p.mrtd;
        } else {
            memcpy(p.rtmr[reg], s.base.rtmr[reg], 48);
            p.has_rtmr[reg] = true;
            pin = p.rtmr[reg];
        }
        cr_assert_eq(verify(&s, &p, &r), CBA_OK, "reg %d: %s", reg, r.error.detail);
        pin[47] ^= 1;
        cr_assert_eq(verify(&s, &p, &r), CBA_E_MEASUREMENT_POLICY, "reg %d: one bit off accepted", reg);
        cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_MEASUREMENTS);
        cr_assert_str_eq(r.error.where, reg < 0 ? "mrtd" : "rtmr");
    }
    unload(&s);
}

/* os_image_hash pins the OS image dstack measured (the os-image-hash event replayed into RTMR3):
 * the real Phala capture has one; the quote-only sample has none, so a pin refuses it. */
Test(pins, os_image_hash)
{
    static const uint8_t k_real[32] = { 0xde, 0x9c, 0x74, 0xf0, 0xc8, 0x5d, 0x08, 0x20, 0xce, 0x07, 0x5c,
                                        0xb4, 0xa9, 0x9f, 0x8e, 0x39, 0xf7, 0xb6, 0x81, 0xbe, 0x63, 0x29,
                                        0x07, 0xc5, 0xbf, 0x8b, 0xdc, 0x95, 0xea, 0x72, 0xfe, 0xb9 };
    uint8_t vals[2][32];
    tu_buf info;
    sample s;
    cba_policy p;
    cba_evidence ev;
    cba_report r;
    if (!load(&s)) { cr_skip_test("real fixtures absent"); }
    cr_assert(tu_real_fixture("crabbox/real_attestation_info.json", &info));
    memset(vals[0], 0xee, 32);
    memcpy(vals[1], k_real, 32);
    cba_policy_init(&p);
    p.skip_dcap = true;
    p.pins[CBA_PIN_OS_IMAGE_HASH] = (struct cba_pin_list){ &vals[0][0], 2 };
    cba_evidence_init(&ev);
    ev.info_json = info.data;
    ev.info_json_len = info.len;
    cba_report_init(&r);
    cr_assert_eq(cba_verify(&r, &p, &ev, 1774003274), CBA_OK, "%s", r.error.detail);
    cr_assert(r.has_os_image_hash && memcmp(r.os_image_hash, k_real, 32) == 0);
    vals[1][31] ^= 1; /* one bit off */
    cba_report_init(&r);
    cr_assert_eq(cba_verify(&r, &p, &ev, 1774003274), CBA_E_MEASUREMENT_POLICY);
    cr_assert_eq(r.failed_check, CBA_CHECK_QUOTE_MEASUREMENTS);
    cr_assert(strstr(r.error.detail, "os_image_hash is de9c74f0") != NULL, "%s", r.error.detail);
    cr_assert_str_eq(r.error.where, "os_image_hash");
    vals[1][31] ^= 1;
    cr_assert_eq(verify(&s, &p, &r), CBA_E_MEASUREMENT_POLICY, "a quote without the event cannot match");
    cr_assert(strstr(r.error.detail, "not measured") != NULL, "%s", r.error.detail);
    tu_buf_free(&info);
    unload(&s);
}

Test(pins, minimums)
{
    sample s;
    cba_policy p;
    cba_report r;
    if (!load(&s)) { cr_skip_test("real fixtures absent"); }
    cba_policy_init(&p);
    p.min_pcesvn = s.base.pce_svn;
    p.min_qe_isvsvn = s.base.qe_isvsvn;
    p.has_min_tee_tcb_svn = true;
    memcpy(p.min_tee_tcb_svn, s.base.tee_tcb_svn, 16);
    cr_assert_eq(verify(&s, &p, &r), CBA_OK, "%s", r.error.detail);
    p.min_pcesvn = (uint16_t)(s.base.pce_svn + 1);
    cr_assert_eq(verify(&s, &p, &r), CBA_E_MEASUREMENT_POLICY);
    cr_assert_str_eq(r.error.where, "pcesvn");
    p.min_pcesvn = 0;
    p.min_qe_isvsvn = (uint16_t)(s.base.qe_isvsvn + 1);
    cr_assert_eq(verify(&s, &p, &r), CBA_E_MEASUREMENT_POLICY);
    cr_assert_str_eq(r.error.where, "qe_isvsvn");
    p.min_qe_isvsvn = 0;
    p.min_tee_tcb_svn[15] = (uint8_t)(s.base.tee_tcb_svn[15] + 1); /* one component above */
    cr_assert_eq(verify(&s, &p, &r), CBA_E_MEASUREMENT_POLICY);
    cr_assert(strstr(r.error.detail, "component 15") != NULL, "%s", r.error.detail);
    cr_assert(s.base.tcb_date > 0 && s.base.pce_svn != 0);
    unload(&s);
}

Test(pins, policy_document_to_cba_policy)
{
    sample s;
    tc_policy *tp = malloc(sizeof *tp);
    char doc[1024], hex[97], err[300];
    cba_policy p;
    cba_report r;
    if (!load(&s)) { cr_skip_test("real fixtures absent"); }
    for (int i = 0; i < 48; i++) { snprintf(hex + 2 * i, 3, "%02x", s.base.mrseam[i]); }
    snprintf(doc, sizeof doc, "{\"mrseam\": [\"%0*d\", \"0x%s\"], \"minPcesvn\": %u, \"acceptTcbStatus\": \"UpToDate\"}",
             96, 0, hex, (unsigned)s.base.pce_svn);
    tc_policy_init(tp);
    cr_assert(tc_policy_load(tp, "doc.json", (const uint8_t *)doc, strlen(doc), false, err, sizeof err), "%s", err);
    cba_policy_init(&p);
    tc_policy_apply(tp, &p);
    cr_assert_eq(p.pins[CBA_PIN_MRSEAM].num_values, 2);
    cr_assert_eq(verify(&s, &p, &r), CBA_OK, "%s", r.error.detail);
    /* tighten: a repository's list without the real value refuses */
    snprintf(doc, sizeof doc, "mrseam: \"%0*d\"\n", 96, 0);
    cr_assert(tc_policy_load(tp, "repo.yaml", (const uint8_t *)doc, strlen(doc), true, err, sizeof err), "%s", err);
    cba_policy_init(&p);
    tc_policy_apply(tp, &p);
    cr_assert_eq(p.pins[CBA_PIN_MRSEAM].num_values, 1);
    cr_assert_eq(verify(&s, &p, &r), CBA_E_MEASUREMENT_POLICY);
    /* all or nothing: a bad document changes nothing */
    snprintf(doc, sizeof doc, "minPcesvn: 9\nbogus: 1\n");
    cr_assert_not(tc_policy_load(tp, "bad.yaml", (const uint8_t *)doc, strlen(doc), false, err, sizeof err));
    cr_assert(strstr(err, "bad.yaml:2: unknown policy key 'bogus'") != NULL, "%s", err);
    cr_assert_eq(tp->min_pcesvn, s.base.pce_svn);
    free(tp);
    unload(&s);
}
