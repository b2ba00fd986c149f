/*
 * audit_anchor.c - see audit_anchor.h.
 */
#include "audit_anchor.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deadline.h"
#include "hvmgmt.h"
#include "log.h"

#define ANCHOR_QUIET_NS 1000000000ull /* 1 s without a new head */
#define ANCHOR_MAX_NS 5000000000ull   /* but at least every 5 s   */

struct audit_anchor {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, stop;
	int checked, enabled; /* the check at start done; hv-core keeps the sequence */
	uint64_t pending;     /* newest head written by the store */
	uint64_t last_ns;     /* when the store last wrote a head (hv_mono_ns) */
	char state[AUDIT_ANCHOR_STATE_LEN]; /* audit_anchor_describe, under lock */
	struct hvlink *link;
	struct store *store;
};

static void set_state(struct audit_anchor *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_state(struct audit_anchor *a, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&a->lock);
	va_start(ap, fmt);
	vsnprintf(a->state, sizeof a->state, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&a->lock);
}

void audit_anchor_describe(struct audit_anchor *a, char *buf, size_t len)
{
	if (!a) {
		snprintf(buf, len, "not anchored: turned off (--no-audit-anchor)");
		return;
	}
	pthread_mutex_lock(&a->lock);
	snprintf(buf, len, "%s", a->state);
	pthread_mutex_unlock(&a->lock);
}

struct audit_anchor *audit_anchor_new(void)
{
	struct audit_anchor *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	snprintf(a->state, sizeof a->state, "not anchored yet: hv-core not reached");
	return a;
}

void audit_anchor_head(void *anchor, uint64_t seq)
{
	struct audit_anchor *a = anchor;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	if (seq > a->pending) {
		a->pending = seq;
		a->last_ns = hv_mono_ns();
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

/* One command; 1 when hv-core answered (rep filled), 0 when it is not there. */
static int command(struct audit_anchor *a, uint32_t cmd, uint64_t arg, struct hvlink_reply *rep)
{
	struct hvlink_cmd c = { .cmd = cmd, .arg = { arg } };
	struct hv_status st;
	return hvlink_command(a->link, &c, rep, &st) == 0;
}

/* MGMT-631: 1 when checked (or nothing to check with), 0 to try again. A
 * hv-core that cannot keep the sequence is said once in the log (a warning:
 * the restore check is off) and stays in audit_anchor_describe. */
static int check_at_start(struct audit_anchor *a, int *enabled)
{
	struct hvlink_reply rep;
	struct hvlink_info info;
	struct hv_status st;
	if (hvlink_info(a->link, &info, &st) != 0)
		return 0;
	uint64_t need = HVM_CAP(HVM_CMD_AUDIT_SEQ_GET) | HVM_CAP(HVM_CMD_AUDIT_SEQ_SET);
	if ((info.caps & need) != need) { /* MGMT-021: a hv-core without them */
		set_state(a, "not anchored: hv-core %s lacks AUDIT_SEQ_GET/SET (MGMT-630/631)",
			  info.hv_version);
		log_warn("audit sequence: not anchored: hv-core %s lacks AUDIT_SEQ_GET/SET; a "
			 "database and head file put back together from an older copy go undetected",
			 info.hv_version);
		*enabled = 0;
		return 1;
	}
	if (!command(a, HVM_CMD_AUDIT_SEQ_GET, 0, &rep))
		return 0;
	if (rep.status != HVM_OK || rep.ret[2] == 0) {
		const char *why =
			rep.status == HVM_OK ? "hv-core has no non-volatile storage" : rep.msg;
		set_state(a, "not anchored: %s", why);
		log_warn("audit sequence: not anchored: %s; a database and head file put back "
			 "together from an older copy go undetected",
			 why);
		*enabled = 0;
		return 1;
	}
	uint64_t ours = store_audit_newest_seq(a->store);
	if (rep.ret[0] > ours) {
		char f[256];
		snprintf(f, sizeof f,
			 "the newest audit row is %" PRIu64 " but hv-core holds audit sequence %" PRIu64
			 ": the database and its head file were put back from an older copy",
			 ours, (uint64_t)rep.ret[0]);
		log_error("audit log failed verification: %s; state-changing calls are refused "
			  "until an admin runs 'hvctl audit acknowledge'",
			  f);
		store_audit_report(a->store, f);
	}
	set_state(a, "anchored: hv-core holds audit sequence %" PRIu64, (uint64_t)rep.ret[0]);
	log_info("audit sequence: anchored: hv-core holds %" PRIu64 ", the log's newest row is "
		 "%" PRIu64,
		 (uint64_t)rep.ret[0], ours);
	*enabled = 1;
	return 1;
}

/* Waits on a->cond (lock held) for at most ns. */
static void wait_ns(struct audit_anchor *a, uint64_t ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t t = (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec += (time_t)(t / 1000000000u);
	ts.tv_nsec = (long)(t % 1000000000u);
	pthread_cond_timedwait(&a->cond, &a->lock, &ts);
}

static void *run(void *arg)
{
	struct audit_anchor *a = arg;
	int warned = 0;
	uint64_t sent = 0, due_since = 0;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		int idle = a->checked && (!a->enabled || a->pending <= sent);
		if (a->stop && (idle || !a->checked))
			break; /* handed over what there was, or hv-core is not there */
		if (idle) {
			due_since = 0;
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		/* A burst of rows is handed over once, when it has been quiet for
		 * ANCHOR_QUIET_NS (at the latest after ANCHOR_MAX_NS): hv-core writes
		 * its flash once per burst, not once per row. */
		uint64_t now = hv_mono_ns();
		if (a->checked && !a->stop) {
			if (!due_since)
				due_since = now;
			uint64_t quiet_at = a->last_ns + ANCHOR_QUIET_NS,
				 max_at = due_since + ANCHOR_MAX_NS;
			uint64_t at = quiet_at < max_at ? quiet_at : max_at;
			if (now < at) {
				wait_ns(a, at - now);
				continue;
			}
		}
		uint64_t want = a->pending;
		pthread_mutex_unlock(&a->lock);
		int ok = 1;
		if (!a->checked) {
			ok = check_at_start(a, &a->enabled);
			a->checked = ok;
		} else {
			struct hvlink_reply rep;
			ok = command(a, HVM_CMD_AUDIT_SEQ_SET, want, &rep);
			if (ok && rep.status != HVM_OK) {
				set_state(a,
					  "not anchored: hv-core did not keep audit sequence %" PRIu64
					  ": %s",
					  want, rep.msg);
				if (!warned)
					log_warn("audit sequence %" PRIu64 " not kept by hv-core: %s",
						 want, rep.msg);
				warned = 1;
			} else if (ok) {
				set_state(a, "anchored: hv-core holds audit sequence %" PRIu64, want);
			}
			if (ok) {
				sent = want; /* refused ones are not retried */
				due_since = 0;
			}
		}
		pthread_mutex_lock(&a->lock);
		if (!ok && a->stop)
			break;
		if (!ok) /* hv-core not there: again in a second */
			wait_ns(a, 1000000000u);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int audit_anchor_start(struct audit_anchor *a, struct hvlink *link, struct store *st,
		       struct hv_status *status)
{
	a->link = link;
	a->store = st;
	a->pending = store_audit_newest_seq(st);
	/* before anything else writes a row, when hv-core is up already */
	struct hv_status ignore;
	if (hvlink_ensure(link, &ignore) == 0)
		a->checked = check_at_start(a, &a->enabled);
	int rc = pthread_create(&a->thread, NULL, run, a);
	if (rc != 0)
		return hv_status_set(status, HV_RESOURCE_EXHAUSTED,
				     "cannot start the audit sequence thread: %d", rc);
	a->running = 1;
	return 0;
}

void audit_anchor_stop(struct audit_anchor *a)
{
	if (!a || !a->running)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->running = 0;
}

void audit_anchor_free(struct audit_anchor *a)
{
	if (!a)
		return;
	audit_anchor_stop(a);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
