/* mkevidence.c — options defaults, the generation pipeline and the named presets. See
 * mkevidence.h. Defaults mirror the real dcap-qvl TDX sample and the Phala/crabbox capture
 * (dcap-spec §1.5, §3.2, §3.3, §6.5) with every key, name and date replaced by test values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mke_internal.h"

#define DAY INT64_C(86400)
#define T_2020_01_01 INT64_C(1577836800)
#define T_2023_08_09 INT64_C(1691539200)
#define T_2024_03_13 INT64_C(1710288000)
#define T_2025_01_01 INT64_C(1735689600)
#define T_2025_06_11 INT64_C(1749600000)
#define T_2025_12_01 INT64_C(1764547200)
#define T_2026_12_01 INT64_C(1796083200)
#define T_2032_01_01 INT64_C(1956528000)
#define T_2035_01_01 INT64_C(2051222400)
#define T_2049_12_31_END INT64_C(2524607999)

static const uint8_t k_intel_qe_vendor[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };
static const uint8_t k_td_qe_mrsigner[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};

/* The app-compose.json the default CVM runs: deterministic JSON (keys sorted, compact), the
 * way dstack's SDK and the phala CLI write it. */
static const char k_app_compose[] =
    "{\"allowed_envs\":[],\"docker_compose_file\":\"services:\\n  app:\\n    image: "
    "debian:stable-slim\\n    command: [\\\"sleep\\\",\\\"infinity\\\"]\\n\",\"features\":[\"kms\","
    "\"tproxy-net\"],\"gateway_enabled\":true,\"kms_enabled\":true,\"local_key_provider_enabled\":"
    "false,\"manifest_version\":2,\"name\":\"crabbox-test\",\"no_instance_id\":false,"
    "\"public_logs\":false,\"public_sysinfo\":false,\"public_tcbinfo\":true,\"runner\":"
    "\"docker-compose\",\"secure_time\":false}";

static const char k_key_provider[] =
    "{\"name\":\"kms\",\"id\":\"887b455dc8d0d0f92d5c6ab975279b207e372c42ed7d723b434bac1f98cbd36e\"}";

bool mke_fail(mke_ctx *x, const char *fmt, ...)
{
    va_list ap;
    if (x->err[0] != '\0') { return false; } /* the first failure wins */
    va_start(ap, fmt);
    (void)vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
    return false;
}

static mke_cert_opts cert_defaults(int64_t nb, int64_t na, bool ca, int path_len, uint16_t ku)
{
    mke_cert_opts c;
    memset(&c, 0, sizeof c);
    c.not_before = nb;
    c.not_after = na;
    c.is_ca = ca;
    c.path_len = path_len;
    c.key_usage = ku;
    return c;
}

static void tcb_level(mke_tcb_level *l, const int sgx[8], int pcesvn, const int tdx[3],
                      int64_t date, const char *status, const char *advisories)
{
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < 8; i++) { l->sgx_svn[i] = sgx[i]; }
    for (size_t i = 0; i < 3; i++) { l->tdx_svn[i] = tdx[i]; }
    l->pcesvn = pcesvn;
    l->tcb_date = date;
    l->status = status;
    l->advisories = advisories;
}

void mke_options_init(mke_options *o)
{
    const int64_t now = MKE_DEFAULT_NOW;
    static const int sgx[8] = { 2, 2, 2, 2, 3, 1, 0, 5 };
    static const int tdx_new[3] = { 5, 0, 2 }, tdx_old[3] = { 3, 0, 2 };
    static const int comps[8] = { 3, 3, 2, 2, 4, 1, 0, 5 };
    mke_tcb_info_opts *t = &o->tcb_info;
    mke_qe_identity_opts *q = &o->qe_identity;
    mke_quote_opts *qu = &o->quote;
    mke_info_opts *in = &o->info;

    memset(o, 0, sizeof *o);
    /* §2.1 profile: root pathlen 1, CAs pathlen 0, end entities digitalSignature|nonRepudiation. */
    o->root = cert_defaults(T_2020_01_01, T_2049_12_31_END, true, 1,
                            MKE_KU_KEY_CERT_SIGN | MKE_KU_CRL_SIGN);
    o->pck_ca = cert_defaults(T_2020_01_01, T_2035_01_01, true, 0,
                              MKE_KU_KEY_CERT_SIGN | MKE_KU_CRL_SIGN);
    o->pck.cert = cert_defaults(T_2025_01_01, T_2032_01_01, false, -1,
                                MKE_KU_DIGITAL_SIGNATURE | MKE_KU_NON_REPUDIATION);
    o->tcb_signer = cert_defaults(T_2025_01_01, T_2032_01_01, false, -1,
                                  MKE_KU_DIGITAL_SIGNATURE | MKE_KU_NON_REPUDIATION);
    o->qe_signer = o->tcb_signer;

    /* PCK leaf: the SVNs of the dcap-qvl sample's platform (comps 3,3,2,2,4,1,0,5; PCESVN 13). */
    o->pck.ca = MKE_CA_PLATFORM;
    mke_seed(o->pck.ppid, sizeof o->pck.ppid, "ppid");
    for (size_t i = 0; i < 8; i++) { o->pck.comp_svn[i] = comps[i]; }
    o->pck.pcesvn = 13;
    o->pck.fmspc[0] = 0xb0;
    o->pck.fmspc[1] = 0xc0;
    o->pck.fmspc[2] = 0x6f;
    o->pck.sgx_type = 1;
    o->pck.platform_members = MKE_AUTO;

    o->root_crl.this_update = T_2025_12_01;
    o->root_crl.next_update = T_2026_12_01;
    o->pck_crl.this_update = now - 10 * DAY;
    o->pck_crl.next_update = now + 20 * DAY;
    o->pck_crl.num_filler = 3;

    /* TCB info: two platform levels, modules TDX_03 and TDX_01 (§3.2 example shape). */
    t->id = "TDX";
    t->version = 3;
    t->issue_date = now - 5 * DAY;
    t->next_update = now + 25 * DAY;
    memcpy(t->fmspc, o->pck.fmspc, 6);
    t->tcb_type = 0;
    t->tcb_evaluation_data_number = 17;
    memset(t->module_attributes_mask, 0xff, 8);
    t->num_modules = 2;
    t->modules[0].id = "TDX_03";
    memset(t->modules[0].attributes_mask, 0xff, 8);
    t->modules[0].num_levels = 1;
    t->modules[0].levels[0] = (mke_module_level){ 3, T_2024_03_13, "UpToDate", NULL };
    t->modules[1].id = "TDX_01";
    memset(t->modules[1].attributes_mask, 0xff, 8);
    t->modules[1].num_levels = 2;
    t->modules[1].levels[0] = (mke_module_level){ 4, T_2024_03_13, "UpToDate", NULL };
    t->modules[1].levels[1] = (mke_module_level){ 2, T_2023_08_09, "OutOfDate", "INTEL-SA-01036" };
    t->num_levels = 2;
    tcb_level(&t->levels[0], sgx, 11, tdx_new, T_2025_06_11, "UpToDate", NULL);
    tcb_level(&t->levels[1], sgx, 5, tdx_old, T_2023_08_09, "OutOfDate", "INTEL-SA-00837");

    /* TD_QE identity (§3.3, the published values). */
    q->id = "TD_QE";
    q->version = 2;
    q->issue_date = now - 4 * DAY;
    q->next_update = now + 26 * DAY;
    q->tcb_evaluation_data_number = 17;
    q->miscselect_mask = 0xffffffffu;
    q->attributes[0] = 0x11;
    memset(q->attributes_mask, 0xff, 8);
    q->attributes_mask[0] = 0xfb;
    memcpy(q->mrsigner, k_td_qe_mrsigner, 32);
    q->isvprodid = 2;
    q->num_levels = 2;
    q->levels[0] = (mke_qe_level){ 4, T_2024_03_13, "UpToDate", NULL };
    q->levels[1] = (mke_qe_level){ 2, T_2023_08_09, "OutOfDate", "INTEL-SA-00837" };

    /* Quote v4, TD 1.0, as the dstack/Phala producer writes it. */
    qu->version = 4;
    qu->body_type = 2;
    qu->body_size = MKE_AUTO;
    qu->att_key_type = 2;
    qu->tee_type = 0x81;
    memcpy(qu->qe_vendor_id, k_intel_qe_vendor, 16);
    mke_seed(qu->user_data, 16, "qe-id");
    qu->tee_tcb_svn[0] = 6; /* module minor SVN */
    qu->tee_tcb_svn[1] = 1; /* module major version: identity TDX_01 */
    qu->tee_tcb_svn[2] = 3; /* late microcode SVN */
    mke_seed(qu->mrseam, 48, "mrseam");
    qu->td_attributes = UINT64_C(0x10000000); /* SEPT_VE_DISABLE only */
    qu->xfam = UINT64_C(0x00000000000618e7);
    mke_seed(qu->mrtd, 48, "mrtd");
    static const uint8_t raw_cpusvn[8] = { 0x03, 0x03, 0x19, 0x1b, 0x04, 0xff, 0x00, 0x03 };
    memcpy(qu->qe.cpusvn, raw_cpusvn, sizeof raw_cpusvn);
    qu->qe.attributes[0] = 0x15;
    qu->qe.attributes[8] = 0xe7;
    mke_seed(qu->qe.mrenclave, 32, "qe-mrenclave");
    memcpy(qu->qe.mrsigner, k_td_qe_mrsigner, 32);
    qu->qe.isvprodid = 2;
    qu->qe.isvsvn = 4;
    qu->qe_auth_data_len = 32;
    qu->outer_cert_type = 6;
    qu->inner_cert_type = 5;
    qu->sig_data_len = MKE_AUTO;
    qu->outer_cert_size = MKE_AUTO;
    qu->inner_cert_size = MKE_AUTO;
    qu->pem_trailing_nul = true;
    qu->trailing_zeros = 70;

    /* dstack Info, KMS mode (like the crabbox capture). */
    in->format = MKE_INFO_DSTACK;
    mke_seed(in->app_id, 20, "app-id");
    in->app_compose = k_app_compose;
    mke_seed(in->instance_id, 20, "instance-id");
    in->key_provider = k_key_provider;
    in->kms_events = true;
    mke_seed(in->mr_kms, 32, "mr-kms");
    mke_seed(in->os_image_hash, 32, "os-image-hash");
    in->mrconfig = MKE_MRCONFIG_V1;
    in->event_version = 1;
}

void mke_options_init_at(mke_options *o, int64_t now)
{
    const int64_t day = INT64_C(86400);
    mke_options_init(o);
    o->root_crl.this_update = now - 10 * day;
    o->root_crl.next_update = now + 300 * day;
    o->pck_crl.this_update = now - 10 * day;
    o->pck_crl.next_update = now + 20 * day;
    o->tcb_info.issue_date = now - 5 * day;
    o->tcb_info.next_update = now + 25 * day;
    o->qe_identity.issue_date = now - 4 * day;
    o->qe_identity.next_update = now + 26 * day;
}

/* ---- Generation ------------------------------------------------------------------------------ */

static void blob_free(mke_blob *b)
{
    if (b->data != NULL) {
        memset(b->data, 0, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
}

void mke_evidence_free(mke_evidence *ev)
{
    if (ev == NULL) { return; }
    mke_blob *all[] = { &ev->quote, &ev->collateral_json, &ev->root_der, &ev->info_json,
                        &ev->pck_leaf_der, &ev->pck_ca_der, &ev->other_ca_der,
                        &ev->tcb_signer_der, &ev->root_crl_der, &ev->pck_crl_der, &ev->tcb_info,
                        &ev->qe_identity, &ev->pck_chain_pem, &ev->app_cert_der,
                        &ev->qe_signer_der };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) { blob_free(all[i]); }
}

static bool check_limits(mke_ctx *x, const mke_options *o)
{
    if (o->tcb_info.num_levels > MKE_MAX_TCB_LEVELS || o->tcb_info.num_modules > MKE_MAX_MODULES ||
        o->qe_identity.num_levels > MKE_MAX_QE_LEVELS) {
        return mke_fail(x, "more TCB levels, modules or QE levels than the MKE_MAX_* limits");
    }
    for (size_t i = 0; i < o->tcb_info.num_modules; i++) {
        if (o->tcb_info.modules[i].num_levels > MKE_MAX_MODULE_LEVELS ||
            o->tcb_info.modules[i].id == NULL) {
            return mke_fail(x, "module identity %zu: no id or too many levels", i);
        }
    }
    for (size_t i = 0; i < o->tcb_info.num_levels; i++) {
        const mke_tcb_level *l = &o->tcb_info.levels[i];
        if (l->num_sgx < 0 || l->num_sgx > 17 || l->num_tdx < 0 || l->num_tdx > 17) {
            return mke_fail(x, "TCB level %zu: component count outside 0..17", i);
        }
    }
    if (o->tcb_info.id == NULL || o->qe_identity.id == NULL) {
        return mke_fail(x, "tcb_info.id and qe_identity.id must be set");
    }
    if (o->info.event_version != 1 && o->info.event_version != 2) {
        return mke_fail(x, "info.event_version must be 1 or 2");
    }
    if (o->quote.qe_auth_data_len > 0xffff) { return mke_fail(x, "qe_auth_data_len > 65535"); }
    return true;
}

bool mke_generate(mke_evidence *out, const mke_options *o)
{
    mke_ctx x;
    mke_dstack d;
    bool ok;

    memset(out, 0, sizeof *out);
    memset(&x, 0, sizeof x);
    memset(&d, 0, sizeof d);
    x.o = o;
    x.ev = out;
    ok = check_limits(&x, o) && mke_build_pki(&x) && mke_build_collateral_texts(&x) &&
         mke_build_dstack(&x, &d) && mke_build_quote(&x, &d) && mke_build_info(&x, &d) &&
         mke_build_collateral_json(&x);
    if (ok) {
        memcpy(out->compose_hash, d.compose_hash, 32);
        memcpy(out->app_id, o->info.app_id, 20);
        for (size_t i = 0; i < 4; i++) {
            memcpy(out->rtmr[i], o->quote.has_rtmr[i] ? o->quote.rtmr[i] : d.rtmr[i], 48);
        }
        memcpy(out->mrconfigid, d.mrconfigid, 48);
        memcpy(out->report_data, d.report_data, 64);
        out->num_events = d.num_events;
    } else {
        mke_evidence_free(out);
        memset(out, 0, sizeof *out);
        snprintf(out->error, sizeof out->error, "%s", x.err[0] ? x.err : "generation failed");
    }
    mke_dstack_cleanup(&d);
    mke_key_free(x.root);
    mke_key_free(x.platform_ca);
    mke_key_free(x.processor_ca);
    mke_key_free(x.leaf);
    mke_key_free(x.tcb_signer);
    mke_key_free(x.qe_signer);
    mke_key_free(x.attest);
    mke_key_free(x.app_ca);
    mke_key_free(x.app_cert);
    return ok;
}

/* ---- Presets --------------------------------------------------------------------------------- */

typedef struct preset {
    const char *name, *about;
    void (*apply)(mke_options *o);
} preset;

static void p_none(mke_options *o) { (void)o; }
static void p_v5(mke_options *o)
{
    o->quote.version = 5;
    o->quote.body_type = 3;
}
static void p_v5_td10(mke_options *o)
{
    o->quote.version = 5;
    o->quote.body_type = 2;
}
static void p_processor(mke_options *o) { o->pck.ca = MKE_CA_PROCESSOR; }
static void p_tappd(mke_options *o) { o->info.format = MKE_INFO_TAPPD; }
static void p_getquote(mke_options *o) { o->info.format = MKE_INFO_GETQUOTE; }
static void p_quote_only(mke_options *o) { o->info.format = MKE_INFO_NONE; }
static void p_debug(mke_options *o) { o->quote.td_attributes |= 1; }
static void p_revoked_platform(mke_options *o) { o->tcb_info.levels[0].status = "Revoked"; }
static void p_revoked_pck(mke_options *o) { o->pck_crl_revoke_leaf = true; }
static void p_out_of_date(mke_options *o) { o->pck.pcesvn = 10; }
static void p_expired(mke_options *o) { o->tcb_info.next_update = MKE_DEFAULT_NOW - DAY; }
static void p_bad_sig(mke_options *o) { o->quote.corrupt_quote_signature = true; }
static void p_tampered(mke_options *o) { o->tcb_info.tamper = true; }
static void p_garbage(mke_options *o) { o->quote.trailing_garbage = "GARBAGE"; }
static void p_mrconfig_v2(mke_options *o) { o->info.mrconfig = MKE_MRCONFIG_V2; }
static void p_v2_events(mke_options *o) { o->info.event_version = 2; }

static const preset k_presets[] = {
    { "valid-v4", "quote v4 TD 1.0 + dstack Info: verified, UpToDate", p_none },
    { "valid-v5", "quote v5 TD 1.5 (body type 3): verified, UpToDate", p_v5 },
    { "valid-v5-td10", "quote v5 with a TD 1.0 body (type 2): verified", p_v5_td10 },
    { "processor-ca", "PCK leaf under the PCK Processor CA: verified", p_processor },
    { "tappd", "legacy Tappd.Info response: verified", p_tappd },
    { "getquote", "GetQuote response (quote + event_log): verified", p_getquote },
    { "quote-only", "no guest-agent response (no info.json): verified", p_quote_only },
    { "mrconfig-v2", "MRCONFIGID V2 (Keccak-256 binding): verified", p_mrconfig_v2 },
    { "events-v2", "V2 runtime events with JCS preimages: verified", p_v2_events },
    { "debug-td", "TD DEBUG attribute set: rejected (td_attributes)", p_debug },
    { "revoked-platform", "platform TCB level Revoked: rejected (tcb_status)", p_revoked_platform },
    { "revoked-pck", "PCK leaf listed in the PCK CRL: rejected (crl)", p_revoked_pck },
    { "out-of-date", "PCESVN 10 matches the OutOfDate level: rejected (tcb_status)", p_out_of_date },
    { "expired-tcb-info", "TCB info nextUpdate before now: rejected (tcb_info)", p_expired },
    { "bad-quote-signature", "quote signature over other bytes: rejected", p_bad_sig },
    { "tampered-tcb-info", "TCB info changed after signing: rejected (tcb_info)", p_tampered },
    { "trailing-garbage", "\"GARBAGE\" after the quote: rejected (quote_parse)", p_garbage },
};

bool mke_preset(mke_options *o, const char *name)
{
    for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++) {
        if (strcmp(k_presets[i].name, name) == 0) {
            mke_options_init(o);
            k_presets[i].apply(o);
            return true;
        }
    }
    return false;
}

const char *mke_preset_name(size_t i)
{
    return i < sizeof k_presets / sizeof k_presets[0] ? k_presets[i].name : NULL;
}

const char *mke_preset_about(size_t i)
{
    return i < sizeof k_presets / sizeof k_presets[0] ? k_presets[i].about : NULL;
}
