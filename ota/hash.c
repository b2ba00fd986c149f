/* Bulk SHA-256 of the images with OpenSSL's libcrypto: on the development
 * machine it is several times faster than mbedTLS 2.28's portable C (it uses
 * the CPU's SHA extensions), see docs/performance.md. */
#include "ota.h"

#include <stdlib.h>

#include <openssl/evp.h>

struct ota_sha256 {
	EVP_MD_CTX *ctx;
};

struct ota_sha256 *ota_sha256_new(void)
{
	struct ota_sha256 *h = malloc(sizeof *h);
	if (h == NULL)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void ota_sha256_update(struct ota_sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

void ota_sha256_final(struct ota_sha256 *h, uint8_t out[32])
{
	unsigned n = 32;
	EVP_DigestFinal_ex(h->ctx, out, &n);
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void ota_sha256_free(struct ota_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}
