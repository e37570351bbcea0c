/* crypto.c — wolfCrypt behind a small interface (hashes, ECDSA-P256 verify). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha3.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <string.h>

#include "crypto.h"

/* wolfCrypt takes word32 lengths; nothing we hash comes near 4 GiB, but refuse rather than wrap. */
#define PART_LEN_OK(p) ((p).len <= UINT32_MAX)

bool cba_sha256(uint8_t out[32], const cbs *parts, size_t num_parts)
{
    wc_Sha256 h;
    bool ok = wc_InitSha256(&h) == 0;
    for (size_t i = 0; ok && i < num_parts; i++) {
        ok = PART_LEN_OK(parts[i]) && wc_Sha256Update(&h, parts[i].data, (word32)parts[i].len) == 0;
    }
    ok = ok && wc_Sha256Final(&h, out) == 0;
    wc_Sha256Free(&h);
    return ok;
}

bool cba_sha384(uint8_t out[48], const cbs *parts, size_t num_parts)
{
    wc_Sha384 h;
    bool ok = wc_InitSha384(&h) == 0;
    for (size_t i = 0; ok && i < num_parts; i++) {
        ok = PART_LEN_OK(parts[i]) && wc_Sha384Update(&h, parts[i].data, (word32)parts[i].len) == 0;
    }
    ok = ok && wc_Sha384Final(&h, out) == 0;
    wc_Sha384Free(&h);
    return ok;
}

bool cba_sha512(uint8_t out[64], const cbs *parts, size_t num_parts)
{
    wc_Sha512 h;
    bool ok = wc_InitSha512(&h) == 0;
    for (size_t i = 0; ok && i < num_parts; i++) {
        ok = PART_LEN_OK(parts[i]) && wc_Sha512Update(&h, parts[i].data, (word32)parts[i].len) == 0;
    }
    ok = ok && wc_Sha512Final(&h, out) == 0;
    wc_Sha512Free(&h);
    return ok;
}

bool cba_keccak256(uint8_t out[32], const cbs *parts, size_t num_parts)
{
    wc_Sha3 h;
    bool ok = wc_InitSha3_256(&h, NULL, INVALID_DEVID) == 0 &&
              wc_Sha3_SetFlags(&h, WC_HASH_SHA3_KECCAK256) == 0;
    for (size_t i = 0; ok && i < num_parts; i++) {
        ok = PART_LEN_OK(parts[i]) && wc_Sha3_256_Update(&h, parts[i].data, (word32)parts[i].len) == 0;
    }
    ok = ok && wc_Sha3_256_Final(&h, out) == 0;
    wc_Sha3_256_Free(&h);
    return ok;
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

/* import_key loads X||Y into key and requires the point to be on P-256. */
static cba_crypto_rc import_key(ecc_key *key, const uint8_t pub_xy[64])
{
    int curve_idx, rc;
    rc = wc_ecc_import_unsigned(key, pub_xy, pub_xy + 32, NULL, ECC_SECP256R1);
    if (rc != 0) { return rc_of(rc); }
    curve_idx = wc_ecc_get_curve_idx(ECC_SECP256R1);
    if (curve_idx < 0) { return CBA_CRYPTO_INVALID; }
    /* P-256 has cofactor 1: on the curve (and not infinity, which has no affine X||Y) means in the
     * prime-order group, so the costly order multiplication of wc_ecc_check_key adds nothing. */
    rc = wc_ecc_point_is_on_curve(&key->pubkey, curve_idx);
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

static cba_crypto_rc ecdsa_check(const uint8_t pub_xy[64], const uint8_t digest[32],
                                 const uint8_t sig_rs[64])
{
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
        rc = wc != 0 ? rc_of(wc) : res == 1 ? CBA_CRYPTO_OK : CBA_CRYPTO_INVALID;
    }
    wc_ecc_free(&key);
    return rc;
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
    wc_ecc_fp_free();
}
