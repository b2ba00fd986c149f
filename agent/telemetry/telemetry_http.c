/*
 * telemetry_http.c - GET /metrics over HTTP with Debian's libmicrohttpd
 * (docs/telemetry.md). One internal thread serves every connection; a scrape
 * renders the registry from memory and nothing else.
 */
#define _GNU_SOURCE
#include "telemetry.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct telemetry_http {
	struct telemetry *t;
	struct MHD_Daemon *d;
	uint64_t scrapes; /* atomic */
};

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct telemetry_http *h = cls;
	size_t len;
	char *body;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "only GET and HEAD are served here\n");
	if (strcmp(url, "/") == 0)
		return answer_text(conn, MHD_HTTP_OK, "hv-agent: metrics at /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return answer_text(conn, MHD_HTTP_NOT_FOUND,
				   "not found: hv-agent serves /metrics only\n");
	body = telemetry_render(h->t, &len);
	if (!body)
		return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", CONTENT_TYPE);
	__atomic_add_fetch(&h->scrapes, 1, __ATOMIC_RELAXED);
	enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* "127.0.0.1:9477", "[::1]:9477", "localhost:9477" -> a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, struct hv_status *st)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res = NULL;
	const char *colon = strrchr(addr, ':');

	if (!colon || colon == addr || !colon[1])
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "metrics address '%s' is not HOST:PORT", addr);
	port = colon + 1;
	size_t hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "metrics address '%s' is too long",
				     addr);
	memcpy(host, addr, hl);
	host[hl] = '\0';
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return hv_status_set(st, HV_INVALID_ARGUMENT,
					     "metrics address: port '%s' is not a number", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "metrics address: cannot resolve host '%s'", host);
	memset(ss, 0, sizeof *ss);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int telemetry_http_start(struct telemetry *t, const char *addr, struct telemetry_http **out,
			 struct hv_status *st)
{
	struct sockaddr_storage ss;
	struct telemetry_http *h;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (parse_addr(addr, &ss, st) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof *h);
	if (!h)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	h->t = t;
	/* The port argument is ignored when a socket address is given. */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!h->d) {
		free(h);
		return hv_status_set(st, HV_UNAVAILABLE,
				     "cannot serve metrics on %s (address in use or not local?)",
				     addr);
	}
	*out = h;
	return 0;
}

void telemetry_http_stop(struct telemetry_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

uint64_t telemetry_http_scrapes(struct telemetry_http *h)
{
	return h ? __atomic_load_n(&h->scrapes, __ATOMIC_RELAXED) : 0;
}
