/* Writing a signed bundle (docs/ota.md OTA-002..OTA-006): every image is read
 * twice through a fixed buffer, once to hash it for the manifest and once to
 * copy it (hashed again: an image that changes in between is an error). */
#include "ota_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#define DEFAULT_LIFETIME (90 * 86400)

struct writer {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context key;
	mbedtls_x509_crt chain;
	struct ota_sha256 *sha;
	uint8_t *buf;
	char tmp[4096];
	int fd;
};

/* Streams PATH through the hash; with OUT_FD >= 0 also copies it there. */
static int stream_file(struct writer *w, const char *path, int out_fd, uint64_t *size,
		       uint8_t digest[32], struct ota_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", path, strerror(errno));
	uint64_t total = 0;
	long n;
	while ((n = ota_read_full(fd, w->buf, OTA_IO_BUF)) > 0) {
		ota_sha256_update(w->sha, w->buf, (size_t)n);
		total += (uint64_t)n;
		if (out_fd >= 0 && ota_write_full(out_fd, w->buf, (size_t)n) < 0) {
			close(fd);
			return ota_fail(err, OTA_E_IO, "%s: %s", w->tmp, strerror(errno));
		}
	}
	int saved = errno;
	close(fd);
	if (n < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", path, strerror(saved));
	ota_sha256_final(w->sha, digest);
	*size = total;
	return 0;
}

static int check_opts(const struct ota_write_opts *o, struct ota_err *err)
{
	if (o->system == NULL || !ota_name_valid(o->system, OTA_SYSTEM_MAX))
		return ota_fail(err, OTA_E_USAGE,
				"target system '%s' is not 1..%d characters of A-Z a-z 0-9 . _ -",
				o->system ? o->system : "", OTA_SYSTEM_MAX);
	if (o->group != NULL && !ota_name_valid(o->group, OTA_GROUP_MAX))
		return ota_fail(err, OTA_E_USAGE,
				"update group '%s' is not 1..%d characters of A-Z a-z 0-9 . _ -",
				o->group, OTA_GROUP_MAX);
	if (o->nimages == 0 || o->nimages > OTA_MAX_IMAGES)
		return ota_fail(err, OTA_E_USAGE, "a bundle holds 1 to %d images, not %u",
				OTA_MAX_IMAGES, o->nimages);
	for (unsigned i = 0; i < o->nimages; i++) {
		const struct ota_write_image *im = &o->images[i];
		if (im->vm == NULL || !ota_name_valid(im->vm, OTA_NAME_MAX))
			return ota_fail(err, OTA_E_USAGE,
					"VM name '%s' is not 1..%d characters of A-Z a-z 0-9 . _ -",
					im->vm ? im->vm : "", OTA_NAME_MAX);
		if (!ota_version_valid(im->version))
			return ota_fail(err, OTA_E_USAGE,
					"version '%s' of VM '%s' is not 1 to 4 dot-separated numbers "
					"(e.g. 2.0.0)",
					im->version ? im->version : "", im->vm);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(o->images[j].vm, im->vm) == 0)
				return ota_fail(err, OTA_E_USAGE, "VM '%s' is named twice", im->vm);
	}
	int64_t created = o->created ? o->created : (int64_t)time(NULL);
	if (o->expires != 0 && o->expires <= created)
		return ota_fail(err, OTA_E_USAGE, "the expiry time is not after the creation time");
	if (o->key_path == NULL || o->cert_path == NULL)
		return ota_fail(err, OTA_E_USAGE, "a signing key and its certificate are required");
	return 0;
}

/* Loads the signer's key and chain and checks that they fit OTA-004. */
static int load_signer(struct writer *w, const struct ota_write_opts *o, struct ota_err *err)
{
	int rc = mbedtls_pk_parse_keyfile(&w->key, o->key_path, NULL);
	if (rc != 0)
		return ota_fail(err, OTA_E_USAGE, "%s: not a readable PEM private key (-0x%04x)",
				o->key_path, (unsigned)-rc);
	if (mbedtls_pk_get_type(&w->key) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(w->key)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return ota_fail(err, OTA_E_USAGE, "%s: not an ECDSA P-256 key", o->key_path);
	rc = mbedtls_x509_crt_parse_file(&w->chain, o->cert_path);
	if (rc != 0)
		return ota_fail(err, OTA_E_USAGE, "%s: not a readable PEM certificate (-0x%04x)",
				o->cert_path, (unsigned)-rc);
	if (mbedtls_pk_check_pair(&w->chain.pk, &w->key) != 0)
		return ota_fail(err, OTA_E_USAGE, "%s does not match the first certificate of %s",
				o->key_path, o->cert_path);
	unsigned n = 0;
	for (const mbedtls_x509_crt *c = &w->chain; c != NULL; c = c->next)
		if (++n > OTA_MAX_CERTS || c->raw.len > 0xffff)
			return ota_fail(err, OTA_E_USAGE, "%s: more than %d certificates",
					o->cert_path, OTA_MAX_CERTS);
	return 0;
}

/* The signature block of OTA-004 into BUF; returns its length or -1. */
static long sign_block(struct writer *w, const char *manifest, size_t mlen, uint8_t *buf,
		       size_t cap, struct ota_err *err)
{
	uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t siglen = 0;
	mbedtls_sha256_ret((const unsigned char *)manifest, mlen, hash, 0);
	int rc = mbedtls_pk_sign(&w->key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &siglen,
				 mbedtls_ctr_drbg_random, &w->drbg);
	if (rc != 0)
		return ota_fail(err, OTA_E_USAGE, "signing the manifest failed (-0x%04x)",
				(unsigned)-rc);
	size_t n = 0;
	buf[n++] = (uint8_t)(siglen >> 8);
	buf[n++] = (uint8_t)siglen;
	memcpy(buf + n, sig, siglen);
	n += siglen;
	size_t count_at = n;
	n += 2;
	unsigned ncerts = 0;
	for (const mbedtls_x509_crt *c = &w->chain; c != NULL; c = c->next) {
		if (n + 2 + c->raw.len > cap)
			return ota_fail(err, OTA_E_USAGE,
					"the certificate chain is larger than %d bytes",
					OTA_SIGBLOCK_MAX);
		buf[n++] = (uint8_t)(c->raw.len >> 8);
		buf[n++] = (uint8_t)c->raw.len;
		memcpy(buf + n, c->raw.p, c->raw.len);
		n += c->raw.len;
		ncerts++;
	}
	buf[count_at] = 0;
	buf[count_at + 1] = (uint8_t)ncerts;
	return (long)n;
}

static int write_all(struct writer *w, const struct ota_write_opts *o, struct ota_manifest *m,
		     struct ota_err *err)
{
	uint8_t sigblock[OTA_SIGBLOCK_MAX];
	char text[OTA_MANIFEST_MAX + 1];
	uint8_t hdr[OTA_HEADER_SIZE > OTA_SEG_SIZE ? OTA_HEADER_SIZE : OTA_SEG_SIZE];

	int mlen = ota_manifest_format(m, text, sizeof text);
	if (mlen < 0)
		return ota_fail(err, OTA_E_USAGE, "the manifest is larger than %d bytes",
				OTA_MANIFEST_MAX);
	long slen = sign_block(w, text, (size_t)mlen, sigblock, sizeof sigblock, err);
	if (slen < 0)
		return -1;
	memcpy(hdr, OTA_MAGIC, 8);
	ota_put32(hdr + 8, OTA_FORMAT);
	ota_put32(hdr + 12, (uint32_t)mlen);
	ota_put32(hdr + 16, (uint32_t)slen);
	ota_put32(hdr + 20, 0);
	if (ota_write_full(w->fd, hdr, OTA_HEADER_SIZE) < 0 ||
	    ota_write_full(w->fd, text, (size_t)mlen) < 0 ||
	    ota_write_full(w->fd, sigblock, (size_t)slen) < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", w->tmp, strerror(errno));
	for (unsigned i = 0; i < m->nimages; i++) {
		struct ota_image *im = &m->images[i];
		uint64_t size = 0;
		uint8_t digest[32];
		ota_seg_header(hdr, m->bundle_id, i, im->size);
		if (ota_write_full(w->fd, hdr, OTA_SEG_SIZE) < 0)
			return ota_fail(err, OTA_E_IO, "%s: %s", w->tmp, strerror(errno));
		if (stream_file(w, o->images[i].path, w->fd, &size, digest, err) < 0)
			return -1;
		if (size != im->size || memcmp(digest, im->sha256, 32) != 0)
			return ota_fail(err, OTA_E_IO, "%s changed while it was being bundled",
					o->images[i].path);
	}
	if (fsync(w->fd) < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", w->tmp, strerror(errno));
	return 0;
}

static int build(struct writer *w, const char *out_path, const struct ota_write_opts *o,
		 struct ota_manifest *m, struct ota_err *err)
{
	static const char pers[] = "hv-ota-bundle";
	if (mbedtls_ctr_drbg_seed(&w->drbg, mbedtls_entropy_func, &w->entropy,
				  (const unsigned char *)pers, sizeof pers - 1) != 0)
		return ota_fail(err, OTA_E_IO, "cannot seed the random generator");
	if (load_signer(w, o, err) < 0)
		return -1;
	w->sha = ota_sha256_new();
	w->buf = malloc(OTA_IO_BUF);
	if (w->sha == NULL || w->buf == NULL)
		return ota_fail(err, OTA_E_IO, "out of memory");

	memset(m, 0, sizeof *m);
	snprintf(m->system, sizeof m->system, "%s", o->system);
	snprintf(m->group, sizeof m->group, "%s", o->group ? o->group : "update");
	m->created = o->created ? o->created : (int64_t)time(NULL);
	m->expires = o->expires ? o->expires : m->created + DEFAULT_LIFETIME;
	if (mbedtls_ctr_drbg_random(&w->drbg, m->bundle_id, sizeof m->bundle_id) != 0)
		return ota_fail(err, OTA_E_IO, "cannot draw a bundle id");
	m->nimages = o->nimages;
	for (unsigned i = 0; i < o->nimages; i++) {
		struct ota_image *im = &m->images[i];
		snprintf(im->vm, sizeof im->vm, "%s", o->images[i].vm);
		snprintf(im->version, sizeof im->version, "%s", o->images[i].version);
		if (stream_file(w, o->images[i].path, -1, &im->size, im->sha256, err) < 0)
			return -1;
		if (im->size == 0)
			return ota_fail(err, OTA_E_USAGE, "%s is empty", o->images[i].path);
	}

	if (snprintf(w->tmp, sizeof w->tmp, "%s.XXXXXX", out_path) >= (int)sizeof w->tmp)
		return ota_fail(err, OTA_E_USAGE, "output path is too long");
	w->fd = mkstemp(w->tmp);
	if (w->fd < 0) {
		int e = errno;
		w->tmp[0] = '\0';
		return ota_fail(err, OTA_E_IO, "%s: cannot create: %s", out_path, strerror(e));
	}
	if (fchmod(w->fd, 0644) < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", w->tmp, strerror(errno));
	if (write_all(w, o, m, err) < 0)
		return -1;
	if (close(w->fd) < 0) {
		w->fd = -1;
		return ota_fail(err, OTA_E_IO, "%s: %s", w->tmp, strerror(errno));
	}
	w->fd = -1;
	if (rename(w->tmp, out_path) < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", out_path, strerror(errno));
	w->tmp[0] = '\0';
	return 0;
}

int ota_bundle_write(const char *out_path, const struct ota_write_opts *o,
		     struct ota_manifest *manifest, struct ota_err *err)
{
	struct ota_manifest local;
	struct writer w;
	if (err != NULL) {
		err->code = OTA_OK;
		err->msg[0] = '\0';
	}
	if (out_path == NULL || out_path[0] == '\0')
		return ota_fail(err, OTA_E_USAGE, "no output file");
	if (check_opts(o, err) < 0)
		return -1;
	memset(&w, 0, sizeof w);
	w.fd = -1;
	mbedtls_entropy_init(&w.entropy);
	mbedtls_ctr_drbg_init(&w.drbg);
	mbedtls_pk_init(&w.key);
	mbedtls_x509_crt_init(&w.chain);
	int rc = build(&w, out_path, o, manifest ? manifest : &local, err);
	if (w.fd >= 0)
		close(w.fd);
	if (w.tmp[0] != '\0')
		unlink(w.tmp);
	ota_sha256_free(w.sha);
	free(w.buf);
	mbedtls_x509_crt_free(&w.chain);
	mbedtls_pk_free(&w.key);
	mbedtls_ctr_drbg_free(&w.drbg);
	mbedtls_entropy_free(&w.entropy);
	return rc;
}
