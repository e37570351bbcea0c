/* test_mutation.c — single-bit mutation sweeps over real quotes (issue 7, part 2).
 *
 * Every single-bit flip of the crabbox quote (--no-dcap policy at its capture time) and of the
 * dcap-qvl sample quote (its collateral verified once with cba_collateral_verify, then
 * cba_verify_with per mutant) must be rejected — never accepted, never a crash, and nothing from
 * the quote published (has_quote false). Flips in the trailing zero padding after the signature
 * data make a non-zero trailing byte: they must be rejected with exactly CBA_E_QUOTE_TRAILING_DATA.
 * Each sweep prints the number of mutants (5010 and 5006 bytes: 40080 and 40048 mutants) and
 * their outcomes by failing check and error code.
 *
 * The exhaustive sweeps over Info responses (the real crabbox Info and generated ones with V1 /
 * V2 event logs) are in test_mutation_info.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "testutil.h"

#define CRABBOX_AT 1774003274
#define DCAP_QVL_AT 1752919234

/* Sampling stride for the PEM certification chain inside a quote (1 = every byte, all 8 bits).
 * Every other region (header, TD report, signature, attestation key, QE report, QE report
 * signature, auth data, length fields, padding) is always swept in full. */
#define PEM_STRIDE 1

TestSuite(mutation, .timeout = 600);

/* ---- outcome tally ------------------------------------------------------------------------ */
#define MAX_OUTCOMES 64

typedef struct outcome {
    const char *label; /* check name, "accepted-unchanged" or a member name */
    cba_err err;
    size_t count;
} outcome;

typedef struct tally {
    outcome rows[MAX_OUTCOMES];
    size_t nrows;
    size_t mutants;
} tally;

static void tally_add(tally *t, const char *label, cba_err err)
{
    t->mutants++;
    for (size_t i = 0; i < t->nrows; i++) {
        if (t->rows[i].err == err && strcmp(t->rows[i].label, label) == 0) {
            t->rows[i].count++;
            return;
        }
    }
    cr_assert_lt(t->nrows, MAX_OUTCOMES, "too many distinct outcomes");
    t->rows[t->nrows++] = (outcome){ .label = label, .err = err, .count = 1 };
}

static void tally_print(const tally *t, const char *what)
{
    printf("mutation: %s: %zu mutants\n", what, t->mutants);
    for (size_t i = 0; i < t->nrows; i++) {
        printf("mutation:   %-22s %-34s %8zu\n", t->rows[i].label,
               t->rows[i].err == CBA_OK ? "-" : cba_err_name(t->rows[i].err), t->rows[i].count);
    }
    fflush(stdout);
}

/* ---- quotes ------------------------------------------------------------------------------- */
typedef struct quote_layout {
    size_t sig_end;  /* end of the signature data = start of the trailing padding */
    size_t pem_off;  /* PEM certification chain */
    size_t pem_len;
} quote_layout;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* layout_of reads the v4 layout of a known-good quote (header 48, TD report 584, sig_data_len,
 * ECDSA signature 64, attestation key 64, cert data type 6 header, QE report 384, its signature
 * 64, auth data, inner cert data type 5 header, PEM). */
static quote_layout layout_of(const tu_buf *q)
{
    quote_layout l;
    size_t auth_len, inner;
    cr_assert_gt(q->len, 1300);
    l.sig_end = 636 + (size_t)le32(q->data + 632);
    auth_len = (size_t)q->data[1218] | (size_t)q->data[1219] << 8;
    inner = 1220 + auth_len;
    l.pem_len = (size_t)le32(q->data + inner + 2);
    l.pem_off = inner + 6;
    cr_assert_eq(l.pem_off + l.pem_len, l.sig_end, "unexpected layout");
    cr_assert_leq(l.sig_end, q->len);
    return l;
}

typedef struct quote_sweep {
    const cba_policy *policy;
    const cba_collateral *collateral; /* NULL: cba_verify without collateral */
    int64_t at;
    tally t;
    size_t padding_flips;
} quote_sweep;

static cba_err verify_quote(quote_sweep *s, cba_report *r, const tu_buf *q)
{
    cba_evidence ev;
    cba_evidence_init(&ev);
    ev.quote = q->data;
    ev.quote_len = q->len;
    cba_report_init(r);
    if (s->collateral != NULL) {
        return cba_verify_with(r, s->policy, s->collateral, &ev, s->at);
    }
    return cba_verify(r, s->policy, &ev, s->at);
}

static void flip_quote_bit(quote_sweep *s, tu_buf *q, size_t i, unsigned bit, bool padding)
{
    cba_report r;
    cba_err e;
    q->data[i] ^= (uint8_t)(1u << bit);
    e = verify_quote(s, &r, q);
    q->data[i] ^= (uint8_t)(1u << bit);
    cr_assert_neq(e, CBA_OK, "byte %zu bit %u: mutant accepted", i, bit);
    cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED, "byte %zu bit %u", i, bit);
    cr_assert_eq(r.error.code, e, "byte %zu bit %u: report and return disagree", i, bit);
    cr_assert_not(r.has_quote, "byte %zu bit %u: rejected quote's fields published", i, bit);
    if (padding) {
        cr_assert_eq(e, CBA_E_QUOTE_TRAILING_DATA, "byte %zu bit %u (padding): %s", i, bit,
                     cba_err_name(e));
        s->padding_flips++;
    }
    tally_add(&s->t, r.failed_check < CBA_CHECK_COUNT ? cba_check_name(r.failed_check) : "?", e);
}

static void sweep_quote(quote_sweep *s, tu_buf *q, const char *what)
{
    cba_report r;
    quote_layout l = layout_of(q);
    size_t sampled_pem = 0;
    cr_assert_eq(verify_quote(s, &r, q), CBA_OK, "baseline: %s", r.error.detail);
    for (size_t i = 0; i < q->len; i++) {
        bool in_pem = i >= l.pem_off && i < l.pem_off + l.pem_len;
        if (in_pem && (i - l.pem_off) % PEM_STRIDE != 0) {
            continue;
        }
        sampled_pem += in_pem;
        for (unsigned bit = 0; bit < 8; bit++) {
            flip_quote_bit(s, q, i, bit, i >= l.sig_end);
        }
    }
    /* Restored byte for byte: the original still verifies. */
    cr_assert_eq(verify_quote(s, &r, q), CBA_OK, "after sweep: %s", r.error.detail);
    cr_assert_eq(s->padding_flips, (q->len - l.sig_end) * 8);
    printf("mutation: %s: %zu bytes (signed 632, signature data %zu, PEM chain %zu of which "
           "%zu swept, padding %zu)\n",
           what, q->len, l.sig_end - 636, l.pem_len, sampled_pem, q->len - l.sig_end);
    tally_print(&s->t, what);
}

Test(mutation, crabbox_quote_every_bit_flip_rejected)
{
    tu_buf q;
    cba_policy p;
    quote_sweep s = { 0 };
    TU_REAL_OR_SKIP("crabbox/real_tdx_quote.bin", &q);
    cba_policy_init(&p);
    p.skip_dcap = true;
    p.one_shot = false;
    s.policy = &p;
    s.at = CRABBOX_AT;
    sweep_quote(&s, &q, "crabbox quote (--no-dcap)");
    cr_assert_eq(s.padding_flips, 70 * 8);
    tu_buf_free(&q);
}

Test(mutation, dcap_qvl_quote_every_bit_flip_rejected)
{
    tu_buf q, coll;
    cba_policy p;
    cba_report r;
    cba_collateral *c = NULL;
    quote_sweep s = { 0 };
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote", &q);
    TU_REAL_OR_SKIP("dcap-qvl-tdx/tdx_quote_collateral.json", &coll);
    cba_policy_init(&p);
    cba_report_init(&r);
    cr_assert_eq(cba_collateral_verify(&c, &r, &p, coll.data, coll.len, DCAP_QVL_AT), CBA_OK,
                 "%s", r.error.detail);
    s.policy = &p;
    s.collateral = c;
    s.at = DCAP_QVL_AT;
    sweep_quote(&s, &q, "dcap-qvl quote (collateral, fast path)");
    cr_assert_eq(s.padding_flips, 70 * 8);
    cba_collateral_free(c);
    tu_buf_free(&q);
    tu_buf_free(&coll);
}
