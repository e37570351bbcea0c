/* mke_collateral.c — TDX TCB info v3 (dcap-spec §3.2) and TD_QE identity v2 (§3.3) as compact
 * JSON texts signed by the TCB Signing key (§3.4), and the dcap-qvl QuoteCollateralV3 JSON
 * (§3.1) that carries them with the CRLs (hex DER) and the PEM issuer chains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mke_internal.h"

/* Component labels as Intel publishes them (only the first few carry them). */
static const char *const k_sgx_labels[16][2] = {
    { "BIOS", "Early Microcode Update" }, { "OS/VMM", "SGX Late Microcode Update" },
    { "OS/VMM", "TXT SINIT" }, { "BIOS", NULL }, { "BIOS", NULL }, { "BIOS", NULL },
    { NULL, NULL }, { "OS/VMM", "SEAMLDR ACM" },
};
static const char *const k_tdx_labels[16][2] = {
    { "OS/VMM", "TDX Module" }, { "OS/VMM", "TDX Module" },
    { "OS/VMM", "TDX Late Microcode Update" },
};

static void json_date(mke_buf *b, const char *key, int64_t t)
{
    char d[21];
    mke_format_time(d, t);
    mke_buf_printf(b, "\"%s\":\"%s\"", key, d);
}

static void json_hex(mke_buf *b, const char *key, const uint8_t *p, size_t n, bool upper)
{
    mke_buf_printf(b, "\"%s\":\"", key);
    mke_buf_hex(b, p, n, upper);
    mke_buf_u8(b, '"');
}

/* json_advisories writes ,"advisoryIDs":[...] from "A,B" ("" = [], NULL = nothing). */
static void json_advisories(mke_buf *b, const char *list)
{
    const char *p = list;
    bool first = true;
    if (list == NULL) { return; }
    mke_buf_str(b, ",\"advisoryIDs\":[");
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (!first) { mke_buf_u8(b, ','); }
        mke_buf_json_str(b, (const uint8_t *)p, n);
        first = false;
        p += n;
        if (*p == ',') { p++; }
    }
    mke_buf_u8(b, ']');
}

static void json_status(mke_buf *b, const char *status)
{
    mke_buf_str(b, ",\"tcbStatus\":");
    status = status != NULL ? status : "UpToDate";
    mke_buf_json_str(b, (const uint8_t *)status, strlen(status));
}

static void json_components(mke_buf *b, const char *key, const int *svn, int num,
                            const char *const labels[16][2])
{
    int n = num == 0 ? 16 : num;
    mke_buf_printf(b, "\"%s\":[", key);
    for (int i = 0; i < n && i < 17; i++) {
        mke_buf_printf(b, "%s{\"svn\":%d", i ? "," : "", svn[i]);
        if (i < 16 && labels[i][0] != NULL) { mke_buf_printf(b, ",\"category\":\"%s\"", labels[i][0]); }
        if (i < 16 && labels[i][1] != NULL) { mke_buf_printf(b, ",\"type\":\"%s\"", labels[i][1]); }
        mke_buf_u8(b, '}');
    }
    mke_buf_u8(b, ']');
}

static void tcb_info_text(mke_buf *b, const mke_tcb_info_opts *t)
{
    bool up = !t->fmspc_lowercase;
    mke_buf_str(b, "{\"id\":");
    mke_buf_json_str(b, (const uint8_t *)t->id, strlen(t->id));
    mke_buf_printf(b, ",\"version\":%d,", t->version);
    json_date(b, "issueDate", t->issue_date);
    mke_buf_u8(b, ',');
    json_date(b, "nextUpdate", t->next_update);
    mke_buf_u8(b, ',');
    json_hex(b, "fmspc", t->fmspc, 6, up);
    mke_buf_u8(b, ',');
    json_hex(b, "pceId", t->pce_id, 2, up);
    mke_buf_printf(b, ",\"tcbType\":%d,\"tcbEvaluationDataNumber\":%lld", t->tcb_type,
                   (long long)t->tcb_evaluation_data_number);
    if (!t->omit_tdx_module) {
        mke_buf_str(b, ",\"tdxModule\":{");
        json_hex(b, "mrsigner", t->module_mrsigner, 48, true);
        mke_buf_u8(b, ',');
        json_hex(b, "attributes", t->module_attributes, 8, true);
        mke_buf_u8(b, ',');
        json_hex(b, "attributesMask", t->module_attributes_mask, 8, true);
        mke_buf_u8(b, '}');
    }
    if (!t->omit_module_identities) {
        mke_buf_str(b, ",\"tdxModuleIdentities\":[");
        for (size_t i = 0; i < t->num_modules && i < MKE_MAX_MODULES; i++) {
            const mke_module_identity *m = &t->modules[i];
            mke_buf_str(b, i ? ",{\"id\":" : "{\"id\":");
            mke_buf_json_str(b, (const uint8_t *)m->id, strlen(m->id));
            mke_buf_u8(b, ',');
            json_hex(b, "mrsigner", m->mrsigner, 48, true);
            mke_buf_u8(b, ',');
            json_hex(b, "attributes", m->attributes, 8, true);
            mke_buf_u8(b, ',');
            json_hex(b, "attributesMask", m->attributes_mask, 8, true);
            mke_buf_str(b, ",\"tcbLevels\":[");
            for (size_t j = 0; j < m->num_levels && j < MKE_MAX_MODULE_LEVELS; j++) {
                const mke_module_level *l = &m->levels[j];
                mke_buf_printf(b, "%s{\"tcb\":{\"isvsvn\":%d},", j ? "," : "", l->isvsvn);
                json_date(b, "tcbDate", l->tcb_date);
                json_status(b, l->status);
                json_advisories(b, l->advisories);
                mke_buf_u8(b, '}');
            }
            mke_buf_str(b, "]}");
        }
        mke_buf_u8(b, ']');
    }
    mke_buf_str(b, ",\"tcbLevels\":[");
    for (size_t i = 0; i < t->num_levels && i < MKE_MAX_TCB_LEVELS; i++) {
        const mke_tcb_level *l = &t->levels[i];
        mke_buf_str(b, i ? ",{\"tcb\":{" : "{\"tcb\":{");
        json_components(b, "sgxtcbcomponents", l->sgx_svn, l->num_sgx, k_sgx_labels);
        mke_buf_printf(b, ",\"pcesvn\":%d,", l->pcesvn);
        json_components(b, "tdxtcbcomponents", l->tdx_svn, l->num_tdx, k_tdx_labels);
        mke_buf_str(b, "},");
        json_date(b, "tcbDate", l->tcb_date);
        json_status(b, l->status);
        json_advisories(b, l->advisories);
        mke_buf_u8(b, '}');
    }
    mke_buf_u8(b, ']');
    if (t->extra != NULL) { mke_buf_str(b, t->extra); }
    mke_buf_u8(b, '}');
}

static void qe_identity_text(mke_buf *b, const mke_qe_identity_opts *q)
{
    uint8_t ms[4], msm[4];
    for (size_t i = 0; i < 4; i++) {
        ms[i] = (uint8_t)(q->miscselect >> (8 * i)); /* the report's LE byte order */
        msm[i] = (uint8_t)(q->miscselect_mask >> (8 * i));
    }
    mke_buf_str(b, "{\"id\":");
    mke_buf_json_str(b, (const uint8_t *)q->id, strlen(q->id));
    mke_buf_printf(b, ",\"version\":%d,", q->version);
    json_date(b, "issueDate", q->issue_date);
    mke_buf_u8(b, ',');
    json_date(b, "nextUpdate", q->next_update);
    mke_buf_printf(b, ",\"tcbEvaluationDataNumber\":%lld,", (long long)q->tcb_evaluation_data_number);
    json_hex(b, "miscselect", ms, 4, true);
    mke_buf_u8(b, ',');
    json_hex(b, "miscselectMask", msm, 4, true);
    mke_buf_u8(b, ',');
    json_hex(b, "attributes", q->attributes, 16, true);
    mke_buf_u8(b, ',');
    json_hex(b, "attributesMask", q->attributes_mask, 16, true);
    mke_buf_u8(b, ',');
    json_hex(b, "mrsigner", q->mrsigner, 32, true);
    mke_buf_printf(b, ",\"isvprodid\":%d,\"tcbLevels\":[", q->isvprodid);
    for (size_t i = 0; i < q->num_levels && i < MKE_MAX_QE_LEVELS; i++) {
        const mke_qe_level *l = &q->levels[i];
        mke_buf_printf(b, "%s{\"tcb\":{\"isvsvn\":%d},", i ? "," : "", l->isvsvn);
        json_date(b, "tcbDate", l->tcb_date);
        json_status(b, l->status);
        json_advisories(b, l->advisories);
        mke_buf_u8(b, '}');
    }
    mke_buf_u8(b, ']');
    if (q->extra != NULL) { mke_buf_str(b, q->extra); }
    mke_buf_u8(b, '}');
}

/* tamper changes one byte after signing while keeping the JSON valid: the ones digit of the
 * issueDate seconds when there is one, else the last byte's low bit. */
static void tamper(mke_blob *t)
{
    const char *key = "\"issueDate\":\"";
    char *p = t->len != 0 ? strstr((char *)t->data, key) : NULL;
    if (p != NULL && (size_t)(p - (char *)t->data) + strlen(key) + 19 <= t->len) {
        char *digit = p + strlen(key) + 18; /* YYYY-MM-DDThh:mm:sS */
        *digit = *digit == '0' ? '1' : '0';
        return;
    }
    if (t->len != 0) { t->data[t->len - 1] ^= 0x01; }
}

static mke_key *text_signer(mke_ctx *x, mke_chain_shape shape, bool qe)
{
    if (shape == MKE_CHAIN_PCK_LEAF || shape == MKE_CHAIN_PCK_LEAF_ROOT) { return x->leaf; }
    return qe && x->qe_signer != NULL ? x->qe_signer : x->tcb_signer;
}

static bool sign_text(mke_ctx *x, mke_blob *out, mke_buf *text, const char *override, bool bad,
                      bool do_tamper, mke_key *signer, uint8_t sig[64], const char *what)
{
    if (override != NULL) {
        text->len = 0;
        mke_buf_str(text, override);
    }
    if (!mke_buf_take(text, out)) { return mke_fail(x, "%s: out of memory", what); }
    if (!mke_key_sign_msg(signer, out->data, out->len, bad, sig, NULL, NULL)) {
        return mke_fail(x, "%s: signing failed", what);
    }
    if (do_tamper) { tamper(out); }
    return true;
}

bool mke_build_collateral_texts(mke_ctx *x)
{
    const mke_options *o = x->o;
    mke_buf t = { 0 }, q = { 0 };
    tcb_info_text(&t, &o->tcb_info);
    qe_identity_text(&q, &o->qe_identity);
    if (!sign_text(x, &x->ev->tcb_info, &t, o->tcb_info.text, o->tcb_info.bad_signature,
                   o->tcb_info.tamper, text_signer(x, o->tcb_chain, false), x->tcb_info_sig, "tcb_info")) {
        mke_buf_free(&t);
        mke_buf_free(&q);
        return false;
    }
    if (!sign_text(x, &x->ev->qe_identity, &q, o->qe_identity.text, o->qe_identity.bad_signature,
                   o->qe_identity.tamper, text_signer(x, o->qe_chain, true), x->qe_identity_sig,
                   "qe_identity")) {
        mke_buf_free(&q);
        return false;
    }
    return true;
}

/* ---- QuoteCollateralV3 JSON ------------------------------------------------------------------ */

static void pem_of(mke_buf *b, const mke_blob *der)
{
    mke_buf_pem(b, der->data, der->len);
}

static void signing_chain(mke_buf *b, const mke_evidence *ev, mke_chain_shape shape, bool qe)
{
    const mke_blob *signer = qe && ev->qe_signer_der.data != NULL ? &ev->qe_signer_der
                                                                  : &ev->tcb_signer_der;
    switch (shape) {
    case MKE_CHAIN_LEAF_ONLY: pem_of(b, signer); break;
    case MKE_CHAIN_PCK_LEAF:
        pem_of(b, &ev->pck_leaf_der);
        pem_of(b, &ev->pck_ca_der);
        pem_of(b, &ev->root_der);
        break;
    case MKE_CHAIN_PCK_LEAF_ROOT:
        pem_of(b, &ev->pck_leaf_der);
        pem_of(b, &ev->root_der);
        break;
    case MKE_CHAIN_EXTRA_ROOT:
        pem_of(b, signer);
        pem_of(b, &ev->root_der);
        pem_of(b, &ev->root_der);
        break;
    case MKE_CHAIN_NORMAL:
    default:
        pem_of(b, signer);
        pem_of(b, &ev->root_der);
        break;
    }
}

/* member writes `  "key": <string>` with the JSON escaping of the value's exact bytes. */
static void member(mke_buf *j, const char *key, const uint8_t *v, size_t n, bool last)
{
    mke_buf_printf(j, "  \"%s\": ", key);
    mke_buf_json_str(j, v, n);
    mke_buf_str(j, last ? "\n" : ",\n");
}

static void member_hex(mke_buf *j, const char *key, const uint8_t *v, size_t n, bool last)
{
    mke_buf_printf(j, "  \"%s\": \"", key);
    mke_buf_hex(j, v, n, false);
    mke_buf_str(j, last ? "\"\n" : "\",\n");
}

bool mke_build_collateral_json(mke_ctx *x)
{
    const mke_options *o = x->o;
    mke_evidence *ev = x->ev;
    mke_buf j = { 0 }, chain = { 0 };
    bool tail = o->include_pck_certificate_chain || o->collateral_extra != NULL;

    /* Pretty-printed like dcap-qvl's sample: one member per line, two-space indent. */
    mke_buf_str(&j, "{\n");
    pem_of(&chain, o->pck_crl_other_ca ? &ev->other_ca_der : &ev->pck_ca_der);
    pem_of(&chain, &ev->root_der);
    member(&j, "pck_crl_issuer_chain", chain.data, chain.len, false);
    member_hex(&j, "root_ca_crl", ev->root_crl_der.data, ev->root_crl_der.len, false);
    member_hex(&j, "pck_crl", ev->pck_crl_der.data, ev->pck_crl_der.len, false);
    chain.len = 0;
    signing_chain(&chain, ev, o->tcb_chain, false);
    member(&j, "tcb_info_issuer_chain", chain.data, chain.len, false);
    member(&j, "tcb_info", ev->tcb_info.data, ev->tcb_info.len, false);
    member_hex(&j, "tcb_info_signature", x->tcb_info_sig, 64, false);
    chain.len = 0;
    signing_chain(&chain, ev, o->qe_chain, true);
    member(&j, "qe_identity_issuer_chain", chain.data, chain.len, false);
    member(&j, "qe_identity", ev->qe_identity.data, ev->qe_identity.len, false);
    member_hex(&j, "qe_identity_signature", x->qe_identity_sig, 64, !tail);
    if (o->include_pck_certificate_chain) {
        member(&j, "pck_certificate_chain", ev->pck_chain_pem.data, ev->pck_chain_pem.len,
               o->collateral_extra == NULL);
    }
    if (o->collateral_extra != NULL) {
        mke_buf_str(&j, "  ");
        mke_buf_str(&j, o->collateral_extra);
        mke_buf_str(&j, "\n");
    }
    mke_buf_str(&j, "}\n");
    if (chain.failed) { j.failed = true; }
    mke_buf_free(&chain);
    if (!mke_buf_take(&j, &ev->collateral_json)) { return mke_fail(x, "collateral: out of memory"); }
    return true;
}
