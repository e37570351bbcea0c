/* sha2.c — SHA-2 through wolfCrypt, and the report-data binding (sha2.h). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>
#include <wolfssl/version.h>

#include <string.h>

#include "crabbox/driver.h"
#include "sha2.h"

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

bool cba_report_data(uint8_t out[64], const uint8_t nonce[32], const uint8_t *host_key,
                     size_t host_key_len)
{
    static const char k_domain[] = CRABBOX_REPORT_DATA_DOMAIN;
    uint8_t hk[32];
    const cbs key = cbs_make(host_key, host_key_len);
    cbs parts[3];
    if (!cba_sha256(hk, &key, 1)) {
        memset(out, 0, 64);
        return false;
    }
    parts[0] = cbs_make((const uint8_t *)k_domain, sizeof k_domain - 1);
    parts[1] = cbs_make(nonce, 32);
    parts[2] = cbs_make(hk, 32);
    if (!cba_sha512(out, parts, 3)) {
        memset(out, 0, 64);
        return false;
    }
    return true;
}

/* ---- the wolfSSL build ---------------------------------------------------------------------- */

#ifndef CBA_WOLFSSL_BUILD
#define CBA_WOLFSSL_BUILD "unknown build"
#endif
/* The options that decide speed and attack surface, as this build's options.h has them. */
#if defined(WOLFSSL_SP_X86_64_ASM) && defined(WOLFSSL_HAVE_SP_ECC)
#define CBA_W_SP " sp-p256-asm"
#elif defined(WOLFSSL_HAVE_SP_ECC)
#define CBA_W_SP " sp-p256-c"
#else
#define CBA_W_SP " generic-ecc"
#endif
#if defined(USE_INTEL_SPEEDUP)
#define CBA_W_INTEL " intelasm"
#else
#define CBA_W_INTEL ""
#endif
#if defined(WOLFSSL_AESNI)
#define CBA_W_AESNI " aesni"
#else
#define CBA_W_AESNI ""
#endif
#if defined(FP_ECC)
#define CBA_W_FPECC " fp-ecc"
#else
#define CBA_W_FPECC ""
#endif
#if defined(WOLFSSL_TLS13)
#define CBA_W_TLS13 " tls13"
#else
#define CBA_W_TLS13 ""
#endif
#if defined(HAVE_SNI)
#define CBA_W_SNI " sni"
#else
#define CBA_W_SNI ""
#endif
#if defined(NO_OLD_TLS) && defined(NO_DES3) && defined(NO_RC4) && !defined(HAVE_NULL_CIPHER)
#define CBA_W_LEGACY " no-legacy-ciphers"
#else
#define CBA_W_LEGACY " legacy-ciphers"
#endif
#if defined(CBA_HAVE_WC_SHA3_SETFLAGS)
#define CBA_W_KECCAK " keccak:wolfssl"
#else
#define CBA_W_KECCAK " keccak:portable"
#endif
/* The verifier's build-time comb tables of Intel's keys exist exactly when cmake/wolfssl.cmake's
 * probe linked the SP x86-64 assembly they use (verifier/CMakeLists.txt; docs/wolfssl.md). */
#if defined(CBA_HAVE_SP_P256_ASM)
#define CBA_W_TABLES " ecdsa-tables"
#else
#define CBA_W_TABLES ""
#endif

const char *cba_crypto_library(void)
{
    return "wolfSSL " LIBWOLFSSL_VERSION_STRING " " CBA_WOLFSSL_BUILD;
}

const char *cba_crypto_config(void)
{
    return (CBA_W_SP CBA_W_INTEL CBA_W_AESNI CBA_W_FPECC CBA_W_TLS13 CBA_W_SNI CBA_W_LEGACY CBA_W_KECCAK CBA_W_TABLES) + 1;
}
