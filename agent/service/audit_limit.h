/*
 * audit_limit.h - how many refused calls get an audit row of their own.
 *
 * Every call refused by authorization is audited (REQ-SAF-16), and anyone
 * who can open the 0666 read-only socket can make calls that are refused:
 * unbounded, a local user could grow the audit log (and the disk) as fast as
 * it can call, and bury the rows that matter among its own. So, per
 * listener, at most `per_sec` refused calls in a one-second window get a row
 * each; the others are counted and recorded as one summary row ("K refused
 * calls suppressed") before the next refusal row of that listener, or when
 * the owner flushes (before any other audit row, on GetAudit, at exit).
 * Nothing is lost from the count; only the per-call detail is.
 *
 * Bookkeeping only: the caller passes the clock (so it is tested without
 * waiting), writes the rows, and serializes calls.
 */
#ifndef AUDIT_LIMIT_H
#define AUDIT_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define AUDIT_LIMIT_LISTENERS 3   /* enum rpc_listener_kind */
#define AUDIT_REFUSED_PER_SEC 10u /* rows of their own, per listener and second */
#define AUDIT_LIMIT_WINDOW_NS 1000000000ull

struct audit_limit_window {
	bool open;         /* a window has begun                       */
	uint64_t start_ns; /* when the current window began            */
	unsigned rows;     /* refusal rows written in it               */
	uint64_t pending;  /* suppressed since the last summary row    */
};

struct audit_limit {
	unsigned per_sec;
	struct audit_limit_window w[AUDIT_LIMIT_LISTENERS];
	uint64_t suppressed; /* in all, since start */
};

void audit_limit_init(struct audit_limit *l, unsigned per_sec);

/* A call refused on listener `lis` at now_ns (a monotonic clock). true: it
 * gets its own row, and *summary_first > 0 says a summary row for that many
 * earlier suppressed calls must be written before it; false: it is counted
 * in the next summary. A listener number out of range shares the last one. */
bool audit_limit_admit(struct audit_limit *l, unsigned lis, uint64_t now_ns, uint64_t *summary_first);

/* Takes listener lis's pending count for a summary row now (0: none). */
uint64_t audit_limit_take(struct audit_limit *l, unsigned lis);

#endif /* AUDIT_LIMIT_H */
