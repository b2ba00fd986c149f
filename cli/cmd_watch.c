/*
 * cmd_watch.c - hvctl's following commands: `event` (WatchEvents, virsh's
 * `event --loop` output) and `console` (a VM's console ring, once or
 * following). Both stop cleanly on Ctrl-C.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"

#define HVMGR(m) "/hvmgr.v1.Hvmgr/" m
#define POLL_MS 200u

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_sigint(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int parse_number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static const char *event_class(int type)
{
	if (type >= 0 && type <= 8)
		return "lifecycle";
	switch (type) {
	case 16: return "fault";
	case 17: return "watchdog";
	case 18: return "restart";
	case 19: return "selftest";
	case 20: return "doorbell-denied";
	default: return "unknown";
	}
}

static void print_event(const Hvmgr__V1__Event *e, bool json)
{
	if (json) {
		json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:I}", "seq", (json_int_t)e->seq,
				      "time_ns", (json_int_t)e->time_ns, "class", event_class(e->type), "type",
				      fmt_event(e->type), "vm_id", (json_int_t)e->vm_id, "vm_name", e->vm_name,
				      "detail", (json_int_t)e->detail, "reason", fmt_reason(e->reason), "lost_before",
				      (json_int_t)e->lost_before);
		json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		fflush(stdout);
		return;
	}
	if (e->lost_before)
		printf("events lost: %" PRIu64 " before seq %" PRIu64 "\n", e->lost_before, e->seq);
	char reason[32];
	snprintf(reason, sizeof reason, "%s", fmt_reason(e->reason));
	reason[0] = (char)toupper((unsigned char)reason[0]);
	const char *name = e->vm_name[0] ? e->vm_name : "?";
	if (e->type <= 8)
		printf("event 'lifecycle' for domain '%s': %s %s (seq %" PRIu64 ")\n", name, fmt_event(e->type),
		       reason, e->seq);
	else if (e->type == 16)
		printf("event 'fault' for domain '%s': %s (seq %" PRIu64 ")\n", name, fmt_fault_kind((int)e->detail),
		       e->seq);
	else
		printf("event '%s' for domain '%s': detail %u (seq %" PRIu64 ")\n", event_class(e->type), name,
		       e->detail, e->seq);
	fflush(stdout);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

HVCTL_HANDLER(cmd_event)
{
	bool loop = false, json = false, oldest = false;
	const char *timeout_s = NULL, *count_s = NULL, *from_s = NULL;
	const struct hvctl_opt opts[] = {
		{ "loop", false, &loop, NULL }, { "json", false, &json, NULL },
		{ "oldest", false, &oldest, NULL }, { "timeout", true, NULL, &timeout_s },
		{ "count", true, NULL, &count_s }, { "from", true, NULL, &from_s }, { 0 },
	};
	const char *pos[1];
	int npos;
	uint64_t timeout = 0, count = 0, from = 0;
	Hvmgr__V1__WatchEventsRequest req = HVMGR__V1__WATCH_EVENTS_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	struct hvc_stream *s;
	struct hv_status st;

	if (hvctl_parse(cmd, argc, argv, opts, pos, 0, 1, &npos) != 0)
		return HVCTL_USAGE;
	if (timeout_s && (parse_number(timeout_s, 86400 * 365, &timeout) != 0 || timeout == 0))
		return hvctl_usage(cmd, "--timeout '%s' is not a positive number of seconds", timeout_s);
	if (count_s && (parse_number(count_s, UINT32_MAX, &count) != 0 || count == 0))
		return hvctl_usage(cmd, "--count '%s' is not a positive number", count_s);
	if (from_s && parse_number(from_s, UINT64_MAX, &from) != 0)
		return hvctl_usage(cmd, "--from '%s' is not an event sequence number", from_s);
	if (from_s && oldest)
		return hvctl_usage(cmd, "--from and --oldest exclude each other");
	if (!loop && !count)
		count = 1; /* virsh: without --loop, wait for one event */
	if (npos) {
		hvctl_selector(&sel, pos[0]);
		req.vm = &sel;
	}
	req.start = from_s ? HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_AT_SEQ
		    : oldest ? HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_OLDEST
			     : HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_NOW;
	req.seq = from;

	struct hvc *c = hvctl_conn(h);
	if (!c)
		return HVCTL_FAIL;
	if (hvc_stream_open(c, HVMGR("WatchEvents"), &req.base, &s, &st) != 0)
		return hvctl_fail("event", &st);
	catch_sigint();
	uint64_t deadline = timeout ? now_ms() + timeout * 1000u : 0, received = 0;
	int rc = HVCTL_OK, timed_out = 0;
	while (!interrupted && (!count || received < count)) {
		uint64_t wait = POLL_MS;
		if (deadline) {
			uint64_t now = now_ms();
			if (now >= deadline) {
				timed_out = 1;
				break;
			}
			if (deadline - now < wait)
				wait = deadline - now;
		}
		ProtobufCMessage *m;
		int r = hvc_stream_next(s, &hvmgr__v1__event__descriptor, &m, (unsigned)wait, &st);
		if (r == -2)
			continue;
		if (r == 1) {
			print_event((const Hvmgr__V1__Event *)m, json);
			protobuf_c_message_free_unpacked(m, NULL);
			received++;
			continue;
		}
		if (r < 0)
			rc = hvctl_fail("event", &st);
		break;
	}
	hvc_stream_close(s);
	if (!json) {
		if (timed_out)
			printf("event loop timed out\n");
		if (loop || timed_out)
			printf("events received: %" PRIu64 "\n", received);
	}
	return rc;
}

HVCTL_HANDLER(cmd_console)
{
	bool follow = false;
	const char *from_s = NULL;
	const struct hvctl_opt opts[] = { { "follow", false, &follow, NULL }, { "from", true, NULL, &from_s }, { 0 } };
	const char *pos[1];
	int npos;
	uint64_t from = 0;
	Hvmgr__V1__VmSelector sel;
	struct hv_status st;

	if (hvctl_parse(cmd, argc, argv, opts, pos, 1, 1, &npos) != 0)
		return HVCTL_USAGE;
	if (from_s && parse_number(from_s, UINT64_MAX, &from) != 0)
		return hvctl_usage(cmd, "--from '%s' is not a byte position", from_s);
	struct hvc *c = hvctl_conn(h);
	if (!c)
		return HVCTL_FAIL;
	hvctl_selector(&sel, pos[0]);
	catch_sigint();
	while (!interrupted) {
		Hvmgr__V1__GetConsoleRequest req = HVMGR__V1__GET_CONSOLE_REQUEST__INIT;
		Hvmgr__V1__GetConsoleResponse *r;
		req.vm = &sel;
		req.from_position = from;
		if (hvc_call(c, HVMGR("GetConsole"), &req.base, &hvmgr__v1__get_console_response__descriptor,
			     (ProtobufCMessage **)&r, HVCTL_CALL_TIMEOUT_MS, &st) != 0)
			return hvctl_fail("console", &st);
		if (r->lost_bytes)
			fprintf(stderr, "hvctl: console: %" PRIu64 " bytes were overwritten before they could be read\n",
				r->lost_bytes);
		if (r->data.len)
			fwrite(r->data.data, 1, r->data.len, stdout);
		fflush(stdout);
		size_t got = r->data.len;
		from = r->next_position;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (got)
			continue; /* there may be more right away */
		if (!follow)
			break;
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return HVCTL_OK;
}
