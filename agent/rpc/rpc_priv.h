/*
 * rpc_priv.h - the RPC server's internal records, shared by rpc_server.c
 * (listeners, completion-queue threads, unary calls) and rpc_stream.c (server
 * streaming). Nothing outside agent/rpc/ includes this file.
 */
#ifndef RPC_PRIV_H
#define RPC_PRIV_H

#include <pthread.h>

#include <grpc/grpc.h>

#include "rpc_server.h"

#define RPC_MAX_LISTENERS 4
/* Server streams open on one listener, at most (each has a thread). */
#define RPC_MAX_STREAMS 64
/* Defaults of rpc_server_set_stream_limits. */
#define RPC_STREAMS_PER_LISTENER 32
#define RPC_STREAMS_PER_IDENTITY 8
#define RPC_STREAM_KEY_LEN 96
/* Largest TLS record hv-agent sends (grpc.tsi.max_frame_size). */
#define RPC_TLS_FRAME_BYTES 4096
/* Unix connections are accepted while their descriptor is below this. */
#define RPC_MAX_PEER_FD 4096

/* The credentials of the unix connection on one descriptor. */
struct rpc_peercred {
	int valid;
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* The streams one caller has open on one listener. Key: "uid N" on a unix
 * socket, the certificate's name (or subject) on TLS. A free entry has n 0. */
struct rpc_stream_owner {
	const struct rpc_listener *lis;
	char key[RPC_STREAM_KEY_LEN];
	unsigned n;
};

/* Every completion-queue tag points at one of these; kind says what the
 * completion means and obj which record it belongs to. */
enum rpc_tag_kind {
	TAG_NEW_CALL,      /* a registered method's call arrived          */
	TAG_CALL_DONE,     /* a unary call's final batch completed        */
	TAG_UNKNOWN_CALL,  /* a call to a method we do not serve arrived  */
	TAG_UNKNOWN_DONE,  /* ... and its UNIMPLEMENTED reply completed   */
	TAG_STREAM_OP,     /* a stream's send or finish batch completed   */
	TAG_STREAM_CLOSED, /* a stream's RECV_CLOSE_ON_SERVER completed   */
	TAG_STREAM_RECV,   /* a duplex stream's receive completed         */
	TAG_SHUTDOWN,      /* grpc_server_shutdown_and_notify completed   */
};

struct rpc_tag {
	enum rpc_tag_kind kind;
	void *obj;
};

struct rpc_listener {
	struct rpc_server *srv;
	enum rpc_listener_kind kind;
	char *addr;      /* as given to grpc_server_add_http2_port */
	char *unix_path; /* removed at stop                        */
	grpc_server *server;
	grpc_completion_queue *cq;                 /* the server's one queue (srv->cq)       */
	void **handles;                            /* per method, from register_method       */
	uint64_t calls, refused, expired, handled; /* atomic                  */
	int started;                               /* grpc_server_start was called           */
	int has_port;                              /* a port was added (and is bound)        */
	struct rpc_tag shutdown_tag;
	int shutdown_done; /* under srv->lock */
	/* Unix listeners: connections accepted here (rpc_peercred.c). */
	int listen_fd; /* -1 when gRPC listens itself          */
	int wake[2];   /* tells the accept thread to end       */
	pthread_t accept_thread;
	int accepting;              /* the accept thread runs               */
	struct rpc_peercred *creds; /* by descriptor; under srv->lock       */
	unsigned live_streams;      /* streams open here; under srv->lock   */
};

/* A completion-queue thread's slot. Threads are added while handlers wait
 * and while a thread has a backlog (it slept before fewer than
 * RPC_LOAD_ADD_PCT % of its events in a window of RPC_LOAD_WINDOW_MS; at most
 * one per CPU beyond the waiting ones); one so added retires when it has had
 * no work for RPC_IDLE_RETIRE_MS or slept before RPC_LOAD_RETIRE_PCT % or
 * more of its events. A retired thread's slot is joined and reused by the
 * next one added; every used slot is joined at stop. */
enum {
	RPC_WORKER_FREE,
	RPC_WORKER_RUNNING,
	RPC_WORKER_RETIRED
};
#define RPC_IDLE_RETIRE_MS 2000
#define RPC_LOAD_WINDOW_MS 100
#define RPC_LOAD_MIN_EVENTS 64
#define RPC_LOAD_ADD_PCT 20
#define RPC_LOAD_RETIRE_PCT 60
struct rpc_worker {
	struct rpc_server *srv;
	pthread_t thread;
	int state;                   /* RPC_WORKER_*, under srv->lock          */
	uint64_t win_ns, win_sleeps; /* the window's start: clock, ru_nvcsw */
	uint64_t win_events;         /* events taken in the window          */
};

struct rpc_server {
	const struct rpc_method *methods;
	size_t nmethods;
	void *app;
	rpc_authorize_fn authorize;
	struct rpc_listener *lis[RPC_MAX_LISTENERS];
	size_t nlis;
	int started;
	int stopping; /* atomic */
	/* One completion queue for every listener, polled by one pool of
	 * threads: the thread gRPC's poller wakes for a connection's bytes is
	 * the one that runs the call, instead of handing it to a thread of
	 * another listener's queue (docs/performance.md). */
	grpc_completion_queue *cq;
	struct rpc_worker *workers; /* RPC_MAX_THREADS slots; under lock       */
	unsigned nthreads;          /* threads polling or in a handler; lock  */
	unsigned base;              /* asked for at start: never retired       */
	unsigned ncpu;              /* online CPUs, for threads added for load */
	unsigned busy;              /* threads waiting in a handler; lock      */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned live_streams;                                               /* under lock */
	unsigned max_streams_listener, max_streams_identity;                 /* set before start */
	struct rpc_stream_owner owners[RPC_MAX_LISTENERS * RPC_MAX_STREAMS]; /* under lock */
	rpc_unrun_fn unrun;      /* rpc_server_set_unrun, may be NULL */
	rpc_observe_fn observe;  /* rpc_server_set_observer, may be NULL */
	struct rpc_frame *frame; /* the unix sockets' frame server (rpc_frame.c) */
	void *observe_arg;
};

/* One call to a registered method, from request to final batch. */
struct rpc_call {
	struct rpc_tag tag;
	struct rpc_listener *lis;
	size_t midx;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	int cancelled;
	grpc_byte_buffer *resp_bb;
	grpc_slice details;
	int has_details;
	char *peer_str, *identity, *subject;
	struct rpc_peer peer;
	struct rpc_call_ctx ctx;
	uint64_t start_ns; /* hv_mono_ns when the call was taken up */
};

/* Unknown methods: one generic request per listener. */
struct rpc_unknown {
	struct rpc_tag tag;
	struct rpc_listener *lis;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_slice status_details;
	int has_details;
	int cancelled;
};

/* rpc_call.c: posting requests and handling arrived calls. */
int rpc_post_request(struct rpc_listener *lis, size_t midx);
int rpc_post_unknown(struct rpc_listener *lis);
void rpc_unknown_free(struct rpc_unknown *u);
void rpc_handle_call(struct rpc_call *c);
void rpc_handle_unknown(struct rpc_unknown *u);

/* rpc_server.c: a completion-queue thread runs a handler that is about to
 * wait (rpc_thread_busy, through the call scope's on_block) or is done with
 * it (rpc_thread_idle). The server gets another thread when its last idle
 * one becomes busy. */
void rpc_thread_busy(struct rpc_listener *lis);
void rpc_thread_idle(struct rpc_listener *lis);

/* Frees a call record and everything it holds (grpc_call unref included). */
void rpc_call_free(struct rpc_call *c);

/* rpc_peercred.c: a unix listener accepts on fd (bound and listening)
 * itself; rpc_peercred_start starts its accept thread once gRPC's server
 * has started; _stop ends it and closes fd; _free also frees the table.
 * rpc_peercred_identify fills c->peer's uid/gid/pid from c->peer_str. */
int rpc_peercred_listen(struct rpc_listener *lis, int fd);
int rpc_peercred_start(struct rpc_listener *lis);
void rpc_peercred_stop(struct rpc_listener *lis);
void rpc_peercred_free(struct rpc_listener *lis);
void rpc_peercred_identify(struct rpc_call *c);
/* Hands an accepted unix connection to gRPC (its credentials recorded). */
void rpc_peercred_to_grpc(struct rpc_listener *lis, int fd);

/* rpc_frame.c: the local frame protocol on the unix listeners (docs/api.md
 * FRAME-001..). _start makes its epoll set and first worker (before the
 * accept threads start); _accept takes every accepted unix connection,
 * keeps those that speak frames and gives the others to gRPC; _stop (after
 * the accept threads stopped) joins its workers, closes every connection
 * it holds and frees it all. */
struct rpc_frame;
int rpc_frame_start(struct rpc_server *srv);
void rpc_frame_accept(struct rpc_listener *lis, int fd, const struct rpc_peercred *cred);
void rpc_frame_stop(struct rpc_server *srv);

/* Decodes a packed request with the method's descriptor after checking its
 * string fields (rpc_wire_check_strings); NULL with INVALID_ARGUMENT. */
ProtobufCMessage *rpc_decode_bytes(const struct rpc_method *m, const uint8_t *data, size_t len,
				   struct hv_status *st);

/* What a transport does when a handler is about to wait (busy) and when it
 * is done waiting (idle): keep another thread serving. */
struct rpc_block_hooks {
	void (*busy)(void *arg);
	void (*idle)(void *arg);
	void *arg;
};

/* Runs a decoded request's unary handler within the call's scope (deadline,
 * stopping, and hooks for a wait; hooks may be NULL). */
void rpc_run_handler(const struct rpc_method *m, const struct rpc_call_ctx *ctx,
		     const ProtobufCMessage *req, int *stopping,
		     const struct rpc_block_hooks *hooks, struct rpc_result *res);

/* Fills c->peer and c->ctx from the transport. */
void rpc_call_identify(struct rpc_call *c);

/* Starts the stream thread for a streaming call that passed authorization;
 * req is the decoded request (ownership passes). -1 with a status when no
 * thread could be started or too many streams are open. */
int rpc_stream_begin(struct rpc_call *c, ProtobufCMessage *req, struct hv_status *st);

/* Called by a completion-queue thread for TAG_STREAM_OP / TAG_STREAM_CLOSED /
 * TAG_STREAM_RECV. */
void rpc_stream_complete(struct rpc_tag *tag, int success);

/* rpc_wire.c: 0 when every string field of the encoded message `d` describes
 * (nested messages included) is valid UTF-8 without a NUL byte; otherwise -1
 * and `bad` names the field and the fault. Malformed encodings pass: the
 * decoder refuses them. */
int rpc_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
			   char *bad, size_t bad_len);

/* Sends status (and initial metadata if first) as the only reply of a call,
 * with RECV_CLOSE_ON_SERVER; the completion comes back with `tag`. */
grpc_call_error rpc_send_final(grpc_call *call, int send_md, grpc_byte_buffer *msg,
			       const struct hv_status *st, grpc_slice *details, int *cancelled,
			       void *tag);

bool rpc_ctx_stopping(const struct rpc_call_ctx *ctx);
/* Tells the server's observer (if any) that call c ends with `code`. */
void rpc_call_observe(const struct rpc_call *c, int code);

#endif /* RPC_PRIV_H */
