/* Helpers shared by the PKI tests: temporary directories, file checks. */
#define _XOPEN_SOURCE 700
#include "pki_testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *pkit_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/hvpki-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	cr_assert_not_null(d, "mkdtemp failed");
	return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void pkit_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

int pkit_count(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

void pkit_path(char *buf, size_t len, const char *dir, const char *name)
{
	cr_assert_lt((size_t)snprintf(buf, len, "%s/%s", dir, name), len);
}

void pkit_load_crt(mbedtls_x509_crt *crt, const char *dir, const char *name)
{
	char path[1024];
	pkit_path(path, sizeof path, dir, name);
	mbedtls_x509_crt_init(crt);
	int rc = mbedtls_x509_crt_parse_file(crt, path);
	cr_assert_eq(rc, 0, "cannot parse %s: -0x%04x", path, (unsigned)-rc);
}

char *pkit_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 65537);
	size_t n = buf ? fread(buf, 1, 65536, f) : 0;
	(void)n;
	fclose(f);
	return buf;
}
