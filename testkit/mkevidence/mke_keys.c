/* mke_keys.c — the named P-256 test keys. Private scalar = SHA-256("crabbox-test:" || name),
 * reduced mod n; signatures use deterministic nonces (wolfCrypt's RFC 6979 variant), so equal
 * inputs give equal evidence. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mke_internal.h"

struct mke_key {
    ecc_key key;
    WC_RNG rng;
    uint8_t xy[64];
};

/* The order n of P-256 (SEC 2, 2.4.2). */
static const uint8_t k_p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* reduce_mod_n: a 256-bit value is below 2n, so one conditional subtraction reduces it. */
static void reduce_mod_n(uint8_t d[32])
{
    int ge = 1;
    for (size_t i = 0; i < 32; i++) {
        if (d[i] != k_p256_n[i]) {
            ge = d[i] > k_p256_n[i];
            break;
        }
    }
    if (ge) {
        unsigned borrow = 0;
        for (size_t i = 32; i > 0; i--) {
            unsigned v = (unsigned)d[i - 1] - k_p256_n[i - 1] - borrow;
            d[i - 1] = (uint8_t)v;
            borrow = (v >> 8) & 1;
        }
    }
}

mke_key *mke_key_load(const char *name)
{
    uint8_t d[32];
    char label[192];
    int n = snprintf(label, sizeof label, "crabbox-test:%s", name);
    mke_key *k;
    word32 xl = 32, yl = 32;
    bool zero = true;

    if (n < 0 || (size_t)n >= sizeof label || !mke_sha256(d, label, (size_t)n)) { return NULL; }
    reduce_mod_n(d);
    for (size_t i = 0; i < 32; i++) { zero = zero && d[i] == 0; }
    if (zero) { return NULL; } /* probability 2^-256; refuse rather than sign with d = 0 */
    k = calloc(1, sizeof *k);
    if (k == NULL) { return NULL; }
    if (wc_InitRng(&k->rng) != 0) {
        free(k);
        return NULL;
    }
    if (wc_ecc_init(&k->key) != 0) {
        wc_FreeRng(&k->rng);
        free(k);
        return NULL;
    }
    if (wc_ecc_import_private_key_ex(d, sizeof d, NULL, 0, &k->key, ECC_SECP256R1) != 0 ||
        wc_ecc_make_pub(&k->key, NULL) != 0 || wc_ecc_set_rng(&k->key, &k->rng) != 0 ||
#if defined(CBA_HAVE_WC_ECC_SET_DETERMINISTIC)
        wc_ecc_set_deterministic(&k->key, 1) != 0 ||   /* else a random k: still valid */
#endif
        wc_ecc_export_public_raw(&k->key, k->xy, &xl, k->xy + 32, &yl) != 0 || xl != 32 ||
        yl != 32) {
        memset(d, 0, sizeof d);
        mke_key_free(k);
        return NULL;
    }
    memset(d, 0, sizeof d);
    return k;
}

void mke_key_free(mke_key *k)
{
    if (k == NULL) { return; }
    wc_ecc_free(&k->key);
    wc_FreeRng(&k->rng);
    memset(k, 0, sizeof *k);
    free(k);
}

const uint8_t *mke_key_xy(const mke_key *k)
{
    return k->xy;
}

bool mke_key_sign_digest(mke_key *k, const uint8_t digest[32], uint8_t out_rs[64],
                         uint8_t *out_der, size_t *out_der_len)
{
    uint8_t der[80];
    word32 der_len = sizeof der, rl = 32, sl = 32;
    uint8_t r[32], s[32];
    if (wc_ecc_sign_hash(digest, 32, der, &der_len, &k->rng, &k->key) != 0) { return false; }
    if (out_rs != NULL) {
        if (wc_ecc_sig_to_rs(der, der_len, r, &rl, s, &sl) != 0 || rl > 32 || sl > 32) {
            return false;
        }
        /* r and s come back minimal: right-align them in 32-byte big-endian fields. */
        memset(out_rs, 0, 64);
        memcpy(out_rs + 32 - rl, r, rl);
        memcpy(out_rs + 64 - sl, s, sl);
    }
    if (out_der != NULL) {
        if (*out_der_len < der_len) { return false; }
        memcpy(out_der, der, der_len);
        *out_der_len = der_len;
    }
    return true;
}

bool mke_key_sign_msg(mke_key *k, const void *msg, size_t n, bool corrupt, uint8_t out_rs[64],
                      uint8_t *out_der, size_t *out_der_len)
{
    uint8_t h[32];
    if (!mke_sha256(h, msg, n)) { return false; }
    if (corrupt) { h[31] ^= 0x01; } /* a valid signature, over another message */
    return mke_key_sign_digest(k, h, out_rs, out_der, out_der_len);
}

bool mke_key_public(const char *key_name, uint8_t out_xy[64])
{
    mke_key *k = mke_key_load(key_name);
    if (k == NULL) { return false; }
    memcpy(out_xy, k->xy, 64);
    mke_key_free(k);
    return true;
}

bool mke_sign(const char *key_name, const uint8_t *msg, size_t msg_len, uint8_t out_rs[64])
{
    mke_key *k = mke_key_load(key_name);
    bool ok;
    if (k == NULL) { return false; }
    ok = mke_key_sign_msg(k, msg, msg_len, false, out_rs, NULL, NULL);
    mke_key_free(k);
    return ok;
}

void mke_key_id(uint8_t out[20], const uint8_t xy[64])
{
    uint8_t pt[65], h[32];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 64);
    if (!mke_sha256(h, pt, sizeof pt)) { memset(h, 0, sizeof h); }
    memcpy(out, h, 20);
}
