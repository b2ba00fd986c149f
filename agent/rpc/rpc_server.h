/*
 * rpc_server.h - hv-agent's RPC server: the one module that uses the gRPC C
 * core API (docs/dependencies.md: it is not stable across gRPC versions, so it stays here).
 *
 * A server serves a table of methods on one or more listeners. Each listener is
 * one gRPC server object, so a call always knows which listener it came through: the read-write unix
 * socket, the read-only unix socket (libvirt's split: authorization by socket
 * file permissions, docs/security.md), or TCP with mutual TLS (identity from the client
 * certificate). Before a handler runs, the server asks the application's
 * authorize() callback, and decodes the request with the method's protobuf-c
 * descriptor: handlers see typed messages, never bytes. The listeners share
 * one completion queue and one pool of threads that poll it.
 *
 * Unary handlers run on a completion-queue thread and may block briefly (a
 * management command waits at most its timeout). The server starts with the
 * threads asked for and adds one whenever a handler is about to wait for a
 * management operation (hv_callscope_blocking) on its last idle thread (up to
 * RPC_MAX_THREADS), so calls blocked on a slow management command never leave
 * the listeners without a thread for reads; a handler that answers from
 * memory keeps its thread, and the call needs no hand-off between threads.
 * Server-streaming handlers get a thread of their own and send with
 * rpc_stream_send() until the client goes away or the server stops.
 *
 * Limits (docs/api.md "Limits, deadlines and shutdown"): a request larger than
 * RPC_MAX_RECV_BYTES is refused by gRPC itself with RESOURCE_EXHAUSTED before
 * any handler sees it. The client's deadline is honored: a call whose deadline
 * has passed before its handler starts is answered DEADLINE_EXCEEDED without
 * running it, and while the handler runs the deadline is the thread's call
 * scope (callscope.h), which hvlink's command queue honors.
 */
#ifndef RPC_SERVER_H
#define RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

enum rpc_listener_kind {
	RPC_LISTENER_UNIX_RW,
	RPC_LISTENER_UNIX_RO,
	RPC_LISTENER_TCP_MTLS,
	RPC_LISTENER_FLEET, /* a signed request through the fleet broker (agent/fleet/) */
};

/* Who is calling, as far as the transport knows. */
struct rpc_peer {
	enum rpc_listener_kind kind;
	const char *peer;         /* transport address, for logs           */
	const char *identity;     /* mTLS: SAN or CN; NULL on unix sockets  */
	const char *x509_subject; /* mTLS: "CN=..,OU=..,O=.."; else NULL   */
	/* Unix sockets: the connecting process as the kernel saw it when it
	 * connected (SO_PEERCRED); has_cred is false elsewhere. */
	bool has_cred;
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* Requests up to 1 MiB plus room for the framing of a message that carries a
 * 1 MiB blob: Define's configuration (at most the 512 KiB command data area)
 * fits with room to spare; anything bigger is refused by gRPC. */
#define RPC_MAX_RECV_BYTES (1024 * 1024 + 16 * 1024)
/* Responses: GetConsole's 64 KiB is the largest today. */
#define RPC_MAX_SEND_BYTES (4 * 1024 * 1024)
/* Completion-queue threads of a server, at most. */
#define RPC_MAX_THREADS 64

struct rpc_call_ctx {
	const struct rpc_peer *peer;
	const char *method; /* full path, "/hvmgr.v1.Hvmgr/GetVm"    */
	void *app;          /* rpc_server_new's app pointer            */
	bool (*stopping)(const struct rpc_call_ctx *ctx); /* server shutting down */
	uint64_t deadline_ns; /* client's deadline (hv_mono_ns); 0 = none */
	void *priv_;          /* the server's call record                */
};

/* The result of a unary call: either a response message or an error status. */
struct rpc_result {
	struct hv_status st;
	uint8_t *resp; /* packed response, owned by the result   */
	size_t resp_len;
};

/* Packs msg into the result (status OK). Returns 0, or -1 (INTERNAL) if
 * memory ran out. The caller keeps ownership of msg. */
int rpc_result_message(struct rpc_result *res, const ProtobufCMessage *msg);

/* Sets an error status; returns -1. */
int rpc_result_error(struct rpc_result *res, enum hv_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef void (*rpc_unary_fn)(const struct rpc_call_ctx *ctx, const ProtobufCMessage *req,
			     struct rpc_result *res);

struct rpc_stream;
/* Sends one message on a server stream. 0 when it was sent; -1 when the
 * client went away (CANCELLED) or the server is stopping (UNAVAILABLE). */
int rpc_stream_send(struct rpc_stream *s, const ProtobufCMessage *msg, struct hv_status *st);
/* False once the client cancelled or the server is stopping. */
bool rpc_stream_alive(struct rpc_stream *s);

/* Client streaming: the handler gets the first message as its request, and
 * the following ones from rpc_stream_recv, decoded with desc (string fields
 * checked as for requests). 1: a message in *out (free it with
 * protobuf_c_message_free_unpacked); 0: the client half-closed, no more
 * messages; -1: error in st (INVALID_ARGUMENT for a malformed message,
 * CANCELLED, UNAVAILABLE when stopping). Its one reply is sent with
 * rpc_stream_send before the handler returns OK. Every message is bounded by
 * RPC_MAX_RECV_BYTES like a request. */
int rpc_stream_recv(struct rpc_stream *s, const ProtobufCMessageDescriptor *desc,
		    ProtobufCMessage **out, struct hv_status *st);

/* Bidirectional streaming: as rpc_stream_recv, but waits at most wait_ms and
 * returns 2 when no message came in that time; the receive stays pending and
 * a later call takes its message, so the handler can send (rpc_stream_send)
 * between calls. A handler uses either this or rpc_stream_recv. */
int rpc_stream_recv_wait(struct rpc_stream *s, const ProtobufCMessageDescriptor *desc,
			 ProtobufCMessage **out, unsigned wait_ms, struct hv_status *st);

/* A streaming handler returns the final status in *st (OK to end normally). */
typedef void (*rpc_stream_fn)(const struct rpc_call_ctx *ctx, const ProtobufCMessage *req,
			      struct rpc_stream *stream, struct hv_status *st);

struct rpc_method {
	const char *path; /* "/pkg.Service/Method" */
	const ProtobufCMessageDescriptor *request;
	rpc_unary_fn unary; /* exactly one of these */
	rpc_stream_fn stream;
};

/* Decides whether a call may proceed. 0 = allowed; -1 with a status
 * (PERMISSION_DENIED, UNAUTHENTICATED) = refused before decoding. */
typedef int (*rpc_authorize_fn)(void *app, const struct rpc_peer *peer, const char *method,
				struct hv_status *st);

/* Runs a unary method for a transport other than gRPC (the fleet link):
 * checks the string fields of the packed request data/len, decodes it with
 * m->request and runs m->unary within a call scope of ctx->deadline_ns and
 * *stopping (callscope.h), as a gRPC call would be run. 0 when the handler
 * ran (its status and response are in res; free res->resp); -1 with
 * INVALID_ARGUMENT or DEADLINE_EXCEEDED in res->st when it did not. */
int rpc_run_unary(const struct rpc_method *m, const struct rpc_call_ctx *ctx, const uint8_t *data,
		  size_t len, int *stopping, struct rpc_result *res);

struct rpc_server;

struct rpc_server *rpc_server_new(const struct rpc_method *methods, size_t count, void *app,
				  rpc_authorize_fn authorize, struct hv_status *st);

/* A unix socket at path with the given file mode. A stale socket file is
 * replaced; a socket some live process still serves is refused. */
int rpc_server_add_unix(struct rpc_server *srv, const char *path, mode_t mode, bool read_only,
			struct hv_status *st);

/* TCP with mutual TLS on "HOST:PORT": loopback ("127.0.0.1:50051",
 * "[::1]:50051", "localhost:50051") or, for a workshop tester on the vehicle
 * network, any address the operator configures; plaintext TCP is never
 * served. PEM strings are copied. */
/* 0 when addr is a loopback "HOST:PORT"; INVALID_ARGUMENT otherwise. */
int rpc_check_loopback(const char *addr, struct hv_status *st);
/* 0 when addr has the form HOST:PORT; INVALID_ARGUMENT otherwise. */
int rpc_check_listen_addr(const char *addr, struct hv_status *st);

int rpc_server_add_tcp_mtls(struct rpc_server *srv, const char *addr, const char *ca_pem,
			    const char *cert_pem, const char *key_pem, struct hv_status *st);

/* Starts every listener and `threads` completion-queue threads, which all
 * listeners share. */
int rpc_server_start(struct rpc_server *srv, unsigned threads, struct hv_status *st);

/* Graceful stop: refuses new calls, lets in-flight unary calls finish, tells
 * streams to end (their clients see UNAVAILABLE "shutting down") and commands
 * still waiting for the register interface to give up (UNAVAILABLE, not
 * sent), cancels what is left after grace_ms, joins every thread. Logs each
 * listener's counters, then frees the server and removes the unix socket
 * files it created. */
void rpc_server_stop_and_free(struct rpc_server *srv, unsigned grace_ms);

/* What a listener has seen since it started, for diagnostics. */
struct rpc_listener_counters {
	enum rpc_listener_kind kind;
	const char *addr; /* valid while the server lives */
	uint64_t calls;   /* calls that reached hv-agent (any method) */
	uint64_t refused; /* ... refused by authorize()               */
	uint64_t expired; /* ... whose deadline passed before a handler */
	uint64_t handled; /* ... given to a handler                   */
	unsigned threads; /* completion-queue threads now (shared)    */
};

/* Fills up to max entries, one per listener; returns how many. */
size_t rpc_server_counters(struct rpc_server *srv, struct rpc_listener_counters *out, size_t max);

/* Told of every call that reached a method when its final status is sent:
 * the method's path, the status code and the time since the call was taken
 * from the queue (refused and expired calls included; streams when they end).
 * Runs on the call's thread: it must be quick and must not block. */
typedef void (*rpc_observe_fn)(void *arg, const char *method, int code, uint64_t duration_ns);
/* Sets the observer; before rpc_server_start. */
void rpc_server_set_observer(struct rpc_server *srv, rpc_observe_fn fn, void *arg);

/* Told of a call that authorize() admitted but whose handler did not run:
 * its deadline had passed when its turn came, its request did not decode,
 * or its stream could not start; st is the status the caller gets. So what
 * authorize() recorded before the call (an audit "requested" row) gets its
 * outcome. Both transports of the unix sockets (gRPC, frames) and TCP call
 * it; the app's pointer is rpc_server_new's. */
typedef void (*rpc_unrun_fn)(void *app, const struct rpc_peer *peer, const char *method,
			     const struct hv_status *st);
/* Sets it; before rpc_server_start. */
void rpc_server_set_unrun(struct rpc_server *srv, rpc_unrun_fn fn);
/* Server streams open right now. */
unsigned rpc_server_open_streams(struct rpc_server *srv);

/* Server streams open at once: at most per_listener on one listener (1 to
 * 64; default 32) and per_identity for one caller on one listener (default
 * 8): a uid on a unix socket, a certificate's name on TLS. A stream beyond
 * either is refused with RESOURCE_EXHAUSTED naming the limit, so callers of
 * one listener (the read-only socket anyone may open) cannot take the
 * streams of another (the read-write socket), and one caller cannot take
 * all of a listener's. Before rpc_server_start; INVALID_ARGUMENT when out of
 * range or per_identity > per_listener. */
int rpc_server_set_stream_limits(struct rpc_server *srv, unsigned per_listener,
				 unsigned per_identity, struct hv_status *st);

/* Process-wide gRPC library setup and teardown (call once each). */
void rpc_global_init(void);
void rpc_global_shutdown(void);

#endif /* RPC_SERVER_H */
