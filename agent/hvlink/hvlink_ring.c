/*
 * hvlink_ring.c - following hv-core's rings: the event ring (MGMT-130, MGMT-140)
 * and the per-VM console rings (MGMT-170).
 *
 * Both rings are written by hv-core without waiting for readers, so a reader
 * can fall behind and lose entries. Losses are counted and reported, never
 * papered over: an entry whose seq is not the one expected was overwritten
 * while we read it.
 */
#include "hvlink_priv.h"

#include <string.h>

static volatile struct hvm_event *event_at(struct hvlink *l, uint64_t n)
{
	return (volatile struct hvm_event *)(l->base + l->lay.off_events +
					     (size_t)(n % l->lay.event_count) *
						     sizeof(struct hvm_event));
}

static uint64_t oldest_of(uint64_t head, uint64_t count)
{
	return head > count ? head - count : 0;
}

int hvlink_event_start(struct hvlink *l, uint64_t *pos, uint64_t *head_out, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	volatile struct hvm_regs *r = link_regs(l);
	uint64_t head = __atomic_load_n(&r->ev_head, __ATOMIC_ACQUIRE);
	uint64_t ack = __atomic_load_n(&r->ev_ack, __ATOMIC_RELAXED);
	/* Start at the first unconsumed event even if it was overwritten since:
	 * the first read then reports those events as lost. An ack beyond head
	 * means the ring was reset (hv-core restarted). */
	*pos = ack > head ? oldest_of(head, l->lay.event_count) : ack;
	if (head_out)
		*head_out = head;
	link_put(l);
	return 0;
}

int hvlink_read_events(struct hvlink *l, uint64_t *pos, struct hvm_event *out, size_t max,
		       size_t *n, uint64_t *lost, struct hv_status *st)
{
	*n = 0;
	*lost = 0;
	if (link_get(l, st) != 0)
		return -1;
	volatile struct hvm_regs *r = link_regs(l);
	uint64_t count = l->lay.event_count;
	uint64_t p = *pos;

	/* Bounded: each pass either copies an event or moves p forward past lost
	 * ones; a hostile writer can at worst make us return early. */
	for (unsigned pass = 0; *n < max && pass < 4 * HVM_EVENT_COUNT; pass++) {
		uint64_t head = __atomic_load_n(&r->ev_head, __ATOMIC_ACQUIRE);
		if (p > head) {
			/* The ring went backwards: hv-core restarted. Start over. */
			p = oldest_of(head, count);
			continue;
		}
		if (head - p > count) {
			*lost += head - count - p;
			p = head - count;
		}
		if (p == head)
			break;
		volatile struct hvm_event *e = event_at(l, p);
		uint64_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (s1 != p) {
			if (s1 > p)
				continue; /* overwritten: the head check above counts it */
			break;            /* not yet written (head raced ahead) */
		}
		struct hvm_event copy;
		memcpy(&copy, (const void *)e, sizeof copy);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != p)
			continue; /* overwritten while copied */
		copy.seq = p;
		out[(*n)++] = copy;
		p++;
	}
	*pos = p;
	link_put(l);
	return 0;
}

int hvlink_ack_events(struct hvlink *l, uint64_t pos, struct hv_status *st)
{
	if (link_get(l, st) != 0)
		return -1;
	__atomic_store_n(&link_regs(l)->ev_ack, pos, __ATOMIC_RELEASE);
	link_put(l);
	return 0;
}

int hvlink_read_console(struct hvlink *l, uint32_t id, uint64_t from, void *buf, size_t cap,
			size_t *n, uint64_t *start, uint64_t *next, uint64_t *lost,
			struct hv_status *st)
{
	*n = 0;
	*lost = 0;
	*start = *next = from;
	if (link_get(l, st) != 0)
		return -1;
	if (id >= l->lay.max_vms) {
		link_put(l);
		return hv_status_set(st, HV_NOT_FOUND, "no VM with id %u", id);
	}
	volatile struct hvm_console *c =
		(volatile struct hvm_console *)(l->base + l->lay.off_consoles +
						(size_t)id * l->lay.console_size);
	uint64_t size = c->size;
	if (size == 0 || size > l->lay.console_size - offsetof(struct hvm_console, buf)) {
		link_put(l);
		return hv_status_set(st, HV_DATA_LOSS, "console ring %u has an invalid size %llu",
				     id, (unsigned long long)size);
	}
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	uint64_t oldest = oldest_of(head, size);
	if (from > head)
		from = oldest; /* ring reset (hypervisor restarted): start over */
	if (from < oldest) {
		*lost = oldest - from;
		from = oldest;
	}
	uint64_t avail = head - from;
	size_t cnt = avail < cap ? (size_t)avail : cap;
	const volatile uint8_t *ring = c->buf;
	size_t first = (size_t)(from % size);
	size_t part = cnt < size - first ? cnt : (size_t)(size - first);
	memcpy(buf, (const void *)(ring + first), part);
	memcpy((uint8_t *)buf + part, (const void *)ring, cnt - part);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	/* Bytes overwritten while we copied them are dropped from the front. */
	uint64_t head2 = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
	uint64_t oldest2 = oldest_of(head2, size);
	if (oldest2 > from) {
		uint64_t bad = oldest2 - from;
		if (bad > cnt)
			bad = cnt;
		memmove(buf, (uint8_t *)buf + bad, cnt - (size_t)bad);
		cnt -= (size_t)bad;
		*lost += bad;
		from += bad;
	}
	*n = cnt;
	*start = from;
	*next = from + cnt;
	link_put(l);
	return 0;
}
