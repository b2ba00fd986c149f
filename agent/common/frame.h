/*
 * frame.h - hv-agent's local frame protocol (docs/api.md "The local frame
 * protocol", FRAME-001..): on hv-agent's unix sockets, a unary call of the
 * hvmgr.v1 API can be made as one length-prefixed request and one reply,
 * carrying the same method path and the same protobuf messages as gRPC,
 * without HTTP/2. The wire layout lives here, shared by the server
 * (agent/rpc/rpc_frame.c) and its clients (hvctl, the benchmarks).
 *
 * A connection opens with an 8-byte hello each way (FRAME-002). Then:
 *
 *   request  u32 length L | u32 timeout_ms | u8 P | P bytes path | message
 *   reply    u32 length L | u32 code | u16 M | M bytes text | message
 *
 * all integers big-endian, L counting the bytes after the length field.
 */
#ifndef HV_FRAME_H
#define HV_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define FRAME_HELLO_LEN 8
/* "\0HVFRM" and the version, u16 big-endian. The first byte is 0, which no
 * gRPC connection starts with (HTTP/2's preface starts with 'P'). */
extern const uint8_t frame_hello[FRAME_HELLO_LEN];
#define FRAME_VERSION 1

#define FRAME_LEN_BYTES 4
#define FRAME_REQ_FIXED 5   /* timeout_ms, path length                  */
#define FRAME_REPLY_FIXED 6 /* code, text length                        */
#define FRAME_MAX_PATH 255
#define FRAME_MAX_TEXT 1024
/* The largest request message: the gRPC listener's (RPC_MAX_RECV_BYTES). */
#define FRAME_MAX_REQ_MSG (1024 * 1024 + 16 * 1024)
#define FRAME_MAX_REQ_BODY (FRAME_REQ_FIXED + FRAME_MAX_PATH + FRAME_MAX_REQ_MSG)
/* The largest reply message: the gRPC listener's (RPC_MAX_SEND_BYTES). */
#define FRAME_MAX_REPLY_MSG (4 * 1024 * 1024)
#define FRAME_MAX_REPLY_BODY (FRAME_REPLY_FIXED + FRAME_MAX_TEXT + FRAME_MAX_REPLY_MSG)

static inline uint32_t frame_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void frame_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A whole request frame (length field included) in a malloc'd buffer of
 * *out_len bytes; NULL with st set when path or message is too long or memory
 * runs out. */
uint8_t *frame_request_encode(const char *path, uint32_t timeout_ms, const uint8_t *msg,
			      size_t msg_len, size_t *out_len, struct hv_status *st);

/* Splits a request body (the L bytes after the length field). -1 with
 * INVALID_ARGUMENT naming the fault when the path length does not fit the
 * body or is 0. path is not NUL-terminated. */
int frame_request_parse(const uint8_t *body, size_t len, uint32_t *timeout_ms, const char **path,
			size_t *path_len, const uint8_t **msg, size_t *msg_len, struct hv_status *st);

/* A whole reply frame in a malloc'd buffer; text is cut at FRAME_MAX_TEXT
 * bytes and msg is sent only with code HV_OK. NULL when memory runs out. */
uint8_t *frame_reply_encode(int code, const char *text, const uint8_t *msg, size_t msg_len,
			    size_t *out_len);

/* Splits a reply body. -1 with INTERNAL naming the fault when it is
 * malformed. text is not NUL-terminated. */
int frame_reply_parse(const uint8_t *body, size_t len, int *code, const char **text,
		      size_t *text_len, const uint8_t **msg, size_t *msg_len, struct hv_status *st);

/* ---- client side -------------------------------------------------------- */

/* Connects to the unix socket at path and exchanges hellos, waiting at most
 * timeout_ms for the server's.
 *   0: a frame connection, *fd_out set;
 *   1: something answers on path but not with frames (an hv-agent that only
 *      speaks gRPC): nothing is left open, the caller uses gRPC;
 *  -1: st says why (UNAVAILABLE naming the path: no socket, nobody serving,
 *      the server closed the connection).
 */
int frame_connect(const char *path, unsigned timeout_ms, int *fd_out, struct hv_status *st);

/* One unary call on a frame connection. timeout_ms is sent as the call's
 * deadline (0: none) and the reply is awaited that long plus a grace of
 * FRAME_REPLY_GRACE_MS (forever for 0). On HV_OK: 0 and the reply message in
 * *resp (malloc'd, *resp_len bytes; free it). Otherwise -1 and st: the
 * server's code and text, or UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL
 * for a connection that closed, a reply that did not come, or a malformed
 * reply. After a local failure (*broken set to 1) the connection must be
 * closed: a reply may still be on its way. */
#define FRAME_REPLY_GRACE_MS 2000
int frame_call(int fd, const char *path, const uint8_t *req, size_t req_len, unsigned timeout_ms,
	       uint8_t **resp, size_t *resp_len, int *broken, struct hv_status *st);

#endif /* HV_FRAME_H */
