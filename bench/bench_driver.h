/*
 * bench_driver.h - the measurement loop shared by the RPC benchmarks
 * (hv-rpc-bench against hv-agent, hv-virt-bench against libvirtd): N client
 * threads, each with its own connection, call as fast as they can for a fixed
 * time or a fixed number of calls; every call's latency is kept, and the
 * summary gives p50, p99 and calls per second. Both programs go through this
 * one loop so that their figures are measured the same way and compare per
 * call.
 */
#ifndef BENCH_DRIVER_H
#define BENCH_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_ERR_LEN 256

/* One client implementation. open() runs in the client's own thread before
 * the clock starts and returns its per-thread state (NULL with err set on
 * failure); call() performs one request/response and returns 0 or -1 with err
 * set; close() releases what open() made. */
struct bench_client_ops {
	void *(*open)(void *arg, unsigned index, char *err, size_t errlen);
	int (*call)(void *client, char *err, size_t errlen);
	void (*close)(void *client);
};

struct bench_opts {
	unsigned clients;      /* concurrent client threads, each with its own connection */
	double seconds;        /* measured window (time mode), when calls == 0 */
	double warmup_seconds; /* calls before the window are not counted */
	unsigned long calls;   /* per client (count mode), 0 = time mode */
	int server_pid;        /* > 0: the server's CPU time over the window is read from /proc */
};

struct bench_result {
	unsigned clients;
	unsigned long calls;  /* successful calls measured */
	unsigned long errors; /* failed calls (any failure makes the run invalid) */
	double seconds;       /* length of the measured window */
	double p50_us, p99_us, max_us, mean_us;
	double calls_per_second;
	double server_cpu_us; /* the server's CPU (user + system) per call, -1 when not read */
	char first_error[BENCH_ERR_LEN];
};

/* Runs the benchmark; returns 0 when every client connected (the result may
 * still report call errors), -1 with res->first_error set otherwise. */
int bench_run(const struct bench_client_ops *ops, void *arg, const struct bench_opts *o,
	      struct bench_result *res);

/* Prints the result as one line of key=value pairs (what bench/run.sh
 * parses), prefixed with label. */
void bench_print(const char *label, const struct bench_result *res);

/* Parses the options every benchmark takes (--clients, --seconds, --warmup,
 * --calls, --server-pid). Returns 1 if argv[*i] was one of them (and advances *i past its
 * value), 0 if not, -1 with a message on stderr for a bad value. */
int bench_parse_common(int argc, char **argv, int *i, struct bench_opts *o);

/* The usage lines for the common options. */
extern const char bench_common_usage[];

uint64_t bench_now_ns(void);

/* Process helpers of the benchmarks that start their own daemons. */

/* CPU time (user + system, all threads) of process pid in clock ticks
 * (sysconf(_SC_CLK_TCK) a second) from /proc/PID/stat: 0 with *ticks set, or
 * -1 when the process is gone or the file cannot be parsed. */
int bench_proc_cpu_ticks(int pid, unsigned long long *ticks);

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int bench_free_port(void);

/* Starts argv[0] with argv, its stdout and stderr appended to log (created);
 * the child's pid, or -1. */
int bench_spawn_logged(const char *log, char *const argv[]);

#endif
