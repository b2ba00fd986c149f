/*
 * audit_limit.c - the per-listener budget of refusal rows in the audit log
 * (audit_limit.h): a fixed one-second window per listener.
 */
#include "audit_limit.h"

#include <string.h>

void audit_limit_init(struct audit_limit *l, unsigned per_sec)
{
	memset(l, 0, sizeof *l);
	l->per_sec = per_sec ? per_sec : 1;
}

static struct audit_limit_window *window(struct audit_limit *l, unsigned lis)
{
	return &l->w[lis < AUDIT_LIMIT_LISTENERS ? lis : AUDIT_LIMIT_LISTENERS - 1];
}

bool audit_limit_admit(struct audit_limit *l, unsigned lis, uint64_t now_ns, uint64_t *summary_first)
{
	struct audit_limit_window *w = window(l, lis);

	*summary_first = 0;
	/* A clock that went back (it should not) opens a new window. */
	if (!w->open || now_ns < w->start_ns || now_ns - w->start_ns >= AUDIT_LIMIT_WINDOW_NS) {
		w->open = true;
		w->start_ns = now_ns;
		w->rows = 0;
	}
	if (w->rows >= l->per_sec) {
		w->pending++;
		l->suppressed++;
		return false;
	}
	w->rows++;
	/* The summary goes first, so the log keeps the order of events. */
	*summary_first = w->pending;
	w->pending = 0;
	return true;
}

uint64_t audit_limit_take(struct audit_limit *l, unsigned lis)
{
	struct audit_limit_window *w = window(l, lis);
	uint64_t n = w->pending;

	w->pending = 0;
	return n;
}
