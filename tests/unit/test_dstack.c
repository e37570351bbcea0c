/* test_dstack.c — dstack evidence (dcap-spec §6): the real crabbox Tappd.Info capture, GetQuote
 * shapes built from it, synthetic V2 events and RA-TLS certificates, and tampered twins. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dstack.h"
#include "testutil.h"

TestSuite(dstack, .timeout = 30);

#define INFO_REL "crabbox/real_attestation_info.json"
#define QUOTE_REL "crabbox/real_tdx_quote.bin"

/* Facts for the crabbox capture (fixtures/real/README.md). */
static const char k_mrtd_hex[] = "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7"
                                 "a4a13e14c536ec6c9c3c8fa87077";
static const char *const k_rtmr_hex[4] = {
    "68102e7b524af310f7b7d426ce75481e36c40f5d513a9009c046e9d37e31551f0134d954b496a3357fd61d03f07ffe96",
    "07e6f51aa763abfe75c3ddfbf4f425fe3f0ceff66d807a75e049303dce9addf68e7218729bd419638af63a370f65878c",
    "a2a58c9a959a4fa44bd6da0c97a2270c051faf12084cfe91ae900e4fdff6cdd4f69a82005e04ee920f231497894d677f",
    "700a470643dc8e2f4460aaa486fd7f98dc1416422951b56ae029340b7cd5d651efd7c9a39a03ce0f1147a340c919ce63",
};
static const char k_app_id_hex[] = "944edab771280ede410e7b9e66fcaee6b2c4a12c";
static const char k_compose_hex[] = "609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f7449";
static const char k_instance_hex[] = "ce0b8b919dcf82cdcd06ced46d28c9113137fc3d";
static const char k_os_image_hex[] = "de9c74f0c85d0820ce075cb4a99f8e39f7b681be632907c5bf8bdc95ea72feb9";
static const char k_mrconfigid_hex[] = "01609b684c8e7b2f31e3198885cfd5569c88feb33bec7ed18270791f13bb0f"
                                       "7449000000000000000000000000000000";
static const char k_report_data_hex[] =
    "997dfa609c1256a26b7b7f10cc60e5ec28bffd805fb1536a5387510787b479db9c52d3c8ea37b1e85ab673075bbe21"
    "3361a61a60c95f4960aca49d12b32bfbdf";
/* 0x02 || Keccak-256(compose_hash || app_id || 0x02 (kms) || key-provider id) || 15 zeros for the
 * crabbox identity, computed independently (Python Keccak-f[1600], checked against
 * Keccak-256("") = c5d24601...a470). */
static const char k_mrconfigid_v2_kms_hex[] =
    "0245a2078dc64c5124832b1febfff2828be9005836f639fb29c5812b1dbd8a721d000000000000000000000000000000";

/* TD report offsets in a v4 quote (48-byte header first): MRTD, MRCONFIGID, RTMR0, REPORTDATA. */
#define Q_MRTD 184
#define Q_MRCONFIGID 232
#define Q_RTMR0 376
#define Q_REPORTDATA 568

/* RA-TLS style test certificates (openssl req -x509, P-256), extensions under 1.3.6.1.4.1.62397:
 * A: .1.1 = OCTET STRING(01..20) and .1.2 = OCTET STRING(one-event JSON log, app-id 11*20)
 * B: .1.1 as A and .1.2 = OCTET STRING("ELGZv1" 1f 8b 08 00)
 * C: only .1.2 as A (no quote)
 * D: .1.1 = the 32 quote bytes without the inner OCTET STRING */
static const char k_cert_A[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICNjCCAdygAwIBAgIIQUFBQUFBQUEwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtQTAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4IBFDCCARAwHQYDVR0OBBYEFDX7KTqlAu9dUAT//aJPjksk\n"
    "qEvuMB8GA1UdIwQYMBaAFDX7KTqlAu9dUAT//aJPjkskqEvuMA8GA1UdEwEB/wQF\n"
    "MAMBAf8wMAYKKwYBBAGD5z0BAQQiBCABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZ\n"
    "GhscHR4fIDCBigYKKwYBBAGD5z0BAgR8BHpbeyJpbXIiOjMsImV2ZW50X3R5cGUi\n"
    "OjEzNDIxNzcyOSwiZGlnZXN0IjoiIiwiZXZlbnQiOiJhcHAtaWQiLCJldmVudF9w\n"
    "YXlsb2FkIjoiMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTEx\n"
    "MSJ9XTAKBggqhkjOPQQDAgNIADBFAiEArbPO2XE6JjJoPwqtvN+pKSUeb85ufl2o\n"
    "xaYEVDiVbg0CIAoWxbOuQNzmHXqDmRqnCh1FeQZ8EdNmBD8aBr5Y0T5s\n"
    "-----END CERTIFICATE-----\n";
static const char k_cert_B[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBwzCCAWmgAwIBAgIIQkJCQkJCQkIwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtQjAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4GiMIGfMB0GA1UdDgQWBBQ1+yk6pQLvXVAE//2iT45LJKhL\n"
    "7jAfBgNVHSMEGDAWgBQ1+yk6pQLvXVAE//2iT45LJKhL7jAPBgNVHRMBAf8EBTAD\n"
    "AQH/MDAGCisGAQQBg+c9AQEEIgQgAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob\n"
    "HB0eHyAwGgYKKwYBBAGD5z0BAgQMBApFTEdadjEfiwgAMAoGCCqGSM49BAMCA0gA\n"
    "MEUCIQCcDyCON/8sxgk2ZtEZ2hW7gTww2oMXjy7owfUjQoK2wwIgBqIJ30J4w9H/\n"
    "5XoQ7vMxc6402lodwJ5cvx4q88M7N5k=\n"
    "-----END CERTIFICATE-----\n";
static const char k_cert_C[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICAzCCAaigAwIBAgIIQ0NDQ0NDQ0MwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtQzAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4HhMIHeMB0GA1UdDgQWBBQ1+yk6pQLvXVAE//2iT45LJKhL\n"
    "7jAfBgNVHSMEGDAWgBQ1+yk6pQLvXVAE//2iT45LJKhL7jAPBgNVHRMBAf8EBTAD\n"
    "AQH/MIGKBgorBgEEAYPnPQECBHwEelt7ImltciI6MywiZXZlbnRfdHlwZSI6MTM0\n"
    "MjE3NzI5LCJkaWdlc3QiOiIiLCJldmVudCI6ImFwcC1pZCIsImV2ZW50X3BheWxv\n"
    "YWQiOiIxMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExIn1d\n"
    "MAoGCCqGSM49BAMCA0kAMEYCIQDY/s4jzcVoJEV0O6r4J9PTQt/Jm2yxiVynte8j\n"
    "mhztiwIhAKgljXXXWAILgY7cb7p6axWbci+EvKGzoaPZcRd/46aY\n"
    "-----END CERTIFICATE-----\n";
static const char k_cert_D[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBpDCCAUugAwIBAgIIREREREREREQwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwK\n"
    "Y2JhLXRlc3QtRDAeFw0yNjExMjYwMzMzNTBaFw0zNjExMjMwMzMzNTBaMBUxEzAR\n"
    "BgNVBAMMCmNiYS10ZXN0LUQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrDZKY\n"
    "lhkkXS/gp/mUuX7ByVz1YBu9DjqTZdDnt5OOp/v26aqke9EI8MBo2ZLhMZsXlM56\n"
    "kdoWW2ponyYZKfzKo4GEMIGBMB0GA1UdDgQWBBQ1+yk6pQLvXVAE//2iT45LJKhL\n"
    "7jAfBgNVHSMEGDAWgBQ1+yk6pQLvXVAE//2iT45LJKhL7jAPBgNVHRMBAf8EBTAD\n"
    "AQH/MC4GCisGAQQBg+c9AQEEIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n"
    "Hh8gMAoGCCqGSM49BAMCA0cAMEQCICl5ChkyupKO6/3SFS+oTMjtOzY3ZgmirPGE\n"
    "0ZQBU1MFAiAKeuv2zu0Y112IQt1i6P23CCG7bEMaOyemoNLKr7U0Jg==\n"
    "-----END CERTIFICATE-----\n";
