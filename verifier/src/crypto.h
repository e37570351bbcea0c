/* crypto.h — the verifier's only view of wolfCrypt: hashes and ECDSA-P256 verification.
 * crypto.c and ecdsa_table.c (the comb tables on wolfSSL's SP assembly) are the only files that
 * include wolfSSL headers. */
#ifndef CBA_CRYPTO_H
#define CBA_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbs.h"

#include "sha2.h" /* cba_sha256, cba_sha384, cba_sha512 (base) */

/* Keccak-256 with the original Keccak padding (not SHA3-256), as dstack's MR config V2 uses. */
CBA_MUST_USE bool cba_keccak256(uint8_t out[32], const cbs *parts, size_t num_parts);
/* cba_keccak256_portable is the same in plain C: what cba_keccak256 uses when wolfSSL lacks
 * WOLFSSL_HASH_FLAGS (cmake/wolfssl.cmake detects it). Never fails. */
CBA_MUST_USE bool cba_keccak256_portable(uint8_t out[32], const cbs *parts, size_t num_parts);

/* cba_crypto_rc separates "the input is bad" from "wolfCrypt ran out of memory", so that an
 * allocation failure is reported as CBA_E_NOMEM and never as forged or malformed evidence. */
typedef enum cba_crypto_rc {
    CBA_CRYPTO_OK,      /* valid point / signature verifies */
    CBA_CRYPTO_INVALID, /* off the curve, out of range, does not verify, or any other error */
    CBA_CRYPTO_NOMEM,   /* wolfCrypt returned MEMORY_E: nothing is known about the input */
    CBA_CRYPTO_UNAVAILABLE, /* the build has no comb tables (cba_p256_table_*): nothing was checked */
} cba_crypto_rc;

/* cba_p256_point_check and cba_ecdsa_p256_check_msg are cba_p256_point_valid and
 * cba_ecdsa_p256_verify_msg with the out-of-memory case told apart. */
CBA_MUST_USE cba_crypto_rc cba_p256_point_check(const uint8_t pub_xy[64]);
CBA_MUST_USE cba_crypto_rc cba_ecdsa_p256_check_msg(const uint8_t pub_xy[64], const cbs *parts,
                                                    size_t num_parts, const uint8_t sig_rs[64]);

/* cba_p256_point_valid is true when X||Y (32-byte big-endian each) is a point on P-256 (the
 * curve has cofactor 1, so on-curve means in the group) and not the identity. */
CBA_MUST_USE bool cba_p256_point_valid(const uint8_t pub_xy[64]);

/* cba_ecdsa_p256_verify checks an ECDSA-P256 signature (r||s, 32 bytes each, big-endian) over a
 * 32-byte SHA-256 digest with the public key X||Y. True only when wolfCrypt returns 0 and sets
 * its result to 1; r or s equal to 0 or >= n, or a key off the curve, give false. */
CBA_MUST_USE bool cba_ecdsa_p256_verify(const uint8_t pub_xy[64], const uint8_t digest[32],
                                        const uint8_t sig_rs[64]);

/* cba_ecdsa_p256_check_ordinary is cba_ecdsa_p256_verify without the fixed-key tables: wolfSSL's
 * own verify behind the same range checks, for any key. The verifier never picks it by itself;
 * tests and fuzzers compare the tables against it. */
CBA_MUST_USE cba_crypto_rc cba_ecdsa_p256_check_ordinary(const uint8_t pub_xy[64],
                                                         const uint8_t digest[32],
                                                         const uint8_t sig_rs[64]);

/* cba_ecdsa_p256_verify_msg hashes the views with SHA-256, then verifies as above. */
CBA_MUST_USE bool cba_ecdsa_p256_verify_msg(const uint8_t pub_xy[64], const cbs *parts,
                                            size_t num_parts, const uint8_t sig_rs[64]);

/* ---- per-key comb tables (docs/wolfssl.md, "Fixed-key tables") ------------------------------
 * With wolfSSL's static SP P-256 x86-64 assembly (the bundled build on x86-64; the configure probe
 * CBA_HAVE_SP_P256_ASM) a precomputed table of a public key Q makes u2*Q of a verification cost
 * about what u1*G costs. cba_ecdsa_p256_verify* use the build-time tables of Intel's fixed keys by
 * themselves (exact key bytes); a run-time table is for a key that will verify many signatures.
 * Without the assembly (system wolfSSL, another CPU) cba_p256_tables_available is false, _new
 * returns NULL with CBA_CRYPTO_UNAVAILABLE, and everything takes the ordinary path. */
typedef struct cba_p256_table cba_p256_table;

/* cba_p256_tables_available is true when this build can make and use tables. */
bool cba_p256_tables_available(void);

/* cba_p256_table_new checks the key X||Y as cba_p256_point_check does (x, y < p, on the curve)
 * and builds its table (CBA_P256_RUNTIME_TEETH teeth: 2^teeth * 64 bytes). NULL and *rc set:
 * CBA_CRYPTO_INVALID (bad key), _NOMEM, _UNAVAILABLE (no tables in this build). Free with
 * cba_p256_table_free. */
#define CBA_P256_RUNTIME_TEETH 6
cba_p256_table *cba_p256_table_new(const uint8_t pub_xy[64], cba_crypto_rc *rc);

/* cba_p256_table_free frees a table of cba_p256_table_new; NULL is fine. */
void cba_p256_table_free(cba_p256_table *t);

/* cba_p256_table_verify is cba_ecdsa_p256_verify for the table's key: the same range checks
 * (0 < r, s < n) and the same answer as sp_ecc_verify_256 for every input (unit.ecdsa_table_diff).
 * A NULL table gives CBA_CRYPTO_INVALID; a build without tables CBA_CRYPTO_UNAVAILABLE. */
CBA_MUST_USE cba_crypto_rc cba_p256_table_verify(const cba_p256_table *t, const uint8_t digest[32],
                                                 const uint8_t sig_rs[64]);

/* cba_p256_table_check_msg hashes the views with SHA-256, then cba_p256_table_verify. */
CBA_MUST_USE cba_crypto_rc cba_p256_table_check_msg(const cba_p256_table *t, const cbs *parts,
                                                    size_t num_parts, const uint8_t sig_rs[64]);

/* cba_crypto_release_tables frees wolfCrypt's per-thread ECC fixed-point tables. wolfCrypt (as
 * Debian builds it, FP_ECC) builds a table for a point on its second use: ~35M instructions and
 * ~1 MiB each, repaid only over many verifications with the same key. A one-shot verification
 * releases them after every signature so that none is ever built. A no-op with a wolfSSL without
 * FP_ECC (the bundled build: SP P-256 assembly has its own fixed tables for G). */
void cba_crypto_release_tables(void);

/* cba_crypto_library, cba_crypto_config: sha2.h (base). */

#endif
