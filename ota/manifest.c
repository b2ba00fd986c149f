/* The manifest text (docs/ota.md OTA-010..OTA-013), versions, error names and
 * the byte-order helpers of the framing. */
#include "ota_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const code_names[] = {
	[OTA_OK] = "ok",
	[OTA_E_IO] = "io",
	[OTA_E_USAGE] = "invalid-input",
	[OTA_E_TRUST] = "bad-trust",
	[OTA_E_FORMAT] = "not-a-bundle",
	[OTA_E_TRUNCATED] = "truncated",
	[OTA_E_TOO_LARGE] = "too-large",
	[OTA_E_UNTRUSTED] = "untrusted-signer",
	[OTA_E_REVOKED] = "revoked-signer",
	[OTA_E_SIGNATURE] = "bad-signature",
	[OTA_E_MANIFEST] = "bad-manifest",
	[OTA_E_WRONG_SYSTEM] = "wrong-system",
	[OTA_E_EXPIRED] = "expired",
	[OTA_E_STALE] = "older-than-floor",
	[OTA_E_MIXED] = "mixed-bundles",
	[OTA_E_DIGEST] = "payload-digest",
	[OTA_E_SINK] = "sink",
};

const char *ota_code_name(enum ota_code code)
{
	if ((unsigned)code >= sizeof code_names / sizeof code_names[0] || !code_names[code])
		return "unknown";
	return code_names[code];
}

int ota_fail(struct ota_err *err, enum ota_code code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void ota_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

void ota_put64(uint8_t *p, uint64_t v)
{
	ota_put32(p, (uint32_t)(v >> 32));
	ota_put32(p + 4, (uint32_t)v);
}

uint32_t ota_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t ota_get64(const uint8_t *p)
{
	return (uint64_t)ota_get32(p) << 32 | ota_get32(p + 4);
}

void ota_seg_header(uint8_t out[OTA_SEG_SIZE], const uint8_t bundle_id[16], uint32_t index,
		    uint64_t size)
{
	memcpy(out, OTA_SEG_MAGIC, 8);
	memcpy(out + 8, bundle_id, 16);
	ota_put32(out + 24, index);
	ota_put32(out + 28, 0);
	ota_put64(out + 32, size);
}

void ota_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

long ota_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long)got;
}

int ota_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const char *)buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

bool ota_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Splits a valid version into up to 4 numbers; returns the count, 0 if invalid. */
static int version_parts(const char *v, unsigned long out[4])
{
	int n = 0;
	const char *p = v;
	if (strlen(v) > OTA_NAME_MAX)
		return 0;
	for (;;) {
		int digits = 0;
		unsigned long x = 0;
		while (*p >= '0' && *p <= '9') {
			if (++digits > 9)
				return 0;
			x = x * 10 + (unsigned long)(*p++ - '0');
		}
		if (digits == 0 || n == 4)
			return 0;
		out[n++] = x;
		if (*p == '\0')
			return n;
		if (*p++ != '.')
			return 0;
	}
}

bool ota_version_valid(const char *v)
{
	unsigned long parts[4];
	return v != NULL && version_parts(v, parts) > 0;
}

int ota_version_cmp(const char *a, const char *b)
{
	unsigned long pa[4] = { 0 }, pb[4] = { 0 };
	version_parts(a, pa);
	version_parts(b, pb);
	for (int i = 0; i < 4; i++)
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	return 0;
}

int ota_manifest_format(const struct ota_manifest *m, char *buf, size_t len)
{
	char id[33], hex[65];
	ota_hex(m->bundle_id, sizeof m->bundle_id, id);
	int n = snprintf(buf, len,
			 "hv-ota-manifest 1\nsystem %s\nbundle-id %s\ngroup %s\ncreated %" PRId64
			 "\nexpires %" PRId64 "\n",
			 m->system, id, m->group, m->created, m->expires);
	for (unsigned i = 0; i < m->nimages && n >= 0 && (size_t)n < len; i++) {
		const struct ota_image *im = &m->images[i];
		ota_hex(im->sha256, sizeof im->sha256, hex);
		n += snprintf(buf + n, len - (size_t)n, "image %s %s %" PRIu64 " %s\n", im->vm,
			      im->version, im->size, hex);
	}
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

/* Decimal without sign or leading zeros into *OUT (at most 2^62). */
static int parse_dec(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 18)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* One "key value..." line: the words after KEY into W (NWORDS of them). */
static int take_line(const char **p, const char *end, const char *key, char w[][72], int nwords)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		return -1;
	char line[400];
	size_t n = (size_t)(nl - *p);
	if (n >= sizeof line)
		return -1;
	memcpy(line, *p, n);
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return -1;
	*p = nl + 1;
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	if (tok == NULL || strcmp(tok, key) != 0)
		return -1;
	for (int i = 0; i < nwords; i++) {
		tok = strtok_r(NULL, " ", &save);
		if (tok == NULL || strlen(tok) >= sizeof w[i])
			return -1;
		strcpy(w[i], tok);
	}
	return strtok_r(NULL, " ", &save) == NULL ? 0 : -1;
}

int ota_manifest_parse(const char *text, size_t len, struct ota_manifest *m, struct ota_err *err)
{
	static const char *const keys[] = { "hv-ota-manifest", "system",  "bundle-id",
					    "group",           "created", "expires" };
	const char *p = text, *end = text + len;
	char w[4][72];
	uint64_t created = 0, expires = 0;

	memset(m, 0, sizeof *m);
	for (int i = 0; i < 6; i++) {
		if (take_line(&p, end, keys[i], w, 1) < 0)
			return ota_fail(err, OTA_E_MANIFEST,
					"manifest line %d: expected '%s VALUE'", i + 1, keys[i]);
		int bad = 0;
		switch (i) {
		case 0:
			bad = strcmp(w[0], "1") != 0;
			break;
		case 1:
			bad = !ota_name_valid(w[0], OTA_SYSTEM_MAX);
			if (!bad)
				memcpy(m->system, w[0], strlen(w[0]) + 1);
			break;
		case 2:
			bad = unhex(w[0], m->bundle_id, sizeof m->bundle_id) < 0;
			break;
		case 3:
			bad = !ota_name_valid(w[0], OTA_GROUP_MAX);
			if (!bad)
				memcpy(m->group, w[0], strlen(w[0]) + 1);
			break;
		case 4:
			bad = parse_dec(w[0], &created) < 0;
			break;
		case 5:
			bad = parse_dec(w[0], &expires) < 0;
			break;
		}
		if (bad)
			return ota_fail(err, OTA_E_MANIFEST, "manifest line %d: invalid %s '%s'",
					i + 1, keys[i], w[0]);
	}
	m->created = (int64_t)created;
	m->expires = (int64_t)expires;
	if (m->expires <= m->created)
		return ota_fail(err, OTA_E_MANIFEST, "manifest expires before it was created");
	while (p < end) {
		unsigned i = m->nimages;
		if (i == OTA_MAX_IMAGES)
			return ota_fail(err, OTA_E_MANIFEST, "manifest has more than %d images",
					OTA_MAX_IMAGES);
		struct ota_image *im = &m->images[i];
		if (take_line(&p, end, "image", w, 4) < 0 || !ota_name_valid(w[0], OTA_NAME_MAX) ||
		    !ota_version_valid(w[1]) || parse_dec(w[2], &im->size) < 0 ||
		    unhex(w[3], im->sha256, sizeof im->sha256) < 0)
			return ota_fail(err, OTA_E_MANIFEST,
					"manifest line %u: expected 'image VM VERSION SIZE SHA256'",
					7 + i);
		strcpy(im->vm, w[0]);
		strcpy(im->version, w[1]);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(m->images[j].vm, im->vm) == 0)
				return ota_fail(err, OTA_E_MANIFEST, "manifest names VM '%s' twice",
						im->vm);
		m->nimages++;
	}
	if (m->nimages == 0)
		return ota_fail(err, OTA_E_MANIFEST, "manifest has no image");
	/* Only the canonical text is accepted: one manifest, one byte string. */
	char canon[OTA_MANIFEST_MAX + 1];
	int n = ota_manifest_format(m, canon, sizeof canon);
	if (n < 0 || (size_t)n != len || memcmp(canon, text, len) != 0)
		return ota_fail(err, OTA_E_MANIFEST, "manifest is not in canonical form");
	return 0;
}
