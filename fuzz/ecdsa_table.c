/* fuzz/ecdsa_table.c. Targets: cba_p256_table_verify (ecdsa_table.c, the comb tables of
 * docs/wolfssl.md "Fixed-key tables") against the ordinary cba_ecdsa_p256_verify path
 * (sp_ecc_verify_256 / wc_ecc_verify_hash behind crypto.c's range checks:
 * cba_ecdsa_p256_check_ordinary). Seeds: fuzz/corpus/ecdsa_table/ (the real TCB info signature
 * by Intel's TCB Signing key, valid, as a fixed-key and as a fuzzed-key input).
 * Input: mode byte, digest (32), r||s (64), then for a fuzzed key X||Y (64).
 *   mode even: a bundled key (index mode/2 mod the number of bundled keys) and its build-time table;
 *   mode odd:  the fuzzed key; when it is valid, a run-time table with 2 + (mode/2 mod 7) teeth
 *              and 1 + (mode >> 7) combs.
 * Properties: both paths give the same verdict for every input; a run-time table exists exactly
 * when the key is valid; without tables (another wolfSSL) every table call says "unavailable". */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ecdsa_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ordinary(const uint8_t pub[64], const uint8_t digest[32], const uint8_t sig[64])
{
    return cba_ecdsa_p256_check_ordinary(pub, digest, sig) == CBA_CRYPTO_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode, digest[32], sig[64], pub[64];
    cba_crypto_rc rc;
    cba_p256_table *t;
    if (size < 1 + 32 + 64) { return 0; }
    mode = data[0];
    memcpy(digest, data + 1, 32);
    memcpy(sig, data + 33, 64);
    if ((mode & 1) == 0) {
#if defined(CBA_HAVE_P256_FIXED_TABLES)
        const cba_p256_fixed_key *k = &cba_p256_fixed_keys[(size_t)(mode / 2) % cba_p256_num_fixed_keys];
        bool with = cba_p256_table_verify(&k->table, digest, sig) == CBA_CRYPTO_OK;
        if (with != ordinary(k->pub_xy, digest, sig)) { abort(); }
        /* and through the verifier's own lookup (the exact key bytes) */
        if (cba_ecdsa_p256_verify(k->pub_xy, digest, sig) != with) { abort(); }
#else
        if (cba_p256_tables_available()) { abort(); }
#endif
        return 0;
    }
    if (size < 1 + 32 + 64 + 64) { return 0; }
    memcpy(pub, data + 97, 64);
    t = cba_p256_table_new_comb(pub, 2u + (unsigned)(mode / 2) % 7u, 1u + (unsigned)(mode >> 7), &rc);
    if (!cba_p256_tables_available()) {
        if (t != NULL || rc != CBA_CRYPTO_UNAVAILABLE) { abort(); }
        if (cba_p256_table_verify(t, digest, sig) != CBA_CRYPTO_UNAVAILABLE) { abort(); }
        return 0;
    }
    if ((t != NULL) != cba_p256_point_valid(pub)) { abort(); }
    if (t == NULL) {
        if (rc != CBA_CRYPTO_INVALID && rc != CBA_CRYPTO_NOMEM) { abort(); }
        if (ordinary(pub, digest, sig)) { abort(); } /* no key, no valid signature */
        return 0;
    }
    if ((cba_p256_table_verify(t, digest, sig) == CBA_CRYPTO_OK) != ordinary(pub, digest, sig)) { abort(); }
    cba_p256_table_free(t);
    return 0;
}
