/* Unit tests of hvpki: the files `hvctl pki init` and `hvctl pki issue`
 * write, checked with mbedTLS (chain, key usage, SAN, roles in subjects),
 * and the refusals on bad input, which must change nothing. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "pki.h"
#include "pki_testutil.h"

static char *tmp;      /* fresh per test */
static char pki[1024]; /* tmp/pki: a PKI made by init_pki() */

static void setup(void)
{
	tmp = pkit_mkdtemp();
	pkit_path(pki, sizeof pki, tmp, "pki");
}

static void teardown(void)
{
	pkit_rmtree(tmp);
	tmp = NULL;
}

TestSuite(pki, .init = setup, .fini = teardown);

static void init_pki(const char *dir)
{
	struct pki_err err = { "" };
	cr_assert_eq(pki_init(dir, NULL, &err), 0, "pki_init: %s", err.msg);
}

static mode_t mode_of(const char *dir, const char *name)
{
	char path[1024];
	struct stat sb;
	pkit_path(path, sizeof path, dir, name);
	cr_assert_eq(stat(path, &sb), 0, "%s missing", path);
	return sb.st_mode & 07777;
}

/* Chain check the way a TLS peer does it: leaf against the CA file. */
static uint32_t verify(const char *ca_dir, const char *dir, const char *name, const char *cn)
{
	mbedtls_x509_crt ca, crt;
	uint32_t flags = 0;
	pkit_load_crt(&ca, ca_dir, "ca.crt");
	pkit_load_crt(&crt, dir, name);
	int rc = mbedtls_x509_crt_verify(&crt, &ca, NULL, cn, &flags, NULL, NULL);
	if (rc != 0 && flags == 0)
		flags = 0x80000000u; /* failed without a reason: still a failure */
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return flags;
}

/* The value of attribute OID (e.g. MBEDTLS_OID_AT_ORG_UNIT) in the subject. */
static void subject_attr(const mbedtls_x509_crt *crt, const char *oid, size_t oid_len, char *out,
			 size_t outlen)
{
	out[0] = '\0';
	int found = 0;
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next) {
		if (n->oid.len == oid_len && memcmp(n->oid.p, oid, oid_len) == 0) {
			cr_assert_not(found, "attribute appears twice");
			cr_assert_lt(n->val.len, outlen);
			memcpy(out, n->val.p, n->val.len);
			out[n->val.len] = '\0';
			found = 1;
		}
	}
}
#define ATTR(crt, which, buf)                                                                      \
	subject_attr(crt, MBEDTLS_OID_AT_##which, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_##which), buf,   \
		     sizeof buf)

static int has_eku(const mbedtls_x509_crt *crt, const char *oid, size_t len)
{
	return mbedtls_x509_crt_check_extended_key_usage(crt, oid, len) == 0;
}
#define EKU(crt, which) has_eku(crt, MBEDTLS_OID_##which, MBEDTLS_OID_SIZE(MBEDTLS_OID_##which))

/* The GeneralNames of the subjectAltName extension, as "DNS:x" / "IP:a.b.c.d"
 * joined by ','. mbedTLS 2.28 lists only dNSName entries itself, so the
 * extension is walked here. */
static void san_list(const mbedtls_x509_crt *crt, char *out, size_t outlen)
{
	static const unsigned char oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
	out[0] = '\0';
	const unsigned char *raw = crt->v3_ext.p;
	size_t rawlen = crt->v3_ext.len;
	const unsigned char *hit = NULL;
	for (size_t i = 0; i + sizeof oid <= rawlen; i++)
		if (memcmp(raw + i, oid, sizeof oid) == 0) {
			cr_assert_null(hit, "two subjectAltName extensions");
			hit = raw + i + sizeof oid;
		}
	if (hit == NULL)
		return;
	unsigned char *p = (unsigned char *)hit, *end = (unsigned char *)raw + rawlen;
	size_t len;
	int critical = 0;
	if (mbedtls_asn1_get_bool(&p, end, &critical) != 0)
		critical = 0;
	cr_assert_eq(mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING), 0);
	end = p + len;
	cr_assert_eq(mbedtls_asn1_get_tag(&p, end, &len,
					  MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE),
		     0);
	cr_assert_eq(p + len, end);
	while (p < end) {
		int tag = *p++;
		cr_assert_eq(mbedtls_asn1_get_len(&p, end, &len), 0);
		char item[128];
		if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2))
			snprintf(item, sizeof item, "DNS:%.*s", (int)len, (const char *)p);
		else if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == 4)
			snprintf(item, sizeof item, "IP:%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
		else
			snprintf(item, sizeof item, "tag%02x", tag);
		if (out[0])
			strncat(out, ",", outlen - strlen(out) - 1);
		strncat(out, item, outlen - strlen(out) - 1);
		p += len;
	}
}

static void expect_pair(const char *dir, const char *base)
{
	char crt_name[128], key_name[128], path[1024];
	snprintf(crt_name, sizeof crt_name, "%s.crt", base);
	snprintf(key_name, sizeof key_name, "%s.key", base);
	cr_expect_eq(mode_of(dir, key_name), 0600, "%s is not 0600", key_name);
	cr_expect_eq(mode_of(dir, crt_name), 0644, "%s is not 0644", crt_name);

	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	pkit_load_crt(&crt, dir, crt_name);
	mbedtls_pk_init(&key);
	pkit_path(path, sizeof path, dir, key_name);
	char *pem = pkit_slurp(path);
	cr_assert_not_null(pem);
	cr_expect(strstr(pem, "-----BEGIN EC PRIVATE KEY-----") == pem, "%s is not PEM", key_name);
	free(pem);
	cr_assert_eq(mbedtls_pk_parse_keyfile(&key, path, NULL), 0, "cannot parse %s", key_name);
	cr_expect_eq(mbedtls_pk_get_type(&key), MBEDTLS_PK_ECKEY);
	cr_expect_eq(mbedtls_pk_ec(key)->grp.id, MBEDTLS_ECP_DP_SECP256R1, "%s is not P-256",
		     key_name);
	cr_expect_eq(mbedtls_pk_check_pair(&crt.pk, &key), 0, "%s does not match %s", key_name,
		     crt_name);
	/* A positive 16-byte serial: no sign byte, top bit clear. */
	cr_expect_eq(crt.serial.len, 16, "%s serial is %zu bytes", crt_name, crt.serial.len);
	cr_expect_eq(crt.serial.p[0] & 0x80, 0);
	cr_expect_eq(crt.version, 3);
	cr_expect_eq(crt.sig_md, MBEDTLS_MD_SHA256);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
}

Test(pki, init_writes_the_documented_layout)
{
	init_pki(pki);
	cr_expect_eq(mode_of(tmp, "pki"), 0700);
	int n = 0;
	for (; pki_init_files[n]; n++)
		;
	cr_expect_eq(n, 14);
	cr_expect_eq(pkit_count(pki), n, "stray files in the PKI directory");
	const char *pairs[] = { "ca",     "server",    "admin",        "operator",
				"viewer", "update-ca", "update-signer" };
	for (size_t i = 0; i < 7; i++)
		expect_pair(pki, pairs[i]);
}

/* docs/ota.md OTA-020/021: the update CA is its own CA, not the TLS CA, and
 * its signer is an end entity for code signing only. */
Test(pki, the_update_ca_is_separate_and_signs_an_update_signer)
{
	init_pki(pki);
	mbedtls_x509_crt uca, tls, signer;
	uint32_t flags = 0;
	pkit_load_crt(&uca, pki, "update-ca.crt");
	pkit_load_crt(&tls, pki, "ca.crt");
	pkit_load_crt(&signer, pki, "update-signer.crt");
	cr_expect(uca.ca_istrue);
	cr_expect(uca.pk_raw.len != tls.pk_raw.len ||
			  memcmp(uca.pk_raw.p, tls.pk_raw.p, uca.pk_raw.len) != 0,
		  "the update CA has the TLS CA's key");
	cr_expect(uca.subject_raw.len != tls.subject_raw.len ||
			  memcmp(uca.subject_raw.p, tls.subject_raw.p, uca.subject_raw.len) != 0,
		  "the update CA has the TLS CA's name");
	cr_expect_eq(mbedtls_x509_crt_verify(&signer, &uca, NULL, NULL, &flags, NULL, NULL), 0,
		     "update-signer does not chain to update-ca (flags %x)", flags);
	cr_expect_neq(mbedtls_x509_crt_verify(&signer, &tls, NULL, NULL, &flags, NULL, NULL), 0,
		      "update-signer chains to the TLS CA");
	cr_expect_neq(verify(pki, pki, "update-signer.crt", NULL), 0);
	cr_expect(!signer.ca_istrue);
	cr_expect_eq(mbedtls_x509_crt_check_extended_key_usage(&signer, MBEDTLS_OID_CODE_SIGNING,
							       MBEDTLS_OID_SIZE(
								       MBEDTLS_OID_CODE_SIGNING)),
		     0);
	cr_expect_neq(mbedtls_x509_crt_check_extended_key_usage(&signer, MBEDTLS_OID_CLIENT_AUTH,
								MBEDTLS_OID_SIZE(
									MBEDTLS_OID_CLIENT_AUTH)),
		      0, "an update signer must not be a TLS client");
	char ou[64];
	subject_attr(&signer, MBEDTLS_OID_AT_ORG_UNIT, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORG_UNIT),
		     ou, sizeof ou);
	cr_expect_str_eq(ou, "update-signer");
	mbedtls_x509_crt_free(&signer);
	mbedtls_x509_crt_free(&tls);
	mbedtls_x509_crt_free(&uca);
}

/* A PKI made before the update CA existed gains it, TLS files untouched;
 * a second time is refused; a rotated signer chains to the same update CA. */
Test(pki, init_update_adds_the_update_pki_and_issues_rotated_signers)
{
	init_pki(pki);
	char path[1024];
	for (int i = 0; pki_update_files[i]; i++) {
		pkit_path(path, sizeof path, pki, pki_update_files[i]);
		cr_assert_eq(unlink(path), 0);
	}
	pkit_path(path, sizeof path, pki, "ca.crt");
	char *before = pkit_slurp(path);
	struct pki_err err = { "" };
	cr_assert_eq(pki_init_update(pki, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(pkit_count(pki), 14);
	char *after = pkit_slurp(path);
	cr_expect_str_eq(before, after, "the TLS CA changed");
	free(before);
	free(after);
	cr_expect_neq(pki_init_update(pki, NULL, &err), 0);
	cr_expect(strstr(err.msg, "already exists") != NULL, "%s", err.msg);
	cr_assert_eq(pki_issue_update_signer(pki, "signer-2", NULL, &err), 0, "%s", err.msg);
	mbedtls_x509_crt uca, s2;
	uint32_t flags = 0;
	pkit_load_crt(&uca, pki, "update-ca.crt");
	pkit_load_crt(&s2, pki, "signer-2.crt");
	cr_expect_eq(mbedtls_x509_crt_verify(&s2, &uca, NULL, NULL, &flags, NULL, NULL), 0);
	mbedtls_x509_crt_free(&s2);
	mbedtls_x509_crt_free(&uca);
	cr_expect_neq(pki_issue_update_signer(pki, "a/b", NULL, &err), 0);
	cr_expect_eq(pkit_count(pki), 16);
}

Test(pki, ca_is_a_ten_year_signing_ca)
{
	init_pki(pki);
	mbedtls_x509_crt ca;
	pkit_load_crt(&ca, pki, "ca.crt");
	cr_expect(ca.ca_istrue);
	cr_expect_eq(ca.key_usage, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
	cr_expect_eq(ca.subject_raw.len, ca.issuer_raw.len);
	cr_expect_eq(memcmp(ca.subject_raw.p, ca.issuer_raw.p, ca.subject_raw.len), 0,
		     "CA is not self-issued");
	const mbedtls_x509_time *a = &ca.valid_from, *b = &ca.valid_to;
	int ten = b->year > a->year + 10 ||
		  (b->year == a->year + 10 &&
		   (b->mon > a->mon || (b->mon == a->mon && b->day >= a->day)));
	cr_expect(ten, "CA valid %04d-%02d-%02d .. %04d-%02d-%02d, less than 10 years", a->year,
		  a->mon, a->day, b->year, b->mon, b->day);
	uint32_t flags = 0;
	cr_expect_eq(mbedtls_x509_crt_verify(&ca, &ca, NULL, NULL, &flags, NULL, NULL), 0,
		     "self-signature does not verify: flags 0x%x", flags);
	char o[64];
	ATTR(&ca, ORGANIZATION, o);
	cr_expect_str_eq(o, "hv-fleet");
	mbedtls_x509_crt_free(&ca);
}

Test(pki, every_certificate_verifies_against_the_ca)
{
	init_pki(pki);
	/* mbedTLS 2.28 matches names against dNSName entries only; the IP entry
     * is checked in server_certificate_names_loopback and, as a TLS client
     * sees it, in pki_interop. */
	cr_expect_eq(verify(pki, pki, "server.crt", "localhost"), 0);
	cr_expect_eq(verify(pki, pki, "admin.crt", NULL), 0);
	cr_expect_eq(verify(pki, pki, "operator.crt", NULL), 0);
	cr_expect_eq(verify(pki, pki, "viewer.crt", NULL), 0);
	/* The server certificate names only the loopback endpoint. */
	cr_expect_neq(verify(pki, pki, "server.crt", "example.com"), 0);
}

Test(pki, server_certificate_names_loopback)
{
	init_pki(pki);
	mbedtls_x509_crt crt;
	char san[256], cn[64];
	pkit_load_crt(&crt, pki, "server.crt");
	san_list(&crt, san, sizeof san);
	cr_expect_str_eq(san, "DNS:localhost,IP:127.0.0.1");
	ATTR(&crt, CN, cn);
	cr_expect_str_eq(cn, "localhost");
	cr_expect_not(crt.ca_istrue);
	cr_expect_eq(crt.key_usage, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	cr_expect(EKU(&crt, SERVER_AUTH));
	cr_expect_not(EKU(&crt, CLIENT_AUTH), "server certificate usable as a client");
	mbedtls_x509_crt_free(&crt);
}

Test(pki, client_certificates_carry_their_role)
{
	init_pki(pki);
	const char *roles[] = { "admin", "operator", "viewer" };
	for (size_t i = 0; i < 3; i++) {
		char file[32], cn[64], ou[64], o[64], san[128];
		mbedtls_x509_crt crt;
		snprintf(file, sizeof file, "%s.crt", roles[i]);
		pkit_load_crt(&crt, pki, file);
		ATTR(&crt, CN, cn);
		ATTR(&crt, ORG_UNIT, ou);
		ATTR(&crt, ORGANIZATION, o);
		cr_expect_str_eq(cn, roles[i]);
		cr_expect_str_eq(ou, roles[i]);
		cr_expect_str_eq(o, "hv-fleet");
		cr_expect(EKU(&crt, CLIENT_AUTH), "%s lacks clientAuth", file);
		cr_expect_not(EKU(&crt, SERVER_AUTH), "%s usable as a server", file);
		cr_expect_eq(crt.key_usage, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
		cr_expect_not(crt.ca_istrue);
		/* No SAN: gRPC then reports the CN as the peer identity. */
		san_list(&crt, san, sizeof san);
		cr_expect_str_eq(san, "");
		mbedtls_x509_crt_free(&crt);
	}
}

Test(pki, certificate_from_another_ca_fails_verification)
{
	char other[1024];
	pkit_path(other, sizeof other, tmp, "other");
	init_pki(pki);
	init_pki(other);
	uint32_t flags = verify(other, pki, "admin.crt", NULL);
	cr_expect(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED, "flags 0x%x", flags);
	flags = verify(pki, other, "server.crt", "localhost");
	cr_expect(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED, "flags 0x%x", flags);
}

Test(pki, init_refuses_to_overwrite_an_existing_ca)
{
	init_pki(pki);
	char path[1024];
	pkit_path(path, sizeof path, pki, "ca.crt");
	char *before = pkit_slurp(path);
	struct pki_err err = { "" };
	cr_assert_neq(pki_init(pki, NULL, &err), 0);
	cr_expect(strstr(err.msg, "/pki/ca.crt already exists") != NULL, "%s", err.msg);
	cr_expect(strstr(err.msg, "--force") != NULL, "%s", err.msg);
	char *after = pkit_slurp(path);
	cr_expect_str_eq(after, before, "ca.crt changed");
	cr_expect_eq(pkit_count(pki), 14, "temporary files left behind");
	free(after);

	/* --force replaces everything with a new CA. */
	struct pki_opts force = { .force = true };
	cr_assert_eq(pki_init(pki, &force, &err), 0, "%s", err.msg);
	after = pkit_slurp(path);
	cr_expect_str_neq(after, before, "forced init kept the old CA");
	cr_expect_eq(pkit_count(pki), 14);
	cr_expect_eq(verify(pki, pki, "viewer.crt", NULL), 0);
	cr_expect_eq(mode_of(pki, "ca.key"), 0600);
	free(after);
	free(before);
}

Test(pki, init_refuses_when_any_target_exists)
{
	cr_assert_eq(mkdir(pki, 0700), 0);
	char path[1024];
	pkit_path(path, sizeof path, pki, "viewer.key");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("precious", f);
	fclose(f);
	struct pki_err err = { "" };
	cr_assert_neq(pki_init(pki, NULL, &err), 0);
	cr_expect(strstr(err.msg, "viewer.key already exists") != NULL, "%s", err.msg);
	cr_expect_eq(pkit_count(pki), 1);
	char *s = pkit_slurp(path);
	cr_expect_str_eq(s, "precious");
	free(s);
}

Test(pki, init_reports_an_unusable_directory)
{
	char file[1024], below[1100];
	pkit_path(file, sizeof file, tmp, "plainfile");
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	struct pki_err err = { "" };
	cr_assert_neq(pki_init(file, NULL, &err), 0);
	cr_expect(strstr(err.msg, "plainfile") != NULL, "%s", err.msg);
	snprintf(below, sizeof below, "%s/pki", file);
	cr_assert_neq(pki_init(below, NULL, &err), 0);
	cr_expect(strstr(err.msg, "plainfile") != NULL && strstr(err.msg, "not a directory"), "%s",
		  err.msg);
	cr_assert_neq(pki_init("", NULL, &err), 0);
	cr_expect_str_eq(err.msg, "PKI directory is empty");
}

Test(pki, init_creates_missing_parents)
{
	char deep[1100];
	snprintf(deep, sizeof deep, "%s/var/state/pki", tmp);
	init_pki(deep);
	char var[1100];
	snprintf(var, sizeof var, "%s/var", tmp);
	cr_expect_eq(mode_of(var, "state") & 0700, 0700);
	cr_expect_eq(mode_of(deep, "ca.key"), 0600);
}

Test(pki, leaves_never_outlive_the_ca)
{
	struct pki_opts o = { .ca_days = 30, .leaf_days = 825 };
	struct pki_err err = { "" };
	cr_assert_eq(pki_init(pki, &o, &err), 0, "%s", err.msg);
	mbedtls_x509_crt ca, leaf;
	pkit_load_crt(&ca, pki, "ca.crt");
	pkit_load_crt(&leaf, pki, "admin.crt");
	const mbedtls_x509_time *c = &ca.valid_to, *l = &leaf.valid_to;
	long cv = ((((long)c->year * 100 + c->mon) * 100 + c->day) * 100 + c->hour) * 10000 +
		  c->min * 100 + c->sec;
	long lv = ((((long)l->year * 100 + l->mon) * 100 + l->day) * 100 + l->hour) * 10000 +
		  l->min * 100 + l->sec;
	cr_expect_leq(lv, cv);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&ca);
}

Test(pki, issue_signs_a_client_certificate_with_the_role)
{
	init_pki(pki);
	char out[1024];
	pkit_path(out, sizeof out, tmp, "out");
	struct pki_err err = { "" };
	cr_assert_eq(pki_issue(pki, "operator", "alice", out, &err), 0, "%s", err.msg);
	cr_expect_eq(pkit_count(out), 2);
	expect_pair(out, "alice");
	cr_expect_eq(verify(pki, out, "alice.crt", NULL), 0);
	mbedtls_x509_crt crt;
	char cn[64], ou[64], o[64];
	pkit_load_crt(&crt, out, "alice.crt");
	ATTR(&crt, CN, cn);
	ATTR(&crt, ORG_UNIT, ou);
	ATTR(&crt, ORGANIZATION, o);
	cr_expect_str_eq(cn, "alice");
	cr_expect_str_eq(ou, "operator");
	cr_expect_str_eq(o, "hv-fleet");
	cr_expect(EKU(&crt, CLIENT_AUTH));
	mbedtls_x509_crt_free(&crt);

	/* Default output directory: the PKI directory itself. */
	cr_assert_eq(pki_issue(pki, "viewer", "tool-7.backend", NULL, &err), 0, "%s", err.msg);
	expect_pair(pki, "tool-7.backend");
	cr_expect_eq(verify(pki, pki, "tool-7.backend.crt", NULL), 0);
}

Test(pki, issue_with_a_bad_role_writes_nothing)
{
	init_pki(pki);
	const char *bad[] = { "root", "Admin", "", "admin ", "viewer,admin" };
	for (size_t i = 0; i < 5; i++) {
		struct pki_err err = { "" };
		char want[64];
		cr_expect_neq(pki_issue(pki, bad[i], "mallory", NULL, &err), 0, "role '%s'", bad[i]);
		snprintf(want, sizeof want, "unknown role '%s'", bad[i]);
		cr_expect(strstr(err.msg, want) != NULL, "%s", err.msg);
		cr_expect(strstr(err.msg, "admin, operator or viewer") != NULL, "%s", err.msg);
	}
	struct pki_err err = { "" };
	cr_expect_neq(pki_issue(pki, NULL, "mallory", NULL, &err), 0);
	cr_expect_eq(pkit_count(pki), 14, "something was written");
}

Test(pki, issue_with_a_bad_name_writes_nothing)
{
	init_pki(pki);
	char longname[80];
	memset(longname, 'n', 65);
	longname[65] = '\0';
	const char *bad[] = { "a,b", "a/b",     "../x", "a\nb", "a\x01", "",
			      "-rf", ".hidden", "O=x",  "a b",  longname };
	const char *why[] = { "','", "'/'", "'.'", "0x0a", "0x01",          "empty",
			      "'-'", "'.'", "'='", "' '",  "longer than 64" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct pki_err err = { "" };
		cr_expect_neq(pki_issue(pki, "viewer", bad[i], NULL, &err), 0, "name '%s'", bad[i]);
		cr_expect(strstr(err.msg, why[i]) != NULL, "'%s': %s", bad[i], err.msg);
	}
	struct pki_err err = { "" };
	cr_expect_neq(pki_issue(pki, "viewer", NULL, NULL, &err), 0);
	cr_expect_eq(pkit_count(pki), 14, "something was written");
}

Test(pki, issue_refuses_to_overwrite)
{
	init_pki(pki);
	struct pki_err err = { "" };
	cr_assert_eq(pki_issue(pki, "admin", "bob", NULL, &err), 0, "%s", err.msg);
	char path[1024];
	pkit_path(path, sizeof path, pki, "bob.crt");
	char *before = pkit_slurp(path);
	cr_assert_neq(pki_issue(pki, "viewer", "bob", NULL, &err), 0);
	cr_expect(strstr(err.msg, "bob.crt already exists") != NULL, "%s", err.msg);
	char *after = pkit_slurp(path);
	cr_expect_str_eq(after, before);
	free(before);
	free(after);
	/* "admin" collides with the pair init made. */
	cr_assert_neq(pki_issue(pki, "admin", "admin", NULL, &err), 0);
	cr_expect(strstr(err.msg, "admin.crt already exists") != NULL, "%s", err.msg);
	cr_expect_eq(pkit_count(pki), 16);
}

Test(pki, issue_without_a_usable_ca_fails_clearly)
{
	struct pki_err err = { "" };
	char out[1024];
	pkit_path(out, sizeof out, tmp, "out");
	cr_assert_neq(pki_issue(pki, "viewer", "carol", out, &err), 0);
	cr_expect(strstr(err.msg, "/pki/ca.crt: no CA certificate") != NULL, "%s", err.msg);
	cr_expect(strstr(err.msg, "hvctl pki init") != NULL, "%s", err.msg);
	cr_expect_eq(pkit_count(out), -1, "output directory created on failure");

	/* A key that belongs to another CA. */
	char other[1024], src[1100], dst[1100];
	pkit_path(other, sizeof other, tmp, "other");
	init_pki(pki);
	init_pki(other);
	snprintf(src, sizeof src, "%s/ca.key", other);
	snprintf(dst, sizeof dst, "%s/ca.key", pki);
	cr_assert_eq(rename(src, dst), 0);
	cr_assert_neq(pki_issue(pki, "viewer", "carol", out, &err), 0);
	cr_expect(strstr(err.msg, "ca.key does not match") != NULL, "%s", err.msg);

	/* Garbage instead of a certificate; a leaf instead of a CA. */
	snprintf(dst, sizeof dst, "%s/ca.crt", pki);
	FILE *f = fopen(dst, "w");
	cr_assert_not_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	cr_assert_neq(pki_issue(pki, "viewer", "carol", out, &err), 0);
	cr_expect(strstr(err.msg, "ca.crt: not a PEM certificate") != NULL, "%s", err.msg);
	snprintf(src, sizeof src, "%s/admin.crt", pki);
	cr_assert_eq(rename(src, dst), 0);
	cr_assert_neq(pki_issue(pki, "viewer", "carol", out, &err), 0);
	cr_expect(strstr(err.msg, "not a CA certificate") != NULL, "%s", err.msg);
	cr_expect_eq(pkit_count(out), -1);
}

Test(pki, cli_init_and_issue)
{
	char *init[] = { "pki", "init", "--dir", pki, NULL };
	cr_assert_eq(pki_cli_main(4, init), 0);
	cr_expect_eq(pkit_count(pki), 14);
	cr_expect_eq(pki_cli_main(4, init), 1, "second init must refuse");
	char *force[] = { "pki", "init", "--force", "--dir", pki, NULL };
	cr_expect_eq(pki_cli_main(5, force), 0);

	char dirarg[1100];
	snprintf(dirarg, sizeof dirarg, "--dir=%s", pki);
	char *issue[] = { "pki", "issue", "--role", "operator", dirarg, "dave", NULL };
	cr_assert_eq(pki_cli_main(6, issue), 0);
	cr_expect_eq(verify(pki, pki, "dave.crt", NULL), 0);
	char *bad_role[] = { "pki", "issue", "--role=boss", dirarg, "erin", NULL };
	cr_expect_eq(pki_cli_main(5, bad_role), 1);
	cr_expect_eq(pkit_count(pki), 16);
}

Test(pki, cli_usage_errors)
{
	char *none[] = { "pki", NULL };
	cr_expect_eq(pki_cli_main(1, none), 2);
	char *unknown[] = { "pki", "revoke", NULL };
	cr_expect_eq(pki_cli_main(2, unknown), 2);
	char *no_role[] = { "pki", "issue", "frank", NULL };
	cr_expect_eq(pki_cli_main(3, no_role), 2);
	char *no_name[] = { "pki", "issue", "--role", "viewer", NULL };
	cr_expect_eq(pki_cli_main(4, no_name), 2);
	char *dangling[] = { "pki", "issue", "--role", NULL };
	cr_expect_eq(pki_cli_main(3, dangling), 2);
	char *two_names[] = { "pki", "issue", "--role", "viewer", "a", "b", NULL };
	cr_expect_eq(pki_cli_main(6, two_names), 2);
	char *bad_opt[] = { "pki", "init", "--forse", NULL };
	cr_expect_eq(pki_cli_main(3, bad_opt), 2);
	char *dir_no_value[] = { "pki", "init", "--dir", NULL };
	cr_expect_eq(pki_cli_main(3, dir_no_value), 2);
	char *help[] = { "pki", "help", NULL };
	cr_expect_eq(pki_cli_main(2, help), 0);
	cr_expect_eq(pkit_count(pki), -1, "a usage error created files");
}
