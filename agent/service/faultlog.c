/*
 * faultlog.c - every FAULT and WATCHDOG event of hv-core into the store's
 * fault counters and fault history (REQ-SAF-16, docs/store.md "Fault
 * history"), which live in the keyed audit chain.
 *
 * A thread reads the agent's event log from the event after the last one it
 * accounted for. Every history row starts with "hv_seq=N hv_ns=T boot=B":
 * hv-core's events up to N of its boot B are accounted for, T being hv-core's
 * uptime at N (B, hv-core's boot number of docs/mgmt-abi.md MGMT-500, is left
 * out when hv-core does not count its boots). On start the last such row says
 * where to resume, so faults that happened while hv-agent was stopped are
 * still read from hv-core's ring. What cannot be read is never a silent hole:
 * events the ring overwrote (or that a stopped hv-agent took and did not
 * record) and a restart of hv-core (its event numbers and fault counters
 * begin again) each get a gap row. A restart is known exactly by a new boot
 * number; only a hv-core without one is judged by its event numbers and
 * uptime going back. A row that
 * cannot be written (an unacknowledged audit finding, a full disk) is tried
 * again every second; the events wait in the event log meanwhile.
 */
#include "agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "uuid.h"

#define BATCH 32
#define WAIT_MS 200
#define RETRY_MS 1000

struct faultlog {
	struct agent *ag;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop; /* under lock */

	/* The thread's own. */
	int have_cursor; /* cur_seq/cur_ns: the last event accounted for */
	uint64_t cur_seq, cur_ns;
	uint64_t boot; /* MGMT-500: the boot of the events read, 0 = unknown */
	int started;   /* pos is where reading goes on               */
	uint64_t pos;
	int moved;         /* events read since the last history row      */
	uint64_t gap_done; /* seq + 1 of the event whose gap is recorded  */
	int failing;       /* the last write failed (logged once)         */
};

static int stopping(struct faultlog *f)
{
	pthread_mutex_lock(&f->lock);
	int s = f->stop;
	pthread_mutex_unlock(&f->lock);
	return s;
}

static void pause_ms(struct faultlog *f, unsigned ms)
{
	struct timespec dl = hv_timespec_after_ms(CLOCK_MONOTONIC, ms);

	pthread_mutex_lock(&f->lock);
	while (!f->stop && pthread_cond_timedwait(&f->cond, &f->lock, &dl) == 0)
		;
	pthread_mutex_unlock(&f->lock);
}

/* The resume point from the newest history row: "hv_seq=N hv_ns=T" and, when
 * hv-core counts its boots, " boot=B"; a restart's gap row names only the
 * boot ("hv_seq=- boot=B"): its events from the first on are still to read. */
static void load_cursor(struct faultlog *f)
{
	struct store_audit_entry *h = NULL;
	struct store_err e;
	size_t n = 0;

	if (store_fault_history(f->ag->store, 1, &h, &n, &e) != STORE_OK) {
		log_error("fault history: cannot read where it ended: %s", e.msg);
		return;
	}
	if (n == 1) {
		const char *b = strstr(h[0].outcome, " boot=");
		if (sscanf(h[0].outcome, "hv_seq=%" SCNu64 " hv_ns=%" SCNu64, &f->cur_seq,
			   &f->cur_ns) == 2)
			f->have_cursor = 1;
		if (b && sscanf(b, " boot=%" SCNu64, &f->boot) != 1)
			f->boot = 0;
	}
	store_audit_list_free(h);
}

/* MGMT-500: hv-core's boot number now; 0 when it does not count boots (an
 * older hv-core, the test double, no non-volatile storage) or does not
 * answer. */
static uint64_t core_boot(struct faultlog *f)
{
	struct hvlink_info info;
	struct hvlink_reply rep;
	struct hv_status st;
	struct hvlink_cmd c = { .cmd = HVM_CMD_AUDIT_SEQ_GET };

	if (hvlink_info(f->ag->link, &info, &st) != 0 ||
	    !(info.caps & HVM_CAP(HVM_CMD_AUDIT_SEQ_GET)))
		return 0;
	if (hvlink_command(f->ag->link, &c, &rep, &st) != 0 || rep.status != HVM_OK)
		return 0;
	return rep.ret[3];
}

/* " boot=B" for a row of boot b, "" when unknown. */
static const char *boot_tag(uint64_t b, char *buf, size_t len)
{
	if (!b)
		return "";
	snprintf(buf, len, " boot=%" PRIu64, b);
	return buf;
}

/* Writes a row; 0, or -1 (logged once per run of failures). */
static int wrote(struct faultlog *f, enum store_status s, const struct store_err *e, const char *what)
{
	if (s == STORE_OK) {
		if (f->failing)
			log_info("fault history: writing again");
		f->failing = 0;
		return 0;
	}
	if (!f->failing)
		log_error("fault history: cannot record %s: %s; trying again every second", what,
			  e->msg);
	f->failing = 1;
	return -1;
}

static int gap(struct faultlog *f, const char *detail)
{
	struct store_err e;

	if (wrote(f, store_fault_note(f->ag->store, STORE_FAULT_GAP_RPC, detail, &e), &e, "a gap") !=
	    0)
		return -1;
	/* Lost evidence of faults is itself safety-relevant. */
	log_error("fault history gap: %s", detail);
	return 0;
}

/* The gap row of a restart known by boot numbers (MGMT-500): from boot
 * `was` to boot `now`. Then reading begins at the new boot's first event. */
static int restart_gap(struct faultlog *f, uint64_t was, uint64_t now, const char *read_up_to)
{
	char d[STORE_OUTCOME_MAX + 1], unseen[96] = "";

	if (now > was + 1)
		snprintf(unseen, sizeof unseen,
			 "; boots %" PRIu64 "..%" PRIu64 " came and went unseen", was + 1, now - 1);
	snprintf(d, sizeof d,
		 "hv_seq=- boot=%" PRIu64 " restart: hv-core booted again: boot %" PRIu64
		 ", the events read before were of boot %" PRIu64 " (%s)%s; its event numbers and "
		 "fault counters began again, unread events of boot %" PRIu64 " are lost",
		 now, now, was, read_up_to, unseen, was);
	if (gap(f, d) != 0)
		return -1;
	f->have_cursor = 0;
	f->pos = 0;
	f->boot = now;
	return 0;
}

/* Where to begin, once hv-core answers: after the last event accounted for,
 * unless hv-core restarted since (then from the start of its new run). */
static int begin(struct faultlog *f)
{
	struct hvlink_info info;
	struct hv_status st;
	char d[STORE_OUTCOME_MAX + 1], upto[64];

	if (hvlink_info(f->ag->link, &info, &st) != 0)
		return -1;
	uint64_t now = core_boot(f);
	if (f->have_cursor)
		snprintf(upto, sizeof upto, "up to event %" PRIu64, f->cur_seq);
	else
		snprintf(upto, sizeof upto, "none since it began");
	if (now && f->boot) {
		/* Exact (MGMT-500): the same boot, or another one. */
		if (now != f->boot) {
			if (restart_gap(f, f->boot, now, upto) != 0)
				return -1;
		} else {
			f->pos = f->have_cursor ? f->cur_seq + 1 : 0;
		}
	} else if (!f->have_cursor) {
		/* A history begun now: from the first event this hv-agent
		 * took from hv-core (ev_ack has moved past it since). */
		if (eventlog_first(f->ag->events, &f->pos) != 0)
			return -1;
	} else if (info.ev_head < f->cur_seq + 1 || info.uptime_ns < f->cur_ns) {
		/* Without boot numbers: event numbers or uptime went back. */
		snprintf(d, sizeof d,
			 "hv_seq=-%s restart: hv-core restarted after its event %" PRIu64
			 " (uptime now %" PRIu64 " ns, next event %" PRIu64
			 "); its event numbers and fault counters began again, unread events of the earlier run are lost",
			 boot_tag(now, upto, sizeof upto), f->cur_seq, info.uptime_ns, info.ev_head);
		if (gap(f, d) != 0)
			return -1;
		f->have_cursor = 0;
		f->pos = 0;
	} else {
		f->pos = f->cur_seq + 1;
	}
	f->boot = now;
	f->started = 1;
	if (now)
		log_info("fault history: reading hv-core's events of its boot %" PRIu64
			 " from %" PRIu64,
			 now, f->pos);
	else
		log_info("fault history: reading hv-core's events from %" PRIu64
			 " (hv-core counts no boots: a restart is judged by event numbers and uptime)",
			 f->pos);
	return 0;
}

static const char *kind_name(const struct hvm_event *ev)
{
	static const char *const k[] = { "none",     "stage2-abort", "undef-trap",
					 "watchdog", "guest-report", "hypercall" };
	unsigned v = ev->detail & HVM_EV_FAULT_KIND_MASK;

	if (ev->type == HVM_EV_WATCHDOG)
		return "watchdog";
	return v < sizeof k / sizeof k[0] ? k[v] : "other";
}

static int record_fault(struct faultlog *f, const struct eventlog_rec *r)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	struct hv_status st;
	struct store_err e;
	uint32_t mask = 0, crit = 0;
	char uuid[HV_UUID_STR_LEN] = "00000000-0000-0000-0000-000000000000";
	char name[HVM_NAME_LEN + 1], d[STORE_OUTCOME_MAX + 1];
	const char *kind = kind_name(&r->ev);
	uint32_t suppressed = r->ev.detail >> HVM_EV_FAULT_SUPPRESSED_SHIFT;
	uint64_t count = 0;

	memcpy(name, r->vm_name, HVM_NAME_LEN);
	name[HVM_NAME_LEN] = '\0';
	for (char *p = name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			*p = '?';
	/* The VM as hv-core holds it now; one undefined meanwhile keeps the
	 * nil uuid and the name the event log gave it. */
	if (r->ev.vm_id < HVM_MAX_VMS && hvlink_read_slots(f->ag->link, slots, &mask, &st) == 0 &&
	    (mask & (1u << r->ev.vm_id)) &&
	    !strncmp(slots[r->ev.vm_id].name, r->vm_name, HVM_NAME_LEN)) {
		hv_uuid_format(slots[r->ev.vm_id].uuid, uuid);
		crit = slots[r->ev.vm_id].criticality;
	}
	char bt[32];
	snprintf(d, sizeof d,
		 "hv_seq=%" PRIu64 " hv_ns=%" PRIu64 "%s vm=%s id=%u suppressed=%u criticality=%u",
		 r->ev.seq, r->ev.time_ns, boot_tag(f->boot, bt, sizeof bt), name[0] ? name : "?",
		 r->ev.vm_id, suppressed, crit);
	if (wrote(f, store_fault_event(f->ag->store, uuid, kind, d, &count, &e), &e, "a fault") != 0)
		return -1;
	/* Log levels by safety relevance: a watchdog expiry or a fault of an
	 * ASIL VM is an error, a QM VM's fault a warning. */
	if (r->ev.type == HVM_EV_WATCHDOG || crit > 0)
		log_error("fault history: %s of VM '%s' (%s, hv-core event %" PRIu64
			  ", %u more held back), %" PRIu64 " recorded for it",
			  kind, name, agent_criticality_name(crit), r->ev.seq, suppressed, count);
	else
		log_warn("fault history: %s of VM '%s' (QM, hv-core event %" PRIu64
			 ", %u more held back), %" PRIu64 " recorded for it",
			 kind, name, r->ev.seq, suppressed, count);
	return 0;
}

/* Accounts for one event; 0, or -1 when a row could not be written (the
 * event is read again). */
static int handle(struct faultlog *f, const struct eventlog_rec *r)
{
	char d[STORE_OUTCOME_MAX + 1], bt[32];

	if (r->lost_before && f->gap_done != r->ev.seq + 1) {
		snprintf(d, sizeof d,
			 "hv_seq=%" PRIu64 " hv_ns=%" PRIu64 "%s lost=%" PRIu64 ": %" PRIu64
			 " hv-core events before event %" PRIu64
			 " were never read (ring overwritten while hv-agent was away or behind); faults among them are not recorded",
			 r->ev.seq - 1, r->ev.time_ns, boot_tag(f->boot, bt, sizeof bt),
			 r->lost_before, r->lost_before, r->ev.seq);
		if (gap(f, d) != 0)
			return -1;
		f->gap_done = r->ev.seq + 1;
	}
	if (r->ev.type == HVM_EV_FAULT || r->ev.type == HVM_EV_WATCHDOG) {
		if (record_fault(f, r) != 0)
			return -1;
		f->moved = 0;
	} else {
		f->moved = 1;
	}
	f->have_cursor = 1;
	f->cur_seq = r->ev.seq;
	f->cur_ns = r->ev.time_ns;
	f->pos = r->ev.seq + 1;
	return 0;
}

static void *run(void *arg)
{
	struct faultlog *f = arg;
	struct eventlog_rec *recs = calloc(BATCH, sizeof *recs);
	char d[STORE_OUTCOME_MAX + 1];

	if (!recs) {
		log_error("fault history: out of memory; FAULT and WATCHDOG events are not persisted");
		return NULL;
	}
	load_cursor(f);
	while (!stopping(f)) {
		if (!f->started && begin(f) != 0) {
			pause_ms(f, WAIT_MS);
			continue;
		}
		uint64_t want = f->pos, at = f->pos;
		size_t n = eventlog_read(f->ag->events, &at, recs, BATCH, WAIT_MS);
		uint64_t now = n ? core_boot(f) : 0;
		if (now && f->boot && now != f->boot) {
			/* MGMT-500: another boot of hv-core, known exactly. */
			char upto[64];
			snprintf(upto, sizeof upto, "up to event %" PRIu64, want ? want - 1 : 0);
			if (restart_gap(f, f->boot, now, upto) != 0) {
				pause_ms(f, RETRY_MS);
				continue;
			}
		} else if (n && recs[0].ev.seq < want && !(now && f->boot)) {
			/* Without boot numbers: the event log began a new
			 * numbering, hv-core restarted. */
			char bt[32];
			snprintf(d, sizeof d,
				 "hv_seq=-%s restart: hv-core restarted (events read up to %" PRIu64
				 ", new numbering from %" PRIu64
				 "); its event numbers and fault counters began again",
				 boot_tag(now, bt, sizeof bt), want ? want - 1 : 0, recs[0].ev.seq);
			if (gap(f, d) != 0) {
				pause_ms(f, RETRY_MS);
				continue;
			}
		}
		if (now)
			f->boot = now;
		for (size_t i = 0; i < n; i++)
			if (handle(f, &recs[i]) != 0) {
				pause_ms(f, RETRY_MS);
				break;
			}
	}
	if (f->moved) {
		struct store_err e;
		char bt[32];
		snprintf(d, sizeof d,
			 "hv_seq=%" PRIu64 " hv_ns=%" PRIu64
			 "%s mark: hv-agent stopped having read hv-core's events up to %" PRIu64,
			 f->cur_seq, f->cur_ns, boot_tag(f->boot, bt, sizeof bt), f->cur_seq);
		wrote(f, store_fault_note(f->ag->store, STORE_FAULT_MARK_RPC, d, &e), &e,
		      "where reading ended");
	}
	free(recs);
	return NULL;
}

struct faultlog *faultlog_start(struct agent *ag, struct hv_status *st)
{
	struct faultlog *f = calloc(1, sizeof *f);

	if (!f) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	f->ag = ag;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&f->thread, NULL, run, f) != 0) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		free(f);
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "cannot start the fault history thread");
		return NULL;
	}
	return f;
}

void faultlog_stop(struct faultlog *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}
