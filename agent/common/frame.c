/*
 * frame.c - the local frame protocol's wire layout and its blocking client
 * (frame.h; docs/api.md "The local frame protocol").
 */
#define _GNU_SOURCE
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deadline.h"

const uint8_t frame_hello[FRAME_HELLO_LEN] = { 0, 'H', 'V', 'F', 'R', 'M', 0, FRAME_VERSION };

uint8_t *frame_request_encode(const char *path, uint32_t timeout_ms, const uint8_t *msg,
			      size_t msg_len, size_t *out_len, struct hv_status *st)
{
	size_t plen = strlen(path);

	if (plen == 0 || plen > FRAME_MAX_PATH) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "method path of %zu bytes (1-%d allowed)",
			      plen, FRAME_MAX_PATH);
		return NULL;
	}
	if (msg_len > FRAME_MAX_REQ_MSG) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED,
			      "request of %zu bytes is larger than the %d bytes hv-agent takes",
			      msg_len, FRAME_MAX_REQ_MSG);
		return NULL;
	}
	size_t body = FRAME_REQ_FIXED + plen + msg_len;
	uint8_t *b = malloc(FRAME_LEN_BYTES + body);
	if (!b) {
		hv_status_set(st, HV_INTERNAL, "out of memory encoding a request");
		return NULL;
	}
	frame_put32(b, (uint32_t)body);
	frame_put32(b + 4, timeout_ms);
	b[8] = (uint8_t)plen;
	memcpy(b + 9, path, plen);
	if (msg_len)
		memcpy(b + 9 + plen, msg, msg_len);
	*out_len = FRAME_LEN_BYTES + body;
	return b;
}

int frame_request_parse(const uint8_t *body, size_t len, uint32_t *timeout_ms, const char **path,
			size_t *path_len, const uint8_t **msg, size_t *msg_len, struct hv_status *st)
{
	if (len < FRAME_REQ_FIXED + 1)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "request frame of %zu bytes is too short for its header", len);
	size_t plen = body[4];
	if (plen == 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "request frame names no method");
	if (FRAME_REQ_FIXED + plen > len)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "request frame's method path (%zu bytes) runs past its end (%zu)",
				     plen, len);
	*timeout_ms = frame_get32(body);
	*path = (const char *)body + FRAME_REQ_FIXED;
	*path_len = plen;
	*msg = body + FRAME_REQ_FIXED + plen;
	*msg_len = len - FRAME_REQ_FIXED - plen;
	return 0;
}

uint8_t *frame_reply_encode(int code, const char *text, const uint8_t *msg, size_t msg_len,
			    size_t *out_len)
{
	size_t tlen = text ? strnlen(text, FRAME_MAX_TEXT) : 0;

	if (code != HV_OK)
		msg_len = 0;
	size_t body = FRAME_REPLY_FIXED + tlen + msg_len;
	uint8_t *b = malloc(FRAME_LEN_BYTES + body);
	if (!b)
		return NULL;
	frame_put32(b, (uint32_t)body);
	frame_put32(b + 4, (uint32_t)code);
	b[8] = (uint8_t)(tlen >> 8);
	b[9] = (uint8_t)tlen;
	if (tlen)
		memcpy(b + 10, text, tlen);
	if (msg_len)
		memcpy(b + 10 + tlen, msg, msg_len);
	*out_len = FRAME_LEN_BYTES + body;
	return b;
}

int frame_reply_parse(const uint8_t *body, size_t len, int *code, const char **text,
		      size_t *text_len, const uint8_t **msg, size_t *msg_len, struct hv_status *st)
{
	if (len < FRAME_REPLY_FIXED)
		return hv_status_set(st, HV_INTERNAL, "hv-agent's reply of %zu bytes is too short",
				     len);
	size_t tlen = (size_t)body[4] << 8 | body[5];
	if (tlen > FRAME_MAX_TEXT || FRAME_REPLY_FIXED + tlen > len)
		return hv_status_set(st, HV_INTERNAL,
				     "hv-agent's reply has a text of %zu bytes in %zu bytes", tlen,
				     len);
	*code = (int)frame_get32(body);
	*text = (const char *)body + FRAME_REPLY_FIXED;
	*text_len = tlen;
	*msg = body + FRAME_REPLY_FIXED + tlen;
	*msg_len = len - FRAME_REPLY_FIXED - tlen;
	return 0;
}

/* ---- client side -------------------------------------------------------- */

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads n bytes by deadline_ns (0: no deadline). 0 when read; -1 on EOF or
 * error (errno 0 for EOF); -2 when the deadline passed. */
static int recv_all(int fd, uint8_t *p, size_t n, uint64_t deadline_ns)
{
	while (n) {
		int wait = -1;
		if (deadline_ns) {
			uint64_t now = hv_mono_ns();
			if (now >= deadline_ns)
				return -2;
			wait = (int)((deadline_ns - now + 999999) / 1000000);
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, wait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			continue; /* the deadline check above ends it */
		ssize_t got = recv(fd, p, n, 0);
		if (got == 0) {
			errno = 0;
			return -1;
		}
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int frame_connect(const char *path, unsigned timeout_ms, int *fd_out, struct hv_status *st)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof sa.sun_path)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "socket path %s is longer than %zu bytes", path,
				     sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hv_status_set(st, HV_UNAVAILABLE, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE, "cannot connect to hv-agent at %s: %s",
				     path, strerror(e));
	}
	uint8_t hello[FRAME_HELLO_LEN];
	if (send_all(fd, frame_hello, sizeof frame_hello) != 0) {
		int e = errno;
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE, "hv-agent at %s: %s", path, strerror(e));
	}
	int r = recv_all(fd, hello, sizeof hello,
			 timeout_ms ? hv_mono_ns() + (uint64_t)timeout_ms * 1000000u : 0);
	if (r == -1 && errno == 0) {
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE,
				     "hv-agent at %s closed the connection at its start", path);
	}
	if (r != 0 || memcmp(hello, frame_hello, 6) != 0) {
		/* Not a frame server: an HTTP/2 server sends its SETTINGS
		 * first; one that waits for a preface sends nothing. */
		close(fd);
		return 1;
	}
	if (hello[6] != 0 || hello[7] != FRAME_VERSION) {
		close(fd);
		return 1;
	}
	*fd_out = fd;
	return 0;
}

int frame_call(int fd, const char *path, const uint8_t *req, size_t req_len, unsigned timeout_ms,
	       uint8_t **resp, size_t *resp_len, int *broken, struct hv_status *st)
{
	size_t n;
	uint8_t *out = frame_request_encode(path, timeout_ms, req, req_len, &n, st);

	*resp = NULL;
	*resp_len = 0;
	if (!out)
		return -1;
	uint64_t deadline =
		timeout_ms ? hv_mono_ns() + ((uint64_t)timeout_ms + FRAME_REPLY_GRACE_MS) * 1000000u
			   : 0;
	int r = send_all(fd, out, n);
	free(out);
	if (r != 0) {
		*broken = 1;
		return hv_status_set(st, HV_UNAVAILABLE, "%s: hv-agent's connection: %s", path,
				     strerror(errno));
	}
	uint8_t hdr[FRAME_LEN_BYTES];
	r = recv_all(fd, hdr, sizeof hdr, deadline);
	if (r == 0) {
		uint32_t len = frame_get32(hdr);
		if (len > FRAME_MAX_REPLY_BODY) {
			*broken = 1;
			return hv_status_set(st, HV_INTERNAL,
					     "%s: hv-agent's reply claims %u bytes (at most %d)",
					     path, len, FRAME_MAX_REPLY_BODY);
		}
		uint8_t *body = malloc(len ? len : 1);
		if (!body) {
			*broken = 1;
			return hv_status_set(st, HV_INTERNAL, "out of memory for a reply");
		}
		r = recv_all(fd, body, len, deadline);
		if (r == 0) {
			int code = 0;
			const char *text = NULL;
			const uint8_t *msg = NULL;
			size_t tlen = 0, mlen = 0;
			if (frame_reply_parse(body, len, &code, &text, &tlen, &msg, &mlen, st) != 0) {
				free(body);
				*broken = 1;
				hv_status_prefix(st, "%s: ", path);
				return -1;
			}
			if (code != HV_OK) {
				hv_status_set(st, (enum hv_code)code, "%.*s", (int)tlen, text);
				free(body);
				return -1;
			}
			/* The message moves to the front; the caller frees body. */
			memmove(body, msg, mlen);
			*resp = body;
			*resp_len = mlen;
			hv_status_ok(st);
			return 0;
		}
		free(body);
	}
	*broken = 1;
	if (r == -2)
		return hv_status_set(st, HV_DEADLINE_EXCEEDED,
				     "%s: no reply from hv-agent within %u ms", path,
				     timeout_ms + FRAME_REPLY_GRACE_MS);
	if (errno == 0)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "%s: hv-agent closed the connection before replying", path);
	return hv_status_set(st, HV_UNAVAILABLE, "%s: hv-agent's connection: %s", path,
			     strerror(errno));
}
