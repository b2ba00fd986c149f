/*
 * sigcheck.h - hv-core's own check of an update manifest (docs/mgmt-abi.md
 * MGMT-640..643, docs/ota.md OTA-004, OTA-010..012, OTA-021): the signature
 * block's signer chains to the update CA of hv-core's boot configuration, is an
 * update-signing certificate with an ECDSA P-256 key, and signed exactly these
 * manifest bytes; then the manifest's line for one VM.
 */
#ifndef HV_SIGCHECK_H
#define HV_SIGCHECK_H
#include <stddef.h>
#include <stdint.h>
#include "hvmgmt.h"

/* HVM_OK, or HVM_E_SIGNATURE with msg naming what failed. ca: DER. */
enum hvm_status sig_check(const uint8_t *ca, size_t ca_len, const uint8_t *manifest,
			  size_t manifest_len, const uint8_t *block, size_t block_len, char *msg,
			  unsigned mlen);
/* The manifest's image line of VM `vm` (OTA-010): version, size, digest; and
 * its system is `system` unless that is "". HVM_OK or HVM_E_SIGNATURE. */
enum hvm_status manifest_image(const uint8_t *manifest, size_t len, const char *vm,
			       const char *system, char version[HVM_VERSION_LEN], uint64_t *size,
			       uint8_t sha256[32], char *msg, unsigned mlen);
/* MGMT-650: the manifest's bundle-id (OTA-014) and how many image lines it
 * has: the VMs of its update group. HVM_OK or HVM_E_SIGNATURE. */
enum hvm_status manifest_group(const uint8_t *manifest, size_t len, uint8_t bundle[16],
			       uint32_t *members, char *msg, unsigned mlen);
#endif
