/*
 * opqueue.c - one operation at a time with a bounded FIFO of waiters
 * (opqueue.h). Waiters live on their callers' stacks; the stopping flag is
 * nobody's to signal, so waiters also look at it every QUEUE_POLL_NS.
 */
#include "opqueue.h"

#include <time.h>

#include "callscope.h"
#include "deadline.h"

#define QUEUE_POLL_NS (20u * HV_NS_PER_MS)

struct hv_opqueue_waiter {
	struct hv_opqueue_waiter *next;
};

void hv_opqueue_init(struct hv_opqueue *q, unsigned max)
{
	pthread_condattr_t ca;

	q->busy = 0;
	q->head = q->tail = NULL;
	q->len = q->peak = 0;
	q->max = max ? max : 1;
	q->full = q->expired = q->stopped = 0;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
}

void hv_opqueue_destroy(struct hv_opqueue *q)
{
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}

/* Removes w wherever it is in the queue. Under the lock. */
static void unlink_waiter(struct hv_opqueue *q, struct hv_opqueue_waiter *w)
{
	struct hv_opqueue_waiter **pp = &q->head, *prev = NULL;

	while (*pp && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = w->next;
	if (q->tail == w)
		q->tail = prev;
	q->len--;
	pthread_cond_broadcast(&q->cond); /* the new head may be free to go */
}

static unsigned ahead_of(struct hv_opqueue *q, const struct hv_opqueue_waiter *w)
{
	unsigned n = q->busy ? 1 : 0;

	for (const struct hv_opqueue_waiter *p = q->head; p && p != w; p = p->next)
		n++;
	return n;
}

int hv_opqueue_enter(struct hv_opqueue *q, const char *what, uint64_t deadline, struct hv_status *st)
{
	struct hv_opqueue_waiter w = { NULL };

	hv_callscope_blocking(); /* an operation may wait for its turn and for hv-core */
	if (!deadline)
		deadline = hv_callscope_deadline();
	pthread_mutex_lock(&q->lock);
	if (hv_deadline_passed(deadline)) {
		q->expired++;
		pthread_mutex_unlock(&q->lock);
		return hv_status_set(st, HV_DEADLINE_EXCEEDED,
				     "%s not sent: the caller's deadline has passed", what);
	}
	if (!q->busy && !q->head) {
		q->busy = 1;
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	if (q->len >= q->max) {
		unsigned n = q->len;
		q->full++;
		pthread_mutex_unlock(&q->lock);
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "%s not sent: hv-core executes one management operation at a time and %u more are already waiting (the limit); try again when they are done",
				     what, n);
	}
	if (q->tail)
		q->tail->next = &w;
	else
		q->head = &w;
	q->tail = &w;
	if (++q->len > q->peak)
		q->peak = q->len;

	for (;;) {
		/* Stopping and the deadline first: a caller that has given up
		 * does not start its operation, even when its turn has come. */
		if (hv_callscope_stopping()) {
			unlink_waiter(q, &w);
			q->stopped++;
			pthread_mutex_unlock(&q->lock);
			return hv_status_set(st, HV_UNAVAILABLE,
					     "%s not sent: hv-agent is shutting down", what);
		}
		uint64_t now = hv_mono_ns();
		if (deadline && now >= deadline) {
			unsigned ahead = ahead_of(q, &w);
			unlink_waiter(q, &w);
			q->expired++;
			pthread_mutex_unlock(&q->lock);
			return hv_status_set(st, HV_DEADLINE_EXCEEDED,
					     "%s not sent: the caller's deadline passed while it waited for its turn (%u operation%s ahead of it)",
					     what, ahead, ahead == 1 ? "" : "s");
		}
		if (!q->busy && q->head == &w) {
			unlink_waiter(q, &w);
			q->busy = 1;
			pthread_mutex_unlock(&q->lock);
			return 0;
		}
		uint64_t wake = now + QUEUE_POLL_NS;
		if (deadline && deadline < wake)
			wake = deadline;
		struct timespec ts = hv_timespec_of_ns(wake);
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
}

void hv_opqueue_leave(struct hv_opqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->busy = 0;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void hv_opqueue_stats(struct hv_opqueue *q, struct hv_opqueue_stats *out)
{
	pthread_mutex_lock(&q->lock);
	out->waiting = q->len;
	out->peak = q->peak;
	out->max = q->max;
	out->full = q->full;
	out->expired = q->expired;
	out->stopped = q->stopped;
	pthread_mutex_unlock(&q->lock);
}
