/*
 * cmd_top.c - `hvctl top`: a live, refreshing view of every VM, as virt-top
 * gives for libvirt: state, exits per second (hv-core's traps of the VM, the
 * nearest thing to virt-top's %CPU that hv-core counts), CPU share, heartbeat
 * age, faults, restarts, health code and image version, sorted by exits per
 * second. One GetStats call per refresh; rates come from two successive
 * records on hv-core's clock. `q` quits; without a terminal (or with
 * --iterations) it prints the given number of screens and ends.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "hvmgmt.h"

struct top_row {
	const Hvmgr__V1__VmStats *v;
	double exits_per_s, cpu_pct;
};

/* The previous record of each VM id, for rates. */
struct top_prev {
	int have;
	uint64_t exits, cpu_ns, time_ns;
};

static int by_rate(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->exits_per_s != y->exits_per_s)
		return x->exits_per_s < y->exits_per_s ? 1 : -1;
	return strcmp(x->v->name, y->v->name);
}

static void top_screen(const Hvmgr__V1__GetStatsResponse *r, struct top_prev prev[HVM_MAX_VMS],
		       bool tty, unsigned delay_ms)
{
	struct top_row rows[HVM_MAX_VMS];
	size_t n = 0;
	unsigned running = 0;

	for (size_t i = 0; i < r->n_vms && n < HVM_MAX_VMS; i++) {
		const Hvmgr__V1__VmStats *v = r->vms[i];
		struct top_prev *p = &prev[v->id % HVM_MAX_VMS];
		struct top_row *row = &rows[n++];

		row->v = v;
		row->exits_per_s = row->cpu_pct = 0;
		if (p->have && v->stats_time_ns > p->time_ns && v->exits >= p->exits) {
			double dt = (double)(v->stats_time_ns - p->time_ns) / 1e9;
			row->exits_per_s = (double)(v->exits - p->exits) / dt;
			if (v->cpu_time_ns >= p->cpu_ns)
				row->cpu_pct =
					100.0 * (double)(v->cpu_time_ns - p->cpu_ns) / (dt * 1e9);
		}
		p->have = 1;
		p->exits = v->exits;
		p->cpu_ns = v->cpu_time_ns;
		p->time_ns = v->stats_time_ns;
		running += v->state == HVMGR__V1__VM_STATE__VM_STATE_RUNNING;
	}
	qsort(rows, n, sizeof rows[0], by_rate);
	if (tty)
		printf("\033[H\033[2J");
	printf("hvctl top - hv-core up %.0f s, %zu VMs, %u running, refresh %u ms%s\n",
	       r->hypervisor ? (double)r->hypervisor->uptime_ns / 1e9 : 0.0, n, running, delay_ms,
	       tty ? ", q quits" : "");
	printf("\n%4s %-16s %-9s %10s %6s %9s %7s %8s %6s %-16s\n", "ID", "NAME", "STATE",
	       "EXITS/S", "%CPU", "HB-AGE", "FAULTS", "RESTARTS", "HEALTH", "IMAGE");
	for (size_t i = 0; i < n; i++) {
		const Hvmgr__V1__VmStats *v = rows[i].v;
		char age[16];
		if (v->state == HVMGR__V1__VM_STATE__VM_STATE_RUNNING)
			snprintf(age, sizeof age, "%.2fs", (double)v->heartbeat_age_ns / 1e9);
		else
			snprintf(age, sizeof age, "-");
		printf("%4u %-16.16s %-9.9s %10.0f %6.1f %9s %7" PRIu64 " %8" PRIu64
		       " %6u %-16.16s\n",
		       v->id, v->name, fmt_state(v->state), rows[i].exits_per_s, rows[i].cpu_pct,
		       age, v->faults, v->restarts, v->health_code,
		       v->image_version && v->image_version[0] ? v->image_version : "-");
	}
	fflush(stdout);
}

/* Waits up to ms for a key: 1 = quit (q, Q or end of input), 0 = refresh. */
static int top_wait(unsigned ms, bool tty)
{
	struct pollfd p = { 0, POLLIN, 0 };

	if (!tty) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		return 0;
	}
	if (poll(&p, 1, (int)ms) <= 0)
		return 0;
	char buf[32];
	ssize_t got = read(0, buf, sizeof buf);
	if (got <= 0)
		return 1;
	for (ssize_t i = 0; i < got; i++)
		if (buf[i] == 'q' || buf[i] == 'Q')
			return 1;
	return 0;
}

HVCTL_HANDLER(cmd_top)
{
	Hvmgr__V1__GetStatsRequest req = HVMGR__V1__GET_STATS_REQUEST__INIT;
	struct top_prev prev[HVM_MAX_VMS];
	uint64_t delay = 1000, iterations = 0;
	bool tty = isatty(0) && isatty(1);
	int rc = HVCTL_OK;

	if (opt_u64(a, "delay", 100, 60000, &delay) != 0 ||
	    opt_u64(a, "iterations", 1, 1000000, &iterations) != 0)
		return HVCTL_USAGE;
	if (!tty && !iterations)
		iterations = 1;
	memset(prev, 0, sizeof prev);
	if (tty)
		tty_raw();
	for (uint64_t i = 0; !iterations || i < iterations; i++) {
		Hvmgr__V1__GetStatsResponse *resp;
		if ((rc = hvctl_call(h, "GetStats", &req.base,
				     &hvmgr__v1__get_stats_response__descriptor,
				     (ProtobufCMessage **)&resp)) != 0)
			break;
		top_screen(resp, prev, tty, (unsigned)delay);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if ((iterations && i + 1 == iterations) || top_wait((unsigned)delay, tty))
			break;
	}
	if (tty)
		tty_restore();
	return rc;
}
