/* test_alloc_torture.c — allocation-failure torture (issue 17 §7; curl's torture test is the
 * model): each real fixture is verified once to count its allocations, then once for every N
 * with exactly the Nth allocation failing. Every run must end in a clean CBA_E_NOMEM (rejected,
 * error code NOMEM, the failed check named) or, where an allocation is optional, in the very
 * outcome of the unfailed run; never a crash, a sanitizer report or a leak.
 *
 * Allocations seen: the verifier's own malloc / calloc / realloc (this test binary is linked with
 * -Wl,--wrap=malloc,... so the hook lives here only: the library has no allocator state of its
 * own), wolfCrypt's (wolfSSL_SetAllocators) and json-c tokener creation (--wrap of
 * json_tokener_new_ex). json-c's allocations inside a parse have no hook in json-c 0.16 and are
 * not failed. Leaks: every allocation seen is tracked and must be freed when cba_verify returns;
 * under ASan, LeakSanitizer also checks the whole heap after each fixture's sweep. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/memory.h>

#include "crabbox/verifier.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TORTURE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TORTURE_LSAN 1
#endif
#endif
#ifdef TORTURE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
json_tokener *__real_json_tokener_new_ex(int depth);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
json_tokener *__wrap_json_tokener_new_ex(int depth);

/* The hook's state: this test binary's only, one test process at a time (--jobs 1 and Criterion's
 * process per test). */
#define LIVE_CAP (1u << 17)
static struct {
    bool armed;
    unsigned long count;   /* allocations seen while armed */
    unsigned long fail_at; /* 1-based; 0 = never fail */
    bool failed;           /* the fail_at-th allocation was failed */
    size_t num_live;
    void *live[LIVE_CAP]; /* open addressing; NULL empty, (void *)1 deleted */
} g_t;

#define TOMB ((void *)1)

static size_t slot_of(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull) & (LIVE_CAP - 1);
}

static void live_add(void *p)
{
    size_t i = slot_of(p);
    cr_assert_lt(g_t.num_live, LIVE_CAP / 2, "too many live allocations to track");
    while (g_t.live[i] != NULL && g_t.live[i] != TOMB) { i = (i + 1) & (LIVE_CAP - 1); }
    g_t.live[i] = p;
    g_t.num_live++;
}

static void live_remove(const void *p)
{
    size_t i = slot_of(p);
    while (g_t.live[i] != NULL) {
        if (g_t.live[i] == p) {
            g_t.live[i] = TOMB;
            g_t.num_live--;
            return;
        }
        i = (i + 1) & (LIVE_CAP - 1);
    }
}

static void live_reset(void)
{
    memset(g_t.live, 0, sizeof g_t.live);
    g_t.num_live = 0;
}

/* should_fail counts one allocation and says whether it is the one to fail. */
static bool should_fail(void)
{
    if (!g_t.armed) { return false; }
    g_t.count++;
    if (g_t.fail_at != 0 && g_t.count == g_t.fail_at) {
        g_t.failed = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    void *p;
    if (should_fail()) { return NULL; }
    p = __real_malloc(n);
    if (p != NULL && g_t.armed) { live_add(p); }
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p;
    if (should_fail()) { return NULL; }
    p = __real_calloc(n, size);
    if (p != NULL && g_t.armed) { live_add(p); }
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    void *p;
    if (should_fail()) { return NULL; }
    p = __real_realloc(old, n);
    if (p != NULL && g_t.armed) {
        if (old != NULL) { live_remove(old); }
        live_add(p);
    }
    return p;
}

void __wrap_free(void *p)
{
    if (p != NULL) { live_remove(p); }
    __real_free(p);
}

json_tokener *__wrap_json_tokener_new_ex(int depth)
{
    if (should_fail()) { return NULL; }
    return __real_json_tokener_new_ex(depth); /* json-c frees it itself: not tracked */
}

static void *wolf_malloc(size_t n) { return __wrap_malloc(n); }
static void wolf_free(void *p) { __wrap_free(p); }
static void *wolf_realloc(void *p, size_t n) { return __wrap_realloc(p, n); }

typedef struct fixture {
    const char *name;
    const char *quote, *info, *collateral; /* under fixtures/real; NULL = not given */
    int64_t at;
    bool skip_dcap;
    bool two_step; /* cba_collateral_verify then cba_verify_with */
    cba_err want;  /* the unfailed outcome */
    unsigned long min_allocs; /* fewer seen: the hook is not in place */
} fixture;

typedef struct loaded {
    tu_buf quote, info, coll;
} loaded;

static cba_err verify_once(const fixture *f, const loaded *l, cba_report *r)
{
    cba_policy p;
    cba_evidence ev;
    cba_err rc;
    cba_policy_init(&p);
    cba_evidence_init(&ev);
    cba_report_init(r);
    p.skip_dcap = f->skip_dcap;
    p.one_shot = true;
    if (f->quote) { ev.quote = l->quote.data; ev.quote_len = l->quote.len; }
    if (f->info) { ev.info_json = l->info.data; ev.info_json_len = l->info.len; }
    if (f->collateral && !f->two_step) {
        ev.collateral_json = l->coll.data;
        ev.collateral_json_len = l->coll.len;
    }
    g_t.armed = true;
    if (f->two_step) {
        cba_collateral *c = NULL;
        cba_report cr;
        cba_report_init(&cr);
        rc = cba_collateral_verify(&c, &cr, &p, l->coll.data, l->coll.len, f->at);
        if (rc != CBA_OK) {
            *r = cr;
        } else {
            rc = cba_verify_with(r, &p, c, &ev, f->at);
        }
        cba_collateral_free(c);
    } else {
        rc = cba_verify(r, &p, &ev, f->at);
    }
    g_t.armed = false;
    return rc;
}

static void torture(const fixture *f)
{
    loaded l = { 0 };
    cba_report base, r;
    unsigned long total, nomem = 0, same = 0;
    cba_err rc;

    if (f->quote) { TU_REAL_FIXTURE(f->quote, &l.quote); }
    if (f->info) { TU_REAL_FIXTURE(f->info, &l.info); }
    if (f->collateral) { TU_REAL_FIXTURE(f->collateral, &l.coll); }
    cr_assert_eq(wolfSSL_SetAllocators(wolf_malloc, wolf_free, wolf_realloc), 0);

    /* The unfailed run: its outcome and its number of allocations. */
    live_reset();
    g_t.count = 0;
    g_t.fail_at = 0;
    rc = verify_once(f, &l, &base);
    cr_assert_eq(rc, f->want, "%s: unfailed run: %s (%s: %s)", f->name, cba_err_name(rc),
                 cba_check_name(base.failed_check), base.error.detail);
    cr_assert_eq(g_t.num_live, 0, "%s: unfailed run leaks %zu allocations", f->name, g_t.num_live);
    total = g_t.count;
    cr_assert_geq(total, f->min_allocs, "%s: only %lu allocations seen: is the hook linked in?",
                  f->name, total);

    for (unsigned long n = 1;; n++) {
        live_reset();
        g_t.count = 0;
        g_t.fail_at = n;
        g_t.failed = false;
        rc = verify_once(f, &l, &r);
        cr_assert_eq(g_t.num_live, 0, "%s: failing allocation %lu of %lu leaks %zu allocations",
                     f->name, n, total, g_t.num_live);
        if (!g_t.failed) { /* the run had fewer than n allocations: done */
            cr_assert_eq(rc, f->want, "%s: run without a failure: %s", f->name, cba_err_name(rc));
            cr_assert_geq(n, total, "%s: the runs allocate less than the first (%lu < %lu)", f->name,
                          n - 1, total);
            break;
        }
        cr_assert_lt(n, 4 * total + 100, "%s: the allocations never end", f->name);
        if (rc == CBA_E_NOMEM) {
            cr_assert_eq(r.verdict, CBA_VERDICT_REJECTED, "%s: NOMEM at %lu but verified", f->name, n);
            cr_assert_eq(r.error.code, CBA_E_NOMEM, "%s: allocation %lu", f->name, n);
            cr_assert_lt(r.failed_check, CBA_CHECK_COUNT, "%s: NOMEM at %lu names no check", f->name, n);
            nomem++;
        } else {
            /* An optional allocation: the outcome must be exactly the unfailed one. */
            cr_assert_eq(rc, f->want, "%s: failing allocation %lu of %lu gave %s (%s: %s), not "
                         "CBA_E_NOMEM", f->name, n, total, cba_err_name(rc),
                         cba_check_name(r.failed_check), r.error.detail);
            cr_assert_eq(r.verdict, base.verdict);
            cr_assert_eq(r.failed_check, base.failed_check);
            cr_assert_eq(memcmp(r.rtmr, base.rtmr, sizeof r.rtmr), 0);
            cr_assert_eq(memcmp(r.mrtd, base.mrtd, sizeof r.mrtd), 0);
            same++;
        }
    }
    cr_assert_eq(wolfSSL_SetAllocators(NULL, NULL, NULL), 0);
#ifdef TORTURE_LSAN
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "%s: LeakSanitizer found leaks", f->name);
#endif
    cr_log_info("%s: %lu allocations, each failed once: %lu CBA_E_NOMEM, %lu optional (same outcome)",
                f->name, total, nomem, same);
    fprintf(stderr, "torture %s: %lu allocations, each failed once: %lu CBA_E_NOMEM, %lu optional\n",
            f->name, total, nomem, same);
    cr_assert_eq(nomem + same, total);
    tu_buf_free(&l.quote);
    tu_buf_free(&l.info);
    tu_buf_free(&l.coll);
}

TestSuite(alloc_torture, .timeout = 900);

Test(alloc_torture, crabbox_info_and_quote)
{
    static const fixture f = { "crabbox", "crabbox/real_tdx_quote.bin",
                               "crabbox/real_attestation_info.json", NULL, 1774003274, true, false,
                               CBA_OK, 100 };
    torture(&f);
}

Test(alloc_torture, dcap_qvl_tdx_with_collateral)
{
    static const fixture f = { "dcap-qvl-tdx", "dcap-qvl-tdx/tdx_quote", NULL,
                               "dcap-qvl-tdx/tdx_quote_collateral.json", 1752919234, false, false,
                               CBA_OK, 100 };
    torture(&f);
}

Test(alloc_torture, dcap_qvl_tdx_collateral_verified_once)
{
    static const fixture f = { "dcap-qvl-tdx two-step", "dcap-qvl-tdx/tdx_quote", NULL,
                               "dcap-qvl-tdx/tdx_quote_collateral.json", 1752919234, false, true,
                               CBA_OK, 100 };
    torture(&f);
}

Test(alloc_torture, dcap_qvl_sgx_rejected)
{
    static const fixture f = { "dcap-qvl-sgx", "dcap-qvl-sgx/sgx_quote", NULL,
                               "dcap-qvl-sgx/sgx_quote_collateral.json", 1752919277, false, false,
                               CBA_E_QUOTE_UNSUPPORTED, 1 };
    torture(&f);
}
