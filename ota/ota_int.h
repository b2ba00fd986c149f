/* Internals of the OTA library shared by its files: the wire framing of
 * docs/ota.md OTA-002..OTA-006, errors, and the manifest text. */
#ifndef HV_OTA_INT_H
#define HV_OTA_INT_H

#include "ota.h"

#define OTA_MAGIC "HVOTA\r\n\x1a" /* 8 bytes, OTA-002 */
#define OTA_SEG_MAGIC "HVOTASEG"  /* 8 bytes, OTA-005 */
#define OTA_FORMAT 1u
#define OTA_HEADER_SIZE 24u
#define OTA_SEG_SIZE 40u
#define OTA_IO_BUF (256u * 1024u)

int ota_fail(struct ota_err *err, enum ota_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void ota_put32(uint8_t *p, uint32_t v);
void ota_put64(uint8_t *p, uint64_t v);
uint32_t ota_get32(const uint8_t *p);
uint64_t ota_get64(const uint8_t *p);

/* The 40-byte segment header of image INDEX. */
void ota_seg_header(uint8_t out[OTA_SEG_SIZE], const uint8_t bundle_id[16], uint32_t index,
		    uint64_t size);

/* true when S is 1..MAX characters of [A-Za-z0-9._-]. */
bool ota_name_valid(const char *s, size_t max);

/* The canonical manifest text of M into BUF (NUL-terminated); returns its
 * length, or -1 when it does not fit. */
int ota_manifest_format(const struct ota_manifest *m, char *buf, size_t len);
/* Parses LEN bytes; only the canonical form is accepted. Returns 0 or -1
 * with ERR (OTA_E_MANIFEST) naming the line. */
int ota_manifest_parse(const char *text, size_t len, struct ota_manifest *m, struct ota_err *err);

/* Lowercase hex of N bytes into OUT (2N+1). */
void ota_hex(const uint8_t *in, size_t n, char *out);

/* Full read / write of N bytes; read returns the bytes read (< N at EOF) or
 * -1 (errno). */
long ota_read_full(int fd, void *buf, size_t n);
int ota_write_full(int fd, const void *buf, size_t n);

/* The trust anchors and revocations (trust.c). */
#include <mbedtls/x509_crt.h>
struct ota_trust {
	mbedtls_x509_crt cas;
	unsigned nrevoked;
	struct {
		uint8_t serial[32];
		size_t len;
	} revoked[OTA_MAX_REVOKED];
};
/* true when CRT's serial is listed in T. */
bool ota_trust_is_revoked(const struct ota_trust *t, const mbedtls_x509_crt *crt);

#endif
