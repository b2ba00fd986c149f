/*
 * fleet_fetch.c - the download of an update bundle over HTTPS with libcurl:
 * range requests to resume, a doubling wait between attempts, the digest
 * checked before the file is moved into place (fleet_fetch.h).
 */
#define _GNU_SOURCE
#include "fleet_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/sha256.h>

#include "lazylib.h"

#define DEFAULT_MAX (4ull << 30)
#define DEFAULT_ATTEMPTS 8u
#define DEFAULT_BACKOFF_MS 500u
#define DEFAULT_STALL_S 30u
#define BACKOFF_MAX_MS 60000u

/* libcurl, loaded on the first download (lazylib.h). */
#define CU_FNS(X)                                                                                  \
	X(easy_cleanup)                                                                            \
	X(easy_getinfo)                                                                            \
	X(easy_init)                                                                               \
	X(easy_perform)                                                                            \
	X(easy_setopt)                                                                             \
	X(easy_strerror)                                                                           \
	X(global_init)
static struct {
#define CU_PTR(n) __typeof__(curl_##n) *n;
	CU_FNS(CU_PTR)
} cu;
#define CU_NAME(n) "curl_" #n,
static const char *const cu_names[] = { CU_FNS(CU_NAME) };
static struct lazylib cu_lib = LAZYLIB_INIT("libcurl.so.4", cu_names, &cu);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = cu.global_init(CURL_GLOBAL_DEFAULT);
}

/* One attempt's state, shared with libcurl's callbacks. */
struct xfer {
	CURL *c;
	int fd;
	uint64_t have; /* bytes in the part file */
	uint64_t max;
	bool first;   /* no byte of this attempt written yet */
	bool partial; /* the server answered 206: the rest */
	bool too_big, write_failed;
	int write_errno;
	const int *stop;
};

static bool stopped(const int *stop)
{
	return stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE) != 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->first) {
		long code = 0;
		cu.easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
		x->first = false;
		x->partial = code == 206;
		if (!x->partial) {
			/* The whole file (the server ignored the range): start over. */
			if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0) {
				x->write_failed = true;
				x->write_errno = errno;
				return 0;
			}
			x->have = 0;
		}
	}
	if (x->have + len > x->max) {
		x->too_big = true;
		return 0;
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = write(x->fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = true;
			x->write_errno = w < 0 ? errno : ENOSPC;
			return 0;
		}
		done += (size_t)w;
	}
	x->have += len;
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return stopped(x->stop) ? 1 : 0;
}

enum outcome {
	DONE,
	RETRY,
	FAIL
};

/* One attempt from x->have on; FAIL sets st. */
static enum outcome attempt(const struct fleet_fetch_opts *o, unsigned stall_s, struct xfer *x,
			    char *why, size_t why_len, struct hv_status *st)
{
	char range[48], errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;

	x->c = cu.easy_init();
	if (!x->c) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return FAIL;
	}
	x->first = true;
	x->partial = false;
	cu.easy_setopt(x->c, CURLOPT_URL, o->url);
	cu.easy_setopt(x->c, CURLOPT_PROTOCOLS_STR, "https");
	cu.easy_setopt(x->c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	cu.easy_setopt(x->c, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(x->c, CURLOPT_MAXREDIRS, 5L);
	cu.easy_setopt(x->c, CURLOPT_FAILONERROR, 1L);
	cu.easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(x->c, CURLOPT_ERRORBUFFER, errbuf);
	cu.easy_setopt(x->c, CURLOPT_SSL_VERIFYPEER, 1L);
	cu.easy_setopt(x->c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		cu.easy_setopt(x->c, CURLOPT_CAINFO, o->ca_file);
	cu.easy_setopt(x->c, CURLOPT_CONNECTTIMEOUT, (long)stall_s);
	cu.easy_setopt(x->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cu.easy_setopt(x->c, CURLOPT_LOW_SPEED_TIME, (long)stall_s);
	cu.easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_data);
	cu.easy_setopt(x->c, CURLOPT_WRITEDATA, x);
	cu.easy_setopt(x->c, CURLOPT_NOPROGRESS, 0L);
	cu.easy_setopt(x->c, CURLOPT_XFERINFOFUNCTION, on_progress);
	cu.easy_setopt(x->c, CURLOPT_XFERINFODATA, x);
	cu.easy_setopt(x->c, CURLOPT_USERAGENT, "hv-agent");
	if (x->have > 0) {
		snprintf(range, sizeof range, "%" PRIu64 "-", x->have);
		cu.easy_setopt(x->c, CURLOPT_RANGE, range);
	}
	CURLcode rc = cu.easy_perform(x->c);
	cu.easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
	cu.easy_cleanup(x->c);
	x->c = NULL;

	if (rc == CURLE_OK)
		return DONE;
	snprintf(why, why_len, "%s", errbuf[0] ? errbuf : cu.easy_strerror(rc));
	if (x->too_big) {
		hv_status_set(st, HV_OUT_OF_RANGE, "%s: larger than %" PRIu64 " bytes", o->url,
			      x->max);
		return FAIL;
	}
	if (x->write_failed) {
		hv_status_set(st, HV_UNAVAILABLE, "%s.part: cannot write: %s", o->dest,
			      strerror(x->write_errno));
		return FAIL;
	}
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		hv_status_set(st, HV_ABORTED, "download of %s stopped", o->url);
		return FAIL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		hv_status_set(st, HV_UNAUTHENTICATED, "%s: the server's certificate is refused: %s",
			      o->url, why);
		return FAIL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: %s", o->url, why);
		return FAIL;
	case CURLE_HTTP_RETURNED_ERROR:
		if (code == 416) {
			/* The part does not fit the file any more: start over. */
			if (ftruncate(x->fd, 0) == 0 && lseek(x->fd, 0, SEEK_SET) == 0)
				x->have = 0;
			return RETRY;
		}
		if (code == 408 || code == 429 || code >= 500)
			return RETRY;
		hv_status_set(st, code == 404 || code == 410 ? HV_NOT_FOUND : HV_FAILED_PRECONDITION,
			      "%s: the server answered %ld", o->url, code);
		return FAIL;
	default:
		return RETRY; /* the link dropped, stalled or could not connect */
	}
}

static void nap(unsigned ms, const int *stop)
{
	while (ms > 0 && !stopped(stop)) {
		unsigned step = ms < 50 ? ms : 50;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* SHA-256 of a file; 0 on success. */
static int file_sha256(const char *path, uint8_t out[32])
{
	mbedtls_sha256_context c;
	uint8_t buf[65536];
	FILE *f = fopen(path, "rbe");
	size_t n;

	if (!f)
		return -1;
	mbedtls_sha256_init(&c);
	int rc = mbedtls_sha256_starts_ret(&c, 0);
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
		rc = mbedtls_sha256_update_ret(&c, buf, n);
	if (rc == 0 && ferror(f))
		rc = -1;
	if (rc == 0)
		rc = mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
	fclose(f);
	return rc;
}

static void hex(const uint8_t *d, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The finished part: digest checked, then moved to DEST. */
static int finish(const struct fleet_fetch_opts *o, const char *part, uint64_t have,
		  struct fleet_fetch_result *r, struct hv_status *st)
{
	uint8_t got[32];
	char a[65], b[65];

	if (o->sha256) {
		if (file_sha256(part, got) != 0)
			return hv_status_set(st, HV_UNAVAILABLE, "%s: cannot read back: %s", part,
					     strerror(errno));
		if (memcmp(got, o->sha256, 32) != 0) {
			hex(got, a);
			hex(o->sha256, b);
			unlink(part);
			return hv_status_set(st, HV_DATA_LOSS,
					     "%s: SHA-256 %s, expected %s: download discarded",
					     o->url, a, b);
		}
	}
	if (rename(part, o->dest) != 0)
		return hv_status_set(st, HV_UNAVAILABLE, "%s: cannot move into place: %s", o->dest,
				     strerror(errno));
	r->bytes = have;
	return 0;
}

int fleet_fetch(const struct fleet_fetch_opts *o, struct fleet_fetch_result *r, struct hv_status *st)
{
	char part[4096], why[CURL_ERROR_SIZE + 64] = "";
	struct stat sb;
	uint8_t got[32];

	memset(r, 0, sizeof *r);
	if (!o->url || strncmp(o->url, "https://", 8) != 0 || !o->url[8])
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "'%.200s' is not an https:// URL: bundles are fetched over "
				     "HTTPS only",
				     o->url ? o->url : "");
	if (!o->dest || !o->dest[0] ||
	    (size_t)snprintf(part, sizeof part, "%s.part", o->dest) >= sizeof part)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "download file name missing or too long");
	unsigned attempts = o->attempts ? o->attempts : DEFAULT_ATTEMPTS;
	unsigned wait_ms = o->backoff_ms ? o->backoff_ms : DEFAULT_BACKOFF_MS;
	unsigned stall_s = o->stall_s ? o->stall_s : DEFAULT_STALL_S;

	/* Fetched before, whole. */
	if (o->sha256 && stat(o->dest, &sb) == 0 && file_sha256(o->dest, got) == 0 &&
	    memcmp(got, o->sha256, 32) == 0) {
		r->bytes = (uint64_t)sb.st_size;
		return 0;
	}
	if (lazylib_load(&cu_lib, st) != 0)
		return -1;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return hv_status_set(st, HV_INTERNAL, "libcurl: %s", cu.easy_strerror(curl_init_rc));

	struct xfer x = { .max = o->max_bytes ? o->max_bytes : DEFAULT_MAX, .stop = o->stop };
	x.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (x.fd < 0)
		return hv_status_set(st, HV_UNAVAILABLE, "%s: %s", part, strerror(errno));
	if (fstat(x.fd, &sb) != 0) {
		close(x.fd);
		return hv_status_set(st, HV_UNAVAILABLE, "%s: %s", part, strerror(errno));
	}
	x.have = (uint64_t)sb.st_size;
	r->resumed_from = x.have;

	int rc = -1;
	for (unsigned i = 0; i < attempts; i++) {
		if (i > 0) {
			nap(wait_ms, o->stop);
			wait_ms = wait_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait_ms * 2;
		}
		if (stopped(o->stop)) {
			hv_status_set(st, HV_ABORTED, "download of %s stopped", o->url);
			break;
		}
		r->attempts++;
		enum outcome out = attempt(o, stall_s, &x, why, sizeof why, st);
		if (x.partial)
			r->resumed++;
		if (out == FAIL)
			break;
		if (out == DONE) {
			if (fsync(x.fd) != 0) {
				hv_status_set(st, HV_UNAVAILABLE, "%s: %s", part, strerror(errno));
				break;
			}
			rc = finish(o, part, x.have, r, st);
			break;
		}
		if (i + 1 == attempts)
			hv_status_set(st, HV_UNAVAILABLE,
				      "%s: %u attempts failed (last: %s); %" PRIu64
				      " bytes kept in %s for the next try",
				      o->url, attempts, why, x.have, part);
	}
	close(x.fd);
	return rc;
}
