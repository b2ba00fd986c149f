/*
 * eventlog.c - the follower thread and in-memory history behind WatchEvents
 * (eventlog.h).
 *
 * The history is an array in arrival order (ascending seq, gaps where events
 * were lost). The follower polls the ring: hv-core's ring has no interrupt
 * towards a host process, and a 20 ms poll costs nothing measurable.
 */
#include "eventlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "log.h"

#define READ_BATCH 64
/* Idle, the ring is read less often: when no event came for IDLE_AFTER_MS
 * and nobody follows the log live (eventlog_live), the interval doubles from
 * poll_ms up to IDLE_POLL_MS; an event or a live follower brings poll_ms
 * back at once. */
#define IDLE_AFTER_MS 1000u
#define IDLE_POLL_MS 200u
#define NO_HOLD UINT64_MAX

struct eventlog {
	struct hvlink *link;
	unsigned poll_ms;
	pthread_t thread;
	int running;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* new events, or stop                */
	int stop;
	unsigned live;             /* followers that want poll_ms (eventlog_live) */
	int hurry;                 /* a live follower came: poll now              */
	struct eventlog_rec *recs; /* capacity entries, ring by arrival  */
	size_t cap, first, count;
	uint64_t next_seq;
	uint64_t recorded, lost;
	uint64_t pending_lost; /* to attach to the next event        */
	uint64_t old_end;      /* next_seq before hv-core restarted  */
	int began;             /* first_pos is set                    */
	uint64_t first_pos;    /* where following began, the first time */

	/* held events (eventlog_hold): the acknowledgement stops at hold_at,
	 * the oldest held event at or above released (NO_HOLD: none) */
	uint64_t hold_mask;
	uint64_t released;
	uint64_t hold_at;

	/* follower-private */
	int have_pos;
	uint64_t pos;
	uint64_t acked; /* what ev_ack was last set to */
	char names[HVM_MAX_VMS][HVM_NAME_LEN];
};

struct eventlog *eventlog_new(struct hvlink *link, unsigned capacity, unsigned poll_ms)
{
	struct eventlog *l = calloc(1, sizeof *l);
	size_t cap = 64;

	if (!l)
		return NULL;
	while (cap < capacity && cap < (1u << 20))
		cap <<= 1;
	l->recs = calloc(cap, sizeof *l->recs);
	if (!l->recs) {
		free(l);
		return NULL;
	}
	l->cap = cap;
	l->link = link;
	l->poll_ms = poll_ms ? poll_ms : 20;
	l->hold_at = NO_HOLD;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	return l;
}

static void refresh_names(struct eventlog *l)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	uint32_t mask;
	struct hv_status st;

	if (hvlink_read_slots(l->link, slots, &mask, &st) != 0)
		return;
	for (unsigned i = 0; i < HVM_MAX_VMS; i++)
		if (mask & (1u << i))
			memcpy(l->names[i], slots[i].name, HVM_NAME_LEN);
}

static int held(const struct eventlog *l, const struct hvm_event *ev)
{
	return ev->type < 64 && (l->hold_mask >> ev->type & 1);
}

/* Under the lock: the acknowledgement stops at the oldest held event of the
 * history numbered seq or above, or nowhere. */
static void hold_from(struct eventlog *l, uint64_t seq)
{
	l->hold_at = NO_HOLD;
	for (size_t i = 0; i < l->count; i++) {
		const struct hvm_event *ev = &l->recs[(l->first + i) % l->cap].ev;
		if (ev->seq >= seq && held(l, ev)) {
			l->hold_at = ev->seq;
			return;
		}
	}
}

/* Appends under the lock. */
static void append(struct eventlog *l, const struct hvm_event *ev, uint64_t lost_before)
{
	if (l->count && ev->seq < l->next_seq) {
		/* Numbers went backwards: hv-core restarted. The old history
		 * describes a hypervisor that no longer exists. */
		log_warn("event numbers restarted at %llu (was %llu): hv-core restarted",
			 (unsigned long long)ev->seq, (unsigned long long)l->next_seq);
		l->old_end = l->next_seq;
		l->count = 0;
		l->first = 0;
		/* what was held describes the old hv-core as well */
		l->released = 0;
		l->hold_at = NO_HOLD;
	}
	size_t idx = (l->first + l->count) % l->cap;
	uint64_t evicted = NO_HOLD;
	if (l->count == l->cap) {
		evicted = l->recs[l->first].ev.seq;
		l->first = (l->first + 1) % l->cap;
	} else {
		l->count++;
	}
	struct eventlog_rec *r = &l->recs[idx];
	r->ev = *ev;
	r->lost_before = lost_before;
	if (ev->vm_id < HVM_MAX_VMS)
		memcpy(r->vm_name, l->names[ev->vm_id], HVM_NAME_LEN);
	else
		r->vm_name[0] = '\0';
	r->vm_name[HVM_NAME_LEN - 1] = '\0';
	l->next_seq = ev->seq + 1;
	l->recorded++;
	if (evicted != NO_HOLD && evicted == l->hold_at) /* out of the history: held no longer */
		hold_from(l, evicted + 1);
	else if (held(l, ev) && ev->seq >= l->released && l->hold_at == NO_HOLD)
		l->hold_at = ev->seq;
}

/* Acknowledges what was read, up to the oldest held event not released. */
static void ack_read(struct eventlog *l)
{
	struct hv_status st;

	pthread_mutex_lock(&l->lock);
	uint64_t to = l->hold_at < l->pos ? l->hold_at : l->pos;
	pthread_mutex_unlock(&l->lock);
	if (to != l->acked && hvlink_ack_events(l->link, to, &st) == 0)
		l->acked = to;
}

/* Reads what the ring holds; returns the number of events (and losses) seen. */
static size_t poll_once(struct eventlog *l)
{
	struct hvm_event evs[READ_BATCH];
	struct hv_status st;
	size_t n, seen = 0;
	uint64_t lost;

	if (!l->have_pos) {
		uint64_t head, was = l->pos, at;
		if (hvlink_event_start(l->link, &at, &head, &st) != 0)
			return 0;
		/* The acknowledgement may lag behind what was read (held
		 * events): when hv-core's acknowledgement is still the one this
		 * follower set, below the position read so far and that
		 * position inside hv-core's numbering, the same hv-core came
		 * back and reading goes on from there. An hv-core that
		 * restarted has its own acknowledgement (0) and numbering. */
		l->pos = l->began && at == l->acked && at < was && was <= head ? was : at;
		l->acked = at;
		l->have_pos = 1;
		pthread_mutex_lock(&l->lock);
		if (!l->count)
			l->next_seq = l->pos;
		if (!l->began) {
			l->began = 1;
			l->first_pos = l->pos;
		}
		pthread_mutex_unlock(&l->lock);
		log_info("following hv-core events from %llu (head %llu)",
			 (unsigned long long)l->pos, (unsigned long long)head);
	}
	for (int batch = 0; batch < 16; batch++) {
		if (hvlink_read_events(l->link, &l->pos, evs, READ_BATCH, &n, &lost, &st) != 0) {
			l->have_pos = 0; /* link lost: start over from ev_ack when back */
			return seen;
		}
		if (n == 0 && lost == 0) {
			ack_read(l); /* a release since the last read */
			return seen;
		}
		seen += n + (lost ? 1 : 0);
		refresh_names(l);
		pthread_mutex_lock(&l->lock);
		if (lost) {
			l->lost += lost;
			l->pending_lost += lost;
			log_warn("lost %llu hv-core events (ring overflow)",
				 (unsigned long long)lost);
		}
		for (size_t i = 0; i < n; i++) {
			append(l, &evs[i], l->pending_lost);
			l->pending_lost = 0;
		}
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		ack_read(l);
		if (n < READ_BATCH)
			return seen;
	}
	return seen;
}

static void *follower(void *arg)
{
	struct eventlog *l = arg;

	uint64_t last_ns = hv_mono_ns();
	unsigned wait_ms = l->poll_ms;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		pthread_mutex_unlock(&l->lock);
		size_t seen = poll_once(l);
		uint64_t now = hv_mono_ns();
		pthread_mutex_lock(&l->lock);
		if (seen)
			last_ns = now;
		if (l->live || now - last_ns < IDLE_AFTER_MS * 1000000ull)
			wait_ms = l->poll_ms;
		else if (wait_ms < IDLE_POLL_MS)
			wait_ms = wait_ms * 2 < IDLE_POLL_MS ? wait_ms * 2 : IDLE_POLL_MS;
		l->hurry = 0;
		struct timespec dl = hv_timespec_after_ms(CLOCK_MONOTONIC, wait_ms);
		while (!l->stop && !l->hurry &&
		       pthread_cond_timedwait(&l->cond, &l->lock, &dl) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int eventlog_start(struct eventlog *l, struct hv_status *st)
{
	if (pthread_create(&l->thread, NULL, follower, l) != 0)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "cannot start the event follower thread");
	l->running = 1;
	return 0;
}

void eventlog_stop_and_free(struct eventlog *l)
{
	if (!l)
		return;
	if (l->running) {
		pthread_mutex_lock(&l->lock);
		l->stop = 1;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->recs);
	free(l);
}

void eventlog_live(struct eventlog *l, int follow)
{
	pthread_mutex_lock(&l->lock);
	if (follow) {
		l->live++;
		l->hurry = 1;
		pthread_cond_broadcast(&l->cond);
	} else if (l->live) {
		l->live--;
	}
	pthread_mutex_unlock(&l->lock);
}

/* Copies what is available under the lock. */
static size_t copy_from(struct eventlog *l, uint64_t *pos, struct eventlog_rec *out, size_t max)
{
	size_t n = 0;

	/* A position from before hv-core restarted (numbers began again) is
	 * served from the start of the new numbering. A position merely ahead
	 * of what was recorded so far just waits. */
	if (*pos > l->next_seq && *pos <= l->old_end)
		*pos = l->count ? l->recs[l->first].ev.seq : l->next_seq;
	/* The history covers from its first event minus the losses already
	 * recorded on that event; older positions were lost here as well. */
	uint64_t covered = l->next_seq;
	if (l->count) {
		const struct eventlog_rec *f = &l->recs[l->first];
		covered = f->ev.seq - (f->lost_before <= f->ev.seq ? f->lost_before : f->ev.seq);
	}
	uint64_t missed = *pos < covered ? covered - *pos : 0;
	for (size_t i = 0; i < l->count && n < max; i++) {
		const struct eventlog_rec *r = &l->recs[(l->first + i) % l->cap];
		if (r->ev.seq < *pos)
			continue;
		out[n] = *r;
		if (n == 0)
			out[n].lost_before += missed;
		n++;
		*pos = r->ev.seq + 1;
	}
	return n;
}

void eventlog_hold(struct eventlog *l, uint64_t type_mask)
{
	pthread_mutex_lock(&l->lock);
	l->hold_mask = type_mask;
	pthread_mutex_unlock(&l->lock);
}

void eventlog_release(struct eventlog *l, uint64_t seq)
{
	pthread_mutex_lock(&l->lock);
	/* a number ahead of every event read belongs to an hv-core before a
	 * restart (append() began the numbers again): nothing to release */
	if (seq > l->released && seq <= l->next_seq) {
		l->released = seq;
		if (l->hold_at != NO_HOLD && l->hold_at < seq)
			hold_from(l, seq);
	}
	pthread_mutex_unlock(&l->lock);
}

int eventlog_first(struct eventlog *l, uint64_t *seq)
{
	pthread_mutex_lock(&l->lock);
	int began = l->began;
	*seq = l->first_pos;
	pthread_mutex_unlock(&l->lock);
	return began ? 0 : -1;
}

size_t eventlog_read(struct eventlog *l, uint64_t *pos, struct eventlog_rec *out, size_t max,
		     unsigned wait_ms)
{
	pthread_mutex_lock(&l->lock);
	size_t n = copy_from(l, pos, out, max);
	if (n == 0 && wait_ms) {
		struct timespec dl = hv_timespec_after_ms(CLOCK_MONOTONIC, wait_ms);
		while (!l->stop && n == 0 &&
		       pthread_cond_timedwait(&l->cond, &l->lock, &dl) != ETIMEDOUT)
			n = copy_from(l, pos, out, max);
		if (n == 0)
			n = copy_from(l, pos, out, max);
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

void eventlog_stats(struct eventlog *l, struct eventlog_stats *out)
{
	pthread_mutex_lock(&l->lock);
	out->next_seq = l->next_seq;
	out->oldest_seq = l->count ? l->recs[l->first].ev.seq : l->next_seq;
	out->recorded = l->recorded;
	out->lost = l->lost;
	pthread_mutex_unlock(&l->lock);
}
