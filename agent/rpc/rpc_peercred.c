/*
 * rpc_peercred.c - who is calling on a unix socket. gRPC's local
 * credentials do not tell the server the caller's uid, so hv-agent accepts
 * the unix connections itself: an accept thread per unix listener reads the
 * kernel's SO_PEERCRED (uid, gid and pid of the process that connected) and
 * only then hands the connection on: to the frame server (rpc_frame.c),
 * which keeps it when it speaks the local frame protocol and gives it to
 * gRPC otherwise. Every gRPC call on that connection reports the peer
 * "fd:N"; the credentials are kept by N, and a descriptor number is reused
 * only after the connection that had it was closed (the frame server forgets
 * N's entry before it closes one), so the entry for N always belongs to the
 * connection gRPC names.
 */
#define _GNU_SOURCE
#include "rpc_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "log.h"

int rpc_peercred_listen(struct rpc_listener *lis, int fd)
{
	lis->creds = calloc(RPC_MAX_PEER_FD, sizeof *lis->creds);
	if (!lis->creds)
		return -1;
	lis->listen_fd = fd;
	return 0;
}

static void peercred_accept(struct rpc_listener *lis, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof uc) {
		log_warn("%s: caller's credentials unreadable (%s): connection closed", lis->addr,
			 strerror(errno));
		close(fd);
		return;
	}
	if (fd >= RPC_MAX_PEER_FD) {
		log_warn("%s: too many open connections; closing the one from uid %u pid %d",
			 lis->addr, (unsigned)uc.uid, (int)uc.pid);
		close(fd);
		return;
	}
	pthread_mutex_lock(&lis->srv->lock);
	lis->creds[fd].valid = 1;
	lis->creds[fd].uid = uc.uid;
	lis->creds[fd].gid = uc.gid;
	lis->creds[fd].pid = uc.pid;
	pthread_mutex_unlock(&lis->srv->lock);
	log_debug("%s: connection fd %d from uid %u gid %u pid %d", lis->addr, fd, (unsigned)uc.uid,
		  (unsigned)uc.gid, (int)uc.pid);
	/* The frame server sees the first byte and picks the protocol
	 * (rpc_frame.c, FRAME-001). */
	if (lis->srv->frame) {
		struct rpc_peercred pc = { .valid = 1, .uid = uc.uid, .gid = uc.gid, .pid = uc.pid };
		rpc_frame_accept(lis, fd, &pc);
		return;
	}
	rpc_peercred_to_grpc(lis, fd);
}

void rpc_peercred_to_grpc(struct rpc_listener *lis, int fd)
{
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	grpc_server_add_channel_from_fd(lis->server, fd, creds);
	grpc_server_credentials_release(creds);
}

static void *accept_thread(void *arg)
{
	struct rpc_listener *lis = arg;
	struct pollfd pfd[2] = { { .fd = lis->listen_fd, .events = POLLIN },
				 { .fd = lis->wake[0], .events = POLLIN } };

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: poll: %s", lis->addr, strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		int fd = accept4(lis->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("%s: accept: %s", lis->addr, strerror(errno));
				poll(NULL, 0, 100); /* let a connection close first */
			}
			continue;
		}
		peercred_accept(lis, fd); /* gRPC expects a non-blocking socket */
	}
	return NULL;
}

int rpc_peercred_start(struct rpc_listener *lis)
{
	if (lis->listen_fd < 0)
		return 0;
	if (pipe2(lis->wake, O_CLOEXEC) != 0)
		return -1;
	if (pthread_create(&lis->accept_thread, NULL, accept_thread, lis) != 0) {
		close(lis->wake[0]);
		close(lis->wake[1]);
		return -1;
	}
	lis->accepting = 1;
	return 0;
}

void rpc_peercred_stop(struct rpc_listener *lis)
{
	if (lis->accepting) {
		if (write(lis->wake[1], "", 1) < 0)
			log_warn("%s: cannot wake the accept thread", lis->addr);
		pthread_join(lis->accept_thread, NULL);
		close(lis->wake[0]);
		close(lis->wake[1]);
		lis->accepting = 0;
	}
	if (lis->listen_fd >= 0)
		close(lis->listen_fd);
	lis->listen_fd = -1;
}

void rpc_peercred_free(struct rpc_listener *lis)
{
	rpc_peercred_stop(lis);
	free(lis->creds);
	lis->creds = NULL;
}

void rpc_peercred_identify(struct rpc_call *c)
{
	struct rpc_listener *lis = c->lis;
	const char *p = c->peer_str;
	char *end;

	if (!lis->creds || !p || strncmp(p, "fd:", 3) != 0)
		return;
	long fd = strtol(p + 3, &end, 10);
	if (end == p + 3 || *end || fd < 0 || fd >= RPC_MAX_PEER_FD)
		return;
	pthread_mutex_lock(&lis->srv->lock);
	if (lis->creds[fd].valid) {
		c->peer.has_cred = true;
		c->peer.uid = lis->creds[fd].uid;
		c->peer.gid = lis->creds[fd].gid;
		c->peer.pid = lis->creds[fd].pid;
	}
	pthread_mutex_unlock(&lis->srv->lock);
}
