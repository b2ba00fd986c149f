/*
 * heartbeat.c - tracks each VM's heartbeat so its age can be published in the
 * VM's status slot; the watchdog (REQ-SAF-13) will act on that age.
 */
#include "heartbeat.h"
#include "vm.h"

void heartbeat_reset(struct vm *vm, uint64_t now_ns)
{
	vm->hb_last = 0;
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
