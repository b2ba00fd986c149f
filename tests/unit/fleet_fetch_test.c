/*
 * fleet_fetch_test.c - the download of an update bundle over HTTPS
 * (agent/fleet/fleet_fetch.c) against a local HTTPS server with range
 * requests (fleet_fetch_server.py) that drops the connection part way: the
 * download resumes where it stopped, starts over when the server ignores
 * ranges, and refuses a wrong digest, a plain http:// URL, a server
 * certificate of another CA and a missing file, each naming what is wrong.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "fleet_fetch.h"
#include "pki.h"
#include "pki_testutil.h"

#define SIZE (256u * 1024u)

static char *dir;
static char ca[512], crt[512], key[512], file[512], log_path[512], dest[512], part[520];
static char url[128];
static uint8_t *data, digest[32];
static pid_t server;

static void setup(void)
{
	struct pki_err err;
	dir = pkit_mkdtemp();
	cr_assert_eq(pki_fleet_init(dir, "fetch-car", NULL, &err), 0, "%s", err.msg);
	pkit_path(ca, sizeof ca, dir, "fleet-ca.crt");
	pkit_path(crt, sizeof crt, dir, "broker.crt");
	pkit_path(key, sizeof key, dir, "broker.key");
	pkit_path(file, sizeof file, dir, "served.bin");
	pkit_path(log_path, sizeof log_path, dir, "requests.log");
	pkit_path(dest, sizeof dest, dir, "bundle.hvb");
	snprintf(part, sizeof part, "%s.part", dest);
	data = malloc(SIZE);
	cr_assert_not_null(data);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	FILE *f = fopen(file, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, SIZE, f), SIZE);
	fclose(f);
	mbedtls_sha256_ret(data, SIZE, digest, 0);
	server = 0;
}

static void teardown(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	free(data);
	pkit_rmtree(dir);
}

TestSuite(fleet_fetch, .init = setup, .fini = teardown, .timeout = 120);

/* Starts the server with extra options (NULL-ended); url gets its /bundle. */
static void serve(const char *const *extra)
{
	const char *argv[16] = { HV_PYTHON3, HV_FETCH_SERVER, crt, key, file, log_path };
	size_t n = 6;
	int p[2];

	for (size_t i = 0; extra[i] && n < 15; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	cr_assert_eq(pipe(p), 0);
	pid_t parent = getpid();
	server = fork();
	cr_assert_geq(server, 0);
	if (server == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	int port = 0;
	cr_assert_eq(fscanf(f, "%d", &port), 1, "the HTTPS server did not start");
	fclose(f);
	snprintf(url, sizeof url, "https://127.0.0.1:%d/bundle", port);
}

static struct fleet_fetch_opts opts(void)
{
	return (struct fleet_fetch_opts){ .url = url,
					  .dest = dest,
					  .ca_file = ca,
					  .sha256 = digest,
					  .attempts = 4,
					  .backoff_ms = 10,
					  .stall_s = 20 };
}

static void expect_dest_is_the_file(void)
{
	char *got = NULL;
	FILE *f = fopen(dest, "rb");
	cr_assert_not_null(f, "%s missing", dest);
	got = malloc(SIZE + 1);
	size_t n = fread(got, 1, SIZE + 1, f);
	fclose(f);
	cr_assert_eq(n, SIZE);
	cr_assert_eq(memcmp(got, data, SIZE), 0);
	free(got);
	cr_assert_neq(access(part, F_OK), 0, "%s left behind", part);
}

Test(fleet_fetch, a_dropped_link_is_resumed_with_a_range_request)
{
	struct fleet_fetch_result r;
	struct hv_status st;

	serve((const char *const[]){ "--drop-after", "100000", NULL });
	struct fleet_fetch_opts o = opts();
	cr_assert_eq(fleet_fetch(&o, &r, &st), 0, "%s", st.msg);
	cr_assert_eq(r.attempts, 2);
	cr_assert_eq(r.resumed, 1);
	cr_assert_eq(r.bytes, SIZE);
	expect_dest_is_the_file();
	char *log = pkit_slurp(log_path);
	cr_assert_not_null(strstr(log, "- 200\nbytes=100000- 206\n"), "%s", log);
	free(log);

	/* Asked again: the file is there with its digest, nothing is fetched. */
	cr_assert_eq(fleet_fetch(&o, &r, &st), 0, "%s", st.msg);
	cr_assert_eq(r.attempts, 0);
}

Test(fleet_fetch, the_part_of_an_earlier_run_is_resumed)
{
	struct fleet_fetch_result r;
	struct hv_status st;

	FILE *f = fopen(part, "wb");
	cr_assert_not_null(f);
	fwrite(data, 1, 50000, f);
	fclose(f);
	serve((const char *const[]){ NULL });
	struct fleet_fetch_opts o = opts();
	cr_assert_eq(fleet_fetch(&o, &r, &st), 0, "%s", st.msg);
	cr_assert_eq(r.resumed_from, 50000);
	cr_assert_eq(r.attempts, 1);
	cr_assert_eq(r.resumed, 1);
	expect_dest_is_the_file();
}

Test(fleet_fetch, a_server_without_ranges_sends_the_whole_file_again)
{
	struct fleet_fetch_result r;
	struct hv_status st;

	serve((const char *const[]){ "--no-ranges", "--drop-after", "100000", NULL });
	struct fleet_fetch_opts o = opts();
	cr_assert_eq(fleet_fetch(&o, &r, &st), 0, "%s", st.msg);
	cr_assert_eq(r.attempts, 2);
	cr_assert_eq(r.resumed, 0);
	expect_dest_is_the_file();
}

Test(fleet_fetch, every_attempt_failing_keeps_the_part_for_the_next_try)
{
	struct fleet_fetch_result r;
	struct hv_status st;

	serve((const char *const[]){ "--drop-after", "1000", "--drops", "100", NULL });
	struct fleet_fetch_opts o = opts();
	o.attempts = 2;
	cr_assert_eq(fleet_fetch(&o, &r, &st), -1);
	cr_assert_eq(st.code, HV_UNAVAILABLE, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "2 attempts failed"), "%s", st.msg);
	struct stat sb;
	cr_assert_eq(stat(part, &sb), 0);
	cr_assert_eq(sb.st_size, 2000);
	cr_assert_neq(access(dest, F_OK), 0);
}

Test(fleet_fetch, a_wrong_digest_discards_the_download)
{
	struct fleet_fetch_result r;
	struct hv_status st;
	uint8_t zero[32] = { 0 };

	serve((const char *const[]){ NULL });
	struct fleet_fetch_opts o = opts();
	o.sha256 = zero;
	cr_assert_eq(fleet_fetch(&o, &r, &st), -1);
	cr_assert_eq(st.code, HV_DATA_LOSS, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "expected 0000"), "%s", st.msg);
	cr_assert_neq(access(dest, F_OK), 0);
	cr_assert_neq(access(part, F_OK), 0);
}

Test(fleet_fetch, refusals_name_what_is_wrong)
{
	struct fleet_fetch_result r;
	struct hv_status st;
	struct pki_err err;
	char other[600], other_ca[700];

	/* Plain HTTP: refused before anything is created. */
	snprintf(url, sizeof url, "http://127.0.0.1:1/bundle");
	struct fleet_fetch_opts o = opts();
	cr_assert_eq(fleet_fetch(&o, &r, &st), -1);
	cr_assert_eq(st.code, HV_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(st.msg, "'http://127.0.0.1:1/bundle' is not an https:// URL"),
			   "%s", st.msg);
	cr_assert_neq(access(part, F_OK), 0);

	/* A server certificate of another CA: refused at once, not retried. */
	serve((const char *const[]){ NULL });
	snprintf(other, sizeof other, "%s/other", dir);
	cr_assert_eq(pki_fleet_init(other, "fetch-car", NULL, &err), 0, "%s", err.msg);
	snprintf(other_ca, sizeof other_ca, "%s/fleet-ca.crt", other);
	o = opts();
	o.ca_file = other_ca;
	cr_assert_eq(fleet_fetch(&o, &r, &st), -1);
	cr_assert_eq(st.code, HV_UNAUTHENTICATED, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "the server's certificate is refused"), "%s", st.msg);
	cr_assert_eq(r.attempts, 1);

	/* A file the server does not have. */
	char missing[160];
	snprintf(missing, sizeof missing, "%.*s/nothing", (int)(strrchr(url, '/') - url), url);
	o = opts();
	o.url = missing;
	cr_assert_eq(fleet_fetch(&o, &r, &st), -1);
	cr_assert_eq(st.code, HV_NOT_FOUND, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "answered 404"), "%s", st.msg);

	/* Larger than allowed. */
	o = opts();
	o.max_bytes = 1000;
	cr_assert_eq(fleet_fetch(&o, &r, &st), -1);
	cr_assert_eq(st.code, HV_OUT_OF_RANGE, "%s", st.msg);
}
