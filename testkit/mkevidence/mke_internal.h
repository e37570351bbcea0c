/* mke_internal.h — building blocks of the evidence generator: a growable output buffer with DER,
 * JSON, hex and PEM writers, the named test keys, and the per-artefact builders. Test tooling
 * only: this code writes untrusted-looking data on purpose and never parses input. */
#ifndef CRABBOX_MKE_INTERNAL_H
#define CRABBOX_MKE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mkevidence.h"

/* ---- Output buffer ------------------------------------------------------------------------ */

/* A byte/text builder. Writes after an allocation failure are dropped and `failed` stays set, so
 * callers check once at the end (like a stream's error flag). */
typedef struct mke_buf {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} mke_buf;

void mke_buf_free(mke_buf *b);                 /* NULL-safe, wipes */
void mke_buf_put(mke_buf *b, const void *p, size_t n);
void mke_buf_u8(mke_buf *b, uint8_t v);
void mke_buf_u16le(mke_buf *b, uint16_t v);
void mke_buf_u32le(mke_buf *b, uint32_t v);
void mke_buf_u64le(mke_buf *b, uint64_t v);
void mke_buf_zeros(mke_buf *b, size_t n);
void mke_buf_str(mke_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void mke_buf_printf(mke_buf *b, const char *fmt, ...);
void mke_buf_hex(mke_buf *b, const uint8_t *p, size_t n, bool upper);
/* mke_buf_json_str writes a quoted JSON string with every byte < 0x20, '"' and '\\' escaped. */
void mke_buf_json_str(mke_buf *b, const uint8_t *s, size_t n);
/* mke_buf_pem writes one "-----BEGIN CERTIFICATE-----" block, 64-column base64, '\n' endings. */
void mke_buf_pem(mke_buf *b, const uint8_t *der, size_t n);
/* mke_buf_take moves the contents into a NUL-terminated blob (false on failure; b is freed). */
bool mke_buf_take(mke_buf *b, mke_blob *out);

/* ---- DER writer (X.690): open a constructed element, write its contents, close it ---------- */
size_t mke_der_open(const mke_buf *b);
void mke_der_close(mke_buf *b, size_t mark, uint8_t tag);
void mke_der_tlv(mke_buf *b, uint8_t tag, const void *content, size_t n);
void mke_der_int_mag(mke_buf *b, const uint8_t *mag, size_t n); /* minimal positive INTEGER */
void mke_der_int(mke_buf *b, int64_t v);                        /* any sign, minimal */
void mke_der_oid(mke_buf *b, const uint8_t *content, size_t n);
void mke_der_bool(mke_buf *b, bool v);
void mke_der_time(mke_buf *b, int64_t t); /* UTCTime before 2050, else GeneralizedTime */
void mke_der_bit_string_flags(mke_buf *b, uint16_t flags); /* named bits, DER-minimal */
void mke_der_ecdsa_alg(mke_buf *b);       /* AlgorithmIdentifier ecdsa-with-SHA256 */

/* civil time */
void mke_time_parts(int64_t t, int64_t *year, unsigned *mon, unsigned *day, unsigned *hh,
                    unsigned *mm, unsigned *ss);

/* ---- Hashes (wolfCrypt) ------------------------------------------------------------------- */
bool mke_sha256(uint8_t out[32], const void *p, size_t n);
bool mke_sha384(uint8_t out[48], const void *p, size_t n);
bool mke_sha512(uint8_t out[64], const void *p, size_t n);
bool mke_keccak256(uint8_t out[32], const void *p, size_t n);
/* mke_seed fills n bytes with SHA-256 counter-mode output over a label: fixed test values. */
void mke_seed(uint8_t *out, size_t n, const char *label);

/* ---- Keys --------------------------------------------------------------------------------- */
typedef struct mke_key mke_key;                   /* opaque wolfCrypt key */
mke_key *mke_key_load(const char *name);          /* NULL on failure */
void mke_key_free(mke_key *k);                    /* NULL-safe */
const uint8_t *mke_key_xy(const mke_key *k);      /* X||Y, 64 bytes */
/* mke_key_sign_digest signs a 32-byte digest; raw r||s and/or DER ECDSA-Sig-Value. */
bool mke_key_sign_digest(mke_key *k, const uint8_t digest[32], uint8_t out_rs[64],
                         uint8_t *out_der, size_t *out_der_len);
/* mke_key_sign_msg signs SHA-256(msg); `corrupt` signs a digest with one bit flipped. */
bool mke_key_sign_msg(mke_key *k, const void *msg, size_t n, bool corrupt, uint8_t out_rs[64],
                      uint8_t *out_der, size_t *out_der_len);

/* ---- Generation context -------------------------------------------------------------------- */
typedef struct mke_ctx {
    const mke_options *o;
    mke_evidence *ev;
    mke_key *root, *platform_ca, *processor_ca, *leaf_ca_key, *leaf, *tcb_signer, *qe_signer, *attest,
        *app_ca, *app_cert;
    uint8_t tcb_info_sig[64], qe_identity_sig[64];
    char err[160];
} mke_ctx;

__attribute__((format(printf, 2, 3))) bool mke_fail(mke_ctx *x, const char *fmt, ...);

/* The dstack side, computed before the quote (RTMRs, MRCONFIGID, report data). */
typedef struct mke_dstack_event {
    uint32_t imr, event_type;
    char name[64];
    uint8_t *payload;          /* owned */
    size_t payload_len;
    uint8_t digest[48];
    bool strip_digest, tamper_digest;
    int version;
} mke_dstack_event;

typedef struct mke_dstack {
    size_t num_events;
    mke_dstack_event *events;  /* owned */
    uint8_t rtmr[4][48];
    uint8_t compose_hash[32];
    uint8_t mrconfigid[48];
    uint8_t app_ca_der[1024];
    size_t app_ca_der_len;
    uint8_t spki[128];         /* app cert SubjectPublicKeyInfo DER */
    size_t spki_len;
    uint8_t report_data[64];
    mke_buf event_log_json;    /* compact JSON array */
} mke_dstack;

void mke_dstack_cleanup(mke_dstack *d);

/* Builders, called in this order by mke_generate. Each returns false after mke_fail. */
bool mke_build_pki(mke_ctx *x);        /* certificates, CRLs */
bool mke_build_collateral_texts(mke_ctx *x); /* TCB info, QE identity (+ signatures) */
bool mke_build_dstack(mke_ctx *x, mke_dstack *d);
bool mke_build_quote(mke_ctx *x, const mke_dstack *d);
bool mke_build_info(mke_ctx *x, const mke_dstack *d);
bool mke_build_collateral_json(mke_ctx *x);


/* Certificate building shared by the PKI and dstack parts. `ext` is the DER of the extensions'
 * contents (a sequence of Extension elements, without the outer SEQUENCE). */
typedef struct mke_name {
    const char *cn, *o, *l, *st, *c; /* NULL members are left out */
} mke_name;
void mke_der_name(mke_buf *b, const mke_name *n);
void mke_der_spki(mke_buf *b, const uint8_t xy[64]);
bool mke_make_cert(mke_ctx *x, mke_buf *out, const mke_cert_opts *c, const char *role,
                   const mke_name *issuer, const mke_name *subject, const uint8_t subject_xy[64],
                   mke_key *issuer_key, const mke_buf *ext);
void mke_ext(mke_buf *b, const uint8_t *oid, size_t oid_len, bool critical, const mke_buf *value);
void mke_key_id(uint8_t out[20], const uint8_t xy[64]);

#endif
