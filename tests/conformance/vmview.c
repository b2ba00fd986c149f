/*
 * vmview.c - the suite's view of the VMs and events behind a region: state
 * snapshots for "a refusal changes nothing" (MGMT-030, REQ-SAF-09), bounded
 * waits for a state, a heartbeat or an event (MGMT-045/050/140/150).
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

bool conf_snap_take(struct conf *c, struct conf_snap *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot sl;
		if (!conf_read_slot(c, i, &sl))
			return false;
		if (sl.defined != 1)
			continue;
		s->defined |= 1ull << i;
		s->state[i] = sl.state;
		s->reason[i] = sl.reason;
		memcpy(s->name[i], sl.name, HVM_NAME_LEN);
		s->name[i][HVM_NAME_LEN - 1] = 0;
	}
	s->vm_count = LD32(c->r->vm_count);
	return true;
}

bool conf_snap_same(const struct conf_snap *a, const struct conf_snap *b, char *why, size_t n)
{
	if (a->vm_count != b->vm_count) {
		snprintf(why, n, "vm_count changed %u -> %u", a->vm_count, b->vm_count);
		return false;
	}
	if (a->defined != b->defined) {
		snprintf(why, n, "defined VMs changed 0x%llx -> 0x%llx",
			 (unsigned long long)a->defined, (unsigned long long)b->defined);
		return false;
	}
	for (unsigned i = 0; i < HVM_MAX_VMS; i++) {
		if (!(a->defined & (1ull << i)))
			continue;
		if (a->state[i] != b->state[i] || a->reason[i] != b->reason[i]) {
			snprintf(why, n, "vm %u changed %s/%u -> %s/%u", i,
				 conf_state_name(a->state[i]), a->reason[i],
				 conf_state_name(b->state[i]), b->reason[i]);
			return false;
		}
		if (strcmp(a->name[i], b->name[i]) != 0) {
			snprintf(why, n, "vm %u name changed '%s' -> '%s'", i, a->name[i],
				 b->name[i]);
			return false;
		}
	}
	return true;
}

void conf_expect_unchanged(struct conf *c, struct conf_result *res, const char *what,
			   const struct conf_snap *before)
{
	struct conf_snap after;
	char why[160];
	/* A refused command must not change anything, not even at the next tick:
	 * let the tick that would publish a change happen first. */
	conf_ticks_advance(c, 500);
	if (!conf_snap_take(c, &after)) {
		conf_fail(res, "%s: a slot never read consistently (gen odd or changing)", what);
		return;
	}
	if (!conf_snap_same(before, &after, why, sizeof(why)))
		conf_fail(res, "%s changed state: %s (MGMT-030, REQ-SAF-09)", what, why);
}

int conf_first_vm_in_state(struct conf *c, uint32_t state)
{
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if ((int)i == c->relay_id) /* the trapped transport's relay is not driven */
			continue;
		if (conf_read_slot(c, i, &s) && s.defined == 1 && s.state == state)
			return (int)i;
	}
	return -1;
}

int conf_first_defined_vm(struct conf *c)
{
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if ((int)i == c->relay_id) /* the trapped transport's relay is not driven */
			continue;
		if (conf_read_slot(c, i, &s) && s.defined == 1)
			return (int)i;
	}
	return -1;
}

int conf_first_free_id(struct conf *c)
{
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 0)
			return (int)i;
	}
	return -1;
}

bool conf_wait_state(struct conf *c, uint32_t vm, uint32_t state, unsigned timeout_ms,
		     struct hvm_vm_slot *out)
{
	uint64_t deadline = conf_now_ms() + timeout_ms;
	struct hvm_vm_slot s;
	memset(&s, 0, sizeof(s));
	for (;;) {
		if (conf_read_slot(c, vm, &s) && s.defined == 1 && s.state == state)
			break;
		if (conf_now_ms() >= deadline) {
			if (out)
				*out = s;
			return false;
		}
		conf_sleep_ms(10);
	}
	if (out)
		*out = s;
	return true;
}

bool conf_heartbeat_advances(struct conf *c, uint32_t vm, unsigned timeout_ms)
{
	struct hvm_vm_slot s;
	if (!conf_read_slot(c, vm, &s))
		return false;
	uint64_t hb0 = s.heartbeat, deadline = conf_now_ms() + timeout_ms;
	while (conf_now_ms() < deadline) {
		conf_sleep_ms(20);
		if (conf_read_slot(c, vm, &s) && s.heartbeat != hb0)
			return true;
	}
	return false;
}

bool conf_find_event(struct conf *c, uint64_t from, uint32_t type, uint32_t vm, unsigned timeout_ms,
		     struct hvm_event *out)
{
	uint64_t deadline = conf_now_ms() + timeout_ms, p = from;
	for (;;) {
		uint64_t head = LD64(c->r->ev_head);
		if (head > p && head - p > HVM_EVENT_COUNT)
			p = head - HVM_EVENT_COUNT; /* lost ones cannot be found any more */
		for (; p < head; p++) {
			struct hvm_event e;
			if (conf_read_event(c, p, &e) != 1)
				continue;
			if (e.type == type && e.vm_id == vm) {
				if (out)
					*out = e;
				return true;
			}
		}
		if (conf_now_ms() >= deadline)
			return false;
		conf_sleep_ms(10);
	}
}
