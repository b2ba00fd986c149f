/*
 * eventlog.h - hv-agent's copy of hv-core's event stream.
 *
 * One follower thread reads the event ring through hvlink (MGMT-140), keeps the
 * most recent events in memory with their VM names, acknowledges them to
 * hv-core (ev_ack) and wakes every WatchEvents stream. Events keep hv-core's
 * sequence numbers, so a client can resume after its own or hv-agent's
 * restart with "events from seq N on". Losses (ring overflow while hv-agent was
 * away, or a resume point older than the history) are reported, never hidden.
 */
#ifndef EVENTLOG_H
#define EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "hvlink.h"

struct eventlog;

struct eventlog_rec {
	struct hvm_event ev;  /* ev.seq is hv-core's event number             */
	uint64_t lost_before; /* events lost right before this one            */
	char vm_name[HVM_NAME_LEN];
};

struct eventlog_stats {
	uint64_t next_seq;   /* number the next event will carry             */
	uint64_t oldest_seq; /* oldest event still held                      */
	uint64_t recorded;
	uint64_t lost; /* lost between hv-core's ring and this log     */
};

/* capacity: events held (rounded to a power of two, at least 64).
 * poll_ms: how often the ring is read (0 = 20 ms) while events come or
 * someone follows the log live; after a second without events and with
 * nobody following live, the interval doubles up to 200 ms, so an idle
 * hv-agent wakes a few times a second, not fifty. */
struct eventlog *eventlog_new(struct hvlink *link, unsigned capacity, unsigned poll_ms);
int eventlog_start(struct eventlog *log, struct hv_status *st);
void eventlog_stop_and_free(struct eventlog *log);

/* Copies up to max events with seq >= *pos into out and advances *pos. Waits
 * up to wait_ms for the first one. If *pos is older than the history, the first
 * event returned carries the difference in lost_before. A position from before
 * a restart of hv-core (whose numbers then began again) is served from the
 * oldest event of the new numbering; any other position ahead of the newest
 * event waits for it. Returns the number copied. */
size_t eventlog_read(struct eventlog *log, uint64_t *pos, struct eventlog_rec *out, size_t max,
		     unsigned wait_ms);

/* A stream that delivers events as they happen (WatchEvents, WatchHealth)
 * calls this with 1 when it starts, and 0 when it ends: while any does, the
 * ring is read every poll_ms (the first read at once). */
void eventlog_live(struct eventlog *log, int follow);

/* Events that must not be lost between reading and recording (OTA-210).
 * Events of the types in type_mask (bit t for type t < 64) are held: the
 * follower acknowledges hv-core's ring (MGMT-140) no further than the oldest
 * held event not yet released, so an hv-agent killed after reading one and
 * before recording it reads it again from hv-core's ring when it starts (the
 * events after it as well: a consumer must know what it recorded already).
 * A held event that falls out of the history (capacity events later) is held
 * no longer: its readers are told of the loss. Called before eventlog_start. */
void eventlog_hold(struct eventlog *log, uint64_t type_mask);

/* Every held event numbered below seq is recorded (or will never be): the
 * acknowledgement may pass it. */
void eventlog_release(struct eventlog *log, uint64_t seq);

/* Where following hv-core's events began when hv-agent started (its first
 * unacknowledged event then): 0, or -1 before it began. */
int eventlog_first(struct eventlog *log, uint64_t *seq);
void eventlog_stats(struct eventlog *log, struct eventlog_stats *out);

#endif /* EVENTLOG_H */
