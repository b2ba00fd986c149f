/*
 * cmd_watch.c - hvctl's following commands: `event` (WatchEvents, virsh's
 * `event --loop` output) and `console` (a VM's console ring, printed once or
 * followed live; on a terminal attached like `virsh console`, Ctrl-] detaches).
 * Both stop cleanly on Ctrl-C, SIGTERM and when the reader of stdout goes away.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "deadline.h"
#include "fleet_client.h"
#include "uuid.h"

#define HVMGR(m) "/hvmgr.v1.Hvmgr/" m
#define CONSOLE_POLL_MS 100
#define DETACH_CHAR 0x1d /* Ctrl-] */
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
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout shows up as EPIPE from a write, not as a signal. */
	signal(SIGPIPE, SIG_IGN);
}

/* The reader of stdout went away (a closed pipe reports POLLERR even when
 * nothing is being written). */
static bool stdout_gone(void)
{
	struct pollfd p = { 1, 0, 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static const char *event_class(int type)
{
	if (type >= 0 && type <= 8)
		return "lifecycle";
	switch (type) {
	case 16:
		return "fault";
	case 17:
		return "watchdog";
	case 18:
		return "restart";
	case 19:
		return "selftest";
	case 20:
		return "doorbell-denied";
	case 40:
		return "vehicle-state";
	case 41:
		return "policy-denied";
	case 42:
		return "pending-done";
	case 44:
	case 45:
	case 46:
	case 47:
		return "ota";
	case 48:
		return "nv-failed";
	case 60:
		return "audit";
	default:
		return "unknown";
	}
}

/* The words --event accepts: a class, or a type by its lowercase name. */
static const char *const event_types[] = { "defined",   "undefined",   "started",
					   "suspended", "resumed",     "stopped",
					   "shutdown",  "pmsuspended", "crashed" };
static const char *const event_classes[] = { "lifecycle",     "fault",         "watchdog",
					     "restart",       "selftest",      "doorbell-denied",
					     "vehicle-state", "policy-denied", "pending-done",
					     "audit",         "ota",           "nv-failed" };

static bool event_word_known(const char *w)
{
	for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
		if (strcasecmp(w, event_types[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof event_classes / sizeof event_classes[0]; i++)
		if (strcasecmp(w, event_classes[i]) == 0)
			return true;
	return false;
}

static bool event_matches(const Hvmgr__V1__Event *e, const char *filter)
{
	return !filter || strcasecmp(filter, event_class(e->type)) == 0 ||
	       strcasecmp(filter, fmt_event(e->type)) == 0;
}

/* Prints one event; false when stdout can no longer be written. */
static bool print_event(const Hvmgr__V1__Event *e, bool json, bool stamp)
{
	if (json) {
		json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I}", "seq",
				      (json_int_t)e->seq, "time_ns", (json_int_t)e->time_ns,
				      "class", event_class(e->type), "type", fmt_event(e->type),
				      "vm_id", (json_int_t)e->vm_id, "vm_name", e->vm_name, "detail",
				      (json_int_t)e->detail, "reason", fmt_reason(e->reason),
				      "lost_before", (json_int_t)e->lost_before, "suppressed",
				      (json_int_t)e->suppressed);
		if (e->type == 40 || e->type == 41) /* MGMT-405 */
			json_object_set_new(j, "vehicle_state", json_string(e->vehicle_state));
		if (e->type == 40)
			json_object_set_new(j, "previous_vehicle_state",
					    json_string(e->previous_vehicle_state));
		if (e->type == 41 || e->type == 42) {
			json_object_set_new(j, "operation", json_string(e->operation));
			json_object_set_new(j, "rule", json_integer(e->rule));
		}
		if (e->type == 42) { /* MGMT-451 */
			json_object_set_new(j, "pending_id", json_integer((json_int_t)e->pending_id));
			json_object_set_new(j, "outcome", json_string(e->outcome));
		}
		if (e->type >= 44 && e->type <= 47) /* MGMT-632: the slot, or the result */
			json_object_set_new(j, "outcome", json_string(e->outcome));
		if (e->message && e->message[0])
			json_object_set_new(j, "message", json_string(e->message));
		json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		return fflush(stdout) == 0;
	}
	if (stamp) { /* virsh --timestamp: local time with milliseconds */
		struct timespec ts;
		struct tm tm;
		char buf[64];
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
		printf("%s.%03ld%s: ", buf, ts.tv_nsec / 1000000L, "");
	}
	if (e->lost_before)
		printf("events lost: %" PRIu64 " before seq %" PRIu64 "\n", e->lost_before, e->seq);
	char reason[32];
	snprintf(reason, sizeof reason, "%s", fmt_reason(e->reason));
	reason[0] = (char)toupper((unsigned char)reason[0]);
	const char *name = e->vm_name[0] ? e->vm_name : "?";
	if (e->type == 60)
		printf("event 'audit' for hv-agent: audit log finding: %s\n", e->message);
	else if (e->type <= 8)
		printf("event 'lifecycle' for domain '%s': %s %s (seq %" PRIu64 ")\n", name,
		       fmt_event(e->type), reason, e->seq);
	else if (e->type == 16 && e->suppressed)
		printf("event 'fault' for domain '%s': %s, %u more held back by the rate limit (seq %" PRIu64
		       ")\n",
		       name, fmt_fault_kind((int)e->detail), e->suppressed, e->seq);
	else if (e->type == 16)
		printf("event 'fault' for domain '%s': %s (seq %" PRIu64 ")\n", name,
		       fmt_fault_kind((int)e->detail), e->seq);
	else if (e->type == 40)
		printf("event 'vehicle-state': %s (was %s) (seq %" PRIu64 ")\n", e->vehicle_state,
		       e->previous_vehicle_state, e->seq);
	else if (e->type == 41)
		printf("event 'policy-denied' for domain '%s': %s refused when %s, rule %u (seq %" PRIu64
		       ")\n",
		       name, e->operation, e->vehicle_state, e->rule, e->seq);
	else if (e->type == 42)
		printf("event 'pending-done' for domain '%s': pending command %" PRIu64 " (%s) %s\n",
		       name, e->pending_id, e->operation, e->message);
	else if (e->type == 47)
		printf("event 'ota' for domain '%s': %s, %s (seq %" PRIu64 ")\n", name,
		       fmt_event(e->type), e->outcome, e->seq);
	else if (e->type >= 44 && e->type <= 46)
		printf("event 'ota' for domain '%s': %s, slot %s (seq %" PRIu64 ")\n", name,
		       fmt_event(e->type), e->outcome, e->seq);
	else
		printf("event '%s' for domain '%s': detail %u (seq %" PRIu64 ")\n",
		       event_class(e->type), name, e->detail, e->seq);
	return fflush(stdout) == 0;
}

/* Where `event` reads from: hv-agent's WatchEvents stream, or over the
 * fleet link the vehicle's events topic (docs/fleet.md "Streams"). */
struct ev_source {
	struct hvc_stream *s;
	struct hvf *f;
	const char *dom;       /* fleet: the VM filter, applied here */
	uint64_t last_seq;     /* fleet: a publication sent again is skipped */
	uint64_t link_dropped; /* fleet: the vehicle's dropped count last seen */
	bool any;
};

static bool fleet_vm_matches(const Hvmgr__V1__Event *e, const char *dom)
{
	size_t digits = strspn(dom, "0123456789");
	if (dom[0] && !dom[digits] && digits <= 9)
		return e->vm_id == (uint32_t)strtoul(dom, NULL, 10);
	return strcmp(e->vm_name, dom) == 0;
}

/* As hvc_stream_next: 1 an event, -2 none within wait_ms, 0 the end, -1 error. */
static int ev_next(struct ev_source *src, ProtobufCMessage **m, unsigned wait_ms, struct hv_status *st)
{
	if (!src->f)
		return hvc_stream_next(src->s, &hvmgr__v1__event__descriptor, m, wait_ms, st);
	struct hvf_event e;
	uint64_t missed = 0, refused = 0;
	char why[256] = "";
	int got = hvf_event_next(src->f, &e, wait_ms, &missed, &refused, why, sizeof why);
	if (missed)
		fprintf(stderr, "hvctl: event: %" PRIu64 " events dropped: hvctl did not keep up\n",
			missed);
	if (refused)
		fprintf(stderr,
			"hvctl: event: %" PRIu64
			" publications not signed by the vehicle ignored: %s\n",
			refused, why);
	if (!got)
		return -2;
	if (src->any && e.link_dropped > src->link_dropped)
		fprintf(stderr,
			"hvctl: event: the vehicle's link dropped %" PRIu64
			" items while it was offline\n",
			e.link_dropped - src->link_dropped);
	src->link_dropped = e.link_dropped;
	/* Sent again after a reconnection, or not for the VM asked. */
	if ((src->any && e.ev->seq <= src->last_seq) ||
	    (src->dom && !fleet_vm_matches(e.ev, src->dom))) {
		src->any = true;
		if (e.ev->seq > src->last_seq)
			src->last_seq = e.ev->seq;
		hvmgr__v1__event__free_unpacked(e.ev, NULL);
		return -2;
	}
	src->any = true;
	src->last_seq = e.ev->seq;
	*m = &e.ev->base;
	return 1;
}

/* Opens the source: 0, or an exit status (the failure printed). */
static int ev_open(struct hvctl *h, const struct hvctl_args *a, const char *dom,
		   const Hvmgr__V1__WatchEventsRequest *req, struct ev_source *src)
{
	struct hv_status st;
	uint8_t u[16];

	memset(src, 0, sizeof *src);
	if (!h->fleet_url) {
		struct hvc *c = hvctl_conn(h);
		if (!c)
			return h->conn_rc;
		if (hvc_stream_open(c, HVMGR("WatchEvents"), &req->base, &src->s, &st) != 0)
			return hvctl_fail("event", &st);
		return 0;
	}
	if (req->start != HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_NOW)
		return hvctl_usage(a->cmd,
				   "--oldest and --from need a direct connection: over the fleet "
				   "link events arrive as the vehicle publishes them");
	if (dom && hv_uuid_parse(dom, u) == 0)
		return hvctl_usage(a->cmd, "over the fleet link name the VM by name or id");
	if (!h->vehicle)
		return hvctl_error(HVCTL_USAGE, "event", "--fleet needs --vehicle ID");
	src->f = hvctl_fleet(h);
	if (!src->f)
		return h->conn_rc;
	src->dom = dom;
	if (hvf_events_open(src->f, h->vehicle, &st) != 0)
		return hvctl_fail("event", &st);
	return 0;
}

HVCTL_HANDLER(cmd_event)
{
	bool loop = opt_flag(a, "loop"), json = opt_flag(a, "json"), oldest = opt_flag(a, "oldest");
	const char *from_s = opt_str(a, "from"), *filter = opt_str(a, "event"),
		   *dom = opt_str(a, "domain");
	uint64_t timeout = 0, count = 0, from = 0;
	Hvmgr__V1__WatchEventsRequest req = HVMGR__V1__WATCH_EVENTS_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	struct hv_status st;

	if (opt_flag(a, "list")) {
		for (size_t i = 0; i < sizeof event_classes / sizeof event_classes[0]; i++)
			printf("%s%s\n", event_classes[i], i == 0 ? ":" : "");
		for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
			printf("  %s\n", event_types[i]);
		return HVCTL_OK;
	}
	if (opt_u64(a, "timeout", 1, 86400ull * 365, &timeout) != 0 ||
	    opt_u64(a, "count", 1, UINT32_MAX, &count) != 0 ||
	    opt_u64(a, "from", 0, UINT64_MAX, &from) != 0)
		return HVCTL_USAGE;
	if (from_s && oldest)
		return hvctl_usage(a->cmd, "--from and --oldest exclude each other");
	if (dom && a->npos)
		return hvctl_usage(a->cmd, "name the VM once: --domain %s or %s", dom, a->pos[0]);
	if (filter && !event_word_known(filter))
		return hvctl_usage(a->cmd, "unknown event type '%s' (see hvctl event --list)",
				   filter);
	if (!loop && !count)
		count = 1; /* virsh: without --loop, wait for one event */
	if (a->npos)
		dom = a->pos[0];
	if (dom) {
		hvctl_selector(&sel, dom);
		req.vm = &sel;
	}
	req.start = from_s   ? HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_AT_SEQ
		    : oldest ? HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_OLDEST
			     : HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_NOW;
	req.seq = from;

	struct ev_source src;
	int orc = ev_open(h, a, dom, &req, &src);
	if (orc != 0)
		return orc;
	catch_sigint();
	uint64_t deadline = timeout ? hv_deadline_after_ms(timeout * 1000u) : 0, received = 0;
	int rc = HVCTL_OK, timed_out = 0, gone = 0;
	while (!interrupted && (!count || received < count)) {
		uint64_t wait = POLL_MS;
		if (deadline) {
			uint64_t left_ms = (hv_ns_left(deadline) + HV_NS_PER_MS - 1) / HV_NS_PER_MS;
			if (left_ms == 0) {
				timed_out = 1;
				break;
			}
			if (left_ms < wait)
				wait = left_ms;
		}
		ProtobufCMessage *m;
		int r = ev_next(&src, &m, (unsigned)wait, &st);
		if (r == -2) {
			if (stdout_gone()) {
				gone = 1;
				break;
			}
			continue;
		}
		if (r == 1) {
			const Hvmgr__V1__Event *e = (const Hvmgr__V1__Event *)m;
			if (event_matches(e, filter)) {
				received++;
				if (!print_event(e, json, opt_flag(a, "timestamp")))
					gone = 1;
			}
			protobuf_c_message_free_unpacked(m, NULL);
			if (gone)
				break;
			continue;
		}
		if (r < 0)
			rc = hvctl_fail("event", &st);
		break;
	}
	if (src.s)
		hvc_stream_close(src.s);
	if (!json && !gone) {
		if (timed_out)
			printf("event loop timed out\n");
		if (loop || timed_out)
			printf("events received: %" PRIu64 "\n", received);
	}
	return rc;
}

/* ---- console ---- */

static struct termios saved_tio;
static bool tio_saved;

/* Raw input so that Ctrl-] arrives as a byte; ISIG stays on so Ctrl-C still
 * ends hvctl, OPOST stays on so the guest's "\n" starts a new line. */
void tty_raw(void)
{
	struct termios t;

	if (tcgetattr(0, &saved_tio) != 0)
		return;
	tio_saved = true;
	t = saved_tio;
	t.c_lflag &= (tcflag_t) ~(ICANON | ECHO | IEXTEN);
	t.c_iflag &= (tcflag_t) ~(IXON | ICRNL | INLCR | ISTRIP);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(0, TCSADRAIN, &t); /* keep what was typed already (a Ctrl-]) */
}

void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(0, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

/* Waits up to ms for the user; 1 = detach (Ctrl-] or stdout gone), 0 = keep
 * following. */
static int console_wait(bool interactive, int ms)
{
	struct pollfd p[2] = { { 1, 0, 0 }, { 0, POLLIN, 0 } };
	int n = poll(p, interactive ? 2 : 1, ms);

	if (n <= 0)
		return 0;
	if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
		return 1;
	if (interactive && (p[1].revents & POLLIN)) {
		unsigned char buf[64];
		ssize_t got = read(0, buf, sizeof buf);
		if (got == 0)
			return 1; /* stdin closed */
		for (ssize_t i = 0; i < got; i++)
			if (buf[i] == DETACH_CHAR)
				return 1;
		/* GetConsole carries output only: other input is not sent to the
		 * guest (the Console RPC does, for operators and admins). */
	}
	return 0;
}

/* The interactive console (Console RPC): what is typed goes to the VM, its
 * output comes back, Ctrl-] detaches. ISIG is off too, so Ctrl-C reaches the
 * guest as it does under `virsh console`. Sets *denied (and returns) when the
 * caller may not use it, so the read-only console can be used instead. */
static int console_duplex(struct hvctl *h, const char *vm, Hvmgr__V1__VmSelector *sel, bool *denied)
{
	Hvmgr__V1__ConsoleInput first = HVMGR__V1__CONSOLE_INPUT__INIT;
	Hvmgr__V1__ConsoleOutput *o = NULL;
	struct hvc_stream *s = NULL;
	struct hv_status st;
	struct hvc *c = hvctl_conn(h);
	int rc = HVCTL_OK;

	*denied = false;
	if (!c)
		return h->conn_rc;
	first.vm = sel;
	first.history_bytes = 16384 - 64; /* the whole ring, as the read-only console shows */
	if (hvc_duplex_open(c, HVMGR("Console"), &first.base, &s, &st) != 0 ||
	    hvc_stream_next(s, &hvmgr__v1__console_output__descriptor, (ProtobufCMessage **)&o, 0,
			    &st) != 1) {
		hvc_stream_close(s);
		if (st.code == HV_PERMISSION_DENIED || st.code == HV_UNIMPLEMENTED) {
			*denied = true;
			return HVCTL_OK;
		}
		return hvctl_fail("console", &st);
	}
	bool writer = o->writer;
	/* raw before the banner: what is typed once it shows goes to the VM */
	tty_raw();
	struct termios t;
	if (tcgetattr(0, &t) == 0) {
		t.c_lflag &= (tcflag_t)~ISIG;
		tcsetattr(0, TCSADRAIN, &t);
	}
	printf("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", vm);
	if (!writer)
		printf("hvctl: console: %s; what you type is not sent\n", o->notice);
	fflush(stdout);
	protobuf_c_message_free_unpacked(&o->base, NULL);
	bool done = false;
	while (!done) {
		struct pollfd p[2] = { { 0, POLLIN, 0 }, { 1, 0, 0 } };
		if (poll(p, 2, 20) > 0) {
			if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))
				break;
			if (p[0].revents & (POLLIN | POLLHUP)) {
				uint8_t buf[256];
				ssize_t got = read(0, buf, sizeof buf), keep = got;
				if (got <= 0)
					break;
				for (ssize_t i = 0; i < got; i++)
					if (buf[i] == DETACH_CHAR) {
						keep = i;
						done = true;
						break;
					}
				if (writer && keep > 0) {
					Hvmgr__V1__ConsoleInput in = HVMGR__V1__CONSOLE_INPUT__INIT;
					in.data.data = buf;
					in.data.len = (size_t)keep;
					/* a failed send: the stream's status follows from the next read */
					(void)hvc_duplex_send(s, &in.base, &st);
				}
			}
		}
		/* Output that arrived meanwhile. */
		for (;;) {
			int r = hvc_stream_next(s, &hvmgr__v1__console_output__descriptor,
						(ProtobufCMessage **)&o, 1, &st);
			if (r == -2)
				break;
			if (r != 1) {
				if (r < 0)
					rc = hvctl_fail("console", &st);
				done = true;
				break;
			}
			if (o->lost_bytes)
				fprintf(stderr,
					"\r\nhvctl: console: %" PRIu64
					" bytes were overwritten before they could be read\r\n",
					o->lost_bytes);
			bool ok = !o->data.len ||
				  fwrite(o->data.data, 1, o->data.len, stdout) == o->data.len;
			ok = fflush(stdout) == 0 && ok;
			protobuf_c_message_free_unpacked(&o->base, NULL);
			if (!ok) {
				done = true;
				break;
			}
		}
	}
	tty_restore();
	printf("\n");
	hvc_stream_close(s);
	return rc;
}

/* Prints the console from *from up to to (bytes GetConsole still holds)
 * and moves *from; the history before a session, and the fill of a gap in
 * its published output. HVCTL_OK, or the failed call's status. */
static int console_get_range(struct hvctl *h, Hvmgr__V1__VmSelector *sel, uint64_t *from, uint64_t to)
{
	while (*from < to) {
		Hvmgr__V1__GetConsoleRequest req = HVMGR__V1__GET_CONSOLE_REQUEST__INIT;
		Hvmgr__V1__GetConsoleResponse *r;
		req.vm = sel;
		req.from_position = *from;
		int rc = hvctl_call(h, "GetConsole", &req.base,
				    &hvmgr__v1__get_console_response__descriptor,
				    (ProtobufCMessage **)&r);
		if (rc != HVCTL_OK)
			return rc;
		uint64_t start = r->next_position - r->data.len;
		size_t skip = start < *from ? (size_t)(*from - start) : 0, n = r->data.len;
		if (r->next_position > to)
			n -= (size_t)(r->next_position - to);
		if (n > skip)
			fwrite(r->data.data + skip, 1, n - skip, stdout);
		bool stuck = r->next_position <= *from;
		*from = r->next_position < to ? r->next_position : to;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (stuck)
			break; /* nothing more there */
	}
	fflush(stdout);
	return HVCTL_OK;
}

/* The console through the fleet broker: a console session
 * (ConsoleSessionOpen/Input/Close, docs/fleet.md "Console sessions"). Its
 * output comes on the session's own topic, signed by the vehicle and
 * numbered (FLEET-001); a gap in the numbers, or in the positions, is read
 * with GetConsole, the only request left for output. On a terminal what is
 * typed goes as numbered inputs and Ctrl-] detaches; without one (--follow)
 * the session is read-only. An input that is refused, or the session's
 * last publication, ends it. */
static int console_fleet_session(struct hvctl *h, const char *vm, Hvmgr__V1__VmSelector *sel,
				 bool interactive, uint64_t from)
{
	Hvmgr__V1__ConsoleSessionOpenRequest oreq = HVMGR__V1__CONSOLE_SESSION_OPEN_REQUEST__INIT;
	Hvmgr__V1__ConsoleSessionOpenResponse *op = NULL;
	struct hv_status st;
	bool done = false, ended = false;
	int rc;

	oreq.vm = sel;
	oreq.read_only = !interactive;
	rc = hvctl_call(h, "ConsoleSessionOpen", &oreq.base,
			&hvmgr__v1__console_session_open_response__descriptor,
			(ProtobufCMessage **)&op);
	if (rc != HVCTL_OK)
		return rc;
	struct hvf *f = hvctl_fleet(h);
	if (!op->output_topic[0]) {
		rc = hvctl_error(HVCTL_FAIL, "console",
				 "vehicle '%s' does not publish console output (its hv-agent "
				 "predates console output topics): use `console VM` without a "
				 "terminal to read it once",
				 h->vehicle);
		goto close;
	}
	if (!f || hvf_console_open(f, h->vehicle, op->output_topic, &st) != 0) {
		rc = f ? hvctl_fail("console", &st) : h->conn_rc;
		goto close;
	}
	uint64_t seq = 1, expect = 1, pos = op->position;
	if (!from) /* the whole ring, as the read-only console shows */
		from = pos > 16384 - 64 ? pos - (16384 - 64) : 0;
	uint64_t quiet_ns = (uint64_t)op->idle_ms * 1000000ull / 3, last = 0, refused = 0;
	if (interactive) {
		tty_raw();
		printf("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", vm);
		if (!op->writer)
			printf("hvctl: console: %s; what you type is not sent\n", op->notice);
	}
	fflush(stdout);
	if ((rc = console_get_range(h, sel, &from, pos)) != HVCTL_OK)
		goto restore;
	while (!done && !interrupted) {
		Hvmgr__V1__FleetConsoleOutput *o;
		char why[256] = "";
		while (!done && hvf_console_next(f, &o, 0, &refused, why, sizeof why)) {
			if (o->seq >= expect) {
				if (o->seq > expect || o->position > pos) {
					fprintf(stderr,
						"\r\nhvctl: console: %" PRIu64
						" publication(s) missing; read with GetConsole\r\n",
						o->seq - expect);
					rc = console_get_range(h, sel, &pos, o->position);
				}
				uint64_t skip = o->position < pos ? pos - o->position : 0;
				if (skip < o->data.len)
					fwrite(o->data.data + skip, 1, o->data.len - skip, stdout);
				if (o->lost_bytes)
					fprintf(stderr,
						"\r\nhvctl: console: %" PRIu64
						" bytes were overwritten before they could be read\r\n",
						o->lost_bytes);
				if (o->next_position > pos)
					pos = o->next_position;
				expect = o->seq + 1;
				if (o->ended[0]) {
					fprintf(stderr,
						"\r\nhvctl: console: the session ended: %s\r\n",
						o->ended);
					rc = HVCTL_FAIL;
					done = ended = true;
				}
			}
			hvmgr__v1__fleet_console_output__free_unpacked(o, NULL);
			if (rc != HVCTL_OK)
				done = true;
		}
		if (refused)
			fprintf(stderr,
				"\r\nhvctl: console: %" PRIu64 " publication(s) refused: %s\r\n",
				refused, why);
		refused = 0;
		if (fflush(stdout) != 0 || done)
			break;
		struct pollfd p[2] = { { 0, POLLIN, 0 }, { 1, 0, 0 } };
		bool due = seq == 1 || hv_mono_ns() - last >= quiet_ns; /* input 1 starts the output */
		if (poll(p, interactive ? 2 : 1, due ? 0 : 20) <= 0 && !due)
			continue;
		if (p[interactive ? 1 : 0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		uint8_t buf[256];
		ssize_t got = 0, keep = 0;
		if (interactive && (p[0].revents & (POLLIN | POLLHUP))) {
			got = read(0, buf, sizeof buf);
			if (got <= 0)
				break;
			for (keep = 0; keep < got && buf[keep] != DETACH_CHAR; keep++)
				;
			done = keep < got;
		}
		if (!(op->writer && keep) && !due)
			continue;
		Hvmgr__V1__ConsoleSessionInputRequest in =
			HVMGR__V1__CONSOLE_SESSION_INPUT_REQUEST__INIT;
		ProtobufCMessage *ir;
		in.session = op->session;
		in.seq = seq++;
		in.data.data = buf;
		in.data.len = op->writer ? (size_t)keep : 0;
		if ((rc = hvctl_call(h, "ConsoleSessionInput", &in.base,
				     &hvmgr__v1__console_session_input_response__descriptor, &ir)) !=
		    0)
			break;
		protobuf_c_message_free_unpacked(ir, NULL);
		last = hv_mono_ns();
	}
restore:
	if (interactive) {
		tty_restore();
		printf("\n");
	}
close:;
	Hvmgr__V1__ConsoleSessionCloseRequest cl = HVMGR__V1__CONSOLE_SESSION_CLOSE_REQUEST__INIT;
	ProtobufCMessage *cr = NULL;
	cl.session = op->session;
	if (!ended && rc == HVCTL_OK) {
		if (hvctl_call(h, "ConsoleSessionClose", &cl.base,
			       &hvmgr__v1__console_session_close_response__descriptor, &cr) == 0)
			protobuf_c_message_free_unpacked(cr, NULL);
	} else if (!ended && f) {
		/* The error is told already: the session may be gone with it (its
		 * end, a lost link), so a Close that fails too says nothing more. */
		struct hv_status cst;
		if (hvf_call(f, h->vehicle, "/hvmgr.v1.Hvmgr/ConsoleSessionClose", &cl.base,
			     &hvmgr__v1__console_session_close_response__descriptor, &cr,
			     HVCTL_CALL_TIMEOUT_MS, &cst) == 0)
			protobuf_c_message_free_unpacked(cr, NULL);
	}
	protobuf_c_message_free_unpacked(&op->base, NULL);
	return rc;
}

int console_attach(struct hvctl *h, const char *vm, bool follow, uint64_t from)
{
	Hvmgr__V1__VmSelector sel;
	bool interactive = isatty(0), banner = false;
	int rc = HVCTL_OK;

	follow = follow || interactive;
	hvctl_selector(&sel, vm);
	catch_sigint();
	if (h->fleet_url && follow) {
		return console_fleet_session(h, vm, &sel, interactive && isatty(1) && !from, from);
	} else if (interactive && isatty(1) && !from) {
		bool denied;
		rc = console_duplex(h, vm, &sel, &denied);
		if (!denied)
			return rc;
		fprintf(stderr, "hvctl: console: typing needs the operator role: "
				"showing output only\n");
	}
	while (!interrupted) {
		Hvmgr__V1__GetConsoleRequest req = HVMGR__V1__GET_CONSOLE_REQUEST__INIT;
		Hvmgr__V1__GetConsoleResponse *r;
		req.vm = &sel;
		req.from_position = from;
		if ((rc = hvctl_call(h, "GetConsole", &req.base,
				     &hvmgr__v1__get_console_response__descriptor,
				     (ProtobufCMessage **)&r)) != 0)
			break;
		if (interactive && !banner) {
			/* virsh's words, once the VM is known to exist */
			printf("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", vm);
			fflush(stdout);
			tty_raw();
			banner = true;
		}
		if (r->lost_bytes)
			fprintf(stderr,
				"hvctl: console: %" PRIu64
				" bytes were overwritten before they could be read\n",
				r->lost_bytes);
		size_t got = r->data.len;
		bool ok = !got || fwrite(r->data.data, 1, got, stdout) == got;
		ok = fflush(stdout) == 0 && ok;
		from = r->next_position;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (!ok)
			break; /* the reader went away: not an error */
		if (got)
			continue; /* there may be more right away */
		if (!follow || console_wait(interactive, CONSOLE_POLL_MS))
			break;
	}
	if (banner) {
		tty_restore();
		printf("\n");
	}
	return rc;
}

HVCTL_HANDLER(cmd_console)
{
	uint64_t from = 0;

	if (opt_u64(a, "from", 0, UINT64_MAX, &from) != 0)
		return HVCTL_USAGE;
	return console_attach(h, a->pos[0], opt_flag(a, "follow"), from);
}
