/*
 * sigcheck.c - see sigcheck.h. mbedTLS (lib/mbedtls) does the X.509 and ECDSA
 * work in its arena (lib/arena.c), which every check starts and ends empty.
 */
#include <string.h>
#include "hv_mbedtls.h"
#include "sigcheck.h"
#include "sha256.h"
#include "arena.h"
#include "fmt.h"
#include "log.h"

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* OTA-004: sig_len, signature, ncerts, then each certificate (signer first). */
static int parse_block(const uint8_t *b, size_t n, mbedtls_x509_crt *chain, const uint8_t **sig,
		       size_t *sig_len, char *msg, unsigned mlen)
{
	size_t off = 2;
	if (n < 2 || (*sig_len = be16(b)) == 0 || *sig_len > n - off)
		goto framing;
	*sig = b + off;
	off += *sig_len;
	if (n - off < 2)
		goto framing;
	uint16_t ncerts = be16(b + off);
	off += 2;
	if (ncerts < 1 || ncerts > 4)
		goto framing;
	for (uint16_t i = 0; i < ncerts; i++) {
		if (n - off < 2)
			goto framing;
		uint16_t len = be16(b + off);
		off += 2;
		if (len == 0 || len > n - off)
			goto framing;
		if (mbedtls_x509_crt_parse_der(chain, b + off, len) != 0) {
			hv_snprintf(msg, mlen,
				    "certificate %u of the signature block does not parse "
				    "(MGMT-641)",
				    i);
			return -1;
		}
		off += len;
	}
	if (off == n)
		return 0;
framing:
	hv_snprintf(msg, mlen, "signature block is not framed as OTA-004 says (MGMT-641)");
	return -1;
}

enum hvm_status sig_check(const uint8_t *ca, size_t ca_len, const uint8_t *manifest,
			  size_t manifest_len, const uint8_t *block, size_t block_len, char *msg,
			  unsigned mlen)
{
	mbedtls_x509_crt trust, chain;
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	uint32_t flags = 0;
	uint8_t h[32];
	enum hvm_status st = HVM_E_SIGNATURE;
	arena_reset();
	mbedtls_x509_crt_init(&trust);
	mbedtls_x509_crt_init(&chain);
	int rc = mbedtls_x509_crt_parse_der(&trust, ca, ca_len);
	if (rc != 0) {
		hv_snprintf(msg, mlen, "MGMT-640: update CA (%lu bytes) does not parse: -0x%x",
			    (unsigned long)ca_len, (unsigned)-rc);
		goto out;
	}
	if (parse_block(block, block_len, &chain, &sig, &sig_len, msg, mlen) != 0)
		goto out;
	/* OTA-021 without validity periods: hv-core keeps no wall-clock time */
	if (mbedtls_x509_crt_verify(&chain, &trust, NULL, NULL, &flags, NULL, NULL) != 0) {
		hv_snprintf(msg, mlen,
			    "the signer does not chain to the update CA of the boot "
			    "configuration (flags 0x%x, MGMT-641)",
			    flags);
		goto out;
	}
	if (chain.ca_istrue ||
	    mbedtls_x509_crt_check_key_usage(&chain, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0 ||
	    mbedtls_x509_crt_check_extended_key_usage(&chain, MBEDTLS_OID_CODE_SIGNING,
						      MBEDTLS_OID_SIZE(MBEDTLS_OID_CODE_SIGNING)) !=
		    0) {
		hv_snprintf(msg, mlen,
			    "the signer is not an update-signing certificate (OTA-021, "
			    "MGMT-641)");
		goto out;
	}
	if (mbedtls_pk_get_type(&chain.pk) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(chain.pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		hv_snprintf(msg, mlen, "the signer's key is not ECDSA P-256 (OTA-021, MGMT-641)");
		goto out;
	}
	sha256(manifest, manifest_len, h);
	if (mbedtls_pk_verify(&chain.pk, MBEDTLS_MD_SHA256, h, sizeof(h), sig, sig_len) != 0) {
		hv_snprintf(msg, mlen, "the manifest is not what the signer signed (MGMT-641)");
		goto out;
	}
	st = HVM_OK;
	hv_log("ota: manifest signed by a trusted update signer (%lu bytes of arena used at most)",
	       (unsigned long)arena_high_water());
out:
	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&trust);
	arena_reset();
	return st;
}

/* The next line of [p, end): its length without "\n", or -1 when unterminated. */
static long line_len(const uint8_t *p, const uint8_t *end)
{
	for (const uint8_t *q = p; q < end; q++)
		if (*q == '\n')
			return q - p;
	return -1;
}

static int hexval(uint8_t c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "image VM VERSION SIZE SHA256HEX" into its words; 0 when well formed. */
static int image_line(const char *l, size_t n, char vm[HVM_NAME_LEN], char ver[HVM_VERSION_LEN],
		      uint64_t *size, uint8_t sha[32])
{
	const char *w[5];
	size_t wl[5], k = 0, i = 0;
	while (k < 5 && i < n) {
		w[k] = l + i;
		while (i < n && l[i] != ' ')
			i++;
		wl[k] = (size_t)(l + i - w[k]);
		k++;
		if (i < n)
			i++;
	}
	if (k != 5 || i != n || wl[0] != 5 || memcmp(w[0], "image", 5) != 0 || wl[1] == 0 ||
	    wl[1] >= HVM_NAME_LEN || wl[2] == 0 || wl[2] >= HVM_VERSION_LEN || wl[3] == 0 ||
	    wl[3] > 19 || wl[4] != 64)
		return -1;
	memcpy(vm, w[1], wl[1]);
	vm[wl[1]] = 0;
	memcpy(ver, w[2], wl[2]);
	ver[wl[2]] = 0;
	*size = 0;
	for (size_t j = 0; j < wl[3]; j++) {
		if (w[3][j] < '0' || w[3][j] > '9')
			return -1;
		*size = *size * 10 + (uint64_t)(w[3][j] - '0');
	}
	for (size_t j = 0; j < 32; j++) {
		int hi = hexval((uint8_t)w[4][2 * j]), lo = hexval((uint8_t)w[4][2 * j + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		sha[j] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

enum hvm_status manifest_image(const uint8_t *manifest, size_t len, const char *vm,
			       const char *system, char version[HVM_VERSION_LEN], uint64_t *size,
			       uint8_t sha256[32], char *msg, unsigned mlen)
{
	const uint8_t *p = manifest, *end = manifest + len;
	int found = 0, line = 0;
	while (p < end) {
		long n = line_len(p, end);
		if (n < 0)
			break;
		const char *l = (const char *)p;
		line++;
		if (line == 1 && (n != 17 || memcmp(l, "hv-ota-manifest 1", 17) != 0)) {
			hv_snprintf(msg, mlen,
				    "manifest does not start with 'hv-ota-manifest 1' "
				    "(OTA-010, MGMT-642)");
			return HVM_E_SIGNATURE;
		}
		if (n > 7 && memcmp(l, "system ", 7) == 0 && system[0] &&
		    ((size_t)n - 7 != strlen(system) || memcmp(l + 7, system, (size_t)n - 7) != 0)) {
			hv_snprintf(msg, mlen,
				    "manifest is for another system than '%s' (MGMT-642)", system);
			return HVM_E_SIGNATURE;
		}
		char name[HVM_NAME_LEN], ver[HVM_VERSION_LEN];
		uint64_t sz;
		uint8_t d[32];
		if (n > 6 && memcmp(l, "image ", 6) == 0 &&
		    image_line(l, (size_t)n, name, ver, &sz, d) == 0 && strcmp(name, vm) == 0) {
			memcpy(version, ver, sizeof(ver));
			*size = sz;
			memcpy(sha256, d, 32);
			found = 1;
		}
		p += n + 1;
	}
	if (p != end || line == 0) {
		hv_snprintf(msg, mlen,
			    "manifest lines are not all ended by a newline (OTA-010, "
			    "MGMT-642)");
		return HVM_E_SIGNATURE;
	}
	if (!found) {
		hv_snprintf(msg, mlen, "the manifest has no image for VM '%s' (MGMT-642)", vm);
		return HVM_E_SIGNATURE;
	}
	return HVM_OK;
}

enum hvm_status manifest_group(const uint8_t *manifest, size_t len, uint8_t bundle[16],
			       uint32_t *members, char *msg, unsigned mlen)
{
	const uint8_t *p = manifest, *end = manifest + len;
	int have_id = 0;
	*members = 0;
	while (p < end) {
		long n = line_len(p, end);
		if (n < 0)
			break;
		if (n == 10 + 32 && memcmp(p, "bundle-id ", 10) == 0) {
			have_id = 1;
			for (size_t j = 0; j < 16; j++) {
				int hi = hexval(p[10 + 2 * j]), lo = hexval(p[11 + 2 * j]);
				if (hi < 0 || lo < 0)
					have_id = 0;
				bundle[j] = (uint8_t)(hi << 4 | lo);
			}
		}
		/* MGMT-663: `VM.initrd` is the initrd of VM, not one more VM */
		char vm[HVM_NAME_LEN], ver[HVM_VERSION_LEN];
		uint64_t sz;
		uint8_t d[32];
		size_t vl;
		if (n > 6 && memcmp(p, "image ", 6) == 0 &&
		    (image_line((const char *)p, (size_t)n, vm, ver, &sz, d) != 0 ||
		     (vl = strlen(vm)) < 7 || strcmp(vm + vl - 7, ".initrd") != 0))
			(*members)++;
		p += n + 1;
	}
	if (!have_id || *members == 0) {
		hv_snprintf(msg, mlen,
			    "the manifest has no bundle-id or no image line (OTA-010, "
			    "MGMT-650)");
		return HVM_E_SIGNATURE;
	}
	return HVM_OK;
}
