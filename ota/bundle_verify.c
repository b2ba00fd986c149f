/* Verifying a bundle (docs/ota.md OTA-040): framing, signer chain and
 * revocation, manifest signature, target system, expiry and time floor, size
 * cap, then every image streamed through the hash. Nothing of the payload is
 * trusted before the signature is; nothing is read past the declared end. */
#include "ota_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

struct verifier {
	int fd;
	const struct ota_verify_opts *o;
	mbedtls_x509_crt chain;
	uint8_t *buf;
	struct ota_sha256 *sha;
	uint64_t pos; /* bytes consumed so far */
};

/* Reads exactly N bytes of WHAT; a short read is OTA_E_TRUNCATED. */
static int take(struct verifier *v, void *buf, size_t n, const char *what, struct ota_err *err)
{
	long got = ota_read_full(v->fd, buf, n);
	if (got < 0)
		return ota_fail(err, OTA_E_IO, "reading the bundle: %s", strerror(errno));
	if ((size_t)got < n)
		return ota_fail(err, OTA_E_TRUNCATED,
				"bundle is truncated: it ends at byte %llu, inside %s",
				(unsigned long long)(v->pos + (uint64_t)got), what);
	v->pos += n;
	return 0;
}

/* OTA-004: signature and certificate chain. Returns the signature length. */
static int parse_sigblock(struct verifier *v, const uint8_t *b, size_t len, const uint8_t **sig,
			  struct ota_err *err)
{
	size_t at = 0;
	if (len < 2)
		return ota_fail(err, OTA_E_FORMAT, "signature block is too short");
	size_t siglen = (size_t)b[0] << 8 | b[1];
	at = 2 + siglen;
	if (siglen == 0 || at + 2 > len)
		return ota_fail(err, OTA_E_FORMAT, "signature block framing is invalid");
	*sig = b + 2;
	unsigned ncerts = (unsigned)b[at] << 8 | b[at + 1];
	at += 2;
	if (ncerts == 0 || ncerts > OTA_MAX_CERTS)
		return ota_fail(err, OTA_E_FORMAT, "signature block holds %u certificates (1..%d)",
				ncerts, OTA_MAX_CERTS);
	for (unsigned i = 0; i < ncerts; i++) {
		if (at + 2 > len)
			return ota_fail(err, OTA_E_FORMAT, "signature block framing is invalid");
		size_t clen = (size_t)b[at] << 8 | b[at + 1];
		at += 2;
		if (clen == 0 || at + clen > len)
			return ota_fail(err, OTA_E_FORMAT, "signature block framing is invalid");
		if (mbedtls_x509_crt_parse_der(&v->chain, b + at, clen) != 0)
			return ota_fail(err, OTA_E_UNTRUSTED,
					"certificate %u of the signature block is not a valid "
					"X.509 certificate",
					i + 1);
		at += clen;
	}
	if (at != len)
		return ota_fail(err, OTA_E_FORMAT, "signature block has %zu stray bytes", len - at);
	return (int)siglen;
}

/* OTA-021/OTA-022: chain to an update CA, signer fit for signing updates,
 * nobody in the chain revoked. */
static int check_signer(struct verifier *v, struct ota_signer *signer, struct ota_err *err)
{
	const mbedtls_x509_crt *s = &v->chain;
	char info[256];
	uint32_t flags = 0;
	if (signer != NULL) {
		mbedtls_x509_dn_gets(signer->subject, sizeof signer->subject, &s->subject);
		mbedtls_x509_serial_gets(signer->serial, sizeof signer->serial, &s->serial);
	}
	if (mbedtls_x509_crt_verify(&v->chain, (mbedtls_x509_crt *)&v->o->trust->cas, NULL, NULL,
				    &flags, NULL, NULL) != 0) {
		mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
		info[strcspn(info, "\n")] = '\0';
		return ota_fail(err, OTA_E_UNTRUSTED,
				"the signer's certificate does not chain to a trusted update CA: %s",
				info);
	}
	if (s->ca_istrue ||
	    mbedtls_x509_crt_check_key_usage(s, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0 ||
	    !(s->ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE) ||
	    mbedtls_x509_crt_check_extended_key_usage(s, MBEDTLS_OID_CODE_SIGNING,
						      MBEDTLS_OID_SIZE(MBEDTLS_OID_CODE_SIGNING)) != 0)
		return ota_fail(err, OTA_E_UNTRUSTED,
				"the signer's certificate is not an update-signing certificate "
				"(needs digitalSignature and extendedKeyUsage codeSigning)");
	if (mbedtls_pk_get_type(&s->pk) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(s->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return ota_fail(err, OTA_E_UNTRUSTED, "the signer's key is not ECDSA P-256");
	for (const mbedtls_x509_crt *c = s; c != NULL; c = c->next)
		if (ota_trust_is_revoked(v->o->trust, c)) {
			char serial[80];
			mbedtls_x509_serial_gets(serial, sizeof serial, &c->serial);
			return ota_fail(err, OTA_E_REVOKED,
					"certificate serial %s of the signer's chain is revoked",
					serial);
		}
	return 0;
}

/* OTA-040 steps 5-7: what the signed manifest says about this target. */
static int check_manifest(const struct ota_verify_opts *o, const struct ota_manifest *m,
			  uint64_t head, struct ota_err *err)
{
	if (o->system != NULL && strcmp(o->system, m->system) != 0)
		return ota_fail(err, OTA_E_WRONG_SYSTEM,
				"bundle is for target system '%s', this is '%s'", m->system,
				o->system);
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	int64_t t = now > o->floor ? now : o->floor;
	if (m->expires <= t)
		return ota_fail(err, OTA_E_EXPIRED,
				"bundle expired at %lld; the time is at least %lld (clock %lld, "
				"time floor %lld)",
				(long long)m->expires, (long long)t, (long long)now,
				(long long)o->floor);
	if (m->created < o->floor)
		return ota_fail(err, OTA_E_STALE,
				"bundle was signed at %lld, before the newest signed time already "
				"seen (%lld): a replayed older bundle",
				(long long)m->created, (long long)o->floor);
	uint64_t cap = o->max_bytes ? o->max_bytes : OTA_DEFAULT_CAP, total = head;
	for (unsigned i = 0; i < m->nimages; i++) {
		uint64_t seg = OTA_SEG_SIZE + m->images[i].size;
		if (m->images[i].size > cap || total + seg > cap)
			return ota_fail(err, OTA_E_TOO_LARGE,
					"bundle declares more than the size cap of %llu bytes",
					(unsigned long long)cap);
		total += seg;
	}
	return 0;
}

static int stream_image(struct verifier *v, const struct ota_manifest *m, unsigned i,
			struct ota_err *err)
{
	const struct ota_image *im = &m->images[i];
	uint8_t seg[OTA_SEG_SIZE], expect[OTA_SEG_SIZE], digest[32];
	char what[80];
	snprintf(what, sizeof what, "the header of image %u (%s)", i + 1, im->vm);
	if (take(v, seg, sizeof seg, what, err) < 0)
		return -1;
	ota_seg_header(expect, m->bundle_id, i, im->size);
	if (memcmp(seg, OTA_SEG_MAGIC, 8) != 0)
		return ota_fail(err, OTA_E_FORMAT, "image %u (%s) has no segment header", i + 1,
				im->vm);
	if (memcmp(seg + 8, m->bundle_id, 16) != 0)
		return ota_fail(err, OTA_E_MIXED,
				"image %u (%s) belongs to another bundle: images mixed from two "
				"bundles",
				i + 1, im->vm);
	if (memcmp(seg, expect, sizeof seg) != 0)
		return ota_fail(err, OTA_E_FORMAT,
				"the segment header of image %u (%s) does not match the manifest",
				i + 1, im->vm);
	snprintf(what, sizeof what, "image %u (%s)", i + 1, im->vm);
	for (uint64_t left = im->size; left > 0;) {
		size_t n = left < OTA_IO_BUF ? (size_t)left : OTA_IO_BUF;
		if (take(v, v->buf, n, what, err) < 0)
			return -1;
		ota_sha256_update(v->sha, v->buf, n);
		if (v->o->sink != NULL && v->o->sink(v->o->sink_ctx, i, v->buf, n) < 0)
			return ota_fail(err, OTA_E_SINK, "the consumer of image %u (%s) failed",
					i + 1, im->vm);
		left -= n;
	}
	ota_sha256_final(v->sha, digest);
	if (memcmp(digest, im->sha256, 32) != 0)
		return ota_fail(err, OTA_E_DIGEST,
				"image %u (%s): its bytes do not match the manifest's SHA-256",
				i + 1, im->vm);
	return 0;
}

static int verify(struct verifier *v, struct ota_manifest *m, struct ota_signer *signer,
		  struct ota_err *err)
{
	uint8_t hdr[OTA_HEADER_SIZE], sigblock[OTA_SIGBLOCK_MAX], hash[32];
	char text[OTA_MANIFEST_MAX];
	const uint8_t *sig = NULL;

	long got = ota_read_full(v->fd, hdr, sizeof hdr);
	if (got < 0)
		return ota_fail(err, OTA_E_IO, "reading the bundle: %s", strerror(errno));
	if (memcmp(hdr, OTA_MAGIC, got < 8 ? (size_t)got : 8) != 0)
		return ota_fail(err, OTA_E_FORMAT, "not an OTA bundle (no bundle magic)");
	if ((size_t)got < sizeof hdr)
		return ota_fail(err, OTA_E_TRUNCATED,
				"bundle is truncated: it ends at byte %ld, inside its header", got);
	v->pos = sizeof hdr;
	uint32_t format = ota_get32(hdr + 8), mlen = ota_get32(hdr + 12), slen = ota_get32(hdr + 16);
	if (format != OTA_FORMAT)
		return ota_fail(err, OTA_E_FORMAT, "bundle format %u is not supported (only %u)",
				format, OTA_FORMAT);
	if (mlen == 0 || mlen > OTA_MANIFEST_MAX || slen == 0 || slen > OTA_SIGBLOCK_MAX ||
	    ota_get32(hdr + 20) != 0)
		return ota_fail(err, OTA_E_FORMAT,
				"bundle header is invalid (manifest %u bytes, signature block %u "
				"bytes)",
				mlen, slen);
	uint64_t head = OTA_HEADER_SIZE + (uint64_t)mlen + slen;
	uint64_t cap = v->o->max_bytes ? v->o->max_bytes : OTA_DEFAULT_CAP;
	if (head > cap)
		return ota_fail(err, OTA_E_TOO_LARGE,
				"bundle declares more than the size cap of %llu bytes",
				(unsigned long long)cap);
	if (take(v, text, mlen, "the manifest", err) < 0 ||
	    take(v, sigblock, slen, "the signature block", err) < 0)
		return -1;
	int siglen = parse_sigblock(v, sigblock, slen, &sig, err);
	if (siglen < 0 || check_signer(v, signer, err) < 0)
		return -1;
	mbedtls_sha256_ret((const unsigned char *)text, mlen, hash, 0);
	if (mbedtls_pk_verify(&v->chain.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, sig,
			      (size_t)siglen) != 0)
		return ota_fail(err, OTA_E_SIGNATURE,
				"the manifest's signature is not valid: the manifest was changed "
				"or signed by another key");
	if (ota_manifest_parse(text, mlen, m, err) < 0 || check_manifest(v->o, m, head, err) < 0)
		return -1;
	for (unsigned i = 0; i < m->nimages; i++)
		if (stream_image(v, m, i, err) < 0)
			return -1;
	uint8_t extra;
	got = ota_read_full(v->fd, &extra, 1);
	if (got < 0)
		return ota_fail(err, OTA_E_IO, "reading the bundle: %s", strerror(errno));
	if (got > 0)
		return ota_fail(err, OTA_E_TOO_LARGE,
				"bundle has data after its last image (at byte %llu)",
				(unsigned long long)v->pos);
	return 0;
}

int ota_bundle_verify_fd(int fd, const struct ota_verify_opts *o, struct ota_manifest *manifest,
			 struct ota_signer *signer, struct ota_err *err)
{
	struct ota_manifest local;
	struct verifier v = { .fd = fd, .o = o };
	if (err != NULL) {
		err->code = OTA_OK;
		err->msg[0] = '\0';
	}
	if (o == NULL || o->trust == NULL)
		return ota_fail(err, OTA_E_USAGE, "no update trust configuration given");
	mbedtls_x509_crt_init(&v.chain);
	v.buf = malloc(OTA_IO_BUF);
	v.sha = ota_sha256_new();
	int rc = v.buf && v.sha ? verify(&v, manifest ? manifest : &local, signer, err)
				: ota_fail(err, OTA_E_IO, "out of memory");
	ota_sha256_free(v.sha);
	free(v.buf);
	mbedtls_x509_crt_free(&v.chain);
	return rc;
}

int ota_bundle_verify(const char *path, const struct ota_verify_opts *o,
		      struct ota_manifest *manifest, struct ota_signer *signer, struct ota_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_fail(err, OTA_E_IO, "%s: %s", path, strerror(errno));
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int rc = ota_bundle_verify_fd(fd, o, manifest, signer, err);
	close(fd);
	return rc;
}
