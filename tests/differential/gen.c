/* gen.c — writes the differential-testing cases (tests/differential/run): for each case a folder
 * DIR/<name>/ with quote.bin, collateral.json (QuoteCollateralV3), root.der (the Crabbox test
 * root, which both verifiers are told to trust) and at.txt (verification time, Unix seconds).
 *
 * The cases are every mkevidence preset plus one variation per DCAP check (docs/differential.md
 * lists them with the expected outcome of both verifiers). Each case also gets expect.txt, the
 * outcome the case was made to produce in crabbox-attest ("verified <TcbStatus>" or "rejected
 * <failed_check> <CBA_E_...>", under run's lenient --accept); run compares it with ours, so a
 * case rejected at the wrong check, or for the wrong reason, fails. A preset without a row in
 * k_preset_expect is an error: a new preset must state what it is for. TEST ONLY.
 * usage: differential-gen DIR */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mkevidence.h"

typedef struct dcase {
    const char *name;
    void (*apply)(mke_options *o, int64_t *at);
    const char *expect;      /* our intended outcome (expect.txt) */
} dcase;

/* The intended outcome of each mkevidence preset (quote + collateral only, no guest-agent
 * response: the dstack presets verify like valid-v4). The collateral is authenticated right after
 * quote_parse (docs/verifier.md), so a defect in the collateral's copy of a certificate is the
 * `crl` or `tcb_info` check's failure, never a later one. */
static const struct { const char *name, *expect; } k_preset_expect[] = {
    { "valid-v4", "verified UpToDate" },
    { "valid-v5", "verified UpToDate" },
    { "valid-v5-td10", "verified UpToDate" },
    { "processor-ca", "verified UpToDate" },
    { "tappd", "verified UpToDate" },
    { "getquote", "verified UpToDate" },
    { "quote-only", "verified UpToDate" },
    { "mrconfig-v2", "verified UpToDate" },
    { "events-v2", "verified UpToDate" },
    { "debug-td", "rejected td_attributes CBA_E_TD_DEBUG" },
    { "revoked-platform", "rejected tcb_status CBA_E_TCB_REVOKED" },
    { "revoked-pck", "rejected crl CBA_E_CERT_REVOKED" },
    /* OutOfDate is accepted by run's policy, but the level carries advisories (rule R8). */
    { "out-of-date", "rejected tcb_status CBA_E_TCB_STATUS_REJECTED" },
    { "expired-tcb-info", "rejected tcb_info CBA_E_COLLATERAL_EXPIRED" },
    { "bad-quote-signature", "rejected quote_signature CBA_E_QUOTE_SIGNATURE" },
    { "tampered-tcb-info", "rejected tcb_info CBA_E_TCB_INFO_SIGNATURE" },
    { "trailing-garbage", "rejected quote_parse CBA_E_QUOTE_TRAILING_DATA" },
};

static const char *preset_expect(const char *name)
{
    for (size_t i = 0; i < sizeof k_preset_expect / sizeof k_preset_expect[0]; i++) {
        if (strcmp(k_preset_expect[i].name, name) == 0) { return k_preset_expect[i].expect; }
    }
    return NULL;
}

/* One function per variation; each starts from mke_options_init (valid, UpToDate). */
static void v_qe_report_signature(mke_options *o, int64_t *at) { (void)at; o->quote.corrupt_qe_report_signature = true; }
static void v_qe_report_data_lower(mke_options *o, int64_t *at) { (void)at; o->quote.corrupt_qe_report_data_lower = true; }
static void v_qe_report_data_upper(mke_options *o, int64_t *at) { (void)at; o->quote.corrupt_qe_report_data_upper = true; }
static void v_pck_leaf_signature(mke_options *o, int64_t *at) { (void)at; o->pck.cert.bad_signature = true; }
static void v_pck_ca_signature(mke_options *o, int64_t *at) { (void)at; o->pck_ca.bad_signature = true; }
static void v_pck_leaf_expired(mke_options *o, int64_t *at) { o->pck.cert.not_after = *at - 1; }
static void v_pck_leaf_not_yet(mke_options *o, int64_t *at) { o->pck.cert.not_before = *at + 1; }
static void v_tcb_signer_signature(mke_options *o, int64_t *at) { (void)at; o->tcb_signer.bad_signature = true; }
static void v_tcb_info_signature(mke_options *o, int64_t *at) { (void)at; o->tcb_info.bad_signature = true; }
static void v_tcb_info_future(mke_options *o, int64_t *at) { o->tcb_info.issue_date = *at + 60; }
static void v_qe_identity_signature(mke_options *o, int64_t *at) { (void)at; o->qe_identity.bad_signature = true; }
static void v_qe_identity_tampered(mke_options *o, int64_t *at) { (void)at; o->qe_identity.tamper = true; }
static void v_qe_identity_expired(mke_options *o, int64_t *at) { o->qe_identity.next_update = *at - 1; }
static void v_qe_identity_wrong_id(mke_options *o, int64_t *at) { (void)at; o->qe_identity.id = "QE"; }
static void v_tcb_info_wrong_id(mke_options *o, int64_t *at) { (void)at; o->tcb_info.id = "SGX"; }
static void v_fmspc_mismatch(mke_options *o, int64_t *at) { (void)at; o->tcb_info.fmspc[5] ^= 1; }
static void v_pce_id_mismatch(mke_options *o, int64_t *at) { (void)at; o->tcb_info.pce_id[1] ^= 1; }
static void v_root_crl_signature(mke_options *o, int64_t *at) { (void)at; o->root_crl.bad_signature = true; }
static void v_root_crl_revokes_pck_ca(mke_options *o, int64_t *at) { (void)at; o->root_crl_revoke_pck_ca = true; }
static void v_root_crl_revokes_tcb_signer(mke_options *o, int64_t *at) { (void)at; o->root_crl_revoke_tcb_signer = true; }
static void v_pck_crl_signature(mke_options *o, int64_t *at) { (void)at; o->pck_crl.bad_signature = true; }
static void v_pck_crl_expired(mke_options *o, int64_t *at) { o->pck_crl.next_update = *at - 1; }
static void v_root_crl_expired(mke_options *o, int64_t *at) { o->root_crl.next_update = *at - 1; }
static void v_trailing_zeros(mke_options *o, int64_t *at) { (void)at; o->quote.trailing_zeros = 70; }
static void v_attest_key_off_curve(mke_options *o, int64_t *at) { (void)at; o->quote.attest_key_off_curve = true; }
static void v_pem_omit_root(mke_options *o, int64_t *at) { (void)at; o->quote.pem_omit_root = true; }
static void v_tcb_chain_leaf_only(mke_options *o, int64_t *at) { (void)at; o->tcb_chain = MKE_CHAIN_LEAF_ONLY; }
static void v_tcb_chain_pck_leaf(mke_options *o, int64_t *at) { (void)at; o->tcb_chain = MKE_CHAIN_PCK_LEAF; }
static void v_sw_hardening(mke_options *o, int64_t *at) { (void)at; o->tcb_info.levels[0].status = "SWHardeningNeeded"; }

static const dcase k_cases[] = {
    { "qe-report-signature", v_qe_report_signature, "rejected qe_report_signature CBA_E_QE_REPORT_SIGNATURE" },
    { "qe-report-data-lower", v_qe_report_data_lower, "rejected qe_report_data CBA_E_QE_REPORT_DATA" },
    { "qe-report-data-upper", v_qe_report_data_upper, "rejected qe_report_data CBA_E_QE_REPORT_DATA" },
    { "pck-leaf-signature", v_pck_leaf_signature, "rejected pck_chain CBA_E_CERT_SIGNATURE" },
    { "pck-ca-signature", v_pck_ca_signature, "rejected crl CBA_E_CERT_SIGNATURE" },
    { "pck-leaf-expired", v_pck_leaf_expired, "rejected pck_chain CBA_E_CERT_EXPIRED" },
    { "pck-leaf-not-yet-valid", v_pck_leaf_not_yet, "rejected pck_chain CBA_E_CERT_EXPIRED" },
    { "tcb-signer-signature", v_tcb_signer_signature, "rejected tcb_info CBA_E_CERT_SIGNATURE" },
    { "tcb-info-signature", v_tcb_info_signature, "rejected tcb_info CBA_E_TCB_INFO_SIGNATURE" },
    { "tcb-info-issued-in-future", v_tcb_info_future, "rejected tcb_info CBA_E_COLLATERAL_EXPIRED" },
    { "qe-identity-signature", v_qe_identity_signature, "rejected qe_identity CBA_E_QE_IDENTITY_SIGNATURE" },
    { "qe-identity-tampered", v_qe_identity_tampered, "rejected qe_identity CBA_E_QE_IDENTITY_SIGNATURE" },
    { "qe-identity-expired", v_qe_identity_expired, "rejected qe_identity CBA_E_COLLATERAL_EXPIRED" },
    { "qe-identity-wrong-id", v_qe_identity_wrong_id, "rejected qe_identity CBA_E_QE_IDENTITY_FORMAT" },
    { "tcb-info-wrong-id", v_tcb_info_wrong_id, "rejected tcb_info CBA_E_TCB_INFO_FORMAT" },
    { "fmspc-mismatch", v_fmspc_mismatch, "rejected tcb_info CBA_E_TCB_INFO_MISMATCH" },
    { "pce-id-mismatch", v_pce_id_mismatch, "rejected tcb_info CBA_E_TCB_INFO_MISMATCH" },
    { "root-crl-signature", v_root_crl_signature, "rejected crl CBA_E_CRL_INVALID" },
    { "root-crl-revokes-pck-ca", v_root_crl_revokes_pck_ca, "rejected crl CBA_E_CERT_REVOKED" },
    { "root-crl-revokes-tcb-signer", v_root_crl_revokes_tcb_signer, "rejected tcb_info CBA_E_CERT_REVOKED" },
    { "pck-crl-signature", v_pck_crl_signature, "rejected crl CBA_E_CRL_INVALID" },
    { "pck-crl-expired", v_pck_crl_expired, "rejected crl CBA_E_CRL_EXPIRED" },
    { "root-crl-expired", v_root_crl_expired, "rejected crl CBA_E_CRL_EXPIRED" },
    { "trailing-zeros", v_trailing_zeros, "verified UpToDate" },
    { "attest-key-off-curve", v_attest_key_off_curve, "rejected quote_signature CBA_E_QUOTE_SIGNATURE" },
    { "pem-chain-without-root", v_pem_omit_root, "rejected pck_chain CBA_E_CERT_INVALID" },
    { "tcb-chain-leaf-only", v_tcb_chain_leaf_only, "rejected tcb_info CBA_E_CERT_INVALID" },
    { "tcb-chain-pck-leaf", v_tcb_chain_pck_leaf, "rejected tcb_info CBA_E_CERT_INVALID" },
    { "sw-hardening-needed", v_sw_hardening, "verified SWHardeningNeeded" },
};

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "differential-gen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (len > 0 && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int emit(const char *out, const char *name, const mke_options *o, int64_t at,
                const char *expect)
{
    char dir[4096], at_text[32];
    mke_evidence ev;
    int rc = 0;
    snprintf(dir, sizeof dir, "%s/%s", out, name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "differential-gen: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (!mke_generate(&ev, o)) {
        fprintf(stderr, "differential-gen: %s: %s\n", name, ev.error);
        return -1;
    }
    snprintf(at_text, sizeof at_text, "%" PRId64 "\n", at);
    if (write_file(dir, "quote.bin", ev.quote.data, ev.quote.len) != 0 ||
        write_file(dir, "collateral.json", ev.collateral_json.data, ev.collateral_json.len) != 0 ||
        write_file(dir, "root.der", ev.root_der.data, ev.root_der.len) != 0 ||
        write_file(dir, "at.txt", at_text, strlen(at_text)) != 0 ||
        write_file(dir, "expect.txt", expect, strlen(expect)) != 0) {
        rc = -1;
    }
    mke_evidence_free(&ev);
    return rc;
}

int main(int argc, char **argv)
{
    mke_options o;
    size_t n = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: differential-gen DIR\n");
        return 2;
    }
    for (size_t i = 0; mke_preset_name(i) != NULL; i++, n++) {
        const char *expect = preset_expect(mke_preset_name(i));
        if (expect == NULL) {
            fprintf(stderr, "differential-gen: preset %s has no intended outcome in k_preset_expect\n",
                    mke_preset_name(i));
            return 1;
        }
        if (!mke_preset(&o, mke_preset_name(i)) ||
            emit(argv[1], mke_preset_name(i), &o, MKE_DEFAULT_NOW, expect) != 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++, n++) {
        int64_t at = MKE_DEFAULT_NOW;
        mke_options_init(&o);
        k_cases[i].apply(&o, &at);
        if (emit(argv[1], k_cases[i].name, &o, at, k_cases[i].expect) != 0) {
            return 1;
        }
    }
    printf("%zu cases\n", n);
    return 0;
}
