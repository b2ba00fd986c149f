/*
 * hv_mbedtls_config.h - the part of mbedTLS (Debian's source of 2.28) hv-core
 * builds with its own flags (-mgeneral-regs-only, freestanding): X.509
 * certificates, ECDSA P-256 verification, SHA-256 - what checking an update
 * manifest's signature needs (docs/mgmt-abi.md MGMT-640). No time (validity
 * periods are the agent's to check against its signed time floor), no files,
 * no threads, no random numbers (nothing is signed here).
 */
#ifndef HV_MBEDTLS_CONFIG_H
#define HV_MBEDTLS_CONFIG_H
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NO_INTERNAL_RNG
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE
#define MBEDTLS_OID_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#include "mbedtls/check_config.h"
#endif
