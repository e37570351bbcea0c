/* crypto.c — wolfCrypt behind a small interface (hashes, ECDSA-P256 verify). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
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

/* import_key loads X||Y into key and requires the point to be on P-256. */
static bool import_key(ecc_key *key, const uint8_t pub_xy[64])
{
    int curve_idx;
    if (wc_ecc_import_unsigned(key, pub_xy, pub_xy + 32, NULL, ECC_SECP256R1) != 0) { return false; }
    curve_idx = wc_ecc_get_curve_idx(ECC_SECP256R1);
    if (curve_idx < 0) { return false; }
    /* P-256 has cofactor 1: on the curve (and not infinity, which has no affine X||Y) means in the
     * prime-order group, so the costly order multiplication of wc_ecc_check_key adds nothing. */
    return wc_ecc_point_is_on_curve(&key->pubkey, curve_idx) == 0;
}

bool cba_p256_point_valid(const uint8_t pub_xy[64])
{
    ecc_key key;
    bool ok;
    if (wc_ecc_init(&key) != 0) { return false; }
    ok = import_key(&key, pub_xy);
    wc_ecc_free(&key);
    return ok;
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

bool cba_ecdsa_p256_verify(const uint8_t pub_xy[64], const uint8_t digest[32],
                           const uint8_t sig_rs[64])
{
    ecc_key key;
    byte der[80];
    word32 der_len = sizeof der;
    int res = 0;
    bool ok;
    if (!scalar_in_range(sig_rs) || !scalar_in_range(sig_rs + 32)) { return false; }
    if (wc_ecc_init(&key) != 0) { return false; }
    ok = import_key(&key, pub_xy) &&
         wc_ecc_rs_raw_to_sig(sig_rs, 32, sig_rs + 32, 32, der, &der_len) == 0 &&
         wc_ecc_verify_hash(der, der_len, digest, 32, &res, &key) == 0 && res == 1;
    wc_ecc_free(&key);
    return ok;
}

bool cba_ecdsa_p256_verify_msg(const uint8_t pub_xy[64], const cbs *parts, size_t num_parts,
                               const uint8_t sig_rs[64])
{
    uint8_t digest[32];
    return cba_sha256(digest, parts, num_parts) && cba_ecdsa_p256_verify(pub_xy, digest, sig_rs);
}

void cba_crypto_release_tables(void)
{
    wc_ecc_fp_free();
}
