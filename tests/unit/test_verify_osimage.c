/* test_verify_osimage.c — the OS image hash is reported only when measured (the RTMR3
 * os-image-hash event, dstack KMS mode) and a claim contradicting that event is rejected; the
 * claim alone is never reported (dcap-spec §6.6). Test PKI evidence (testkit/mkevidence). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "crabbox/verifier.h"
#include "internal.h"
#include "mkevidence.h"

TestSuite(verify_osimage, .timeout = 60);

#define NOW MKE_DEFAULT_NOW

static cba_err verify_info(const mke_evidence *ev, cba_report *rep)
{
    cba_policy pol;
    cba_evidence e;
    cba_evidence_init(&e);
    e.info_json = ev->info_json.data;
    e.info_json_len = ev->info_json.len;
    e.collateral_json = ev->collateral_json.data;
    e.collateral_json_len = ev->collateral_json.len;
    cba_report_init(rep);
    cba_policy_init(&pol);
    pol.trust_root_der = ev->root_der.data;
    pol.trust_root_der_len = ev->root_der.len;
    return cba_verify(rep, &pol, &e, NOW);
}

/* generate: test-PKI evidence with or without the KMS-mode events (os-image-hash among them). */
static cba_report *generate(mke_options *o, mke_evidence *ev, bool kms_events)
{
    cba_report *rep = calloc(1, sizeof *rep);
    cr_assert_not_null(rep);
    mke_options_init(o);
    o->info.kms_events = kms_events;
    cr_assert(mke_generate(ev, o), "%s", ev->error);
    return rep;
}

Test(verify_osimage, measured_os_image_hash_is_reported)
{
    mke_options o;
    mke_evidence ev;
    cba_report *rep = generate(&o, &ev, true);
    cr_assert_eq(verify_info(&ev, rep), CBA_OK, "%s: %s", cba_err_name(rep->error.code), rep->error.detail);
    cr_assert(rep->has_os_image_hash);
    cr_assert_arr_eq(rep->os_image_hash, o.info.os_image_hash, 32);
    mke_evidence_free(&ev);
    free(rep);
}

Test(verify_osimage, unmeasured_claim_is_not_reported)
{
    mke_options o;
    mke_evidence ev;
    cba_report *rep = generate(&o, &ev, false);
    cr_assert_eq(verify_info(&ev, rep), CBA_OK, "%s: %s", cba_err_name(rep->error.code), rep->error.detail);
    cr_assert_not(rep->has_os_image_hash, "a claim without the event authenticates nothing");
    mke_evidence_free(&ev);
    free(rep);
}

/* flip_claims changes the first hex digit of every "os_image_hash" claim value (top level and
 * inside the tcb_info string), leaving the event log's payload alone. Returns how many. */
static int flip_claims(mke_blob *info)
{
    int n = 0;
    char *text = (char *)info->data;
    for (char *p = strstr(text, "os_image_hash"); p != NULL; p = strstr(p + 1, "os_image_hash")) {
        char *q = p + strlen("os_image_hash");
        while (*q == '\\' || *q == '"' || *q == ':' || *q == ' ') { q++; }
        if ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')) {
            *q = *q == '0' ? '1' : '0';
            n++;
        }
    }
    return n;
}

Test(verify_osimage, claim_contradicting_the_event_is_rejected)
{
    mke_options o;
    mke_evidence ev;
    cba_report *rep = generate(&o, &ev, true);
    cr_assert_geq(flip_claims(&ev.info_json), 1, "the Info carries an os_image_hash claim");
    cr_assert_eq(verify_info(&ev, rep), CBA_E_MEASUREMENT_CLAIM_MISMATCH, "%s: %s (%s)",
                 cba_err_name(rep->error.code), rep->error.detail, rep->error.where);
    cr_assert_eq(rep->failed_check, CBA_CHECK_QUOTE_MEASUREMENTS);
    cr_assert_str_eq(rep->error.where, "os_image_hash");
    cr_assert_not(rep->has_os_image_hash, "nothing from rejected evidence is reported");
    mke_evidence_free(&ev);
    free(rep);
}
