/* test_mutation.c — single-bit mutation sweeps over real evidence (issue 7, part 2).
 *
 * Quotes: every single-bit flip of the crabbox quote (--no-dcap policy at its capture time) and of
 * the dcap-qvl sample quote (its collateral verified once with cba_collateral_verify, then
 * cba_verify_with per mutant) must be rejected — never accepted, never a crash, and nothing from
 * the quote published (has_quote false). Flips in the trailing zero padding after the signature
 * data make a non-zero trailing byte: they must be rejected with exactly CBA_E_QUOTE_TRAILING_DATA.
 *
 * Info response (sampled: every 7th byte, one rotating bit — the full 385k-mutant sweep takes
 * ~7 minutes under ASan): a flip of a byte of the JSON text is allowed one of two outcomes:
 *   - rejected (any check), or
 *   - verified with a report whose every fact (measurements, report data, TCB, dstack claims,
 *     event count, RA-TLS binding, per-check status) is identical to the unmutated one, AND the
 *     flip is one of:
 *       a case change of a hex letter (bit 5 of a-f/A-F): the decoded bytes are the same;
 *       inside a member name: the member is renamed, i.e. unknown and ignored — acceptable
 *         only because the report is identical (the member was an optional, redundant claim);
 *       inside a member listed in k_unbound_members: bytes nothing authenticates and nothing
 *         reports (docs/user-guide.md, "What is not covered").
 *   Anything else that leaves the verdict "verified" fails the test (listed as VIOLATION).
 *
 * Each sweep prints the number of mutants and their outcomes by failing check and error code. */
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
/* Info responses (48 KB: ~385k single-bit mutants, ~7 min under ASan): every INFO_STRIDE-th
 * byte, one bit each, the bit rotating with the byte index ((i / INFO_STRIDE) % 8), so every bit
 * position is sampled across the whole text. */
#define INFO_STRIDE 7

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
    cba_evidence ev = { .quote = q->data, .quote_len = q->len };
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

/* ---- Info response ------------------------------------------------------------------------ */

/* Members of the crabbox Info response that no check reads or reports (names as label_at writes
 * them): a flip inside them that keeps the JSON valid must leave every reported fact unchanged.
 *   app_name, cloud_vendor, cloud_product, vm_config, device_id, key_provider_info (top level)
 *     and tcb_info.device_id: descriptive claims; the verifier compares the app_id, compose_hash,
 *     MRTD and RTMR claims with the quote / measured events, not these (the key provider that
 *     counts is the key-provider event's payload, which is measured).
 *   event_payload, event, event_type of boot events (imr 0-2): informational — a boot event's
 *     digest is the hash of what firmware measured, not of the payload, and only the digest is
 *     replayed into RTMR0-2.
 *   app_cert outside the public key and the quote / event-log extensions: the app certificate is
 *     signed by the dstack KMS app CA, which a verifier without the KMS root cannot check; only
 *     its SubjectPublicKeyInfo is bound (RA-TLS: report data = SHA-512("ratls-cert:" || SPKI)).
 * Each accepted flip is attributed by label_at; the quote and event-log parts of app_cert, and
 * runtime events, still have to pass same_facts (a flip there is rejected in practice). */
static const char *const k_unbound_members[] = {
    "app_name", "cloud_vendor", "cloud_product", "vm_config", "device_id", "key_provider_info",
    "app_cert", "tcb_info.event_payload", "tcb_info.event", "tcb_info.event_type",
    "tcb_info.device_id", NULL,
    /* mr_aggregated and instance_id were listed here until this sweep found them unchecked; the
     * verifier now recomputes mr_aggregated from the quote and compares the instance_id claim
     * with the instance-id event (quote_measurements). */
};

/* same_value: a flip of bit 5 of a hex letter only changes its case: the decoded bytes are
 * identical, so an unchanged verdict is the right outcome wherever hex is decoded. */
static bool same_value(uint8_t c, unsigned bit)
{
    return bit == 5 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* member_at names the JSON member a byte belongs to: "key:NAME" when offset i lies inside the
 * member name NAME itself (a flip there renames the member), else NAME of the nearest `"NAME":`
 * (or the escaped `\"NAME\":` inside the tcb_info string) before i. "" when there is none. */
static void member_at(const uint8_t *s, size_t len, size_t i, char *out, size_t cap)
{
    size_t k = i;
    out[0] = '\0';
    /* Inside a name: the next quote after i is immediately followed by ':'. */
    while (k < len && s[k] != '"' && s[k] != ':' && s[k] != ',' && s[k] != '{') {
        k++;
    }
    if (k + 1 < len && s[k] == '"' && s[k + 1] == ':') {
        size_t start = i;
        while (start > 0 && s[start - 1] != '"') {
            start--;
        }
        size_t end = k > start && s[k - 1] == '\\' ? k - 1 : k;
        if (end >= start && end - start + 5 < cap) {
            memcpy(out, "key:", 4);
            memcpy(out + 4, s + start, end - start);
            out[4 + end - start] = '\0';
        }
        return;
    }
    for (k = i; k-- > 1;) {
        size_t end, start;
        if (s[k] != ':' || s[k - 1] != '"') {
            continue;
        }
        end = k - 1;
        if (end > 0 && s[end - 1] == '\\') {
            end--;
        }
        start = end;
        while (start > 0 && s[start - 1] != '"') {
            start--;
        }
        if (end - start < cap) {
            memcpy(out, s + start, end - start);
            out[end - start] = '\0';
        }
        return;
    }
}

/* label_at: the top-level member of the Info object whose name or string value holds offset i
 * ("key:NAME" inside a name); inside the tcb_info string (escaped JSON), the innermost member
 * there, prefixed "tcb_info.". Every top-level value of the fixture is a string. */
static void label_at(const uint8_t *s, size_t len, size_t i, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    while (k < len && s[k] != '"') {
        k++;
    }
    while (k < len && s[k] == '"') {
        size_t ks = ++k, ke, vs;
        while (k < len && s[k] != '"') {
            k++;
        }
        ke = k;
        k += 2; /* '"' ':' */
        if (k >= len || s[k] != '"') {
            return;
        }
        vs = ++k;
        while (k < len && s[k] != '"') {
            k += s[k] == '\\' ? 2 : 1;
        }
        if (i >= ks - 1 && i < vs) {
            snprintf(out, cap, "key:%.*s", (int)(ke - ks), (const char *)s + ks);
            return;
        }
        if (i >= vs && i <= k) {
            if (ke - ks == 8 && memcmp(s + ks, "tcb_info", 8) == 0) {
                char inner[40];
                member_at(s, k, i, inner, sizeof inner);
                snprintf(out, cap, "tcb_info.%s", inner);
            } else {
                snprintf(out, cap, "%.*s", (int)(ke - ks), (const char *)s + ks);
            }
            return;
        }
        k++; /* closing quote */
        while (k < len && s[k] != '"' && s[k] != '}') {
            k++;
        }
    }
}

static bool is_unbound(const char *member)
{
    /* A renamed member is an unknown member, which is ignored: acceptable only when the report
     * is identical (checked by the caller), i.e. the member was an optional, redundant claim. */
    if (strstr(member, "key:") != NULL) {
        return true;
    }
    for (size_t k = 0; k_unbound_members[k] != NULL; k++) {
        if (strcmp(member, k_unbound_members[k]) == 0) {
            return true;
        }
    }
    return false;
}

/* same_facts: every fact the report publishes is identical. */
static bool same_facts(const cba_report *a, const cba_report *b)
{
    for (int c = 0; c < CBA_CHECK_COUNT; c++) {
        if (a->checks[c].status != b->checks[c].status) {
            return false;
        }
    }
    return a->verdict == b->verdict && a->has_quote == b->has_quote &&
           a->quote_version == b->quote_version && a->body_type == b->body_type &&
           memcmp(a->tee_tcb_svn, b->tee_tcb_svn, sizeof a->tee_tcb_svn) == 0 &&
           memcmp(a->mrseam, b->mrseam, sizeof a->mrseam) == 0 &&
           memcmp(a->mrsignerseam, b->mrsignerseam, sizeof a->mrsignerseam) == 0 &&
           a->td_attributes == b->td_attributes && a->xfam == b->xfam &&
           memcmp(a->mrtd, b->mrtd, sizeof a->mrtd) == 0 &&
           memcmp(a->mrconfigid, b->mrconfigid, sizeof a->mrconfigid) == 0 &&
           memcmp(a->mrowner, b->mrowner, sizeof a->mrowner) == 0 &&
           memcmp(a->mrownerconfig, b->mrownerconfig, sizeof a->mrownerconfig) == 0 &&
           memcmp(a->rtmr, b->rtmr, sizeof a->rtmr) == 0 &&
           memcmp(a->report_data, b->report_data, sizeof a->report_data) == 0 &&
           a->trailing_zero_bytes == b->trailing_zero_bytes && a->has_pck == b->has_pck &&
           memcmp(a->fmspc, b->fmspc, sizeof a->fmspc) == 0 &&
           memcmp(a->ppid, b->ppid, sizeof a->ppid) == 0 && a->has_tcb == b->has_tcb &&
           a->tcb_status == b->tcb_status && a->has_dstack == b->has_dstack &&
           a->has_app_id == b->has_app_id && memcmp(a->app_id, b->app_id, sizeof a->app_id) == 0 &&
           a->has_compose_hash == b->has_compose_hash &&
           memcmp(a->compose_hash, b->compose_hash, sizeof a->compose_hash) == 0 &&
           a->has_instance_id == b->has_instance_id &&
           memcmp(a->instance_id, b->instance_id, sizeof a->instance_id) == 0 &&
           a->num_events == b->num_events && a->ratls_bound == b->ratls_bound &&
           a->mrconfigid_version == b->mrconfigid_version;
}

Test(mutation, crabbox_info_bit_flips_rejected_or_unchanged)
{
    tu_buf info;
    cba_policy p;
    cba_report base, r;
    cba_evidence ev = { 0 };
    tally t = { 0 }, accepted = { 0 };
    char member[64];
    static char members[MAX_OUTCOMES][64]; /* labels of `accepted` (outlive the loop) */
    size_t nmembers = 0, violations = 0;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    cba_policy_init(&p);
    p.skip_dcap = true;
    ev.info_json = info.data;
    ev.info_json_len = info.len;
    cr_assert_eq(cba_verify(&base, &p, &ev, CRABBOX_AT), CBA_OK, "baseline: %s",
                 base.error.detail);
    for (size_t i = 0; i < info.len; i += INFO_STRIDE) {
        {
            unsigned bit = (unsigned)((i / INFO_STRIDE) % 8);
            cba_err e;
            info.data[i] ^= (uint8_t)(1u << bit);
            e = cba_verify(&r, &p, &ev, CRABBOX_AT);
            info.data[i] ^= (uint8_t)(1u << bit);
            if (e != CBA_OK) {
                cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED);
                cr_assert_not(r.has_quote || r.has_dstack, "byte %zu: rejected facts published", i);
                tally_add(&t, r.failed_check < CBA_CHECK_COUNT ? cba_check_name(r.failed_check)
                                                               : "?", e);
                continue;
            }
            label_at(info.data, info.len, i, member, sizeof member);
            if (!same_facts(&base, &r) || !(is_unbound(member) || same_value(info.data[i], bit))) {
                /* Listed (first 40) and counted; the test fails after the sweep. */
                if (violations++ < 40) {
                    printf("mutation: VIOLATION byte %zu bit %u ('%c' in \"%s\"): verified%s\n", i,
                           bit, info.data[i], member,
                           same_facts(&base, &r) ? " in a member that should be bound"
                                                 : " with different facts");
                }
                continue;
            }
            tally_add(&t, "accepted-unchanged", CBA_OK);
            if (same_value(info.data[i], bit) && !is_unbound(member)) {
                tally_add(&accepted, "hex case flip", CBA_OK);
                continue;
            }
            size_t m = 0;
            while (m < nmembers && strcmp(members[m], member) != 0) {
                m++;
            }
            if (m == nmembers) {
                cr_assert_lt(nmembers, MAX_OUTCOMES);
                memcpy(members[nmembers++], member, sizeof member);
            }
            tally_add(&accepted, members[m], CBA_OK);
        }
    }
    cr_assert_eq(cba_verify(&r, &p, &ev, CRABBOX_AT), CBA_OK, "after sweep: %s", r.error.detail);
    printf("mutation: crabbox Info: %zu bytes, every %d-th byte, one rotating bit\n", info.len,
           INFO_STRIDE);
    tally_print(&t, "crabbox Info (--no-dcap)");
    tally_print(&accepted, "crabbox Info accepted-unchanged mutants by JSON member");
    tu_buf_free(&info);
    cr_assert_eq(violations, 0, "%zu flips accepted outside the informational members "
                 "(listed above)", violations);
}
