/* crypto.c — wolfCrypt behind a small interface (hashes, ECDSA-P256 verify). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha3.h>
#include <wolfssl/wolfcrypt/sha512.h>
#if defined(CBA_HAVE_SP_ECC_IS_POINT_256)
#include <wolfssl/wolfcrypt/sp.h>
#endif
#include <wolfssl/version.h>

#include <string.h>

#include "crypto.h"
#include "ecdsa_table.h"

/* wolfCrypt takes word32 lengths; nothing we hash comes near 4 GiB, but refuse rather than wrap. */
#define PART_LEN_OK(p) ((p).len <= UINT32_MAX)

/* cba_sha256, cba_sha384, cba_sha512: base/sha2.c. */

/* A wolfSSL without WOLFSSL_HASH_FLAGS computes SHA3-256 only, whose padding (0x06) differs from
 * original Keccak's (0x01) that dstack uses; Keccak-f[1600] is small enough to carry (FIPS 202
 * section 3). Always compiled, so tests/unit/test_crypto.c checks it with every wolfSSL. */
static uint64_t rotl64(uint64_t x, unsigned n)
{
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

static void keccak_f1600(uint64_t a[25])
{
    static const uint64_t rc[24] = {
        0x0000000000000001u, 0x0000000000008082u, 0x800000000000808au, 0x8000000080008000u,
        0x000000000000808bu, 0x0000000080000001u, 0x8000000080008081u, 0x8000000000008009u,
        0x000000000000008au, 0x0000000000000088u, 0x0000000080008009u, 0x000000008000000au,
        0x000000008000808bu, 0x800000000000008bu, 0x8000000000008089u, 0x8000000000008003u,
        0x8000000000008002u, 0x8000000000000080u, 0x000000000000800au, 0x800000008000000au,
        0x8000000080008081u, 0x8000000000008080u, 0x0000000080000001u, 0x8000000080008008u,
    };
    static const unsigned rot[25] = { 0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43,
                                      25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14 };
    for (size_t round = 0; round < 24; round++) {
        uint64_t c[5], b[25];
        for (size_t x = 0; x < 5; x++) { c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20]; }
        for (size_t x = 0; x < 5; x++) {
            uint64_t d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
            for (size_t y = 0; y < 25; y += 5) { a[y + x] ^= d; }
        }
        /* rho and pi: B[y][2x+3y] = rot(A[x][y]) */
        for (size_t x = 0; x < 5; x++) {
            for (size_t y = 0; y < 5; y++) {
                b[((2 * x + 3 * y) % 5) * 5 + y] = rotl64(a[y * 5 + x], rot[y * 5 + x]);
            }
        }
        for (size_t y = 0; y < 25; y += 5) {
            for (size_t x = 0; x < 5; x++) {
                a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
            }
        }
        a[0] ^= rc[round];
    }
}

bool cba_keccak256_portable(uint8_t out[32], const cbs *parts, size_t num_parts)
{
    enum { RATE = 136 };
    uint64_t st[25] = { 0 };
    size_t pos = 0;
    for (size_t i = 0; i < num_parts; i++) {
        for (size_t j = 0; j < parts[i].len; j++) {
            st[pos / 8] ^= (uint64_t)parts[i].data[j] << (8 * (pos % 8));
            if (++pos == RATE) {
                keccak_f1600(st);
                pos = 0;
            }
        }
    }
    st[pos / 8] ^= (uint64_t)0x01 << (8 * (pos % 8));
    st[(RATE - 1) / 8] ^= (uint64_t)0x80 << (8 * ((RATE - 1) % 8));
    keccak_f1600(st);
    for (size_t i = 0; i < 32; i++) { out[i] = (uint8_t)(st[i / 8] >> (8 * (i % 8))); }
    return true;
}

bool cba_keccak256(uint8_t out[32], const cbs *parts, size_t num_parts)
{
#if defined(CBA_HAVE_WC_SHA3_SETFLAGS)
    wc_Sha3 h;
    bool ok = wc_InitSha3_256(&h, NULL, INVALID_DEVID) == 0 &&
              wc_Sha3_SetFlags(&h, WC_HASH_SHA3_KECCAK256) == 0;
    for (size_t i = 0; ok && i < num_parts; i++) {
        ok = PART_LEN_OK(parts[i]) && wc_Sha3_256_Update(&h, parts[i].data, (word32)parts[i].len) == 0;
    }
    ok = ok && wc_Sha3_256_Final(&h, out) == 0;
    wc_Sha3_256_Free(&h);
    return ok;
#else
    return cba_keccak256_portable(out, parts, num_parts);
#endif
}

/* avx_upper_clean ends a wolfCrypt call that may have used 256-bit AVX registers. wolfSSL's SP
 * P-256 assembly (5.5.4 and 5.7.2: sp_256_mod_inv_avx2_4, called by every verification, uses YMM
 * registers and returns without vzeroupper) leaves the upper halves of the YMM registers dirty,
 * and on this project's benchmark VM code that then mixes VEX and legacy-SSE instructions pays a
 * state-transition penalty at every switch: 5.7.2's SHA-NI SHA-256 (VEX loads and adds around
 * sha256rnds2, which has no VEX form) hashed 5 KiB in ~1,200 us instead of ~4 us after one
 * verification (docs/benchmarks.md, 2026-12-07). vzeroupper costs a few cycles; it exists only
 * with AVX, and the AVX2 paths run only on a CPU with it. */
static void avx_upper_clean(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx")) { __asm__ volatile("vzeroupper" ::: "memory"); }
#endif
}

/* rc_of maps a wolfCrypt error from an operation whose inputs are already known to be well
 * formed (64-byte coordinates, r and s in range, DER we encoded ourselves). wolfCrypt says "bad
 * point" with IS_POINT_E / ECC_INF_E / ECC_OUT_OF_RANGE_E (and argument errors with ECC_BAD_ARG_E,
 * BAD_FUNC_ARG, MP_VAL), and "bad signature" with success and res = 0. Everything else comes from
 * its heap-based big integers failing to allocate, reported by the operation that needed the
 * memory (MP_READ_E from an import, ASN_ECC_KEY_E from decoding our own signature DER,
 * MP_*_E, MP_MEM, MEMORY_E), so it counts as out of memory; the evidence is rejected either way.
 * Found by tests/unit/test_alloc_torture.c. */
static cba_crypto_rc rc_of(int wc)
{
    switch (wc) {
    case IS_POINT_E:
    case ECC_INF_E:
    case ECC_OUT_OF_RANGE_E:
    case ECC_BAD_ARG_E:
    case BAD_FUNC_ARG:
    case MP_VAL:
        return CBA_CRYPTO_INVALID;
    default:
        return CBA_CRYPTO_NOMEM;
    }
}

#if defined(CBA_HAVE_SP_ECC_IS_POINT_256)
/* coord_below_p is true for a 32-byte big-endian v < p (P-256's field prime). */
static bool coord_below_p(const uint8_t v[32])
{
    static const uint8_t p[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    };
    return memcmp(v, p, 32) < 0;
}
#endif

#if defined(CBA_HAVE_SP_ECC_VERIFY_256) && defined(CBA_HAVE_SP_ECC_IS_POINT_256)
/* With wolfSSL's SP P-256 code linked statically (the bundled build) the verifier calls it
 * directly, as wc_ecc_verify_hash does at its end, and skips what lies between: no ecc_key (its
 * init, import and free), no DER encoding of r||s that wc_ecc_verify_hash decodes again, no curve
 * order read from hex for a range check made here already (docs/benchmarks.md, 2026-12-07: 5,100
 * to 6,300 fewer instructions a signature, ~0.8 %). Every check stays: x, y < p, the point on the
 * curve, 0 < r, s < n. */
#define CBA_SP_DIRECT 1

/* sp_pub is a public key as the SP functions take it: X, Y and Z = 1 as wolfSSL big integers
 * (fixed-size sp_int: nothing is allocated). */
typedef struct sp_pub {
    mp_int x, y, z;
} sp_pub;

/* sp_pub_load reads X||Y and requires x, y < p and the point on P-256 (cofactor 1: on the curve
 * means in the prime-order group; (0, 0) is not on it). Call sp_pub_clear afterwards, whatever it
 * returned. */
static cba_crypto_rc sp_pub_load(sp_pub *q, const uint8_t pub_xy[64])
{
    int wc = mp_init_multi(&q->x, &q->y, &q->z, NULL, NULL, NULL); /* first: sp_pub_clear follows */
    if (wc != 0) { return rc_of(wc); }
    if (!coord_below_p(pub_xy) || !coord_below_p(pub_xy + 32)) { return CBA_CRYPTO_INVALID; }
    wc = mp_read_unsigned_bin(&q->x, pub_xy, 32);
    if (wc == 0) { wc = mp_read_unsigned_bin(&q->y, pub_xy + 32, 32); }
    if (wc == 0) { wc = mp_set(&q->z, 1); }
    if (wc == 0) { wc = sp_ecc_is_point_256(&q->x, &q->y); }
    return wc == 0 ? CBA_CRYPTO_OK : rc_of(wc);
}

static void sp_pub_clear(sp_pub *q)
{
    mp_clear(&q->x);
    mp_clear(&q->y);
    mp_clear(&q->z);
}

cba_crypto_rc cba_p256_point_check(const uint8_t pub_xy[64])
{
    sp_pub q;
    cba_crypto_rc rc = sp_pub_load(&q, pub_xy);
    sp_pub_clear(&q);
    return rc;
}
#else
/* import_key loads X||Y into key and requires the point to be on P-256. P-256 has cofactor 1: on
 * the curve (and not infinity, which has no affine X||Y) means in the prime-order group, so the
 * costly order multiplication of wc_ecc_check_key adds nothing. */
static cba_crypto_rc import_key(ecc_key *key, const uint8_t pub_xy[64])
{
    int rc;
#if defined(CBA_HAVE_SP_ECC_IS_POINT_256)
    /* With wolfSSL's SP P-256 code (the bundled build) the check runs in its Montgomery arithmetic:
     * wc_ecc_point_is_on_curve would use generic big integers and read the curve constants from
     * hex text on every call (~17,000 instructions a key). sp_ecc_is_point_256 reduces x and y
     * modulo p, so the range checks wc_ecc_point_is_on_curve makes (x, y < p) come first. */
    if (!coord_below_p(pub_xy) || !coord_below_p(pub_xy + 32)) { return CBA_CRYPTO_INVALID; }
    rc = wc_ecc_import_unsigned(key, pub_xy, pub_xy + 32, NULL, ECC_SECP256R1);
    if (rc != 0) { return rc_of(rc); }
    rc = sp_ecc_is_point_256(key->pubkey.x, key->pubkey.y);
#elif defined(CBA_HAVE_WC_ECC_POINT_IS_ON_CURVE)
    int curve_idx = wc_ecc_get_curve_idx(ECC_SECP256R1);
    if (curve_idx < 0) { return CBA_CRYPTO_INVALID; }
    rc = wc_ecc_import_unsigned(key, pub_xy, pub_xy + 32, NULL, ECC_SECP256R1);
    if (rc != 0) { return rc_of(rc); }
    rc = wc_ecc_point_is_on_curve(&key->pubkey, curve_idx);
#else
    /* Without USE_ECC_B_PARAM the full check (on the curve, in range, order n) is what there is. */
    rc = wc_ecc_import_unsigned(key, pub_xy, pub_xy + 32, NULL, ECC_SECP256R1);
    if (rc != 0) { return rc_of(rc); }
    rc = wc_ecc_check_key(key);
#endif
    return rc == 0 ? CBA_CRYPTO_OK : rc_of(rc);
}

cba_crypto_rc cba_p256_point_check(const uint8_t pub_xy[64])
{
    ecc_key key;
    cba_crypto_rc rc;
    int wc = wc_ecc_init(&key);
    if (wc != 0) { return rc_of(wc); }
    rc = import_key(&key, pub_xy);
    wc_ecc_free(&key);
    return rc;
}
#endif /* CBA_SP_DIRECT */

bool cba_p256_point_valid(const uint8_t pub_xy[64])
{
    return cba_p256_point_check(pub_xy) == CBA_CRYPTO_OK;
}

/* scalar_in_range is true for 0 < v < n (big-endian), so a range bug in the library cannot matter. */
static bool scalar_in_range(const uint8_t v[32])
{
    static const uint8_t n[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    };
    uint8_t any = 0;
    for (size_t i = 0; i < 32; i++) { any |= v[i]; }
    return any != 0 && memcmp(v, n, 32) < 0;
}

cba_crypto_rc cba_ecdsa_p256_check_ordinary(const uint8_t pub_xy[64], const uint8_t digest[32],
                                            const uint8_t sig_rs[64])
{
#if defined(CBA_SP_DIRECT)
    sp_pub q;
    mp_int r, s;
    int res = 0, wc;
    cba_crypto_rc rc;
    if (!scalar_in_range(sig_rs) || !scalar_in_range(sig_rs + 32)) { return CBA_CRYPTO_INVALID; }
    rc = sp_pub_load(&q, pub_xy);
    if (rc == CBA_CRYPTO_OK) {
        wc = mp_init_multi(&r, &s, NULL, NULL, NULL, NULL);
        if (wc == 0) { wc = mp_read_unsigned_bin(&r, sig_rs, 32); }
        if (wc == 0) { wc = mp_read_unsigned_bin(&s, sig_rs + 32, 32); }
        if (wc == 0) { wc = sp_ecc_verify_256(digest, 32, &q.x, &q.y, &q.z, &r, &s, &res, NULL); }
        avx_upper_clean();
        rc = wc != 0 ? rc_of(wc) : res == 1 ? CBA_CRYPTO_OK : CBA_CRYPTO_INVALID;
        mp_clear(&r);
        mp_clear(&s);
    }
    sp_pub_clear(&q);
    return rc;
#else
    ecc_key key;
    byte der[80];
    word32 der_len = sizeof der;
    int res = 0, wc;
    cba_crypto_rc rc;
    if (!scalar_in_range(sig_rs) || !scalar_in_range(sig_rs + 32)) { return CBA_CRYPTO_INVALID; }
    wc = wc_ecc_init(&key);
    if (wc != 0) { return rc_of(wc); }
    rc = import_key(&key, pub_xy);
    if (rc == CBA_CRYPTO_OK) {
        wc = wc_ecc_rs_raw_to_sig(sig_rs, 32, sig_rs + 32, 32, der, &der_len);
        if (wc == 0) { wc = wc_ecc_verify_hash(der, der_len, digest, 32, &res, &key); }
        avx_upper_clean();
        rc = wc != 0 ? rc_of(wc) : res == 1 ? CBA_CRYPTO_OK : CBA_CRYPTO_INVALID;
    }
    wc_ecc_free(&key);
    return rc;
#endif
}

static cba_crypto_rc ecdsa_check(const uint8_t pub_xy[64], const uint8_t digest[32],
                                 const uint8_t sig_rs[64])
{
#if defined(CBA_HAVE_P256_FIXED_TABLES)
    /* One of Intel's fixed keys (exact bytes): its build-time comb table, about a third of the
     * work (docs/wolfssl.md, "Fixed-key tables"); the same checks and the same answer. */
    const cba_p256_table *fixed = cba_p256_fixed_table(pub_xy);
    if (fixed != NULL) { return cba_p256_table_verify(fixed, digest, sig_rs); }
#endif
    return cba_ecdsa_p256_check_ordinary(pub_xy, digest, sig_rs);
}

bool cba_ecdsa_p256_verify(const uint8_t pub_xy[64], const uint8_t digest[32],
                           const uint8_t sig_rs[64])
{
    return ecdsa_check(pub_xy, digest, sig_rs) == CBA_CRYPTO_OK;
}

cba_crypto_rc cba_ecdsa_p256_check_msg(const uint8_t pub_xy[64], const cbs *parts, size_t num_parts,
                                       const uint8_t sig_rs[64])
{
    uint8_t digest[32];
    if (!cba_sha256(digest, parts, num_parts)) { return CBA_CRYPTO_INVALID; }
    return ecdsa_check(pub_xy, digest, sig_rs);
}

bool cba_ecdsa_p256_verify_msg(const uint8_t pub_xy[64], const cbs *parts, size_t num_parts,
                               const uint8_t sig_rs[64])
{
    return cba_ecdsa_p256_check_msg(pub_xy, parts, num_parts, sig_rs) == CBA_CRYPTO_OK;
}

void cba_crypto_release_tables(void)
{
#if defined(CBA_HAVE_WC_ECC_FP_FREE)
    wc_ecc_fp_free();   /* FP_ECC: per-thread tables of every point seen twice */
#endif
}
/* cba_crypto_library, cba_crypto_config: base/sha2.c (the wolfSSL build base links). */
