/* The head of a bundle (docs/ota.md OTA-002..OTA-004, OTA-010) read from its
 * first bytes, before its images: what a receiver needs to know early (the
 * manifest's digest as the bundle's key, the declared total size for a cap,
 * where each image starts). Nothing here checks the signature: the receiver
 * verifies the whole bundle (ota_bundle_verify) before it uses anything. */
#include "ota_int.h"

#include <mbedtls/sha256.h>
#include <string.h>

int ota_bundle_head(const void *buf, size_t len, struct ota_head *h, uint64_t *need,
		    struct ota_err *err)
{
	const uint8_t *b = buf;

	memset(h, 0, sizeof *h);
	if (err) {
		err->code = OTA_OK;
		err->msg[0] = '\0';
	}
	*need = OTA_HEADER_SIZE;
	if (memcmp(b, OTA_MAGIC, len < 8 ? len : 8) != 0)
		return ota_fail(err, OTA_E_FORMAT, "not an OTA bundle (no bundle magic)");
	if (len < OTA_HEADER_SIZE)
		return 1;
	uint32_t format = ota_get32(b + 8), mlen = ota_get32(b + 12), slen = ota_get32(b + 16);
	if (format != OTA_FORMAT)
		return ota_fail(err, OTA_E_FORMAT, "bundle format %u is not supported (only %u)",
				format, OTA_FORMAT);
	if (mlen == 0 || mlen > OTA_MANIFEST_MAX || slen == 0 || slen > OTA_SIGBLOCK_MAX ||
	    ota_get32(b + 20) != 0)
		return ota_fail(err, OTA_E_FORMAT,
				"bundle header is invalid (manifest %u bytes, signature block %u "
				"bytes)",
				mlen, slen);
	h->manifest_len = mlen;
	h->sigblock_len = slen;
	h->head_len = OTA_HEADER_SIZE + (uint64_t)mlen + slen;
	*need = h->head_len;
	if (len < h->head_len)
		return 1;
	if (ota_manifest_parse((const char *)b + OTA_HEADER_SIZE, mlen, &h->manifest, err) < 0)
		return -1;
	mbedtls_sha256_ret(b + OTA_HEADER_SIZE, mlen, h->manifest_sha256, 0);
	h->total_len = h->head_len;
	for (unsigned i = 0; i < h->manifest.nimages; i++) {
		h->image_off[i] = h->total_len + OTA_SEG_SIZE;
		h->total_len += OTA_SEG_SIZE + h->manifest.images[i].size;
	}
	return 0;
}
