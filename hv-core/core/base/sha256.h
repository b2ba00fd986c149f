/*
 * sha256.h - freestanding SHA-256 (FIPS 180-4), used to check guest images
 * against the digest in their configuration before they are loaded
 * (REQ-SAF-12, VMCFG-050). No allocation; compiles for hv-core and the host.
 */
#ifndef HV_SHA256_H
#define HV_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	uint32_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* One call for a whole buffer. */
void sha256(const void *data, size_t len, uint8_t out[32]);
#endif
