/*
 * heartbeat.c - tracks each VM's heartbeat so its age can be published in the
 * VM's status slot and the watchdog (vm_tick(), REQ-SAF-13) can act on it.
 */
#include "heartbeat.h"
#include "vm.h"

void heartbeat_reset(struct vm *vm, uint64_t now_ns)
{
	vm->hb_last = 0;
	vm->hb_changed_ns = now_ns;
}

void heartbeat_reset_age(struct vm *vm, uint64_t now_ns)
{
	vm->hb_changed_ns = now_ns;
}

void heartbeat_sample(struct vm *vm, uint64_t now_ns)
{
	uint64_t hb = vm->coop->heartbeat;
	if (hb != vm->hb_last) {
		vm->hb_last = hb;
		vm->hb_changed_ns = now_ns;
	}
}
