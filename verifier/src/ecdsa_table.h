/* ecdsa_table.h — internals of the per-key ECDSA-P256 comb tables (issue 16; docs/wolfssl.md,
 * "Fixed-key tables"), shared by ecdsa_table.c, crypto.c, the build-time generator
 * (verifier/gen/ecdsa_table_gen.c) and the tests. The verifier's view is crypto.h's opaque
 * cba_p256_table. Compiled in only when cmake/wolfssl.cmake's probe links wolfSSL's SP P-256
 * x86-64 assembly (CBA_HAVE_SP_P256_ASM); otherwise every function says "unavailable". */
#ifndef CBA_ECDSA_TABLE_H
#define CBA_ECDSA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define CBA_P256_TABLE_MIN_TEETH 2
#define CBA_P256_TABLE_MAX_TEETH 8
#define CBA_P256_TABLE_MAX_COMBS 2

/* cba_p256_affine is an affine point in Montgomery form (x*2^256 mod p), each coordinate as four
 * little-endian 64-bit limbs, canonical (below p): the same bytes whichever field code made it. */
typedef struct cba_p256_affine {
    uint64_t x[4];
    uint64_t y[4];
} cba_p256_affine;

/* struct cba_p256_table: teeth W, spacing d = ceil(256 / W), `combs` C (1 or 2) with sub-spacing
 * e = ceil(d / C), and C * 2^W entries: pt[c * 2^W + idx] = sum over the set bits j of idx of
 * 2^(j*d + c*e) * Q (each comb's entry 0 unused, zero). A scalar multiplication costs e - 1
 * doublings and up to C * e mixed additions. `owned` is the allocation of a run-time table (pt
 * points into it) and NULL for a bundled `static const` one. */
struct cba_p256_table {
    unsigned teeth;
    unsigned spacing;
    unsigned combs;
    const cba_p256_affine *pt;
    cba_p256_affine *owned;
};

/* cba_p256_fixed_key: one of Intel's fixed keys with its build-time table (the file the generator
 * writes into the build directory, ecdsa_fixed_tables.c). Looked up by the exact 64 bytes X||Y. */
typedef struct cba_p256_fixed_key {
    const char *name;
    uint8_t pub_xy[64];
    cba_p256_table table;
} cba_p256_fixed_key;

#if defined(CBA_HAVE_P256_FIXED_TABLES)
extern const cba_p256_fixed_key cba_p256_fixed_keys[];
extern const size_t cba_p256_num_fixed_keys;
#endif

/* cba_p256_table_new_teeth is cba_p256_table_new with `teeth` (CBA_P256_TABLE_MIN_TEETH..MAX)
 * chosen: 2^teeth entries of 64 bytes; a scalar multiplication then costs ceil(256/teeth) - 1
 * doublings and as many mixed additions at most. NULL and *rc set on a bad key (x or y >= p, off
 * the curve), teeth out of range (CBA_CRYPTO_INVALID), no memory (CBA_CRYPTO_NOMEM), or no
 * assembly (CBA_CRYPTO_UNAVAILABLE). */
cba_p256_table *cba_p256_table_new_teeth(const uint8_t pub_xy[64], unsigned teeth, cba_crypto_rc *rc);
/* cba_p256_table_new_comb is the same with `combs` (1..CBA_P256_TABLE_MAX_COMBS) combs: twice the
 * entries for 2, and half the doublings. _new_teeth is 1 comb. */
cba_p256_table *cba_p256_table_new_comb(const uint8_t pub_xy[64], unsigned teeth, unsigned combs,
                                        cba_crypto_rc *rc);

/* cba_p256_table_size is the table's size in bytes (the struct and its entries); 0 for NULL. */
size_t cba_p256_table_size(const cba_p256_table *t);

/* cba_p256_table_known_answer compares entries of t with wolfSSL's own scalar multiplication
 * (sp_ecc_mulmod_256 of Q by the entry's coefficient, made affine and canonical): every comb's
 * teeth and last entry, and with `all` every entry. CBA_CRYPTO_OK when all agree; INVALID on the first
 * difference (or pub_xy not a valid key); too costly for every verification: run by the generator
 * on what it writes and by the tests on what the build links (unit.ecdsa_table_fixed). */
CBA_MUST_USE cba_crypto_rc cba_p256_table_known_answer(const cba_p256_table *t, const uint8_t pub_xy[64],
                                                       bool all);

/* cba_p256_fixed_table returns the bundled table of the key X||Y (exact bytes), or NULL when the
 * key is not bundled or the build has no tables. There is no switch: the library reads no
 * environment. Tests compare the tables with cba_ecdsa_p256_check_ordinary, and whole
 * verifications with crabbox-attest-no-tables (a test build linked with tests/support/
 * no_fixed_tables.c, an empty list, in place of the generated one). */
const cba_p256_table *cba_p256_fixed_table(const uint8_t pub_xy[64]);

#endif
