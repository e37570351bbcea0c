/* bench_verify.c — how fast the verifier is, measured against the wolfCrypt floor.
 *
 * Modes (single thread, real inputs: a TDX quote and its QuoteCollateralV3 JSON):
 *   a       one-shot cba_verify with the collateral JSON (parse + authenticate everything)
 *   a-cold  the same after emptying wolfSSL's FP_ECC point cache, as in a fresh process
 *   b       fast path: cba_verify_with against collateral verified once
 *   coll    cba_collateral_verify + cba_collateral_free alone (what (a) adds to (b))
 *   ecdsa   one wc_ecc_verify_hash with an already imported P-256 key (the floor)
 *   ecdsa-import  the verifier's own check, cba_ecdsa_p256_verify: key import, on-curve check,
 *                 range checks and the verification (the bundled build calls sp_ecc_verify_256)
 *   ecdsa-cold    ecdsa after emptying the FP_ECC cache: a key (and G) without precomputed tables
 *   sha256, sha384  one hash of 5 KiB
 * Without --iters every mode (or only --mode M) is timed: a warm-up, then 5 repetitions, each
 * running for at least --seconds/5 of wall time (CLOCK_MONOTONIC); the median repetition is
 * reported, with the median CPU time of the thread next to it. With --iters N only the named
 * mode runs, N times inside measured_loop(), so that
 *     valgrind --tool=callgrind --toggle-collect=measured_loop ./bench_verify --mode a --iters N
 * counts exactly N operations (the warm-up, file reading and setup are outside that function).
 *
 * The program exits non-zero if any verification does not give VERIFIED / UpToDate, so a fast
 * wrong answer can never pass for a result. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>
#include <wolfssl/version.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <crabbox/verifier.h>

#include "crypto.h" /* cba_ecdsa_p256_verify: the verifier's path (bench/ may reach internals) */

#ifndef CBA_BENCH_FIXTURES
#define CBA_BENCH_FIXTURES "fixtures/real/dcap-qvl-tdx"
#endif
#define DEFAULT_AT 1752919234
#define REPS 5
#define WARMUP_ITERS 5 /* wolfSSL's FP_ECC cache builds a point's table on its second use */
#define HASH_INPUT_LEN 5120
#define FILE_CAP (1u << 20)

/* TDX quote v4: 48-byte header + 584-byte TD 1.0 body are signed; then u32 sig_data_len, the
 * 64-byte r||s quote signature and the 64-byte X||Y attestation key (dcap-spec §1.4, §1.7). */
#define QUOTE_SIGNED_LEN 632u
#define QUOTE_SIG_OFF 636u
#define QUOTE_KEY_OFF 700u

typedef struct bench_ctx {
    cba_policy policy;
    cba_evidence ev_a;          /* quote + collateral JSON */
    cba_evidence ev_b;          /* quote only */
    cba_collateral *coll;       /* verified once, for mode b */
    const uint8_t *coll_json;
    size_t coll_json_len;
    int64_t now;
    cba_report report;
    /* ECDSA floor: the quote's own signature over its header and body. */
    uint8_t digest[32];
    uint8_t pub_xy[64];
    uint8_t sig_rs[64];
    byte sig_der[80];
    word32 sig_der_len;
    ecc_key key;
    bool key_inited;
    uint8_t hash_in[HASH_INPUT_LEN];
    uint8_t hash_out[64];
} bench_ctx;

typedef bool (*bench_op)(bench_ctx *ctx);

static bool report_ok(const bench_ctx *ctx, cba_err rc)
{
    return rc == CBA_OK && ctx->report.verdict == CBA_VERDICT_VERIFIED &&
           ctx->report.has_tcb && ctx->report.tcb_status == CBA_TCB_UP_TO_DATE;
}

static bool op_a(bench_ctx *ctx)
{
    cba_err rc = cba_verify(&ctx->report, &ctx->policy, &ctx->ev_a, ctx->now);
    return report_ok(ctx, rc);
}

/* op_a_cold empties wolfSSL's fixed-point cache first (FP_ECC in this build), so the run pays
 * what a fresh process pays: the tables for every point used twice are built again. */
static bool op_a_cold(bench_ctx *ctx)
{
#if defined(CBA_HAVE_WC_ECC_FP_FREE)
    wc_ecc_fp_free();
#endif
    return op_a(ctx);
}

static bool op_b(bench_ctx *ctx)
{
    cba_err rc = cba_verify_with(&ctx->report, &ctx->policy, ctx->coll, &ctx->ev_b, ctx->now);
    return report_ok(ctx, rc);
}

static bool op_coll(bench_ctx *ctx)
{
    cba_collateral *c = NULL;
    cba_err rc = cba_collateral_verify(&c, &ctx->report, &ctx->policy, ctx->coll_json,
                                       ctx->coll_json_len, ctx->now);
    cba_collateral_free(c);
    return rc == CBA_OK;
}

static bool op_ecdsa(bench_ctx *ctx)
{
    int res = 0;
    return wc_ecc_verify_hash(ctx->sig_der, ctx->sig_der_len, ctx->digest, 32, &res, &ctx->key) == 0 &&
           res == 1;
}

/* op_ecdsa_cold verifies with an empty fixed-point cache: what a key seen for the first time
 * costs (no precomputed table for G or Q). */
static bool op_ecdsa_cold(bench_ctx *ctx)
{
#if defined(CBA_HAVE_WC_ECC_FP_FREE)
    wc_ecc_fp_free();   /* without FP_ECC (SP assembly) there is no cache: the same as op_ecdsa */
#endif
    return op_ecdsa(ctx);
}

/* op_ecdsa_import is the verifier's own signature check, cba_ecdsa_p256_verify
 * (verifier/src/crypto.c): range checks, key import, on-curve check and the verification, by
 * whichever path this wolfSSL gives it (with the bundled library, sp_ecc_verify_256 directly). */
static bool op_ecdsa_import(bench_ctx *ctx)
{
    return cba_ecdsa_p256_verify(ctx->pub_xy, ctx->digest, ctx->sig_rs);
}

static bool op_sha256(bench_ctx *ctx)
{
    wc_Sha256 h;
    bool ok = wc_InitSha256(&h) == 0 && wc_Sha256Update(&h, ctx->hash_in, HASH_INPUT_LEN) == 0 &&
              wc_Sha256Final(&h, ctx->hash_out) == 0;
    wc_Sha256Free(&h);
    return ok;
}

static bool op_sha384(bench_ctx *ctx)
{
    wc_Sha384 h;
    bool ok = wc_InitSha384(&h) == 0 && wc_Sha384Update(&h, ctx->hash_in, HASH_INPUT_LEN) == 0 &&
              wc_Sha384Final(&h, ctx->hash_out) == 0;
    wc_Sha384Free(&h);
    return ok;
}

static const struct mode {
    const char *name;
    const char *label;
    bench_op op;
    bool cold; /* empties the FP_ECC cache itself: warming up would only cost time */
} k_modes[] = {
    { "a", "(a) one-shot cba_verify + collateral JSON", op_a, false },
    { "a-cold", "    (a) with wolfSSL's FP_ECC cache emptied", op_a_cold, true },
    { "b", "(b) fast path cba_verify_with", op_b, false },
    { "coll", "    cba_collateral_verify alone", op_coll, false },
    { "ecdsa", "(d) ECDSA-P256 verify (key imported)", op_ecdsa, false },
    { "ecdsa-import", "    ECDSA-P256 as the verifier checks it (import + verify)", op_ecdsa_import, false },
    { "ecdsa-cold", "    ECDSA-P256 verify, FP_ECC cache emptied", op_ecdsa_cold, true },
    { "sha256", "(d) SHA-256 of 5 KiB", op_sha256, false },
    { "sha384", "(d) SHA-384 of 5 KiB", op_sha384, false },
};
#define NUM_MODES (sizeof k_modes / sizeof k_modes[0])

static size_t mode_index(const char *name)
{
    size_t i = 0;
    while (i + 1 < NUM_MODES && strcmp(k_modes[i].name, name) != 0) { i++; }
    return i;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* measured_loop is the only function callgrind collects in (--toggle-collect); keep it out of
 * line so that its name exists. Returns false on the first wrong result. */
__attribute__((noinline)) static bool measured_loop(bench_ctx *ctx, bench_op op, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (!op(ctx)) { return false; }
    }
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* time_op: warm-up, then REPS repetitions of at least rep_seconds of wall time each. *out_us is
 * the median wall-clock µs/op (CLOCK_MONOTONIC), *out_cpu_us the median of this thread's CPU time
 * per op: on a shared, loaded machine the second is the steadier figure. */
static bool time_op(bench_ctx *ctx, bench_op op, double rep_seconds, double *out_us,
                    double *out_cpu_us)
{
    double per_op[REPS], cpu_per_op[REPS];
    double t0 = now_seconds();
    uint64_t warm = 0;
    /* Warm caches, the allocator and wolfSSL's fixed-point tables: a fixed count and a quarter
     * of a repetition's time. */
    while (warm < WARMUP_ITERS || now_seconds() - t0 < rep_seconds * 0.25) {
        if (!op(ctx)) { return false; }
        warm++;
    }
    for (int r = 0; r < REPS; r++) {
        uint64_t n = 0;
        double start = now_seconds(), cpu_start = cpu_seconds(), elapsed;
        do {
            if (!op(ctx)) { return false; }
            n++;
            elapsed = now_seconds() - start;
        } while (elapsed < rep_seconds);
        per_op[r] = elapsed / (double)n * 1e6;
        cpu_per_op[r] = (cpu_seconds() - cpu_start) / (double)n * 1e6;
    }
    qsort(per_op, REPS, sizeof per_op[0], cmp_double);
    qsort(cpu_per_op, REPS, sizeof cpu_per_op[0], cmp_double);
    *out_us = per_op[REPS / 2];
    *out_cpu_us = cpu_per_op[REPS / 2];
    return true;
}

static bool read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len;
    *out = NULL;
    *out_len = 0;
    if (f == NULL) {
        fprintf(stderr, "bench_verify: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    buf = malloc(FILE_CAP);
    if (buf == NULL) {
        fclose(f);
        fprintf(stderr, "bench_verify: out of memory\n");
        return false;
    }
    len = fread(buf, 1, FILE_CAP, f);
    if (ferror(f) || !feof(f)) {
        fprintf(stderr, "bench_verify: cannot read %s (or larger than %u bytes)\n", path, FILE_CAP);
        fclose(f);
        free(buf);
        return false;
    }
    fclose(f);
    *out = buf;
    *out_len = len;
    return true;
}

/* ---- throughput: N threads verifying quotes against one shared verified collateral ---------- */
typedef struct tput_thread {
    const bench_ctx *shared;  /* coll, policy, evidence, now: read only */
    atomic_bool *stop;
    atomic_uint_fast64_t ops;
    bool ok;
} tput_thread;

static void *tput_main(void *arg)
{
    tput_thread *t = arg;
    cba_report report;
    cba_report_init(&report); /* struct_size: every entry point checks it (CBA_E_STRUCT_SIZE) */
    while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
        cba_err rc = cba_verify_with(&report, &t->shared->policy, t->shared->coll,
                                     &t->shared->ev_b, t->shared->now);
        if (rc != CBA_OK || report.verdict != CBA_VERDICT_VERIFIED || !report.has_tcb ||
            report.tcb_status != CBA_TCB_UP_TO_DATE) {
            fprintf(stderr, "bench_verify: thread: %s at %s: %s\n",
                    cba_err_name(rc == CBA_OK ? report.error.code : rc), report.error.where,
                    report.error.detail);
            t->ok = false;
            return NULL;
        }
        atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
    }
    t->ok = true;
    return NULL;
}

static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* throughput runs n threads of (b) for `seconds` of wall time after a short warm-up in each;
 * *out_per_s is the total of verifications per second and *out_cpu_us the process's CPU time per
 * verification over the same window (it stays flat when the threads do not slow each other down,
 * whether or not the machine has n idle CPUs). False on a wrong result. */
static bool throughput(const bench_ctx *ctx, int n, double seconds, double *out_per_s,
                       double *out_cpu_us)
{
    enum { MAX_THREADS = 16 };
    pthread_t tid[MAX_THREADS];
    tput_thread t[MAX_THREADS];
    atomic_bool stop;
    uint64_t before = 0, total = 0;
    double t0, c0;
    bool ok = true;
    struct timespec nap = { 0, 0 };
    if (n < 1 || n > MAX_THREADS) { return false; }
    atomic_init(&stop, false);
    for (int i = 0; i < n; i++) {
        t[i].shared = ctx;
        t[i].stop = &stop;
        t[i].ok = false;
        atomic_init(&t[i].ops, 0);
        if (pthread_create(&tid[i], NULL, tput_main, &t[i]) != 0) {
            atomic_store(&stop, true);
            for (int j = 0; j < i; j++) { pthread_join(tid[j], NULL); }
            return false;
        }
    }
    /* warm-up: a fifth of the time, then count from a snapshot */
    nap.tv_sec = (time_t)(seconds / 5);
    nap.tv_nsec = (long)((seconds / 5 - (double)nap.tv_sec) * 1e9);
    nanosleep(&nap, NULL);
    for (int i = 0; i < n; i++) { before += atomic_load_explicit(&t[i].ops, memory_order_relaxed); }
    t0 = now_seconds();
    c0 = process_cpu_seconds();
    nap.tv_sec = (time_t)seconds;
    nap.tv_nsec = (long)((seconds - (double)nap.tv_sec) * 1e9);
    nanosleep(&nap, NULL);
    for (int i = 0; i < n; i++) { total += atomic_load_explicit(&t[i].ops, memory_order_relaxed); }
    *out_per_s = (double)(total - before) / (now_seconds() - t0);
    *out_cpu_us = total > before ? (process_cpu_seconds() - c0) * 1e6 / (double)(total - before) : 0;
    atomic_store(&stop, true);
    for (int i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
        ok = ok && t[i].ok;
    }
    return ok;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_verify [--quote FILE] [--collateral FILE] [--at UNIX_SECONDS]\n"
            "                    [--mode M] [--seconds S] [--kv]      time every mode (or M)\n"
            "       bench_verify --mode a|a-cold|b|coll|ecdsa|ecdsa-import|ecdsa-cold|sha256|sha384\n"
            "                    --iters N\n"
            "                    run one mode N times in measured_loop() (for callgrind)\n"
            "       bench_verify --threads N [--seconds S] [--kv]\n"
            "                    (b) on 1 and on N threads sharing one verified collateral:\n"
            "                    verifications per second\n");
}

/* setup_floor extracts the quote's own ECDSA signature, key and digest for the floor modes. */
static bool setup_floor(bench_ctx *ctx)
{
    wc_Sha256 h;
    bool ok;
    if (ctx->ev_a.quote_len < QUOTE_KEY_OFF + 64) {
        fprintf(stderr, "bench_verify: quote too short for a v4 TDX quote\n");
        return false;
    }
    memcpy(ctx->sig_rs, ctx->ev_a.quote + QUOTE_SIG_OFF, 64);
    memcpy(ctx->pub_xy, ctx->ev_a.quote + QUOTE_KEY_OFF, 64);
    ok = wc_InitSha256(&h) == 0 && wc_Sha256Update(&h, ctx->ev_a.quote, QUOTE_SIGNED_LEN) == 0 &&
         wc_Sha256Final(&h, ctx->digest) == 0;
    wc_Sha256Free(&h);
    ctx->sig_der_len = sizeof ctx->sig_der;
    ctx->key_inited = ok && wc_ecc_init(&ctx->key) == 0;
    ok = ctx->key_inited &&
         wc_ecc_import_unsigned(&ctx->key, ctx->pub_xy, ctx->pub_xy + 32, NULL, ECC_SECP256R1) == 0 &&
         wc_ecc_rs_raw_to_sig(ctx->sig_rs, 32, ctx->sig_rs + 32, 32, ctx->sig_der,
                              &ctx->sig_der_len) == 0;
    for (size_t i = 0; i < HASH_INPUT_LEN; i++) {
        ctx->hash_in[i] = ctx->ev_a.quote[i % ctx->ev_a.quote_len];
    }
    if (!ok) { fprintf(stderr, "bench_verify: wolfCrypt setup failed\n"); }
    return ok;
}

int main(int argc, char **argv)
{
    const char *quote_path = CBA_BENCH_FIXTURES "/tdx_quote";
    const char *coll_path = CBA_BENCH_FIXTURES "/tdx_quote_collateral.json";
    const char *mode_name = NULL;
    uint64_t iters = 0;
    long threads = 0;
    double seconds = 2.0;
    bool kv = false;
    uint8_t *quote = NULL, *coll_json = NULL;
    size_t quote_len = 0, coll_len = 0;
    int status = 1;
    double us[NUM_MODES], cpu_us[NUM_MODES];
    bench_ctx *ctx = calloc(1, sizeof *ctx);

    if (ctx == NULL) { return 1; }
    ctx->now = DEFAULT_AT;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(arg, "--kv") == 0) {
            kv = true;
            continue;
        }
        if (val == NULL) {
            usage();
            goto out;
        }
        i++;
        if (strcmp(arg, "--quote") == 0) {
            quote_path = val;
        } else if (strcmp(arg, "--collateral") == 0) {
            coll_path = val;
        } else if (strcmp(arg, "--mode") == 0) {
            mode_name = val;
        } else if (strcmp(arg, "--at") == 0) {
            ctx->now = strtoll(val, &end, 10);
        } else if (strcmp(arg, "--iters") == 0) {
            iters = strtoull(val, &end, 10);
        } else if (strcmp(arg, "--threads") == 0) {
            threads = strtol(val, &end, 10);
        } else if (strcmp(arg, "--seconds") == 0) {
            seconds = strtod(val, &end);
        } else {
            usage();
            goto out;
        }
        if (end != NULL && (*end != '\0' || end == val)) {
            fprintf(stderr, "bench_verify: bad number for %s: %s\n", arg, val);
            goto out;
        }
    }
    if ((mode_name == NULL && iters != 0) || !(seconds > 0)) {
        usage();
        goto out;
    }
    if (!read_file(quote_path, &quote, &quote_len) || !read_file(coll_path, &coll_json, &coll_len)) {
        goto out;
    }

    cba_policy_init(&ctx->policy);
    cba_report_init(&ctx->report);
    cba_evidence_init(&ctx->ev_a);
    ctx->ev_a.quote = quote;
    ctx->ev_a.quote_len = quote_len;
    ctx->ev_a.collateral_json = coll_json;
    ctx->ev_a.collateral_json_len = coll_len;
    cba_evidence_init(&ctx->ev_b);
    ctx->ev_b.quote = quote;
    ctx->ev_b.quote_len = quote_len;
    ctx->coll_json = coll_json;
    ctx->coll_json_len = coll_len;
    if (cba_collateral_verify(&ctx->coll, &ctx->report, &ctx->policy, coll_json, coll_len,
                              ctx->now) != CBA_OK) {
        fprintf(stderr, "bench_verify: collateral does not verify: %s at %s: %s\n",
                cba_err_name(ctx->report.error.code), ctx->report.error.where,
                ctx->report.error.detail);
        goto out;
    }
    if (!setup_floor(ctx)) { goto out; }
    /* Prove the inputs give the expected answer before timing anything. */
    if (!op_a(ctx) || !op_b(ctx) || !op_ecdsa(ctx) || !op_ecdsa_import(ctx)) {
        fprintf(stderr, "bench_verify: sample does not verify UpToDate: %s at %s: %s\n",
                cba_err_name(ctx->report.error.code), ctx->report.error.where,
                ctx->report.error.detail);
        goto out;
    }

    if (threads > 0) {
        double one = 0, many = 0, cpu_one = 0, cpu_many = 0;
        if (!throughput(ctx, 1, seconds, &one, &cpu_one) ||
            !throughput(ctx, (int)threads, seconds, &many, &cpu_many)) {
            goto wrong;
        }
        printf("(b) throughput sharing one collateral: 1 thread %.0f/s, %ld threads %.0f/s (%.2fx)\n",
               one, threads, many, many / one);
        printf("    CPU time per verification: 1 thread %.1f us, %ld threads %.1f us "
               "(on %ld idle CPUs: %.2fx)\n", cpu_one, threads, cpu_many, threads,
               cpu_many > 0 ? (double)threads * cpu_one / cpu_many : 0.0);
        if (kv) {
            printf("kv tput_1=%.1f\nkv tput_n=%.1f\nkv tput_threads=%ld\n", one, many, threads);
            printf("kv tput_cpu_1=%.2f\nkv tput_cpu_n=%.2f\n", cpu_one, cpu_many);
        }
        status = 0;
        goto out;
    }
    if (mode_name != NULL) {
        const struct mode *m = &k_modes[mode_index(mode_name)];
        if (strcmp(m->name, mode_name) != 0) {
            usage();
            goto out;
        }
        if (iters == 0) {
            /* One mode, timed: bench/run brackets the JS peer with these. */
            double w, c;
            if (!time_op(ctx, m->op, seconds / REPS, &w, &c)) { goto wrong; }
            printf("%s: %.2f us/op wall, %.2f us/op cpu\n", m->label, w, c);
            if (kv) { printf("kv us_%s=%.3f\nkv cpu_%s=%.3f\n", m->name, w, m->name, c); }
            status = 0;
            goto out;
        }
        for (int w = 0; w < (m->cold ? 1 : WARMUP_ITERS); w++) {
            if (!m->op(ctx)) { goto wrong; }
        }
        if (!measured_loop(ctx, m->op, iters)) { goto wrong; }
        printf("mode %s: %llu iterations ok\n", m->name, (unsigned long long)iters);
        status = 0;
        goto out;
    }

    for (size_t i = 0; i < NUM_MODES; i++) {
        if (!time_op(ctx, k_modes[i].op, seconds / REPS, &us[i], &cpu_us[i])) { goto wrong; }
    }
    {
        size_t ia = mode_index("a"), ib = mode_index("b"), ie = mode_index("ecdsa");
        printf("crabbox-attest bench_verify (wolfSSL %s, single thread, median of %d x %.2f s)\n",
               LIBWOLFSSL_VERSION_STRING, REPS, seconds / REPS);
        printf("  %-44s %12s %12s %12s\n", "operation", "us/op", "ops/s", "cpu us/op");
        for (size_t i = 0; i < NUM_MODES; i++) {
            printf("  %-44s %12.2f %12.0f %12.2f\n", k_modes[i].label, us[i], 1e6 / us[i], cpu_us[i]);
        }
        printf("  ratios (wall): (a) / (9 x ECDSA) = %.2f   (b) / (3 x ECDSA) = %.2f   "
               "(b) / (2 x ECDSA) = %.2f\n",
               us[ia] / (9 * us[ie]), us[ib] / (3 * us[ie]), us[ib] / (2 * us[ie]));
        printf("  ratios (cpu):  (a) / (9 x ECDSA) = %.2f   (b) / (3 x ECDSA) = %.2f   "
               "(b) / (2 x ECDSA) = %.2f\n",
               cpu_us[ia] / (9 * cpu_us[ie]), cpu_us[ib] / (3 * cpu_us[ie]),
               cpu_us[ib] / (2 * cpu_us[ie]));
        if (kv) {
            for (size_t i = 0; i < NUM_MODES; i++) {
                printf("kv us_%s=%.3f\nkv cpu_%s=%.3f\n", k_modes[i].name, us[i], k_modes[i].name,
                       cpu_us[i]);
            }
            printf("kv wolfssl=%s\n", LIBWOLFSSL_VERSION_STRING);
        }
    }
    status = 0;
    goto out;
wrong:
    fprintf(stderr, "bench_verify: a verification gave the wrong result: %s at %s\n",
            cba_err_name(ctx->report.error.code), ctx->report.error.where);
    status = 1;
out:
    if (ctx != NULL) {
        cba_collateral_free(ctx->coll);
        if (ctx->key_inited) { wc_ecc_free(&ctx->key); }
        free(ctx);
    }
    free(quote);
    free(coll_json);
    return status;
}
