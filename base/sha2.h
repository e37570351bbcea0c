/* sha2.h — SHA-2 over a list of views (wolfCrypt underneath), and the crabbox report-data
 * binding that the host, the CLI, the drivers and the test kit all compute. */
#ifndef CRABBOX_BASE_SHA2_H
#define CRABBOX_BASE_SHA2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbs.h"

/* Each hash takes the concatenation of num_parts views. They return false only if wolfCrypt
 * fails (never for valid arguments); callers treat that as CBA_E_INTERNAL. */
CBA_MUST_USE bool cba_sha256(uint8_t out[32], const cbs *parts, size_t num_parts);
CBA_MUST_USE bool cba_sha384(uint8_t out[48], const cbs *parts, size_t num_parts);
CBA_MUST_USE bool cba_sha512(uint8_t out[64], const cbs *parts, size_t num_parts);

/* cba_report_data computes the quote report data that binds a session to an attestation:
 * SHA-512(CRABBOX_REPORT_DATA_DOMAIN || nonce || SHA-256(host_key)) (crabbox/driver.h). False
 * only if wolfCrypt fails; out is then all zero. */
CBA_MUST_USE bool cba_report_data(uint8_t out[64], const uint8_t nonce[32], const uint8_t *host_key,
                                  size_t host_key_len);

/* cba_crypto_library names the wolfSSL the build links ("wolfSSL 5.5.4 bundled (...)"), and
 * cba_crypto_config its relevant options ("sp-p256-asm intelasm aesni ..."); static strings. */
const char *cba_crypto_library(void);
const char *cba_crypto_config(void);

#endif
