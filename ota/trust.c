/* The update trust configuration (docs/ota.md OTA-020..OTA-022): the update
 * CA certificates and the serial numbers of revoked signers. */
#include "ota_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ota_trust *trust_new(struct ota_err *err)
{
	struct ota_trust *t = calloc(1, sizeof *t);
	if (t == NULL) {
		ota_fail(err, OTA_E_IO, "out of memory");
		return NULL;
	}
	mbedtls_x509_crt_init(&t->cas);
	return t;
}

void ota_trust_free(struct ota_trust *t)
{
	if (t == NULL)
		return;
	mbedtls_x509_crt_free(&t->cas);
	free(t);
}

static int add_ca(struct ota_trust *t, const char *path, struct ota_err *err)
{
	mbedtls_x509_crt one;
	mbedtls_x509_crt_init(&one);
	int rc = mbedtls_x509_crt_parse_file(&one, path);
	if (rc != 0) {
		mbedtls_x509_crt_free(&one);
		return ota_fail(err, OTA_E_TRUST, "%s: not a readable PEM certificate (-0x%04x)",
				path, (unsigned)-rc);
	}
	for (const mbedtls_x509_crt *c = &one; c != NULL; c = c->next) {
		if (!c->ca_istrue) {
			mbedtls_x509_crt_free(&one);
			return ota_fail(err, OTA_E_TRUST,
					"%s: not a CA certificate (basicConstraints CA:false)", path);
		}
		if (mbedtls_x509_crt_parse_der(&t->cas, c->raw.p, c->raw.len) != 0) {
			mbedtls_x509_crt_free(&one);
			return ota_fail(err, OTA_E_TRUST, "%s: cannot add the certificate", path);
		}
	}
	mbedtls_x509_crt_free(&one);
	return 0;
}

struct ota_trust *ota_trust_from_ca(const char *ca_path, struct ota_err *err)
{
	struct ota_trust *t = trust_new(err);
	if (t != NULL && add_ca(t, ca_path, err) < 0) {
		ota_trust_free(t);
		return NULL;
	}
	return t;
}

int ota_trust_revoke(struct ota_trust *t, const char *serial_hex, struct ota_err *err)
{
	uint8_t buf[32];
	size_t n = 0;
	int half = -1;
	for (const char *p = serial_hex; *p; p++) {
		if (*p == ':')
			continue;
		int v = *p >= '0' && *p <= '9'   ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
						 : -1;
		if (v < 0 || (half < 0 && n == sizeof buf))
			return ota_fail(err, OTA_E_TRUST,
					"revoked serial '%s' is not a hex number of at most 32 bytes",
					serial_hex);
		if (half < 0)
			half = v;
		else {
			buf[n++] = (uint8_t)(half << 4 | v);
			half = -1;
		}
	}
	if (n == 0 || half >= 0)
		return ota_fail(err, OTA_E_TRUST,
				"revoked serial '%s' must be an even number of hex digits",
				serial_hex);
	if (t->nrevoked == OTA_MAX_REVOKED)
		return ota_fail(err, OTA_E_TRUST, "more than %d revoked serials", OTA_MAX_REVOKED);
	memcpy(t->revoked[t->nrevoked].serial, buf, n);
	t->revoked[t->nrevoked].len = n;
	t->nrevoked++;
	return 0;
}

bool ota_trust_is_revoked(const struct ota_trust *t, const mbedtls_x509_crt *crt)
{
	const uint8_t *s = crt->serial.p;
	size_t n = crt->serial.len;
	while (n > 1 && s[0] == 0) { /* a DER sign byte is not part of the number */
		s++;
		n--;
	}
	for (unsigned i = 0; i < t->nrevoked; i++)
		if (t->revoked[i].len == n && memcmp(t->revoked[i].serial, s, n) == 0)
			return true;
	return false;
}

struct ota_trust *ota_trust_load(const char *conf_path, struct ota_err *err)
{
	FILE *f = fopen(conf_path, "r");
	if (f == NULL) {
		ota_fail(err, OTA_E_IO, "%s: %s", conf_path, strerror(errno));
		return NULL;
	}
	struct ota_trust *t = trust_new(err);
	char line[PATH_MAX + 32], dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", conf_path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	int lineno = 0, nca = 0;
	while (t != NULL && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		char key[32], val[PATH_MAX], extra[2];
		line[strcspn(line, "\r\n")] = '\0';
		char *s = line + strspn(line, " \t");
		if (*s == '\0' || *s == '#')
			continue;
		int rc = -1;
		if (sscanf(s, "%31s %4095s %1s", key, val, extra) != 2)
			ota_fail(err, OTA_E_TRUST, "%s:%d: expected 'KEY VALUE'", conf_path, lineno);
		else if (strcmp(key, "ca") == 0) {
			char path[PATH_MAX * 2];
			snprintf(path, sizeof path, "%s%s", val[0] == '/' ? "" : dir, val);
			rc = add_ca(t, path, err);
			nca++;
		} else if (strcmp(key, "revoke-serial") == 0)
			rc = ota_trust_revoke(t, val, err);
		else
			ota_fail(err, OTA_E_TRUST,
				 "%s:%d: unknown key '%s' (expected ca or revoke-serial)",
				 conf_path, lineno, key);
		if (rc < 0) {
			if (err != NULL && strncmp(err->msg, conf_path, strlen(conf_path)) != 0) {
				char why[sizeof err->msg];
				snprintf(why, sizeof why, "%s", err->msg);
				ota_fail(err, OTA_E_TRUST, "%s:%d: %s", conf_path, lineno, why);
			}
			ota_trust_free(t);
			t = NULL;
		}
	}
	fclose(f);
	if (t != NULL && nca == 0) {
		ota_fail(err, OTA_E_TRUST, "%s: no 'ca FILE' line: nothing to trust", conf_path);
		ota_trust_free(t);
		t = NULL;
	}
	return t;
}
