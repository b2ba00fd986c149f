/*
 * watch_bench.c - hv-watch-bench: how WatchEvents grows with its followers
 * (docs/performance.md "Scale"). It starts the real hv-agent against the test
 * double of hv-core (4 running VMs), opens N WatchEvents streams, each on its
 * own connection as N separate clients would, and then appends E lifecycle
 * events to the double's event ring one at a time. For each event it takes
 * the time from the append to its arrival at the first and at the last
 * follower, and over all events hv-agent's CPU time (from /proc/PID/stat, so
 * that the bench's own readers do not count) per event. All the followers
 * are this process's uid, so hv-agent runs with --max-streams-per-identity
 * and --max-streams-per-listener at their most (64).
 *
 * usage: hv-watch-bench --bin DIR --followers N [--events E]
 *
 * Wall times on a shared machine swing with its load; no figure is asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>

#include "bench_driver.h"
#include "grpc_setup.h"
#include "bench_double.h"
#include "hvcore_double.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

#define MAX_FOLLOWERS 256
#define MAX_EVENTS 1000
#define WAIT_MS 3000 /* an event not at every follower by then counts as lost */

/* A follower: its stream and the receive it has outstanding. */
struct follower {
	grpc_channel *ch;
	grpc_call *call;
	grpc_byte_buffer *in;
	grpc_metadata_array md;
	int open;
};

static struct follower fol[MAX_FOLLOWERS];
static int nfol;
static grpc_completion_queue *cq;

/* Per event (by its index in the run): arrivals so far, first and last. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived_cv = PTHREAD_COND_INITIALIZER;
static uint64_t seq_base; /* hv-core sequence number of event index 0 */
static int arrivals[MAX_EVENTS];
static uint64_t first_at[MAX_EVENTS], last_at[MAX_EVENTS];
static uint64_t streamed; /* Event messages received in all */
static int stopping;      /* set before the streams are cancelled: no new receives */

/* User + system CPU of pid, in clock ticks, or 0 when unreadable. */
static unsigned long long proc_cpu(pid_t pid)
{
	unsigned long long t = 0;
	return bench_proc_cpu_ticks((int)pid, &t) == 0 ? t : 0;
}

/* Asks follower i's stream for its next message (tag: the follower). */
static int want_next(int i)
{
	grpc_op op = { 0 };
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &fol[i].in;
	return grpc_call_start_batch(fol[i].call, &op, 1, &fol[i], NULL) == GRPC_CALL_OK ? 0 : -1;
}

/* One thread reads every stream through the shared completion queue. */
static void *reader(void *arg)
{
	(void)arg;
	for (;;) {
		grpc_event ev =
			grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return NULL;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		uint64_t t = bench_now_ns();
		struct follower *f = ev.tag;
		if (!ev.success || !f->in) {
			pthread_mutex_lock(&lock);
			f->open = 0; /* the stream ended */
			pthread_cond_broadcast(&arrived_cv);
			pthread_mutex_unlock(&lock);
			continue;
		}
		grpc_byte_buffer_reader rd;
		grpc_byte_buffer_reader_init(&rd, f->in);
		grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
		grpc_byte_buffer_reader_destroy(&rd);
		grpc_byte_buffer_destroy(f->in);
		f->in = NULL;
		Hvmgr__V1__Event *e = hvmgr__v1__event__unpack(NULL, GRPC_SLICE_LENGTH(s),
							       GRPC_SLICE_START_PTR(s));
		grpc_slice_unref(s);
		pthread_mutex_lock(&lock);
		streamed++;
		if (e && e->seq >= seq_base && e->seq - seq_base < MAX_EVENTS) {
			size_t k = (size_t)(e->seq - seq_base);
			if (!arrivals[k]++)
				first_at[k] = t;
			last_at[k] = t;
			pthread_cond_broadcast(&arrived_cv);
		}
		pthread_mutex_unlock(&lock);
		if (e)
			hvmgr__v1__event__free_unpacked(e, NULL);
		pthread_mutex_lock(&lock);
		if (stopping || want_next((int)(f - fol)) != 0)
			f->open = 0;
		pthread_cond_broadcast(&arrived_cv);
		pthread_mutex_unlock(&lock);
	}
}

/* Opens follower i's WatchEvents (events from now on); 0 once the stream's
 * initial metadata arrived, that is hv-agent accepted it. */
static int open_follower(int i, const char *target)
{
	struct hvc_channel_opts co = { .target = target, .own_subchannel_pool = true };
	struct follower *f = &fol[i];
	f->ch = hvc_channel_create(&co);
	f->call =
		grpc_channel_create_call(f->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					 grpc_slice_from_static_string("/hvmgr.v1.Hvmgr/WatchEvents"),
					 NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	Hvmgr__V1__WatchEventsRequest req = HVMGR__V1__WATCH_EVENTS_REQUEST__INIT;
	uint8_t buf[32];
	size_t len = hvmgr__v1__watch_events_request__pack(&req, buf);
	grpc_slice rs = grpc_slice_from_copied_buffer((const char *)buf, len);
	grpc_byte_buffer *out = grpc_raw_byte_buffer_create(&rs, 1);
	grpc_slice_unref(rs);
	grpc_op ops[4];
	hvc_send_ops(ops, out);
	grpc_metadata_array_init(&f->md);
	memset(&ops[3], 0, sizeof ops[3]);
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &f->md;
	/* the opening batch on the shared queue; the reader is not running yet */
	int rc = grpc_call_start_batch(f->call, ops, 4, f, NULL) == GRPC_CALL_OK ? 0 : -1;
	if (rc == 0) {
		gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					       gpr_time_from_seconds(10, GPR_TIMESPAN));
		grpc_event ev = grpc_completion_queue_next(cq, dl, NULL);
		rc = ev.type == GRPC_OP_COMPLETE && ev.success && ev.tag == f ? 0 : -1;
	}
	grpc_byte_buffer_destroy(out);
	if (rc == 0)
		f->open = 1;
	return rc;
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, int n, int p)
{
	int k = (n * p) / 100;
	return (double)v[k < n ? k : n - 1] / 1e6;
}

int main(int argc, char **argv)
{
	const char *bin = NULL;
	int events = 200;
	static const struct option opts[] = { { "bin", required_argument, NULL, 'b' },
					      { "followers", required_argument, NULL, 'f' },
					      { "events", required_argument, NULL, 'e' },
					      { NULL, 0, NULL, 0 } };
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'b')
			bin = optarg;
		else if (c == 'f')
			nfol = atoi(optarg);
		else if (c == 'e')
			events = atoi(optarg);
		else
			return 2;
	}
	if (!bin || nfol < 1 || nfol > MAX_FOLLOWERS || events < 1 || events > MAX_EVENTS) {
		fprintf(stderr,
			"usage: hv-watch-bench --bin DIR --followers 1..%d [--events 1..%d]\n",
			MAX_FOLLOWERS, MAX_EVENTS);
		return 2;
	}
	char dir[] = "/tmp/hv-watch-bench-XXXXXX", ram[128], sock[128], path[512], log[128];
	if (!mkdtemp(dir))
		return 1;
	snprintf(ram, sizeof ram, "%s/guest-ram", dir);
	snprintf(sock, sizeof sock, "%s/hv-agent.sock", dir);
	snprintf(log, sizeof log, "%s/hv-agent.log", dir);
	struct fakecore *fc = bench_double_running(ram, 4);
	if (!fc) {
		fprintf(stderr, "hv-watch-bench: double: %s\n", strerror(errno));
		return 1;
	}
	fakecore_start(fc);
	snprintf(path, sizeof path, "%s/hv-agent", bin);
	/* the streams all come from this uid: lift the per-identity limit
	 * (default 8) and the listener's (default 32) to the most, 64 */
	char *av[] = { path,
		       "--foreground",
		       "--state-dir",
		       dir,
		       "--max-streams-per-listener",
		       "64",
		       "--max-streams-per-identity",
		       "64",
		       NULL };
	pid_t pid = bench_spawn_logged(log, av);
	struct stat sb;
	for (int i = 0; i < 200 && stat(sock, &sb) != 0; i++)
		usleep(50 * 1000);

	grpc_init();
	char target[160];
	snprintf(target, sizeof target, "unix:%s", sock);
	cq = grpc_completion_queue_create_for_next(NULL);
	int rc = 1, reading = 0;
	pthread_t rt;
	for (int i = 0; i < nfol; i++)
		if (open_follower(i, target) != 0) {
			fprintf(stderr, "hv-watch-bench: follower %d did not open (see %s)\n", i,
				log);
			goto out;
		}
	for (int i = 0; i < nfol; i++)
		if (want_next(i) != 0) {
			fprintf(stderr, "hv-watch-bench: follower %d cannot receive\n", i);
			goto out;
		}
	if (pthread_create(&rt, NULL, reader, NULL) != 0)
		goto out;
	reading = 1;
	usleep(500 * 1000); /* past the streams' start */

	volatile struct hvm_regs *r = fakecore_regs(fc);
	seq_base = r->ev_head;
	uint64_t *first = calloc((size_t)events, sizeof *first);
	uint64_t *last = calloc((size_t)events, sizeof *last);
	int complete = 0;
	unsigned long long c0 = proc_cpu(pid);
	uint64_t w0 = bench_now_ns();
	for (int i = 0; i < events; i++) {
		uint64_t te = bench_now_ns();
		fakecore_event(fc, i % 2 ? HVM_EV_RESUMED : HVM_EV_SUSPENDED, (uint32_t)(i % 4), 0,
			       HVM_R_USER);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += WAIT_MS / 1000;
		pthread_mutex_lock(&lock);
		while (arrivals[i] < nfol &&
		       pthread_cond_timedwait(&arrived_cv, &lock, &dl) != ETIMEDOUT)
			;
		if (arrivals[i] == nfol) {
			first[complete] = first_at[i] - te;
			last[complete] = last_at[i] - te;
			complete++;
		}
		pthread_mutex_unlock(&lock);
	}
	double wall = (double)(bench_now_ns() - w0) / 1e9;
	double cpu = (double)(proc_cpu(pid) - c0) / (double)sysconf(_SC_CLK_TCK);
	if (complete) {
		qsort(first, (size_t)complete, sizeof *first, cmp_u64);
		qsort(last, (size_t)complete, sizeof *last, cmp_u64);
		printf("followers=%d events=%d at_every_follower=%d first_p50_ms=%.3f last_p50_ms=%.3f "
		       "last_p99_ms=%.3f last_max_ms=%.3f agent_cpu_per_event_us=%.0f wall_s=%.2f "
		       "streamed=%llu\n",
		       nfol, events, complete, pct_ms(first, complete, 50),
		       pct_ms(last, complete, 50), pct_ms(last, complete, 99),
		       (double)last[complete - 1] / 1e6, 1e6 * cpu / events, wall,
		       (unsigned long long)streamed);
		rc = complete == events ? 0 : 1;
	} else {
		int most = 0;
		pthread_mutex_lock(&lock);
		for (int i = 0; i < events; i++)
			most = arrivals[i] > most ? arrivals[i] : most;
		pthread_mutex_unlock(&lock);
		printf("followers=%d events=%d: no event reached every follower (at most %d of %d)\n",
		       nfol, events, most, nfol);
	}
	free(first);
	free(last);
out:
	/* every stream cancelled and its last receive completed (the reader
	 * starts no new one) before the queue shuts down */
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nfol; i++)
		if (fol[i].call)
			grpc_call_cancel(fol[i].call, NULL);
	if (reading) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 10;
		pthread_mutex_lock(&lock);
		for (;;) {
			int any = 0;
			for (int i = 0; i < nfol; i++)
				any |= fol[i].open;
			if (!any || pthread_cond_timedwait(&arrived_cv, &lock, &dl) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&lock);
	}
	grpc_completion_queue_shutdown(cq);
	if (reading)
		pthread_join(rt, NULL);
	else
		while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
	for (int i = 0; i < nfol; i++) {
		if (fol[i].in)
			grpc_byte_buffer_destroy(fol[i].in);
		if (fol[i].call)
			grpc_call_unref(fol[i].call);
		grpc_metadata_array_destroy(&fol[i].md);
		if (fol[i].ch)
			grpc_channel_destroy(fol[i].ch);
	}
	grpc_completion_queue_destroy(cq);
	grpc_shutdown();
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	fakecore_destroy(fc);
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); /* hv-agent's state too */
	return rc;
}
