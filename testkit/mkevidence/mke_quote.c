/* mke_quote.c — the TDX quote v4/v5 exactly as dcap-spec §1 lays it out: header (§1.1), v5 body
 * descriptor (§1.2), TD report body 1.0/1.5 (§1.3), signature data with the QE report
 * certification data (§1.4, §1.5) and the PEM PCK chain (§2.4), then optional trailing bytes. */
#include <stdlib.h>
#include <string.h>

#include "mke_internal.h"

#define TD10_BODY 584u
#define TD15_BODY 648u
#define QE_REPORT_LEN 384u

static void td_body(mke_buf *b, const mke_quote_opts *q, const mke_dstack *d, bool td15)
{
    mke_buf_put(b, q->tee_tcb_svn, 16);
    mke_buf_put(b, q->mrseam, 48);
    mke_buf_put(b, q->mrsignerseam, 48);
    mke_buf_u64le(b, q->seam_attributes);
    mke_buf_u64le(b, q->td_attributes);
    mke_buf_u64le(b, q->xfam);
    mke_buf_put(b, q->mrtd, 48);
    mke_buf_put(b, d->mrconfigid, 48);
    mke_buf_put(b, q->mrowner, 48);
    mke_buf_put(b, q->mrownerconfig, 48);
    for (size_t i = 0; i < 4; i++) { mke_buf_put(b, q->has_rtmr[i] ? q->rtmr[i] : d->rtmr[i], 48); }
    mke_buf_put(b, d->report_data, 64);
    if (td15) {
        mke_buf_put(b, q->tee_tcb_svn2, 16);
        mke_buf_put(b, q->mrservicetd, 48);
    }
}

static void qe_report(mke_buf *b, const mke_qe_report_opts *r, const uint8_t report_data[64])
{
    mke_buf_put(b, r->cpusvn, 16);
    mke_buf_u32le(b, r->miscselect);
    mke_buf_zeros(b, 28);
    mke_buf_put(b, r->attributes, 16);
    mke_buf_put(b, r->mrenclave, 32);
    mke_buf_zeros(b, 32);
    mke_buf_put(b, r->mrsigner, 32);
    mke_buf_zeros(b, 96);
    mke_buf_u16le(b, r->isvprodid);
    mke_buf_u16le(b, r->isvsvn);
    mke_buf_zeros(b, 60);
    mke_buf_put(b, report_data, 64);
}

/* auto_or returns the override when it is not MKE_AUTO, else the computed value. */
static uint32_t auto_or(int64_t v, size_t computed)
{
    return v == MKE_AUTO ? (uint32_t)computed : (uint32_t)v;
}

bool mke_build_quote(mke_ctx *x, const mke_dstack *d)
{
    const mke_options *o = x->o;
    const mke_quote_opts *q = &o->quote;
    mke_evidence *ev = x->ev;
    mke_buf b = { 0 }, pem = { 0 }, qe = { 0 }, auth = { 0 }, keyauth = { 0 };
    bool td15 = q->version == 5 && q->body_type == 3;
    size_t body_size = td15 ? TD15_BODY : TD10_BODY;
    uint8_t quote_sig[64], qe_sig[64], qe_rd[64], attest_xy[64];
    size_t m_len, s_len, sig_len;
    const char *key = q->attest_key_name != NULL ? q->attest_key_name : "attestation-key";
    bool ok = false;

    x->attest = mke_key_load(key);
    if (x->attest == NULL) { return mke_fail(x, "cannot derive test key \"%s\"", key); }
    memcpy(attest_xy, mke_key_xy(x->attest), 64);
    if (q->attest_key_off_curve) { attest_xy[63] ^= 0x01; } /* (X, Y^1) is not on P-256 */
    memcpy(ev->attest_key_xy, attest_xy, 64);

    /* PCK chain (§2.4): leaf, CA, root; the collateral copy is always the clean chain. */
    mke_buf_pem(&pem, ev->pck_leaf_der.data, ev->pck_leaf_der.len);
    mke_buf_pem(&pem, ev->pck_ca_der.data, ev->pck_ca_der.len);
    mke_buf_pem(&pem, ev->root_der.data, ev->root_der.len);
    {
        mke_buf clean = { 0 };
        mke_buf_put(&clean, pem.data, pem.len);
        if (!mke_buf_take(&clean, &ev->pck_chain_pem)) { goto nomem; }
    }
    if (q->pem_omit_root) {
        pem.len = 0;
        mke_buf_pem(&pem, ev->pck_leaf_der.data, ev->pck_leaf_der.len);
        mke_buf_pem(&pem, ev->pck_ca_der.data, ev->pck_ca_der.len);
    }
    if (q->pem_extra != NULL) { mke_buf_str(&pem, q->pem_extra); }
    if (q->pem_trailing_nul) { mke_buf_u8(&pem, 0); }

    /* QE report (§1.5): REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zeros. */
    for (size_t i = 0; i < q->qe_auth_data_len; i++) { mke_buf_u8(&auth, (uint8_t)i); }
    mke_buf_put(&keyauth, attest_xy, 64);
    mke_buf_put(&keyauth, auth.data, auth.len);
    memset(qe_rd, 0, sizeof qe_rd);
    if (keyauth.failed || auth.failed || !mke_sha256(qe_rd, keyauth.data, keyauth.len)) { goto nomem; }
    if (q->corrupt_qe_report_data_lower) { qe_rd[0] ^= 0x01; }
    if (q->corrupt_qe_report_data_upper) { qe_rd[63] = 0x01; }
    qe_report(&qe, &q->qe, qe_rd);
    if (qe.failed || qe.len != QE_REPORT_LEN) { goto nomem; }
    if (!mke_key_sign_msg(x->leaf, qe.data, qe.len, q->corrupt_qe_report_signature, qe_sig, NULL,
                          NULL)) {
        mke_fail(x, "quote: QE report signing failed");
        goto out;
    }

    /* Header and body: the signed region (§1.7). */
    mke_buf_u16le(&b, q->version);
    mke_buf_u16le(&b, q->att_key_type);
    mke_buf_u32le(&b, q->tee_type);
    mke_buf_u16le(&b, q->qe_svn);
    mke_buf_u16le(&b, q->pce_svn);
    mke_buf_put(&b, q->qe_vendor_id, 16);
    mke_buf_put(&b, q->user_data, 20);
    if (q->version == 5) {
        mke_buf_u16le(&b, q->body_type);
        mke_buf_u32le(&b, auto_or(q->body_size, body_size));
    }
    td_body(&b, q, d, td15);
    if (b.failed || !mke_key_sign_msg(x->attest, b.data, b.len, q->corrupt_quote_signature,
                                      quote_sig, NULL, NULL)) {
        mke_fail(x, "quote: signing failed");
        goto out;
    }

    /* Signature data (§1.4). */
    m_len = pem.len;
    s_len = QE_REPORT_LEN + 64 + 2 + auth.len + 2 + 4 + m_len + q->cert_data_slack;
    sig_len = 64 + 64 + 2 + 4 + s_len;
    mke_buf_u32le(&b, auto_or(q->sig_data_len, sig_len));
    mke_buf_put(&b, quote_sig, 64);
    mke_buf_put(&b, attest_xy, 64);
    mke_buf_u16le(&b, q->outer_cert_type);
    mke_buf_u32le(&b, auto_or(q->outer_cert_size, s_len));
    mke_buf_put(&b, qe.data, qe.len);
    mke_buf_put(&b, qe_sig, 64);
    mke_buf_u16le(&b, (uint16_t)auth.len);
    mke_buf_put(&b, auth.data, auth.len);
    mke_buf_u16le(&b, q->inner_cert_type);
    mke_buf_u32le(&b, auto_or(q->inner_cert_size, m_len));
    mke_buf_put(&b, pem.data, pem.len);
    mke_buf_zeros(&b, q->cert_data_slack);
    mke_buf_zeros(&b, q->trailing_zeros);
    if (q->trailing_garbage != NULL) { mke_buf_str(&b, q->trailing_garbage); }
    if (q->truncate_to != 0 && q->truncate_to < b.len) { b.len = q->truncate_to; }
    if (!mke_buf_take(&b, &ev->quote)) { goto nomem; }
    ok = true;
    goto out;
nomem:
    mke_fail(x, "quote: out of memory");
out:
    mke_buf_free(&b);
    mke_buf_free(&pem);
    mke_buf_free(&qe);
    mke_buf_free(&auth);
    mke_buf_free(&keyauth);
    return ok;
}
