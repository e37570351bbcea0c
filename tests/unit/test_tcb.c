/* test_tcb.c — TCB evaluation (dcap-spec §4.2–§4.6): the real dcap-qvl quote against its
 * collateral, then one table or case per branch: level selection, the start=2 rule, module
 * identity, QE identity policy, the INTEL convergence table, the TD 1.5 relaunch rule and the
 * advisory union. TCB infos are built as JSON text and go through cba_tcb_info_parse. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral.h"
#include "tcb.h"
#include "testutil.h"

TestSuite(tcb, .timeout = 30);

#define REAL_COLLATERAL "dcap-qvl-tdx/tdx_quote_collateral.json"
#define REAL_QUOTE "dcap-qvl-tdx/tdx_quote"
#define MAX_ADV 40

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

/* ---- builders ----------------------------------------------------------------------------- */

typedef struct lv { /* a platform level: SGX component 0, PCESVN, TDX components 0..2 */
    uint8_t sgx0;
    uint16_t pcesvn;
    uint8_t tdx0, tdx1, tdx2;
    const char *status;
    const char *adv[MAX_ADV];
} lv;

typedef struct ml { /* a module or QE level */
    int isvsvn;
    const char *status;
    const char *adv[MAX_ADV];
} ml;

typedef struct md { /* a module identity */
    const char *id;
    ml levels[4];
} md;

static json_object *adv_array(const char *const *adv)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < MAX_ADV && adv[i] != NULL; i++) {
        json_object_array_add(a, json_object_new_string(adv[i]));
    }
    return a;
}

static json_object *comps(uint8_t c0, uint8_t c1, uint8_t c2)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < 16; i++) {
        json_object *c = json_object_new_object();
        int v = i == 0 ? c0 : i == 1 ? c1 : i == 2 ? c2 : 0;
        json_object_object_add(c, "svn", json_object_new_int(v));
        json_object_array_add(a, c);
    }
    return a;
}

static void add_module_fields(json_object *m)
{
    char zeros[97];
    memset(zeros, '0', 96);
    zeros[96] = '\0';
    json_object_object_add(m, "mrsigner", json_object_new_string(zeros));
    json_object_object_add(m, "attributes", json_object_new_string("0000000000000000"));
    json_object_object_add(m, "attributesMask", json_object_new_string("FFFFFFFFFFFFFFFF"));
}

static json_object *level_common(json_object *tcb, const char *status, const char *const *adv)
{
    json_object *l = json_object_new_object();
    json_object_object_add(l, "tcb", tcb);
    json_object_object_add(l, "tcbDate", json_object_new_string("2024-03-13T00:00:00Z"));
    json_object_object_add(l, "tcbStatus", json_object_new_string(status));
    if (adv[0] != NULL) { json_object_object_add(l, "advisoryIDs", adv_array(adv)); }
    return l;
}

/* build_info writes a TCB info with the given levels and module identities (mods may be NULL:
 * no tdxModuleIdentities member) and parses it into *out. */
static void build_info(cba_tcb_info *out, const lv *levels, size_t n, const md *mods, size_t nm)
{
    json_object *o = json_object_new_object(), *mod = json_object_new_object();
    json_object *arr = json_object_new_array();
    cba_error e;
    json_object_object_add(o, "id", json_object_new_string("TDX"));
    json_object_object_add(o, "version", json_object_new_int(3));
    json_object_object_add(o, "issueDate", json_object_new_string("2025-06-19T10:16:03Z"));
    json_object_object_add(o, "nextUpdate", json_object_new_string("2025-07-19T10:16:03Z"));
    json_object_object_add(o, "fmspc", json_object_new_string("b0c06f000000"));
    json_object_object_add(o, "pceId", json_object_new_string("0000"));
    json_object_object_add(o, "tcbType", json_object_new_int(0));
    json_object_object_add(o, "tcbEvaluationDataNumber", json_object_new_int(17));
    add_module_fields(mod);
    json_object_object_add(o, "tdxModule", mod);
    if (mods != NULL) {
        json_object *ma = json_object_new_array();
        for (size_t i = 0; i < nm; i++) {
            json_object *m = json_object_new_object(), *la = json_object_new_array();
            json_object_object_add(m, "id", json_object_new_string(mods[i].id));
            add_module_fields(m);
            for (size_t k = 0; k < 4 && mods[i].levels[k].status != NULL; k++) {
                json_object *tcb = json_object_new_object();
                json_object_object_add(tcb, "isvsvn",
                                       json_object_new_int(mods[i].levels[k].isvsvn));
                json_object_array_add(la, level_common(tcb, mods[i].levels[k].status,
                                                       mods[i].levels[k].adv));
            }
            json_object_object_add(m, "tcbLevels", la);
            json_object_array_add(ma, m);
        }
        json_object_object_add(o, "tdxModuleIdentities", ma);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *tcb = json_object_new_object();
        json_object_object_add(tcb, "sgxtcbcomponents", comps(levels[i].sgx0, 0, 0));
        json_object_object_add(tcb, "pcesvn", json_object_new_int(levels[i].pcesvn));
        json_object_object_add(tcb, "tdxtcbcomponents",
                               comps(levels[i].tdx0, levels[i].tdx1, levels[i].tdx2));
        json_object_array_add(arr, level_common(tcb, levels[i].status, levels[i].adv));
    }
    json_object_object_add(o, "tcbLevels", arr);
    cba_error_clear(&e);
    cr_assert_eq(cba_tcb_info_parse(&e, out, txt(json_object_to_json_string_ext(
                                                 o, JSON_C_TO_STRING_PLAIN))),
                 CBA_OK, "builder TCB info must parse: %s: %s", e.where, e.detail);
    json_object_put(o);
}

static cba_sgx_ext pck_make(uint8_t comp0, uint16_t pcesvn)
{
    cba_sgx_ext p;
    memset(&p, 0, sizeof p);
    p.comp_svn[0] = comp0;
    p.pcesvn = pcesvn;
    p.fmspc[0] = 0xB0;
    p.fmspc[1] = 0xC0;
    p.fmspc[2] = 0x6F;
    return p;
}

static cba_td_report td_make(uint8_t t0, uint8_t t1, uint8_t t2)
{
    cba_td_report td;
    memset(&td, 0, sizeof td);
    td.tee_tcb_svn[0] = t0;
    td.tee_tcb_svn[1] = t1;
    td.tee_tcb_svn[2] = t2;
    return td;
}

static cba_qe_level qe_make(const char *status_name, const char *const *adv)
{
    cba_qe_level q;
    memset(&q, 0, sizeof q);
    q.isvsvn = 4;
    cr_assert(cba_tcb_status_parse(status_name, strlen(status_name), &q.status));
    for (size_t i = 0; adv != NULL && i < MAX_ADV && adv[i] != NULL; i++) {
        snprintf(q.advisories.ids[q.advisories.num++], CBA_ADVISORY_ID_MAX, "%s", adv[i]);
    }
    return q;
}

/* eval runs cba_tcb_evaluate; *e has where/detail. On failure checks *out was zeroed. */
static cba_err eval(cba_tcb_result *out, const cba_tcb_info *info, const cba_sgx_ext *pck,
                    const cba_td_report *td, uint16_t body_type, const cba_qe_level *qe,
                    cba_error *e)
{
    cba_err rc;
    cba_error_clear(e);
    memset(out, 0x5a, sizeof *out);
    rc = cba_tcb_evaluate(e, out, info, pck, td, body_type, qe);
    cr_assert_eq(rc, e->code);
    if (rc != CBA_OK) {
        cr_assert_eq(out->status, CBA_TCB_UNKNOWN, "no partial result on failure");
        cr_assert_eq(out->advisories.num, 0);
    }
    return rc;
}

static const char *sname(cba_tcb_status s)
{
    return s == CBA_TCB_UNKNOWN ? "(unknown)" : cba_tcb_status_name(s);
}

#define ASSERT_STATUS(got, want)                                                                \
    cr_assert_eq((got), (want), "status %s, want %s", sname(got), sname(want))

/* ---- the real quote ----------------------------------------------------------------------- */

/* Values of the real dcap-qvl quote at their §1.3/§1.4/§1.5 offsets (v4: body at 48, QE report
 * at 770), and its PCK leaf's SGX extension as `openssl x509 -text` prints it: component SVNs
 * 03 03 02 02 04 01 00 05 00.., PCESVN 11, FMSPC B0C06F000000, PCE-ID 0000. */
static void real_inputs(const tu_buf *q, cba_td_report *td, cba_qe_report *qe, cba_sgx_ext *pck)
{
    static const uint8_t comps_real[16] = { 3, 3, 2, 2, 4, 1, 0, 5 };
    const uint8_t *b = q->data + 48, *r = q->data + 770;
    cr_assert_eq(q->len, 5006);
    memset(td, 0, sizeof *td);
    memcpy(td->tee_tcb_svn, b, 16);
    memcpy(td->mrseam, b + 16, 48);
    memcpy(td->mrsignerseam, b + 64, 48);
    for (int i = 7; i >= 0; i--) { td->seam_attributes = td->seam_attributes << 8 | b[112 + i]; }
    memset(qe, 0, sizeof *qe);
    memcpy(qe->cpusvn, r, 16);
    qe->miscselect = (uint32_t)r[16] | (uint32_t)r[17] << 8 | (uint32_t)r[18] << 16 |
                     (uint32_t)r[19] << 24;
    memcpy(qe->attributes, r + 48, 16);
    memcpy(qe->mrenclave, r + 64, 32);
    memcpy(qe->mrsigner, r + 128, 32);
    qe->isvprodid = (uint16_t)(r[256] | r[257] << 8);
    qe->isvsvn = (uint16_t)(r[258] | r[259] << 8);
    memset(pck, 0, sizeof *pck);
    memcpy(pck->comp_svn, comps_real, 16);
    pck->pcesvn = 11;
    pck->fmspc[0] = 0xB0;
    pck->fmspc[1] = 0xC0;
    pck->fmspc[2] = 0x6F;
}

typedef struct real_ctx {
    tu_buf coll, quote;
    cba_collateral_raw raw;
    cba_tcb_info info;
    cba_qe_identity id;
    cba_td_report td;
    cba_qe_report qe;
    cba_sgx_ext pck;
} real_ctx;

static void real_load(real_ctx *c)
{
    cba_error e;
    cba_error_clear(&e);
    cr_assert_eq(cba_collateral_raw_parse(&e, &c->raw, cbs_make(c->coll.data, c->coll.len)),
                 CBA_OK, "%s", e.detail);
    cr_assert_eq(cba_tcb_info_parse(&e, &c->info, cbs_make(c->raw.tcb_info, c->raw.tcb_info_len)),
                 CBA_OK, "%s", e.detail);
    cr_assert_eq(cba_qe_identity_parse(&e, &c->id,
                                       cbs_make(c->raw.qe_identity, c->raw.qe_identity_len)),
                 CBA_OK, "%s", e.detail);
    real_inputs(&c->quote, &c->td, &c->qe, &c->pck);
}

static void real_free(real_ctx *c)
{
    cba_qe_identity_cleanup(&c->id);
    cba_tcb_info_cleanup(&c->info);
    cba_collateral_raw_cleanup(&c->raw);
    tu_buf_free(&c->coll);
    tu_buf_free(&c->quote);
}

Test(tcb, real_quote_is_up_to_date)
{
    real_ctx c;
    const cba_qe_level *ql = NULL;
    cba_tcb_result res;
    cba_error e;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &c.coll);
    TU_REAL_OR_SKIP(REAL_QUOTE, &c.quote);
    real_load(&c);
    /* Facts of expected.json: TEE_TCB_SVN 06 01 03.., QE ISVSVN 6. */
    cr_assert_eq(c.td.tee_tcb_svn[0], 6);
    cr_assert_eq(c.td.tee_tcb_svn[1], 1);
    cr_assert_eq(c.td.tee_tcb_svn[2], 3);
    cr_assert_eq(c.qe.isvsvn, 6);
    cba_error_clear(&e);
    cr_assert_eq(cba_tcb_info_match_pck(&e, &c.info, &c.pck), CBA_OK, "%s", e.detail);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &c.qe), CBA_OK, "%s: %s", e.where,
                 e.detail);
    cr_assert_eq(ql, &c.id.levels[0]);
    cr_assert_eq(ql->isvsvn, 4);
    cr_assert_eq(eval(&res, &c.info, &c.pck, &c.td, 2, ql, &e), CBA_OK, "%s: %s", e.where,
                 e.detail);
    ASSERT_STATUS(res.status, CBA_TCB_UP_TO_DATE);
    ASSERT_STATUS(res.platform_status, CBA_TCB_UP_TO_DATE);
    ASSERT_STATUS(res.module_status, CBA_TCB_UP_TO_DATE);
    ASSERT_STATUS(res.qe_status, CBA_TCB_UP_TO_DATE);
    cr_assert_eq(res.advisories.num, 0);
    cr_assert_eq(res.tcb_date, 1710288000); /* 2024-03-13 */
    cr_assert_not(res.relaunch_evaluated);
    /* The same platform with an older microcode PCESVN lands on the OutOfDate level. */
    c.pck.pcesvn = 10;
    cr_assert_eq(eval(&res, &c.info, &c.pck, &c.td, 2, ql, &e), CBA_OK, "%s", e.detail);
    ASSERT_STATUS(res.status, CBA_TCB_OUT_OF_DATE);
    cr_assert_gt(res.advisories.num, 0);
    /* A TDX_01 module below every module level. */
    c.pck.pcesvn = 11;
    c.td.tee_tcb_svn[0] = 1;
    cr_assert_eq(eval(&res, &c.info, &c.pck, &c.td, 2, ql, &e), CBA_E_TCB_NOT_SUPPORTED);
    real_free(&c);
}

Test(tcb, real_qe_identity_mismatches)
{
    real_ctx c;
    const cba_qe_level *ql;
    cba_qe_report bad;
    cba_error e;
    TU_REAL_OR_SKIP(REAL_COLLATERAL, &c.coll);
    TU_REAL_OR_SKIP(REAL_QUOTE, &c.quote);
    real_load(&c);
    /* mrsigner: last byte */
    bad = c.qe;
    bad.mrsigner[31] ^= 1;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &bad), CBA_E_QE_IDENTITY_MISMATCH);
    cr_assert_str_eq(e.where, "qe_identity.mrsigner");
    cr_assert_null(ql);
    /* isvprodid */
    bad = c.qe;
    bad.isvprodid = 1;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &bad), CBA_E_QE_IDENTITY_MISMATCH);
    cr_assert_str_eq(e.where, "qe_identity.isvprodid");
    /* miscselect: any bit (mask FFFFFFFF, expected 0) */
    bad = c.qe;
    bad.miscselect = 0x80000000u;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &bad), CBA_E_QE_IDENTITY_MISMATCH);
    cr_assert_str_eq(e.where, "qe_identity.miscselect");
    /* attributes: bit 0x01 of byte 0 is expected set (0x11 & mask 0xFB) */
    bad = c.qe;
    bad.attributes[0] &= (uint8_t)~0x01u;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &bad), CBA_E_QE_IDENTITY_MISMATCH);
    cr_assert_str_eq(e.where, "qe_identity.attributes");
    /* attributes bits outside the mask are free: byte 0 bit 0x04 and bytes 8..15 */
    bad = c.qe;
    bad.attributes[0] ^= 0x04;
    bad.attributes[9] ^= 0xff;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &bad), CBA_OK, "%s", e.detail);
    /* QE below every level (ISVSVN 3 < 4) */
    bad = c.qe;
    bad.isvsvn = 3;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &c.id, &bad), CBA_E_TCB_NOT_SUPPORTED);
    cr_assert_str_eq(e.where, "qe_identity.tcbLevels");
    bad.isvsvn = 4; /* boundary */
    cr_assert_eq(cba_qe_identity_match(NULL, &ql, &c.id, &bad), CBA_OK);
    real_free(&c);
}

/* ---- QE identity policy (synthetic identity) ------------------------------------------------ */

static void qe_identity_make(cba_qe_identity *id, cba_qe_level *levels, size_t n)
{
    memset(id, 0, sizeof *id);
    id->version = 2;
    memset(id->mrsigner, 0xDC, sizeof id->mrsigner);
    id->isvprodid = 2;
    id->miscselect = 0;
    id->miscselect_mask = 0xFFFFFFFFu;
    id->attributes[0] = 0x11;
    id->attributes_mask[0] = 0xFB;
    memset(id->attributes_mask + 1, 0xFF, 7);
    id->levels = levels;
    id->num_levels = n;
}

static cba_qe_report qe_report_make(uint16_t isvsvn)
{
    cba_qe_report r;
    memset(&r, 0, sizeof r);
    memset(r.mrsigner, 0xDC, sizeof r.mrsigner);
    r.isvprodid = 2;
    r.isvsvn = isvsvn;
    r.attributes[0] = 0x15; /* INIT | MODE64BIT | KSS-free value seen on real TD QEs */
    r.attributes[8] = 0xE7;
    return r;
}

Test(tcb, qe_identity_policy)
{
    cba_qe_level levels[3] = {
        { .isvsvn = 2, .status = CBA_TCB_OUT_OF_DATE },
        { .isvsvn = 6, .status = CBA_TCB_UP_TO_DATE },
        { .isvsvn = 4, .status = CBA_TCB_REVOKED },
    };
    cba_qe_identity id;
    cba_qe_report r;
    const cba_qe_level *ql;
    cba_error e;
    static const struct {
        uint16_t isvsvn;
        int level; /* index into levels, -1 = not supported */
    } sel[] = { { 0, -1 }, { 1, -1 }, { 2, 0 }, { 3, 0 },
                { 4, 2 },  { 5, 2 },  { 6, 1 }, { 65535, 1 } };
    qe_identity_make(&id, levels, 3);
    /* Largest isvsvn <= ISVSVN, whatever the JSON order. */
    for (size_t i = 0; i < sizeof sel / sizeof sel[0]; i++) {
        r = qe_report_make(sel[i].isvsvn);
        cba_error_clear(&e);
        if (sel[i].level < 0) {
            cr_assert_eq(cba_qe_identity_match(&e, &ql, &id, &r), CBA_E_TCB_NOT_SUPPORTED,
                         "isvsvn %u", sel[i].isvsvn);
            cr_assert_null(ql);
        } else {
            cr_assert_eq(cba_qe_identity_match(&e, &ql, &id, &r), CBA_OK, "%s", e.detail);
            cr_assert_eq(ql, &levels[sel[i].level], "isvsvn %u", sel[i].isvsvn);
        }
    }
    /* MISCSELECT in INTEL form: an expected bit outside the mask can never match. */
    id.miscselect = 0x10;
    id.miscselect_mask = 0x0F;
    r = qe_report_make(6);
    r.miscselect = 0x10;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &id, &r), CBA_E_QE_IDENTITY_MISMATCH);
    cr_assert_str_eq(e.where, "qe_identity.miscselect");
    /* masked bits of MISCSELECT are ignored */
    id.miscselect = 0x01;
    r.miscselect = 0xF1;
    cr_assert_eq(cba_qe_identity_match(NULL, &ql, &id, &r), CBA_OK);
    /* DEBUG (byte 0 bit 1) is rejected even when the mask does not cover it */
    qe_identity_make(&id, levels, 3);
    id.attributes_mask[0] = 0x00;
    id.attributes[0] = 0x00;
    r = qe_report_make(6);
    cr_assert_eq(cba_qe_identity_match(NULL, &ql, &id, &r), CBA_OK);
    r.attributes[0] |= 0x02;
    cba_error_clear(&e);
    cr_assert_eq(cba_qe_identity_match(&e, &ql, &id, &r), CBA_E_QE_IDENTITY_MISMATCH);
    cr_assert_str_eq(e.where, "qe_identity.attributes");
    cr_assert_not_null(strstr(e.detail, "debug"));
    /* attributes are compared byte-wise across all 16 bytes */
    qe_identity_make(&id, levels, 3);
    id.attributes_mask[15] = 0x80;
    id.attributes[15] = 0x80;
    r = qe_report_make(6);
    cr_assert_eq(cba_qe_identity_match(NULL, &ql, &id, &r), CBA_E_QE_IDENTITY_MISMATCH);
    r.attributes[15] = 0xFF;
    cr_assert_eq(cba_qe_identity_match(NULL, &ql, &id, &r), CBA_OK);
    /* the first mrsigner byte matters as much as the last */
    r.mrsigner[0] = 0;
    cr_assert_eq(cba_qe_identity_match(NULL, &ql, &id, &r), CBA_E_QE_IDENTITY_MISMATCH);
}

Test(tcb, revoked_qe_level_revokes_everything)
{
    lv levels[] = { { 2, 11, 0, 0, 0, "UpToDate", { NULL } } };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11);
    cba_td_report td = td_make(0, 0, 0);
    cba_qe_level qe = qe_make("Revoked", NULL);
    cba_tcb_result res;
    cba_error e;
    build_info(&info, levels, 1, NULL, 0);
    cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK, "%s", e.detail);
    ASSERT_STATUS(res.status, CBA_TCB_REVOKED);
    ASSERT_STATUS(res.platform_status, CBA_TCB_UP_TO_DATE);
    ASSERT_STATUS(res.qe_status, CBA_TCB_REVOKED);
    cba_tcb_info_cleanup(&info);
}

/* ---- platform level selection ------------------------------------------------------------- */

Test(tcb, every_status_reachable_by_selection)
{
    /* Seven levels that differ in SGX component 0 only, listed in shuffled order. */
    lv levels[] = {
        { 4, 10, 0, 0, 0, "ConfigurationAndSWHardeningNeeded", { NULL } },
        { 7, 10, 0, 0, 0, "UpToDate", { NULL } },
        { 1, 10, 0, 0, 0, "Revoked", { NULL } },
        { 6, 10, 0, 0, 0, "SWHardeningNeeded", { NULL } },
        { 3, 10, 0, 0, 0, "OutOfDate", { NULL } },
        { 5, 10, 0, 0, 0, "ConfigurationNeeded", { NULL } },
        { 2, 10, 0, 0, 0, "OutOfDateConfigurationNeeded", { NULL } },
    };
    static const struct {
        uint8_t comp0;
        cba_tcb_status want; /* UNKNOWN = TCB_NOT_SUPPORTED */
    } cases[] = {
        { 255, CBA_TCB_UP_TO_DATE },
        { 7, CBA_TCB_UP_TO_DATE },
        { 6, CBA_TCB_SW_HARDENING_NEEDED },
        { 5, CBA_TCB_CONFIGURATION_NEEDED },
        { 4, CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED },
        { 3, CBA_TCB_OUT_OF_DATE },
        { 2, CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED },
        { 1, CBA_TCB_REVOKED },
        { 0, CBA_TCB_UNKNOWN },
    };
    cba_tcb_info info;
    cba_td_report td = td_make(0, 0, 0);
    cba_qe_level qe = qe_make("UpToDate", NULL);
    build_info(&info, levels, 7, NULL, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cba_sgx_ext pck = pck_make(cases[i].comp0, 10);
        cba_tcb_result res;
        cba_error e;
        cba_err rc = eval(&res, &info, &pck, &td, 2, &qe, &e);
        if (cases[i].want == CBA_TCB_UNKNOWN) {
            cr_assert_eq(rc, CBA_E_TCB_NOT_SUPPORTED, "comp0 %u", cases[i].comp0);
            cr_assert_str_eq(e.where, "tcb_info.tcbLevels");
            continue;
        }
        cr_assert_eq(rc, CBA_OK, "comp0 %u: %s", cases[i].comp0, e.detail);
        ASSERT_STATUS(res.status, cases[i].want);
        ASSERT_STATUS(res.platform_status, cases[i].want);
        ASSERT_STATUS(res.sgx_status, cases[i].want);
        ASSERT_STATUS(res.module_status, CBA_TCB_UP_TO_DATE);
    }
    cba_tcb_info_cleanup(&info);
}

Test(tcb, pcesvn_decides)
{
    lv levels[] = {
        { 2, 11, 0, 0, 0, "UpToDate", { NULL } },
        { 2, 5, 0, 0, 0, "OutOfDate", { "INTEL-SA-00106", NULL } },
    };
    static const struct {
        uint16_t pcesvn;
        cba_tcb_status want;
    } cases[] = { { 65535, CBA_TCB_UP_TO_DATE }, { 11, CBA_TCB_UP_TO_DATE },
                  { 10, CBA_TCB_OUT_OF_DATE }, { 5, CBA_TCB_OUT_OF_DATE },
                  { 4, CBA_TCB_UNKNOWN },      { 0, CBA_TCB_UNKNOWN } };
    cba_tcb_info info;
    cba_td_report td = td_make(0, 0, 0);
    cba_qe_level qe = qe_make("UpToDate", NULL);
    build_info(&info, levels, 2, NULL, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cba_sgx_ext pck = pck_make(2, cases[i].pcesvn);
        cba_tcb_result res;
        cba_error e;
        cba_err rc = eval(&res, &info, &pck, &td, 2, &qe, &e);
        if (cases[i].want == CBA_TCB_UNKNOWN) {
            cr_assert_eq(rc, CBA_E_TCB_NOT_SUPPORTED, "pcesvn %u", cases[i].pcesvn);
            continue;
        }
        cr_assert_eq(rc, CBA_OK, "%s", e.detail);
        ASSERT_STATUS(res.status, cases[i].want);
    }
    /* a lower SGX component than every level: not supported even with a high PCESVN */
    {
        cba_sgx_ext pck = pck_make(1, 65535);
        cba_tcb_result res;
        cba_error e;
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_E_TCB_NOT_SUPPORTED);
        cr_assert_not_null(strstr(e.detail, "PCESVN"), "%s", e.detail);
    }
    cba_tcb_info_cleanup(&info);
}

Test(tcb, start2_rule_and_tdx_components)
{
    /* L0 has TDX SVNs 5,7,3: bytes 0 and 1 are the module's, ignored when T[1] > 0. */
    lv levels[] = {
        { 2, 11, 5, 7, 3, "UpToDate", { NULL } },
        { 2, 11, 2, 0, 1, "OutOfDate", { NULL } },
    };
    md mods[] = { { "TDX_01", { { 2, "UpToDate", { NULL } } } } };
    static const struct {
        uint8_t t0, t1, t2;
        cba_tcb_status want; /* UNKNOWN = not supported */
    } cases[] = {
        { 3, 1, 3, CBA_TCB_UP_TO_DATE },  /* start=2: T[0]=3 < 5 and T[1]=1 < 7 ignored */
        { 3, 1, 2, CBA_TCB_OUT_OF_DATE }, /* T[2]=2 < 3 */
        { 3, 1, 0, CBA_TCB_UNKNOWN },     /* T[2]=0 < 1 */
        { 3, 0, 3, CBA_TCB_OUT_OF_DATE }, /* start=0: T[0]=3 < 5 */
        { 5, 0, 3, CBA_TCB_OUT_OF_DATE }, /* start=0: T[1]=0 < 7 */
        { 1, 0, 3, CBA_TCB_UNKNOWN },     /* start=0: T[0]=1 < 2 */
    };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11);
    cba_qe_level qe = qe_make("UpToDate", NULL);
    build_info(&info, levels, 2, mods, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cba_td_report td = td_make(cases[i].t0, cases[i].t1, cases[i].t2);
        cba_tcb_result res;
        cba_error e;
        cba_err rc = eval(&res, &info, &pck, &td, 2, &qe, &e);
        if (cases[i].want == CBA_TCB_UNKNOWN) {
            cr_assert_eq(rc, CBA_E_TCB_NOT_SUPPORTED, "case %zu", i);
            cr_assert_not_null(strstr(e.detail, "TEE_TCB_SVN"), "%s", e.detail);
            continue;
        }
        cr_assert_eq(rc, CBA_OK, "case %zu: %s", i, e.detail);
        ASSERT_STATUS(res.status, cases[i].want);
    }
    /* a non-zero higher TDX component counts too */
    {
        cba_td_report td = td_make(3, 1, 3);
        cba_tcb_result res;
        cba_error e;
        info.levels[0].tdx_svn[15] = 1;
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK);
        ASSERT_STATUS(res.status, CBA_TCB_OUT_OF_DATE);
    }
    cba_tcb_info_cleanup(&info);
}

/* ---- TDX module ----------------------------------------------------------------------------- */

Test(tcb, module_identity_lookup)
{
    lv levels[] = { { 2, 11, 0, 0, 0, "UpToDate", { NULL } } };
    static const struct {
        const char *id;
        uint8_t t1;
        cba_err want;
    } cases[] = {
        { "TDX_0A", 0x0a, CBA_OK },
        { "tdx_0a", 0x0a, CBA_OK },
        { "TDX_0a", 0x0a, CBA_OK },
        { "TDX_0A", 0x0b, CBA_E_TDX_MODULE_MISMATCH },
        { "TDX_01", 0x10, CBA_E_TDX_MODULE_MISMATCH }, /* "TDX_10" is not "TDX_01" */
        { "TDX_10", 0x10, CBA_OK },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        md mods[] = { { cases[i].id, { { 3, "UpToDate", { NULL } } } } };
        cba_tcb_info info;
        cba_sgx_ext pck = pck_make(2, 11);
        cba_td_report td = td_make(3, cases[i].t1, 0);
        cba_qe_level qe = qe_make("UpToDate", NULL);
        cba_tcb_result res;
        cba_error e;
        build_info(&info, levels, 1, mods, 1);
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), cases[i].want, "case %zu: %s", i,
                     e.detail);
        if (cases[i].want != CBA_OK) {
            cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities");
        }
        cba_tcb_info_cleanup(&info);
    }
    /* T[1] > 0 without any tdxModuleIdentities */
    {
        cba_tcb_info info;
        cba_sgx_ext pck = pck_make(2, 11);
        cba_td_report td = td_make(3, 1, 0);
        cba_qe_level qe = qe_make("UpToDate", NULL);
        cba_tcb_result res;
        cba_error e;
        build_info(&info, levels, 1, NULL, 0);
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_E_TDX_MODULE_MISMATCH);
        /* T[1] == 0 needs no identity: tdxModule applies, module status UpToDate */
        td = td_make(0, 0, 0);
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK, "%s", e.detail);
        ASSERT_STATUS(res.module_status, CBA_TCB_UP_TO_DATE);
        cba_tcb_info_cleanup(&info);
    }
}

Test(tcb, module_level_selection)
{
    lv levels[] = { { 2, 11, 0, 0, 0, "UpToDate", { NULL } } };
    /* JSON order is not sorted: the max-rule must not depend on it. */
    md mods[] = { { "TDX_01",
                    { { 2, "OutOfDate", { "INTEL-SA-00002", NULL } },
                      { 6, "UpToDate", { NULL } },
                      { 4, "Revoked", { "INTEL-SA-00004", NULL } } } } };
    static const struct {
        uint8_t t0;
        cba_tcb_status module, final; /* UNKNOWN = not supported */
    } cases[] = {
        { 255, CBA_TCB_UP_TO_DATE, CBA_TCB_UP_TO_DATE },
        { 6, CBA_TCB_UP_TO_DATE, CBA_TCB_UP_TO_DATE },
        { 5, CBA_TCB_REVOKED, CBA_TCB_REVOKED },
        { 4, CBA_TCB_REVOKED, CBA_TCB_REVOKED },
        { 3, CBA_TCB_OUT_OF_DATE, CBA_TCB_OUT_OF_DATE },
        { 2, CBA_TCB_OUT_OF_DATE, CBA_TCB_OUT_OF_DATE },
        { 1, CBA_TCB_UNKNOWN, CBA_TCB_UNKNOWN },
        { 0, CBA_TCB_UNKNOWN, CBA_TCB_UNKNOWN },
    };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11);
    cba_qe_level qe = qe_make("UpToDate", NULL);
    build_info(&info, levels, 1, mods, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cba_td_report td = td_make(cases[i].t0, 1, 0);
        cba_tcb_status ms;
        const cba_module_level *ml_out;
        cba_tcb_result res;
        cba_error e;
        cba_err rc = eval(&res, &info, &pck, &td, 2, &qe, &e);
        if (cases[i].final == CBA_TCB_UNKNOWN) {
            cr_assert_eq(rc, CBA_E_TCB_NOT_SUPPORTED, "t0 %u", cases[i].t0);
            cr_assert_str_eq(e.where, "tcb_info.tdxModuleIdentities");
            cba_error_clear(&e);
            cr_assert_eq(cba_tdx_module_match(&e, &ms, &ml_out, &info, &td),
                         CBA_E_TCB_NOT_SUPPORTED);
            cr_assert_null(ml_out);
            continue;
        }
        cr_assert_eq(rc, CBA_OK, "t0 %u: %s", cases[i].t0, e.detail);
        ASSERT_STATUS(res.module_status, cases[i].module);
        ASSERT_STATUS(res.status, cases[i].final);
        cba_error_clear(&e);
        cr_assert_eq(cba_tdx_module_match(&e, &ms, &ml_out, &info, &td), CBA_OK);
        cr_assert_not_null(ml_out);
        ASSERT_STATUS(ms, cases[i].module);
    }
    cba_tcb_info_cleanup(&info);
}

Test(tcb, module_signer_and_attributes)
{
    lv levels[] = { { 2, 11, 0, 0, 0, "UpToDate", { NULL } } };
    md mods[] = { { "TDX_03", { { 3, "UpToDate", { NULL } } } } };
    cba_tcb_info info;
    cba_tcb_status ms;
    const cba_module_level *ml_out;
    cba_error e;
    build_info(&info, levels, 1, mods, 1);
    for (int path = 0; path < 2; path++) { /* 0: tdxModule (T[1]=0), 1: identity TDX_03 */
        cba_td_report td = td_make(3, path ? 3 : 0, 0);
        uint8_t *exp_signer = path ? info.modules[0].mrsigner : info.module_mrsigner;
        uint64_t *exp_attr = path ? &info.modules[0].attributes : &info.module_attributes;
        uint64_t *exp_mask = path ? &info.modules[0].attributes_mask : &info.module_attributes_mask;
        cr_assert_eq(cba_tdx_module_match(NULL, &ms, &ml_out, &info, &td), CBA_OK);
        cr_assert_eq(ml_out == NULL, path == 0, "a module level only for an identity");
        /* MRSIGNERSEAM: first and last byte */
        td.mrsignerseam[0] = 1;
        cba_error_clear(&e);
        cr_assert_eq(cba_tdx_module_match(&e, &ms, &ml_out, &info, &td), CBA_E_TDX_MODULE_MISMATCH);
        cr_assert_str_eq(e.where, "quote.td.mrsignerseam");
        td.mrsignerseam[0] = 0;
        td.mrsignerseam[47] = 0x80;
        cr_assert_eq(cba_tdx_module_match(NULL, &ms, &ml_out, &info, &td),
                     CBA_E_TDX_MODULE_MISMATCH);
        /* a non-zero expected signer equal to the quote's is accepted */
        exp_signer[47] = 0x80;
        cr_assert_eq(cba_tdx_module_match(NULL, &ms, &ml_out, &info, &td), CBA_OK);
        exp_signer[47] = 0;
        td.mrsignerseam[47] = 0;
        /* SEAMATTRIBUTES must be zero, even when the mask would hide the bit */
        td.seam_attributes = 1ull << 63;
        *exp_mask = 0;
        cba_error_clear(&e);
        cr_assert_eq(cba_tdx_module_match(&e, &ms, &ml_out, &info, &td), CBA_E_TDX_MODULE_MISMATCH);
        cr_assert_str_eq(e.where, "quote.td.seam_attributes");
        td.seam_attributes = 0;
        /* a non-zero masked expectation fails closed; an unmasked one is ignored */
        *exp_attr = 1;
        *exp_mask = UINT64_MAX;
        cba_error_clear(&e);
        cr_assert_eq(cba_tdx_module_match(&e, &ms, &ml_out, &info, &td), CBA_E_TDX_MODULE_MISMATCH);
        cr_assert_str_eq(e.where, "tcb_info.tdxModule.attributes");
        *exp_mask = ~1ull;
        cr_assert_eq(cba_tdx_module_match(NULL, &ms, &ml_out, &info, &td), CBA_OK);
        *exp_attr = 0;
        *exp_mask = UINT64_MAX;
        /* through cba_tcb_evaluate the mismatch is the result */
        {
            cba_sgx_ext pck = pck_make(2, 11);
            cba_qe_level qe = qe_make("UpToDate", NULL);
            cba_tcb_result res;
            td.mrsignerseam[5] = 5;
            cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_E_TDX_MODULE_MISMATCH);
        }
    }
    cba_tcb_info_cleanup(&info);
}

/* ---- convergence (§4.5) -------------------------------------------------------------------- */

Test(tcb, converge_table_every_cell)
{
    enum { U = CBA_TCB_UP_TO_DATE, SW = CBA_TCB_SW_HARDENING_NEEDED,
           CN = CBA_TCB_CONFIGURATION_NEEDED, CSW = CBA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
           O = CBA_TCB_OUT_OF_DATE, OCN = CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
           R = CBA_TCB_REVOKED, TR = CBA_TCB_TD_RELAUNCH_ADVISED,
           TRC = CBA_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED };
    static const int level[] = { U, SW, CN, CSW, O, OCN, R, TR, TRC };
    /* rows: other = UpToDate, OutOfDate, Revoked */
    static const int want[3][9] = {
        { U, SW, CN, CSW, O, OCN, R, TR, TRC },
        { O, O, OCN, OCN, O, OCN, R, TR, TRC },
        { R, R, R, R, R, R, R, R, R },
    };
    static const int other[3] = { U, O, R };
    for (size_t r = 0; r < 3; r++) {
        for (size_t c = 0; c < 9; c++) {
            cba_tcb_status got =
                cba_tcb_converge((cba_tcb_status)level[c], (cba_tcb_status)other[r]);
            cr_assert_eq(got, (cba_tcb_status)want[r][c], "conv(%s, %s) = %s",
                         sname((cba_tcb_status)level[c]), sname((cba_tcb_status)other[r]),
                         sname(got));
        }
    }
}

/* The same table through cba_tcb_evaluate: every platform status against an OutOfDate /
 * Revoked module and an OutOfDate / Revoked QE, and the module-then-QE order. */
Test(tcb, converge_through_evaluate)
{
    static const char *const names[] = { "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                         "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                         "OutOfDateConfigurationNeeded", "Revoked" };
    static const char *const others[] = { "UpToDate", "OutOfDate", "Revoked" };
    for (size_t i = 0; i < 7; i++) {
        lv levels[] = { { 2, 11, 0, 0, 0, names[i], { NULL } } };
        cba_tcb_status plat;
        cr_assert(cba_tcb_status_parse(names[i], strlen(names[i]), &plat));
        for (size_t m = 0; m < 3; m++) {
            md mods[] = { { "TDX_01", { { 3, others[m], { NULL } } } } };
            cba_tcb_info info;
            cba_tcb_status mst;
            build_info(&info, levels, 1, mods, 1);
            cr_assert(cba_tcb_status_parse(others[m], strlen(others[m]), &mst));
            for (size_t q = 0; q < 3; q++) {
                cba_sgx_ext pck = pck_make(2, 11);
                cba_td_report td = td_make(3, 1, 0);
                cba_qe_level qe = qe_make(others[q], NULL);
                cba_tcb_result res;
                cba_error e;
                cba_tcb_status want = cba_tcb_converge(cba_tcb_converge(plat, mst), qe.status);
                cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK, "%s", e.detail);
                cr_assert_eq(res.status, want, "%s/%s/%s -> %s", names[i], others[m], others[q],
                             sname(res.status));
                ASSERT_STATUS(res.platform_status, plat);
                ASSERT_STATUS(res.module_status, mst);
                ASSERT_STATUS(res.qe_status, qe.status);
            }
            cba_tcb_info_cleanup(&info);
        }
    }
    /* spot checks of the table's distinctive cells, independent of cba_tcb_converge */
    {
        lv levels[] = { { 2, 11, 0, 0, 0, "ConfigurationNeeded", { NULL } } };
        md mods[] = { { "TDX_01", { { 3, "OutOfDate", { NULL } } } } };
        cba_tcb_info info;
        cba_sgx_ext pck = pck_make(2, 11);
        cba_td_report td = td_make(3, 1, 0);
        cba_qe_level qe = qe_make("UpToDate", NULL);
        cba_tcb_result res;
        cba_error e;
        build_info(&info, levels, 1, mods, 1);
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK);
        ASSERT_STATUS(res.status, CBA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
        qe = qe_make("Revoked", NULL);
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK);
        ASSERT_STATUS(res.status, CBA_TCB_REVOKED);
        cba_tcb_info_cleanup(&info);
    }
    {
        lv levels[] = { { 2, 11, 0, 0, 0, "SWHardeningNeeded", { NULL } } };
        cba_tcb_info info;
        cba_sgx_ext pck = pck_make(2, 11);
        cba_td_report td = td_make(0, 0, 0);
        cba_qe_level qe = qe_make("OutOfDate", NULL);
        cba_tcb_result res;
        cba_error e;
        build_info(&info, levels, 1, NULL, 0);
        cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK);
        ASSERT_STATUS(res.status, CBA_TCB_OUT_OF_DATE);
        cba_tcb_info_cleanup(&info);
    }
}

/* ---- TD 1.5 relaunch ------------------------------------------------------------------------ */

typedef struct rl_case {
    const char *what;
    const char *sgx_status;   /* status of level L0 (the sgxLevel) */
    const char *tdx_status;   /* status of level L1; NULL = L0 is also the tdxLevel */
    const char *qe;
    uint16_t body_type;
    uint8_t svn2[3];
    cba_err rc;
    cba_tcb_status want;
} rl_case;

Test(tcb, td15_relaunch)
{
    /* Module TDX_01: isvsvn 6 UpToDate, 4 OutOfDate. The quote runs module SVN 4 (OutOfDate);
     * TEE_TCB_SVN_2 says what is loaded now. Latest platform level has TDX SVNs 5,0,3. */
    static const rl_case cases[] = {
        { "advised via identity", "UpToDate", NULL, "UpToDate", 3, { 6, 1, 3 }, CBA_OK,
          CBA_TCB_TD_RELAUNCH_ADVISED },
        { "svn2[0] below identity", "UpToDate", NULL, "UpToDate", 3, { 5, 1, 3 }, CBA_OK,
          CBA_TCB_OUT_OF_DATE },
        { "svn2[2] below latest", "UpToDate", NULL, "UpToDate", 3, { 6, 1, 2 }, CBA_OK,
          CBA_TCB_OUT_OF_DATE },
        { "advised via latest level", "UpToDate", NULL, "UpToDate", 3, { 5, 0, 3 }, CBA_OK,
          CBA_TCB_TD_RELAUNCH_ADVISED },
        { "latest level tdx[0] not met", "UpToDate", NULL, "UpToDate", 3, { 4, 0, 3 }, CBA_OK,
          CBA_TCB_OUT_OF_DATE },
        { "TD 1.0 body: never", "UpToDate", NULL, "UpToDate", 2, { 6, 1, 3 }, CBA_OK,
          CBA_TCB_OUT_OF_DATE },
        { "QE OutOfDate: never", "UpToDate", NULL, "OutOfDate", 3, { 6, 1, 3 }, CBA_OK,
          CBA_TCB_OUT_OF_DATE },
        { "QE Revoked: never", "UpToDate", NULL, "Revoked", 3, { 6, 1, 3 }, CBA_OK,
          CBA_TCB_REVOKED },
        { "configuration needed", "ConfigurationNeeded", NULL, "UpToDate", 3, { 6, 1, 3 },
          CBA_OK, CBA_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED },
        { "SW hardening is not configuration", "SWHardeningNeeded", NULL, "UpToDate", 3,
          { 6, 1, 3 }, CBA_OK, CBA_TCB_TD_RELAUNCH_ADVISED },
        { "platform OutOfDate: never", "OutOfDate", NULL, "UpToDate", 3, { 6, 1, 3 }, CBA_OK,
          CBA_TCB_OUT_OF_DATE },
        { "platform Revoked: never", "Revoked", NULL, "UpToDate", 3, { 6, 1, 3 }, CBA_OK,
          CBA_TCB_REVOKED },
        { "sgx level differs from tdx level", "ConfigurationNeeded", "OutOfDate", "UpToDate", 3,
          { 6, 1, 9 }, CBA_OK, CBA_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED },
        { "identity of svn2[1] missing", "UpToDate", NULL, "UpToDate", 3, { 6, 2, 3 },
          CBA_E_TDX_MODULE_MISMATCH, CBA_TCB_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rl_case *c = &cases[i];
        /* With tdx_status: L0 needs TDX component 2 >= 9 (the quote has 3), so L0 is only the
         * sgxLevel and L1 (lower PCESVN) the tdxLevel; latest = L0. */
        lv two[] = { { 2, 11, 5, 0, 9, c->sgx_status, { NULL } },
                     { 2, 10, 0, 0, 3, c->tdx_status ? c->tdx_status : "UpToDate", { NULL } } };
        lv one[] = { { 2, 11, 5, 0, 3, c->sgx_status, { NULL } } };
        md mods[] = { { "TDX_01", { { 6, "UpToDate", { NULL } }, { 4, "OutOfDate", { NULL } } } } };
        cba_tcb_info info;
        cba_sgx_ext pck = pck_make(2, 11);
        cba_td_report td = td_make(4, 1, 3);
        cba_qe_level qe = qe_make(c->qe, NULL);
        cba_tcb_result res;
        cba_error e;
        if (c->tdx_status) {
            build_info(&info, two, 2, mods, 1);
        } else {
            build_info(&info, one, 1, mods, 1);
        }
        memcpy(td.tee_tcb_svn2, c->svn2, 3);
        cr_assert_eq(eval(&res, &info, &pck, &td, c->body_type, &qe, &e), c->rc, "%s: %s",
                     c->what, e.detail);
        if (c->rc == CBA_OK) {
            cr_assert_eq(res.status, c->want, "%s: got %s", c->what, sname(res.status));
            ASSERT_STATUS(res.module_status, CBA_TCB_OUT_OF_DATE);
            cr_assert_eq(res.relaunch_evaluated,
                         c->body_type == 3 && res.platform_status != CBA_TCB_REVOKED, "%s",
                         c->what);
            if (c->tdx_status) {
                ASSERT_STATUS(res.sgx_status, CBA_TCB_CONFIGURATION_NEEDED);
                ASSERT_STATUS(res.platform_status, CBA_TCB_OUT_OF_DATE);
            }
        }
        cba_tcb_info_cleanup(&info);
    }
    /* Module UpToDate: nothing to relaunch for, even on a TD 1.5 body. */
    {
        lv one[] = { { 2, 11, 5, 0, 3, "OutOfDate", { NULL } } };
        md mods[] = { { "TDX_01", { { 4, "UpToDate", { NULL } } } } };
        cba_tcb_info info;
        cba_sgx_ext pck = pck_make(2, 11);
        cba_td_report td = td_make(4, 1, 3);
        cba_qe_level qe = qe_make("UpToDate", NULL);
        cba_tcb_result res;
        cba_error e;
        build_info(&info, one, 1, mods, 1);
        td.tee_tcb_svn2[0] = 9;
        td.tee_tcb_svn2[1] = 1;
        td.tee_tcb_svn2[2] = 9;
        cr_assert_eq(eval(&res, &info, &pck, &td, 3, &qe, &e), CBA_OK);
        ASSERT_STATUS(res.status, CBA_TCB_OUT_OF_DATE);
        cba_tcb_info_cleanup(&info);
    }
}

/* ---- advisories (§4.6) ---------------------------------------------------------------------- */

Test(tcb, advisory_union_order_and_dedup)
{
    lv levels[] = {
        { 3, 11, 0, 0, 0, "UpToDate", { "INTEL-SA-99999", NULL } }, /* not matched */
        { 2, 11, 0, 0, 0, "SWHardeningNeeded", { "INTEL-SA-00A", "INTEL-SA-00B", NULL } },
    };
    md mods[] = { { "TDX_01", { { 3, "OutOfDate", { "INTEL-SA-00B", "INTEL-SA-00C", NULL } } } } };
    const char *qe_adv[] = { "INTEL-SA-00C", "INTEL-SA-00D", "INTEL-SA-00A", NULL };
    static const char *const want[] = { "INTEL-SA-00A", "INTEL-SA-00B", "INTEL-SA-00C",
                                        "INTEL-SA-00D" };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11);
    cba_td_report td = td_make(3, 1, 0);
    cba_qe_level qe = qe_make("UpToDate", qe_adv);
    cba_tcb_result res;
    cba_error e;
    build_info(&info, levels, 2, mods, 1);
    cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(res.advisories.num, 4);
    for (size_t i = 0; i < 4; i++) { cr_assert_str_eq(res.advisories.ids[i], want[i]); }
    ASSERT_STATUS(res.status, CBA_TCB_OUT_OF_DATE);
    /* T[1] == 0: no module level, so only platform then QE */
    td = td_make(0, 0, 0);
    cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(res.advisories.num, 4);
    cr_assert_str_eq(res.advisories.ids[0], "INTEL-SA-00A");
    cr_assert_str_eq(res.advisories.ids[1], "INTEL-SA-00B");
    cr_assert_str_eq(res.advisories.ids[2], "INTEL-SA-00C");
    cr_assert_str_eq(res.advisories.ids[3], "INTEL-SA-00D");
    cba_tcb_info_cleanup(&info);
}

Test(tcb, advisory_union_overflow_fails_closed)
{
    static char ids[CBA_ADVISORIES_PER_LEVEL][16];
    lv levels[] = { { 2, 11, 0, 0, 0, "SWHardeningNeeded", { NULL } } };
    const char *qe_new[] = { "INTEL-SA-NEW", NULL };
    const char *qe_dup[] = { "INTEL-SA-00000", NULL };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11);
    cba_td_report td = td_make(0, 0, 0);
    cba_qe_level qe;
    cba_tcb_result res;
    cba_error e;
    for (int i = 0; i < CBA_ADVISORIES_PER_LEVEL; i++) {
        snprintf(ids[i], sizeof ids[i], "INTEL-SA-%05d", i % 100000);
        levels[0].adv[i] = ids[i];
    }
    build_info(&info, levels, 1, NULL, 0);
    cr_assert_eq(info.levels[0].advisories.num, CBA_ADVISORIES_PER_LEVEL);
    qe = qe_make("UpToDate", qe_dup); /* a duplicate still fits */
    cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_OK, "%s", e.detail);
    cr_assert_eq(res.advisories.num, CBA_ADVISORIES_PER_LEVEL);
    qe = qe_make("UpToDate", qe_new); /* a 33rd distinct ID must not be dropped silently */
    cr_assert_eq(eval(&res, &info, &pck, &td, 2, &qe, &e), CBA_E_TCB_INFO_FORMAT);
    cr_assert_str_eq(e.where, "tcb.advisories");
    cba_tcb_info_cleanup(&info);
}

/* ---- FMSPC / PCE-ID and arguments ---------------------------------------------------------- */

Test(tcb, tcb_info_match_pck)
{
    lv levels[] = { { 2, 11, 0, 0, 0, "UpToDate", { NULL } } };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11); /* FMSPC B0C06F000000, the builder writes it lower-case */
    cba_error e;
    build_info(&info, levels, 1, NULL, 0);
    cr_assert_eq(cba_tcb_info_match_pck(NULL, &info, &pck), CBA_OK);
    pck.fmspc[5] = 1;
    cba_error_clear(&e);
    cr_assert_eq(cba_tcb_info_match_pck(&e, &info, &pck), CBA_E_TCB_INFO_MISMATCH);
    cr_assert_str_eq(e.where, "tcb_info.fmspc");
    pck.fmspc[5] = 0;
    pck.pce_id[1] = 1;
    cba_error_clear(&e);
    cr_assert_eq(cba_tcb_info_match_pck(&e, &info, &pck), CBA_E_TCB_INFO_MISMATCH);
    cr_assert_str_eq(e.where, "tcb_info.pceId");
    cba_tcb_info_cleanup(&info);
}

Test(tcb, missing_inputs)
{
    lv levels[] = { { 2, 11, 0, 0, 0, "UpToDate", { NULL } } };
    cba_tcb_info info;
    cba_sgx_ext pck = pck_make(2, 11);
    cba_td_report td = td_make(0, 0, 0);
    cba_tcb_result res;
    cba_error e;
    build_info(&info, levels, 1, NULL, 0);
    cr_assert_eq(eval(&res, &info, &pck, &td, 2, NULL, &e), CBA_E_ARGUMENT);
    cr_assert_eq(eval(&res, NULL, &pck, &td, 2, NULL, &e), CBA_E_ARGUMENT);
    cba_tcb_info_cleanup(&info);
}
