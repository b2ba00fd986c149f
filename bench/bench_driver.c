/*
 * bench_driver.c - the client threads, the measured window and the latency
 * summary shared by hv-rpc-bench and hv-virt-bench (see bench_driver.h).
 *
 * Every client connects before the clock starts (connection set-up is not
 * what is compared), then calls back to back, one call in flight per client,
 * like a management tool waiting for each answer. Latency is the wall time of
 * one call as the client sees it, including encoding and decoding.
 */
#include "bench_driver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	PHASE_WARMUP,
	PHASE_MEASURE,
	PHASE_STOP
};

const char bench_common_usage[] =
	"  --clients N      concurrent clients, each a thread with its own connection (default 1)\n"
	"  --seconds S      length of the measured window (default 3)\n"
	"  --warmup S       calls made before the window are not counted (default 0.5)\n"
	"  --calls K        instead of a time window: K measured calls per client\n"
	"  --server-pid P   also report the CPU time process P (the server) spends per call\n";

struct shared {
	const struct bench_client_ops *ops;
	void *arg;
	const struct bench_opts *o;
	pthread_barrier_t ready, go;
	atomic_int phase;
	atomic_int open_failed;
	pthread_mutex_t err_lock;
	char first_error[BENCH_ERR_LEN];
};

struct worker {
	struct shared *sh;
	unsigned index;
	pthread_t thread;
	uint64_t *ns;
	size_t n, cap;
	unsigned long errors;
	int oom;
};

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void keep_error(struct shared *sh, const char *msg)
{
	pthread_mutex_lock(&sh->err_lock);
	if (!sh->first_error[0])
		snprintf(sh->first_error, sizeof sh->first_error, "%s", msg);
	pthread_mutex_unlock(&sh->err_lock);
}

static void record(struct worker *w, uint64_t ns)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		uint64_t *p = realloc(w->ns, cap * sizeof *p);
		if (!p) {
			w->oom = 1;
			return;
		}
		w->ns = p;
		w->cap = cap;
	}
	w->ns[w->n++] = ns;
}

/* One call; counted only when `counted`. */
static void one_call(struct worker *w, void *client, int counted)
{
	char err[BENCH_ERR_LEN] = "";
	uint64_t t0 = bench_now_ns();
	int rc = w->sh->ops->call(client, err, sizeof err);
	uint64_t t1 = bench_now_ns();

	if (rc != 0) {
		keep_error(w->sh, err[0] ? err : "call failed");
		if (counted)
			w->errors++;
		return;
	}
	if (counted)
		record(w, t1 - t0);
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	struct shared *sh = w->sh;
	char err[BENCH_ERR_LEN] = "";
	void *client = sh->ops->open(sh->arg, w->index, err, sizeof err);

	if (!client) {
		keep_error(sh, err[0] ? err : "cannot connect");
		atomic_store(&sh->open_failed, 1);
	}
	pthread_barrier_wait(&sh->ready);
	if (client && sh->o->calls) {
		unsigned long warm = sh->o->calls / 10;
		for (unsigned long i = 0; i < warm; i++)
			one_call(w, client, 0);
	}
	pthread_barrier_wait(&sh->go);
	if (!client || atomic_load(&sh->open_failed))
		goto out;
	if (sh->o->calls) {
		for (unsigned long i = 0; i < sh->o->calls; i++)
			one_call(w, client, 1);
	} else {
		for (;;) {
			int ph = atomic_load_explicit(&sh->phase, memory_order_acquire);
			if (ph == PHASE_STOP)
				break;
			one_call(w, client, ph == PHASE_MEASURE);
		}
	}
out:
	if (client)
		sh->ops->close(client);
	return NULL;
}

int bench_proc_cpu_ticks(int pid, unsigned long long *ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields 14 and 15 (utime, stime) follow the ")" that ends the name,
	 * which may itself hold spaces and parentheses. */
	char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	return 0;
}

int bench_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

int bench_spawn_logged(const char *log, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The server's CPU time in seconds, or -1: read by the server's pid so that
 * the clients' own CPU does not enter the figure. */
static double proc_cpu_s(int pid)
{
	unsigned long long t;
	return bench_proc_cpu_ticks(pid, &t) == 0 ? (double)t / (double)sysconf(_SC_CLK_TCK) : -1;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static double pct_us(const uint64_t *ns, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n);
	if (rank < 1)
		rank = 1;
	return (double)ns[rank - 1] / 1000.0;
}

int bench_run(const struct bench_client_ops *ops, void *arg, const struct bench_opts *o,
	      struct bench_result *res)
{
	struct shared sh = { .ops = ops, .arg = arg, .o = o };
	struct worker *w = calloc(o->clients, sizeof *w);
	uint64_t t0, t1;
	double cpu0 = -1, cpu1 = -1;
	unsigned started = 0;
	int rc = -1;

	memset(res, 0, sizeof *res);
	res->clients = o->clients;
	if (!w) {
		snprintf(res->first_error, sizeof res->first_error, "out of memory");
		return -1;
	}
	atomic_init(&sh.phase, PHASE_WARMUP);
	atomic_init(&sh.open_failed, 0);
	pthread_mutex_init(&sh.err_lock, NULL);
	pthread_barrier_init(&sh.ready, NULL, o->clients + 1);
	pthread_barrier_init(&sh.go, NULL, o->clients + 1);
	for (; started < o->clients; started++) {
		w[started].sh = &sh;
		w[started].index = started;
		if (pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0)
			break;
	}
	if (started < o->clients) {
		/* The barriers count on every thread: without them nobody can go on. */
		fprintf(stderr, "bench: cannot create client thread %u of %u\n", started + 1,
			o->clients);
		abort();
	}
	pthread_barrier_wait(&sh.ready);
	pthread_barrier_wait(&sh.go);
	if (o->calls) {
		cpu0 = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
		t0 = bench_now_ns();
		for (unsigned i = 0; i < o->clients; i++)
			pthread_join(w[i].thread, NULL);
		t1 = bench_now_ns();
		cpu1 = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
	} else {
		if (!atomic_load(&sh.open_failed))
			sleep_s(o->warmup_seconds);
		cpu0 = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
		t0 = bench_now_ns();
		atomic_store_explicit(&sh.phase, PHASE_MEASURE, memory_order_release);
		if (!atomic_load(&sh.open_failed))
			sleep_s(o->seconds);
		t1 = bench_now_ns();
		cpu1 = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
		atomic_store_explicit(&sh.phase, PHASE_STOP, memory_order_release);
		for (unsigned i = 0; i < o->clients; i++)
			pthread_join(w[i].thread, NULL);
	}

	size_t total = 0;
	int oom = 0;
	for (unsigned i = 0; i < o->clients; i++) {
		total += w[i].n;
		res->errors += w[i].errors;
		oom |= w[i].oom;
	}
	uint64_t *all = malloc((total ? total : 1) * sizeof *all);
	if (!all || oom) {
		snprintf(res->first_error, sizeof res->first_error,
			 "out of memory for latency samples");
		goto out;
	}
	size_t k = 0;
	double sum = 0;
	for (unsigned i = 0; i < o->clients; i++)
		for (size_t j = 0; j < w[i].n; j++) {
			all[k++] = w[i].ns[j];
			sum += (double)w[i].ns[j];
		}
	qsort(all, total, sizeof *all, cmp_u64);
	res->calls = total;
	res->seconds = (double)(t1 - t0) / 1e9;
	if (total) {
		res->p50_us = pct_us(all, total, 0.50);
		res->p99_us = pct_us(all, total, 0.99);
		res->max_us = (double)all[total - 1] / 1000.0;
		res->mean_us = sum / (double)total / 1000.0;
	}
	res->calls_per_second = res->seconds > 0 ? (double)total / res->seconds : 0;
	res->server_cpu_us =
		cpu0 >= 0 && cpu1 >= 0 && total ? (cpu1 - cpu0) * 1e6 / (double)total : -1;
	snprintf(res->first_error, sizeof res->first_error, "%s", sh.first_error);
	rc = atomic_load(&sh.open_failed) ? -1 : 0;
out:
	free(all);
	for (unsigned i = 0; i < o->clients; i++)
		free(w[i].ns);
	free(w);
	pthread_barrier_destroy(&sh.ready);
	pthread_barrier_destroy(&sh.go);
	pthread_mutex_destroy(&sh.err_lock);
	return rc;
}

void bench_print(const char *label, const struct bench_result *r)
{
	printf("%s clients=%u calls=%lu errors=%lu seconds=%.3f p50_us=%.1f p99_us=%.1f "
	       "mean_us=%.1f max_us=%.1f cps=%.0f",
	       label, r->clients, r->calls, r->errors, r->seconds, r->p50_us, r->p99_us, r->mean_us,
	       r->max_us, r->calls_per_second);
	if (r->server_cpu_us >= 0)
		printf(" server_cpu_us=%.2f", r->server_cpu_us);
	printf("\n");
	if (r->first_error[0])
		fprintf(stderr, "%s: first error: %s\n", label, r->first_error);
	fflush(stdout);
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "%s: '%s' is not a number between %g and %g\n", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int bench_parse_common(int argc, char **argv, int *i, struct bench_opts *o)
{
	const char *opt = argv[*i];
	double v;

	if (strcmp(opt, "--clients") && strcmp(opt, "--seconds") && strcmp(opt, "--warmup") &&
	    strcmp(opt, "--calls") && strcmp(opt, "--server-pid"))
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s needs a value\n", opt);
		return -1;
	}
	const char *val = argv[++*i];
	if (!strcmp(opt, "--seconds"))
		return parse_num(opt, val, 0.01, 3600, &o->seconds) ? -1 : 1;
	if (!strcmp(opt, "--warmup"))
		return parse_num(opt, val, 0, 600, &o->warmup_seconds) ? -1 : 1;
	if (parse_num(opt, val, 1,
		      !strcmp(opt, "--clients")      ? 1024
		      : !strcmp(opt, "--server-pid") ? 4194304
						     : 1e9,
		      &v))
		return -1;
	if (v != floor(v)) {
		fprintf(stderr, "%s: '%s' is not a whole number\n", opt, val);
		return -1;
	}
	if (!strcmp(opt, "--clients"))
		o->clients = (unsigned)v;
	else if (!strcmp(opt, "--server-pid"))
		o->server_pid = (int)v;
	else
		o->calls = (unsigned long)v;
	return 1;
}
