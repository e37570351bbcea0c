/* ecdsa_table_bench.c — the per-key comb tables of verifier/src/ecdsa_table.c against wolfSSL's
 * sp_ecc_verify_256 (docs/wolfssl.md, "Fixed-key tables"): tests (ctest unit.ecdsa_table_diff,
 * unit.ecdsa_table_fixed) and callgrind loops.
 *
 *   (diff, gen, table and one take COMBS, 1 or 2, as an extra last argument; default 1)
 *   ecdsa_table_bench diff N TEETH     N random keys x signatures, valid and mutated, and edge cases:
 *                                      both verifiers must agree every time (exit 1 otherwise)
 *   ecdsa_table_bench gen TEETH ITERS  build ITERS tables (measured_loop)
 *   ecdsa_table_bench table TEETH ITERS  ITERS verifications with a table (measured_loop)
 *   ecdsa_table_bench sp ITERS         ITERS verifications with sp_ecc_verify_256 (measured_loop)
 *   ecdsa_table_bench fixed            the build-time tables the library links: every entry against
 *                                      sp_ecc_mulmod_256, equal to a table built now, found by exact
 *                                      key bytes only, and random signatures judged as
 *                                      sp_ecc_verify_256 judges them, by the table, by the verifier's
 *                                      entry point and by cba_ecdsa_p256_check_ordinary
 *   ecdsa_table_bench one TEETH PUB DIGEST SIG  one given signature (hex: X||Y, SHA-256, r||s) by
 *                                      both verifiers; prints both verdicts, exit 0 when they agree
 *
 * Under callgrind: valgrind --tool=callgrind --toggle-collect=measured_loop ecdsa_table_bench ...
 * Prints CPU microseconds per operation too (meaningless under valgrind). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecdsa_table.h"

typedef struct sample {
    uint8_t pub[64], digest[32], sig[64];
} sample;

static int sp_verify(const uint8_t pub[64], const uint8_t digest[32], const uint8_t sig[64])
{
    static const uint8_t n_be[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    };
    mp_int x, y, z, r, s;
    int res = 0, wc;
    uint8_t any_r = 0, any_s = 0;
    for (int i = 0; i < 32; i++) { any_r |= sig[i]; any_s |= sig[32 + i]; }
    /* crypto.c's range check: 0 < r, s < n */
    if (!any_r || !any_s || memcmp(sig, n_be, 32) >= 0 || memcmp(sig + 32, n_be, 32) >= 0) { return 0; }
    wc = mp_init_multi(&x, &y, &z, &r, &s, NULL);
    if (wc == 0) { wc = mp_read_unsigned_bin(&x, pub, 32); }
    if (wc == 0) { wc = mp_read_unsigned_bin(&y, pub + 32, 32); }
    if (wc == 0) { wc = mp_set(&z, 1); }
    if (wc == 0) { wc = mp_read_unsigned_bin(&r, sig, 32); }
    if (wc == 0) { wc = mp_read_unsigned_bin(&s, sig + 32, 32); }
    if (wc == 0) { wc = sp_ecc_verify_256(digest, 32, &x, &y, &z, &r, &s, &res, NULL); }
    return wc == 0 && res == 1;
}

static int make_sample(WC_RNG *rng, ecc_key *key, sample *out, const uint8_t *digest_or_null)
{
    mp_int r, s;
    word32 xl = 32, yl = 32;
    int wc = mp_init_multi(&r, &s, NULL, NULL, NULL, NULL);
    if (digest_or_null != NULL) { memcpy(out->digest, digest_or_null, 32); }
    else if (wc == 0) { wc = wc_RNG_GenerateBlock(rng, out->digest, 32); }
    if (wc == 0) { wc = wc_ecc_sign_hash_ex(out->digest, 32, rng, key, &r, &s); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(&r, out->sig, 32); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(&s, out->sig + 32, 32); }
    if (wc == 0) { wc = wc_ecc_export_public_raw(key, out->pub, &xl, out->pub + 32, &yl); }
    mp_clear(&r);
    mp_clear(&s);
    return wc;
}


/* make_high_x builds a valid (key, digest, signature) whose R = u1*G + u2*Q has x(R) in [n, p), so
 * that r = x(R) - n: the "(r + n) * Z^2" branch of both verifiers (a signer meets it with
 * probability ~2^-128). R is a point with x = n + i; then Q = (R - u1*G) / u2 for chosen e, s. */
static int make_high_x(WC_RNG *rng, sample *out)
{
    static const char *const p_hex = "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF";
    static const char *const n_hex = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
    static const char *const b_hex = "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B";
    mp_int p, n, b, x, y, t, u, r, s, e, w, k;
    ecc_point R, T, Q;
    int wc, i;
    memset(&R, 0, sizeof R); memset(&T, 0, sizeof T); memset(&Q, 0, sizeof Q);
    wc = mp_init_multi(&p, &n, &b, &x, &y, &t);
    if (wc == 0) { wc = mp_init_multi(&u, &r, &s, &e, &w, &k); }
    if (wc == 0) { wc = mp_init_multi(R.x, R.y, R.z, T.x, T.y, T.z); }
    if (wc == 0) { wc = mp_init_multi(Q.x, Q.y, Q.z, NULL, NULL, NULL); }
    if (wc == 0) { wc = mp_read_radix(&p, p_hex, 16); }
    if (wc == 0) { wc = mp_read_radix(&n, n_hex, 16); }
    if (wc == 0) { wc = mp_read_radix(&b, b_hex, 16); }
    for (i = 0; wc == 0 && i < 1000; i++) {
        /* x = n + i; rhs = x^3 - 3x + b; y = rhs^((p+1)/4) when rhs is a square */
        wc = mp_add_d(&n, (mp_digit)i, &x);
        if (wc == 0) { wc = mp_sqrmod(&x, &p, &t); }
        if (wc == 0) { wc = mp_mulmod(&t, &x, &p, &t); }
        if (wc == 0) { wc = mp_set(&u, 3); }
        if (wc == 0) { wc = mp_mulmod(&u, &x, &p, &u); }
        if (wc == 0) { wc = mp_submod(&t, &u, &p, &t); }
        if (wc == 0) { wc = mp_addmod(&t, &b, &p, &t); }
        if (wc == 0) { wc = mp_add_d(&p, 1, &u); }
        if (wc == 0) { wc = mp_div_2(&u, &u); }
        if (wc == 0) { wc = mp_div_2(&u, &u); }
        if (wc == 0) { wc = mp_exptmod(&t, &u, &p, &y); }
        if (wc == 0) { wc = mp_sqrmod(&y, &p, &u); }
        if (wc == 0 && mp_cmp(&u, &t) == MP_EQ) { break; }
    }
    if (wc == 0 && i == 1000) { wc = -1; }
    if (wc == 0) { wc = mp_copy(&x, R.x); }
    if (wc == 0) { wc = mp_copy(&y, R.y); }
    if (wc == 0) { wc = mp_set(R.z, 1); }
    if (wc == 0) { wc = mp_sub(&x, &n, &r); } /* r = x - n */
    if (wc == 0) { wc = wc_RNG_GenerateBlock(rng, out->digest, 32); }
    if (wc == 0) { out->digest[0] &= 0x7f; wc = mp_read_unsigned_bin(&e, out->digest, 32); }
    if (wc == 0) { wc = wc_RNG_GenerateBlock(rng, out->sig + 32, 32); }
    if (wc == 0) { out->sig[32] &= 0x7f; out->sig[33] |= 1; wc = mp_read_unsigned_bin(&s, out->sig + 32, 32); }
    /* u1 = e/s, u2 = r/s, w = 1/u2; Q = w*R + (-w*u1)*G */
    if (wc == 0) { wc = mp_invmod(&s, &n, &t); }
    if (wc == 0) { wc = mp_mulmod(&e, &t, &n, &u); }  /* u1 */
    if (wc == 0) { wc = mp_mulmod(&r, &t, &n, &w); }  /* u2 */
    if (wc == 0) { wc = mp_invmod(&w, &n, &w); }      /* 1/u2 */
    if (wc == 0) { wc = mp_mulmod(&w, &u, &n, &k); }
    if (wc == 0) { wc = mp_sub(&n, &k, &k); }         /* -w*u1 mod n (nonzero) */
    if (wc == 0) { wc = sp_ecc_mulmod_base_256(&k, &T, 1, NULL); }
    if (wc == 0) { wc = sp_ecc_mulmod_add_256(&w, &R, &T, 0, &Q, 1, NULL); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(Q.x, out->pub, 32); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(Q.y, out->pub + 32, 32); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(&r, out->sig, 32); }
    return wc;
}

static long agree, disagree, valid_seen, high_x_valid;
static unsigned g_combs = 1; /* the last argument of diff / gen / table / one, when given */

static void check(const cba_p256_table *t, const uint8_t pub[64], const uint8_t digest[32], const uint8_t sig[64],
                  const char *what)
{
    int a = sp_verify(pub, digest, sig);
    int b = cba_p256_table_verify(t, digest, sig) == CBA_CRYPTO_OK;
    if (a == b) { agree++; }
    else if (++disagree <= 10) { fprintf(stderr, "DISAGREE (%s): sp %d table %d\n", what, a, b); }
    valid_seen += a;
}

static int diff(long n, unsigned teeth)
{
    static const uint8_t n_be[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    };
    WC_RNG rng;
    if (wc_InitRng(&rng) != 0) { return 2; }
    { /* bad keys and parameters are refused: off the curve, x = p, (0, 0), teeth 1 and 9 */
        sample sm;
        ecc_key key;
        cba_crypto_rc rc;
        int bad = 0;
        if (wc_ecc_init(&key) != 0 || wc_ecc_make_key(&rng, 32, &key) != 0 ||
            make_sample(&rng, &key, &sm, NULL) != 0) { return 2; }
        wc_ecc_free(&key);
        bad += cba_p256_table_new_teeth(sm.pub, 1, &rc) != NULL;
        bad += cba_p256_table_new_teeth(sm.pub, 9, &rc) != NULL;
        bad += cba_p256_table_new_comb(sm.pub, 8, 0, &rc) != NULL;
        bad += cba_p256_table_new_comb(sm.pub, 8, 3, &rc) != NULL;
        sm.pub[63] ^= 1;
        bad += cba_p256_table_new_teeth(sm.pub, 8, &rc) != NULL || rc != CBA_CRYPTO_INVALID;
        memset(sm.pub, 0, 64);
        bad += cba_p256_table_new_teeth(sm.pub, 8, &rc) != NULL || rc != CBA_CRYPTO_INVALID;
        memcpy(sm.pub, n_be, 32);
        memset(sm.pub, 0xff, 4); memset(sm.pub + 4, 0, 3); sm.pub[7] = 1; memset(sm.pub + 8, 0, 12);
        memset(sm.pub + 20, 0xff, 12); /* x = p */
        bad += cba_p256_table_new_teeth(sm.pub, 8, &rc) != NULL || rc != CBA_CRYPTO_INVALID;
        bad += cba_p256_table_verify(NULL, sm.digest, sm.sig) != CBA_CRYPTO_INVALID;
        cba_p256_table_free(NULL);
        if (bad != 0) { fprintf(stderr, "bad keys or parameters accepted: %d\n", bad); return 1; }
    }
    for (long k = 0; k < n; k++) {
        ecc_key key;
        sample sm;
        cba_crypto_rc rc;
        cba_p256_table *t;
        if (wc_ecc_init(&key) != 0 || wc_ecc_make_key(&rng, 32, &key) != 0) { return 2; }
        if (make_sample(&rng, &key, &sm, NULL) != 0) { return 2; }
        t = cba_p256_table_new_comb(sm.pub, teeth, g_combs, &rc);
        if (t == NULL) { fprintf(stderr, "table: rc %d\n", (int)rc); return 2; }
        for (int i = 0; i < 8; i++) {
            uint8_t d[32], g[64], pos;
            if (i > 0 && make_sample(&rng, &key, &sm, NULL) != 0) { return 2; }
            check(t, sm.pub, sm.digest, sm.sig, "valid");
            /* one flipped bit in r, s or the digest */
            wc_RNG_GenerateBlock(&rng, &pos, 1);
            memcpy(g, sm.sig, 64); g[pos % 64] ^= (uint8_t)(1u << (pos % 8));
            check(t, sm.pub, sm.digest, g, "sig bit");
            memcpy(d, sm.digest, 32); d[pos % 32] ^= (uint8_t)(1u << (pos % 7));
            check(t, sm.pub, d, sm.sig, "digest bit");
            /* r and s swapped, s negated (n - s: also valid in plain ECDSA), random r||s */
            memcpy(g, sm.sig + 32, 32); memcpy(g + 32, sm.sig, 32);
            check(t, sm.pub, sm.digest, g, "swapped");
            {
                unsigned borrow = 0;
                memcpy(g, sm.sig, 64);
                for (int b = 31; b >= 0; b--) {
                    unsigned v = (unsigned)n_be[b] - sm.sig[32 + b] - borrow;
                    g[32 + b] = (uint8_t)v; borrow = (v >> 8) & 1;
                }
                check(t, sm.pub, sm.digest, g, "n - s");
            }
            wc_RNG_GenerateBlock(&rng, g, 64);
            check(t, sm.pub, sm.digest, g, "random");
        }
        /* edges: r = 0, s = n, r = n - 1, digest = n (e = 0 mod n), digest all ones (e >= n) */
        {
            uint8_t g[64], d[32];
            memcpy(g, sm.sig, 64); memset(g, 0, 32);
            check(t, sm.pub, sm.digest, g, "r = 0");
            memcpy(g, sm.sig, 64); memcpy(g + 32, n_be, 32);
            check(t, sm.pub, sm.digest, g, "s = n");
            memcpy(g, sm.sig, 64); memcpy(g, n_be, 32); g[31]--;
            check(t, sm.pub, sm.digest, g, "r = n - 1");
            memset(d, 0xff, 32);
            if (make_sample(&rng, &key, &sm, d) != 0) { return 2; }
            check(t, sm.pub, sm.digest, sm.sig, "digest ff (valid)");
            if (make_sample(&rng, &key, &sm, n_be) == 0) { check(t, sm.pub, sm.digest, sm.sig, "digest = n (valid)"); }
        }
        cba_p256_table_free(t);
        wc_ecc_free(&key);
        /* x(R) >= n: a constructed key (see make_high_x), the valid signature and r one lower */
        if (make_high_x(&rng, &sm) != 0) { fprintf(stderr, "make_high_x failed\n"); return 2; }
        t = cba_p256_table_new_comb(sm.pub, teeth, g_combs, &rc);
        if (t == NULL) { fprintf(stderr, "table (high x): rc %d\n", (int)rc); return 2; }
        high_x_valid += sp_verify(sm.pub, sm.digest, sm.sig);
        check(t, sm.pub, sm.digest, sm.sig, "x(R) >= n (valid)");
        sm.sig[31] ^= 1;
        check(t, sm.pub, sm.digest, sm.sig, "x(R) >= n, r changed");
        cba_p256_table_free(t);
    }
    wc_FreeRng(&rng);
    printf("diff: teeth %u, combs %u, %ld keys: %ld agree, %ld disagree, %ld valid by sp_ecc_verify_256 (%ld of %ld "
           "constructed x(R) >= n)\n", teeth, g_combs, n, agree, disagree, valid_seen, high_x_valid, n);
    /* the constructed signatures are valid: sp_ecc_verify_256 must say so, or the case tests nothing */
    return disagree == 0 && high_x_valid == n ? 0 : 1;
}

typedef struct ctx {
    sample sm;
    unsigned teeth;
    cba_p256_table *t;
    long bad;
} ctx;

static void op_gen(ctx *c)
{
    cba_crypto_rc rc;
    cba_p256_table *t = cba_p256_table_new_comb(c->sm.pub, c->teeth, g_combs, &rc);
    if (t == NULL) { c->bad++; }
    cba_p256_table_free(t);
}
static void op_table(ctx *c)
{
    if (cba_p256_table_verify(c->t, c->sm.digest, c->sm.sig) != CBA_CRYPTO_OK) { c->bad++; }
}
static void op_sp(ctx *c)
{
    if (!sp_verify(c->sm.pub, c->sm.digest, c->sm.sig)) { c->bad++; }
}

__attribute__((noinline)) static void measured_loop(ctx *c, void (*op)(ctx *), long n)
{
    for (long i = 0; i < n; i++) { op(c); }
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int unhex(uint8_t *out, size_t len, const char *hex)
{
    if (strlen(hex) != 2 * len) { return -1; }
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) { return -1; }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int one(unsigned teeth, const char *pub_hex, const char *digest_hex, const char *sig_hex)
{
    sample sm;
    cba_crypto_rc rc;
    cba_p256_table *t;
    int a, b;
    if (unhex(sm.pub, 64, pub_hex) != 0 || unhex(sm.digest, 32, digest_hex) != 0 || unhex(sm.sig, 64, sig_hex) != 0) {
        fprintf(stderr, "one: bad hex\n");
        return 2;
    }
    t = cba_p256_table_new_comb(sm.pub, teeth, g_combs, &rc);
    if (t == NULL) { fprintf(stderr, "one: no table (rc %d)\n", (int)rc); return 2; }
    a = sp_verify(sm.pub, sm.digest, sm.sig);
    b = cba_p256_table_verify(t, sm.digest, sm.sig) == CBA_CRYPTO_OK;
    cba_p256_table_free(t);
    printf("one: sp_ecc_verify_256 %s, table %s\n", a ? "valid" : "invalid", b ? "valid" : "invalid");
    return a == b ? 0 : 1;
}

/* fixed: the checks of the bundled tables (see the header). */
static int fixed(void)
{
#if defined(CBA_HAVE_P256_FIXED_TABLES)
    long bad = 0, verifies = 0;
    WC_RNG rng;
    if (wc_InitRng(&rng) != 0) { return 2; }
    if (cba_p256_num_fixed_keys != 4) { printf("fixed: %zu keys, want 4\n", cba_p256_num_fixed_keys); bad++; }
    for (size_t k = 0; k < cba_p256_num_fixed_keys; k++) {
        const cba_p256_fixed_key *fk = &cba_p256_fixed_keys[k];
        cba_crypto_rc rc;
        uint8_t pub[64];
        cba_p256_table *fresh = cba_p256_table_new_comb(fk->pub_xy, fk->table.teeth, fk->table.combs, &rc);
        size_t n = (size_t)fk->table.combs << fk->table.teeth;
        int kat = cba_p256_table_known_answer(&fk->table, fk->pub_xy, true) == CBA_CRYPTO_OK;
        int same = fresh != NULL && fresh->spacing == fk->table.spacing && fresh->combs == fk->table.combs &&
                   memcmp(fresh->pt, fk->table.pt, n * sizeof(cba_p256_affine)) == 0;
        int found = cba_p256_fixed_table(fk->pub_xy) == &fk->table;
        int others = 1, paths = 1;
        for (size_t i = 0; i < 64 * 8; i += 37) {
            memcpy(pub, fk->pub_xy, 64);
            pub[i / 8] ^= (uint8_t)(1u << (i % 8));
            if (cba_p256_fixed_table(pub) != NULL) { others = 0; }
        }
        for (int i = 0; i < 200; i++) {
            uint8_t digest[32], sig[64];
            if (wc_RNG_GenerateBlock(&rng, digest, sizeof digest) != 0 ||
                wc_RNG_GenerateBlock(&rng, sig, sizeof sig) != 0) { return 2; }
            if (i % 4 == 1) { memset(sig, 0, 32); }            /* r = 0 */
            if (i % 4 == 2) { memset(sig + 32, 0xff, 32); }    /* s >= n */
            int a = sp_verify(fk->pub_xy, digest, sig);
            int b = cba_p256_table_verify(&fk->table, digest, sig) == CBA_CRYPTO_OK;
            if (a != b) { bad++; }
            if (cba_ecdsa_p256_verify(fk->pub_xy, digest, sig) != b ||
                (cba_ecdsa_p256_check_ordinary(fk->pub_xy, digest, sig) == CBA_CRYPTO_OK) != a) {
                paths = 0;
            }
            verifies++;
        }
        printf("fixed: %-27s teeth %u, combs %u, %zu bytes: known answers %s, equal to a new table %s, lookup %s, "
               "no other key %s, entry point and ordinary path %s\n",
               fk->name, fk->table.teeth, fk->table.combs, cba_p256_table_size(&fk->table), kat ? "ok" : "WRONG",
               same ? "yes" : "NO", found ? "ok" : "WRONG", others ? "ok" : "WRONG", paths ? "agree" : "DIFFER");
        bad += !kat + !same + !found + !others + !paths;
        cba_p256_table_free(fresh);
    }
    printf("fixed: %ld random signatures judged as sp_ecc_verify_256 judges them; %ld failures\n", verifies, bad);
    wc_FreeRng(&rng);
    return bad == 0 ? 0 : 1;
#else
    printf("fixed: this build has no bundled tables\n");
    return 1;
#endif
}

int main(int argc, char **argv)
{
    ctx c;
    WC_RNG rng;
    ecc_key key;
    void (*op)(ctx *) = NULL;
    long iters;
    double t0;
    memset(&c, 0, sizeof c);
    if (argc >= 5 && strcmp(argv[1], "one") != 0) { g_combs = (unsigned)atoi(argv[argc - 1]); }
    if (argc >= 7 && strcmp(argv[1], "one") == 0) { g_combs = (unsigned)atoi(argv[6]); }
    if (argc >= 4 && strcmp(argv[1], "diff") == 0) { return diff(atol(argv[2]), (unsigned)atoi(argv[3])); }
    if (argc == 2 && strcmp(argv[1], "fixed") == 0) { return fixed(); }
    if (argc >= 6 && strcmp(argv[1], "one") == 0) { return one((unsigned)atoi(argv[2]), argv[3], argv[4], argv[5]); }
    if (argc >= 4 && strcmp(argv[1], "gen") == 0) { op = op_gen; c.teeth = (unsigned)atoi(argv[2]); iters = atol(argv[3]); }
    else if (argc >= 4 && strcmp(argv[1], "table") == 0) { op = op_table; c.teeth = (unsigned)atoi(argv[2]); iters = atol(argv[3]); }
    else if (argc >= 3 && strcmp(argv[1], "sp") == 0) { op = op_sp; c.teeth = 8; iters = atol(argv[2]); }
    else { fprintf(stderr, "usage: see the file's header\n"); return 2; }
    if (wc_InitRng(&rng) != 0 || wc_ecc_init(&key) != 0 || wc_ecc_make_key(&rng, 32, &key) != 0 ||
        make_sample(&rng, &key, &c.sm, NULL) != 0) { return 2; }
    if (op == op_table) {
        cba_crypto_rc rc;
        c.t = cba_p256_table_new_comb(c.sm.pub, c.teeth, g_combs, &rc);
        if (c.t == NULL) { return 2; }
        printf("table: teeth %u, %zu bytes\n", c.teeth, cba_p256_table_size(c.t));
    }
    op(&c); /* warm-up */
    t0 = cpu_seconds();
    measured_loop(&c, op, iters);
    printf("%s: %ld iterations, %.2f us CPU each, %ld failed\n", argv[1], iters, (cpu_seconds() - t0) * 1e6 / (double)iters,
           c.bad);
    cba_p256_table_free(c.t);
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
    return c.bad == 0 ? 0 : 1;
}
