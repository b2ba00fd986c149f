/*
 * check_guest.c - conformance checks of the guest-visible clauses of
 * docs/guest-abi.md, as far as they show through the management region: the
 * heartbeat and guest fields a guest writes to its cooperation page are
 * published in its slot (GABI-021, GABI-022), what it writes to its virtual
 * UART reaches its console ring (GABI-040), and a guest fault is contained and
 * recorded (GABI-060, REQ-SAF-20, REQ-SAF-22).
 *
 * These depend on what the guests do: a clause whose precondition no VM meets
 * (no VM prints, no VM has faulted) is SKIPped with the reason. scripts/
 * conformance.sh boots a well-behaved guest and one that faults on purpose.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

static void check_heartbeat_publication(struct conf *c, struct conf_result *res)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1 || s.state != HVM_VM_RUNNING)
			continue;
		n++;
		if (!conf_heartbeat_advances(c, i, 5000)) {
			conf_fail(res, "vm %u heartbeat stayed %llu for 5 s", i,
				  (unsigned long long)s.heartbeat);
			continue;
		}
		conf_read_slot(c, i, &s);
		uint64_t up = LD64(c->r->uptime_ns);
		/* just changed, so its age is at most the time since boot and far
		 * below the 10 s bound given here for a loaded emulator */
		if (s.heartbeat_age_ns > up + 1000000000ull || s.heartbeat_age_ns > 10000000000ull)
			conf_fail(res,
				  "vm %u heartbeat advancing but heartbeat_age_ns is %llu (uptime %llu)",
				  i, (unsigned long long)s.heartbeat_age_ns, (unsigned long long)up);
	}
	if (!n)
		conf_skip(res, "no RUNNING VM");
}

static void check_guest_fields(struct conf *c, struct conf_result *res)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1)
			continue;
		n++;
		if (s.guest_state > 4)
			conf_fail(res, "vm %u guest_state %u (0..4)", i, s.guest_state);
		if (!memchr(s.image_version, 0, sizeof(s.image_version)))
			conf_fail(res, "vm %u image_version not terminated", i);
		else if (!conf_failed(res))
			conf_note(res, "vm %u state %u version '%s'", i, s.guest_state,
				  s.image_version);
	}
	if (!n)
		conf_skip(res, "no VM defined");
}

static void check_console_output(struct conf *c, struct conf_result *res)
{
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (!conf_read_slot(c, i, &s) || s.defined != 1)
			continue;
		volatile struct hvm_console *k = conf_console_ptr(c, i);
		uint64_t head = LD64(k->head);
		uint32_t size = LD32(k->size);
		if (!head || !size || size > HVM_CONSOLE_SIZE)
			continue;
		/* the newest bytes are text a guest wrote through its vPL011 */
		unsigned printable = 0, total = 0;
		for (uint64_t p = head > 64 ? head - 64 : 0; p < head; p++, total++) {
			uint8_t b = k->buf[p % size];
			printable += (b >= 0x20 && b < 0x7f) || b == '\n' || b == '\r' || b == '\t';
		}
		conf_note(res, "vm %u ('%s'): %llu bytes, %u of the last %u printable", i, s.name,
			  (unsigned long long)head, printable, total);
		return;
	}
	conf_skip(res, "no defined VM has written to its console");
}

static void check_fault_containment(struct conf *c, struct conf_result *res)
{
	int vm = -1;
	struct hvm_fault f;
	/* a guest that faults at boot may need a moment under emulation */
	uint64_t deadline = conf_now_ms() + 3000;
	do {
		for (uint32_t i = 0; i < c->max_vms && vm < 0; i++)
			if (conf_read_fault(c, i, &f) && f.kind != HVM_F_NONE)
				vm = (int)i;
		if (vm < 0)
			conf_sleep_ms(50);
	} while (vm < 0 && conf_now_ms() < deadline);
	if (vm < 0) {
		conf_skip(res,
			  "no VM has faulted (boot one that does, e.g. hv-qemu.sh --guest bad-access)");
		return;
	}
	struct hvm_vm_slot s;
	if (!conf_read_slot(c, (uint32_t)vm, &s) || s.defined != 1) {
		conf_skip(res, "vm %d faulted but is no longer defined", vm);
		return;
	}
	if (f.kind > HVM_F_HYPERCALL)
		conf_fail(res, "vm %d fault kind %u", vm, f.kind);
	if ((f.kind == HVM_F_STAGE2_ABORT || f.kind == HVM_F_UNDEF_TRAP) && !f.esr)
		conf_fail(res, "vm %d fault kind %u with ESR_EL2 0", vm, f.kind);
	if (s.fault_count == 0)
		conf_fail(res, "vm %d has a fault record but fault_count 0", vm);
	/* the record names its FAULT event (detail bits 0..7 = kind, above them
	 * the faults not reported since the previous event, MGMT-052) */
	struct hvm_event e;
	int rc = conf_read_event(c, f.seq, &e);
	if (rc == 1 && (e.type != HVM_EV_FAULT || e.vm_id != (uint32_t)vm ||
			(e.detail & HVM_EV_FAULT_KIND_MASK) != f.kind))
		conf_fail(res,
			  "event %llu is type %u vm %u detail %u, expected FAULT for vm %d detail %u",
			  (unsigned long long)f.seq, e.type, e.vm_id, e.detail, vm, f.kind);
	else if (rc == 0)
		conf_note(res, "event %llu no longer in the ring", (unsigned long long)f.seq);
	/* GABI-060 in 1.0: the VM is stopped, CRASHED/CRASHED, with a CRASHED event */
	if (s.state == HVM_VM_CRASHED) {
		if (s.reason != HVM_R_CRASHED && s.reason != HVM_R_WATCHDOG)
			conf_fail(res, "vm %d CRASHED with reason %u", vm, s.reason);
		if (!conf_find_event(c, f.seq, HVM_EV_CRASHED, (uint32_t)vm, 1000, NULL))
			conf_fail(res, "no CRASHED event for vm %d after its FAULT event %llu", vm,
				  (unsigned long long)f.seq);
	} else if (!(s.state == HVM_VM_RUNNING && s.reason == HVM_R_RESTARTED)) {
		conf_note(res, "vm %d is %s/%u after its fault", vm, conf_state_name(s.state),
			  s.reason);
	}
	/* REQ-SAF-20: the others keep running */
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot o;
		if ((int)i != vm && conf_read_slot(c, i, &o) && o.defined == 1 &&
		    o.state == HVM_VM_RUNNING && !conf_heartbeat_advances(c, i, 5000))
			conf_fail(res, "vm %u stopped beating after vm %d faulted", i, vm);
	}
	if (!conf_failed(res))
		conf_note(res, "vm %d ('%s') fault kind %u, ESR 0x%llx, ELR 0x%llx", vm, s.name,
			  f.kind, (unsigned long long)f.esr, (unsigned long long)f.elr);
}

const struct conf_check conf_checks_guest[] = {
	{ "GABI-021", "heartbeat published: advances, heartbeat_age_ns sane",
	  check_heartbeat_publication },
	{ "GABI-022", "guest_state in range, image_version terminated", check_guest_fields },
	{ "GABI-040", "vPL011 output reaches the VM's console ring", check_console_output },
	{ "GABI-060", "a guest fault: record, FAULT+CRASHED events, others run",
	  check_fault_containment },
	{ 0 },
};
