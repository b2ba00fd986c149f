/*
 * events.c - the event ring (MGMT-130, MGMT-140). Entry (seq % count) holds
 * event number seq; its seq field is written last with release ordering, then
 * ev_head. A writer that laps a reader's ev_ack counts the loss in ev_overflow.
 */
#include <stddef.h>
#include "region.h"
#include "spinlock.h"
#include "timer.h"

static spinlock_t events_lock;
/* MGMT-301: the head and the overflow count are hv-core's; the register page
 * only publishes them (a client rewriting ev_head must not move the ring) */
static uint64_t head, overflow;

uint64_t events_append_stamped(uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason,
			       uint64_t *time_ns)
{
	volatile struct hvm_regs *r = mgmt_regs();
	volatile struct hvm_event *ring =
		(volatile struct hvm_event *)((volatile uint8_t *)r + HVM_OFF_EVENTS);
	spin_lock(&events_lock);
	uint64_t seq = head;
	uint64_t ack = __atomic_load_n(&r->ev_ack, __ATOMIC_ACQUIRE);
	if (seq >= HVM_EVENT_COUNT && seq - HVM_EVENT_COUNT >= ack)
		r->ev_overflow = ++overflow;
	volatile struct hvm_event *e = &ring[seq % HVM_EVENT_COUNT];
	uint64_t now = timer_uptime_ns();
	e->time_ns = now;
	e->type = type;
	e->vm_id = vm_id;
	e->detail = detail;
	e->reason = reason;
	__atomic_store_n(&e->seq, seq, __ATOMIC_RELEASE);
	head = seq + 1;
	__atomic_store_n(&r->ev_head, head, __ATOMIC_RELEASE);
	spin_unlock(&events_lock);
	if (time_ns)
		*time_ns = now;
	return seq;
}

uint64_t events_append(uint32_t type, uint32_t vm_id, uint32_t detail, uint32_t reason)
{
	return events_append_stamped(type, vm_id, detail, reason, NULL);
}
