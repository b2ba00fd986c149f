/*
 * fleet_broker.h - a real Mosquitto broker for tests and benchmarks of the
 * fleet link: mutual TLS with the fleet PKI (hvctl pki fleet-init) on a free
 * loopback port, its own configuration, log and persistence in a directory.
 * The broker dies with the process that started it (PR_SET_PDEATHSIG).
 */
#ifndef FLEET_BROKER_H
#define FLEET_BROKER_H

#include <sys/types.h>

struct fleet_broker {
	pid_t pid;
	int port;
	char dir[256];
	char conf[320];
	char log[320];
	char err[512];
};

/* Writes dir/mosquitto.conf for the fleet PKI in pki_dir and starts the
 * broker on port (0: a free loopback port, kept across restarts). Waits,
 * bounded, until it accepts connections. 0, or -1 with b->err. */
int fleet_broker_start(struct fleet_broker *b, const char *dir, const char *pki_dir, int port);

/* SIGTERM (the broker saves its persistence), then waits. Idempotent. */
void fleet_broker_stop(struct fleet_broker *b);

/* The broker's resident memory in KiB (/proc), 0 if unknown. */
long fleet_broker_rss_kib(const struct fleet_broker *b);
/* Any process's resident memory in KiB, 0 if unknown. */
long fleet_rss_kib(pid_t pid);

#endif /* FLEET_BROKER_H */
