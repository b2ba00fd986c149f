/*
 * hvctl_ota.c - the offline OTA verbs as a user runs them: `hvctl pki init`
 * makes the update CA and signer, scripts/guest-image.sh makes a 2.0.0
 * rtos-demo image, `hvctl ota bundle` signs it, `hvctl ota info` verifies and
 * shows it (text and --json), refuses a changed bundle with the named error
 * and exit status 1, and bad input exits 2 and writes nothing
 * (docs/ota.md OTA-020..OTA-051, docs/hvctl.md).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];
static char out[65536], errs[65536];

static void setup(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/hvctl-ota-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	cr_expect_eq(system(cmd), 0);
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Runs a shell command line (printf-style) in TMP; stdout/stderr into
 * out/errs; returns the exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char line[2048], cmd[4096], o[128], e[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	snprintf(o, sizeof o, "%s/.out", tmp);
	snprintf(e, sizeof e, "%s/.err", tmp);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && HVCTL='%s/hvctl' BUILD='%s' GI='%s/scripts/guest-image.sh' "
		 "ASAN_OPTIONS=detect_leaks=1 bash -c '%s' >'%s' 2>'%s'",
		 tmp, HV_BIN_DIR, HV_BUILD_DIR, HV_SOURCE_DIR, line, o, e);
	int rc = system(cmd);
	slurp(o, out, sizeof out);
	slurp(e, errs, sizeof errs);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TestSuite(hvctl_ota, .init = setup, .fini = teardown, .timeout = 100);

static void make_bundle(void)
{
	cr_assert_eq(sh("rm -rf pki && $HVCTL pki init --dir pki"), 0, "%s", errs);
	cr_assert_eq(sh("bash $GI rtos-demo --version 2.0.0 -o rtos-2.0.0.bin"), 0, "%s", errs);
	cr_assert_eq(sh("$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			"-o rtos.hvota --system car-7 rtos-demo=rtos-2.0.0.bin@2.0.0"),
		     0, "%s", errs);
	cr_expect(strstr(out, "wrote rtos.hvota") != NULL, "%s", out);
}

Test(hvctl_ota, a_bundled_guest_image_verifies_and_shows_its_manifest)
{
	make_bundle();
	cr_assert_eq(sh("$HVCTL ota info --ca pki/update-ca.crt --system car-7 rtos.hvota"), 0,
		     "%s", errs);
	cr_expect(strstr(out, "Verified:       yes") != NULL, "%s", out);
	cr_expect(strstr(out, "Target system:  car-7") != NULL, "%s", out);
	cr_expect(strstr(out, "rtos-demo") && strstr(out, "2.0.0"), "%s", out);
	cr_expect(strstr(out, "CN=update-signer") != NULL, "%s", out);

	cr_assert_eq(sh("$HVCTL ota info --ca pki/update-ca.crt --json rtos.hvota"), 0, "%s", errs);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "not JSON: %s\n%s", je.text, out);
	json_t *img = json_array_get(json_object_get(j, "images"), 0);
	cr_expect(json_is_true(json_object_get(j, "verified")));
	cr_expect_str_eq(json_string_value(json_object_get(img, "vm")), "rtos-demo");
	cr_expect_str_eq(json_string_value(json_object_get(img, "version")), "2.0.0");
	cr_expect_str_eq(json_string_value(json_object_get(j, "system")), "car-7");
	json_decref(j);
}

Test(hvctl_ota, a_changed_or_foreign_bundle_is_refused_by_name)
{
	make_bundle();
	/* the last byte of the image */
	char path[128];
	snprintf(path, sizeof path, "%s/rtos.hvota", tmp);
	FILE *f = fopen(path, "r+b");
	cr_assert_not_null(f);
	fseek(f, -1, SEEK_END);
	int c = fgetc(f);
	fseek(f, -1, SEEK_END);
	fputc(c ^ 1, f);
	fclose(f);
	cr_expect_eq(sh("$HVCTL ota info --ca pki/update-ca.crt rtos.hvota"), 1);
	cr_expect(strstr(errs, "refused (payload-digest)") != NULL, "%s", errs);
	cr_expect_str_eq(out, "");
	/* the TLS CA is not the update CA */
	make_bundle();
	cr_expect_eq(sh("$HVCTL ota info --ca pki/ca.crt rtos.hvota"), 1);
	cr_expect(strstr(errs, "refused (untrusted-signer)") != NULL, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota info --ca pki/update-ca.crt --system car-8 rtos.hvota"), 1);
	cr_expect(strstr(errs, "refused (wrong-system)") != NULL, "%s", errs);
}

Test(hvctl_ota, a_rotated_signer_works_and_a_revoked_one_is_refused)
{
	make_bundle();
	cr_assert_eq(sh("$HVCTL pki issue --update-signer --dir pki signer-2"), 0, "%s", errs);
	cr_assert_eq(sh("printf \"ca pki/update-ca.crt\\nrevoke-serial %%s\\n\" "
			"$(openssl x509 -noout -serial -in pki/update-signer.crt | cut -d= -f2) "
			"> trust.conf"),
		     0, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota info --trust trust.conf rtos.hvota"), 1);
	cr_expect(strstr(errs, "refused (revoked-signer)") != NULL, "%s", errs);
	cr_assert_eq(sh("$HVCTL ota bundle --key pki/signer-2.key --cert pki/signer-2.crt "
			"-o new.hvota rtos-demo=rtos-2.0.0.bin@2.0.1"),
		     0, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota info --trust trust.conf new.hvota"), 0, "%s", errs);
}

Test(hvctl_ota, help_and_the_man_page_describe_the_verbs)
{
	cr_assert_eq(sh("$HVCTL help"), 0, "%s", errs);
	cr_expect(strstr(out, "\n  ota ") != NULL, "%s", out);
	cr_assert_eq(sh("$HVCTL help ota"), 0, "%s", errs);
	cr_expect(strstr(out, "--expires-days") && strstr(out, "--trust"), "%s", out);
	cr_assert_eq(sh("$HVCTL ota help"), 0, "%s", errs);
	cr_expect(strstr(out, "VM=IMAGE@VERSION") != NULL, "%s", out);
	cr_assert_eq(sh("$HVCTL --man | grep -c \"signs guest images into an update bundle\""), 0,
		     "%s", errs);
}

Test(hvctl_ota, bad_input_exits_2_and_writes_nothing)
{
	cr_assert_eq(sh("$HVCTL pki init --dir pki && head -c 4096 /dev/zero > img"), 0, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			"-o x.hvota rtos-demo=img@two"),
		     2);
	cr_expect(strstr(errs, "version 'two'") != NULL, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota bundle --key pki/update-signer.key -o x.hvota rtos-demo=img@1"),
		     2);
	cr_expect(strstr(errs, "--cert CERT is required") != NULL, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota bundle --key pki/update-signer.key --cert pki/update-signer.crt "
			"-o x.hvota rtos-demo:img"),
		     2);
	cr_expect(strstr(errs, "VM=IMAGE@VERSION") != NULL, "%s", errs);
	cr_expect_eq(sh("$HVCTL ota info"), 2);
	cr_expect_eq(sh("$HVCTL ota frobnicate"), 2);
	cr_expect_eq(sh("test -e x.hvota"), 1, "a refused bundle was written");
	/* the update PKI is refused twice, without --force */
	cr_expect_eq(sh("$HVCTL pki init-update --dir pki"), 1);
	cr_expect(strstr(errs, "already exists") != NULL, "%s", errs);
}
