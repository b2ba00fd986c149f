/*
 * ota_bench.c - hv-ota-bench: OTA bundle verification throughput beside
 * `sha256sum` and `openssl dgst -sha256` on the same file, in one run
 * (docs/performance.md "OTA bundle verification").
 *
 *   hv-ota-bench [--size MIB] [--runs N] [--dir DIR]
 *
 * Makes a development PKI and an image of MIB MiB (default 256) of
 * pseudo-random bytes in a fresh directory under DIR (default $TMPDIR or
 * /tmp), bundles it, reads everything once so all rounds start from the page
 * cache, then runs N rounds (default 5) of, in turn: the whole verification
 * of the bundle (ota_bundle_verify: signature, chain, every image byte
 * hashed), sha256sum of the image, openssl dgst -sha256 of the image, and
 * for reference the bare SHA-256 of the image with mbedTLS and with OpenSSL's
 * libcrypto in this process. Prints the median MB/s of each as a Markdown
 * table. Removes its directory on every exit path. Asserts no timing: it
 * fails only when something does not work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "ota.h"
#include "pki.h"

#define MAX_RUNS 50

static char dir[512];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "hv-ota-bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* xorshift bytes: incompressible enough, reproducible. */
static void make_image(const char *path, unsigned mib)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		die("cannot create %s", path);
	static uint64_t buf[1 << 17]; /* 1 MiB */
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (unsigned m = 0; m < mib; m++) {
		for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (fwrite(buf, sizeof buf, 1, f) != 1)
			die("cannot write %s", path);
	}
	if (fclose(f) != 0)
		die("cannot write %s", path);
}

/* Runs ARGV (stdout to /dev/null); returns the seconds taken. */
static double run_tool(char *const argv[])
{
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (is it installed?)", argv[0]);
	return now_s() - t0;
}

struct ctx {
	const char *bundle, *image;
	struct ota_trust *trust;
};

static double run_verify(struct ctx *c)
{
	struct ota_verify_opts o = { .trust = c->trust, .system = "bench", .max_bytes = 1ull << 40 };
	struct ota_err err;
	double t0 = now_s();
	if (ota_bundle_verify(c->bundle, &o, NULL, NULL, &err) < 0)
		die("verification failed: %s", err.msg);
	return now_s() - t0;
}

/* The bare hash of the image in this process, 256 KiB reads. */
static double run_hash(struct ctx *c, int use_mbedtls)
{
	static unsigned char buf[256 * 1024];
	unsigned char out[32];
	double t0 = now_s();
	int fd = open(c->image, O_RDONLY);
	if (fd < 0)
		die("cannot open %s", c->image);
	mbedtls_sha256_context m;
	struct ota_sha256 *h = ota_sha256_new();
	mbedtls_sha256_init(&m);
	mbedtls_sha256_starts_ret(&m, 0);
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (use_mbedtls)
			mbedtls_sha256_update_ret(&m, buf, (size_t)n);
		else
			ota_sha256_update(h, buf, (size_t)n);
	}
	mbedtls_sha256_finish_ret(&m, out);
	ota_sha256_final(h, out);
	mbedtls_sha256_free(&m);
	ota_sha256_free(h);
	close(fd);
	return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned mib = 256, runs = 5;
	const char *base = getenv("TMPDIR");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			mib = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else {
			fprintf(stderr, "usage: hv-ota-bench [--size MIB] [--runs N] [--dir DIR]\n");
			return 2;
		}
	}
	if (mib == 0 || mib > 65536 || runs == 0 || runs > MAX_RUNS) {
		fprintf(stderr, "hv-ota-bench: --size is 1..65536 MiB, --runs 1..%d\n", MAX_RUNS);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s/hv-ota-bench-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		die("cannot create a directory: %s", strerror(errno));
	}
	atexit(cleanup);

	char pki[600], image[600], bundle[600], key[700], crt[700], ca[700];
	snprintf(pki, sizeof pki, "%s/pki", dir);
	snprintf(image, sizeof image, "%s/image.bin", dir);
	snprintf(bundle, sizeof bundle, "%s/image.hvota", dir);
	snprintf(key, sizeof key, "%s/update-signer.key", pki);
	snprintf(crt, sizeof crt, "%s/update-signer.crt", pki);
	snprintf(ca, sizeof ca, "%s/update-ca.crt", pki);
	struct pki_err perr;
	if (pki_init(pki, NULL, &perr) < 0)
		die("%s", perr.msg);
	make_image(image, mib);
	struct ota_write_image im = { "bench-vm", image, "1.0.0" };
	struct ota_write_opts wo = {
		.system = "bench", .key_path = key, .cert_path = crt, .nimages = 1, .images = &im
	};
	struct ota_err err;
	if (ota_bundle_write(bundle, &wo, NULL, &err) < 0)
		die("%s", err.msg);
	struct ctx c = { bundle, image, ota_trust_from_ca(ca, &err) };
	if (c.trust == NULL)
		die("%s", err.msg);

	static const char *const names[] = {
		"hv OTA verification (whole bundle)",
		"sha256sum (GNU coreutils)",
		"openssl dgst -sha256",
		"SHA-256, OpenSSL libcrypto (in process)",
		"SHA-256, mbedTLS 2.28 (in process)",
	};
	enum {
		N = 5
	};
	double t[N][MAX_RUNS];
	char *sha256sum[] = { "sha256sum", image, NULL };
	char *openssl[] = { "openssl", "dgst", "-sha256", image, NULL };
	run_verify(&c); /* warm the page cache with both files */
	run_hash(&c, 0);
	for (unsigned r = 0; r < runs; r++) {
		t[0][r] = run_verify(&c);
		t[1][r] = run_tool(sha256sum);
		t[2][r] = run_tool(openssl);
		t[3][r] = run_hash(&c, 0);
		t[4][r] = run_hash(&c, 1);
	}
	ota_trust_free(c.trust);

	double mb = (double)mib * 1048576.0 / 1e6;
	printf("| what (%u MiB image, page cache warm, median of %u) | MB/s | vs sha256sum |\n",
	       mib, runs);
	printf("|---|---:|---:|\n");
	double med[N];
	for (int i = 0; i < N; i++) {
		qsort(t[i], runs, sizeof t[i][0], cmp_double);
		med[i] = t[i][runs / 2];
	}
	for (int i = 0; i < N; i++)
		printf("| %s | %.0f | %.2fx |\n", names[i], mb / med[i], med[1] / med[i]);
	return 0;
}
