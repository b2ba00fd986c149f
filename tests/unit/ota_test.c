/* The OTA bundle library against docs/ota.md: a good bundle verifies and its
 * images stream out whole; every attack of OTA-030..OTA-041 is refused with
 * its named error; bad writer input names what is wrong and writes nothing. */
#include "ota.h"
#include "pki.h"
#include "pki_testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IMG_A_SIZE (600u * 1024u + 7u) /* spans several I/O buffers */
#define IMG_B_SIZE 1000u

static char *tmp;
static char pki[512], other[512], img_a[512], img_b[512], out[512];

static void write_bytes(const char *path, size_t n, unsigned seed)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		fputc((int)((i * 31u + seed) & 0xff), f);
	cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
	struct pki_err err;
	tmp = pkit_mkdtemp();
	pkit_path(pki, sizeof pki, tmp, "pki");
	pkit_path(other, sizeof other, tmp, "other");
	pkit_path(img_a, sizeof img_a, tmp, "a.img");
	pkit_path(img_b, sizeof img_b, tmp, "b.img");
	pkit_path(out, sizeof out, tmp, "bundle.hvota");
	cr_assert_eq(pki_init(pki, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(pki_init(other, NULL, &err), 0, "%s", err.msg);
	write_bytes(img_a, IMG_A_SIZE, 1);
	write_bytes(img_b, IMG_B_SIZE, 2);
}

static void teardown(void)
{
	pkit_rmtree(tmp);
}

TestSuite(ota, .init = setup, .fini = teardown);

struct spec {
	const char *dir;    /* PKI holding the key and certificate */
	const char *signer; /* base name in DIR */
	const char *system;
	const char *version;
	int64_t created, expires;
};

static int make(const char *path, const struct spec *s, struct ota_err *err)
{
	char key[600], crt[600], kf[80], cf[80];
	snprintf(kf, sizeof kf, "%s.key", s->signer ? s->signer : "update-signer");
	snprintf(cf, sizeof cf, "%s.crt", s->signer ? s->signer : "update-signer");
	pkit_path(key, sizeof key, s->dir ? s->dir : pki, kf);
	pkit_path(crt, sizeof crt, s->dir ? s->dir : pki, cf);
	struct ota_write_image im[2] = {
		{ "rtos-demo", img_a, s->version ? s->version : "2.0.0" },
		{ "linux", img_b, "1.0.0" },
	};
	struct ota_write_opts o = { .system = s->system ? s->system : "car-1",
				    .group = "pair",
				    .created = s->created,
				    .expires = s->expires,
				    .key_path = key,
				    .cert_path = crt,
				    .nimages = 2,
				    .images = im };
	return ota_bundle_write(path, &o, NULL, err);
}

static void make_ok(const char *path, const struct spec *s)
{
	struct ota_err err;
	cr_assert_eq(make(path, s, &err), 0, "%s", err.msg);
}

struct sink_count {
	uint64_t bytes[2];
};

static int count_sink(void *ctx, unsigned index, const void *buf, size_t len)
{
	(void)buf;
	((struct sink_count *)ctx)->bytes[index] += len;
	return 0;
}

/* Verifies PATH against the main PKI's update CA (or TRUST); returns the code. */
static enum ota_code check(const char *path, const struct ota_verify_opts *extra,
			   const struct ota_trust *trust, struct ota_err *err)
{
	char ca[600];
	pkit_path(ca, sizeof ca, pki, "update-ca.crt");
	struct ota_trust *own = NULL;
	if (trust == NULL) {
		own = ota_trust_from_ca(ca, err);
		cr_assert_not_null(own, "%s", err->msg);
		trust = own;
	}
	struct ota_verify_opts o = extra ? *extra : (struct ota_verify_opts){ .system = "car-1" };
	o.trust = trust;
	int rc = ota_bundle_verify(path, &o, NULL, NULL, err);
	ota_trust_free(own);
	cr_assert_eq(rc == 0, err->code == OTA_OK);
	return err->code;
}

static void expect_refused(const char *path, const struct ota_verify_opts *o,
			   const struct ota_trust *t, enum ota_code want)
{
	struct ota_err err;
	enum ota_code got = check(path, o, t, &err);
	cr_expect_eq(got, want, "expected %s, got %s: %s", ota_code_name(want), ota_code_name(got),
		     err.msg);
}

static long file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return (long)st.st_size;
}

/* Offset of the first payload byte (segment header of image 1). */
static long payload_at(const char *path)
{
	unsigned char h[24];
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(h, 1, 24, f), 24u);
	fclose(f);
	long m = (long)h[12] << 24 | h[13] << 16 | h[14] << 8 | h[15];
	long s = (long)h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19];
	return 24 + m + s;
}

static void flip(const char *path, long at)
{
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	unsigned char c;
	cr_assert_eq(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	cr_assert_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* Copies [from, to) of SRC to the end of DST (created when NEW). */
static void copy_range(const char *src, long from, long to, const char *dst, bool fresh)
{
	FILE *in = fopen(src, "rb"), *o = fopen(dst, fresh ? "wb" : "ab");
	cr_assert(in && o);
	fseek(in, from, SEEK_SET);
	for (long i = from; i < to; i++)
		fputc(fgetc(in), o);
	fclose(in);
	fclose(o);
}

Test(ota, a_good_bundle_verifies_and_streams_every_image_byte)
{
	struct ota_manifest written, read;
	struct ota_signer signer;
	struct ota_err err;
	char key[600], crt[600], ca[600];
	pkit_path(key, sizeof key, pki, "update-signer.key");
	pkit_path(crt, sizeof crt, pki, "update-signer.crt");
	pkit_path(ca, sizeof ca, pki, "update-ca.crt");
	struct ota_write_image im[1] = { { "rtos-demo", img_a, "2.0.0" } };
	struct ota_write_opts o = {
		.system = "car-1", .key_path = key, .cert_path = crt, .nimages = 1, .images = im
	};
	cr_assert_eq(ota_bundle_write(out, &o, &written, &err), 0, "%s", err.msg);
	struct ota_trust *t = ota_trust_from_ca(ca, &err);
	cr_assert_not_null(t, "%s", err.msg);
	struct sink_count count = { { 0, 0 } };
	struct ota_verify_opts v = {
		.trust = t, .system = "car-1", .sink = count_sink, .sink_ctx = &count
	};
	cr_assert_eq(ota_bundle_verify(out, &v, &read, &signer, &err), 0, "%s", err.msg);
	ota_trust_free(t);
	cr_expect_eq(memcmp(&written, &read, sizeof read), 0, "manifest read back differs");
	cr_expect_str_eq(read.images[0].version, "2.0.0");
	cr_expect_str_eq(read.group, "update");
	cr_expect_eq(read.images[0].size, IMG_A_SIZE);
	cr_expect_eq(count.bytes[0], IMG_A_SIZE);
	cr_expect_gt(read.expires, read.created);
	cr_expect(strstr(signer.subject, "CN=update-signer") != NULL, "%s", signer.subject);
	/* framing overhead only: header, manifest, signature block, segment header */
	cr_expect_lt(file_size(out), (long)IMG_A_SIZE + 24 + 8192 + 16384 + 40);
}

Test(ota, a_changed_payload_byte_is_payload_digest)
{
	make_ok(out, &(struct spec){ 0 });
	long at = payload_at(out);
	flip(out, at + 40 + IMG_A_SIZE / 2);
	expect_refused(out, NULL, NULL, OTA_E_DIGEST);
	make_ok(out, &(struct spec){ 0 });
	flip(out, file_size(out) - 1); /* last byte of the last image */
	expect_refused(out, NULL, NULL, OTA_E_DIGEST);
}

Test(ota, a_changed_manifest_is_bad_signature)
{
	make_ok(out, &(struct spec){ .version = "2.0.0" });
	/* "2.0.0" -> "3.0.0" in the manifest text: still a valid manifest */
	char *text = pkit_slurp(out);
	cr_assert_not_null(text);
	char *v = strstr(text + 24, "rtos-demo 2.0.0");
	cr_assert_not_null(v);
	long at = (long)(v - text) + 10;
	free(text);
	flip(out, at); /* '2' ^ 1 == '3' */
	expect_refused(out, NULL, NULL, OTA_E_SIGNATURE);
}

Test(ota, a_signer_of_another_ca_is_untrusted)
{
	make_ok(out, &(struct spec){ .dir = other });
	expect_refused(out, NULL, NULL, OTA_E_UNTRUSTED);
	/* The TLS CA is not the update CA: an admin client pair cannot sign. */
	make_ok(out, &(struct spec){ .signer = "admin" });
	expect_refused(out, NULL, NULL, OTA_E_UNTRUSTED);
}

Test(ota, an_expired_manifest_is_expired_even_with_a_clock_set_back)
{
	int64_t now = (int64_t)time(NULL);
	make_ok(out, &(struct spec){ .created = now - 1000, .expires = now - 10 });
	expect_refused(out, NULL, NULL, OTA_E_EXPIRED);
	/* The clock says it is valid, the time floor says it is not (freeze). */
	make_ok(out, &(struct spec){ .created = now - 1000, .expires = now + 100 });
	struct ota_verify_opts o = { .system = "car-1", .now = now - 500, .floor = now + 200 };
	expect_refused(out, &o, NULL, OTA_E_EXPIRED);
	o.floor = 0;
	expect_refused(out, &o, NULL, OTA_OK);
}

Test(ota, a_manifest_older_than_the_time_floor_is_refused)
{
	int64_t now = (int64_t)time(NULL);
	make_ok(out, &(struct spec){ .created = now - 1000, .expires = now + 1000 });
	struct ota_verify_opts o = { .system = "car-1", .floor = now - 500 };
	expect_refused(out, &o, NULL, OTA_E_STALE);
	o.floor = now - 1000; /* signed exactly at the floor: accepted */
	expect_refused(out, &o, NULL, OTA_OK);
}

Test(ota, a_manifest_for_another_system_is_wrong_system)
{
	make_ok(out, &(struct spec){ .system = "car-2" });
	expect_refused(out, NULL, NULL, OTA_E_WRONG_SYSTEM);
}

Test(ota, a_truncated_bundle_is_truncated_wherever_it_ends)
{
	for (int i = 0; i < 7; i++) {
		/* each bundle is measured: the signature's DER length varies */
		make_ok(out, &(struct spec){ 0 });
		long size = file_size(out), pay = payload_at(out);
		long cuts[] = { 5, 23, 30, pay - 3, pay + 20, pay + 40 + 100, size - 1 };
		cr_assert_eq(truncate(out, cuts[i]), 0);
		expect_refused(out, NULL, NULL, OTA_E_TRUNCATED);
	}
	cr_assert_eq(truncate(out, 0), 0);
	expect_refused(out, NULL, NULL, OTA_E_TRUNCATED);
}

Test(ota, a_bundle_larger_than_the_cap_or_than_declared_is_too_large)
{
	make_ok(out, &(struct spec){ 0 });
	long size = file_size(out);
	struct ota_verify_opts o = { .system = "car-1", .max_bytes = (uint64_t)size - 1 };
	expect_refused(out, &o, NULL, OTA_E_TOO_LARGE);
	o.max_bytes = (uint64_t)size;
	expect_refused(out, &o, NULL, OTA_OK);
	o.max_bytes = 1000; /* smaller than the header and manifest */
	expect_refused(out, &o, NULL, OTA_E_TOO_LARGE);
	FILE *f = fopen(out, "ab"); /* endless data after the last image */
	fputs("more", f);
	fclose(f);
	expect_refused(out, NULL, NULL, OTA_E_TOO_LARGE);
}

static void serial_hex(const char *dir, const char *name, char *hex, size_t len)
{
	mbedtls_x509_crt crt;
	pkit_load_crt(&crt, dir, name);
	size_t n = 0;
	for (size_t i = 0; i < crt.serial.len && n + 3 < len; i++)
		n += (size_t)snprintf(hex + n, len - n, "%02X", crt.serial.p[i]);
	mbedtls_x509_crt_free(&crt);
}

Test(ota, a_revoked_signer_is_refused_and_a_rotated_one_works)
{
	char conf[600], serial[80];
	struct pki_err perr;
	struct ota_err err;
	serial_hex(pki, "update-signer.crt", serial, sizeof serial);
	pkit_path(conf, sizeof conf, pki, "update-trust.conf");
	FILE *f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "# the development update trust\nca update-ca.crt\nrevoke-serial %s\n", serial);
	fclose(f);
	struct ota_trust *t = ota_trust_load(conf, &err);
	cr_assert_not_null(t, "%s", err.msg);
	make_ok(out, &(struct spec){ 0 });
	expect_refused(out, NULL, t, OTA_E_REVOKED);
	cr_assert_eq(pki_issue_update_signer(pki, "signer-2026", NULL, &perr), 0, "%s", perr.msg);
	make_ok(out, &(struct spec){ .signer = "signer-2026" });
	expect_refused(out, NULL, t, OTA_OK);
	ota_trust_free(t);
}

Test(ota, images_mixed_from_two_bundles_are_mixed_bundles)
{
	char b[600], mixed[600];
	pkit_path(b, sizeof b, tmp, "b.hvota");
	pkit_path(mixed, sizeof mixed, tmp, "mixed.hvota");
	make_ok(out, &(struct spec){ 0 });
	make_ok(b, &(struct spec){ 0 }); /* same images, same versions, another bundle */
	long a_img2 = payload_at(out) + 40 + IMG_A_SIZE;
	long b_img2 = payload_at(b) + 40 + IMG_A_SIZE;
	copy_range(out, 0, a_img2, mixed, true);
	copy_range(b, b_img2, file_size(b), mixed, false);
	expect_refused(mixed, NULL, NULL, OTA_E_MIXED);
}

Test(ota, bad_writer_input_names_the_problem_and_writes_nothing)
{
	struct ota_err err;
	cr_expect_eq(make(out, &(struct spec){ .version = "2.0.x" }, &err), -1);
	cr_expect_eq(err.code, OTA_E_USAGE);
	cr_expect(strstr(err.msg, "2.0.x") != NULL, "%s", err.msg);
	cr_expect_eq(make(out, &(struct spec){ .system = "car 1" }, &err), -1);
	cr_expect(strstr(err.msg, "car 1") != NULL, "%s", err.msg);
	int64_t now = (int64_t)time(NULL);
	cr_expect_eq(make(out, &(struct spec){ .created = now, .expires = now - 1 }, &err), -1);
	/* a key that is not the certificate's */
	char key[600], crt[600];
	pkit_path(key, sizeof key, other, "update-signer.key");
	pkit_path(crt, sizeof crt, pki, "update-signer.crt");
	struct ota_write_image im[2] = { { "linux", img_b, "1.0" }, { "linux", img_a, "1.1" } };
	struct ota_write_opts o = {
		.system = "car-1", .key_path = key, .cert_path = crt, .nimages = 1, .images = im
	};
	cr_expect_eq(ota_bundle_write(out, &o, NULL, &err), -1);
	cr_expect(strstr(err.msg, "does not match") != NULL, "%s", err.msg);
	o.nimages = 2; /* the same VM twice */
	pkit_path(key, sizeof key, pki, "update-signer.key");
	cr_expect_eq(ota_bundle_write(out, &o, NULL, &err), -1);
	cr_expect(strstr(err.msg, "twice") != NULL, "%s", err.msg);
	cr_expect_eq(access(out, F_OK), -1, "a refused bundle left a file");
	cr_expect_eq(pkit_count(tmp), 4, "stray temporary files");
}

Test(ota, versions_compare_numerically)
{
	cr_expect(ota_version_valid("1.0.0"));
	cr_expect(ota_version_valid("10"));
	cr_expect(!ota_version_valid("1..0"));
	cr_expect(!ota_version_valid("1.0.0.0.0"));
	cr_expect(!ota_version_valid("v1"));
	cr_expect(!ota_version_valid(""));
	cr_expect_lt(ota_version_cmp("1.9.0", "1.10.0"), 0);
	cr_expect_eq(ota_version_cmp("2.0", "2.0.0"), 0);
	cr_expect_gt(ota_version_cmp("3.0.0", "2.99.99"), 0);
}

Test(ota, the_time_floor_only_rises)
{
	char path[600];
	struct ota_err err;
	int64_t t;
	pkit_path(path, sizeof path, tmp, "floor");
	cr_assert_eq(ota_floor_load(path, &t, &err), 0);
	cr_expect_eq(t, 0);
	cr_assert_eq(ota_floor_raise(path, 2000, &err), 0, "%s", err.msg);
	cr_assert_eq(ota_floor_raise(path, 1000, &err), 0, "%s", err.msg);
	cr_assert_eq(ota_floor_load(path, &t, &err), 0);
	cr_expect_eq(t, 2000);
}

Test(ota, a_bad_trust_configuration_names_the_line)
{
	char conf[600];
	struct ota_err err;
	pkit_path(conf, sizeof conf, tmp, "trust.conf");
	FILE *f = fopen(conf, "w");
	fprintf(f, "ca pki/update-ca.crt\nrevoke-serial XYZ\n");
	fclose(f);
	cr_expect_null(ota_trust_load(conf, &err));
	cr_expect(strstr(err.msg, ":2:") != NULL, "%s", err.msg);
	f = fopen(conf, "w");
	fprintf(f, "ca pki/ca.crt\nsigner x\n");
	fclose(f);
	cr_expect_null(ota_trust_load(conf, &err));
	cr_expect(strstr(err.msg, "unknown key 'signer'") != NULL, "%s", err.msg);
}
