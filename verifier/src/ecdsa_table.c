/* ecdsa_table.c — ECDSA-P256 verification with a per-key fixed-base comb table (issue 16;
 * docs/wolfssl.md, "Fixed-key tables"). The second of the two files that include wolfSSL headers.
 *
 * wolfSSL 5.5.4 and 5.7.2 keep their stripe-table code static (FP_ECC only, with a global cache);
 * what their static SP build does export are the x86-64 assembly field operations (global
 * symbols in sp_x86_64_asm.S, declared only inside sp_x86_64.c). This file builds on those: its
 * own Jacobian doubling and mixed addition (a = -3), Lim-Lee comb, batch affine conversion
 * (one inversion per table), and for the end u1*G + P the exported sp_ecc_mulmod_base_add_256.
 * cmake/wolfssl.cmake links every symbol used here in a probe (CBA_HAVE_SP_P256_ASM); without it
 * (Debian's shared wolfSSL, another CPU) the functions below say CBA_CRYPTO_UNAVAILABLE.
 * Variable time: verification handles public data only. No global mutable state. */
#if defined(CBA_HAVE_SP_P256_ASM)
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/cpuid.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/sp.h>
#endif

#include <stdlib.h>
#include <string.h>

#include "ecdsa_table.h"

#if defined(CBA_HAVE_SP_P256_ASM)
#if !defined(__x86_64__) || !defined(WOLFSSL_SP_X86_64_ASM) || !defined(WOLFSSL_HAVE_SP_ECC)
#error "CBA_HAVE_SP_P256_ASM needs wolfSSL's SP P-256 x86-64 assembly (cmake/wolfssl.cmake's probe)"
#endif

/* The assembly's global symbols (sp_x86_64_asm.S; prototypes as in sp_x86_64.c). */
extern void sp_256_mont_mul_avx2_4(sp_digit *r, const sp_digit *a, const sp_digit *b, const sp_digit *m,
                                   sp_digit mp);
extern void sp_256_mont_sqr_avx2_4(sp_digit *r, const sp_digit *a, const sp_digit *m, sp_digit mp);
extern void sp_256_mont_add_4(sp_digit *r, const sp_digit *a, const sp_digit *b, const sp_digit *m);
extern void sp_256_mont_dbl_4(sp_digit *r, const sp_digit *a, const sp_digit *m);
extern void sp_256_mont_tpl_4(sp_digit *r, const sp_digit *a, const sp_digit *m);
extern void sp_256_mont_sub_4(sp_digit *r, const sp_digit *a, const sp_digit *b, const sp_digit *m);
extern void sp_256_mont_mul_order_avx2_4(sp_digit *r, const sp_digit *a, const sp_digit *b);
extern void sp_256_mod_inv_avx2_4(sp_digit *r, const sp_digit *a, const sp_digit *m);
extern void sp_256_mont_mul_4(sp_digit *r, const sp_digit *a, const sp_digit *b, const sp_digit *m, sp_digit mp);
extern void sp_256_mont_sqr_4(sp_digit *r, const sp_digit *a, const sp_digit *m, sp_digit mp);
extern void sp_256_mul_4(sp_digit *r, const sp_digit *a, const sp_digit *b);
extern void sp_256_mont_reduce_order_4(sp_digit *a, const sp_digit *m, sp_digit mp);
extern void sp_256_mod_inv_4(sp_digit *r, const sp_digit *a, const sp_digit *m);
extern sp_int64 sp_256_cmp_4(const sp_digit *a, const sp_digit *b);
extern sp_digit sp_256_sub_4(sp_digit *r, const sp_digit *a, const sp_digit *b);
extern sp_digit sp_256_add_4(sp_digit *r, const sp_digit *a, const sp_digit *b);

typedef sp_digit fe[4]; /* little-endian 64-bit limbs */

static const sp_digit P[4] = {(sp_digit)0xffffffffffffffffULL, (sp_digit)0x00000000ffffffffULL, 0,
                              (sp_digit)0xffffffff00000001ULL};
static const sp_digit ONE_M[4] = {1, (sp_digit)0xffffffff00000000ULL, (sp_digit)0xffffffffffffffffULL,
                                  (sp_digit)0x00000000fffffffeULL}; /* R mod p */
static const sp_digit R2P[4] = {3, (sp_digit)0xfffffffbffffffffULL, (sp_digit)0xfffffffffffffffeULL,
                                (sp_digit)0x00000004fffffffdULL}; /* R^2 mod p */
static const sp_digit N[4] = {(sp_digit)0xf3b9cac2fc632551ULL, (sp_digit)0xbce6faada7179e84ULL,
                              (sp_digit)0xffffffffffffffffULL, (sp_digit)0xffffffff00000000ULL};
static const sp_digit R2N[4] = {(sp_digit)0x83244c95be79eea2ULL, (sp_digit)0x4699799c49bd6fa6ULL,
                                (sp_digit)0x2845b2392b6bec59ULL, (sp_digit)0x66e12d94f3d95620ULL}; /* R^2 mod n */
#define MP 1 /* -p^-1 mod 2^64 */

/* field_ops: the multiplications in their BMI2/ADX form or generic x86-64 form (valgrind hides
 * BMI2/ADX, so callgrind measures the generic one, as for sp_ecc_verify_256). */
typedef struct field_ops {
    void (*mont_mul)(sp_digit *r, const sp_digit *a, const sp_digit *b, const sp_digit *m, sp_digit mp);
    void (*mont_sqr)(sp_digit *r, const sp_digit *a, const sp_digit *m, sp_digit mp);
    void (*mul_order)(sp_digit *r, const sp_digit *a, const sp_digit *b); /* r: 8 digits */
    void (*mod_inv)(sp_digit *r, const sp_digit *a, const sp_digit *m);
} field_ops;

static const sp_digit MP_ORDER = (sp_digit)0xccd1c8aaee00bc4fULL; /* -n^-1 mod 2^64 */

static void mul_order_avx2(sp_digit *r, const sp_digit *a, const sp_digit *b)
{
    sp_256_mont_mul_order_avx2_4(r, a, b);
}

static void mul_order_gen(sp_digit *r, const sp_digit *a, const sp_digit *b)
{
    sp_256_mul_4(r, a, b);
    sp_256_mont_reduce_order_4(r, N, MP_ORDER);
}

static const field_ops OPS_AVX2 = {sp_256_mont_mul_avx2_4, sp_256_mont_sqr_avx2_4, mul_order_avx2,
                                   sp_256_mod_inv_avx2_4};
static const field_ops OPS_GEN = {sp_256_mont_mul_4, sp_256_mont_sqr_4, mul_order_gen, sp_256_mod_inv_4};

static const field_ops *ops(void)
{
    /* wolfSSL's own choice (its cached CPUID flags), so both verifiers run the same code */
    word32 f = cpuid_get_flags();
    return IS_INTEL_BMI2(f) && IS_INTEL_ADX(f) ? &OPS_AVX2 : &OPS_GEN;
}

static void f_mul(const field_ops *o, sp_digit *r, const sp_digit *a, const sp_digit *b) { o->mont_mul(r, a, b, P, MP); }
static void f_sqr(const field_ops *o, sp_digit *r, const sp_digit *a) { o->mont_sqr(r, a, P, MP); }
static void f_add(sp_digit *r, const sp_digit *a, const sp_digit *b) { sp_256_mont_add_4(r, a, b, P); }
static void f_sub(sp_digit *r, const sp_digit *a, const sp_digit *b) { sp_256_mont_sub_4(r, a, b, P); }
static void f_dbl(sp_digit *r, const sp_digit *a) { sp_256_mont_dbl_4(r, a, P); }

/* f_is_zero: the Montgomery operations keep values below 2^256, not always below p. */
static int f_is_zero(const sp_digit *a)
{
    int zero = (a[0] | a[1] | a[2] | a[3]) == 0;
    int is_p = a[0] == P[0] && a[1] == P[1] && a[2] == P[2] && a[3] == P[3];
    return zero || is_p;
}

/* canon brings a (below 2^256) below p. */
static void canon(sp_digit *a)
{
    if (sp_256_cmp_4(a, P) >= 0) { (void)sp_256_sub_4(a, a, P); }
}

/* f_inv: a^(p-2), Montgomery form in and out (once per table). */
static void f_inv(const field_ops *o, sp_digit *r, const sp_digit *a)
{
    fe t;
    memcpy(t, ONE_M, sizeof t);
    for (int bit = 255; bit >= 0; bit--) {
        uint64_t limb = (uint64_t)P[bit >> 6];
        if (bit < 64) { limb -= 2; } /* p - 2: only limb 0 changes (p's low limb is all ones) */
        f_sqr(o, t, t);
        if ((limb >> (bit & 63)) & 1) { f_mul(o, t, t, a); }
    }
    memcpy(r, t, sizeof t);
}

typedef struct jpt {
    fe x, y, z;
    int inf;
} jpt;
typedef struct apt {
    fe x, y;
} apt;

/* Jacobian doubling, a = -3 (dbl-2001-b): 3M + 5S. */
static void pt_dbl(const field_ops *o, jpt *r, const jpt *a)
{
    fe delta, gamma, beta, alpha, t1, t2, x3, y3, z3;
    if (a->inf || f_is_zero(a->y)) { r->inf = 1; return; }
    f_sqr(o, delta, a->z);
    f_sqr(o, gamma, a->y);
    f_mul(o, beta, a->x, gamma);
    f_sub(t1, a->x, delta);
    f_add(t2, a->x, delta);
    f_mul(o, t1, t1, t2);
    sp_256_mont_tpl_4(alpha, t1, P);
    f_mul(o, z3, a->y, a->z);
    f_dbl(z3, z3);
    f_sqr(o, x3, alpha);
    f_dbl(t1, beta);
    f_dbl(t1, t1);      /* 4 beta */
    f_dbl(t2, t1);      /* 8 beta */
    f_sub(x3, x3, t2);
    f_sub(t1, t1, x3);
    f_mul(o, y3, alpha, t1);
    f_sqr(o, t2, gamma);
    f_dbl(t2, t2);
    f_dbl(t2, t2);
    f_dbl(t2, t2);      /* 8 gamma^2 */
    f_sub(y3, y3, t2);
    memcpy(r->x, x3, sizeof x3);
    memcpy(r->y, y3, sizeof y3);
    memcpy(r->z, z3, sizeof z3);
    r->inf = 0;
}

/* r = a + b, b affine: 8M + 3S; exceptional cases (a = inf, a = b, a = -b) handled. */
static void pt_madd(const field_ops *o, jpt *r, const jpt *a, const apt *b)
{
    fe z1z1, u2, s2, h, rr, hh, hhh, v, x3, y3, z3, t;
    if (a->inf) {
        memcpy(r->x, b->x, sizeof r->x);
        memcpy(r->y, b->y, sizeof r->y);
        memcpy(r->z, ONE_M, sizeof r->z);
        r->inf = 0;
        return;
    }
    f_sqr(o, z1z1, a->z);
    f_mul(o, u2, b->x, z1z1);
    f_mul(o, s2, a->z, z1z1);
    f_mul(o, s2, s2, b->y);
    f_sub(h, u2, a->x);
    f_sub(rr, s2, a->y);
    if (f_is_zero(h)) {
        if (f_is_zero(rr)) { pt_dbl(o, r, a); } else { r->inf = 1; }
        return;
    }
    f_sqr(o, hh, h);
    f_mul(o, hhh, h, hh);
    f_mul(o, v, a->x, hh);
    f_sqr(o, x3, rr);
    f_sub(x3, x3, hhh);
    f_dbl(t, v);
    f_sub(x3, x3, t);
    f_sub(t, v, x3);
    f_mul(o, y3, rr, t);
    f_mul(o, t, a->y, hhh);
    f_sub(y3, y3, t);
    f_mul(o, z3, a->z, h);
    memcpy(r->x, x3, sizeof x3);
    memcpy(r->y, y3, sizeof y3);
    memcpy(r->z, z3, sizeof z3);
    r->inf = 0;
}

/* to_affine converts n Jacobian points (none at infinity) with one inversion (Montgomery's trick).
 * pre holds n field elements of scratch. */
static void to_affine(const field_ops *o, apt *out, const jpt *in, size_t n, fe *pre)
{
    fe inv, zi, zi2;
    memcpy(pre[0], in[0].z, sizeof(fe));
    for (size_t i = 1; i < n; i++) { f_mul(o, pre[i], pre[i - 1], in[i].z); }
    f_inv(o, inv, pre[n - 1]);
    for (size_t i = n; i-- > 0;) {
        if (i > 0) {
            f_mul(o, zi, inv, pre[i - 1]);
            f_mul(o, inv, inv, in[i].z);
        } else {
            memcpy(zi, inv, sizeof zi);
        }
        f_sqr(o, zi2, zi);
        f_mul(o, out[i].x, in[i].x, zi2);
        f_mul(o, zi2, zi2, zi);
        f_mul(o, out[i].y, in[i].y, zi2);
    }
}

_Static_assert(sizeof(apt) == sizeof(cba_p256_affine), "a table entry is two 4-limb coordinates");
_Static_assert(sizeof(sp_digit) == sizeof(uint64_t), "SP x86-64 digits are 64 bits");

/* entry reads table entry idx into an apt (memcpy: the table stores uint64_t limbs, the field
 * code takes sp_digit). */
static void entry(apt *out, const cba_p256_table *t, size_t idx)
{
    memcpy(out->x, t->pt[idx].x, sizeof out->x);
    memcpy(out->y, t->pt[idx].y, sizeof out->y);
}

static void be_to_fe(sp_digit *r, const uint8_t b[32])
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++) { v = (v << 8) | b[(3 - i) * 8 + j]; }
        r[i] = (sp_digit)v;
    }
}

static void fe_to_be(uint8_t b[32], const sp_digit *a)
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = (uint64_t)a[i];
        for (int j = 7; j >= 0; j--) { b[(3 - i) * 8 + j] = (uint8_t)v; v >>= 8; }
    }
}

static const uint8_t P_BE[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
static const uint8_t N_BE[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* key_check: x, y < p and on the curve (as crypto.c's sp_pub_load). */
static cba_crypto_rc key_check(const uint8_t pub_xy[64])
{
    mp_int x, y;
    int wc;
    if (memcmp(pub_xy, P_BE, 32) >= 0 || memcmp(pub_xy + 32, P_BE, 32) >= 0) { return CBA_CRYPTO_INVALID; }
    wc = mp_init_multi(&x, &y, NULL, NULL, NULL, NULL);
    if (wc == 0) { wc = mp_read_unsigned_bin(&x, pub_xy, 32); }
    if (wc == 0) { wc = mp_read_unsigned_bin(&y, pub_xy + 32, 32); }
    if (wc == 0) { wc = sp_ecc_is_point_256(&x, &y); }
    mp_clear(&x);
    mp_clear(&y);
    if (wc == MEMORY_E) { return CBA_CRYPTO_NOMEM; }
    return wc == 0 ? CBA_CRYPTO_OK : CBA_CRYPTO_INVALID;
}

/* comb_sub is the sub-spacing e = ceil(d / combs): comb c covers offsets c*e .. c*e + e - 1 of each
 * stripe of d bits. */
static unsigned comb_sub(unsigned spacing, unsigned combs)
{
    return (spacing + combs - 1) / combs;
}

cba_p256_table *cba_p256_table_new_comb(const uint8_t pub_xy[64], unsigned teeth, unsigned combs,
                                        cba_crypto_rc *rc)
{
    cba_p256_table *t = NULL;
    cba_p256_affine *pts = NULL;
    apt *aff = NULL;
    jpt *jac = NULL;
    fe *pre = NULL;
    size_t n, total;
    unsigned d, e;
    *rc = CBA_CRYPTO_INVALID;
    const field_ops *o = ops();
    if (teeth < CBA_P256_TABLE_MIN_TEETH || teeth > CBA_P256_TABLE_MAX_TEETH || combs < 1 ||
        combs > CBA_P256_TABLE_MAX_COMBS) {
        return NULL;
    }
    *rc = key_check(pub_xy);
    if (*rc != CBA_CRYPTO_OK) { return NULL; }
    n = (size_t)1 << teeth;
    total = n * combs;
    d = (256 + teeth - 1) / teeth;
    e = comb_sub(d, combs);
    t = calloc(1, sizeof *t);
    pts = calloc(total, sizeof *pts);
    aff = calloc(total, sizeof *aff);
    jac = calloc(total, sizeof *jac);
    pre = calloc(total, sizeof *pre);
    if (t == NULL || pts == NULL || aff == NULL || jac == NULL || pre == NULL) {
        *rc = CBA_CRYPTO_NOMEM;
        goto fail;
    }
    t->teeth = teeth;
    t->spacing = d;
    t->combs = combs;
    {
        /* The teeth of every comb: tooth j of comb c is 2^(j*d + c*e) Q, made by doubling Q in
         * the order of the exponents (j*d + c*e < j*d + d), then affine with one inversion. */
        jpt cur, teeth_j[CBA_P256_TABLE_MAX_TEETH * CBA_P256_TABLE_MAX_COMBS];
        apt teeth_a[CBA_P256_TABLE_MAX_TEETH * CBA_P256_TABLE_MAX_COMBS];
        unsigned pos = 0;
        be_to_fe(cur.x, pub_xy);
        be_to_fe(cur.y, pub_xy + 32);
        f_mul(o, cur.x, cur.x, R2P);
        f_mul(o, cur.y, cur.y, R2P);
        memcpy(cur.z, ONE_M, sizeof(fe));
        cur.inf = 0;
        for (unsigned j = 0; j < teeth; j++) {
            for (unsigned c = 0; c < combs; c++) {
                unsigned want = j * d + c * e;
                while (pos < want) {
                    pt_dbl(o, &cur, &cur);
                    pos++;
                }
                if (cur.inf) { goto fail; }
                teeth_j[c * teeth + j] = cur;
            }
        }
        to_affine(o, teeth_a, teeth_j, (size_t)teeth * combs, pre);
        /* Every entry: the entry without its highest bit plus that tooth (mixed addition). */
        for (unsigned c = 0; c < combs; c++) {
            jpt *cj = jac + (size_t)c * n;
            for (size_t idx = 1; idx < n; idx++) {
                unsigned hb = 63u - (unsigned)__builtin_clzll((unsigned long long)idx);
                if (idx == ((size_t)1 << hb)) {
                    cj[idx] = teeth_j[c * teeth + hb];
                } else {
                    pt_madd(o, &cj[idx], &cj[idx ^ ((size_t)1 << hb)], &teeth_a[c * teeth + hb]);
                }
            }
        }
    }
    /* Every coefficient is a sum of distinct powers of 2 below 2^255 < n (the highest,
     * (W-1)*d + (C-1)*e, is at most 240), so no entry is infinity; checked anyway. Then all entries but each comb's unused [0] made affine at once. */
    {
        size_t m = 0;
        for (unsigned c = 0; c < combs; c++) {
            for (size_t idx = 1; idx < n; idx++) {
                jpt *q = &jac[(size_t)c * n + idx];
                if (q->inf || f_is_zero(q->z)) { goto fail; }
                jac[m++] = *q; /* compact: m <= c * n + idx - 1 */
            }
        }
        to_affine(o, aff, jac, m, pre);
        m = 0;
        for (unsigned c = 0; c < combs; c++) {
            for (size_t idx = 1; idx < n; idx++) {
                cba_p256_affine *out = &pts[(size_t)c * n + idx];
                /* Canonical (below p): the same bytes whichever multiplication ran. */
                canon(aff[m].x);
                canon(aff[m].y);
                memcpy(out->x, aff[m].x, sizeof out->x);
                memcpy(out->y, aff[m].y, sizeof out->y);
                m++;
            }
        }
    }
    t->pt = pts;
    t->owned = pts;
    *rc = CBA_CRYPTO_OK;
    goto out;
fail:
    free(t);
    free(pts);
    t = NULL;
out:
    free(aff);
    free(jac);
    free(pre);
    return t;
}

cba_p256_table *cba_p256_table_new_teeth(const uint8_t pub_xy[64], unsigned teeth, cba_crypto_rc *rc)
{
    return cba_p256_table_new_comb(pub_xy, teeth, 1, rc);
}

cba_p256_table *cba_p256_table_new(const uint8_t pub_xy[64], cba_crypto_rc *rc)
{
    return cba_p256_table_new_teeth(pub_xy, CBA_P256_RUNTIME_TEETH, rc);
}

void cba_p256_table_free(cba_p256_table *t)
{
    if (t == NULL) { return; }
    free(t->owned);
    free(t);
}

size_t cba_p256_table_size(const cba_p256_table *t)
{
    return t == NULL ? 0 : sizeof *t + ((size_t)t->combs << t->teeth) * sizeof(cba_p256_affine);
}

bool cba_p256_tables_available(void)
{
    return true;
}

/* comb: r = k * Q (k any 256-bit value). Bit p = j*d + c*e + i (i < e, c*e + i < d) is taken at
 * step i from comb c's entry, tooth j: e - 1 doublings, up to combs * e additions. */
static void comb(const field_ops *o, jpt *r, const cba_p256_table *t, const sp_digit *k)
{
    const unsigned d = t->spacing, w = t->teeth, e = comb_sub(d, t->combs);
    r->inf = 1;
    for (unsigned i = e; i-- > 0;) {
        if (!r->inf) { pt_dbl(o, r, r); }
        for (unsigned c = 0; c < t->combs; c++) {
            size_t idx = 0;
            unsigned off = c * e + i;
            if (off >= d) { continue; }
            for (unsigned j = 0; j < w; j++) {
                unsigned bit = off + j * d;
                if (bit < 256) { idx |= (size_t)(((uint64_t)k[bit >> 6] >> (bit & 63)) & 1) << j; }
            }
            if (idx != 0) {
                apt en;
                entry(&en, t, ((size_t)c << w) + idx);
                pt_madd(o, r, r, &en);
            }
        }
    }
}

/* fe_is_zero_mod_n: a (below 2^256, as sp_256_mont_mul_order leaves it) is 0 or n. */
static int fe_is_zero_mod_n(const sp_digit *a)
{
    int zero = (a[0] | a[1] | a[2] | a[3]) == 0;
    int is_n = a[0] == N[0] && a[1] == N[1] && a[2] == N[2] && a[3] == N[3];
    return zero || is_n;
}

/* table_shape_ok: a table this file (or the generator) can have made. */
static bool table_shape_ok(const cba_p256_table *t)
{
    return t != NULL && t->pt != NULL && t->teeth >= CBA_P256_TABLE_MIN_TEETH &&
           t->teeth <= CBA_P256_TABLE_MAX_TEETH && t->combs >= 1 && t->combs <= CBA_P256_TABLE_MAX_COMBS &&
           t->spacing == (256 + t->teeth - 1) / t->teeth;
}

static int scalar_in_range(const uint8_t v[32])
{
    uint8_t any = 0;
    for (size_t i = 0; i < 32; i++) { any |= v[i]; }
    return any != 0 && memcmp(v, N_BE, 32) < 0;
}

static cba_crypto_rc rc_of(int wc)
{
    if (wc == MEMORY_E || wc == MP_MEM) { return CBA_CRYPTO_NOMEM; }
    return CBA_CRYPTO_INVALID;
}

/* release_sp clears the scalar and the two points handed to wolfSSL's SP functions, then leaves
 * the AVX upper state clean (the SP assembly used AVX2; see crypto.c's avx_upper_clean). */
static void release_sp(mp_int *k, ecc_point *a, ecc_point *b)
{
    mp_clear(k);
    mp_clear(a->x);
    mp_clear(a->y);
    mp_clear(a->z);
    mp_clear(b->x);
    mp_clear(b->y);
    mp_clear(b->z);
#if defined(__GNUC__) || defined(__clang__)
    if (__builtin_cpu_supports("avx")) { __asm__ volatile("vzeroupper" ::: "memory"); }
#endif
}

cba_crypto_rc cba_p256_table_verify(const cba_p256_table *t, const uint8_t digest[32],
                                    const uint8_t sig_rs[64])
{
    const field_ops *o = ops();
    fe e, r, s;
    sp_digit sinv[8], u1[8], u2[8]; /* the order multiplication writes a double-width product */
    jpt q;
    fe rx, rz;
    uint8_t buf[32];
    mp_int k1;
    ecc_point am, res;
    int wc;
    cba_crypto_rc rc = CBA_CRYPTO_INVALID;
    if (!table_shape_ok(t) || !scalar_in_range(sig_rs) || !scalar_in_range(sig_rs + 32)) { return CBA_CRYPTO_INVALID; }
    be_to_fe(e, digest);
    be_to_fe(r, sig_rs);
    be_to_fe(s, sig_rs + 32);
    o->mod_inv(sinv, s, N);          /* s^-1 mod n */
    o->mul_order(sinv, sinv, R2N);   /* s^-1 R mod n */
    o->mul_order(u1, e, sinv);       /* e / s mod n */
    o->mul_order(u2, r, sinv);       /* r / s mod n */
    comb(o, &q, t, u2);
    if (q.inf) { return CBA_CRYPTO_INVALID; } /* cannot happen: 0 < u2 < n and Q has order n */
    memset(&am, 0, sizeof am);
    memset(&res, 0, sizeof res);
    wc = mp_init_multi(&k1, am.x, am.y, am.z, res.x, res.y);
    if (wc == 0) { wc = mp_init(res.z); }
    if (wc == 0) { fe_to_be(buf, u1); wc = mp_read_unsigned_bin(&k1, buf, 32); }
    if (wc == 0) { fe_to_be(buf, q.x); wc = mp_read_unsigned_bin(am.x, buf, 32); }
    if (wc == 0) { fe_to_be(buf, q.y); wc = mp_read_unsigned_bin(am.y, buf, 32); }
    if (wc == 0) { fe_to_be(buf, q.z); wc = mp_read_unsigned_bin(am.z, buf, 32); }
    if (wc == 0 && !fe_is_zero_mod_n(u1)) {
        /* R = u1*G + u2*Q, left in Montgomery Jacobian form (map = 0) */
        wc = sp_ecc_mulmod_base_add_256(&k1, &am, 1, &res, 0, NULL);
        if (wc == 0) { wc = mp_to_unsigned_bin_len(res.x, buf, 32); }
        if (wc == 0) { be_to_fe(rx, buf); wc = mp_to_unsigned_bin_len(res.z, buf, 32); }
        if (wc == 0) { be_to_fe(rz, buf); }
    } else if (wc == 0) {
        /* e = 0 mod n (a digest equal to n, say): u1*G is the point at infinity, which
         * sp_ecc_mulmod_base_add_256 does not mark as such (its sum would be wrong); R = u2*Q. */
        memcpy(rx, q.x, sizeof rx);
        memcpy(rz, q.z, sizeof rz);
    }
    if (wc == 0 && !f_is_zero(rz)) {
        /* x(R) mod n == r without an inversion, as sp_ecc_verify_256 does: X == r * Z^2, or
         * X == (r + n) * Z^2 when r + n < p (x(R) in [n, p)). Z = 0 (R at infinity) fails. */
        fe z2, rm, lhs;
        f_sqr(o, z2, rz);
        canon(rx);
        f_mul(o, rm, r, R2P); /* r into Montgomery form */
        f_mul(o, lhs, rm, z2);
        canon(lhs);
        if (memcmp(lhs, rx, sizeof lhs) == 0) {
            rc = CBA_CRYPTO_OK;
        } else if (sp_256_add_4(rm, r, N) == 0 && sp_256_cmp_4(rm, P) < 0) {
            f_mul(o, rm, rm, R2P);
            f_mul(o, lhs, rm, z2);
            canon(lhs);
            if (memcmp(lhs, rx, sizeof lhs) == 0) { rc = CBA_CRYPTO_OK; }
        }
    }
    if (wc != 0) { rc = rc_of(wc); }
    release_sp(&k1, &am, &res);
    return rc;
}

cba_crypto_rc cba_p256_table_check_msg(const cba_p256_table *t, const cbs *parts, size_t num_parts,
                                       const uint8_t sig_rs[64])
{
    uint8_t digest[32];
    if (!cba_sha256(digest, parts, num_parts)) { return CBA_CRYPTO_INVALID; }
    return cba_p256_table_verify(t, digest, sig_rs);
}

/* kat_entry compares entry idx of t with sp_ecc_mulmod_256(coefficient, Q), both affine. */
static cba_crypto_rc kat_entry(const field_ops *o, const cba_p256_table *t, size_t idx, ecc_point *q,
                               mp_int *k, ecc_point *res)
{
    static const sp_digit one[4] = {1, 0, 0, 0};
    uint8_t kb[32] = {0}, want[64], got[64];
    apt e;
    fe v;
    int wc;
    const unsigned c = (unsigned)(idx >> t->teeth), sub = comb_sub(t->spacing, t->combs);
    for (unsigned j = 0; j < t->teeth; j++) {
        if ((idx >> j) & 1) {
            unsigned bit = j * t->spacing + c * sub;
            kb[31 - bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
    }
    wc = mp_read_unsigned_bin(k, kb, 32);
    if (wc == 0) { wc = sp_ecc_mulmod_256(k, q, res, 1, NULL); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(res->x, want, 32); }
    if (wc == 0) { wc = mp_to_unsigned_bin_len(res->y, want + 32, 32); }
    if (wc != 0) { return rc_of(wc); }
    entry(&e, t, idx);
    f_mul(o, v, e.x, one); /* out of Montgomery form */
    canon(v);
    fe_to_be(got, v);
    f_mul(o, v, e.y, one);
    canon(v);
    fe_to_be(got + 32, v);
    return memcmp(got, want, sizeof got) == 0 ? CBA_CRYPTO_OK : CBA_CRYPTO_INVALID;
}

cba_crypto_rc cba_p256_table_known_answer(const cba_p256_table *t, const uint8_t pub_xy[64], bool all)
{
    const field_ops *o = ops();
    ecc_point q, res;
    mp_int k;
    cba_crypto_rc rc;
    int wc;
    size_t n;
    if (!table_shape_ok(t)) { return CBA_CRYPTO_INVALID; }
    rc = key_check(pub_xy);
    if (rc != CBA_CRYPTO_OK) { return rc; }
    n = (size_t)t->combs << t->teeth;
    memset(&q, 0, sizeof q);
    memset(&res, 0, sizeof res);
    wc = mp_init_multi(&k, q.x, q.y, q.z, res.x, res.y);
    if (wc == 0) { wc = mp_init(res.z); }
    if (wc == 0) { wc = mp_read_unsigned_bin(q.x, pub_xy, 32); }
    if (wc == 0) { wc = mp_read_unsigned_bin(q.y, pub_xy + 32, 32); }
    if (wc == 0) { wc = mp_set(q.z, 1); }
    rc = wc == 0 ? CBA_CRYPTO_OK : rc_of(wc);
    for (size_t idx = 1; idx < n && rc == CBA_CRYPTO_OK; idx++) {
        size_t in_comb = idx & (((size_t)1 << t->teeth) - 1);
        bool tooth = in_comb != 0 && (in_comb & (in_comb - 1)) == 0;
        if (in_comb == 0) { continue; } /* each comb's unused entry 0 */
        if (all || tooth || in_comb == ((size_t)1 << t->teeth) - 1) { rc = kat_entry(o, t, idx, &q, &k, &res); }
    }
    release_sp(&k, &q, &res);
    return rc;
}

#else /* no SP P-256 x86-64 assembly: no tables; crypto.c takes the ordinary path */

bool cba_p256_tables_available(void)
{
    return false;
}

cba_p256_table *cba_p256_table_new_comb(const uint8_t pub_xy[64], unsigned teeth, unsigned combs,
                                        cba_crypto_rc *rc)
{
    (void)pub_xy;
    (void)teeth;
    (void)combs;
    *rc = CBA_CRYPTO_UNAVAILABLE;
    return NULL;
}

cba_p256_table *cba_p256_table_new_teeth(const uint8_t pub_xy[64], unsigned teeth, cba_crypto_rc *rc)
{
    (void)pub_xy;
    (void)teeth;
    *rc = CBA_CRYPTO_UNAVAILABLE;
    return NULL;
}

cba_p256_table *cba_p256_table_new(const uint8_t pub_xy[64], cba_crypto_rc *rc)
{
    return cba_p256_table_new_teeth(pub_xy, CBA_P256_RUNTIME_TEETH, rc);
}

void cba_p256_table_free(cba_p256_table *t)
{
    (void)t; /* nothing can have made one */
}

size_t cba_p256_table_size(const cba_p256_table *t)
{
    (void)t;
    return 0;
}

cba_crypto_rc cba_p256_table_verify(const cba_p256_table *t, const uint8_t digest[32], const uint8_t sig_rs[64])
{
    (void)t;
    (void)digest;
    (void)sig_rs;
    return CBA_CRYPTO_UNAVAILABLE;
}

cba_crypto_rc cba_p256_table_check_msg(const cba_p256_table *t, const cbs *parts, size_t num_parts,
                                       const uint8_t sig_rs[64])
{
    (void)t;
    (void)parts;
    (void)num_parts;
    (void)sig_rs;
    return CBA_CRYPTO_UNAVAILABLE;
}

cba_crypto_rc cba_p256_table_known_answer(const cba_p256_table *t, const uint8_t pub_xy[64], bool all)
{
    (void)t;
    (void)pub_xy;
    (void)all;
    return CBA_CRYPTO_UNAVAILABLE;
}

#endif /* CBA_HAVE_SP_P256_ASM */

const cba_p256_table *cba_p256_fixed_table(const uint8_t pub_xy[64])
{
#if defined(CBA_HAVE_P256_FIXED_TABLES)
    for (size_t i = 0; i < cba_p256_num_fixed_keys; i++) {
        if (memcmp(pub_xy, cba_p256_fixed_keys[i].pub_xy, 64) == 0) { return &cba_p256_fixed_keys[i].table; }
    }
#else
    (void)pub_xy;
#endif
    return NULL;
}
