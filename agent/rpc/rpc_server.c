/*
 * rpc_server.c - listeners and completion-queue threads on the gRPC C core
 * API (rpc_server.h): one gRPC server object per listener (read-write unix
 * socket, read-only unix socket, TCP with mutual TLS), so every call knows
 * where it came from, all of them on one completion queue polled by one pool
 * of threads; start, and a graceful stop that lets in-flight calls finish.
 * What happens to one call is in rpc_call.c.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "rpc_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc_security.h>

#include "deadline.h"
#include "log.h"
/* ------------------------------------------------------------------------ */
/* Completion-queue threads                                                  */

/* One pool of threads polls the one queue of every listener. With a queue
 * (and threads) per listener, gRPC's poller, which may be any listener's
 * thread, read a call's bytes and then woke a thread of the call's own
 * listener to run it: two threads and a context switch per event. */
/* An added thread with nothing to do leaves when another idle one remains:
 * every thread beyond need costs a hand-off of gRPC's poller per event. */
static int retire(struct rpc_worker *w)
{
	struct rpc_server *srv = w->srv;
	int gone = 0;

	pthread_mutex_lock(&srv->lock);
	if (srv->nthreads > srv->base && srv->busy + 1 < srv->nthreads &&
	    !__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE)) {
		srv->nthreads--;
		w->state = RPC_WORKER_RETIRED;
		gone = 1;
	}
	pthread_mutex_unlock(&srv->lock);
	return gone;
}

static int spawn_thread(struct rpc_server *srv);

/* Once per RPC_LOAD_WINDOW_MS, counted in events and in the thread's
 * voluntary context switches (getrusage RUSAGE_THREAD): a thread that
 * hardly slept between events had a backlog and asks for another (many
 * clients then get more than one core); one that slept before most events
 * retires if it was added. Neither CPU time nor wall time says this on a
 * shared machine: a single client's thread waits for a CPU as long as a busy
 * one. Returns 1 when the thread is to leave. */
static int watch_load(struct rpc_worker *w)
{
	struct rpc_server *srv = w->srv;
	uint64_t now = hv_mono_ns();
	struct rusage ru;

	w->win_events++;
	if (w->win_ns && now - w->win_ns < RPC_LOAD_WINDOW_MS * 1000000ull)
		return 0;
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	uint64_t sleeps = (uint64_t)ru.ru_nvcsw - w->win_sleeps, events = w->win_events;
	int first = !w->win_ns;
	w->win_ns = now;
	w->win_sleeps = (uint64_t)ru.ru_nvcsw;
	w->win_events = 0;
	if (first || events < RPC_LOAD_MIN_EVENTS)
		return 0;
	if (sleeps * 100 >= events * RPC_LOAD_RETIRE_PCT)
		return retire(w);
	if (sleeps * 100 < events * RPC_LOAD_ADD_PCT) {
		pthread_mutex_lock(&srv->lock);
		if (srv->nthreads < srv->busy + srv->ncpu &&
		    !__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE) && spawn_thread(srv) == 0)
			log_debug("%u RPC threads (a backlog of calls)", srv->nthreads);
		pthread_mutex_unlock(&srv->lock);
	}
	return 0;
}

static void *cq_thread(void *arg)
{
	struct rpc_worker *w = arg;
	struct rpc_server *srv = w->srv;

	for (;;) {
		grpc_event ev =
			grpc_completion_queue_next(srv->cq,
						   gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
								gpr_time_from_millis(RPC_IDLE_RETIRE_MS,
										     GPR_TIMESPAN)),
						   NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_QUEUE_TIMEOUT && retire(w))
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct rpc_tag *t = ev.tag;
		int stopping = __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
		switch (t->kind) {
		case TAG_NEW_CALL: {
			struct rpc_call *c = t->obj;
			if (!ev.success) { /* server shutting down: the request is void */
				rpc_call_free(c);
				break;
			}
			if (!stopping)
				rpc_post_request(c->lis, c->midx);
			rpc_handle_call(c);
			break;
		}
		case TAG_CALL_DONE:
			rpc_call_free(t->obj);
			break;
		case TAG_UNKNOWN_CALL: {
			struct rpc_unknown *u = t->obj;
			if (!ev.success) {
				rpc_unknown_free(u);
				break;
			}
			if (!stopping)
				rpc_post_unknown(u->lis);
			rpc_handle_unknown(u);
			break;
		}
		case TAG_UNKNOWN_DONE:
			rpc_unknown_free(t->obj);
			break;
		case TAG_STREAM_OP:
		case TAG_STREAM_CLOSED:
		case TAG_STREAM_RECV:
			rpc_stream_complete(t, ev.success);
			break;
		case TAG_SHUTDOWN: {
			struct rpc_listener *lis = t->obj;
			pthread_mutex_lock(&srv->lock);
			lis->shutdown_done = 1;
			pthread_cond_broadcast(&srv->cond);
			pthread_mutex_unlock(&srv->lock);
			break;
		}
		}
		if (watch_load(w)) /* after the event: it is never dropped */
			break;
	}
	return NULL;
}

/* Caller holds srv->lock. A retired thread's slot is reused once joined
 * (it has left its loop and takes no lock any more). */
static int spawn_thread(struct rpc_server *srv)
{
	for (unsigned i = 0; i < RPC_MAX_THREADS; i++) {
		struct rpc_worker *w = &srv->workers[i];
		if (w->state == RPC_WORKER_RUNNING)
			continue;
		if (w->state == RPC_WORKER_RETIRED)
			pthread_join(w->thread, NULL);
		w->state = RPC_WORKER_FREE;
		w->srv = srv;
		if (pthread_create(&w->thread, NULL, cq_thread, w) != 0)
			return -1;
		w->state = RPC_WORKER_RUNNING;
		srv->nthreads++;
		return 0;
	}
	return -1;
}

void rpc_thread_busy(struct rpc_listener *lis)
{
	struct rpc_server *srv = lis->srv;

	pthread_mutex_lock(&srv->lock);
	srv->busy++;
	/* Keep one thread polling the queue: a handler waiting for hv-core must
	 * not hold up the reads queued behind it. No new threads once the
	 * server stops (rpc_server_stop_and_free joins what exists). */
	if (srv->busy >= srv->nthreads && !__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE) &&
	    spawn_thread(srv) == 0)
		log_debug("%u RPC threads (all others busy)", srv->nthreads);
	pthread_mutex_unlock(&srv->lock);
}

void rpc_thread_idle(struct rpc_listener *lis)
{
	pthread_mutex_lock(&lis->srv->lock);
	lis->srv->busy--;
	pthread_mutex_unlock(&lis->srv->lock);
}

size_t rpc_server_counters(struct rpc_server *srv, struct rpc_listener_counters *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < srv->nlis && n < max; i++, n++) {
		struct rpc_listener *lis = srv->lis[i];
		out[n].kind = lis->kind;
		out[n].addr = lis->addr;
		out[n].calls = __atomic_load_n(&lis->calls, __ATOMIC_RELAXED);
		out[n].refused = __atomic_load_n(&lis->refused, __ATOMIC_RELAXED);
		out[n].expired = __atomic_load_n(&lis->expired, __ATOMIC_RELAXED);
		out[n].handled = __atomic_load_n(&lis->handled, __ATOMIC_RELAXED);
		pthread_mutex_lock(&srv->lock);
		out[n].threads = srv->nthreads;
		pthread_mutex_unlock(&srv->lock);
	}
	return n;
}

void rpc_server_set_unrun(struct rpc_server *srv, rpc_unrun_fn fn)
{
	srv->unrun = fn;
}

void rpc_server_set_observer(struct rpc_server *srv, rpc_observe_fn fn, void *arg)
{
	srv->observe = fn;
	srv->observe_arg = arg;
}

unsigned rpc_server_open_streams(struct rpc_server *srv)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = srv->live_streams;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Server and listeners                                                      */

void rpc_global_init(void)
{
	grpc_init();
}

void rpc_global_shutdown(void)
{
	grpc_shutdown_blocking();
}

struct rpc_server *rpc_server_new(const struct rpc_method *methods, size_t count, void *app,
				  rpc_authorize_fn authorize, struct hv_status *st)
{
	struct rpc_server *srv = calloc(1, sizeof *srv);

	if (!srv) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	srv->workers = calloc(RPC_MAX_THREADS, sizeof *srv->workers);
	if (!srv->workers) {
		free(srv);
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	srv->methods = methods;
	srv->nmethods = count;
	srv->app = app;
	srv->authorize = authorize;
	srv->max_streams_listener = RPC_STREAMS_PER_LISTENER;
	srv->max_streams_identity = RPC_STREAMS_PER_IDENTITY;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	return srv;
}

int rpc_server_set_stream_limits(struct rpc_server *srv, unsigned per_listener,
				 unsigned per_identity, struct hv_status *st)
{
	if (per_listener < 1 || per_listener > RPC_MAX_STREAMS)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "streams per listener must be 1 to %d (got %u)",
				     RPC_MAX_STREAMS, per_listener);
	if (per_identity < 1 || per_identity > per_listener)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "streams per caller must be 1 to the streams per listener, %u (got %u)",
				     per_listener, per_identity);
	srv->max_streams_listener = per_listener;
	srv->max_streams_identity = per_identity;
	return 0;
}

static struct rpc_listener *listener_new(struct rpc_server *srv, enum rpc_listener_kind kind,
					 const char *addr, struct hv_status *st)
{
	struct rpc_listener *lis;

	if (srv->started) {
		hv_status_set(st, HV_FAILED_PRECONDITION,
			      "listeners must be added before the server starts");
		return NULL;
	}
	if (srv->nlis == RPC_MAX_LISTENERS) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "at most %d listeners", RPC_MAX_LISTENERS);
		return NULL;
	}
	lis = calloc(1, sizeof *lis);
	if (lis)
		lis->handles = calloc(srv->nmethods ? srv->nmethods : 1, sizeof(void *));
	if (lis)
		lis->addr = strdup(addr);
	if (!lis || !lis->handles || !lis->addr) {
		if (lis) {
			free(lis->handles);
			free(lis->addr);
		}
		free(lis);
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	lis->srv = srv;
	lis->kind = kind;
	lis->listen_fd = -1;
	lis->shutdown_tag.kind = TAG_SHUTDOWN;
	lis->shutdown_tag.obj = lis;
	/* Explicit limits rather than gRPC's defaults (4 MiB in, unlimited out):
	 * an oversized request is refused by gRPC with RESOURCE_EXHAUSTED. */
	grpc_arg args[3];
	memset(args, 0, sizeof args);
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = RPC_MAX_RECV_BYTES;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = RPC_MAX_SEND_BYTES;
	/* TLS records of at most 4 KiB from hv-agent: the TSI frame protector
	 * of each mutual-TLS connection keeps a buffer of this size (16 KiB by
	 * default). About 8 KB less per connection (docs/performance.md); the
	 * record overhead of a large response stays below 1 %. */
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)GRPC_ARG_TSI_MAX_FRAME_SIZE;
	args[2].value.integer = RPC_TLS_FRAME_BYTES;
	grpc_channel_args cargs = { .num_args = 3, .args = args };
	lis->server = grpc_server_create(&cargs, NULL);
	lis->cq = srv->cq;
	grpc_server_register_completion_queue(lis->server, lis->cq, NULL);
	for (size_t i = 0; i < srv->nmethods; i++)
		lis->handles[i] =
			grpc_server_register_method(lis->server, srv->methods[i].path, NULL,
						    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
	return lis;
}

/* Frees a listener that never started. gRPC insists that a server with a
 * bound port is shut down before it is destroyed, and only a started server
 * can be: start it, shut it down at once, and wait for the shutdown on the
 * queue (the threads see it when they run; without threads, read it here:
 * nothing else is queued before the server starts). The queue stays: it is
 * the server's. */
static void listener_discard(struct rpc_listener *lis)
{
	struct rpc_server *srv = lis->srv;

	if (lis->has_port) {
		grpc_server_start(lis->server);
		grpc_server_shutdown_and_notify(lis->server, lis->cq, &lis->shutdown_tag);
		pthread_mutex_lock(&srv->lock);
		unsigned threads = srv->nthreads;
		while (threads && !lis->shutdown_done)
			pthread_cond_wait(&srv->cond, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
		while (!threads) {
			grpc_event ev =
				grpc_completion_queue_next(lis->cq,
							   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
			if (ev.type == GRPC_OP_COMPLETE && ev.tag == &lis->shutdown_tag)
				break;
		}
	}
	grpc_server_destroy(lis->server);
	rpc_peercred_free(lis);
	if (lis->unix_path && lis->has_port)
		unlink(lis->unix_path);
	free(lis->handles);
	free(lis->addr);
	free(lis->unix_path);
	free(lis);
}

/* A socket file at path: stale (nobody accepts) -> removed; live -> refused. */
static int clear_stale_socket(const char *path, struct hv_status *st)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT
			       ? 0
			       : hv_status_set(st, HV_UNAVAILABLE, "%s: %s", path, strerror(errno));
	if (!S_ISSOCK(sb.st_mode))
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "%s exists and is not a socket; not replacing it", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	if (live)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "another process is serving %s (is hv-agent already running?)",
				     path);
	if (unlink(path) < 0)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot remove stale socket %s: %s", path,
				     strerror(errno));
	log_info("removed stale socket %s", path);
	return 0;
}

int rpc_server_add_unix(struct rpc_server *srv, const char *path, mode_t mode, bool read_only,
			struct hv_status *st)
{
	struct sockaddr_un sa;
	char addr[sizeof sa.sun_path + 8];

	if (strlen(path) >= sizeof sa.sun_path)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "socket path %s is %zu bytes, longer than the %zu a unix socket allows",
				     path, strlen(path), sizeof sa.sun_path - 1);
	if (clear_stale_socket(path, st) != 0)
		return -1;
	snprintf(addr, sizeof addr, "unix:%s", path);
	struct rpc_listener *lis =
		listener_new(srv, read_only ? RPC_LISTENER_UNIX_RO : RPC_LISTENER_UNIX_RW, addr, st);
	if (!lis)
		return -1;
	lis->unix_path = strdup(path);
	/* hv-agent accepts the connections itself to learn who connected
	 * (rpc_peercred.c). The socket is created with the process umask
	 * applied (hv-agent sets 077 once at start, before any thread: the
	 * umask is process-wide and never changed while threads run), then
	 * given its mode exactly. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int bound = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (!bound || listen(fd, 64) != 0 || !lis->unix_path || rpc_peercred_listen(lis, fd) != 0) {
		int err = errno;
		if (fd >= 0 && lis->listen_fd != fd)
			close(fd);
		if (bound)
			unlink(path);
		listener_discard(lis);
		return hv_status_set(st, HV_UNAVAILABLE,
				     "cannot listen on %s: %s (directory missing or not writable?)",
				     addr, strerror(err));
	}
	lis->has_port = 1;
	if (chmod(path, mode) < 0)
		log_warn("chmod %s: %s", path, strerror(errno));
	srv->lis[srv->nlis++] = lis;
	return 0;
}

/* Only loopback: servers never listen on other interfaces (project rule). */
int rpc_check_loopback(const char *addr, struct hv_status *st)
{
	static const char *const ok[] = { "127.0.0.1:", "localhost:", "[::1]:", NULL };

	for (int i = 0; ok[i]; i++)
		if (strncmp(addr, ok[i], strlen(ok[i])) == 0 && addr[strlen(ok[i])] != '\0')
			return 0;
	return hv_status_set(st, HV_INVALID_ARGUMENT,
			     "listen address %s is not loopback (use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT)",
			     addr);
}

int rpc_check_listen_addr(const char *addr, struct hv_status *st)
{
	const char *colon = strrchr(addr, ':');
	size_t digits = colon ? strspn(colon + 1, "0123456789") : 0;

	if (!colon || colon == addr || digits == 0 || digits > 5 || colon[1 + digits] != '\0' ||
	    atoi(colon + 1) > 65535 || strpbrk(addr, " /\t"))
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:50051, "
				     "[::1]:50051, 192.168.1.10:50051)",
				     addr);
	return 0;
}

int rpc_server_add_tcp_mtls(struct rpc_server *srv, const char *addr, const char *ca_pem,
			    const char *cert_pem, const char *key_pem, struct hv_status *st)
{
	/* Mutual TLS may listen on any address the operator names (a workshop
	 * tester on the vehicle network); there is no plaintext TCP listener. */
	if (rpc_check_listen_addr(addr, st) != 0)
		return -1;
	struct rpc_listener *lis = listener_new(srv, RPC_LISTENER_TCP_MTLS, addr, st);
	if (!lis)
		return -1;
	grpc_ssl_pem_key_cert_pair pair = { .private_key = key_pem, .cert_chain = cert_pem };
	grpc_server_credentials *creds =
		grpc_ssl_server_credentials_create_ex(ca_pem, &pair, 1,
						      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY,
						      NULL);
	if (!creds) {
		listener_discard(lis);
		return hv_status_set(st, HV_INVALID_ARGUMENT, "TLS credentials for %s were refused",
				     addr);
	}
	int port = grpc_server_add_http2_port(lis->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (port == 0) {
		listener_discard(lis);
		return hv_status_set(st, HV_UNAVAILABLE, "cannot listen on %s (address in use?)",
				     addr);
	}
	lis->has_port = 1;
	srv->lis[srv->nlis++] = lis;
	return 0;
}

int rpc_server_start(struct rpc_server *srv, unsigned threads, struct hv_status *st)
{
	if (threads == 0)
		threads = 1;
	for (size_t i = 0; i < srv->nlis; i++)
		if (srv->lis[i]->listen_fd >= 0 && !srv->frame && rpc_frame_start(srv) != 0)
			return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
					     "cannot start the unix sockets' frame server");
	for (size_t i = 0; i < srv->nlis; i++) {
		struct rpc_listener *lis = srv->lis[i];
		grpc_server_start(lis->server);
		lis->started = 1;
		for (size_t m = 0; m < srv->nmethods; m++)
			if (rpc_post_request(lis, m) != 0)
				return hv_status_set(st, HV_INTERNAL,
						     "cannot post call requests on %s", lis->addr);
		if (rpc_post_unknown(lis) != 0)
			return hv_status_set(st, HV_INTERNAL, "cannot post call requests on %s",
					     lis->addr);
		pthread_mutex_lock(&srv->lock);
		srv->base = threads;
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		srv->ncpu = ncpu > 0 ? (unsigned)ncpu : 1;
		while (srv->nthreads < threads && srv->nthreads < RPC_MAX_THREADS) {
			if (spawn_thread(srv) != 0) {
				pthread_mutex_unlock(&srv->lock);
				return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
						     "cannot start RPC threads");
			}
		}
		pthread_mutex_unlock(&srv->lock);
		if (rpc_peercred_start(lis) != 0)
			return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
					     "cannot start the accept thread of %s", lis->addr);
		log_info("listening on %s%s", lis->addr,
			 lis->kind == RPC_LISTENER_UNIX_RO    ? " (read-only)"
			 : lis->kind == RPC_LISTENER_TCP_MTLS ? " (mutual TLS)"
							      : "");
	}
	srv->started = 1;
	return 0;
}

static int all_quiet(struct rpc_server *srv)
{
	if (srv->live_streams)
		return 0;
	for (size_t i = 0; i < srv->nlis; i++)
		if (srv->nthreads && srv->lis[i]->started && !srv->lis[i]->shutdown_done)
			return 0;
	return 1;
}

void rpc_server_stop_and_free(struct rpc_server *srv, unsigned grace_ms)
{
	if (!srv)
		return;
	__atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
	for (size_t i = 0; i < srv->nlis; i++)
		rpc_peercred_stop(srv->lis[i]); /* no new connections */
	for (size_t i = 0; i < srv->nlis; i++)
		if (srv->lis[i]->started)
			grpc_server_shutdown_and_notify(srv->lis[i]->server, srv->lis[i]->cq,
							&srv->lis[i]->shutdown_tag);
	/* Frame calls see stopping; their workers end and their connections
	 * close (the accept threads, which feed it, are gone). */
	rpc_frame_stop(srv);

	/* Let in-flight calls finish; cancel whatever is left after the grace. */
	struct timespec dl = hv_timespec_after_ms(CLOCK_REALTIME, grace_ms);
	pthread_mutex_lock(&srv->lock);
	int rc = 0;
	while (!all_quiet(srv) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&srv->cond, &srv->lock, &dl);
	if (!all_quiet(srv)) {
		pthread_mutex_unlock(&srv->lock);
		log_warn("calls still running after %u ms: cancelling them", grace_ms);
		for (size_t i = 0; i < srv->nlis; i++)
			if (srv->lis[i]->started)
				grpc_server_cancel_all_calls(srv->lis[i]->server);
		pthread_mutex_lock(&srv->lock);
		while (!all_quiet(srv))
			pthread_cond_wait(&srv->cond, &srv->lock);
	}
	pthread_mutex_unlock(&srv->lock);

	for (size_t i = 0; i < srv->nlis; i++) {
		struct rpc_listener *lis = srv->lis[i];
		if (!lis->started) {
			listener_discard(lis);
			continue;
		}
		log_info("%s: %llu calls, %llu refused by authorization, %llu past their deadline, %llu handled",
			 lis->addr, (unsigned long long)lis->calls, (unsigned long long)lis->refused,
			 (unsigned long long)lis->expired, (unsigned long long)lis->handled);
		grpc_server_destroy(lis->server);
		rpc_peercred_free(lis);
		if (lis->unix_path)
			unlink(lis->unix_path);
		free(lis->handles);
		free(lis->addr);
		free(lis->unix_path);
		free(lis);
	}
	log_info("%u RPC threads", srv->nthreads);
	grpc_completion_queue_shutdown(srv->cq);
	/* No thread is added once stopping is set; join every slot ever used. */
	int any = 0;
	for (unsigned i = 0; i < RPC_MAX_THREADS; i++) {
		pthread_mutex_lock(&srv->lock);
		int used = srv->workers[i].state != RPC_WORKER_FREE;
		pthread_mutex_unlock(&srv->lock);
		if (used) {
			pthread_join(srv->workers[i].thread, NULL);
			any = 1;
		}
	}
	if (!any) /* no thread ever drained it */
		while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
	grpc_completion_queue_destroy(srv->cq);
	free(srv->workers);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	free(srv);
}
