/* test_mkevidence.c — the test-PKI evidence generator (testkit/mkevidence): its default evidence
 * parses with the verifier's own parsers, every signature in it verifies, it verifies UpToDate
 * under the test root, and each knob changes what it says it changes (checked on the artefact,
 * and — one case per knob — on the verifier check it is meant to reach). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral.h"
#include "crypto.h"
#include "dstack.h"
#include "mkevidence.h"
#include "quote.h"
#include "tcb.h"
#include "x509.h"

TestSuite(mkevidence, .timeout = 120);

#define NOW MKE_DEFAULT_NOW
#define DAY INT64_C(86400)

static void gen(mke_evidence *ev, const mke_options *o)
{
    bool ok = mke_generate(ev, o);
    cr_assert(ok, "mke_generate failed: %s", ev->error);
}

static cba_err verify_ev(const mke_evidence *ev, const cba_policy *base, int64_t now, cba_report *rep)
{
    cba_policy pol;
    cba_evidence e;
    cba_evidence_init(&e);
    cba_report_init(rep);
    if (base != NULL) {
        pol = *base;
    } else {
        cba_policy_init(&pol);
    }
    pol.trust_root_der = ev->root_der.data;
    pol.trust_root_der_len = ev->root_der.len;
    e.quote = ev->quote.data;
    e.quote_len = ev->quote.len;
    e.info_json = ev->info_json.data;
    e.info_json_len = ev->info_json.len;
    e.collateral_json = ev->collateral_json.data;
    e.collateral_json_len = ev->collateral_json.len;
    return cba_verify(rep, &pol, &e, now);
}

static cbs blob(const mke_blob *b)
{
    return cbs_make(b->data, b->len);
}

static void pub_of(const char *name, uint8_t xy[64])
{
    cr_assert(mke_key_public(name, xy), "key %s", name);
}

/* ---- Default evidence through the verifier's parsers ---------------------------------------- */

Test(mkevidence, default_quote_parses_and_matches_options)
{
    mke_options o;
    mke_evidence ev;
    cba_error err = { 0 };
    cba_quote q;
    mke_options_init(&o);
    gen(&ev, &o);
    cr_assert_eq(cba_quote_parse(&err, &q, blob(&ev.quote)), CBA_OK, "%s: %s", err.where, err.detail);
    cr_assert_eq(q.version, 4);
    cr_assert_eq(q.body_type, 2);
    cr_assert_eq(q.body_size, 584);
    cr_assert_eq(q.td.td_attributes, 0x10000000u);
    cr_assert_eq(q.td.tee_tcb_svn[0], 6);
    cr_assert_eq(q.td.tee_tcb_svn[1], 1);
    cr_assert_eq(memcmp(q.td.mrtd, o.quote.mrtd, 48), 0);
    cr_assert_eq(memcmp(q.td.rtmr, ev.rtmr, sizeof ev.rtmr), 0);
    cr_assert_eq(memcmp(q.td.report_data, ev.report_data, 64), 0);
    cr_assert_eq(memcmp(q.td.mrconfigid, ev.mrconfigid, 48), 0);
    cr_assert_eq(q.td.mrconfigid[0], 1, "MRCONFIGID V1 by default");
    cr_assert_eq(memcmp(q.td.mrconfigid + 1, ev.compose_hash, 32), 0);
    cr_assert_eq(q.qe_report.isvsvn, 4);
    cr_assert_eq(q.qe_report.isvprodid, 2);
    cr_assert_eq(memcmp(q.qe_report.mrsigner, o.quote.qe.mrsigner, 32), 0);
    cr_assert_eq(q.qe_auth_data.len, 32);
    cr_assert_eq(q.trailing_len, 70);
    cr_assert_eq(memcmp(q.attest_key, ev.attest_key_xy, 64), 0);
    mke_evidence_free(&ev);
}

Test(mkevidence, default_signatures_verify_with_wolfcrypt)
{
    mke_options o;
    mke_evidence ev;
    cba_error err = { 0 };
    cba_quote q;
    uint8_t leaf_xy[64], att_xy[64], want[32];
    static const uint8_t zeros[32];
    mke_options_init(&o);
    gen(&ev, &o);
    cr_assert_eq(cba_quote_parse(&err, &q, blob(&ev.quote)), CBA_OK);
    pub_of("pck-leaf", leaf_xy);
    pub_of("attestation-key", att_xy);
    cr_assert(cba_ecdsa_p256_verify_msg(att_xy, &q.signed_region, 1, q.quote_sig));
    cr_assert(cba_ecdsa_p256_verify_msg(leaf_xy, &q.qe_report_raw, 1, q.qe_report_sig));
    {
        cbs parts[2] = { cbs_make(q.attest_key, 64), q.qe_auth_data };
        cr_assert(cba_sha256(want, parts, 2));
        cr_assert_eq(memcmp(q.qe_report.report_data, want, 32), 0);
        cr_assert_eq(memcmp(q.qe_report.report_data + 32, zeros, 32), 0);
    }
    mke_evidence_free(&ev);
}

Test(mkevidence, default_pck_chain_parses_and_chains)
{
    mke_options o;
    mke_evidence ev;
    cba_error err = { 0 };
    cba_quote q;
    cba_pem_chain chain;
    cba_cert leaf, ca, root;
    cba_sgx_ext sgx;
    uint8_t buf[8192];
    mke_options_init(&o);
    gen(&ev, &o);
    cr_assert_eq(cba_quote_parse(&err, &q, blob(&ev.quote)), CBA_OK);
    cr_assert_eq(cba_pem_chain_decode(&err, &chain, q.pck_chain_pem, buf, sizeof buf), CBA_OK,
                 "%s", err.detail);
    cr_assert_eq(chain.num_certs, 3);
    cr_assert(cbs_eq(chain.certs[2], blob(&ev.root_der)));
    cr_assert(cbs_eq(chain.certs[0], blob(&ev.pck_leaf_der)));
    cr_assert_eq(cba_cert_parse(&err, &leaf, chain.certs[0]), CBA_OK, "%s", err.detail);
    cr_assert_eq(cba_cert_parse(&err, &ca, chain.certs[1]), CBA_OK, "%s", err.detail);
    cr_assert_eq(cba_cert_parse(&err, &root, chain.certs[2]), CBA_OK, "%s", err.detail);
    cr_assert(cbs_eq_str(root.subject_cn, "Crabbox Test SGX Root CA"));
    cr_assert(cbs_eq(root.subject, root.issuer));
    cr_assert(cbs_eq_str(ca.subject_cn, "Intel SGX PCK Platform CA"));
    cr_assert(cbs_eq_str(leaf.subject_cn, "Intel SGX PCK Certificate"));
    cr_assert(cbs_eq(leaf.issuer, ca.subject));
    cr_assert(cbs_eq(ca.issuer, root.subject));
    cr_assert(cba_cert_verify_signature(&root, root.pub_xy));
    cr_assert(cba_cert_verify_signature(&ca, root.pub_xy));
    cr_assert(cba_cert_verify_signature(&leaf, ca.pub_xy));
    cr_assert(root.is_ca && root.path_len == 1 && ca.is_ca && ca.path_len == 0 && !leaf.is_ca);
    cr_assert_eq(root.key_usage, CBA_KU_KEY_CERT_SIGN | CBA_KU_CRL_SIGN);
    cr_assert_eq(leaf.key_usage, CBA_KU_DIGITAL_SIGNATURE | CBA_KU_NON_REPUDIATION);
    cr_assert_eq(leaf.num_extensions, 6, "AKI, CRL-DP, SKI, KU, BC, SGX like Intel's");
    cr_assert(cbs_eq(leaf.authority_key_id, ca.subject_key_id));
    cr_assert(leaf.not_before <= NOW && NOW <= leaf.not_after);
    cr_assert(leaf.has_sgx_ext);
    cr_assert_eq(cba_sgx_ext_parse(&err, &sgx, leaf.sgx_ext), CBA_OK, "%s", err.detail);
    cr_assert_eq(memcmp(sgx.fmspc, "\xb0\xc0\x6f\x00\x00\x00", 6), 0);
    cr_assert_eq(memcmp(sgx.pce_id, "\x00\x00", 2), 0);
    cr_assert_eq(sgx.pcesvn, 13);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(sgx.comp_svn[i], o.pck.comp_svn[i]);
        cr_assert_eq(sgx.cpusvn[i], o.pck.comp_svn[i], "CPUSVN mirrors the components");
    }
    cr_assert(sgx.has_platform_instance_id && sgx.has_configuration);
    cr_assert_eq(sgx.sgx_type, 1);
    mke_evidence_free(&ev);
}

Test(mkevidence, default_collateral_parses_and_is_signed)
{
    mke_options o;
    mke_evidence ev;
    cba_error err = { 0 };
    cba_collateral_raw raw;
    cba_crl root_crl, pck_crl;
    cba_tcb_info ti;
    cba_qe_identity qi;
    cba_pem_chain chain;
    cba_cert signer, root, ca;
    uint8_t buf[8192], buf2[8192];
    mke_options_init(&o);
    gen(&ev, &o);
    cr_assert_eq(cba_collateral_raw_parse(&err, &raw, blob(&ev.collateral_json)), CBA_OK, "%s: %s",
                 err.where, err.detail);
    cr_assert_eq(raw.root_ca_crl_len, ev.root_crl_der.len);
    cr_assert_eq(memcmp(raw.root_ca_crl, ev.root_crl_der.data, raw.root_ca_crl_len), 0);
    cr_assert_eq(raw.tcb_info_len, ev.tcb_info.len);
    cr_assert_eq(memcmp(raw.tcb_info, ev.tcb_info.data, raw.tcb_info_len), 0, "exact signed bytes");
    cr_assert_eq(raw.pck_certificate_chain_len, 0);

    /* TCB signing chain [signer, root]; both texts signed by the signer. */
    cr_assert_eq(cba_pem_chain_decode(&err, &chain, cbs_make(raw.tcb_info_issuer_chain,
                                                             raw.tcb_info_issuer_chain_len),
                                      buf, sizeof buf),
                 CBA_OK);
    cr_assert_eq(chain.num_certs, 2);
    cr_assert_eq(cba_cert_parse(&err, &signer, chain.certs[0]), CBA_OK);
    cr_assert_eq(cba_cert_parse(&err, &root, chain.certs[1]), CBA_OK);
    cr_assert(cbs_eq_str(signer.subject_cn, "Intel SGX TCB Signing"));
    cr_assert(cba_cert_verify_signature(&signer, root.pub_xy));
    cr_assert(!signer.is_ca);
    {
        cbs t = cbs_make(raw.tcb_info, raw.tcb_info_len), qt = cbs_make(raw.qe_identity, raw.qe_identity_len);
        cr_assert(cba_ecdsa_p256_verify_msg(signer.pub_xy, &t, 1, raw.tcb_info_signature));
        cr_assert(cba_ecdsa_p256_verify_msg(signer.pub_xy, &qt, 1, raw.qe_identity_signature));
    }

    /* CRLs: root CRL by the root, PCK CRL by the PCK CA of pck_crl_issuer_chain. */
    cr_assert_eq(cba_crl_parse(&err, &root_crl, cbs_make(raw.root_ca_crl, raw.root_ca_crl_len)), CBA_OK,
                 "%s", err.detail);
    cr_assert(cba_crl_verify_signature(&root_crl, root.pub_xy));
    cr_assert(cbs_eq(root_crl.issuer, root.subject));
    cr_assert(root_crl.has_crl_number && root_crl.has_aki);
    cr_assert(root_crl.this_update <= NOW && NOW <= root_crl.next_update);
    cr_assert_eq(root_crl.num_revoked, 0);
    cr_assert_eq(cba_pem_chain_decode(&err, &chain, cbs_make(raw.pck_crl_issuer_chain,
                                                             raw.pck_crl_issuer_chain_len),
                                      buf2, sizeof buf2),
                 CBA_OK);
    cr_assert_eq(cba_cert_parse(&err, &ca, chain.certs[0]), CBA_OK);
    cr_assert(cbs_eq(chain.certs[0], blob(&ev.pck_ca_der)));
    cr_assert_eq(cba_crl_parse(&err, &pck_crl, cbs_make(raw.pck_crl, raw.pck_crl_len)), CBA_OK);
    cr_assert(cba_crl_verify_signature(&pck_crl, ca.pub_xy));
    cr_assert(cbs_eq(pck_crl.issuer, ca.subject));
    cr_assert_eq(pck_crl.num_revoked, 3, "filler entries");
    cr_assert(pck_crl.this_update <= NOW && NOW <= pck_crl.next_update);

    /* The texts parse with the verifier's own parsers. */
    cr_assert_eq(cba_tcb_info_parse(&err, &ti, cbs_make(raw.tcb_info, raw.tcb_info_len)), CBA_OK,
                 "%s: %s", err.where, err.detail);
    cr_assert_eq(ti.version, 3);
    cr_assert_eq(ti.num_levels, 2);
    cr_assert_eq(ti.num_modules, 2);
    cr_assert_eq(ti.tcb_evaluation_data_number, 17);
    cr_assert_eq(ti.levels[0].status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(ti.levels[1].status, CBA_TCB_OUT_OF_DATE);
    cr_assert_eq(ti.levels[1].advisories.num, 1);
    cr_assert(ti.issue_date <= NOW && NOW <= ti.next_update);
    cr_assert_eq(cba_qe_identity_parse(&err, &qi, cbs_make(raw.qe_identity, raw.qe_identity_len)),
                 CBA_OK, "%s: %s", err.where, err.detail);
    cr_assert_eq(qi.isvprodid, 2);
    cr_assert_eq(qi.miscselect_mask, 0xffffffffu);
    cr_assert_eq(qi.num_levels, 2);
    cr_assert(qi.issue_date <= NOW && NOW <= qi.next_update);
    cba_tcb_info_cleanup(&ti);
    cba_qe_identity_cleanup(&qi);
    cba_collateral_raw_cleanup(&raw);
    mke_evidence_free(&ev);
}

Test(mkevidence, default_info_parses_replays_and_binds)
{
    mke_options o;
    mke_evidence ev;
    cba_error err = { 0 };
    cba_info *info = NULL;
    cba_dstack_ids ids;
    uint8_t (*digests)[48], rtmr[4][48], rd[64], ver = 0;
    mke_options_init(&o);
    gen(&ev, &o);
    cr_assert_eq(cba_info_parse(&err, &info, blob(&ev.info_json)), CBA_OK, "%s: %s", err.where,
                 err.detail);
    cr_assert_eq(info->format, CBA_INFO_DSTACK);
    cr_assert(cbs_eq(info->quote, blob(&ev.quote)), "the app cert carries the quote");
    cr_assert(info->quote_from_cert);
    cr_assert_eq(info->num_events, ev.num_events);
    cr_assert(info->has_app_compose);
    digests = calloc(info->num_events, sizeof *digests);
    cr_assert_not_null(digests);
    cr_assert_eq(cba_eventlog_check_digests(&err, digests, info), CBA_OK, "%s: %s", err.where, err.detail);
    cr_assert(cba_eventlog_replay(rtmr, info, (const uint8_t(*)[48])digests));
    cr_assert_eq(memcmp(rtmr, ev.rtmr, sizeof rtmr), 0);
    cr_assert_eq(cba_eventlog_identity(&err, &ids, info), CBA_OK);
    cr_assert(ids.has_app_id && ids.has_compose_hash && ids.has_key_provider && ids.has_system_ready);
    cr_assert_eq(memcmp(ids.app_id, ev.app_id, 20), 0);
    cr_assert_eq(memcmp(ids.compose_hash, ev.compose_hash, 32), 0);
    cr_assert_eq(cba_mrconfigid_check(&err, &ver, ev.mrconfigid, &ids), CBA_OK);
    cr_assert_eq(ver, 1);
    cr_assert(cba_ratls_report_data(rd, info->cert_spki));
    cr_assert_eq(memcmp(rd, ev.report_data, 64), 0);
    free(digests);
    cba_info_free(info);
    mke_evidence_free(&ev);
}

/* ---- The verifier accepts the defaults ---------------------------------------------------------- */

static void expect_uptodate(const mke_options *o)
{
    mke_evidence ev;
    cba_report rep;
    cba_err rc;
    gen(&ev, o);
    rc = verify_ev(&ev, NULL, NOW, &rep);
    cr_assert_eq(rc, CBA_OK, "%s at %s: %s", cba_err_name(rc), rep.error.where, rep.error.detail);
    cr_assert_eq(rep.verdict, CBA_VERDICT_VERIFIED);
    cr_assert(rep.test_root);
    cr_assert(rep.has_tcb);
    cr_assert_eq(rep.tcb_status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(rep.num_advisory_ids, 0);
    cr_assert_eq(rep.quote_version, o->quote.version);
    mke_evidence_free(&ev);
}

Test(mkevidence, default_verifies_uptodate)
{
    mke_options o;
    mke_evidence ev;
    cba_report rep;
    mke_options_init(&o);
    expect_uptodate(&o);
    gen(&ev, &o);
    cr_assert_eq(verify_ev(&ev, NULL, NOW, &rep), CBA_OK);
    cr_assert(rep.has_dstack && rep.ratls_bound && rep.has_app_id && rep.has_compose_hash);
    cr_assert_eq(rep.mrconfigid_version, 1);
    cr_assert_eq(memcmp(rep.app_id, ev.app_id, 20), 0);
    cr_assert_eq(memcmp(rep.compose_hash, ev.compose_hash, 32), 0);
    cr_assert_eq(rep.trailing_zero_bytes, 70);
    mke_evidence_free(&ev);
}

Test(mkevidence, v5_td15_verifies_uptodate)
{
    mke_options o;
    mke_evidence ev;
    cba_error err = { 0 };
    cba_quote q;
    mke_options_init(&o);
    o.quote.version = 5;
    o.quote.body_type = 3;
    o.quote.tee_tcb_svn2[0] = 6;
    o.quote.tee_tcb_svn2[1] = 1;
    expect_uptodate(&o);
    gen(&ev, &o);
    cr_assert_eq(cba_quote_parse(&err, &q, blob(&ev.quote)), CBA_OK);
    cr_assert_eq(q.body_type, 3);
    cr_assert_eq(q.body_size, 648);
    cr_assert_eq(q.td.tee_tcb_svn2[0], 6);
    mke_evidence_free(&ev);
}

Test(mkevidence, evidence_is_deterministic)
{
    mke_options o;
    mke_evidence a, b;
    mke_options_init(&o);
    gen(&a, &o);
    gen(&b, &o);
    cr_assert_eq(a.quote.len, b.quote.len);
    cr_assert_eq(memcmp(a.quote.data, b.quote.data, a.quote.len), 0);
    cr_assert_eq(a.collateral_json.len, b.collateral_json.len);
    cr_assert_eq(memcmp(a.collateral_json.data, b.collateral_json.data, a.collateral_json.len), 0);
    cr_assert_eq(a.info_json.len, b.info_json.len);
    cr_assert_eq(memcmp(a.info_json.data, b.info_json.data, a.info_json.len), 0);
    mke_evidence_free(&a);
    mke_evidence_free(&b);
    mke_evidence_free(&b); /* idempotent */
    mke_evidence_free(NULL);
}

Test(mkevidence, keys_are_fixed_and_distinct)
{
    uint8_t a[64], b[64], c[64], rs[64];
    static const uint8_t msg[] = "crabbox";
    cbs m = cbs_make(msg, sizeof msg);
    pub_of("root", a);
    pub_of("root", b);
    pub_of("tcb-signer", c);
    cr_assert_eq(memcmp(a, b, 64), 0);
    cr_assert_neq(memcmp(a, c, 64), 0);
    cr_assert(cba_p256_point_valid(a));
    cr_assert(mke_sign("tcb-signer", msg, sizeof msg, rs));
    cr_assert(cba_ecdsa_p256_verify_msg(c, &m, 1, rs));
    cr_assert_not(cba_ecdsa_p256_verify_msg(a, &m, 1, rs));
}

Test(mkevidence, generation_errors_are_reported)
{
    mke_options o;
    mke_evidence ev;
    mke_options_init(&o);
    o.info.tamper_claim = "no-such-claim";
    cr_assert_not(mke_generate(&ev, &o));
    cr_assert_neq(ev.error[0], '\0');
    cr_assert_null(ev.quote.data);
    mke_options_init(&o);
    o.tcb_info.num_levels = MKE_MAX_TCB_LEVELS + 1;
    cr_assert_not(mke_generate(&ev, &o));
    mke_options_init(&o);
    o.info.tamper_event = "no-such-event";
    cr_assert_not(mke_generate(&ev, &o));
    mke_options_init(&o);
    o.info.mrconfig = MKE_MRCONFIG_V2;
    o.info.key_provider = NULL;
    cr_assert_not(mke_generate(&ev, &o), "V2 needs a key provider to hash");
    cr_assert_not(mke_preset(&o, "no-such-preset"));
}

Test(mkevidence, presets_verify_or_fail_as_described)
{
    static const struct {
        const char *name;
        cba_err want;
    } cases[] = {
        { "valid-v4", CBA_OK },
        { "valid-v5", CBA_OK },
        { "valid-v5-td10", CBA_OK },
        { "processor-ca", CBA_OK },
        { "tappd", CBA_OK },
        { "getquote", CBA_OK },
        { "quote-only", CBA_OK },
        { "mrconfig-v2", CBA_OK },
        { "events-v2", CBA_OK },
        { "debug-td", CBA_E_TD_DEBUG },
        { "revoked-platform", CBA_E_TCB_REVOKED },
        { "revoked-pck", CBA_E_CERT_REVOKED },
        { "out-of-date", CBA_E_TCB_STATUS_REJECTED },
        { "expired-tcb-info", CBA_E_COLLATERAL_EXPIRED },
        { "bad-quote-signature", CBA_E_QUOTE_SIGNATURE },
        { "tampered-tcb-info", CBA_E_TCB_INFO_SIGNATURE },
        { "trailing-garbage", CBA_E_QUOTE_TRAILING_DATA },
    };
    size_t n = 0;
    for (size_t i = 0; mke_preset_name(i) != NULL; i++) { n++; }
    cr_assert_eq(n, sizeof cases / sizeof cases[0], "every preset has a case");
    for (size_t i = 0; i < n; i++) {
        mke_options o;
        mke_evidence ev;
        cba_report rep;
        cba_err rc;
        cr_assert(mke_preset(&o, cases[i].name), "%s", cases[i].name);
        gen(&ev, &o);
        rc = verify_ev(&ev, NULL, NOW, &rep);
        cr_expect_eq(rc, cases[i].want, "preset %s: got %s (%s: %s)", cases[i].name,
                     cba_err_name(rc), rep.error.where, rep.error.detail);
        mke_evidence_free(&ev);
    }
}

/* ---- Every knob reaches the check it targets (one case per knob) ----------------------------- */

#define KNOB(fn, ...) \
    static void fn(mke_options *o) { __VA_ARGS__; }

static void k_none(mke_options *o) { (void)o; }

static bool sha256_str(uint8_t out[32], const char *s)
{
    cbs part = cbs_make((const uint8_t *)s, strlen(s));
    return cba_sha256(out, &part, 1);
}

static const uint8_t k_ext_raw[] = { 0x30, 0x00 }; /* an empty SGXExtensions SEQUENCE */
static const uint8_t k_dup_payload[32] = { 1 };
static const mke_event k_dup_compose = { 3, MKE_RUNTIME_EVENT_TYPE, "compose-hash", k_dup_payload, 32 };
static const mke_event k_app_event = { 3, MKE_RUNTIME_EVENT_TYPE, "compose-hash", k_dup_payload, 32 };
static const mke_event k_boot_on_rtmr3 = { 3, 6, "", k_dup_payload, 4 };
static const mke_event k_runtime_on_rtmr0 = { 0, MKE_RUNTIME_EVENT_TYPE, "x", NULL, 0 };
static const mke_event k_custom_runtime = { 3, MKE_RUNTIME_EVENT_TYPE, "custom-event", k_dup_payload, 3 };

/* quote header and body */
KNOB(k_v3, o->quote.version = 3)
KNOB(k_v5_td10, o->quote.version = 5; o->quote.body_type = 2)
KNOB(k_v5_sgx_body, o->quote.version = 5; o->quote.body_type = 1)
KNOB(k_body_size, o->quote.version = 5; o->quote.body_type = 3; o->quote.body_size = 584)
KNOB(k_key_type, o->quote.att_key_type = 3)
KNOB(k_tee_type, o->quote.tee_type = 0)
KNOB(k_vendor, o->quote.qe_vendor_id[0] ^= 1)
KNOB(k_td_debug, o->quote.td_attributes |= 1)
KNOB(k_td_reserved, o->quote.td_attributes |= 2)
KNOB(k_td_no_sept, o->quote.td_attributes = 0)
KNOB(k_td_pks, o->quote.td_attributes |= UINT64_C(1) << 30)
KNOB(k_module_major, o->quote.tee_tcb_svn[1] = 2)
KNOB(k_module_minor, o->quote.tee_tcb_svn[0] = 1)
KNOB(k_late_ucode, o->quote.tee_tcb_svn[2] = 1)
KNOB(k_mrsignerseam, o->quote.mrsignerseam[0] = 1)
KNOB(k_seam_attributes, o->quote.seam_attributes = 1)
KNOB(k_mrtd, o->quote.mrtd[0] ^= 1)
KNOB(k_rtmr3, o->quote.has_rtmr[3] = true)
KNOB(k_mrconfig_raw, o->info.mrconfig = MKE_MRCONFIG_RAW; o->quote.mrconfigid[0] = 1)
KNOB(k_mrowner, o->quote.mrowner[0] = 1; o->quote.mrownerconfig[0] = 1)
KNOB(k_report_data, o->quote.has_report_data = true)
KNOB(k_report_data_gq, o->info.format = MKE_INFO_GETQUOTE; o->quote.has_report_data = true)
KNOB(k_mrservicetd, o->quote.version = 5; o->quote.body_type = 3; o->quote.mrservicetd[0] = 1)
/* QE report */
KNOB(k_qe_mrsigner, o->quote.qe.mrsigner[0] ^= 1)
KNOB(k_qe_prodid, o->quote.qe.isvprodid = 1)
KNOB(k_qe_isvsvn_old, o->quote.qe.isvsvn = 3)
KNOB(k_qe_isvsvn_low, o->quote.qe.isvsvn = 1)
KNOB(k_qe_miscselect, o->quote.qe.miscselect = 1)
KNOB(k_qe_debug, o->quote.qe.attributes[0] |= 0x02)
KNOB(k_auth_0, o->quote.qe_auth_data_len = 0)
KNOB(k_auth_100, o->quote.qe_auth_data_len = 100)
KNOB(k_att_key_off_curve, o->quote.attest_key_off_curve = true)
KNOB(k_att_key_name, o->quote.attest_key_name = "another-attestation-key")
KNOB(k_bad_quote_sig, o->quote.corrupt_quote_signature = true)
KNOB(k_bad_qe_sig, o->quote.corrupt_qe_report_signature = true)
KNOB(k_qe_rd_lower, o->quote.corrupt_qe_report_data_lower = true)
KNOB(k_qe_rd_upper, o->quote.corrupt_qe_report_data_upper = true)
KNOB(k_no_trailing, o->quote.trailing_zeros = 0)
KNOB(k_garbage, o->quote.trailing_garbage = "GARBAGE")
KNOB(k_outer_type, o->quote.outer_cert_type = 5)
KNOB(k_inner_type, o->quote.inner_cert_type = 3)
KNOB(k_sig_len_max, o->quote.sig_data_len = 0xffffffff)
KNOB(k_outer_size, o->quote.outer_cert_size = 100)
KNOB(k_inner_size, o->quote.inner_cert_size = 10)
KNOB(k_no_nul, o->quote.pem_trailing_nul = false)
KNOB(k_pem_extra, o->quote.pem_extra = "junk")
KNOB(k_pem_no_root, o->quote.pem_omit_root = true)
KNOB(k_truncate, o->quote.truncate_to = 1000)
KNOB(k_slack, o->quote.cert_data_slack = 8)
/* PCK leaf */
KNOB(k_fmspc, o->pck.fmspc[5] = 1)
KNOB(k_pce_id, o->pck.pce_id[1] = 1)
KNOB(k_comp_low, o->pck.comp_svn[0] = 1)
KNOB(k_comp_256, o->pck.comp_svn[0] = 256)
KNOB(k_pcesvn_low, o->pck.pcesvn = 4)
KNOB(k_pcesvn_old, o->pck.pcesvn = 10)
KNOB(k_cpusvn, o->pck.has_cpusvn = true)
KNOB(k_processor, o->pck.ca = MKE_CA_PROCESSOR)
KNOB(k_no_platform_members, o->pck.platform_members = 0)
KNOB(k_leaf_expired, o->pck.cert.not_after = NOW - 1)
KNOB(k_leaf_future, o->pck.cert.not_before = NOW + 1)
KNOB(k_leaf_serial, o->pck.cert.serial[0] = 0x80; o->pck.cert.serial_len = 1)
KNOB(k_leaf_ca, o->pck.cert.is_ca = true)
KNOB(k_leaf_cn, o->pck.cert.cn = "Intel SGX PCK Cert")
KNOB(k_leaf_ku, o->pck.cert.key_usage = MKE_KU_KEY_CERT_SIGN)
KNOB(k_leaf_no_bc, o->pck.cert.omit_basic_constraints = true)
KNOB(k_leaf_bad_sig, o->pck.cert.bad_signature = true)
KNOB(k_leaf_key, o->pck.cert.key_name = "another-pck-leaf")
KNOB(k_sgx_unknown, o->pck.unknown_member = true)
KNOB(k_sgx_dup, o->pck.duplicate_member = 4)
KNOB(k_sgx_omit, o->pck.omit_member = 3)
KNOB(k_sgx_omit_tcb, o->pck.omit_tcb_entry = 17)
KNOB(k_sgx_dup_tcb, o->pck.duplicate_tcb_entry = 5)
KNOB(k_sgx_twice, o->pck.ext_twice = true)
KNOB(k_sgx_none, o->pck.omit_ext = true)
KNOB(k_sgx_raw, o->pck.ext_raw = k_ext_raw; o->pck.ext_raw_len = sizeof k_ext_raw)
KNOB(k_sgx_type, o->pck.sgx_type = 3)
/* PCK CA, root */
KNOB(k_ca_expired, o->pck_ca.not_after = NOW - 1)
KNOB(k_ca_not_ca, o->pck_ca.is_ca = false)
KNOB(k_ca_pathlen, o->pck_ca.path_len = 1)
KNOB(k_ca_bad_sig, o->pck_ca.bad_signature = true)
KNOB(k_ca_cn, o->pck_ca.cn = "Intel SGX PCK Other CA")
KNOB(k_root_expired, o->root.not_after = NOW - 1)
KNOB(k_root_not_ca, o->root.is_ca = false)
/* root CA CRL */
KNOB(k_rcrl_pck_ca, o->root_crl_revoke_pck_ca = true)
KNOB(k_rcrl_signer, o->root_crl_revoke_tcb_signer = true)
KNOB(k_rcrl_root, o->root_crl_revoke_root = true)
KNOB(k_rcrl_future, o->root_crl.this_update = NOW + 1)
KNOB(k_rcrl_expired, o->root_crl.next_update = NOW - 1)
KNOB(k_rcrl_bad_sig, o->root_crl.bad_signature = true)
KNOB(k_rcrl_no_number, o->root_crl.omit_crl_number = true)
KNOB(k_rcrl_filler, o->root_crl.num_filler = 5)
/* PCK CRL */
KNOB(k_pcrl_leaf, o->pck_crl_revoke_leaf = true)
KNOB(k_pcrl_other, o->pck_crl_other_ca = true)
KNOB(k_pcrl_future, o->pck_crl.this_update = NOW + 1)
KNOB(k_pcrl_expired, o->pck_crl.next_update = NOW - 1)
KNOB(k_pcrl_bad_sig, o->pck_crl.bad_signature = true)
KNOB(k_pcrl_no_number, o->pck_crl.omit_crl_number = true)
KNOB(k_pcrl_no_aki, o->pck_crl.omit_aki = true)
KNOB(k_pcrl_empty, o->pck_crl.num_filler = 0)
/* TCB signing certificate and chains */
KNOB(k_ts_cn, o->tcb_signer.cn = "Intel SGX TCB Signer")
KNOB(k_ts_ca, o->tcb_signer.is_ca = true)
KNOB(k_ts_ku, o->tcb_signer.key_usage = MKE_KU_NON_REPUDIATION)
KNOB(k_ts_expired, o->tcb_signer.not_after = NOW - 1)
KNOB(k_ts_future, o->tcb_signer.not_before = NOW + 1)
KNOB(k_ts_bad_sig, o->tcb_signer.bad_signature = true)
KNOB(k_chain_leaf_only, o->tcb_chain = MKE_CHAIN_LEAF_ONLY)
KNOB(k_chain_pck_leaf, o->tcb_chain = MKE_CHAIN_PCK_LEAF)
KNOB(k_chain_pck_leaf_root, o->tcb_chain = MKE_CHAIN_PCK_LEAF_ROOT)
KNOB(k_chain_extra_root, o->tcb_chain = MKE_CHAIN_EXTRA_ROOT)
KNOB(k_qe_chain_leaf_only, o->qe_chain = MKE_CHAIN_LEAF_ONLY)
/* TCB info */
KNOB(k_ti_fmspc, o->tcb_info.fmspc[0] ^= 1)
KNOB(k_ti_pce_id, o->tcb_info.pce_id[0] = 1)
KNOB(k_ti_lower, o->tcb_info.fmspc_lowercase = true)
KNOB(k_ti_future, o->tcb_info.issue_date = NOW + 1)
KNOB(k_ti_expired, o->tcb_info.next_update = NOW - 1)
KNOB(k_ti_type, o->tcb_info.tcb_type = 1)
KNOB(k_ti_version, o->tcb_info.version = 2)
KNOB(k_ti_id, o->tcb_info.id = "SGX")
KNOB(k_ti_revoked, o->tcb_info.levels[0].status = "Revoked")
KNOB(k_ti_swh, o->tcb_info.levels[0].status = "SWHardeningNeeded";
     o->tcb_info.levels[0].advisories = "INTEL-SA-00615")
KNOB(k_ti_unknown_status, o->tcb_info.levels[0].status = "Bogus")
KNOB(k_ti_15_comps, o->tcb_info.levels[0].num_sgx = 15)
KNOB(k_ti_17_comps, o->tcb_info.levels[0].num_tdx = 17)
KNOB(k_ti_svn_256, o->tcb_info.levels[1].sgx_svn[0] = 256)
KNOB(k_ti_dup_level, o->tcb_info.levels[1] = o->tcb_info.levels[0])
KNOB(k_ti_tdx_high, o->tcb_info.levels[0].tdx_svn[2] = 9; o->tcb_info.levels[1].tdx_svn[2] = 9)
KNOB(k_ti_one_level, o->tcb_info.num_levels = 1; o->tcb_info.levels[0].pcesvn = 14)
KNOB(k_ti_no_modules, o->tcb_info.omit_module_identities = true)
KNOB(k_ti_module_signer, o->tcb_info.modules[1].mrsigner[0] = 1)
KNOB(k_ti_module_attr, o->tcb_info.modules[1].attributes[0] = 1)
KNOB(k_ti_module_revoked, o->tcb_info.modules[1].levels[0].status = "Revoked")
KNOB(k_ti_module_ood, o->tcb_info.modules[1].levels[0].isvsvn = 7)
KNOB(k_ti_module_id, o->tcb_info.modules[1].id = "tdx_01")
KNOB(k_ti_no_tdx_module, o->tcb_info.omit_tdx_module = true)
KNOB(k_ti_eval, o->tcb_info.tcb_evaluation_data_number = 4294967296)
KNOB(k_ti_extra, o->tcb_info.extra = ",\"id\":\"TDX\"")
KNOB(k_ti_text, o->tcb_info.text = "{}")
KNOB(k_ti_tamper, o->tcb_info.tamper = true)
KNOB(k_ti_bad_sig, o->tcb_info.bad_signature = true)
/* QE identity */
KNOB(k_qi_id, o->qe_identity.id = "QE")
KNOB(k_qi_version, o->qe_identity.version = 1)
KNOB(k_qi_future, o->qe_identity.issue_date = NOW + 1)
KNOB(k_qi_expired, o->qe_identity.next_update = NOW - 1)
KNOB(k_qi_mrsigner, o->qe_identity.mrsigner[31] ^= 1)
KNOB(k_qi_prodid, o->qe_identity.isvprodid = 3)
KNOB(k_qi_misc, o->qe_identity.miscselect = 4)
KNOB(k_qi_misc_mask, o->quote.qe.miscselect = 4; o->qe_identity.miscselect_mask = 0xfffffffb)
KNOB(k_qi_attr, o->qe_identity.attributes[0] = 0x13)
KNOB(k_qi_revoked, o->qe_identity.levels[0].status = "Revoked")
KNOB(k_qi_ood, o->qe_identity.levels[0].isvsvn = 5)
KNOB(k_qi_extra, o->qe_identity.extra = ",\"unknown\":1")
KNOB(k_qi_text, o->qe_identity.text = "[]")
KNOB(k_qi_tamper, o->qe_identity.tamper = true)
KNOB(k_qi_bad_sig, o->qe_identity.bad_signature = true)
KNOB(k_qs_separate, o->qe_signer_separate = true)
KNOB(k_qs_ca, o->qe_signer_separate = true; o->qe_signer.is_ca = true)
KNOB(k_qs_revoked, o->qe_signer_separate = true; o->root_crl_revoke_qe_signer = true)
/* collateral JSON */
KNOB(k_coll_pck_chain, o->include_pck_certificate_chain = true)
KNOB(k_coll_extra, o->collateral_extra = "\"unknown_member\": \"x\"")
/* dstack */
KNOB(k_fmt_none, o->info.format = MKE_INFO_NONE)
KNOB(k_fmt_tappd, o->info.format = MKE_INFO_TAPPD)
KNOB(k_fmt_getquote, o->info.format = MKE_INFO_GETQUOTE)
KNOB(k_app_id, o->info.app_id[0] ^= 1)
KNOB(k_compose, o->info.app_compose = "{\"name\":\"other\"}")
KNOB(k_no_instance, o->info.empty_instance_id = true)
KNOB(k_no_kp, o->info.key_provider = NULL)
KNOB(k_kp_none_v2, o->info.key_provider = "{\"name\":\"none\"}"; o->info.mrconfig = MKE_MRCONFIG_V2)
KNOB(k_no_kms, o->info.kms_events = false)
KNOB(k_mrconfig_zero, o->info.mrconfig = MKE_MRCONFIG_ZERO)
KNOB(k_mrconfig_v2, o->info.mrconfig = MKE_MRCONFIG_V2)
KNOB(k_events_v2, o->info.event_version = 2)
KNOB(k_strip, o->info.strip_runtime_digests = true)
KNOB(k_tamper_event, o->info.tamper_event = "app-id")
KNOB(k_tamper_event_v2, o->info.event_version = 2; o->info.tamper_event = "compose-hash")
KNOB(k_tamper_preimage, o->info.event_version = 2; o->info.tamper_preimage = "app-id")
KNOB(k_omit_compose, o->info.omit_event = "compose-hash")
KNOB(k_omit_app_id, o->info.omit_event = "app-id")
KNOB(k_omit_ready, o->info.omit_system_ready = true)
KNOB(k_extra_dup, o->info.extra_events[0] = k_dup_compose; o->info.num_extra_events = 1)
KNOB(k_extra_custom, o->info.extra_events[0] = k_custom_runtime; o->info.num_extra_events = 1)
KNOB(k_extra_boot3, o->info.extra_events[0] = k_boot_on_rtmr3; o->info.num_extra_events = 1)
KNOB(k_extra_rt0, o->info.extra_events[0] = k_runtime_on_rtmr0; o->info.num_extra_events = 1)
KNOB(k_post_ready, o->info.post_ready_events[0] = k_app_event; o->info.num_post_ready_events = 1)
KNOB(k_elog_cert, o->info.event_log_at = MKE_ELOG_CERT)
KNOB(k_elog_both, o->info.event_log_at = MKE_ELOG_BOTH)
KNOB(k_hide, o->info.hide_tcb_info = true)
KNOB(k_claim_mrtd, o->info.tamper_claim = "mrtd")
KNOB(k_claim_rtmr2, o->info.tamper_claim = "rtmr2")
KNOB(k_claim_compose, o->info.tamper_claim = "compose_hash")
KNOB(k_claim_tcb_compose, o->info.tamper_claim = "tcb_info.compose_hash")
KNOB(k_claim_app_id, o->info.tamper_claim = "app_id")
KNOB(k_claim_app_compose, o->info.tamper_claim = "app_compose")

typedef struct knob_case {
    const char *name;
    void (*apply)(mke_options *o);
    cba_err want;
} knob_case;

#define K(fn, want) { #fn, fn, want }

static const knob_case k_knobs[] = {
    K(k_v3, CBA_E_QUOTE_UNSUPPORTED), K(k_v5_td10, CBA_OK), K(k_v5_sgx_body, CBA_E_QUOTE_FORMAT),
    K(k_body_size, CBA_E_QUOTE_FORMAT), K(k_key_type, CBA_E_QUOTE_UNSUPPORTED),
    K(k_tee_type, CBA_E_QUOTE_UNSUPPORTED), K(k_vendor, CBA_E_QE_VENDOR), K(k_td_debug, CBA_E_TD_DEBUG),
    K(k_td_reserved, CBA_E_TD_ATTRIBUTES), K(k_td_no_sept, CBA_E_TD_ATTRIBUTES), K(k_td_pks, CBA_OK),
    K(k_module_major, CBA_E_TDX_MODULE_MISMATCH), K(k_module_minor, CBA_E_TCB_NOT_SUPPORTED),
    K(k_late_ucode, CBA_E_TCB_NOT_SUPPORTED), K(k_mrsignerseam, CBA_E_TDX_MODULE_MISMATCH),
    K(k_seam_attributes, CBA_E_TDX_MODULE_MISMATCH), K(k_mrtd, CBA_OK),
    K(k_rtmr3, CBA_E_RTMR_MISMATCH), K(k_mrconfig_raw, CBA_E_MRCONFIGID_MISMATCH), K(k_mrowner, CBA_OK),
    K(k_report_data, CBA_E_REPORT_DATA_MISMATCH), K(k_report_data_gq, CBA_OK),
    K(k_mrservicetd, CBA_E_TD_ATTRIBUTES),
    K(k_qe_mrsigner, CBA_E_QE_IDENTITY_MISMATCH), K(k_qe_prodid, CBA_E_QE_IDENTITY_MISMATCH),
    K(k_qe_isvsvn_old, CBA_E_TCB_STATUS_REJECTED), K(k_qe_isvsvn_low, CBA_E_TCB_NOT_SUPPORTED),
    K(k_qe_miscselect, CBA_E_QE_IDENTITY_MISMATCH), K(k_qe_debug, CBA_E_QE_IDENTITY_MISMATCH),
    K(k_auth_0, CBA_OK), K(k_auth_100, CBA_OK), K(k_att_key_off_curve, CBA_E_QUOTE_SIGNATURE),
    K(k_att_key_name, CBA_OK), K(k_bad_quote_sig, CBA_E_QUOTE_SIGNATURE),
    K(k_bad_qe_sig, CBA_E_QE_REPORT_SIGNATURE), K(k_qe_rd_lower, CBA_E_QE_REPORT_DATA),
    K(k_qe_rd_upper, CBA_E_QE_REPORT_DATA), K(k_no_trailing, CBA_OK),
    K(k_garbage, CBA_E_QUOTE_TRAILING_DATA), K(k_outer_type, CBA_E_QUOTE_FORMAT),
    K(k_inner_type, CBA_E_QUOTE_FORMAT), K(k_sig_len_max, CBA_E_QUOTE_FORMAT),
    K(k_outer_size, CBA_E_QUOTE_FORMAT), K(k_inner_size, CBA_E_QUOTE_FORMAT), K(k_no_nul, CBA_OK),
    K(k_pem_extra, CBA_E_PEM), K(k_pem_no_root, CBA_E_CERT_INVALID), K(k_truncate, CBA_E_QUOTE_FORMAT),
    K(k_slack, CBA_E_QUOTE_FORMAT),
    K(k_fmspc, CBA_E_TCB_INFO_MISMATCH), K(k_pce_id, CBA_E_TCB_INFO_MISMATCH),
    K(k_comp_low, CBA_E_TCB_NOT_SUPPORTED), K(k_comp_256, CBA_E_PCK_EXTENSION),
    K(k_pcesvn_low, CBA_E_TCB_NOT_SUPPORTED), K(k_pcesvn_old, CBA_E_TCB_STATUS_REJECTED),
    K(k_cpusvn, CBA_OK), K(k_processor, CBA_OK), K(k_no_platform_members, CBA_OK),
    K(k_leaf_expired, CBA_E_CERT_EXPIRED), K(k_leaf_future, CBA_E_CERT_EXPIRED), K(k_leaf_serial, CBA_OK),
    K(k_leaf_ca, CBA_E_CERT_INVALID), K(k_leaf_cn, CBA_E_CERT_INVALID), K(k_leaf_ku, CBA_E_CERT_INVALID),
    K(k_leaf_no_bc, CBA_E_CERT_INVALID), K(k_leaf_bad_sig, CBA_E_CERT_SIGNATURE),
    K(k_leaf_key, CBA_OK), K(k_sgx_unknown, CBA_OK), K(k_sgx_dup, CBA_E_PCK_EXTENSION),
    K(k_sgx_omit, CBA_E_PCK_EXTENSION), K(k_sgx_omit_tcb, CBA_E_PCK_EXTENSION),
    K(k_sgx_dup_tcb, CBA_E_PCK_EXTENSION), K(k_sgx_twice, CBA_E_CERT_INVALID),
    K(k_sgx_none, CBA_E_PCK_EXTENSION), K(k_sgx_raw, CBA_E_PCK_EXTENSION), K(k_sgx_type, CBA_E_PCK_EXTENSION),
    K(k_ca_expired, CBA_E_CERT_EXPIRED), K(k_ca_not_ca, CBA_E_CERT_INVALID), K(k_ca_pathlen, CBA_E_CERT_INVALID),
    K(k_ca_bad_sig, CBA_E_CERT_SIGNATURE), K(k_ca_cn, CBA_E_CERT_INVALID),
    K(k_root_expired, CBA_E_CERT_EXPIRED), K(k_root_not_ca, CBA_E_CHAIN_UNTRUSTED),
    K(k_rcrl_pck_ca, CBA_E_CERT_REVOKED), K(k_rcrl_signer, CBA_E_CERT_REVOKED),
    K(k_rcrl_root, CBA_E_CERT_REVOKED), K(k_rcrl_future, CBA_E_CRL_EXPIRED),
    K(k_rcrl_expired, CBA_E_CRL_EXPIRED), K(k_rcrl_bad_sig, CBA_E_CRL_INVALID),
    K(k_rcrl_no_number, CBA_E_CRL_INVALID), K(k_rcrl_filler, CBA_OK),
    K(k_pcrl_leaf, CBA_E_CERT_REVOKED), K(k_pcrl_other, CBA_E_CRL_INVALID),
    K(k_pcrl_future, CBA_E_CRL_EXPIRED), K(k_pcrl_expired, CBA_E_CRL_EXPIRED),
    K(k_pcrl_bad_sig, CBA_E_CRL_INVALID), K(k_pcrl_no_number, CBA_E_CRL_INVALID),
    K(k_pcrl_no_aki, CBA_E_CRL_INVALID), K(k_pcrl_empty, CBA_OK),
    K(k_ts_cn, CBA_E_CERT_INVALID), K(k_ts_ca, CBA_E_CERT_INVALID), K(k_ts_ku, CBA_E_CERT_INVALID),
    K(k_ts_expired, CBA_E_CERT_EXPIRED), K(k_ts_future, CBA_E_CERT_EXPIRED),
    K(k_ts_bad_sig, CBA_E_CERT_SIGNATURE), K(k_chain_leaf_only, CBA_E_CERT_INVALID),
    K(k_chain_pck_leaf, CBA_E_CERT_INVALID), K(k_chain_pck_leaf_root, CBA_E_CERT_INVALID),
    K(k_chain_extra_root, CBA_E_CERT_INVALID), K(k_qe_chain_leaf_only, CBA_E_CERT_INVALID),
    K(k_ti_fmspc, CBA_E_TCB_INFO_MISMATCH), K(k_ti_pce_id, CBA_E_TCB_INFO_MISMATCH), K(k_ti_lower, CBA_OK),
    K(k_ti_future, CBA_E_COLLATERAL_EXPIRED), K(k_ti_expired, CBA_E_COLLATERAL_EXPIRED),
    K(k_ti_type, CBA_E_TCB_INFO_FORMAT), K(k_ti_version, CBA_E_TCB_INFO_FORMAT),
    K(k_ti_id, CBA_E_TCB_INFO_FORMAT), K(k_ti_revoked, CBA_E_TCB_REVOKED),
    K(k_ti_swh, CBA_E_TCB_STATUS_REJECTED), K(k_ti_unknown_status, CBA_E_TCB_INFO_FORMAT),
    K(k_ti_15_comps, CBA_E_TCB_INFO_FORMAT), K(k_ti_17_comps, CBA_E_TCB_INFO_FORMAT),
    K(k_ti_svn_256, CBA_E_TCB_INFO_FORMAT), K(k_ti_dup_level, CBA_E_TCB_INFO_FORMAT),
    K(k_ti_tdx_high, CBA_E_TCB_NOT_SUPPORTED), K(k_ti_one_level, CBA_E_TCB_NOT_SUPPORTED),
    K(k_ti_no_modules, CBA_E_TDX_MODULE_MISMATCH), K(k_ti_module_signer, CBA_E_TDX_MODULE_MISMATCH),
    K(k_ti_module_attr, CBA_E_TDX_MODULE_MISMATCH), K(k_ti_module_revoked, CBA_E_TCB_REVOKED),
    K(k_ti_module_ood, CBA_E_TCB_STATUS_REJECTED), K(k_ti_module_id, CBA_OK),
    K(k_ti_no_tdx_module, CBA_E_TCB_INFO_FORMAT), K(k_ti_eval, CBA_E_TCB_INFO_FORMAT),
    K(k_ti_extra, CBA_E_TCB_INFO_FORMAT), K(k_ti_text, CBA_E_TCB_INFO_FORMAT),
    K(k_ti_tamper, CBA_E_TCB_INFO_SIGNATURE), K(k_ti_bad_sig, CBA_E_TCB_INFO_SIGNATURE),
    K(k_qi_id, CBA_E_QE_IDENTITY_FORMAT), K(k_qi_version, CBA_E_QE_IDENTITY_FORMAT),
    K(k_qi_future, CBA_E_COLLATERAL_EXPIRED), K(k_qi_expired, CBA_E_COLLATERAL_EXPIRED),
    K(k_qi_mrsigner, CBA_E_QE_IDENTITY_MISMATCH), K(k_qi_prodid, CBA_E_QE_IDENTITY_MISMATCH),
    K(k_qi_misc, CBA_E_QE_IDENTITY_MISMATCH), K(k_qi_misc_mask, CBA_OK),
    K(k_qi_attr, CBA_E_QE_IDENTITY_MISMATCH), K(k_qi_revoked, CBA_E_TCB_REVOKED),
    K(k_qi_ood, CBA_E_TCB_STATUS_REJECTED), K(k_qi_extra, CBA_OK), K(k_qi_text, CBA_E_QE_IDENTITY_FORMAT),
    K(k_qi_tamper, CBA_E_QE_IDENTITY_SIGNATURE), K(k_qi_bad_sig, CBA_E_QE_IDENTITY_SIGNATURE),
    K(k_qs_separate, CBA_OK), K(k_qs_ca, CBA_E_CERT_INVALID), K(k_qs_revoked, CBA_E_CERT_REVOKED),
    K(k_coll_pck_chain, CBA_OK), K(k_coll_extra, CBA_E_COLLATERAL_FORMAT),
    K(k_fmt_none, CBA_OK), K(k_fmt_tappd, CBA_OK), K(k_fmt_getquote, CBA_OK), K(k_app_id, CBA_OK),
    K(k_compose, CBA_OK), K(k_no_instance, CBA_OK), K(k_no_kp, CBA_OK), K(k_kp_none_v2, CBA_OK),
    K(k_no_kms, CBA_OK), K(k_mrconfig_zero, CBA_OK), K(k_mrconfig_v2, CBA_OK), K(k_events_v2, CBA_OK),
    K(k_strip, CBA_OK), K(k_tamper_event, CBA_E_EVENT_DIGEST_MISMATCH),
    K(k_tamper_event_v2, CBA_E_EVENT_DIGEST_MISMATCH), K(k_tamper_preimage, CBA_E_EVENT_DIGEST_MISMATCH), K(k_omit_compose, CBA_E_COMPOSE_HASH_MISMATCH),
    K(k_omit_app_id, CBA_E_APP_ID_MISMATCH), K(k_omit_ready, CBA_OK),
    K(k_extra_dup, CBA_E_EVENTLOG_FORMAT), K(k_extra_custom, CBA_OK), K(k_extra_boot3, CBA_E_EVENTLOG_FORMAT),
    K(k_extra_rt0, CBA_E_EVENTLOG_FORMAT), K(k_post_ready, CBA_OK), K(k_elog_cert, CBA_OK),
    K(k_elog_both, CBA_OK), K(k_hide, CBA_E_INFO_FORMAT),
    K(k_claim_mrtd, CBA_E_MEASUREMENT_CLAIM_MISMATCH), K(k_claim_rtmr2, CBA_E_MEASUREMENT_CLAIM_MISMATCH),
    K(k_claim_compose, CBA_E_COMPOSE_HASH_MISMATCH), K(k_claim_tcb_compose, CBA_E_COMPOSE_HASH_MISMATCH),
    K(k_claim_app_id, CBA_E_APP_ID_MISMATCH), K(k_claim_app_compose, CBA_E_COMPOSE_HASH_MISMATCH),
};

Test(mkevidence, every_knob_reaches_its_check)
{
    for (size_t i = 0; i < sizeof k_knobs / sizeof k_knobs[0]; i++) {
        mke_options o;
        mke_evidence ev;
        cba_report rep;
        cba_err rc;
        mke_options_init(&o);
        k_knobs[i].apply(&o);
        gen(&ev, &o);
        rc = verify_ev(&ev, NULL, NOW, &rep);
        cr_expect_eq(rc, k_knobs[i].want, "%s: want %s, got %s (%s: %s)", k_knobs[i].name,
                     cba_err_name(k_knobs[i].want), cba_err_name(rc), rep.error.where,
                     rep.error.detail);
        mke_evidence_free(&ev);
    }
}

/* ---- Knobs the verifier accepts still change the artefact ------------------------------------- */

typedef struct parsed {
    mke_evidence ev;
    cba_quote q;
    cba_pem_chain chain;
    uint8_t der[8192];
    cba_cert leaf, ca;
    cba_sgx_ext sgx;
    cba_collateral_raw raw;
    cba_info *info;
} parsed;

static parsed *parse_all(void (*apply)(mke_options *o))
{
    parsed *p = calloc(1, sizeof *p);
    mke_options o;
    cba_error err = { 0 };
    cr_assert_not_null(p);
    mke_options_init(&o);
    apply(&o);
    gen(&p->ev, &o);
    cr_assert_eq(cba_quote_parse(&err, &p->q, blob(&p->ev.quote)), CBA_OK, "%s", err.detail);
    cr_assert_eq(cba_pem_chain_decode(&err, &p->chain, p->q.pck_chain_pem, p->der, sizeof p->der),
                 CBA_OK);
    cr_assert_eq(cba_cert_parse(&err, &p->leaf, p->chain.certs[0]), CBA_OK);
    cr_assert_eq(cba_cert_parse(&err, &p->ca, p->chain.certs[1]), CBA_OK);
    cr_assert_eq(cba_sgx_ext_parse(&err, &p->sgx, p->leaf.sgx_ext), CBA_OK);
    cr_assert_eq(cba_collateral_raw_parse(&err, &p->raw, blob(&p->ev.collateral_json)), CBA_OK);
    if (p->ev.info_json.data != NULL) {
        cr_assert_eq(cba_info_parse(&err, &p->info, blob(&p->ev.info_json)), CBA_OK, "%s: %s",
                     err.where, err.detail);
    }
    return p;
}

static void parsed_free(parsed *p)
{
    cba_info_free(p->info);
    cba_collateral_raw_cleanup(&p->raw);
    mke_evidence_free(&p->ev);
    free(p);
}

static bool text_has(const uint8_t *text, size_t len, const char *needle)
{
    return memmem(text, len, needle, strlen(needle)) != NULL;
}

Test(mkevidence, quote_knobs_change_the_quote)
{
    parsed *p;
    uint8_t xy[64];
    mke_options o;
    mke_options_init(&o);

    p = parse_all(k_v5_td10);
    cr_assert(p->q.version == 5 && p->q.body_type == 2 && p->q.body_size == 584);
    parsed_free(p);
    p = parse_all(k_mrtd);
    cr_assert_eq(p->q.td.mrtd[0], o.quote.mrtd[0] ^ 1);
    parsed_free(p);
    p = parse_all(k_mrowner);
    cr_assert(p->q.td.mrowner[0] == 1 && p->q.td.mrownerconfig[0] == 1);
    parsed_free(p);
    p = parse_all(k_td_pks);
    cr_assert_eq(p->q.td.td_attributes, UINT64_C(0x50000000));
    parsed_free(p);
    p = parse_all(k_report_data_gq);
    cr_assert_eq(memcmp(p->q.td.report_data, o.quote.report_data, 64), 0, "zeros as given");
    cr_assert_eq(p->info->format, CBA_INFO_GETQUOTE);
    parsed_free(p);
    p = parse_all(k_auth_0);
    cr_assert_eq(p->q.qe_auth_data.len, 0);
    parsed_free(p);
    p = parse_all(k_auth_100);
    cr_assert_eq(p->q.qe_auth_data.len, 100);
    parsed_free(p);
    p = parse_all(k_no_trailing);
    cr_assert_eq(p->q.trailing_len, 0);
    parsed_free(p);
    p = parse_all(k_no_nul);
    cr_assert_eq(cbs_byte(p->q.pck_chain_pem, p->q.pck_chain_pem.len - 1), '\n');
    parsed_free(p);
    p = parse_all(k_att_key_name);
    pub_of("another-attestation-key", xy);
    cr_assert_eq(memcmp(p->q.attest_key, xy, 64), 0);
    parsed_free(p);
    p = parse_all(k_mrconfig_zero);
    cr_assert(cbs_all_zero(cbs_make(p->q.td.mrconfigid, 48)));
    parsed_free(p);
    p = parse_all(k_mrconfig_v2);
    cr_assert_eq(p->q.td.mrconfigid[0], 2);
    parsed_free(p);
}

Test(mkevidence, pki_knobs_change_the_certificates_and_crls)
{
    parsed *p;
    cba_error err = { 0 };
    cba_crl crl;
    uint8_t xy[64];

    p = parse_all(k_processor);
    cr_assert(cbs_eq_str(p->ca.subject_cn, "Intel SGX PCK Processor CA"));
    cr_assert_not(p->sgx.has_platform_instance_id || p->sgx.has_configuration);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(p->raw.pck_crl, p->raw.pck_crl_len)), CBA_OK);
    cr_assert(cbs_eq(crl.issuer, p->ca.subject), "the PCK CRL follows the leaf's CA");
    parsed_free(p);
    p = parse_all(k_no_platform_members);
    cr_assert_not(p->sgx.has_platform_instance_id);
    parsed_free(p);
    p = parse_all(k_leaf_serial);
    cr_assert(p->leaf.serial.len == 1 && cbs_byte(p->leaf.serial, 0) == 0x80);
    parsed_free(p);
    p = parse_all(k_cpusvn);
    cr_assert(cbs_all_zero(cbs_make(p->sgx.cpusvn, 16)), "CPUSVN as given, not the components");
    parsed_free(p);
    p = parse_all(k_leaf_key);
    pub_of("another-pck-leaf", xy);
    cr_assert_eq(memcmp(p->leaf.pub_xy, xy, 64), 0);
    parsed_free(p);
    p = parse_all(k_pcrl_leaf);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(p->raw.pck_crl, p->raw.pck_crl_len)), CBA_OK);
    cr_assert(cba_crl_lists_serial(&crl, p->leaf.serial));
    parsed_free(p);
    p = parse_all(k_pcrl_empty);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(p->raw.pck_crl, p->raw.pck_crl_len)), CBA_OK);
    cr_assert_eq(crl.num_revoked, 0);
    parsed_free(p);
    p = parse_all(k_rcrl_filler);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(p->raw.root_ca_crl, p->raw.root_ca_crl_len)),
                 CBA_OK);
    cr_assert_eq(crl.num_revoked, 5);
    cr_assert_not(cba_crl_lists_serial(&crl, p->ca.serial));
    parsed_free(p);
    p = parse_all(k_rcrl_pck_ca);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(p->raw.root_ca_crl, p->raw.root_ca_crl_len)),
                 CBA_OK);
    cr_assert(cba_crl_lists_serial(&crl, p->ca.serial));
    parsed_free(p);
    p = parse_all(k_pcrl_no_aki);
    cr_assert_eq(cba_crl_parse(&err, &crl, cbs_make(p->raw.pck_crl, p->raw.pck_crl_len)), CBA_OK);
    cr_assert(crl.has_crl_number && !crl.has_aki);
    parsed_free(p);
    p = parse_all(k_qs_separate);
    cr_assert_neq(p->raw.qe_identity_issuer_chain_len, 0);
    cr_assert(p->raw.qe_identity_issuer_chain_len != p->raw.tcb_info_issuer_chain_len ||
              memcmp(p->raw.qe_identity_issuer_chain, p->raw.tcb_info_issuer_chain,
                     p->raw.tcb_info_issuer_chain_len) != 0);
    parsed_free(p);
    p = parse_all(k_coll_pck_chain);
    cr_assert_eq(p->raw.pck_certificate_chain_len, p->ev.pck_chain_pem.len);
    parsed_free(p);
}

Test(mkevidence, collateral_knobs_change_the_texts)
{
    parsed *p;
    cba_error err = { 0 };
    cba_tcb_info ti;
    cba_qe_identity qi;
    cba_report rep;
    cba_policy pol;

    p = parse_all(k_ti_lower);
    cr_assert(text_has(p->raw.tcb_info, p->raw.tcb_info_len, "\"fmspc\":\"b0c06f000000\""));
    parsed_free(p);
    p = parse_all(k_ti_module_id);
    cr_assert(text_has(p->raw.tcb_info, p->raw.tcb_info_len, "\"id\":\"tdx_01\""));
    parsed_free(p);
    p = parse_all(k_qi_extra);
    cr_assert(text_has(p->raw.qe_identity, p->raw.qe_identity_len, "\"unknown\":1}"));
    parsed_free(p);
    p = parse_all(k_qi_misc_mask);
    cr_assert_eq(cba_qe_identity_parse(&err, &qi, cbs_make(p->raw.qe_identity, p->raw.qe_identity_len)),
                 CBA_OK);
    cr_assert_eq(qi.miscselect_mask, 0xfffffffbu);
    cba_qe_identity_cleanup(&qi);
    parsed_free(p);
    p = parse_all(k_ti_swh);
    cr_assert_eq(cba_tcb_info_parse(&err, &ti, cbs_make(p->raw.tcb_info, p->raw.tcb_info_len)), CBA_OK);
    cr_assert_eq(ti.levels[0].status, CBA_TCB_SW_HARDENING_NEEDED);
    cr_assert_eq(ti.levels[0].advisories.num, 1);
    cr_assert_str_eq(ti.levels[0].advisories.ids[0], "INTEL-SA-00615");
    cba_tcb_info_cleanup(&ti);
    /* ... and a policy that allows the status and the advisory accepts it. */
    cba_policy_init(&pol);
    pol.accepted_statuses |= 1u << CBA_TCB_SW_HARDENING_NEEDED;
    {
        static const char *const allowed[] = { "INTEL-SA-00615", NULL };
        pol.allowed_advisories = allowed;
        cr_assert_eq(verify_ev(&p->ev, &pol, NOW, &rep), CBA_OK, "%s", rep.error.detail);
    }
    cr_assert_eq(rep.tcb_status, CBA_TCB_SW_HARDENING_NEEDED);
    parsed_free(p);

    /* tcbEvaluationDataNumber reaches the report and the policy minimum. */
    p = parse_all(k_none);
    cr_assert_eq(verify_ev(&p->ev, NULL, NOW, &rep), CBA_OK);
    cr_assert_eq(rep.tcb_evaluation_data_number, 17);
    cba_policy_init(&pol);
    pol.min_tcb_evaluation_data_number = 18;
    cr_assert_eq(verify_ev(&p->ev, &pol, NOW, &rep), CBA_E_COLLATERAL_EXPIRED);
    parsed_free(p);
}

Test(mkevidence, dstack_knobs_change_the_response)
{
    parsed *p;
    cba_error err = { 0 };
    cba_dstack_ids ids;
    uint8_t h[32];
    mke_options o;
    size_t base;
    mke_options_init(&o);

    p = parse_all(k_none);
    base = p->info->num_events;
    parsed_free(p);
    p = parse_all(k_fmt_tappd);
    cr_assert_eq(p->info->format, CBA_INFO_TAPPD);
    parsed_free(p);
    p = parse_all(k_fmt_none);
    cr_assert_null(p->ev.info_json.data);
    parsed_free(p);
    p = parse_all(k_compose);
    cr_assert(sha256_str(h, "{\"name\":\"other\"}"));
    cr_assert_eq(memcmp(p->ev.compose_hash, h, 32), 0);
    cr_assert_eq(cba_eventlog_identity(&err, &ids, p->info), CBA_OK);
    cr_assert_eq(memcmp(ids.compose_hash, h, 32), 0);
    parsed_free(p);
    p = parse_all(k_app_id);
    cr_assert_eq(cba_eventlog_identity(&err, &ids, p->info), CBA_OK);
    cr_assert_eq(ids.app_id[0], o.info.app_id[0] ^ 1);
    parsed_free(p);
    p = parse_all(k_no_instance);
    cr_assert_eq(cba_eventlog_identity(&err, &ids, p->info), CBA_OK);
    cr_assert(ids.has_instance_id && ids.instance_id.len == 0);
    cr_assert_not(p->info->has_instance_id);
    parsed_free(p);
    p = parse_all(k_no_kms);
    cr_assert_eq(p->info->num_events, base - 2, "no mr-kms, os-image-hash");
    parsed_free(p);
    p = parse_all(k_no_kp);
    cr_assert_eq(cba_eventlog_identity(&err, &ids, p->info), CBA_OK);
    cr_assert_not(ids.has_key_provider);
    parsed_free(p);
    p = parse_all(k_omit_ready);
    cr_assert_eq(cba_eventlog_identity(&err, &ids, p->info), CBA_OK);
    cr_assert_not(ids.has_system_ready);
    parsed_free(p);
    p = parse_all(k_extra_custom);
    cr_assert_eq(p->info->num_events, base + 1);
    parsed_free(p);
    p = parse_all(k_post_ready);
    cr_assert_eq(p->info->num_events, base + 1);
    cr_assert(cbs_eq_str(p->info->events[base].name, "compose-hash"), "after system-ready");
    cr_assert_eq(cba_eventlog_identity(&err, &ids, p->info), CBA_OK);
    cr_assert_eq(memcmp(ids.compose_hash, p->ev.compose_hash, 32), 0, "the app's event is ignored");
    parsed_free(p);
    p = parse_all(k_strip);
    cr_assert_not(p->info->events[base - 1].has_digest, "runtime digests stripped");
    cr_assert(p->info->events[0].has_digest, "boot digests kept");
    parsed_free(p);
    p = parse_all(k_events_v2);
    cr_assert(p->info->events[base - 1].version == 2 && p->info->events[base - 1].has_preimage);
    parsed_free(p);
    p = parse_all(k_elog_cert);
    cr_assert_eq(p->info->num_events, base, "event log taken from the app cert");
    cr_assert_not(text_has(p->ev.info_json.data, p->ev.info_json.len, "event_log"));
    parsed_free(p);
}

/* ---- A fresh quote with the log sent with it (issue 11 §3) ---------------------------------- */

/* info_member_replaced: the Info JSON with one top-level string member set to `value`. */
static char *info_member_replaced(const mke_blob *info, const char *member, const char *value)
{
    json_object *doc = json_tokener_parse((const char *)info->data);
    char *out;
    cr_assert_not_null(doc);
    json_object_object_add(doc, member, json_object_new_string(value));
    out = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
    cr_assert_not_null(out);
    return out;
}

/* quote_log_of: the "event_log" string of a GetQuote response (malloc'd). */
static char *quote_log_of(const mke_blob *getquote)
{
    json_object *doc = json_tokener_parse((const char *)getquote->data), *log = NULL;
    char *out;
    cr_assert_not_null(doc);
    cr_assert(json_object_object_get_ex(doc, "event_log", &log));
    out = strdup(json_object_get_string(log));
    json_object_put(doc);
    cr_assert_not_null(out);
    return out;
}

typedef struct fresh_case {
    mke_evidence info, fresh;     /* Info at boot; GetQuote after one more runtime event */
    uint8_t nonce_rd[64];
    char *quote_log;
} fresh_case;

static void fresh_case_make(fresh_case *f, bool runtime_event_between)
{
    static const uint8_t payload[3] = { 'x', 'y', 'z' };
    mke_options o;
    mke_options_init(&o);
    gen(&f->info, &o);
    for (int i = 0; i < 64; i++) { f->nonce_rd[i] = (uint8_t)(0xa0 + i); }
    o.info.format = MKE_INFO_GETQUOTE;
    o.quote.has_report_data = true;
    memcpy(o.quote.report_data, f->nonce_rd, 64);
    if (runtime_event_between) {
        o.info.post_ready_events[0] = (mke_event){ 3, MKE_RUNTIME_EVENT_TYPE, "app-started", payload, 3 };
        o.info.num_post_ready_events = 1;
    }
    gen(&f->fresh, &o);
    f->quote_log = quote_log_of(&f->fresh.info_json);
}

static void fresh_case_free(fresh_case *f)
{
    mke_evidence_free(&f->info);
    mke_evidence_free(&f->fresh);
    free(f->quote_log);
}

/* verify_fresh verifies Info `info_json` with the fresh quote of f (it replaces the Info's), the
 * quote's report data pinned, and `log` (NULL: none) as the quote's event log. */
static cba_err verify_fresh(const fresh_case *f, const char *info_json, const char *log, bool replaces, cba_report *rep)
{
    cba_policy pol;
    cba_evidence e;
    cba_policy_init(&pol);
    cba_evidence_init(&e);
    cba_report_init(rep);
    pol.trust_root_der = f->fresh.root_der.data;
    pol.trust_root_der_len = f->fresh.root_der.len;
    memcpy(pol.report_data, f->nonce_rd, 64);
    pol.has_report_data = true;
    e.quote = f->fresh.quote.data;
    e.quote_len = f->fresh.quote.len;
    e.info_json = (const uint8_t *)info_json;
    e.info_json_len = strlen(info_json);
    e.collateral_json = f->fresh.collateral_json.data;
    e.collateral_json_len = f->fresh.collateral_json.len;
    e.quote_replaces_info_quote = replaces;
    if (log != NULL) {
        e.quote_event_log = (const uint8_t *)log;
        e.quote_event_log_len = strlen(log);
    }
    return cba_verify(rep, &pol, &e, NOW);
}

Test(mkevidence, fresh_quote_replays_against_its_own_log_after_a_runtime_event)
{
    fresh_case f;
    cba_report rep;
    cba_err rc;
    const char *info;
    char *info_log = NULL;
    fresh_case_make(&f, true);
    info = (const char *)f.info.info_json.data;
    cr_assert_neq(memcmp(f.info.rtmr[3], f.fresh.rtmr[3], 48), 0, "the runtime event moved RTMR3");
    /* The Info's log (a snapshot before the event) does not replay to the fresh quote's RTMR3:
     * the lease used to fail here. */
    rc = verify_fresh(&f, info, NULL, true, &rep);
    cr_assert_eq(rc, CBA_E_RTMR_MISMATCH, "%s at %s: %s", cba_err_name(rc), rep.error.where, rep.error.detail);
    cr_assert_eq(rep.failed_check, CBA_CHECK_RTMR_REPLAY);
    /* The log sent with the quote does: verified, identity from that log, claims from the Info. */
    rc = verify_fresh(&f, info, f.quote_log, true, &rep);
    cr_assert_eq(rc, CBA_OK, "%s at %s: %s", cba_err_name(rc), rep.error.where, rep.error.detail);
    cr_assert_eq(rep.verdict, CBA_VERDICT_VERIFIED);
    cr_assert_eq(memcmp(rep.compose_hash, f.info.compose_hash, 32), 0);
    cr_assert_eq(memcmp(rep.app_id, f.info.app_id, 20), 0);
    cr_assert_eq(memcmp(rep.rtmr[3], f.fresh.rtmr[3], 48), 0);
    /* A log that does not replay to the quote is still refused: the Info's own log given as the
     * quote's, and the quote's log with the new event's payload changed. */
    {
        json_object *doc = json_tokener_parse(info), *tcb = NULL, *tcbdoc, *log = NULL;
        cr_assert(json_object_object_get_ex(doc, "tcb_info", &tcb));
        tcbdoc = json_tokener_parse(json_object_get_string(tcb));
        cr_assert(json_object_object_get_ex(tcbdoc, "event_log", &log));
        info_log = strdup(json_object_to_json_string_ext(log, JSON_C_TO_STRING_PLAIN));
        json_object_put(tcbdoc);
        json_object_put(doc);
        rc = verify_fresh(&f, info, info_log, true, &rep);
        cr_assert_eq(rc, CBA_E_RTMR_MISMATCH, "%s at %s", cba_err_name(rc), rep.error.where);
        cr_assert_str_eq(rep.error.where, "rtmr3");
    }
    {
        char *tampered = strdup(f.quote_log), *p = strstr(tampered, "78797a"); /* hex of "xyz" */
        cr_assert_not_null(p, "the new event's payload is in the quote's log");
        p[5] = 'b';
        rc = verify_fresh(&f, info, tampered, true, &rep);
        cr_assert_neq(rc, CBA_OK);
        cr_assert(rep.failed_check == CBA_CHECK_EVENT_DIGESTS || rep.failed_check == CBA_CHECK_RTMR_REPLAY,
                  "failed at %s", cba_check_name(rep.failed_check));
        free(tampered);
    }
    /* Malformed: not an array; and a quote log without a quote that replaces the Info's. */
    rc = verify_fresh(&f, info, "{\"a\":1}", true, &rep);
    cr_assert_eq(rc, CBA_E_EVENTLOG_FORMAT);
    cr_assert_str_eq(rep.error.where, "quote.event_log");
    rc = verify_fresh(&f, info, f.quote_log, false, &rep);
    cr_assert_eq(rc, CBA_E_ARGUMENT);
    cr_assert_str_eq(rep.error.where, "evidence.quote_event_log");
    free(info_log);
    fresh_case_free(&f);
}

Test(mkevidence, empty_app_cert_with_a_fresh_quote_verifies)
{
    fresh_case f;
    cba_report rep;
    cba_err rc;
    char *info;
    fresh_case_make(&f, false);
    /* dstack answers app_cert "" while it is still fetching its certificate from the KMS. */
    info = info_member_replaced(&f.info.info_json, "app_cert", "");
    rc = verify_fresh(&f, info, f.quote_log, true, &rep);
    cr_assert_eq(rc, CBA_OK, "%s at %s: %s", cba_err_name(rc), rep.error.where, rep.error.detail);
    rc = verify_fresh(&f, info, NULL, true, &rep);
    cr_assert_eq(rc, CBA_OK, "%s at %s: %s", cba_err_name(rc), rep.error.where, rep.error.detail);
    cr_assert_not(rep.ratls_bound, "no certificate: no RA-TLS binding reported");
    /* Without the fresh quote there is no quote at all: a clear QUOTE_MISSING, no crash. */
    {
        cba_policy pol;
        cba_evidence e;
        cba_policy_init(&pol);
        cba_evidence_init(&e);
        pol.trust_root_der = f.info.root_der.data;
        pol.trust_root_der_len = f.info.root_der.len;
        e.info_json = (const uint8_t *)info;
        e.info_json_len = strlen(info);
        cba_report_init(&rep);
        rc = cba_verify(&rep, &pol, &e, NOW);
        cr_assert_eq(rc, CBA_E_QUOTE_MISSING, "%s", cba_err_name(rc));
        cr_assert_eq(rep.failed_check, CBA_CHECK_QUOTE_PARSE);
    }
    free(info);
    fresh_case_free(&f);
}
