/*
 * rpc_frame.c - the local frame protocol's server (docs/api.md "The local
 * frame protocol", FRAME-001..; the wire layout is agent/common/frame.h).
 *
 * Every connection a unix listener accepts comes here first (FRAME-001):
 * one whose first byte is not 0 goes to gRPC as before, one whose first
 * byte is 0 stays here and its unary calls are run exactly as
 * rpc_handle_call runs gRPC's: same authorization, deadline, decoding,
 * handler scope, counters and observer.
 *
 * One epoll set holds every frame connection of every unix listener, each
 * with EPOLLONESHOT, so one worker at a time owns a connection. Workers
 * epoll_wait on the set: there is one at start; another is added when a
 * handler is about to wait (the call scope's on_block) and no other worker
 * is free, and workers beyond the first retire after FRAME_IDLE_RETIRE_MS
 * without work. A connection costs its buffers, not a thread.
 *
 * An epoll event carries the descriptor and a generation; the connection
 * table (by descriptor, under fs->lock) says whether the event still
 * belongs to a live connection that no worker owns, so a connection closed
 * or handed to gRPC by one worker is never touched by another.
 */
#define _GNU_SOURCE
#include "rpc_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "deadline.h"
#include "frame.h"
#include "log.h"

#define FRAME_SELECT_MS 10000 /* a silent connection goes to gRPC after this */
#define FRAME_IDLE_RETIRE_MS 2000
#define FRAME_MAX_WORKERS 64
#define FRAME_BUF_SMALL 512    /* a connection's input buffer at rest        */
#define FRAME_TURN_REQUESTS 16 /* requests served per turn before others     */
#define FRAME_TAG_WAKE 0xffffffffu
#define FRAME_TAG_TIMER 0xfffffffeu

enum frame_state {
	FS_SELECT, /* no byte yet: frames or gRPC?      */
	FS_HELLO,  /* frames: the client's hello        */
	FS_READY,  /* requests                          */
};

struct frame_conn {
	struct rpc_listener *lis;
	int fd;
	uint32_t gen;
	enum frame_state state;
	int owned;   /* a worker has it; under fs->lock */
	int closing; /* close once the output is out    */
	uint64_t accepted_ns;
	struct rpc_peercred cred;
	char peer[32];
	uint8_t *in; /* received, not yet served */
	size_t in_len, in_cap;
	uint64_t front_ns; /* when the first frame in `in` arrived */
	uint64_t rx_ns;    /* the last receive                      */
	uint8_t *out;      /* a reply not yet sent                  */
	size_t out_len, out_off;
	struct frame_conn *prev, *next;
};

struct frame_worker {
	struct rpc_frame *fs;
	pthread_t thread;
	int state; /* RPC_WORKER_*, under fs->lock */
};

struct rpc_frame {
	struct rpc_server *srv;
	int epfd, wake, timer;
	pthread_mutex_t lock;
	struct frame_conn *conns[RPC_MAX_PEER_FD]; /* by descriptor       */
	struct frame_conn *head;                   /* every connection    */
	uint32_t next_gen;
	int timer_armed;
	struct frame_worker workers[FRAME_MAX_WORKERS];
	unsigned nworkers, busy;
	int stopping;
};

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

static uint64_t ev_data(const struct frame_conn *c)
{
	return (uint64_t)c->gen << 32 | (uint32_t)c->fd;
}

static int arm(struct rpc_frame *fs, struct frame_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events | EPOLLONESHOT | EPOLLRDHUP,
				  .data.u64 = ev_data(c) };
	return epoll_ctl(fs->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Takes c out of the table and the list; the caller owns it. */
static void unlink_conn(struct rpc_frame *fs, struct frame_conn *c)
{
	pthread_mutex_lock(&fs->lock);
	fs->conns[c->fd] = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		fs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&fs->lock);
	epoll_ctl(fs->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void free_conn(struct frame_conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

/* Closes an unlinked connection. The credentials of its descriptor are
 * forgotten first: once closed, the number may be reused at once. */
static void close_conn(struct frame_conn *c)
{
	struct rpc_server *srv = c->lis->srv;

	pthread_mutex_lock(&srv->lock);
	if (c->lis->creds)
		c->lis->creds[c->fd].valid = 0;
	pthread_mutex_unlock(&srv->lock);
	close(c->fd);
	free_conn(c);
}

static void drop(struct rpc_frame *fs, struct frame_conn *c)
{
	unlink_conn(fs, c);
	close_conn(c);
}

/* A connection that is not ours: gRPC takes it with its credentials. */
static void to_grpc(struct rpc_frame *fs, struct frame_conn *c)
{
	struct rpc_listener *lis = c->lis;
	int fd = c->fd;

	unlink_conn(fs, c);
	free_conn(c);
	rpc_peercred_to_grpc(lis, fd);
}

static void arm_timer(struct rpc_frame *fs, uint64_t at_ns)
{
	uint64_t now = hv_mono_ns();
	uint64_t left = at_ns > now ? at_ns - now : 1;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(left / HV_NS_PER_SEC),
						.tv_nsec = (long)(left % HV_NS_PER_SEC) } };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = FRAME_TAG_TIMER };

	timerfd_settime(fs->timer, 0, &its, NULL);
	epoll_ctl(fs->epfd, EPOLL_CTL_MOD, fs->timer, &ev);
	fs->timer_armed = 1;
}

void rpc_frame_accept(struct rpc_listener *lis, int fd, const struct rpc_peercred *cred)
{
	struct rpc_frame *fs = lis->srv->frame;
	struct frame_conn *c = calloc(1, sizeof *c);

	if (!c) {
		rpc_peercred_to_grpc(lis, fd);
		return;
	}
	c->lis = lis;
	c->fd = fd;
	c->cred = *cred;
	c->state = FS_SELECT;
	c->accepted_ns = hv_mono_ns();
	snprintf(c->peer, sizeof c->peer, "fd:%d", fd);
	pthread_mutex_lock(&fs->lock);
	c->gen = fs->next_gen++;
	fs->conns[fd] = c;
	c->next = fs->head;
	if (fs->head)
		fs->head->prev = c;
	fs->head = c;
	if (!fs->timer_armed)
		arm_timer(fs, c->accepted_ns + (uint64_t)FRAME_SELECT_MS * 1000000u);
	pthread_mutex_unlock(&fs->lock);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
				  .data.u64 = ev_data(c) };
	if (epoll_ctl(fs->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_warn("%s: cannot watch connection fd %d (%s): gRPC takes it", lis->addr, fd,
			 strerror(errno));
		to_grpc(fs, c);
	}
}

/* The timer: connections that said nothing for FRAME_SELECT_MS go to gRPC,
 * which has its own handshake timeout. */
static void sweep(struct rpc_frame *fs)
{
	uint64_t now = hv_mono_ns(), next = 0;
	uint64_t limit = (uint64_t)FRAME_SELECT_MS * 1000000u;
	struct frame_conn *silent = NULL;
	uint64_t expiry;

	uint64_t ticks;
	if (read(fs->timer, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
		log_debug("frame timer: %s", strerror(errno));
	pthread_mutex_lock(&fs->lock);
	fs->timer_armed = 0;
	for (struct frame_conn *c = fs->head; c; c = c->next) {
		if (c->owned || c->state != FS_SELECT)
			continue;
		expiry = c->accepted_ns + limit;
		if (expiry <= now) {
			if (!silent) {
				c->owned = 1;
				silent = c;
			}
		} else if (!next || expiry < next) {
			next = expiry;
		}
	}
	if (silent) /* one per turn; come back at once for the next */
		next = now;
	if (next && !fs->stopping)
		arm_timer(fs, next);
	pthread_mutex_unlock(&fs->lock);
	if (silent) {
		log_debug("%s: %s sent nothing in %d ms: gRPC takes it", silent->lis->addr,
			  silent->peer, FRAME_SELECT_MS);
		to_grpc(fs, silent);
	}
}

/* ------------------------------------------------------------------------ */
/* Calls                                                                     */

static bool frame_ctx_stopping(const struct rpc_call_ctx *ctx)
{
	const struct rpc_server *srv = ctx->priv_;
	return __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE) != 0;
}

static void spawn_worker(struct rpc_frame *fs);

static void frame_busy(void *arg)
{
	struct rpc_frame *fs = arg;

	pthread_mutex_lock(&fs->lock);
	fs->busy++;
	/* Keep a worker on the epoll set while this one waits. */
	if (fs->busy >= fs->nworkers && !fs->stopping)
		spawn_worker(fs);
	pthread_mutex_unlock(&fs->lock);
}

static void frame_idle(void *arg)
{
	struct rpc_frame *fs = arg;

	pthread_mutex_lock(&fs->lock);
	fs->busy--;
	pthread_mutex_unlock(&fs->lock);
}

static const struct rpc_method *find_method(const struct rpc_server *srv, const char *path, size_t len)
{
	for (size_t i = 0; i < srv->nmethods; i++)
		if (strlen(srv->methods[i].path) == len &&
		    memcmp(srv->methods[i].path, path, len) == 0)
			return &srv->methods[i];
	return NULL;
}

/* Runs one request body; the reply goes to c->out. Returns 0, or -1 when
 * the connection is to close after the reply. */
static int serve(struct rpc_frame *fs, struct frame_conn *c, const uint8_t *body, size_t len,
		 uint64_t arrival_ns)
{
	struct rpc_listener *lis = c->lis;
	struct rpc_server *srv = lis->srv;
	struct rpc_result res;
	uint32_t timeout_ms;
	const char *path;
	const uint8_t *msg;
	size_t path_len, msg_len;
	int keep = 0;
	const struct rpc_method *m = NULL;
	uint64_t start = hv_mono_ns();

	memset(&res, 0, sizeof res);
	if (frame_request_parse(body, len, &timeout_ms, &path, &path_len, &msg, &msg_len, &res.st) !=
	    0) {
		log_debug("%s: %s: %s", lis->addr, c->peer, res.st.msg);
		keep = -1;
		goto out;
	}
	m = find_method(srv, path, path_len);
	if (!m) {
		hv_status_set(&res.st, HV_UNIMPLEMENTED, "method %.*s is not served by hv-agent",
			      (int)path_len, path);
		goto out;
	}
	if (m->stream) {
		hv_status_set(&res.st, HV_UNIMPLEMENTED,
			      "%s is a streaming method: call it with gRPC on the same socket",
			      m->path);
		m = NULL; /* not a unary call: not observed */
		goto out;
	}
	struct rpc_peer peer = { .kind = lis->kind,
				 .peer = c->peer,
				 .has_cred = c->cred.valid != 0,
				 .uid = c->cred.uid,
				 .gid = c->cred.gid,
				 .pid = c->cred.pid };
	struct rpc_call_ctx ctx = {
		.peer = &peer,
		.method = m->path,
		.app = srv->app,
		.stopping = frame_ctx_stopping,
		.deadline_ns = timeout_ms ? arrival_ns + (uint64_t)timeout_ms * 1000000u : 0,
		.priv_ = srv
	};
	__atomic_add_fetch(&lis->calls, 1, __ATOMIC_RELAXED);
	if (srv->authorize && srv->authorize(srv->app, &peer, m->path, &res.st) != 0) {
		__atomic_add_fetch(&lis->refused, 1, __ATOMIC_RELAXED);
		log_debug("%s refused for %s: %s", m->path, c->peer, res.st.msg);
		goto out;
	}
	if (ctx.deadline_ns && hv_mono_ns() >= ctx.deadline_ns) {
		__atomic_add_fetch(&lis->expired, 1, __ATOMIC_RELAXED);
		hv_status_set(&res.st, HV_DEADLINE_EXCEEDED,
			      "%s: the deadline passed before hv-agent could start the call",
			      m->path);
		log_info("%s from %s not run: %s", m->path, c->peer, res.st.msg);
		if (srv->unrun)
			srv->unrun(srv->app, &peer, m->path, &res.st);
		goto out;
	}
	ProtobufCMessage *req = rpc_decode_bytes(m, msg, msg_len, &res.st);
	if (!req) {
		if (srv->unrun)
			srv->unrun(srv->app, &peer, m->path, &res.st);
		goto out;
	}
	__atomic_add_fetch(&lis->handled, 1, __ATOMIC_RELAXED);
	struct rpc_block_hooks hooks = { .busy = frame_busy, .idle = frame_idle, .arg = fs };
	rpc_run_handler(m, &ctx, req, &srv->stopping, &hooks, &res);
	protobuf_c_message_free_unpacked(req, NULL);
out:
	if (m && srv->observe)
		srv->observe(srv->observe_arg, m->path, (int)res.st.code, hv_mono_ns() - start);
	c->out = frame_reply_encode((int)res.st.code, res.st.code == HV_OK ? NULL : res.st.msg,
				    res.resp, res.resp_len, &c->out_len);
	c->out_off = 0;
	free(res.resp);
	if (!c->out)
		return -1;
	return keep;
}

/* Queues a reply of code and text (no message) and marks c to close after
 * it. */
static void reply_and_close(struct frame_conn *c, enum hv_code code, const char *text)
{
	c->out = frame_reply_encode((int)code, text, NULL, 0, &c->out_len);
	c->out_off = 0;
	c->closing = 1;
}

/* Sends what is pending. 1: all out; 0: the socket is full; -1: broken. */
static int flush(struct frame_conn *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)w;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 1;
}

/* Makes room for `need` bytes in c->in. */
static int grow(struct frame_conn *c, size_t need)
{
	if (need <= c->in_cap)
		return 0;
	size_t cap = c->in_cap ? c->in_cap : FRAME_BUF_SMALL;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(c->in, cap);
	if (!p)
		return -1;
	c->in = p;
	c->in_cap = cap;
	return 0;
}

/* The bytes the front of c->in needs to be served: a frame's length field,
 * then the whole frame (or the hello). */
static size_t wanted(const struct frame_conn *c)
{
	if (c->state == FS_HELLO)
		return FRAME_HELLO_LEN;
	if (c->in_len < FRAME_LEN_BYTES)
		return FRAME_LEN_BYTES;
	return FRAME_LEN_BYTES + (size_t)frame_get32(c->in);
}

/* Serves what c->in holds. 1: wants more bytes; 0: stop for now (a reply
 * waits to go out, or the turn is over); -1: close now. */
static int work_input(struct rpc_frame *fs, struct frame_conn *c, int *served)
{
	while (!c->out && !c->closing) {
		size_t need = wanted(c);
		if (c->state == FS_HELLO) {
			if (c->in_len < need)
				return 1;
			if (memcmp(c->in, frame_hello, 6) != 0) {
				log_debug("%s: %s: not a frame hello: closed", c->lis->addr, c->peer);
				return -1;
			}
			int same = c->in[6] == frame_hello[6] && c->in[7] == frame_hello[7];
			c->out = malloc(FRAME_HELLO_LEN);
			if (!c->out)
				return -1;
			memcpy(c->out, frame_hello, FRAME_HELLO_LEN);
			c->out_len = FRAME_HELLO_LEN;
			c->out_off = 0;
			if (!same) {
				log_debug("%s: %s: frame version %u not served: closed",
					  c->lis->addr, c->peer, (unsigned)c->in[6] << 8 | c->in[7]);
				c->closing = 1;
			}
			c->state = FS_READY;
		} else {
			if (c->in_len >= FRAME_LEN_BYTES &&
			    need - FRAME_LEN_BYTES > FRAME_MAX_REQ_BODY) {
				char text[160];
				snprintf(text, sizeof text,
					 "request frame of %zu bytes is larger than the %d bytes hv-agent takes",
					 need - FRAME_LEN_BYTES, FRAME_MAX_REQ_BODY);
				reply_and_close(c, HV_RESOURCE_EXHAUSTED, text);
				return c->out ? 0 : -1;
			}
			if (c->in_len < need)
				return 1;
			if (*served >= FRAME_TURN_REQUESTS)
				return 0;
			(*served)++;
			if (serve(fs, c, c->in + FRAME_LEN_BYTES, need - FRAME_LEN_BYTES,
				  c->front_ns) != 0) {
				if (!c->out)
					return -1;
				c->closing = 1;
			}
		}
		memmove(c->in, c->in + need, c->in_len - need);
		c->in_len -= need;
		c->front_ns = c->rx_ns; /* the next frame came by then */
		if (c->in_cap > 64 * 1024 && c->in_len <= FRAME_BUF_SMALL) {
			uint8_t *p = realloc(c->in, FRAME_BUF_SMALL);
			if (p) {
				c->in = p;
				c->in_cap = FRAME_BUF_SMALL;
			}
		}
	}
	return 0;
}

/* A worker's turn on a connection it owns. Returns the events to wait for
 * next, or 0 when the connection is gone (closed or given to gRPC). */
static uint32_t turn(struct rpc_frame *fs, struct frame_conn *c)
{
	int served = 0;

	if (c->state == FS_SELECT) {
		uint8_t b;
		ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return EPOLLIN;
		if (r <= 0) {
			drop(fs, c);
			return 0;
		}
		if (b != 0) {
			to_grpc(fs, c);
			return 0;
		}
		c->state = FS_HELLO;
		log_debug("%s: %s speaks frames", c->lis->addr, c->peer);
	}
	for (;;) {
		int f = flush(c);
		if (f < 0)
			break;
		if (f == 0)
			return EPOLLOUT;
		if (c->closing)
			break;
		int w = work_input(fs, c, &served);
		if (w < 0)
			break;
		if (w == 0) {
			if (c->out)
				continue; /* send it */
			return EPOLLOUT;  /* turn over: come back at once */
		}
		size_t need = wanted(c);
		if (need > FRAME_LEN_BYTES + FRAME_MAX_REQ_BODY)
			need = FRAME_LEN_BYTES; /* work_input refuses it */
		if (grow(c, need < FRAME_BUF_SMALL ? FRAME_BUF_SMALL : need) != 0)
			break;
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return EPOLLIN;
			break;
		}
		if (r == 0) /* EOF: a frame cut short is not run */
			break;
		c->rx_ns = hv_mono_ns();
		if (c->in_len == 0)
			c->front_ns = c->rx_ns;
		c->in_len += (size_t)r;
	}
	drop(fs, c);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */

static void *worker_main(void *arg)
{
	struct frame_worker *w = arg;
	struct rpc_frame *fs = w->fs;
	uint64_t last_work = hv_mono_ns();

	for (;;) {
		struct epoll_event ev;
		int n = epoll_wait(fs->epfd, &ev, 1, FRAME_IDLE_RETIRE_MS);
		pthread_mutex_lock(&fs->lock);
		if (fs->stopping) {
			pthread_mutex_unlock(&fs->lock);
			break;
		}
		if (n <= 0) {
			if (n < 0 && errno != EINTR)
				log_warn("frame server: epoll_wait: %s", strerror(errno));
			/* One worker always stays; others retire when idle. */
			if (fs->nworkers > 1 && fs->busy < fs->nworkers - 1 &&
			    hv_mono_ns() - last_work >= (uint64_t)FRAME_IDLE_RETIRE_MS * 1000000u) {
				fs->nworkers--;
				w->state = RPC_WORKER_RETIRED;
				pthread_mutex_unlock(&fs->lock);
				break;
			}
			pthread_mutex_unlock(&fs->lock);
			continue;
		}
		last_work = hv_mono_ns();
		if (ev.data.u64 == FRAME_TAG_TIMER) {
			pthread_mutex_unlock(&fs->lock);
			sweep(fs);
			continue;
		}
		if (ev.data.u64 == FRAME_TAG_WAKE) {
			pthread_mutex_unlock(&fs->lock);
			continue;
		}
		int fd = (int)(uint32_t)ev.data.u64;
		uint32_t gen = (uint32_t)(ev.data.u64 >> 32);
		struct frame_conn *c = fd >= 0 && fd < RPC_MAX_PEER_FD ? fs->conns[fd] : NULL;
		if (!c || c->gen != gen || c->owned) {
			pthread_mutex_unlock(&fs->lock);
			continue;
		}
		c->owned = 1;
		pthread_mutex_unlock(&fs->lock);
		uint32_t next = turn(fs, c);
		if (!next)
			continue;
		/* Armed under the lock: a worker that gets its next event, or
		 * the timer's sweep, sees it unowned only once it is armed. */
		pthread_mutex_lock(&fs->lock);
		int bad = arm(fs, c, next) != 0;
		if (!bad)
			c->owned = 0;
		pthread_mutex_unlock(&fs->lock);
		if (bad) {
			log_warn("%s: %s: cannot wait for it (%s): closed", c->lis->addr, c->peer,
				 strerror(errno));
			drop(fs, c);
		}
	}
	return NULL;
}

/* Under fs->lock. Reuses a retired worker's slot after joining it. */
static void spawn_worker(struct rpc_frame *fs)
{
	for (unsigned i = 0; i < FRAME_MAX_WORKERS; i++) {
		struct frame_worker *w = &fs->workers[i];
		if (w->state == RPC_WORKER_RUNNING)
			continue;
		if (w->state == RPC_WORKER_RETIRED)
			pthread_join(w->thread, NULL);
		w->state = RPC_WORKER_FREE;
		w->fs = fs;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_warn("frame server: cannot start a worker");
			return;
		}
		w->state = RPC_WORKER_RUNNING;
		fs->nworkers++;
		log_debug("frame server: %u workers", fs->nworkers);
		return;
	}
}

int rpc_frame_start(struct rpc_server *srv)
{
	struct rpc_frame *fs = calloc(1, sizeof *fs);

	if (!fs)
		return -1;
	fs->srv = srv;
	fs->epfd = epoll_create1(EPOLL_CLOEXEC);
	fs->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fs->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	pthread_mutex_init(&fs->lock, NULL);
	struct epoll_event wake = { .events = EPOLLIN, .data.u64 = FRAME_TAG_WAKE };
	struct epoll_event timer = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = FRAME_TAG_TIMER };
	if (fs->epfd < 0 || fs->wake < 0 || fs->timer < 0 ||
	    epoll_ctl(fs->epfd, EPOLL_CTL_ADD, fs->wake, &wake) != 0 ||
	    epoll_ctl(fs->epfd, EPOLL_CTL_ADD, fs->timer, &timer) != 0)
		goto fail;
	pthread_mutex_lock(&fs->lock);
	spawn_worker(fs);
	int ok = fs->nworkers == 1;
	pthread_mutex_unlock(&fs->lock);
	if (!ok)
		goto fail;
	srv->frame = fs;
	return 0;
fail:
	if (fs->epfd >= 0)
		close(fs->epfd);
	if (fs->wake >= 0)
		close(fs->wake);
	if (fs->timer >= 0)
		close(fs->timer);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return -1;
}

void rpc_frame_stop(struct rpc_server *srv)
{
	struct rpc_frame *fs = srv->frame;

	if (!fs)
		return;
	pthread_mutex_lock(&fs->lock);
	fs->stopping = 1;
	pthread_mutex_unlock(&fs->lock);
	uint64_t one = 1;
	if (write(fs->wake, &one, sizeof one) != sizeof one)
		log_warn("frame server: cannot wake its workers");
	for (unsigned i = 0; i < FRAME_MAX_WORKERS; i++) {
		pthread_mutex_lock(&fs->lock);
		int used = fs->workers[i].state != RPC_WORKER_FREE;
		pthread_mutex_unlock(&fs->lock);
		if (used)
			pthread_join(fs->workers[i].thread, NULL);
	}
	/* No worker left: every connection, selected or not, is closed here. */
	while (fs->head) {
		struct frame_conn *c = fs->head;
		unlink_conn(fs, c);
		close_conn(c);
	}
	close(fs->epfd);
	close(fs->wake);
	close(fs->timer);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	srv->frame = NULL;
}
