/* test_crypto.c — the hashes behind crypto.h against published digests, with whichever wolfSSL the
 * build links (cmake/wolfssl.cmake), and the portable Keccak-256 that stands in for a wolfSSL
 * without WOLFSSL_HASH_FLAGS. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto.h"
#include "testutil.h"

TestSuite(crypto, .timeout = 30);

typedef bool (*keccak_fn)(uint8_t out[32], const cbs *parts, size_t num_parts);

static void check_keccak(keccak_fn fn, const char *name)
{
    /* Keccak-256 (original padding), as Ethereum and dstack use it. */
    static const struct { const char *msg, *hex; } vec[] = {
        { "", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470" },
        { "abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45" },
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        uint8_t want[32], got[32];
        cbs part = { (const uint8_t *)vec[i].msg, strlen(vec[i].msg) };
        cr_assert_eq(tu_hex(want, sizeof want, vec[i].hex), 32);
        cr_assert(fn(got, &part, 1), "%s failed", name);
        cr_assert(memcmp(got, want, 32) == 0, "%s(\"%s\") is wrong", name, vec[i].msg);
    }
}

Test(crypto, keccak256_known_digests)
{
    check_keccak(cba_keccak256, "cba_keccak256");
    check_keccak(cba_keccak256_portable, "cba_keccak256_portable");
}

/* Every length around the 136-byte rate, split in three parts at varying points: the two
 * implementations agree (wolfSSL's is checked against the digests above). */
Test(crypto, keccak256_portable_matches_across_block_boundaries)
{
    uint8_t msg[420];
    for (size_t i = 0; i < sizeof msg; i++) { msg[i] = (uint8_t)(i * 131u + 7u); }
    for (size_t len = 0; len <= sizeof msg; len++) {
        size_t a = len / 3, b = len - len / 5;
        cbs parts[3] = { { msg, a }, { msg + a, b - a }, { msg + b, len - b } };
        uint8_t x[32], y[32];
        cr_assert(cba_keccak256(x, parts, 3));
        cr_assert(cba_keccak256_portable(y, parts, 3));
        cr_assert(memcmp(x, y, 32) == 0, "length %zu differs", len);
    }
}

Test(crypto, sha256_sha384_known_digests)
{
    uint8_t want[48], got[48];
    cbs abc = { (const uint8_t *)"abc", 3 };
    cr_assert_eq(tu_hex(want, sizeof want,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), 32);
    cr_assert(cba_sha256(got, &abc, 1));
    cr_assert(memcmp(got, want, 32) == 0);
    cr_assert_eq(tu_hex(want, sizeof want,
                        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                        "8086072ba1e7cc2358baeca134c825a7"), 48);
    cr_assert(cba_sha384(got, &abc, 1));
    cr_assert(memcmp(got, want, 48) == 0);
}

/* The P-256 generator is on the curve; flipping a bit of Y takes it off. This is the check that
 * uses wc_ecc_point_is_on_curve or, without it, wc_ecc_check_key. */
Test(crypto, p256_point_validity)
{
    uint8_t g[64];
    cr_assert_eq(tu_hex(g, sizeof g,
                        "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                        "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"), 64);
    cr_assert(cba_p256_point_valid(g));
    g[63] ^= 1;
    cr_assert_not(cba_p256_point_valid(g));
    memset(g, 0, sizeof g);
    cr_assert_not(cba_p256_point_valid(g));
}

/* (0, y) is on P-256 (y^2 = b); written with x + p instead of x (which fits 32 bytes) it is the
 * same point modulo p, and must be refused: coordinates are in [0, p-1]. The SP build's check
 * (sp_ecc_is_point_256) reduces modulo p, so this is what its range check is for. */
Test(crypto, p256_point_coordinates_below_p)
{
    uint8_t pt[64];
    cr_assert_eq(tu_hex(pt, sizeof pt,
                        "0000000000000000000000000000000000000000000000000000000000000000"
                        "66485c780e2f83d72433bd5d84a06bb6541c2af31dae871728bf856a174f93f4"), 64);
    cr_assert(cba_p256_point_valid(pt));
    cr_assert_eq(tu_hex(pt, 32, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"), 32);
    cr_assert_not(cba_p256_point_valid(pt));
    cr_assert_eq(cba_p256_point_check(pt), CBA_CRYPTO_INVALID);
}

#if defined(__x86_64__)
#include <cpuid.h>
/* ymm_upper_in_use is XINUSE bit 2 (XGETBV with ECX = 1): the upper halves of YMM0-15 are not in
 * their initial state. -1 when the CPU cannot say (no XSAVE, or no XGETBV with ECX = 1). */
static int ymm_upper_in_use(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) { return -1; } /* OSXSAVE */
    if (__get_cpuid_max(0, NULL) < 0xd) { return -1; }
    __cpuid_count(0xd, 1, a, b, c, d);
    if (!(a & (1u << 2))) { return -1; }
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1u));
    (void)hi;
    return (lo >> 2) & 1u;
}
#else
static int ymm_upper_in_use(void)
{
    return -1;
}
#endif

/* RFC 6979 A.2.5 (P-256, SHA-256, "sample"), through whichever path crypto.c takes with this
 * wolfSSL. Each verification must also return with the AVX upper state clean: wolfSSL's SP AVX2
 * code leaves it dirty, and then every legacy-SSE instruction (5.7.2's SHA-NI SHA-256, the SSE2
 * scanners) pays a transition penalty (docs/benchmarks.md, 2026-12-07: SHA-256 ~300x slower on the
 * test VM). Checked as state, never timed; on a CPU that cannot report it only the verdicts are. */
Test(crypto, ecdsa_p256_rfc6979_vector_and_clean_avx_state)
{
    uint8_t pub[64], sig[64];
    cr_assert_eq(tu_hex(pub, sizeof pub,
                        "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                        "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"), 64);
    cr_assert_eq(tu_hex(sig, sizeof sig,
                        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"), 64);
    cbs msg = { (const uint8_t *)"sample", 6 };
    cr_assert_eq(cba_ecdsa_p256_check_msg(pub, &msg, 1, sig), CBA_CRYPTO_OK);
    int dirty = ymm_upper_in_use();
    cr_assert_neq(dirty, 1, "a verification returned with the YMM upper halves dirty");
    sig[63] ^= 1;
    cr_assert_eq(cba_ecdsa_p256_check_msg(pub, &msg, 1, sig), CBA_CRYPTO_INVALID);
    cr_assert_neq(ymm_upper_in_use(), 1, "a failed verification returned with the YMM upper halves dirty");
    sig[63] ^= 1;
    pub[63] ^= 1; /* off the curve */
    cr_assert_eq(cba_ecdsa_p256_check_msg(pub, &msg, 1, sig), CBA_CRYPTO_INVALID);
    if (dirty < 0) { cr_log_info("this CPU does not report XINUSE: AVX state not checked"); }
}
