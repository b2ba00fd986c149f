/*
 * fleet_broker.c - starts and stops a Mosquitto broker for the fleet link's
 * tests and benchmark (fleet_broker.h).
 */
#define _GNU_SOURCE
#include "fleet_broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int write_conf(struct fleet_broker *b, const char *pki)
{
	FILE *f = fopen(b->conf, "w");
	if (!f)
		return -1;
	/* Run as whoever runs the test: as root, Mosquitto would otherwise
	 * drop to a user that cannot read the PKI directory. */
	const char *user = getenv("USER");
	fprintf(f,
		"per_listener_settings false\n"
		"allow_anonymous false\n"
		"listener %d 127.0.0.1\n"
		"cafile %s/fleet-ca.crt\n"
		"certfile %s/broker.crt\n"
		"keyfile %s/broker.key\n"
		"require_certificate true\n"
		"use_identity_as_username true\n"
		"persistence true\n"
		"persistence_location %s/\n"
		"max_queued_messages 100000\n"
		"log_dest stderr\n"
		"user %s\n",
		b->port, pki, pki, pki, b->dir, geteuid() == 0 ? "root" : (user ? user : "root"));
	return fclose(f);
}

int fleet_broker_start(struct fleet_broker *b, const char *dir, const char *pki_dir, int port)
{
	b->pid = 0;
	snprintf(b->dir, sizeof b->dir, "%s", dir);
	snprintf(b->conf, sizeof b->conf, "%s/mosquitto.conf", dir);
	snprintf(b->log, sizeof b->log, "%s/mosquitto.log", dir);
	b->port = port ? port : free_port();
	if (b->port <= 0 || write_conf(b, pki_dir) != 0) {
		snprintf(b->err, sizeof b->err, "cannot write %s", b->conf);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(b->err, sizeof b->err, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp("mosquitto", "mosquitto", "-c", b->conf, (char *)NULL);
		_exit(127);
	}
	b->pid = pid;
	for (int i = 0; i < 200; i++) { /* at most 10 s */
		if (accepts(b->port))
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			b->pid = 0;
			snprintf(b->err, sizeof b->err, "mosquitto exited (see %s)", b->log);
			return -1;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	snprintf(b->err, sizeof b->err, "mosquitto does not accept on port %d (see %s)", b->port,
		 b->log);
	fleet_broker_stop(b);
	return -1;
}

void fleet_broker_stop(struct fleet_broker *b)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			b->pid = 0;
			return;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

long fleet_broker_rss_kib(const struct fleet_broker *b)
{
	return fleet_rss_kib(b->pid);
}

long fleet_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = 0;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
